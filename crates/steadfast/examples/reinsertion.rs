//! Reference scenario 4 — error reinsertion: with a validator that requires an uppercase author, the
//! first answer fails validation; the policy collects validation errors and hands them to the next
//! attempt, whose prompt starts with "Previous Error: …", and the model corrects itself.
//!
//! Runs against the embedded simulator: `cargo run -p steadfast --example reinsertion`.

use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use steadfast::resilient::validation;
use steadfast::retry::{Retry, stop, wait};
use steadfast::{Template, Vars, llm};
use steadfast_sim::{Action, Dialect, Rule, Scenario, Simulator};

#[derive(Debug, Deserialize, JsonSchema)]
struct Book {
    title: String,
    author: String,
}

/// Request 1 answers with a lowercase author, the later ones with `then`.
fn scenario(then: &str) -> Scenario {
    let book = |author: &str| {
        Action::structured(json!({ "title": "The Name of the Wind", "author": author }))
    };
    Scenario::new()
        .rule(
            Rule::new()
                .provider(Dialect::OpenAi)
                .requests([1])
                .action(book("patrick rothfuss")),
        )
        .rule(Rule::new().provider(Dialect::OpenAi).action(book(then)))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sim = Simulator::start(scenario("PATRICK ROTHFUSS")).await?;
    let call = llm::call("openai:gpt-4o-mini")?
        .base_url(sim.base_url(Dialect::OpenAi))
        .api_key("sim-key");
    // stop_after_attempt(3), short waits, and validation errors collected for the next prompt.
    let policy = Retry::new()
        .stop(stop::after_attempt(3))
        .wait(wait::fixed(Duration::from_millis(200)))
        .collect_errors(validation());
    // `{errors:list}` renders the collected errors as "Previous Error: …" lines.
    let template = Template::new(
        "
        SYSTEM: You are a helpful librarian.
        USER:
            {errors:list}
            Extract the book: The Name of the Wind by Patrick Rothfuss
        ",
    )?;

    for (title, then) in [
        ("── lowercase author, then uppercase", "PATRICK ROTHFUSS"),
        ("── lowercase author every time", "patrick rothfuss"),
    ] {
        sim.set_scenario(scenario(then));
        println!("{title}");
        let template = template.clone();
        let book = call
            .retry(policy.clone())
            .extract_with::<Book, _>(move |errors| {
                if !errors.is_empty() {
                    println!(
                        "    reinserting: {:?}",
                        steadfast::prompt::render_errors(errors)
                    );
                }
                template.render(&Vars::new().with_errors("errors", errors))
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
            Err(e) => println!("    failed: {e} ({} attempts)", e.attempts().len()),
        }
    }
    Ok(())
}
