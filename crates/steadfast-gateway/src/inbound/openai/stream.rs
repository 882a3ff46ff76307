//! The streamed answer: `chat.completion.chunk`s, then `data: [DONE]`; an error after the commit
//! point is a chunk with an `error` object.

use bytes::Bytes;
use serde_json::{Value, json};
use steadfast::{StreamEvent, Usage};

use super::{error_object, finish_reason, usage_json};
use crate::inbound::{ApiError, StreamEncoder, sse};

/// Writes `chat.completion.chunk`s.
pub(super) struct ChunkEncoder {
    id: String,
    created: u64,
    model: String,
    include_usage: bool,
    started: bool,
    /// Ids of the tool calls already streamed (by the library's index).
    calls: Vec<(usize, String)>,
    usage: Option<Usage>,
    finish: Option<&'static str>,
}

impl ChunkEncoder {
    /// An encoder for the completion `id` from `model`, created at `created` (Unix seconds), with
    /// a final usage chunk when `include_usage`.
    pub(super) fn new(id: String, created: u64, model: String, include_usage: bool) -> Self {
        ChunkEncoder {
            id,
            created,
            model,
            include_usage,
            started: false,
            calls: Vec::new(),
            usage: None,
            finish: None,
        }
    }

    fn chunk(&self, delta: Value, finish: Option<&str>) -> Bytes {
        let mut c = json!({"id": self.id, "object": "chat.completion.chunk", "created": self.created,
            "model": self.model, "system_fingerprint": null,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]});
        if self.include_usage {
            c["usage"] = Value::Null;
        }
        sse(None, &c)
    }

    fn start(&mut self, out: &mut Vec<Bytes>) {
        if !self.started {
            self.started = true;
            out.push(self.chunk(
                json!({"role": "assistant", "content": "", "refusal": null}),
                None,
            ));
        }
    }
}

impl StreamEncoder for ChunkEncoder {
    fn event(&mut self, event: &StreamEvent) -> Vec<Bytes> {
        let mut out = Vec::new();
        match event {
            StreamEvent::Text(t) => {
                self.start(&mut out);
                out.push(self.chunk(json!({"content": t}), None));
            }
            StreamEvent::Refusal(t) => {
                self.start(&mut out);
                out.push(self.chunk(json!({"refusal": t}), None));
            }
            StreamEvent::ToolCallStart { index, id, name } => {
                self.start(&mut out);
                self.calls.push((*index, id.clone()));
                let pos = self.calls.len() - 1;
                out.push(self.chunk(
                    json!({"tool_calls": [{"index": pos, "id": id, "type": "function",
                        "function": {"name": name, "arguments": ""}}]}),
                    None,
                ));
            }
            StreamEvent::ToolCallDelta { index, arguments } => {
                if let Some(pos) = self.calls.iter().position(|(i, _)| i == index) {
                    out.push(self.chunk(
                        json!({"tool_calls": [{"index": pos, "function": {"arguments": arguments}}]}),
                        None,
                    ));
                }
            }
            // A call that came whole, without start and fragments.
            StreamEvent::ToolCall(call) if !self.calls.iter().any(|(_, id)| id == &call.id) => {
                self.start(&mut out);
                self.calls.push((usize::MAX, call.id.clone()));
                let pos = self.calls.len() - 1;
                out.push(self.chunk(
                    json!({"tool_calls": [{"index": pos, "id": call.id, "type": "function",
                        "function": {"name": call.name, "arguments": call.arguments}}]}),
                    None,
                ));
            }
            StreamEvent::Usage(u) => self.usage = Some(*u),
            StreamEvent::Finish { reason, .. } => self.finish = Some(finish_reason(reason)),
            _ => {}
        }
        out
    }

    fn finish(&mut self) -> Vec<Bytes> {
        let mut out = Vec::new();
        self.start(&mut out);
        let finish = self.finish.unwrap_or(if self.calls.is_empty() {
            "stop"
        } else {
            "tool_calls"
        });
        out.push(self.chunk(json!({}), Some(finish)));
        if self.include_usage {
            let c = json!({"id": self.id, "object": "chat.completion.chunk", "created": self.created,
                "model": self.model, "system_fingerprint": null, "choices": [],
                "usage": usage_json(self.usage.unwrap_or_default())});
            out.push(sse(None, &c));
        }
        out.push(Bytes::from_static(b"data: [DONE]\n\n"));
        out
    }

    fn error(&mut self, error: &ApiError) -> Vec<Bytes> {
        vec![
            sse(None, &json!({"error": error_object(error)})),
            Bytes::from_static(b"data: [DONE]\n\n"),
        ]
    }
}
