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
/// 30 s cooldown.
#[derive(Clone, Copy, Debug)]
#[must_use = "call `.build()` to get the circuit breaker"]
pub struct CircuitBreakerBuilder {
    failure_rate: f64,
    window: u32,
    min_calls: u32,
    cooldown: Duration,
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

    /// Validates the configuration.
    ///
    /// # Errors
    ///
    /// [`InvalidCircuit`] for a failure rate outside `(0, 1]`, an empty window, or `min_calls`
    /// outside `1..=window`.
    pub fn build(self) -> Result<CircuitBreaker, InvalidCircuit> {
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
    state: Mutex<State>,
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
    Open { until: Instant },
    HalfOpen { probing: bool },
}

impl Phase {
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
    fn transition(&mut self, phase: Phase) {
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
        let probe = match state.phase {
            Phase::Closed => false,
            Phase::Open { until } => {
                if Instant::now() < until {
                    return None;
                }
                state.transition(Phase::HalfOpen { probing: true });
                true
            }
            Phase::HalfOpen { probing: true } => return None,
            Phase::HalfOpen { probing: false } => {
                state.phase = Phase::HalfOpen { probing: true };
                true
            }
        };
        Some(Permit {
            breaker: self.clone(),
            generation: state.generation,
            probe,
            reported: false,
        })
    }

    /// The state now (an open circuit whose cooldown has ended reads as half-open).
    #[must_use]
    pub fn state(&self) -> CircuitState {
        match self.lock().phase {
            Phase::Closed => CircuitState::Closed,
            Phase::Open { until } if Instant::now() < until => CircuitState::Open,
            Phase::Open { .. } | Phase::HalfOpen { .. } => CircuitState::HalfOpen,
        }
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
            }
        };
        match (state.phase, failure) {
            (Phase::HalfOpen { .. }, None) if probe => state.transition(Phase::Closed),
            (Phase::HalfOpen { .. }, Some(hint)) if probe => state.transition(open_for(hint)),
            (Phase::Closed, outcome) => {
                state.push(outcome.is_some());
                let len = state.len;
                if len >= config.min_calls as usize
                    && state.failures as f64 / len as f64 >= config.failure_rate
                {
                    let phase = open_for(outcome.flatten());
                    state.transition(phase);
                }
            }
            _ => {}
        }
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
}
