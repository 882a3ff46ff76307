//! `steadfast ask`.

use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;

use anyhow::Context;
use futures_util::StreamExt;
use serde_json::{Value, json};
use steadfast::{Call, Message, Prompt, Response, StreamEvent, llm};
use steadfast_sim::Simulator;

use crate::args::AskArgs;
use crate::embedded::{load_scenario, point_at};

/// Resolved settings of one `ask`.
struct Ask {
    call: Call,
    prompt: Prompt,
    schema: Option<Value>,
    stream: bool,
    json: bool,
}

fn read_prompt(words: &[String]) -> anyhow::Result<String> {
    if !words.is_empty() {
        return Ok(words.join(" "));
    }
    let mut stdin = std::io::stdin();
    if stdin.is_terminal() {
        anyhow::bail!("no prompt: give it as arguments or on stdin");
    }
    let mut text = String::new();
    stdin
        .read_to_string(&mut text)
        .context("could not read the prompt from stdin")?;
    if text.trim().is_empty() {
        anyhow::bail!("no prompt: stdin was empty");
    }
    Ok(text.trim_end().to_string())
}

fn resolve(args: &AskArgs) -> anyhow::Result<Ask> {
    let mut call = llm::call(args.model.as_str())?;
    if let Some(url) = &args.base_url {
        call = call.base_url(url.clone());
    }
    if let Some(t) = args.temperature {
        call = call.temperature(t);
    }
    if let Some(n) = args.max_tokens {
        call = call.max_tokens(n);
    }
    let text = read_prompt(&args.prompt)?;
    let mut messages = Vec::new();
    if let Some(system) = &args.system {
        messages.push(Message::system(system.clone()));
    }
    messages.push(Message::user(text));
    let schema = match &args.schema {
        Some(path) => {
            let raw = std::fs::read_to_string(path)
                .with_context(|| format!("could not read schema {}", path.display()))?;
            Some(
                serde_json::from_str(&raw)
                    .with_context(|| format!("{} is not JSON", path.display()))?,
            )
        }
        None => None,
    };
    if schema.is_some() && args.stream {
        anyhow::bail!("--schema cannot be combined with --stream");
    }
    Ok(Ask {
        call,
        prompt: Prompt::new(messages),
        schema,
        stream: args.stream,
        json: args.json,
    })
}

pub(crate) async fn run(args: AskArgs) -> anyhow::Result<ExitCode> {
    let mut ask = resolve(&args)?;
    // Keep the simulator alive for the whole call.
    let _sim = if args.sim || args.sim_scenario.is_some() {
        let scenario = load_scenario(args.sim_scenario.as_deref())?;
        let sim = Simulator::start(scenario)
            .await
            .context("could not start the embedded simulator")?;
        ask.call = point_at(ask.call, &sim)?;
        Some(sim)
    } else {
        None
    };
    match execute(&ask).await {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(Failure::Call(e)) => {
            eprintln!("{}", error_line(&e));
            Ok(ExitCode::FAILURE)
        }
        Err(Failure::Other(e)) => Err(e),
    }
}

enum Failure {
    Call(steadfast::Error),
    Other(anyhow::Error),
}

impl From<steadfast::Error> for Failure {
    fn from(e: steadfast::Error) -> Self {
        Failure::Call(e)
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Other(e.into())
    }
}

/// One line: kind, provider, status, message.
pub(crate) fn error_line(e: &steadfast::Error) -> String {
    let mut line = format!("error: {}", e.kind());
    match (e.provider(), e.status()) {
        (Some(p), Some(s)) => line.push_str(&format!(" ({p}, HTTP {s})")),
        (Some(p), None) => line.push_str(&format!(" ({p})")),
        (None, Some(s)) => line.push_str(&format!(" (HTTP {s})")),
        (None, None) => {}
    }
    line.push_str(": ");
    line.push_str(e.message());
    line
}

async fn execute(ask: &Ask) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    if let Some(schema) = &ask.schema {
        let (value, response) = ask
            .call
            .extract_json(ask.prompt.clone(), "output", schema.clone())?
            .with_response()
            .await?;
        if ask.json {
            let mut doc = response_json(&response);
            doc["output"] = value;
            writeln!(out, "{doc}")?;
        } else {
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&value).unwrap_or_default()
            )?;
        }
        return Ok(());
    }
    let response = if ask.stream {
        let mut stream = ask.call.stream(ask.prompt.clone());
        while let Some(event) = stream.next().await {
            if let (StreamEvent::Text(t), false) = (event?, ask.json) {
                write!(out, "{t}")?;
                out.flush()?;
            }
        }
        if !ask.json {
            writeln!(out)?;
        }
        stream.collect().await?
    } else {
        ask.call.send(ask.prompt.clone()).await?
    };
    if ask.json {
        writeln!(out, "{}", response_json(&response))?;
    } else if !ask.stream {
        writeln!(out, "{}", response.text())?;
        for c in response.tool_calls() {
            writeln!(out, "tool call {} {}({})", c.id, c.name, c.arguments)?;
        }
    }
    Ok(())
}

/// The `--json` document for a response.
pub(crate) fn response_json(r: &Response) -> Value {
    json!({
        "content": r.text(),
        "provider": r.provider(),
        "model": r.model(),
        "finish_reason": r.finish_reason().as_str(),
        "raw_finish_reason": r.raw_finish_reason(),
        "refusal": r.refusal(),
        "tool_calls": r.tool_calls().iter().map(|c| json!({
            "id": c.id, "name": c.name, "arguments": c.arguments,
        })).collect::<Vec<_>>(),
        "usage": r.usage().map(|u| json!({
            "input_tokens": u.input_tokens, "output_tokens": u.output_tokens,
        })),
        "request_id": r.request_id(),
        "attempts": r.attempts().iter().map(|a| json!({
            "provider": a.provider,
            "model": a.model,
            "outcome": a.outcome_str(),
            "status": a.status,
            "duration_ms": u64::try_from(a.duration.as_millis()).unwrap_or(u64::MAX),
            "wait_ms": a.wait.map(|w| u64::try_from(w.as_millis()).unwrap_or(u64::MAX)),
            "wait_reason": a.wait_reason,
        })).collect::<Vec<_>>(),
    })
}
