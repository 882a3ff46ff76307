//! [`ErrorKind`], what went wrong, and its names.

use std::fmt;

/// What went wrong, in provider-independent terms.
///
/// New kinds may be added in minor releases, so `match` on it with a wildcard arm.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Too many requests for the current rate limit (HTTP 429 and equivalents). Transient.
    RateLimited,
    /// The account's quota or credit is used up (OpenAI `insufficient_quota`, Anthropic 402). Retrying
    /// will not help until someone pays or the quota resets.
    QuotaExhausted,
    /// The provider is overloaded (Anthropic 529 `overloaded_error`, HTTP 503). Transient.
    Overloaded,
    /// The provider failed internally (HTTP 5xx, 409). Transient.
    Server,
    /// A timeout: connect, first byte, idle between stream chunks, total, or the server's 408/504.
    Timeout,
    /// The connection could not be established or was reset before a response arrived.
    Connect,
    /// The credentials were missing or rejected (HTTP 401, invalid API key).
    Auth,
    /// The credentials are valid but not allowed to do this (HTTP 403).
    PermissionDenied,
    /// The model, deployment or endpoint does not exist (HTTP 404).
    NotFound,
    /// The provider rejected the request as malformed (HTTP 400, 413, 422).
    InvalidRequest,
    /// The prompt plus the requested output do not fit the model's context window.
    ContextWindowExceeded,
    /// The provider's content filter blocked the prompt or the output.
    ContentFiltered,
    /// The model's output did not validate: malformed tool arguments, structured output that does not
    /// match its schema or fails a validator, or a refusal where output was required.
    Validation,
    /// A response could not be decoded (invalid JSON, malformed SSE or eventstream frame).
    Decode,
    /// A stream failed after it had started delivering content; see [`Error::partial`](crate::Error::partial).
    StreamInterrupted,
    /// The provider cannot do what was asked (for example a parameter it does not support).
    Unsupported,
    /// Steadfast was configured incorrectly (unknown provider, missing API key, bad base URL).
    Config,
    /// The operation was cancelled.
    Cancelled,
    /// Refused by the local quota before anything was sent: the caller's own client-side
    /// admission ([`quota`](crate::quota)) said no, because the request could never fit the quota
    /// or because waiting was not allowed (fail-fast). Only produced when a quota is configured;
    /// the error's [`retry_after`](crate::Error::retry_after) says when the quota would admit it,
    /// if ever. Not transient (failing fast means not waiting here): a
    /// [`Fallback`](crate::retry::Fallback) catching it moves to a backup before a doomed request
    /// is sent.
    QuotaRefused,
}

impl ErrorKind {
    /// Every kind, in declaration order.
    ///
    /// A slice, not an array: its length grows when a kind is added (the enum is
    /// `#[non_exhaustive]`), and that must not break code that names the type.
    pub const ALL: &'static [ErrorKind] = &[
        ErrorKind::RateLimited,
        ErrorKind::QuotaExhausted,
        ErrorKind::Overloaded,
        ErrorKind::Server,
        ErrorKind::Timeout,
        ErrorKind::Connect,
        ErrorKind::Auth,
        ErrorKind::PermissionDenied,
        ErrorKind::NotFound,
        ErrorKind::InvalidRequest,
        ErrorKind::ContextWindowExceeded,
        ErrorKind::ContentFiltered,
        ErrorKind::Validation,
        ErrorKind::Decode,
        ErrorKind::StreamInterrupted,
        ErrorKind::Unsupported,
        ErrorKind::Config,
        ErrorKind::Cancelled,
        ErrorKind::QuotaRefused,
    ];

    /// The kebab-case name used by the CLI and in JSON output, e.g. `"rate-limited"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorKind::RateLimited => "rate-limited",
            ErrorKind::QuotaExhausted => "quota-exhausted",
            ErrorKind::Overloaded => "overloaded",
            ErrorKind::Server => "server",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Connect => "connect",
            ErrorKind::Auth => "auth",
            ErrorKind::PermissionDenied => "permission-denied",
            ErrorKind::NotFound => "not-found",
            ErrorKind::InvalidRequest => "invalid-request",
            ErrorKind::ContextWindowExceeded => "context-window-exceeded",
            ErrorKind::ContentFiltered => "content-filtered",
            ErrorKind::Validation => "validation",
            ErrorKind::Decode => "decode",
            ErrorKind::StreamInterrupted => "stream-interrupted",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Config => "config",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::QuotaRefused => "quota-refused",
        }
    }

    /// Whether errors of this kind are worth retrying when the server gives no other advice.
    pub const fn is_transient(self) -> bool {
        matches!(
            self,
            ErrorKind::RateLimited
                | ErrorKind::Overloaded
                | ErrorKind::Server
                | ErrorKind::Timeout
                | ErrorKind::Connect
                | ErrorKind::StreamInterrupted
        )
    }

    /// A short human description, used in `Display`.
    pub(super) const fn describe(self) -> &'static str {
        match self {
            ErrorKind::RateLimited => "rate limited",
            ErrorKind::QuotaExhausted => "quota exhausted",
            ErrorKind::Overloaded => "overloaded",
            ErrorKind::Server => "server error",
            ErrorKind::Timeout => "timed out",
            ErrorKind::Connect => "connection failed",
            ErrorKind::Auth => "authentication failed",
            ErrorKind::PermissionDenied => "permission denied",
            ErrorKind::NotFound => "not found",
            ErrorKind::InvalidRequest => "invalid request",
            ErrorKind::ContextWindowExceeded => "context window exceeded",
            ErrorKind::ContentFiltered => "content filtered",
            ErrorKind::Validation => "validation failed",
            ErrorKind::Decode => "could not decode response",
            ErrorKind::StreamInterrupted => "stream interrupted",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Config => "configuration error",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::QuotaRefused => "refused by the local quota",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Returned when a string names no [`ErrorKind`].
///
/// ```
/// use steadfast::ErrorKind;
///
/// let err = "rate-limted".parse::<ErrorKind>().unwrap_err();
/// assert_eq!(err.input(), "rate-limted");
/// assert!(err.to_string().contains("rate-limited"), "the message lists the kinds");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown error kind `{input}` (expected one of: {list})", list = kind_list())]
pub struct UnknownErrorKind {
    input: String,
}

impl UnknownErrorKind {
    /// The string that names no kind, as given.
    pub fn input(&self) -> &str {
        &self.input
    }
}

fn kind_list() -> String {
    ErrorKind::ALL
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl std::str::FromStr for ErrorKind {
    type Err = UnknownErrorKind;

    /// Parses the kebab-case name (`rate-limited`); `_` is accepted for `-` and case is ignored.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = s.trim().to_ascii_lowercase().replace('_', "-");
        ErrorKind::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == norm)
            .ok_or_else(|| UnknownErrorKind {
                input: s.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_names() {
        for &k in ErrorKind::ALL {
            assert_eq!(k.as_str().parse::<ErrorKind>().unwrap(), k);
        }
        assert_eq!(
            "RATE_LIMITED".parse::<ErrorKind>().unwrap(),
            ErrorKind::RateLimited
        );
        let err = "nope".parse::<ErrorKind>().unwrap_err();
        assert!(err.to_string().contains("rate-limited"));
        assert_eq!(err.input(), "nope");
        assert_eq!(ErrorKind::ALL.len(), 19);
    }
}
