//! Throughput of the stream decoders, side by side with independent reference crates.
//!
//! Run with `cargo bench -p steadfast --bench codec`. Inputs: the recorded OpenAI and Anthropic SSE
//! bodies from `shared/fixtures`, concatenated to a few MiB; and synthetic Bedrock-like
//! eventstream frames. Each input is fed in network-sized chunks.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "benchmark setup: a missing fixture should abort the run loudly"
)]

use std::convert::Infallible;
use std::pin::pin;
use std::sync::LazyLock;
use std::task::{Context, Poll, Waker};

use bytes::BytesMut;
use divan::Bencher;
use divan::counter::BytesCount;
use futures_core::Stream;
use steadfast::codec::eventstream::{EventStreamDecoder, Header, HeaderValue, encode_message};
use steadfast::codec::sse::SseDecoder;

fn main() {
    // The inputs are the recorded streams, which live outside the repository.
    let fixtures = steadfast_fixtures::location();
    if !fixtures.is_dir() {
        eprintln!(
            "skipped: the codec benches read the recorded fixtures, not found at {} (set {})",
            fixtures.display(),
            steadfast_fixtures::DIR_VAR
        );
        return;
    }
    divan::main();
}

/// Roughly this many bytes per input.
const TARGET_LEN: usize = 4 << 20;

/// Chunk sizes: a typical TLS record / HTTP/2 DATA frame, and a small TCP segment.
const CHUNKS: &[usize] = &[16 * 1024, 1024];

/// Every recorded OpenAI and Anthropic stream, each closed by a blank line, repeated.
static SSE_INPUT: LazyLock<(Vec<u8>, usize)> = LazyLock::new(|| {
    let mut one_pass = Vec::new();
    for dir in ["openai/sse", "anthropic/streaming"] {
        let mut paths: Vec<_> = std::fs::read_dir(steadfast_fixtures::location().join(dir))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        paths.sort();
        for path in paths {
            one_pass.extend_from_slice(&std::fs::read(&path).unwrap());
            // Some recorded Anthropic bodies lack their final blank line.
            one_pass.extend_from_slice(b"\n\n");
        }
    }
    let mut input = Vec::with_capacity(TARGET_LEN + one_pass.len());
    while input.len() < TARGET_LEN {
        input.extend_from_slice(&one_pass);
    }
    let mut decoder = SseDecoder::new();
    decoder.push(&input);
    let mut events = 0;
    while decoder.next_event().unwrap().is_some() {
        events += 1;
    }
    (input, events)
});

/// Bedrock `contentBlockDelta`-like frames with the usual three headers and a JSON payload.
static EVENTSTREAM_INPUT: LazyLock<(Vec<u8>, usize)> = LazyLock::new(|| {
    let mut input = Vec::with_capacity(TARGET_LEN + 1024);
    let mut frames = 0;
    while input.len() < TARGET_LEN {
        let payload = format!(
            r#"{{"contentBlockIndex":0,"delta":{{"text":"token number {frames} of a streamed answer"}},"p":"abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"}}"#
        );
        let frame = encode_message(
            &[
                Header::new(":event-type", HeaderValue::from("contentBlockDelta")),
                Header::new(":content-type", HeaderValue::from("application/json")),
                Header::new(":message-type", HeaderValue::from("event")),
            ],
            payload.as_bytes(),
        )
        .unwrap();
        input.extend_from_slice(&frame);
        frames += 1;
    }
    (input, frames)
});

#[divan::bench(args = CHUNKS)]
fn sse_steadfast(bencher: Bencher, chunk: usize) {
    let (input, events) = &*SSE_INPUT;
    bencher.counter(BytesCount::new(input.len())).bench(|| {
        let mut decoder = SseDecoder::new();
        let mut seen = 0;
        for piece in input.chunks(chunk) {
            decoder.push(piece);
            while let Some(event) = decoder.next_event().unwrap() {
                seen += divan::black_box(event).data.len().min(1);
            }
        }
        assert_eq!(decoder.finish().unwrap(), None);
        assert_eq!(seen, *events);
    });
}

#[divan::bench(args = CHUNKS)]
fn sse_eventsource_stream(bencher: Bencher, chunk: usize) {
    use eventsource_stream::Eventsource;

    let (input, events) = &*SSE_INPUT;
    bencher.counter(BytesCount::new(input.len())).bench(|| {
        let chunks = input.chunks(chunk).map(Ok::<_, Infallible>);
        let mut stream = pin!(futures_util::stream::iter(chunks).eventsource());
        let mut cx = Context::from_waker(Waker::noop());
        let mut seen = 0;
        loop {
            match stream.as_mut().poll_next(&mut cx) {
                Poll::Ready(Some(event)) => {
                    seen += divan::black_box(event.unwrap()).data.len().min(1);
                }
                Poll::Ready(None) => break,
                Poll::Pending => panic!("an in-memory stream is never pending"),
            }
        }
        assert_eq!(seen, *events);
    });
}

#[divan::bench(args = CHUNKS)]
fn eventstream_steadfast(bencher: Bencher, chunk: usize) {
    let (input, frames) = &*EVENTSTREAM_INPUT;
    bencher.counter(BytesCount::new(input.len())).bench(|| {
        let mut decoder = EventStreamDecoder::new();
        let mut seen = 0;
        for piece in input.chunks(chunk) {
            decoder.push(piece);
            while let Some(message) = decoder.next_message().unwrap() {
                seen += divan::black_box(message).headers.len().min(1);
            }
        }
        decoder.finish().unwrap();
        assert_eq!(seen, *frames);
    });
}

#[divan::bench(args = CHUNKS)]
fn eventstream_aws_smithy(bencher: Bencher, chunk: usize) {
    use aws_smithy_eventstream::frame::{DecodedFrame, MessageFrameDecoder};

    let (input, frames) = &*EVENTSTREAM_INPUT;
    bencher.counter(BytesCount::new(input.len())).bench(|| {
        let mut decoder = MessageFrameDecoder::new();
        let mut buf = BytesMut::new();
        let mut seen = 0;
        for piece in input.chunks(chunk) {
            buf.extend_from_slice(piece);
            while let DecodedFrame::Complete(message) = decoder.decode_frame(&mut buf).unwrap() {
                seen += divan::black_box(message).headers().len().min(1);
            }
        }
        assert!(buf.is_empty());
        assert_eq!(seen, *frames);
    });
}
