//! A shared budget across retries × fallbacks, and skipping a repeat of the target just given up on.
// Test code: unwrap/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Log, TestError, secs};
use steadfast_retry::fallback::{FallbackStop, SkipReason};
use steadfast_retry::{Budget, Fallback, Retry, RunError, StopReason, stop, wait};
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn a_budget_bounds_total_attempts_across_retries_and_fallbacks() {
    // 3 attempts on each of 3 targets would be 9; a budget of 4 allows 1 + 4 = 5 in total.
    let budget = Budget::new(4);
    let policy = Retry::new()
        .stop(stop::after_attempt(3))
        .wait(wait::fixed(secs(1)))
        .budget(budget.clone());
    let catch = |_: &RunError<TestError>| true;
    let chain = Fallback::new(catch)
        .backup("b", catch)
        .backup("c", catch)
        .budget(budget.clone());
    let log = Log::default();
    let start = Instant::now();
    let out = chain
        .run(&"a", |target| {
            let (policy, log) = (&policy, &log);
            async move {
                policy
                    .run(|attempt| {
                        log.push(format!("{target}{}", attempt.number()));
                        std::future::ready(Err::<(), _>(TestError::transient("down")))
                    })
                    .await
            }
        })
        .await;
    assert_eq!(log.take(), ["a1", "a2", "a3", "b1", "b2"]);
    assert_eq!(budget.remaining(), 0);
    let err = out.unwrap_err().exhausted().cloned().unwrap();
    assert_eq!(err.stop(), FallbackStop::BudgetExhausted);
    assert_eq!(err.errors().len(), 2);
    let reasons: Vec<_> = err
        .errors()
        .iter()
        .map(|e| e.exhausted().unwrap().reason())
        .collect();
    assert_eq!(
        reasons,
        [StopReason::AttemptLimit, StopReason::BudgetExhausted]
    );
    assert_eq!(
        start.elapsed(),
        secs(3),
        "waits 1+1 on a, 1 on b, none refused"
    );
}

#[tokio::test(start_paused = true)]
async fn the_chain_never_resends_to_the_target_it_just_gave_up_on() {
    let chain = Fallback::new(|_: &TestError| true)
        .backup("openai:gpt-4o-mini", |_: &TestError| true)
        .backup("anthropic:claude", |_: &TestError| true)
        .skip_same_as_previous(|a: &&str, b: &&str| a == b);
    let log = Log::default();
    let won = chain
        .run(&"openai:gpt-4o-mini", |t| {
            std::future::ready({
                log.push(t);
                if t.starts_with("openai") {
                    Err(TestError::transient("429"))
                } else {
                    Ok(t)
                }
            })
        })
        .await
        .unwrap();
    assert_eq!(log.take(), ["openai:gpt-4o-mini", "anthropic:claude"]);
    assert_eq!(won.index(), 2);
    assert_eq!(won.skipped()[0].reason(), SkipReason::SameAsPrevious);
    assert_eq!(won.caught().len(), 1);
}
