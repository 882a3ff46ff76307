//! The push decoder: a byte buffer, a line splitter and the event being assembled.

use std::fmt;

use memchr::{memchr, memchr2};

use super::{SseError, SseEvent, SseItem};

/// Default for [`SseDecoder::with_max_event_size`]: 16 MiB.
const DEFAULT_MAX_EVENT_SIZE: usize = 16 * 1024 * 1024;

/// The UTF-8 byte order mark, skipped at the very start of a stream.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Buffers above this capacity are released once they have been fully consumed, so that one huge
/// event does not pin its memory for the rest of the stream.
const RETAINED_CAPACITY: usize = 64 * 1024;

/// Incremental server-sent events decoder; see the [module documentation](super) for the rules.
///
/// Feed bytes with [`push`](Self::push), drain events with [`next_event`](Self::next_event) (or
/// [`next_item`](Self::next_item) when [stray lines](Self::keep_stray_lines) are kept) until it
/// returns `Ok(None)`, and call [`finish`](Self::finish) when the body ends.
///
/// # Default
///
/// No stray lines, a 16 MiB limit per event and per line.
#[derive(Clone)]
pub struct SseDecoder {
    /// Bytes received and not yet decoded start at `buf[pos]`.
    buf: Vec<u8>,
    pos: usize,
    /// The last line ended with CR: an LF right after it belongs to the same line ending.
    skip_lf: bool,
    /// Whether the start of the stream has been checked for a byte order mark.
    bom_checked: bool,
    /// [`finish`](Self::finish) was called: an unterminated last line counts as a line.
    eof: bool,
    /// 1-based number of the last line handed to `lines`.
    line_no: u64,
    lines: LineState,
}

/// What to do with incoming lines after an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Skip {
    /// Decode normally.
    Nothing,
    /// The start of the current line was discarded: drop the rest of it, then the rest of its event.
    Line,
    /// Drop lines up to and including the next blank line, which dispatches nothing.
    Event,
}

/// What to do with an unterminated line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Partial {
    /// Keep it buffered until its line ending arrives.
    Keep,
    /// Discard it: it belongs to a line or event being skipped.
    Drop,
    /// It makes its event exceed the limit (carried).
    TooLarge(usize),
}

/// Everything that depends only on the sequence of complete lines.
#[derive(Debug, Clone)]
struct LineState {
    max_event_size: usize,
    keep_stray: bool,
    skip: Skip,
    /// Sum of the lengths of the current event's non-comment lines.
    event_size: usize,
    /// A field that makes the event worth emitting has been seen since the last dispatch.
    seen: bool,
    has_data: bool,
    data: String,
    event: Option<String>,
    retry: Option<u64>,
    last_id: Option<String>,
}

impl SseDecoder {
    /// A decoder with the [default](Self#default) settings.
    #[must_use]
    pub fn new() -> Self {
        Self::with_max_event_size(DEFAULT_MAX_EVENT_SIZE)
    }

    /// A decoder that rejects events, and single lines, larger than `max_event_size` bytes.
    ///
    /// The size of an event is the sum of the lengths of its lines, comments and line endings
    /// excluded; a comment line on its own may not exceed the limit either.
    #[must_use]
    pub fn with_max_event_size(max_event_size: usize) -> Self {
        Self {
            buf: Vec::new(),
            pos: 0,
            skip_lf: false,
            bom_checked: false,
            eof: false,
            line_no: 0,
            lines: LineState {
                max_event_size,
                keep_stray: false,
                skip: Skip::Nothing,
                event_size: 0,
                seen: false,
                has_data: false,
                data: String::new(),
                event: None,
                retry: None,
                last_id: None,
            },
        }
    }

    /// Whether to report lines that are not SSE fields as [`SseItem::Stray`] (default `false`).
    ///
    /// A stray line is any line that is not blank, not a comment and not a `data`, `event`, `id`
    /// or `retry` field: for example each line of the bare JSON error object Gemini writes into a
    /// stream. Strays are returned by [`next_item`](Self::next_item) as soon as their line is
    /// complete; they do not end or alter the event being assembled.
    #[must_use]
    pub fn keep_stray_lines(mut self, keep: bool) -> Self {
        self.lines.keep_stray = keep;
        self
    }

    /// The configured size limit in bytes.
    #[must_use]
    pub fn max_event_size(&self) -> usize {
        self.lines.max_event_size
    }

    /// The id of the last event that set one, which a client resuming the stream would send as
    /// `Last-Event-ID`.
    #[must_use]
    pub fn last_event_id(&self) -> Option<&str> {
        self.lines.last_id.as_deref()
    }

    /// Number of bytes pushed but not yet decoded.
    #[must_use]
    pub fn buffered_len(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Appends a chunk of the stream, as received.
    ///
    /// Nothing is decoded until [`next_event`](Self::next_event) or
    /// [`next_item`](Self::next_item) is called, so drain the decoder between pushes to keep memory
    /// bounded. Pushing after [`finish`](Self::finish) resumes decoding as if the stream had not
    /// ended (an event that `finish` already returned stays returned).
    pub fn push(&mut self, chunk: &[u8]) {
        self.eof = false;
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
            if self.buf.capacity() > RETAINED_CAPACITY && chunk.len() <= RETAINED_CAPACITY {
                self.buf.shrink_to(RETAINED_CAPACITY);
            }
        } else if self.pos >= self.buf.len() - self.pos {
            // Compact only when the consumed prefix is at least as long as what is left, so the
            // copying stays linear in the length of the stream.
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(chunk);
    }

    /// Decodes the next complete event, skipping stray lines.
    ///
    /// Returns `Ok(None)` when the buffered bytes hold no further complete event: push more.
    ///
    /// # Errors
    ///
    /// [`SseError::InvalidUtf8`] or [`SseError::EventTooLarge`]; the offending event is dropped
    /// and the next call carries on after it.
    pub fn next_event(&mut self) -> Result<Option<SseEvent>, SseError> {
        loop {
            match self.next_item()? {
                Some(SseItem::Event(event)) => return Ok(Some(event)),
                Some(SseItem::Stray(_)) => {}
                None => return Ok(None),
            }
        }
    }

    /// Decodes the next complete event or [stray line](Self::keep_stray_lines).
    ///
    /// Returns `Ok(None)` when the buffered bytes hold no further complete item: push more.
    ///
    /// # Errors
    ///
    /// As [`next_event`](Self::next_event).
    pub fn next_item(&mut self) -> Result<Option<SseItem>, SseError> {
        if !self.bom_checked {
            let rest = &self.buf[self.pos..];
            if rest.len() < BOM.len() && BOM.starts_with(rest) && !self.eof {
                return Ok(None);
            }
            if rest.starts_with(BOM) {
                self.pos += BOM.len();
            }
            self.bom_checked = true;
        }
        loop {
            if self.skip_lf {
                match self.buf.get(self.pos) {
                    Some(b'\n') => {
                        self.pos += 1;
                        self.skip_lf = false;
                    }
                    Some(_) => self.skip_lf = false,
                    None if self.eof => self.skip_lf = false,
                    None => return Ok(None),
                }
            }
            let start = self.pos;
            let rest = &self.buf[start..];
            let (len, consumed) = match memchr2(b'\n', b'\r', rest) {
                Some(end) => {
                    self.skip_lf = rest[end] == b'\r';
                    (end, end + 1)
                }
                None if rest.is_empty() => {
                    return Ok(if self.eof { self.lines.flush() } else { None });
                }
                None if self.eof => (rest.len(), rest.len()),
                None => {
                    return match self.lines.check_partial(rest) {
                        Partial::Keep => Ok(None),
                        Partial::Drop => {
                            // The line belongs to a dropped event: free it now.
                            self.pos = self.buf.len();
                            Ok(None)
                        }
                        Partial::TooLarge(limit) => {
                            self.pos = self.buf.len();
                            Err(SseError::EventTooLarge {
                                limit,
                                line: self.line_no + 1,
                            })
                        }
                    };
                }
            };
            self.pos += consumed;
            self.line_no += 1;
            let line = &self.buf[start..start + len];
            if let Some(item) = self.lines.line(line, self.line_no)? {
                return Ok(Some(item));
            }
        }
    }

    /// Ends the input and returns the event that was still being assembled, if any.
    ///
    /// Call it once [`next_event`](Self::next_event) has returned `Ok(None)` and the body has
    /// ended. An unterminated last line is decoded as a complete line, then:
    ///
    /// - `Ok(None)`: the stream ended on an event boundary;
    /// - `Ok(Some(event))`: the stream ended without the blank line that dispatches `event` —
    ///   either the server omitted the final blank line or the stream was cut; which of the two
    ///   usually shows in the event's contents (its JSON does not parse, or an expected final event
    ///   such as `[DONE]` never came).
    ///
    /// If complete events were still buffered (the decoder was not drained), they come first, one
    /// per call: keep calling until `Ok(None)`.
    ///
    /// # Errors
    ///
    /// As [`next_event`](Self::next_event).
    pub fn finish(&mut self) -> Result<Option<SseEvent>, SseError> {
        self.eof = true;
        self.next_event()
    }

    /// [`finish`](Self::finish) for decoders that [keep stray lines](Self::keep_stray_lines): an
    /// unterminated last line can be a stray. Call it until it returns `Ok(None)`.
    ///
    /// # Errors
    ///
    /// As [`next_event`](Self::next_event).
    pub fn finish_item(&mut self) -> Result<Option<SseItem>, SseError> {
        self.eof = true;
        self.next_item()
    }
}

impl Default for SseDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for SseDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SseDecoder")
            .field("buffered_len", &self.buffered_len())
            .field("max_event_size", &self.lines.max_event_size)
            .field("keep_stray_lines", &self.lines.keep_stray)
            .field("line", &self.line_no)
            .field("ended", &self.eof)
            .finish_non_exhaustive()
    }
}

impl LineState {
    /// Handles one complete line (without its line ending).
    fn line(&mut self, line: &[u8], line_no: u64) -> Result<Option<SseItem>, SseError> {
        match self.skip {
            Skip::Nothing => {}
            Skip::Line => {
                self.skip = Skip::Event;
                return Ok(None);
            }
            Skip::Event => {
                if line.is_empty() {
                    self.skip = Skip::Nothing;
                }
                return Ok(None);
            }
        }
        let Some(&first) = line.first() else {
            return Ok(self.dispatch().map(SseItem::Event));
        };
        if first == b':' {
            if line.len() > self.max_event_size {
                return Err(self.fail(SseError::EventTooLarge {
                    limit: self.max_event_size,
                    line: line_no,
                }));
            }
            return Ok(None);
        }
        self.event_size = self.event_size.saturating_add(line.len());
        if self.event_size > self.max_event_size {
            return Err(self.fail(SseError::EventTooLarge {
                limit: self.max_event_size,
                line: line_no,
            }));
        }
        let (name, value) = match memchr(b':', line) {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        match name {
            b"data" => {
                let value = self.utf8(value, line_no)?;
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
                self.seen = true;
            }
            b"event" => {
                let value = self.utf8(value, line_no)?;
                if value.is_empty() {
                    self.event = None;
                } else {
                    self.event = Some(value.to_owned());
                    self.seen = true;
                }
            }
            // An id containing NUL is ignored.
            b"id" if memchr(0, value).is_none() => {
                let value = self.utf8(value, line_no)?;
                self.last_id = (!value.is_empty()).then(|| value.to_owned());
                self.seen = true;
            }
            b"id" => {}
            b"retry" => {
                if let Some(retry) = parse_retry(value) {
                    self.retry = Some(retry);
                    self.seen = true;
                }
            }
            _ if self.keep_stray => {
                let line = self.utf8(line, line_no)?;
                return Ok(Some(SseItem::Stray(line.to_owned())));
            }
            _ => {}
        }
        Ok(None)
    }

    /// Decides what to do with an unterminated line while waiting for the rest of it.
    fn check_partial(&mut self, partial: &[u8]) -> Partial {
        let too_large = match self.skip {
            Skip::Line => return Partial::Drop,
            Skip::Event => {
                // A non-empty line is not the blank line that ends the skip: drop it as it comes.
                self.skip = Skip::Line;
                return Partial::Drop;
            }
            Skip::Nothing if partial.first() == Some(&b':') => partial.len() > self.max_event_size,
            Skip::Nothing => self.event_size.saturating_add(partial.len()) > self.max_event_size,
        };
        if too_large {
            self.reset();
            self.skip = Skip::Line;
            return Partial::TooLarge(self.max_event_size);
        }
        Partial::Keep
    }

    /// Validates `bytes` as UTF-8, failing the current event if they are not.
    fn utf8<'a>(&mut self, bytes: &'a [u8], line: u64) -> Result<&'a str, SseError> {
        std::str::from_utf8(bytes).map_err(|_| self.fail(SseError::InvalidUtf8 { line }))
    }

    /// Drops the event being assembled and the rest of its lines.
    fn fail(&mut self, error: SseError) -> SseError {
        self.reset();
        self.skip = Skip::Event;
        error
    }

    /// The blank line: emits the event if it had any field worth emitting.
    fn dispatch(&mut self) -> Option<SseEvent> {
        if !self.seen {
            self.reset();
            return None;
        }
        let event = SseEvent {
            event: self.event.take(),
            data: std::mem::take(&mut self.data),
            id: self.last_id.clone(),
            retry: self.retry.take(),
        };
        self.reset();
        Some(event)
    }

    /// End of input: emits the event being assembled, as if a blank line had followed.
    fn flush(&mut self) -> Option<SseItem> {
        if self.skip != Skip::Nothing {
            self.skip = Skip::Nothing;
            self.reset();
            return None;
        }
        self.dispatch().map(SseItem::Event)
    }

    fn reset(&mut self) {
        self.event_size = 0;
        self.seen = false;
        self.has_data = false;
        self.data.clear();
        self.event = None;
        self.retry = None;
    }
}

/// `retry` values are ASCII digits only; anything else (or an overflow) is ignored.
pub(super) fn parse_retry(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    value.iter().try_fold(0u64, |acc, &b| {
        let digit = b.checked_sub(b'0').filter(|d| *d < 10)?;
        acc.checked_mul(10)?.checked_add(u64::from(digit))
    })
}
