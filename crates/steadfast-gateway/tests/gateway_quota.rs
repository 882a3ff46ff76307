//! Per-deployment quotas: a gateway on a config file whose deployments have `rpm` quotas, in
//! front of the simulator on 127.0.0.1:0. Every upstream attempt is admitted by its deployment's
//! quota (`Call::quota`); a fail-fast refusal moves the alias to its next deployment before a
//! doomed request, and `/metrics` counts waits and refusals per deployment.
#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests: a failure is the test's failure"
)]

mod support;

use serde_json::json;
use steadfast_gateway::{Config, Gateway, InboundKeys};
use steadfast_sim::{Dialect, Scenario, Simulator};
use support::{KEY, chat, header};

/// `config` with `{openai}` and `{anthropic}` replaced by the simulator's base URLs and the
/// inbound test key accepted.
fn load(sim: &Simulator, config: &str) -> Config {
    let text = format!(
        "[[keys]]\nname = \"test\"\nsha256 = \"{}\"\n\n{}",
        InboundKeys::hash(KEY),
        config
            .replace("{openai}", &sim.base_url(Dialect::OpenAi))
            .replace("{anthropic}", &sim.base_url(Dialect::Anthropic))
    );
    Config::from_toml_str_with_env(&text, |k| (k == "SIM_KEY").then(|| "sim-key".to_owned()))
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn serve(config: Config) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let gateway = Gateway::new(config.clone()).keys(config.keys());
    tokio::spawn(gateway.serve(listener, std::future::pending()));
    url
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

async fn metrics(url: &str) -> String {
    reqwest::get(format!("{url}/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text")
}

const FAIL_FAST: &str = r#"
[models.fast]
targets = [
  { target = "openai:gpt-4o-mini", base_url = "{openai}", api_key_env = "SIM_KEY", rpm = 1, burst = 1, account = "org-a", fail_fast = true },
  { target = "anthropic:claude-3-5-haiku-latest", base_url = "{anthropic}", api_key_env = "SIM_KEY" },
]
attempts = 1
"#;

#[tokio::test]
async fn a_fail_fast_quota_falls_back_before_a_doomed_request() {
    let sim = Simulator::start(Scenario::new()).await.expect("sim");
    let url = serve(load(&sim, FAIL_FAST)).await;

    let r = post(&url, chat("fast")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-steadfast-target"), "openai:gpt-4o-mini");

    // One a minute: the second is refused by the quota (never sent) and the backup answers.
    let r = post(&url, chat("fast")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        header(&r, "x-steadfast-target"),
        "anthropic:claude-3-5-haiku-latest"
    );
    assert_eq!(
        header(&r, "x-steadfast-attempts"),
        "1",
        "the refusal sent nothing"
    );

    // A stream too: refused before its commit point, answered by the backup.
    let mut req = chat("fast");
    req["stream"] = json!(true);
    let r = post(&url, req).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        header(&r, "x-steadfast-target"),
        "anthropic:claude-3-5-haiku-latest"
    );
    let body = r.text().await.expect("body");
    assert!(body.contains("[DONE]"), "{body}");

    assert_eq!(sim.requests_for(Dialect::OpenAi), 1);
    assert_eq!(sim.requests_for(Dialect::Anthropic), 2);
    let m = metrics(&url).await;
    assert!(
        m.contains("steadfast_gateway_quota_refusals_total{deployment=\"openai:gpt-4o-mini\"} 2"),
        "{m}"
    );
    assert!(
        m.contains("steadfast_gateway_quota_waits_total{deployment=\"openai:gpt-4o-mini\"} 0"),
        "{m}"
    );
}

#[tokio::test]
async fn a_refusal_without_a_backup_is_a_429_with_retry_after() {
    let sim = Simulator::start(Scenario::new()).await.expect("sim");
    let config = r#"
[models.solo]
targets = [{ target = "openai:gpt-4o-mini", base_url = "{openai}", api_key_env = "SIM_KEY", rpm = 1, fail_fast = true }]
"#;
    let url = serve(load(&sim, config)).await;
    assert_eq!(post(&url, chat("solo")).await.status(), 200);
    let r = post(&url, chat("solo")).await;
    assert_eq!(r.status(), 429);
    let retry_after: u64 = header(&r, "retry-after").parse().expect("retry-after");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let body = r.text().await.expect("body");
    assert!(body.contains("quota"), "{body}");
    assert!(!body.contains("sim-key"), "{body}");
    assert_eq!(sim.requests_for(Dialect::OpenAi), 1);
}

/// Paused time: the quota's wait is the only timer, and it elapses at once.
#[tokio::test(start_paused = true)]
async fn a_quota_makes_the_request_wait_its_turn() {
    let sim = Simulator::start(Scenario::new()).await.expect("sim");
    let config = r#"
[models.slow]
targets = [{ target = "openai:gpt-4o-mini", base_url = "{openai}", api_key_env = "SIM_KEY", rpm = 1, burst = 1, max_wait_secs = 120 }]
attempts = 1
"#;
    let url = serve(load(&sim, config)).await;
    let started = tokio::time::Instant::now();
    assert_eq!(post(&url, chat("slow")).await.status(), 200);
    let r = post(&url, chat("slow")).await;
    assert_eq!(r.status(), 200, "waited for the quota rather than refused");
    assert_eq!(header(&r, "x-steadfast-attempts"), "1");
    // One a minute: the second waited (on the paused clock) for the first's interval.
    assert!(started.elapsed() >= std::time::Duration::from_secs(59));
    assert_eq!(sim.requests_for(Dialect::OpenAi), 2);
    let m = metrics(&url).await;
    assert!(
        m.contains("steadfast_gateway_quota_waits_total{deployment=\"openai:gpt-4o-mini\"} 1"),
        "{m}"
    );
    let waited: f64 = m
        .lines()
        .find_map(|l| {
            l.strip_prefix(
                "steadfast_gateway_quota_wait_seconds_total{deployment=\"openai:gpt-4o-mini\"} ",
            )
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{m}"));
    assert!((59.0..=61.0).contains(&waited), "{waited}");
    assert!(
        m.contains("steadfast_gateway_quota_refusals_total{deployment=\"openai:gpt-4o-mini\"} 0"),
        "{m}"
    );
}

#[tokio::test]
async fn a_quota_shared_by_two_aliases_is_one_count() {
    let sim = Simulator::start(Scenario::new()).await.expect("sim");
    let config = r#"
[models.a]
targets = [{ target = "openai:gpt-4o-mini", base_url = "{openai}", api_key_env = "SIM_KEY", rpm = 1, fail_fast = true }]

[models.b]
targets = [{ target = "openai:gpt-4o-mini", base_url = "{openai}", api_key_env = "SIM_KEY", rpm = 1, fail_fast = true }]
"#;
    let url = serve(load(&sim, config)).await;
    assert_eq!(post(&url, chat("a")).await.status(), 200);
    assert_eq!(post(&url, chat("b")).await.status(), 429);
    assert_eq!(sim.requests_for(Dialect::OpenAi), 1);
}

/// Paused time: the quota would admit the second request in 60 s, but the alias's deadline is
/// 10 s, so it is refused at once (a 429 with `retry-after`) rather than left waiting.
#[tokio::test(start_paused = true)]
async fn a_quota_wait_never_crosses_the_alias_deadline() {
    let sim = Simulator::start(Scenario::new()).await.expect("sim");
    let config = r#"
[models.slow]
targets = [{ target = "openai:gpt-4o-mini", base_url = "{openai}", api_key_env = "SIM_KEY", rpm = 1, burst = 1, max_wait_secs = 120 }]
attempts = 1
deadline_secs = 10
"#;
    let url = serve(load(&sim, config)).await;
    let started = tokio::time::Instant::now();
    assert_eq!(post(&url, chat("slow")).await.status(), 200);
    let r = post(&url, chat("slow")).await;
    assert_eq!(r.status(), 429);
    assert!(!header(&r, "retry-after").is_empty());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "refused without waiting"
    );
    assert_eq!(sim.requests_for(Dialect::OpenAi), 1);
    let m = metrics(&url).await;
    assert!(
        m.contains("steadfast_gateway_quota_refusals_total{deployment=\"openai:gpt-4o-mini\"} 1"),
        "{m}"
    );
}
