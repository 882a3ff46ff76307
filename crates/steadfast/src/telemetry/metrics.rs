//! Metrics: what each operation measured, handed to a [`Recorder`] a call carries
//! ([`Call::recorder`](crate::Call::recorder)) — no recorder, no work, and no global state.
//!
//! The `otel` feature's `telemetry::otel::OtelRecorder` records them as the GenAI
//! conventions' metrics (`gen_ai.client.operation.duration`, `gen_ai.client.token.usage`,
//! `gen_ai.client.operation.time_to_first_chunk`) and ours (`steadfast.client.attempts`,
//! `steadfast.client.retries`, `steadfast.client.wait.duration`, `steadfast.client.fallbacks`,
//! `steadfast.client.breaker.state`) on an OpenTelemetry meter; any other metrics system
//! implements the trait.
//!
//! Breaker transitions come from the breakers of a
//! [`Breakers`](crate::resilient::Breakers) set given a recorder with
//! [`Breakers::recorder`](crate::resilient::Breakers::recorder), not from calls.

use std::fmt;
use std::time::Duration;

use steadfast_retry::circuit::CircuitState;

/// Receives the measurements of the operations of the calls that carry it.
///
/// Called once per operation (one target's attempts: a send, an extract, or a stream when it
/// ends) and once per target a fallback chain called. Implementations must be cheap and must not
/// block: they run on the caller's task.
pub trait Recorder: Send + Sync + fmt::Debug {
    /// One operation on one target ended.
    fn operation(&self, m: &Measurement<'_>);

    /// A fallback chain called a target, which won or failed. The default records nothing.
    fn fallback(&self, m: &FallbackMeasurement<'_>) {
        let _ = m;
    }

    /// A target's circuit breaker changed state. The default records nothing.
    ///
    /// Called on the task that caused the transition (a call's outcome, a call finding the
    /// cooldown over, or a shared breakers' refresher applying another process's decision).
    fn breaker(&self, m: &BreakerMeasurement<'_>) {
        let _ = m;
    }
}

/// One transition of a target's circuit breaker.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BreakerMeasurement<'a> {
    /// The target, `provider:model` (the provider's steadfast name).
    pub target: &'a str,
    /// `server.address` of the target's base URL, when it has one.
    pub server_address: Option<&'a str>,
    /// The state before.
    pub from: CircuitState,
    /// The state after.
    pub to: CircuitState,
    /// Whether another process decided it (a shared breaker — feature `redis` — applying the
    /// fleet's decision).
    pub remote: bool,
}

/// A breaker state's name in telemetry: `closed`, `open` or `half_open`.
pub fn state_name(state: CircuitState) -> &'static str {
    match state {
        CircuitState::Open => "open",
        CircuitState::HalfOpen => "half_open",
        CircuitState::Closed => "closed",
        // `CircuitState` is non-exhaustive: a state added later is named here when it is.
        _ => "unknown",
    }
}

/// What one operation on one target measured.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Measurement<'a> {
    /// `gen_ai.provider.name` (see [`provider_name`](super::provider_name)).
    pub provider: &'a str,
    /// `gen_ai.request.model`.
    pub request_model: &'a str,
    /// `gen_ai.response.model`, when the operation succeeded.
    pub response_model: Option<&'a str>,
    /// `server.address`, from the base URL.
    pub server_address: Option<&'a str>,
    /// `server.port`.
    pub server_port: Option<u16>,
    /// Whether it streamed.
    pub stream: bool,
    /// From its start to its end (all attempts and waits; for a stream, to its last event).
    pub duration: Duration,
    /// `error.type` (the error kind, kebab-case) when it finally failed.
    pub error_type: Option<&'static str>,
    /// Input tokens the provider reported.
    pub input_tokens: Option<u64>,
    /// Output tokens the provider reported.
    pub output_tokens: Option<u64>,
    /// A stream's time from its committed attempt's request to its first content.
    pub time_to_first_chunk: Option<Duration>,
    /// HTTP attempts made (1 when the first succeeded).
    pub attempts: u32,
    /// Time spent waiting between them.
    pub waited: Duration,
}

/// One target called by a fallback chain.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FallbackMeasurement<'a> {
    /// The target, `provider:model`.
    pub target: &'a str,
    /// Its place in the chain (0 for the primary).
    pub position: usize,
    /// Whether it gave the answer.
    pub won: bool,
    /// Its error's type when it failed.
    pub error_type: Option<&'static str>,
}
