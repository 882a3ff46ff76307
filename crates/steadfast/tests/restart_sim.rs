//! The opt-in stream restart (`Resilient::restart_streams`): a stream that fails after its commit
//! point starts again, announced by `StreamEvent::Restarted`, only when asked for and at most as
//! often as allowed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use common::{TARGETS, call, sim};
use futures_util::StreamExt;
use steadfast::resilient::retryable;
use steadfast::retry::{Retry, stop, wait};
use steadfast::{ErrorKind, StreamEvent};
use steadfast_sim::{Action, Rule, Scenario};

const PROMPT: &str = "one two three four five six seven eight";

fn policy() -> Retry<steadfast::Error> {
    Retry::new()
        .stop(stop::after_attempt(3))
        .wait(wait::none())
        .retry_if(retryable())
}

/// The first `cuts` streamed requests are cut after a few content events; the rest answer.
fn cut_first(t: &common::Target, cuts: u64) -> Scenario {
    let mut s = Scenario::new();
    if cuts > 0 {
        s = s.rule(
            Rule::new()
                .provider(t.sim)
                .requests(1..=cuts)
                .action(Action::model().cut_after(4)),
        );
    }
    s
}

#[tokio::test]
async fn an_interrupted_stream_restarts_once_announced_and_keeps_every_attempt() {
    for t in TARGETS {
        let sim = sim(cut_first(t, 1)).await;
        let mut stream = call(t, &sim)
            .retry(policy())
            .restart_streams(1)
            .stream(PROMPT);
        let mut before = String::new();
        let mut after = String::new();
        let mut restarted = 0;
        while let Some(ev) = stream.next().await {
            match ev.unwrap_or_else(|e| panic!("{}: {e}", t.name)) {
                StreamEvent::Restarted { reason } => {
                    restarted += 1;
                    assert!(
                        reason.contains("stream interrupted"),
                        "{}: {reason}",
                        t.name
                    );
                }
                StreamEvent::Text(x) if restarted == 0 => before.push_str(&x),
                StreamEvent::Text(x) => after.push_str(&x),
                _ => {}
            }
        }
        assert_eq!(restarted, 1, "{}", t.name);
        assert!(!before.is_empty(), "{}: content before the cut", t.name);
        assert_eq!(after, format!("Echo: {PROMPT}"), "{}", t.name);
        assert_eq!(stream.text(), after, "{}: only the new answer", t.name);
        let r = stream.into_response().await.unwrap();
        assert_eq!(r.text(), after, "{}", t.name);
        let outcomes: Vec<&str> = r.attempts().iter().map(|a| a.outcome_str()).collect();
        assert_eq!(outcomes, ["stream-interrupted", "ok"], "{}", t.name);
        assert_eq!(sim.journal().len(), 2, "{}", t.name);
    }
}

#[tokio::test]
async fn restarts_are_bounded_and_off_by_default() {
    let t = &TARGETS[0];
    // Three cuts, two restarts allowed: the third interruption reaches the caller, with the
    // history of all three attempts.
    let sim = sim(cut_first(t, 3)).await;
    let mut stream = call(t, &sim)
        .retry(policy())
        .restart_streams(2)
        .stream(PROMPT);
    let mut restarted = 0;
    let mut failure = None;
    while let Some(ev) = stream.next().await {
        match ev {
            Ok(StreamEvent::Restarted { .. }) => restarted += 1,
            Ok(_) => {}
            Err(e) => failure = Some(e),
        }
    }
    assert_eq!(restarted, 2);
    let e = failure.expect("the third cut fails the stream");
    assert_eq!(e.kind(), ErrorKind::StreamInterrupted);
    assert_eq!(e.attempts().len(), 3);
    assert_eq!(sim.journal().len(), 3);

    // Without restart_streams a cut after content is the caller's error, as before.
    let sim = sim_cut_once(t).await;
    let e = call(t, &sim)
        .retry(policy())
        .stream(PROMPT)
        .into_response()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::StreamInterrupted);
    assert!(e.partial().is_some_and(|p| !p.text.is_empty()));
    assert_eq!(sim.journal().len(), 1);
}

async fn sim_cut_once(t: &common::Target) -> steadfast_sim::Simulator {
    sim(cut_first(t, 1)).await
}

/// Records the waits instead of sleeping.
#[derive(Debug, Default, Clone)]
struct Recorder(std::sync::Arc<std::sync::Mutex<Vec<std::time::Duration>>>);

impl steadfast::retry::Sleeper for Recorder {
    fn sleep(&self, duration: std::time::Duration) -> steadfast::retry::SleepFuture<'_> {
        self.0.lock().unwrap().push(duration);
        Box::pin(std::future::ready(()))
    }
}

#[tokio::test]
async fn the_policy_decides_each_restart_and_its_wait() {
    let t = &TARGETS[0];
    // A fixed 2 s wait: the restart waits it first, and the history says so.
    let sim = common::sim(cut_first(t, 1)).await;
    let recorder = Recorder::default();
    let policy = Retry::new()
        .stop(stop::after_attempt(3))
        .wait(wait::fixed(std::time::Duration::from_secs(2)))
        .retry_if(retryable())
        .sleeper(recorder.clone());
    let r = call(t, &sim)
        .retry(policy)
        .restart_streams(2)
        .stream(PROMPT)
        .into_response()
        .await
        .unwrap();
    assert_eq!(r.text(), format!("Echo: {PROMPT}"));
    assert_eq!(
        *recorder.0.lock().unwrap(),
        [std::time::Duration::from_secs(2)]
    );
    assert_eq!(
        r.attempts()[0].wait,
        Some(std::time::Duration::from_secs(2))
    );

    // A policy that does not retry interruptions does not restart them either.
    let sim = common::sim(cut_first(t, 1)).await;
    let policy = Retry::new()
        .stop(stop::after_attempt(3))
        .wait(wait::none())
        .retry_if(steadfast::resilient::kinds([ErrorKind::RateLimited]));
    let e = call(t, &sim)
        .retry(policy)
        .restart_streams(2)
        .stream(PROMPT)
        .into_response()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::StreamInterrupted);
    assert_eq!(sim.journal().len(), 1);

    // Its stop is for the attempts before a commit point, not for restarts: one attempt per
    // commit (no retries at all) still restarts as often as asked.
    let sim = common::sim(cut_first(t, 2)).await;
    let policy = Retry::new()
        .stop(stop::after_attempt(1))
        .wait(wait::none())
        .retry_if(retryable());
    let r = call(t, &sim)
        .retry(policy)
        .restart_streams(2)
        .stream(PROMPT)
        .into_response()
        .await
        .unwrap();
    assert_eq!(r.text(), format!("Echo: {PROMPT}"));
    assert_eq!(sim.journal().len(), 3);
    assert_eq!(r.attempts().len(), 3);
}
