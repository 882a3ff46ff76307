//! Gemini streaming (`:streamGenerateContent?alt=sse`).
//!
//! Data-only SSE (CRLF line endings) where every event is a complete `GenerateContentResponse`
//! holding only the new parts. There is no terminator: the stream ends when the server closes the
//! connection after the chunk with a `finishReason`. So the finish reason and the usage (which is
//! cumulative: the last `usageMetadata` counts) are emitted when the body ends, and a body that
//! ends without any `finishReason` is [`StreamInterrupted`](ErrorKind::StreamInterrupted). Some
//! recordings repeat `finishReason: STOP` on every chunk; the last one seen counts.
//!
//! Function calls are never fragmented: each `functionCall` part becomes `ToolCallStart`,
//! `ToolCallDelta` (the whole `args` object) and `ToolCallEnd` at once.
//!
//! When a stream fails mid-way, the server writes the `google.rpc.Status` error as bare,
//! pretty-printed JSON without a `data:` prefix. The SSE decoder keeps those stray lines; they are
//! reassembled by balancing brackets (as python-genai does) and the error is classified.

use std::collections::VecDeque;

use serde_json::Value;

use super::convert::{
    arguments_text, blocked, decode_error, error_object, finish_with_calls, parse_chunk,
    plain_chunk, synthetic_id, usage,
};
use super::error::classify_value;
use super::wire::GenerateContentResponse;
use crate::codec::sse::{SseDecoder, SseError, SseItem};
use crate::error::{Error, ErrorKind};
use crate::provider::ProviderEvent;
use crate::response::Usage;
use crate::transport::BodyDecoder;

/// Longest JSON object accepted outside the event stream.
const MAX_STRAY_JSON: usize = 1024 * 1024;

/// Reassembles a JSON value written as bare lines, by balancing `{}`/`[]` outside strings.
#[derive(Debug, Default)]
struct StrayJson {
    buf: String,
    depth: usize,
    in_string: bool,
    escaped: bool,
}

impl StrayJson {
    fn started(&self) -> bool {
        !self.buf.is_empty()
    }

    /// Feeds one stray line; returns the JSON text once its brackets balance. Lines that cannot
    /// start a JSON value are ignored, as the SSE grammar ignores unknown fields.
    fn line(&mut self, line: &str) -> Result<Option<String>, Error> {
        if !self.started() && !line.trim_start().starts_with(['{', '[']) {
            return Ok(None);
        }
        if self.buf.len() + line.len() > MAX_STRAY_JSON {
            *self = StrayJson::default();
            return Err(decode_error(
                "a JSON object written outside the event stream exceeds 1 MiB",
            ));
        }
        self.buf.push_str(line);
        self.buf.push('\n');
        let mut closed = false;
        for c in line.chars() {
            if self.in_string {
                match c {
                    _ if self.escaped => self.escaped = false,
                    '\\' => self.escaped = true,
                    '"' => self.in_string = false,
                    _ => {}
                }
                continue;
            }
            match c {
                '"' => self.in_string = true,
                '{' | '[' => self.depth += 1,
                '}' | ']' => {
                    self.depth = self.depth.saturating_sub(1);
                    closed = self.depth == 0;
                }
                _ => {}
            }
        }
        if closed && self.depth == 0 {
            let text = std::mem::take(&mut self.buf);
            *self = StrayJson::default();
            return Ok(Some(text));
        }
        Ok(None)
    }
}

/// What the chunks said so far.
#[derive(Debug, Default)]
struct Chunks {
    started: bool,
    calls: usize,
    finish: Option<String>,
    usage: Option<Usage>,
}

impl Chunks {
    /// Handles one event's data: a response chunk (read in one parse) or anything else (an error
    /// object, a malformed chunk) through a `Value`.
    fn data(&mut self, data: &str, out: &mut VecDeque<ProviderEvent>) -> Result<(), Error> {
        if let Some(chunk) = plain_chunk(data.as_bytes()) {
            return self.chunk(chunk, out);
        }
        let value: Value = serde_json::from_str(data)
            .map_err(|e| decode_error("a stream chunk is not valid JSON").with_source(e))?;
        if let Some(err) = error_object(&value) {
            return Err(classify_value(None, err));
        }
        if value.is_array() {
            return Err(decode_error(
                "a stream chunk is a JSON array, not an object",
            ));
        }
        self.chunk(parse_chunk(value)?, out)
    }

    /// Handles one response chunk.
    fn chunk(
        &mut self,
        chunk: GenerateContentResponse,
        out: &mut VecDeque<ProviderEvent>,
    ) -> Result<(), Error> {
        if !self.started {
            self.started = true;
            // Gemini sends no request-id header: the response id identifies the exchange.
            out.push_back(ProviderEvent::Metadata {
                id: chunk.response_id.clone(),
                model: chunk.model_version.clone(),
                request_id: chunk.response_id.clone(),
                status: None,
            });
        }
        if let Some(e) = blocked(&chunk) {
            return Err(e);
        }
        if let Some(cand) = chunk.first_candidate() {
            for part in cand.parts() {
                if let Some(t) = part.answer_text().filter(|t| !t.is_empty()) {
                    out.push_back(ProviderEvent::Text(t.to_string()));
                }
                if let Some(fc) = &part.function_call {
                    let index = self.calls;
                    self.calls += 1;
                    out.push_back(ProviderEvent::ToolCallStart {
                        index,
                        id: fc.id.clone().unwrap_or_else(|| synthetic_id(index)),
                        name: fc.name.clone().unwrap_or_default(),
                    });
                    if let Some(signature) = &part.thought_signature {
                        out.push_back(ProviderEvent::ToolCallSignature {
                            index,
                            signature: signature.clone(),
                        });
                    }
                    out.push_back(ProviderEvent::ToolCallDelta {
                        index,
                        arguments: arguments_text(fc.args.as_ref()),
                    });
                    out.push_back(ProviderEvent::ToolCallEnd { index });
                }
            }
            if let Some(raw) = &cand.finish_reason {
                self.finish = Some(raw.clone());
            }
        }
        if let Some(u) = &chunk.usage_metadata {
            self.usage = Some(usage(u));
        }
        Ok(())
    }

    /// The body ended: the finish reason and usage, or the interruption.
    fn end(&mut self, out: &mut VecDeque<ProviderEvent>) -> Result<(), Error> {
        let Some(raw) = self.finish.take() else {
            return Err(Error::new(
                ErrorKind::StreamInterrupted,
                "the stream ended without a finishReason (Gemini streams end by closing after it)",
            ));
        };
        if let Some(u) = self.usage.take() {
            out.push_back(ProviderEvent::Usage(u));
        }
        out.push_back(ProviderEvent::Finish {
            reason: finish_with_calls(&raw, self.calls > 0),
            raw: Some(raw),
        });
        Ok(())
    }
}

/// The [`BodyDecoder`] of Gemini streams. See the [module docs](self).
#[derive(Debug)]
pub(crate) struct GeminiBody {
    sse: SseDecoder,
    stray: StrayJson,
    chunks: Chunks,
}

impl Default for GeminiBody {
    fn default() -> Self {
        GeminiBody {
            sse: SseDecoder::new().keep_stray_lines(true),
            stray: StrayJson::default(),
            chunks: Chunks::default(),
        }
    }
}

fn sse_error(e: SseError) -> Error {
    Error::new(ErrorKind::Decode, "malformed event stream").with_source(e)
}

impl GeminiBody {
    fn item(&mut self, item: SseItem, out: &mut VecDeque<ProviderEvent>) -> Result<(), Error> {
        match item {
            SseItem::Event(ev) => {
                if self.stray.started() {
                    return Err(decode_error(
                        "an event arrived inside a JSON object written outside the event stream",
                    ));
                }
                let data = ev.data.trim();
                if data.is_empty() {
                    return Ok(());
                }
                self.chunks.data(data, out)
            }
            SseItem::Stray(line) => match self.stray.line(&line)? {
                Some(text) => {
                    let value: Value = serde_json::from_str(&text).map_err(|e| {
                        decode_error("JSON written outside the event stream is not valid")
                            .with_source(e)
                    })?;
                    match error_object(&value) {
                        Some(err) => Err(classify_value(None, err)),
                        None => Err(decode_error(
                            "JSON written outside the event stream is not an error object",
                        )),
                    }
                }
                None => Ok(()),
            },
        }
    }
}

impl BodyDecoder for GeminiBody {
    fn push(&mut self, chunk: &[u8], out: &mut VecDeque<ProviderEvent>) -> Result<(), Error> {
        self.sse.push(chunk);
        while let Some(item) = self.sse.next_item().map_err(sse_error)? {
            self.item(item, out)?;
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut VecDeque<ProviderEvent>) -> Result<(), Error> {
        while let Some(item) = self.sse.finish_item().map_err(sse_error)? {
            self.item(item, out)?;
        }
        if self.stray.started() {
            return Err(Error::new(
                ErrorKind::StreamInterrupted,
                "the stream ended inside a JSON object written outside the event stream",
            ));
        }
        self.chunks.end(out)
    }

    fn finished(&self) -> bool {
        // No terminator: everything up to the connection close is read.
        false
    }
}
