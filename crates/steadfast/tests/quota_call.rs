//! A call's quota (`Call::quota`) admits every attempt before it is sent — plain and retried,
//! send, extract and stream, each fallback target by its own — on paused time against a provider
//! that notes when each request arrived, so every wait is asserted exactly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt as _;
use steadfast::provider::{BoxFuture, EventStream};
use steadfast::quota::{InProcess, Limiter, Quota, QuotaScope, QuotaStore};
use steadfast::resilient::{TRANSIENT, fallback, kinds};
use steadfast::retry::{Retry, stop, wait};
use steadfast::{
    Call, Capabilities, ChatRequest, ClientConfig, Error, ErrorKind, FinishReason, Provider,
    ProviderEvent, Response, Usage,
};
use tokio::time::Instant;

const S: fn(u64) -> Duration = Duration::from_secs;

/// A provider answering `ok` with `usage`, after the scripted 429s (with their `retry-after`
/// hints); it notes when each request arrived, on the paused clock.
#[derive(Debug)]
struct Noted {
    name: &'static str,
    usage: Usage,
    refusals: Mutex<VecDeque<Duration>>,
    arrivals: Mutex<Vec<Duration>>,
    epoch: Instant,
}

impl Noted {
    fn new(name: &'static str, usage: Usage, refusals: &[Duration]) -> Arc<Self> {
        Arc::new(Noted {
            name,
            usage,
            refusals: Mutex::new(refusals.iter().copied().collect()),
            arrivals: Mutex::new(Vec::new()),
            epoch: Instant::now(),
        })
    }

    /// When each request arrived, from the provider's creation.
    fn arrivals(&self) -> Vec<Duration> {
        self.arrivals.lock().unwrap().clone()
    }

    fn arrive(&self) -> Result<(), Error> {
        self.arrivals.lock().unwrap().push(self.epoch.elapsed());
        match self.refusals.lock().unwrap().pop_front() {
            Some(hint) => Err(Error::new(ErrorKind::RateLimited, "slow down")
                .with_status(429)
                .with_retry_after(Some(hint))),
            None => Ok(()),
        }
    }
}

impl Provider for Noted {
    fn name(&self) -> &str {
        self.name
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }

    fn client_from_env(&self) -> ClientConfig {
        ClientConfig::default()
    }

    fn send(&self, request: ChatRequest) -> BoxFuture<Result<Response, Error>> {
        let arrived = self.arrive();
        let (name, usage) = (self.name, self.usage);
        Box::pin(async move {
            arrived?;
            let text = if request.output.is_some() {
                r#"{"city":"Oslo"}"#
            } else {
                "ok"
            };
            Ok(Response::builder()
                .provider(name)
                .model(&*request.model)
                .push_text(text)
                .usage(usage)
                .finish_reason(FinishReason::Stop)
                .build())
        })
    }

    fn stream(&self, _request: ChatRequest) -> BoxFuture<Result<EventStream, Error>> {
        let arrived = self.arrive();
        let usage = self.usage;
        Box::pin(async move {
            arrived?;
            let events = vec![
                ProviderEvent::Text("ok".into()),
                ProviderEvent::Usage(usage),
                ProviderEvent::Finish {
                    reason: FinishReason::Stop,
                    raw: None,
                },
            ];
            let stream: EventStream =
                Box::pin(futures_util::stream::iter(events.into_iter().map(Ok)));
            Ok(stream)
        })
    }
}

fn call_to(provider: &Arc<Noted>) -> Call {
    Call::new(Arc::clone(provider) as Arc<dyn Provider>, "m1")
}

fn scope(provider: &str) -> QuotaScope {
    QuotaScope::new(provider, "team", "m1").unwrap()
}

/// `rpm` requests a minute, one at a time (burst 1): one request every `60 / rpm` seconds.
fn one_at_a_time(provider: &str, rpm: u64) -> Limiter {
    Limiter::new(
        scope(provider),
        Quota::builder()
            .requests_per_minute(rpm)
            .burst(1)
            .build()
            .unwrap(),
    )
}

#[tokio::test(start_paused = true)]
async fn a_plain_send_waits_for_admission_and_the_attempt_says_how_long() {
    let p = Noted::new("acme", Usage::new(1, 1), &[]);
    let call = call_to(&p).quota(one_at_a_time("acme", 60));
    let first = call.send("hi").await.unwrap();
    let second = call.send("hi").await.unwrap();
    assert_eq!(p.arrivals(), [S(0), S(1)], "one a second");
    assert_eq!(first.attempts()[0].queued, None, "admitted at once");
    assert_eq!(second.attempts().len(), 1);
    assert_eq!(second.attempts()[0].queued, Some(S(1)));
    assert_eq!(second.text(), "ok");
}

#[tokio::test(start_paused = true)]
async fn a_wait_beyond_max_wait_is_refused_and_nothing_is_sent() {
    let p = Noted::new("acme", Usage::new(1, 1), &[]);
    let call = call_to(&p).quota(one_at_a_time("acme", 6).max_wait(S(5)));
    call.send("hi").await.unwrap();
    let err = call.send("hi").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::QuotaRefused, "{err}");
    assert_eq!(err.retry_after(), Some(S(10)), "when it would fit");
    assert!(!err.is_retryable());
    assert_eq!(p.arrivals(), [S(0)], "the refused request never left");
}

#[tokio::test(start_paused = true)]
async fn the_policy_time_limit_bounds_the_admission_wait() {
    let p = Noted::new("acme", Usage::new(1, 1), &[]);
    let call = call_to(&p).quota(one_at_a_time("acme", 60));
    let within = Retry::new().stop(stop::before_delay(S(2)));
    let short = Retry::new().stop(stop::before_delay(Duration::from_millis(500)));
    call.retry(within.clone()).send("hi").await.unwrap();
    call.retry(within).send("hi").await.unwrap();
    let err = call.retry(short).send("hi").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::QuotaRefused);
    assert_eq!(p.arrivals(), [S(0), S(1)]);
}

#[tokio::test(start_paused = true)]
async fn a_fail_fast_primary_moves_to_the_backup_before_sending() {
    let primary = Noted::new("acme", Usage::new(1, 1), &[]);
    let backup = Noted::new("zeta", Usage::new(1, 1), &[]);
    let call = call_to(&primary).quota(one_at_a_time("acme", 60).fail_fast(true));
    // The chain's own predicate knows nothing of quotas: `fallback` catches refusals anyway.
    let chain = fallback(kinds(TRANSIENT)).backup(call_to(&backup), kinds(TRANSIENT));
    let resilient = call.retry(Retry::new()).fallback(chain);
    let first = resilient.send("hi").await.unwrap();
    let second = resilient.send("hi").await.unwrap();
    assert_eq!(first.provider(), "acme");
    assert_eq!(
        second.provider(),
        "zeta",
        "no wait: the backup answered at once"
    );
    assert_eq!(second.caught().len(), 1);
    assert_eq!(second.caught()[0].kind(), ErrorKind::QuotaRefused);
    assert_eq!(primary.arrivals(), [S(0)], "no doomed request");
    assert_eq!(backup.arrivals(), [S(0)]);
}

#[tokio::test(start_paused = true)]
async fn a_provider_429_cools_the_scope_down_for_every_call_sharing_the_store() {
    let store: Arc<dyn QuotaStore> = Arc::new(InProcess::new());
    let roomy = Quota::builder().requests_per_minute(600).build().unwrap();
    let limiter = Limiter::new(scope("acme"), roomy).with_store(Arc::clone(&store));
    let p = Noted::new("acme", Usage::new(1, 1), &[S(4)]);
    let policy = Retry::new()
        .stop(stop::after_attempt(3))
        .wait(wait::fixed(Duration::from_millis(10)));
    let a = call_to(&p).quota(limiter.clone()).retry(policy);
    // Another call of the same scope (another limiter, the same store), sent 1 s later, while
    // the first one's 429 hint (4 s) holds.
    let b = call_to(&p).quota(Limiter::new(scope("acme"), roomy).with_store(store));
    let (ra, rb) = tokio::join!(a.send("hi"), async {
        tokio::time::sleep(S(1)).await;
        b.send("hi").await
    });
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra.attempts().len(), 2, "the 429, then the answer");
    assert_eq!(
        ra.attempts()[0].wait,
        Some(S(4)),
        "the policy waited the hint"
    );
    assert_eq!(ra.attempts()[1].queued, None, "and found the cooldown over");
    assert_eq!(
        rb.attempts()[0].queued,
        Some(S(3)),
        "the rest of the cooldown"
    );
    assert_eq!(
        p.arrivals(),
        [S(0), S(4), S(4)],
        "nothing was sent into the cooldown"
    );
}

#[tokio::test(start_paused = true)]
async fn a_stream_is_admitted_and_its_usage_corrects_the_token_estimate() {
    // 1 000 tokens a minute, all at once: a request estimated at 800 tokens (max_tokens) fits
    // once; its real usage (20) gives the rest back, so the next one fits at once too.
    let quota = Quota::builder().tokens_per_minute(1_000).build().unwrap();
    let p = Noted::new("acme", Usage::new(10, 10), &[]);
    let call = call_to(&p)
        .max_tokens(800)
        .quota(Limiter::new(scope("acme"), quota));
    let mut s = call.stream("hi");
    while let Some(event) = s.next().await {
        event.unwrap();
    }
    assert_eq!(s.text(), "ok");
    // The settle runs in the background: let it.
    tokio::task::yield_now().await;
    let mut s = call.stream("hi");
    while let Some(event) = s.next().await {
        event.unwrap();
    }
    let r = s.into_response().await.unwrap();
    assert_eq!(r.attempts()[0].queued, None, "the estimate was corrected");
    assert_eq!(p.arrivals(), [S(0), S(0)]);
    // Without the usage correction the second would have waited: a third, uncorrected
    // estimate of 800 on top of 40 used does not fit in 1 000.
    let r = call.send("hi").await.unwrap();
    assert!(r.attempts()[0].queued.is_some(), "{:?}", r.attempts());
}

#[tokio::test(start_paused = true)]
async fn extract_is_admitted_like_send() {
    #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
    struct City {
        city: String,
    }
    let p = Noted::new("acme", Usage::new(1, 1), &[]);
    let call = call_to(&p).quota(one_at_a_time("acme", 30));
    let a: City = call.extract("where?").await.unwrap();
    let (b, r) = call
        .extract::<City>("where?")
        .with_response()
        .await
        .unwrap();
    assert_eq!((a.city.as_str(), b.city.as_str()), ("Oslo", "Oslo"));
    assert_eq!(r.attempts()[0].queued, Some(S(2)));
    assert_eq!(p.arrivals(), [S(0), S(2)]);
}

#[tokio::test(start_paused = true)]
async fn another_model_or_target_does_not_inherit_the_quota() {
    let p = Noted::new("acme", Usage::new(1, 1), &[]);
    let call = call_to(&p).quota(one_at_a_time("acme", 60));
    assert!(call.limiter().is_some());
    assert!(call.clone().with_model("m2").limiter().is_none());
    assert!(call.clone().temperature(0.5).limiter().is_some());
}
