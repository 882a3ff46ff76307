//! ConverseStream: binary `application/vnd.amazon.eventstream` frames, decoded incrementally
//! (frames straddle reads; both CRCs are checked), one JSON payload per event.
//!
//! `:message-type event` frames are dispatched on `:event-type`: `messageStart` (nothing to
//! emit), `contentBlockStart`, `contentBlockDelta` and `contentBlockStop` (per
//! `contentBlockIndex`), `messageStop` (the stop reason) and `metadata` (usage; the last frame).
//! An event type added later is skipped with a `debug` event, unknown payload keys (the padding
//! `p`) are ignored. `exception` frames are classified by `:exception-type`, `error` frames by
//! `:error-code`; a frame of another `:message-type` is skipped. A body that ends before
//! `metadata`, or inside a frame, is `StreamInterrupted`; a corrupt frame, a frame without
//! `:message-type` (or an event without `:event-type`), a payload that is not the event's JSON,
//! and tool input for a block that started no tool call are `Decode` errors.
//!
//! What the blocks become:
//! - `text` deltas are text; `toolUse` blocks are tool calls (start, input fragments, end) —
//!   except those of a tool Bedrock runs itself (`type: server_tool_use`), which are kept whole.
//! - `reasoningContent` deltas are [`Reasoning`](ProviderEvent::Reasoning) text and its
//!   [`ReasoningSignature`](ProviderEvent::ReasoningSignature); `redactedContent` is collected
//!   and, at the block's stop, one redacted [`Reasoning`] part (fragments joined as received);
//!   the block's stop ends the reasoning. Other members of a reasoning delta are dropped.
//! - `citation` deltas are [`Citation`](ProviderEvent::Citation)s, one each.
//! - every other block (`toolResult`, `image`, a server tool's `toolUse`, a member added later)
//!   is kept: its start and its deltas are accumulated into the block as the unary answer holds
//!   it (strings joined, objects merged, lists extended; `toolResult` deltas into its `content`,
//!   a server tool's input fragments parsed into `input`), and it is one complete
//!   [`Part::Other`] at its stop (or at `messageStop`, for a block never stopped).
//! - `messageStop`'s `additionalModelResponseFields` are the response's finish details.

use std::collections::VecDeque;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::convert::{BEDROCK, citation, finish_reason, is_server_tool, usage};
use super::error::{error_frame, exception};
use super::wire::{
    BlockDeltaEvent, BlockStartEvent, BlockStopEvent, MessageStopEvent, MetadataEvent, ToolUseStart,
};
use crate::codec::eventstream::{EventStreamDecoder, EventStreamError, Message};
use crate::error::{Error, ErrorKind};
use crate::message::{OtherPart, Part, Reasoning};
use crate::provider::ProviderEvent;
use crate::transport::BodyDecoder;

/// A content block in progress (text blocks need no state).
#[derive(Debug)]
enum Block {
    /// A tool call for the caller: its events are already out.
    Tool,
    /// Reasoning: the redacted content received so far.
    Reasoning { redacted: String },
    /// A block kept whole: `{kind: …}` as accumulated, and a server tool's input fragments.
    Kept {
        kind: String,
        raw: Value,
        input: Option<String>,
    },
}

/// Per-stream state.
#[derive(Debug, Default)]
pub(crate) struct ConverseStream {
    decoder: EventStreamDecoder,
    /// `messageStop` arrived.
    stopped: bool,
    /// `metadata` arrived: the end.
    done: bool,
    /// The blocks begun and not yet stopped, by `contentBlockIndex`.
    blocks: Vec<(usize, Block)>,
}

fn decode_error(e: EventStreamError) -> Error {
    Error::new(ErrorKind::Decode, "malformed AWS eventstream frame").with_source(e)
}

fn payload<T: DeserializeOwned>(msg: &Message, event: &str) -> Result<T, Error> {
    serde_json::from_slice(&msg.payload).map_err(|e| {
        Error::new(
            ErrorKind::Decode,
            format!("the `{event}` event is not the expected JSON"),
        )
        .with_source(e)
    })
}

/// Merges a delta into what a kept block holds: strings are joined, objects merged member by
/// member, lists extended; anything else replaces what was there.
fn merge(target: &mut Value, delta: Value) {
    match (target, delta) {
        (Value::String(t), Value::String(d)) => t.push_str(&d),
        (Value::Object(t), Value::Object(d)) => {
            for (k, v) in d {
                match t.get_mut(&k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        t.insert(k, v);
                    }
                }
            }
        }
        (Value::Array(t), Value::Array(d)) => t.extend(d),
        (t, d) => *t = d,
    }
}

/// Adds a `toolResult` delta (a list of `{text}` / `{json}` pieces, or one) to the result's
/// `content`, joining consecutive text.
fn merge_tool_result(result: &mut Value, delta: Value) {
    let Value::Object(result) = result else {
        return;
    };
    let content = result.entry("content").or_insert_with(|| json!([]));
    let pieces = match delta {
        Value::Array(pieces) => pieces,
        piece => vec![piece],
    };
    let Value::Array(content) = content else {
        return;
    };
    for piece in pieces {
        let text = piece.get("text").and_then(Value::as_str);
        let last = content
            .last_mut()
            .and_then(|l| l.get_mut("text"))
            .and_then(|t| match t {
                Value::String(s) => Some(s),
                _ => None,
            });
        match (last, text) {
            (Some(last), Some(text)) => last.push_str(text),
            _ => content.push(piece),
        }
    }
}

impl Block {
    /// A kept block of `kind`, beginning with `value`.
    fn kept(kind: &str, value: Value) -> Block {
        let mut raw = Map::new();
        raw.insert(kind.to_string(), value);
        Block::Kept {
            kind: kind.to_string(),
            raw: Value::Object(raw),
            input: None,
        }
    }

    /// The complete part a stopped block is, if any.
    fn finish(self) -> Option<Part> {
        match self {
            Block::Tool => None,
            Block::Reasoning { redacted } if redacted.is_empty() => None,
            Block::Reasoning { redacted } => {
                Some(Part::Reasoning(Reasoning::redacted(BEDROCK, redacted)))
            }
            Block::Kept {
                kind,
                mut raw,
                input,
            } => {
                // A server tool's input, as the unary answer holds it: the JSON document.
                if let Some(Value::Object(tool)) = raw.get_mut("toolUse") {
                    let input = match input {
                        Some(text) => serde_json::from_str(&text).unwrap_or(Value::String(text)),
                        None => tool.get("input").cloned().unwrap_or_else(|| json!({})),
                    };
                    tool.insert("input".to_string(), input);
                }
                Some(Part::Other(OtherPart::new(BEDROCK, kind, raw)))
            }
        }
    }
}

impl ConverseStream {
    fn block(&mut self, index: usize) -> Option<&mut Block> {
        self.blocks
            .iter_mut()
            .find(|(i, _)| *i == index)
            .map(|(_, b)| b)
    }

    fn take_block(&mut self, index: usize) -> Option<Block> {
        let pos = self.blocks.iter().position(|(i, _)| *i == index)?;
        Some(self.blocks.remove(pos).1)
    }

    /// Emits what a stopped block is.
    fn end_block(block: Block, index: usize, out: &mut VecDeque<ProviderEvent>) {
        let reasoning = matches!(block, Block::Reasoning { .. });
        if matches!(block, Block::Tool) {
            out.push_back(ProviderEvent::ToolCallEnd { index });
        }
        if let Some(part) = block.finish() {
            out.push_back(ProviderEvent::Part(part));
        }
        if reasoning {
            out.push_back(ProviderEvent::ReasoningEnd);
        }
    }

    fn on_start(
        &mut self,
        ev: BlockStartEvent,
        out: &mut VecDeque<ProviderEvent>,
    ) -> Result<(), Error> {
        let index = ev.content_block_index;
        let Some((kind, start)) = ev.start.into_iter().next() else {
            return Ok(());
        };
        if kind == "toolUse" && !is_server_tool(&start) {
            let t: ToolUseStart = serde_json::from_value(start).map_err(|e| {
                Error::new(
                    ErrorKind::Decode,
                    "the `contentBlockStart` event's toolUse is not the expected JSON",
                )
                .with_source(e)
            })?;
            if self.block(index).is_none() {
                self.blocks.push((index, Block::Tool));
            }
            out.push_back(ProviderEvent::ToolCallStart {
                index,
                id: t.tool_use_id,
                name: t.name,
            });
            return Ok(());
        }
        match self.block(index) {
            Some(Block::Kept { raw, .. }) => merge(raw, json!({ kind: start })),
            Some(_) => tracing::debug!(index, kind, "bedrock: a second start of a block, ignored"),
            None => self.blocks.push((index, Block::kept(&kind, start))),
        }
        Ok(())
    }

    fn on_delta(
        &mut self,
        ev: BlockDeltaEvent,
        out: &mut VecDeque<ProviderEvent>,
    ) -> Result<(), Error> {
        let index = ev.content_block_index;
        for (member, value) in ev.delta {
            match (member.as_str(), self.block(index)) {
                ("text", _) => match value {
                    Value::String(text) if text.is_empty() => {}
                    Value::String(text) => out.push_back(ProviderEvent::Text(text)),
                    _ => tracing::debug!(index, "bedrock: a text delta that is not text, dropped"),
                },
                ("toolUse", Some(Block::Tool)) => {
                    let input = value
                        .get("input")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    if !input.is_empty() {
                        out.push_back(ProviderEvent::ToolCallDelta {
                            index,
                            arguments: input.to_string(),
                        });
                    }
                }
                (
                    "toolUse",
                    Some(Block::Kept {
                        input: fragments, ..
                    }),
                ) => {
                    let input = value
                        .get("input")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    fragments.get_or_insert_with(String::new).push_str(input);
                }
                ("toolUse", _) => {
                    return Err(Error::new(
                        ErrorKind::Decode,
                        format!(
                            "tool input for content block {index}, which did not start a tool call"
                        ),
                    ));
                }
                ("reasoningContent", None | Some(Block::Reasoning { .. })) => {
                    self.reasoning(index, value, out);
                }
                ("citation", _) => out.push_back(ProviderEvent::Citation(citation(&value))),
                (_, Some(Block::Kept { kind, raw, .. })) if *kind == member => {
                    match (member.as_str(), raw.get_mut(&member)) {
                        ("toolResult", Some(result)) => merge_tool_result(result, value),
                        (_, Some(held)) => merge(held, value),
                        (_, None) => merge(raw, json!({ member: value })),
                    }
                }
                (_, None) => {
                    let start = if member == "toolResult" {
                        let mut result = json!({});
                        merge_tool_result(&mut result, value);
                        result
                    } else {
                        value
                    };
                    self.blocks.push((index, Block::kept(&member, start)));
                }
                (_, Some(_)) => {
                    tracing::debug!(
                        index,
                        member,
                        "bedrock: a delta of another kind than its block, dropped"
                    );
                }
            }
        }
        Ok(())
    }

    /// A `reasoningContent` delta: text, signature or redacted content.
    fn reasoning(&mut self, index: usize, value: Value, out: &mut VecDeque<ProviderEvent>) {
        // Reasoning of another block still open ends here.
        let open: Vec<usize> = self
            .blocks
            .iter()
            .filter(|(i, b)| *i != index && matches!(b, Block::Reasoning { .. }))
            .map(|(i, _)| *i)
            .collect();
        for i in open {
            if let Some(b) = self.take_block(i) {
                Self::end_block(b, i, out);
            }
        }
        if self.block(index).is_none() {
            self.blocks.push((
                index,
                Block::Reasoning {
                    redacted: String::new(),
                },
            ));
        }
        let Value::Object(members) = value else {
            tracing::debug!(
                index,
                "bedrock: a reasoning delta that is not an object, dropped"
            );
            return;
        };
        for (member, value) in members {
            match (member.as_str(), value) {
                ("text", Value::String(t)) if t.is_empty() => {}
                ("text", Value::String(t)) => out.push_back(ProviderEvent::Reasoning(t)),
                ("signature", Value::String(s)) => {
                    out.push_back(ProviderEvent::ReasoningSignature(s));
                }
                ("redactedContent", Value::String(data)) => {
                    if let Some(Block::Reasoning { redacted }) = self.block(index) {
                        redacted.push_str(&data);
                    }
                }
                (member, _) => {
                    tracing::debug!(
                        index,
                        member,
                        "bedrock: an unknown reasoning delta, dropped"
                    );
                }
            }
        }
    }

    fn on_message(
        &mut self,
        msg: &Message,
        out: &mut VecDeque<ProviderEvent>,
    ) -> Result<(), Error> {
        match msg.header_str(":message-type") {
            Some("event") => {}
            Some("exception") => {
                let kind = msg.header_str(":exception-type").unwrap_or("exception");
                return Err(exception(kind, &msg.payload));
            }
            Some("error") => {
                let code = msg.header_str(":error-code").unwrap_or("error");
                return Err(error_frame(code, msg.header_str(":error-message")));
            }
            Some(other) => {
                tracing::debug!(
                    message_type = other,
                    "bedrock: skipping an eventstream frame of an unknown :message-type"
                );
                return Ok(());
            }
            None => {
                return Err(Error::new(
                    ErrorKind::Decode,
                    "eventstream frame without :message-type",
                ));
            }
        }
        let Some(event) = msg.header_str(":event-type") else {
            return Err(Error::new(
                ErrorKind::Decode,
                "eventstream event frame without :event-type",
            ));
        };
        match event {
            "messageStart" => {}
            "contentBlockStart" => self.on_start(payload(msg, event)?, out)?,
            "contentBlockDelta" => self.on_delta(payload(msg, event)?, out)?,
            "contentBlockStop" => {
                let ev: BlockStopEvent = payload(msg, event)?;
                let index = ev.content_block_index;
                if let Some(block) = self.take_block(index) {
                    Self::end_block(block, index, out);
                }
            }
            "messageStop" => {
                let ev: MessageStopEvent = payload(msg, event)?;
                // Blocks never stopped: what they hold is kept (tool calls stay incomplete).
                let open: Vec<(usize, Block)> = std::mem::take(&mut self.blocks);
                for (index, block) in open {
                    if matches!(block, Block::Tool) {
                        self.blocks.push((index, block));
                    } else {
                        Self::end_block(block, index, out);
                    }
                }
                self.stopped = true;
                if let Some(details) = ev.additional_model_response_fields {
                    out.push_back(ProviderEvent::FinishDetails(details));
                }
                out.push_back(ProviderEvent::Finish {
                    reason: finish_reason(&ev.stop_reason),
                    raw: Some(ev.stop_reason),
                });
            }
            "metadata" => {
                let ev: MetadataEvent = payload(msg, event)?;
                if let Some(u) = ev.usage {
                    out.push_back(ProviderEvent::Usage(usage(u)));
                }
                self.done = true;
            }
            other => {
                tracing::debug!(event = other, "bedrock: skipping an unknown stream event");
            }
        }
        Ok(())
    }
}

impl BodyDecoder for ConverseStream {
    fn push(&mut self, chunk: &[u8], out: &mut VecDeque<ProviderEvent>) -> Result<(), Error> {
        self.decoder.push(chunk);
        while !self.done {
            match self.decoder.next_message().map_err(decode_error)? {
                Some(msg) => self.on_message(&msg, out)?,
                None => break,
            }
        }
        Ok(())
    }

    fn finish(&mut self, _out: &mut VecDeque<ProviderEvent>) -> Result<(), Error> {
        if self.done {
            return Ok(());
        }
        if let Err(e) = self.decoder.finish() {
            return Err(Error::new(
                ErrorKind::StreamInterrupted,
                "the stream ended inside an eventstream frame",
            )
            .with_source(e));
        }
        let what = if self.stopped {
            "the stream ended after `messageStop` without its `metadata` event"
        } else {
            "the stream ended without `messageStop` and `metadata`"
        };
        Err(Error::new(ErrorKind::StreamInterrupted, what))
    }

    fn finished(&self) -> bool {
        self.done
    }
}
