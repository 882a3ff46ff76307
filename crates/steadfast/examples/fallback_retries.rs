//! Reference scenario 6 — fallback with retries: OpenAI is tried 3 times with exponential backoff,
//! then Anthropic 3 times; only then does the call fail, with every error kept.
//!
//! `cargo run -p steadfast --example fallback_retries` (simulator) — or with `OPENAI_API_KEY` and
//! `ANTHROPIC_API_KEY` set.

#[path = "support/mod.rs"]
mod support;

use steadfast::resilient::{TRANSIENT, fallback, kinds};
use steadfast_sim::Provider;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let env = support::Env::start("fallback_retries.toml", "OPENAI_API_KEY").await?;
    let openai = env.call("openai:gpt-4o-mini", Provider::OpenAi)?;
    let anthropic = env.call("anthropic:claude-3-5-sonnet-latest", Provider::Anthropic)?;
    let chain = fallback(kinds(TRANSIENT)).backup(anthropic, kinds(TRANSIENT));
    for style in support::STYLES {
        env.reset();
        println!("── {style}");
        let prompt = support::prompt(style, "Recommend a fantasy book.", &[])?;
        match openai
            .retry(env.reference())
            .fallback(chain.clone())
            .send(prompt)
            .await
        {
            Ok(r) => {
                for a in r.attempts() {
                    println!(
                        "    attempt: {}:{} {}",
                        a.provider,
                        a.model,
                        a.outcome_str()
                    );
                }
                println!("    answer from {}: {}", r.target(), r.text());
            }
            Err(e) => println!("    failed: {e}"),
        }
    }
    Ok(())
}
