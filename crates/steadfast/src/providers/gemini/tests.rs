//! Every recorded Gemini response and stream in `../shared/fixtures/gemini/` (googleai/ and
//! vertexai/) decodes to the content, function calls, finish reason, usage or error it holds.
//!
//! Unary bodies go through the real parser (and error bodies through the real classifier);
//! streams go through the real pipeline (`GeminiBody` → transport → `Stream`) in awkward chunk
//! sizes. The expectation comes from an independent, naive reading of the same bytes with plain
//! `serde_json::Value`s, and — for errors — from an explicit table of what each recorded error is.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers"
)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use http::HeaderMap;
use serde_json::{Value, json};

use super::stream::GeminiBody;
use crate::client::ClientConfig;
use crate::error::{Error, ErrorKind};
use crate::provider::{BoxFuture, Capabilities, ChatRequest, EventStream, Provider};
use crate::response::{FinishReason, Response};
use crate::tool::{Tool, ToolChoice};
use crate::transport::{BodyStream, body_events};

fn fixture_files() -> Vec<PathBuf> {
    let root = steadfast_fixtures::location().join("gemini");
    let mut files = Vec::new();
    for dir in ["googleai", "vertexai"] {
        let dir = root.join(dir);
        for e in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            files.push(e.unwrap().path());
        }
    }
    files.sort();
    files
}

fn short(path: &Path) -> String {
    let dir = path
        .parent()
        .unwrap()
        .file_name()
        .unwrap()
        .to_string_lossy();
    format!("{dir}/{}", path.file_name().unwrap().to_string_lossy())
}

/// What each recorded error body is. Every fixture holding a `google.rpc.Status` (or an HTML
/// error page) must be listed here.
fn recorded_error_kind(name: &str) -> Option<ErrorKind> {
    use ErrorKind::*;
    let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
    Some(match stem {
        "googleai/unary-failure-api-key" => Auth,
        "googleai/unary-failure-generativelanguage-api-not-enabled" => PermissionDenied,
        "googleai/streaming-failure-image-rejected" => InvalidRequest,
        "vertexai/streaming-failure-api-key" => Auth,
        // `CANCELLED` mid-stream: the backend gave up, a transient server failure.
        "vertexai/streaming-failure-error-mid-stream" => Server,
        // FAILED_PRECONDITION whose message is a placeholder (`$grpcMessage`).
        "vertexai/streaming-failure-http-error" => InvalidRequest,
        "vertexai/streaming-failure-image-rejected" => InvalidRequest,
        "vertexai/streaming-failure-unknown-model" => NotFound,
        "vertexai/unary-failure-api-key" => Auth,
        "vertexai/unary-failure-context-cache-model-doesnt-match" => InvalidRequest,
        "vertexai/unary-failure-context-cache-not-found" => NotFound,
        "vertexai/unary-failure-firebaseml-api-not-enabled" => PermissionDenied,
        "vertexai/unary-failure-firebasevertexai-api-not-enabled" => PermissionDenied,
        "vertexai/unary-failure-generate-images-prompt-blocked" => ContentFiltered,
        "vertexai/unary-failure-http-error" => InvalidRequest,
        "vertexai/unary-failure-iam-permission-denied" => PermissionDenied,
        "vertexai/unary-failure-image-rejected" => InvalidRequest,
        "vertexai/unary-failure-invalid-context-cache-id" => InvalidRequest,
        "vertexai/unary-failure-invalid-location-url-not-found" => NotFound,
        "vertexai/unary-failure-model-not-found" => NotFound,
        // A per-minute limit whose value is 0: waiting cannot help.
        "vertexai/unary-failure-quota-exceeded" => QuotaExhausted,
        "vertexai/unary-failure-unknown-model" => NotFound,
        "vertexai/unary-failure-unsupported-user-location" => PermissionDenied,
        _ => return None,
    })
}

/// What a naive reader expects a body to decode to.
#[derive(Debug, PartialEq)]
enum Outcome {
    Ok(Expected),
    Err {
        kind: ErrorKind,
        code: Option<String>,
    },
}

#[derive(Debug, Default, PartialEq)]
struct Expected {
    text: String,
    calls: Vec<(String, Value)>,
    /// The `thoughtSignature` of each function-call part.
    signatures: Vec<Option<String>>,
    /// The text of the thought parts, joined.
    reasoning: String,
    /// The parts that are neither text, thought nor function call: their member and the part.
    others: Vec<(String, Value)>,
    /// Every citation source, grounding chunk and grounding support (a stream's once each).
    citations: Vec<Value>,
    finish: Option<String>,
    finish_message: Option<String>,
    usage: Option<(u64, u64)>,
}

fn n(v: &Value, k: &str) -> u64 {
    v.get(k).and_then(Value::as_u64).unwrap_or(0)
}

fn naive_usage(u: &Value) -> (u64, u64) {
    let input = n(u, "promptTokenCount") + n(u, "toolUsePromptTokenCount");
    let output = n(u, "candidatesTokenCount") + n(u, "thoughtsTokenCount");
    if let Some(total) = u.get("totalTokenCount").and_then(Value::as_u64) {
        assert_eq!(input + output, total, "the usage split adds up: {u}");
    }
    (input, output)
}

fn status_of(v: &Value) -> Option<&Value> {
    let v = v.as_array().and_then(|a| a.first()).unwrap_or(v);
    v.get("error")
}

fn is_response(v: &Value) -> bool {
    [
        "candidates",
        "promptFeedback",
        "usageMetadata",
        "modelVersion",
        "responseId",
    ]
    .iter()
    .any(|k| v.get(*k).is_some())
}

fn block(v: &Value) -> Option<Outcome> {
    let fb = v.get("promptFeedback")?;
    let no_candidates = v["candidates"].as_array().is_none_or(Vec::is_empty);
    let reason = fb.get("blockReason").and_then(Value::as_str);
    if reason.is_none() && !(no_candidates && fb.get("blockReasonMessage").is_some()) {
        return None;
    }
    Some(Outcome::Err {
        kind: ErrorKind::ContentFiltered,
        code: Some(reason.unwrap_or("BLOCKED").to_string()),
    })
}

/// Adds a chunk's (or a body's) first candidate to `x`; a stream's chunks may repeat citations.
fn absorb(x: &mut Expected, v: &Value, stream: bool) {
    let cand = v["candidates"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["index"].as_u64().unwrap_or(0) == 0));
    if let Some(c) = cand {
        for p in c["content"]["parts"].as_array().into_iter().flatten() {
            if let Some(t) = p["text"].as_str() {
                if p["thought"] == json!(true) {
                    x.reasoning.push_str(t);
                } else {
                    x.text.push_str(t);
                }
            } else if p.get("functionCall").is_none() && p != &json!({}) {
                let kind = p
                    .as_object()
                    .unwrap()
                    .keys()
                    .find(|k| !["thought", "thoughtSignature"].contains(&k.as_str()))
                    .unwrap();
                x.others.push((kind.clone(), p.clone()));
            }
            if let Some(fc) = p.get("functionCall") {
                let args = match fc.get("args") {
                    None | Some(Value::Null) => json!({}),
                    Some(a) => a.clone(),
                };
                x.calls
                    .push((fc["name"].as_str().unwrap().to_string(), args));
                x.signatures
                    .push(p["thoughtSignature"].as_str().map(str::to_string));
            }
        }
        let cited = [
            &c["citationMetadata"]["citationSources"],
            &c["citationMetadata"]["citations"],
            &c["groundingMetadata"]["groundingChunks"],
            &c["groundingMetadata"]["groundingSupports"],
        ];
        for item in cited.into_iter().filter_map(Value::as_array).flatten() {
            if !(stream && x.citations.contains(item)) {
                x.citations.push(item.clone());
            }
        }
        if let Some(f) = c["finishReason"].as_str() {
            x.finish = Some(f.to_string());
        }
        if let Some(m) = c["finishMessage"].as_str() {
            x.finish_message = Some(m.to_string());
        }
    }
    if let Some(u) = v.get("usageMetadata") {
        x.usage = Some(naive_usage(u));
    }
}

fn error_outcome(name: &str, status: &Value) -> Outcome {
    let kind = recorded_error_kind(name)
        .unwrap_or_else(|| panic!("{name}: an error fixture missing from the table"));
    Outcome::Err {
        kind,
        code: status["status"].as_str().map(str::to_string),
    }
}

fn naive_unary(name: &str, body: &str) -> Outcome {
    let decode = Outcome::Err {
        kind: ErrorKind::Decode,
        code: None,
    };
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        return decode;
    };
    if let Some(s) = status_of(&v) {
        return error_outcome(name, s);
    }
    if !is_response(&v) {
        return decode;
    }
    if let Some(o) = block(&v) {
        return o;
    }
    let Some(c) = v["candidates"].as_array().and_then(|c| c.first()) else {
        return decode;
    };
    let no_parts = c["content"]["parts"].as_array().is_none_or(Vec::is_empty);
    if no_parts && c.get("finishReason").is_none() {
        return decode;
    }
    let mut x = Expected::default();
    absorb(&mut x, &v, false);
    Outcome::Ok(x)
}

/// The naive stream reading: `data:` lines are chunks, every other non-blank line belongs to a
/// JSON object written outside the event stream. Also returns the text delivered before the
/// stream failed.
fn naive_stream(name: &str, body: &str) -> (Outcome, String) {
    let body = body.replace("\r\n", "\n");
    let mut x = Expected::default();
    let mut outside = String::new();
    for line in body.lines() {
        if let Some(data) = line.strip_prefix("data:") {
            let v: Value = serde_json::from_str(data.trim()).unwrap();
            if let Some(s) = status_of(&v) {
                return (error_outcome(name, s), x.text);
            }
            // A chunk of an unknown shape is skipped.
            if !is_response(&v) {
                continue;
            }
            if let Some(o) = block(&v) {
                return (o, x.text);
            }
            absorb(&mut x, &v, true);
        } else if !line.trim().is_empty() {
            outside.push_str(line);
            outside.push('\n');
        }
    }
    if !outside.is_empty() {
        let v: Value = serde_json::from_str(&outside).unwrap();
        return (error_outcome(name, status_of(&v).unwrap()), x.text);
    }
    if x.finish.is_none() {
        let cut = Outcome::Err {
            kind: ErrorKind::StreamInterrupted,
            code: None,
        };
        return (cut, x.text);
    }
    (Outcome::Ok(x), String::new())
}

/// Replays a body through `GeminiBody`, in chunks of `chunk` bytes.
#[derive(Debug)]
struct Replay {
    body: Bytes,
    chunk: usize,
}

impl Provider for Replay {
    fn name(&self) -> &str {
        "gemini"
    }
    fn capabilities(&self) -> Capabilities {
        super::GeminiWire.capabilities_for_tests()
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
        Box::pin(async move {
            Ok(body_events(
                Box::new(GeminiBody::default()),
                body,
                None,
                None,
                200,
            ))
        })
    }
}

impl super::GeminiWire {
    fn capabilities_for_tests(&self) -> Capabilities {
        crate::transport::Wire::capabilities(self)
    }
}

pub(super) fn request(tools: &[String]) -> ChatRequest {
    ChatRequest {
        model: "gemini-2.0-flash".into(),
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

pub(super) async fn replay(body: &[u8], chunk: usize, tools: &[String]) -> Result<Response, Error> {
    let provider = Arc::new(Replay {
        body: Bytes::copy_from_slice(body),
        chunk,
    });
    crate::ResponseStream::attempt(crate::stream::AttemptStream::new(provider, request(tools)))
        .into_response()
        .await
}

fn tool_names(o: &Outcome) -> Vec<String> {
    match o {
        Outcome::Ok(x) => x.calls.iter().map(|c| c.0.clone()).collect(),
        Outcome::Err { .. } => Vec::new(),
    }
}

fn check_response(name: &str, r: &Response, x: &Expected) {
    assert_eq!(r.text(), x.text, "{name}: text");
    let calls: Vec<(String, Value)> = r
        .tool_calls()
        .iter()
        .map(|c| (c.name.clone(), serde_json::from_str(&c.arguments).unwrap()))
        .collect();
    assert_eq!(calls, x.calls, "{name}: function calls");
    let signatures: Vec<Option<String>> =
        r.tool_calls().iter().map(|c| c.signature.clone()).collect();
    assert_eq!(signatures, x.signatures, "{name}: thought signatures");
    let ids: Vec<String> = (0..x.calls.len()).map(|i| format!("call_{i}")).collect();
    let got: Vec<&str> = r.tool_calls().iter().map(|c| c.id.as_str()).collect();
    assert_eq!(got, ids, "{name}: synthesised ids");
    assert_eq!(
        r.raw_finish_reason(),
        x.finish.as_deref(),
        "{name}: finish reason"
    );
    if x.finish.as_deref() == Some("STOP") {
        let want = if x.calls.is_empty() {
            FinishReason::Stop
        } else {
            FinishReason::ToolCalls
        };
        assert_eq!(r.finish_reason(), want, "{name}: normalised finish");
    }
    assert_eq!(
        r.usage().map(|u| (u.input_tokens, u.output_tokens)),
        x.usage,
        "{name}: usage"
    );
    assert_eq!(r.reasoning_text(), x.reasoning, "{name}: reasoning");
    assert!(
        r.reasoning().all(|p| p.provider == "gemini"),
        "{name}: reasoning"
    );
    let others: Vec<(String, Value)> = r
        .other_parts()
        .map(|o| {
            assert_eq!(o.provider, "gemini", "{name}");
            (o.kind.clone(), o.raw.clone())
        })
        .collect();
    assert_eq!(others, x.others, "{name}: other parts");
    let cited: Vec<&Value> = r.citations().iter().map(|c| &c.raw).collect();
    let want: Vec<&Value> = x.citations.iter().collect();
    assert_eq!(cited, want, "{name}: citations");
    assert_eq!(
        r.finish_details(),
        x.finish_message
            .as_ref()
            .map(|m| json!({"finishMessage": m}))
            .as_ref(),
        "{name}: finish details"
    );
}

fn check_error(name: &str, e: &Error, kind: ErrorKind, code: Option<&str>) {
    assert_eq!(e.kind(), kind, "{name}: {e}");
    if let Some(code) = code {
        assert_eq!(e.code(), Some(code), "{name}: code");
    }
    assert!(!e.message().is_empty(), "{name}");
}

#[tokio::test]
async fn every_recording_decodes_to_what_it_holds() {
    let Some(_fixtures) = steadfast_fixtures::require() else {
        return;
    };
    let files = fixture_files();
    let (mut unary, mut streams, mut errors, mut oks) = (0, 0, 0, 0);
    for path in &files {
        let name = short(path);
        let body = std::fs::read(path).unwrap();
        let text = String::from_utf8(body.clone()).unwrap();
        let file = path.file_name().unwrap().to_string_lossy();
        if file.starts_with("streaming-") {
            streams += 1;
            let (outcome, partial) = naive_stream(&name, &text);
            let tools = tool_names(&outcome);
            for chunk in [1, 2, 7, 64, 100_000] {
                let label = format!("{name} /{chunk}");
                let got = replay(&body, chunk, &tools).await;
                match &outcome {
                    Outcome::Ok(x) => {
                        let r = got.unwrap_or_else(|e| panic!("{label}: {e}"));
                        check_response(&label, &r, x);
                    }
                    Outcome::Err { kind, code } => {
                        let e = got.expect_err(&label);
                        if partial.is_empty() || *kind == ErrorKind::StreamInterrupted {
                            check_error(&label, &e, *kind, code.as_deref());
                        } else {
                            // Content was delivered first: the stream is interrupted and the
                            // original error is its source.
                            check_error(&label, &e, ErrorKind::StreamInterrupted, code.as_deref());
                            let src = std::error::Error::source(&e)
                                .and_then(|s| s.downcast_ref::<Error>())
                                .unwrap_or_else(|| panic!("{label}: no source"));
                            assert_eq!(src.kind(), *kind, "{label}: source kind");
                        }
                        if !partial.is_empty() {
                            let p = e.partial().unwrap_or_else(|| panic!("{label}: partial"));
                            assert_eq!(p.text, partial, "{label}: partial text");
                        }
                    }
                }
            }
            if matches!(outcome, Outcome::Ok(_)) {
                oks += 1;
            } else {
                errors += 1;
            }
            // An error body of the streaming endpoint is also what the classifier reads from a
            // failed HTTP response.
            if let Outcome::Err { kind, code } = &outcome {
                if text.trim_start().starts_with('{') && partial.is_empty() {
                    let e = super::error::classify(400, &HeaderMap::new(), &body);
                    check_error(&name, &e, *kind, code.as_deref());
                }
            }
            continue;
        }
        unary += 1;
        if file.ends_with(".html") {
            let kind = recorded_error_kind(&name).unwrap();
            let e = super::error::classify(404, &HeaderMap::new(), &body);
            check_error(&name, &e, kind, None);
            errors += 1;
            continue;
        }
        let outcome = naive_unary(&name, &text);
        let got = super::convert::parse_response(&request(&[]), &body);
        match &outcome {
            Outcome::Ok(x) => {
                check_response(&name, &got.unwrap_or_else(|e| panic!("{name}: {e}")), x);
                oks += 1;
            }
            Outcome::Err { kind, code } => {
                check_error(&name, &got.expect_err(&name), *kind, code.as_deref());
                errors += 1;
                let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                if let Some(s) = status_of(&v) {
                    let status = u16::try_from(s["code"].as_u64().unwrap()).unwrap();
                    let e = super::error::classify(status, &HeaderMap::new(), &body);
                    check_error(&name, &e, *kind, code.as_deref());
                }
            }
        }
    }
    assert_eq!(files.len(), unary + streams);
    assert_eq!(files.len(), oks + errors);
    assert_eq!(
        files.len(),
        123,
        "googleai/ and vertexai/ hold 123 recordings"
    );
    assert_eq!(
        (streams, oks, errors),
        (37, 77, 46),
        "streams, successes, errors"
    );
}

#[tokio::test]
async fn a_stream_cut_before_its_finish_reason_is_interrupted() {
    let Some(_fixtures) = steadfast_fixtures::require() else {
        return;
    };
    let mut seen = 0;
    for path in fixture_files() {
        let name = short(&path);
        if !name.contains("/streaming-success-") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let (outcome, _) = naive_stream(&name, &text);
        let Some(at) = text.find("\"finishReason\"") else {
            continue;
        };
        let cut = text[..at].rfind("data:").unwrap();
        let (_, partial_of_cut) = naive_stream(&name, &text[..cut]);
        let e = replay(&text.as_bytes()[..cut], 13, &tool_names(&outcome))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::StreamInterrupted, "{name}: {e}");
        if !partial_of_cut.is_empty() {
            assert_eq!(e.partial().unwrap().text, partial_of_cut, "{name}");
        }
        seen += 1;
    }
    assert!(seen >= 20, "{seen}");
}

#[tokio::test]
async fn function_calls_arrive_whole_and_are_validated() {
    let Some(_fixtures) = steadfast_fixtures::require() else {
        return;
    };
    let path = steadfast_fixtures::location().join(
        "gemini/googleai/streaming-success-thinking-function-call-thought-summary-signature.txt",
    );
    let body = std::fs::read(&path).unwrap();
    let r = replay(&body, 5, &["now".to_string()]).await.unwrap();
    assert_eq!(r.finish_reason(), FinishReason::ToolCalls);
    assert_eq!(r.raw_finish_reason(), Some("STOP"));
    assert_eq!(r.tool_calls().len(), 1);
    assert_eq!(r.tool_calls()[0].name, "now");
    assert_eq!(r.tool_calls()[0].id, "call_0");
    assert_eq!(r.tools().unwrap()[0].args(), &json!({}));
    // The thought summaries are not text.
    assert_eq!(r.text(), "");
    // A call to a tool the request does not have is kept as received; only its typed parse
    // fails.
    let r = replay(&body, 5, &[]).await.unwrap();
    assert_eq!(r.tool_calls()[0].name, "now");
    assert_eq!(r.tools().unwrap_err().kind(), ErrorKind::Validation);
}

const TEXT_CHUNK: &str = "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Hello\"}],\"role\": \"model\"}}],\"modelVersion\": \"gemini-2.0-flash\",\"responseId\": \"r-1\"}\r\n\r\n";

const PRETTY_ERROR: &str = "{\n  \"error\": {\n    \"code\": 503,\n    \"message\": \"The model is overloaded. Please try again later.\",\n    \"status\": \"UNAVAILABLE\"\n  }\n}\n";

#[tokio::test]
async fn a_bare_error_before_content_keeps_its_kind() {
    for chunk in [1, 3, 1000] {
        let e = replay(PRETTY_ERROR.as_bytes(), chunk, &[])
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Overloaded, "/{chunk}: {e}");
        assert!(e.is_retryable());
        assert_eq!(e.code(), Some("UNAVAILABLE"));
        assert_eq!(e.status(), Some(200), "the status of the stream");
    }
    // The array-wrapped form, and an error sent as a data event.
    let wrapped = format!("[{}]", PRETTY_ERROR.trim_end());
    let e = replay(wrapped.as_bytes(), 4, &[]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Overloaded);
    let data = "data: {\"error\": {\"code\": 429, \"message\": \"slow\", \"status\": \"RESOURCE_EXHAUSTED\", \"details\": [{\"@type\": \"type.googleapis.com/google.rpc.RetryInfo\", \"retryDelay\": \"2s\"}]}}\r\n\r\n";
    let e = replay(data.as_bytes(), 9, &[]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert_eq!(e.retry_after(), Some(std::time::Duration::from_secs(2)));
}

#[tokio::test]
async fn a_bare_error_after_content_interrupts_the_stream() {
    let body = format!("{TEXT_CHUNK}{PRETTY_ERROR}");
    for chunk in [1, 5, 10_000] {
        let e = replay(body.as_bytes(), chunk, &[]).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::StreamInterrupted, "/{chunk}");
        assert_eq!(e.code(), Some("UNAVAILABLE"));
        assert_eq!(e.partial().unwrap().text, "Hello");
    }
}

#[tokio::test]
async fn stray_lines_that_are_not_an_error() {
    let finish = "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"!\"}]},\"finishReason\": \"STOP\"}],\"usageMetadata\": {\"promptTokenCount\": 3,\"candidatesTokenCount\": 2}}\r\n\r\n";
    // Lines that cannot start JSON are unknown SSE fields: ignored.
    let body = format!("{TEXT_CHUNK}garbage line\r\n: a comment\r\n\r\n{finish}");
    let r = replay(body.as_bytes(), 6, &[]).await.unwrap();
    assert_eq!(r.text(), "Hello!");
    assert_eq!(r.id(), Some("r-1"));
    assert_eq!(r.request_id(), Some("r-1"));
    assert_eq!(r.model(), "gemini-2.0-flash");
    let u = r.usage().unwrap();
    assert_eq!((u.input_tokens, u.output_tokens), (3, 2));
    // A complete JSON object that is not an error is a decode failure.
    let body = format!("{TEXT_CHUNK}{{\"candidates\": []}}\n{finish}");
    let e = replay(body.as_bytes(), 6, &[]).await.unwrap_err();
    let src = std::error::Error::source(&e)
        .and_then(|s| s.downcast_ref::<Error>())
        .unwrap();
    assert_eq!(src.kind(), ErrorKind::Decode, "{e}");
    // A body that ends inside the error object is interrupted.
    let cut = &PRETTY_ERROR[..PRETTY_ERROR.len() - 4];
    let body = format!("{TEXT_CHUNK}{cut}");
    let e = replay(body.as_bytes(), 6, &[]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::StreamInterrupted);
}

#[tokio::test]
async fn a_blocked_prompt_stream_is_content_filtered() {
    let body = "data: {\"promptFeedback\": {\"blockReason\": \"OTHER\"},\"usageMetadata\": {\"promptTokenCount\": 4}}\r\n\r\n";
    let e = replay(body.as_bytes(), 7, &[]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ContentFiltered);
    assert_eq!(e.code(), Some("OTHER"));
}

#[test]
fn only_plain_response_chunks_take_the_one_parse_path() {
    use super::convert::{parse_response, plain_chunk};
    let ok = json!({"candidates":[{"content":{"role":"model","parts":[{"text":"hi"}]},"finishReason":"STOP","index":0}],"responseId":"r1"});
    assert!(plain_chunk(ok.to_string().as_bytes()).is_some());
    // Errors, arrays and unrelated objects go through the `Value` path, which explains them.
    let error = json!({"error":{"code":429,"message":"Resource has been exhausted","status":"RESOURCE_EXHAUSTED"}});
    assert!(plain_chunk(error.to_string().as_bytes()).is_none());
    let both = json!({"candidates":[], "error":{"code":500,"message":"x","status":"INTERNAL"}});
    assert!(plain_chunk(both.to_string().as_bytes()).is_none());
    assert!(plain_chunk(format!("[{error}]").as_bytes()).is_none());
    assert!(plain_chunk(br#"{"unrelated":1}"#).is_none());
    let req = request(&[]);
    let e = parse_response(&req, both.to_string().as_bytes()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Server);
    let e = parse_response(&req, format!("[{error}]").as_bytes()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    let r = parse_response(&req, ok.to_string().as_bytes()).unwrap();
    assert_eq!(r.text(), "hi");
    assert_eq!(r.request_id(), Some("r1"));
}

#[tokio::test]
async fn thought_signatures_of_function_calls_are_kept_and_sent_back() {
    let Some(_fixtures) = steadfast_fixtures::require() else {
        return;
    };
    let dir = steadfast_fixtures::location().join("gemini/googleai");
    let body = std::fs::read(
        dir.join("unary-success-thinking-function-call-thought-summary-signature.json"),
    )
    .unwrap();
    let recorded: Value = serde_json::from_slice(&body).unwrap();
    let signature = recorded["candidates"][0]["content"]["parts"][1]["thoughtSignature"]
        .as_str()
        .unwrap();
    let req = request(&["now".to_string()]);
    let r = super::convert::parse_response(&req, &body).unwrap();
    assert_eq!(r.tool_calls().len(), 1);
    assert_eq!(r.tool_calls()[0].signature.as_deref(), Some(signature));

    // The same call in a streamed answer.
    let stream = std::fs::read_to_string(
        dir.join("streaming-success-thinking-function-call-thought-summary-signature.txt"),
    )
    .unwrap();
    let streamed = replay(stream.as_bytes(), 64, &["now".to_string()])
        .await
        .unwrap();
    assert!(
        streamed.tool_calls()[0]
            .signature
            .as_deref()
            .is_some_and(|s| s.len() > 100),
        "{:?}",
        streamed.tool_calls()
    );

    // Sent back in the next turn, beside its functionCall; a call without one sends none.
    let mut next = request(&["now".to_string()]);
    next.messages = vec![
        crate::Message::user("How many days until New Year's Eve?"),
        crate::Message::new(
            crate::Role::Assistant,
            vec![
                crate::Part::ToolCall(r.tool_calls()[0].clone()),
                crate::Part::ToolCall(crate::ToolCall::new("call_1", "now", "{}")),
            ],
        ),
    ];
    let body = serde_json::to_value(super::convert::request_body(&next).unwrap()).unwrap();
    let parts = &body["contents"][1]["parts"];
    assert_eq!(parts[0]["thoughtSignature"], signature);
    assert_eq!(parts[0]["functionCall"]["name"], "now");
    assert!(parts[1].get("thoughtSignature").is_none(), "{parts}");
}
