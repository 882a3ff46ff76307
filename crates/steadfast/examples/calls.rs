//! Reference scenario 1 — calls: a call retried with `stop_after_attempt(3)` and exponential
//! backoff succeeds as soon as an attempt succeeds; after three failures the caller gets one error
//! that names the attempt count and keeps every attempt.
//!
//! Runs against the embedded simulator (no key, no network):
//! `cargo run -p steadfast --example calls`.

use std::time::Duration;

use steadfast::llm;
use steadfast::retry::{Retry, stop, wait};
use steadfast_sim::{Action, Dialect, Rule, Scenario, Simulator};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The first two OpenAI requests are rate limited (429), the third answers.
    let sim = Simulator::start(
        Scenario::new().rule(
            Rule::new()
                .provider(Dialect::OpenAi)
                .requests([1, 2])
                .action(Action::rate_limit()),
        ),
    )
    .await?;

    // Point the call at the simulator; without these two lines it would read OPENAI_API_KEY.
    let call = llm::call("openai:gpt-4o-mini")?
        .base_url(sim.base_url(Dialect::OpenAi))
        .api_key("sim-key");

    // The reference policy is stop_after_attempt(3) + wait_exponential(multiplier=1, min=4, max=10);
    // the waits are scaled down here because the simulator needs no backoff.
    let policy = Retry::new().stop(stop::after_attempt(3)).wait(
        wait::exponential()
            .multiplier(0.05)
            .min(Duration::from_millis(200))
            .max(Duration::from_millis(500))
            .build()?,
    );

    println!("── two rate limits, then an answer");
    let response = call
        .retry(policy.clone())
        .send("Recommend a fantasy book.")
        .await?;
    for a in response.attempts() {
        println!("    attempt: {} {}", a.provider, a.outcome_str());
    }
    println!("    answer: {}", response.text());

    // Failure path: every request is rate limited, so the three attempts run out.
    sim.set_scenario(
        Scenario::new().rule(
            Rule::new()
                .provider(Dialect::OpenAi)
                .action(Action::rate_limit()),
        ),
    );
    println!("── every request rate limited");
    match call.retry(policy).send("Recommend a fantasy book.").await {
        Ok(response) => println!("    answer: {}", response.text()),
        Err(e) => {
            println!("    failed: {e}");
            for a in e.attempts() {
                println!("    attempt: {} {}", a.provider, a.outcome_str());
            }
        }
    }
    Ok(())
}
