//! Keys and tokens read from the environment are as hidden as those set in code: in `Debug` of
//! the call and in errors that echo them. The crate forbids `unsafe`, so the environment is not
//! changed in-process: the test runs this binary again, with the variables set, for an ignored
//! child test that does the checks.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use common::{TARGETS, sim};
use steadfast::llm;
use steadfast_sim::{Action, Rule, Scenario};

const VARS: &[(&str, &str, &str)] = &[
    // (target, variable, value)
    ("openai", "OPENAI_API_KEY", "sk-env-openai-0123456789abcdef"),
    (
        "anthropic",
        "ANTHROPIC_API_KEY",
        "sk-env-anthropic-0123456789abcdef",
    ),
    ("gemini", "GEMINI_API_KEY", "env-gemini-0123456789abcdef"),
    (
        "azure",
        "AZURE_OPENAI_AD_TOKEN",
        "env-azure-ad-0123456789abcdef",
    ),
    (
        "azure-inference",
        "AZURE_INFERENCE_AD_TOKEN",
        "env-azinf-ad-0123456789abcdef",
    ),
];

async fn check(target: &str, secret: &str) {
    let t = TARGETS.iter().find(|t| t.name == target).unwrap();
    let echo = Action::rate_limit().message(format!("echo {secret}"));
    let sim = sim(Scenario::new().rule(Rule::new().provider(t.sim).action(echo))).await;
    let c = llm::call((t.name, t.model))
        .unwrap()
        .base_url(sim.base_url(t.sim));
    for text in [
        format!("{c:?}"),
        format!("{c:#?}"),
        format!("{:?}", c.client()),
    ] {
        assert!(
            !text.contains(secret),
            "{target}: Debug leaks {secret}: {text}"
        );
    }
    let e = c.send("hi").await.unwrap_err();
    assert_eq!(e.kind(), steadfast::ErrorKind::RateLimited, "{target}: {e}");
    assert!(
        e.message().contains("echo ***"),
        "{target}: the credential was sent: {e}"
    );
    for text in [
        e.to_string(),
        format!("{e:?}"),
        e.body().unwrap_or("").into(),
    ] {
        assert!(
            !text.contains(secret),
            "{target}: the error leaks {secret}: {text}"
        );
    }
}

/// Runs the child test `name` in a fresh process with `env` set and every other credential
/// variable removed.
fn run_child(name: &str, env: &[(&str, &str)]) {
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", name, "--ignored", "--nocapture"]);
    for var in [
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "GEMINI_API_KEY",
        "GOOGLE_API_KEY",
        "AZURE_OPENAI_API_KEY",
        "AZURE_OPENAI_AD_TOKEN",
        "AZURE_INFERENCE_API_KEY",
        "AZURE_INFERENCE_CREDENTIAL",
        "AZURE_INFERENCE_AD_TOKEN",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    let o = cmd.output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{name} failed:\n{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains("1 passed"), "{name} did not run:\n{out}");
}

#[test]
fn credentials_from_the_environment_are_hidden_and_scrubbed() {
    let env: Vec<(&str, &str)> = VARS.iter().map(|(_, n, v)| (*n, *v)).collect();
    run_child("child_keys_and_ad_tokens", &env);
    run_child(
        "child_anthropic_auth_token",
        &[(
            "ANTHROPIC_AUTH_TOKEN",
            "env-anthropic-auth-0123456789abcdef",
        )],
    );
}

#[tokio::test]
#[ignore = "run by credentials_from_the_environment_are_hidden_and_scrubbed with its environment"]
async fn child_keys_and_ad_tokens() {
    for (target, _, value) in VARS {
        check(target, value).await;
    }
}

#[tokio::test]
#[ignore = "run by credentials_from_the_environment_are_hidden_and_scrubbed with its environment"]
async fn child_anthropic_auth_token() {
    // Anthropic's bearer token, used when no API key is set.
    check("anthropic", "env-anthropic-auth-0123456789abcdef").await;
}
