//! reqwest -> gateway -> simulator, all on 127.0.0.1:0.

mod support;

use serde_json::{Value, json};
use steadfast_gateway::InboundKeys;
use steadfast_sim::{Action, Dialect, Rule, Scenario};
use support::{KEY, chat, header, rig};

#[tokio::test]
async fn openai_inbound_anthropic_upstream() {
    let rig = rig(Scenario::new(), InboundKeys::any()).await;
    let r = rig.openai(chat("anthropic:claude-3-5-sonnet-latest")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-steadfast-attempts"), "1");
    assert_eq!(
        header(&r, "x-steadfast-target"),
        "anthropic:claude-3-5-sonnet-latest"
    );
    assert!(!header(&r, "x-request-id").is_empty());
    let body: Value = serde_json::from_str(&r.text().await.expect("body")).expect("json");
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "Echo: hello there"
    );
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert_eq!(rig.sim.requests_for(Dialect::Anthropic), 1);
    assert_eq!(rig.sim.requests_for(Dialect::OpenAi), 0);
}

#[tokio::test]
async fn anthropic_inbound_openai_upstream_streams_the_real_event_sequence() {
    let rig = rig(Scenario::new(), InboundKeys::any()).await;
    let mut req = chat("openai:gpt-4o-mini");
    req["max_tokens"] = json!(32);
    req["stream"] = json!(true);
    let r = rig.anthropic(req).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-type"), "text/event-stream");
    assert!(!header(&r, "request-id").is_empty());
    let text = r.text().await.expect("body");
    let events: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .collect();
    assert_eq!(events.first(), Some(&"message_start"));
    assert_eq!(events.get(1), Some(&"content_block_start"));
    assert_eq!(
        events[events.len() - 3..],
        ["content_block_stop", "message_delta", "message_stop"]
    );
    let deltas: String = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter(|v| v["type"] == "content_block_delta")
        .map(|v| v["delta"]["text"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(deltas, "Echo: hello there");
}

#[tokio::test]
async fn retries_and_fallback_are_invisible() {
    let scenario = Scenario::new()
        .rule(
            Rule::new()
                .provider(Dialect::OpenAi)
                .requests([1])
                .action(Action::rate_limit()),
        )
        .rule(
            Rule::new()
                .provider(Dialect::Gemini)
                .action(Action::server_error()),
        );
    let rig = rig(scenario, InboundKeys::any()).await;
    let r = rig.openai(chat("openai:gpt-4o-mini")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-steadfast-attempts"), "2");
    let r = rig
        .openai(chat("gemini:gemini-2.0-flash,cohere:command-r-plus"))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-steadfast-attempts"), "4");
    assert_eq!(header(&r, "x-steadfast-target"), "cohere:command-r-plus");
    let body: Value = serde_json::from_str(&r.text().await.expect("body")).expect("json");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "Echo: hello there"
    );
    let metrics = rig
        .http
        .get(format!("{}/metrics", rig.url))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("body");
    for line in [
        "steadfast_gateway_requests_total{protocol=\"openai.chat\",status=\"200\"} 2",
        "steadfast_gateway_upstream_attempts_total{protocol=\"openai.chat\"} 6",
        "steadfast_gateway_retries_total{protocol=\"openai.chat\"} 4",
        "steadfast_gateway_fallbacks_total{protocol=\"openai.chat\"} 1",
        "steadfast_gateway_request_duration_seconds_count{protocol=\"openai.chat\"} 2",
    ] {
        assert!(metrics.contains(line), "{line} in:\n{metrics}");
    }
}

#[tokio::test]
async fn a_failure_after_the_commit_point_ends_the_stream_with_an_error_chunk() {
    let scenario = Scenario::new().rule(
        Rule::new().action(Action::model().error_after(3, steadfast_sim::FaultKind::ServerError)),
    );
    let rig = rig(scenario, InboundKeys::any()).await;
    let mut req = chat("openai:gpt-4o-mini");
    req["stream"] = json!(true);
    let r = rig.openai(req).await;
    assert_eq!(r.status(), 200, "the stream had begun");
    let text = r.text().await.expect("body");
    let data: Vec<Value> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str(d).ok())
        .collect();
    let last = data.last().expect("chunks");
    assert!(last["error"]["message"].is_string(), "{text}");
    assert!(
        data.iter()
            .all(|c| c["choices"][0]["finish_reason"].is_null()),
        "no finish: the answer is not complete"
    );
    assert_eq!(rig.sim.requests_for(Dialect::OpenAi), 1);
}

/// The `data:` payloads of an SSE body that parse as JSON.
fn sse_data(text: &str) -> Vec<Value> {
    text.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str(d).ok())
        .collect()
}

#[tokio::test]
async fn an_error_event_after_the_commit_point_names_the_upstream_failure() {
    use steadfast_sim::FaultKind;
    // Anthropic inbound: an upstream `overloaded` (from either family) ends the stream with
    // Anthropic's own `overloaded_error` event, a server error with `api_error`.
    for (model, fault, expected) in [
        (
            "anthropic:claude-3-5-sonnet-latest",
            FaultKind::Overloaded,
            "overloaded_error",
        ),
        (
            "openai:gpt-4o-mini",
            FaultKind::Overloaded,
            "overloaded_error",
        ),
        (
            "openai:gpt-4o-mini",
            FaultKind::RateLimit,
            "rate_limit_error",
        ),
        ("openai:gpt-4o-mini", FaultKind::ServerError, "api_error"),
    ] {
        let scenario =
            Scenario::new().rule(Rule::new().action(Action::model().error_after(5, fault)));
        let rig = rig(scenario, InboundKeys::any()).await;
        let mut req = chat(model);
        req["max_tokens"] = json!(32);
        req["stream"] = json!(true);
        let r = rig.anthropic(req).await;
        assert_eq!(r.status(), 200, "{model} {fault:?}: the stream had begun");
        let text = r.text().await.expect("body");
        assert!(text.contains("event: error\n"), "{model} {fault:?}: {text}");
        let data = sse_data(&text);
        let last = data.last().expect("events");
        assert_eq!(last["type"], "error", "{text}");
        assert_eq!(last["error"]["type"], expected, "{model} {fault:?}: {text}");
        assert!(
            last["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("after content was delivered")),
            "{text}"
        );
        assert_eq!(
            rig.sim.journal().len(),
            1,
            "never replayed after the commit point"
        );
    }
    // OpenAI inbound: the error chunk's `type` and `code` are the rate limit's.
    let scenario = Scenario::new()
        .rule(Rule::new().action(Action::model().error_after(5, FaultKind::RateLimit)));
    let rig = rig(scenario, InboundKeys::any()).await;
    let mut req = chat("anthropic:claude-3-5-sonnet-latest");
    req["stream"] = json!(true);
    let text = rig.openai(req).await.text().await.expect("body");
    let data = sse_data(&text);
    let last = data.last().expect("chunks");
    assert_eq!(last["error"]["type"], "requests", "{text}");
    assert_eq!(last["error"]["code"], "rate_limit_exceeded", "{text}");
}

#[tokio::test]
async fn errors_in_each_protocol() {
    let scenario = Scenario::new().rule(
        Rule::new()
            .provider(Dialect::Cohere)
            .action(Action::rate_limit().retry_after_secs(5).should_retry(false)),
    );
    let rig = rig(scenario, InboundKeys::any()).await;
    let r = rig.openai(chat("cohere:command-r-plus")).await;
    assert_eq!(r.status(), 429);
    assert_eq!(header(&r, "retry-after"), "5");
    let body: Value = serde_json::from_str(&r.text().await.expect("body")).expect("json");
    assert_eq!(body["error"]["code"], "rate_limit_exceeded");

    let mut req = chat("cohere:command-r-plus");
    req["max_tokens"] = json!(10);
    let r = rig.anthropic(req).await;
    assert_eq!(r.status(), 429);
    let body: Value = serde_json::from_str(&r.text().await.expect("body")).expect("json");
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "rate_limit_error");

    let mut bad = chat("openai:gpt-4o-mini");
    bad["logit_bias"] = json!({"1": 2});
    let r = rig.openai(bad).await;
    assert_eq!(r.status(), 400);
    let body: Value = serde_json::from_str(&r.text().await.expect("body")).expect("json");
    assert_eq!(body["error"]["param"], "logit_bias");

    let r = rig.openai(chat("nosuch:model")).await;
    assert_eq!(r.status(), 404);

    let r = rig.openai_as(None, chat("openai:gpt-4o-mini")).await;
    assert_eq!(r.status(), 401);
    assert_eq!(rig.sim.requests_for(Dialect::OpenAi), 0);
}

#[tokio::test]
async fn hashed_inbound_keys() {
    let keys = InboundKeys::sha256_hex([InboundKeys::hash(KEY)]).expect("hash");
    let rig = rig(Scenario::new(), keys).await;
    assert_eq!(rig.openai(chat("openai:gpt-4o-mini")).await.status(), 200);
    let r = rig
        .openai_as(Some("sk-someone-else"), chat("openai:gpt-4o-mini"))
        .await;
    assert_eq!(r.status(), 401);
    let body = r.text().await.expect("body");
    assert!(!body.contains("sk-someone-else"), "the key is not echoed");
}

#[tokio::test]
async fn a_graceful_shutdown_drains_the_open_streams() {
    use steadfast_gateway::{Gateway, ProviderTargets};
    let sim = steadfast_sim::Simulator::start(
        Scenario::new().rule(Rule::new().action(Action::model().chunk_delay_ms(30))),
    )
    .await
    .expect("simulator");
    let targets = ProviderTargets::new()
        .api_key("sim-key")
        .base_url("openai", sim.base_url(Dialect::OpenAi));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(Gateway::new(targets).serve(listener, async {
        let _ = stopped.await;
    }));
    let mut r = reqwest::Client::new()
        .post(format!("{url}/v1/chat/completions"))
        .bearer_auth(KEY)
        .header("content-type", "application/json")
        .body(
            json!({"model": "openai:gpt-4o-mini", "stream": true,
                "messages": [{"role": "user", "content": "one two three four"}]})
            .to_string(),
        )
        .send()
        .await
        .expect("stream");
    let mut body =
        String::from_utf8_lossy(&r.chunk().await.expect("chunk").expect("first")).into_owned();
    stop.send(()).expect("shutdown");
    while let Some(c) = r.chunk().await.expect("chunk") {
        body.push_str(&String::from_utf8_lossy(&c));
    }
    assert!(body.ends_with("data: [DONE]\n\n"), "{body}");
    assert!(body.contains("four"), "{body}");
    server.await.expect("join").expect("served");
}
