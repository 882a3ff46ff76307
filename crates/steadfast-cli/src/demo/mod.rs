//! `steadfast demo`: the six reference scenarios of the semantics (calls, streams, tools, error
//! reinsertion, fallback, fallback with retries) and the failure path of each, run against the
//! embedded simulator with the scenario files shipped in `scenarios/`.
//!
//! Every scenario prints a transcript — what was asked, each attempt (target, outcome, nominal and
//! actual wait), what was reinserted, the answer or the error — and checks its outcome against what
//! the semantics promise (attempt counts, requests the simulator saw). Any surprise makes the
//! command fail.

mod scenarios;

use std::fmt::Write as _;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use steadfast::retry::{Retry, SleepFuture, Sleeper, stop, wait};
use steadfast::{AttemptSummary, Call, Error, Message, Part, Prompt, Role, Template, Vars, llm};
use steadfast_sim::{Dialect, Scenario, Simulator};

use crate::args::DemoArgs;

/// The four ways to write a prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    String,
    Builder,
    Template,
    Messages,
}

impl Style {
    const ALL: [Style; 4] = [
        Style::String,
        Style::Builder,
        Style::Template,
        Style::Messages,
    ];

    fn name(self) -> &'static str {
        match self {
            Style::String => "plain string",
            Style::Builder => "message builders",
            Style::Template => "string template",
            Style::Messages => "raw message list",
        }
    }

    fn parse(s: &str) -> anyhow::Result<Vec<Style>> {
        Ok(match s {
            "string" => vec![Style::String],
            "builder" => vec![Style::Builder],
            "template" => vec![Style::Template],
            "messages" => vec![Style::Messages],
            "all" => Style::ALL.to_vec(),
            other => {
                anyhow::bail!("unknown style `{other}` (string, builder, template, messages, all)")
            }
        })
    }

    /// `question` in this style, with an optional system prompt and the errors to reinsert.
    pub(crate) fn prompt(
        self,
        system: &str,
        question: &str,
        errors: &[Error],
    ) -> Result<Prompt, Error> {
        let previous = steadfast::prompt::render_errors(errors);
        let with_errors = if previous.is_empty() {
            question.to_string()
        } else {
            format!("{}\n{question}", previous.join("\n"))
        };
        Ok(match self {
            Style::String => Prompt::from(with_errors),
            Style::Builder => Prompt::from([Message::system(system), Message::user(with_errors)]),
            Style::Template => Template::new("SYSTEM: {system}\nUSER:\n{errors:list}\n{question}")?
                .render(
                    &Vars::new()
                        .with("system", system)
                        .with("question", question)
                        .with("errors", previous),
                )?,
            Style::Messages => Prompt::from(vec![
                Message::new(Role::System, vec![Part::text(system)]),
                Message::new(Role::User, vec![Part::text(with_errors)]),
            ]),
        })
    }
}

/// Sleeps a scaled fraction of every wait and remembers both.
#[derive(Debug, Clone)]
pub(crate) struct ScaledSleeper {
    scale: f64,
    log: Arc<Mutex<Vec<(Duration, Duration)>>>,
}

impl ScaledSleeper {
    fn actual(&self, nominal: Duration) -> Duration {
        nominal.mul_f64(self.scale)
    }
}

impl Sleeper for ScaledSleeper {
    fn sleep(&self, duration: Duration) -> SleepFuture<'_> {
        let actual = self.actual(duration);
        if let Ok(mut log) = self.log.lock() {
            log.push((duration, actual));
        }
        Box::pin(tokio::time::sleep(actual))
    }
}

/// What a scenario needs: the simulator, a transcript, the reference policy.
pub(crate) struct Ctx {
    pub(crate) sim: Simulator,
    pub(crate) style: Style,
    sleeper: ScaledSleeper,
    pub(crate) out: String,
    pub(crate) failures: Vec<String>,
}

impl Ctx {
    /// stop_after_attempt(3) + wait_exponential(multiplier=1, min=4, max=10), on the scaled clock.
    pub(crate) fn reference(&self) -> anyhow::Result<Retry<Error>> {
        Ok(Retry::new()
            .stop(stop::after_attempt(3))
            .wait(
                wait::exponential()
                    .multiplier(1.0)
                    .min(Duration::from_secs(4))
                    .max(Duration::from_secs(10))
                    .build()?,
            )
            .sleeper(self.sleeper.clone()))
    }

    /// A call to `provider:model` pointed at the simulator.
    pub(crate) fn call(&self, target: &str, provider: Dialect) -> anyhow::Result<Call> {
        Ok(crate::telemetry::observed(
            llm::call(target)?
                .base_url(self.sim.base_url(provider))
                .api_key("sim-demo-key"),
        ))
    }

    pub(crate) fn line(&mut self, text: impl AsRef<str>) {
        let _ = writeln!(self.out, "   {}", text.as_ref());
    }

    /// Prints every attempt with its nominal and actual wait.
    pub(crate) fn attempts(&mut self, attempts: &[AttemptSummary]) {
        for (i, a) in attempts.iter().enumerate() {
            let status = a.status.map(|s| format!(" (HTTP {s})")).unwrap_or_default();
            let mut line = format!(
                "attempt {}  {}:{}  {}{status}",
                i + 1,
                a.provider,
                a.model,
                a.outcome_str()
            );
            if let Some(w) = a.wait {
                let _ = write!(
                    line,
                    "  → wait {:.2}s ({}; slept {:.2}s)",
                    w.as_secs_f64(),
                    a.wait_reason.map_or("computed", |r| r.as_str()),
                    self.sleeper.actual(w).as_secs_f64()
                );
            }
            self.line(line);
        }
    }

    /// A wait chosen by a policy inside a closure (printed from the sleeper's log).
    pub(crate) fn waits_line(&mut self) {
        let log: Vec<(Duration, Duration)> = self
            .sleeper
            .log
            .lock()
            .map(|l| l.clone())
            .unwrap_or_default();
        if log.is_empty() {
            return;
        }
        let shown: Vec<String> = log
            .iter()
            .map(|(n, a)| format!("{:.2}s (slept {:.2}s)", n.as_secs_f64(), a.as_secs_f64()))
            .collect();
        self.line(format!("waits between attempts: {}", shown.join(", ")));
    }

    /// Records an expectation.
    pub(crate) fn expect(&mut self, ok: bool, what: impl Into<String>) {
        let what = what.into();
        if ok {
            self.line(format!("✓ {what}"));
        } else {
            self.line(format!("✗ {what}"));
            self.failures.push(what);
        }
    }
}

/// The body of a demo scenario.
pub(crate) type DemoFn = for<'a> fn(&'a mut Ctx) -> DemoFuture<'a>;
/// What a demo body returns.
pub(crate) type DemoFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<()>> + Send + 'a>>;

/// One demo scenario.
pub(crate) struct Demo {
    pub(crate) name: &'static str,
    pub(crate) title: &'static str,
    pub(crate) scenario: &'static str,
    pub(crate) run: DemoFn,
}

pub(crate) async fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let demos = scenarios::all();
    if args.list {
        for d in &demos {
            println!("{:<28} {}", d.name, d.title);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let chosen: Vec<&Demo> = match &args.name {
        None => demos.iter().collect(),
        Some(n) => {
            let found: Vec<&Demo> = demos.iter().filter(|d| d.name == n.as_str()).collect();
            if found.is_empty() {
                let names: Vec<&str> = demos.iter().map(|d| d.name).collect();
                anyhow::bail!("unknown demo `{n}` (one of: {})", names.join(", "));
            }
            found
        }
    };
    let styles = Style::parse(&args.style)?;
    println!(
        "Steadfast demo — reference scenarios against the embedded simulator (waits × {}; --time-scale 1 for real time)",
        args.time_scale
    );
    let started = std::time::Instant::now();
    let mut failed = Vec::new();
    for demo in chosen {
        for &style in &styles {
            let scenario = Scenario::from_toml_str(demo.scenario)
                .context("a shipped scenario file is invalid")?;
            let description = scenario.description.clone().unwrap_or_default();
            let sim = Simulator::start(scenario)
                .await
                .context("could not start the simulator")?;
            let mut ctx = Ctx {
                sim,
                style,
                sleeper: ScaledSleeper {
                    scale: args.time_scale,
                    log: Arc::default(),
                },
                out: String::new(),
                failures: Vec::new(),
            };
            println!("\n━━ {} — {} [{}]", demo.name, demo.title, style.name());
            ctx.line(format!("simulator scenario: {description}"));
            let result = (demo.run)(&mut ctx).await;
            print!("{}", ctx.out);
            if let Err(e) = result {
                println!("   ✗ the demo itself failed: {e:#}");
                failed.push(demo.name.to_string());
            } else if !ctx.failures.is_empty() {
                failed.push(demo.name.to_string());
            }
            ctx.sim.shutdown().await;
        }
    }
    println!(
        "\n{} in {:.2}s",
        if failed.is_empty() {
            "All scenarios behaved as specified"
        } else {
            "Some scenarios did not behave as specified"
        },
        started.elapsed().as_secs_f64()
    );
    if failed.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        println!("failed: {}", failed.join(", "));
        Ok(ExitCode::FAILURE)
    }
}
