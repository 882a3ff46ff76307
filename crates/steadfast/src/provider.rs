//! The [`Provider`] trait: one implementation per wire protocol.
//!
//! Steadfast ships providers for OpenAI (and its compatible family), Anthropic, Gemini, Mistral,
//! Cohere, Azure AI Inference and Bedrock ([`providers`](crate::providers)); third parties can
//! implement [`Provider`] for anything else and register it with
//! [`llm::register`](crate::llm::register). A provider turns a provider-independent [`ChatRequest`]
//! into a [`Response`] or a stream of [`ProviderEvent`]s, and every failure into a classified
//! [`Error`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures_core::Stream;
use serde_json::{Map, Value};

use crate::client::ClientConfig;
use crate::error::Error;
use crate::message::{Message, Part, ToolCall};
use crate::output::OutputFormat;
use crate::response::{Citation, FinishReason, Response, Usage};
use crate::tool::{Tool, ToolChoice};

/// A boxed, `Send`, `'static` future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// The stream of events a provider produces for one streamed request.
pub type EventStream = Pin<Box<dyn Stream<Item = Result<ProviderEvent, Error>> + Send + 'static>>;

/// Sampling and length parameters common to every provider, mapped to each provider's names.
///
/// A parameter a provider cannot honour is an [`ErrorKind::Unsupported`](crate::ErrorKind) error
/// when the request is built, never silently dropped.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Params {
    /// Sampling temperature.
    pub temperature: Option<f64>,
    /// Maximum output tokens (required by Anthropic; Steadfast defaults it to 1024 there).
    pub max_tokens: Option<u32>,
    /// Nucleus sampling.
    pub top_p: Option<f64>,
    /// Stop sequences.
    pub stop: Vec<String>,
    /// Seed for reproducible sampling.
    pub seed: Option<i64>,
    /// Frequency penalty.
    pub frequency_penalty: Option<f64>,
    /// Presence penalty.
    pub presence_penalty: Option<f64>,
}

/// Everything a provider needs for one request.
///
/// The settings a [`Call`](crate::Call) shares with every request it makes (model, parameters,
/// tools, extra body fields, client settings) are reference-counted, so building a request for an
/// attempt copies only the conversation. Change one with [`Arc::make_mut`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ChatRequest {
    /// The model id.
    pub model: Arc<str>,
    /// The conversation.
    pub messages: Vec<Message>,
    /// Common parameters.
    pub params: Arc<Params>,
    /// Tools the model may call.
    pub tools: Arc<[Tool]>,
    /// How the model may use them.
    pub tool_choice: ToolChoice,
    /// Structured output requested, if any.
    pub output: Option<OutputFormat>,
    /// Provider-specific body fields, merged into the request body as is.
    pub extra: Arc<Map<String, Value>>,
    /// Where and how to send it.
    pub client: Arc<ClientConfig>,
    /// Which attempt of its retry policy this request is: 1 for the first, 2 for the first
    /// retry, … (a request sent without a policy is attempt 1). The built-in providers mark
    /// resends with it in telemetry (`http.request.resend_count`); a custom provider may too.
    pub attempt: u32,
}

/// What a provider can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Capabilities {
    /// Tool calls.
    pub tools: bool,
    /// Tool calls while streaming.
    pub streaming_tools: bool,
    /// A native JSON-schema output format.
    pub json_schema_output: bool,
    /// Image inputs.
    pub images: bool,
    /// A sampling seed.
    pub seed: bool,
    /// Frequency and presence penalties.
    pub penalties: bool,
}

impl Capabilities {
    /// Everything: tools (also streamed), JSON-schema output, images, seed and penalties.
    pub const ALL: Capabilities = Capabilities {
        tools: true,
        streaming_tools: true,
        json_schema_output: true,
        images: true,
        seed: true,
        penalties: true,
    };
}

/// One event of a streamed response, as the caller of a
/// [`ResponseStream`](crate::ResponseStream) receives it.
///
/// Tool calls arrive as [`ToolCallStart`](StreamEvent::ToolCallStart) and
/// [`ToolCallDelta`](StreamEvent::ToolCallDelta) fragments (to show them live) and then as one
/// assembled, validated [`ToolCall`](StreamEvent::ToolCall). Providers produce
/// [`ProviderEvent`]s instead; the stream turns those into these.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum StreamEvent {
    /// Response metadata (id, model), usually first. Not content.
    Metadata {
        /// The provider's response id.
        id: Option<String>,
        /// The model that answers.
        model: Option<String>,
        /// The provider's request id (from the response headers).
        request_id: Option<String>,
    },
    /// A piece of text.
    Text(String),
    /// A piece of a refusal.
    Refusal(String),
    /// A tool call begins.
    ToolCallStart {
        /// Its position among the response's tool calls.
        index: usize,
        /// Its id.
        id: String,
        /// The tool's name.
        name: String,
    },
    /// A fragment of a tool call's arguments.
    ToolCallDelta {
        /// The position of the call it belongs to.
        index: usize,
        /// The fragment.
        arguments: String,
    },
    /// A complete tool call. Its arguments validated against the declared tool of that name; a
    /// call of a tool the request did not declare comes as received (only a typed parse of it,
    /// [`Response::tools`](crate::Response::tools), fails).
    ToolCall(ToolCall),
    /// A piece of the model's reasoning text ("thinking"). Not content: the commit point is the
    /// first text, refusal or tool call. The whole reasoning, with its signature, is in the
    /// response ([`Response::reasoning`](crate::Response::reasoning)).
    Reasoning(String),
    /// A complete part other than text or a tool call: a provider-specific block
    /// ([`Part::Other`]) or redacted reasoning. Not content.
    Part(Part),
    /// A source the model cited. Not content.
    Citation(Citation),
    /// The stream failed after its commit point and starts again from the beginning (only with
    /// [`Resilient::restart_streams`](crate::Resilient::restart_streams)): forget what was shown,
    /// the new answer follows.
    Restarted {
        /// The failure that caused the restart (its kind, provider and message).
        reason: String,
    },
    /// Token usage.
    Usage(Usage),
    /// The model finished.
    Finish {
        /// Normalised reason.
        reason: FinishReason,
        /// The provider's own value.
        raw: Option<String>,
    },
}

impl StreamEvent {
    /// Whether this event carries content (text, refusal or a tool call): the first such event is
    /// the stream's commit point.
    pub fn is_content(&self) -> bool {
        matches!(
            self,
            StreamEvent::Text(_)
                | StreamEvent::Refusal(_)
                | StreamEvent::ToolCallStart { .. }
                | StreamEvent::ToolCallDelta { .. }
                | StreamEvent::ToolCall(_)
        )
    }
}

/// One event a [`Provider`]'s stream produces: what the wire said, decoded but not yet assembled.
///
/// A [`ResponseStream`](crate::ResponseStream) accumulates these into the response and turns them
/// into the [`StreamEvent`]s its caller sees: tool-call fragments are assembled per `index`, and
/// each [`ToolCallEnd`](ProviderEvent::ToolCallEnd) becomes a validated
/// [`StreamEvent::ToolCall`]. A provider should emit `ToolCallStart` before the deltas and the end
/// of the same `index`; fragments for an index never started are a decode error of the stream.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ProviderEvent {
    /// Response metadata: any field may be `None`, and later values do not replace earlier ones.
    Metadata {
        /// The provider's response id.
        id: Option<String>,
        /// The model that answers.
        model: Option<String>,
        /// The provider's request id (from the response headers).
        request_id: Option<String>,
        /// The HTTP status of the response that carries the stream, for the attempt history.
        status: Option<u16>,
    },
    /// A piece of text.
    Text(String),
    /// A piece of a refusal.
    Refusal(String),
    /// A tool call begins.
    ToolCallStart {
        /// Its position among the response's tool calls.
        index: usize,
        /// Its id.
        id: String,
        /// The tool's name.
        name: String,
    },
    /// A fragment of a tool call's arguments.
    ToolCallDelta {
        /// The position of the call it belongs to.
        index: usize,
        /// The fragment.
        arguments: String,
    },
    /// The provider's signature of a tool call (Gemini's `thoughtSignature`), which goes back with
    /// the call in the conversation: see [`ToolCall::signature`](crate::ToolCall::signature).
    ToolCallSignature {
        /// The position of the call it belongs to.
        index: usize,
        /// The opaque signature.
        signature: String,
    },
    /// The arguments of a tool call are complete.
    ToolCallEnd {
        /// The position of the call.
        index: usize,
    },
    /// A piece of the model's reasoning text: appended to the reasoning part open at this point of
    /// the answer, or the start of a new one.
    Reasoning(String),
    /// The signature of the open reasoning part (sent back with it unchanged).
    ReasoningSignature(String),
    /// The open reasoning part is complete (the next [`Reasoning`](ProviderEvent::Reasoning)
    /// starts another). Text, a tool call or another part also closes it.
    ReasoningEnd,
    /// A complete part: a provider-specific block ([`Part::Other`]), redacted reasoning, or a
    /// whole text or tool call.
    Part(Part),
    /// A source the model cited.
    Citation(Citation),
    /// The provider's details of why the model stopped
    /// ([`Response::finish_details`](crate::Response::finish_details)).
    FinishDetails(serde_json::Value),
    /// Token usage.
    Usage(Usage),
    /// The model finished.
    Finish {
        /// Normalised reason.
        reason: FinishReason,
        /// The provider's own value.
        raw: Option<String>,
    },
}

impl ProviderEvent {
    /// Metadata carrying only the response id and the model.
    pub fn metadata(id: Option<String>, model: Option<String>) -> Self {
        ProviderEvent::Metadata {
            id,
            model,
            request_id: None,
            status: None,
        }
    }

    /// Whether this event carries content (text, refusal or a piece of a tool call): the first
    /// such event is the stream's commit point.
    pub fn is_content(&self) -> bool {
        matches!(
            self,
            ProviderEvent::Text(_)
                | ProviderEvent::Refusal(_)
                | ProviderEvent::ToolCallStart { .. }
                | ProviderEvent::ToolCallDelta { .. }
                | ProviderEvent::Part(Part::Text { .. } | Part::ToolCall(_))
        )
    }
}

/// A wire protocol implementation. See the [module docs](self).
pub trait Provider: Send + Sync + fmt::Debug + 'static {
    /// The provider's registry name (`"openai"`, `"anthropic"`, …).
    fn name(&self) -> &str;

    /// What it can do.
    fn capabilities(&self) -> Capabilities;

    /// The client settings from the provider's conventional environment variables.
    fn client_from_env(&self) -> ClientConfig;

    /// Sends a request and returns the whole response.
    fn send(&self, request: ChatRequest) -> BoxFuture<Result<Response, Error>>;

    /// Sends a streaming request; resolves once the response headers arrived successfully.
    ///
    /// The stream must end with an error when the provider's terminator never arrives.
    fn stream(&self, request: ChatRequest) -> BoxFuture<Result<EventStream, Error>>;

    /// The provider's HTTP encoding, when it has one: what [`Call::preview`](crate::Call::preview)
    /// and [`Call::decode_response`](crate::Call::decode_response) use. `None` (the default) for a
    /// provider that does not expose it.
    fn http_codec(&self) -> Option<&dyn HttpCodec> {
        None
    }
}

/// A provider's HTTP encoding: the request it would send, and its reading of a response body.
pub trait HttpCodec: Send + Sync {
    /// The URL and body of the request for `request` (with `stream`, the streaming form).
    ///
    /// # Errors
    /// As sending would fail before any I/O: a missing key or base URL, a parameter the provider
    /// does not support, an unserialisable body.
    fn encode(&self, request: &ChatRequest, stream: bool) -> Result<EncodedRequest, Error>;

    /// Reads a complete, successful (non-streaming) response body to `request`.
    ///
    /// # Errors
    /// What a response with this body would fail with: a decode error, or the provider's error
    /// when the body is an error object.
    fn decode(&self, request: &ChatRequest, body: &[u8]) -> Result<Response, Error>;

    /// Reads a complete, successful streamed response body to `request` (SSE, or AWS
    /// eventstream frames) as the provider's stream decoder reads it from the wire.
    ///
    /// The default is a stream that fails at once with
    /// [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported).
    fn decode_stream(&self, request: &ChatRequest, body: bytes::Bytes) -> EventStream {
        let _ = (request, body);
        Box::pin(futures_util::stream::iter([Err(Error::new(
            crate::ErrorKind::Unsupported,
            "this provider does not expose its stream decoder",
        ))]))
    }
}

/// A request as it would go on the wire, headers left out (they carry the credentials).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EncodedRequest {
    /// The full URL.
    pub url: String,
    /// The body, as sent.
    pub body: bytes::Bytes,
}
