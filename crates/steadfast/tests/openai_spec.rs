//! Every request body the OpenAI client produces — across every prompt style, parameter, tool and
//! output option — validates against `CreateChatCompletionRequest` of the official OpenAI spec
//! (`../shared/fixtures/openai/openapi.json`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use common::{TARGETS, call, check_journal, exercise, sim};
use serde_json::{Value, json};
use steadfast_sim::Scenario;

fn spec_validator() -> jsonschema::Validator {
    let path = steadfast_fixtures::location().join("openai/openapi.json");
    let spec: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let schema = json!({
        "$ref": "#/components/schemas/CreateChatCompletionRequest",
        "components": spec["components"],
    });
    jsonschema::draft202012::new(&schema).unwrap()
}

#[tokio::test]
async fn every_request_body_validates_against_the_official_spec() {
    let Some(_fixtures) = steadfast_fixtures::require() else {
        return;
    };
    let openai = TARGETS.iter().find(|t| t.name == "openai").unwrap();
    let sim = sim(Scenario::new()).await;
    exercise(&call(openai, &sim)).await;
    check_journal(&sim, &spec_validator());
}

#[test]
fn the_spec_validator_rejects_bad_bodies() {
    let Some(_fixtures) = steadfast_fixtures::require() else {
        return;
    };
    // Guard against a validator that accepts everything.
    let v = spec_validator();
    assert!(v.is_valid(
        &json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
    ));
    assert!(
        !v.is_valid(&json!({"model": "gpt-4o-mini"})),
        "messages are required"
    );
    assert!(!v.is_valid(
        &json!({"model": "gpt-4o-mini", "messages": [{"role": "wizard", "content": "hi"}]})
    ));
    assert!(!v.is_valid(&json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": "hot"})));
}
