//! Fallback rules 17-24 (SEMANTICS.md) with a fake async operation on paused time.
// Test code: unwrap/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::future::Future;
use std::time::Duration;

use common::{Kind, Log, TestError, secs};
use steadfast_retry::fallback::FallbackStop;
use steadfast_retry::{
    Fallback, FallbackError, FallbackRunError, Predicate, Retry, RetryHint, RunError, StopReason,
    stop, wait,
};
use tokio::time::Instant;

/// A stand-in for steadfast's `Call`.
#[derive(Clone, Debug, PartialEq)]
struct Target {
    provider: &'static str,
    model: &'static str,
    temperature: Option<f32>,
    /// A provider-specific setting that must not leak to another provider.
    openai_seed: Option<u64>,
}

fn openai() -> Target {
    Target {
        provider: "openai",
        model: "gpt-4o-mini",
        temperature: Some(0.2),
        openai_seed: Some(7),
    }
}

fn anthropic(model: &'static str) -> Target {
    Target {
        provider: "anthropic",
        model,
        temperature: None,
        openai_seed: None,
    }
}

fn rate_limited(e: &TestError) -> bool {
    e.msg.contains("rate limit")
}

/// A fake provider call: the outcome for each provider is scripted; every call is logged with
/// the prompt and the target it received.
fn fake_call(
    log: &Log,
    target: Target,
    prompt: &str,
    outcome: impl Fn(&Target) -> Result<String, TestError> + 'static,
) -> impl Future<Output = Result<String, TestError>> + 'static {
    log.push(format!("{}:{} <- {prompt}", target.provider, target.model));
    async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        outcome(&target)
    }
}

fn chain() -> Fallback<Target, TestError> {
    Fallback::new(rate_limited).backup(anthropic("claude-3-5-sonnet-latest"), rate_limited)
}

#[tokio::test(start_paused = true)]
async fn rule17_primary_success_has_no_caught_errors() {
    let log = Log::default();
    let won = chain()
        .run(&openai(), |t| {
            fake_call(&log, t, "hi", |t| Ok(format!("from {}", t.provider)))
        })
        .await
        .unwrap();
    assert_eq!(won.value(), "from openai");
    assert!(won.is_primary());
    assert_eq!(won.target(), &openai());
    assert!(won.caught().is_empty());
    assert_eq!(log.take(), ["openai:gpt-4o-mini <- hi"]);
}

#[tokio::test(start_paused = true)]
async fn rule18_caught_error_moves_on_with_identical_arguments() {
    let log = Log::default();
    let won = chain()
        .run(&openai(), |t| {
            fake_call(&log, t, "Recommend a fantasy book", |t| match t.provider {
                "openai" => Err(TestError::transient("openai rate limit")),
                _ => Ok("The Name of the Wind".to_owned()),
            })
        })
        .await
        .unwrap();
    assert_eq!(won.value(), "The Name of the Wind");
    assert_eq!(
        log.take(),
        [
            "openai:gpt-4o-mini <- Recommend a fantasy book",
            "anthropic:claude-3-5-sonnet-latest <- Recommend a fantasy book",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn rule18_a_non_matching_primary_error_is_returned_unchanged() {
    let log = Log::default();
    let out = chain()
        .run(&openai(), |t| {
            fake_call(&log, t, "x", |_| {
                Err(TestError::fatal("401 invalid api key"))
            })
        })
        .await;
    let Err(FallbackRunError::Uncaught(e)) = out else {
        panic!("expected the primary's error unchanged")
    };
    assert_eq!(e, TestError::fatal("401 invalid api key"));
    assert_eq!(log.take().len(), 1, "no backup ran");
}

#[tokio::test(start_paused = true)]
async fn rule19_backups_derived_from_the_primary_keep_common_params_only() {
    let seen = Log::default();
    let chain = Fallback::new(rate_limited)
        .backup_with(
            |p: &Target| Target {
                provider: "anthropic",
                model: "claude-3-5-haiku-latest",
                temperature: p.temperature, // common parameter carries over
                openai_seed: None,          // provider-specific one does not
            },
            rate_limited,
        )
        .backup(
            Target {
                temperature: Some(0.9),
                ..anthropic("claude-3-opus-latest")
            },
            rate_limited,
        );
    let won = chain
        .run(&openai(), |t| {
            std::future::ready({
                seen.push(format!("{t:?}"));
                if t.model == "claude-3-opus-latest" {
                    Ok(t)
                } else {
                    Err(TestError::transient("rate limit"))
                }
            })
        })
        .await
        .unwrap();
    assert_eq!(won.index(), 2);
    assert_eq!(won.value().temperature, Some(0.9), "its own params win");
    let calls = seen.take();
    assert_eq!(calls.len(), 3);
    assert!(calls[1].contains("claude-3-5-haiku-latest"));
    assert!(calls[1].contains("temperature: Some(0.2)"));
    assert!(calls[1].contains("openai_seed: None"));
}

#[tokio::test(start_paused = true)]
async fn rule20_first_successful_backup_wins_and_later_ones_do_not_run() {
    let log = Log::default();
    let chain = chain()
        .backup(anthropic("claude-3-5-haiku-latest"), rate_limited)
        .backup(anthropic("never-called"), rate_limited);
    let won = chain
        .run(&openai(), |t| {
            fake_call(&log, t, "p", |t| match t.model {
                "claude-3-5-haiku-latest" => Ok("ok".to_owned()),
                m => Err(TestError::transient(format!("{m} rate limit"))),
            })
        })
        .await
        .unwrap();
    assert_eq!(won.index(), 2);
    assert_eq!(won.target().model, "claude-3-5-haiku-latest");
    let caught: Vec<_> = won.caught().iter().map(|e| e.msg.as_str()).collect();
    assert_eq!(
        caught,
        [
            "gpt-4o-mini rate limit",
            "claude-3-5-sonnet-latest rate limit"
        ]
    );
    assert_eq!(log.take().len(), 3);
    let (value, target, caught) = won.into_parts();
    assert_eq!(
        (value.as_str(), target.model, caught.len()),
        ("ok", "claude-3-5-haiku-latest", 2)
    );
}

#[tokio::test(start_paused = true)]
async fn rule21_a_backup_error_outside_its_own_catch_is_returned_at_once() {
    let log = Log::default();
    // The first backup only catches overloads; the primary catches rate limits.
    let chain = Fallback::new(rate_limited)
        .backup(anthropic("claude-3-5-sonnet-latest"), |e: &TestError| {
            e.msg.contains("overloaded")
        })
        .backup(anthropic("never-called"), |_: &TestError| true);
    let out = chain
        .run(&openai(), |t| {
            fake_call(&log, t, "p", |_| Err(TestError::transient("rate limit")))
        })
        .await;
    let Err(FallbackRunError::Uncaught(e)) = out else {
        panic!("expected the backup's error unchanged")
    };
    assert_eq!(e.msg, "rate limit");
    assert_eq!(log.take().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn rule22_exhaustion_keeps_every_caught_error_in_order() {
    let out = chain()
        .run(&openai(), |t| {
            std::future::ready({
                Err::<(), _>(TestError::transient(format!("{} rate limit", t.provider)))
            })
        })
        .await;
    let Err(FallbackRunError::Exhausted(err)) = out else {
        panic!("expected exhaustion")
    };
    let msgs: Vec<_> = err.errors().iter().map(|e| e.msg.as_str()).collect();
    assert_eq!(msgs, ["openai rate limit", "anthropic rate limit"]);
    assert_eq!(err.stop(), FallbackStop::Exhausted);
    assert_eq!(
        err.to_string(),
        "every fallback target failed: [1] openai rate limit; [2] anthropic rate limit"
    );
    let source = std::error::Error::source(&err).unwrap();
    assert_eq!(source.to_string(), "anthropic rate limit");
}

#[tokio::test(start_paused = true)]
async fn rule23_each_target_gets_the_full_retry_policy() {
    // Reference scenario 6: OpenAI 3 times with backoff, then Anthropic 3 times, then
    // FallbackError([RetryError, RetryError]).
    let policy = Retry::new().stop(stop::after_attempt(3)).wait(
        wait::exponential()
            .min(secs(4))
            .max(secs(10))
            .build()
            .unwrap(),
    );
    let catch = |e: &RunError<TestError>| rate_limited(e.last());
    let chain = Fallback::new(catch).backup(anthropic("claude-3-5-sonnet-latest"), catch);
    let log = Log::default();
    let start = Instant::now();
    let out = chain
        .run(&openai(), |target| {
            let (policy, log) = (&policy, &log);
            async move {
                policy
                    .run(|attempt| {
                        log.push(format!("{} #{}", target.provider, attempt.number()));
                        let e = TestError::transient(format!("{} rate limit", target.provider));
                        std::future::ready(Err::<(), _>(e))
                    })
                    .await
            }
        })
        .await;
    assert_eq!(
        log.take(),
        [
            "openai #1",
            "openai #2",
            "openai #3",
            "anthropic #1",
            "anthropic #2",
            "anthropic #3"
        ]
    );
    assert_eq!(
        start.elapsed(),
        secs(16),
        "4 + 4 s per target, no wait in between"
    );
    let err = out.unwrap_err().exhausted().cloned().unwrap();
    assert_eq!(err.errors().len(), 2);
    for (e, provider) in err.errors().iter().zip(["openai", "anthropic"]) {
        let history = e.exhausted().unwrap();
        assert_eq!(history.len(), 3);
        assert_eq!(history.reason(), StopReason::AttemptLimit);
        assert_eq!(history.last().msg, format!("{provider} rate limit"));
    }
    assert_eq!(
        err.to_string(),
        "every fallback target failed: [1] gave up after 3 attempts: openai rate limit; \
         [2] gave up after 3 attempts: anthropic rate limit"
    );
}

/// An application error that can hold an exhausted chain of itself: what stacking needs.
#[derive(Clone, Debug)]
enum AppError {
    Provider(TestError),
    Chain(FallbackError<AppError>),
}

impl From<FallbackError<AppError>> for AppError {
    fn from(e: FallbackError<AppError>) -> Self {
        AppError::Chain(e)
    }
}

impl RetryHint for AppError {}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppError::Provider(e) => e.fmt(f),
            AppError::Chain(e) => e.fmt(f),
        }
    }
}

fn app_rate_limited(e: &AppError) -> bool {
    matches!(e, AppError::Provider(p) if rate_limited(p))
}

#[tokio::test(start_paused = true)]
async fn rule24_an_inner_fallback_error_is_caught_by_an_outer_chain() {
    // Inner chain: two OpenAI models. Outer chain: the inner chain, then Anthropic.
    let inner: Fallback<Target, AppError> = Fallback::new(app_rate_limited).backup(
        Target {
            model: "gpt-4o",
            ..openai()
        },
        app_rate_limited,
    );
    let outer: Fallback<Target, AppError> =
        Fallback::new(|e: &AppError| matches!(e, AppError::Chain(_)))
            .backup(anthropic("claude-3-5-sonnet-latest"), app_rate_limited);
    let log = Log::default();
    let call = |t: Target| {
        log.push(format!("{}:{}", t.provider, t.model));
        std::future::ready(match t.provider {
            "openai" => Err(AppError::Provider(TestError::transient(format!(
                "{} rate limit",
                t.model
            )))),
            _ => Ok(format!("answer from {}", t.model)),
        })
    };
    let won = outer
        .run(&openai(), |group| {
            let inner = &inner;
            async move {
                if group.provider == "openai" {
                    // The inner chain stands for the whole OpenAI group.
                    inner
                        .run(&group, call)
                        .await
                        .map(steadfast_retry::Winner::into_value)
                        .map_err(FallbackRunError::flatten)
                } else {
                    call(group).await
                }
            }
        })
        .await
        .unwrap();
    assert_eq!(won.value(), "answer from claude-3-5-sonnet-latest");
    assert_eq!(
        log.take(),
        [
            "openai:gpt-4o-mini",
            "openai:gpt-4o",
            "anthropic:claude-3-5-sonnet-latest"
        ]
    );
    let [AppError::Chain(inner_err)] = won.caught() else {
        panic!("expected the inner chain's error, got {:?}", won.caught())
    };
    assert_eq!(inner_err.errors().len(), 2);
    assert!(won.caught()[0].to_string().contains("gpt-4o rate limit"));
}

#[tokio::test(start_paused = true)]
async fn predicates_on_the_chain_combine() {
    let catch = Predicate::new(rate_limited).or(|e: &TestError| e.kind == Kind::Validation);
    let chain = Fallback::new(catch.clone()).backup(anthropic("c"), catch);
    let out = chain
        .run(&openai(), |t| {
            std::future::ready({
                Err::<(), _>(if t.provider == "openai" {
                    TestError::validation("bad json")
                } else {
                    TestError::fatal("boom")
                })
            })
        })
        .await;
    assert!(out.unwrap_err().is_uncaught());
}

#[tokio::test(start_paused = true)]
async fn a_chain_with_retries_runs_on_a_spawned_task() {
    let policy = Retry::<TestError>::new().wait(wait::none());
    let chain = chain();
    let handle = tokio::spawn(async move {
        chain
            .run(&openai(), |t| {
                let policy = &policy;
                async move {
                    policy
                        .run(|a| {
                            std::future::ready(if a.number() < 2 {
                                Err(TestError::transient("flaky"))
                            } else {
                                Ok(t.model)
                            })
                        })
                        .await
                        .map_err(RunError::into_last)
                }
            })
            .await
            .map(steadfast_retry::Winner::into_value)
    });
    assert_eq!(handle.await.unwrap().unwrap(), "gpt-4o-mini");
}
