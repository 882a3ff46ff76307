//! The Redis quota store against a real `redis-server` (never a mock).
//!
//! Which server: `STEADFAST_REDIS_URL` when set (CI's `.ci/run` starts one), else one this test
//! starts itself on a free loopback port when `redis-server` is installed; tests that kill,
//! freeze or restart Redis always start their own. Without either, each test prints
//! `skipped: …` and passes — except with `CI` set or `STEADFAST_REQUIRE_REDIS=1`, where it fails
//! (`steadfast_fixtures::redis`).
//!
//! Two `RedisStore`s built from the same URL have two connection managers: two "processes" as far
//! as the store can tell.
#![cfg(feature = "redis")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers: a failed set-up is a failed test"
)]

use std::sync::Arc;
use std::time::Duration;

use steadfast::ErrorKind;
use steadfast::quota::{
    Admission, Decision, Degrade, Limiter, Quota, QuotaScope, QuotaStore, RedisStore, Refusal,
    TokenEstimate, WaitReason,
};
use steadfast::retry::CircuitBreaker;
use steadfast_fixtures::redis::{self as test_redis, RedisServer};

/// Generous timeouts for the tests that are about sharing, not about timeouts: a loaded CI
/// machine must not turn them into degrade tests.
async fn store(url: &str) -> RedisStore {
    RedisStore::builder(url)
        .admission_timeout(Duration::from_secs(5))
        .command_timeout(Duration::from_secs(5))
        .connect()
        .await
        .unwrap()
}

fn scope(what: &str) -> QuotaScope {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let account = format!("{what}-{}-{nanos}", std::process::id());
    QuotaScope::new("sim", &account, "m").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_one_quota() {
    let Some(redis) = test_redis::shared() else {
        return;
    };
    let (a, b) = (store(&redis.url).await, store(&redis.url).await);
    let s = scope("share");
    // One a minute, five at once: whatever the interleaving, exactly five go.
    let quota = Quota::builder()
        .requests_per_minute(1)
        .burst(5)
        .build()
        .unwrap();
    let mut admitted = 0;
    for i in 0..20 {
        let store = if i % 2 == 0 { &a } else { &b };
        match store.admit(&s, &quota, 1).await {
            Decision::Admitted => admitted += 1,
            Decision::Wait { wait, reason } => {
                assert_eq!(reason, WaitReason::Quota);
                assert!(wait > Duration::from_secs(50), "{wait:?}");
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(admitted, 5, "the quota is shared, not per process");
    // Alone, each process would have admitted five.
    let local = steadfast::quota::InProcess::new();
    let mut alone = 0;
    for _ in 0..10 {
        if local.admit(&s, &quota, 1).await == Decision::Admitted {
            alone += 1;
        }
    }
    assert_eq!(alone, 5);
    // The state has a TTL (a second past the moment it stops mattering).
    let key = RedisStore::state_key(&s);
    let ttl: i64 = test_redis::command(&redis.url, &["PTTL", &key])
        .unwrap()
        .trim_start_matches(':')
        .parse()
        .unwrap();
    assert!(ttl > 0, "{key}: {ttl}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_refusal_consumes_no_request() {
    let Some(redis) = test_redis::shared() else {
        return;
    };
    let (a, b) = (store(&redis.url).await, store(&redis.url).await);
    let s = scope("all-or-nothing");
    let quota = Quota::builder()
        .requests_per_minute(1)
        .burst(2)
        .tokens_per_minute(100)
        .build()
        .unwrap();
    assert_eq!(a.admit(&s, &quota, 80).await, Decision::Admitted);
    // 80 more tokens do not fit: refused by the token limit...
    assert!(matches!(
        b.admit(&s, &quota, 80).await,
        Decision::Wait {
            reason: WaitReason::Quota,
            ..
        }
    ));
    // ... and the refusal spent no request: the second request slot is still there.
    assert_eq!(b.admit(&s, &quota, 20).await, Decision::Admitted);
    assert!(matches!(
        a.admit(&s, &quota, 1).await,
        Decision::Wait { .. }
    ));
    // A request larger than the whole token allowance is refused without a round trip.
    assert_eq!(
        a.admit(&s, &quota, 101).await,
        Decision::Refused(Refusal::TooLarge {
            cost: 101,
            allowance: 100
        })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settle_corrects_the_shared_token_count() {
    let Some(redis) = test_redis::shared() else {
        return;
    };
    let (a, b) = (store(&redis.url).await, store(&redis.url).await);
    let s = scope("settle");
    let quota = Quota::builder().tokens_per_minute(1000).build().unwrap();
    let la = Limiter::new(s.clone(), quota).with_store(Arc::new(a));
    let lb = Limiter::new(s, quota).with_store(Arc::new(b));
    let Admission::Admitted(permit) = la.admit(&TokenEstimate::new(800, 100)).await else {
        panic!("900 of 1000 fits");
    };
    assert!(matches!(
        lb.admit(&TokenEstimate::new(400, 0)).await,
        Admission::Wait { .. }
    ));
    permit.settle(300).await; // 600 tokens credited back, for every process
    assert!(matches!(
        lb.admit(&TokenEstimate::new(400, 0)).await,
        Admission::Admitted(_)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cooldown_is_seen_by_every_process() {
    let Some(redis) = test_redis::shared() else {
        return;
    };
    let (a, b) = (store(&redis.url).await, store(&redis.url).await);
    let s = scope("cooldown");
    let quota = Quota::builder().requests_per_minute(600).build().unwrap();
    assert_eq!(b.cooldown_of(&s).await, None);
    a.cooldown(&s, Duration::from_secs(30)).await;
    a.cooldown(&s, Duration::from_secs(1)).await; // never shortens
    let left = b.cooldown_of(&s).await.unwrap();
    let key = RedisStore::cooldown_key(&s);
    let ttl: i64 = test_redis::command(&redis.url, &["PTTL", &key])
        .unwrap()
        .trim_start_matches(':')
        .parse()
        .unwrap();
    assert!(
        ttl > 20_000 && ttl <= 30_001,
        "the key expires with the cooldown: {ttl}"
    );
    assert!(left > Duration::from_secs(20) && left <= Duration::from_secs(30));
    let Decision::Wait { wait, reason } = b.admit(&s, &quota, 1).await else {
        panic!("the other process must wait");
    };
    assert_eq!(reason, WaitReason::Cooldown);
    assert!(wait <= Duration::from_secs(30));
    // Fail-fast turns it into the typed error a fallback catches.
    let limiter = Limiter::new(s, quota)
        .with_store(Arc::new(b))
        .fail_fast(true);
    let Admission::Refused(err) = limiter.admit(&TokenEstimate::new(1, 1)).await else {
        panic!("fail-fast");
    };
    assert_eq!(err.kind(), ErrorKind::QuotaRefused);
    assert!(err.retry_after().is_some());
}

/// A store on its own server with a breaker that probes quickly.
async fn degradable(server: &RedisServer, degrade: Degrade) -> RedisStore {
    RedisStore::builder(server.url())
        .admission_timeout(Duration::from_millis(200))
        .command_timeout(Duration::from_millis(200))
        .breaker(
            CircuitBreaker::builder()
                .window(4)
                .min_calls(2)
                .failure_rate(0.5)
                .cooldown(Duration::from_millis(50))
                .build()
                .unwrap(),
        )
        .degrade(degrade)
        .connect()
        .await
        .unwrap()
}

/// Admits until the store says it is healthy again (bounded: 200 tries, 50 ms apart).
async fn until_recovered(store: &RedisStore, s: &QuotaScope, quota: &Quota) {
    for _ in 0..200 {
        let _ = store.admit(s, quota, 1).await;
        if !store.stats().degraded {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("never recovered: {:?}", store.stats());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_degrades_to_local_limits_and_recovers_after_a_restart() {
    let Some(mut server) = test_redis::own() else {
        return;
    };
    let store = degradable(
        &server,
        Degrade::Local {
            expected_processes: 2,
        },
    )
    .await;
    let s = scope("killed");
    // 10 at once shared; at half the quota locally, 5 at once.
    let quota = Quota::builder()
        .requests_per_minute(10)
        .burst(10)
        .build()
        .unwrap();
    assert_eq!(store.admit(&s, &quota, 1).await, Decision::Admitted);
    server.kill();
    let mut local = 0;
    for _ in 0..8 {
        match store.admit(&s, &quota, 1).await {
            Decision::Admitted => local += 1,
            Decision::Wait { .. } => {}
            other => panic!("Redis gone is not the caller's error: {other:?}"),
        }
    }
    assert_eq!(local, 5, "the local share of the burst");
    let stats = store.stats();
    assert!(stats.degraded && stats.degradations == 1, "{stats:?}");
    assert_eq!(stats.degraded_admissions, 8);
    assert!(stats.failures >= 1);

    // Back, empty (no persistence, scripts gone): the store reloads its scripts and shares again.
    server.restart().unwrap();
    until_recovered(&store, &s, &quota).await;
    let stats = store.stats();
    assert_eq!((stats.recoveries, stats.degradations), (1, 1), "{stats:?}");
    let other = store_for(&server).await;
    let fresh = scope("after-restart");
    let one = Quota::builder()
        .requests_per_minute(1)
        .burst(1)
        .build()
        .unwrap();
    assert_eq!(store.admit(&fresh, &one, 1).await, Decision::Admitted);
    assert!(
        matches!(other.admit(&fresh, &one, 1).await, Decision::Wait { .. }),
        "shared again"
    );
}

async fn store_for(server: &RedisServer) -> RedisStore {
    store(&server.url()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_frozen_degrades_within_the_timeout_and_recovers_when_thawed() {
    let Some(server) = test_redis::own() else {
        return;
    };
    let store = degradable(&server, Degrade::FailOpen).await;
    let s = scope("frozen");
    let quota = Quota::builder()
        .requests_per_minute(1)
        .burst(1)
        .build()
        .unwrap();
    assert_eq!(store.admit(&s, &quota, 1).await, Decision::Admitted);
    server.freeze().unwrap();
    // The admission timeout (200 ms) answers, not the frozen server; the outer bound only keeps
    // a broken store from hanging the test.
    let decision = tokio::time::timeout(Duration::from_secs(30), store.admit(&s, &quota, 1))
        .await
        .expect("the admission timeout must answer");
    assert_eq!(decision, Decision::Admitted, "fail-open admits");
    assert!(store.stats().degraded);
    // With the breaker open, no more waiting for Redis.
    for _ in 0..3 {
        assert_eq!(store.admit(&s, &quota, 1).await, Decision::Admitted);
    }
    server.thaw().unwrap();
    until_recovered(&store, &s, &quota).await;
    assert!(matches!(
        store.admit(&s, &quota, 1).await,
        Decision::Wait { .. }
    ));
    assert_eq!(store.stats().recoveries, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_closed_refuses_with_a_typed_error_and_keeps_local_cooldowns() {
    let Some(mut server) = test_redis::own() else {
        return;
    };
    let store = Arc::new(degradable(&server, Degrade::FailClosed).await);
    let s = scope("closed");
    let quota = Quota::builder().requests_per_minute(600).build().unwrap();
    server.kill();
    assert_eq!(
        store.admit(&s, &quota, 1).await,
        Decision::Refused(Refusal::StoreUnavailable)
    );
    let limiter = Limiter::new(s.clone(), quota).with_store(store.clone());
    let Admission::Refused(err) = limiter.admit(&TokenEstimate::new(1, 1)).await else {
        panic!("fail-closed");
    };
    assert_eq!(err.kind(), ErrorKind::QuotaRefused);
    // A cooldown observed while Redis is gone still holds, locally.
    store.cooldown(&s, Duration::from_secs(10)).await;
    assert!(store.cooldown_of(&s).await.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_built_while_redis_is_down_degrades_then_joins_when_it_comes() {
    let Some(mut server) = test_redis::own() else {
        return;
    };
    server.kill();
    // `build` does no I/O: a process may start before its Redis.
    let store = RedisStore::builder(server.url())
        .admission_timeout(Duration::from_millis(200))
        .breaker(
            CircuitBreaker::builder()
                .window(4)
                .min_calls(2)
                .cooldown(Duration::from_millis(50))
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let s = scope("late-redis");
    let quota = Quota::builder()
        .requests_per_minute(1)
        .burst(1)
        .build()
        .unwrap();
    assert_eq!(store.admit(&s, &quota, 1).await, Decision::Admitted);
    assert!(store.stats().degraded);
    server.restart().unwrap();
    until_recovered(&store, &s, &quota).await;
    // Shared now: another process sees the admissions made through Redis.
    let other = store_for(&server).await;
    let fresh = scope("late-redis-shared");
    assert_eq!(store.admit(&fresh, &quota, 1).await, Decision::Admitted);
    assert!(matches!(
        other.admit(&fresh, &quota, 1).await,
        Decision::Wait { .. }
    ));
}
