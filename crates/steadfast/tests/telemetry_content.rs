//! Prompt and completion content on the GenAI spans: off by default, on when asked for
//! (`steadfast::telemetry::capture_content`) — in a binary of its own, as the switch is
//! process-wide.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;
mod telemetry_support;

use common::{TEST_KEY, sim};
use steadfast::{Call, ErrorKind, llm};
use steadfast_sim::{Action, Dialect, Rule, Scenario, Simulator};
use telemetry_support::{Capture, has, lacks};

fn openai(sim: &Simulator) -> Call {
    llm::call("openai:gpt-4o-mini")
        .unwrap()
        .base_url(sim.base_url(Dialect::OpenAi))
        .api_key(TEST_KEY)
}

fn on(p: Dialect, action: Action) -> Rule {
    Rule::new().provider(p).action(action)
}

#[tokio::test]
async fn a_failed_call_is_an_error_span_and_content_is_opt_in() {
    let sim =
        sim(Scenario::new().rule(on(Dialect::OpenAi, Action::bad_request()).requests([1]))).await;
    let cap = Capture::default();
    let _g = cap.install();
    let e = openai(&sim).send("hi").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    let chat = cap.span("chat gpt-4o-mini", 0);
    has(
        &chat,
        &[
            ("error.type", "invalid-request"),
            ("otel.status_code", "ERROR"),
        ],
    );
    has(
        &cap.span("POST", 0),
        &[("error.type", "400"), ("http.response.status_code", "400")],
    );

    // Content only when asked for (the one test of this binary).
    openai(&sim).send("the secret plan").await.unwrap();
    let plain = cap.span("chat gpt-4o-mini", 1);
    lacks(&plain, &["gen_ai.input.messages", "gen_ai.output.messages"]);
    steadfast::telemetry::capture_content(true);
    let r = openai(&sim).send("the secret plan").await.unwrap();
    steadfast::telemetry::capture_content(false);
    let captured = cap.span("chat gpt-4o-mini", 2);
    let input: serde_json::Value =
        serde_json::from_str(&captured.fields["gen_ai.input.messages"]).unwrap();
    assert_eq!(
        input,
        serde_json::json!([{"role": "user", "parts": [{"type": "text", "content": "the secret plan"}]}])
    );
    let output: serde_json::Value =
        serde_json::from_str(&captured.fields["gen_ai.output.messages"]).unwrap();
    assert_eq!(output[0]["parts"][0]["content"], r.text());
    assert_eq!(output[0]["finish_reason"], "stop");
    cap.assert_no_secret();
}
