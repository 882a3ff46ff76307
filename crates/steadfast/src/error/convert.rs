//! From the generic retry and fallback errors of `steadfast_retry` to [`Error`].

use std::time::Duration;

use super::{Error, ErrorKind};
use crate::response::AttemptSummary;

impl steadfast_retry::RetryHint for Error {
    fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    fn should_retry(&self) -> Option<bool> {
        self.inner.should_retry
    }

    fn error_type(&self) -> Option<&'static str> {
        Some(self.kind().as_str())
    }
}

impl From<steadfast_retry::RetryError<Error>> for Error {
    /// The last error, with every attempt's outcome in [`Error::attempts`] and why the policy
    /// stopped in [`Error::retry_stopped`].
    fn from(r: steadfast_retry::RetryError<Error>) -> Self {
        let reason = r.reason().to_string();
        let attempts: Vec<AttemptSummary> = r
            .attempts()
            .map(|a| {
                let e = a.error();
                let mut s = AttemptSummary::new(
                    e.provider().unwrap_or(""),
                    e.model().unwrap_or(""),
                    Some(e.kind()),
                    e.status(),
                    a.duration(),
                );
                s.wait = a.wait();
                s.wait_reason = a.wait_reason();
                s
            })
            .collect();
        let last = r.into_last();
        let last = if last.attempts().is_empty() {
            last.with_attempts(attempts)
        } else {
            last
        };
        last.with_retry_stopped(reason)
    }
}

impl From<steadfast_retry::RunError<Error>> for Error {
    /// A rejected error as is; an exhausted policy as by `From<RetryError<Error>>`.
    fn from(r: steadfast_retry::RunError<Error>) -> Self {
        match r {
            steadfast_retry::RunError::Rejected(e) => e,
            steadfast_retry::RunError::Exhausted(h) => Error::from(h),
        }
    }
}

impl From<steadfast_retry::FallbackError<Error>> for Error {
    /// The last target's error, with the errors caught before it in [`Error::caught`] (primary
    /// first). With no error at all (every target skipped by its circuit breaker), an
    /// [`ErrorKind::Overloaded`] error saying so.
    fn from(f: steadfast_retry::FallbackError<Error>) -> Self {
        let mut errors = f.into_errors();
        let attempts: Vec<AttemptSummary> = errors
            .iter()
            .flat_map(|e| e.attempts().iter().cloned())
            .collect();
        match errors.pop() {
            Some(last) => last.with_caught(errors).with_attempts(attempts),
            None => Error::new(
                ErrorKind::Overloaded,
                "no fallback target available: every target's circuit is open",
            ),
        }
    }
}

impl From<steadfast_retry::FallbackRunError<Error>> for Error {
    /// An uncaught error as is; an exhausted chain as by `From<FallbackError<Error>>`.
    fn from(f: steadfast_retry::FallbackRunError<Error>) -> Self {
        match f {
            steadfast_retry::FallbackRunError::Uncaught(e) => e,
            steadfast_retry::FallbackRunError::Exhausted(e) => Error::from(e),
        }
    }
}
