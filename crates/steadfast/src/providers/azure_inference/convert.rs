//! Provider-independent request → Azure AI Inference body, and body → [`Response`].
//!
//! The Model Inference API's chat body and response are the OpenAI Chat Completions subset
//! (`messages, model, temperature, top_p, max_tokens, stop, seed, frequency_penalty,
//! presence_penalty, response_format, tools, tool_choice, stream`), so both reuse the OpenAI code:
//! the body is [`openai_subset_body`] (`max_tokens`, never `max_completion_tokens`), the response is
//! read by the OpenAI parser. The only addition is `stream_options.include_usage` on streamed
//! requests (see [`super`]).

use super::PROVIDER;
use crate::error::Error;
use crate::provider::ChatRequest;
use crate::providers::common::openai_subset_body;
use crate::providers::openai::wire::{ChatCompletionRequest, StreamOptions};
use crate::response::Response;
use crate::transport::ResponseMeta;

/// Builds the JSON body; `stream_usage` asks a streamed response for its usage chunk.
pub(crate) fn request_body(
    req: &ChatRequest,
    stream: bool,
    stream_usage: bool,
) -> Result<ChatCompletionRequest<'_>, Error> {
    let mut body = openai_subset_body(req, stream)?;
    if stream && stream_usage {
        body.stream_options = Some(StreamOptions {
            include_usage: true,
        });
    }
    Ok(body)
}

/// Parses a successful chat completion body (the OpenAI shape).
pub(crate) fn parse_response(
    req: &ChatRequest,
    _meta: &ResponseMeta,
    body: &[u8],
) -> Result<Response, Error> {
    crate::providers::openai::parse_response(PROVIDER, req, body)
}
