//! Cohere v2 chat (protocols.md §6).

use axum::body::Body;
use bytes::Bytes;
use http::Response;
use serde_json::{Value, json};

use super::novelty;
use super::{Events, Req, content_text, hint_headers, id_hex, json_response, sse_event};
use crate::action::{ErrorSpec, FaultKind};
use crate::model::{
    Answer, ChatRequest, Finish, OutputFormat, ToolChoice, ToolDef, split_fragments, split_words,
};

fn uuid(seq: u64, salt: u64) -> String {
    let h = id_hex(seq.wrapping_mul(31).wrapping_add(salt), 32);
    format!(
        "{}-{}-4{}-8{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

fn detail(kind: FaultKind, model: &str) -> (u16, String) {
    match kind {
        FaultKind::RateLimit => (429, "You are using a Trial key, which is limited to 20 API calls / minute. You can continue to use the Trial key for free or upgrade to a Production key with higher rate limits at 'https://dashboard.cohere.com/api-keys'. Contact us on 'https://discord.gg/XW44jPfYJu' or email us at support@cohere.com with any questions".into()),
        FaultKind::QuotaExhausted => (429, "You are using a Trial key, which is limited to 1000 API calls / month. You can continue to use the Trial key for free or upgrade to a Production key with higher rate limits at 'https://dashboard.cohere.com/api-keys'.".into()),
        FaultKind::Overloaded => (503, "service unavailable".into()),
        FaultKind::ServerError => (500, "internal server error, this has been reported to our developers".into()),
        FaultKind::Timeout => (504, "gateway timeout".into()),
        FaultKind::Auth => (401, "invalid api token".into()),
        FaultKind::PermissionDenied => (403, "forbidden".into()),
        FaultKind::NotFound => (404, format!("model '{model}' not found, make sure the correct model ID was used and that you have access to the model.")),
        FaultKind::ContextWindowExceeded => (400, "too many tokens: total number of tokens in the prompt cannot exceed 128000 - received 130172. Try using a shorter prompt, or enabling prompt truncating. See https://docs.cohere.com/reference/chat for more details.".into()),
        FaultKind::ContentFilter => (400, "blocked output: please adjust your prompt and try again, as this generation may be a potential violation of our Usage Policy".into()),
        FaultKind::BadRequest => (400, "invalid request: messages must not be empty".into()),
        FaultKind::Conflict => (409, "conflict".into()),
    }
}

fn send(req: &Req<'_>, status: u16, message: &str, spec: &ErrorSpec) -> Response<Body> {
    let mut headers = vec![("x-debug-trace-id".into(), id_hex(req.seq, 32))];
    hint_headers(spec, &mut headers);
    json_response(
        status,
        headers,
        &json!({"id": uuid(req.seq, 1), "message": message}),
    )
}

/// The provider-native HTTP error.
pub(crate) fn error_response(req: &Req<'_>, spec: &ErrorSpec) -> Response<Body> {
    let (status, message) = detail(spec.kind, "");
    send(
        req,
        spec.status.unwrap_or(status),
        spec.message.as_deref().unwrap_or(&message),
        spec,
    )
}

/// Accepts `Authorization: Bearer`.
pub(crate) fn check_auth(req: &Req<'_>, require: Option<&str>) -> Result<(), Response<Body>> {
    let spec = ErrorSpec::new(FaultKind::Auth);
    match (req.bearer().filter(|k| !k.is_empty()), require) {
        (None, _) => Err(send(req, 401, "no api key supplied", &spec)),
        (Some(k), Some(r)) if k != r => Err(send(req, 401, "invalid api token", &spec)),
        _ => Ok(()),
    }
}

fn invalid(req: &Req<'_>, message: &str) -> Response<Body> {
    send(req, 400, message, &ErrorSpec::new(FaultKind::BadRequest))
}

/// Parses a v2 chat request.
pub(crate) fn parse(req: &Req<'_>) -> Result<ChatRequest, Response<Body>> {
    let Ok(v) = serde_json::from_slice::<Value>(req.body) else {
        return Err(invalid(
            req,
            "invalid request: request body is not valid JSON",
        ));
    };
    let Some(model) = v.get("model").and_then(Value::as_str) else {
        return Err(invalid(req, "invalid request: model must be specified"));
    };
    let Some(messages) = v
        .get("messages")
        .and_then(Value::as_array)
        .filter(|m| !m.is_empty())
    else {
        return Err(invalid(req, "invalid request: messages must not be empty"));
    };
    let mut chat = ChatRequest::new(model);
    for m in messages {
        let content = m.get("content");
        let text = match content {
            Some(Value::Array(parts)) => parts
                .iter()
                .map(|p| match p.get("document") {
                    Some(doc) => doc.get("data").map_or_else(
                        || doc.to_string(),
                        |d| d.as_str().map_or_else(|| d.to_string(), str::to_owned),
                    ),
                    None => p
                        .get("text")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned(),
                })
                .collect::<Vec<_>>()
                .join(" "),
            other => content_text(other),
        };
        chat.count(&text);
        match m.get("role").and_then(Value::as_str) {
            Some("user") => {
                chat.last_user = text;
                chat.tool_result = None;
            }
            Some("tool") => chat.tool_result = Some(text),
            _ => {}
        }
    }
    chat.stream = v.get("stream").and_then(Value::as_bool).unwrap_or(false);
    chat.max_tokens = v.get("max_tokens").and_then(Value::as_u64);
    for t in v
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(name) = t.pointer("/function/name").and_then(Value::as_str) {
            let schema = t
                .pointer("/function/parameters")
                .cloned()
                .unwrap_or_else(|| json!({"type": "object"}));
            chat.tools.push(ToolDef {
                name: name.to_owned(),
                schema,
            });
        }
    }
    chat.tool_choice = match v.get("tool_choice").and_then(Value::as_str) {
        Some("REQUIRED") => ToolChoice::Required,
        Some("NONE") => ToolChoice::None,
        _ => ToolChoice::Auto,
    };
    chat.output = match v.pointer("/response_format/type").and_then(Value::as_str) {
        Some("json_object") => Some(match v.pointer("/response_format/json_schema") {
            Some(s) => OutputFormat::Schema(s.clone()),
            None => OutputFormat::JsonObject,
        }),
        _ => None,
    };
    Ok(chat)
}

fn finish_reason(f: Finish) -> &'static str {
    match f {
        Finish::Stop | Finish::Refusal => "COMPLETE",
        Finish::Length => "MAX_TOKENS",
        Finish::ToolCalls => "TOOL_CALL",
    }
}

fn usage(a: &Answer) -> Value {
    let t = json!({"input_tokens": a.prompt_tokens, "output_tokens": a.completion_tokens});
    json!({"billed_units": t, "tokens": t})
}

fn call_id(req: &Req<'_>, name: &str, i: usize) -> String {
    format!(
        "{name}_{}",
        id_hex(req.seq.wrapping_add(i as u64 * 7919), 12)
    )
}

/// A content item of an unknown type.
fn novel_item() -> Value {
    json!({"type": novelty::BLOCK_TYPE, novelty::FIELD: novelty::value()})
}

/// The non-streaming response.
pub(crate) fn render(
    req: &Req<'_>,
    _chat: &ChatRequest,
    a: &Answer,
    novelty: bool,
) -> Response<Body> {
    let mut message = json!({"role": "assistant"});
    let text = a.text.as_deref().or(a.refusal.as_deref());
    if a.tool_calls.is_empty() {
        let content = vec![json!({"type": "text", "text": text.unwrap_or("")})];
        message["content"] = Value::Array(if novelty {
            novelty::interleave(content, novel_item)
        } else {
            content
        });
    } else {
        message["tool_plan"] = json!(text.unwrap_or("I will call the requested tool."));
        message["tool_calls"] = a
            .tool_calls
            .iter()
            .enumerate()
            .map(|(i, c)| json!({"id": call_id(req, &c.name, i), "type": "function", "function": {"name": c.name, "arguments": c.arguments}}))
            .collect();
        if novelty {
            message["content"] = json!([novel_item()]);
        }
    }
    let mut body = json!({"id": uuid(req.seq, 2), "message": message, "finish_reason": finish_reason(a.finish), "usage": usage(a)});
    if novelty {
        novelty::mark(&mut body, &novelty::COHERE);
    }
    json_response(
        200,
        vec![("x-debug-trace-id".into(), id_hex(req.seq, 32))],
        &body,
    )
}

/// An unknown content item streamed at `index`: its start, one delta, its end.
fn push_novel_item(ev: &mut Vec<(&'static str, Value)>, index: usize) {
    ev.push((
        "content-start",
        json!({"type": "content-start", "index": index, "delta": {"message": {"content": novel_item()}}}),
    ));
    ev.push((
        "content-delta",
        json!({"type": "content-delta", "index": index,
        "delta": {"message": {"content": novelty::only_field(novelty::FIELD)}}}),
    ));
    ev.push((
        "content-end",
        json!({"type": "content-end", "index": index}),
    ));
}

/// The streaming events (`message-end` is the terminator).
pub(crate) fn stream_events(
    req: &Req<'_>,
    _chat: &ChatRequest,
    a: &Answer,
    novelty: bool,
) -> Events {
    let mut ev: Vec<(&'static str, Value)> = vec![(
        "message-start",
        json!({"type": "message-start", "id": uuid(req.seq, 2), "delta": {"message": {"role": "assistant"}}}),
    )];
    let text = a.text.as_deref().or(a.refusal.as_deref());
    if a.tool_calls.is_empty() {
        // With novelty, an unknown item before and after the text item.
        let index = usize::from(novelty);
        if novelty {
            push_novel_item(&mut ev, 0);
        }
        ev.push(("content-start", json!({"type": "content-start", "index": index, "delta": {"message": {"content": {"type": "text", "text": ""}}}})));
        for piece in split_words(text.unwrap_or("")) {
            ev.push(("content-delta", json!({"type": "content-delta", "index": index, "delta": {"message": {"content": {"text": piece}}}})));
        }
        ev.push((
            "content-end",
            json!({"type": "content-end", "index": index}),
        ));
        if novelty {
            push_novel_item(&mut ev, index + 1);
        }
    } else {
        if novelty {
            push_novel_item(&mut ev, 0);
        }
        for piece in split_words(text.unwrap_or("I will call the requested tool.")) {
            ev.push((
                "tool-plan-delta",
                json!({"type": "tool-plan-delta", "delta": {"message": {"tool_plan": piece}}}),
            ));
        }
        for (i, c) in a.tool_calls.iter().enumerate() {
            ev.push(("tool-call-start", json!({"type": "tool-call-start", "index": i, "delta": {"message": {"tool_calls": {
                "id": call_id(req, &c.name, i), "type": "function", "function": {"name": c.name, "arguments": ""}}}}})));
            for frag in split_fragments(&c.arguments, 12) {
                ev.push(("tool-call-delta", json!({"type": "tool-call-delta", "index": i, "delta": {"message": {"tool_calls": {"function": {"arguments": frag}}}}})));
            }
            ev.push((
                "tool-call-end",
                json!({"type": "tool-call-end", "index": i}),
            ));
        }
    }
    let mut end = [(
        "message-end",
        json!({"type": "message-end", "delta": {"finish_reason": finish_reason(a.finish), "usage": usage(a)}}),
    )];
    if novelty {
        // Unknown events: an event of an unknown type after `message-start` and before the
        // last content event.
        let event = || {
            (
                novelty::COHERE_EVENT,
                json!({"type": novelty::COHERE_EVENT, novelty::FIELD: novelty::value()}),
            )
        };
        novelty::between(&mut ev, event(), event());
        for (_, v) in ev.iter_mut().chain(end.iter_mut()) {
            novelty::mark(v, &novelty::COHERE);
        }
    }
    let frame = |(name, v): &(&str, Value)| sse_event(name, v);
    Events {
        events: ev.iter().map(frame).collect(),
        end: end.iter().map(frame).collect(),
    }
}

/// The in-band error: `message-end` with `finish_reason: ERROR`.
pub(crate) fn stream_error(_req: &Req<'_>, spec: &ErrorSpec) -> Vec<Bytes> {
    let (_, message) = detail(spec.kind, "");
    let message = spec.message.clone().unwrap_or(message);
    let zero = json!({"input_tokens": 0, "output_tokens": 0});
    vec![sse_event(
        "message-end",
        &json!({"type": "message-end", "delta": {"finish_reason": "ERROR", "error": message,
        "usage": {"billed_units": zero, "tokens": zero}}}),
    )]
}
