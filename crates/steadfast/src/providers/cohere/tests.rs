//! Request bodies, response parsing and stream decoding for Cohere, including every example
//! response (streamed and not) of `POST /v2/chat` in the official spec's `x-fern-examples`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};

#[path = "../../../tests/support/yaml_json.rs"]
mod yaml_json;

use super::stream::CohereSse;
use super::{CohereWire, convert, request_body};
use crate::call::Call;
use crate::error::ErrorKind;
use crate::message::{Message, ToolCall};
use crate::output::{OutputFormat, OutputMode};
use crate::provider::{ChatRequest, ProviderEvent};
use crate::providers::common::testing::decode_sse;
use crate::response::{FinishReason, Usage};
use crate::tool::{Tool, ToolChoice};
use crate::transport::Wire;

fn call() -> Call {
    crate::llm::call(("cohere", "command-a-03-2025"))
        .unwrap()
        .api_key("co-test")
        .base_url("http://127.0.0.1:9")
}

fn tool(name: &str) -> Tool {
    Tool::from_schema(
        name,
        "A tool",
        json!({"type":"object","properties":{"day":{"type":"string"}},"required":["day"]}),
    )
    .unwrap()
}

fn body(req: &ChatRequest, stream: bool) -> Value {
    serde_json::to_value(request_body(req, stream).unwrap()).unwrap()
}

#[test]
fn params_use_cohere_names() {
    let req = call()
        .temperature(0.3)
        .top_p(0.75)
        .max_tokens(512)
        .stop(["###"])
        .seed(7)
        .frequency_penalty(0.1)
        .presence_penalty(0.2)
        .extra_body("k", json!(40))
        .request("hi");
    let b = body(&req, false);
    assert_eq!(
        b,
        json!({"model":"command-a-03-2025","messages":[{"role":"user","content":"hi"}],
            "temperature":0.3,"p":0.75,"max_tokens":512,"stop_sequences":["###"],"seed":7,
            "frequency_penalty":0.1,"presence_penalty":0.2,"k":40,"stream":false})
    );
}

#[test]
fn history_maps_to_cohere_messages() {
    let call1 = ToolCall::new(
        "query_1",
        "query_daily_sales_report",
        r#"{"day":"2023-09-29"}"#,
    );
    let req = call().request(vec![
        Message::system("You are terse."),
        Message::user("Sales?"),
        Message::assistant_tool_calls(Some("I will query.".into()), vec![call1.clone()]),
        Message::tool_result(&call1, r#"{"total":42}"#, false),
        Message::assistant("42."),
    ]);
    assert_eq!(
        body(&req, true)["messages"],
        json!([
            {"role":"system","content":"You are terse."},
            {"role":"user","content":"Sales?"},
            {"role":"assistant","tool_plan":"I will query.","tool_calls":[{"id":"query_1","type":"function",
                "function":{"name":"query_daily_sales_report","arguments":"{\"day\":\"2023-09-29\"}"}}]},
            {"role":"tool","tool_call_id":"query_1","content":"{\"total\":42}"},
            {"role":"assistant","content":"42."}
        ])
    );
}

#[test]
fn tool_choices() {
    let base = call().tool(tool("a")).tool(tool("b").strict(true));
    let b = body(&base.request("hi"), false);
    assert_eq!(b["tools"].as_array().unwrap().len(), 2);
    assert!(b.get("tool_choice").is_none());
    assert_eq!(b["strict_tools"], true);
    let b = body(
        &base.clone().tool_choice(ToolChoice::Required).request("hi"),
        false,
    );
    assert_eq!(b["tool_choice"], "REQUIRED");
    let b = body(
        &base.clone().tool_choice(ToolChoice::None).request("hi"),
        false,
    );
    assert_eq!(b["tool_choice"], "NONE");
    // A named tool cannot be forced natively: only that tool is sent, and it is required.
    let b = body(
        &base.tool_choice(ToolChoice::Tool("a".into())).request("hi"),
        false,
    );
    assert_eq!(b["tool_choice"], "REQUIRED");
    assert_eq!(b["tools"].as_array().unwrap().len(), 1);
    assert_eq!(b["tools"][0]["function"]["name"], "a");
    assert!(
        b.get("strict_tools").is_none(),
        "the strict tool was not sent"
    );
}

#[test]
fn structured_output() {
    let schema = json!({"type":"object","properties":{"title":{"type":"string"}}});
    let mut req = call().request("a book");
    let mut f = OutputFormat::new("Book", schema.clone());
    req.output = Some(f.clone());
    assert_eq!(
        body(&req, false)["response_format"],
        json!({"type":"json_object","json_schema":schema})
    );
    f.mode = OutputMode::Tool;
    f.strict = true;
    req.output = Some(f);
    let b = body(&req, false);
    assert!(b.get("response_format").is_none());
    assert_eq!(b["tools"][0]["function"]["name"], "Book");
    assert_eq!(b["tool_choice"], "REQUIRED");
    assert_eq!(b["strict_tools"], true);
}

#[test]
fn the_request_goes_to_v2_chat_with_a_bearer_key() {
    let http = CohereWire.build(&call().request("hi"), true).unwrap();
    assert_eq!(http.url, "http://127.0.0.1:9/v2/chat");
    assert_eq!(http.headers["authorization"], "Bearer co-test");
    assert!(http.headers["authorization"].is_sensitive());
    assert_eq!(http.headers["accept"], "text/event-stream");
    let mut req = call().request("hi");
    Arc::make_mut(&mut req.client).api_key = None;
    let e = CohereWire.build(&req, false).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.message().contains("CO_API_KEY"));
}

#[test]
fn finish_reasons_and_failures() {
    let req = call().request("hi");
    let parse = |reason: &str| {
        let b = json!({"id":"x","message":{"role":"assistant","content":[{"type":"text","text":"a"}]},"finish_reason":reason});
        convert::parse_response(&req, b.to_string().as_bytes())
    };
    assert_eq!(
        parse("COMPLETE").unwrap().finish_reason(),
        FinishReason::Stop
    );
    assert_eq!(
        parse("STOP_SEQUENCE").unwrap().finish_reason(),
        FinishReason::StopSequence
    );
    assert_eq!(
        parse("MAX_TOKENS").unwrap().finish_reason(),
        FinishReason::Length
    );
    assert_eq!(
        parse("TOOL_CALL").unwrap().finish_reason(),
        FinishReason::ToolCalls
    );
    assert_eq!(parse("ERROR").unwrap_err().kind(), ErrorKind::Server);
    assert_eq!(parse("TIMEOUT").unwrap_err().kind(), ErrorKind::Timeout);
    assert_eq!(
        parse("SOMETHING_NEW").unwrap().finish_reason(),
        FinishReason::other("SOMETHING_NEW")
    );
    assert_eq!(
        convert::parse_response(&req, b"[]").unwrap_err().kind(),
        ErrorKind::Decode
    );
}

#[test]
fn in_band_errors_end_the_stream_with_their_kind() {
    let sse = concat!(
        "event: message-start\ndata: {\"type\":\"message-start\",\"id\":\"m1\",\"delta\":{\"message\":{\"role\":\"assistant\"}}}\n\n",
        "event: message-end\ndata: {\"type\":\"message-end\",\"delta\":{\"finish_reason\":\"ERROR\",\"error\":\"service unavailable\",\"usage\":{\"billed_units\":{\"input_tokens\":0,\"output_tokens\":0},\"tokens\":{\"input_tokens\":0,\"output_tokens\":0}}}}\n\n",
    );
    let (_, end) = decode_sse(Box::new(CohereSse::default()), sse.as_bytes(), 5);
    let e = end.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Overloaded);
    assert_eq!(e.message(), "service unavailable");
    let no_message = sse.replace(",\"error\":\"service unavailable\"", "");
    let (_, end) = decode_sse(Box::new(CohereSse::default()), no_message.as_bytes(), 4096);
    assert_eq!(end.unwrap_err().kind(), ErrorKind::Server);
    // Without message-end the stream is cut.
    let cut = sse.split("event: message-end").next().unwrap();
    let (_, end) = decode_sse(Box::new(CohereSse::default()), cut.as_bytes(), 4096);
    assert_eq!(end.unwrap_err().kind(), ErrorKind::StreamInterrupted);
    let (_, end) = decode_sse(
        Box::new(CohereSse::default()),
        b"event: content-delta\ndata: {\"type\":\"content-del\n\n",
        4096,
    );
    assert_eq!(end.unwrap_err().kind(), ErrorKind::Decode);
}

#[test]
fn done_ends_a_stream_and_calls_without_index_use_the_last_one() {
    let sse = concat!(
        "event: tool-call-start\ndata: {\"type\":\"tool-call-start\",\"delta\":{\"message\":{\"tool_calls\":{\"id\":\"t1\",\"type\":\"function\",\"function\":{\"name\":\"a\",\"arguments\":\"\"}}}}}\n\n",
        "event: tool-call-delta\ndata: {\"type\":\"tool-call-delta\",\"delta\":{\"message\":{\"tool_calls\":{\"function\":{\"arguments\":\"{}\"}}}}}\n\n",
        "event: tool-call-end\ndata: {\"type\":\"tool-call-end\"}\n\n",
        "event: debug\ndata: {\"type\":\"debug\",\"prompt\":\"x\"}\n\n",
        "data: [DONE]\n\n",
    );
    let (events, end) = decode_sse(Box::new(CohereSse::default()), sse.as_bytes(), 3);
    end.unwrap();
    assert_eq!(
        events,
        vec![
            ProviderEvent::ToolCallStart {
                index: 0,
                id: "t1".into(),
                name: "a".into()
            },
            ProviderEvent::ToolCallDelta {
                index: 0,
                arguments: "{}".into()
            },
            ProviderEvent::ToolCallEnd { index: 0 },
        ]
    );
}

// ---- the spec's examples ----

fn spec_examples() -> Vec<Value> {
    let path = steadfast_fixtures::location().join("cohere/cohere-openapi.yaml");
    let spec = yaml_json::load(&path.to_string_lossy());
    spec["paths"]["/v2/chat"]["post"]["x-fern-examples"]
        .as_array()
        .unwrap()
        .clone()
}

/// What a naive reading of an example response finds.
#[derive(Debug, Default, PartialEq)]
struct Expected {
    text: String,
    calls: BTreeMap<usize, (String, String, String)>,
    finish: Option<FinishReason>,
    usage: Option<Usage>,
}

fn tokens(usage: &Value) -> Option<Usage> {
    let t = &usage["tokens"];
    Some(Usage::new(
        t["input_tokens"].as_f64()? as u64,
        t["output_tokens"].as_f64()? as u64,
    ))
}

fn finish(raw: &str) -> FinishReason {
    match raw {
        "COMPLETE" => FinishReason::Stop,
        "TOOL_CALL" => FinishReason::ToolCalls,
        "MAX_TOKENS" => FinishReason::Length,
        other => panic!("unexpected finish reason {other} in the examples"),
    }
}

fn naive_stream(events: &[Value]) -> Expected {
    let mut e = Expected::default();
    for ev in events {
        let d = &ev["data"];
        let i = d["index"].as_u64().unwrap_or(0) as usize;
        let m = &d["delta"]["message"];
        match ev["event"].as_str().unwrap() {
            "content-start" | "content-delta" => {
                e.text.push_str(m["content"]["text"].as_str().unwrap_or(""))
            }
            "tool-plan-delta" => e.text.push_str(m["tool_plan"].as_str().unwrap()),
            "tool-call-start" => {
                let c = &m["tool_calls"];
                e.calls.insert(
                    i,
                    (
                        c["id"].as_str().unwrap().into(),
                        c["function"]["name"].as_str().unwrap().into(),
                        c["function"]["arguments"].as_str().unwrap_or("").into(),
                    ),
                );
            }
            "tool-call-delta" => e
                .calls
                .get_mut(&i)
                .unwrap()
                .2
                .push_str(m["tool_calls"]["function"]["arguments"].as_str().unwrap()),
            "message-end" => {
                e.finish = Some(finish(d["delta"]["finish_reason"].as_str().unwrap()));
                e.usage = tokens(&d["delta"]["usage"]);
            }
            _ => {}
        }
    }
    e
}

fn decoded(events: &[ProviderEvent]) -> Expected {
    let mut e = Expected::default();
    let mut ended = Vec::new();
    for ev in events {
        match ev {
            ProviderEvent::Text(t) => e.text.push_str(t),
            ProviderEvent::ToolCallStart { index, id, name } => {
                e.calls
                    .insert(*index, (id.clone(), name.clone(), String::new()));
            }
            ProviderEvent::ToolCallDelta { index, arguments } => {
                e.calls.get_mut(index).unwrap().2.push_str(arguments)
            }
            ProviderEvent::ToolCallEnd { index } => ended.push(*index),
            ProviderEvent::Finish { reason, .. } => e.finish = Some(reason.clone()),
            ProviderEvent::Usage(u) => e.usage = Some(*u),
            _ => {}
        }
    }
    ended.sort_unstable();
    assert_eq!(
        ended,
        e.calls.keys().copied().collect::<Vec<_>>(),
        "every call ends"
    );
    e
}

#[test]
fn every_streamed_example_of_the_spec_decodes() {
    let Some(_fixtures) = steadfast_fixtures::require() else {
        return;
    };
    let mut streams = 0;
    for ex in spec_examples() {
        let Some(events) = ex["response"]["stream"].as_array() else {
            continue;
        };
        streams += 1;
        let mut sse = String::new();
        for ev in events {
            sse.push_str(&format!(
                "event: {}\ndata: {}\n\n",
                ev["event"].as_str().unwrap(),
                ev["data"]
            ));
        }
        let expected = naive_stream(events);
        assert!(!expected.text.is_empty() || !expected.calls.is_empty());
        for chunk in [1, 17, 1 << 20] {
            let (out, end) = decode_sse(Box::new(CohereSse::default()), sse.as_bytes(), chunk);
            end.unwrap();
            assert!(matches!(
                out.first(),
                Some(ProviderEvent::Metadata { id: Some(_), .. })
            ));
            assert_eq!(decoded(&out), expected, "chunk {chunk}");
        }
    }
    assert_eq!(streams, 4, "the spec holds four streamed examples");
}

#[test]
fn every_unary_example_of_the_spec_parses() {
    let Some(_fixtures) = steadfast_fixtures::require() else {
        return;
    };
    let req = call().request("hi");
    let mut bodies = 0;
    for ex in spec_examples() {
        let Some(b) = ex["response"].get("body") else {
            continue;
        };
        bodies += 1;
        let r = convert::parse_response(&req, b.to_string().as_bytes()).unwrap();
        let m = &b["message"];
        let mut text = m["tool_plan"].as_str().unwrap_or("").to_string();
        for c in m["content"].as_array().into_iter().flatten() {
            if c["type"] == "text" {
                text.push_str(c["text"].as_str().unwrap());
            }
        }
        assert_eq!(r.text(), text);
        assert_eq!(
            r.finish_reason(),
            finish(b["finish_reason"].as_str().unwrap())
        );
        assert_eq!(r.usage(), tokens(&b["usage"]));
        assert_eq!(r.id(), b["id"].as_str());
        let calls: Vec<(String, String, String)> = m["tool_calls"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                (
                    c["id"].as_str().unwrap().into(),
                    c["function"]["name"].as_str().unwrap().into(),
                    c["function"]["arguments"].as_str().unwrap().into(),
                )
            })
            .collect();
        let got: Vec<(String, String, String)> = r
            .tool_calls()
            .iter()
            .map(|c| (c.id.clone(), c.name.clone(), c.arguments.clone()))
            .collect();
        assert_eq!(got, calls);
    }
    assert_eq!(bodies, 4, "the spec holds four unary examples");
}
