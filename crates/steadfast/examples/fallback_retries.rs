//! Reference scenario 6 — fallback with retries: OpenAI is tried 3 times with backoff, then
//! Anthropic 3 times; only then does the call fail, with every error kept.
//!
//! Runs against the embedded simulator: `cargo run -p steadfast --example fallback_retries`.

use std::time::Duration;

use steadfast::llm;
use steadfast::resilient::{TRANSIENT, fallback, kinds};
use steadfast::retry::{Retry, stop, wait};
use steadfast_sim::{Action, Dialect, Rule, Scenario, Simulator};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // OpenAI's three requests are rate limited; Anthropic answers.
    let openai_down = Scenario::new().rule(
        Rule::new()
            .provider(Dialect::OpenAi)
            .requests_range(1, 3)
            .action(Action::rate_limit()),
    );
    let sim = Simulator::start(openai_down.clone()).await?;
    let openai = llm::call("openai:gpt-4o-mini")?
        .base_url(sim.base_url(Dialect::OpenAi))
        .api_key("sim-key");
    let anthropic = llm::call("anthropic:claude-3-5-sonnet-latest")?
        .base_url(sim.base_url(Dialect::Anthropic))
        .api_key("sim-key");
    // stop_after_attempt(3) per target, short exponential waits (the simulator needs no backoff).
    let policy = Retry::new().stop(stop::after_attempt(3)).wait(
        wait::exponential()
            .multiplier(0.05)
            .min(Duration::from_millis(100))
            .max(Duration::from_millis(300))
            .build()?,
    );
    let chain = fallback(kinds(TRANSIENT)).backup(anthropic, kinds(TRANSIENT));

    // Failure path: both providers rate limit every request.
    let both_down = Scenario::new()
        .rule(
            Rule::new()
                .provider(Dialect::OpenAi)
                .action(Action::rate_limit()),
        )
        .rule(
            Rule::new()
                .provider(Dialect::Anthropic)
                .action(Action::rate_limit()),
        );

    for (title, scenario) in [
        (
            "── OpenAI rate limited 3 times, Anthropic answers",
            openai_down,
        ),
        ("── both rate limited", both_down),
    ] {
        sim.set_scenario(scenario);
        println!("{title}");
        let result = openai
            .retry(policy.clone())
            .fallback(chain.clone())
            .send("Recommend a fantasy book.")
            .await;
        let attempts = match &result {
            Ok(r) => r.attempts(),
            Err(e) => e.attempts(),
        };
        for a in attempts {
            println!(
                "    attempt: {}:{} {}",
                a.provider,
                a.model,
                a.outcome_str()
            );
        }
        match result {
            Ok(r) => println!("    answer from {}: {}", r.target(), r.text()),
            Err(e) => println!("    failed: {e}"),
        }
    }
    Ok(())
}
