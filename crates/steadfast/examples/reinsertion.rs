//! Reference scenario 4 — error reinsertion: with a validator that requires an uppercase author, the
//! first answer fails validation; the policy collects validation errors and hands them to the next
//! attempt, whose prompt starts with "Previous Error: …", and the model corrects itself.
//!
//! `cargo run -p steadfast --example reinsertion` (simulator) — or with `OPENAI_API_KEY` set.

#[path = "support/mod.rs"]
mod support;

use schemars::JsonSchema;
use serde::Deserialize;
use steadfast::resilient::validation;
use steadfast_sim::Provider;

#[derive(Debug, Deserialize, JsonSchema)]
struct Book {
    title: String,
    author: String,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let env = support::Env::start("reinsertion.toml", "OPENAI_API_KEY").await?;
    let call = env.call("openai:gpt-4o-mini", Provider::OpenAi)?;
    for style in support::STYLES {
        env.reset();
        println!("── {style}");
        let policy = env.reference().collect_errors(validation());
        let book = call
            .retry(policy)
            .extract_with::<Book, _>(move |errors| {
                if !errors.is_empty() {
                    println!(
                        "    reinserting: {:?}",
                        steadfast::prompt::render_errors(errors)
                    );
                }
                support::prompt(
                    style,
                    "Extract the book: The Name of the Wind by Patrick Rothfuss",
                    errors,
                )
            })
            .validate(|b| {
                if b.author == b.author.to_uppercase() {
                    Ok(())
                } else {
                    Err("author must be uppercase")
                }
            })
            .await;
        match book {
            Ok(b) => println!(
                "    Book {{ title: {:?}, author: {:?} }}",
                b.title, b.author
            ),
            Err(e) => println!("    failed: {e}"),
        }
    }
    Ok(())
}
