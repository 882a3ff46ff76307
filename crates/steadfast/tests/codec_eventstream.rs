//! The eventstream decoder against the reference test vectors and the `aws-smithy-eventstream`
//! implementation, plus round-trip, chunking and corruption properties.

// Tests abort on the first unexpected value: unwrap/expect/panic are the assertion mechanism here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bytes::Bytes;
use proptest::prelude::*;
use steadfast::codec::eventstream::{
    EventStreamDecoder, EventStreamError, Header, HeaderValue, Message, encode_message,
};

fn vectors() -> std::path::PathBuf {
    steadfast_fixtures::location().join("bedrock/eventstream_test_data")
}

fn vector(name: &str) -> Vec<u8> {
    std::fs::read(vectors().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Everything the decoder yields for `chunks`, draining after each push, then `finish`.
fn decode_chunks<'a>(
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> (
    Vec<Result<Message, EventStreamError>>,
    Result<(), EventStreamError>,
) {
    let mut decoder = EventStreamDecoder::new();
    let mut out = Vec::new();
    for chunk in chunks {
        decoder.push(chunk);
        loop {
            match decoder.next_message() {
                Ok(Some(message)) => out.push(Ok(message)),
                Ok(None) => break,
                Err(error) => {
                    let fatal = error.is_fatal();
                    out.push(Err(error));
                    if fatal {
                        break;
                    }
                }
            }
        }
        if out
            .last()
            .is_some_and(|r| r.as_ref().is_err_and(EventStreamError::is_fatal))
        {
            break;
        }
    }
    (out, decoder.finish())
}

fn first_result(bytes: &[u8]) -> Result<Message, EventStreamError> {
    let (results, _) = decode_chunks([bytes]);
    results.into_iter().next().expect("a complete frame")
}

fn all_headers() -> Vec<Header> {
    vec![
        Header::new("true", HeaderValue::Bool(true)),
        Header::new("false", HeaderValue::Bool(false)),
        Header::new("byte", HeaderValue::Byte(50)),
        Header::new("short", HeaderValue::Int16(20_000)),
        Header::new("int", HeaderValue::Int32(500_000)),
        Header::new("long", HeaderValue::Int64(50_000_000_000)),
        Header::new(
            "bytes",
            HeaderValue::ByteArray(Bytes::from_static(b"some bytes")),
        ),
        Header::new("str", HeaderValue::from("some str")),
        Header::new("time", HeaderValue::Timestamp(5_000_000_000)),
        Header::new(
            "uuid",
            HeaderValue::Uuid(0xb79bc914_de21_4e13_b8b2_bc47e85b7f0b_u128.to_be_bytes()),
        ),
    ]
}

#[test]
fn valid_vectors_decode_and_re_encode_byte_exactly() {
    let Some(_fixtures) = steadfast_fixtures::require() else {
        return;
    };
    let cases = [
        (
            "valid_with_all_headers_and_payload",
            Message::new(all_headers(), &b"some payload"[..]),
        ),
        (
            "valid_no_headers",
            Message::new(vec![], &b"another test payload"[..]),
        ),
        (
            "valid_empty_payload",
            Message::new(
                vec![Header::new("some-header", HeaderValue::Int16(500))],
                Bytes::new(),
            ),
        ),
    ];
    for (name, expected) in cases {
        let bytes = vector(name);
        assert_eq!(first_result(&bytes), Ok(expected.clone()), "{name}");
        assert_eq!(expected.encode().unwrap(), bytes, "{name}");
        let (byte_wise, end) = decode_chunks(bytes.chunks(1));
        assert_eq!(byte_wise, vec![Ok(expected)], "{name}");
        assert_eq!(end, Ok(()), "{name}");
    }
}

#[test]
fn invalid_vectors_fail_as_named() {
    let Some(_fixtures) = steadfast_fixtures::require() else {
        return;
    };
    let name = |s: &str| s.to_owned();
    let cases = [
        (
            "invalid_prelude_checksum",
            EventStreamError::PreludeChecksum {
                computed: 0x8bb4_95fb,
                expected: 0xdead_beef,
            },
        ),
        (
            "invalid_message_checksum",
            EventStreamError::MessageChecksum {
                computed: 0x01a0_5860,
                expected: 0xdead_beef,
            },
        ),
        (
            "invalid_headers_length",
            EventStreamError::HeadersLength {
                headers_len: 77,
                total_len: 89,
            },
        ),
        (
            "invalid_header_value_type",
            EventStreamError::HeaderValueType {
                name: name("byte"),
                value_type: 0x60,
            },
        ),
        (
            "invalid_header_name_length",
            EventStreamError::HeaderNameLength { index: 2, len: 255 },
        ),
        // The reference decoder reads the 102-byte "name" beyond the header section and reports
        // invalid UTF-8; bounded by the section, the name length itself is what is wrong.
        (
            "invalid_header_name_length_too_long",
            EventStreamError::HeaderNameLength { index: 1, len: 102 },
        ),
        (
            "invalid_header_string_value_length",
            EventStreamError::HeaderValueLength { name: name("str") },
        ),
        (
            "invalid_header_string_length_cut_off",
            EventStreamError::HeaderValueLength { name: name("str") },
        ),
    ];
    for (file, expected) in cases {
        let bytes = vector(file);
        assert_eq!(first_result(&bytes), Err(expected.clone()), "{file}");
        let (byte_wise, _) = decode_chunks(bytes.chunks(1));
        assert_eq!(byte_wise.first(), Some(&Err(expected)), "{file}");
    }
}

#[test]
fn every_vector_is_classified_like_the_reference_decoder() {
    let Some(_fixtures) = steadfast_fixtures::require() else {
        return;
    };
    use aws_smithy_eventstream::frame::read_message_from;

    for entry in std::fs::read_dir(vectors()).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_str().unwrap().to_owned();
        let bytes = std::fs::read(&path).unwrap();
        let reference = read_message_from(&mut Bytes::from(bytes.clone()));
        let ours = first_result(&bytes);
        assert_eq!(reference.is_ok(), ours.is_ok(), "{file}");
        assert_eq!(file.starts_with("valid_"), ours.is_ok(), "{file}");
        if let (Ok(reference), Ok(ours)) = (reference, ours) {
            assert_eq!(reference.payload().as_ref(), &ours.payload[..], "{file}");
            let names: Vec<_> = reference
                .headers()
                .iter()
                .map(|h| h.name().as_str())
                .collect();
            let our_names: Vec<_> = ours.headers.iter().map(|h| &*h.name).collect();
            assert_eq!(names, our_names, "{file}");
        }
    }
}

#[test]
fn bedrock_style_stream_in_odd_chunks() {
    let mut stream = Vec::new();
    let events = [
        "messageStart",
        "contentBlockDelta",
        "contentBlockDelta",
        "messageStop",
    ];
    for (i, event) in events.iter().enumerate() {
        let payload = format!(r#"{{"i":{i},"p":"abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"}}"#);
        let frame = encode_message(
            &[
                Header::new(":event-type", HeaderValue::from(*event)),
                Header::new(":content-type", HeaderValue::from("application/json")),
                Header::new(":message-type", HeaderValue::from("event")),
            ],
            payload.as_bytes(),
        )
        .unwrap();
        stream.extend_from_slice(&frame);
    }
    for chunk in [1, 3, 7, 64, 1000] {
        let (messages, end) = decode_chunks(stream.chunks(chunk));
        assert_eq!(end, Ok(()));
        let types: Vec<_> = messages
            .iter()
            .map(|m| m.as_ref().unwrap().header_str(":event-type").unwrap())
            .collect();
        assert_eq!(types, events);
    }
}

fn header_value() -> impl Strategy<Value = HeaderValue> {
    prop_oneof![
        any::<bool>().prop_map(HeaderValue::Bool),
        any::<i8>().prop_map(HeaderValue::Byte),
        any::<i16>().prop_map(HeaderValue::Int16),
        any::<i32>().prop_map(HeaderValue::Int32),
        any::<i64>().prop_map(HeaderValue::Int64),
        prop::collection::vec(any::<u8>(), 0..40).prop_map(|v| HeaderValue::ByteArray(v.into())),
        ".{0,20}".prop_map(HeaderValue::from),
        prop::sample::select(vec![":event-type", "event", "application/json"])
            .prop_map(HeaderValue::from),
        any::<i64>().prop_map(HeaderValue::Timestamp),
        any::<[u8; 16]>().prop_map(HeaderValue::Uuid),
    ]
}

fn message() -> impl Strategy<Value = Message> {
    (
        prop::collection::vec(
            (".{0,12}", header_value()).prop_map(|(name, value)| Header::new(name, value)),
            0..6,
        ),
        prop::collection::vec(any::<u8>(), 0..200),
    )
        .prop_map(|(headers, payload)| Message::new(headers, payload))
}

/// Splits `input` at the given points (taken modulo its length).
fn split_at_points(input: &[u8], points: &[usize]) -> Vec<Vec<u8>> {
    let mut cuts: Vec<usize> = points.iter().map(|p| p % (input.len() + 1)).collect();
    cuts.sort_unstable();
    let mut chunks = Vec::new();
    let mut start = 0;
    for cut in cuts {
        chunks.push(input[start..cut].to_vec());
        start = cut;
    }
    chunks.push(input[start..].to_vec());
    chunks
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_messages_round_trip_in_any_chunking(
        messages in prop::collection::vec(message(), 0..8),
        points in prop::collection::vec(any::<usize>(), 0..30),
    ) {
        let mut stream = Vec::new();
        for message in &messages {
            stream.extend_from_slice(&message.encode().unwrap());
        }
        let chunks = split_at_points(&stream, &points);
        let (decoded, end) = decode_chunks(chunks.iter().map(Vec::as_slice));
        prop_assert_eq!(end, Ok(()));
        let expected: Vec<_> = messages.into_iter().map(Ok).collect();
        prop_assert_eq!(decoded, expected);
    }

    #[test]
    fn reference_implementation_reads_and_rewrites_our_frames(message in message()) {
        use aws_smithy_eventstream::frame::{read_message_from, write_message_to};

        let frame = message.encode().unwrap();
        let reference = read_message_from(&mut Bytes::from(frame.clone())).unwrap();
        prop_assert_eq!(reference.payload().as_ref(), &message.payload[..]);
        prop_assert_eq!(reference.headers().len(), message.headers.len());
        let mut rewritten = Vec::new();
        write_message_to(&reference, &mut rewritten).unwrap();
        prop_assert_eq!(rewritten, frame);
    }

    #[test]
    fn any_single_bit_flip_is_detected(
        messages in prop::collection::vec(message(), 1..5),
        target in any::<prop::sample::Index>(),
        bit in any::<prop::sample::Index>(),
        points in prop::collection::vec(any::<usize>(), 0..10),
    ) {
        let frames: Vec<Vec<u8>> = messages.iter().map(|m| m.encode().unwrap()).collect();
        let corrupt = target.index(frames.len());
        let mut stream = Vec::new();
        let mut flipped_at = 0;
        let mut mask = 0;
        for (i, frame) in frames.iter().enumerate() {
            if i == corrupt {
                let bit = bit.index(frame.len() * 8);
                flipped_at = stream.len() + bit / 8;
                mask = 1u8 << (bit % 8);
            }
            stream.extend_from_slice(frame);
        }
        stream[flipped_at] ^= mask;
        let chunks = split_at_points(&stream, &points);
        let (decoded, end) = decode_chunks(chunks.iter().map(Vec::as_slice));
        // Every frame before the damaged one decodes intact; the damaged one is an error and
        // never a wrong message.
        for (got, expected) in decoded.iter().zip(&messages).take(corrupt) {
            prop_assert_eq!(got, &Ok(expected.clone()));
        }
        // The prelude checksum guards the lengths, so the damaged frame is always reached.
        prop_assert!(decoded[corrupt].is_err(), "{:?}", decoded[corrupt]);
        if decoded[corrupt].as_ref().is_err_and(EventStreamError::is_fatal) {
            prop_assert!(end.is_err());
        }
    }

    #[test]
    fn truncation_anywhere_inside_a_frame_is_reported(
        messages in prop::collection::vec(message(), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut stream = Vec::new();
        let mut boundaries = vec![0];
        for message in &messages {
            stream.extend_from_slice(&message.encode().unwrap());
            boundaries.push(stream.len());
        }
        let cut = cut.index(stream.len() + 1);
        let (decoded, end) = decode_chunks([&stream[..cut]]);
        let complete = boundaries.iter().filter(|b| **b <= cut).count() - 1;
        prop_assert_eq!(decoded.len(), complete);
        if boundaries.contains(&cut) {
            prop_assert_eq!(end, Ok(()));
        } else {
            let buffered = cut - boundaries[complete];
            prop_assert_eq!(end, Err(EventStreamError::Truncated { buffered }));
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_chunking_does_not_matter(
        bytes in prop::collection::vec(any::<u8>(), 0..300),
        points in prop::collection::vec(any::<usize>(), 0..20),
    ) {
        let chunks = split_at_points(&bytes, &points);
        prop_assert_eq!(
            decode_chunks(chunks.iter().map(Vec::as_slice)),
            decode_chunks([&bytes[..]])
        );
    }
}
