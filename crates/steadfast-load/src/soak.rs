//! Soak: thousands of concurrent logical calls (sends and streams) under ~30% mixed faults,
//! through retry + fallback + per-target circuit breakers, for a bounded time. Every call must
//! end in exactly one success or one typed error, and the attempt histories must add up to the
//! requests the simulator journaled; task, file-descriptor and memory figures are sampled
//! throughout.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use steadfast::resilient::{self, Breakers, TRANSIENT, kinds, retryable};
use steadfast::retry::{CircuitBreaker, Retry, stop, wait};
use steadfast::{Error, Resilient, Timeouts, llm};
use steadfast_sim::{Action, FaultKind, Rule, Scenario};
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::procstat;
use crate::workload::{KEY, PROMPT};

/// How a soak runs.
#[derive(Debug, Clone, PartialEq)]
pub struct SoakConfig {
    /// Start no new call after this long.
    pub duration: Duration,
    /// At most this many logical calls (`None`: as many as fit in `duration`).
    pub max_calls: Option<u64>,
    /// Logical calls in flight at once.
    pub concurrency: usize,
    /// Share of calls that stream (the rest are plain sends).
    pub stream_share: f64,
    /// Attempts per target (the retry policy's stop).
    pub max_attempts: u32,
    /// First-byte timeout of every attempt; the scenario's "too slow" fault exceeds it.
    pub first_byte_timeout: Duration,
    /// How often resources are sampled.
    pub sample_every: Duration,
    /// How long to wait for calls in flight after the last one started.
    pub grace: Duration,
    /// Whether some streams are cut after their first content event (an error that reaches the
    /// caller as `StreamInterrupted`).
    pub post_commit_cuts: bool,
    /// Seed of the fault plan.
    pub seed: u64,
    /// After every call ended, wait this long (e.g. past the connection pool's 90 s idle
    /// timeout) and take one more sample.
    pub linger: Duration,
}

impl Default for SoakConfig {
    fn default() -> Self {
        SoakConfig {
            duration: Duration::from_secs(60),
            max_calls: None,
            concurrency: 2_000,
            stream_share: 0.5,
            max_attempts: 4,
            first_byte_timeout: Duration::from_secs(2),
            sample_every: Duration::from_secs(5),
            grace: Duration::from_secs(60),
            post_commit_cuts: true,
            seed: 1,
            linger: Duration::ZERO,
        }
    }
}

/// The fault mix, in rule order (the first matching rule decides; each draws its own seeded
/// probability among the requests passing its filters). About 25% of plain requests and 32% of
/// streamed ones are faulted.
pub const FAULTS: [&str; 10] = [
    "429, retry-after: 0",
    "429, retry-after-ms: 1",
    "overloaded (Anthropic 529, OpenAI 503)",
    "500",
    "connection reset",
    "stream cut before the first content event",
    "stream cut after content (reaches the caller)",
    "in-band overloaded error as the first event",
    "slow first byte (150 ms)",
    "first byte later than the client's timeout",
];

/// The soak's scenario, for every provider; the client's first-byte timeout sets the "too slow"
/// delay.
pub fn soak_scenario(cfg: &SoakConfig) -> Scenario {
    let too_slow = u64::try_from(cfg.first_byte_timeout.as_millis())
        .unwrap_or(u64::MAX / 2)
        .saturating_add(500);
    Scenario::new()
        .name("soak: ~30% mixed faults")
        .seed(cfg.seed)
        .rule(
            Rule::new()
                .probability(0.09)
                .action(Action::rate_limit().retry_after_secs(0)),
        )
        .rule(
            Rule::new()
                .probability(0.02)
                .action(Action::rate_limit().retry_after_ms(1)),
        )
        .rule(Rule::new().probability(0.06).action(Action::overloaded()))
        .rule(Rule::new().probability(0.04).action(Action::server_error()))
        .rule(Rule::new().probability(0.03).action(Action::reset()))
        .rule(
            Rule::new()
                .stream(true)
                .probability(0.04)
                .action(Action::model().cut_after(1)),
        )
        .rule(
            Rule::new()
                .stream(true)
                .probability(if cfg.post_commit_cuts { 0.02 } else { 0.0 })
                .action(Action::model().cut_after(4)),
        )
        .rule(
            Rule::new()
                .stream(true)
                .probability(0.04)
                .action(Action::model().error_after(1, FaultKind::Overloaded)),
        )
        .rule(
            Rule::new()
                .probability(0.03)
                .action(Action::model().delay_ms(150)),
        )
        .rule(
            Rule::new()
                .probability(0.005)
                .action(Action::model().delay_ms(too_slow)),
        )
}

/// One resource sample.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sample {
    /// Seconds since the start.
    pub t_s: f64,
    /// Resident memory, bytes.
    pub rss: u64,
    /// Open file descriptors.
    pub fds: u64,
    /// OS threads.
    pub threads: u64,
    /// Tasks alive in the runtime.
    pub tasks: u64,
    /// Logical calls in flight.
    pub in_flight: u64,
    /// Logical calls finished so far.
    pub finished: u64,
}

/// What a soak saw.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SoakReport {
    /// Logical calls started.
    pub started: u64,
    /// Calls that ended in a success.
    pub ok: u64,
    /// Calls that ended in an error, by kind.
    pub errors: BTreeMap<String, u64>,
    /// Calls that had not ended when the grace period ran out.
    pub lost: u64,
    /// Sum of the attempt histories (`Response::attempts` / `Error::attempts`).
    pub attempts: u64,
    /// The same, by provider.
    pub attempts_by_provider: BTreeMap<String, u64>,
    /// Errors whose history is empty, by kind and status (each made at least one request, unless
    /// every target's circuit was open).
    pub empty_history: BTreeMap<String, u64>,
    /// Calls that fell back to a backup target and succeeded there.
    pub fell_back: u64,
    /// Resource samples, the last one taken after every call ended.
    pub samples: Vec<Sample>,
    /// Wall time until the last call ended.
    pub wall: Duration,
    /// Client CPU over the run (all threads).
    pub cpu: Duration,
}

impl SoakReport {
    /// Calls that ended in an error.
    pub fn failed(&self) -> u64 {
        self.errors.values().sum()
    }
}

#[derive(Debug, Default)]
struct Acc {
    ok: u64,
    errors: BTreeMap<String, u64>,
    attempts: u64,
    attempts_by_provider: BTreeMap<String, u64>,
    empty_history: BTreeMap<String, u64>,
    fell_back: u64,
}

impl Acc {
    fn count(&mut self, attempts: &[steadfast::AttemptSummary]) {
        self.attempts += attempts.len() as u64;
        for a in attempts {
            *self
                .attempts_by_provider
                .entry(a.provider.to_string())
                .or_default() += 1;
        }
    }
}

/// The resilient call of the soak: OpenAI, falling back to Anthropic then Mistral on transient
/// errors, each target retried by its own policy run and guarded by its circuit breaker.
///
/// # Errors
/// A provider is not compiled in, or the breaker configuration is invalid.
pub fn soak_call(sim_url: &str, cfg: &SoakConfig) -> Result<Resilient> {
    let timeouts = Timeouts::default().first_byte(cfg.first_byte_timeout);
    let primary = llm::call("openai:gpt-4o-mini")?
        .base_url(format!("{sim_url}/openai/v1"))
        .api_key(KEY)
        .timeouts(timeouts);
    let backup = primary
        .with_target("anthropic:claude-3-5-haiku-latest")?
        .base_url(format!("{sim_url}/anthropic"))
        .api_key(KEY)
        .timeouts(timeouts);
    let last = primary
        .with_target("mistral:mistral-small-latest")?
        .base_url(format!("{sim_url}/mistral"))
        .api_key(KEY)
        .timeouts(timeouts);
    let breakers = Breakers::new(
        CircuitBreaker::builder()
            .window(50)
            .min_calls(20)
            .failure_rate(0.5)
            .cooldown(Duration::from_secs(1)),
    )
    .context("circuit breaker configuration")?;
    let chain = resilient::fallback(kinds(TRANSIENT))
        .backup(backup, kinds(TRANSIENT))
        .backup(last, kinds(TRANSIENT))
        .breaker(breakers.lookup());
    let policy: Retry<Error> = Retry::new()
        .stop(stop::after_attempt(cfg.max_attempts))
        .wait(wait::none())
        .retry_if(retryable());
    Ok(primary.retry(policy).fallback(chain))
}

/// Whether call number `i` streams (a fixed, well-mixed choice).
fn streams(i: u64, share: f64) -> bool {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    ((z >> 11) as f64 / (1u64 << 53) as f64) < share
}

fn sample(t0: Instant, in_flight: &AtomicU64, finished: &AtomicU64) -> Sample {
    Sample {
        t_s: t0.elapsed().as_secs_f64(),
        rss: procstat::rss_bytes(),
        fds: procstat::open_fds(),
        threads: procstat::threads(),
        tasks: tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks() as u64,
        in_flight: in_flight.load(Ordering::Relaxed),
        finished: finished.load(Ordering::Relaxed),
    }
}

/// Runs the soak against the simulator at `sim_url` (scenario set and journal reset by the
/// caller) in the current multi-thread runtime.
///
/// # Errors
/// The resilient call cannot be built.
pub async fn run(sim_url: &str, cfg: &SoakConfig) -> Result<SoakReport> {
    crate::sim::check_loopback(sim_url)?;
    let resilient = soak_call(sim_url, cfg)?;
    let acc = Arc::new(Mutex::new(Acc::default()));
    let in_flight = Arc::new(AtomicU64::new(0));
    let finished = Arc::new(AtomicU64::new(0));
    let permits = Arc::new(Semaphore::new(cfg.concurrency.max(1)));
    let t0 = Instant::now();
    let cpu0 = procstat::CpuSnapshot::now();
    let deadline = t0 + cfg.duration;

    let samples = Arc::new(Mutex::new(vec![sample(t0, &in_flight, &finished)]));
    let sampler = {
        let (samples, in_flight, finished) = (
            Arc::clone(&samples),
            Arc::clone(&in_flight),
            Arc::clone(&finished),
        );
        let every = cfg.sample_every;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(t0 + every, every);
            loop {
                tick.tick().await;
                let s = sample(t0, &in_flight, &finished);
                samples
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(s);
            }
        })
    };

    let mut started = 0u64;
    while Instant::now() < deadline && cfg.max_calls.is_none_or(|m| started < m) {
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            break;
        };
        let stream = streams(started, cfg.stream_share);
        started += 1;
        in_flight.fetch_add(1, Ordering::Relaxed);
        let (r, acc, in_flight, finished) = (
            resilient.clone(),
            Arc::clone(&acc),
            Arc::clone(&in_flight),
            Arc::clone(&finished),
        );
        tokio::spawn(async move {
            let result = if stream {
                r.stream(PROMPT).into_response().await
            } else {
                r.send(PROMPT).await
            };
            {
                let mut a = acc
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                match result {
                    Ok(resp) => {
                        a.ok += 1;
                        a.count(resp.attempts());
                        if !resp.caught().is_empty() {
                            a.fell_back += 1;
                        }
                    }
                    Err(e) => {
                        *a.errors.entry(e.kind().as_str().to_owned()).or_default() += 1;
                        a.count(e.attempts());
                        if e.attempts().is_empty() {
                            let key = format!(
                                "{} (status {})",
                                e.kind().as_str(),
                                e.status().map_or_else(|| "-".to_owned(), |s| s.to_string())
                            );
                            *a.empty_history.entry(key).or_default() += 1;
                        }
                    }
                }
            }
            in_flight.fetch_sub(1, Ordering::Relaxed);
            finished.fetch_add(1, Ordering::Relaxed);
            drop(permit);
        });
    }
    // Every permit back means every call ended.
    let all = u32::try_from(cfg.concurrency.max(1)).unwrap_or(u32::MAX);
    let drained = tokio::time::timeout(cfg.grace, permits.acquire_many(all)).await;
    let wall = t0.elapsed();
    let cpu = procstat::CpuSnapshot::now().since(&cpu0);
    sampler.abort();
    let _ = sampler.await;
    // Let the aborted sampler and finished tasks leave the runtime before the last sample.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let last = sample(t0, &in_flight, &finished);
    let mut samples = std::mem::take(
        &mut *samples
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    samples.push(last);
    if !cfg.linger.is_zero() {
        tokio::time::sleep(cfg.linger).await;
        samples.push(sample(t0, &in_flight, &finished));
    }
    let lost = if drained.is_ok() {
        0
    } else {
        in_flight.load(Ordering::Relaxed)
    };
    let a = std::mem::take(
        &mut *acc
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    Ok(SoakReport {
        started,
        ok: a.ok,
        errors: a.errors,
        lost,
        attempts: a.attempts,
        attempts_by_provider: a.attempts_by_provider,
        empty_history: a.empty_history,
        fell_back: a.fell_back,
        samples,
        wall,
        cpu,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_share_is_respected() {
        let n = 10_000;
        let s = (0..n).filter(|i| streams(*i, 0.5)).count();
        assert!((4_500..5_500).contains(&s), "{s}");
        assert_eq!((0..n).filter(|i| streams(*i, 0.0)).count(), 0);
    }

    #[test]
    fn scenario_has_one_rule_per_fault() {
        let s = soak_scenario(&SoakConfig::default());
        assert_eq!(s.rules.len(), FAULTS.len());
    }
}
