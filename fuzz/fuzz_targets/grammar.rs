//! Shared by the `provider_*` targets: structured fuzz inputs that become well-framed answers
//! (SSE events, or AWS eventstream frames with correct lengths and CRCs) carrying JSON built from
//! a provider's own event and body shapes, read through the public `Call::decode_stream` and
//! `Call::decode_response`.
//!
//! A document is a *skeleton* — a real event or body shape of the provider, written as JSON with
//! holes (`"$S"` a string, `"$I"` an index, `"$N"` a count, `"$J"` any value, `"$B"` a bool) —
//! whose holes the fuzzer fills with arbitrary JSON values (its strings and keys drawn from the
//! provider's field names, event types and enum values half of the time), plus fields added at
//! the root and at one object inside. So short inputs are valid events that reach deep into a
//! decoder, and longer ones put any type anywhere. A document can also be a free JSON value.
//!
//! Decoding may fail (that is an answer's right); it must not panic, and neither may reading the
//! decoded response.
#![allow(dead_code, reason = "each target uses the parts of its protocol")]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use serde_json::{Map, Value};
use steadfast::codec::eventstream::{Header, HeaderValue, Message};
use steadfast::{Call, Response, llm};

/// A provider's vocabulary and shapes.
pub struct Grammar {
    /// Registered provider names that read this protocol (the input picks one).
    pub providers: &'static [&'static str],
    /// Field names of its JSON, in one or more lists (a shared vocabulary and its own).
    pub keys: &'static [&'static [&'static str]],
    /// Its string values: event and block types, finish reasons, roles, error codes.
    pub strings: &'static [&'static str],
    /// Stream documents: (`:event-type` for eventstream frames, else "", JSON skeleton).
    pub events: &'static [(&'static str, &'static str)],
    /// Whole-answer (non-streaming) skeletons.
    pub bodies: &'static [&'static str],
    /// SSE events carry an `event:` line naming their `type` (Anthropic, Cohere).
    pub named_events: bool,
    /// The stream is AWS eventstream frames (Bedrock), not SSE.
    pub eventstream: bool,
}

/// The field names of OpenAI chat-completion answers and chunks (the `provider_openai`
/// vocabulary, also the gateway target's upstream).
pub const CHAT_COMPLETION_KEYS: &[&str] = &[
    "id",
    "object",
    "created",
    "model",
    "choices",
    "index",
    "delta",
    "message",
    "role",
    "content",
    "refusal",
    "tool_calls",
    "type",
    "function",
    "name",
    "arguments",
    "finish_reason",
    "usage",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "x_groq",
    "error",
    "code",
    "param",
    "logprobs",
    "annotations",
    "audio",
    "reasoning_content",
    "custom",
    "input",
    "system_fingerprint",
    "service_tier",
    "prompt_filter_results",
    "content_filter_results",
];

/// A JSON value; strings and keys come from the grammar's vocabulary when `Known`.
#[derive(Debug, Arbitrary)]
pub enum J {
    Null,
    Bool(bool),
    Small(u8),
    Int(i64),
    Float(f64),
    Known(u8),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(K, J)>),
}

/// An object key.
#[derive(Debug, Arbitrary)]
pub enum K {
    Known(u8),
    Raw(String),
}

/// One JSON document: a skeleton (or, past the end of the list, the free value) with its holes
/// filled, and fields added.
#[derive(Debug, Arbitrary)]
pub struct Doc {
    pub skeleton: u8,
    pub holes: Vec<J>,
    pub extra: Vec<(K, J)>,
    /// A field added to the n-th object of the document (in depth-first order).
    pub deep: Option<(u8, K, J)>,
    pub free: Option<J>,
}

/// One item of a stream.
#[derive(Debug, Arbitrary)]
pub enum Item {
    /// A data event (SSE) or an event frame (eventstream).
    Doc(Doc),
    /// An SSE event with a fuzzer-chosen `event:` name; an eventstream frame with a chosen
    /// `:event-type` and `:message-type`.
    Named { name: K, message_type: u8, doc: Doc },
    /// `data: [DONE]`.
    Done,
    /// A data event, or frame payload, that is not JSON.
    RawData(String),
    /// A line outside any SSE field (Gemini writes errors so); raw bytes between frames.
    Stray(String),
}

#[derive(Debug, Arbitrary)]
pub struct Input {
    pub provider: u8,
    pub body: Doc,
    pub stream: Vec<Item>,
}

const MAX_DEPTH: usize = 12;

fn pick<'a>(list: &[&'a str], i: u8) -> &'a str {
    if list.is_empty() {
        ""
    } else {
        list[usize::from(i) % list.len()]
    }
}

impl K {
    fn text(&self, g: &Grammar) -> String {
        match self {
            K::Known(i) => {
                let n = g.keys.iter().map(|l| l.len()).sum::<usize>();
                let mut at = usize::from(*i) % n.max(1);
                g.keys
                    .iter()
                    .find_map(|l| match l.get(at) {
                        Some(k) => Some(*k),
                        None => {
                            at -= l.len();
                            None
                        }
                    })
                    .unwrap_or("")
                    .to_string()
            }
            K::Raw(s) => s.clone(),
        }
    }
}

impl J {
    fn value(&self, g: &Grammar, depth: usize) -> Value {
        if depth > MAX_DEPTH {
            return Value::Null;
        }
        match self {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(*b),
            J::Small(n) => Value::from(*n),
            J::Int(n) => Value::from(*n),
            J::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            J::Known(i) => Value::from(pick(g.strings, *i)),
            J::Str(s) => Value::from(s.as_str()),
            J::Arr(items) => items.iter().map(|j| j.value(g, depth + 1)).collect(),
            J::Obj(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, j)| (k.text(g), j.value(g, depth + 1)))
                    .collect(),
            ),
        }
    }
}

/// Replaces every hole of `v` by the next value of `holes`, or by a plain default when they run
/// out.
fn fill(v: &mut Value, holes: &mut std::slice::Iter<'_, J>, g: &Grammar) {
    match v {
        Value::String(s) if s.len() == 2 && s.starts_with('$') => {
            let default = match s.as_str() {
                "$S" => Value::from("x"),
                "$I" => Value::from(0),
                "$N" => Value::from(1),
                "$B" => Value::from(true),
                _ => Value::Null,
            };
            *v = holes.next().map_or(default, |j| j.value(g, 1));
        }
        Value::Array(items) => items.iter_mut().for_each(|i| fill(i, holes, g)),
        Value::Object(map) => map.values_mut().for_each(|i| fill(i, holes, g)),
        _ => {}
    }
}

/// The `n`-th object of `v`, depth first (counting from `seen`).
fn nth_object<'a>(
    v: &'a mut Value,
    n: usize,
    seen: &mut usize,
) -> Option<&'a mut Map<String, Value>> {
    match v {
        Value::Object(_) if *seen == n => v.as_object_mut(),
        Value::Object(map) => {
            *seen += 1;
            map.values_mut().find_map(|c| nth_object(c, n, seen))
        }
        Value::Array(items) => items.iter_mut().find_map(|c| nth_object(c, n, seen)),
        _ => None,
    }
}

/// The grammar's skeletons as JSON values (they are written as JSON text).
pub fn parse_skeletons(texts: &[&str]) -> Vec<Value> {
    texts
        .iter()
        .map(|t| serde_json::from_str(t).expect("a skeleton of the grammar is JSON"))
        .collect()
}

impl Doc {
    /// The document as JSON, from `skeletons` (see [`parse_skeletons`]).
    pub fn json(&self, g: &Grammar, skeletons: &[Value]) -> Value {
        self.value(g, skeletons).0
    }

    /// The document, and the index of its skeleton (`None` for the free value).
    fn value(&self, g: &Grammar, skeletons: &[Value]) -> (Value, Option<usize>) {
        let i = usize::from(self.skeleton) % (skeletons.len() + 1);
        // Past the list: the free value, or (without one) the first skeleton.
        let (mut v, which) = match (&self.free, i < skeletons.len()) {
            (Some(free), false) => (free.value(g, 0), None),
            (_, within) => match skeletons.get(if within { i } else { 0 }) {
                Some(skeleton) => {
                    let mut v = skeleton.clone();
                    fill(&mut v, &mut self.holes.iter(), g);
                    (v, Some(if within { i } else { 0 }))
                }
                None => (Value::Null, None),
            },
        };
        if let Value::Object(map) = &mut v {
            for (k, j) in &self.extra {
                map.insert(k.text(g), j.value(g, 1));
            }
        }
        if let Some((n, k, j)) = &self.deep
            && let Some(map) = nth_object(&mut v, usize::from(*n), &mut 0)
        {
            map.insert(k.text(g), j.value(g, 2));
        }
        (v, which)
    }
}

/// The calls (one per provider name) and the runtime, made once per process.
struct Harness {
    rt: tokio::runtime::Runtime,
    calls: Vec<Call>,
    events: Vec<Value>,
    bodies: Vec<Value>,
}

fn harness(g: &'static Grammar) -> &'static Harness {
    static H: OnceLock<Harness> = OnceLock::new();
    H.get_or_init(|| Harness {
        rt: tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime"),
        calls: g
            .providers
            .iter()
            .map(|p| {
                llm::call((*p, "fuzz-model"))
                    .expect("a registered provider")
                    .base_url("http://127.0.0.1:9")
                    .api_key("sk-fuzz-0123456789")
            })
            .collect(),
        events: parse_skeletons(&g.events.iter().map(|(_, s)| *s).collect::<Vec<_>>()),
        bodies: parse_skeletons(g.bodies),
    })
}

/// Reads everything a caller may read of a response.
fn touch(r: &Response) {
    let _ = (r.text(), r.refusal(), r.tool_calls(), r.citations());
    let _ = (r.reasoning_text(), r.other_parts().count(), r.parts());
    let _ = (r.finish_reason(), r.raw_finish_reason(), r.finish_details());
    let _ = (r.usage(), r.id(), r.model(), r.raw());
    let _ = r.tools();
    let _ = r.to_message();
}

fn sse(g: &Grammar, h: &Harness, items: &[Item]) -> Vec<u8> {
    sse_bytes(g, &h.events, items)
}

/// The items as an SSE body whose data documents are built from `events` (skeletons).
pub fn sse_bytes(g: &Grammar, events: &[Value], items: &[Item]) -> Vec<u8> {
    let mut out = String::new();
    for item in items {
        match item {
            Item::Doc(doc) => {
                let (v, _) = doc.value(g, events);
                if g.named_events
                    && let Some(t) = v.get("type").and_then(Value::as_str)
                    && !t.contains(['\r', '\n'])
                {
                    out.push_str("event: ");
                    out.push_str(t);
                    out.push('\n');
                }
                out.push_str("data: ");
                out.push_str(&v.to_string());
                out.push_str("\n\n");
            }
            Item::Named { name, doc, .. } => {
                let name = name.text(g).replace(['\r', '\n'], "");
                out.push_str("event: ");
                out.push_str(&name);
                out.push_str("\ndata: ");
                out.push_str(&doc.value(g, events).0.to_string());
                out.push_str("\n\n");
            }
            Item::Done => out.push_str("data: [DONE]\n\n"),
            Item::RawData(s) => {
                for line in s.split(['\r', '\n']) {
                    out.push_str("data: ");
                    out.push_str(line);
                    out.push('\n');
                }
                out.push('\n');
            }
            Item::Stray(s) => {
                out.push_str(&s.replace(['\r', '\n'], " "));
                out.push('\n');
            }
        }
    }
    out.into_bytes()
}

fn frame(event_type: &str, message_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut headers = vec![Header::new(
        ":message-type",
        HeaderValue::from(message_type.to_string()),
    )];
    let name = match message_type {
        "exception" => ":exception-type",
        "error" => ":error-code",
        _ => ":event-type",
    };
    headers.push(Header::new(name, HeaderValue::from(event_type.to_string())));
    headers.push(Header::new(
        ":content-type",
        HeaderValue::from("application/json"),
    ));
    // A header name or value over the format's limits cannot be encoded: skip the frame.
    Message::new(headers, payload.to_vec())
        .encode()
        .unwrap_or_default()
}

fn eventstream(g: &Grammar, h: &Harness, items: &[Item]) -> Vec<u8> {
    let mut out = Vec::new();
    for item in items {
        match item {
            Item::Doc(doc) => {
                let (v, which) = doc.value(g, &h.events);
                let event_type = which.map_or("", |i| g.events[i].0);
                let message_type = if event_type.ends_with("Exception") {
                    "exception"
                } else {
                    "event"
                };
                out.extend(frame(event_type, message_type, v.to_string().as_bytes()));
            }
            Item::Named {
                name,
                message_type,
                doc,
            } => {
                let message_type = match message_type % 8 {
                    0..=4 => "event",
                    5 => "exception",
                    6 => "error",
                    _ => "x-future",
                };
                let payload = doc.value(g, &h.events).0.to_string();
                out.extend(frame(&name.text(g), message_type, payload.as_bytes()));
            }
            Item::Done => out.extend(frame("metadata", "event", b"{}")),
            Item::RawData(s) => out.extend(frame("contentBlockDelta", "event", s.as_bytes())),
            Item::Stray(s) => out.extend(s.as_bytes()),
        }
    }
    out
}

/// Decodes the input's whole answer and its stream with one of the grammar's providers.
pub fn run(g: &'static Grammar, input: &Input) {
    let h = harness(g);
    let call = &h.calls[usize::from(input.provider) % h.calls.len()];

    let (body, _) = input.body.value(g, &h.bodies);
    if let Ok(r) = call.decode_response(body.to_string().as_bytes()) {
        touch(&r);
    }

    let bytes = if g.eventstream {
        eventstream(g, h, &input.stream)
    } else {
        sse(g, h, &input.stream)
    };
    if let Ok(r) = h.rt.block_on(call.decode_stream(bytes).into_response()) {
        touch(&r);
    }
}
