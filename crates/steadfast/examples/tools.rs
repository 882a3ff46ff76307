//! Reference scenario 3 — tools: tool arguments are validated when the caller reads them
//! (`response.tools()`), so that is where the validation error appears — and where the wrapper
//! pattern retries it.
//!
//! `cargo run -p steadfast --example tools` (simulator) — or with `OPENAI_API_KEY` set.

#[path = "support/mod.rs"]
mod support;

use schemars::JsonSchema;
use serde::Deserialize;
use steadfast::Tool;
use steadfast_sim::Provider;

/// Returns the title and author nicely formatted.
#[derive(Debug, Deserialize, JsonSchema)]
struct FormatBook {
    title: String,
    author: String,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let env = support::Env::start("tools.toml", "OPENAI_API_KEY").await?;
    let call = env
        .call("openai:gpt-4o-mini", Provider::OpenAi)?
        .tool(Tool::of::<FormatBook>(
            "format_book",
            "Returns the title and author nicely formatted",
        ));
    for style in support::STYLES {
        env.reset();
        println!("── {style}");
        let prompt = support::prompt(
            style,
            "Recommend a fantasy book, formatted with the tool.",
            &[],
        )?;
        let book = env
            .reference()
            .run(|_| {
                let (call, prompt) = (call.clone(), prompt.clone());
                async move {
                    let response = call.send(prompt).await?;
                    // Validation happens here: invalid arguments are an error the policy retries.
                    let tools = response.tools().inspect_err(|e| println!("    ✗ {e}"))?;
                    match tools.first() {
                        Some(t) => t.parse::<FormatBook>(),
                        None => Err(steadfast::Error::validation(
                            "no tool was called",
                            response.text(),
                        )),
                    }
                }
            })
            .await;
        match book {
            Ok(b) => println!("    {} by {}", b.title, b.author),
            Err(e) => println!("    failed: {}", steadfast::Error::from(e)),
        }
    }
    Ok(())
}
