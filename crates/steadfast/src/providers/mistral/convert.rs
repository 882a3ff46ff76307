//! Provider-independent request → Mistral body, and Mistral body → [`Response`].
//!
//! The body is the OpenAI body in its plain form (see
//! [`openai_subset_body`](crate::providers::common::openai_subset_body)) with Mistral's names:
//! `seed` travels as `random_seed`, and a forced-but-unnamed tool choice is `any`. Nothing outside
//! Mistral's `ChatCompletionRequest` schema is sent (it answers unknown fields with a 422
//! `extra_forbidden`), except what the caller put in `req.extra`.

use serde_json::{Value, json};

use super::wire::{Completion, Content, Item, MistralRequest};
use crate::error::{Error, ErrorKind};
use crate::message::{OtherPart, Part, Reasoning, ToolCall};
use crate::provider::ChatRequest;
use crate::providers::common::openai_subset_body;
use crate::response::{FinishReason, Response, Usage};

/// Normalises a Mistral finish reason; `None` for `error`, which is a failure, not an answer.
pub(crate) fn finish_reason(raw: &str) -> Option<FinishReason> {
    Some(match raw {
        "stop" => FinishReason::Stop,
        "length" | "model_length" => FinishReason::Length,
        "tool_calls" => FinishReason::ToolCalls,
        "error" => return None,
        other => FinishReason::other(other),
    })
}

/// The error for a generation that ended with `finish_reason: "error"`.
pub(crate) fn generation_failed() -> Error {
    Error::new(
        ErrorKind::Server,
        "the model failed while generating (finish_reason `error`)",
    )
    .with_code(Some("error".into()))
}

/// Builds the JSON body of a chat completion request.
pub(crate) fn request_body(req: &ChatRequest, stream: bool) -> Result<MistralRequest<'_>, Error> {
    let mut base = openai_subset_body(req, stream)?;
    let random_seed = base.seed.take();
    if base.tool_choice.as_ref().and_then(Value::as_str) == Some("required") {
        base.tool_choice = Some(json!("any"));
    }
    Ok(MistralRequest { base, random_seed })
}

/// Parses a successful chat completion body.
pub(crate) fn parse_response(req: &ChatRequest, body: &[u8]) -> Result<Response, Error> {
    let completion: Completion = serde_json::from_slice(body).map_err(|e| {
        Error::new(
            ErrorKind::Decode,
            "the Mistral chat completion is not the expected JSON",
        )
        .with_source(e)
    })?;
    let mut r = Response::empty("mistral", completion.model.as_deref().unwrap_or(&req.model));
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
        r.finish_reason = finish_reason(&raw).ok_or_else(generation_failed)?;
        r.raw_finish_reason = Some(raw);
    }
    for item in choice
        .message
        .content
        .map(Content::into_items)
        .unwrap_or_default()
    {
        match item {
            Item::Text(t) => r.text.push_str(&t),
            Item::Reasoning(t) => r.push_part(Part::Reasoning(Reasoning::new("mistral", t))),
            Item::Other(kind, raw) => {
                r.push_part(Part::Other(OtherPart::new("mistral", kind, raw)))
            }
        }
    }
    for (i, c) in choice
        .message
        .tool_calls
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        if let Some(kind) = c.kind.as_deref().filter(|k| *k != "function") {
            let raw = json!({ "id": c.id, "type": kind });
            r.push_part(Part::Other(OtherPart::new("mistral", kind, raw)));
            continue;
        }
        let (name, arguments) = match c.function {
            Some(f) => (f.name, f.arguments.map(|a| a.into_text())),
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
