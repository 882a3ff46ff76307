//! What admission costs per call: the floor (an empty boxed future), the in-process store, and the
//! Redis store against a local `redis-server`, as p50/p99 microseconds over many admissions, and
//! the round trips per admission counted by Redis itself (`INFO commandstats`).
//!
//! ```sh
//! redis-server --port 6399 --save "" --appendonly no &
//! STEADFAST_REDIS_URL=redis://127.0.0.1:6399/ cargo run --release -p steadfast --features redis --example quota_overhead
//! ```

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "an example: failing loudly is the point"
)]

use std::time::{Duration, Instant};

use steadfast::provider::BoxFuture;
use steadfast::quota::{InProcess, Quota, QuotaScope, QuotaStore, RedisStore};

const N: usize = 20_000;

fn percentiles(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q) as usize].as_secs_f64() * 1e6;
    (at(0.50), at(0.99))
}

async fn measure<F: FnMut() -> BoxFuture<()>>(mut admit: F) -> (f64, f64) {
    for _ in 0..1000 {
        admit().await; // warm up
    }
    let mut samples = Vec::with_capacity(N);
    for _ in 0..N {
        let start = Instant::now();
        admit().await;
        samples.push(start.elapsed());
    }
    percentiles(samples)
}

/// Calls of `cmd` so far, from `INFO commandstats`.
async fn calls(conn: &mut redis::aio::MultiplexedConnection, cmd: &str) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(conn)
        .await
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("cmdstat_{cmd}:calls=")))
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let url =
        std::env::var("STEADFAST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into());
    let scope = QuotaScope::new("bench", "overhead", "m").unwrap();
    // Never refuses: the cost measured is the decision, not a wait.
    let quota = Quota::builder()
        .requests_per_minute(1_000_000)
        .burst(1_000_000)
        .tokens_per_minute(100_000_000)
        .build()
        .unwrap();

    let floor = measure(|| Box::pin(async {})).await;
    let local = InProcess::new();
    let in_process = measure(|| {
        let f = local.admit(&scope, &quota, 100);
        Box::pin(async move {
            f.await;
        })
    })
    .await;

    let store = RedisStore::builder(url.as_str())
        .admission_timeout(Duration::from_secs(1))
        .connect()
        .await
        .expect("a Redis at STEADFAST_REDIS_URL");
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let before = calls(&mut conn, "evalsha").await;
    let redis = measure(|| {
        let f = store.admit(&scope, &quota, 100);
        Box::pin(async move {
            f.await;
        })
    })
    .await;
    let after = calls(&mut conn, "evalsha").await;
    let per_call = (after - before) as f64 / (N + 1000) as f64;
    assert!(!store.stats().degraded, "{:?}", store.stats());

    println!("admission overhead, {N} admissions each (µs, p50 / p99):");
    println!(
        "  floor (empty boxed future)  {:8.2} / {:8.2}",
        floor.0, floor.1
    );
    println!(
        "  InProcess                   {:8.2} / {:8.2}",
        in_process.0, in_process.1
    );
    println!(
        "  RedisStore (local redis)    {:8.2} / {:8.2}   {per_call:.2} EVALSHA per admission",
        redis.0, redis.1
    );
}
