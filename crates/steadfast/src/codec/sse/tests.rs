//! Unit tests of the SSE decoder's rules; the fixture and property tests are in
//! `tests/codec_sse.rs`.

use super::{SseDecoder, SseError, SseEvent, SseItem};

type Outcome = Vec<Result<SseItem, SseError>>;

/// Pushes each chunk, drains everything (errors included) after each, then finishes.
fn run(mut decoder: SseDecoder, chunks: &[&[u8]]) -> Outcome {
    let mut out = Vec::new();
    for chunk in chunks {
        decoder.push(chunk);
        while let Some(item) = decoder.next_item().transpose() {
            out.push(item);
        }
    }
    while let Some(item) = decoder.finish_item().transpose() {
        out.push(item);
    }
    out
}

fn events(input: &[u8]) -> Vec<SseEvent> {
    run(SseDecoder::new(), &[input])
        .into_iter()
        .map(|item| match item {
            Ok(SseItem::Event(event)) => event,
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}

fn ev(event: Option<&str>, data: &str) -> SseEvent {
    SseEvent {
        event: event.map(str::to_owned),
        data: data.to_owned(),
        id: None,
        retry: None,
    }
}

#[test]
fn named_events_and_data() {
    let got = events(b"event: a\ndata: 1\n\nevent: b\ndata: 2\n\n");
    assert_eq!(got, vec![ev(Some("a"), "1"), ev(Some("b"), "2")]);
}

#[test]
fn every_line_ending_is_accepted() {
    let expected = vec![ev(Some("x"), "1\n2"), ev(None, "3")];
    for sep in ["\n", "\r\n", "\r"] {
        let input = format!("event: x{sep}data: 1{sep}data: 2{sep}{sep}data: 3{sep}{sep}");
        assert_eq!(events(input.as_bytes()), expected, "separator {sep:?}");
    }
    // Mixed endings in one stream.
    assert_eq!(
        events(b"event: x\r\ndata: 1\rdata: 2\n\r\ndata: 3\r\r"),
        expected
    );
}

#[test]
fn crlf_split_between_chunks_is_one_line_ending() {
    let got = run(
        SseDecoder::new(),
        &[b"data: 1\r", b"\n", b"\r", b"\ndata: 2\r", b"\r\n"],
    );
    assert_eq!(
        got,
        vec![
            Ok(SseItem::Event(ev(None, "1"))),
            Ok(SseItem::Event(ev(None, "2")))
        ]
    );
}

#[test]
fn event_is_available_as_soon_as_its_cr_arrives() {
    let mut decoder = SseDecoder::new();
    decoder.push(b"data: 1\r\r");
    assert_eq!(decoder.next_event(), Ok(Some(ev(None, "1"))));
}

#[test]
fn only_one_leading_space_is_stripped() {
    let got = events(b"data:no space\n\ndata:  two spaces\n\ndata:\ttab\n\n");
    assert_eq!(
        got,
        vec![
            ev(None, "no space"),
            ev(None, " two spaces"),
            ev(None, "\ttab")
        ]
    );
}

#[test]
fn comments_blank_lines_and_unknown_fields_are_ignored() {
    let got = events(b": keep-alive\n\n\n\nfoo: bar\nbaz\ndata: x\n: inside\n\n:\n\n");
    assert_eq!(got, vec![ev(None, "x")]);
}

#[test]
fn empty_data_lines_are_kept() {
    assert_eq!(events(b"data\n\n"), vec![ev(None, "")]);
    assert_eq!(events(b"data:\ndata:\n\n"), vec![ev(None, "\n")]);
    assert_eq!(events(b"data: a\ndata:\n\n"), vec![ev(None, "a\n")]);
}

#[test]
fn colon_in_value_is_kept() {
    assert_eq!(events(b"data: a: b:c\n\n"), vec![ev(None, "a: b:c")]);
}

#[test]
fn event_only_and_padding_are_emitted_as_sent() {
    assert_eq!(events(b"event: ping\n\n"), vec![ev(Some("ping"), "")]);
    assert_eq!(
        events(b"data: {\"a\":1}          \n\n"),
        vec![ev(None, "{\"a\":1}          ")]
    );
}

#[test]
fn empty_event_name_means_default_type() {
    let got = events(b"event: a\nevent:\ndata: x\n\n");
    assert_eq!(got, vec![ev(None, "x")]);
    assert_eq!(got[0].event_type(), "message");
    // An empty `event` alone is not worth emitting.
    assert_eq!(events(b"event:\n\n"), vec![]);
}

#[test]
fn ids_carry_over_and_nul_ids_are_ignored() {
    let got = events(b"id: 1\ndata: a\n\ndata: b\n\nid: 2\0\ndata: c\n\nid\ndata: d\n\n");
    let ids: Vec<_> = got.iter().map(|e| e.id.as_deref()).collect();
    assert_eq!(ids, vec![Some("1"), Some("1"), Some("1"), None]);
    assert_eq!(events(b"id: 7\n\n")[0].id.as_deref(), Some("7"));
    // An id with NUL alone is not worth emitting.
    assert_eq!(events(b"id: \0\n\n"), vec![]);
}

#[test]
fn decoder_reports_last_event_id() {
    let mut decoder = SseDecoder::new();
    decoder.push(b"id: abc\ndata: 1\n\n");
    assert!(decoder.next_event().unwrap().is_some());
    assert_eq!(decoder.last_event_id(), Some("abc"));
}

#[test]
fn retry_must_be_ascii_digits() {
    let got = events(b"retry: 1500\ndata: a\n\nretry: 1.5\ndata: b\n\nretry: -1\n\nretry: 99999999999999999999\n\nretry: +3\n\n");
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].retry, Some(1500));
    assert_eq!(got[1].retry, None);
    assert_eq!(events(b"retry: 0\n\n")[0].retry, Some(0));
}

#[test]
fn byte_order_mark_is_skipped_only_at_start() {
    let got = run(SseDecoder::new(), &[b"\xEF", b"\xBB", b"\xBFdata: 1\n\n"]);
    assert_eq!(got, vec![Ok(SseItem::Event(ev(None, "1")))]);
    // Later in the stream it is part of the field name, so the line is an unknown field.
    assert_eq!(
        events(b"data: 1\n\n\xEF\xBB\xBFdata: 2\n\n"),
        vec![ev(None, "1")]
    );
    // A lone prefix of a BOM is not one.
    assert_eq!(run(SseDecoder::new(), &[b"\xEF"]), vec![]);
    assert_eq!(
        run(SseDecoder::new().keep_stray_lines(true), &[b"\xEF\xBB"]),
        vec![Err(SseError::InvalidUtf8 { line: 1 })]
    );
}

#[test]
fn utf8_split_across_chunks_byte_wise() {
    let input = "data: известни\n\n".as_bytes();
    let chunks: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(
        run(SseDecoder::new(), &chunks),
        vec![Ok(SseItem::Event(ev(None, "известни")))]
    );
}

#[test]
fn invalid_utf8_is_an_error_and_the_event_is_skipped() {
    let got = run(
        SseDecoder::new(),
        &[b"data: ok\n\ndata: \xFF\xFE\ndata: rest of bad event\n\ndata: after\n\n"],
    );
    assert_eq!(
        got,
        vec![
            Ok(SseItem::Event(ev(None, "ok"))),
            Err(SseError::InvalidUtf8 { line: 3 }),
            Ok(SseItem::Event(ev(None, "after"))),
        ]
    );
    // Bytes in comments and unknown fields are never decoded.
    assert_eq!(events(b": \xFF\n\xFF: x\ndata: y\n\n"), vec![ev(None, "y")]);
}

#[test]
fn oversized_event_is_rejected_and_skipped() {
    let decoder = SseDecoder::with_max_event_size(16);
    let got = run(
        decoder,
        &[b"data: 0123456789\ndata: 0123456789\n\ndata: small\n\n"],
    );
    assert_eq!(
        got,
        vec![
            Err(SseError::EventTooLarge { limit: 16, line: 2 }),
            Ok(SseItem::Event(ev(None, "small"))),
        ]
    );
}

#[test]
fn oversized_partial_line_is_rejected_without_buffering() {
    let mut decoder = SseDecoder::with_max_event_size(16);
    decoder.push(b"data: 0123456789");
    assert_eq!(decoder.next_event(), Ok(None));
    decoder.push(b"abcdef");
    assert_eq!(
        decoder.next_event(),
        Err(SseError::EventTooLarge { limit: 16, line: 1 })
    );
    assert_eq!(decoder.buffered_len(), 0);
    // The rest of the line and of its event keep being dropped, without buffering.
    for _ in 0..100 {
        decoder.push(b"xxxxxxxxxxxxxxxxxxxxxxxx");
        assert_eq!(decoder.next_event(), Ok(None));
        assert_eq!(decoder.buffered_len(), 0);
    }
    decoder.push(b"\ndata: more of the dropped event\n\ndata: next\n\n");
    assert_eq!(decoder.next_event(), Ok(Some(ev(None, "next"))));
    assert_eq!(decoder.finish(), Ok(None));
}

#[test]
fn oversized_comment_is_rejected() {
    let got = run(
        SseDecoder::with_max_event_size(8),
        &[b": 1234567\n\ndata: ok\n\n"],
    );
    assert_eq!(
        got,
        vec![
            Err(SseError::EventTooLarge { limit: 8, line: 1 }),
            Ok(SseItem::Event(ev(None, "ok"))),
        ]
    );
}

#[test]
fn limit_counts_an_event_exactly() {
    // "data: 12" is 8 bytes: exactly at the limit is fine.
    assert_eq!(
        run(SseDecoder::with_max_event_size(8), &[b"data: 12\n\n"]),
        vec![Ok(SseItem::Event(ev(None, "12")))]
    );
    assert_eq!(
        run(SseDecoder::with_max_event_size(7), &[b"data: 12\n\n"]),
        vec![Err(SseError::EventTooLarge { limit: 7, line: 1 })]
    );
}

#[test]
fn finish_reports_clean_end() {
    let mut decoder = SseDecoder::new();
    decoder.push(b"data: 1\n\n");
    assert!(decoder.next_event().unwrap().is_some());
    assert_eq!(decoder.finish(), Ok(None));
    assert_eq!(decoder.finish(), Ok(None));
    // An empty stream ends cleanly too, as does one that ends in comments.
    assert_eq!(SseDecoder::new().finish(), Ok(None));
    let mut decoder = SseDecoder::new();
    decoder.push(b": ping\n");
    assert_eq!(decoder.finish(), Ok(None));
}

#[test]
fn finish_returns_event_missing_its_blank_line() {
    let mut decoder = SseDecoder::new();
    decoder.push(b"event: message_stop\ndata: {}\n");
    assert_eq!(decoder.next_event(), Ok(None));
    assert_eq!(decoder.finish(), Ok(Some(ev(Some("message_stop"), "{}"))));
    assert_eq!(decoder.finish(), Ok(None));
}

#[test]
fn finish_decodes_unterminated_last_line() {
    let mut decoder = SseDecoder::new();
    decoder.push(b"data: {\"type\":\"content_blo");
    assert_eq!(decoder.next_event(), Ok(None));
    assert_eq!(
        decoder.finish(),
        Ok(Some(ev(None, "{\"type\":\"content_blo")))
    );
}

#[test]
fn finish_returns_buffered_events_first() {
    let mut decoder = SseDecoder::new();
    decoder.push(b"data: 1\n\ndata: 2\n\ndata: 3");
    assert_eq!(decoder.finish(), Ok(Some(ev(None, "1"))));
    assert_eq!(decoder.finish(), Ok(Some(ev(None, "2"))));
    assert_eq!(decoder.finish(), Ok(Some(ev(None, "3"))));
    assert_eq!(decoder.finish(), Ok(None));
}

#[test]
fn push_after_finish_resumes() {
    let mut decoder = SseDecoder::new();
    decoder.push(b"data: 1\r");
    assert_eq!(decoder.finish(), Ok(Some(ev(None, "1"))));
    decoder.push(b"\ndata: 2\n\n");
    assert_eq!(decoder.next_event(), Ok(Some(ev(None, "2"))));
}

#[test]
fn stray_lines_are_ignored_by_default() {
    let input = b"data: a\n\n{\n  \"error\": {\n    \"code\": 499\n  }\n}\n";
    assert_eq!(events(input), vec![ev(None, "a")]);
}

#[test]
fn stray_lines_are_reported_in_order_when_kept() {
    let input = b"data: a\n\n{\n  \"error\": {\n    \"code\": 499\n  }\n}";
    let got = run(SseDecoder::new().keep_stray_lines(true), &[input]);
    let stray = |s: &str| Ok(SseItem::Stray(s.to_owned()));
    assert_eq!(
        got,
        vec![
            Ok(SseItem::Event(ev(None, "a"))),
            stray("{"),
            stray("  \"error\": {"),
            stray("    \"code\": 499"),
            stray("  }"),
            stray("}"),
        ]
    );
}

#[test]
fn stray_lines_do_not_disturb_the_event_around_them() {
    let got = run(
        SseDecoder::new().keep_stray_lines(true),
        &[b"data: 1\nnot a field\ndata: 2\n\n"],
    );
    assert_eq!(
        got,
        vec![
            Ok(SseItem::Stray("not a field".to_owned())),
            Ok(SseItem::Event(ev(None, "1\n2"))),
        ]
    );
    // `next_event` skips them.
    let mut decoder = SseDecoder::new().keep_stray_lines(true);
    decoder.push(b"stray\ndata: x\n\n");
    assert_eq!(decoder.next_event(), Ok(Some(ev(None, "x"))));
}

#[test]
fn invalid_utf8_stray_is_an_error() {
    let got = run(
        SseDecoder::new().keep_stray_lines(true),
        &[b"{\xFF\n\ndata: x\n\n"],
    );
    assert_eq!(
        got,
        vec![
            Err(SseError::InvalidUtf8 { line: 1 }),
            Ok(SseItem::Event(ev(None, "x")))
        ]
    );
}

#[test]
fn buffer_is_compacted_as_it_is_consumed() {
    let mut decoder = SseDecoder::new();
    for _ in 0..10_000 {
        decoder.push(b"data: 0123456789\n\ndata: partial");
        while decoder.next_event().unwrap().is_some() {}
        decoder.push(b"\n\n");
        assert!(decoder.next_event().unwrap().is_some());
        assert_eq!(decoder.buffered_len(), 0);
    }
}

#[test]
fn parse_retry_edges() {
    use super::decoder::parse_retry as parse;
    assert_eq!(parse(b""), None);
    assert_eq!(parse(b"18446744073709551615"), Some(u64::MAX));
    assert_eq!(parse(b"18446744073709551616"), None);
    assert_eq!(parse(b"1 "), None);
}
