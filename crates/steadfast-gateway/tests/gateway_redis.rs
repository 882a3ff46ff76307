//! Two gateway replicas sharing one Redis (a real `redis-server` on loopback, through
//! `steadfast_fixtures::redis`): the quota the first uses is used up for the second, and a
//! provider 429 one of them sees cools the deployment down for both; an open breaker and a spent
//! retry budget are the fleet's. Each replica has its own
//! `RedisStore` (its own connection): two processes, as far as the store can tell.
#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests: a failure is the test's failure"
)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use steadfast::quota::{RedisStore, StoreStats};
use steadfast_fixtures::redis as test_redis;
use steadfast_gateway::{Config, Gateway, InboundKeys};
use steadfast_sim::{Action, Dialect, Rule, Scenario, Simulator};
use support::{KEY, chat, header};

/// A replica: the config on its own Redis store. Generous timeouts: this is about sharing, and
/// a loaded machine must not turn it into a degrade test.
async fn replica(sim: &Simulator, redis: &str, config: &str) -> (String, RedisStore) {
    replica_sharing(sim, redis, config, false).await
}

/// [`replica`], its breakers (refreshed every 50 ms) and retry budgets (flushed every 50 ms)
/// shared through the store when `share`.
async fn replica_sharing(
    sim: &Simulator,
    redis: &str,
    config: &str,
    share: bool,
) -> (String, RedisStore) {
    let text = format!(
        "[[keys]]\nsha256 = \"{}\"\n\n{}",
        InboundKeys::hash(KEY),
        config
            .replace("{openai}", &sim.base_url(Dialect::OpenAi))
            .replace("{anthropic}", &sim.base_url(Dialect::Anthropic))
    );
    let config = Config::from_toml_str_with_env(&text, |k| {
        (k == "SIM_KEY").then(|| "sk-upstream-secret-77".to_owned())
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let store = RedisStore::builder(redis)
        .admission_timeout(Duration::from_secs(5))
        .command_timeout(Duration::from_secs(5))
        .connect()
        .await
        .expect("redis");
    let mut config = config.with_quota_store(Arc::new(store.clone()));
    if share {
        config
            .share_budgets(|name, b| {
                store
                    .budget_sharing(name)?
                    .flush_interval(Duration::from_millis(50))
                    .share(b)
            })
            .expect("shared budgets");
        let sharing = store.clone();
        config = config
            .map_breakers(|b| {
                b.shared(
                    sharing
                        .breaker_sharing()
                        .refresh_interval(Duration::from_millis(50)),
                )
            })
            .expect("shared breakers");
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(
        Gateway::new(config.clone())
            .keys(config.keys())
            .serve(listener, std::future::pending()),
    );
    (url, store)
}

async fn post(url: &str, body: serde_json::Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{url}/v1/chat/completions"))
        .bearer_auth(KEY)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("request")
}

/// An account label of this run's own: the shared Redis may hold other runs' keys.
fn account(test: &str) -> String {
    format!("{test}-{}-{}", std::process::id(), fastrand::u32(..))
}

fn healthy(stats: StoreStats) {
    assert!(!stats.degraded && stats.failures == 0, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_second_replica_finds_the_quota_the_first_used() {
    let Some(redis) = test_redis::shared() else {
        eprintln!("skipped: the_second_replica_finds_the_quota_the_first_used: no Redis");
        return;
    };
    let sim = Simulator::start(Scenario::new()).await.expect("sim");
    let config = format!(
        r#"
[models.fast]
targets = [
  {{ target = "openai:gpt-4o-mini", base_url = "{{openai}}", api_key_env = "SIM_KEY", rpm = 2, burst = 2, account = "{}", fail_fast = true }},
  {{ target = "anthropic:claude-3-5-haiku-latest", base_url = "{{anthropic}}", api_key_env = "SIM_KEY" }},
]
attempts = 1
"#,
        account("share")
    );
    let (a, store_a) = replica(&sim, &redis.url, &config).await;
    let (b, store_b) = replica(&sim, &redis.url, &config).await;
    // Replica A uses the whole burst of two.
    for _ in 0..2 {
        let r = post(&a, chat("fast")).await;
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, "x-steadfast-target"), "openai:gpt-4o-mini");
    }
    // Replica B has sent nothing, yet its quota is used up: refused, it falls back at once.
    let r = post(&b, chat("fast")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        header(&r, "x-steadfast-target"),
        "anthropic:claude-3-5-haiku-latest"
    );
    assert_eq!(sim.requests_for(Dialect::OpenAi), 2);
    assert_eq!(sim.requests_for(Dialect::Anthropic), 1);
    let m = reqwest::get(format!("{b}/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        m.contains("steadfast_gateway_quota_refusals_total{deployment=\"openai:gpt-4o-mini\"} 1"),
        "{m}"
    );
    healthy(store_a.stats());
    healthy(store_b.stats());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_429_on_one_replica_cools_the_deployment_down_for_both() {
    let Some(redis) = test_redis::shared() else {
        eprintln!(
            "skipped: a_provider_429_on_one_replica_cools_the_deployment_down_for_both: no Redis"
        );
        return;
    };
    // The first OpenAI request is a 429 asking for 30 s.
    let sim = Simulator::start(
        Scenario::new().rule(
            Rule::new()
                .provider(Dialect::OpenAi)
                .requests([1])
                .action(Action::rate_limit().retry_after_secs(30)),
        ),
    )
    .await
    .expect("sim");
    let config = format!(
        r#"
[models.fast]
targets = [
  {{ target = "openai:gpt-4o-mini", base_url = "{{openai}}", api_key_env = "SIM_KEY", rpm = 1000, account = "{}", fail_fast = true }},
  {{ target = "anthropic:claude-3-5-haiku-latest", base_url = "{{anthropic}}", api_key_env = "SIM_KEY" }},
]
attempts = 1
"#,
        account("cooldown")
    );
    let (a, _store_a) = replica(&sim, &redis.url, &config).await;
    let (b, store_b) = replica(&sim, &redis.url, &config).await;
    let r = post(&a, chat("fast")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        header(&r, "x-steadfast-target"),
        "anthropic:claude-3-5-haiku-latest",
        "the 429 fell back"
    );
    // Replica B never saw the 429, but the deployment is cooling down in Redis: B does not send
    // a doomed request, it falls back at once — a stream too.
    let mut req = chat("fast");
    req["stream"] = json!(true);
    let r = post(&b, req).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        header(&r, "x-steadfast-target"),
        "anthropic:claude-3-5-haiku-latest"
    );
    let body = r.text().await.expect("body");
    assert!(body.contains("[DONE]"), "{body}");
    assert_eq!(
        sim.requests_for(Dialect::OpenAi),
        1,
        "one 429, nothing after"
    );
    healthy(store_b.stats());
    // The key (a secret) names no Redis key: the scope is the account label.
    let keys = test_redis::command(&redis.url, &["KEYS", "steadfast:v1:*"]).expect("KEYS");
    assert!(!keys.contains("sk-upstream-secret-77"), "{keys}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breaker_opened_by_one_replica_is_honoured_by_the_other() {
    let Some(redis) = test_redis::shared() else {
        eprintln!("skipped: a_breaker_opened_by_one_replica_is_honoured_by_the_other: no Redis");
        return;
    };
    // OpenAI is down (every request a 500); Anthropic answers.
    let sim = Simulator::start(
        Scenario::new().rule(
            Rule::new()
                .provider(Dialect::OpenAi)
                .action(Action::server_error()),
        ),
    )
    .await
    .expect("sim");
    // The breaker's target identity includes the base URL: a simulator of this test's own keeps
    // the shared state apart from other runs'. Replica A opens after two failures; B would need
    // a hundred, so whatever B skips, it skips on A's word.
    let config = |min_calls: u32| {
        format!(
            r#"
[models.fast]
targets = [
  {{ target = "openai:gpt-4o-mini", base_url = "{{openai}}", api_key_env = "SIM_KEY" }},
  {{ target = "anthropic:claude-3-5-haiku-latest", base_url = "{{anthropic}}", api_key_env = "SIM_KEY" }},
]
attempts = 1
breaker = {{ window = 100, min_calls = {min_calls}, failure_rate = 0.5, cooldown_secs = 600 }}
"#
        )
    };
    let (a, _store_a) = replica_sharing(&sim, &redis.url, &config(2), true).await;
    let (b, store_b) = replica_sharing(&sim, &redis.url, &config(100), true).await;
    for _ in 0..2 {
        let r = post(&a, chat("fast")).await;
        assert_eq!(r.status(), 200);
        assert_eq!(
            header(&r, "x-steadfast-attempts"),
            "2",
            "the 500, then Anthropic"
        );
    }
    assert_eq!(sim.requests_for(Dialect::OpenAi), 2);
    // A's breaker is open. B hears of it at its next refresh: until then its requests still try
    // OpenAI (and fail over); afterwards they skip it.
    let mut tries = 0;
    loop {
        tries += 1;
        let r = post(&b, chat("fast")).await;
        assert_eq!(r.status(), 200);
        assert_eq!(
            header(&r, "x-steadfast-target"),
            "anthropic:claude-3-5-haiku-latest"
        );
        if header(&r, "x-steadfast-attempts") == "1" {
            break;
        }
        // Well under the hundred failures that would open B's breaker on its own.
        assert!(
            tries < 60,
            "replica B did not honour A's open breaker within 6 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let before = sim.requests_for(Dialect::OpenAi);
    for _ in 0..3 {
        let r = post(&b, chat("fast")).await;
        assert_eq!(header(&r, "x-steadfast-attempts"), "1", "OpenAI skipped");
    }
    assert_eq!(
        sim.requests_for(Dialect::OpenAi),
        before,
        "nothing more sent to OpenAI"
    );
    healthy(store_b.stats());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_budget_spent_on_one_replica_stops_the_retries_of_the_other() {
    let Some(redis) = test_redis::shared() else {
        eprintln!(
            "skipped: a_budget_spent_on_one_replica_stops_the_retries_of_the_other: no Redis"
        );
        return;
    };
    // OpenAI is down: every request a 500.
    let sim = Simulator::start(
        Scenario::new().rule(
            Rule::new()
                .provider(Dialect::OpenAi)
                .action(Action::server_error()),
        ),
    )
    .await
    .expect("sim");
    // Two retries per (very long) window for the whole fleet, under a name of this run's own.
    let config = format!(
        r#"
[models.fast]
targets = [{{ target = "openai:gpt-4o-mini", base_url = "{{openai}}", api_key_env = "SIM_KEY" }}]
attempts = 4
wait = {{ initial_secs = 0.0, max_secs = 0.0, jitter_secs = 0.0 }}
budget = {{ extra_attempts = 2, window_secs = 10000000, name = "{}" }}
"#,
        account("budget")
    );
    let (a, store_a) = replica_sharing(&sim, &redis.url, &config, true).await;
    let (b, store_b) = replica_sharing(&sim, &redis.url, &config, true).await;
    let r = post(&a, chat("fast")).await;
    assert_eq!(r.status(), 500);
    assert_eq!(
        header(&r, "x-steadfast-attempts"),
        "3",
        "the first and two retries"
    );
    // B has retried nothing, but the fleet's budget is spent: once B's flusher has read the
    // fleet's count, its requests make their first attempt only. Without the sharing B would
    // have two retries of its own.
    let mut tries = 0;
    loop {
        tries += 1;
        let m = reqwest::get(format!("{b}/metrics"))
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        let remaining = m
            .lines()
            .find(|l| l.starts_with("steadfast_gateway_budget_remaining{"));
        if remaining.is_some_and(|l| l.ends_with(" 0")) {
            break;
        }
        assert!(
            tries < 100,
            "replica B never heard of A's retries within 5 s:\n{m}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let before = sim.requests_for(Dialect::OpenAi);
    let r = post(&b, chat("fast")).await;
    assert_eq!(r.status(), 500);
    assert_eq!(
        header(&r, "x-steadfast-attempts"),
        "1",
        "no retry left in the fleet"
    );
    assert_eq!(sim.requests_for(Dialect::OpenAi), before + 1);
    healthy(store_a.stats());
    healthy(store_b.stats());
}
