//! The one classifier for Cohere: status + headers + body → error kind and facts.
//!
//! Bodies are `{"id": "<uuid>", "message": "…"}` (older: `{"message": "…"}`). Statuses follow the
//! spec: 400, 401, 403, 404, 422, 429, 498 (invalid token → [`ErrorKind::Auth`]), 499 (request
//! cancelled → [`ErrorKind::Cancelled`]), 500, 501 (not implemented → [`ErrorKind::Unsupported`]),
//! 503, 504. Cohere has no error codes, so the message decides between kinds that share a status:
//! a trial key's monthly limit is [`ErrorKind::QuotaExhausted`] (its per-minute limit stays
//! [`ErrorKind::RateLimited`]), "too many tokens" is [`ErrorKind::ContextWindowExceeded`],
//! "blocked output/input" is [`ErrorKind::ContentFiltered`].

use http::HeaderMap;
use serde_json::Value;

use crate::error::{Error, ErrorKind};
use crate::providers::common::{
    ErrorFacts, facts_to_error, kind_for_status, mentions_content_filter, mentions_context_window,
    non_json_error, short_message,
};
use crate::transport::hints;

/// The response headers that may hold the request id, in order of preference.
pub(crate) const REQUEST_ID_HEADERS: &[&str] = &["x-debug-trace-id", "x-request-id"];

/// Chooses the kind from the status (200 for an in-band stream error) and the message.
pub(crate) fn kind_of(status: u16, message: &str) -> ErrorKind {
    let m = message.to_ascii_lowercase();
    match status {
        498 => return ErrorKind::Auth,
        499 => return ErrorKind::Cancelled,
        501 => return ErrorKind::Unsupported,
        _ => {}
    }
    if matches!(status, 200 | 402 | 429)
        && (m.contains("/ month")
            || m.contains("per month")
            || m.contains("monthly")
            || m.contains("quota")
            || m.contains("billing"))
    {
        return ErrorKind::QuotaExhausted;
    }
    if matches!(status, 200 | 400 | 413 | 422) && mentions_context_window(&m) {
        return ErrorKind::ContextWindowExceeded;
    }
    if matches!(status, 200 | 400)
        && (m.contains("blocked output")
            || m.contains("blocked input")
            || m.contains("usage policy")
            || mentions_content_filter(&m))
    {
        return ErrorKind::ContentFiltered;
    }
    if status == 200 {
        return if m.contains("rate limit")
            || m.contains("limited to")
            || m.contains("too many requests")
        {
            ErrorKind::RateLimited
        } else if m.contains("unavailable") || m.contains("overloaded") || m.contains("capacity") {
            ErrorKind::Overloaded
        } else if m.contains("timeout") || m.contains("timed out") {
            ErrorKind::Timeout
        } else if m.starts_with("invalid request") {
            ErrorKind::InvalidRequest
        } else {
            ErrorKind::Server
        };
    }
    kind_for_status(status)
}

/// An error from a status and a message alone (an in-band `message-end` error has no body).
pub(crate) fn classify_message(status: u16, message: &str) -> Error {
    Error::new(kind_of(status, message), short_message(message))
}

/// Classifies an HTTP error response.
pub(crate) fn classify(status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
    let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(body) else {
        return non_json_error(status, body);
    };
    let message = match obj.get("message") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    let request_id = hints::first_of(headers, REQUEST_ID_HEADERS)
        .or_else(|| obj.get("id").and_then(Value::as_str).map(str::to_string));
    let kind = kind_of(status, &message);
    let facts = ErrorFacts {
        message: Some(message),
        request_id,
        ..ErrorFacts::default()
    };
    facts_to_error(kind, facts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kind(status: u16, message: &str) -> ErrorKind {
        let body = json!({"id": "0b8f1c9e-1111-4a2b-8c3d-000000000001", "message": message});
        classify(status, &HeaderMap::new(), body.to_string().as_bytes()).kind()
    }

    #[test]
    fn table() {
        let cases: &[(u16, &str, ErrorKind)] = &[
            (
                400,
                "invalid request: messages must not be empty",
                ErrorKind::InvalidRequest,
            ),
            (401, "invalid api token", ErrorKind::Auth),
            (498, "invalid api token", ErrorKind::Auth),
            (403, "forbidden", ErrorKind::PermissionDenied),
            (404, "model 'x' not found", ErrorKind::NotFound),
            (422, "unprocessable", ErrorKind::InvalidRequest),
            (
                429,
                "You are using a Trial key, which is limited to 20 API calls / minute.",
                ErrorKind::RateLimited,
            ),
            (
                429,
                "You are using a Trial key, which is limited to 1000 API calls / month.",
                ErrorKind::QuotaExhausted,
            ),
            (499, "request cancelled", ErrorKind::Cancelled),
            (500, "internal server error", ErrorKind::Server),
            (501, "not implemented", ErrorKind::Unsupported),
            (503, "service unavailable", ErrorKind::Overloaded),
            (504, "gateway timeout", ErrorKind::Timeout),
            (
                400,
                "too many tokens: total number of tokens in the prompt cannot exceed 128000 - received 130172.",
                ErrorKind::ContextWindowExceeded,
            ),
            (
                400,
                "blocked output: please adjust your prompt and try again, as this generation may be a potential violation of our Usage Policy",
                ErrorKind::ContentFiltered,
            ),
        ];
        for (status, message, expected) in cases {
            assert_eq!(kind(*status, message), *expected, "{status} {message}");
        }
    }

    #[test]
    fn in_band_messages() {
        assert_eq!(kind_of(200, "service unavailable"), ErrorKind::Overloaded);
        assert_eq!(kind_of(200, "internal server error"), ErrorKind::Server);
        assert_eq!(
            kind_of(
                200,
                "You are using a Trial key, which is limited to 20 API calls / minute."
            ),
            ErrorKind::RateLimited
        );
        assert_eq!(kind_of(200, "gateway timeout"), ErrorKind::Timeout);
    }

    #[test]
    fn request_id_prefers_the_header_then_the_body_id() {
        let body = br#"{"id":"body-id","message":"x"}"#;
        let e = classify(500, &HeaderMap::new(), body);
        assert_eq!(e.request_id(), Some("body-id"));
        let mut h = HeaderMap::new();
        h.insert(
            "x-debug-trace-id",
            http::HeaderValue::from_static("trace-1"),
        );
        assert_eq!(classify(500, &h, body).request_id(), Some("trace-1"));
        let e = classify(429, &HeaderMap::new(), br#"{"message":"slow"}"#);
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        assert_eq!(e.message(), "slow");
    }

    #[test]
    fn non_json_and_empty_bodies() {
        let e = classify(502, &HeaderMap::new(), b"<html>bad gateway</html>");
        assert_eq!(e.kind(), ErrorKind::Server);
        assert!(e.message().contains("HTML"));
        let e = classify(503, &HeaderMap::new(), b"");
        assert_eq!(e.kind(), ErrorKind::Overloaded);
        let e = classify(498, &HeaderMap::new(), b"{}");
        assert_eq!(e.kind(), ErrorKind::Auth);
    }
}
