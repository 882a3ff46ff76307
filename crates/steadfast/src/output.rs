//! Structured output: asking for JSON that fits a schema, and checking what came back.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::Error;
use crate::response::Response;

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

/// Reads structured output from a response: the arguments of the output tool if the model called
/// it, otherwise the text (a Markdown code fence around the JSON is tolerated).
pub(crate) fn parse_output<T: DeserializeOwned>(
    response: &Response,
    format_name: &str,
    validator: Option<&crate::resilient::ValidatorFn<T>>,
) -> Result<T, Error> {
    if let Some(refusal) = response.refusal() {
        return Err(Error::validation(
            format!("the model refused: {refusal}"),
            refusal,
        ));
    }
    let tool_call = response.tool_calls().iter().find(|c| c.name == format_name);
    let raw = match tool_call {
        Some(call) => call.arguments.as_str(),
        None => strip_fence(response.text()),
    };
    // A failure names the output tool call when the output came as one, so conversational
    // reinsertion can answer that call.
    let fail = |msg: String| {
        match tool_call {
            Some(call) => Error::tool_validation(call, msg),
            None => Error::validation(msg, raw),
        }
        .with_model_parts(|| response.model_parts())
    };
    if raw.trim().is_empty() {
        return Err(fail("the model returned no structured output".into()));
    }
    let value: T = serde_json::from_str(raw)
        .map_err(|e| fail(format!("the output does not match the schema: {e}")))?;
    if let Some(v) = validator {
        v(&value).map_err(fail)?;
    }
    Ok(value)
}

fn strip_fence(text: &str) -> &str {
    let t = text.trim();
    let Some(rest) = t.strip_prefix("```") else {
        return t;
    };
    let rest = rest.strip_prefix("json").unwrap_or(rest);
    rest.strip_suffix("```").unwrap_or(rest).trim()
}

#[cfg(test)]
mod parse_tests {
    use super::*;
    use crate::ErrorKind;
    use crate::message::ToolCall;
    use schemars::JsonSchema;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, JsonSchema, PartialEq)]
    struct Book {
        title: String,
        author: String,
    }

    fn upper(b: &Book) -> Result<(), String> {
        if b.author == b.author.to_uppercase() {
            Ok(())
        } else {
            Err("author must be uppercase".into())
        }
    }

    #[test]
    fn parses_text_tool_and_fenced_output() {
        let mut r = Response::empty("openai", "m");
        r.text = "```json\n{\"title\":\"T\",\"author\":\"A\"}\n```".into();
        assert_eq!(parse_output::<Book>(&r, "Book", None).unwrap().title, "T");
        let mut r = Response::empty("anthropic", "m");
        r.tool_calls
            .push(ToolCall::new("1", "Book", r#"{"title":"X","author":"Y"}"#));
        assert_eq!(parse_output::<Book>(&r, "Book", None).unwrap().title, "X");
    }

    #[test]
    fn validator_failure_carries_raw_output() {
        let mut r = Response::empty("openai", "m");
        r.text = r#"{"title":"The Name of the Wind","author":"patrick rothfuss"}"#.into();
        let e = parse_output::<Book>(&r, "Book", Some(&upper)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Validation);
        let v = e.validation_failure().unwrap();
        assert_eq!(v.message, "author must be uppercase");
        assert_eq!(v.raw, r.text);
    }

    #[test]
    fn refusal_and_garbage_are_validation_errors() {
        let mut r = Response::empty("openai", "m");
        r.refusal = Some("I can't help with that".into());
        assert_eq!(
            parse_output::<Book>(&r, "Book", None).unwrap_err().kind(),
            ErrorKind::Validation
        );
        let mut r = Response::empty("openai", "m");
        r.text = "not json".into();
        let e = parse_output::<Book>(&r, "Book", None).unwrap_err();
        assert_eq!(e.validation_failure().unwrap().raw, "not json");
    }
}
