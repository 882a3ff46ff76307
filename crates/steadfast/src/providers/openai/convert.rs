//! Provider-independent request → OpenAI body, and OpenAI body → [`Response`].

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

/// Normalises an OpenAI finish reason.
pub(crate) fn finish_reason(raw: &str) -> FinishReason {
    match raw {
        "stop" => FinishReason::Stop,
        "length" | "model_length" => FinishReason::Length,
        "tool_calls" | "function_call" => FinishReason::ToolCalls,
        "content_filter" => FinishReason::ContentFilter,
        other => FinishReason::other(other),
    }
}

fn image_url(source: &ImageSource) -> String {
    match source {
        ImageSource::Url { url } => url.clone(),
        ImageSource::Base64 { media_type, data } => format!("data:{media_type};base64,{data}"),
    }
}

fn convert_messages(messages: &[Message]) -> Result<Vec<WireMessage<'_>>, Error> {
    let mut out = Vec::with_capacity(messages.len());
    for m in messages {
        match m.role {
            Role::System => {
                let mut text = String::new();
                for p in &m.parts {
                    match p {
                        Part::Text { text: t } => text.push_str(t),
                        _ => {
                            return Err(Error::new(
                                ErrorKind::Unsupported,
                                "system messages can only hold text",
                            ));
                        }
                    }
                }
                out.push(WireMessage {
                    role: "system",
                    content: Some(WireContent::Owned(text)),
                    tool_calls: Vec::new(),
                    tool_call_id: None,
                });
            }
            Role::User => {
                let mut parts = Vec::new();
                for p in &m.parts {
                    match p {
                        Part::Text { text } => parts.push(WirePart::Text { text }),
                        Part::Image { source } => parts.push(WirePart::ImageUrl {
                            image_url: ImageUrl {
                                url: image_url(source),
                            },
                        }),
                        Part::ToolResult(r) => out.push(WireMessage {
                            role: "tool",
                            content: Some(WireContent::Text(&r.content)),
                            tool_calls: Vec::new(),
                            tool_call_id: Some(&r.call_id),
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
                    [WirePart::Text { text }] => WireContent::Text(text),
                    _ => WireContent::Parts(parts),
                };
                out.push(WireMessage {
                    role: "user",
                    content: Some(content),
                    tool_calls: Vec::new(),
                    tool_call_id: None,
                });
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
                        Part::ToolCall(c) => calls.push(WireToolCallOut {
                            id: &c.id,
                            kind: "function",
                            function: WireFunctionOut {
                                name: &c.name,
                                arguments: &c.arguments,
                            },
                        }),
                        _ => {
                            return Err(Error::new(
                                ErrorKind::Unsupported,
                                "assistant messages can only hold text and tool calls",
                            ));
                        }
                    }
                }
                out.push(WireMessage {
                    role: "assistant",
                    content: (!text.is_empty() || calls.is_empty())
                        .then_some(WireContent::Owned(text)),
                    tool_calls: calls,
                    tool_call_id: None,
                });
            }
        }
    }
    Ok(out)
}

fn tool_choice_value(choice: &ToolChoice, forced_word: &'static str) -> Option<Value> {
    match choice {
        ToolChoice::Auto => None,
        ToolChoice::None => Some(json!("none")),
        ToolChoice::Required => Some(json!(forced_word)),
        ToolChoice::Tool(name) => Some(json!({"type": "function", "function": {"name": name}})),
    }
}

/// The differences between the request bodies of the OpenAI family's members. Each provider
/// names its own options, so a quirk of one member cannot change another's body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BodyOptions {
    /// `max_completion_tokens` instead of `max_tokens`.
    pub(crate) max_completion_tokens: bool,
    /// `stream_options.include_usage` on streamed requests.
    pub(crate) stream_options: bool,
}

impl BodyOptions {
    /// The plain Chat Completions body: `max_tokens`, no `stream_options`.
    #[cfg(any(feature = "mistral", feature = "azure-inference"))]
    pub(crate) const PLAIN: BodyOptions = BodyOptions {
        max_completion_tokens: false,
        stream_options: false,
    };
}

/// Builds the JSON body of a chat completion request.
pub(crate) fn request_body(
    opts: BodyOptions,
    req: &ChatRequest,
    stream: bool,
) -> Result<ChatCompletionRequest<'_>, Error> {
    let plan = output_plan(req, OutputMode::JsonSchema);
    check_tool_choice(req, &plan)?;
    let p = &req.params;
    let tools: Vec<WireTool<'_>> = plan
        .tools(req)
        .map(|t| WireTool {
            kind: "function",
            function: WireFunctionDef {
                name: t.name,
                description: t.description,
                parameters: t.schema,
                strict: t.strict,
            },
        })
        .collect();
    let mut response_format = None;
    match &plan {
        OutputPlan::None | OutputPlan::Tool(_) => {}
        OutputPlan::Schema(f) => {
            response_format = Some(json!({
                "type": "json_schema",
                "json_schema": {"name": f.name, "schema": f.schema, "strict": f.strict},
            }));
        }
    }
    let choice = effective_tool_choice(req, &plan);
    let tool_choice = if tools.is_empty() {
        None
    } else {
        tool_choice_value(&choice, "required")
    };
    Ok(ChatCompletionRequest {
        model: &req.model,
        messages: convert_messages(&req.messages)?,
        temperature: p.temperature,
        top_p: p.top_p,
        max_completion_tokens: p.max_tokens.filter(|_| opts.max_completion_tokens),
        max_tokens: p.max_tokens.filter(|_| !opts.max_completion_tokens),
        stop: (!p.stop.is_empty()).then_some(p.stop.as_slice()),
        seed: p.seed,
        frequency_penalty: p.frequency_penalty,
        presence_penalty: p.presence_penalty,
        tools,
        tool_choice,
        response_format,
        stream: stream.then_some(true),
        stream_options: (stream && opts.stream_options).then_some(StreamOptions {
            include_usage: true,
        }),
        extra: &req.extra,
    })
}

/// Parses a successful chat completion body.
pub(crate) fn parse_response(
    provider: &str,
    req: &ChatRequest,
    body: &[u8],
) -> Result<Response, Error> {
    let completion: ChatCompletion = serde_json::from_slice(body).map_err(|e| {
        Error::new(
            ErrorKind::Decode,
            "the chat completion response is not the expected JSON",
        )
        .with_source(e)
    })?;
    let mut r = Response::empty(provider, completion.model.as_deref().unwrap_or(&req.model));
    r.id = completion.id;
    r.usage = completion
        .usage
        .map(|u| Usage::new(u.prompt_tokens, u.completion_tokens));
    let choice = completion
        .choices
        .into_iter()
        .find(|c| c.index == 0)
        .ok_or_else(|| Error::new(ErrorKind::Decode, "the chat completion has no choice"))?;
    if let Some(raw) = choice.finish_reason {
        r.finish_reason = finish_reason(&raw);
        r.raw_finish_reason = Some(raw);
    }
    let message = choice.message;
    if let Some(text) = reasoning_text(message.reasoning_content, message.reasoning) {
        r.push_part(Part::Reasoning(Reasoning::new(provider, text)));
    }
    r.text.push_str(&message.content.unwrap_or_default());
    r.refusal = message.refusal;
    if r.refusal.is_some() && r.finish_reason == FinishReason::Stop {
        r.finish_reason = FinishReason::Refusal;
    }
    r.citations.extend(
        message
            .annotations
            .unwrap_or_default()
            .into_iter()
            .map(annotation),
    );
    for (i, call) in message
        .tool_calls
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        match read_tool_call(i, call) {
            Ok(call) => r.tool_calls.push(call),
            Err((kind, raw)) => r.push_part(Part::Other(OtherPart::new(provider, kind, raw))),
        }
    }
    Ok(r)
}

/// One tool call of a message: a `function` call (the default when `type` is missing), a
/// `custom` tool's call (its free-form `input` as the arguments), or — a kind this version does
/// not know — the kind and the call as received.
pub(crate) fn read_tool_call(i: usize, mut call: Value) -> Result<ToolCall, (String, Value)> {
    // Arguments some servers send as the object itself are serialised.
    let text = |v: Option<&Value>, k: &str| match v.and_then(|v| v.get(k)) {
        Some(Value::String(s)) => s.clone(),
        None | Some(Value::Null) => String::new(),
        Some(other) => other.to_string(),
    };
    let kind = call
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("function")
        .to_string();
    let id = call
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map_or_else(|| format!("call_{i}"), str::to_string);
    let (name, arguments) = match kind.as_str() {
        "function" => ("name", "arguments"),
        "custom" => ("name", "input"),
        _ => return Err((kind, call)),
    };
    let Some(body) = call.get_mut(kind.as_str()).filter(|b| b.is_object()) else {
        return Err((kind, call));
    };
    let body = Some(&*body);
    Ok(ToolCall::new(id, text(body, name), text(body, arguments)))
}

/// The reasoning text of a message or delta: `reasoning_content`, else `reasoning` when it is
/// text (some servers send an object there; it is not text and is left alone).
pub(crate) fn reasoning_text(content: Option<String>, reasoning: Option<Value>) -> Option<String> {
    let reasoning = match reasoning {
        Some(Value::String(s)) => Some(s),
        _ => None,
    };
    content.or(reasoning).filter(|t| !t.is_empty())
}

/// A chat-completions annotation (`{"type": "url_citation", "url_citation": {url, title, …}}`)
/// as a citation.
pub(crate) fn annotation(raw: Value) -> Citation {
    let kind = type_of(&raw);
    let inner = raw.get(&kind).filter(|v| v.is_object()).unwrap_or(&raw);
    let get = |k: &str| inner.get(k).and_then(Value::as_str).map(str::to_string);
    let (url, title) = (get("url"), get("title"));
    let mut c = Citation::from_raw(kind, raw);
    c.url = c.url.or(url);
    c.title = c.title.or(title);
    c
}
