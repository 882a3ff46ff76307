//! Anthropic Messages.
//!
//! Base URL `ANTHROPIC_BASE_URL` (default `https://api.anthropic.com`, without `/v1`, as in the
//! official SDK); key `ANTHROPIC_API_KEY` (sent as `x-api-key`) or `ANTHROPIC_AUTH_TOKEN` (sent as a
//! bearer token); `anthropic-version: 2023-06-01`. `max_tokens` defaults to
//! [`DEFAULT_MAX_TOKENS`]. `seed` and the penalties are not supported (an `Unsupported` error).
//! Structured output forces a tool by default; [`OutputMode::JsonSchema`](crate::OutputMode) uses
//! `output_config.format` instead.

mod convert;
pub(crate) mod error;
pub(crate) mod stream;
pub(crate) mod wire;

use http::HeaderMap;

pub use convert::DEFAULT_MAX_TOKENS;
pub(crate) use convert::request_body;

use crate::client::ClientConfig;
use crate::error::Error;
use crate::provider::{Capabilities, ChatRequest};
use crate::providers::common::EnvSpec;
use crate::response::Response;
use crate::transport::{BodyDecoder, HttpRequest, ResponseMeta, SseBody, Wire, env, join_url};

/// The `anthropic-version` sent when none is configured.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// Where Anthropic's configuration comes from.
const ENV: EnvSpec = EnvSpec {
    provider: "anthropic",
    base_vars: &["ANTHROPIC_BASE_URL"],
    default_base: Some("https://api.anthropic.com"),
    key_vars: &["ANTHROPIC_API_KEY"],
};

/// The Anthropic Messages protocol.
#[derive(Debug, Default)]
pub(crate) struct AnthropicWire;

impl Wire for AnthropicWire {
    fn name(&self) -> &str {
        "anthropic"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            seed: false,
            penalties: false,
            ..Capabilities::ALL
        }
    }

    fn client_from_env(&self) -> ClientConfig {
        let mut c = ClientConfig {
            base_url: ENV.base_url(),
            api_key: ENV.api_key(),
            api_version: Some(ANTHROPIC_VERSION.into()),
            ..ClientConfig::default()
        };
        if c.api_key.is_none() {
            if let Some(token) = env("ANTHROPIC_AUTH_TOKEN") {
                c.set_header("authorization", &format!("Bearer {token}"), true);
            }
        }
        c
    }

    fn build(&self, req: &ChatRequest, stream: bool) -> Result<HttpRequest, Error> {
        let base = ENV.require_base(req)?;
        let body = request_body(req, stream)?;
        let mut http = HttpRequest::json(join_url(base, "/v1/messages"), &body)?;
        ENV.key_header(&mut http, req, "x-api-key", &["authorization"])?;
        http.header(
            "anthropic-version",
            req.client
                .api_version
                .as_deref()
                .unwrap_or(ANTHROPIC_VERSION),
            false,
        )?;
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
        Box::new(SseBody::new(Box::new(stream::AnthropicSse::default())))
    }

    fn request_id_headers(&self) -> &'static [&'static str] {
        &["request-id"]
    }
}

/// Registers this module's providers under their names (called once by the registry).
pub(crate) fn register(map: &mut crate::providers::Registry) {
    crate::providers::register_wire(map, AnthropicWire);
}
