//! Prompt functions, continued (`prompt_functions.rs` has the main table): tools given as types,
//! the `#[errors]` annotation and `wait = <expression>`, each against the simulator beside the
//! builder form it stands for, comparing request bodies and outcomes.

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
use std::time::Duration;

use common::{TEST_KEY, sim};
use schemars::JsonSchema;
use serde::Deserialize;
use steadfast::retry::{Retry, stop, wait};
use steadfast::{Call, Error, ErrorKind, Response, Result, Template, Tool, ToolChoice, Vars, llm};
use steadfast_sim::{Action, Dialect, Rule, Scenario, Simulator};

/// Format a book for the shelf.
#[derive(Debug, Deserialize, JsonSchema)]
#[allow(dead_code, reason = "only the schema is used")]
struct FormatBook {
    title: String,
    author: String,
}

mod books {
    use schemars::JsonSchema;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, JsonSchema)]
    #[allow(dead_code, reason = "only the schema is used")]
    pub(crate) struct HTTPLookup {
        pub(crate) isbn: String,
    }
}

fn lookup_by_hand() -> Tool {
    Tool::of::<books::HTTPLookup>("lookup", "Look a book up")
}

#[derive(Debug, PartialEq, Deserialize, JsonSchema)]
struct Book {
    title: String,
    author: String,
}

// ---- the prompt functions ----

/// Tools as types (one with a doc comment, one by a path without), and an expression.
#[steadfast::call(
    "openai:gpt-4o-mini",
    tools = [FormatBook, books::HTTPLookup, lookup_by_hand()],
    tool_choice = ToolChoice::Required
)]
fn shelve(genre: &str) -> Result<Response> {
    format!("Shelve a {genre} book")
}

fn uppercase_author(book: &Book) -> std::result::Result<(), String> {
    if book.author == book.author.to_uppercase() {
        Ok(())
    } else {
        Err(format!("author must be uppercase, not {:?}", book.author))
    }
}

/// `#[errors]` on a parameter with another name than `errors`.
#[steadfast::call("openai:gpt-4o-mini", validate = uppercase_author)]
#[steadfast::retry(attempts = 3, wait = none, on = [Validation])]
fn extract_annotated(#[errors] earlier: &[Error], text: &str) -> Result<Book> {
    let mut prompt = format!("Extract the book: {text}");
    for e in earlier {
        prompt.push_str(&format!("\nPreviously: {e}"));
    }
    prompt
}

/// `#[errors]` in a template.
#[steadfast::call("openai:gpt-4o-mini", validate = uppercase_author)]
#[steadfast::retry(attempts = 3, wait = none, on = [Validation])]
#[steadfast::prompt_template("USER:\n{failures:list}\nExtract the book from: {text}")]
async fn extract_annotated_template(text: &str, #[errors] failures: &[Error]) -> Result<Book>;

/// `#[errors]` on a `#[prompt_template]` of its own: rendered with `Vars::with_errors`.
#[steadfast::prompt_template("USER:\n{previous:list}\nExtract the book from: {text}")]
fn reinsert_prompt(text: &str, #[errors] previous: &[Error]) -> Result<steadfast::Prompt>;

fn no_wait() -> wait::Wait {
    wait::none()
}

/// `wait = <expression>` of type `Wait`: a path call.
#[steadfast::call("openai:gpt-4o-mini")]
#[steadfast::retry(attempts = 3, wait = wait::fixed(Duration::ZERO), on = [RateLimited])]
fn retry_fixed_expr(genre: &str) -> Result<String> {
    format!("Recommend a {genre} book")
}

/// `wait = <expression>`: a function of the user's.
#[steadfast::call("openai:gpt-4o-mini")]
#[steadfast::retry(wait = no_wait(), attempts = 2)]
fn retry_fn_expr(genre: &str) -> Result<String> {
    format!("Recommend a {genre} book")
}

/// `wait = <expression>`: a sum of waits.
#[steadfast::call("openai:gpt-4o-mini")]
#[steadfast::retry(wait = wait::fixed(Duration::from_secs(1)) + wait::fixed(Duration::from_millis(500)))]
fn retry_sum_expr(genre: &str) -> Result<String> {
    format!("Recommend a {genre} book")
}

/// The `exponential_jitter(..)` form.
#[steadfast::call("openai:gpt-4o-mini")]
#[steadfast::retry(wait = exponential_jitter(multiplier = 1, min = 1, max = 30, jitter = 2))]
fn retry_jitter(genre: &str) -> Result<String> {
    format!("Recommend a {genre} book")
}

/// Seconds that are no `Duration`: a negative wait, and one past 2^64 s.
#[steadfast::call("openai:gpt-4o-mini")]
#[steadfast::retry(wait = fixed(-1))]
fn retry_negative_wait(genre: &str) -> Result<String> {
    format!("Recommend a {genre} book")
}

#[steadfast::call("openai:gpt-4o-mini")]
#[steadfast::retry(wait = exponential(multiplier = 1, min = 1, max = 1e30))]
fn retry_huge_wait(genre: &str) -> Result<String> {
    format!("Recommend a {genre} book")
}

/// The first example of the README, as it is written there.
#[steadfast::fallback(on = [RateLimited, Overloaded], to = "anthropic:claude-3-5-sonnet-latest")]
#[steadfast::call("openai:gpt-4o-mini", temperature = 0.7)]
#[steadfast::retry(attempts = 3, wait = exponential(multiplier = 1, min = 4, max = 10), on = [RateLimited, Overloaded])]
#[steadfast::prompt_template("SYSTEM: You are a librarian.\nUSER: Recommend a {genre} book")]
async fn recommend_book(genre: &str) -> steadfast::Result<String>;

// ---- both forms side by side ----

type Outcome = Pin<Box<dyn Future<Output = String>>>;

struct Case {
    name: &'static str,
    rules: fn() -> Vec<Rule>,
    requests: usize,
    by_macro: fn(Call) -> Outcome,
    by_builder: fn(Call) -> Outcome,
}

fn summary<T: std::fmt::Debug>(r: Result<T>) -> String {
    match r {
        Ok(v) => format!("ok: {v:?}"),
        Err(e) => format!(
            "err {:?} after {} attempts: {e}",
            e.kind(),
            e.attempts().len()
        ),
    }
}

const BOOK: &str = r#"{"title":"Dune","author":"Frank Herbert"}"#;

fn tool_call() -> Vec<Rule> {
    vec![Rule::new().action(Action::tool_call("format_book", BOOK))]
}

fn lowercase_then_uppercase() -> Vec<Rule> {
    vec![
        Rule::new().requests([1]).action(Action::text(BOOK)),
        Rule::new().action(Action::text(r#"{"title":"Dune","author":"FRANK HERBERT"}"#)),
    ]
}

fn rate_limited_once() -> Vec<Rule> {
    vec![
        Rule::new().requests([1]).action(Action::rate_limit()),
        Rule::new().action(Action::text("Dune")),
    ]
}

fn reinserting() -> Retry<Error> {
    steadfast::resilient::default_policy()
        .stop(stop::after_attempt(3))
        .wait(wait::none())
        .retry_if(steadfast::resilient::kinds([ErrorKind::Validation]))
        .collect_errors(steadfast::resilient::validation())
}

fn text(r: Result<Response>) -> Result<String> {
    r.map(|r| r.text().to_string())
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "tools as types",
            rules: tool_call,
            requests: 1,
            by_macro: |c| {
                Box::pin(async move {
                    summary(
                        shelve::with(c)
                            .run("fantasy")
                            .await
                            .map(|r| r.tool_calls().to_vec()),
                    )
                })
            },
            by_builder: |c| {
                Box::pin(async move {
                    let c = c.tool_choice(ToolChoice::Required).with_tools([
                        Tool::of::<FormatBook>("format_book", "Format a book for the shelf."),
                        Tool::of::<books::HTTPLookup>("http_lookup", ""),
                        lookup_by_hand(),
                    ]);
                    summary(
                        c.send("Shelve a fantasy book")
                            .await
                            .map(|r| r.tool_calls().to_vec()),
                    )
                })
            },
        },
        Case {
            name: "#[errors] on another name",
            rules: lowercase_then_uppercase,
            requests: 2,
            by_macro: |c| {
                Box::pin(async move { summary(extract_annotated::with(c).run("Dune").await) })
            },
            by_builder: |c| {
                Box::pin(async move {
                    let book = c
                        .retry(reinserting())
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
        Case {
            name: "#[errors] in a template",
            rules: lowercase_then_uppercase,
            requests: 2,
            by_macro: |c| {
                Box::pin(
                    async move { summary(extract_annotated_template::with(c).run("Dune").await) },
                )
            },
            by_builder: |c| {
                Box::pin(async move {
                    let template =
                        Template::new("USER:\n{failures:list}\nExtract the book from: {text}")
                            .unwrap();
                    let book = c
                        .retry(reinserting())
                        .extract_with::<Book, _>(move |errors| {
                            template.render(
                                &Vars::new()
                                    .with_errors("failures", errors)
                                    .with("text", "Dune"),
                            )
                        })
                        .validate(uppercase_author)
                        .await;
                    summary(book)
                })
            },
        },
        Case {
            name: "wait = wait::fixed(..) expression",
            rules: rate_limited_once,
            requests: 2,
            by_macro: |c| {
                Box::pin(async move { summary(retry_fixed_expr::with(c).run("sci-fi").await) })
            },
            by_builder: |c| {
                Box::pin(async move {
                    let policy = steadfast::resilient::default_policy()
                        .stop(stop::after_attempt(3))
                        .wait(wait::fixed(Duration::ZERO))
                        .retry_if(steadfast::resilient::kinds([ErrorKind::RateLimited]));
                    summary(text(c.retry(policy).send("Recommend a sci-fi book").await))
                })
            },
        },
        Case {
            name: "wait = a function's Wait",
            rules: rate_limited_once,
            requests: 2,
            by_macro: |c| {
                Box::pin(async move { summary(retry_fn_expr::with(c).run("sci-fi").await) })
            },
            by_builder: |c| {
                Box::pin(async move {
                    let policy = steadfast::resilient::default_policy()
                        .stop(stop::after_attempt(2))
                        .wait(no_wait());
                    summary(text(c.retry(policy).send("Recommend a sci-fi book").await))
                })
            },
        },
    ]
}

fn bodies(sim: &Simulator) -> Vec<serde_json::Value> {
    sim.journal()
        .iter()
        .map(|e| serde_json::from_slice(&e.body).unwrap())
        .collect()
}

#[tokio::test]
async fn the_macro_form_sends_and_returns_what_the_builder_form_does() {
    for case in cases() {
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

        assert!(by_macro.starts_with("ok"), "{}: {by_macro}", case.name);
        assert_eq!(by_macro, by_builder, "{}: outcome", case.name);
        assert_eq!(
            macro_bodies, builder_bodies,
            "{}: request bodies",
            case.name
        );
        assert_eq!(macro_bodies.len(), case.requests, "{}: requests", case.name);
        if case.name.contains("#[errors]") {
            assert!(
                macro_bodies[1]
                    .to_string()
                    .contains("author must be uppercase"),
                "{}: the error is not in the retried prompt",
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
fn a_tool_type_is_named_in_snake_case_and_described_by_its_doc_comment() {
    let call = shelve::call().unwrap();
    let tools: Vec<(&str, &str)> = call
        .tools()
        .iter()
        .map(|t| (t.name(), t.description()))
        .collect();
    assert_eq!(
        tools,
        [
            ("format_book", "Format a book for the shelf."),
            ("http_lookup", ""),
            ("lookup", "Look a book up"),
        ]
    );
    assert_eq!(
        call.tools()[0],
        Tool::of::<FormatBook>("format_book", "Format a book for the shelf.")
    );
}

#[test]
fn a_wait_expression_is_the_policy_s_wait() {
    let s = Duration::from_secs;
    let sum = retry_sum_expr::policy().unwrap();
    assert_eq!(sum.wait_strategy().delay(1, 0), Duration::from_millis(1500));
    assert_eq!(sum.wait_strategy().delay(4, 0), Duration::from_millis(1500));

    let expected = wait::exponential_jitter()
        .multiplier(1.0)
        .min(s(1))
        .max(s(30))
        .jitter(s(2))
        .build()
        .unwrap();
    let jitter = retry_jitter::policy().unwrap();
    for seed in [0, 1, 42] {
        for n in 1..=6 {
            assert_eq!(
                jitter.wait_strategy().delay(n, seed),
                expected.delay(n, seed),
                "wait after failure {n}, seed {seed}"
            );
        }
    }
    assert_eq!(
        retry_fn_expr::policy().unwrap().wait_strategy().delay(1, 0),
        Duration::ZERO
    );
}

#[test]
fn seconds_that_are_no_duration_are_a_config_error_not_a_panic() {
    for (name, policy) in [
        ("fixed(-1)", retry_negative_wait::policy()),
        ("max = 1e30", retry_huge_wait::policy()),
    ] {
        let e = policy
            .err()
            .unwrap_or_else(|| panic!("{name}: a policy was built"));
        assert_eq!(e.kind(), ErrorKind::Config, "{name}: {e}");
        assert!(e.to_string().contains("number of seconds"), "{name}: {e}");
    }
}

#[tokio::test]
async fn the_readme_s_first_example_runs_against_the_simulator() {
    // The simulator answers: no retry, no fallback (so no request leaves the machine).
    let sim = sim(Scenario::new()).await;
    let call = llm::call("openai:gpt-4o-mini")
        .unwrap()
        .base_url(sim.base_url(Dialect::OpenAi))
        .api_key(TEST_KEY);
    let text = recommend_book::with(call).run("fantasy").await.unwrap();
    assert_eq!(text, "Echo: Recommend a fantasy book");
    let body = bodies(&sim).remove(0);
    assert_eq!(body["temperature"], 0.7);
    assert_eq!(body["messages"][0]["content"], "You are a librarian.");
    let waits: Vec<u64> = (1..=3)
        .map(|n| {
            recommend_book::policy()
                .unwrap()
                .wait_strategy()
                .delay(n, 0)
                .as_secs()
        })
        .collect();
    assert_eq!(waits, [4, 4, 4]);
}

#[test]
fn an_errors_parameter_of_a_template_alone_renders_the_errors() {
    let template = Template::new("USER:\n{previous:list}\nExtract the book from: {text}").unwrap();
    let errors = [Error::validation("author must be uppercase", "{}")];
    for errors in [&errors[..], &[]] {
        let expected = template
            .render(
                &Vars::new()
                    .with_errors("previous", errors)
                    .with("text", "Dune"),
            )
            .unwrap();
        assert_eq!(reinsert_prompt("Dune", errors).unwrap(), expected);
    }
    let rendered = reinsert_prompt("Dune", &errors).unwrap();
    assert!(
        rendered.messages()[0]
            .text()
            .contains("author must be uppercase")
    );
}
