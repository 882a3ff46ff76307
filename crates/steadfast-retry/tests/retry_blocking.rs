//! The blocking runner (no runtime): counts, rejection and waits through a recording sleeper.
// Test code: unwrap/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Kind, TestError, secs};
use steadfast_retry::{Retry, RunError, SleepFuture, Sleeper, StopReason, stop, wait};

#[test]
fn retries_until_success_with_zero_waits() {
    let policy = Retry::new().stop(stop::after_attempt(4)).wait(wait::none());
    let mut calls = 0;
    let out = policy.run_blocking(|a| {
        calls += 1;
        if a.number() < 4 {
            Err(TestError::transient("x"))
        } else {
            Ok("done")
        }
    });
    assert_eq!(out.unwrap(), "done");
    assert_eq!(calls, 4);
}

#[test]
fn exhausts_and_rejects_like_the_async_runner() {
    let policy = Retry::new()
        .stop(stop::after_attempt(2))
        .wait(wait::none())
        .retry_if(|e: &TestError| e.kind != Kind::Fatal)
        .collect_errors(|_: &TestError| true);
    let out: Result<(), _> = policy.run_blocking(|a| {
        assert_eq!(a.errors().len() as u32, a.number() - 1);
        Err(TestError::transient(format!("e{}", a.number())))
    });
    let history = out.unwrap_err().exhausted().cloned().unwrap();
    assert_eq!(
        (history.len(), history.reason()),
        (2, StopReason::AttemptLimit)
    );

    let out: Result<(), _> = policy.run_blocking(|_| Err(TestError::fatal("f")));
    assert!(matches!(out, Err(RunError::Rejected(e)) if e.msg == "f"));
}

#[derive(Debug, Default)]
struct Recorder(Arc<Mutex<Vec<Duration>>>);

impl Sleeper for Recorder {
    fn sleep(&self, duration: Duration) -> SleepFuture<'_> {
        self.0.lock().unwrap().push(duration);
        Box::pin(std::future::ready(()))
    }
    fn sleep_blocking(&self, duration: Duration) {
        self.0.lock().unwrap().push(duration);
    }
}

#[test]
fn blocking_waits_go_through_the_sleeper_and_honour_hints() {
    let slept = Arc::new(Mutex::new(Vec::new()));
    let policy = Retry::new()
        .stop(stop::after_attempt(3))
        .wait(
            wait::exponential()
                .min(secs(4))
                .max(secs(10))
                .build()
                .unwrap(),
        )
        .sleeper(Recorder(slept.clone()));
    let out: Result<(), _> = policy.run_blocking(|a| {
        Err(if a.number() == 2 {
            TestError::transient("429").retry_after(secs(9))
        } else {
            TestError::transient("500")
        })
    });
    assert!(out.is_err());
    assert_eq!(*slept.lock().unwrap(), [secs(4), secs(9)]);
}
