//! The `steadfast-load` command line.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use crate::bench::{self, BenchArgs, SimArgs};
use crate::procstat::mib;
use crate::soak::{self, FAULTS, SoakConfig, SoakReport};
use crate::worker::{self, Mode, WorkerArgs};

/// Load, floor and soak harness for Steadfast, against the simulator on loopback.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// N non-streaming calls at concurrency C through `call.retry(policy)` under seeded 429s,
    /// beside the floor (bare reqwest + serde_json) and optionally the Python peers.
    Calls(BenchArgs),
    /// N streams of a long answer, beside the floor; then memory per open stream.
    Stream(BenchArgs),
    /// A bounded soak: thousands of concurrent calls, ~30% mixed faults, retry + fallback +
    /// circuit breakers; checks that the attempt histories add up to the simulator's journal.
    Soak(SoakArgs),
    /// N client processes sharing one simulated provider quota through a client quota (Redis,
    /// in-process or none); reports 429s, the peak accepted per rolling minute, throughput and
    /// the accounting; optionally kills, stops or restarts Redis mid-run.
    Fleet(crate::fleet::FleetArgs),
    /// What the gateway adds: client -> simulator direct, through a bare hyper proxy, through
    /// `steadfast gateway` (and LiteLLM's proxy with --litellm), c=64, alternating windows.
    Gateway(crate::gateway::GatewayBenchArgs),
    /// The bare reverse proxy `gateway` measures as its floor.
    #[command(hide = true)]
    ProxyFloor(crate::floor::FloorArgs),
    /// One measured phase (started by `calls` and `stream`).
    #[command(hide = true)]
    Worker(WorkerArgs),
    /// One client process of `fleet`.
    #[command(hide = true)]
    FleetWorker(crate::fleet::FleetWorkerArgs),
}

/// Arguments of `steadfast-load soak`.
#[derive(Debug, Clone, clap::Args)]
pub struct SoakArgs {
    /// The simulator.
    #[command(flatten)]
    pub sim: SimArgs,
    /// Seconds during which new calls start.
    #[arg(long, default_value_t = 60)]
    pub duration_secs: u64,
    /// Logical calls in flight at once.
    #[arg(short, long, default_value_t = 2_000)]
    pub concurrency: usize,
    /// Share of calls that stream.
    #[arg(long, default_value_t = 0.5)]
    pub stream_share: f64,
    /// Attempts per target.
    #[arg(long, default_value_t = 4)]
    pub max_attempts: u32,
    /// Seed of the fault plan.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Seconds between resource samples.
    #[arg(long, default_value_t = 5)]
    pub sample_secs: u64,
    /// After the last call, wait this many seconds and sample once more (95 outlasts the
    /// connection pool's 90 s idle timeout, so pooled sockets and their tasks should be gone).
    #[arg(long, default_value_t = 0)]
    pub linger_secs: u64,
    /// Leave out the streams cut after their first content event.
    #[arg(long)]
    pub no_post_commit_cuts: bool,
    /// Client worker threads (default: the number of CPUs).
    #[arg(long)]
    pub threads: Option<usize>,
}

/// Runs the command line.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Calls(args) => bench::run(&args, Mode::Calls).map(|_| ExitCode::SUCCESS),
        Command::Stream(args) => bench::run(&args, Mode::Stream).map(|_| ExitCode::SUCCESS),
        Command::Soak(args) => run_soak(&args),
        Command::Fleet(args) => crate::fleet::run(&args).map(|balanced| {
            if balanced {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }),
        Command::Gateway(args) => crate::gateway::run(&args).map(|()| ExitCode::SUCCESS),
        Command::ProxyFloor(args) => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("building the runtime")?;
            rt.block_on(crate::floor::serve(args))
                .map(|()| ExitCode::SUCCESS)
        }
        Command::FleetWorker(args) => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("building the runtime")?;
            rt.block_on(crate::fleet::worker(args))
                .map(|()| ExitCode::SUCCESS)
        }
        Command::Worker(args) => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("building the runtime")?;
            rt.block_on(worker::run(args)).map(|()| ExitCode::SUCCESS)
        }
    }
}

fn run_soak(args: &SoakArgs) -> Result<ExitCode> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if let Some(n) = args.threads {
        builder.worker_threads(n.max(1));
    }
    let rt = builder.build().context("building the runtime")?;
    let sim = args.sim.open()?;
    let cfg = SoakConfig {
        duration: Duration::from_secs(args.duration_secs),
        concurrency: args.concurrency,
        stream_share: args.stream_share,
        max_attempts: args.max_attempts,
        sample_every: Duration::from_secs(args.sample_secs.max(1)),
        post_commit_cuts: !args.no_post_commit_cuts,
        seed: args.seed,
        linger: Duration::from_secs(args.linger_secs),
        ..SoakConfig::default()
    };
    rt.block_on(async {
        sim.wait_healthy().await?;
        sim.set_scenario(&soak::soak_scenario(&cfg)).await?;
        sim.reset().await?;
        eprintln!(
            "soak: {} s, {} concurrent calls, {}% streams, simulator {} (pid {:?})",
            args.duration_secs,
            args.concurrency,
            args.stream_share * 100.0,
            sim.url(),
            sim.pid()
        );
        let report = soak::run(sim.url(), &cfg).await?;
        let journal = sim.journal(None).await?;
        Ok::<_, anyhow::Error>(print_soak(&report, &journal, cfg.duration))
    })
}

/// Mean and maximum of a field over the samples in `[from, to]` seconds.
fn window(
    samples: &[soak::Sample],
    from: f64,
    to: f64,
    f: &dyn Fn(&soak::Sample) -> f64,
) -> (f64, f64) {
    let v: Vec<f64> = samples
        .iter()
        .filter(|s| s.t_s >= from && s.t_s <= to)
        .map(f)
        .collect();
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    (mean, v.iter().copied().fold(0.0, f64::max))
}

fn print_soak(
    r: &SoakReport,
    journal: &crate::sim::JournalSummary,
    duration: Duration,
) -> ExitCode {
    let ended = r.ok + r.failed();
    println!(
        "\nsoak: {} calls started, {} ended ({} ok, {} typed errors), {} lost; {:.1} s, {:.0} calls/s, client CPU {:.1} s ({:.0} µs per journaled request)",
        r.started,
        ended,
        r.ok,
        r.failed(),
        r.lost,
        r.wall.as_secs_f64(),
        ended as f64 / r.wall.as_secs_f64().max(1e-9),
        r.cpu.as_secs_f64(),
        r.cpu.as_secs_f64() * 1e6 / journal.requests.max(1) as f64
    );
    println!("errors by kind: {:?}", r.errors);
    println!("attempts by provider: {:?}", r.attempts_by_provider);
    println!(
        "calls that succeeded on a backup target: {}; errors with an empty attempt history: {:?}",
        r.fell_back, r.empty_history
    );
    let faulted: u64 = journal
        .by_rule
        .iter()
        .filter(|(k, _)| k.as_str() != "-")
        .map(|(_, v)| v)
        .sum();
    println!(
        "simulator journal: {} requests ({} retained), {:.1}% faulted by the scenario:",
        journal.requests,
        journal.retained,
        faulted as f64 * 100.0 / journal.retained.max(1) as f64
    );
    for (rule, n) in &journal.by_rule {
        let name = rule
            .parse::<usize>()
            .ok()
            .and_then(|i| FAULTS.get(i).copied())
            .unwrap_or("no fault (model answer)");
        println!("  {n:>8}  {name}");
    }
    println!("\n| t (s) | RSS MB | fds | threads | tasks | in flight | finished |");
    println!("|---|---|---|---|---|---|---|");
    for s in &r.samples {
        println!(
            "| {:.0} | {:.1} | {} | {} | {} | {} | {} |",
            s.t_s,
            mib(s.rss),
            s.fds,
            s.threads,
            s.tasks,
            s.in_flight,
            s.finished
        );
    }
    let d = duration.as_secs_f64();
    let w = d.min(120.0) / 2.0;
    let w = if d >= 120.0 { 60.0 } else { w.min(d / 3.0) };
    let show = |name: &str, f: &dyn Fn(&soak::Sample) -> f64| {
        // A little slack, so a sample taken just after a window's edge still counts.
        let (a_mean, a_max) = window(&r.samples, 0.5, w + 1.0, f);
        let (b_mean, b_max) = window(&r.samples, d - w - 1.0, d + 1.0, f);
        format!("{name} {a_mean:.0} (max {a_max:.0}) → {b_mean:.0} (max {b_max:.0})")
    };
    println!(
        "\nfirst {w:.0} s vs last {w:.0} s, mean (max) of the samples: {}, {}, {}, {}",
        show("RSS MB", &|s| mib(s.rss)),
        show("fds", &|s| s.fds as f64),
        show("tasks", &|s| s.tasks as f64),
        show("threads", &|s| s.threads as f64),
    );
    let accounted = r.attempts == journal.requests;
    let complete = r.lost == 0 && ended == r.started;
    println!(
        "\naccounting: sum of attempt histories {} vs journaled requests {} → {}; every call ended once: {}",
        r.attempts,
        journal.requests,
        if accounted { "equal" } else { "MISMATCH" },
        if complete { "yes" } else { "NO" }
    );
    if accounted && complete {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
