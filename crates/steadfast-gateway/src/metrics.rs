//! `GET /metrics`: the gateway's counters and histograms in the Prometheus text format.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `steadfast_gateway_requests_total` | counter | `protocol`, `status` |
//! | `steadfast_gateway_upstream_attempts_total` | counter | `protocol` |
//! | `steadfast_gateway_retries_total` (attempts beyond each request's first) | counter | `protocol` |
//! | `steadfast_gateway_fallbacks_total` (answered or failed by a target other than the primary) | counter | `protocol` |
//! | `steadfast_gateway_stream_errors_total` (upstream failures after the commit point) | counter | `protocol` |
//! | `steadfast_gateway_tokens_total` | counter | `direction` (`input`, `output`) |
//! | `steadfast_gateway_request_duration_seconds` (to the response head) | histogram | `protocol` |
//! | `steadfast_gateway_time_to_first_token_seconds` (streams: to the commit point) | histogram | `protocol` |
//! | `steadfast_gateway_quota_waits_total` (upstream attempts that waited for their quota) | counter | `deployment` |
//! | `steadfast_gateway_quota_wait_seconds_total` (the time they waited) | counter | `deployment` |
//! | `steadfast_gateway_quota_refusals_total` (attempts the quota refused: never sent) | counter | `deployment` |
//! | `steadfast_gateway_breaker_state` (1 for each breaker's state now, 0 for the other two; a target's breaker is made when it is first called) | gauge | `model`, `target`, `server`, `state` (`closed`, `open`, `half_open`) |
//! | `steadfast_gateway_budget_limit`, `_used`, `_remaining` (each retry budget's current window; with Redis, `used` is the fleet's as last synced) | gauge | `budget` |
//!
//! `deployment` is the configured `provider:model`. The quota series are counted when a
//! request's outcome is known (a stream's when it ends), from its attempt history
//! ([`AttemptSummary::queued`](steadfast::AttemptSummary::queued)) and the refusals its fallback
//! chain caught; a wait that ended in a refusal counts as a refusal only.
//!
//! The budget gauges appear once the config has a `budget` table; `budget` is its name
//! (`gateway`, `gateway.<alias>` or the table's `name`).
//!
//! No label holds a key, a model name the client made up, or content.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use steadfast::resilient::{BreakerStatus, Breakers};
use steadfast::retry::Budget;
use steadfast::{AttemptSummary, Error, ErrorKind};

/// The histogram buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, d: Duration) {
        let v = d.as_secs_f64();
        for (c, b) in self.counts.iter_mut().zip(BUCKETS) {
            if v <= b {
                *c += 1;
            }
        }
        self.sum += v;
        self.count += 1;
    }
}

#[derive(Debug, Default)]
struct Inner {
    requests: BTreeMap<(&'static str, u16), u64>,
    attempts: BTreeMap<&'static str, u64>,
    retries: BTreeMap<&'static str, u64>,
    fallbacks: BTreeMap<&'static str, u64>,
    stream_errors: BTreeMap<&'static str, u64>,
    tokens: [u64; 2],
    duration: BTreeMap<&'static str, Histogram>,
    ttft: BTreeMap<&'static str, Histogram>,
    /// By deployment: (waits, seconds waited, refusals).
    quota: BTreeMap<String, (u64, f64, u64)>,
}

/// The gateway's measurements.
#[derive(Debug, Default)]
pub(crate) struct Metrics(Mutex<Inner>);

/// One finished request, as measured.
pub(crate) struct Sample {
    pub(crate) protocol: &'static str,
    pub(crate) status: u16,
    pub(crate) attempts: u32,
    pub(crate) fallback: bool,
    pub(crate) duration: Duration,
    pub(crate) first_token: Option<Duration>,
}

impl Metrics {
    fn with(&self, f: impl FnOnce(&mut Inner)) {
        f(&mut self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner));
    }

    pub(crate) fn request(&self, s: &Sample) {
        self.with(|m| {
            *m.requests.entry((s.protocol, s.status)).or_default() += 1;
            *m.attempts.entry(s.protocol).or_default() += u64::from(s.attempts);
            *m.retries.entry(s.protocol).or_default() += u64::from(s.attempts.saturating_sub(1));
            if s.fallback {
                *m.fallbacks.entry(s.protocol).or_default() += 1;
            }
            m.duration
                .entry(s.protocol)
                .or_default()
                .observe(s.duration);
            if let Some(t) = s.first_token {
                m.ttft.entry(s.protocol).or_default().observe(t);
            }
        });
    }

    /// What one request's quotas did: the waits in its attempt history, and the refusals among
    /// its errors (`errors`: the final one, if any, and those its fallback chain caught).
    pub(crate) fn quota<'a>(
        &self,
        attempts: &[AttemptSummary],
        errors: impl IntoIterator<Item = &'a Error>,
    ) {
        let refused: Vec<String> = errors
            .into_iter()
            .filter(|e| e.kind() == ErrorKind::QuotaRefused)
            .map(|e| {
                format!(
                    "{}:{}",
                    e.provider().unwrap_or_default(),
                    e.model().unwrap_or_default()
                )
            })
            .collect();
        let waits = attempts.iter().filter(|a| a.queued.is_some());
        if refused.is_empty() && !attempts.iter().any(|a| a.queued.is_some()) {
            return;
        }
        self.with(|m| {
            for a in waits {
                let e = m
                    .quota
                    .entry(format!("{}:{}", a.provider, a.model))
                    .or_default();
                e.0 += 1;
                e.1 += a.queued.map_or(0.0, |q| q.as_secs_f64());
            }
            for d in refused {
                m.quota.entry(d).or_default().2 += 1;
            }
        });
    }

    pub(crate) fn stream_error(&self, protocol: &'static str) {
        self.with(|m| *m.stream_errors.entry(protocol).or_default() += 1);
    }

    pub(crate) fn tokens(&self, input: u64, output: u64) {
        self.with(|m| {
            m.tokens[0] += input;
            m.tokens[1] += output;
        });
    }

    /// The Prometheus text exposition.
    pub(crate) fn render(&self) -> String {
        let m = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = String::new();
        let mut counter = |name: &str, help: &str, rows: Vec<(String, u64)>| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for (labels, v) in rows {
                let _ = writeln!(out, "{name}{labels} {v}");
            }
        };
        counter(
            "steadfast_gateway_requests_total",
            "Requests answered, by inbound protocol and HTTP status.",
            m.requests
                .iter()
                .map(|((p, s), v)| (format!("{{protocol=\"{p}\",status=\"{s}\"}}"), *v))
                .collect(),
        );
        let by_protocol = |map: &BTreeMap<&'static str, u64>| -> Vec<(String, u64)> {
            map.iter()
                .map(|(p, v)| (format!("{{protocol=\"{p}\"}}"), *v))
                .collect()
        };
        counter(
            "steadfast_gateway_upstream_attempts_total",
            "Upstream HTTP attempts.",
            by_protocol(&m.attempts),
        );
        counter(
            "steadfast_gateway_retries_total",
            "Upstream attempts beyond each request's first (retries and fallbacks).",
            by_protocol(&m.retries),
        );
        counter(
            "steadfast_gateway_fallbacks_total",
            "Requests answered (or failed) by a target other than their primary.",
            by_protocol(&m.fallbacks),
        );
        counter(
            "steadfast_gateway_stream_errors_total",
            "Streams ended by an upstream failure after their commit point.",
            by_protocol(&m.stream_errors),
        );
        counter(
            "steadfast_gateway_tokens_total",
            "Tokens the upstreams reported.",
            vec![
                ("{direction=\"input\"}".into(), m.tokens[0]),
                ("{direction=\"output\"}".into(), m.tokens[1]),
            ],
        );
        counter(
            "steadfast_gateway_quota_waits_total",
            "Upstream attempts that waited for their deployment's quota before being sent.",
            by_deployment(&m.quota, |q| q.0),
        );
        let _ = writeln!(
            out,
            "# HELP steadfast_gateway_quota_wait_seconds_total Time upstream attempts waited for their deployment's quota.\n# TYPE steadfast_gateway_quota_wait_seconds_total counter"
        );
        for (d, q) in &m.quota {
            let _ = writeln!(
                out,
                "steadfast_gateway_quota_wait_seconds_total{{deployment=\"{}\"}} {}",
                label(d),
                q.1
            );
        }
        let mut counter = |name: &str, help: &str, rows: Vec<(String, u64)>| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for (labels, v) in rows {
                let _ = writeln!(out, "{name}{labels} {v}");
            }
        };
        counter(
            "steadfast_gateway_quota_refusals_total",
            "Upstream attempts their deployment's quota refused (never sent).",
            by_deployment(&m.quota, |q| q.2),
        );
        for (name, help, map) in [
            (
                "steadfast_gateway_request_duration_seconds",
                "Time from the request to the response head (for a stream, its commit point).",
                &m.duration,
            ),
            (
                "steadfast_gateway_time_to_first_token_seconds",
                "Streams: time from the request to the first content.",
                &m.ttft,
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
            for (p, h) in map {
                for (b, c) in BUCKETS.iter().zip(h.counts) {
                    let _ = writeln!(out, "{name}_bucket{{protocol=\"{p}\",le=\"{b}\"}} {c}");
                }
                let _ = writeln!(
                    out,
                    "{name}_bucket{{protocol=\"{p}\",le=\"+Inf\"}} {}\n{name}_sum{{protocol=\"{p}\"}} {}\n{name}_count{{protocol=\"{p}\"}} {}",
                    h.count, h.sum, h.count
                );
            }
        }
        out
    }
}

/// Appends the retry budgets' gauges (their current window, by budget name) to `out`.
pub(crate) fn render_budgets(out: &mut String, budgets: &[(String, Budget)]) {
    if budgets.is_empty() {
        return;
    }
    for (name, help, pick) in [
        (
            "steadfast_gateway_budget_limit",
            "Extra attempts (retries and fallback switches) each retry budget allows per window.",
            Budget::limit as fn(&Budget) -> u32,
        ),
        (
            "steadfast_gateway_budget_used",
            "Extra attempts taken from each retry budget in its current window (by the fleet, as last synced, when shared).",
            Budget::used,
        ),
        (
            "steadfast_gateway_budget_remaining",
            "Extra attempts left in each retry budget's current window.",
            Budget::remaining,
        ),
    ] {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for (budget, b) in budgets {
            let _ = writeln!(out, "{name}{{budget=\"{}\"}} {}", label(budget), pick(b));
        }
    }
}

/// `steadfast_gateway_breaker_state`: one series per state of each breaker made so far (1 for
/// its state now, 0 for the others), labelled by model name, target and server host.
pub(crate) fn render_breakers(out: &mut String, breakers: &[(String, Breakers)]) {
    let rows: Vec<(&str, BreakerStatus)> = breakers
        .iter()
        .flat_map(|(model, b)| b.states().into_iter().map(move |s| (model.as_str(), s)))
        .collect();
    if rows.is_empty() {
        return;
    }
    let name = "steadfast_gateway_breaker_state";
    let _ = writeln!(
        out,
        "# HELP {name} Each target's circuit breaker: 1 for its state now (closed, open, half_open), 0 for the others.\n# TYPE {name} gauge"
    );
    for (model, s) in rows {
        let now = steadfast::telemetry::metrics::state_name(s.state);
        for state in ["closed", "open", "half_open"] {
            let _ = writeln!(
                out,
                "{name}{{model=\"{}\",target=\"{}\",server=\"{}\",state=\"{state}\"}} {}",
                label(model),
                label(&s.target),
                label(s.server.as_deref().unwrap_or("")),
                u8::from(state == now)
            );
        }
    }
}

/// A label value, escaped as the text format wants.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn by_deployment(
    map: &BTreeMap<String, (u64, f64, u64)>,
    pick: impl Fn(&(u64, f64, u64)) -> u64,
) -> Vec<(String, u64)> {
    map.iter()
        .map(|(d, q)| (format!("{{deployment=\"{}\"}}", label(d)), pick(q)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let m = Metrics::default();
        m.request(&Sample {
            protocol: "openai.chat",
            status: 200,
            attempts: 3,
            fallback: true,
            duration: Duration::from_millis(20),
            first_token: None,
        });
        m.tokens(5, 7);
        let text = m.render();
        assert!(text.contains(
            "steadfast_gateway_requests_total{protocol=\"openai.chat\",status=\"200\"} 1"
        ));
        assert!(text.contains("steadfast_gateway_retries_total{protocol=\"openai.chat\"} 2"));
        assert!(text.contains("steadfast_gateway_fallbacks_total{protocol=\"openai.chat\"} 1"));
        assert!(text.contains("steadfast_gateway_tokens_total{direction=\"output\"} 7"));
        assert!(text.contains(
            "steadfast_gateway_request_duration_seconds_bucket{protocol=\"openai.chat\",le=\"0.01\"} 0"
        ));
        assert!(text.contains(
            "steadfast_gateway_request_duration_seconds_bucket{protocol=\"openai.chat\",le=\"0.025\"} 1"
        ));
    }
}
