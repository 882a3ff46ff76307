//! Reference scenario 5 — fallback: the call goes to OpenAI; on an OpenAI rate-limit error the same
//! call goes to Anthropic `claude-3-5-sonnet-latest`; if that also rate-limits, the error lists both.
//! On success the response lists the errors caught on the way.
//!
//! Runs against the embedded simulator: `cargo run -p steadfast --example fallback`.

use steadfast::ErrorKind::RateLimited;
use steadfast::llm;
use steadfast::resilient::{fallback, kinds};
use steadfast_sim::{Action, Dialect, Rule, Scenario, Simulator};

/// Every request to each of `providers` is rate limited.
fn rate_limited(providers: &[Dialect]) -> Scenario {
    providers.iter().fold(Scenario::new(), |s, p| {
        s.rule(Rule::new().provider(*p).action(Action::rate_limit()))
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sim = Simulator::start(rate_limited(&[Dialect::OpenAi])).await?;
    let openai = llm::call("openai:gpt-4o-mini")?
        .base_url(sim.base_url(Dialect::OpenAi))
        .api_key("sim-key");
    let anthropic = llm::call("anthropic:claude-3-5-sonnet-latest")?
        .base_url(sim.base_url(Dialect::Anthropic))
        .api_key("sim-key");
    // On a rate limit, go to the next call; a backup has its own predicate.
    let chain = fallback(kinds([RateLimited])).backup(anthropic, kinds([RateLimited]));

    for (title, limited) in [
        ("── OpenAI rate limited", &[Dialect::OpenAi][..]),
        (
            "── both rate limited",
            &[Dialect::OpenAi, Dialect::Anthropic][..],
        ),
    ] {
        sim.set_scenario(rate_limited(limited));
        println!("{title}");
        match openai
            .fallback(chain.clone())
            .send("Recommend a fantasy book.")
            .await
        {
            Ok(r) => {
                for e in r.caught() {
                    println!("    caught: {e}");
                }
                println!("    answer from {}: {}", r.target(), r.text());
            }
            // The error lists every target's error, in order.
            Err(e) => println!("    failed: {e}"),
        }
    }
    Ok(())
}
