//! ConverseStream bodies through the Bedrock [`BodyDecoder`].

use std::collections::VecDeque;

use serde_json::{Value, json};

use super::super::convert::request_body;
use super::super::stream::ConverseStream;
use super::fixtures_dir;
use crate::codec::eventstream::{Header, HeaderValue, encode_message};
use crate::error::{Error, ErrorKind};
use crate::message::{Message, OtherPart, Part, Reasoning};
use crate::provider::ProviderEvent;
use crate::response::{Citation, FinishReason, Usage};
use crate::transport::BodyDecoder;

fn frame(headers: Vec<(&'static str, String)>, payload: &[u8]) -> Vec<u8> {
    let headers: Vec<Header> = headers
        .into_iter()
        .map(|(k, v)| Header::new(k, HeaderValue::from(v)))
        .collect();
    encode_message(&headers, payload).unwrap()
}

fn event(name: &str, mut payload: Value) -> Vec<u8> {
    // The real service pads payloads with a `p` field of random length.
    payload["p"] = json!("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ");
    frame(
        vec![
            (":event-type", name.to_string()),
            (":content-type", "application/json".into()),
            (":message-type", "event".into()),
        ],
        payload.to_string().as_bytes(),
    )
}

fn exception_frame(member: &str, payload: Value) -> Vec<u8> {
    frame(
        vec![
            (":exception-type", member.to_string()),
            (":content-type", "application/json".into()),
            (":message-type", "exception".into()),
        ],
        payload.to_string().as_bytes(),
    )
}

/// Decodes `body` fed in chunks of `size` bytes: the events, and the error if any.
fn decode(body: &[u8], size: usize) -> (Vec<ProviderEvent>, Option<Error>) {
    let mut d = ConverseStream::default();
    let mut out = VecDeque::new();
    for chunk in body.chunks(size.max(1)) {
        if let Err(e) = d.push(chunk, &mut out) {
            return (out.into(), Some(e));
        }
        if d.finished() {
            break;
        }
    }
    let err = d.finish(&mut out).err();
    (out.into(), err)
}

fn tool_stream() -> Vec<u8> {
    [
        event("messageStart", json!({"role": "assistant"})),
        event("contentBlockDelta", json!({"contentBlockIndex": 0, "delta": {"text": "Let me "}})),
        event("contentBlockDelta", json!({"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "hidden"}}})),
        event("contentBlockDelta", json!({"contentBlockIndex": 0, "delta": {"text": "check."}})),
        event("contentBlockStop", json!({"contentBlockIndex": 0})),
        event("contentBlockStart", json!({"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "tooluse_a", "name": "get_weather"}}})),
        event("contentBlockDelta", json!({"contentBlockIndex": 1, "delta": {"toolUse": {"input": "{\"city\": \"Pa"}}})),
        event("contentBlockDelta", json!({"contentBlockIndex": 1, "delta": {"toolUse": {"input": "ris\"}"}}})),
        event("contentBlockStop", json!({"contentBlockIndex": 1})),
        event("someFutureEvent", json!({"x": 1})),
        event("messageStop", json!({"stopReason": "tool_use"})),
        event("metadata", json!({"usage": {"inputTokens": 30, "outputTokens": 12, "totalTokens": 42}, "metrics": {"latencyMs": 810}})),
    ]
    .concat()
}

fn expected_tool_events() -> Vec<ProviderEvent> {
    vec![
        ProviderEvent::Text("Let me ".into()),
        ProviderEvent::Reasoning("hidden".into()),
        ProviderEvent::Text("check.".into()),
        ProviderEvent::ReasoningEnd,
        ProviderEvent::ToolCallStart {
            index: 1,
            id: "tooluse_a".into(),
            name: "get_weather".into(),
        },
        ProviderEvent::ToolCallDelta {
            index: 1,
            arguments: "{\"city\": \"Pa".into(),
        },
        ProviderEvent::ToolCallDelta {
            index: 1,
            arguments: "ris\"}".into(),
        },
        ProviderEvent::ToolCallEnd { index: 1 },
        ProviderEvent::Finish {
            reason: FinishReason::ToolCalls,
            raw: Some("tool_use".into()),
        },
        ProviderEvent::Usage(Usage::new(30, 12)),
    ]
}

#[test]
fn frames_straddling_reads_decode_the_same_at_every_chunk_size() {
    let body = tool_stream();
    for size in (1..64).chain([body.len()]) {
        let (events, err) = decode(&body, size);
        assert!(err.is_none(), "chunk size {size}: {err:?}");
        assert_eq!(events, expected_tool_events(), "chunk size {size}");
    }
}

#[test]
fn nothing_after_metadata_is_read() {
    let mut body = tool_stream();
    body.extend_from_slice(b"garbage that is not a frame");
    let (events, err) = decode(&body, body.len());
    assert!(err.is_none(), "{err:?}");
    assert_eq!(events.len(), expected_tool_events().len());
}

#[test]
fn a_corrupt_frame_is_a_decode_error_after_the_events_before_it() {
    let mut bad = event(
        "contentBlockDelta",
        json!({"contentBlockIndex": 0, "delta": {"text": "x"}}),
    );
    let last = bad.len() - 1;
    bad[last] ^= 0xFF;
    let body = [
        event(
            "contentBlockDelta",
            json!({"contentBlockIndex": 0, "delta": {"text": "ok"}}),
        ),
        bad,
    ]
    .concat();
    for size in [1, 7, body.len()] {
        let (events, err) = decode(&body, size);
        assert_eq!(events, [ProviderEvent::Text("ok".into())]);
        let err = err.unwrap();
        assert_eq!(err.kind(), ErrorKind::Decode, "{err}");
        assert!(std::error::Error::source(&err).is_some());
    }
}

#[test]
fn truncated_bodies_are_interrupted() {
    let body = tool_stream();
    // Cut inside a frame.
    let (_, err) = decode(&body[..body.len() - 5], 10);
    let err = err.unwrap();
    assert_eq!(err.kind(), ErrorKind::StreamInterrupted);
    assert!(err.message().contains("inside"), "{err}");
    // Cut between frames, before messageStop.
    let upto = [
        event("messageStart", json!({"role": "assistant"})),
        event(
            "contentBlockDelta",
            json!({"contentBlockIndex": 0, "delta": {"text": "a"}}),
        ),
    ]
    .concat();
    let (events, err) = decode(&upto, 3);
    assert_eq!(events, [ProviderEvent::Text("a".into())]);
    assert_eq!(err.unwrap().kind(), ErrorKind::StreamInterrupted);
    // messageStop without metadata.
    let no_meta = [
        upto,
        event("messageStop", json!({"stopReason": "end_turn"})),
    ]
    .concat();
    let (_, err) = decode(&no_meta, 1000);
    let err = err.unwrap();
    assert_eq!(err.kind(), ErrorKind::StreamInterrupted);
    assert!(err.message().contains("metadata"), "{err}");
    // An empty body.
    assert_eq!(
        decode(b"", 1).1.unwrap().kind(),
        ErrorKind::StreamInterrupted
    );
}

#[test]
fn exception_frames_are_classified() {
    for (member, want) in [
        ("throttlingException", ErrorKind::RateLimited),
        ("serviceUnavailableException", ErrorKind::Overloaded),
        ("internalServerException", ErrorKind::Server),
        ("modelStreamErrorException", ErrorKind::Server),
        ("validationException", ErrorKind::InvalidRequest),
    ] {
        let body = [
            event(
                "contentBlockDelta",
                json!({"contentBlockIndex": 0, "delta": {"text": "a"}}),
            ),
            exception_frame(
                member,
                json!({"message": "it failed", "originalStatusCode": 500}),
            ),
        ]
        .concat();
        let (events, err) = decode(&body, 5);
        assert_eq!(events, [ProviderEvent::Text("a".into())]);
        let err = err.unwrap();
        assert_eq!(err.kind(), want, "{member}");
        assert_eq!(err.code(), Some(member));
        assert_eq!(err.message(), "it failed");
    }
}

#[test]
fn generic_error_frames_are_classified() {
    let body = frame(
        vec![
            (":message-type", "error".into()),
            (":error-code", "ThrottlingException".into()),
            (":error-message", "Rate exceeded".into()),
        ],
        b"",
    );
    let err = decode(&body, 4).1.unwrap();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(err.message(), "Rate exceeded");
}

#[test]
fn protocol_violations_are_decode_errors() {
    let bad_json = frame(
        vec![
            (":message-type", "event".into()),
            (":event-type", "contentBlockDelta".into()),
        ],
        b"{not json",
    );
    let orphan_input = event(
        "contentBlockDelta",
        json!({"contentBlockIndex": 4, "delta": {"toolUse": {"input": "{}"}}}),
    );
    let no_type = frame(vec![(":event-type", "metadata".into())], b"{}");
    for body in [bad_json, orphan_input, no_type] {
        assert_eq!(decode(&body, 3).1.unwrap().kind(), ErrorKind::Decode);
    }
}

#[test]
fn invalid_fixture_frames_fail_to_decode() {
    let Some(_fixtures) = steadfast_fixtures::require() else {
        return;
    };
    let dir = format!("{}eventstream_test_data/", fixtures_dir());
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("invalid_") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let (events, err) = decode(&bytes, 3);
        assert!(events.is_empty(), "{name}");
        let err = err.unwrap_or_else(|| panic!("{name} decoded"));
        assert!(
            matches!(err.kind(), ErrorKind::Decode | ErrorKind::StreamInterrupted),
            "{name}: {err}"
        );
        seen += 1;
    }
    assert_eq!(seen, 8);
}

/// Reasoning with its signature, redacted reasoning, a cited text, a server tool's call and
/// result, blocks and deltas of kinds added later, an unknown event and an unknown frame type.
fn rich_stream() -> Vec<u8> {
    let delta = |index: usize, delta: Value| {
        event(
            "contentBlockDelta",
            json!({"contentBlockIndex": index, "delta": delta}),
        )
    };
    let start = |index: usize, start: Value| {
        event(
            "contentBlockStart",
            json!({"contentBlockIndex": index, "start": start}),
        )
    };
    let stop = |index: usize| event("contentBlockStop", json!({"contentBlockIndex": index}));
    [
        event("messageStart", json!({"role": "assistant"})),
        delta(0, json!({"reasoningContent": {"text": "Let me"}})),
        delta(0, json!({"reasoningContent": {"text": " think."}})),
        delta(0, json!({"reasoningContent": {"signature": "EqoBCkgI"}})),
        delta(0, json!({"reasoningContent": {"somethingNew": 1}})),
        stop(0),
        delta(1, json!({"reasoningContent": {"redactedContent": "cmVk"}})),
        delta(1, json!({"reasoningContent": {"redactedContent": "YWN0ZWQ="}})),
        stop(1),
        delta(2, json!({"text": "Paris"})),
        delta(
            2,
            json!({"citation": {"title": "Paris facts", "sourceContent": [{"text": "capital of France"}],
                "location": {"documentChar": {"documentIndex": 0, "start": 0, "end": 17}}}}),
        ),
        delta(2, json!({"text": " is the capital."})),
        stop(2),
        start(
            3,
            json!({"toolUse": {"toolUseId": "srv_1", "name": "web_search", "type": "server_tool_use"}}),
        ),
        delta(3, json!({"toolUse": {"input": "{\"q\": "}})),
        delta(3, json!({"toolUse": {"input": "\"paris\"}"}})),
        stop(3),
        start(
            4,
            json!({"toolResult": {"toolUseId": "srv_1", "type": "web_search_result", "status": "success"}}),
        ),
        delta(4, json!({"toolResult": [{"text": "Paris, "}]})),
        delta(4, json!({"toolResult": [{"text": "France"}]})),
        delta(4, json!({"toolResult": [{"json": {"rank": 1}}]})),
        stop(4),
        delta(5, json!({"somethingNew": {"a": "x", "n": [1]}})),
        delta(5, json!({"somethingNew": {"a": "y", "n": [2]}})),
        stop(5),
        event("someFutureEvent", json!({"x": 1})),
        frame(
            vec![(":message-type", "somethingElse".into())],
            b"{\"y\": 2}",
        ),
        delta(6, json!({"text": "!"})),
        delta(6, json!({"futureMember": {"z": 1}})),
        stop(6),
        event(
            "messageStop",
            json!({"stopReason": "end_turn", "additionalModelResponseFields": {"stop_sequence": null}}),
        ),
        event("metadata", json!({"usage": {"inputTokens": 5, "outputTokens": 9}})),
    ]
    .concat()
}

fn other(kind: &str, raw: Value) -> ProviderEvent {
    ProviderEvent::Part(Part::Other(OtherPart::new("bedrock", kind, raw)))
}

fn server_tool_call() -> Value {
    json!({"toolUse": {"toolUseId": "srv_1", "name": "web_search", "type": "server_tool_use", "input": {"q": "paris"}}})
}

fn server_tool_result() -> Value {
    json!({"toolResult": {"toolUseId": "srv_1", "type": "web_search_result", "status": "success",
        "content": [{"text": "Paris, France"}, {"json": {"rank": 1}}]}})
}

#[test]
fn reasoning_citations_and_new_blocks_are_kept_and_nothing_new_fails() {
    let body = rich_stream();
    let cited = json!({"title": "Paris facts", "sourceContent": [{"text": "capital of France"}],
        "location": {"documentChar": {"documentIndex": 0, "start": 0, "end": 17}}});
    let want = vec![
        ProviderEvent::Reasoning("Let me".into()),
        ProviderEvent::Reasoning(" think.".into()),
        ProviderEvent::ReasoningSignature("EqoBCkgI".into()),
        ProviderEvent::ReasoningEnd,
        ProviderEvent::Part(Part::Reasoning(Reasoning::redacted(
            "bedrock",
            "cmVkYWN0ZWQ=",
        ))),
        ProviderEvent::ReasoningEnd,
        ProviderEvent::Text("Paris".into()),
        ProviderEvent::Citation(Citation {
            kind: "documentChar".into(),
            url: None,
            title: Some("Paris facts".into()),
            cited_text: Some("capital of France".into()),
            raw: cited,
        }),
        ProviderEvent::Text(" is the capital.".into()),
        other("toolUse", server_tool_call()),
        other("toolResult", server_tool_result()),
        other(
            "somethingNew",
            json!({"somethingNew": {"a": "xy", "n": [1, 2]}}),
        ),
        ProviderEvent::Text("!".into()),
        other("futureMember", json!({"futureMember": {"z": 1}})),
        ProviderEvent::FinishDetails(json!({"stop_sequence": null})),
        ProviderEvent::Finish {
            reason: FinishReason::Stop,
            raw: Some("end_turn".into()),
        },
        ProviderEvent::Usage(Usage::new(5, 9)),
    ];
    for size in [1, 7, 64, body.len()] {
        let (events, err) = decode(&body, size);
        assert!(err.is_none(), "chunk size {size}: {err:?}");
        assert_eq!(events, want, "chunk size {size}");
    }
}

#[test]
fn blocks_never_stopped_are_kept_at_message_stop() {
    let body = [
        event(
            "contentBlockDelta",
            json!({"contentBlockIndex": 0, "delta": {"reasoningContent": {"redactedContent": "eA=="}}}),
        ),
        event(
            "contentBlockStart",
            json!({"contentBlockIndex": 1, "start": {"image": {"format": "png"}}}),
        ),
        event(
            "contentBlockDelta",
            json!({"contentBlockIndex": 1, "delta": {"image": {"source": {"bytes": "iVBO"}}}}),
        ),
        event(
            "contentBlockDelta",
            json!({"contentBlockIndex": 1, "delta": {"image": {"source": {"bytes": "Rw0K"}}}}),
        ),
        event("messageStop", json!({"stopReason": "something_new"})),
        event("metadata", json!({})),
    ]
    .concat();
    let (events, err) = decode(&body, 5);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(
        events,
        vec![
            ProviderEvent::Part(Part::Reasoning(Reasoning::redacted("bedrock", "eA=="))),
            ProviderEvent::ReasoningEnd,
            other(
                "image",
                json!({"image": {"format": "png", "source": {"bytes": "iVBORw0K"}}})
            ),
            ProviderEvent::Finish {
                reason: FinishReason::other("something_new"),
                raw: Some("something_new".into()),
            },
        ]
    );
}

#[tokio::test]
async fn a_streamed_answer_goes_back_to_bedrock_as_it_came() {
    let call = crate::llm::call(("bedrock", "m"))
        .unwrap()
        .with_client(super::client());
    let r = call
        .decode_stream(rich_stream())
        .into_response()
        .await
        .unwrap();
    assert_eq!(r.text(), "Paris is the capital.!");
    assert_eq!(r.reasoning_text(), "Let me think.");
    let reasoning: Vec<(&str, Option<&str>, Option<&str>)> = r
        .reasoning()
        .map(|p| {
            (
                p.text.as_str(),
                p.signature.as_deref(),
                p.redacted.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        reasoning,
        [
            ("Let me think.", Some("EqoBCkgI"), None),
            ("", None, Some("cmVkYWN0ZWQ="))
        ]
    );
    assert_eq!(r.citations().len(), 1);
    assert_eq!(r.citations()[0].kind, "documentChar");
    let kinds: Vec<&str> = r.other_parts().map(|o| o.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["toolUse", "toolResult", "somethingNew", "futureMember"]
    );
    assert!(
        r.tool_calls().is_empty(),
        "a server tool is not the caller's"
    );
    assert_eq!(r.finish_details(), Some(&json!({"stop_sequence": null})));

    let req = super::request("m", vec![Message::user("q"), r.to_message()]);
    let body = serde_json::to_value(request_body(&req).unwrap()).unwrap();
    assert_eq!(
        body["messages"][1],
        json!({"role": "assistant", "content": [
            {"reasoningContent": {"reasoningText": {"text": "Let me think.", "signature": "EqoBCkgI"}}},
            {"reasoningContent": {"redactedContent": "cmVkYWN0ZWQ="}},
            {"text": "Paris is the capital."},
            server_tool_call(),
            server_tool_result(),
            {"somethingNew": {"a": "xy", "n": [1, 2]}},
            {"text": "!"},
            {"futureMember": {"z": 1}},
        ]})
    );
}
