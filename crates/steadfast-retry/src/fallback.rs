//! Fallback chains: when the primary target fails with a caught error, try the backups in order.
//!
//! A [`Fallback`] is generic over the *target* type `C` (in `steadfast`, the `Call` to make:
//! provider, model, parameters). [`Fallback::run`] calls the operation with the primary target,
//! then, while the error matches the catch predicate of the target that failed, with each
//! backup in order:
//!
//! - the first success wins; [`Winner`] reports which target it was and the errors caught on
//!   the way (`caught`, primary first);
//! - an error the failing target's predicate does not catch is returned at once, unchanged
//!   ([`FallbackRunError::Uncaught`]); later backups do not run;
//! - when every target failed with caught errors, [`FallbackError`] holds them all, in order.
//!
//! It composes with [`Retry`](crate::Retry) in both directions (a policy inside the operation
//! gives each target the full retry policy) and stacks by nesting: an inner chain's
//! `FallbackError` is an error like any other for an outer chain (see
//! [`FallbackRunError::flatten`]). Targets whose [`CircuitBreaker`] is open are skipped, a
//! shared [`Budget`] bounds the switches, and a backup identical to the target just given up on
//! can be skipped ([`Fallback::skip_same_as_previous`]).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! use steadfast_retry::Fallback;
//!
//! // Targets are anything cloneable: here, a model name.
//! let chain = Fallback::new(|e: &String| e.contains("rate limit"))
//!     .backup("claude-3-5-sonnet-latest", |e: &String| e.contains("rate limit"));
//! let won = chain
//!     .run(&"gpt-4o-mini", |model| async move {
//!         if model == "gpt-4o-mini" { Err("429 rate limit".to_string()) } else { Ok(format!("hi from {model}")) }
//!     })
//!     .await
//!     .unwrap();
//! assert_eq!(won.value(), "hi from claude-3-5-sonnet-latest");
//! assert_eq!(won.index(), 1);
//! assert_eq!(won.caught(), ["429 rate limit"]);
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use crate::budget::Budget;
use crate::circuit::{CircuitBreaker, Permit};
use crate::hint::RetryHint;
use crate::predicate::Predicate;

type Derive<C> = Arc<dyn Fn(&C) -> C + Send + Sync>;
type BreakerFor<C> = Arc<dyn Fn(&C) -> Option<CircuitBreaker> + Send + Sync>;
type SameTarget<C> = Arc<dyn Fn(&C, &C) -> bool + Send + Sync>;

/// A fallback chain: a catch predicate for the primary target (given at run time) and a list of
/// backups, each with its own catch predicate. Cheap to clone (one `Arc`).
pub struct Fallback<C, E> {
    inner: Arc<Inner<C, E>>,
}

struct Inner<C, E> {
    catch: Predicate<E>,
    backups: Vec<Backup<C, E>>,
    breaker: Option<BreakerFor<C>>,
    budget: Option<Budget>,
    same_target: Option<SameTarget<C>>,
}

struct Backup<C, E> {
    target: TargetSpec<C>,
    catch: Predicate<E>,
}

enum TargetSpec<C> {
    Fixed(C),
    Derived(Derive<C>),
}

impl<C: Clone, E> Clone for Inner<C, E> {
    fn clone(&self) -> Self {
        Inner {
            catch: self.catch.clone(),
            backups: self
                .backups
                .iter()
                .map(|b| Backup {
                    target: match &b.target {
                        TargetSpec::Fixed(c) => TargetSpec::Fixed(c.clone()),
                        TargetSpec::Derived(f) => TargetSpec::Derived(Arc::clone(f)),
                    },
                    catch: b.catch.clone(),
                })
                .collect(),
            breaker: self.breaker.clone(),
            budget: self.budget.clone(),
            same_target: self.same_target.clone(),
        }
    }
}

impl<C, E> Clone for Fallback<C, E> {
    fn clone(&self) -> Self {
        Fallback {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<C: fmt::Debug, E> fmt::Debug for Fallback<C, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let backups: Vec<&dyn fmt::Debug> = self
            .inner
            .backups
            .iter()
            .map(|b| match &b.target {
                TargetSpec::Fixed(c) => c as &dyn fmt::Debug,
                TargetSpec::Derived(_) => &"<derived from the primary>" as &dyn fmt::Debug,
            })
            .collect();
        f.debug_struct("Fallback")
            .field("backups", &backups)
            .field("breaker", &self.inner.breaker.is_some())
            .field("budget", &self.inner.budget)
            .field("skip_same_as_previous", &self.inner.same_target.is_some())
            .finish()
    }
}

impl<C: Clone, E> Fallback<C, E> {
    /// A chain whose primary target moves on to the backups on the errors `catch` matches.
    pub fn new(catch: impl Into<Predicate<E>>) -> Self {
        Fallback {
            inner: Arc::new(Inner {
                catch: catch.into(),
                backups: Vec::new(),
                breaker: None,
                budget: None,
                same_target: None,
            }),
        }
    }

    fn with(mut self, f: impl FnOnce(&mut Inner<C, E>)) -> Self {
        f(Arc::make_mut(&mut self.inner));
        self
    }

    /// Adds a backup target; when it fails with an error `catch` matches, the chain moves on.
    #[must_use]
    pub fn backup(self, target: C, catch: impl Into<Predicate<E>>) -> Self {
        let catch = catch.into();
        self.with(|i| {
            i.backups.push(Backup {
                target: TargetSpec::Fixed(target),
                catch,
            });
        })
    }

    /// Adds a backup target derived from the primary at run time (for example the same call
    /// with another provider and model, keeping the primary's common parameters).
    #[must_use]
    pub fn backup_with(
        self,
        derive: impl Fn(&C) -> C + Send + Sync + 'static,
        catch: impl Into<Predicate<E>>,
    ) -> Self {
        let catch = catch.into();
        self.with(|i| {
            i.backups.push(Backup {
                target: TargetSpec::Derived(Arc::new(derive)),
                catch,
            });
        })
    }

    /// Consults a circuit breaker per target (`None`: no breaker for that target): a target
    /// whose circuit is open is skipped; outcomes are reported to it (successes, and failures
    /// with caught errors; an uncaught error is not the target's health and is not reported).
    #[must_use]
    pub fn breaker(
        self,
        breaker_for: impl Fn(&C) -> Option<CircuitBreaker> + Send + Sync + 'static,
    ) -> Self {
        self.with(|i| i.breaker = Some(Arc::new(breaker_for)))
    }

    /// Takes one unit of `budget` before switching to each backup; when none is left the chain
    /// stops with [`FallbackStop::BudgetExhausted`]. Share the budget with the retry policy run
    /// inside the operation to bound retries × fallbacks.
    #[must_use]
    pub fn budget(self, budget: Budget) -> Self {
        self.with(|i| i.budget = Some(budget))
    }

    /// Skips a backup that `same(previous, backup)` says is the target just given up on, so
    /// the chain never re-sends an identical request to the same target.
    #[must_use]
    pub fn skip_same_as_previous(
        self,
        same: impl Fn(&C, &C) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.with(|i| i.same_target = Some(Arc::new(same)))
    }

    /// The number of targets: the primary plus the backups.
    #[must_use]
    pub fn len(&self) -> usize {
        self.inner.backups.len() + 1
    }

    /// Always `false`: a chain has at least its primary.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Runs `op` on the primary target, then on the backups as described in the
    /// [module docs](self). `op` receives each target by value and returns the call's future
    /// (`|target| async move { .. }`); the future the chain returns owns its state, so it is
    /// `Send` whenever `C`, `E`, `T` and the operation's futures are.
    ///
    /// # Errors
    ///
    /// [`FallbackRunError::Uncaught`] with a target's error unchanged when that target's catch
    /// predicate does not match it; [`FallbackRunError::Exhausted`] when no target succeeded.
    pub fn run<T, F, Fut>(
        &self,
        primary: &C,
        op: F,
    ) -> impl Future<Output = Result<Winner<T, C, E>, FallbackRunError<E>>> + use<T, F, Fut, C, E>
    where
        F: FnMut(C) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: RetryHint,
    {
        // The future owns the chain and the primary instead of borrowing them: borrowed values
        // inside a generic caller's future (retries inside a chain on a spawned task) trip
        // rustc's "`Send` is not general enough".
        use tracing::Instrument as _;
        let span = tracing::info_span!(
            target: "steadfast",
            "steadfast.fallback",
            otel.kind = "internal",
            otel.status_code = tracing::field::Empty,
            error.type = tracing::field::Empty,
            steadfast.fallback.targets = self.len(),
            steadfast.fallback.tried = tracing::field::Empty,
            steadfast.fallback.winner = tracing::field::Empty,
            steadfast.fallback.winner_index = tracing::field::Empty,
            steadfast.fallback.caught = tracing::field::Empty,
            steadfast.fallback.skipped = tracing::field::Empty,
            steadfast.fallback.stop = tracing::field::Empty,
            steadfast.budget.remaining = tracing::field::Empty,
        );
        let run = chain(Fallback::clone(self), primary.clone(), op, span.clone());
        run.instrument(span)
    }
}

/// What the chain's span records as it goes: how many targets were called, what was caught
/// (error types, in order) and what was skipped.
struct Story {
    /// Whether anyone listens: the lists are built only then.
    enabled: bool,
    span: tracing::Span,
    tried: usize,
    caught: String,
    skipped: String,
}

impl Story {
    fn called(&mut self) {
        if !self.enabled {
            return;
        }
        self.tried += 1;
        self.span.record("steadfast.fallback.tried", self.tried);
    }

    fn caught(&mut self, error_type: Option<&'static str>) {
        if !self.enabled {
            return;
        }
        push_item(&mut self.caught, error_type.unwrap_or("_OTHER"));
        self.span
            .record("steadfast.fallback.caught", self.caught.as_str());
    }

    fn skipped(&mut self, index: usize, reason: SkipReason) {
        let reason = match reason {
            SkipReason::SameAsPrevious => "same-as-previous",
            SkipReason::CircuitOpen => "circuit-open",
        };
        tracing::event!(
            name: "steadfast.fallback.skip",
            target: "steadfast",
            tracing::Level::INFO,
            steadfast.fallback.index = index,
            steadfast.fallback.skip_reason = reason,
        );
        push_item(&mut self.skipped, &format!("{index}:{reason}"));
        self.span
            .record("steadfast.fallback.skipped", self.skipped.as_str());
    }

    fn won(&self, index: usize, budget: Option<&Budget>) {
        if !self.enabled {
            return;
        }
        self.span.record("steadfast.fallback.winner_index", index);
        self.budget(budget);
    }

    /// The chain failed: the last error's type, and why it stopped.
    fn finish_failed<E: RetryHint>(&self, errors: &[E], stop: &str, budget: Option<&Budget>) {
        if !self.enabled {
            return;
        }
        self.span.record("otel.status_code", "ERROR");
        let last = errors.last().and_then(RetryHint::error_type);
        self.span.record("error.type", last.unwrap_or("_OTHER"));
        self.span.record("steadfast.fallback.stop", stop);
        self.budget(budget);
    }

    fn budget(&self, budget: Option<&Budget>) {
        if !self.enabled {
            return;
        }
        if let Some(b) = budget {
            self.span
                .record("steadfast.budget.remaining", b.remaining());
        }
    }
}

fn push_item(list: &mut String, item: &str) {
    if !list.is_empty() {
        list.push(',');
    }
    list.push_str(item);
}

/// The fallback loop.
async fn chain<C, E, T, F, Fut>(
    fallback: Fallback<C, E>,
    primary: C,
    mut op: F,
    span: tracing::Span,
) -> Result<Winner<T, C, E>, FallbackRunError<E>>
where
    C: Clone,
    F: FnMut(C) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: RetryHint,
{
    {
        let inner = &*fallback.inner;
        let mut story = Story {
            enabled: !span.is_disabled(),
            span,
            tried: 0,
            caught: String::new(),
            skipped: String::new(),
        };
        let mut caught: Vec<E> = Vec::new();
        let mut skipped: Vec<Skipped> = Vec::new();
        let mut previous: Option<C> = None;
        for index in 0..fallback.len() {
            // Owned (an `Arc` clone): a reference held across the `.await` below would trip
            // rustc's "`Send` is not general enough" when the chain runs on a spawned task.
            let (target, catch) = match index.checked_sub(1).and_then(|i| inner.backups.get(i)) {
                None => (primary.clone(), inner.catch.clone()),
                Some(backup) => {
                    let target = match &backup.target {
                        TargetSpec::Fixed(c) => c.clone(),
                        TargetSpec::Derived(derive) => derive(&primary),
                    };
                    (target, backup.catch.clone())
                }
            };
            if let (Some(same), Some(prev)) = (&inner.same_target, &previous) {
                if same(prev, &target) {
                    tracing::debug!(
                        target_index = index,
                        "steadfast_retry: fallback skips a repeat"
                    );
                    story.skipped(index, SkipReason::SameAsPrevious);
                    skipped.push(Skipped::new(index, SkipReason::SameAsPrevious));
                    continue;
                }
            }
            let permit: Option<Permit> = match inner.breaker.as_ref().and_then(|b| b(&target)) {
                None => None,
                Some(breaker) => match breaker.try_acquire() {
                    Some(permit) => Some(permit),
                    None => {
                        tracing::debug!(
                            target_index = index,
                            "steadfast_retry: circuit open, skipped"
                        );
                        story.skipped(index, SkipReason::CircuitOpen);
                        skipped.push(Skipped::new(index, SkipReason::CircuitOpen));
                        continue;
                    }
                },
            };
            if !caught.is_empty() {
                if let Some(budget) = &inner.budget {
                    if !budget.try_acquire() {
                        tracing::event!(
                            name: "steadfast.budget.refused",
                            target: "steadfast",
                            tracing::Level::INFO,
                            steadfast.fallback.index = index,
                        );
                        story.finish_failed(&caught, "budget-exhausted", Some(budget));
                        return Err(FallbackRunError::Exhausted(FallbackError {
                            caught,
                            skipped,
                            stop: FallbackStop::BudgetExhausted,
                        }));
                    }
                }
            }
            tracing::debug!(target_index = index, "steadfast_retry: fallback target");
            story.called();
            match op(target.clone()).await {
                Ok(value) => {
                    if let Some(p) = permit {
                        p.success();
                    }
                    story.won(index, inner.budget.as_ref());
                    return Ok(Winner {
                        value,
                        index,
                        target,
                        caught,
                        skipped,
                    });
                }
                Err(error) if catch.test(&error) => {
                    if let Some(p) = permit {
                        p.failure(&error);
                    }
                    tracing::info!(
                        target_index = index,
                        "steadfast_retry: fallback caught an error"
                    );
                    story.caught(error.error_type());
                    caught.push(error);
                    previous = Some(target);
                }
                Err(error) => {
                    story.finish_failed(
                        std::slice::from_ref(&error),
                        "uncaught",
                        inner.budget.as_ref(),
                    );
                    return Err(FallbackRunError::Uncaught(error));
                }
            }
        }
        let stop = if caught.is_empty() {
            FallbackStop::NoTargetAvailable
        } else {
            FallbackStop::Exhausted
        };
        story.finish_failed(
            &caught,
            if caught.is_empty() {
                "no-target-available"
            } else {
                "exhausted"
            },
            inner.budget.as_ref(),
        );
        Err(FallbackRunError::Exhausted(FallbackError {
            caught,
            skipped,
            stop,
        }))
    }
}

/// Why a target was skipped without being called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SkipReason {
    /// Its circuit breaker was open.
    CircuitOpen,
    /// It was the target just given up on ([`Fallback::skip_same_as_previous`]).
    SameAsPrevious,
}

/// A target skipped without being called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Skipped {
    index: usize,
    reason: SkipReason,
}

impl Skipped {
    fn new(index: usize, reason: SkipReason) -> Self {
        Skipped { index, reason }
    }

    /// The target's index: 0 for the primary, `i` for the `i`-th backup.
    #[must_use]
    pub fn index(&self) -> usize {
        self.index
    }

    /// Why it was skipped.
    #[must_use]
    pub fn reason(&self) -> SkipReason {
        self.reason
    }
}

/// The successful outcome of a [`Fallback`]: the value, the target that produced it and the
/// errors caught before.
#[derive(Clone, Debug)]
pub struct Winner<T, C, E> {
    value: T,
    index: usize,
    target: C,
    caught: Vec<E>,
    skipped: Vec<Skipped>,
}

impl<T, C, E> Winner<T, C, E> {
    /// The value the winning target produced.
    #[must_use]
    pub fn value(&self) -> &T {
        &self.value
    }

    /// Takes the value.
    #[must_use]
    pub fn into_value(self) -> T {
        self.value
    }

    /// The winning target's index: 0 for the primary, `i` for the `i`-th backup.
    #[must_use]
    pub fn index(&self) -> usize {
        self.index
    }

    /// Whether the primary won.
    #[must_use]
    pub fn is_primary(&self) -> bool {
        self.index == 0
    }

    /// The winning target.
    #[must_use]
    pub fn target(&self) -> &C {
        &self.target
    }

    /// The errors caught before the win, in order (primary first); empty when the primary won.
    #[must_use]
    pub fn caught(&self) -> &[E] {
        &self.caught
    }

    /// The targets skipped on the way.
    #[must_use]
    pub fn skipped(&self) -> &[Skipped] {
        &self.skipped
    }

    /// Takes the value, the winning target and the caught errors.
    #[must_use]
    pub fn into_parts(self) -> (T, C, Vec<E>) {
        (self.value, self.target, self.caught)
    }
}

/// Why a fallback chain ended without a success.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FallbackStop {
    /// Every target was tried (or skipped) and the tried ones failed with caught errors.
    Exhausted,
    /// The shared [`Budget`] refused the switch to the next backup.
    BudgetExhausted,
    /// Every target was skipped: no error was caught because nothing was called.
    NoTargetAvailable,
}

/// Every error caught by a fallback chain that found no working target, in order (primary
/// first).
///
/// Its `Display` lists them all; [`source`](std::error::Error::source) is the last one.
#[derive(Clone, Debug)]
pub struct FallbackError<E> {
    caught: Vec<E>,
    skipped: Vec<Skipped>,
    stop: FallbackStop,
}

impl<E> FallbackError<E> {
    /// The caught errors, in order (primary first).
    #[must_use]
    pub fn errors(&self) -> &[E] {
        &self.caught
    }

    /// Takes the caught errors.
    #[must_use]
    pub fn into_errors(self) -> Vec<E> {
        self.caught
    }

    /// The last caught error (`None` only when every target was skipped).
    #[must_use]
    pub fn last(&self) -> Option<&E> {
        self.caught.last()
    }

    /// The targets skipped without being called.
    #[must_use]
    pub fn skipped(&self) -> &[Skipped] {
        &self.skipped
    }

    /// Why the chain ended.
    #[must_use]
    pub fn stop(&self) -> FallbackStop {
        self.stop
    }
}

impl<E: fmt::Display> fmt::Display for FallbackError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.stop {
            FallbackStop::BudgetExhausted => f.write_str("fallback stopped, budget exhausted")?,
            FallbackStop::NoTargetAvailable => f.write_str("no fallback target available")?,
            FallbackStop::Exhausted => f.write_str("every fallback target failed")?,
        }
        for (i, e) in self.caught.iter().enumerate() {
            let sep = if i == 0 { ": " } else { "; " };
            write!(f, "{sep}[{}] {e}", i + 1)?;
        }
        if !self.skipped.is_empty() {
            write!(f, " ({} skipped)", self.skipped.len())?;
        }
        Ok(())
    }
}

impl<E: std::error::Error + 'static> std::error::Error for FallbackError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.caught
            .last()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Why [`Fallback::run`] failed: an uncaught error, or every target failed.
///
/// Like [`RunError`](crate::RunError), exhaustive and meant to be matched.
#[derive(Clone, Debug)]
pub enum FallbackRunError<E> {
    /// A target failed with an error its catch predicate does not match, returned unchanged.
    Uncaught(E),
    /// No target succeeded; every caught error is inside.
    Exhausted(FallbackError<E>),
}

impl<E> FallbackRunError<E> {
    /// Whether a target failed with an error its predicate does not catch.
    #[must_use]
    pub fn is_uncaught(&self) -> bool {
        matches!(self, FallbackRunError::Uncaught(_))
    }

    /// The caught errors, when the chain was exhausted.
    #[must_use]
    pub fn exhausted(&self) -> Option<&FallbackError<E>> {
        match self {
            FallbackRunError::Uncaught(_) => None,
            FallbackRunError::Exhausted(e) => Some(e),
        }
    }

    /// Folds both variants into `E`: an uncaught error as is, an exhausted chain through
    /// `E: From<FallbackError<E>>`. This is how chains stack: the outer chain sees the inner
    /// chain's `FallbackError` as an `E` it can catch.
    #[must_use]
    pub fn flatten(self) -> E
    where
        E: From<FallbackError<E>>,
    {
        match self {
            FallbackRunError::Uncaught(e) => e,
            FallbackRunError::Exhausted(e) => E::from(e),
        }
    }
}

impl<E: fmt::Display> fmt::Display for FallbackRunError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FallbackRunError::Uncaught(e) => e.fmt(f),
            FallbackRunError::Exhausted(e) => e.fmt(f),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for FallbackRunError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FallbackRunError::Uncaught(e) => e.source(),
            FallbackRunError::Exhausted(e) => e.source(),
        }
    }
}

impl<E: RetryHint> RetryHint for FallbackRunError<E> {
    /// An uncaught error's hint; none for an exhausted chain.
    fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            FallbackRunError::Uncaught(e) => e.retry_after(),
            FallbackRunError::Exhausted(_) => None,
        }
    }
    /// An uncaught error's hint; none for an exhausted chain.
    fn should_retry(&self) -> Option<bool> {
        match self {
            FallbackRunError::Uncaught(e) => e.should_retry(),
            FallbackRunError::Exhausted(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_lists_every_error_primary_first() {
        let e = FallbackError {
            caught: vec!["openai: 429", "anthropic: 429"],
            skipped: vec![Skipped::new(2, SkipReason::CircuitOpen)],
            stop: FallbackStop::Exhausted,
        };
        assert_eq!(
            e.to_string(),
            "every fallback target failed: [1] openai: 429; [2] anthropic: 429 (1 skipped)"
        );
        let none: FallbackError<&str> = FallbackError {
            caught: Vec::new(),
            skipped: Vec::new(),
            stop: FallbackStop::NoTargetAvailable,
        };
        assert_eq!(none.to_string(), "no fallback target available");
        assert_eq!(none.last(), None);
    }
}
