//! Google Gemini `generateContent` / `streamGenerateContent` (protocols.md §4).

use axum::body::Body;
use bytes::Bytes;
use http::Response;
use serde_json::{Value, json};

use super::novelty;
use super::{Events, Req, Route, format_secs, hint_headers, id_alnum, json_response, retry_secs};
use crate::action::{ErrorSpec, FaultKind, RetryAfter};
use crate::model::{Answer, ChatRequest, Finish, OutputFormat, ToolChoice, ToolDef};

fn detail(kind: FaultKind, model: &str) -> (u16, &'static str, String) {
    match kind {
        FaultKind::RateLimit => (429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).".into()),
        FaultKind::QuotaExhausted => (429, "RESOURCE_EXHAUSTED", "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.".into()),
        FaultKind::Overloaded => (503, "UNAVAILABLE", "The model is overloaded. Please try again later.".into()),
        FaultKind::ServerError => (500, "INTERNAL", "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting".into()),
        FaultKind::Timeout => (504, "DEADLINE_EXCEEDED", "Deadline expired before operation could complete.".into()),
        FaultKind::Auth => (400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.".into()),
        FaultKind::PermissionDenied => (403, "PERMISSION_DENIED", "Generative Language API has not been used in project 000000000000 before or it is disabled.".into()),
        FaultKind::NotFound => (404, "NOT_FOUND", format!("models/{model} is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.")),
        FaultKind::ContextWindowExceeded => (400, "INVALID_ARGUMENT", "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).".into()),
        FaultKind::ContentFilter => (400, "INVALID_ARGUMENT", "The request was blocked because it violates the content policy.".into()),
        FaultKind::BadRequest => (400, "INVALID_ARGUMENT", "Invalid JSON payload received. Unknown name \"bogus\": Cannot find field.".into()),
        FaultKind::Conflict => (409, "ABORTED", "The operation was aborted.".into()),
    }
}

fn status_name(code: u16) -> &'static str {
    match code {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "INTERNAL",
    }
}

fn error_value(spec: &ErrorSpec, model: &str) -> (u16, Value) {
    let (mut code, mut status, message) = detail(spec.kind, model);
    if let Some(s) = spec.status {
        code = s;
        status = status_name(s);
    }
    let message = spec.message.clone().unwrap_or(message);
    let mut details = Vec::new();
    match spec.kind {
        FaultKind::Auth => details.push(json!({"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
            "domain": "googleapis.com", "metadata": {"service": "generativelanguage.googleapis.com"}})),
        FaultKind::RateLimit | FaultKind::QuotaExhausted => {
            details.push(json!({"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{
                "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                "quotaDimensions": {"location": "global", "model": model}, "quotaValue": "15"}]}));
            details.push(json!({"@type": "type.googleapis.com/google.rpc.Help", "links": [{"description": "Learn more about Gemini API quotas", "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]}));
        }
        _ => {}
    }
    if let Some(secs) = retry_secs(spec) {
        details.push(json!({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": format!("{}s", format_secs(secs))}));
    }
    let mut error = json!({"code": code, "message": message, "status": status});
    if !details.is_empty() {
        error["details"] = Value::Array(details);
    }
    (code, json!({ "error": error }))
}

/// The provider-native HTTP error (`RetryInfo.retryDelay` carries the retry hint; no
/// `retry-after` header, as on the real service).
pub(crate) fn error_response(_req: &Req<'_>, model: &str, spec: &ErrorSpec) -> Response<Body> {
    let (code, body) = error_value(spec, model);
    let mut headers = Vec::new();
    let without_retry = ErrorSpec {
        retry_after: None::<RetryAfter>,
        retry_after_ms: None,
        ..spec.clone()
    };
    hint_headers(&without_retry, &mut headers);
    json_response(code, headers, &body)
}

fn raw_error(status: u16, body: Value) -> Response<Body> {
    json_response(status, Vec::new(), &body)
}

/// Accepts `x-goog-api-key` or `?key=`.
pub(crate) fn check_auth(req: &Req<'_>, require: Option<&str>) -> Result<(), Response<Body>> {
    let key = req
        .header("x-goog-api-key")
        .or_else(|| req.query_param("key"))
        .filter(|k| !k.is_empty());
    match (key, require) {
        (None, _) => Err(raw_error(
            403,
            json!({"error": {"code": 403,
            "message": "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
            "status": "PERMISSION_DENIED"}}),
        )),
        (Some(k), Some(r)) if k != r => {
            let (code, body) = error_value(&ErrorSpec::new(FaultKind::Auth), "");
            Err(raw_error(code, body))
        }
        _ => Ok(()),
    }
}

fn invalid(message: &str) -> Response<Body> {
    raw_error(
        400,
        json!({"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}}),
    )
}

/// A field by its lowerCamelCase name or its proto snake_case name (the API accepts both, and
/// google-genai sends some fields in snake_case).
fn get<'a>(v: &'a Value, camel: &str) -> Option<&'a Value> {
    v.get(camel).or_else(|| {
        let mut snake = String::with_capacity(camel.len() + 4);
        for c in camel.chars() {
            if c.is_ascii_uppercase() {
                snake.push('_');
                snake.push(c.to_ascii_lowercase());
            } else {
                snake.push(c);
            }
        }
        v.get(snake.as_str())
    })
}

/// Parses a `generateContent` request.
pub(crate) fn parse(req: &Req<'_>) -> Result<ChatRequest, Response<Body>> {
    let (model, stream) = match req.route {
        Route::Gemini { model, stream } => (model.clone(), *stream),
        _ => (String::new(), false),
    };
    let Ok(v) = serde_json::from_slice::<Value>(req.body) else {
        return Err(invalid("Invalid JSON payload received. Unexpected token."));
    };
    let Some(contents) = v
        .get("contents")
        .and_then(Value::as_array)
        .filter(|c| !c.is_empty())
    else {
        return Err(invalid(
            "* GenerateContentRequest.contents: contents is not specified\n",
        ));
    };
    let mut chat = ChatRequest::new(model);
    chat.stream = stream;
    if let Some(parts) = get(&v, "systemInstruction")
        .and_then(|s| s.get("parts"))
        .and_then(Value::as_array)
    {
        for p in parts {
            chat.count(p.get("text").and_then(Value::as_str).unwrap_or(""));
        }
    }
    let model_signs = signs_calls(&chat.model);
    for c in contents {
        let mut text = Vec::new();
        let mut result = None;
        let from_model = c.get("role").and_then(Value::as_str) == Some("model");
        for p in c
            .get("parts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(t) = p.get("text").and_then(Value::as_str) {
                text.push(t);
            }
            if let (true, true, Some(f)) = (model_signs, from_model, get(p, "functionCall")) {
                if get(p, "thoughtSignature").and_then(Value::as_str) != Some(THOUGHT_SIGNATURE) {
                    let name = f.get("name").and_then(Value::as_str).unwrap_or("");
                    return Err(invalid(&format!(
                        "Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly. Additional data, function call `{name}`. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details."
                    )));
                }
            }
            if let Some(r) = get(p, "functionResponse") {
                result = Some(r.get("response").map(Value::to_string).unwrap_or_default());
            }
        }
        let text = text.join(" ");
        chat.count(&text);
        if c.get("role").and_then(Value::as_str).unwrap_or("user") == "user" {
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
    for tool in v
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for f in get(tool, "functionDeclarations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(name) = f.get("name").and_then(Value::as_str) {
                let schema = get(f, "parametersJsonSchema")
                    .or_else(|| f.get("parameters"))
                    .cloned();
                chat.tools.push(ToolDef {
                    name: name.to_owned(),
                    schema: schema.unwrap_or_else(|| json!({"type": "object"})),
                });
            }
        }
    }
    let fcc = get(&v, "toolConfig").and_then(|t| get(t, "functionCallingConfig"));
    chat.tool_choice = match fcc.and_then(|c| c.get("mode")).and_then(Value::as_str) {
        Some("ANY") => match fcc
            .and_then(|c| get(c, "allowedFunctionNames"))
            .and_then(Value::as_array)
            .map(Vec::as_slice)
        {
            Some([one]) => one
                .as_str()
                .map_or(ToolChoice::Required, |n| ToolChoice::Named(n.to_owned())),
            _ => ToolChoice::Required,
        },
        Some("NONE") => ToolChoice::None,
        _ => ToolChoice::Auto,
    };
    let gc = get(&v, "generationConfig");
    chat.max_tokens = gc
        .and_then(|g| get(g, "maxOutputTokens"))
        .and_then(Value::as_u64);
    let schema = gc
        .and_then(|g| get(g, "responseJsonSchema").or_else(|| get(g, "responseSchema")))
        .cloned();
    let json_mime = gc
        .and_then(|g| get(g, "responseMimeType"))
        .and_then(Value::as_str)
        == Some("application/json");
    chat.output = match schema {
        Some(s) => Some(OutputFormat::Schema(s)),
        None if json_mime => Some(OutputFormat::JsonObject),
        None => None,
    };
    Ok(chat)
}

fn finish_reason(f: Finish) -> &'static str {
    match f {
        Finish::Stop | Finish::ToolCalls => "STOP",
        Finish::Length => "MAX_TOKENS",
        Finish::Refusal => "SAFETY",
    }
}

fn usage(a: &Answer, done: bool) -> Value {
    let mut u = json!({"promptTokenCount": a.prompt_tokens, "totalTokenCount": a.prompt_tokens,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": a.prompt_tokens}]});
    if done {
        u["candidatesTokenCount"] = json!(a.completion_tokens);
        u["totalTokenCount"] = json!(a.total_tokens());
    }
    u
}

fn chunk(
    req: &Req<'_>,
    chat: &ChatRequest,
    a: &Answer,
    parts: Vec<Value>,
    finish: Option<&str>,
) -> Value {
    let mut cand = json!({"content": {"parts": parts, "role": "model"}, "index": 0});
    if let Some(f) = finish {
        cand["finishReason"] = json!(f);
    }
    json!({"candidates": [cand], "usageMetadata": usage(a, finish.is_some()), "modelVersion": chat.model,
        "responseId": id_alnum(req.seq, 5, 23)})
}

/// The `thoughtSignature` the simulated thinking models put on their function calls (valid
/// base64, as real signatures are: `sim-thought-signature`).
pub(crate) const THOUGHT_SIGNATURE: &str = "c2ltLXRob3VnaHQtc2lnbmF0dXJl";

/// Whether `model` is a thinking model that signs its function calls and, like Gemini 3, rejects
/// a conversation that gives one back without its signature.
fn signs_calls(model: &str) -> bool {
    model.starts_with("gemini-3")
}

fn call_parts(chat: &ChatRequest, a: &Answer) -> Vec<Value> {
    a.tool_calls
        .iter()
        .map(|c| {
            let mut part = json!({"functionCall": {"name": c.name, "args": c.arguments_value()}});
            if signs_calls(&chat.model) {
                part["thoughtSignature"] = json!(THOUGHT_SIGNATURE);
            }
            part
        })
        .collect()
}

/// A part with an unknown key.
fn novel_part() -> Value {
    json!({ novelty::GEMINI_PART: novelty::only_field(novelty::FIELD_CAMEL) })
}

/// The non-streaming response.
pub(crate) fn render(
    req: &Req<'_>,
    chat: &ChatRequest,
    a: &Answer,
    novelty: bool,
) -> Response<Body> {
    let mut parts = Vec::new();
    if let Some(t) = a.text.as_deref().or(a.refusal.as_deref()) {
        parts.push(json!({ "text": t }));
    }
    parts.extend(call_parts(chat, a));
    if novelty {
        parts = novelty::interleave(parts, novel_part);
    }
    let mut body = chunk(req, chat, a, parts, Some(finish_reason(a.finish)));
    if novelty {
        novelty::mark(&mut body, &novelty::GEMINI);
    }
    json_response(200, Vec::new(), &body)
}

fn sse(v: &Value) -> Bytes {
    let mut out = b"data: ".to_vec();
    let _ = serde_json::to_writer(&mut out, v);
    out.extend_from_slice(b"\r\n\r\n");
    Bytes::from(out)
}

/// The streaming events: SSE with CRLF separators (`alt=sse`) or a streamed JSON array.
pub(crate) fn stream_events(
    req: &Req<'_>,
    chat: &ChatRequest,
    a: &Answer,
    novelty: bool,
) -> Events {
    let mut chunks: Vec<Vec<Value>> =
        crate::model::split_words(a.text.as_deref().or(a.refusal.as_deref()).unwrap_or(""))
            .into_iter()
            .map(|t| vec![json!({ "text": t })])
            .collect();
    let calls = call_parts(chat, a);
    if !calls.is_empty() {
        chunks.push(calls);
    }
    if chunks.is_empty() {
        chunks.push(vec![json!({"text": ""})]);
    }
    let last = chunks.len() - 1;
    let mut values: Vec<Value> = chunks
        .into_iter()
        .enumerate()
        .map(|(i, parts)| {
            let parts = if novelty {
                novelty::interleave(parts, novel_part)
            } else {
                parts
            };
            chunk(
                req,
                chat,
                a,
                parts,
                (i == last).then(|| finish_reason(a.finish)),
            )
        })
        .collect();
    if novelty {
        // Unknown events: a chunk whose candidate holds only an unknown part, and a chunk with
        // only an unknown top-level field.
        let part_only = chunk(req, chat, a, vec![novel_part()], None);
        let mut field_only = novelty::only_field(novelty::FIELD_CAMEL);
        field_only["modelVersion"] = json!(chat.model);
        field_only["responseId"] = json!(id_alnum(req.seq, 5, 23));
        novelty::between(&mut values, part_only, field_only);
        for v in &mut values {
            novelty::mark(v, &novelty::GEMINI);
        }
    }
    if req.query_param("alt") == Some("sse") {
        return Events {
            events: values.iter().map(sse).collect(),
            end: Vec::new(),
        };
    }
    let events = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let mut out = if i == 0 {
                b"[".to_vec()
            } else {
                b",\r\n".to_vec()
            };
            let _ = serde_json::to_writer(&mut out, v);
            Bytes::from(out)
        })
        .collect();
    Events {
        events,
        end: vec![Bytes::from_static(b"]")],
    }
}

/// The in-band error: a pretty-printed JSON error object without a `data:` prefix.
pub(crate) fn stream_error(req: &Req<'_>, spec: &ErrorSpec) -> Vec<Bytes> {
    let (_, body) = error_value(spec, "");
    let mut out = serde_json::to_vec_pretty(&body).unwrap_or_default();
    out.push(b'\n');
    if req.query_param("alt") == Some("sse") {
        vec![Bytes::from(out)]
    } else {
        let mut framed = b",\r\n".to_vec();
        framed.extend_from_slice(&out);
        framed.push(b']');
        vec![Bytes::from(framed)]
    }
}
