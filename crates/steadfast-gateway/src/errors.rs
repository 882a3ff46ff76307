//! Library errors as HTTP errors: the status each kind gets, so that every official SDK raises
//! its own typed error (429 `RateLimitError`, 401 `AuthenticationError`, 5xx
//! `InternalServerError`, …).

use steadfast::ErrorKind;

use crate::inbound::ApiError;

/// The status the gateway answers an error of `kind` with.
///
/// | kind | status |
/// |---|---|
/// | `rate-limited`, `quota-exhausted`, `quota-refused` | 429 |
/// | `overloaded` | 503 (Anthropic inbound: 529) |
/// | `server`, `config`, `cancelled` and kinds added later | 500 |
/// | `connect`, `decode`, `validation`, `stream-interrupted` (the upstream's fault) | 502 |
/// | `timeout` | 504 |
/// | `auth` | 401 |
/// | `permission-denied` | 403 |
/// | `not-found` | 404 |
/// | `invalid-request`, `context-window-exceeded`, `content-filtered`, `unsupported` | 400 |
pub fn status_of(kind: ErrorKind) -> u16 {
    match kind {
        ErrorKind::RateLimited | ErrorKind::QuotaExhausted | ErrorKind::QuotaRefused => 429,
        ErrorKind::Overloaded => 503,
        ErrorKind::Connect
        | ErrorKind::Decode
        | ErrorKind::Validation
        | ErrorKind::StreamInterrupted => 502,
        ErrorKind::Timeout => 504,
        ErrorKind::Auth => 401,
        ErrorKind::PermissionDenied => 403,
        ErrorKind::NotFound => 404,
        ErrorKind::InvalidRequest
        | ErrorKind::ContextWindowExceeded
        | ErrorKind::ContentFiltered
        | ErrorKind::Unsupported => 400,
        _ => 500,
    }
}

/// The client-facing error for a library error: its kind's status, the upstream's message
/// (prefixed with the target that failed), the upstream's code and retry hint.
///
/// Library errors never hold a key (the library redacts them), and the gateway's own inbound
/// key never reaches the library.
pub fn from_library(e: &steadfast::Error) -> ApiError {
    let kind = e.kind();
    let target = match (e.provider(), e.model()) {
        (Some(p), Some(m)) => format!("upstream {p}:{m}: "),
        (Some(p), None) => format!("upstream {p}: "),
        _ => String::new(),
    };
    let mut message = format!("{target}{}", e.message());
    if !e.attempts().is_empty() || !e.caught().is_empty() {
        let attempts = total_attempts(e);
        message.push_str(&format!(
            " (after {attempts} attempt{})",
            if attempts == 1 { "" } else { "s" }
        ));
    }
    let mut out = ApiError::new(kind, message);
    out.cause = (kind == ErrorKind::StreamInterrupted)
        .then(|| interrupted_by(e))
        .flatten();
    out.code = match out.cause.unwrap_or(kind) {
        ErrorKind::RateLimited | ErrorKind::QuotaRefused => Some("rate_limit_exceeded".into()),
        ErrorKind::QuotaExhausted => Some("insufficient_quota".into()),
        ErrorKind::ContextWindowExceeded => Some("context_length_exceeded".into()),
        ErrorKind::Auth => Some("invalid_api_key".into()),
        ErrorKind::NotFound => Some("model_not_found".into()),
        ErrorKind::Unsupported => Some("unsupported_parameter".into()),
        _ => None,
    };
    out.retry_after = e.retry_after();
    out
}

/// The kind of the classified upstream failure behind a `stream-interrupted` error (the library
/// keeps it as the error's source), unless it is itself an interruption (a dropped connection).
fn interrupted_by(e: &steadfast::Error) -> Option<ErrorKind> {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(cause) = s.downcast_ref::<steadfast::Error>() {
            return Some(cause.kind()).filter(|k| *k != ErrorKind::StreamInterrupted);
        }
        source = s.source();
    }
    None
}

/// Every HTTP attempt an error records: its own and those of the fallback targets it caught.
pub(crate) fn total_attempts(e: &steadfast::Error) -> usize {
    e.attempts().len()
        + e.caught()
            .iter()
            .map(|c| c.attempts().len().max(1))
            .sum::<usize>()
}

/// `retry-after` as whole seconds, rounded up (at least 1 for a non-zero wait).
pub(crate) fn retry_after_secs(d: std::time::Duration) -> u64 {
    let secs = d.as_secs();
    if d.subsec_nanos() > 0 { secs + 1 } else { secs }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn statuses_make_the_sdks_raise_their_typed_errors() {
        assert_eq!(status_of(ErrorKind::RateLimited), 429);
        assert_eq!(status_of(ErrorKind::Auth), 401);
        assert_eq!(status_of(ErrorKind::InvalidRequest), 400);
        assert_eq!(status_of(ErrorKind::Server), 500);
        assert_eq!(status_of(ErrorKind::Timeout), 504);
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(Duration::from_millis(1500)), 2);
        assert_eq!(retry_after_secs(Duration::from_secs(3)), 3);
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
    }

    #[test]
    fn library_errors_keep_kind_and_hint() {
        let e = steadfast::Error::new(ErrorKind::RateLimited, "slow down")
            .with_retry_after(Some(Duration::from_secs(7)));
        let a = from_library(&e);
        assert_eq!(a.status, 429);
        assert_eq!(a.retry_after, Some(Duration::from_secs(7)));
        assert!(a.message.contains("slow down"));
    }
}
