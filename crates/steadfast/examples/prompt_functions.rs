//! The six reference scenarios written as prompt functions — `#[steadfast::call]`,
//! `#[steadfast::prompt_template]`, `#[steadfast::retry]`, `#[steadfast::fallback]` — in the four
//! prompt styles (a plain string, message builders, a template, a raw message list), each with its
//! success and its failure path. Every function is run with `name::with(call).run(..)` on a call
//! pointed at the embedded simulator; the outcomes are checked, and a wrong one makes the example
//! exit non-zero (`tests/examples.rs` runs it as a test too).
//!
//! `cargo run -p steadfast --example prompt_functions` (no key, no network).
//!
//! Against real providers, call the functions themselves (`calls_string("fantasy").await?`) with
//! the providers' keys in the environment, and write the fallback of scenarios 5 and 6 as
//! `#[steadfast::fallback(on = [RateLimited], to = "anthropic:claude-3-5-sonnet-latest")]`: here
//! the backup must point at the simulator too, so the chain is built in code (`chain = ..`), as
//! `to = ".."` would give Anthropic its client from the environment.
//!
//! Scenarios 2 and 3 retry a wrapper around the prompt function, as the reference does: a stream
//! is retried around the code that consumes it, and tool arguments are validated when read.

use std::sync::Mutex;

use futures_util::StreamExt;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use steadfast::ErrorKind::{self, RateLimited};
use steadfast::resilient::{Chain, TRANSIENT, fallback, kinds};
use steadfast::retry::{Retry, stop, wait};
use steadfast::{
    Call, Error, Message, Part, Response, ResponseStream, Result, Role, StreamEvent, llm,
};
use steadfast_sim::{Action, Dialect, Rule, Scenario, Simulator};

const SYSTEM: &str = "You are a helpful librarian.";

/// The four prompt styles.
#[derive(Debug, Clone, Copy)]
enum Style {
    String,
    Builders,
    Template,
    Messages,
}

impl Style {
    const ALL: [Style; 4] = [
        Style::String,
        Style::Builders,
        Style::Template,
        Style::Messages,
    ];

    fn name(self) -> &'static str {
        match self {
            Style::String => "plain string",
            Style::Builders => "message builders",
            Style::Template => "string template",
            Style::Messages => "raw message list",
        }
    }
}

/// The raw message list style: messages built part by part.
fn raw(user: String) -> Vec<Message> {
    vec![
        Message::new(Role::System, vec![Part::text(SYSTEM)]),
        Message::new(Role::User, vec![Part::text(user)]),
    ]
}

// ---- 1. Calls: stop_after_attempt(3) + exponential backoff (scaled down: the simulator needs
// none; the reference is `exponential(multiplier = 1, min = 4, max = 10)`) ----

#[steadfast::call("openai:gpt-4o-mini")]
#[steadfast::retry(attempts = 3, wait = exponential(multiplier = 0.01, min = 0.01, max = 0.05))]
fn calls_string(genre: &str) -> Result<Response> {
    format!("Recommend a {genre} book")
}

#[steadfast::call("openai:gpt-4o-mini")]
#[steadfast::retry(attempts = 3, wait = exponential(multiplier = 0.01, min = 0.01, max = 0.05))]
fn calls_builders(genre: &str) -> Result<Response> {
    [
        Message::system(SYSTEM),
        Message::user(format!("Recommend a {genre} book")),
    ]
}

#[steadfast::call("openai:gpt-4o-mini")]
#[steadfast::retry(attempts = 3, wait = exponential(multiplier = 0.01, min = 0.01, max = 0.05))]
#[steadfast::prompt_template(
    "SYSTEM: You are a helpful librarian.\nUSER: Recommend a {genre} book"
)]
fn calls_template(genre: &str) -> Result<Response>;

#[steadfast::call("openai:gpt-4o-mini")]
#[steadfast::retry(attempts = 3, wait = exponential(multiplier = 0.01, min = 0.01, max = 0.05))]
fn calls_messages(genre: &str) -> Result<Response> {
    raw(format!("Recommend a {genre} book"))
}

async fn calls(style: Style, call: Call) -> Result<Response> {
    match style {
        Style::String => calls_string::with(call).run("fantasy").await,
        Style::Builders => calls_builders::with(call).run("fantasy").await,
        Style::Template => calls_template::with(call).run("fantasy").await,
        Style::Messages => calls_messages::with(call).run("fantasy").await,
    }
}

// ---- 2. Streams: the prompt function returns the stream; the retry goes around the code that
// consumes it, so each retry is a new request and a new stream ----

#[steadfast::call("openai:gpt-4o-mini")]
fn stream_string(topic: &str) -> Result<ResponseStream> {
    format!("Tell me about {topic}")
}

#[steadfast::call("openai:gpt-4o-mini")]
fn stream_builders(topic: &str) -> Result<ResponseStream> {
    [
        Message::system(SYSTEM),
        Message::user(format!("Tell me about {topic}")),
    ]
}

#[steadfast::call("openai:gpt-4o-mini")]
#[steadfast::prompt_template("SYSTEM: You are a helpful librarian.\nUSER: Tell me about {topic}")]
fn stream_template(topic: &str) -> Result<ResponseStream>;

#[steadfast::call("openai:gpt-4o-mini")]
fn stream_messages(topic: &str) -> Result<ResponseStream> {
    raw(format!("Tell me about {topic}"))
}

/// One attempt: opens the stream and consumes it; an interruption is the attempt's error.
async fn stream_once(style: Style, call: Call) -> Result<String> {
    let topic = "The Name of the Wind";
    let mut stream = match style {
        Style::String => stream_string::with(call).run(topic).await?,
        Style::Builders => stream_builders::with(call).run(topic).await?,
        Style::Template => stream_template::with(call).run(topic).await?,
        Style::Messages => stream_messages::with(call).run(topic).await?,
    };
    let mut text = String::new();
    while let Some(event) = stream.next().await {
        if let StreamEvent::Text(chunk) = event? {
            text.push_str(&chunk);
        }
    }
    Ok(text)
}

async fn streams(style: Style, call: Call) -> Result<String> {
    let policy = Retry::new().stop(stop::after_attempt(3)).wait(wait::none());
    Ok(policy.run(|_| stream_once(style, call.clone())).await?)
}

// ---- 3. Tools: the tool is a type (named `format_book`, described by its doc comment);
// arguments are validated when read, where the wrapper's retry sees the error ----

/// Returns the title and author nicely formatted.
#[derive(Debug, Deserialize, JsonSchema)]
struct FormatBook {
    title: String,
    author: String,
}

#[steadfast::call("openai:gpt-4o-mini", tools = [FormatBook])]
fn tools_string(genre: &str) -> Result<Response> {
    format!("Recommend a {genre} book, formatted with the tool")
}

#[steadfast::call("openai:gpt-4o-mini", tools = [FormatBook])]
fn tools_builders(genre: &str) -> Result<Response> {
    [
        Message::system(SYSTEM),
        Message::user(format!("Recommend a {genre} book, formatted with the tool")),
    ]
}

#[steadfast::call("openai:gpt-4o-mini", tools = [FormatBook])]
#[steadfast::prompt_template(
    "SYSTEM: You are a helpful librarian.\nUSER: Recommend a {genre} book, formatted with the tool"
)]
fn tools_template(genre: &str) -> Result<Response>;

#[steadfast::call("openai:gpt-4o-mini", tools = [FormatBook])]
fn tools_messages(genre: &str) -> Result<Response> {
    raw(format!("Recommend a {genre} book, formatted with the tool"))
}

async fn tools_once(style: Style, call: Call) -> Result<FormatBook> {
    let response = match style {
        Style::String => tools_string::with(call).run("fantasy").await?,
        Style::Builders => tools_builders::with(call).run("fantasy").await?,
        Style::Template => tools_template::with(call).run("fantasy").await?,
        Style::Messages => tools_messages::with(call).run("fantasy").await?,
    };
    // Validation happens here: invalid arguments are an error the policy retries.
    match response.tools()?.first() {
        Some(t) => t.parse::<FormatBook>(),
        None => Err(Error::validation("no tool was called", response.text())),
    }
}

async fn tools(style: Style, call: Call) -> Result<FormatBook> {
    let policy = Retry::new().stop(stop::after_attempt(3)).wait(wait::none());
    Ok(policy.run(|_| tools_once(style, call.clone())).await?)
}

// ---- 4. Error reinsertion: `errors` gets the validation errors of earlier attempts ----

#[derive(Debug, Deserialize, JsonSchema)]
struct Book {
    title: String,
    author: String,
}

fn uppercase_author(book: &Book) -> std::result::Result<(), String> {
    if book.author == book.author.to_uppercase() {
        Ok(())
    } else {
        Err(format!("author must be uppercase, not {:?}", book.author))
    }
}

/// The question after the `Previous Error: …` lines (none on attempt 1).
fn with_errors(errors: &[Error], question: &str) -> String {
    let mut lines = steadfast::prompt::render_errors(errors);
    lines.push(question.to_string());
    lines.join("\n")
}

#[steadfast::call("openai:gpt-4o-mini", validate = uppercase_author)]
#[steadfast::retry(attempts = 3, wait = none, on = [Validation])]
fn extract_string(text: &str, errors: &[Error]) -> Result<Book> {
    with_errors(errors, &format!("Extract the book: {text}"))
}

#[steadfast::call("openai:gpt-4o-mini", validate = uppercase_author)]
#[steadfast::retry(attempts = 3, wait = none, on = [Validation])]
fn extract_builders(text: &str, errors: &[Error]) -> Result<Book> {
    [
        Message::system(SYSTEM),
        Message::user(with_errors(errors, &format!("Extract the book: {text}"))),
    ]
}

#[steadfast::call("openai:gpt-4o-mini", validate = uppercase_author)]
#[steadfast::retry(attempts = 3, wait = none, on = [Validation])]
#[steadfast::prompt_template(
    "SYSTEM: You are a helpful librarian.\nUSER:\n{errors:list}\nExtract the book: {text}"
)]
fn extract_template(text: &str, errors: &[Error]) -> Result<Book>;

#[steadfast::call("openai:gpt-4o-mini", validate = uppercase_author)]
#[steadfast::retry(attempts = 3, wait = none, on = [Validation])]
fn extract_messages(text: &str, #[errors] earlier: &[Error]) -> Result<Book> {
    raw(with_errors(earlier, &format!("Extract the book: {text}")))
}

async fn reinsertion(style: Style, call: Call) -> Result<Book> {
    let text = "The Name of the Wind by Patrick Rothfuss";
    match style {
        Style::String => extract_string::with(call).run(text).await,
        Style::Builders => extract_builders::with(call).run(text).await,
        Style::Template => extract_template::with(call).run(text).await,
        Style::Messages => extract_messages::with(call).run(text).await,
    }
}

// ---- 5. Fallback: on an OpenAI rate limit, the same call goes to Anthropic ----

/// The Anthropic backup, pointed at the simulator (set in `run`).
static ANTHROPIC: Mutex<Option<Call>> = Mutex::new(None);

/// A chain to the Anthropic backup, caught on `on` (no backup before `run` sets it).
fn to_anthropic(on: &[ErrorKind]) -> Chain {
    let chain = fallback(kinds(on));
    match ANTHROPIC.lock().ok().and_then(|backup| backup.clone()) {
        Some(backup) => chain.backup(backup, kinds(on)),
        None => chain,
    }
}

#[steadfast::call("openai:gpt-4o-mini")]
#[steadfast::fallback(chain = to_anthropic(&[RateLimited]))]
fn fallback_string(genre: &str) -> Result<Response> {
    format!("Recommend a {genre} book")
}

#[steadfast::call("openai:gpt-4o-mini")]
#[steadfast::fallback(chain = to_anthropic(&[RateLimited]))]
fn fallback_builders(genre: &str) -> Result<Response> {
    [
        Message::system(SYSTEM),
        Message::user(format!("Recommend a {genre} book")),
    ]
}

#[steadfast::call("openai:gpt-4o-mini")]
#[steadfast::fallback(chain = to_anthropic(&[RateLimited]))]
#[steadfast::prompt_template(
    "SYSTEM: You are a helpful librarian.\nUSER: Recommend a {genre} book"
)]
fn fallback_template(genre: &str) -> Result<Response>;

#[steadfast::call("openai:gpt-4o-mini")]
#[steadfast::fallback(chain = to_anthropic(&[RateLimited]))]
fn fallback_messages(genre: &str) -> Result<Response> {
    raw(format!("Recommend a {genre} book"))
}

async fn fallbacks(style: Style, call: Call) -> Result<Response> {
    match style {
        Style::String => fallback_string::with(call).run("fantasy").await,
        Style::Builders => fallback_builders::with(call).run("fantasy").await,
        Style::Template => fallback_template::with(call).run("fantasy").await,
        Style::Messages => fallback_messages::with(call).run("fantasy").await,
    }
}

// ---- 6. Fallback with retries: each target gets the whole policy ----

#[steadfast::fallback(chain = to_anthropic(TRANSIENT))]
#[steadfast::call("openai:gpt-4o-mini")]
#[steadfast::retry(attempts = 3, wait = fixed(0.01))]
fn fallback_retries_string(genre: &str) -> Result<Response> {
    format!("Recommend a {genre} book")
}

#[steadfast::fallback(chain = to_anthropic(TRANSIENT))]
#[steadfast::call("openai:gpt-4o-mini")]
#[steadfast::retry(attempts = 3, wait = fixed(0.01))]
fn fallback_retries_builders(genre: &str) -> Result<Response> {
    [
        Message::system(SYSTEM),
        Message::user(format!("Recommend a {genre} book")),
    ]
}

#[steadfast::fallback(chain = to_anthropic(TRANSIENT))]
#[steadfast::call("openai:gpt-4o-mini")]
#[steadfast::retry(attempts = 3, wait = fixed(0.01))]
#[steadfast::prompt_template(
    "SYSTEM: You are a helpful librarian.\nUSER: Recommend a {genre} book"
)]
fn fallback_retries_template(genre: &str) -> Result<Response>;

#[steadfast::fallback(chain = to_anthropic(TRANSIENT))]
#[steadfast::call("openai:gpt-4o-mini")]
#[steadfast::retry(attempts = 3, wait = fixed(0.01))]
fn fallback_retries_messages(genre: &str) -> Result<Response> {
    raw(format!("Recommend a {genre} book"))
}

async fn fallback_retries(style: Style, call: Call) -> Result<Response> {
    match style {
        Style::String => fallback_retries_string::with(call).run("fantasy").await,
        Style::Builders => fallback_retries_builders::with(call).run("fantasy").await,
        Style::Template => fallback_retries_template::with(call).run("fantasy").await,
        Style::Messages => fallback_retries_messages::with(call).run("fantasy").await,
    }
}

// ---- the runs ----

fn openai(rule: Rule) -> Rule {
    rule.provider(Dialect::OpenAi)
}

fn every(provider: Dialect, action: Action) -> Rule {
    Rule::new().provider(provider).action(action)
}

/// The outcome as one line: what came back, or the error, with the attempts and what was caught.
fn line<T: std::fmt::Debug>(r: std::result::Result<T, &Error>, attempts: Option<usize>) -> String {
    match r {
        Ok(v) => match attempts {
            Some(n) => format!("ok after {n} attempts: {v:?}"),
            None => format!("ok: {v:?}"),
        },
        Err(e) => {
            // The first 100 characters of the message are enough to see what failed.
            let message = e.to_string();
            let short: String = message.chars().take(100).collect();
            let more = if short.len() < message.len() {
                "…"
            } else {
                ""
            };
            format!(
                "failed ({:?}) after {} attempts, {} caught: {short}{more}",
                e.kind(),
                e.attempts().len(),
                e.caught().len()
            )
        }
    }
}

/// Records `what` as wrong unless `ok`.
fn check(ok: bool, what: &str, wrong: &mut Vec<String>) {
    if !ok {
        println!("    ✗ expected {what}");
        wrong.push(what.to_string());
    }
}

fn is_err(r: &Result<impl Sized>, kind: ErrorKind, attempts: usize) -> bool {
    matches!(r, Err(e) if e.kind() == kind && e.attempts().len() == attempts)
}

/// Runs every scenario in every style; the error lists the wrong outcomes.
pub(crate) async fn run() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let sim = Simulator::start(Scenario::new()).await?;
    let call = llm::call("openai:gpt-4o-mini")?
        .base_url(sim.base_url(Dialect::OpenAi))
        .api_key("sim-key");
    let anthropic = llm::call("anthropic:claude-3-5-sonnet-latest")?
        .base_url(sim.base_url(Dialect::Anthropic))
        .api_key("sim-key");
    if let Ok(mut backup) = ANTHROPIC.lock() {
        *backup = Some(anthropic);
    }
    let book = |author: &str| {
        Action::structured(json!({ "title": "The Name of the Wind", "author": author }))
    };
    const INVALID: &str = r#"{"title": "The Name of the Wind"}"#;
    const VALID: &str = r#"{"title": "The Name of the Wind", "author": "Patrick Rothfuss"}"#;
    let mut wrong = Vec::new();
    let set = |scenario: Scenario| {
        sim.set_scenario(scenario);
        sim.reset();
    };

    for style in Style::ALL {
        let s = style.name();
        println!("━━ {s}");

        println!("── 1. calls: two rate limits, then an answer | every request rate limited");
        set(Scenario::new().rule(openai(
            Rule::new().requests([1, 2]).action(Action::rate_limit()),
        )));
        let r = calls(style, call.clone()).await;
        println!(
            "    {}",
            line(
                r.as_ref().map(|r| r.text()),
                r.as_ref().ok().map(|r| r.attempts().len())
            )
        );
        check(
            matches!(&r, Ok(r) if r.attempts().len() == 3),
            &format!("1 [{s}]: ok after 3 attempts"),
            &mut wrong,
        );
        set(Scenario::new().rule(every(Dialect::OpenAi, Action::rate_limit())));
        let r = calls(style, call.clone()).await;
        println!("    {}", line(r.as_ref(), None));
        check(
            is_err(&r, RateLimited, 3),
            &format!("1 [{s}]: rate limited after 3 attempts"),
            &mut wrong,
        );

        println!("── 2. streams: the first stream cut, then a whole one | every stream cut");
        let cut = || openai(Rule::new().stream(true)).action(Action::model().cut_after(3));
        set(Scenario::new().rule(cut().requests([1])));
        let r = streams(style, call.clone()).await;
        println!(
            "    {}",
            line(r.as_ref(), Some(sim.requests_for(Dialect::OpenAi)))
        );
        check(
            matches!(&r, Ok(t) if t == "Echo: Tell me about The Name of the Wind")
                && sim.requests_for(Dialect::OpenAi) == 2,
            &format!("2 [{s}]: the whole text after 2 requests"),
            &mut wrong,
        );
        set(Scenario::new().rule(cut()));
        let r = streams(style, call.clone()).await;
        println!("    {}", line(r.as_ref(), None));
        check(
            is_err(&r, ErrorKind::StreamInterrupted, 3),
            &format!("2 [{s}]: interrupted after 3 attempts"),
            &mut wrong,
        );

        println!("── 3. tools: invalid arguments, then valid ones | invalid every time");
        let tool = |args: &str| Action::tool_call("format_book", args);
        set(Scenario::new()
            .rule(openai(Rule::new().requests([1]).action(tool(INVALID))))
            .rule(every(Dialect::OpenAi, tool(VALID))));
        let r = tools(style, call.clone()).await;
        println!(
            "    {}",
            line(r.as_ref(), Some(sim.requests_for(Dialect::OpenAi)))
        );
        check(
            matches!(&r, Ok(b) if b.author == "Patrick Rothfuss" && b.title == "The Name of the Wind"),
            &format!("3 [{s}]: the book from the second call"),
            &mut wrong,
        );
        set(Scenario::new().rule(every(Dialect::OpenAi, tool(INVALID))));
        let r = tools(style, call.clone()).await;
        println!("    {}", line(r.as_ref(), None));
        check(
            is_err(&r, ErrorKind::Validation, 3),
            &format!("3 [{s}]: invalid after 3 attempts"),
            &mut wrong,
        );

        println!(
            "── 4. reinsertion: a lowercase author, then an uppercase one | lowercase every time"
        );
        set(Scenario::new()
            .rule(openai(
                Rule::new().requests([1]).action(book("patrick rothfuss")),
            ))
            .rule(every(Dialect::OpenAi, book("PATRICK ROTHFUSS"))));
        let r = reinsertion(style, call.clone()).await;
        println!(
            "    {}",
            line(r.as_ref(), Some(sim.requests_for(Dialect::OpenAi)))
        );
        let journal = sim.journal();
        let reinserted = journal.len() == 2
            && !String::from_utf8_lossy(&journal[0].body).contains("Previous Error")
            && String::from_utf8_lossy(&journal[1].body).contains("Previous Error");
        check(
            matches!(&r, Ok(b) if b.author == "PATRICK ROTHFUSS" && b.title == "The Name of the Wind")
                && reinserted,
            &format!("4 [{s}]: the uppercase author, the error in the second prompt"),
            &mut wrong,
        );
        set(Scenario::new().rule(every(Dialect::OpenAi, book("patrick rothfuss"))));
        let r = reinsertion(style, call.clone()).await;
        println!("    {}", line(r.as_ref(), None));
        check(
            is_err(&r, ErrorKind::Validation, 3),
            &format!("4 [{s}]: invalid after 3 attempts"),
            &mut wrong,
        );

        println!("── 5. fallback: OpenAI rate limited, Anthropic answers | both rate limited");
        set(Scenario::new().rule(every(Dialect::OpenAi, Action::rate_limit())));
        let r = fallbacks(style, call.clone()).await;
        println!(
            "    {}",
            line(
                r.as_ref()
                    .map(|r| (r.target(), r.text().to_string(), r.caught().len())),
                None
            )
        );
        check(
            matches!(&r, Ok(r) if r.target() == "anthropic:claude-3-5-sonnet-latest" && r.caught().len() == 1),
            &format!("5 [{s}]: Anthropic's answer, one error caught"),
            &mut wrong,
        );
        set(Scenario::new()
            .rule(every(Dialect::OpenAi, Action::rate_limit()))
            .rule(every(Dialect::Anthropic, Action::rate_limit())));
        let r = fallbacks(style, call.clone()).await;
        println!("    {}", line(r.as_ref(), None));
        check(
            // The error is Anthropic's; OpenAI's is in `caught()`.
            matches!(&r, Err(e) if e.kind() == RateLimited && e.caught().len() == 1 && e.attempts().len() == 2),
            &format!("5 [{s}]: rate limited after 2 attempts, OpenAI's error caught"),
            &mut wrong,
        );

        println!(
            "── 6. fallback_retries: OpenAI 3 attempts, then Anthropic answers | both keep failing"
        );
        set(Scenario::new().rule(every(Dialect::OpenAi, Action::rate_limit())));
        let r = fallback_retries(style, call.clone()).await;
        println!(
            "    {}",
            line(
                r.as_ref().map(|r| (r.target(), r.text().to_string())),
                r.as_ref().ok().map(|r| r.attempts().len())
            )
        );
        check(
            matches!(&r, Ok(r) if r.target() == "anthropic:claude-3-5-sonnet-latest" && r.attempts().len() == 4),
            &format!("6 [{s}]: Anthropic's answer after 4 attempts"),
            &mut wrong,
        );
        set(Scenario::new()
            .rule(every(Dialect::OpenAi, Action::rate_limit()))
            .rule(every(Dialect::Anthropic, Action::rate_limit())));
        let r = fallback_retries(style, call.clone()).await;
        println!("    {}", line(r.as_ref(), None));
        check(
            is_err(&r, RateLimited, 6),
            &format!("6 [{s}]: rate limited after 6 attempts"),
            &mut wrong,
        );
    }

    if wrong.is_empty() {
        println!(
            "\nevery outcome as expected ({} runs)",
            Style::ALL.len() * 12
        );
        Ok(())
    } else {
        Err(format!("{} wrong outcomes: {}", wrong.len(), wrong.join("; ")).into())
    }
}

#[tokio::main]
async fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    run().await.inspect_err(|e| {
        if let Some(source) = e.source() {
            eprintln!("caused by: {source}");
        }
    })
}
