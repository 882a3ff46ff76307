//! The one error type of the crate: [`Error`], classified by [`ErrorKind`].
//!
//! Every failure — a provider's HTTP error, a dropped connection, a stream that ends without its
//! terminator, model output that fails validation, a bad configuration — is an [`Error`]. It is
//! opaque and cheap to move (one box), and answers the questions a resilience policy asks:
//!
//! - **what happened**: [`Error::kind`], a `#[non_exhaustive]` [`ErrorKind`];
//! - **who said so**: [`Error::provider`], [`Error::model`], [`Error::status`],
//!   [`Error::request_id`], [`Error::code`] (the provider's own error type or code);
//! - **what the server advised**: [`Error::retry_after`] (from `retry-after`, `retry-after-ms` or
//!   Gemini's `RetryInfo`), [`Error::should_retry`] (`x-should-retry`);
//! - **whether to try again**: [`Error::is_retryable`], the default hint used by
//!   [`Retry::llm_default`](crate::retry::Retry);
//! - **what was produced before it failed**: [`Error::partial`] for interrupted streams,
//!   [`Error::validation`] for output that failed validation.
//!
//! # Transient and permanent errors
//!
//! Retryable by default: [`ErrorKind::RateLimited`], [`ErrorKind::Overloaded`],
//! [`ErrorKind::Server`], [`ErrorKind::Timeout`], [`ErrorKind::Connect`] and
//! [`ErrorKind::StreamInterrupted`]. Everything else is permanent unless the server says otherwise
//! with `x-should-retry: true`; `x-should-retry: false` makes any error permanent.
//!
//! # What never appears in an error
//!
//! `Display` covers only this error's own level (the cause is reachable through
//! [`std::error::Error::source`]) and never contains the prompt, a response body or an API key.
//! The raw body is kept apart, in [`Error::body`], for logging by callers who choose to.
//!
//! # Errors of a custom provider
//!
//! A [`Provider`](crate::Provider) outside this crate states the same facts as the built-in ones
//! with the `with_*` setters: [`with_status`](Error::with_status),
//! [`with_retry_after`](Error::with_retry_after) (the server's hint, which retry policies honour),
//! [`with_should_retry`](Error::with_should_retry), [`with_request_id`](Error::with_request_id),
//! [`with_code`](Error::with_code), [`with_body`](Error::with_body) (after
//! [`redacted`](Error::redacted)), [`with_source`](Error::with_source), and
//! [`with_provider`](Error::with_provider) / [`with_model`](Error::with_model). The history of a
//! resilient call (attempts, why retries stopped, what fallback caught) is kept by the crate.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::message::{Part, ToolCall};
use crate::response::AttemptSummary;

mod convert;
mod kind;

pub use kind::{ErrorKind, UnknownErrorKind};

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A string that errors and attempt summaries can hold: an `Arc<str>` is shared (a reference
/// count), a `str` is copied once.
pub(crate) trait SharedStr {
    fn share(&self) -> Arc<str>;
}

impl SharedStr for str {
    fn share(&self) -> Arc<str> {
        Arc::from(self)
    }
}

impl SharedStr for String {
    fn share(&self) -> Arc<str> {
        Arc::from(self.as_str())
    }
}

impl SharedStr for Arc<str> {
    fn share(&self) -> Arc<str> {
        Arc::clone(self)
    }
}

/// What a stream had delivered before it was interrupted.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct PartialOutput {
    /// The text received so far.
    pub text: String,
    /// The tool calls whose arguments were complete when the stream failed.
    pub tool_calls: Vec<ToolCall>,
}

/// Why model output failed validation, and what that output was.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ValidationFailure {
    /// The validator's message (schema violation, parse error, custom rule).
    pub message: String,
    /// The raw output that failed: the text, the JSON, or the tool-call arguments as received.
    pub raw: String,
    /// The tool whose arguments failed, when the failure is about a tool call.
    pub tool: Option<String>,
    /// The id of the failing tool call, when known (used to answer it in conversational reinsertion).
    pub tool_call_id: Option<String>,
    /// The provider's signature of the failing tool call (Gemini's `thoughtSignature`), which
    /// conversational reinsertion gives back with the call.
    pub tool_call_signature: Option<String>,
    /// What the model produced before the failing output in the same answer — its reasoning
    /// (with signatures) and provider blocks — which conversational reinsertion gives back, in
    /// order, before it (thinking models reject a tool call sent back without its thinking).
    pub model_parts: Vec<Part>,
}

/// The error type of every fallible operation in Steadfast. See the [module docs](self).
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    message: Cow<'static, str>,
    provider: Option<Arc<str>>,
    model: Option<Arc<str>>,
    status: Option<u16>,
    code: Option<String>,
    request_id: Option<String>,
    retry_after: Option<Duration>,
    should_retry: Option<bool>,
    body: Option<String>,
    partial: Option<PartialOutput>,
    validation: Option<ValidationFailure>,
    history: Option<Box<History>>,
    source: Option<BoxError>,
}

/// What a resilient call went through before failing: every HTTP attempt, why the retries
/// stopped, and the errors fallback caught on the way.
#[derive(Debug, Default)]
struct History {
    attempts: Vec<AttemptSummary>,
    stopped: Option<String>,
    caught: Vec<Error>,
}

impl Error {
    /// A new error of `kind` with a message (which must not contain secrets or prompt text).
    pub fn new(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                provider: None,
                model: None,
                status: None,
                code: None,
                request_id: None,
                retry_after: None,
                should_retry: None,
                body: None,
                partial: None,
                validation: None,
                history: None,
                source: None,
            }),
        }
    }

    /// A configuration error.
    pub fn config(message: impl Into<Cow<'static, str>>) -> Self {
        Error::new(ErrorKind::Config, message)
    }

    /// A validation error for `raw` output that failed with `message`.
    ///
    /// This is what validators return; the message is what error reinsertion shows the model.
    pub fn validation(message: impl Into<String>, raw: impl Into<String>) -> Self {
        let message = message.into();
        let mut e = Error::new(ErrorKind::Validation, message.clone());
        e.inner.validation = Some(ValidationFailure {
            message,
            raw: raw.into(),
            tool: None,
            tool_call_id: None,
            tool_call_signature: None,
            model_parts: Vec::new(),
        });
        e
    }

    /// A validation error about the arguments of a tool call.
    pub fn tool_validation(call: &ToolCall, message: impl Into<String>) -> Self {
        let message = message.into();
        let mut e = Error::new(
            ErrorKind::Validation,
            format!("invalid arguments for tool `{}`: {message}", call.name),
        );
        e.inner.validation = Some(ValidationFailure {
            message,
            raw: call.arguments.clone(),
            tool: Some(call.name.clone()),
            tool_call_id: Some(call.id.clone()),
            tool_call_signature: call.signature.clone(),
            model_parts: Vec::new(),
        });
        e
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// This error's own message, without its kind, provider or cause.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The provider that reported the error (`"openai"`, `"anthropic"`, …), when there was one.
    pub fn provider(&self) -> Option<&str> {
        self.inner.provider.as_deref()
    }

    /// The model the failing request was for.
    pub fn model(&self) -> Option<&str> {
        self.inner.model.as_deref()
    }

    /// The HTTP status of the failing response (for in-band stream errors, the status of the stream).
    pub fn status(&self) -> Option<u16> {
        self.inner.status
    }

    /// The provider's own error type or code (`rate_limit_exceeded`, `overloaded_error`, …).
    pub fn code(&self) -> Option<&str> {
        self.inner.code.as_deref()
    }

    /// The provider's request id (`x-request-id`, `request-id`, …), for support tickets.
    pub fn request_id(&self) -> Option<&str> {
        self.inner.request_id.as_deref()
    }

    /// The minimum wait the server asked for before trying again.
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    /// The server's explicit verdict on retrying (`x-should-retry`), when it gave one.
    pub fn should_retry(&self) -> Option<bool> {
        self.inner.should_retry
    }

    /// Whether retrying is likely to help: the server's `x-should-retry` if given, otherwise
    /// [`ErrorKind::is_transient`].
    pub fn is_retryable(&self) -> bool {
        self.inner
            .should_retry
            .unwrap_or_else(|| self.inner.kind.is_transient())
    }

    /// The raw response body of a provider error (truncated to 64 KiB). Never shown by `Display`.
    pub fn body(&self) -> Option<&str> {
        self.inner.body.as_deref()
    }

    /// What an interrupted stream had delivered before it failed.
    pub fn partial(&self) -> Option<&PartialOutput> {
        self.inner.partial.as_ref()
    }

    /// The validation failure, for [`ErrorKind::Validation`] errors.
    pub fn validation_failure(&self) -> Option<&ValidationFailure> {
        self.inner.validation.as_ref()
    }

    /// Every HTTP attempt a resilient call made before this error, oldest first (empty for an
    /// error of a single plain call).
    pub fn attempts(&self) -> &[AttemptSummary] {
        self.inner.history.as_ref().map_or(&[], |h| &h.attempts)
    }

    /// Why a retry policy stopped (`"stop condition"`, `"hint above cap"`, …), when this error ended
    /// retries that ran out.
    pub fn retry_stopped(&self) -> Option<&str> {
        self.inner
            .history
            .as_ref()
            .and_then(|h| h.stopped.as_deref())
    }

    /// The errors a fallback chain caught before this one, in order (primary first).
    pub fn caught(&self) -> &[Error] {
        self.inner.history.as_ref().map_or(&[], |h| &h.caught)
    }

    /// True for [`ErrorKind::RateLimited`].
    pub fn is_rate_limited(&self) -> bool {
        self.kind() == ErrorKind::RateLimited
    }

    /// True for [`ErrorKind::Validation`].
    pub fn is_validation(&self) -> bool {
        self.kind() == ErrorKind::Validation
    }

    /// True for [`ErrorKind::Timeout`].
    pub fn is_timeout(&self) -> bool {
        self.kind() == ErrorKind::Timeout
    }

    // ---- facts, set by providers (built in or third-party) ----

    /// Names the provider that reported the error (replacing any name already set).
    ///
    /// The resilient forms ([`Call::retry`](crate::Call::retry),
    /// [`Call::fallback`](crate::Call::fallback)) and streams fill in the call's provider and model
    /// when the error names none; a plain [`Call::send`](crate::Call::send) returns the provider's
    /// error as it is.
    pub fn with_provider(mut self, provider: impl Into<String>) -> Self {
        self.inner.provider = Some(Arc::from(provider.into()));
        self
    }

    /// Names the model the failing request was for (replacing any model already set).
    pub fn with_model(mut self, model: impl Into<String>) -> Self {
        self.inner.model = Some(Arc::from(model.into()));
        self
    }

    /// Sets the HTTP status of the failing response; [`Error::status`] reports it, and so does the
    /// attempt's [`AttemptSummary::status`] in a resilient call.
    ///
    /// # Example
    /// ```
    /// use std::time::Duration;
    /// use steadfast::{Error, ErrorKind};
    ///
    /// // What a custom provider returns for a 429 with `retry-after: 2`.
    /// let e = Error::new(ErrorKind::RateLimited, "slow down")
    ///     .with_status(429)
    ///     .with_retry_after(Some(Duration::from_secs(2)))
    ///     .with_request_id(Some("req-42".into()))
    ///     .with_code(Some("rate_limit_exceeded".into()));
    /// assert_eq!(e.status(), Some(429));
    /// assert_eq!(e.retry_after(), Some(Duration::from_secs(2)));
    /// assert_eq!(e.request_id(), Some("req-42"));
    /// assert!(e.is_retryable());
    /// ```
    pub fn with_status(mut self, status: u16) -> Self {
        self.inner.status = Some(status);
        self
    }

    /// Sets (or with `None` clears) the provider's own error type or code.
    pub fn with_code(mut self, code: Option<String>) -> Self {
        self.inner.code = code;
        self
    }

    /// Sets (or with `None` clears) the provider's request id, for support tickets.
    pub fn with_request_id(mut self, id: Option<String>) -> Self {
        self.inner.request_id = id;
        self
    }

    /// Sets (or with `None` clears) the server's hint: the minimum wait before trying again.
    ///
    /// Retry policies honour it: the wait after this attempt is at least the hint, and a policy
    /// with a [`hint_cap`](crate::retry::Retry::hint_cap) gives up when the hint is above the cap.
    pub fn with_retry_after(mut self, wait: Option<Duration>) -> Self {
        self.inner.retry_after = wait;
        self
    }

    /// Sets (or with `None` clears) the server's explicit verdict on retrying, which overrides the
    /// kind in [`Error::is_retryable`].
    ///
    /// # Example
    /// ```
    /// use steadfast::{Error, ErrorKind};
    ///
    /// let e = Error::new(ErrorKind::Server, "maintenance").with_should_retry(Some(false));
    /// assert!(!e.is_retryable(), "the server said no, whatever the kind");
    /// ```
    pub fn with_should_retry(mut self, should_retry: Option<bool>) -> Self {
        self.inner.should_retry = should_retry;
        self
    }

    /// Keeps the raw response body (truncated to 64 KiB on a character boundary) in
    /// [`Error::body`]. `Display` never shows it; remove credentials from it first, or with
    /// [`redacted`](Error::redacted).
    pub fn with_body(mut self, body: Option<String>) -> Self {
        const MAX: usize = 64 * 1024;
        self.inner.body = body.map(|mut b| {
            if b.len() > MAX {
                let mut cut = MAX;
                while !b.is_char_boundary(cut) {
                    cut -= 1;
                }
                b.truncate(cut);
            }
            b
        });
        self
    }

    /// Sets the underlying cause, reachable through [`std::error::Error::source`] (not part of
    /// `Display`).
    ///
    /// # Example
    /// ```
    /// use std::error::Error as _;
    /// use steadfast::{Error, ErrorKind};
    ///
    /// let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
    /// let e = Error::new(ErrorKind::Connect, "the connection was reset").with_source(io);
    /// assert_eq!(e.source().unwrap().to_string(), "reset by peer");
    /// ```
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.inner.source = Some(source.into());
        self
    }

    /// Replaces every occurrence of `secret` (an API key, a token) in the message and the body
    /// with `***`. Secrets shorter than 4 bytes are left alone.
    ///
    /// # Example
    /// ```
    /// use steadfast::{Error, ErrorKind};
    ///
    /// let e = Error::new(ErrorKind::Auth, "bad key sk-abc123")
    ///     .with_body(Some(r#"{"key":"sk-abc123"}"#.into()))
    ///     .redacted("sk-abc123");
    /// assert_eq!(e.message(), "bad key ***");
    /// assert_eq!(e.body(), Some(r#"{"key":"***"}"#));
    /// ```
    pub fn redacted(mut self, secret: &str) -> Self {
        self.redact_in_place(secret);
        self
    }

    // ---- history and context, kept by the crate's own layers ----

    /// Records, on a validation error, the reasoning and provider parts of the answer that came
    /// before the failing output (see [`ValidationFailure::model_parts`]).
    pub(crate) fn with_model_parts(mut self, parts: impl FnOnce() -> Vec<Part>) -> Self {
        if let Some(v) = self.inner.validation.as_mut() {
            if v.model_parts.is_empty() {
                v.model_parts = parts();
            }
        }
        self
    }

    pub(crate) fn with_partial(mut self, partial: PartialOutput) -> Self {
        self.inner.partial = Some(partial);
        self
    }

    /// A copy for a history list: every fact, but the cause is kept only as its message (causes
    /// are not cloneable).
    pub(crate) fn clone_for_history(&self) -> Error {
        let i = &self.inner;
        Error {
            inner: Box::new(Inner {
                kind: i.kind,
                message: i.message.clone(),
                provider: i.provider.clone(),
                model: i.model.clone(),
                status: i.status,
                code: i.code.clone(),
                request_id: i.request_id.clone(),
                retry_after: i.retry_after,
                should_retry: i.should_retry,
                body: i.body.clone(),
                partial: i.partial.clone(),
                validation: i.validation.clone(),
                history: i.history.as_ref().map(|h| {
                    Box::new(History {
                        attempts: h.attempts.clone(),
                        stopped: h.stopped.clone(),
                        caught: h.caught.iter().map(Error::clone_for_history).collect(),
                    })
                }),
                source: i.source.as_ref().map(|s| BoxError::from(s.to_string())),
            }),
        }
    }

    pub(crate) fn with_attempts(mut self, attempts: Vec<AttemptSummary>) -> Self {
        self.inner
            .history
            .get_or_insert_with(Default::default)
            .attempts = attempts;
        self
    }

    pub(crate) fn with_retry_stopped(mut self, reason: String) -> Self {
        self.inner
            .history
            .get_or_insert_with(Default::default)
            .stopped = Some(reason);
        self
    }

    pub(crate) fn with_caught(mut self, caught: Vec<Error>) -> Self {
        self.inner
            .history
            .get_or_insert_with(Default::default)
            .caught = caught;
        self
    }

    /// Fills provider and model when the error does not name them yet.
    pub(crate) fn in_context<P, M>(mut self, provider: &P, model: &M) -> Self
    where
        P: SharedStr + ?Sized,
        M: SharedStr + ?Sized,
    {
        if self.inner.provider.is_none() {
            self.inner.provider = Some(provider.share());
        }
        if self.inner.model.is_none() {
            self.inner.model = Some(model.share());
        }
        self
    }

    /// Replaces every occurrence of `secret` in the message and body with `***`.
    pub(crate) fn redact_in_place(&mut self, secret: &str) {
        if secret.len() < 4 {
            return;
        }
        if self.inner.message.contains(secret) {
            self.inner.message = Cow::Owned(self.inner.message.replace(secret, "***"));
        }
        if let Some(body) = self.inner.body.as_mut() {
            if body.contains(secret) {
                *body = body.replace(secret, "***");
            }
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        let mut d = f.debug_struct("Error");
        d.field("kind", &i.kind).field("message", &i.message);
        if let Some(p) = &i.provider {
            d.field("provider", p);
        }
        if let Some(m) = &i.model {
            d.field("model", m);
        }
        if let Some(s) = i.status {
            d.field("status", &s);
        }
        if let Some(c) = &i.code {
            d.field("code", c);
        }
        if let Some(r) = &i.request_id {
            d.field("request_id", r);
        }
        if let Some(r) = i.retry_after {
            d.field("retry_after", &r);
        }
        if let Some(r) = i.should_retry {
            d.field("should_retry", &r);
        }
        if let Some(p) = &i.partial {
            d.field("partial_text_len", &p.text.len())
                .field("partial_tool_calls", &p.tool_calls.len());
        }
        if let Some(h) = &i.history {
            d.field("attempts", &h.attempts.len());
            if let Some(s) = &h.stopped {
                d.field("retry_stopped", s);
            }
            if !h.caught.is_empty() {
                d.field("caught", &h.caught);
            }
        }
        if let Some(s) = &i.source {
            d.field("source", s);
        }
        d.finish_non_exhaustive()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        if let Some(h) = &i.history {
            if !h.caught.is_empty() {
                f.write_str("every fallback target failed: ")?;
                for (n, e) in h.caught.iter().enumerate() {
                    write!(f, "[{}] {e}; ", n + 1)?;
                }
                write!(f, "[{}] ", h.caught.len() + 1)?;
            }
            // The attempts list spans every target of a fallback chain; this target's own retries
            // are what is left after the caught errors' attempts.
            let earlier: usize = h.caught.iter().map(|e| e.attempts().len()).sum();
            let own = h.attempts.len().saturating_sub(earlier);
            if h.stopped.is_some() && own > 1 {
                write!(f, "gave up after {own} attempts: ")?;
            }
        }
        f.write_str(i.kind.describe())?;
        match (&i.provider, i.status) {
            (Some(p), Some(s)) => write!(f, " ({p}, HTTP {s})")?,
            (Some(p), None) => write!(f, " ({p})")?,
            (None, Some(s)) => write!(f, " (HTTP {s})")?,
            (None, None) => {}
        }
        if !i.message.is_empty() {
            write!(f, ": {}", i.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_ref()
            .map(|s| &**s as &(dyn std::error::Error + 'static))
    }
}

/// A convenient alias: `Result<T, steadfast::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_kind_provider_status_and_message_only() {
        let e = Error::new(ErrorKind::RateLimited, "slow down")
            .with_provider("openai")
            .with_status(429)
            .with_body(Some("{\"secret\":\"body\"}".into()));
        assert_eq!(e.to_string(), "rate limited (openai, HTTP 429): slow down");
        assert!(!e.to_string().contains("secret"));
    }

    #[test]
    fn should_retry_overrides_kind() {
        let e = Error::new(ErrorKind::RateLimited, "x");
        assert!(e.is_retryable());
        assert!(!e.with_should_retry(Some(false)).is_retryable());
        let e = Error::new(ErrorKind::InvalidRequest, "x").with_should_retry(Some(true));
        assert!(e.is_retryable());
    }

    #[test]
    fn redact_removes_the_key_from_message_and_body() {
        let mut e = Error::new(
            ErrorKind::Auth,
            "Incorrect API key provided: sk-test-123456",
        )
        .with_body(Some("key sk-test-123456".into()));
        e.redact_in_place("sk-test-123456");
        assert!(!e.message().contains("sk-test-123456"));
        assert!(!e.body().unwrap().contains("sk-test-123456"));
    }

    #[test]
    fn body_is_truncated_on_a_char_boundary() {
        let body = "é".repeat(40_000);
        let e = Error::new(ErrorKind::Server, "x").with_body(Some(body));
        assert!(e.body().unwrap().len() <= 64 * 1024);
    }
}
