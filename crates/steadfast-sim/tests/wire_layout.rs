//! Byte layout of streams per provider (SSE framing, event order, terminators) and the
//! eventstream frames, decoded by an independent decoder validated against the smithy-rs
//! test vectors.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use common::{decode_frames, post, send, sse};
use serde_json::{Value, json};
use steadfast_sim::{Dialect, Scenario, Simulator};

fn vectors() -> std::path::PathBuf {
    steadfast_fixtures::location().join("bedrock/eventstream_test_data")
}

#[test]
fn the_test_decoder_agrees_with_the_smithy_vectors() {
    let Some(_fixtures) = steadfast_fixtures::require() else {
        return;
    };
    for name in [
        "valid_no_headers",
        "valid_empty_payload",
        "valid_with_all_headers_and_payload",
    ] {
        let bytes = std::fs::read(vectors().join(name)).unwrap();
        let frames = decode_frames(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(frames.len(), 1, "{name}");
    }
    for name in [
        "invalid_prelude_checksum",
        "invalid_message_checksum",
        "invalid_header_name_length",
        "invalid_header_name_length_too_long",
        "invalid_header_string_length_cut_off",
        "invalid_header_string_value_length",
        "invalid_header_value_type",
        "invalid_headers_length",
    ] {
        let bytes = std::fs::read(vectors().join(name)).unwrap();
        assert!(decode_frames(&bytes).is_err(), "{name} should be rejected");
    }
}

#[tokio::test]
async fn openai_stream_layout() {
    let sim = Simulator::start(Scenario::new()).await.unwrap();
    let base = sim.base_url(Dialect::OpenAi);
    let body = json!({"model": "gpt-4o-mini", "stream": true, "stream_options": {"include_usage": true},
        "messages": [{"role": "user", "content": "a b"}]});
    let r = post(
        &format!("{base}/chat/completions"),
        &[("authorization", "Bearer k")],
        &body,
    )
    .await;
    let text = r.text();
    assert!(text.starts_with("data: {"));
    assert!(text.ends_with("\n\ndata: [DONE]\n\n"), "{text}");
    assert!(!text.contains("event:"));
    let ev = sse(&text);
    let chunks: Vec<Value> = ev[..ev.len() - 1]
        .iter()
        .map(|(_, d)| serde_json::from_str(d).unwrap())
        .collect();
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let finish = &chunks[chunks.len() - 2];
    assert_eq!(
        (
            finish["choices"][0]["finish_reason"].as_str(),
            finish["choices"][0]["delta"].as_object().unwrap().len()
        ),
        (Some("stop"), 0)
    );
    let usage = chunks.last().unwrap();
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(usage["usage"]["total_tokens"], 5);
    assert!(
        chunks[..chunks.len() - 1]
            .iter()
            .all(|c| c["usage"].is_null() && c["object"] == "chat.completion.chunk")
    );
    let id = &chunks[0]["id"];
    assert!(chunks.iter().all(|c| &c["id"] == id));
}

#[tokio::test]
async fn openai_tool_call_deltas_are_keyed_by_index_with_fragmented_arguments() {
    let sim = Simulator::start(
        Scenario::new().rule(
            steadfast_sim::Rule::new().action(
                steadfast_sim::Action::tool_call(
                    "get_weather",
                    r#"{"city": "Paris", "unit": "celsius"}"#,
                )
                .and_tool_call("get_time", r#"{"tz": "Europe/Paris"}"#),
            ),
        ),
    )
    .await
    .unwrap();
    let r = send(&sim, Dialect::OpenAi, "gpt-4o-mini", "weather?", true).await;
    let mut args = [String::new(), String::new()];
    let mut heads = 0;
    for (_, d) in sse(&r.text()) {
        if d == "[DONE]" {
            continue;
        }
        let v: Value = serde_json::from_str(&d).unwrap();
        for tc in v["choices"][0]["delta"]["tool_calls"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let i = tc["index"].as_u64().unwrap() as usize;
            if tc.get("id").is_some() {
                heads += 1;
                assert_eq!(tc["type"], "function");
            }
            args[i].push_str(tc["function"]["arguments"].as_str().unwrap());
        }
        if let Some(f) = v["choices"][0]["finish_reason"].as_str() {
            assert_eq!(f, "tool_calls");
        }
    }
    assert_eq!(heads, 2);
    assert_eq!(
        args,
        [
            r#"{"city": "Paris", "unit": "celsius"}"#,
            r#"{"tz": "Europe/Paris"}"#
        ]
    );
}

#[tokio::test]
async fn azure_and_groq_and_mistral_stream_quirks() {
    let sim = Simulator::start(Scenario::new()).await.unwrap();
    let ev = sse(&send(&sim, Dialect::AzureOpenAi, "dep", "hi", true)
        .await
        .text());
    let first: Value = serde_json::from_str(&ev[0].1).unwrap();
    assert_eq!(
        (first["choices"].clone(), first["id"].as_str()),
        (json!([]), Some(""))
    );
    assert!(first["prompt_filter_results"].is_array());
    let ev = sse(&send(&sim, Dialect::Groq, "llama", "hi", true).await.text());
    let last: Value = serde_json::from_str(&ev[ev.len() - 2].1).unwrap();
    assert!(last["x_groq"]["usage"]["total_tokens"].is_u64());
    let ev = sse(
        &send(&sim, Dialect::Mistral, "mistral-large-latest", "hi", true)
            .await
            .text(),
    );
    let last: Value = serde_json::from_str(&ev[ev.len() - 2].1).unwrap();
    assert_eq!(last["choices"][0]["finish_reason"], "stop");
    assert!(
        last["usage"]["total_tokens"].is_u64(),
        "mistral puts usage on the finish chunk"
    );
    assert_eq!(ev.last().unwrap().1, "[DONE]");
}

#[tokio::test]
async fn anthropic_event_order() {
    let sim = Simulator::start(
        Scenario::new().rule(steadfast_sim::Rule::new().requests([2]).action(
            steadfast_sim::Action::tool_call("get_weather", r#"{"location": "Paris"}"#),
        )),
    )
    .await
    .unwrap();
    let text = send(
        &sim,
        Dialect::Anthropic,
        "claude-3-5-sonnet-latest",
        "a b",
        true,
    )
    .await
    .text();
    assert!(text.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
    let names: Vec<String> = sse(&text)
        .into_iter()
        .map(|(e, d)| {
            let v: Value = serde_json::from_str(&d).unwrap();
            assert_eq!(
                v["type"].as_str(),
                e.as_deref(),
                "data.type equals the event name"
            );
            e.unwrap()
        })
        .collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );

    let ev = sse(&send(
        &sim,
        Dialect::Anthropic,
        "claude-3-5-sonnet-latest",
        "weather",
        true,
    )
    .await
    .text());
    let mut json = String::new();
    for (e, d) in &ev {
        let v: Value = serde_json::from_str(d).unwrap();
        if e.as_deref() == Some("content_block_start") {
            assert_eq!(
                (
                    v["content_block"]["type"].as_str(),
                    v["content_block"]["input"].clone()
                ),
                (Some("tool_use"), json!({}))
            );
        }
        if v["delta"]["type"] == "input_json_delta" {
            json.push_str(v["delta"]["partial_json"].as_str().unwrap());
        }
        if e.as_deref() == Some("message_delta") {
            assert_eq!(v["delta"]["stop_reason"], "tool_use");
        }
    }
    assert_eq!(json, r#"{"location": "Paris"}"#);
}

#[tokio::test]
async fn gemini_sse_uses_crlf_and_no_terminator() {
    let sim = Simulator::start(Scenario::new()).await.unwrap();
    let text = send(&sim, Dialect::Gemini, "gemini-2.0-flash", "a b", true)
        .await
        .text();
    assert!(text.ends_with("\r\n\r\n"));
    assert_eq!(text.matches("data: ").count(), 3);
    let last: Value = serde_json::from_str(&sse(&text).last().unwrap().1).unwrap();
    assert_eq!(last["candidates"][0]["finishReason"], "STOP");
    assert_eq!(last["usageMetadata"]["totalTokenCount"], 5);
    // Without alt=sse the stream is one JSON array.
    let base = sim.base_url(Dialect::Gemini);
    let r = post(
        &format!("{base}/v1beta/models/gemini-2.0-flash:streamGenerateContent"),
        &[("x-goog-api-key", "k")],
        &json!({"contents": [{"parts": [{"text": "a b"}]}]}),
    )
    .await;
    let arr: Value = r.json();
    assert_eq!(arr.as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn cohere_event_order() {
    let sim = Simulator::start(Scenario::new()).await.unwrap();
    let names: Vec<String> = sse(&send(&sim, Dialect::Cohere, "command-a-03-2025", "a", true)
        .await
        .text())
    .into_iter()
    .map(|(e, _)| e.unwrap())
    .collect();
    assert_eq!(
        names,
        [
            "message-start",
            "content-start",
            "content-delta",
            "content-delta",
            "content-end",
            "message-end"
        ]
    );
}

#[tokio::test]
async fn bedrock_frames_decode_with_correct_crcs() {
    let sim = Simulator::start(
        Scenario::new().rule(steadfast_sim::Rule::new().requests([2]).action(
            steadfast_sim::Action::tool_call("get_weather", r#"{"city": "Paris"}"#),
        )),
    )
    .await
    .unwrap();
    let r = send(&sim, Dialect::Bedrock, "amazon.nova-lite-v1:0", "a b", true).await;
    let frames = decode_frames(&r.body).unwrap();
    let types: Vec<&str> = frames
        .iter()
        .map(|f| f.header(":event-type").unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "messageStart",
            "contentBlockDelta",
            "contentBlockDelta",
            "contentBlockDelta",
            "contentBlockStop",
            "messageStop",
            "metadata"
        ]
    );
    for f in &frames {
        assert_eq!(
            (f.header(":message-type"), f.header(":content-type")),
            (Some("event"), Some("application/json"))
        );
        let v: Value = serde_json::from_slice(&f.payload).unwrap();
        assert!(v["p"].is_string(), "payload padding like the real service");
    }
    let meta: Value = serde_json::from_slice(&frames[6].payload).unwrap();
    assert_eq!(meta["usage"]["totalTokens"], 5);

    let r = send(
        &sim,
        Dialect::Bedrock,
        "amazon.nova-lite-v1:0",
        "weather",
        true,
    )
    .await;
    let frames = decode_frames(&r.body).unwrap();
    let start: Value = serde_json::from_slice(&frames[1].payload).unwrap();
    assert_eq!(start["start"]["toolUse"]["name"], "get_weather");
    let input: String = frames
        .iter()
        .filter_map(|f| serde_json::from_slice::<Value>(&f.payload).ok())
        .filter_map(|v| v["delta"]["toolUse"]["input"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(input, r#"{"city": "Paris"}"#);
}
