//! [`Call`]: a provider, a model, parameters, tools and client settings — everything needed to send
//! a prompt. Cheap to clone; `with_*` methods derive variants (this is how fallback switches
//! provider or model, with no global state).

use std::fmt;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::client::{ApiKey, ClientConfig, Timeouts};
use crate::error::Error;
use crate::output::{OutputFormat, OutputMode};
use crate::prompt::Prompt;
use crate::provider::{BoxFuture, ChatRequest, Params, Provider};
use crate::response::Response;
use crate::stream::Stream;
pub(crate) use crate::tool::schema_check;
use crate::tool::{Tool, ToolChoice, schema_of};

/// Everything needed to send a prompt. See the [module docs](self).
///
/// ```no_run
/// # async fn run() -> Result<(), steadfast::Error> {
/// use steadfast::llm;
///
/// let call = llm::call("openai:gpt-4o-mini")?.temperature(0.2).max_tokens(200);
/// let response = call.send("What is the meaning of life?").await?;
/// println!("{}", response.text());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Call {
    provider: Arc<dyn Provider>,
    /// Everything else, behind one reference count: cloning a call is two counter increments.
    s: Arc<Settings>,
}

/// A call's settings. The builders copy on write.
#[derive(Clone)]
struct Settings {
    /// The provider's name, shared by every attempt summary and error of this call.
    provider_name: Arc<str>,
    model: Arc<str>,
    // Shared with every request built from this call.
    params: Arc<Params>,
    tools: Arc<[Tool]>,
    tool_choice: ToolChoice,
    output_mode: OutputMode,
    extra: Arc<Map<String, Value>>,
    client: Arc<ClientConfig>,
}

impl fmt::Debug for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call")
            .field("provider", &self.provider.name())
            .field("model", &self.s.model)
            .field("params", &self.s.params)
            .field("tools", &self.s.tools)
            .field("tool_choice", &self.s.tool_choice)
            .field("output_mode", &self.s.output_mode)
            .field("client", &self.s.client)
            .finish_non_exhaustive()
    }
}

impl Call {
    /// The settings, for a builder to change (copied first when shared).
    fn settings(&mut self) -> &mut Settings {
        Arc::make_mut(&mut self.s)
    }

    /// A call to `model` through `provider`, with client settings from the provider's environment
    /// variables.
    pub fn new(provider: Arc<dyn Provider>, model: impl Into<String>) -> Self {
        let client = provider.client_from_env();
        Call {
            s: Arc::new(Settings {
                provider_name: Arc::from(provider.name()),
                model: Arc::from(model.into()),
                params: Arc::default(),
                tools: crate::response::no_tools(),
                tool_choice: ToolChoice::Auto,
                output_mode: OutputMode::Auto,
                extra: Arc::default(),
                client: Arc::new(client),
            }),
            provider,
        }
    }

    // ---- identity ----

    /// The provider's name.
    pub fn provider_name(&self) -> &str {
        &self.s.provider_name
    }

    /// The provider's name, shared.
    pub(crate) fn provider_name_arc(&self) -> &Arc<str> {
        &self.s.provider_name
    }

    /// The model, shared.
    pub(crate) fn model_arc(&self) -> &Arc<str> {
        &self.s.model
    }

    /// The provider.
    pub fn provider(&self) -> &Arc<dyn Provider> {
        &self.provider
    }

    /// The model.
    pub fn model(&self) -> &str {
        &self.s.model
    }

    /// `provider:model`.
    pub fn target(&self) -> String {
        format!("{}:{}", self.provider.name(), self.s.model)
    }

    /// The common parameters.
    pub fn params(&self) -> &Params {
        &self.s.params
    }

    /// The client settings.
    pub fn client(&self) -> &ClientConfig {
        &self.s.client
    }

    /// The tools.
    pub fn tools(&self) -> &[Tool] {
        &self.s.tools
    }

    /// The tools, shared.
    pub(crate) fn tools_arc(&self) -> &Arc<[Tool]> {
        &self.s.tools
    }

    /// Whether `other` would send the same request to the same place: same provider, model, base
    /// URL, parameters, tools and extra body fields.
    pub fn same_request_target(&self, other: &Call) -> bool {
        self.provider.name() == other.provider.name()
            && self.s.model == other.s.model
            && self.s.client.base_url == other.s.client.base_url
            && self.region() == other.region()
            && self.s.params == other.s.params
            && self.s.tools == other.s.tools
            && self.s.tool_choice == other.s.tool_choice
            && self.s.extra == other.s.extra
    }

    /// The AWS region, which places a Bedrock call without a base URL.
    fn region(&self) -> Option<&str> {
        #[cfg(feature = "bedrock")]
        return self.s.client.aws.as_ref().and_then(|a| a.region.as_deref());
        #[cfg(not(feature = "bedrock"))]
        None
    }

    pub(crate) fn output_mode_setting(&self) -> OutputMode {
        self.s.output_mode
    }

    /// The same call with another model of the same provider.
    #[must_use]
    pub fn with_model(mut self, model: impl Into<String>) -> Self {
        self.settings().model = Arc::from(model.into());
        self
    }

    /// The same call sent to another `provider:model`: prompt-independent settings carry over
    /// (common parameters, tools, tool choice, output mode); provider-specific body fields and client
    /// settings do not — the new provider's come from its environment variables.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) for an unknown provider or a malformed target.
    pub fn with_target(&self, target: impl crate::llm::IntoTarget) -> Result<Call, Error> {
        let (provider, model) = target.into_target()?;
        let provider = crate::llm::provider(&provider)?;
        let same = provider.name() == self.provider.name();
        let mut next = self.clone();
        next.settings().client = if same {
            Arc::clone(&self.s.client)
        } else {
            Arc::new(provider.client_from_env())
        };
        if !same {
            next.settings().extra = Arc::default();
        }
        next.settings().provider_name = Arc::from(provider.name());
        next.provider = provider;
        next.settings().model = Arc::from(model);
        Ok(next)
    }

    // ---- parameters ----

    /// Sets the sampling temperature.
    #[must_use]
    pub fn temperature(mut self, t: f64) -> Self {
        Arc::make_mut(&mut self.settings().params).temperature = Some(t);
        self
    }

    /// Sets the maximum number of output tokens.
    #[must_use]
    pub fn max_tokens(mut self, n: u32) -> Self {
        Arc::make_mut(&mut self.settings().params).max_tokens = Some(n);
        self
    }

    /// Sets nucleus sampling.
    #[must_use]
    pub fn top_p(mut self, p: f64) -> Self {
        Arc::make_mut(&mut self.settings().params).top_p = Some(p);
        self
    }

    /// Sets stop sequences.
    #[must_use]
    pub fn stop<I, S>(mut self, stop: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Arc::make_mut(&mut self.settings().params).stop =
            stop.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the sampling seed.
    #[must_use]
    pub fn seed(mut self, seed: i64) -> Self {
        Arc::make_mut(&mut self.settings().params).seed = Some(seed);
        self
    }

    /// Sets the frequency penalty.
    #[must_use]
    pub fn frequency_penalty(mut self, p: f64) -> Self {
        Arc::make_mut(&mut self.settings().params).frequency_penalty = Some(p);
        self
    }

    /// Sets the presence penalty.
    #[must_use]
    pub fn presence_penalty(mut self, p: f64) -> Self {
        Arc::make_mut(&mut self.settings().params).presence_penalty = Some(p);
        self
    }

    /// Replaces all common parameters.
    #[must_use]
    pub fn params_from(mut self, params: Params) -> Self {
        self.settings().params = Arc::new(params);
        self
    }

    /// Adds a provider-specific body field, sent as is (and dropped when falling back to another
    /// provider).
    #[must_use]
    pub fn extra_body(mut self, key: impl Into<String>, value: Value) -> Self {
        Arc::make_mut(&mut self.settings().extra).insert(key.into(), value);
        self
    }

    // ---- tools and output ----

    /// Adds a tool.
    #[must_use]
    pub fn tool(mut self, tool: Tool) -> Self {
        let mut tools = self.s.tools.to_vec();
        tools.push(tool);
        self.settings().tools = Arc::from(tools);
        self
    }

    /// Adds several tools.
    #[must_use]
    pub fn tools_from(mut self, tools: impl IntoIterator<Item = Tool>) -> Self {
        let mut all = self.s.tools.to_vec();
        all.extend(tools);
        self.settings().tools = Arc::from(all);
        self
    }

    /// Sets how the model may use the tools.
    #[must_use]
    pub fn tool_choice(mut self, choice: ToolChoice) -> Self {
        self.settings().tool_choice = choice;
        self
    }

    /// Sets how structured output is requested by [`Call::extract`].
    #[must_use]
    pub fn output_mode(mut self, mode: OutputMode) -> Self {
        self.settings().output_mode = mode;
        self
    }

    // ---- client ----

    /// Sets the base URL (in the official SDK's convention for the provider).
    #[must_use]
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.settings().client).base_url = Some(url.into());
        self
    }

    /// Sets the API key.
    #[must_use]
    pub fn api_key(mut self, key: impl Into<ApiKey>) -> Self {
        Arc::make_mut(&mut self.settings().client).api_key = Some(key.into());
        self
    }

    /// Sets the API version (Azure `api-version`, Anthropic `anthropic-version`).
    #[must_use]
    pub fn api_version(mut self, version: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.settings().client).api_version = Some(version.into());
        self
    }

    /// Sets the timeouts.
    #[must_use]
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        Arc::make_mut(&mut self.settings().client).timeouts = timeouts;
        self
    }

    /// Sets the total timeout of one attempt.
    #[must_use]
    pub fn timeout(mut self, total: Duration) -> Self {
        Arc::make_mut(&mut self.settings().client).timeouts.total = Some(total);
        self
    }

    /// Adds a header sent with every request.
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.settings().client)
            .headers
            .push((name.into(), value.into()));
        self
    }

    /// Replaces the client settings.
    #[must_use]
    pub fn client_from(mut self, client: ClientConfig) -> Self {
        self.settings().client = Arc::new(client);
        self
    }

    // ---- sending ----

    /// The provider-independent request this call would send for `prompt`.
    pub fn request(&self, prompt: impl Into<Prompt>) -> ChatRequest {
        ChatRequest {
            model: Arc::clone(&self.s.model),
            messages: prompt.into().into_messages(),
            params: Arc::clone(&self.s.params),
            tools: Arc::clone(&self.s.tools),
            tool_choice: self.s.tool_choice.clone(),
            output: None,
            extra: Arc::clone(&self.s.extra),
            client: Arc::clone(&self.s.client),
        }
    }

    /// Sends `prompt` and waits for the whole response.
    ///
    /// # Errors
    /// Any [`Error`]: the provider's classified HTTP error, a transport failure, a decode error, or
    /// a configuration error (missing key, empty prompt).
    pub fn send<P: Into<Prompt>>(
        &self,
        prompt: P,
    ) -> impl Future<Output = Result<Response, Error>> + Send + 'static + use<P> {
        // Checked now and the provider's (boxed) future made now, so the returned future is a
        // few words however large the request: it is moved around by every caller.
        let sending = self
            .checked_request(prompt)
            .map(|request| self.provider.send(request));
        async move { sending?.await }
    }

    /// The request for `prompt`, refused (with this call's context) when the prompt cannot be
    /// sent.
    fn checked_request(&self, prompt: impl Into<Prompt>) -> Result<ChatRequest, Error> {
        let request = self.request(prompt);
        crate::prompt::validate_messages(&request.messages)
            .map_err(|e| e.in_context(&self.s.provider_name, &self.s.model))?;
        Ok(request)
    }

    /// The URL and body [`send`](Call::send) would post for `prompt`, without sending anything —
    /// for debugging, logging or snapshot tests. Headers are left out: they carry the key.
    ///
    /// ```
    /// # fn run() -> Result<(), steadfast::Error> {
    /// let call = steadfast::llm::call("openai:gpt-4o-mini")?
    ///     .base_url("http://127.0.0.1:9/v1")
    ///     .api_key("sk-example")
    ///     .temperature(0.2);
    /// let request = call.preview("Hello")?;
    /// assert_eq!(request.url, "http://127.0.0.1:9/v1/chat/completions");
    /// let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    /// assert_eq!(body["temperature"], 0.2);
    /// # Ok(()) }
    /// # run().unwrap();
    /// ```
    ///
    /// # Errors
    /// What `send` would fail with before any I/O (an empty prompt, a missing key or base URL, an
    /// unsupported parameter), or [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) for a
    /// provider without an [`HttpCodec`](crate::HttpCodec).
    pub fn preview(&self, prompt: impl Into<Prompt>) -> Result<crate::EncodedRequest, Error> {
        let request = self.checked_request(prompt)?;
        self.codec()?.encode(&request, false)
    }

    /// Reads a complete response body — a recorded one, say — as this call's provider reads the
    /// answer to a `send`, for offline tests. The response has no attempt history.
    ///
    /// # Errors
    /// A decode error, the provider's error when the body is an error object, or
    /// [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) for a provider without an
    /// [`HttpCodec`](crate::HttpCodec).
    pub fn decode_response(&self, body: &[u8]) -> Result<Response, Error> {
        self.codec()?.decode(
            &self.request(Prompt::from(Vec::<crate::Message>::new())),
            body,
        )
    }

    fn codec(&self) -> Result<&dyn crate::HttpCodec, Error> {
        self.provider.http_codec().ok_or_else(|| {
            Error::new(
                crate::ErrorKind::Unsupported,
                format!(
                    "the provider `{}` does not expose its HTTP encoding",
                    self.s.provider_name
                ),
            )
        })
    }

    /// Streams the answer to `prompt`. No request is sent until the stream is first polled.
    pub fn stream(&self, prompt: impl Into<Prompt>) -> Stream {
        Stream::new(Arc::clone(&self.provider), self.request(prompt))
    }

    /// Asks for structured output of type `T` and parses it; `.validate(..)` adds a check.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), steadfast::Error> {
    /// #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
    /// struct Book { title: String, author: String }
    ///
    /// let call = steadfast::llm::call("openai:gpt-4o-mini")?;
    /// let book: Book = call
    ///     .extract::<Book>("The Name of the Wind by Patrick Rothfuss")
    ///     .validate(|b| if b.author == b.author.to_uppercase() { Ok(()) } else { Err("author must be uppercase") })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn extract<T>(&self, prompt: impl Into<Prompt>) -> Extract<T>
    where
        T: DeserializeOwned + JsonSchema + Send + 'static,
    {
        let name = T::schema_name();
        let mut format = OutputFormat::new(&name, schema_of::<T>());
        format.mode = self.s.output_mode;
        let mut request = self.request(prompt);
        request.output = Some(format);
        Extract {
            provider: Arc::clone(&self.provider),
            request,
            validator: None,
            _t: PhantomData,
        }
    }
}

impl Call {
    /// Asks for structured output matching a JSON Schema given as a value (when there is no Rust
    /// type for it), and checks the output against the schema.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) when `schema` is not a valid JSON Schema.
    pub fn extract_json(
        &self,
        prompt: impl Into<Prompt>,
        name: &str,
        schema: Value,
    ) -> Result<Extract<Value>, Error> {
        let check = schema_check(&schema)?;
        let mut format = OutputFormat::new(name, schema);
        format.mode = self.s.output_mode;
        let mut request = self.request(prompt);
        request.output = Some(format);
        Ok(Extract {
            provider: Arc::clone(&self.provider),
            request,
            validator: Some(Arc::new(check)),
            _t: PhantomData,
        })
    }
}

pub(crate) type ValidatorFn<T> = dyn Fn(&T) -> Result<(), String> + Send + Sync;
type Validator<T> = Arc<ValidatorFn<T>>;

/// `previous` (if any), then `f`, as one validator.
pub(crate) fn chain_validator<T, F, E>(previous: Option<Validator<T>>, f: F) -> Validator<T>
where
    T: 'static,
    F: Fn(&T) -> Result<(), E> + Send + Sync + 'static,
    E: fmt::Display,
{
    Arc::new(move |t: &T| {
        if let Some(p) = &previous {
            p(t)?;
        }
        f(t).map_err(|e| e.to_string())
    })
}

/// A pending structured-output call: await it for `T`, or use [`Extract::with_response`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Extract<T> {
    provider: Arc<dyn Provider>,
    request: ChatRequest,
    validator: Option<Validator<T>>,
    _t: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for Extract<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Extract")
            .field("provider", &self.provider.name())
            .field("model", &self.request.model)
            .field("validated", &self.validator.is_some())
            .finish_non_exhaustive()
    }
}

impl<T> Extract<T>
where
    T: DeserializeOwned + Send + 'static,
{
    /// Adds a validator: its `Err` message becomes a [`Validation`](crate::ErrorKind::Validation) error
    /// carrying the raw output.
    pub fn validate<F, E>(mut self, f: F) -> Self
    where
        F: Fn(&T) -> Result<(), E> + Send + Sync + 'static,
        E: fmt::Display,
    {
        self.validator = Some(chain_validator(self.validator.take(), f));
        self
    }

    /// Sends the request and returns the value together with the response it came from.
    ///
    /// # Errors
    /// Any error of [`Call::send`], or [`ErrorKind::Validation`](crate::ErrorKind::Validation) when the output is a refusal, is
    /// not valid JSON for `T`, or fails the validator.
    pub async fn with_response(self) -> Result<(T, Response), Error> {
        let Extract {
            provider,
            request,
            validator,
            ..
        } = self;
        crate::prompt::validate_messages(&request.messages)
            .map_err(|e| e.in_context(provider.name(), &request.model))?;
        let format_name = request
            .output
            .as_ref()
            .map(|f| f.name.clone())
            .unwrap_or_default();
        let model = request.model.clone();
        let response = provider.send(request).await?;
        let value = parse_output::<T>(&response, &format_name, validator.as_deref())
            .map_err(|e| e.in_context(provider.name(), &model))?;
        Ok((value, response))
    }
}

impl<T> IntoFuture for Extract<T>
where
    T: DeserializeOwned + Send + 'static,
{
    type Output = Result<T, Error>;
    type IntoFuture = BoxFuture<Result<T, Error>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move { self.with_response().await.map(|(t, _)| t) })
    }
}

/// Reads structured output from a response: the arguments of the output tool if the model called
/// it, otherwise the text (a Markdown code fence around the JSON is tolerated).
pub(crate) fn parse_output<T: DeserializeOwned>(
    response: &Response,
    format_name: &str,
    validator: Option<&ValidatorFn<T>>,
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
    let fail = |msg: String| match tool_call {
        Some(call) => Error::tool_validation(call, msg),
        None => Error::validation(msg, raw),
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
mod tests {
    use super::*;
    use crate::ErrorKind;
    use crate::message::ToolCall;
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
