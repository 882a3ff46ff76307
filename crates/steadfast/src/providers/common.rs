//! Pieces shared by several providers.

// The module is compiled when any built-in provider is (`providers/mod.rs`); the helpers that
// serve only some providers carry their own `#[cfg]`.

use std::borrow::Cow;

use serde_json::Value;

#[cfg(any(
    feature = "openai",
    feature = "anthropic",
    feature = "cohere",
    feature = "gemini"
))]
use crate::client::ApiKey;
use crate::error::{Error, ErrorKind};
use crate::output::{OutputFormat, OutputMode};
use crate::provider::ChatRequest;
use crate::tool::ToolChoice;
#[cfg(any(
    feature = "openai",
    feature = "anthropic",
    feature = "cohere",
    feature = "gemini"
))]
use crate::transport::env;

/// Notes, at debug level, something a provider sent that this version does not know and skipped
/// (an event type, a delta, a block member): it never fails a call.
#[cfg_attr(
    not(any(
        feature = "openai",
        feature = "anthropic",
        feature = "mistral",
        feature = "cohere",
        feature = "azure-inference"
    )),
    allow(dead_code, reason = "not every provider has something to skip")
)]
pub(crate) fn skipped(provider: &str, what: &str, kind: &str) {
    tracing::debug!(
        target: "steadfast::forward_compat",
        provider,
        what,
        kind,
        "skipped what this version does not know"
    );
}

/// The `type` member of a provider's JSON object, or empty.
#[cfg(any(feature = "openai", feature = "anthropic", feature = "azure-inference"))]
pub(crate) fn type_of(v: &Value) -> String {
    v.get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// The response id and model of the chunk-per-event protocols (OpenAI family, Mistral), taken from
/// the first chunk that has each: a chunk without them (an unknown kind of chunk first, say) does
/// not use up the metadata.
#[cfg(any(feature = "openai", feature = "mistral", feature = "azure-inference"))]
#[derive(Debug, Default)]
pub(crate) struct FirstMetadata {
    seen_id: bool,
    seen_model: bool,
}

#[cfg(any(feature = "openai", feature = "mistral", feature = "azure-inference"))]
impl FirstMetadata {
    /// Reports what of `id` and `model` is new.
    pub(crate) fn note(
        &mut self,
        id: Option<String>,
        model: Option<String>,
        out: &mut std::collections::VecDeque<crate::provider::ProviderEvent>,
    ) {
        let id = id.filter(|s| !s.is_empty() && !self.seen_id);
        let model = model.filter(|s| !s.is_empty() && !self.seen_model);
        if id.is_some() || model.is_some() {
            self.seen_id |= id.is_some();
            self.seen_model |= model.is_some();
            out.push_back(crate::provider::ProviderEvent::metadata(id, model));
        }
    }
}

/// Longest provider message kept in an error's `Display`.
const MAX_MESSAGE: usize = 500;

/// Shortens a provider's error message for `Display` (the full body stays in `Error::body`).
pub(crate) fn short_message(msg: &str) -> String {
    let msg = msg.trim();
    if msg.len() <= MAX_MESSAGE {
        return msg.to_string();
    }
    let mut cut = MAX_MESSAGE;
    while !msg.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", &msg[..cut])
}

/// The error kind an HTTP status means when the body says nothing more specific.
pub(crate) fn kind_for_status(status: u16) -> ErrorKind {
    match status {
        400 | 413 | 422 => ErrorKind::InvalidRequest,
        401 => ErrorKind::Auth,
        402 => ErrorKind::QuotaExhausted,
        403 => ErrorKind::PermissionDenied,
        404 => ErrorKind::NotFound,
        408 | 504 => ErrorKind::Timeout,
        409 => ErrorKind::Server,
        429 => ErrorKind::RateLimited,
        503 | 529 => ErrorKind::Overloaded,
        499 => ErrorKind::Cancelled,
        s if s >= 500 => ErrorKind::Server,
        _ => ErrorKind::InvalidRequest,
    }
}

/// An error for a body that is not the provider's JSON error shape (an HTML gateway page, say).
pub(crate) fn non_json_error(status: u16, body: &[u8]) -> Error {
    let what: Cow<'_, str> = if body.is_empty() {
        "empty error response".into()
    } else if looks_like_html(body) {
        "non-JSON error page (HTML) from a proxy or gateway".into()
    } else {
        "non-JSON error response".into()
    };
    Error::new(kind_for_status(status), what.into_owned())
}

fn looks_like_html(body: &[u8]) -> bool {
    let head = &body[..body.len().min(256)];
    let s = String::from_utf8_lossy(head).to_ascii_lowercase();
    s.contains("<html") || s.contains("<!doctype") || s.contains("<head") || s.contains("<body")
}

#[cfg(any(
    feature = "openai",
    feature = "anthropic",
    feature = "cohere",
    feature = "gemini"
))]
/// The facts a JSON error body carries, read by a provider's `facts` function and turned into an
/// [`Error`] by [`facts_to_error`]. Each provider keeps its own `kind_of` table over them.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct ErrorFacts {
    /// The human-readable message.
    pub(crate) message: Option<String>,
    /// The error's type (`"invalid_request_error"`, `"rate_limited"`, …).
    pub(crate) kind: Option<String>,
    /// The error's code (`"context_length_exceeded"`, `"1300"`, …).
    pub(crate) code: Option<String>,
    /// The status the body itself reports, for in-band errors (Mistral's `raw_status_code`).
    pub(crate) raw_status: Option<u16>,
    /// The request id the body carries.
    pub(crate) request_id: Option<String>,
}

#[cfg(feature = "openai")]
/// A JSON string or number as text. An empty string is no value: `"code": ""` says nothing, and
/// keeping it would hide the `type` that [`facts_to_error`] falls back to.
pub(crate) fn as_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(any(
    feature = "openai",
    feature = "anthropic",
    feature = "cohere",
    feature = "gemini"
))]
/// The error of `kind` the facts describe: the shortened message (or a fixed text without one),
/// the code (or else the type) as [`Error::code`], and the request id.
pub(crate) fn facts_to_error(kind: ErrorKind, f: ErrorFacts) -> Error {
    let message = f
        .message
        .as_deref()
        .filter(|m| !m.is_empty())
        .map(short_message)
        .unwrap_or_else(|| "the provider returned an error without a message".into());
    Error::new(kind, message)
        .with_code(f.code.or(f.kind))
        .with_request_id(f.request_id)
}

/// Whether a message talks about the context window being exceeded.
pub(crate) fn mentions_context_window(msg: &str) -> bool {
    let m = msg.to_ascii_lowercase();
    m.contains("context length")
        || m.contains("context window")
        || m.contains("maximum context")
        || m.contains("prompt is too long")
        || m.contains("too many tokens")
}

/// Whether a message says a content filter blocked the request or the output.
pub(crate) fn mentions_content_filter(msg: &str) -> bool {
    let m = msg.to_ascii_lowercase();
    m.contains("content filter")
        || m.contains("content management policy")
        || m.contains("content policy")
        || m.contains("safety system")
}

/// How a request asks for structured output, resolved for a provider.
pub(crate) enum OutputPlan<'a> {
    None,
    Schema(&'a OutputFormat),
    Tool(&'a OutputFormat),
}

/// The description of the tool that structured output forces.
const OUTPUT_TOOL_DESCRIPTION: &str = "Respond with the structured output.";

/// A tool as a request declares it, whether one of the call's tools or the output tool.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ToolDecl<'a> {
    pub(crate) name: &'a str,
    pub(crate) description: &'a str,
    pub(crate) schema: &'a Value,
    #[cfg_attr(
        not(any(
            feature = "openai",
            feature = "anthropic",
            feature = "cohere",
            feature = "bedrock"
        )),
        expect(dead_code, reason = "Gemini declares no strictness")
    )]
    pub(crate) strict: bool,
}

impl<'a> OutputPlan<'a> {
    /// The call's tools, then the output tool when structured output forces a tool: what a
    /// provider declares, each mapped to its own wire type.
    pub(crate) fn tools(
        &self,
        req: &'a ChatRequest,
    ) -> impl Iterator<Item = ToolDecl<'a>> + use<'a> {
        let output = match self {
            OutputPlan::Tool(f) => Some(ToolDecl {
                name: &f.name,
                description: OUTPUT_TOOL_DESCRIPTION,
                schema: &f.schema,
                strict: f.strict,
            }),
            _ => None,
        };
        req.tools
            .iter()
            .map(|t| ToolDecl {
                name: t.name(),
                description: t.description(),
                schema: t.parameters(),
                strict: t.is_strict(),
            })
            .chain(output)
    }
}

/// Resolves `Auto` to the provider's preferred mode.
pub(crate) fn output_plan(req: &ChatRequest, auto: OutputMode) -> OutputPlan<'_> {
    match &req.output {
        None => OutputPlan::None,
        Some(f) => match if f.mode == OutputMode::Auto {
            auto
        } else {
            f.mode
        } {
            OutputMode::Tool => OutputPlan::Tool(f),
            _ => OutputPlan::Schema(f),
        },
    }
}

#[cfg(any(
    feature = "openai",
    feature = "anthropic",
    feature = "cohere",
    feature = "gemini"
))]
/// The effective tool choice: forced to the output tool when structured output uses tool forcing.
pub(crate) fn effective_tool_choice<'a>(
    req: &'a ChatRequest,
    plan: &OutputPlan<'a>,
) -> Cow<'a, ToolChoice> {
    match plan {
        OutputPlan::Tool(f) => Cow::Owned(ToolChoice::Tool(f.name.clone())),
        _ => Cow::Borrowed(&req.tool_choice),
    }
}

/// Checks the tool choice names a tool that exists.
pub(crate) fn check_tool_choice(req: &ChatRequest, plan: &OutputPlan<'_>) -> Result<(), Error> {
    if let ToolChoice::Tool(name) = &req.tool_choice {
        let known = req.tools.iter().any(|t| t.name() == name)
            || matches!(plan, OutputPlan::Tool(f) if &f.name == name);
        if !known {
            return Err(Error::config(format!(
                "tool_choice names tool `{name}`, which is not among the call's tools"
            )));
        }
    }
    if matches!(req.tool_choice, ToolChoice::Required) && req.tools.is_empty() {
        return Err(Error::config(
            "tool_choice is `required` but the call has no tools",
        ));
    }
    Ok(())
}

#[cfg(any(
    feature = "openai",
    feature = "anthropic",
    feature = "cohere",
    feature = "gemini"
))]
/// Where a provider finds its configuration in the environment, and the variables its
/// configuration errors name. The first variable set (and not blank) wins; the first of each list
/// is the one an error names.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EnvSpec {
    /// The provider's name, for errors.
    pub(crate) provider: &'static str,
    /// The variables holding the base URL.
    pub(crate) base_vars: &'static [&'static str],
    /// The base URL when no variable is set.
    pub(crate) default_base: Option<&'static str>,
    /// The variables holding the API key.
    pub(crate) key_vars: &'static [&'static str],
}

#[cfg(any(
    feature = "openai",
    feature = "anthropic",
    feature = "cohere",
    feature = "gemini"
))]
impl EnvSpec {
    /// The base URL from the environment, or the default.
    pub(crate) fn base_url(&self) -> Option<String> {
        first_env(self.base_vars).or_else(|| self.default_base.map(str::to_string))
    }

    /// The API key from the environment.
    pub(crate) fn api_key(&self) -> Option<ApiKey> {
        first_env(self.key_vars).map(ApiKey::new)
    }

    /// A client configuration with the base URL and the API key from the environment.
    #[cfg(any(feature = "gemini", feature = "cohere", feature = "mistral"))]
    pub(crate) fn client(&self) -> crate::client::ClientConfig {
        crate::client::ClientConfig {
            base_url: self.base_url(),
            api_key: self.api_key(),
            ..crate::client::ClientConfig::default()
        }
    }

    fn base_var(&self) -> &'static str {
        self.base_vars
            .first()
            .copied()
            .unwrap_or("the base URL variable")
    }

    fn key_var(&self) -> &'static str {
        self.key_vars
            .first()
            .copied()
            .unwrap_or("the API key variable")
    }

    /// The base URL, or a configuration error naming the variable that should hold it.
    pub(crate) fn require_base<'a>(&self, req: &'a ChatRequest) -> Result<&'a str, Error> {
        req.client.base_url.as_deref().ok_or_else(|| {
            Error::config(format!(
                "no base URL for {}: set {} or configure one with Call::base_url",
                self.provider,
                self.base_var()
            ))
            .with_provider(self.provider)
        })
    }

    /// The API key, or a configuration error naming the variable that should hold it.
    pub(crate) fn require_key<'a>(&self, req: &'a ChatRequest) -> Result<&'a str, Error> {
        req.client
            .api_key
            .as_ref()
            .map(|k| k.expose())
            .ok_or_else(|| {
                Error::config(format!(
                    "no API key for {}: set {} or configure one with Call::api_key",
                    self.provider,
                    self.key_var()
                ))
                .with_provider(self.provider)
            })
    }

    /// Sends the API key in `header` (marked sensitive). Without a key it is a configuration
    /// error naming the key variable, unless the call configured one of the `own` headers itself.
    #[cfg(any(feature = "anthropic", feature = "gemini", feature = "azure-inference"))]
    pub(crate) fn key_header(
        &self,
        http: &mut crate::transport::HttpRequest,
        req: &ChatRequest,
        header: &str,
        own: &[&str],
    ) -> Result<(), Error> {
        match &req.client.api_key {
            Some(k) => http.header(header, k.expose(), true),
            None if own.iter().any(|h| has_client_header(req, h)) => Ok(()),
            None => self.require_key(req).map(|_| ()),
        }
    }

    /// Adds `Authorization: Bearer <key>` (marked sensitive). Without a key it is a configuration
    /// error naming the key variable, unless the call configured its own `authorization` header.
    #[cfg(any(feature = "mistral", feature = "cohere"))]
    pub(crate) fn bearer_auth(
        &self,
        http: &mut crate::transport::HttpRequest,
        req: &ChatRequest,
    ) -> Result<(), Error> {
        match &req.client.api_key {
            Some(k) => http.bearer(k),
            None if has_client_header(req, "authorization") => Ok(()),
            None => self.require_key(req).map(|_| ()),
        }
    }
}

#[cfg(any(
    feature = "openai",
    feature = "anthropic",
    feature = "cohere",
    feature = "gemini"
))]
/// The first of `vars` that is set and not blank.
fn first_env(vars: &[&str]) -> Option<String> {
    vars.iter().find_map(|v| env(v))
}

#[cfg(any(
    feature = "openai",
    feature = "anthropic",
    feature = "cohere",
    feature = "gemini"
))]
/// Whether the call configured its own header `name` (say, an `authorization` token).
pub(crate) fn has_client_header(req: &ChatRequest, name: &str) -> bool {
    // Most calls set no header: no name to parse then, on every request.
    !req.client.headers.is_empty() && req.client.headers.contains_key(name)
}

/// The OpenAI chat body in its plain form — `max_tokens`, no `stream_options` — for providers that
/// speak a subset of OpenAI Chat Completions (Mistral, Azure AI Inference). Messages, tools, tool
/// choice, `response_format` and `req.extra` are built exactly as for OpenAI; no member of the
/// OpenAI family lends its flavour.
#[cfg(any(feature = "mistral", feature = "azure-inference"))]
pub(crate) fn openai_subset_body(
    req: &ChatRequest,
    stream: bool,
) -> Result<crate::providers::openai::wire::ChatCompletionRequest<'_>, Error> {
    use crate::providers::openai::{BodyOptions, request_body};
    request_body(BodyOptions::PLAIN, req, stream)
}

/// Test helpers shared by the provider unit tests.
#[cfg(all(
    test,
    any(feature = "cohere", feature = "mistral", feature = "azure-inference")
))]
pub(crate) mod testing {
    use std::collections::VecDeque;

    use crate::error::Error;
    use crate::provider::ProviderEvent;
    use crate::transport::{BodyDecoder, SseBody, SseHandler};

    /// Feeds `body` through an [`SseBody`] around `handler` in chunks of `chunk` bytes, then ends
    /// it: the events produced and the first failure (from a chunk or from the end), if any.
    pub(crate) fn decode_sse(
        handler: Box<dyn SseHandler>,
        body: &[u8],
        chunk: usize,
    ) -> (Vec<ProviderEvent>, Result<(), Error>) {
        let mut decoder = SseBody::new(handler);
        let mut out = VecDeque::new();
        for piece in body.chunks(chunk.max(1)) {
            if let Err(e) = decoder.push(piece, &mut out) {
                return (out.into(), Err(e));
            }
            if decoder.finished() {
                break;
            }
        }
        let end = decoder.finish(&mut out);
        (out.into(), end)
    }
}

#[cfg(all(test, feature = "openai"))]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_empty_string_is_no_value() {
        assert_eq!(as_string(&json!("")), None);
        assert_eq!(
            as_string(&json!("rate_limited")),
            Some("rate_limited".into())
        );
        assert_eq!(as_string(&json!(1300)), Some("1300".into()));
        assert_eq!(as_string(&json!(null)), None);
        assert_eq!(as_string(&json!({"a": 1})), None);
    }

    #[test]
    fn facts_to_error_falls_back_to_the_type_and_a_fixed_message() {
        let e = facts_to_error(
            ErrorKind::RateLimited,
            ErrorFacts {
                message: Some(String::new()),
                kind: Some("rate_limited".into()),
                request_id: Some("req-1".into()),
                ..ErrorFacts::default()
            },
        );
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        assert_eq!(e.code(), Some("rate_limited"));
        assert_eq!(e.request_id(), Some("req-1"));
        assert!(e.to_string().contains("without a message"), "{e}");
    }

    #[cfg(feature = "openai")]
    #[test]
    fn an_empty_code_gives_way_to_the_type_in_openai_and_mistral_alike() {
        let body = json!({"error": {"message": "slow down", "type": "requests", "code": ""}});
        let openai = crate::providers::openai::error::classify(
            429,
            &http::HeaderMap::new(),
            body.to_string().as_bytes(),
        );
        assert_eq!(openai.code(), Some("requests"));
        let via_value = crate::providers::openai::error::classify_value(429, &body);
        assert_eq!(via_value.code(), Some("requests"));
        #[cfg(feature = "mistral")]
        {
            let mistral = crate::providers::mistral::error::classify_value(429, &body);
            assert_eq!(mistral.code(), Some("requests"));
        }
    }

    #[test]
    fn the_output_tool_comes_after_the_calls_tools() {
        let tool = crate::tool::Tool::from_schema(
            "get_weather",
            "Get the weather",
            json!({"type": "object"}),
        )
        .unwrap();
        let mut req = crate::llm::call(("openai", "gpt-4o-mini"))
            .unwrap()
            .tool(tool)
            .request("hi");
        let names = |req: &ChatRequest| -> Vec<(String, String)> {
            let plan = output_plan(req, OutputMode::JsonSchema);
            plan.tools(req)
                .map(|t| (t.name.to_string(), t.description.to_string()))
                .collect()
        };
        assert_eq!(
            names(&req),
            [("get_weather".into(), "Get the weather".into())]
        );
        let mut format = OutputFormat::new("Book", json!({"type": "object"}));
        format.mode = OutputMode::Tool;
        req.output = Some(format.clone());
        assert_eq!(
            names(&req),
            [
                ("get_weather".into(), "Get the weather".into()),
                ("Book".into(), OUTPUT_TOOL_DESCRIPTION.into())
            ]
        );
        // A schema plan declares no tool of its own.
        format.mode = OutputMode::JsonSchema;
        req.output = Some(format);
        assert_eq!(names(&req).len(), 1);
    }

    #[test]
    fn env_spec_errors_name_the_first_variable_and_the_provider() {
        const SPEC: EnvSpec = EnvSpec {
            provider: "example",
            base_vars: &["STEADFAST_TEST_UNSET_BASE", "STEADFAST_TEST_UNSET_BASE_2"],
            default_base: Some("https://example.invalid"),
            key_vars: &["STEADFAST_TEST_UNSET_KEY"],
        };
        assert_eq!(SPEC.base_url().as_deref(), Some("https://example.invalid"));
        assert!(SPEC.api_key().is_none());
        let mut req = crate::llm::call(("openai", "m")).unwrap().request("hi");
        let client = std::sync::Arc::make_mut(&mut req.client);
        client.base_url = None;
        client.api_key = None;
        let e = SPEC.require_base(&req).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(
            e.message().contains("set STEADFAST_TEST_UNSET_BASE or"),
            "{e}"
        );
        assert!(e.message().contains("example"), "{e}");
        let e = SPEC.require_key(&req).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(e.message().contains("STEADFAST_TEST_UNSET_KEY"), "{e}");
    }
}
