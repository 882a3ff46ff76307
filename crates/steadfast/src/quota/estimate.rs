//! [`TokenEstimate`]: what a request will cost against a tokens-per-minute limit, guessed before
//! it is sent and corrected from the response's usage afterwards.

use crate::message::{Message, Part};
use crate::provider::ChatRequest;
use crate::response::Usage;
use crate::tool::Tool;

/// The output tokens assumed when a request sets no `max_tokens`.
pub const DEFAULT_OUTPUT_TOKENS: u64 = 1024;

/// The tokens assumed for one image (OpenAI's price of one high-detail 512 px tile plus its base,
/// 170 × 4 + 85; other providers are in the same range).
pub const IMAGE_TOKENS: u64 = 765;

/// A request's **estimated** token cost: prompt tokens plus the most output it may produce.
///
/// An estimate, not a count: Steadfast has no tokenizer. The prompt part is the heuristic
/// `ceil(bytes / 4)` over the text the request carries (message text, tool calls and results,
/// reasoning text, tool names, descriptions and schemas), plus [`IMAGE_TOKENS`] per image. Four
/// bytes a token is the usual rule of thumb for English with GPT-style tokenizers; it over-counts
/// code and under-counts some scripts. Providers count `max_tokens` against the limit up front
/// (OpenAI does), so the output part is the request's `max_tokens`, or [`DEFAULT_OUTPUT_TOKENS`].
///
/// After the response, [`Permit::settle_usage`](crate::quota::Permit::settle_usage) replaces the
/// estimate by the real usage.
///
/// ```
/// use steadfast::quota::TokenEstimate;
///
/// let estimate = TokenEstimate::new(250, 100);
/// assert_eq!(estimate.total(), 350);
/// assert_eq!(TokenEstimate::of_text("twelve bytes", Some(8)).total(), 3 + 8);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TokenEstimate {
    prompt: u64,
    output: u64,
}

impl TokenEstimate {
    /// An estimate from counts you computed yourself (with a real tokenizer, for example).
    pub const fn new(prompt_tokens: u64, max_output_tokens: u64) -> TokenEstimate {
        TokenEstimate {
            prompt: prompt_tokens,
            output: max_output_tokens,
        }
    }

    /// The estimate for a prompt of `text` and at most `max_tokens` of output (the heuristic
    /// above; [`DEFAULT_OUTPUT_TOKENS`] when `None`).
    pub fn of_text(text: &str, max_tokens: Option<u32>) -> TokenEstimate {
        TokenEstimate::new(bytes_to_tokens(text.len() as u64), output(max_tokens))
    }

    /// The estimate for a request, by the heuristic above.
    pub fn of_request(request: &ChatRequest) -> TokenEstimate {
        TokenEstimate::of_parts(&request.messages, &request.tools, request.params.max_tokens)
    }

    /// The estimate for `messages` sent with `tools` and at most `max_tokens` of output.
    pub(crate) fn of_parts(
        messages: &[Message],
        tools: &[Tool],
        max_tokens: Option<u32>,
    ) -> TokenEstimate {
        let mut bytes = 0u64;
        let mut images = 0u64;
        let mut add = |s: &str| bytes = bytes.saturating_add(s.len() as u64);
        for message in messages {
            for part in &message.parts {
                match part {
                    Part::Text { text } => add(text),
                    Part::Image { .. } => images += 1,
                    Part::ToolCall(call) => {
                        add(&call.name);
                        add(&call.arguments);
                    }
                    Part::ToolResult(result) => add(&result.content),
                    Part::Reasoning(reasoning) => add(&reasoning.text),
                    // Provider-specific blocks: their JSON is the best size we have.
                    Part::Other(other) => add(&other.raw.to_string()),
                }
            }
        }
        for tool in tools {
            add(tool.name());
            add(tool.description());
            add(&tool.parameters().to_string());
        }
        let prompt = bytes_to_tokens(bytes).saturating_add(images.saturating_mul(IMAGE_TOKENS));
        TokenEstimate::new(prompt, output(max_tokens))
    }

    /// The estimated prompt tokens.
    pub const fn prompt_tokens(&self) -> u64 {
        self.prompt
    }

    /// The output tokens allowed for.
    pub const fn max_output_tokens(&self) -> u64 {
        self.output
    }

    /// What the request is charged against a token limit up front: prompt + output, at least 1.
    pub const fn total(&self) -> u64 {
        let total = self.prompt.saturating_add(self.output);
        if total == 0 { 1 } else { total }
    }
}

/// The tokens a response really used, to correct an estimate with: input + output.
pub fn actual_tokens(usage: &Usage) -> u64 {
    usage.input_tokens.saturating_add(usage.output_tokens)
}

fn bytes_to_tokens(bytes: u64) -> u64 {
    bytes.div_ceil(4)
}

fn output(max_tokens: Option<u32>) -> u64 {
    max_tokens.map_or(DEFAULT_OUTPUT_TOKENS, u64::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Message;

    #[test]
    fn the_heuristic_counts_what_the_request_carries() {
        assert_eq!(
            TokenEstimate::of_text("", None).total(),
            DEFAULT_OUTPUT_TOKENS
        );
        assert_eq!(TokenEstimate::of_text("abcde", Some(0)).total(), 2);
        assert_eq!(TokenEstimate::new(0, 0).total(), 1, "never free");
        let usage = Usage::new(120, 30);
        assert_eq!(actual_tokens(&usage), 150);
    }

    #[test]
    fn of_request_reads_messages_and_max_tokens() {
        let mut request = ChatRequest {
            model: "m".into(),
            messages: vec![Message::user("x".repeat(400))],
            params: std::sync::Arc::new(crate::Params {
                max_tokens: Some(50),
                ..Default::default()
            }),
            tools: Vec::new().into(),
            tool_choice: crate::ToolChoice::Auto,
            output: None,
            extra: Default::default(),
            client: Default::default(),
            attempt: 1,
        };
        let estimate = TokenEstimate::of_request(&request);
        assert_eq!(estimate.max_output_tokens(), 50);
        assert_eq!(estimate.prompt_tokens(), 100);
        request.messages.push(Message::user("y".repeat(40)));
        request.tools =
            vec![crate::Tool::from_schema("abcd", "", serde_json::json!({})).unwrap()].into();
        assert_eq!(
            TokenEstimate::of_request(&request).prompt_tokens(),
            estimate.prompt_tokens() + 10 + 2
        );
    }
}
