//! The one classifier for Anthropic: status + body → error kind and facts.

use http::HeaderMap;
use serde_json::Value;

use crate::error::{Error, ErrorKind};
use crate::providers::common::{
    ErrorFacts, facts_to_error, kind_for_status, mentions_content_filter, mentions_context_window,
    non_json_error,
};

/// The kind an Anthropic `error.type` means.
fn kind_of_type(typ: &str, message: &str, status: u16) -> ErrorKind {
    match typ {
        "rate_limit_error" => ErrorKind::RateLimited,
        "overloaded_error" => ErrorKind::Overloaded,
        "api_error" => ErrorKind::Server,
        "timeout_error" => ErrorKind::Timeout,
        "authentication_error" => ErrorKind::Auth,
        "permission_error" => ErrorKind::PermissionDenied,
        "not_found_error" => ErrorKind::NotFound,
        "billing_error" => ErrorKind::QuotaExhausted,
        "request_too_large" => ErrorKind::InvalidRequest,
        "invalid_request_error" if mentions_context_window(message) => {
            ErrorKind::ContextWindowExceeded
        }
        "invalid_request_error" if mentions_content_filter(message) => ErrorKind::ContentFiltered,
        "invalid_request_error" => ErrorKind::InvalidRequest,
        _ if status == 200 => ErrorKind::Server,
        _ => kind_for_status(status),
    }
}

/// Classifies an error object (`{"type":"error","error":{…}}` or the inner `{…}`).
pub(crate) fn classify_value(status: u16, value: &Value) -> Error {
    let err = value.get("error").unwrap_or(value);
    let typ = err.get("type").and_then(Value::as_str).unwrap_or("");
    let message = err.get("message").and_then(Value::as_str).unwrap_or("");
    let kind = kind_of_type(typ, message, status);
    let facts = ErrorFacts {
        message: Some(message.to_string()),
        code: (!typ.is_empty()).then(|| typ.to_string()),
        request_id: value
            .get("request_id")
            .and_then(Value::as_str)
            .map(str::to_string),
        ..ErrorFacts::default()
    };
    facts_to_error(kind, facts)
}

/// Classifies an HTTP error response.
pub(crate) fn classify(status: u16, _headers: &HeaderMap, body: &[u8]) -> Error {
    match serde_json::from_slice::<Value>(body) {
        Ok(v) if v.get("error").is_some() => classify_value(status, &v),
        _ => non_json_error(status, body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kind(status: u16, typ: &str, msg: &str) -> ErrorKind {
        let body = json!({"type":"error","error":{"type":typ,"message":msg},"request_id":"req_1"});
        classify(status, &HeaderMap::new(), body.to_string().as_bytes()).kind()
    }

    #[test]
    fn table() {
        assert_eq!(
            kind(429, "rate_limit_error", "slow"),
            ErrorKind::RateLimited
        );
        assert_eq!(
            kind(529, "overloaded_error", "Overloaded"),
            ErrorKind::Overloaded
        );
        assert_eq!(kind(500, "api_error", "x"), ErrorKind::Server);
        assert_eq!(kind(504, "timeout_error", "x"), ErrorKind::Timeout);
        assert_eq!(kind(401, "authentication_error", "x"), ErrorKind::Auth);
        assert_eq!(
            kind(403, "permission_error", "x"),
            ErrorKind::PermissionDenied
        );
        assert_eq!(kind(404, "not_found_error", "x"), ErrorKind::NotFound);
        assert_eq!(kind(402, "billing_error", "x"), ErrorKind::QuotaExhausted);
        assert_eq!(
            kind(413, "request_too_large", "x"),
            ErrorKind::InvalidRequest
        );
        assert_eq!(
            kind(400, "invalid_request_error", "x"),
            ErrorKind::InvalidRequest
        );
        assert_eq!(
            kind(
                400,
                "invalid_request_error",
                "prompt is too long: 210000 tokens > 200000 maximum"
            ),
            ErrorKind::ContextWindowExceeded
        );
        assert_eq!(kind(418, "something_new", "x"), ErrorKind::InvalidRequest);
    }

    #[test]
    fn request_id_and_code_are_kept() {
        let body = json!({"type":"error","error":{"type":"rate_limit_error","message":"slow"},"request_id":"req_9"});
        let e = classify(429, &HeaderMap::new(), body.to_string().as_bytes());
        assert_eq!(e.request_id(), Some("req_9"));
        assert_eq!(e.code(), Some("rate_limit_error"));
    }

    #[test]
    fn non_json_pages() {
        let e = classify(
            413,
            &HeaderMap::new(),
            b"<html>413 Request Entity Too Large</html>",
        );
        assert_eq!(e.kind(), ErrorKind::InvalidRequest);
        let e = classify(529, &HeaderMap::new(), b"overloaded");
        assert_eq!(e.kind(), ErrorKind::Overloaded);
    }
}
