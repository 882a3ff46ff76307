//! The one classifier for Mistral: status + body → error kind and facts.
//!
//! Shapes handled: the documented `{"object":"error","message","type","param","code"}` (with
//! `message` itself a `{"detail":[…]}` object on 422 validation errors), FastAPI's bare
//! `{"detail":[…]}` and `{"detail":"Not Found"}`, the gateway's `{"message":"Unauthorized",
//! "request_id":…}`, the rate limiter's `type: "rate_limited"` / `code: "1300"` (with
//! `raw_status_code`), OpenAI-style `{"error":{…}}` wrappers, and non-JSON pages.

use http::HeaderMap;
use serde_json::Value;

use crate::error::{Error, ErrorKind};
use crate::providers::common::{
    ErrorFacts, as_string, facts_to_error, kind_for_status, mentions_content_filter,
    mentions_context_window, non_json_error,
};

/// FastAPI's `detail`: a string, or a list of `{type, loc, msg, input}` rendered as
/// `loc.path: msg` joined with `; `.
fn detail_text(detail: &Value) -> Option<String> {
    match detail {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => {
            let parts: Vec<String> = items
                .iter()
                .map(|d| {
                    let msg = d.get("msg").and_then(Value::as_str).unwrap_or("invalid");
                    let loc: Vec<String> = d
                        .get("loc")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(as_string)
                        .collect();
                    if loc.is_empty() {
                        msg.to_string()
                    } else {
                        format!("{}: {msg}", loc.join("."))
                    }
                })
                .collect();
            (!parts.is_empty()).then(|| parts.join("; "))
        }
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// Reads the facts from a parsed body.
pub(crate) fn facts(body: &Value) -> ErrorFacts {
    let obj = body.get("error").filter(|e| e.is_object()).unwrap_or(body);
    let message = match obj.get("message") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(m @ Value::Object(o)) => o
            .get("detail")
            .and_then(detail_text)
            .or(Some(m.to_string())),
        Some(Value::Null) | None => obj.get("detail").and_then(detail_text),
        Some(other) => Some(other.to_string()),
    };
    ErrorFacts {
        message,
        kind: obj.get("type").and_then(as_string),
        code: obj.get("code").and_then(as_string),
        raw_status: obj
            .get("raw_status_code")
            .and_then(Value::as_u64)
            .and_then(|s| u16::try_from(s).ok()),
        request_id: body.get("request_id").and_then(as_string),
    }
}

/// Chooses the kind from the status (200 for an in-band stream error) and the facts.
pub(crate) fn kind_of(status: u16, f: &ErrorFacts) -> ErrorKind {
    let status = match (status, f.raw_status) {
        (200, Some(raw)) => raw,
        _ => status,
    };
    let typ = f.kind.as_deref().unwrap_or("");
    let code = f.code.as_deref().unwrap_or("");
    let msg = f.message.as_deref().unwrap_or("");
    let lower = msg.to_ascii_lowercase();
    if matches!(status, 200 | 402 | 429)
        && (lower.contains("quota") || lower.contains("billing") || lower.contains("payment"))
    {
        return ErrorKind::QuotaExhausted;
    }
    if code == "context_length_exceeded"
        || (matches!(status, 200 | 400 | 413 | 422) && mentions_context_window(msg))
    {
        return ErrorKind::ContextWindowExceeded;
    }
    if code == "content_policy_violation"
        || code == "content_filter"
        || (matches!(status, 200 | 400) && mentions_content_filter(msg))
    {
        return ErrorKind::ContentFiltered;
    }
    if typ == "rate_limited" || code == "1300" {
        return ErrorKind::RateLimited;
    }
    if status == 200 {
        return match typ {
            "invalid_request_error" => ErrorKind::InvalidRequest,
            _ if lower.contains("overloaded") || lower.contains("capacity") => {
                ErrorKind::Overloaded
            }
            _ if lower.contains("timeout") || lower.contains("timed out") => ErrorKind::Timeout,
            _ => ErrorKind::Server,
        };
    }
    kind_for_status(status)
}

/// Classifies a parsed error body; `status` is 200 for an in-band stream error.
pub(crate) fn classify_value(status: u16, value: &Value) -> Error {
    let f = facts(value);
    facts_to_error(kind_of(status, &f), f)
}

/// Classifies an HTTP error response.
pub(crate) fn classify(status: u16, _headers: &HeaderMap, body: &[u8]) -> Error {
    match serde_json::from_slice::<Value>(body) {
        Ok(v) if v.is_object() => classify_value(status, &v),
        _ => non_json_error(status, body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn classify_json(status: u16, body: Value) -> Error {
        classify(status, &HeaderMap::new(), body.to_string().as_bytes())
    }

    #[test]
    fn table() {
        let cases: &[(u16, Value, ErrorKind)] = &[
            (
                429,
                json!({"object":"error","message":"Rate limit exceeded","type":"rate_limited","param":null,"code":"1300","raw_status_code":429}),
                ErrorKind::RateLimited,
            ),
            (
                429,
                json!({"message":"Requests rate limit exceeded"}),
                ErrorKind::RateLimited,
            ),
            (
                429,
                json!({"object":"error","message":"You have exceeded your monthly quota","type":"rate_limited","code":"1300"}),
                ErrorKind::QuotaExhausted,
            ),
            (
                401,
                json!({"message":"Unauthorized","request_id":"a580d263"}),
                ErrorKind::Auth,
            ),
            (404, json!({"detail":"Not Found"}), ErrorKind::NotFound),
            (
                422,
                json!({"object":"error","message":{"detail":[{"type":"extra_forbidden","loc":["body","max_completion_tokens"],"msg":"Extra inputs are not permitted","input":32000}]},"type":"invalid_request_error","param":null,"code":null}),
                ErrorKind::InvalidRequest,
            ),
            (
                422,
                json!({"detail":[{"type":"missing","loc":["body","model"],"msg":"Field required","input":{}}]}),
                ErrorKind::InvalidRequest,
            ),
            (
                400,
                json!({"object":"error","message":"Prompt contains 40000 tokens, too large for model with 32768 maximum context length","type":"invalid_request_error","param":null,"code":"3051"}),
                ErrorKind::ContextWindowExceeded,
            ),
            (
                400,
                json!({"object":"error","message":"Your request was rejected as a result of our safety system.","type":"invalid_request_error","code":"content_policy_violation"}),
                ErrorKind::ContentFiltered,
            ),
            (
                403,
                json!({"object":"error","message":"Forbidden","type":"invalid_request_error"}),
                ErrorKind::PermissionDenied,
            ),
            (
                500,
                json!({"object":"error","message":"Internal error","type":"internal_server_error"}),
                ErrorKind::Server,
            ),
            (503, json!({"message":"busy"}), ErrorKind::Overloaded),
            (504, json!({}), ErrorKind::Timeout),
            (
                402,
                json!({"message":"Payment Required"}),
                ErrorKind::QuotaExhausted,
            ),
        ];
        for (status, body, kind) in cases {
            assert_eq!(
                classify_json(*status, body.clone()).kind(),
                *kind,
                "{status} {body}"
            );
        }
    }

    #[test]
    fn facts_are_kept() {
        let e = classify_json(
            422,
            json!({"object":"error","message":{"detail":[{"type":"extra_forbidden","loc":["body","max_completion_tokens"],"msg":"Extra inputs are not permitted","input":32000}]},"type":"invalid_request_error","param":null,"code":null}),
        );
        assert_eq!(
            e.message(),
            "body.max_completion_tokens: Extra inputs are not permitted"
        );
        assert_eq!(e.code(), Some("invalid_request_error"));
        let e = classify_json(
            401,
            json!({"message":"Unauthorized","request_id":"a580d263"}),
        );
        assert_eq!(e.request_id(), Some("a580d263"));
        assert_eq!(e.message(), "Unauthorized");
        let e = classify_json(
            429,
            json!({"object":"error","message":"Rate limit exceeded","type":"rate_limited","code":"1300"}),
        );
        assert_eq!(e.code(), Some("1300"));
        let e = classify_json(404, json!({"detail":"Not Found"}));
        assert_eq!(e.message(), "Not Found");
    }

    #[test]
    fn in_band_errors_use_their_raw_status_and_type() {
        let rl = json!({"object":"error","message":"Rate limit exceeded","type":"rate_limited","code":"1300","raw_status_code":429});
        assert_eq!(classify_value(200, &rl).kind(), ErrorKind::RateLimited);
        let busy = json!({"object":"error","message":"The engine is currently overloaded, please try again later.","type":"internal_server_error"});
        assert_eq!(classify_value(200, &busy).kind(), ErrorKind::Overloaded);
        let bad = json!({"object":"error","message":"bad","type":"invalid_request_error"});
        assert_eq!(classify_value(200, &bad).kind(), ErrorKind::InvalidRequest);
        let unknown = json!({"object":"error","message":"boom"});
        assert_eq!(classify_value(200, &unknown).kind(), ErrorKind::Server);
        let raw503 = json!({"object":"error","message":"x","raw_status_code":503});
        assert_eq!(classify_value(200, &raw503).kind(), ErrorKind::Overloaded);
    }

    #[test]
    fn non_json_pages() {
        let e = classify(
            502,
            &HeaderMap::new(),
            b"<html><body>Bad gateway</body></html>",
        );
        assert_eq!(e.kind(), ErrorKind::Server);
        assert!(e.message().contains("HTML"));
        let e = classify(503, &HeaderMap::new(), b"upstream connect error");
        assert_eq!(e.kind(), ErrorKind::Overloaded);
        let e = classify(429, &HeaderMap::new(), b"[]");
        assert_eq!(e.kind(), ErrorKind::RateLimited);
    }
}
