//! Mistral streaming: OpenAI-shaped data-only SSE ending with `data: [DONE]`, usage on the chunk
//! that carries `finish_reason`, tool calls that arrive whole (several in one delta, told apart by
//! `index`), and in-band errors as a data event holding an error object instead of a chunk.

use std::collections::VecDeque;

use serde_json::Value;

use super::convert::{finish_reason, generation_failed};
use super::error::classify_value;
use super::wire::{CompletionChunk, Content, Item};
use crate::codec::sse::SseEvent;
use crate::error::{Error, ErrorKind};
use crate::message::{OtherPart, Part};
use crate::provider::ProviderEvent;
use crate::providers::common::{FirstMetadata, skipped};
use crate::providers::tool_calls::ToolCalls;
use crate::response::Usage;
use crate::transport::SseHandler;

/// Per-stream state.
#[derive(Debug, Default)]
pub(crate) struct MistralSse {
    done: bool,
    metadata: FirstMetadata,
    calls: ToolCalls,
}

/// `data` as a chunk in one parse when it plainly is one: it cannot be an error object (an error
/// names `"error"` — as a key, or as the value of `object` or a finish reason — so a payload
/// without that token is not one) and it has `choices`. `None` sends it down the `Value` path.
fn plain_chunk(data: &str) -> Option<CompletionChunk> {
    if data.contains("\"error\"") {
        return None;
    }
    serde_json::from_str::<CompletionChunk>(data)
        .ok()
        .filter(|c| c.choices.is_some())
}

/// Whether a data payload is an error object rather than a completion chunk: Mistral's error shape
/// (`"object": "error"`), an OpenAI-style `{"error": …}`, or anything without `choices`.
fn is_error(value: &Value) -> bool {
    value.get("object").and_then(Value::as_str) == Some("error")
        || value.get("error").is_some_and(|e| !e.is_null())
        || value.get("choices").is_none()
}

impl SseHandler for MistralSse {
    fn on_event(
        &mut self,
        event: &SseEvent,
        out: &mut VecDeque<ProviderEvent>,
    ) -> Result<(), Error> {
        let data = event.data.trim();
        if data.is_empty() || self.done {
            return Ok(());
        }
        if data.starts_with("[DONE]") {
            self.calls.end_all(out);
            self.done = true;
            return Ok(());
        }
        let mut chunk = match plain_chunk(data) {
            Some(chunk) => chunk,
            None => {
                let value: Value = serde_json::from_str(data).map_err(|e| {
                    Error::new(ErrorKind::Decode, "a stream chunk is not valid JSON").with_source(e)
                })?;
                if is_error(&value) {
                    return Err(classify_value(200, &value));
                }
                CompletionChunk::deserialize(value).map_err(|e| {
                    Error::new(
                        ErrorKind::Decode,
                        "a stream chunk is not a chat.completion.chunk",
                    )
                    .with_source(e)
                })?
            }
        };
        self.metadata.note(chunk.id.take(), chunk.model.take(), out);
        for choice in chunk.choices.into_iter().flatten().filter(|c| c.index == 0) {
            if let Some(delta) = choice.delta {
                for item in delta.content.map(Content::into_items).unwrap_or_default() {
                    out.push_back(match item {
                        Item::Text(t) => ProviderEvent::Text(t),
                        Item::Reasoning(t) => ProviderEvent::Reasoning(t),
                        Item::Other(kind, raw) => {
                            ProviderEvent::Part(Part::Other(OtherPart::new("mistral", kind, raw)))
                        }
                    });
                }
                for (pos, tc) in delta.tool_calls.unwrap_or_default().into_iter().enumerate() {
                    let index = tc.index.unwrap_or(pos);
                    let callable = tc.id.is_some() || tc.function.is_some();
                    if self.calls.skips(index, tc.kind.as_deref(), callable) {
                        let kind = tc.kind.as_deref().unwrap_or("without a function");
                        skipped("mistral", "streamed tool call", kind);
                        continue;
                    }
                    let (name, args) = match tc.function {
                        Some(f) => (f.name, f.arguments.map(|a| a.into_text())),
                        None => (None, None),
                    };
                    self.calls.fragment(index, tc.id, name, args, out);
                }
            }
            if let Some(raw) = choice.finish_reason {
                let reason = finish_reason(&raw).ok_or_else(generation_failed)?;
                self.calls.end_all(out);
                out.push_back(ProviderEvent::Finish {
                    reason,
                    raw: Some(raw),
                });
            }
        }
        if let Some(u) = chunk.usage {
            out.push_back(ProviderEvent::Usage(Usage::new(
                u.prompt_tokens,
                u.completion_tokens,
            )));
        }
        Ok(())
    }

    fn finished(&self) -> bool {
        self.done
    }

    fn terminator(&self) -> &'static str {
        "data: [DONE]"
    }
}

impl CompletionChunk {
    fn deserialize(value: Value) -> Result<Self, serde_json::Error> {
        <CompletionChunk as serde::Deserialize>::deserialize(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_chunks_take_the_one_parse_path() {
        let chunk = r#"{"id":"c1","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}"#;
        assert!(plain_chunk(chunk).is_some());
        for not_plain in [
            r#"{"object":"error","message":"Service unavailable","type":"service_unavailable","code":"1000"}"#,
            r#"{"error":{"message":"x"},"choices":[]}"#,
            r#"{"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"error"}]}"#,
            r#"{"id":"c1"}"#,
            "[1]",
        ] {
            assert!(plain_chunk(not_plain).is_none(), "{not_plain}");
        }
        // A text that talks about errors is still a chunk.
        let quoted = r#"{"choices":[{"index":0,"delta":{"content":"an \"error\" here"}}]}"#;
        assert!(plain_chunk(quoted).is_some());
    }
}
