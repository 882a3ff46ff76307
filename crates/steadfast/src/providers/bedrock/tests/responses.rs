//! Converse responses and the error classifier.

use std::time::Duration;

use http::{HeaderMap, HeaderValue};
use serde_json::json;

use super::super::convert::{finish_reason, parse_response};
use super::super::error::{classify, error_frame, exception};
use super::request;
use crate::error::ErrorKind;
use crate::message::Part;
use crate::response::FinishReason;

#[test]
fn response_with_text_and_tool_use() {
    // protocols.md §7.4.
    let body = json!({"output":{"message":{"role":"assistant","content":[{"text":"Checking."},
        {"reasoningContent":{"reasoningText":{"text":"hmm"}}},
        {"toolUse":{"toolUseId":"tooluse_kZJMlvQmRJ6eAyJE5GIl7Q","name":"get_weather","input":{"city":"Paris"}}}]}},
        "stopReason":"tool_use",
        "usage":{"inputTokens":30,"outputTokens":12,"totalTokens":42,"cacheReadInputTokens":0,"cacheWriteInputTokens":0},
        "metrics":{"latencyMs":345}});
    let r = parse_response(&request("m", "hi"), body.to_string().as_bytes()).unwrap();
    assert_eq!(r.text(), "Checking.");
    assert_eq!(r.finish_reason(), FinishReason::ToolCalls);
    assert_eq!(r.raw_finish_reason(), Some("tool_use"));
    let u = r.usage().unwrap();
    assert_eq!((u.input_tokens, u.output_tokens), (30, 12));
    assert_eq!(r.tool_calls().len(), 1);
    let c = &r.tool_calls()[0];
    assert_eq!(c.id, "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q");
    assert_eq!(c.name, "get_weather");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&c.arguments).unwrap(),
        json!({"city": "Paris"})
    );
    assert_eq!(r.provider(), "bedrock");
}

/// An answer with everything Converse can hold besides text and tool calls, and kinds added
/// later.
pub(super) fn rich_answer() -> serde_json::Value {
    json!({"output": {"message": {"role": "assistant", "content": [
            {"reasoningContent": {"reasoningText": {"text": "Let me think.", "signature": "EqoBCkgI"}}},
            {"reasoningContent": {"redactedContent": "cmVkYWN0ZWQ="}},
            {"text": "Paris is the capital."},
            {"citationsContent": {
                "content": [{"text": " It has 2.1M people."}],
                "citations": [
                    {"title": "Paris facts", "source": "doc-0",
                     "sourceContent": [{"text": "2.1 million"}, {"text": " inhabitants"}],
                     "location": {"documentChar": {"documentIndex": 0, "start": 0, "end": 40}}},
                    {"title": "Paris", "location": {"web": {"url": "https://example.com/paris", "domain": "example.com"}}},
                    {"somethingNew": true},
                ]}},
            {"toolUse": {"toolUseId": "srv_1", "name": "web_search", "type": "server_tool_use", "input": {"q": "paris"}}},
            {"toolResult": {"toolUseId": "srv_1", "type": "web_search_result", "content": [{"text": "Paris, France"}]}},
            {"somethingNew": {"x": [1]}},
            {"reasoningContent": {"somethingElse": {}}},
            {},
            {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {"city": "Paris"}}},
        ]}},
        "stopReason": "some_new_reason",
        "usage": {"inputTokens": 3, "outputTokens": 4, "totalTokens": 7},
        "metrics": {"latencyMs": 1},
        "additionalModelResponseFields": {"stop_sequence": null},
        "somethingTopLevel": {"a": 1}})
}

#[test]
fn reasoning_citations_and_unknown_blocks_are_kept() {
    let body = rich_answer();
    let r = parse_response(&request("m", "hi"), body.to_string().as_bytes()).unwrap();
    assert_eq!(r.text(), "Paris is the capital. It has 2.1M people.");
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
    assert!(r.reasoning().all(|p| p.provider == "bedrock"));
    let c = r.citations();
    let kinds: Vec<&str> = c.iter().map(|c| c.kind.as_str()).collect();
    assert_eq!(kinds, ["documentChar", "web", "citation"]);
    assert_eq!(c[0].cited_text.as_deref(), Some("2.1 million inhabitants"));
    assert_eq!(c[0].title.as_deref(), Some("Paris facts"));
    assert_eq!(c[0].raw["source"], "doc-0");
    assert_eq!(c[1].url.as_deref(), Some("https://example.com/paris"));
    let content = &body["output"]["message"]["content"];
    let others: Vec<(&str, &serde_json::Value)> =
        r.other_parts().map(|o| (o.kind.as_str(), &o.raw)).collect();
    assert_eq!(
        others,
        [
            ("toolUse", &content[4]),
            ("toolResult", &content[5]),
            ("somethingNew", &content[6]),
            ("reasoningContent", &content[7]),
        ]
    );
    // Only the caller's tool is a tool call.
    assert_eq!(r.tool_calls().len(), 1);
    assert_eq!(r.tool_calls()[0].id, "tooluse_1");
    assert_eq!(r.finish_reason(), FinishReason::other("some_new_reason"));
    assert_eq!(r.finish_details(), Some(&json!({"stop_sequence": null})));
    assert!(matches!(
        r.parts().as_slice(),
        [
            Part::Reasoning(_),
            Part::Reasoning(_),
            Part::Text { .. },
            Part::Other(_),
            Part::Other(_),
            Part::Other(_),
            Part::Other(_),
            Part::ToolCall(_)
        ]
    ));
    // A client tool call without its id is still an error.
    let bad =
        json!({"output": {"message": {"content": [{"toolUse": {"name": "x", "input": {}}}]}}});
    let e = parse_response(&request("m", "hi"), bad.to_string().as_bytes()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode);
}

#[test]
fn malformed_response_is_a_decode_error() {
    let e = parse_response(&request("m", "hi"), b"{\"output\": 3").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode);
}

#[test]
fn stop_reasons() {
    for (raw, want) in [
        ("end_turn", FinishReason::Stop),
        ("tool_use", FinishReason::ToolCalls),
        ("max_tokens", FinishReason::Length),
        ("stop_sequence", FinishReason::StopSequence),
        ("guardrail_intervened", FinishReason::ContentFilter),
        ("content_filtered", FinishReason::ContentFilter),
        (
            "malformed_model_output",
            FinishReason::other("malformed_model_output"),
        ),
        (
            "malformed_tool_use",
            FinishReason::other("malformed_tool_use"),
        ),
        ("model_context_window_exceeded", FinishReason::Length),
        ("something_new", FinishReason::other("something_new")),
    ] {
        assert_eq!(finish_reason(raw), want, "{raw}");
    }
}

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.insert(*k, HeaderValue::from_str(v).unwrap());
    }
    h
}

fn kind(status: u16, code: &str, message: &str) -> ErrorKind {
    let h = headers(&[(
        "x-amzn-errortype",
        &format!("{code}:http://internal.amazon.com/coral/com.amazon.bedrock/"),
    )]);
    let e = classify(
        status,
        &h,
        json!({ "message": message }).to_string().as_bytes(),
    );
    assert_eq!(e.code(), Some(code));
    assert_eq!(e.message(), message);
    e.kind()
}

#[test]
fn http_error_table() {
    use ErrorKind::*;
    for (status, code, message, want) in [
        (
            429,
            "ThrottlingException",
            "Too many requests, please wait before trying again.",
            RateLimited,
        ),
        (
            503,
            "ServiceUnavailableException",
            "Bedrock is unable to process your request.",
            Overloaded,
        ),
        (
            429,
            "ModelNotReadyException",
            "Model is not ready",
            Overloaded,
        ),
        (500, "InternalServerException", "oops", Server),
        (408, "ModelTimeoutException", "Model has timed out", Timeout),
        (
            403,
            "AccessDeniedException",
            "You don't have access",
            PermissionDenied,
        ),
        (
            403,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
            Auth,
        ),
        (
            403,
            "InvalidSignatureException",
            "The request signature we calculated does not match",
            Auth,
        ),
        (
            403,
            "ExpiredTokenException",
            "The security token included in the request is expired",
            Auth,
        ),
        (
            404,
            "ResourceNotFoundException",
            "Could not resolve the foundation model",
            NotFound,
        ),
        (
            400,
            "ValidationException",
            "Malformed input request, please reformat your input and try again.",
            InvalidRequest,
        ),
        (
            400,
            "ValidationException",
            "Input is too long for requested model.",
            ContextWindowExceeded,
        ),
        (
            400,
            "ValidationException",
            "prompt is too long: 210000 tokens > 200000 maximum",
            ContextWindowExceeded,
        ),
        (
            400,
            "ValidationException",
            "The request was blocked by the content filter.",
            ContentFiltered,
        ),
        (
            424,
            "ModelErrorException",
            "The model returned an error",
            Server,
        ),
        (
            400,
            "ServiceQuotaExceededException",
            "Your request exceeds the service quota",
            QuotaExhausted,
        ),
        (400, "ConflictException", "conflict", InvalidRequest),
        (418, "SomethingNewException", "x", InvalidRequest),
        (502, "SomethingNewException", "x", Server),
    ] {
        assert_eq!(
            kind(status, code, message),
            want,
            "{status} {code} {message}"
        );
    }
}

#[test]
fn error_code_from_the_body_when_no_header() {
    let e = classify(
        400,
        &HeaderMap::new(),
        br#"{"__type":"com.amazon.coral.validate#ValidationException","Message":"bad input"}"#,
    );
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert_eq!(e.code(), Some("ValidationException"));
    assert_eq!(e.message(), "bad input");
    let e = classify(
        429,
        &HeaderMap::new(),
        br#"{"code":"ThrottlingException","errorMessage":"slow down"}"#,
    );
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert_eq!(e.message(), "slow down");
    // The header wins over the body.
    let e = classify(
        400,
        &headers(&[("x-amzn-errortype", "AccessDeniedException")]),
        br#"{"__type":"ValidationException","message":"m"}"#,
    );
    assert_eq!(e.kind(), ErrorKind::PermissionDenied);
}

#[test]
fn non_json_bodies_and_retry_hints() {
    let e = classify(
        502,
        &HeaderMap::new(),
        b"<html><body>Bad Gateway</body></html>",
    );
    assert_eq!(e.kind(), ErrorKind::Server);
    assert!(e.message().contains("HTML"));
    let e = classify(503, &HeaderMap::new(), b"");
    assert_eq!(e.kind(), ErrorKind::Overloaded);
    // A known code in the header classifies even an empty body.
    let e = classify(
        429,
        &headers(&[
            ("x-amzn-errortype", "ThrottlingException"),
            ("x-amz-retry-after", "1500"),
        ]),
        b"",
    );
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert_eq!(e.retry_after(), Some(Duration::from_millis(1500)));
    assert_eq!(e.message(), "ThrottlingException (no message)");
}

#[test]
fn stream_exceptions_and_error_frames() {
    use ErrorKind::*;
    for (member, want) in [
        ("throttlingException", RateLimited),
        ("serviceUnavailableException", Overloaded),
        ("internalServerException", Server),
        ("modelStreamErrorException", Server),
        ("validationException", InvalidRequest),
        ("somethingNewException", Server),
    ] {
        let e = exception(member, br#"{"message":"m","p":"abc"}"#);
        assert_eq!(e.kind(), want, "{member}");
        assert_eq!(e.code(), Some(member));
        assert_eq!(e.message(), "m");
    }
    let e = exception(
        "validationException",
        br#"{"message":"Input is too long for requested model."}"#,
    );
    assert_eq!(e.kind(), ContextWindowExceeded);
    let e = error_frame("ThrottlingException", Some("slow"));
    assert_eq!((e.kind(), e.message()), (RateLimited, "slow"));
    let e = error_frame("InternalFailure", None);
    assert_eq!(e.kind(), Server);
}
