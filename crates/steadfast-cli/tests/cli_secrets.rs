//! Keys and tokens in the binary's environment never reach its stdout or stderr: not in a
//! simulated answer, a dry run, a failed request, nor trace-level logs.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::process::{Command, Output};

/// Every credential variable the binary's providers read, each with a distinct value.
const SECRETS: &[(&str, &str)] = &[
    ("OPENAI_API_KEY", "sk-openai-secret-0123456789abcdef"),
    ("ANTHROPIC_API_KEY", "sk-ant-secret-0123456789abcdef"),
    ("GEMINI_API_KEY", "gemini-secret-0123456789abcdef"),
    ("AZURE_OPENAI_AD_TOKEN", "azure-ad-secret-0123456789abcdef"),
    ("ANTHROPIC_AUTH_TOKEN", "ant-auth-secret-0123456789abcdef"),
    (
        "AZURE_INFERENCE_AD_TOKEN",
        "azinf-ad-secret-0123456789abcdef",
    ),
];

/// Runs the binary with every secret in its environment and `-vvv` (trace logs on stderr).
fn steadfast(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_steadfast"));
    cmd.arg("-vvv")
        .args(args)
        .env_remove("STEADFAST_MODEL")
        .env_remove("STEADFAST_LOG");
    for (name, value) in SECRETS {
        cmd.env(name, value);
    }
    cmd.output().expect("the binary runs")
}

fn assert_clean(what: &str, o: &Output) {
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    for (name, value) in SECRETS {
        assert!(!out.contains(value), "{what}: stdout leaks {name}: {out}");
        assert!(!err.contains(value), "{what}: stderr leaks {name}: {err}");
    }
    assert!(
        !out.contains("0123456789abcdef") && !err.contains("0123456789abcdef"),
        "{what}: part of a secret leaks: {out}\n{err}"
    );
}

#[test]
fn a_simulated_json_answer_holds_no_secret() {
    for model in [
        "openai:gpt-4o-mini",
        "anthropic:claude-3-5-sonnet-latest",
        "gemini:gemini-2.0-flash",
    ] {
        let o = steadfast(&["ask", "--sim", "--json", "-m", model, "hi"]);
        assert!(
            o.status.success(),
            "{model}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_clean(model, &o);
    }
}

#[test]
fn a_dry_run_holds_no_secret() {
    for model in [
        "openai:gpt-4o-mini",
        "anthropic:claude-3-5-sonnet-latest",
        "gemini:gemini-2.0-flash",
    ] {
        for json in [false, true] {
            let mut args = vec!["ask", "--dry-run", "-m", model];
            if json {
                args.push("--json");
            }
            args.push("hi");
            let o = steadfast(&args);
            assert!(
                o.status.success(),
                "{model}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            assert!(
                !o.stdout.is_empty(),
                "{model}: the dry run prints the request"
            );
            assert_clean(&format!("{model} dry run (json: {json})"), &o);
        }
    }
}

#[test]
fn a_failed_request_holds_no_secret() {
    for model in [
        "openai:gpt-4o-mini",
        "anthropic:claude-3-5-sonnet-latest",
        "gemini:gemini-2.0-flash",
        "azure:my-deployment",
    ] {
        for json in [false, true] {
            let mut args = vec!["ask", "--base-url", "http://127.0.0.1:9", "-m", model];
            if json {
                args.push("--json");
            }
            args.push("hi");
            let o = steadfast(&args);
            assert!(!o.status.success(), "{model}: an unreachable server fails");
            assert_clean(&format!("{model} unreachable (json: {json})"), &o);
        }
    }
}

#[test]
fn a_401_that_echoes_the_key_holds_no_secret() {
    // The provider's error body repeats the key it was sent.
    let (_, key) = SECRETS[0];
    let path = std::env::temp_dir().join(format!("steadfast-echo-401-{}.toml", std::process::id()));
    std::fs::write(
        &path,
        format!(
            "name = \"echo\"\n[[rules]]\nprovider = \"openai\"\naction = {{ type = \"auth\", message = \"bad key {key}\" }}\n"
        ),
    )
    .unwrap();
    for json in [false, true] {
        let mut args = vec![
            "ask",
            "--sim-scenario",
            path.to_str().unwrap(),
            "-m",
            "openai:gpt-4o-mini",
        ];
        if json {
            args.push("--json");
        }
        args.push("hi");
        let o = steadfast(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(!o.status.success(), "{err}");
        assert!(
            err.contains("bad key ***") || out.contains("bad key ***"),
            "{out}\n{err}"
        );
        assert_clean(&format!("echoing 401 (json: {json})"), &o);
    }
    let _ = std::fs::remove_file(&path);
}
