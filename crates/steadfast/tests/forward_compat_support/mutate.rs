//! The mutations: what a provider may add to an answer without breaking a call.
//!
//! - (a) an unknown field in a JSON object, at every object position of the answer, each alone
//!   (beyond [`FIELD_SAMPLE`] positions in one answer, an even sample of them), and in all of them
//!   at once;
//! - (b) an unknown event in every gap between events (before the first and after the last too);
//! - (c) an unknown content block before, between and after the known ones, with its own deltas
//!   in streams (indices of the later blocks renumbered);
//! - (d) an unknown finish / stop reason in place of every one the answer has.
//!
//! Objects that are payload rather than protocol — tool arguments (`args`, `input`,
//! `arguments`) — are left alone: a field added there changes the answer.

use serde_json::{Map, Value, json};

use super::{Body, Data, Event, Family, Frame, Input};

/// The name of every added field.
pub(crate) const FIELD: &str = "x_future_field";
/// A string inside every added content block: the block is found by it among the response's
/// [`OtherPart`](steadfast::message::OtherPart)s.
pub(crate) const MARKER: &str = "x-forward-compat-marker";
/// At most this many single positions per answer for (a). The largest recorded answer has about
/// 200 object positions, so today every position is tried.
pub(crate) const FIELD_SAMPLE: usize = 500;

/// Members whose value is the model's data, not the protocol's.
const DATA_KEYS: &[&str] = &["args", "input", "arguments"];

/// A kind of mutation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Kind {
    /// Parsed and written back unchanged: checks the harness itself (and that a decoder does not
    /// depend on key order or whitespace).
    Identity,
    UnknownField,
    UnknownEvent,
    UnknownBlock,
    UnknownFinish,
}

impl Kind {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Kind::Identity => "identity",
            Kind::UnknownField => "(a) unknown field",
            Kind::UnknownEvent => "(b) unknown event",
            Kind::UnknownBlock => "(c) unknown block",
            Kind::UnknownFinish => "(d) unknown finish",
        }
    }
}

/// One mutated answer.
#[derive(Debug, Clone)]
pub(crate) struct Mutant {
    pub(crate) kind: Kind,
    /// Where the mutation is, readable.
    pub(crate) position: String,
    pub(crate) body: Body,
    /// (d): the finish reason the mutant carries.
    pub(crate) finish_word: Option<String>,
    /// (c): whether the added block must be kept as a `Part::Other` (the rule of issue 12 for the
    /// protocols with content blocks; the OpenAI family has none).
    pub(crate) expect_kept: bool,
}

/// Every mutant of `input`.
pub(crate) fn mutants(input: &Input) -> Vec<Mutant> {
    let mut out = vec![Mutant {
        kind: Kind::Identity,
        position: "written back unchanged".into(),
        body: input.body.clone(),
        finish_word: None,
        expect_kept: false,
    }];
    unknown_fields(input, &mut out);
    unknown_events(input, &mut out);
    unknown_blocks(input, &mut out);
    unknown_finish(input, &mut out);
    out
}

fn mutant(kind: Kind, position: String, body: Body) -> Mutant {
    Mutant {
        kind,
        position,
        body,
        finish_word: None,
        expect_kept: false,
    }
}

/// Where a document sits in the body, readable.
fn doc_label(event: Option<usize>, body: &Body) -> String {
    match (event, body) {
        (None, _) => "body".into(),
        (Some(i), Body::Sse(events)) => {
            let kind = events[i]
                .name
                .clone()
                .or_else(|| type_of(events[i].data.json()))
                .unwrap_or_else(|| "data".into());
            format!("event {i} ({kind})")
        }
        (Some(i), Body::Frames(frames)) => {
            format!("frame {i} ({})", frames[i].event_type().unwrap_or("?"))
        }
        (Some(i), Body::Json(_)) => format!("document {i}"),
    }
}

fn type_of(v: Option<&Value>) -> Option<String> {
    v?.get("type")?.as_str().map(str::to_string)
}

// ---- (a) unknown fields ----

fn added_value() -> Value {
    json!({"x_nested": [1, 2.5, "three", null, true, {"x_deep": {}}], "x_text": "a member this version does not know"})
}

fn object_paths(v: &Value, path: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            out.push(path.to_string());
            for (k, child) in map {
                if DATA_KEYS.contains(&k.as_str()) {
                    continue;
                }
                let key = k.replace('~', "~0").replace('/', "~1");
                object_paths(child, &format!("{path}/{key}"), out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                object_paths(child, &format!("{path}/{i}"), out);
            }
        }
        _ => {}
    }
}

fn add_field(doc: &mut Value, pointer: &str) {
    if let Some(Value::Object(map)) = doc.pointer_mut(pointer) {
        map.insert(FIELD.into(), added_value());
    }
}

fn unknown_fields(input: &Input, out: &mut Vec<Mutant>) {
    // (document ordinal, event index, pointer)
    let mut positions = Vec::new();
    let mut body = input.body.clone();
    for (ordinal, (event, doc)) in body.documents_mut().into_iter().enumerate() {
        let mut paths = Vec::new();
        object_paths(doc, "", &mut paths);
        positions.extend(paths.into_iter().map(|p| (ordinal, event, p)));
    }
    if positions.is_empty() {
        return;
    }
    let apply = |chosen: &[&(usize, Option<usize>, String)]| {
        let mut body = input.body.clone();
        let mut docs = body.documents_mut();
        for (ordinal, _, pointer) in chosen {
            add_field(docs[*ordinal].1, pointer);
        }
        drop(docs);
        body
    };
    let all: Vec<_> = positions.iter().collect();
    out.push(mutant(
        Kind::UnknownField,
        format!("in every object at once ({})", all.len()),
        apply(&all),
    ));
    let step = positions.len().div_ceil(FIELD_SAMPLE).max(1);
    for pos in positions.iter().step_by(step) {
        let (_, event, pointer) = pos;
        let at = if pointer.is_empty() { "/" } else { pointer };
        out.push(mutant(
            Kind::UnknownField,
            format!("{} at {at}", doc_label(*event, &input.body)),
            apply(&[pos]),
        ));
    }
}

// ---- (b) unknown events ----

/// The members every OpenAI chunk / Gemini chunk repeats, copied from the first document.
fn chunk_template(body: &Body, keys: &[&str]) -> Map<String, Value> {
    let mut template = Map::new();
    if let Some(first) = body.documents().into_iter().next() {
        for k in keys {
            if let Some(v) = first.get(*k) {
                template.insert((*k).into(), v.clone());
            }
        }
    }
    template
}

const OPENAI_CHUNK_KEYS: &[&str] = &["id", "object", "created", "model", "system_fingerprint"];

fn openai_chunk(body: &Body, choices: Value, extra: Option<(&str, Value)>) -> Value {
    let mut chunk = chunk_template(body, OPENAI_CHUNK_KEYS);
    chunk.insert("choices".into(), choices);
    if let Some((k, v)) = extra {
        chunk.insert(k.into(), v);
    }
    Value::Object(chunk)
}

/// An SSE event or a frame, to insert.
enum Unit {
    Event(Event),
    Frame(Frame),
}

/// The unknown events to insert, each with a label. Gemini has no event types: its unknown
/// event is a chunk with only an unknown member, alone and (when the answer's chunks carry them)
/// with the `responseId` and `modelVersion` every real chunk repeats.
fn unknown_events_of(input: &Input) -> Vec<(&'static str, Unit)> {
    let note = json!({"note": "an event type this version does not know", "seq": 1});
    match input.family {
        Family::OpenAi => vec![(
            "chunk with empty choices",
            Unit::Event(Event::json(
                None,
                openai_chunk(&input.body, json!([]), Some(("x_future_event", note))),
            )),
        )],
        Family::Anthropic => vec![(
            "x_future_event",
            Unit::Event(Event::json(
                Some("x_future_event"),
                json!({"type": "x_future_event", "x_future_event": note}),
            )),
        )],
        Family::Cohere => vec![(
            "x-future-event",
            Unit::Event(Event::json(
                Some("x-future-event"),
                json!({"type": "x-future-event", "delta": {"x_future_event": note}}),
            )),
        )],
        Family::Gemini => {
            let mut out = vec![(
                "chunk of only xFutureEvent",
                Unit::Event(Event::json(None, json!({"xFutureEvent": note.clone()}))),
            )];
            let mut chunk = chunk_template(&input.body, &["responseId", "modelVersion"]);
            if !chunk.is_empty() {
                chunk.insert("xFutureEvent".into(), note);
                out.push((
                    "chunk of xFutureEvent, responseId, modelVersion",
                    Unit::Event(Event::json(None, Value::Object(chunk))),
                ));
            }
            out
        }
        Family::Bedrock => vec![(
            ":event-type xFutureEvent",
            Unit::Frame(Frame::event(
                "xFutureEvent",
                json!({"xFutureEvent": note, "p": "abcdefgh"}),
            )),
        )],
    }
}

fn insert_units(body: &Body, at: usize, units: Vec<Unit>) -> Body {
    let mut body = body.clone();
    match &mut body {
        Body::Sse(events) => {
            let new: Vec<Event> = units
                .into_iter()
                .filter_map(|u| match u {
                    Unit::Event(e) => Some(e),
                    Unit::Frame(_) => None,
                })
                .collect();
            events.splice(at..at, new);
        }
        Body::Frames(frames) => {
            let new: Vec<Frame> = units
                .into_iter()
                .filter_map(|u| match u {
                    Unit::Frame(f) => Some(f),
                    Unit::Event(_) => None,
                })
                .collect();
            frames.splice(at..at, new);
        }
        Body::Json(_) => {}
    }
    body
}

fn len(body: &Body) -> usize {
    match body {
        Body::Sse(events) => events.len(),
        Body::Frames(frames) => frames.len(),
        Body::Json(_) => 0,
    }
}

fn unknown_events(input: &Input, out: &mut Vec<Mutant>) {
    if !input.body.is_stream() {
        return;
    }
    let n = len(&input.body);
    for gap in 0..=n {
        let at = if gap == n {
            format!("after the last event ({n} events)")
        } else {
            format!("before {}", doc_label(Some(gap), &input.body))
        };
        for (what, unit) in unknown_events_of(input) {
            out.push(mutant(
                Kind::UnknownEvent,
                format!("{what}, {at}"),
                insert_units(&input.body, gap, vec![unit]),
            ));
        }
    }
}

// ---- (c) unknown content blocks ----

/// The block numbering of a stream: the known block indices in order of first appearance, the
/// position of each one's first event, and where a block after the last one goes.
struct Blocks {
    indices: Vec<u64>,
    first_event: Vec<usize>,
    end: usize,
}

impl Blocks {
    fn new(events: impl Iterator<Item = (usize, Option<u64>)>, end: usize) -> Blocks {
        let mut b = Blocks {
            indices: Vec::new(),
            first_event: Vec::new(),
            end,
        };
        for (i, index) in events {
            if let Some(index) = index {
                if !b.indices.contains(&index) {
                    b.indices.push(index);
                    b.first_event.push(i);
                }
            }
        }
        b
    }

    /// For each insertion position: (index of the new block, where its events go, label).
    fn slots(&self) -> Vec<(u64, usize, String)> {
        let n = self.indices.len();
        let max = self.indices.iter().copied().max();
        (0..=n)
            .map(|p| {
                if p < n {
                    let label = if p == 0 {
                        format!("before block {} (of {n})", self.indices[p])
                    } else {
                        format!(
                            "between blocks {} and {} (of {n})",
                            self.indices[p - 1],
                            self.indices[p]
                        )
                    };
                    (self.indices[p], self.first_event[p], label)
                } else {
                    (
                        max.map_or(0, |m| m + 1),
                        self.end,
                        format!("after the last block ({n} blocks)"),
                    )
                }
            })
            .collect()
    }
}

fn renumber(v: &mut Value, key: &str, from: u64) {
    if let Some(i) = v.get(key).and_then(Value::as_u64) {
        if i >= from {
            v[key] = json!(i + 1);
        }
    }
}

/// The first event / frame at or after which `pred` holds, else `default`.
fn first_where(docs: &[Option<&Value>], pred: impl Fn(&Value) -> bool, default: usize) -> usize {
    docs.iter()
        .position(|d| d.is_some_and(&pred))
        .unwrap_or(default)
}

fn event_docs(body: &Body) -> Vec<Option<&Value>> {
    match body {
        Body::Sse(events) => events.iter().map(|e| e.data.json()).collect(),
        Body::Frames(frames) => frames.iter().map(|f| f.payload.json()).collect(),
        Body::Json(_) => Vec::new(),
    }
}

/// Inserts `block` into the array at `pointer` of a whole answer at every position; when the
/// array is missing (or null) and `create` is set, adds it holding only the block.
fn json_blocks(input: &Input, pointer: &str, block: &Value, create: bool, out: &mut Vec<Mutant>) {
    let Body::Json(doc) = &input.body else {
        return;
    };
    match doc.pointer(pointer) {
        Some(Value::Array(items)) => {
            let n = items.len();
            for p in 0..=n {
                let mut doc = doc.clone();
                if let Some(Value::Array(items)) = doc.pointer_mut(pointer) {
                    items.insert(p, block.clone());
                }
                out.push(block_mutant(
                    input,
                    format!("{pointer}[{p}] (of {n})"),
                    Body::Json(doc),
                ));
            }
        }
        None | Some(Value::Null) if create => {
            let (parent, key) = pointer.rsplit_once('/').unwrap_or(("", pointer));
            let mut doc = doc.clone();
            if let Some(Value::Object(map)) = doc.pointer_mut(parent) {
                map.insert(key.into(), json!([block]));
                out.push(block_mutant(
                    input,
                    format!("{pointer} = [block] (the answer had none)"),
                    Body::Json(doc),
                ));
            }
        }
        _ => {}
    }
}

fn block_mutant(input: &Input, position: String, body: Body) -> Mutant {
    Mutant {
        kind: Kind::UnknownBlock,
        position,
        body,
        finish_word: None,
        expect_kept: input.family != Family::OpenAi,
    }
}

/// The index of the choice / candidate the decoders read (`index` 0, or the first without one).
fn first_of(items: &[Value]) -> Option<usize> {
    items
        .iter()
        .position(|c| c.get("index").and_then(Value::as_u64).unwrap_or(0) == 0)
}

fn unknown_blocks(input: &Input, out: &mut Vec<Mutant>) {
    match (input.family, &input.body) {
        (Family::OpenAi, Body::Json(doc)) => {
            // Chat completions have no content blocks; the closest is an entry of
            // `message.tool_calls` of a type other than `function` (OpenAI's own `custom` tool
            // calls are one): it must not become a function call.
            let Some(c) = doc["choices"].as_array().and_then(|c| first_of(c)) else {
                return;
            };
            let block = json!({"id": "call_x_future", "type": "x_future_tool", "x_future_tool": {"name": "x_future", "input": "{\"a\":1}", "marker": MARKER}});
            json_blocks(
                input,
                &format!("/choices/{c}/message/tool_calls"),
                &block,
                true,
                out,
            );
        }
        (Family::OpenAi, Body::Sse(_)) => openai_stream_blocks(input, out),
        (Family::Anthropic, Body::Json(_)) => {
            let block = json!({"type": "x_future_block", "x_future_block": {"marker": MARKER}});
            json_blocks(input, "/content", &block, false, out);
        }
        (Family::Anthropic, Body::Sse(_)) => anthropic_stream_blocks(input, out),
        (Family::Gemini, Body::Json(doc)) => {
            let Some(c) = doc["candidates"].as_array().and_then(|c| first_of(c)) else {
                return;
            };
            let block = json!({"xFutureBlock": {"marker": MARKER}});
            json_blocks(
                input,
                &format!("/candidates/{c}/content/parts"),
                &block,
                false,
                out,
            );
        }
        (Family::Gemini, Body::Sse(_)) => gemini_stream_blocks(input, out),
        (Family::Bedrock, Body::Json(_)) => {
            let block = json!({"xFutureBlock": {"marker": MARKER}});
            json_blocks(input, "/output/message/content", &block, false, out);
        }
        (Family::Bedrock, Body::Frames(_)) => bedrock_stream_blocks(input, out),
        (Family::Cohere, Body::Json(_)) => {
            let block = json!({"type": "x-future-block", "x_future_block": {"marker": MARKER}});
            json_blocks(input, "/message/content", &block, true, out);
        }
        (Family::Cohere, Body::Sse(_)) => cohere_stream_blocks(input, out),
        _ => {}
    }
}

/// The tool-call entries of the read choice of an OpenAI chunk.
fn openai_entries(doc: &mut Value) -> Vec<&mut Value> {
    let Some(choices) = doc.get_mut("choices").and_then(Value::as_array_mut) else {
        return Vec::new();
    };
    let Some(c) = first_of(choices) else {
        return Vec::new();
    };
    match choices[c].pointer_mut("/delta/tool_calls") {
        Some(Value::Array(entries)) => entries.iter_mut().collect(),
        _ => Vec::new(),
    }
}

fn openai_stream_blocks(input: &Input, out: &mut Vec<Mutant>) {
    let Body::Sse(events) = &input.body else {
        return;
    };
    let mut probe = input.body.clone();
    let mut seen = Vec::new();
    if let Body::Sse(probe_events) = &mut probe {
        for (i, e) in probe_events.iter_mut().enumerate() {
            if let Some(doc) = e.data.json_mut() {
                for (pos, entry) in openai_entries(doc).into_iter().enumerate() {
                    let index = entry
                        .get("index")
                        .and_then(Value::as_u64)
                        .unwrap_or(pos as u64);
                    seen.push((i, Some(index)));
                }
            }
        }
    }
    let docs = event_docs(&input.body);
    let finish = first_where(
        &docs,
        |d| {
            d["choices"]
                .as_array()
                .and_then(|c| first_of(c).map(|i| c[i]["finish_reason"].is_string()))
                .unwrap_or(false)
        },
        events
            .iter()
            .position(|e| matches!(e.data, Data::Raw(_)))
            .unwrap_or(events.len()),
    );
    let blocks = Blocks::new(seen.into_iter(), finish);
    for (u, at, label) in blocks.slots() {
        let mut body = input.body.clone();
        if let Body::Sse(events) = &mut body {
            for e in events.iter_mut() {
                if let Some(doc) = e.data.json_mut() {
                    for (pos, entry) in openai_entries(doc).into_iter().enumerate() {
                        let index = entry
                            .get("index")
                            .and_then(Value::as_u64)
                            .unwrap_or(pos as u64);
                        if index >= u {
                            entry["index"] = json!(index + 1);
                        }
                    }
                }
            }
        }
        // The first delta names the entry's type (as OpenAI's function calls do); the next ones
        // carry only the index and the type's own member.
        let entries = [
            json!({"index": u, "id": "call_x_future", "type": "x_future_tool", "x_future_tool": {"name": "x_future", "input": "", "marker": MARKER}}),
            json!({"index": u, "x_future_tool": {"input": "{\"a\":"}}),
            json!({"index": u, "x_future_tool": {"input": "1}"}}),
        ];
        let units = entries
            .into_iter()
            .map(|entry| {
                let choice =
                    json!([{"index": 0, "delta": {"tool_calls": [entry]}, "finish_reason": null}]);
                Unit::Event(Event::json(None, openai_chunk(&input.body, choice, None)))
            })
            .collect();
        out.push(block_mutant(
            input,
            format!("tool_calls entry of type x_future_tool {label}, at event {at}"),
            insert_units(&body, at, units),
        ));
    }
}

fn anthropic_stream_blocks(input: &Input, out: &mut Vec<Mutant>) {
    let docs = event_docs(&input.body);
    let starts = docs.iter().enumerate().map(|(i, d)| {
        let index = d
            .filter(|d| d["type"] == "content_block_start")
            .and_then(|d| d["index"].as_u64());
        (i, index)
    });
    let end = first_where(&docs, |d| d["type"] == "message_delta", docs.len());
    let end = if end == docs.len() {
        first_where(&docs, |d| d["type"] == "message_stop", docs.len())
    } else {
        end
    };
    let blocks = Blocks::new(starts, end);
    for (u, at, label) in blocks.slots() {
        let mut body = input.body.clone();
        for (_, doc) in body.documents_mut() {
            if matches!(
                doc["type"].as_str(),
                Some("content_block_start" | "content_block_delta" | "content_block_stop")
            ) {
                renumber(doc, "index", u);
            }
        }
        let units = vec![
            Unit::Event(Event::json(
                Some("content_block_start"),
                json!({"type": "content_block_start", "index": u, "content_block": {"type": "x_future_block", "x_future_block": {"marker": MARKER}}}),
            )),
            Unit::Event(Event::json(
                Some("content_block_delta"),
                json!({"type": "content_block_delta", "index": u, "delta": {"type": "x_future_delta", "x_future": "part one"}}),
            )),
            Unit::Event(Event::json(
                Some("content_block_delta"),
                json!({"type": "content_block_delta", "index": u, "delta": {"type": "x_future_delta", "x_future": "part two"}}),
            )),
            Unit::Event(Event::json(
                Some("content_block_stop"),
                json!({"type": "content_block_stop", "index": u}),
            )),
        ];
        out.push(block_mutant(
            input,
            format!("x_future_block {label}, at event {at}"),
            insert_units(&body, at, units),
        ));
    }
}

fn bedrock_stream_blocks(input: &Input, out: &mut Vec<Mutant>) {
    let Body::Frames(frames) = &input.body else {
        return;
    };
    let is_block_event = |f: &Frame| {
        matches!(
            f.event_type(),
            Some("contentBlockStart" | "contentBlockDelta" | "contentBlockStop")
        )
    };
    let seen = frames.iter().enumerate().map(|(i, f)| {
        let index = f
            .payload
            .json()
            .filter(|_| is_block_event(f))
            .and_then(|d| d["contentBlockIndex"].as_u64());
        (i, index)
    });
    let end = frames
        .iter()
        .position(|f| f.event_type() == Some("messageStop"))
        .or_else(|| {
            frames
                .iter()
                .position(|f| f.event_type() == Some("metadata"))
        })
        .unwrap_or(frames.len());
    let blocks = Blocks::new(seen, end);
    for (u, at, label) in blocks.slots() {
        let mut body = input.body.clone();
        if let Body::Frames(frames) = &mut body {
            for f in frames.iter_mut() {
                if is_block_event(f) {
                    if let Some(doc) = f.payload.json_mut() {
                        renumber(doc, "contentBlockIndex", u);
                    }
                }
            }
        }
        let units = vec![
            Unit::Frame(Frame::event(
                "contentBlockStart",
                json!({"contentBlockIndex": u, "start": {"xFutureBlock": {"marker": MARKER}}, "p": "abcd"}),
            )),
            Unit::Frame(Frame::event(
                "contentBlockDelta",
                json!({"contentBlockIndex": u, "delta": {"xFutureBlock": {"data": "part one"}}, "p": "abcd"}),
            )),
            Unit::Frame(Frame::event(
                "contentBlockDelta",
                json!({"contentBlockIndex": u, "delta": {"xFutureBlock": {"data": "part two"}}, "p": "abcd"}),
            )),
            Unit::Frame(Frame::event(
                "contentBlockStop",
                json!({"contentBlockIndex": u, "p": "abcd"}),
            )),
        ];
        out.push(block_mutant(
            input,
            format!("xFutureBlock {label}, at frame {at}"),
            insert_units(&body, at, units),
        ));
    }
}

fn cohere_kind(e: &Event) -> Option<String> {
    type_of(e.data.json()).or_else(|| e.name.clone())
}

fn cohere_stream_blocks(input: &Input, out: &mut Vec<Mutant>) {
    let Body::Sse(events) = &input.body else {
        return;
    };
    let is_content = |e: &Event| {
        matches!(
            cohere_kind(e).as_deref(),
            Some("content-start" | "content-delta" | "content-end")
        )
    };
    let seen = events.iter().enumerate().map(|(i, e)| {
        let index = e
            .data
            .json()
            .filter(|_| is_content(e))
            .and_then(|d| d["index"].as_u64());
        (i, index)
    });
    let end = events
        .iter()
        .position(|e| cohere_kind(e).as_deref() == Some("message-end"))
        .unwrap_or(events.len());
    let blocks = Blocks::new(seen, end);
    for (u, at, label) in blocks.slots() {
        let mut body = input.body.clone();
        if let Body::Sse(events) = &mut body {
            for e in events.iter_mut() {
                if is_content(e) {
                    if let Some(doc) = e.data.json_mut() {
                        renumber(doc, "index", u);
                    }
                }
            }
        }
        let ev = |kind: &str, data: Value| Unit::Event(Event::json(Some(kind), data));
        let units = vec![
            ev(
                "content-start",
                json!({"type": "content-start", "index": u, "delta": {"message": {"content": {"type": "x-future-block", "x_future_block": {"marker": MARKER}}}}}),
            ),
            ev(
                "content-delta",
                json!({"type": "content-delta", "index": u, "delta": {"message": {"content": {"x_future_block": "part one"}}}}),
            ),
            ev(
                "content-delta",
                json!({"type": "content-delta", "index": u, "delta": {"message": {"content": {"x_future_block": "part two"}}}}),
            ),
            ev("content-end", json!({"type": "content-end", "index": u})),
        ];
        out.push(block_mutant(
            input,
            format!("x-future-block {label}, at event {at}"),
            insert_units(&body, at, units),
        ));
    }
}

/// Gemini parts are never streamed in pieces: every chunk holds whole new parts. The unknown
/// part goes into the chunk stream at every position between the parts of all chunks.
fn gemini_stream_blocks(input: &Input, out: &mut Vec<Mutant>) {
    let Body::Sse(events) = &input.body else {
        return;
    };
    // (event, part position) of every part of the read candidate, in order.
    let mut parts = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let Some(candidates) = e.data.json().and_then(|d| d["candidates"].as_array()) else {
            continue;
        };
        let Some(c) = first_of(candidates) else {
            continue;
        };
        if let Some(list) = candidates[c]
            .pointer("/content/parts")
            .and_then(Value::as_array)
        {
            parts.extend((0..list.len()).map(|p| (i, c, p)));
        }
    }
    let Some(&(last_event, last_c, last_p)) = parts.last() else {
        return;
    };
    let n = parts.len();
    let slots = parts
        .iter()
        .map(|&(i, c, p)| (i, c, p))
        .chain([(last_event, last_c, last_p + 1)]);
    for (k, (i, c, p)) in slots.enumerate() {
        let mut body = input.body.clone();
        if let Body::Sse(events) = &mut body {
            if let Some(Value::Array(list)) = events[i]
                .data
                .json_mut()
                .and_then(|d| d.pointer_mut(&format!("/candidates/{c}/content/parts")))
            {
                list.insert(p, json!({"xFutureBlock": {"marker": MARKER}}));
            }
        }
        let label = if k == n {
            format!("after the last part ({n} parts), in event {i}")
        } else {
            format!("before part {k} (of {n}), in event {i}")
        };
        out.push(block_mutant(input, format!("xFutureBlock {label}"), body));
    }
}

// ---- (d) unknown finish reasons ----

fn replace_strings(v: &mut Value, key: &str, word: &str) -> usize {
    let mut count = 0;
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                if k == key && child.is_string() {
                    *child = json!(word);
                    count += 1;
                } else {
                    count += replace_strings(child, key, word);
                }
            }
        }
        Value::Array(items) => {
            for child in items {
                count += replace_strings(child, key, word);
            }
        }
        _ => {}
    }
    count
}

/// The member holding the finish reason, and a new word in the protocol's style.
fn finish_key(family: Family) -> (&'static str, &'static str) {
    match family {
        Family::OpenAi => ("finish_reason", "x_future_reason"),
        Family::Anthropic => ("stop_reason", "x_future_reason"),
        Family::Gemini => ("finishReason", "X_FUTURE_REASON"),
        Family::Cohere => ("finish_reason", "X_FUTURE_REASON"),
        Family::Bedrock => ("stopReason", "x_future_reason"),
    }
}

fn unknown_finish(input: &Input, out: &mut Vec<Mutant>) {
    let (key, word) = finish_key(input.family);
    let mut body = input.body.clone();
    let mut count = 0;
    for (_, doc) in body.documents_mut() {
        count += replace_strings(doc, key, word);
    }
    if count == 0 {
        return;
    }
    out.push(Mutant {
        kind: Kind::UnknownFinish,
        position: format!("every `{key}` ({count}) = {word:?}"),
        body,
        finish_word: Some(word.into()),
        expect_kept: false,
    });
}
