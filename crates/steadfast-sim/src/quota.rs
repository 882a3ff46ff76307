//! Scripted provider quotas: requests and tokens per rolling window, per API key, answered with
//! the provider's own 429 when exceeded.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::action::{ErrorSpec, FaultKind, RetryAfter};
use crate::provider::Dialect;

/// A provider quota the simulator enforces, like the real service's rate limits: at most `rpm`
/// requests and `tpm` tokens in any rolling window of `window_secs` (60 by default), counted
/// separately for each API key. Keys are told apart by the credential the request presents
/// (bearer token, `api-key`, `x-api-key`, `x-goog-api-key` or `?key=`, or the SigV4 access key
/// id); the journal never records them.
///
/// A request's tokens are the deterministic model's prompt count (whitespace words, at least 1)
/// plus its `max_tokens`, charged up front as OpenAI does. A request over the quota is not
/// counted; it gets the provider's native 429 (OpenAI's "Rate limit reached for … on requests
/// per min (RPM): Limit …, Used …, Requested …" with `type` `requests` or `tokens`, Anthropic's
/// `rate_limit_error`, Gemini's `RESOURCE_EXHAUSTED`, …) with `retry-after` (whole seconds,
/// rounded up), `retry-after-ms`, and the provider's rate-limit headers (`x-ratelimit-*` for the
/// OpenAI family, `anthropic-ratelimit-*` for Anthropic). Its journal entry's action is
/// `quota_exceeded`. Quotas are checked before the rules, so a refused request does not advance
/// any rule's request numbers.
///
/// ```
/// use steadfast_sim::{Dialect, ProviderQuota, Scenario};
/// let scenario = Scenario::new().quota(ProviderQuota::new().provider(Dialect::OpenAi).rpm(60).tpm(10_000));
/// # let _ = scenario;
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderQuota {
    /// Providers this quota applies to (empty = all, each counted on its own).
    #[serde(
        default,
        rename = "provider",
        with = "crate::scenario::one_or_many",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub providers: Vec<Dialect>,
    /// Requests per window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpm: Option<u64>,
    /// Tokens per window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpm: Option<u64>,
    /// The rolling window, in seconds (default 60).
    #[serde(default = "default_window")]
    pub window_secs: u64,
}

fn default_window() -> u64 {
    60
}

impl Default for ProviderQuota {
    fn default() -> Self {
        ProviderQuota {
            providers: Vec::new(),
            rpm: None,
            tpm: None,
            window_secs: default_window(),
        }
    }
}

impl ProviderQuota {
    /// A quota with no limit yet, over every provider, with a 60 s window.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a provider it applies to.
    #[must_use]
    pub fn provider(mut self, provider: Dialect) -> Self {
        self.providers.push(provider);
        self
    }

    /// Requests per window.
    #[must_use]
    pub fn rpm(mut self, requests: u64) -> Self {
        self.rpm = Some(requests);
        self
    }

    /// Tokens per window.
    #[must_use]
    pub fn tpm(mut self, tokens: u64) -> Self {
        self.tpm = Some(tokens);
        self
    }

    /// The rolling window (default 60 s).
    #[must_use]
    pub fn window_secs(mut self, secs: u64) -> Self {
        self.window_secs = secs;
        self
    }

    fn window(&self) -> Duration {
        Duration::from_secs(self.window_secs.max(1))
    }
}

/// Which limit a request went over, and the numbers the provider reports.
#[derive(Debug, Clone)]
pub(crate) struct Exceeded {
    tokens: bool,
    limit: u64,
    used: u64,
    requested: u64,
    retry_after: Duration,
    quota: Box<ProviderQuota>,
    remaining_requests: u64,
    remaining_tokens: u64,
    reset_requests: Duration,
    reset_tokens: Duration,
}

/// The requests admitted in one window: (when, tokens), oldest first.
type Window = VecDeque<(Instant, u64)>;

/// The live counts of a scenario's quotas (reset with the scenario).
#[derive(Debug)]
pub(crate) struct Quotas {
    specs: Vec<ProviderQuota>,
    /// Per (quota index, provider, key): admitted requests (when, tokens), oldest first.
    windows: Mutex<HashMap<(usize, Dialect, String), Window>>,
}

impl Quotas {
    pub(crate) fn new(specs: Vec<ProviderQuota>) -> Self {
        Quotas {
            specs,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a request of `tokens` by `key`, or says which quota it exceeds (counting nothing).
    pub(crate) fn admit(
        &self,
        provider: Dialect,
        key: &str,
        tokens: u64,
    ) -> Result<(), Box<Exceeded>> {
        if self.specs.is_empty() {
            return Ok(());
        }
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        let applicable: Vec<usize> = self
            .specs
            .iter()
            .enumerate()
            .filter(|(_, q)| q.providers.is_empty() || q.providers.contains(&provider))
            .map(|(i, _)| i)
            .collect();
        for &i in &applicable {
            let Some(spec) = self.specs.get(i) else {
                continue;
            };
            let log = windows.entry((i, provider, key.to_owned())).or_default();
            let window = spec.window();
            while log
                .front()
                .is_some_and(|(t, _)| now.saturating_duration_since(*t) >= window)
            {
                log.pop_front();
            }
            if let Some(e) = check(spec, log, now, tokens) {
                return Err(Box::new(e));
            }
        }
        for i in applicable {
            windows
                .entry((i, provider, key.to_owned()))
                .or_default()
                .push_back((now, tokens));
        }
        Ok(())
    }
}

/// When the entries of `log` free enough room: the time until the oldest entries whose removal
/// brings `used` down to `limit - needed` fall out of the window.
fn reset_after(
    log: &Window,
    now: Instant,
    window: Duration,
    mut used: u64,
    limit: u64,
    needed: u64,
    weight: impl Fn(u64) -> u64,
) -> Duration {
    for (t, tokens) in log {
        if used.saturating_add(needed) <= limit {
            break;
        }
        used = used.saturating_sub(weight(*tokens));
        if used.saturating_add(needed) <= limit {
            return (*t + window).saturating_duration_since(now);
        }
    }
    if used.saturating_add(needed) <= limit {
        Duration::ZERO
    } else {
        window
    }
}

fn check(spec: &ProviderQuota, log: &Window, now: Instant, tokens: u64) -> Option<Exceeded> {
    let window = spec.window();
    let requests_used = log.len() as u64;
    let tokens_used: u64 = log.iter().map(|(_, t)| *t).sum();
    let rpm = spec.rpm.unwrap_or(u64::MAX);
    let tpm = spec.tpm.unwrap_or(u64::MAX);
    let reset_requests = reset_after(log, now, window, requests_used, rpm, 1, |_| 1);
    let reset_tokens = reset_after(log, now, window, tokens_used, tpm, tokens.min(tpm), |t| t);
    let over_requests = requests_used.saturating_add(1) > rpm;
    let over_tokens = tokens_used.saturating_add(tokens) > tpm;
    if !over_requests && !over_tokens {
        return None;
    }
    let (is_tokens, limit, used, requested, retry_after) = if over_requests {
        (false, rpm, requests_used, 1, reset_requests)
    } else {
        (true, tpm, tokens_used, tokens, reset_tokens)
    };
    Some(Exceeded {
        tokens: is_tokens,
        limit,
        used,
        requested,
        retry_after,
        quota: Box::new(spec.clone()),
        remaining_requests: rpm.saturating_sub(requests_used),
        remaining_tokens: tpm.saturating_sub(tokens_used),
        reset_requests,
        reset_tokens,
    })
}

/// A duration the way OpenAI's reset headers write it (Go's `time.Duration`): `12ms`, `1.5s`,
/// `6m0s`.
pub(crate) fn go_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        let s = format!("{secs:.3}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        return format!("{s}s");
    }
    let whole = d.as_secs();
    format!("{}m{}s", whole / 60, whole % 60)
}

impl Exceeded {
    /// The provider's 429 for it.
    pub(crate) fn spec(&self, provider: Dialect, model: &str) -> ErrorSpec {
        let mut spec = ErrorSpec::new(FaultKind::RateLimit);
        let secs = self.retry_after.as_secs() + u64::from(self.retry_after.subsec_nanos() > 0);
        spec.retry_after = Some(RetryAfter::Seconds(secs.max(1) as f64));
        spec.retry_after_ms = Some(u64::try_from(self.retry_after.as_millis()).unwrap_or(u64::MAX));
        let per = if self.quota.window_secs == 60 {
            "min".to_owned()
        } else {
            format!("{}s", self.quota.window_secs)
        };
        let rpm = self.quota.rpm.map(|v| v.to_string());
        let tpm = self.quota.tpm.map(|v| v.to_string());
        match provider {
            Dialect::Anthropic => {
                let at = |d: Duration| httpdate_rfc3339(std::time::SystemTime::now() + d);
                let mut h = |name: &str, value: String| {
                    spec.headers
                        .push((format!("anthropic-ratelimit-{name}"), value));
                };
                if let Some(limit) = rpm {
                    h("requests-limit", limit);
                    h("requests-remaining", self.remaining_requests.to_string());
                    h("requests-reset", at(self.reset_requests));
                }
                if let Some(limit) = tpm {
                    h("tokens-limit", limit);
                    h("tokens-remaining", self.remaining_tokens.to_string());
                    h("tokens-reset", at(self.reset_tokens));
                }
                let what = if self.tokens { "tokens" } else { "requests" };
                spec.message = Some(format!(
                    "This request would exceed your organization's rate limit of {} {what} per {per} (org: sim, model: {model}). For details, refer to: https://docs.claude.com/en/api/rate-limits. You can see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later. You may also contact sales at https://www.anthropic.com/contact-sales to discuss your options for a rate limit increase.",
                    self.limit
                ));
            }
            Dialect::OpenAi
            | Dialect::Groq
            | Dialect::Xai
            | Dialect::LiteLlm
            | Dialect::Mistral => {
                let mut h = |name: &str, value: String| {
                    spec.headers.push((format!("x-ratelimit-{name}"), value));
                };
                if let Some(limit) = rpm {
                    h("limit-requests", limit);
                    h("remaining-requests", self.remaining_requests.to_string());
                    h("reset-requests", go_duration(self.reset_requests));
                }
                if let Some(limit) = tpm {
                    h("limit-tokens", limit);
                    h("remaining-tokens", self.remaining_tokens.to_string());
                    h("reset-tokens", go_duration(self.reset_tokens));
                }
                if matches!(provider, Dialect::OpenAi | Dialect::Groq) {
                    let (kind, unit) = if self.tokens {
                        ("tokens", "TPM")
                    } else {
                        ("requests", "RPM")
                    };
                    spec.error_type = Some(kind);
                    spec.message = Some(format!(
                        "Rate limit reached for {model} in organization org-sim on {kind} per {per} ({unit}): Limit {}, Used {}, Requested {}. Please try again in {}. Visit https://platform.openai.com/account/rate-limits to learn more.",
                        self.limit,
                        self.used,
                        self.requested,
                        go_duration(self.retry_after)
                    ));
                }
            }
            _ => {}
        }
        spec
    }
}

/// RFC 3339 in UTC with whole seconds (`2026-02-25T20:02:37Z`), as Anthropic's reset headers.
fn httpdate_rfc3339(t: std::time::SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if mo <= 2 { y + 1 } else { y };
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_rolling_window_per_key() {
        let q = Quotas::new(vec![ProviderQuota::new().rpm(2).tpm(100)]);
        assert!(q.admit(Dialect::OpenAi, "a", 10).is_ok());
        tokio::time::sleep(Duration::from_secs(20)).await;
        assert!(q.admit(Dialect::OpenAi, "a", 10).is_ok());
        let e = q.admit(Dialect::OpenAi, "a", 10).unwrap_err();
        assert!(!e.tokens);
        assert_eq!((e.limit, e.used, e.requested), (2, 2, 1));
        assert_eq!(
            e.retry_after,
            Duration::from_secs(40),
            "the first one leaves the window"
        );
        // Another key, another provider: their own windows.
        assert!(q.admit(Dialect::OpenAi, "b", 10).is_ok());
        assert!(q.admit(Dialect::Anthropic, "a", 10).is_ok());
        tokio::time::sleep(Duration::from_secs(40)).await;
        assert!(
            q.admit(Dialect::OpenAi, "a", 10).is_ok(),
            "the first left the window"
        );

        let q = Quotas::new(vec![ProviderQuota::new().tpm(100)]);
        assert!(q.admit(Dialect::OpenAi, "a", 10).is_ok());
        tokio::time::sleep(Duration::from_secs(40)).await;
        assert!(q.admit(Dialect::OpenAi, "a", 10).is_ok());
        // 20 used; 85 more fit only once the first 10 leave the window, 20 s from now.
        let e = q.admit(Dialect::OpenAi, "a", 85).unwrap_err();
        assert!(e.tokens);
        assert_eq!((e.limit, e.used, e.requested), (100, 20, 85));
        assert_eq!(e.retry_after, Duration::from_secs(20));
    }

    #[test]
    fn formats_match_the_providers() {
        assert_eq!(go_duration(Duration::from_millis(12)), "12ms");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(go_duration(Duration::from_secs(7)), "7s");
        assert_eq!(go_duration(Duration::from_secs(360)), "6m0s");
        let t = std::time::UNIX_EPOCH + Duration::from_secs(1_772_049_757);
        assert_eq!(httpdate_rfc3339(t), "2026-02-25T20:02:37Z");
    }
}
