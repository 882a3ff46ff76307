//! The one classifier for Bedrock: restJson1 errors (`x-amzn-ErrorType`, body `code` /
//! `__type`, `message`), in-stream exception frames and generic eventstream error frames.

use std::time::Duration;

use http::HeaderMap;
use serde_json::Value;

use crate::error::{Error, ErrorKind};
use crate::providers::common::{
    kind_for_status, mentions_content_filter, mentions_context_window, non_json_error,
    short_message,
};
use crate::transport::hints::header_str;

/// Whether a validation message says the input does not fit the model's context.
fn too_long(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    mentions_context_window(message)
        || (m.contains("too long") && (m.contains("input") || m.contains("prompt")))
        || m.contains("too many input tokens")
}

/// The kind an AWS error code means (`code` without namespace or URL; case-insensitive first
/// letter, so the stream's `throttlingException` reads as `ThrottlingException`).
pub(crate) fn kind_of_code(code: &str, message: &str, status: u16) -> ErrorKind {
    let mut chars = code.chars();
    let normal: String = match chars.next() {
        Some(c) => c.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    };
    match normal.as_str() {
        // The AWS SDKs' throttling codes.
        "ThrottlingException"
        | "Throttling"
        | "ThrottledException"
        | "RequestThrottledException"
        | "TooManyRequestsException"
        | "ProvisionedThroughputExceededException"
        | "RequestLimitExceeded"
        | "BandwidthLimitExceeded"
        | "LimitExceededException"
        | "RequestThrottled"
        | "SlowDown" => ErrorKind::RateLimited,
        "ServiceQuotaExceededException" => ErrorKind::QuotaExhausted,
        "ServiceUnavailableException" | "ModelNotReadyException" => ErrorKind::Overloaded,
        "InternalServerException"
        | "InternalFailure"
        | "ModelErrorException"
        | "ModelStreamErrorException" => ErrorKind::Server,
        "ModelTimeoutException" | "RequestTimeout" | "RequestTimeoutException" => {
            ErrorKind::Timeout
        }
        "AccessDeniedException" => ErrorKind::PermissionDenied,
        "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "IncompleteSignatureException"
        | "MissingAuthenticationTokenException"
        | "ExpiredTokenException"
        | "ExpiredToken"
        | "InvalidClientTokenId"
        | "SignatureDoesNotMatch" => ErrorKind::Auth,
        "ResourceNotFoundException" => ErrorKind::NotFound,
        "ValidationException" if too_long(message) => ErrorKind::ContextWindowExceeded,
        "ValidationException" if mentions_content_filter(message) => ErrorKind::ContentFiltered,
        "ValidationException" => ErrorKind::InvalidRequest,
        _ if status == 200 => ErrorKind::Server,
        _ => kind_for_status(status),
    }
}

/// `ThrottlingException` from `ThrottlingException:http://internal.amazon.com/coral/…` or
/// `com.amazon.coral.service#ThrottlingException`.
fn bare_code(raw: &str) -> &str {
    let raw = raw.split(':').next().unwrap_or(raw);
    raw.rsplit('#').next().unwrap_or(raw).trim()
}

fn message_of(body: &Value) -> Option<&str> {
    ["message", "Message", "errorMessage"]
        .iter()
        .find_map(|k| body.get(*k).and_then(Value::as_str))
}

/// `x-amz-retry-after` (milliseconds), the newer AWS retry hint.
fn amz_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let ms = header_str(headers, "x-amz-retry-after")?
        .trim()
        .parse::<f64>()
        .ok()?;
    (ms.is_finite() && ms >= 0.0).then(|| Duration::from_secs_f64(ms.min(1e12) / 1000.0))
}

fn build(kind: ErrorKind, code: &str, message: Option<&str>) -> Error {
    let text = match message.filter(|m| !m.trim().is_empty()) {
        Some(m) => short_message(m),
        None if !code.is_empty() => format!("{code} (no message)"),
        None => "the provider returned an error without a message".to_string(),
    };
    Error::new(kind, text).with_code((!code.is_empty()).then(|| code.to_string()))
}

/// Classifies an HTTP error response.
pub(crate) fn classify(status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
    let json = serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object);
    let header_code = header_str(headers, "x-amzn-errortype").map(bare_code);
    let body_code = json.as_ref().and_then(|v| {
        ["code", "__type"]
            .iter()
            .find_map(|k| v.get(*k).and_then(Value::as_str))
            .map(bare_code)
    });
    let code = header_code.or(body_code).filter(|c| !c.is_empty());
    let message = json.as_ref().and_then(message_of);
    let e = match (code, &json) {
        (None, None) => non_json_error(status, body),
        (code, _) => {
            let code = code.unwrap_or("");
            build(
                kind_of_code(code, message.unwrap_or(""), status),
                code,
                message,
            )
        }
    };
    match amz_retry_after(headers) {
        Some(d) => e.with_retry_after(Some(d)),
        None => e,
    }
}

/// Classifies an exception frame (`:message-type exception`) of a ConverseStream body: the
/// `:exception-type` names the union member (`throttlingException`, …), the payload holds
/// `message`.
pub(crate) fn exception(exception_type: &str, payload: &[u8]) -> Error {
    let json = serde_json::from_slice::<Value>(payload).ok();
    let message = json.as_ref().and_then(message_of);
    build(
        kind_of_code(exception_type, message.unwrap_or(""), 200),
        exception_type,
        message,
    )
}

/// Classifies a generic eventstream error frame (`:message-type error`, with `:error-code` and
/// `:error-message` headers and no payload).
pub(crate) fn error_frame(code: &str, message: Option<&str>) -> Error {
    build(
        kind_of_code(code, message.unwrap_or(""), 200),
        code,
        message,
    )
}
