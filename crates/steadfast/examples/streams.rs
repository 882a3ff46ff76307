//! Reference scenario 2 — streams: a streaming call sends nothing until the stream is polled, so the
//! retry goes around a wrapper that calls the model *and consumes the stream*; each retry makes a new
//! request and a new stream. Chunks already shown are not taken back. Then the opt-in
//! `restart_streams`, where the stream starts again itself and announces it.
//!
//! Runs against the embedded simulator: `cargo run -p steadfast --example streams`.

use std::io::Write;
use std::time::Duration;

use futures_util::StreamExt;
use steadfast::retry::{Retry, stop, wait};
use steadfast::{Call, StreamEvent, llm};
use steadfast_sim::{Action, Dialect, Rule, Scenario, Simulator};

/// Streams one answer to stdout and returns its text; an interruption is the error.
async fn stream_once(call: Call, n: u32) -> Result<String, steadfast::Error> {
    print!("    attempt {n}: ");
    let mut stream = call.stream("Tell me about The Name of the Wind");
    let mut text = String::new();
    while let Some(event) = stream.next().await {
        match event {
            Ok(StreamEvent::Text(chunk)) => {
                print!("{chunk}");
                let _ = std::io::stdout().flush();
                text.push_str(&chunk);
            }
            Ok(_) => {}
            Err(e) => {
                println!(" ✗ {e}");
                return Err(e);
            }
        }
    }
    println!();
    Ok(text)
}

/// A scenario whose streams listed in `cut` stop after three events (no finish, no `[DONE]`).
fn cut_streams(cut: impl IntoIterator<Item = u64>) -> Scenario {
    Scenario::new().rule(
        Rule::new()
            .provider(Dialect::OpenAi)
            .stream(true)
            .requests(cut)
            .action(Action::model().cut_after(3)),
    )
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sim = Simulator::start(cut_streams([1])).await?;
    let call = llm::call("openai:gpt-4o-mini")?
        .base_url(sim.base_url(Dialect::OpenAi))
        .api_key("sim-key");
    // stop_after_attempt(3) with short waits (the simulator needs no backoff).
    let policy = Retry::new()
        .stop(stop::after_attempt(3))
        .wait(wait::fixed(Duration::from_millis(200)));

    // The wrapper pattern: the policy retries the whole "call and consume" step.
    for (title, cut) in [
        ("── first stream cut, second complete", vec![1]),
        ("── every stream cut", vec![1, 2, 3]),
    ] {
        sim.set_scenario(cut_streams(cut));
        println!("{title}");
        let text = policy
            .run(|attempt| stream_once(call.clone(), attempt.number()))
            .await;
        match text {
            Ok(t) => println!("    complete: {t}"),
            Err(e) => println!("    failed: {}", steadfast::Error::from(e)),
        }
    }

    // The opt-in alternative: the stream itself starts again after an interruption past its
    // first content, and says so with `StreamEvent::Restarted` so the output can be cleared.
    sim.set_scenario(cut_streams([1]));
    println!("── restart_streams(1)");
    let mut stream = call
        .retry(policy)
        .restart_streams(1)
        .stream("Tell me about The Name of the Wind");
    print!("    ");
    while let Some(event) = stream.next().await {
        match event? {
            StreamEvent::Text(chunk) => {
                print!("{chunk}");
                let _ = std::io::stdout().flush();
            }
            StreamEvent::Restarted { reason } => print!(" ⟲ ({reason})\n    "),
            _ => {}
        }
    }
    let response = stream.into_response().await?;
    println!();
    println!(
        "    complete after {} HTTP attempts: {}",
        response.attempts().len(),
        response.text()
    );
    Ok(())
}
