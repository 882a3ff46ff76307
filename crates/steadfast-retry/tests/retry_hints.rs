//! Server hints, the hint cap, `should_retry`, budgets and replaceable sleepers, on paused time.
// Test code: unwrap/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Mutex;
use std::time::Duration;

use common::{Log, TestError, secs};
use steadfast_retry::{
    Budget, Retry, RunError, SleepFuture, Sleeper, StopReason, WaitReason, stop, wait,
};
use tokio::time::Instant;

fn fixed4() -> Retry<TestError> {
    Retry::new()
        .stop(stop::after_attempt(3))
        .wait(wait::fixed(secs(4)))
}

#[tokio::test(start_paused = true)]
async fn a_hint_longer_than_the_computed_wait_raises_it() {
    let start = Instant::now();
    let out: Result<(), _> = fixed4()
        .run(|a| {
            std::future::ready({
                Err(match a.number() {
                    1 => TestError::transient("429").retry_after(secs(7)),
                    _ => TestError::transient("503").retry_after(secs(1)),
                })
            })
        })
        .await;
    let history = out.unwrap_err().exhausted().cloned().unwrap();
    let waits: Vec<_> = history
        .attempts()
        .map(|a| (a.wait(), a.wait_reason()))
        .collect();
    assert_eq!(
        waits,
        [
            (Some(secs(7)), Some(WaitReason::ServerHint)),
            (Some(secs(4)), Some(WaitReason::Computed)),
            (None, None),
        ]
    );
    assert_eq!(start.elapsed(), secs(11));
}

#[tokio::test(start_paused = true)]
async fn should_retry_false_is_not_retried() {
    let log = Log::default();
    let after = log.clone();
    let start = Instant::now();
    let out: Result<(), _> = fixed4()
        .after(move |i, _| after.push(format!("after {}", i.number())))
        .run(|_| std::future::ready(Err(TestError::transient("no").should_retry(false))))
        .await;
    let err = out.unwrap_err();
    assert!(matches!(&err, RunError::Rejected(e) if e.msg == "no"));
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert!(log.take().is_empty());
}

#[tokio::test(start_paused = true)]
async fn should_retry_true_does_not_override_the_predicate() {
    let out: Result<(), _> = fixed4()
        .retry_if(|_: &TestError| false)
        .run(|_| std::future::ready(Err(TestError::fatal("x").should_retry(true))))
        .await;
    assert!(out.unwrap_err().is_rejected());
}

#[tokio::test(start_paused = true)]
async fn a_hint_above_the_cap_stops_at_once() {
    let start = Instant::now();
    let out: Result<(), _> = fixed4()
        .run(|_| std::future::ready(Err(TestError::transient("quota").retry_after(secs(120)))))
        .await;
    let history = out.unwrap_err().exhausted().cloned().unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(
        history.reason(),
        StopReason::HintAboveCap {
            hint: secs(120),
            cap: secs(60)
        }
    );
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn the_hint_cap_is_configurable() {
    let start = Instant::now();
    let out = fixed4()
        .hint_cap(secs(300))
        .run(|a| {
            std::future::ready({
                if a.number() == 1 {
                    Err(TestError::transient("quota").retry_after(secs(120)))
                } else {
                    Ok(())
                }
            })
        })
        .await;
    assert!(out.is_ok());
    assert_eq!(start.elapsed(), secs(120));

    let out: Result<(), _> = fixed4()
        .hint_cap(secs(5))
        .run(|_| std::future::ready(Err(TestError::transient("slow down").retry_after(secs(6)))))
        .await;
    let reason = out.unwrap_err().exhausted().map(|h| h.reason());
    assert!(matches!(reason, Some(StopReason::HintAboveCap { .. })));
}

#[tokio::test(start_paused = true)]
async fn the_attempt_limit_wins_over_the_hint_cap_on_the_last_attempt() {
    let out: Result<(), _> = Retry::new()
        .stop(stop::after_attempt(1))
        .run(|_| std::future::ready(Err(TestError::transient("x").retry_after(secs(500)))))
        .await;
    let history = out.unwrap_err().exhausted().cloned().unwrap();
    assert_eq!(history.reason(), StopReason::AttemptLimit);
}

#[tokio::test(start_paused = true)]
async fn before_delay_counts_the_hinted_wait() {
    let out: Result<(), _> = Retry::new()
        .stop(stop::before_delay(secs(10)))
        .wait(wait::fixed(secs(1)))
        .run(|_| std::future::ready(Err(TestError::transient("x").retry_after(secs(6)))))
        .await;
    // Failure at 0 (+6 = 6 < 10), at 6 (+6 = 12 >= 10): stop.
    let history = out.unwrap_err().exhausted().cloned().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history.reason(), StopReason::NextWaitCrossesDelay);
}

#[tokio::test(start_paused = true)]
async fn a_budget_bounds_retries_across_runs() {
    let budget = Budget::new(3);
    let policy = Retry::new()
        .stop(stop::after_attempt(10))
        .wait(wait::fixed(secs(1)))
        .budget(budget.clone());
    let start = Instant::now();
    let first: Result<(), _> = policy
        .run(|_| std::future::ready(Err(TestError::transient("a"))))
        .await;
    let history = first.unwrap_err().exhausted().cloned().unwrap();
    assert_eq!(history.len(), 4, "first attempt free, then 3 retries");
    assert_eq!(history.reason(), StopReason::BudgetExhausted);
    assert_eq!(start.elapsed(), secs(3), "no wait before the refused retry");
    assert_eq!(budget.remaining(), 0);

    let second: Result<(), _> = policy
        .run(|_| std::future::ready(Err(TestError::transient("b"))))
        .await;
    let history = second.unwrap_err().exhausted().cloned().unwrap();
    assert_eq!(
        (history.len(), history.reason()),
        (1, StopReason::BudgetExhausted)
    );
    let ok = policy
        .run(|_| std::future::ready(Ok::<_, TestError>(5)))
        .await;
    assert_eq!(ok.unwrap(), 5, "a first attempt is always made");
}

#[tokio::test(start_paused = true)]
async fn stop_never_runs_until_success() {
    let out = Retry::new()
        .stop(stop::never())
        .wait(wait::fixed(secs(1)))
        .run(|a| {
            std::future::ready({
                if a.number() < 50 {
                    Err(TestError::transient("x"))
                } else {
                    Ok(a.number())
                }
            })
        })
        .await;
    assert_eq!(out.unwrap(), 50);
}

/// Records waits and keeps its own clock, advanced only by sleeping.
#[derive(Debug)]
struct FakeClock {
    origin: Instant,
    slept: Mutex<Vec<Duration>>,
}

impl FakeClock {
    fn new() -> Self {
        FakeClock {
            origin: Instant::now(),
            slept: Mutex::new(Vec::new()),
        }
    }
}

impl Sleeper for FakeClock {
    fn sleep(&self, duration: Duration) -> SleepFuture<'_> {
        self.slept.lock().unwrap().push(duration);
        Box::pin(std::future::ready(()))
    }

    fn sleep_blocking(&self, duration: Duration) {
        self.slept.lock().unwrap().push(duration);
    }

    fn now(&self) -> Instant {
        self.origin + self.slept.lock().unwrap().iter().sum::<Duration>()
    }
}

#[derive(Debug)]
struct Shared(std::sync::Arc<FakeClock>);

impl Sleeper for Shared {
    fn sleep(&self, duration: Duration) -> SleepFuture<'_> {
        self.0.sleep(duration)
    }
    fn sleep_blocking(&self, duration: Duration) {
        self.0.sleep_blocking(duration);
    }
    fn now(&self) -> Instant {
        self.0.now()
    }
}

// Real (unpaused) runtime: the fake clock must be the only source of time.
#[tokio::test]
async fn a_custom_sleeper_provides_the_clock_and_the_sleep() {
    let clock = std::sync::Arc::new(FakeClock::new());
    let policy = Retry::new()
        .stop(stop::after_delay(secs(100)))
        .wait(
            wait::exponential()
                .multiplier(10.0)
                .max(secs(40))
                .build()
                .unwrap(),
        )
        .sleeper(Shared(clock.clone()));
    let out: Result<(), _> = policy
        .run(|_| std::future::ready(Err(TestError::transient("x"))))
        .await;
    let history = out.unwrap_err().exhausted().cloned().unwrap();
    // Waits 10, 20, 40, 40 → failures at 0, 10, 30, 70, 110 (>= 100 stops).
    assert_eq!(
        *clock.slept.lock().unwrap(),
        [secs(10), secs(20), secs(40), secs(40)]
    );
    assert_eq!(history.len(), 5);
    let started: Vec<_> = history.attempts().map(|a| a.started()).collect();
    assert_eq!(started, [secs(0), secs(10), secs(30), secs(70), secs(110)]);
}
