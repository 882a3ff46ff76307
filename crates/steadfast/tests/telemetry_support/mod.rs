//! A `tracing` layer that records the spans and events `steadfast` emits (target `steadfast`),
//! for the telemetry tests.

#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

pub(crate) const KEY: &str = "sk-test-0123456789abcdef";

#[derive(Debug, Clone)]
pub(crate) struct SpanRec {
    pub(crate) seq: usize,
    pub(crate) parent: Option<usize>,
    pub(crate) name: String,
    pub(crate) fields: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub(crate) struct EventRec {
    pub(crate) name: String,
    pub(crate) parent: Option<usize>,
    pub(crate) fields: BTreeMap<String, String>,
}

#[derive(Debug, Default)]
struct Seen {
    spans: Vec<SpanRec>,
    events: Vec<EventRec>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Capture(Arc<Mutex<Seen>>);

/// The capture a span belongs to, and its sequence number there (the registry reuses span ids).
struct Seq(Capture, usize);

thread_local! {
    /// The capture of the test running on this thread (each `#[tokio::test]` runs its tasks on
    /// its own thread).
    static CURRENT: std::cell::RefCell<Option<Capture>> = const { std::cell::RefCell::new(None) };
}

/// Routes what `steadfast` emits to the capture of the thread it is emitted on. Installed once,
/// as the global subscriber: scoped (thread-local) subscribers set and dropped by tests running
/// in parallel race on tracing's cached callsite interest, and a span can be missed.
struct Router;

/// Clears the thread's capture when the test is done.
pub(crate) struct Installed(());

impl Drop for Installed {
    fn drop(&mut self) {
        CURRENT.with(|c| c.borrow_mut().take());
    }
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, f: &Field, v: &str) {
        self.0.insert(f.name().into(), v.into());
    }
    fn record_u64(&mut self, f: &Field, v: u64) {
        self.0.insert(f.name().into(), v.to_string());
    }
    fn record_i64(&mut self, f: &Field, v: i64) {
        self.0.insert(f.name().into(), v.to_string());
    }
    fn record_f64(&mut self, f: &Field, v: f64) {
        self.0.insert(f.name().into(), v.to_string());
    }
    fn record_bool(&mut self, f: &Field, v: bool) {
        self.0.insert(f.name().into(), v.to_string());
    }
    fn record_debug(&mut self, f: &Field, v: &dyn std::fmt::Debug) {
        self.0.insert(f.name().into(), format!("{v:?}"));
    }
}

fn seq_of<S: Subscriber + for<'a> LookupSpan<'a>>(ctx: &Context<'_, S>, id: &Id) -> Option<usize> {
    ctx.span(id)?.extensions().get::<Seq>().map(|s| s.1)
}

fn current() -> Option<Capture> {
    CURRENT.with(|c| c.borrow().clone())
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Router {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs.metadata().target() != "steadfast" {
            return;
        }
        let Some(cap) = current() else { return };
        let parent = ctx
            .span(id)
            .and_then(|s| s.parent().map(|p| p.id()))
            .and_then(|p| seq_of(&ctx, &p));
        let mut fields = BTreeMap::new();
        attrs.record(&mut Fields(&mut fields));
        let seq = {
            let mut seen = cap.0.lock().unwrap();
            let seq = seen.spans.len();
            seen.spans.push(SpanRec {
                seq,
                parent,
                name: attrs.metadata().name().into(),
                fields,
            });
            seq
        };
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(Seq(cap, seq));
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let ext = span.extensions();
        let Some(Seq(cap, seq)) = ext.get::<Seq>() else {
            return;
        };
        let mut seen = cap.0.lock().unwrap();
        values.record(&mut Fields(&mut seen.spans[*seq].fields));
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if event.metadata().target() != "steadfast" {
            return;
        }
        let Some(cap) = current() else { return };
        let parent = ctx
            .event_span(event)
            .map(|s| s.id())
            .and_then(|p| seq_of(&ctx, &p));
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        cap.0.lock().unwrap().events.push(EventRec {
            name: event.metadata().name().into(),
            parent,
            fields,
        });
    }
}

impl Capture {
    /// Captures what this thread emits until the returned guard is dropped.
    pub(crate) fn install(&self) -> Installed {
        static GLOBAL: std::sync::Once = std::sync::Once::new();
        GLOBAL.call_once(|| {
            tracing::subscriber::set_global_default(tracing_subscriber::registry().with(Router))
                .expect("no other global subscriber in this test binary");
        });
        CURRENT.with(|c| *c.borrow_mut() = Some(self.clone()));
        Installed(())
    }

    pub(crate) fn spans(&self) -> Vec<SpanRec> {
        self.0.lock().unwrap().spans.clone()
    }

    pub(crate) fn events(&self) -> Vec<EventRec> {
        self.0.lock().unwrap().events.clone()
    }

    /// The span tree, one line per span: indentation by depth, then the span's OpenTelemetry
    /// name (`otel.name` when set, else its name).
    pub(crate) fn tree(&self) -> Vec<String> {
        let spans = self.spans();
        let depth = |s: &SpanRec| {
            let mut d = 0;
            let mut at = s.parent;
            while let Some(p) = at {
                d += 1;
                at = spans[p].parent;
            }
            d
        };
        let mut out = Vec::new();
        fn walk(spans: &[SpanRec], parent: Option<usize>, out: &mut Vec<(usize, usize)>, d: usize) {
            for s in spans.iter().filter(|s| s.parent == parent) {
                out.push((s.seq, d));
                walk(spans, Some(s.seq), out, d + 1);
            }
        }
        let mut order = Vec::new();
        walk(&spans, None, &mut order, 0);
        for (seq, d) in order {
            let s = &spans[seq];
            assert_eq!(d, depth(s));
            let name = s.fields.get("otel.name").unwrap_or(&s.name);
            out.push(format!("{}{name}", "  ".repeat(d)));
        }
        out
    }

    /// The `n`th span (in creation order) whose OpenTelemetry name is `name`.
    pub(crate) fn span(&self, name: &str, n: usize) -> SpanRec {
        self.spans()
            .into_iter()
            .filter(|s| s.fields.get("otel.name").unwrap_or(&s.name) == name)
            .nth(n)
            .unwrap_or_else(|| panic!("no span #{n} named {name}: {:?}", self.tree()))
    }

    pub(crate) fn events_named(&self, name: &str) -> Vec<EventRec> {
        self.events()
            .into_iter()
            .filter(|e| e.name == name)
            .collect()
    }

    /// No span or event field holds the key.
    pub(crate) fn assert_no_secret(&self) {
        for s in self.spans() {
            for (k, v) in &s.fields {
                assert!(!v.contains(KEY), "span {} field {k}: {v}", s.name);
            }
        }
        for e in self.events() {
            for (k, v) in &e.fields {
                assert!(!v.contains(KEY), "event {} field {k}: {v}", e.name);
            }
        }
    }
}

pub(crate) fn has(s: &SpanRec, pairs: &[(&str, &str)]) {
    for (k, v) in pairs {
        assert_eq!(
            s.fields.get(*k).map(String::as_str),
            Some(*v),
            "{} field {k}: {:?}",
            s.name,
            s.fields
        );
    }
}

pub(crate) fn lacks(s: &SpanRec, keys: &[&str]) {
    for k in keys {
        assert!(
            !s.fields.contains_key(*k),
            "{} has {k}: {:?}",
            s.name,
            s.fields
        );
    }
}
