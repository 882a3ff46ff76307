//! Anthropic streaming: named SSE events, `input_json_delta` fragments, `ping`, in-band
//! `event: error`, and `message_stop` as the terminator.
//!
//! Each content block is tracked by its index from `content_block_start` to `content_block_stop`:
//! client tool calls become tool-call events, thinking becomes reasoning (its signature arrives
//! in a `signature_delta` just before the stop), and every other block — server tool calls and
//! their results, block types this version does not know — is assembled (its `input_json_delta`
//! fragments into its `input`) and kept whole as a [`Part::Other`]. Unknown events and deltas are
//! skipped.

use std::collections::VecDeque;

use serde_json::Value;

use super::convert::{Read, citation, finish_reason, read_block, refusal_message};
use super::error::classify_value;
use super::wire::{BlockDelta, StreamPayload};
use crate::codec::sse::SseEvent;
use crate::error::{Error, ErrorKind};
use crate::message::{OtherPart, Part, Reasoning};
use crate::provider::ProviderEvent;
use crate::providers::common::skipped;
use crate::response::{FinishReason, Usage};
use crate::transport::SseHandler;

/// What an open content block is.
#[derive(Debug)]
enum Open {
    Text,
    Tool,
    Thinking,
    /// Kept whole at its stop: `raw` as started, `json` its input fragments so far.
    Kept {
        kind: String,
        raw: Value,
        json: String,
    },
    /// Redacted thinking, complete at its start.
    Redacted(String),
}

/// Per-stream state.
#[derive(Debug, Default)]
pub(crate) struct AnthropicSse {
    done: bool,
    input_tokens: u64,
    blocks: Vec<(usize, Open)>,
}

impl AnthropicSse {
    fn start(&mut self, index: usize, block: Value, out: &mut VecDeque<ProviderEvent>) {
        let open = match read_block(block) {
            Read::Text { text, citations } => {
                if !text.is_empty() {
                    out.push_back(ProviderEvent::Text(text));
                }
                for c in citations {
                    out.push_back(ProviderEvent::Citation(citation(c)));
                }
                Open::Text
            }
            Read::ToolUse { id, name, .. } => {
                out.push_back(ProviderEvent::ToolCallStart { index, id, name });
                Open::Tool
            }
            Read::Thinking {
                thinking,
                signature,
            } => {
                if !thinking.is_empty() {
                    out.push_back(ProviderEvent::Reasoning(thinking));
                }
                if let Some(s) = signature {
                    out.push_back(ProviderEvent::ReasoningSignature(s));
                }
                Open::Thinking
            }
            Read::Redacted { data } => Open::Redacted(data),
            Read::Other { kind, raw } => Open::Kept {
                kind,
                raw,
                json: String::new(),
            },
        };
        // A repeated start of one index replaces the block (nothing of the first is lost: what
        // it streamed was already emitted).
        self.blocks.retain(|(i, _)| *i != index);
        self.blocks.push((index, open));
    }

    fn delta(&mut self, index: usize, delta: BlockDelta, out: &mut VecDeque<ProviderEvent>) {
        let open = self
            .blocks
            .iter_mut()
            .find(|(i, _)| *i == index)
            .map(|(_, o)| o);
        match (open, delta) {
            (Some(Open::Text), BlockDelta::TextDelta { text }) if !text.is_empty() => {
                out.push_back(ProviderEvent::Text(text));
            }
            (Some(Open::Text), BlockDelta::CitationsDelta { citation: c }) if !c.is_null() => {
                out.push_back(ProviderEvent::Citation(citation(c)));
            }
            (Some(Open::Tool), BlockDelta::InputJsonDelta { partial_json })
                if !partial_json.is_empty() =>
            {
                out.push_back(ProviderEvent::ToolCallDelta {
                    index,
                    arguments: partial_json,
                });
            }
            (Some(Open::Thinking), BlockDelta::ThinkingDelta { thinking })
                if !thinking.is_empty() =>
            {
                out.push_back(ProviderEvent::Reasoning(thinking));
            }
            (Some(Open::Thinking), BlockDelta::SignatureDelta { signature })
                if !signature.is_empty() =>
            {
                out.push_back(ProviderEvent::ReasoningSignature(signature));
            }
            (Some(Open::Kept { json, .. }), BlockDelta::InputJsonDelta { partial_json }) => {
                json.push_str(&partial_json);
            }
            (open, delta) => {
                // An empty delta, a delta of a type this version does not know, or one that does
                // not belong to its block (or to any block): nothing to keep.
                if open.is_none() || matches!(delta, BlockDelta::Other) {
                    skipped("anthropic", "content block delta", "unknown or unmatched");
                }
            }
        }
    }

    fn stop(&mut self, index: usize, out: &mut VecDeque<ProviderEvent>) {
        let Some(pos) = self.blocks.iter().position(|(i, _)| *i == index) else {
            return;
        };
        match self.blocks.remove(pos).1 {
            Open::Text => {}
            Open::Tool => out.push_back(ProviderEvent::ToolCallEnd { index }),
            Open::Thinking => out.push_back(ProviderEvent::ReasoningEnd),
            Open::Redacted(data) => out.push_back(ProviderEvent::Part(Part::Reasoning(
                Reasoning::redacted("anthropic", data),
            ))),
            Open::Kept {
                kind,
                mut raw,
                json,
            } => {
                if !json.is_empty() {
                    let input = serde_json::from_str(&json).unwrap_or(Value::String(json));
                    if let Some(obj) = raw.as_object_mut() {
                        obj.insert("input".into(), input);
                    }
                }
                out.push_back(ProviderEvent::Part(Part::Other(OtherPart::new(
                    "anthropic",
                    kind,
                    raw,
                ))));
            }
        }
    }
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
            } => self.start(index, content_block, out),
            StreamPayload::ContentBlockDelta { index, delta } => self.delta(index, delta, out),
            StreamPayload::ContentBlockStop { index } => self.stop(index, out),
            StreamPayload::MessageDelta { delta, usage } => {
                let details = delta.stop_details.filter(|d| !d.is_null());
                if let Some(raw) = delta.stop_reason {
                    let reason = finish_reason(&raw);
                    if reason == FinishReason::Refusal {
                        let message = refusal_message(details.as_ref()).unwrap_or_default();
                        out.push_back(ProviderEvent::Refusal(message));
                    }
                    out.push_back(ProviderEvent::Finish {
                        reason,
                        raw: Some(raw),
                    });
                }
                if let Some(d) = details {
                    out.push_back(ProviderEvent::FinishDetails(d));
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
            StreamPayload::Ping => {}
            StreamPayload::Unknown => {
                skipped(
                    "anthropic",
                    "stream event",
                    event.event.as_deref().unwrap_or(""),
                );
            }
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
