//! Logging on stderr and, with `--otlp` (or `OTEL_EXPORTER_OTLP_ENDPOINT`), OpenTelemetry export
//! of the calls' spans and metrics.

use std::sync::{Arc, OnceLock};

use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt as _;

/// The recorder every call of this run carries, when exporting.
static RECORDER: OnceLock<Arc<dyn steadfast::telemetry::Recorder>> = OnceLock::new();

/// The recorder for the calls of this run, if exporting.
pub(crate) fn recorder() -> Option<Arc<dyn steadfast::telemetry::Recorder>> {
    RECORDER.get().cloned()
}

/// Gives `call` this run's recorder, if exporting.
pub(crate) fn observed(call: steadfast::Call) -> steadfast::Call {
    match recorder() {
        Some(r) => call.recorder(r),
        None => call,
    }
}

/// What must live until the end of the run: the exporters, flushed when dropped.
pub(crate) struct Telemetry {
    #[cfg(feature = "otel")]
    providers: Option<(
        steadfast::telemetry::otel::Spans,
        opentelemetry_sdk::metrics::SdkMeterProvider,
    )>,
}

impl Telemetry {
    /// Exports what is left and stops the exporters; says so on stderr when that failed.
    pub(crate) fn finish(self) {
        #[cfg(feature = "otel")]
        if let Some((tracer, meter)) = self.providers {
            let metrics = meter.shutdown().map_err(anyhow::Error::from);
            if let Err(e) = tracer.shutdown().map_err(anyhow::Error::from).and(metrics) {
                eprintln!("warning: the OpenTelemetry export did not complete: {e}");
            }
        }
    }
}

/// Logging on stderr at the `-v` level (`STEADFAST_LOG` overrides), plus OTLP export to
/// `otlp` when given.
pub(crate) fn init(verbose: u8, otlp: Option<&str>) -> anyhow::Result<Telemetry> {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("STEADFAST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let logs = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(filter);
    let Some(endpoint) = otlp.filter(|e| !e.trim().is_empty()) else {
        let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry().with(logs));
        return Ok(Telemetry {
            #[cfg(feature = "otel")]
            providers: None,
        });
    };
    export(endpoint, logs)
}

#[cfg(feature = "otel")]
fn export<L>(endpoint: &str, logs: L) -> anyhow::Result<Telemetry>
where
    L: tracing_subscriber::Layer<tracing_subscriber::Registry> + Send + Sync + 'static,
{
    use opentelemetry::metrics::MeterProvider as _;
    use steadfast::telemetry::otel;

    let otlp = otel::Otlp::new(endpoint).service_name("steadfast-cli");
    // steadfast's own span layer, batched: what `Otlp::install` sets up.
    let tracer = otlp.spans()?;
    let meter = otlp.meter_provider()?;
    let spans = tracer.layer().with_filter(
        tracing_subscriber::filter::Targets::new().with_target("steadfast", tracing::Level::INFO),
    );
    let _ = tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(logs).with(spans),
    );
    let _ = RECORDER.set(Arc::new(otel::OtelRecorder::new(&meter.meter("steadfast"))));
    Ok(Telemetry {
        providers: Some((tracer, meter)),
    })
}

#[cfg(not(feature = "otel"))]
fn export<L>(endpoint: &str, _logs: L) -> anyhow::Result<Telemetry> {
    anyhow::bail!(
        "cannot export to {endpoint}: this steadfast was built without its `otel` feature"
    )
}
