//! Cohere v2 chat wire types (request serialisation, response and stream-event deserialisation).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Serialize)]
pub(crate) struct CohereRequest<'a> {
    pub(crate) model: &'a str,
    pub(crate) messages: Vec<Message<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) tools: Vec<Tool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tool_choice: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) strict_tools: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) response_format: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) stop_sequences: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) seed: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) frequency_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) presence_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) p: Option<f64>,
    pub(crate) stream: bool,
    #[serde(flatten)]
    pub(crate) extra: &'a Map<String, Value>,
}

#[derive(Serialize)]
#[serde(tag = "role", rename_all = "lowercase")]
pub(crate) enum Message<'a> {
    System {
        content: String,
    },
    User {
        content: UserContent<'a>,
    },
    Assistant {
        #[serde(skip_serializing_if = "Option::is_none")]
        content: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        tool_plan: Option<String>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<ToolCallOut<'a>>,
    },
    Tool {
        tool_call_id: &'a str,
        content: &'a str,
    },
}

#[derive(Serialize)]
#[serde(untagged)]
pub(crate) enum UserContent<'a> {
    Text(&'a str),
    Parts(Vec<UserPart<'a>>),
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum UserPart<'a> {
    Text { text: &'a str },
    ImageUrl { image_url: ImageUrl },
}

#[derive(Serialize)]
pub(crate) struct ImageUrl {
    pub(crate) url: String,
}

#[derive(Serialize)]
pub(crate) struct ToolCallOut<'a> {
    pub(crate) id: &'a str,
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    pub(crate) function: FunctionOut<'a>,
}

#[derive(Serialize)]
pub(crate) struct FunctionOut<'a> {
    pub(crate) name: &'a str,
    pub(crate) arguments: &'a str,
}

#[derive(Serialize)]
pub(crate) struct Tool<'a> {
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    pub(crate) function: FunctionDef<'a>,
    /// Whether this tool asked for strict arguments (Cohere's switch is request-wide).
    #[serde(skip)]
    pub(crate) strict: bool,
}

#[derive(Serialize)]
pub(crate) struct FunctionDef<'a> {
    pub(crate) name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub(crate) description: &'a str,
    pub(crate) parameters: &'a Value,
}

// ---- responses ----

#[derive(Deserialize)]
pub(crate) struct ChatResponse {
    #[serde(default)]
    pub(crate) id: Option<String>,
    #[serde(default)]
    pub(crate) message: Option<ResponseMessage>,
    #[serde(default)]
    pub(crate) finish_reason: Option<String>,
    #[serde(default)]
    pub(crate) usage: Option<WireUsage>,
}

#[derive(Deserialize)]
pub(crate) struct ResponseMessage {
    #[serde(default)]
    pub(crate) tool_plan: Option<String>,
    #[serde(default)]
    pub(crate) content: Option<AssistantContent>,
    #[serde(default)]
    pub(crate) tool_calls: Option<Vec<ToolCallIn>>,
    #[serde(default)]
    pub(crate) citations: Option<Vec<Value>>,
}

/// Assistant `content`: a list of `text` / `thinking` items (a plain string is tolerated); each
/// item is read by its `type` ([`Item::read`]).
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum AssistantContent {
    Text(String),
    Items(Vec<Value>),
}

/// One content item, read by its `type`.
#[derive(Debug, PartialEq)]
pub(crate) enum Item {
    Text(String),
    Reasoning(String),
    /// A content type this version does not know: kept whole.
    Other(String, Value),
}

impl Item {
    /// Reads an item; `default_kind` is the type of an item that names none (deltas do not).
    pub(crate) fn read(item: Value, default_kind: &str) -> Item {
        let kind = item
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or(default_kind);
        let text = |k: &str| {
            item.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        match kind {
            "text" => Item::Text(text("text")),
            "thinking" => Item::Reasoning(text("thinking")),
            other => Item::Other(other.to_string(), item),
        }
    }
}

impl AssistantContent {
    /// The items, in order.
    pub(crate) fn into_items(self) -> Vec<Item> {
        match self {
            AssistantContent::Text(t) => vec![Item::Text(t)],
            AssistantContent::Items(items) => {
                items.into_iter().map(|i| Item::read(i, "text")).collect()
            }
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct ToolCallIn {
    #[serde(default)]
    pub(crate) id: Option<String>,
    #[serde(default)]
    pub(crate) function: Option<FunctionIn>,
}

#[derive(Deserialize)]
pub(crate) struct FunctionIn {
    #[serde(default)]
    pub(crate) name: Option<String>,
    #[serde(default)]
    pub(crate) arguments: Option<Value>,
}

impl FunctionIn {
    /// The arguments as JSON text (a string as it is; anything else serialised).
    pub(crate) fn arguments_text(&mut self) -> Option<String> {
        match self.arguments.take()? {
            Value::String(s) => Some(s),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }
}

/// `usage`: `tokens` (what the model read and wrote) and `billed_units` (what is billed).
#[derive(Deserialize, Clone, Copy)]
pub(crate) struct WireUsage {
    #[serde(default)]
    pub(crate) tokens: Option<Tokens>,
    #[serde(default)]
    pub(crate) billed_units: Option<Tokens>,
}

/// Token counts; the spec's examples hold both integers and floats (`18.0`).
#[derive(Deserialize, Clone, Copy)]
pub(crate) struct Tokens {
    #[serde(default)]
    pub(crate) input_tokens: Option<f64>,
    #[serde(default)]
    pub(crate) output_tokens: Option<f64>,
}

// ---- stream events ----

/// The `data` of every stream event; which fields are set depends on `type`.
#[derive(Deserialize)]
pub(crate) struct StreamPayload {
    #[serde(rename = "type", default)]
    pub(crate) kind: Option<String>,
    #[serde(default)]
    pub(crate) id: Option<String>,
    #[serde(default)]
    pub(crate) index: Option<usize>,
    #[serde(default)]
    pub(crate) delta: Option<StreamDelta>,
}

#[derive(Deserialize)]
pub(crate) struct StreamDelta {
    #[serde(default)]
    pub(crate) message: Option<DeltaMessage>,
    #[serde(default)]
    pub(crate) finish_reason: Option<String>,
    #[serde(default)]
    pub(crate) usage: Option<WireUsage>,
    #[serde(default)]
    pub(crate) error: Option<Value>,
}

#[derive(Deserialize)]
pub(crate) struct DeltaMessage {
    #[serde(default)]
    pub(crate) content: Option<Value>,
    /// `citation-start`: one citation object (a list is tolerated).
    #[serde(default)]
    pub(crate) citations: Option<Value>,
    #[serde(default)]
    pub(crate) tool_plan: Option<String>,
    #[serde(default)]
    pub(crate) tool_calls: Option<DeltaToolCall>,
}

/// `tool_calls` in a stream delta: a single object, keyed by the event's `index`.
#[derive(Deserialize)]
pub(crate) struct DeltaToolCall {
    #[serde(default)]
    pub(crate) id: Option<String>,
    #[serde(default)]
    pub(crate) function: Option<FunctionIn>,
}
