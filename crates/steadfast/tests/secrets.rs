//! An API key never appears in `Debug` or `Display` of a call, its client settings, a stream, or any
//! error — even when the provider echoes it back in an error body.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use common::{TARGETS, call, sim};
use futures_util::StreamExt;
use steadfast::{ApiKey, ClientConfig, llm};
use steadfast_sim::{Action, Rule, Scenario};

const KEY: &str = common::TEST_KEY;

fn assert_clean(what: &str, text: &str) {
    assert!(!text.contains(KEY), "{what} leaks the key: {text}");
    assert!(
        !text.contains("0123456789abcdef"),
        "{what} leaks part of the key: {text}"
    );
}

#[test]
fn call_and_client_settings_hide_the_key() {
    let c = llm::call("openai:gpt-4o-mini").unwrap().api_key(KEY);
    assert_clean("Debug of Call", &format!("{c:?}"));
    assert_clean("Debug of ClientConfig", &format!("{:?}", c.client()));
    assert_clean("Debug of ApiKey", &format!("{:?}", ApiKey::new(KEY)));
    assert_clean("Debug of ChatRequest", &format!("{:?}", c.request("hi")));
    let mut cfg = ClientConfig::default();
    cfg.api_key = Some(ApiKey::new(KEY));
    assert_clean("pretty Debug of ClientConfig", &format!("{cfg:#?}"));
}

#[tokio::test]
async fn errors_hide_the_key_even_when_the_provider_echoes_it() {
    for t in TARGETS {
        // The simulator only accepts another key: a real 401 with the provider's own body.
        let scenario = Scenario::new().require_key("the-right-key");
        let sim = sim(scenario).await;
        let e = call(t, &sim).send("hi").await.unwrap_err();
        assert_eq!(e.kind(), steadfast::ErrorKind::Auth, "{}: {e}", t.name);
        assert_clean("Display of Error", &e.to_string());
        assert_clean("Debug of Error", &format!("{e:?}"));
        assert_clean("Error::body", e.body().unwrap_or(""));
        let mut s = call(t, &sim).stream("hi");
        assert_clean("Debug of Stream", &format!("{s:?}"));
        let e = s.next().await.unwrap().unwrap_err();
        assert_clean("Display of stream Error", &e.to_string());
        assert_clean("Debug of stream Error", &format!("{e:?}"));

        // Here the provider's error message echoes the key it was sent: it is redacted.
        let sim2 = sim_with_error(t).await;
        let e = call(t, &sim2).send("hi").await.unwrap_err();
        assert!(e.message().contains("slow down ***"), "{}: {e}", t.name);
        assert_clean("Display of echoing Error", &e.to_string());
        assert_clean("Debug of echoing Error", &format!("{e:?}"));
        assert_clean("body of echoing Error", e.body().unwrap_or(""));
    }
}

async fn sim_with_error(t: &common::Target) -> steadfast_sim::Simulator {
    sim(Scenario::new().rule(
        Rule::new()
            .provider(t.sim)
            .action(Action::rate_limit().message(format!("slow down {KEY}"))),
    ))
    .await
}

#[tokio::test]
async fn the_simulator_journal_never_holds_the_key() {
    let sim = sim(Scenario::new()).await;
    for t in TARGETS {
        call(t, &sim).send("hi").await.unwrap();
    }
    for entry in sim.journal() {
        for (name, value) in &entry.headers {
            assert_clean(&format!("journal header {name}"), value);
        }
    }
}

#[tokio::test]
async fn aws_secret_keys_and_session_tokens_are_scrubbed_from_errors() {
    use steadfast::providers::bedrock::{AwsCredentials, BedrockCallExt};
    use steadfast_sim::Dialect;
    let token = "FQoGZXIvYXdzEXAMPLESESSIONTOKEN0123456789";
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    let echo = Action::rate_limit().message(format!("echo {token} {secret}"));
    let sim = sim(Scenario::new().rule(Rule::new().provider(Dialect::Bedrock).action(echo))).await;
    let c = llm::call("bedrock:amazon.nova-lite-v1:0")
        .unwrap()
        .base_url(sim.base_url(Dialect::Bedrock))
        .aws_region("us-east-1")
        .aws_credentials(AwsCredentials::new("AKIDEXAMPLE", secret).with_session_token(token));
    for e in [
        c.send("hi").await.unwrap_err(),
        c.stream("hi").into_response().await.unwrap_err(),
    ] {
        assert_eq!(e.kind(), steadfast::ErrorKind::RateLimited, "{e}");
        for text in [
            e.to_string(),
            format!("{e:?}"),
            e.body().unwrap_or("").to_string(),
        ] {
            assert!(!text.contains(token), "session token leaked: {text}");
            assert!(!text.contains(secret), "secret key leaked: {text}");
        }
        assert!(e.message().contains("echo *** ***"), "{e}");
    }
    assert!(!format!("{c:?}").contains(secret));
}
