//! Mistral wire types. Requests reuse the OpenAI body (see [`super::convert`]); responses are read
//! with these lenient types: `content` may be a string or a list of chunks, and
//! `function.arguments` a string or an object.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::providers::openai::wire::{ChatCompletionRequest, WireUsage};

/// The request body: the OpenAI body in its plain form plus Mistral's own `random_seed`.
#[derive(Serialize)]
pub(crate) struct MistralRequest<'a> {
    #[serde(flatten)]
    pub(crate) base: ChatCompletionRequest<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) random_seed: Option<i64>,
}

// ---- responses ----

#[derive(Deserialize)]
pub(crate) struct Completion {
    #[serde(default)]
    pub(crate) id: Option<String>,
    #[serde(default)]
    pub(crate) model: Option<String>,
    #[serde(default)]
    pub(crate) choices: Vec<Choice>,
    #[serde(default)]
    pub(crate) usage: Option<WireUsage>,
}

#[derive(Deserialize)]
pub(crate) struct Choice {
    #[serde(default)]
    pub(crate) index: u32,
    pub(crate) message: Message,
    #[serde(default)]
    pub(crate) finish_reason: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct Message {
    #[serde(default)]
    pub(crate) content: Option<Content>,
    #[serde(default)]
    pub(crate) tool_calls: Option<Vec<ToolCall>>,
}

/// `content`: a string, or chunks (`text`, `thinking`, `reference`, …).
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum Content {
    Text(String),
    Chunks(Vec<Value>),
}

/// One piece of `content`, read by its chunk `type`.
#[derive(Debug, PartialEq)]
pub(crate) enum Item {
    Text(String),
    /// A `thinking` chunk: its text chunks joined.
    Reasoning(String),
    /// A chunk type with no place in the answer's text (`reference`, `image_url`, a type this
    /// version does not know): kept whole.
    Other(String, Value),
}

impl Content {
    /// The pieces, in order (empty texts left out).
    pub(crate) fn into_items(self) -> Vec<Item> {
        match self {
            Content::Text(t) if t.is_empty() => Vec::new(),
            Content::Text(t) => vec![Item::Text(t)],
            Content::Chunks(chunks) => chunks.into_iter().filter_map(Item::read).collect(),
        }
    }
}

impl Item {
    fn read(chunk: Value) -> Option<Item> {
        let kind = chunk.get("type").and_then(Value::as_str).unwrap_or("text");
        let item = match kind {
            "text" => Item::Text(chunk.get("text")?.as_str()?.to_string()),
            "thinking" => Item::Reasoning(match chunk.get("thinking") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Array(parts)) => parts
                    .iter()
                    .filter(|p| {
                        p.get("type")
                            .and_then(Value::as_str)
                            .is_none_or(|t| t == "text")
                    })
                    .filter_map(|p| p.get("text").and_then(Value::as_str))
                    .collect(),
                _ => String::new(),
            }),
            other => Item::Other(other.to_string(), chunk),
        };
        match &item {
            Item::Text(t) | Item::Reasoning(t) if t.is_empty() => None,
            _ => Some(item),
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct ToolCall {
    #[serde(default)]
    pub(crate) id: Option<String>,
    #[serde(default)]
    pub(crate) index: Option<usize>,
    /// `function` or absent; another kind is not a function call.
    #[serde(rename = "type", default)]
    pub(crate) kind: Option<String>,
    #[serde(default)]
    pub(crate) function: Option<FunctionCall>,
}

#[derive(Deserialize)]
pub(crate) struct FunctionCall {
    #[serde(default)]
    pub(crate) name: Option<String>,
    #[serde(default)]
    pub(crate) arguments: Option<Arguments>,
}

/// `function.arguments`: a JSON string, or (allowed by the spec) the object itself.
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum Arguments {
    Text(String),
    Object(Value),
}

impl Arguments {
    /// The arguments as JSON text (an object is serialised).
    pub(crate) fn into_text(self) -> String {
        match self {
            Arguments::Text(t) => t,
            Arguments::Object(v) => v.to_string(),
        }
    }
}

// ---- stream chunks ----

#[derive(Deserialize)]
pub(crate) struct CompletionChunk {
    #[serde(default)]
    pub(crate) id: Option<String>,
    #[serde(default)]
    pub(crate) model: Option<String>,
    /// `None` when the member is missing: then the payload is not a chunk.
    #[serde(default)]
    pub(crate) choices: Option<Vec<ChunkChoice>>,
    #[serde(default)]
    pub(crate) usage: Option<WireUsage>,
}

#[derive(Deserialize)]
pub(crate) struct ChunkChoice {
    #[serde(default)]
    pub(crate) index: u32,
    #[serde(default)]
    pub(crate) delta: Option<Delta>,
    #[serde(default)]
    pub(crate) finish_reason: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct Delta {
    #[serde(default)]
    pub(crate) content: Option<Content>,
    #[serde(default)]
    pub(crate) tool_calls: Option<Vec<ToolCall>>,
}
