//! The SSE decoder against every recorded provider stream, plus chunking-invariance properties.

// Tests abort on the first unexpected value: unwrap/expect/panic are the assertion mechanism here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::task::{Context, Poll, Waker};

use proptest::prelude::*;
use serde_json::Value;
use steadfast::codec::sse::{SseDecoder, SseError, SseEvent, SseItem};

fn fixture_files(dir: &str, prefix: &str) -> Vec<PathBuf> {
    let mut paths: Vec<_> = std::fs::read_dir(steadfast_fixtures::location().join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            let name = path.file_name().unwrap().to_str().unwrap();
            name.starts_with(prefix) && (name.ends_with(".txt") || name.ends_with(".bin"))
        })
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no fixtures in {dir}");
    paths
}

fn openai() -> Vec<PathBuf> {
    fixture_files("openai/sse", "")
}

fn anthropic() -> Vec<PathBuf> {
    fixture_files("anthropic/streaming", "")
}

fn gemini() -> Vec<PathBuf> {
    let mut files = fixture_files("gemini/googleai", "streaming-");
    files.extend(fixture_files("gemini/vertexai", "streaming-"));
    files
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

/// Everything a decoder produces for `chunks`: items and errors in order, then what `finish`
/// flushes (marked `true`).
fn decode_chunks<'a>(
    mut decoder: SseDecoder,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> Vec<(Result<SseItem, SseError>, bool)> {
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
    out
}

/// Events of a stream that must decode without errors or strays; the bool says whether the last
/// one was only flushed by `finish`.
fn events_of(input: &[u8]) -> (Vec<SseEvent>, bool) {
    let mut flushed = false;
    let events = decode_chunks(SseDecoder::new(), [input])
        .into_iter()
        .map(|(item, at_eof)| {
            flushed |= at_eof;
            match item {
                Ok(SseItem::Event(event)) => event,
                other => panic!("unexpected {other:?}"),
            }
        })
        .collect();
    (events, flushed)
}

fn json(data: &str) -> Value {
    serde_json::from_str(data).unwrap_or_else(|e| panic!("{e}: {data}"))
}

#[test]
fn openai_streams_decode_and_end_with_done() {
    let Some(_fixtures) = steadfast_fixtures::require() else {
        return;
    };
    for path in openai() {
        let input = read(&path);
        let (events, flushed) = events_of(&input);
        let data_lines = input
            .split(|b| *b == b'\n')
            .filter(|l| l.starts_with(b"data:"));
        assert_eq!(events.len(), data_lines.count(), "{path:?}");
        assert!(!flushed, "{path:?} ends with a blank line");
        let (done, chunks) = events.split_last().unwrap();
        assert_eq!(done.data, "[DONE]", "{path:?}");
        for event in chunks {
            assert_eq!(event.event, None);
            assert_eq!(json(&event.data)["object"], "chat.completion.chunk");
        }
        // The final chunk before [DONE] carries usage and no choices.
        let usage = json(&chunks.last().unwrap().data);
        assert_eq!(usage["choices"], Value::Array(vec![]), "{path:?}");
        assert!(usage["usage"].is_object(), "{path:?}");
    }
}

#[test]
fn anthropic_streams_have_named_events_matching_their_type() {
    let Some(_fixtures) = steadfast_fixtures::require() else {
        return;
    };
    for path in anthropic() {
        let input = read(&path);
        let (events, flushed) = events_of(&input);
        let named = input
            .split(|b| *b == b'\n')
            .filter(|l| l.starts_with(b"event:"));
        assert_eq!(events.len(), named.count(), "{path:?}");
        assert_eq!(events[0].event.as_deref(), Some("message_start"));
        assert_eq!(
            events.last().unwrap().event.as_deref(),
            Some("message_stop")
        );
        for event in &events {
            assert_eq!(
                json(&event.data)["type"].as_str(),
                event.event.as_deref(),
                "{path:?}"
            );
        }
        // Several recorded bodies lack the last blank line: `finish` hands over message_stop.
        assert_eq!(flushed, !input.ends_with(b"\n\n"), "{path:?}");
    }
}

#[test]
fn anthropic_padding_inside_data_is_kept() {
    let Some(_fixtures) = steadfast_fixtures::require() else {
        return;
    };
    let input =
        read(&steadfast_fixtures::location().join("anthropic/streaming/tool_use_response.txt"));
    let (events, _) = events_of(&input);
    for event in &events {
        // serde_json accepts the trailing whitespace real streams pad the JSON with.
        json(&event.data);
    }
}

/// Gemini streams as the Gemini client reads them: data events, plus stray lines (bare JSON).
fn gemini_items(input: &[u8]) -> (Vec<Value>, Vec<String>) {
    let mut events = Vec::new();
    let mut strays = Vec::new();
    for (item, _) in decode_chunks(SseDecoder::new().keep_stray_lines(true), [input]) {
        match item.unwrap() {
            SseItem::Event(event) => {
                assert_eq!(event.event, None);
                events.push(json(&event.data));
            }
            SseItem::Stray(line) => strays.push(line),
            other => panic!("unexpected {other:?}"),
        }
    }
    (events, strays)
}

#[test]
fn gemini_streams_decode_with_crlf_and_lf() {
    let Some(_fixtures) = steadfast_fixtures::require() else {
        return;
    };
    let mut crlf_files = 0;
    for path in gemini() {
        let input = read(&path);
        crlf_files += usize::from(input.windows(2).any(|w| w == b"\r\n"));
        let (events, strays) = gemini_items(&input);
        let data_lines = input
            .split(|b| *b == b'\n')
            .filter(|l| l.starts_with(b"data:"));
        assert_eq!(events.len(), data_lines.count(), "{path:?}");
        if strays.is_empty() {
            assert!(!events.is_empty(), "{path:?}");
        } else {
            // Stray lines only ever hold a bare JSON error object.
            let error = json(&strays.join("\n"));
            assert!(error["error"]["code"].is_number(), "{path:?}");
        }
    }
    assert!(crlf_files > 10, "the CRLF fixtures are exercised");
}

#[test]
fn gemini_mid_stream_error_is_recoverable_from_stray_lines() {
    let Some(_fixtures) = steadfast_fixtures::require() else {
        return;
    };
    let path = steadfast_fixtures::location()
        .join("gemini/vertexai/streaming-failure-error-mid-stream.txt");
    let input = read(&path);
    let (events, strays) = gemini_items(&input);
    assert_eq!(events.len(), 2);
    assert_eq!(
        events[1]["candidates"][0]["content"]["parts"][0]["text"],
        "Second "
    );
    let error = json(&strays.join("\n"));
    assert_eq!(error["error"]["code"], 499);
    assert_eq!(error["error"]["status"], "CANCELLED");

    // Without the option the same stream yields just the two events, as the SSE rules say.
    let (plain, _) = events_of(&input);
    assert_eq!(plain.len(), 2);
}

#[test]
fn split_utf8_fixture_decodes_byte_wise() {
    let Some(_fixtures) = steadfast_fixtures::require() else {
        return;
    };
    let path = steadfast_fixtures::location().join("gemini/vertexai/streaming-success-utf8.txt");
    let input = read(&path);
    let whole = decode_chunks(SseDecoder::new(), [&input[..]]);
    let byte_wise = decode_chunks(SseDecoder::new(), input.chunks(1));
    assert_eq!(whole, byte_wise);
    assert!(whole.iter().any(|(item, _)| matches!(
        item,
        Ok(SseItem::Event(event)) if !event.data.is_ascii()
    )));
}

#[test]
fn every_fixture_decodes_the_same_byte_wise() {
    let Some(_fixtures) = steadfast_fixtures::require() else {
        return;
    };
    for path in openai().into_iter().chain(anthropic()).chain(gemini()) {
        let input = read(&path);
        for keep in [false, true] {
            let decoder = || SseDecoder::new().keep_stray_lines(keep);
            assert_eq!(
                decode_chunks(decoder(), [&input[..]]),
                decode_chunks(decoder(), input.chunks(1)),
                "{path:?}"
            );
        }
    }
}

/// Collects `(event type, data)` from the `eventsource-stream` crate, an independent decoder.
fn reference_events(input: &[u8]) -> Vec<(String, String)> {
    use eventsource_stream::Eventsource;
    use futures_core::Stream;

    let chunks = input.chunks(100).map(Ok::<_, std::convert::Infallible>);
    let mut stream = std::pin::pin!(futures_util::stream::iter(chunks).eventsource());
    let mut cx = Context::from_waker(Waker::noop());
    let mut out = Vec::new();
    loop {
        match stream.as_mut().poll_next(&mut cx) {
            Poll::Ready(Some(event)) => {
                let event = event.unwrap();
                out.push((event.event, event.data));
            }
            Poll::Ready(None) => return out,
            Poll::Pending => panic!("an in-memory stream is never pending"),
        }
    }
}

#[test]
fn fixtures_agree_with_the_reference_decoder() {
    let Some(_fixtures) = steadfast_fixtures::require() else {
        return;
    };
    for path in openai().into_iter().chain(anthropic()).chain(gemini()) {
        let mut input = read(&path);
        // eventsource-stream drops an event without its final blank line; ours hands it over in
        // `finish`. Compare complete streams.
        input.extend_from_slice(b"\n\n");
        let ours: Vec<_> = events_of(&input)
            .0
            .into_iter()
            .map(|event| (event.event_type().to_owned(), event.data))
            .collect();
        assert_eq!(ours, reference_events(&input), "{path:?}");
    }
}

#[test]
fn every_truncation_point_is_detected() {
    let Some(_fixtures) = steadfast_fixtures::require() else {
        return;
    };
    let path = &openai()[0];
    let input = read(path);
    let (full, _) = events_of(&input);
    for cut in 0..=input.len() {
        let prefix = &input[..cut];
        let mut decoder = SseDecoder::new();
        decoder.push(prefix);
        let mut got = Vec::new();
        while let Some(event) = decoder.next_event().unwrap() {
            got.push(event);
        }
        assert_eq!(got[..], full[..got.len()], "cut at {cut}");
        // The bytes after the last complete event; a proper prefix of "data" is an unknown field.
        let tail_start = prefix
            .windows(2)
            .rposition(|w| w == b"\n\n")
            .map_or(0, |i| i + 2);
        let tail = &prefix[tail_start..];
        let on_boundary = tail.is_empty() || (tail.len() < 4 && b"data".starts_with(tail));
        match decoder.finish().unwrap() {
            None => assert!(on_boundary, "cut at {cut}"),
            Some(partial) => {
                assert!(!on_boundary, "cut at {cut}");
                // What was cut off is a prefix of the event that was arriving.
                assert!(
                    full[got.len()].data.starts_with(&partial.data),
                    "cut at {cut}"
                );
            }
        }
        assert_eq!(decoder.finish(), Ok(None));
    }
}

#[test]
fn size_limit_drops_only_the_large_events() {
    let Some(_fixtures) = steadfast_fixtures::require() else {
        return;
    };
    let path = &openai()[0];
    let input = read(path);
    let (full, _) = events_of(&input);
    let limit = 400;
    let got = decode_chunks(SseDecoder::with_max_event_size(limit), input.chunks(7));
    assert_eq!(got.len(), full.len());
    for ((item, _), expected) in got.iter().zip(&full) {
        // Each event here is one "data: " line.
        if expected.data.len() + 6 > limit {
            assert!(matches!(
                item,
                Err(SseError::EventTooLarge { limit: 400, .. })
            ));
        } else {
            assert_eq!(item, &Ok(SseItem::Event(expected.clone())));
        }
    }
    assert!(got.iter().any(|(item, _)| item.is_err()));
    assert!(got.iter().any(|(item, _)| item.is_ok()));
}

/// Splits `input` at the given (unsorted, possibly repeated) points.
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

/// Fragments that make interesting SSE: field names, separators, comments, NUL, multi-byte and
/// invalid UTF-8, and a byte order mark.
fn fragment() -> impl Strategy<Value = &'static [u8]> {
    prop::sample::select(vec![
        &b"data"[..],
        b"data:",
        b"data: ",
        b"event: ",
        b"id: ",
        b"retry: ",
        b"12",
        b":",
        b": comment",
        b" ",
        b"x",
        b"{\"a\":1}",
        b"\0",
        "ж".as_bytes(),
        b"\xD0",
        b"\xB6",
        b"\xFF",
        b"\xEF\xBB\xBF",
        b"\n",
        b"\r",
        b"\r\n",
        b"\n\n",
    ])
}

fn arbitrary_stream() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(fragment(), 0..60).prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn fixture_chunking_does_not_matter(
        index in 0usize..1000,
        points in prop::collection::vec(any::<usize>(), 0..40),
    ) {
        let Some(_fixtures) = steadfast_fixtures::require() else { return Ok(()); };
        let files: Vec<_> = openai().into_iter().chain(anthropic()).chain(gemini()).collect();
        let input = read(&files[index % files.len()]);
        let chunks = split_at_points(&input, &points);
        let decoder = || SseDecoder::new().keep_stray_lines(true);
        prop_assert_eq!(
            decode_chunks(decoder(), chunks.iter().map(Vec::as_slice)),
            decode_chunks(decoder(), [&input[..]])
        );
    }

    #[test]
    fn arbitrary_input_chunking_does_not_matter(
        input in arbitrary_stream(),
        points in prop::collection::vec(any::<usize>(), 0..20),
        keep in any::<bool>(),
        limit in prop::sample::select(vec![4usize, 16, 64, usize::MAX]),
    ) {
        let chunks = split_at_points(&input, &points);
        let decoder = || SseDecoder::with_max_event_size(limit).keep_stray_lines(keep);
        prop_assert_eq!(
            decode_chunks(decoder(), chunks.iter().map(Vec::as_slice)),
            decode_chunks(decoder(), [&input[..]])
        );
        prop_assert_eq!(
            decode_chunks(decoder(), input.chunks(1)),
            decode_chunks(decoder(), [&input[..]])
        );
    }

    #[test]
    fn line_ending_style_does_not_matter(
        lines in prop::collection::vec(
            prop::collection::vec(fragment(), 0..4).prop_map(|parts| {
                let line: Vec<u8> = parts.concat();
                line.into_iter().filter(|b| *b != b'\r' && *b != b'\n').collect::<Vec<u8>>()
            }),
            0..30,
        ),
        points in prop::collection::vec(any::<usize>(), 0..10),
    ) {
        let with = |sep: &[u8]| -> Vec<u8> {
            let mut out = Vec::new();
            for line in &lines {
                out.extend_from_slice(line);
                out.extend_from_slice(sep);
            }
            out
        };
        let lf = with(b"\n");
        // Line numbers in errors are the same too, since the lines are.
        let expected = decode_chunks(SseDecoder::new().keep_stray_lines(true), [&lf[..]]);
        for sep in [&b"\r\n"[..], b"\r"] {
            let input = with(sep);
            let chunks = split_at_points(&input, &points);
            prop_assert_eq!(
                &decode_chunks(
                    SseDecoder::new().keep_stray_lines(true),
                    chunks.iter().map(Vec::as_slice)
                ),
                &expected
            );
        }
    }

    #[test]
    fn fixture_line_endings_can_be_converted(index in 0usize..1000, crlf in any::<bool>()) {
        let Some(_fixtures) = steadfast_fixtures::require() else { return Ok(()); };
        let files: Vec<_> = openai().into_iter().chain(anthropic()).collect();
        let input = read(&files[index % files.len()]);
        let sep: &[u8] = if crlf { b"\r\n" } else { b"\r" };
        let converted: Vec<u8> = input
            .split(|b| *b == b'\n')
            .collect::<Vec<_>>()
            .join(sep);
        prop_assert_eq!(events_of(&converted), events_of(&input));
    }
}
