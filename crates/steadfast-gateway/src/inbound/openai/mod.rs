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

use std::borrow::Cow;

use http::HeaderMap;
use serde::Serialize;
use serde_json::{Map, Value, json};
use steadfast::{
    ErrorKind, FinishReason, Message, Part, Response, Role, ToolCall, ToolChoice, Usage,
};

use super::{
    ApiError, CallNames, Envelope, InboundRequest, Protocol, StreamEncoder, StructuredOutput,
    json::{Any, Content},
    tool,
};

mod request;
mod stream;

use crate::inbound::json::BadKey;
use request::{Body, Messages, Parsed, RawMessage};
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
        decode(body)
    }

    fn encode_response(
        &self,
        _request: &InboundRequest,
        response: &Response,
        structured: Option<&Value>,
        envelope: &Envelope,
    ) -> Value {
        // The typed body always converts (string keys, finite numbers); the fallback is never
        // taken.
        serde_json::to_value(completion(response, structured, envelope)).unwrap_or(Value::Null)
    }

    fn encode_response_bytes(
        &self,
        _request: &InboundRequest,
        response: &Response,
        structured: Option<&Value>,
        envelope: &Envelope,
    ) -> Vec<u8> {
        // Straight to bytes, no `Value` built. Always serialises; the fallback is never taken.
        crate::inbound::json::to_bytes(&completion(response, structured, envelope))
    }

    fn stream_encoder(
        &self,
        request: &InboundRequest,
        envelope: &Envelope,
    ) -> Box<dyn StreamEncoder> {
        Box::new(ChunkEncoder::new(
            ["chatcmpl-", &envelope.request_id].concat(),
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
    let (kind, status) = e.described();
    let kind = match status {
        401 | 403 | 404 | 400 | 409 | 422 => "invalid_request_error",
        429 if kind == ErrorKind::QuotaExhausted => "insufficient_quota",
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

fn decode(body: &[u8]) -> Result<InboundRequest, ApiError> {
    match serde_json::from_slice::<Parsed<'_>>(body) {
        Ok(Parsed::Object(b)) => decode_body(*b),
        Ok(Parsed::NotObject) => Err(ApiError::invalid("the request body must be a JSON object")),
        Err(e) => Err(ApiError::invalid(format!(
            "the request body is not valid JSON: {e}"
        ))),
    }
}

fn decode_body(b: Body<'_>) -> Result<InboundRequest, ApiError> {
    match b.bad.first() {
        Some((k, BadKey::Unsupported)) => return Err(ApiError::unsupported(k, "")),
        Some((k, BadKey::Unknown)) => {
            return Err(
                ApiError::invalid(format!("Unrecognized request argument supplied: {k}")).param(k),
            );
        }
        None => {}
    }
    let model = match &b.model {
        Some(Any::Str(m)) if !m.is_empty() => m.as_ref().to_owned(),
        _ => {
            return Err(ApiError::invalid("you must provide a model parameter").param("model"));
        }
    };
    let mut req = InboundRequest::new(model);
    req.stream = opt_bool(b.stream.as_ref(), "stream")?.unwrap_or(false);
    if let Some(so) = b.stream_options.as_ref().filter(|v| !v.is_null()) {
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
    if let Some(n) = b.n.as_ref().and_then(Any::as_u64)
        && n != 1
    {
        return Err(ApiError::unsupported("n", " other than 1"));
    }
    if opt_bool(b.logprobs.as_ref(), "logprobs")? == Some(true) {
        return Err(ApiError::unsupported("logprobs", ""));
    }
    if opt_bool(b.parallel_tool_calls.as_ref(), "parallel_tool_calls")? == Some(false) {
        return Err(ApiError::unsupported(
            "parallel_tool_calls",
            " set to false",
        ));
    }
    let p = &mut req.params;
    p.max_tokens = opt_u32(b.max_completion_tokens.as_ref(), "max_completion_tokens")?
        .or(opt_u32(b.max_tokens.as_ref(), "max_tokens")?);
    p.temperature = opt_f64(b.temperature.as_ref(), "temperature")?;
    p.top_p = opt_f64(b.top_p.as_ref(), "top_p")?;
    p.seed = match &b.seed {
        None | Some(Any::Null) => None,
        Some(v) => Some(
            v.as_i64()
                .ok_or_else(|| ApiError::invalid("`seed` must be an integer").param("seed"))?,
        ),
    };
    p.frequency_penalty = opt_f64(b.frequency_penalty.as_ref(), "frequency_penalty")?;
    p.presence_penalty = opt_f64(b.presence_penalty.as_ref(), "presence_penalty")?;
    p.stop = match &b.stop {
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
    if let Some(tools) = b.tools.as_ref().filter(|v| !v.is_null()) {
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
    req.tool_choice = match &b.tool_choice {
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
    req.output = match &b.response_format {
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
    let messages = match b.messages {
        Some(Messages::Array(m)) if !m.is_empty() => m,
        Some(Messages::Array(_)) => {
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

fn opt_bool(v: Option<&Any<'_>>, k: &str) -> Result<Option<bool>, ApiError> {
    match v {
        None | Some(Any::Null) => Ok(None),
        Some(Any::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(ApiError::invalid(format!("`{k}` must be a boolean")).param(k)),
    }
}

fn opt_f64(v: Option<&Any<'_>>, k: &str) -> Result<Option<f64>, ApiError> {
    match v {
        None | Some(Any::Null) => Ok(None),
        Some(v) => v
            .as_f64()
            .map(Some)
            .ok_or_else(|| ApiError::invalid(format!("`{k}` must be a number")).param(k)),
    }
}

fn opt_u32(v: Option<&Any<'_>>, k: &str) -> Result<Option<u32>, ApiError> {
    match v {
        None | Some(Any::Null) => Ok(None),
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
fn messages_of(messages: Vec<RawMessage<'_>>) -> Result<Vec<Message>, ApiError> {
    let mut out = Vec::with_capacity(messages.len());
    // Tool call ids to names, for the tool results that answer them.
    let mut names = CallNames::default();
    for (i, m) in messages.into_iter().enumerate() {
        let at = |field: &str| format!("messages[{i}].{field}");
        let RawMessage::Object(o) = m else {
            return Err(
                ApiError::invalid("a message must be an object").param(format!("messages[{i}]"))
            );
        };
        match o.bad.first() {
            Some((k, BadKey::Unsupported)) => {
                return Err(ApiError::unsupported(&at(k), ""));
            }
            Some((other, BadKey::Unknown)) => {
                return Err(ApiError::invalid(format!(
                    "Unrecognized message argument supplied: {other}"
                ))
                .param(at(other)));
            }
            None => {}
        }
        let role = o.role.as_ref().and_then(Any::as_str).unwrap_or("");
        let content = o.content;
        match role {
            "system" | "developer" => {
                out.push(Message::system(text_of(content, &|| at("content"))?));
            }
            "user" => out.push(Message::new(
                Role::User,
                parts_of(content, &|| at("content"))?,
            )),
            "assistant" => {
                let mut parts = match content {
                    None | Some(Content::Null) => Vec::new(),
                    c => {
                        let t = text_of(c, &|| at("content"))?;
                        if t.is_empty() {
                            Vec::new()
                        } else {
                            vec![Part::text(t)]
                        }
                    }
                };
                if let Some(calls) = o.tool_calls.as_ref().filter(|v| !v.is_null()) {
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
                    .tool_call_id
                    .as_ref()
                    .and_then(Any::as_str)
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
                let content = text_of(content, &|| at("content"))?;
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
/// `param` names the content for an error (built only then: most messages have none).
fn text_of(content: Option<Content<'_>>, param: &dyn Fn() -> String) -> Result<String, ApiError> {
    match content {
        None | Some(Content::Null) => Ok(String::new()),
        Some(Content::Str(s)) => Ok(s.into_owned()),
        Some(Content::Parts(parts)) => {
            let mut out = String::new();
            for p in &parts {
                match p.get("type").and_then(Value::as_str) {
                    Some("text") => {
                        out.push_str(p.get("text").and_then(Value::as_str).unwrap_or(""))
                    }
                    Some(other) => {
                        return Err(ApiError::unsupported(
                            &format!("{}[].type", param()),
                            &format!(" `{other}` here"),
                        ));
                    }
                    None => {
                        return Err(
                            ApiError::invalid("a content part needs a `type`").param(param())
                        );
                    }
                }
            }
            Ok(out)
        }
        Some(Content::Other) => {
            Err(ApiError::invalid("`content` must be a string or an array").param(param()))
        }
    }
}

/// User content: text and images.
fn parts_of(
    content: Option<Content<'_>>,
    param: &dyn Fn() -> String,
) -> Result<Vec<Part>, ApiError> {
    match content {
        Some(Content::Parts(parts)) => {
            let mut out = Vec::with_capacity(parts.len());
            for p in &parts {
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
                                    .param(param())
                            })?;
                        out.push(image(url));
                    }
                    Some(other) => {
                        return Err(ApiError::unsupported(
                            &format!("{}[].type", param()),
                            &format!(" `{other}`"),
                        ));
                    }
                    None => {
                        return Err(
                            ApiError::invalid("a content part needs a `type`").param(param())
                        );
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

/// A `chat.completion` object. Fields in the order a `serde_json::Map` keeps them (sorted), so
/// the bytes are those of the `Value` it replaces.
#[derive(Serialize)]
struct Completion<'a> {
    choices: [Choice<'a>; 1],
    created: u64,
    id: String,
    model: &'a str,
    object: &'static str,
    service_tier: &'static str,
    system_fingerprint: Option<&'static str>,
    usage: UsageJson,
}

#[derive(Serialize)]
struct Choice<'a> {
    finish_reason: &'static str,
    index: u32,
    logprobs: Option<&'static str>,
    message: ChoiceMessage<'a>,
}

#[derive(Serialize)]
struct ChoiceMessage<'a> {
    annotations: [(); 0],
    content: Option<Cow<'a, str>>,
    refusal: Option<&'a str>,
    role: &'static str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    tool_calls: Vec<ToolCallJson<'a>>,
}

#[derive(Serialize)]
struct ToolCallJson<'a> {
    function: FunctionJson<'a>,
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct FunctionJson<'a> {
    arguments: &'a str,
    name: &'a str,
}

#[derive(Serialize)]
struct UsageJson {
    completion_tokens: u64,
    prompt_tokens: u64,
    total_tokens: u64,
}

/// The complete answer as OpenAI's `chat.completion`.
fn completion<'a>(
    response: &'a Response,
    structured: Option<&Value>,
    envelope: &'a Envelope,
) -> Completion<'a> {
    let mut message = ChoiceMessage {
        annotations: [],
        content: None,
        refusal: None,
        role: "assistant",
        tool_calls: Vec::new(),
    };
    let finish;
    if let Some(v) = structured {
        message.content = Some(Cow::Owned(v.to_string()));
        finish = "stop";
    } else {
        let text = response.text();
        if !text.is_empty() {
            message.content = Some(Cow::Borrowed(text));
        }
        message.refusal = response.refusal();
        message.tool_calls = response
            .tool_calls()
            .iter()
            .map(|c| ToolCallJson {
                function: FunctionJson {
                    arguments: &c.arguments,
                    name: &c.name,
                },
                id: &c.id,
                kind: "function",
            })
            .collect();
        finish = finish_reason(&response.finish_reason());
    }
    let u = response.usage().unwrap_or_default();
    Completion {
        choices: [Choice {
            finish_reason: finish,
            index: 0,
            logprobs: None,
            message,
        }],
        created: envelope.created,
        id: ["chatcmpl-", &envelope.request_id].concat(),
        model: &envelope.model,
        object: "chat.completion",
        service_tier: "default",
        system_fingerprint: None,
        usage: UsageJson {
            completion_tokens: u.output_tokens,
            prompt_tokens: u.input_tokens,
            total_tokens: u.input_tokens + u.output_tokens,
        },
    }
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
        decode(v.to_string().as_bytes())
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

    /// The response as it was built before the typed encoder: the bytes must not change.
    fn value_body(response: &Response, structured: Option<&Value>, envelope: &Envelope) -> Value {
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
            let calls: Vec<Value> = response
                .tool_calls()
                .iter()
                .map(|c| json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}))
                .collect();
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

    #[test]
    fn the_typed_response_is_the_value_it_replaces_byte_for_byte() {
        let env = Envelope {
            request_id: "r-1".into(),
            created: 1_700_000_000,
            model: "fast \"quoted\"".into(),
        };
        let req = InboundRequest::new("fast");
        let plain = Response::builder()
            .text("hi \u{e9}\n\"there\"")
            .usage(Usage::new(3, 4))
            .build();
        let calls = Response::builder()
            .tool_calls([
                ToolCall::new("c1", "add", r#"{"a":1}"#),
                ToolCall::new("c2", "sub", "{}"),
            ])
            .refusal("no")
            .finish_reason(FinishReason::ToolCalls)
            .build();
        let empty = Response::builder()
            .finish_reason(FinishReason::Length)
            .build();
        let structured = json!({"b": [1, 2], "a": "x"});
        for (r, s) in [
            (&plain, None),
            (&calls, None),
            (&empty, None),
            (&plain, Some(&structured)),
        ] {
            let want = serde_json::to_vec(&value_body(r, s, &env)).unwrap_or_default();
            let bytes = OpenAiChat.encode_response_bytes(&req, r, s, &env);
            assert_eq!(
                String::from_utf8_lossy(&bytes),
                String::from_utf8_lossy(&want)
            );
            assert_eq!(
                OpenAiChat.encode_response(&req, r, s, &env),
                value_body(r, s, &env)
            );
        }
    }

    fn decode_str(body: &str) -> Result<InboundRequest, ApiError> {
        decode(body.as_bytes())
    }

    #[test]
    fn bodies_that_are_not_objects_keep_their_errors() {
        let msg = |b: &str| decode_str(b).err().map(|e| e.message);
        let not_object = Some("the request body must be a JSON object".to_owned());
        assert_eq!(msg("[1, {\"a\": 2}]"), not_object);
        assert_eq!(msg("\"model\""), not_object);
        assert_eq!(msg("null"), not_object);
        // serde_json's own message, as when the body was read into a `Value`.
        for bad in ["{\"model\": ", "[1, 2", "{\"model\": \"m\"} x", ""] {
            let want = serde_json::from_str::<Value>(bad)
                .err()
                .map(|e| format!("the request body is not valid JSON: {e}"));
            assert!(want.is_some());
            assert_eq!(msg(bad), want, "{bad}");
        }
        // The recursion limit still applies inside ignored fields.
        let deep = format!(
            "{{\"model\": \"m\", \"metadata\": {}{}}}",
            "[".repeat(200),
            "]".repeat(200)
        );
        let want = serde_json::from_str::<Value>(&deep)
            .err()
            .map(|e| format!("the request body is not valid JSON: {e}"));
        assert!(want.is_some());
        assert_eq!(msg(&deep), want);
    }

    #[test]
    fn the_first_offending_key_in_sorted_order_is_named() {
        let e = decode_str(
            r#"{"zeta": 1, "model": "m", "audio": {"x": 1}, "beta": 2, "messages": []}"#,
        )
        .err()
        .map(|e| (e.message, e.param));
        assert_eq!(
            e,
            Some((
                "the gateway does not support `audio`".into(),
                Some("audio".into())
            ))
        );
        let e =
            decode_str(r#"{"zeta": 1, "model": "m", "audio": null, "beta": [2], "messages": []}"#)
                .err()
                .map(|e| e.message);
        assert_eq!(
            e,
            Some("Unrecognized request argument supplied: beta".into())
        );
        // A later duplicate replaces the earlier value, as in a `Map`.
        let ok = decode_str(
            r#"{"model": "m", "audio": 1, "audio": null, "messages": [{"role": "user", "content": "hi"}]}"#,
        );
        assert!(ok.is_ok());
        let e = decode_str(
            r#"{"model": "m", "messages": [{"role": "user", "content": "hi", "zz": 1, "function_call": null}]}"#,
        )
        .err()
        .map(|e| (e.message, e.param));
        assert_eq!(
            e,
            Some((
                "the gateway does not support `messages[0].function_call`".into(),
                Some("messages[0].function_call".into())
            ))
        );
    }

    #[test]
    fn escaped_keys_and_strings_decode_like_a_value() {
        let r = decode_str(
            r#"{"mod\u0065l": "m\u00e9", "messages": [{"role": "us\u0065r", "content": "a\nb \"c\""}, {"role": "assistant", "content": [{"type": "text", "text": "x"}, {"type": "text", "text": "y"}]}], "max_tokens": 5, "temperature": 1, "seed": -3, "stop": "END", "n": 1.0}"#,
        )
        .map_err(|e| e.message)
        .unwrap_or_else(|m| panic!("{m}"));
        assert_eq!(r.model, "m\u{e9}");
        assert_eq!(r.messages[0].text(), "a\nb \"c\"");
        assert_eq!(r.messages[1].text(), "xy");
        assert_eq!(r.params.max_tokens, Some(5));
        assert_eq!(r.params.temperature, Some(1.0));
        assert_eq!(r.params.seed, Some(-3));
        assert_eq!(r.params.stop, vec!["END".to_owned()]);
        let types = [
            (
                r#""max_tokens": -1"#,
                "`max_tokens` must be a non-negative integer",
            ),
            (
                r#""max_tokens": 4294967296"#,
                "`max_tokens` must be a non-negative integer",
            ),
            (r#""temperature": "1""#, "`temperature` must be a number"),
            (r#""seed": 1.5"#, "`seed` must be an integer"),
            (r#""stream": 1"#, "`stream` must be a boolean"),
            (r#""model": """#, "you must provide a model parameter"),
        ];
        for (field, want) in types {
            let body = format!(
                r#"{{"model": "m", "messages": [{{"role": "user", "content": "hi"}}], {field}}}"#
            );
            assert_eq!(
                decode_str(&body).err().map(|e| e.message),
                Some(want.to_owned()),
                "{field}"
            );
        }
        let e = decode_str(r#"{"model": "m", "messages": [{"role": "user", "content": 5}]}"#)
            .err()
            .map(|e| e.message);
        assert_eq!(e, Some("`content` must be a string or an array".into()));
        let e = decode_str(r#"{"model": "m", "messages": ["hi"]}"#)
            .err()
            .map(|e| e.param);
        assert_eq!(e, Some(Some("messages[0]".into())));
        let e = decode_str(r#"{"model": "m", "messages": {"role": "user"}}"#)
            .err()
            .map(|e| e.message);
        assert_eq!(e, Some("Missing required parameter: 'messages'.".into()));
    }
}
