//! The orchestrator of `steadfast-load calls` and `steadfast-load stream`: starts (or finds) the
//! simulator, sets the fault plan, runs each phase in a fresh worker process — Steadfast, the
//! floor, optionally the Python peers — several times, and prints medians side by side.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use serde_json::Value;
use tokio::runtime::Runtime;

use crate::sim::Sim;
use crate::streams::{self, STREAM_MODEL};
use crate::worker::{Kind, Mode};
use crate::workload::{self, MODEL, PROMPT};

/// Where the simulator comes from.
#[derive(Debug, Clone, clap::Args)]
pub struct SimArgs {
    /// Use a simulator already running at this root URL (loopback only) instead of starting one.
    #[arg(long)]
    pub sim_url: Option<String>,
    /// The `steadfast-sim` binary to start (default: next to this executable; build it with
    /// `cargo build --release -p steadfast-sim`).
    #[arg(long)]
    pub sim_bin: Option<PathBuf>,
    /// Worker threads of the started simulator (default: its own, the number of CPUs).
    #[arg(long)]
    pub sim_threads: Option<usize>,
}

impl SimArgs {
    /// Starts or connects to the simulator.
    ///
    /// # Errors
    /// No binary found, it does not start, or the URL is not loopback.
    pub fn open(&self) -> Result<Sim> {
        if let Some(url) = &self.sim_url {
            return Sim::external(url);
        }
        let bin = match &self.sim_bin {
            Some(b) => b.clone(),
            None => crate::sim::default_sim_bin().context(
                "no steadfast-sim binary next to this executable: run `cargo build --release -p steadfast-sim` or pass --sim-bin/--sim-url",
            )?,
        };
        Sim::spawn(&bin, self.sim_threads)
    }
}

/// Arguments of `steadfast-load calls` and `steadfast-load stream`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// The simulator.
    #[command(flatten)]
    pub sim: SimArgs,
    /// Logical calls (streams) per run.
    #[arg(short, long, default_value_t = 20_000)]
    pub n: u64,
    /// Concurrent calls.
    #[arg(short, long, default_value_t = 64)]
    pub concurrency: usize,
    /// Attempts per logical call (the retry policy's stop).
    #[arg(long, default_value_t = 10)]
    pub max_attempts: u32,
    /// Warm-up calls per run, excluded from the figures.
    #[arg(long, default_value_t = 64)]
    pub warmup: u64,
    /// Runs per target (the table shows medians).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Share of requests answered 429 with `retry-after: 0` (calls only).
    #[arg(long, default_value_t = 0.2)]
    pub fault_rate: f64,
    /// Seed of the fault plan.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// A run starts no new call after this many seconds.
    #[arg(long, default_value_t = 300)]
    pub max_secs: u64,
    /// Words of the long streamed answer (stream only).
    #[arg(long, default_value_t = 2_000)]
    pub words: usize,
    /// Streams held open at once for the memory figure (stream only; 0 = skip).
    #[arg(long, default_value_t = 1_000)]
    pub hold: u64,
    /// A Python peer to run against the same simulator: `TARGET=PYTHON`, where TARGET is one of
    /// `bench_peer.py`'s targets (e.g. `mirascope_tenacity_aiohttp=/tmp/v/peers/bin/python`).
    /// Repeatable. Calls only.
    #[arg(long = "peer")]
    pub peers: Vec<String>,
    /// The Python peers' benchmark script (not part of this repository: it ships with the peers,
    /// in `../shared/peers/` beside a checkout).
    #[arg(long, default_value = "../shared/peers/bench_peer.py")]
    pub peer_script: PathBuf,
    /// Logical calls per Python run (Python is slower; 2,000 is the peers' own default).
    #[arg(long, default_value_t = 2_000)]
    pub peer_n: u64,
    /// Run only this Rust target (with `--wrap`, to profile one side alone).
    #[arg(long, value_enum)]
    pub only: Option<Kind>,
    /// A command that each Rust worker runs under, split on whitespace — a profiler, e.g.
    /// `--wrap "perf record -g -o /tmp/worker.perf"` or
    /// `--wrap "valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.%p"`. The worker's own CPU
    /// and memory figures then include the profiler's cost; use it for profiles, not for the table.
    #[arg(long)]
    pub wrap: Option<String>,
    /// What listens to the library's telemetry in its worker (the floor has none): nothing, an
    /// OpenTelemetry pipeline exporting to a no-op, or to the in-memory exporter.
    #[arg(long, value_enum, default_value_t = crate::telemetry::Telemetry::None)]
    pub telemetry: crate::telemetry::Telemetry,
}

/// One run of one target.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Run {
    /// Logical calls started.
    pub calls: u64,
    /// Calls that failed.
    pub failed: u64,
    /// Wall time of the measured run, seconds.
    pub wall_s: f64,
    /// Client CPU (user + system, all threads) during the run, seconds.
    pub cpu_s: f64,
    /// Peak resident memory of the client process, bytes.
    pub peak_rss: u64,
    /// HTTP requests the simulator saw.
    pub sim_requests: u64,
    /// HTTP requests the client counted (attempt histories); `None` when it cannot tell.
    pub client_requests: Option<u64>,
    /// Stream runs: answer bytes received.
    pub text_bytes: u64,
    /// Stream runs: memory per held-open stream, bytes.
    pub per_stream: Option<f64>,
}

impl Run {
    fn calls_per_s(&self) -> f64 {
        self.calls as f64 / self.wall_s.max(1e-9)
    }
    fn cpu_us_per_request(&self) -> f64 {
        self.cpu_s * 1e6 / self.sim_requests.max(1) as f64
    }
    fn requests_per_call(&self) -> f64 {
        self.sim_requests as f64 / self.calls.max(1) as f64
    }
}

/// The runs of one target.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row {
    /// Its name.
    pub label: String,
    /// Its runs.
    pub runs: Vec<Run>,
}

impl Row {
    fn med(&self, f: impl Fn(&Run) -> f64) -> f64 {
        workload::median(&self.runs.iter().map(f).collect::<Vec<_>>())
    }
    /// Median client CPU per HTTP request, µs.
    pub fn cpu_us_per_request(&self) -> f64 {
        self.med(Run::cpu_us_per_request)
    }
}

fn run_worker(
    rt: &Runtime,
    sim: &Sim,
    args: &BenchArgs,
    mode: Mode,
    kind: Kind,
    body_file: &std::path::Path,
) -> Result<Run> {
    let exe = std::env::current_exe().context("locating this executable")?;
    let mode_name = match mode {
        Mode::Calls => "calls",
        Mode::Stream => "stream",
    };
    let kind_name = match kind {
        Kind::Library => "library",
        Kind::Floor => "floor",
    };
    let mut wrap = args.wrap.as_deref().unwrap_or("").split_whitespace();
    let mut cmd = match wrap.next() {
        Some(program) => {
            let mut c = Command::new(program);
            c.args(wrap).arg(exe);
            c
        }
        None => Command::new(exe),
    };
    cmd.arg("worker")
        .args([
            "--mode",
            mode_name,
            "--kind",
            kind_name,
            "--sim-url",
            sim.url(),
        ])
        .args(["--n", &args.n.to_string()])
        .args(["--concurrency", &args.concurrency.to_string()])
        .args(["--max-attempts", &args.max_attempts.to_string()])
        .args(["--warmup", &args.warmup.to_string()])
        .args(["--max-secs", &args.max_secs.to_string()])
        .args(["--telemetry", args.telemetry.name()])
        .arg("--body-file")
        .arg(body_file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if mode == Mode::Stream {
        cmd.args(["--hold", &args.hold.to_string()]);
    }
    let mut child = cmd.spawn().context("starting a worker")?;
    let stdout = child.stdout.take().context("worker output")?;
    let mut stdin = child.stdin.take().context("worker input")?;
    let mut result = None;
    let mut journal = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.context("reading the worker's output")?;
        if line == "READY" {
            rt.block_on(sim.reset())?;
            writeln!(stdin, "GO").context("starting the worker's run")?;
        } else if line == "MEASURED" {
            journal = Some(rt.block_on(sim.journal(None))?);
            writeln!(stdin, "GO").context("letting the worker go on")?;
        } else if let Some(json) = line.strip_prefix("RESULT ") {
            result = Some(serde_json::from_str::<Value>(json).context("the worker's result")?);
        }
    }
    let status = child.wait().context("waiting for the worker")?;
    let Some(r) = result else {
        bail!("the {kind_name} worker ended ({status}) without a result");
    };
    let journal = journal.context("the worker never reported the end of its measured run")?;
    Ok(Run {
        calls: r["started"].as_u64().unwrap_or(0),
        failed: r["failed"].as_u64().unwrap_or(0),
        wall_s: r["wall_s"].as_f64().unwrap_or(0.0),
        cpu_s: r["cpu_s"].as_f64().unwrap_or(0.0),
        peak_rss: r["peak_rss"].as_u64().unwrap_or(0),
        sim_requests: journal.requests,
        client_requests: r["client_requests"].as_u64(),
        text_bytes: r["text_bytes"].as_u64().unwrap_or(0),
        per_stream: r["hold"]["per_stream_bytes"].as_f64(),
    })
}

fn run_peer(rt: &Runtime, sim: &Sim, args: &BenchArgs, target: &str, python: &str) -> Result<Run> {
    // The script is the peers' own (outside this repository, in `../shared/peers/` by default).
    anyhow::ensure!(
        args.peer_script.is_file(),
        "the Python peers' benchmark script is not at {}: pass --peer-script PATH",
        args.peer_script.display()
    );
    rt.block_on(sim.reset())?;
    let out = Command::new(python)
        .arg(&args.peer_script)
        .args(["--child", target, "--url", &format!("{}/openai", sim.url())])
        .args(["--n", &args.peer_n.to_string()])
        .args(["--concurrency", &args.concurrency.to_string()])
        .args(["--max-attempts", &args.max_attempts.to_string()])
        .args(["--warmup", &args.warmup.to_string()])
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running {python} {}", args.peer_script.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let Some(json) = stdout
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("BENCH_RESULT "))
    else {
        bail!(
            "peer {target} printed no BENCH_RESULT ({}): {}",
            out.status,
            stdout.chars().take(2000).collect::<String>()
        );
    };
    let r: Value = serde_json::from_str(json).context("the peer's result")?;
    // Its warm-up asks another model, so only the measured run's requests are counted.
    let journal = rt.block_on(sim.journal(Some(MODEL)))?;
    if journal.truncated() {
        bail!("the journal overflowed during the peer run; lower --peer-n");
    }
    Ok(Run {
        calls: r["n"].as_u64().unwrap_or(0),
        failed: r["failed"].as_u64().unwrap_or(0),
        wall_s: r["wall_s"].as_f64().unwrap_or(0.0),
        cpu_s: r["cpu_s"].as_f64().unwrap_or(0.0),
        peak_rss: (r["peak_rss_mb"].as_f64().unwrap_or(0.0) * 1024.0 * 1024.0) as u64,
        sim_requests: journal.for_model,
        client_requests: None,
        text_bytes: 0,
        per_stream: None,
    })
}

/// Captures the exact request body the library sends for `model` (streaming or not), so the
/// floor sends the same bytes.
fn capture_body(rt: &Runtime, sim: &Sim, mode: Mode, max_attempts: u32) -> Result<String> {
    rt.block_on(async {
        sim.reset().await?;
        match mode {
            Mode::Calls => {
                let r = crate::calls::resilient(sim.url(), MODEL, max_attempts)?;
                r.send(PROMPT).await.context("the probe call")?;
            }
            Mode::Stream => {
                let r = crate::calls::resilient(sim.url(), STREAM_MODEL, max_attempts)?;
                r.stream(PROMPT)
                    .into_response()
                    .await
                    .context("the probe stream")?;
            }
        }
        sim.last_body()
            .await?
            .context("the simulator journaled no request")
    })
}

/// Runs the benchmark and prints the table.
///
/// # Errors
/// The simulator or a worker fails.
pub fn run(args: &BenchArgs, mode: Mode) -> Result<Vec<Row>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("building the orchestrator's runtime")?;
    let sim = args.sim.open()?;
    rt.block_on(sim.wait_healthy())?;
    let scenario = match mode {
        Mode::Calls => workload::fault_scenario(args.fault_rate, args.seed),
        Mode::Stream => streams::stream_scenario(args.words),
    };
    rt.block_on(sim.set_scenario(&scenario))?;
    let body = capture_body(&rt, &sim, mode, args.max_attempts)?;
    let body_file = std::env::temp_dir().join(format!(
        "steadfast-load-{}-{}.json",
        std::process::id(),
        match mode {
            Mode::Calls => "calls",
            Mode::Stream => "stream",
        }
    ));
    std::fs::write(&body_file, &body).context("writing the captured body")?;
    eprintln!(
        "simulator {} (pid {:?}); body {} bytes: {body}",
        sim.url(),
        sim.pid(),
        body.len()
    );

    // The Python peers first: a child inherits this process's peak RSS as its `ru_maxrss` (what
    // the peers report), so they run before the large journals of the Rust runs are read.
    let mut peers = Vec::new();
    if mode == Mode::Calls {
        for spec in &args.peers {
            let (target, python) = spec
                .split_once('=')
                .with_context(|| format!("--peer {spec}: expected TARGET=PYTHON"))?;
            let mut row = Row {
                label: format!("python: {target}"),
                runs: Vec::new(),
            };
            for i in 0..args.runs {
                let run = run_peer(&rt, &sim, args, target, python)?;
                eprintln!("run {} {target}: {run:?}", i + 1);
                row.runs.push(run);
            }
            peers.push(row);
        }
    }
    let mut library = Row {
        label: Kind::Library.name().to_owned(),
        runs: Vec::new(),
    };
    let mut floor = Row {
        label: Kind::Floor.name().to_owned(),
        runs: Vec::new(),
    };
    for i in 0..args.runs {
        // Alternate the order so drift of the machine's load hits both sides alike.
        let order = if i % 2 == 0 {
            [Kind::Floor, Kind::Library]
        } else {
            [Kind::Library, Kind::Floor]
        };
        for kind in order {
            if args.only.is_some_and(|only| only != kind) {
                continue;
            }
            let run = run_worker(&rt, &sim, args, mode, kind, &body_file)?;
            eprintln!("run {} {}: {run:?}", i + 1, kind.name());
            match kind {
                Kind::Library => library.runs.push(run),
                Kind::Floor => floor.runs.push(run),
            }
        }
    }
    let _ = std::fs::remove_file(&body_file);
    let mut rows = vec![library, floor];
    rows.append(&mut peers);
    print_table(args, mode, &rows);
    if let [library, floor, ..] = rows.as_slice() {
        let ratios: Vec<f64> = library
            .runs
            .iter()
            .zip(&floor.runs)
            .map(|(l, f)| l.cpu_us_per_request() / f.cpu_us_per_request().max(1e-9))
            .collect();
        let shown: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
        println!(
            "\nclient CPU per request, steadfast ÷ floor, run by run: {} (median {:.2})",
            shown.join(", "),
            workload::median(&ratios)
        );
        // Interference from the rest of the machine only ever adds CPU time, so the best run of
        // each side is the steadiest estimate of its own cost.
        let best = |row: &Row| {
            row.runs
                .iter()
                .map(Run::cpu_us_per_request)
                .filter(|x| x.is_finite() && *x > 0.0)
                .fold(f64::INFINITY, f64::min)
        };
        let (l, f) = (best(library), best(floor));
        if l.is_finite() && f.is_finite() {
            println!(
                "best run of each: steadfast {l:.1} µs, floor {f:.1} µs per request ({:.2}×)",
                l / f
            );
        }
    }
    Ok(rows)
}

fn print_table(args: &BenchArgs, mode: Mode, rows: &[Row]) {
    let floor_cpu = rows.get(1).map_or(0.0, Row::cpu_us_per_request);
    match mode {
        Mode::Calls => {
            println!(
                "\nnon-streaming calls: N={} (Python: {}), concurrency {}, {}% of requests 429 + retry-after: 0 (seed {}), up to {} attempts, zero waits; medians of {} runs\n",
                args.n,
                args.peer_n,
                args.concurrency,
                args.fault_rate * 100.0,
                args.seed,
                args.max_attempts,
                args.runs
            );
            println!(
                "| target | calls/s | CPU µs / HTTP request | × floor | peak RSS MB | HTTP requests / call | client-counted requests = journal | failed calls |"
            );
            println!("|---|---|---|---|---|---|---|---|");
        }
        Mode::Stream => {
            println!(
                "\nstreams of a {}-word answer (one SSE event per word): N={}, concurrency {}; memory with {} streams open at once; medians of {} runs\n",
                args.words, args.n, args.concurrency, args.hold, args.runs
            );
            println!(
                "| target | streams/s | answer MB/s | CPU µs / stream | × floor | CPU ns / event | peak RSS MB | KiB per open stream | failed |"
            );
            println!("|---|---|---|---|---|---|---|---|---|");
        }
    }
    for row in rows {
        let cpu = row.cpu_us_per_request();
        let ratio = if floor_cpu > 0.0 {
            cpu / floor_cpu
        } else {
            0.0
        };
        let rss = row.med(|r| crate::procstat::mib(r.peak_rss));
        let failed = row.med(|r| r.failed as f64);
        match mode {
            Mode::Calls => {
                let agree = if row.runs.iter().all(|r| r.client_requests.is_none()) {
                    "n/a".to_owned()
                } else if row
                    .runs
                    .iter()
                    .all(|r| r.client_requests == Some(r.sim_requests))
                {
                    "yes".to_owned()
                } else {
                    let pairs: Vec<String> = row
                        .runs
                        .iter()
                        .map(|r| format!("{:?}/{}", r.client_requests, r.sim_requests))
                        .collect();
                    format!("NO: {}", pairs.join(", "))
                };
                println!(
                    "| {} | {:.0} | {:.1} | {:.2} | {:.1} | {:.3} | {} | {:.0} |",
                    row.label,
                    row.med(Run::calls_per_s),
                    cpu,
                    ratio,
                    rss,
                    row.med(Run::requests_per_call),
                    agree,
                    failed
                );
            }
            Mode::Stream => {
                let events_per_stream = args.words.max(1) as f64;
                println!(
                    "| {} | {:.0} | {:.1} | {:.0} | {:.2} | {:.0} | {:.1} | {:.1} | {:.0} |",
                    row.label,
                    row.med(Run::calls_per_s),
                    row.med(|r| r.text_bytes as f64 / r.wall_s.max(1e-9) / 1e6),
                    cpu,
                    ratio,
                    cpu * 1e3 / events_per_stream,
                    rss,
                    row.med(|r| r.per_stream.unwrap_or(0.0) / 1024.0),
                    failed
                );
            }
        }
    }
    println!("\nper run (calls/s · CPU µs/req · peak RSS MB · journal requests):");
    for row in rows {
        let runs: Vec<String> = row
            .runs
            .iter()
            .map(|r| {
                format!(
                    "{:.0} · {:.1} · {:.1} · {}",
                    r.calls_per_s(),
                    r.cpu_us_per_request(),
                    crate::procstat::mib(r.peak_rss),
                    r.sim_requests
                )
            })
            .collect();
        println!("- {}: {}", row.label, runs.join("; "));
    }
}
