//! Per-provider client cost of a typical non-streaming call (system + user + one tool), side by
//! side with the floor, plus prompt building, template rendering and tool-argument validation.
//!
//! Run with `cargo bench -p steadfast --bench providers`.
//!
//! Request building, serialisation and response parsing are crate-internal (the `Wire` trait is
//! not public), so each provider is measured end to end through its public surface,
//! `call.send(prompt)`, against an in-process **canned** HTTP/1.1 server that answers with the
//! exact body the simulator gave for the same request (captured once at start-up). Beside it,
//! `floor` sends the same captured request bytes with bare `reqwest` and parses the answer with
//! `serde_json::from_slice::<Value>`. Client and server share one current-thread runtime, so the
//! loopback round trip is the same on both sides: **library minus floor** is what Steadfast adds
//! per call — building and serialising the provider's request, reading headers and hints,
//! parsing the provider's response into a `Response`, and the transport glue (SigV4 signing for
//! `bedrock_sigv4`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "benchmark setup: a failed capture should abort the run loudly"
)]

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use bytes::Bytes;
use divan::Bencher;
use serde_json::{Value, json};
use steadfast::providers::bedrock::{AwsCredentials, BedrockCallExt};
use steadfast::{Call, Error, Message, Prompt, Template, Tool, ToolCall, Vars, llm};
use steadfast_sim::{Dialect, Scenario, Simulator};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;

#[global_allocator]
static ALLOC: divan::AllocProfiler = divan::AllocProfiler::system();

fn main() {
    divan::main();
}

const KEY: &str = "sk-bench";

/// Provider benchmarks: (name in the report, registry name, model, simulator protocol).
const PROVIDERS: &[(&str, &str, &str, Dialect)] = &[
    ("openai", "openai", "gpt-4o-mini", Dialect::OpenAi),
    (
        "anthropic",
        "anthropic",
        "claude-3-5-sonnet-latest",
        Dialect::Anthropic,
    ),
    ("gemini", "gemini", "gemini-2.0-flash", Dialect::Gemini),
    (
        "mistral",
        "mistral",
        "mistral-small-latest",
        Dialect::Mistral,
    ),
    ("cohere", "cohere", "command-a-03-2025", Dialect::Cohere),
    (
        "azure_inference",
        "azure-inference",
        "mistral-large-2411",
        Dialect::AzureInference,
    ),
    (
        "bedrock_bearer",
        "bedrock",
        "anthropic.claude-3-5-sonnet-20240620-v1:0",
        Dialect::Bedrock,
    ),
    (
        "bedrock_sigv4",
        "bedrock",
        "anthropic.claude-3-5-sonnet-20240620-v1:0",
        Dialect::Bedrock,
    ),
];

const NAMES: &[&str] = &[
    "openai",
    "anthropic",
    "gemini",
    "mistral",
    "cohere",
    "azure_inference",
    "bedrock_bearer",
    "bedrock_sigv4",
];

fn weather_tool() -> Tool {
    Tool::from_schema(
        "get_weather",
        "Get the current weather in a city",
        json!({
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "The city, e.g. Paris"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}
            },
            "required": ["city"],
            "additionalProperties": false
        }),
    )
    .unwrap()
}

/// The typical request: a system message, a user message and one tool.
static PROMPT: LazyLock<Prompt> = LazyLock::new(|| {
    Prompt::from(vec![
        Message::system("You are a helpful assistant. Answer in one short paragraph."),
        Message::user("Recommend a fantasy book for a long train journey"),
    ])
});

fn call_for(name: &str, registry: &str, model: &str, base_url: String) -> Call {
    let call = llm::call((registry, model))
        .unwrap()
        .base_url(base_url)
        .tool(weather_tool());
    if name == "bedrock_sigv4" {
        call.aws_region("us-east-1")
            .aws_credentials(AwsCredentials::new("AKIDBENCH", "bench-secret"))
    } else {
        call.api_key(KEY)
    }
}

/// What one provider's call looks like on the wire.
#[derive(Debug, Clone)]
struct Captured {
    /// Path and query.
    target: String,
    body: Bytes,
    response: Bytes,
    content_type: String,
}

/// The headers every protocol accepts as authentication; the floor sends the one its provider
/// reads (the canned server checks none).
fn auth_headers(p: Dialect) -> Vec<(&'static str, String)> {
    let mut h = vec![("content-type", "application/json".to_owned())];
    match p {
        Dialect::Anthropic => {
            h.push(("x-api-key", KEY.to_owned()));
            h.push(("anthropic-version", "2023-06-01".to_owned()));
        }
        Dialect::Gemini => h.push(("x-goog-api-key", KEY.to_owned())),
        Dialect::AzureInference => h.push(("api-key", KEY.to_owned())),
        _ => h.push(("authorization", format!("Bearer {KEY}"))),
    }
    h
}

/// Sends each provider's typical call once through the simulator, and replays the journaled
/// request to record the simulator's answer.
fn capture() -> HashMap<&'static str, Captured> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let sim = Simulator::start(Scenario::new()).await.unwrap();
        let http = reqwest::Client::new();
        let mut out = HashMap::new();
        for &(name, registry, model, p) in PROVIDERS {
            sim.reset();
            let call = call_for(name, registry, model, sim.base_url(p));
            let response = call.send(&*PROMPT).await.unwrap();
            assert!(!response.text().is_empty(), "{name}: empty answer");
            let entry = sim.journal().pop().unwrap();
            let target = match &entry.query {
                Some(q) => format!("{}?{q}", entry.path),
                None => entry.path.clone(),
            };
            let mut req = http
                .post(format!("{}{target}", sim.url()))
                .body(entry.body.clone());
            for (k, v) in auth_headers(p) {
                req = req.header(k, v);
            }
            let resp = req.send().await.unwrap();
            assert!(
                resp.status().is_success(),
                "{name}: replay {}",
                resp.status()
            );
            let content_type = resp
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("application/json")
                .to_owned();
            let response = resp.bytes().await.unwrap();
            out.insert(
                name,
                Captured {
                    target,
                    body: entry.body.clone(),
                    response,
                    content_type,
                },
            );
        }
        out
    })
}

/// A keep-alive HTTP/1.1 server answering every request whose path starts with `/{prefix}/` with
/// the captured answer of that provider.
async fn serve(listener: TcpListener, answers: Arc<Vec<(String, Bytes)>>) {
    loop {
        let Ok((socket, _)) = listener.accept().await else {
            return;
        };
        let _ = socket.set_nodelay(true);
        tokio::spawn(connection(socket, Arc::clone(&answers)));
    }
}

async fn connection(mut socket: TcpStream, answers: Arc<Vec<(String, Bytes)>>) {
    let mut buf: Vec<u8> = Vec::with_capacity(16 * 1024);
    loop {
        // Read the head.
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 8192];
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let path = head.split(' ').nth(1).unwrap_or("/").to_owned();
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())?
            })
            .unwrap_or(0);
        while buf.len() < head_end + length {
            let mut chunk = [0u8; 8192];
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        buf.drain(..head_end + length);
        let answer = answers
            .iter()
            .find(|(prefix, _)| path.starts_with(prefix.as_str()))
            .map(|(_, a)| a.clone());
        let Some(answer) = answer else {
            let _ = socket
                .write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
                .await;
            return;
        };
        if socket.write_all(&answer).await.is_err() {
            return;
        }
    }
}

/// The benchmark's runtime, the canned server on it, and per provider the library's call and
/// the floor's request.
struct Setup {
    rt: Runtime,
    calls: HashMap<&'static str, Call>,
    /// The simulator's answer to each provider's typical request.
    responses: HashMap<&'static str, Bytes>,
    floor: HashMap<&'static str, FloorRequest>,
    http: reqwest::Client,
}

struct FloorRequest {
    url: String,
    headers: reqwest::header::HeaderMap,
    body: Bytes,
}

static SETUP: LazyLock<Setup> = LazyLock::new(|| {
    let captured = capture();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(TcpListener::bind("127.0.0.1:0"))
        .expect("bind the canned server");
    let root = format!("http://{}", listener.local_addr().unwrap());
    let mut answers = Vec::new();
    for &(name, ..) in PROVIDERS {
        let c = &captured[name];
        let prefix = format!(
            "/{}/",
            c.target.trim_start_matches('/').split('/').next().unwrap()
        );
        let mut raw = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: {}\r\ncontent-length: {}\r\n\r\n",
            c.content_type,
            c.response.len()
        )
        .into_bytes();
        raw.extend_from_slice(&c.response);
        if !answers.iter().any(|(p, _): &(String, Bytes)| *p == prefix) {
            answers.push((prefix, Bytes::from(raw)));
        }
    }
    rt.spawn(serve(listener, Arc::new(answers)));
    let mut calls = HashMap::new();
    let mut floor = HashMap::new();
    let responses = captured
        .iter()
        .map(|(name, c)| (*name, c.response.clone()))
        .collect();
    for &(name, registry, model, p) in PROVIDERS {
        let c = &captured[name];
        // The simulator's base URL for the protocol, re-rooted at the canned server.
        let base_path = p.base_path();
        calls.insert(
            name,
            call_for(name, registry, model, format!("{root}{base_path}")),
        );
        let mut headers = reqwest::header::HeaderMap::new();
        for (k, v) in auth_headers(p) {
            headers.insert(k, v.parse().unwrap());
        }
        floor.insert(
            name,
            FloorRequest {
                url: format!("{root}{}", c.target),
                headers,
                body: c.body.clone(),
            },
        );
    }
    Setup {
        rt,
        calls,
        responses,
        floor,
        http: reqwest::Client::builder()
            .tcp_nodelay(true)
            .build()
            .unwrap(),
    }
});

/// `call.send(prompt)` of a typical request, to the canned server.
#[divan::bench(args = NAMES, sample_count = 1000)]
fn send(bencher: Bencher, name: &str) {
    let s = &*SETUP;
    let call = s.calls[name].clone();
    // One call first, so connection set-up is not measured.
    s.rt.block_on(call.send(&*PROMPT)).unwrap();
    bencher.bench_local(|| {
        let r = s.rt.block_on(call.send(&*PROMPT)).unwrap();
        divan::black_box(r)
    });
}

/// Building and serialising the provider's request for the typical prompt (`Call::preview`: the
/// provider-independent request, the provider's body, URL and headers; SigV4 signing for
/// `bedrock_sigv4`) — no I/O.
#[divan::bench(args = NAMES, sample_count = 1000)]
fn build(bencher: Bencher, name: &str) {
    let call = &SETUP.calls[name];
    bencher.bench_local(|| divan::black_box(call.preview(&*PROMPT).unwrap()));
}

/// Parsing the simulator's answer to that request into a `Response` (`Call::decode_response`).
#[divan::bench(args = NAMES, sample_count = 1000)]
fn parse(bencher: Bencher, name: &str) {
    let (call, body) = (&SETUP.calls[name], &SETUP.responses[name]);
    bencher.bench_local(|| divan::black_box(call.decode_response(body).unwrap()));
}

/// The reference for `parse`: the same body into a `serde_json::Value`.
#[divan::bench(args = NAMES, sample_count = 1000)]
fn parse_value(bencher: Bencher, name: &str) {
    let body = &SETUP.responses[name];
    bencher.bench_local(|| divan::black_box(serde_json::from_slice::<Value>(body).unwrap()));
}

/// `call.retry(policy).send(prompt)` with the load harness's policy (up to 10 attempts, no wait,
/// transient errors) on a call that succeeds at once: what the retry wrapper adds to `send`.
#[divan::bench(args = ["openai"], sample_count = 1000)]
fn resilient_send(bencher: Bencher, name: &str) {
    use steadfast::resilient::retryable;
    use steadfast::retry::{Retry, stop, wait};
    let s = &*SETUP;
    let policy = Retry::new()
        .stop(stop::after_attempt(10))
        .wait(wait::none())
        .retry_if(retryable());
    let resilient = s.calls[name].clone().retry(policy);
    s.rt.block_on(resilient.send(&*PROMPT)).unwrap();
    bencher.bench_local(|| {
        let r = s.rt.block_on(resilient.send(&*PROMPT)).unwrap();
        divan::black_box(r)
    });
}

/// The floor: the same request bytes with bare `reqwest`, the answer parsed into a
/// `serde_json::Value`.
#[divan::bench(args = NAMES, sample_count = 1000)]
fn floor(bencher: Bencher, name: &str) {
    let s = &*SETUP;
    let f = &s.floor[name];
    let once = || async {
        let resp = s
            .http
            .post(&f.url)
            .headers(f.headers.clone())
            .body(f.body.clone())
            .send()
            .await
            .unwrap();
        let bytes = resp.bytes().await.unwrap();
        serde_json::from_slice::<Value>(&bytes).unwrap()
    };
    s.rt.block_on(once());
    bencher.bench_local(|| divan::black_box(s.rt.block_on(once())));
}

/// `Call::request`: the provider-independent request for the typical prompt (messages, params,
/// tools, client settings cloned).
#[divan::bench]
fn request(bencher: Bencher) {
    let call = llm::call("openai:gpt-4o-mini")
        .unwrap()
        .api_key(KEY)
        .tool(weather_tool());
    bencher.bench_local(|| divan::black_box(call.request(&*PROMPT)));
}

/// A template with a system and a user section, three variables and two reinserted errors.
#[divan::bench]
fn template_render(bencher: Bencher) {
    let template = Template::new(
        "SYSTEM:\nYou are a librarian who knows {genre} books well.\n\nUSER:\n{errors:list}\nRecommend a {genre} book published after {year} for {reader}.",
    )
    .unwrap();
    let errors = [
        Error::validation("author must be uppercase", r#"{"author":"x"}"#),
        Error::validation("missing field `title`", r#"{"author":"X"}"#),
    ];
    let vars = Vars::new()
        .with("genre", "fantasy")
        .with("year", 2000)
        .with("reader", "a long train journey")
        .with_errors("errors", &errors);
    bencher.bench_local(|| divan::black_box(template.render(&vars).unwrap()));
}

/// Validating a tool call's arguments against the tool's JSON Schema (done when a response's
/// tool calls are read).
#[divan::bench]
fn tool_arguments(bencher: Bencher) {
    let tool = weather_tool();
    let call = ToolCall::new(
        "call_1",
        "get_weather",
        r#"{"city":"Paris","unit":"celsius"}"#,
    );
    bencher.bench_local(|| divan::black_box(tool.validate(&call).unwrap()));
}
