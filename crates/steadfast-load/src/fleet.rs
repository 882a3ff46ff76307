//! `steadfast-load fleet`: N client **processes** sharing one simulated provider quota.
//!
//! The simulator enforces a provider quota of R requests per rolling minute (its native 429s with
//! `retry-after`). N worker processes, each running C concurrent calls in a closed loop for the
//! run's duration through `call.quota(limiter).retry(default_policy())`, share a client quota of
//! R requests a minute through one of:
//!
//! - `redis`: one [`RedisStore`](steadfast::quota::RedisStore) (a `redis-server` this harness
//!   starts, or `--redis URL`), degrading to `R ÷ N` locally while Redis is unreachable;
//! - `in-process`: a store per process, each believing it has the whole quota (the storm);
//! - `none`: no client quota at all.
//!
//! It reports what the simulator's journal says (requests, 429s, the most requests accepted in
//! any rolling minute), what the clients say (calls, errors by kind, attempts, admission waits),
//! and checks the accounting: the attempts the clients recorded equal the requests journaled.
//! `--chaos kill|stop|restart` takes the harness's Redis away in the middle of the run (SIGKILL,
//! SIGSTOP, or a restart that loses the scripts) and brings it back.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use steadfast::quota::{InProcess, Limiter, Quota, QuotaScope, QuotaStore};
use steadfast::{ErrorKind, llm};
use steadfast_sim::{ProviderQuota, Scenario};

use crate::bench::SimArgs;
use crate::workload::{KEY, MODEL, PROMPT};

/// Where the client quota lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Store {
    /// One Redis shared by every process.
    Redis,
    /// One store per process.
    InProcess,
    /// No client quota.
    None,
}

/// What happens to the harness's Redis in the middle of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Chaos {
    /// Nothing.
    None,
    /// SIGKILL, then a new server on the same port `--chaos-secs` later (scripts lost).
    Kill,
    /// SIGSTOP (connections stay open, nothing answers), SIGCONT `--chaos-secs` later.
    Stop,
    /// A restart at once (the script cache is lost).
    Restart,
}

/// Arguments of `steadfast-load fleet`.
#[derive(Debug, Clone, clap::Args)]
pub struct FleetArgs {
    /// The simulator.
    #[command(flatten)]
    pub sim: SimArgs,
    /// Client processes.
    #[arg(long, default_value_t = 8)]
    pub processes: u32,
    /// Concurrent calls per process.
    #[arg(short, long, default_value_t = 64)]
    pub concurrency: usize,
    /// The quota, requests per minute: the simulator's (per rolling minute) and the clients'.
    #[arg(long, default_value_t = 6_000)]
    pub rpm: u64,
    /// The simulator's quota when it differs from the clients' (a tighter real quota: the
    /// clients learn it from 429 cooldowns).
    #[arg(long)]
    pub provider_rpm: Option<u64>,
    /// The clients' burst (default 1: at most `rpm` requests in any rolling minute, so the
    /// provider's rolling window is never exceeded).
    #[arg(long, default_value_t = 1)]
    pub burst: u64,
    /// Where the client quota lives.
    #[arg(long, value_enum, default_value_t = Store::Redis)]
    pub store: Store,
    /// A Redis to use instead of starting one (`--chaos` needs the harness's own).
    #[arg(long)]
    pub redis: Option<String>,
    /// Seconds during which calls start.
    #[arg(long, default_value_t = 90)]
    pub duration_secs: u64,
    /// What happens to Redis mid-run.
    #[arg(long, value_enum, default_value_t = Chaos::None)]
    pub chaos: Chaos,
    /// When the chaos starts, seconds into the run (default: a third of it).
    #[arg(long)]
    pub chaos_at_secs: Option<u64>,
    /// How long Redis stays away.
    #[arg(long, default_value_t = 10)]
    pub chaos_secs: u64,
    /// The Redis store's admission timeout, ms (default: the library's, 5 ms).
    #[arg(long)]
    pub admission_timeout_ms: Option<u64>,
}

/// Arguments of `steadfast-load fleet-worker` (started by `fleet`).
#[derive(Debug, Clone, clap::Args)]
pub struct FleetWorkerArgs {
    /// The simulator's root URL (loopback).
    #[arg(long)]
    pub sim_url: String,
    /// Concurrent calls.
    #[arg(long)]
    pub concurrency: usize,
    /// Client quota, requests per minute.
    #[arg(long)]
    pub rpm: u64,
    /// Client burst.
    #[arg(long)]
    pub burst: u64,
    /// Where the quota lives.
    #[arg(long, value_enum)]
    pub store: Store,
    /// The shared Redis (with `--store redis`).
    #[arg(long)]
    pub redis: Option<String>,
    /// Processes sharing the quota (the degraded local share).
    #[arg(long)]
    pub processes: u32,
    /// Seconds during which calls start.
    #[arg(long)]
    pub duration_secs: u64,
    /// The Redis store's admission timeout, ms.
    #[arg(long)]
    pub admission_timeout_ms: Option<u64>,
}

/// What one worker reports.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WorkerReport {
    /// Calls that succeeded.
    pub ok: u64,
    /// Calls that failed, by error kind.
    pub errors: BTreeMap<String, u64>,
    /// HTTP attempts the calls recorded (their attempt histories).
    pub attempts: u64,
    /// Attempts answered 429.
    pub rate_limited: u64,
    /// Attempts that waited for admission.
    pub queued: u64,
    /// Their total wait, ms.
    pub queued_ms: u64,
    /// The Redis store's counters: degradations, recoveries, failures, degraded admissions.
    pub store: Option<[u64; 4]>,
}

/// Runs one worker: prints `READY`, waits for a line on stdin, runs, prints `RESULT <json>`.
///
/// # Errors
/// Bad arguments or an unreachable Redis at the start.
pub async fn worker(args: FleetWorkerArgs) -> Result<()> {
    crate::sim::check_loopback(&args.sim_url)?;
    let scope = QuotaScope::new("openai", "fleet", MODEL)?;
    let quota = Quota::builder()
        .requests_per_minute(args.rpm)
        .burst(args.burst)
        .build()?;
    #[allow(clippy::type_complexity, reason = "one local tuple")]
    let (store, stats): (
        Option<Arc<dyn QuotaStore>>,
        Option<Arc<steadfast::quota::RedisStore>>,
    ) = match args.store {
        Store::None => (None, None),
        Store::InProcess => (Some(Arc::new(InProcess::new())), None),
        Store::Redis => {
            let url = args
                .redis
                .as_deref()
                .context("--store redis needs --redis")?;
            let mut builder = steadfast::quota::RedisStore::builder(url).degrade(
                steadfast::quota::Degrade::Local {
                    expected_processes: args.processes.max(1),
                },
            );
            if let Some(ms) = args.admission_timeout_ms {
                builder = builder.admission_timeout(Duration::from_millis(ms));
            }
            let redis = Arc::new(builder.connect().await?);
            (Some(Arc::clone(&redis) as Arc<dyn QuotaStore>), Some(redis))
        }
    };
    let mut call = llm::call(("openai", MODEL))?
        .base_url(format!("{}/openai/v1", args.sim_url))
        .api_key(KEY);
    if let Some(store) = store {
        call = call.quota(Limiter::new(scope, quota).with_store(store));
    }
    let resilient = call.retry(steadfast::resilient::default_policy());

    println!("READY");
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("waiting for the start")?;

    let deadline = tokio::time::Instant::now() + Duration::from_secs(args.duration_secs);
    let tally = Arc::new(Tally::default());
    let tasks: Vec<_> = (0..args.concurrency)
        .map(|_| {
            let (r, tally) = (resilient.clone(), Arc::clone(&tally));
            tokio::spawn(async move {
                while tokio::time::Instant::now() < deadline {
                    let result = r.send(PROMPT).await;
                    tally.note(&result);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.context("a call task panicked")?;
    }
    let mut report = tally.report();
    report.store = stats.map(|s| {
        let st = s.stats();
        [
            st.degradations,
            st.recoveries,
            st.failures,
            st.degraded_admissions,
        ]
    });
    println!("RESULT {}", serde_json::to_string(&report)?);
    Ok(())
}

#[derive(Debug, Default)]
struct Tally {
    ok: AtomicU64,
    attempts: AtomicU64,
    rate_limited: AtomicU64,
    queued: AtomicU64,
    queued_ms: AtomicU64,
    errors: std::sync::Mutex<BTreeMap<String, u64>>,
}

impl Tally {
    fn note(&self, result: &Result<steadfast::Response, steadfast::Error>) {
        let attempts = match result {
            Ok(r) => {
                self.ok.fetch_add(1, Ordering::Relaxed);
                r.attempts()
            }
            Err(e) => {
                let mut errors = self
                    .errors
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                *errors.entry(e.kind().as_str().to_owned()).or_default() += 1;
                e.attempts()
            }
        };
        self.attempts
            .fetch_add(attempts.len() as u64, Ordering::Relaxed);
        for a in attempts {
            if a.outcome == Some(ErrorKind::RateLimited) {
                self.rate_limited.fetch_add(1, Ordering::Relaxed);
            }
            if let Some(q) = a.queued {
                self.queued.fetch_add(1, Ordering::Relaxed);
                self.queued_ms
                    .fetch_add(q.as_millis() as u64, Ordering::Relaxed);
            }
        }
    }

    fn report(&self) -> WorkerReport {
        WorkerReport {
            ok: self.ok.load(Ordering::Relaxed),
            errors: self
                .errors
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone(),
            attempts: self.attempts.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
            queued: self.queued.load(Ordering::Relaxed),
            queued_ms: self.queued_ms.load(Ordering::Relaxed),
            store: None,
        }
    }
}

/// The most entries of `times_ms` (sorted) inside any window of `window_ms`.
pub fn max_in_window(times_ms: &[u64], window_ms: u64) -> usize {
    let mut best = 0;
    let mut start = 0;
    for (end, &t) in times_ms.iter().enumerate() {
        while times_ms[start] + window_ms <= t {
            start += 1;
        }
        best = best.max(end + 1 - start);
    }
    best
}

/// Runs the fleet and prints its report. `Ok(false)` when the accounting does not balance.
///
/// # Errors
/// The simulator, Redis or a worker cannot be started.
pub fn run(args: &FleetArgs) -> Result<bool> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("building the runtime")?;
    let sim = args.sim.open()?;
    let provider_rpm = args.provider_rpm.unwrap_or(args.rpm);
    rt.block_on(async {
        sim.wait_healthy().await?;
        sim.set_scenario(&Scenario::new().quota(ProviderQuota::new().rpm(provider_rpm)))
            .await?;
        sim.reset().await
    })?;

    let mut own_redis = None;
    let redis_url = match (args.store, &args.redis) {
        (Store::Redis, Some(url)) => {
            if args.chaos != Chaos::None {
                bail!("--chaos needs the harness's own Redis: leave out --redis");
            }
            Some(url.clone())
        }
        (Store::Redis, None) => {
            let server = steadfast_fixtures::redis::RedisServer::start()
                .context("starting redis-server (is it installed?)")?;
            let url = server.url();
            own_redis = Some(server);
            Some(url)
        }
        _ => None,
    };

    let exe = std::env::current_exe().context("this executable")?;
    let mut workers = Vec::new();
    for _ in 0..args.processes {
        let mut cmd = Command::new(&exe);
        cmd.arg("fleet-worker")
            .args(["--sim-url", sim.url()])
            .args(["--concurrency", &args.concurrency.to_string()])
            .args(["--rpm", &args.rpm.to_string()])
            .args(["--burst", &args.burst.to_string()])
            .args(["--processes", &args.processes.to_string()])
            .args(["--duration-secs", &args.duration_secs.to_string()])
            .arg("--store")
            .arg(match args.store {
                Store::Redis => "redis",
                Store::InProcess => "in-process",
                Store::None => "none",
            })
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(url) = &redis_url {
            cmd.args(["--redis", url]);
        }
        if let Some(ms) = args.admission_timeout_ms {
            cmd.args(["--admission-timeout-ms", &ms.to_string()]);
        }
        workers.push(Worker::start(cmd)?);
    }
    for w in &mut workers {
        w.wait_ready()?;
    }
    eprintln!(
        "fleet: {} processes × {} concurrent calls, quota {} rpm (provider {}), burst {}, store {:?}, {} s, chaos {:?}",
        args.processes,
        args.concurrency,
        args.rpm,
        provider_rpm,
        args.burst,
        args.store,
        args.duration_secs,
        args.chaos
    );
    let started = std::time::Instant::now();
    let start_ms = unix_ms();
    for w in &mut workers {
        w.go()?;
    }
    if let (Some(server), true) = (own_redis.as_mut(), args.chaos != Chaos::None) {
        let at = args.chaos_at_secs.unwrap_or(args.duration_secs / 3);
        std::thread::sleep(Duration::from_secs(at));
        let t = started.elapsed().as_secs_f64();
        match args.chaos {
            Chaos::Kill => {
                server.kill();
                eprintln!("fleet: t={t:.1} s: redis-server killed");
                std::thread::sleep(Duration::from_secs(args.chaos_secs));
                server.restart().context("restarting redis-server")?;
            }
            Chaos::Stop => {
                server.freeze().context("SIGSTOP redis-server")?;
                eprintln!("fleet: t={t:.1} s: redis-server stopped");
                std::thread::sleep(Duration::from_secs(args.chaos_secs));
                server.thaw().context("SIGCONT redis-server")?;
            }
            Chaos::Restart => {
                server.restart().context("restarting redis-server")?;
            }
            Chaos::None => {}
        }
        eprintln!(
            "fleet: t={:.1} s: redis-server back",
            started.elapsed().as_secs_f64()
        );
    }
    let mut reports = Vec::new();
    for w in workers {
        reports.push(w.result()?);
    }
    let wall = started.elapsed();
    let arrivals = rt.block_on(sim.arrivals())?;
    let commands = own_redis.as_ref().and_then(|r| script_calls(r.port()));
    Ok(print(
        args,
        provider_rpm,
        &reports,
        &arrivals,
        start_ms,
        wall,
        commands,
    ))
}

/// Script calls (`EVALSHA` + `EVAL`) the harness's Redis served, from `INFO commandstats`:
/// every round trip of the quota store is one (`None` when `redis-cli` is not there).
fn script_calls(port: u16) -> Option<u64> {
    let out = Command::new("redis-cli")
        .args(["-p", &port.to_string(), "info", "commandstats"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let calls = text
        .lines()
        .filter(|l| l.starts_with("cmdstat_evalsha:") || l.starts_with("cmdstat_eval:"))
        .filter_map(|l| {
            l.split(['=', ',', ':'])
                .skip_while(|f| *f != "calls")
                .nth(1)
                .and_then(|n| n.parse::<u64>().ok())
        })
        .sum();
    Some(calls)
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn print(
    args: &FleetArgs,
    provider_rpm: u64,
    reports: &[WorkerReport],
    arrivals: &[(u64, u16)],
    start_ms: u64,
    wall: Duration,
    script_calls: Option<u64>,
) -> bool {
    let sum = |f: &dyn Fn(&WorkerReport) -> u64| reports.iter().map(f).sum::<u64>();
    let ok = sum(&|r| r.ok);
    let attempts = sum(&|r| r.attempts);
    let mut errors: BTreeMap<&str, u64> = BTreeMap::new();
    for r in reports {
        for (k, v) in &r.errors {
            *errors.entry(k.as_str()).or_default() += v;
        }
    }
    let accepted: Vec<u64> = arrivals
        .iter()
        .filter(|(_, s)| *s != 429)
        .map(|(t, _)| *t)
        .collect();
    let refused = arrivals.len() - accepted.len();
    let peak = max_in_window(&accepted, 60_000);
    // Throughput over the run's full minutes, from the first request.
    let minutes = wall.as_secs_f64() / 60.0;
    let per_minute = ok as f64 / minutes.max(1e-9);
    println!(
        "\nfleet: {} processes × {} calls in flight, store {:?}, quota {} rpm (provider {} rpm), burst {}, {:.1} s",
        args.processes,
        args.concurrency,
        args.store,
        args.rpm,
        provider_rpm,
        args.burst,
        wall.as_secs_f64()
    );
    println!(
        "journal: {} requests, {} answered 429; most accepted in any rolling minute: {} (provider quota {}, {:.1}%)",
        arrivals.len(),
        refused,
        peak,
        provider_rpm,
        peak as f64 * 100.0 / provider_rpm.max(1) as f64
    );
    println!(
        "clients: {} calls ok ({:.0} a minute, {:.1}% of the quota), errors {:?}; {} attempts, {} answered 429, {} waited for admission ({:.0} ms mean)",
        ok,
        per_minute,
        per_minute * 100.0 / provider_rpm.max(1) as f64,
        errors,
        attempts,
        sum(&|r| r.rate_limited),
        sum(&|r| r.queued),
        sum(&|r| r.queued_ms) as f64 / sum(&|r| r.queued).max(1) as f64
    );
    let first = arrivals.iter().map(|(t, _)| *t).min().unwrap_or(start_ms);
    println!(
        "first request {} ms after the start",
        first.saturating_sub(start_ms)
    );
    if args.store == Store::Redis {
        let st: Vec<_> = reports.iter().filter_map(|r| r.store).collect();
        let col = |i: usize| st.iter().map(|s| s[i]).sum::<u64>();
        println!(
            "redis store, all processes: {} degradations, {} recoveries, {} failed commands, {} admissions decided locally",
            col(0),
            col(1),
            col(2),
            col(3)
        );
        if let Some(n) = script_calls {
            println!(
                "redis round trips (script calls served, since the last restart): {n}, {:.2} per journaled request",
                n as f64 / arrivals.len().max(1) as f64
            );
        }
    }
    let balanced = attempts == arrivals.len() as u64;
    println!(
        "accounting: attempts recorded by the clients {} vs requests journaled {} → {}",
        attempts,
        arrivals.len(),
        if balanced { "equal" } else { "MISMATCH" }
    );
    balanced
}

/// A worker process and its pipes.
struct Worker {
    child: Child,
    lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
}

impl Worker {
    fn start(mut cmd: Command) -> Result<Worker> {
        let mut child = cmd.spawn().context("starting a fleet worker")?;
        let stdout = child.stdout.take().context("the worker's output")?;
        Ok(Worker {
            child,
            lines: BufReader::new(stdout).lines(),
        })
    }

    fn next_line(&mut self) -> Result<String> {
        match self.lines.next() {
            Some(line) => line.context("reading a worker's output"),
            None => bail!("a fleet worker exited early ({:?})", self.child.try_wait()),
        }
    }

    fn wait_ready(&mut self) -> Result<()> {
        let line = self.next_line()?;
        if line != "READY" {
            bail!("a fleet worker said {line:?} instead of READY");
        }
        Ok(())
    }

    fn go(&mut self) -> Result<()> {
        let stdin = self.child.stdin.as_mut().context("the worker's input")?;
        stdin.write_all(b"go\n").context("starting a worker")?;
        stdin.flush().context("starting a worker")
    }

    fn result(mut self) -> Result<WorkerReport> {
        let line = self.next_line()?;
        let json = line
            .strip_prefix("RESULT ")
            .with_context(|| format!("a fleet worker said {line:?}"))?;
        let report = serde_json::from_str(json).context("a worker's report")?;
        let _ = self.child.wait();
        Ok(report)
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_in_window_slides() {
        assert_eq!(max_in_window(&[], 10), 0);
        assert_eq!(max_in_window(&[0, 5, 9, 10, 11, 30], 10), 4);
        assert_eq!(max_in_window(&[0, 0, 0, 20], 10), 3);
        assert_eq!(max_in_window(&[0, 10, 20], 10), 1);
    }
}
