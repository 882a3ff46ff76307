//! Error reinsertion: collected errors seen by later attempts, and result checks.
// Test code: unwrap/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Kind, Log, TestError};
use steadfast_retry::{Retry, stop, wait};

fn policy() -> Retry<TestError> {
    Retry::new()
        .stop(stop::after_attempt(5))
        .wait(wait::none())
        .collect_errors(|e: &TestError| e.kind == Kind::Validation)
}

#[tokio::test(start_paused = true)]
async fn attempt_k_sees_collected_errors_of_earlier_attempts_oldest_first() {
    let seen = Log::default();
    let log = seen.clone();
    let out: Result<(), _> = policy()
        .run(|a| {
            std::future::ready({
                let errors: Vec<_> = a.errors().iter().map(|e| e.msg.as_str()).collect();
                log.push(format!("{}: [{}]", a.number(), errors.join(", ")));
                Err(match a.number() {
                    1 => TestError::validation("author must be uppercase"),
                    2 => TestError::transient("rate limited"),
                    3 => TestError::validation("title missing"),
                    4 => TestError::transient("overloaded"),
                    _ => TestError::validation("still wrong"),
                })
            })
        })
        .await;
    assert_eq!(
        seen.take(),
        [
            "1: []",
            "2: [author must be uppercase]",
            "3: [author must be uppercase]",
            "4: [author must be uppercase, title missing]",
            "5: [author must be uppercase, title missing]",
        ]
    );
    // The history still holds every error in attempt order, collected or not.
    let history = out.unwrap_err().exhausted().cloned().unwrap();
    let all: Vec<_> = history.attempts().map(|a| a.error().msg.clone()).collect();
    assert_eq!(
        all,
        [
            "author must be uppercase",
            "rate limited",
            "title missing",
            "overloaded",
            "still wrong"
        ]
    );
    let numbers: Vec<_> = history.attempts().map(|a| a.number()).collect();
    assert_eq!(numbers, [1, 2, 3, 4, 5]);
}

#[tokio::test(start_paused = true)]
async fn the_model_corrects_itself_from_the_reinserted_error() {
    // Reference scenario 4: the prompt includes "Previous Error: <text>" from attempt 2 on.
    let prompts = Log::default();
    let log = prompts.clone();
    let out = policy()
        .run(|a| {
            std::future::ready({
                let preamble: String = a
                    .errors()
                    .iter()
                    .map(|e| format!("Previous Error: {}\n", e.msg))
                    .collect();
                log.push(format!("{preamble}Extract the book"));
                if a.errors().is_empty() {
                    Err(TestError::validation("author must be uppercase"))
                } else {
                    Ok("PATRICK ROTHFUSS")
                }
            })
        })
        .await;
    assert_eq!(out.unwrap(), "PATRICK ROTHFUSS");
    assert_eq!(
        prompts.take(),
        [
            "Extract the book",
            "Previous Error: author must be uppercase\nExtract the book"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn nothing_is_collected_without_a_collect_predicate() {
    let counts = Log::default();
    let log = counts.clone();
    let _: Result<(), _> = Retry::new()
        .wait(wait::none())
        .run(|a| {
            std::future::ready({
                log.push(a.errors().len().to_string());
                Err(TestError::validation("v"))
            })
        })
        .await;
    assert_eq!(counts.take(), ["0", "0", "0"]);
}

#[tokio::test(start_paused = true)]
async fn run_checked_turns_bad_results_into_errors_that_flow_through_the_policy() {
    let log = Log::default();
    let after = log.clone();
    let seen = log.clone();
    let out = policy()
        .after(move |i, e| after.push(format!("after {} {}", i.number(), e.msg)))
        .run_checked(
            |a| {
                std::future::ready({
                    seen.push(format!("attempt {} sees {}", a.number(), a.errors().len()));
                    Ok::<_, TestError>(a.number() * 10)
                })
            },
            |v: &u32| {
                if *v >= 30 {
                    Ok(())
                } else {
                    Err(TestError::validation(format!("{v} < 30")))
                }
            },
        )
        .await;
    assert_eq!(out.unwrap(), 30);
    assert_eq!(
        log.take(),
        [
            "attempt 1 sees 0",
            "after 1 10 < 30",
            "attempt 2 sees 1",
            "after 2 20 < 30",
            "attempt 3 sees 2",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn run_checked_exhausts_with_the_check_errors() {
    let out = Retry::<TestError>::new()
        .wait(wait::none())
        .run_checked(
            |_| std::future::ready(Ok(0)),
            |_: &i32| Err(TestError::validation("never good")),
        )
        .await;
    let history = out.unwrap_err().exhausted().cloned().unwrap();
    assert_eq!(history.len(), 3);
    assert_eq!(history.last().msg, "never good");
}
