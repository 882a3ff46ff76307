//! Provider-independent request → Anthropic body, and Anthropic body → [`Response`].

use serde_json::{Value, json};

use super::wire::*;
use crate::error::{Error, ErrorKind};
use crate::message::{ImageSource, Message, OtherPart, Part, Reasoning, Role, ToolCall};
use crate::output::OutputMode;
use crate::provider::ChatRequest;
use crate::providers::common::{
    OutputPlan, check_tool_choice, effective_tool_choice, output_plan, type_of,
};
use crate::response::{Citation, FinishReason, Response, Usage};
use crate::tool::ToolChoice;

/// `max_tokens` is required by Anthropic; this is the default when the call sets none.
pub const DEFAULT_MAX_TOKENS: u32 = 1024;

/// Normalises an Anthropic stop reason.
pub(crate) fn finish_reason(raw: &str) -> FinishReason {
    match raw {
        "end_turn" => FinishReason::Stop,
        "stop_sequence" => FinishReason::StopSequence,
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        "refusal" => FinishReason::Refusal,
        "pause_turn" => FinishReason::Paused,
        other => FinishReason::other(other),
    }
}

fn image_source(source: &ImageSource) -> Value {
    match source {
        ImageSource::Url { url } => json!({"type": "url", "url": url}),
        ImageSource::Base64 { media_type, data } => {
            json!({"type": "base64", "media_type": media_type, "data": data})
        }
    }
}

fn parse_input(call: &ToolCall) -> Value {
    // History may hold invalid arguments (that is what reinsertion shows the model); Anthropic needs
    // an object, so invalid JSON is sent as a string inside one.
    match serde_json::from_str::<Value>(&call.arguments) {
        Ok(v @ Value::Object(_)) => v,
        _ if call.arguments.trim().is_empty() => json!({}),
        _ => json!({ "_raw_arguments": call.arguments }),
    }
}

fn convert_messages(messages: &[Message]) -> Result<(Option<String>, Vec<WireMessage<'_>>), Error> {
    let mut system: Option<String> = None;
    let mut out: Vec<WireMessage<'_>> = Vec::with_capacity(messages.len());
    for m in messages {
        if m.role == Role::System {
            let s = system.get_or_insert_with(String::new);
            for p in &m.parts {
                match p {
                    Part::Text { text } => {
                        if !s.is_empty() {
                            s.push_str("\n\n");
                        }
                        s.push_str(text);
                    }
                    _ => {
                        return Err(Error::new(
                            ErrorKind::Unsupported,
                            "system messages can only hold text",
                        ));
                    }
                }
            }
            continue;
        }
        let role = if m.role == Role::User {
            "user"
        } else {
            "assistant"
        };
        let mut blocks = Vec::with_capacity(m.parts.len());
        for p in &m.parts {
            blocks.push(match p {
                Part::Text { text } => Block::Text { text },
                Part::Image { source } => Block::Image {
                    source: image_source(source),
                },
                Part::ToolCall(c) if m.role == Role::Assistant => Block::ToolUse {
                    id: &c.id,
                    name: &c.name,
                    input: parse_input(c),
                },
                Part::ToolResult(r) if m.role == Role::User => Block::ToolResult {
                    tool_use_id: &r.call_id,
                    content: &r.content,
                    is_error: r.is_error,
                },
                // What the model produced goes back exactly as received, to Anthropic only.
                p if !p.is_for("anthropic") => continue,
                Part::Reasoning(r) if m.role == Role::Assistant => {
                    match (&r.redacted, &r.signature) {
                        (Some(data), _) => Block::RedactedThinking { data },
                        (None, Some(signature)) => Block::Thinking {
                            thinking: &r.text,
                            signature,
                        },
                        // Unsigned thinking cannot be verified: the API would reject it.
                        (None, None) => continue,
                    }
                }
                Part::Other(o) if m.role == Role::Assistant => Block::Raw(&o.raw),
                _ => {
                    return Err(Error::new(
                        ErrorKind::InvalidRequest,
                        "tool calls belong in assistant messages and tool results in user messages",
                    ));
                }
            });
        }
        // Consecutive turns of the same role are merged into one, as the API requires alternation.
        match out.last_mut() {
            Some(last) if last.role == role => last.content.extend(blocks),
            _ => out.push(WireMessage {
                role,
                content: blocks,
            }),
        }
    }
    Ok((system, out))
}

/// Builds the body of a Messages request.
pub(crate) fn request_body(req: &ChatRequest, stream: bool) -> Result<MessagesRequest<'_>, Error> {
    let p = &req.params;
    if p.seed.is_some() {
        return Err(
            Error::new(ErrorKind::Unsupported, "Anthropic does not support `seed`")
                .with_provider("anthropic"),
        );
    }
    if p.frequency_penalty.is_some() || p.presence_penalty.is_some() {
        return Err(Error::new(
            ErrorKind::Unsupported,
            "Anthropic does not support frequency or presence penalties",
        )
        .with_provider("anthropic"));
    }
    let plan = output_plan(req, OutputMode::Tool);
    check_tool_choice(req, &plan)?;
    let (system, messages) = convert_messages(&req.messages)?;
    let tools: Vec<WireTool<'_>> = plan
        .tools(req)
        .map(|t| WireTool {
            name: t.name,
            description: t.description,
            input_schema: t.schema,
            strict: t.strict,
        })
        .collect();
    let mut output_config = None;
    match &plan {
        OutputPlan::None | OutputPlan::Tool(_) => {}
        OutputPlan::Schema(f) => {
            output_config = Some(json!({"format": {"type": "json_schema", "schema": f.schema}}));
        }
    }
    let choice = effective_tool_choice(req, &plan);
    let tool_choice = if tools.is_empty() {
        None
    } else {
        match &*choice {
            ToolChoice::Auto => None,
            ToolChoice::None => Some(json!({"type": "none"})),
            ToolChoice::Required => Some(json!({"type": "any"})),
            ToolChoice::Tool(name) => Some(json!({"type": "tool", "name": name})),
        }
    };
    Ok(MessagesRequest {
        model: &req.model,
        max_tokens: p.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
        system,
        messages,
        tools,
        tool_choice,
        output_config,
        temperature: p.temperature,
        top_p: p.top_p,
        stop_sequences: (!p.stop.is_empty()).then_some(p.stop.as_slice()),
        stream: stream.then_some(true),
        extra: &req.extra,
    })
}

/// A content block of an answer, read by its `type`.
pub(crate) enum Read {
    Text {
        text: String,
        citations: Vec<Value>,
    },
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
    Thinking {
        thinking: String,
        signature: Option<String>,
    },
    Redacted {
        data: String,
    },
    /// A server tool call or result, or a block type this version does not know: kept whole.
    Other {
        kind: String,
        raw: Value,
    },
}

fn take_string(v: &mut Value, key: &str) -> Option<String> {
    match v.get_mut(key).map(Value::take) {
        Some(Value::String(s)) => Some(s),
        _ => None,
    }
}

/// Reads one content block. Never fails: a block that is not the shape of its known type (a
/// `tool_use` without an id, say) is kept whole like an unknown one.
pub(crate) fn read_block(mut block: Value) -> Read {
    let kind = type_of(&block);
    let has = |b: &Value, k: &str| b.get(k).is_some_and(Value::is_string);
    match kind.as_str() {
        "text" => Read::Text {
            text: take_string(&mut block, "text").unwrap_or_default(),
            citations: match block.get_mut("citations").map(Value::take) {
                Some(Value::Array(c)) => c,
                _ => Vec::new(),
            },
        },
        "tool_use" if has(&block, "id") && has(&block, "name") => Read::ToolUse {
            id: take_string(&mut block, "id").unwrap_or_default(),
            name: take_string(&mut block, "name").unwrap_or_default(),
            input: block.get_mut("input").map(Value::take).unwrap_or_default(),
        },
        "thinking" => Read::Thinking {
            thinking: take_string(&mut block, "thinking").unwrap_or_default(),
            signature: take_string(&mut block, "signature").filter(|s| !s.is_empty()),
        },
        "redacted_thinking" if has(&block, "data") => Read::Redacted {
            data: take_string(&mut block, "data").unwrap_or_default(),
        },
        _ => Read::Other { kind, raw: block },
    }
}

/// A citation of a text block.
pub(crate) fn citation(raw: Value) -> Citation {
    let kind = type_of(&raw);
    Citation::from_raw(kind, raw)
}

/// The refusal message of a `refusal` stop: `stop_details.explanation` when there is one.
pub(crate) fn refusal_message(details: Option<&Value>) -> Option<String> {
    details?
        .get("explanation")
        .and_then(Value::as_str)
        .filter(|e| !e.is_empty())
        .map(str::to_string)
}

/// Parses a successful Messages body.
pub(crate) fn parse_response(req: &ChatRequest, body: &[u8]) -> Result<Response, Error> {
    let msg: MessageResponse = serde_json::from_slice(body).map_err(|e| {
        Error::new(
            ErrorKind::Decode,
            "the Messages response is not the expected JSON",
        )
        .with_source(e)
    })?;
    let mut r = Response::empty("anthropic", msg.model.as_deref().unwrap_or(&req.model));
    r.id = msg.id;
    if let Some(u) = msg.usage {
        r.usage = Some(Usage::new(
            u.input_tokens.unwrap_or(0),
            u.output_tokens.unwrap_or(0),
        ));
    }
    for block in msg.content {
        match read_block(block) {
            Read::Text { text, citations } => {
                r.text.push_str(&text);
                r.citations.extend(citations.into_iter().map(citation));
            }
            Read::ToolUse { id, name, input } => {
                let arguments = if input.is_null() {
                    "{}".to_string()
                } else {
                    input.to_string()
                };
                r.tool_calls.push(ToolCall::new(id, name, arguments));
            }
            Read::Thinking {
                thinking,
                signature,
            } => {
                let mut reasoning = Reasoning::new("anthropic", thinking);
                reasoning.signature = signature;
                r.push_part(Part::Reasoning(reasoning));
            }
            Read::Redacted { data } => {
                r.push_part(Part::Reasoning(Reasoning::redacted("anthropic", data)));
            }
            Read::Other { kind, raw } => {
                r.push_part(Part::Other(OtherPart::new("anthropic", kind, raw)))
            }
        }
    }
    if let Some(raw) = msg.stop_reason {
        r.finish_reason = finish_reason(&raw);
        if r.finish_reason == FinishReason::Refusal {
            r.refusal = Some(
                refusal_message(msg.stop_details.as_ref())
                    .or_else(|| (!r.text.is_empty()).then(|| r.text.clone()))
                    .unwrap_or_else(|| "the model refused".into()),
            );
        }
        r.raw_finish_reason = Some(raw);
    }
    r.finish_details = msg.stop_details.filter(|d| !d.is_null());
    Ok(r)
}
