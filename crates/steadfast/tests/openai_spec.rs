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

use common::{TARGETS, call, sim};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use steadfast::{Message, OutputMode, Part, Role, Tool, ToolCall, ToolChoice};
use steadfast_sim::Scenario;

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

fn spec_validator() -> jsonschema::Validator {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/openai/openapi.json"
    );
    let spec: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let schema = json!({
        "$ref": "#/components/schemas/CreateChatCompletionRequest",
        "components": spec["components"],
    });
    jsonschema::draft202012::new(&schema).unwrap()
}

#[tokio::test]
async fn every_request_body_validates_against_the_official_spec() {
    let openai = TARGETS.iter().find(|t| t.name == "openai").unwrap();
    let sim = sim(Scenario::new()).await;
    let base = call(openai, &sim);
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
        .presence_penalty(-0.5)
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

    let validator = spec_validator();
    let journal = sim.journal();
    assert!(journal.len() >= 14, "{} requests", journal.len());
    for entry in journal {
        let body = entry.json().expect("JSON body");
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

#[test]
fn the_spec_validator_rejects_bad_bodies() {
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
