//! Converse responses and the error classifier.

use std::time::Duration;

use http::{HeaderMap, HeaderValue};
use serde_json::json;

use super::super::convert::{finish_reason, parse_response};
use super::super::error::{classify, error_frame, exception};
use super::request;
use crate::error::ErrorKind;
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
        ("malformed_model_output", FinishReason::other("malformed_model_output")),
        ("malformed_tool_use", FinishReason::other("malformed_tool_use")),
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
