//! `steadfast --otlp ENDPOINT`: the calls of `ask` arrive at an OTLP/HTTP receiver as GenAI spans
//! and metrics, decoded with the official protobuf types (`opentelemetry-proto`).

#![cfg(feature = "otel")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::sync::mpsc;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use prost::Message as _;

/// A one-thread HTTP/1.1 receiver: answers 200 to every POST and hands each (path, body) over.
fn receiver() -> (String, mpsc::Receiver<(String, Vec<u8>)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut conn = conn;
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap_or(0) > 0 {
                    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                    let mut length = 0usize;
                    let mut h = String::new();
                    while reader.read_line(&mut h).unwrap_or(0) > 0 && h != "\r\n" {
                        if let Some((k, v)) = h.split_once(':') {
                            if k.eq_ignore_ascii_case("content-length") {
                                length = v.trim().parse().unwrap();
                            }
                        }
                        h.clear();
                    }
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).unwrap();
                    let _ = tx.send((path, body));
                    conn.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                        .unwrap();
                    line.clear();
                }
            });
        }
    });
    (url, rx)
}

#[test]
fn ask_exports_its_spans_and_metrics_over_otlp() {
    let (url, bodies) = receiver();
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
