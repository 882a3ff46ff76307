//! The gateway's inbound protocols, OpenAI Chat Completions and Anthropic Messages, as a client
//! (anyone who can reach the gateway) drives them: a request body — raw bytes, or JSON built
//! from the protocol's own request shapes with fuzzer-filled holes (see `grammar.rs`) — through
//! `Protocol::decode`; and, for a request that decodes, the answer written back in the caller's
//! protocol: a whole response (`encode_response`, `encode_response_bytes`) and a stream
//! (`stream_encoder`: every event, then the finish or an error event) from an upstream OpenAI
//! answer the fuzzer also builds, and the protocol's error body for any error kind. Rejecting a
//! request is its right; a panic is a bug (a client could take a connection down with it).
#![no_main]

mod grammar;

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use futures_util::StreamExt as _;
use grammar::{Doc, Grammar, Item};
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use steadfast::{Call, ErrorKind, llm};
use steadfast_gateway::inbound::{
    AnthropicMessages, ApiError, Envelope, InboundRequest, OpenAiChat, Protocol,
};

/// Request shapes of both protocols (one vocabulary: a client may send either's fields to
/// either route).
static REQUEST: Grammar = Grammar {
    providers: &[],
    keys: &[&[
        "model",
        "messages",
        "role",
        "content",
        "type",
        "text",
        "name",
        "tool_calls",
        "tool_call_id",
        "function",
        "arguments",
        "id",
        "image_url",
        "url",
        "detail",
        "refusal",
        "tools",
        "tool_choice",
        "parameters",
        "description",
        "strict",
        "response_format",
        "json_schema",
        "schema",
        "stream",
        "stream_options",
        "include_usage",
        "temperature",
        "top_p",
        "top_k",
        "max_tokens",
        "max_completion_tokens",
        "stop",
        "stop_sequences",
        "seed",
        "n",
        "frequency_penalty",
        "presence_penalty",
        "logit_bias",
        "logprobs",
        "parallel_tool_calls",
        "user",
        "metadata",
        "store",
        "service_tier",
        "system",
        "input_schema",
        "input",
        "tool_use_id",
        "is_error",
        "source",
        "media_type",
        "data",
        "cache_control",
        "thinking",
        "budget_tokens",
        "output_config",
        "format",
        "disable_parallel_tool_use",
        "reasoning_effort",
        "properties",
        "required",
    ]],
    strings: &[
        "system",
        "developer",
        "user",
        "assistant",
        "tool",
        "function",
        "text",
        "image_url",
        "image",
        "tool_use",
        "tool_result",
        "thinking",
        "json_schema",
        "json_object",
        "auto",
        "none",
        "required",
        "any",
        "base64",
        "url",
        "image/png",
        "ephemeral",
        "enabled",
        "object",
        "string",
        "openai:gpt-4o-mini",
        "data:image/png;base64,iVBORw0KGgo=",
        "{\"a\":1}",
        "{",
        "",
    ],
    events: &[],
    bodies: &[
        // OpenAI Chat Completions. Each shape is a valid request while its holes hold their
        // defaults ("x", 0, 1, true, null), so that short inputs reach the encoders.
        r#"{"model":"$S","messages":[{"role":"system","content":"$S"},{"role":"user","content":"$S"}],"stream":"$B","temperature":"$N","max_tokens":"$N"}"#,
        r#"{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"$S"},{"type":"image_url","image_url":{"url":"https://example.com/a.png","detail":"auto"}}]}],"stream":"$B","stream_options":{"include_usage":"$B"}}"#,
        r#"{"model":"m","messages":[{"role":"user","content":"$S"},{"role":"assistant","content":null,"tool_calls":[{"id":"$S","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},{"role":"tool","tool_call_id":"$S","content":"$S"}],"tools":[{"type":"function","function":{"name":"get_weather","description":"$S","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}],"tool_choice":"auto","parallel_tool_calls":"$B","stream":"$B"}"#,
        r#"{"model":"m","messages":[{"role":"user","content":"$S"}],"response_format":{"type":"json_schema","json_schema":{"name":"$S","schema":{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]},"strict":"$B"}},"stream":"$B"}"#,
        r#"{"model":"m","messages":[{"role":"developer","content":[{"type":"text","text":"$S"}]},{"role":"user","content":"$S"}],"response_format":{"type":"json_object"},"stop":["$S"],"seed":"$N","top_p":"$N","max_completion_tokens":"$N","n":1}"#,
        // Anything anywhere.
        r#"{"model":"m","messages":"$J","tools":"$J","tool_choice":"$J","response_format":"$J","stop":"$J","seed":"$J","n":"$J","stream_options":"$J","max_completion_tokens":"$J","reasoning_effort":"$J"}"#,
        r#"{"model":"m","messages":[{"role":"$S","content":"$J","name":"$J","tool_calls":"$J","tool_call_id":"$J"}],"stream":"$J"}"#,
        // Anthropic Messages.
        r#"{"model":"$S","max_tokens":"$N","system":"$S","messages":[{"role":"user","content":"$S"}],"stream":"$B","temperature":"$N","top_p":"$N","stop_sequences":["$S"]}"#,
        r#"{"model":"m","max_tokens":16,"system":[{"type":"text","text":"$S","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":[{"type":"text","text":"$S"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}}]}],"stream":"$B"}"#,
        r#"{"model":"m","max_tokens":16,"messages":[{"role":"user","content":"$S"},{"role":"assistant","content":[{"type":"text","text":"$S"},{"type":"tool_use","id":"$S","name":"get_weather","input":{"city":"$S"}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"$S","content":"$S","is_error":"$B"}]}],"tools":[{"name":"get_weather","description":"$S","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}],"tool_choice":{"type":"auto"},"stream":"$B"}"#,
        r#"{"model":"m","max_tokens":16,"messages":[{"role":"user","content":"$S"}],"output_config":{"format":{"type":"json_schema","schema":{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]}}},"stream":"$B"}"#,
        r#"{"model":"m","max_tokens":2048,"messages":[{"role":"user","content":"$S"},{"role":"assistant","content":[{"type":"thinking","thinking":"$S","signature":"$S"},{"type":"text","text":"$S"}]},{"role":"user","content":"$S"}]}"#,
        // Anything anywhere.
        r#"{"model":"m","max_tokens":"$J","system":"$J","messages":[{"role":"$S","content":"$J"}],"tools":"$J","tool_choice":"$J","output_config":"$J","thinking":"$J","metadata":"$J","stream":"$J"}"#,
    ],
    named_events: false,
    eventstream: false,
};

/// The upstream's answer: OpenAI chat-completion bodies and stream chunks (`provider_openai`'s
/// vocabulary, fewer shapes).
static UPSTREAM: Grammar = Grammar {
    providers: &["openai"],
    keys: &[grammar::CHAT_COMPLETION_KEYS],
    strings: &[
        "assistant",
        "function",
        "stop",
        "length",
        "tool_calls",
        "content_filter",
        "server_error",
        "rate_limit_exceeded",
        "{\"a\":1}",
        "{",
        "",
    ],
    events: &[
        (
            "",
            r#"{"id":"c","choices":[{"index":0,"delta":{"role":"assistant","content":"$S","refusal":"$J"},"finish_reason":null}]}"#,
        ),
        (
            "",
            r#"{"id":"c","choices":[{"index":"$I","delta":{"tool_calls":[{"index":"$I","id":"$S","type":"function","function":{"name":"$S","arguments":"$S"}}]}}]}"#,
        ),
        (
            "",
            r#"{"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"$S"}],"usage":"$J"}"#,
        ),
        (
            "",
            r#"{"id":"c","choices":[],"usage":{"prompt_tokens":"$N","completion_tokens":"$N"}}"#,
        ),
        ("", r#"{"error":{"message":"$S","type":"$S","code":"$J"}}"#),
    ],
    bodies: &[
        r#"{"id":"$S","choices":[{"index":0,"message":{"role":"assistant","content":"$J","refusal":"$J","tool_calls":[{"id":"$S","type":"function","function":{"name":"$S","arguments":"$S"}}]},"finish_reason":"$S"}],"usage":{"prompt_tokens":"$N","completion_tokens":"$N"}}"#,
        r#"{"choices":[{"index":0,"message":"$J","finish_reason":"$J"}],"usage":"$J"}"#,
    ],
    named_events: false,
    eventstream: false,
};

#[derive(Debug, Arbitrary)]
struct Input {
    /// Anthropic Messages when set, OpenAI Chat Completions otherwise.
    anthropic: bool,
    /// The body as raw bytes (not JSON, not UTF-8, truncated…) instead of `request`.
    raw: Option<Vec<u8>>,
    request: Doc,
    /// Anthropic's `anthropic-version` header (which it requires): `2023-06-01` when `None`.
    version: Option<String>,
    /// Anthropic's `anthropic-beta` header.
    beta: Option<String>,
    answer: Doc,
    stream: Vec<Item>,
    /// The error the stream ends with, if any (its kind, by index), and its cause.
    error: Option<(u8, Option<u8>, String)>,
}

struct Harness {
    rt: tokio::runtime::Runtime,
    upstream: Call,
    requests: Vec<Value>,
    bodies: Vec<Value>,
    events: Vec<Value>,
}

fn harness() -> &'static Harness {
    static H: OnceLock<Harness> = OnceLock::new();
    H.get_or_init(|| Harness {
        rt: tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime"),
        upstream: llm::call(("openai", "fuzz-model"))
            .expect("a registered provider")
            .base_url("http://127.0.0.1:9")
            .api_key("sk-fuzz-0123456789"),
        requests: grammar::parse_skeletons(REQUEST.bodies),
        bodies: grammar::parse_skeletons(UPSTREAM.bodies),
        events: grammar::parse_skeletons(
            &UPSTREAM.events.iter().map(|(_, s)| *s).collect::<Vec<_>>(),
        ),
    })
}

/// An error kind of the library, by index.
fn kind(i: u8) -> ErrorKind {
    ErrorKind::ALL[usize::from(i) % ErrorKind::ALL.len()]
}

fuzz_target!(|input: Input| {
    let h = harness();
    let protocol: &dyn Protocol = if input.anthropic {
        &AnthropicMessages
    } else {
        &OpenAiChat
    };
    let mut headers = HeaderMap::new();
    let version = input.version.as_deref().unwrap_or("2023-06-01");
    if let Ok(version) = HeaderValue::from_str(version) {
        headers.insert("anthropic-version", version);
    }
    if let Some(beta) = input
        .beta
        .as_deref()
        .and_then(|b| HeaderValue::from_str(b).ok())
    {
        headers.insert("anthropic-beta", beta);
    }
    let body = match &input.raw {
        Some(raw) => raw.clone(),
        None => input
            .request
            .json(&REQUEST, &h.requests)
            .to_string()
            .into_bytes(),
    };
    let envelope = Envelope::new("0123456789abcdef", 1_700_000_000, "fuzz-model");
    let request = match protocol.decode(&headers, &body) {
        Ok(request) => request,
        Err(e) => {
            // The rejection as the client gets it.
            let _ = (protocol.status(&e), protocol.error_body(&e, &envelope));
            return;
        }
    };
    answer(protocol, &request, &input, &envelope, h);
});

/// Writes an upstream answer back in the caller's protocol, whole and streamed.
fn answer(
    protocol: &dyn Protocol,
    request: &InboundRequest,
    input: &Input,
    envelope: &Envelope,
    h: &Harness,
) {
    let body = input.answer.json(&UPSTREAM, &h.bodies).to_string();
    if let Ok(response) = h.upstream.decode_response(body.as_bytes()) {
        // Structured output, when asked for, is the answer's JSON (the gateway validates it
        // first; here any value, since an encoder must not depend on that).
        let structured = request
            .output
            .as_ref()
            .map(|_| serde_json::from_str(response.text()).unwrap_or(Value::Null));
        let _ = protocol.encode_response(request, &response, structured.as_ref(), envelope);
        let _ = protocol.encode_response_bytes(request, &response, structured.as_ref(), envelope);
    }

    let mut encoder = protocol.stream_encoder(request, envelope);
    let bytes = grammar::sse_bytes(&UPSTREAM, &h.events, &input.stream);
    h.rt.block_on(async {
        let mut events = h.upstream.decode_stream(bytes);
        while let Some(event) = events.next().await {
            match event {
                Ok(event) => {
                    let _ = encoder.event(&event);
                }
                Err(e) => {
                    let _ = encoder.error(&steadfast_gateway::errors::from_library(&e));
                    return;
                }
            }
        }
        match &input.error {
            Some((k, cause, message)) => {
                let mut e = ApiError::new(kind(*k), message.clone());
                e.cause = cause.map(kind);
                let _ = encoder.error(&e);
                let _ = (protocol.status(&e), protocol.error_body(&e, envelope));
            }
            None => {
                let _ = encoder.finish();
            }
        }
    });
}
