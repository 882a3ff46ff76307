//! [`Quota`] (the limits), its builder, and [`QuotaScope`] (whose limits they are).

use std::fmt;
use std::sync::Arc;

/// Microseconds in one minute: every limit here is "per minute".
pub(crate) const MINUTE_US: u64 = 60_000_000;

/// The highest requests-per-minute a [`Quota`] accepts (about 16 700 a second).
pub const MAX_REQUESTS_PER_MINUTE: u64 = 1_000_000;

/// The highest tokens-per-minute a [`Quota`] accepts.
///
/// The bound keeps every quantity the Redis script handles below 2^53, where Lua's numbers (IEEE
/// doubles) are still exact integers.
pub const MAX_TOKENS_PER_MINUTE: u64 = 100_000_000;

/// Client-side rate limits for one [`QuotaScope`]: requests per minute, tokens per minute, or
/// both, each with a burst allowance.
///
/// Built with [`Quota::builder`], which validates every value:
///
/// ```
/// use steadfast::quota::Quota;
///
/// let quota = Quota::builder()
///     .requests_per_minute(500)
///     .tokens_per_minute(200_000)
///     .burst(10)
///     .build()?;
/// assert_eq!(quota.requests_per_minute(), Some(500));
/// assert_eq!(quota.burst(), 10);
/// assert!(Quota::builder().requests_per_minute(0).build().is_err());
/// # Ok::<(), steadfast::quota::InvalidQuota>(())
/// ```
///
/// # Burst
///
/// `burst` is how many requests may go at once, from idle, before the steady spacing of
/// `60 s / rpm` applies. The default is one second's worth of requests, `ceil(rpm / 60)`, at least
/// 1. In any rolling minute at most `rpm + burst - 1` requests are admitted.
///
/// The token limit has its own allowance, [`token_burst`](QuotaBuilder::token_burst), in tokens;
/// the default is the whole minute's tokens (`tpm`), because a single request may need that many
/// and a smaller allowance would refuse it forever. A request whose estimated cost exceeds the
/// token allowance is refused at once ([`Refusal::TooLarge`](crate::quota::Refusal::TooLarge)),
/// never left waiting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Quota {
    rpm: Option<u64>,
    tpm: Option<u64>,
    burst: u64,
    token_burst: u64,
}

/// Builder for [`Quota`]; see [`Quota::builder`].
#[derive(Clone, Copy, Debug, Default)]
#[must_use = "call `.build()` to get the quota"]
pub struct QuotaBuilder {
    rpm: Option<u64>,
    tpm: Option<u64>,
    burst: Option<u64>,
    token_burst: Option<u64>,
}

/// A [`Quota`] or [`QuotaScope`] that cannot be built, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidQuota {
    /// Neither requests per minute nor tokens per minute was set.
    #[error("a quota needs requests per minute, tokens per minute, or both")]
    NoLimit,
    /// A rate or allowance is zero.
    #[error("{what} must be at least 1")]
    Zero {
        /// Which value.
        what: &'static str,
    },
    /// A value is above its bound.
    #[error("{what} is {value}, above the highest accepted value {max}")]
    TooLarge {
        /// Which value.
        what: &'static str,
        /// The value given.
        value: u64,
        /// The bound.
        max: u64,
    },
    /// A burst was set for a limit that was not.
    #[error("{what} was set without the limit it belongs to")]
    Orphan {
        /// Which value.
        what: &'static str,
    },
    /// A scope part is empty, too long, or looks like a credential.
    #[error("quota scope {part}: {reason}")]
    Scope {
        /// Which part: `provider`, `account` or `model`.
        part: &'static str,
        /// What is wrong with it (never the value itself, which might be a secret).
        reason: &'static str,
    },
}

impl Quota {
    /// A builder with nothing set; set at least one of the two limits.
    pub fn builder() -> QuotaBuilder {
        QuotaBuilder::default()
    }

    /// Requests per minute, if limited.
    pub fn requests_per_minute(&self) -> Option<u64> {
        self.rpm
    }

    /// Tokens per minute, if limited.
    pub fn tokens_per_minute(&self) -> Option<u64> {
        self.tpm
    }

    /// How many requests may go at once (see [Burst](Quota#burst)); 0 without a request limit.
    pub fn burst(&self) -> u64 {
        self.burst
    }

    /// How many tokens may go at once (see [Burst](Quota#burst)); 0 without a token limit.
    pub fn token_burst(&self) -> u64 {
        self.token_burst
    }

    /// This quota shared by `processes` processes that cannot coordinate: each rate (and the
    /// request burst) divided by `processes`, rounded down, at least 1. The token allowance is
    /// kept whole, so a request the full quota admits is still admissible (it waits longer).
    ///
    /// What the Redis store's local degrade mode uses when Redis is gone.
    #[must_use]
    pub fn divided(&self, processes: u32) -> Quota {
        let n = u64::from(processes.max(1));
        let div = |v: u64| (v / n).max(1);
        Quota {
            rpm: self.rpm.map(div),
            tpm: self.tpm.map(div),
            burst: if self.rpm.is_some() {
                div(self.burst)
            } else {
                0
            },
            token_burst: self.token_burst,
        }
    }

    /// The GCRA parameters of the request limit: (microseconds one request adds, the allowed
    /// lead). `None` without a request limit.
    pub(crate) fn request_limit(&self) -> Option<(u64, u64)> {
        let rpm = self.rpm?;
        let interval = MINUTE_US.div_ceil(rpm);
        Some((interval, interval.saturating_mul(self.burst)))
    }

    /// The GCRA parameters of the token limit for a request of `cost` tokens: (microseconds it
    /// adds, the allowed lead). `None` without a token limit.
    pub(crate) fn token_limit(&self, cost: u64) -> Option<(u64, u64)> {
        let tpm = self.tpm?;
        Some((token_time(cost, tpm), token_time(self.token_burst, tpm)))
    }
}

/// `ceil(tokens × 60 s / tpm)` in microseconds, saturating.
pub(crate) fn token_time(tokens: u64, tpm: u64) -> u64 {
    let us = u128::from(tokens) * u128::from(MINUTE_US);
    u64::try_from(us.div_ceil(u128::from(tpm.max(1)))).unwrap_or(u64::MAX)
}

impl QuotaBuilder {
    /// Requests per minute (1 to [`MAX_REQUESTS_PER_MINUTE`]).
    pub fn requests_per_minute(mut self, rpm: u64) -> Self {
        self.rpm = Some(rpm);
        self
    }

    /// Tokens per minute (1 to [`MAX_TOKENS_PER_MINUTE`]).
    pub fn tokens_per_minute(mut self, tpm: u64) -> Self {
        self.tpm = Some(tpm);
        self
    }

    /// How many requests may go at once (1 to [`MAX_REQUESTS_PER_MINUTE`]); default one
    /// second's worth, see [Burst](Quota#burst).
    pub fn burst(mut self, requests: u64) -> Self {
        self.burst = Some(requests);
        self
    }

    /// How many tokens may go at once (1 to [`MAX_TOKENS_PER_MINUTE`]); default the tokens per
    /// minute, see [Burst](Quota#burst).
    pub fn token_burst(mut self, tokens: u64) -> Self {
        self.token_burst = Some(tokens);
        self
    }

    /// Validates and builds.
    ///
    /// # Errors
    ///
    /// [`InvalidQuota`] when no limit is set, a value is zero or above its bound, or a burst is
    /// set without its limit.
    pub fn build(self) -> Result<Quota, InvalidQuota> {
        if self.rpm.is_none() && self.tpm.is_none() {
            return Err(InvalidQuota::NoLimit);
        }
        let check = |what, value: u64, max: u64| match value {
            0 => Err(InvalidQuota::Zero { what }),
            v if v > max => Err(InvalidQuota::TooLarge { what, value, max }),
            _ => Ok(value),
        };
        let rpm = self
            .rpm
            .map(|v| check("requests per minute", v, MAX_REQUESTS_PER_MINUTE))
            .transpose()?;
        let tpm = self
            .tpm
            .map(|v| check("tokens per minute", v, MAX_TOKENS_PER_MINUTE))
            .transpose()?;
        let burst = match (rpm, self.burst) {
            (Some(_), Some(b)) => check("burst", b, MAX_REQUESTS_PER_MINUTE)?,
            (Some(rpm), None) => rpm.div_ceil(60),
            (None, Some(_)) => return Err(InvalidQuota::Orphan { what: "burst" }),
            (None, None) => 0,
        };
        let token_burst = match (tpm, self.token_burst) {
            (Some(_), Some(b)) => check("token burst", b, MAX_TOKENS_PER_MINUTE)?,
            (Some(tpm), None) => tpm,
            (None, Some(_)) => {
                return Err(InvalidQuota::Orphan {
                    what: "token burst",
                });
            }
            (None, None) => 0,
        };
        Ok(Quota {
            rpm,
            tpm,
            burst,
            token_burst,
        })
    }
}

/// Whose quota: a provider, an account label and a model.
///
/// The account label is a name **you** give the credentials (`"prod-org"`, `"team-a"`), never the
/// API key itself: the scope is printed in `Debug`, in tracing events and, with the Redis store,
/// written into Redis key names that anyone with access to the Redis instance can list. A key
/// there would leak it, and hashing it would not help much (a key's hash identifies it, and
/// rotating the key would silently start a fresh quota). Labels that look like a key (`sk-…`,
/// `gsk_…`, `AIza…`, `xai-…`, `Bearer …`) are refused.
///
/// ```
/// use steadfast::quota::QuotaScope;
///
/// let scope = QuotaScope::new("openai", "prod-org", "gpt-4o-mini")?;
/// assert_eq!(scope.account(), "prod-org");
/// assert!(QuotaScope::new("openai", "sk-proj-abc123", "gpt-4o-mini").is_err());
/// # Ok::<(), steadfast::quota::InvalidQuota>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct QuotaScope {
    provider: Arc<str>,
    account: Arc<str>,
    model: Arc<str>,
}

/// The longest accepted scope part, in bytes.
const MAX_SCOPE_PART: usize = 128;

const KEY_PREFIXES: &[&str] = &[
    "sk-", "sk_", "gsk_", "xai-", "aiza", "bearer ", "ghp_", "pk-", "akia",
];

fn scope_part(part: &'static str, value: &str) -> Result<Arc<str>, InvalidQuota> {
    let reason = if value.is_empty() {
        Some("is empty")
    } else if value.len() > MAX_SCOPE_PART {
        Some("is longer than 128 bytes")
    } else if value.chars().any(char::is_control) {
        Some("contains a control character")
    } else if part == "account" && {
        let lower = value.to_ascii_lowercase();
        KEY_PREFIXES.iter().any(|p| lower.starts_with(p))
    } {
        Some("looks like an API key; give the credentials a name instead")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(InvalidQuota::Scope { part, reason }),
        None => Ok(Arc::from(value)),
    }
}

impl QuotaScope {
    /// A scope. Each part must be 1 to 128 bytes without control characters; the account label
    /// must not look like an API key (see the type's docs).
    ///
    /// # Errors
    ///
    /// [`InvalidQuota::Scope`] naming the part (never echoing its value).
    pub fn new(provider: &str, account: &str, model: &str) -> Result<QuotaScope, InvalidQuota> {
        Ok(QuotaScope {
            provider: scope_part("provider", provider)?,
            account: scope_part("account", account)?,
            model: scope_part("model", model)?,
        })
    }

    /// The provider name.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// The account label.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The model.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The scope as one string safe in a Redis key or a metric label: each part percent-encoded
    /// outside `[A-Za-z0-9._~-]`, joined with `/`, so no two scopes share it and it holds no `{`,
    /// `}` or `:` (`"openai/prod%20org/gpt-4o"`).
    pub fn encoded(&self) -> String {
        let mut out =
            String::with_capacity(self.provider.len() + self.account.len() + self.model.len() + 2);
        for (i, part) in [&self.provider, &self.account, &self.model]
            .into_iter()
            .enumerate()
        {
            if i > 0 {
                out.push('/');
            }
            for b in part.bytes() {
                if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'-') {
                    out.push(char::from(b));
                } else {
                    out.push('%');
                    out.push(char::from(HEX[usize::from(b >> 4)]));
                    out.push(char::from(HEX[usize::from(b & 0xf)]));
                }
            }
        }
        out
    }
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

impl fmt::Debug for QuotaScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only labels live here (the constructor refuses key-like account labels).
        write!(
            f,
            "QuotaScope({}/{}/{})",
            self.provider, self.account, self.model
        )
    }
}

impl fmt::Display for QuotaScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.provider, self.account, self.model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_validates_every_value() {
        assert_eq!(Quota::builder().build(), Err(InvalidQuota::NoLimit));
        assert!(matches!(
            Quota::builder().requests_per_minute(0).build(),
            Err(InvalidQuota::Zero { .. })
        ));
        assert!(matches!(
            Quota::builder()
                .tokens_per_minute(MAX_TOKENS_PER_MINUTE + 1)
                .build(),
            Err(InvalidQuota::TooLarge { .. })
        ));
        assert!(matches!(
            Quota::builder()
                .requests_per_minute(10)
                .burst(MAX_REQUESTS_PER_MINUTE + 1)
                .build(),
            Err(InvalidQuota::TooLarge { .. })
        ));
        assert!(matches!(
            Quota::builder().tokens_per_minute(10).burst(1).build(),
            Err(InvalidQuota::Orphan { .. })
        ));
        assert!(matches!(
            Quota::builder()
                .requests_per_minute(10)
                .token_burst(1)
                .build(),
            Err(InvalidQuota::Orphan { .. })
        ));
        let q = Quota::builder().requests_per_minute(600).build().unwrap();
        assert_eq!((q.burst(), q.tokens_per_minute()), (10, None));
        let q = Quota::builder().requests_per_minute(5).build().unwrap();
        assert_eq!(q.burst(), 1, "at least one request");
        let q = Quota::builder().tokens_per_minute(9000).build().unwrap();
        assert_eq!(q.token_burst(), 9000);
    }

    #[test]
    fn gcra_parameters() {
        let q = Quota::builder()
            .requests_per_minute(7)
            .burst(3)
            .tokens_per_minute(90_000)
            .build()
            .unwrap();
        // 60 s / 7 = 8 571 428.57… µs, rounded up (the rate rounds down by under 1 µs a request).
        assert_eq!(q.request_limit(), Some((8_571_429, 3 * 8_571_429)));
        // 1 000 tokens at 90 000 a minute: 666 666.67 µs, rounded up.
        assert_eq!(q.token_limit(1000), Some((666_667, 60_000_000)));
    }

    #[test]
    fn divided_keeps_every_request_admissible() {
        let q = Quota::builder()
            .requests_per_minute(100)
            .burst(8)
            .tokens_per_minute(10_000)
            .build()
            .unwrap();
        let d = q.divided(4);
        assert_eq!(d.requests_per_minute(), Some(25));
        assert_eq!(d.burst(), 2);
        assert_eq!(d.tokens_per_minute(), Some(2500));
        assert_eq!(d.token_burst(), 10_000);
        let tiny = Quota::builder().requests_per_minute(3).build().unwrap();
        assert_eq!(tiny.divided(10).requests_per_minute(), Some(1));
        assert_eq!(tiny.divided(0), tiny.divided(1));
    }

    #[test]
    fn scopes_refuse_keys_and_never_echo_them() {
        let err = QuotaScope::new("openai", "sk-proj-SECRET", "m").unwrap_err();
        assert!(!err.to_string().contains("SECRET"), "{err}");
        assert!(QuotaScope::new("anthropic", "Bearer abc", "m").is_err());
        assert!(QuotaScope::new("", "a", "m").is_err());
        assert!(QuotaScope::new("p", "a\n", "m").is_err());
        let scope = QuotaScope::new("openai", "prod org", "gpt-4o").unwrap();
        assert_eq!(format!("{scope:?}"), "QuotaScope(openai/prod org/gpt-4o)");
        assert_eq!(scope.encoded(), "openai/prod%20org/gpt-4o");
        let tricky = QuotaScope::new("a}b", "{c:d}", "m/1").unwrap();
        assert_eq!(tricky.encoded(), "a%7Db/%7Bc%3Ad%7D/m%2F1");
    }
}
