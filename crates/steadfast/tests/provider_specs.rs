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

use common::{TEST_KEY, sim};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use steadfast::{Call, Message, OutputMode, Part, Role, Tool, ToolCall, ToolChoice, llm};
use steadfast_sim::{Provider as SimProvider, Scenario, Simulator};

#[derive(Debug, Deserialize, JsonSchema)]
#[allow(dead_code, reason = "only the schema is used")]
struct Book {
    title: String,
    author: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[allow(dead_code, reason = "only the schema is used")]
struct GetWeather {
    city: String,
    unit: Option<String>,
}

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures");

fn mistral_validator() -> jsonschema::Validator {
    let mut spec = yaml_json::load(&format!("{FIXTURES}/mistral/openapi.yaml"));
    yaml_json::resolve_discriminators(&mut spec);
    let schema = json!({
        "$ref": "#/components/schemas/ChatCompletionRequest",
        "components": spec["components"],
    });
    jsonschema::draft202012::new(&schema).unwrap()
}

fn cohere_validator() -> jsonschema::Validator {
    let mut spec = yaml_json::load(&format!("{FIXTURES}/cohere/cohere-openapi.yaml"));
    yaml_json::resolve_discriminators(&mut spec);
    let mut request =
        spec["paths"]["/v2/chat"]["post"]["requestBody"]["content"]["application/json"]["schema"]
            .clone();
    // The spec does not forbid unknown fields; this check does, so nothing undocumented is sent.
    request["additionalProperties"] = json!(false);
    request["components"] = spec["components"].clone();
    jsonschema::draft202012::new(&request).unwrap()
}

fn call(provider: &str, model: &str, sim: &Simulator, p: SimProvider) -> Call {
    llm::call((provider, model))
        .unwrap()
        .base_url(sim.base_url(p))
        .api_key(TEST_KEY)
}

/// Sends a wide range of requests through `base`; every one must succeed.
async fn exercise(base: &Call) {
    let weather = Tool::of::<GetWeather>("get_weather", "Get the weather");
    let history = vec![
        Message::system("You are terse."),
        Message::user("Weather in Paris?"),
        Message::assistant_tool_calls(
            Some("Checking.".into()),
            vec![ToolCall::new(
                "call_1",
                "get_weather",
                r#"{"city":"Paris"}"#,
            )],
        ),
        Message::tool_result(
            &ToolCall::new("call_1", "get_weather", "{}"),
            r#"{"temp_c":21}"#,
            false,
        ),
        Message::assistant("It is 21°C."),
        Message::new(
            Role::User,
            vec![
                Part::text("And this picture?"),
                Part::image_url("https://example.com/cat.png"),
                Part::image_base64("image/png", "iVBORw0KGgo="),
            ],
        ),
    ];
    let template = steadfast::Template::new("SYSTEM: Be {tone}.\nUSER: {q}").unwrap();
    let prompt = template
        .render(&steadfast::Vars::new().with("tone", "kind").with("q", "hi"))
        .unwrap();

    base.send("plain").await.unwrap();
    base.send([Message::system("s"), Message::user("u")])
        .await
        .unwrap();
    base.send(prompt).await.unwrap();
    base.send(history.clone()).await.unwrap();
    base.clone()
        .temperature(0.3)
        .top_p(0.9)
        .max_tokens(64)
        .stop(["\n\n", "END"])
        .seed(7)
        .frequency_penalty(0.5)
        .presence_penalty(0.5)
        .send("params")
        .await
        .unwrap();
    for choice in [
        ToolChoice::Auto,
        ToolChoice::None,
        ToolChoice::Required,
        ToolChoice::Tool("get_weather".into()),
    ] {
        base.clone()
            .tool(weather.clone())
            .tool_choice(choice)
            .send("weather")
            .await
            .unwrap();
    }
    base.clone()
        .tool(weather.clone().strict(true))
        .send("strict")
        .await
        .unwrap();
    let _ = base.extract::<Book>("a book").await.unwrap();
    let _ = base
        .clone()
        .output_mode(OutputMode::Tool)
        .extract::<Book>("a book")
        .await
        .unwrap();
    base.clone()
        .tool(weather.clone())
        .stream(history)
        .collect()
        .await
        .unwrap();
    base.stream("stream").collect().await.unwrap();
}

fn check_journal(sim: &Simulator, validator: &jsonschema::Validator) {
    let journal = sim.journal();
    assert!(journal.len() >= 14, "{} requests", journal.len());
    for entry in journal {
        assert_eq!(entry.status, 200, "request {} was refused", entry.seq);
        let body: Value = entry.json().expect("JSON body");
        let errors: Vec<String> = validator
            .iter_errors(&body)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "request {} does not match the spec: {errors:#?}\n{body:#}",
            entry.seq
        );
    }
}

#[tokio::test]
async fn every_mistral_request_validates_against_the_official_spec() {
    let sim = sim(Scenario::new()).await;
    let base = call(
        "mistral",
        "mistral-small-latest",
        &sim,
        SimProvider::Mistral,
    );
    exercise(&base).await;
    check_journal(&sim, &mistral_validator());
}

#[tokio::test]
async fn every_cohere_request_validates_against_the_official_spec() {
    let sim = sim(Scenario::new()).await;
    let base = call("cohere", "command-a-03-2025", &sim, SimProvider::Cohere);
    exercise(&base).await;
    check_journal(&sim, &cohere_validator());
}

#[test]
fn the_validators_reject_what_the_providers_reject() {
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
