//! Scripted provider quotas: per-key rolling windows answered with each provider's native 429,
//! `retry-after` and rate-limit headers; refused requests are journaled and not counted.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use common::{chat, post, send};
use steadfast_sim::{Dialect, ProviderQuota, Scenario, Simulator};

#[tokio::test]
async fn openai_requests_per_minute_per_key() {
    let sim = Simulator::start(
        Scenario::new().quota(ProviderQuota::new().provider(Dialect::OpenAi).rpm(2)),
    )
    .await
    .unwrap();
    for _ in 0..2 {
        assert_eq!(
            send(&sim, Dialect::OpenAi, "gpt-4o", "hi", false)
                .await
                .status,
            200
        );
    }
    let r = send(&sim, Dialect::OpenAi, "gpt-4o", "hi", false).await;
    assert_eq!(r.status, 429);
    let v = r.json();
    assert_eq!(v["error"]["type"], "requests");
    assert_eq!(v["error"]["code"], "rate_limit_exceeded");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "Rate limit reached for gpt-4o in organization org-sim on requests per min (RPM): Limit 2, Used 2, Requested 1. Please try again in "
        ),
        "{message}"
    );
    let retry_after: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after));
    assert!(r.header("retry-after-ms").is_some());
    assert_eq!(r.header("x-ratelimit-limit-requests"), Some("2"));
    assert_eq!(r.header("x-ratelimit-remaining-requests"), Some("0"));
    assert!(
        r.header("x-ratelimit-reset-requests")
            .unwrap()
            .ends_with('s')
    );
    // Another key has its own window; another provider is not limited.
    let (url, _, body) = chat(&sim, Dialect::OpenAi, "gpt-4o", "hi", false);
    let other = post(&url, &[("authorization", "Bearer sk-other")], &body).await;
    assert_eq!(other.status, 200);
    assert_eq!(
        send(&sim, Dialect::Anthropic, "claude", "hi", false)
            .await
            .status,
        200
    );
    let journal = sim.journal();
    let actions: Vec<&str> = journal.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["model", "model", "quota_exceeded", "model", "model"]
    );
    assert_eq!(journal[2].status, 429);
    // The refused request was not counted: still refused, still "Used 2".
    let again = send(&sim, Dialect::OpenAi, "gpt-4o", "hi", false).await;
    assert!(
        again.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Used 2,")
    );
}

#[tokio::test]
async fn tokens_per_minute_count_the_prompt_and_max_tokens() {
    // Anthropic's request in the helper asks max_tokens 256; "hi" is one token: 257 a request.
    let sim = Simulator::start(
        Scenario::new().quota(ProviderQuota::new().provider(Dialect::Anthropic).tpm(600)),
    )
    .await
    .unwrap();
    for _ in 0..2 {
        assert_eq!(
            send(&sim, Dialect::Anthropic, "claude", "hi", false)
                .await
                .status,
            200
        );
    }
    let r = send(&sim, Dialect::Anthropic, "claude", "hi", false).await;
    assert_eq!(r.status, 429);
    let v = r.json();
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "rate_limit_error");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("rate limit of 600 tokens per min")
    );
    assert_eq!(r.header("anthropic-ratelimit-tokens-limit"), Some("600"));
    assert_eq!(r.header("anthropic-ratelimit-tokens-remaining"), Some("86"));
    let reset = r.header("anthropic-ratelimit-tokens-reset").unwrap();
    assert!(
        reset.ends_with('Z') && reset.len() == 20,
        "RFC 3339: {reset}"
    );
    assert!(r.header("retry-after").is_some());
}

#[tokio::test]
async fn quotas_load_from_scenario_files_and_apply_to_every_dialect() {
    let scenario = Scenario::from_toml_str(
        r#"
        [[quotas]]
        rpm = 1
        window_secs = 30
        "#,
    )
    .unwrap();
    assert_eq!(scenario.quotas[0].window_secs, 30);
    assert_eq!(
        Scenario::from_toml_str(&scenario.to_toml_string().unwrap()).unwrap(),
        scenario
    );
    let sim = Simulator::start(scenario).await.unwrap();
    for p in Dialect::ALL {
        assert_eq!(send(&sim, p, "m", "hi", false).await.status, 200, "{p}");
        let r = send(&sim, p, "m", "hi", false).await;
        assert_eq!(r.status, 429, "{p}: the provider's own 429");
        if p == Dialect::Gemini {
            // Gemini's hint is in the body (google.rpc.RetryInfo), not a header.
            assert!(r.text().contains("retryDelay"), "{p}: {}", r.text());
        } else {
            assert!(r.header("retry-after").is_some(), "{p}");
        }
    }
    let groq = {
        let sim =
            Simulator::start(Scenario::new().quota(ProviderQuota::new().rpm(1).window_secs(30)))
                .await
                .unwrap();
        send(&sim, Dialect::Groq, "llama", "hi", false).await;
        send(&sim, Dialect::Groq, "llama", "hi", false).await.json()
    };
    assert!(
        groq["error"]["message"]
            .as_str()
            .unwrap()
            .contains("on requests per 30s (RPM): Limit 1")
    );
}
