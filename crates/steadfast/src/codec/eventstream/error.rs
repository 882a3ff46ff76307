//! The decoder's and the encoder's error types.

/// Why a frame could not be decoded.
///
/// All of these are permanent: the same bytes always fail the same way. [`is_fatal`] tells
/// whether the decoder can go on with the next frame.
///
/// [`is_fatal`]: EventStreamError::is_fatal
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventStreamError {
    /// The CRC32 of the first 8 bytes does not match the prelude checksum. Fatal.
    #[error(
        "event-stream prelude checksum mismatch: computed {computed:#010x}, frame says {expected:#010x}"
    )]
    PreludeChecksum {
        /// The checksum computed over the received bytes.
        computed: u32,
        /// The checksum the frame carries.
        expected: u32,
    },
    /// The total length is below the 16-byte minimum of an empty frame. Fatal.
    #[error("event-stream frame length {total_len} is below the 16-byte minimum")]
    MessageLength {
        /// The total length from the prelude.
        total_len: u32,
    },
    /// The total length exceeds the decoder's limit. Fatal.
    #[error("event-stream frame of {total_len} bytes exceeds the limit of {max} bytes")]
    FrameTooLarge {
        /// The total length from the prelude.
        total_len: u32,
        /// The configured limit.
        max: usize,
    },
    /// The header section length is 1 (no header fits) or does not fit in the frame. Fatal.
    #[error(
        "event-stream header section length {headers_len} is invalid for a frame of {total_len} bytes"
    )]
    HeadersLength {
        /// The header section length from the prelude.
        headers_len: u32,
        /// The total length from the prelude.
        total_len: u32,
    },
    /// A header name length runs past the end of the header section.
    #[error("event-stream header #{index}: name length {len} runs past the header section")]
    HeaderNameLength {
        /// 0-based position of the header in the frame.
        index: usize,
        /// The name length byte.
        len: u8,
    },
    /// A header name is not UTF-8.
    #[error("event-stream header #{index}: name is not valid UTF-8")]
    HeaderNameUtf8 {
        /// 0-based position of the header in the frame.
        index: usize,
    },
    /// A header value type byte is not one of the ten defined types.
    #[error("event-stream header {name:?}: unknown value type {value_type}")]
    HeaderValueType {
        /// The header name.
        name: String,
        /// The type byte.
        value_type: u8,
    },
    /// A header value (fixed size, or its length prefix) runs past the end of the header section.
    #[error("event-stream header {name:?}: value runs past the header section")]
    HeaderValueLength {
        /// The header name.
        name: String,
    },
    /// A string header value is not UTF-8.
    #[error("event-stream header {name:?}: string value is not valid UTF-8")]
    HeaderStringUtf8 {
        /// The header name.
        name: String,
    },
    /// The CRC32 of the frame does not match the message checksum: the frame is corrupt.
    #[error(
        "event-stream message checksum mismatch: computed {computed:#010x}, frame says {expected:#010x}"
    )]
    MessageChecksum {
        /// The checksum computed over the received bytes.
        computed: u32,
        /// The checksum the frame carries.
        expected: u32,
    },
    /// The input ended inside a frame (reported by
    /// [`finish`](super::EventStreamDecoder::finish)): the stream was cut.
    #[error("event stream ended inside a frame ({buffered} bytes buffered)")]
    Truncated {
        /// Bytes of the incomplete frame that were received.
        buffered: usize,
    },
}

impl EventStreamError {
    /// Whether the decoder is stuck after this error. Errors in a frame's 12-byte prelude are
    /// fatal, because the next frame's position is no longer known; the decoder then returns the
    /// same error on every call. Errors inside a frame with a valid prelude only drop that frame.
    #[must_use]
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            Self::PreludeChecksum { .. }
                | Self::MessageLength { .. }
                | Self::FrameTooLarge { .. }
                | Self::HeadersLength { .. }
        )
    }
}

/// Why a message could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A header name is longer than 255 bytes.
    #[error("event-stream header name of {len} bytes exceeds 255")]
    HeaderNameTooLong {
        /// The name length in bytes.
        len: usize,
    },
    /// A byte-array or string header value is longer than 65 535 bytes.
    #[error("event-stream header {name:?}: value of {len} bytes exceeds 65535")]
    HeaderValueTooLong {
        /// The header name.
        name: String,
        /// The value length in bytes.
        len: usize,
    },
    /// The frame would be longer than `u32::MAX` bytes.
    #[error("event-stream frame of {len} bytes exceeds the 4 GiB format limit")]
    MessageTooLong {
        /// The frame length it would have.
        len: usize,
    },
}
