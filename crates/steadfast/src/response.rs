//! What a call returns: [`Response`].

use std::sync::{Arc, LazyLock, OnceLock};
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use steadfast_retry::WaitReason;

use crate::error::{Error, ErrorKind, SharedStr};
use crate::message::{Message, OtherPart, Part, Reasoning, Role, ToolCall};
use crate::tool::{Tool, ToolUse, validate_calls};

/// Why the model stopped, normalised across providers. The provider's own value is kept in
/// [`Response::raw_finish_reason`].
///
/// A reason this version does not know is [`Other`](FinishReason::Other), holding the provider's
/// word: a new finish reason never fails a call.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FinishReason {
    /// The model finished its answer (OpenAI `stop`, Anthropic `end_turn`, Gemini `STOP`).
    Stop,
    /// A stop sequence was produced.
    StopSequence,
    /// The output token limit (or the context window) was reached.
    Length,
    /// The model called tools.
    ToolCalls,
    /// A content filter cut the output (OpenAI `content_filter`, Gemini `SAFETY`, Bedrock
    /// `guardrail_intervened`, …).
    ContentFilter,
    /// The model refused: the refusal is in [`Response::refusal`] (OpenAI's `refusal` message,
    /// Anthropic's `refusal` stop reason with its `stop_details` explanation).
    Refusal,
    /// The provider paused a long-running turn (Anthropic `pause_turn`, during server-side tool
    /// use): send [`Response::to_message`] back as the next assistant turn to let it go on.
    Paused,
    /// A reason with no normalised form, as the provider said it (`"MALFORMED_FUNCTION_CALL"`,
    /// a reason added after this version, …); empty when the provider gave none.
    Other(String),
}

impl FinishReason {
    /// `stop`, `stop_sequence`, `length`, `tool_calls`, `content_filter`, `refusal`, `paused` or
    /// `other`.
    pub fn as_str(&self) -> &'static str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::StopSequence => "stop_sequence",
            FinishReason::Length => "length",
            FinishReason::ToolCalls => "tool_calls",
            FinishReason::ContentFilter => "content_filter",
            FinishReason::Refusal => "refusal",
            FinishReason::Paused => "paused",
            FinishReason::Other(_) => "other",
        }
    }

    /// An [`Other`](FinishReason::Other) reason keeping the provider's word.
    pub fn other(raw: impl Into<String>) -> Self {
        FinishReason::Other(raw.into())
    }
}

/// Serialised as its [`as_str`](FinishReason::as_str) name.
impl Serialize for FinishReason {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// A source the model cited for its text: Anthropic citations (`char_location`,
/// `web_search_result_location`, …), OpenAI `url_citation` annotations, Gemini citation and
/// grounding metadata, Bedrock citations. The common facts are lifted out; the whole citation is
/// in [`raw`](Citation::raw).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Citation {
    /// The provider's kind of citation (`"url_citation"`, `"char_location"`, …).
    pub kind: String,
    /// The cited URL, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The cited document's title, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The cited text, when the provider quotes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cited_text: Option<String>,
    /// The citation as received.
    pub raw: Value,
}

impl Citation {
    /// A citation read from a provider's JSON object: `kind`, and the `url`/`uri`, `title` and
    /// `cited_text` members when present and not empty.
    pub fn from_raw(kind: impl Into<String>, raw: Value) -> Self {
        let get = |keys: &[&str]| {
            keys.iter()
                .find_map(|k| {
                    raw.get(*k)
                        .and_then(Value::as_str)
                        .filter(|v| !v.is_empty())
                })
                .map(str::to_string)
        };
        Citation {
            kind: kind.into(),
            url: get(&["url", "uri"]),
            title: get(&["title", "document_title"]),
            cited_text: get(&["cited_text"]),
            raw,
        }
    }
}

/// Token counts as reported by the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
pub struct Usage {
    /// Tokens in the prompt.
    pub input_tokens: u64,
    /// Tokens in the output.
    pub output_tokens: u64,
}

impl Usage {
    /// Usage with the given counts.
    pub fn new(input_tokens: u64, output_tokens: u64) -> Self {
        Usage {
            input_tokens,
            output_tokens,
        }
    }
}

/// The outcome of one HTTP attempt: which target, what happened, how long it took and what wait
/// followed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AttemptSummary {
    /// The provider name.
    pub provider: Arc<str>,
    /// The model.
    pub model: Arc<str>,
    /// `None` for success, or the error kind.
    #[serde(serialize_with = "ser_outcome")]
    pub outcome: Option<ErrorKind>,
    /// The HTTP status, when a response arrived.
    pub status: Option<u16>,
    /// How long the attempt took.
    #[serde(serialize_with = "ser_ms")]
    pub duration: Duration,
    /// The wait chosen after this attempt, when another attempt followed.
    #[serde(serialize_with = "ser_opt_ms")]
    pub wait: Option<Duration>,
    /// Why that wait was chosen, as the retry policy decided it, when there was one. Serialised
    /// as `computed` or `server-hint` ([`WaitReason::as_str`]).
    #[serde(serialize_with = "ser_reason")]
    pub wait_reason: Option<WaitReason>,
    /// How long the attempt waited for admission by the call's [quota](crate::quota) before it
    /// was sent: `None` without a quota or when it was admitted at once. Serialised (as
    /// milliseconds) only when there was a wait.
    #[serde(serialize_with = "ser_opt_ms", skip_serializing_if = "Option::is_none")]
    pub queued: Option<Duration>,
}

impl AttemptSummary {
    pub(crate) fn new<P, M>(
        provider: &P,
        model: &M,
        outcome: Option<ErrorKind>,
        status: Option<u16>,
        duration: Duration,
    ) -> Self
    where
        P: SharedStr + ?Sized,
        M: SharedStr + ?Sized,
    {
        AttemptSummary {
            provider: provider.share(),
            model: model.share(),
            outcome,
            status,
            duration,
            wait: None,
            wait_reason: None,
            queued: None,
        }
    }

    /// A successful attempt at `provider:model` that took `duration`: what a custom
    /// [`Provider`](crate::Provider) records in its response with
    /// [`ResponseBuilder::attempt`]. (Failed attempts are recorded by the resilient forms.)
    ///
    /// # Example
    /// ```
    /// use std::time::Duration;
    /// use steadfast::AttemptSummary;
    ///
    /// let a = AttemptSummary::success("acme", "acme-1", Some(200), Duration::from_millis(120));
    /// assert_eq!(a.outcome_str(), "ok");
    /// assert_eq!(a.status, Some(200));
    /// ```
    pub fn success(
        provider: impl Into<Arc<str>>,
        model: impl Into<Arc<str>>,
        status: Option<u16>,
        duration: Duration,
    ) -> Self {
        AttemptSummary {
            provider: provider.into(),
            model: model.into(),
            outcome: None,
            status,
            duration,
            wait: None,
            wait_reason: None,
            queued: None,
        }
    }

    /// `"ok"` or the kebab-case error kind.
    pub fn outcome_str(&self) -> &'static str {
        self.outcome.map_or("ok", ErrorKind::as_str)
    }
}

fn ser_outcome<S: serde::Serializer>(o: &Option<ErrorKind>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(o.map_or("ok", ErrorKind::as_str))
}

fn ser_reason<S: serde::Serializer>(r: &Option<WaitReason>, s: S) -> Result<S::Ok, S::Error> {
    match r {
        Some(r) => s.serialize_str(r.as_str()),
        None => s.serialize_none(),
    }
}

fn ser_ms<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn ser_opt_ms<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => ser_ms(d, s),
        None => s.serialize_none(),
    }
}

/// The empty tool list, shared: a reference count instead of an allocation per response.
pub(crate) fn no_tools() -> Arc<[Tool]> {
    static EMPTY: LazyLock<Arc<[Tool]>> = LazyLock::new(|| Arc::from(Vec::new()));
    Arc::clone(&EMPTY)
}

fn no_errors() -> Arc<[Error]> {
    static EMPTY: LazyLock<Arc<[Error]>> = LazyLock::new(|| Arc::from(Vec::new()));
    Arc::clone(&EMPTY)
}

/// A part of an answer other than text or a tool call, and where it came: after the first
/// `text_at` bytes of the text and the first `calls_at` tool calls.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Anchored {
    pub(crate) text_at: usize,
    pub(crate) calls_at: usize,
    pub(crate) part: Part,
}

/// A model's answer: text, tool calls, finish reason, usage, and where it came from.
///
/// Text and tool calls have their own accessors; what else the answer held — the model's
/// [`reasoning`](Response::reasoning), provider-specific blocks ([`other_parts`](Response::other_parts))
/// and [`citations`](Response::citations) — is kept too, and [`parts`](Response::parts) gives the
/// whole answer in the order it came.
#[derive(Debug, Clone)]
pub struct Response {
    pub(crate) text: String,
    pub(crate) refusal: Option<String>,
    pub(crate) tool_calls: Vec<ToolCall>,
    /// The parts other than text and tool calls, each where it came in the answer.
    pub(crate) extras: Vec<Anchored>,
    pub(crate) citations: Vec<Citation>,
    pub(crate) finish_reason: FinishReason,
    pub(crate) raw_finish_reason: Option<String>,
    pub(crate) finish_details: Option<Value>,
    pub(crate) usage: Option<Usage>,
    pub(crate) provider: String,
    pub(crate) model: String,
    pub(crate) id: Option<String>,
    pub(crate) request_id: Option<String>,
    pub(crate) raw: Option<bytes::Bytes>,
    pub(crate) tools: Arc<[Tool]>,
    pub(crate) validated: OnceLock<Vec<ToolUse>>,
    pub(crate) attempts: Vec<AttemptSummary>,
    pub(crate) caught: Arc<[Error]>,
}

impl Response {
    pub(crate) fn empty(provider: &str, model: &str) -> Self {
        Response {
            text: String::new(),
            refusal: None,
            tool_calls: Vec::new(),
            extras: Vec::new(),
            citations: Vec::new(),
            finish_reason: FinishReason::Other(String::new()),
            raw_finish_reason: None,
            finish_details: None,
            usage: None,
            provider: provider.to_string(),
            model: model.to_string(),
            id: None,
            request_id: None,
            raw: None,
            tools: no_tools(),
            validated: OnceLock::new(),
            attempts: Vec::new(),
            caught: no_errors(),
        }
    }

    /// A builder for a response: what a [`Provider`](crate::Provider) outside this crate returns
    /// from [`send`](crate::Provider::send). See [`ResponseBuilder`].
    pub fn builder() -> ResponseBuilder {
        ResponseBuilder::default()
    }

    /// The text of the answer (all text parts joined).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The refusal message, when the model refused (OpenAI `refusal`, Anthropic `refusal` stop).
    pub fn refusal(&self) -> Option<&str> {
        self.refusal.as_deref()
    }

    /// The tool calls as received, arguments unvalidated: every call the model made, including
    /// calls of tools the request did not declare (only [`tools`](Response::tools) rejects those).
    pub fn tool_calls(&self) -> &[ToolCall] {
        &self.tool_calls
    }

    /// The model's reasoning ("thinking"), in order; empty for most answers.
    pub fn reasoning(&self) -> impl Iterator<Item = &Reasoning> {
        self.extras.iter().filter_map(|a| match &a.part {
            Part::Reasoning(r) => Some(r),
            _ => None,
        })
    }

    /// The reasoning text, all parts joined (empty when there is none or it is redacted).
    pub fn reasoning_text(&self) -> String {
        self.reasoning().map(|r| r.text.as_str()).collect()
    }

    /// The provider-specific blocks of the answer (server tool calls and results, executed code,
    /// block types this version does not know), kept as received, in order.
    pub fn other_parts(&self) -> impl Iterator<Item = &OtherPart> {
        self.extras.iter().filter_map(|a| match &a.part {
            Part::Other(o) => Some(o),
            _ => None,
        })
    }

    /// The sources the model cited for its text, in order.
    pub fn citations(&self) -> &[Citation] {
        &self.citations
    }

    /// The whole answer in the order it came: text, tool calls, reasoning and other parts.
    pub fn parts(&self) -> Vec<Part> {
        let mut out = Vec::with_capacity(self.extras.len() + self.tool_calls.len() + 1);
        let (mut text_at, mut calls_at) = (0, 0);
        let mut flush = |out: &mut Vec<Part>, text_to: usize, calls_to: usize| {
            // An anchor off a character boundary (text replaced after the part was recorded)
            // leaves the text for the next flush: text is never lost, at worst moved later.
            let text_to = text_to.clamp(text_at, self.text.len());
            if let Some(t) = self.text.get(text_at..text_to) {
                if !t.is_empty() {
                    out.push(Part::text(t));
                }
                text_at = text_to;
            }
            let calls_to = calls_to.clamp(calls_at, self.tool_calls.len());
            out.extend(
                self.tool_calls[calls_at..calls_to]
                    .iter()
                    .cloned()
                    .map(Part::ToolCall),
            );
            calls_at = calls_to;
        };
        for a in &self.extras {
            flush(&mut out, a.text_at, a.calls_at);
            out.push(a.part.clone());
        }
        flush(&mut out, usize::MAX, usize::MAX);
        out
    }

    /// The reasoning and provider parts of the answer, in order (what conversational reinsertion
    /// gives back with a failed output).
    pub(crate) fn model_parts(&self) -> Vec<Part> {
        self.extras.iter().map(|a| a.part.clone()).collect()
    }

    /// Records `part` where the answer is now (after the text and tool calls so far).
    pub(crate) fn push_part(&mut self, part: Part) {
        match part {
            Part::Text { text } => self.text.push_str(&text),
            Part::ToolCall(c) => self.tool_calls.push(c),
            part => self.extras.push(Anchored {
                text_at: self.text.len(),
                calls_at: self.tool_calls.len(),
                part,
            }),
        }
    }

    /// The tool calls, parsed and validated against the call's tools.
    ///
    /// A successful validation is cached; a failed one is not (asking again fails again).
    ///
    /// # Errors
    /// [`ErrorKind::Validation`] carrying the raw arguments when a call names an unknown tool, or its
    /// arguments are not JSON or do not validate.
    pub fn tools(&self) -> Result<&[ToolUse], Error> {
        if let Some(v) = self.validated.get() {
            return Ok(v);
        }
        let uses = validate_calls(&self.tools, &self.tool_calls).map_err(|e| {
            e.in_context(&self.provider, &self.model)
                .with_model_parts(|| self.model_parts())
        })?;
        Ok(self.validated.get_or_init(|| uses))
    }

    /// Why the model stopped.
    pub fn finish_reason(&self) -> FinishReason {
        self.finish_reason.clone()
    }

    /// The provider's details of why the model stopped, as received (Anthropic `stop_details`,
    /// Gemini `finishMessage`, …), when it sent any.
    pub fn finish_details(&self) -> Option<&Value> {
        self.finish_details.as_ref()
    }

    /// The provider's own finish reason (`end_turn`, `STOP`, …).
    pub fn raw_finish_reason(&self) -> Option<&str> {
        self.raw_finish_reason.as_deref()
    }

    /// Token usage, when reported.
    pub fn usage(&self) -> Option<Usage> {
        self.usage
    }

    /// The provider name (`"openai"`, `"anthropic"`, …).
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// The model as reported by the provider (falls back to the requested model).
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The provider's response id.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The provider's request id header.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// The raw JSON body (for non-streaming responses), parsed on demand.
    pub fn raw(&self) -> Option<Value> {
        self.raw
            .as_ref()
            .and_then(|b| serde_json::from_slice(b).ok())
    }

    /// The raw response body bytes (for non-streaming responses).
    pub fn raw_bytes(&self) -> Option<&[u8]> {
        self.raw.as_deref()
    }

    /// Every HTTP attempt that led to this response, oldest first (one for a plain call).
    pub fn attempts(&self) -> &[AttemptSummary] {
        &self.attempts
    }

    /// The errors a fallback chain caught before this response's target succeeded, in order
    /// (primary first); empty when the first target answered.
    pub fn caught(&self) -> &[Error] {
        &self.caught
    }

    /// `provider:model` of the target that answered.
    pub fn target(&self) -> String {
        format!("{}:{}", self.provider, self.model)
    }

    /// The assistant message to append to a conversation to continue it: the whole answer in
    /// order ([`parts`](Response::parts)), so reasoning signatures and provider blocks go back
    /// unchanged to the provider that produced them.
    pub fn to_message(&self) -> Message {
        if self.extras.is_empty() {
            return Message::assistant_tool_calls(Some(self.text.clone()), self.tool_calls.clone());
        }
        Message::new(Role::Assistant, self.parts())
    }
}

/// Builds a [`Response`]: the way a [`Provider`](crate::Provider) outside this crate answers
/// [`send`](crate::Provider::send).
///
/// Everything is optional. A new builder has no text, no tool calls, finish reason
/// [`FinishReason::Other`] with an empty word, no usage, and empty provider and model names (set both).
///
/// # Example
/// ```
/// use std::time::Duration;
/// use steadfast::{AttemptSummary, FinishReason, Response, ToolCall, Usage};
///
/// let r = Response::builder()
///     .provider("acme")
///     .model("acme-1")
///     .text("Checking the weather.")
///     .tool_call(ToolCall::new("call-1", "weather", r#"{"city":"Oslo"}"#))
///     .finish_reason(FinishReason::ToolCalls)
///     .raw_finish_reason("tool_use")
///     .usage(Usage::new(12, 7))
///     .id("resp-1")
///     .request_id("req-1")
///     .attempt(AttemptSummary::success("acme", "acme-1", Some(200), Duration::from_millis(80)))
///     .build();
/// assert_eq!(r.target(), "acme:acme-1");
/// assert_eq!(r.tool_calls()[0].name, "weather");
/// assert_eq!(r.finish_reason(), FinishReason::ToolCalls);
/// assert_eq!(r.attempts().len(), 1);
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct ResponseBuilder {
    response: Response,
}

impl Default for ResponseBuilder {
    fn default() -> Self {
        ResponseBuilder {
            response: Response::empty("", ""),
        }
    }
}

impl ResponseBuilder {
    /// The provider name (`Provider::name`), as [`Response::provider`] reports it.
    pub fn provider(mut self, provider: impl Into<String>) -> Self {
        self.response.provider = provider.into();
        self
    }

    /// The model that answered (or the requested one), as [`Response::model`] reports it.
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.response.model = model.into();
        self
    }

    /// The whole text of the answer, replacing any text set before.
    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.response.text = text.into();
        self
    }

    /// Appends one text part to the answer (parts are joined without a separator, as
    /// [`Response::text`] reports them).
    pub fn push_text(mut self, part: impl AsRef<str>) -> Self {
        self.response.text.push_str(part.as_ref());
        self
    }

    /// The model's refusal message.
    pub fn refusal(mut self, refusal: impl Into<String>) -> Self {
        self.response.refusal = Some(refusal.into());
        self
    }

    /// Appends a tool call, arguments as received (they are validated by [`Response::tools`]).
    pub fn tool_call(mut self, call: ToolCall) -> Self {
        self.response.tool_calls.push(call);
        self
    }

    /// Appends tool calls, in order.
    pub fn tool_calls(mut self, calls: impl IntoIterator<Item = ToolCall>) -> Self {
        self.response.tool_calls.extend(calls);
        self
    }

    /// Appends a part where the answer is now: text and tool calls join
    /// [`Response::text`]/[`Response::tool_calls`], other parts (reasoning, provider blocks)
    /// are kept in order after what came before them.
    pub fn part(mut self, part: Part) -> Self {
        self.response.push_part(part);
        self
    }

    /// Appends a citation.
    pub fn citation(mut self, citation: Citation) -> Self {
        self.response.citations.push(citation);
        self
    }

    /// The provider's details of why the model stopped ([`Response::finish_details`]).
    pub fn finish_details(mut self, details: Value) -> Self {
        self.response.finish_details = Some(details);
        self
    }

    /// The tools the request offered ([`ChatRequest::tools`](crate::ChatRequest::tools)), which
    /// [`Response::tools`] validates the tool calls against. Without them every call names an
    /// unknown tool.
    pub fn tools(mut self, tools: Arc<[Tool]>) -> Self {
        self.response.tools = tools;
        self
    }

    /// Why the model stopped, normalised.
    pub fn finish_reason(mut self, reason: FinishReason) -> Self {
        self.response.finish_reason = reason;
        self
    }

    /// The provider's own finish reason (`end_turn`, `STOP`, …).
    pub fn raw_finish_reason(mut self, raw: impl Into<String>) -> Self {
        self.response.raw_finish_reason = Some(raw.into());
        self
    }

    /// Token usage.
    pub fn usage(mut self, usage: Usage) -> Self {
        self.response.usage = Some(usage);
        self
    }

    /// The provider's response id.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.response.id = Some(id.into());
        self
    }

    /// The provider's request id (from the response headers).
    pub fn request_id(mut self, id: impl Into<String>) -> Self {
        self.response.request_id = Some(id.into());
        self
    }

    /// The raw response body, as received (reported by [`Response::raw`] and
    /// [`Response::raw_bytes`]).
    pub fn raw(mut self, body: impl Into<bytes::Bytes>) -> Self {
        self.response.raw = Some(body.into());
        self
    }

    /// Records an HTTP attempt (normally the one that produced this response; see
    /// [`AttemptSummary::success`]). Resilient calls put the failed attempts before it.
    pub fn attempt(mut self, attempt: AttemptSummary) -> Self {
        self.response.attempts.push(attempt);
        self
    }

    /// The response.
    pub fn build(self) -> Response {
        self.response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, schemars::JsonSchema)]
    struct Add {
        #[allow(dead_code, reason = "only b is read")]
        a: i64,
        b: i64,
    }

    fn response(args: &str) -> Response {
        let mut r = Response::empty("openai", "gpt-4o-mini");
        r.tools = Arc::from(vec![Tool::of::<Add>("add", "add")]);
        r.tool_calls = vec![ToolCall::new("c1", "add", args)];
        r
    }

    #[test]
    fn a_builder_starts_empty_and_joins_text_parts() {
        let r = Response::builder().build();
        assert_eq!(r.text(), "");
        assert_eq!(r.finish_reason(), FinishReason::Other(String::new()));
        assert!(r.tool_calls().is_empty() && r.attempts().is_empty() && r.caught().is_empty());
        assert_eq!(r.target(), ":");

        let r = Response::builder()
            .provider("acme")
            .model("m")
            .text("replaced")
            .text("Hel")
            .push_text("lo")
            .refusal("no")
            .tool_calls([ToolCall::new("c1", "add", r#"{"a":1,"b":2}"#)])
            .tools(Arc::from(vec![Tool::of::<Add>("add", "add")]))
            .build();
        assert_eq!(r.text(), "Hello");
        assert_eq!(r.refusal(), Some("no"));
        assert_eq!(r.tools().unwrap()[0].parse::<Add>().unwrap().b, 2);
        assert_eq!(r.raw_bytes(), None);
    }

    #[test]
    fn parts_come_back_in_the_order_they_came() {
        let thinking = Part::Reasoning(Reasoning::new("acme", "hmm").with_signature("s"));
        let block = Part::Other(OtherPart::new(
            "acme",
            "x",
            serde_json::json!({"type": "x"}),
        ));
        let call = ToolCall::new("c1", "f", "{}");
        let r = Response::builder()
            .part(thinking.clone())
            .part(Part::text("Hello "))
            .part(block.clone())
            .part(Part::text("world"))
            .part(Part::ToolCall(call.clone()))
            .part(thinking.clone())
            .build();
        assert_eq!(r.text(), "Hello world");
        assert_eq!(r.tool_calls(), std::slice::from_ref(&call));
        assert_eq!(
            r.parts(),
            [
                thinking.clone(),
                Part::text("Hello "),
                block.clone(),
                Part::text("world"),
                Part::ToolCall(call),
                thinking.clone(),
            ]
        );
        assert_eq!(r.reasoning().count(), 2);
        assert_eq!(r.other_parts().count(), 1);
        assert_eq!(r.to_message().parts, r.parts());

        // Text replaced after a part was anchored inside a character: the text moves later,
        // none is lost.
        let r = Response::builder()
            .text("a")
            .part(block.clone())
            .text("é")
            .build();
        assert_eq!(r.parts(), [block, Part::text("é")]);

        // Without other parts the message is the plain text-and-calls form.
        let r = Response::builder().text("hi").build();
        assert_eq!(r.to_message().parts, [Part::text("hi")]);
    }

    #[test]
    fn tools_validation_is_cached_on_success_only() {
        let r = response(r#"{"a":1,"b":2}"#);
        let uses = r.tools().unwrap();
        assert_eq!(uses[0].parse::<Add>().unwrap().b, 2);
        assert!(r.validated.get().is_some());

        let bad = response(r#"{"a":1}"#);
        let e1 = bad.tools().unwrap_err();
        assert_eq!(e1.kind(), ErrorKind::Validation);
        assert_eq!(e1.provider(), Some("openai"));
        assert!(bad.validated.get().is_none());
        assert!(bad.tools().is_err(), "asking again fails again");
    }
}
