//! Unit tests of framing and validation; the fixture vectors and property tests are in
//! `tests/codec_eventstream.rs`.

use bytes::Bytes;

use super::{
    EncodeError, EventStreamDecoder, EventStreamError, Header, HeaderValue, Message, encode_message,
};

fn all_types() -> Vec<Header> {
    vec![
        Header::new("t", HeaderValue::Bool(true)),
        Header::new("f", HeaderValue::Bool(false)),
        Header::new("b", HeaderValue::Byte(-5)),
        Header::new("s", HeaderValue::Int16(-20_000)),
        Header::new("i", HeaderValue::Int32(500_000)),
        Header::new("l", HeaderValue::Int64(-50_000_000_000)),
        Header::new("a", HeaderValue::ByteArray(Bytes::from_static(b"\x00\xFF"))),
        Header::new("str", HeaderValue::from("известни")),
        Header::new("time", HeaderValue::Timestamp(1_700_000_000_123)),
        Header::new("uuid", HeaderValue::Uuid([7; 16])),
        Header::new("", HeaderValue::from("")),
    ]
}

fn decode_one(bytes: &[u8]) -> Result<Option<Message>, EventStreamError> {
    let mut decoder = EventStreamDecoder::new();
    decoder.push(bytes);
    decoder.next_message()
}

/// Re-encodes a frame after `edit`, fixing both checksums so only the edit is wrong.
fn with_valid_crcs(mut frame: Vec<u8>) -> Vec<u8> {
    let prelude = crc32fast::hash(&frame[..8]);
    frame[8..12].copy_from_slice(&prelude.to_be_bytes());
    let end = frame.len() - 4;
    let message = crc32fast::hash(&frame[..end]);
    frame[end..].copy_from_slice(&message.to_be_bytes());
    frame
}

#[test]
fn round_trips_every_value_type() {
    let message = Message::new(all_types(), &b"payload"[..]);
    let frame = message.encode().unwrap();
    assert_eq!(decode_one(&frame), Ok(Some(message)));
}

#[test]
fn empty_frame_is_sixteen_bytes() {
    let frame = encode_message(&[], b"").unwrap();
    assert_eq!(frame.len(), 16);
    assert_eq!(decode_one(&frame), Ok(Some(Message::default())));
}

#[test]
fn header_lookup() {
    let message = Message::new(
        vec![
            Header::new(":message-type", HeaderValue::from("event")),
            Header::new("n", HeaderValue::Int32(1)),
            Header::new(":message-type", HeaderValue::from("second")),
        ],
        Bytes::new(),
    );
    assert_eq!(message.header_str(":message-type"), Some("event"));
    assert_eq!(message.header("n"), Some(&HeaderValue::Int32(1)));
    assert_eq!(message.header_str("n"), None);
    assert_eq!(message.header("missing"), None);
}

#[test]
fn incomplete_frames_wait_for_more() {
    let frame = encode_message(&all_types(), b"xyz").unwrap();
    let mut decoder = EventStreamDecoder::new();
    for byte in &frame[..frame.len() - 1] {
        decoder.push(std::slice::from_ref(byte));
        assert_eq!(decoder.next_message(), Ok(None));
    }
    assert_eq!(
        decoder.finish(),
        Err(EventStreamError::Truncated {
            buffered: frame.len() - 1
        })
    );
    decoder.push(&frame[frame.len() - 1..]);
    assert!(decoder.next_message().unwrap().is_some());
    assert_eq!(decoder.finish(), Ok(()));
}

#[test]
fn prelude_errors_are_fatal_and_sticky() {
    let mut frame = encode_message(&[], b"abc").unwrap();
    frame[9] ^= 1;
    let mut decoder = EventStreamDecoder::new();
    decoder.push(&frame);
    decoder.push(&encode_message(&[], b"next").unwrap());
    let error = decoder.next_message().unwrap_err();
    assert!(matches!(error, EventStreamError::PreludeChecksum { .. }));
    assert!(error.is_fatal());
    assert_eq!(decoder.next_message(), Err(error.clone()));
    assert_eq!(decoder.finish(), Err(error));
    assert_eq!(decoder.buffered_len(), 0);
}

#[test]
fn frame_errors_drop_only_that_frame() {
    let mut bad = encode_message(&[], b"abc").unwrap();
    bad[13] ^= 1; // payload byte
    let good = encode_message(&[], b"next").unwrap();
    let mut decoder = EventStreamDecoder::new();
    decoder.push(&bad);
    decoder.push(&good);
    let error = decoder.next_message().unwrap_err();
    assert!(matches!(error, EventStreamError::MessageChecksum { .. }));
    assert!(!error.is_fatal());
    assert_eq!(
        decoder.next_message().unwrap().unwrap().payload,
        Bytes::from_static(b"next")
    );
}

#[test]
fn lengths_below_minimum_and_above_limit() {
    let mut short = encode_message(&[], b"").unwrap();
    short[3] = 15;
    assert_eq!(
        decode_one(&with_valid_crcs(short)),
        Err(EventStreamError::MessageLength { total_len: 15 })
    );

    let frame = encode_message(&[], &[0; 100]).unwrap();
    let mut decoder = EventStreamDecoder::with_max_frame_size(115);
    decoder.push(&frame[..12]); // rejected from the prelude alone
    assert_eq!(
        decoder.next_message(),
        Err(EventStreamError::FrameTooLarge {
            total_len: 116,
            max: 115
        })
    );
    let mut decoder = EventStreamDecoder::with_max_frame_size(116);
    decoder.push(&frame);
    assert!(decoder.next_message().unwrap().is_some());
}

#[test]
fn headers_length_must_fit() {
    let frame = encode_message(&[], b"ab").unwrap();
    for headers_len in [1u32, 3] {
        let mut bad = frame.clone();
        bad[4..8].copy_from_slice(&headers_len.to_be_bytes());
        assert_eq!(
            decode_one(&with_valid_crcs(bad)),
            Err(EventStreamError::HeadersLength {
                headers_len,
                total_len: 18
            })
        );
    }
}

#[test]
fn header_section_ending_inside_a_header() {
    // headers_len 2 covers a name length byte and a one-byte name, but no type byte.
    let mut frame = encode_message(&[], b"xy").unwrap();
    frame[7] = 2;
    frame[12] = 1;
    assert_eq!(
        decode_one(&with_valid_crcs(frame)),
        Err(EventStreamError::HeaderNameLength { index: 0, len: 1 })
    );
    // A fixed-size value cut by the end of the section.
    let mut frame = encode_message(&[Header::new("n", HeaderValue::Int32(1))], b"").unwrap();
    frame[7] -= 1; // headers_len now stops one byte short of the value
    assert_eq!(
        decode_one(&with_valid_crcs(frame)),
        Err(EventStreamError::HeaderValueLength { name: "n".into() })
    );
}

#[test]
fn invalid_utf8_in_names_and_strings() {
    let frame = encode_message(&[Header::new("ab", HeaderValue::from("cd"))], b"").unwrap();
    let mut bad_name = frame.clone();
    bad_name[13] = 0xFF;
    assert_eq!(
        decode_one(&with_valid_crcs(bad_name)),
        Err(EventStreamError::HeaderNameUtf8 { index: 0 })
    );
    let mut bad_value = frame;
    bad_value[18] = 0xFF;
    assert_eq!(
        decode_one(&with_valid_crcs(bad_value)),
        Err(EventStreamError::HeaderStringUtf8 { name: "ab".into() })
    );
}

#[test]
fn unknown_value_type() {
    let mut frame = encode_message(&[Header::new("x", HeaderValue::Bool(true))], b"").unwrap();
    frame[14] = 10;
    assert_eq!(
        decode_one(&with_valid_crcs(frame)),
        Err(EventStreamError::HeaderValueType {
            name: "x".into(),
            value_type: 10
        })
    );
}

#[test]
fn encoder_limits() {
    let long_name = "n".repeat(256);
    assert_eq!(
        encode_message(&[Header::new(long_name, HeaderValue::Bool(true))], b""),
        Err(EncodeError::HeaderNameTooLong { len: 256 })
    );
    let long_value = HeaderValue::ByteArray(Bytes::from(vec![0; 65_536]));
    assert_eq!(
        encode_message(&[Header::new("v", long_value)], b""),
        Err(EncodeError::HeaderValueTooLong {
            name: "v".into(),
            len: 65_536
        })
    );
    let name = "n".repeat(255);
    let value = HeaderValue::from("v".repeat(65_535));
    let frame = encode_message(&[Header::new(name.clone(), value.clone())], b"").unwrap();
    assert_eq!(
        decode_one(&frame).unwrap().unwrap().headers,
        vec![Header::new(name, value)]
    );
}

#[test]
fn consecutive_frames_in_one_push() {
    let frame = encode_message(&[], b"zero-copy").unwrap();
    let mut decoder = EventStreamDecoder::new();
    decoder.push(&frame);
    decoder.push(&frame);
    let first = decoder.next_message().unwrap().unwrap();
    let second = decoder.next_message().unwrap().unwrap();
    assert_eq!(first.payload, second.payload);
    assert_eq!(decoder.buffered_len(), 0);
}
