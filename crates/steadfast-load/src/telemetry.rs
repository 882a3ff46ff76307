//! What listens to the library's telemetry in a worker: nothing, an OpenTelemetry pipeline
//! exporting to a no-op, or one exporting to the SDK's in-memory exporter — to measure what the
//! spans cost.

use std::sync::Arc;

use anyhow::Result;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData, SpanExporter};
use tracing_subscriber::layer::SubscriberExt as _;

/// What listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Telemetry {
    /// No subscriber at all (the default).
    #[default]
    None,
    /// `steadfast::telemetry::otel::layer` into a batch span processor whose exporter drops
    /// everything.
    Noop,
    /// The same layer into a simple processor and the SDK's in-memory exporter (every span kept).
    Memory,
}

impl Telemetry {
    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Telemetry::None => "none",
            Telemetry::Noop => "noop",
            Telemetry::Memory => "memory",
        }
    }
}

#[derive(Debug)]
struct Discard;

impl SpanExporter for Discard {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        drop(batch);
        Ok(())
    }
}

/// Keeps the pipeline alive for the worker's life.
#[derive(Debug)]
pub struct Installed {
    _provider: Option<Arc<SdkTracerProvider>>,
}

/// Installs the global subscriber for `t`.
///
/// # Errors
/// When a global subscriber is already set.
pub fn install(t: Telemetry) -> Result<Installed> {
    let provider = match t {
        Telemetry::None => return Ok(Installed { _provider: None }),
        Telemetry::Noop => SdkTracerProvider::builder()
            .with_batch_exporter(Discard)
            .build(),
        Telemetry::Memory => SdkTracerProvider::builder()
            .with_simple_exporter(InMemorySpanExporter::default())
            .build(),
    };
    let filter =
        tracing_subscriber::filter::Targets::new().with_target("steadfast", tracing::Level::INFO);
    let layer = steadfast::telemetry::otel::layer(&provider);
    tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(filter).with(layer),
    )?;
    Ok(Installed {
        _provider: Some(Arc::new(provider)),
    })
}
