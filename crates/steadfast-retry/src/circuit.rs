//! A circuit breaker: stop sending to a target that keeps failing, then probe it.
//!
//! Retrying a target that is down wastes the caller's time and adds load to a service that is
//! trying to recover. A [`CircuitBreaker`] watches the outcomes of the calls to one target:
//!
//! - **Closed** (normal): every call goes through; outcomes fill a sliding window of the last
//!   `window` calls. Once the window holds at least `min_calls` outcomes and the share of
//!   failures reaches `failure_rate`, the circuit **opens**.
//! - **Open**: calls are refused ([`try_acquire`](CircuitBreaker::try_acquire) returns `None`, and
//!   a [`Fallback`](crate::Fallback) skips the target) for the cooldown, or for the failing
//!   error's [`retry_after`](crate::RetryHint::retry_after) hint when that is longer.
//! - **Half-open**: after the cooldown, exactly one call (the probe) goes through. Its success
//!   closes the circuit with a fresh window; its failure opens it again. If the probe is dropped
//!   without an outcome (cancelled), the next caller probes instead.
//!
//! Time comes from `tokio::time::Instant`, so paused-time tests drive the cooldown exactly.
//!
//! # Sharing the decision
//!
//! Two hooks let another layer (steadfast's Redis-shared breakers) share a circuit's *decisions*
//! between processes while every process keeps counting its own outcomes:
//!
//! - a [`CircuitObserver`], given when the breaker is built
//!   ([`build_observed`](CircuitBreakerBuilder::build_observed)), hears every [`Transition`]:
//!   from, to, until when an opened circuit stays open, and whether the transition was this
//!   breaker's own ([`Origin::Local`]) or an applied remote decision ([`Origin::Remote`]);
//! - [`CircuitBreaker::apply`] applies a [`RemoteDecision`] made elsewhere: open until an
//!   instant, closed, or "this breaker holds the probe".
//!
//! With [`remote_probe`](CircuitBreakerBuilder::remote_probe) on, a circuit whose cooldown has
//! ended does not let a probe through by itself: it waits (refusing calls, reading as
//! half-open) until [`RemoteDecision::ProbeGranted`] says this breaker won the one probe of the
//! fleet. None of this does I/O: [`try_acquire`](CircuitBreaker::try_acquire) stays a short
//! critical section on a local mutex, whatever the observer or the remote layer do.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), steadfast_retry::circuit::InvalidCircuit> {
//! use std::time::Duration;
//! use steadfast_retry::{CircuitBreaker, circuit::CircuitState};
//!
//! let breaker = CircuitBreaker::builder()
//!     .window(4)
//!     .min_calls(2)
//!     .failure_rate(0.5)
//!     .cooldown(Duration::from_secs(30))
//!     .build()?;
//! for _ in 0..2 {
//!     if let Some(permit) = breaker.try_acquire() {
//!         permit.failure(&"503 overloaded");
//!     }
//! }
//! assert_eq!(breaker.state(), CircuitState::Open);
//! assert!(breaker.try_acquire().is_none());
//!
//! tokio::time::sleep(Duration::from_secs(30)).await;
//! let probe = breaker.try_acquire().expect("half-open lets one probe through");
//! assert!(breaker.try_acquire().is_none(), "only one probe at a time");
//! probe.success();
//! assert_eq!(breaker.state(), CircuitState::Closed);
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use crate::hint::RetryHint;

/// The state of a circuit, as seen now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CircuitState {
    /// Calls go through.
    Closed,
    /// Calls are refused until the cooldown ends.
    Open,
    /// The cooldown has ended: the next call is a probe (or a probe is in flight).
    HalfOpen,
}

/// A circuit-breaker configuration that cannot work.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum InvalidCircuit {
    /// The failure rate is not in `(0, 1]`.
    FailureRate(f64),
    /// The window holds no call.
    EmptyWindow,
    /// `min_calls` is zero or larger than the window.
    MinCalls {
        /// The configured minimum.
        min_calls: u32,
        /// The configured window.
        window: u32,
    },
}

impl fmt::Display for InvalidCircuit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvalidCircuit::FailureRate(r) => {
                write!(
                    f,
                    "invalid circuit breaker: failure rate {r} is not in (0, 1]"
                )
            }
            InvalidCircuit::EmptyWindow => f.write_str("invalid circuit breaker: empty window"),
            InvalidCircuit::MinCalls { min_calls, window } => write!(
                f,
                "invalid circuit breaker: min_calls {min_calls} must be in 1..={window} (the window)"
            ),
        }
    }
}

impl std::error::Error for InvalidCircuit {}

/// Builder for [`CircuitBreaker`].
///
/// # Default
///
/// Window of the last 20 calls, at least 10 calls before judging, opens at a 50% failure rate,
/// 30 s cooldown, local probes (no [`remote_probe`](Self::remote_probe)).
#[derive(Clone, Copy, Debug)]
#[must_use = "call `.build()` to get the circuit breaker"]
pub struct CircuitBreakerBuilder {
    failure_rate: f64,
    window: u32,
    min_calls: u32,
    cooldown: Duration,
    remote_probe: bool,
}

impl CircuitBreakerBuilder {
    /// The share of failures in the window (in `(0, 1]`) that opens the circuit.
    pub const fn failure_rate(mut self, rate: f64) -> Self {
        self.failure_rate = rate;
        self
    }

    /// How many of the most recent calls the window holds.
    pub const fn window(mut self, calls: u32) -> Self {
        self.window = calls;
        self
    }

    /// How many calls the window must hold before the failure rate is judged.
    pub const fn min_calls(mut self, calls: u32) -> Self {
        self.min_calls = calls;
        self
    }

    /// How long the circuit stays open (at least; a longer server hint extends it).
    pub const fn cooldown(mut self, cooldown: Duration) -> Self {
        self.cooldown = cooldown;
        self
    }

    /// Whether the half-open probe waits for [`RemoteDecision::ProbeGranted`] (default `false`).
    ///
    /// On, a circuit whose cooldown has ended keeps refusing calls (its [`state`] reads
    /// [`CircuitState::HalfOpen`]) until the layer that shares it between processes grants this
    /// breaker the probe, so that one probe goes out for the whole fleet instead of one per
    /// process. That layer must grant it when it cannot reach the others, or the circuit stays
    /// open.
    ///
    /// [`state`]: CircuitBreaker::state
    pub const fn remote_probe(mut self, gated: bool) -> Self {
        self.remote_probe = gated;
        self
    }

    /// Validates the configuration.
    ///
    /// # Errors
    ///
    /// [`InvalidCircuit`] for a failure rate outside `(0, 1]`, an empty window, or `min_calls`
    /// outside `1..=window`.
    pub fn build(self) -> Result<CircuitBreaker, InvalidCircuit> {
        self.build_with(None)
    }

    /// [`build`](Self::build), with `observer` hearing every [`Transition`] of the breaker.
    ///
    /// The observer runs on the task whose call caused the transition (or the one that applied
    /// a remote decision), after the breaker's lock is released: it may read the breaker, and
    /// it must be quick and never block. Concurrent transitions may reach it out of order;
    /// [`Transition::generation`] orders them.
    ///
    /// # Errors
    ///
    /// The same as [`build`](Self::build).
    pub fn build_observed(
        self,
        observer: Arc<dyn CircuitObserver>,
    ) -> Result<CircuitBreaker, InvalidCircuit> {
        self.build_with(Some(observer))
    }

    fn build_with(
        self,
        observer: Option<Arc<dyn CircuitObserver>>,
    ) -> Result<CircuitBreaker, InvalidCircuit> {
        if !(self.failure_rate > 0.0 && self.failure_rate <= 1.0) {
            return Err(InvalidCircuit::FailureRate(self.failure_rate));
        }
        if self.window == 0 {
            return Err(InvalidCircuit::EmptyWindow);
        }
        if self.min_calls == 0 || self.min_calls > self.window {
            return Err(InvalidCircuit::MinCalls {
                min_calls: self.min_calls,
                window: self.window,
            });
        }
        Ok(CircuitBreaker(Arc::new(Shared {
            config: self,
            observer: ObserverSlot(observer),
            state: Mutex::new(State {
                phase: Phase::Closed,
                window: vec![false; self.window as usize].into_boxed_slice(),
                next: 0,
                len: 0,
                failures: 0,
                generation: 0,
            }),
        })))
    }
}

/// A thread-safe circuit breaker for one target. Clones share the same circuit.
#[derive(Clone, Debug)]
pub struct CircuitBreaker(Arc<Shared>);

#[derive(Debug)]
struct Shared {
    config: CircuitBreakerBuilder,
    observer: ObserverSlot,
    state: Mutex<State>,
}

struct ObserverSlot(Option<Arc<dyn CircuitObserver>>);

impl fmt::Debug for ObserverSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() { "Some(..)" } else { "None" })
    }
}

/// Hears the [`Transition`]s of a breaker built with
/// [`build_observed`](CircuitBreakerBuilder::build_observed). Closures
/// `Fn(&Transition) + Send + Sync` are observers.
pub trait CircuitObserver: Send + Sync {
    /// The circuit went from `t.from` to `t.to`.
    fn transition(&self, t: &Transition);
}

impl<F: Fn(&Transition) + Send + Sync> CircuitObserver for F {
    fn transition(&self, t: &Transition) {
        self(t);
    }
}

/// One state change of a circuit, as its [`CircuitObserver`] hears it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Transition {
    /// The state before.
    pub from: CircuitState,
    /// The state after.
    pub to: CircuitState,
    /// When `to` is [`CircuitState::Open`]: the end of its cooldown.
    pub open_until: Option<Instant>,
    /// Whether the breaker decided it or applied a remote decision.
    pub origin: Origin,
    /// The breaker's transition count after this one: it grows by one per transition, so
    /// reports that reach the observer out of order can be put back in order.
    pub generation: u64,
}

/// Who decided a [`Transition`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Origin {
    /// This breaker, from the outcomes of its calls (or its cooldown ending).
    Local,
    /// A [`RemoteDecision`] given to [`CircuitBreaker::apply`].
    Remote,
}

/// A decision made elsewhere (another process sharing the circuit), for
/// [`CircuitBreaker::apply`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RemoteDecision {
    /// The circuit is open until `until`: a closed or half-open circuit opens (dropping the
    /// outcomes of calls in flight, and any probe), an open one stays open at least that long.
    /// An instant already past changes nothing.
    Open {
        /// The end of the cooldown, on this process's clock.
        until: Instant,
    },
    /// The circuit is closed (the fleet's probe succeeded): an open or half-open circuit closes
    /// with a fresh window.
    Closed,
    /// This breaker holds the fleet's one probe: with
    /// [`remote_probe`](CircuitBreakerBuilder::remote_probe), the first call once the cooldown
    /// has ended goes through as the probe. It lasts until the next transition.
    ProbeGranted,
}

#[derive(Debug)]
struct State {
    phase: Phase,
    /// Ring buffer of outcomes, `true` for a failure.
    window: Box<[bool]>,
    next: usize,
    len: usize,
    failures: usize,
    /// Bumped on every transition, so outcomes of calls admitted before it are ignored.
    generation: u64,
}

#[derive(Clone, Copy, Debug)]
enum Phase {
    Closed,
    /// `granted`: this breaker may probe once `until` has passed (always, without
    /// `remote_probe`).
    Open {
        until: Instant,
        granted: bool,
    },
    HalfOpen {
        probing: bool,
    },
}

impl Phase {
    fn state(self) -> CircuitState {
        match self {
            Phase::Closed => CircuitState::Closed,
            Phase::Open { .. } => CircuitState::Open,
            Phase::HalfOpen { .. } => CircuitState::HalfOpen,
        }
    }

    /// The state's name in telemetry: `closed`, `open` or `half_open`.
    fn name(self) -> &'static str {
        match self {
            Phase::Closed => "closed",
            Phase::Open { .. } => "open",
            Phase::HalfOpen { .. } => "half_open",
        }
    }
}

impl State {
    #[must_use]
    fn transition(&mut self, phase: Phase, origin: Origin) -> Transition {
        let from = self.phase.state();
        tracing::event!(
            name: "steadfast.breaker.transition",
            target: "steadfast",
            tracing::Level::INFO,
            steadfast.breaker.from = self.phase.name(),
            steadfast.breaker.to = phase.name(),
        );
        self.phase = phase;
        self.generation = self.generation.wrapping_add(1);
        self.window.fill(false);
        self.next = 0;
        self.len = 0;
        self.failures = 0;
        Transition {
            from,
            to: phase.state(),
            open_until: match phase {
                Phase::Open { until, .. } => Some(until),
                _ => None,
            },
            origin,
            generation: self.generation,
        }
    }

    fn push(&mut self, failed: bool) {
        let cap = self.window.len();
        if self.len == cap {
            if self.window.get(self.next).copied().unwrap_or(false) {
                self.failures = self.failures.saturating_sub(1);
            }
        } else {
            self.len += 1;
        }
        if let Some(slot) = self.window.get_mut(self.next) {
            *slot = failed;
        }
        if failed {
            self.failures += 1;
        }
        self.next = (self.next + 1) % cap.max(1);
    }
}

impl CircuitBreaker {
    /// A builder with the [defaults](CircuitBreakerBuilder#default).
    pub const fn builder() -> CircuitBreakerBuilder {
        CircuitBreakerBuilder {
            failure_rate: 0.5,
            window: 20,
            min_calls: 10,
            cooldown: Duration::from_secs(30),
            remote_probe: false,
        }
    }

    fn notify(&self, transition: Option<Transition>) {
        if let (Some(t), Some(observer)) = (transition, &self.0.observer.0) {
            observer.transition(&t);
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent even if a holder panicked: every update is a few plain
        // writes, so recover it rather than propagate the poison.
        self.0.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Asks to make a call. `None` while the circuit is open (or half-open with a probe in
    /// flight); otherwise a [`Permit`] to report the call's outcome with.
    #[must_use]
    pub fn try_acquire(&self) -> Option<Permit> {
        let mut state = self.lock();
        let (probe, transition) = match state.phase {
            Phase::Closed => (false, None),
            Phase::Open { until, granted } => {
                if Instant::now() < until || (self.0.config.remote_probe && !granted) {
                    return None;
                }
                let t = state.transition(Phase::HalfOpen { probing: true }, Origin::Local);
                (true, Some(t))
            }
            Phase::HalfOpen { probing: true } => return None,
            Phase::HalfOpen { probing: false } => {
                state.phase = Phase::HalfOpen { probing: true };
                (true, None)
            }
        };
        let permit = Permit {
            breaker: self.clone(),
            generation: state.generation,
            probe,
            reported: false,
        };
        drop(state);
        self.notify(transition);
        Some(permit)
    }

    /// The state now (an open circuit whose cooldown has ended reads as half-open).
    #[must_use]
    pub fn state(&self) -> CircuitState {
        match self.lock().phase {
            Phase::Closed => CircuitState::Closed,
            Phase::Open { until, .. } if Instant::now() < until => CircuitState::Open,
            Phase::Open { .. } | Phase::HalfOpen { .. } => CircuitState::HalfOpen,
        }
    }

    /// Whether the cooldown has ended and the circuit waits for
    /// [`RemoteDecision::ProbeGranted`] (only with
    /// [`remote_probe`](CircuitBreakerBuilder::remote_probe)).
    #[must_use]
    pub fn awaits_probe(&self) -> bool {
        self.0.config.remote_probe
            && matches!(
                self.lock().phase,
                Phase::Open { until, granted: false } if Instant::now() >= until
            )
    }

    /// When the circuit is open: the end of its cooldown (past once it reads half-open).
    #[must_use]
    pub fn open_until(&self) -> Option<Instant> {
        match self.lock().phase {
            Phase::Open { until, .. } => Some(until),
            Phase::Closed | Phase::HalfOpen { .. } => None,
        }
    }

    /// Applies a decision made elsewhere; `true` when it changed anything. See
    /// [`RemoteDecision`] for what each does; a transition it causes reaches the observer with
    /// [`Origin::Remote`].
    pub fn apply(&self, decision: RemoteDecision) -> bool {
        let mut state = self.lock();
        let now = Instant::now();
        let (changed, transition) = match (decision, state.phase) {
            (RemoteDecision::Open { until }, _) if until <= now => (false, None),
            (RemoteDecision::Open { until }, Phase::Open { until: current, .. }) => {
                if until > current {
                    // Someone reopened it: a probe granted for the earlier cooldown is void.
                    state.phase = Phase::Open {
                        until,
                        granted: false,
                    };
                    (true, None)
                } else {
                    (false, None)
                }
            }
            (RemoteDecision::Open { until }, Phase::Closed | Phase::HalfOpen { .. }) => {
                let t = state.transition(
                    Phase::Open {
                        until,
                        granted: false,
                    },
                    Origin::Remote,
                );
                (true, Some(t))
            }
            (RemoteDecision::Closed, Phase::Closed) => (false, None),
            (RemoteDecision::Closed, Phase::Open { .. } | Phase::HalfOpen { .. }) => {
                (true, Some(state.transition(Phase::Closed, Origin::Remote)))
            }
            (
                RemoteDecision::ProbeGranted,
                Phase::Open {
                    until,
                    granted: false,
                },
            ) => {
                state.phase = Phase::Open {
                    until,
                    granted: true,
                };
                (true, None)
            }
            (RemoteDecision::ProbeGranted, _) => (false, None),
        };
        drop(state);
        self.notify(transition);
        changed
    }

    fn report(&self, generation: u64, probe: bool, failure: Option<Option<Duration>>) {
        let mut state = self.lock();
        if state.generation != generation {
            return; // admitted before a transition: stale
        }
        let config = &self.0.config;
        let open_for = |hint: Option<Duration>| {
            let wait = hint.map_or(config.cooldown, |h| h.max(config.cooldown));
            let now = Instant::now();
            Phase::Open {
                until: now
                    .checked_add(wait)
                    .or_else(|| now.checked_add(Duration::from_secs(86_400 * 365)))
                    .unwrap_or(now),
                granted: false,
            }
        };
        let transition = match (state.phase, failure) {
            (Phase::HalfOpen { .. }, None) if probe => {
                Some(state.transition(Phase::Closed, Origin::Local))
            }
            (Phase::HalfOpen { .. }, Some(hint)) if probe => {
                Some(state.transition(open_for(hint), Origin::Local))
            }
            (Phase::Closed, outcome) => {
                state.push(outcome.is_some());
                let len = state.len;
                (len >= config.min_calls as usize
                    && state.failures as f64 / len as f64 >= config.failure_rate)
                    .then(|| state.transition(open_for(outcome.flatten()), Origin::Local))
            }
            _ => None,
        };
        drop(state);
        self.notify(transition);
    }

    fn release_probe(&self, generation: u64) {
        let mut state = self.lock();
        if state.generation == generation {
            if let Phase::HalfOpen { probing: true } = state.phase {
                state.phase = Phase::HalfOpen { probing: false };
            }
        }
    }
}

/// Permission to make one call through a [`CircuitBreaker`]; report the outcome with
/// [`success`](Permit::success) or [`failure`](Permit::failure). Dropping it reports nothing
/// (a dropped probe lets the next caller probe).
#[derive(Debug)]
#[must_use = "report the call's outcome with `success` or `failure`"]
pub struct Permit {
    breaker: CircuitBreaker,
    generation: u64,
    probe: bool,
    reported: bool,
}

impl Permit {
    /// Whether this call is the half-open probe.
    #[must_use]
    pub fn is_probe(&self) -> bool {
        self.probe
    }

    /// The call succeeded.
    pub fn success(mut self) {
        self.reported = true;
        self.breaker.report(self.generation, self.probe, None);
    }

    /// The call failed with `error`; its [`retry_after`](RetryHint::retry_after) hint lengthens
    /// the cooldown if this failure opens the circuit.
    pub fn failure<E: RetryHint + ?Sized>(mut self, error: &E) {
        self.reported = true;
        self.breaker
            .report(self.generation, self.probe, Some(error.retry_after()));
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if self.probe && !self.reported {
            self.breaker.release_probe(self.generation);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_validates() {
        let b = CircuitBreaker::builder;
        assert!(matches!(
            b().failure_rate(0.0).build(),
            Err(InvalidCircuit::FailureRate(_))
        ));
        assert!(matches!(
            b().failure_rate(f64::NAN).build(),
            Err(InvalidCircuit::FailureRate(_))
        ));
        assert!(matches!(
            b().failure_rate(1.5).build(),
            Err(InvalidCircuit::FailureRate(_))
        ));
        assert_eq!(
            b().window(0).build().unwrap_err(),
            InvalidCircuit::EmptyWindow
        );
        assert_eq!(
            b().window(5).min_calls(6).build().unwrap_err(),
            InvalidCircuit::MinCalls {
                min_calls: 6,
                window: 5
            }
        );
        assert!(b().min_calls(0).build().is_err());
        assert!(b().failure_rate(1.0).window(1).min_calls(1).build().is_ok());
    }

    #[test]
    fn ring_buffer_forgets_old_outcomes() {
        let breaker = CircuitBreaker::builder()
            .window(3)
            .min_calls(3)
            .failure_rate(1.0)
            .build()
            .unwrap();
        let mut state = breaker.lock();
        for failed in [true, false, true, true] {
            state.push(failed);
        }
        assert_eq!((state.len, state.failures), (3, 2));
        state.push(true);
        assert_eq!((state.len, state.failures), (3, 3));
    }

    fn recording() -> (Arc<Mutex<Vec<Transition>>>, Arc<dyn CircuitObserver>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        let observer = move |t: &Transition| sink.lock().unwrap().push(*t);
        (seen, Arc::new(observer))
    }

    fn small() -> CircuitBreakerBuilder {
        CircuitBreaker::builder()
            .window(2)
            .min_calls(2)
            .failure_rate(0.5)
            .cooldown(Duration::from_secs(10))
    }

    fn fail(breaker: &CircuitBreaker) {
        breaker.try_acquire().unwrap().failure(&"503");
    }

    #[tokio::test(start_paused = true)]
    async fn the_observer_hears_every_local_transition_in_order() {
        let (seen, observer) = recording();
        let breaker = small().build_observed(observer).unwrap();
        let start = Instant::now();
        fail(&breaker);
        fail(&breaker);
        tokio::time::sleep(Duration::from_secs(10)).await;
        breaker.try_acquire().unwrap().failure(&"503"); // the probe fails: open again
        tokio::time::sleep(Duration::from_secs(10)).await;
        breaker.try_acquire().unwrap().success();
        let seen = seen.lock().unwrap().clone();
        let steps: Vec<_> = seen.iter().map(|t| (t.from, t.to, t.origin)).collect();
        use CircuitState::{Closed, HalfOpen, Open};
        assert_eq!(
            steps,
            [
                (Closed, Open, Origin::Local),
                (Open, HalfOpen, Origin::Local),
                (HalfOpen, Open, Origin::Local),
                (Open, HalfOpen, Origin::Local),
                (HalfOpen, Closed, Origin::Local),
            ]
        );
        let generations: Vec<_> = seen.iter().map(|t| t.generation).collect();
        assert_eq!(generations, [1, 2, 3, 4, 5]);
        assert_eq!(seen[0].open_until, Some(start + Duration::from_secs(10)));
        assert_eq!(seen[2].open_until, Some(start + Duration::from_secs(20)));
        assert_eq!(seen[4].open_until, None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_remote_open_is_honoured_and_reported_as_remote() {
        let (seen, observer) = recording();
        let breaker = small().build_observed(observer).unwrap();
        let in_flight = breaker.try_acquire().unwrap();
        let until = Instant::now() + Duration::from_secs(5);
        assert!(breaker.apply(RemoteDecision::Open { until }));
        assert_eq!(breaker.state(), CircuitState::Open);
        assert_eq!(breaker.open_until(), Some(until));
        assert!(breaker.try_acquire().is_none());
        // A call admitted before the remote decision reports into nothing.
        in_flight.success();
        assert_eq!(breaker.state(), CircuitState::Open);
        // A shorter or past open changes nothing; a longer one extends without a transition.
        assert!(!breaker.apply(RemoteDecision::Open {
            until: until - Duration::from_secs(1)
        }));
        assert!(!breaker.apply(RemoteDecision::Open {
            until: Instant::now()
        }));
        let later = until + Duration::from_secs(5);
        assert!(breaker.apply(RemoteDecision::Open { until: later }));
        assert_eq!(breaker.open_until(), Some(later));
        tokio::time::sleep(Duration::from_secs(10)).await;
        // Without remote_probe, the cooldown's end lets a local probe through.
        assert!(!breaker.awaits_probe());
        assert!(breaker.try_acquire().unwrap().is_probe());
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert_eq!(
            (seen[0].from, seen[0].to, seen[0].origin, seen[0].open_until),
            (
                CircuitState::Closed,
                CircuitState::Open,
                Origin::Remote,
                Some(until)
            )
        );
        assert_eq!(seen[1].origin, Origin::Local);
    }

    #[tokio::test(start_paused = true)]
    async fn a_remote_close_ends_an_open_circuit_with_a_fresh_window() {
        let breaker = small().build().unwrap();
        assert!(!breaker.apply(RemoteDecision::Closed), "already closed");
        fail(&breaker);
        fail(&breaker);
        assert_eq!(breaker.state(), CircuitState::Open);
        assert!(breaker.apply(RemoteDecision::Closed));
        assert_eq!(breaker.state(), CircuitState::Closed);
        // A fresh window: one failure is not enough to open again.
        fail(&breaker);
        assert_eq!(breaker.state(), CircuitState::Closed);
        fail(&breaker);
        assert_eq!(breaker.state(), CircuitState::Open);
    }

    #[tokio::test(start_paused = true)]
    async fn with_remote_probe_the_cooldown_end_waits_for_the_grant() {
        let breaker = small().remote_probe(true).build().unwrap();
        assert!(
            !breaker.apply(RemoteDecision::ProbeGranted),
            "nothing to probe"
        );
        fail(&breaker);
        fail(&breaker);
        assert!(!breaker.awaits_probe(), "still cooling down");
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert_eq!(breaker.state(), CircuitState::HalfOpen);
        assert!(breaker.awaits_probe());
        assert!(breaker.try_acquire().is_none(), "no grant, no probe");
        assert!(breaker.apply(RemoteDecision::ProbeGranted));
        assert!(!breaker.apply(RemoteDecision::ProbeGranted), "granted once");
        assert!(!breaker.awaits_probe());
        let probe = breaker.try_acquire().unwrap();
        assert!(probe.is_probe());
        assert!(breaker.try_acquire().is_none(), "one probe");
        drop(probe); // cancelled: the grant still holds for the next caller
        let probe = breaker.try_acquire().unwrap();
        probe.failure(&"503");
        // Open again: the grant went with the transition.
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert!(breaker.try_acquire().is_none());
        assert!(breaker.awaits_probe());
    }

    #[tokio::test(start_paused = true)]
    async fn a_reopening_elsewhere_voids_a_grant() {
        let breaker = small().remote_probe(true).build().unwrap();
        fail(&breaker);
        fail(&breaker);
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert!(breaker.apply(RemoteDecision::ProbeGranted));
        let until = Instant::now() + Duration::from_secs(3);
        assert!(breaker.apply(RemoteDecision::Open { until }));
        assert!(breaker.try_acquire().is_none());
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert!(breaker.awaits_probe());
        assert!(breaker.try_acquire().is_none());
    }
}
