//! Mistral chat completions (`POST {base}/v1/chat/completions`).
//!
//! | setting | source |
//! |---|---|
//! | base URL | `MISTRAL_BASE_URL`, default `https://api.mistral.ai` (the SDK's `server_url`, without `/v1`) |
//! | key | `MISTRAL_API_KEY`, sent as `Authorization: Bearer …` |
//! | request id | response header `mistral-correlation-id`, `x-kong-request-id` or `x-request-id` |
//!
//! The wire format is OpenAI's, but Mistral is **strict**: a field outside its
//! `ChatCompletionRequest` schema is a 422 `extra_forbidden`. So the body never carries
//! `max_completion_tokens` (it is `max_tokens`), `stream_options`, `store` or `seed` (it is
//! `random_seed`); a required tool choice is `any`, a named one
//! `{"type":"function","function":{"name":…}}`. Structured output uses `response_format`
//! `json_schema` (`{name, schema, strict}`) by default; [`OutputMode::Tool`](crate::OutputMode)
//! forces a tool instead. Every common parameter is supported. Fields in `req.extra` (for example
//! `safe_prompt`, `prompt_mode`) are sent as they are.
//!
//! Responses: usage rides on the stream chunk that carries `finish_reason` (there is no separate
//! usage chunk); tool calls arrive whole, several in one delta with distinct `index`;
//! `function.arguments` may be a string or an object (an object is serialised);
//! `finish_reason: "model_length"` is [`FinishReason::Length`](crate::FinishReason) and
//! `finish_reason: "error"` is an [`ErrorKind::Server`](crate::ErrorKind) error (in a stream,
//! after content, it becomes `StreamInterrupted` like any mid-stream failure).

mod convert;
pub(crate) mod error;
pub(crate) mod stream;
pub(crate) mod wire;

/// Registers this module's providers under their names (called once by the registry).
pub(crate) fn register(map: &mut crate::providers::Registry) {
    crate::providers::register_wire(map, MistralWire);
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

/// The base URL used when `MISTRAL_BASE_URL` is not set.
pub const DEFAULT_BASE_URL: &str = "https://api.mistral.ai";

/// Where Mistral's configuration comes from.
const ENV: EnvSpec = EnvSpec {
    provider: "mistral",
    base_vars: &["MISTRAL_BASE_URL"],
    default_base: Some(DEFAULT_BASE_URL),
    key_vars: &["MISTRAL_API_KEY"],
};

/// The Mistral chat completions protocol.
#[derive(Debug, Default)]
pub(crate) struct MistralWire;

impl Wire for MistralWire {
    fn name(&self) -> &str {
        "mistral"
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
        let mut http = HttpRequest::json(join_url(base, "/v1/chat/completions"), &body)?;
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
        Box::new(SseBody::new(Box::new(stream::MistralSse::default())))
    }

    fn request_id_headers(&self) -> &'static [&'static str] {
        &[
            "mistral-correlation-id",
            "x-kong-request-id",
            "x-request-id",
        ]
    }
}
