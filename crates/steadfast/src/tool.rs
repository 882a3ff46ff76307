//! Tools the model may call, defined from Rust types or from a JSON Schema value.
//!
//! ```
//! use schemars::JsonSchema;
//! use serde::Deserialize;
//! use steadfast::Tool;
//!
//! /// Get the weather for a city.
//! #[derive(Debug, Deserialize, JsonSchema)]
//! struct GetWeather {
//!     city: String,
//! }
//!
//! let tool = Tool::of::<GetWeather>("get_weather", "Get the weather for a city");
//! assert_eq!(tool.name(), "get_weather");
//! assert_eq!(tool.parameters()["required"][0], "city");
//! ```
//!
//! Arguments are validated lazily, when the caller asks for them with
//! [`Response::tools`](crate::Response::tools): that is where a
//! [`Validation`](crate::ErrorKind::Validation) error appears, and where a retry wrapper catches it.

use std::fmt;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::Error;
use crate::message::ToolCall;

type Check = Arc<dyn Fn(&Value) -> Result<(), String> + Send + Sync>;

/// A tool definition: name, description, JSON Schema of its arguments, and how to validate them.
#[derive(Clone)]
pub struct Tool {
    name: String,
    description: String,
    parameters: Value,
    strict: bool,
    check: Check,
}

impl fmt::Debug for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tool")
            .field("name", &self.name)
            .field("description", &self.description)
            .field("strict", &self.strict)
            .finish_non_exhaustive()
    }
}

impl PartialEq for Tool {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && self.description == other.description
            && self.parameters == other.parameters
            && self.strict == other.strict
    }
}

impl Tool {
    /// A tool whose arguments are the Rust type `T`: the schema comes from `schemars`, and arguments
    /// are valid when they deserialize into `T`.
    pub fn of<T>(name: impl Into<String>, description: impl Into<String>) -> Tool
    where
        T: JsonSchema + DeserializeOwned + 'static,
    {
        Tool {
            name: name.into(),
            description: description.into(),
            parameters: schema_of::<T>(),
            strict: false,
            check: Arc::new(|v: &Value| T::deserialize(v).map(|_| ()).map_err(|e| e.to_string())),
        }
    }

    /// Like [`Tool::of`], plus a validator run on the deserialized arguments.
    pub fn of_validated<T, F>(
        name: impl Into<String>,
        description: impl Into<String>,
        validator: F,
    ) -> Tool
    where
        T: JsonSchema + DeserializeOwned + 'static,
        F: Fn(&T) -> Result<(), String> + Send + Sync + 'static,
    {
        let mut tool = Tool::of::<T>(name, description);
        tool.check = Arc::new(move |v: &Value| {
            let t = T::deserialize(v).map_err(|e| e.to_string())?;
            validator(&t)
        });
        tool
    }

    /// A tool from a JSON Schema value; arguments are validated against the schema.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) when the schema is not a valid JSON Schema
    /// object.
    pub fn from_schema(
        name: impl Into<String>,
        description: impl Into<String>,
        parameters: Value,
    ) -> Result<Tool, Error> {
        let name = name.into();
        let check = schema_check(&parameters).map_err(|e| {
            Error::config(format!(
                "the parameters schema of tool `{name}`: {}",
                e.message()
            ))
        })?;
        Ok(Tool {
            name,
            description: description.into(),
            parameters,
            strict: false,
            check: Arc::new(check),
        })
    }

    /// Asks providers that support it to constrain arguments to the schema exactly (OpenAI
    /// `strict: true`). Off by default.
    #[must_use]
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// The tool's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The tool's description.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The JSON Schema of the arguments.
    pub fn parameters(&self) -> &Value {
        &self.parameters
    }

    /// Whether strict schema adherence is requested.
    pub fn is_strict(&self) -> bool {
        self.strict
    }

    /// Parses and validates the arguments of a call to this tool.
    ///
    /// # Errors
    /// [`ErrorKind::Validation`](crate::ErrorKind::Validation) carrying the raw arguments when they
    /// are not JSON or do not validate.
    pub fn validate(&self, call: &ToolCall) -> Result<Value, Error> {
        let raw = if call.arguments.trim().is_empty() {
            "{}"
        } else {
            call.arguments.as_str()
        };
        let value: Value = serde_json::from_str(raw).map_err(|e| {
            Error::tool_validation(call, format!("arguments are not valid JSON: {e}"))
        })?;
        (self.check)(&value).map_err(|msg| Error::tool_validation(call, msg))?;
        Ok(value)
    }
}

/// Compiles a JSON Schema into a check that lists every violation (with its JSON pointer).
pub(crate) fn schema_check(
    schema: &Value,
) -> Result<impl Fn(&Value) -> Result<(), String> + Send + Sync + 'static, Error> {
    if !schema.is_object() {
        return Err(Error::config("a JSON Schema must be a JSON object"));
    }
    let validator = jsonschema::validator_for(schema)
        .map_err(|e| Error::config(format!("invalid JSON Schema: {e}")))?;
    Ok(move |v: &Value| {
        let errors: Vec<String> = validator
            .iter_errors(v)
            .map(|e| {
                let path = e.instance_path().to_string();
                if path.is_empty() {
                    e.to_string()
                } else {
                    format!("{path}: {e}")
                }
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    })
}

/// How the model may use the tools.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ToolChoice {
    /// The model decides (the default).
    #[default]
    Auto,
    /// The model must not call tools.
    None,
    /// The model must call some tool.
    Required,
    /// The model must call this tool.
    Tool(String),
}

/// A tool call whose arguments have been parsed and validated.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolUse {
    call: ToolCall,
    args: Value,
}

impl ToolUse {
    /// The call as the model made it.
    pub fn call(&self) -> &ToolCall {
        &self.call
    }

    /// The tool's name.
    pub fn name(&self) -> &str {
        &self.call.name
    }

    /// The call id.
    pub fn id(&self) -> &str {
        &self.call.id
    }

    /// The validated arguments.
    pub fn args(&self) -> &Value {
        &self.args
    }

    /// The arguments as a Rust type.
    ///
    /// # Errors
    /// [`ErrorKind::Validation`](crate::ErrorKind::Validation) when they do not deserialize into `T`.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, Error> {
        T::deserialize(&self.args).map_err(|e| Error::tool_validation(&self.call, e.to_string()))
    }
}

/// Validates every call against the tools it names.
pub(crate) fn validate_calls(tools: &[Tool], calls: &[ToolCall]) -> Result<Vec<ToolUse>, Error> {
    calls
        .iter()
        .map(|call| {
            let tool = tools.iter().find(|t| t.name == call.name).ok_or_else(|| {
                Error::tool_validation(
                    call,
                    format!("the model called unknown tool `{}`", call.name),
                )
            })?;
            let args = tool.validate(call)?;
            Ok(ToolUse {
                call: call.clone(),
                args,
            })
        })
        .collect()
}

/// The JSON Schema of `T`, without the `$schema` marker (providers reject or ignore it).
pub(crate) fn schema_of<T: JsonSchema>() -> Value {
    let schema = schemars::schema_for!(T);
    let mut value = serde_json::to_value(schema).unwrap_or(Value::Null);
    if let Some(obj) = value.as_object_mut() {
        obj.remove("$schema");
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, JsonSchema, PartialEq)]
    struct GetWeather {
        city: String,
        days: u8,
    }

    fn call(args: &str) -> ToolCall {
        ToolCall::new("call_1", "get_weather", args)
    }

    #[test]
    fn typed_tool_schema_and_validation() {
        let tool = Tool::of::<GetWeather>("get_weather", "weather");
        assert_eq!(tool.parameters()["type"], "object");
        assert!(tool.parameters().get("$schema").is_none());
        let v = tool
            .validate(&call(r#"{"city":"Paris","days":2}"#))
            .unwrap();
        assert_eq!(v["city"], "Paris");
        let e = tool.validate(&call(r#"{"city":"Paris"}"#)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Validation);
        let f = e.validation_failure().unwrap();
        assert_eq!(f.raw, r#"{"city":"Paris"}"#);
        assert_eq!(f.tool.as_deref(), Some("get_weather"));
        assert!(f.message.contains("days"), "{}", f.message);
    }

    #[test]
    fn invalid_json_is_a_validation_error() {
        let tool = Tool::of::<GetWeather>("get_weather", "weather");
        let e = tool.validate(&call(r#"{"city": "Par"#)).unwrap_err();
        assert!(e.to_string().contains("not valid JSON"), "{e}");
    }

    #[test]
    fn schema_tool_validates_against_schema() {
        let tool = Tool::from_schema(
            "get_weather",
            "weather",
            serde_json::json!({"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}),
        )
        .unwrap();
        assert!(tool.validate(&call(r#"{"city":"Paris"}"#)).is_ok());
        let e = tool.validate(&call(r#"{"city":3}"#)).unwrap_err();
        assert!(e.validation_failure().unwrap().message.contains("/city"));
        assert!(Tool::from_schema("x", "y", serde_json::json!(3)).is_err());
        assert!(Tool::from_schema("x", "y", serde_json::json!({"type": 12})).is_err());
    }

    #[test]
    fn custom_validator_runs_after_deserialization() {
        let tool = Tool::of_validated::<GetWeather, _>("get_weather", "w", |w| {
            if w.days > 7 {
                Err("at most 7 days".into())
            } else {
                Ok(())
            }
        });
        let e = tool
            .validate(&call(r#"{"city":"Paris","days":9}"#))
            .unwrap_err();
        assert_eq!(e.validation_failure().unwrap().message, "at most 7 days");
    }

    #[test]
    fn unknown_tool_is_a_validation_error() {
        let tools = [Tool::of::<GetWeather>("get_weather", "w")];
        let e = validate_calls(&tools, &[ToolCall::new("1", "nope", "{}")]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Validation);
    }
}
