//! Reference scenarios 1–4 (calls, streams, tools, error reinsertion) against the simulator, in the
//! four prompt styles, with the reference policy: 3 attempts, exponential 1/4/10. Waits are recorded
//! by a sleeper that does not sleep, so they are asserted exactly and the tests take no time.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{TARGETS, Target, call, sim};
use futures_util::StreamExt;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use steadfast::resilient::{kinds, validation};
use steadfast::retry::{Retry, RunError, SleepFuture, Sleeper, stop, wait};
use steadfast::{ErrorKind, Message, Part, Prompt, Role, StreamEvent, Template, Tool, Vars};
use steadfast_sim::{Action, FaultKind, Rule, Scenario};

/// Records the waits instead of sleeping.
#[derive(Debug, Default, Clone)]
struct Recorder(Arc<Mutex<Vec<Duration>>>);

impl Sleeper for Recorder {
    fn sleep(&self, duration: Duration) -> SleepFuture<'_> {
        self.0.lock().unwrap().push(duration);
        Box::pin(std::future::ready(()))
    }
}

impl Recorder {
    fn waits(&self) -> Vec<Duration> {
        self.0.lock().unwrap().clone()
    }
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// stop_after_attempt(3), wait_exponential(multiplier=1, min=4, max=10), recording its waits.
fn reference() -> (Retry<steadfast::Error>, Recorder) {
    let rec = Recorder::default();
    let policy = Retry::new()
        .stop(stop::after_attempt(3))
        .wait(
            wait::exponential()
                .multiplier(1.0)
                .min(secs(4))
                .max(secs(10))
                .build()
                .unwrap(),
        )
        .sleeper(rec.clone());
    (policy, rec)
}

/// The same question in the four prompt styles.
fn prompts(question: &str) -> Vec<(&'static str, Prompt)> {
    let template = Template::new("SYSTEM: You are a librarian.\nUSER: {question}").unwrap();
    vec![
        ("plain string", Prompt::from(question)),
        (
            "message builders",
            Prompt::from([
                Message::system("You are a librarian."),
                Message::user(question),
            ]),
        ),
        (
            "template",
            template
                .render(&Vars::new().with("question", question))
                .unwrap(),
        ),
        (
            "raw message list",
            Prompt::from(vec![Message::new(Role::User, vec![Part::text(question)])]),
        ),
    ]
}

fn openai() -> &'static Target {
    &TARGETS[0]
}

fn rule(t: &Target) -> Rule {
    Rule::new().provider(t.sim)
}

// ---- scenario 1: calls ----

#[tokio::test]
async fn calls_succeed_as_soon_as_an_attempt_succeeds() {
    for t in &TARGETS[..2] {
        for (style, prompt) in prompts("Recommend a fantasy book") {
            let sim =
                sim(Scenario::new().rule(rule(t).requests([1, 2]).action(Action::rate_limit())))
                    .await;
            let (policy, rec) = reference();
            let r = call(t, &sim).retry(policy).send(prompt).await.unwrap();
            assert_eq!(sim.journal().len(), 3, "{} {style}", t.name);
            assert_eq!(rec.waits(), [secs(4), secs(4)], "{} {style}", t.name);
            let outcomes: Vec<&str> = r.attempts().iter().map(|a| a.outcome_str()).collect();
            assert_eq!(outcomes, ["rate-limited", "rate-limited", "ok"]);
            assert_eq!(r.attempts()[0].wait, Some(secs(4)));
            assert_eq!(r.attempts()[0].status, Some(429));
            assert_eq!(r.attempts()[2].wait, None);
            assert!(r.text().starts_with("Echo: "));
        }
    }
}

#[tokio::test]
async fn calls_give_up_after_three_attempts_with_every_attempt() {
    for t in &TARGETS[..2] {
        let sim = sim(Scenario::new().rule(rule(t).action(Action::rate_limit()))).await;
        let (policy, rec) = reference();
        let e = call(t, &sim)
            .retry(policy.clone())
            .send("hi")
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        assert_eq!(e.attempts().len(), 3);
        assert!(
            e.to_string()
                .starts_with("gave up after 3 attempts: rate limited"),
            "{e}"
        );
        assert_eq!(e.retry_stopped(), Some("attempt limit reached"));
        assert_eq!(
            rec.waits(),
            [secs(4), secs(4)],
            "no wait after the last attempt"
        );
        assert_eq!(sim.journal().len(), 3);

        // The closure form gives the typed RetryError.
        sim.reset();
        let c = call(t, &sim);
        let out = policy
            .run(|_| {
                let c = c.clone();
                async move { c.send("hi").await }
            })
            .await;
        match out {
            Err(RunError::Exhausted(history)) => {
                assert_eq!(history.len(), 3);
                assert_eq!(history.last().kind(), ErrorKind::RateLimited);
                assert!(history.to_string().starts_with("gave up after 3 attempts"));
            }
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn server_hints_raise_the_wait_and_can_stop_retries() {
    let t = openai();
    let sim = sim(Scenario::new().rule(
        rule(t)
            .requests([1, 2])
            .action(Action::rate_limit().retry_after_secs(7)),
    ))
    .await;
    let (policy, rec) = reference();
    let r = call(t, &sim).retry(policy).send("hi").await.unwrap();
    assert_eq!(rec.waits(), [secs(7), secs(7)]);
    assert_eq!(
        r.attempts()[0].wait_reason,
        Some(steadfast::retry::WaitReason::ServerHint)
    );
    // Every attempt carries the status the server really sent, the success included.
    let statuses: Vec<_> = r.attempts().iter().map(|a| a.status).collect();
    assert_eq!(statuses, [Some(429), Some(429), Some(200)]);

    // A hint above the cap (60 s) ends the retries at once.
    let sim = sim_with(Action::rate_limit().retry_after_secs(120)).await;
    let (policy, rec) = reference();
    let e = call(t, &sim).retry(policy).send("hi").await.unwrap_err();
    assert_eq!(sim.journal().len(), 1);
    assert!(rec.waits().is_empty());
    assert!(
        e.retry_stopped().unwrap().contains("above the cap"),
        "{:?}",
        e.retry_stopped()
    );

    // x-should-retry: false is not retried.
    let sim = sim_with(Action::server_error().should_retry(false)).await;
    let (policy, _) = reference();
    let e = call(t, &sim).retry(policy).send("hi").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Server);
    assert_eq!(sim.journal().len(), 1);
}

async fn sim_with(action: Action) -> steadfast_sim::Simulator {
    sim(Scenario::new().rule(rule(openai()).action(action))).await
}

#[tokio::test]
async fn llm_default_retries_transient_errors_only() {
    let t = openai();
    let rec = Recorder::default();
    let policy = steadfast::resilient::default_policy().sleeper(rec.clone());
    let sim = sim(Scenario::new()
        .rule(rule(t).requests([1]).action(Action::overloaded()))
        .rule(rule(t).requests([2]).action(Action::server_error())))
    .await;
    call(t, &sim)
        .retry(policy.clone())
        .send("hi")
        .await
        .unwrap();
    assert_eq!(sim.journal().len(), 3);
    assert_eq!(rec.waits().len(), 2);

    let sim = sim_with(Action::bad_request()).await;
    let e = call(t, &sim).retry(policy).send("hi").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert_eq!(sim.journal().len(), 1, "a permanent error is not retried");
    assert_eq!(e.attempts().len(), 1);
}

// ---- scenario 2: streams ----

#[tokio::test]
async fn streams_retry_transparently_before_the_commit_point() {
    for t in &TARGETS[..2] {
        for (style, prompt) in prompts("one two three four") {
            let sim = sim(Scenario::new()
                .rule(rule(t).requests([1]).action(Action::rate_limit()))
                .rule(
                    rule(t)
                        .requests([2])
                        .action(Action::model().error_after(0, FaultKind::Overloaded)),
                ))
            .await;
            let (policy, rec) = reference();
            let mut s = call(t, &sim).retry(policy).stream(prompt);
            let mut text = String::new();
            while let Some(ev) = s.next().await {
                if let StreamEvent::Text(x) = ev.unwrap() {
                    text.push_str(&x);
                }
            }
            assert!(text.starts_with("Echo: "), "{} {style}: {text}", t.name);
            assert_eq!(sim.journal().len(), 3, "{} {style}", t.name);
            assert_eq!(rec.waits(), [secs(4), secs(4)]);
            let r = s.into_response().await.unwrap();
            assert_eq!(r.text(), text);
            assert_eq!(r.attempts().len(), 3);
            assert_eq!(r.attempts()[0].status, Some(429), "{} {style}", t.name);
            assert_eq!(r.attempts()[2].status, Some(200), "{} {style}", t.name);
        }
    }
}

#[tokio::test]
async fn after_the_commit_point_a_stream_is_never_replayed() {
    for t in &TARGETS[..2] {
        let action = Action::text("alpha beta gamma delta epsilon zeta eta")
            .chunk_delay_ms(2)
            .cut_after(5);
        let sim = sim(Scenario::new().rule(rule(t).requests([1]).action(action))).await;
        let (policy, _) = reference();
        let e = call(t, &sim)
            .retry(policy)
            .stream("hi")
            .into_response()
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::StreamInterrupted, "{}: {e}", t.name);
        assert!(!e.partial().unwrap().text.is_empty());
        assert_eq!(sim.journal().len(), 1, "{}: no silent replay", t.name);
        assert_eq!(
            e.attempts().len(),
            1,
            "the failed attempt is in the history"
        );

        // A retried failure before the commit point, then a cut after it: both attempts are listed.
        let action = Action::text("alpha beta gamma delta epsilon zeta eta")
            .chunk_delay_ms(2)
            .cut_after(5);
        let sim = common::sim(
            Scenario::new()
                .rule(rule(t).requests([1]).action(Action::rate_limit()))
                .rule(rule(t).requests([2]).action(action)),
        )
        .await;
        let (policy, _) = reference();
        let e = call(t, &sim)
            .retry(policy)
            .stream("hi")
            .into_response()
            .await
            .unwrap_err();
        let outcomes: Vec<&str> = e.attempts().iter().map(|a| a.outcome_str()).collect();
        assert_eq!(
            outcomes,
            ["rate-limited", "stream-interrupted"],
            "{}",
            t.name
        );
        assert_eq!(sim.journal().len(), 2);
    }
}

#[tokio::test]
async fn the_consuming_wrapper_is_retried_as_a_whole() {
    for t in &TARGETS[..2] {
        for (style, prompt) in prompts("alpha beta gamma delta epsilon") {
            let cut = Action::model().chunk_delay_ms(2).cut_after(4);
            let sim = sim(Scenario::new().rule(rule(t).requests([1]).action(cut))).await;
            let (policy, _) = reference();
            let c = call(t, &sim);
            let shown = Arc::new(Mutex::new(Vec::<String>::new()));
            let text = policy
                .run(|_| {
                    let (c, prompt, shown) = (c.clone(), prompt.clone(), Arc::clone(&shown));
                    async move {
                        let mut s = c.stream(prompt);
                        let mut text = String::new();
                        while let Some(ev) = s.next().await {
                            if let StreamEvent::Text(x) = ev? {
                                shown.lock().unwrap().push(x.clone());
                                text.push_str(&x);
                            }
                        }
                        Ok::<_, steadfast::Error>(text)
                    }
                })
                .await
                .unwrap();
            assert_eq!(
                text, "Echo: alpha beta gamma delta epsilon",
                "{} {style}",
                t.name
            );
            assert_eq!(sim.journal().len(), 2);
            // Chunks already shown are not taken back: the first attempt's chunks were shown too.
            assert!(shown.lock().unwrap().concat().len() > text.len());
        }
    }
}

// ---- scenario 3: tools ----

#[derive(Debug, Deserialize, JsonSchema, PartialEq)]
struct GetWeather {
    city: String,
}

#[tokio::test]
async fn invalid_tool_arguments_are_retried_by_the_wrapper() {
    for t in &TARGETS[..2] {
        for (style, prompt) in prompts("What is the weather in Paris?") {
            let sim = sim(Scenario::new()
                .rule(
                    rule(t)
                        .requests([1])
                        .action(Action::tool_call("get_weather", r#"{"city": 42"#)),
                )
                .rule(rule(t).action(Action::tool_call("get_weather", r#"{"city":"Paris"}"#))))
            .await;
            let (policy, rec) = reference();
            let c = call(t, &sim).tool(Tool::of::<GetWeather>("get_weather", "Get the weather"));
            let weather = policy
                .run(|_| {
                    let (c, prompt) = (c.clone(), prompt.clone());
                    async move {
                        let r = c.send(prompt).await?;
                        let uses = r.tools()?;
                        uses[0].parse::<GetWeather>()
                    }
                })
                .await
                .unwrap();
            assert_eq!(weather.city, "Paris", "{} {style}", t.name);
            assert_eq!(sim.journal().len(), 2);
            assert_eq!(rec.waits(), [secs(4)]);

            // Streamed: the validation error appears while iterating, and the wrapper retries.
            sim.reset();
            let (policy, _) = reference();
            let streamed = policy
                .run(|_| {
                    let (c, prompt) = (c.clone(), prompt.clone());
                    async move {
                        let mut s = c.stream(prompt);
                        let mut found = None;
                        while let Some(ev) = s.next().await {
                            if let StreamEvent::ToolCall(call) = ev? {
                                found = Some(call);
                            }
                        }
                        Ok::<_, steadfast::Error>(found.unwrap())
                    }
                })
                .await
                .unwrap();
            assert_eq!(streamed.name, "get_weather");
            assert_eq!(sim.journal().len(), 2);
        }
    }
}

// ---- scenario 4: error reinsertion ----

#[derive(Debug, Deserialize, JsonSchema, PartialEq)]
struct Book {
    title: String,
    author: String,
}

fn uppercase(b: &Book) -> Result<(), &'static str> {
    if b.author == b.author.to_uppercase() {
        Ok(())
    } else {
        Err("author must be uppercase")
    }
}

fn reinsertion_scenario(t: &Target) -> Scenario {
    Scenario::new()
        .rule(rule(t).requests([1]).action(Action::structured(
            json!({"title": "The Name of the Wind", "author": "patrick rothfuss"}),
        )))
        .rule(rule(t).action(Action::structured(
            json!({"title": "The Name of the Wind", "author": "PATRICK ROTHFUSS"}),
        )))
}

#[tokio::test]
async fn validation_errors_are_reinserted_into_the_next_prompt() {
    let template = Template::new(
        "
        SYSTEM: You extract books.
        USER:
            {errors:list}
            Extract the book from: {text}
        ",
    )
    .unwrap();
    for t in &TARGETS[..2] {
        let sim = sim(reinsertion_scenario(t)).await;
        let policy = reference().0.collect_errors(validation());
        let template = template.clone();
        let book: Book = call(t, &sim)
            .retry(policy)
            .extract_with::<Book, _>(move |errors| {
                template.render(
                    &Vars::new()
                        .with("text", "The Name of the Wind by Patrick Rothfuss")
                        .with_errors("errors", errors),
                )
            })
            .validate(uppercase)
            .await
            .unwrap();
        assert_eq!(book.author, "PATRICK ROTHFUSS");
        let j = sim.journal();
        assert_eq!(j.len(), 2, "{}", t.name);
        let first = String::from_utf8_lossy(&j[0].body).into_owned();
        let second = String::from_utf8_lossy(&j[1].body).into_owned();
        assert!(
            !first.contains("Previous Error"),
            "{}: attempt 1 has no preamble",
            t.name
        );
        assert!(
            second.contains("Previous Error: author must be uppercase"),
            "{}: {second}",
            t.name
        );
    }
}

#[tokio::test]
async fn reinsertion_in_every_prompt_style_through_the_closure_form() {
    for t in &TARGETS[..2] {
        for (style, _) in prompts("x") {
            let sim = sim(reinsertion_scenario(t)).await;
            let policy = reference().0.collect_errors(validation());
            let c = call(t, &sim);
            let text = "The Name of the Wind by Patrick Rothfuss";
            let book = policy
                .run(|attempt| {
                    let previous: Vec<String> = steadfast::prompt::render_errors(attempt.errors());
                    let preamble = previous.join("\n");
                    let ask = format!("{preamble}\nExtract the book from: {text}")
                        .trim()
                        .to_string();
                    let prompt = match style {
                        "plain string" => Prompt::from(ask),
                        "message builders" => Prompt::from([
                            Message::system("You extract books."),
                            Message::user(ask),
                        ]),
                        "template" => {
                            Template::new("USER: {errors:list}\nExtract the book from: {text}")
                                .unwrap()
                                .render(&Vars::new().with("errors", previous).with("text", text))
                                .unwrap()
                        }
                        _ => Prompt::from(vec![Message::new(Role::User, vec![Part::text(ask)])]),
                    };
                    let c = c.clone();
                    async move { c.extract::<Book>(prompt).validate(uppercase).await }
                })
                .await
                .unwrap();
            assert_eq!(book.author, "PATRICK ROTHFUSS", "{} {style}", t.name);
            let j = sim.journal();
            assert!(!String::from_utf8_lossy(&j[0].body).contains("Previous Error"));
            assert!(
                String::from_utf8_lossy(&j[1].body)
                    .contains("Previous Error: author must be uppercase"),
                "{style}"
            );
        }
    }
}

#[tokio::test]
async fn conversational_reinsertion_uses_the_native_shape() {
    // OpenAI asks with a JSON-schema response format: the invalid answer comes back as an assistant
    // message and the validation message as a user message.
    let t = openai();
    let sim = sim(reinsertion_scenario(t)).await;
    let policy = reference().0.collect_errors(validation());
    let _: Book = call(t, &sim)
        .retry(policy)
        .conversational(true)
        .extract::<Book>("The Name of the Wind")
        .validate(uppercase)
        .await
        .unwrap();
    let second = sim.journal()[1].json().unwrap();
    let msgs = second["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 3, "{second:#}");
    assert_eq!(msgs[1]["role"], "assistant");
    assert!(
        msgs[1]["content"]
            .as_str()
            .unwrap()
            .contains("patrick rothfuss")
    );
    assert_eq!(msgs[2]["role"], "user");
    assert!(
        msgs[2]["content"]
            .as_str()
            .unwrap()
            .contains("author must be uppercase")
    );

    // Anthropic forces a tool: the invalid call is answered with a tool_result marked as an error.
    let t = &TARGETS[1];
    let sim = common::sim(reinsertion_scenario(t)).await;
    let policy = reference().0.collect_errors(validation());
    let _: Book = call(t, &sim)
        .retry(policy)
        .conversational(true)
        .extract::<Book>("The Name of the Wind")
        .validate(uppercase)
        .await
        .unwrap();
    let second = sim.journal()[1].json().unwrap();
    let msgs = second["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 3, "{second:#}");
    assert_eq!(msgs[1]["content"][0]["type"], "tool_use");
    let result = &msgs[2]["content"][0];
    assert_eq!(result["type"], "tool_result");
    assert_eq!(result["is_error"], true);
    assert_eq!(result["tool_use_id"], msgs[1]["content"][0]["id"]);
    assert!(
        result["content"]
            .as_str()
            .unwrap()
            .contains("author must be uppercase")
    );
}

#[tokio::test]
async fn transport_errors_are_retried_but_not_reinserted() {
    let t = openai();
    let sim = sim(Scenario::new()
        .rule(rule(t).requests([1]).action(Action::rate_limit()))
        .rule(
            rule(t)
                .requests([2])
                .action(Action::structured(json!({"title": "T", "author": "lower"}))),
        )
        .rule(rule(t).action(Action::structured(json!({"title": "T", "author": "UPPER"})))))
    .await;
    let policy = reference().0.collect_errors(kinds([ErrorKind::Validation]));
    let seen = Arc::new(Mutex::new(Vec::<usize>::new()));
    let seen2 = Arc::clone(&seen);
    let book: Book = call(t, &sim)
        .retry(policy)
        .extract_with::<Book, _>(move |errors| {
            seen2.lock().unwrap().push(errors.len());
            Ok(Prompt::from(format!(
                "{} Extract: T by upper",
                steadfast::prompt::render_errors(errors).join(" ")
            )))
        })
        .validate(uppercase)
        .await
        .unwrap();
    assert_eq!(book.author, "UPPER");
    assert_eq!(
        *seen.lock().unwrap(),
        [0, 0, 1],
        "the 429 is not collected; the validation error is"
    );
}
