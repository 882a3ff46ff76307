//! Inbound keys: which the gateway accepts (SHA-256 hashes only), and each key's limits —
//! requests per minute and requests in flight — enforced with the gateway's own 429.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};
use steadfast::ErrorKind;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::inbound::ApiError;

/// Which inbound keys the gateway accepts, and each key's limits. Keys are kept only as SHA-256
/// hashes, and never logged or echoed.
#[derive(Clone)]
pub struct InboundKeys(Keys);

#[derive(Clone)]
enum Keys {
    Any,
    Hashed(Arc<[([u8; 32], Arc<KeyState>)]>),
}

/// One key's limits: requests per minute and requests in flight (open streams count), each
/// enforced by the gateway's own 429 with `retry-after`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyLimits {
    /// A name for the access log (never the key).
    pub name: Option<String>,
    /// Requests per minute.
    pub rpm: Option<u32>,
    /// Requests in flight.
    pub concurrency: Option<u32>,
}

impl KeyLimits {
    /// Limits named `name`.
    pub fn new(name: Option<String>, rpm: Option<u32>, concurrency: Option<u32>) -> Self {
        KeyLimits {
            name,
            rpm,
            concurrency,
        }
    }
}

/// A token bucket: `rpm` tokens, refilled continuously.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

#[derive(Debug)]
struct KeyState {
    limits: KeyLimits,
    /// `limits.name`, shared with each request's access-log line.
    name: Option<Arc<str>>,
    bucket: Option<Mutex<Bucket>>,
    in_flight: Option<Arc<Semaphore>>,
}

impl KeyState {
    fn new(limits: KeyLimits) -> Self {
        KeyState {
            name: limits.name.as_deref().map(Arc::from),
            bucket: limits.rpm.map(|r| {
                Mutex::new(Bucket {
                    tokens: f64::from(r),
                    at: Instant::now(),
                })
            }),
            in_flight: limits
                .concurrency
                .map(|c| Arc::new(Semaphore::new(c as usize))),
            limits,
        }
    }

    /// Takes a token, or says how long until one is there.
    fn take(&self) -> Result<(), Duration> {
        let (Some(bucket), Some(rpm)) = (&self.bucket, self.limits.rpm) else {
            return Ok(());
        };
        let rate = f64::from(rpm) / 60.0;
        let mut b = bucket
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        let refill = now.duration_since(b.at).as_secs_f64() * rate;
        b.tokens = (b.tokens + refill).min(f64::from(rpm));
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / rate))
        }
    }
}

/// What admitting a request holds: its key's name, and its place among the key's requests in
/// flight (released when the response, or the stream, ends).
#[derive(Debug, Default)]
pub(crate) struct Admitted {
    pub(crate) name: Option<Arc<str>>,
    _permit: Option<OwnedSemaphorePermit>,
}

impl fmt::Debug for InboundKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Keys::Any => f.write_str("InboundKeys::Any"),
            Keys::Hashed(h) => write!(f, "InboundKeys::Hashed({} keys)", h.len()),
        }
    }
}

impl InboundKeys {
    /// Any non-empty key (`--sim` mode: a demo, not a deployment). A request without a key is
    /// still a 401, as the real APIs answer it.
    pub fn any() -> Self {
        InboundKeys(Keys::Any)
    }

    /// The keys whose SHA-256 hashes (64 hex digits each, as [`InboundKeys::hash`] writes them)
    /// are given, without limits.
    ///
    /// # Errors
    /// The position of the first hash that is not 64 hex digits.
    pub fn sha256_hex<I, S>(hashes: I) -> Result<Self, String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut out = Vec::new();
        for (i, h) in hashes.into_iter().enumerate() {
            let hash = parse_hex(h.as_ref())
                .ok_or_else(|| format!("inbound key hash #{} is not 64 hex digits", i + 1))?;
            out.push((hash, KeyLimits::default()));
        }
        Ok(InboundKeys::limited(out))
    }

    /// The keys with these SHA-256 hashes, each with its limits.
    pub fn limited(keys: impl IntoIterator<Item = ([u8; 32], KeyLimits)>) -> Self {
        let keys: Vec<([u8; 32], Arc<KeyState>)> = keys
            .into_iter()
            .map(|(h, l)| (h, Arc::new(KeyState::new(l))))
            .collect();
        InboundKeys(Keys::Hashed(keys.into()))
    }

    /// The SHA-256 hash of `key`, as 64 lower-case hex digits (what a config file holds).
    pub fn hash(key: &str) -> String {
        Sha256::digest(key.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Admits a request with `key`: a 401 for a key not listed, a 429 with `retry-after` when the
    /// key's limits are reached.
    pub(crate) fn admit(&self, key: &str) -> Result<Admitted, ApiError> {
        let Keys::Hashed(keys) = &self.0 else {
            return Ok(Admitted::default());
        };
        let h: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        let Some((_, state)) = keys.iter().find(|(k, _)| *k == h) else {
            return Err(
                ApiError::new(ErrorKind::Auth, "Incorrect API key provided.")
                    .code("invalid_api_key"),
            );
        };
        let limited = |message: String, wait: Duration| {
            let mut e = ApiError::new(ErrorKind::RateLimited, message).code("rate_limit_exceeded");
            e.retry_after = Some(wait);
            e
        };
        if let Err(wait) = state.take() {
            return Err(limited(
                format!(
                    "The gateway's rate limit for this key ({} requests per minute) is used up.",
                    state.limits.rpm.unwrap_or(0)
                ),
                wait,
            ));
        }
        let permit = match &state.in_flight {
            None => None,
            Some(sem) => Some(Arc::clone(sem).try_acquire_owned().map_err(|_| {
                limited(
                    format!(
                        "Too many requests in flight for this key (at most {}).",
                        state.limits.concurrency.unwrap_or(0)
                    ),
                    Duration::from_secs(1),
                )
            })?),
        };
        Ok(Admitted {
            name: state.name.clone(),
            _permit: permit,
        })
    }
}

pub(crate) fn parse_hex(s: &str) -> Option<[u8; 32]> {
    let s = s.trim();
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_keys_accept_only_their_keys() {
        let keys = InboundKeys::sha256_hex([InboundKeys::hash("sk-right")]);
        let keys = keys.unwrap_or_else(|e| panic!("{e}"));
        assert!(keys.admit("sk-right").is_ok());
        assert_eq!(keys.admit("sk-wrong").err().map(|e| e.status), Some(401));
        assert!(!format!("{keys:?}").contains("sk-right"));
        assert!(InboundKeys::sha256_hex(["abc"]).is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn per_key_rate_limits_and_concurrency() {
        let hash = |k: &str| parse_hex(&InboundKeys::hash(k)).unwrap_or([0; 32]);
        let keys = InboundKeys::limited([
            (hash("rpm"), KeyLimits::new(None, Some(2), None)),
            (
                hash("one"),
                KeyLimits::new(Some("one".into()), None, Some(1)),
            ),
        ]);
        assert!(keys.admit("rpm").is_ok());
        assert!(keys.admit("rpm").is_ok());
        let e = keys
            .admit("rpm")
            .err()
            .unwrap_or_else(|| panic!("a third request in a minute"));
        assert_eq!(e.status, 429);
        assert_eq!(e.retry_after.map(|d| d.as_secs()), Some(30));
        tokio::time::advance(Duration::from_secs(30)).await;
        assert!(keys.admit("rpm").is_ok(), "a token is back after 30 s");

        let first = keys
            .admit("one")
            .unwrap_or_else(|e| panic!("{}", e.message));
        assert_eq!(first.name.as_deref(), Some("one"));
        assert_eq!(keys.admit("one").err().map(|e| e.status), Some(429));
        drop(first);
        assert!(keys.admit("one").is_ok());
    }
}
