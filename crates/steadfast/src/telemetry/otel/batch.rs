//! [`Batch`]: the span processor of [`Spans::batch`](super::Spans::batch) — closed spans queued
//! under one lock and exported in batches from one background thread.
//!
//! The SDK's `BatchSpanProcessor` sends each span through a channel to its thread, which moves it
//! again into its batch: two moves of a ~400-byte `SpanData` and a channel operation per span.
//! Here a span is pushed onto the queue (one move, an uncontended lock), and the thread takes the
//! whole queue at once. Same contract: a bounded queue (spans past it are dropped and counted),
//! an export when a batch is full or the delay has passed, `force_flush` and `shutdown` that wait
//! for the exporter. One export at a time, of at most the queue's size.

use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use opentelemetry::Context;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};

/// Spans held at most; past it a closed span is dropped (and counted).
pub(super) const MAX_QUEUE: usize = 2048;
/// A batch this full is exported without waiting for the delay.
const BATCH: usize = 512;
/// The longest a closed span waits before it is exported.
const DELAY: Duration = Duration::from_secs(5);
/// The longest `force_flush` and `shutdown` wait for the exporter.
const WAIT: Duration = Duration::from_secs(30);

/// A span processor exporting batches from its own thread.
pub(super) struct Batch {
    shared: Arc<Shared>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

struct Shared {
    state: Mutex<State>,
    /// The worker waits on it for a full batch, a flush or the shutdown.
    wake: Condvar,
    /// Flushers wait on it for the worker's exports.
    exported: Condvar,
}

#[derive(Default)]
struct State {
    queue: Vec<SpanData>,
    /// Spans dropped because the queue was full.
    dropped: u64,
    /// Flushes asked for, and the last one the worker has done (exported what was queued when
    /// it was asked).
    flushes_asked: u64,
    flushes_done: u64,
    /// The last export's failure, for the flush that waits on it.
    failure: Option<String>,
    shutdown: bool,
    stopped: bool,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Batch {
    /// A processor exporting through `exporter`, which is given `resource` first.
    pub(super) fn new<E: SpanExporter + 'static>(exporter: E, resource: &Resource) -> Self {
        Batch::with_delay(exporter, resource, DELAY)
    }

    /// The same, exporting a batch that is not full after `delay`.
    fn with_delay<E: SpanExporter + 'static>(
        mut exporter: E,
        resource: &Resource,
        delay: Duration,
    ) -> Self {
        exporter.set_resource(resource);
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                queue: Vec::with_capacity(BATCH),
                ..State::default()
            }),
            wake: Condvar::new(),
            exported: Condvar::new(),
        });
        let for_worker = Arc::clone(&shared);
        let worker = std::thread::Builder::new()
            .name("steadfast-otel-spans".into())
            .spawn(move || run(&for_worker, &exporter, delay))
            .ok();
        if worker.is_none() {
            // No thread, no export: spans are dropped rather than queued for ever.
            lock(&shared.state).stopped = true;
        }
        Batch {
            shared,
            worker: Mutex::new(worker),
        }
    }

    /// Spans dropped so far because the queue was full.
    #[cfg(test)]
    pub(super) fn dropped(&self) -> u64 {
        lock(&self.shared.state).dropped
    }
}

fn run<E: SpanExporter>(shared: &Shared, exporter: &E, delay: Duration) {
    loop {
        let (batch, flush, shutdown) = {
            let mut state = lock(&shared.state);
            let deadline = Instant::now() + delay;
            while state.queue.len() < BATCH
                && state.flushes_asked == state.flushes_done
                && !state.shutdown
            {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                state = shared
                    .wake
                    .wait_timeout(state, left)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
            let batch = std::mem::replace(&mut state.queue, Vec::with_capacity(BATCH));
            (batch, state.flushes_asked, state.shutdown)
        };
        let failure = if batch.is_empty() {
            None
        } else {
            futures_executor::block_on(exporter.export(batch))
                .err()
                .map(|e| e.to_string())
        };
        if shutdown {
            let result = exporter.shutdown_with_timeout(WAIT);
            let mut state = lock(&shared.state);
            state.failure = failure.or_else(|| result.err().map(|e| e.to_string()));
            state.flushes_done = flush;
            state.stopped = true;
            shared.exported.notify_all();
            return;
        }
        let mut state = lock(&shared.state);
        if failure.is_some() {
            state.failure = failure;
        }
        state.flushes_done = flush;
        shared.exported.notify_all();
    }
}

impl Batch {
    /// Waits until the worker has done flush `asked` (or stopped), up to [`WAIT`].
    fn wait_for(&self, mut state: MutexGuard<'_, State>, asked: u64) -> OTelSdkResult {
        let deadline = Instant::now() + WAIT;
        while state.flushes_done < asked && !state.stopped {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(OTelSdkError::Timeout(WAIT));
            }
            state = self
                .shared
                .exported
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        match state.failure.take() {
            Some(e) => Err(OTelSdkError::InternalFailure(e)),
            None => Ok(()),
        }
    }
}

impl SpanProcessor for Batch {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        let mut state = lock(&self.shared.state);
        if state.shutdown || state.stopped {
            return;
        }
        if state.queue.len() >= MAX_QUEUE {
            state.dropped += 1;
            return;
        }
        state.queue.push(span);
        if state.queue.len() == BATCH {
            self.shared.wake.notify_one();
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        let mut state = lock(&self.shared.state);
        if state.shutdown || state.stopped {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        state.flushes_asked += 1;
        let asked = state.flushes_asked;
        self.shared.wake.notify_one();
        self.wait_for(state, asked)
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        let asked = {
            let mut state = lock(&self.shared.state);
            if state.shutdown {
                return Err(OTelSdkError::AlreadyShutdown);
            }
            state.shutdown = true;
            state.flushes_asked += 1;
            self.shared.wake.notify_one();
            state.flushes_asked
        };
        let result = self.wait_for(lock(&self.shared.state), asked);
        let worker = self
            .worker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(worker) = worker {
            // The worker has stopped (or the wait timed out and it is stuck in the exporter,
            // which a join would wait on for ever: then it is left to finish on its own).
            if lock(&self.shared.state).stopped {
                let _ = worker.join();
            }
        }
        result
    }
}

impl fmt::Debug for Batch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.shared.state);
        f.debug_struct("Batch")
            .field("queued", &state.queue.len())
            .field("dropped", &state.dropped)
            .field("shutdown", &state.shutdown)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;

    use opentelemetry::trace::{SpanContext, SpanKind, Status};
    use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};

    use super::*;

    /// Longer than any test runs: only a full batch, a flush or the shutdown export.
    const NEVER: Duration = Duration::from_secs(3600);
    /// A guard against a hang, not a measurement.
    const GUARD: Duration = Duration::from_secs(60);

    /// Counts what it is given; reports each export; fails when told to; holds its first export
    /// until the gate opens, when it has one.
    #[derive(Debug, Clone, Default)]
    struct Counting {
        spans: Arc<AtomicUsize>,
        exports: Arc<AtomicUsize>,
        fail: bool,
        entered: Option<Arc<Mutex<mpsc::Sender<usize>>>>,
        gate: Option<Arc<(Mutex<bool>, Condvar)>>,
    }

    impl SpanExporter for Counting {
        async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
            if let Some(entered) = &self.entered {
                entered.lock().unwrap().send(batch.len()).unwrap();
            }
            if let Some(gate) = &self.gate {
                let (open, cv) = &**gate;
                let mut open = open.lock().unwrap();
                while !*open {
                    open = cv.wait(open).unwrap();
                }
            }
            self.spans.fetch_add(batch.len(), Ordering::SeqCst);
            self.exports.fetch_add(1, Ordering::SeqCst);
            if self.fail {
                Err(OTelSdkError::InternalFailure("collector down".into()))
            } else {
                Ok(())
            }
        }
    }

    fn span() -> SpanData {
        SpanData {
            span_context: SpanContext::empty_context(),
            parent_span_id: opentelemetry::trace::SpanId::INVALID,
            parent_span_is_remote: false,
            span_kind: SpanKind::Internal,
            name: "s".into(),
            start_time: std::time::SystemTime::UNIX_EPOCH,
            end_time: std::time::SystemTime::UNIX_EPOCH,
            attributes: Vec::new(),
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: Status::Unset,
            instrumentation_scope: opentelemetry::InstrumentationScope::default(),
        }
    }

    fn resource() -> Resource {
        Resource::builder_empty().build()
    }

    #[test]
    fn flush_exports_what_is_queued_and_a_full_batch_goes_without_one() {
        let (tx, rx) = mpsc::channel();
        let exporter = Counting {
            entered: Some(Arc::new(Mutex::new(tx))),
            ..Counting::default()
        };
        let batch = Batch::with_delay(exporter.clone(), &resource(), NEVER);
        for _ in 0..3 {
            batch.on_end(span());
        }
        batch.force_flush().unwrap();
        assert_eq!(rx.recv_timeout(GUARD).unwrap(), 3);
        assert_eq!(exporter.spans.load(Ordering::SeqCst), 3);
        // A full batch wakes the worker, with no flush and the delay far off.
        for _ in 0..BATCH {
            batch.on_end(span());
        }
        assert_eq!(rx.recv_timeout(GUARD).unwrap(), BATCH);
        batch.shutdown().unwrap();
        assert_eq!(exporter.spans.load(Ordering::SeqCst), 3 + BATCH);
        assert!(matches!(
            batch.shutdown(),
            Err(OTelSdkError::AlreadyShutdown)
        ));
        assert!(matches!(
            batch.force_flush(),
            Err(OTelSdkError::AlreadyShutdown)
        ));
        batch.on_end(span());
        assert_eq!(exporter.spans.load(Ordering::SeqCst), 3 + BATCH);
    }

    #[test]
    fn a_full_queue_drops_and_counts_and_shutdown_exports_the_rest() {
        let (tx, rx) = mpsc::channel();
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let exporter = Counting {
            entered: Some(Arc::new(Mutex::new(tx))),
            gate: Some(Arc::clone(&gate)),
            ..Counting::default()
        };
        let batch = Batch::with_delay(exporter.clone(), &resource(), NEVER);
        // The first full batch is taken and held in the exporter...
        for _ in 0..BATCH {
            batch.on_end(span());
        }
        assert_eq!(rx.recv_timeout(GUARD).unwrap(), BATCH);
        // ... so the queue fills: its bound holds, and the rest is dropped and counted.
        for _ in 0..(MAX_QUEUE + 10) {
            batch.on_end(span());
        }
        assert_eq!(batch.dropped(), 10);
        *gate.0.lock().unwrap() = true;
        gate.1.notify_all();
        batch.shutdown().unwrap();
        assert_eq!(exporter.spans.load(Ordering::SeqCst), BATCH + MAX_QUEUE);
    }

    #[test]
    fn a_failed_export_is_the_flushs_error_once() {
        let exporter = Counting {
            fail: true,
            ..Counting::default()
        };
        let batch = Batch::with_delay(exporter.clone(), &resource(), NEVER);
        batch.on_end(span());
        let e = batch.force_flush().unwrap_err();
        assert!(e.to_string().contains("collector down"), "{e}");
        batch.force_flush().unwrap();
        assert_eq!(exporter.exports.load(Ordering::SeqCst), 1);
    }
}
