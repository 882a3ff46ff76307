//! The breaker-state metric (issue 13): a `Breakers` set with an `OtelRecorder` reports every
//! transition of its breakers, read back from the OpenTelemetry SDK's in-memory metric exporter.
#![cfg(all(feature = "otel", feature = "openai"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use steadfast::llm;
use steadfast::resilient::Breakers;
use steadfast::retry::CircuitBreaker;
use steadfast::retry::circuit::RemoteDecision;
use steadfast::telemetry::otel::OtelRecorder;
use tokio::time::Instant;

type Points = BTreeMap<Vec<(String, String)>, i128>;

/// Every data point of the metric `name`, by its sorted attributes.
fn points(exporter: &InMemoryMetricExporter, name: &str) -> Points {
    let mut out = BTreeMap::new();
    for rm in exporter.get_finished_metrics().unwrap() {
        for sm in rm.scope_metrics() {
            for m in sm.metrics().filter(|m| m.name() == name) {
                let mut put = |attrs: Vec<(String, String)>, v: i128| {
                    let mut attrs = attrs;
                    attrs.sort();
                    out.insert(attrs, v);
                };
                let kv = |it: &mut dyn Iterator<Item = &opentelemetry::KeyValue>| {
                    it.map(|kv| (kv.key.to_string(), kv.value.to_string()))
                        .collect::<Vec<_>>()
                };
                match m.data() {
                    AggregatedMetrics::I64(MetricData::Gauge(g)) => {
                        for p in g.data_points() {
                            put(kv(&mut p.attributes()), i128::from(p.value()));
                        }
                    }
                    AggregatedMetrics::U64(MetricData::Sum(s)) => {
                        for p in s.data_points() {
                            put(kv(&mut p.attributes()), i128::from(p.value()));
                        }
                    }
                    other => panic!("{name}: unexpected data {other:?}"),
                }
            }
        }
    }
    out
}

fn attrs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<_> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
    v.sort();
    v
}

#[tokio::test(start_paused = true)]
async fn every_transition_of_a_target_breaker_reaches_the_state_metric() {
    let exporter = InMemoryMetricExporter::default();
    let provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(exporter.clone()).build())
        .build();
    let recorder = Arc::new(OtelRecorder::new(&provider.meter("steadfast")));
    let breakers = Breakers::new(
        CircuitBreaker::builder()
            .window(2)
            .min_calls(2)
            .failure_rate(0.5)
            .cooldown(Duration::from_secs(10)),
    )
    .unwrap()
    .recorder(recorder);
    let call = llm::call("openai:gpt-4o-mini")
        .unwrap()
        .base_url("http://user:hunter2@127.0.0.1:9/v1");
    let breaker = breakers.get(&call).unwrap();

    // closed -> open (two failures), -> half_open (cooldown over), -> closed (probe succeeded)
    for _ in 0..2 {
        breaker.try_acquire().unwrap().failure(&"503");
    }
    tokio::time::sleep(Duration::from_secs(10)).await;
    breaker.try_acquire().unwrap().success();
    // and closed -> open again, decided elsewhere.
    assert!(breaker.apply(RemoteDecision::Open {
        until: Instant::now() + Duration::from_secs(5)
    }));
    provider.force_flush().unwrap();

    let target = ("steadfast.breaker.target", "openai:gpt-4o-mini");
    let server = ("server.address", "127.0.0.1");
    let state = |s| attrs(&[target, server, ("steadfast.breaker.state", s)]);
    let expected: Points = [
        (state("closed"), 0),
        (state("open"), 1),
        (state("half_open"), 0),
    ]
    .into_iter()
    .collect();
    assert_eq!(
        points(&exporter, "steadfast.client.breaker.state"),
        expected
    );

    let t = |from, to, origin| {
        attrs(&[
            target,
            server,
            ("steadfast.breaker.from", from),
            ("steadfast.breaker.to", to),
            ("steadfast.breaker.origin", origin),
        ])
    };
    let expected: Points = [
        (t("closed", "open", "local"), 1),
        (t("open", "half_open", "local"), 1),
        (t("half_open", "closed", "local"), 1),
        (t("closed", "open", "remote"), 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(
        points(&exporter, "steadfast.client.breaker.transitions"),
        expected
    );

    // The base URL's credentials are in no attribute.
    let all = format!("{:?}", exporter.get_finished_metrics().unwrap());
    assert!(!all.contains("hunter2"), "{all}");
    provider.shutdown().unwrap();
}

#[test]
fn a_breaker_set_without_recorder_reports_nothing_and_still_works() {
    let breakers = Breakers::new(CircuitBreaker::builder().window(1).min_calls(1)).unwrap();
    let call = llm::call("openai:gpt-4o-mini").unwrap();
    let breaker = breakers.get(&call).unwrap();
    breaker.try_acquire().unwrap().failure(&"503");
    assert!(breaker.try_acquire().is_none());
    assert!(
        breakers.get(&call).unwrap().try_acquire().is_none(),
        "one breaker per target"
    );
}
