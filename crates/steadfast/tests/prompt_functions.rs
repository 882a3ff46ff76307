//! Prompt functions (`#[steadfast::call]`, `#[steadfast::prompt_template]`) against the simulator:
//! each one, run with `name::with(call).run(..)`, sends the same request bodies and gives the same
//! outcome as the builder form it stands for. Table-driven, both forms side by side.

#![cfg(feature = "macros")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use std::future::Future;
use std::pin::Pin;

use common::{TEST_KEY, sim};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use steadfast::resilient::{Chain, fallback, kinds};
use steadfast::retry::{Retry, stop, wait};
use steadfast::{
    Call, Error, ErrorKind, Message, Prompt, Response, ResponseStream, Result, Template, Tool,
    ToolChoice, Vars, llm,
};
use steadfast_sim::{Action, Dialect, Rule, Scenario, Simulator};

#[derive(Debug, PartialEq, Deserialize, JsonSchema)]
struct Book {
    title: String,
    author: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[allow(dead_code, reason = "only the schema is used")]
struct FormatBook {
    title: String,
}

fn format_book() -> Tool {
    Tool::of::<FormatBook>("format_book", "Format a book")
}

// ---- the prompt functions ----

/// Style 1, a string body; a sync function, text out.
#[steadfast::call("openai:gpt-4o-mini", temperature = 0.7, max_tokens = 100)]
fn recommend_text(genre: &str) -> Result<String> {
    format!("Recommend a {genre} book")
}

/// Style 2, message builders; an async body, the whole response out.
#[steadfast::call("openai:gpt-4o-mini", seed = 7, stop = ["END"], top_p = 0.5)]
async fn recommend_response(genre: String, n: u32) -> steadfast::Result<Response> {
    [
        Message::system("Be terse."),
        Message::user(format!("Recommend {n} {genre} books")),
    ]
}

/// Style 3, a template, with tools and a tool choice.
#[steadfast::call(
    "anthropic:claude-3-5-sonnet-latest",
    tools = [format_book()],
    tool_choice = ToolChoice::Required,
    max_tokens = 256
)]
#[steadfast::prompt_template(
    "
    SYSTEM: You are a librarian.
    USER:
        {previous:list}
        Recommend a {genre} book.
    "
)]
async fn recommend_templated(genre: &str, previous: Vec<String>) -> Result<Response>;

/// Style 4, a raw message list; structured output.
#[steadfast::call("openai:gpt-4o-mini", temperature = 0.0)]
fn extract_book(text: &str) -> Result<Book> {
    vec![Message::user(format!("Extract the book: {text}"))]
}

/// A stream.
#[steadfast::call("openai:gpt-4o-mini", max_tokens = 50)]
fn stream_book(genre: &str) -> Result<ResponseStream> {
    format!("Recommend a {genre} book")
}

/// `#[retry]` under the call; zero waits so the test is fast.
#[steadfast::call("openai:gpt-4o-mini", max_tokens = 100)]
#[steadfast::retry(attempts = 3, wait = fixed(0), on = [RateLimited, Overloaded])]
fn retry_text(genre: &str) -> Result<String> {
    format!("Recommend a {genre} book")
}

/// `#[retry]` above the call, with the issue's wait (checked by its delays, not slept).
#[steadfast::retry(
    attempts = 3,
    wait = exponential(multiplier = 1, min = 4, max = 10),
    on = [RateLimited, Overloaded]
)]
#[steadfast::call("openai:gpt-4o-mini")]
fn retry_exponential(genre: &str) -> Result<Response> {
    format!("Recommend a {genre} book")
}

fn two_quick_attempts() -> Retry<Error> {
    Retry::new()
        .stop(stop::after_attempt(2))
        .wait(wait::none())
        .retry_if(kinds([ErrorKind::RateLimited]))
}

/// `policy = ..`: a policy built in code; structured output.
#[steadfast::call("openai:gpt-4o-mini")]
#[steadfast::retry(policy = two_quick_attempts())]
fn retry_extract(text: &str) -> Result<Book> {
    format!("Extract the book: {text}")
}

/// `#[fallback]` over `#[retry]`: each target gets the whole policy.
#[steadfast::fallback(on = [RateLimited], to = "openai:gpt-4o")]
#[steadfast::call("openai:gpt-4o-mini")]
#[steadfast::retry(attempts = 2, wait = none, on = [RateLimited])]
fn fallback_text(genre: &str) -> Result<String> {
    format!("Recommend a {genre} book")
}

fn no_backup() -> Chain {
    fallback(kinds([ErrorKind::RateLimited]))
}

/// `#[fallback]` alone (one attempt per target), two `to`s, under the call.
#[steadfast::call("openai:gpt-4o-mini")]
#[steadfast::fallback(on = [RateLimited], to = "openai:gpt-4o", to = "openai:gpt-4.1")]
fn fallback_twice(genre: &str) -> Result<Response> {
    format!("Recommend a {genre} book")
}

/// `chain = ..`: a chain built in code (here with no backup: the primary only, one attempt).
#[steadfast::call("openai:gpt-4o-mini")]
#[steadfast::fallback(chain = no_backup())]
fn fallback_chain(genre: &str) -> Result<String> {
    format!("Recommend a {genre} book")
}

/// `#[retry]` above the call on a body-less templated function; no `on`: the default policy's
/// `retryable()`.
#[steadfast::retry(attempts = 2, wait = none)]
#[steadfast::call("openai:gpt-4o-mini")]
#[steadfast::prompt_template("SYSTEM: Be terse.\nUSER: Recommend a {genre} book")]
async fn retry_templated(genre: &str) -> Result<Response>;

fn uppercase_author(book: &Book) -> std::result::Result<(), String> {
    if book.author == book.author.to_uppercase() {
        Ok(())
    } else {
        Err(format!("author must be uppercase, not {:?}", book.author))
    }
}

/// Error reinsertion: `errors` gets the collected validation errors, `validate` feeds them.
#[steadfast::call("openai:gpt-4o-mini", validate = uppercase_author)]
#[steadfast::retry(attempts = 3, wait = none, on = [Validation])]
fn extract_checked(text: &str, errors: &[Error]) -> Result<Book> {
    let mut prompt = format!("Extract the book: {text}");
    for e in errors {
        prompt.push_str(&format!("\nPreviously: {e}"));
    }
    prompt
}

/// The same with a template, `{errors:list}`, on an async function.
#[steadfast::call("openai:gpt-4o-mini", validate = uppercase_author)]
#[steadfast::retry(attempts = 3, wait = none, on = [Validation])]
#[steadfast::prompt_template("USER:\n{errors:list}\nExtract the book from: {text}")]
async fn extract_templated(text: &str, errors: &[Error]) -> Result<Book>;

/// `#[prompt_template]` on its own: a function that renders its template.
#[steadfast::prompt_template("SYSTEM: Be {tone}.\nUSER: {question}")]
fn ask(tone: &str, question: String) -> Result<Prompt>;

// ---- both forms side by side ----

type Outcome = Pin<Box<dyn Future<Output = String>>>;

/// One case: the simulator rule, the macro form and the builder form, each given the call pointed
/// at the simulator and summarizing its outcome as text.
struct Case {
    name: &'static str,
    dialect: Dialect,
    target: &'static str,
    action: Action,
    by_macro: fn(Call) -> Outcome,
    by_builder: fn(Call) -> Outcome,
}

fn summary<T: std::fmt::Debug>(r: Result<T>) -> String {
    match r {
        Ok(v) => format!("ok: {v:?}"),
        Err(e) => format!("err {:?}: {e}", e.kind()),
    }
}

fn response_summary(r: Result<Response>) -> String {
    summary(r.map(|r| (r.text().to_string(), r.tool_calls().to_vec())))
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "string body, text",
            dialect: Dialect::OpenAi,
            target: "openai:gpt-4o-mini",
            action: Action::text("Dune"),
            by_macro: |c| {
                Box::pin(async move { summary(recommend_text::with(c).run("sci-fi").await) })
            },
            by_builder: |c| {
                Box::pin(async move {
                    let c = c.temperature(0.7).max_tokens(100);
                    summary(
                        c.send("Recommend a sci-fi book")
                            .await
                            .map(|r| r.text().to_string()),
                    )
                })
            },
        },
        Case {
            name: "string body, provider error",
            dialect: Dialect::OpenAi,
            target: "openai:gpt-4o-mini",
            action: Action::rate_limit(),
            by_macro: |c| {
                Box::pin(async move { summary(recommend_text::with(c).run("sci-fi").await) })
            },
            by_builder: |c| {
                Box::pin(async move {
                    let c = c.temperature(0.7).max_tokens(100);
                    summary(
                        c.send("Recommend a sci-fi book")
                            .await
                            .map(|r| r.text().to_string()),
                    )
                })
            },
        },
        Case {
            name: "message builders, response",
            dialect: Dialect::OpenAi,
            target: "openai:gpt-4o-mini",
            action: Action::text("Dune, Hyperion"),
            by_macro: |c| {
                Box::pin(async move {
                    response_summary(recommend_response::with(c).run("sci-fi".into(), 2).await)
                })
            },
            by_builder: |c| {
                Box::pin(async move {
                    let c = c.seed(7).stop(["END"]).top_p(0.5);
                    response_summary(
                        c.send([
                            Message::system("Be terse."),
                            Message::user("Recommend 2 sci-fi books"),
                        ])
                        .await,
                    )
                })
            },
        },
        Case {
            name: "template, tools",
            dialect: Dialect::Anthropic,
            target: "anthropic:claude-3-5-sonnet-latest",
            action: Action::tool_call("format_book", r#"{"title":"Dune"}"#),
            by_macro: |c| {
                Box::pin(async move {
                    response_summary(
                        recommend_templated::with(c)
                            .run("fantasy", vec!["Not Dune".into()])
                            .await,
                    )
                })
            },
            by_builder: |c| {
                Box::pin(async move {
                    let c = c
                        .with_tools([format_book()])
                        .tool_choice(ToolChoice::Required)
                        .max_tokens(256);
                    let t = Template::new(
                        "SYSTEM: You are a librarian.\nUSER:\n    {previous:list}\n    Recommend a {genre} book.",
                    )
                    .unwrap();
                    let prompt = t
                        .render(
                            &Vars::new()
                                .with("genre", "fantasy")
                                .with("previous", vec!["Not Dune"]),
                        )
                        .unwrap();
                    response_summary(c.send(prompt).await)
                })
            },
        },
        Case {
            name: "raw messages, structured output",
            dialect: Dialect::OpenAi,
            target: "openai:gpt-4o-mini",
            action: Action::structured(json!({"title": "Dune", "author": "Frank Herbert"})),
            by_macro: |c| Box::pin(async move { summary(extract_book::with(c).run("Dune").await) }),
            by_builder: |c| {
                Box::pin(async move {
                    let c = c.temperature(0.0);
                    summary(
                        c.extract::<Book>(vec![Message::user("Extract the book: Dune")])
                            .await,
                    )
                })
            },
        },
        Case {
            name: "structured output that does not parse",
            dialect: Dialect::OpenAi,
            target: "openai:gpt-4o-mini",
            action: Action::structured_raw("{\"title\": 1"),
            by_macro: |c| Box::pin(async move { summary(extract_book::with(c).run("Dune").await) }),
            by_builder: |c| {
                Box::pin(async move {
                    let c = c.temperature(0.0);
                    summary(
                        c.extract::<Book>(vec![Message::user("Extract the book: Dune")])
                            .await,
                    )
                })
            },
        },
        Case {
            name: "stream",
            dialect: Dialect::Anthropic,
            target: "anthropic:claude-3-5-sonnet-latest",
            action: Action::text("Dune"),
            by_macro: |c| {
                Box::pin(async move {
                    let stream = stream_book::with(c).run("sci-fi").await.unwrap();
                    response_summary(stream.into_response().await)
                })
            },
            by_builder: |c| {
                Box::pin(async move {
                    let c = c.max_tokens(50);
                    response_summary(c.stream("Recommend a sci-fi book").into_response().await)
                })
            },
        },
    ]
}

/// The request bodies the simulator received, as JSON.
fn bodies(sim: &Simulator) -> Vec<serde_json::Value> {
    sim.journal()
        .iter()
        .map(|e| serde_json::from_slice(&e.body).unwrap())
        .collect()
}

#[tokio::test]
async fn the_macro_form_sends_and_returns_what_the_builder_form_does() {
    for case in cases() {
        let sim = sim(Scenario::new().rule(
            Rule::new()
                .provider(case.dialect)
                .action(case.action.clone()),
        ))
        .await;
        let base = llm::call(case.target)
            .unwrap()
            .base_url(sim.base_url(case.dialect))
            .api_key(TEST_KEY);

        let by_macro = (case.by_macro)(base.clone()).await;
        let macro_bodies = bodies(&sim);
        sim.reset();
        let by_builder = (case.by_builder)(base).await;
        let builder_bodies = bodies(&sim);

        assert_eq!(by_macro, by_builder, "{}: outcome", case.name);
        assert_eq!(
            macro_bodies, builder_bodies,
            "{}: request bodies",
            case.name
        );
        assert!(!macro_bodies.is_empty(), "{}: nothing was sent", case.name);
    }
}

#[test]
fn the_attribute_describes_the_call() {
    assert_eq!(recommend_text::TARGET, "openai:gpt-4o-mini");
    let call = recommend_text::call().unwrap();
    assert_eq!(call.target(), "openai:gpt-4o-mini");
    assert_eq!(call.params().temperature, Some(0.7));
    assert_eq!(call.params().max_tokens, Some(100));

    let call = recommend_templated::call().unwrap();
    assert_eq!(call.target(), "anthropic:claude-3-5-sonnet-latest");
    assert_eq!(call.tools(), &[format_book()]);

    // `with` keeps the given call's target and applies the attribute's settings on top.
    let other = llm::call("groq:llama-3.3-70b-versatile").unwrap();
    let bound = recommend_text::configure(other);
    assert_eq!(bound.target(), "groq:llama-3.3-70b-versatile");
    assert_eq!(bound.params().temperature, Some(0.7));
}

#[tokio::test]
async fn the_prompt_is_a_function_of_its_own() {
    assert_eq!(
        recommend_text::prompt("sci-fi").unwrap(),
        Prompt::from("Recommend a sci-fi book")
    );
    let p = recommend_response::prompt("sci-fi".into(), 3)
        .await
        .unwrap();
    assert_eq!(p.messages()[1].text(), "Recommend 3 sci-fi books");
    let p = recommend_templated::prompt("fantasy", vec![]).unwrap();
    assert_eq!(p.messages().len(), 2);
    assert_eq!(p.messages()[1].text(), "Recommend a fantasy book.");

    let p = ask("kind", "hi?".into()).unwrap();
    let expected = Template::new("SYSTEM: Be {tone}.\nUSER: {question}")
        .unwrap()
        .render(&Vars::new().with("tone", "kind").with("question", "hi?"))
        .unwrap();
    assert_eq!(p, expected);
}

#[test]
fn the_macro_knows_every_built_in_provider() {
    let listed: Vec<&str> = include_str!("../../steadfast-macros/src/providers.txt")
        .lines()
        .collect();
    assert_eq!(
        listed,
        llm::names(),
        "crates/steadfast-macros/src/providers.txt is out of date"
    );
}

// ---- #[retry] and #[fallback], both forms side by side ----

/// One resilient case: the scripted rules, the macro form and the builder form, each given the
/// call pointed at the simulator (openai dialect, `openai:gpt-4o-mini`).
struct ResilientCase {
    name: &'static str,
    rules: fn() -> Vec<Rule>,
    /// How many requests each form sends.
    requests: usize,
    by_macro: fn(Call) -> Outcome,
    by_builder: fn(Call) -> Outcome,
}

/// A 429 on the first request, then `Dune`.
fn rate_limited_once() -> Vec<Rule> {
    vec![
        Rule::new().requests([1]).action(Action::rate_limit()),
        Rule::new().action(Action::text("Dune")),
    ]
}

/// `gpt-4o-mini` always rate limited, the backups answer.
fn mini_rate_limited() -> Vec<Rule> {
    vec![
        Rule::new()
            .model("gpt-4o-mini")
            .action(Action::rate_limit()),
        Rule::new().action(Action::text("Dune")),
    ]
}

/// Every request rate limited.
fn always_rate_limited() -> Vec<Rule> {
    vec![Rule::new().action(Action::rate_limit())]
}

/// The outcome with the number of HTTP attempts and the targets caught on the way.
fn attempts_summary(r: Result<Response>) -> String {
    match r {
        Ok(r) => format!(
            "ok after {} attempts, {} caught: {:?}",
            r.attempts().len(),
            r.caught().len(),
            r.text()
        ),
        Err(e) => format!(
            "err {:?} after {} attempts, {} caught: {e}",
            e.kind(),
            e.attempts().len(),
            e.caught().len()
        ),
    }
}

fn quick(attempts: u32, on: &[ErrorKind]) -> Retry<Error> {
    steadfast::resilient::default_policy()
        .stop(stop::after_attempt(attempts))
        .wait(wait::fixed(std::time::Duration::ZERO))
        .retry_if(kinds(on))
}

const BOOK: &str = r#"{"title":"Dune","author":"Frank Herbert"}"#;

fn book_rate_limited_once() -> Vec<Rule> {
    vec![
        Rule::new().requests([1]).action(Action::rate_limit()),
        Rule::new().action(Action::text(BOOK)),
    ]
}

const RL: ErrorKind = ErrorKind::RateLimited;

/// A book whose author fails `uppercase_author`, then one that passes.
fn lowercase_then_uppercase() -> Vec<Rule> {
    vec![
        Rule::new().requests([1]).action(Action::text(BOOK)),
        Rule::new().action(Action::text(r#"{"title":"Dune","author":"FRANK HERBERT"}"#)),
    ]
}

fn reinserting() -> Retry<Error> {
    steadfast::resilient::default_policy()
        .stop(stop::after_attempt(3))
        .wait(wait::none())
        .retry_if(kinds([ErrorKind::Validation]))
        .collect_errors(steadfast::resilient::validation())
}

fn resilient_cases() -> Vec<ResilientCase> {
    vec![
        ResilientCase {
            name: "retry above the call, over a template",
            rules: rate_limited_once,
            requests: 2,
            by_macro: |c| {
                Box::pin(
                    async move { attempts_summary(retry_templated::with(c).run("sci-fi").await) },
                )
            },
            by_builder: |c| {
                Box::pin(async move {
                    let prompt = Template::new("SYSTEM: Be terse.\nUSER: Recommend a {genre} book")
                        .unwrap()
                        .render(&Vars::new().with("genre", "sci-fi"))
                        .unwrap();
                    let policy = steadfast::resilient::default_policy()
                        .stop(stop::after_attempt(2))
                        .wait(wait::none());
                    attempts_summary(c.retry(policy).send(prompt).await)
                })
            },
        },
        ResilientCase {
            name: "errors: reinserted, validate feeds them",
            rules: lowercase_then_uppercase,
            requests: 2,
            by_macro: |c| {
                Box::pin(async move { summary(extract_checked::with(c).run("Dune").await) })
            },
            by_builder: |c| {
                Box::pin(async move {
                    let r = c.retry(reinserting());
                    let book = r
                        .extract_with::<Book, _>(|errors| {
                            let mut prompt = "Extract the book: Dune".to_string();
                            for e in errors {
                                prompt.push_str(&format!("\nPreviously: {e}"));
                            }
                            Ok(prompt.into())
                        })
                        .validate(uppercase_author)
                        .await;
                    summary(book)
                })
            },
        },
        ResilientCase {
            name: "errors in a template",
            rules: lowercase_then_uppercase,
            requests: 2,
            by_macro: |c| {
                Box::pin(async move { summary(extract_templated::with(c).run("Dune").await) })
            },
            by_builder: |c| {
                Box::pin(async move {
                    let template =
                        Template::new("USER:\n{errors:list}\nExtract the book from: {text}")
                            .unwrap();
                    let r = c.retry(reinserting());
                    let book = r
                        .extract_with::<Book, _>(move |errors| {
                            template.render(
                                &Vars::new()
                                    .with_errors("errors", errors)
                                    .with("text", "Dune"),
                            )
                        })
                        .validate(uppercase_author)
                        .await;
                    summary(book)
                })
            },
        },
        ResilientCase {
            name: "retry under the call: a 429, then the text",
            rules: rate_limited_once,
            requests: 2,
            by_macro: |c| Box::pin(async move { summary(retry_text::with(c).run("sci-fi").await) }),
            by_builder: |c| {
                Box::pin(async move {
                    let r = c
                        .max_tokens(100)
                        .retry(quick(3, &[RL, ErrorKind::Overloaded]));
                    summary(
                        r.send("Recommend a sci-fi book")
                            .await
                            .map(|r| r.text().to_string()),
                    )
                })
            },
        },
        ResilientCase {
            name: "retry with a policy built in code, structured output",
            rules: book_rate_limited_once,
            requests: 2,
            by_macro: |c| {
                Box::pin(async move { summary(retry_extract::with(c).run("Dune").await) })
            },
            by_builder: |c| {
                Box::pin(async move {
                    let r = c.retry(two_quick_attempts());
                    summary(r.extract::<Book>("Extract the book: Dune").await)
                })
            },
        },
        ResilientCase {
            name: "fallback over retry: each target gets the whole policy",
            rules: mini_rate_limited,
            requests: 3,
            by_macro: |c| {
                Box::pin(async move { summary(fallback_text::with(c).run("sci-fi").await) })
            },
            by_builder: |c| {
                Box::pin(async move {
                    let chain = fallback(kinds([RL]))
                        .backup(c.with_target("openai:gpt-4o").unwrap(), kinds([RL]));
                    let r = c.retry(quick(2, &[RL])).fallback(chain);
                    summary(
                        r.send("Recommend a sci-fi book")
                            .await
                            .map(|r| r.text().to_string()),
                    )
                })
            },
        },
        ResilientCase {
            name: "fallback alone, two targets, all rate limited",
            rules: always_rate_limited,
            requests: 3,
            by_macro: |c| {
                Box::pin(
                    async move { attempts_summary(fallback_twice::with(c).run("sci-fi").await) },
                )
            },
            by_builder: |c| {
                Box::pin(async move {
                    let chain = fallback(kinds([RL]))
                        .backup(c.with_target("openai:gpt-4o").unwrap(), kinds([RL]))
                        .backup(c.with_target("openai:gpt-4.1").unwrap(), kinds([RL]));
                    attempts_summary(c.fallback(chain).send("Recommend a sci-fi book").await)
                })
            },
        },
        ResilientCase {
            name: "fallback with a chain built in code",
            rules: rate_limited_once,
            requests: 1,
            by_macro: |c| {
                Box::pin(async move { summary(fallback_chain::with(c).run("sci-fi").await) })
            },
            by_builder: |c| {
                Box::pin(async move {
                    summary(
                        c.fallback(no_backup())
                            .send("Recommend a sci-fi book")
                            .await
                            .map(|r| r.text().to_string()),
                    )
                })
            },
        },
    ]
}

#[tokio::test]
async fn retry_and_fallback_send_and_return_what_the_builder_form_does() {
    for case in resilient_cases() {
        let mut scenario = Scenario::new();
        for rule in (case.rules)() {
            scenario = scenario.rule(rule.provider(Dialect::OpenAi));
        }
        let sim = sim(scenario).await;
        let base = llm::call("openai:gpt-4o-mini")
            .unwrap()
            .base_url(sim.base_url(Dialect::OpenAi))
            .api_key(TEST_KEY);

        let by_macro = (case.by_macro)(base.clone()).await;
        let macro_bodies = bodies(&sim);
        sim.reset();
        let by_builder = (case.by_builder)(base).await;
        let builder_bodies = bodies(&sim);

        assert_eq!(by_macro, by_builder, "{}: outcome", case.name);
        assert_eq!(
            macro_bodies, builder_bodies,
            "{}: request bodies",
            case.name
        );
        assert_eq!(macro_bodies.len(), case.requests, "{}: requests", case.name);
        if case.name.starts_with("errors") {
            let last = macro_bodies.last().unwrap().to_string();
            assert!(
                last.contains("author must be uppercase"),
                "{}: the error is not in the retried prompt: {last}",
                case.name
            );
            assert!(
                !macro_bodies[0]
                    .to_string()
                    .contains("author must be uppercase"),
                "{}: the first attempt has no errors",
                case.name
            );
        }
    }
}

#[test]
fn the_retry_attribute_builds_the_policy_it_describes() {
    let s = std::time::Duration::from_secs;
    let expected = wait::exponential()
        .multiplier(1.0)
        .min(s(4))
        .max(s(10))
        .build()
        .unwrap();
    let policy = retry_exponential::policy().unwrap();
    for n in 1..=5 {
        assert_eq!(
            policy.wait_strategy().delay(n, 0),
            expected.delay(n, 0),
            "wait after failure {n}"
        );
    }
    assert_eq!(policy.wait_strategy().delay(1, 0), s(4));
    assert_eq!(policy.wait_strategy().delay(5, 0), s(10));
}

#[test]
fn the_macro_knows_every_error_kind() {
    let listed: Vec<&str> = include_str!("../../steadfast-macros/src/kinds.txt")
        .lines()
        .collect();
    let kinds: Vec<String> = ErrorKind::ALL.iter().map(|k| format!("{k:?}")).collect();
    assert_eq!(
        listed, kinds,
        "crates/steadfast-macros/src/kinds.txt is out of date"
    );
}
