//! The one classifier for Azure AI Inference: status + `x-ms-error-code` + body → error kind.
//!
//! The Model Inference API answers `{"error":{"code","message","target","details","innererror"}}`
//! with the code repeated in the `x-ms-error-code` header (`BadRequest`, `Unauthorized`,
//! `Forbidden`, `NotFound`, `Throttled`, `ServiceUnavailable`, `Timeout`, `InternalServerError`,
//! …). Models it fronts may answer in their own OpenAI-style shape (`type`, `code` like
//! `content_filter`, `"429"`), which is read the same way. What the message says decides between
//! kinds that share a code: an exhausted quota, a too-long prompt, a content-filter block.

use http::HeaderMap;
use serde_json::Value;

use crate::error::{Error, ErrorKind};
use crate::providers::common::{ErrorFacts, facts_to_error, kind_for_status, non_json_error};
use crate::providers::openai::error::{facts, kind_of as openai_kind_of};
use crate::transport::hints;

/// The kind an Azure error code means, when it says something the status does not.
fn kind_of_code(code: &str) -> Option<ErrorKind> {
    let c = code.to_ascii_lowercase();
    Some(match c.as_str() {
        "throttled" | "toomanyrequests" | "ratelimitexceeded" | "429" => ErrorKind::RateLimited,
        "quotaexceeded" | "insufficientquota" | "insufficient_quota" => ErrorKind::QuotaExhausted,
        "content_filter" | "contentfilter" | "responsibleaipolicyviolation" => {
            ErrorKind::ContentFiltered
        }
        "context_length_exceeded" => ErrorKind::ContextWindowExceeded,
        "unauthorized" | "invalidapikey" | "invalid_api_key" | "401" => ErrorKind::Auth,
        "forbidden" | "permissiondenied" | "authorizationfailed" | "403" => {
            ErrorKind::PermissionDenied
        }
        "notfound" | "modelnotfound" | "deploymentnotfound" | "404" => ErrorKind::NotFound,
        "serviceunavailable" | "overloaded" | "503" => ErrorKind::Overloaded,
        "timeout" | "requesttimeout" | "408" | "504" => ErrorKind::Timeout,
        "internalservererror" | "internal_error" | "500" => ErrorKind::Server,
        "badrequest" | "invalidrequest" | "validationerror" | "invalid_request_error" => {
            ErrorKind::InvalidRequest
        }
        _ => return None,
    })
}

/// Classifies a parsed error body; `status` is 200 for an in-band stream error, `header_code`
/// the `x-ms-error-code` header.
pub(crate) fn classify_value(status: u16, value: &Value, header_code: Option<&str>) -> Error {
    let f = facts(value);
    let err = value.get("error").unwrap_or(value);
    let inner_code = err
        .get("innererror")
        .and_then(|i| i.get("code"))
        .and_then(Value::as_str);
    let code = f.code.clone().or_else(|| header_code.map(str::to_string));
    let by_message = openai_kind_of(status, &f);
    let kind = if inner_code.is_some_and(|c| c.eq_ignore_ascii_case("ResponsibleAIPolicyViolation"))
    {
        ErrorKind::ContentFiltered
    } else if matches!(
        by_message,
        ErrorKind::QuotaExhausted
            | ErrorKind::ContextWindowExceeded
            | ErrorKind::ContentFiltered
            | ErrorKind::Auth
    ) {
        by_message
    } else if let Some(k) = code.as_deref().and_then(kind_of_code) {
        k
    } else if let Some(k) = header_code.and_then(kind_of_code) {
        k
    } else if status == 200 {
        by_message
    } else {
        kind_for_status(status)
    };
    facts_to_error(kind, ErrorFacts { code, ..f })
}

/// Classifies an HTTP error response.
pub(crate) fn classify(status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
    let header_code = hints::header_str(headers, "x-ms-error-code");
    match serde_json::from_slice::<Value>(body) {
        Ok(v) if v.is_object() => classify_value(status, &v, header_code),
        _ => {
            let e = non_json_error(status, body);
            match header_code {
                Some(c) => {
                    let kind = kind_of_code(c).unwrap_or(e.kind());
                    Error::new(kind, e.message().to_string()).with_code(Some(c.to_string()))
                }
                None => e,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn classify_json(status: u16, code_header: Option<&str>, body: Value) -> Error {
        let mut h = HeaderMap::new();
        if let Some(c) = code_header {
            h.insert("x-ms-error-code", http::HeaderValue::from_str(c).unwrap());
        }
        classify(status, &h, body.to_string().as_bytes())
    }

    fn azure(code: &str, message: &str) -> Value {
        json!({"error":{"code":code,"message":message,"target":null,"details":[],"innererror":{}}})
    }

    #[test]
    fn table() {
        let cases: &[(u16, &str, &str, ErrorKind)] = &[
            (
                400,
                "BadRequest",
                "Missing required query parameter: api-version",
                ErrorKind::InvalidRequest,
            ),
            (
                401,
                "Unauthorized",
                "Access denied due to invalid subscription key",
                ErrorKind::Auth,
            ),
            (403, "Forbidden", "no", ErrorKind::PermissionDenied),
            (404, "NotFound", "Unknown model: gpt-x", ErrorKind::NotFound),
            (
                429,
                "Throttled",
                "Rate limit is exceeded. Try again in 6 seconds.",
                ErrorKind::RateLimited,
            ),
            (
                429,
                "Throttled",
                "You exceeded your current quota, please check your plan and billing details.",
                ErrorKind::QuotaExhausted,
            ),
            (503, "ServiceUnavailable", "busy", ErrorKind::Overloaded),
            (504, "Timeout", "timed out", ErrorKind::Timeout),
            (408, "Timeout", "timed out", ErrorKind::Timeout),
            (500, "InternalServerError", "oops", ErrorKind::Server),
            (
                400,
                "BadRequest",
                "This model's maximum context length is 128000 tokens.",
                ErrorKind::ContextWindowExceeded,
            ),
            (
                400,
                "BadRequest",
                "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
                ErrorKind::ContentFiltered,
            ),
            (
                422,
                "ValidationError",
                "extra parameters are not allowed",
                ErrorKind::InvalidRequest,
            ),
        ];
        for (status, code, message, expected) in cases {
            let e = classify_json(*status, Some(code), azure(code, message));
            assert_eq!(e.kind(), *expected, "{status} {code} {message}");
            assert_eq!(e.code(), Some(*code));
        }
    }

    #[test]
    fn innererror_and_openai_shapes() {
        let filtered = json!({"error":{"message":"filtered","type":null,"param":"prompt","code":"content_filter","status":400,
            "innererror":{"code":"ResponsibleAIPolicyViolation","content_filter_result":{}}}});
        assert_eq!(
            classify_json(400, None, filtered).kind(),
            ErrorKind::ContentFiltered
        );
        let inner_only = json!({"error":{"code":"BadRequest","message":"x","innererror":{"code":"ResponsibleAIPolicyViolation"}}});
        assert_eq!(
            classify_json(400, None, inner_only).kind(),
            ErrorKind::ContentFiltered
        );
        let openai_rl = json!({"error":{"message":"Rate limit","type":"requests","code":"429"}});
        assert_eq!(
            classify_json(429, None, openai_rl).kind(),
            ErrorKind::RateLimited
        );
    }

    #[test]
    fn the_header_code_is_used_when_the_body_has_none() {
        let e = classify_json(400, Some("ServiceUnavailable"), json!({"message":"odd"}));
        assert_eq!(e.kind(), ErrorKind::Overloaded);
        assert_eq!(e.code(), Some("ServiceUnavailable"));
        let mut h = HeaderMap::new();
        h.insert(
            "x-ms-error-code",
            http::HeaderValue::from_static("Throttled"),
        );
        let e = classify(429, &h, b"<html>Too many</html>");
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        assert_eq!(e.code(), Some("Throttled"));
        let e = classify(502, &HeaderMap::new(), b"<html>Bad gateway</html>");
        assert_eq!(e.kind(), ErrorKind::Server);
    }

    #[test]
    fn in_band_errors_classify_by_code() {
        let e = classify_value(200, &azure("ServiceUnavailable", "busy"), None);
        assert_eq!(e.kind(), ErrorKind::Overloaded);
        let e = classify_value(200, &azure("Throttled", "slow"), None);
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        let e = classify_value(200, &json!({"error":{"message":"boom"}}), None);
        assert_eq!(e.kind(), ErrorKind::Server);
    }
}
