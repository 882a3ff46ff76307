//! `steadfast --otlp ENDPOINT`: the calls of `ask` arrive at an OTLP/HTTP receiver as GenAI spans
//! and metrics, decoded with the official protobuf types (`opentelemetry-proto`).

#![cfg(feature = "otel")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::process::Command;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use prost::Message as _;

#[test]
fn ask_exports_its_spans_and_metrics_over_otlp() {
    let (url, bodies) = steadfast_fixtures::post_sink::start().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_steadfast"))
        .args([
            "--otlp",
            &url,
            "ask",
            "--sim",
            "-m",
            "openai:gpt-4o-mini",
            "hello",
        ])
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "Echo: hello");

    let (mut spans, mut metrics) = (Vec::new(), Vec::new());
    // The process has exited: its exporters were shut down, so every export was answered and
    // is in the channel already.
    for (path, body) in bodies.try_iter() {
        match path.as_str() {
            "/v1/traces" => {
                let req = ExportTraceServiceRequest::decode(body.as_slice()).unwrap();
                for s in req
                    .resource_spans
                    .into_iter()
                    .flat_map(|r| r.scope_spans)
                    .flat_map(|s| s.spans)
                {
                    let provider = s
                        .attributes
                        .iter()
                        .find(|a| a.key == "gen_ai.provider.name")
                        .and_then(|a| a.value.clone())
                        .and_then(|v| v.value);
                    spans.push((s.name, provider));
                }
            }
            "/v1/metrics" => {
                let req = ExportMetricsServiceRequest::decode(body.as_slice()).unwrap();
                metrics.extend(
                    req.resource_metrics
                        .into_iter()
                        .flat_map(|r| r.scope_metrics)
                        .flat_map(|s| s.metrics)
                        .map(|m| m.name),
                );
            }
            other => panic!("unexpected POST {other}"),
        }
    }
    assert!(
        spans.iter().any(|(name, p)| name == "chat gpt-4o-mini"
            && matches!(p, Some(Any::StringValue(v)) if v == "openai")),
        "{spans:?}"
    );
    assert!(spans.iter().any(|(name, _)| name == "POST"), "{spans:?}");
    assert!(
        metrics
            .iter()
            .any(|m| m == "gen_ai.client.operation.duration"),
        "{metrics:?}"
    );
}

#[test]
fn a_bad_otlp_endpoint_is_a_clear_error() {
    let o = Command::new(env!("CARGO_BIN_EXE_steadfast"))
        .args([
            "--otlp",
            "localhost:4318",
            "ask",
            "--sim",
            "-m",
            "openai:gpt-4o-mini",
            "hello",
        ])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("invalid OTLP endpoint"), "{err}");
}
