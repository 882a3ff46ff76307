//! Circuit-breaker decisions shared through a real `redis-server` (never a mock): several
//! "processes" in one test, each with its own `RedisStore` (its own connection manager) and its
//! own `Breakers` set.
//!
//! Redis's clock and the refresher's real I/O are involved, so these tests run on real time and
//! wait for outcomes by polling with a generous limit; nothing asserts how fast anything is.
//! Which server: see `steadfast_fixtures::redis` (tests that kill Redis start their own).
#![cfg(all(feature = "redis", feature = "openai"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers: a failed set-up is a failed test"
)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use steadfast::llm;
use steadfast::quota::RedisStore;
use steadfast::resilient::Breakers;
use steadfast::retry::CircuitBreaker;
use steadfast::retry::circuit::{CircuitState, Permit};
use steadfast::telemetry::metrics::{BreakerMeasurement, Measurement, Recorder};
use steadfast_fixtures::redis as test_redis;

const REFRESH: Duration = Duration::from_millis(50);
const COOLDOWN: Duration = Duration::from_millis(400);
/// How long a test waits for something that should happen within a few refresh intervals.
const PATIENCE: Duration = Duration::from_secs(20);

async fn store(url: &str) -> RedisStore {
    RedisStore::builder(url)
        .admission_timeout(Duration::from_secs(1))
        .command_timeout(Duration::from_secs(1))
        .connect()
        .await
        .unwrap()
}

/// One "process": its own store connection and its own breaker set.
async fn process(url: &str, cooldown: Duration) -> Breakers {
    Breakers::new(
        CircuitBreaker::builder()
            .window(2)
            .min_calls(2)
            .failure_rate(0.5)
            .cooldown(cooldown),
    )
    .unwrap()
    .shared(store(url).await.breaker_sharing().refresh_interval(REFRESH))
    .unwrap()
}

/// A target no other test (or earlier run against a shared Redis) uses.
fn target(what: &str) -> steadfast::Call {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    llm::call("openai:gpt-4o-mini").unwrap().base_url(format!(
        "http://user:hunter2@127.0.0.1:9/{what}-{}-{nanos}/v1",
        std::process::id()
    ))
}

async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let start = tokio::time::Instant::now();
    while !done() {
        assert!(start.elapsed() < PATIENCE, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn open(breaker: &CircuitBreaker) {
    for _ in 0..2 {
        breaker.try_acquire().unwrap().failure(&"503");
    }
    assert_eq!(breaker.state(), CircuitState::Open);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_breaker_in_one_process_is_honoured_by_the_others() {
    let Some(redis) = test_redis::shared() else {
        return;
    };
    let call = target("honoured");
    let (set_a, set_b, set_c) = (
        process(&redis.url, Duration::from_secs(60)).await,
        process(&redis.url, Duration::from_secs(60)).await,
        process(&redis.url, Duration::from_secs(60)).await,
    );
    let (a, b, c) = (
        set_a.get(&call).unwrap(),
        set_b.get(&call).unwrap(),
        set_c.get(&call).unwrap(),
    );
    // Another target of the same processes, known to them, is not affected.
    let other = set_b.get(&target("unaffected")).unwrap();
    open(&a);
    eventually("b and c open", || {
        b.state() == CircuitState::Open && c.state() == CircuitState::Open
    })
    .await;
    assert!(b.try_acquire().is_none() && c.try_acquire().is_none());
    // They open until the same end (on Redis's clock), not for a cooldown of their own.
    let (ua, ub) = (a.open_until().unwrap(), b.open_until().unwrap());
    let skew = if ua > ub { ua - ub } else { ub - ua };
    assert!(skew < Duration::from_secs(5), "{skew:?}");
    assert_eq!(other.state(), CircuitState::Closed);
    other.try_acquire().expect("another target").success();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_one_probe_goes_out_for_the_whole_fleet() {
    let Some(redis) = test_redis::shared() else {
        return;
    };
    let call = target("one-probe");
    // The sets must live: sharing lasts as long as they do.
    let mut sets = Vec::new();
    let mut fleet = Vec::new();
    for _ in 0..3 {
        let set = process(&redis.url, COOLDOWN).await;
        fleet.push(set.get(&call).unwrap());
        sets.push(set);
    }
    open(&fleet[0]);
    eventually("all open", || {
        fleet.iter().all(|b| b.open_until().is_some())
    })
    .await;

    // The cooldown ends; whoever takes the lease probes, the others keep refusing.
    let probes = |fleet: &[CircuitBreaker]| -> Vec<(usize, Permit)> {
        fleet
            .iter()
            .enumerate()
            .filter_map(|(i, b)| b.try_acquire().map(|p| (i, p)))
            .collect()
    };
    let mut granted = Vec::new();
    eventually("a probe", || {
        granted.extend(probes(&fleet));
        !granted.is_empty()
    })
    .await;
    // Many refresh intervals later, still one probe only (the lease lasts 30 s).
    for _ in 0..20 {
        tokio::time::sleep(REFRESH).await;
        granted.extend(probes(&fleet));
    }
    assert_eq!(granted.len(), 1, "one probe fleet-wide");
    let (_, probe) = granted.pop().unwrap();
    assert!(probe.is_probe());

    // The probe fails: the target opens again for everyone, for a new cooldown.
    let before: Vec<_> = fleet.iter().map(|b| b.open_until()).collect();
    probe.failure(&"503");
    eventually("everyone reopened", || {
        fleet
            .iter()
            .zip(&before)
            .all(|(b, was)| b.open_until().is_some() && b.open_until() > *was)
    })
    .await;

    // Next cooldown: again one probe; this time it succeeds and closes the target for all.
    eventually("a second probe", || {
        granted.extend(probes(&fleet));
        !granted.is_empty()
    })
    .await;
    for _ in 0..10 {
        tokio::time::sleep(REFRESH).await;
        granted.extend(probes(&fleet));
    }
    assert_eq!(granted.len(), 1, "one probe fleet-wide, again");
    let (_, probe) = granted.pop().unwrap();
    probe.success();
    eventually("everyone closed", || {
        fleet.iter().all(|b| b.state() == CircuitState::Closed)
    })
    .await;
    for b in &fleet {
        b.try_acquire().expect("closed").success();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_the_breakers_act_alone_and_share_again_when_it_returns() {
    let Some(mut server) = test_redis::own() else {
        return;
    };
    let url = server.url();
    let call = target("outage");
    // a probes soon; b's cooldown is long, so a's hearing of it is unmistakable.
    let (set_a, set_b) = (
        process(&url, COOLDOWN).await,
        process(&url, Duration::from_secs(60)).await,
    );
    let (a, b) = (set_a.get(&call).unwrap(), set_b.get(&call).unwrap());
    server.kill();

    // Redis is gone: a's breaker opens and, its cooldown over, probes by itself.
    open(&a);
    let probe = {
        let mut probe = None;
        eventually("a local probe", || {
            probe = a.try_acquire();
            probe.is_some()
        })
        .await;
        probe.unwrap()
    };
    assert!(probe.is_probe());
    assert_eq!(b.state(), CircuitState::Closed, "b cannot have heard");
    probe.failure(&"503"); // open again, with Redis still gone: nothing fails

    // Redis returns (empty): the decisions are shared again.
    server.restart().unwrap();
    open(&b);
    let heard = tokio::time::Instant::now() + Duration::from_secs(30);
    eventually("a honours b's open once Redis is back", || {
        a.open_until().is_some_and(|until| until > heard)
    })
    .await;
    assert!(a.try_acquire().is_none());
}

#[tokio::test]
async fn shared_breakers_never_show_the_redis_password() {
    // Built lazily: no Redis needed, nothing listens on port 1.
    let store = RedisStore::builder("redis://user:hunter2@127.0.0.1:1/")
        .build()
        .unwrap();
    let sharing = store.breaker_sharing();
    let shown = format!("{sharing:?}");
    assert!(
        !shown.contains("hunter2") && shown.contains("user:***@"),
        "{shown}"
    );
    let breakers = Breakers::new(CircuitBreaker::builder())
        .unwrap()
        .shared(sharing)
        .unwrap();
    let shown = format!("{breakers:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    // With Redis unreachable the breakers still decide locally, without an error.
    let breaker = breakers.get(&target("unreachable")).unwrap();
    breaker.try_acquire().expect("closed").success();
    // A zero refresh interval is a configuration error, and so is a missing runtime.
    let err = Breakers::new(CircuitBreaker::builder())
        .unwrap()
        .shared(store.breaker_sharing().refresh_interval(Duration::ZERO))
        .unwrap_err();
    assert_eq!(err.kind(), steadfast::ErrorKind::Config);
}

#[test]
fn shared_breakers_need_a_runtime() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = rt.block_on(async { RedisStore::builder("redis://127.0.0.1:1/").build().unwrap() });
    let err = Breakers::new(CircuitBreaker::builder())
        .unwrap()
        .shared(store.breaker_sharing())
        .unwrap_err();
    assert_eq!(err.kind(), steadfast::ErrorKind::Config);
    assert!(err.to_string().contains("Tokio runtime"), "{err}");
}

/// The breaker transitions a recorder hears: (target, from, to, remote).
#[derive(Debug, Default)]
struct Heard(Mutex<Vec<(String, CircuitState, CircuitState, bool)>>);

impl Recorder for Heard {
    fn operation(&self, _: &Measurement<'_>) {}
    fn breaker(&self, m: &BreakerMeasurement<'_>) {
        self.0
            .lock()
            .unwrap()
            .push((m.target.to_string(), m.from, m.to, m.remote));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_recorder_hears_remote_decisions_as_remote() {
    let Some(redis) = test_redis::shared() else {
        return;
    };
    let call = target("recorded");
    let heard = Arc::new(Heard::default());
    let cooldown = Duration::from_secs(60);
    let a = process(&redis.url, cooldown).await;
    let b = Breakers::new(
        CircuitBreaker::builder()
            .window(2)
            .min_calls(2)
            .cooldown(cooldown),
    )
    .unwrap()
    .recorder(Arc::clone(&heard) as Arc<dyn Recorder>)
    .shared(
        store(&redis.url)
            .await
            .breaker_sharing()
            .refresh_interval(REFRESH),
    )
    .unwrap();
    let (ba, bb) = (a.get(&call).unwrap(), b.get(&call).unwrap());
    open(&ba);
    eventually("b opens", || bb.state() == CircuitState::Open).await;
    let heard = heard.0.lock().unwrap().clone();
    assert_eq!(
        heard,
        [(
            "openai:gpt-4o-mini".to_string(),
            CircuitState::Closed,
            CircuitState::Open,
            true
        )]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_redis_only_delays_the_background_never_a_call() {
    let Some(server) = test_redis::own() else {
        return;
    };
    let url = server.url();
    let call = target("frozen");
    let (set_a, set_b) = (
        process(&url, COOLDOWN).await,
        process(&url, Duration::from_secs(60)).await,
    );
    let (a, b) = (set_a.get(&call).unwrap(), set_b.get(&call).unwrap());
    server.freeze().unwrap();
    // Redis answers nothing (commands time out): a decides alone and, its cooldown over,
    // probes by itself.
    open(&a);
    let mut probe = None;
    eventually("a local probe while Redis is frozen", || {
        probe = a.try_acquire();
        probe.is_some()
    })
    .await;
    probe.unwrap().success();
    assert_eq!(a.state(), CircuitState::Closed);
    assert_eq!(b.state(), CircuitState::Closed, "b cannot have heard");
    server.thaw().unwrap();
    // Thawed: sharing resumes. (On another target: a's publications that timed out during the
    // freeze still run once Redis thaws — a late open of at most a's cooldown — so `call`'s
    // state right after the thaw depends on timing.)
    let other = target("thawed");
    let (a, b) = (set_a.get(&other).unwrap(), set_b.get(&other).unwrap());
    open(&b);
    let heard = tokio::time::Instant::now() + Duration::from_secs(30);
    eventually("a honours b's open once Redis is thawed", || {
        a.open_until().is_some_and(|until| until > heard)
    })
    .await;
}
