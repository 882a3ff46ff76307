//! The deterministic model: a provider-neutral view of a chat request and the answer derived
//! from it (echo, schema-driven tool calls and structured output) or scripted by a scenario.

use serde_json::Value;

use crate::action::{Reply, ToolCallScript};
use crate::schema;

/// A tool the request declares.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ToolDef {
    pub(crate) name: String,
    pub(crate) schema: Value,
}

/// The request's tool choice.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ToolChoice {
    Auto,
    None,
    /// Any tool must be called (`required` / `any` / `ANY`).
    Required,
    /// This tool must be called.
    Named(String),
}

/// The requested output format.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum OutputFormat {
    /// A JSON schema the answer must satisfy.
    Schema(Value),
    /// Any JSON object.
    JsonObject,
}

/// A provider-neutral view of a chat request.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ChatRequest {
    pub(crate) model: String,
    pub(crate) stream: bool,
    /// Text of the last user message.
    pub(crate) last_user: String,
    /// When the last message is a tool result: its text.
    pub(crate) tool_result: Option<String>,
    /// Whitespace words across all message text (the prompt token count).
    pub(crate) prompt_tokens: u64,
    pub(crate) max_tokens: Option<u64>,
    pub(crate) tools: Vec<ToolDef>,
    pub(crate) tool_choice: ToolChoice,
    pub(crate) output: Option<OutputFormat>,
    /// OpenAI `stream_options.include_usage`.
    pub(crate) include_usage: bool,
}

impl ChatRequest {
    pub(crate) fn new(model: impl Into<String>) -> Self {
        ChatRequest {
            model: model.into(),
            stream: false,
            last_user: String::new(),
            tool_result: None,
            prompt_tokens: 0,
            max_tokens: None,
            tools: Vec::new(),
            tool_choice: ToolChoice::Auto,
            output: None,
            include_usage: false,
        }
    }

    /// Adds message text to the prompt token count.
    pub(crate) fn count(&mut self, text: &str) {
        self.prompt_tokens += count_words(text);
    }
}

/// A tool call in an answer.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ToolCall {
    pub(crate) id_suffix: String,
    pub(crate) name: String,
    /// Raw argument text (may be invalid JSON).
    pub(crate) arguments: String,
}

impl ToolCall {
    /// The arguments as a JSON value: the parsed value when valid, else the raw string (for
    /// protocols whose input is an object, an invalid script stays visible as a string).
    pub(crate) fn arguments_value(&self) -> Value {
        serde_json::from_str(&self.arguments)
            .unwrap_or_else(|_| Value::String(self.arguments.clone()))
    }
}

/// Why the answer ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Finish {
    Stop,
    Length,
    ToolCalls,
    Refusal,
}

/// A provider-neutral answer.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Answer {
    pub(crate) text: Option<String>,
    pub(crate) tool_calls: Vec<ToolCall>,
    pub(crate) refusal: Option<String>,
    pub(crate) finish: Finish,
    pub(crate) prompt_tokens: u64,
    pub(crate) completion_tokens: u64,
}

impl Answer {
    pub(crate) fn total_tokens(&self) -> u64 {
        self.prompt_tokens + self.completion_tokens
    }

    /// The text split in stream pieces on word boundaries (each piece keeps its leading
    /// whitespace), so concatenating them gives the text back.
    pub(crate) fn text_chunks(&self) -> Vec<&str> {
        self.text.as_deref().map(split_words).unwrap_or_default()
    }
}

/// Whitespace word count (the simulator's token count), at least 1 for non-empty text.
pub(crate) fn count_words(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

/// Splits text on word boundaries keeping separators with the following word.
pub(crate) fn split_words(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut in_word = false;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            if in_word && i > start {
                pieces.push(&text[start..i]);
                start = i;
            }
            in_word = false;
        } else {
            in_word = true;
        }
    }
    if start < text.len() {
        pieces.push(&text[start..]);
    }
    pieces
}

/// Splits a string in pieces of about `size` bytes on char boundaries (tool-argument fragments).
pub(crate) fn split_fragments(text: &str, size: usize) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let mut end = (start + size.max(1)).min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        pieces.push(&text[start..end]);
        start = end;
    }
    pieces
}

/// Truncates `text` to at most `max` words; returns whether it was cut.
fn truncate_words(text: &str, max: u64) -> (String, bool) {
    let pieces = split_words(text);
    if pieces.len() as u64 <= max {
        return (text.to_owned(), false);
    }
    let kept: String = pieces.iter().take(max as usize).copied().collect();
    (kept, true)
}

/// Builds the answer for a request and a reply script.
pub(crate) fn answer(req: &ChatRequest, reply: &Reply) -> Answer {
    let prompt_tokens = req.prompt_tokens.max(1);
    let mut out = Answer {
        text: None,
        tool_calls: Vec::new(),
        refusal: None,
        finish: Finish::Stop,
        prompt_tokens,
        completion_tokens: 0,
    };
    let calls_from = |calls: &[ToolCallScript]| -> Vec<ToolCall> {
        calls
            .iter()
            .enumerate()
            .map(|(i, c)| ToolCall {
                id_suffix: i.to_string(),
                name: c.name.clone(),
                arguments: c.arguments.clone(),
            })
            .collect()
    };
    match reply {
        Reply::Model => return default_answer(req, out),
        Reply::Structured(raw) => match forced_tool(req) {
            // Structured output requested through tool forcing: the value is the tool's input.
            Some(name) if req.output.is_none() => {
                out.tool_calls = vec![ToolCall {
                    id_suffix: "0".into(),
                    name,
                    arguments: raw.clone(),
                }];
                out.finish = Finish::ToolCalls;
            }
            _ => out.text = Some(raw.clone()),
        },
        Reply::Text(t) => out.text = Some(t.clone()),
        Reply::Refusal(r) => {
            out.refusal = Some(r.clone());
            out.finish = Finish::Refusal;
        }
        Reply::ToolCalls { text, calls } => {
            out.text = text.clone();
            out.tool_calls = calls_from(calls);
            out.finish = Finish::ToolCalls;
        }
    }
    finish_counts(req, out)
}

/// The tool a request forces (named, or the only/first one for `required`/`any`).
fn forced_tool(req: &ChatRequest) -> Option<String> {
    match &req.tool_choice {
        ToolChoice::Named(name) => Some(name.clone()),
        ToolChoice::Required => req.tools.first().map(|t| t.name.clone()),
        ToolChoice::Auto | ToolChoice::None => None,
    }
}

fn finish_counts(req: &ChatRequest, mut out: Answer) -> Answer {
    if out.tool_calls.is_empty() && out.refusal.is_none() {
        if let (Some(max), Some(text)) = (req.max_tokens, out.text.as_deref()) {
            let (cut, was_cut) = truncate_words(text, max);
            if was_cut {
                out.text = Some(cut);
                out.finish = Finish::Length;
            }
        }
    }
    let mut words = out.text.as_deref().map_or(0, count_words);
    words += out.refusal.as_deref().map_or(0, count_words);
    words += out
        .tool_calls
        .iter()
        .map(|c| count_words(&c.arguments).max(1))
        .sum::<u64>();
    out.completion_tokens = words.max(1);
    out
}

fn default_answer(req: &ChatRequest, mut out: Answer) -> Answer {
    let forced = match &req.tool_choice {
        ToolChoice::None => None,
        ToolChoice::Named(name) => req.tools.iter().find(|t| &t.name == name),
        ToolChoice::Required => req.tools.first(),
        ToolChoice::Auto if req.tool_result.is_none() => {
            let lower = req.last_user.to_lowercase();
            req.tools
                .iter()
                .find(|t| !t.name.is_empty() && lower.contains(&t.name.to_lowercase()))
        }
        ToolChoice::Auto => None,
    };
    if let Some(tool) = forced {
        let args = schema::generate(&tool.schema);
        out.tool_calls = vec![ToolCall {
            id_suffix: "0".into(),
            name: tool.name.clone(),
            arguments: args.to_string(),
        }];
        out.finish = Finish::ToolCalls;
        return finish_counts(req, out);
    }
    if let ChatRequest {
        tool_choice: ToolChoice::Named(name),
        ..
    } = req
    {
        // A named tool that is not declared: answer with a generic object, as a lenient server would.
        out.tool_calls = vec![ToolCall {
            id_suffix: "0".into(),
            name: name.clone(),
            arguments: "{}".into(),
        }];
        out.finish = Finish::ToolCalls;
        return finish_counts(req, out);
    }
    let text = match &req.output {
        Some(OutputFormat::Schema(s)) => schema::generate(s).to_string(),
        Some(OutputFormat::JsonObject) => serde_json::json!({ "echo": req.last_user }).to_string(),
        None => match &req.tool_result {
            Some(result) => format!("Tool result: {}", result.trim()),
            None => format!("Echo: {}", req.last_user.trim()),
        },
    };
    out.text = Some(text);
    finish_counts(req, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn echo_and_max_tokens() {
        let mut req = ChatRequest::new("m");
        req.last_user = "hello there world".into();
        let a = answer(&req, &Reply::Model);
        assert_eq!(a.text.as_deref(), Some("Echo: hello there world"));
        assert_eq!(a.text_chunks(), vec!["Echo:", " hello", " there", " world"]);
        assert_eq!(a.completion_tokens, 4);
        req.max_tokens = Some(2);
        let a = answer(&req, &Reply::Model);
        assert_eq!(
            (a.text.as_deref(), a.finish),
            (Some("Echo: hello"), Finish::Length)
        );
        assert_eq!(a.completion_tokens, 2);
    }

    #[test]
    fn forced_tool_gets_schema_args() {
        let mut req = ChatRequest::new("m");
        req.tools = vec![ToolDef {
            name: "get_weather".into(),
            schema: json!({"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}),
        }];
        req.tool_choice = ToolChoice::Required;
        let a = answer(&req, &Reply::Model);
        assert_eq!(a.finish, Finish::ToolCalls);
        let args: Value = serde_json::from_str(&a.tool_calls[0].arguments).unwrap();
        assert!(args["city"].is_string());
    }

    #[test]
    fn fragments_respect_char_boundaries() {
        let parts = split_fragments("héllo wörld", 2);
        assert_eq!(parts.concat(), "héllo wörld");
        assert!(parts.len() > 3);
    }
}
