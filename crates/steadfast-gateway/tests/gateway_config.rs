//! A gateway from a TOML config, in front of the simulator: aliases, fallback, per-key limits.
#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers: a failure is the test's failure"
)]

mod support;

use serde_json::{Value, json};
use steadfast_gateway::{Config, Gateway, InboundKeys};
use steadfast_sim::{Action, Dialect, Rule, Scenario, Simulator};

const KEY: &str = "sk-config-test-4d2c";

async fn start(sim: &Simulator) -> String {
    let text = format!(
        r#"
[[keys]]
name = "tests"
sha256 = "{hash}"
rpm = 3

[models.fast]
targets = [
  {{ target = "openai:gpt-4o-mini", base_url = "{openai}", api_key_env = "SIM_KEY" }},
  {{ target = "anthropic:claude-3-5-haiku-latest", base_url = "{anthropic}", api_key_env = "SIM_KEY" }},
]
attempts = 2
wait = {{ initial_secs = 0.0, max_secs = 0.0, jitter_secs = 0.0 }}
fallback_on = ["server", "overloaded"]
"#,
        hash = InboundKeys::hash(KEY),
        openai = sim.base_url(Dialect::OpenAi),
        anthropic = sim.base_url(Dialect::Anthropic),
    );
    let config =
        Config::from_toml_str_with_env(&text, |k| (k == "SIM_KEY").then(|| "sim-key".into()))
            .unwrap_or_else(|e| panic!("{e}"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let gateway = Gateway::new(config.clone()).keys(config.keys());
    tokio::spawn(gateway.serve(listener, std::future::pending()));
    url
}

async fn post(url: &str, key: &str, model: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{url}/v1/chat/completions"))
        .bearer_auth(key)
        .header("content-type", "application/json")
        .body(json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}).to_string())
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn aliases_fall_back_and_keys_are_limited() {
    let sim = Simulator::start(
        Scenario::new().rule(
            Rule::new()
                .provider(Dialect::OpenAi)
                .action(Action::server_error()),
        ),
    )
    .await
    .expect("simulator");
    let url = start(&sim).await;

    let r = post(&url, KEY, "fast").await;
    assert_eq!(r.status(), 200);
    assert_eq!(support::header(&r, "x-steadfast-attempts"), "3");
    assert_eq!(
        support::header(&r, "x-steadfast-target"),
        "anthropic:claude-3-5-haiku-latest"
    );
    let body: Value = serde_json::from_str(&r.text().await.expect("body")).expect("json");
    assert_eq!(body["model"], "fast");
    assert_eq!(body["choices"][0]["message"]["content"], "Echo: hi");

    let r = post(&url, KEY, "openai:gpt-4o-mini").await;
    assert_eq!(r.status(), 404, "only aliases route");
    assert_eq!(post(&url, "sk-unknown", "fast").await.status(), 401);

    assert_eq!(post(&url, KEY, "fast").await.status(), 200);
    let r = post(&url, KEY, "fast").await;
    assert_eq!(
        r.status(),
        429,
        "the key's 3 requests per minute are used up"
    );
    assert_eq!(support::header(&r, "retry-after"), "20");
    assert_eq!(sim.requests_for(Dialect::OpenAi), 4);
    assert_eq!(sim.requests_for(Dialect::Anthropic), 2);
}

fn config(alias: &str, target: &str, base_url: &str) -> Config {
    let text = format!(
        "[[keys]]\nsha256 = \"{}\"\n\n[models.{alias}]\ntargets = [{{ target = \"{target}\", base_url = \"{base_url}\", api_key_env = \"SIM_KEY\" }}]\n",
        InboundKeys::hash(KEY)
    );
    Config::from_toml_str_with_env(&text, |_| Some("sim-key".into()))
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn a_reload_changes_the_routes_and_lets_open_streams_finish() {
    let sim = Simulator::start(
        Scenario::new().rule(
            Rule::new()
                .provider(Dialect::OpenAi)
                .action(Action::model().chunk_delay_ms(40)),
        ),
    )
    .await
    .expect("simulator");
    let a = config("fast", "openai:gpt-4o-mini", &sim.base_url(Dialect::OpenAi));
    let gateway = Gateway::new(a.clone()).keys(a.keys());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(gateway.clone().serve(listener, std::future::pending()));

    let mut stream = reqwest::Client::new()
        .post(format!("{url}/v1/chat/completions"))
        .bearer_auth(KEY)
        .header("content-type", "application/json")
        .body(
            json!({"model": "fast", "stream": true, "messages": [{"role": "user", "content": "one two three"}]})
                .to_string(),
        )
        .send()
        .await
        .expect("stream");
    assert_eq!(stream.status(), 200);
    let first = stream.chunk().await.expect("chunk").expect("a first chunk");

    let b = config(
        "slow",
        "anthropic:claude-3-5-haiku-latest",
        &sim.base_url(Dialect::Anthropic),
    );
    gateway.reload(b.clone(), b.keys());

    let mut rest = String::from_utf8_lossy(&first).into_owned();
    while let Some(c) = stream.chunk().await.expect("chunk") {
        rest.push_str(&String::from_utf8_lossy(&c));
    }
    assert!(
        rest.ends_with("data: [DONE]\n\n"),
        "the open stream finished: {rest}"
    );
    assert!(!rest.contains("\"error\""), "{rest}");

    assert_eq!(
        post(&url, KEY, "fast").await.status(),
        404,
        "the old alias is gone"
    );
    let r = post(&url, KEY, "slow").await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        support::header(&r, "x-steadfast-target"),
        "anthropic:claude-3-5-haiku-latest"
    );
}

#[tokio::test]
async fn a_stalled_upstream_before_the_commit_point_fails_over() {
    // OpenAI stalls: no response head for 5 s (non-streaming), no event after the first for 5 s
    // (streaming). The alias's timeouts (0.1 s) make both a timeout, which falls back.
    let sim = Simulator::start(
        Scenario::new()
            .rule(
                Rule::new()
                    .provider(Dialect::OpenAi)
                    .stream(false)
                    .action(Action::model().delay_ms(5_000)),
            )
            .rule(
                Rule::new()
                    .provider(Dialect::OpenAi)
                    .stream(true)
                    .action(Action::model().chunk_delay_ms(5_000)),
            ),
    )
    .await
    .expect("simulator");
    let (openai, gemini) = (sim.base_url(Dialect::OpenAi), sim.base_url(Dialect::Gemini));
    let url = serve_config(&format!(
        r#"
[models.steady]
targets = [
  {{ target = "openai:gpt-4o-mini", base_url = "{openai}", api_key_env = "K" }},
  {{ target = "gemini:gemini-2.0-flash", base_url = "{gemini}", api_key_env = "K" }},
]
attempts = 1
timeouts = {{ first_byte_secs = 0.1, idle_secs = 0.1 }}
"#
    ))
    .await;

    let r = post(&url, KEY, "steady").await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        support::header(&r, "x-steadfast-target"),
        "gemini:gemini-2.0-flash"
    );

    let r = reqwest::Client::new()
        .post(format!("{url}/v1/chat/completions"))
        .bearer_auth(KEY)
        .header("content-type", "application/json")
        .body(
            json!({"model": "steady", "stream": true, "messages": [{"role": "user", "content": "hi"}]})
                .to_string(),
        )
        .send()
        .await
        .expect("stream");
    assert_eq!(r.status(), 200);
    assert_eq!(
        support::header(&r, "x-steadfast-target"),
        "gemini:gemini-2.0-flash"
    );
    assert_eq!(support::header(&r, "x-steadfast-attempts"), "2");
    let body = r.text().await.expect("body");
    assert!(body.contains("\"content\":\"Echo:\""), "{body}");
    assert!(body.ends_with("data: [DONE]\n\n"), "{body}");
}

/// A gateway for `models` (TOML tables after `[models.NAME]` headers), any deployment key
/// `sim-key`, the test key accepted: its URL.
async fn serve_config(models: &str) -> String {
    let text = format!(
        "[[keys]]\nsha256 = \"{}\"\n\n{models}",
        InboundKeys::hash(KEY)
    );
    let config = Config::from_toml_str_with_env(&text, |_| Some("sim-key".into()))
        .unwrap_or_else(|e| panic!("{e}"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(
        Gateway::new(config.clone())
            .keys(config.keys())
            .serve(listener, std::future::pending()),
    );
    url
}

#[tokio::test]
async fn weights_choose_the_primary_and_breakers_skip_a_failing_target() {
    let sim = Simulator::start(
        Scenario::new().rule(
            Rule::new()
                .provider(Dialect::Cohere)
                .action(Action::server_error()),
        ),
    )
    .await
    .expect("simulator");
    let (openai, anthropic, cohere) = (
        sim.base_url(Dialect::OpenAi),
        sim.base_url(Dialect::Anthropic),
        sim.base_url(Dialect::Cohere),
    );
    let url = serve_config(&format!(
        r#"
[models.balanced]
targets = [
  {{ target = "openai:gpt-4o-mini", base_url = "{openai}", api_key_env = "K" }},
  {{ target = "anthropic:claude-3-5-haiku-latest", base_url = "{anthropic}", api_key_env = "K", weight = 1 }},
]

[models.guarded]
targets = [
  {{ target = "cohere:command-r-plus", base_url = "{cohere}", api_key_env = "K" }},
  {{ target = "openai:gpt-4o-mini", base_url = "{openai}", api_key_env = "K" }},
]
attempts = 1
breaker = {{ window = 2, min_calls = 2, failure_rate = 0.5, cooldown_secs = 600 }}
"#
    ))
    .await;

    // The only weighted target is every request's primary; the unweighted one is a fallback.
    for _ in 0..3 {
        let r = post(&url, KEY, "balanced").await;
        assert_eq!(r.status(), 200);
        assert_eq!(
            support::header(&r, "x-steadfast-target"),
            "anthropic:claude-3-5-haiku-latest"
        );
    }
    assert_eq!(sim.requests_for(Dialect::OpenAi), 0);
    assert!(
        !metrics(&url)
            .await
            .contains("steadfast_gateway_breaker_state"),
        "a breaker is made when its target is first called"
    );

    // Cohere fails twice: its breaker opens, and the third request goes straight to OpenAI.
    for expected_attempts in ["2", "2", "1"] {
        let r = post(&url, KEY, "guarded").await;
        assert_eq!(r.status(), 200);
        assert_eq!(
            support::header(&r, "x-steadfast-target"),
            "openai:gpt-4o-mini"
        );
        assert_eq!(
            support::header(&r, "x-steadfast-attempts"),
            expected_attempts
        );
    }
    assert_eq!(sim.requests_for(Dialect::Cohere), 2);
    let text = metrics(&url).await;
    for (target, state, v) in [
        ("cohere:command-r-plus", "open", 1),
        ("cohere:command-r-plus", "closed", 0),
        ("cohere:command-r-plus", "half_open", 0),
        ("openai:gpt-4o-mini", "closed", 1),
        ("openai:gpt-4o-mini", "open", 0),
    ] {
        let line = format!(
            "steadfast_gateway_breaker_state{{model=\"guarded\",target=\"{target}\",server=\"127.0.0.1\",state=\"{state}\"}} {v}\n"
        );
        assert!(text.contains(&line), "{line} in:\n{text}");
    }
    assert!(
        text.contains("# TYPE steadfast_gateway_breaker_state gauge"),
        "{text}"
    );
    assert!(
        !text.contains("model=\"balanced\",target"),
        "no breaker configured there"
    );
}

async fn metrics(url: &str) -> String {
    reqwest::get(format!("{url}/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text")
}

#[tokio::test]
async fn an_exhausted_budget_stops_retries_and_fallbacks() {
    // OpenAI is down (every request a 500); Anthropic answers.
    let sim = Simulator::start(
        Scenario::new().rule(
            Rule::new()
                .provider(Dialect::OpenAi)
                .action(Action::server_error()),
        ),
    )
    .await
    .expect("simulator");
    let (openai, anthropic) = (
        sim.base_url(Dialect::OpenAi),
        sim.base_url(Dialect::Anthropic),
    );
    let url = serve_config(&format!(
        r#"
[models.retried]
targets = [{{ target = "openai:gpt-4o-mini", base_url = "{openai}", api_key_env = "K" }}]
attempts = 4
wait = {{ initial_secs = 0.0, max_secs = 0.0, jitter_secs = 0.0 }}
budget = {{ extra_attempts = 2, window_secs = 3600 }}

[models.chained]
targets = [
  {{ target = "openai:gpt-4o-mini", base_url = "{openai}", api_key_env = "K" }},
  {{ target = "anthropic:claude-3-5-haiku-latest", base_url = "{anthropic}", api_key_env = "K" }},
]
attempts = 1
budget = {{ extra_attempts = 1, window_secs = 3600 }}
"#
    ))
    .await;

    // Two of the four attempts' retries are in the budget: the first request makes three.
    let r = post(&url, KEY, "retried").await;
    assert_eq!(r.status(), 500);
    assert_eq!(support::header(&r, "x-steadfast-attempts"), "3");
    // The budget is spent: the next request makes its first attempt only, and keeps its 500.
    let r = post(&url, KEY, "retried").await;
    assert_eq!(r.status(), 500);
    assert_eq!(support::header(&r, "x-steadfast-attempts"), "1");
    assert_eq!(sim.requests_for(Dialect::OpenAi), 4);

    // A switch to a fallback takes a unit too: the first request falls back, the second cannot.
    let r = post(&url, KEY, "chained").await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        support::header(&r, "x-steadfast-target"),
        "anthropic:claude-3-5-haiku-latest"
    );
    let r = post(&url, KEY, "chained").await;
    assert_eq!(r.status(), 500, "no unit left to fall back with");
    assert_eq!(support::header(&r, "x-steadfast-attempts"), "1");
    assert_eq!(sim.requests_for(Dialect::Anthropic), 1);

    let m = metrics(&url).await;
    for line in [
        "steadfast_gateway_budget_limit{budget=\"gateway.retried\"} 2",
        "steadfast_gateway_budget_used{budget=\"gateway.retried\"} 2",
        "steadfast_gateway_budget_remaining{budget=\"gateway.retried\"} 0",
        "steadfast_gateway_budget_remaining{budget=\"gateway.chained\"} 0",
    ] {
        assert!(m.contains(line), "{line} in\n{m}");
    }
}

#[tokio::test]
async fn the_top_level_budget_is_shared_by_the_aliases_without_their_own() {
    let sim = Simulator::start(
        Scenario::new().rule(
            Rule::new()
                .provider(Dialect::OpenAi)
                .action(Action::server_error()),
        ),
    )
    .await
    .expect("simulator");
    let openai = sim.base_url(Dialect::OpenAi);
    let url = serve_config(&format!(
        r#"
[budget]
extra_attempts = 3
window_secs = 3600

[models.a]
targets = [{{ target = "openai:gpt-4o-mini", base_url = "{openai}", api_key_env = "K" }}]
attempts = 3
wait = {{ initial_secs = 0.0, max_secs = 0.0, jitter_secs = 0.0 }}

[models.b]
targets = [{{ target = "openai:gpt-4o-mini", base_url = "{openai}", api_key_env = "K" }}]
attempts = 3
wait = {{ initial_secs = 0.0, max_secs = 0.0, jitter_secs = 0.0 }}
"#
    ))
    .await;
    let r = post(&url, KEY, "a").await;
    assert_eq!(support::header(&r, "x-steadfast-attempts"), "3");
    // One unit is left of the three, for alias `b` as well.
    let r = post(&url, KEY, "b").await;
    assert_eq!(support::header(&r, "x-steadfast-attempts"), "2");
    let r = post(&url, KEY, "a").await;
    assert_eq!(support::header(&r, "x-steadfast-attempts"), "1");
    let m = metrics(&url).await;
    assert!(
        m.contains("steadfast_gateway_budget_remaining{budget=\"gateway\"} 0"),
        "{m}"
    );
}
