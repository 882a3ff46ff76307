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

/// A bearer token set as a header (the way `AZURE_OPENAI_AD_TOKEN` is stored).
const TOKEN: &str = "eyJ0eXAiOiJKV1Qi.azure-ad-token.0123456789abcdef";
/// A credential under a name the credential rule does not know.
const CUSTOM: &str = "custom-credential-fedcba9876543210";
const AWS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const AWS_TOKEN: &str = "FQoGZXIvYXdzEXAMPLESESSIONTOKEN0123456789";

fn assert_no_secret(what: &str, text: &str) {
    assert_clean(what, text);
    for s in [TOKEN, CUSTOM, AWS_SECRET, AWS_TOKEN] {
        assert!(!text.contains(s), "{what} leaks {s}: {text}");
    }
}

/// A call for `t` pointed at `base` holding every kind of credential it can: an API key (SigV4
/// keys and a session token for Bedrock), a bearer token header and a custom sensitive header.
fn loaded_call(t: &common::Target, base: &str) -> steadfast::Call {
    use steadfast::providers::bedrock::{AwsCredentials, BedrockCallExt};
    let c = llm::call((t.name, t.model))
        .unwrap()
        .base_url(base)
        .header("authorization", format!("Bearer {TOKEN}"))
        .sensitive_header("x-custom-credential", CUSTOM);
    if t.name == "bedrock" {
        // SigV4 keys; a Bedrock API key (its bearer token) would be a second, conflicting auth.
        c.aws_region("us-east-1").aws_credentials(
            AwsCredentials::new("AKIDEXAMPLE", AWS_SECRET).with_session_token(AWS_TOKEN),
        )
    } else {
        c.api_key(KEY)
    }
}

#[test]
fn every_provider_hides_keys_tokens_and_aws_secrets_from_debug() {
    use steadfast::retry::{Retry, stop};
    for t in TARGETS {
        let c = loaded_call(t, "http://127.0.0.1:9");
        assert_no_secret(&format!("{}: Debug of Call", t.name), &format!("{c:?}"));
        assert_no_secret(
            &format!("{}: pretty Debug of Call", t.name),
            &format!("{c:#?}"),
        );
        assert_no_secret(
            &format!("{}: Debug of ClientConfig", t.name),
            &format!("{:?}", c.client()),
        );
        let r = c.retry(Retry::new().stop(stop::after_attempt(2)));
        assert_no_secret(
            &format!("{}: Debug of Resilient", t.name),
            &format!("{r:?}"),
        );
        assert_no_secret(
            &format!("{}: Debug of ChatRequest", t.name),
            &format!("{:?}", c.request("hi")),
        );
        // The names stay visible, so a reader can see what is configured.
        let text = format!("{:?}", c.client());
        assert!(
            text.contains("authorization") && text.contains("x-custom-credential"),
            "{text}"
        );
    }
    // Headers set on the settings directly, and the bearer-token path of Bedrock (its API key).
    let cfg = ClientConfig::default()
        .header("Authorization", format!("Bearer {TOKEN}"))
        .header("api-key", KEY)
        .sensitive_header("x-custom-credential", CUSTOM);
    assert_no_secret("Debug of ClientConfig with headers", &format!("{cfg:#?}"));
    let c = llm::call("bedrock:amazon.nova-lite-v1:0")
        .unwrap()
        .api_key(KEY);
    assert_no_secret("Debug of a Bedrock bearer Call", &format!("{c:?}"));
}

#[tokio::test]
async fn header_tokens_are_scrubbed_from_errors_that_echo_them() {
    use steadfast::retry::{Retry, stop};
    for t in TARGETS {
        // The provider echoes both header credentials and the call's key (AWS secret key for Bedrock).
        let key = if t.name == "bedrock" { AWS_SECRET } else { KEY };
        let echo = Action::rate_limit().message(format!("echo {TOKEN} {CUSTOM} {key}"));
        let sim = sim(Scenario::new().rule(Rule::new().provider(t.sim).action(echo))).await;
        let c = loaded_call(t, &sim.base_url(t.sim));
        let r = c.retry(Retry::new().stop(stop::after_attempt(1)));
        for e in [
            c.send("hi").await.unwrap_err(),
            c.stream("hi").into_response().await.unwrap_err(),
            r.send("hi").await.unwrap_err(),
        ] {
            assert_eq!(
                e.kind(),
                steadfast::ErrorKind::RateLimited,
                "{}: {e}",
                t.name
            );
            assert_no_secret(&format!("{}: Display of Error", t.name), &e.to_string());
            assert_no_secret(&format!("{}: Debug of Error", t.name), &format!("{e:?}"));
            assert_no_secret(&format!("{}: Error::body", t.name), e.body().unwrap_or(""));
            assert!(e.message().contains("echo *** *** ***"), "{}: {e}", t.name);
        }
    }
}

#[tokio::test]
async fn a_response_and_its_debug_hold_no_secret() {
    let sim = sim(Scenario::new()).await;
    for t in TARGETS {
        let c = call(t, &sim).sensitive_header("x-custom-credential", CUSTOM);
        let r = c.send("hi").await.unwrap();
        assert_no_secret(&format!("{}: Debug of Response", t.name), &format!("{r:?}"));
    }
}

/// A `MakeWriter` that appends to a shared buffer.
#[derive(Clone, Default)]
struct Buffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn trace_level_logs_hold_no_secret() {
    let buf = Buffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "trace,steadfast_sim=off",
        ))
        .with_writer(buf.clone())
        .with_ansi(false)
        .finish();
    // This test runs on one thread (the current-thread runtime), so the default subscriber sees
    // every event of the client.
    let _guard = tracing::subscriber::set_default(subscriber);
    let echo = Action::auth().message(format!("bad key {KEY} {TOKEN}"));
    let failing = sim(Scenario::new().rule(Rule::new().action(echo))).await;
    let ok = sim(Scenario::new()).await;
    for t in TARGETS {
        let _ = loaded_call(t, &failing.base_url(t.sim)).send("hi").await;
        let _ = loaded_call(t, &ok.base_url(t.sim)).send("hi").await;
        let mut s = loaded_call(t, &ok.base_url(t.sim)).stream("hi");
        while s.next().await.is_some() {}
    }
    let text = String::from_utf8_lossy(&buf.0.lock().unwrap()).into_owned();
    assert!(
        text.contains("TRACE") || text.contains("DEBUG"),
        "nothing was logged"
    );
    assert_no_secret("TRACE log", &text);
}

#[tokio::test]
async fn an_invalid_header_fails_every_request_with_a_config_error_without_its_value() {
    let sim = sim(Scenario::new()).await;
    for t in TARGETS {
        for c in [
            call(t, &sim).header("x-api-key", format!("{TOKEN}\n")),
            call(t, &sim).sensitive_header("x-custom-credential", format!("{CUSTOM}\r")),
        ] {
            assert_no_secret(&format!("{}: Debug of Call", t.name), &format!("{c:?}"));
            for e in [
                c.send("hi").await.unwrap_err(),
                c.stream("hi").into_response().await.unwrap_err(),
            ] {
                assert_eq!(e.kind(), steadfast::ErrorKind::Config, "{}: {e}", t.name);
                assert!(e.to_string().contains("header `x-"), "{}: {e}", t.name);
                assert_no_secret(&format!("{}: Display of Error", t.name), &e.to_string());
                assert_no_secret(&format!("{}: Debug of Error", t.name), &format!("{e:?}"));
            }
        }
    }
    assert!(sim.journal().is_empty(), "nothing was sent");
}
