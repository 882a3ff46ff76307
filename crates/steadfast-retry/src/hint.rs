//! Server hints carried by errors: how long to wait, and whether to retry at all.

use std::time::Duration;

/// Hints an error can offer to a retry policy.
///
/// Servers often know better than the client when a retry makes sense: an HTTP 429 carries
/// `retry-after`, OpenAI-style APIs send `retry-after-ms` and `x-should-retry`, Gemini sends
/// `RetryInfo.retryDelay`. An error type surfaces those facts through this trait and
/// [`Retry`](crate::Retry) honours them:
///
/// - [`retry_after`](RetryHint::retry_after): the wait before the next attempt is never shorter
///   than the hint; a hint above the policy's [`hint_cap`](crate::Retry::hint_cap) ends the
///   retries early (so a fallback can take over at once instead of sleeping for minutes).
/// - [`should_retry`](RetryHint::should_retry): `Some(false)` makes the error non-retryable, as if
///   the retry predicate had rejected it. `Some(true)` does not override a predicate that rejects
///   the error: the predicate is the caller's explicit decision, so `Some(true)` is information
///   that predicates may consult.
///
/// Both methods default to `None` ("no opinion"), so implementing the trait for an error type
/// without hints is one line: `impl RetryHint for MyError {}`.
pub trait RetryHint {
    /// The minimum wait the server asked for before the next attempt, if any.
    fn retry_after(&self) -> Option<Duration> {
        None
    }

    /// The server's explicit verdict on retrying (`x-should-retry`): `Some(false)` means never
    /// retry this error.
    fn should_retry(&self) -> Option<bool> {
        None
    }

    /// A low-cardinality name for the class of this error, recorded as the OpenTelemetry
    /// `error.type` of the spans and events the engine emits (the `steadfast` crate's errors give
    /// their kind, e.g. `rate-limited`). `None`, the default, records `_OTHER`.
    fn error_type(&self) -> Option<&'static str> {
        None
    }
}

impl RetryHint for std::io::Error {}

impl RetryHint for String {}

impl RetryHint for &'static str {}

impl RetryHint for Box<dyn std::error::Error + Send + Sync> {}

impl<E: RetryHint + ?Sized> RetryHint for std::sync::Arc<E> {
    fn retry_after(&self) -> Option<Duration> {
        (**self).retry_after()
    }

    fn should_retry(&self) -> Option<bool> {
        (**self).should_retry()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Hinted;

    impl RetryHint for Hinted {
        fn retry_after(&self) -> Option<Duration> {
            Some(Duration::from_secs(7))
        }
        fn should_retry(&self) -> Option<bool> {
            Some(false)
        }
    }

    #[test]
    fn std_impls_have_no_opinion() {
        let io = std::io::Error::other("x");
        assert_eq!(io.retry_after(), None);
        assert_eq!(io.should_retry(), None);
        assert_eq!(String::from("x").retry_after(), None);
        assert_eq!("x".should_retry(), None);
        let boxed: Box<dyn std::error::Error + Send + Sync> = "x".into();
        assert_eq!(boxed.retry_after(), None);
    }

    #[test]
    fn arc_forwards_hints() {
        let e = std::sync::Arc::new(Hinted);
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
        assert_eq!(e.should_retry(), Some(false));
    }
}
