//! Client-side admission: provider quotas (requests and tokens per minute) respected before a
//! request is sent, in one process or, with the `redis` feature, across many.
//!
//! Ten replicas of a service sharing one provider account each see only their own traffic: they
//! send ten times the allowed rate, collect 429s and retry into them together. A [`Limiter`]
//! asks a [`QuotaStore`] before each attempt and gets an [`Admission`]: go (with a [`Permit`] to
//! correct the token count afterwards), wait this long, or a typed refusal
//! ([`ErrorKind::QuotaRefused`](crate::ErrorKind::QuotaRefused)) that a fallback can catch.
//!
//! Give a call its limiter with [`Call::quota`](crate::Call::quota) and every attempt of it does
//! this on its own — plain and retried, send, extract and stream, each fallback target with its
//! own limiter:
//!
//! ```text
//! before each attempt   limiter.acquire(&estimate, bound)  -> permit, after waiting in line | QuotaRefused
//!                       (bound: the limiter's max_wait and the retry policy's time left)
//! after the response    permit.settle_usage(&response.usage)                (only if usage ≠ estimate)
//! on a provider 429     limiter.observe(&error)   -> the scope cools down for the hint, for all sharers
//! ```
//!
//! The same steps are public for code that drives its own requests ([`Limiter::admit`],
//! [`Limiter::acquire`], [`Permit::settle_usage`], [`Limiter::observe`]).
//!
//! # The pieces
//!
//! - [`Quota`]: requests per minute, tokens per minute, and the burst of each (validated by its
//!   builder; see [Burst](Quota#burst) for the defaults).
//! - [`QuotaScope`]: whose quota — provider, account *label* and model, never the API key.
//! - [`TokenEstimate`]: the token cost guessed up front (a documented bytes ÷ 4 heuristic plus
//!   `max_tokens`), corrected from the response's usage.
//! - [`QuotaStore`]: where state lives. [`InProcess`] (default, no dependency) and, with the
//!   `redis` feature, `RedisStore` for many processes.
//!
//! # Why GCRA, both limits at once, all-or-nothing
//!
//! Each limit is a GCRA (generic cell rate algorithm): one number per limit, the *theoretical
//! arrival time* (TAT). A request of cost `c` moves it to `max(TAT, now) + c × interval`, and is
//! admitted while that stays within the burst allowance of now. It is exact (no window edges
//! letting twice the rate through), needs one value per limit (cheap to keep in Redis), and says
//! precisely how long to wait when the answer is no.
//!
//! A request must fit **both** the request and the token limit, and a refused request must
//! consume **neither**: otherwise refusals by one limit eat the other (a burst of large prompts
//! refused on tokens would spend the request budget of the small ones behind them) — the
//! "refused calls that still spend quota" bug of limiters that check two counters in turn.
//!
//! Why not the `governor` crate: it keeps one limiter per quota and can neither check two
//! limiters atomically nor peek at one without consuming, so "both or neither" cannot be built on
//! it; and its state could not be the model of the Redis script. The decision here is one small
//! pure function (`gcra::decide`), used under a mutex in process and transcribed line by line as
//! the Redis Lua script; a test runs the same requests through both and compares every decision.
//!
//! # Cooldowns
//!
//! A provider 429 with a hint (`retry-after`) means the account is over its real quota, whatever
//! the local arithmetic says. [`Limiter::observe`] (or [`QuotaStore::cooldown`]) puts the whole
//! scope in cooldown until then, for every caller sharing the store; admission answers
//! [`Decision::Wait`] with [`WaitReason::Cooldown`] meanwhile, consuming nothing.
//!
//! # Round trips
//!
//! With the Redis store: one round trip (one `EVALSHA`) per admission; one more after the
//! response only when the real usage differs from the estimate (settle); one per observed 429.
//! [`InProcess`] does no I/O at all.
#![cfg_attr(
    feature = "redis",
    doc = "\n\nThe shared store, its key layout and its degrade modes: [`RedisStore`]."
)]

mod config;
mod estimate;
pub(crate) mod gcra;
mod limiter;
#[cfg(feature = "redis")]
pub(crate) mod redis;
mod store;

pub use config::{
    InvalidQuota, MAX_REQUESTS_PER_MINUTE, MAX_TOKENS_PER_MINUTE, Quota, QuotaBuilder, QuotaScope,
};
pub use estimate::{DEFAULT_OUTPUT_TOKENS, IMAGE_TOKENS, TokenEstimate, actual_tokens};
pub use limiter::{Admission, DEFAULT_MAX_WAIT, Limiter, Permit};
#[cfg(feature = "redis")]
pub use redis::{
    BreakerSharing, BudgetSharing, DEFAULT_ADMISSION_TIMEOUT, DEFAULT_COMMAND_TIMEOUT,
    DEFAULT_FLUSH_INTERVAL, DEFAULT_PROBE_LEASE, DEFAULT_REFRESH_INTERVAL, Degrade, KEY_PREFIX,
    RedisStore, RedisStoreBuilder, STATE_RETENTION, StoreStats,
};
pub use store::{Decision, InProcess, QuotaStore, Refusal, WaitReason};
