//! What the simulator does with a request: answer (from the deterministic model or a script),
//! fail with a provider-native error, or misbehave at the transport level.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::SimError;

/// The kind of a provider error. Each provider renders it with its own status, body and headers
/// (for example [`FaultKind::Overloaded`] is Anthropic's 529 `overloaded_error` and OpenAI's 503).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FaultKind {
    /// Rate limited (429).
    RateLimit,
    /// Quota or credit exhausted (OpenAI 429 `insufficient_quota`, Anthropic 402 `billing_error`).
    QuotaExhausted,
    /// Overloaded (Anthropic 529, others 503).
    Overloaded,
    /// Internal server error (500).
    ServerError,
    /// Upstream timeout (504; Bedrock 408 `ModelTimeoutException`).
    Timeout,
    /// Authentication failed (401; xAI 400; Gemini 400 `API_KEY_INVALID`; Bedrock 403).
    Auth,
    /// Permission denied (403).
    PermissionDenied,
    /// Model or resource not found (404).
    NotFound,
    /// The prompt exceeds the model's context window (400).
    ContextWindowExceeded,
    /// The prompt was rejected by a content filter (400).
    ContentFilter,
    /// Malformed or invalid request (400).
    BadRequest,
    /// Conflict (409).
    Conflict,
}

impl FaultKind {
    const NAMES: [(FaultKind, &'static str); 12] = [
        (FaultKind::RateLimit, "rate_limit"),
        (FaultKind::QuotaExhausted, "quota_exhausted"),
        (FaultKind::Overloaded, "overloaded"),
        (FaultKind::ServerError, "server_error"),
        (FaultKind::Timeout, "timeout"),
        (FaultKind::Auth, "auth"),
        (FaultKind::PermissionDenied, "permission_denied"),
        (FaultKind::NotFound, "not_found"),
        (FaultKind::ContextWindowExceeded, "context_window_exceeded"),
        (FaultKind::ContentFilter, "content_filter"),
        (FaultKind::BadRequest, "bad_request"),
        (FaultKind::Conflict, "conflict"),
    ];

    /// The snake_case name used in scenario files.
    pub fn name(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(k, _)| *k == self)
            .map_or("server_error", |(_, n)| n)
    }

    /// Parses a scenario-file name (see [`FaultKind::name`]).
    pub fn from_name(name: &str) -> Option<FaultKind> {
        Self::NAMES
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(k, _)| *k)
    }
}

/// How `retry-after` is expressed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum RetryAfter {
    /// Seconds (may be fractional); Gemini renders it as `RetryInfo.retryDelay`.
    Seconds(f64),
    /// An HTTP date this many seconds in the future.
    DateIn(u64),
}

/// A provider-native error: kind plus optional overrides.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ErrorSpec {
    pub(crate) kind: FaultKind,
    pub(crate) status: Option<u16>,
    pub(crate) message: Option<String>,
    pub(crate) retry_after: Option<RetryAfter>,
    pub(crate) retry_after_ms: Option<u64>,
    pub(crate) should_retry: Option<bool>,
    pub(crate) headers: Vec<(String, String)>,
    /// The error `type` where the provider has several for one kind (OpenAI's 429: `requests`
    /// or `tokens`); `None` = the kind's usual one.
    pub(crate) error_type: Option<&'static str>,
}

impl ErrorSpec {
    pub(crate) fn new(kind: FaultKind) -> Self {
        ErrorSpec {
            kind,
            status: None,
            message: None,
            retry_after: None,
            retry_after_ms: None,
            should_retry: None,
            headers: Vec::new(),
            error_type: None,
        }
    }
}

/// A scripted tool call: the name and the raw argument string sent to the client (which may be
/// invalid JSON or fail the tool's schema on purpose).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolCallScript {
    /// Tool name.
    pub name: String,
    /// Raw argument text. In files, a JSON object/array value is serialized compactly; a string
    /// is sent verbatim.
    #[serde(with = "raw_args")]
    pub arguments: String,
}

mod raw_args {
    use serde::{Deserialize, Deserializer, Serializer};
    use serde_json::Value;

    pub(super) fn serialize<S: Serializer>(v: &str, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(v)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) => Ok(s),
            other => Ok(other.to_string()),
        }
    }
}

/// What the answer of a reply action is.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Reply {
    /// The deterministic model's answer for the request.
    Model,
    /// Exact text.
    Text(String),
    /// Tool calls, optionally preceded by text.
    ToolCalls {
        text: Option<String>,
        calls: Vec<ToolCallScript>,
    },
    /// Structured output sent as the text of the answer (already serialized).
    Structured(String),
    /// A refusal (OpenAI `message.refusal`, Anthropic `stop_reason: refusal`).
    Refusal(String),
}

/// A fault injected into a reply's body.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum StreamFault {
    /// Stop after N events, with no terminator.
    Cut(usize),
    /// After N events, the provider's in-band error event.
    InBandError(usize, ErrorSpec),
    /// After N events, one malformed event, then the rest of the stream.
    Malformed(usize),
    /// After N events, abort the connection.
    Reset(usize),
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Outcome {
    Reply(Reply),
    Error(ErrorSpec),
    /// A non-JSON HTML page from a gateway with this status.
    Gateway(u16),
    /// Close the connection without any HTTP response.
    Reset,
}

/// What to do with a matched request. Build one with a constructor ([`Action::rate_limit`],
/// [`Action::text`], ...) and refine it with the chainable methods; or load it from a scenario
/// file (see the crate README for the format).
///
/// ```
/// use steadfast_sim::Action;
/// let a = Action::rate_limit().retry_after_secs(1).should_retry(true);
/// let b = Action::model().chunk_delay_ms(20).cut_after(3);
/// let c = Action::tool_call("get_weather", r#"{"city": 1"#);
/// let d = Action::model().novelty().cut_after(5);
/// # let _ = (a, b, c, d);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ActionSpec", into = "ActionSpec")]
pub struct Action {
    pub(crate) outcome: Outcome,
    pub(crate) delay: Option<Duration>,
    pub(crate) chunk_delay: Option<Duration>,
    pub(crate) fault: Option<StreamFault>,
    /// Render the reply with the novelty fault's additions (only ever set on replies).
    pub(crate) novelty: bool,
}

impl Default for Action {
    fn default() -> Self {
        Action::model()
    }
}

impl Action {
    fn with(outcome: Outcome) -> Self {
        Action {
            outcome,
            delay: None,
            chunk_delay: None,
            fault: None,
            novelty: false,
        }
    }

    /// Answer with the deterministic model (the default when no rule matches). Useful with
    /// latency or stream faults.
    #[must_use]
    pub fn model() -> Self {
        Self::with(Outcome::Reply(Reply::Model))
    }

    /// Answer with exactly this text.
    #[must_use]
    pub fn text(text: impl Into<String>) -> Self {
        Self::with(Outcome::Reply(Reply::Text(text.into())))
    }

    /// Answer with one tool call whose raw argument string is `arguments` (may be invalid JSON).
    #[must_use]
    pub fn tool_call(name: impl Into<String>, arguments: impl Into<String>) -> Self {
        Self::with(Outcome::Reply(Reply::ToolCalls {
            text: None,
            calls: vec![ToolCallScript {
                name: name.into(),
                arguments: arguments.into(),
            }],
        }))
    }

    /// Adds another tool call (parallel calls) to a tool-call action; on any other action it
    /// turns the answer into tool calls.
    #[must_use]
    pub fn and_tool_call(mut self, name: impl Into<String>, arguments: impl Into<String>) -> Self {
        let call = ToolCallScript {
            name: name.into(),
            arguments: arguments.into(),
        };
        match &mut self.outcome {
            Outcome::Reply(Reply::ToolCalls { calls, .. }) => calls.push(call),
            other => {
                *other = Outcome::Reply(Reply::ToolCalls {
                    text: None,
                    calls: vec![call],
                })
            }
        }
        self
    }

    /// Answer with this structured-output value (serialized compactly as the answer text).
    #[must_use]
    pub fn structured(value: Value) -> Self {
        Self::with(Outcome::Reply(Reply::Structured(value.to_string())))
    }

    /// Answer with this raw text as structured output (may be invalid JSON on purpose).
    #[must_use]
    pub fn structured_raw(raw: impl Into<String>) -> Self {
        Self::with(Outcome::Reply(Reply::Structured(raw.into())))
    }

    /// Answer with a refusal.
    #[must_use]
    pub fn refusal(message: impl Into<String>) -> Self {
        Self::with(Outcome::Reply(Reply::Refusal(message.into())))
    }

    /// Fail with the provider's native error of this kind.
    #[must_use]
    pub fn error(kind: FaultKind) -> Self {
        Self::with(Outcome::Error(ErrorSpec::new(kind)))
    }

    /// Rate limit (429).
    #[must_use]
    pub fn rate_limit() -> Self {
        Self::error(FaultKind::RateLimit)
    }

    /// Quota exhausted (OpenAI `insufficient_quota`).
    #[must_use]
    pub fn quota_exhausted() -> Self {
        Self::error(FaultKind::QuotaExhausted)
    }

    /// Overloaded (Anthropic 529, others 503).
    #[must_use]
    pub fn overloaded() -> Self {
        Self::error(FaultKind::Overloaded)
    }

    /// Internal server error (500).
    #[must_use]
    pub fn server_error() -> Self {
        Self::error(FaultKind::ServerError)
    }

    /// Upstream timeout (504, Bedrock 408).
    #[must_use]
    pub fn timeout() -> Self {
        Self::error(FaultKind::Timeout)
    }

    /// Authentication failure.
    #[must_use]
    pub fn auth() -> Self {
        Self::error(FaultKind::Auth)
    }

    /// Context window exceeded.
    #[must_use]
    pub fn context_window_exceeded() -> Self {
        Self::error(FaultKind::ContextWindowExceeded)
    }

    /// Content filter rejection.
    #[must_use]
    pub fn content_filter() -> Self {
        Self::error(FaultKind::ContentFilter)
    }

    /// Bad request (400).
    #[must_use]
    pub fn bad_request() -> Self {
        Self::error(FaultKind::BadRequest)
    }

    /// A non-JSON HTML gateway page with this status (e.g. 502, 503).
    #[must_use]
    pub fn gateway(status: u16) -> Self {
        Self::with(Outcome::Gateway(status))
    }

    /// Close the connection without sending any HTTP response.
    #[must_use]
    pub fn reset() -> Self {
        Self::with(Outcome::Reset)
    }

    fn error_mut(&mut self) -> Option<&mut ErrorSpec> {
        match &mut self.outcome {
            Outcome::Error(e) => Some(e),
            _ => match &mut self.fault {
                Some(StreamFault::InBandError(_, e)) => Some(e),
                _ => None,
            },
        }
    }

    /// Overrides the HTTP status of an error (or of a gateway page).
    #[must_use]
    pub fn status(mut self, status: u16) -> Self {
        if let Outcome::Gateway(s) = &mut self.outcome {
            *s = status;
        } else if let Some(e) = self.error_mut() {
            e.status = Some(status);
        }
        self
    }

    /// Overrides the error message.
    #[must_use]
    pub fn message(mut self, message: impl Into<String>) -> Self {
        if let Some(e) = self.error_mut() {
            e.message = Some(message.into());
        }
        self
    }

    /// Sends `retry-after: <secs>` (Gemini: `RetryInfo.retryDelay`).
    #[must_use]
    pub fn retry_after_secs(self, secs: u64) -> Self {
        self.retry_after_secs_f64(secs as f64)
    }

    /// Sends a fractional `retry-after` (e.g. `1.5`).
    #[must_use]
    pub fn retry_after_secs_f64(mut self, secs: f64) -> Self {
        if let Some(e) = self.error_mut() {
            e.retry_after = Some(RetryAfter::Seconds(secs));
        }
        self
    }

    /// Sends `retry-after` as an HTTP date `secs` seconds from now.
    #[must_use]
    pub fn retry_after_date_in(mut self, secs: u64) -> Self {
        if let Some(e) = self.error_mut() {
            e.retry_after = Some(RetryAfter::DateIn(secs));
        }
        self
    }

    /// Sends `retry-after-ms: <ms>`.
    #[must_use]
    pub fn retry_after_ms(mut self, ms: u64) -> Self {
        if let Some(e) = self.error_mut() {
            e.retry_after_ms = Some(ms);
        }
        self
    }

    /// Sends `x-should-retry: true|false`.
    #[must_use]
    pub fn should_retry(mut self, retry: bool) -> Self {
        if let Some(e) = self.error_mut() {
            e.should_retry = Some(retry);
        }
        self
    }

    /// Adds a response header to an error.
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        if let Some(e) = self.error_mut() {
            e.headers.push((name.into(), value.into()));
        }
        self
    }

    /// Waits this long before sending the response head (paused-time friendly).
    #[must_use]
    pub fn delay_ms(mut self, ms: u64) -> Self {
        self.delay = Some(Duration::from_millis(ms));
        self
    }

    /// Waits this long before each stream event after the first.
    #[must_use]
    pub fn chunk_delay_ms(mut self, ms: u64) -> Self {
        self.chunk_delay = Some(Duration::from_millis(ms));
        self
    }

    /// Ends the body after `n` events with no terminator (non-streaming: a truncated JSON body).
    #[must_use]
    pub fn cut_after(mut self, n: usize) -> Self {
        self.fault = Some(StreamFault::Cut(n));
        self
    }

    /// After `n` events, sends the provider's in-band error of this kind (non-streaming: the
    /// HTTP error).
    #[must_use]
    pub fn error_after(mut self, n: usize, kind: FaultKind) -> Self {
        self.fault = Some(StreamFault::InBandError(n, ErrorSpec::new(kind)));
        self
    }

    /// After `n` events, sends one event whose payload is not valid JSON (Bedrock: a frame with a
    /// bad CRC), then the rest of the stream.
    #[must_use]
    pub fn malformed_after(mut self, n: usize) -> Self {
        self.fault = Some(StreamFault::Malformed(n));
        self
    }

    /// After `n` events, aborts the connection (the body ends with a transport error).
    #[must_use]
    pub fn reset_after(mut self, n: usize) -> Self {
        self.fault = Some(StreamFault::Reset(n));
        self
    }

    /// Renders the reply with what providers add over time, so a client can be checked for
    /// tolerance: an unknown field in every JSON object, unknown stream events between the
    /// known ones and unknown content blocks (or parts) around the known ones, with names
    /// prefixed `x_novelty` / `xNovelty` (the crate README lists them per provider). The
    /// text, tool calls, usage and finish reason stay the same. Combines with every reply
    /// action and with the stream faults (their `n` counts the novel events too). It has no
    /// effect on error, gateway and reset actions (a scenario file rejects it there).
    #[must_use]
    pub fn novelty(mut self) -> Self {
        if matches!(self.outcome, Outcome::Reply(_)) {
            self.novelty = true;
        }
        self
    }

    /// A short label for the journal: the `type` used in scenario files.
    pub fn label(&self) -> &'static str {
        match &self.outcome {
            Outcome::Reply(Reply::Model) => "model",
            Outcome::Reply(Reply::Text(_)) => "text",
            Outcome::Reply(Reply::ToolCalls { .. }) => "tool_call",
            Outcome::Reply(Reply::Structured(_)) => "structured",
            Outcome::Reply(Reply::Refusal(_)) => "refusal",
            Outcome::Error(e) => e.kind.name(),
            Outcome::Gateway(_) => "gateway",
            Outcome::Reset => "reset",
        }
    }
}

/// The flat file form of an [`Action`].
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionSpec {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tool_calls: Option<Vec<ToolCallScript>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    json: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    raw: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retry_after: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retry_after_date: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retry_after_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    should_retry: Option<bool>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    delay_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    chunk_delay_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cut_after: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error_after: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stream_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    malformed_after: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reset_after: Option<usize>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    novelty: bool,
}

fn invalid(msg: String) -> SimError {
    SimError::InvalidScenario(msg)
}

impl TryFrom<ActionSpec> for Action {
    type Error = SimError;

    fn try_from(s: ActionSpec) -> Result<Self, SimError> {
        let need_text = |what: &str| {
            s.text
                .clone()
                .ok_or_else(|| invalid(format!("action `{what}` needs `text`")))
        };
        let mut action = match s.kind.as_str() {
            "model" => Action::model(),
            "text" => Action::text(need_text("text")?),
            "refusal" => Action::refusal(need_text("refusal")?),
            "tool_call" | "tool_calls" => {
                let calls = s.tool_calls.clone().unwrap_or_default();
                if calls.is_empty() {
                    return Err(invalid(
                        "action `tool_call` needs a non-empty `tool_calls`".into(),
                    ));
                }
                Action::with(Outcome::Reply(Reply::ToolCalls {
                    text: s.text.clone(),
                    calls,
                }))
            }
            "structured" => match (&s.json, &s.raw) {
                (Some(v), None) => Action::structured(v.clone()),
                (None, Some(r)) => Action::structured_raw(r.clone()),
                _ => {
                    return Err(invalid(
                        "action `structured` needs exactly one of `json`, `raw`".into(),
                    ));
                }
            },
            "gateway" => Action::gateway(s.status.unwrap_or(502)),
            "reset" => Action::reset(),
            other => match FaultKind::from_name(other) {
                Some(kind) => Action::error(kind),
                None => return Err(invalid(format!("unknown action type `{other}`"))),
            },
        };
        if let Some(n) = s.cut_after {
            action = action.cut_after(n);
        }
        if let Some(n) = s.malformed_after {
            action = action.malformed_after(n);
        }
        if let Some(n) = s.reset_after {
            action = action.reset_after(n);
        }
        if let Some(n) = s.error_after {
            let name = s.stream_error.as_deref().unwrap_or("server_error");
            let kind = FaultKind::from_name(name)
                .ok_or_else(|| invalid(format!("unknown stream_error `{name}`")))?;
            action = action.error_after(n, kind);
        } else if s.stream_error.is_some() {
            return Err(invalid("`stream_error` needs `error_after`".into()));
        }
        let faults = [
            s.cut_after.is_some(),
            s.malformed_after.is_some(),
            s.reset_after.is_some(),
            s.error_after.is_some(),
        ];
        if faults.iter().filter(|f| **f).count() > 1 {
            return Err(invalid(
                "at most one of cut_after, error_after, malformed_after, reset_after".into(),
            ));
        }
        if action.fault.is_some() && !matches!(action.outcome, Outcome::Reply(_)) {
            return Err(invalid(format!(
                "stream faults apply to replies, not to `{}`",
                s.kind
            )));
        }
        if s.novelty {
            if !matches!(action.outcome, Outcome::Reply(_)) {
                return Err(invalid(format!(
                    "`novelty` applies to replies (model, text, tool_call, structured, refusal), not to `{}`",
                    s.kind
                )));
            }
            action = action.novelty();
        }
        if let Some(status) = s.status {
            if !(100..=999).contains(&status) {
                return Err(invalid(format!("invalid status {status}")));
            }
            action = action.status(status);
        }
        if let Some(m) = s.message {
            action = action.message(m);
        }
        if let Some(r) = s.retry_after {
            if !r.is_finite() || r < 0.0 {
                return Err(invalid(format!("invalid retry_after {r}")));
            }
            action = action.retry_after_secs_f64(r);
        }
        if let Some(r) = s.retry_after_date {
            action = action.retry_after_date_in(r);
        }
        if let Some(ms) = s.retry_after_ms {
            action = action.retry_after_ms(ms);
        }
        if let Some(b) = s.should_retry {
            action = action.should_retry(b);
        }
        for (k, v) in s.headers {
            if http::HeaderName::from_bytes(k.as_bytes()).is_err()
                || http::HeaderValue::from_str(&v).is_err()
            {
                return Err(invalid(format!("invalid header `{k}`")));
            }
            action = action.header(k, v);
        }
        if let Some(ms) = s.delay_ms {
            action = action.delay_ms(ms);
        }
        if let Some(ms) = s.chunk_delay_ms {
            action = action.chunk_delay_ms(ms);
        }
        Ok(action)
    }
}

impl From<Action> for ActionSpec {
    fn from(a: Action) -> Self {
        let mut s = ActionSpec {
            kind: a.label().to_owned(),
            ..ActionSpec::default()
        };
        let fill_error = |s: &mut ActionSpec, e: &ErrorSpec| {
            s.status = e.status;
            s.message = e.message.clone();
            match e.retry_after {
                Some(RetryAfter::Seconds(v)) => s.retry_after = Some(v),
                Some(RetryAfter::DateIn(v)) => s.retry_after_date = Some(v),
                None => {}
            }
            s.retry_after_ms = e.retry_after_ms;
            s.should_retry = e.should_retry;
            s.headers = e.headers.iter().cloned().collect();
        };
        match &a.outcome {
            Outcome::Reply(Reply::Model) | Outcome::Reset => {}
            Outcome::Reply(Reply::Text(t)) | Outcome::Reply(Reply::Refusal(t)) => {
                s.text = Some(t.clone())
            }
            Outcome::Reply(Reply::ToolCalls { text, calls }) => {
                s.text = text.clone();
                s.tool_calls = Some(calls.clone());
            }
            Outcome::Reply(Reply::Structured(raw)) => match serde_json::from_str::<Value>(raw) {
                Ok(v) if serde_json::to_string(&v).ok().as_deref() == Some(raw.as_str()) => {
                    s.json = Some(v)
                }
                _ => s.raw = Some(raw.clone()),
            },
            Outcome::Error(e) => fill_error(&mut s, e),
            Outcome::Gateway(status) => s.status = Some(*status),
        }
        s.novelty = a.novelty;
        s.delay_ms = a.delay.map(|d| d.as_millis() as u64);
        s.chunk_delay_ms = a.chunk_delay.map(|d| d.as_millis() as u64);
        match &a.fault {
            None => {}
            Some(StreamFault::Cut(n)) => s.cut_after = Some(*n),
            Some(StreamFault::Malformed(n)) => s.malformed_after = Some(*n),
            Some(StreamFault::Reset(n)) => s.reset_after = Some(*n),
            Some(StreamFault::InBandError(n, e)) => {
                s.error_after = Some(*n);
                s.stream_error = Some(e.kind.name().to_owned());
                fill_error(&mut s, e);
            }
        }
        s
    }
}
