//! The embeddable server: listener, connection loop, shared state and the public handle.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::engine::Engine;
use crate::error::SimError;
use crate::journal::{Journal, JournalEntry};
use crate::provider::Dialect;
use crate::scenario::Scenario;

/// State shared by all connections.
#[derive(Debug)]
pub(crate) struct Shared {
    engine: RwLock<Arc<Engine>>,
    pub(crate) journal: Journal,
    pub(crate) seq: AtomicU64,
    counts: [AtomicU64; Dialect::ALL.len()],
}

impl Shared {
    fn new(scenario: Scenario) -> Self {
        Shared {
            engine: RwLock::new(Arc::new(Engine::new(scenario))),
            journal: Journal::default(),
            seq: AtomicU64::new(0),
            counts: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    pub(crate) fn engine(&self) -> Arc<Engine> {
        self.engine
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(crate) fn set_scenario(&self, scenario: Scenario) {
        let engine = Arc::new(Engine::new(scenario));
        *self.engine.write().unwrap_or_else(|p| p.into_inner()) = engine;
    }

    pub(crate) fn count(&self, provider: Dialect) {
        if let Some(c) = self.counts.get(provider.index()) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn requests_for(&self, provider: Dialect) -> usize {
        self.counts
            .get(provider.index())
            .map_or(0, |c| c.load(Ordering::Relaxed) as usize)
    }

    /// Clears the journal and every counter (per-provider and per-rule).
    pub(crate) fn reset(&self) {
        self.journal.clear();
        self.seq.store(0, Ordering::Relaxed);
        for c in &self.counts {
            c.store(0, Ordering::Relaxed);
        }
        let scenario = self.engine().scenario.clone();
        self.set_scenario(scenario);
    }
}

/// Marker put in a response's extensions to close the connection without answering.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ResetConnection;

/// The error hyper sees for a reset: it closes the connection without writing a response.
#[derive(Debug, thiserror::Error)]
#[error("simulated connection reset")]
struct Reset;

/// A running simulator. It listens until [`Simulator::shutdown`] is awaited or the value is
/// dropped (dropping stops accepting and closes open connections).
///
/// ```no_run
/// # async fn demo() -> Result<(), steadfast_sim::SimError> {
/// use steadfast_sim::{Dialect, Scenario, Simulator};
/// let sim = Simulator::start(Scenario::new()).await?;
/// let base = sim.base_url(Dialect::OpenAi); // http://127.0.0.1:PORT/openai/v1
/// # let _ = base; Ok(()) }
/// ```
#[derive(Debug)]
pub struct Simulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl Simulator {
    /// Starts a simulator on `127.0.0.1:0` (a free port).
    ///
    /// # Errors
    /// [`SimError::Bind`] if no loopback port can be bound.
    pub async fn start(scenario: Scenario) -> Result<Simulator, SimError> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), scenario).await
    }

    /// Starts a simulator on `addr`.
    ///
    /// # Errors
    /// [`SimError::Bind`] if the address cannot be bound.
    pub async fn start_on(addr: SocketAddr, scenario: Scenario) -> Result<Simulator, SimError> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| SimError::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| SimError::Bind { addr, source })?;
        let shared = Arc::new(Shared::new(scenario));
        let router = crate::control::router(shared.clone());
        let (tx, rx) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, router, rx));
        tracing::debug!(%local, "steadfast-sim listening");
        Ok(Simulator {
            addr: local,
            shared,
            shutdown: tx,
            task: Some(task),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The root URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The base URL for `provider` in its official SDK's convention (see
    /// [`Dialect::base_path`]), e.g. `http://127.0.0.1:41234/openai/v1`.
    pub fn base_url(&self, provider: Dialect) -> String {
        format!("http://{}{}", self.addr, provider.base_path())
    }

    /// Every request received since start or the last [`Simulator::reset`] (bounded to the most
    /// recent 100,000).
    pub fn journal(&self) -> Vec<JournalEntry> {
        self.shared.journal.snapshot()
    }

    /// How many requests were routed to `provider` since start or the last reset.
    pub fn requests_for(&self, provider: Dialect) -> usize {
        self.shared.requests_for(provider)
    }

    /// Clears the journal, the request counters and the scenario's rule counters.
    pub fn reset(&self) {
        self.shared.reset();
    }

    /// Replaces the scenario (rule counters start again from zero; the journal is kept).
    pub fn set_scenario(&self, scenario: Scenario) {
        self.shared.set_scenario(scenario);
    }

    /// The current scenario.
    pub fn scenario(&self) -> Scenario {
        self.shared.engine().scenario.clone()
    }

    /// Stops accepting, closes open connections and waits for the listener task to end.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

async fn accept_loop(listener: TcpListener, router: Router, mut stop: watch::Receiver<bool>) {
    loop {
        let accepted = tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(error) => {
                // Typically EMFILE under load: back off briefly instead of spinning.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: http::Request<Incoming>| {
                let mut router = router.clone();
                async move {
                    let resp = match tower_service::Service::call(&mut router, req).await {
                        Ok(resp) => resp,
                        Err(never) => match never {},
                    };
                    if resp.extensions().get::<ResetConnection>().is_some() {
                        return Err(Reset);
                    }
                    Ok::<http::Response<Body>, Reset>(resp)
                }
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.keep_alive(true).header_read_timeout(None);
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = conn => {}
                _ = stop.changed() => {}
            }
        });
    }
}
