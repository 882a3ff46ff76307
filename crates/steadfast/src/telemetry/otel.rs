//! OpenTelemetry export (feature `otel`): `tracing` layers that turn steadfast's spans into
//! OpenTelemetry spans, OTLP/HTTP exporters for spans and metrics, and [`OtelRecorder`], the
//! metrics of the GenAI conventions on an OpenTelemetry meter.
//!
//! For an application with no telemetry of its own, one call exports everything to a collector:
//!
//! ```no_run
//! # fn run() -> Result<(), steadfast::Error> {
//! use steadfast::telemetry::otel::Otlp;
//!
//! // OTEL_EXPORTER_OTLP_ENDPOINT, or the collector's default http://localhost:4318.
//! let otel = Otlp::from_env().unwrap_or_else(|| Otlp::new("http://localhost:4318")).install()?;
//! let call = steadfast::llm::call("openai:gpt-4o-mini")?.recorder(otel.recorder());
//! // … calls …
//! otel.shutdown()?; // flushes (dropping the guard flushes too)
//! # Ok(()) }
//! ```
//!
//! Two layers make the spans, with the same names, kinds, parents, attributes, events and
//! status (the tests export every story through both and compare):
//!
//! - [`Spans`] (what [`Otlp::install`] uses): steadfast's own layer, which hands each closed span
//!   straight to a span processor (its own batch processor in front of an exporter, or any SDK
//!   processor). It is the cheap one — a third less per span, export included — but it has no
//!   sampler and does not make a span's context current while it is entered.
//! - [`layer`]: `tracing-opentelemetry` over an SDK [`SdkTracerProvider`], for an application
//!   that already has a tracer provider (its sampler, processors and resource) or needs
//!   `opentelemetry::Context::current()` inside a call.
//!
//! An application that already has a `tracing` subscriber adds one of them to it, and an
//! [`OtelRecorder`] of its meter to its calls; nothing here sets global state unless
//! [`Otlp::install`] is called.
//!
//! The exporters speak OTLP/HTTP with protobuf bodies (`{endpoint}/v1/traces`,
//! `{endpoint}/v1/metrics`) over steadfast's own HTTP client, from the SDK's background threads.
//! Both layers map the named events (`steadfast.retry.wait`, …) to events of the span they happen
//! in (see [the choice](crate::telemetry#events)), and the span attributes carry the same totals.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Gauge, Histogram, Meter, MeterProvider as _};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_http::{HttpClient, HttpError};
use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{SdkTracerProvider, Tracer};
use tracing::Subscriber;
use tracing_subscriber::registry::LookupSpan;

use super::metrics::{BreakerMeasurement, FallbackMeasurement, Measurement, Recorder, state_name};
use crate::error::{Error, ErrorKind};

mod batch;
mod spans;
pub use spans::{Spans, SpansLayer};

/// A `tracing-opentelemetry` layer exporting steadfast's spans (and any others it sees) through
/// `provider`'s tracer — for an application with its own tracer provider; [`Spans`] is the
/// cheaper path.
///
/// It does not make a span's OpenTelemetry context current when the span is entered
/// (`with_context_activation(false)`): a call's futures enter their spans on every poll, and
/// parent-child links do not need it. Nor does it time the polls (`busy_ns`, `idle_ns`). Code that reads `opentelemetry::Context::current()` inside
/// a call (to inject trace headers, say) should build its own layer with it on.
pub fn layer<S>(
    provider: &SdkTracerProvider,
) -> tracing_opentelemetry::OpenTelemetryLayer<S, Tracer>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("steadfast"))
        .with_location(false)
        .with_threads(false)
        // `target` is no convention's attribute (the scope names steadfast).
        .with_target(false)
        .with_context_activation(false)
        // `busy_ns`/`idle_ns` are no convention's attributes, and timing every poll costs two
        // clock reads per enter and exit.
        .with_tracked_inactivity(false)
}

/// Where and how to export over OTLP/HTTP. `Debug` and errors show the endpoint with any user
/// info or key-like query value replaced by `REDACTED`.
#[derive(Clone)]
pub struct Otlp {
    endpoint: String,
    service_name: String,
    metrics_interval: Duration,
    timeout: Duration,
}

impl fmt::Debug for Otlp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Otlp")
            .field("endpoint", &super::redact_url(&self.endpoint))
            .field("service_name", &self.service_name)
            .field("metrics_interval", &self.metrics_interval)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Otlp {
    /// Exports to the collector at `endpoint`, a base URL (`http://localhost:4318`): spans go to
    /// `{endpoint}/v1/traces`, metrics to `{endpoint}/v1/metrics`.
    ///
    /// # Default
    /// Service name `steadfast` (`OTEL_SERVICE_NAME` when set), metrics every 10 s, a 10 s
    /// timeout per export.
    pub fn new(endpoint: impl Into<String>) -> Self {
        Otlp {
            endpoint: endpoint.into().trim_end_matches('/').to_string(),
            service_name: std::env::var("OTEL_SERVICE_NAME")
                .ok()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "steadfast".to_string()),
            metrics_interval: Duration::from_secs(10),
            timeout: Duration::from_secs(10),
        }
    }

    /// From `OTEL_EXPORTER_OTLP_ENDPOINT`, when it is set and not empty.
    pub fn from_env() -> Option<Self> {
        std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
            .ok()
            .filter(|s| !s.trim().is_empty())
            .map(Otlp::new)
    }

    /// The `service.name` resource attribute.
    #[must_use]
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = name.into();
        self
    }

    /// How often metrics are exported.
    #[must_use]
    pub fn metrics_interval(mut self, every: Duration) -> Self {
        self.metrics_interval = every;
        self
    }

    /// The endpoint's base URL, as given (credentials in it included).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn resource(&self) -> Resource {
        Resource::builder()
            .with_service_name(self.service_name.clone())
            .build()
    }

    fn client(&self) -> Result<BlockingHttp, Error> {
        reqwest::blocking::Client::builder()
            .timeout(self.timeout)
            .build()
            .map(BlockingHttp)
            .map_err(|e| Error::config(format!("cannot build the OTLP HTTP client: {e}")))
    }

    fn check(&self) -> Result<(), Error> {
        let ok = self
            .endpoint
            .parse::<http::Uri>()
            .is_ok_and(|u| matches!(u.scheme_str(), Some("http" | "https")) && u.host().is_some());
        if ok {
            Ok(())
        } else {
            Err(Error::config(format!(
                "invalid OTLP endpoint `{}`: expected an http(s) URL such as http://localhost:4318",
                super::redact_url(&self.endpoint)
            )))
        }
    }

    /// A tracer provider exporting spans in batches to `{endpoint}/v1/traces`.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] for an endpoint that is not an http(s) URL.
    pub fn tracer_provider(&self) -> Result<SdkTracerProvider, Error> {
        let exporter = self.span_exporter()?;
        Ok(SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(self.resource())
            .build())
    }

    /// A span pipeline exporting spans in batches to `{endpoint}/v1/traces`, through steadfast's
    /// own layer ([`Spans`]) rather than an SDK tracer: what [`install`](Otlp::install) uses.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] for an endpoint that is not an http(s) URL.
    pub fn spans(&self) -> Result<Spans, Error> {
        Ok(Spans::batch(self.span_exporter()?, self.resource()))
    }

    fn span_exporter(&self) -> Result<opentelemetry_otlp::SpanExporter, Error> {
        self.check()?;
        opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(self.client()?)
            .with_endpoint(format!("{}/v1/traces", self.endpoint))
            .with_timeout(self.timeout)
            .build()
            .map_err(|e| Error::config(format!("cannot build the OTLP span exporter: {e}")))
    }

    /// A meter provider exporting metrics to `{endpoint}/v1/metrics` every interval.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] for an endpoint that is not an http(s) URL.
    pub fn meter_provider(&self) -> Result<SdkMeterProvider, Error> {
        self.check()?;
        let exporter = opentelemetry_otlp::MetricExporter::builder()
            .with_http()
            .with_http_client(self.client()?)
            .with_endpoint(format!("{}/v1/metrics", self.endpoint))
            .with_timeout(self.timeout)
            .build()
            .map_err(|e| Error::config(format!("cannot build the OTLP metric exporter: {e}")))?;
        let reader = PeriodicReader::builder(exporter)
            .with_interval(self.metrics_interval)
            .build();
        Ok(SdkMeterProvider::builder()
            .with_reader(reader)
            .with_resource(self.resource())
            .build())
    }

    /// Sets the process's global `tracing` subscriber to one exporting the `steadfast` target's
    /// spans (INFO and above) through [`spans`](Otlp::spans), and builds the meter provider; the
    /// guard holds both, gives an [`OtelRecorder`] for calls, and flushes when dropped or
    /// [shut down](OtelGuard::shutdown).
    ///
    /// # Errors
    /// [`ErrorKind::Config`] for a bad endpoint, or when the process already has a global
    /// subscriber (then add [`layer`] to it instead).
    pub fn install(self) -> Result<OtelGuard, Error> {
        use tracing_subscriber::layer::SubscriberExt as _;
        let spans = self.spans()?;
        let meter = self.meter_provider()?;
        let filter = tracing_subscriber::filter::Targets::new()
            .with_target("steadfast", tracing::Level::INFO);
        // A global filter (not a per-layer one): callsites of other targets are never enabled,
        // and the spans pay no per-layer filter bookkeeping.
        let subscriber = tracing_subscriber::registry()
            .with(filter)
            .with(spans.layer());
        tracing::subscriber::set_global_default(subscriber).map_err(|e| {
            Error::config(format!(
                "cannot install the OpenTelemetry subscriber ({e}): add steadfast::telemetry::otel::layer to yours"
            ))
        })?;
        let recorder = Arc::new(OtelRecorder::new(&meter.meter("steadfast")));
        Ok(OtelGuard {
            spans,
            meter,
            recorder,
        })
    }
}

/// The providers [`Otlp::install`] set up; flushes them when dropped.
#[must_use = "dropping the guard flushes and stops the exporters"]
pub struct OtelGuard {
    spans: Spans,
    meter: SdkMeterProvider,
    recorder: Arc<OtelRecorder>,
}

impl fmt::Debug for OtelGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtelGuard").finish_non_exhaustive()
    }
}

impl OtelGuard {
    /// A recorder of the conventions' metrics on the installed meter, for
    /// [`Call::recorder`](crate::Call::recorder).
    pub fn recorder(&self) -> Arc<dyn Recorder> {
        Arc::clone(&self.recorder) as Arc<dyn Recorder>
    }

    /// The span pipeline.
    pub fn spans(&self) -> &Spans {
        &self.spans
    }

    /// The meter provider.
    pub fn meter_provider(&self) -> &SdkMeterProvider {
        &self.meter
    }

    /// Exports what is buffered now.
    ///
    /// # Errors
    /// [`ErrorKind::Connect`] when an export failed.
    pub fn flush(&self) -> Result<(), Error> {
        let traces = self.spans.force_flush();
        let metrics = self.meter.force_flush().map_err(export_error);
        traces.and(metrics)
    }

    /// Exports what is buffered and stops the exporters.
    ///
    /// # Errors
    /// [`ErrorKind::Connect`] when the last export failed.
    pub fn shutdown(self) -> Result<(), Error> {
        let traces = self.spans.shutdown();
        let metrics = self.meter.shutdown().map_err(export_error);
        traces.and(metrics)
    }
}

impl Drop for OtelGuard {
    fn drop(&mut self) {
        // Already shut down (by `shutdown`) is an error here, and nothing to report.
        let _ = self.spans.shutdown();
        let _ = self.meter.shutdown();
    }
}

fn export_error(e: opentelemetry_sdk::error::OTelSdkError) -> Error {
    Error::new(
        ErrorKind::Connect,
        format!("OpenTelemetry export failed: {e}"),
    )
}

/// The OTLP exporters' HTTP client: steadfast's reqwest, blocking (the SDK exports from its own
/// threads, outside any async runtime).
#[derive(Debug, Clone)]
struct BlockingHttp(reqwest::blocking::Client);

impl HttpClient for BlockingHttp {
    fn send_bytes<'a, 'b>(
        &'a self,
        request: http::Request<Bytes>,
    ) -> Pin<Box<dyn Future<Output = Result<http::Response<Bytes>, HttpError>> + Send + 'b>>
    where
        'a: 'b,
        Self: 'b,
    {
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let url = parts.uri.to_string();
            let mut resp = self
                .0
                .request(parts.method, url)
                .headers(parts.headers)
                .body(body)
                .send()
                // The URL may hold credentials: the error that reaches logs leaves it out.
                .map_err(reqwest::Error::without_url)?;
            let status = resp.status();
            let headers = std::mem::take(resp.headers_mut());
            let body = resp.bytes().map_err(reqwest::Error::without_url)?;
            let mut out = http::Response::builder().status(status);
            if let Some(h) = out.headers_mut() {
                *h = headers;
            }
            Ok(out.body(body)?)
        })
    }
}

/// The GenAI conventions' client metrics, and ours, on an OpenTelemetry meter:
///
/// | metric | instrument | unit | attributes |
/// |---|---|---|---|
/// | `gen_ai.client.operation.duration` | histogram | `s` | `gen_ai.operation.name`, `gen_ai.provider.name`, `gen_ai.request.model`, `gen_ai.response.model`, `server.address`, `server.port`, `error.type` |
/// | `gen_ai.client.token.usage` | histogram | `{token}` | the same (no `error.type`) and `gen_ai.token.type` (`input`, `output`) |
/// | `gen_ai.client.operation.time_to_first_chunk` | histogram | `s` | the same as duration (streams) |
/// | `steadfast.client.attempts` | histogram | `{attempt}` | the same as duration |
/// | `steadfast.client.retries` | counter | `{retry}` | the same as duration |
/// | `steadfast.client.wait.duration` | histogram | `s` | the same as duration (when it waited) |
/// | `steadfast.client.fallbacks` | counter | `{target}` | `steadfast.fallback.target`, `steadfast.fallback.position`, `steadfast.fallback.outcome` (`won`, `failed`), `error.type` |
/// | `steadfast.client.breaker.state` | gauge | `1` | `steadfast.breaker.target` (`provider:model`), `server.address`, `steadfast.breaker.state` (`closed`, `open`, `half_open`) |
/// | `steadfast.client.breaker.transitions` | counter | `{transition}` | `steadfast.breaker.target`, `server.address`, `steadfast.breaker.from`, `steadfast.breaker.to`, `steadfast.breaker.origin` (`local`, `remote`) |
///
/// Bucket boundaries are the conventions' for duration and tokens.
///
/// `steadfast.client.breaker.state` is a state set: on each transition of a target's breaker
/// (reported by [`Breakers::recorder`](crate::resilient::Breakers::recorder)) the series of the
/// new state reads 1 and that of the old state 0, so exactly one state of a target that has
/// changed state reads 1. A target whose breaker never left `closed` has no series.
/// `origin` `remote` marks a transition decided by another process (shared breakers).
#[derive(Debug, Clone)]
pub struct OtelRecorder {
    duration: Histogram<f64>,
    tokens: Histogram<u64>,
    ttfc: Histogram<f64>,
    attempts: Histogram<u64>,
    retries: Counter<u64>,
    wait: Histogram<f64>,
    fallbacks: Counter<u64>,
    breaker_state: Gauge<i64>,
    breaker_transitions: Counter<u64>,
}

const DURATION_BUCKETS: [f64; 14] = [
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];
const TOKEN_BUCKETS: [f64; 14] = [
    1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0,
    16777216.0, 67108864.0,
];

impl OtelRecorder {
    /// The instruments, on `meter`.
    pub fn new(meter: &Meter) -> Self {
        OtelRecorder {
            duration: meter
                .f64_histogram("gen_ai.client.operation.duration")
                .with_unit("s")
                .with_description("GenAI operation duration.")
                .with_boundaries(DURATION_BUCKETS.to_vec())
                .build(),
            tokens: meter
                .u64_histogram("gen_ai.client.token.usage")
                .with_unit("{token}")
                .with_description("Number of input and output tokens used.")
                .with_boundaries(TOKEN_BUCKETS.to_vec())
                .build(),
            ttfc: meter
                .f64_histogram("gen_ai.client.operation.time_to_first_chunk")
                .with_unit("s")
                .with_description("Time to receive the first chunk of a streamed response.")
                .with_boundaries(DURATION_BUCKETS.to_vec())
                .build(),
            attempts: meter
                .u64_histogram("steadfast.client.attempts")
                .with_unit("{attempt}")
                .with_description("HTTP attempts per GenAI operation.")
                .with_boundaries(vec![1.0, 2.0, 3.0, 4.0, 5.0, 8.0, 16.0])
                .build(),
            retries: meter
                .u64_counter("steadfast.client.retries")
                .with_unit("{retry}")
                .with_description("Retried HTTP attempts.")
                .build(),
            wait: meter
                .f64_histogram("steadfast.client.wait.duration")
                .with_unit("s")
                .with_description("Time a GenAI operation waited between its attempts.")
                .with_boundaries(DURATION_BUCKETS.to_vec())
                .build(),
            fallbacks: meter
                .u64_counter("steadfast.client.fallbacks")
                .with_unit("{target}")
                .with_description("Targets called by fallback chains, by outcome.")
                .build(),
            breaker_state: meter
                .i64_gauge("steadfast.client.breaker.state")
                .with_unit("1")
                .with_description(
                    "A target's circuit-breaker state: 1 for its current state, 0 for the one it left.",
                )
                .build(),
            breaker_transitions: meter
                .u64_counter("steadfast.client.breaker.transitions")
                .with_unit("{transition}")
                .with_description("Circuit-breaker transitions, by target, states and origin.")
                .build(),
        }
    }
}

impl Recorder for OtelRecorder {
    fn operation(&self, m: &Measurement<'_>) {
        let mut attrs = vec![
            KeyValue::new("gen_ai.operation.name", "chat"),
            KeyValue::new("gen_ai.provider.name", m.provider.to_string()),
            KeyValue::new("gen_ai.request.model", m.request_model.to_string()),
        ];
        if let Some(model) = m.response_model {
            attrs.push(KeyValue::new("gen_ai.response.model", model.to_string()));
        }
        if let Some(host) = m.server_address {
            attrs.push(KeyValue::new("server.address", host.to_string()));
        }
        if let Some(port) = m.server_port {
            attrs.push(KeyValue::new("server.port", i64::from(port)));
        }
        let token_attrs = attrs.clone();
        if let Some(kind) = m.error_type {
            attrs.push(KeyValue::new("error.type", kind));
        }
        self.duration.record(m.duration.as_secs_f64(), &attrs);
        for (count, kind) in [(m.input_tokens, "input"), (m.output_tokens, "output")] {
            if let Some(n) = count {
                let mut a = token_attrs.clone();
                a.push(KeyValue::new("gen_ai.token.type", kind));
                self.tokens.record(n, &a);
            }
        }
        if let Some(t) = m.time_to_first_chunk {
            self.ttfc.record(t.as_secs_f64(), &attrs);
        }
        self.attempts.record(u64::from(m.attempts), &attrs);
        if m.attempts > 1 {
            self.retries.add(u64::from(m.attempts - 1), &attrs);
        }
        if !m.waited.is_zero() {
            self.wait.record(m.waited.as_secs_f64(), &attrs);
        }
    }

    fn fallback(&self, m: &FallbackMeasurement<'_>) {
        let mut attrs = vec![
            KeyValue::new("steadfast.fallback.target", m.target.to_string()),
            KeyValue::new(
                "steadfast.fallback.position",
                i64::try_from(m.position).unwrap_or(i64::MAX),
            ),
            KeyValue::new(
                "steadfast.fallback.outcome",
                if m.won { "won" } else { "failed" },
            ),
        ];
        if let Some(kind) = m.error_type {
            attrs.push(KeyValue::new("error.type", kind));
        }
        self.fallbacks.add(1, &attrs);
    }

    fn breaker(&self, m: &BreakerMeasurement<'_>) {
        let mut attrs = vec![KeyValue::new(
            "steadfast.breaker.target",
            m.target.to_string(),
        )];
        if let Some(host) = m.server_address {
            attrs.push(KeyValue::new("server.address", host.to_string()));
        }
        let with = |key: &'static str, value: &'static str| {
            let mut a = attrs.clone();
            a.push(KeyValue::new(key, value));
            a
        };
        let (from, to) = (state_name(m.from), state_name(m.to));
        self.breaker_state
            .record(0, &with("steadfast.breaker.state", from));
        self.breaker_state
            .record(1, &with("steadfast.breaker.state", to));
        let mut t = with("steadfast.breaker.from", from);
        t.push(KeyValue::new("steadfast.breaker.to", to));
        t.push(KeyValue::new(
            "steadfast.breaker.origin",
            if m.remote { "remote" } else { "local" },
        ));
        self.breaker_transitions.add(1, &t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoints_credentials_stay_out_of_debug_and_errors() {
        let otlp = Otlp::new("http://user:hunter2-secret@collector:4318?api_key=k-secret");
        let debug = format!("{otlp:?}");
        assert!(
            !debug.contains("hunter2-secret") && !debug.contains("k-secret"),
            "{debug}"
        );
        assert!(debug.contains("collector:4318"), "{debug}");
        let bad = Otlp::new("user:hunter2-secret@collector");
        let e = bad.tracer_provider().expect_err("not an http(s) URL");
        assert!(!e.to_string().contains("hunter2-secret"), "{e}");
    }

    #[test]
    fn a_failed_export_names_no_credential() {
        use tracing_subscriber::layer::SubscriberExt as _;
        // A port nothing listens on (bound, then released): the export fails to connect.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let spans = Otlp::new(format!("http://user:hunter2-secret@127.0.0.1:{port}"))
            .spans()
            .expect("an http URL");
        let subscriber = tracing_subscriber::registry().with(spans.layer());
        tracing::subscriber::with_default(subscriber, || {
            let _span = tracing::info_span!("exported").entered();
        });
        let e = spans.force_flush().expect_err("nothing listens");
        let text = format!("{e} {e:?}");
        assert!(text.contains("export failed"), "{text}");
        assert!(!text.contains("hunter2-secret"), "{text}");
    }
}
