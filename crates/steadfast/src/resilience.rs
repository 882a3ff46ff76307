//! Retry predicates and defaults for LLM calls, on top of [`steadfast_retry`].
//!
//! ```
//! use std::time::Duration;
//! use steadfast::resilience::{self, RetryExt};
//! use steadfast::retry::{Retry, stop, wait};
//! use steadfast::{Error, ErrorKind};
//!
//! // The reference policy: 3 attempts, exponential 1/4/10, retrying any error.
//! let reference: Retry<Error> = Retry::new()
//!     .stop(stop::after_attempt(3))
//!     .wait(wait::exponential().multiplier(1.0).min(Duration::from_secs(4)).max(Duration::from_secs(10)).build()?);
//!
//! // Sensible defaults: transient errors only, jittered backoff, server hints honoured.
//! let defaults = Retry::llm_default();
//!
//! // Error reinsertion: retry and collect validation errors.
//! let reinsert = Retry::new()
//!     .stop(stop::after_attempt(3))
//!     .collect_errors(resilience::kinds([ErrorKind::Validation]));
//! # let _ = (reference, defaults, reinsert);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::time::Duration;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use steadfast_retry::circuit::CircuitBreakerBuilder;
use steadfast_retry::{CircuitBreaker, Fallback, Predicate, Retry, stop, wait};

use crate::call::Call;
use crate::error::{Error, ErrorKind};

/// A fallback chain over calls whose primary moves on when `catch` matches; add backups with
/// [`Fallback::backup`]. It never re-sends an identical request to the target it just gave up on
/// (a backup equal to the previous target — same provider, model, base URL, parameters and tools —
/// is skipped).
///
/// ```no_run
/// # fn run() -> Result<(), steadfast::Error> {
/// use steadfast::ErrorKind::RateLimited;
/// use steadfast::llm;
/// use steadfast::resilience::{fallback, kinds};
///
/// let primary = llm::call("openai:gpt-4o-mini")?;
/// let chain = fallback(kinds([RateLimited]))
///     .backup(primary.with_target("anthropic:claude-3-5-sonnet-latest")?, kinds([RateLimited]));
/// let resilient = primary.fallback(chain);
/// # let _ = resilient; Ok(()) }
/// ```
pub fn fallback(catch: impl Into<Predicate<Error>>) -> Fallback<Call, Error> {
    Fallback::new(catch).skip_same_as_previous(|a: &Call, b: &Call| a.same_request_target(b))
}

/// Matches errors of any of these kinds.
pub fn kinds(kinds: impl IntoIterator<Item = ErrorKind>) -> Predicate<Error> {
    let kinds: Vec<ErrorKind> = kinds.into_iter().collect();
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

/// The kinds retried and fallen back on by default: rate limits, overloads, server errors,
/// timeouts, connection failures and interrupted streams.
pub const TRANSIENT: [ErrorKind; 6] = [
    ErrorKind::RateLimited,
    ErrorKind::Overloaded,
    ErrorKind::Server,
    ErrorKind::Timeout,
    ErrorKind::Connect,
    ErrorKind::StreamInterrupted,
];

/// LLM-flavoured constructors for [`Retry<Error>`].
pub trait RetryExt: Sized {
    /// Sensible defaults for LLM calls.
    ///
    /// # Default
    /// - at most 4 attempts;
    /// - `exponential_jitter`: 1 s × 2ⁿ⁻¹ plus up to 1 s of jitter, at most 30 s;
    /// - retries [`retryable`] errors only (rate limits, overloads, 5xx, timeouts, connection
    ///   failures, interrupted streams; `x-should-retry` decides when present);
    /// - waits at least what the server asks (`retry-after`, `retry-after-ms`, Gemini
    ///   `RetryInfo`), and gives up at once when it asks for more than 60 s so a fallback can take
    ///   over.
    fn llm_default() -> Self;
}

impl RetryExt for Retry<Error> {
    fn llm_default() -> Self {
        let wait = wait::exponential_jitter()
            .multiplier(1.0)
            .max(Duration::from_secs(30))
            .jitter(Duration::from_secs(1))
            .build()
            .unwrap_or_else(|_| wait::fixed(Duration::from_secs(2)));
        Retry::new()
            .stop(stop::after_attempt(4))
            .wait(wait)
            .retry_if(retryable())
            .hint_cap(Duration::from_secs(60))
    }
}

/// One circuit breaker per target — provider, model and base URL — created on first use, so a
/// fallback chain skips targets known to be down:
///
/// ```
/// use steadfast::resilience::{Breakers, fallback, kinds, TRANSIENT};
/// use steadfast::retry::CircuitBreaker;
///
/// let breakers = Breakers::new(CircuitBreaker::builder().window(20).min_calls(5).failure_rate(0.5))?;
/// let chain = fallback(kinds(TRANSIENT)).breaker(breakers.lookup());
/// # let _ = chain;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Breakers {
    config: CircuitBreakerBuilder,
    map: Arc<Mutex<HashMap<String, CircuitBreaker>>>,
}

impl Breakers {
    /// Breakers configured by `config` (validated now, so every later one builds).
    ///
    /// # Errors
    /// The configuration's error (failure rate outside `(0, 1]`, empty window, …).
    pub fn new(
        config: CircuitBreakerBuilder,
    ) -> Result<Self, steadfast_retry::circuit::InvalidCircuit> {
        config.build()?;
        Ok(Breakers {
            config,
            map: Arc::default(),
        })
    }

    /// The breaker of `call`'s target.
    pub fn get(&self, call: &Call) -> Option<CircuitBreaker> {
        let key = format!(
            "{}:{}@{}",
            call.provider_name(),
            call.model(),
            call.client().base_url.as_deref().unwrap_or("")
        );
        let mut map = self
            .map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(b) = map.get(&key) {
            return Some(b.clone());
        }
        let b = self.config.build().ok()?;
        map.insert(key, b.clone());
        Some(b)
    }

    /// The lookup to hand to [`Fallback::breaker`].
    pub fn lookup(&self) -> impl Fn(&Call) -> Option<CircuitBreaker> + Send + Sync + 'static {
        let me = self.clone();
        move |c: &Call| me.get(c)
    }
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
        assert!(retryable().test(&rl));
        assert!(!retryable().test(&bad));
        assert!(validation().test(&Error::validation("m", "raw")));
        for k in TRANSIENT {
            assert!(k.is_transient());
        }
    }
}
