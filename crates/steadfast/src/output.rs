//! Structured output: asking for JSON that fits a schema, and checking what came back.

use serde_json::Value;

/// How structured output is requested from the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OutputMode {
    /// The provider's preferred mechanism (see each provider's docs).
    #[default]
    Auto,
    /// A native JSON-schema response format (OpenAI `response_format`, Anthropic `output_config`).
    JsonSchema,
    /// Forcing a call to a single tool whose parameters are the schema, and reading its arguments.
    Tool,
}

/// A request for structured output: a name, a JSON Schema, and the mode.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct OutputFormat {
    /// A name for the schema (`[a-zA-Z0-9_-]{1,64}`), used as the response-format or tool name.
    pub name: String,
    /// The JSON Schema the output must match.
    pub schema: Value,
    /// Ask for strict schema adherence where supported.
    pub strict: bool,
    /// How to request it.
    pub mode: OutputMode,
}

impl OutputFormat {
    /// A format named `name` for `schema`; the name is sanitised to `[a-zA-Z0-9_-]{1,64}`.
    pub fn new(name: &str, schema: Value) -> Self {
        let mut clean: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .take(64)
            .collect();
        if clean.is_empty() {
            clean.push_str("output");
        }
        OutputFormat {
            name: clean,
            schema,
            strict: false,
            mode: OutputMode::Auto,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sanitised() {
        assert_eq!(OutputFormat::new("Book<T>", Value::Null).name, "Book_T_");
        assert_eq!(OutputFormat::new("", Value::Null).name, "output");
        assert_eq!(
            OutputFormat::new(&"x".repeat(100), Value::Null).name.len(),
            64
        );
    }
}
