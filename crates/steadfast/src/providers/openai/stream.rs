//! OpenAI streaming: data-only SSE chunks, tool calls keyed by `index`, `[DONE]` terminator, and
//! in-band `{"error": …}` events.

use std::collections::VecDeque;

use super::convert::{annotation, finish_reason, reasoning_text};
use super::error::classify_value;
use super::wire::ChatCompletionChunk;
use crate::codec::sse::SseEvent;
use crate::error::{Error, ErrorKind};
use crate::provider::ProviderEvent;
use crate::providers::common::{FirstMetadata, skipped};
use crate::providers::tool_calls::ToolCalls;
use crate::response::Usage;
use crate::transport::SseHandler;

/// Per-stream state.
#[derive(Debug, Default)]
pub(crate) struct OpenAiSse {
    done: bool,
    metadata: FirstMetadata,
    calls: ToolCalls,
}

impl SseHandler for OpenAiSse {
    fn on_event(
        &mut self,
        event: &SseEvent,
        out: &mut VecDeque<ProviderEvent>,
    ) -> Result<(), Error> {
        let data = event.data.trim();
        if data.is_empty() {
            return Ok(());
        }
        if data.starts_with("[DONE]") {
            self.calls.end_all(out);
            self.done = true;
            return Ok(());
        }
        if self.done {
            return Ok(());
        }
        // One parse, straight into the typed chunk; an in-band error arrives in its `error` field.
        let mut chunk: ChatCompletionChunk = serde_json::from_str(data).map_err(|e| {
            Error::new(
                ErrorKind::Decode,
                "a stream chunk is not a chat.completion.chunk",
            )
            .with_source(e)
        })?;
        if let Some(error) = chunk.error.filter(|e| !e.is_null()) {
            return Err(classify_value(200, &serde_json::json!({ "error": error })));
        }
        self.metadata.note(chunk.id.take(), chunk.model.take(), out);
        for choice in chunk.choices.into_iter().filter(|c| c.index == 0) {
            if let Some(delta) = choice.delta {
                if let Some(t) = reasoning_text(delta.reasoning_content, delta.reasoning) {
                    out.push_back(ProviderEvent::Reasoning(t));
                }
                if let Some(text) = delta.content.filter(|t| !t.is_empty()) {
                    out.push_back(ProviderEvent::Text(text));
                }
                if let Some(r) = delta.refusal.filter(|t| !t.is_empty()) {
                    out.push_back(ProviderEvent::Refusal(r));
                }
                for (pos, tc) in delta.tool_calls.unwrap_or_default().into_iter().enumerate() {
                    let index = tc.index.unwrap_or(pos);
                    let callable = tc.id.is_some() || tc.function.is_some();
                    if self.calls.skips(index, tc.kind.as_deref(), callable) {
                        let kind = tc.kind.as_deref().unwrap_or("without a function");
                        skipped("openai-compatible", "streamed tool call", kind);
                        continue;
                    }
                    let (name, args) = match tc.function {
                        Some(f) => (f.name, f.arguments),
                        None => (None, None),
                    };
                    self.calls.fragment(index, tc.id, name, args, out);
                }
                for a in delta.annotations.unwrap_or_default() {
                    out.push_back(ProviderEvent::Citation(annotation(a)));
                }
            }
            if let Some(raw) = choice.finish_reason {
                self.calls.end_all(out);
                out.push_back(ProviderEvent::Finish {
                    reason: finish_reason(&raw),
                    raw: Some(raw),
                });
            }
        }
        if let Some(u) = chunk.usage.or(chunk.x_groq.and_then(|g| g.usage)) {
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
