//! The local quota's effect, read from the simulator's journal: the simulator enforces a provider
//! quota (its native 429s), and a `Limiter` in front of the calls keeps the excess from being
//! sent at all. Nothing here waits: refusals are fail-fast and the quotas are per minute.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use std::sync::Arc;

use common::{TARGETS, call, sim};
use steadfast::ErrorKind;
use steadfast::quota::{Admission, InProcess, Limiter, Quota, QuotaScope, TokenEstimate};
use steadfast_sim::{ProviderQuota, Scenario, Simulator};

fn rejected(sim: &Simulator) -> usize {
    sim.journal().iter().filter(|e| e.status == 429).count()
}

fn scope() -> QuotaScope {
    QuotaScope::new("openai", "test-org", "gpt-4o-mini").unwrap()
}

#[tokio::test]
async fn without_admission_the_provider_refuses_the_excess() {
    let sim = sim(Scenario::new().quota(ProviderQuota::new().rpm(3))).await;
    let c = call(&TARGETS[0], &sim);
    let mut errors = Vec::new();
    for _ in 0..6 {
        if let Err(e) = c.send("hi").await {
            errors.push(e);
        }
    }
    assert_eq!(errors.len(), 3);
    for e in &errors {
        assert_eq!(e.kind(), ErrorKind::RateLimited, "{e}");
        assert!(e.retry_after().is_some(), "the simulator's hint is read");
    }
    assert_eq!(rejected(&sim), 3, "three doomed requests were sent");
}

#[tokio::test]
async fn local_admission_sends_only_what_the_quota_allows() {
    let sim = sim(Scenario::new().quota(ProviderQuota::new().rpm(3))).await;
    let c = call(&TARGETS[0], &sim);
    let limiter = Limiter::new(
        scope(),
        Quota::builder()
            .requests_per_minute(3)
            .burst(3)
            .build()
            .unwrap(),
    )
    .fail_fast(true);
    let (mut sent, mut refused) = (0, 0);
    for _ in 0..6 {
        let estimate = TokenEstimate::of_request(&c.request("hi"));
        match limiter.admit(&estimate).await {
            Admission::Admitted(permit) => {
                let response = c.send("hi").await.unwrap();
                permit.settle_usage(&response.usage().unwrap()).await;
                sent += 1;
            }
            Admission::Refused(e) => {
                assert_eq!(e.kind(), ErrorKind::QuotaRefused);
                refused += 1;
            }
            other => panic!("fail-fast never waits: {other:?}"),
        }
    }
    assert_eq!((sent, refused), (3, 3));
    assert_eq!(sim.journal().len(), 3, "the refused requests never left");
    assert_eq!(rejected(&sim), 0, "zero 429s");
}

#[tokio::test]
async fn a_provider_429_cools_the_scope_down_for_every_sharer() {
    // The real quota (1 a minute) is tighter than the local one believes (600 a minute).
    let sim = sim(Scenario::new().quota(ProviderQuota::new().rpm(1))).await;
    let c = call(&TARGETS[0], &sim);
    let store = Arc::new(InProcess::new());
    let quota = Quota::builder().requests_per_minute(600).build().unwrap();
    let a = Limiter::new(scope(), quota)
        .with_store(store.clone())
        .fail_fast(true);
    let b = Limiter::new(scope(), quota)
        .with_store(store)
        .fail_fast(true);
    let estimate = TokenEstimate::new(1, 16);

    let Admission::Admitted(_) = a.admit(&estimate).await else {
        panic!("first");
    };
    c.send("hi").await.unwrap();
    let Admission::Admitted(_) = b.admit(&estimate).await else {
        panic!("the local quota allows it");
    };
    let err = c.send("hi").await.unwrap_err();
    assert!(
        b.observe(&err).await,
        "a 429 with a hint cools the scope down"
    );
    // Now the other caller does not send either.
    let Admission::Refused(e) = a.admit(&estimate).await else {
        panic!("cooling down");
    };
    assert_eq!(e.kind(), ErrorKind::QuotaRefused);
    assert!(e.retry_after().unwrap() <= err.retry_after().unwrap());
    assert_eq!((sim.journal().len(), rejected(&sim)), (2, 1));
}
