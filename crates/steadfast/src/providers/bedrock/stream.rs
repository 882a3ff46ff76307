//! ConverseStream: binary `application/vnd.amazon.eventstream` frames, decoded incrementally
//! (frames straddle reads; both CRCs are checked), one JSON payload per event.
//!
//! `:message-type event` frames are dispatched on `:event-type`: `messageStart` (nothing to
//! emit), `contentBlockStart` (a tool call begins), `contentBlockDelta` (text, or a fragment of
//! a tool call's input per `contentBlockIndex`; reasoning, citations and the rest are ignored),
//! `contentBlockStop` (a tool call's input is complete), `messageStop` (the stop reason) and
//! `metadata` (usage; the last frame). Unknown event types and payload keys (the padding `p`)
//! are ignored. `exception` frames are classified by `:exception-type`, `error` frames by
//! `:error-code`. A body that ends before `metadata`, or inside a frame, is
//! `StreamInterrupted`; a corrupt frame is a `Decode` error.

use std::collections::VecDeque;

use serde::de::DeserializeOwned;

use super::convert::{finish_reason, usage};
use super::error::{error_frame, exception};
use super::wire::{
    BlockDeltaEvent, BlockStartEvent, BlockStopEvent, MessageStopEvent, MetadataEvent,
};
use crate::codec::eventstream::{EventStreamDecoder, EventStreamError, Message};
use crate::error::{Error, ErrorKind};
use crate::provider::ProviderEvent;
use crate::transport::BodyDecoder;

/// Per-stream state.
#[derive(Debug, Default)]
pub(crate) struct ConverseStream {
    decoder: EventStreamDecoder,
    /// `messageStop` arrived.
    stopped: bool,
    /// `metadata` arrived: the end.
    done: bool,
    /// `contentBlockIndex`es of tool calls begun and not yet stopped.
    open_tools: Vec<usize>,
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

impl ConverseStream {
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
            other => {
                return Err(Error::new(
                    ErrorKind::Decode,
                    format!(
                        "eventstream frame with unknown :message-type {}",
                        other.unwrap_or("(none)")
                    ),
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
            "contentBlockStart" => {
                let ev: BlockStartEvent = payload(msg, event)?;
                if let Some(t) = ev.start.tool_use {
                    let index = ev.content_block_index;
                    if !self.open_tools.contains(&index) {
                        self.open_tools.push(index);
                    }
                    out.push_back(ProviderEvent::ToolCallStart {
                        index,
                        id: t.tool_use_id,
                        name: t.name,
                    });
                }
            }
            "contentBlockDelta" => {
                let ev: BlockDeltaEvent = payload(msg, event)?;
                if let Some(text) = ev.delta.text.filter(|t| !t.is_empty()) {
                    out.push_back(ProviderEvent::Text(text));
                }
                if let Some(t) = ev.delta.tool_use {
                    let index = ev.content_block_index;
                    if !self.open_tools.contains(&index) {
                        return Err(Error::new(
                            ErrorKind::Decode,
                            format!(
                                "tool input for content block {index}, which did not start a tool call"
                            ),
                        ));
                    }
                    if !t.input.is_empty() {
                        out.push_back(ProviderEvent::ToolCallDelta {
                            index,
                            arguments: t.input,
                        });
                    }
                }
            }
            "contentBlockStop" => {
                let ev: BlockStopEvent = payload(msg, event)?;
                let index = ev.content_block_index;
                if let Some(pos) = self.open_tools.iter().position(|&i| i == index) {
                    self.open_tools.remove(pos);
                    out.push_back(ProviderEvent::ToolCallEnd { index });
                }
            }
            "messageStop" => {
                let ev: MessageStopEvent = payload(msg, event)?;
                self.stopped = true;
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
            // `messageStart` carries only the role; newer events are ignored.
            _ => {}
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
