//! The gateway's TOML config: model aliases routed to ordered deployments, each alias with its
//! retry policy and fallback kinds, and the inbound keys (SHA-256 hashes) with per-key limits.
//! Validated when loaded; every error names the line and column it is about.
//!
//! ```toml
//! [[keys]]
//! name = "team-a"                 # for logs (never the key)
//! sha256 = "9f86d08…"             # 64 hex digits: `InboundKeys::hash(key)` / `sha256sum`
//! rpm = 600                       # optional: requests per minute (the gateway's own 429)
//! concurrency = 16                # optional: requests in flight (open streams count)
//!
//! [models.fast]                   # the alias clients name: "model": "fast"
//! targets = [                     # ordered deployments: primary first, then fallbacks
//!   "openai:gpt-4o-mini",
//!   { target = "anthropic:claude-3-5-haiku-latest", base_url = "https://…", api_key_env = "MY_KEY" },
//! ]
//! # Load balancing: once a target has a `weight`, each request's primary is drawn by weight
//! # (targets without one weigh 0: fallbacks only), and the others follow in order.
//! # breaker: per-target circuit breakers; a target whose breaker is open is skipped.
//! breaker = { window = 20, min_calls = 5, failure_rate = 0.5, cooldown_secs = 30 }
//! attempts = 4                    # per target (default 4)
//! # deadline_secs: each target's attempts and waits — retry backoff and quota waits — end
//! # within this many seconds of its first attempt (`stop::before_delay`); default none.
//! deadline_secs = 20
//! wait = { initial_secs = 1.0, max_secs = 30.0, jitter_secs = 1.0 }  # exponential backoff
//! retry_on = ["rate-limited", "overloaded", "server", "timeout", "connect"]   # default: transient
//! fallback_on = ["rate-limited", "overloaded", "server", "timeout", "connect"] # default: transient
//! # A stalled upstream before the stream's commit point (no first byte, no event for
//! # `idle_secs`) is a `timeout`: retried and fallen back on like any transient error.
//! timeouts = { connect_secs = 5, first_byte_secs = 30, idle_secs = 20, total_secs = 600 }
//! # budget: this alias's own retry budget (see Budgets below); without one, the `[budget]`.
//! budget = { extra_attempts = 100, window_secs = 60 }
//!
//! [models.quoted]
//! targets = [
//!   # A deployment's quota: requests and tokens per minute of this account's model, admitted
//!   # before every upstream attempt (retries and fallbacks included) with `Call::quota`.
//!   { target = "openai:gpt-4o-mini", rpm = 500, tpm = 200000, burst = 10, account = "org-a",
//!     max_wait_secs = 2, fail_fast = false },
//!   # fail_fast: a request the quota cannot admit at once is refused (`quota-refused`), and
//!   # the alias falls back to the next deployment without waiting.
//!   { target = "anthropic:claude-3-5-haiku-latest", rpm = 50, fail_fast = true },
//! ]
//!
//! [redis]                         # optional: quotas and cooldowns shared by the replicas
//! url_env = "STEADFAST_REDIS_URL" # or `url = "redis://…"` (`steadfast gateway --redis URL`)
//! replicas = 3                    # the replicas sharing the quotas (`--replicas N`)
//!
//! [budget]                        # optional: the retry budget of every alias without its own
//! extra_attempts = 600            # retries and fallback switches allowed per window
//! window_secs = 60
//! name = "gateway"                # optional: the name it is shared under (see Budgets)
//!
//! [log]
//! content = false                 # true: the access log holds the messages and the answer
//! ```
//!
//! # Budgets
//!
//! A `budget` is the library's [`Budget::per_window`]: `extra_attempts` extra upstream attempts
//! in each window of `window_secs` (fixed windows, back to back from the config's load; a reload
//! starts afresh — shared through Redis, the windows and the count are the fleet's, and a
//! reloaded replica picks them up at its first flush), shared by every request of the aliases
//! that use it. Every retry (a target's attempt 2, 3, …) and every switch to a fallback target
//! takes one unit; the first attempt of a request is always free. When none is left, a request stops where it is and answers with
//! the error it has (an upstream 500 stays a 500; `x-steadfast-attempts` says how many were
//! made): a retry storm against a failing provider is cut off, while a healthy gateway never
//! runs dry. An alias's `budget` is its own (named `gateway.<alias>`, with characters other
//! than `A-Z a-z 0-9 . _ -` as `_`); the top-level `[budget]` (named `gateway`) is one budget
//! shared by every alias without one. Tables with the same `name` are one budget, and must give
//! it the same limits. With `--redis URL` (or `[redis]`) the replicas share each budget by its
//! name ([`Config::share_budgets`], the library's `RedisStore::budget_sharing`): the fleet as a
//! whole stays within `extra_attempts` per window, up to the sharing's slack (what the replicas
//! take in about two flush intervals, 250 ms each). `GET /metrics` shows each budget's window
//! (`steadfast_gateway_budget_*`).
//!
//! # Content logging
//!
//! The access log (`tracing` target `steadfast_gateway::access`) never holds a key, and holds no
//! prompt or answer unless `[log] content = true`: then each request's line carries
//! `gen_ai.input.messages` and, once the answer is complete, `gen_ai.output.messages` (JSON in
//! the GenAI conventions' message schema; a stream's answer is on a second line, `stream
//! content`, when the stream ends). Content may hold personal data: the default is off.
//!
//! # Quotas
//!
//! A deployment with `rpm` and/or `tpm` gets a [`Limiter`] on the scope (provider, `account`
//! label — default `"default"`, never a key — and model). `burst` is the request burst (default
//! one second's worth), `token_burst` the token allowance (default the minute's `tpm`). Every
//! upstream attempt waits for admission, at most `max_wait_secs` in all (default 60 s) and never
//! past the alias's `deadline_secs`; a request that cannot be admitted in time — at once, with
//! `fail_fast` — fails with `quota-refused` without being sent, and the alias's chain moves to
//! the next deployment (a refusal is always a reason to fall back). Deployments naming the same
//! scope, in any alias, share one count, and must give it the same limits. A provider 429 with
//! `retry-after` cools the whole scope down, for every request that shares the store.
//!
//! The quotas live in one store per config: in process, unless the gateway is given a shared one
//! ([`Config::with_quota_store`]: `--redis URL` or `[redis]` gives every replica the same
//! `RedisStore`, which degrades to each replica's share of the quota, `Quota::divided` by
//! `replicas`, while Redis is unreachable). Replicas without a shared store can divide the quotas
//! among themselves ([`Config::divide_quotas`]: `--replicas N` without `--redis`).
//!
//! Without a `[[keys]]` table every request is refused (401): a deployment names its keys.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use steadfast::quota::{DEFAULT_MAX_WAIT, InProcess, Limiter, Quota, QuotaScope, QuotaStore};
use steadfast::resilient::{self, TRANSIENT};
use steadfast::retry::{Budget, Predicate, stop, wait};
use steadfast::{ApiKey, Call, Error, ErrorKind, Timeouts, llm};
use toml::Spanned;

use crate::inbound::ApiError;
use crate::keys::{InboundKeys, KeyLimits};
use crate::routes::{Resolve, Route};

/// A config error: what is wrong and where (1-based line and column; 0 when unknown).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigError {
    /// The line.
    pub line: usize,
    /// The column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.message)
        } else {
            write!(
                f,
                "line {}, column {}: {}",
                self.line, self.column, self.message
            )
        }
    }
}

impl std::error::Error for ConfigError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    keys: Vec<RawKey>,
    redis: Option<Spanned<RawRedis>>,
    budget: Option<Spanned<RawBudget>>,
    log: Option<Spanned<RawLog>>,
    #[serde(default)]
    models: BTreeMap<String, Spanned<RawModel>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBudget {
    extra_attempts: u32,
    window_secs: Spanned<f64>,
    name: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLog {
    content: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKey {
    name: Option<String>,
    sha256: Spanned<String>,
    rpm: Option<Spanned<u32>>,
    concurrency: Option<Spanned<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModel {
    targets: Spanned<Vec<Spanned<RawTarget>>>,
    attempts: Option<Spanned<u32>>,
    deadline_secs: Option<Spanned<f64>>,
    wait: Option<Spanned<RawWait>>,
    retry_on: Option<Vec<Spanned<String>>>,
    fallback_on: Option<Vec<Spanned<String>>>,
    timeouts: Option<Spanned<RawTimeouts>>,
    breaker: Option<Spanned<RawBreaker>>,
    budget: Option<Spanned<RawBudget>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRedis {
    url: Option<String>,
    url_env: Option<String>,
    replicas: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBreaker {
    window: Option<u32>,
    min_calls: Option<u32>,
    failure_rate: Option<f64>,
    cooldown_secs: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTimeouts {
    connect_secs: Option<f64>,
    first_byte_secs: Option<f64>,
    idle_secs: Option<f64>,
    total_secs: Option<f64>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawTarget {
    Name(String),
    Full(RawDeployment),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDeployment {
    target: String,
    base_url: Option<String>,
    api_key_env: Option<String>,
    weight: Option<u32>,
    rpm: Option<u64>,
    tpm: Option<u64>,
    burst: Option<u64>,
    token_burst: Option<u64>,
    account: Option<String>,
    max_wait_secs: Option<f64>,
    fail_fast: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWait {
    initial_secs: Option<f64>,
    max_secs: Option<f64>,
    jitter_secs: Option<f64>,
}

/// A loaded, validated config: the routes of its aliases, its inbound keys, and the deployments'
/// quotas (on one [`QuotaStore`], in process unless [`with_quota_store`](Config::with_quota_store)
/// gives another).
#[derive(Clone)]
pub struct Config {
    routes: BTreeMap<String, Route>,
    keys: InboundKeys,
    store: Arc<dyn QuotaStore>,
    redis_url: Option<String>,
    replicas: Option<u32>,
    /// The retry budgets, by the name the replicas share them under.
    budgets: BTreeMap<String, Budget>,
    log_content: bool,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("models", &self.routes.keys().collect::<Vec<_>>())
            .field("keys", &self.keys)
            .field("quota_store", &self.store)
            // The URL may hold a password: only whether there is one.
            .field("redis", &self.redis_url.as_ref().map(|_| "***"))
            .field("replicas", &self.replicas)
            .field("budgets", &self.budgets.keys().collect::<Vec<_>>())
            .field("log_content", &self.log_content)
            .finish()
    }
}

/// Byte offset to 1-based (line, column).
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |i| before.len() - i - 1)
        + 1;
    (line, column)
}

impl Config {
    /// Parses and validates a config, reading deployments' keys from the environment
    /// (`api_key_env`).
    ///
    /// # Errors
    /// The first problem, with its line and column: TOML syntax, an unknown field, a bad hash, an
    /// unknown provider or error kind, a missing environment variable, an empty target list.
    pub fn from_toml_str(text: &str) -> Result<Config, ConfigError> {
        Config::from_toml_str_with_env(text, |k| std::env::var(k).ok())
    }

    /// As [`from_toml_str`](Config::from_toml_str), reading environment variables through `env`.
    ///
    /// # Errors
    /// As [`from_toml_str`](Config::from_toml_str).
    pub fn from_toml_str_with_env(
        text: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let at = |span: std::ops::Range<usize>, message: String| {
            let (line, column) = line_col(text, span.start);
            ConfigError {
                line,
                column,
                message,
            }
        };
        let raw: RawConfig = toml::from_str(text).map_err(|e| match e.span() {
            Some(span) => at(span, e.message().to_owned()),
            None => ConfigError {
                line: 0,
                column: 0,
                message: e.message().to_owned(),
            },
        })?;
        let mut keys = Vec::new();
        for k in &raw.keys {
            let hash = crate::keys::parse_hex(k.sha256.get_ref()).ok_or_else(|| {
                at(
                    k.sha256.span(),
                    "`sha256` must be 64 hex digits (the SHA-256 of the key)".into(),
                )
            })?;
            for limit in [&k.rpm, &k.concurrency].into_iter().flatten() {
                if *limit.get_ref() == 0 {
                    return Err(at(limit.span(), "a limit must be at least 1".into()));
                }
            }
            keys.push((
                hash,
                KeyLimits::new(
                    k.name.clone(),
                    k.rpm.as_ref().map(|r| *r.get_ref()),
                    k.concurrency.as_ref().map(|c| *c.get_ref()),
                ),
            ));
        }
        let store: Arc<dyn QuotaStore> = Arc::new(InProcess::new());
        // The retry budgets by name, with their settings and where they were first set: one
        // name, one budget.
        let mut budgets: BTreeMap<String, (Budget, (u32, Duration), usize)> = BTreeMap::new();
        let mut budget_of = |b: &Spanned<RawBudget>, default_name: String| {
            let raw = b.get_ref();
            let (name, settings) =
                budget(raw, default_name).map_err(|(s, m)| at(s.unwrap_or_else(|| b.span()), m))?;
            let here = line_col(text, b.span().start).0;
            if let Some((existing, first, line)) = budgets.get(&name) {
                if *first != settings {
                    return Err(at(
                        b.span(),
                        format!(
                            "the budget `{name}` is set twice with different limits (first on \
                             line {line}): give one of them another `name`"
                        ),
                    ));
                }
                return Ok(existing.clone());
            }
            let made = Budget::per_window(settings.0, settings.1)
                .map_err(|e| at(b.span(), e.to_string()))?;
            budgets.insert(name, (made.clone(), settings, here));
            Ok(made)
        };
        let default_budget = match &raw.budget {
            None => None,
            Some(b) => Some(budget_of(b, "gateway".to_owned())?),
        };
        // Each scope's quota, and where it was first set: one scope, one quota.
        let mut scopes: BTreeMap<String, (Quota, usize)> = BTreeMap::new();
        let mut routes = BTreeMap::new();
        for (alias, model) in &raw.models {
            let span = model.span();
            let model = model.get_ref();
            if model.targets.get_ref().is_empty() {
                return Err(at(
                    model.targets.span(),
                    format!("model `{alias}` needs at least one target"),
                ));
            }
            let timeouts = match &model.timeouts {
                None => None,
                Some(t) => Some(timeouts(t.get_ref()).map_err(|m| at(t.span(), m))?),
            };
            let mut targets = Vec::new();
            let weights: Vec<Option<u32>> = model
                .targets
                .get_ref()
                .iter()
                .map(|t| match t.get_ref() {
                    RawTarget::Full(d) => d.weight,
                    RawTarget::Name(_) => None,
                })
                .collect();
            for t in model.targets.get_ref() {
                let mut call = deployment(t.get_ref(), &env).map_err(|m| at(t.span(), m))?;
                if let Some(t) = timeouts {
                    call = call.timeouts(t);
                }
                if let RawTarget::Full(d) = t.get_ref() {
                    if let Some(q) = quota(d, &call).map_err(|m| at(t.span(), m))? {
                        let here = line_col(text, t.span().start).0;
                        let key = q.scope.encoded();
                        match scopes.get(&key) {
                            Some((other, line)) if *other != q.quota => {
                                return Err(at(
                                    t.span(),
                                    format!(
                                        "the quota of {} is set twice with different limits \
                                         (first on line {line}): one account's model has one quota",
                                        q.scope
                                    ),
                                ));
                            }
                            Some(_) => {}
                            None => {
                                scopes.insert(key, (q.quota, here));
                            }
                        }
                        let limiter = Limiter::new(q.scope, q.quota)
                            .with_store(Arc::clone(&store))
                            .fail_fast(q.fail_fast)
                            .max_wait(q.max_wait);
                        call = call.quota(limiter);
                    }
                }
                targets.push(call);
            }
            let attempts = model.attempts.as_ref().map_or(4, |a| *a.get_ref());
            if attempts == 0 {
                let s = model.attempts.as_ref().map_or(span.clone(), Spanned::span);
                return Err(at(s, "`attempts` must be at least 1".into()));
            }
            let wait = match &model.wait {
                None => None,
                Some(w) => Some(backoff(w.get_ref()).map_err(|m| at(w.span(), m))?),
            };
            let retry_on = match &model.retry_on {
                None => resilient::retryable(),
                Some(list) => kinds(list).map_err(|(s, m)| at(s, m))?,
            };
            let fallback_on = match &model.fallback_on {
                None => resilient::kinds(TRANSIENT),
                Some(list) => kinds(list).map_err(|(s, m)| at(s, m))?,
            };
            let mut stops = stop::after_attempt(attempts);
            if let Some(d) = &model.deadline_secs {
                let limit = seconds(*d.get_ref(), "deadline_secs").map_err(|m| at(d.span(), m))?;
                stops = stops.or(stop::before_delay(limit));
            }
            let mut policy = resilient::default_policy().stop(stops).retry_if(retry_on);
            if let Some(w) = wait {
                policy = policy.wait(w);
            }
            let mut route = Route::new(targets, policy);
            route.fallback_on = fallback_on;
            if weights.iter().any(Option::is_some) {
                route.weights = Some(weights.iter().map(|w| w.unwrap_or(0)).collect());
            }
            if let Some(b) = &model.breaker {
                route.breakers = Some(breakers(b.get_ref()).map_err(|m| at(b.span(), m))?);
            }
            route.budget = match &model.budget {
                Some(b) => Some(budget_of(b, format!("gateway.{}", budget_name(alias)))?),
                None => default_budget.clone(),
            };
            routes.insert(alias.clone(), route);
        }
        let (redis_url, replicas) = match &raw.redis {
            None => (None, None),
            Some(r) => redis(r.get_ref(), &env).map_err(|m| at(r.span(), m))?,
        };
        let log_content = raw
            .log
            .as_ref()
            .and_then(|l| l.get_ref().content)
            .unwrap_or(false);
        Ok(Config {
            routes,
            keys: InboundKeys::limited(keys),
            store,
            redis_url,
            replicas,
            budgets: budgets.into_iter().map(|(n, (b, _, _))| (n, b)).collect(),
            log_content,
        })
    }

    /// The same config with every deployment's quota kept in `store` — a
    /// [`RedisStore`](steadfast::quota) shared by the gateway's replicas, or the store of the
    /// config this one replaces on a reload, so that the counts carry over.
    #[must_use]
    pub fn with_quota_store(mut self, store: Arc<dyn QuotaStore>) -> Config {
        self.store = Arc::clone(&store);
        self.map_limiters(|l| l.clone().with_store(Arc::clone(&store)))
    }

    /// The same config with every deployment's quota divided among `processes` replicas that do
    /// not share a store ([`Quota::divided`]): each admits its share, so that together they stay
    /// near the quota. With a shared store, do not divide: give the store's degrade mode the
    /// number of processes instead.
    #[must_use]
    pub fn divide_quotas(self, processes: u32) -> Config {
        self.map_limiters(|l| {
            Limiter::new(l.scope().clone(), l.quota().divided(processes))
                .with_store(Arc::clone(l.store()))
                .fail_fast(l.is_fail_fast())
                .max_wait(l.max_wait_limit())
        })
    }

    /// The same config with every alias's breakers (the `breaker` tables) passed through `f` —
    /// `|b| b.shared(store.breaker_sharing())` shares their decisions with the other replicas
    /// through Redis (`Breakers::shared`, feature `redis` of `steadfast`, which the gateway
    /// crate does not turn on itself): an open breaker in one replica is honoured by all, and
    /// one replica probes.
    ///
    /// # Errors
    /// The first error of `f`.
    pub fn map_breakers(
        mut self,
        f: impl Fn(resilient::Breakers) -> Result<resilient::Breakers, Error>,
    ) -> Result<Config, Error> {
        for route in self.routes.values_mut() {
            if let Some(b) = route.breakers.take() {
                route.breakers = Some(f(b)?);
            }
        }
        Ok(self)
    }

    /// Calls `f` with each retry budget (the `budget` tables) and the name it is shared under —
    /// `|name, b| store.budget_sharing(name)?.share(b)` shares it with the other replicas through
    /// Redis ([`RedisStore::budget_sharing`](steadfast::quota), feature `redis` of `steadfast`):
    /// the fleet as a whole then stays within each budget per window, up to the sharing's slack
    /// (about two flush intervals of retries).
    ///
    /// # Errors
    /// The first error of `f`.
    pub fn share_budgets(
        &self,
        f: impl Fn(&str, &Budget) -> Result<(), Error>,
    ) -> Result<(), Error> {
        for (name, b) in &self.budgets {
            f(name, b)?;
        }
        Ok(())
    }

    /// The retry budgets, by the name the replicas share them under: `gateway` for the top-level
    /// `[budget]`, `gateway.<alias>` for an alias's own, unless their `name` says otherwise.
    pub fn budgets(&self) -> &BTreeMap<String, Budget> {
        &self.budgets
    }

    /// The `[log]` table's `content`: whether the access log holds the request's messages and
    /// the answer (default off).
    pub fn log_content(&self) -> bool {
        self.log_content
    }

    fn map_limiters(mut self, f: impl Fn(&Limiter) -> Limiter) -> Config {
        for route in self.routes.values_mut() {
            for call in &mut route.targets {
                if let Some(l) = call.limiter() {
                    let l = f(l);
                    *call = call.clone().quota(l);
                }
            }
        }
        self
    }

    /// The store the deployments' quotas are kept in.
    pub fn quota_store(&self) -> &Arc<dyn QuotaStore> {
        &self.store
    }

    /// The `[redis]` table's URL (`url`, or the variable `url_env` names): where the replicas
    /// share their quotas and cooldowns. It may hold a password; `Debug` never shows it.
    pub fn redis_url(&self) -> Option<&str> {
        self.redis_url.as_deref()
    }

    /// The `[redis]` table's `replicas`: how many gateway processes share the quotas.
    pub fn replicas(&self) -> Option<u32> {
        self.replicas
    }

    /// The inbound keys and their limits.
    pub fn keys(&self) -> InboundKeys {
        self.keys.clone()
    }

    /// The aliases, sorted.
    pub fn models(&self) -> Vec<String> {
        self.routes.keys().cloned().collect()
    }
}

impl Resolve for Config {
    fn resolve(&self, model: &str) -> Result<Route, ApiError> {
        self.routes.get(model).cloned().ok_or_else(|| {
            ApiError::new(
                ErrorKind::NotFound,
                format!(
                    "The model `{model}` does not exist (models: {})",
                    self.models().join(", ")
                ),
            )
            .param("model")
            .code("model_not_found")
        })
    }

    fn models(&self) -> Vec<String> {
        Config::models(self)
    }

    fn budgets(&self) -> Vec<(String, Budget)> {
        self.budgets
            .iter()
            .map(|(n, b)| (n.clone(), b.clone()))
            .collect()
    }

    fn breakers(&self) -> Vec<(String, resilient::Breakers)> {
        self.routes
            .iter()
            .filter_map(|(name, r)| Some((name.clone(), r.breakers.clone()?)))
            .collect()
    }
}

fn deployment(t: &RawTarget, env: &impl Fn(&str) -> Option<String>) -> Result<Call, String> {
    let (target, base_url, key_env) = match t {
        RawTarget::Name(n) => (n.as_str(), None, None),
        RawTarget::Full(d) => (
            d.target.as_str(),
            d.base_url.as_deref(),
            d.api_key_env.as_deref(),
        ),
    };
    let mut call = llm::call(target).map_err(|e| e.message().to_owned())?;
    if let Some(url) = base_url {
        call = call.base_url(url);
    }
    if let Some(var) = key_env {
        let key = env(var).filter(|k| !k.is_empty()).ok_or_else(|| {
            format!("the environment variable `{var}` (the key of `{target}`) is not set")
        })?;
        call = call.api_key(ApiKey::new(key));
    }
    Ok(call)
}

/// A deployment's quota, as its table sets it.
struct DeploymentQuota {
    scope: QuotaScope,
    quota: Quota,
    fail_fast: bool,
    max_wait: Duration,
}

fn quota(d: &RawDeployment, call: &Call) -> Result<Option<DeploymentQuota>, String> {
    if d.rpm.is_none() && d.tpm.is_none() {
        let set = [
            ("burst", d.burst.is_some()),
            ("token_burst", d.token_burst.is_some()),
            ("account", d.account.is_some()),
            ("max_wait_secs", d.max_wait_secs.is_some()),
            ("fail_fast", d.fail_fast.is_some()),
        ];
        if let Some((name, _)) = set.iter().find(|(_, s)| *s) {
            return Err(format!(
                "`{name}` is a quota setting: give `{}` a quota with `rpm` or `tpm`",
                d.target
            ));
        }
        return Ok(None);
    }
    let mut b = Quota::builder();
    if let Some(v) = d.rpm {
        b = b.requests_per_minute(v);
    }
    if let Some(v) = d.tpm {
        b = b.tokens_per_minute(v);
    }
    if let Some(v) = d.burst {
        b = b.burst(v);
    }
    if let Some(v) = d.token_burst {
        b = b.token_burst(v);
    }
    let quota = b
        .build()
        .map_err(|e| format!("the quota of `{}`: {e}", d.target))?;
    let account = d.account.as_deref().unwrap_or("default");
    let scope = QuotaScope::new(call.provider_name(), account, call.model())
        .map_err(|e| format!("the quota of `{}`: {e}", d.target))?;
    let max_wait = match d.max_wait_secs {
        None => DEFAULT_MAX_WAIT,
        Some(v) => Duration::try_from_secs_f64(v).map_err(|_| {
            "`max_wait_secs` must be a non-negative number of seconds (at most 2^64)".to_owned()
        })?,
    };
    Ok(Some(DeploymentQuota {
        scope,
        quota,
        fail_fast: d.fail_fast.unwrap_or(false),
        max_wait,
    }))
}

/// The longest budget name (the Redis store's limit).
const MAX_BUDGET_NAME: usize = 100;

/// Whether `name` can name a budget shared through Redis: 1 to 100 of `A-Z a-z 0-9 . _ -`.
fn valid_budget_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_BUDGET_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// An alias as part of a budget's default name: the characters a shared budget's name cannot
/// hold become `_`, and it is cut to fit.
fn budget_name(alias: &str) -> String {
    alias
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(MAX_BUDGET_NAME - "gateway.".len())
        .collect()
}

type BudgetSettings = (String, (u32, Duration));

/// A `budget` table's name and settings (`extra_attempts`, the window); an error with the span
/// of the value at fault when known.
fn budget(
    b: &RawBudget,
    default_name: String,
) -> Result<BudgetSettings, (Option<std::ops::Range<usize>>, String)> {
    let window = seconds(*b.window_secs.get_ref(), "window_secs")
        .map_err(|m| (Some(b.window_secs.span()), m))?;
    let name = match &b.name {
        None => default_name,
        Some(n) => {
            if !valid_budget_name(n.get_ref()) {
                return Err((
                    Some(n.span()),
                    format!(
                        "a budget's `name` must be 1 to {MAX_BUDGET_NAME} of A-Z a-z 0-9 . _ -"
                    ),
                ));
            }
            n.get_ref().clone()
        }
    };
    Ok((name, (b.extra_attempts, window)))
}

type RedisSettings = (Option<String>, Option<u32>);

fn redis(r: &RawRedis, env: &impl Fn(&str) -> Option<String>) -> Result<RedisSettings, String> {
    let url = match (&r.url, &r.url_env) {
        (Some(_), Some(_)) => return Err("`[redis]` takes `url` or `url_env`, not both".into()),
        (Some(u), None) => Some(u.clone()),
        (None, Some(var)) => Some(env(var).filter(|u| !u.is_empty()).ok_or_else(|| {
            format!("the environment variable `{var}` (the Redis URL) is not set")
        })?),
        (None, None) => None,
    };
    if r.replicas == Some(0) {
        return Err("`replicas` must be at least 1".into());
    }
    Ok((url, r.replicas))
}

fn seconds(v: f64, name: &str) -> Result<Duration, String> {
    match Duration::try_from_secs_f64(v) {
        Ok(d) if !d.is_zero() => Ok(d),
        _ => Err(format!(
            "`{name}` must be a positive number of seconds (at most 2^64)"
        )),
    }
}

/// The library's timeouts with those the config sets.
fn timeouts(t: &RawTimeouts) -> Result<Timeouts, String> {
    let mut out = Timeouts::default();
    if let Some(v) = t.connect_secs {
        out = out.connect(seconds(v, "connect_secs")?);
    }
    if let Some(v) = t.first_byte_secs {
        out = out.first_byte(seconds(v, "first_byte_secs")?);
    }
    if let Some(v) = t.idle_secs {
        out = out.idle(seconds(v, "idle_secs")?);
    }
    if let Some(v) = t.total_secs {
        out = out.total(seconds(v, "total_secs")?);
    }
    Ok(out)
}

fn breakers(b: &RawBreaker) -> Result<resilient::Breakers, String> {
    let mut c = steadfast::retry::CircuitBreaker::builder();
    if let Some(w) = b.window {
        c = c.window(w);
    }
    if let Some(m) = b.min_calls {
        c = c.min_calls(m);
    }
    if let Some(r) = b.failure_rate {
        c = c.failure_rate(r);
    }
    if let Some(s) = b.cooldown_secs {
        c = c.cooldown(seconds(s, "cooldown_secs")?);
    }
    resilient::Breakers::new(c).map_err(|e| e.to_string())
}

fn backoff(w: &RawWait) -> Result<steadfast::retry::wait::Wait, String> {
    let secs = |v: Option<f64>, default: f64, name: &str| -> Result<Duration, String> {
        Duration::try_from_secs_f64(v.unwrap_or(default)).map_err(|_| {
            format!("`{name}` must be a non-negative number of seconds (at most 2^64)")
        })
    };
    let initial = secs(w.initial_secs, 1.0, "initial_secs")?;
    wait::exponential_jitter()
        .multiplier(initial.as_secs_f64())
        .max(secs(w.max_secs, 30.0, "max_secs")?)
        .jitter(secs(w.jitter_secs, 1.0, "jitter_secs")?)
        .build()
        .map_err(|e| e.to_string())
}

fn kinds(list: &[Spanned<String>]) -> Result<Predicate<Error>, (std::ops::Range<usize>, String)> {
    let mut out = Vec::with_capacity(list.len());
    for k in list {
        let kind: ErrorKind = k
            .get_ref()
            .parse()
            .map_err(|e: steadfast::UnknownErrorKind| (k.span(), e.to_string()))?;
        out.push(kind);
    }
    Ok(resilient::kinds(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Config, ConfigError> {
        Config::from_toml_str_with_env(text, |k| (k == "SET").then(|| "v".to_owned()))
    }

    #[test]
    fn a_full_config_loads() {
        let c = load(&format!(
            r#"
[[keys]]
name = "a"
sha256 = "{}"
rpm = 10
concurrency = 2

[models.fast]
targets = ["openai:gpt-4o-mini", {{ target = "anthropic:claude-3-5-haiku-latest", api_key_env = "SET" }}]
attempts = 2
wait = {{ initial_secs = 0.5 }}
fallback_on = ["rate-limited", "server"]
"#,
            InboundKeys::hash("k")
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.models(), ["fast"]);
        let r = c
            .resolve("fast")
            .unwrap_or_else(|e| panic!("{}", e.message));
        assert_eq!(r.targets.len(), 2);
        assert_eq!(c.resolve("slow").err().map(|e| e.status), Some(404));
    }

    #[test]
    fn errors_name_the_line() {
        let e = load("[models.fast]\ntargets = [\"openai:x\"]\nretry_on = [\"rate-limited\", \"sometimes\"]\n")
            .err();
        let e = e.unwrap_or_else(|| panic!("an unknown kind loads"));
        assert_eq!((e.line, e.column), (3, 29), "{e}");
        assert!(e.message.contains("sometimes"), "{e}");

        let e = load("[models.fast]\ntargets = [\"nosuch:x\"]\n").err();
        assert_eq!(e.map(|e| e.line), Some(2));

        let e = load("[[keys]]\nsha256 = \"abc\"\n").err();
        assert_eq!(e.map(|e| e.line), Some(2));

        let e =
            load("[models.fast]\ntargets = [{ target = \"openai:x\", api_key_env = \"UNSET\" }]\n")
                .err();
        let e = e.unwrap_or_else(|| panic!("a missing variable loads"));
        assert_eq!(e.line, 2);
        assert!(e.message.contains("UNSET"));

        let e = load("[models.fast]\ntargets = []\n").err();
        assert_eq!(e.map(|e| e.line), Some(2));

        let e = load("\n\n[models.fast]\ntargets = [\"openai:x\"]\ncolour = 1\n").err();
        let e = e.unwrap_or_else(|| panic!("an unknown field loads"));
        assert_eq!(e.line, 5, "{e}");
    }

    #[test]
    fn out_of_range_seconds_are_an_error_naming_the_line_not_a_panic() {
        // Duration::from_secs_f64 panics past 2^64 s; every seconds field goes through a
        // checked conversion instead.
        let fields = [
            "deadline_secs = {v}",
            "wait = {{ initial_secs = {v} }}",
            "wait = {{ max_secs = {v} }}",
            "wait = {{ jitter_secs = {v} }}",
            "timeouts = {{ connect_secs = {v} }}",
            "timeouts = {{ first_byte_secs = {v} }}",
            "timeouts = {{ idle_secs = {v} }}",
            "timeouts = {{ total_secs = {v} }}",
            "breaker = {{ cooldown_secs = {v} }}",
            "budget = {{ extra_attempts = 1, window_secs = {v} }}",
            "targets = [{{ target = \"openai:y\", rpm = 1, max_wait_secs = {v} }}]",
        ];
        for field in fields {
            for v in ["1e300", "-1", "nan", "inf", "-inf"] {
                let line = field
                    .replace("{v}", v)
                    .replace("{{", "{")
                    .replace("}}", "}");
                let (text, at) = if line.starts_with("targets") {
                    (format!("[models.fast]\n{line}\n"), 2)
                } else {
                    let text = format!("[models.fast]\ntargets = [\"openai:x\"]\n{line}\n");
                    (text, 3)
                };
                let e = load(&text).err().unwrap_or_else(|| panic!("{line} loads"));
                assert_eq!(e.line, at, "{line}: {e}");
                assert!(e.message.contains("seconds"), "{line}: {e}");
            }
        }
    }

    #[test]
    fn deployment_quotas_load_and_are_validated_by_line() {
        let c = load(
            "[models.q]\ntargets = [\n  { target = \"openai:gpt-4o-mini\", rpm = 60, tpm = 1000, burst = 2, account = \"org-a\", max_wait_secs = 1.5, fail_fast = true },\n  \"anthropic:claude-3-5-haiku-latest\",\n]\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let r = c.resolve("q").unwrap_or_else(|e| panic!("{}", e.message));
        let l = r.targets[0].limiter().unwrap_or_else(|| panic!("no quota"));
        assert_eq!(l.quota().requests_per_minute(), Some(60));
        assert_eq!(l.quota().tokens_per_minute(), Some(1000));
        assert_eq!(l.quota().burst(), 2);
        assert_eq!(l.scope().account(), "org-a");
        assert_eq!(l.scope().model(), "gpt-4o-mini");
        assert!(l.is_fail_fast());
        assert_eq!(l.max_wait_limit(), Duration::from_millis(1500));
        assert!(r.targets[1].limiter().is_none());
        // Divided among three replicas without a shared store.
        let d = c.clone().divide_quotas(3).resolve("q").ok();
        let d = d.as_ref().and_then(|r| r.targets[0].limiter().cloned());
        assert_eq!(d.map(|l| l.quota().requests_per_minute()), Some(Some(20)));

        let bad = |text: &str| load(text).err().unwrap_or_else(|| panic!("loads: {text}"));
        let e = bad("[models.q]\n\ntargets = [{ target = \"openai:x\", rpm = 0 }]\n");
        assert_eq!(e.line, 3, "{e}");
        let e = bad("[models.q]\ntargets = [{ target = \"openai:x\", burst = 3 }]\n");
        assert_eq!(e.line, 2, "{e}");
        assert!(
            e.message.contains("`burst`") && e.message.contains("rpm"),
            "{e}"
        );
        let e = bad("[models.q]\ntargets = [{ target = \"openai:x\", tpm = 100, burst = 3 }]\n");
        assert_eq!(e.line, 2, "{e}");
        let e = bad(
            "[models.q]\ntargets = [{ target = \"openai:x\", rpm = 5, account = \"sk-abc\" }]\n",
        );
        assert!(e.message.contains("API key"), "{e}");
        let e =
            bad("[models.q]\ntargets = [{ target = \"openai:x\", rpm = 5, max_wait_secs = -1 }]\n");
        assert!(e.message.contains("max_wait_secs"), "{e}");
        let e = bad("[models.q]\ntargets = [\"openai:x\"]\ndeadline_secs = 0\n");
        assert_eq!(e.line, 3, "{e}");
        assert!(e.message.contains("deadline_secs"), "{e}");
        let e = bad(
            "[models.a]\ntargets = [{ target = \"openai:x\", rpm = 5 }]\n[models.b]\ntargets = [{ target = \"openai:x\", rpm = 6 }]\n",
        );
        assert_eq!(e.line, 4, "{e}");
        assert!(e.message.contains("line 2"), "{e}");
        // Another account is another quota.
        assert!(load("[models.a]\ntargets = [{ target = \"openai:x\", rpm = 5 }]\n[models.b]\ntargets = [{ target = \"openai:x\", rpm = 6, account = \"b\" }]\n").is_ok());
    }

    #[test]
    fn budgets_load_and_are_validated_by_line() {
        let c = load(
            "[budget]\nextra_attempts = 10\nwindow_secs = 60\n\n[models.a]\ntargets = [\"openai:x\"]\n\n[models.\"b/c\"]\ntargets = [\"openai:x\"]\nbudget = { extra_attempts = 2, window_secs = 1.5 }\n\n[models.d]\ntargets = [\"openai:x\"]\nbudget = { extra_attempts = 5, window_secs = 1, name = \"shared-d\" }\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<&String> = c.budgets().keys().collect();
        assert_eq!(names, ["gateway", "gateway.b_c", "shared-d"]);
        let b = &c.budgets()["gateway.b_c"];
        assert_eq!(b.limit(), 2);
        assert_eq!(b.window_length(), Some(Duration::from_millis(1500)));
        let route = |m: &str| c.resolve(m).unwrap_or_else(|e| panic!("{}", e.message));
        // `a` has the top-level budget: the same one, not a copy.
        let top = route("a").budget.unwrap_or_else(|| panic!("no budget"));
        assert!(top.try_acquire());
        assert_eq!(c.budgets()["gateway"].used(), 1);
        assert_eq!(route("d").budget.map(|b| b.limit()), Some(5));
        assert!(
            load("[models.a]\ntargets = [\"openai:x\"]\n").is_ok_and(|c| c.budgets().is_empty())
        );

        let bad = |text: &str| load(text).err().unwrap_or_else(|| panic!("loads: {text}"));
        let e = bad("[budget]\nextra_attempts = 1\nwindow_secs = 0\n");
        assert!(e.message.contains("window_secs"), "{e}");
        assert_eq!(e.line, 3, "{e}");
        let e = bad(
            "[models.a]\ntargets = [\"openai:x\"]\nbudget = { extra_attempts = -1, window_secs = 1 }\n",
        );
        assert_eq!(e.line, 3, "{e}");
        let e = bad("[models.a]\ntargets = [\"openai:x\"]\nbudget = { extra_attempts = 1 }\n");
        assert_eq!(e.line, 3, "{e}");
        assert!(e.message.contains("window_secs"), "{e}");
        let e = bad(
            "[models.a]\ntargets = [\"openai:x\"]\n\nbudget = { extra_attempts = 1, window_secs = 1, name = \"no spaces\" }\n",
        );
        assert_eq!(e.line, 4, "{e}");
        assert!(e.message.contains("`name`"), "{e}");
        let e = bad(
            "[models.a]\ntargets = [\"openai:x\"]\nbudget = { extra_attempts = 1, window_secs = 1, colour = 2 }\n",
        );
        assert_eq!(e.line, 3, "{e}");
        let e = bad(
            "[models.a]\ntargets = [\"openai:x\"]\nbudget = { extra_attempts = 1, window_secs = 1, name = \"n\" }\n[models.b]\ntargets = [\"openai:x\"]\nbudget = { extra_attempts = 2, window_secs = 1, name = \"n\" }\n",
        );
        assert_eq!(e.line, 6, "{e}");
        assert!(e.message.contains("line 3"), "{e}");
        // The same name with the same limits is one budget.
        let c = load("[models.a]\ntargets = [\"openai:x\"]\nbudget = { extra_attempts = 1, window_secs = 1, name = \"n\" }\n[models.b]\ntargets = [\"openai:x\"]\nbudget = { extra_attempts = 1, window_secs = 1, name = \"n\" }\n")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.budgets().len(), 1);
    }

    #[test]
    fn the_log_table_turns_content_logging_on() {
        assert!(!load("").unwrap_or_else(|e| panic!("{e}")).log_content());
        assert!(
            load("[log]\ncontent = true\n")
                .unwrap_or_else(|e| panic!("{e}"))
                .log_content()
        );
        let e = load("[log]\ncontent = \"yes\"\n").err();
        assert_eq!(e.map(|e| e.line), Some(2));
        let e = load("[log]\nprompts = true\n").err();
        assert_eq!(e.map(|e| e.line), Some(2));
    }

    #[test]
    fn the_redis_table_is_validated_and_its_url_kept_out_of_debug() {
        let c = load("[redis]\nurl = \"redis://:hunter2@127.0.0.1:6379\"\nreplicas = 3\n")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.redis_url(), Some("redis://:hunter2@127.0.0.1:6379"));
        assert_eq!(c.replicas(), Some(3));
        assert!(!format!("{c:?}").contains("hunter2"));
        let c = load("[redis]\nurl_env = \"SET\"\n").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.redis_url(), Some("v"));
        let e = load("\n[redis]\nurl_env = \"UNSET\"\n").err();
        assert_eq!(e.map(|e| e.line), Some(2));
        let e = load("[redis]\nreplicas = 0\n").err();
        assert!(e.is_some_and(|e| e.message.contains("replicas")));
        let e = load("[redis]\nurl = \"a\"\nurl_env = \"SET\"\n").err();
        assert!(e.is_some_and(|e| e.message.contains("not both")));
    }
}
