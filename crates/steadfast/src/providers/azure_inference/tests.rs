//! URLs, headers, bodies, parsing and streams for Azure AI Inference.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use serde_json::{Value, json};
use std::sync::Arc;

use super::stream::AzureInferenceSse;
use super::{AzureInferenceWire, chat_url};
use crate::call::Call;
use crate::error::ErrorKind;
use crate::provider::ProviderEvent;
use crate::providers::common::testing::decode_sse;
use crate::response::{FinishReason, Usage};
use crate::transport::{HttpRequest, ResponseMeta, Wire};

fn call() -> Call {
    crate::llm::call(("azure-inference", "mistral-large-2411"))
        .unwrap()
        .api_key("az-test")
        .api_version("2024-05-01-preview")
        .base_url("https://res.services.ai.azure.com")
}

fn json_body(http: &HttpRequest) -> Value {
    serde_json::from_slice(&http.body).unwrap()
}

#[test]
fn urls_follow_the_endpoint_kind() {
    let v = "2024-05-01-preview";
    assert_eq!(
        chat_url("https://res.services.ai.azure.com", v),
        "https://res.services.ai.azure.com/models/chat/completions?api-version=2024-05-01-preview"
    );
    assert_eq!(
        chat_url("https://res.services.ai.azure.com/models/", v),
        "https://res.services.ai.azure.com/models/chat/completions?api-version=2024-05-01-preview"
    );
    assert_eq!(
        chat_url("https://my-llama.eastus2.models.ai.azure.com", v),
        "https://my-llama.eastus2.models.ai.azure.com/chat/completions?api-version=2024-05-01-preview"
    );
    assert_eq!(
        chat_url("https://models.inference.ai.azure.com", "2025-04-01"),
        "https://models.inference.ai.azure.com/chat/completions?api-version=2025-04-01"
    );
}

#[test]
fn key_version_and_body() {
    let http = AzureInferenceWire
        .build(&call().max_tokens(10).seed(3).request("hi"), false)
        .unwrap();
    assert!(
        http.url
            .ends_with("/models/chat/completions?api-version=2024-05-01-preview")
    );
    assert_eq!(http.headers["api-key"], "az-test");
    assert!(http.headers["api-key"].is_sensitive());
    assert!(http.headers.get("authorization").is_none());
    assert!(http.headers.get("extra-parameters").is_none());
    let b = json_body(&http);
    assert_eq!(
        b,
        json!({"model":"mistral-large-2411","messages":[{"role":"user","content":"hi"}],"max_tokens":10,"seed":3})
    );
    let mut no_key = call().request("hi");
    Arc::make_mut(&mut no_key.client).api_key = None;
    let e = AzureInferenceWire.build(&no_key, false).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.message().contains("AZURE_INFERENCE_CREDENTIAL"));
    let mut token = call().header("authorization", "Bearer entra").request("hi");
    Arc::make_mut(&mut token.client).api_key = None;
    assert!(AzureInferenceWire.build(&token, false).is_ok());
}

#[test]
fn extra_fields_and_streamed_usage_pass_through() {
    let http = AzureInferenceWire
        .build(
            &call().extra_body("safe_prompt", json!(true)).request("hi"),
            false,
        )
        .unwrap();
    assert_eq!(http.headers["extra-parameters"], "pass-through");
    assert_eq!(json_body(&http)["safe_prompt"], true);

    let http = AzureInferenceWire
        .build(&call().request("hi"), true)
        .unwrap();
    assert_eq!(http.headers["extra-parameters"], "pass-through");
    assert_eq!(http.headers["accept"], "text/event-stream");
    let b = json_body(&http);
    assert_eq!(b["stream"], true);
    assert_eq!(b["stream_options"], json!({"include_usage": true}));

    // A caller that sets `extra-parameters` itself gets no `stream_options`.
    let strict = call().header("extra-parameters", "error").request("hi");
    let http = AzureInferenceWire.build(&strict, true).unwrap();
    assert!(json_body(&http).get("stream_options").is_none());
    assert!(http.headers.get("extra-parameters").is_none());
}

#[test]
fn responses_are_read_as_openai_completions() {
    let req = call().request("hi");
    let meta = ResponseMeta {
        status: 200,
        headers: http::HeaderMap::new(),
    };
    let body = json!({"id":"cmpl-1","object":"chat.completion","created":1,"model":"mistral-large-2411",
        "choices":[{"index":0,"message":{"role":"assistant","content":"Hello","reasoning_content":null,"tool_calls":null},"finish_reason":"stop"}],
        "usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}});
    let r = AzureInferenceWire
        .parse(&req, &meta, body.to_string().as_bytes())
        .unwrap();
    assert_eq!(r.provider(), "azure-inference");
    assert_eq!(r.text(), "Hello");
    assert_eq!(r.finish_reason(), FinishReason::Stop);
    assert_eq!(r.usage(), Some(Usage::new(5, 2)));
}

#[test]
fn streams_decode_and_in_band_errors_use_azure_codes() {
    let ok = concat!(
        "data: {\"id\":\"c\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"He\"},\"finish_reason\":null}]}\n\n",
        "data: {\"id\":\"c\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"llo (no error)\"},\"finish_reason\":\"stop\"}]}\n\n",
        "data: {\"id\":\"c\",\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2,\"total_tokens\":3}}\n\n",
        "data: [DONE]\n\n",
    );
    let (events, end) = decode_sse(Box::new(AzureInferenceSse::default()), ok.as_bytes(), 9);
    end.unwrap();
    let text: String = events
        .iter()
        .filter_map(|e| match e {
            ProviderEvent::Text(t) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(text, "Hello (no error)");
    assert!(events.contains(&ProviderEvent::Usage(Usage::new(1, 2))));

    let failing = concat!(
        "data: {\"id\":\"c\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"He\"},\"finish_reason\":null}]}\n\n",
        "data: {\"error\":{\"code\":\"ServiceUnavailable\",\"message\":\"busy\",\"details\":[]}}\n\n",
        "data: [DONE]\n\n",
    );
    let (_, end) = decode_sse(
        Box::new(AzureInferenceSse::default()),
        failing.as_bytes(),
        4096,
    );
    let e = end.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Overloaded);
    assert_eq!(e.code(), Some("ServiceUnavailable"));

    let cut = ok.replace("data: [DONE]\n\n", "");
    let (_, end) = decode_sse(Box::new(AzureInferenceSse::default()), cut.as_bytes(), 4096);
    assert_eq!(end.unwrap_err().kind(), ErrorKind::StreamInterrupted);
}
