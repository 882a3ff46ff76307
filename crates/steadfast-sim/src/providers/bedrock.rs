//! AWS Bedrock Runtime Converse / ConverseStream (protocols.md §7): restJson1 errors with
//! `x-amzn-ErrorType`, binary eventstream frames, SigV4 or bearer auth.

use axum::body::Body;
use bytes::Bytes;
use http::Response;
use serde_json::{Value, json};

use super::novelty;
use super::{Events, Req, Route, hint_headers_as, id_hex, json_response};
use crate::action::{ErrorSpec, FaultKind};
use crate::eventstream;
use crate::model::{
    Answer, ChatRequest, Finish, OutputFormat, ToolChoice, ToolDef, split_fragments, split_words,
};
use crate::scenario::Scenario;
use crate::sigv4::{self, SigError};

fn detail(kind: FaultKind) -> (u16, &'static str, &'static str) {
    match kind {
        FaultKind::RateLimit => (
            429,
            "ThrottlingException",
            "Too many requests, please wait before trying again.",
        ),
        FaultKind::QuotaExhausted => (
            400,
            "ServiceQuotaExceededException",
            "Your request exceeds the service quota for your account. You can view your quotas at Viewing service quotas. You can resubmit your request later.",
        ),
        FaultKind::Overloaded => (
            503,
            "ServiceUnavailableException",
            "Bedrock is unable to process your request.",
        ),
        FaultKind::ServerError => (
            500,
            "InternalServerException",
            "The server encountered an internal error while processing the request.",
        ),
        FaultKind::Timeout => (
            408,
            "ModelTimeoutException",
            "Model has timed out in processing the request. Try your request again.",
        ),
        FaultKind::Auth => (
            403,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ),
        FaultKind::PermissionDenied => (
            403,
            "AccessDeniedException",
            "You don't have access to the model with the specified model ID.",
        ),
        FaultKind::NotFound => (
            404,
            "ResourceNotFoundException",
            "Could not resolve the foundation model from the provided model identifier.",
        ),
        FaultKind::ContextWindowExceeded => (
            400,
            "ValidationException",
            "Input is too long for requested model.",
        ),
        FaultKind::ContentFilter => (
            400,
            "ValidationException",
            "The request was blocked by the content filter.",
        ),
        FaultKind::BadRequest => (
            400,
            "ValidationException",
            "Malformed input request, please reformat your input and try again.",
        ),
        FaultKind::Conflict => (
            400,
            "ConflictException",
            "Error occurred because of a conflict while performing an operation.",
        ),
    }
}

fn send(req: &Req<'_>, status: u16, code: &str, message: &str, spec: &ErrorSpec) -> Response<Body> {
    let mut headers = vec![
        ("x-amzn-requestid".into(), request_id(req)),
        (
            "x-amzn-errortype".into(),
            format!("{code}:http://internal.amazon.com/coral/com.amazon.bedrock/"),
        ),
    ];
    // AWS's millisecond hint is `x-amz-retry-after` (the newer AWS retry spec).
    hint_headers_as(spec, &mut headers, "x-amz-retry-after");
    json_response(status, headers, &json!({ "message": message }))
}

fn request_id(req: &Req<'_>) -> String {
    let h = id_hex(req.seq, 32);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// The provider-native HTTP error.
pub(crate) fn error_response(req: &Req<'_>, spec: &ErrorSpec) -> Response<Body> {
    let (status, code, message) = detail(spec.kind);
    send(
        req,
        spec.status.unwrap_or(status),
        code,
        spec.message.as_deref().unwrap_or(message),
        spec,
    )
}

fn auth_error(req: &Req<'_>, code: &str, message: &str) -> Response<Body> {
    send(req, 403, code, message, &ErrorSpec::new(FaultKind::Auth))
}

/// Accepts a bearer API key or a SigV4 signature (verified when the scenario has credentials).
pub(crate) fn check_auth(req: &Req<'_>, scenario: &Scenario) -> Result<(), Response<Body>> {
    let Some(value) = req.header("authorization").filter(|v| !v.trim().is_empty()) else {
        return Err(auth_error(
            req,
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        ));
    };
    if let Some(token) = req.bearer() {
        return match scenario.require_key.as_deref() {
            Some(k) if k != token => Err(auth_error(
                req,
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            )),
            _ if token.is_empty() => Err(auth_error(
                req,
                "MissingAuthenticationTokenException",
                "Missing Authentication Token",
            )),
            _ => Ok(()),
        };
    }
    let parsed = match sigv4::parse_authorization(value) {
        Ok(p) => p,
        Err(_) => {
            return Err(auth_error(
                req,
                "IncompleteSignatureException",
                &format!(
                    "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters. Authorization={value}"
                ),
            ));
        }
    };
    if parsed.service != "bedrock" {
        return Err(auth_error(
            req,
            "InvalidSignatureException",
            &format!(
                "Credential should be scoped to correct service: 'bedrock'. Received '{}'.",
                parsed.service
            ),
        ));
    }
    let Some(creds) = &scenario.aws else {
        return Ok(());
    };
    let verdict = sigv4::verify(
        req.method.as_str(),
        req.path,
        req.query,
        req.headers,
        req.body,
        &creds.access_key_id,
        &creds.secret_access_key,
    );
    match verdict {
        Ok(()) => Ok(()),
        Err(SigError::UnknownKey) => Err(auth_error(
            req,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        )),
        Err(SigError::Malformed(what)) => Err(auth_error(
            req,
            "IncompleteSignatureException",
            &format!("Invalid signature: {what}"),
        )),
        Err(SigError::Mismatch) => Err(auth_error(
            req,
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
        )),
    }
}

fn invalid(req: &Req<'_>, message: &str) -> Response<Body> {
    send(
        req,
        400,
        "ValidationException",
        message,
        &ErrorSpec::new(FaultKind::BadRequest),
    )
}

/// Parses a Converse request.
pub(crate) fn parse(req: &Req<'_>) -> Result<ChatRequest, Response<Body>> {
    let (model, stream) = match req.route {
        Route::Bedrock { model, stream } => (model.clone(), *stream),
        _ => (String::new(), false),
    };
    let Ok(v) = serde_json::from_slice::<Value>(req.body) else {
        return Err(invalid(
            req,
            "Malformed input request, please reformat your input and try again.",
        ));
    };
    let Some(messages) = v.get("messages").and_then(Value::as_array) else {
        return Err(invalid(
            req,
            "1 validation error detected: Value null at 'messages' failed to satisfy constraint: Member must not be null",
        ));
    };
    let mut chat = ChatRequest::new(model);
    chat.stream = stream;
    for s in v
        .get("system")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        chat.count(s.get("text").and_then(Value::as_str).unwrap_or(""));
    }
    for m in messages {
        let mut text = Vec::new();
        let mut result = None;
        for block in m
            .get("content")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(t) = block.get("text").and_then(Value::as_str) {
                text.push(t.to_owned());
            }
            if let Some(r) = block.get("toolResult") {
                let parts: Vec<String> = r
                    .get("content")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(
                        |c| match (c.get("text").and_then(Value::as_str), c.get("json")) {
                            (Some(t), _) => t.to_owned(),
                            (None, Some(j)) => j.to_string(),
                            _ => String::new(),
                        },
                    )
                    .collect();
                result = Some(parts.join(" "));
            }
        }
        let text = text.join(" ");
        chat.count(&text);
        if m.get("role").and_then(Value::as_str) == Some("user") {
            match result {
                Some(r) => {
                    chat.count(&r);
                    chat.tool_result = Some(r);
                }
                None => {
                    chat.last_user = text;
                    chat.tool_result = None;
                }
            }
        }
    }
    chat.max_tokens = v
        .pointer("/inferenceConfig/maxTokens")
        .and_then(Value::as_u64);
    for t in v
        .pointer("/toolConfig/tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(name) = t.pointer("/toolSpec/name").and_then(Value::as_str) {
            let schema = t
                .pointer("/toolSpec/inputSchema/json")
                .cloned()
                .unwrap_or_else(|| json!({"type": "object"}));
            chat.tools.push(ToolDef {
                name: name.to_owned(),
                schema,
            });
        }
    }
    let choice = v.pointer("/toolConfig/toolChoice");
    chat.tool_choice = if choice.and_then(|c| c.get("any")).is_some() {
        ToolChoice::Required
    } else if let Some(name) = choice
        .and_then(|c| c.pointer("/tool/name"))
        .and_then(Value::as_str)
    {
        ToolChoice::Named(name.to_owned())
    } else {
        ToolChoice::Auto
    };
    chat.output = v
        .pointer("/outputConfig/textFormat/structure/jsonSchema/schema")
        .and_then(|s| match s {
            Value::String(text) => serde_json::from_str(text).ok(),
            other => Some(other.clone()),
        })
        .map(OutputFormat::Schema);
    Ok(chat)
}

fn stop_reason(f: Finish) -> &'static str {
    match f {
        Finish::Stop => "end_turn",
        Finish::Length => "max_tokens",
        Finish::ToolCalls => "tool_use",
        Finish::Refusal => "content_filtered",
    }
}

fn usage(a: &Answer) -> Value {
    json!({"inputTokens": a.prompt_tokens, "outputTokens": a.completion_tokens, "totalTokens": a.total_tokens()})
}

fn tool_use_id(req: &Req<'_>, i: usize) -> String {
    format!("tooluse_{}", super::id_alnum(req.seq, 200 + i as u64, 22))
}

/// A content block whose union member is unknown.
fn novel_block() -> Value {
    json!({ novelty::BEDROCK_BLOCK: novelty::only_field(novelty::FIELD_CAMEL) })
}

/// The non-streaming response.
pub(crate) fn render(
    req: &Req<'_>,
    _chat: &ChatRequest,
    a: &Answer,
    novelty: bool,
) -> Response<Body> {
    let mut content = Vec::new();
    if let Some(t) = a.text.as_deref().or(a.refusal.as_deref()) {
        content.push(json!({ "text": t }));
    }
    for (i, c) in a.tool_calls.iter().enumerate() {
        content.push(json!({"toolUse": {"toolUseId": tool_use_id(req, i), "name": c.name, "input": c.arguments_value()}}));
    }
    if novelty {
        content = novelty::interleave(content, novel_block);
    }
    let mut body = json!({"output": {"message": {"role": "assistant", "content": content}}, "stopReason": stop_reason(a.finish),
        "usage": usage(a), "metrics": {"latencyMs": 1}});
    if novelty {
        novelty::mark(&mut body, &novelty::BEDROCK);
    }
    json_response(
        200,
        vec![("x-amzn-requestid".into(), request_id(req))],
        &body,
    )
}

/// Payload padding like the real service's `p` field (clients must ignore unknown keys).
fn padded(mut v: Value, n: usize) -> Vec<u8> {
    const PAD: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    v["p"] = json!(&PAD[..(n * 7) % PAD.len() + 1]);
    serde_json::to_vec(&v).unwrap_or_default()
}

/// An unknown block streamed at `index`: its start and one delta with unknown union members,
/// its stop.
fn push_novel_block(ev: &mut Vec<(&'static str, Value)>, index: usize) {
    ev.push((
        "contentBlockStart",
        json!({"contentBlockIndex": index, "start": { novelty::BEDROCK_BLOCK: {} }}),
    ));
    ev.push((
        "contentBlockDelta",
        json!({"contentBlockIndex": index, "delta": { novelty::BEDROCK_DELTA: novelty::only_field(novelty::FIELD_CAMEL) }}),
    ));
    ev.push(("contentBlockStop", json!({ "contentBlockIndex": index })));
}

/// The ConverseStream frames (`metadata` is the terminator).
pub(crate) fn stream_events(
    req: &Req<'_>,
    _chat: &ChatRequest,
    a: &Answer,
    novelty: bool,
) -> Events {
    let mut ev: Vec<(&'static str, Value)> = Vec::new();
    ev.push(("messageStart", json!({"role": "assistant"})));
    let mut index = 0usize;
    // With novelty, an unknown block before, between and after the known ones.
    let novel = |ev: &mut Vec<(&'static str, Value)>, index: &mut usize| {
        if novelty {
            push_novel_block(ev, *index);
            *index += 1;
        }
    };
    novel(&mut ev, &mut index);
    if let Some(t) = a.text.as_deref().or(a.refusal.as_deref()) {
        for piece in split_words(t) {
            ev.push((
                "contentBlockDelta",
                json!({"contentBlockIndex": index, "delta": {"text": piece}}),
            ));
        }
        ev.push(("contentBlockStop", json!({ "contentBlockIndex": index })));
        index += 1;
        novel(&mut ev, &mut index);
    }
    for (i, c) in a.tool_calls.iter().enumerate() {
        let idx = index;
        ev.push((
            "contentBlockStart",
            json!({"contentBlockIndex": idx, "start": {"toolUse": {"toolUseId": tool_use_id(req, i), "name": c.name}}}),
        ));
        for frag in split_fragments(&c.arguments, 12) {
            ev.push((
                "contentBlockDelta",
                json!({"contentBlockIndex": idx, "delta": {"toolUse": {"input": frag}}}),
            ));
        }
        ev.push(("contentBlockStop", json!({ "contentBlockIndex": idx })));
        index += 1;
        novel(&mut ev, &mut index);
    }
    ev.push(("messageStop", json!({"stopReason": stop_reason(a.finish)})));
    let mut meta = json!({"usage": usage(a), "metrics": {"latencyMs": 1}});
    if novelty {
        // Unknown events: a frame with an unknown `:event-type` after `messageStart` and
        // before `messageStop`.
        let event = || {
            (
                novelty::BEDROCK_EVENT,
                novelty::only_field(novelty::FIELD_CAMEL),
            )
        };
        novelty::between(&mut ev, event(), event());
        for (_, v) in ev.iter_mut() {
            novelty::mark(v, &novelty::BEDROCK);
        }
        novelty::mark(&mut meta, &novelty::BEDROCK);
    }
    let events = ev
        .into_iter()
        .enumerate()
        .map(|(n, (name, v))| eventstream::event(name, &padded(v, n)))
        .collect();
    Events {
        events,
        end: vec![eventstream::event("metadata", &padded(meta, 3))],
    }
}

/// The in-band exception frame.
pub(crate) fn stream_error(_req: &Req<'_>, spec: &ErrorSpec) -> Vec<Bytes> {
    let (_, _, message) = detail(spec.kind);
    let message = spec.message.as_deref().unwrap_or(message);
    let (member, payload) = match spec.kind {
        FaultKind::RateLimit | FaultKind::QuotaExhausted => {
            ("throttlingException", json!({ "message": message }))
        }
        FaultKind::Overloaded => ("serviceUnavailableException", json!({ "message": message })),
        FaultKind::BadRequest | FaultKind::ContextWindowExceeded | FaultKind::ContentFilter => {
            ("validationException", json!({ "message": message }))
        }
        FaultKind::Timeout => (
            "modelStreamErrorException",
            json!({"message": message, "originalStatusCode": 408, "originalMessage": message}),
        ),
        _ => ("internalServerException", json!({ "message": message })),
    };
    vec![eventstream::exception(
        member,
        &serde_json::to_vec(&payload).unwrap_or_default(),
    )]
}

/// A frame whose message CRC is wrong.
pub(crate) fn malformed_frame() -> Bytes {
    let good = eventstream::event(
        "contentBlockDelta",
        br#"{"contentBlockIndex":0,"delta":{"text":"x"}}"#,
    );
    let mut bad = good.to_vec();
    if let Some(last) = bad.last_mut() {
        *last ^= 0xFF;
    }
    Bytes::from(bad)
}
