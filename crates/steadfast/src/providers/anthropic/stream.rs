//! Anthropic streaming: named SSE events, `input_json_delta` fragments, `ping`, in-band
//! `event: error`, and `message_stop` as the terminator.

use std::collections::VecDeque;

use super::convert::finish_reason;
use super::error::classify_value;
use super::wire::{BlockDelta, StartBlock, StreamPayload};
use crate::codec::sse::SseEvent;
use crate::error::{Error, ErrorKind};
use crate::provider::ProviderEvent;
use crate::response::{FinishReason, Usage};
use crate::transport::SseHandler;

/// Per-stream state.
#[derive(Debug, Default)]
pub(crate) struct AnthropicSse {
    done: bool,
    input_tokens: u64,
    tool_blocks: Vec<usize>,
}

impl SseHandler for AnthropicSse {
    fn on_event(
        &mut self,
        event: &SseEvent,
        out: &mut VecDeque<ProviderEvent>,
    ) -> Result<(), Error> {
        if self.done || event.data.trim().is_empty() {
            return Ok(());
        }
        let payload: StreamPayload = serde_json::from_str(event.data.trim_end()).map_err(|e| {
            Error::new(
                ErrorKind::Decode,
                "a stream event is not valid Anthropic JSON",
            )
            .with_source(e)
        })?;
        match payload {
            StreamPayload::MessageStart { message } => {
                self.input_tokens = message.usage.and_then(|u| u.input_tokens).unwrap_or(0);
                out.push_back(ProviderEvent::Metadata {
                    id: message.id,
                    model: message.model,
                    request_id: None,
                    status: None,
                });
            }
            StreamPayload::ContentBlockStart {
                index,
                content_block,
            } => match content_block {
                StartBlock::Text { text } if !text.is_empty() => {
                    out.push_back(ProviderEvent::Text(text))
                }
                StartBlock::ToolUse { id, name } => {
                    self.tool_blocks.push(index);
                    out.push_back(ProviderEvent::ToolCallStart { index, id, name });
                }
                _ => {}
            },
            StreamPayload::ContentBlockDelta { index, delta } => match delta {
                BlockDelta::TextDelta { text } if !text.is_empty() => {
                    out.push_back(ProviderEvent::Text(text))
                }
                BlockDelta::InputJsonDelta { partial_json } if !partial_json.is_empty() => {
                    out.push_back(ProviderEvent::ToolCallDelta {
                        index,
                        arguments: partial_json,
                    });
                }
                _ => {}
            },
            StreamPayload::ContentBlockStop { index } => {
                if let Some(pos) = self.tool_blocks.iter().position(|&i| i == index) {
                    self.tool_blocks.remove(pos);
                    out.push_back(ProviderEvent::ToolCallEnd { index });
                }
            }
            StreamPayload::MessageDelta { delta, usage } => {
                if let Some(raw) = delta.stop_reason {
                    let reason = finish_reason(&raw);
                    if reason == FinishReason::Refusal {
                        out.push_back(ProviderEvent::Refusal(String::new()));
                    }
                    out.push_back(ProviderEvent::Finish {
                        reason,
                        raw: Some(raw),
                    });
                }
                if let Some(u) = usage {
                    let input = u.input_tokens.unwrap_or(self.input_tokens);
                    out.push_back(ProviderEvent::Usage(Usage::new(
                        input,
                        u.output_tokens.unwrap_or(0),
                    )));
                }
            }
            StreamPayload::MessageStop => self.done = true,
            StreamPayload::Ping | StreamPayload::Unknown => {}
            StreamPayload::Error { error } => {
                return Err(classify_value(200, &serde_json::json!({ "error": error })));
            }
        }
        Ok(())
    }

    fn finished(&self) -> bool {
        self.done
    }

    fn terminator(&self) -> &'static str {
        "event: message_stop"
    }
}
