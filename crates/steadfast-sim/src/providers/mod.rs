//! The wire protocols: routing, auth, request parsing, responses, stream events and errors,
//! one module per protocol family.

#![allow(
    clippy::result_large_err,
    reason = "the error is the ready-made HTTP response, built once on a cold path and moved out"
)]

pub(crate) mod anthropic;
pub(crate) mod bedrock;
pub(crate) mod cohere;
pub(crate) mod gemini;
pub(crate) mod novelty;
pub(crate) mod openai;

use axum::body::Body;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Response, StatusCode};
use serde_json::Value;

use crate::action::{ErrorSpec, RetryAfter};
use crate::model::{Answer, ChatRequest};
use crate::provider::Dialect;
use crate::scenario::Scenario;

/// The endpoint a request was routed to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Route {
    /// OpenAI-style chat completions (all OpenAI-family providers); Azure OpenAI carries its
    /// deployment from the path.
    Chat { deployment: Option<String> },
    /// Anthropic `/v1/messages`.
    Messages,
    /// Gemini `models/{model}:generateContent` or `:streamGenerateContent`.
    Gemini { model: String, stream: bool },
    /// Cohere `/v2/chat`.
    CohereChat,
    /// Bedrock `/model/{id}/converse[-stream]`.
    Bedrock { model: String, stream: bool },
}

/// Everything a protocol needs to know about one request.
#[derive(Debug)]
pub(crate) struct Req<'a> {
    pub(crate) provider: Dialect,
    pub(crate) route: &'a Route,
    pub(crate) method: &'a Method,
    pub(crate) path: &'a str,
    pub(crate) query: Option<&'a str>,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) body: &'a Bytes,
    pub(crate) seq: u64,
    pub(crate) created: u64,
}

impl Req<'_> {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub(crate) fn query_param(&self, name: &str) -> Option<&str> {
        self.query?.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k == name).then_some(v)
        })
    }

    /// The bearer token of the `Authorization` header, if any.
    pub(crate) fn bearer(&self) -> Option<&str> {
        let auth = self.header("authorization")?;
        let (scheme, token) = auth.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    }
}

/// Stream events for one answer: content events and the terminator (sent only when the
/// stream ends normally).
#[derive(Debug, Default)]
pub(crate) struct Events {
    pub(crate) events: Vec<Bytes>,
    pub(crate) end: Vec<Bytes>,
}

/// Finds the provider and endpoint for a request path.
pub(crate) fn route(method: &Method, path: &str) -> Option<(Dialect, Route)> {
    if method != Method::POST {
        return None;
    }
    for provider in Dialect::ALL {
        if let Some(rest) = path.strip_prefix(provider.prefix()) {
            if rest.starts_with('/') {
                return route_within(provider, rest);
            }
        }
    }
    canonical(path)
}

fn route_within(provider: Dialect, rest: &str) -> Option<(Dialect, Route)> {
    let chat = || Some((provider, Route::Chat { deployment: None }));
    match provider {
        Dialect::OpenAi | Dialect::Xai | Dialect::Mistral if rest == "/v1/chat/completions" => {
            chat()
        }
        Dialect::LiteLlm if rest == "/v1/chat/completions" || rest == "/chat/completions" => chat(),
        Dialect::Groq if rest == "/openai/v1/chat/completions" => chat(),
        Dialect::AzureInference
            if rest == "/models/chat/completions" || rest == "/chat/completions" =>
        {
            chat()
        }
        Dialect::AzureOpenAi => azure_deployment(rest),
        Dialect::Anthropic if rest == "/v1/messages" => Some((provider, Route::Messages)),
        Dialect::Gemini => gemini_route(rest),
        Dialect::Cohere if rest == "/v2/chat" => Some((provider, Route::CohereChat)),
        Dialect::Bedrock => bedrock_route(rest),
        _ => None,
    }
}

fn canonical(path: &str) -> Option<(Dialect, Route)> {
    match path {
        "/v1/chat/completions" | "/chat/completions" => {
            Some((Dialect::OpenAi, Route::Chat { deployment: None }))
        }
        "/v1/messages" => Some((Dialect::Anthropic, Route::Messages)),
        "/v2/chat" => Some((Dialect::Cohere, Route::CohereChat)),
        "/models/chat/completions" => {
            Some((Dialect::AzureInference, Route::Chat { deployment: None }))
        }
        p if p.starts_with("/openai/deployments/") => azure_deployment(p),
        p if p.starts_with("/model/") => bedrock_route(p),
        p if p.starts_with("/v1beta/models/") || p.starts_with("/v1/models/") => gemini_route(p),
        _ => None,
    }
}

fn azure_deployment(rest: &str) -> Option<(Dialect, Route)> {
    if rest == "/openai/v1/chat/completions" {
        return Some((Dialect::AzureOpenAi, Route::Chat { deployment: None }));
    }
    let d = rest
        .strip_prefix("/openai/deployments/")?
        .strip_suffix("/chat/completions")?;
    (!d.is_empty() && !d.contains('/')).then(|| {
        (
            Dialect::AzureOpenAi,
            Route::Chat {
                deployment: Some(percent_decode(d)),
            },
        )
    })
}

fn gemini_route(rest: &str) -> Option<(Dialect, Route)> {
    let tail = rest
        .strip_prefix("/v1beta/models/")
        .or_else(|| rest.strip_prefix("/v1/models/"))?;
    let (model, method) = tail.rsplit_once(':')?;
    let stream = match method {
        "generateContent" => false,
        "streamGenerateContent" => true,
        _ => return None,
    };
    (!model.is_empty() && !model.contains('/')).then(|| {
        (
            Dialect::Gemini,
            Route::Gemini {
                model: percent_decode(model),
                stream,
            },
        )
    })
}

fn bedrock_route(rest: &str) -> Option<(Dialect, Route)> {
    let tail = rest.strip_prefix("/model/")?;
    let (model, stream) = if let Some(m) = tail.strip_suffix("/converse-stream") {
        (m, true)
    } else {
        (tail.strip_suffix("/converse")?, false)
    };
    (!model.is_empty() && !model.contains('/')).then(|| {
        (
            Dialect::Bedrock,
            Route::Bedrock {
                model: percent_decode(model),
                stream,
            },
        )
    })
}

/// Decodes `%XX` escapes (invalid escapes are kept as they are).
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(b) = hex {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Checks the request's credentials in the provider's real header form.
pub(crate) fn check_auth(req: &Req<'_>, scenario: &Scenario) -> Result<(), Response<Body>> {
    match req.provider {
        Dialect::Anthropic => anthropic::check_auth(req, scenario.require_key.as_deref()),
        Dialect::Gemini => gemini::check_auth(req, scenario.require_key.as_deref()),
        Dialect::Cohere => cohere::check_auth(req, scenario.require_key.as_deref()),
        Dialect::Bedrock => bedrock::check_auth(req, scenario),
        _ => openai::check_auth(req, scenario.require_key.as_deref()),
    }
}

/// The credential a request presents, whatever the provider's header for it: what a quota is
/// counted per. Never recorded.
pub(crate) fn presented_key<'a>(req: &'a Req<'_>) -> Option<&'a str> {
    ["api-key", "x-api-key", "x-goog-api-key"]
        .into_iter()
        .find_map(|h| req.header(h))
        .or_else(|| req.query_param("key"))
        .or_else(|| req.bearer())
        .or_else(|| {
            // SigV4: `… Credential=AKID/date/region/service/aws4_request, …`
            let auth = req.header("authorization")?;
            let (_, rest) = auth.split_once("Credential=")?;
            rest.split('/').next()
        })
        .filter(|k| !k.is_empty())
}

/// Parses the body into the provider-neutral request (or the provider's validation error).
pub(crate) fn parse(req: &Req<'_>) -> Result<ChatRequest, Response<Body>> {
    match req.route {
        Route::Chat { .. } => openai::parse(req),
        Route::Messages => anthropic::parse(req),
        Route::Gemini { .. } => gemini::parse(req),
        Route::CohereChat => cohere::parse(req),
        Route::Bedrock { .. } => bedrock::parse(req),
    }
}

/// The non-streaming success body (`novelty`: with the novelty fault's additions).
pub(crate) fn render(
    req: &Req<'_>,
    chat: &ChatRequest,
    answer: &Answer,
    novelty: bool,
) -> Response<Body> {
    match req.route {
        Route::Chat { .. } => openai::render(req, chat, answer, novelty),
        Route::Messages => anthropic::render(req, chat, answer, novelty),
        Route::Gemini { .. } => gemini::render(req, chat, answer, novelty),
        Route::CohereChat => cohere::render(req, chat, answer, novelty),
        Route::Bedrock { .. } => bedrock::render(req, chat, answer, novelty),
    }
}

/// The stream events of an answer (`novelty`: with the novelty fault's additions).
pub(crate) fn stream_events(
    req: &Req<'_>,
    chat: &ChatRequest,
    answer: &Answer,
    novelty: bool,
) -> Events {
    match req.route {
        Route::Chat { .. } => openai::stream_events(req, chat, answer, novelty),
        Route::Messages => anthropic::stream_events(req, chat, answer, novelty),
        Route::Gemini { .. } => gemini::stream_events(req, chat, answer, novelty),
        Route::CohereChat => cohere::stream_events(req, chat, answer, novelty),
        Route::Bedrock { .. } => bedrock::stream_events(req, chat, answer, novelty),
    }
}

/// The content type of a stream body.
pub(crate) fn stream_content_type(req: &Req<'_>) -> &'static str {
    match req.route {
        Route::Bedrock { .. } => "application/vnd.amazon.eventstream",
        Route::Gemini { .. } if req.query_param("alt") != Some("sse") => {
            "application/json; charset=UTF-8"
        }
        _ => "text/event-stream; charset=utf-8",
    }
}

/// Headers of a successful stream response (request ids as the provider sends them).
pub(crate) fn stream_headers(req: &Req<'_>) -> Vec<(String, String)> {
    let id = id_hex(req.seq, 24);
    match req.provider {
        Dialect::Anthropic => vec![("request-id".into(), format!("req_011C{id}"))],
        Dialect::Bedrock => vec![("x-amzn-requestid".into(), id)],
        Dialect::AzureOpenAi | Dialect::AzureInference => vec![("apim-request-id".into(), id)],
        Dialect::Gemini => Vec::new(),
        Dialect::Cohere => vec![("x-debug-trace-id".into(), id)],
        _ => vec![("x-request-id".into(), format!("req_{id}"))],
    }
}

/// The provider-native HTTP error.
pub(crate) fn error_response(req: &Req<'_>, model: &str, spec: &ErrorSpec) -> Response<Body> {
    match req.provider {
        Dialect::Anthropic => anthropic::error_response(req, spec),
        Dialect::Gemini => gemini::error_response(req, model, spec),
        Dialect::Cohere => cohere::error_response(req, spec),
        Dialect::Bedrock => bedrock::error_response(req, spec),
        _ => openai::error_response(req, model, spec),
    }
}

/// The provider's in-band stream error (events sent after the content so far).
pub(crate) fn stream_error(req: &Req<'_>, spec: &ErrorSpec) -> Vec<Bytes> {
    match req.route {
        Route::Chat { .. } => openai::stream_error(req, spec),
        Route::Messages => anthropic::stream_error(req, spec),
        Route::Gemini { .. } => gemini::stream_error(req, spec),
        Route::CohereChat => cohere::stream_error(req, spec),
        Route::Bedrock { .. } => bedrock::stream_error(req, spec),
    }
}

/// One malformed event in the provider's framing.
pub(crate) fn malformed_event(req: &Req<'_>) -> Bytes {
    match req.route {
        Route::Bedrock { .. } => bedrock::malformed_frame(),
        Route::Gemini { .. } if req.query_param("alt") != Some("sse") => Bytes::from_static(b",\r\n{\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"tru"),
        Route::Messages => Bytes::from_static(b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_del\n\n"),
        _ => Bytes::from_static(b"data: {\"id\":\"broken\",\"choices\":[{\"delta\":{\"content\":\"tru\n\n"),
    }
}

// ----- shared helpers ------------------------------------------------------------------------

/// `data: <json>\n\n`
pub(crate) fn sse_data(v: &Value) -> Bytes {
    let mut out = Vec::with_capacity(128);
    out.extend_from_slice(b"data: ");
    // Serializing a Value cannot fail.
    let _ = serde_json::to_writer(&mut out, v);
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

/// `event: <name>\ndata: <json>\n\n`
pub(crate) fn sse_event(name: &str, v: &Value) -> Bytes {
    let mut out = Vec::with_capacity(128);
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\ndata: ");
    let _ = serde_json::to_writer(&mut out, v);
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

/// A complete response with a JSON body.
pub(crate) fn json_response(
    status: u16,
    headers: Vec<(String, String)>,
    body: &Value,
) -> Response<Body> {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    response(status, "application/json", headers, Body::from(bytes))
}

/// A complete response.
pub(crate) fn response(
    status: u16,
    content_type: &str,
    headers: Vec<(String, String)>,
    body: Body,
) -> Response<Body> {
    let mut resp = Response::new(body);
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        h.insert(http::header::CONTENT_TYPE, v);
    }
    for (name, value) in headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            h.append(n, v);
        }
    }
    resp
}

/// Adds the hint headers an error spec asks for (`retry-after`, `retry-after-ms`,
/// `x-should-retry`, extra headers).
pub(crate) fn hint_headers(spec: &ErrorSpec, headers: &mut Vec<(String, String)>) {
    hint_headers_as(spec, headers, "retry-after-ms");
}

/// As [`hint_headers`], with the millisecond hint under the provider's own name (Bedrock:
/// `x-amz-retry-after`).
pub(crate) fn hint_headers_as(
    spec: &ErrorSpec,
    headers: &mut Vec<(String, String)>,
    ms_header: &str,
) {
    match spec.retry_after {
        Some(RetryAfter::Seconds(s)) => headers.push(("retry-after".into(), format_secs(s))),
        Some(RetryAfter::DateIn(s)) => {
            let when = std::time::SystemTime::now() + std::time::Duration::from_secs(s);
            headers.push(("retry-after".into(), httpdate::fmt_http_date(when)));
        }
        None => {}
    }
    if let Some(ms) = spec.retry_after_ms {
        headers.push((ms_header.into(), ms.to_string()));
    }
    if let Some(b) = spec.should_retry {
        headers.push(("x-should-retry".into(), b.to_string()));
    }
    // Scripted headers replace the provider's defaults of the same name (a quota's
    // `x-ratelimit-*` over the usual ones).
    headers.retain(|(name, _)| {
        !spec
            .headers
            .iter()
            .any(|(scripted, _)| scripted.eq_ignore_ascii_case(name))
    });
    headers.extend(spec.headers.iter().cloned());
}

/// Seconds as the shortest decimal (`1`, `1.5`).
pub(crate) fn format_secs(s: f64) -> String {
    if s.fract() == 0.0 && s < 1e15 {
        format!("{}", s as u64)
    } else {
        format!("{s}")
    }
}

/// The seconds of `retry-after` (for providers that put the hint in the body).
pub(crate) fn retry_secs(spec: &ErrorSpec) -> Option<f64> {
    match spec.retry_after {
        Some(RetryAfter::Seconds(s)) => Some(s),
        Some(RetryAfter::DateIn(s)) => Some(s as f64),
        None => spec.retry_after_ms.map(|ms| ms as f64 / 1000.0),
    }
}

/// Text of a message `content`: a string, or the `text` of each part of an array.
pub(crate) fn content_text(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| match p {
                Value::String(s) => Some(s.as_str()),
                _ => p.get("text").and_then(Value::as_str),
            })
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

/// A stable pseudo-random id fragment for request `seq` (hex).
pub(crate) fn id_hex(seq: u64, len: usize) -> String {
    let h = crate::engine::draw(0x5EED, seq, 1).to_bits();
    let s = format!("{seq:x}{h:016x}{:016x}", h.rotate_left(17));
    s.chars().take(len).collect()
}

/// A stable alphanumeric id of `len` characters for request `seq` and item `n`.
pub(crate) fn id_alnum(seq: u64, n: u64, len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..len)
        .map(|i| {
            let d = crate::engine::draw(seq, n, i as u64 + 1);
            ALPHABET[(d * ALPHABET.len() as f64) as usize % ALPHABET.len()] as char
        })
        .collect()
}
