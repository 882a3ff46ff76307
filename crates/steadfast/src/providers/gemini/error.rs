//! The one classifier for Gemini: `google.rpc.Status` bodies → error kind and facts.
//!
//! Gemini errors are `{"error":{"code":429,"message":…,"status":"RESOURCE_EXHAUSTED","details":[…]}}`,
//! sometimes wrapped in an array on the streaming endpoint (`[{"error":…}]`), and written bare
//! into a stream when it fails mid-way. The canonical `status` decides the kind, refined by the
//! typed `details`:
//!
//! | status (HTTP) | kind |
//! |---|---|
//! | `INVALID_ARGUMENT`, `FAILED_PRECONDITION`, `OUT_OF_RANGE` (400) | `InvalidRequest`; `Auth` when `ErrorInfo.reason` is `API_KEY_INVALID` (bad or expired key); `ContextWindowExceeded` for "input token count … exceeds the maximum"; `ContentFiltered` for content-policy blocks ("violates the content policy", "violate Google's Responsible AI practices"); `PermissionDenied` when the caller's location or country is not served |
//! | `UNAUTHENTICATED` (401) | `Auth` |
//! | `PERMISSION_DENIED` (403) | `PermissionDenied` (`Auth` for "unregistered callers", i.e. no key at all) |
//! | `NOT_FOUND` (404) | `NotFound` |
//! | `RESOURCE_EXHAUSTED` (429) | `RateLimited`, or `QuotaExhausted` — see below |
//! | `CANCELLED` (499) | `Server` — see below |
//! | `INTERNAL`, `UNKNOWN`, `DATA_LOSS` (500), `ABORTED` (409) | `Server` |
//! | `UNAVAILABLE` (503) | `Overloaded` ("The model is overloaded") |
//! | `DEADLINE_EXCEEDED` (504) | `Timeout` |
//! | `UNIMPLEMENTED` (501) | `Unsupported` |
//!
//! **Quota.** Every Gemini quota error is a 429 `RESOURCE_EXHAUSTED`, whether a per-minute window
//! that refills in seconds or a quota that waiting cannot fix. It is `QuotaExhausted` (not worth
//! retrying) when the details show the limit is **0** (`QuotaFailure.violations[].quotaValue` or
//! `ErrorInfo.metadata.quota_limit_value` — the tier or region has no quota for this model at
//! all, or "limit: 0" in the message), when the exhausted quota is a **daily** one (`quotaId` or
//! `quota_limit` containing `PerDay`: it resets hours later), or when the message says the quota is
//! used up ("exceeded your current quota … plan and billing") and Google attached no `RetryInfo`.
//! Otherwise — a per-minute window, or any error carrying a `RetryInfo` delay without a daily or
//! zero limit — it is `RateLimited`.
//!
//! **Cancellation.** Steadfast's `Cancelled` means the caller cancelled. A `CANCELLED` status
//! arriving from Google while Steadfast was still reading is the backend abandoning the request
//! (it shows up mid-stream in real traffic), so it is a transient `Server` error.
//!
//! **Retry hint.** `RetryInfo.retryDelay` (a protobuf duration such as `"31s"` or `"1.5s"`) is the
//! retry hint; Gemini rarely sends a `Retry-After` header.

use std::time::Duration;

use http::HeaderMap;
use serde_json::Value;

use super::convert::error_object;
use crate::error::{Error, ErrorKind};
use crate::providers::common::{
    ErrorFacts, facts_to_error, kind_for_status, mentions_content_filter, mentions_context_window,
    non_json_error,
};

/// What the typed `details` of a `google.rpc.Status` say.
#[derive(Debug, Default, PartialEq)]
struct Details<'a> {
    /// `ErrorInfo.reason` values.
    reasons: Vec<&'a str>,
    /// `RetryInfo.retryDelay`.
    retry_delay: Option<Duration>,
    /// Quota ids from `QuotaFailure.violations[].quotaId` and `ErrorInfo.metadata.quota_limit`.
    quota_ids: Vec<&'a str>,
    /// Quota limits from `QuotaFailure.violations[].quotaValue` and
    /// `ErrorInfo.metadata.quota_limit_value`.
    quota_values: Vec<&'a str>,
}

fn details(err: &Value) -> Details<'_> {
    let mut d = Details::default();
    for item in err
        .get("details")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let typ = item.get("@type").and_then(Value::as_str).unwrap_or("");
        if typ.ends_with("google.rpc.ErrorInfo") {
            if let Some(r) = item.get("reason").and_then(Value::as_str) {
                d.reasons.push(r);
            }
            if let Some(meta) = item.get("metadata") {
                if let Some(id) = meta.get("quota_limit").and_then(Value::as_str) {
                    d.quota_ids.push(id);
                }
                if let Some(v) = meta.get("quota_limit_value").and_then(Value::as_str) {
                    d.quota_values.push(v);
                }
            }
        } else if typ.ends_with("google.rpc.QuotaFailure") {
            for v in item
                .get("violations")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(id) = v.get("quotaId").and_then(Value::as_str) {
                    d.quota_ids.push(id);
                }
                if let Some(val) = v.get("quotaValue").and_then(Value::as_str) {
                    d.quota_values.push(val);
                }
            }
        } else if typ.ends_with("google.rpc.RetryInfo") {
            d.retry_delay = item.get("retryDelay").and_then(parse_duration);
        }
    }
    d
}

/// Parses a protobuf `Duration` in its JSON form (`"31s"`, `"1.5s"`, `"0.250s"`), or the
/// `{"seconds":…, "nanos":…}` object form. Negative, non-finite or malformed values are ignored.
pub(crate) fn parse_duration(v: &Value) -> Option<Duration> {
    match v {
        Value::String(s) => {
            let secs: f64 = s.trim().strip_suffix('s')?.trim().parse().ok()?;
            (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(1e9)))
        }
        Value::Object(o) => {
            let secs = match o.get("seconds") {
                Some(Value::String(s)) => s.parse::<u64>().ok()?,
                Some(v) => v.as_u64()?,
                None => 0,
            };
            let nanos = o.get("nanos").map_or(Some(0), Value::as_u64)?;
            let nanos = u32::try_from(nanos).ok().filter(|n| *n < 1_000_000_000)?;
            Some(Duration::new(secs, nanos))
        }
        _ => None,
    }
}

/// Whether a `RESOURCE_EXHAUSTED` error is a used-up quota rather than a rate limit (see the
/// [module docs](self)).
fn quota_exhausted(d: &Details<'_>, message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    let zero_limit = d.quota_values.iter().any(|v| v.trim() == "0") || m.contains("limit: 0");
    let daily = d
        .quota_ids
        .iter()
        .any(|id| id.to_ascii_lowercase().contains("perday"));
    let used_up = m.contains("exceeded your current quota")
        && (m.contains("billing") || m.contains("plan"))
        && d.retry_delay.is_none();
    zero_limit || daily || used_up
}

/// Whether an `INVALID_ARGUMENT` message says the prompt does not fit the model.
fn context_window(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    mentions_context_window(&m)
        || (m.contains("token count") && m.contains("exceeds the maximum"))
        || m.contains("exceeds the maximum number of tokens")
}

/// Whether a message says a content policy blocked the request (including Imagen's "violate
/// Google's Responsible AI practices").
fn content_filter(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    mentions_content_filter(&m) || m.contains("responsible ai practices")
}

/// Whether a message says the caller's location is not served.
fn location_refused(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("location is not supported") || m.contains("not available in your country")
}

fn kind_of(status: &str, code: Option<u16>, message: &str, d: &Details<'_>) -> ErrorKind {
    if d.reasons
        .iter()
        .any(|r| matches!(*r, "API_KEY_INVALID" | "API_KEY_EXPIRED"))
    {
        return ErrorKind::Auth;
    }
    match status {
        "INVALID_ARGUMENT" | "FAILED_PRECONDITION" | "OUT_OF_RANGE" => {
            if message.contains("API key not valid") || message.contains("API key expired") {
                ErrorKind::Auth
            } else if context_window(message) {
                ErrorKind::ContextWindowExceeded
            } else if content_filter(message) {
                ErrorKind::ContentFiltered
            } else if location_refused(message) {
                ErrorKind::PermissionDenied
            } else {
                ErrorKind::InvalidRequest
            }
        }
        "UNAUTHENTICATED" => ErrorKind::Auth,
        "PERMISSION_DENIED" if message.contains("unregistered callers") => ErrorKind::Auth,
        "PERMISSION_DENIED" => ErrorKind::PermissionDenied,
        "NOT_FOUND" => ErrorKind::NotFound,
        "RESOURCE_EXHAUSTED" if quota_exhausted(d, message) => ErrorKind::QuotaExhausted,
        "RESOURCE_EXHAUSTED" => ErrorKind::RateLimited,
        "UNAVAILABLE" => ErrorKind::Overloaded,
        "DEADLINE_EXCEEDED" => ErrorKind::Timeout,
        "CANCELLED" | "INTERNAL" | "UNKNOWN" | "DATA_LOSS" | "ABORTED" => ErrorKind::Server,
        "UNIMPLEMENTED" => ErrorKind::Unsupported,
        "ALREADY_EXISTS" => ErrorKind::InvalidRequest,
        _ => match code {
            Some(499) => ErrorKind::Server,
            Some(c) => kind_for_status(c),
            None => ErrorKind::Server,
        },
    }
}

/// Classifies the inner object of a `google.rpc.Status` body (`{"code","message","status",
/// "details"}`). `http_status` is the response status when the error came as one (the body's
/// `code` is used otherwise, e.g. for errors written into a stream).
pub(crate) fn classify_value(http_status: Option<u16>, err: &Value) -> Error {
    let code = err
        .get("code")
        .and_then(Value::as_u64)
        .and_then(|c| u16::try_from(c).ok())
        .or(http_status);
    let status = err.get("status").and_then(Value::as_str).unwrap_or("");
    let message = err.get("message").and_then(Value::as_str).unwrap_or("");
    let d = details(err);
    let kind = kind_of(status, code, message, &d);
    let code_text = if status.is_empty() {
        code.map(|c| c.to_string())
    } else {
        Some(status.to_string())
    };
    let facts = ErrorFacts {
        message: Some(message.to_string()),
        code: code_text,
        ..ErrorFacts::default()
    };
    facts_to_error(kind, facts).with_retry_after(d.retry_delay)
}

/// Classifies an HTTP error response.
pub(crate) fn classify(status: u16, _headers: &HeaderMap, body: &[u8]) -> Error {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return non_json_error(status, body);
    };
    match error_object(&value) {
        Some(err) => classify_value(Some(status), err),
        None => Error::new(
            kind_for_status(status),
            "error response without a google.rpc.Status body",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn status_body(code: u16, status: &str, message: &str, details: Value) -> Vec<u8> {
        json!({"error": {"code": code, "message": message, "status": status, "details": details}})
            .to_string()
            .into_bytes()
    }

    fn kind(code: u16, status: &str, message: &str, details: Value) -> ErrorKind {
        classify(
            code,
            &HeaderMap::new(),
            &status_body(code, status, message, details),
        )
        .kind()
    }

    fn quota(quota_id: &str, value: &str) -> Value {
        json!({"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{
            "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
            "quotaId": quota_id, "quotaValue": value}]})
    }

    fn retry(delay: &str) -> Value {
        json!({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay})
    }

    const QUOTA_MSG: &str = "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.";

    #[test]
    fn table() {
        use ErrorKind::*;
        let key = json!([{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com"}]);
        let rows: Vec<(u16, &str, &str, Value, ErrorKind)> = vec![
            (
                400,
                "INVALID_ARGUMENT",
                "API key not valid. Please pass a valid API key.",
                key.clone(),
                Auth,
            ),
            (
                400,
                "INVALID_ARGUMENT",
                "API key expired. Please renew the API key.",
                key,
                Auth,
            ),
            (
                400,
                "INVALID_ARGUMENT",
                "API key not valid. Please pass a valid API key.",
                json!([]),
                Auth,
            ),
            (
                401,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials.",
                json!([]),
                Auth,
            ),
            (
                403,
                "PERMISSION_DENIED",
                "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
                json!([]),
                Auth,
            ),
            (
                403,
                "PERMISSION_DENIED",
                "Generative Language API has not been used in project 1 before or it is disabled.",
                json!([{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "SERVICE_DISABLED"}]),
                PermissionDenied,
            ),
            (
                400,
                "INVALID_ARGUMENT",
                "Invalid JSON payload received. Unknown name \"bogus\": Cannot find field.",
                json!([]),
                InvalidRequest,
            ),
            (
                400,
                "INVALID_ARGUMENT",
                "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).",
                json!([]),
                ContextWindowExceeded,
            ),
            (
                400,
                "INVALID_ARGUMENT",
                "The request was blocked because it violates the content policy.",
                json!([]),
                ContentFiltered,
            ),
            (
                400,
                "INVALID_ARGUMENT",
                "Image generation failed with the following error: The prompt could not be submitted. This prompt contains sensitive words that violate Google's Responsible AI practices.",
                json!([]),
                ContentFiltered,
            ),
            (
                400,
                "FAILED_PRECONDITION",
                "User location is not supported for the API use.",
                json!([]),
                PermissionDenied,
            ),
            (
                400,
                "FAILED_PRECONDITION",
                "Gemini API free tier is not available in your country. Please enable billing on your project in Google AI Studio.",
                json!([]),
                PermissionDenied,
            ),
            (
                400,
                "FAILED_PRECONDITION",
                "Cached content is too small.",
                json!([]),
                InvalidRequest,
            ),
            (
                404,
                "NOT_FOUND",
                "models/gemini-5.0-flash is not found for API version v1beta",
                json!([]),
                NotFound,
            ),
            // Per-minute windows are rate limits, with or without a retry delay.
            (
                429,
                "RESOURCE_EXHAUSTED",
                "Resource has been exhausted (e.g. check quota).",
                json!([]),
                RateLimited,
            ),
            (
                429,
                "RESOURCE_EXHAUSTED",
                QUOTA_MSG,
                json!([
                    quota("GenerateRequestsPerMinutePerProjectPerModel-FreeTier", "15"),
                    retry("31s")
                ]),
                RateLimited,
            ),
            // Daily quotas and zero limits are used-up quotas, even with a retry delay.
            (
                429,
                "RESOURCE_EXHAUSTED",
                QUOTA_MSG,
                json!([
                    quota("GenerateRequestsPerDayPerProjectPerModel-FreeTier", "50"),
                    retry("12s")
                ]),
                QuotaExhausted,
            ),
            (
                429,
                "RESOURCE_EXHAUSTED",
                QUOTA_MSG,
                json!([
                    quota("GenerateContentInputTokensPerModelPerMinute-FreeTier", "0"),
                    retry("40s")
                ]),
                QuotaExhausted,
            ),
            (
                429,
                "RESOURCE_EXHAUSTED",
                "Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_input_token_count, limit: 0",
                json!([]),
                QuotaExhausted,
            ),
            // "check your plan and billing" without a retry delay.
            (
                429,
                "RESOURCE_EXHAUSTED",
                QUOTA_MSG,
                json!([quota(
                    "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                    "15"
                )]),
                QuotaExhausted,
            ),
            (
                499,
                "CANCELLED",
                "The operation was cancelled.",
                json!([]),
                Server,
            ),
            (
                500,
                "INTERNAL",
                "An internal error has occurred.",
                json!([]),
                Server,
            ),
            (500, "UNKNOWN", "Unknown error.", json!([]), Server),
            (
                409,
                "ABORTED",
                "The operation was aborted.",
                json!([]),
                Server,
            ),
            (
                501,
                "UNIMPLEMENTED",
                "Method not implemented.",
                json!([]),
                Unsupported,
            ),
            (
                503,
                "UNAVAILABLE",
                "The model is overloaded. Please try again later.",
                json!([]),
                Overloaded,
            ),
            (
                504,
                "DEADLINE_EXCEEDED",
                "Deadline expired before operation could complete.",
                json!([]),
                Timeout,
            ),
            // Unknown statuses fall back to the HTTP status.
            (429, "SOMETHING_NEW", "x", json!([]), RateLimited),
            (499, "", "x", json!([]), Server),
            (502, "", "x", json!([]), Server),
        ];
        for (code, status, message, details, want) in rows {
            assert_eq!(
                kind(code, status, message, details),
                want,
                "{code} {status} {message}"
            );
        }
    }

    #[test]
    fn retry_delay_is_the_retry_hint() {
        for (delay, want) in [
            ("31s", Duration::from_secs(31)),
            ("1.5s", Duration::from_millis(1500)),
            ("0.250s", Duration::from_millis(250)),
            ("0s", Duration::ZERO),
        ] {
            let body = status_body(429, "RESOURCE_EXHAUSTED", "slow", json!([retry(delay)]));
            let e = classify(429, &HeaderMap::new(), &body);
            assert_eq!(e.retry_after(), Some(want), "{delay}");
            assert_eq!(e.kind(), ErrorKind::RateLimited);
            assert_eq!(e.code(), Some("RESOURCE_EXHAUSTED"));
        }
        for bad in ["-1s", "soon", "31", "NaNs"] {
            let body = status_body(429, "RESOURCE_EXHAUSTED", "slow", json!([retry(bad)]));
            assert_eq!(
                classify(429, &HeaderMap::new(), &body).retry_after(),
                None,
                "{bad}"
            );
        }
        assert_eq!(
            parse_duration(&json!({"seconds": "2", "nanos": 500_000_000})),
            Some(Duration::from_millis(2500))
        );
        assert_eq!(
            parse_duration(&json!({"seconds": 3})),
            Some(Duration::from_secs(3))
        );
        assert_eq!(parse_duration(&json!({"nanos": 2_000_000_000u64})), None);
    }

    #[test]
    fn array_wrapped_errors() {
        let body = json!([{"error": {"code": 503, "message": "The model is overloaded. Please try again later.", "status": "UNAVAILABLE"}}]);
        let e = classify(503, &HeaderMap::new(), body.to_string().as_bytes());
        assert_eq!(e.kind(), ErrorKind::Overloaded);
        assert_eq!(
            e.message(),
            "The model is overloaded. Please try again later."
        );
    }

    #[test]
    fn the_body_code_counts_when_there_is_no_http_status() {
        let e = classify_value(None, &json!({"code": 503, "message": "busy"}));
        assert_eq!(e.kind(), ErrorKind::Overloaded);
        assert_eq!(e.code(), Some("503"));
        let e = classify_value(None, &json!({"message": "?"}));
        assert_eq!(e.kind(), ErrorKind::Server);
    }

    #[test]
    fn non_status_bodies() {
        let e = classify(
            404,
            &HeaderMap::new(),
            b"<!DOCTYPE html><html lang=en><title>Error 404 (Not Found)!!1</title>",
        );
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(e.message().contains("HTML"));
        let e = classify(502, &HeaderMap::new(), b"");
        assert_eq!(e.kind(), ErrorKind::Server);
        let e = classify(429, &HeaderMap::new(), b"{\"unexpected\": true}");
        assert_eq!(e.kind(), ErrorKind::RateLimited);
    }
}
