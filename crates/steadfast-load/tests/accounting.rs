//! The soak's accounting check, short and bounded: a few hundred logical calls (sends and
//! streams) under the soak's mixed faults through retry + fallback + circuit breakers, against an
//! in-process simulator. Every call ends in exactly one success or one typed error, and the
//! attempt histories add up — in total and per provider — to the requests the simulator journaled.
// Test code: unwrap/expect/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use steadfast_load::soak::{self, SoakConfig, SoakReport};
use steadfast_sim::{Dialect, Simulator};

fn config(post_commit_cuts: bool) -> SoakConfig {
    SoakConfig {
        // Bounded by the number of calls; the duration is only a backstop, never a threshold.
        duration: Duration::from_secs(600),
        max_calls: Some(400),
        concurrency: 64,
        stream_share: 0.5,
        // Two attempts per target, so that falling back is common (about 8% of calls).
        max_attempts: 2,
        // Generous, so a slow CI machine does not time out requests the simulator has not read yet.
        first_byte_timeout: Duration::from_secs(1),
        sample_every: Duration::from_secs(3600),
        grace: Duration::from_secs(600),
        post_commit_cuts,
        seed: 7,
        linger: Duration::ZERO,
    }
}

async fn soak_once(cfg: &SoakConfig) -> (SoakReport, Simulator) {
    let sim = Simulator::start(soak::soak_scenario(cfg)).await.unwrap();
    let report = soak::run(&sim.url(), cfg).await.unwrap();
    (report, sim)
}

fn check(report: &SoakReport, sim: &Simulator) {
    let journal = sim.journal();
    assert_eq!(report.lost, 0, "calls that never ended: {report:?}");
    assert_eq!(report.started, 400);
    assert_eq!(
        report.ok + report.failed(),
        report.started,
        "each call ends exactly once"
    );
    // The faults really happened and were retried or fallen back on.
    assert!(
        journal.iter().filter(|e| e.rule.is_some()).count() > 50,
        "too few faults"
    );
    assert!(report.attempts > report.started);
    assert_eq!(
        report.attempts,
        journal.len() as u64,
        "attempt histories vs journal; errors without history: {:?}",
        report.empty_history
    );
    for p in [Dialect::OpenAi, Dialect::Anthropic, Dialect::Mistral] {
        assert_eq!(
            report
                .attempts_by_provider
                .get(p.name())
                .copied()
                .unwrap_or(0),
            sim.requests_for(p) as u64,
            "attempts for {}",
            p.name()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attempt_histories_add_up_to_the_journal() {
    let cfg = config(false);
    let (report, sim) = soak_once(&cfg).await;
    check(&report, &sim);
    assert!(report.fell_back > 0, "no call fell back: {report:?}");
}

/// With streams cut after their first content event: the caller's `StreamInterrupted` error
/// carries the attempts before it and its own, so every journaled request is accounted for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attempt_histories_add_up_with_post_commit_cuts() {
    let cfg = config(true);
    let (report, sim) = soak_once(&cfg).await;
    check(&report, &sim);
}
