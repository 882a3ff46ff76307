//! Fallback rules 17–24 of the semantics, against the simulator: OpenAI as the primary, Anthropic
//! and others as backups.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{TARGETS, Target, call, sim};
use futures_util::StreamExt;
use steadfast::ErrorKind::{self, InvalidRequest, RateLimited};
use steadfast::resilient::{fallback, kinds};
use steadfast::retry::{
    Fallback, FallbackRunError, Retry, RunError, SleepFuture, Sleeper, stop, wait,
};
use steadfast::{Call, StreamEvent};
use steadfast_sim::{Action, Dialect, Rule, Scenario, Simulator};

#[derive(Debug, Default, Clone)]
struct Recorder(Arc<Mutex<Vec<Duration>>>);

impl Sleeper for Recorder {
    fn sleep(&self, duration: Duration) -> SleepFuture<'_> {
        self.0.lock().unwrap().push(duration);
        Box::pin(std::future::ready(()))
    }
}

fn target(name: &str) -> &'static Target {
    TARGETS.iter().find(|t| t.name == name).unwrap()
}

fn on(p: Dialect, action: Action) -> Rule {
    Rule::new().provider(p).action(action)
}

fn rate_limited(p: Dialect) -> Rule {
    on(p, Action::rate_limit())
}

fn calls(sim: &Simulator) -> (Call, Call, Call, Call) {
    (
        call(target("openai"), sim),
        call(target("anthropic"), sim),
        call(target("groq"), sim),
        call(target("xai"), sim),
    )
}

fn counts(sim: &Simulator) -> [usize; 4] {
    [
        Dialect::OpenAi,
        Dialect::Anthropic,
        Dialect::Groq,
        Dialect::Xai,
    ]
    .map(|p| sim.requests_for(p))
}

#[tokio::test]
async fn rule_17_primary_success_has_no_caught_errors() {
    let sim = sim(Scenario::new()).await;
    let (openai, anthropic, ..) = calls(&sim);
    let chain = fallback(kinds([RateLimited])).backup(anthropic, kinds([RateLimited]));
    let r = openai.fallback(chain).send("hi").await.unwrap();
    assert!(r.caught().is_empty());
    assert_eq!(r.provider(), "openai");
    assert_eq!(counts(&sim), [1, 0, 0, 0]);
}

#[tokio::test]
async fn rule_18_an_uncaught_primary_error_is_returned_unchanged() {
    let sim = sim(Scenario::new().rule(on(Dialect::OpenAi, Action::bad_request()))).await;
    let (openai, anthropic, ..) = calls(&sim);
    let chain = fallback(kinds([RateLimited])).backup(anthropic, kinds([RateLimited]));
    let e = openai.fallback(chain).send("hi").await.unwrap_err();
    assert_eq!(e.kind(), InvalidRequest);
    assert!(e.caught().is_empty());
    assert_eq!(counts(&sim), [1, 0, 0, 0]);
}

#[tokio::test]
async fn rule_20_backups_run_in_order_and_the_first_success_wins() {
    let sim = sim(Scenario::new()
        .rule(rate_limited(Dialect::OpenAi))
        .rule(rate_limited(Dialect::Anthropic)))
    .await;
    let (openai, anthropic, groq, xai) = calls(&sim);
    let chain = fallback(kinds([RateLimited]))
        .backup(anthropic, kinds([RateLimited]))
        .backup(groq, kinds([RateLimited]))
        .backup(xai, kinds([RateLimited]));
    let r = openai.fallback(chain).send("hi").await.unwrap();
    assert_eq!(r.provider(), "groq");
    let caught: Vec<(Option<&str>, ErrorKind)> = r
        .caught()
        .iter()
        .map(|e| (e.provider(), e.kind()))
        .collect();
    assert_eq!(
        caught,
        [
            (Some("openai"), RateLimited),
            (Some("anthropic"), RateLimited)
        ]
    );
    assert_eq!(counts(&sim), [1, 1, 1, 0], "later backups never run");
    let targets: Vec<&str> = r.attempts().iter().map(|a| &*a.provider).collect();
    assert_eq!(
        targets,
        ["openai", "anthropic", "groq"],
        "every HTTP attempt is listed"
    );
}

#[tokio::test]
async fn rule_21_a_backup_error_outside_its_catch_is_returned_at_once() {
    let sim = sim(Scenario::new()
        .rule(rate_limited(Dialect::OpenAi))
        .rule(on(Dialect::Anthropic, Action::overloaded())))
    .await;
    let (openai, anthropic, groq, _) = calls(&sim);
    let chain = fallback(kinds([RateLimited]))
        .backup(anthropic, kinds([RateLimited]))
        .backup(groq, kinds([RateLimited]));
    let e = openai.fallback(chain).send("hi").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Overloaded);
    assert_eq!(e.provider(), Some("anthropic"));
    assert_eq!(counts(&sim), [1, 1, 0, 0]);
}

#[tokio::test]
async fn rule_22_every_target_failing_gives_every_caught_error() {
    let sim = sim(Scenario::new()
        .rule(rate_limited(Dialect::OpenAi))
        .rule(rate_limited(Dialect::Anthropic)))
    .await;
    let (openai, anthropic, ..) = calls(&sim);
    let chain = fallback(kinds([RateLimited])).backup(anthropic.clone(), kinds([RateLimited]));
    let e = openai.fallback(chain.clone()).send("hi").await.unwrap_err();
    assert_eq!(e.kind(), RateLimited);
    assert_eq!(e.provider(), Some("anthropic"));
    assert_eq!(e.caught().len(), 1);
    assert_eq!(e.caught()[0].provider(), Some("openai"));
    let shown = e.to_string();
    assert!(
        shown.starts_with("every fallback target failed: [1] rate limited (openai"),
        "{shown}"
    );
    assert!(shown.contains("[2] rate limited (anthropic"), "{shown}");

    // The closure form gives the typed FallbackError.
    sim.reset();
    let out = chain
        .run(&openai, |c| async move { c.send("hi").await })
        .await;
    match out {
        Err(FallbackRunError::Exhausted(f)) => {
            let who: Vec<Option<&str>> = f.errors().iter().map(|e| e.provider()).collect();
            assert_eq!(who, [Some("openai"), Some("anthropic")]);
            assert!(
                f.to_string()
                    .starts_with("every fallback target failed: [1]")
            );
        }
        other => panic!("{other:?}"),
    }
}

fn reference(rec: &Recorder) -> Retry<steadfast::Error> {
    Retry::new()
        .stop(stop::after_attempt(3))
        .wait(
            wait::exponential()
                .multiplier(1.0)
                .min(Duration::from_secs(4))
                .max(Duration::from_secs(10))
                .build()
                .unwrap(),
        )
        .sleeper(rec.clone())
}

#[tokio::test]
async fn rule_23_fallback_over_retry_gives_each_target_the_whole_policy() {
    let sim = sim(Scenario::new()
        .rule(rate_limited(Dialect::OpenAi))
        .rule(rate_limited(Dialect::Anthropic)))
    .await;
    let (openai, anthropic, ..) = calls(&sim);
    let rec = Recorder::default();
    let policy = reference(&rec);

    // Closure form: FallbackError([RetryError, RetryError]).
    let chain: Fallback<Call, RunError<steadfast::Error>> =
        Fallback::new(|e: &RunError<steadfast::Error>| e.last().kind() == RateLimited)
            .backup(anthropic.clone(), |e: &RunError<steadfast::Error>| {
                e.last().kind() == RateLimited
            });
    let out = chain
        .run(&openai, |c| {
            let policy = policy.clone();
            async move {
                policy
                    .run(|_| {
                        let c = c.clone();
                        async move { c.send("hi").await }
                    })
                    .await
            }
        })
        .await;
    match out {
        Err(FallbackRunError::Exhausted(f)) => {
            assert_eq!(f.errors().len(), 2);
            for e in f.errors() {
                let history = e.exhausted().expect("a RetryError");
                assert_eq!(history.len(), 3);
            }
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(counts(&sim), [3, 3, 0, 0]);
    let s = Duration::from_secs;
    assert_eq!(*rec.0.lock().unwrap(), [s(4), s(4), s(4), s(4)]);

    // Closure-free form: the same 3 + 3 requests.
    sim.reset();
    let chain = fallback(kinds([RateLimited])).backup(anthropic, kinds([RateLimited]));
    let e = openai
        .retry(reference(&rec))
        .fallback(chain)
        .send("hi")
        .await
        .unwrap_err();
    assert_eq!(counts(&sim), [3, 3, 0, 0]);
    assert_eq!(e.caught().len(), 1);
    assert_eq!(e.caught()[0].attempts().len(), 3);
    assert_eq!(e.attempts().len(), 6, "every HTTP attempt of both targets");
}

#[tokio::test]
async fn rule_24_chains_stack() {
    let sim = sim(Scenario::new()
        .rule(rate_limited(Dialect::OpenAi))
        .rule(rate_limited(Dialect::Groq)))
    .await;
    let (openai, anthropic, groq, _) = calls(&sim);
    let inner = fallback(kinds([RateLimited])).backup(groq, kinds([RateLimited]));
    let outer = Fallback::new(kinds([RateLimited])).backup(anthropic, kinds([RateLimited]));
    let won = outer
        .run(&openai, |c| {
            let inner = inner.clone();
            async move {
                inner
                    .run(&c, |c| async move { c.send("hi").await })
                    .await
                    .map(|w| w.into_value())
                    .map_err(steadfast::Error::from)
            }
        })
        .await
        .unwrap();
    assert_eq!(won.value().provider(), "anthropic");
    // The outer chain caught the inner chain's exhaustion: the groq error, with openai's inside.
    let inner_failure = &won.caught()[0];
    assert_eq!(inner_failure.provider(), Some("groq"));
    assert_eq!(inner_failure.caught()[0].provider(), Some("openai"));
    assert_eq!(counts(&sim), [1, 1, 1, 0]);
}

#[tokio::test]
async fn rule_19_common_params_carry_over_and_provider_settings_do_not_leak() {
    let sim = sim(Scenario::new().rule(rate_limited(Dialect::OpenAi))).await;
    let openai = call(target("openai"), &sim)
        .temperature(0.3)
        .max_tokens(77)
        .extra_body("store", serde_json::json!(false));
    let backup = openai
        .with_target("anthropic:claude-3-5-sonnet-latest")
        .unwrap()
        .base_url(sim.base_url(Dialect::Anthropic))
        .api_key(common::TEST_KEY);
    assert_eq!(backup.params(), openai.params());
    let chain = fallback(kinds([RateLimited])).backup(backup, kinds([RateLimited]));
    openai.fallback(chain).send("hi").await.unwrap();
    let body = sim.journal()[1].json().unwrap();
    assert_eq!(body["temperature"], 0.3);
    assert_eq!(body["max_tokens"], 77);
    assert!(
        body.get("store").is_none(),
        "OpenAI's `store` did not leak to Anthropic: {body}"
    );
}

#[tokio::test]
async fn the_chain_never_resends_an_identical_request_to_the_target_it_gave_up_on() {
    let sim = sim(Scenario::new().rule(rate_limited(Dialect::OpenAi))).await;
    let (openai, anthropic, ..) = calls(&sim);
    let chain = fallback(kinds([RateLimited]))
        .backup(openai.clone(), kinds([RateLimited]))
        .backup(anthropic, kinds([RateLimited]));
    let r = openai.fallback(chain).send("hi").await.unwrap();
    assert_eq!(r.provider(), "anthropic");
    assert_eq!(
        counts(&sim),
        [1, 1, 0, 0],
        "the identical openai backup was skipped"
    );
}

#[tokio::test]
async fn streams_fall_back_before_their_commit_point() {
    let sim = sim(Scenario::new().rule(rate_limited(Dialect::OpenAi))).await;
    let (openai, anthropic, ..) = calls(&sim);
    let chain = fallback(kinds([RateLimited])).backup(anthropic, kinds([RateLimited]));
    let mut s = openai.fallback(chain.clone()).stream("one two three");
    let mut text = String::new();
    while let Some(ev) = s.next().await {
        if let StreamEvent::Text(t) = ev.unwrap() {
            text.push_str(&t);
        }
    }
    assert_eq!(text, "Echo: one two three");
    let r = s.into_response().await.unwrap();
    assert_eq!(r.provider(), "anthropic");
    assert_eq!(r.caught().len(), 1);
    assert_eq!(counts(&sim), [1, 1, 0, 0]);

    // The consuming wrapper falls back exactly like a plain call.
    sim.reset();
    let won = chain
        .run(&openai, |c| async move {
            let mut s = c.stream("four five");
            let mut text = String::new();
            while let Some(ev) = s.next().await {
                if let StreamEvent::Text(t) = ev? {
                    text.push_str(&t);
                }
            }
            Ok::<_, steadfast::Error>(text)
        })
        .await
        .unwrap();
    assert_eq!(won.value(), "Echo: four five");
    assert_eq!(won.index(), 1);
}

#[tokio::test]
async fn structured_output_falls_back_too() {
    #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
    #[allow(dead_code, reason = "only parsed")]
    struct Book {
        title: String,
        author: String,
    }
    let sim = sim(Scenario::new().rule(rate_limited(Dialect::OpenAi))).await;
    let (openai, anthropic, ..) = calls(&sim);
    let chain = fallback(kinds([RateLimited])).backup(anthropic, kinds([RateLimited]));
    let (_, r) = openai
        .fallback(chain)
        .extract::<Book>("a book")
        .with_response()
        .await
        .unwrap();
    assert_eq!(r.provider(), "anthropic");
    assert_eq!(r.caught().len(), 1);
}

#[tokio::test]
async fn rule_25_targets_whose_circuit_is_open_are_skipped() {
    use steadfast::resilient::{Breakers, TRANSIENT};
    use steadfast::retry::CircuitBreaker;
    use steadfast::retry::circuit::CircuitState;
    let sim = sim(Scenario::new().rule(on(Dialect::OpenAi, Action::overloaded()))).await;
    let (openai, anthropic, ..) = calls(&sim);
    let breakers = Breakers::new(
        CircuitBreaker::builder()
            .window(2)
            .min_calls(2)
            .failure_rate(0.5)
            .cooldown(Duration::from_secs(600)),
    )
    .unwrap();
    let chain = fallback(kinds(TRANSIENT))
        .backup(anthropic, kinds(TRANSIENT))
        .breaker(breakers.lookup());
    assert!(breakers.states().is_empty(), "made on first use");
    for _ in 0..2 {
        let r = openai.fallback(chain.clone()).send("hi").await.unwrap();
        assert_eq!(r.provider(), "anthropic");
    }
    assert_eq!(counts(&sim), [2, 2, 0, 0]);
    // Two failures out of two: OpenAI's circuit is open, so the chain goes straight to Anthropic.
    let r = openai.fallback(chain).send("hi").await.unwrap();
    assert_eq!(r.provider(), "anthropic");
    assert!(
        r.caught().is_empty(),
        "nothing was caught: the open target was skipped"
    );
    assert_eq!(counts(&sim), [2, 3, 0, 0]);
    // Each target's breaker, by `provider:model` and host, as a metrics endpoint shows them.
    let states: Vec<_> = breakers
        .states()
        .into_iter()
        .map(|s| (s.target, s.server, s.state))
        .collect();
    let host = Some("127.0.0.1".to_owned());
    assert_eq!(
        states,
        [
            (
                "anthropic:claude-3-5-sonnet-latest".to_owned(),
                host.clone(),
                CircuitState::Closed
            ),
            ("openai:gpt-4o-mini".to_owned(), host, CircuitState::Open),
        ]
    );
}

#[tokio::test]
async fn rule_25_a_shared_budget_bounds_retries_times_fallbacks() {
    use steadfast::retry::Budget;
    let sim = sim(Scenario::new()
        .rule(rate_limited(Dialect::OpenAi))
        .rule(rate_limited(Dialect::Anthropic)))
    .await;
    let (openai, anthropic, ..) = calls(&sim);
    let rec = Recorder::default();
    // Two extra attempts in all, however many retries and backups are configured.
    let budget = Budget::new(2);
    let policy = reference(&rec).budget(budget.clone());
    let chain = fallback(kinds([RateLimited]))
        .backup(anthropic, kinds([RateLimited]))
        .budget(budget);
    let e = openai
        .retry(policy)
        .fallback(chain)
        .send("hi")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), RateLimited);
    let [o, a, ..] = counts(&sim);
    assert_eq!(
        o + a,
        3,
        "1 attempt + 2 extra, not 3 + 3 (openai {o}, anthropic {a})"
    );
}
