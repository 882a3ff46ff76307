//! Fuzzes the SSE decoder: no input may panic, and cutting the input into chunks (at points the
//! fuzzer picks, or byte by byte) must give exactly the items and errors of decoding it whole.
#![no_main]

use libfuzzer_sys::fuzz_target;
use steadfast::codec::sse::{SseDecoder, SseError, SseItem};

/// Items and errors in order; `true` marks those flushed by `finish_item`.
type Outcome = Vec<(Result<SseItem, SseError>, bool)>;

fn decode<'a>(keep: bool, limit: usize, chunks: impl IntoIterator<Item = &'a [u8]>) -> Outcome {
    let mut decoder = SseDecoder::with_max_event_size(limit).keep_stray_lines(keep);
    let mut out = Vec::new();
    for chunk in chunks {
        decoder.push(chunk);
        while let Some(item) = decoder.next_item().transpose() {
            out.push((item, false));
        }
    }
    while let Some(item) = decoder.finish_item().transpose() {
        out.push((item, true));
    }
    assert_eq!(decoder.buffered_len(), 0, "finish consumes everything");
    out
}

/// Cuts `input` into chunks of 0 to 16 bytes chosen by a xorshift generator seeded with `seed`.
fn chunks(input: &[u8], mut seed: u64) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = input;
    seed |= 1;
    while !rest.is_empty() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let len = usize::try_from(seed % 17).unwrap_or(1).min(rest.len());
        let (chunk, tail) = rest.split_at(len);
        out.push(chunk);
        rest = tail;
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&config, rest)) = data.split_first() else {
        return;
    };
    let Some((seed, input)) = rest.split_first_chunk::<8>() else {
        return;
    };
    let keep = config & 1 != 0;
    let limit = match (config >> 1) & 3 {
        0 => 8,
        1 => 64,
        2 => 1024,
        _ => usize::MAX,
    };
    let whole = decode(keep, limit, [input]);
    assert_eq!(
        whole,
        decode(keep, limit, chunks(input, u64::from_le_bytes(*seed)))
    );
    assert_eq!(whole, decode(keep, limit, input.chunks(1)));
    for (item, _) in &whole {
        match item {
            Ok(SseItem::Event(event)) => {
                assert!(!event.data.contains('\r'));
                assert!(
                    event
                        .event
                        .as_deref()
                        .is_none_or(|e| !e.contains(['\r', '\n']))
                );
                assert!(
                    event
                        .id
                        .as_deref()
                        .is_none_or(|id| !id.contains(['\0', '\r', '\n']))
                );
            }
            Ok(SseItem::Stray(line)) => assert!(!line.is_empty() && !line.contains(['\r', '\n'])),
            _ => {}
        }
    }
});
