//! Bedrock against the simulator with SigV4: the simulator recomputes each signature with the
//! credentials of its scenario, so a request passes only when signed exactly right (method,
//! double-encoded path with the `%3A` of the model id, signed headers, body hash, scope).

#![cfg(feature = "bedrock")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use common::sim;
use steadfast::providers::bedrock::{AwsCredentials, BedrockCallExt};
use steadfast::{Call, ErrorKind, FinishReason, llm};
use steadfast_sim::{Action, Dialect, Rule, Scenario, Simulator};

const MODEL: &str = "anthropic.claude-3-5-sonnet-20240620-v1:0";
const KEY_ID: &str = "AKIDSTEADFASTTEST";
const SECRET: &str = "test-secret-0123456789abcdef";

fn signing_sim_scenario() -> Scenario {
    Scenario::new().aws_credentials(steadfast_sim::AwsSigningKeys::new(KEY_ID, SECRET))
}

/// A SigV4-signed call to `sim` with these credentials (never a bearer token).
fn signed(sim: &Simulator, creds: AwsCredentials) -> Call {
    let mut client = llm::call(("bedrock", MODEL)).unwrap().client().clone();
    client.api_key = None;
    llm::call(("bedrock", MODEL))
        .unwrap()
        .with_client(client)
        .base_url(sim.base_url(Dialect::Bedrock))
        .aws_region("us-east-1")
        .aws_credentials(creds)
}

#[tokio::test]
async fn sigv4_signed_requests_pass_the_simulators_verification() {
    let sim = sim(signing_sim_scenario()).await;
    let c = signed(&sim, AwsCredentials::new(KEY_ID, SECRET));
    let r = c.send("one two three").await.unwrap();
    assert_eq!(r.text(), "Echo: one two three");
    assert_eq!(r.finish_reason(), FinishReason::Stop);
    let r = c.stream("four five six").into_response().await.unwrap();
    assert_eq!(r.text(), "Echo: four five six");
    // Temporary credentials: the session token is sent and signed too.
    let c = signed(
        &sim,
        AwsCredentials::new(KEY_ID, SECRET).with_session_token("session-0123456789abcdef"),
    );
    c.send("hi").await.unwrap();
    let journal = sim.journal();
    assert_eq!(journal.len(), 3);
    for entry in &journal {
        assert_eq!(entry.status, 200);
        assert_eq!(
            entry.path,
            format!(
                "/bedrock/model/{}/{}",
                MODEL.replace(':', "%3A"),
                if entry.stream {
                    "converse-stream"
                } else {
                    "converse"
                }
            )
        );
        assert!(entry.header("x-amz-date").is_some());
        assert!(
            entry
                .header("authorization")
                .unwrap()
                .starts_with("AWS4-HMAC-SHA256"),
        );
    }
    assert!(journal[2].header("x-amz-security-token").is_some());
}

#[tokio::test]
async fn wrong_credentials_are_auth_errors() {
    let sim = sim(signing_sim_scenario()).await;
    let e = signed(&sim, AwsCredentials::new(KEY_ID, "not-the-secret"))
        .send("hi")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth, "{e}");
    assert_eq!(e.code(), Some("InvalidSignatureException"));
    assert_eq!(e.status(), Some(403));
    let e = signed(&sim, AwsCredentials::new("AKIDOTHER", SECRET))
        .stream("hi")
        .into_response()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth, "{e}");
    assert_eq!(e.code(), Some("UnrecognizedClientException"));
    assert!(!format!("{e:?}").contains(SECRET));
}

#[tokio::test]
async fn a_bearer_token_set_in_code_is_used_instead() {
    let sim = sim(Scenario::new().require_key("bedrock-api-key")).await;
    let r = llm::call(("bedrock", "amazon.nova-lite-v1:0"))
        .unwrap()
        .base_url(sim.base_url(Dialect::Bedrock))
        .api_key("bedrock-api-key")
        .send("hi")
        .await
        .unwrap();
    assert_eq!(r.text(), "Echo: hi");
    assert_eq!(sim.journal()[0].header("authorization"), Some("Bearer ***"));
    // Both a key and SigV4 credentials in code: a configuration error, nothing is sent.
    let e = llm::call(("bedrock", "amazon.nova-lite-v1:0"))
        .unwrap()
        .base_url(sim.base_url(Dialect::Bedrock))
        .api_key("bedrock-api-key")
        .aws_credentials(AwsCredentials::new(KEY_ID, SECRET))
        .send("hi")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert_eq!(e.code(), Some("bedrock_conflicting_auth"));
    assert_eq!(sim.journal().len(), 1);
}

#[tokio::test]
async fn in_stream_exceptions_keep_their_kind_before_content() {
    for (kind, want) in [
        (steadfast_sim::FaultKind::RateLimit, ErrorKind::RateLimited),
        (steadfast_sim::FaultKind::Overloaded, ErrorKind::Overloaded),
        (steadfast_sim::FaultKind::ServerError, ErrorKind::Server),
        (
            steadfast_sim::FaultKind::BadRequest,
            ErrorKind::InvalidRequest,
        ),
    ] {
        let sim = sim(Scenario::new().rule(
            Rule::new()
                .provider(Dialect::Bedrock)
                .action(Action::text("alpha beta").error_after(0, kind)),
        ))
        .await;
        let e = common::call(
            &common::Target {
                name: "bedrock",
                model: MODEL,
                sim: Dialect::Bedrock,
            },
            &sim,
        )
        .stream("hi")
        .into_response()
        .await
        .unwrap_err();
        assert_eq!(e.kind(), want, "{kind:?}: {e}");
        assert_eq!(e.status(), Some(200));
    }
}

#[tokio::test]
async fn the_millisecond_hint_is_awss_own_header() {
    // AWS's millisecond retry hint is `x-amz-retry-after`; the simulator sends it under that name
    // (not OpenAI's `retry-after-ms`), and the classifier reads it.
    let sim = sim(Scenario::new().rule(
        Rule::new()
            .provider(Dialect::Bedrock)
            .action(Action::rate_limit().retry_after_ms(250)),
    ))
    .await;
    let url = format!(
        "{}/model/{}/converse",
        sim.base_url(Dialect::Bedrock),
        MODEL.replace(':', "%3A")
    );
    let resp = reqwest::Client::new()
        .post(url)
        .bearer_auth("bedrock-api-key-test")
        .header("content-type", "application/json")
        .body(r#"{"messages":[{"role":"user","content":[{"text":"hi"}]}]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["x-amz-retry-after"], "250");
    assert!(resp.headers().get("retry-after-ms").is_none());

    let e = llm::call(("bedrock", MODEL))
        .unwrap()
        .base_url(sim.base_url(Dialect::Bedrock))
        .api_key("bedrock-api-key-test")
        .aws_region("us-east-1")
        .send("hi")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert_eq!(e.retry_after(), Some(std::time::Duration::from_millis(250)));
}
