//! Bedrock Converse wire types (restJson1, camelCase; unions are one-key objects).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

// ---- requests ----

/// The body of `Converse` and `ConverseStream` (the model id travels in the path).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConverseRequest<'a> {
    pub(crate) messages: Vec<WireMessage<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) system: Vec<SystemBlock<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) inference_config: Option<InferenceConfig<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tool_config: Option<ToolConfig<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) output_config: Option<OutputConfig<'a>>,
    #[serde(flatten)]
    pub(crate) extra: &'a Map<String, Value>,
}

/// The top-level members [`ConverseRequest`] may set itself (extras must not repeat them).
pub(crate) const OWN_MEMBERS: &[&str] = &[
    "messages",
    "system",
    "inferenceConfig",
    "toolConfig",
    "outputConfig",
];

#[derive(Serialize)]
pub(crate) struct WireMessage<'a> {
    pub(crate) role: &'static str,
    pub(crate) content: Vec<Block<'a>>,
}

/// `ContentBlock` union members Steadfast sends.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum Block<'a> {
    Text(&'a str),
    Image(ImageBlock<'a>),
    ToolUse(ToolUseBlock<'a>),
    ToolResult(ToolResultBlock<'a>),
    ReasoningContent(ReasoningBlock<'a>),
    /// A block of a Bedrock answer kept as received ([`OtherPart::raw`](crate::OtherPart)).
    #[serde(untagged)]
    Raw(&'a Value),
}

/// `ReasoningContentBlock`: the model's reasoning, given back exactly as received.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum ReasoningBlock<'a> {
    ReasoningText(ReasoningText<'a>),
    /// Base64 (a restJson1 blob).
    RedactedContent(&'a str),
}

#[derive(Serialize)]
pub(crate) struct ReasoningText<'a> {
    pub(crate) text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) signature: Option<&'a str>,
}

#[derive(Serialize)]
pub(crate) struct ImageBlock<'a> {
    pub(crate) format: &'static str,
    pub(crate) source: ImageSource<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum ImageSource<'a> {
    /// Base64 of the image bytes (a restJson1 blob).
    Bytes(Cow<'a, str>),
    S3Location(S3Location<'a>),
}

#[derive(Serialize)]
pub(crate) struct S3Location<'a> {
    pub(crate) uri: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ToolUseBlock<'a> {
    pub(crate) tool_use_id: &'a str,
    pub(crate) name: &'a str,
    pub(crate) input: Value,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ToolResultBlock<'a> {
    pub(crate) tool_use_id: &'a str,
    pub(crate) content: Vec<ToolResultContent<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) status: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum ToolResultContent<'a> {
    Text(&'a str),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum SystemBlock<'a> {
    Text(&'a str),
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InferenceConfig<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) stop_sequences: Option<&'a [String]>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ToolConfig<'a> {
    pub(crate) tools: Vec<WireTool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tool_choice: Option<WireToolChoice<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum WireTool<'a> {
    ToolSpec(ToolSpec<'a>),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ToolSpec<'a> {
    pub(crate) name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub(crate) description: &'a str,
    pub(crate) input_schema: InputSchema<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) strict: Option<bool>,
}

#[derive(Serialize)]
pub(crate) struct InputSchema<'a> {
    pub(crate) json: &'a Value,
}

/// An empty structure (`AutoToolChoice`, `AnyToolChoice`).
#[derive(Serialize)]
pub(crate) struct Empty {}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum WireToolChoice<'a> {
    Any(Empty),
    Tool(SpecificTool<'a>),
}

#[derive(Serialize)]
pub(crate) struct SpecificTool<'a> {
    pub(crate) name: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OutputConfig<'a> {
    pub(crate) text_format: TextFormat<'a>,
}

#[derive(Serialize)]
pub(crate) struct TextFormat<'a> {
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    pub(crate) structure: Structure<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum Structure<'a> {
    JsonSchema(JsonSchemaDefinition<'a>),
}

#[derive(Serialize)]
pub(crate) struct JsonSchemaDefinition<'a> {
    /// The schema as a JSON **string**, as the model requires.
    pub(crate) schema: String,
    pub(crate) name: &'a str,
}

// ---- responses ----

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConverseResponse {
    #[serde(default)]
    pub(crate) output: Option<ConverseOutput>,
    #[serde(default)]
    pub(crate) stop_reason: Option<String>,
    #[serde(default)]
    pub(crate) usage: Option<WireUsage>,
    /// Model-specific fields of the answer.
    #[serde(default)]
    pub(crate) additional_model_response_fields: Option<Value>,
}

#[derive(Deserialize)]
pub(crate) struct ConverseOutput {
    #[serde(default)]
    pub(crate) message: Option<OutputMessage>,
}

#[derive(Deserialize)]
pub(crate) struct OutputMessage {
    /// The `ContentBlock`s as received: each is read by its union member, and kept whole when
    /// Steadfast has no form for it.
    #[serde(default)]
    pub(crate) content: Vec<Value>,
}

#[derive(Deserialize, Clone, Copy, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireUsage {
    #[serde(default)]
    pub(crate) input_tokens: Option<u64>,
    #[serde(default)]
    pub(crate) output_tokens: Option<u64>,
}

// ---- stream event payloads (the `:event-type` header names the member) ----

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BlockStartEvent {
    pub(crate) content_block_index: usize,
    /// The `ContentBlockStart` union (`toolUse`, `toolResult`, `image`, …).
    #[serde(default)]
    pub(crate) start: Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ToolUseStart {
    pub(crate) tool_use_id: String,
    pub(crate) name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BlockDeltaEvent {
    pub(crate) content_block_index: usize,
    /// The `ContentBlockDelta` union (`text`, `toolUse`, `reasoningContent`, `citation`, …).
    #[serde(default)]
    pub(crate) delta: Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BlockStopEvent {
    pub(crate) content_block_index: usize,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MessageStopEvent {
    pub(crate) stop_reason: String,
    #[serde(default)]
    pub(crate) additional_model_response_fields: Option<Value>,
}

#[derive(Deserialize)]
pub(crate) struct MetadataEvent {
    #[serde(default)]
    pub(crate) usage: Option<WireUsage>,
}
