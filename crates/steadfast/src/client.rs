//! Client settings: where to send requests, with which key, and how long to wait.

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// An API key or token. Its `Debug` prints `***`; it has no `Display`, so it cannot end up in a
/// log line or an error message by accident.
#[derive(Clone)]
pub struct ApiKey(Arc<KeyInner>);

struct KeyInner {
    key: Box<str>,
    /// `Bearer <key>` as a sensitive header value, made once on first use.
    #[cfg_attr(
        not(any(feature = "openai", feature = "bedrock", feature = "cohere")),
        allow(dead_code, reason = "only bearer-token providers use it")
    )]
    bearer: OnceLock<Option<http::HeaderValue>>,
}

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(Arc::new(KeyInner {
            key: key.into().into_boxed_str(),
            bearer: OnceLock::new(),
        }))
    }

    /// The key itself, for building the request header. Keep it out of logs.
    pub fn expose(&self) -> &str {
        &self.0.key
    }

    #[cfg_attr(
        not(any(feature = "openai", feature = "bedrock", feature = "cohere")),
        allow(dead_code, reason = "only bearer-token providers use it")
    )]
    /// `Authorization: Bearer <key>`, marked sensitive; `None` when the key cannot be a header
    /// value (a control character, say). Built once per key, then a reference count per request.
    pub(crate) fn bearer(&self) -> Option<http::HeaderValue> {
        self.0
            .bearer
            .get_or_init(|| {
                let mut v =
                    http::HeaderValue::from_str(&format!("Bearer {}", self.expose())).ok()?;
                v.set_sensitive(true);
                Some(v)
            })
            .clone()
    }
}

impl PartialEq for ApiKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.key == other.0.key
    }
}

impl Eq for ApiKey {}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

impl From<&str> for ApiKey {
    fn from(s: &str) -> Self {
        ApiKey::new(s)
    }
}

impl From<String> for ApiKey {
    fn from(s: String) -> Self {
        ApiKey::new(s)
    }
}

#[cfg(feature = "__http")]
impl ClientConfig {
    /// Calls `f` with every secret these settings hold — the API key, bearer tokens in headers,
    /// and (Bedrock) the AWS secret key and session token — so errors can be scrubbed of all of
    /// them. Nothing is copied.
    pub(crate) fn for_each_secret(&self, mut f: impl FnMut(&str)) {
        if let Some(k) = &self.api_key {
            f(k.expose());
        }
        for (name, value) in &self.headers {
            if name.eq_ignore_ascii_case("authorization") || name.eq_ignore_ascii_case("api-key") {
                f(value.strip_prefix("Bearer ").unwrap_or(value));
            }
        }
        #[cfg(feature = "bedrock")]
        if let Some(aws) = &self.aws {
            for k in aws.secrets() {
                f(k.expose());
            }
        }
    }

    /// `e` with every secret of these settings replaced by `***` in its message and body.
    pub(crate) fn redact(&self, mut e: crate::Error) -> crate::Error {
        self.for_each_secret(|s| e.redact_in_place(s));
        e
    }
}

/// Timeouts for one HTTP attempt.
///
/// # Default
/// connect 10 s, no separate first-byte limit, 120 s idle between stream chunks, 600 s total
/// (the total matches the official OpenAI and Anthropic SDKs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeouts {
    /// Establishing the TCP/TLS connection.
    pub connect: Duration,
    /// From sending the request to receiving the response headers.
    pub first_byte: Option<Duration>,
    /// Between two chunks of a streamed body.
    pub idle: Option<Duration>,
    /// The whole attempt, body included.
    pub total: Option<Duration>,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            first_byte: None,
            idle: Some(Duration::from_secs(120)),
            total: Some(Duration::from_secs(600)),
        }
    }
}

impl Timeouts {
    /// Sets the connect timeout.
    #[must_use]
    pub const fn connect(mut self, d: Duration) -> Self {
        self.connect = d;
        self
    }

    /// Sets the first-byte timeout.
    #[must_use]
    pub const fn first_byte(mut self, d: Duration) -> Self {
        self.first_byte = Some(d);
        self
    }

    /// Sets the idle timeout between stream chunks.
    #[must_use]
    pub const fn idle(mut self, d: Duration) -> Self {
        self.idle = Some(d);
        self
    }

    /// Sets the total timeout.
    #[must_use]
    pub const fn total(mut self, d: Duration) -> Self {
        self.total = Some(d);
        self
    }
}

/// Where and how a provider is reached: base URL, credentials, timeouts, extra headers.
///
/// Filled from the provider's conventional environment variables when a call is created, and
/// overridable in code.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The base URL, in the official SDK's convention for the provider (OpenAI's includes `/v1`).
    pub base_url: Option<String>,
    /// The API key.
    pub api_key: Option<ApiKey>,
    /// The API version (Azure `api-version`, Anthropic `anthropic-version`).
    pub api_version: Option<String>,
    /// Timeouts.
    pub timeouts: Timeouts,
    /// Extra headers sent with every request.
    pub headers: Vec<(String, String)>,
    /// AWS settings of the Bedrock provider: region and SigV4 credentials (secrets hidden from
    /// `Debug`). See [`providers::bedrock`](crate::providers::bedrock).
    #[cfg(feature = "bedrock")]
    pub aws: Option<crate::providers::bedrock::AwsConfig>,
}

#[cfg(all(test, feature = "__bearer"))]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_header_is_made_once_and_marked_sensitive() {
        let key = ApiKey::new("sk-test-123456");
        let v = key.bearer().unwrap();
        assert_eq!(v.to_str().unwrap(), "Bearer sk-test-123456");
        assert!(v.is_sensitive());
        // A clone shares the cached value.
        assert_eq!(key.clone().bearer(), Some(v));
        assert_eq!(format!("{key:?}"), "ApiKey(***)");
    }

    #[test]
    fn a_key_that_cannot_be_a_header_is_a_config_error_without_the_key() {
        let key = ApiKey::new("sk-bad\nkey");
        assert_eq!(key.bearer(), None);
        let mut req = crate::transport::HttpRequest::json("http://x".into(), &1).unwrap();
        let e = req.bearer(&key).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Config);
        assert!(!e.to_string().contains("sk-bad"));
    }
}
