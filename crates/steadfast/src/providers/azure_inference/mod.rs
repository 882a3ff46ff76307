//! Azure AI Inference — the Azure AI Model Inference API
//! (`POST {endpoint}/models/chat/completions?api-version=…`), beside the Azure OpenAI deployment
//! form (`azure`, in [`openai`](crate::providers::openai)).
//!
//! | setting | source |
//! |---|---|
//! | endpoint | `AZURE_INFERENCE_ENDPOINT` (the official SDK samples' name), else `AZURE_AI_INFERENCE_ENDPOINT`; e.g. `https://{resource}.services.ai.azure.com`. No default. |
//! | key | `AZURE_INFERENCE_CREDENTIAL`, else `AZURE_AI_INFERENCE_API_KEY`, sent as `api-key: …` |
//! | Entra ID token | `AZURE_INFERENCE_AD_TOKEN` (used when no key is set), sent as `Authorization: Bearer …` |
//! | API version | `AZURE_INFERENCE_API_VERSION`, default [`DEFAULT_API_VERSION`] (`2024-05-01-preview`) |
//! | request id | response header `apim-request-id`, `x-request-id` or `x-ms-request-id` |
//!
//! The path is `/models/chat/completions` under a resource endpoint; an endpoint that already ends
//! in `/models`, and serverless endpoints (`https://{name}.{region}.models.ai.azure.com`, GitHub's
//! `https://models.inference.ai.azure.com`), take `/chat/completions`. The model (deployment name)
//! goes in the body.
//!
//! The body is the OpenAI Chat Completions subset (`max_tokens`, never `max_completion_tokens`);
//! the response and the stream are OpenAI's and are read by the OpenAI code. Two additions:
//!
//! - Fields in `req.extra` are not part of the Model Inference API, which rejects unknown fields
//!   unless told otherwise, so a request carrying any sends `extra-parameters: pass-through`.
//! - A streamed request asks for its usage with `stream_options: {"include_usage": true}` (the
//!   OpenAI models behind the API report streamed usage only then); that field is an extra
//!   parameter too, so streamed requests carry `extra-parameters: pass-through`. To turn this off
//!   for a model that rejects the field, configure the `extra-parameters` header yourself
//!   (`Call::header("extra-parameters", "error")` or `"drop"`): then no `stream_options` is sent.
//!
//! Errors: `{"error":{"code","message","target","details","innererror"}}` with the code also in the
//! `x-ms-error-code` header (see `error.rs`).

mod convert;
pub(crate) mod error;
pub(crate) mod stream;

/// Registers this module's providers under their names (called once by the registry).
pub(crate) fn register(map: &mut crate::providers::Registry) {
    crate::providers::register_wire(map, AzureInferenceWire);
}

#[cfg(test)]
mod tests;

use http::HeaderMap;

use crate::client::ClientConfig;
use crate::error::Error;
use crate::provider::{Capabilities, ChatRequest};
use crate::providers::common::EnvSpec;
use crate::providers::openai::encode_segment;
use crate::response::Response;
use crate::transport::{BodyDecoder, HttpRequest, ResponseMeta, SseBody, Wire, env};

/// The registry name.
pub(crate) const PROVIDER: &str = "azure-inference";

/// Where Azure AI Inference's configuration comes from (no default endpoint: each is a resource).
const ENV: EnvSpec = EnvSpec {
    provider: PROVIDER,
    base_vars: &["AZURE_INFERENCE_ENDPOINT", "AZURE_AI_INFERENCE_ENDPOINT"],
    default_base: None,
    key_vars: &["AZURE_INFERENCE_CREDENTIAL", "AZURE_AI_INFERENCE_API_KEY"],
};

/// The API version used when `AZURE_INFERENCE_API_VERSION` is not set.
pub const DEFAULT_API_VERSION: &str = "2024-05-01-preview";

/// The Azure AI Model Inference protocol.
#[derive(Debug, Default)]
pub(crate) struct AzureInferenceWire;

/// Whether `base` is an endpoint under which the chat route is `/chat/completions` (no `/models`).
fn route_without_models(base: &str) -> bool {
    if base.ends_with("/models") {
        return true;
    }
    let host = reqwest::Url::parse(base)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase));
    host.is_some_and(|h| {
        h.ends_with(".models.ai.azure.com") || h == "models.inference.ai.azure.com"
    })
}

/// The chat completions URL for an endpoint and API version.
pub(crate) fn chat_url(base: &str, version: &str) -> String {
    let base = base.trim_end_matches('/');
    let path = if route_without_models(base) {
        "/chat/completions"
    } else {
        "/models/chat/completions"
    };
    format!("{base}{path}?api-version={}", encode_segment(version))
}

/// Whether a streamed request may ask for usage: not when the caller set `extra-parameters`
/// to anything but `pass-through`.
fn stream_usage_allowed(req: &ChatRequest) -> bool {
    req.client
        .headers
        .get_all("extra-parameters")
        .iter()
        .all(|v| {
            v.to_str()
                .is_ok_and(|v| v.trim().eq_ignore_ascii_case("pass-through"))
        })
}

impl Wire for AzureInferenceWire {
    fn name(&self) -> &str {
        PROVIDER
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }

    fn client_from_env(&self) -> ClientConfig {
        let mut c = ClientConfig {
            base_url: ENV.base_url(),
            api_key: ENV.api_key(),
            api_version: Some(
                env("AZURE_INFERENCE_API_VERSION").unwrap_or_else(|| DEFAULT_API_VERSION.into()),
            ),
            ..ClientConfig::default()
        };
        if c.api_key.is_none() {
            if let Some(token) = env("AZURE_INFERENCE_AD_TOKEN") {
                c.set_header("authorization", &format!("Bearer {token}"), true);
            }
        }
        c
    }

    fn build(&self, req: &ChatRequest, stream: bool) -> Result<HttpRequest, Error> {
        let base = ENV.require_base(req)?;
        let version = req
            .client
            .api_version
            .as_deref()
            .unwrap_or(DEFAULT_API_VERSION);
        let body = convert::request_body(req, stream, stream_usage_allowed(req))?;
        let pass_through = !req.extra.is_empty() || body.stream_options.is_some();
        let mut http = HttpRequest::json(chat_url(base, version), &body)?;
        ENV.key_header(&mut http, req, "api-key", &["authorization"])?;
        if pass_through {
            http.header("extra-parameters", "pass-through", false)?;
        }
        if stream {
            http.header("accept", "text/event-stream", false)?;
        }
        Ok(http)
    }

    fn parse(
        &self,
        req: &ChatRequest,
        meta: &ResponseMeta,
        body: &[u8],
    ) -> Result<Response, Error> {
        convert::parse_response(req, meta, body)
    }

    fn classify(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
        error::classify(status, headers, body)
    }

    fn stream_decoder(&self, _req: &ChatRequest) -> Box<dyn BodyDecoder> {
        Box::new(SseBody::new(Box::new(stream::AzureInferenceSse::default())))
    }

    fn request_id_headers(&self) -> &'static [&'static str] {
        &["apim-request-id", "x-request-id", "x-ms-request-id"]
    }
}
