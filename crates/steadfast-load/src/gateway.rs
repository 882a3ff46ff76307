//! `steadfast-load gateway`: what the gateway adds to a call, on this machine.
//!
//! One `steadfast-sim` process is the upstream of every side. The same client (reqwest, `c`
//! requests in flight, this process) sends the same OpenAI Chat Completions request, in
//! alternating windows, to:
//!
//! - `direct`: the simulator itself (the rig's ceiling);
//! - `floor`: a bare hyper reverse proxy doing no work (`steadfast-load proxy-floor`, a process
//!   of its own): the cost of one more HTTP hop;
//! - `gateway`: `steadfast gateway --config` (a process of its own) with an alias routed to the
//!   simulator;
//! - `gateway+redis+log` (with `--redis`): the same gateway with the deployment's quota in
//!   Redis (one `EVALSHA` per request) and its access log on (`-v`, to /dev/null);
//! - `litellm` (with `--litellm PATH`): LiteLLM's proxy, the same model on the same simulator.
//!
//! Per window and side: requests/s, client-observed p50/p99 latency, the added p50/p99 (the
//! side's minus `direct`'s of the same window), and the CPU time of the proxy process per
//! request (`/proc/PID/task/*/schedstat`: user + system, every thread, ns). Then peak RSS, and
//! with `--streams N` N concurrent open streams through the gateway (and the floor): resident
//! memory per open stream.
//!
//! Only loopback; every window is bounded in requests and time.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use steadfast_sim::{Action, Rule, Scenario};

use crate::bench::SimArgs;

/// Arguments of `steadfast-load gateway`.
#[derive(Debug, Clone, clap::Args)]
pub struct GatewayBenchArgs {
    /// The simulator.
    #[command(flatten)]
    pub sim: SimArgs,
    /// The `steadfast` binary (default: next to this one).
    #[arg(long)]
    pub steadfast: Option<PathBuf>,
    /// Requests per window and side.
    #[arg(short, long, default_value_t = 20_000)]
    pub requests: usize,
    /// Requests in flight at once (with `--rate`: at most).
    #[arg(short, long, default_value_t = 64)]
    pub concurrency: usize,
    /// Open loop: send at this fixed rate (requests/s) instead of as fast as the answers come,
    /// with at most `-c` in flight. Latency is then measured below saturation; each window also
    /// reports how late the sends were against their schedule (the client kept up if small).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Windows (each side once per window, in an order rotated window by window).
    #[arg(long, default_value_t = 5)]
    pub windows: usize,
    /// Also the row with the quota in this Redis and the access log on (redis://127.0.0.1:PORT).
    #[arg(long)]
    pub redis: Option<String>,
    /// Also LiteLLM's proxy: the path of its `litellm` command (in a venv).
    #[arg(long)]
    pub litellm: Option<PathBuf>,
    /// LiteLLM's worker processes.
    #[arg(long, default_value_t = 1)]
    pub litellm_workers: u32,
    /// Requests per window for LiteLLM (it is far slower).
    #[arg(long, default_value_t = 2_000)]
    pub litellm_requests: usize,
    /// Then hold this many streams open at once through the gateway and the floor (0: skip).
    #[arg(long, default_value_t = 0)]
    pub streams: usize,
    /// The longest one window may take.
    #[arg(long, default_value_t = 120)]
    pub max_secs: u64,
}

/// A proxy process under measurement.
struct Proxy {
    name: String,
    /// Where the client sends its requests (the chat completions URL).
    url: String,
    /// The model the client names.
    model: String,
    child: Child,
    requests: usize,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One window of one side.
#[derive(Debug, Clone)]
struct Window {
    rps: f64,
    p50: Duration,
    p99: Duration,
    cpu_per_request: Option<Duration>,
    errors: usize,
    /// With `--rate`: the 99th percentile of how late the sends were against their schedule.
    lag_p99: Option<Duration>,
}

/// The client's bearer key: the gateway's inbound key (as its SHA-256 in the config) and
/// LiteLLM's master key (which it requires, `sk-` first).
const KEY: &str = "sk-bench-inbound-key-7f3a9c2e";

/// Runs the benchmark and prints its tables.
///
/// # Errors
/// A process does not start, or a window fails.
pub fn run(args: &GatewayBenchArgs) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("building the runtime")?;
    let sim = args.sim.open()?;
    rt.block_on(sim.wait_healthy())?;
    rt.block_on(sim.set_scenario(&Scenario::new()))?;
    let dir = std::env::temp_dir().join(format!("steadfast-gw-bench-{}", std::process::id()));
    fs::create_dir_all(&dir)?;
    let steadfast = match &args.steadfast {
        Some(p) => p.clone(),
        None => sibling("steadfast")?,
    };
    let upstream = format!("{}/openai/v1", sim.url());
    let mut proxies = vec![
        floor_proxy(sim.url(), args.requests)?,
        gateway(&steadfast, &dir, &upstream, None, args.requests)?,
    ];
    if let Some(url) = &args.redis {
        proxies.push(gateway(
            &steadfast,
            &dir,
            &upstream,
            Some(url),
            args.requests,
        )?);
    }
    if let Some(bin) = &args.litellm {
        proxies.push(litellm(bin, &dir, &upstream, args)?);
    }
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency * 2)
        .build()?;
    let direct_url = format!("{upstream}/chat/completions");
    eprintln!(
        "gateway bench: {} windows, c={}, {} requests per window and side; simulator pid {:?}",
        args.windows,
        args.concurrency,
        args.requests,
        sim.pid()
    );
    let limit = Duration::from_secs(args.max_secs);
    // Warm-up of every side: connections, caches, LiteLLM's lazy imports.
    rt.block_on(async {
        load(
            &client,
            &direct_url,
            "gpt-4o-mini",
            500,
            args.concurrency,
            limit,
        )
        .await?;
        for p in &proxies {
            load(&client, &p.url, &p.model, 500, args.concurrency, limit).await?;
        }
        anyhow::Ok(())
    })?;
    let names: Vec<String> = std::iter::once("direct".to_owned())
        .chain(proxies.iter().map(|p| p.name.clone()))
        .collect();
    let mut results: Vec<Vec<Window>> = vec![Vec::new(); names.len()];
    for w in 0..args.windows {
        for k in 0..names.len() {
            let i = (k + w) % names.len();
            let (url, model, pid, n) = if i == 0 {
                (direct_url.as_str(), "gpt-4o-mini", None, args.requests)
            } else {
                let p = &proxies[i - 1];
                (
                    p.url.as_str(),
                    p.model.as_str(),
                    Some(p.child.id()),
                    p.requests,
                )
            };
            let before = pid.map(cpu_ns);
            let started = Instant::now();
            let (lat, errors, lag) = match args.rate {
                None => rt
                    .block_on(load(&client, url, model, n, args.concurrency, limit))
                    .map(|(l, e)| (l, e, None))?,
                Some(rate) => {
                    let (l, e, lag) = rt.block_on(load_at_rate(
                        &client,
                        url,
                        model,
                        n,
                        (args.concurrency, rate),
                        limit,
                    ))?;
                    (l, e, Some(lag))
                }
            };
            let elapsed = started.elapsed();
            let cpu = match (pid, before) {
                (Some(pid), Some(b)) => Some(Duration::from_nanos(
                    cpu_ns(pid).saturating_sub(b) / n.max(1) as u64,
                )),
                _ => None,
            };
            let mut win = summarize(lat, errors, elapsed, cpu);
            win.lag_p99 = lag;
            eprintln!(
                "window {w} {:<18} {:>8.0} req/s  p50 {:>7.1} µs  p99 {:>7.1} µs  cpu/req {}  errors {}{}",
                names[i],
                win.rps,
                us(win.p50),
                us(win.p99),
                win.cpu_per_request
                    .map_or("-".into(), |c| format!("{:.1} µs", us(c))),
                win.errors,
                win.lag_p99
                    .map_or(String::new(), |l| format!("  send lag p99 {:.0} µs", us(l)))
            );
            results[i].push(win);
        }
    }
    if args.windows > 0 {
        if let Some(rate) = args.rate {
            println!(
                "\nopen loop: {rate:.0} requests/s, at most {} in flight",
                args.concurrency
            );
        }
        print_table(&names, &results, &proxies);
    }
    if args.streams > 0 {
        // A 200-word echo, one event every 2 s: the first content (the gateway's commit point)
        // comes within seconds, and each stream stays open for minutes.
        rt.block_on(
            sim.set_scenario(
                &Scenario::new().rule(
                    Rule::new()
                        .stream(true)
                        .action(Action::model().chunk_delay_ms(STREAM_CHUNK_MS)),
                ),
            ),
        )?;
        println!(
            "\n| side | open streams | RSS idle | RSS with the streams open | per open stream |\n|---|---|---|---|---|"
        );
        for p in proxies
            .iter()
            .filter(|p| p.name == "gateway" || p.name == "floor")
        {
            rt.block_on(open_streams(&client, p, args.streams, limit))?;
        }
    }
    drop(proxies);
    let _ = fs::remove_dir_all(&dir);
    Ok(())
}

/// The binary `name` next to this executable.
fn sibling(name: &str) -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe.parent().context("no directory")?;
    [dir.join(name), dir.join("..").join(name)]
        .into_iter()
        .find(|p| p.is_file())
        .with_context(|| {
            format!(
                "no `{name}` next to {}: build it (cargo build --release -p steadfast-cli)",
                exe.display()
            )
        })
}

/// Starts `cmd` and reads its standard output until a line starts with `prefix`; returns the
/// rest of that line.
fn spawn_until(mut cmd: Command, prefix: &str, what: &str) -> Result<(Child, String)> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {what}"))?;
    let stdout = child.stdout.take().context("stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let mut found = None;
    for line in lines.by_ref() {
        let line = line?;
        if let Some(rest) = line.strip_prefix(prefix) {
            found = Some(rest.trim().to_owned());
            break;
        }
    }
    std::thread::spawn(move || lines.for_each(drop));
    match found {
        Some(v) => Ok((child, v)),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            bail!("{what} printed no `{prefix}` line")
        }
    }
}

fn floor_proxy(sim_url: &str, requests: usize) -> Result<Proxy> {
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.args(["proxy-floor", "--upstream", sim_url]);
    let (child, url) = spawn_until(cmd, "floor: ", "the floor proxy")?;
    Ok(Proxy {
        name: "floor".into(),
        url: format!("{url}/openai/v1/chat/completions"),
        model: "gpt-4o-mini".into(),
        child,
        requests,
    })
}

fn gateway(
    bin: &Path,
    dir: &Path,
    upstream: &str,
    redis: Option<&str>,
    requests: usize,
) -> Result<Proxy> {
    // With Redis: a quota far above the load, so that every request pays its EVALSHA and none
    // waits; a fresh account label so that earlier runs' state does not matter.
    let quota = if redis.is_some() {
        format!(
            ", rpm = 1000000, account = \"bench-{}\"",
            std::process::id()
        )
    } else {
        String::new()
    };
    let config = format!(
        "[[keys]]\nname = \"bench\"\nsha256 = \"{}\"\n\n[models.fast]\ntargets = [{{ target = \"openai:gpt-4o-mini\", base_url = \"{upstream}\", api_key_env = \"BENCH_UPSTREAM_KEY\"{quota} }}]\n",
        sha256_hex(KEY)
    );
    let name = if redis.is_some() {
        "gateway+redis+log"
    } else {
        "gateway"
    };
    let path = dir.join(format!("{name}.toml"));
    fs::write(&path, config)?;
    let mut cmd = Command::new(bin);
    if redis.is_some() {
        cmd.arg("-v");
    }
    cmd.args(["gateway", "--addr", "127.0.0.1:0", "--config"])
        .arg(&path)
        .env("BENCH_UPSTREAM_KEY", "sim-key")
        .stderr(Stdio::null());
    if let Some(url) = redis {
        cmd.args(["--redis", url]);
    }
    let (child, url) = spawn_until(cmd, "gateway: ", "the gateway")?;
    Ok(Proxy {
        name: name.into(),
        url: format!("{url}/v1/chat/completions"),
        model: "fast".into(),
        child,
        requests,
    })
}

fn litellm(bin: &Path, dir: &Path, upstream: &str, args: &GatewayBenchArgs) -> Result<Proxy> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let config = format!(
        "model_list:\n  - model_name: fast\n    litellm_params:\n      model: openai/gpt-4o-mini\n      api_base: {upstream}\n      api_key: sim-key\n"
    );
    let path = dir.join("litellm.yaml");
    fs::write(&path, config)?;
    let child = Command::new(bin)
        .args(["--config"])
        .arg(&path)
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--num_workers",
            &args.litellm_workers.to_string(),
        ])
        .env("LITELLM_MASTER_KEY", KEY)
        .env("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        .env("LITELLM_LOG", "ERROR")
        .env("LITELLM_TELEMETRY", "False")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let proxy = Proxy {
        name: "litellm".into(),
        url: format!("http://127.0.0.1:{port}/v1/chat/completions"),
        model: "fast".into(),
        child,
        requests: args.litellm_requests,
    };
    // Wait (at most 120 s) until it answers a completion.
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    loop {
        let ok = rt.block_on(async {
            http.post(&proxy.url)
                .bearer_auth(KEY)
                .header("content-type", "application/json")
                .body(body(&proxy.model, false))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        });
        if ok {
            return Ok(proxy);
        }
        if Instant::now() > deadline {
            bail!("LiteLLM's proxy did not answer within 120 s");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The pause between the simulator's stream events in the open-streams phase.
const STREAM_CHUNK_MS: u64 = 2_000;

/// The request every side gets (a stream: a 200-word prompt, echoed one word per event).
fn body(model: &str, stream: bool) -> String {
    let content = if stream {
        "word ".repeat(200)
    } else {
        "hello there".to_owned()
    };
    serde_json::json!({
        "model": model,
        "messages": [{"role": "user", "content": content}],
        "stream": stream,
    })
    .to_string()
}

/// `n` requests, `c` at a time: each one's latency, and the failures.
async fn load(
    client: &reqwest::Client,
    url: &str,
    model: &str,
    n: usize,
    c: usize,
    limit: Duration,
) -> Result<(Vec<Duration>, usize)> {
    let body = bytes::Bytes::from(body(model, false));
    let started = Instant::now();
    let mut lat = Vec::with_capacity(n);
    let mut errors = 0;
    let mut inflight = FuturesUnordered::new();
    let mut sent = 0;
    let one = |client: reqwest::Client, body: bytes::Bytes| {
        let url = url.to_owned();
        async move {
            let t = Instant::now();
            let r = client
                .post(url)
                .bearer_auth(KEY)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await;
            let ok = match r {
                Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                _ => false,
            };
            (t.elapsed(), ok)
        }
    };
    while sent < n.min(c) {
        inflight.push(one(client.clone(), body.clone()));
        sent += 1;
    }
    while let Some((d, ok)) = inflight.next().await {
        if ok {
            lat.push(d);
        } else {
            errors += 1;
        }
        if started.elapsed() > limit {
            bail!("a window took longer than {limit:?}");
        }
        if sent < n {
            inflight.push(one(client.clone(), body.clone()));
            sent += 1;
        }
    }
    Ok((lat, errors))
}

/// `n` requests sent on a fixed schedule, `rate` per second (open loop), with at most `c` in
/// flight: each one's latency from its send, the failures, and the 99th percentile of how late
/// the sends were against the schedule (tokio's timer has a 1 ms resolution, so the requests of
/// one millisecond leave together; a send held back because `c` were in flight is late too).
async fn load_at_rate(
    client: &reqwest::Client,
    url: &str,
    model: &str,
    n: usize,
    (c, rate): (usize, f64),
    limit: Duration,
) -> Result<(Vec<Duration>, usize, Duration)> {
    if !(rate.is_finite() && rate > 0.0) {
        bail!("--rate must be a positive number of requests per second, not {rate}");
    }
    if c == 0 {
        bail!("--rate needs at least one request in flight (-c 1 or more)");
    }
    let body = bytes::Bytes::from(body(model, false));
    let started = tokio::time::Instant::now();
    let mut lat = Vec::with_capacity(n);
    let mut lags = Vec::with_capacity(n);
    let mut errors = 0;
    let mut inflight = FuturesUnordered::new();
    let one = |client: reqwest::Client, body: bytes::Bytes| {
        let url = url.to_owned();
        async move {
            let t = Instant::now();
            let r = client
                .post(url)
                .bearer_auth(KEY)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await;
            let ok = match r {
                Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                _ => false,
            };
            (t.elapsed(), ok)
        }
    };
    let mut record = |(d, ok): (Duration, bool)| {
        if ok {
            lat.push(d);
        } else {
            errors += 1;
        }
    };
    for i in 0..n {
        let due = started + Duration::from_secs_f64(i as f64 / rate);
        // Wait for the send time (and for room under `c`), collecting answers meanwhile.
        loop {
            if inflight.len() < c && tokio::time::Instant::now() >= due {
                break;
            }
            tokio::select! {
                Some(done) = inflight.next(), if !inflight.is_empty() => record(done),
                () = tokio::time::sleep_until(due), if inflight.len() < c => {}
            }
            if started.elapsed() > limit {
                bail!("a window took longer than {limit:?}");
            }
        }
        lags.push(tokio::time::Instant::now().saturating_duration_since(due));
        inflight.push(one(client.clone(), body.clone()));
    }
    while let Some(done) = inflight.next().await {
        record(done);
        if started.elapsed() > limit {
            bail!("a window took longer than {limit:?}");
        }
    }
    lags.sort_unstable();
    let lag_p99 = lags
        .get(((lags.len() as f64 * 0.99) as usize).min(lags.len().saturating_sub(1)))
        .copied()
        .unwrap_or_default();
    Ok((lat, errors, lag_p99))
}

fn summarize(
    mut lat: Vec<Duration>,
    errors: usize,
    elapsed: Duration,
    cpu: Option<Duration>,
) -> Window {
    lat.sort_unstable();
    let at = |q: f64| {
        lat.get(((lat.len() as f64 * q) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Window {
        rps: (lat.len() + errors) as f64 / elapsed.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
        cpu_per_request: cpu,
        errors,
        lag_p99: None,
    }
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn spread(v: &[f64]) -> String {
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("{lo:.0}–{hi:.0}")
}

fn print_table(names: &[String], results: &[Vec<Window>], proxies: &[Proxy]) {
    // Open loop: one more column, how late the sends were (the client kept up if small).
    let open = results.iter().flatten().any(|w| w.lag_p99.is_some());
    println!(
        "\n| side | req/s median (spread) | p50 µs | p99 µs | added p50 µs median (spread) | added p99 µs median (spread) | proxy CPU µs/req median (spread) | proxy peak RSS MiB |{}\n|---|---|---|---|---|---|---|---|{}",
        if open {
            " send lag p99 µs (max) |"
        } else {
            ""
        },
        if open { "---|" } else { "" }
    );
    let direct = &results[0];
    for (i, name) in names.iter().enumerate() {
        let r = &results[i];
        let rps: Vec<f64> = r.iter().map(|w| w.rps).collect();
        let p50: Vec<f64> = r.iter().map(|w| us(w.p50)).collect();
        let p99: Vec<f64> = r.iter().map(|w| us(w.p99)).collect();
        let (a50, a99): (Vec<f64>, Vec<f64>) = r
            .iter()
            .zip(direct)
            .map(|(w, d)| (us(w.p50) - us(d.p50), us(w.p99) - us(d.p99)))
            .unzip();
        let cpu: Vec<f64> = r.iter().filter_map(|w| w.cpu_per_request.map(us)).collect();
        let rss = if i == 0 {
            "-".to_owned()
        } else {
            hwm_mib(proxies[i - 1].child.id()).map_or("-".into(), |m| format!("{m:.1}"))
        };
        let errors: usize = r.iter().map(|w| w.errors).sum();
        let lag = r
            .iter()
            .filter_map(|w| w.lag_p99.map(us))
            .fold(None, |m: Option<f64>, l| Some(m.map_or(l, |m| m.max(l))))
            .map_or(String::new(), |l| format!(" {l:.0} |"));
        let added = |v: &[f64]| {
            if i == 0 {
                "-".to_owned()
            } else {
                format!("{:.0} ({})", median(v.to_vec()), spread(v))
            }
        };
        println!(
            "| {name}{} | {:.0} ({}) | {:.0} | {:.0} | {} | {} | {} | {rss} |{lag}",
            if errors > 0 {
                format!(" ({errors} errors)")
            } else {
                String::new()
            },
            median(rps.clone()),
            spread(&rps),
            median(p50),
            median(p99),
            added(&a50),
            added(&a99),
            if cpu.is_empty() {
                "-".to_owned()
            } else {
                format!(
                    "{:.1} ({:.1}–{:.1})",
                    median(cpu.clone()),
                    cpu.iter().copied().fold(f64::INFINITY, f64::min),
                    cpu.iter().copied().fold(0.0, f64::max)
                )
            }
        );
    }
}

/// Holds `n` streams open through `p` (each past its first content event, so past the
/// gateway's commit point), then reads the proxy's resident memory.
async fn open_streams(
    client: &reqwest::Client,
    p: &Proxy,
    n: usize,
    limit: Duration,
) -> Result<()> {
    let pid = p.child.id();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = rss_kib(pid).context("VmRSS")?;
    let client = Arc::new(client.clone());
    let started = Instant::now();
    let mut open = Vec::with_capacity(n);
    let mut pending = FuturesUnordered::new();
    for _ in 0..n {
        let client = Arc::clone(&client);
        let url = p.url.clone();
        let body = body(&p.model, true);
        pending.push(async move {
            let mut r = match client
                .post(url)
                .bearer_auth(KEY)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
            {
                Ok(r) => r,
                Err(e) => return Err(format!("client: {}", error_chain(&e))),
            };
            if !r.status().is_success() {
                let status = r.status();
                let text = r.text().await.unwrap_or_default();
                return Err(format!(
                    "{status}: {}",
                    text.chars().take(200).collect::<String>()
                ));
            }
            // The first chunk: the stream is open end to end.
            match r.chunk().await {
                Ok(Some(_)) => Ok(r),
                Ok(None) => Err("ended before its first chunk".into()),
                Err(e) => Err(format!("first chunk: {}", error_chain(&e))),
            }
        });
    }
    let mut failures: std::collections::BTreeMap<String, usize> = Default::default();
    while let Some(r) = pending.next().await {
        match r {
            Ok(r) => open.push(r),
            Err(why) => *failures.entry(why).or_default() += 1,
        }
        if started.elapsed() > limit {
            bail!("opening {n} streams took longer than {limit:?}");
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let full = rss_kib(pid).context("VmRSS")?;
    let per = (full.saturating_sub(idle) as f64 * 1024.0) / open.len().max(1) as f64;
    println!(
        "| {} | {} of {n} | {:.1} MiB | {:.1} MiB | {:.1} KiB |",
        p.name,
        open.len(),
        idle as f64 / 1024.0,
        full as f64 / 1024.0,
        per / 1024.0
    );
    for (why, count) in &failures {
        eprintln!("{}: {count} streams did not open: {why}", p.name);
    }
    drop(open);
    tokio::time::sleep(Duration::from_secs(1)).await;
    Ok(())
}

/// An error and its sources, for the failure tally.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// CPU time (user + system) of every thread of `pid` so far, in ns.
fn cpu_ns(pid: u32) -> u64 {
    let Ok(dir) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    dir.flatten()
        .filter_map(|e| fs::read_to_string(e.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

fn status_kib(pid: u32, field: &str) -> Option<u64> {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(field))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn rss_kib(pid: u32) -> Option<u64> {
    status_kib(pid, "VmRSS:")
}

fn hwm_mib(pid: u32) -> Option<f64> {
    status_kib(pid, "VmHWM:").map(|k| k as f64 / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_open_loop_sends_every_request_of_its_schedule() {
        let sim = steadfast_sim::Simulator::start(Scenario::new())
            .await
            .unwrap();
        let url = format!(
            "{}/chat/completions",
            sim.base_url(steadfast_sim::Dialect::OpenAi)
        );
        let client = reqwest::Client::new();
        let limit = Duration::from_secs(60);
        let (lat, errors, _lag) = load_at_rate(&client, &url, "gpt-4o-mini", 30, (4, 500.0), limit)
            .await
            .unwrap();
        assert_eq!((lat.len(), errors), (30, 0));
        assert!(lat.iter().all(|d| *d > Duration::ZERO));
        // A window that cannot hold its schedule is refused, not run.
        for (c, rate) in [
            (4, 0.0),
            (4, -1.0),
            (4, f64::NAN),
            (4, f64::INFINITY),
            (0, 10.0),
        ] {
            let e = load_at_rate(&client, &url, "gpt-4o-mini", 1, (c, rate), limit)
                .await
                .unwrap_err();
            assert!(e.to_string().contains("--rate"), "{e}");
        }
        sim.shutdown().await;
    }
}
