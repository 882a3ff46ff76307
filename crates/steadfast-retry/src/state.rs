//! One invocation of a policy: the attempt counter, the clock, the history and the decisions.

use std::fmt;
use std::time::Duration;

use tokio::time::Instant;

use crate::error::{AttemptRecord, RetryError, RunError, StopReason, WaitReason};
use crate::hint::RetryHint;
use crate::policy::Retry;
use crate::wait::to_duration;

/// What [`RetryState::fail`] decided when the operation is to be attempted again: how long to
/// wait first, and why that long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Decision {
    /// The wait before the next attempt.
    pub wait: Duration,
    /// Where it came from: the policy's wait strategy, or the server's longer hint.
    pub reason: WaitReason,
}

/// What an operation sees of its attempt: its number, the time since the first attempt, and the
/// errors collected for reinsertion.
///
/// Passed by value to the closure given to [`Retry::run`]; it borrows the collected errors from
/// the running policy, so no error is cloned.
pub struct Attempt<'a, E> {
    number: u32,
    elapsed: Duration,
    errors: &'a [E],
}

impl<'a, E> Attempt<'a, E> {
    /// The attempt number, 1-based.
    #[must_use]
    pub fn number(&self) -> u32 {
        self.number
    }

    /// Whether this is the first attempt.
    #[must_use]
    pub fn is_first(&self) -> bool {
        self.number == 1
    }

    /// The time since the first attempt started (zero for the first attempt).
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// The errors of earlier attempts selected by
    /// [`Retry::collect_errors`], oldest first. Empty on the first attempt and when the policy
    /// collects nothing.
    #[must_use]
    pub fn errors(&self) -> &'a [E] {
        self.errors
    }
}

impl<E> Clone for Attempt<'_, E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E> Copy for Attempt<'_, E> {}

impl<E: fmt::Debug> fmt::Debug for Attempt<'_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attempt")
            .field("number", &self.number)
            .field("elapsed", &self.elapsed)
            .field("errors", &self.errors)
            .finish()
    }
}

/// What hooks see of an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttemptInfo {
    number: u32,
    started: Duration,
    elapsed: Duration,
}

impl AttemptInfo {
    /// The attempt number, 1-based.
    #[must_use]
    pub fn number(&self) -> u32 {
        self.number
    }

    /// When the attempt started, as an offset from the start of the first attempt.
    #[must_use]
    pub fn started(&self) -> Duration {
        self.started
    }

    /// The time since the first attempt started, when the hook runs.
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }
}

/// Bookkeeping of one failed attempt; the error lives in one of the two error lists.
#[derive(Clone, Copy, Debug)]
struct Meta {
    number: u32,
    started: Duration,
    duration: Duration,
    wait: Option<(Duration, WaitReason)>,
    collected: bool,
}

/// One invocation of a [`Retry`] policy, driven by hand.
///
/// [`Retry::run`] and friends drive it for you; use it directly where a closure does not fit,
/// for example inside a hand-written `Stream`:
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// use steadfast_retry::{Retry, RunError, stop, wait};
///
/// let policy = Retry::<String>::new().stop(stop::after_attempt(3)).wait(wait::none());
/// let mut state = policy.start();
/// let outcome = loop {
///     let attempt = state.begin();
///     let result: Result<u32, String> = Err(format!("failure {}", attempt.number()));
///     match result {
///         Ok(v) => break Ok(v),
///         Err(e) => match state.fail(e) {
///             Ok(decision) => state.sleep(decision.wait).await,
///             Err(stopped) => break Err(stopped),
///         },
///     }
/// };
/// assert!(matches!(outcome, Err(RunError::Exhausted(ref r)) if r.len() == 3));
/// # }
/// ```
///
/// Call [`begin`](RetryState::begin) before each attempt and [`fail`](RetryState::fail) after
/// each failure; once `fail` returns `Err`, the invocation is over (its history moved into the
/// error) and the state must be dropped.
pub struct RetryState<E> {
    policy: Retry<E>,
    rng: fastrand::Rng,
    first_start: Option<Instant>,
    attempt_start: Instant,
    number: u32,
    collected: Vec<E>,
    others: Vec<E>,
    meta: Vec<Meta>,
}

impl<E: fmt::Debug> fmt::Debug for RetryState<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryState")
            .field("number", &self.number)
            .field("collected", &self.collected)
            .field("others", &self.others)
            .finish_non_exhaustive()
    }
}

impl<E> RetryState<E> {
    pub(crate) fn new(policy: Retry<E>) -> Self {
        let rng = match policy.inner.seed {
            Some(seed) => fastrand::Rng::with_seed(seed),
            None => fastrand::Rng::new(),
        };
        let now = policy.inner.sleeper.now();
        RetryState {
            policy,
            rng,
            first_start: None,
            attempt_start: now,
            number: 0,
            collected: Vec::new(),
            others: Vec::new(),
            meta: Vec::new(),
        }
    }

    /// The number of the current (or last) attempt; 0 before the first.
    #[must_use]
    pub fn attempt_number(&self) -> u32 {
        self.number
    }

    /// Starts the next attempt: runs the `before` hook, emits the attempt's `tracing` event and
    /// returns what the operation may see.
    pub fn begin(&mut self) -> Attempt<'_, E> {
        let now = self.policy.inner.sleeper.now();
        let first = *self.first_start.get_or_insert(now);
        self.number = self.number.saturating_add(1);
        self.attempt_start = now;
        let elapsed = now.saturating_duration_since(first);
        tracing::debug!(
            attempt = self.number,
            elapsed_ms = elapsed.as_millis() as u64,
            "steadfast_retry: attempt"
        );
        if let Some(before) = &self.policy.inner.before {
            before(&AttemptInfo {
                number: self.number,
                started: elapsed,
                elapsed,
            });
        }
        Attempt {
            number: self.number,
            elapsed,
            errors: &self.collected,
        }
    }

    /// How much longer the policy's time limits allow waiting now, on the policy's clock, outside
    /// its own retry schedule (see [`Stop::time_left`](crate::stop::Stop::time_left)); `None` when its stop
    /// condition has no time limit. Measured from the first attempt's start (from now, before it).
    #[must_use]
    pub fn time_left(&self) -> Option<Duration> {
        let now = self.policy.inner.sleeper.now();
        let elapsed = self
            .first_start
            .map_or(Duration::ZERO, |first| now.saturating_duration_since(first));
        self.policy.inner.stop.time_left(elapsed)
    }

    /// Records the current attempt's failure and decides what comes next.
    ///
    /// - `Err(RunError::Rejected(error))` when the policy does not retry `error` (its predicate
    ///   rejects it or it says `should_retry() == Some(false)`): no hook runs.
    /// - Otherwise the `after` hook runs, then the wait is computed (never shorter than the
    ///   error's `retry_after` hint) and the stop condition, the hint cap and the budget are
    ///   checked: `Err(RunError::Exhausted(..))` with the full history when one of them stops,
    ///   or `Ok(decision)` after the `before_sleep` hook: sleep for
    ///   [`decision.wait`](Decision::wait), then call [`begin`](RetryState::begin).
    ///   [`decision.reason`](Decision::reason) says where the wait came from — the one place that
    ///   knows it, so callers never have to guess it from the hint.
    ///
    /// Allocates only to store the error (room for the policy's attempt limit, up to 16, is
    /// reserved the first time) and, when stopping, to assemble the history.
    ///
    /// # Errors
    ///
    /// When the operation must not be attempted again, as above.
    pub fn fail(&mut self, error: E) -> Result<Decision, RunError<E>>
    where
        E: RetryHint,
    {
        let inner = &*self.policy.inner;
        let now = inner.sleeper.now();
        let number = self.number.max(1);
        let first = self.first_start.unwrap_or(self.attempt_start);
        let elapsed = now.saturating_duration_since(first);
        let started = self.attempt_start.saturating_duration_since(first);
        let duration = now.saturating_duration_since(self.attempt_start);

        let retryable = inner.retry_if.as_ref().is_none_or(|p| p.test(&error))
            && error.should_retry() != Some(false);
        if !retryable {
            tracing::debug!(attempt = number, "steadfast_retry: error not retryable");
            return Err(RunError::Rejected(error));
        }

        let info = AttemptInfo {
            number,
            started,
            elapsed,
        };
        if let Some(after) = &inner.after {
            after(&info, &error);
        }

        let computed = to_duration(inner.wait.seconds(number, &mut self.rng));
        let hint = error.retry_after();
        let (wait, reason) = match hint {
            Some(h) if h > computed => (h, WaitReason::ServerHint),
            _ => (computed, WaitReason::Computed),
        };
        let stop = inner
            .stop
            .check(number, elapsed, wait)
            .or_else(|| {
                hint.filter(|h| *h > inner.hint_cap)
                    .map(|h| StopReason::HintAboveCap {
                        hint: h,
                        cap: inner.hint_cap,
                    })
            })
            .or_else(|| {
                inner.budget.as_ref().filter(|b| !b.try_acquire()).map(|_| {
                    tracing::event!(
                        name: "steadfast.budget.refused",
                        target: "steadfast",
                        tracing::Level::INFO,
                        steadfast.attempt = number,
                    );
                    StopReason::BudgetExhausted
                })
            });

        if let Some(stop) = stop {
            tracing::debug!(attempt = number, reason = %stop, "steadfast_retry: giving up");
            let last = AttemptRecord {
                number,
                error,
                started,
                duration,
                wait: None,
            };
            return Err(RunError::Exhausted(self.history(last, stop)));
        }

        if let Some(before_sleep) = &inner.before_sleep {
            before_sleep(&info, &error, wait);
        }
        tracing::event!(
            name: "steadfast.retry.wait",
            target: "steadfast",
            tracing::Level::INFO,
            steadfast.attempt = number,
            steadfast.wait.duration_ms = wait.as_millis() as u64,
            steadfast.wait.reason = reason.as_str(),
            error.type = error.error_type().unwrap_or("_OTHER"),
        );

        let collected = inner.collect.as_ref().is_some_and(|p| p.test(&error));
        // One allocation per list and run, sized for the attempt limit when there is one.
        let room = inner.stop.attempt_bound().map_or(8, |n| n.min(16)) as usize;
        let list = if collected {
            &mut self.collected
        } else {
            &mut self.others
        };
        if list.capacity() == 0 {
            list.reserve(room);
        }
        list.push(error);
        if self.meta.capacity() == 0 {
            self.meta.reserve(room);
        }
        self.meta.push(Meta {
            number,
            started,
            duration,
            wait: Some((wait, reason)),
            collected,
        });
        Ok(Decision { wait, reason })
    }

    /// Assembles the history: the stored errors back in attempt order, then `last`.
    fn history(&mut self, last: AttemptRecord<E>, reason: StopReason) -> RetryError<E> {
        let mut collected = std::mem::take(&mut self.collected).into_iter();
        let mut others = std::mem::take(&mut self.others).into_iter();
        let earlier = std::mem::take(&mut self.meta)
            .into_iter()
            .filter_map(|m| {
                let error = if m.collected {
                    collected.next()
                } else {
                    others.next()
                }?;
                Some(AttemptRecord {
                    number: m.number,
                    error,
                    started: m.started,
                    duration: m.duration,
                    wait: m.wait,
                })
            })
            .collect();
        RetryError::new(earlier, last, reason)
    }

    /// Sleeps for `wait` with the policy's sleeper (not at all for a zero wait).
    pub async fn sleep(&self, wait: Duration) {
        if !wait.is_zero() {
            self.policy.inner.sleeper.sleep(wait).await;
        }
    }

    /// Blocks the thread for `wait` with the policy's sleeper (not at all for a zero wait).
    pub fn sleep_blocking(&self, wait: Duration) {
        if !wait.is_zero() {
            self.policy.inner.sleeper.sleep_blocking(wait);
        }
    }
}
