//! A shared allowance of extra attempts across retries and fallbacks.
//!
//! Retries multiply load: three attempts per call on a primary and three on each of two backups
//! is up to nine requests for one user action, and when a dependency is down every caller does
//! it at once. A [`Budget`] bounds the *extra* work a call (or a group of calls sharing the
//! budget) may do, whatever the shape of the policy:
//!
//! - every retry ([`Retry`](crate::Retry) attempt 2, 3, …) takes one unit before its wait; when
//!   none is left the policy stops with [`StopReason::BudgetExhausted`](crate::StopReason);
//! - every switch to a backup target ([`Fallback`](crate::Fallback)) takes one unit; when none
//!   is left the chain ends (see [`Fallback`](crate::Fallback)).
//!
//! The first attempt of a call is free: refusing it would make the budget a rate limiter, and
//! there would be no error to report. A budget of `n` therefore allows at most `n + 1` attempts
//! for one call, across all targets. Taking a unit is one atomic operation, so concurrent calls
//! sharing a budget never overdraw it.
//!
//! ```
//! use steadfast_retry::Budget;
//!
//! let budget = Budget::new(2);
//! let shared = budget.clone(); // same allowance
//! assert!(budget.try_acquire());
//! assert!(shared.try_acquire());
//! assert!(!budget.try_acquire());
//! assert_eq!(shared.remaining(), 0);
//! ```
//!
//! # Per window
//!
//! A fixed allowance suits one user action or one batch. A long-running service wants a *rate*:
//! [`Budget::per_window`] allows `n` extra attempts in each window of a given length (fixed
//! windows, back to back from the budget's creation; the count starts again at 0 in each), so a
//! retry storm is cut off within a window while a healthy service never runs dry:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), steadfast_retry::budget::InvalidBudget> {
//! use std::time::Duration;
//! use steadfast_retry::Budget;
//!
//! let budget = Budget::per_window(2, Duration::from_secs(10))?;
//! assert!(budget.try_acquire() && budget.try_acquire());
//! assert!(!budget.try_acquire(), "two per window");
//! tokio::time::sleep(Duration::from_secs(10)).await;
//! assert!(budget.try_acquire(), "a new window");
//! # Ok(())
//! # }
//! ```
//!
//! A windowed budget can be shared by many processes approximately (steadfast's Redis store
//! does): [`take_unflushed`](Budget::take_unflushed) hands the units taken since the last
//! call to a background flusher, and [`sync_window`](Budget::sync_window) tells the budget how
//! many units the rest of the fleet took in the current window and when that window ends, so
//! [`try_acquire`](Budget::try_acquire) refuses once the fleet's total reaches the limit. Taking
//! a unit stays a local operation; the fleet may overshoot by what its processes take between
//! two flushes.

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use tokio::time::Instant;

/// A shared, thread-safe allowance of extra attempts. Clones share the same allowance.
#[derive(Clone, Debug)]
pub struct Budget(Arc<Inner>);

/// A [`Budget`] that does not keep it alive ([`Budget::downgrade`]): for background tasks that
/// should end when the budget is no longer used.
#[derive(Clone, Debug)]
pub struct WeakBudget(Weak<Inner>);

impl WeakBudget {
    /// The budget, while a [`Budget`] handle to it exists.
    #[must_use]
    pub fn upgrade(&self) -> Option<Budget> {
        self.0.upgrade().map(Budget)
    }
}

#[derive(Debug)]
struct Inner {
    limit: u32,
    used: AtomicU32,
    window: Option<Mutex<Window>>,
}

#[derive(Debug)]
struct Window {
    length: Duration,
    /// When the current window ends.
    ends: Instant,
    /// Units taken here in the current window.
    used: u32,
    /// Units the rest of the fleet took in the current window, as last synced.
    others: u32,
    /// Units taken here since the last [`Budget::take_unflushed`].
    unflushed: u32,
    /// Whether a [`Budget::sync_window`] has aligned the windows with the fleet's.
    aligned: bool,
}

/// `now + d`, or for a `d` too long for the clock (a window of `Duration::MAX`), a year from
/// now: `Instant + Duration` panics on overflow.
fn later(now: Instant, d: Duration) -> Instant {
    now.checked_add(d)
        .or_else(|| now.checked_add(Duration::from_secs(86_400 * 365)))
        .unwrap_or(now)
}

impl Window {
    fn roll(&mut self, now: Instant) {
        if now < self.ends {
            return;
        }
        let behind = now.saturating_duration_since(self.ends).as_nanos();
        let length = self.length.as_nanos().max(1);
        let windows = u32::try_from(behind / length + 1).unwrap_or(u32::MAX);
        self.ends = self
            .length
            .checked_mul(windows)
            .and_then(|d| self.ends.checked_add(d))
            .unwrap_or_else(|| later(now, self.length));
        self.used = 0;
        self.others = 0;
    }
}

/// A budget configuration that cannot work.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidBudget {
    /// The window has no length.
    EmptyWindow,
}

impl fmt::Display for InvalidBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvalidBudget::EmptyWindow => f.write_str("invalid budget: the window has no length"),
        }
    }
}

impl std::error::Error for InvalidBudget {}

impl Budget {
    /// A budget allowing `extra_attempts` retries and backup switches in total.
    #[must_use]
    pub fn new(extra_attempts: u32) -> Self {
        Budget(Arc::new(Inner {
            limit: extra_attempts,
            used: AtomicU32::new(0),
            window: None,
        }))
    }

    /// A budget allowing `extra_attempts` retries and backup switches in each `window`: fixed
    /// windows back to back from now (on `tokio::time`'s clock), each starting again from 0.
    /// [`remaining`](Self::remaining), [`used`](Self::used) and [`limit`](Self::limit) are
    /// those of the current window.
    ///
    /// # Errors
    /// [`InvalidBudget::EmptyWindow`] for a zero window.
    pub fn per_window(extra_attempts: u32, window: Duration) -> Result<Self, InvalidBudget> {
        if window.is_zero() {
            return Err(InvalidBudget::EmptyWindow);
        }
        let now = Instant::now();
        Ok(Budget(Arc::new(Inner {
            limit: extra_attempts,
            used: AtomicU32::new(0),
            window: Some(Mutex::new(Window {
                length: window,
                ends: later(now, window),
                used: 0,
                others: 0,
                unflushed: 0,
                aligned: false,
            })),
        })))
    }

    fn window(&self) -> Option<MutexGuard<'_, Window>> {
        let w = self.0.window.as_ref()?;
        // Every update is a few plain writes: a panicking holder leaves it consistent.
        let mut w = w.lock().unwrap_or_else(PoisonError::into_inner);
        w.roll(Instant::now());
        Some(w)
    }

    /// The window's length, for a [per-window](Self::per_window) budget.
    #[must_use]
    pub fn window_length(&self) -> Option<Duration> {
        self.window().map(|w| w.length)
    }

    /// A handle that does not keep the budget alive.
    #[must_use]
    pub fn downgrade(&self) -> WeakBudget {
        WeakBudget(Arc::downgrade(&self.0))
    }

    /// Units taken by this process since the last call (0 for a fixed budget): what a flusher
    /// adds to the fleet's shared count.
    pub fn take_unflushed(&self) -> u32 {
        self.window()
            .map_or(0, |mut w| std::mem::take(&mut w.unflushed))
    }

    /// For a [per-window](Self::per_window) budget shared by a fleet: the fleet's current window
    /// ends in `ends_in`, and the rest of the fleet has taken `others` units in it. The first
    /// sync aligns this budget's windows with the fleet's (its current window ends with the
    /// fleet's; the units taken so far stay counted). Later, once aligned, a window ending more
    /// than half a length after this budget's is the next one (the local count starts again
    /// from 0); one ending more than half a length before it is one this budget has already
    /// left (ignored); otherwise it is the same window, realigned. No-op for a fixed budget.
    pub fn sync_window(&self, ends_in: Duration, others: u32) {
        let Some(mut w) = self.window() else { return };
        let now = Instant::now();
        let Some(ends) = now.checked_add(ends_in) else {
            return;
        };
        let half = w.length / 2;
        // Compared as distances, so that a window too long for the clock cannot overflow it.
        if w.aligned && ends.saturating_duration_since(w.ends) > half {
            w.used = 0;
        } else if w.aligned && w.ends.saturating_duration_since(ends) > half {
            return;
        }
        w.aligned = true;
        w.ends = ends;
        w.others = others;
    }

    /// Takes one unit; `false` (and nothing taken) when none is left.
    pub fn try_acquire(&self) -> bool {
        if let Some(mut w) = self.window() {
            if w.used.saturating_add(w.others) >= self.0.limit {
                return false;
            }
            w.used += 1;
            w.unflushed = w.unflushed.saturating_add(1);
            return true;
        }
        let limit = self.0.limit;
        self.0
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                (used < limit).then_some(used + 1)
            })
            .is_ok()
    }

    /// Units left.
    #[must_use]
    pub fn remaining(&self) -> u32 {
        self.0.limit.saturating_sub(self.used())
    }

    /// Units taken so far (in the current window, by the whole fleet as last synced, for a
    /// [per-window](Self::per_window) budget).
    #[must_use]
    pub fn used(&self) -> u32 {
        match self.window() {
            Some(w) => w.used.saturating_add(w.others),
            None => self.0.used.load(Ordering::Acquire),
        }
    }

    /// The allowance this budget was created with.
    #[must_use]
    pub fn limit(&self) -> u32 {
        self.0.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_budget_refuses() {
        let b = Budget::new(0);
        assert!(!b.try_acquire());
        assert_eq!((b.used(), b.remaining(), b.limit()), (0, 0, 0));
    }

    #[test]
    fn concurrent_acquires_never_overdraw() {
        let b = Budget::new(1000);
        let granted: u32 = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    let b = b.clone();
                    s.spawn(move || (0..400).filter(|_| b.try_acquire()).count() as u32)
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(granted, 1000);
        assert_eq!(b.used(), 1000);
        assert_eq!(b.remaining(), 0);
    }

    #[test]
    fn a_zero_window_is_refused() {
        assert_eq!(
            Budget::per_window(3, Duration::ZERO).unwrap_err(),
            InvalidBudget::EmptyWindow
        );
        assert_eq!(Budget::new(3).window_length(), None);
        assert_eq!(Budget::new(3).take_unflushed(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_window_too_long_for_the_clock_is_a_long_window_not_a_panic() {
        let b = Budget::per_window(1, Duration::MAX).unwrap();
        assert!(b.try_acquire());
        assert!(!b.try_acquire());
        // The window cannot end on the clock: it lasts (a year at a time), and rolling it or
        // syncing it with the fleet's must not overflow an Instant.
        tokio::time::sleep(Duration::from_secs(86_400 * 366)).await;
        assert!(b.try_acquire(), "the next window");
        assert!(!b.try_acquire());
        b.sync_window(Duration::MAX, 0);
        b.sync_window(Duration::from_secs(1), 0);
        b.sync_window(Duration::MAX, 0);
        assert_eq!(b.remaining(), 0, "the units taken stay counted");
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(b.remaining(), 1, "the fleet's window ended");
    }

    #[tokio::test(start_paused = true)]
    async fn a_windowed_budget_refills_at_each_window() {
        let b = Budget::per_window(2, Duration::from_secs(10)).unwrap();
        assert_eq!(b.window_length(), Some(Duration::from_secs(10)));
        assert!(b.try_acquire());
        tokio::time::sleep(Duration::from_secs(9)).await;
        assert!(b.try_acquire());
        assert!(!b.try_acquire());
        assert_eq!((b.used(), b.remaining(), b.limit()), (2, 0, 2));
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!((b.used(), b.remaining()), (0, 2), "a new window");
        assert!(b.try_acquire());
        // Several windows idle: still one window's allowance, not more.
        tokio::time::sleep(Duration::from_secs(35)).await;
        assert!(b.try_acquire() && b.try_acquire());
        assert!(!b.try_acquire());
    }

    #[tokio::test(start_paused = true)]
    async fn the_fleets_units_count_against_the_window() {
        let b = Budget::per_window(5, Duration::from_secs(10)).unwrap();
        assert!(b.try_acquire());
        assert_eq!(b.take_unflushed(), 1);
        assert_eq!(b.take_unflushed(), 0, "taken once");
        // The rest of the fleet took 3 in this window (ending a little earlier than ours).
        b.sync_window(Duration::from_secs(9), 3);
        assert_eq!(b.used(), 4);
        assert_eq!(b.used(), 4);
        assert!(b.try_acquire());
        assert!(!b.try_acquire(), "1 + 3 + 1 = 5");
        assert_eq!(b.take_unflushed(), 1);
        // Our window was realigned: it ends with the fleet's, 9 s after the sync.
        tokio::time::sleep(Duration::from_secs(9)).await;
        assert_eq!(b.used(), 0);
        // A report of the window we have just left is ignored…
        b.sync_window(Duration::from_millis(1), 5);
        assert_eq!(b.used(), 0);
        // …one of the next window starts it here too.
        assert!(b.try_acquire());
        b.sync_window(Duration::from_secs(25), 2);
        assert_eq!(b.used(), 2, "a new window: the local count starts again");
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_sync_aligns_whatever_the_phase() {
        // The fleet's window ends long before this budget's first one would: the first sync
        // adopts it (units kept), it is not taken for a past window.
        let b = Budget::per_window(5, Duration::from_secs(3600)).unwrap();
        assert!(b.try_acquire());
        b.sync_window(Duration::from_secs(100), 2);
        assert_eq!(b.used(), 3);
        tokio::time::sleep(Duration::from_secs(100)).await;
        assert_eq!(b.used(), 0, "the fleet's window ended");
    }

    #[test]
    fn a_weak_budget_does_not_keep_it_alive() {
        let b = Budget::new(1);
        let weak = b.downgrade();
        assert!(weak.upgrade().is_some());
        drop(b);
        assert!(weak.upgrade().is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_retry_policy_spends_a_windowed_budget_and_gets_it_back_next_window() {
        use crate::{Retry, StopReason, stop, wait};
        let budget = Budget::per_window(1, Duration::from_secs(60)).unwrap();
        let policy = Retry::new()
            .stop(stop::after_attempt(5))
            .wait(wait::fixed(Duration::from_secs(1)))
            .budget(budget.clone());
        let attempts = || async {
            let err = policy
                .run(|_| async { Err::<(), _>("503".to_string()) })
                .await
                .unwrap_err();
            let history = err.exhausted().unwrap();
            (history.len(), history.reason())
        };
        assert_eq!(attempts().await, (2, StopReason::BudgetExhausted));
        assert_eq!(attempts().await, (1, StopReason::BudgetExhausted));
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(attempts().await, (2, StopReason::BudgetExhausted));
    }
}
