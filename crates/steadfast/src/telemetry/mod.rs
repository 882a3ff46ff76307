//! Telemetry: OpenTelemetry GenAI spans through [`tracing`], always on and free when nothing
//! listens.
//!
//! Every call emits `tracing` spans shaped by the OpenTelemetry semantic conventions —
//! [GenAI](https://github.com/open-telemetry/semantic-conventions-genai) (v0.1) for the model
//! operation and the stable HTTP client conventions for each wire attempt — under the target
//! `steadfast`. With the `otel` feature's layer (`otel::Spans`) or a `tracing-opentelemetry`
//! layer installed they become OpenTelemetry spans (`otel.name`, `otel.kind` and
//! `otel.status_code` are both layers' special fields); with no
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
//! What happens *between* spans is recorded as `tracing` events inside the span they belong to,
//! each named by its callsite name and carrying no message, so that the name is what an exporter
//! sees: the `otel` feature's layers (`otel::Spans` and `tracing-opentelemetry`) make them span
//! events of that name, and a log bridge (`opentelemetry-appender-tracing`, the log-based events the GenAI
//! conventions now prefer to span events) makes them log records of that event name:
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
//! The choice: the `otel` feature exports these events as span events, because every backend that
//! reads GenAI spans today shows span events in the trace, and log-based events need a logs
//! pipeline an application may not have; what the conventions now prefer is met by the
//! attributes above (the story without events) and by the events being plain `tracing` events
//! that a log bridge turns into log records with no change here. When span events are removed
//! from the SDK, the layers stop making them and the bridge is the path.
//!
//! # Metrics
//!
//! A call that carries a [`Recorder`] ([`Call::recorder`](crate::Call::recorder)) hands it one
//! [`Measurement`] per operation and one [`FallbackMeasurement`] per target a fallback chain
//! called; see [`metrics`]. The `otel` feature's `otel::OtelRecorder` records them as the
//! conventions' `gen_ai.client.operation.duration`, `gen_ai.client.token.usage`,
//! `gen_ai.client.operation.time_to_first_chunk` and ours. No recorder, no work; nothing global.
//!
//! # Content
//!
//! Prompts and answers are **not** recorded unless opted in, with
//! `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true` in the environment (read once) or
//! [`capture_content`]. Then the GenAI span carries `gen_ai.input.messages` (the messages of the
//! last attempt) and `gen_ai.output.messages`, as JSON strings in the conventions' message
//! schema. No key, token or authorization header is recorded at any level, content or not.

mod content;
pub mod metrics;
#[cfg(feature = "otel")]
pub mod otel;

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::time::Instant;

use tracing::Span;
use tracing::field::{Empty, Field};

use crate::call::Call;
use crate::error::{Error, ErrorKind};
use crate::provider::ChatRequest;
use crate::response::{AttemptSummary, FinishReason, Response, Usage};

pub use metrics::{BreakerMeasurement, FallbackMeasurement, Measurement, Recorder};

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

/// `messages` as `gen_ai.input.messages` holds them: a JSON array in the GenAI conventions'
/// message schema (`[{"role": "user", "parts": [{"type": "text", "content": "…"}]}]`), for a
/// caller that records content elsewhere (the gateway's opt-in content log).
pub fn input_messages_json(messages: &[crate::message::Message]) -> String {
    content::input_messages(messages)
}

/// `response` as `gen_ai.output.messages` holds it: one assistant message with its parts and
/// finish reason, as [`input_messages_json`].
pub fn output_messages_json(response: &Response) -> String {
    content::output_messages(response)
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

/// The GenAI CLIENT span of one operation on `call`'s target, with what is known at its start —
/// set when the span is made (the values are computed only when someone listens), as recording
/// them one by one afterwards costs a dispatch each.
fn operation_span(call: &Call, op: Operation) -> Span {
    let p = call.params();
    let server = call.server();
    tracing::info_span!(
        target: "steadfast",
        "chat",
        // Formatted by the subscriber, once, only when someone listens.
        otel.name = %format_args!("chat {}", call.model()),
        otel.kind = "client",
        otel.status_code = Empty,
        gen_ai.operation.name = "chat",
        gen_ai.provider.name = provider_name(call.provider_name()),
        gen_ai.request.model = call.model(),
        server.address = server.map(|(h, _)| &**h),
        server.port = server.map(|(_, p)| i64::from(*p)),
        gen_ai.request.stream = op.stream.then_some(true),
        gen_ai.output.type = op.json.then_some("json"),
        gen_ai.request.temperature = p.temperature,
        gen_ai.request.max_tokens = p.max_tokens.map(i64::from),
        gen_ai.request.top_p = p.top_p,
        gen_ai.request.seed = p.seed,
        gen_ai.request.frequency_penalty = p.frequency_penalty,
        gen_ai.request.presence_penalty = p.presence_penalty,
        gen_ai.request.stop_sequences = json_list(&p.stop).as_deref(),
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
    )
}

/// `items` as a JSON array of strings, `None` when empty (the conventions' string arrays are
/// recorded as JSON strings: `tracing` has no array values).
fn json_list(items: &[String]) -> Option<String> {
    if items.is_empty() {
        None
    } else {
        serde_json::to_string(items).ok()
    }
}

/// The fields of the operation span that are set at its end, looked up once (the span has one
/// callsite, so its fields are the same for every span).
struct EndFields {
    status: Field,
    error: Field,
    id: Field,
    model: Field,
    finish: Field,
    input: Field,
    output: Field,
    attempts: Field,
    waited: Field,
}

fn end_fields(span: &Span) -> Option<&'static EndFields> {
    static FIELDS: OnceLock<Option<EndFields>> = OnceLock::new();
    let fields = span.metadata()?.fields();
    FIELDS
        .get_or_init(|| {
            Some(EndFields {
                status: fields.field("otel.status_code")?,
                error: fields.field("error.type")?,
                id: fields.field("gen_ai.response.id")?,
                model: fields.field("gen_ai.response.model")?,
                finish: fields.field("gen_ai.response.finish_reasons")?,
                input: fields.field("gen_ai.usage.input_tokens")?,
                output: fields.field("gen_ai.usage.output_tokens")?,
                attempts: fields.field("steadfast.attempts")?,
                waited: fields.field("steadfast.wait.total_ms")?,
            })
        })
        .as_ref()
}

/// One operation being observed: its GenAI span and its call's [`Recorder`], with what both
/// need at its end. Cheap when nothing listens: a disabled span, no recorder, one clock read.
pub(crate) struct Observation {
    pub(crate) span: Span,
    /// What a measurement needs, only when the call carries a recorder.
    metered: Option<Box<Metered>>,
}

/// The recorder of an observed operation, and what its measurement names.
struct Metered {
    recorder: Arc<dyn Recorder>,
    started: Instant,
    provider: Arc<str>,
    model: Arc<str>,
    server: Option<(Arc<str>, u16)>,
    stream: bool,
}

impl std::fmt::Debug for Observation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observation")
            .field("span", &self.span)
            .field("metered", &self.metered.is_some())
            .finish_non_exhaustive()
    }
}

/// How an operation ended, for its span and its measurement.
#[derive(Default)]
pub(crate) struct End<'a> {
    pub(crate) error: Option<ErrorKind>,
    pub(crate) id: Option<&'a str>,
    pub(crate) response_model: Option<&'a str>,
    pub(crate) finish: Option<&'a FinishReason>,
    pub(crate) usage: Option<Usage>,
    pub(crate) attempts: usize,
    pub(crate) waited_ms: u64,
    pub(crate) time_to_first_chunk: Option<Duration>,
}

impl Observation {
    /// Starts observing an operation on `call`'s target.
    pub(crate) fn start(call: &Call, op: Operation) -> Self {
        let span = operation_span(call, op);
        let metered = call.recorder_arc().map(|recorder| {
            Box::new(Metered {
                recorder: Arc::clone(recorder),
                started: Instant::now(),
                provider: Arc::clone(call.provider_name_arc()),
                model: Arc::clone(call.model_arc()),
                server: call.server().cloned(),
                stream: op.stream,
            })
        });
        Observation { span, metered }
    }

    /// The operation succeeded with `response`, whose attempts are the operation's.
    pub(crate) fn succeeded(&self, response: &Response) {
        if self.span.is_disabled() && self.metered.is_none() {
            return;
        }
        let (attempts, waited_ms) = totals(&response.attempts);
        let finish = response.finish_reason();
        self.end(End {
            id: response.id(),
            response_model: Some(response.model()),
            finish: Some(&finish),
            usage: response.usage(),
            attempts,
            waited_ms,
            ..End::default()
        });
        if !self.span.is_disabled() && captures_content() {
            let json = content::output_messages(response);
            self.span.record("gen_ai.output.messages", json.as_str());
        }
    }

    /// The operation failed with `error`, whose attempts are the operation's.
    pub(crate) fn failed(&self, error: &Error) {
        if self.span.is_disabled() && self.metered.is_none() {
            return;
        }
        let (attempts, waited_ms) = totals(error.attempts());
        self.end(End {
            error: Some(error.kind()),
            attempts: attempts.max(1),
            waited_ms,
            ..End::default()
        });
    }

    /// The operation ended as `end` says: its span's last attributes and its measurement.
    pub(crate) fn end(&self, end: End<'_>) {
        record_end(&self.span, &end);
        if let Some(m) = &self.metered {
            m.recorder.operation(&Measurement {
                provider: provider_name(&m.provider),
                request_model: &m.model,
                response_model: end.response_model.filter(|_| end.error.is_none()),
                server_address: m.server.as_ref().map(|(h, _)| &**h),
                server_port: m.server.as_ref().map(|(_, p)| *p),
                stream: m.stream,
                duration: m.started.elapsed(),
                error_type: end.error.map(ErrorKind::as_str),
                input_tokens: end.usage.map(|u| u.input_tokens),
                output_tokens: end.usage.map(|u| u.output_tokens),
                time_to_first_chunk: end.time_to_first_chunk,
                attempts: u32::try_from(end.attempts).unwrap_or(u32::MAX),
                waited: Duration::from_millis(end.waited_ms),
            });
        }
    }
}

/// The end of an operation on its span, in one dispatch.
fn record_end(span: &Span, end: &End<'_>) {
    let (Some(meta), Some(f)) = (span.metadata(), end_fields(span)) else {
        return;
    };
    let ok = end.error.is_none();
    let finish: Option<String> = end
        .finish
        .filter(|_| ok)
        .and_then(|r| serde_json::to_string(&[r.as_str()]).ok());
    let attempts = i64::try_from(end.attempts).unwrap_or(i64::MAX);
    let waited = i64::try_from(end.waited_ms).unwrap_or(i64::MAX);
    let usage = end.usage.filter(|_| ok);
    let input = usage.map(|u| i64::try_from(u.input_tokens).unwrap_or(i64::MAX));
    let output = usage.map(|u| i64::try_from(u.output_tokens).unwrap_or(i64::MAX));
    let error = end.error.map(ErrorKind::as_str);
    let status = error.map(|_| "ERROR");
    let id = end.id.filter(|_| ok);
    let model = end.response_model.filter(|_| ok);
    let values: [(&Field, Option<&dyn tracing::Value>); 9] = [
        (&f.status, status.as_ref().map(|v| v as &dyn tracing::Value)),
        (&f.error, error.as_ref().map(|v| v as &dyn tracing::Value)),
        (&f.id, id.as_ref().map(|v| v as &dyn tracing::Value)),
        (&f.model, model.as_ref().map(|v| v as &dyn tracing::Value)),
        (&f.finish, finish.as_ref().map(|v| v as &dyn tracing::Value)),
        (&f.input, input.as_ref().map(|v| v as &dyn tracing::Value)),
        (&f.output, output.as_ref().map(|v| v as &dyn tracing::Value)),
        (&f.attempts, Some(&attempts as &dyn tracing::Value)),
        (&f.waited, Some(&waited as &dyn tracing::Value)),
    ];
    span.record_all(&meta.fields().value_set(&values));
}

/// Notes on a fallback chain's span and recorder that `target`, at `position`, won or failed.
pub(crate) fn record_fallback_target(
    chain_span: &Span,
    call: &Call,
    position: usize,
    outcome: Result<(), &Error>,
) {
    let recorder = call.recorder_arc();
    if chain_span.is_disabled() && recorder.is_none() {
        return;
    }
    let target = call.target();
    if outcome.is_ok() && !chain_span.is_disabled() {
        chain_span.record("steadfast.fallback.winner", target.as_str());
    }
    if let Some(r) = recorder {
        r.fallback(&FallbackMeasurement {
            target: &target,
            position,
            won: outcome.is_ok(),
            error_type: outcome.err().map(|e| e.kind().as_str()),
        });
    }
}

/// Notes the messages of an attempt's request on its operation span, when content is captured.
pub(crate) fn record_input(span: &Span, request: &ChatRequest) {
    if span.is_disabled() || !captures_content() {
        return;
    }
    let json = content::input_messages(&request.messages);
    span.record("gen_ai.input.messages", json.as_str());
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
    );
}

#[cfg(feature = "__http")]
/// The HTTP CLIENT span of one wire attempt (`attempt` 1 for the first) to `url`, with all it
/// knows at its start; the status is recorded by [`record_http_outcome`].
pub(crate) fn http_span(attempt: u32, url: &str) -> Span {
    // Parsed only when someone listens.
    let server = if tracing::span_enabled!(target: "steadfast", tracing::Level::INFO) {
        host_port(url)
    } else {
        None
    };
    tracing::info_span!(
        target: "steadfast",
        "POST",
        otel.kind = "client",
        otel.status_code = Empty,
        http.request.method = "POST",
        url.full = redact_url(url).as_ref(),
        server.address = server.map(|(h, _)| h),
        server.port = server.map(|(_, p)| i64::from(p)),
        http.request.resend_count = (attempt > 1).then(|| i64::from(attempt - 1)),
        http.response.status_code = Empty,
        error.type = Empty,
    )
}

#[cfg(feature = "__http")]
/// Notes how an HTTP attempt ended: its status, and its error when it failed.
pub(crate) fn record_http_outcome(span: &Span, status: Option<u16>, error: Option<&Error>) {
    if span.is_disabled() {
        return;
    }
    let Some(e) = error else {
        if let Some(s) = status {
            span.record("http.response.status_code", i64::from(s));
        }
        return;
    };
    // The HTTP conventions' error.type: the status code of an HTTP error, else the error's class.
    let kind = match status.filter(|s| *s >= 400) {
        Some(s) => std::borrow::Cow::Owned(s.to_string()),
        None => std::borrow::Cow::Borrowed(e.kind().as_str()),
    };
    let Some(meta) = span.metadata() else {
        return;
    };
    let fields = meta.fields();
    let (Some(code), Some(status_code), Some(error_type)) = (
        fields.field("http.response.status_code"),
        fields.field("otel.status_code"),
        fields.field("error.type"),
    ) else {
        return;
    };
    let status = status.map(i64::from);
    let kind: &str = &kind;
    let values: [(&Field, Option<&dyn tracing::Value>); 3] = [
        (&code, status.as_ref().map(|v| v as &dyn tracing::Value)),
        (&status_code, Some(&"ERROR" as &dyn tracing::Value)),
        (&error_type, Some(&kind as &dyn tracing::Value)),
    ];
    span.record_all(&fields.value_set(&values));
}

/// The host and port of a URL (the scheme's default port when it names none): a split of
/// `scheme://[userinfo@]host[:port][/…]`, not a full parse — this runs for every span.
pub(crate) fn host_port(url: &str) -> Option<(&str, u16)> {
    // A scheme holds no ':'; memchr's searches, as this runs for every HTTP span (all the
    // bytes searched for are ASCII, so every index is a char boundary).
    let colon = memchr::memchr(b':', url.as_bytes())?;
    let scheme = &url[..colon];
    let rest = url[colon..].strip_prefix("://")?;
    let end = memchr::memchr3(b'/', b'?', b'#', rest.as_bytes()).unwrap_or(rest.len());
    let authority = &rest[..end];
    let authority =
        memchr::memrchr(b'@', authority.as_bytes()).map_or(authority, |i| &authority[i + 1..]);
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (host, after) = v6.split_once(']')?;
            (host, after.strip_prefix(':'))
        }
        None => match memchr::memrchr(b':', authority.as_bytes()) {
            Some(i) => (&authority[..i], Some(&authority[i + 1..])),
            None => (authority, None),
        },
    };
    if host.is_empty() {
        return None;
    }
    let port = match port {
        Some(p) => p.parse().ok()?,
        None if scheme.eq_ignore_ascii_case("https") => 443,
        None if scheme.eq_ignore_ascii_case("http") => 80,
        None => return None,
    };
    Some((host, port))
}

#[cfg(any(feature = "__http", feature = "otel"))]
/// `url` with its user info and the values of key-like query parameters replaced by `REDACTED`
/// (as the HTTP conventions ask for `url.full`).
pub(crate) fn redact_url(url: &str) -> std::borrow::Cow<'_, str> {
    // Bytewise: this runs for every HTTP span.
    if memchr::memchr2(b'?', b'@', url.as_bytes()).is_none() {
        return std::borrow::Cow::Borrowed(url);
    }
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
        // No scheme (a mistyped endpoint): the user info, if any, still goes.
        None => match base.split_once('/') {
            Some((authority, path)) => format!("{}/{path}", redact_authority(authority)),
            None => redact_authority(base),
        },
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
    std::borrow::Cow::Owned(out)
}

#[cfg(any(feature = "__http", feature = "otel"))]
fn redact_authority(authority: &str) -> String {
    match authority.rsplit_once('@') {
        Some((_, host)) => format!("REDACTED:REDACTED@{host}"),
        None => authority.to_string(),
    }
}

#[cfg(any(feature = "__http", feature = "otel"))]
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

    #[cfg(any(feature = "__http", feature = "otel"))]
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
        assert_eq!(redact_url("u:pw@h/x"), "REDACTED:REDACTED@h/x");
        assert_eq!(
            redact_url("http://127.0.0.1:8080/v1/chat/completions"),
            "http://127.0.0.1:8080/v1/chat/completions"
        );
    }

    #[test]
    fn host_and_port_from_base_urls() {
        assert_eq!(
            host_port("https://api.openai.com/v1"),
            Some(("api.openai.com", 443))
        );
        assert_eq!(
            host_port("http://127.0.0.1:4010/v1"),
            Some(("127.0.0.1", 4010))
        );
        assert_eq!(host_port("http://[::1]:9/"), Some(("::1", 9)));
        assert_eq!(host_port("https://[::1]/v1"), Some(("::1", 443)));
        assert_eq!(
            host_port("https://u:p@h.example:8443/x?y=1"),
            Some(("h.example", 8443))
        );
        assert_eq!(host_port("http://h?x=1"), Some(("h", 80)));
        assert_eq!(host_port("not a url"), None);
        assert_eq!(host_port("http://:80/"), None);
        assert_eq!(host_port("http://h:notaport/"), None);
        assert_eq!(host_port("ftp://h/"), None);
    }
}
