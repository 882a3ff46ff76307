//! The streamed answer: `message_start`, content blocks (`content_block_start`, deltas,
//! `content_block_stop`), `message_delta`, `message_stop`; an error after the commit point is
//! `event: error`.

use std::collections::VecDeque;

use bytes::Bytes;
use serde_json::{Value, json};
use steadfast::{StreamEvent, Usage};

use super::{error_object, stop_reason};
use crate::inbound::{ApiError, StreamEncoder, sse};

/// The content block open in the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    None,
    Text,
    /// A tool call, by the library's index.
    Tool(usize),
}

/// A tool call waiting for its block.
struct Queued {
    index: usize,
    id: String,
    name: String,
    arguments: String,
    /// Its complete call has arrived: its block can close at once.
    done: bool,
}

/// Writes Anthropic's named SSE events.
pub(super) struct EventEncoder {
    id: String,
    model: String,
    started: bool,
    /// The next block's index.
    index: usize,
    open: Open,
    /// The tool calls seen so far: the library's index and the id.
    calls: Vec<(usize, String)>,
    /// Tool calls that began while another one's block was open (Anthropic's blocks cannot
    /// interleave): their blocks follow when it closes, with what arrived meanwhile.
    queued: VecDeque<Queued>,
    /// Text that arrived while a tool call's block was open, for a block after it.
    late_text: String,
    refused: bool,
    usage: Option<Usage>,
    finish: Option<&'static str>,
}

impl EventEncoder {
    /// An encoder for the message `id` from `model`.
    pub(super) fn new(id: String, model: String) -> Self {
        EventEncoder {
            id,
            model,
            started: false,
            index: 0,
            open: Open::None,
            calls: Vec::new(),
            queued: VecDeque::new(),
            late_text: String::new(),
            refused: false,
            usage: None,
            finish: None,
        }
    }

    fn start(&mut self, out: &mut Vec<Bytes>) {
        if self.started {
            return;
        }
        self.started = true;
        out.push(sse(
            Some("message_start"),
            &json!({"type": "message_start", "message": {"id": self.id, "type": "message",
                "role": "assistant", "model": self.model, "content": [], "stop_reason": null,
                "stop_sequence": null, "usage": {"input_tokens": 0, "output_tokens": 0}}}),
        ));
    }

    fn close(&mut self, out: &mut Vec<Bytes>) {
        if self.open != Open::None {
            out.push(sse(
                Some("content_block_stop"),
                &json!({"type": "content_block_stop", "index": self.index - 1}),
            ));
            self.open = Open::None;
        }
    }

    fn open_block(&mut self, out: &mut Vec<Bytes>, block: Value, open: Open) {
        self.close(out);
        out.push(sse(
            Some("content_block_start"),
            &json!({"type": "content_block_start", "index": self.index, "content_block": block}),
        ));
        self.index += 1;
        self.open = open;
    }

    fn text(&mut self, out: &mut Vec<Bytes>, t: &str) {
        self.start(out);
        if self.open != Open::Text {
            self.open_block(out, json!({"type": "text", "text": ""}), Open::Text);
        }
        out.push(sse(
            Some("content_block_delta"),
            &json!({"type": "content_block_delta", "index": self.index - 1,
                "delta": {"type": "text_delta", "text": t}}),
        ));
    }

    fn json_delta(&mut self, out: &mut Vec<Bytes>, partial: &str) {
        out.push(sse(
            Some("content_block_delta"),
            &json!({"type": "content_block_delta", "index": self.index - 1,
                "delta": {"type": "input_json_delta", "partial_json": partial}}),
        ));
    }

    /// Opens a tool call's block, with the arguments received so far as its first delta.
    fn open_tool(&mut self, out: &mut Vec<Bytes>, index: usize, id: &str, name: &str, args: &str) {
        self.start(out);
        self.open_block(
            out,
            json!({"type": "tool_use", "id": id, "name": name, "input": {}}),
            Open::Tool(index),
        );
        if !args.is_empty() {
            self.json_delta(out, args);
        }
    }

    /// Closes the open block, then opens the queued tool calls' blocks in turn (closing those
    /// already complete), then the text that arrived meanwhile.
    fn close_and_drain(&mut self, out: &mut Vec<Bytes>) {
        self.close(out);
        while let Some(q) = self.queued.pop_front() {
            self.open_tool(out, q.index, &q.id, &q.name, &q.arguments);
            if !q.done {
                return;
            }
            self.close(out);
        }
        if !self.late_text.is_empty() {
            let t = std::mem::take(&mut self.late_text);
            self.text(out, &t);
        }
    }

    fn tool_open(&self) -> bool {
        matches!(self.open, Open::Tool(_))
    }
}

impl StreamEncoder for EventEncoder {
    fn event(&mut self, event: &StreamEvent) -> Vec<Bytes> {
        let mut out = Vec::new();
        match event {
            StreamEvent::Text(t) | StreamEvent::Refusal(t) => {
                self.refused |= matches!(event, StreamEvent::Refusal(_));
                if self.tool_open() {
                    self.late_text.push_str(t);
                } else {
                    self.text(&mut out, t);
                }
            }
            StreamEvent::ToolCallStart { index, id, name } => {
                self.calls.push((*index, id.clone()));
                if self.tool_open() {
                    self.queued.push_back(Queued {
                        index: *index,
                        id: id.clone(),
                        name: name.clone(),
                        arguments: String::new(),
                        done: false,
                    });
                } else {
                    self.open_tool(&mut out, *index, id, name, "");
                }
            }
            StreamEvent::ToolCallDelta { index, arguments } => {
                if self.open == Open::Tool(*index) {
                    self.json_delta(&mut out, arguments);
                } else if let Some(q) = self.queued.iter_mut().find(|q| q.index == *index) {
                    q.arguments.push_str(arguments);
                }
            }
            StreamEvent::ToolCall(call) => {
                let seen = self
                    .calls
                    .iter()
                    .find(|(_, id)| id == &call.id)
                    .map(|(i, _)| *i);
                match seen {
                    // The open block's call is complete.
                    Some(i) if self.open == Open::Tool(i) => self.close_and_drain(&mut out),
                    // A queued call is complete: all of it goes out when its turn comes.
                    Some(i) => {
                        if let Some(q) = self.queued.iter_mut().find(|q| q.index == i) {
                            q.arguments.clone_from(&call.arguments);
                            q.done = true;
                        }
                    }
                    // A call that came whole, without start and fragments.
                    None => {
                        let index = usize::MAX - self.calls.len();
                        self.calls.push((index, call.id.clone()));
                        if self.tool_open() {
                            self.queued.push_back(Queued {
                                index,
                                id: call.id.clone(),
                                name: call.name.clone(),
                                arguments: call.arguments.clone(),
                                done: true,
                            });
                        } else {
                            self.open_tool(&mut out, index, &call.id, &call.name, &call.arguments);
                            self.close_and_drain(&mut out);
                        }
                    }
                }
            }
            StreamEvent::Usage(u) => self.usage = Some(*u),
            StreamEvent::Finish { reason, .. } => self.finish = Some(stop_reason(reason)),
            _ => {}
        }
        out
    }

    fn finish(&mut self) -> Vec<Bytes> {
        let mut out = Vec::new();
        self.start(&mut out);
        // Whatever is still queued goes out as it is (the library assembles every call before
        // the end, so this is a safety net).
        for q in &mut self.queued {
            q.done = true;
        }
        self.close_and_drain(&mut out);
        self.close(&mut out);
        let stop = if self.refused {
            "refusal"
        } else {
            self.finish.unwrap_or(if self.calls.is_empty() {
                "end_turn"
            } else {
                "tool_use"
            })
        };
        let u = self.usage.unwrap_or_default();
        out.push(sse(
            Some("message_delta"),
            &json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null},
                "usage": {"input_tokens": u.input_tokens, "output_tokens": u.output_tokens}}),
        ));
        out.push(sse(Some("message_stop"), &json!({"type": "message_stop"})));
        out
    }

    fn error(&mut self, error: &ApiError) -> Vec<Bytes> {
        vec![sse(
            Some("error"),
            &json!({"type": "error", "error": error_object(error)}),
        )]
    }
}
