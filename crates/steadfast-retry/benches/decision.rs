//! The per-attempt decision path: predicate + wait + stop (+ storing the error).
//!
//! Run with `cargo bench -p steadfast-retry --bench decision`. The allocation profiler reports
//! allocations per iteration; the decision itself must show none.

use std::time::Duration;

use divan::{AllocProfiler, Bencher, black_box};
use steadfast_retry::{Predicate, Retry, RetryState, stop, wait};

#[global_allocator]
static ALLOC: AllocProfiler = AllocProfiler::system();

fn main() {
    divan::main();
}

fn policy() -> Retry<&'static str> {
    Retry::new()
        .stop(stop::after_attempt(1_000).or(stop::before_delay(Duration::from_secs(3_600))))
        .wait(
            wait::exponential_jitter()
                .max(Duration::from_secs(30))
                .build()
                .unwrap_or_else(|_| wait::none()),
        )
        .retry_if(Predicate::new(|e: &&str| !e.starts_with("fatal")).or(|e: &&str| e.len() > 3))
        .collect_errors(|e: &&str| e.starts_with("invalid"))
}

/// A run that has already failed twice (once collected), so every list has its room reserved.
fn warmed(policy: &Retry<&'static str>) -> RetryState<&'static str> {
    let mut state = policy.start();
    let _ = state.begin();
    let _ = state.fail("transient");
    let _ = state.begin();
    let _ = state.fail("invalid json");
    state
}

/// `begin` + `fail`: everything the policy does between two attempts except sleeping.
#[divan::bench]
fn begin_and_fail(bencher: Bencher) {
    let policy = policy();
    bencher
        .with_inputs(|| warmed(&policy))
        .bench_local_refs(|state| {
            let _ = black_box(state.begin().number());
            black_box(state.fail(black_box("transient")))
        });
}

/// `fail` alone, for an error that is collected for reinsertion.
#[divan::bench]
fn fail_collected(bencher: Bencher) {
    let policy = policy();
    bencher
        .with_inputs(|| warmed(&policy))
        .bench_local_refs(|state| black_box(state.fail(black_box("invalid json"))));
}

/// The stop condition alone.
#[divan::bench]
fn stop_check(bencher: Bencher) {
    let s = stop::after_attempt(5).or(stop::before_delay(Duration::from_secs(60)));
    bencher.bench_local(|| {
        black_box(&s).check(
            black_box(3),
            black_box(Duration::from_secs(10)),
            black_box(Duration::from_secs(4)),
        )
    });
}

/// One jittered exponential wait, huge attempt number included.
#[divan::bench(args = [1, 10, 10_000, u32::MAX])]
fn exponential_jitter_wait(bencher: Bencher, attempt: u32) {
    let w = wait::exponential_jitter()
        .max(Duration::from_secs(60))
        .build()
        .unwrap_or_else(|_| wait::none());
    bencher.bench_local(|| black_box(&w).delay(black_box(attempt), 7));
}

/// A whole run of three failing attempts with zero waits (per-run allocations included).
#[divan::bench]
fn blocking_run_three_attempts(bencher: Bencher) {
    let policy = Retry::<&'static str>::new()
        .stop(stop::after_attempt(3))
        .wait(wait::none());
    bencher.bench_local(|| black_box(policy.run_blocking(|_| Err::<(), _>("transient"))));
}
