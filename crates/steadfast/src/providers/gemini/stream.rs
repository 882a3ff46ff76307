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
//! `ToolCallDelta` (the whole `args` object) and `ToolCallEnd` at once. Thought parts become
//! [`Reasoning`](ProviderEvent::Reasoning) deltas — consecutive thought chunks extend one
//! reasoning part — and their signature a
//! [`ReasoningSignature`](ProviderEvent::ReasoningSignature) (a second signature starts a new
//! part); a text part's signature is a signature-only
//! reasoning right after the text, as in unary answers (see the `parts` module). Every other
//! part (`executableCode`, `codeExecutionResult`, `inlineData`, a kind added later) is a
//! complete [`Part`](ProviderEvent::Part) kept as received. Citations are emitted as they
//! arrive, each once (a chunk may repeat earlier ones); `finishMessage` becomes the response's
//! finish details.
//!
//! A chunk that is a JSON object with none of the members of a `GenerateContentResponse`, or a
//! JSON value that is not an object (and not an error), is skipped with a `debug` event: a new
//! kind of chunk never fails a stream. Data that is not JSON is a `Decode` error.
//!
//! When a stream fails mid-way, the server writes the `google.rpc.Status` error as bare,
//! pretty-printed JSON without a `data:` prefix. The SSE decoder keeps those stray lines; they are
//! reassembled by balancing brackets (as python-genai does) and the error is classified.

use std::collections::VecDeque;

use serde_json::Value;

use super::convert::{
    arguments_text, blocked, decode_error, error_object, finish_details, finish_with_calls,
    plain_chunk, synthetic_id, usage,
};
use super::error::classify_value;
use super::parts::{GEMINI, Piece, citations, piece};
use super::wire::GenerateContentResponse;
use crate::codec::sse::{SseDecoder, SseError, SseItem};
use crate::error::{Error, ErrorKind};
use crate::message::{OtherPart, Part};
use crate::provider::ProviderEvent;
use crate::response::{Citation, Usage};
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

/// The reasoning being streamed (consecutive thought chunks extend one reasoning part).
#[derive(Debug, Clone, Copy, Default)]
enum Open {
    /// None: the last thing emitted is not reasoning.
    #[default]
    None,
    /// A thought is open; whether it has its signature.
    Thought { signed: bool },
}

/// What the chunks said so far.
#[derive(Debug, Default)]
struct Chunks {
    started: bool,
    calls: usize,
    finish: Option<String>,
    finish_message: Option<String>,
    usage: Option<Usage>,
    /// Whether the last thing emitted is text (see `parts`: a signature placed now is read back
    /// as that text's).
    after_text: bool,
    open: Open,
    /// The citations already emitted: a chunk may repeat them.
    cited: Vec<Citation>,
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
        let Value::Object(members) = &value else {
            tracing::debug!("gemini: skipping a stream chunk that is not a JSON object");
            return Ok(());
        };
        let keys: Vec<String> = members.keys().cloned().collect();
        let chunk: GenerateContentResponse = serde_json::from_value(value).map_err(|e| {
            decode_error("a stream chunk is not a Gemini GenerateContentResponse").with_source(e)
        })?;
        if !chunk.is_recognisable() {
            tracing::debug!(?keys, "gemini: skipping a stream chunk of an unknown shape");
            return Ok(());
        }
        self.chunk(chunk, out)
    }

    /// Emits one answer part.
    fn part(&mut self, part: &Value, out: &mut VecDeque<ProviderEvent>) {
        let other = |kind: &str| {
            ProviderEvent::Part(Part::Other(OtherPart::new(GEMINI, kind, part.clone())))
        };
        match piece(part) {
            Piece::Empty
            | Piece::Thought {
                text: "",
                signature: None,
            } => {}
            Piece::Text { text, signature } => {
                if !text.is_empty() {
                    out.push_back(ProviderEvent::Text(text.to_string()));
                    self.after_text = true;
                    self.open = Open::None;
                }
                if let Some(s) = signature {
                    if self.after_text {
                        // The text's signature: a signature-only reasoning right after it.
                        out.push_back(ProviderEvent::ReasoningSignature(s.to_string()));
                        out.push_back(ProviderEvent::ReasoningEnd);
                    } else {
                        out.push_back(other("text"));
                    }
                    self.after_text = false;
                    self.open = Open::None;
                }
            }
            Piece::Thought {
                text: "",
                signature: Some(_),
            } if self.after_text => {
                out.push_back(other("thought"));
                self.after_text = false;
            }
            Piece::Thought { text, signature } => {
                let mut signed = false;
                if let Open::Thought { signed: was } = self.open {
                    if was && signature.is_some() {
                        // A second signature begins another thought.
                        out.push_back(ProviderEvent::ReasoningEnd);
                    } else {
                        signed = was;
                    }
                }
                if !text.is_empty() {
                    out.push_back(ProviderEvent::Reasoning(text.to_string()));
                }
                if let Some(s) = signature {
                    out.push_back(ProviderEvent::ReasoningSignature(s.to_string()));
                    signed = true;
                }
                self.open = Open::Thought { signed };
                self.after_text = false;
            }
            Piece::Call {
                id,
                name,
                args,
                signature,
            } => {
                let index = self.calls;
                self.calls += 1;
                out.push_back(ProviderEvent::ToolCallStart {
                    index,
                    id: id.map_or_else(|| synthetic_id(index), str::to_string),
                    name: name.to_string(),
                });
                if let Some(signature) = signature {
                    out.push_back(ProviderEvent::ToolCallSignature {
                        index,
                        signature: signature.to_string(),
                    });
                }
                out.push_back(ProviderEvent::ToolCallDelta {
                    index,
                    arguments: arguments_text(args),
                });
                out.push_back(ProviderEvent::ToolCallEnd { index });
                self.after_text = false;
                self.open = Open::None;
            }
            Piece::Other { kind } => {
                out.push_back(other(kind));
                self.after_text = false;
                self.open = Open::None;
            }
        }
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
                self.part(part, out);
            }
            let found = citations(
                cand.citation_metadata.as_ref(),
                cand.grounding_metadata.as_ref(),
            );
            for c in found {
                if !self.cited.contains(&c) {
                    self.cited.push(c.clone());
                    out.push_back(ProviderEvent::Citation(c));
                }
            }
            if let Some(raw) = &cand.finish_reason {
                self.finish = Some(raw.clone());
            }
            if let Some(m) = &cand.finish_message {
                self.finish_message = Some(m.clone());
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
        if let Some(m) = self.finish_message.take() {
            out.push_back(ProviderEvent::FinishDetails(finish_details(&m)));
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
