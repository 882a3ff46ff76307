//! Azure AI Inference streaming: the OpenAI stream (data-only SSE, tool calls keyed by `index`,
//! `data: [DONE]`), read by the OpenAI handler; only in-band errors — a data event holding
//! `{"error":{"code","message",…}}` — are classified here, with the Azure codes.

use std::collections::VecDeque;

use serde_json::Value;

use super::error::classify_value;
use crate::codec::sse::SseEvent;
use crate::error::Error;
use crate::provider::ProviderEvent;
use crate::providers::openai::stream::OpenAiSse;
use crate::transport::SseHandler;

/// Per-stream state: the OpenAI handler, with Azure's error classification in front.
#[derive(Debug, Default)]
pub(crate) struct AzureInferenceSse {
    inner: OpenAiSse,
}

impl SseHandler for AzureInferenceSse {
    fn on_event(
        &mut self,
        event: &SseEvent,
        out: &mut VecDeque<ProviderEvent>,
    ) -> Result<(), Error> {
        // Only a payload that mentions `"error"` can be one; others go straight to the handler.
        if !self.inner.finished() && event.data.contains("\"error\"") {
            if let Ok(value) = serde_json::from_str::<Value>(event.data.trim()) {
                if value.get("error").is_some_and(|e| !e.is_null()) {
                    return Err(classify_value(200, &value, None));
                }
            }
        }
        self.inner.on_event(event, out)
    }

    fn finished(&self) -> bool {
        self.inner.finished()
    }

    fn terminator(&self) -> &'static str {
        self.inner.terminator()
    }
}
