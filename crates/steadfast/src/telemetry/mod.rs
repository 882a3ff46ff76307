//! Telemetry: OpenTelemetry GenAI spans through [`tracing`], always on and free when nothing
//! listens.
//!
//! Every call emits `tracing` spans shaped by the OpenTelemetry semantic conventions —
//! [GenAI](https://github.com/open-telemetry/semantic-conventions-genai) (v0.1) for the model
//! operation and the stable HTTP client conventions for each wire attempt — under the target
//! `steadfast`. With a `tracing-opentelemetry` layer installed they become OpenTelemetry spans
//! (`otel.name`, `otel.kind` and `otel.status_code` are that layer's special fields); with no
//! subscriber, or one that filters the target out, they cost a disabled-callsite check each.
//!
//! # The span tree
//!
//! ```text
//! steadfast.fallback            INTERNAL  only when a fallback chain runs
//! └─ chat gpt-4o-mini           CLIENT    one per target: its attempts and the waits between them
//!    ├─ POST                    CLIENT    one per HTTP attempt (http.request.resend_count on resends)
//!    ├─ (event) steadfast.retry.wait
//!    └─ POST
//! ```
//!
//! - **`chat {model}`** (GenAI inference span, kind CLIENT): `gen_ai.operation.name` (`chat`),
//!   `gen_ai.provider.name` (the convention's well-known value: `openai`, `anthropic`,
//!   `gcp.gemini`, `aws.bedrock`, `azure.ai.inference`, `azure.ai.openai`, `mistral_ai`,
//!   `cohere`, `groq`, `x_ai`; another provider's own name otherwise), `gen_ai.request.model`,
//!   `server.address` / `server.port` (from the base URL, at span start), the request parameters
//!   that are set (`gen_ai.request.temperature`, `max_tokens`, `top_p`, `seed`,
//!   `frequency_penalty`, `presence_penalty`, `stop_sequences`), `gen_ai.request.stream` (streams
//!   only), `gen_ai.output.type` (`json` for structured output); on success
//!   `gen_ai.response.id`, `gen_ai.response.model`, `gen_ai.response.finish_reasons`,
//!   `gen_ai.usage.input_tokens` / `output_tokens` and, for a stream,
//!   `gen_ai.response.time_to_first_chunk` (seconds, from the committed attempt's request to its
//!   first content); and `error.type` (the [`ErrorKind`], kebab-case, e.g.
//!   `rate-limited`) with status `ERROR` **only when the operation finally failed** — a retried
//!   and recovered error is not an error of this span. Ours: `steadfast.attempts` (HTTP attempts
//!   on this target) and `steadfast.wait.total_ms` (time spent waiting between them).
//! - **`POST`** (HTTP client span, kind CLIENT): `http.request.method`, `url.full` (credentials
//!   and key-like query parameters replaced by `REDACTED`), `server.address`, `server.port`,
//!   `http.response.status_code`, `http.request.resend_count` (1 for the first retry, 2 for the
//!   second, … absent on the first attempt), `error.type` (the status code for an HTTP error, as
//!   the HTTP conventions say; the error kind for a failure without one, e.g. `timeout`).
//! - **`steadfast.fallback`** (kind INTERNAL, from [`Fallback::run`](steadfast_retry::Fallback::run),
//!   so the closure form gets it too): `steadfast.fallback.targets` (configured),
//!   `steadfast.fallback.tried` (called), `steadfast.fallback.winner` (`provider:model`) and
//!   `steadfast.fallback.winner_index`, `steadfast.fallback.caught` (the error types caught, in
//!   order, comma-separated), `steadfast.fallback.skipped` (`index:reason`, comma-separated),
//!   `steadfast.budget.remaining`, and on failure `steadfast.fallback.stop` and `error.type`.
//! - **`steadfast.retry`** (kind INTERNAL, from [`Retry::run`](steadfast_retry::Retry::run), the
//!   closure form): `steadfast.attempts`, `steadfast.wait.total_ms`, and on failure
//!   `steadfast.retry.stop` and `error.type`. The resilient forms (`call.retry(..).send(..)`) do
//!   not use it: their GenAI span already covers the attempts.
//!
//! # Events
//!
//! What happens *between* spans is recorded as `tracing` events named by the `name:` of the
//! event (the OpenTelemetry event name when they are exported as log records, which the GenAI
//! conventions now prefer to span events), inside the span they belong to:
//!
//! | event | fields |
//! |---|---|
//! | `steadfast.retry.wait` | `steadfast.attempt`, `steadfast.wait.duration_ms`, `steadfast.wait.reason` (`computed` or `server-hint`), `error.type` |
//! | `steadfast.stream.commit` | `gen_ai.response.time_to_first_chunk` |
//! | `steadfast.stream.restart` | `steadfast.restarts_left`, `steadfast.wait.duration_ms`, `error.type` |
//! | `steadfast.breaker.transition` | `steadfast.breaker.from`, `steadfast.breaker.to` (`closed`, `open`, `half_open`) |
//! | `steadfast.fallback.skip` | `steadfast.fallback.index`, `steadfast.fallback.skip_reason` (`circuit-open`, `same-as-previous`) |
//! | `steadfast.budget.refused` | `steadfast.attempt` or `steadfast.fallback.index` |
//!
//! The totals are also attributes of the spans (`steadfast.attempts`, `steadfast.wait.total_ms`,
//! `steadfast.fallback.*`), so a backend that drops events still shows the story.
//!
//! # Content
//!
//! Prompts and answers are **not** recorded unless opted in, with
//! `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true` in the environment (read once) or
//! [`capture_content`]. Then the GenAI span carries `gen_ai.input.messages` (the messages of the
//! last attempt) and `gen_ai.output.messages`, as JSON strings in the conventions' message
//! schema. No key, token or authorization header is recorded at any level, content or not.

mod content;

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use tracing::Span;
use tracing::field::Empty;

use crate::call::Call;
use crate::error::{Error, ErrorKind};
use crate::provider::ChatRequest;
use crate::response::{AttemptSummary, FinishReason, Response, Usage};

/// The `gen_ai.provider.name` of a steadfast provider: the conventions' well-known value where
/// there is one, else the provider's own name.
///
/// ```
/// assert_eq!(steadfast::telemetry::provider_name("gemini"), "gcp.gemini");
/// assert_eq!(steadfast::telemetry::provider_name("xai"), "x_ai");
/// assert_eq!(steadfast::telemetry::provider_name("my-llm"), "my-llm");
/// ```
pub fn provider_name(provider: &str) -> &str {
    match provider {
        "gemini" => "gcp.gemini",
        "bedrock" => "aws.bedrock",
        "azure-inference" => "azure.ai.inference",
        "azure" => "azure.ai.openai",
        "mistral" => "mistral_ai",
        "xai" => "x_ai",
        other => other,
    }
}

const CAPTURE_UNSET: u8 = 0;
const CAPTURE_OFF: u8 = 1;
const CAPTURE_ON: u8 = 2;
static CAPTURE: AtomicU8 = AtomicU8::new(CAPTURE_UNSET);

/// Records prompt and completion content on the GenAI spans (`gen_ai.input.messages`,
/// `gen_ai.output.messages`) from now on, in this process — or stops. Overrides
/// `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`. Content may hold personal data: the
/// default is off.
pub fn capture_content(on: bool) {
    CAPTURE.store(if on { CAPTURE_ON } else { CAPTURE_OFF }, Ordering::Relaxed);
}

/// Whether content is recorded: [`capture_content`], else the environment variable.
pub fn captures_content() -> bool {
    match CAPTURE.load(Ordering::Relaxed) {
        CAPTURE_ON => true,
        CAPTURE_OFF => false,
        _ => {
            static FROM_ENV: OnceLock<bool> = OnceLock::new();
            *FROM_ENV.get_or_init(|| {
                std::env::var("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT")
                    .is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
            })
        }
    }
}

/// What kind of operation a GenAI span stands for.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Operation {
    pub(crate) stream: bool,
    pub(crate) json: bool,
}

/// A stream's telemetry operation.
pub(crate) const STREAM: Operation = Operation {
    stream: true,
    json: false,
};

/// The GenAI CLIENT span of one operation on `call`'s target, with what is known at its start.
pub(crate) fn operation_span(call: &Call, op: Operation) -> Span {
    let span = tracing::info_span!(
        target: "steadfast",
        "chat",
        otel.name = Empty,
        otel.kind = "client",
        otel.status_code = Empty,
        gen_ai.operation.name = "chat",
        gen_ai.provider.name = provider_name(call.provider_name()),
        gen_ai.request.model = call.model(),
        server.address = Empty,
        server.port = Empty,
        gen_ai.request.stream = Empty,
        gen_ai.output.type = Empty,
        gen_ai.request.temperature = Empty,
        gen_ai.request.max_tokens = Empty,
        gen_ai.request.top_p = Empty,
        gen_ai.request.seed = Empty,
        gen_ai.request.frequency_penalty = Empty,
        gen_ai.request.presence_penalty = Empty,
        gen_ai.request.stop_sequences = Empty,
        gen_ai.response.id = Empty,
        gen_ai.response.model = Empty,
        gen_ai.response.finish_reasons = Empty,
        gen_ai.response.time_to_first_chunk = Empty,
        gen_ai.usage.input_tokens = Empty,
        gen_ai.usage.output_tokens = Empty,
        gen_ai.input.messages = Empty,
        gen_ai.output.messages = Empty,
        error.type = Empty,
        steadfast.attempts = Empty,
        steadfast.wait.total_ms = Empty,
    );
    if span.is_disabled() {
        return span;
    }
    span.record("otel.name", format!("chat {}", call.model()).as_str());
    if let Some((host, port)) = call.client().base_url.as_deref().and_then(host_port) {
        span.record("server.address", host.as_str());
        span.record("server.port", port);
    }
    if op.stream {
        span.record("gen_ai.request.stream", true);
    }
    if op.json {
        span.record("gen_ai.output.type", "json");
    }
    let p = call.params();
    if let Some(t) = p.temperature {
        span.record("gen_ai.request.temperature", t);
    }
    if let Some(n) = p.max_tokens {
        span.record("gen_ai.request.max_tokens", n);
    }
    if let Some(t) = p.top_p {
        span.record("gen_ai.request.top_p", t);
    }
    if let Some(s) = p.seed {
        span.record("gen_ai.request.seed", s);
    }
    if let Some(f) = p.frequency_penalty {
        span.record("gen_ai.request.frequency_penalty", f);
    }
    if let Some(f) = p.presence_penalty {
        span.record("gen_ai.request.presence_penalty", f);
    }
    if !p.stop.is_empty() {
        let list = serde_json::to_string(&p.stop).unwrap_or_default();
        span.record("gen_ai.request.stop_sequences", list.as_str());
    }
    span
}

/// Notes the messages of an attempt's request on its operation span, when content is captured.
pub(crate) fn record_input(span: &Span, request: &ChatRequest) {
    if span.is_disabled() || !captures_content() {
        return;
    }
    let json = content::input_messages(&request.messages);
    span.record("gen_ai.input.messages", json.as_str());
}

/// Completes an operation span that succeeded with `response` (whose attempts are this
/// operation's).
pub(crate) fn record_success(span: &Span, response: &Response) {
    if span.is_disabled() {
        return;
    }
    record_answer(
        span,
        response.id(),
        response.model(),
        &response.finish_reason(),
        response.usage(),
    );
    let (n, waited) = totals(&response.attempts);
    record_totals(span, n, waited);
    if captures_content() {
        let json = content::output_messages(response);
        span.record("gen_ai.output.messages", json.as_str());
    }
}

/// Notes the answer of a successful operation.
pub(crate) fn record_answer(
    span: &Span,
    id: Option<&str>,
    model: &str,
    finish: &FinishReason,
    usage: Option<Usage>,
) {
    if span.is_disabled() {
        return;
    }
    if let Some(id) = id {
        span.record("gen_ai.response.id", id);
    }
    span.record("gen_ai.response.model", model);
    let finish = serde_json::to_string(&[finish.as_str()]).unwrap_or_default();
    span.record("gen_ai.response.finish_reasons", finish.as_str());
    if let Some(u) = usage {
        span.record("gen_ai.usage.input_tokens", u.input_tokens);
        span.record("gen_ai.usage.output_tokens", u.output_tokens);
    }
}

/// Notes how many HTTP attempts an operation made, and how long it waited between them.
pub(crate) fn record_totals(span: &Span, attempts: usize, waited_ms: u64) {
    if !span.is_disabled() {
        span.record("steadfast.attempts", attempts);
        span.record("steadfast.wait.total_ms", waited_ms);
    }
}

/// Completes an operation span that failed with `error` (whose attempts are this operation's).
pub(crate) fn record_failure(span: &Span, error: &Error) {
    if span.is_disabled() {
        return;
    }
    let (n, waited) = totals(error.attempts());
    record_error(span, error.kind());
    record_totals(span, n.max(1), waited);
}

/// Marks an operation span as failed with `kind`.
pub(crate) fn record_error(span: &Span, kind: ErrorKind) {
    if !span.is_disabled() {
        span.record("otel.status_code", "ERROR");
        span.record("error.type", kind.as_str());
    }
}

/// The attempt count and total wait (ms) of an operation's history so far.
pub(crate) fn totals(attempts: &[AttemptSummary]) -> (usize, u64) {
    let waited: Duration = attempts.iter().filter_map(|a| a.wait).sum();
    (attempts.len(), waited.as_millis() as u64)
}

/// Notes a stream's commit point: the time from its attempt's request to its first content.
pub(crate) fn record_commit(span: &Span, time_to_first_chunk: Duration) {
    let secs = time_to_first_chunk.as_secs_f64();
    if !span.is_disabled() {
        span.record("gen_ai.response.time_to_first_chunk", secs);
    }
    tracing::event!(
        name: "steadfast.stream.commit",
        target: "steadfast",
        parent: span,
        tracing::Level::INFO,
        gen_ai.response.time_to_first_chunk = secs,
        "stream committed after {time_to_first_chunk:?}"
    );
}

/// Notes the winner of a fallback chain on the chain's span (the span current when the chain
/// called its operation).
pub(crate) fn record_winner(chain_span: &Span, call: &Call) {
    if !chain_span.is_disabled() {
        chain_span.record("steadfast.fallback.winner", call.target().as_str());
    }
}

#[cfg(feature = "__http")]
/// The HTTP CLIENT span of one wire attempt (`attempt` 1 for the first); the URL and status are
/// recorded by [`record_http_request`] and [`record_http_outcome`].
pub(crate) fn http_span(attempt: u32) -> Span {
    let span = tracing::info_span!(
        target: "steadfast",
        "POST",
        otel.kind = "client",
        otel.status_code = Empty,
        http.request.method = "POST",
        url.full = Empty,
        server.address = Empty,
        server.port = Empty,
        http.request.resend_count = Empty,
        http.response.status_code = Empty,
        error.type = Empty,
    );
    if attempt > 1 && !span.is_disabled() {
        span.record("http.request.resend_count", attempt - 1);
    }
    span
}

#[cfg(feature = "__http")]
/// Notes where an HTTP attempt goes, its secrets redacted.
pub(crate) fn record_http_request(span: &Span, url: &str) {
    if span.is_disabled() {
        return;
    }
    span.record("url.full", redact_url(url).as_str());
    if let Some((host, port)) = host_port(url) {
        span.record("server.address", host.as_str());
        span.record("server.port", port);
    }
}

#[cfg(feature = "__http")]
/// Notes how an HTTP attempt ended: its status, and its error when it failed.
pub(crate) fn record_http_outcome(span: &Span, status: Option<u16>, error: Option<&Error>) {
    if span.is_disabled() {
        return;
    }
    if let Some(s) = status {
        span.record("http.response.status_code", s);
    }
    if let Some(e) = error {
        span.record("otel.status_code", "ERROR");
        match status.filter(|s| *s >= 400) {
            Some(s) => span.record("error.type", s.to_string().as_str()),
            None => span.record("error.type", e.kind().as_str()),
        };
    }
}

/// The host and port of a URL (the scheme's default port when it names none).
fn host_port(url: &str) -> Option<(String, u16)> {
    let uri: http::Uri = url.parse().ok()?;
    let host = uri.host()?.trim_start_matches('[').trim_end_matches(']');
    let port = uri.port_u16().or_else(|| match uri.scheme_str() {
        Some("https") => Some(443),
        Some("http") => Some(80),
        _ => None,
    })?;
    Some((host.to_string(), port))
}

#[cfg(feature = "__http")]
/// `url` with its user info and the values of key-like query parameters replaced by `REDACTED`
/// (as the HTTP conventions ask for `url.full`).
fn redact_url(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let mut out = match base.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('/') {
            Some((authority, path)) => {
                format!("{scheme}://{}/{path}", redact_authority(authority))
            }
            None => format!("{scheme}://{}", redact_authority(rest)),
        },
        None => base.to_string(),
    };
    if let Some(q) = query {
        out.push('?');
        for (i, pair) in q.split('&').enumerate() {
            if i > 0 {
                out.push('&');
            }
            match pair.split_once('=') {
                Some((name, _)) if crate::client::is_credential_header(name) || sig_like(name) => {
                    out.push_str(name);
                    out.push_str("=REDACTED");
                }
                _ => out.push_str(pair),
            }
        }
    }
    out
}

#[cfg(feature = "__http")]
fn redact_authority(authority: &str) -> String {
    match authority.rsplit_once('@') {
        Some((_, host)) => format!("REDACTED:REDACTED@{host}"),
        None => authority.to_string(),
    }
}

#[cfg(feature = "__http")]
/// Query parameter names that carry signatures (pre-signed URLs): `sig`, `signature`,
/// `X-Amz-Signature`, `X-Amz-Credential`, `X-Amz-Security-Token`.
fn sig_like(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "sig" || n.contains("signature") || n.contains("credential")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_names_follow_the_conventions() {
        for (ours, theirs) in [
            ("openai", "openai"),
            ("anthropic", "anthropic"),
            ("gemini", "gcp.gemini"),
            ("bedrock", "aws.bedrock"),
            ("azure-inference", "azure.ai.inference"),
            ("azure", "azure.ai.openai"),
            ("mistral", "mistral_ai"),
            ("cohere", "cohere"),
            ("groq", "groq"),
            ("xai", "x_ai"),
            ("litellm", "litellm"),
        ] {
            assert_eq!(provider_name(ours), theirs, "{ours}");
        }
    }

    #[cfg(feature = "__http")]
    #[test]
    fn urls_lose_their_secrets() {
        assert_eq!(
            redact_url("https://user:pw@api.example.com/v1/x?key=sk-1&alt=sse"),
            "https://REDACTED:REDACTED@api.example.com/v1/x?key=REDACTED&alt=sse"
        );
        assert_eq!(
            redact_url("https://h/p?X-Amz-Signature=abc&X-Amz-Credential=AKIA&a=1"),
            "https://h/p?X-Amz-Signature=REDACTED&X-Amz-Credential=REDACTED&a=1"
        );
        assert_eq!(
            redact_url("http://127.0.0.1:8080/v1/chat/completions"),
            "http://127.0.0.1:8080/v1/chat/completions"
        );
    }

    #[test]
    fn host_and_port_from_base_urls() {
        assert_eq!(
            host_port("https://api.openai.com/v1"),
            Some(("api.openai.com".into(), 443))
        );
        assert_eq!(
            host_port("http://127.0.0.1:4010/v1"),
            Some(("127.0.0.1".into(), 4010))
        );
        assert_eq!(host_port("http://[::1]:9/"), Some(("::1".into(), 9)));
        assert_eq!(host_port("not a url"), None);
    }
}
