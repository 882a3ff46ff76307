//! Streaming: N streams of a long answer, through Steadfast and through the floor (bare
//! `reqwest` reading the body and parsing each SSE `data:` line with `serde_json`); then many
//! streams held open at once, to measure the memory each one costs.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Result, bail};
use futures_util::StreamExt;
use serde_json::Value;
use steadfast::{Resilient, StreamEvent};
use steadfast_sim::{Action, Dialect, Rule, Scenario};
use tokio::sync::watch;

use crate::calls::Floor;
use crate::procstat;
use crate::workload::{CallOutcome, PROMPT};

/// The model whose answers are long (the scenario answers it with [`long_text`]).
pub const STREAM_MODEL: &str = "long-answer";

/// `words` words of text, about 8 bytes each.
pub fn long_text(words: usize) -> String {
    let mut s = String::with_capacity(words * 8);
    for i in 0..words {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(&format!("word{:03}", i % 1000));
    }
    s
}

/// Streams for [`STREAM_MODEL`] answer `words` words, one SSE event per word.
pub fn stream_scenario(words: usize) -> Scenario {
    Scenario::new().name("load: long streamed answers").rule(
        Rule::new()
            .provider(Dialect::OpenAi)
            .model(STREAM_MODEL)
            .action(Action::text(long_text(words))),
    )
}

/// Counters of one stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamOutcome {
    /// It ended cleanly.
    pub ok: bool,
    /// Answer text received, in bytes.
    pub text_bytes: u64,
    /// Content events received.
    pub events: u64,
    /// HTTP requests (attempts).
    pub requests: u64,
}

impl From<StreamOutcome> for CallOutcome {
    fn from(s: StreamOutcome) -> Self {
        CallOutcome {
            ok: s.ok,
            requests: s.requests,
        }
    }
}

/// Waits at the first content event until `release` says go, after bumping `committed`.
#[derive(Debug, Clone)]
pub struct Hold {
    /// Streams that reached their first content event.
    pub committed: Arc<AtomicU64>,
    /// Becomes `true` when the held streams may go on.
    pub release: watch::Receiver<bool>,
}

impl Hold {
    async fn arrive(&mut self) {
        self.committed.fetch_add(1, Ordering::SeqCst);
        let _ = self.release.wait_for(|go| *go).await;
    }
}

/// One stream through Steadfast (`resilient.stream(..)`), consumed to the end.
pub async fn library_stream(r: Resilient, mut hold: Option<Hold>) -> StreamOutcome {
    let mut s = r.stream(PROMPT);
    let mut out = StreamOutcome {
        requests: 1,
        ..StreamOutcome::default()
    };
    while let Some(ev) = s.next().await {
        match ev {
            Ok(StreamEvent::Text(t)) => {
                out.text_bytes += t.len() as u64;
                out.events += 1;
                if let Some(h) = hold.as_mut() {
                    h.arrive().await;
                    hold = None;
                }
            }
            Ok(_) => {}
            Err(_) => return out,
        }
    }
    out.ok = true;
    out
}

/// One stream by hand: POST, read the body chunk by chunk, split SSE events on blank lines and
/// parse each `data:` payload with `serde_json`, until `[DONE]`.
pub async fn floor_stream(f: Floor, mut hold: Option<Hold>) -> StreamOutcome {
    let mut out = StreamOutcome {
        requests: 1,
        ..StreamOutcome::default()
    };
    let sent = f
        .client
        .post(&*f.url)
        .header("content-type", "application/json")
        .header("authorization", "Bearer sk-sim")
        .body(f.body.clone())
        .send()
        .await;
    let Ok(resp) = sent else { return out };
    if !resp.status().is_success() {
        return out;
    }
    let mut body = resp.bytes_stream();
    let mut buf: Vec<u8> = Vec::with_capacity(8 * 1024);
    let mut start = 0usize;
    while let Some(chunk) = body.next().await {
        let Ok(chunk) = chunk else { return out };
        if start > 0 && (start == buf.len() || start > 32 * 1024) {
            buf.drain(..start);
            start = 0;
        }
        buf.extend_from_slice(&chunk);
        while let Some(end) = find_event_end(&buf[start..]) {
            let event = &buf[start..start + end];
            start += end + 2;
            for line in event.split(|b| *b == b'\n') {
                let Some(data) = line.strip_prefix(b"data: ") else {
                    continue;
                };
                if data == b"[DONE]" {
                    out.ok = true;
                    return out;
                }
                let Ok(v) = serde_json::from_slice::<Value>(data) else {
                    return out;
                };
                if let Some(t) = v["choices"][0]["delta"]["content"].as_str() {
                    out.text_bytes += t.len() as u64;
                    out.events += 1;
                    if let Some(h) = hold.as_mut() {
                        h.arrive().await;
                        hold = None;
                    }
                }
            }
        }
    }
    out
}

fn find_event_end(buf: &[u8]) -> Option<usize> {
    buf.windows(2).position(|w| w == b"\n\n")
}

/// What holding streams open costs.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct HoldReport {
    /// Streams open at once.
    pub streams: u64,
    /// Resident memory before opening them, bytes.
    pub rss_before: u64,
    /// Resident memory with all of them open (each past its first content event), bytes.
    pub rss_open: u64,
    /// Streams that then finished cleanly.
    pub finished_ok: u64,
}

impl HoldReport {
    /// Memory per open stream, bytes.
    pub fn per_stream(&self) -> f64 {
        (self.rss_open.saturating_sub(self.rss_before)) as f64 / self.streams.max(1) as f64
    }
}

/// Opens `n` streams with `open`, waits until every one has delivered its first content event,
/// samples resident memory, then lets them finish.
///
/// # Errors
/// Not every stream reached its first content event within `timeout`.
pub async fn hold_open<F, Fut>(n: u64, timeout: Duration, open: F) -> Result<HoldReport>
where
    F: Fn(Hold) -> Fut,
    Fut: std::future::Future<Output = CallOutcome> + Send + 'static,
{
    let rss_before = procstat::rss_bytes();
    let committed = Arc::new(AtomicU64::new(0));
    let (tx, rx) = watch::channel(false);
    let mut tasks = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let hold = Hold {
            committed: Arc::clone(&committed),
            release: rx.clone(),
        };
        tasks.push(tokio::spawn(open(hold)));
    }
    let deadline = tokio::time::Instant::now() + timeout;
    while committed.load(Ordering::SeqCst) < n {
        if tokio::time::Instant::now() > deadline {
            let _ = tx.send(true);
            bail!(
                "only {} of {n} streams opened within {timeout:?}",
                committed.load(Ordering::SeqCst)
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let rss_open = procstat::rss_bytes();
    let _ = tx.send(true);
    let mut finished_ok = 0;
    for t in tasks {
        if t.await.is_ok_and(|o| o.ok) {
            finished_ok += 1;
        }
    }
    Ok(HoldReport {
        streams: n,
        rss_before,
        rss_open,
        finished_ok,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_has_the_words_asked_for() {
        assert_eq!(long_text(3), "word000 word001 word002");
        assert_eq!(long_text(2000).split(' ').count(), 2000);
    }

    #[test]
    fn event_boundaries() {
        assert_eq!(find_event_end(b"data: 1\n\ndata: 2"), Some(7));
        assert_eq!(find_event_end(b"data: 1\n"), None);
    }
}
