//! Generic async resilience: tenacity-grade retry policies, fallback chains, budgets and
//! circuit breakers. Nothing here knows about LLMs; the `steadfast` crate builds on it.
//!
//! # Why retry carefully
//!
//! Remote calls fail transiently (rate limits, overloads, dropped connections), and retrying
//! them is the cheapest way to turn those failures into successes. Done carelessly, it makes
//! things worse:
//!
//! - **Retry storms.** When a shared dependency struggles, every client sees errors at once. If
//!   they all retry immediately, or on the same deterministic schedule, the retries arrive in
//!   synchronized waves and keep the dependency down. Back off exponentially and add
//!   **jitter** ([`wait::random_exponential`], [`wait::exponential_jitter`]) so the retries
//!   spread out; bound the extra load with a [`Budget`]; stop sending to a target that keeps
//!   failing with a [`CircuitBreaker`].
//! - **Ignoring the server.** A server that says `retry-after: 20` knows its own recovery time.
//!   Errors that implement [`RetryHint`] pass such hints on: the wait is never shorter than the
//!   hint, an `x-should-retry: false` error is not retried, and a hint above the policy's
//!   [cap](Retry::hint_cap) (60 s by default) ends the retries at once so a [`Fallback`] can
//!   take over instead of the user waiting for minutes.
//! - **Retrying what cannot succeed.** An invalid request fails the same way every time.
//!   [`Retry::retry_if`] selects the errors worth retrying; any other error comes back at once,
//!   unchanged ([`RunError::Rejected`]).
//! - **Losing the story.** When the retries run out, [`RetryError`] keeps every attempt: its
//!   error, when it started, how long it took, and the wait chosen after it and why.
//!
//! # Retry
//!
//! A [`Retry`] is a policy value: [`stop`] conditions, a [`wait`] strategy (formulas identical
//! to Python tenacity 9), a retry predicate, hooks, error collection for reinsertion. Run an
//! operation under it with [`Retry::run`]: a closure receives the [`Attempt`] (number, elapsed
//! time, and the errors collected from earlier attempts) and returns the attempt's future. The
//! futures are `Send` whenever what they hold is, so retried calls work in `tokio::spawn` and
//! web handlers.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use steadfast_retry::{Retry, RunError, stop, wait};
//!
//! // stop_after_attempt(3), wait_exponential(multiplier=1, min=4, max=10)
//! let policy = Retry::new()
//!     .stop(stop::after_attempt(3))
//!     .wait(wait::exponential().min(Duration::from_secs(4)).max(Duration::from_secs(10)).build()?);
//!
//! let reply = policy
//!     .run_reraise(|attempt| {
//!         let n = attempt.number();
//!         async move { if n < 3 { Err(format!("overloaded ({n})")) } else { Ok("hi") } }
//!     })
//!     .await?;
//! assert_eq!(reply, "hi");
//!
//! let failed: Result<(), RunError<String>> = policy.run(|_| async { Err("down".to_string()) }).await;
//! match failed {
//!     Err(RunError::Exhausted(history)) => {
//!         assert_eq!(history.to_string(), "gave up after 3 attempts: down");
//!         let waits: Vec<_> = history.attempts().map(|a| a.wait()).collect();
//!         let s = Duration::from_secs;
//!         assert_eq!(waits, [Some(s(4)), Some(s(4)), None]); // no wait after the last
//!     }
//!     other => unreachable!("{other:?}"),
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Error reinsertion
//!
//! [`Retry::collect_errors`] hands selected errors to later attempts, so an operation can show
//! a model the mistake it made. Attempt `k` sees the collected errors of attempts `1..k`,
//! oldest first, as values (borrowed, never cloned) while the attempt starts:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! use steadfast_retry::{Retry, wait};
//!
//! #[derive(Debug)]
//! enum E { Validation(String), RateLimited }
//! impl steadfast_retry::RetryHint for E {}
//!
//! let policy = Retry::new()
//!     .wait(wait::none())
//!     .collect_errors(|e: &E| matches!(e, E::Validation(_)));
//! let author = policy
//!     .run(|attempt| {
//!         // Read the attempt synchronously, then move what the call needs into its future.
//!         let previous: Vec<String> = attempt
//!             .errors()
//!             .iter()
//!             .map(|e| format!("Previous Error: {e:?}"))
//!             .collect();
//!         let n = attempt.number();
//!         async move {
//!             match n {
//!                 1 => Err(E::Validation("author must be uppercase".into())),
//!                 2 => Err(E::RateLimited), // retried, not collected
//!                 _ => {
//!                     assert_eq!(previous.len(), 1);
//!                     Ok("PATRICK ROTHFUSS")
//!                 }
//!             }
//!         }
//!     })
//!     .await;
//! assert_eq!(author.unwrap(), "PATRICK ROTHFUSS");
//! # }
//! ```
//!
//! # Fallback
//!
//! A [`Fallback`] tries backup targets (another provider, another model) when the primary fails
//! with an error its catch predicate matches. Put a retry policy inside the operation and every
//! target gets the full policy (reference scenario 6: three attempts on each, then
//! [`FallbackError`] with both histories):
//!
//! ```
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! use std::time::Duration;
//! use steadfast_retry::{Fallback, FallbackRunError, Retry, RunError, stop, wait};
//!
//! let policy = Retry::new().stop(stop::after_attempt(3)).wait(wait::fixed(Duration::from_secs(1)));
//! let rate_limited = |e: &RunError<String>| e.last().contains("429");
//! let chain = Fallback::new(rate_limited).backup("anthropic", rate_limited);
//!
//! let out = chain
//!     .run(&"openai", |provider| {
//!         let policy = &policy;
//!         async move { policy.run(|_| async move { Err::<(), _>(format!("{provider}: 429")) }).await }
//!     })
//!     .await;
//! let Err(FallbackRunError::Exhausted(err)) = out else { unreachable!() };
//! assert_eq!(
//!     err.to_string(),
//!     "every fallback target failed: [1] gave up after 3 attempts: openai: 429; \
//!      [2] gave up after 3 attempts: anthropic: 429"
//! );
//! # }
//! ```
//!
//! A [`CircuitBreaker`] per target lets a chain skip targets that keep failing, and a
//! [`Budget`] shared by the chain and the policy bounds the total number of attempts.
//!
//! # Time
//!
//! Waits use `tokio::time`, so tests on paused time (`#[tokio::test(start_paused = true)]`)
//! assert exact waits without sleeping. [`Sleeper`] replaces the clock and the sleep;
//! [`Retry::run_blocking`] serves synchronous code.
//!
//! # Guarantees
//!
//! - Configuration is validated when built (for example [`wait::InvalidWait`]); nothing panics
//!   later, and waits never overflow or turn NaN, whatever the attempt number.
//! - A policy holds no per-run state: each run starts at attempt 1 with no errors.
//! - The decision after a failure (predicate, wait, stop) does not allocate beyond storing the
//!   error.

pub mod budget;
pub mod circuit;
mod error;
pub mod fallback;
mod hint;
mod policy;
mod predicate;
mod sleep;
mod state;
pub mod stop;
pub mod wait;

pub use budget::Budget;
pub use circuit::CircuitBreaker;
pub use error::{AttemptRecord, Attempts, RetryError, RunError, StopReason, WaitReason};
pub use fallback::{Fallback, FallbackError, FallbackRunError, Winner};
pub use hint::RetryHint;
pub use policy::{DEFAULT_HINT_CAP, Retry};
pub use predicate::Predicate;
pub use sleep::{SleepFuture, Sleeper, TokioSleeper};
pub use state::{Attempt, AttemptInfo, Decision, RetryState};
