//! Messages: who said what, in provider-independent form.
//!
//! A conversation is a list of [`Message`]s, each with a [`Role`] and one or more [`Part`]s
//! (text, images, tool calls made by the assistant, tool results sent back by the user side).
//! Providers translate them into their own wire shapes; a part a provider cannot carry is an
//! [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) error, never silently dropped.

use serde::{Deserialize, Serialize};

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
}

impl Part {
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
