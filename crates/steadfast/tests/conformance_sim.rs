//! The provider-agnostic conformance suite: text, stream, tools, structured output, every error
//! kind, mid-stream errors and truncated streams — for every provider, through the simulator.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use std::time::Duration;

use common::{TARGETS, Target, call, sim};
use futures_util::StreamExt;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use steadfast::{ErrorKind, FinishReason, StreamEvent, Tool, ToolChoice};
use steadfast_sim::{Action, FaultKind, Rule, Scenario};

#[derive(Debug, Deserialize, JsonSchema, PartialEq)]
struct GetWeather {
    city: String,
}

#[derive(Debug, Deserialize, JsonSchema, PartialEq)]
struct Book {
    title: String,
    author: String,
}

fn weather() -> Tool {
    Tool::of::<GetWeather>("get_weather", "Get the current weather for a city")
}

fn scripted(t: &Target, action: Action) -> Scenario {
    Scenario::new().rule(Rule::new().provider(t.sim).action(action))
}

#[tokio::test]
async fn text() {
    for t in TARGETS {
        let sim = sim(Scenario::new()).await;
        let r = call(t, &sim)
            .send("What is the meaning of life?")
            .await
            .unwrap();
        assert_eq!(r.text(), "Echo: What is the meaning of life?", "{}", t.name);
        assert_eq!(r.finish_reason(), FinishReason::Stop, "{}", t.name);
        assert_eq!(r.provider(), t.name);
        let usage = r.usage().expect("usage");
        assert!(
            usage.input_tokens > 0 && usage.output_tokens > 0,
            "{}",
            t.name
        );
        assert_eq!(r.attempts().len(), 1);
        if !common::NO_REQUEST_ID.contains(&t.name) {
            assert!(r.request_id().is_some(), "{}: request id", t.name);
        }
        assert_eq!(r.attempts()[0].outcome, None);
        assert!(
            r.raw().is_some_and(|v| v.is_object()),
            "{}: the raw JSON body",
            t.name
        );
        let journal = sim.journal();
        assert_eq!(journal.len(), 1, "{}", t.name);
        assert!(!journal[0].stream);
        assert_eq!(journal[0].status, 200);
    }
}

#[tokio::test]
async fn stream_yields_chunks_and_collects_the_same_response() {
    for t in TARGETS {
        let sim = sim(Scenario::new()).await;
        let mut s = call(t, &sim).stream("one two three four five");
        assert!(sim.journal().is_empty(), "no request before the first poll");
        let mut texts = Vec::new();
        while let Some(ev) = s.next().await {
            if let StreamEvent::Text(x) = ev.unwrap() {
                texts.push(x);
            }
        }
        assert!(texts.len() > 1, "{}: several chunks", t.name);
        assert_eq!(
            texts.concat(),
            "Echo: one two three four five",
            "{}",
            t.name
        );
        let r = s.into_response().await.unwrap();
        assert_eq!(r.text(), "Echo: one two three four five");
        assert_eq!(r.finish_reason(), FinishReason::Stop);
        assert!(r.usage().is_some(), "{}: usage", t.name);
        assert!(
            r.request_id().is_some(),
            "{}: request id from the headers",
            t.name
        );
        assert!(sim.journal()[0].stream);
    }
}

#[tokio::test]
async fn max_tokens_gives_length() {
    for t in TARGETS {
        let sim = sim(Scenario::new()).await;
        let r = call(t, &sim)
            .max_tokens(2)
            .send("one two three four five")
            .await
            .unwrap();
        assert_eq!(r.finish_reason(), FinishReason::Length, "{}", t.name);
        let r = call(t, &sim)
            .max_tokens(2)
            .stream("one two three four five")
            .into_response()
            .await
            .unwrap();
        assert_eq!(r.finish_reason(), FinishReason::Length, "{}", t.name);
    }
}

#[tokio::test]
async fn forced_tool_call_validates_and_parses() {
    for t in TARGETS {
        let sim = sim(Scenario::new()).await;
        let c = call(t, &sim)
            .tool(weather())
            .tool_choice(ToolChoice::Tool("get_weather".into()));
        let r = c.send("Weather in Paris?").await.unwrap();
        assert_eq!(r.finish_reason(), FinishReason::ToolCalls, "{}", t.name);
        let uses = r.tools().unwrap();
        assert_eq!(uses.len(), 1);
        assert_eq!(uses[0].name(), "get_weather");
        uses[0].parse::<GetWeather>().unwrap();
        // Streamed: fragments are assembled into the same call.
        let mut s = c.stream("Weather in Paris?");
        let mut complete = Vec::new();
        while let Some(ev) = s.next().await {
            if let StreamEvent::ToolCall(call) = ev.unwrap() {
                complete.push(call);
            }
        }
        assert_eq!(complete.len(), 1, "{}", t.name);
        let r = s.into_response().await.unwrap();
        assert_eq!(r.tool_calls(), complete.as_slice());
        r.tools().unwrap()[0].parse::<GetWeather>().unwrap();
    }
}

#[tokio::test]
async fn parallel_tool_calls() {
    for t in TARGETS {
        let action = Action::tool_call("get_weather", r#"{"city":"Paris"}"#)
            .and_tool_call("get_weather", r#"{"city":"Rome"}"#);
        let sim = sim(scripted(t, action)).await;
        let c = call(t, &sim).tool(weather());
        for r in [
            c.send("Weather?").await.unwrap(),
            c.stream("Weather?").into_response().await.unwrap(),
        ] {
            let cities: Vec<String> = r
                .tools()
                .unwrap()
                .iter()
                .map(|u| u.parse::<GetWeather>().unwrap().city)
                .collect();
            assert_eq!(cities, ["Paris", "Rome"], "{}", t.name);
            let ids: Vec<&str> = r.tool_calls().iter().map(|c| c.id.as_str()).collect();
            assert_ne!(ids[0], ids[1], "{}: distinct ids", t.name);
        }
    }
}

#[tokio::test]
async fn invalid_tool_arguments_are_a_validation_error_when_asked_for() {
    for t in TARGETS {
        let sim = sim(scripted(
            t,
            Action::tool_call("get_weather", r#"{"town": 3}"#),
        ))
        .await;
        let c = call(t, &sim).tool(weather());
        let r = c.send("Weather?").await.expect("the call itself succeeds");
        let e = r.tools().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Validation, "{}", t.name);
        let v = e.validation_failure().unwrap();
        assert_eq!(v.tool.as_deref(), Some("get_weather"));
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&v.raw).unwrap(),
            json!({"town": 3})
        );
        assert!(r.tools().is_err(), "a failed validation is not cached");
        // Streamed: the validation error appears while iterating.
        let mut s = c.stream("Weather?");
        let mut failed = false;
        while let Some(ev) = s.next().await {
            if let Err(e) = ev {
                assert_eq!(e.kind(), ErrorKind::Validation);
                failed = true;
            }
        }
        assert!(failed, "{}", t.name);
    }
}

#[tokio::test]
async fn structured_output() {
    for t in TARGETS {
        let sim = sim(Scenario::new()).await;
        let c = call(t, &sim);
        let book: Book = c
            .extract::<Book>("The Name of the Wind by Patrick Rothfuss")
            .await
            .unwrap();
        assert!(!book.title.is_empty(), "{}", t.name);
        // Both modes work.
        for mode in [
            steadfast::OutputMode::JsonSchema,
            steadfast::OutputMode::Tool,
        ] {
            let _: Book = c
                .clone()
                .output_mode(mode)
                .extract::<Book>("a book")
                .await
                .unwrap();
        }
    }
}

#[tokio::test]
async fn structured_output_failing_a_validator_carries_the_raw_output() {
    for t in TARGETS {
        let wrong = json!({"title": "The Name of the Wind", "author": "patrick rothfuss"});
        let sim = sim(scripted(t, Action::structured(wrong.clone()))).await;
        let e = call(t, &sim)
            .extract::<Book>("The Name of the Wind")
            .validate(|b| {
                if b.author == b.author.to_uppercase() {
                    Ok(())
                } else {
                    Err("author must be uppercase")
                }
            })
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Validation, "{}", t.name);
        let v = e.validation_failure().unwrap();
        assert_eq!(v.message, "author must be uppercase");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&v.raw).unwrap(),
            wrong
        );
        assert_eq!(e.provider(), Some(t.name));
    }
}

#[tokio::test]
async fn refusal_is_a_validation_error_for_structured_output() {
    for t in TARGETS {
        let sim = sim(scripted(t, Action::refusal("I can't help with that."))).await;
        let e = call(t, &sim).extract::<Book>("x").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Validation, "{}", t.name);
    }
}

#[tokio::test]
async fn every_error_kind_is_classified_with_its_hints() {
    let table: &[(Action, ErrorKind)] = &[
        (
            Action::rate_limit().retry_after_secs(7),
            ErrorKind::RateLimited,
        ),
        (Action::quota_exhausted(), ErrorKind::QuotaExhausted),
        (Action::overloaded(), ErrorKind::Overloaded),
        (Action::server_error(), ErrorKind::Server),
        (Action::timeout(), ErrorKind::Timeout),
        (Action::auth(), ErrorKind::Auth),
        (
            Action::error(FaultKind::PermissionDenied),
            ErrorKind::PermissionDenied,
        ),
        (Action::error(FaultKind::NotFound), ErrorKind::NotFound),
        (
            Action::context_window_exceeded(),
            ErrorKind::ContextWindowExceeded,
        ),
        (Action::content_filter(), ErrorKind::ContentFiltered),
        (Action::bad_request(), ErrorKind::InvalidRequest),
        (Action::gateway(502), ErrorKind::Server),
        (Action::gateway(503), ErrorKind::Overloaded),
    ];
    for t in TARGETS {
        for (action, kind) in table {
            let sim = sim(scripted(t, action.clone())).await;
            let e = call(t, &sim).send("hi").await.unwrap_err();
            assert_eq!(e.kind(), *kind, "{} {:?}: {e}", t.name, action.label());
            assert_eq!(e.provider(), Some(t.name));
            assert!(e.status().is_some());
            let s = call(t, &sim)
                .stream("hi")
                .into_response()
                .await
                .unwrap_err();
            assert_eq!(
                s.kind(),
                *kind,
                "{} streamed {:?}: {s}",
                t.name,
                action.label()
            );
        }
    }
}

#[tokio::test]
async fn retry_hints_are_read() {
    for t in TARGETS {
        let sim = sim(scripted(t, Action::rate_limit().retry_after_secs(7))).await;
        let e = call(t, &sim).send("hi").await.unwrap_err();
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)), "{}", t.name);
        assert!(e.is_retryable());

        let sim = sim_with(t, Action::rate_limit().retry_after_ms(250)).await;
        let e = call(t, &sim).send("hi").await.unwrap_err();
        assert_eq!(
            e.retry_after(),
            Some(Duration::from_millis(250)),
            "{}",
            t.name
        );

        let sim = sim_with(t, Action::rate_limit().retry_after_date_in(30)).await;
        let e = call(t, &sim).send("hi").await.unwrap_err();
        let hint = e.retry_after().expect("HTTP-date hint");
        assert!(
            hint <= Duration::from_secs(31) && hint >= Duration::from_secs(25),
            "{}: {hint:?}",
            t.name
        );

        let sim = sim_with(t, Action::server_error().should_retry(false)).await;
        let e = call(t, &sim).send("hi").await.unwrap_err();
        assert_eq!(e.should_retry(), Some(false));
        assert!(!e.is_retryable(), "{}", t.name);
    }
}

async fn sim_with(t: &Target, action: Action) -> steadfast_sim::Simulator {
    sim(scripted(t, action)).await
}

#[tokio::test]
async fn mid_stream_error_after_content_is_interrupted_with_partial_output() {
    for t in TARGETS {
        let action = Action::text("alpha beta gamma delta epsilon zeta eta theta iota kappa")
            .chunk_delay_ms(5)
            .error_after(6, FaultKind::Overloaded);
        let sim = sim(scripted(t, action)).await;
        let mut s = call(t, &sim).stream("hi");
        let mut seen = String::new();
        let err = loop {
            match s.next().await.expect("the stream fails before ending") {
                Ok(StreamEvent::Text(x)) => seen.push_str(&x),
                Ok(_) => {}
                Err(e) => break e,
            }
        };
        assert_eq!(
            err.kind(),
            ErrorKind::StreamInterrupted,
            "{}: {err}",
            t.name
        );
        let partial = err.partial().expect("partial output");
        assert_eq!(partial.text, seen);
        assert!(
            !seen.is_empty()
                && "alpha beta gamma delta epsilon zeta eta theta iota kappa".starts_with(&seen),
            "{}",
            t.name
        );
        assert!(s.next().await.is_none(), "the stream ends after the error");
    }
}

#[tokio::test]
async fn in_band_error_before_content_keeps_its_kind() {
    for t in TARGETS {
        let sim = sim(scripted(
            t,
            Action::text("alpha beta").error_after(0, FaultKind::Overloaded),
        ))
        .await;
        let e = call(t, &sim)
            .stream("hi")
            .into_response()
            .await
            .unwrap_err();
        assert_ne!(e.kind(), ErrorKind::StreamInterrupted, "{}: {e}", t.name);
        assert!(e.is_retryable(), "{}: {e}", t.name);
    }
}

#[tokio::test]
async fn truncated_stream_is_interrupted_never_a_clean_end() {
    for t in TARGETS {
        let sim = sim(scripted(
            t,
            Action::text("alpha beta gamma delta").cut_after(3),
        ))
        .await;
        let e = call(t, &sim)
            .stream("hi")
            .into_response()
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::StreamInterrupted, "{}: {e}", t.name);
    }
}

#[tokio::test]
async fn malformed_chunk_is_a_decode_failure() {
    for t in TARGETS {
        let sim = sim(scripted(
            t,
            Action::text("alpha beta gamma delta").malformed_after(3),
        ))
        .await;
        let e = call(t, &sim)
            .stream("hi")
            .into_response()
            .await
            .unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::StreamInterrupted | ErrorKind::Decode),
            "{}: {e}",
            t.name
        );
        let decode = std::error::Error::source(&e).is_some() || e.kind() == ErrorKind::Decode;
        assert!(decode, "{}: the decode failure is kept", t.name);
    }
}

#[tokio::test]
async fn connection_reset_is_a_connect_error() {
    for t in TARGETS {
        let sim = sim(scripted(t, Action::reset())).await;
        let e = call(t, &sim).send("hi").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Connect, "{}: {e}", t.name);
        assert!(e.is_retryable());
        // Content was delivered (small delays make the server flush each event) before the reset.
        let action = Action::text("alpha beta gamma delta epsilon zeta eta")
            .chunk_delay_ms(5)
            .reset_after(6);
        let sim = sim_with(t, action).await;
        let e = call(t, &sim)
            .stream("hi")
            .into_response()
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::StreamInterrupted, "{}: {e}", t.name);
        assert!(
            !e.partial().expect("partial output").text.is_empty(),
            "{}",
            t.name
        );
    }
}

#[tokio::test]
async fn slow_first_byte_hits_the_timeout() {
    for t in TARGETS {
        let sim = sim(scripted(t, Action::model().delay_ms(5_000))).await;
        let e = call(t, &sim)
            .timeout(Duration::from_millis(100))
            .send("hi")
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout, "{}: {e}", t.name);
        let idle = steadfast::Timeouts::default().idle(Duration::from_millis(100));
        let sim = sim_with(t, Action::model().chunk_delay_ms(5_000)).await;
        let e = call(t, &sim)
            .timeouts(idle)
            .stream("a b c")
            .into_response()
            .await
            .unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::Timeout | ErrorKind::StreamInterrupted),
            "{}: {e}",
            t.name
        );
    }
}

#[tokio::test]
async fn timeouts_too_long_to_be_an_instant_are_no_limit() {
    // `Duration::MAX` is how a caller says "no limit"; a stream's deadline and idle timer add it
    // to the clock, which must not overflow (a panic in `Instant + Duration`).
    let forever = steadfast::Timeouts::default()
        .first_byte(Duration::MAX)
        .idle(Duration::MAX)
        .total(Duration::MAX);
    for t in TARGETS {
        let sim = sim(Scenario::new()).await;
        let streamed = call(t, &sim)
            .timeouts(forever)
            .stream("a b c")
            .into_response()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", t.name));
        assert!(!streamed.text().is_empty(), "{}", t.name);
        let sent = call(t, &sim)
            .timeouts(forever)
            .send("a b c")
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", t.name));
        assert!(!sent.text().is_empty(), "{}", t.name);
    }
}
