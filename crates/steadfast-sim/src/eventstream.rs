//! Encoder for `application/vnd.amazon.eventstream` frames (protocols.md §7.7): big-endian
//! prelude (total length, headers length, prelude CRC32), string headers, payload, message CRC32.

use bytes::Bytes;

/// Encodes one frame whose headers are all strings (type 7).
pub(crate) fn frame(headers: &[(&str, &str)], payload: &[u8]) -> Bytes {
    let mut hdr = Vec::with_capacity(96);
    for (name, value) in headers {
        let name = &name.as_bytes()[..name.len().min(255)];
        let value = &value.as_bytes()[..value.len().min(u16::MAX as usize)];
        hdr.push(name.len() as u8);
        hdr.extend_from_slice(name);
        hdr.push(7);
        hdr.extend_from_slice(&(value.len() as u16).to_be_bytes());
        hdr.extend_from_slice(value);
    }
    let total = 12 + hdr.len() + payload.len() + 4;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&(total as u32).to_be_bytes());
    out.extend_from_slice(&(hdr.len() as u32).to_be_bytes());
    let prelude_crc = crc32fast::hash(&out[..8]);
    out.extend_from_slice(&prelude_crc.to_be_bytes());
    out.extend_from_slice(&hdr);
    out.extend_from_slice(payload);
    let message_crc = crc32fast::hash(&out);
    out.extend_from_slice(&message_crc.to_be_bytes());
    Bytes::from(out)
}

/// An event frame (`:message-type: event`).
pub(crate) fn event(event_type: &str, payload: &[u8]) -> Bytes {
    frame(
        &[
            (":event-type", event_type),
            (":content-type", "application/json"),
            (":message-type", "event"),
        ],
        payload,
    )
}

/// A modeled exception frame (`:message-type: exception`).
pub(crate) fn exception(exception_type: &str, payload: &[u8]) -> Bytes {
    frame(
        &[
            (":exception-type", exception_type),
            (":content-type", "application/json"),
            (":message-type", "exception"),
        ],
        payload,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_no_headers_vector() {
        let Some(root) = steadfast_fixtures::require() else {
            return;
        };
        let path = root.join("bedrock/eventstream_test_data/valid_no_headers");
        let expected = std::fs::read(path).unwrap();
        // The vector's payload is the 16 bytes after the 12-byte prelude.
        let payload = &expected[12..expected.len() - 4];
        assert_eq!(frame(&[], payload).as_ref(), expected.as_slice());
    }
}
