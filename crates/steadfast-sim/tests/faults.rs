//! Every fault kind: native error statuses, bodies and hint headers per provider, gateway pages,
//! latency (paused time), cut streams, in-band errors, malformed chunks and connection resets.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use std::time::Duration;

use common::{chat, decode_frames, send, sse};
use serde_json::Value;
use steadfast_sim::{Action, Dialect, FaultKind, Rule, Scenario, Simulator};

const KINDS: [FaultKind; 12] = [
    FaultKind::RateLimit,
    FaultKind::QuotaExhausted,
    FaultKind::Overloaded,
    FaultKind::ServerError,
    FaultKind::Timeout,
    FaultKind::Auth,
    FaultKind::PermissionDenied,
    FaultKind::NotFound,
    FaultKind::ContextWindowExceeded,
    FaultKind::ContentFilter,
    FaultKind::BadRequest,
    FaultKind::Conflict,
];

fn expected_statuses(p: Dialect) -> [u16; 12] {
    match p {
        Dialect::Anthropic => [429, 402, 529, 500, 504, 401, 403, 404, 400, 400, 400, 409],
        Dialect::Gemini => [429, 429, 503, 500, 504, 400, 403, 404, 400, 400, 400, 409],
        Dialect::Bedrock => [429, 400, 503, 500, 408, 403, 403, 404, 400, 400, 400, 400],
        Dialect::Xai => [429, 429, 503, 500, 504, 400, 403, 404, 400, 400, 400, 409],
        _ => [429, 429, 503, 500, 504, 401, 403, 404, 400, 400, 400, 409],
    }
}

/// The error message a client would show, found where each provider puts it.
fn message_of(p: Dialect, v: &Value) -> Option<String> {
    let m = match p {
        Dialect::Anthropic => v["error"]["message"].as_str(),
        Dialect::Gemini => v["error"]["message"].as_str(),
        Dialect::Cohere | Dialect::Bedrock => v["message"].as_str(),
        Dialect::Xai => v["error"].as_str(),
        Dialect::Mistral => v["message"].as_str(),
        _ => v["error"]["message"].as_str(),
    };
    m.map(str::to_owned)
}

#[tokio::test]
async fn every_error_kind_has_the_native_status_and_body() {
    for p in Dialect::ALL {
        for (kind, status) in KINDS.iter().zip(expected_statuses(p)) {
            let sim =
                Simulator::start(Scenario::new().rule(Rule::new().action(Action::error(*kind))))
                    .await
                    .unwrap();
            let r = send(&sim, p, "model-x", "hi", false).await;
            assert_eq!(r.status, status, "{p} {kind:?}");
            let v = r.json();
            assert!(
                message_of(p, &v).is_some_and(|m| !m.is_empty()),
                "{p} {kind:?}: {v}"
            );
            match p {
                Dialect::Anthropic => assert_eq!(v["type"], "error"),
                Dialect::Gemini => assert_eq!(v["error"]["code"], status),
                Dialect::Bedrock => {
                    assert!(r.header("x-amzn-errortype").unwrap().contains("Exception:"))
                }
                Dialect::OpenAi => {
                    let e = v["error"].as_object().unwrap();
                    for key in ["message", "type", "param", "code"] {
                        assert!(e.contains_key(key), "{kind:?} lacks {key}");
                    }
                }
                Dialect::LiteLlm => assert_eq!(v["error"]["code"], status.to_string()),
                _ => {}
            }
            assert_eq!(sim.journal()[0].action, kind_name(*kind));
        }
    }
}

fn kind_name(k: FaultKind) -> &'static str {
    k.name()
}

#[tokio::test]
async fn specific_bodies_match_the_real_services() {
    let one = |a: Action| Scenario::new().rule(Rule::new().action(a));
    let sim = Simulator::start(one(Action::quota_exhausted()))
        .await
        .unwrap();
    let v = send(&sim, Dialect::OpenAi, "gpt-4o-mini", "hi", false)
        .await
        .json();
    assert_eq!(
        (v["error"]["type"].as_str(), v["error"]["code"].as_str()),
        (Some("insufficient_quota"), Some("insufficient_quota"))
    );
    sim.set_scenario(one(Action::context_window_exceeded()));
    let v = send(&sim, Dialect::OpenAi, "gpt-4o-mini", "hi", false)
        .await
        .json();
    assert_eq!(v["error"]["code"], "context_length_exceeded");
    sim.set_scenario(one(Action::overloaded()));
    let v = send(
        &sim,
        Dialect::Anthropic,
        "claude-3-5-sonnet-latest",
        "hi",
        false,
    )
    .await
    .json();
    assert_eq!(v["error"]["type"], "overloaded_error");
    sim.set_scenario(one(Action::rate_limit()));
    let r = send(&sim, Dialect::Gemini, "gemini-2.0-flash", "hi", false).await;
    assert_eq!(r.json()["error"]["status"], "RESOURCE_EXHAUSTED");
    let r = send(&sim, Dialect::Bedrock, "amazon.nova-lite-v1:0", "hi", false).await;
    assert!(
        r.header("x-amzn-errortype")
            .unwrap()
            .starts_with("ThrottlingException:")
    );
    let r = send(&sim, Dialect::Groq, "llama-3.1-8b-instant", "hi", false).await;
    assert!(
        r.json()["error"].get("param").is_none(),
        "groq errors have no param"
    );
    sim.set_scenario(one(Action::content_filter()));
    let v = send(&sim, Dialect::AzureOpenAi, "my-deployment", "hi", false)
        .await
        .json();
    assert_eq!(
        v["error"]["innererror"]["code"],
        "ResponsibleAIPolicyViolation"
    );
    sim.set_scenario(one(Action::server_error()
        .status(502)
        .message("upstream broke")));
    let r = send(&sim, Dialect::OpenAi, "gpt-4o-mini", "hi", false).await;
    assert_eq!(
        (r.status, r.json()["error"]["message"].as_str()),
        (502, Some("upstream broke"))
    );
}

#[tokio::test]
async fn retry_hints_in_headers_and_retry_info() {
    let one = |a: Action| Scenario::new().rule(Rule::new().action(a));
    let sim = Simulator::start(one(Action::rate_limit()
        .retry_after_secs(2)
        .retry_after_ms(1500)
        .should_retry(false)
        .header("x-extra", "1")))
    .await
    .unwrap();
    let r = send(&sim, Dialect::OpenAi, "gpt-4o-mini", "hi", false).await;
    assert_eq!(r.header("retry-after"), Some("2"));
    assert_eq!(r.header("retry-after-ms"), Some("1500"));
    assert_eq!(r.header("x-should-retry"), Some("false"));
    assert_eq!(r.header("x-extra"), Some("1"));
    assert_eq!(r.header("x-ratelimit-remaining-requests"), Some("0"));

    sim.set_scenario(one(Action::rate_limit().retry_after_date_in(30)));
    let r = send(&sim, Dialect::OpenAi, "gpt-4o-mini", "hi", false).await;
    let when = httpdate::parse_http_date(r.header("retry-after").unwrap()).unwrap();
    let secs = when
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default()
        .as_secs();
    assert!((25..=31).contains(&secs), "{secs}");

    sim.set_scenario(one(Action::rate_limit().retry_after_secs_f64(1.5)));
    let r = send(&sim, Dialect::Gemini, "gemini-2.0-flash", "hi", false).await;
    assert_eq!(
        r.header("retry-after"),
        None,
        "gemini carries the hint in the body"
    );
    let details = r.json()["error"]["details"].as_array().unwrap().clone();
    let info = details
        .iter()
        .find(|d| d["@type"] == "type.googleapis.com/google.rpc.RetryInfo")
        .unwrap();
    assert_eq!(info["retryDelay"], "1.5s");

    // Anthropic sends x-should-retry by default, like the recorded responses.
    sim.set_scenario(one(Action::rate_limit().retry_after_secs(1)));
    let r = send(
        &sim,
        Dialect::Anthropic,
        "claude-3-5-sonnet-latest",
        "hi",
        false,
    )
    .await;
    assert_eq!(
        (r.header("x-should-retry"), r.header("retry-after")),
        (Some("true"), Some("1"))
    );
    sim.set_scenario(one(Action::bad_request()));
    let r = send(
        &sim,
        Dialect::Anthropic,
        "claude-3-5-sonnet-latest",
        "hi",
        false,
    )
    .await;
    assert_eq!(r.header("x-should-retry"), Some("false"));
}

#[tokio::test]
async fn gateway_pages_are_html() {
    let sim = Simulator::start(Scenario::new().rule(Rule::new().action(Action::gateway(503))))
        .await
        .unwrap();
    let r = send(&sim, Dialect::OpenAi, "gpt-4o-mini", "hi", false).await;
    assert_eq!(r.status, 503);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert!(r.text().contains("<h1>503 Service Unavailable</h1>"));
    assert!(serde_json::from_slice::<Value>(&r.body).is_err());
}

#[tokio::test(start_paused = true)]
async fn latency_before_first_byte_and_between_chunks() {
    let scenario = Scenario::new()
        .rule(
            Rule::new()
                .stream(false)
                .action(Action::model().delay_ms(3_000)),
        )
        .rule(
            Rule::new()
                .stream(true)
                .action(Action::model().chunk_delay_ms(500)),
        );
    let sim = Simulator::start(scenario).await.unwrap();
    let start = tokio::time::Instant::now();
    let r = send(&sim, Dialect::OpenAi, "gpt-4o-mini", "hi", false).await;
    assert_eq!(r.status, 200);
    assert!(
        start.elapsed() >= Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );

    let start = tokio::time::Instant::now();
    let r = send(&sim, Dialect::OpenAi, "gpt-4o-mini", "a b", true).await;
    // role chunk, "Echo:", " a", " b", finish chunk, [DONE] = 6 pieces, 5 gaps.
    assert_eq!(sse(&r.text()).len(), 6);
    assert!(
        start.elapsed() >= Duration::from_millis(2_500),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn cut_streams_have_no_terminator() {
    let sim =
        Simulator::start(Scenario::new().rule(Rule::new().action(Action::model().cut_after(3))))
            .await
            .unwrap();
    let events = sse(&send(
        &sim,
        Dialect::OpenAi,
        "gpt-4o-mini",
        "one two three four",
        true,
    )
    .await
    .text());
    assert_eq!(events.len(), 3);
    assert!(
        events
            .iter()
            .all(|(_, d)| d != "[DONE]" && !d.contains("finish_reason\":\"stop"))
    );
    let events = sse(&send(
        &sim,
        Dialect::Anthropic,
        "claude-3-5-sonnet-latest",
        "one two three",
        true,
    )
    .await
    .text());
    assert_eq!(events.len(), 3);
    assert!(
        events
            .iter()
            .all(|(e, _)| e.as_deref() != Some("message_stop"))
    );
    // A cut beyond the last event still drops the terminator only.
    sim.set_scenario(Scenario::new().rule(Rule::new().action(Action::model().cut_after(100))));
    let r = send(
        &sim,
        Dialect::Bedrock,
        "amazon.nova-lite-v1:0",
        "one two",
        true,
    )
    .await;
    let frames = decode_frames(&r.body).unwrap();
    assert_eq!(
        frames.last().unwrap().header(":event-type"),
        Some("messageStop")
    );
    // Non-streaming: a truncated JSON body.
    sim.set_scenario(Scenario::new().rule(Rule::new().action(Action::model().cut_after(1))));
    let r = send(&sim, Dialect::OpenAi, "gpt-4o-mini", "hi", false).await;
    assert_eq!(r.status, 200);
    assert!(serde_json::from_slice::<Value>(&r.body).is_err());
}

#[tokio::test]
async fn in_band_errors_in_each_provider_form() {
    let scenario = Scenario::new()
        .rule(Rule::new().action(Action::model().error_after(2, FaultKind::Overloaded)));
    let sim = Simulator::start(scenario).await.unwrap();

    let ev = sse(
        &send(&sim, Dialect::OpenAi, "gpt-4o-mini", "one two three", true)
            .await
            .text(),
    );
    assert_eq!(ev.len(), 4);
    let err: Value = serde_json::from_str(&ev[2].1).unwrap();
    assert!(err["error"]["message"].is_string());
    assert_eq!(ev[3].1, "[DONE]");

    let ev = sse(&send(
        &sim,
        Dialect::Anthropic,
        "claude-3-5-sonnet-latest",
        "one two three",
        true,
    )
    .await
    .text());
    assert_eq!(ev[2].0.as_deref(), Some("error"));
    let err: Value = serde_json::from_str(&ev[2].1).unwrap();
    assert_eq!(err["error"]["type"], "overloaded_error");
    assert_eq!(ev.len(), 3);

    let text = send(
        &sim,
        Dialect::Gemini,
        "gemini-2.0-flash",
        "one two three",
        true,
    )
    .await
    .text();
    let tail = &text[text.find("\n{").unwrap() + 1..];
    let err: Value = serde_json::from_str(tail).unwrap();
    assert_eq!(err["error"]["status"], "UNAVAILABLE");

    let ev = sse(&send(
        &sim,
        Dialect::Cohere,
        "command-a-03-2025",
        "one two three",
        true,
    )
    .await
    .text());
    let last: Value = serde_json::from_str(&ev.last().unwrap().1).unwrap();
    assert_eq!(
        (
            last["type"].as_str(),
            last["delta"]["finish_reason"].as_str()
        ),
        (Some("message-end"), Some("ERROR"))
    );

    let r = send(
        &sim,
        Dialect::Bedrock,
        "amazon.nova-lite-v1:0",
        "one two three",
        true,
    )
    .await;
    let frames = decode_frames(&r.body).unwrap();
    assert_eq!(frames.len(), 3);
    assert_eq!(frames[2].header(":message-type"), Some("exception"));
    assert_eq!(
        frames[2].header(":exception-type"),
        Some("serviceUnavailableException")
    );

    // Non-streaming requests get the HTTP error instead.
    assert_eq!(
        send(
            &sim,
            Dialect::Anthropic,
            "claude-3-5-sonnet-latest",
            "hi",
            false
        )
        .await
        .status,
        529
    );
}

#[tokio::test]
async fn malformed_chunk_then_the_rest_of_the_stream() {
    let sim = Simulator::start(
        Scenario::new().rule(Rule::new().action(Action::model().malformed_after(2))),
    )
    .await
    .unwrap();
    let ev = sse(&send(&sim, Dialect::OpenAi, "gpt-4o-mini", "one two", true)
        .await
        .text());
    assert!(
        serde_json::from_str::<Value>(&ev[2].1).is_err(),
        "{}",
        ev[2].1
    );
    assert_eq!(ev.last().unwrap().1, "[DONE]");
    let r = send(
        &sim,
        Dialect::Bedrock,
        "amazon.nova-lite-v1:0",
        "one two",
        true,
    )
    .await;
    assert_eq!(decode_frames(&r.body).unwrap_err(), "message checksum");
}

#[tokio::test]
async fn connection_reset_without_response() {
    let sim =
        Simulator::start(Scenario::new().rule(Rule::new().requests([1]).action(Action::reset())))
            .await
            .unwrap();
    let (url, headers, body) = chat(&sim, Dialect::OpenAi, "gpt-4o-mini", "hi", false);
    let mut rb = common::client().post(&url).body(body.to_string());
    for (k, v) in &headers {
        rb = rb.header(*k, *v);
    }
    let err = rb.send().await.unwrap_err();
    assert!(!err.is_status(), "{err}");
    assert_eq!(sim.journal()[0].status, 0);
    assert_eq!(sim.journal()[0].action, "reset");
    // The server keeps serving.
    assert_eq!(
        send(&sim, Dialect::OpenAi, "gpt-4o-mini", "hi", false)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn connection_reset_mid_stream() {
    let sim =
        Simulator::start(Scenario::new().rule(Rule::new().action(Action::model().reset_after(2))))
            .await
            .unwrap();
    let (url, headers, body) = chat(&sim, Dialect::OpenAi, "gpt-4o-mini", "one two three", true);
    let mut rb = common::client().post(&url).body(body.to_string());
    for (k, v) in &headers {
        rb = rb.header(*k, *v);
    }
    let resp = rb.send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let err = resp.bytes().await.unwrap_err();
    assert!(err.is_body() || err.is_decode(), "{err}");
}

#[tokio::test]
async fn auth_failures_use_each_provider_form() {
    let sim = Simulator::start(Scenario::new()).await.unwrap();
    let want = [
        (Dialect::OpenAi, 401),
        (Dialect::Groq, 401),
        (Dialect::Xai, 400),
        (Dialect::LiteLlm, 401),
        (Dialect::AzureOpenAi, 401),
        (Dialect::AzureInference, 401),
        (Dialect::Anthropic, 401),
        (Dialect::Gemini, 403),
        (Dialect::Mistral, 401),
        (Dialect::Cohere, 401),
        (Dialect::Bedrock, 403),
    ];
    for (p, status) in want {
        let (url, headers, body) = chat(&sim, p, "m", "hi", false);
        let kept: Vec<_> = headers
            .into_iter()
            .filter(|(k, _)| {
                !matches!(
                    *k,
                    "authorization" | "x-api-key" | "api-key" | "x-goog-api-key"
                )
            })
            .collect();
        let r = common::post(&url, &kept, &body).await;
        assert_eq!(r.status, status, "{p}: {}", r.text());
        assert!(!r.body.is_empty());
    }
    assert!(sim.journal().iter().all(|e| e.action == "auth_rejected"));

    sim.set_scenario(Scenario::new().require_key("right-key"));
    let (url, _, body) = chat(&sim, Dialect::OpenAi, "m", "hi", false);
    assert_eq!(
        common::post(&url, &[("authorization", "Bearer wrong")], &body)
            .await
            .status,
        401
    );
    assert_eq!(
        common::post(&url, &[("authorization", "Bearer right-key")], &body)
            .await
            .status,
        200
    );
    let (url, _, body) = chat(&sim, Dialect::Gemini, "gemini-2.0-flash", "hi", false);
    let r = common::post(&url, &[("x-goog-api-key", "wrong")], &body).await;
    assert_eq!(r.json()["error"]["details"][0]["reason"], "API_KEY_INVALID");
    let r = common::post(&format!("{url}?key=right-key"), &[], &body).await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn protocol_validation_errors() {
    let sim = Simulator::start(Scenario::new()).await.unwrap();
    // Mistral is strict about unknown fields.
    let base = sim.base_url(Dialect::Mistral);
    let body = serde_json::json!({"model": "mistral-large-latest", "max_completion_tokens": 32000, "messages": [{"role": "user", "content": "hi"}]});
    let r = common::post(
        &format!("{base}/v1/chat/completions"),
        &[("authorization", "Bearer k")],
        &body,
    )
    .await;
    assert_eq!(r.status, 422);
    let d = &r.json()["message"]["detail"][0];
    assert_eq!(
        (
            d["type"].as_str(),
            d["loc"][1].as_str(),
            d["input"].as_u64()
        ),
        (
            Some("extra_forbidden"),
            Some("max_completion_tokens"),
            Some(32000)
        )
    );
    // Azure OpenAI requires api-version.
    let base = sim.base_url(Dialect::AzureOpenAi);
    let body = serde_json::json!({"messages": [{"role": "user", "content": "hi"}]});
    let r = common::post(
        &format!("{base}/openai/deployments/d1/chat/completions"),
        &[("api-key", "k")],
        &body,
    )
    .await;
    assert_eq!(r.status, 404);
    // Anthropic requires anthropic-version and max_tokens.
    let base = sim.base_url(Dialect::Anthropic);
    let body = serde_json::json!({"model": "claude-3-5-sonnet-latest", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]});
    let r = common::post(&format!("{base}/v1/messages"), &[("x-api-key", "k")], &body).await;
    assert_eq!(
        (r.status, r.json()["error"]["message"].as_str()),
        (400, Some("anthropic-version: header is required"))
    );
    // OpenAI: missing messages, invalid JSON.
    let base = sim.base_url(Dialect::OpenAi);
    let r = common::post(
        &format!("{base}/chat/completions"),
        &[("authorization", "Bearer k")],
        &serde_json::json!({"model": "m"}),
    )
    .await;
    assert_eq!(
        (r.status, r.json()["error"]["code"].as_str()),
        (400, Some("missing_required_parameter"))
    );
    let r = common::client()
        .post(format!("{base}/chat/completions"))
        .header("authorization", "Bearer k")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let actions: Vec<_> = sim.journal().iter().map(|e| e.action.clone()).collect();
    assert!(
        actions.iter().all(|a| a == "invalid_request"),
        "{actions:?}"
    );
}

#[tokio::test]
async fn non_streaming_reset_after_sends_the_head_then_aborts() {
    let sim =
        Simulator::start(Scenario::new().rule(Rule::new().action(Action::model().reset_after(1))))
            .await
            .unwrap();
    let (url, headers, body) = chat(
        &sim,
        Dialect::Anthropic,
        "claude-3-5-sonnet-latest",
        "hi",
        false,
    );
    let mut rb = common::client().post(&url).body(body.to_string());
    for (k, v) in &headers {
        rb = rb.header(*k, *v);
    }
    let resp = rb.send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.bytes().await.is_err());
}
