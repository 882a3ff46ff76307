//! The `steadfast` binary end to end: `ask` against the embedded simulator (text, stream, JSON,
//! retries, fallback, reinsertion, errors) and `demo`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

fn steadfast(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_steadfast"))
        .args(args)
        .env_remove("STEADFAST_MODEL")
        .env_remove("OPENAI_API_KEY")
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .output()
        .expect("the binary runs")
}

fn scenario(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios")
        .join(name)
        .display()
        .to_string()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn ask_against_the_simulator_in_every_output_mode() {
    for model in ["openai:gpt-4o-mini", "anthropic:claude-3-5-sonnet-latest"] {
        let o = steadfast(&["ask", "--sim", "-m", model, "What is the meaning of life?"]);
        assert!(o.status.success(), "{model}: {}", stderr(&o));
        assert_eq!(stdout(&o).trim(), "Echo: What is the meaning of life?");

        let o = steadfast(&[
            "ask",
            "--sim",
            "--stream",
            "-m",
            model,
            "What is the meaning of life?",
        ]);
        assert!(o.status.success());
        assert_eq!(stdout(&o).trim(), "Echo: What is the meaning of life?");

        for extra in [&[][..], &["--stream"][..]] {
            let mut args = vec!["ask", "--sim", "--json", "-m", model];
            args.extend_from_slice(extra);
            args.push("What is the meaning of life?");
            let o = steadfast(&args);
            assert!(o.status.success());
            let doc: Value =
                serde_json::from_str(stdout(&o).trim()).expect("one JSON object on stdout");
            assert_eq!(doc["content"], "Echo: What is the meaning of life?");
            assert_eq!(doc["provider"], model.split(':').next().unwrap());
            assert_eq!(doc["finish_reason"], "stop");
            assert!(doc["usage"]["input_tokens"].as_u64().unwrap() > 0);
            assert_eq!(doc["attempts"].as_array().unwrap().len(), 1);
            assert_eq!(doc["attempts"][0]["outcome"], "ok");
            assert!(doc["tool_calls"].as_array().unwrap().is_empty());
        }
    }
}

#[test]
fn the_prompt_can_come_from_stdin_and_the_model_from_the_environment() {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_steadfast"))
        .args(["ask", "--sim"])
        .env("STEADFAST_MODEL", "openai:gpt-4o-mini")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"from stdin\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success());
    assert_eq!(stdout(&o).trim(), "Echo: from stdin");
}

#[test]
fn retries_are_recorded_and_exhaustion_names_the_attempt_count() {
    let o = steadfast(&[
        "ask",
        "--sim-scenario",
        &scenario("calls.toml"),
        "--attempts",
        "3",
        "--wait",
        "none",
        "--retry-on",
        "rate-limited",
        "--json",
        "-m",
        "openai:gpt-4o-mini",
        "hi",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let doc: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    let outcomes: Vec<&str> = doc["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["rate-limited", "rate-limited", "ok"]);
    assert_eq!(
        doc["attempts"][0]["wait_reason"], "server-hint",
        "retry-after: 1 beats a zero wait"
    );
    assert_eq!(doc["attempts"][0]["wait_ms"], 1000);

    let o = steadfast(&[
        "ask",
        "--sim-scenario",
        &scenario("calls_exhausted.toml"),
        "--attempts",
        "2",
        "--wait",
        "none",
        "-m",
        "openai:gpt-4o-mini",
        "hi",
    ]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.starts_with("error: gave up after 2 attempts: rate-limited (openai, HTTP 429)"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "one clear line");
}

#[test]
fn fallback_reports_the_winner_and_what_was_caught() {
    let o = steadfast(&[
        "ask",
        "--sim-scenario",
        &scenario("fallback.toml"),
        "--fallback",
        "anthropic:claude-3-5-sonnet-latest",
        "--json",
        "-m",
        "openai:gpt-4o-mini",
        "hi",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let doc: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(doc["provider"], "anthropic");
    assert_eq!(doc["caught"][0]["kind"], "rate-limited");
    assert_eq!(doc["caught"][0]["provider"], "openai");
}

#[test]
fn reinsert_retries_output_that_fails_the_schema() {
    let schema = std::env::temp_dir().join(format!("steadfast-book-{}.json", std::process::id()));
    std::fs::write(
        &schema,
        r#"{"type":"object","properties":{"title":{"type":"string"},"author":{"type":"string","pattern":"^[A-Z ]+$"}},"required":["title","author"]}"#,
    )
    .unwrap();
    let o = steadfast(&[
        "ask",
        "--sim-scenario",
        &scenario("reinsertion.toml"),
        "--schema",
        schema.to_str().unwrap(),
        "--reinsert",
        "--attempts",
        "3",
        "--wait",
        "none",
        "--json",
        "-m",
        "openai:gpt-4o-mini",
        "Extract the book",
    ]);
    std::fs::remove_file(&schema).ok();
    assert!(o.status.success(), "{}", stderr(&o));
    let doc: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(doc["output"]["author"], "PATRICK ROTHFUSS");
    assert_eq!(doc["attempts"][0]["outcome"], "validation");
}

#[test]
fn bad_input_gets_a_clear_error() {
    let o = steadfast(&["ask", "--sim", "-m", "gpt-4o-mini", "hi"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("PROVIDER:MODEL"), "{}", stderr(&o));
    let o = steadfast(&["ask", "--sim", "-m", "nope:x", "hi"]);
    assert!(
        stderr(&o).contains("unknown provider `nope`"),
        "{}",
        stderr(&o)
    );
    let o = steadfast(&[
        "ask",
        "--sim",
        "--wait",
        "sometimes",
        "-m",
        "openai:x",
        "hi",
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("expected none, fixed:S"),
        "{}",
        stderr(&o)
    );
    let o = steadfast(&["ask", "--sim", "--retry-on", "nope", "-m", "openai:x", "hi"]);
    assert!(stderr(&o).contains("unknown error kind"), "{}", stderr(&o));
}

#[test]
fn demo_runs_every_scenario_and_checks_it() {
    let o = steadfast(&["demo"]);
    let out = stdout(&o);
    assert!(o.status.success(), "{out}\n{}", stderr(&o));
    assert!(out.contains("All scenarios behaved as specified"), "{out}");
    assert_eq!(out.matches("━━ ").count(), 13);
    assert!(!out.contains('✗'), "{out}");
    let o = steadfast(&["demo", "--list"]);
    assert_eq!(stdout(&o).lines().count(), 13);
    let o = steadfast(&["demo", "reinsertion", "--style", "template"]);
    assert!(o.status.success());
    assert!(stdout(&o).contains("reinserted \"Previous Error: author must be uppercase\""));
    let o = steadfast(&["demo", "nope"]);
    assert!(!o.status.success());
}

#[test]
fn dry_run_prints_each_targets_request_and_sends_nothing() {
    let o = steadfast(&[
        "ask",
        "--sim",
        "--dry-run",
        "--json",
        "--temperature",
        "0.3",
        "-m",
        "openai:gpt-4o-mini",
        "--fallback",
        "anthropic:claude-3-5-sonnet-latest",
        "Hello there",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let doc: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    let targets = doc.as_array().unwrap();
    assert_eq!(targets.len(), 2);
    assert_eq!(targets[0]["target"], "openai:gpt-4o-mini");
    assert!(
        targets[0]["url"]
            .as_str()
            .unwrap()
            .ends_with("/openai/v1/chat/completions")
    );
    assert_eq!(targets[0]["body"]["temperature"], 0.3);
    assert_eq!(targets[0]["body"]["messages"][0]["content"], "Hello there");
    assert!(
        targets[1]["url"]
            .as_str()
            .unwrap()
            .ends_with("/anthropic/v1/messages")
    );
    assert_eq!(targets[1]["body"]["max_tokens"], 1024);

    // Without a key there is nothing that could be sent: the same error `send` would give.
    let o = steadfast(&["ask", "--dry-run", "-m", "openai:gpt-4o-mini", "hi"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("no API key for openai"),
        "{}",
        stderr(&o)
    );

    // A dry run shows plain requests only.
    let o = steadfast(&[
        "ask",
        "--sim",
        "--dry-run",
        "--stream",
        "-m",
        "openai:x",
        "hi",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn restart_streams_starts_an_interrupted_stream_again() {
    let streams = scenario("streams.toml");
    let o = steadfast(&[
        "ask",
        "--sim-scenario",
        &streams,
        "--stream",
        "--restart-streams",
        "1",
        "-m",
        "openai:gpt-4o-mini",
        "one two three four five",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(
        out.lines().last(),
        Some("Echo: one two three four five"),
        "{out}"
    );
    assert!(stderr(&o).contains("starts again"), "{}", stderr(&o));

    // Without it the interruption is the caller's error.
    let o = steadfast(&[
        "ask",
        "--sim-scenario",
        &streams,
        "--stream",
        "-m",
        "openai:gpt-4o-mini",
        "one two three four five",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("stream-interrupted"), "{}", stderr(&o));

    // It only makes sense for streams.
    let o = steadfast(&[
        "ask",
        "--sim",
        "--restart-streams",
        "1",
        "-m",
        "openai:x",
        "hi",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

/// Writes a scenario file for one test; removed when the guard drops.
struct TempScenario(PathBuf);

impl TempScenario {
    fn new(name: &str, toml: &str) -> Self {
        let path =
            std::env::temp_dir().join(format!("steadfast-cli-{name}-{}.toml", std::process::id()));
        std::fs::write(&path, toml).unwrap();
        TempScenario(path)
    }

    /// `steadfast ask` with this scenario, `-m model`, the extra flags, `--stream` when asked, and
    /// the prompt.
    fn ask(&self, model: &str, flags: &[&str], stream: bool, prompt: &str) -> Output {
        let path = self.0.display().to_string();
        let mut args = vec!["ask", "--sim-scenario", &path, "-m", model];
        args.extend_from_slice(flags);
        if stream {
            args.push("--stream");
        }
        args.push(prompt);
        let o = steadfast(&args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        o
    }
}

impl Drop for TempScenario {
    fn drop(&mut self) {
        std::fs::remove_file(&self.0).ok();
    }
}

#[test]
fn parallel_calls_of_undeclared_tools_are_printed_not_failed() {
    let scenario = TempScenario::new(
        "parallel",
        r#"
name = "parallel"
[[rules]]
provider = "openai"
[rules.action]
type = "tool_call"
tool_calls = [
  { name = "get_weather", arguments = '{"city": "Oslo"}' },
  { name = "get_time", arguments = '{"tz": "CET"}' },
]
"#,
    );
    for stream in [true, false] {
        let o = scenario.ask("openai:gpt-4o-mini", &["--json"], stream, "What now?");
        let doc: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
        let names: Vec<_> = doc["tool_calls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["get_weather", "get_time"], "stream={stream}");
        assert_eq!(doc["tool_calls"][1]["arguments"], r#"{"tz": "CET"}"#);
        assert_eq!(doc["reasoning"], serde_json::json!([]));
        assert_eq!(doc["other_parts"], serde_json::json!([]));

        // Plain output prints the calls.
        let out = stdout(&scenario.ask("openai:gpt-4o-mini", &[], stream, "What now?"));
        assert!(out.contains("get_weather({\"city\": \"Oslo\"})"), "{out}");
        assert!(out.contains("get_time({\"tz\": \"CET\"})"), "{out}");
    }
}

#[test]
fn plain_output_says_on_stderr_what_else_came() {
    let scenario = TempScenario::new(
        "novelty",
        r#"
name = "novelty"
[[rules]]
provider = "anthropic"
[rules.action]
type = "model"
novelty = true
"#,
    );
    for stream in [false, true] {
        let o = scenario.ask("anthropic:claude-x", &[], stream, "one two");
        assert_eq!(stdout(&o).trim(), "Echo: one two", "stream={stream}");
        let err = stderr(&o);
        assert!(
            err.contains("[also in the answer: 2 other part(s) (x_novelty_block); see --json]"),
            "stream={stream}: {err}"
        );

        // --json has them as data.
        let o = scenario.ask("anthropic:claude-x", &["--json"], stream, "one two");
        let doc: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
        assert_eq!(doc["content"], "Echo: one two");
        let parts = doc["other_parts"].as_array().unwrap();
        assert_eq!(parts.len(), 2, "{doc}");
        assert!(
            parts.iter().all(|p| p["kind"] == "x_novelty_block"),
            "{doc}"
        );
    }
}
