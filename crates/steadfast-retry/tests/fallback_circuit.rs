//! Circuit breakers on paused time, alone and consulted by a fallback chain.
// Test code: unwrap/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{Log, TestError, secs};
use steadfast_retry::circuit::{CircuitState, InvalidCircuit};
use steadfast_retry::fallback::{FallbackStop, SkipReason};
use steadfast_retry::{CircuitBreaker, Fallback, FallbackRunError};

fn breaker() -> CircuitBreaker {
    CircuitBreaker::builder()
        .window(4)
        .min_calls(4)
        .failure_rate(0.5)
        .cooldown(secs(30))
        .build()
        .unwrap()
}

fn fail(b: &CircuitBreaker, e: &TestError) {
    b.try_acquire().expect("closed").failure(e);
}

fn succeed(b: &CircuitBreaker) {
    b.try_acquire().expect("closed").success();
}

#[tokio::test(start_paused = true)]
async fn stays_closed_below_min_calls_and_below_the_rate() {
    let b = breaker();
    for _ in 0..3 {
        fail(&b, &TestError::transient("x"));
    }
    assert_eq!(b.state(), CircuitState::Closed, "3 calls < min_calls 4");
    let b = breaker();
    for i in 0..12 {
        if i % 4 == 0 {
            fail(&b, &TestError::transient("x"));
        } else {
            succeed(&b);
        }
    }
    assert_eq!(b.state(), CircuitState::Closed, "25% < 50%");
}

#[tokio::test(start_paused = true)]
async fn opens_at_the_rate_then_probes_once_after_the_cooldown() {
    let b = breaker();
    succeed(&b);
    succeed(&b);
    fail(&b, &TestError::transient("x"));
    assert_eq!(b.state(), CircuitState::Closed);
    fail(&b, &TestError::transient("x")); // 2 of 4 = 50%
    assert_eq!(b.state(), CircuitState::Open);
    assert!(b.try_acquire().is_none());

    tokio::time::advance(secs(29)).await;
    assert!(b.try_acquire().is_none(), "still cooling down");
    tokio::time::advance(secs(1)).await;
    assert_eq!(b.state(), CircuitState::HalfOpen);
    let probe = b.try_acquire().unwrap();
    assert!(probe.is_probe());
    assert!(b.try_acquire().is_none(), "a single probe");
    probe.success();
    assert_eq!(b.state(), CircuitState::Closed);
    // Fresh window: three failures are below min_calls again.
    for _ in 0..3 {
        fail(&b, &TestError::transient("x"));
    }
    assert_eq!(b.state(), CircuitState::Closed);
}

#[tokio::test(start_paused = true)]
async fn a_failed_probe_reopens_and_a_dropped_probe_lets_another_caller_probe() {
    let b = breaker();
    for _ in 0..4 {
        fail(&b, &TestError::transient("x"));
    }
    tokio::time::advance(secs(30)).await;
    b.try_acquire()
        .unwrap()
        .failure(&TestError::transient("still down"));
    assert_eq!(b.state(), CircuitState::Open);
    tokio::time::advance(secs(30)).await;
    let probe = b.try_acquire().unwrap();
    drop(probe); // cancelled call: no outcome
    let again = b.try_acquire().expect("the probe slot was released");
    assert!(again.is_probe());
    again.success();
    assert_eq!(b.state(), CircuitState::Closed);
}

#[tokio::test(start_paused = true)]
async fn a_longer_server_hint_extends_the_cooldown() {
    let b = breaker();
    for _ in 0..3 {
        fail(&b, &TestError::transient("x"));
    }
    fail(&b, &TestError::transient("429").retry_after(secs(90)));
    tokio::time::advance(secs(89)).await;
    assert!(b.try_acquire().is_none());
    tokio::time::advance(secs(1)).await;
    assert!(b.try_acquire().is_some());

    // A shorter hint does not shorten the cooldown.
    let b = breaker();
    for _ in 0..4 {
        fail(&b, &TestError::transient("429").retry_after(secs(1)));
    }
    tokio::time::advance(secs(29)).await;
    assert!(b.try_acquire().is_none());
}

#[tokio::test(start_paused = true)]
async fn outcomes_of_calls_admitted_before_a_transition_are_ignored() {
    let b = breaker();
    let late = b.try_acquire().unwrap();
    for _ in 0..4 {
        fail(&b, &TestError::transient("x"));
    }
    tokio::time::advance(secs(30)).await;
    let probe = b.try_acquire().unwrap();
    late.success(); // stale: must not close the circuit
    assert_eq!(b.state(), CircuitState::HalfOpen);
    probe.failure(&TestError::transient("x"));
    assert_eq!(b.state(), CircuitState::Open);
}

#[test]
fn invalid_configuration_is_a_typed_error() {
    let err = CircuitBreaker::builder()
        .failure_rate(-0.1)
        .build()
        .unwrap_err();
    assert_eq!(err, InvalidCircuit::FailureRate(-0.1));
    assert!(err.to_string().contains("failure rate"));
}

#[tokio::test(start_paused = true)]
async fn a_fallback_skips_targets_whose_circuit_is_open_and_reports_outcomes() {
    let openai = breaker();
    let anthropic = breaker();
    let (o, a) = (openai.clone(), anthropic.clone());
    let chain = Fallback::new(|e: &TestError| e.msg.contains("rate limit"))
        .backup("anthropic", |e: &TestError| e.msg.contains("rate limit"))
        .breaker(move |t: &&str| match *t {
            "openai" => Some(o.clone()),
            "anthropic" => Some(a.clone()),
            _ => None,
        });
    let log = Log::default();
    let op = |t: &'static str| {
        std::future::ready({
            log.push(t);
            if t == "openai" {
                Err(TestError::transient("rate limit"))
            } else {
                Ok(t)
            }
        })
    };
    // Four calls trip OpenAI's circuit (each also falls back to Anthropic).
    for _ in 0..4 {
        let won = chain.run(&"openai", op).await.unwrap();
        assert_eq!(*won.value(), "anthropic");
    }
    assert_eq!(openai.state(), CircuitState::Open);
    assert_eq!(anthropic.state(), CircuitState::Closed);
    log.take();

    // Now OpenAI is skipped without a call.
    let won = chain.run(&"openai", op).await.unwrap();
    assert_eq!(log.take(), ["anthropic"]);
    assert_eq!(won.index(), 1);
    assert!(won.caught().is_empty());
    assert_eq!(won.skipped().len(), 1);
    assert_eq!(won.skipped()[0].index(), 0);
    assert_eq!(won.skipped()[0].reason(), SkipReason::CircuitOpen);

    // After the cooldown OpenAI gets its probe again.
    tokio::time::advance(secs(30)).await;
    let _ = chain.run(&"openai", op).await.unwrap();
    assert_eq!(log.take(), ["openai", "anthropic"]);
    assert_eq!(openai.state(), CircuitState::Open, "the probe failed");
}

#[tokio::test(start_paused = true)]
async fn every_target_open_means_no_target_available() {
    let b = breaker();
    for _ in 0..4 {
        fail(&b, &TestError::transient("x"));
    }
    let shared = b.clone();
    let chain = Fallback::new(|_: &TestError| true)
        .backup("b", |_: &TestError| true)
        .breaker(move |_| Some(shared.clone()));
    let out = chain
        .run(&"a", |_| {
            std::future::ready(Ok::<_, TestError>(Duration::ZERO))
        })
        .await;
    let Err(FallbackRunError::Exhausted(err)) = out else {
        panic!("expected no target")
    };
    assert_eq!(err.stop(), FallbackStop::NoTargetAvailable);
    assert!(err.errors().is_empty());
    assert_eq!(err.skipped().len(), 2);
}
