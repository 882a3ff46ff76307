//! What differs between members of the OpenAI-compatible family, and Anthropic's own headers: the
//! path, the auth header, the body fields, and the error shapes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use common::{TARGETS, Target, call, sim};
use steadfast::ErrorKind;
use steadfast_sim::{Action, Rule, Scenario};

fn target(name: &str) -> &'static Target {
    TARGETS.iter().find(|t| t.name == name).unwrap()
}

#[tokio::test]
async fn paths_auth_headers_and_body_fields() {
    let sim = sim(Scenario::new()).await;
    // (provider, path suffix, auth header, value shape, token field, sends stream_options)
    let expect = [
        (
            "openai",
            "/openai/v1/chat/completions",
            "authorization",
            "Bearer ***",
            "max_completion_tokens",
            true,
        ),
        (
            "groq",
            "/groq/openai/v1/chat/completions",
            "authorization",
            "Bearer ***",
            "max_tokens",
            false,
        ),
        (
            "xai",
            "/xai/v1/chat/completions",
            "authorization",
            "Bearer ***",
            "max_tokens",
            true,
        ),
        (
            "litellm",
            "/litellm/v1/chat/completions",
            "authorization",
            "Bearer ***",
            "max_tokens",
            true,
        ),
        (
            "azure",
            "/azure/openai/deployments/my-gpt-4o-deployment/chat/completions",
            "api-key",
            "***",
            "max_completion_tokens",
            true,
        ),
    ];
    for (name, path, header, value, tokens, stream_options) in expect {
        sim.reset();
        let c = call(target(name), &sim).max_tokens(50);
        c.send("hi").await.unwrap();
        c.stream("hi").into_response().await.unwrap();
        let j = sim.journal();
        assert_eq!(j.len(), 2);
        assert_eq!(j[0].path, path, "{name}");
        assert_eq!(j[0].header(header), Some(value), "{name}");
        let body = j[0].json().unwrap();
        assert_eq!(body[tokens], 50, "{name}: {body}");
        let stream_body = j[1].json().unwrap();
        assert_eq!(stream_body["stream"], true);
        assert_eq!(
            stream_body.get("stream_options").is_some(),
            stream_options,
            "{name}: {stream_body}"
        );
        if name == "azure" {
            assert_eq!(j[0].query.as_deref(), Some("api-version=2024-10-21"));
            assert!(
                j[0].header("authorization").is_none(),
                "Azure uses api-key, not a bearer token"
            );
        }
    }
}

#[tokio::test]
async fn anthropic_headers_and_defaults() {
    let sim = sim(Scenario::new()).await;
    let c = call(target("anthropic"), &sim);
    c.send(vec![
        steadfast::Message::system("Be terse."),
        steadfast::Message::user("hi"),
    ])
    .await
    .unwrap();
    let j = sim.journal();
    assert_eq!(j[0].path, "/anthropic/v1/messages");
    assert_eq!(j[0].header("x-api-key"), Some("***"));
    assert_eq!(j[0].header("anthropic-version"), Some("2023-06-01"));
    let body = j[0].json().unwrap();
    assert_eq!(body["max_tokens"], 1024, "the default max_tokens is sent");
    assert_eq!(body["system"], "Be terse.");
    assert_eq!(body["messages"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn anthropic_rejects_what_it_cannot_do() {
    let sim = sim(Scenario::new()).await;
    let e = call(target("anthropic"), &sim)
        .seed(7)
        .send("hi")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    let e = call(target("anthropic"), &sim)
        .frequency_penalty(0.5)
        .send("hi")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert!(sim.journal().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn provider_specific_error_shapes() {
    // xAI answers a bad key with 400 and a flat body; LiteLLM puts the status in `code`.
    for (name, action, kind) in [
        ("xai", Action::auth(), ErrorKind::Auth),
        ("litellm", Action::rate_limit(), ErrorKind::RateLimited),
        ("litellm", Action::auth(), ErrorKind::Auth),
        (
            "azure",
            Action::rate_limit().retry_after_ms(1500),
            ErrorKind::RateLimited,
        ),
        (
            "azure",
            Action::content_filter(),
            ErrorKind::ContentFiltered,
        ),
        (
            "groq",
            Action::rate_limit().retry_after_secs(3),
            ErrorKind::RateLimited,
        ),
    ] {
        let t = target(name);
        let sim =
            sim(Scenario::new().rule(Rule::new().provider(t.sim).action(action.clone()))).await;
        let e = call(t, &sim).send("hi").await.unwrap_err();
        assert_eq!(e.kind(), kind, "{name} {}: {e}", action.label());
        let status = sim.journal()[0].status;
        assert_eq!(e.status(), Some(status));
        if name == "xai" {
            assert_eq!(status, 400, "xAI rejects a bad key with 400");
        }
    }
}

#[tokio::test]
async fn missing_key_is_a_config_error_naming_the_variable() {
    let sim = sim(Scenario::new()).await;
    let mut client = steadfast::ClientConfig::default();
    client.base_url = Some(sim.base_url(steadfast_sim::Dialect::Groq));
    let c = steadfast::llm::call("groq:llama")
        .unwrap()
        .with_client(client);
    let e = c.send("hi").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.to_string().contains("GROQ_API_KEY"), "{e}");
    assert!(sim.journal().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn local_servers_need_no_key() {
    let sim = sim(Scenario::new()).await;
    for name in ["ollama", "vllm"] {
        // Without a key the request still goes out (no Config error), with no auth header; the
        // simulator speaks for OpenAI and wants one, as a local server would not.
        let mut client = steadfast::ClientConfig::default();
        client.base_url = Some(sim.base_url(steadfast_sim::Dialect::OpenAi));
        let c = steadfast::llm::call((name, "llama3.2"))
            .unwrap()
            .with_client(client);
        let e = c.send("hi").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Auth, "{name}: {e}");
        // With a key it is sent as a bearer token, as local servers behind a proxy expect.
        let r = c
            .clone()
            .api_key(common::TEST_KEY)
            .send("hi")
            .await
            .unwrap();
        assert_eq!(r.text(), "Echo: hi", "{name}");
        assert_eq!(r.provider(), name);
    }
    let j = sim.journal();
    assert_eq!(j.len(), 4);
    assert!(
        j[0].header("authorization").is_none(),
        "no key, no auth header"
    );
    assert_eq!(j[1].header("authorization"), Some("Bearer ***"));
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_error() {
    let sim = sim(Scenario::new()).await;
    let url = sim.base_url(steadfast_sim::Dialect::OpenAi);
    sim.shutdown().await;
    let c = steadfast::llm::call("openai:gpt-4o-mini")
        .unwrap()
        .base_url(url)
        .api_key(common::TEST_KEY);
    let e = c.send("hi").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connect, "{e}");
    assert!(e.is_retryable());
    let e = c.stream("hi").into_response().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connect, "{e}");
}
