//! OpenAI Chat Completions, as `openai` SDKs speak it: `POST /v1/chat/completions`.
//!
//! Accepted and honoured: `model`, `messages` (roles `system`, `developer`, `user`, `assistant`,
//! `tool`; text and `image_url` content parts; assistant `tool_calls`), `max_tokens`,
//! `max_completion_tokens`, `temperature`, `top_p`, `stop`, `seed`, `frequency_penalty`,
//! `presence_penalty`, `tools` (functions), `tool_choice`, `response_format` (`text`,
//! `json_object`, `json_schema` — the output is validated against the schema, and output that
//! fails it is retried by the gateway's policy, which is why `strict` is accepted), `stream`,
//! `stream_options.include_usage`, `n: 1`, `logprobs: false`, `parallel_tool_calls: true`.
//!
//! `stream: true` with a `json_object` or `json_schema` `response_format` is honoured, but the
//! stream starts only once the validated answer is complete: the gateway runs the validated
//! call (its retries included) upstream, then sends the JSON as one content chunk, the
//! `finish_reason` chunk, the usage chunk with `stream_options.include_usage`, and
//! `data: [DONE]`. The client never sees output that failed validation; a failure is the
//! ordinary error response (status and body), as without `stream`.
//!
//! Accepted and ignored (they do not change the answer): `user`, `metadata`, `store`,
//! `service_tier`, `safety_identifier`, `prompt_cache_key`, `prompt_cache_retention`,
//! `stream_options.include_obfuscation`, a message's `name`.
//!
//! Anything else — an unknown field (the real API's `Unrecognized request argument`), `n > 1`,
//! `logprobs`, `audio`, `modalities`, `prediction`, `reasoning_effort`, `web_search_options`,
//! `logit_bias`, `functions`, audio or file content parts, … — is a 400 naming it.

use http::HeaderMap;
use serde_json::{Map, Value, json};
use steadfast::{
    ErrorKind, FinishReason, Message, Part, Response, Role, ToolCall, ToolChoice, Usage,
};

use super::{
    ApiError, CallNames, Envelope, InboundRequest, Protocol, StreamEncoder, StructuredOutput,
    body_object, tool,
};

mod stream;

use stream::ChunkEncoder;

/// OpenAI Chat Completions. See the [module docs](self).
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenAiChat;

/// Fields accepted and ignored: they do not change the answer.
const IGNORED: [&str; 7] = [
    "user",
    "prompt_cache_retention",
    "metadata",
    "store",
    "service_tier",
    "safety_identifier",
    "prompt_cache_key",
];

/// Known fields of the real API that the gateway cannot honour (a 400 names them).
const UNSUPPORTED: [&str; 11] = [
    "audio",
    "modalities",
    "prediction",
    "reasoning_effort",
    "verbosity",
    "web_search_options",
    "logit_bias",
    "top_logprobs",
    "functions",
    "function_call",
    "background",
];

impl Protocol for OpenAiChat {
    fn name(&self) -> &'static str {
        "openai.chat"
    }

    fn request_id_header(&self) -> &'static str {
        "x-request-id"
    }

    fn key<'h>(&self, headers: &'h HeaderMap) -> Option<&'h str> {
        bearer(headers)
    }

    fn decode(&self, _headers: &HeaderMap, body: &[u8]) -> Result<InboundRequest, ApiError> {
        decode(body_object(body)?)
    }

    fn encode_response(
        &self,
        _request: &InboundRequest,
        response: &Response,
        structured: Option<&Value>,
        envelope: &Envelope,
    ) -> Value {
        let mut message =
            json!({"role": "assistant", "content": null, "refusal": null, "annotations": []});
        let finish;
        if let Some(v) = structured {
            message["content"] = Value::String(v.to_string());
            finish = "stop";
        } else {
            let text = response.text();
            if !text.is_empty() {
                message["content"] = Value::String(text.to_owned());
            }
            if let Some(r) = response.refusal() {
                message["refusal"] = Value::String(r.to_owned());
            }
            let calls: Vec<Value> = response.tool_calls().iter().map(tool_call_json).collect();
            if !calls.is_empty() {
                message["tool_calls"] = Value::Array(calls);
            }
            finish = finish_reason(&response.finish_reason());
        }
        json!({
            "id": format!("chatcmpl-{}", envelope.request_id),
            "object": "chat.completion",
            "created": envelope.created,
            "model": envelope.model,
            "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish}],
            "usage": usage_json(response.usage().unwrap_or_default()),
            "service_tier": "default",
            "system_fingerprint": null,
        })
    }

    fn stream_encoder(
        &self,
        request: &InboundRequest,
        envelope: &Envelope,
    ) -> Box<dyn StreamEncoder> {
        Box::new(ChunkEncoder::new(
            format!("chatcmpl-{}", envelope.request_id),
            envelope.created,
            envelope.model.clone(),
            request.include_usage,
        ))
    }

    fn error_body(&self, error: &ApiError, _envelope: &Envelope) -> Value {
        json!({"error": error_object(error)})
    }
}

/// The `error` object of OpenAI's error body (also the in-stream error chunk).
fn error_object(e: &ApiError) -> Value {
    let kind = match e.status {
        401 | 403 | 404 | 400 | 409 | 422 => "invalid_request_error",
        429 if e.kind == ErrorKind::QuotaExhausted => "insufficient_quota",
        429 => "requests",
        _ => "server_error",
    };
    json!({"message": e.message, "type": kind, "param": e.param, "code": e.code})
}

/// The bearer token of `Authorization`.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

fn decode(obj: Map<String, Value>) -> Result<InboundRequest, ApiError> {
    for (k, v) in &obj {
        let k = k.as_str();
        if IGNORED.contains(&k) {
            continue;
        }
        if UNSUPPORTED.contains(&k) {
            if v.is_null() {
                continue;
            }
            return Err(ApiError::unsupported(k, ""));
        }
        match k {
            "model"
            | "messages"
            | "max_tokens"
            | "max_completion_tokens"
            | "temperature"
            | "top_p"
            | "stop"
            | "seed"
            | "frequency_penalty"
            | "presence_penalty"
            | "tools"
            | "tool_choice"
            | "response_format"
            | "stream"
            | "stream_options"
            | "n"
            | "logprobs"
            | "parallel_tool_calls" => {}
            other => {
                return Err(ApiError::invalid(format!(
                    "Unrecognized request argument supplied: {other}"
                ))
                .param(other));
            }
        }
    }
    let model = match obj.get("model") {
        Some(Value::String(m)) if !m.is_empty() => m.clone(),
        _ => {
            return Err(ApiError::invalid("you must provide a model parameter").param("model"));
        }
    };
    let mut req = InboundRequest::new(model);
    req.stream = opt_bool(&obj, "stream")?.unwrap_or(false);
    if let Some(so) = obj.get("stream_options").filter(|v| !v.is_null()) {
        let Some(so) = so.as_object() else {
            return Err(
                ApiError::invalid("`stream_options` must be an object").param("stream_options")
            );
        };
        if !req.stream {
            return Err(ApiError::invalid(
                "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            )
            .param("stream_options"));
        }
        for (k, v) in so {
            match k.as_str() {
                "include_usage" => req.include_usage = v.as_bool().unwrap_or(false),
                "include_obfuscation" => {}
                other => {
                    return Err(ApiError::unsupported(
                        &format!("stream_options.{other}"),
                        "",
                    ));
                }
            }
        }
    }
    if let Some(n) = obj.get("n").and_then(Value::as_u64)
        && n != 1
    {
        return Err(ApiError::unsupported("n", " other than 1"));
    }
    if opt_bool(&obj, "logprobs")? == Some(true) {
        return Err(ApiError::unsupported("logprobs", ""));
    }
    if opt_bool(&obj, "parallel_tool_calls")? == Some(false) {
        return Err(ApiError::unsupported(
            "parallel_tool_calls",
            " set to false",
        ));
    }
    let p = &mut req.params;
    p.max_tokens = opt_u32(&obj, "max_completion_tokens")?.or(opt_u32(&obj, "max_tokens")?);
    p.temperature = opt_f64(&obj, "temperature")?;
    p.top_p = opt_f64(&obj, "top_p")?;
    p.seed = match obj.get("seed") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_i64()
                .ok_or_else(|| ApiError::invalid("`seed` must be an integer").param("seed"))?,
        ),
    };
    p.frequency_penalty = opt_f64(&obj, "frequency_penalty")?;
    p.presence_penalty = opt_f64(&obj, "presence_penalty")?;
    p.stop = match obj.get("stop") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .map(|s| {
                s.as_str().map(str::to_owned).ok_or_else(|| {
                    ApiError::invalid("`stop` must be a string or a list of strings").param("stop")
                })
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(
                ApiError::invalid("`stop` must be a string or a list of strings").param("stop"),
            );
        }
    };
    if let Some(tools) = obj.get("tools").filter(|v| !v.is_null()) {
        let Some(tools) = tools.as_array() else {
            return Err(ApiError::invalid("`tools` must be an array").param("tools"));
        };
        for (i, t) in tools.iter().enumerate() {
            let param = format!("tools[{i}]");
            if t.get("type").and_then(Value::as_str) != Some("function") {
                return Err(ApiError::unsupported(
                    &format!("{param}.type"),
                    " other than `function`",
                ));
            }
            let f = t
                .get("function")
                .and_then(Value::as_object)
                .ok_or_else(|| {
                    ApiError::invalid("a tool needs a `function` object").param(param.clone())
                })?;
            let name = f.get("name").and_then(Value::as_str).ok_or_else(|| {
                ApiError::invalid("a function needs a `name`").param(param.clone())
            })?;
            let desc = f.get("description").and_then(Value::as_str).unwrap_or("");
            let strict = f.get("strict").and_then(Value::as_bool).unwrap_or(false);
            req.tools
                .push(tool(name, desc, f.get("parameters"), &param)?.strict(strict));
        }
    }
    req.tool_choice = match obj.get("tool_choice") {
        None | Some(Value::Null) => ToolChoice::Auto,
        Some(Value::String(s)) => match s.as_str() {
            "auto" => ToolChoice::Auto,
            "none" => ToolChoice::None,
            "required" => ToolChoice::Required,
            other => {
                return Err(ApiError::invalid(format!(
                    "Invalid value for 'tool_choice': '{other}'"
                ))
                .param("tool_choice"));
            }
        },
        Some(Value::Object(o)) => match o.pointer_name() {
            Some(name) => ToolChoice::Tool(name),
            None => return Err(ApiError::unsupported("tool_choice", " of this form")),
        },
        Some(_) => {
            return Err(ApiError::invalid("Invalid type for 'tool_choice'").param("tool_choice"));
        }
    };
    req.output = match obj.get("response_format") {
        None | Some(Value::Null) => None,
        Some(rf) => match rf.get("type").and_then(Value::as_str) {
            Some("text") => None,
            Some("json_object") => Some(StructuredOutput {
                name: "json_object".into(),
                schema: json!({"type": "object"}),
            }),
            Some("json_schema") => {
                let js = rf.get("json_schema").ok_or_else(|| {
                    ApiError::invalid("Missing required parameter: 'response_format.json_schema'.")
                        .param("response_format.json_schema")
                })?;
                let name = js
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("output")
                    .to_owned();
                let schema = js
                    .get("schema")
                    .cloned()
                    .unwrap_or_else(|| json!({"type": "object"}));
                Some(StructuredOutput { name, schema })
            }
            _ => {
                return Err(
                    ApiError::invalid("Invalid value for 'response_format.type'")
                        .param("response_format.type"),
                );
            }
        },
    };
    let messages = match obj.get("messages") {
        Some(Value::Array(m)) if !m.is_empty() => m,
        Some(Value::Array(_)) => {
            return Err(ApiError::invalid(
                "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
            )
            .param("messages"));
        }
        _ => {
            return Err(
                ApiError::invalid("Missing required parameter: 'messages'.").param("messages")
            );
        }
    };
    req.messages = messages_of(messages)?;
    Ok(req)
}

trait PointerName {
    fn pointer_name(&self) -> Option<String>;
}

impl PointerName for Map<String, Value> {
    /// `{"type": "function", "function": {"name": …}}`.
    fn pointer_name(&self) -> Option<String> {
        if self.get("type").and_then(Value::as_str) != Some("function") {
            return None;
        }
        self.get("function")?
            .get("name")?
            .as_str()
            .map(str::to_owned)
    }
}

fn opt_bool(obj: &Map<String, Value>, k: &str) -> Result<Option<bool>, ApiError> {
    match obj.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(ApiError::invalid(format!("`{k}` must be a boolean")).param(k)),
    }
}

fn opt_f64(obj: &Map<String, Value>, k: &str) -> Result<Option<f64>, ApiError> {
    match obj.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_f64()
            .map(Some)
            .ok_or_else(|| ApiError::invalid(format!("`{k}` must be a number")).param(k)),
    }
}

fn opt_u32(obj: &Map<String, Value>, k: &str) -> Result<Option<u32>, ApiError> {
    match obj.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| {
                ApiError::invalid(format!("`{k}` must be a non-negative integer")).param(k)
            }),
    }
}

/// The library's messages for OpenAI's `messages`.
fn messages_of(messages: &[Value]) -> Result<Vec<Message>, ApiError> {
    let mut out = Vec::with_capacity(messages.len());
    // Tool call ids to names, for the tool results that answer them.
    let mut names = CallNames::default();
    for (i, m) in messages.iter().enumerate() {
        let at = |field: &str| format!("messages[{i}].{field}");
        let Some(o) = m.as_object() else {
            return Err(
                ApiError::invalid("a message must be an object").param(format!("messages[{i}]"))
            );
        };
        for k in o.keys() {
            match k.as_str() {
                "role" | "content" | "name" | "tool_calls" | "tool_call_id" | "refusal" => {}
                "audio" | "function_call" => return Err(ApiError::unsupported(&at(k), "")),
                other => {
                    return Err(ApiError::invalid(format!(
                        "Unrecognized message argument supplied: {other}"
                    ))
                    .param(at(other)));
                }
            }
        }
        let role = o.get("role").and_then(Value::as_str).unwrap_or("");
        match role {
            "system" | "developer" => {
                out.push(Message::system(text_of(o.get("content"), &at("content"))?));
            }
            "user" => out.push(Message::new(
                Role::User,
                parts_of(o.get("content"), &at("content"))?,
            )),
            "assistant" => {
                let mut parts = match o.get("content") {
                    None | Some(Value::Null) => Vec::new(),
                    c => {
                        let t = text_of(c, &at("content"))?;
                        if t.is_empty() {
                            Vec::new()
                        } else {
                            vec![Part::text(t)]
                        }
                    }
                };
                if let Some(calls) = o.get("tool_calls").filter(|v| !v.is_null()) {
                    let calls = calls.as_array().ok_or_else(|| {
                        ApiError::invalid("`tool_calls` must be an array").param(at("tool_calls"))
                    })?;
                    for c in calls {
                        let id = c.get("id").and_then(Value::as_str).unwrap_or("");
                        let f = c.get("function");
                        let name = f.and_then(|f| f.get("name")).and_then(Value::as_str);
                        let args = f
                            .and_then(|f| f.get("arguments"))
                            .and_then(Value::as_str)
                            .unwrap_or("{}");
                        let Some(name) = name else {
                            return Err(ApiError::invalid("a tool call needs a function name")
                                .param(at("tool_calls")));
                        };
                        names.note(id, name);
                        parts.push(Part::ToolCall(ToolCall::new(id, name, args)));
                    }
                }
                if parts.is_empty() {
                    return Err(ApiError::invalid(
                        "an assistant message needs `content` or `tool_calls`",
                    )
                    .param(at("content")));
                }
                out.push(Message::new(Role::Assistant, parts));
            }
            "tool" => {
                let id = o
                    .get("tool_call_id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        ApiError::invalid("Missing required parameter: 'tool_call_id'.")
                            .param(at("tool_call_id"))
                    })?;
                let name = names.name_of(id)
                    .ok_or_else(|| {
                        ApiError::invalid(format!(
                            "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls' (no call `{id}`)."
                        ))
                        .param(at("tool_call_id"))
                    })?;
                let content = text_of(o.get("content"), &at("content"))?;
                out.push(Message::tool_result(
                    &ToolCall::new(id, name, ""),
                    content,
                    false,
                ));
            }
            "function" => {
                return Err(ApiError::unsupported(
                    &at("role"),
                    " `function` (use `tool`)",
                ));
            }
            other => {
                return Err(ApiError::invalid(format!("Invalid value: '{other}'. Supported values are: 'system', 'assistant', 'user', 'tool', and 'developer'."))
                    .param(at("role")));
            }
        }
    }
    Ok(out)
}

/// Text content: a string, or text parts joined.
fn text_of(content: Option<&Value>, param: &str) -> Result<String, ApiError> {
    match content {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Array(parts)) => {
            let mut out = String::new();
            for p in parts {
                match p.get("type").and_then(Value::as_str) {
                    Some("text") => {
                        out.push_str(p.get("text").and_then(Value::as_str).unwrap_or(""))
                    }
                    Some(other) => {
                        return Err(ApiError::unsupported(
                            &format!("{param}[].type"),
                            &format!(" `{other}` here"),
                        ));
                    }
                    None => {
                        return Err(ApiError::invalid("a content part needs a `type`").param(param));
                    }
                }
            }
            Ok(out)
        }
        Some(_) => Err(ApiError::invalid("`content` must be a string or an array").param(param)),
    }
}

/// User content: text and images.
fn parts_of(content: Option<&Value>, param: &str) -> Result<Vec<Part>, ApiError> {
    match content {
        Some(Value::Array(parts)) => {
            let mut out = Vec::with_capacity(parts.len());
            for p in parts {
                match p.get("type").and_then(Value::as_str) {
                    Some("text") => out.push(Part::text(
                        p.get("text").and_then(Value::as_str).unwrap_or(""),
                    )),
                    Some("image_url") => {
                        let url = p
                            .pointer("/image_url/url")
                            .and_then(Value::as_str)
                            .ok_or_else(|| {
                                ApiError::invalid("an image part needs `image_url.url`")
                                    .param(param)
                            })?;
                        out.push(image(url));
                    }
                    Some(other) => {
                        return Err(ApiError::unsupported(
                            &format!("{param}[].type"),
                            &format!(" `{other}`"),
                        ));
                    }
                    None => {
                        return Err(ApiError::invalid("a content part needs a `type`").param(param));
                    }
                }
            }
            Ok(out)
        }
        other => Ok(vec![Part::text(text_of(other, param)?)]),
    }
}

/// A `data:` URL as base64 data, anything else as a URL.
fn image(url: &str) -> Part {
    if let Some(rest) = url.strip_prefix("data:")
        && let Some((media, data)) = rest.split_once(";base64,")
    {
        return Part::image_base64(media, data);
    }
    Part::image_url(url)
}

fn tool_call_json(c: &ToolCall) -> Value {
    json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}})
}

fn usage_json(u: Usage) -> Value {
    json!({"prompt_tokens": u.input_tokens, "completion_tokens": u.output_tokens,
        "total_tokens": u.input_tokens + u.output_tokens})
}

fn finish_reason(f: &FinishReason) -> &'static str {
    match f {
        FinishReason::Length => "length",
        FinishReason::ToolCalls => "tool_calls",
        FinishReason::ContentFilter => "content_filter",
        _ => "stop",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_json(v: Value) -> Result<InboundRequest, ApiError> {
        decode(v.as_object().cloned().unwrap_or_default())
    }

    #[test]
    fn a_plain_request_decodes() {
        let r = decode_json(json!({"model": "openai:gpt-4o-mini", "temperature": 0.5, "max_tokens": 7,
            "messages": [{"role": "system", "content": "terse"}, {"role": "user", "content": "hi"}]}))
        .map_err(|e| e.message)
        .unwrap_or_else(|m| panic!("{m}"));
        assert_eq!(r.model, "openai:gpt-4o-mini");
        assert_eq!(r.params.temperature, Some(0.5));
        assert_eq!(r.params.max_tokens, Some(7));
        assert_eq!(r.messages.len(), 2);
        assert_eq!(r.messages[1].text(), "hi");
    }

    #[test]
    fn unknown_and_unsupported_fields_are_400s_naming_them() {
        let base = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
        let mut unknown = base.clone();
        unknown["frobnicate"] = json!(1);
        let e = decode_json(unknown).err().map(|e| (e.status, e.message));
        assert_eq!(
            e,
            Some((
                400,
                "Unrecognized request argument supplied: frobnicate".into()
            ))
        );
        let mut n = base.clone();
        n["n"] = json!(2);
        let e = decode_json(n).err().map(|e| (e.status, e.param));
        assert_eq!(e, Some((400, Some("n".into()))));
        let mut ignored = base;
        ignored["user"] = json!("u-1");
        ignored["metadata"] = json!({"a": "b"});
        assert!(decode_json(ignored).is_ok());
    }

    #[test]
    fn tool_results_find_their_calls() {
        let r = decode_json(json!({"model": "m", "messages": [
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "sunny"}]}));
        let msgs = r.map(|r| r.messages).unwrap_or_default();
        assert!(
            matches!(&msgs[2].parts[0], Part::ToolResult(t) if t.name == "get_weather" && t.content == "sunny")
        );
        let orphan = decode_json(json!({"model": "m", "messages": [
            {"role": "tool", "tool_call_id": "nope", "content": "x"}]}));
        assert_eq!(orphan.err().map(|e| e.status), Some(400));
    }
}
