//! The Redis quota store's tracing events, against a real `redis-server` it starts itself (see
//! `quota_redis.rs` for the policy). A file of its own: `tracing` caches per call site whether
//! anyone listens, and a test on another thread hitting the same call site while this one
//! installs its subscriber could make that cache say "no one".
#![cfg(feature = "redis")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers: a failed set-up is a failed test"
)]

use std::sync::Arc;
use std::time::Duration;

use steadfast::quota::{Degrade, Quota, QuotaScope, QuotaStore, RedisStore};
use steadfast::retry::CircuitBreaker;
use steadfast_fixtures::redis as test_redis;

/// Captures what a `tracing` subscriber writes.
#[derive(Clone, Default)]
struct Capture(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// Current-thread: the subscriber is the test thread's, and the store's events are emitted there.
#[tokio::test(flavor = "current_thread")]
async fn each_transition_is_one_tracing_event() {
    let Some(mut server) = test_redis::own() else {
        return;
    };
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let store = RedisStore::builder(server.url())
        .admission_timeout(Duration::from_millis(200))
        .breaker(
            CircuitBreaker::builder()
                .window(4)
                .min_calls(2)
                .cooldown(Duration::from_millis(50))
                .build()
                .unwrap(),
        )
        .degrade(Degrade::Local {
            expected_processes: 4,
        })
        .connect()
        .await
        .unwrap();
    let s = QuotaScope::new("sim", "events", "m").unwrap();
    let quota = Quota::builder().requests_per_minute(600).build().unwrap();
    server.kill();
    let _ = store.admit(&s, &quota, 1).await;
    server.restart().unwrap();
    // Bounded: 200 tries, 50 ms apart.
    for _ in 0..200 {
        let _ = store.admit(&s, &quota, 1).await;
        if !store.stats().degraded {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!store.stats().degraded, "recovered: {:?}", store.stats());
    let log = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    let down: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("quota store unreachable"))
        .collect();
    assert_eq!(down.len(), 1, "one event per transition: {log}");
    assert!(
        down[0].contains("WARN") && down[0].contains("expected_processes: 4"),
        "{log}"
    );
    assert_eq!(
        log.lines()
            .filter(|l| l.contains("quota store reachable again"))
            .count(),
        1,
        "{log}"
    );
}
