//! Reference scenario 3 — tools: tool arguments are validated when the caller reads them
//! (`response.tools()`), so that is where the validation error appears — and where the wrapper
//! pattern retries it.
//!
//! Runs against the embedded simulator: `cargo run -p steadfast --example tools`.

use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;
use steadfast::retry::{Retry, stop, wait};
use steadfast::{Tool, llm};
use steadfast_sim::{Action, Dialect, Rule, Scenario, Simulator};

/// Returns the title and author nicely formatted.
#[derive(Debug, Deserialize, JsonSchema)]
struct FormatBook {
    title: String,
    author: String,
}

const INVALID: &str = r#"{"title": "The Name of the Wind"}"#;
const VALID: &str = r#"{"title": "The Name of the Wind", "author": "Patrick Rothfuss"}"#;

/// Request 1 calls `format_book` with `first`, the later ones with `then`.
fn scenario(first: &str, then: &str) -> Scenario {
    let rule = |action| Rule::new().provider(Dialect::OpenAi).action(action);
    Scenario::new()
        .rule(rule(Action::tool_call("format_book", first)).requests([1]))
        .rule(rule(Action::tool_call("format_book", then)))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sim = Simulator::start(scenario(INVALID, VALID)).await?;
    let call = llm::call("openai:gpt-4o-mini")?
        .base_url(sim.base_url(Dialect::OpenAi))
        .api_key("sim-key")
        .tool(Tool::of::<FormatBook>(
            "format_book",
            "Returns the title and author nicely formatted",
        ));
    let policy = Retry::new()
        .stop(stop::after_attempt(3))
        .wait(wait::fixed(Duration::from_millis(200)));

    for (title, then) in [
        ("── invalid arguments, then valid ones", VALID),
        ("── invalid arguments every time", INVALID),
    ] {
        sim.set_scenario(scenario(INVALID, then));
        println!("{title}");
        let book = policy
            .run(|_| {
                let call = call.clone();
                async move {
                    let response = call
                        .send("Recommend a fantasy book, formatted with the tool.")
                        .await?;
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
