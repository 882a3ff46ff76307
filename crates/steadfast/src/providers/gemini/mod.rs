//! Google Gemini (the Developer API, with an API key).
//!
//! | setting | source |
//! |---|---|
//! | base URL | `GEMINI_BASE_URL`, then `GOOGLE_GEMINI_BASE_URL` (python-genai's), default [`DEFAULT_BASE_URL`]; **no version** in it, as in the official SDK |
//! | API key | `GEMINI_API_KEY`, then `GOOGLE_API_KEY`; sent as `x-goog-api-key` (python-genai prefers `GOOGLE_API_KEY` when both are set) |
//! | API version | [`Call::api_version`](crate::Call::api_version), default [`DEFAULT_API_VERSION`] |
//!
//! Requests go to `POST {base}/{version}/models/{model}:generateContent` and
//! `…:streamGenerateContent?alt=sse` (a model given as `models/…` or `tunedModels/…` keeps its
//! collection). A configured `authorization` or `x-goog-api-key` header replaces the API key
//! (OAuth through a proxy, say).
//!
//! # Mapping
//!
//! - System messages → `systemInstruction`; user and assistant turns → `contents` with roles
//!   `user` and `model` (consecutive turns of one role are merged).
//! - Images: base64 → `inlineData`; `data:…;base64,` URLs → `inlineData`; `https://` URLs →
//!   `fileData.fileUri` (MIME type from the extension when known); other URL forms are
//!   `Unsupported`.
//! - Tools → one `functionDeclarations` list with `parametersJsonSchema`; tool choice →
//!   `toolConfig.functionCallingConfig.mode` `AUTO` / `ANY` / `NONE`, a forced tool being `ANY`
//!   with `allowedFunctionNames: [name]`.
//! - Tool results → `functionResponse` parts. `response` must be an object: a JSON-object result is
//!   sent as is, anything else as `{"result": …}`, a failed tool's output as `{"error": …}`. The
//!   function name comes from the result, or from the earlier call with the same id.
//! - Gemini's API-key API gives function calls no ids: Steadfast numbers them `call_0`, `call_1`,
//!   … per response, and never sends such ids back (ids Gemini does give are kept and echoed).
//! - A function call's `thoughtSignature` (thinking models sign their calls; Gemini 3 rejects a
//!   conversation that gives a call back without its signature) is kept in
//!   [`ToolCall::signature`](crate::ToolCall::signature) — from unary responses and streams — and
//!   sent back beside the call's `functionCall`, also by conversational reinsertion.
//! - Gemini's [`Reasoning`](crate::Reasoning) parts go back as `thought: true` parts with their
//!   text and signature, except a signature-only one right after a text part, which is that
//!   text part's `thoughtSignature` and goes back on it (see the `parts` module); Gemini's
//!   [`Other`](crate::Part::Other) parts go back as received. Another provider's reasoning and
//!   parts are left out; a Gemini reasoning part holding redacted data is `Unsupported`.
//! - Params → `generationConfig`: `temperature`, `topP`, `maxOutputTokens`, `stopSequences`,
//!   `seed` (32-bit; larger seeds are `Unsupported`), `presencePenalty`, `frequencyPenalty`.
//! - Structured output defaults to the native `responseMimeType: application/json` +
//!   `responseJsonSchema`; [`OutputMode::Tool`](crate::OutputMode) forces a function instead.
//! - [`Call::extra_body`](crate::Call::extra_body) fields are merged into the body, objects key by
//!   key: `{"generationConfig": {"thinkingConfig": {"thinkingBudget": 0}}}` joins the mapped
//!   `generationConfig`, `safetySettings` is added as is.
//!
//! # Responses
//!
//! Text is the concatenation of the first candidate's text parts. Thought parts
//! (`thought: true`) are [`Reasoning`](crate::Reasoning) with their `thoughtSignature`, and a text
//! part's signature is kept too; executable code, code results, inline and file data, and any
//! part of a kind added later are [`Other`](crate::Part::Other) parts holding the part as
//! received, `kind` its member (`executableCode`, …). Citation and grounding metadata are
//! [`Citation`](crate::Citation)s and `finishMessage` is the
//! [finish details](crate::Response::finish_details) (`{"finishMessage": …}`); see the `parts`
//! module for the details. Unknown fields are ignored. Function calls
//! are found by part type and a `STOP` finish with calls becomes
//! [`FinishReason::ToolCalls`](crate::FinishReason) (the raw reason stays `STOP`). `SAFETY`,
//! `RECITATION`, `BLOCKLIST`, `PROHIBITED_CONTENT`, `SPII` and the image variants are
//! `ContentFilter`; `MAX_TOKENS` is `Length`; the rest (`MALFORMED_FUNCTION_CALL`, `OTHER`, …) are
//! `Other`. A blocked prompt (`promptFeedback.blockReason`) is a `ContentFiltered` error whose code
//! is the block reason. Usage: input is prompt + tool-use prompt tokens,
//! output is candidate + thinking tokens. Gemini sends no request-id header, so the `responseId`
//! is both the response id and the request id (a proxy's `x-request-id` header wins when the
//! transport reports one).
//!
//! Streaming and errors: see the `stream` and `error` modules.

#[cfg(test)]
mod answer_tests;
mod convert;
pub(crate) mod error;
mod parts;
#[cfg(test)]
mod request_tests;
pub(crate) mod stream;

/// Registers this module's providers under their names (called once by the registry).
pub(crate) fn register(map: &mut crate::providers::Registry) {
    crate::providers::register_wire(map, GeminiWire);
}

#[cfg(test)]
mod tests;
pub(crate) mod wire;

use http::HeaderMap;

use crate::client::ClientConfig;
use crate::error::Error;
use crate::provider::{Capabilities, ChatRequest};
use crate::providers::common::EnvSpec;
use crate::response::Response;
use crate::transport::{BodyDecoder, HttpRequest, ResponseMeta, Wire, join_url};

/// The Gemini Developer API endpoint, without a version.
pub const DEFAULT_BASE_URL: &str = "https://generativelanguage.googleapis.com";

/// The API version used when none is configured (the one python-genai uses).
pub const DEFAULT_API_VERSION: &str = "v1beta";

/// Where Gemini's configuration comes from.
const ENV: EnvSpec = EnvSpec {
    provider: "gemini",
    base_vars: &["GEMINI_BASE_URL", "GOOGLE_GEMINI_BASE_URL"],
    default_base: Some(DEFAULT_BASE_URL),
    key_vars: &["GEMINI_API_KEY", "GOOGLE_API_KEY"],
};

/// The Gemini `generateContent` protocol.
#[derive(Debug, Default)]
pub(crate) struct GeminiWire;

/// Percent-encodes one URL path segment.
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `models/{model}` (or `tunedModels/{id}`), each segment encoded.
fn model_path(model: &str) -> String {
    let (collection, id) = if let Some(id) = model.strip_prefix("tunedModels/") {
        ("tunedModels", id)
    } else {
        ("models", model.strip_prefix("models/").unwrap_or(model))
    };
    format!("{collection}/{}", encode_segment(id))
}

/// The request URL for `model`.
pub(crate) fn url(base: &str, version: &str, model: &str, stream: bool) -> String {
    let method = if stream {
        "streamGenerateContent?alt=sse"
    } else {
        "generateContent"
    };
    join_url(
        base,
        &format!(
            "/{}/{}:{method}",
            encode_segment(version.trim_matches('/')),
            model_path(model)
        ),
    )
}

impl Wire for GeminiWire {
    fn name(&self) -> &str {
        "gemini"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }

    fn client_from_env(&self) -> ClientConfig {
        ENV.client()
    }

    fn build(&self, req: &ChatRequest, stream: bool) -> Result<HttpRequest, Error> {
        let base = ENV.require_base(req)?;
        let body = convert::request_body(req)?;
        let version = req
            .client
            .api_version
            .as_deref()
            .unwrap_or(DEFAULT_API_VERSION);
        let url = url(base, version, &req.model, stream);
        // Extra fields are merged into nested objects (`generationConfig`, …), which takes a
        // `Value`; without any, the typed body is serialised directly.
        let mut http = if req.extra.is_empty() {
            HttpRequest::json(url, &body)?
        } else {
            let mut value = serde_json::to_value(&body).map_err(|e| {
                Error::new(
                    crate::ErrorKind::InvalidRequest,
                    "could not serialise the request",
                )
                .with_source(e)
            })?;
            convert::merge_extra(&mut value, &req.extra);
            HttpRequest::json(url, &value)?
        };
        ENV.key_header(
            &mut http,
            req,
            "x-goog-api-key",
            &["authorization", "x-goog-api-key"],
        )?;
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
        Box::new(stream::GeminiBody::default())
    }

    fn request_id_headers(&self) -> &'static [&'static str] {
        // Gemini sends none; a proxy in front of it may.
        &["x-request-id"]
    }
}
