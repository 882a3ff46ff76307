//! [`Limiter`]: one scope's quota on one store, the handle a call asks for admission.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::config::{Quota, QuotaScope};
use super::estimate::{TokenEstimate, actual_tokens};
use super::store::{Decision, InProcess, QuotaStore, Refusal, WaitReason};
use crate::error::{Error, ErrorKind};
use crate::response::Usage;

/// One scope's [`Quota`] on a [`QuotaStore`]: what a retry loop asks before each attempt.
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use steadfast::quota::{Admission, Limiter, Quota, QuotaScope, TokenEstimate};
///
/// let limiter = Limiter::new(
///     QuotaScope::new("openai", "prod-org", "gpt-4o-mini")?,
///     Quota::builder().requests_per_minute(60).burst(1).build()?,
/// );
/// let estimate = TokenEstimate::of_text("Weather in Paris?", Some(100));
/// let Admission::Admitted(permit) = limiter.admit(&estimate).await else {
///     unreachable!("the first request fits");
/// };
/// // … send the request, then correct the estimate from the response's usage:
/// permit.settle(42).await;
/// assert!(matches!(limiter.admit(&estimate).await, Admission::Wait { .. }));
/// # Ok(())
/// # }
/// ```
///
/// Clones share the store (and so the counts). [`Limiter::new`] makes a fresh [`InProcess`]
/// store; give limiters that must share counts the same store with
/// [`with_store`](Limiter::with_store).
#[derive(Clone)]
#[must_use = "a limiter does nothing until asked to admit"]
pub struct Limiter {
    store: Arc<dyn QuotaStore>,
    scope: QuotaScope,
    quota: Quota,
    fail_fast: bool,
    max_wait: Duration,
}

/// How long a call waits in total for admission before one attempt, by default: one quota
/// window. See [`Limiter::max_wait`].
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(60);

/// The answer to [`Limiter::admit`].
#[derive(Debug)]
#[non_exhaustive]
pub enum Admission {
    /// Go; settle the permit with the real usage when the response comes.
    Admitted(Permit),
    /// Not now: ask again after `wait` (a call waits within its [`max_wait`](Limiter::max_wait)
    /// and its retry policy's time limits). Nothing was counted.
    Wait {
        /// How long until the request should fit.
        wait: Duration,
        /// Why: the quota is used up, or the scope is cooling down after a provider 429.
        reason: WaitReason,
    },
    /// Do not send: an [`ErrorKind::QuotaRefused`] error, for a request that can never fit, a
    /// fail-closed store, or any wait when the limiter is [fail-fast](Limiter::fail_fast).
    Refused(Error),
}

/// An admitted request's claim on the token limit. Dropping it leaves the estimate counted
/// (right for a request whose usage is unknown, such as one that failed mid-way).
#[must_use = "settle the permit with the real usage, or drop it to keep the estimate"]
pub struct Permit {
    limiter: Limiter,
    estimated: u64,
}

impl Limiter {
    /// A limiter on a fresh [`InProcess`] store, waiting for admission (not fail-fast).
    pub fn new(scope: QuotaScope, quota: Quota) -> Limiter {
        Limiter {
            store: Arc::new(InProcess::new()),
            scope,
            quota,
            fail_fast: false,
            max_wait: DEFAULT_MAX_WAIT,
        }
    }

    /// Uses `store` (shared with other limiters, or a Redis store shared with other processes).
    pub fn with_store(mut self, store: Arc<dyn QuotaStore>) -> Limiter {
        self.store = store;
        self
    }

    /// With `true`, a request the quota cannot admit now is [`Admission::Refused`] with an
    /// [`ErrorKind::QuotaRefused`] error (its `retry_after` says when it would fit) instead of
    /// [`Admission::Wait`], so that a fallback can move to a backup at once.
    pub fn fail_fast(mut self, fail_fast: bool) -> Limiter {
        self.fail_fast = fail_fast;
        self
    }

    /// The longest a call waits in total for admission before one attempt (default
    /// [`DEFAULT_MAX_WAIT`], one minute): a request that would have to wait longer is refused
    /// with [`ErrorKind::QuotaRefused`], its `retry_after` saying when it would fit. The retry
    /// policy's time limits ([`stop::after_delay`](steadfast_retry::stop::after_delay),
    /// [`stop::before_delay`](steadfast_retry::stop::before_delay)) bound the wait too.
    pub fn max_wait(mut self, max_wait: Duration) -> Limiter {
        self.max_wait = max_wait;
        self
    }

    /// The longest a call waits for admission before one attempt.
    pub fn max_wait_limit(&self) -> Duration {
        self.max_wait
    }

    /// Whether a request that cannot be admitted at once is refused rather than waited for.
    pub fn is_fail_fast(&self) -> bool {
        self.fail_fast
    }

    /// The scope.
    pub fn scope(&self) -> &QuotaScope {
        &self.scope
    }

    /// The quota.
    pub fn quota(&self) -> &Quota {
        &self.quota
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn QuotaStore> {
        &self.store
    }

    /// Asks to send one request of `estimate` now: one store operation (with Redis, one round
    /// trip); nothing is reserved (see [`acquire`](Limiter::acquire) for that).
    pub async fn admit(&self, estimate: &TokenEstimate) -> Admission {
        let cost = estimate.total();
        match self.store.admit(&self.scope, &self.quota, cost).await {
            // `admit` never reserves; a store that does anyway has counted the request.
            Decision::Admitted | Decision::Reserved { .. } => Admission::Admitted(Permit {
                limiter: self.clone(),
                estimated: cost,
            }),
            Decision::Wait { wait, reason } if self.fail_fast => {
                Admission::Refused(self.refusal_for_wait(wait, reason))
            }
            Decision::Wait { wait, reason } => Admission::Wait { wait, reason },
            Decision::Refused(refusal) => Admission::Refused(self.refusal(refusal)),
        }
    }

    /// Waits (with `tokio::time::sleep`, the stores' clock) until admitted, at most `max_wait`
    /// in total.
    ///
    /// One store operation for a request admitted at once, two for one that waits: a request
    /// the quota admits within `max_wait` is admitted now for its turn
    /// ([`QuotaStore::admit_reserving`]) and sleeps until then — requests are served first come
    /// first served, and waiters never all wake to ask again (with a shared store, a round trip
    /// per waiter per admitted request). When its turn comes it checks the scope's cooldown
    /// (a provider 429 seen by anyone meanwhile): if there is one, it waits it out and takes a
    /// new turn, so that what a cooldown held back leaves at the quota's pace. A request
    /// cancelled while it sleeps leaves its slot spent.
    ///
    /// # Errors
    ///
    /// An [`ErrorKind::QuotaRefused`] error when refused, when fail-fast and not admitted at
    /// once, or when admission would take longer than `max_wait`.
    pub async fn acquire(
        &self,
        estimate: &TokenEstimate,
        max_wait: Duration,
    ) -> Result<Permit, Error> {
        self.acquire_timed(estimate, max_wait).await.map(|(p, _)| p)
    }

    /// [`acquire`](Limiter::acquire), with how long it waited for admission: zero when
    /// admitted at once (the store operation itself is not a wait).
    pub(crate) async fn acquire_timed(
        &self,
        estimate: &TokenEstimate,
        max_wait: Duration,
    ) -> Result<(Permit, Duration), Error> {
        let start = tokio::time::Instant::now();
        let cost = estimate.total();
        let permit = || Permit {
            limiter: self.clone(),
            estimated: cost,
        };
        let mut waited = false;
        let took = |waited: bool| {
            if waited {
                start.elapsed()
            } else {
                Duration::ZERO
            }
        };
        loop {
            let left = if self.fail_fast {
                Duration::ZERO
            } else {
                max_wait.saturating_sub(start.elapsed())
            };
            let decision = self
                .store
                .admit_reserving(&self.scope, &self.quota, cost, left)
                .await;
            match decision {
                Decision::Admitted => return Ok((permit(), took(waited))),
                Decision::Reserved { wait } => {
                    waited = true;
                    wait_event(wait, WaitReason::Quota);
                    tokio::time::sleep(wait).await;
                    // A provider 429 seen meanwhile (by anyone sharing the store) voids the
                    // turn, which was given before it: wait the cooldown out, then take a new
                    // turn — so the requests held by a cooldown leave at the quota's pace when
                    // it ends, not all at once. (The voided slot stays spent.)
                    let Some(cooling) = self.store.cooldown_of(&self.scope).await else {
                        return Ok((permit(), took(waited)));
                    };
                    if start.elapsed().saturating_add(cooling) > max_wait {
                        return Err(self.refusal_for_wait(cooling, WaitReason::Cooldown));
                    }
                    wait_event(cooling, WaitReason::Cooldown);
                    tokio::time::sleep(cooling).await;
                }
                Decision::Wait { wait, reason } => {
                    let cooling = reason == WaitReason::Cooldown;
                    if self.fail_fast || !cooling || start.elapsed().saturating_add(wait) > max_wait
                    {
                        return Err(self.refusal_for_wait(wait, reason));
                    }
                    waited = true;
                    wait_event(wait, reason);
                    tokio::time::sleep(wait).await;
                }
                Decision::Refused(refusal) => return Err(self.refusal(refusal)),
            }
        }
    }

    /// Puts the scope in cooldown for `duration`, for every limiter sharing the store.
    pub async fn cooldown(&self, duration: Duration) {
        self.store.cooldown(&self.scope, duration).await;
    }

    /// Applies a provider error's hint: a rate-limit error ([`ErrorKind::RateLimited`] or
    /// [`ErrorKind::Overloaded`]) with a [`retry_after`](Error::retry_after) puts the scope in
    /// cooldown for that long. Returns whether it did.
    pub async fn observe(&self, error: &Error) -> bool {
        let rate_limited = matches!(error.kind(), ErrorKind::RateLimited | ErrorKind::Overloaded);
        match error.retry_after() {
            Some(wait) if rate_limited && !wait.is_zero() => {
                self.cooldown(wait).await;
                true
            }
            _ => false,
        }
    }

    /// How much of the scope's cooldown is left, if any.
    pub async fn cooldown_left(&self) -> Option<Duration> {
        self.store.cooldown_of(&self.scope).await
    }

    /// The [`ErrorKind::QuotaRefused`] error for a request that was not admitted and will not
    /// wait `wait` more (`reason` says why it would have to).
    pub(crate) fn refusal_for_wait(&self, wait: Duration, reason: WaitReason) -> Error {
        let why = match reason {
            WaitReason::Cooldown => "the scope is cooling down after a provider rate limit",
            _ => "the quota is used up for now",
        };
        self.error(format!(
            "refused by the local quota for {}: {why} (admissible in {wait:?})",
            self.scope
        ))
        .with_retry_after(Some(wait))
    }

    fn refusal(&self, refusal: Refusal) -> Error {
        match refusal {
            Refusal::TooLarge { cost, allowance } => self
                .error(format!(
                    "refused by the local quota for {}: the request's estimated {cost} tokens \
                     exceed the token allowance of {allowance}, so it can never be admitted",
                    self.scope
                ))
                .with_should_retry(Some(false)),
            _ => self.error(format!(
                "refused by the local quota for {}: the shared quota store is unreachable and \
                 its degrade mode is fail-closed",
                self.scope
            )),
        }
    }

    fn error(&self, message: String) -> Error {
        Error::new(ErrorKind::QuotaRefused, message)
            .with_provider(self.scope.provider())
            .with_model(self.scope.model())
    }
}

/// A wait for admission, as a `tracing` event in the current span.
fn wait_event(wait: Duration, reason: WaitReason) {
    tracing::event!(
        name: "steadfast.quota.wait",
        target: "steadfast",
        tracing::Level::INFO,
        steadfast.wait.duration = wait.as_secs_f64(),
        steadfast.wait.reason = reason.as_str(),
    );
}

impl fmt::Debug for Limiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Limiter")
            .field("scope", &self.scope)
            .field("quota", &self.quota)
            .field("fail_fast", &self.fail_fast)
            .field("max_wait", &self.max_wait)
            .field("store", &self.store)
            .finish()
    }
}

impl Permit {
    /// The tokens counted for this request up front.
    pub fn estimated_tokens(&self) -> u64 {
        self.estimated
    }

    /// Corrects the count to the `actual` tokens used. Costs a store operation only when they
    /// differ from the estimate and the quota limits tokens.
    pub async fn settle(self, actual: u64) {
        if actual == self.estimated || self.limiter.quota.tokens_per_minute().is_none() {
            return;
        }
        let l = &self.limiter;
        l.store
            .settle(&l.scope, &l.quota, self.estimated, actual)
            .await;
    }

    /// [`settle`](Permit::settle) with a response's usage (input + output tokens).
    pub async fn settle_usage(self, usage: &Usage) {
        self.settle(actual_tokens(usage)).await;
    }
}

impl fmt::Debug for Permit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("scope", &self.limiter.scope)
            .field("estimated", &self.estimated)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn limiter(quota: Quota) -> Limiter {
        Limiter::new(QuotaScope::new("openai", "team", "m").unwrap(), quota)
    }

    /// 60 requests a minute, one at a time.
    fn one_a_second() -> Quota {
        Quota::builder()
            .requests_per_minute(60)
            .burst(1)
            .build()
            .unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn fail_fast_refuses_with_a_typed_error_and_a_hint() {
        let l = limiter(one_a_second()).fail_fast(true);
        let e = TokenEstimate::new(10, 10);
        assert!(matches!(l.admit(&e).await, Admission::Admitted(_)));
        let Admission::Refused(err) = l.admit(&e).await else {
            panic!("fail-fast refuses");
        };
        assert_eq!(err.kind(), ErrorKind::QuotaRefused);
        assert_eq!(err.retry_after(), Some(Duration::from_secs(1)));
        assert_eq!(err.provider(), Some("openai"));
        assert!(
            !err.is_retryable(),
            "fail-fast: the retry predicate does not wait it out"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn too_large_is_never_retryable() {
        let l = limiter(Quota::builder().tokens_per_minute(100).build().unwrap());
        let Admission::Refused(err) = l.admit(&TokenEstimate::new(90, 20)).await else {
            panic!("110 tokens never fit 100");
        };
        assert_eq!(err.kind(), ErrorKind::QuotaRefused);
        assert!(!err.is_retryable());
        assert!(err.to_string().contains("110"), "{err}");
    }

    #[tokio::test(start_paused = true)]
    async fn acquire_waits_within_its_bound() {
        let l = limiter(one_a_second());
        let e = TokenEstimate::new(1, 1);
        let start = tokio::time::Instant::now();
        drop(l.acquire(&e, Duration::ZERO).await.unwrap());
        drop(l.acquire(&e, Duration::from_secs(5)).await.unwrap());
        assert_eq!(start.elapsed(), Duration::from_secs(1));
        let err = l.acquire(&e, Duration::from_millis(500)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::QuotaRefused);
    }

    #[tokio::test(start_paused = true)]
    async fn a_provider_hint_cools_down_every_sharer() {
        let store: Arc<dyn QuotaStore> = Arc::new(InProcess::new());
        let q = Quota::builder().requests_per_minute(600).build().unwrap();
        let a = limiter(q).with_store(Arc::clone(&store));
        let b = limiter(q).with_store(store);
        let hint = Error::new(ErrorKind::RateLimited, "429")
            .with_retry_after(Some(Duration::from_secs(3)));
        assert!(!a.observe(&Error::new(ErrorKind::Server, "500")).await);
        assert!(a.observe(&hint).await);
        assert_eq!(b.cooldown_left().await, Some(Duration::from_secs(3)));
        let e = TokenEstimate::new(1, 1);
        assert!(matches!(
            b.admit(&e).await,
            Admission::Wait { wait, reason: WaitReason::Cooldown } if wait == Duration::from_secs(3)
        ));
        let b = b.fail_fast(true);
        let Admission::Refused(err) = b.admit(&e).await else {
            panic!("fail-fast during a cooldown");
        };
        assert!(err.to_string().contains("cooling down"), "{err}");
    }

    /// Counts the admissions asked of an in-process store.
    #[derive(Debug, Default)]
    struct Counting {
        inner: InProcess,
        asked: AtomicUsize,
    }

    impl QuotaStore for Counting {
        fn admit(
            &self,
            scope: &QuotaScope,
            quota: &Quota,
            cost: u64,
        ) -> crate::provider::BoxFuture<Decision> {
            self.asked.fetch_add(1, Ordering::SeqCst);
            self.inner.admit(scope, quota, cost)
        }

        fn admit_reserving(
            &self,
            scope: &QuotaScope,
            quota: &Quota,
            cost: u64,
            reserve: Duration,
        ) -> crate::provider::BoxFuture<Decision> {
            self.asked.fetch_add(1, Ordering::SeqCst);
            self.inner.admit_reserving(scope, quota, cost, reserve)
        }

        fn settle(
            &self,
            scope: &QuotaScope,
            quota: &Quota,
            estimated: u64,
            actual: u64,
        ) -> crate::provider::BoxFuture<()> {
            self.inner.settle(scope, quota, estimated, actual)
        }

        fn cooldown(
            &self,
            scope: &QuotaScope,
            duration: Duration,
        ) -> crate::provider::BoxFuture<()> {
            self.inner.cooldown(scope, duration)
        }

        fn cooldown_of(&self, scope: &QuotaScope) -> crate::provider::BoxFuture<Option<Duration>> {
            self.inner.cooldown_of(scope)
        }
    }

    #[tokio::test(start_paused = true)]
    async fn waiters_are_served_first_come_first_served_with_one_ask_each() {
        let store = Arc::new(Counting::default());
        let l = limiter(one_a_second()).with_store(Arc::clone(&store) as Arc<dyn QuotaStore>);
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let start = tokio::time::Instant::now();
        let tasks: Vec<_> = (0..10)
            .map(|i| {
                let (l, order) = (l.clone(), Arc::clone(&order));
                tokio::spawn(async move {
                    let (_, waited) = l
                        .acquire_timed(&TokenEstimate::new(1, 1), Duration::from_secs(60))
                        .await
                        .unwrap();
                    order.lock().unwrap().push((i, start.elapsed(), waited));
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let order = order.lock().unwrap().clone();
        let expected: Vec<_> = (0..10u64)
            .map(|i| (i as usize, Duration::from_secs(i), Duration::from_secs(i)))
            .collect();
        assert_eq!(order, expected, "one a second, in arrival order");
        // Each asks once: the later ones are reserved their turn.
        assert_eq!(store.asked.load(Ordering::SeqCst), 10);
    }

    #[tokio::test(start_paused = true)]
    async fn a_cooldown_set_while_a_request_waits_its_turn_holds_it() {
        let l = limiter(one_a_second());
        let e = TokenEstimate::new(1, 1);
        drop(l.acquire(&e, Duration::ZERO).await.unwrap());
        let waiting = {
            let l = l.clone();
            tokio::spawn(async move {
                l.acquire_timed(&TokenEstimate::new(1, 1), Duration::from_secs(10))
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(500)).await;
        // Another sharer's 429 says: nothing for 3 s.
        l.cooldown(S3).await;
        let (_, waited) = waiting.await.unwrap().unwrap();
        assert_eq!(
            waited,
            Duration::from_millis(3_500),
            "its turn (1 s), then the cooldown"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn what_a_cooldown_held_back_leaves_at_the_quotas_pace() {
        let l = limiter(one_a_second());
        drop(
            l.acquire(&TokenEstimate::new(1, 1), Duration::ZERO)
                .await
                .unwrap(),
        );
        let start = tokio::time::Instant::now();
        let held: Vec<_> = (0..3)
            .map(|_| {
                let l = l.clone();
                tokio::spawn(async move {
                    l.acquire(&TokenEstimate::new(1, 1), Duration::from_secs(30))
                        .await
                        .map(|_| start.elapsed())
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(500)).await;
        l.cooldown(Duration::from_secs(10)).await;
        let mut left = Vec::new();
        for h in held {
            left.push(h.await.unwrap().unwrap());
        }
        left.sort();
        let ms = Duration::from_millis;
        assert_eq!(
            left,
            [ms(10_500), ms(11_500), ms(12_500)],
            "one a second after it"
        );
    }

    /// On the real clock: the store operation of an admission at once takes a few microseconds,
    /// and they are not a wait.
    #[tokio::test]
    async fn an_admission_at_once_waited_nothing() {
        let l = limiter(one_a_second());
        let (_, waited) = l
            .acquire_timed(&TokenEstimate::new(1, 1), Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(waited, Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_queued_longer_than_max_wait_is_refused() {
        let l = limiter(one_a_second());
        let e = TokenEstimate::new(1, 1);
        drop(l.acquire(&e, Duration::ZERO).await.unwrap());
        let ahead = {
            let l = l.clone();
            tokio::spawn(async move { l.acquire(&TokenEstimate::new(1, 1), S3).await })
        };
        tokio::task::yield_now().await;
        // Two ahead need 1 s and 2 s: 1.5 s is not enough for the second.
        let behind = l.acquire(&e, Duration::from_millis(1_500)).await;
        assert!(ahead.await.unwrap().is_ok());
        let err = behind.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::QuotaRefused, "{err}");
    }

    const S3: Duration = Duration::from_secs(3);

    #[tokio::test(start_paused = true)]
    async fn settle_skips_the_store_when_nothing_changes() {
        let l = limiter(Quota::builder().tokens_per_minute(1000).build().unwrap());
        let Admission::Admitted(p) = l.admit(&TokenEstimate::new(500, 400)).await else {
            panic!("fits");
        };
        assert_eq!(p.estimated_tokens(), 900);
        p.settle_usage(&Usage::new(100, 50)).await;
        assert!(matches!(
            l.admit(&TokenEstimate::new(800, 0)).await,
            Admission::Admitted(_)
        ));
    }
}
