//! The journal: every provider request the simulator received, with secrets redacted.

use std::collections::VecDeque;
use std::sync::Mutex;

use bytes::Bytes;
use serde::Serialize;

use crate::provider::Dialect;

/// The most recent entries kept (older ones are dropped so long load tests stay bounded).
pub(crate) const JOURNAL_CAPACITY: usize = 100_000;

/// Header names whose values are replaced by `***` in the journal.
const SECRET_HEADERS: [&str; 5] = [
    "authorization",
    "x-api-key",
    "api-key",
    "x-goog-api-key",
    "x-amz-security-token",
];

/// One recorded request and what the simulator answered.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct JournalEntry {
    /// 1-based sequence number since start or the last reset.
    pub seq: u64,
    /// When the request was received: milliseconds since the Unix epoch (comparable across
    /// processes, for counting requests per rolling window).
    pub received_ms: u64,
    /// The provider whose route was called (`None` for an unknown route).
    pub provider: Option<Dialect>,
    /// HTTP method.
    pub method: String,
    /// Path as received (percent-encoding kept).
    pub path: String,
    /// Query string as received, with `key=` values redacted.
    pub query: Option<String>,
    /// Request headers in order, lowercase names, secrets redacted (`Bearer ***`, `***`).
    pub headers: Vec<(String, String)>,
    /// The request body.
    #[serde(serialize_with = "body_as_text")]
    pub body: Bytes,
    /// The model requested (from the body or the path), when it could be read.
    pub model: Option<String>,
    /// Whether the request asked for a stream.
    pub stream: bool,
    /// HTTP status answered (0 when the connection was reset without a response).
    pub status: u16,
    /// Index (0-based) of the scenario rule that matched, if any.
    pub rule: Option<usize>,
    /// What was done: an action type (`model`, `rate_limit`, `text`, ...) or a protocol
    /// outcome (`auth_rejected`, `invalid_request`, `not_found`).
    pub action: String,
}

fn body_as_text<S: serde::Serializer>(body: &Bytes, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(body))
}

impl JournalEntry {
    /// The body parsed as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The first value of a header (name compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as (lossy) UTF-8 text.
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Redacts a header value if the header carries a secret.
pub(crate) fn redact_header(name: &str, value: &[u8]) -> String {
    if SECRET_HEADERS.contains(&name) {
        let text = String::from_utf8_lossy(value);
        if name == "authorization" {
            if let Some((scheme, _)) = text.split_once(' ') {
                return format!("{scheme} ***");
            }
        }
        return "***".to_owned();
    }
    String::from_utf8_lossy(value).into_owned()
}

/// Redacts `key=` parameters of a query string.
pub(crate) fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _))
                if k.eq_ignore_ascii_case("key")
                    || k.eq_ignore_ascii_case("x-amz-security-token") =>
            {
                format!("{k}=***")
            }
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The bounded, shared journal.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    entries: Mutex<VecDeque<JournalEntry>>,
}

impl Journal {
    pub(crate) fn push(&self, entry: JournalEntry) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= JOURNAL_CAPACITY {
            entries.pop_front();
        }
        entries.push_back(entry);
    }

    pub(crate) fn snapshot(&self) -> Vec<JournalEntry> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.iter().cloned().collect()
    }

    pub(crate) fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction() {
        assert_eq!(
            redact_header("authorization", b"Bearer sk-123"),
            "Bearer ***"
        );
        assert_eq!(redact_header("x-api-key", b"sk-ant"), "***");
        assert_eq!(
            redact_header("content-type", b"application/json"),
            "application/json"
        );
        assert_eq!(redact_query("alt=sse&key=AIza123"), "alt=sse&key=***");
    }
}
