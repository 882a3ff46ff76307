//! Provider-independent request → Converse body, and Converse body → [`Response`].

use std::borrow::Cow;

use serde_json::{Value, json};

use super::wire::*;
use crate::error::{Error, ErrorKind};
use crate::message::{ImageSource as Source, Message, OtherPart, Part, Reasoning, Role, ToolCall};
use crate::output::OutputMode;
use crate::provider::ChatRequest;
use crate::providers::common::{OutputPlan, check_tool_choice, output_plan};
use crate::response::{Citation, FinishReason, Response, Usage};
use crate::tool::ToolChoice;

/// The provider name answers' parts are kept for.
pub(crate) const BEDROCK: &str = "bedrock";

/// The structured-output mechanism used for [`OutputMode::Auto`]: forcing a tool, which every
/// Bedrock model with tool use supports (`outputConfig.textFormat` is newer and model-specific).
pub(crate) const AUTO_OUTPUT: OutputMode = OutputMode::Tool;

fn unsupported(msg: impl Into<Cow<'static, str>>) -> Error {
    Error::new(ErrorKind::Unsupported, msg).with_provider("bedrock")
}

/// Normalises a Converse `stopReason`.
pub(crate) fn finish_reason(raw: &str) -> FinishReason {
    match raw {
        "end_turn" => FinishReason::Stop,
        "tool_use" => FinishReason::ToolCalls,
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "stop_sequence" => FinishReason::StopSequence,
        "guardrail_intervened" | "content_filtered" => FinishReason::ContentFilter,
        other => FinishReason::other(other),
    }
}

/// The `ImageFormat` of a MIME type.
fn image_format(media_type: &str) -> Option<&'static str> {
    match media_type.trim().to_ascii_lowercase().as_str() {
        "image/png" => Some("png"),
        "image/jpeg" | "image/jpg" => Some("jpeg"),
        "image/gif" => Some("gif"),
        "image/webp" => Some("webp"),
        _ => None,
    }
}

fn image_block(source: &Source) -> Result<ImageBlock<'_>, Error> {
    let unknown_format = |what: &str| {
        unsupported(format!(
            "Bedrock accepts png, jpeg, gif and webp images, not `{what}`"
        ))
    };
    match source {
        Source::Base64 { media_type, data } => Ok(ImageBlock {
            format: image_format(media_type).ok_or_else(|| unknown_format(media_type))?,
            source: ImageSource::Bytes(Cow::Borrowed(data)),
        }),
        Source::Url { url } => {
            if let Some(rest) = url.strip_prefix("data:") {
                let (meta, data) = rest
                    .split_once(',')
                    .ok_or_else(|| unsupported("malformed data: URL for an image"))?;
                let media_type = meta.strip_suffix(";base64").ok_or_else(|| {
                    unsupported("Bedrock needs the image bytes: use a base64 data: URL")
                })?;
                Ok(ImageBlock {
                    format: image_format(media_type).ok_or_else(|| unknown_format(media_type))?,
                    source: ImageSource::Bytes(Cow::Borrowed(data)),
                })
            } else if url.starts_with("s3://") {
                let ext = url.rsplit_once('.').map_or("", |(_, e)| e);
                let format = match ext.to_ascii_lowercase().as_str() {
                    "png" => "png",
                    "jpg" | "jpeg" => "jpeg",
                    "gif" => "gif",
                    "webp" => "webp",
                    _ => return Err(unknown_format(url)),
                };
                Ok(ImageBlock {
                    format,
                    source: ImageSource::S3Location(S3Location { uri: url }),
                })
            } else {
                Err(unsupported(
                    "Bedrock cannot fetch images by URL: send the bytes (base64) or an s3:// URI",
                ))
            }
        }
    }
}

/// A tool call's arguments as the `input` document (an object). History may hold invalid
/// arguments (that is what reinsertion shows the model): they are sent as a string inside one.
fn tool_input(call: &ToolCall) -> Value {
    match serde_json::from_str::<Value>(&call.arguments) {
        Ok(v @ Value::Object(_)) => v,
        _ if call.arguments.trim().is_empty() => json!({}),
        _ => json!({ "_raw_arguments": call.arguments }),
    }
}

/// Whether any message carries a tool call or result (Bedrock then requires `toolConfig`).
fn has_tool_blocks(messages: &[Message]) -> bool {
    messages.iter().any(|m| {
        m.parts
            .iter()
            .any(|p| matches!(p, Part::ToolCall(_) | Part::ToolResult(_)))
    })
}

/// Bedrock reasoning as the `reasoningContent` block it came from: redacted content, or the
/// text with its signature.
fn reasoning_block(r: &Reasoning) -> Block<'_> {
    Block::ReasoningContent(match &r.redacted {
        Some(data) => ReasoningBlock::RedactedContent(data),
        None => ReasoningBlock::ReasoningText(ReasoningText {
            text: &r.text,
            signature: r.signature.as_deref(),
        }),
    })
}

type Converted<'a> = (Vec<SystemBlock<'a>>, Vec<WireMessage<'a>>);

fn convert_messages(messages: &[Message]) -> Result<Converted<'_>, Error> {
    let mut system = Vec::new();
    let mut out: Vec<WireMessage<'_>> = Vec::with_capacity(messages.len());
    for m in messages {
        if m.role == Role::System {
            for p in &m.parts {
                match p {
                    // `SystemContentBlock.text` must not be empty; an empty one says nothing.
                    Part::Text { text } if text.is_empty() => {}
                    Part::Text { text } => system.push(SystemBlock::Text(text)),
                    // Another provider's reasoning or block: not for Bedrock.
                    p if !p.is_for(BEDROCK) => {}
                    _ => return Err(unsupported("system messages can only hold text")),
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
                Part::Text { text } => Block::Text(text),
                Part::Image { source } => Block::Image(image_block(source)?),
                Part::ToolCall(c) if m.role == Role::Assistant => Block::ToolUse(ToolUseBlock {
                    tool_use_id: &c.id,
                    name: &c.name,
                    input: tool_input(c),
                }),
                Part::ToolResult(r) if m.role == Role::User => {
                    Block::ToolResult(ToolResultBlock {
                        tool_use_id: &r.call_id,
                        content: vec![ToolResultContent::Text(&r.content)],
                        // `status` is only accepted by some models: sent only for failures.
                        status: r.is_error.then_some("error"),
                    })
                }
                Part::Reasoning(r) if r.provider == BEDROCK => reasoning_block(r),
                Part::Other(o) if o.provider == BEDROCK => Block::Raw(&o.raw),
                // Another provider's reasoning or block: Bedrock could not read it.
                Part::Reasoning(_) | Part::Other(_) => continue,
                Part::ToolCall(_) | Part::ToolResult(_) => {
                    return Err(Error::new(
                        ErrorKind::InvalidRequest,
                        "tool calls belong in assistant messages and tool results in user messages",
                    )
                    .with_provider("bedrock"));
                }
            });
        }
        // Converse requires alternating roles: consecutive turns of one role are merged.
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

/// Builds the body of a Converse / ConverseStream request (the same body for both).
pub(crate) fn request_body(req: &ChatRequest) -> Result<ConverseRequest<'_>, Error> {
    let p = &req.params;
    if p.seed.is_some() {
        return Err(unsupported(
            "Bedrock Converse has no `seed` (model-specific fields go in \
             extra `additionalModelRequestFields`)",
        ));
    }
    if p.frequency_penalty.is_some() || p.presence_penalty.is_some() {
        return Err(unsupported(
            "Bedrock Converse has no frequency or presence penalties (model-specific fields go \
             in extra `additionalModelRequestFields`)",
        ));
    }
    if let Some(k) = req.extra.keys().find(|k| OWN_MEMBERS.contains(&k.as_str())) {
        return Err(Error::config(format!(
            "extra body field `{k}` is built by Steadfast from the call; set it through the call"
        ))
        .with_provider("bedrock"));
    }
    let plan = output_plan(req, AUTO_OUTPUT);
    check_tool_choice(req, &plan)?;
    let (system, messages) = convert_messages(&req.messages)?;

    let tools: Vec<WireTool<'_>> = plan
        .tools(req)
        .map(|t| {
            WireTool::ToolSpec(ToolSpec {
                name: t.name,
                description: t.description,
                input_schema: InputSchema { json: t.schema },
                strict: t.strict.then_some(true),
            })
        })
        .collect();
    let mut output_config = None;
    match &plan {
        OutputPlan::None => {}
        OutputPlan::Schema(f) => {
            output_config = Some(OutputConfig {
                text_format: TextFormat {
                    kind: "json_schema",
                    structure: Structure::JsonSchema(JsonSchemaDefinition {
                        schema: f.schema.to_string(),
                        name: &f.name,
                    }),
                },
            });
        }
        OutputPlan::Tool(_) => {}
    }
    // Tool forcing for structured output overrides the call's choice.
    let forced = match &plan {
        OutputPlan::Tool(f) => Some(f.name.as_str()),
        _ => None,
    };
    let tool_config = match &req.tool_choice {
        _ if tools.is_empty() => None,
        _ if forced.is_some() => Some(ToolConfig {
            tools,
            tool_choice: forced.map(|name| WireToolChoice::Tool(SpecificTool { name })),
        }),
        // Converse has no "none" choice: the tools are left out, which Bedrock refuses when the
        // conversation holds tool calls or results.
        ToolChoice::None if has_tool_blocks(&req.messages) => {
            return Err(unsupported(
                "Bedrock has no tool_choice `none`: tools cannot be withheld from a \
                 conversation that holds tool calls or results",
            ));
        }
        ToolChoice::None => None,
        ToolChoice::Auto => Some(ToolConfig {
            tools,
            tool_choice: None,
        }),
        ToolChoice::Required => Some(ToolConfig {
            tools,
            tool_choice: Some(WireToolChoice::Any(Empty {})),
        }),
        ToolChoice::Tool(name) => Some(ToolConfig {
            tools,
            tool_choice: Some(WireToolChoice::Tool(SpecificTool { name })),
        }),
    };
    let inference = InferenceConfig {
        max_tokens: p.max_tokens,
        temperature: p.temperature,
        top_p: p.top_p,
        stop_sequences: (!p.stop.is_empty()).then_some(p.stop.as_slice()),
    };
    let inference_config = (inference.max_tokens.is_some()
        || inference.temperature.is_some()
        || inference.top_p.is_some()
        || inference.stop_sequences.is_some())
    .then_some(inference);
    Ok(ConverseRequest {
        messages,
        system,
        inference_config,
        tool_config,
        output_config,
        extra: &req.extra,
    })
}

/// Usage from the wire form.
pub(crate) fn usage(u: WireUsage) -> Usage {
    Usage::new(u.input_tokens.unwrap_or(0), u.output_tokens.unwrap_or(0))
}

/// Whether a `toolUse` block (or its stream start) is a call of a tool Bedrock runs itself
/// (`type: server_tool_use`): kept as an [`OtherPart`], not a call for the caller to run.
pub(crate) fn is_server_tool(tool_use: &Value) -> bool {
    tool_use.get("type").and_then(Value::as_str) == Some("server_tool_use")
}

/// A `Citation` of a `citationsContent` block or a stream's `citation` delta: its kind is the
/// member of its `location` (`web`, `documentChar`, `documentPage`, `documentChunk`,
/// `searchResultLocation`, …; `citation` without one), with the web location's `url`, the
/// `title` and the quoted `sourceContent` text.
pub(crate) fn citation(c: &Value) -> Citation {
    let location = c
        .get("location")
        .and_then(Value::as_object)
        .and_then(|l| l.iter().next());
    let url = location
        .and_then(|(_, l)| l.get("url"))
        .and_then(Value::as_str);
    let quoted: Vec<&str> = c
        .get("sourceContent")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| s.get("text").and_then(Value::as_str))
        .collect();
    Citation {
        kind: location.map_or("citation", |(k, _)| k.as_str()).to_string(),
        url: url.map(str::to_string),
        title: c.get("title").and_then(Value::as_str).map(str::to_string),
        cited_text: (!quoted.is_empty()).then(|| quoted.concat()),
        raw: c.clone(),
    }
}

/// Reads one `ContentBlock` of an answer into `r`.
///
/// Text and client tool calls are text and tool calls; `reasoningContent` is [`Reasoning`]
/// (text with its signature, or redacted content); `citationsContent` is text plus its
/// citations; every other member (`toolUse` of a server tool, `toolResult`, `image`,
/// `document`, a member added later) is an [`OtherPart`] holding the block as received, `kind`
/// its member. Only a client `toolUse` without its id or name is an error.
fn read_block(r: &mut Response, block: &Value) -> Result<(), Error> {
    let other = |kind: &str| Part::Other(OtherPart::new(BEDROCK, kind, block.clone()));
    let Some((kind, inner)) = block.as_object().and_then(|o| o.iter().next()) else {
        if !block.as_object().is_some_and(serde_json::Map::is_empty) {
            r.push_part(other("unknown"));
        }
        return Ok(());
    };
    match kind.as_str() {
        "text" => match inner.as_str() {
            Some(text) => r.text.push_str(text),
            None => r.push_part(other(kind)),
        },
        "toolUse" if !is_server_tool(inner) => {
            let field = |name: &str| {
                inner.get(name).and_then(Value::as_str).ok_or_else(|| {
                    Error::new(
                        ErrorKind::Decode,
                        format!("a toolUse block of the Converse response has no `{name}`"),
                    )
                })
            };
            let (id, name) = (field("toolUseId")?, field("name")?);
            let arguments = match inner.get("input") {
                None | Some(Value::Null) => "{}".to_string(),
                Some(input) => input.to_string(),
            };
            r.tool_calls.push(ToolCall::new(id, name, arguments));
        }
        "reasoningContent" => {
            let text = inner.get("reasoningText");
            let redacted = inner.get("redactedContent").and_then(Value::as_str);
            let part = match (text, redacted) {
                (Some(t), _) if t.get("text").is_some_and(Value::is_string) => {
                    let mut reasoning =
                        Reasoning::new(BEDROCK, t["text"].as_str().unwrap_or_default());
                    reasoning.signature = t
                        .get("signature")
                        .and_then(Value::as_str)
                        .map(str::to_string);
                    Part::Reasoning(reasoning)
                }
                (None, Some(data)) => Part::Reasoning(Reasoning::redacted(BEDROCK, data)),
                _ => other(kind),
            };
            r.push_part(part);
        }
        "citationsContent" => {
            let generated = inner.get("content").and_then(Value::as_array);
            for text in generated
                .into_iter()
                .flatten()
                .filter_map(|c| c.get("text").and_then(Value::as_str))
            {
                r.text.push_str(text);
            }
            let cited = inner.get("citations").and_then(Value::as_array);
            r.citations
                .extend(cited.into_iter().flatten().map(citation));
        }
        _ => r.push_part(other(kind)),
    }
    Ok(())
}

/// Parses a successful Converse body.
pub(crate) fn parse_response(req: &ChatRequest, body: &[u8]) -> Result<Response, Error> {
    let resp: ConverseResponse = serde_json::from_slice(body).map_err(|e| {
        Error::new(
            ErrorKind::Decode,
            "the Converse response is not the expected JSON",
        )
        .with_source(e)
    })?;
    let mut r = Response::empty(BEDROCK, &req.model);
    r.usage = resp.usage.map(usage);
    let blocks = resp
        .output
        .and_then(|o| o.message)
        .map(|m| m.content)
        .unwrap_or_default();
    for block in &blocks {
        read_block(&mut r, block)?;
    }
    if let Some(raw) = resp.stop_reason {
        r.finish_reason = finish_reason(&raw);
        r.raw_finish_reason = Some(raw);
    }
    r.finish_details = resp.additional_model_response_fields;
    Ok(r)
}
