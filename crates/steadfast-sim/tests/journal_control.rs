//! The journal (contents, redaction) and the HTTP control plane.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use common::{post, send};
use serde_json::{Value, json};
use steadfast_sim::{Dialect, Scenario, Simulator};

#[tokio::test]
async fn journal_records_requests_with_secrets_redacted() {
    let sim = Simulator::start(Scenario::new()).await.unwrap();
    let base = sim.base_url(Dialect::OpenAi);
    let body = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Previous Error: author must be uppercase"}]});
    post(
        &format!("{base}/chat/completions"),
        &[("authorization", "Bearer sk-secret-123"), ("x-trace", "t1")],
        &body,
    )
    .await;
    send(
        &sim,
        Dialect::Anthropic,
        "claude-3-5-sonnet-latest",
        "hi",
        true,
    )
    .await;
    send(&sim, Dialect::AzureOpenAi, "dep", "hi", false).await;
    let gem = sim.base_url(Dialect::Gemini);
    post(
        &format!("{gem}/v1beta/models/gemini-2.0-flash:generateContent?key=AIza-secret"),
        &[],
        &json!({"contents": [{"parts": [{"text": "x"}]}]}),
    )
    .await;
    let b = sim.base_url(Dialect::Bedrock);
    post(
        &format!("{b}/model/m/converse"),
        &[
            ("authorization", "Bearer br-secret"),
            ("x-amz-security-token", "tok-secret"),
        ],
        &json!({"messages": []}),
    )
    .await;

    let j = sim.journal();
    assert_eq!(j.len(), 5);
    assert_eq!(j.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
    let e = &j[0];
    assert_eq!(
        (e.provider, e.method.as_str(), e.path.as_str()),
        (Some(Dialect::OpenAi), "POST", "/openai/v1/chat/completions")
    );
    assert_eq!(e.header("authorization"), Some("Bearer ***"));
    assert_eq!(e.header("x-trace"), Some("t1"));
    assert_eq!(
        e.json().unwrap()["messages"][0]["content"],
        "Previous Error: author must be uppercase"
    );
    assert_eq!(
        (e.status, e.model.as_deref(), e.stream, e.action.as_str()),
        (200, Some("gpt-4o-mini"), false, "model")
    );
    assert_eq!(j[1].header("x-api-key"), Some("***"));
    assert!(j[1].stream);
    assert_eq!(j[2].header("api-key"), Some("***"));
    assert_eq!(j[2].query.as_deref(), Some("api-version=2024-10-21"));
    assert_eq!(j[3].query.as_deref(), Some("key=***"));
    assert_eq!(j[4].header("x-amz-security-token"), Some("***"));
    let all = format!("{j:?}");
    for secret in [
        "sk-secret-123",
        "sk-ant-test",
        "azure-test",
        "AIza-secret",
        "br-secret",
        "tok-secret",
    ] {
        assert!(!all.contains(secret), "{secret} leaked");
    }
}

#[tokio::test]
async fn control_plane_over_http() {
    let sim = Simulator::start(Scenario::new()).await.unwrap();
    let url = sim.url();
    let c = common::client();
    let health: Value = c
        .get(format!("{url}/__sim/health"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .map(|b| serde_json::from_slice(&b).unwrap())
        .unwrap();
    assert_eq!(health["status"], "ok");

    let toml = "name = \"t\"\n[[rules]]\nprovider = \"openai\"\nrequests = [1]\naction = { type = \"rate_limit\", retry_after = 2 }\n";
    let r = c
        .post(format!("{url}/__sim/scenario"))
        .body(toml)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(sim.scenario().name.as_deref(), Some("t"));
    let r = send(&sim, Dialect::OpenAi, "gpt-4o-mini", "hi", false).await;
    assert_eq!((r.status, r.header("retry-after")), (429, Some("2")));

    let journal: Value = c
        .get(format!("{url}/__sim/journal"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .map(|b| serde_json::from_slice(&b).unwrap())
        .unwrap();
    let entry = &journal[0];
    assert_eq!(
        (
            entry["status"].as_u64(),
            entry["provider"].as_str(),
            entry["rule"].as_u64()
        ),
        (Some(429), Some("openai"), Some(0))
    );
    assert_eq!(entry["json"]["model"], "gpt-4o-mini");
    assert!(entry["body"].as_str().unwrap().contains("gpt-4o-mini"));

    let json_scenario =
        json!({"rules": [{"provider": "anthropic", "action": {"type": "overloaded"}}]});
    let r = c
        .post(format!("{url}/__sim/scenario"))
        .body(json_scenario.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let got: Value = c
        .get(format!("{url}/__sim/scenario"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .map(|b| serde_json::from_slice(&b).unwrap())
        .unwrap();
    assert_eq!(got["rules"][0]["action"]["type"], "overloaded");

    let r = c
        .post(format!("{url}/__sim/scenario"))
        .body("[[rules]]\naction = { type = \"nope\" }")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let err: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    assert!(err["error"].as_str().unwrap().contains("nope"));

    let r = c.post(format!("{url}/__sim/reset")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(sim.journal().is_empty());
    // Control requests are not journaled.
    c.get(format!("{url}/__sim/journal")).send().await.unwrap();
    assert!(sim.journal().is_empty());
}

#[tokio::test]
async fn shutdown_and_drop_stop_the_server() {
    let sim = Simulator::start(Scenario::new()).await.unwrap();
    let url = sim.url();
    sim.shutdown().await;
    assert!(
        common::client()
            .get(format!("{url}/__sim/health"))
            .send()
            .await
            .is_err()
    );
    let sim = Simulator::start(Scenario::new()).await.unwrap();
    let url = sim.url();
    drop(sim);
    tokio::task::yield_now().await;
    assert!(
        common::client()
            .get(format!("{url}/__sim/health"))
            .send()
            .await
            .is_err()
    );
}

#[tokio::test]
async fn base_urls_follow_each_sdk_convention() {
    let sim = Simulator::start(Scenario::new()).await.unwrap();
    let u = sim.url();
    assert_eq!(sim.base_url(Dialect::OpenAi), format!("{u}/openai/v1"));
    assert_eq!(sim.base_url(Dialect::Groq), format!("{u}/groq/openai/v1"));
    assert_eq!(sim.base_url(Dialect::Anthropic), format!("{u}/anthropic"));
    assert_eq!(sim.base_url(Dialect::Gemini), format!("{u}/gemini"));
    assert!(u.starts_with("http://127.0.0.1:"));
    let text = steadfast_sim::describe(&sim);
    assert!(text.contains(&format!("export OPENAI_BASE_URL={u}/openai/v1")));
    assert!(text.contains(&format!("export ANTHROPIC_BASE_URL={u}/anthropic")));
    for p in Dialect::ALL {
        assert_eq!(p.name().parse::<Dialect>().unwrap(), p);
        assert!(text.contains(p.env_vars().base_url), "{p}");
    }
}
