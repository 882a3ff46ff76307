//! Cohere v2 streaming: named SSE events whose `data.type` repeats the name — `message-start`,
//! `content-start/delta/end`, `tool-plan-delta`, `tool-call-start/delta/end` (the delta's
//! `tool_calls` is one object keyed by the event `index`), `citation-*`, `debug` — ending with
//! `message-end`, which carries the finish reason and usage. `message-end` with
//! `finish_reason: ERROR` (and `delta.error`) is an in-band error. A `data: [DONE]` also ends the
//! stream, as in the official SDK.

use std::collections::VecDeque;

use serde_json::Value;

use super::convert::{citation, finish_reason, usage};
use super::error::classify_message;
use super::wire::{Item, StreamPayload};
use crate::codec::sse::SseEvent;
use crate::error::{Error, ErrorKind};
use crate::message::{OtherPart, Part};
use crate::provider::ProviderEvent;
use crate::providers::common::skipped;
use crate::providers::tool_calls::ToolCalls;
use crate::transport::SseHandler;

/// What an open content item is (from its `content-start`).
#[derive(Debug)]
enum Open {
    Text,
    Thinking,
    /// A content type this version does not know: kept whole at its `content-end`, its deltas
    /// dropped.
    Kept(String, Value),
}

/// Per-stream state.
#[derive(Debug, Default)]
pub(crate) struct CohereSse {
    done: bool,
    calls: ToolCalls,
    calls_started: usize,
    contents: Vec<(usize, Open)>,
}

impl CohereSse {
    /// The call an event is about: its `index`, else the call started last.
    fn call_index(&self, index: Option<usize>) -> usize {
        index.unwrap_or_else(|| self.calls_started.saturating_sub(1))
    }

    fn message_end(
        &mut self,
        payload: StreamPayload,
        out: &mut VecDeque<ProviderEvent>,
    ) -> Result<(), Error> {
        self.done = true;
        self.calls.end_all(out);
        let Some(delta) = payload.delta else {
            return Ok(());
        };
        if let Some(raw) = delta.finish_reason {
            let reason = match finish_reason(&raw) {
                Ok(reason) => reason,
                Err(e) if raw == "ERROR" => {
                    let message = match delta.error {
                        Some(Value::String(s)) => Some(s),
                        Some(Value::Null) | None => None,
                        Some(other) => Some(other.to_string()),
                    };
                    return Err(match message {
                        Some(m) if !m.is_empty() => classify_message(200, &m),
                        _ => e,
                    });
                }
                Err(e) => return Err(e),
            };
            out.push_back(ProviderEvent::Finish {
                reason,
                raw: Some(raw),
            });
        }
        if let Some(u) = delta.usage.and_then(usage) {
            out.push_back(ProviderEvent::Usage(u));
        }
        Ok(())
    }
}

/// Pushes a text or reasoning event unless its text is empty.
fn emit(event: ProviderEvent, out: &mut VecDeque<ProviderEvent>) {
    match &event {
        ProviderEvent::Text(t) | ProviderEvent::Reasoning(t) if t.is_empty() => {}
        _ => out.push_back(event),
    }
}

impl SseHandler for CohereSse {
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
        let mut payload: StreamPayload = serde_json::from_str(data).map_err(|e| {
            Error::new(ErrorKind::Decode, "a stream event is not valid Cohere JSON").with_source(e)
        })?;
        let kind = payload
            .kind
            .take()
            .or_else(|| event.event.clone())
            .unwrap_or_default();
        let message = payload.delta.as_mut().and_then(|d| d.message.take());
        match kind.as_str() {
            "message-start" => out.push_back(ProviderEvent::Metadata {
                id: payload.id,
                model: None,
                request_id: None,
                status: None,
            }),
            "content-start" => {
                let index = payload.index.unwrap_or(0);
                let Some(content) = message.and_then(|m| m.content) else {
                    return Ok(());
                };
                let open = match Item::read(content, "text") {
                    Item::Text(t) => {
                        emit(ProviderEvent::Text(t), out);
                        Open::Text
                    }
                    Item::Reasoning(t) => {
                        emit(ProviderEvent::Reasoning(t), out);
                        Open::Thinking
                    }
                    Item::Other(kind, raw) => Open::Kept(kind, raw),
                };
                self.contents.retain(|(i, _)| *i != index);
                self.contents.push((index, open));
            }
            "content-delta" => {
                let index = payload.index.unwrap_or(0);
                let Some(content) = message.and_then(|m| m.content) else {
                    return Ok(());
                };
                // A delta names no type: its item's start said what it is (text when none did).
                let open = self
                    .contents
                    .iter()
                    .find(|(i, _)| *i == index)
                    .map(|(_, o)| o);
                match (open, Item::read(content, "")) {
                    (None | Some(Open::Text), Item::Other(_, c)) => {
                        if let Some(t) = c.get("text").and_then(Value::as_str) {
                            emit(ProviderEvent::Text(t.to_string()), out);
                        }
                    }
                    (None | Some(Open::Text), Item::Text(t)) => emit(ProviderEvent::Text(t), out),
                    (Some(Open::Thinking), Item::Other(_, c)) => {
                        let t = c.get("thinking").or_else(|| c.get("text"));
                        if let Some(t) = t.and_then(Value::as_str) {
                            emit(ProviderEvent::Reasoning(t.to_string()), out);
                        }
                    }
                    (Some(Open::Thinking) | None, Item::Reasoning(t)) => {
                        emit(ProviderEvent::Reasoning(t), out)
                    }
                    _ => skipped("cohere", "content delta", "of a kept item"),
                }
            }
            "content-end" => {
                let index = payload.index.unwrap_or(0);
                if let Some(pos) = self.contents.iter().position(|(i, _)| *i == index) {
                    match self.contents.remove(pos).1 {
                        Open::Thinking => out.push_back(ProviderEvent::ReasoningEnd),
                        Open::Kept(kind, raw) => out.push_back(ProviderEvent::Part(Part::Other(
                            OtherPart::new("cohere", kind, raw),
                        ))),
                        Open::Text => {}
                    }
                }
            }
            "citation-start" => {
                let citations = match message.and_then(|m| m.citations) {
                    Some(Value::Array(list)) => list,
                    Some(Value::Null) | None => Vec::new(),
                    Some(one) => vec![one],
                };
                for c in citations {
                    out.push_back(ProviderEvent::Citation(citation(c)));
                }
            }
            "tool-plan-delta" => {
                if let Some(plan) = message.and_then(|m| m.tool_plan) {
                    if !plan.is_empty() {
                        out.push_back(ProviderEvent::Text(plan));
                    }
                }
            }
            "tool-call-start" => {
                let index = payload.index.unwrap_or(self.calls_started);
                self.calls_started = self.calls_started.max(index + 1);
                let call = message.and_then(|m| m.tool_calls);
                let (id, mut function) = match call {
                    Some(c) => (c.id, c.function),
                    None => (None, None),
                };
                let name = function.as_mut().and_then(|f| f.name.take());
                let args = function.as_mut().and_then(|f| f.arguments_text());
                self.calls.fragment(index, id, name, args, out);
            }
            "tool-call-delta" => {
                let index = self.call_index(payload.index);
                let args = message
                    .and_then(|m| m.tool_calls)
                    .and_then(|c| c.function)
                    .and_then(|mut f| f.arguments_text());
                ToolCalls::arguments(index, args, out);
            }
            "tool-call-end" => {
                let index = self.call_index(payload.index);
                self.calls.end(index, out);
            }
            "message-end" => self.message_end(payload, out)?,
            // citation-end and debug carry nothing this library reports.
            "citation-end" | "debug" => {}
            other => skipped("cohere", "stream event", other),
        }
        Ok(())
    }

    fn finished(&self) -> bool {
        self.done
    }

    fn terminator(&self) -> &'static str {
        "event: message-end"
    }
}
