//! The gateway test rig: the simulator, and a gateway in front of it on 127.0.0.1:0.

#![allow(
    dead_code,
    reason = "each test file uses a different subset of the helpers"
)]
#![allow(
    clippy::expect_used,
    reason = "test setup: a failure is the test's failure"
)]

use serde_json::{Value, json};
use steadfast::resilient;
use steadfast::retry::{Retry, stop, wait};
use steadfast_gateway::{Gateway, InboundKeys, ProviderTargets};
use steadfast_sim::{Dialect, Scenario, Simulator};

pub(crate) const KEY: &str = "sk-gateway-test-key-5e1d";

pub(crate) struct Rig {
    pub(crate) sim: Simulator,
    pub(crate) url: String,
    pub(crate) http: reqwest::Client,
}

/// The simulator, and a gateway in front of it with a policy that waits for nothing.
pub(crate) async fn rig(scenario: Scenario, keys: InboundKeys) -> Rig {
    let sim = Simulator::start(scenario).await.expect("simulator");
    let policy = Retry::new()
        .stop(stop::after_attempt(3))
        .wait(wait::none())
        .retry_if(resilient::retryable());
    let mut targets = ProviderTargets::new()
        .api_key("sim-key")
        .policy(policy)
        .list(["openai:gpt-4o-mini"]);
    for name in [
        "openai",
        "anthropic",
        "gemini",
        "mistral",
        "cohere",
        "bedrock",
    ] {
        let dialect: Dialect = name.parse().expect("dialect");
        targets = targets.base_url(name, sim.base_url(dialect));
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(
        Gateway::new(targets)
            .keys(keys)
            .serve(listener, std::future::pending()),
    );
    Rig {
        sim,
        url,
        http: reqwest::Client::new(),
    }
}

impl Rig {
    pub(crate) async fn openai(&self, body: Value) -> reqwest::Response {
        self.openai_as(Some(KEY), body).await
    }

    /// A Chat Completions request with `key` as its bearer token (none: no `Authorization`).
    pub(crate) async fn openai_as(&self, key: Option<&str>, body: Value) -> reqwest::Response {
        let mut req = self
            .http
            .post(format!("{}/v1/chat/completions", self.url))
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        req.send().await.expect("request")
    }

    pub(crate) async fn anthropic(&self, body: Value) -> reqwest::Response {
        self.http
            .post(format!("{}/v1/messages", self.url))
            .header("x-api-key", KEY)
            .header("anthropic-version", "2023-06-01")
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("request")
    }
}

pub(crate) fn header<'r>(r: &'r reqwest::Response, name: &str) -> &'r str {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

pub(crate) fn chat(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "hello there"}]})
}

/// Every log line (all levels) written on this thread while the guard lives: for tests that
/// check what the logs never hold. Each such test is alone in its test binary: `tracing`
/// caches each call site's interest process-wide.
#[derive(Clone, Default)]
pub(crate) struct Logs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Logs {
    /// Captures this thread's log lines until the guard is dropped.
    pub(crate) fn capture() -> (Logs, tracing::subscriber::DefaultGuard) {
        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        (logs, tracing::subscriber::set_default(subscriber))
    }

    /// What was written so far.
    pub(crate) fn text(&self) -> String {
        let bytes = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl std::io::Write for Logs {
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
