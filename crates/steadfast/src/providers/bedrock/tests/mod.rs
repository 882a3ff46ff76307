//! Bedrock fixture and table tests: SigV4 vectors, auth precedence cases, request bodies against
//! the Smithy model, responses, errors and eventstream bodies.

mod requests;
mod responses;
mod signing;
mod streams;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::AwsConfig;
use crate::client::{ApiKey, ClientConfig};
use crate::prompt::Prompt;
use crate::provider::ChatRequest;

/// The Bedrock fixtures directory, with a trailing slash.
pub(super) fn fixtures_dir() -> String {
    format!("{}/bedrock/", steadfast_fixtures::location().display())
}

pub(super) fn fixture(path: &str) -> String {
    std::fs::read_to_string(format!("{}{path}", fixtures_dir()))
        .unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

pub(super) fn fixture_json(path: &str) -> Value {
    serde_json::from_str(&fixture(path)).unwrap()
}

/// `2015-08-30T12:36:00Z` (optionally with `.000` milliseconds) as a `SystemTime`.
pub(super) fn parse_time(s: &str) -> SystemTime {
    let s = s.trim_end_matches('Z');
    let (date, time) = s.split_once('T').unwrap();
    let d: Vec<i64> = date.split('-').map(|x| x.parse().unwrap()).collect();
    let time = time.split('.').next().unwrap();
    let t: Vec<u64> = time.split(':').map(|x| x.parse().unwrap()).collect();
    // Days from the civil date (Howard Hinnant's algorithm).
    let (y, m, day) = (if d[1] <= 2 { d[0] - 1 } else { d[0] }, d[1], d[2]);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = u64::try_from(era * 146_097 + doe - 719_468).unwrap();
    UNIX_EPOCH + Duration::from_secs(days * 86_400 + t[0] * 3600 + t[1] * 60 + t[2])
}

/// Standard base64 (with padding) decoding for the fixtures.
pub(super) fn base64_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes().filter(|&c| c != b'=') {
        let v = ALPHABET.iter().position(|&a| a == c).unwrap() as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// Client settings for unit tests: a region endpoint and a bearer token, nothing from the
/// environment.
pub(super) fn client() -> ClientConfig {
    ClientConfig {
        base_url: Some("https://bedrock-runtime.us-east-1.amazonaws.com".into()),
        api_key: Some(ApiKey::new("bedrock-api-key-0123")),
        ..ClientConfig::default()
    }
    .with_provider_settings(AwsConfig::new().with_region("us-east-1"))
}

/// A request for `model` with the unit-test client.
pub(super) fn request(model: &str, prompt: impl Into<Prompt>) -> ChatRequest {
    crate::llm::call(("bedrock", model))
        .unwrap()
        .with_client(client())
        .request(prompt)
}

#[test]
fn time_and_base64_helpers() {
    assert_eq!(
        parse_time("1970-01-02T00:00:01Z"),
        UNIX_EPOCH + Duration::from_secs(86_401)
    );
    assert_eq!(
        parse_time("2015-08-30T12:36:00Z")
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
        1_440_938_160
    );
    assert_eq!(base64_decode("aGVsbG8="), b"hello");
}
