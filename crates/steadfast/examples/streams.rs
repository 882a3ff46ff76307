//! Reference scenario 2 — streams: a streaming call sends nothing until the stream is polled, so the
//! retry goes around a wrapper that calls the model *and consumes the stream*; each retry makes a new
//! request and a new stream. Chunks already shown are not taken back. Then the opt-in
//! `restart_streams`, where the stream starts again itself and announces it.
//!
//! `cargo run -p steadfast --example streams` (simulator) — or with `OPENAI_API_KEY` set.

#[path = "support/mod.rs"]
mod support;

use std::io::Write;

use futures_util::StreamExt;
use steadfast::StreamEvent;
use steadfast_sim::Provider;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let env = support::Env::start("streams.toml", "OPENAI_API_KEY").await?;
    let call = env.call("openai:gpt-4o-mini", Provider::OpenAi)?;
    for style in support::STYLES {
        env.reset();
        println!("── {style}");
        let prompt = support::prompt(style, "Tell me about The Name of the Wind", &[])?;
        let text = env
            .reference()
            .run(|attempt| {
                let (call, prompt) = (call.clone(), prompt.clone());
                let n = attempt.number();
                async move {
                    print!("    attempt {n}: ");
                    let mut stream = call.stream(prompt);
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
            })
            .await;
        match text {
            Ok(t) => println!("    complete: {t}"),
            Err(e) => println!("    failed: {}", steadfast::Error::from(e)),
        }
    }

    // The opt-in alternative: the stream itself starts again after an interruption past its
    // first content, and says so with `StreamEvent::Restarted` so the output can be cleared.
    env.reset();
    println!("── restart_streams(1)");
    let prompt = support::prompt(
        support::STYLES[0],
        "Tell me about The Name of the Wind",
        &[],
    )?;
    let mut stream = call
        .retry(env.reference())
        .restart_streams(1)
        .stream(prompt);
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
