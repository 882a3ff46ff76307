//! Request bodies, response parsing and stream decoding for Mistral.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use serde_json::{Value, json};
use std::sync::Arc;

use super::stream::MistralSse;
use super::{MistralWire, convert, request_body};
use crate::call::Call;
use crate::error::ErrorKind;
use crate::output::{OutputFormat, OutputMode};
use crate::provider::{ChatRequest, ProviderEvent};
use crate::providers::common::testing::decode_sse;
use crate::response::{FinishReason, Usage};
use crate::tool::{Tool, ToolChoice};
use crate::transport::Wire;

fn call() -> Call {
    crate::llm::call(("mistral", "mistral-small-latest"))
        .unwrap()
        .api_key("k-test")
        .base_url("http://127.0.0.1:9")
}

fn weather() -> Tool {
    Tool::from_schema(
        "get_weather",
        "Get the weather",
        json!({"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}),
    )
    .unwrap()
}

fn body(req: &ChatRequest, stream: bool) -> Value {
    serde_json::to_value(request_body(req, stream).unwrap()).unwrap()
}

#[test]
fn the_body_uses_mistral_names_and_nothing_it_rejects() {
    let req = call()
        .max_tokens(64)
        .seed(7)
        .temperature(0.2)
        .top_p(0.9)
        .stop(["END"])
        .frequency_penalty(0.1)
        .presence_penalty(0.2)
        .tool(weather())
        .tool_choice(ToolChoice::Required)
        .request("hi");
    let b = body(&req, true);
    assert_eq!(b["random_seed"], 7);
    assert_eq!(b["max_tokens"], 64);
    assert_eq!(b["tool_choice"], "any");
    assert_eq!(b["stream"], true);
    assert_eq!(b["stop"], json!(["END"]));
    for banned in ["seed", "max_completion_tokens", "stream_options", "store"] {
        assert!(b.get(banned).is_none(), "{banned} sent: {b}");
    }
    let named = call()
        .tool(weather())
        .tool_choice(ToolChoice::Tool("get_weather".into()))
        .request("hi");
    assert_eq!(
        body(&named, false)["tool_choice"],
        json!({"type":"function","function":{"name":"get_weather"}})
    );
    assert!(body(&named, false).get("stream").is_none());
    let none = call()
        .tool(weather())
        .tool_choice(ToolChoice::None)
        .request("hi");
    assert_eq!(body(&none, false)["tool_choice"], "none");
}

#[test]
fn structured_output_is_a_json_schema_or_a_forced_tool() {
    let mut req = call().request("a book");
    let schema = json!({"type":"object","properties":{"title":{"type":"string"}}});
    let mut f = OutputFormat::new("Book", schema.clone());
    f.strict = true;
    req.output = Some(f.clone());
    let b = body(&req, false);
    assert_eq!(
        b["response_format"],
        json!({"type":"json_schema","json_schema":{"name":"Book","schema":schema,"strict":true}})
    );
    f.mode = OutputMode::Tool;
    req.output = Some(f);
    let b = body(&req, false);
    assert!(b.get("response_format").is_none());
    assert_eq!(b["tools"][0]["function"]["name"], "Book");
    assert_eq!(
        b["tool_choice"],
        json!({"type":"function","function":{"name":"Book"}})
    );
}

#[test]
fn the_request_goes_to_v1_chat_completions_with_a_bearer_key() {
    let req = call().request("hi");
    let http = MistralWire.build(&req, true).unwrap();
    assert_eq!(http.url, "http://127.0.0.1:9/v1/chat/completions");
    assert_eq!(http.headers["authorization"], "Bearer k-test");
    assert!(http.headers["authorization"].is_sensitive());
    assert_eq!(http.headers["accept"], "text/event-stream");
    let mut no_key = call().request("hi");
    Arc::make_mut(&mut no_key.client).api_key = None;
    let e = MistralWire.build(&no_key, false).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.message().contains("MISTRAL_API_KEY"));
}

#[test]
fn responses_parse_with_object_arguments_and_chunked_content() {
    let req = call().request("hi");
    let body = json!({"id":"cmpl-1","object":"chat.completion","model":"mistral-small-latest","created":1,
        "usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15},
        "choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant",
            "content":[{"type":"thinking","thinking":[{"type":"text","text":"hmm"}]},{"type":"text","text":"Checking."}],
            "tool_calls":[
                {"id":"abc123def","type":"function","function":{"name":"get_weather","arguments":{"city":"Paris"}},"index":0},
                {"id":"xyz987uvw","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Rome\"}"},"index":1}]}}]});
    let r = convert::parse_response(&req, body.to_string().as_bytes()).unwrap();
    assert_eq!(r.text(), "Checking.");
    assert_eq!(r.finish_reason(), FinishReason::ToolCalls);
    assert_eq!(r.usage(), Some(Usage::new(10, 5)));
    assert_eq!(r.tool_calls()[0].id, "abc123def");
    assert_eq!(
        serde_json::from_str::<Value>(&r.tool_calls()[0].arguments).unwrap(),
        json!({"city":"Paris"})
    );
    assert_eq!(r.tool_calls()[1].arguments, "{\"city\": \"Rome\"}");
    assert_eq!(r.provider(), "mistral");
}

#[test]
fn finish_reasons() {
    let req = call().request("hi");
    let parse = |reason: &str| {
        let body = json!({"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"a"},"finish_reason":reason}]});
        convert::parse_response(&req, body.to_string().as_bytes())
    };
    assert_eq!(parse("stop").unwrap().finish_reason(), FinishReason::Stop);
    assert_eq!(
        parse("length").unwrap().finish_reason(),
        FinishReason::Length
    );
    assert_eq!(
        parse("model_length").unwrap().finish_reason(),
        FinishReason::Length
    );
    assert_eq!(
        parse("tool_calls").unwrap().finish_reason(),
        FinishReason::ToolCalls
    );
    let e = parse("error").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Server);
    assert!(e.is_retryable());
    assert!(convert::parse_response(&req, b"{\"choices\":[]}").is_err());
    assert_eq!(
        convert::parse_response(&req, b"not json")
            .unwrap_err()
            .kind(),
        ErrorKind::Decode
    );
}

/// The example stream of protocols.md §5.3 (usage on the finish chunk).
const TEXT_STREAM: &str = concat!(
    "data: {\"id\":\"f798ebd5c41a45d88bb079635121cade\",\"object\":\"chat.completion.chunk\",\"created\":1732548656,\"model\":\"mistral-large-latest\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"f798ebd5c41a45d88bb079635121cade\",\"object\":\"chat.completion.chunk\",\"created\":1732548656,\"model\":\"mistral-large-latest\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"C\"},\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"f798ebd5c41a45d88bb079635121cade\",\"object\":\"chat.completion.chunk\",\"created\":1732548656,\"model\":\"mistral-large-latest\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"izable\"},\"finish_reason\":\"length\"}],\"usage\":{\"prompt_tokens\":34,\"total_tokens\":134,\"completion_tokens\":100}}\n\n",
    "data: [DONE]\n\n",
);

#[test]
fn the_documented_stream_decodes_in_any_chunking() {
    for chunk in [1, 7, 64, 4096] {
        let (events, end) = decode_sse(
            Box::new(MistralSse::default()),
            TEXT_STREAM.as_bytes(),
            chunk,
        );
        end.unwrap();
        assert_eq!(
            events,
            vec![
                ProviderEvent::Metadata {
                    id: Some("f798ebd5c41a45d88bb079635121cade".into()),
                    model: Some("mistral-large-latest".into()),
                    request_id: None,
                    status: None,
                },
                ProviderEvent::Text("C".into()),
                ProviderEvent::Text("izable".into()),
                ProviderEvent::Finish {
                    reason: FinishReason::Length,
                    raw: Some("length".into())
                },
                ProviderEvent::Usage(Usage::new(34, 100)),
            ],
            "chunk {chunk}"
        );
    }
}

#[test]
fn whole_tool_calls_in_one_delta_are_kept_apart_by_index() {
    let stream = concat!(
        "data: {\"id\":\"a\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n",
        "data: {\"id\":\"a\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[",
        "{\"id\":\"abc123def\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\": \\\"Paris\\\"}\"},\"index\":0},",
        "{\"id\":\"ghi456jkl\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Rome\"}},\"index\":1}",
        "]},\"finish_reason\":null}]}\n\n",
        "data: {\"id\":\"a\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\"},\"finish_reason\":\"tool_calls\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4,\"total_tokens\":7}}\n\n",
        "data: [DONE]\n\n",
    );
    let (events, end) = decode_sse(Box::new(MistralSse::default()), stream.as_bytes(), 13);
    end.unwrap();
    let expected = [
        ProviderEvent::ToolCallStart {
            index: 0,
            id: "abc123def".into(),
            name: "get_weather".into(),
        },
        ProviderEvent::ToolCallDelta {
            index: 0,
            arguments: "{\"city\": \"Paris\"}".into(),
        },
        ProviderEvent::ToolCallStart {
            index: 1,
            id: "ghi456jkl".into(),
            name: "get_weather".into(),
        },
        ProviderEvent::ToolCallDelta {
            index: 1,
            arguments: "{\"city\":\"Rome\"}".into(),
        },
        ProviderEvent::ToolCallEnd { index: 0 },
        ProviderEvent::ToolCallEnd { index: 1 },
        ProviderEvent::Finish {
            reason: FinishReason::ToolCalls,
            raw: Some("tool_calls".into()),
        },
        ProviderEvent::Usage(Usage::new(3, 4)),
    ];
    assert_eq!(events[1..], expected[..]);
}

#[test]
fn in_band_errors_and_error_finishes_fail_the_stream() {
    let stream = concat!(
        "data: {\"id\":\"a\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n",
        "data: {\"object\":\"error\",\"message\":\"Rate limit exceeded\",\"type\":\"rate_limited\",\"param\":null,\"code\":\"1300\"}\n\n",
        "data: [DONE]\n\n",
    );
    let (events, end) = decode_sse(Box::new(MistralSse::default()), stream.as_bytes(), 4096);
    assert_eq!(events.last(), Some(&ProviderEvent::Text("Hi".into())));
    assert_eq!(end.unwrap_err().kind(), ErrorKind::RateLimited);

    let stream = "data: {\"id\":\"a\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\"},\"finish_reason\":\"error\"}]}\n\ndata: [DONE]\n\n";
    let (_, end) = decode_sse(Box::new(MistralSse::default()), stream.as_bytes(), 4096);
    assert_eq!(end.unwrap_err().kind(), ErrorKind::Server);
}

#[test]
fn a_stream_without_done_is_interrupted_and_garbage_is_a_decode_error() {
    let cut = TEXT_STREAM.replace("data: [DONE]\n\n", "");
    let (_, end) = decode_sse(Box::new(MistralSse::default()), cut.as_bytes(), 4096);
    assert_eq!(end.unwrap_err().kind(), ErrorKind::StreamInterrupted);
    let (_, end) = decode_sse(
        Box::new(MistralSse::default()),
        b"data: {\"id\":\"x\",\"choices\":[{\"delta\":{\"content\":\"tru\n\n",
        4096,
    );
    assert_eq!(end.unwrap_err().kind(), ErrorKind::Decode);
}
