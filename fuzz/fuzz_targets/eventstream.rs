//! Fuzzes the eventstream decoder: no input may panic, chunking must not change the outcome, and
//! every frame it accepts must re-encode to exactly the bytes it came from.
//!
//! Raw fuzz bytes almost never pass the prelude checksum, so half the inputs (config bit 0) are
//! first wrapped into frames with valid lengths and checksums, which sends the fuzzer's bytes into
//! header parsing and payload handling.
#![no_main]

use libfuzzer_sys::fuzz_target;
use steadfast::codec::eventstream::{EventStreamDecoder, EventStreamError, Message};

type Outcome = (
    Vec<Result<Message, EventStreamError>>,
    Result<(), EventStreamError>,
);

fn decode<'a>(max: usize, chunks: impl IntoIterator<Item = &'a [u8]>) -> Outcome {
    let mut decoder = EventStreamDecoder::with_max_frame_size(max);
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
                        // Stuck for good: it must say so again, then stop.
                        assert_eq!(
                            decoder.next_message().err(),
                            out.last().and_then(|r| r.clone().err())
                        );
                        return (out, decoder.finish());
                    }
                }
            }
        }
    }
    (out, decoder.finish())
}

/// Cuts `input` into chunks of 0 to 40 bytes chosen by a xorshift generator seeded with `seed`.
fn chunks(input: &[u8], mut seed: u64) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = input;
    seed |= 1;
    while !rest.is_empty() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let len = usize::try_from(seed % 41).unwrap_or(1).min(rest.len());
        let (chunk, tail) = rest.split_at(len);
        out.push(chunk);
        rest = tail;
    }
    out
}

/// Wraps `body` into frames: each takes a header-section length byte and a payload length byte,
/// then that many bytes of each, and gets correct lengths and checksums.
fn framed(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some((&[h, p], tail)) = rest.split_first_chunk::<2>() {
        let (headers, tail) = tail.split_at(usize::from(h).min(tail.len()));
        let (payload, tail) = tail.split_at(usize::from(p).min(tail.len()));
        let start = out.len();
        let total = (16 + headers.len() + payload.len()) as u32;
        out.extend_from_slice(&total.to_be_bytes());
        out.extend_from_slice(&(headers.len() as u32).to_be_bytes());
        let prelude_crc = crc32fast::hash(&out[start..start + 8]);
        out.extend_from_slice(&prelude_crc.to_be_bytes());
        out.extend_from_slice(headers);
        out.extend_from_slice(payload);
        let message_crc = crc32fast::hash(&out[start..]);
        out.extend_from_slice(&message_crc.to_be_bytes());
        rest = tail;
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&config, rest)) = data.split_first() else {
        return;
    };
    let Some((seed, body)) = rest.split_first_chunk::<8>() else {
        return;
    };
    let input = if config & 1 == 1 {
        framed(body)
    } else {
        body.to_vec()
    };
    let max = if config & 2 == 2 { 64 } else { usize::MAX };

    let whole = decode(max, [&input[..]]);
    assert_eq!(
        whole,
        decode(max, chunks(&input, u64::from_le_bytes(*seed)))
    );
    assert_eq!(whole, decode(max, input.chunks(1)));

    let (results, end) = &whole;
    let mut reencoded = Vec::new();
    for message in results.iter().flatten() {
        let bytes = message.encode().expect("a decoded message fits the format");
        let (again, again_end) = decode(usize::MAX, [&bytes[..]]);
        assert_eq!(again, vec![Ok(message.clone())]);
        assert_eq!(again_end, Ok(()));
        reencoded.extend_from_slice(&bytes);
    }
    if end.is_ok() && results.iter().all(Result::is_ok) {
        assert_eq!(
            reencoded, input,
            "the encoding of accepted frames is canonical"
        );
    }
});
