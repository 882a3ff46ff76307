//! Incremental `text/event-stream` (server-sent events) decoder.
//!
//! Every HTTP streaming API this crate speaks except Bedrock sends its events as SSE. The bytes arrive
//! in TCP-sized chunks that cut lines, CRLF pairs and UTF-8 sequences at arbitrary points, so the
//! decoder is *push based*: [`SseDecoder::push`] appends whatever arrived, and
//! [`SseDecoder::next_event`] pulls out each complete event. The same input gives the same events
//! however it is chunked.
//!
//! # Rules
//!
//! The decoder follows the rules the official OpenAI and Anthropic SDKs implement (the WHATWG
//! event-stream grammar):
//!
//! - lines end with CRLF, LF or CR — a CR at the end of one chunk followed by LF at the start of the
//!   next is one line ending; a UTF-8 byte order mark at the very start is skipped;
//! - a blank line dispatches the event being built; lines starting with `:` are comments;
//! - `field: value` — one space after the colon is stripped; a line without a colon is a field with
//!   an empty value;
//! - `data` lines are joined with `\n`; `event` sets the type; `id` sets the last event id (ignored
//!   if it contains NUL; it carries over to later events, as in browsers); `retry` is a decimal
//!   integer (other values are ignored); unknown fields are ignored;
//! - an event is only emitted if it had at least one `data` line, a non-empty `event`, an `id` or a
//!   valid `retry`: blank lines on their own emit nothing.
//!
//! Text is decoded as UTF-8 one complete line at a time, so a character split between chunks is
//! never a problem; bytes that are not UTF-8 in a field the decoder keeps give
//! [`SseError::InvalidUtf8`].
//!
//! # Bounded memory
//!
//! One event (the sum of its non-comment lines) and any single line may not exceed
//! [`SseDecoder::with_max_event_size`] bytes (16 MiB by default). Beyond that the decoder returns
//! [`SseError::EventTooLarge`] and drops the offending event instead of buffering without limit.
//! Errors are not fatal: the event that caused one is skipped up to its dispatching blank line and
//! decoding carries on, so the caller decides whether to stop.
//!
//! # End of input
//!
//! A stream that stops in the middle of an event is how a dropped connection looks. Once the body
//! ends, call [`SseDecoder::finish`]: it returns the event that was still being assembled, if any —
//! `Some` means the stream did not end on an event boundary (some servers omit the final blank line;
//! otherwise the stream was cut) — and `None` means it ended cleanly.
//!
//! # Stray lines (Gemini)
//!
//! Gemini writes a mid-stream error as a bare, pretty-printed JSON object with no `data:` prefix.
//! By the SSE grammar those lines are unknown fields and vanish. With
//! [`SseDecoder::keep_stray_lines`] they are returned as [`SseItem::Stray`] from
//! [`SseDecoder::next_item`] instead, in stream order, so the caller can reassemble the error.
//!
//! # Example
//!
//! ```
//! use steadfast::codec::sse::SseDecoder;
//!
//! let mut decoder = SseDecoder::new();
//! // The network cuts the stream wherever it likes, here inside a CRLF and a field name.
//! decoder.push(b"event: message_start\r");
//! decoder.push(b"\ndata: {\"a\":1}\r\n\r\nda");
//! decoder.push(b"ta: [DONE]\n\n");
//!
//! let first = decoder.next_event()?.expect("one complete event");
//! assert_eq!(first.event.as_deref(), Some("message_start"));
//! assert_eq!(first.data, "{\"a\":1}");
//! let second = decoder.next_event()?.expect("a second event");
//! assert_eq!(second.data, "[DONE]");
//! assert_eq!(decoder.next_event()?, None);
//!
//! // The body ended on an event boundary: nothing was cut off.
//! assert_eq!(decoder.finish()?, None);
//! # Ok::<(), steadfast::codec::sse::SseError>(())
//! ```

mod decoder;
#[cfg(test)]
mod tests;

pub use decoder::SseDecoder;

/// One dispatched server-sent event.
///
/// The fields mirror the four fields of the event-stream format, which is fixed by the
/// specification; the struct is therefore exhaustive and can be built with a literal (or
/// [`SseEvent::new`]) in tests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct SseEvent {
    /// The event type from the last `event:` line, or `None` when the event had none (or an empty
    /// one), which by the specification means the type `message`. Anthropic names every event;
    /// OpenAI and Gemini never do.
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`; empty if the event had no `data` line.
    pub data: String,
    /// The last event id seen on this stream up to and including this event (ids carry over from
    /// earlier events, as in browsers), or `None` if none was set or the last `id:` was empty.
    pub id: Option<String>,
    /// The reconnection time in milliseconds from this event's `retry:` line, if it had a valid one.
    pub retry: Option<u64>,
}

impl SseEvent {
    /// An event of the default type with the given data and no id or retry.
    #[must_use]
    pub fn new(data: impl Into<String>) -> Self {
        Self {
            data: data.into(),
            ..Self::default()
        }
    }

    /// This event with its type set to `event`.
    #[must_use]
    pub fn with_event(mut self, event: impl Into<String>) -> Self {
        self.event = Some(event.into());
        self
    }

    /// The event type, with the specification's default `message` when the stream gave none.
    #[must_use]
    pub fn event_type(&self) -> &str {
        self.event.as_deref().unwrap_or("message")
    }
}

/// One item decoded from the stream by [`SseDecoder::next_item`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SseItem {
    /// A dispatched event.
    Event(SseEvent),
    /// A line that is neither blank, nor a comment, nor one of the `data`, `event`, `id` or `retry`
    /// fields, without its line ending. Only produced when
    /// [`SseDecoder::keep_stray_lines`] is enabled; otherwise such lines are ignored, as the
    /// specification requires.
    Stray(String),
}

/// Why the decoder rejected part of a stream.
///
/// Both kinds are permanent for the event concerned (retrying the same bytes gives the same error)
/// but not for the stream: the decoder skips the event that caused the error and can go on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SseError {
    /// A field value (or a stray line) was not valid UTF-8.
    #[error("server-sent event line {line} is not valid UTF-8")]
    InvalidUtf8 {
        /// The 1-based number of the offending line in the stream.
        line: u64,
    },
    /// An event, or a single line, exceeded the decoder's size limit.
    #[error("server-sent event at line {line} exceeds the limit of {limit} bytes")]
    EventTooLarge {
        /// The configured limit in bytes.
        limit: usize,
        /// The 1-based number of the line at which the limit was crossed.
        line: u64,
    },
}
