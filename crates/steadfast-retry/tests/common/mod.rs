//! Shared helpers for the integration tests: an error type with hints and an event log.
// Not every test file uses every helper.
#![allow(dead_code)]

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use steadfast_retry::RetryHint;

/// What kind of failure a [`TestError`] stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Transient,
    Validation,
    Fatal,
}

/// An error with the facts a retry policy looks at.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TestError {
    pub(crate) kind: Kind,
    pub(crate) msg: String,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) should_retry: Option<bool>,
}

impl TestError {
    pub(crate) fn new(kind: Kind, msg: impl Into<String>) -> Self {
        TestError {
            kind,
            msg: msg.into(),
            retry_after: None,
            should_retry: None,
        }
    }

    pub(crate) fn transient(msg: impl Into<String>) -> Self {
        Self::new(Kind::Transient, msg)
    }

    pub(crate) fn validation(msg: impl Into<String>) -> Self {
        Self::new(Kind::Validation, msg)
    }

    pub(crate) fn fatal(msg: impl Into<String>) -> Self {
        Self::new(Kind::Fatal, msg)
    }

    pub(crate) fn retry_after(mut self, d: Duration) -> Self {
        self.retry_after = Some(d);
        self
    }

    pub(crate) fn should_retry(mut self, v: bool) -> Self {
        self.should_retry = Some(v);
        self
    }
}

impl fmt::Display for TestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for TestError {}

impl RetryHint for TestError {
    fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }
    fn should_retry(&self) -> Option<bool> {
        self.should_retry
    }
}

/// A thread-safe list of events, to assert what ran and in which order.
#[derive(Clone, Debug, Default)]
pub(crate) struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    pub(crate) fn push(&self, event: impl Into<String>) {
        self.0.lock().unwrap().push(event.into());
    }

    pub(crate) fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

pub(crate) fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}
