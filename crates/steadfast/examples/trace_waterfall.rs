//! Draws one exported trace as a waterfall: a fallback with retries (OpenAI rate-limited three
//! times with backoff and a server hint, then Anthropic answers), its spans exported through the
//! `otel` feature's layer into the OpenTelemetry SDK's in-memory exporter, and drawn as SVG from
//! the exported span data — names, nesting, start and end times, status and events — as a
//! tracing backend would show it.
//!
//! `cargo run -p steadfast --features otel --example trace_waterfall -- docs/trace-fallback.svg`

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{SpanId, Status};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use steadfast::ErrorKind::RateLimited;
use steadfast::llm;
use steadfast::resilient::{fallback, kinds, retryable};
use steadfast::retry::{Retry, stop, wait};
use steadfast_sim::{Action, Dialect, Rule, Scenario, Simulator};
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt as _;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "trace-fallback.svg".into());
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let filter =
        tracing_subscriber::filter::Targets::new().with_target("steadfast", tracing::Level::INFO);
    let subscriber = tracing_subscriber::registry()
        .with(steadfast::telemetry::otel::layer(&provider).with_filter(filter));
    let guard = tracing::subscriber::set_default(subscriber);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(story())?;
    drop(guard);
    provider.force_flush()?;
    let spans = exporter.get_finished_spans()?;
    std::fs::write(&out, waterfall(&spans))?;
    println!("{} spans drawn to {out}", spans.len());
    Ok(())
}

async fn story() -> Result<(), Box<dyn std::error::Error>> {
    // OpenAI: a 429 with `retry-after: 1`, then two plain 429s; Anthropic answers, a little slowly.
    let sim = Simulator::start(
        Scenario::new()
            .rule(
                Rule::new()
                    .provider(Dialect::OpenAi)
                    .requests([1])
                    .action(Action::rate_limit().retry_after_secs(1).delay_ms(40)),
            )
            .rule(
                Rule::new()
                    .provider(Dialect::OpenAi)
                    .action(Action::rate_limit().delay_ms(40)),
            )
            .rule(
                Rule::new()
                    .provider(Dialect::Anthropic)
                    .action(Action::model().delay_ms(120)),
            ),
    )
    .await?;
    let openai = llm::call("openai:gpt-4o-mini")?
        .base_url(sim.base_url(Dialect::OpenAi))
        .api_key("sim-key");
    let anthropic = llm::call("anthropic:claude-3-5-sonnet-latest")?
        .base_url(sim.base_url(Dialect::Anthropic))
        .api_key("sim-key");
    let policy = Retry::new()
        .stop(stop::after_attempt(3))
        .wait(wait::fixed(Duration::from_millis(400)))
        .retry_if(retryable());
    let chain = fallback(kinds([RateLimited])).backup(anthropic, kinds([RateLimited]));
    let r = openai
        .retry(policy)
        .fallback(chain)
        .send("Recommend a fantasy book")
        .await?;
    assert_eq!(r.provider(), "anthropic");
    Ok(())
}

fn micros(t: SystemTime, zero: SystemTime) -> f64 {
    t.duration_since(zero).unwrap_or_default().as_secs_f64() * 1e6
}

fn attr(s: &SpanData, key: &str) -> Option<String> {
    s.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.to_string())
}

/// The label of a span in the waterfall: its name and the attributes that tell its story.
fn label(s: &SpanData) -> String {
    let mut l = s.name.to_string();
    let mut add = |k: &str, shown: &str| {
        if let Some(v) = attr(s, k) {
            let _ = write!(l, "  {shown}={v}");
        }
    };
    add("http.response.status_code", "status");
    add("http.request.resend_count", "resend");
    add("error.type", "error.type");
    add("steadfast.attempts", "attempts");
    add("steadfast.wait.total_ms", "waited_ms");
    add("steadfast.fallback.winner", "winner");
    add("gen_ai.response.finish_reasons", "finish");
    l
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The spans in tree order (children by start time), each with its depth.
fn ordered(spans: &[SpanData]) -> Vec<(&SpanData, usize)> {
    fn walk<'a>(
        spans: &'a [SpanData],
        parent: SpanId,
        d: usize,
        out: &mut Vec<(&'a SpanData, usize)>,
    ) {
        let mut children: Vec<&SpanData> = spans
            .iter()
            .filter(|s| s.parent_span_id == parent)
            .collect();
        children.sort_by_key(|s| s.start_time);
        for c in children {
            out.push((c, d));
            walk(spans, c.span_context.span_id(), d + 1, out);
        }
    }
    let mut out = Vec::new();
    walk(spans, SpanId::INVALID, 0, &mut out);
    out
}

fn waterfall(spans: &[SpanData]) -> String {
    let rows = ordered(spans);
    let zero = spans
        .iter()
        .map(|s| s.start_time)
        .min()
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let end = spans.iter().map(|s| s.end_time).max().unwrap_or(zero);
    let total = micros(end, zero).max(1.0);
    let (left, bar_w, row_h) = (560.0, 560.0, 26.0);
    let height = row_h * (rows.len() as f64 + 2.0);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{height}" font-family="monospace" font-size="12">
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="8" y="18" font-weight="bold">trace: a fallback with retries ({ms:.0} ms)</text>
"##,
        w = left + bar_w + 20.0,
        ms = total / 1000.0,
    );
    for (i, (s, depth)) in rows.iter().enumerate() {
        let y = row_h * (i as f64 + 1.0) + 6.0;
        let x0 = left + bar_w * micros(s.start_time, zero) / total;
        let w = (bar_w * (micros(s.end_time, zero) - micros(s.start_time, zero)) / total).max(2.0);
        let color = match (&s.status, s.name.as_ref()) {
            (Status::Error { .. }, _) => "#e4572e",
            (_, "POST") => "#8fb8de",
            (_, n) if n.starts_with("steadfast.") => "#b0b0b0",
            _ => "#4c9f70",
        };
        let _ = write!(
            svg,
            r##"<text x="{tx}" y="{ty}">{label}</text>
<rect x="{x0:.1}" y="{y:.1}" width="{w:.1}" height="{h}" rx="3" fill="{color}"/>
"##,
            tx = 8.0 + 16.0 * *depth as f64,
            ty = y + 13.0,
            label = escape(&label(s)),
            h = row_h - 8.0,
        );
        for e in s.events.iter().filter(|e| e.name.starts_with("steadfast.")) {
            let ex = left + bar_w * micros(e.timestamp, zero) / total;
            let _ = writeln!(
                svg,
                r##"<line x1="{ex:.1}" y1="{y0:.1}" x2="{ex:.1}" y2="{y1:.1}" stroke="#222" stroke-width="2"><title>{name}</title></line>"##,
                y0 = y - 2.0,
                y1 = y + row_h - 6.0,
                name = escape(&e.name),
            );
        }
    }
    let _ = write!(
        svg,
        r##"<text x="8" y="{y}" fill="#555">green: GenAI operation  blue: HTTP attempt  red: failed  grey: INTERNAL  ticks: events (steadfast.retry.wait)</text>
</svg>
"##,
        y = height - 8.0,
    );
    svg
}
