//! `steadfast gateway`: a bad config names its line; `--sim` prints its URLs and answers.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

#[test]
fn a_bad_config_is_refused_naming_the_line() {
    let dir = std::env::temp_dir().join(format!("steadfast-gw-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("gateway.toml");
    std::fs::write(
        &path,
        "[models.fast]\ntargets = [\"openai:gpt-4o-mini\"]\nretry_on = [\"rate-limited\", \"often\"]\n",
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_steadfast"))
        .args(["gateway", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("line 3, column 29"), "{err}");
    assert!(err.contains("unknown error kind `often`"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Starts `steadfast [global args] gateway --sim --addr 127.0.0.1:0`: the child and its address.
fn sim_gateway(global: &[&str]) -> (std::process::Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_steadfast"))
        .args(global)
        .args(["gateway", "--sim", "--addr", "127.0.0.1:0"])
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let addr = first.strip_prefix("gateway: http://").unwrap().to_owned();
    let second = lines.next().unwrap().unwrap();
    assert!(
        second.starts_with("simulator: http://127.0.0.1:"),
        "{second}"
    );
    (child, addr)
}

/// One Chat Completions request for `model` over a fresh connection: the raw HTTP answer.
fn ask(addr: &str, model: &str) -> String {
    let body = format!(r#"{{"model":"{model}","messages":[{{"role":"user","content":"hi"}}]}}"#);
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer anything\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.write_all(head.as_bytes()).unwrap();
    conn.write_all(body.as_bytes()).unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    answer
}

#[test]
fn sim_mode_prints_its_urls_and_answers_any_provider_model() {
    let (mut child, addr) = sim_gateway(&[]);
    let answer = ask(&addr, "cohere:command-r-plus");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer.contains("x-steadfast-target: cohere:command-r-plus"),
        "{answer}"
    );
    assert!(answer.contains("\"content\":\"Echo: hi\""), "{answer}");
}

/// `steadfast --otlp URL gateway --sim`: the library's GenAI spans of a proxied call are
/// exported, and flushed when the gateway stops on SIGINT.
#[cfg(all(unix, feature = "otel"))]
#[test]
fn the_gateway_exports_the_calls_spans_over_otlp() {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use prost::Message as _;

    let (url, bodies) = steadfast_fixtures::post_sink::start().unwrap();
    let (mut child, addr) = sim_gateway(&["--otlp", &url]);
    let answer = ask(&addr, "anthropic:claude-3-5-sonnet-latest");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let stopped = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    assert!(child.wait().unwrap().success());
    let spans: Vec<String> = bodies
        .try_iter()
        .filter(|(path, _)| path == "/v1/traces")
        .flat_map(|(_, body)| {
            ExportTraceServiceRequest::decode(body.as_slice())
                .unwrap()
                .resource_spans
        })
        .flat_map(|r| r.scope_spans)
        .flat_map(|s| s.spans)
        .map(|s| s.name)
        .collect();
    assert!(
        spans.iter().any(|n| n == "chat claude-3-5-sonnet-latest"),
        "{spans:?}"
    );
}

#[test]
fn an_unreachable_redis_is_an_error_at_start_without_its_password() {
    let dir = std::env::temp_dir().join(format!("steadfast-gw-redis-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("gateway.toml");
    std::fs::write(
        &path,
        "[models.fast]\ntargets = [{ target = \"openai:gpt-4o-mini\", rpm = 60 }]\n",
    )
    .unwrap();
    // Port 1 on loopback: nothing listens there.
    let o = Command::new(env!("CARGO_BIN_EXE_steadfast"))
        .args(["gateway", "--addr", "127.0.0.1:0", "--config"])
        .arg(&path)
        .args(["--redis", "redis://:hunter2@127.0.0.1:1", "--replicas", "2"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.to_lowercase().contains("redis"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    let o = Command::new(env!("CARGO_BIN_EXE_steadfast"))
        .args(["gateway", "--config"])
        .arg(&path)
        .args(["--replicas", "0"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// One raw HTTP/1.1 request over a fresh connection: the whole answer.
fn http(addr: &str, head: &str, body: &str) -> String {
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.write_all(
        format!(
            "{head}\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
    .unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    answer
}

/// `--config` with `[budget]` and `[log] content = true`: the budget caps the retries (and shows
/// in /metrics), and the access log holds the prompt but no key.
#[test]
fn a_config_budget_and_content_logging_take_effect() {
    const KEY: &str = "sk-cli-content-key-6a1f";
    const UPSTREAM: &str = "sk-cli-upstream-secret-0b7e";
    let dir = std::env::temp_dir().join(format!("steadfast-gw-content-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("gateway.toml");
    // Nothing listens on port 1: every attempt is a `connect` error, which is retried.
    std::fs::write(
        &path,
        format!(
            "[log]\ncontent = true\n\n[budget]\nextra_attempts = 1\nwindow_secs = 3600\n\n[[keys]]\nsha256 = \"{}\"\n\n[models.fast]\ntargets = [{{ target = \"openai:gpt-4o-mini\", base_url = \"http://127.0.0.1:1/v1\", api_key_env = \"CLI_UPSTREAM_KEY\" }}]\nattempts = 4\nwait = {{ initial_secs = 0.0, max_secs = 0.0, jitter_secs = 0.0 }}\n",
            steadfast_gateway::InboundKeys::hash(KEY)
        ),
    )
    .unwrap();
    let log = dir.join("stderr.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_steadfast"))
        .args(["-v", "gateway", "--addr", "127.0.0.1:0", "--config"])
        .arg(&path)
        .env("CLI_UPSTREAM_KEY", UPSTREAM)
        .env("STEADFAST_LOG", "info")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("STEADFAST_GATEWAY_REDIS")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let addr = first.strip_prefix("gateway: http://").unwrap().to_owned();
    let body = r#"{"model":"fast","messages":[{"role":"user","content":"a distinctive prompt"}]}"#;
    let answer = http(
        &addr,
        &format!("POST /v1/chat/completions HTTP/1.1\r\nauthorization: Bearer {KEY}"),
        body,
    );
    let metrics = http(&addr, "GET /metrics HTTP/1.1", "");
    child.kill().unwrap();
    child.wait().unwrap();
    let stderr = std::fs::read_to_string(&log).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(answer.starts_with("HTTP/1.1 502"), "{answer}");
    assert!(
        answer.contains("x-steadfast-attempts: 2"),
        "one retry, the budget's: {answer}"
    );
    assert!(
        metrics.contains("steadfast_gateway_budget_remaining{budget=\"gateway\"} 0"),
        "{metrics}"
    );
    assert!(stderr.contains("gen_ai.input.messages"), "{stderr}");
    assert!(stderr.contains("a distinctive prompt"), "{stderr}");
    assert!(!stderr.contains(KEY), "{stderr}");
    assert!(!stderr.contains(UPSTREAM), "{stderr}");
}
