//! The telemetry of a call (`steadfast::telemetry`): the exact span tree, span names and
//! attributes of the resilience stories — a first-try success, retries with waits and a server
//! hint, fallback with retries, a stream interrupted after its commit point, a restarted stream,
//! an extract with reinsertion and an open breaker — captured from `tracing` by a recording layer,
//! against the simulator. Waits go through a sleeper that records instead of sleeping.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{TEST_KEY, sim};
use futures_util::StreamExt;
use steadfast::ErrorKind::{RateLimited, Validation};
use steadfast::resilient::{Breakers, TRANSIENT, fallback, kinds, retryable, validation};
use steadfast::retry::{CircuitBreaker, Retry, SleepFuture, Sleeper, stop, wait};
use steadfast::{Call, ErrorKind, llm};
use steadfast_sim::{Action, Dialect, Rule, Scenario, Simulator};

mod telemetry_support;

use telemetry_support::{Capture, has, lacks};

// ---- targets and policies ----

#[derive(Debug, Default, Clone)]
struct Recorder(Arc<Mutex<Vec<Duration>>>);

impl Sleeper for Recorder {
    fn sleep(&self, duration: Duration) -> SleepFuture<'_> {
        self.0.lock().unwrap().push(duration);
        Box::pin(std::future::ready(()))
    }
}

/// stop_after_attempt(3), wait_exponential(multiplier=1, min=4, max=10), not sleeping.
fn reference() -> Retry<steadfast::Error> {
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
        .sleeper(Recorder::default())
}

fn openai(sim: &Simulator) -> Call {
    llm::call("openai:gpt-4o-mini")
        .unwrap()
        .base_url(sim.base_url(Dialect::OpenAi))
        .api_key(TEST_KEY)
}

fn anthropic(sim: &Simulator) -> Call {
    llm::call("anthropic:claude-3-5-sonnet-latest")
        .unwrap()
        .base_url(sim.base_url(Dialect::Anthropic))
        .api_key(TEST_KEY)
}

fn on(p: Dialect, action: Action) -> Rule {
    Rule::new().provider(p).action(action)
}

fn port(sim: &Simulator) -> String {
    sim.addr().port().to_string()
}

// ---- the stories ----

#[tokio::test]
async fn a_first_try_success_is_one_genai_span_over_one_http_span() {
    let sim = sim(Scenario::new()).await;
    let cap = Capture::default();
    let _g = cap.install();
    let r = openai(&sim)
        .temperature(0.5)
        .max_tokens(64)
        .send("hello there")
        .await
        .unwrap();

    assert_eq!(cap.tree(), ["chat gpt-4o-mini", "  POST"]);
    let chat = cap.span("chat gpt-4o-mini", 0);
    has(
        &chat,
        &[
            ("otel.kind", "client"),
            ("gen_ai.operation.name", "chat"),
            ("gen_ai.provider.name", "openai"),
            ("gen_ai.request.model", "gpt-4o-mini"),
            ("server.address", "127.0.0.1"),
            ("server.port", &port(&sim)),
            ("gen_ai.request.temperature", "0.5"),
            ("gen_ai.request.max_tokens", "64"),
            ("gen_ai.response.id", r.id().unwrap()),
            ("gen_ai.response.model", r.model()),
            ("gen_ai.response.finish_reasons", r#"["stop"]"#),
            ("steadfast.attempts", "1"),
            ("steadfast.wait.total_ms", "0"),
        ],
    );
    let usage = r.usage().unwrap();
    has(
        &chat,
        &[
            ("gen_ai.usage.input_tokens", &usage.input_tokens.to_string()),
            (
                "gen_ai.usage.output_tokens",
                &usage.output_tokens.to_string(),
            ),
        ],
    );
    lacks(
        &chat,
        &[
            "error.type",
            "otel.status_code",
            "gen_ai.request.stream",
            "gen_ai.input.messages",
            "gen_ai.output.messages",
        ],
    );
    let post = cap.span("POST", 0);
    has(
        &post,
        &[
            ("otel.kind", "client"),
            ("http.request.method", "POST"),
            ("http.response.status_code", "200"),
            ("server.address", "127.0.0.1"),
            ("server.port", &port(&sim)),
        ],
    );
    assert!(post.fields["url.full"].ends_with("/v1/chat/completions"));
    lacks(&post, &["http.request.resend_count", "error.type"]);
    assert!(cap.events().is_empty(), "{:?}", cap.events());
    cap.assert_no_secret();
}

#[tokio::test]
async fn three_attempts_are_one_genai_span_with_resends_and_their_waits() {
    let sim = sim(Scenario::new()
        .rule(on(Dialect::OpenAi, Action::rate_limit().retry_after_secs(7)).requests([1]))
        .rule(on(Dialect::OpenAi, Action::overloaded()).requests([2])))
    .await;
    let cap = Capture::default();
    let _g = cap.install();
    openai(&sim)
        .retry(reference().retry_if(retryable()))
        .send("hi")
        .await
        .unwrap();

    assert_eq!(
        cap.tree(),
        ["chat gpt-4o-mini", "  POST", "  POST", "  POST"]
    );
    let chat = cap.span("chat gpt-4o-mini", 0);
    has(
        &chat,
        &[
            ("steadfast.attempts", "3"),
            ("steadfast.wait.total_ms", "11000"),
        ],
    );
    lacks(&chat, &["error.type", "otel.status_code"]);

    let posts: Vec<_> = (0..3).map(|i| cap.span("POST", i)).collect();
    lacks(&posts[0], &["http.request.resend_count"]);
    has(&posts[1], &[("http.request.resend_count", "1")]);
    has(&posts[2], &[("http.request.resend_count", "2")]);
    has(
        &posts[0],
        &[
            ("http.response.status_code", "429"),
            ("error.type", "429"),
            ("otel.status_code", "ERROR"),
        ],
    );
    let overloaded = posts[1].fields["http.response.status_code"].clone();
    has(&posts[1], &[("error.type", overloaded.as_str())]);
    has(&posts[2], &[("http.response.status_code", "200")]);
    lacks(&posts[2], &["error.type"]);

    let waits = cap.events_named("steadfast.retry.wait");
    assert_eq!(waits.len(), 2);
    for (w, (ms, reason, kind)) in waits.iter().zip([
        ("7000", "server-hint", "rate-limited"),
        ("4000", "computed", "overloaded"),
    ]) {
        assert_eq!(w.parent, Some(chat.seq), "a wait belongs to its operation");
        assert_eq!(w.fields["steadfast.wait.duration_ms"], ms);
        assert_eq!(w.fields["steadfast.wait.reason"], reason);
        assert_eq!(w.fields["error.type"], kind);
    }
    cap.assert_no_secret();
}

#[tokio::test]
async fn fallback_with_retries_is_an_internal_span_over_one_genai_span_per_target() {
    let sim = sim(Scenario::new().rule(on(Dialect::OpenAi, Action::rate_limit()))).await;
    let cap = Capture::default();
    let _g = cap.install();
    let chain = fallback(kinds([RateLimited])).backup(anthropic(&sim), kinds([RateLimited]));
    let r = openai(&sim)
        .retry(reference().retry_if(retryable()))
        .fallback(chain)
        .send("hi")
        .await
        .unwrap();
    assert_eq!(r.provider(), "anthropic");

    assert_eq!(
        cap.tree(),
        [
            "steadfast.fallback",
            "  chat gpt-4o-mini",
            "    POST",
            "    POST",
            "    POST",
            "  chat claude-3-5-sonnet-latest",
            "    POST",
        ]
    );
    has(
        &cap.span("steadfast.fallback", 0),
        &[
            ("otel.kind", "internal"),
            ("steadfast.fallback.targets", "2"),
            ("steadfast.fallback.tried", "2"),
            (
                "steadfast.fallback.winner",
                "anthropic:claude-3-5-sonnet-latest",
            ),
            ("steadfast.fallback.winner_index", "1"),
            ("steadfast.fallback.caught", "rate-limited"),
        ],
    );
    lacks(&cap.span("steadfast.fallback", 0), &["error.type"]);
    has(
        &cap.span("chat gpt-4o-mini", 0),
        &[
            ("error.type", "rate-limited"),
            ("otel.status_code", "ERROR"),
            ("steadfast.attempts", "3"),
            ("steadfast.wait.total_ms", "8000"),
        ],
    );
    let backup = cap.span("chat claude-3-5-sonnet-latest", 0);
    has(
        &backup,
        &[
            ("gen_ai.provider.name", "anthropic"),
            ("steadfast.attempts", "1"),
        ],
    );
    lacks(&backup, &["error.type"]);
    assert_eq!(cap.events_named("steadfast.retry.wait").len(), 2);
    cap.assert_no_secret();
}

#[tokio::test]
async fn a_stream_interrupted_after_its_commit_point_fails_its_span() {
    let sim = sim(Scenario::new().rule(on(Dialect::OpenAi, Action::model().cut_after(3)))).await;
    let cap = Capture::default();
    let _g = cap.install();
    let mut s = openai(&sim)
        .retry(reference().retry_if(retryable()))
        .stream("one two three four five six");
    let mut failed = None;
    while let Some(ev) = s.next().await {
        if let Err(e) = ev {
            failed = Some(e.kind());
        }
    }
    assert_eq!(failed, Some(ErrorKind::StreamInterrupted));

    assert_eq!(cap.tree(), ["chat gpt-4o-mini", "  POST"]);
    let chat = cap.span("chat gpt-4o-mini", 0);
    has(
        &chat,
        &[
            ("gen_ai.request.stream", "true"),
            ("error.type", "stream-interrupted"),
            ("otel.status_code", "ERROR"),
            ("steadfast.attempts", "1"),
        ],
    );
    assert!(
        chat.fields
            .contains_key("gen_ai.response.time_to_first_chunk")
    );
    let commits = cap.events_named("steadfast.stream.commit");
    assert_eq!(commits.len(), 1);
    assert_eq!(commits[0].parent, Some(chat.seq));
    has(
        &cap.span("POST", 0),
        &[
            ("http.response.status_code", "200"),
            ("error.type", "stream-interrupted"),
        ],
    );
    cap.assert_no_secret();
}

#[tokio::test]
async fn a_restarted_stream_is_an_internal_span_over_both_passes() {
    let sim =
        sim(Scenario::new().rule(on(Dialect::OpenAi, Action::model().cut_after(3)).requests([1])))
            .await;
    let cap = Capture::default();
    let _g = cap.install();
    let mut s = openai(&sim)
        .retry(
            Retry::new()
                .stop(stop::after_attempt(3))
                .wait(wait::none())
                .retry_if(retryable()),
        )
        .restart_streams(1)
        .stream("one two three four five six");
    while let Some(ev) = s.next().await {
        ev.unwrap();
    }
    s.into_response().await.unwrap();

    assert_eq!(
        cap.tree(),
        [
            "steadfast.stream",
            "  chat gpt-4o-mini",
            "    POST",
            "  chat gpt-4o-mini",
            "    POST",
        ]
    );
    let outer = cap.span("steadfast.stream", 0);
    has(
        &outer,
        &[("otel.kind", "internal"), ("steadfast.restarts", "1")],
    );
    has(
        &cap.span("chat gpt-4o-mini", 0),
        &[("error.type", "stream-interrupted")],
    );
    let second = cap.span("chat gpt-4o-mini", 1);
    lacks(&second, &["error.type"]);
    has(
        &second,
        &[("gen_ai.response.finish_reasons", r#"["stop"]"#)],
    );
    let restarts = cap.events_named("steadfast.stream.restart");
    assert_eq!(restarts.len(), 1);
    assert_eq!(restarts[0].parent, Some(outer.seq));
    assert_eq!(restarts[0].fields["error.type"], "stream-interrupted");
    cap.assert_no_secret();
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[allow(dead_code, reason = "only parsed")]
struct Book {
    title: String,
    author: String,
}

#[tokio::test]
async fn an_extract_with_reinsertion_is_one_json_operation() {
    let sim = sim(Scenario::new()
        .rule(on(Dialect::OpenAi, Action::structured_raw(r#"{"title": 1}"#)).requests([1])))
    .await;
    let cap = Capture::default();
    let _g = cap.install();
    let policy = reference()
        .retry_if(kinds([Validation]))
        .collect_errors(validation());
    openai(&sim)
        .retry(policy)
        .extract::<Book>("The Name of the Wind by Patrick Rothfuss")
        .await
        .unwrap();

    assert_eq!(cap.tree(), ["chat gpt-4o-mini", "  POST", "  POST"]);
    let chat = cap.span("chat gpt-4o-mini", 0);
    has(
        &chat,
        &[("gen_ai.output.type", "json"), ("steadfast.attempts", "2")],
    );
    lacks(&chat, &["error.type"]);
    let waits = cap.events_named("steadfast.retry.wait");
    assert_eq!(waits.len(), 1);
    assert_eq!(waits[0].fields["error.type"], "validation");
    // The failed attempt was a good HTTP exchange: its span is not an error.
    lacks(&cap.span("POST", 0), &["error.type"]);
    has(&cap.span("POST", 1), &[("http.request.resend_count", "1")]);
    cap.assert_no_secret();
}

#[tokio::test]
async fn an_open_breaker_skips_its_target_and_says_so() {
    let sim = sim(Scenario::new().rule(on(Dialect::OpenAi, Action::overloaded()))).await;
    let breakers = Breakers::new(
        CircuitBreaker::builder()
            .window(2)
            .min_calls(2)
            .failure_rate(0.5)
            .cooldown(Duration::from_secs(600)),
    )
    .unwrap();
    let chain = fallback(kinds(TRANSIENT))
        .backup(anthropic(&sim), kinds(TRANSIENT))
        .breaker(breakers.lookup());
    let cap = Capture::default();
    let _g = cap.install();
    for _ in 0..2 {
        openai(&sim)
            .fallback(chain.clone())
            .send("hi")
            .await
            .unwrap();
    }
    let transitions = cap.events_named("steadfast.breaker.transition");
    assert_eq!(transitions.len(), 1, "{transitions:?}");
    assert_eq!(transitions[0].fields["steadfast.breaker.from"], "closed");
    assert_eq!(transitions[0].fields["steadfast.breaker.to"], "open");

    let before = cap.spans().len();
    openai(&sim).fallback(chain).send("hi").await.unwrap();
    let third: Vec<String> = cap.tree().into_iter().skip(cap.tree().len() - 3).collect();
    assert_eq!(
        third,
        [
            "steadfast.fallback",
            "  chat claude-3-5-sonnet-latest",
            "    POST"
        ]
    );
    assert_eq!(cap.spans().len(), before + 3);
    let chain_span = cap.span("steadfast.fallback", 2);
    has(
        &chain_span,
        &[
            ("steadfast.fallback.skipped", "0:circuit-open"),
            ("steadfast.fallback.tried", "1"),
            ("steadfast.fallback.winner_index", "1"),
        ],
    );
    lacks(&chain_span, &["steadfast.fallback.caught"]);
    let skips = cap.events_named("steadfast.fallback.skip");
    assert_eq!(skips.len(), 1);
    assert_eq!(skips[0].parent, Some(chain_span.seq));
    assert_eq!(
        skips[0].fields["steadfast.fallback.skip_reason"],
        "circuit-open"
    );
    cap.assert_no_secret();
}

#[tokio::test]
async fn the_closure_form_of_a_policy_is_an_internal_span_over_its_calls() {
    let sim =
        sim(Scenario::new().rule(on(Dialect::OpenAi, Action::overloaded()).requests([1]))).await;
    let cap = Capture::default();
    let _g = cap.install();
    let call = openai(&sim);
    let text = reference()
        .run(|_| {
            let call = call.clone();
            async move { call.send("hi").await.map(|r| r.text().to_string()) }
        })
        .await
        .unwrap();
    assert!(!text.is_empty());
    assert_eq!(
        cap.tree(),
        [
            "steadfast.retry",
            "  chat gpt-4o-mini",
            "    POST",
            "  chat gpt-4o-mini",
            "    POST",
        ]
    );
    let outer = cap.span("steadfast.retry", 0);
    has(
        &outer,
        &[
            ("otel.kind", "internal"),
            ("steadfast.attempts", "2"),
            ("steadfast.wait.total_ms", "4000"),
        ],
    );
    lacks(&outer, &["error.type", "steadfast.retry.stop"]);
    has(
        &cap.span("chat gpt-4o-mini", 0),
        &[("error.type", "overloaded")],
    );
    assert_eq!(
        cap.events_named("steadfast.retry.wait")[0].parent,
        Some(outer.seq)
    );
}

// ---- metrics: what a call's recorder receives ----

#[derive(Debug, Default)]
struct Measured {
    ops: Mutex<Vec<String>>,
    fallbacks: Mutex<Vec<String>>,
}

impl steadfast::telemetry::Recorder for Measured {
    fn operation(&self, m: &steadfast::telemetry::Measurement<'_>) {
        assert!(m.duration > Duration::ZERO);
        self.ops.lock().unwrap().push(format!(
            "{} {} {:?} attempts={} waited={}s error={:?} tokens={:?}/{:?} stream={} ttfc={} server={:?}",
            m.provider,
            m.request_model,
            m.response_model,
            m.attempts,
            m.waited.as_secs(),
            m.error_type,
            m.input_tokens.is_some(),
            m.output_tokens.is_some(),
            m.stream,
            m.time_to_first_chunk.is_some(),
            m.server_address,
        ));
    }

    fn fallback(&self, m: &steadfast::telemetry::FallbackMeasurement<'_>) {
        self.fallbacks.lock().unwrap().push(format!(
            "{}@{} won={} error={:?}",
            m.target, m.position, m.won, m.error_type
        ));
    }
}

#[tokio::test]
async fn a_recorder_gets_one_measurement_per_operation_and_per_fallback_target() {
    let sim = sim(Scenario::new().rule(on(Dialect::OpenAi, Action::rate_limit()))).await;
    let measured = Arc::new(Measured::default());
    // A fixed backup is a call of its own: it carries the recorder it was given.
    let backup = anthropic(&sim).recorder(measured.clone());
    let chain = fallback(kinds([RateLimited])).backup(backup, kinds([RateLimited]));
    openai(&sim)
        .recorder(measured.clone())
        .retry(reference().retry_if(retryable()))
        .fallback(chain)
        .send("hi")
        .await
        .unwrap();
    assert_eq!(
        *measured.ops.lock().unwrap(),
        [
            "openai gpt-4o-mini None attempts=3 waited=8s error=Some(\"rate-limited\") tokens=false/false stream=false ttfc=false server=Some(\"127.0.0.1\")",
            "anthropic claude-3-5-sonnet-latest Some(\"claude-3-5-sonnet-latest\") attempts=1 waited=0s error=None tokens=true/true stream=false ttfc=false server=Some(\"127.0.0.1\")",
        ]
    );
    assert_eq!(
        *measured.fallbacks.lock().unwrap(),
        [
            "openai:gpt-4o-mini@0 won=false error=Some(\"rate-limited\")",
            "anthropic:claude-3-5-sonnet-latest@1 won=true error=None",
        ]
    );

    // A stream measures its time to first chunk; no recorder, no measurement.
    let measured = Arc::new(Measured::default());
    let mut s = openai(&sim).recorder(measured.clone()).stream("one two");
    while let Some(ev) = s.next().await {
        let _ = ev;
    }
    let ops = measured.ops.lock().unwrap().clone();
    assert_eq!(ops.len(), 1);
    assert!(ops[0].contains("error=Some(\"rate-limited\")"), "{ops:?}");
    let sim = sim_ok().await;
    let measured = Arc::new(Measured::default());
    let mut s = openai(&sim).recorder(measured.clone()).stream("one two");
    while let Some(ev) = s.next().await {
        ev.unwrap();
    }
    let ops = measured.ops.lock().unwrap().clone();
    assert_eq!(ops.len(), 1, "{ops:?}");
    assert!(ops[0].contains("stream=true ttfc=true"), "{ops:?}");
    assert!(ops[0].contains("tokens=true/true"), "{ops:?}");
}

async fn sim_ok() -> Simulator {
    sim(Scenario::new()).await
}
