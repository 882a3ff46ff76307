//! Gemini `generateContent` wire types (camelCase on the wire).
//!
//! Request types borrow from the [`ChatRequest`](crate::provider::ChatRequest); response types
//! accept every field as optional, because real responses omit whatever is empty (a candidate
//! without `content`, a chunk without `usageMetadata`, a part that is `{}`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

// ---- requests ----

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GenerateContentRequest<'a> {
    pub(crate) contents: Vec<Content<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) system_instruction: Option<SystemInstruction<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) tools: Vec<WireTool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tool_config: Option<ToolConfig<'a>>,
    #[serde(skip_serializing_if = "GenerationConfig::is_empty")]
    pub(crate) generation_config: GenerationConfig<'a>,
}

#[derive(Debug, Serialize)]
pub(crate) struct Content<'a> {
    pub(crate) role: &'static str,
    pub(crate) parts: Vec<WirePart<'a>>,
}

#[derive(Debug, Serialize)]
pub(crate) struct SystemInstruction<'a> {
    pub(crate) parts: Vec<WirePart<'a>>,
}

/// One part: exactly one of its data members is set on the wire.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(crate) enum WirePart<'a> {
    Text {
        text: &'a str,
        /// The signature Gemini put on this text part, given back exactly as received.
        #[serde(rename = "thoughtSignature", skip_serializing_if = "Option::is_none")]
        thought_signature: Option<&'a str>,
    },
    /// A thought (`thought: true`) part, given back as the model sent it.
    Thought {
        text: &'a str,
        thought: bool,
        #[serde(rename = "thoughtSignature", skip_serializing_if = "Option::is_none")]
        thought_signature: Option<&'a str>,
    },
    InlineData {
        #[serde(rename = "inlineData")]
        inline_data: Blob<'a>,
    },
    FileData {
        #[serde(rename = "fileData")]
        file_data: FileData<'a>,
    },
    FunctionCall {
        #[serde(rename = "functionCall")]
        function_call: FunctionCallOut<'a>,
        /// Given back exactly as the model sent it with the call.
        #[serde(rename = "thoughtSignature", skip_serializing_if = "Option::is_none")]
        thought_signature: Option<&'a str>,
    },
    FunctionResponse {
        #[serde(rename = "functionResponse")]
        function_response: FunctionResponseOut<'a>,
    },
    /// A part of a Gemini answer kept as received ([`OtherPart::raw`](crate::OtherPart)).
    Raw(&'a Value),
}

impl<'a> WirePart<'a> {
    /// A text part without a signature.
    pub(crate) fn text(text: &'a str) -> Self {
        WirePart::Text {
            text,
            thought_signature: None,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Blob<'a> {
    pub(crate) mime_type: &'a str,
    pub(crate) data: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FileData<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) mime_type: Option<&'static str>,
    pub(crate) file_uri: &'a str,
}

#[derive(Debug, Serialize)]
pub(crate) struct FunctionCallOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) id: Option<&'a str>,
    pub(crate) name: &'a str,
    pub(crate) args: Value,
}

#[derive(Debug, Serialize)]
pub(crate) struct FunctionResponseOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) id: Option<&'a str>,
    pub(crate) name: &'a str,
    /// Always a JSON object (the API's `Struct`).
    pub(crate) response: Value,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireTool<'a> {
    pub(crate) function_declarations: Vec<FunctionDeclaration<'a>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FunctionDeclaration<'a> {
    pub(crate) name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub(crate) description: &'a str,
    pub(crate) parameters_json_schema: &'a Value,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ToolConfig<'a> {
    pub(crate) function_calling_config: FunctionCallingConfig<'a>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FunctionCallingConfig<'a> {
    /// `AUTO`, `ANY` or `NONE`.
    pub(crate) mode: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) allowed_function_names: Vec<&'a str>,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GenerationConfig<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) max_output_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) stop_sequences: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) seed: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) presence_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) frequency_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) response_mime_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) response_json_schema: Option<&'a Value>,
}

impl GenerationConfig<'_> {
    fn is_empty(&self) -> bool {
        self.temperature.is_none()
            && self.top_p.is_none()
            && self.max_output_tokens.is_none()
            && self.stop_sequences.is_none()
            && self.seed.is_none()
            && self.presence_penalty.is_none()
            && self.frequency_penalty.is_none()
            && self.response_mime_type.is_none()
            && self.response_json_schema.is_none()
    }
}

// ---- responses (whole bodies and stream chunks share the shape) ----

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GenerateContentResponse {
    #[serde(default)]
    pub(crate) candidates: Option<Vec<Candidate>>,
    #[serde(default)]
    pub(crate) prompt_feedback: Option<PromptFeedback>,
    #[serde(default)]
    pub(crate) usage_metadata: Option<UsageMetadata>,
    #[serde(default)]
    pub(crate) model_version: Option<String>,
    #[serde(default)]
    pub(crate) response_id: Option<String>,
    /// An `error` member: present, the body is an error, read through a `Value` instead.
    #[serde(default)]
    pub(crate) error: Option<serde::de::IgnoredAny>,
}

impl GenerateContentResponse {
    /// Whether any member of a `GenerateContentResponse` is present (an unrelated JSON object
    /// deserialises to all-`None`).
    pub(crate) fn is_recognisable(&self) -> bool {
        self.candidates.is_some()
            || self.prompt_feedback.is_some()
            || self.usage_metadata.is_some()
            || self.model_version.is_some()
            || self.response_id.is_some()
    }

    /// The first candidate (index 0, or the first without an index).
    pub(crate) fn first_candidate(&self) -> Option<&Candidate> {
        self.candidates
            .as_deref()?
            .iter()
            .find(|c| c.index.unwrap_or(0) == 0)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Candidate {
    #[serde(default)]
    pub(crate) content: Option<CandidateContent>,
    #[serde(default)]
    pub(crate) finish_reason: Option<String>,
    /// Why the model stopped, in words (sent with some finish reasons).
    #[serde(default)]
    pub(crate) finish_message: Option<String>,
    /// `citationSources` (Developer API) or `citations` (Vertex AI): recited sources.
    #[serde(default)]
    pub(crate) citation_metadata: Option<Value>,
    /// The sources of a grounded answer (Google Search, URL context, Maps, retrieval).
    #[serde(default)]
    pub(crate) grounding_metadata: Option<Value>,
    #[serde(default)]
    pub(crate) index: Option<u32>,
}

impl Candidate {
    /// The candidate's parts (none when `content` or `parts` is missing).
    pub(crate) fn parts(&self) -> &[Value] {
        self.content
            .as_ref()
            .and_then(|c| c.parts.as_deref())
            .unwrap_or(&[])
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct CandidateContent {
    /// The parts as received: each is read by [`piece`](super::parts::piece) and kept whole
    /// when it is not text or a function call.
    #[serde(default)]
    pub(crate) parts: Option<Vec<Value>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PromptFeedback {
    #[serde(default)]
    pub(crate) block_reason: Option<String>,
    #[serde(default)]
    pub(crate) block_reason_message: Option<String>,
}

#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UsageMetadata {
    #[serde(default)]
    pub(crate) prompt_token_count: Option<u64>,
    #[serde(default)]
    pub(crate) candidates_token_count: Option<u64>,
    #[serde(default)]
    pub(crate) thoughts_token_count: Option<u64>,
    #[serde(default)]
    pub(crate) tool_use_prompt_token_count: Option<u64>,
}
