//! Quota waits and refusals log no key: neither the inbound key, nor the upstream key, nor the
//! Redis password. Alone in its test binary: the subscriber is the thread's default, and
//! `tracing` caches each call site's interest process-wide.
#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "tests: a failure is the test's failure"
)]

mod support;

use steadfast_gateway::{Config, Gateway, InboundKeys};
use steadfast_sim::{Dialect, Scenario, Simulator};
use support::{KEY, Logs, chat};

const UPSTREAM_KEY: &str = "sk-upstream-secret-3141";

#[tokio::test]
async fn quota_refusals_log_no_key() {
    let (logs, _guard) = Logs::capture();
    let sim = Simulator::start(Scenario::new()).await.expect("sim");
    let text = format!(
        "[[keys]]\nname = \"team\"\nsha256 = \"{}\"\n\n[models.q]\ntargets = [{{ target = \"openai:gpt-4o-mini\", base_url = \"{}\", api_key_env = \"K\", rpm = 1, fail_fast = true }}]\n\n[redis]\nurl = \"redis://:hunter2@127.0.0.1:6379\"\n",
        InboundKeys::hash(KEY),
        sim.base_url(Dialect::OpenAi)
    );
    let config = Config::from_toml_str_with_env(&text, |k| (k == "K").then(|| UPSTREAM_KEY.into()))
        .unwrap_or_else(|e| panic!("{e}"));
    tracing::info!(config = ?config, "loaded");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(
        Gateway::new(config.clone())
            .keys(config.keys())
            .serve(listener, std::future::pending()),
    );
    let http = reqwest::Client::new();
    let mut statuses = Vec::new();
    for _ in 0..2 {
        let r = http
            .post(format!("{url}/v1/chat/completions"))
            .bearer_auth(KEY)
            .header("content-type", "application/json")
            .body(chat("q").to_string())
            .send()
            .await
            .expect("request");
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [200, 429]);
    let log = logs.text();
    assert!(log.contains("error_kind=\"quota-refused\""), "{log}");
    assert!(!log.contains(KEY), "{log}");
    assert!(!log.contains(UPSTREAM_KEY), "{log}");
    assert!(!log.contains("hunter2"), "{log}");
}
