//! Reference scenario 1 — calls: a call retried with `stop_after_attempt(3)` and
//! `wait_exponential(multiplier=1, min=4, max=10)`; it succeeds as soon as an attempt succeeds, and
//! after three failures the caller handles the error (its history says what happened).
//!
//! `cargo run -p steadfast --example calls` (simulator) — or with `OPENAI_API_KEY` set.

#[path = "support/mod.rs"]
mod support;

use steadfast_sim::Provider;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let env = support::Env::start("calls.toml", "OPENAI_API_KEY").await?;
    let call = env.call("openai:gpt-4o-mini", Provider::OpenAi)?;
    for style in support::STYLES {
        env.reset();
        println!("── {style}");
        let prompt = support::prompt(style, "Recommend a fantasy book.", &[])?;
        match call.retry(env.reference()).send(prompt).await {
            Ok(response) => {
                for a in response.attempts() {
                    println!("    attempt: {} {}", a.provider, a.outcome_str());
                }
                println!("    answer: {}", response.text());
            }
            // The retries ran out: the error names the attempt count and keeps every attempt.
            Err(e) => println!("    failed: {e} ({} attempts)", e.attempts().len()),
        }
    }
    Ok(())
}
