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
//! wait = { initial_secs = 1.0, max_secs = 30.0, jitter_secs = 1.0 }  # exponential backoff
//! retry_on = ["rate-limited", "overloaded", "server", "timeout", "connect"]   # default: transient
//! fallback_on = ["rate-limited", "overloaded", "server", "timeout", "connect"] # default: transient
//! # A stalled upstream before the stream's commit point (no first byte, no event for
//! # `idle_secs`) is a `timeout`: retried and fallen back on like any transient error.
//! timeouts = { connect_secs = 5, first_byte_secs = 30, idle_secs = 20, total_secs = 600 }
//! ```
//!
//! Without a `[[keys]]` table every request is refused (401): a deployment names its keys.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use steadfast::resilient::{self, TRANSIENT};
use steadfast::retry::{Predicate, stop, wait};
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
    #[serde(default)]
    models: BTreeMap<String, Spanned<RawModel>>,
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
    wait: Option<Spanned<RawWait>>,
    retry_on: Option<Vec<Spanned<String>>>,
    fallback_on: Option<Vec<Spanned<String>>>,
    timeouts: Option<Spanned<RawTimeouts>>,
    breaker: Option<Spanned<RawBreaker>>,
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
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWait {
    initial_secs: Option<f64>,
    max_secs: Option<f64>,
    jitter_secs: Option<f64>,
}

/// A loaded, validated config: the routes of its aliases and its inbound keys.
#[derive(Clone)]
pub struct Config {
    routes: BTreeMap<String, Route>,
    keys: InboundKeys,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("models", &self.routes.keys().collect::<Vec<_>>())
            .field("keys", &self.keys)
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
            let mut policy = resilient::default_policy()
                .stop(stop::after_attempt(attempts))
                .retry_if(retry_on);
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
            routes.insert(alias.clone(), route);
        }
        Ok(Config {
            routes,
            keys: InboundKeys::limited(keys),
        })
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

fn seconds(v: f64, name: &str) -> Result<Duration, String> {
    if !v.is_finite() || v <= 0.0 {
        return Err(format!("`{name}` must be a positive number of seconds"));
    }
    Ok(Duration::from_secs_f64(v))
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
        let v = v.unwrap_or(default);
        if !v.is_finite() || v < 0.0 {
            return Err(format!("`{name}` must be a non-negative number of seconds"));
        }
        Ok(Duration::from_secs_f64(v))
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
}
