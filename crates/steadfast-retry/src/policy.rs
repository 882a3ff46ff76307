//! The retry policy value and the ways to run an operation under it.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::budget::Budget;
use crate::error::RunError;
use crate::hint::RetryHint;
use crate::predicate::Predicate;
use crate::sleep::{Sleeper, SleeperSlot};
use crate::state::{Attempt, AttemptInfo, RetryState};
use crate::stop::Stop;
use crate::wait::Wait;

type BeforeHook = Arc<dyn Fn(&AttemptInfo) + Send + Sync>;
type AfterHook<E> = Arc<dyn Fn(&AttemptInfo, &E) + Send + Sync>;
type BeforeSleepHook<E> = Arc<dyn Fn(&AttemptInfo, &E, Duration) + Send + Sync>;

/// A retry policy: when to stop, how long to wait, which errors to retry, hooks, server-hint
/// handling and error collection. A value: cheap to clone (one `Arc`), `Send + Sync`, and
/// holding no per-run state, so one policy can serve any number of concurrent runs, each
/// starting from attempt 1 with no errors.
///
/// # Default
///
/// [`Retry::new`] stops after 3 attempts ([`stop::after_attempt(3)`](crate::stop::after_attempt)),
/// waits with [`wait::exponential_jitter`](crate::wait::exponential_jitter)'s tenacity defaults
/// (`2^(n-1) + uniform(0, 1)` seconds), retries every error (tenacity's default), collects no
/// error, caps server hints at 60 s and has no hook, seed or budget. tenacity's own default,
/// `stop_never` with no wait, would hammer a failing dependency forever, so it is not the
/// default here; [`stop::never`](crate::stop::never) and [`wait::none`](crate::wait::none)
/// restore it.
///
/// # Reraise
///
/// tenacity's `reraise=True` changes the type of what is raised; in Rust that is a different
/// return type, so it is a different method: [`run_reraise`](Retry::run_reraise) returns
/// `Result<T, E>` with the last error, [`run`](Retry::run) returns `Result<T, RunError<E>>`
/// with the whole history ([`RunError::into_last`] converts one into the other).
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use steadfast_retry::{Retry, RunError, stop, wait};
///
/// let policy = Retry::new()
///     .stop(stop::after_attempt(3))
///     .wait(wait::exponential().min(Duration::from_secs(4)).max(Duration::from_secs(10)).build()?)
///     .retry_if(|e: &std::io::Error| e.kind() != std::io::ErrorKind::PermissionDenied);
///
/// let start = tokio::time::Instant::now();
/// let outcome: Result<(), _> = policy
///     .run(|attempt| {
///         let n = attempt.number();
///         async move { Err(std::io::Error::other(format!("try {n}"))) }
///     })
///     .await;
/// let Err(RunError::Exhausted(history)) = outcome else { unreachable!() };
/// assert_eq!(history.len(), 3);
/// assert_eq!(history.to_string(), "gave up after 3 attempts: try 3");
/// assert_eq!(start.elapsed(), Duration::from_secs(8)); // 4 s + 4 s, none after the last
/// # Ok(())
/// # }
/// ```
pub struct Retry<E> {
    pub(crate) inner: Arc<Inner<E>>,
}

pub(crate) struct Inner<E> {
    pub(crate) stop: Stop,
    pub(crate) wait: Wait,
    pub(crate) retry_if: Option<Predicate<E>>,
    pub(crate) collect: Option<Predicate<E>>,
    pub(crate) before: Option<BeforeHook>,
    pub(crate) after: Option<AfterHook<E>>,
    pub(crate) before_sleep: Option<BeforeSleepHook<E>>,
    pub(crate) hint_cap: Duration,
    pub(crate) seed: Option<u64>,
    pub(crate) sleeper: SleeperSlot,
    pub(crate) budget: Option<Budget>,
}

impl<E> Clone for Inner<E> {
    fn clone(&self) -> Self {
        Inner {
            stop: self.stop.clone(),
            wait: self.wait.clone(),
            retry_if: self.retry_if.clone(),
            collect: self.collect.clone(),
            before: self.before.clone(),
            after: self.after.clone(),
            before_sleep: self.before_sleep.clone(),
            hint_cap: self.hint_cap,
            seed: self.seed,
            sleeper: self.sleeper.clone(),
            budget: self.budget.clone(),
        }
    }
}

impl<E> Clone for Retry<E> {
    fn clone(&self) -> Self {
        Retry {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<E> Default for Retry<E> {
    fn default() -> Self {
        Retry::new()
    }
}

impl<E> fmt::Debug for Retry<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &*self.inner;
        f.debug_struct("Retry")
            .field("stop", &i.stop)
            .field("wait", &i.wait)
            .field("retry_if", &i.retry_if.is_some())
            .field("collect_errors", &i.collect.is_some())
            .field(
                "hooks",
                &(
                    i.before.is_some(),
                    i.after.is_some(),
                    i.before_sleep.is_some(),
                ),
            )
            .field("hint_cap", &i.hint_cap)
            .field("seed", &i.seed)
            .field("sleeper", &i.sleeper)
            .field("budget", &i.budget)
            .finish()
    }
}

/// The default cap on server hints.
pub const DEFAULT_HINT_CAP: Duration = Duration::from_secs(60);

impl<E> Retry<E> {
    /// A policy with the [defaults](Retry#default).
    #[must_use]
    pub fn new() -> Self {
        Retry {
            inner: Arc::new(Inner {
                stop: Stop::default(),
                wait: Wait::default(),
                retry_if: None,
                collect: None,
                before: None,
                after: None,
                before_sleep: None,
                hint_cap: DEFAULT_HINT_CAP,
                seed: None,
                sleeper: SleeperSlot::Tokio,
                budget: None,
            }),
        }
    }

    fn with(mut self, f: impl FnOnce(&mut Inner<E>)) -> Self {
        f(Arc::make_mut(&mut self.inner));
        self
    }

    /// When to stop (see [`stop`](crate::stop)).
    #[must_use]
    pub fn stop(self, stop: Stop) -> Self {
        self.with(|i| i.stop = stop)
    }

    /// How long to wait between attempts (see [`wait`](crate::wait)).
    #[must_use]
    pub fn wait(self, wait: Wait) -> Self {
        self.with(|i| i.wait = wait)
    }

    /// Retries only the errors `predicate` matches; any other error is returned at once,
    /// unchanged, as [`RunError::Rejected`], without hooks and without waiting. Replaces an
    /// earlier predicate (combine with [`Predicate::or`]/[`Predicate::and`]).
    ///
    /// To retry on unacceptable *results*, see [`run_checked`](Retry::run_checked).
    #[must_use]
    pub fn retry_if(self, predicate: impl Into<Predicate<E>>) -> Self {
        let p = predicate.into();
        self.with(|i| i.retry_if = Some(p))
    }

    /// Collects the errors `predicate` matches for reinsertion: attempt `k` sees, through
    /// [`Attempt::errors`], the collected errors of attempts `1..k`, oldest first. Errors that do
    /// not match are still retried (per [`retry_if`](Retry::retry_if)) but not handed on.
    ///
    /// Select the errors the operation can learn from (a validation message the model can fix),
    /// not transport errors (a rate limit says nothing to the model).
    #[must_use]
    pub fn collect_errors(self, predicate: impl Into<Predicate<E>>) -> Self {
        let p = predicate.into();
        self.with(|i| i.collect = Some(p))
    }

    /// Runs `hook` before each attempt. Adding a second `before` hook keeps both, in order.
    #[must_use]
    pub fn before(self, hook: impl Fn(&AttemptInfo) + Send + Sync + 'static) -> Self
    where
        E: 'static,
    {
        self.with(|i| {
            i.before = Some(match i.before.take() {
                None => Arc::new(hook),
                Some(prev) => Arc::new(move |a: &AttemptInfo| {
                    prev(a);
                    hook(a);
                }),
            });
        })
    }

    /// Runs `hook` after each failure the policy retries, before the wait and stop decision, and
    /// also after the final failure. Not run for rejected errors. Adding a second `after` hook
    /// keeps both, in order.
    #[must_use]
    pub fn after(self, hook: impl Fn(&AttemptInfo, &E) + Send + Sync + 'static) -> Self
    where
        E: 'static,
    {
        self.with(|i| {
            i.after = Some(match i.after.take() {
                None => Arc::new(hook),
                Some(prev) => Arc::new(move |a: &AttemptInfo, e: &E| {
                    prev(a, e);
                    hook(a, e);
                }),
            });
        })
    }

    /// Runs `hook` before each sleep, with the wait about to happen (also for a zero wait). Not
    /// run after the final attempt. Adding a second hook keeps both, in order.
    #[must_use]
    pub fn before_sleep(
        self,
        hook: impl Fn(&AttemptInfo, &E, Duration) + Send + Sync + 'static,
    ) -> Self
    where
        E: 'static,
    {
        self.with(|i| {
            i.before_sleep = Some(match i.before_sleep.take() {
                None => Arc::new(hook),
                Some(prev) => Arc::new(move |a: &AttemptInfo, e: &E, d: Duration| {
                    prev(a, e, d);
                    hook(a, e, d);
                }),
            });
        })
    }

    /// The longest server hint the policy will wait for (default 60 s). A longer
    /// [`RetryHint::retry_after`] stops the retries at once with
    /// [`StopReason::HintAboveCap`](crate::StopReason::HintAboveCap), so a fallback can take
    /// over instead of the caller sleeping for minutes.
    #[must_use]
    pub fn hint_cap(self, cap: Duration) -> Self {
        self.with(|i| i.hint_cap = cap)
    }

    /// Seeds the random part of the waits: every run of the policy then draws the same jitter
    /// sequence. For tests; in production leave it unseeded so clients do not retry in lockstep.
    #[must_use]
    pub fn seed(self, seed: u64) -> Self {
        self.with(|i| i.seed = Some(seed))
    }

    /// Replaces the clock and sleep (default: Tokio's).
    #[must_use]
    pub fn sleeper(self, sleeper: impl Sleeper) -> Self {
        let slot = SleeperSlot::Custom(Arc::new(sleeper));
        self.with(|i| i.sleeper = slot)
    }

    /// Takes one unit of `budget` before each retry and stops with
    /// [`StopReason::BudgetExhausted`](crate::StopReason::BudgetExhausted) when none is left.
    #[must_use]
    pub fn budget(self, budget: Budget) -> Self {
        self.with(|i| i.budget = Some(budget))
    }

    /// The stop condition.
    #[must_use]
    pub fn stop_condition(&self) -> &Stop {
        &self.inner.stop
    }

    /// The wait strategy.
    #[must_use]
    pub fn wait_strategy(&self) -> &Wait {
        &self.inner.wait
    }

    /// Starts one invocation, to drive by hand (see [`RetryState`]).
    #[must_use]
    pub fn start(&self) -> RetryState<E> {
        RetryState::new(self.clone())
    }

    /// Sleeps for `wait` on this policy's sleeper (not at all for a zero wait): for a caller that
    /// waits between its own attempts outside [`run`](Retry::run), such as a stream restarted
    /// after the policy's [`Decision`](crate::Decision).
    ///
    /// # Panics
    ///
    /// As [`run`](Retry::run): with the default sleeper, outside a Tokio runtime with the time
    /// driver.
    pub async fn sleep(&self, wait: Duration) {
        if !wait.is_zero() {
            self.inner.sleeper.sleep(wait).await;
        }
    }

    /// Runs `op` until it succeeds or the policy gives up.
    ///
    /// `op` is called with the [`Attempt`] (number, elapsed time, collected errors) and returns
    /// the attempt's future: `|attempt| async move { .. }`. The closure body runs synchronously
    /// when the attempt starts, so read the attempt there (render the collected errors into the
    /// prompt, copy the number) and move what the future needs into it:
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// # use steadfast_retry::{Retry, wait};
    /// # async fn ask(prompt: String) -> Result<String, String> { Ok(prompt) }
    /// let policy = Retry::<String>::new().wait(wait::none()).collect_errors(|_: &String| true);
    /// let answer = policy
    ///     .run(|attempt| {
    ///         let preamble: String =
    ///             attempt.errors().iter().map(|e| format!("Previous Error: {e}\n")).collect();
    ///         async move { ask(format!("{preamble}Recommend a book")).await }
    ///     })
    ///     .await;
    /// assert_eq!(answer.unwrap(), "Recommend a book");
    /// # }
    /// ```
    ///
    /// Why not an async closure borrowing the attempt across `.await`s: rustc cannot prove such
    /// futures `Send` once the closure also captures a reference ("implementation of
    /// `AsyncFnMut` is not general enough"), which would make every retried call unusable in
    /// `tokio::spawn` and web handlers. With a plain closure the future's type is concrete and
    /// `Send` whenever what it holds is.
    ///
    /// # Errors
    ///
    /// [`RunError::Rejected`] with the error unchanged when the policy does not retry it;
    /// [`RunError::Exhausted`] with every attempt when it stopped.
    ///
    /// # Panics
    ///
    /// With the default sleeper, a non-zero wait outside a Tokio runtime with the time driver
    /// panics (Tokio's rule); use [`Retry::sleeper`] on other executors.
    pub fn run<T, F, Fut>(
        &self,
        op: F,
    ) -> impl Future<Output = Result<T, RunError<E>>> + use<T, F, Fut, E>
    where
        F: FnMut(Attempt<'_, E>) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: RetryHint,
    {
        self.run_checked(op, |_: &T| Ok(()))
    }

    /// Like [`run`](Retry::run), but a success is accepted only when `check` accepts it: `check`
    /// turns an unacceptable result into an error, which then goes through the policy like any
    /// other error (retried, collected, hooks, history). This is tenacity's
    /// `retry_if_result`, typed: the error says what was wrong with the result.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// use steadfast_retry::{Retry, stop, wait};
    ///
    /// let policy = Retry::<String>::new().stop(stop::after_attempt(5)).wait(wait::none());
    /// let value = policy
    ///     .run_checked(
    ///         |attempt| std::future::ready(Ok(attempt.number() * 10)),
    ///         |v: &u32| if *v >= 30 { Ok(()) } else { Err(format!("{v} is too small")) },
    ///     )
    ///     .await;
    /// assert_eq!(value.unwrap(), 30);
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`run`](Retry::run).
    ///
    /// # Panics
    ///
    /// As [`run`](Retry::run).
    pub fn run_checked<T, F, Fut, C>(
        &self,
        op: F,
        check: C,
    ) -> impl Future<Output = Result<T, RunError<E>>> + use<T, F, Fut, C, E>
    where
        F: FnMut(Attempt<'_, E>) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        C: FnMut(&T) -> Result<(), E>,
        E: RetryHint,
    {
        // The future owns its state (and a clone of the policy) instead of borrowing `self`:
        // a borrowed policy inside a generic caller's future (a fallback running retries on a
        // spawned task) trips rustc's "`Send` is not general enough".
        drive(self.start(), op, check)
    }

    /// Like [`run`](Retry::run) but returns the last error itself when it fails (tenacity's
    /// `reraise=True`).
    ///
    /// # Errors
    ///
    /// The last attempt's error, whether it was rejected or the retries ran out.
    ///
    /// # Panics
    ///
    /// As [`run`](Retry::run).
    pub fn run_reraise<T, F, Fut>(
        &self,
        op: F,
    ) -> impl Future<Output = Result<T, E>> + use<T, F, Fut, E>
    where
        F: FnMut(Attempt<'_, E>) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: RetryHint,
    {
        let run = self.run(op);
        async move { run.await.map_err(RunError::into_last) }
    }

    /// Runs a blocking `op` on the current thread, sleeping with
    /// [`Sleeper::sleep_blocking`] (`std::thread::sleep` by default). Same semantics as
    /// [`run`](Retry::run).
    ///
    /// ```
    /// use steadfast_retry::{Retry, stop, wait};
    ///
    /// let policy = Retry::<&str>::new().stop(stop::after_attempt(3)).wait(wait::none());
    /// let v = policy.run_blocking(|a| if a.number() < 3 { Err("flaky") } else { Ok(a.number()) });
    /// assert_eq!(v.unwrap(), 3);
    /// ```
    ///
    /// # Errors
    ///
    /// As [`run`](Retry::run).
    pub fn run_blocking<T, F>(&self, mut op: F) -> Result<T, RunError<E>>
    where
        F: FnMut(Attempt<'_, E>) -> Result<T, E>,
        E: RetryHint,
    {
        let mut state = self.start();
        loop {
            match op(state.begin()) {
                Ok(value) => return Ok(value),
                Err(error) => {
                    let decision = state.fail(error)?;
                    state.sleep_blocking(decision.wait);
                }
            }
        }
    }
}

/// The async retry loop.
async fn drive<E, T, F, Fut, C>(
    mut state: RetryState<E>,
    mut op: F,
    mut check: C,
) -> Result<T, RunError<E>>
where
    F: FnMut(Attempt<'_, E>) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    C: FnMut(&T) -> Result<(), E>,
    E: RetryHint,
{
    use tracing::Instrument as _;
    // The INTERNAL span of the whole run (see the `steadfast` crate's telemetry docs): its
    // attempts, its total wait and, when it fails, why.
    let span = tracing::info_span!(
        target: "steadfast",
        "steadfast.retry",
        otel.kind = "internal",
        otel.status_code = tracing::field::Empty,
        error.type = tracing::field::Empty,
        steadfast.attempts = tracing::field::Empty,
        steadfast.wait.total_ms = tracing::field::Empty,
        steadfast.retry.stop = tracing::field::Empty,
    );
    let mut waited = Duration::ZERO;
    let result = async {
        loop {
            let result = op(state.begin()).await;
            let error = match result {
                Ok(value) => match check(&value) {
                    Ok(()) => return Ok(value),
                    Err(e) => e,
                },
                Err(e) => e,
            };
            let decision = state.fail(error)?;
            waited += decision.wait;
            state.sleep(decision.wait).await;
        }
    }
    .instrument(span.clone())
    .await;
    if !span.is_disabled() {
        span.record("steadfast.attempts", state.attempt_number());
        span.record("steadfast.wait.total_ms", waited.as_millis() as u64);
        if let Err(e) = &result {
            let (error, stop) = match e {
                RunError::Rejected(e) => (e, "rejected".to_string()),
                RunError::Exhausted(h) => (h.last(), h.reason().to_string()),
            };
            span.record("otel.status_code", "ERROR");
            span.record("error.type", error.error_type().unwrap_or("_OTHER"));
            span.record("steadfast.retry.stop", stop);
        }
    }
    result
}
