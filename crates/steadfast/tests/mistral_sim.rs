//! Mistral through the simulator: the behaviours of the conformance suite (`conformance_sim.rs`).
//!
//! Mistral is not in the suite's `TARGETS` yet because three of the suite's assertions depend on
//! what the simulator sends for Mistral, not on the client: non-streaming responses carry no
//! request-id header, and every 429 gets the same fixed `rate_limited` body (so a scripted message
//! is not echoed and an exhausted quota cannot be told from a rate limit). Everything else of the
//! suite is checked here.

#![cfg(feature = "mistral")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use std::time::Duration;

use common::{TEST_KEY, sim};
use futures_util::StreamExt;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use steadfast::{Call, ErrorKind, FinishReason, OutputMode, StreamEvent, Tool, ToolChoice, llm};
use steadfast_sim::{
    Action, ErrorKind as SimKind, Provider as SimProvider, Rule, Scenario, Simulator,
};

#[derive(Debug, Deserialize, JsonSchema, PartialEq)]
struct GetWeather {
    city: String,
}

#[derive(Debug, Deserialize, JsonSchema, PartialEq)]
struct Book {
    title: String,
    author: String,
}

fn weather() -> Tool {
    Tool::of::<GetWeather>("get_weather", "Get the current weather for a city")
}

fn call(sim: &Simulator) -> Call {
    llm::call("mistral:mistral-small-latest")
        .unwrap()
        .base_url(sim.base_url(SimProvider::Mistral))
        .api_key(TEST_KEY)
}

async fn scripted(action: Action) -> Simulator {
    sim(Scenario::new().rule(Rule::new().provider(SimProvider::Mistral).action(action))).await
}

#[tokio::test]
async fn text_and_stream() {
    let sim = sim(Scenario::new()).await;
    let r = call(&sim)
        .send("What is the meaning of life?")
        .await
        .unwrap();
    assert_eq!(r.text(), "Echo: What is the meaning of life?");
    assert_eq!(r.finish_reason(), FinishReason::Stop);
    assert_eq!(r.provider(), "mistral");
    let u = r.usage().unwrap();
    assert!(u.input_tokens > 0 && u.output_tokens > 0);

    let mut s = call(&sim).stream("one two three four five");
    let mut texts = Vec::new();
    while let Some(ev) = s.next().await {
        if let StreamEvent::Text(x) = ev.unwrap() {
            texts.push(x);
        }
    }
    assert!(texts.len() > 1);
    let r = s.collect().await.unwrap();
    assert_eq!(r.text(), "Echo: one two three four five");
    assert!(r.usage().is_some(), "usage from the finish chunk");
    assert!(r.request_id().is_some());

    let r = call(&sim)
        .max_tokens(2)
        .send("one two three")
        .await
        .unwrap();
    assert_eq!(r.finish_reason(), FinishReason::Length);
    let r = call(&sim)
        .max_tokens(2)
        .stream("one two three")
        .collect()
        .await
        .unwrap();
    assert_eq!(r.finish_reason(), FinishReason::Length);
}

#[tokio::test]
async fn tools_forced_parallel_and_invalid() {
    let sim = sim(Scenario::new()).await;
    let c = call(&sim)
        .tool(weather())
        .tool_choice(ToolChoice::Tool("get_weather".into()));
    for r in [
        c.send("Weather in Paris?").await.unwrap(),
        c.stream("Weather in Paris?").collect().await.unwrap(),
    ] {
        assert_eq!(r.finish_reason(), FinishReason::ToolCalls);
        r.tools().unwrap()[0].parse::<GetWeather>().unwrap();
    }
    let required = call(&sim).tool(weather()).tool_choice(ToolChoice::Required);
    assert_eq!(
        required.send("Weather?").await.unwrap().tool_calls().len(),
        1
    );

    let action = Action::tool_call("get_weather", r#"{"city":"Paris"}"#)
        .and_tool_call("get_weather", r#"{"city":"Rome"}"#);
    let sim = scripted(action).await;
    let c = call(&sim).tool(weather());
    for r in [
        c.send("Weather?").await.unwrap(),
        c.stream("Weather?").collect().await.unwrap(),
    ] {
        let cities: Vec<String> = r
            .tools()
            .unwrap()
            .iter()
            .map(|u| u.parse::<GetWeather>().unwrap().city)
            .collect();
        assert_eq!(cities, ["Paris", "Rome"]);
        assert_ne!(r.tool_calls()[0].id, r.tool_calls()[1].id);
    }

    let sim = scripted(Action::tool_call("get_weather", r#"{"town": 3}"#)).await;
    let r = call(&sim).tool(weather()).send("Weather?").await.unwrap();
    assert_eq!(r.tools().unwrap_err().kind(), ErrorKind::Validation);
}

#[tokio::test]
async fn structured_output_in_both_modes() {
    let sim = sim(Scenario::new()).await;
    for mode in [OutputMode::Auto, OutputMode::JsonSchema, OutputMode::Tool] {
        let book: Book = call(&sim)
            .output_mode(mode)
            .extract::<Book>("The Name of the Wind by Patrick Rothfuss")
            .await
            .unwrap();
        assert!(!book.title.is_empty());
    }
    let sim = scripted(Action::refusal("I can't help with that.")).await;
    let e = call(&sim).extract::<Book>("x").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Validation);
}

#[tokio::test]
async fn errors_are_classified_with_their_hints() {
    let table: &[(Action, ErrorKind)] = &[
        (
            Action::rate_limit().retry_after_secs(7),
            ErrorKind::RateLimited,
        ),
        (Action::overloaded(), ErrorKind::Overloaded),
        (Action::server_error(), ErrorKind::Server),
        (Action::timeout(), ErrorKind::Timeout),
        (Action::auth(), ErrorKind::Auth),
        (
            Action::error(SimKind::PermissionDenied),
            ErrorKind::PermissionDenied,
        ),
        (Action::error(SimKind::NotFound), ErrorKind::NotFound),
        (
            Action::context_window_exceeded(),
            ErrorKind::ContextWindowExceeded,
        ),
        (Action::content_filter(), ErrorKind::ContentFiltered),
        (Action::bad_request(), ErrorKind::InvalidRequest),
        (Action::gateway(502), ErrorKind::Server),
        (Action::gateway(503), ErrorKind::Overloaded),
    ];
    for (action, kind) in table {
        let sim = scripted(action.clone()).await;
        let e = call(&sim).send("hi").await.unwrap_err();
        assert_eq!(e.kind(), *kind, "{:?}: {e}", action.label());
        assert_eq!(e.provider(), Some("mistral"));
        let s = call(&sim).stream("hi").collect().await.unwrap_err();
        assert_eq!(s.kind(), *kind, "streamed {:?}: {s}", action.label());
    }
    let sim = scripted(Action::rate_limit().retry_after_secs(7)).await;
    let e = call(&sim).send("hi").await.unwrap_err();
    assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
    assert_eq!(e.code(), Some("1300"));

    // A 422 for a field Mistral does not know, sent through `extra`.
    let sim = common::sim(Scenario::new()).await;
    let e = call(&sim)
        .extra_body("store", json!(false))
        .send("hi")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert_eq!(e.status(), Some(422));
    assert!(e.message().contains("store"), "{e}");

    // The key is never shown, even when rejected.
    let sim = common::sim(Scenario::new().require_key("the-right-key")).await;
    let e = call(&sim).send("hi").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth);
    assert!(!format!("{e:?}").contains(TEST_KEY));
}

#[tokio::test]
async fn stream_failures() {
    let action = Action::text("alpha beta gamma delta epsilon zeta eta theta iota kappa")
        .chunk_delay_ms(5)
        .error_after(6, SimKind::Overloaded);
    let sim = scripted(action).await;
    let e = call(&sim).stream("hi").collect().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::StreamInterrupted, "{e}");
    assert!(!e.partial().unwrap().text.is_empty());

    let sim = scripted(Action::text("alpha beta").error_after(0, SimKind::Overloaded)).await;
    let e = call(&sim).stream("hi").collect().await.unwrap_err();
    assert_ne!(e.kind(), ErrorKind::StreamInterrupted, "{e}");
    assert!(e.is_retryable());

    let sim = scripted(Action::text("alpha beta gamma delta").cut_after(3)).await;
    let e = call(&sim).stream("hi").collect().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::StreamInterrupted, "{e}");

    let sim = scripted(Action::text("alpha beta gamma delta").malformed_after(3)).await;
    let e = call(&sim).stream("hi").collect().await.unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::StreamInterrupted | ErrorKind::Decode),
        "{e}"
    );

    let sim = scripted(Action::reset()).await;
    assert_eq!(
        call(&sim).send("hi").await.unwrap_err().kind(),
        ErrorKind::Connect
    );
}
