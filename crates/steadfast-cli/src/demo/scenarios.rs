//! The demo scenarios: each reference scenario and its failure path.

use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use schemars::JsonSchema;
use serde::Deserialize;
use steadfast::resilient::{self, TRANSIENT, kinds, validation};
use steadfast::{ErrorKind, StreamEvent, Tool};
use steadfast_sim::Dialect;

use super::{Ctx, Demo};

type Fut<'a> = super::DemoFuture<'a>;

const SYSTEM: &str = "You are a helpful librarian.";
const OPENAI: &str = "openai:gpt-4o-mini";
const ANTHROPIC: &str = "anthropic:claude-3-5-sonnet-latest";

pub(super) fn all() -> Vec<Demo> {
    vec![
        Demo {
            name: "calls",
            title: "1. a call retried: 3 attempts, exponential 1/4/10",
            scenario: include_str!("../../../../scenarios/calls.toml"),
            run: calls,
        },
        Demo {
            name: "calls-exhausted",
            title: "1. … every attempt fails: RetryError after 3",
            scenario: include_str!("../../../../scenarios/calls_exhausted.toml"),
            run: calls_exhausted,
        },
        Demo {
            name: "streams",
            title: "2. a wrapper that streams and consumes, retried as a whole",
            scenario: include_str!("../../../../scenarios/streams.toml"),
            run: streams,
        },
        Demo {
            name: "streams-exhausted",
            title: "2. … every stream is cut: RetryError after 3",
            scenario: include_str!("../../../../scenarios/streams_exhausted.toml"),
            run: streams_exhausted,
        },
        Demo {
            name: "streams-restart",
            title: "2. … or opted in: the interrupted stream restarts, announced",
            scenario: include_str!("../../../../scenarios/streams.toml"),
            run: streams_restart,
        },
        Demo {
            name: "tools",
            title: "3. tool arguments validated when read, the wrapper retried",
            scenario: include_str!("../../../../scenarios/tools.toml"),
            run: tools,
        },
        Demo {
            name: "tools-exhausted",
            title: "3. … arguments never valid: RetryError after 3",
            scenario: include_str!("../../../../scenarios/tools_exhausted.toml"),
            run: tools_exhausted,
        },
        Demo {
            name: "reinsertion",
            title: "4. error reinsertion: the validation error goes into the next prompt",
            scenario: include_str!("../../../../scenarios/reinsertion.toml"),
            run: reinsertion,
        },
        Demo {
            name: "reinsertion-exhausted",
            title: "4. … the model never complies: RetryError after 3",
            scenario: include_str!("../../../../scenarios/reinsertion_exhausted.toml"),
            run: reinsertion_exhausted,
        },
        Demo {
            name: "fallback",
            title: "5. OpenAI rate-limited → the same call on Anthropic",
            scenario: include_str!("../../../../scenarios/fallback.toml"),
            run: fallback,
        },
        Demo {
            name: "fallback-exhausted",
            title: "5. … Anthropic rate-limited too: FallbackError",
            scenario: include_str!("../../../../scenarios/fallback_exhausted.toml"),
            run: fallback_exhausted,
        },
        Demo {
            name: "fallback-retries",
            title: "6. OpenAI 3 attempts with backoff, then Anthropic",
            scenario: include_str!("../../../../scenarios/fallback_retries.toml"),
            run: fallback_retries,
        },
        Demo {
            name: "fallback-retries-exhausted",
            title: "6. … 3 + 3 attempts, then FallbackError([RetryError, RetryError])",
            scenario: include_str!("../../../../scenarios/fallback_retries_exhausted.toml"),
            run: fallback_retries_exhausted,
        },
    ]
}

// ---- 1. calls ----

async fn calls_common(ctx: &mut Ctx, expect_success: bool) -> anyhow::Result<()> {
    let question = "Recommend a fantasy book.";
    ctx.line(format!("ask {OPENAI}: {question:?}"));
    ctx.line("policy: stop_after_attempt(3), wait_exponential(multiplier=1, min=4, max=10)");
    let call = ctx.call(OPENAI, Dialect::OpenAi)?;
    let prompt = ctx.style.prompt(SYSTEM, question, &[])?;
    match call.retry(ctx.reference()?).send(prompt).await {
        Ok(r) => {
            ctx.attempts(r.attempts());
            ctx.line(format!("answer: {}", r.text()));
            ctx.expect(
                expect_success && r.attempts().len() == 3,
                "succeeded as soon as an attempt succeeded (attempt 3)",
            );
        }
        Err(e) => {
            ctx.attempts(e.attempts());
            ctx.line(format!("RetryError: {e}"));
            ctx.expect(
                !expect_success && e.attempts().len() == 3 && e.kind() == ErrorKind::RateLimited,
                "gave up after 3 attempts with the last error (no wait after the last)",
            );
        }
    }
    let n = ctx.sim.requests_for(Dialect::OpenAi);
    ctx.expect(
        n == 3,
        format!("the simulator saw {n} requests (3 expected)"),
    );
    Ok(())
}

fn calls(ctx: &mut Ctx) -> Fut<'_> {
    Box::pin(calls_common(ctx, true))
}

fn calls_exhausted(ctx: &mut Ctx) -> Fut<'_> {
    Box::pin(calls_common(ctx, false))
}

// ---- 2. streams ----

async fn streams_common(ctx: &mut Ctx, expect_success: bool) -> anyhow::Result<()> {
    let question = "Tell me about The Name of the Wind";
    ctx.line(format!("stream {OPENAI}: {question:?} — the wrapper streams and consumes; the policy retries the wrapper"));
    let call = ctx.call(OPENAI, Dialect::OpenAi)?;
    let prompt = ctx.style.prompt(SYSTEM, question, &[])?;
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    let result = ctx
        .reference()?
        .run(|attempt| {
            let (call, prompt, log) = (call.clone(), prompt.clone(), Arc::clone(&log));
            let n = attempt.number();
            async move {
                let mut s = call.stream(prompt);
                let mut chunks: Vec<String> = Vec::new();
                while let Some(ev) = s.next().await {
                    match ev {
                        Ok(StreamEvent::Text(t)) => chunks.push(t),
                        Ok(_) => {}
                        Err(e) => {
                            push(
                                &log,
                                format!(
                                    "attempt {n}: shown {chunks:?}, then {}: {}",
                                    e.kind(),
                                    e.message()
                                ),
                            );
                            return Err(e);
                        }
                    }
                }
                push(&log, format!("attempt {n}: shown {chunks:?} — complete"));
                Ok(chunks.concat())
            }
        })
        .await;
    for l in log.lock().map(|l| l.clone()).unwrap_or_default() {
        ctx.line(l);
    }
    ctx.waits_line();
    match result {
        Ok(text) => {
            ctx.line(format!("answer: {text}"));
            ctx.line("(chunks already shown by the failed attempt are not taken back)");
            ctx.expect(expect_success, "the retried wrapper yields the full text");
        }
        Err(e) => {
            let e = steadfast::Error::from(e);
            ctx.line(format!("RetryError: {e}"));
            ctx.expect(
                !expect_success && e.kind() == ErrorKind::StreamInterrupted,
                "gave up after 3 attempts: StreamInterrupted",
            );
        }
    }
    let n = ctx.sim.requests_for(Dialect::OpenAi);
    let expected = if expect_success { 2 } else { 3 };
    ctx.expect(
        n == expected,
        format!("each attempt was a new request: the simulator saw {n} ({expected} expected)"),
    );
    Ok(())
}

fn push(log: &Mutex<Vec<String>>, line: String) {
    if let Ok(mut l) = log.lock() {
        l.push(line);
    }
}

fn streams(ctx: &mut Ctx) -> Fut<'_> {
    Box::pin(streams_common(ctx, true))
}

fn streams_exhausted(ctx: &mut Ctx) -> Fut<'_> {
    Box::pin(streams_common(ctx, false))
}

/// The opt-in alternative to the wrapper: `restart_streams(1)` starts the interrupted stream
/// again, after a `Restarted` event that tells the consumer to forget what it showed.
async fn streams_restart_run(ctx: &mut Ctx) -> anyhow::Result<()> {
    let question = "Tell me about The Name of the Wind";
    ctx.line(format!(
        "stream {OPENAI}: {question:?} — call.retry(policy).restart_streams(1).stream(..)"
    ));
    let call = ctx.call(OPENAI, Dialect::OpenAi)?;
    let prompt = ctx.style.prompt(SYSTEM, question, &[])?;
    let mut stream = call
        .retry(ctx.reference()?)
        .restart_streams(1)
        .stream(prompt);
    let mut shown: Vec<String> = Vec::new();
    let mut restarts = 0;
    let mut failure = None;
    while let Some(ev) = stream.next().await {
        match ev {
            Ok(StreamEvent::Text(t)) => shown.push(t),
            Ok(StreamEvent::Restarted { reason }) => {
                restarts += 1;
                ctx.line(format!("shown {shown:?}, then Restarted: {reason}"));
                ctx.line("(the consumer clears what it showed)");
                shown.clear();
            }
            Ok(_) => {}
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    if let Some(e) = failure {
        ctx.line(format!("error: {e}"));
        ctx.expect(false, "the restarted stream completes");
        return Ok(());
    }
    ctx.line(format!("shown {shown:?} — complete"));
    let response = stream.into_response().await?;
    ctx.attempts(response.attempts());
    ctx.expect(
        restarts == 1 && response.text() == shown.concat(),
        "one Restarted event; the response holds the new answer only",
    );
    let n = ctx.sim.requests_for(Dialect::OpenAi);
    ctx.expect(
        n == 2 && response.attempts().len() == 2,
        format!("the history lists both HTTP attempts; the simulator saw {n} (2 expected)"),
    );
    Ok(())
}

fn streams_restart(ctx: &mut Ctx) -> Fut<'_> {
    Box::pin(streams_restart_run(ctx))
}

// ---- 3. tools ----

/// Format a book's title and author.
#[derive(Debug, Deserialize, JsonSchema)]
struct FormatBook {
    title: String,
    author: String,
}

async fn tools_common(ctx: &mut Ctx, expect_success: bool) -> anyhow::Result<()> {
    let question = "Recommend a fantasy book and format it with the tool.";
    ctx.line(format!(
        "ask {OPENAI} with tool format_book(title, author): {question:?}"
    ));
    let call = ctx
        .call(OPENAI, Dialect::OpenAi)?
        .tool(Tool::of::<FormatBook>("format_book", "Format a book"));
    let prompt = ctx.style.prompt(SYSTEM, question, &[])?;
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    let result = ctx
        .reference()?
        .run(|attempt| {
            let (call, prompt, log) = (call.clone(), prompt.clone(), Arc::clone(&log));
            let n = attempt.number();
            async move {
                let r = call.send(prompt).await?;
                let raw: Vec<String> = r
                    .tool_calls()
                    .iter()
                    .map(|c| format!("{}({})", c.name, c.arguments))
                    .collect();
                match r.tools().and_then(|uses| match uses.first() {
                    Some(u) => u.parse::<FormatBook>(),
                    None => Err(steadfast::Error::validation(
                        "the model called no tool",
                        r.text(),
                    )),
                }) {
                    Ok(book) => {
                        push(&log, format!("attempt {n}: {} — valid", raw.join(", ")));
                        Ok(book)
                    }
                    Err(e) => {
                        push(&log, format!("attempt {n}: {} — {}", raw.join(", "), e));
                        Err(e)
                    }
                }
            }
        })
        .await;
    for l in log.lock().map(|l| l.clone()).unwrap_or_default() {
        ctx.line(l);
    }
    ctx.waits_line();
    match result {
        Ok(book) => {
            ctx.line(format!("tool result: {} by {}", book.title, book.author));
            ctx.expect(
                expect_success,
                "the invalid arguments were retried into valid ones",
            );
        }
        Err(e) => {
            let e = steadfast::Error::from(e);
            ctx.line(format!("RetryError: {e}"));
            ctx.expect(
                !expect_success && e.kind() == ErrorKind::Validation,
                "gave up after 3 attempts: Validation",
            );
        }
    }
    let n = ctx.sim.requests_for(Dialect::OpenAi);
    let expected = if expect_success { 2 } else { 3 };
    ctx.expect(
        n == expected,
        format!("the simulator saw {n} requests ({expected} expected)"),
    );
    Ok(())
}

fn tools(ctx: &mut Ctx) -> Fut<'_> {
    Box::pin(tools_common(ctx, true))
}

fn tools_exhausted(ctx: &mut Ctx) -> Fut<'_> {
    Box::pin(tools_common(ctx, false))
}

// ---- 4. error reinsertion ----

#[derive(Debug, Deserialize, JsonSchema)]
struct Book {
    title: String,
    author: String,
}

async fn reinsertion_common(ctx: &mut Ctx, expect_success: bool) -> anyhow::Result<()> {
    let question = "Extract the book from: The Name of the Wind by Patrick Rothfuss";
    ctx.line(format!(
        "extract Book {{ title, author }} with {OPENAI}: {question:?}"
    ));
    ctx.line("validator: the author must be uppercase; policy collects Validation errors");
    let call = ctx.call(OPENAI, Dialect::OpenAi)?;
    let style = ctx.style;
    let policy = ctx.reference()?.collect_errors(validation());
    let result = call
        .retry(policy)
        .extract_with::<Book, _>(move |errors| style.prompt(SYSTEM, question, errors))
        .validate(|b: &Book| {
            if b.author == b.author.to_uppercase() {
                Ok(())
            } else {
                Err("author must be uppercase")
            }
        })
        .with_response()
        .await;
    for (i, entry) in ctx.sim.journal().iter().enumerate() {
        let body = entry.body_text();
        let reinserted: Vec<&str> = body
            .split("Previous Error: ")
            .skip(1)
            .map(|s| s.split(['"', '\\']).next().unwrap_or(""))
            .collect();
        if reinserted.is_empty() {
            ctx.line(format!("request {}: no error preamble", i + 1));
        } else {
            ctx.line(format!(
                "request {}: reinserted {}",
                i + 1,
                reinserted
                    .iter()
                    .map(|r| format!("\"Previous Error: {r}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    match result {
        Ok((book, r)) => {
            ctx.attempts(r.attempts());
            ctx.line(format!(
                "answer: Book {{ title: {:?}, author: {:?} }}",
                book.title, book.author
            ));
            ctx.expect(
                expect_success && book.author == "PATRICK ROTHFUSS",
                "the model corrected itself after seeing its error",
            );
        }
        Err(e) => {
            ctx.attempts(e.attempts());
            ctx.line(format!("RetryError: {e}"));
            ctx.expect(
                !expect_success && e.kind() == ErrorKind::Validation,
                "gave up after 3 attempts: Validation",
            );
        }
    }
    let journal = ctx.sim.journal();
    let first_clean = journal
        .first()
        .is_some_and(|j| !j.body_text().contains("Previous Error"));
    let second_has = journal.get(1).is_some_and(|j| {
        j.body_text()
            .contains("Previous Error: author must be uppercase")
    });
    ctx.expect(
        first_clean && second_has,
        "attempt 1 had no preamble; attempt 2 showed the validation error",
    );
    Ok(())
}

fn reinsertion(ctx: &mut Ctx) -> Fut<'_> {
    Box::pin(reinsertion_common(ctx, true))
}

fn reinsertion_exhausted(ctx: &mut Ctx) -> Fut<'_> {
    Box::pin(reinsertion_common(ctx, false))
}

// ---- 5 and 6. fallback ----

async fn fallback_common(ctx: &mut Ctx, retries: bool, expect_success: bool) -> anyhow::Result<()> {
    let question = "Recommend a fantasy book.";
    let openai = ctx.call(OPENAI, Dialect::OpenAi)?;
    let anthropic = ctx.call(ANTHROPIC, Dialect::Anthropic)?;
    let catch = if retries {
        kinds(TRANSIENT)
    } else {
        kinds([ErrorKind::RateLimited])
    };
    let chain = resilient::fallback(catch.clone()).backup(anthropic, catch);
    let prompt = ctx.style.prompt(SYSTEM, question, &[])?;
    let resilient = if retries {
        ctx.line(format!("ask {OPENAI}, falling back to {ANTHROPIC}; each target retried 3 times (exponential 1/4/10)"));
        openai.retry(ctx.reference()?).fallback(chain)
    } else {
        ctx.line(format!(
            "ask {OPENAI}; on a rate limit the same call goes to {ANTHROPIC}"
        ));
        openai.fallback(chain)
    };
    match resilient.send(prompt).await {
        Ok(r) => {
            ctx.attempts(r.attempts());
            for (i, c) in r.caught().iter().enumerate() {
                ctx.line(format!("caught [{}]: {c}", i + 1));
            }
            ctx.line(format!("answer from {}: {}", r.provider(), r.text()));
            ctx.expect(
                expect_success && r.provider() == "anthropic" && r.caught().len() == 1,
                "the backup answered; the response lists what was caught",
            );
        }
        Err(e) => {
            ctx.attempts(e.attempts());
            ctx.line(format!("FallbackError: {e}"));
            let retried = !retries || e.caught().iter().all(|c| c.attempts().len() == 3);
            ctx.expect(
                !expect_success && e.caught().len() == 1 && retried,
                "every target failed; every caught error is kept, primary first",
            );
        }
    }
    let (o, a) = (
        ctx.sim.requests_for(Dialect::OpenAi),
        ctx.sim.requests_for(Dialect::Anthropic),
    );
    let expected = match (retries, expect_success) {
        (false, _) => (1, 1),
        (true, true) => (3, 1),
        (true, false) => (3, 3),
    };
    ctx.expect(
        (o, a) == expected,
        format!(
            "the simulator saw openai {o}, anthropic {a} (expected {}, {})",
            expected.0, expected.1
        ),
    );
    Ok(())
}

fn fallback(ctx: &mut Ctx) -> Fut<'_> {
    Box::pin(fallback_common(ctx, false, true))
}

fn fallback_exhausted(ctx: &mut Ctx) -> Fut<'_> {
    Box::pin(fallback_common(ctx, false, false))
}

fn fallback_retries(ctx: &mut Ctx) -> Fut<'_> {
    Box::pin(fallback_common(ctx, true, true))
}

fn fallback_retries_exhausted(ctx: &mut Ctx) -> Fut<'_> {
    Box::pin(fallback_common(ctx, true, false))
}
