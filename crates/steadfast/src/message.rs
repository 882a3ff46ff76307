//! Messages: who said what, in provider-independent form.
//!
//! A conversation is a list of [`Message`]s, each with a [`Role`] and one or more [`Part`]s
//! (text, images, tool calls made by the assistant, tool results sent back by the user side, and
//! what a provider's answer held beyond those: the model's [`Reasoning`] and [`OtherPart`]s).
//! Providers translate them into their own wire shapes; a part a provider cannot carry is an
//! [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) error, never silently dropped — except
//! the provider-bound parts a model produced ([`Part::Reasoning`], [`Part::Other`]): they go back
//! unchanged to the provider that produced them where its protocol takes them back (Anthropic,
//! Gemini, Bedrock), and are left out otherwise (another provider cannot verify a signature or
//! read an opaque block; see [`Part::is_for`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Who a message is from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions for the model (OpenAI `system`, Anthropic's `system` field, Gemini's
    /// `systemInstruction`).
    System,
    /// The user, and the results of tool calls.
    User,
    /// The model.
    Assistant,
}

impl Role {
    /// `"system"`, `"user"` or `"assistant"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// Where an image comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ImageSource {
    /// An `https:` (or `data:`) URL the provider fetches itself.
    Url {
        /// The URL.
        url: String,
    },
    /// Inline bytes, base64-encoded.
    Base64 {
        /// The MIME type, e.g. `image/png`.
        media_type: String,
        /// The base64 data, without a `data:` prefix.
        data: String,
    },
}

/// A tool call made by the model: which tool, and its arguments as the raw JSON text received.
///
/// Arguments are kept as text because models do produce invalid JSON; they are parsed and validated
/// only when asked for (see [`Response::tools`](crate::Response::tools)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The provider's id for this call, used to send its result back.
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// The arguments, as raw JSON text (possibly invalid).
    pub arguments: String,
    /// An opaque signature the provider attached to the call and wants back with it when the
    /// conversation goes on (Gemini's `thoughtSignature`: thinking models reject a function call
    /// sent back without it). `None` for most providers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

impl ToolCall {
    /// A tool call.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        arguments: impl Into<String>,
    ) -> Self {
        ToolCall {
            id: id.into(),
            name: name.into(),
            arguments: arguments.into(),
            signature: None,
        }
    }

    /// The same call with the provider's signature.
    #[must_use]
    pub fn with_signature(mut self, signature: impl Into<String>) -> Self {
        self.signature = Some(signature.into());
        self
    }
}

/// The result of running a tool, sent back to the model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolResult {
    /// The id of the [`ToolCall`] this answers.
    pub call_id: String,
    /// The tool's name (Gemini needs it; others ignore it).
    pub name: String,
    /// The result as text (often JSON).
    pub content: String,
    /// Whether the tool failed (Anthropic `is_error`; others put the text as is).
    pub is_error: bool,
}

/// The model's reasoning ("thinking"), as the provider returned it: readable text, an opaque
/// signature that must go back unchanged with it, or an encrypted, redacted form.
///
/// Anthropic `thinking` (text + `signature`) and `redacted_thinking` (`data`), Gemini `thought`
/// parts (and the `thoughtSignature` of a text part), Bedrock `reasoningContent` (`reasoningText`
/// with its signature, `redactedContent`), and the `reasoning_content` / `reasoning` fields of
/// OpenAI-compatible servers (text only). Reasoning goes back to the provider that produced it when
/// the conversation goes on (thinking models with tools require it) and is left out for any other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Reasoning {
    /// The provider that produced it (`"anthropic"`, `"gemini"`, …).
    pub provider: String,
    /// The readable reasoning text (a summary for some providers); empty when redacted.
    pub text: String,
    /// The provider's opaque signature of this reasoning, sent back exactly as received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// The encrypted content of redacted reasoning (Anthropic `redacted_thinking.data`, Bedrock
    /// `redactedContent`, base64), sent back exactly as received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redacted: Option<String>,
}

impl Reasoning {
    /// Reasoning text from `provider`.
    pub fn new(provider: impl Into<String>, text: impl Into<String>) -> Self {
        Reasoning {
            provider: provider.into(),
            text: text.into(),
            signature: None,
            redacted: None,
        }
    }

    /// Redacted (encrypted) reasoning from `provider`.
    pub fn redacted(provider: impl Into<String>, data: impl Into<String>) -> Self {
        Reasoning {
            provider: provider.into(),
            text: String::new(),
            signature: None,
            redacted: Some(data.into()),
        }
    }

    /// The same reasoning with the provider's signature.
    #[must_use]
    pub fn with_signature(mut self, signature: impl Into<String>) -> Self {
        self.signature = Some(signature.into());
        self
    }
}

/// A piece of an answer that has no provider-independent form: a provider's server-side tool
/// call and its result (Anthropic `server_tool_use`, `web_search_tool_result`, …), executed code
/// and its output (Gemini `executableCode`, `codeExecutionResult`), inline data, or a block type
/// this version of the library does not know. It is kept exactly as received so nothing the model
/// produced is lost, and goes back unchanged to the provider that produced it when the
/// conversation goes on (left out for any other).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OtherPart {
    /// The provider that produced it.
    pub provider: String,
    /// The provider's name for the block (`"server_tool_use"`, `"executableCode"`, …).
    pub kind: String,
    /// The block as received (for streams: as assembled from its events).
    pub raw: Value,
}

impl OtherPart {
    /// A part of kind `kind` from `provider`, kept as `raw`.
    pub fn new(provider: impl Into<String>, kind: impl Into<String>, raw: Value) -> Self {
        OtherPart {
            provider: provider.into(),
            kind: kind.into(),
            raw,
        }
    }
}

/// One piece of a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Part {
    /// Text.
    Text {
        /// The text.
        text: String,
    },
    /// An image.
    Image {
        /// Where it comes from.
        source: ImageSource,
    },
    /// A call to a tool, made by the assistant.
    ToolCall(ToolCall),
    /// The result of a tool call, sent on the user side.
    ToolResult(ToolResult),
    /// The model's reasoning, kept for the provider that produced it.
    Reasoning(Reasoning),
    /// A provider-specific block, kept as received for the provider that produced it.
    Other(OtherPart),
}

impl Part {
    /// Whether this part goes to `provider` when a conversation is sent: every part does, except
    /// [`Reasoning`](Part::Reasoning) and [`Other`](Part::Other) parts produced by another
    /// provider (another provider could not verify their signatures or read them).
    pub fn is_for(&self, provider: &str) -> bool {
        match self {
            Part::Reasoning(r) => r.provider == provider,
            Part::Other(o) => o.provider == provider,
            _ => true,
        }
    }

    /// A text part.
    pub fn text(text: impl Into<String>) -> Self {
        Part::Text { text: text.into() }
    }

    /// An image part from a URL.
    pub fn image_url(url: impl Into<String>) -> Self {
        Part::Image {
            source: ImageSource::Url { url: url.into() },
        }
    }

    /// An image part from base64 data.
    pub fn image_base64(media_type: impl Into<String>, data: impl Into<String>) -> Self {
        Part::Image {
            source: ImageSource::Base64 {
                media_type: media_type.into(),
                data: data.into(),
            },
        }
    }
}

/// One turn of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Who it is from.
    pub role: Role,
    /// What it says.
    pub parts: Vec<Part>,
}

impl Message {
    /// A message with the given role and parts (the "raw message list" style).
    pub fn new(role: Role, parts: Vec<Part>) -> Self {
        Message { role, parts }
    }

    /// A system message.
    pub fn system(text: impl Into<String>) -> Self {
        Message::new(Role::System, vec![Part::text(text)])
    }

    /// A user message.
    pub fn user(text: impl Into<String>) -> Self {
        Message::new(Role::User, vec![Part::text(text)])
    }

    /// An assistant message.
    pub fn assistant(text: impl Into<String>) -> Self {
        Message::new(Role::Assistant, vec![Part::text(text)])
    }

    /// An assistant message that made tool calls (with optional text before them).
    pub fn assistant_tool_calls(text: Option<String>, calls: Vec<ToolCall>) -> Self {
        let mut parts = Vec::with_capacity(calls.len() + 1);
        if let Some(t) = text.filter(|t| !t.is_empty()) {
            parts.push(Part::text(t));
        }
        parts.extend(calls.into_iter().map(Part::ToolCall));
        Message::new(Role::Assistant, parts)
    }

    /// A user-side message carrying one tool result.
    pub fn tool_result(call: &ToolCall, content: impl Into<String>, is_error: bool) -> Self {
        Message::new(
            Role::User,
            vec![Part::ToolResult(ToolResult {
                call_id: call.id.clone(),
                name: call.name.clone(),
                content: content.into(),
                is_error,
            })],
        )
    }

    /// Adds a part (builder style).
    #[must_use]
    pub fn with_part(mut self, part: Part) -> Self {
        self.parts.push(part);
        self
    }

    /// All text parts joined together.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for p in &self.parts {
            if let Part::Text { text } = p {
                out.push_str(text);
            }
        }
        out
    }
}
