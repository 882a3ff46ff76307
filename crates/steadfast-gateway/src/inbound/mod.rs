//! Inbound protocols: how a client's request is read and how the answer is written back.
//!
//! Each protocol is a module with a type implementing [`Protocol`]: OpenAI Chat Completions
//! ([`OpenAiChat`]) and Anthropic Messages ([`AnthropicMessages`]). A protocol decodes its request
//! body into the provider-independent [`InboundRequest`] (the library's messages, parameters,
//! tools and tool choice), and encodes the library's [`Response`], [`StreamEvent`]s and errors in
//! its own wire shapes. Adding a protocol (the OpenAI Responses API, say) is one more module and
//! one more route; embeddings, which are not chats, will get a trait of their own.
//!
//! Decoding is as strict as the real API: an unknown top-level field is the protocol's own 400
//! (both OpenAI and Anthropic reject them), and a known field the gateway cannot honour is a 400
//! that names it — never silently dropped. Fields that do not change the answer (`user`,
//! `metadata`, `store`, `service_tier`, Anthropic's `cache_control`, …) are accepted and ignored;
//! each module lists them.

pub mod anthropic;
mod json;
pub mod openai;

use bytes::Bytes;
use http::HeaderMap;
use steadfast::{ErrorKind, Message, Params, Response, StreamEvent, Tool, ToolChoice};

pub use anthropic::AnthropicMessages;
pub use openai::OpenAiChat;

/// A chat request decoded from any inbound protocol, in the library's terms.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct InboundRequest {
    /// The model name the client asked for (a routable name: `provider:model`, an alias).
    pub model: String,
    /// The conversation.
    pub messages: Vec<Message>,
    /// Sampling and length parameters.
    pub params: Params,
    /// The tools the model may call.
    pub tools: Vec<Tool>,
    /// How it may call them.
    pub tool_choice: ToolChoice,
    /// Structured output asked for, if any.
    pub output: Option<StructuredOutput>,
    /// Whether the client asked for a stream.
    pub stream: bool,
    /// OpenAI `stream_options.include_usage`: a final chunk with the usage.
    pub include_usage: bool,
}

impl InboundRequest {
    /// An empty, non-streaming request for `model`.
    pub fn new(model: impl Into<String>) -> Self {
        InboundRequest {
            model: model.into(),
            messages: Vec::new(),
            params: Params::default(),
            tools: Vec::new(),
            tool_choice: ToolChoice::Auto,
            output: None,
            stream: false,
            include_usage: false,
        }
    }
}

/// Structured output asked for by the client: JSON matching `schema`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StructuredOutput {
    /// The schema's name.
    pub name: String,
    /// The JSON Schema (`{"type": "object"}` for OpenAI's `json_object`).
    pub schema: serde_json::Value,
}

/// An error in the caller's protocol terms: an HTTP status, a message, and what the protocol's
/// error object needs. Built from a library [`Error`](steadfast::Error) or by the gateway itself
/// (a bad request, a missing key, an unknown model).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ApiError {
    /// The HTTP status.
    pub status: u16,
    /// What went wrong, in the library's terms.
    pub kind: ErrorKind,
    /// A message for the client. Never holds a key.
    pub message: String,
    /// The request parameter at fault (OpenAI `param`).
    pub param: Option<String>,
    /// A machine-readable code (OpenAI `code`).
    pub code: Option<String>,
    /// When to retry (`retry-after`, whole seconds rounded up).
    pub retry_after: Option<std::time::Duration>,
    /// For a [`StreamInterrupted`](ErrorKind::StreamInterrupted) error, the kind of the upstream
    /// failure that interrupted the stream, when the upstream said (an `overloaded` or
    /// rate-limit error event after the first content): the protocol's error event names it.
    pub cause: Option<ErrorKind>,
}

impl ApiError {
    /// An error of `kind` with the status the gateway gives it.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ApiError {
            status: crate::errors::status_of(kind),
            kind,
            message: message.into(),
            param: None,
            code: None,
            retry_after: None,
            cause: None,
        }
    }

    /// The kind and status the protocol's error object describes: the interrupting failure's
    /// for a stream that failed after its commit point, the error's own otherwise.
    pub(crate) fn described(&self) -> (ErrorKind, u16) {
        match self.cause {
            Some(c) => (c, crate::errors::status_of(c)),
            None => (self.kind, self.status),
        }
    }

    /// A 400 about the request.
    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError::new(ErrorKind::InvalidRequest, message)
    }

    /// A 400 about a parameter the gateway does not support.
    pub fn unsupported(param: &str, detail: &str) -> Self {
        let mut e = ApiError::new(
            ErrorKind::Unsupported,
            format!("the gateway does not support `{param}`{detail}"),
        );
        e.param = Some(param.to_owned());
        e.code = Some("unsupported_parameter".to_owned());
        e
    }

    /// Names the parameter at fault.
    #[must_use]
    pub fn param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    /// Sets the code.
    #[must_use]
    pub fn code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }
}

/// What the encoders write besides the answer: the response id and creation time.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Envelope {
    /// The gateway's request id (also the response id's suffix).
    pub request_id: String,
    /// Unix seconds.
    pub created: u64,
    /// The model name to report (the one the client asked for).
    pub model: String,
}

impl Envelope {
    /// The envelope of request `request_id`, created at `created` (Unix seconds), reporting
    /// `model`: for driving a [`Protocol`]'s encoders outside the server (tests, fuzzing).
    pub fn new(request_id: impl Into<String>, created: u64, model: impl Into<String>) -> Self {
        Envelope {
            request_id: request_id.into(),
            created,
            model: model.into(),
        }
    }
}

/// An inbound wire protocol. See the [module docs](self).
pub trait Protocol: Send + Sync + std::fmt::Debug + 'static {
    /// A short name for logs and metrics (`openai.chat`, `anthropic.messages`).
    fn name(&self) -> &'static str;

    /// The response header that carries the request id, as this protocol's SDK reads it.
    fn request_id_header(&self) -> &'static str;

    /// The inbound key, from the protocol's auth headers.
    fn key<'h>(&self, headers: &'h HeaderMap) -> Option<&'h str>;

    /// Decodes a request body (after the protocol's own header checks).
    ///
    /// # Errors
    /// The protocol's 400 for a malformed or unsupported request.
    fn decode(&self, headers: &HeaderMap, body: &[u8]) -> Result<InboundRequest, ApiError>;

    /// The JSON body of a complete answer. `structured` is the validated structured output,
    /// when the request asked for one.
    fn encode_response(
        &self,
        request: &InboundRequest,
        response: &Response,
        structured: Option<&serde_json::Value>,
        envelope: &Envelope,
    ) -> serde_json::Value;

    /// The body of [`Protocol::encode_response`] as bytes: by default its `Value` serialised; a
    /// protocol may write them straight from typed structs (the gateway sends these).
    fn encode_response_bytes(
        &self,
        request: &InboundRequest,
        response: &Response,
        structured: Option<&serde_json::Value>,
        envelope: &Envelope,
    ) -> Vec<u8> {
        // A `Value` always serialises; the fallback is never taken.
        serde_json::to_vec(&self.encode_response(request, response, structured, envelope))
            .unwrap_or_else(|_| b"{}".to_vec())
    }

    /// An encoder for a streamed answer.
    fn stream_encoder(
        &self,
        request: &InboundRequest,
        envelope: &Envelope,
    ) -> Box<dyn StreamEncoder>;

    /// The HTTP status of `error` in this protocol (by default its `status`).
    fn status(&self, error: &ApiError) -> u16 {
        error.status
    }

    /// The JSON body of an error response (its status is [`Protocol::status`]).
    fn error_body(&self, error: &ApiError, envelope: &Envelope) -> serde_json::Value;
}

/// Writes one streamed answer in a protocol's SSE framing.
pub trait StreamEncoder: Send {
    /// The frames for one event of the library's stream (possibly none).
    fn event(&mut self, event: &StreamEvent) -> Vec<Bytes>;
    /// The frames that end a complete answer (the protocol's terminator).
    fn finish(&mut self) -> Vec<Bytes>;
    /// The frames that end the answer with an error after the commit point.
    fn error(&mut self, error: &ApiError) -> Vec<Bytes>;
}

/// One SSE frame: `data: <json>` (and `event: <name>` when given).
pub(crate) fn sse(event: Option<&str>, data: &serde_json::Value) -> Bytes {
    let mut out = String::with_capacity(64);
    if let Some(e) = event {
        out.push_str("event: ");
        out.push_str(e);
        out.push('\n');
    }
    out.push_str("data: ");
    out.push_str(&data.to_string());
    out.push_str("\n\n");
    Bytes::from(out)
}

/// A tool from its name, description and JSON Schema, or the protocol's 400.
pub(crate) fn tool(
    name: &str,
    description: &str,
    schema: Option<&serde_json::Value>,
    param: &str,
) -> Result<Tool, ApiError> {
    let schema = schema
        .cloned()
        .unwrap_or_else(|| serde_json::json!({"type": "object", "properties": {}}));
    Tool::from_schema(name, description, schema)
        .map_err(|e| ApiError::invalid(e.message().to_owned()).param(param))
}

/// The tool calls of a conversation so far, by id: a tool result names the call it answers.
#[derive(Debug, Default)]
pub(crate) struct CallNames(Vec<(String, String)>);

impl CallNames {
    /// Notes a call the assistant made.
    pub(crate) fn note(&mut self, id: &str, name: &str) {
        self.0.push((id.to_owned(), name.to_owned()));
    }

    /// The name of the latest call with this id.
    pub(crate) fn name_of(&self, id: &str) -> Option<String> {
        self.0
            .iter()
            .rev()
            .find(|(cid, _)| cid == id)
            .map(|(_, n)| n.clone())
    }
}
