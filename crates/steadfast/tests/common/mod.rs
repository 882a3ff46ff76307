//! Shared helpers for the simulator-backed integration tests.

#![allow(dead_code, reason = "each test binary uses a different subset")]

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;
use steadfast::{Call, Message, OutputMode, Part, Role, Tool, ToolCall, ToolChoice, llm};
use steadfast_sim::{Dialect, Scenario, Simulator};

/// A provider as the conformance suite sees it: Steadfast's name, a model, and the simulator
/// protocol that serves it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target {
    pub(crate) name: &'static str,
    pub(crate) model: &'static str,
    pub(crate) sim: Dialect,
}

/// Every provider the conformance suite runs against.
pub(crate) const TARGETS: &[Target] = &[
    Target {
        name: "openai",
        model: "gpt-4o-mini",
        sim: Dialect::OpenAi,
    },
    Target {
        name: "anthropic",
        model: "claude-3-5-sonnet-latest",
        sim: Dialect::Anthropic,
    },
    Target {
        name: "groq",
        model: "llama-3.3-70b-versatile",
        sim: Dialect::Groq,
    },
    Target {
        name: "xai",
        model: "grok-3-mini",
        sim: Dialect::Xai,
    },
    Target {
        name: "litellm",
        model: "gpt-4o-mini",
        sim: Dialect::LiteLlm,
    },
    Target {
        name: "azure",
        model: "my-gpt-4o-deployment",
        sim: Dialect::AzureOpenAi,
    },
    Target {
        name: "cohere",
        model: "command-a-03-2025",
        sim: Dialect::Cohere,
    },
    Target {
        name: "azure-inference",
        model: "mistral-large-2411",
        sim: Dialect::AzureInference,
    },
    Target {
        name: "mistral",
        model: "mistral-small-latest",
        sim: Dialect::Mistral,
    },
    Target {
        name: "gemini",
        model: "gemini-2.0-flash",
        sim: Dialect::Gemini,
    },
    Target {
        name: "bedrock",
        model: "anthropic.claude-3-5-sonnet-20240620-v1:0",
        sim: Dialect::Bedrock,
    },
];

/// Providers whose non-streaming responses carry no documented request-id header.
pub(crate) const NO_REQUEST_ID: &[&str] = &["mistral"];

pub(crate) const TEST_KEY: &str = "sk-test-0123456789abcdef";

pub(crate) async fn sim(scenario: Scenario) -> Simulator {
    Simulator::start(scenario).await.expect("simulator starts")
}

/// A call for `t` pointed at `sim`.
pub(crate) fn call(t: &Target, sim: &Simulator) -> Call {
    llm::call((t.name, t.model))
        .unwrap()
        .base_url(sim.base_url(t.sim))
        .api_key(TEST_KEY)
}

#[derive(Debug, Deserialize, JsonSchema)]
#[allow(dead_code, reason = "only the schema is used")]
pub(crate) struct Book {
    pub(crate) title: String,
    pub(crate) author: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[allow(dead_code, reason = "only the schema is used")]
pub(crate) struct GetWeather {
    pub(crate) city: String,
    pub(crate) unit: Option<String>,
}

/// Sends a wide range of requests through `base`; every one must succeed.
pub(crate) async fn exercise(base: &Call) {
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
        .into_response()
        .await
        .unwrap();
    base.stream("stream").into_response().await.unwrap();
}

pub(crate) fn check_journal(sim: &Simulator, validator: &jsonschema::Validator) {
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
