//! Incremental decoder (and encoder) for AWS `application/vnd.amazon.eventstream` frames.
//!
//! Bedrock's `ConverseStream` answers with a body of binary frames instead of SSE. Each frame is
//! self-delimiting and carries two CRC32 checksums:
//!
//! ```text
//! total_len u32 | headers_len u32 | prelude_crc u32 | headers | payload | message_crc u32
//! ```
//!
//! all integers big-endian; `prelude_crc` covers the first 8 bytes and `message_crc` everything
//! before it. Each header is `name_len u8 | name | type u8 | value`, with ten value types (see
//! [`HeaderValue`]). Bedrock's event frames carry the string headers `:message-type` (`event`,
//! `exception` or `error`), `:event-type` and `:content-type`, and a JSON payload.
//!
//! Frames straddle HTTP chunks, so [`EventStreamDecoder`] is push based like the SSE decoder:
//! [`push`](EventStreamDecoder::push) what arrived, pull complete messages with
//! [`next_message`](EventStreamDecoder::next_message), and call
//! [`finish`](EventStreamDecoder::finish) at the end of the body to learn whether a frame was cut
//! off. Payloads and byte-array headers are zero-copy slices of the received buffer.
//!
//! # Validation and errors
//!
//! Every frame is checked: prelude CRC, total length (at least 16 bytes, at most
//! [`with_max_frame_size`](EventStreamDecoder::with_max_frame_size), 16 MiB by default), header
//! section length, each header's name length, value type and value length, UTF-8 of names and
//! string values, and the message CRC. Each failure has its own [`EventStreamError`] variant.
//! Errors in the 12-byte prelude are [fatal](EventStreamError::is_fatal): the frame boundaries
//! cannot be trusted any more, and the decoder keeps returning the same error. Errors inside a
//! frame whose prelude was valid drop only that frame.
//!
//! # Example
//!
//! ```
//! use steadfast::codec::eventstream::{EventStreamDecoder, Header, HeaderValue, encode_message};
//!
//! let frame = encode_message(
//!     &[
//!         Header::new(":message-type", HeaderValue::from("event")),
//!         Header::new(":event-type", HeaderValue::from("contentBlockDelta")),
//!     ],
//!     br#"{"delta":{"text":"Hi"}}"#,
//! )?;
//!
//! let mut decoder = EventStreamDecoder::new();
//! let (a, b) = frame.split_at(7); // a frame cut by the network
//! decoder.push(a);
//! assert!(decoder.next_message()?.is_none());
//! decoder.push(b);
//! let message = decoder.next_message()?.expect("complete frame");
//! assert_eq!(message.header_str(":event-type"), Some("contentBlockDelta"));
//! assert_eq!(&message.payload[..], br#"{"delta":{"text":"Hi"}}"#);
//! decoder.finish()?; // nothing was cut off
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::borrow::Cow;

use bytes::Bytes;

mod decode;
mod encode;
mod error;
#[cfg(test)]
mod tests;

pub use decode::EventStreamDecoder;
pub use encode::encode_message;
pub use error::{EncodeError, EventStreamError};

/// One decoded event-stream message: its headers, in wire order, and its payload.
///
/// The wire format fixes these two parts, so the struct is exhaustive.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Message {
    /// The headers in the order they appeared on the wire (names may repeat).
    pub headers: Vec<Header>,
    /// The payload (for Bedrock, a JSON document).
    pub payload: Bytes,
}

impl Message {
    /// A message with the given headers and payload.
    #[must_use]
    pub fn new(headers: Vec<Header>, payload: impl Into<Bytes>) -> Self {
        Self {
            headers,
            payload: payload.into(),
        }
    }

    /// The value of the first header called `name`.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&HeaderValue> {
        self.headers
            .iter()
            .find(|header| header.name == name)
            .map(|header| &header.value)
    }

    /// The value of the first header called `name` if it is a string, such as Bedrock's
    /// `:event-type`, `:message-type` and `:content-type`.
    #[must_use]
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header(name).and_then(HeaderValue::as_str)
    }

    /// Encodes this message as one frame.
    ///
    /// # Errors
    ///
    /// As [`encode_message`].
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        encode_message(&self.headers, &self.payload)
    }
}

/// One header: a name (at most 255 bytes of UTF-8) and a typed value.
///
/// Names and string values are [`Cow`]s so that the handful of names and values every Bedrock
/// frame repeats (`:event-type`, `application/json`, ...) are decoded without allocating.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Header {
    /// The header name.
    pub name: Cow<'static, str>,
    /// The header value.
    pub value: HeaderValue,
}

impl Header {
    /// A header with the given name and value.
    #[must_use]
    pub fn new(name: impl Into<Cow<'static, str>>, value: HeaderValue) -> Self {
        Self {
            name: name.into(),
            value,
        }
    }
}

/// A typed header value. The wire format defines exactly these ten types (type bytes 0 to 9;
/// `Bool` takes two), so the enum is exhaustive.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HeaderValue {
    /// Types 0 (`true`) and 1 (`false`): no value bytes.
    Bool(bool),
    /// Type 2: one signed byte.
    Byte(i8),
    /// Type 3: big-endian `i16`.
    Int16(i16),
    /// Type 4: big-endian `i32`.
    Int32(i32),
    /// Type 5: big-endian `i64`.
    Int64(i64),
    /// Type 6: up to 65 535 bytes.
    ByteArray(Bytes),
    /// Type 7: up to 65 535 bytes of UTF-8.
    String(Cow<'static, str>),
    /// Type 8: milliseconds since the Unix epoch.
    Timestamp(i64),
    /// Type 9: a UUID, as its 16 bytes.
    Uuid([u8; 16]),
}

impl HeaderValue {
    /// The string if this is a [`HeaderValue::String`].
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(value) => Some(value),
            _ => None,
        }
    }

    /// The type byte this value has on the wire.
    #[must_use]
    pub fn wire_type(&self) -> u8 {
        match self {
            Self::Bool(true) => 0,
            Self::Bool(false) => 1,
            Self::Byte(_) => 2,
            Self::Int16(_) => 3,
            Self::Int32(_) => 4,
            Self::Int64(_) => 5,
            Self::ByteArray(_) => 6,
            Self::String(_) => 7,
            Self::Timestamp(_) => 8,
            Self::Uuid(_) => 9,
        }
    }
}

impl From<&'static str> for HeaderValue {
    fn from(value: &'static str) -> Self {
        Self::String(Cow::Borrowed(value))
    }
}

impl From<String> for HeaderValue {
    fn from(value: String) -> Self {
        Self::String(Cow::Owned(value))
    }
}
