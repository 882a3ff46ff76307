//! `steadfast ask --rpm/--tpm/--burst/--redis`: the quota admits each attempt, and with `--redis`
//! it is shared by separate processes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::process::{Command, Output};

use serde_json::Value;

fn ask(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_steadfast"))
        .arg("ask")
        .args(["--sim", "-m", "openai:gpt-4o-mini", "--json"])
        .args(args)
        .env_remove("STEADFAST_MODEL")
        .env_remove("OPENAI_API_KEY")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .output()
        .expect("the binary runs")
}

fn json(o: &Output) -> Value {
    let out = String::from_utf8_lossy(&o.stdout);
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[test]
fn a_request_the_token_quota_can_never_admit_is_refused_without_being_sent() {
    let o = ask(&["--tpm", "100", "--max-tokens", "500", "hello"]);
    assert_eq!(o.status.code(), Some(1));
    let doc = json(&o);
    assert_eq!(doc["error"]["kind"], "quota-refused", "{doc}");
    assert_eq!(doc["attempts"].as_array().map(Vec::len), Some(0), "{doc}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("exceed the token allowance of 100"), "{err}");
}

#[test]
fn an_admitted_request_is_answered() {
    let o = ask(&["--rpm", "60", "--tpm", "100000", "--burst", "2", "hello"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(json(&o)["content"], "Echo: hello");
}

#[test]
fn quota_flags_without_a_limit_are_an_error() {
    let o = ask(&["--burst", "3", "hello"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("need a limit"), "{err}");
}

#[test]
fn with_redis_the_quota_is_shared_by_separate_processes() {
    let Some(redis) = steadfast_fixtures::redis::shared() else {
        eprintln!(
            "skipped: with_redis_the_quota_is_shared_by_separate_processes: STEADFAST_REDIS_URL unset and no redis-server"
        );
        return;
    };
    // A scope of this run alone: the Redis may be shared with other tests.
    let account = format!("cli-{}-{}", std::process::id(), fastrand_suffix());
    let common = [
        "--rpm",
        "1",
        "--burst",
        "1",
        "--no-wait",
        "--redis",
        &redis.url,
        "--account",
        &account,
    ];
    let first = ask(&[&common[..], &["hello"]].concat());
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let second = ask(&[&common[..], &["hello"]].concat());
    assert_eq!(second.status.code(), Some(1));
    let doc = json(&second);
    assert_eq!(doc["error"]["kind"], "quota-refused", "{doc}");
    assert_eq!(doc["attempts"].as_array().map(Vec::len), Some(0), "{doc}");
    // The Redis URL may hold a password: it is never printed.
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(!err.contains(&redis.url), "{err}");
}

fn fastrand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}
