//! One measured phase in its own process, so its CPU time and peak memory belong to it alone.
//!
//! Protocol with the orchestrator: the worker warms up, prints `READY`, waits for a line on
//! standard input (the orchestrator resets the simulator's journal in between), runs the measured
//! load, and prints `RESULT <json>`.

use std::io::BufRead;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::calls::{self, Floor};
use crate::procstat::{self, CpuSnapshot};
use crate::streams::{self, STREAM_MODEL};
use crate::workload::{self, CallOutcome, MODEL, WARMUP_MODEL};

/// What a worker measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Non-streaming calls.
    Calls,
    /// Streams of a long answer.
    Stream,
}

/// Through what.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// Steadfast: `call.retry(policy)`.
    Library,
    /// Bare `reqwest` + `serde_json`, retry loop by hand.
    Floor,
}

impl Kind {
    /// The name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Library => "steadfast",
            Kind::Floor => "floor (reqwest + serde_json)",
        }
    }
}

/// Arguments of `steadfast-load worker` (started by the orchestrator, not by hand).
#[derive(Debug, Clone, clap::Args)]
pub struct WorkerArgs {
    /// What to measure.
    #[arg(long, value_enum)]
    pub mode: Mode,
    /// Through what.
    #[arg(long, value_enum)]
    pub kind: Kind,
    /// The simulator's root URL (loopback).
    #[arg(long)]
    pub sim_url: String,
    /// Logical calls (or streams).
    #[arg(long)]
    pub n: u64,
    /// Concurrent calls.
    #[arg(long)]
    pub concurrency: usize,
    /// Attempts per logical call.
    #[arg(long, default_value_t = 10)]
    pub max_attempts: u32,
    /// Warm-up calls before the measured run (excluded).
    #[arg(long, default_value_t = 64)]
    pub warmup: u64,
    /// The request body the floor sends (captured from the library's request).
    #[arg(long)]
    pub body_file: Option<PathBuf>,
    /// Streams to hold open at once after the stream run, for memory per stream (0 = skip).
    #[arg(long, default_value_t = 0)]
    pub hold: u64,
    /// Start no new call after this many seconds.
    #[arg(long, default_value_t = 300)]
    pub max_secs: u64,
    /// What listens to the library's telemetry.
    #[arg(long, value_enum, default_value_t = crate::telemetry::Telemetry::None)]
    pub telemetry: crate::telemetry::Telemetry,
}

/// Runs the worker in the current runtime.
///
/// # Errors
/// Bad arguments, or the orchestrator went away.
pub async fn run(args: WorkerArgs) -> Result<()> {
    crate::sim::check_loopback(&args.sim_url)?;
    let _telemetry = crate::telemetry::install(args.telemetry)?;
    let model = match args.mode {
        Mode::Calls => MODEL,
        Mode::Stream => STREAM_MODEL,
    };
    let path = "/openai/v1/chat/completions";
    let floor = match args.kind {
        Kind::Floor => {
            let file = args
                .body_file
                .as_ref()
                .context("the floor needs --body-file")?;
            let body =
                std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
            Some(Floor {
                client: calls::floor_client()?,
                url: Arc::from(format!("{}{path}", args.sim_url)),
                body: Bytes::from(body),
                max_attempts: args.max_attempts,
            })
        }
        Kind::Library => None,
    };
    let library = calls::resilient(&args.sim_url, model, args.max_attempts)?;
    let warm_library = calls::resilient(&args.sim_url, WARMUP_MODEL, args.max_attempts)?;
    let warm_floor = floor.clone().map(|f| Floor {
        body: Bytes::from(
            String::from_utf8_lossy(&f.body)
                .replace(&format!("\"{model}\""), &format!("\"{WARMUP_MODEL}\""))
                .into_bytes(),
        ),
        ..f
    });
    let max_time = Duration::from_secs(args.max_secs);
    let text_bytes = Arc::new(AtomicU64::new(0));
    let events = Arc::new(AtomicU64::new(0));

    // Warm-up, through the same code path.
    let warm = match (args.mode, &warm_floor) {
        (Mode::Calls, Some(f)) => {
            let f = f.clone();
            workload::drive(args.warmup, args.concurrency, max_time, move || {
                calls::floor_call(f.clone())
            })
            .await
        }
        (Mode::Calls, None) => {
            let r = warm_library.clone();
            workload::drive(args.warmup, args.concurrency, max_time, move || {
                calls::library_call(r.clone())
            })
            .await
        }
        (Mode::Stream, _) => {
            let (l, f) = (library.clone(), floor.clone());
            workload::drive(args.warmup, args.concurrency, max_time, move || {
                stream_once(l.clone(), f.clone(), None, None)
            })
            .await
        }
    };
    handshake("READY").await?;

    let cpu0 = CpuSnapshot::now();
    let t0 = Instant::now();
    let tally = match args.mode {
        Mode::Calls => match floor.clone() {
            Some(f) => {
                workload::drive(args.n, args.concurrency, max_time, move || {
                    calls::floor_call(f.clone())
                })
                .await
            }
            None => {
                let r = library.clone();
                workload::drive(args.n, args.concurrency, max_time, move || {
                    calls::library_call(r.clone())
                })
                .await
            }
        },
        Mode::Stream => {
            let (l, f) = (library.clone(), floor.clone());
            let (tb, ev) = (Arc::clone(&text_bytes), Arc::clone(&events));
            workload::drive(args.n, args.concurrency, max_time, move || {
                stream_once(l.clone(), f.clone(), Some((tb.clone(), ev.clone())), None)
            })
            .await
        }
    };
    let wall = t0.elapsed();
    let cpu1 = CpuSnapshot::now();
    // The orchestrator reads the journal now, before any further request.
    handshake("MEASURED").await?;

    let mut hold = Value::Null;
    if args.mode == Mode::Stream && args.hold > 0 {
        let (l, f) = (library.clone(), floor.clone());
        let report = streams::hold_open(args.hold, Duration::from_secs(60), move |h| {
            stream_once(l.clone(), f.clone(), None, Some(h))
        })
        .await?;
        hold = json!({
            "streams": report.streams,
            "rss_before": report.rss_before,
            "rss_open": report.rss_open,
            "per_stream_bytes": report.per_stream(),
            "finished_ok": report.finished_ok,
        });
    }

    let memory = procstat::resident();
    let result = json!({
        "mode": format!("{:?}", args.mode).to_lowercase(),
        "kind": args.kind.name(),
        "n": args.n,
        "concurrency": args.concurrency,
        "warmup_ok": warm.ok,
        "started": tally.started,
        "ok": tally.ok,
        "failed": tally.failed,
        "client_requests": tally.requests,
        "wall_s": wall.as_secs_f64(),
        "cpu_s": cpu1.since(&cpu0).as_secs_f64(),
        "cpu_ticks_s": cpu1.ticks_since(&cpu0).as_secs_f64(),
        "peak_rss": memory.peak,
        "rss_end": memory.now,
        "threads": procstat::threads(),
        "text_bytes": text_bytes.load(Ordering::Relaxed),
        "events": events.load(Ordering::Relaxed),
        "hold": hold,
    });
    println!("RESULT {result}");
    Ok(())
}

/// Prints `word` and waits for the orchestrator's go-ahead (a line on standard input).
async fn handshake(word: &'static str) -> Result<()> {
    println!("{word}");
    let go = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map(|n| n > 0)
    })
    .await
    .context("waiting for the orchestrator")?
    .context("reading standard input")?;
    if !go {
        bail!("the orchestrator closed standard input");
    }
    Ok(())
}

type Counters = (Arc<AtomicU64>, Arc<AtomicU64>);

async fn stream_once(
    library: steadfast::Resilient,
    floor: Option<Floor>,
    counters: Option<Counters>,
    hold: Option<streams::Hold>,
) -> CallOutcome {
    let o = match floor {
        Some(f) => streams::floor_stream(f, hold).await,
        None => streams::library_stream(library, hold).await,
    };
    if let Some((tb, ev)) = counters {
        tb.fetch_add(o.text_bytes, Ordering::Relaxed);
        ev.fetch_add(o.events, Ordering::Relaxed);
    }
    o.into()
}
