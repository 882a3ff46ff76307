//! A per-window retry budget shared by several "processes" (each with its own `RedisStore`, so
//! its own connection) through a real `redis-server` (never a mock).
//!
//! Real time (Redis's clock and real I/O); the tests wait for the flushers by polling with a
//! generous limit, and assert counts, never speed. Which server: see `steadfast_fixtures::redis`.
#![cfg(feature = "redis")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers: a failed set-up is a failed test"
)]

use std::time::Duration;

use steadfast::quota::RedisStore;
use steadfast::retry::Budget;
use steadfast_fixtures::redis as test_redis;

const FLUSH: Duration = Duration::from_millis(20);
/// Long enough that a test never crosses into the next window of Redis's clock… except when
/// it starts right at the end of one; the tests below tolerate that by re-checking.
const WINDOW: Duration = Duration::from_secs(3600);
const PATIENCE: Duration = Duration::from_secs(20);

async fn store(url: &str) -> RedisStore {
    RedisStore::builder(url)
        .command_timeout(Duration::from_secs(1))
        .connect()
        .await
        .unwrap()
}

fn name(what: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{what}-{}-{nanos}", std::process::id())
}

/// One "process" sharing a budget of `limit` per window under `name`.
async fn process(url: &str, name: &str, limit: u32) -> Budget {
    let budget = Budget::per_window(limit, WINDOW).unwrap();
    store(url)
        .await
        .budget_sharing(name)
        .unwrap()
        .flush_interval(FLUSH)
        .share(&budget)
        .unwrap();
    budget
}

async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let start = tokio::time::Instant::now();
    while !done() {
        assert!(start.elapsed() < PATIENCE, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn take_all(budget: &Budget) -> u32 {
    let mut n = 0;
    while budget.try_acquire() {
        n += 1;
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_share_one_budget() {
    let Some(redis) = test_redis::shared() else {
        return;
    };
    let shared = name("three");
    let a = process(&redis.url, &shared, 30).await;
    let b = process(&redis.url, &shared, 30).await;
    let c = process(&redis.url, &shared, 30).await;

    // a takes 10; once b and c have heard, b can take only the 20 left…
    for _ in 0..10 {
        assert!(a.try_acquire());
    }
    eventually("b and c hear of a's 10", || {
        b.used() == 10 && c.used() == 10
    })
    .await;
    assert_eq!(take_all(&b), 20);
    // …and once a and c have heard, nobody gets any more: 30 for the fleet, not 90.
    eventually("a and c hear of b's 20", || {
        a.used() == 30 && c.used() == 30
    })
    .await;
    assert_eq!((take_all(&a), take_all(&c)), (0, 0));
    assert_eq!(a.remaining(), 0);

    // Alone, each would have allowed 30.
    let alone = Budget::per_window(30, WINDOW).unwrap();
    assert_eq!(take_all(&alone), 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_takers_stay_near_one_budget() {
    let Some(redis) = test_redis::shared() else {
        return;
    };
    let shared = name("concurrent");
    let limit = 40;
    let mut fleet = Vec::new();
    for _ in 0..4 {
        fleet.push(process(&redis.url, &shared, limit).await);
    }
    // Each process takes one unit per round, a round per millisecond (a storm: 4000 retries a
    // second), until every process knows the fleet's budget is spent.
    let mut granted = 0u32;
    for _ in 0..2000 {
        granted += fleet.iter().filter(|b| b.try_acquire()).count() as u32;
        if fleet.iter().all(|b| b.used() >= limit) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    eventually("everyone synced", || {
        fleet.iter().all(|b| b.used() >= limit)
    })
    .await;
    assert!(
        granted >= limit,
        "the fleet can spend its whole budget: {granted}"
    );
    // Without sharing it would be 4 × 40 = 160. The slack is what the fleet takes while the
    // news travels (up to about two flush intervals): at this rate, tens of units.
    assert!(granted < 4 * limit, "shared: {granted} < {}", 4 * limit);
    println!(
        "fleet of 4, budget {limit}: {granted} granted (overshoot {})",
        granted - limit
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_a_budget_acts_alone_and_flushes_when_redis_returns() {
    let Some(mut server) = test_redis::own() else {
        return;
    };
    let url = server.url();
    let shared = name("outage");
    let a = process(&url, &shared, 10).await;
    let b = process(&url, &shared, 10).await;
    server.kill();
    // Redis gone: a's budget still works, alone, with no error anywhere.
    for _ in 0..4 {
        assert!(a.try_acquire());
    }
    tokio::time::sleep(FLUSH * 5).await;
    assert_eq!(b.used(), 0, "b cannot have heard");
    // Redis back (empty): a's units, kept while it was gone, reach b.
    server.restart().unwrap();
    eventually("b hears of a's 4", || b.used() == 4).await;
    assert_eq!(take_all(&b), 6);
}
