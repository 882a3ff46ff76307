//! A provider written outside the crate, with its public API alone, runs under retry, fallback
//! and circuit breakers like a built-in one: its hints are honoured and its facts reported.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use steadfast::provider::{BoxFuture, EventStream};
use steadfast::resilient::{Breakers, TRANSIENT, fallback, kinds, retryable};
use steadfast::retry::{CircuitBreaker, Retry, stop, wait};
use steadfast::{
    AttemptSummary, Call, Capabilities, ChatRequest, ClientConfig, Error, ErrorKind, FinishReason,
    Provider, ProviderEvent, Response, StreamEvent, Tool, ToolCall, Usage, llm,
};

/// What the provider does on one request.
#[derive(Clone, Debug)]
enum Step {
    /// Answers with this text.
    Answer(&'static str),
    /// Answers with a tool call to `weather` (non-streaming).
    ToolCall,
    /// A 429 with a `retry-after` hint and a request id.
    RateLimited {
        hint: Duration,
        request_id: &'static str,
    },
    /// A 503 the server says not to retry.
    DoNotRetry { request_id: &'static str },
    /// A 503 overload.
    Overloaded,
}

/// A provider that plays a script, then repeats its last step.
#[derive(Debug)]
struct Scripted {
    name: &'static str,
    script: Mutex<VecDeque<Step>>,
    sends: AtomicUsize,
}

impl Scripted {
    fn new(name: &'static str, steps: impl IntoIterator<Item = Step>) -> Arc<Self> {
        Arc::new(Scripted {
            name,
            script: Mutex::new(steps.into_iter().collect()),
            sends: AtomicUsize::new(0),
        })
    }

    fn next_step(&self) -> Step {
        self.sends.fetch_add(1, Ordering::SeqCst);
        let mut script = self.script.lock().unwrap();
        if script.len() > 1 {
            script.pop_front().unwrap()
        } else {
            script.front().cloned().unwrap()
        }
    }

    fn sends(&self) -> usize {
        self.sends.load(Ordering::SeqCst)
    }
}

/// The error a real HTTP provider would build for a failure step, with the public setters only.
fn failure(step: &Step) -> Option<Error> {
    match step {
        Step::RateLimited { hint, request_id } => Some(
            Error::new(ErrorKind::RateLimited, "slow down")
                .with_status(429)
                .with_retry_after(Some(*hint))
                .with_request_id(Some((*request_id).into()))
                .with_code(Some("rate_limit".into()))
                .with_body(Some(
                    r#"{"error":"rate_limit","key":"sk-acme-secret"}"#.into(),
                ))
                .redacted("sk-acme-secret")
                .with_source(std::io::Error::other("upstream said 429")),
        ),
        Step::DoNotRetry { request_id } => Some(
            Error::new(ErrorKind::Server, "maintenance")
                .with_status(503)
                .with_should_retry(Some(false))
                .with_request_id(Some((*request_id).into())),
        ),
        Step::Overloaded => Some(Error::new(ErrorKind::Overloaded, "busy").with_status(503)),
        Step::Answer(_) | Step::ToolCall => None,
    }
}

impl Provider for Scripted {
    fn name(&self) -> &str {
        self.name
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }

    fn client_from_env(&self) -> ClientConfig {
        ClientConfig::default()
    }

    fn send(&self, request: ChatRequest) -> BoxFuture<Result<Response, Error>> {
        let step = self.next_step();
        let name = self.name;
        Box::pin(async move {
            if let Some(e) = failure(&step) {
                return Err(e);
            }
            let builder = Response::builder()
                .provider(name)
                .model(&*request.model)
                .id("resp-1")
                .request_id("req-ok")
                .usage(Usage::new(5, 3))
                .raw(r#"{"ok":true}"#)
                .attempt(AttemptSummary::success(
                    name,
                    Arc::clone(&request.model),
                    Some(200),
                    Duration::from_millis(5),
                ));
            Ok(match step {
                Step::ToolCall => builder
                    .tools(Arc::clone(&request.tools))
                    .tool_call(ToolCall::new("call-1", "weather", r#"{"city":"Oslo"}"#))
                    .finish_reason(FinishReason::ToolCalls)
                    .raw_finish_reason("tool_use"),
                Step::Answer(text) => builder
                    .push_text(text)
                    .push_text("!")
                    .finish_reason(FinishReason::Stop)
                    .raw_finish_reason("end"),
                _ => builder,
            }
            .build())
        })
    }

    fn stream(&self, request: ChatRequest) -> BoxFuture<Result<EventStream, Error>> {
        let step = self.next_step();
        Box::pin(async move {
            if let Some(e) = failure(&step) {
                return Err(e);
            }
            let events = vec![
                ProviderEvent::Metadata {
                    id: Some("resp-s".into()),
                    model: Some(request.model.to_string()),
                    request_id: Some("req-s".into()),
                    status: Some(200),
                },
                ProviderEvent::Text("Let me ".into()),
                ProviderEvent::Text("check.".into()),
                ProviderEvent::ToolCallStart {
                    index: 0,
                    id: "call-s".into(),
                    name: "weather".into(),
                },
                ProviderEvent::ToolCallDelta {
                    index: 0,
                    arguments: r#"{"city":"#.into(),
                },
                ProviderEvent::ToolCallDelta {
                    index: 0,
                    arguments: r#""Bergen"}"#.into(),
                },
                ProviderEvent::ToolCallEnd { index: 0 },
                ProviderEvent::Usage(Usage::new(9, 4)),
                ProviderEvent::Finish {
                    reason: FinishReason::ToolCalls,
                    raw: Some("tool_use".into()),
                },
            ];
            let stream: EventStream =
                Box::pin(futures_util::stream::iter(events.into_iter().map(Ok)));
            Ok(stream)
        })
    }
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct Weather {
    city: String,
}

fn call_to(provider: &Arc<Scripted>) -> Call {
    Call::new(Arc::clone(provider) as Arc<dyn Provider>, "m1")
}

/// Three attempts, a 10 ms wait of its own, retrying what is retryable.
fn policy() -> Retry<Error> {
    Retry::new()
        .stop(stop::after_attempt(3))
        .wait(wait::fixed(Duration::from_millis(10)))
        .retry_if(retryable())
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_hint_sets_the_wait_and_the_facts_show_in_the_attempts() {
    let acme = Scripted::new(
        "acme",
        [
            Step::RateLimited {
                hint: Duration::from_secs(3),
                request_id: "req-429",
            },
            Step::Answer("hello"),
        ],
    );
    let started = tokio::time::Instant::now();
    let r = call_to(&acme).retry(policy()).send("hi").await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "slept the hint"
    );
    assert_eq!(r.text(), "hello!");
    assert_eq!(r.finish_reason(), FinishReason::Stop);
    assert_eq!(r.raw_finish_reason(), Some("end"));
    assert_eq!(r.usage(), Some(Usage::new(5, 3)));
    assert_eq!(r.id(), Some("resp-1"));
    assert_eq!(r.request_id(), Some("req-ok"));
    assert_eq!(r.raw().unwrap()["ok"], true);
    assert_eq!(r.target(), "acme:m1");
    assert_eq!(acme.sends(), 2);

    let a = r.attempts();
    assert_eq!(a.len(), 2, "{a:?}");
    assert_eq!(a[0].outcome, Some(ErrorKind::RateLimited));
    assert_eq!(a[0].status, Some(429));
    assert_eq!(&*a[0].provider, "acme");
    assert!(a[0].wait.unwrap() >= Duration::from_secs(3), "{a:?}");
    assert_eq!(
        a[0].wait_reason,
        Some(steadfast::retry::WaitReason::ServerHint)
    );
    assert_eq!(a[1].outcome, None);
    assert_eq!(a[1].status, Some(200));
}

#[tokio::test(start_paused = true)]
async fn should_retry_false_stops_the_retries_and_the_error_keeps_its_facts() {
    let acme = Scripted::new(
        "acme",
        [Step::DoNotRetry {
            request_id: "req-503",
        }],
    );
    let e = call_to(&acme).retry(policy()).send("hi").await.unwrap_err();
    assert_eq!(acme.sends(), 1, "no retry after x-should-retry: false");
    assert_eq!(e.kind(), ErrorKind::Server);
    assert_eq!(e.status(), Some(503));
    assert_eq!(e.request_id(), Some("req-503"));
    assert_eq!(e.should_retry(), Some(false));
    assert_eq!(e.provider(), Some("acme"), "the call filled in its context");
    assert_eq!(e.model(), Some("m1"));
    assert_eq!(e.attempts().len(), 1);
    assert_eq!(e.attempts()[0].status, Some(503));
    assert_eq!(e.attempts()[0].wait, None);
}

#[tokio::test(start_paused = true)]
async fn an_exhausted_policy_reports_every_attempt_with_its_status() {
    let hint = Duration::from_millis(1500);
    let acme = Scripted::new(
        "acme",
        [Step::RateLimited {
            hint,
            request_id: "req-429",
        }],
    );
    let e = call_to(&acme).retry(policy()).send("hi").await.unwrap_err();
    assert_eq!(acme.sends(), 3);
    assert!(e.retry_stopped().is_some());
    assert_eq!(e.request_id(), Some("req-429"));
    assert_eq!(e.code(), Some("rate_limit"));
    assert_eq!(e.retry_after(), Some(hint));
    let body = e.body().unwrap();
    assert!(
        body.contains("rate_limit") && !body.contains("sk-acme-secret"),
        "{body}"
    );
    assert!(!e.to_string().contains("sk-acme"), "{e}");
    let source = std::error::Error::source(&e).unwrap();
    assert_eq!(source.to_string(), "upstream said 429");
    let a = e.attempts();
    assert_eq!(a.len(), 3);
    assert!(a.iter().all(|s| s.status == Some(429)), "{a:?}");
    assert!(
        a[0].wait.unwrap() >= hint && a[1].wait.unwrap() >= hint,
        "{a:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn fallback_moves_to_a_second_custom_provider() {
    let acme = Scripted::new(
        "acme",
        [Step::RateLimited {
            hint: Duration::from_secs(1),
            request_id: "req-429",
        }],
    );
    let backup = Scripted::new("backup", [Step::Answer("from backup")]);
    let chain = fallback(kinds(TRANSIENT)).backup(call_to(&backup), kinds(TRANSIENT));
    let r = call_to(&acme)
        .retry(policy())
        .fallback(chain)
        .send("hi")
        .await
        .unwrap();
    assert_eq!(r.provider(), "backup");
    assert_eq!(r.text(), "from backup!");
    assert_eq!(acme.sends(), 3, "the primary was retried first");
    assert_eq!(backup.sends(), 1);
    assert_eq!(r.caught().len(), 1);
    assert_eq!(r.caught()[0].status(), Some(429));
    assert_eq!(r.caught()[0].request_id(), Some("req-429"));
    let providers: Vec<&str> = r.attempts().iter().map(|a| &*a.provider).collect();
    assert_eq!(providers, ["acme", "acme", "acme", "backup"]);
    assert_eq!(r.attempts()[3].status, Some(200));
}

#[tokio::test(start_paused = true)]
async fn an_open_breaker_makes_the_fallback_skip_the_custom_provider() {
    let acme = Scripted::new("acme", [Step::Overloaded]);
    let backup = Scripted::new("backup", [Step::Answer("ok")]);
    let breakers = Breakers::new(
        CircuitBreaker::builder()
            .window(2)
            .min_calls(2)
            .failure_rate(0.5)
            .cooldown(Duration::from_secs(600)),
    )
    .unwrap();
    let chain = fallback(kinds(TRANSIENT))
        .backup(call_to(&backup), kinds(TRANSIENT))
        .breaker(breakers.lookup());
    let once = Retry::new().stop(stop::after_attempt(1));
    for _ in 0..2 {
        let r = call_to(&acme)
            .retry(once.clone())
            .fallback(chain.clone())
            .send("hi")
            .await
            .unwrap();
        assert_eq!(r.provider(), "backup");
        assert_eq!(r.caught().len(), 1);
    }
    assert_eq!(acme.sends(), 2);
    let r = call_to(&acme)
        .retry(once)
        .fallback(chain)
        .send("hi")
        .await
        .unwrap();
    assert_eq!(r.provider(), "backup");
    assert!(r.caught().is_empty(), "the open target was skipped");
    assert_eq!(acme.sends(), 2, "no request to an open circuit");
    assert_eq!(backup.sends(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_custom_stream_assembles_text_and_a_tool_call_after_a_retry() {
    let acme = Scripted::new(
        "acme",
        [
            Step::RateLimited {
                hint: Duration::from_secs(2),
                request_id: "req-429",
            },
            Step::Answer("unused"),
        ],
    );
    let call = call_to(&acme).tool(Tool::of::<Weather>("weather", "The weather in a city."));
    let started = tokio::time::Instant::now();
    let mut s = call.retry(policy()).stream("weather in Bergen?");
    let mut text = String::new();
    let mut calls = Vec::new();
    while let Some(event) = s.next().await {
        match event.unwrap() {
            StreamEvent::Text(t) => text.push_str(&t),
            StreamEvent::ToolCall(c) => calls.push(c),
            _ => {}
        }
    }
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "slept the hint"
    );
    assert_eq!(text, "Let me check.");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].id, "call-s");
    assert_eq!(calls[0].name, "weather");
    assert_eq!(calls[0].arguments, r#"{"city":"Bergen"}"#);

    // Once more, collected into a response.
    let r = call
        .stream("weather in Bergen?")
        .into_response()
        .await
        .unwrap();
    assert_eq!(r.text(), "Let me check.");
    assert_eq!(r.finish_reason(), FinishReason::ToolCalls);
    assert_eq!(r.raw_finish_reason(), Some("tool_use"));
    assert_eq!(r.usage(), Some(Usage::new(9, 4)));
    assert_eq!(r.request_id(), Some("req-s"));
    let uses = r.tools().unwrap();
    assert_eq!(uses[0].parse::<Weather>().unwrap().city, "Bergen");
}

#[tokio::test]
async fn a_non_streaming_tool_call_validates_against_the_requests_tools() {
    let acme = Scripted::new("acme", [Step::ToolCall]);
    let call = call_to(&acme).tool(Tool::of::<Weather>("weather", "The weather in a city."));
    let r = call.send("weather in Oslo?").await.unwrap();
    assert_eq!(r.finish_reason(), FinishReason::ToolCalls);
    assert_eq!(r.tool_calls().len(), 1);
    let uses = r.tools().unwrap();
    assert_eq!(uses[0].parse::<Weather>().unwrap().city, "Oslo");
    assert_eq!(
        r.to_message().parts.len(),
        1,
        "the call goes back in the conversation"
    );
}

#[tokio::test]
async fn a_registered_provider_is_reached_by_name() {
    llm::register(Scripted::new("acme-registered", [Step::Answer("by name")]));
    assert!(llm::names().iter().any(|n| n == "acme-registered"));
    let r = llm::call("acme-registered:m2")
        .unwrap()
        .send("hi")
        .await
        .unwrap();
    assert_eq!(r.text(), "by name!");
    assert_eq!(r.target(), "acme-registered:m2");
}
