//! [`QuotaStore`], where admission state lives, and [`InProcess`], the store of one process.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::config::{Quota, QuotaScope, token_time};
use super::gcra::{self, Limits, Outcome, State};
use crate::provider::BoxFuture;

/// A store's answer to one admission request.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decision {
    /// Go: the request's cost was counted against both limits.
    Admitted,
    /// Go after `wait`: the request's cost was counted against both limits for that later time
    /// (an answer of [`QuotaStore::admit_reserving`] only). Send it then; not sending it at all
    /// leaves the slot spent.
    Reserved {
        /// How long until the reserved time.
        wait: Duration,
    },
    /// Not now; nothing was counted. Asking again after `wait` should admit, unless others were
    /// admitted meanwhile.
    Wait {
        /// How long until admission.
        wait: Duration,
        /// Why: the quota, or a provider cooldown on the scope.
        reason: WaitReason,
    },
    /// Never (or not through this store right now); nothing was counted.
    Refused(Refusal),
}

/// Why a [`Decision::Wait`] waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WaitReason {
    /// The requests or tokens per minute are used up for now.
    Quota,
    /// The provider asked the scope to back off (a 429 with a hint), see
    /// [`QuotaStore::cooldown`].
    Cooldown,
}

impl WaitReason {
    /// The reason's name in telemetry: `quota` or `cooldown`.
    pub fn as_str(self) -> &'static str {
        match self {
            WaitReason::Quota => "quota",
            WaitReason::Cooldown => "cooldown",
        }
    }
}

/// Why a [`Decision::Refused`] refuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// The request alone needs more tokens than the quota's token allowance: it could never be
    /// admitted.
    TooLarge {
        /// The request's estimated tokens.
        cost: u64,
        /// The allowance ([`Quota::token_burst`]).
        allowance: u64,
    },
    /// The shared store is unreachable and its degrade mode is fail-closed.
    StoreUnavailable,
}

/// Where admission state lives: in this process ([`InProcess`]) or shared by many (the Redis
/// store, feature `redis`).
///
/// Object-safe, with boxed futures like [`Provider`](crate::Provider): a limiter holds an
/// `Arc<dyn QuotaStore>`. A store never fails: trouble reaching shared state is the store's to
/// absorb (see the Redis store's degrade modes), so each method returns a plain value.
pub trait QuotaStore: Send + Sync + fmt::Debug {
    /// Asks to admit one request of `cost` tokens (its [`TokenEstimate::total`]) under `quota` in
    /// `scope`: all-or-nothing over the request and token limits, and refused or waiting
    /// requests consume nothing.
    ///
    /// [`TokenEstimate::total`]: crate::quota::TokenEstimate::total
    fn admit(&self, scope: &QuotaScope, quota: &Quota, cost: u64) -> BoxFuture<Decision>;

    /// [`admit`](QuotaStore::admit), reserving: a request the quota would admit within
    /// `reserve` is admitted now for that later time ([`Decision::Reserved`]), so a caller
    /// prepared to wait asks once instead of waking up to ask again (and every waiter with it).
    /// Provider cooldowns are not reserved through, and a request that does not fit within
    /// `reserve` consumes nothing. [`Limiter::acquire`](crate::quota::Limiter::acquire) uses it.
    ///
    /// The default answers as [`admit`](QuotaStore::admit) does (correct, without reservations:
    /// its waits are re-asked); both built-in stores reserve, in one operation.
    fn admit_reserving(
        &self,
        scope: &QuotaScope,
        quota: &Quota,
        cost: u64,
        reserve: Duration,
    ) -> BoxFuture<Decision> {
        let _ = reserve;
        self.admit(scope, quota, cost)
    }

    /// Corrects an admitted request's token count from `estimated` to `actual` (credits back what
    /// it did not use, or debits what it used beyond). No effect without a token limit.
    fn settle(
        &self,
        scope: &QuotaScope,
        quota: &Quota,
        estimated: u64,
        actual: u64,
    ) -> BoxFuture<()>;

    /// Puts the whole scope in cooldown for `duration` from now (a provider's 429 hint): every
    /// caller sharing this store waits until it ends. A shorter cooldown never shortens a longer
    /// one already in force.
    fn cooldown(&self, scope: &QuotaScope, duration: Duration) -> BoxFuture<()>;

    /// How much of the scope's cooldown is left, if any.
    fn cooldown_of(&self, scope: &QuotaScope) -> BoxFuture<Option<Duration>>;
}

/// The token limit's correction for going from `estimated` to `actual` tokens, in microseconds.
pub(crate) fn settle_delta(quota: &Quota, estimated: u64, actual: u64) -> Option<i64> {
    let tpm = quota.tokens_per_minute()?;
    let (a, e) = (token_time(actual, tpm), token_time(estimated, tpm));
    let delta = i128::from(a) - i128::from(e);
    let delta = i64::try_from(delta).unwrap_or(if delta < 0 { i64::MIN } else { i64::MAX });
    (delta != 0).then_some(delta)
}

/// Admission state in this process: a map from scope to its state behind a mutex.
///
/// The default store. Its clock is `tokio::time::Instant`, so paused-time tests drive it exactly.
/// Clones share the same state. Scopes idle for a minute are dropped from the map once it holds
/// more than a thousand.
#[derive(Clone, Default)]
pub struct InProcess {
    inner: Arc<Inner>,
}

struct Inner {
    epoch: Instant,
    scopes: Mutex<HashMap<QuotaScope, State>>,
}

impl Default for Inner {
    fn default() -> Self {
        Inner {
            epoch: Instant::now(),
            scopes: Mutex::new(HashMap::new()),
        }
    }
}

/// How many scopes the map holds before idle ones are pruned.
const PRUNE_ABOVE: usize = 1024;

impl InProcess {
    /// An empty store.
    pub fn new() -> InProcess {
        InProcess::default()
    }

    /// Microseconds since the store was made, offset by a minute so that "0 = never used" is
    /// always in the past.
    fn now(&self) -> u64 {
        let since = Instant::now().saturating_duration_since(self.inner.epoch);
        u64::try_from(since.as_micros())
            .unwrap_or(u64::MAX)
            .saturating_add(super::config::MINUTE_US)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<QuotaScope, State>> {
        // Each update is a few plain writes: a panicking holder cannot leave it half-written.
        self.inner
            .scopes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The decision, taken now (synchronous: no I/O), reserving up to `reserve` ahead.
    pub(crate) fn admit_now(
        &self,
        scope: &QuotaScope,
        quota: &Quota,
        cost: u64,
        reserve: Duration,
    ) -> Decision {
        let limits = Limits::of(quota, cost);
        let now = self.now();
        let reserve = u64::try_from(reserve.as_micros()).unwrap_or(u64::MAX);
        let mut scopes = self.lock();
        let state = scopes.get(scope).copied().unwrap_or_default();
        let keep = |next: State, scopes: &mut HashMap<QuotaScope, State>| {
            if scopes.len() >= PRUNE_ABOVE && !scopes.contains_key(scope) {
                let idle = now.saturating_sub(super::config::MINUTE_US);
                scopes
                    .retain(|_, s| s.requests > idle || s.tokens > idle || s.cooldown_until > now);
            }
            scopes.insert(scope.clone(), next);
        };
        match gcra::decide_reserving(state, now, limits, reserve) {
            Outcome::Admit(next) => {
                keep(next, &mut scopes);
                Decision::Admitted
            }
            Outcome::Reserve {
                state: next,
                micros,
            } => {
                keep(next, &mut scopes);
                Decision::Reserved {
                    wait: Duration::from_micros(micros),
                }
            }
            Outcome::Wait { micros, cooldown } => Decision::Wait {
                wait: Duration::from_micros(micros),
                reason: if cooldown {
                    WaitReason::Cooldown
                } else {
                    WaitReason::Quota
                },
            },
            Outcome::TooLarge => Decision::Refused(Refusal::TooLarge {
                cost,
                allowance: quota.token_burst(),
            }),
        }
    }

    pub(crate) fn settle_now(
        &self,
        scope: &QuotaScope,
        quota: &Quota,
        estimated: u64,
        actual: u64,
    ) {
        let Some(delta) = settle_delta(quota, estimated, actual) else {
            return;
        };
        let now = self.now();
        if let Some(state) = self.lock().get_mut(scope) {
            state.tokens = gcra::settle(state.tokens, now, delta);
        }
    }

    pub(crate) fn cooldown_now(&self, scope: &QuotaScope, duration: Duration) {
        let until = self
            .now()
            .saturating_add(u64::try_from(duration.as_micros()).unwrap_or(u64::MAX));
        let mut scopes = self.lock();
        let state = scopes.entry(scope.clone()).or_default();
        state.cooldown_until = state.cooldown_until.max(until);
    }

    pub(crate) fn cooldown_of_now(&self, scope: &QuotaScope) -> Option<Duration> {
        let now = self.now();
        let until = self.lock().get(scope)?.cooldown_until;
        (until > now).then(|| Duration::from_micros(until - now))
    }
}

impl fmt::Debug for InProcess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InProcess")
            .field("scopes", &self.lock().len())
            .finish()
    }
}

impl QuotaStore for InProcess {
    fn admit(&self, scope: &QuotaScope, quota: &Quota, cost: u64) -> BoxFuture<Decision> {
        let decision = self.admit_now(scope, quota, cost, Duration::ZERO);
        Box::pin(async move { decision })
    }

    fn admit_reserving(
        &self,
        scope: &QuotaScope,
        quota: &Quota,
        cost: u64,
        reserve: Duration,
    ) -> BoxFuture<Decision> {
        let decision = self.admit_now(scope, quota, cost, reserve);
        Box::pin(async move { decision })
    }

    fn settle(
        &self,
        scope: &QuotaScope,
        quota: &Quota,
        estimated: u64,
        actual: u64,
    ) -> BoxFuture<()> {
        self.settle_now(scope, quota, estimated, actual);
        Box::pin(async {})
    }

    fn cooldown(&self, scope: &QuotaScope, duration: Duration) -> BoxFuture<()> {
        self.cooldown_now(scope, duration);
        Box::pin(async {})
    }

    fn cooldown_of(&self, scope: &QuotaScope) -> BoxFuture<Option<Duration>> {
        let left = self.cooldown_of_now(scope);
        Box::pin(async move { left })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(model: &str) -> QuotaScope {
        QuotaScope::new("openai", "team-a", model).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn paused_time_drives_admission() {
        let store = InProcess::new();
        let q = Quota::builder()
            .requests_per_minute(120)
            .burst(2)
            .build()
            .unwrap();
        let s = scope("m");
        assert_eq!(store.admit(&s, &q, 1).await, Decision::Admitted);
        assert_eq!(store.admit(&s, &q, 1).await, Decision::Admitted);
        let Decision::Wait { wait, reason } = store.admit(&s, &q, 1).await else {
            panic!("the burst is spent");
        };
        assert_eq!(
            (wait, reason),
            (Duration::from_millis(500), WaitReason::Quota)
        );
        // Another model is another scope.
        assert_eq!(store.admit(&scope("n"), &q, 1).await, Decision::Admitted);
        tokio::time::sleep(wait).await;
        assert_eq!(store.admit(&s, &q, 1).await, Decision::Admitted);
        assert!(matches!(
            store.admit(&s, &q, 1).await,
            Decision::Wait { .. }
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn settle_credits_unused_tokens() {
        let store = InProcess::new();
        let q = Quota::builder().tokens_per_minute(1000).build().unwrap();
        let s = scope("m");
        assert_eq!(store.admit(&s, &q, 900).await, Decision::Admitted);
        assert!(matches!(
            store.admit(&s, &q, 500).await,
            Decision::Wait { .. }
        ));
        store.settle(&s, &q, 900, 300).await; // used 300 of the 900 estimated
        assert_eq!(store.admit(&s, &q, 500).await, Decision::Admitted);
        // And debits what was used beyond the estimate.
        store.settle(&s, &q, 500, 700).await;
        let Decision::Wait { wait, .. } = store.admit(&s, &q, 1).await else {
            panic!("1000 of 1000 used");
        };
        assert!(wait > Duration::ZERO);
        assert_eq!(
            store.admit(&s, &q, 1001).await,
            Decision::Refused(Refusal::TooLarge {
                cost: 1001,
                allowance: 1000
            })
        );
    }

    #[tokio::test(start_paused = true)]
    async fn cooldown_holds_the_scope_and_only_lengthens() {
        let store = InProcess::new();
        let q = Quota::builder().requests_per_minute(600).build().unwrap();
        let s = scope("m");
        assert_eq!(store.cooldown_of(&s).await, None);
        store.cooldown(&s, Duration::from_secs(5)).await;
        store.cooldown(&s, Duration::from_secs(1)).await;
        assert_eq!(store.cooldown_of(&s).await, Some(Duration::from_secs(5)));
        let other = store.clone();
        assert_eq!(
            other.admit(&s, &q, 1).await,
            Decision::Wait {
                wait: Duration::from_secs(5),
                reason: WaitReason::Cooldown
            }
        );
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(store.cooldown_of(&s).await, None);
        assert_eq!(other.admit(&s, &q, 1).await, Decision::Admitted);
    }
}
