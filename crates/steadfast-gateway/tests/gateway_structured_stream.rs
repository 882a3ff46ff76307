//! Streamed structured output: the validated call runs upstream (its retries of output that
//! fails the schema included), and only the validated answer is streamed, in the caller's
//! protocol. Output that failed validation never reaches the client.
#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests: a failure is the test's failure"
)]

mod support;

use serde_json::{Value, json};
use steadfast_gateway::InboundKeys;
use steadfast_sim::{Action, Dialect, Rule, Scenario};
use support::{header, rig};

fn book_schema() -> Value {
    json!({"type": "object", "properties": {"title": {"type": "string"}, "author": {"type": "string"}},
        "required": ["title", "author"], "additionalProperties": false})
}

/// The first answer lacks the required `author`; the second is valid.
fn invalid_then_valid() -> Scenario {
    Scenario::new()
        .rule(
            Rule::new()
                .requests([1])
                .action(Action::structured(json!({"title": "Invalid draft"}))),
        )
        .rule(
            Rule::new()
                .requests([2])
                .action(Action::structured(json!({"title": "T", "author": "A"}))),
        )
}

/// The `data:` payloads of an SSE body, parsed (`[DONE]` as a string).
fn data(body: &str) -> Vec<Value> {
    body.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap_or_else(|_| Value::String(d.to_owned())))
        .collect()
}

fn openai_request(stream: bool) -> Value {
    let mut req = json!({"model": "openai:gpt-4o-mini",
        "messages": [{"role": "user", "content": "a book"}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "book", "schema": book_schema(), "strict": true}}});
    if stream {
        req["stream"] = json!(true);
        req["stream_options"] = json!({"include_usage": true});
    }
    req
}

#[tokio::test]
async fn an_openai_stream_of_structured_output_carries_only_the_validated_answer() {
    let rig = rig(invalid_then_valid(), InboundKeys::any()).await;
    let r = rig.openai(openai_request(true)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-type"), "text/event-stream");
    assert_eq!(
        header(&r, "x-steadfast-attempts"),
        "2",
        "the invalid answer was retried"
    );
    let body = r.text().await.expect("body");
    assert!(!body.contains("Invalid draft"), "{body}");
    let chunks = data(&body);
    assert_eq!(chunks.last(), Some(&json!("[DONE]")), "{body}");
    let content: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    let parsed: Value = serde_json::from_str(&content).expect("the content is JSON");
    assert_eq!(parsed, json!({"title": "T", "author": "A"}));
    let finishes: Vec<&Value> = chunks
        .iter()
        .map(|c| &c["choices"][0]["finish_reason"])
        .filter(|f| !f.is_null())
        .collect();
    assert_eq!(finishes, [&json!("stop")]);
    let usage = &chunks[chunks.len() - 2];
    assert_eq!(usage["choices"], json!([]));
    assert!(
        usage["usage"]["completion_tokens"].as_u64().is_some(),
        "{usage}"
    );
    assert_eq!(rig.sim.requests_for(Dialect::OpenAi), 2);
}

#[tokio::test]
async fn a_structured_stream_that_never_validates_is_the_ordinary_error_response() {
    let always_invalid = || {
        Scenario::new()
            .rule(Rule::new().action(Action::structured(json!({"title": "Invalid draft"}))))
    };
    let plain = rig(always_invalid(), InboundKeys::any()).await;
    let expected = plain.openai(openai_request(false)).await;
    let status = expected.status();
    assert!(
        status.is_client_error() || status.is_server_error(),
        "{status}"
    );

    let rig = rig(always_invalid(), InboundKeys::any()).await;
    let r = rig.openai(openai_request(true)).await;
    assert_eq!(r.status(), status, "as without `stream`");
    assert_eq!(header(&r, "content-type"), "application/json");
    assert_eq!(header(&r, "x-steadfast-attempts"), "3");
    let body: Value = serde_json::from_str(&r.text().await.expect("body")).expect("json");
    assert!(body["error"]["message"].is_string(), "{body}");
    assert!(!body.to_string().contains("Invalid draft"), "{body}");
    assert_eq!(rig.sim.requests_for(Dialect::OpenAi), 3);
}

#[tokio::test]
async fn an_anthropic_stream_of_structured_output_is_the_real_event_sequence() {
    let rig = rig(invalid_then_valid(), InboundKeys::any()).await;
    let r = rig
        .anthropic(
            json!({"model": "openai:gpt-4o-mini", "max_tokens": 256, "stream": true,
            "messages": [{"role": "user", "content": "a book"}],
            "output_config": {"format": {"type": "json_schema", "schema": book_schema()}}}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-type"), "text/event-stream");
    assert_eq!(header(&r, "x-steadfast-attempts"), "2");
    let body = r.text().await.expect("body");
    assert!(!body.contains("Invalid draft"), "{body}");
    let events: Vec<&str> = body
        .lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .collect();
    assert_eq!(
        events,
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    let payloads = data(&body);
    let text = payloads[2]["delta"]["text"].as_str().expect("a text delta");
    let parsed: Value = serde_json::from_str(text).expect("JSON");
    assert_eq!(parsed, json!({"title": "T", "author": "A"}));
    assert_eq!(payloads[4]["delta"]["stop_reason"], "end_turn");
}
