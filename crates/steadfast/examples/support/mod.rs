//! Shared by the examples: run against the embedded simulator (with the scenario's scripted faults)
//! unless the provider's API key is set in the environment, and build the prompt in each of the
//! four styles.

#![allow(missing_docs, reason = "example support code")]
#![allow(dead_code, reason = "each example uses a different part")]

use std::error::Error;
use std::time::Duration;

use steadfast::retry::{Retry, SleepFuture, Sleeper, stop, wait};
use steadfast::{Call, Message, Part, Prompt, Role, Template, Vars, llm};
use steadfast_sim::{Provider, Scenario, Simulator};

/// Where the example runs.
pub(crate) struct Env {
    pub(crate) sim: Option<Simulator>,
    scale: f64,
}

impl Env {
    /// Starts the simulator with `scenarios/<file>` unless `key_var` is set.
    pub(crate) async fn start(file: &str, key_var: &str) -> Result<Env, Box<dyn Error>> {
        if std::env::var(key_var).is_ok_and(|k| !k.is_empty()) {
            println!("{key_var} is set: calling the real provider");
            return Ok(Env {
                sim: None,
                scale: 1.0,
            });
        }
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scenarios/");
        let scenario = Scenario::from_path(format!("{path}{file}"))?;
        println!(
            "running against the embedded simulator: {}",
            scenario.description.clone().unwrap_or_default()
        );
        println!("(waits are shortened 20× here; set {key_var} to call the real provider)\n");
        Ok(Env {
            sim: Some(Simulator::start(scenario).await?),
            scale: 0.05,
        })
    }

    /// A call to `target`, pointed at the simulator when there is one.
    pub(crate) fn call(&self, target: &str, provider: Provider) -> Result<Call, steadfast::Error> {
        let call = llm::call(target)?;
        Ok(match &self.sim {
            Some(sim) => call.base_url(sim.base_url(provider)).api_key("sim-key"),
            None => call,
        })
    }

    /// Restarts the simulator's scenario (request counters) before the next prompt style.
    pub(crate) fn reset(&self) {
        if let Some(sim) = &self.sim {
            sim.reset();
        }
    }

    /// The reference policy: stop_after_attempt(3), wait_exponential(multiplier=1, min=4, max=10).
    pub(crate) fn reference(&self) -> Retry<steadfast::Error> {
        let w = wait::exponential()
            .multiplier(1.0)
            .min(Duration::from_secs(4))
            .max(Duration::from_secs(10))
            .build()
            .unwrap_or_else(|_| wait::fixed(Duration::from_secs(4)));
        Retry::new()
            .stop(stop::after_attempt(3))
            .wait(w)
            .sleeper(Scaled(self.scale))
    }
}

/// Sleeps a fraction of each wait (the simulator needs no real backoff) and says so.
#[derive(Debug, Clone, Copy)]
struct Scaled(f64);

impl Sleeper for Scaled {
    fn sleep(&self, d: Duration) -> SleepFuture<'_> {
        println!(
            "    waiting {:.1}s (slept {:.2}s)",
            d.as_secs_f64(),
            d.mul_f64(self.0).as_secs_f64()
        );
        Box::pin(tokio::time::sleep(d.mul_f64(self.0)))
    }
}

/// The four prompt styles.
pub(crate) const STYLES: [&str; 4] = [
    "plain string",
    "message builders",
    "string template",
    "raw message list",
];

/// `question` in the given style, with the collected errors shown first ("Previous Error: …").
pub(crate) fn prompt(
    style: &str,
    question: &str,
    errors: &[steadfast::Error],
) -> Result<Prompt, steadfast::Error> {
    let previous = steadfast::prompt::render_errors(errors);
    let text = if previous.is_empty() {
        question.to_string()
    } else {
        format!("{}\n{question}", previous.join("\n"))
    };
    Ok(match style {
        "plain string" => Prompt::from(text),
        "message builders" => Prompt::from([
            Message::system("You are a helpful librarian."),
            Message::user(text),
        ]),
        "string template" => Template::new(
            "
            SYSTEM: You are a helpful librarian.
            USER:
                {errors:list}
                {question}
            ",
        )?
        .render(
            &Vars::new()
                .with("question", question)
                .with("errors", previous),
        )?,
        _ => Prompt::from(vec![
            Message::new(
                Role::System,
                vec![Part::text("You are a helpful librarian.")],
            ),
            Message::new(Role::User, vec![Part::text(text)]),
        ]),
    })
}
