//! When to stop retrying: attempt limits, time limits and their combinations.
//!
//! A [`Stop`] is checked after each failed attempt that the policy would retry. It sees the
//! attempt number, the time since the first attempt started and the wait that would come next,
//! exactly like tenacity's `stop_*` strategies, and answers with the [`StopReason`] to stop for.
//!
//! ```
//! use std::time::Duration;
//! use steadfast_retry::stop;
//!
//! // At most 5 attempts, and never start a wait that would end past 30 s.
//! let stop = stop::after_attempt(5).or(stop::before_delay(Duration::from_secs(30)));
//! assert!(stop.check(5, Duration::ZERO, Duration::ZERO).is_some());
//! assert!(stop.check(2, Duration::from_secs(29), Duration::from_secs(2)).is_some());
//! assert!(stop.check(2, Duration::from_secs(1), Duration::from_secs(2)).is_none());
//! ```

use std::sync::Arc;
use std::time::Duration;

use crate::error::StopReason;

/// A stop condition. Cheap to clone (combinations share their parts through an `Arc`).
///
/// Built with [`after_attempt`], [`after_delay`], [`before_delay`] and [`never()`], combined with
/// [`Stop::or`] (stop when any part says so) and [`Stop::and`] (stop only when all parts do).
#[derive(Clone, Debug)]
pub struct Stop(Kind);

#[derive(Clone, Debug)]
enum Kind {
    Never,
    AfterAttempt(u32),
    AfterDelay(Duration),
    BeforeDelay(Duration),
    Any(Arc<(Stop, Stop)>),
    All(Arc<(Stop, Stop)>),
}

/// Stop once `n` attempts have been made (tenacity `stop_after_attempt`).
///
/// The first attempt always runs, so `after_attempt(0)` and `after_attempt(1)` both mean "no
/// retries".
#[must_use]
pub const fn after_attempt(n: u32) -> Stop {
    Stop(Kind::AfterAttempt(n))
}

/// Stop once the time since the first attempt started is at least `limit` (tenacity
/// `stop_after_delay`).
///
/// The time is measured when an attempt fails, so the total can exceed `limit` by the last
/// wait plus the last attempt; use [`before_delay`] for a hard deadline.
#[must_use]
pub const fn after_delay(limit: Duration) -> Stop {
    Stop(Kind::AfterDelay(limit))
}

/// Stop when the time since the first attempt started plus the upcoming wait would be at least
/// `limit` (tenacity `stop_before_delay`): the policy never sleeps past the deadline.
#[must_use]
pub const fn before_delay(limit: Duration) -> Stop {
    Stop(Kind::BeforeDelay(limit))
}

/// Never stop (tenacity `stop_never`): retry until success, a rejected error, a server hint above
/// the cap or an exhausted [`Budget`](crate::Budget).
#[must_use]
pub const fn never() -> Stop {
    Stop(Kind::Never)
}

impl Stop {
    /// Stop when `self` or `other` says so (tenacity `stop_any` / `|`).
    #[must_use]
    pub fn or(self, other: Stop) -> Stop {
        Stop(Kind::Any(Arc::new((self, other))))
    }

    /// Stop only when both `self` and `other` say so (tenacity `stop_all` / `&`).
    #[must_use]
    pub fn and(self, other: Stop) -> Stop {
        Stop(Kind::All(Arc::new((self, other))))
    }

    /// Decides whether to stop after failed attempt number `attempt` (1-based), `elapsed` after
    /// the first attempt started, when the next wait would be `upcoming_wait`.
    ///
    /// Returns why to stop, or `None` to go on. For [`Stop::and`] the reason reported is the
    /// left-hand side's. Never allocates.
    #[must_use]
    pub fn check(
        &self,
        attempt: u32,
        elapsed: Duration,
        upcoming_wait: Duration,
    ) -> Option<StopReason> {
        match &self.0 {
            Kind::Never => None,
            Kind::AfterAttempt(n) => (attempt >= *n).then_some(StopReason::AttemptLimit),
            Kind::AfterDelay(limit) => (elapsed >= *limit).then_some(StopReason::DelayLimit),
            Kind::BeforeDelay(limit) => (elapsed.saturating_add(upcoming_wait) >= *limit)
                .then_some(StopReason::NextWaitCrossesDelay),
            Kind::Any(pair) => pair
                .0
                .check(attempt, elapsed, upcoming_wait)
                .or_else(|| pair.1.check(attempt, elapsed, upcoming_wait)),
            Kind::All(pair) => {
                let left = pair.0.check(attempt, elapsed, upcoming_wait)?;
                pair.1.check(attempt, elapsed, upcoming_wait).map(|_| left)
            }
        }
    }

    /// How much longer the condition's **time** limits allow waiting, `elapsed` after the first
    /// attempt started: a wait shorter than this crosses none of them. `None` when no time limit
    /// applies (attempt limits and [`never()`] say nothing about time).
    ///
    /// For waits outside the retry schedule — a rate limiter's admission before an attempt, say —
    /// that must still respect the policy's deadline. [`after_delay`] and [`before_delay`] both
    /// count here (an attempt started at the limit would be stopped after it fails anyway);
    /// [`Stop::or`] takes the nearer limit, [`Stop::and`] the farther one, or none when either
    /// side has no time limit.
    ///
    /// ```
    /// use std::time::Duration;
    /// use steadfast_retry::stop;
    ///
    /// let s = Duration::from_secs;
    /// let stop = stop::after_attempt(5).or(stop::before_delay(s(30)));
    /// assert_eq!(stop.time_left(s(10)), Some(s(20)));
    /// assert_eq!(stop::after_attempt(5).time_left(s(10)), None);
    /// ```
    #[must_use]
    pub fn time_left(&self, elapsed: Duration) -> Option<Duration> {
        match &self.0 {
            Kind::Never | Kind::AfterAttempt(_) => None,
            Kind::AfterDelay(limit) | Kind::BeforeDelay(limit) => {
                Some(limit.saturating_sub(elapsed))
            }
            Kind::Any(pair) => match (pair.0.time_left(elapsed), pair.1.time_left(elapsed)) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
            Kind::All(pair) => match (pair.0.time_left(elapsed), pair.1.time_left(elapsed)) {
                (Some(a), Some(b)) => Some(a.max(b)),
                _ => None,
            },
        }
    }

    /// An upper bound on the number of attempts, when the condition implies one.
    pub(crate) fn attempt_bound(&self) -> Option<u32> {
        match &self.0 {
            Kind::AfterAttempt(n) => Some((*n).max(1)),
            Kind::Never | Kind::AfterDelay(_) | Kind::BeforeDelay(_) => None,
            Kind::Any(pair) => match (pair.0.attempt_bound(), pair.1.attempt_bound()) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
            Kind::All(pair) => match (pair.0.attempt_bound(), pair.1.attempt_bound()) {
                (Some(a), Some(b)) => Some(a.max(b)),
                _ => None,
            },
        }
    }
}

impl Default for Stop {
    /// Three attempts, the reference scenario's `stop_after_attempt(3)`.
    fn default() -> Self {
        after_attempt(3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn after_attempt_counts_attempts() {
        let stop = after_attempt(3);
        assert_eq!(stop.check(1, S(0), S(0)), None);
        assert_eq!(stop.check(2, S(100), S(100)), None);
        assert_eq!(stop.check(3, S(0), S(0)), Some(StopReason::AttemptLimit));
        assert_eq!(
            after_attempt(0).check(1, S(0), S(0)),
            Some(StopReason::AttemptLimit)
        );
    }

    #[test]
    fn after_delay_is_inclusive_and_ignores_upcoming_wait() {
        let stop = after_delay(S(10));
        assert_eq!(stop.check(1, S(9), S(100)), None);
        assert_eq!(stop.check(1, S(10), S(0)), Some(StopReason::DelayLimit));
    }

    #[test]
    fn before_delay_adds_the_upcoming_wait() {
        let stop = before_delay(S(10));
        assert_eq!(stop.check(1, S(5), S(4)), None);
        assert_eq!(
            stop.check(1, S(5), S(5)),
            Some(StopReason::NextWaitCrossesDelay)
        );
        assert_eq!(
            stop.check(1, Duration::MAX, Duration::MAX),
            Some(StopReason::NextWaitCrossesDelay)
        );
    }

    #[test]
    fn never_never_stops() {
        assert_eq!(never().check(u32::MAX, Duration::MAX, Duration::MAX), None);
    }

    #[test]
    fn or_and_combine() {
        let any = after_attempt(3).or(after_delay(S(10)));
        assert_eq!(any.check(1, S(0), S(0)), None);
        assert_eq!(any.check(3, S(0), S(0)), Some(StopReason::AttemptLimit));
        assert_eq!(any.check(1, S(10), S(0)), Some(StopReason::DelayLimit));

        let all = after_attempt(3).and(after_delay(S(10)));
        assert_eq!(all.check(3, S(0), S(0)), None);
        assert_eq!(all.check(1, S(10), S(0)), None);
        assert_eq!(all.check(3, S(10), S(0)), Some(StopReason::AttemptLimit));
    }

    #[test]
    fn time_left_follows_the_time_limits_only() {
        assert_eq!(after_delay(S(10)).time_left(S(4)), Some(S(6)));
        assert_eq!(before_delay(S(10)).time_left(S(12)), Some(S(0)));
        assert_eq!(after_attempt(3).time_left(S(4)), None);
        assert_eq!(never().time_left(S(4)), None);
        let any = after_delay(S(10)).or(before_delay(S(6)));
        assert_eq!(any.time_left(S(1)), Some(S(5)));
        assert_eq!(
            after_attempt(2).or(after_delay(S(10))).time_left(S(1)),
            Some(S(9))
        );
        let all = after_delay(S(10)).and(before_delay(S(6)));
        assert_eq!(all.time_left(S(1)), Some(S(9)));
        assert_eq!(
            after_attempt(2).and(after_delay(S(10))).time_left(S(1)),
            None
        );
    }

    #[test]
    fn attempt_bound_follows_the_combination() {
        assert_eq!(after_attempt(0).attempt_bound(), Some(1));
        assert_eq!(after_attempt(4).or(never()).attempt_bound(), Some(4));
        assert_eq!(
            after_attempt(4).or(after_attempt(2)).attempt_bound(),
            Some(2)
        );
        assert_eq!(after_attempt(4).and(never()).attempt_bound(), None);
        assert_eq!(
            after_attempt(4).and(after_attempt(6)).attempt_bound(),
            Some(6)
        );
    }
}
