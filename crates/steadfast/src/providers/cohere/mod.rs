//! Cohere v2 chat (`POST {base}/v2/chat`).
//!
//! | setting | source |
//! |---|---|
//! | base URL | `CO_API_URL` or `COHERE_BASE_URL`, default `https://api.cohere.com` (no version, as in the SDK) |
//! | key | `CO_API_KEY`, else `COHERE_API_KEY`, sent as `Authorization: Bearer …` |
//! | request id | response header `x-debug-trace-id` or `x-request-id` (an error body's `id` otherwise) |
//!
//! Request mapping: `top_p` → `p`, `stop` → `stop_sequences`; `temperature`, `max_tokens`, `seed`,
//! `frequency_penalty` and `presence_penalty` keep their names; Cohere's `k`, `safety_mode`,
//! `documents`, `thinking`, … can be sent through `req.extra`. Tools are `{"type":"function",
//! "function":{name, description, parameters}}`; `tool_choice` is `REQUIRED` or `NONE` (omitted for
//! auto). Cohere cannot force one *named* tool, so a named choice sends **only that tool** with
//! `REQUIRED`, which forces exactly it. Strictness is one request-wide switch, `strict_tools`, set
//! when any tool asks for it. Structured output uses `response_format: {"type":"json_object",
//! "json_schema": …}` by default (always enforced by Cohere, so `strict` changes nothing there);
//! [`OutputMode::Tool`](crate::OutputMode) forces a tool instead.
//!
//! Responses: text is the assistant's `tool_plan` (the text that accompanies tool calls) followed by
//! its `text` content items (`thinking` items are not part of the answer). Usage is `usage.tokens`
//! (what the model read and wrote), or `usage.billed_units` when `tokens` is absent.
//! `finish_reason` `COMPLETE` → `Stop`, `STOP_SEQUENCE` → `StopSequence`, `MAX_TOKENS` → `Length`,
//! `TOOL_CALL` → `ToolCalls`; `ERROR` is an [`ErrorKind::Server`](crate::ErrorKind) error and
//! `TIMEOUT` an [`ErrorKind::Timeout`](crate::ErrorKind) error (in a stream, a `message-end` with
//! `ERROR` is classified from its `delta.error` message).

mod convert;
pub(crate) mod error;
pub(crate) mod stream;
pub(crate) mod wire;

/// Registers this module's providers under their names (called once by the registry).
pub(crate) fn register(map: &mut crate::providers::Registry) {
    crate::providers::register_wire(map, CohereWire);
}

#[cfg(test)]
mod tests;

use http::HeaderMap;

pub(crate) use convert::request_body;

use crate::client::ClientConfig;
use crate::error::Error;
use crate::provider::{Capabilities, ChatRequest};
use crate::providers::common::EnvSpec;
use crate::response::Response;
use crate::transport::{BodyDecoder, HttpRequest, ResponseMeta, SseBody, Wire, join_url};

/// The base URL used when neither `CO_API_URL` nor `COHERE_BASE_URL` is set.
pub const DEFAULT_BASE_URL: &str = "https://api.cohere.com";

/// Where Cohere's configuration comes from.
const ENV: EnvSpec = EnvSpec {
    provider: "cohere",
    base_vars: &["CO_API_URL", "COHERE_BASE_URL"],
    default_base: Some(DEFAULT_BASE_URL),
    key_vars: &["CO_API_KEY", "COHERE_API_KEY"],
};

/// The Cohere v2 chat protocol.
#[derive(Debug, Default)]
pub(crate) struct CohereWire;

impl Wire for CohereWire {
    fn name(&self) -> &str {
        "cohere"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }

    fn client_from_env(&self) -> ClientConfig {
        ENV.client()
    }

    fn build(&self, req: &ChatRequest, stream: bool) -> Result<HttpRequest, Error> {
        let base = ENV.require_base(req)?;
        let body = request_body(req, stream)?;
        let mut http = HttpRequest::json(join_url(base, "/v2/chat"), &body)?;
        ENV.bearer_auth(&mut http, req)?;
        if stream {
            http.header("accept", "text/event-stream", false)?;
        }
        Ok(http)
    }

    fn parse(
        &self,
        req: &ChatRequest,
        _meta: &ResponseMeta,
        body: &[u8],
    ) -> Result<Response, Error> {
        convert::parse_response(req, body)
    }

    fn classify(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
        error::classify(status, headers, body)
    }

    fn stream_decoder(&self, _req: &ChatRequest) -> Box<dyn BodyDecoder> {
        Box::new(SseBody::new(Box::new(stream::CohereSse::default())))
    }

    fn request_id_headers(&self) -> &'static [&'static str] {
        error::REQUEST_ID_HEADERS
    }
}
