//! Quota waits and refusals log no key: neither the inbound key, nor the upstream key, nor the
//! Redis password. Alone in its test binary: the subscriber is the thread's default, and
//! `tracing` caches each call site's interest process-wide.
#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "tests: a failure is the test's failure"
)]

mod support;

use std::sync::{Arc, Mutex};

use steadfast_gateway::{Config, Gateway, InboundKeys};
use steadfast_sim::{Dialect, Scenario, Simulator};
use support::{KEY, chat};

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const UPSTREAM_KEY: &str = "sk-upstream-secret-3141";

#[tokio::test]
async fn quota_refusals_log_no_key() {
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
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
    let log = String::from_utf8(buf.0.lock().expect("lock").clone()).expect("utf8");
    assert!(log.contains("error_kind=\"quota-refused\""), "{log}");
    assert!(!log.contains(KEY), "{log}");
    assert!(!log.contains(UPSTREAM_KEY), "{log}");
    assert!(!log.contains("hunter2"), "{log}");
}
