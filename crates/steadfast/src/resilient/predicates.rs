//! What to retry and fall back on, and the defaults: predicates over [`Error`], the
//! [`TRANSIENT`] kinds, [`default_policy`] and [`fallback`].

use std::borrow::Borrow;
use std::time::Duration;

use steadfast_retry::wait::ExponentialJitterBuilder;
use steadfast_retry::{Fallback, Predicate, Retry, stop, wait};

use crate::call::Call;
use crate::error::{Error, ErrorKind};

/// A fallback chain over calls whose primary moves on when `catch` matches; add backups with
/// [`Fallback::backup`]. It never re-sends an identical request to the target it just gave up on
/// (a backup equal to the previous target — same provider, model, base URL, region, parameters and
/// tools — is skipped).
///
/// The primary also moves on, whatever `catch` says, when its [quota](Call::quota) refuses the
/// request ([`ErrorKind::QuotaRefused`]): that request was never sent, so trying the next target
/// is always safe — it is how a [fail-fast](crate::quota::Limiter::fail_fast) quota sends traffic
/// to the backup *before* a doomed request. A backup's own `catch` decides for it (add
/// `QuotaRefused` to it when the backup has a fail-fast quota and a target after it).
///
/// ```no_run
/// # fn run() -> Result<(), steadfast::Error> {
/// use steadfast::ErrorKind::RateLimited;
/// use steadfast::llm;
/// use steadfast::resilient::{fallback, kinds};
///
/// let primary = llm::call("openai:gpt-4o-mini")?;
/// let chain = fallback(kinds([RateLimited]))
///     .backup(primary.with_target("anthropic:claude-3-5-sonnet-latest")?, kinds([RateLimited]));
/// let resilient = primary.fallback(chain);
/// # let _ = resilient; Ok(()) }
/// ```
pub fn fallback(catch: impl Into<Predicate<Error>>) -> Fallback<Call, Error> {
    let catch = catch.into().or(kinds([ErrorKind::QuotaRefused]));
    Fallback::new(catch).skip_same_as_previous(|a: &Call, b: &Call| a.same_request_target(b))
}

/// Matches errors of any of these kinds: `kinds([RateLimited])`, `kinds(TRANSIENT)`.
pub fn kinds<I>(kinds: I) -> Predicate<Error>
where
    I: IntoIterator,
    I::Item: Borrow<ErrorKind>,
{
    let kinds: Vec<ErrorKind> = kinds.into_iter().map(|k| *k.borrow()).collect();
    Predicate::new(move |e: &Error| kinds.contains(&e.kind()))
}

/// Matches errors worth retrying: [`Error::is_retryable`] (transient kinds, or `x-should-retry:
/// true`).
pub fn retryable() -> Predicate<Error> {
    Predicate::new(Error::is_retryable)
}

/// Matches [`ErrorKind::Validation`] errors — what error reinsertion collects.
pub fn validation() -> Predicate<Error> {
    kinds([ErrorKind::Validation])
}

/// The kinds retried and fallen back on by default — exactly those whose
/// [`ErrorKind::is_transient`] is true: rate limits, overloads, server errors, timeouts,
/// connection failures and interrupted streams. A slice, so adding a kind is not a breaking change.
pub const TRANSIENT: &[ErrorKind] = &[
    ErrorKind::RateLimited,
    ErrorKind::Overloaded,
    ErrorKind::Server,
    ErrorKind::Timeout,
    ErrorKind::Connect,
    ErrorKind::StreamInterrupted,
];

/// The wait of [`default_policy`]; valid by construction (a test builds it).
const DEFAULT_WAIT: ExponentialJitterBuilder = wait::exponential_jitter()
    .multiplier(1.0)
    .max(Duration::from_secs(30))
    .jitter(Duration::from_secs(1));

/// Sensible retry defaults for LLM calls.
///
/// # Default
/// - at most 4 attempts;
/// - `exponential_jitter`: 1 s × 2ⁿ⁻¹ plus up to 1 s of jitter, at most 30 s;
/// - retries [`retryable`] errors only (rate limits, overloads, 5xx, timeouts, connection
///   failures, interrupted streams; `x-should-retry` decides when present);
/// - waits at least what the server asks (`retry-after`, `retry-after-ms`, Gemini
///   `RetryInfo`), and gives up at once when it asks for more than 60 s so a fallback can take
///   over.
///
/// ```
/// let policy = steadfast::resilient::default_policy();
/// # let _ = policy;
/// ```
pub fn default_policy() -> Retry<Error> {
    // The builder's constants are valid (see the test), so the fixed wait is never used.
    let wait = DEFAULT_WAIT
        .build()
        .unwrap_or_else(|_| wait::fixed(Duration::from_secs(2)));
    Retry::new()
        .stop(stop::after_attempt(4))
        .wait(wait)
        .retry_if(retryable())
        .hint_cap(Duration::from_secs(60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicates() {
        let rl = Error::new(ErrorKind::RateLimited, "x");
        let bad = Error::new(ErrorKind::InvalidRequest, "x");
        assert!(kinds([ErrorKind::RateLimited]).test(&rl));
        assert!(!kinds([ErrorKind::RateLimited]).test(&bad));
        assert!(kinds(TRANSIENT).test(&rl));
        assert!(retryable().test(&rl));
        assert!(!retryable().test(&bad));
        assert!(validation().test(&Error::validation("m", "raw")));
    }

    #[test]
    fn transient_is_exactly_the_kinds_that_say_so() {
        for k in ErrorKind::ALL.iter() {
            assert_eq!(TRANSIENT.contains(k), k.is_transient(), "{k:?}");
        }
    }

    #[test]
    fn the_default_wait_is_valid() {
        assert!(DEFAULT_WAIT.build().is_ok());
    }
}
