//! `Call::preview` is exactly what `send` posts, and `Call::decode_response` reads a body exactly
//! as `send` does — for every provider, checked against the simulator's journal and answers.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use std::sync::Arc;

use common::{TARGETS, TEST_KEY, call, sim};
use steadfast::provider::BoxFuture;
use steadfast::{
    Call, Capabilities, ChatRequest, ClientConfig, Error, ErrorKind, Message, Provider, Response,
};
use steadfast_sim::Scenario;

#[tokio::test]
async fn preview_is_what_send_posts_and_decode_reads_what_send_read() {
    let sim = sim(Scenario::new()).await;
    let prompt = vec![
        Message::system("Be brief."),
        Message::user("Recommend a fantasy book"),
    ];
    for t in TARGETS {
        sim.reset();
        let call = call(t, &sim).temperature(0.5).max_tokens(64);
        let preview = call.preview(prompt.clone()).unwrap();
        let sent = call.send(prompt.clone()).await.unwrap();
        let journal = sim.journal();
        let entry = journal.last().expect("one request");
        assert_eq!(entry.body, preview.body, "{}: the body sent", t.name);
        let url = reqwest::Url::parse(&preview.url).unwrap();
        assert_eq!(url.path(), entry.path, "{}: the path", t.name);
        assert!(
            !preview.url.contains(TEST_KEY),
            "{}: no key in the URL",
            t.name
        );

        let raw = sent.raw_bytes().expect("the raw body");
        let decoded = call.decode_response(raw).unwrap();
        assert_eq!(decoded.text(), sent.text(), "{}", t.name);
        assert_eq!(decoded.tool_calls(), sent.tool_calls(), "{}", t.name);
        assert_eq!(decoded.finish_reason(), sent.finish_reason(), "{}", t.name);
        assert_eq!(decoded.usage(), sent.usage(), "{}", t.name);
        assert!(decoded.attempts().is_empty(), "{}", t.name);
    }
}

#[test]
fn preview_fails_as_send_would_before_any_io() {
    let call = steadfast::llm::call("openai:gpt-4o-mini")
        .unwrap()
        .base_url("http://127.0.0.1:9/v1")
        .api_key(TEST_KEY);
    let e = call.preview(Vec::<Message>::new()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    assert!(e.message().contains("no user or assistant message"), "{e}");
    let no_base = steadfast::llm::call("azure:my-deployment")
        .unwrap()
        .with_client(ClientConfig::default())
        .api_key(TEST_KEY);
    let e = no_base.preview("hi").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    assert!(!e.to_string().contains(TEST_KEY));
}

#[test]
fn a_body_that_is_not_a_response_is_a_decode_error() {
    let call = steadfast::llm::call("anthropic:claude-3-5-sonnet-latest").unwrap();
    let e = call
        .decode_response(b"<html>bad gateway</html>")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode, "{e}");
    assert_eq!(e.provider(), Some("anthropic"));
}

/// A provider of the user's own, without an HTTP encoding.
#[derive(Debug)]
struct Custom;

impl Provider for Custom {
    fn name(&self) -> &str {
        "custom"
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }
    fn client_from_env(&self) -> ClientConfig {
        ClientConfig::default()
    }
    fn send(&self, _request: ChatRequest) -> BoxFuture<Result<Response, Error>> {
        Box::pin(async { Err(Error::new(ErrorKind::Unsupported, "not in this test")) })
    }
    fn stream(
        &self,
        _request: ChatRequest,
    ) -> BoxFuture<Result<steadfast::provider::EventStream, Error>> {
        Box::pin(async { Err(Error::new(ErrorKind::Unsupported, "not in this test")) })
    }
}

#[test]
fn a_provider_without_an_http_codec_says_so() {
    let call = Call::new(Arc::new(Custom), "m");
    let e = call.preview("hi").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert!(e.message().contains("custom"), "{e}");
    let e = call.decode_response(b"{}").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
}
