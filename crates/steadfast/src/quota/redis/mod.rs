//! [`RedisStore`]: admission state shared by every process that uses the same Redis.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Script};
use steadfast_retry::CircuitBreaker;

use super::config::{Quota, QuotaScope};
use super::gcra::Limits;
use super::store::{Decision, InProcess, QuotaStore, Refusal, WaitReason, settle_delta};
use crate::error::{Error, ErrorKind};
use crate::provider::BoxFuture;

pub(crate) mod breakers;
mod budget;

pub use breakers::{
    BreakerSharing, DEFAULT_PROBE_LEASE, DEFAULT_REFRESH_INTERVAL, STATE_RETENTION,
};
pub use budget::{BudgetSharing, DEFAULT_FLUSH_INTERVAL};

/// The admission timeout unless set: 5 ms. A local Redis answers an `EVALSHA` in well under a
/// millisecond; one in the same data centre in one or two.
pub const DEFAULT_ADMISSION_TIMEOUT: Duration = Duration::from_millis(5);

/// The timeout of the other commands (settle, cooldown) unless set: 50 ms.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_millis(50);

/// The key prefix: every key this store writes starts with it.
pub const KEY_PREFIX: &str = "steadfast:v1:";

/// What a [`RedisStore`] does while Redis is slow or gone (a command timed out or failed, or the
/// store's breaker is open).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Degrade {
    /// Admit through a local [`InProcess`] store at this process's share of the quota,
    /// [`Quota::divided`] by `expected_processes`: the fleet as a whole stays near the quota
    /// without coordinating. The default, with `expected_processes` 1 — set it to the number of
    /// processes sharing the quota.
    Local {
        /// How many processes share the quota.
        expected_processes: u32,
    },
    /// Admit everything: the provider's own 429s (and the scope cooldowns they cause locally)
    /// are the only limit meanwhile.
    FailOpen,
    /// Refuse everything with [`Refusal::StoreUnavailable`]: nothing is sent while the shared
    /// count cannot be kept.
    FailClosed,
}

/// Counters of a [`RedisStore`]'s health, read with [`RedisStore::stats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreStats {
    /// Whether the store is degraded now (the last command to Redis failed or timed out).
    pub degraded: bool,
    /// How many times it went from healthy to degraded.
    pub degradations: u64,
    /// How many times it came back from degraded to healthy.
    pub recoveries: u64,
    /// Commands that failed or timed out.
    pub failures: u64,
    /// Admissions decided by the degrade mode instead of Redis.
    pub degraded_admissions: u64,
}

/// Admission state in Redis, shared by every process that points at the same server.
///
/// # What happens where
///
/// - **Admission**: one `EVALSHA` of a Lua script (`admit.lua`) that reads the scope's two
///   theoretical arrival times and its cooldown, decides with Redis `TIME` as the one clock
///   (the clocks of the client machines never matter), and writes back only when it admits —
///   all-or-nothing, one round trip. The script is a transcription of the in-process decision,
///   and a test runs both on the same requests.
/// - **Settle** (token correction): another script, only when usage differs from the estimate.
/// - **Cooldown**: a key holding when the cooldown ends, checked by the admission script itself,
///   so every process sees it on its next admission.
/// - A Redis restart (script cache lost, `NOSCRIPT`) costs one `SCRIPT LOAD` and a retry, never
///   an error.
///
/// # Keys
///
/// `steadfast:v1:{<scope>}:gcra` (a hash: fields `r` and `t`) and
/// `steadfast:v1:{<scope>}:cooldown`, with `<scope>` the percent-encoded
/// [`QuotaScope::encoded`]. The braces are a Redis Cluster hash tag: both keys of a scope live in
/// one slot, as a script needs (this store itself talks to one server or a proxy; the key layout
/// is ready for a cluster client). Every key carries a TTL: the state a second past the moment
/// it stops mattering, the cooldown when it ends. `v1` changes if the layout ever does.
///
/// # When Redis is slow or gone
///
/// Redis trouble must not become the caller's outage. Each admission waits at most
/// [`admission_timeout`](RedisStoreBuilder::admission_timeout) (default
/// [`DEFAULT_ADMISSION_TIMEOUT`], 5 ms) for Redis; a failure or timeout is answered by the
/// [`Degrade`] mode instead (default: local limits at the process's share), never by an error.
/// A [`CircuitBreaker`] around Redis (by default: open after 3 failures of the last 10 calls,
/// probe once a second) stops paying the timeout on every call while Redis is down; the first
/// successful command ends the degraded state. Each transition emits a `tracing` event (target
/// `steadfast::quota`, warn when degrading, info on recovery) and is counted in
/// [`stats`](RedisStore::stats). Cooldowns are always also recorded locally, so they hold in the
/// degraded mode too. A command that timed out may still have run in Redis: the admission is
/// then counted twice (there and locally), which errs on the safe side.
///
/// `Debug` shows the URL without its password.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use steadfast::quota::{Degrade, Limiter, Quota, QuotaScope, RedisStore};
///
/// let store = RedisStore::builder("redis://:secret@127.0.0.1:6379/0")
///     .degrade(Degrade::Local { expected_processes: 8 })
///     .connect()
///     .await?;
/// let limiter = Limiter::new(
///     QuotaScope::new("openai", "prod-org", "gpt-4o-mini")?,
///     Quota::builder().requests_per_minute(500).build()?,
/// )
/// .with_store(Arc::new(store));
/// # let _ = limiter;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

struct Inner {
    conn: ConnectionManager,
    url: String,
    admission_timeout: Duration,
    command_timeout: Duration,
    breaker: CircuitBreaker,
    degrade: Degrade,
    local: InProcess,
    scripts: Scripts,
    degraded: AtomicBool,
    degradations: AtomicU64,
    recoveries: AtomicU64,
    failures: AtomicU64,
    degraded_admissions: AtomicU64,
}

struct Scripts {
    admit: Script,
    settle: Script,
    cooldown: Script,
    cooldown_of: Script,
}

/// Builder for [`RedisStore`]; see [`RedisStore::builder`].
#[must_use = "call `.build()` or `.connect()` to get the store"]
pub struct RedisStoreBuilder {
    url: String,
    admission_timeout: Duration,
    command_timeout: Duration,
    breaker: Option<CircuitBreaker>,
    degrade: Degrade,
}

impl fmt::Debug for RedisStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStoreBuilder")
            .field("url", &redact_url(&self.url))
            .field("admission_timeout", &self.admission_timeout)
            .field("command_timeout", &self.command_timeout)
            .field("degrade", &self.degrade)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// A builder for the store at `url` (`redis://[user][:password@]host[:port][/db]`).
    pub fn builder(url: impl Into<String>) -> RedisStoreBuilder {
        RedisStoreBuilder {
            url: url.into(),
            admission_timeout: DEFAULT_ADMISSION_TIMEOUT,
            command_timeout: DEFAULT_COMMAND_TIMEOUT,
            breaker: None,
            degrade: Degrade::Local {
                expected_processes: 1,
            },
        }
    }

    /// The store's health counters now.
    pub fn stats(&self) -> StoreStats {
        let i = &self.inner;
        StoreStats {
            degraded: i.degraded.load(Ordering::Relaxed),
            degradations: i.degradations.load(Ordering::Relaxed),
            recoveries: i.recoveries.load(Ordering::Relaxed),
            failures: i.failures.load(Ordering::Relaxed),
            degraded_admissions: i.degraded_admissions.load(Ordering::Relaxed),
        }
    }

    /// The name of the key holding `scope`'s state (a hash: `r`, `t`).
    pub fn state_key(scope: &QuotaScope) -> String {
        format!("{KEY_PREFIX}{{{}}}:gcra", scope.encoded())
    }

    /// The name of the key holding when `scope`'s cooldown ends.
    pub fn cooldown_key(scope: &QuotaScope) -> String {
        format!("{KEY_PREFIX}{{{}}}:cooldown", scope.encoded())
    }
}

impl RedisStoreBuilder {
    /// How long an admission waits for Redis before the degrade mode answers (default
    /// [`DEFAULT_ADMISSION_TIMEOUT`]).
    pub fn admission_timeout(mut self, timeout: Duration) -> Self {
        self.admission_timeout = timeout;
        self
    }

    /// How long settle and cooldown commands wait for Redis (default [`DEFAULT_COMMAND_TIMEOUT`]).
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout;
        self
    }

    /// The breaker around Redis (default: a window of 10 calls, open at 3 failures (30%), probe
    /// after 1 s).
    pub fn breaker(mut self, breaker: CircuitBreaker) -> Self {
        self.breaker = Some(breaker);
        self
    }

    /// What to do while Redis is unreachable (default [`Degrade::Local`] with 1 process).
    pub fn degrade(mut self, degrade: Degrade) -> Self {
        self.degrade = degrade;
        self
    }

    /// The store, connecting lazily on first use (no I/O here; needs a Tokio runtime).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] for a URL the Redis client does not accept, a zero timeout or
    /// `expected_processes`.
    pub fn build(self) -> Result<RedisStore, Error> {
        if self.admission_timeout.is_zero() || self.command_timeout.is_zero() {
            return Err(Error::config(
                "the Redis store's timeouts must be above zero",
            ));
        }
        if self.degrade
            == (Degrade::Local {
                expected_processes: 0,
            })
        {
            return Err(Error::config(
                "Degrade::Local needs at least one expected process",
            ));
        }
        let url = redact_url(&self.url);
        let client = Client::open(self.url.as_str())
            .map_err(|e| Error::config(format!("invalid Redis URL {url}: {}", redis_reason(&e))))?;
        let config = ConnectionManagerConfig::new()
            // The store applies its own, tighter timeouts per command.
            .set_response_timeout(None)
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_max_delay(Duration::from_secs(1));
        let conn = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| Error::config(format!("Redis store for {url}: {}", redis_reason(&e))))?;
        let breaker = match self.breaker {
            Some(b) => b,
            None => CircuitBreaker::builder()
                .window(10)
                .min_calls(3)
                .failure_rate(0.3)
                .cooldown(Duration::from_secs(1))
                .build()
                .map_err(|e| Error::config(format!("the Redis store's breaker: {e}")))?,
        };
        Ok(RedisStore {
            inner: Arc::new(Inner {
                conn,
                url,
                admission_timeout: self.admission_timeout,
                command_timeout: self.command_timeout,
                breaker,
                degrade: self.degrade,
                local: InProcess::new(),
                scripts: Scripts {
                    admit: Script::new(include_str!("lua/admit.lua")),
                    settle: Script::new(include_str!("lua/settle.lua")),
                    cooldown: Script::new(include_str!("lua/cooldown.lua")),
                    cooldown_of: Script::new(include_str!("lua/cooldown_of.lua")),
                },
                degraded: AtomicBool::new(false),
                degradations: AtomicU64::new(0),
                recoveries: AtomicU64::new(0),
                failures: AtomicU64::new(0),
                degraded_admissions: AtomicU64::new(0),
            }),
        })
    }

    /// [`build`](Self::build), then checks that Redis answers (`PING`, within the command
    /// timeout, at most a second for the first connection) and loads the scripts.
    ///
    /// # Errors
    ///
    /// What [`build`](Self::build) returns, or [`ErrorKind::Connect`] when Redis does not
    /// answer. (Once built, a store never fails because of Redis: it degrades.)
    pub async fn connect(self) -> Result<RedisStore, Error> {
        let store = self.build()?;
        let inner = &store.inner;
        let mut conn = inner.conn.clone();
        let check = async {
            redis::cmd("PING").query_async::<String>(&mut conn).await?;
            for script in [
                &inner.scripts.admit,
                &inner.scripts.settle,
                &inner.scripts.cooldown,
                &inner.scripts.cooldown_of,
            ] {
                script.load_async(&mut conn).await?;
            }
            Ok::<_, redis::RedisError>(())
        };
        let wait = inner.command_timeout.max(Duration::from_secs(1));
        match tokio::time::timeout(wait, check).await {
            Ok(Ok(())) => Ok(store),
            Ok(Err(e)) => Err(Error::new(
                ErrorKind::Connect,
                format!(
                    "Redis at {} did not answer: {}",
                    inner.url,
                    redis_reason(&e)
                ),
            )),
            Err(_) => Err(Error::new(
                ErrorKind::Connect,
                format!("Redis at {} did not answer within {wait:?}", inner.url),
            )),
        }
    }
}

/// A Redis error's category and code, never its full text (which could echo a command).
fn redis_reason(e: &redis::RedisError) -> String {
    match e.code() {
        Some(code) => format!("{:?} ({code})", e.kind()),
        None => format!("{:?}", e.kind()),
    }
}

impl Inner {
    /// Runs `script` under the breaker and the timeout; `None` when Redis failed (the degraded
    /// state is updated either way).
    async fn run(
        &self,
        script: &Script,
        keys: &[String],
        args: &[i64],
        timeout: Duration,
    ) -> Option<Vec<i64>> {
        let Some(permit) = self.breaker.try_acquire() else {
            self.note_down("the store's breaker is open");
            return None;
        };
        let mut invocation = script.prepare_invoke();
        for key in keys {
            invocation.key(key);
        }
        for arg in args {
            invocation.arg(*arg);
        }
        let mut conn = self.conn.clone();
        let outcome =
            tokio::time::timeout(timeout, invocation.invoke_async::<Vec<i64>>(&mut conn)).await;
        match outcome {
            Ok(Ok(reply)) => {
                permit.success();
                self.note_up();
                Some(reply)
            }
            Ok(Err(e)) => {
                permit.failure(&"redis error");
                self.failures.fetch_add(1, Ordering::Relaxed);
                self.note_down(&redis_reason(&e));
                None
            }
            Err(_) => {
                permit.failure(&"redis timeout");
                self.failures.fetch_add(1, Ordering::Relaxed);
                self.note_down("timed out");
                None
            }
        }
    }

    fn note_down(&self, reason: &str) {
        if !self.degraded.swap(true, Ordering::Relaxed) {
            self.degradations.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                target: "steadfast::quota",
                store = %self.url,
                reason,
                degrade = ?self.degrade,
                "quota store unreachable: admission degraded"
            );
        }
    }

    fn note_up(&self) {
        if self.degraded.swap(false, Ordering::Relaxed) {
            self.recoveries.fetch_add(1, Ordering::Relaxed);
            tracing::info!(
                target: "steadfast::quota",
                store = %self.url,
                "quota store reachable again: admission shared again"
            );
        }
    }

    fn degraded_admit(
        &self,
        scope: &QuotaScope,
        quota: &Quota,
        cost: u64,
        reserve: Duration,
    ) -> Decision {
        self.degraded_admissions.fetch_add(1, Ordering::Relaxed);
        match self.degrade {
            Degrade::Local { expected_processes } => {
                self.local
                    .admit_now(scope, &quota.divided(expected_processes), cost, reserve)
            }
            Degrade::FailOpen => match self.local.cooldown_of_now(scope) {
                Some(wait) => Decision::Wait {
                    wait,
                    reason: WaitReason::Cooldown,
                },
                None => Decision::Admitted,
            },
            Degrade::FailClosed => Decision::Refused(Refusal::StoreUnavailable),
        }
    }
}

/// A microsecond count for a script argument.
fn micros(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl QuotaStore for RedisStore {
    fn admit(&self, scope: &QuotaScope, quota: &Quota, cost: u64) -> BoxFuture<Decision> {
        self.admit_reserving(scope, quota, cost, Duration::ZERO)
    }

    fn admit_reserving(
        &self,
        scope: &QuotaScope,
        quota: &Quota,
        cost: u64,
        reserve: Duration,
    ) -> BoxFuture<Decision> {
        let inner = Arc::clone(&self.inner);
        let (scope, quota) = (scope.clone(), *quota);
        Box::pin(async move {
            let limits = Limits::of(&quota, cost);
            if limits.too_large() {
                return Decision::Refused(Refusal::TooLarge {
                    cost,
                    allowance: quota.token_burst(),
                });
            }
            let part = |l: Option<super::gcra::Limit>| {
                l.map_or([0, 0], |l| [micros(l.increment), micros(l.tolerance)])
            };
            let [ri, rt] = part(limits.requests);
            let [ti, tt] = part(limits.tokens);
            // At most a minute ahead: every quantity the script handles stays below 2^53.
            let ahead = micros(
                u64::try_from(reserve.min(Duration::from_secs(60)).as_micros()).unwrap_or(0),
            );
            let keys = [
                RedisStore::state_key(&scope),
                RedisStore::cooldown_key(&scope),
            ];
            let reply = inner
                .run(
                    &inner.scripts.admit,
                    &keys,
                    &[ri, rt, ti, tt, ahead],
                    inner.admission_timeout,
                )
                .await;
            let wait = |w: i64| Duration::from_micros(u64::try_from(w).unwrap_or(0));
            match reply.as_deref() {
                Some([0, ..]) => Decision::Admitted,
                Some([3, w, ..]) => Decision::Reserved { wait: wait(*w) },
                Some([code @ (1 | 2), w, ..]) => Decision::Wait {
                    wait: wait(*w),
                    reason: if *code == 2 {
                        WaitReason::Cooldown
                    } else {
                        WaitReason::Quota
                    },
                },
                // A reply of an unexpected shape is treated like an unreachable store.
                Some(_) | None => inner.degraded_admit(&scope, &quota, cost, reserve),
            }
        })
    }

    fn settle(
        &self,
        scope: &QuotaScope,
        quota: &Quota,
        estimated: u64,
        actual: u64,
    ) -> BoxFuture<()> {
        let inner = Arc::clone(&self.inner);
        let (scope, quota) = (scope.clone(), *quota);
        Box::pin(async move {
            let Some(delta) = settle_delta(&quota, estimated, actual) else {
                return;
            };
            let keys = [RedisStore::state_key(&scope)];
            let done = inner
                .run(
                    &inner.scripts.settle,
                    &keys,
                    &[delta],
                    inner.command_timeout,
                )
                .await;
            if done.is_none() {
                if let Degrade::Local { expected_processes } = inner.degrade {
                    inner.local.settle_now(
                        &scope,
                        &quota.divided(expected_processes),
                        estimated,
                        actual,
                    );
                }
            }
        })
    }

    fn cooldown(&self, scope: &QuotaScope, duration: Duration) -> BoxFuture<()> {
        let inner = Arc::clone(&self.inner);
        let scope = scope.clone();
        Box::pin(async move {
            // Locally too, so the cooldown holds while Redis is unreachable.
            inner.local.cooldown_now(&scope, duration);
            let us = micros(u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)).max(1);
            let keys = [RedisStore::cooldown_key(&scope)];
            inner
                .run(&inner.scripts.cooldown, &keys, &[us], inner.command_timeout)
                .await;
        })
    }

    fn cooldown_of(&self, scope: &QuotaScope) -> BoxFuture<Option<Duration>> {
        let inner = Arc::clone(&self.inner);
        let scope = scope.clone();
        Box::pin(async move {
            let keys = [RedisStore::cooldown_key(&scope)];
            let reply = inner
                .run(
                    &inner.scripts.cooldown_of,
                    &keys,
                    &[],
                    inner.command_timeout,
                )
                .await;
            match reply.as_deref() {
                Some(&[until, now]) => (until > now)
                    .then(|| Duration::from_micros(u64::try_from(until - now).unwrap_or(0))),
                _ => inner.local.cooldown_of_now(&scope),
            }
        })
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("RedisStore")
            .field("url", &i.url)
            .field("admission_timeout", &i.admission_timeout)
            .field("command_timeout", &i.command_timeout)
            .field("degrade", &i.degrade)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// `url` without its password (and without its query, where `redis+unix` URLs carry `pass=`).
pub(crate) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "<not a URL>".to_owned();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, _query)) => format!("{path}?***"),
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

#[cfg(test)]
mod tests;
