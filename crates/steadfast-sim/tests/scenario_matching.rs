//! Rule matching: request numbers among filtered requests, provider/model/path/stream filters,
//! first match wins, seeded probability, scenario files, builder and serde round trips.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use common::send;
use steadfast_sim::{Action, Dialect, Rule, Scenario, Simulator};

async fn statuses(sim: &Simulator, p: Dialect, model: &str, n: usize) -> Vec<u16> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(send(sim, p, model, "hi", false).await.status);
    }
    out
}

#[tokio::test]
async fn request_numbers_count_requests_passing_the_filters() {
    let scenario = Scenario::new()
        .rule(
            Rule::new()
                .provider(Dialect::OpenAi)
                .model("gpt-4o-mini")
                .requests([1, 2])
                .action(Action::rate_limit()),
        )
        .rule(
            Rule::new()
                .provider(Dialect::Anthropic)
                .requests_from(2)
                .action(Action::overloaded()),
        );
    let sim = Simulator::start(scenario).await.unwrap();
    // Requests to another model do not advance the first rule's counter.
    assert_eq!(
        statuses(&sim, Dialect::OpenAi, "gpt-4o", 2).await,
        [200, 200]
    );
    assert_eq!(
        statuses(&sim, Dialect::OpenAi, "gpt-4o-mini", 3).await,
        [429, 429, 200]
    );
    assert_eq!(
        statuses(&sim, Dialect::Anthropic, "claude-3-5-sonnet-latest", 3).await,
        [200, 529, 529]
    );
    let rules: Vec<_> = sim.journal().iter().map(|e| e.rule).collect();
    assert_eq!(
        rules,
        [None, None, Some(0), Some(0), None, None, Some(1), Some(1)]
    );
    assert_eq!(sim.requests_for(Dialect::OpenAi), 5);
    // reset() restarts every counter.
    sim.reset();
    assert!(sim.journal().is_empty());
    assert_eq!(sim.requests_for(Dialect::OpenAi), 0);
    assert_eq!(
        statuses(&sim, Dialect::OpenAi, "gpt-4o-mini", 1).await,
        [429]
    );
}

#[tokio::test]
async fn first_matching_rule_wins_and_later_rules_still_count() {
    let scenario = Scenario::new()
        .rule(Rule::new().requests([1]).action(Action::server_error()))
        .rule(Rule::new().requests([1, 2]).action(Action::timeout()));
    let sim = Simulator::start(scenario).await.unwrap();
    // Request 1 matches both (rule 0 wins); request 2 is rule 1's second request.
    assert_eq!(
        statuses(&sim, Dialect::OpenAi, "m", 3).await,
        [500, 504, 200]
    );
}

#[tokio::test]
async fn stream_and_path_filters() {
    let scenario = Scenario::new()
        .rule(Rule::new().stream(true).action(Action::rate_limit()))
        .rule(Rule::new().path("/groq/").action(Action::server_error()));
    let sim = Simulator::start(scenario).await.unwrap();
    assert_eq!(
        send(&sim, Dialect::OpenAi, "m", "hi", true).await.status,
        429
    );
    assert_eq!(
        send(&sim, Dialect::OpenAi, "m", "hi", false).await.status,
        200
    );
    assert_eq!(
        send(&sim, Dialect::Groq, "m", "hi", false).await.status,
        500
    );
}

#[tokio::test]
async fn probability_is_seeded_and_deterministic() {
    let run = |seed| async move {
        let sim = Simulator::start(
            Scenario::new()
                .seed(seed)
                .rule(Rule::new().probability(0.5).action(Action::rate_limit())),
        )
        .await
        .unwrap();
        statuses(&sim, Dialect::OpenAi, "m", 40).await
    };
    let a = run(7).await;
    let b = run(7).await;
    let c = run(8).await;
    assert_eq!(a, b);
    assert_ne!(a, c);
    let limited = a.iter().filter(|s| **s == 429).count();
    assert!((8..=32).contains(&limited), "{limited} of 40");
}

#[tokio::test]
async fn set_scenario_replaces_rules_and_restarts_counters() {
    let sim = Simulator::start(Scenario::new()).await.unwrap();
    assert_eq!(statuses(&sim, Dialect::OpenAi, "m", 1).await, [200]);
    sim.set_scenario(Scenario::new().rule(Rule::new().requests([1]).action(Action::rate_limit())));
    assert_eq!(statuses(&sim, Dialect::OpenAi, "m", 2).await, [429, 200]);
    assert_eq!(sim.journal().len(), 3);
}

#[test]
fn toml_and_builder_agree_and_round_trip() {
    let text = r#"
        name = "calls"
        seed = 3
        [[rules]]
        provider = "openai"
        model = "gpt-4o-mini"
        requests = [1, 2]
        action = { type = "rate_limit", retry_after = 1, should_retry = true }
        [[rules]]
        provider = ["anthropic", "gemini"]
        requests = "2..4"
        action = { type = "model", chunk_delay_ms = 10, error_after = 2, stream_error = "overloaded", message = "Overloaded" }
    "#;
    let parsed = Scenario::from_toml_str(text).unwrap();
    let built = Scenario::new()
        .name("calls")
        .seed(3)
        .rule(
            Rule::new()
                .provider(Dialect::OpenAi)
                .model("gpt-4o-mini")
                .requests([1, 2])
                .action(Action::rate_limit().retry_after_secs(1).should_retry(true)),
        )
        .rule(
            Rule::new()
                .provider(Dialect::Anthropic)
                .provider(Dialect::Gemini)
                .requests_range(2, 4)
                .action(
                    Action::model()
                        .chunk_delay_ms(10)
                        .error_after(2, steadfast_sim::FaultKind::Overloaded)
                        .message("Overloaded"),
                ),
        );
    assert_eq!(parsed, built);
    let json = serde_json::to_string(&built).unwrap();
    assert_eq!(Scenario::from_json_str(&json).unwrap(), built);
    assert_eq!(
        Scenario::from_toml_str(&built.to_toml_string().unwrap()).unwrap(),
        built
    );
}

#[test]
fn invalid_scenarios_are_typed_errors() {
    for bad in [
        r#"[[rules]]
           action = { type = "rate_limt" }"#,
        r#"[[rules]]
           provider = "openia""#,
        r#"[[rules]]
           requests = "x..y""#,
        r#"[[rules]]
           action = { type = "text" }"#,
        r#"[[rules]]
           action = { type = "rate_limit", cut_after = 2 }"#,
        r#"[[rules]]
           action = { type = "model", cut_after = 2, reset_after = 3 }"#,
        r#"bogus = 1"#,
    ] {
        let err = Scenario::from_toml_str(bad).unwrap_err();
        assert!(
            matches!(err, steadfast_sim::SimError::InvalidScenario(_)),
            "{bad}: {err}"
        );
    }
}

#[test]
fn shipped_scenario_files_all_load() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scenarios");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let s = Scenario::from_path(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            s.name.is_some() && s.description.is_some(),
            "{}",
            path.display()
        );
        names.push(s.name.unwrap());
    }
    names.sort();
    for want in [
        "calls",
        "streams",
        "tools",
        "reinsertion",
        "fallback",
        "fallback_retries",
        "fallback_exhausted",
        "calls_exhausted",
    ] {
        assert!(names.iter().any(|n| n == want), "missing scenario {want}");
    }
}
