//! AWS Bedrock Runtime: `Converse` and `ConverseStream`.
//!
//! `POST {base}/model/{modelId}/converse` and `…/converse-stream`, the model id (or inference
//! profile id, or ARN) percent-encoded in the path (`:` → `%3A`). The streamed answer is a body
//! of binary AWS eventstream frames, not SSE (see [`codec::eventstream`](crate::codec::eventstream)).
//!
//! | variable | use |
//! |---|---|
//! | `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`, then `BEDROCK_BASE_URL`, then `AWS_ENDPOINT_URL` | base URL (without `/model/…`) |
//! | `AWS_REGION`, then `AWS_DEFAULT_REGION` | region: default base `https://bedrock-runtime.{region}.amazonaws.com` and the SigV4 scope |
//! | `AWS_BEARER_TOKEN_BEDROCK` | Bedrock API key, sent as `Authorization: Bearer …` |
//! | `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` | SigV4 credentials (signing name `bedrock`) |
//! | `AWS_PROFILE` (else `default`), `AWS_SHARED_CREDENTIALS_FILE`, `AWS_CONFIG_FILE` | the profile of the AWS shared files: its static keys when the variables above give none, its `region` when no region variable is set |
//!
//! Without a base URL and a region, sending is a `Config` error naming the variables. A bearer
//! token needs no region; SigV4 takes the region from the settings or from a standard endpoint's
//! host. Which credentials win (the `auth_selection` cases of `fixtures/bedrock/cases.json`):
//! a key set with [`Call::api_key`](crate::Call::api_key) first, then credentials set with
//! [`BedrockCallExt::aws_credentials`] or a profile named with [`BedrockCallExt::aws_profile`],
//! then `AWS_BEARER_TOKEN_BEDROCK`, then the SigV4 variables, then the static keys of the
//! `AWS_PROFILE` (or `default`) profile; setting both a key and credentials in code is a `Config`
//! error. SSO, assumed roles, credential processes and instance roles are not run (a profile
//! that needs one is a `Config` error saying so). Every attempt is signed afresh (new
//! `X-Amz-Date`).
//!
//! Mapping and differences:
//! - system messages → `system: [{"text"}]`; consecutive turns of one role are merged (Converse
//!   requires alternation); images as base64 bytes (`png`, `jpeg`, `gif`, `webp`; `data:` URLs
//!   are unpacked, `s3://` URIs become `s3Location`; `https:` URLs are `Unsupported`); tool
//!   results as `[{"text": …}]` with `status: "error"` for failures (the field is only accepted
//!   by some models, so success is left implicit).
//! - `max_tokens`, `temperature`, `top_p`, `stop` → `inferenceConfig`; `seed` and the penalties
//!   are `Unsupported` (Converse has none; model-native fields go in
//!   `additionalModelRequestFields`).
//! - tools → `toolConfig.tools[].toolSpec` (`strict` when the tool is); `ToolChoice::Auto` sends
//!   no `toolChoice` (the default), `Required` → `any`, `Tool(name)` → `tool`; `ToolChoice::None`
//!   leaves the tools out, and is `Unsupported` when the conversation holds tool calls or
//!   results (Bedrock then requires `toolConfig`).
//! - structured output forces a tool by default (every tool-capable model supports it);
//!   [`OutputMode::JsonSchema`](crate::OutputMode) sends
//!   `outputConfig.textFormat` with the schema as a JSON **string**.
//! - extras ([`Call::extra_body`](crate::Call::extra_body)) are top-level body members:
//!   `additionalModelRequestFields` (e.g. `{"top_k": 40}`), `guardrailConfig`,
//!   `performanceConfig`, `requestMetadata`, … Repeating a member Steadfast builds
//!   (`messages`, `inferenceConfig`, …) is a `Config` error.
//! - answers: `text` blocks are text and `toolUse` blocks tool calls; `reasoningContent` is
//!   [`Reasoning`](crate::Reasoning) (`reasoningText` with its `signature`, or `redactedContent`
//!   as `redacted`); a `citationsContent` block is text and its [`Citation`](crate::Citation)s
//!   (kind the citation's `location` member: `web`, `documentChar`, …); a server tool's
//!   `toolUse` (`type: server_tool_use`), `toolResult`, `image` and every block member added
//!   later are [`Other`](crate::Part::Other) parts holding the block as received, `kind` its
//!   member. `additionalModelResponseFields` are the
//!   [finish details](crate::Response::finish_details). Unknown fields are ignored. Streams
//!   give the same (see the `stream` module).
//! - Bedrock's reasoning goes back as `reasoningContent` (text and signature, or the redacted
//!   content) and its `Other` parts as received; another provider's reasoning and parts are
//!   left out. Text kept from a `citationsContent` block goes back as text.
//! - stop reasons: `end_turn` → Stop, `tool_use` → ToolCalls, `max_tokens` and
//!   `model_context_window_exceeded` → Length, `stop_sequence` → StopSequence,
//!   `guardrail_intervened` and `content_filtered` → ContentFilter, others (`malformed_*`, a
//!   reason added later) → Other with Bedrock's word.
//! - errors: the code from `x-amzn-ErrorType` (else body `code` / `__type`), the message from
//!   `message` / `Message`; `x-amz-retry-after` (ms) is a retry hint; request id from
//!   `x-amzn-RequestId`.

mod auth;
mod convert;
pub(crate) mod error;
mod profile;
pub(crate) mod stream;

/// Registers this module's providers under their names (called once by the registry).
pub(crate) fn register(map: &mut crate::providers::Registry) {
    crate::providers::register_wire(map, BedrockWire);
}

#[cfg(test)]
mod tests;
pub(crate) mod wire;

use std::time::SystemTime;

use http::HeaderMap;

pub use auth::{AwsConfig, AwsCredentials, BedrockCallExt};

use crate::client::ClientConfig;
use crate::error::Error;
use crate::provider::{Capabilities, ChatRequest};
use crate::response::Response;
use crate::transport::{BodyDecoder, HttpRequest, ResponseMeta, Wire, env, join_url};

/// The SigV4 signing name of Bedrock Runtime.
pub const SIGNING_NAME: &str = "bedrock";

/// The Bedrock Converse protocol.
#[derive(Debug, Default)]
pub(crate) struct BedrockWire;

/// Percent-encodes a path segment: everything but the RFC 3986 unreserved characters.
pub(crate) fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The base URL: the configured one, else the region's default endpoint.
fn base_url(client: &ClientConfig) -> Result<String, Error> {
    if let Some(b) = &client.base_url {
        return Ok(b.clone());
    }
    match client
        .provider_settings::<AwsConfig>()
        .and_then(|a| a.region.as_deref())
    {
        Some(r) if auth::valid_region(r) => Ok(auth::default_base(r)),
        Some(r) => {
            Err(Error::config(format!("`{r}` is not an AWS region name")).with_provider("bedrock"))
        }
        None => Err(Error::config(
            "no AWS region for bedrock: set AWS_REGION (or AWS_DEFAULT_REGION), or a base URL \
             with AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
        )
        .with_provider("bedrock")),
    }
}

/// Builds the signed (or bearer-authenticated) request at `time`.
pub(crate) fn build_at(
    req: &ChatRequest,
    stream: bool,
    time: SystemTime,
) -> Result<HttpRequest, Error> {
    let base = base_url(&req.client)?;
    let body = convert::request_body(req)?;
    let op = if stream {
        "converse-stream"
    } else {
        "converse"
    };
    let url = join_url(
        &base,
        &format!("/model/{}/{op}", encode_segment(&req.model)),
    );
    let mut http = HttpRequest::json(url, &body)?;
    if stream {
        http.header("accept", "application/vnd.amazon.eventstream", false)?;
    }
    match auth::select(&req.client)? {
        auth::Auth::Bearer(key, source) => {
            tracing::debug!(?source, "bedrock: bearer token authentication");
            http.bearer(key)?;
        }
        auth::Auth::SigV4(creds, source) => {
            tracing::debug!(?source, "bedrock: SigV4 authentication");
            let region = auth::signing_region(&req.client, &base)?;
            let headers: Vec<(String, String)> = http
                .headers
                .iter()
                .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
                .collect();
            let pairs: Vec<(&str, &str)> = headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let signing = auth::Signing {
                service: SIGNING_NAME,
                region,
                time,
                content_sha256: false,
            };
            let added = auth::sign_request("POST", &http.url, &pairs, &http.body, creds, &signing)?;
            for h in added {
                http.header(h.name, &h.value, h.sensitive)?;
            }
        }
    }
    Ok(http)
}

impl Wire for BedrockWire {
    fn name(&self) -> &str {
        "bedrock"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            seed: false,
            penalties: false,
            ..Capabilities::ALL
        }
    }

    fn client_from_env(&self) -> ClientConfig {
        auth::config_from(&env)
    }

    fn build(&self, req: &ChatRequest, stream: bool) -> Result<HttpRequest, Error> {
        build_at(req, stream, SystemTime::now())
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
        Box::new(stream::ConverseStream::default())
    }

    fn request_id_headers(&self) -> &'static [&'static str] {
        &["x-amzn-requestid", "x-amz-request-id"]
    }
}
