//! `[log] content = true`: the access log holds the messages and the answer, and still no key.
//! Alone in its test binary: the subscriber is the thread's default, and `tracing` caches each
//! call site's interest process-wide.
#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "tests: a failure is the test's failure"
)]

mod support;

use serde_json::json;
use steadfast_gateway::{Config, Gateway, InboundKeys};
use steadfast_sim::{Dialect, Scenario, Simulator};
use support::{KEY, Logs, chat};

const UPSTREAM_KEY: &str = "sk-upstream-secret-2718";

#[tokio::test]
async fn opted_in_content_reaches_the_access_log_and_keys_do_not() {
    let (logs, _guard) = Logs::capture();
    let sim = Simulator::start(Scenario::new()).await.expect("sim");
    let text = format!(
        "[log]\ncontent = true\n\n[[keys]]\nname = \"team\"\nsha256 = \"{}\"\n\n[models.fast]\ntargets = [{{ target = \"openai:gpt-4o-mini\", base_url = \"{}\", api_key_env = \"K\" }}]\n\n[models.claude]\ntargets = [{{ target = \"anthropic:claude-3-5-haiku-latest\", base_url = \"{}\", api_key_env = \"K\" }}]\n",
        InboundKeys::hash(KEY),
        sim.base_url(Dialect::OpenAi),
        sim.base_url(Dialect::Anthropic),
    );
    let config = Config::from_toml_str_with_env(&text, |k| (k == "K").then(|| UPSTREAM_KEY.into()))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(config.log_content());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(
        Gateway::new(config.clone())
            .keys(config.keys())
            .log_content(config.log_content())
            .serve(listener, std::future::pending()),
    );
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{url}/v1/chat/completions"))
        .bearer_auth(KEY)
        .header("content-type", "application/json")
        .body(chat("fast").to_string())
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 200);
    let mut req = json!({"model": "claude", "max_tokens": 32, "stream": true,
        "messages": [{"role": "user", "content": "streamed words"}]});
    req["system"] = json!("be brief");
    let r = http
        .post(format!("{url}/v1/messages"))
        .header("x-api-key", KEY)
        .header("anthropic-version", "2023-06-01")
        .header("content-type", "application/json")
        .body(req.to_string())
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 200);
    let body = r.text().await.expect("stream");
    assert!(body.contains("message_stop"), "{body}");

    let log = logs.text();
    let access: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("steadfast_gateway::access"))
        .collect();
    // The request line: the messages in the GenAI schema, and the complete answer.
    let line = access
        .iter()
        .find(|l| l.contains("protocol=\"openai.chat\""))
        .unwrap_or_else(|| panic!("no OpenAI access line in\n{log}"));
    assert!(line.contains("gen_ai.input.messages="), "{line}");
    assert!(
        line.contains(r#"\"parts\":[{\"content\":\"hello there\",\"type\":\"text\"}]"#)
            || line.contains(r#"\"parts\":[{\"type\":\"text\",\"content\":\"hello there\"}]"#),
        "{line}"
    );
    assert!(line.contains("gen_ai.output.messages="), "{line}");
    assert!(line.contains("Echo: hello there"), "{line}");
    // The stream: its messages on the access line, its answer on the line at its end.
    let line = access
        .iter()
        .find(|l| l.contains("protocol=\"anthropic.messages\"") && l.contains(" request "))
        .unwrap_or_else(|| panic!("no Anthropic access line in\n{log}"));
    assert!(
        line.contains("streamed words") && line.contains("be brief"),
        "{line}"
    );
    let end = access
        .iter()
        .find(|l| l.contains("stream content"))
        .unwrap_or_else(|| panic!("no stream content line in\n{log}"));
    assert!(end.contains("gen_ai.output.messages="), "{end}");
    assert!(end.contains("Echo: streamed words"), "{end}");

    assert!(!log.contains(KEY), "{log}");
    assert!(!log.contains(UPSTREAM_KEY), "{log}");
}
