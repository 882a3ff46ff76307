//! Running a policy on paused time: attempt counts, exact waits, stops, rejection, hooks.
// Test code: unwrap/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use common::{Kind, Log, TestError, secs};
use steadfast_retry::{Attempt, Retry, RunError, StopReason, WaitReason, stop, wait};
use tokio::time::Instant;

/// The reference scenario: stop_after_attempt(3), wait_exponential(multiplier=1, min=4, max=10).
fn reference() -> Retry<TestError> {
    Retry::new().stop(stop::after_attempt(3)).wait(
        wait::exponential()
            .multiplier(1.0)
            .min(secs(4))
            .max(secs(10))
            .build()
            .unwrap(),
    )
}

#[tokio::test(start_paused = true)]
async fn succeeds_as_soon_as_an_attempt_succeeds() {
    let start = Instant::now();
    let calls = AtomicU32::new(0);
    let out = reference()
        .run(|attempt| {
            std::future::ready({
                calls.fetch_add(1, Ordering::SeqCst);
                if attempt.number() < 2 {
                    Err(TestError::transient("busy"))
                } else {
                    Ok(attempt.number())
                }
            })
        })
        .await;
    assert_eq!(out.unwrap(), 2);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(start.elapsed(), secs(4));
}

#[tokio::test(start_paused = true)]
async fn first_attempt_success_does_not_wait() {
    let start = Instant::now();
    let out = reference()
        .run(|_| std::future::ready(Ok::<_, TestError>("ok")))
        .await;
    assert_eq!(out.unwrap(), "ok");
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn exhaustion_keeps_every_attempt_with_exact_waits_and_none_after_the_last() {
    let start = Instant::now();
    let out: Result<(), _> = reference()
        .run(|attempt| {
            let n = attempt.number();
            async move {
                tokio::time::sleep(secs(1)).await; // each attempt takes 1 s
                Err(TestError::transient(format!("fail {n}")))
            }
        })
        .await;
    // 3 attempts of 1 s, waits of 4 s and 4 s, nothing after the last.
    assert_eq!(start.elapsed(), secs(11));
    let Err(RunError::Exhausted(history)) = out else {
        panic!("expected exhaustion")
    };
    assert_eq!(history.len(), 3);
    assert_eq!(history.reason(), StopReason::AttemptLimit);
    assert_eq!(history.last().msg, "fail 3");
    assert_eq!(history.to_string(), "gave up after 3 attempts: fail 3");
    let rows: Vec<_> = history
        .attempts()
        .map(|a| {
            (
                a.number(),
                a.error().msg.clone(),
                a.started(),
                a.duration(),
                a.wait(),
                a.wait_reason(),
            )
        })
        .collect();
    let computed = Some(WaitReason::Computed);
    assert_eq!(
        rows,
        [
            (
                1,
                "fail 1".into(),
                secs(0),
                secs(1),
                Some(secs(4)),
                computed
            ),
            (
                2,
                "fail 2".into(),
                secs(5),
                secs(1),
                Some(secs(4)),
                computed
            ),
            (3, "fail 3".into(), secs(10), secs(1), None, None),
        ]
    );
    assert_eq!(history.elapsed(), secs(11));
    let source = std::error::Error::source(&history).unwrap();
    assert_eq!(source.to_string(), "fail 3");
}

#[tokio::test(start_paused = true)]
async fn longer_runs_follow_the_exponential_sequence() {
    let policy = reference().stop(stop::after_attempt(7));
    let sleeps = Log::default();
    let log = sleeps.clone();
    let policy = policy.before_sleep(move |_, _, d| log.push(format!("{}", d.as_secs())));
    let start = Instant::now();
    let out: Result<(), _> = policy
        .run(|_| std::future::ready(Err(TestError::transient("x"))))
        .await;
    assert_eq!(out.unwrap_err().attempts(), 7);
    assert_eq!(sleeps.take(), ["4", "4", "4", "8", "10", "10"]);
    assert_eq!(start.elapsed(), secs(40));
}

#[tokio::test(start_paused = true)]
async fn stop_after_delay_measures_from_the_first_attempt() {
    let policy = Retry::new()
        .stop(stop::after_delay(secs(10)))
        .wait(wait::fixed(secs(3)));
    let start = Instant::now();
    let out: Result<(), _> = policy
        .run(|_| async {
            tokio::time::sleep(secs(1)).await;
            Err(TestError::transient("slow"))
        })
        .await;
    // Failures at 1, 5, 9, 13 s: the fourth is past 10 s.
    let history = out.unwrap_err().exhausted().cloned().unwrap();
    assert_eq!(history.len(), 4);
    assert_eq!(history.reason(), StopReason::DelayLimit);
    assert_eq!(start.elapsed(), secs(13));
}

#[tokio::test(start_paused = true)]
async fn stop_before_delay_never_sleeps_past_the_deadline() {
    let policy = Retry::new()
        .stop(stop::before_delay(secs(10)))
        .wait(wait::fixed(secs(3)));
    let start = Instant::now();
    let out: Result<(), _> = policy
        .run(|_| async {
            tokio::time::sleep(secs(1)).await;
            Err(TestError::transient("slow"))
        })
        .await;
    // Failures at 1 (+3 = 4), 5 (+3 = 8), 9 (+3 = 12 >= 10: stop).
    let history = out.unwrap_err().exhausted().cloned().unwrap();
    assert_eq!(history.len(), 3);
    assert_eq!(history.reason(), StopReason::NextWaitCrossesDelay);
    assert_eq!(start.elapsed(), secs(9));
}

#[tokio::test(start_paused = true)]
async fn combined_stops_take_the_first_that_fires() {
    let policy = Retry::new()
        .stop(stop::after_attempt(10).or(stop::after_delay(secs(5))))
        .wait(wait::fixed(secs(2)));
    let out: Result<(), _> = policy
        .run(|_| std::future::ready(Err(TestError::transient("x"))))
        .await;
    // Failures at 0, 2, 4, 6: the fourth crosses 5 s.
    let history = out.unwrap_err().exhausted().cloned().unwrap();
    assert_eq!(
        (history.len(), history.reason()),
        (4, StopReason::DelayLimit)
    );
}

fn hooked(policy: Retry<TestError>, log: &Log) -> Retry<TestError> {
    let (b, a, s) = (log.clone(), log.clone(), log.clone());
    policy
        .before(move |i| b.push(format!("before {}", i.number())))
        .after(move |i, e| a.push(format!("after {} {}", i.number(), e.msg)))
        .before_sleep(move |i, e, d| {
            s.push(format!("sleep {} {} {}s", i.number(), e.msg, d.as_secs()))
        })
}

#[tokio::test(start_paused = true)]
async fn hooks_run_in_tenacity_order() {
    let log = Log::default();
    let policy = hooked(reference(), &log);
    let op_log = log.clone();
    let out: Result<(), _> = policy
        .run(|a| {
            std::future::ready({
                op_log.push(format!("op {}", a.number()));
                Err(TestError::transient(format!("e{}", a.number())))
            })
        })
        .await;
    assert!(out.is_err());
    assert_eq!(
        log.take(),
        [
            "before 1",
            "op 1",
            "after 1 e1",
            "sleep 1 e1 4s",
            "before 2",
            "op 2",
            "after 2 e2",
            "sleep 2 e2 4s",
            "before 3",
            "op 3",
            "after 3 e3",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_rejected_error_returns_at_once_unwrapped_without_hooks_or_wait() {
    let log = Log::default();
    let policy = hooked(
        reference().retry_if(|e: &TestError| e.kind != Kind::Fatal),
        &log,
    );
    let start = Instant::now();
    let out: Result<(), _> = policy
        .run(|a| {
            std::future::ready({
                Err(if a.number() == 1 {
                    TestError::transient("flaky")
                } else {
                    TestError::fatal("bad request")
                })
            })
        })
        .await;
    assert_eq!(start.elapsed(), secs(4)); // only the wait after the retried failure
    let err = out.unwrap_err();
    assert!(err.is_rejected());
    assert_eq!(err.to_string(), "bad request");
    let RunError::Rejected(e) = err else {
        panic!("expected rejection")
    };
    assert_eq!(e, TestError::fatal("bad request"));
    assert_eq!(
        log.take(),
        ["before 1", "after 1 flaky", "sleep 1 flaky 4s", "before 2"]
    );
}

#[tokio::test(start_paused = true)]
async fn rejection_on_the_first_attempt_runs_no_after_hook() {
    let log = Log::default();
    let policy = hooked(
        reference().retry_if(|e: &TestError| e.kind == Kind::Transient),
        &log,
    );
    let start = Instant::now();
    let out: Result<(), _> = policy
        .run(|_| std::future::ready(Err(TestError::fatal("no"))))
        .await;
    assert_eq!(out.unwrap_err().attempts(), 1);
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert_eq!(log.take(), ["before 1"]);
}

#[tokio::test(start_paused = true)]
async fn predicates_combine() {
    let policy = reference().retry_if(
        steadfast_retry::Predicate::new(|e: &TestError| e.kind == Kind::Transient)
            .or(|e: &TestError| e.msg.contains("retry me")),
    );
    let out: Result<(), _> = policy
        .run(|a| {
            std::future::ready({
                Err(match a.number() {
                    1 => TestError::transient("t"),
                    2 => TestError::fatal("please retry me"),
                    _ => TestError::fatal("stop"),
                })
            })
        })
        .await;
    let err = out.unwrap_err();
    assert!(err.is_rejected());
    assert_eq!(err.last().msg, "stop");
}

#[tokio::test(start_paused = true)]
async fn state_is_per_invocation() {
    let policy = reference()
        .collect_errors(|_: &TestError| true)
        .wait(wait::random(secs(1), secs(5)).unwrap())
        .seed(99);
    let mut runs = Vec::new();
    for _ in 0..2 {
        let seen = Log::default();
        let log = seen.clone();
        let out: Result<(), _> = policy
            .run(|a| {
                std::future::ready({
                    log.push(format!("{}:{}", a.number(), a.errors().len()));
                    Err(TestError::transient("x"))
                })
            })
            .await;
        let history = out.unwrap_err().exhausted().cloned().unwrap();
        let waits: Vec<_> = history.attempts().map(|a| a.wait()).collect();
        runs.push((seen.take(), waits));
    }
    assert_eq!(runs[0].0, ["1:0", "2:1", "3:2"]);
    assert_eq!(
        runs[0], runs[1],
        "second run starts afresh with the same seeded waits"
    );
    let first_wait = runs[0].1[0].unwrap();
    assert!(first_wait >= secs(1) && first_wait < secs(5));
}

#[tokio::test(start_paused = true)]
async fn clones_share_config_and_concurrent_runs_do_not_interfere() {
    let policy = reference();
    let a = policy.clone();
    let b = policy.clone();
    let fa = tokio::spawn(async move {
        a.run(|at| {
            std::future::ready({
                if at.number() < 3 {
                    Err(TestError::transient("a"))
                } else {
                    Ok(at.number())
                }
            })
        })
        .await
    });
    let fb = tokio::spawn(async move {
        b.run(|at| std::future::ready(Ok::<_, TestError>(at.number())))
            .await
    });
    assert_eq!(fa.await.unwrap().unwrap(), 3);
    assert_eq!(fb.await.unwrap().unwrap(), 1);
}

#[tokio::test(start_paused = true)]
async fn run_reraise_returns_the_last_error_itself() {
    let out: Result<(), TestError> = reference()
        .run_reraise(|a| std::future::ready(Err(TestError::transient(format!("e{}", a.number())))))
        .await;
    assert_eq!(out.unwrap_err(), TestError::transient("e3"));
    let rejected: Result<(), TestError> = reference()
        .retry_if(|_: &TestError| false)
        .run_reraise(|_| std::future::ready(Err(TestError::fatal("f"))))
        .await;
    assert_eq!(rejected.unwrap_err(), TestError::fatal("f"));
}

#[tokio::test(start_paused = true)]
async fn closures_returning_futures_work_too() {
    let counter = Arc::new(AtomicU32::new(0));
    let out = reference()
        .run(|a: Attempt<'_, TestError>| {
            let counter = Arc::clone(&counter);
            let n = a.number();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                if n < 3 {
                    Err(TestError::transient("later"))
                } else {
                    Ok(n)
                }
            }
        })
        .await;
    assert_eq!(out.unwrap(), 3);
    assert_eq!(counter.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn flatten_folds_into_an_error_that_can_hold_a_history() {
    #[derive(Debug)]
    enum AppError {
        Op(TestError),
        GaveUp(Box<steadfast_retry::RetryError<AppError>>),
    }
    impl From<steadfast_retry::RetryError<AppError>> for AppError {
        fn from(r: steadfast_retry::RetryError<AppError>) -> Self {
            AppError::GaveUp(Box::new(r))
        }
    }
    impl steadfast_retry::RetryHint for AppError {}

    let out: Result<(), AppError> = Retry::new()
        .wait(wait::none())
        .run(|_| std::future::ready(Err(AppError::Op(TestError::transient("x")))))
        .await
        .map_err(RunError::flatten);
    match out.unwrap_err() {
        AppError::GaveUp(history) => assert_eq!(history.len(), 3),
        AppError::Op(e) => panic!("unexpected {e:?}"),
    }
}

/// `time_left` reads the policy's clock from the first attempt's start: what an admission wait
/// outside the retry schedule may still spend.
#[tokio::test(start_paused = true)]
async fn time_left_counts_from_the_first_attempt_on_the_policy_clock() {
    let policy: Retry<TestError> =
        Retry::new().stop(stop::after_attempt(5).or(stop::before_delay(secs(10))));
    let mut state = policy.start();
    assert_eq!(state.time_left(), Some(secs(10)));
    let _ = state.begin();
    tokio::time::advance(secs(3)).await;
    assert_eq!(state.time_left(), Some(secs(7)));
    tokio::time::advance(secs(30)).await;
    assert_eq!(state.time_left(), Some(Duration::ZERO));
    let untimed: Retry<TestError> = Retry::new();
    assert_eq!(untimed.start().time_left(), None);
}
