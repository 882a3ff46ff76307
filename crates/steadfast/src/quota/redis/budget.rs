//! A retry budget shared approximately by a fleet through Redis: [`BudgetSharing`].

use std::fmt;
use std::time::Duration;

use redis::Script;
use steadfast_retry::Budget;
use steadfast_retry::budget::WeakBudget;

use super::{KEY_PREFIX, RedisStore};
use crate::error::Error;

/// How often a shared budget flushes unless set: 250 ms.
pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_millis(250);

/// The longest budget name: 100 characters.
const MAX_NAME: usize = 100;

/// Sharing of a [`Budget::per_window`] by every process that shares it under the same name
/// through the same Redis; made by
/// [`RedisStore::budget_sharing`].
///
/// A [`Budget::per_window`] allows `n` extra attempts (retries and fallback switches) per
/// window. Shared under a name, the fleet as a whole stays within `n` per window, up to the
/// slack described below:
///
/// - taking a unit stays a local operation ([`Budget::try_acquire`] never waits for Redis);
/// - a background task per shared budget, every [flush interval](BudgetSharing::flush_interval)
///   (default [`DEFAULT_FLUSH_INTERVAL`], 250 ms), adds the units taken locally since the last
///   flush to the fleet's count of the current window (one `EVALSHA`: `HINCRBY`-like, on a key
///   with a TTL) and reads back the total, which the budget then counts against its limit
///   ([`Budget::sync_window`]);
/// - windows are Redis's: window `k` is `[k × length, (k + 1) × length)` of Redis `TIME`, the
///   same for every process whatever its own clock; each process's local window is realigned
///   to it.
///
/// **Slack.** Between two flushes each process decides from the total it last read. A unit
/// taken by one process reaches Redis at that process's next flush and the others at *their*
/// next flush: up to two flush intervals (plus round trips) later. The fleet can therefore
/// overshoot by the units it takes in about two flush intervals — nothing at a healthy retry
/// rate; in a storm of 4 processes × 1000 retries a second with a 20 ms flush, the test
/// `concurrent_takers_stay_near_one_budget` (`tests/quota_redis_budget.rs`, local Redis) saw
/// 25 to 34 units over a budget of 40 in five runs, against 120 over without sharing. Units
/// taken near a window's end may be counted in the next window.
///
/// **Redis trouble.** A flush that fails or times out (the store's command timeout and breaker
/// apply, with its `tracing` events and [`StoreStats`](super::StoreStats)) changes nothing
/// locally: the budget goes on with the fleet's count it last read (until its window ends, then
/// with its own units only), and the units not flushed are added at the next successful flush.
/// A flush that timed out may still have been counted in Redis: then they are counted twice,
/// which errs on the safe side.
///
/// # Keys
///
/// `steadfast:v1:{budget/<name>}:window`, a hash (`w`, the window's index; `n`, the fleet's
/// units in it) expiring two windows after its last flush.
///
/// `Debug` shows the store's URL without its password.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use steadfast::quota::RedisStore;
/// use steadfast::retry::{Budget, Retry};
///
/// let store = RedisStore::builder("redis://127.0.0.1:6379/").connect().await?;
/// // The whole fleet: at most 600 retries a minute, whatever the number of replicas.
/// let budget = Budget::per_window(600, Duration::from_secs(60))?;
/// store.budget_sharing("checkout-retries")?.share(&budget)?;
/// let policy = Retry::<steadfast::Error>::new().budget(budget);
/// # let _ = policy;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
#[must_use = "call `.share(&budget)`"]
pub struct BudgetSharing {
    store: RedisStore,
    name: String,
    flush: Duration,
}

impl fmt::Debug for BudgetSharing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BudgetSharing")
            .field("store", &self.store.inner.url)
            .field("name", &self.name)
            .field("flush_interval", &self.flush)
            .finish()
    }
}

impl RedisStore {
    /// Sharing of a per-window budget under `name` (1 to 100 of `A-Z a-z 0-9 . _ -`), flushed
    /// every [`DEFAULT_FLUSH_INTERVAL`].
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) for an empty, too long or unusual name.
    pub fn budget_sharing(&self, name: &str) -> Result<BudgetSharing, Error> {
        let ok = !name.is_empty()
            && name.len() <= MAX_NAME
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !ok {
            return Err(Error::config(format!(
                "a shared budget's name must be 1 to {MAX_NAME} of A-Z a-z 0-9 . _ - (got {} characters)",
                name.chars().count()
            )));
        }
        Ok(BudgetSharing {
            store: self.clone(),
            name: name.to_owned(),
            flush: DEFAULT_FLUSH_INTERVAL,
        })
    }

    /// The key of the budget shared under `name`.
    pub(crate) fn budget_key(name: &str) -> String {
        format!("{KEY_PREFIX}{{budget/{name}}}:window")
    }
}

impl BudgetSharing {
    /// How often the local units are flushed and the fleet's total read back (default
    /// [`DEFAULT_FLUSH_INTERVAL`]): the slack of the sharing.
    pub fn flush_interval(mut self, every: Duration) -> Self {
        self.flush = every;
        self
    }

    /// Starts sharing `budget`: a background task flushes it until every handle to the budget
    /// is dropped.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) for a fixed budget ([`Budget::new`]: a
    /// fleet of long-running processes can only share a rate), a zero flush interval, or
    /// outside a Tokio runtime.
    pub fn share(self, budget: &Budget) -> Result<(), Error> {
        let Some(length) = budget.window_length() else {
            return Err(Error::config(
                "only a per-window budget (Budget::per_window) can be shared by a fleet",
            ));
        };
        if self.flush.is_zero() {
            return Err(Error::config(
                "a shared budget needs a flush interval above zero",
            ));
        }
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::config("a shared budget needs a Tokio runtime (its flusher is a task)")
        })?;
        let length_us = i64::try_from(length.as_micros()).unwrap_or(i64::MAX).max(1);
        runtime.spawn(flusher(self, budget.downgrade(), length_us));
        Ok(())
    }
}

/// The background task: flushes every interval while the budget lives.
async fn flusher(sharing: BudgetSharing, budget: WeakBudget, length_us: i64) {
    let script = Script::new(include_str!("lua/budget.lua"));
    let keys = [RedisStore::budget_key(&sharing.name)];
    let inner = &sharing.store.inner;
    // Units taken here and not yet counted in Redis; the window they were last added to, and
    // how many units of this process its count holds.
    let mut carry: u64 = 0;
    let mut window: Option<i64> = None;
    let mut mine: u64 = 0;
    loop {
        tokio::time::sleep(sharing.flush).await;
        let Some(b) = budget.upgrade() else { return };
        carry = carry.saturating_add(u64::from(b.take_unflushed()));
        let add = i64::try_from(carry).unwrap_or(i64::MAX);
        let reply = inner
            .run(&script, &keys, &[length_us, add], inner.command_timeout)
            .await;
        let Some(&[total, ends_in, w]) = reply.as_deref() else {
            continue; // kept in `carry` for the next flush; the budget acts on what it knows
        };
        if window != Some(w) {
            window = Some(w);
            mine = 0;
        }
        mine = mine.saturating_add(carry);
        carry = 0;
        let others = u64::try_from(total).unwrap_or(0).saturating_sub(mine);
        b.sync_window(
            Duration::from_micros(u64::try_from(ends_in).unwrap_or(0)),
            u32::try_from(others).unwrap_or(u32::MAX),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn names_are_checked_and_fixed_budgets_refused() {
        let store = RedisStore::builder("redis://:hunter2@127.0.0.1:1/")
            .build()
            .unwrap();
        for bad in ["", "a b", "a}b", "x:y", &"n".repeat(101)] {
            let err = store.budget_sharing(bad).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::Config, "{bad:?}");
        }
        let sharing = store.budget_sharing("checkout-retries.v2").unwrap();
        assert!(!format!("{sharing:?}").contains("hunter2"));
        let err = sharing.clone().share(&Budget::new(5)).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Config);
        assert!(err.to_string().contains("per-window"), "{err}");
        let err = sharing
            .flush_interval(Duration::ZERO)
            .share(&Budget::per_window(5, Duration::from_secs(1)).unwrap())
            .unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Config);
        assert_eq!(
            RedisStore::budget_key("checkout-retries.v2"),
            "steadfast:v1:{budget/checkout-retries.v2}:window"
        );
    }
}
