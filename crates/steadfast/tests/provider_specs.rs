//! Every request body the Mistral and Cohere clients produce — across prompt styles, parameters,
//! tools, tool choices and output options — validates against the request schema of the official
//! OpenAPI spec (`../shared/fixtures/mistral/openapi.yaml`, `../shared/fixtures/cohere/
//! cohere-openapi.yaml`). Mistral's schema forbids unknown fields (`additionalProperties: false`),
//! so this also proves nothing it rejects is ever sent; Cohere's does not, so the check adds that
//! rule at the top level.

#![cfg(all(feature = "mistral", feature = "cohere"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;
#[path = "support/yaml_json.rs"]
mod yaml_json;

use common::{TEST_KEY, check_journal, exercise, sim};
use serde_json::json;
use steadfast::{Call, llm};
use steadfast_sim::{Dialect, Scenario, Simulator};

fn mistral_validator() -> jsonschema::Validator {
    let mut spec = yaml_json::load(
        &steadfast_fixtures::location()
            .join("mistral/openapi.yaml")
            .to_string_lossy(),
    );
    yaml_json::resolve_discriminators(&mut spec);
    let schema = json!({
        "$ref": "#/components/schemas/ChatCompletionRequest",
        "components": spec["components"],
    });
    jsonschema::draft202012::new(&schema).unwrap()
}

fn cohere_validator() -> jsonschema::Validator {
    let mut spec = yaml_json::load(
        &steadfast_fixtures::location()
            .join("cohere/cohere-openapi.yaml")
            .to_string_lossy(),
    );
    yaml_json::resolve_discriminators(&mut spec);
    let mut request =
        spec["paths"]["/v2/chat"]["post"]["requestBody"]["content"]["application/json"]["schema"]
            .clone();
    // The spec does not forbid unknown fields; this check does, so nothing undocumented is sent.
    request["additionalProperties"] = json!(false);
    request["components"] = spec["components"].clone();
    jsonschema::draft202012::new(&request).unwrap()
}

fn call(provider: &str, model: &str, sim: &Simulator, p: Dialect) -> Call {
    llm::call((provider, model))
        .unwrap()
        .base_url(sim.base_url(p))
        .api_key(TEST_KEY)
}

#[tokio::test]
async fn every_mistral_request_validates_against_the_official_spec() {
    let Some(_fixtures) = steadfast_fixtures::require() else {
        return;
    };
    let sim = sim(Scenario::new()).await;
    let base = call("mistral", "mistral-small-latest", &sim, Dialect::Mistral);
    exercise(&base).await;
    check_journal(&sim, &mistral_validator());
}

#[tokio::test]
async fn every_cohere_request_validates_against_the_official_spec() {
    let Some(_fixtures) = steadfast_fixtures::require() else {
        return;
    };
    let sim = sim(Scenario::new()).await;
    let base = call("cohere", "command-a-03-2025", &sim, Dialect::Cohere);
    exercise(&base).await;
    check_journal(&sim, &cohere_validator());
}

#[test]
fn the_validators_reject_what_the_providers_reject() {
    let Some(_fixtures) = steadfast_fixtures::require() else {
        return;
    };
    // Guards against validators that accept everything.
    let m = mistral_validator();
    let ok =
        json!({"model": "mistral-small-latest", "messages": [{"role": "user", "content": "hi"}]});
    assert!(m.is_valid(&ok));
    for (field, value) in [
        ("max_completion_tokens", json!(5)),
        ("seed", json!(7)),
        ("stream_options", json!({"include_usage": true})),
        ("store", json!(false)),
    ] {
        let mut bad = ok.clone();
        bad[field] = value;
        assert!(!m.is_valid(&bad), "Mistral accepts {field}");
    }
    assert!(!m.is_valid(
        &json!({"model": "m", "messages": [{"role": "tool", "content": "x", "extra": 1}]})
    ));

    let c = cohere_validator();
    let ok = json!({"model": "command-a-03-2025", "messages": [{"role": "user", "content": "hi"}]});
    assert!(c.is_valid(&ok));
    let mut bad = ok.clone();
    bad["top_p"] = json!(0.9);
    assert!(!c.is_valid(&bad), "top_p is `p` for Cohere");
    let mut bad = ok.clone();
    bad["tool_choice"] = json!("required");
    assert!(!c.is_valid(&bad));
    assert!(
        !c.is_valid(&json!({"model": "m", "messages": [{"role": "wizard", "content": "x"}]})),
        "unknown roles are refused"
    );
    let mut bad = ok.clone();
    bad["response_format"] = json!({"type": "json_schema", "json_schema": {}});
    assert!(!c.is_valid(&bad), "Cohere's JSON format is json_object");
    assert!(
        !c.is_valid(&json!({"model": "m", "messages": [{"role": "tool", "content": "x"}]})),
        "tool_call_id is required"
    );
}
