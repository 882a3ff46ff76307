//! Provider-independent request → Cohere v2 chat body, and Cohere body → [`Response`].
//!
//! Mapping: `top_p` → `p`, `stop` → `stop_sequences`; `temperature`, `max_tokens`, `seed` and the
//! penalties keep their names. Text that accompanies tool calls travels as the assistant's
//! `tool_plan` (and a response's `tool_plan` is read as its text), tool results as `tool` messages
//! with `tool_call_id`, images as `image_url` parts.

use serde_json::{Value, json};

use super::wire::{
    AssistantContent, CohereRequest, FunctionDef, FunctionOut, ImageUrl, Item, Message, Tool,
    ToolCallOut, UserContent, UserPart, WireUsage,
};
use crate::error::{Error, ErrorKind};
use crate::message::{
    ImageSource, Message as ChatMessage, OtherPart, Part, Reasoning, Role, ToolCall,
};
use crate::output::OutputMode;
use crate::provider::ChatRequest;
use crate::providers::common::{OutputPlan, check_tool_choice, effective_tool_choice, output_plan};
use crate::response::{Citation, FinishReason, Response, Usage};
use crate::tool::ToolChoice;

/// What a Cohere finish reason means: a normal end, or a failure.
pub(crate) fn finish_reason(raw: &str) -> Result<FinishReason, Error> {
    Ok(match raw {
        "COMPLETE" => FinishReason::Stop,
        "STOP_SEQUENCE" => FinishReason::StopSequence,
        "MAX_TOKENS" => FinishReason::Length,
        "TOOL_CALL" => FinishReason::ToolCalls,
        "ERROR" => {
            return Err(Error::new(
                ErrorKind::Server,
                "the model failed while generating (finish_reason ERROR)",
            )
            .with_code(Some(raw.into())));
        }
        "TIMEOUT" => {
            return Err(Error::new(
                ErrorKind::Timeout,
                "the generation timed out on the server (finish_reason TIMEOUT)",
            )
            .with_code(Some(raw.into())));
        }
        other => FinishReason::other(other),
    })
}

/// A Cohere citation (`{start, end, text, sources, type}`) as a citation: the cited text is its
/// `text`.
pub(crate) fn citation(raw: Value) -> Citation {
    let kind = raw
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("citation")
        .to_string();
    let text = raw.get("text").and_then(Value::as_str).map(str::to_string);
    let mut c = Citation::from_raw(kind, raw);
    c.cited_text = c.cited_text.or(text);
    c
}

/// Token usage: `tokens` when present, else `billed_units`.
pub(crate) fn usage(u: WireUsage) -> Option<Usage> {
    let t = u.tokens.or(u.billed_units)?;
    let count = |v: Option<f64>| v.filter(|n| n.is_finite() && *n >= 0.0).unwrap_or(0.0) as u64;
    Some(Usage::new(count(t.input_tokens), count(t.output_tokens)))
}

fn image_url(source: &ImageSource) -> String {
    match source {
        ImageSource::Url { url } => url.clone(),
        ImageSource::Base64 { media_type, data } => format!("data:{media_type};base64,{data}"),
    }
}

fn unsupported(what: &str) -> Error {
    Error::new(
        ErrorKind::Unsupported,
        format!("cohere: {what} cannot be sent"),
    )
}

fn convert_messages(messages: &[ChatMessage]) -> Result<Vec<Message<'_>>, Error> {
    let mut out = Vec::with_capacity(messages.len());
    for m in messages {
        match m.role {
            Role::System => {
                let mut text = String::new();
                for p in &m.parts {
                    match p {
                        Part::Text { text: t } => text.push_str(t),
                        _ => return Err(unsupported("a system message with non-text parts")),
                    }
                }
                out.push(Message::System { content: text });
            }
            Role::User => {
                let mut parts = Vec::new();
                for p in &m.parts {
                    match p {
                        Part::Text { text } => parts.push(UserPart::Text { text }),
                        Part::Image { source } => parts.push(UserPart::ImageUrl {
                            image_url: ImageUrl {
                                url: image_url(source),
                            },
                        }),
                        Part::ToolResult(r) => out.push(Message::Tool {
                            tool_call_id: &r.call_id,
                            content: &r.content,
                        }),
                        // Reasoning and provider blocks go back only where the protocol
                        // takes them (see `Part::is_for`); chat completions take neither.
                        Part::Reasoning(_) | Part::Other(_) => {}
                        Part::ToolCall(_) => {
                            return Err(Error::new(
                                ErrorKind::InvalidRequest,
                                "a user message cannot hold a tool call",
                            ));
                        }
                    }
                }
                if parts.is_empty() {
                    continue;
                }
                let content = match parts.as_slice() {
                    [UserPart::Text { text }] => UserContent::Text(text),
                    _ => UserContent::Parts(parts),
                };
                out.push(Message::User { content });
            }
            Role::Assistant => {
                let mut text = String::new();
                let mut calls = Vec::new();
                for p in &m.parts {
                    match p {
                        Part::Text { text: t } => text.push_str(t),
                        // Reasoning and provider blocks go back only where the protocol
                        // takes them (see `Part::is_for`); chat completions take neither.
                        Part::Reasoning(_) | Part::Other(_) => {}
                        Part::ToolCall(c) => calls.push(ToolCallOut {
                            id: &c.id,
                            kind: "function",
                            function: FunctionOut {
                                name: &c.name,
                                arguments: &c.arguments,
                            },
                        }),
                        _ => {
                            return Err(unsupported(
                                "an assistant message with parts other than text and tool calls",
                            ));
                        }
                    }
                }
                out.push(if calls.is_empty() {
                    Message::Assistant {
                        content: Some(text),
                        tool_plan: None,
                        tool_calls: calls,
                    }
                } else {
                    Message::Assistant {
                        content: None,
                        tool_plan: (!text.is_empty()).then_some(text),
                        tool_calls: calls,
                    }
                });
            }
        }
    }
    Ok(out)
}

/// Builds the JSON body of a v2 chat request.
///
/// Cohere cannot force one named tool; a named tool choice sends only that tool with
/// `tool_choice: REQUIRED`, which forces exactly it. `strict_tools` is one switch for the whole
/// request: it is on when any tool (or the structured-output tool) asks for strictness.
pub(crate) fn request_body(req: &ChatRequest, stream: bool) -> Result<CohereRequest<'_>, Error> {
    let plan = output_plan(req, OutputMode::JsonSchema);
    check_tool_choice(req, &plan)?;
    let p = &req.params;
    let mut tools: Vec<Tool<'_>> = plan
        .tools(req)
        .map(|t| Tool {
            kind: "function",
            function: FunctionDef {
                name: t.name,
                description: t.description,
                parameters: t.schema,
            },
            strict: t.strict,
        })
        .collect();
    let mut response_format = None;
    match &plan {
        OutputPlan::None | OutputPlan::Tool(_) => {}
        OutputPlan::Schema(f) => {
            response_format = Some(json!({"type": "json_object", "json_schema": f.schema}));
        }
    }
    let choice = effective_tool_choice(req, &plan);
    let tool_choice = if tools.is_empty() {
        None
    } else {
        match choice.as_ref() {
            ToolChoice::Auto => None,
            ToolChoice::None => Some("NONE"),
            ToolChoice::Required => Some("REQUIRED"),
            ToolChoice::Tool(name) => {
                tools.retain(|t| t.function.name == name.as_str());
                Some("REQUIRED")
            }
        }
    };
    Ok(CohereRequest {
        model: &req.model,
        messages: convert_messages(&req.messages)?,
        strict_tools: tools.iter().any(|t| t.strict).then_some(true),
        tools,
        tool_choice,
        response_format,
        temperature: p.temperature,
        max_tokens: p.max_tokens,
        stop_sequences: (!p.stop.is_empty()).then_some(p.stop.as_slice()),
        seed: p.seed,
        frequency_penalty: p.frequency_penalty,
        presence_penalty: p.presence_penalty,
        p: p.top_p,
        stream,
        extra: &req.extra,
    })
}

/// Parses a successful (non-streaming) v2 chat body.
pub(crate) fn parse_response(req: &ChatRequest, body: &[u8]) -> Result<Response, Error> {
    let resp: super::wire::ChatResponse = serde_json::from_slice(body).map_err(|e| {
        Error::new(
            ErrorKind::Decode,
            "the Cohere chat response is not the expected JSON",
        )
        .with_source(e)
    })?;
    let mut r = Response::empty("cohere", &req.model);
    r.id = resp.id;
    if let Some(raw) = resp.finish_reason {
        r.finish_reason = finish_reason(&raw)?;
        r.raw_finish_reason = Some(raw);
    }
    r.usage = resp.usage.and_then(usage);
    let message = resp
        .message
        .ok_or_else(|| Error::new(ErrorKind::Decode, "the chat response has no message"))?;
    r.text = message.tool_plan.unwrap_or_default();
    for item in message
        .content
        .map(AssistantContent::into_items)
        .unwrap_or_default()
    {
        match item {
            Item::Text(t) => r.text.push_str(&t),
            Item::Reasoning(t) => r.push_part(Part::Reasoning(Reasoning::new("cohere", t))),
            Item::Other(kind, raw) => r.push_part(Part::Other(OtherPart::new("cohere", kind, raw))),
        }
    }
    r.citations.extend(
        message
            .citations
            .unwrap_or_default()
            .into_iter()
            .map(citation),
    );
    for (i, c) in message
        .tool_calls
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let (name, arguments) = match c.function {
            Some(mut f) => (f.name.take(), f.arguments_text()),
            None => (None, None),
        };
        r.tool_calls.push(ToolCall::new(
            c.id.unwrap_or_else(|| format!("call_{i}")),
            name.unwrap_or_default(),
            arguments.unwrap_or_default(),
        ));
    }
    Ok(r)
}
