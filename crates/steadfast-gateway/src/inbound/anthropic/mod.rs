//! Anthropic Messages, as the `anthropic` SDKs speak it: `POST /v1/messages`.
//!
//! Accepted and honoured: `model`, `max_tokens` (required, as in the real API), `messages`
//! (text, base64/URL `image`, `tool_use` and `tool_result` blocks, string content), `system`
//! (a string or text blocks), `stop_sequences`, `temperature`, `top_p`, `tools` (custom tools
//! with an `input_schema`), `tool_choice` (`auto`, `any`, `tool`, `none`), `stream`,
//! `output_config.format` (a JSON schema: the output is validated against it and retried when it
//! fails, as for OpenAI's `response_format`).
//!
//! `stream: true` with `output_config.format` is honoured, but the stream starts only once the
//! validated answer is complete: the gateway runs the validated call (its retries included)
//! upstream, then sends `message_start`, one text block with the JSON (`content_block_start`,
//! one `text_delta`, `content_block_stop`), `message_delta` (`end_turn`, the usage) and
//! `message_stop`. The client never sees output that failed validation; a failure is the
//! ordinary error response (status and body), as without `stream`.
//!
//! Accepted and ignored (they do not change the answer): `metadata`, `service_tier`,
//! `cache_control` (top-level and on blocks), `thinking: {"type": "disabled"}`,
//! `tool_choice.disable_parallel_tool_use: false`.
//!
//! Anything else — an unknown field (the real API: `Extra inputs are not permitted`), `top_k`,
//! `thinking` enabled, `output_config.effort`, `container`, `mcp_servers`, `inference_geo`,
//! `speed`, server tools, `document` blocks, … — is a 400 naming it. Requests must carry `anthropic-version`, as the real API requires.

use std::borrow::Cow;

use http::HeaderMap;
use serde::Serialize;
use serde_json::{Map, Value, json};
use steadfast::{ErrorKind, FinishReason, Message, Part, Response, Role, ToolCall, ToolChoice};

use super::{
    ApiError, CallNames, Envelope, InboundRequest, Protocol, StreamEncoder, StructuredOutput,
    json::{Any, Content},
    tool,
};

mod request;
mod stream;

use crate::inbound::json::BadKey;
use request::{Body, Messages, Parsed};
use stream::EventEncoder;

/// Anthropic Messages. See the [module docs](self).
#[derive(Debug, Clone, Copy, Default)]
pub struct AnthropicMessages;

impl Protocol for AnthropicMessages {
    fn name(&self) -> &'static str {
        "anthropic.messages"
    }

    fn request_id_header(&self) -> &'static str {
        "request-id"
    }

    fn key<'h>(&self, headers: &'h HeaderMap) -> Option<&'h str> {
        headers
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .or_else(|| super::openai::bearer(headers))
    }

    fn decode(&self, headers: &HeaderMap, body: &[u8]) -> Result<InboundRequest, ApiError> {
        if headers
            .get("anthropic-version")
            .is_none_or(|v| v.is_empty())
        {
            return Err(ApiError::invalid("anthropic-version: header is required"));
        }
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
        serde_json::to_value(message(response, structured, envelope)).unwrap_or(Value::Null)
    }

    fn encode_response_bytes(
        &self,
        _request: &InboundRequest,
        response: &Response,
        structured: Option<&Value>,
        envelope: &Envelope,
    ) -> Vec<u8> {
        // Straight to bytes, no `Value` built. Always serialises; the fallback is never taken.
        crate::inbound::json::to_bytes(&message(response, structured, envelope))
    }

    fn stream_encoder(
        &self,
        _request: &InboundRequest,
        envelope: &Envelope,
    ) -> Box<dyn StreamEncoder> {
        Box::new(EventEncoder::new(
            format!("msg_{}", envelope.request_id),
            envelope.model.clone(),
        ))
    }

    /// As the gateway's, but 529 for `overloaded` (Anthropic's `OverloadedError`).
    fn status(&self, error: &ApiError) -> u16 {
        if error.kind == ErrorKind::Overloaded {
            529
        } else {
            error.status
        }
    }

    fn error_body(&self, error: &ApiError, envelope: &Envelope) -> Value {
        json!({"type": "error", "error": error_object(error), "request_id": envelope.request_id})
    }
}

/// The `error` object (also the `event: error` payload's).
fn error_object(e: &ApiError) -> Value {
    let (kind, status) = e.described();
    let kind = match (status, kind) {
        (401, _) => "authentication_error",
        (403, _) => "permission_error",
        (404, _) => "not_found_error",
        (429, _) => "rate_limit_error",
        (_, ErrorKind::Overloaded) => "overloaded_error",
        (504, _) => "timeout_error",
        (s, _) if s < 500 => "invalid_request_error",
        _ => "api_error",
    };
    json!({"type": kind, "message": e.message})
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
        Some((other, BadKey::Unknown)) => {
            return Err(
                ApiError::invalid(format!("{other}: Extra inputs are not permitted")).param(other),
            );
        }
        None => {}
    }
    let model = match &b.model {
        Some(Any::Str(m)) if !m.is_empty() => m.as_ref().to_owned(),
        _ => return Err(ApiError::invalid("model: Field required").param("model")),
    };
    let mut req = InboundRequest::new(model);
    req.params.max_tokens = match &b.max_tokens {
        Some(v) => Some(
            v.as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n >= 1)
                .ok_or_else(|| {
                    ApiError::invalid("max_tokens: Input should be a positive integer")
                })?,
        ),
        None => return Err(ApiError::invalid("max_tokens: Field required").param("max_tokens")),
    };
    req.stream = match &b.stream {
        None | Some(Any::Null) => false,
        Some(Any::Bool(b)) => *b,
        Some(_) => return Err(ApiError::invalid("stream: Input should be a valid boolean")),
    };
    let num = |v: Option<&Any<'_>>, k: &str| -> Result<Option<f64>, ApiError> {
        match v {
            None | Some(Any::Null) => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| ApiError::invalid(format!("{k}: Input should be a valid number"))),
        }
    };
    req.output = output_config(b.output_config.as_ref())?;
    req.params.temperature = num(b.temperature.as_ref(), "temperature")?;
    req.params.top_p = num(b.top_p.as_ref(), "top_p")?;
    if let Some(stops) = b.stop_sequences.as_ref().filter(|v| !v.is_null()) {
        let bad = || ApiError::invalid("stop_sequences: Input should be a valid list of strings");
        req.params.stop = stops
            .as_array()
            .ok_or_else(bad)?
            .iter()
            .map(|s| s.as_str().map(str::to_owned).ok_or_else(bad))
            .collect::<Result<_, _>>()?;
    }
    if let Some(tools) = b.tools.as_ref().filter(|v| !v.is_null()) {
        let tools = tools
            .as_array()
            .ok_or_else(|| ApiError::invalid("tools: Input should be a valid list"))?;
        for (i, t) in tools.iter().enumerate() {
            let param = format!("tools.{i}");
            if let Some(ty) = t.get("type").and_then(Value::as_str)
                && ty != "custom"
            {
                return Err(ApiError::unsupported(
                    &format!("{param}.type"),
                    &format!(" `{ty}` (server tools)"),
                ));
            }
            for k in t.as_object().into_iter().flat_map(Map::keys) {
                match k.as_str() {
                    "name" | "description" | "input_schema" | "type" | "cache_control" => {}
                    other => {
                        return Err(ApiError::unsupported(&format!("{param}.{other}"), ""));
                    }
                }
            }
            let name = t
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| ApiError::invalid(format!("{param}.name: Field required")))?;
            let desc = t.get("description").and_then(Value::as_str).unwrap_or("");
            let schema = t.get("input_schema").ok_or_else(|| {
                ApiError::invalid(format!("{param}.input_schema: Field required"))
            })?;
            req.tools.push(tool(name, desc, Some(schema), &param)?);
        }
    }
    req.tool_choice = match &b.tool_choice {
        None | Some(Value::Null) => ToolChoice::Auto,
        Some(tc) => {
            if tc.get("disable_parallel_tool_use").and_then(Value::as_bool) == Some(true) {
                return Err(ApiError::unsupported(
                    "tool_choice.disable_parallel_tool_use",
                    "",
                ));
            }
            match tc.get("type").and_then(Value::as_str) {
                Some("auto") => ToolChoice::Auto,
                Some("any") => ToolChoice::Required,
                Some("none") => ToolChoice::None,
                Some("tool") => ToolChoice::Tool(
                    tc.get("name")
                        .and_then(Value::as_str)
                        .ok_or_else(|| ApiError::invalid("tool_choice.tool.name: Field required"))?
                        .to_owned(),
                ),
                _ => {
                    return Err(ApiError::invalid(
                        "tool_choice: Input tag does not match any of the expected tags: 'auto', 'any', 'tool', 'none'",
                    ));
                }
            }
        }
    };
    let mut messages = Vec::new();
    match &b.system {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => messages.push(Message::system(s.clone())),
        Some(Value::Array(blocks)) => {
            let mut text = String::new();
            for b in blocks {
                if b.get("type").and_then(Value::as_str) != Some("text") {
                    return Err(ApiError::invalid(
                        "system: Input should be a valid list of text blocks",
                    ));
                }
                text.push_str(b.get("text").and_then(Value::as_str).unwrap_or(""));
            }
            messages.push(Message::system(text));
        }
        Some(_) => return Err(ApiError::invalid("system: Input should be a valid string")),
    }
    let Some(Messages::Array(list)) = b.messages else {
        return Err(ApiError::invalid("messages: Field required").param("messages"));
    };
    if list.is_empty() {
        return Err(ApiError::invalid(
            "messages: at least one message is required",
        ));
    }
    let mut names = CallNames::default();
    for (i, m) in list.into_iter().enumerate() {
        let role = match m.role.as_ref().and_then(Any::as_str) {
            Some("user") => Role::User,
            Some("assistant") => Role::Assistant,
            _ => {
                return Err(ApiError::invalid(format!(
                    "messages.{i}.role: Input should be 'user' or 'assistant'"
                )));
            }
        };
        if let Some((k, ())) = m.extra.first() {
            return Err(ApiError::invalid(format!(
                "messages.{i}.{k}: Extra inputs are not permitted"
            )));
        }
        let parts = blocks_of(m.content, &format!("messages.{i}.content"), &mut names)?;
        // Tool results go in messages of their own, as the library expects them.
        let (results, rest): (Vec<Part>, Vec<Part>) = parts
            .into_iter()
            .partition(|p| matches!(p, Part::ToolResult(_)));
        for r in results {
            messages.push(Message::new(Role::User, vec![r]));
        }
        if !rest.is_empty() {
            messages.push(Message::new(role, rest));
        }
    }
    req.messages = messages;
    Ok(req)
}

/// `output_config`: only `format` (a JSON schema) is honoured.
fn output_config(v: Option<&Value>) -> Result<Option<StructuredOutput>, ApiError> {
    let Some(cfg) = v.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let Some(cfg) = cfg.as_object() else {
        return Err(ApiError::invalid(
            "output_config: Input should be a valid dictionary",
        ));
    };
    let mut out = None;
    for (k, v) in cfg {
        match k.as_str() {
            "format" if v.is_null() => {}
            "format" => {
                if v.get("type").and_then(Value::as_str) != Some("json_schema") {
                    return Err(ApiError::invalid(
                        "output_config.format.type: Input should be 'json_schema'",
                    ));
                }
                let schema = v.get("schema").cloned().ok_or_else(|| {
                    ApiError::invalid("output_config.format.schema: Field required")
                })?;
                out = Some(StructuredOutput {
                    name: "output".into(),
                    schema,
                });
            }
            other => return Err(ApiError::unsupported(&format!("output_config.{other}"), "")),
        }
    }
    Ok(out)
}

fn blocks_of(
    content: Option<Content<'_>>,
    param: &str,
    names: &mut CallNames,
) -> Result<Vec<Part>, ApiError> {
    let blocks = match content {
        Some(Content::Str(s)) => return Ok(vec![Part::text(s.into_owned())]),
        Some(Content::Parts(b)) => b,
        _ => return Err(ApiError::invalid(format!("{param}: Field required"))),
    };
    let mut out = Vec::with_capacity(blocks.len());
    for (j, b) in blocks.iter().enumerate() {
        let at = format!("{param}.{j}");
        let str_field = |k: &str| b.get(k).and_then(Value::as_str);
        match str_field("type") {
            Some("text") => out.push(Part::text(str_field("text").unwrap_or(""))),
            Some("image") => {
                let src = b.get("source");
                match src.and_then(|s| s.get("type")).and_then(Value::as_str) {
                    Some("base64") => out.push(Part::image_base64(
                        src.and_then(|s| s.get("media_type"))
                            .and_then(Value::as_str)
                            .unwrap_or(""),
                        src.and_then(|s| s.get("data"))
                            .and_then(Value::as_str)
                            .unwrap_or(""),
                    )),
                    Some("url") => out.push(Part::image_url(
                        src.and_then(|s| s.get("url"))
                            .and_then(Value::as_str)
                            .unwrap_or(""),
                    )),
                    _ => return Err(ApiError::unsupported(&format!("{at}.source.type"), "")),
                }
            }
            Some("tool_use") => {
                let id = str_field("id").unwrap_or("");
                let name = str_field("name")
                    .ok_or_else(|| ApiError::invalid(format!("{at}.name: Field required")))?;
                let input = b.get("input").cloned().unwrap_or_else(|| json!({}));
                names.note(id, name);
                out.push(Part::ToolCall(ToolCall::new(id, name, input.to_string())));
            }
            Some("tool_result") => {
                let id = str_field("tool_use_id").ok_or_else(|| {
                    ApiError::invalid(format!("{at}.tool_use_id: Field required"))
                })?;
                let name = names.name_of(id)
                    .ok_or_else(|| {
                        ApiError::invalid(format!(
                            "{at}: unexpected `tool_use_id` found in `tool_result` blocks: {id}. Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
                        ))
                    })?;
                let text = match b.get("content") {
                    None | Some(Value::Null) => String::new(),
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Array(inner)) => {
                        let mut t = String::new();
                        for ib in inner {
                            if ib.get("type").and_then(Value::as_str) != Some("text") {
                                return Err(ApiError::unsupported(
                                    &format!("{at}.content[].type"),
                                    " other than `text`",
                                ));
                            }
                            t.push_str(ib.get("text").and_then(Value::as_str).unwrap_or(""));
                        }
                        t
                    }
                    Some(_) => {
                        return Err(ApiError::invalid(format!(
                            "{at}.content: Input should be a valid string"
                        )));
                    }
                };
                let is_error = b.get("is_error").and_then(Value::as_bool).unwrap_or(false);
                let msg = Message::tool_result(&ToolCall::new(id, name, ""), text, is_error);
                out.extend(msg.parts);
            }
            Some(other) => {
                return Err(ApiError::unsupported(
                    &format!("{at}.type"),
                    &format!(" `{other}`"),
                ));
            }
            None => return Err(ApiError::invalid(format!("{at}.type: Field required"))),
        }
    }
    Ok(out)
}

/// A tool call's arguments as the `input` object (`{}` if they are not JSON).
fn tool_input(c: &ToolCall) -> Value {
    serde_json::from_str(&c.arguments).unwrap_or_else(|_| json!({}))
}

/// A `message` object. Fields in the order a `serde_json::Map` keeps them (sorted), so the
/// bytes are those of the `Value` it replaces.
#[derive(Serialize)]
struct MessageJson<'a> {
    content: Vec<Block<'a>>,
    id: String,
    model: &'a str,
    role: &'static str,
    stop_reason: &'static str,
    stop_sequence: Option<&'static str>,
    #[serde(rename = "type")]
    kind: &'static str,
    usage: UsageJson,
}

/// A content block of the answer.
#[derive(Serialize)]
#[serde(untagged)]
enum Block<'a> {
    Text {
        text: Cow<'a, str>,
        #[serde(rename = "type")]
        kind: &'static str,
    },
    ToolUse {
        id: String,
        input: Value,
        name: String,
        #[serde(rename = "type")]
        kind: &'static str,
    },
}

impl<'a> Block<'a> {
    fn text(text: impl Into<Cow<'a, str>>) -> Self {
        Block::Text {
            text: text.into(),
            kind: "text",
        }
    }
}

#[derive(Serialize)]
struct UsageJson {
    input_tokens: u64,
    output_tokens: u64,
}

/// The complete answer as Anthropic's `message`.
fn message<'a>(
    response: &'a Response,
    structured: Option<&Value>,
    envelope: &'a Envelope,
) -> MessageJson<'a> {
    let mut content = Vec::new();
    if let Some(v) = structured {
        // The validated output, as the one text block (a tool-forced answer upstream included).
        content.push(Block::text(v.to_string()));
    } else {
        for p in response.parts() {
            match p {
                Part::Text { text } => content.push(Block::text(text)),
                Part::ToolCall(c) => content.push(Block::ToolUse {
                    input: tool_input(&c),
                    id: c.id,
                    name: c.name,
                    kind: "tool_use",
                }),
                _ => {}
            }
        }
        if let Some(r) = response.refusal() {
            content.push(Block::text(r));
        }
    }
    let stop = if structured.is_some() {
        "end_turn"
    } else if response.refusal().is_some() {
        "refusal"
    } else {
        stop_reason(&response.finish_reason())
    };
    let u = response.usage().unwrap_or_default();
    MessageJson {
        content,
        id: format!("msg_{}", envelope.request_id),
        model: &envelope.model,
        role: "assistant",
        stop_reason: stop,
        stop_sequence: None,
        kind: "message",
        usage: UsageJson {
            input_tokens: u.input_tokens,
            output_tokens: u.output_tokens,
        },
    }
}

fn stop_reason(f: &FinishReason) -> &'static str {
    match f {
        FinishReason::Length => "max_tokens",
        FinishReason::ToolCalls => "tool_use",
        FinishReason::StopSequence => "stop_sequence",
        FinishReason::ContentFilter | FinishReason::Refusal => "refusal",
        FinishReason::Paused => "pause_turn",
        _ => "end_turn",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use steadfast::StreamEvent;

    fn decode_json(v: Value) -> Result<InboundRequest, ApiError> {
        decode(v.to_string().as_bytes())
    }

    #[test]
    fn a_request_with_tools_decodes() {
        let r = decode_json(
            json!({"model": "openai:gpt-4o-mini", "max_tokens": 64, "system": "terse",
            "tools": [{"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}],
            "tool_choice": {"type": "any"},
            "messages": [{"role": "user", "content": "hi"},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "get_weather", "input": {"city": "Oslo"}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "cold"}, {"type": "text", "text": "and?"}]}]}),
        );
        let r = r.map_err(|e| e.message).unwrap_or_else(|m| panic!("{m}"));
        assert_eq!(r.params.max_tokens, Some(64));
        assert_eq!(r.tool_choice, ToolChoice::Required);
        assert_eq!(
            r.messages.len(),
            5,
            "system, user, assistant, tool result, user text"
        );
        assert!(matches!(&r.messages[3].parts[0], Part::ToolResult(t) if t.name == "get_weather"));
    }

    /// The events of a stream, as (event name, data) pairs.
    fn events(frames: &[Bytes]) -> Vec<(String, Value)> {
        frames
            .iter()
            .map(|f| {
                let text = String::from_utf8_lossy(f);
                let mut lines = text.lines();
                let name = lines
                    .next()
                    .unwrap_or("")
                    .trim_start_matches("event: ")
                    .to_owned();
                let data = lines.next().unwrap_or("").trim_start_matches("data: ");
                (name, serde_json::from_str(data).unwrap_or(Value::Null))
            })
            .collect()
    }

    #[test]
    fn interleaved_tool_calls_become_sequential_blocks() {
        let env = Envelope {
            request_id: "r".into(),
            created: 0,
            model: "m".into(),
        };
        let mut enc = AnthropicMessages.stream_encoder(&InboundRequest::new("m"), &env);
        let mut frames = Vec::new();
        for ev in [
            StreamEvent::Text("Let me check.".into()),
            StreamEvent::ToolCallStart {
                index: 0,
                id: "a".into(),
                name: "f".into(),
            },
            StreamEvent::ToolCallDelta {
                index: 0,
                arguments: "{\"x\":".into(),
            },
            StreamEvent::ToolCallStart {
                index: 1,
                id: "b".into(),
                name: "g".into(),
            },
            StreamEvent::ToolCallDelta {
                index: 1,
                arguments: "{\"y\":2}".into(),
            },
            StreamEvent::ToolCallDelta {
                index: 0,
                arguments: "1}".into(),
            },
            StreamEvent::ToolCall(ToolCall::new("a", "f", "{\"x\":1}")),
            StreamEvent::ToolCall(ToolCall::new("b", "g", "{\"y\":2}")),
        ] {
            frames.extend(enc.event(&ev));
        }
        frames.extend(enc.finish());
        let evs = events(&frames);
        let names: Vec<&str> = evs.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "message_start",
                "content_block_start",
                "content_block_delta",
                "content_block_stop",
                "content_block_start",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "content_block_start",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop",
            ]
        );
        // Each block's deltas carry its own index, and each call's arguments are whole.
        let args = |i: u64| -> String {
            evs.iter()
                .filter(|(n, v)| n == "content_block_delta" && v["index"] == i)
                .map(|(_, v)| v["delta"]["partial_json"].as_str().unwrap_or("").to_owned())
                .collect()
        };
        assert_eq!(args(1), "{\"x\":1}");
        assert_eq!(args(2), "{\"y\":2}");
        assert_eq!(evs[8].1["content_block"]["id"], "b");
        assert_eq!(evs[11].1["delta"]["stop_reason"], "tool_use");
    }

    #[test]
    fn unknown_and_unsupported_fields_are_400s() {
        let base =
            json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]});
        let mut top_k = base.clone();
        top_k["top_k"] = json!(3);
        assert_eq!(decode_json(top_k).err().map(|e| e.status), Some(400));
        let mut extra = base.clone();
        extra["wat"] = json!(true);
        let e = decode_json(extra).err().map(|e| e.message);
        assert_eq!(e.as_deref(), Some("wat: Extra inputs are not permitted"));
        let mut no_max = base;
        if let Some(o) = no_max.as_object_mut() {
            o.remove("max_tokens");
        }
        assert_eq!(decode_json(no_max).err().map(|e| e.status), Some(400));
    }

    fn tool_use_json(c: &ToolCall) -> Value {
        json!({"type": "tool_use", "id": c.id, "name": c.name, "input": tool_input(c)})
    }

    /// The response as it was built before the typed encoder: the bytes must not change.
    fn value_body(response: &Response, structured: Option<&Value>, envelope: &Envelope) -> Value {
        let mut content = Vec::new();
        if let Some(v) = structured {
            content.push(json!({"type": "text", "text": v.to_string()}));
        }
        for p in response
            .parts()
            .into_iter()
            .filter(|_| structured.is_none())
        {
            match p {
                Part::Text { text } => content.push(json!({"type": "text", "text": text})),
                Part::ToolCall(c) => content.push(tool_use_json(&c)),
                _ => {}
            }
        }
        if let Some(r) = response.refusal().filter(|_| structured.is_none()) {
            content.push(json!({"type": "text", "text": r}));
        }
        let stop = if structured.is_some() {
            "end_turn"
        } else if response.refusal().is_some() {
            "refusal"
        } else {
            stop_reason(&response.finish_reason())
        };
        let u = response.usage().unwrap_or_default();
        json!({
            "id": format!("msg_{}", envelope.request_id),
            "type": "message",
            "role": "assistant",
            "model": envelope.model,
            "content": content,
            "stop_reason": stop,
            "stop_sequence": null,
            "usage": {"input_tokens": u.input_tokens, "output_tokens": u.output_tokens},
        })
    }

    #[test]
    fn the_typed_response_is_the_value_it_replaces_byte_for_byte() {
        use steadfast::Usage;
        let env = Envelope {
            request_id: "r-1".into(),
            created: 1_700_000_000,
            model: "claude \"q\"".into(),
        };
        let req = InboundRequest::new("fast");
        let plain = Response::builder()
            .text("hi \u{e9}\n\"there\"")
            .usage(Usage::new(3, 4))
            .build();
        let calls = Response::builder()
            .text("let me see")
            .tool_calls([
                ToolCall::new("c1", "add", r#"{"b":1,"a":[2]}"#),
                ToolCall::new("c2", "sub", "not json"),
            ])
            .finish_reason(FinishReason::ToolCalls)
            .build();
        let refused = Response::builder().refusal("no").build();
        let empty = Response::builder()
            .finish_reason(FinishReason::Length)
            .build();
        let structured = json!({"b": [1, 2], "a": "x"});
        for (r, s) in [
            (&plain, None),
            (&calls, None),
            (&refused, None),
            (&empty, None),
            (&refused, Some(&structured)),
        ] {
            let want = serde_json::to_vec(&value_body(r, s, &env)).unwrap_or_default();
            let bytes = AnthropicMessages.encode_response_bytes(&req, r, s, &env);
            assert_eq!(
                String::from_utf8_lossy(&bytes),
                String::from_utf8_lossy(&want)
            );
            assert_eq!(
                AnthropicMessages.encode_response(&req, r, s, &env),
                value_body(r, s, &env)
            );
        }
    }

    fn decode_str(body: &str) -> Result<InboundRequest, ApiError> {
        decode(body.as_bytes())
    }

    #[test]
    fn bodies_and_keys_keep_their_errors() {
        let msg = |b: &str| decode_str(b).err().map(|e| e.message);
        let not_object = Some("the request body must be a JSON object".to_owned());
        assert_eq!(msg("[{\"model\": \"m\"}]"), not_object);
        assert_eq!(msg("7"), not_object);
        for bad in ["{\"model\": ", "{\"a\" 1}", "{} {}"] {
            let want = serde_json::from_str::<Value>(bad)
                .err()
                .map(|e| format!("the request body is not valid JSON: {e}"));
            assert!(want.is_some());
            assert_eq!(msg(bad), want, "{bad}");
        }
        // The first offending key in sorted order, as when the keys of a `Map` were walked.
        assert_eq!(
            msg(r#"{"zz": 1, "top_k": 5, "model": "m", "max_tokens": 1, "messages": []}"#),
            Some("the gateway does not support `top_k`".into())
        );
        assert_eq!(
            msg(r#"{"zz": 1, "thinking": {"type": "disabled"}, "aa": [1], "model": "m"}"#),
            Some("aa: Extra inputs are not permitted".into())
        );
        assert_eq!(
            msg(r#"{"thinking": {"type": "enabled"}, "model": "m"}"#),
            Some("the gateway does not support `thinking`".into())
        );
        let ok = r#"{"model": "m", "max_tokens": 5, "thinking": {"type": "disabled"}, "metadata": {"user_id": "u"}, "system": "terse", "messages": [{"role": "user", "content": "h\u00e9"}, {"role": "assistant", "content": [{"type": "text", "text": "yo"}]}]}"#;
        let r = decode_str(ok)
            .map_err(|e| e.message)
            .unwrap_or_else(|m| panic!("{m}"));
        assert_eq!(r.params.max_tokens, Some(5));
        assert_eq!(r.messages.len(), 3);
        assert_eq!(r.messages[1].text(), "h\u{e9}");
        assert_eq!(r.messages[2].text(), "yo");
        // The role is checked before the message's keys; a non-object message fails the role.
        let base = r#"{"model": "m", "max_tokens": 5, "messages": [MSG]}"#;
        for (m, want) in [
            (
                r#"{"role": "bot", "zz": 1}"#,
                "messages.0.role: Input should be 'user' or 'assistant'",
            ),
            (
                r#""hi""#,
                "messages.0.role: Input should be 'user' or 'assistant'",
            ),
            (
                r#"{"role": "user", "zz": 1, "name": "x", "content": "hi"}"#,
                "messages.0.name: Extra inputs are not permitted",
            ),
            (
                r#"{"role": "user", "content": null}"#,
                "messages.0.content: Field required",
            ),
            (
                r#"{"role": "user", "content": {"type": "text"}}"#,
                "messages.0.content: Field required",
            ),
        ] {
            assert_eq!(msg(&base.replace("MSG", m)), Some(want.to_owned()), "{m}");
        }
        assert_eq!(
            msg(r#"{"model": "m", "max_tokens": 5, "messages": {"role": "user"}}"#),
            Some("messages: Field required".into())
        );
        assert_eq!(
            msg(r#"{"model": "m", "max_tokens": null, "messages": []}"#),
            Some("max_tokens: Input should be a positive integer".into())
        );
        assert_eq!(
            msg(r#"{"model": "m", "max_tokens": 1, "temperature": "hot", "messages": []}"#),
            Some("temperature: Input should be a valid number".into())
        );
    }
}
