//! What is Gemini's own beyond the provider-agnostic conformance suite: thinking models sign their
//! function calls (`thoughtSignature`) and reject a conversation that gives a call back unsigned.
//! The simulator's `gemini-3*` models behave so.

#![cfg(feature = "gemini")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use common::{TEST_KEY, sim};
use serde_json::json;
use steadfast::{Call, ErrorKind, Message, Part, Response, Role, Tool, ToolCall, ToolChoice, llm};
use steadfast_sim::{Dialect, Scenario, Simulator};

fn call(sim: &Simulator) -> Call {
    llm::call("gemini:gemini-3-pro-preview")
        .unwrap()
        .base_url(sim.base_url(Dialect::Gemini))
        .api_key(TEST_KEY)
        .tool(
            Tool::from_schema(
                "now",
                "The current date and time",
                json!({"type": "object"}),
            )
            .unwrap(),
        )
        .tool_choice(ToolChoice::Tool("now".into()))
}

/// The next turn: the question, the model's call, and the tool's result.
fn next_turn(question: &str, called: ToolCall) -> Vec<Message> {
    let result = Message::tool_result(&called, r#"{"now":"2026-11-28T09:00:00Z"}"#, false);
    vec![
        Message::user(question),
        Message::new(Role::Assistant, vec![Part::ToolCall(called)]),
        result,
    ]
}

fn signed_call(r: &Response) -> ToolCall {
    let c = r.tool_calls().first().expect("a tool call").clone();
    assert!(
        c.signature.as_deref().is_some_and(|s| !s.is_empty()),
        "{c:?}"
    );
    c
}

#[tokio::test]
async fn a_signed_call_goes_back_with_its_signature() {
    let sim = sim(Scenario::new()).await;
    let question = "How many days until New Year's Eve?";
    let first = call(&sim).send(question).await.unwrap();
    let called = signed_call(&first);
    let answer = call(&sim)
        .tool_choice(ToolChoice::None)
        .send(next_turn(question, called.clone()))
        .await
        .unwrap();
    assert!(!answer.text().is_empty());
    // The signature went back exactly as received, beside its functionCall.
    let journal = sim.journal();
    let sent = journal.last().unwrap().json().unwrap();
    assert_eq!(
        sent["contents"][1]["parts"][0]["thoughtSignature"],
        json!(called.signature.unwrap())
    );

    // Streamed, the call carries its signature too.
    let streamed = call(&sim).stream(question).into_response().await.unwrap();
    signed_call(&streamed);
}

#[tokio::test]
async fn an_unsigned_call_is_refused_as_gemini_3_does() {
    let sim = sim(Scenario::new()).await;
    let question = "How many days until New Year's Eve?";
    let first = call(&sim).send(question).await.unwrap();
    let mut called = signed_call(&first);
    called.signature = None;
    let e = call(&sim)
        .tool_choice(ToolChoice::None)
        .send(next_turn(question, called))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest, "{e}");
    assert!(e.message().contains("thought_signature"), "{e}");
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[allow(dead_code, reason = "read through the validator")]
struct Book {
    title: String,
    author: String,
}

#[tokio::test]
async fn conversational_reinsertion_gives_the_failed_call_back_signed() {
    use steadfast::resilient::validation;
    use steadfast::retry::{Retry, stop, wait};
    use steadfast_sim::{Action, Rule};
    let rule = || Rule::new().provider(Dialect::Gemini);
    let sim = sim(Scenario::new()
        .rule(rule().requests([1]).action(Action::structured(
            json!({"title": "The Name of the Wind", "author": "patrick rothfuss"}),
        )))
        .rule(rule().action(Action::structured(
            json!({"title": "The Name of the Wind", "author": "PATRICK ROTHFUSS"}),
        ))))
    .await;
    let policy = Retry::new()
        .stop(stop::after_attempt(3))
        .wait(wait::none())
        .collect_errors(validation());
    let book: Book = llm::call("gemini:gemini-3-pro-preview")
        .unwrap()
        .base_url(sim.base_url(Dialect::Gemini))
        .api_key(TEST_KEY)
        .output_mode(steadfast::OutputMode::Tool)
        .retry(policy)
        .conversational(true)
        .extract::<Book>("The Name of the Wind")
        .validate(|b: &Book| {
            if b.author == b.author.to_uppercase() {
                Ok(())
            } else {
                Err("author must be uppercase")
            }
        })
        .await
        .unwrap();
    assert_eq!(book.author, "PATRICK ROTHFUSS");
    // The second request answers the failed call, which went back with its signature (the
    // simulated Gemini 3 refuses it otherwise).
    let journal = sim.journal();
    assert_eq!(journal.len(), 2);
    let second = journal[1].json().unwrap();
    let model_turn = &second["contents"][1];
    assert_eq!(model_turn["role"], "model", "{second:#}");
    assert!(
        model_turn["parts"][0]["thoughtSignature"].is_string(),
        "{second:#}"
    );
}
