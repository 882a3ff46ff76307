//! Anthropic Messages (protocols.md §3).

use axum::body::Body;
use bytes::Bytes;
use http::Response;
use serde_json::{Value, json};

use super::novelty;
use super::{Events, Req, content_text, hint_headers, id_alnum, json_response, sse_event};
use crate::action::{ErrorSpec, FaultKind};
use crate::model::{
    Answer, ChatRequest, Finish, OutputFormat, ToolChoice, ToolDef, split_fragments, split_words,
};

fn request_id(req: &Req<'_>) -> String {
    format!("req_011C{}", id_alnum(req.seq, 7, 20))
}

fn detail(kind: FaultKind, model: &str) -> (u16, &'static str, String) {
    match kind {
        FaultKind::RateLimit => (429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit (https://docs.anthropic.com/en/api/rate-limits); see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later. You may also contact sales at https://www.anthropic.com/contact-sales to discuss your options for a rate limit increase.".into()),
        FaultKind::QuotaExhausted => (402, "billing_error", "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.".into()),
        FaultKind::Overloaded => (529, "overloaded_error", "Overloaded".into()),
        FaultKind::ServerError => (500, "api_error", "Internal server error".into()),
        FaultKind::Timeout => (504, "timeout_error", "Request timed out".into()),
        FaultKind::Auth => (401, "authentication_error", "invalid x-api-key".into()),
        FaultKind::PermissionDenied => (403, "permission_error", "Your API key does not have permission to use the specified resource.".into()),
        FaultKind::NotFound => (404, "not_found_error", format!("model: {model}")),
        FaultKind::ContextWindowExceeded => (400, "invalid_request_error", "prompt is too long: 215312 tokens > 200000 maximum".into()),
        FaultKind::ContentFilter => (400, "invalid_request_error", "Output blocked by content filtering policy".into()),
        FaultKind::BadRequest => (400, "invalid_request_error", "messages: Input should be a valid list".into()),
        FaultKind::Conflict => (409, "invalid_request_error", "The request conflicts with another request in progress.".into()),
    }
}

fn headers(req: &Req<'_>) -> Vec<(String, String)> {
    vec![
        ("request-id".into(), request_id(req)),
        (
            "anthropic-organization-id".into(),
            "00000000-0000-4000-8000-000000000000".into(),
        ),
        ("anthropic-ratelimit-requests-limit".into(), "4000".into()),
        (
            "anthropic-ratelimit-requests-remaining".into(),
            "3999".into(),
        ),
        (
            "anthropic-ratelimit-requests-reset".into(),
            "2026-01-01T00:00:00Z".into(),
        ),
    ]
}

fn send(req: &Req<'_>, status: u16, kind: &str, message: &str, spec: &ErrorSpec) -> Response<Body> {
    let mut h = headers(req);
    if spec.should_retry.is_none() {
        let retry = status == 408 || status == 409 || status == 429 || status >= 500;
        h.push(("x-should-retry".into(), retry.to_string()));
    }
    hint_headers(spec, &mut h);
    let body = json!({"type": "error", "error": {"type": kind, "message": message}, "request_id": request_id(req)});
    json_response(status, h, &body)
}

/// The provider-native HTTP error for `spec`.
pub(crate) fn error_response(req: &Req<'_>, spec: &ErrorSpec) -> Response<Body> {
    let (status, kind, message) = detail(spec.kind, "");
    let status = spec.status.unwrap_or(status);
    send(
        req,
        status,
        kind,
        spec.message.as_deref().unwrap_or(&message),
        spec,
    )
}

fn invalid(req: &Req<'_>, message: &str) -> Response<Body> {
    send(
        req,
        400,
        "invalid_request_error",
        message,
        &ErrorSpec::new(FaultKind::BadRequest),
    )
}

/// Accepts `x-api-key` or `Authorization: Bearer`.
pub(crate) fn check_auth(req: &Req<'_>, require: Option<&str>) -> Result<(), Response<Body>> {
    let key = req
        .header("x-api-key")
        .or_else(|| req.bearer())
        .filter(|k| !k.is_empty());
    match (key, require) {
        (None, _) => Err(send(
            req,
            401,
            "authentication_error",
            "x-api-key header is required",
            &ErrorSpec::new(FaultKind::Auth),
        )),
        (Some(k), Some(r)) if k != r => Err(send(
            req,
            401,
            "authentication_error",
            "invalid x-api-key",
            &ErrorSpec::new(FaultKind::Auth),
        )),
        _ => Ok(()),
    }
}

fn block_text(content: Option<&Value>) -> (String, Option<String>) {
    match content {
        Some(Value::Array(blocks)) => {
            let mut text = Vec::new();
            let mut result = None;
            for b in blocks {
                match b.get("type").and_then(Value::as_str) {
                    Some("text") => text.push(
                        b.get("text")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_owned(),
                    ),
                    Some("tool_result") => result = Some(content_text(b.get("content"))),
                    _ => {}
                }
            }
            (text.join(" "), result)
        }
        other => (content_text(other), None),
    }
}

/// Parses a Messages request.
pub(crate) fn parse(req: &Req<'_>) -> Result<ChatRequest, Response<Body>> {
    if req.header("anthropic-version").is_none_or(str::is_empty) {
        return Err(invalid(req, "anthropic-version: header is required"));
    }
    let Ok(v) = serde_json::from_slice::<Value>(req.body) else {
        return Err(invalid(
            req,
            "There was an error parsing the body of your request. Please make sure the body is valid JSON.",
        ));
    };
    let Some(model) = v.get("model").and_then(Value::as_str) else {
        return Err(invalid(req, "model: Field required"));
    };
    let Some(max_tokens) = v.get("max_tokens").and_then(Value::as_u64) else {
        return Err(invalid(req, "max_tokens: Field required"));
    };
    let Some(messages) = v.get("messages").and_then(Value::as_array) else {
        return Err(invalid(req, "messages: Field required"));
    };
    let mut chat = ChatRequest::new(model);
    chat.max_tokens = Some(max_tokens);
    chat.count(&content_text(v.get("system")));
    for m in messages {
        let (text, result) = block_text(m.get("content"));
        chat.count(&text);
        if m.get("role").and_then(Value::as_str) == Some("user") {
            if let Some(r) = result {
                chat.count(&r);
                chat.tool_result = Some(r);
            } else {
                chat.last_user = text;
                chat.tool_result = None;
            }
        }
    }
    chat.stream = v.get("stream").and_then(Value::as_bool).unwrap_or(false);
    if let Some(tools) = v.get("tools").and_then(Value::as_array) {
        chat.tools = tools
            .iter()
            .filter_map(|t| {
                Some(ToolDef {
                    name: t.get("name")?.as_str()?.to_owned(),
                    schema: t.get("input_schema")?.clone(),
                })
            })
            .collect();
    }
    chat.tool_choice = match v.pointer("/tool_choice/type").and_then(Value::as_str) {
        Some("any") => ToolChoice::Required,
        Some("none") => ToolChoice::None,
        Some("tool") => match v.pointer("/tool_choice/name").and_then(Value::as_str) {
            Some(n) => ToolChoice::Named(n.to_owned()),
            None => ToolChoice::Required,
        },
        _ => ToolChoice::Auto,
    };
    let format = v
        .pointer("/output_config/format")
        .or_else(|| v.get("output_format"));
    chat.output = format
        .filter(|f| f.get("type").and_then(Value::as_str) == Some("json_schema"))
        .and_then(|f| f.get("schema").cloned())
        .map(OutputFormat::Schema);
    Ok(chat)
}

fn stop_reason(f: Finish) -> &'static str {
    match f {
        Finish::Stop => "end_turn",
        Finish::Length => "max_tokens",
        Finish::ToolCalls => "tool_use",
        Finish::Refusal => "refusal",
    }
}

fn message_id(req: &Req<'_>) -> String {
    format!("msg_01{}", id_alnum(req.seq, 3, 22))
}

fn tool_id(req: &Req<'_>, i: usize) -> String {
    format!("toolu_01{}", id_alnum(req.seq, 100 + i as u64, 22))
}

fn usage(a: &Answer, output: u64) -> Value {
    json!({"input_tokens": a.prompt_tokens, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
        "output_tokens": output, "service_tier": "standard"})
}

fn answer_text(a: &Answer) -> Option<&str> {
    a.text.as_deref().or(a.refusal.as_deref())
}

/// The non-streaming response.
pub(crate) fn render(
    req: &Req<'_>,
    chat: &ChatRequest,
    a: &Answer,
    novelty: bool,
) -> Response<Body> {
    let mut content = Vec::new();
    if let Some(t) = answer_text(a) {
        content.push(json!({"type": "text", "text": t}));
    }
    for (i, c) in a.tool_calls.iter().enumerate() {
        content.push(json!({"type": "tool_use", "id": tool_id(req, i), "name": c.name, "input": c.arguments_value()}));
    }
    if novelty {
        content = novelty::interleave(content, novel_block);
    }
    let mut body = json!({"id": message_id(req), "type": "message", "role": "assistant", "model": chat.model,
        "content": content, "stop_reason": stop_reason(a.finish), "stop_sequence": null, "usage": usage(a, a.completion_tokens)});
    if a.finish == Finish::Refusal {
        body["stop_details"] = json!({"type": "refusal", "category": null, "explanation": null});
    }
    if novelty {
        novelty::mark(&mut body, &novelty::ANTHROPIC);
    }
    json_response(200, headers(req), &body)
}

/// A content block of an unknown type.
fn novel_block() -> Value {
    json!({"type": novelty::BLOCK_TYPE, novelty::FIELD: novelty::value()})
}

/// An unknown block streamed at `index`: its start, one delta of an unknown type, its stop.
fn push_novel_block(ev: &mut Vec<(&'static str, Value)>, index: usize) {
    ev.push((
        "content_block_start",
        json!({"type": "content_block_start", "index": index, "content_block": novel_block()}),
    ));
    ev.push((
        "content_block_delta",
        json!({"type": "content_block_delta", "index": index,
        "delta": {"type": novelty::DELTA_TYPE, novelty::FIELD: novelty::value()}}),
    ));
    ev.push((
        "content_block_stop",
        json!({"type": "content_block_stop", "index": index}),
    ));
}

/// The streaming events (`message_stop` is the terminator).
pub(crate) fn stream_events(
    req: &Req<'_>,
    chat: &ChatRequest,
    a: &Answer,
    novelty: bool,
) -> Events {
    let mut ev: Vec<(&'static str, Value)> = Vec::new();
    let start = json!({"type": "message_start", "message": {"id": message_id(req), "type": "message", "role": "assistant",
        "model": chat.model, "content": [], "stop_reason": null, "stop_sequence": null, "usage": usage(a, 1)}});
    ev.push(("message_start", start));
    let ping = || ("ping", json!({"type": "ping"}));
    let mut index = 0usize;
    // With novelty, an unknown block before, between and after the known ones.
    let novel = |ev: &mut Vec<(&'static str, Value)>, index: &mut usize| {
        if novelty {
            push_novel_block(ev, *index);
            *index += 1;
        }
    };
    novel(&mut ev, &mut index);
    if let Some(t) = answer_text(a) {
        ev.push(("content_block_start", json!({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}})));
        ev.push(ping());
        for piece in split_words(t) {
            ev.push(("content_block_delta", json!({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": piece}})));
        }
        ev.push((
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        ));
        index += 1;
        novel(&mut ev, &mut index);
    } else {
        ev.insert(1, ping());
    }
    for (i, c) in a.tool_calls.iter().enumerate() {
        let idx = index;
        ev.push(("content_block_start", json!({"type": "content_block_start", "index": idx,
            "content_block": {"type": "tool_use", "id": tool_id(req, i), "name": c.name, "input": {}}})));
        let delta = |p: &str| json!({"type": "content_block_delta", "index": idx, "delta": {"type": "input_json_delta", "partial_json": p}});
        ev.push(("content_block_delta", delta("")));
        for frag in split_fragments(&c.arguments, 12) {
            ev.push(("content_block_delta", delta(frag)));
        }
        ev.push((
            "content_block_stop",
            json!({"type": "content_block_stop", "index": idx}),
        ));
        index += 1;
        novel(&mut ev, &mut index);
    }
    let mut delta = json!({"type": "message_delta", "delta": {"stop_reason": stop_reason(a.finish), "stop_sequence": null},
        "usage": {"output_tokens": a.completion_tokens}});
    if a.finish == Finish::Refusal {
        delta["delta"]["stop_details"] =
            json!({"type": "refusal", "category": null, "explanation": null});
    }
    ev.push(("message_delta", delta));
    let mut end = [("message_stop", json!({"type": "message_stop"}))];
    if novelty {
        // Unknown events: a named event of an unknown type after `message_start` and before
        // `message_delta`.
        let event = || {
            (
                novelty::ANTHROPIC_EVENT,
                json!({"type": novelty::ANTHROPIC_EVENT, novelty::FIELD: novelty::value()}),
            )
        };
        novelty::between(&mut ev, event(), event());
        for (_, v) in ev.iter_mut().chain(end.iter_mut()) {
            novelty::mark(v, &novelty::ANTHROPIC);
        }
    }
    let frame = |(name, v): &(&str, Value)| sse_event(name, v);
    Events {
        events: ev.iter().map(frame).collect(),
        end: end.iter().map(frame).collect(),
    }
}

/// The in-band error event.
pub(crate) fn stream_error(_req: &Req<'_>, spec: &ErrorSpec) -> Vec<Bytes> {
    let (_, kind, message) = detail(spec.kind, "");
    let message = spec.message.clone().unwrap_or(message);
    vec![sse_event(
        "error",
        &json!({"type": "error", "error": {"type": kind, "message": message}}),
    )]
}
