//! Every wait formula against the table Python tenacity 9 computed (`tests/data/`).
// Test code: a malformed table should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use serde_json::Value;
use steadfast_retry::wait::{self, Wait};

const TABLE: &str = include_str!("data/tenacity_waits.json");

fn secs(v: &Value) -> Duration {
    Duration::from_secs_f64(v.as_f64().expect("seconds"))
}

fn build(spec: &Value) -> Wait {
    let kind = spec["kind"].as_str().expect("kind");
    match kind {
        "none" => wait::none(),
        "fixed" => wait::fixed(secs(&spec["wait"])),
        "random" => wait::random(secs(&spec["min"]), secs(&spec["max"])).unwrap(),
        "exponential" => {
            let mut b = wait::exponential()
                .multiplier(spec["multiplier"].as_f64().unwrap())
                .exp_base(spec["exp_base"].as_f64().unwrap())
                .min(secs(&spec["min"]));
            if !spec["max"].is_null() {
                b = b.max(secs(&spec["max"]));
            }
            b.build().unwrap()
        }
        "exponential_jitter" => {
            let mut b = wait::exponential_jitter()
                .multiplier(spec["multiplier"].as_f64().unwrap())
                .exp_base(spec["exp_base"].as_f64().unwrap())
                .min(secs(&spec["min"]))
                .jitter(secs(&spec["jitter"]));
            if !spec["max"].is_null() {
                b = b.max(secs(&spec["max"]));
            }
            b.build().unwrap()
        }
        "sum" => spec["parts"].as_array().unwrap().iter().map(build).sum(),
        "chain" => wait::chain(spec["parts"].as_array().unwrap().iter().map(build)).unwrap(),
        other => panic!("unknown strategy kind {other}"),
    }
}

#[test]
fn every_row_matches_tenacity() {
    let table: Value = serde_json::from_str(TABLE).unwrap();
    assert!(
        table["tenacity_version"]
            .as_str()
            .unwrap()
            .starts_with("9."),
        "table must come from tenacity 9"
    );
    let rows = table["rows"].as_array().unwrap();
    assert!(rows.len() > 500, "table too small: {}", rows.len());
    let mut failures = Vec::new();
    for row in rows {
        let strategy = build(&row["strategy"]);
        let attempt = u32::try_from(row["attempt"].as_u64().unwrap()).unwrap();
        let expected = row["wait"].as_f64().unwrap();
        let got = strategy.delay(attempt, 7).as_secs_f64();
        let tolerance = 1e-9 * expected.abs().max(1.0);
        if (got - expected).abs() > tolerance {
            failures.push(format!(
                "{} attempt {attempt}: tenacity {expected}, ours {got}",
                row["strategy"]
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn table_covers_huge_attempt_numbers() {
    let table: Value = serde_json::from_str(TABLE).unwrap();
    let attempts: Vec<u64> = table["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["attempt"].as_u64().unwrap())
        .collect();
    for n in [1, 12, 64, 1000, 10_000, u64::from(u32::MAX)] {
        assert!(attempts.contains(&n), "attempt {n} missing from the table");
    }
}
