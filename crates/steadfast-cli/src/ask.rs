//! `steadfast ask`.

use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;

use anyhow::Context;
use futures_util::StreamExt;
use serde_json::{Value, json};
use steadfast::resilient;
use steadfast::retry::{Predicate, Retry};
use steadfast::{
    AttemptSummary, Call, FinishReason, Message, Prompt, Resilient, Response, StreamEvent, llm,
};
use steadfast_sim::Simulator;

use crate::args::AskArgs;
use crate::embedded::{load_scenario, point_at};
use crate::policy::{self, Kinds};

/// Resolved settings of one `ask`.
struct Ask {
    call: Call,
    fallbacks: Vec<Call>,
    policy: Retry<steadfast::Error>,
    fallback_on: Predicate<steadfast::Error>,
    system: Option<String>,
    question: String,
    schema: Option<Value>,
    stream: bool,
    json: bool,
    restarts: u32,
}

impl Ask {
    /// The call with its retry policy and fallback chain.
    fn resilient(&self) -> Resilient {
        let r = self
            .call
            .retry(self.policy.clone())
            .restart_streams(self.restarts);
        if self.fallbacks.is_empty() {
            return r;
        }
        let mut chain = resilient::fallback(self.fallback_on.clone());
        for f in &self.fallbacks {
            chain = chain.backup(f.clone(), self.fallback_on.clone());
        }
        r.fallback(chain)
    }

    /// The prompt, with the errors collected so far shown before the question.
    fn prompt(&self, errors: &[steadfast::Error]) -> Prompt {
        prompt_for(self.system.as_deref(), &self.question, errors)
    }
}

fn prompt_for(system: Option<&str>, question: &str, errors: &[steadfast::Error]) -> Prompt {
    let mut messages = Vec::new();
    if let Some(s) = system {
        messages.push(Message::system(s));
    }
    let preamble = steadfast::prompt::render_errors(errors).join("\n");
    let text = if preamble.is_empty() {
        question.to_string()
    } else {
        format!("{preamble}\n\n{question}")
    };
    messages.push(Message::user(text));
    Prompt::new(messages)
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
    let mut call = crate::telemetry::observed(llm::call(args.model.as_str())?);
    if let Some(url) = &args.base_url {
        call = call.base_url(url.clone());
    }
    if let Some(t) = args.temperature {
        call = call.temperature(t);
    }
    if let Some(n) = args.max_tokens {
        call = call.max_tokens(n);
    }
    let question = read_prompt(&args.prompt)?;
    let fallbacks = args
        .fallbacks
        .iter()
        .map(|t| call.with_target(t.as_str()))
        .collect::<Result<Vec<_>, _>>()?;
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
    let policy = policy::retry_policy(
        args.attempts,
        args.wait.as_ref(),
        args.retry_on.as_ref(),
        args.reinsert,
    );
    let fallback_on = args
        .fallback_on
        .as_ref()
        .map_or_else(|| resilient::kinds(resilient::TRANSIENT), Kinds::predicate);
    Ok(Ask {
        call,
        fallbacks,
        policy,
        fallback_on,
        system: args.system.clone(),
        question,
        schema,
        stream: args.stream,
        json: args.json,
        restarts: args.restart_streams,
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
        ask.fallbacks = std::mem::take(&mut ask.fallbacks)
            .into_iter()
            .map(|c| point_at(c, &sim))
            .collect::<anyhow::Result<_>>()?;
        Some(sim)
    } else {
        None
    };
    if let Some(quotas) = crate::quota::Quotas::from_args(&args.quota).await? {
        ask.call = quotas.apply(ask.call)?;
        ask.fallbacks = std::mem::take(&mut ask.fallbacks)
            .into_iter()
            .map(|c| quotas.apply(c))
            .collect::<anyhow::Result<_>>()?;
    }
    if args.dry_run {
        return dry_run(&ask);
    }
    match execute(&ask).await {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(Failure::Call(e)) => {
            if ask.json {
                println!("{}", error_json(&e));
            }
            eprintln!("{}", error_line(&e));
            for (i, c) in e.caught().iter().enumerate() {
                eprintln!(
                    "  caught [{}]: {}",
                    i + 1,
                    error_line(c).trim_start_matches("error: ")
                );
            }
            Ok(ExitCode::FAILURE)
        }
        Err(Failure::Other(e)) => Err(e),
    }
}

/// `--dry-run`: the request of every target, nothing sent.
fn dry_run(ask: &Ask) -> anyhow::Result<ExitCode> {
    let prompt = ask.prompt(&[]);
    let mut previews = Vec::new();
    for call in std::iter::once(&ask.call).chain(&ask.fallbacks) {
        match call.preview(&prompt) {
            Ok(p) => {
                let body: Value =
                    serde_json::from_slice(&p.body).context("the request body is not JSON")?;
                previews.push((call.target(), p.url, body));
            }
            Err(e) => {
                eprintln!("{}", error_line(&e));
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    if ask.json {
        let doc: Vec<Value> = previews
            .into_iter()
            .map(|(target, url, body)| {
                json!({"target": target, "method": "POST", "url": url, "body": body})
            })
            .collect();
        println!("{}", Value::Array(doc));
    } else {
        for (i, (target, url, body)) in previews.into_iter().enumerate() {
            if i > 0 {
                println!();
            }
            println!("# {target}");
            println!("POST {url}");
            println!(
                "{}",
                serde_json::to_string_pretty(&body).unwrap_or_default()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
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

/// One line: attempt count, kind, provider, status, message.
pub(crate) fn error_line(e: &steadfast::Error) -> String {
    let mut line = String::from("error: ");
    if !e.caught().is_empty() {
        line.push_str(&format!(
            "every fallback target failed ({} targets); last: ",
            e.caught().len() + 1
        ));
    } else if e.attempts().len() > 1 {
        line.push_str(&format!("gave up after {} attempts: ", e.attempts().len()));
    }
    line.push_str(e.kind().as_str());
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
    let resilient = ask.resilient();
    if let Some(schema) = &ask.schema {
        let (system, question) = (ask.system.clone(), ask.question.clone());
        let (value, response) = resilient
            .extract_json_with(
                move |errors| Ok(prompt_for(system.as_deref(), &question, errors)),
                "output",
                schema.clone(),
            )?
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
    let prompt = ask.prompt(&[]);
    let response = if ask.stream {
        let mut stream = resilient.stream(prompt);
        while let Some(event) = stream.next().await {
            match (event?, ask.json) {
                (StreamEvent::Text(t), false) => {
                    write!(out, "{t}")?;
                    out.flush()?;
                }
                (StreamEvent::Restarted { reason }, json) => {
                    if !json {
                        writeln!(out)?;
                    }
                    eprintln!("[the stream was interrupted and starts again: {reason}]");
                }
                _ => {}
            }
        }
        if !ask.json {
            writeln!(out)?;
        }
        stream.into_response().await?
    } else {
        resilient.send(prompt).await?
    };
    if ask.json {
        writeln!(out, "{}", response_json(&response))?;
        return Ok(());
    }
    if !ask.stream {
        writeln!(out, "{}", response.text())?;
    }
    for c in response.tool_calls() {
        writeln!(out, "tool call {} {}({})", c.id, c.name, c.arguments)?;
    }
    if let Some(note) = also_note(&response) {
        eprintln!("{note}");
    }
    Ok(())
}

/// What the answer held besides its text and tool calls, for plain output (on stderr): a refusal,
/// reasoning, provider blocks, citations, an unusual finish.
pub(crate) fn also_note(r: &Response) -> Option<String> {
    let mut items = Vec::new();
    if let Some(refusal) = r.refusal() {
        items.push(format!("a refusal: {refusal}"));
    }
    let reasoning: Vec<_> = r.reasoning().collect();
    if !reasoning.is_empty() {
        let chars: usize = reasoning.iter().map(|p| p.text.chars().count()).sum();
        let redacted = reasoning.iter().filter(|p| p.redacted.is_some()).count();
        let mut item = format!("reasoning ({chars} characters");
        if redacted > 0 {
            item.push_str(&format!(", {redacted} redacted part(s)"));
        }
        item.push(')');
        items.push(item);
    }
    let mut kinds: Vec<&str> = Vec::new();
    let mut others = 0;
    for o in r.other_parts() {
        others += 1;
        if !kinds.contains(&o.kind.as_str()) {
            kinds.push(&o.kind);
        }
    }
    if others > 0 {
        items.push(format!("{others} other part(s) ({})", kinds.join(", ")));
    }
    if !r.citations().is_empty() {
        items.push(format!("{} citation(s)", r.citations().len()));
    }
    let finish = r.finish_reason();
    if !matches!(
        finish,
        FinishReason::Stop | FinishReason::ToolCalls | FinishReason::Refusal
    ) {
        let raw = r.raw_finish_reason().unwrap_or_default();
        items.push(format!("finish reason {} ({raw})", finish.as_str()));
    }
    (!items.is_empty()).then(|| format!("[also in the answer: {}; see --json]", items.join("; ")))
}

fn attempts_json(attempts: &[AttemptSummary]) -> Vec<Value> {
    attempts
        .iter()
        .map(|a| {
            json!({
                "provider": a.provider,
                "model": a.model,
                "outcome": a.outcome_str(),
                "status": a.status,
                "duration_ms": u64::try_from(a.duration.as_millis()).unwrap_or(u64::MAX),
                "wait_ms": a.wait.map(|w| u64::try_from(w.as_millis()).unwrap_or(u64::MAX)),
                "wait_reason": a.wait_reason.map(|r| r.as_str()),
            })
        })
        .collect()
}

fn error_fields(e: &steadfast::Error) -> Value {
    json!({
        "kind": e.kind().as_str(),
        "provider": e.provider(),
        "model": e.model(),
        "status": e.status(),
        "message": e.message(),
    })
}

/// The `--json` document for a failure.
fn error_json(e: &steadfast::Error) -> Value {
    json!({
        "error": error_fields(e),
        "retry_stopped": e.retry_stopped(),
        "caught": e.caught().iter().map(error_fields).collect::<Vec<_>>(),
        "attempts": attempts_json(e.attempts()),
    })
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
        "reasoning": r.reasoning().map(|p| json!({
            "text": p.text, "signature": p.signature, "redacted": p.redacted,
        })).collect::<Vec<_>>(),
        "other_parts": r.other_parts().map(|o| json!({
            "kind": o.kind, "raw": o.raw,
        })).collect::<Vec<_>>(),
        "citations": r.citations(),
        "finish_details": r.finish_details(),
        "usage": r.usage().map(|u| json!({
            "input_tokens": u.input_tokens, "output_tokens": u.output_tokens,
        })),
        "request_id": r.request_id(),
        "caught": r.caught().iter().map(error_fields).collect::<Vec<_>>(),
        "attempts": attempts_json(r.attempts()),
    })
}
