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

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

/// A shared, thread-safe allowance of extra attempts. Clones share the same allowance.
#[derive(Clone, Debug)]
pub struct Budget(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    limit: u32,
    used: AtomicU32,
}

impl Budget {
    /// A budget allowing `extra_attempts` retries and backup switches in total.
    #[must_use]
    pub fn new(extra_attempts: u32) -> Self {
        Budget(Arc::new(Inner {
            limit: extra_attempts,
            used: AtomicU32::new(0),
        }))
    }

    /// Takes one unit; `false` (and nothing taken) when none is left.
    pub fn try_acquire(&self) -> bool {
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
        self.0
            .limit
            .saturating_sub(self.0.used.load(Ordering::Acquire))
    }

    /// Units taken so far.
    #[must_use]
    pub fn used(&self) -> u32 {
        self.0.used.load(Ordering::Acquire)
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
}
