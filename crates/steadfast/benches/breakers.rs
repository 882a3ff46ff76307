//! The hot-path cost of a circuit breaker: one `try_acquire` and its outcome, for a plain
//! breaker and for one whose decisions are shared through Redis (`Breakers::shared`), which must
//! stay a local mutex operation (the refresher does the I/O in the background).
//!
//! Run with `cargo bench -p steadfast --features redis --bench breakers`. The shared set talks to
//! `STEADFAST_REDIS_URL` when set (its refresher then runs against a real Redis during the
//! measurement), else to an address where nothing listens (the refresher degrades).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "benchmark setup: a failed set-up should abort the run loudly"
)]

use std::sync::LazyLock;
use std::time::Duration;

use steadfast::quota::RedisStore;
use steadfast::resilient::Breakers;
use steadfast::retry::CircuitBreaker;
use steadfast::{Call, llm};

fn main() {
    divan::main();
}

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
});

static CALL: LazyLock<Call> = LazyLock::new(|| {
    llm::call("openai:gpt-4o-mini")
        .unwrap()
        .base_url("http://127.0.0.1:9/bench/v1")
});

fn config() -> steadfast::retry::circuit::CircuitBreakerBuilder {
    CircuitBreaker::builder()
}

static PLAIN: LazyLock<Breakers> = LazyLock::new(|| Breakers::new(config()).unwrap());

static SHARED: LazyLock<Breakers> = LazyLock::new(|| {
    let url = std::env::var("STEADFAST_REDIS_URL")
        .ok()
        .filter(|u| !u.is_empty());
    RUNTIME.block_on(async {
        let store = match url {
            Some(url) => RedisStore::builder(url).connect().await.unwrap(),
            None => RedisStore::builder("redis://127.0.0.1:1/").build().unwrap(),
        };
        Breakers::new(config())
            .unwrap()
            .shared(
                store
                    .breaker_sharing()
                    .refresh_interval(Duration::from_millis(250)),
            )
            .unwrap()
    })
});

/// The engine alone: a breaker with no observer.
#[divan::bench]
fn engine_plain(b: divan::Bencher<'_, '_>) {
    let breaker = config().build().unwrap();
    b.bench_local(|| breaker.try_acquire().unwrap().success());
}

/// A breaker of a plain `Breakers` set.
#[divan::bench]
fn set_plain(b: divan::Bencher<'_, '_>) {
    let breaker = PLAIN.get(&CALL).unwrap();
    b.bench_local(|| breaker.try_acquire().unwrap().success());
}

/// A breaker of a shared `Breakers` set (remote probe, observer, refresher running).
#[divan::bench]
fn set_shared(b: divan::Bencher<'_, '_>) {
    let breaker = SHARED.get(&CALL).unwrap();
    b.bench_local(|| breaker.try_acquire().unwrap().success());
}

/// The lookup a fallback chain does per target, then the acquire, plain.
#[divan::bench]
fn lookup_and_acquire_plain(b: divan::Bencher<'_, '_>) {
    let _ = PLAIN.get(&CALL);
    b.bench_local(|| PLAIN.get(&CALL).unwrap().try_acquire().unwrap().success());
}

/// The same, shared.
#[divan::bench]
fn lookup_and_acquire_shared(b: divan::Bencher<'_, '_>) {
    let _ = SHARED.get(&CALL);
    b.bench_local(|| SHARED.get(&CALL).unwrap().try_acquire().unwrap().success());
}
