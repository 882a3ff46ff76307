//! The outcome of a retried operation that did not succeed.

use std::fmt;
use std::iter::FusedIterator;
use std::time::Duration;

use crate::hint::RetryHint;

/// Why a policy stopped retrying.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopReason {
    /// [`stop::after_attempt`](crate::stop::after_attempt) was reached.
    AttemptLimit,
    /// [`stop::after_delay`](crate::stop::after_delay): the time since the first attempt reached
    /// the limit.
    DelayLimit,
    /// [`stop::before_delay`](crate::stop::before_delay): the next wait would have crossed the
    /// limit.
    NextWaitCrossesDelay,
    /// The server asked for a wait longer than the policy's
    /// [`hint_cap`](crate::Retry::hint_cap), so the policy gave up at once (letting a fallback
    /// take over) instead of sleeping that long.
    HintAboveCap {
        /// The wait the server asked for.
        hint: Duration,
        /// The policy's cap.
        cap: Duration,
    },
    /// The shared [`Budget`](crate::Budget) had no attempt left.
    BudgetExhausted,
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopReason::AttemptLimit => f.write_str("attempt limit reached"),
            StopReason::DelayLimit => f.write_str("time limit reached"),
            StopReason::NextWaitCrossesDelay => f.write_str("next wait would cross the time limit"),
            StopReason::HintAboveCap { hint, cap } => {
                write!(f, "server asked to wait {hint:?}, above the cap of {cap:?}")
            }
            StopReason::BudgetExhausted => f.write_str("retry budget exhausted"),
        }
    }
}

/// Where the wait after an attempt came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WaitReason {
    /// The policy's [`Wait`](crate::wait::Wait) strategy.
    Computed,
    /// The error's [`RetryHint::retry_after`], which was longer than the computed wait.
    ServerHint,
}

impl WaitReason {
    /// A short machine-friendly name, kebab-case like every other name Steadfast prints:
    /// `computed` or `server-hint`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            WaitReason::Computed => "computed",
            WaitReason::ServerHint => "server-hint",
        }
    }
}

/// One failed attempt: its error, when it started, how long it ran, and the wait chosen after it.
#[derive(Clone, Debug)]
pub struct AttemptRecord<E> {
    pub(crate) number: u32,
    pub(crate) error: E,
    pub(crate) started: Duration,
    pub(crate) duration: Duration,
    pub(crate) wait: Option<(Duration, WaitReason)>,
}

impl<E> AttemptRecord<E> {
    /// The attempt number, 1-based.
    #[must_use]
    pub fn number(&self) -> u32 {
        self.number
    }

    /// The error the attempt failed with.
    #[must_use]
    pub fn error(&self) -> &E {
        &self.error
    }

    /// Takes the error.
    #[must_use]
    pub fn into_error(self) -> E {
        self.error
    }

    /// When the attempt started, as an offset from the start of the first attempt.
    #[must_use]
    pub fn started(&self) -> Duration {
        self.started
    }

    /// How long the attempt ran until it failed.
    #[must_use]
    pub fn duration(&self) -> Duration {
        self.duration
    }

    /// The wait chosen after this attempt; `None` for the final attempt (no wait follows it).
    #[must_use]
    pub fn wait(&self) -> Option<Duration> {
        self.wait.map(|(d, _)| d)
    }

    /// Why that wait was chosen; `None` for the final attempt.
    #[must_use]
    pub fn wait_reason(&self) -> Option<WaitReason> {
        self.wait.map(|(_, r)| r)
    }
}

/// Every attempt of a retried operation that gave up, and why it gave up.
///
/// Its `Display` is `gave up after N attempts: <last error>`, self-contained because that line
/// is what usually lands in logs; [`source`](std::error::Error::source) is the last error, so
/// chain walkers and downcasts still reach the typed error.
///
/// The history is never empty, so [`last`](RetryError::last) needs no `Option`. The error is
/// one pointer wide (the history is boxed), so `Result<T, RetryError<E>>` stays small.
#[derive(Clone, Debug)]
pub struct RetryError<E> {
    inner: Box<History<E>>,
}

#[derive(Clone, Debug)]
struct History<E> {
    earlier: Vec<AttemptRecord<E>>,
    last: AttemptRecord<E>,
    reason: StopReason,
}

impl<E> RetryError<E> {
    pub(crate) fn new(
        earlier: Vec<AttemptRecord<E>>,
        last: AttemptRecord<E>,
        reason: StopReason,
    ) -> Self {
        RetryError {
            inner: Box::new(History {
                earlier,
                last,
                reason,
            }),
        }
    }

    /// Every attempt, oldest first (the last one is the one that ended the retries).
    pub fn attempts(&self) -> Attempts<'_, E> {
        Attempts {
            earlier: self.inner.earlier.iter(),
            last: Some(&self.inner.last),
        }
    }

    /// The number of attempts made.
    #[must_use]
    pub fn len(&self) -> usize {
        self.inner.earlier.len() + 1
    }

    /// Always `false`: a `RetryError` holds at least one attempt. Present for API symmetry with
    /// [`len`](RetryError::len).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The error of the last attempt.
    #[must_use]
    pub fn last(&self) -> &E {
        &self.inner.last.error
    }

    /// The record of the last attempt.
    #[must_use]
    pub fn last_attempt(&self) -> &AttemptRecord<E> {
        &self.inner.last
    }

    /// Takes the error of the last attempt, dropping the others.
    #[must_use]
    pub fn into_last(self) -> E {
        self.inner.last.error
    }

    /// Takes every attempt, oldest first.
    #[must_use]
    pub fn into_attempts(self) -> Vec<AttemptRecord<E>> {
        let History {
            mut earlier, last, ..
        } = *self.inner;
        earlier.push(last);
        earlier
    }

    /// Why the policy stopped.
    #[must_use]
    pub fn reason(&self) -> StopReason {
        self.inner.reason
    }

    /// The time from the start of the first attempt to the end of the last one.
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        self.inner
            .last
            .started
            .saturating_add(self.inner.last.duration)
    }
}

impl<E: fmt::Display> fmt::Display for RetryError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.len();
        let plural = if n == 1 { "" } else { "s" };
        write!(
            f,
            "gave up after {n} attempt{plural}: {}",
            self.inner.last.error
        )
    }
}

impl<E: std::error::Error + 'static> std::error::Error for RetryError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.inner.last.error)
    }
}

impl<E: RetryHint> RetryHint for RetryError<E> {
    /// The last error's hint.
    fn retry_after(&self) -> Option<Duration> {
        self.inner.last.error.retry_after()
    }
    /// The last error's hint.
    fn should_retry(&self) -> Option<bool> {
        self.inner.last.error.should_retry()
    }
}

/// Iterator over the attempts of a [`RetryError`], oldest first.
#[derive(Clone, Debug)]
pub struct Attempts<'a, E> {
    earlier: std::slice::Iter<'a, AttemptRecord<E>>,
    last: Option<&'a AttemptRecord<E>>,
}

impl<'a, E> Iterator for Attempts<'a, E> {
    type Item = &'a AttemptRecord<E>;

    fn next(&mut self) -> Option<Self::Item> {
        self.earlier.next().or_else(|| self.last.take())
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.earlier.len() + usize::from(self.last.is_some());
        (n, Some(n))
    }
}

impl<E> DoubleEndedIterator for Attempts<'_, E> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.last.take().or_else(|| self.earlier.next_back())
    }
}

impl<E> ExactSizeIterator for Attempts<'_, E> {}

impl<E> FusedIterator for Attempts<'_, E> {}

/// Why [`Retry::run`](crate::Retry::run) failed: the error was not retryable, or the retries ran
/// out.
///
/// The two variants are the only two ways a retried operation can fail, so the enum is
/// exhaustive and meant to be matched.
///
/// - [`Rejected`](RunError::Rejected): the error is returned at once and unchanged, as tenacity
///   re-raises an exception its `retry` predicate rejects: the retry predicate said no, or the
///   error said [`should_retry() == Some(false)`](RetryHint::should_retry). No hook ran for it
///   and no wait followed it.
/// - [`Exhausted`](RunError::Exhausted): the policy stopped; the [`RetryError`] holds every
///   attempt.
///
/// [`into_last`](RunError::into_last) turns either into the last error (tenacity's
/// `reraise=True`; see also [`Retry::run_reraise`](crate::Retry::run_reraise)), and
/// [`flatten`](RunError::flatten) folds both into `E` for error types that can hold a
/// `RetryError` of themselves.
#[derive(Clone, Debug)]
pub enum RunError<E> {
    /// The last attempt failed with an error the policy does not retry, returned unchanged.
    Rejected(E),
    /// The policy stopped retrying; every attempt is inside.
    Exhausted(RetryError<E>),
}

impl<E> RunError<E> {
    /// The error of the last attempt.
    #[must_use]
    pub fn last(&self) -> &E {
        match self {
            RunError::Rejected(e) => e,
            RunError::Exhausted(r) => r.last(),
        }
    }

    /// Takes the error of the last attempt (tenacity's `reraise=True`).
    #[must_use]
    pub fn into_last(self) -> E {
        match self {
            RunError::Rejected(e) => e,
            RunError::Exhausted(r) => r.into_last(),
        }
    }

    /// Whether the error was rejected (not retryable) rather than retried to exhaustion.
    #[must_use]
    pub fn is_rejected(&self) -> bool {
        matches!(self, RunError::Rejected(_))
    }

    /// The attempt history, when the retries ran out.
    #[must_use]
    pub fn exhausted(&self) -> Option<&RetryError<E>> {
        match self {
            RunError::Rejected(_) => None,
            RunError::Exhausted(r) => Some(r),
        }
    }

    /// The number of attempts this outcome reports: the history's length, or 1 for a rejected
    /// error (tenacity keeps no history for it either).
    #[must_use]
    pub fn attempts(&self) -> usize {
        self.exhausted().map_or(1, RetryError::len)
    }

    /// Folds both variants into `E`: a rejected error as is, an exhausted history through
    /// `E: From<RetryError<E>>`.
    #[must_use]
    pub fn flatten(self) -> E
    where
        E: From<RetryError<E>>,
    {
        match self {
            RunError::Rejected(e) => e,
            RunError::Exhausted(r) => E::from(r),
        }
    }
}

impl<E: fmt::Display> fmt::Display for RunError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Rejected(e) => e.fmt(f),
            RunError::Exhausted(r) => r.fmt(f),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for RunError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RunError::Rejected(e) => e.source(),
            RunError::Exhausted(r) => r.source(),
        }
    }
}

impl<E: RetryHint> RetryHint for RunError<E> {
    /// The last error's hint.
    fn retry_after(&self) -> Option<Duration> {
        self.last().retry_after()
    }
    /// The last error's hint.
    fn should_retry(&self) -> Option<bool> {
        self.last().should_retry()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(n: u32, e: &'static str, wait: Option<u64>) -> AttemptRecord<&'static str> {
        AttemptRecord {
            number: n,
            error: e,
            started: Duration::from_secs(u64::from(n) * 10),
            duration: Duration::from_secs(1),
            wait: wait.map(|w| (Duration::from_secs(w), WaitReason::Computed)),
        }
    }

    fn sample() -> RetryError<&'static str> {
        RetryError::new(
            vec![record(1, "a", Some(4)), record(2, "b", Some(4))],
            record(3, "c", None),
            StopReason::AttemptLimit,
        )
    }

    #[test]
    fn history_accessors() {
        let e = sample();
        assert_eq!(e.len(), 3);
        assert!(!e.is_empty());
        assert_eq!(*e.last(), "c");
        let errors: Vec<_> = e.attempts().map(|a| *a.error()).collect();
        assert_eq!(errors, ["a", "b", "c"]);
        let back: Vec<_> = e.attempts().rev().map(AttemptRecord::number).collect();
        assert_eq!(back, [3, 2, 1]);
        assert_eq!(e.attempts().len(), 3);
        assert_eq!(e.elapsed(), Duration::from_secs(31));
        assert_eq!(e.last_attempt().wait(), None);
        assert_eq!(e.to_string(), "gave up after 3 attempts: c");
        let all = e.clone().into_attempts();
        assert_eq!(all.len(), 3);
        assert_eq!(e.into_last(), "c");
    }

    #[test]
    fn errors_stay_small() {
        assert_eq!(
            std::mem::size_of::<RetryError<String>>(),
            std::mem::size_of::<usize>()
        );
        assert!(std::mem::size_of::<RunError<&str>>() <= 3 * std::mem::size_of::<usize>());
    }

    #[test]
    fn run_error_accessors_and_display() {
        let rejected: RunError<&str> = RunError::Rejected("bad");
        assert!(rejected.is_rejected());
        assert_eq!(rejected.to_string(), "bad");
        assert_eq!(rejected.attempts(), 1);
        let exhausted = RunError::Exhausted(sample());
        assert_eq!(exhausted.attempts(), 3);
        assert_eq!(*exhausted.last(), "c");
        assert_eq!(exhausted.to_string(), "gave up after 3 attempts: c");
        assert_eq!(exhausted.into_last(), "c");
    }

    #[test]
    fn singular_display() {
        let e = RetryError::new(
            Vec::new(),
            record(1, "only", None),
            StopReason::HintAboveCap {
                hint: Duration::from_secs(120),
                cap: Duration::from_secs(60),
            },
        );
        assert_eq!(e.to_string(), "gave up after 1 attempt: only");
        assert_eq!(
            e.reason().to_string(),
            "server asked to wait 120s, above the cap of 60s"
        );
    }

    #[test]
    fn error_source_is_the_last_error() {
        use std::error::Error as _;
        let e = RetryError::new(
            Vec::new(),
            AttemptRecord {
                number: 1,
                error: std::io::Error::other("disk"),
                started: Duration::ZERO,
                duration: Duration::ZERO,
                wait: None,
            },
            StopReason::AttemptLimit,
        );
        let source = e.source().map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("disk"));
    }
}
