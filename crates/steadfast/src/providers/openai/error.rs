//! The one classifier for the OpenAI family: status + headers + body → error kind and facts.
//!
//! Handles OpenAI's `{"error":{"message","type","param","code"}}`, Groq's variant without `param`,
//! LiteLLM's (`code` is the HTTP status as a string), Azure's (`code` like `"429"`,
//! `"DeploymentNotFound"`, `"content_filter"`), xAI's flat `{"code","error"}` strings, and non-JSON
//! gateway pages.

use std::borrow::Cow;

use http::HeaderMap;
use serde_json::Value;

use crate::error::{Error, ErrorKind};
use crate::providers::common::{
    ErrorFacts, as_string, facts_to_error, kind_for_status, mentions_content_filter,
    mentions_context_window, non_json_error,
};

/// Reads an OpenAI-style error object from a parsed body.
pub(crate) fn facts(body: &Value) -> ErrorFacts {
    let err = body.get("error").unwrap_or(body);
    match err {
        Value::Object(o) => ErrorFacts {
            message: o.get("message").and_then(|m| match m {
                Value::String(s) => Some(s.clone()),
                other if !other.is_null() => Some(other.to_string()),
                _ => None,
            }),
            kind: o.get("type").and_then(as_string),
            code: o.get("code").and_then(as_string),
            ..ErrorFacts::default()
        },
        // xAI: {"code": "...", "error": "message"}
        Value::String(s) => ErrorFacts {
            message: Some(s.clone()),
            code: body.get("code").and_then(as_string),
            ..ErrorFacts::default()
        },
        _ => ErrorFacts::default(),
    }
}

/// Chooses the kind from the status and the body's facts.
pub(crate) fn kind_of(status: u16, f: &ErrorFacts) -> ErrorKind {
    let code = f.code.as_deref().unwrap_or("");
    let typ = f.kind.as_deref().unwrap_or("");
    let msg = f.message.as_deref().unwrap_or("");
    if typ == "insufficient_quota"
        || code == "insufficient_quota"
        || msg.contains("exceeded your current quota")
    {
        return ErrorKind::QuotaExhausted;
    }
    if code == "context_length_exceeded"
        || (matches!(status, 400 | 413) && mentions_context_window(msg))
    {
        return ErrorKind::ContextWindowExceeded;
    }
    if code == "content_filter"
        || code == "content_policy_violation"
        || (status == 400 && mentions_content_filter(msg))
    {
        return ErrorKind::ContentFiltered;
    }
    if code == "invalid_api_key" || msg.starts_with("Incorrect API key") {
        return ErrorKind::Auth;
    }
    if status == 200 {
        // An in-band stream error: the type says what it is.
        return match typ {
            "rate_limit_exceeded" | "rate_limit_error" | "tokens" | "requests" => {
                ErrorKind::RateLimited
            }
            "overloaded" | "overloaded_error" | "service_unavailable" => ErrorKind::Overloaded,
            "invalid_request_error" => ErrorKind::InvalidRequest,
            "timeout" => ErrorKind::Timeout,
            // OpenAI's overload message comes as a `server_error` ("The engine is currently
            // overloaded, please try again later."): over HTTP its 503 says so, in a stream
            // only the message does.
            _ if msg.contains("overloaded") => ErrorKind::Overloaded,
            _ => ErrorKind::Server,
        };
    }
    kind_for_status(status)
}

/// Classifies an HTTP error response (or, with status 200, an in-band stream error body).
pub(crate) fn classify(status: u16, _headers: &HeaderMap, body: &[u8]) -> Error {
    // The common shape is read straight into its fields; anything else goes through a `Value`.
    if let Ok(common) = serde_json::from_slice::<Common<'_>>(body) {
        return from_facts(
            status,
            ErrorFacts {
                message: common.error.message.map(Cow::into_owned),
                kind: common
                    .error
                    .kind
                    .map(Cow::into_owned)
                    .filter(|k| !k.is_empty()),
                code: common
                    .error
                    .code
                    .map(Cow::into_owned)
                    .filter(|c| !c.is_empty()),
                ..ErrorFacts::default()
            },
        );
    }
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return non_json_error(status, body);
    };
    classify_value(status, &value)
}

/// `{"error": {"message": "…", "type": "…", "code": "…", …}, …}` with string (or null) fields —
/// what OpenAI, Groq, LiteLLM and Azure send. A body of another shape fails to parse as this and
/// is read by [`facts`] instead, so both paths give the same facts.
#[derive(serde::Deserialize)]
struct Common<'a> {
    #[serde(borrow)]
    error: CommonFields<'a>,
}

#[derive(serde::Deserialize)]
struct CommonFields<'a> {
    #[serde(borrow, default)]
    message: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "type")]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    code: Option<Cow<'a, str>>,
}

pub(crate) fn classify_value(status: u16, value: &Value) -> Error {
    from_facts(status, facts(value))
}

fn from_facts(status: u16, f: ErrorFacts) -> Error {
    facts_to_error(kind_of(status, &f), f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kind(status: u16, body: Value) -> ErrorKind {
        classify(status, &HeaderMap::new(), body.to_string().as_bytes()).kind()
    }

    #[test]
    fn table() {
        let rl = json!({"error":{"message":"Rate limit reached for gpt-4o","type":"requests","param":null,"code":"rate_limit_exceeded"}});
        assert_eq!(kind(429, rl), ErrorKind::RateLimited);
        let quota = json!({"error":{"message":"You exceeded your current quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}});
        assert_eq!(kind(429, quota), ErrorKind::QuotaExhausted);
        let ctx = json!({"error":{"message":"This model's maximum context length is 128000 tokens","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}});
        assert_eq!(kind(400, ctx), ErrorKind::ContextWindowExceeded);
        let auth = json!({"error":{"message":"Incorrect API key provided: sk-abc***","type":"invalid_request_error","param":null,"code":"invalid_api_key"}});
        assert_eq!(kind(401, auth), ErrorKind::Auth);
        let xai = json!({"code":"Client specified an invalid argument","error":"Incorrect API key provided: xa***. You can obtain an API key from https://console.x.ai."});
        assert_eq!(kind(400, xai), ErrorKind::Auth);
        let filt = json!({"error":{"message":"The response was filtered","type":null,"param":"prompt","code":"content_filter","status":400}});
        assert_eq!(kind(400, filt), ErrorKind::ContentFiltered);
        let litellm = json!({"error":{"message":"litellm.RateLimitError: x","type":"throttling_error","param":null,"code":"429"}});
        assert_eq!(kind(429, litellm), ErrorKind::RateLimited);
        assert_eq!(
            kind(
                404,
                json!({"error":{"message":"no","code":"DeploymentNotFound"}})
            ),
            ErrorKind::NotFound
        );
        assert_eq!(
            kind(403, json!({"error":{"message":"no"}})),
            ErrorKind::PermissionDenied
        );
        assert_eq!(
            kind(
                500,
                json!({"error":{"message":"oops","type":"server_error"}})
            ),
            ErrorKind::Server
        );
        assert_eq!(
            kind(503, json!({"error":{"message":"busy"}})),
            ErrorKind::Overloaded
        );
        assert_eq!(kind(504, json!({})), ErrorKind::Timeout);
        assert_eq!(kind(408, json!({})), ErrorKind::Timeout);
        assert_eq!(kind(409, json!({})), ErrorKind::Server);
        assert_eq!(kind(422, json!({})), ErrorKind::InvalidRequest);
    }

    #[test]
    fn the_typed_path_and_the_value_path_agree() {
        let bodies = [
            json!({"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}),
            json!({"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}),
            json!({"error":{"message":"escé \"quoted\"","type":null,"code":null}}),
            json!({"error":{"message":null}}),
            json!({"error":{}}),
            json!({"error":{"message":"n","code":429}}),
            json!({"error":{"message":{"nested":true},"code":"x"}}),
            json!({"error":"flat","code":"xai"}),
            json!({"message":"no envelope","code":"c"}),
        ];
        for body in bodies {
            let raw = body.to_string();
            let typed = classify(429, &HeaderMap::new(), raw.as_bytes());
            let by_value = classify_value(429, &body);
            assert_eq!(typed.kind(), by_value.kind(), "{raw}");
            assert_eq!(typed.message(), by_value.message(), "{raw}");
            assert_eq!(typed.code(), by_value.code(), "{raw}");
        }
        let e = classify(
            429,
            &HeaderMap::new(),
            br#"{"error":{"message":"n","code":429}}"#,
        );
        assert_eq!(e.code(), Some("429"));
    }

    #[test]
    fn in_band_errors_classify_by_type() {
        let e = classify_value(
            200,
            &json!({"error":{"message":"The server had an error","type":"server_error","param":null,"code":null}}),
        );
        assert_eq!(e.kind(), ErrorKind::Server);
        assert_eq!(e.code(), Some("server_error"));
        let e = classify_value(
            200,
            &json!({"error":{"message":"slow","type":"rate_limit_exceeded"}}),
        );
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        let e = classify_value(
            200,
            &json!({"error":{"message":"The engine is currently overloaded, please try again later.","type":"server_error"}}),
        );
        assert_eq!(e.kind(), ErrorKind::Overloaded);
    }

    #[test]
    fn html_gateway_pages_are_handled() {
        let e = classify(
            502,
            &HeaderMap::new(),
            b"<html><body>Bad gateway</body></html>",
        );
        assert_eq!(e.kind(), ErrorKind::Server);
        assert!(e.message().contains("HTML"));
        let e = classify(503, &HeaderMap::new(), b"<!DOCTYPE html><title>503</title>");
        assert_eq!(e.kind(), ErrorKind::Overloaded);
        let e = classify(500, &HeaderMap::new(), b"");
        assert_eq!(e.kind(), ErrorKind::Server);
    }
}
