//! What is Mistral's own beyond the provider-agnostic conformance suite (where Mistral has its
//! `TARGETS` row): its strictness about unknown fields, and its rate-limit code.

#![cfg(feature = "mistral")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use std::time::Duration;

use common::{TEST_KEY, sim};
use serde_json::json;
use steadfast::{Call, ErrorKind, llm};
use steadfast_sim::{Action, Dialect, Rule, Scenario, Simulator};

fn call(sim: &Simulator) -> Call {
    llm::call("mistral:mistral-small-latest")
        .unwrap()
        .base_url(sim.base_url(Dialect::Mistral))
        .api_key(TEST_KEY)
}

#[tokio::test]
async fn an_unknown_field_is_mistrals_422() {
    // The client never sends a field Mistral rejects on its own; one forced in through `extra`
    // gets the real 422 `extra_forbidden`, classified as an invalid request naming the field.
    let sim = sim(Scenario::new()).await;
    let e = call(&sim)
        .extra_body("store", json!(false))
        .send("hi")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert_eq!(e.status(), Some(422));
    assert!(e.message().contains("store"), "{e}");
}

#[tokio::test]
async fn rate_limits_carry_mistrals_code_and_the_retry_hint() {
    let rule = Rule::new()
        .provider(Dialect::Mistral)
        .action(Action::rate_limit().retry_after_secs(7));
    let sim = sim(Scenario::new().rule(rule)).await;
    let e = call(&sim).send("hi").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
    assert_eq!(e.code(), Some("1300"));
}
