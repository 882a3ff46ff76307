//! Reference scenario 5 — fallback: the call goes to OpenAI; on an OpenAI rate-limit error the same
//! call goes to Anthropic `claude-3-5-sonnet-latest`; if that also rate-limits, the error lists both.
//! On success the response lists the errors caught on the way.
//!
//! `cargo run -p steadfast --example fallback` (simulator) — or with `OPENAI_API_KEY` and
//! `ANTHROPIC_API_KEY` set.

#[path = "support/mod.rs"]
mod support;

use steadfast::ErrorKind::RateLimited;
use steadfast::resilient::{fallback, kinds};
use steadfast_sim::Provider;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let env = support::Env::start("fallback.toml", "OPENAI_API_KEY").await?;
    let openai = env.call("openai:gpt-4o-mini", Provider::OpenAi)?;
    let anthropic = env.call("anthropic:claude-3-5-sonnet-latest", Provider::Anthropic)?;
    let chain = fallback(kinds([RateLimited])).backup(anthropic, kinds([RateLimited]));
    for style in support::STYLES {
        env.reset();
        println!("── {style}");
        let prompt = support::prompt(style, "Recommend a fantasy book.", &[])?;
        match openai.fallback(chain.clone()).send(prompt).await {
            Ok(r) => {
                for e in r.caught() {
                    println!("    caught: {e}");
                }
                println!("    answer from {}: {}", r.target(), r.text());
            }
            Err(e) => println!("    failed: {e}"),
        }
    }
    Ok(())
}
