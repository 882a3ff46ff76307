//! [`Spans`]: steadfast's own `tracing` → OpenTelemetry span layer, which hands each closed span
//! to a span processor as the SDK's [`SpanData`], with no SDK span in between.
//!
//! `tracing-opentelemetry` (what [`layer`](super::layer) gives) keeps an SDK span builder per
//! span, starts the SDK span when a child is made, converts every recorded field through its
//! updates, and reads the clock on every exit of a span (a future's span is exited on every
//! poll). This layer keeps only what the exported span needs — name, kind, ids, start time,
//! attributes, events, status — in one value per span, reads the clock twice (new and close),
//! and builds the span data once, at close. With its batch processor it costs a third less per
//! span than the other path, export included (README, "Observability").

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use opentelemetry::trace::{
    Event, Link, SpanContext, SpanId, SpanKind, Status, TraceContextExt as _, TraceFlags,
    TraceState,
};
use opentelemetry::{InstrumentationScope, Key, KeyValue, Value};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkError;
use opentelemetry_sdk::trace::{
    IdGenerator as _, RandomIdGenerator, SimpleSpanProcessor, SpanData, SpanEvents, SpanExporter,
    SpanLinks, SpanProcessor,
};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event as TracingEvent, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use super::export_error;
use crate::error::Error;

/// The most attributes and events one span keeps (the SDK's default limits); what is past them
/// is counted as dropped.
const MAX_ATTRIBUTES: usize = 128;
const MAX_EVENTS: usize = 128;

/// A span pipeline: a span processor (normally a batch processor in front of an
/// exporter) and the [`layer`](Spans::layer) that feeds it. Cloning shares the processor; when
/// the last clone and layer are gone, the processor is shut down (what it holds is exported).
///
/// ```
/// use opentelemetry_sdk::Resource;
/// use opentelemetry_sdk::trace::InMemorySpanExporter;
/// use steadfast::telemetry::otel::Spans;
/// use tracing_subscriber::layer::SubscriberExt as _;
///
/// let exporter = InMemorySpanExporter::default();
/// let spans = Spans::batch(exporter.clone(), Resource::builder().build());
/// let subscriber = tracing_subscriber::registry().with(spans.layer());
/// tracing::subscriber::with_default(subscriber, || {
///     let _span = tracing::info_span!("work", otel.kind = "client", answer = 42).entered();
/// });
/// spans.force_flush().unwrap();
/// let exported = exporter.get_finished_spans().unwrap();
/// assert_eq!(exported.len(), 1);
/// assert_eq!(exported[0].name, "work");
/// ```
///
/// What it does not do, next to an SDK tracer provider with `tracing-opentelemetry` (use
/// [`layer`](super::layer) for these): sampling (every span is recorded and sampled), span
/// processors' `on_start` (no SDK span exists before the end), and making a span's context
/// current while it is entered. A root span's parent is the current OpenTelemetry context's
/// span, when there is one, so spans of an application's own OpenTelemetry instrumentation
/// can be parents.
#[derive(Clone)]
pub struct Spans {
    inner: Arc<Inner>,
}

struct Inner {
    processor: Box<dyn SpanProcessor>,
    ids: RandomIdGenerator,
    scope: InstrumentationScope,
}

impl Drop for Inner {
    /// The last clone gone (pipeline and layers): what is buffered is exported, as an SDK
    /// tracer provider does when dropped.
    fn drop(&mut self) {
        let _ = self.processor.shutdown();
    }
}

impl fmt::Debug for Spans {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Spans")
            .field("processor", &self.inner.processor)
            .finish_non_exhaustive()
    }
}

impl Spans {
    /// Spans exported in batches, from a background thread, by `exporter`, with `resource` for
    /// every span: the SDK's `BatchSpanProcessor` contract (a queue of at most 2,048 spans, past
    /// which closed spans are dropped; an export when 512 are queued or 5 s have passed;
    /// [`force_flush`](Spans::force_flush) and [`shutdown`](Spans::shutdown) wait for the
    /// exporter, up to 30 s) with a cheaper queue — each span is pushed under one lock, and the
    /// thread takes the whole queue — measured in README "Observability". For the SDK's own
    /// processor (or any other), use [`with_processor`](Spans::with_processor) with
    /// the SDK's `BatchSpanProcessor`.
    pub fn batch<E: SpanExporter + 'static>(exporter: E, resource: Resource) -> Self {
        let batch = super::batch::Batch::new(exporter, &resource);
        Spans::from_boxed(Box::new(batch))
    }

    /// Spans exported one by one as they close, on the closing thread (the SDK's
    /// [`SimpleSpanProcessor`]): for tests and debugging.
    pub fn simple<E: SpanExporter + 'static>(exporter: E, resource: Resource) -> Self {
        Spans::with_processor(SimpleSpanProcessor::new(exporter), resource)
    }

    /// Spans handed to `processor`, which is given `resource` first.
    pub fn with_processor<P: SpanProcessor + 'static>(
        mut processor: P,
        resource: Resource,
    ) -> Self {
        processor.set_resource(&resource);
        Spans::from_boxed(Box::new(processor))
    }

    fn from_boxed(processor: Box<dyn SpanProcessor>) -> Self {
        Spans {
            inner: Arc::new(Inner {
                processor,
                ids: RandomIdGenerator::default(),
                scope: InstrumentationScope::builder("steadfast")
                    .with_version(env!("CARGO_PKG_VERSION"))
                    .build(),
            }),
        }
    }

    /// The `tracing` layer that records spans into this pipeline. Add it to a subscriber built
    /// on `tracing_subscriber::registry()`.
    pub fn layer(&self) -> SpansLayer {
        SpansLayer {
            inner: Arc::clone(&self.inner),
        }
    }

    /// Exports what the processor holds now.
    ///
    /// # Errors
    /// [`ErrorKind::Connect`](crate::ErrorKind::Connect) when the export failed.
    pub fn force_flush(&self) -> Result<(), Error> {
        self.inner.processor.force_flush().map_err(export_error)
    }

    /// Exports what the processor holds and stops it; spans that close afterwards are dropped
    /// (the SDK's processors do so). A second shutdown does nothing.
    ///
    /// # Errors
    /// [`ErrorKind::Connect`](crate::ErrorKind::Connect) when the last export failed.
    pub fn shutdown(&self) -> Result<(), Error> {
        match self.inner.processor.shutdown() {
            Ok(()) | Err(OTelSdkError::AlreadyShutdown) => Ok(()),
            Err(e) => Err(export_error(e)),
        }
    }
}

/// The `tracing` layer of a [`Spans`] pipeline.
pub struct SpansLayer {
    inner: Arc<Inner>,
}

impl fmt::Debug for SpansLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpansLayer").finish_non_exhaustive()
    }
}

/// What a span being recorded keeps, in its registry extensions.
struct Pending {
    name: Cow<'static, str>,
    kind: SpanKind,
    context: SpanContext,
    parent: SpanId,
    parent_is_remote: bool,
    start: SystemTime,
    attributes: Vec<KeyValue>,
    /// Which of the span's first 64 fields are in `attributes` (by [`Field::index`]): a record
    /// of another field needs no search for an earlier value.
    recorded: u64,
    dropped_attributes: u32,
    events: Vec<Event>,
    dropped_events: u32,
    links: Vec<Link>,
    status: Status,
}

/// Where a visitor writes: the span's attributes and the special `otel.*` fields.
struct SpanVisitor<'a> {
    pending: &'a mut Pending,
    /// On a record (not at creation): a field recorded again replaces its earlier value.
    replace: bool,
}

impl SpanVisitor<'_> {
    fn push(&mut self, field: &Field, value: Value) {
        let key = Key::from_static_str(field.name());
        let bit = 1_u64.checked_shl(u32::try_from(field.index()).unwrap_or(u32::MAX));
        let pending = &mut *self.pending;
        let maybe_there = bit.is_none_or(|b| pending.recorded & b != 0);
        if self.replace
            && maybe_there
            && let Some(kv) = pending.attributes.iter_mut().find(|kv| kv.key == key)
        {
            kv.value = value;
            return;
        }
        if pending.attributes.len() < MAX_ATTRIBUTES {
            pending.attributes.push(KeyValue::new(key, value));
            pending.recorded |= bit.unwrap_or(0);
        } else {
            pending.dropped_attributes += 1;
        }
    }

    /// The `otel.*` fields `tracing-opentelemetry` reads, read the same way; `false` for any
    /// other field.
    fn special(&mut self, field: &Field, value: &str) -> bool {
        match field.name() {
            "otel.name" => self.pending.name = Cow::Owned(value.to_string()),
            "otel.kind" => {
                if let Some(kind) = span_kind(value) {
                    self.pending.kind = kind;
                }
            }
            "otel.status_code" => {
                if value.eq_ignore_ascii_case("ok") {
                    self.pending.status = Status::Ok;
                } else if value.eq_ignore_ascii_case("error") {
                    // A description recorded before the code is kept.
                    if !matches!(self.pending.status, Status::Error { .. }) {
                        self.pending.status = Status::error("");
                    }
                }
            }
            "otel.status_description" => {
                if matches!(self.pending.status, Status::Error { .. }) {
                    self.pending.status = Status::error(value.to_string());
                }
            }
            _ => return false,
        }
        true
    }
}

/// How many fields' last values each thread remembers.
const RECENT_SLOTS: usize = 16;

/// A field's name and its last value.
type Recent = Option<(&'static str, Arc<str>)>;

thread_local! {
    /// The last value of a string field, per slot (by the field name's address): a span of the
    /// same endpoint and model as the last one shares its values instead of copying them (the
    /// model, the server, the URL, the span's name repeat from call to call).
    static RECENT: std::cell::RefCell<[Recent; RECENT_SLOTS]> =
        const { std::cell::RefCell::new([const { None }; RECENT_SLOTS]) };
}

/// A string attribute's value: a well-known constant without a copy, the same value as this
/// field's last one on this thread shared, any other copied (and remembered).
fn field_value(field: &'static str, value: &str) -> Value {
    if let Some(known) = well_known(value) {
        return Value::from(known);
    }
    let slot = (field.as_ptr() as usize >> 3) % RECENT_SLOTS;
    RECENT
        .try_with(|recent| {
            let Ok(mut recent) = recent.try_borrow_mut() else {
                return Value::from(value.to_string());
            };
            if let Some((name, last)) = &recent[slot]
                && std::ptr::eq(*name, field)
                && **last == *value
            {
                return Value::from(Arc::clone(last));
            }
            let shared: Arc<str> = Arc::from(value);
            recent[slot] = Some((field, Arc::clone(&shared)));
            Value::from(shared)
        })
        .unwrap_or_else(|_| Value::from(value.to_string()))
}

/// One of the values steadfast's spans carry on every call, as a constant.
fn well_known(value: &str) -> Option<&'static str> {
    let known: &'static str = match value {
        "chat" => "chat",
        "POST" => "POST",
        "json" => "json",
        "openai" => "openai",
        "anthropic" => "anthropic",
        "gcp.gemini" => "gcp.gemini",
        "aws.bedrock" => "aws.bedrock",
        "azure.ai.inference" => "azure.ai.inference",
        "azure.ai.openai" => "azure.ai.openai",
        "mistral_ai" => "mistral_ai",
        "cohere" => "cohere",
        "groq" => "groq",
        "x_ai" => "x_ai",
        "[\"stop\"]" => "[\"stop\"]",
        "[\"length\"]" => "[\"length\"]",
        "[\"tool_calls\"]" => "[\"tool_calls\"]",
        "rate-limited" => "rate-limited",
        "overloaded" => "overloaded",
        "429" => "429",
        "500" => "500",
        "503" => "503",
        _ => return None,
    };
    Some(known)
}

/// Where a [`Fields`] visitor writes: the string fields (which may be special), and every other
/// value as an attribute.
trait Sink {
    /// A string value borrowed from the field.
    fn text(&mut self, field: &Field, value: &str);
    /// A value formatted for the field (`%` and `?` fields, errors).
    fn formatted(&mut self, field: &Field, value: String);
    /// A number or boolean.
    fn value(&mut self, field: &Field, value: Value);
}

/// The one `tracing` visitor of both spans and events, over their [`Sink`].
struct Fields<'a, T>(&'a mut T);

impl<T: Sink> Visit for Fields<'_, T> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.text(field, value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.formatted(field, format!("{value:?}"));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.value(field, Value::I64(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        match i64::try_from(value) {
            Ok(v) => self.0.value(field, Value::I64(v)),
            Err(_) => self.0.formatted(field, value.to_string()),
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.value(field, Value::F64(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.value(field, Value::Bool(value));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0.formatted(field, value.to_string());
    }
}

impl Sink for SpanVisitor<'_> {
    fn text(&mut self, field: &Field, value: &str) {
        if !self.special(field, value) {
            self.push(field, field_value(field.name(), value));
        }
    }

    fn formatted(&mut self, field: &Field, value: String) {
        if field.name() == "otel.name" {
            // Formatted once (`otel.name = %format_args!(..)`), kept as it is.
            self.pending.name = Cow::Owned(value);
        } else if !self.special(field, &value) {
            self.push(field, Value::from(value));
        }
    }

    fn value(&mut self, field: &Field, value: Value) {
        self.push(field, value);
    }
}

/// An event's name (its `message`, else its callsite's name) and attributes.
struct EventVisitor {
    name: Option<String>,
    attributes: Vec<KeyValue>,
}

impl Sink for EventVisitor {
    fn text(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.name = Some(value.to_string());
        } else {
            self.value(field, field_value(field.name(), value));
        }
    }

    fn formatted(&mut self, field: &Field, value: String) {
        if field.name() == "message" {
            self.name = Some(value);
        } else {
            self.value(field, Value::from(value));
        }
    }

    fn value(&mut self, field: &Field, value: Value) {
        self.attributes
            .push(KeyValue::new(Key::from_static_str(field.name()), value));
    }
}

fn span_kind(value: &str) -> Option<SpanKind> {
    let kinds = [
        ("client", SpanKind::Client),
        ("server", SpanKind::Server),
        ("producer", SpanKind::Producer),
        ("consumer", SpanKind::Consumer),
        ("internal", SpanKind::Internal),
    ];
    kinds
        .into_iter()
        .find(|(name, _)| value.eq_ignore_ascii_case(name))
        .map(|(_, kind)| kind)
}

impl<S> tracing_subscriber::Layer<S> for SpansLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else {
            return;
        };
        // The parent: the registry's parent span when this layer records it, else the current
        // OpenTelemetry context's span (an application's own instrumentation), else none.
        let from_tracing = span.parent().and_then(|parent| {
            parent
                .extensions()
                .get::<Pending>()
                .map(|p| (p.context.trace_id(), p.context.span_id(), false))
        });
        let (trace_id, parent, parent_is_remote) = from_tracing
            .or_else(|| {
                let cx = opentelemetry::Context::current();
                let sc = cx.span().span_context().clone();
                sc.is_valid()
                    .then(|| (sc.trace_id(), sc.span_id(), sc.is_remote()))
            })
            .unwrap_or_else(|| (self.inner.ids.new_trace_id(), SpanId::INVALID, false));
        let mut pending = Pending {
            name: Cow::Borrowed(attrs.metadata().name()),
            kind: SpanKind::Internal,
            context: SpanContext::new(
                trace_id,
                self.inner.ids.new_span_id(),
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            parent,
            parent_is_remote,
            start: SystemTime::now(),
            // Most of a span's fields are set (a span with more grows its list); a list of at
            // most 16 stays in the allocator's per-thread cache.
            attributes: Vec::with_capacity(attrs.fields().len().min(16)),
            recorded: 0,
            dropped_attributes: 0,
            events: Vec::new(),
            dropped_events: 0,
            links: Vec::new(),
            status: Status::Unset,
        };
        attrs.record(&mut Fields(&mut SpanVisitor {
            pending: &mut pending,
            replace: false,
        }));
        span.extensions_mut().insert(pending);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else {
            return;
        };
        let mut extensions = span.extensions_mut();
        if let Some(pending) = extensions.get_mut::<Pending>() {
            values.record(&mut Fields(&mut SpanVisitor {
                pending,
                replace: true,
            }));
        }
    }

    fn on_follows_from(&self, id: &Id, follows: &Id, ctx: Context<'_, S>) {
        let (Some(span), Some(other)) = (ctx.span(id), ctx.span(follows)) else {
            return;
        };
        let Some(linked) = other
            .extensions()
            .get::<Pending>()
            .map(|p| p.context.clone())
        else {
            return;
        };
        if let Some(pending) = span.extensions_mut().get_mut::<Pending>() {
            pending.links.push(Link::with_context(linked));
        }
    }

    fn on_event(&self, event: &TracingEvent<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.event_span(event) else {
            return;
        };
        let mut extensions = span.extensions_mut();
        let Some(pending) = extensions.get_mut::<Pending>() else {
            return;
        };
        if pending.events.len() >= MAX_EVENTS {
            pending.dropped_events += 1;
            return;
        }
        let mut visitor = EventVisitor {
            name: None,
            attributes: Vec::new(),
        };
        event.record(&mut Fields(&mut visitor));
        let name = match visitor.name {
            Some(message) => Cow::Owned(message),
            None => Cow::Borrowed(event.metadata().name()),
        };
        if *event.metadata().level() == tracing::Level::ERROR
            && matches!(pending.status, Status::Unset)
        {
            pending.status = Status::error("");
        }
        pending
            .events
            .push(Event::new(name, SystemTime::now(), visitor.attributes, 0));
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else {
            return;
        };
        let Some(p) = span.extensions_mut().remove::<Pending>() else {
            return;
        };
        let end = SystemTime::now();
        let mut events = SpanEvents::default();
        events.events = p.events;
        events.dropped_count = p.dropped_events;
        let mut links = SpanLinks::default();
        links.links = p.links;
        self.inner.processor.on_end(SpanData {
            span_context: p.context,
            parent_span_id: p.parent,
            parent_span_is_remote: p.parent_is_remote,
            span_kind: p.kind,
            name: p.name,
            start_time: p.start,
            end_time: end,
            attributes: p.attributes,
            dropped_attributes_count: p.dropped_attributes,
            events,
            links,
            status: p.status,
            instrumentation_scope: self.inner.scope.clone(),
        });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use opentelemetry::trace::TraceId;
    use opentelemetry_sdk::trace::InMemorySpanExporter;
    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;

    fn run(f: impl FnOnce()) -> Vec<SpanData> {
        let exporter = InMemorySpanExporter::default();
        let spans = Spans::simple(exporter.clone(), Resource::builder_empty().build());
        let subscriber = tracing_subscriber::registry().with(spans.layer());
        tracing::subscriber::with_default(subscriber, f);
        let mut out = exporter.get_finished_spans().unwrap();
        out.sort_by_key(|s| s.start_time);
        out
    }

    fn attr<'a>(s: &'a SpanData, key: &str) -> Option<&'a Value> {
        s.attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| &kv.value)
    }

    #[test]
    fn records_names_kinds_attributes_status_events_and_parents() {
        let spans = run(|| {
            let outer = tracing::info_span!(
                "chat",
                otel.name = "chat gpt-4o-mini",
                otel.kind = "client",
                otel.status_code = tracing::field::Empty,
                n = 3_i64,
                big = u64::MAX,
                ratio = 0.5,
                stream = true,
                later = tracing::field::Empty,
            );
            let _g = outer.enter();
            {
                let inner = tracing::info_span!("POST", otel.kind = "CLIENT", url = "http://x/");
                let _g = inner.enter();
                tracing::event!(
                    name: "steadfast.retry.wait",
                    tracing::Level::INFO,
                    steadfast.attempt = 1_i64
                );
            }
            outer.record("later", "set");
            outer.record("n", 4_i64);
            outer.record("otel.status_code", "ERROR");
            tracing::info!(answer = 42_i64, "a message");
        });
        assert_eq!(spans.len(), 2);
        let (outer, inner) = (&spans[0], &spans[1]);
        assert_eq!(outer.name, "chat gpt-4o-mini");
        assert_eq!(outer.span_kind, SpanKind::Client);
        assert_eq!(inner.span_kind, SpanKind::Client);
        assert_eq!(inner.name, "POST");
        assert_eq!(outer.parent_span_id, SpanId::INVALID);
        assert_eq!(inner.parent_span_id, outer.span_context.span_id());
        assert_eq!(inner.span_context.trace_id(), outer.span_context.trace_id());
        assert_ne!(inner.span_context.span_id(), outer.span_context.span_id());
        assert_eq!(attr(outer, "n"), Some(&Value::I64(4)), "a record replaces");
        assert_eq!(
            outer
                .attributes
                .iter()
                .filter(|kv| kv.key.as_str() == "n")
                .count(),
            1
        );
        assert_eq!(attr(outer, "big"), Some(&Value::from(u64::MAX.to_string())));
        assert_eq!(attr(outer, "ratio"), Some(&Value::F64(0.5)));
        assert_eq!(attr(outer, "stream"), Some(&Value::Bool(true)));
        assert_eq!(attr(outer, "later"), Some(&Value::from("set")));
        assert!(attr(outer, "otel.name").is_none() && attr(outer, "otel.kind").is_none());
        assert!(matches!(outer.status, Status::Error { .. }));
        assert_eq!(inner.status, Status::Unset);
        assert_eq!(inner.events.events.len(), 1);
        let wait = &inner.events.events[0];
        assert_eq!(wait.name, "steadfast.retry.wait");
        assert_eq!(wait.attributes[0].key.as_str(), "steadfast.attempt");
        assert_eq!(outer.events.events[0].name, "a message");
        assert_eq!(outer.events.events[0].attributes.len(), 1);
        assert!(outer.end_time >= outer.start_time);
        assert_eq!(outer.instrumentation_scope.name(), "steadfast");
    }

    #[test]
    fn a_root_span_joins_the_current_opentelemetry_context() {
        let remote = SpanContext::new(
            TraceId::from(7_u128),
            SpanId::from(9_u64),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        );
        let spans = run(|| {
            let _cx = opentelemetry::Context::new()
                .with_remote_span_context(remote.clone())
                .attach();
            let _s = tracing::info_span!("child").entered();
        });
        assert_eq!(spans[0].span_context.trace_id(), remote.trace_id());
        assert_eq!(spans[0].parent_span_id, remote.span_id());
        assert!(spans[0].parent_span_is_remote);
    }

    #[test]
    fn limits_count_what_they_drop_and_shutdown_stops_export() {
        let exporter = InMemorySpanExporter::default();
        let spans = Spans::simple(exporter.clone(), Resource::builder_empty().build());
        let subscriber = tracing_subscriber::registry().with(spans.layer());
        tracing::subscriber::with_default(subscriber, || {
            let s = tracing::info_span!("many");
            let _g = s.enter();
            for i in 0..(MAX_EVENTS + 5) {
                tracing::info!(i, "tick");
            }
        });
        let out = exporter.get_finished_spans().unwrap();
        assert_eq!(out[0].events.events.len(), MAX_EVENTS);
        assert_eq!(out[0].events.dropped_count, 5);
        spans.shutdown().unwrap();
        spans.shutdown().unwrap();
        assert!(exporter.is_shutdown_called());
        // The in-memory exporter forgets its spans at shutdown; one closed afterwards is not
        // exported.
        let subscriber = tracing_subscriber::registry().with(spans.layer());
        tracing::subscriber::with_default(subscriber, || {
            let _s = tracing::info_span!("after").entered();
        });
        assert_eq!(exporter.get_finished_spans().unwrap().len(), 0);
    }
}
