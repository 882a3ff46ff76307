//! What listens to the library's telemetry in a worker: nothing, an OpenTelemetry pipeline
//! exporting to a no-op, or one exporting to the SDK's in-memory exporter — to measure what the
//! spans cost.

use std::sync::Arc;

use anyhow::Result;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData, SpanExporter};
use steadfast::telemetry::otel::Spans;
use tracing_subscriber::layer::SubscriberExt as _;

/// What listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Telemetry {
    /// No subscriber at all (the default).
    #[default]
    None,
    /// steadfast's span layer (`steadfast::telemetry::otel::Spans`, what `Otlp::install` uses)
    /// into the SDK's batch span processor, whose exporter drops everything.
    Noop,
    /// The same layer and processor into the SDK's in-memory exporter (every span kept).
    Memory,
    /// `tracing-opentelemetry` (`steadfast::telemetry::otel::layer`) over an SDK tracer provider
    /// with the batch processor and the same dropping exporter: the other path, for comparison.
    NoopTracingOtel,
}

impl Telemetry {
    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Telemetry::None => "none",
            Telemetry::Noop => "noop",
            Telemetry::Memory => "memory",
            Telemetry::NoopTracingOtel => "noop-tracing-otel",
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
    _spans: Option<Spans>,
}

/// Installs the global subscriber for `t`.
///
/// # Errors
/// When a global subscriber is already set.
pub fn install(t: Telemetry) -> Result<Installed> {
    let filter =
        tracing_subscriber::filter::Targets::new().with_target("steadfast", tracing::Level::INFO);
    let registry = tracing_subscriber::registry().with(filter);
    let resource = || Resource::builder().build();
    match t {
        Telemetry::None => Ok(Installed {
            _provider: None,
            _spans: None,
        }),
        Telemetry::Noop | Telemetry::Memory => {
            let spans = if t == Telemetry::Noop {
                Spans::batch(Discard, resource())
            } else {
                Spans::batch(InMemorySpanExporter::default(), resource())
            };
            tracing::subscriber::set_global_default(registry.with(spans.layer()))?;
            Ok(Installed {
                _provider: None,
                _spans: Some(spans),
            })
        }
        Telemetry::NoopTracingOtel => {
            let provider = SdkTracerProvider::builder()
                .with_batch_exporter(Discard)
                .build();
            let layer = steadfast::telemetry::otel::layer(&provider);
            tracing::subscriber::set_global_default(registry.with(layer))?;
            Ok(Installed {
                _provider: Some(Arc::new(provider)),
                _spans: None,
            })
        }
    }
}
