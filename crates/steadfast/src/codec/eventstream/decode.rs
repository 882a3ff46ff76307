//! The push decoder.

use std::borrow::Cow;
use std::fmt;

use bytes::{Bytes, BytesMut};

use super::encode::{CRC_LEN, PRELUDE_LEN};
use super::{EventStreamError, Header, HeaderValue, Message};

/// Default for [`EventStreamDecoder::with_max_frame_size`]: 16 MiB.
const DEFAULT_MAX_FRAME_SIZE: usize = 16 * 1024 * 1024;

/// Incremental event-stream decoder; see the [module documentation](super).
///
/// # Default
///
/// Frames up to 16 MiB.
#[derive(Clone)]
pub struct EventStreamDecoder {
    buf: BytesMut,
    max_frame_size: usize,
    /// Set by a fatal error, which is then returned by every call.
    failed: Option<EventStreamError>,
}

impl EventStreamDecoder {
    /// A decoder with the [default](Self#default) limit.
    #[must_use]
    pub fn new() -> Self {
        Self::with_max_frame_size(DEFAULT_MAX_FRAME_SIZE)
    }

    /// A decoder that rejects frames whose total length exceeds `max_frame_size` bytes, before
    /// buffering them.
    #[must_use]
    pub fn with_max_frame_size(max_frame_size: usize) -> Self {
        Self {
            buf: BytesMut::new(),
            max_frame_size,
            failed: None,
        }
    }

    /// The configured limit in bytes.
    #[must_use]
    pub fn max_frame_size(&self) -> usize {
        self.max_frame_size
    }

    /// Number of bytes pushed but not yet decoded.
    #[must_use]
    pub fn buffered_len(&self) -> usize {
        self.buf.len()
    }

    /// Appends a chunk of the stream, as received. Nothing is decoded until
    /// [`next_message`](Self::next_message) is called, so drain the decoder between pushes.
    /// After a fatal error the bytes are discarded.
    pub fn push(&mut self, chunk: &[u8]) {
        if self.failed.is_none() {
            self.buf.extend_from_slice(chunk);
        }
    }

    /// Decodes the next complete frame.
    ///
    /// Returns `Ok(None)` when the buffered bytes hold no complete frame: push more.
    ///
    /// # Errors
    ///
    /// One [`EventStreamError`] per kind of invalid frame. After a [fatal](EventStreamError::is_fatal)
    /// one, every later call returns it again; after any other, the bad frame has been dropped and
    /// the next call decodes the frame after it.
    pub fn next_message(&mut self) -> Result<Option<Message>, EventStreamError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        let Some(prelude) = self.buf.first_chunk::<PRELUDE_LEN>() else {
            return Ok(None);
        };
        let (total_len, headers_len) = match check_prelude(prelude, self.max_frame_size) {
            Ok(lengths) => lengths,
            Err(error) => {
                self.buf = BytesMut::new();
                self.failed = Some(error.clone());
                return Err(error);
            }
        };
        let total = total_len as usize;
        if self.buf.len() < total {
            self.buf.reserve(total - self.buf.len());
            return Ok(None);
        }
        let frame = self.buf.split_to(total).freeze();
        decode_frame(frame, headers_len as usize).map(Some)
    }

    /// Ends the input.
    ///
    /// # Errors
    ///
    /// [`EventStreamError::Truncated`] if bytes of an incomplete frame are left (the stream was
    /// cut), or the fatal error the decoder stopped at.
    pub fn finish(&mut self) -> Result<(), EventStreamError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        match self.buf.len() {
            0 => Ok(()),
            buffered => Err(EventStreamError::Truncated { buffered }),
        }
    }
}

impl Default for EventStreamDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for EventStreamDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventStreamDecoder")
            .field("buffered_len", &self.buf.len())
            .field("max_frame_size", &self.max_frame_size)
            .field("failed", &self.failed)
            .finish()
    }
}

fn be_u32(bytes: &[u8; 4]) -> u32 {
    u32::from_be_bytes(*bytes)
}

/// Validates the 12-byte prelude; returns the total and header section lengths.
fn check_prelude(
    prelude: &[u8; PRELUDE_LEN],
    max_frame_size: usize,
) -> Result<(u32, u32), EventStreamError> {
    let [a, b, c, d, e, f, g, h, i, j, k, l] = *prelude;
    let total_len = be_u32(&[a, b, c, d]);
    let headers_len = be_u32(&[e, f, g, h]);
    let expected = be_u32(&[i, j, k, l]);
    let computed = crc32fast::hash(&prelude[..8]);
    if computed != expected {
        return Err(EventStreamError::PreludeChecksum { computed, expected });
    }
    let overhead = (PRELUDE_LEN + CRC_LEN) as u32;
    if total_len < overhead {
        return Err(EventStreamError::MessageLength { total_len });
    }
    if total_len as usize > max_frame_size {
        return Err(EventStreamError::FrameTooLarge {
            total_len,
            max: max_frame_size,
        });
    }
    if headers_len == 1 || headers_len > total_len - overhead {
        return Err(EventStreamError::HeadersLength {
            headers_len,
            total_len,
        });
    }
    Ok((total_len, headers_len))
}

/// Decodes a complete frame whose prelude has been validated.
fn decode_frame(frame: Bytes, headers_len: usize) -> Result<Message, EventStreamError> {
    let headers_end = PRELUDE_LEN + headers_len;
    let crc_start = frame.len() - CRC_LEN;
    // Headers first, then the checksum: a frame with a damaged header reports what is wrong with
    // it rather than only that its checksum fails (the order the reference decoder uses too).
    let headers = decode_headers(&frame, headers_end)?;
    let computed = crc32fast::hash(&frame[..crc_start]);
    let expected = frame[crc_start..].first_chunk::<4>().map_or(0, be_u32);
    if computed != expected {
        return Err(EventStreamError::MessageChecksum { computed, expected });
    }
    Ok(Message {
        headers,
        payload: frame.slice(headers_end..crc_start),
    })
}

/// A cursor over the header section `frame[PRELUDE_LEN..end]`.
struct Cursor<'a> {
    frame: &'a Bytes,
    pos: usize,
    end: usize,
}

impl Cursor<'_> {
    /// The next `n` bytes as a range of the frame, if the section holds them.
    fn take(&mut self, n: usize) -> Option<std::ops::Range<usize>> {
        if self.end - self.pos < n {
            return None;
        }
        let range = self.pos..self.pos + n;
        self.pos += n;
        Some(range)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let range = self.take(N)?;
        self.frame[range].first_chunk::<N>().copied()
    }
}

fn decode_headers(frame: &Bytes, end: usize) -> Result<Vec<Header>, EventStreamError> {
    let mut cursor = Cursor {
        frame,
        pos: PRELUDE_LEN,
        end,
    };
    let mut headers = Vec::new();
    while cursor.pos < cursor.end {
        let index = headers.len();
        let [name_len] = cursor.array::<1>().unwrap_or([0]);
        // The name must be followed by at least its type byte.
        let name_range = match cursor.take(usize::from(name_len)) {
            Some(range) if cursor.pos < cursor.end => range,
            _ => {
                return Err(EventStreamError::HeaderNameLength {
                    index,
                    len: name_len,
                });
            }
        };
        let name =
            decode_str(&frame[name_range]).ok_or(EventStreamError::HeaderNameUtf8 { index })?;
        let value = decode_value(&mut cursor, &name)?;
        headers.push(Header { name, value });
    }
    Ok(headers)
}

fn decode_value(cursor: &mut Cursor<'_>, name: &str) -> Result<HeaderValue, EventStreamError> {
    let cut = || EventStreamError::HeaderValueLength {
        name: name.to_owned(),
    };
    let [value_type] = cursor.array::<1>().ok_or_else(cut)?;
    Ok(match value_type {
        0 => HeaderValue::Bool(true),
        1 => HeaderValue::Bool(false),
        2 => HeaderValue::Byte(i8::from_be_bytes(cursor.array().ok_or_else(cut)?)),
        3 => HeaderValue::Int16(i16::from_be_bytes(cursor.array().ok_or_else(cut)?)),
        4 => HeaderValue::Int32(i32::from_be_bytes(cursor.array().ok_or_else(cut)?)),
        5 => HeaderValue::Int64(i64::from_be_bytes(cursor.array().ok_or_else(cut)?)),
        6 | 7 => {
            let len = u16::from_be_bytes(cursor.array().ok_or_else(cut)?);
            let range = cursor.take(usize::from(len)).ok_or_else(cut)?;
            if value_type == 6 {
                HeaderValue::ByteArray(cursor.frame.slice(range))
            } else {
                let value = decode_str(&cursor.frame[range]).ok_or_else(|| {
                    EventStreamError::HeaderStringUtf8 {
                        name: name.to_owned(),
                    }
                })?;
                HeaderValue::String(value)
            }
        }
        8 => HeaderValue::Timestamp(i64::from_be_bytes(cursor.array().ok_or_else(cut)?)),
        9 => HeaderValue::Uuid(cursor.array().ok_or_else(cut)?),
        value_type => {
            return Err(EventStreamError::HeaderValueType {
                name: name.to_owned(),
                value_type,
            });
        }
    })
}

/// Generates [`known_str`] from a list of strings.
macro_rules! known_strings {
    ($($known:literal),* $(,)?) => {
        /// The static copy of a header name or string value that Bedrock sends in every frame.
        fn known_str(bytes: &[u8]) -> Option<&'static str> {
            match bytes {
                $(bytes if bytes == $known.as_bytes() => Some($known),)*
                _ => None,
            }
        }
    };
}

known_strings![
    ":event-type",
    ":content-type",
    ":message-type",
    ":exception-type",
    ":error-code",
    ":error-message",
    "event",
    "exception",
    "error",
    "application/json",
    "messageStart",
    "contentBlockStart",
    "contentBlockDelta",
    "contentBlockStop",
    "messageStop",
    "metadata",
    "chunk",
];

/// Decodes a header name or string value, without allocating for the [known ones](known_str).
fn decode_str(bytes: &[u8]) -> Option<Cow<'static, str>> {
    if let Some(known) = known_str(bytes) {
        return Some(Cow::Borrowed(known));
    }
    std::str::from_utf8(bytes)
        .ok()
        .map(|value| Cow::Owned(value.to_owned()))
}
