//! Provider-independent request → Gemini body, and Gemini body → [`Response`].

use serde_json::{Map, Value, json};

use super::error::classify_value;
use super::parts::{GEMINI, Piece, citations, piece};
use super::wire::*;
use crate::error::{Error, ErrorKind};
use crate::message::{
    ImageSource, Message, OtherPart, Part, Reasoning, Role, ToolCall, ToolResult,
};
use crate::output::OutputMode;
use crate::provider::ChatRequest;
use crate::providers::common::{OutputPlan, check_tool_choice, effective_tool_choice, output_plan};
use crate::response::{FinishReason, Response, Usage};
use crate::tool::ToolChoice;

/// Normalises a Gemini `finishReason`.
///
/// Gemini has no tool-call finish reason: a response that calls functions still says `STOP`, and
/// callers turn that into [`FinishReason::ToolCalls`] with [`finish_with_calls`].
pub(crate) fn finish_reason(raw: &str) -> FinishReason {
    match raw {
        "STOP" => FinishReason::Stop,
        "MAX_TOKENS" => FinishReason::Length,
        "SAFETY"
        | "RECITATION"
        | "BLOCKLIST"
        | "PROHIBITED_CONTENT"
        | "SPII"
        | "IMAGE_SAFETY"
        | "IMAGE_PROHIBITED_CONTENT"
        | "IMAGE_RECITATION" => FinishReason::ContentFilter,
        // LANGUAGE, OTHER, MALFORMED_FUNCTION_CALL, UNEXPECTED_TOOL_CALL, TOO_MANY_TOOL_CALLS,
        // FINISH_REASON_UNSPECIFIED and values added later.
        other => FinishReason::other(other),
    }
}

/// The normalised reason, given whether the answer called functions.
pub(crate) fn finish_with_calls(raw: &str, has_calls: bool) -> FinishReason {
    match finish_reason(raw) {
        FinishReason::Stop if has_calls => FinishReason::ToolCalls,
        other => other,
    }
}

/// Token usage from `usageMetadata`.
///
/// Input is `promptTokenCount + toolUsePromptTokenCount` (the prompt, including cached tokens,
/// plus what built-in tools such as code execution or URL context fed back to the model); output
/// is `candidatesTokenCount + thoughtsTokenCount`: thinking tokens are generated and billed as
/// output, as OpenAI counts reasoning tokens inside `completion_tokens`. The two add up to
/// `totalTokenCount`.
pub(crate) fn usage(u: &UsageMetadata) -> Usage {
    Usage::new(
        u.prompt_token_count.unwrap_or(0) + u.tool_use_prompt_token_count.unwrap_or(0),
        u.candidates_token_count.unwrap_or(0) + u.thoughts_token_count.unwrap_or(0),
    )
}

/// The id Steadfast gives the `index`-th function call of a response when Gemini gives none (the
/// API-key API never does). Such ids are not sent back to Gemini.
pub(crate) fn synthetic_id(index: usize) -> String {
    format!("call_{index}")
}

/// The id to put on the wire for a call id from the conversation: none for ids Steadfast made up
/// (`call_<n>`), the id itself for ids Gemini (or the caller) chose.
fn wire_id(id: &str) -> Option<&str> {
    let synthetic = id
        .strip_prefix("call_")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    (!synthetic && !id.is_empty()).then_some(id)
}

/// A function call's arguments as text: the `args` object, `{}` when absent or null.
pub(crate) fn arguments_text(args: Option<&Value>) -> String {
    match args {
        None | Some(Value::Null) => "{}".to_string(),
        Some(v) => v.to_string(),
    }
}

/// The call's arguments as the object Gemini requires. History may hold invalid arguments (that
/// is what error reinsertion shows the model), so anything else is sent inside an object.
fn call_args(call: &ToolCall) -> Value {
    match serde_json::from_str::<Value>(&call.arguments) {
        Ok(v @ Value::Object(_)) => v,
        _ if call.arguments.trim().is_empty() => json!({}),
        _ => json!({ "_raw_arguments": call.arguments }),
    }
}

/// A tool result as the object `functionResponse.response` must be: a JSON object result as it
/// is, anything else wrapped as `{"result": …}`; a failed tool's output goes under `"error"` (the
/// keys python-genai uses for automatic function calling).
fn tool_response(result: &ToolResult) -> Value {
    let value =
        serde_json::from_str::<Value>(&result.content).unwrap_or_else(|_| json!(result.content));
    if result.is_error {
        return json!({ "error": value });
    }
    match value {
        v @ Value::Object(_) => v,
        v => json!({ "result": v }),
    }
}

/// The MIME type of an image URL, from its file extension.
fn mime_from_url(url: &str) -> Option<&'static str> {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let ext = path.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "heic" => "image/heic",
        "heif" => "image/heif",
        _ => return None,
    })
}

fn image_part(source: &ImageSource) -> Result<WirePart<'_>, Error> {
    match source {
        ImageSource::Base64 { media_type, data } => Ok(WirePart::InlineData {
            inline_data: Blob {
                mime_type: media_type,
                data,
            },
        }),
        ImageSource::Url { url } => {
            if let Some(rest) = url.strip_prefix("data:") {
                let Some((meta, data)) = rest.split_once(',') else {
                    return Err(unsupported("a `data:` image URL without data"));
                };
                let Some(mime_type) = meta.strip_suffix(";base64") else {
                    return Err(unsupported(
                        "Gemini needs base64 `data:` image URLs (`data:<type>;base64,…`)",
                    ));
                };
                return Ok(WirePart::InlineData {
                    inline_data: Blob { mime_type, data },
                });
            }
            if url.starts_with("https://") {
                return Ok(WirePart::FileData {
                    file_data: FileData {
                        mime_type: mime_from_url(url),
                        file_uri: url,
                    },
                });
            }
            Err(unsupported(
                "Gemini takes images as base64 data, `data:` URLs or `https://` URLs (fileData)",
            ))
        }
    }
}

fn unsupported(msg: &'static str) -> Error {
    Error::new(ErrorKind::Unsupported, msg).with_provider("gemini")
}

/// The name of the call a tool result answers: the result's own `name`, else the name of the
/// latest earlier call with its id.
fn result_name<'a>(result: &'a ToolResult, calls: &[&'a ToolCall]) -> Result<&'a str, Error> {
    if !result.name.is_empty() {
        return Ok(&result.name);
    }
    calls
        .iter()
        .rev()
        .find(|c| c.id == result.call_id)
        .map(|c| c.name.as_str())
        .ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidRequest,
                format!(
                    "the tool result for call `{}` names no tool and answers no earlier call \
                     (Gemini needs the function name)",
                    result.call_id
                ),
            )
            .with_provider("gemini")
        })
}

/// Gemini reasoning as the part it came from (see the [`parts`](super::parts) module docs): a
/// signature-only reasoning right after a text part is that text's `thoughtSignature`; any other
/// is a `thought: true` part with its text and signature.
fn reasoning_part<'a>(r: &'a Reasoning, parts: &mut Vec<WirePart<'a>>) -> Result<(), Error> {
    if r.redacted.is_some() {
        return Err(unsupported(
            "Gemini has no redacted reasoning to send back (a `gemini` reasoning part holds \
             redacted data)",
        ));
    }
    if let (true, Some(signature)) = (r.text.is_empty(), r.signature.as_deref()) {
        if let Some(WirePart::Text {
            thought_signature: slot @ None,
            ..
        }) = parts.last_mut()
        {
            *slot = Some(signature);
            return Ok(());
        }
    }
    parts.push(WirePart::Thought {
        text: &r.text,
        thought: true,
        thought_signature: r.signature.as_deref(),
    });
    Ok(())
}

type Converted<'a> = (Option<SystemInstruction<'a>>, Vec<Content<'a>>);

fn convert_messages(messages: &[Message]) -> Result<Converted<'_>, Error> {
    let mut system: Vec<WirePart<'_>> = Vec::new();
    let mut contents: Vec<Content<'_>> = Vec::with_capacity(messages.len());
    let mut calls: Vec<&ToolCall> = Vec::new();
    for m in messages {
        if m.role == Role::System {
            for p in &m.parts {
                match p {
                    Part::Text { text } if text.is_empty() => {}
                    Part::Text { text } => system.push(WirePart::text(text)),
                    // Another provider's reasoning or block: not for Gemini.
                    p if !p.is_for(GEMINI) => {}
                    _ => return Err(unsupported("system messages can only hold text")),
                }
            }
            continue;
        }
        let role = if m.role == Role::User {
            "user"
        } else {
            "model"
        };
        let mut parts = Vec::with_capacity(m.parts.len());
        for p in &m.parts {
            match p {
                Part::Text { text } if text.is_empty() => {}
                Part::Text { text } => parts.push(WirePart::text(text)),
                Part::Image { source } => parts.push(image_part(source)?),
                Part::Reasoning(r) if r.provider == GEMINI => reasoning_part(r, &mut parts)?,
                Part::Other(o) if o.provider == GEMINI => parts.push(WirePart::Raw(&o.raw)),
                // Another provider's reasoning or block: Gemini could not read it.
                Part::Reasoning(_) | Part::Other(_) => {}
                Part::ToolCall(c) if m.role == Role::Assistant => {
                    calls.push(c);
                    parts.push(WirePart::FunctionCall {
                        function_call: FunctionCallOut {
                            id: wire_id(&c.id),
                            name: &c.name,
                            args: call_args(c),
                        },
                        thought_signature: c.signature.as_deref(),
                    });
                }
                Part::ToolResult(r) if m.role == Role::User => {
                    parts.push(WirePart::FunctionResponse {
                        function_response: FunctionResponseOut {
                            id: wire_id(&r.call_id),
                            name: result_name(r, &calls)?,
                            response: tool_response(r),
                        },
                    });
                }
                _ => {
                    return Err(Error::new(
                        ErrorKind::InvalidRequest,
                        "tool calls belong in assistant messages and tool results in user messages",
                    ));
                }
            }
        }
        if parts.is_empty() {
            continue;
        }
        // Consecutive turns of one role become one content: parallel function responses must
        // all sit in the turn after the calls.
        match contents.last_mut() {
            Some(last) if last.role == role => last.parts.extend(parts),
            _ => contents.push(Content { role, parts }),
        }
    }
    let system = (!system.is_empty()).then_some(SystemInstruction { parts: system });
    Ok((system, contents))
}

/// Builds the body of a `generateContent` request (the same body streams).
pub(crate) fn request_body(req: &ChatRequest) -> Result<GenerateContentRequest<'_>, Error> {
    let p = &req.params;
    let seed = p
        .seed
        .map(|s| {
            i32::try_from(s).map_err(|_| {
                Error::new(
                    ErrorKind::Unsupported,
                    format!("Gemini seeds are 32-bit integers; {s} is out of range"),
                )
                .with_provider("gemini")
            })
        })
        .transpose()?;
    let plan = output_plan(req, OutputMode::JsonSchema);
    check_tool_choice(req, &plan)?;
    let (system_instruction, contents) = convert_messages(&req.messages)?;
    let declarations: Vec<FunctionDeclaration<'_>> = plan
        .tools(req)
        .map(|t| FunctionDeclaration {
            name: t.name,
            description: t.description,
            parameters_json_schema: t.schema,
        })
        .collect();
    let mut generation_config = GenerationConfig {
        temperature: p.temperature,
        top_p: p.top_p,
        max_output_tokens: p.max_tokens,
        stop_sequences: (!p.stop.is_empty()).then_some(p.stop.as_slice()),
        seed,
        presence_penalty: p.presence_penalty,
        frequency_penalty: p.frequency_penalty,
        ..GenerationConfig::default()
    };
    match &plan {
        OutputPlan::None | OutputPlan::Tool(_) => {}
        OutputPlan::Schema(f) => {
            generation_config.response_mime_type = Some("application/json");
            generation_config.response_json_schema = Some(&f.schema);
        }
    }
    let choice = effective_tool_choice(req, &plan);
    let tool_config = if declarations.is_empty() {
        None
    } else {
        let (mode, allowed) = match &*choice {
            ToolChoice::Auto => ("AUTO", Vec::new()),
            ToolChoice::None => ("NONE", Vec::new()),
            ToolChoice::Required => ("ANY", Vec::new()),
            ToolChoice::Tool(name) => (
                "ANY",
                // The forced name borrows from the request when it names one of its tools or
                // the output format; otherwise `check_tool_choice` has already failed.
                declarations
                    .iter()
                    .find(|d| d.name == name)
                    .map(|d| d.name)
                    .into_iter()
                    .collect(),
            ),
        };
        (mode != "AUTO").then_some(ToolConfig {
            function_calling_config: FunctionCallingConfig {
                mode,
                allowed_function_names: allowed,
            },
        })
    };
    let tools = if declarations.is_empty() {
        Vec::new()
    } else {
        vec![WireTool {
            function_declarations: declarations,
        }]
    };
    Ok(GenerateContentRequest {
        contents,
        system_instruction,
        tools,
        tool_config,
        generation_config,
    })
}

/// Merges the caller's extra body fields into the body: objects merge key by key (so
/// `generationConfig.thinkingConfig` joins the mapped `generationConfig`), anything else replaces
/// what was there.
pub(crate) fn merge_extra(body: &mut Value, extra: &Map<String, Value>) {
    let Value::Object(target) = body else {
        return;
    };
    for (key, value) in extra {
        match (target.get_mut(key), value) {
            (Some(existing @ Value::Object(_)), Value::Object(more)) => merge_extra(existing, more),
            _ => {
                target.insert(key.clone(), value.clone());
            }
        }
    }
}

/// The error a blocked prompt is: `promptFeedback.blockReason` (or a block message without a
/// candidate).
pub(crate) fn blocked(resp: &GenerateContentResponse) -> Option<Error> {
    let fb = resp.prompt_feedback.as_ref()?;
    let no_candidates = resp.candidates.as_ref().is_none_or(Vec::is_empty);
    if fb.block_reason.is_none() && !(no_candidates && fb.block_reason_message.is_some()) {
        return None;
    }
    let reason = fb.block_reason.as_deref().unwrap_or("BLOCKED");
    let message = match &fb.block_reason_message {
        Some(m) => format!("the prompt was blocked ({reason}): {m}"),
        None => format!("the prompt was blocked ({reason})"),
    };
    Some(
        Error::new(ErrorKind::ContentFiltered, message)
            .with_code(Some(reason.to_string()))
            .with_provider("gemini"),
    )
}

pub(crate) fn decode_error(what: &'static str) -> Error {
    Error::new(ErrorKind::Decode, what).with_provider("gemini")
}

/// Parses a response body (or stream chunk) that is not an error object.
pub(crate) fn parse_chunk(value: Value) -> Result<GenerateContentResponse, Error> {
    let resp: GenerateContentResponse = serde_json::from_value(value).map_err(|e| {
        decode_error("the body is not a Gemini GenerateContentResponse").with_source(e)
    })?;
    if !resp.is_recognisable() {
        return Err(decode_error(
            "the body has none of the members of a GenerateContentResponse",
        ));
    }
    Ok(resp)
}

/// `body` as a response chunk when it plainly is one — a JSON object with no `error` member and
/// some member of a `GenerateContentResponse` — in one parse. `None` sends the caller down the
/// `Value` path, which classifies errors and explains malformed bodies.
pub(crate) fn plain_chunk(body: &[u8]) -> Option<GenerateContentResponse> {
    if body.trim_ascii_start().first() != Some(&b'{') {
        return None;
    }
    let resp: GenerateContentResponse = serde_json::from_slice(body).ok()?;
    (resp.error.is_none() && resp.is_recognisable()).then_some(resp)
}

/// The `google.rpc.Status` inside a body, in its plain or array-wrapped (`[{"error":…}]`) form.
pub(crate) fn error_object(value: &Value) -> Option<&Value> {
    let v = match value {
        Value::Array(items) => items.first()?,
        v => v,
    };
    v.get("error").filter(|e| e.is_object())
}

/// Parses a successful `generateContent` body.
pub(crate) fn parse_response(req: &ChatRequest, body: &[u8]) -> Result<Response, Error> {
    let resp = match plain_chunk(body) {
        Some(resp) => resp,
        None => {
            let value: Value = serde_json::from_slice(body).map_err(|e| {
                decode_error("the generateContent response is not valid JSON").with_source(e)
            })?;
            if let Some(err) = error_object(&value) {
                return Err(classify_value(None, err));
            }
            parse_chunk(value)?
        }
    };
    if let Some(e) = blocked(&resp) {
        return Err(e);
    }
    let cand = resp
        .first_candidate()
        .ok_or_else(|| decode_error("the response has no candidate"))?;
    if cand.parts().is_empty() && cand.finish_reason.is_none() {
        return Err(decode_error(
            "the response's candidate has neither content nor a finish reason",
        ));
    }
    let mut r = Response::empty(
        "gemini",
        resp.model_version.as_deref().unwrap_or(&req.model),
    );
    r.id = resp.response_id.clone();
    // Gemini sends no request-id header: the response id is what identifies the exchange.
    r.request_id = resp.response_id.clone();
    r.usage = resp.usage_metadata.as_ref().map(usage);
    // Whether the last thing in the answer is text (a signature-only reasoning placed now reads
    // back as that text's signature).
    let mut after_text = false;
    for part in cand.parts() {
        match piece(part) {
            Piece::Empty => {}
            Piece::Text { text, signature } => {
                if !text.is_empty() {
                    r.text.push_str(text);
                    after_text = true;
                }
                if let Some(s) = signature {
                    r.push_part(if after_text {
                        Part::Reasoning(Reasoning::new(GEMINI, "").with_signature(s))
                    } else {
                        Part::Other(OtherPart::new(GEMINI, "text", part.clone()))
                    });
                    after_text = false;
                }
            }
            Piece::Thought {
                text: "",
                signature: None,
            } => {}
            Piece::Thought {
                text: "",
                signature: Some(_),
            } if after_text => {
                r.push_part(Part::Other(OtherPart::new(GEMINI, "thought", part.clone())));
                after_text = false;
            }
            Piece::Thought { text, signature } => {
                let mut reasoning = Reasoning::new(GEMINI, text);
                reasoning.signature = signature.map(str::to_string);
                r.push_part(Part::Reasoning(reasoning));
                after_text = false;
            }
            Piece::Call {
                id,
                name,
                args,
                signature,
            } => {
                let index = r.tool_calls.len();
                r.tool_calls.push(ToolCall {
                    id: id.map_or_else(|| synthetic_id(index), str::to_string),
                    name: name.to_string(),
                    arguments: arguments_text(args),
                    signature: signature.map(str::to_string),
                });
                after_text = false;
            }
            Piece::Other { kind } => {
                r.push_part(Part::Other(OtherPart::new(GEMINI, kind, part.clone())));
                after_text = false;
            }
        }
    }
    r.citations = citations(
        cand.citation_metadata.as_ref(),
        cand.grounding_metadata.as_ref(),
    );
    r.finish_details = cand.finish_message.as_deref().map(finish_details);
    if let Some(raw) = &cand.finish_reason {
        r.finish_reason = finish_with_calls(raw, !r.tool_calls.is_empty());
        r.raw_finish_reason = Some(raw.clone());
    }
    Ok(r)
}

/// [`Response::finish_details`] from a candidate's `finishMessage`.
pub(crate) fn finish_details(message: &str) -> Value {
    json!({ "finishMessage": message })
}
