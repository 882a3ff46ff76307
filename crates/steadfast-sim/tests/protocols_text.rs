//! Every provider answers a text request and a stream in its own wire format with the
//! deterministic echo.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use common::{decode_frames, send, sse};
use serde_json::Value;
use steadfast_sim::{Dialect, Scenario, Simulator};

fn model_for(p: Dialect) -> &'static str {
    match p {
        Dialect::Anthropic => "claude-3-5-sonnet-latest",
        Dialect::Gemini => "gemini-2.0-flash",
        Dialect::Mistral => "mistral-large-latest",
        Dialect::Cohere => "command-a-03-2025",
        Dialect::Bedrock => "anthropic.claude-3-5-sonnet-20240620-v1:0",
        _ => "gpt-4o-mini",
    }
}

fn text_of(p: Dialect, v: &Value) -> String {
    let t = match p {
        Dialect::Anthropic => v["content"][0]["text"].as_str(),
        Dialect::Gemini => v["candidates"][0]["content"]["parts"][0]["text"].as_str(),
        Dialect::Cohere => v["message"]["content"][0]["text"].as_str(),
        Dialect::Bedrock => v["output"]["message"]["content"][0]["text"].as_str(),
        _ => v["choices"][0]["message"]["content"].as_str(),
    };
    t.unwrap_or_else(|| panic!("{p}: no text in {v}"))
        .to_owned()
}

fn stream_text(p: Dialect, body: &[u8]) -> String {
    if p == Dialect::Bedrock {
        return decode_frames(body)
            .unwrap()
            .iter()
            .filter(|f| f.header(":event-type") == Some("contentBlockDelta"))
            .map(|f| {
                serde_json::from_slice::<Value>(&f.payload).unwrap()["delta"]["text"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned()
            })
            .collect();
    }
    let text = String::from_utf8(body.to_vec()).unwrap();
    let mut out = String::new();
    for (_, data) in sse(&text) {
        if data == "[DONE]" {
            continue;
        }
        let v: Value =
            serde_json::from_str(&data).unwrap_or_else(|e| panic!("{p}: bad event {data}: {e}"));
        let piece = match p {
            Dialect::Anthropic => v["delta"]["text"].as_str(),
            Dialect::Gemini => v["candidates"][0]["content"]["parts"][0]["text"].as_str(),
            Dialect::Cohere => v["delta"]["message"]["content"]["text"].as_str(),
            _ => v["choices"][0]["delta"]["content"].as_str(),
        };
        out.push_str(piece.unwrap_or(""));
    }
    out
}

#[tokio::test]
async fn every_provider_echoes_in_its_own_format() {
    let sim = Simulator::start(Scenario::new()).await.unwrap();
    for p in Dialect::ALL {
        let r = send(&sim, p, model_for(p), "hello simulator world", false).await;
        assert_eq!(r.status, 200, "{p}: {}", r.text());
        assert_eq!(text_of(p, &r.json()), "Echo: hello simulator world", "{p}");
        assert!(
            r.header("content-type")
                .unwrap()
                .starts_with("application/json"),
            "{p}"
        );
    }
    assert_eq!(sim.requests_for(Dialect::Gemini), 1);
    assert_eq!(sim.journal().len(), Dialect::ALL.len());
}

#[tokio::test]
async fn every_provider_streams_the_echo_in_several_chunks() {
    let sim = Simulator::start(Scenario::new()).await.unwrap();
    for p in Dialect::ALL {
        let r = send(&sim, p, model_for(p), "one two three four", true).await;
        assert_eq!(r.status, 200, "{p}: {}", r.text());
        let ct = r.header("content-type").unwrap();
        let want = if p == Dialect::Bedrock {
            "application/vnd.amazon.eventstream"
        } else {
            "text/event-stream"
        };
        assert!(ct.starts_with(want), "{p}: {ct}");
        assert_eq!(stream_text(p, &r.body), "Echo: one two three four", "{p}");
    }
}

#[tokio::test]
async fn max_tokens_truncates_with_the_provider_finish_reason() {
    let sim = Simulator::start(Scenario::new()).await.unwrap();
    let base = sim.base_url(Dialect::OpenAi);
    let body = serde_json::json!({"model": "gpt-4o-mini", "max_completion_tokens": 2,
        "messages": [{"role": "user", "content": "alpha beta gamma delta"}]});
    let r = common::post(
        &format!("{base}/chat/completions"),
        &[("authorization", "Bearer k")],
        &body,
    )
    .await;
    let v = r.json();
    assert_eq!(v["choices"][0]["message"]["content"], "Echo: alpha");
    assert_eq!(v["choices"][0]["finish_reason"], "length");
    assert_eq!(v["usage"]["completion_tokens"], 2);
    assert_eq!(v["usage"]["prompt_tokens"], 4);
    assert_eq!(v["usage"]["total_tokens"], 6);

    let base = sim.base_url(Dialect::Anthropic);
    let body = serde_json::json!({"model": "claude-3-5-sonnet-latest", "max_tokens": 3,
        "messages": [{"role": "user", "content": "alpha beta gamma delta"}]});
    let r = common::post(
        &format!("{base}/v1/messages"),
        &[("x-api-key", "k"), ("anthropic-version", "2023-06-01")],
        &body,
    )
    .await;
    let v = r.json();
    assert_eq!(v["content"][0]["text"], "Echo: alpha beta");
    assert_eq!(v["stop_reason"], "max_tokens");
    assert_eq!(v["usage"]["output_tokens"], 3);

    let base = sim.base_url(Dialect::Gemini);
    let body = serde_json::json!({"contents": [{"role": "user", "parts": [{"text": "alpha beta gamma"}]}], "generationConfig": {"maxOutputTokens": 1}});
    let r = common::post(
        &format!("{base}/v1beta/models/gemini-2.0-flash:generateContent"),
        &[("x-goog-api-key", "k")],
        &body,
    )
    .await;
    assert_eq!(r.json()["candidates"][0]["finishReason"], "MAX_TOKENS");
}

#[tokio::test]
async fn unknown_route_is_a_json_404_and_is_journaled() {
    let sim = Simulator::start(Scenario::new()).await.unwrap();
    let r = common::post(
        &format!("{}/nope/v1/chat/completions", sim.url()),
        &[],
        &serde_json::json!({}),
    )
    .await;
    assert_eq!(r.status, 404);
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/openai/v1")
    );
    let j = sim.journal();
    assert_eq!(
        (j[0].provider, j[0].status, j[0].action.as_str()),
        (None, 404, "not_found")
    );
}

#[tokio::test]
async fn canonical_paths_belong_to_the_protocol_owner() {
    let sim = Simulator::start(Scenario::new()).await.unwrap();
    let url = sim.url();
    let msg = serde_json::json!([{"role": "user", "content": "hi"}]);
    let r = common::post(
        &format!("{url}/v1/chat/completions"),
        &[("authorization", "Bearer k")],
        &serde_json::json!({"model": "m", "messages": msg}),
    )
    .await;
    assert_eq!(r.json()["object"], "chat.completion");
    let r = common::post(
        &format!("{url}/v1/messages"),
        &[("x-api-key", "k"), ("anthropic-version", "2023-06-01")],
        &serde_json::json!({"model": "m", "max_tokens": 5, "messages": msg}),
    )
    .await;
    assert_eq!(r.json()["type"], "message");
    let r = common::post(
        &format!("{url}/v1/models/gemini-2.0-flash:generateContent"),
        &[("x-goog-api-key", "k")],
        &serde_json::json!({"contents": [{"parts": [{"text": "hi"}]}]}),
    )
    .await;
    assert_eq!(r.json()["candidates"][0]["content"]["role"], "model");
    let r = common::post(
        &format!("{url}/v2/chat"),
        &[("authorization", "Bearer k")],
        &serde_json::json!({"model": "m", "messages": msg}),
    )
    .await;
    assert_eq!(r.json()["finish_reason"], "COMPLETE");
    let r = common::post(
        &format!("{url}/model/amazon.nova-lite-v1%3A0/converse"),
        &[("authorization", "Bearer k")],
        &serde_json::json!({"messages": [{"role": "user", "content": [{"text": "hi"}]}]}),
    )
    .await;
    assert_eq!(r.json()["stopReason"], "end_turn");
    let providers: Vec<_> = sim.journal().iter().map(|e| e.provider.unwrap()).collect();
    assert_eq!(
        providers,
        [
            Dialect::OpenAi,
            Dialect::Anthropic,
            Dialect::Gemini,
            Dialect::Cohere,
            Dialect::Bedrock
        ]
    );
    assert_eq!(
        sim.journal()[4].model.as_deref(),
        Some("amazon.nova-lite-v1:0")
    );
}
