//! The `tracing` events: one per attempt, one per sleep (`steadfast.retry.wait`), with the attempt, the wait and its reason.
// Test code: unwrap/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use common::{TestError, secs};
use steadfast_retry::{Retry, stop, wait};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

type Captured = Arc<Mutex<Vec<(Level, BTreeMap<String, String>)>>>;

/// A minimal subscriber that keeps every event's level and fields.
struct Capture(Captured);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        self.0
            .lock()
            .unwrap()
            .push((*event.metadata().level(), fields));
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[tokio::test(start_paused = true)]
async fn one_event_per_attempt_and_per_sleep() {
    let captured = Captured::default();
    let _guard = tracing::subscriber::set_default(Capture(captured.clone()));
    let policy = Retry::new().stop(stop::after_attempt(3)).wait(
        wait::exponential()
            .min(secs(4))
            .max(secs(10))
            .build()
            .unwrap(),
    );
    let _: Result<(), _> = policy
        .run(|a| {
            std::future::ready({
                Err(if a.number() == 2 {
                    TestError::transient("x").retry_after(secs(6))
                } else {
                    TestError::transient("x")
                })
            })
        })
        .await;
    let events = captured.lock().unwrap().clone();
    let attempts: Vec<_> = events
        .iter()
        .filter(|(_, f)| f.get("message").is_some_and(|m| m.ends_with(": attempt")))
        .map(|(level, f)| (*level, f["attempt"].clone()))
        .collect();
    assert_eq!(
        attempts,
        [
            (Level::DEBUG, "1".to_owned()),
            (Level::DEBUG, "2".to_owned()),
            (Level::DEBUG, "3".to_owned())
        ]
    );
    let sleeps: Vec<_> = events
        .iter()
        .filter(|(_, f)| f.contains_key("steadfast.wait.duration_ms"))
        .map(|(level, f)| {
            (
                *level,
                f["steadfast.attempt"].clone(),
                f["steadfast.wait.duration_ms"].clone(),
                f["steadfast.wait.reason"].clone(),
            )
        })
        .collect();
    assert_eq!(
        sleeps,
        [
            (Level::INFO, "1".into(), "4000".into(), "computed".into()),
            (Level::INFO, "2".into(), "6000".into(), "server-hint".into()),
        ]
    );
    let gave_up = events
        .iter()
        .find(|(_, f)| f.get("message").is_some_and(|m| m.ends_with("giving up")))
        .map(|(_, f)| f["reason"].clone());
    assert_eq!(gave_up.as_deref(), Some("attempt limit reached"));
}
