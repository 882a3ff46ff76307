//! The shared workload: what is asked, of which model, under which fault plan, and the loop that
//! runs N logical calls at concurrency C (bounded by count and by time).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use steadfast_sim::{Action, Dialect, Rule, Scenario};
use tokio::time::Instant;

/// The model every measured call asks for (the fault plan targets it).
pub const MODEL: &str = "gpt-4o-mini";
/// The model of warm-up calls (never faulted, excluded from the figures).
pub const WARMUP_MODEL: &str = "warmup-model";
/// The prompt of every call (the same as the Python peers' benchmark).
pub const PROMPT: &str = "Recommend a fantasy book";
/// The API key sent to the simulator.
pub const KEY: &str = "sk-sim";

/// The default fault plan: `rate` of the OpenAI requests for [`MODEL`] answer 429 with
/// `retry-after: 0`, drawn from `seed` (deterministic per request number).
pub fn fault_scenario(rate: f64, seed: u64) -> Scenario {
    Scenario::new()
        .name("load: seeded 429 with retry-after 0")
        .seed(seed)
        .rule(
            Rule::new()
                .provider(Dialect::OpenAi)
                .model(MODEL)
                .probability(rate)
                .action(Action::rate_limit().retry_after_secs(0)),
        )
}

/// The outcome of one logical call: whether it succeeded, and how many HTTP requests it made
/// (by its own account).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallOutcome {
    /// Success (with a non-empty answer).
    pub ok: bool,
    /// HTTP requests the call made, as it counts them.
    pub requests: u64,
}

/// Counters of a run of logical calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Calls started.
    pub started: u64,
    /// Calls that succeeded.
    pub ok: u64,
    /// Calls that failed.
    pub failed: u64,
    /// HTTP requests the calls say they made.
    pub requests: u64,
}

/// Runs up to `n` logical calls with `concurrency` tasks, starting no new call after `max_time`.
/// Every call runs in a spawned task of the current runtime.
pub async fn drive<F, Fut>(n: u64, concurrency: usize, max_time: Duration, call: F) -> Tally
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = CallOutcome> + Send + 'static,
{
    let deadline = Instant::now() + max_time;
    let next = Arc::new(AtomicU64::new(0));
    let call = Arc::new(call);
    let mut tasks = Vec::with_capacity(concurrency);
    for _ in 0..concurrency.max(1) {
        let (next, call) = (Arc::clone(&next), Arc::clone(&call));
        tasks.push(tokio::spawn(async move {
            let mut t = Tally::default();
            while next.fetch_add(1, Ordering::Relaxed) < n && Instant::now() < deadline {
                t.started += 1;
                let o = call().await;
                if o.ok {
                    t.ok += 1;
                } else {
                    t.failed += 1;
                }
                t.requests += o.requests;
            }
            t
        }));
    }
    let mut total = Tally::default();
    for task in tasks {
        // A panicking call counts as started and failed; nothing panics on purpose.
        let t = task.await.unwrap_or(Tally {
            started: 1,
            failed: 1,
            ..Tally::default()
        });
        total.started += t.started;
        total.ok += t.ok;
        total.failed += t.failed;
        total.requests += t.requests;
    }
    total
}

/// The median of some values (the mean of the two middle ones for an even count); 0 for none.
pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&[]), 0.0);
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    }

    #[tokio::test]
    async fn drive_runs_exactly_n_calls() {
        let t = drive(100, 7, Duration::from_secs(60), || async {
            CallOutcome {
                ok: true,
                requests: 2,
            }
        })
        .await;
        assert_eq!(
            t,
            Tally {
                started: 100,
                ok: 100,
                failed: 0,
                requests: 200
            }
        );
    }
}
