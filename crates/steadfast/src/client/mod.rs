//! Client settings: where to send requests, with which key, and how long to wait.

mod settings;

pub use settings::ProviderSettings;
use settings::SettingsSlot;

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
        not(feature = "__bearer"),
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
        not(feature = "__bearer"),
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
    /// Calls `f` with every secret these settings hold — the API key, the values of headers
    /// marked sensitive (without a `Bearer ` prefix), and (Bedrock) the AWS secret key and
    /// session token — so errors can be scrubbed of all of them. Nothing is copied.
    pub(crate) fn for_each_secret(&self, mut f: impl FnMut(&str)) {
        if let Some(k) = &self.api_key {
            f(k.expose());
        }
        for value in self.headers.values() {
            if !value.is_sensitive() {
                continue;
            }
            if let Ok(v) = value.to_str() {
                // The whole value, then the credential after an auth scheme (`Bearer`, `Basic`,
                // any case), which an echo may show alone.
                f(v);
                if let Some((scheme, credential)) = v.split_once(' ') {
                    if !scheme.is_empty() && scheme.bytes().all(|b| b.is_ascii_alphabetic()) {
                        f(credential.trim_start());
                    }
                }
            }
        }
        self.provider_settings.for_each_secret(&mut f);
    }

    /// `e` with every secret of these settings replaced by `***` in its message and body.
    pub(crate) fn redact(&self, mut e: crate::Error) -> crate::Error {
        self.for_each_secret(|s| e.redact_in_place(s));
        e
    }
}

/// Whether a header named `name` carries a credential, by the rule [`ClientConfig::header`]
/// documents: its lower-cased name contains `auth`, `key`, `token`, `secret` or `cookie`.
pub(crate) fn is_credential_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["auth", "key", "token", "secret", "cookie"]
        .iter()
        .any(|part| name.contains(part))
}

/// Timeouts for one HTTP attempt.
///
/// # Default
/// connect 10 s, no separate first-byte limit, 120 s idle between stream chunks, 600 s total
/// (the total matches the official OpenAI and Anthropic SDKs).
///
/// A limit too long to be a point on the clock (`Duration::MAX`, say) is no limit.
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
/// overridable in code. Its `Debug` shows header names but no header values, and `ApiKey(***)`
/// for the key.
#[derive(Clone, Default, PartialEq)]
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
    /// Extra headers sent with every request, after (and over) the provider's own. Values marked
    /// sensitive ([`http::HeaderValue::set_sensitive`]) stay marked on the wire and are scrubbed
    /// from errors; [`header`](Self::header) and [`sensitive_header`](Self::sensitive_header)
    /// mark them for you.
    pub headers: http::HeaderMap,
    /// Settings of the provider's own, by type (Bedrock's region and credentials):
    /// see [`ProviderSettings`].
    pub(crate) provider_settings: SettingsSlot,
    /// The first header a setter could not store (its name, never its value): every request then
    /// fails with [`ErrorKind::Config`](crate::ErrorKind::Config).
    pub(crate) invalid_header: Option<Arc<str>>,
}

impl ClientConfig {
    /// The provider settings of type `T`, when set.
    pub fn provider_settings<T: ProviderSettings>(&self) -> Option<&T> {
        self.provider_settings.get::<T>()
    }

    /// These settings with `settings` as the provider settings of its type (replacing any).
    #[must_use]
    pub fn with_provider_settings<T: ProviderSettings>(mut self, settings: T) -> Self {
        self.provider_settings.set(settings);
        self
    }

    /// Changes the provider settings of type `T` (a default one when there is none) with `f`.
    pub fn update_provider_settings<T: ProviderSettings + Default>(
        &mut self,
        f: impl FnOnce(&mut T),
    ) {
        self.provider_settings.update(f);
    }

    /// What the provider settings add to a target's place (Bedrock: the region); empty when
    /// nothing.
    pub(crate) fn placement(&self) -> String {
        self.provider_settings.placement()
    }
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        /// Header names only: values may be credentials.
        struct Names<'a>(&'a http::HeaderMap);
        impl fmt::Debug for Names<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_list()
                    .entries(self.0.keys().map(http::HeaderName::as_str))
                    .finish()
            }
        }
        let mut d = f.debug_struct("ClientConfig");
        d.field("base_url", &self.base_url)
            .field("api_key", &self.api_key)
            .field("api_version", &self.api_version)
            .field("timeouts", &self.timeouts)
            .field("headers", &Names(&self.headers));
        d.field("provider_settings", &self.provider_settings);
        if let Some(name) = &self.invalid_header {
            d.field("invalid_header", name);
        }
        d.finish()
    }
}

impl ClientConfig {
    /// Sets a header sent with every request, replacing an earlier one of that name.
    ///
    /// The value is marked sensitive — hidden from the HTTP stack's `Debug` and scrubbed from
    /// errors — when the name names a credential: its lower-cased form contains `auth`, `key`,
    /// `token`, `secret` or `cookie` (so `authorization`, `proxy-authorization`, `api-key`,
    /// `x-api-key` and `cookie` all are). Use [`sensitive_header`](Self::sensitive_header) for a
    /// credential under any other name.
    ///
    /// An invalid name or value is not stored: every request made with these settings then fails
    /// with [`ErrorKind::Config`](crate::ErrorKind::Config), naming the header but not its value.
    #[must_use]
    pub fn header(mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        let name = name.as_ref();
        self.set_header(name, value.as_ref(), is_credential_header(name));
        self
    }

    /// Sets a header whose value is a credential: like [`header`](Self::header), but always
    /// marked sensitive.
    #[must_use]
    pub fn sensitive_header(mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        self.set_header(name.as_ref(), value.as_ref(), true);
        self
    }

    /// Stores one header, or remembers (by name) that it was invalid.
    pub(crate) fn set_header(&mut self, name: &str, value: &str, sensitive: bool) {
        let Ok(header) = http::HeaderName::from_bytes(name.as_bytes()) else {
            self.invalid_header
                .get_or_insert_with(|| Arc::from(format!("invalid header name `{name}`")));
            return;
        };
        let Ok(mut v) = http::HeaderValue::from_str(value) else {
            self.invalid_header.get_or_insert_with(|| {
                Arc::from(format!(
                    "the value of header `{header}` is not a valid header value"
                ))
            });
            return;
        };
        v.set_sensitive(sensitive);
        self.headers.insert(header, v);
    }

    /// A [`Config`](crate::ErrorKind::Config) error when a header setter was given an invalid
    /// name or value.
    #[cfg_attr(
        not(feature = "__http"),
        allow(dead_code, reason = "only the HTTP transport checks it")
    )]
    pub(crate) fn check_headers(&self) -> Result<(), crate::Error> {
        match &self.invalid_header {
            Some(msg) => Err(crate::Error::config(msg.to_string())),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod header_tests {
    use super::*;

    #[test]
    fn credential_names_are_sensitive_by_the_documented_rule() {
        for name in [
            "authorization",
            "Proxy-Authorization",
            "api-key",
            "x-api-key",
            "cookie",
            "x-goog-api-key",
            "x-amz-security-token",
            "client-secret",
        ] {
            assert!(is_credential_header(name), "{name}");
        }
        for name in ["openai-organization", "extra-parameters", "accept"] {
            assert!(!is_credential_header(name), "{name}");
        }
        let c = ClientConfig::default()
            .header("authorization", "Bearer tok-1")
            .header("openai-project", "p")
            .sensitive_header("x-custom", "tok-2");
        assert!(c.headers["authorization"].is_sensitive());
        assert!(!c.headers["openai-project"].is_sensitive());
        assert!(c.headers["x-custom"].is_sensitive());
    }

    #[test]
    fn debug_shows_header_names_but_no_values() {
        let c = ClientConfig::default()
            .header("authorization", "Bearer tok-secret-1")
            .header("openai-project", "proj-visible-not")
            .sensitive_header("x-custom", "tok-secret-2");
        let mut c = c;
        c.api_key = Some(ApiKey::new("sk-secret-3"));
        for text in [format!("{c:?}"), format!("{c:#?}")] {
            for secret in [
                "tok-secret-1",
                "proj-visible-not",
                "tok-secret-2",
                "sk-secret-3",
            ] {
                assert!(!text.contains(secret), "{text}");
            }
            assert!(
                text.contains("authorization") && text.contains("x-custom"),
                "{text}"
            );
            assert!(text.contains("ApiKey(***)"), "{text}");
        }
    }

    #[test]
    fn an_invalid_header_is_remembered_as_a_config_error_without_its_value() {
        let c = ClientConfig::default().header("x-token", "tok-bad\nvalue");
        assert!(c.headers.is_empty());
        let e = c.check_headers().unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Config);
        assert!(e.to_string().contains("x-token"), "{e}");
        assert!(!e.to_string().contains("tok-bad"), "{e}");
        assert!(!format!("{c:?}").contains("tok-bad"));
        let e = ClientConfig::default()
            .header("bad name", "v")
            .check_headers()
            .unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Config);
        assert!(ClientConfig::default().check_headers().is_ok());
    }

    #[cfg(feature = "__http")]
    #[test]
    fn secrets_are_the_sensitive_header_values_and_their_credentials() {
        let c = ClientConfig::default()
            .header("authorization", "Bearer tok-1")
            .header("openai-project", "proj")
            .sensitive_header("x-custom", "tok-2")
            .header("proxy-authorization", "basic dXNlcjpwYXNz");
        let mut secrets = Vec::new();
        c.for_each_secret(|s| secrets.push(s.to_string()));
        secrets.sort();
        assert_eq!(
            secrets,
            [
                "Bearer tok-1",
                "basic dXNlcjpwYXNz",
                "dXNlcjpwYXNz",
                "tok-1",
                "tok-2"
            ]
        );
        let e = c.redact(crate::Error::new(
            crate::ErrorKind::Auth,
            "bad Bearer tok-1, then tok-1 alone, and dXNlcjpwYXNz",
        ));
        assert_eq!(e.message(), "bad ***, then *** alone, and ***");
    }
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
