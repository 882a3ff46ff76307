//! Non-streaming calls, two ways: through Steadfast (`call.retry(policy)`, zero waits) and the
//! floor — bare `reqwest` POSTs of the same body with a `serde_json` parse and the same
//! 429-retry loop written by hand.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use bytes::Bytes;
use serde_json::Value;
use steadfast::resilient::retryable;
use steadfast::retry::{Retry, stop, wait};
use steadfast::{Error, Resilient, llm};

use crate::workload::{CallOutcome, KEY, PROMPT};

/// The retry policy of the load: at most `max_attempts` attempts, no wait of its own (the
/// simulator's `retry-after: 0` is honoured), transient errors only.
pub fn policy(max_attempts: u32) -> Retry<Error> {
    Retry::new()
        .stop(stop::after_attempt(max_attempts))
        .wait(wait::none())
        .retry_if(retryable())
}

/// `openai:<model>` against the simulator at `sim_url`, retried by [`policy`].
///
/// # Errors
/// The target is unknown (the `openai` feature is off).
pub fn resilient(sim_url: &str, model: &str, max_attempts: u32) -> Result<Resilient> {
    let call = llm::call(("openai", model))
        .context("openai provider")?
        .base_url(format!("{sim_url}/openai/v1"))
        .api_key(KEY);
    Ok(call.retry(policy(max_attempts)))
}

/// One logical call through Steadfast; the request count is the length of the attempt history.
pub async fn library_call(r: Resilient) -> CallOutcome {
    match r.send(PROMPT).await {
        Ok(resp) => CallOutcome {
            ok: !resp.text().is_empty(),
            requests: resp.attempts().len() as u64,
        },
        Err(e) => CallOutcome {
            ok: false,
            requests: e.attempts().len() as u64,
        },
    }
}

/// The floor's client: the same settings the library's transport uses (connection pool,
/// `TCP_NODELAY`, connect timeout).
///
/// # Errors
/// The HTTP client cannot be built.
pub fn floor_client() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(90))
        .tcp_nodelay(true)
        .build()
        .context("building the floor's HTTP client")
}

/// What the floor needs for one call: client, URL and the exact body the library sends.
#[derive(Debug, Clone)]
pub struct Floor {
    /// The shared HTTP client.
    pub client: reqwest::Client,
    /// `…/openai/v1/chat/completions`.
    pub url: Arc<str>,
    /// The request body.
    pub body: Bytes,
    /// At most this many attempts.
    pub max_attempts: u32,
}

/// One logical call done by hand: POST, on 429 honour `retry-after` and try again, on success
/// parse the body with `serde_json` and read the answer.
pub async fn floor_call(f: Floor) -> CallOutcome {
    let mut requests = 0u64;
    loop {
        requests += 1;
        let last = requests >= u64::from(f.max_attempts);
        let sent = f
            .client
            .post(&*f.url)
            .header("content-type", "application/json")
            .header("authorization", AUTH)
            .body(f.body.clone())
            .send()
            .await;
        let resp = match sent {
            Ok(r) => r,
            Err(_) if !last => continue,
            Err(_) => {
                return CallOutcome {
                    ok: false,
                    requests,
                };
            }
        };
        let status = resp.status();
        if status.is_success() {
            let ok = match resp.bytes().await {
                Ok(b) => serde_json::from_slice::<Value>(&b).is_ok_and(|v| {
                    v["choices"][0]["message"]["content"]
                        .as_str()
                        .is_some_and(|s| !s.is_empty())
                }),
                Err(_) => false,
            };
            return CallOutcome { ok, requests };
        }
        let hint = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s > 0.0);
        let _ = resp.bytes().await;
        if status.as_u16() != 429 || last {
            return CallOutcome {
                ok: false,
                requests,
            };
        }
        if let Some(secs) = hint {
            tokio::time::sleep(Duration::from_secs_f64(secs.min(60.0))).await;
        }
    }
}

/// The floor's `authorization` header: [`KEY`] as a bearer token, written once.
const AUTH: &str = "Bearer sk-sim";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floor_sends_the_same_key() {
        assert_eq!(AUTH, format!("Bearer {KEY}"));
    }
}
