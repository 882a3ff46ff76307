//! The `otel` feature end to end: steadfast's spans through both layers — steadfast's own
//! (`otel::Spans`, what `Otlp::install` uses) and `tracing-opentelemetry` (`otel::layer`) — into
//! the OpenTelemetry SDK's exporters: in memory (the SDK's own test exporter; every story through
//! both layers, which must export the same trees), and over OTLP/HTTP to a receiver that decodes
//! the bodies with the official protobuf types (`opentelemetry-proto`) — with the span tree,
//! kinds, names, attributes and status of a fallback with retries, and the conventions' metrics.
//! One test per scenario family, each alone on its thread with its own subscriber.

#![cfg(feature = "otel")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{TEST_KEY, sim};
use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::{Array, Value};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use prost::Message as _;
use steadfast::ErrorKind::RateLimited;
use steadfast::resilient::{fallback, kinds, retryable};
use steadfast::retry::{Retry, SleepFuture, Sleeper, stop, wait};
use steadfast::telemetry::otel::{self, Otlp};
use steadfast::{Call, llm};
use steadfast_sim::{Action, Dialect, Rule, Scenario, Simulator};
use tracing_subscriber::layer::SubscriberExt;

#[derive(Debug, Default, Clone)]
struct NoSleep;

impl Sleeper for NoSleep {
    fn sleep(&self, _: Duration) -> SleepFuture<'_> {
        Box::pin(std::future::ready(()))
    }
}

fn policy() -> Retry<steadfast::Error> {
    Retry::new()
        .stop(stop::after_attempt(3))
        .wait(wait::fixed(Duration::from_secs(4)))
        .retry_if(retryable())
        .sleeper(NoSleep)
}

fn targets(sim: &Simulator) -> (Call, Call) {
    let openai = llm::call("openai:gpt-4o-mini")
        .unwrap()
        .base_url(sim.base_url(Dialect::OpenAi))
        .api_key(TEST_KEY);
    let anthropic = llm::call("anthropic:claude-3-5-sonnet-latest")
        .unwrap()
        .base_url(sim.base_url(Dialect::Anthropic))
        .api_key(TEST_KEY);
    (openai, anthropic)
}

/// Runs the fallback-with-retries story (OpenAI rate-limited three times, Anthropic answers) on a
/// current-thread runtime, so every span is made on this thread, under its subscriber.
fn fallback_story(recorder: Option<std::sync::Arc<dyn steadfast::telemetry::Recorder>>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let sim = sim(Scenario::new().rule(
            Rule::new()
                .provider(Dialect::OpenAi)
                .action(Action::rate_limit()),
        ))
        .await;
        let (mut openai, mut anthropic) = targets(&sim);
        if let Some(r) = recorder {
            openai = openai.recorder(r.clone());
            anthropic = anthropic.recorder(r);
        }
        let chain = fallback(kinds([RateLimited])).backup(anthropic, kinds([RateLimited]));
        let r = openai
            .retry(policy())
            .fallback(chain)
            .send("hi")
            .await
            .unwrap();
        assert_eq!(r.provider(), "anthropic");
    });
}

/// A span as the assertions read it.
#[derive(Debug, Clone)]
struct Exported {
    id: String,
    parent: Option<String>,
    name: String,
    kind: &'static str,
    error: bool,
    attrs: BTreeMap<String, String>,
    events: Vec<String>,
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        Value::I64(i) => i.to_string(),
        Value::F64(f) => f.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Array(Array::String(a)) => format!("{a:?}"),
        other => format!("{other:?}"),
    }
}

fn kind_name(k: &SpanKind) -> &'static str {
    match k {
        SpanKind::Client => "client",
        SpanKind::Internal => "internal",
        SpanKind::Server => "server",
        SpanKind::Producer => "producer",
        SpanKind::Consumer => "consumer",
    }
}

/// The spans in the order given (the callers sort by start time).
fn from_sdk(spans: &[SpanData]) -> Vec<Exported> {
    let out: Vec<Exported> = spans
        .iter()
        .map(|s| Exported {
            id: s.span_context.span_id().to_string(),
            parent: (s.parent_span_id != opentelemetry::trace::SpanId::INVALID)
                .then(|| s.parent_span_id.to_string()),
            name: s.name.to_string(),
            kind: kind_name(&s.span_kind),
            error: matches!(s.status, Status::Error { .. }),
            attrs: s
                .attributes
                .iter()
                .map(|kv| (kv.key.to_string(), text(&kv.value)))
                .collect(),
            events: s
                .events
                .iter()
                .map(|e| e.name.to_string())
                .filter(|n| n.starts_with("steadfast."))
                .collect(),
        })
        .collect();
    out
}

/// The tree: `name (kind)` lines, children in start order, indented by depth.
fn tree(spans: &[Exported], order: &[String]) -> Vec<String> {
    fn walk(
        spans: &[Exported],
        order: &[String],
        parent: Option<&str>,
        d: usize,
        out: &mut Vec<String>,
    ) {
        for id in order {
            let s = spans.iter().find(|s| &s.id == id).unwrap();
            if s.parent.as_deref() == parent {
                out.push(format!("{}{} ({})", "  ".repeat(d), s.name, s.kind));
                walk(spans, order, Some(&s.id), d + 1, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(spans, order, None, 0, &mut out);
    out
}

fn assert_fallback_story(spans: &[Exported], order: &[String]) {
    assert_eq!(
        tree(spans, order),
        [
            "steadfast.fallback (internal)",
            "  chat gpt-4o-mini (client)",
            "    POST (client)",
            "    POST (client)",
            "    POST (client)",
            "  chat claude-3-5-sonnet-latest (client)",
            "    POST (client)",
        ]
    );
    let named = |n: &str| {
        spans
            .iter()
            .filter(|s| s.name == n)
            .cloned()
            .collect::<Vec<_>>()
    };
    let chain = &named("steadfast.fallback")[0];
    assert_eq!(
        chain.attrs["steadfast.fallback.winner"],
        "anthropic:claude-3-5-sonnet-latest"
    );
    assert_eq!(chain.attrs["steadfast.fallback.caught"], "rate-limited");
    assert!(!chain.error);
    let primary = &named("chat gpt-4o-mini")[0];
    assert!(primary.error, "the primary's operation failed");
    assert_eq!(primary.attrs["error.type"], "rate-limited");
    assert_eq!(primary.attrs["gen_ai.provider.name"], "openai");
    assert_eq!(primary.attrs["gen_ai.operation.name"], "chat");
    assert_eq!(primary.attrs["steadfast.attempts"], "3");
    assert_eq!(primary.attrs["steadfast.wait.total_ms"], "8000");
    assert_eq!(
        primary.events,
        ["steadfast.retry.wait", "steadfast.retry.wait"],
        "the waits are events of the operation"
    );
    let backup = &named("chat claude-3-5-sonnet-latest")[0];
    assert!(!backup.error);
    assert_eq!(backup.attrs["gen_ai.provider.name"], "anthropic");
    assert!(backup.attrs.contains_key("gen_ai.usage.output_tokens"));
    assert!(!backup.attrs.contains_key("error.type"));
    let posts = named("POST");
    let resends: Vec<_> = posts
        .iter()
        .map(|p| p.attrs.get("http.request.resend_count").cloned())
        .collect();
    assert_eq!(resends.iter().filter(|r| r.is_some()).count(), 2);
    assert!(posts.iter().filter(|p| p.error).count() == 3, "three 429s");
    for s in spans {
        for (k, v) in &s.attrs {
            assert!(!v.contains(TEST_KEY), "{} {k}", s.name);
        }
    }
}

/// Both exports, one after the other on one thread: scoped subscribers set by tests running in
/// parallel race on tracing's cached callsite interest.
#[test]
fn spans_export_in_memory_and_over_otlp_http() {
    in_memory();
    the_other_stories_in_memory();
    over_otlp_http();
}

/// Which layer turns the `tracing` spans into OpenTelemetry spans.
#[derive(Debug, Clone, Copy)]
enum Via {
    /// steadfast's own layer, `otel::Spans` (what `Otlp::install` uses).
    Spans,
    /// `tracing-opentelemetry` over an SDK tracer provider, `otel::layer`.
    TracingOpentelemetry,
}

/// Runs `f` under a subscriber of `via` into an in-memory exporter, with `filter` (the steadfast
/// target at INFO, as `Otlp::install` filters) or none, and gives the exported spans in start
/// order.
fn export_via(via: Via, filtered: bool, f: impl FnOnce()) -> Vec<SpanData> {
    use tracing_subscriber::Layer as _;
    let exporter = InMemorySpanExporter::default();
    let filter = filtered.then(|| {
        tracing_subscriber::filter::Targets::new().with_target("steadfast", tracing::Level::INFO)
    });
    // Read before the pipeline is dropped: shutting down resets the in-memory exporter.
    let mut data = match via {
        Via::Spans => {
            let spans = otel::Spans::simple(exporter.clone(), Resource::builder().build());
            let subscriber = tracing_subscriber::registry().with(spans.layer().with_filter(filter));
            tracing::subscriber::with_default(subscriber, f);
            spans.force_flush().unwrap();
            exporter.get_finished_spans().unwrap()
        }
        Via::TracingOpentelemetry => {
            let provider = SdkTracerProvider::builder()
                .with_simple_exporter(exporter.clone())
                .build();
            let subscriber =
                tracing_subscriber::registry().with(otel::layer(&provider).with_filter(filter));
            tracing::subscriber::with_default(subscriber, f);
            provider.force_flush().unwrap();
            exporter.get_finished_spans().unwrap()
        }
    };
    data.sort_by_key(|s| s.start_time);
    data
}

/// What two exports of one story must share: the tree, and each span's kind, status, attribute
/// keys (the values hold ids and timings that differ run to run) and steadfast events.
fn shape(spans: &[Exported], order: &[String]) -> Vec<String> {
    let mut out = tree(spans, order);
    for id in order {
        let s = spans.iter().find(|s| &s.id == id).unwrap();
        let keys: Vec<&str> = s.attrs.keys().map(String::as_str).collect();
        out.push(format!(
            "{} error={} keys={keys:?} events={:?}",
            s.name, s.error, s.events
        ));
    }
    out
}

fn order_of(data: &[SpanData]) -> Vec<String> {
    data.iter()
        .map(|s| s.span_context.span_id().to_string())
        .collect()
}

fn in_memory() {
    let mut shapes = Vec::new();
    for via in [Via::Spans, Via::TracingOpentelemetry] {
        let data = export_via(via, false, || fallback_story(None));
        let (spans, order) = (from_sdk(&data), order_of(&data));
        assert_fallback_story(&spans, &order);
        shapes.push(shape(&spans, &order));
    }
    assert_eq!(shapes[0], shapes[1], "the two layers export the same story");
}

/// Runs `story` on a current-thread runtime under each layer into the SDK's in-memory exporter
/// (steadfast's target, INFO, as `Otlp::install` filters), checks that both export the same
/// shape, and gives steadfast's own layer's spans with their ids in start order.
fn exported<F>(story: impl Fn(Simulator) -> F, scenario: Scenario) -> (Vec<Exported>, Vec<String>)
where
    F: std::future::Future<Output = ()>,
{
    let run = |via| {
        export_via(via, true, || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let sim = sim(scenario.clone()).await;
                story(sim).await;
            });
        })
    };
    let other = run(Via::TracingOpentelemetry);
    let data = run(Via::Spans);
    let (spans, order) = (from_sdk(&data), order_of(&data));
    assert_eq!(
        shape(&spans, &order),
        shape(&from_sdk(&other), &order_of(&other)),
        "the two layers export the same story"
    );
    (spans, order)
}

fn on(p: Dialect, action: Action) -> Rule {
    Rule::new().provider(p).action(action)
}

fn one<'a>(spans: &'a [Exported], name: &str, n: usize) -> &'a Exported {
    spans
        .iter()
        .filter(|s| s.name == name)
        .nth(n)
        .unwrap_or_else(|| panic!("no span #{n} named {name}"))
}

/// The stories of `telemetry_spans.rs`, this time as the OpenTelemetry SDK exports them: the
/// tree with span kinds, the status, the key attributes and the events.
fn the_other_stories_in_memory() {
    use futures_util::StreamExt as _;

    // A first-try success.
    let (spans, order) = exported(
        |sim| async move {
            let (openai, _) = targets(&sim);
            openai.temperature(0.5).send("hi").await.unwrap();
        },
        Scenario::new(),
    );
    assert_eq!(
        tree(&spans, &order),
        ["chat gpt-4o-mini (client)", "  POST (client)"]
    );
    let chat = one(&spans, "chat gpt-4o-mini", 0);
    assert!(!chat.error);
    assert_eq!(chat.attrs["gen_ai.request.temperature"], "0.5");
    assert_eq!(chat.attrs["gen_ai.response.finish_reasons"], r#"["stop"]"#);
    assert_eq!(
        one(&spans, "POST", 0).attrs["http.response.status_code"],
        "200"
    );

    // Three attempts, a server hint, then success.
    let (spans, order) = exported(
        |sim| async move {
            let (openai, _) = targets(&sim);
            openai.retry(policy()).send("hi").await.unwrap();
        },
        Scenario::new()
            .rule(on(Dialect::OpenAi, Action::rate_limit().retry_after_secs(7)).requests([1]))
            .rule(on(Dialect::OpenAi, Action::overloaded()).requests([2])),
    );
    assert_eq!(
        tree(&spans, &order),
        [
            "chat gpt-4o-mini (client)",
            "  POST (client)",
            "  POST (client)",
            "  POST (client)"
        ]
    );
    let chat = one(&spans, "chat gpt-4o-mini", 0);
    assert!(!chat.error, "recovered: not an error of the operation");
    assert_eq!(chat.attrs["steadfast.attempts"], "3");
    assert_eq!(chat.attrs["steadfast.wait.total_ms"], "11000");
    assert_eq!(
        chat.events,
        ["steadfast.retry.wait", "steadfast.retry.wait"]
    );

    // A stream interrupted after its commit point.
    let (spans, order) = exported(
        |sim| async move {
            let (openai, _) = targets(&sim);
            let mut s = openai.retry(policy()).stream("one two three four five six");
            let mut failed = false;
            while let Some(ev) = s.next().await {
                failed |= ev.is_err();
            }
            assert!(failed);
        },
        Scenario::new().rule(on(Dialect::OpenAi, Action::model().cut_after(3))),
    );
    assert_eq!(
        tree(&spans, &order),
        ["chat gpt-4o-mini (client)", "  POST (client)"]
    );
    let chat = one(&spans, "chat gpt-4o-mini", 0);
    assert!(chat.error);
    assert_eq!(chat.attrs["error.type"], "stream-interrupted");
    assert_eq!(chat.attrs["gen_ai.request.stream"], "true");
    assert!(
        chat.attrs
            .contains_key("gen_ai.response.time_to_first_chunk")
    );
    assert_eq!(chat.events, ["steadfast.stream.commit"]);

    // A restarted stream.
    let (spans, order) = exported(
        |sim| async move {
            let (openai, _) = targets(&sim);
            let mut s = openai
                .retry(policy())
                .restart_streams(1)
                .stream("one two three four five six");
            while let Some(ev) = s.next().await {
                ev.unwrap();
            }
        },
        Scenario::new().rule(on(Dialect::OpenAi, Action::model().cut_after(3)).requests([1])),
    );
    assert_eq!(
        tree(&spans, &order),
        [
            "steadfast.stream (internal)",
            "  chat gpt-4o-mini (client)",
            "    POST (client)",
            "  chat gpt-4o-mini (client)",
            "    POST (client)",
        ]
    );
    let outer = one(&spans, "steadfast.stream", 0);
    // The policy's wait before the restart, then the restart.
    assert_eq!(
        outer.events,
        ["steadfast.retry.wait", "steadfast.stream.restart"]
    );
    assert_eq!(outer.attrs["steadfast.restarts"], "1");
    assert!(one(&spans, "chat gpt-4o-mini", 0).error);
    assert!(!one(&spans, "chat gpt-4o-mini", 1).error);

    // An extract with reinsertion.
    let (spans, order) = exported(
        |sim| async move {
            #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
            #[allow(dead_code, reason = "only parsed")]
            struct Book {
                title: String,
                author: String,
            }
            let (openai, _) = targets(&sim);
            let policy = policy()
                .retry_if(kinds([steadfast::ErrorKind::Validation]))
                .collect_errors(steadfast::resilient::validation());
            openai
                .retry(policy)
                .extract::<Book>("The Name of the Wind by Patrick Rothfuss")
                .await
                .unwrap();
        },
        Scenario::new()
            .rule(on(Dialect::OpenAi, Action::structured_raw(r#"{"title": 1}"#)).requests([1])),
    );
    assert_eq!(
        tree(&spans, &order),
        [
            "chat gpt-4o-mini (client)",
            "  POST (client)",
            "  POST (client)"
        ]
    );
    let chat = one(&spans, "chat gpt-4o-mini", 0);
    assert_eq!(chat.attrs["gen_ai.output.type"], "json");
    assert_eq!(chat.events, ["steadfast.retry.wait"]);
    assert!(!chat.error);

    // An open breaker: the third call skips OpenAI.
    let (spans, order) = exported(
        |sim| async move {
            use steadfast::resilient::{Breakers, TRANSIENT};
            let (openai, anthropic) = targets(&sim);
            let breakers = Breakers::new(
                steadfast::retry::CircuitBreaker::builder()
                    .window(2)
                    .min_calls(2)
                    .failure_rate(0.5)
                    .cooldown(Duration::from_secs(600)),
            )
            .unwrap();
            let chain = fallback(kinds(TRANSIENT))
                .backup(anthropic, kinds(TRANSIENT))
                .breaker(breakers.lookup());
            for _ in 0..3 {
                openai.fallback(chain.clone()).send("hi").await.unwrap();
            }
        },
        Scenario::new().rule(on(Dialect::OpenAi, Action::overloaded())),
    );
    let all = tree(&spans, &order);
    assert_eq!(
        all[all.len() - 3..],
        [
            "steadfast.fallback (internal)",
            "  chat claude-3-5-sonnet-latest (client)",
            "    POST (client)",
        ]
    );
    let third = one(&spans, "steadfast.fallback", 2);
    assert_eq!(third.events, ["steadfast.fallback.skip"]);
    assert_eq!(third.attrs["steadfast.fallback.skipped"], "0:circuit-open");
    let second = one(&spans, "steadfast.fallback", 1);
    assert!(
        second
            .events
            .contains(&"steadfast.breaker.transition".to_string()),
        "{:?}",
        second.events
    );
}

// ---- OTLP/HTTP to a receiver decoding with the official protobuf types ----

fn over_otlp_http() {
    use opentelemetry::metrics::MeterProvider as _;
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;

    let (url, bodies) = steadfast_fixtures::post_sink::start().unwrap();
    let otlp = Otlp::new(&url).service_name("steadfast-test");
    // The pipeline `Otlp::install` sets up: steadfast's own layer, batched.
    let tracer = otlp.spans().unwrap();
    let meter = otlp.meter_provider().unwrap();
    let recorder = std::sync::Arc::new(otel::OtelRecorder::new(&meter.meter("steadfast")));
    let subscriber = tracing_subscriber::registry().with(tracer.layer());
    let guard = tracing::subscriber::set_default(subscriber);
    fallback_story(Some(recorder));
    drop(guard);
    tracer.force_flush().unwrap();
    meter.force_flush().unwrap();

    let mut spans = Vec::new();
    let mut metrics = BTreeMap::new();
    let mut order = Vec::new();
    while let Ok((path, body)) = bodies.recv_timeout(Duration::from_secs(10)) {
        match path.as_str() {
            "/v1/traces" => {
                let req = ExportTraceServiceRequest::decode(body.as_slice()).unwrap();
                for rs in req.resource_spans {
                    let service = rs
                        .resource
                        .unwrap()
                        .attributes
                        .into_iter()
                        .find(|a| a.key == "service.name");
                    assert!(
                        matches!(service.and_then(|a| a.value).and_then(|v| v.value), Some(Any::StringValue(s)) if s == "steadfast-test")
                    );
                    for ss in rs.scope_spans {
                        for s in ss.spans {
                            let hex =
                                |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
                            let kind = match s.kind {
                                3 => "client",
                                1 => "internal",
                                other => panic!("kind {other}"),
                            };
                            order.push((s.start_time_unix_nano, hex(&s.span_id)));
                            spans.push(Exported {
                                id: hex(&s.span_id),
                                parent: (!s.parent_span_id.is_empty())
                                    .then(|| hex(&s.parent_span_id)),
                                name: s.name,
                                kind,
                                error: s.status.is_some_and(|st| st.code == 2),
                                attrs: s
                                    .attributes
                                    .into_iter()
                                    .map(|kv| {
                                        let v = match kv.value.and_then(|v| v.value) {
                                            Some(Any::StringValue(s)) => s,
                                            Some(Any::IntValue(i)) => i.to_string(),
                                            Some(Any::DoubleValue(f)) => f.to_string(),
                                            Some(Any::BoolValue(b)) => b.to_string(),
                                            other => format!("{other:?}"),
                                        };
                                        (kv.key, v)
                                    })
                                    .collect(),
                                events: s
                                    .events
                                    .into_iter()
                                    .map(|e| e.name)
                                    .filter(|n| n.starts_with("steadfast."))
                                    .collect(),
                            });
                        }
                    }
                }
            }
            "/v1/metrics" => {
                let req = ExportMetricsServiceRequest::decode(body.as_slice()).unwrap();
                for rm in req.resource_metrics {
                    for sm in rm.scope_metrics {
                        for m in sm.metrics {
                            metrics.insert(m.name.clone(), m.unit.clone());
                        }
                    }
                }
            }
            other => panic!("unexpected POST {other}"),
        }
        if spans.len() >= 7 && !metrics.is_empty() {
            break;
        }
    }
    order.sort();
    let order: Vec<String> = order.into_iter().map(|(_, id)| id).collect();
    assert_fallback_story(&spans, &order);
    for (name, unit) in [
        ("gen_ai.client.operation.duration", "s"),
        ("gen_ai.client.token.usage", "{token}"),
        ("steadfast.client.attempts", "{attempt}"),
        ("steadfast.client.retries", "{retry}"),
        ("steadfast.client.wait.duration", "s"),
        ("steadfast.client.fallbacks", "{target}"),
    ] {
        assert_eq!(
            metrics.get(name).map(String::as_str),
            Some(unit),
            "{name}: {metrics:?}"
        );
    }
}

#[test]
fn a_bad_endpoint_is_a_config_error() {
    let e = Otlp::new("localhost:4318").tracer_provider().unwrap_err();
    assert_eq!(e.kind(), steadfast::ErrorKind::Config);
    assert!(e.to_string().contains("invalid OTLP endpoint"), "{e}");
}
