//! Every recorded OpenAI and Anthropic stream in `../shared/fixtures/` goes through the real
//! pipeline (SSE decoder → provider handler → `Stream`) in awkward chunk sizes, and must produce
//! exactly the content, tool calls, finish reason and usage that an independent, naive reading of
//! the same bytes finds.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers"
)]

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use serde_json::{Value, json};

use crate::client::ClientConfig;
use crate::error::{Error, ErrorKind};
use crate::provider::{BoxFuture, Capabilities, ChatRequest, EventStream, Provider};
use crate::response::{FinishReason, Response};
use crate::tool::{Tool, ToolChoice};
use crate::transport::{BodyStream, SseBody, SseHandler, body_events};

fn fixtures(dir: &str) -> Vec<PathBuf> {
    let root = steadfast_fixtures::location().join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", root.display());
    files
}

/// Replays a body through a handler, in chunks of `chunk` bytes.
#[derive(Debug)]
struct Replay {
    body: Bytes,
    chunk: usize,
    anthropic: bool,
}

impl Provider for Replay {
    fn name(&self) -> &str {
        if self.anthropic {
            "anthropic"
        } else {
            "openai"
        }
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }
    fn client_from_env(&self) -> ClientConfig {
        ClientConfig::default()
    }
    fn send(&self, _: ChatRequest) -> BoxFuture<Result<Response, Error>> {
        Box::pin(async { Err(Error::new(ErrorKind::Unsupported, "replay streams only")) })
    }
    fn stream(&self, _: ChatRequest) -> BoxFuture<Result<EventStream, Error>> {
        let chunks: Vec<Result<Bytes, Error>> = self
            .body
            .chunks(self.chunk)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let body: BodyStream = Box::pin(futures_util::stream::iter(chunks));
        let handler: Box<dyn SseHandler> = if self.anthropic {
            Box::new(super::anthropic::stream::AnthropicSse::default())
        } else {
            Box::new(super::openai::stream::OpenAiSse::default())
        };
        Box::pin(async move {
            Ok(body_events(
                Box::new(SseBody::new(handler)),
                body,
                None,
                None,
                200,
            ))
        })
    }
}

fn request(tools: &[String]) -> ChatRequest {
    ChatRequest {
        model: "fixture".into(),
        messages: vec![crate::Message::user("hi")],
        params: Default::default(),
        tools: tools
            .iter()
            .map(|n| Tool::from_schema(n.clone(), "", json!({"type": "object"})).unwrap())
            .collect::<Vec<_>>()
            .into(),
        tool_choice: ToolChoice::Auto,
        output: None,
        extra: Default::default(),
        client: Default::default(),
        attempt: 1,
    }
}

async fn replay(
    body: &[u8],
    chunk: usize,
    anthropic: bool,
    tools: &[String],
) -> Result<Response, Error> {
    let provider = Arc::new(Replay {
        body: Bytes::copy_from_slice(body),
        chunk,
        anthropic,
    });
    crate::ResponseStream::attempt(crate::stream::AttemptStream::new(provider, request(tools)))
        .into_response()
        .await
}

/// What a naive reader finds in a stream.
#[derive(Debug, Default)]
struct Expected {
    text: String,
    calls: Vec<(String, String)>,
    finish: Option<String>,
    usage: Option<(u64, u64)>,
}

fn data_events(body: &str) -> Vec<(Option<String>, Value)> {
    let mut out = Vec::new();
    for block in body.split("\n\n") {
        let mut event = None;
        let mut data = String::new();
        for line in block.lines() {
            if let Some(e) = line.strip_prefix("event: ") {
                event = Some(e.to_string());
            } else if let Some(d) = line.strip_prefix("data: ") {
                data.push_str(d);
            }
        }
        if data.is_empty() || data.starts_with("[DONE]") {
            continue;
        }
        out.push((event, serde_json::from_str(data.trim()).unwrap()));
    }
    out
}

fn naive_openai(body: &str) -> Expected {
    let mut x = Expected::default();
    let mut calls: Vec<(u64, String, String)> = Vec::new();
    for (_, v) in data_events(body) {
        for c in v["choices"].as_array().unwrap() {
            if c["index"] != 0 {
                continue;
            }
            let d = &c["delta"];
            if let Some(t) = d["content"].as_str() {
                x.text.push_str(t);
            }
            for tc in d["tool_calls"].as_array().into_iter().flatten() {
                let i = tc["index"].as_u64().unwrap();
                match calls.iter_mut().find(|c| c.0 == i) {
                    Some(c) => {
                        c.2.push_str(tc["function"]["arguments"].as_str().unwrap_or(""))
                    }
                    None => calls.push((
                        i,
                        tc["function"]["name"].as_str().unwrap().to_string(),
                        tc["function"]["arguments"]
                            .as_str()
                            .unwrap_or("")
                            .to_string(),
                    )),
                }
            }
            if let Some(f) = c["finish_reason"].as_str() {
                x.finish = Some(f.to_string());
            }
        }
        if let Some(u) = v.get("usage").filter(|u| !u.is_null()) {
            x.usage = Some((
                u["prompt_tokens"].as_u64().unwrap(),
                u["completion_tokens"].as_u64().unwrap(),
            ));
        }
    }
    x.calls = calls.into_iter().map(|(_, n, a)| (n, a)).collect();
    x
}

fn naive_anthropic(body: &str) -> Expected {
    let mut x = Expected::default();
    let mut input = 0;
    let mut calls: Vec<(u64, String, String)> = Vec::new();
    for (_, v) in data_events(body) {
        match v["type"].as_str().unwrap() {
            "message_start" => input = v["message"]["usage"]["input_tokens"].as_u64().unwrap_or(0),
            "content_block_start" if v["content_block"]["type"] == "tool_use" => calls.push((
                v["index"].as_u64().unwrap(),
                v["content_block"]["name"].as_str().unwrap().to_string(),
                String::new(),
            )),
            "content_block_delta" => {
                let d = &v["delta"];
                match d["type"].as_str().unwrap() {
                    "text_delta" => x.text.push_str(d["text"].as_str().unwrap()),
                    "input_json_delta" => {
                        let i = v["index"].as_u64().unwrap();
                        let c = calls.iter_mut().find(|c| c.0 == i).unwrap();
                        c.2.push_str(d["partial_json"].as_str().unwrap());
                    }
                    _ => {}
                }
            }
            "message_delta" => {
                x.finish = v["delta"]["stop_reason"].as_str().map(str::to_string);
                let out = v["usage"]["output_tokens"].as_u64().unwrap_or(0);
                let inp = v["usage"]["input_tokens"].as_u64().unwrap_or(input);
                x.usage = Some((inp, out));
            }
            _ => {}
        }
    }
    x.calls = calls.into_iter().map(|(_, n, a)| (n, a)).collect();
    x
}

fn check(name: &str, r: &Response, x: &Expected) {
    assert_eq!(r.text(), x.text, "{name}: text");
    let calls: Vec<(String, String)> = r
        .tool_calls()
        .iter()
        .map(|c| (c.name.clone(), c.arguments.clone()))
        .collect();
    assert_eq!(calls, x.calls, "{name}: tool calls");
    assert_eq!(
        r.raw_finish_reason(),
        x.finish.as_deref(),
        "{name}: finish reason"
    );
    assert_eq!(
        r.usage().map(|u| (u.input_tokens, u.output_tokens)),
        x.usage,
        "{name}: usage"
    );
}

#[tokio::test]
async fn every_openai_recording_decodes_to_what_it_holds() {
    let Some(_fixtures) = steadfast_fixtures::require() else {
        return;
    };
    for path in fixtures("openai/sse") {
        let body = std::fs::read(&path).unwrap();
        let x = naive_openai(std::str::from_utf8(&body).unwrap());
        let tools: Vec<String> = x.calls.iter().map(|c| c.0.clone()).collect();
        for chunk in [1, 7, 64, 100_000] {
            let name = format!("{} /{chunk}", path.display());
            let r = replay(&body, chunk, false, &tools)
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            check(&name, &r, &x);
            assert!(x.finish.is_some());
        }
    }
}

#[tokio::test]
async fn every_anthropic_recording_decodes_to_what_it_holds() {
    let Some(_fixtures) = steadfast_fixtures::require() else {
        return;
    };
    for path in fixtures("anthropic/streaming") {
        let body = std::fs::read(&path).unwrap();
        let x = naive_anthropic(std::str::from_utf8(&body).unwrap());
        let tools: Vec<String> = x.calls.iter().map(|c| c.0.clone()).collect();
        for chunk in [1, 5, 333, 100_000] {
            let name = format!("{} /{chunk}", path.display());
            let r = replay(&body, chunk, true, &tools)
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            check(&name, &r, &x);
        }
    }
}

#[tokio::test]
async fn refusals_are_recognised() {
    let Some(_fixtures) = steadfast_fixtures::require() else {
        return;
    };
    let mut seen = 0;
    for path in fixtures("openai/sse") {
        let body = std::fs::read(&path).unwrap();
        let text = std::str::from_utf8(&body).unwrap();
        let refusal: String = data_events(text)
            .iter()
            .filter_map(|(_, v)| {
                v["choices"][0]["delta"]["refusal"]
                    .as_str()
                    .map(str::to_string)
            })
            .collect();
        if refusal.is_empty() {
            continue;
        }
        seen += 1;
        let r = replay(&body, 9, false, &[]).await.unwrap();
        assert_eq!(r.refusal(), Some(refusal.as_str()), "{}", path.display());
    }
    assert!(seen > 0, "the OpenAI recordings include a refusal");

    let anthropic = concat!(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"c\",\"usage\":{\"input_tokens\":3}}}\n\n",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"refusal\"},\"usage\":{\"output_tokens\":1}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    );
    let r = replay(anthropic.as_bytes(), 11, true, &[]).await.unwrap();
    assert_eq!(r.finish_reason(), FinishReason::Refusal);
    assert!(r.refusal().is_some());
}

#[tokio::test]
async fn a_cut_recording_is_interrupted_not_finished() {
    let Some(_fixtures) = steadfast_fixtures::require() else {
        return;
    };
    for path in fixtures("openai/sse") {
        let body = std::fs::read(&path).unwrap();
        let text = std::str::from_utf8(&body).unwrap();
        // Drop the `[DONE]` terminator: the stream must be reported as interrupted.
        let cut = text.rfind("data: [DONE]").unwrap();
        let x = naive_openai(text);
        let tools: Vec<String> = x.calls.iter().map(|c| c.0.clone()).collect();
        let e = replay(&body[..cut], 64, false, &tools).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::StreamInterrupted, "{}", path.display());
    }
    for path in fixtures("anthropic/streaming") {
        let body = std::fs::read(&path).unwrap();
        let text = std::str::from_utf8(&body).unwrap();
        let cut = text.rfind("event: message_stop").unwrap();
        let tools: Vec<String> = naive_anthropic(text)
            .calls
            .iter()
            .map(|c| c.0.clone())
            .collect();
        let e = replay(&body[..cut], 64, true, &tools).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::StreamInterrupted, "{}", path.display());
        let partial = e.partial().expect("partial output");
        assert_eq!(
            partial.text,
            naive_anthropic(text).text,
            "{}",
            path.display()
        );
    }
}

#[tokio::test]
async fn in_band_errors_before_and_after_the_commit_point() {
    let before = b"event: error\ndata: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": \"Overloaded\"}}\n\n";
    let e = replay(before, 3, true, &[]).await.unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::Overloaded,
        "before content the error keeps its kind"
    );
    assert!(e.is_retryable());

    let after = concat!(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"c\",\"usage\":{\"input_tokens\":3}}}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n",
        "event: error\ndata: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": \"Overloaded\"}}\n\n",
    );
    // Whether the error arrives in its own read or in the same one as the text, the text came
    // first: the stream was committed.
    for chunk in [1, 10, 100_000] {
        let e = replay(after.as_bytes(), chunk, true, &[])
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::StreamInterrupted, "chunk {chunk}");
        assert_eq!(e.code(), Some("overloaded_error"));
        assert_eq!(e.partial().unwrap().text, "Hello");
    }

    let openai = b"data: {\"error\":{\"message\":\"The server had an error\",\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\ndata: [DONE]\n\n";
    let e = replay(openai, 4, false, &[]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Server);
}
