//! [`Call`]: a provider, a model, parameters, tools and client settings — everything needed to send
//! a prompt. Cheap to clone (two reference counts).
//!
//! # Setters
//!
//! Every setter consumes the call and returns the changed one (`#[must_use]`); one rule names
//! them: a bare name sets one parameter (`temperature`, `max_tokens`, `tool`, `base_url`,
//! `api_key`, `header`, …), and `with_*` replaces a whole part that also has a getter of the bare
//! name (`with_model`, `with_params`, `with_tools`, `with_client`; `with_target` derives the call
//! for another provider). Fallback derives its backups this way: a call carries everything it
//! sends, and no thread-local or global setting changes it. (The provider registry that
//! [`llm::call`](crate::llm::call) and [`Call::with_target`] read maps names to providers; it holds
//! no call settings.)

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::client::{ApiKey, ClientConfig, Timeouts};
use crate::error::Error;
use crate::output::OutputMode;
use crate::prompt::Prompt;
use crate::provider::{BoxFuture, ChatRequest, Params, Provider};
use crate::resilient::{Chain, Extract, PromptSource, Resilient};
use crate::response::Response;
use crate::stream::{AttemptStream, ResponseStream};
use crate::tool::{Tool, ToolChoice};
use steadfast_retry::Retry;

/// A plain send's telemetry operation.
const SEND: crate::telemetry::Operation = crate::telemetry::Operation {
    stream: false,
    json: false,
};

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
    /// Where the measurements of this call's operations go, if anywhere.
    recorder: Option<Arc<dyn crate::telemetry::Recorder>>,
    /// The quota every attempt is admitted by, if any.
    quota: Option<crate::quota::Limiter>,
    /// The base URL's host and port, for telemetry: worked out once, forgotten by every setter.
    server: std::sync::OnceLock<Option<(Arc<str>, u16)>>,
}

/// Completes what a provider may leave out of its answer: the error's provider and model, the
/// request's tools (for [`Response::tools`]) and, when the provider recorded no attempt, this one
/// (the built-in providers record their own, with the HTTP status).
fn complete(
    result: Result<Response, Error>,
    s: &Settings,
    started: tokio::time::Instant,
) -> Result<Response, Error> {
    let mut r = result.map_err(|e| e.in_context(&s.provider_name, &s.model))?;
    if r.tools.is_empty() && !s.tools.is_empty() {
        r.tools = Arc::clone(&s.tools);
    }
    if r.attempts.is_empty() {
        r.attempts.push(crate::response::AttemptSummary::success(
            Arc::clone(&s.provider_name),
            Arc::clone(&s.model),
            None,
            started.elapsed(),
        ));
    }
    Ok(r)
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
            .field("recorder", &self.s.recorder.is_some())
            .field("quota", &self.s.quota)
            .finish_non_exhaustive()
    }
}

impl Call {
    /// The settings, for a builder to change (copied first when shared).
    fn settings(&mut self) -> &mut Settings {
        let s = Arc::make_mut(&mut self.s);
        s.server = std::sync::OnceLock::new();
        s
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
                recorder: None,
                quota: None,
                server: std::sync::OnceLock::new(),
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
        [self.provider.name(), ":", &self.s.model].concat()
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

    /// Whether `other` would send the same request to the same place: same provider, model, base
    /// URL, parameters, tools and extra body fields.
    pub fn same_request_target(&self, other: &Call) -> bool {
        self.provider.name() == other.provider.name()
            && self.s.model == other.s.model
            && self.s.client.base_url == other.s.client.base_url
            && self.s.client.provider_settings == other.s.client.provider_settings
            && self.s.params == other.s.params
            && self.s.tools == other.s.tools
            && self.s.tool_choice == other.s.tool_choice
            && self.s.extra == other.s.extra
    }

    /// What the provider settings add to this call's place (Bedrock: the region).
    pub(crate) fn placement(&self) -> String {
        self.s.client.placement()
    }

    pub(crate) fn output_mode_setting(&self) -> OutputMode {
        self.s.output_mode
    }

    /// The same call with another model of the same provider.
    #[must_use]
    pub fn with_model(mut self, model: impl Into<String>) -> Self {
        let s = self.settings();
        s.model = Arc::from(model.into());
        // A quota's scope names the model: another model is another quota.
        s.quota = None;
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
        // A quota's scope names the provider and model: another target is another quota.
        next.settings().quota = None;
        Ok(next)
    }

    /// The same call, every setting kept (parameters, tools, tool choice, output mode, extra
    /// body fields, client settings, [recorder](Call::recorder), [quota](Call::quota)), sent
    /// through `provider` instead: for a wrapper that observes or adapts the requests of the
    /// provider it holds (counting attempts, say). Unlike [`with_target`](Call::with_target),
    /// nothing is reset, so `provider` should send to the same place as the one it replaces;
    /// the call reports `provider`'s [`name`](Provider::name).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::sync::Arc;
    /// use steadfast::quota::{Limiter, Quota, QuotaScope};
    ///
    /// let limiter = Limiter::new(
    ///     QuotaScope::new("openai", "prod-org", "gpt-4o-mini")?,
    ///     Quota::builder().requests_per_minute(60).build()?,
    /// );
    /// let call = steadfast::llm::call("openai:gpt-4o-mini")?.temperature(0.2).quota(limiter);
    /// let same = call.clone().with_provider(Arc::clone(call.provider()));
    /// assert_eq!(same.params().temperature, Some(0.2));
    /// assert!(same.limiter().is_some());
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn with_provider(mut self, provider: Arc<dyn Provider>) -> Self {
        if provider.name() != self.provider.name() {
            self.settings().provider_name = Arc::from(provider.name());
        }
        self.provider = provider;
        self
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
    pub fn with_params(mut self, params: Params) -> Self {
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
    pub fn with_tools(mut self, tools: impl IntoIterator<Item = Tool>) -> Self {
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

    /// Sets a header sent with every request. A credential's name (`authorization`, `api-key`,
    /// any name containing `auth`, `key`, `token`, `secret` or `cookie`) marks the value
    /// sensitive; an invalid name or value fails every request with a
    /// [`Config`](crate::ErrorKind::Config) error. See [`ClientConfig::header`].
    #[must_use]
    pub fn header(mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        let client = Arc::make_mut(&mut self.settings().client);
        *client = std::mem::take(client).header(name, value);
        self
    }

    /// Sets a header whose value is a credential, always marked sensitive: hidden from `Debug`
    /// and scrubbed from errors. See [`ClientConfig::sensitive_header`].
    #[must_use]
    pub fn sensitive_header(mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        let client = Arc::make_mut(&mut self.settings().client);
        *client = std::mem::take(client).sensitive_header(name, value);
        self
    }

    /// Replaces the client settings.
    #[must_use]
    pub fn with_client(mut self, client: ClientConfig) -> Self {
        self.settings().client = Arc::new(client);
        self
    }

    /// Sends the measurements of this call's operations (duration, tokens, attempts, waits, time
    /// to first chunk; see [`telemetry::metrics`](crate::telemetry::metrics)) to `recorder`. Kept
    /// by every call derived from this one (`with_model`, `with_target`, and so the derived
    /// targets of a fallback chain); a backup built as a call of its own carries its own.
    #[must_use]
    pub fn recorder(mut self, recorder: Arc<dyn crate::telemetry::Recorder>) -> Self {
        self.settings().recorder = Some(recorder);
        self
    }

    /// Admits every HTTP attempt of this call through `limiter` first (see
    /// [`steadfast::quota`](crate::quota)): the attempt waits until the quota allows it — within
    /// the limiter's [`max_wait`](crate::quota::Limiter::max_wait) and the retry policy's time
    /// limits — or fails with [`ErrorKind::QuotaRefused`](crate::ErrorKind::QuotaRefused)
    /// without being sent (at once when the limiter is
    /// [fail-fast](crate::quota::Limiter::fail_fast)), which a fallback chain built with
    /// [`resilient::fallback`](crate::resilient::fallback) always catches. The token estimate is
    /// corrected from the response's usage afterwards, and a provider 429 with a hint cools the
    /// whole scope down for every call sharing the limiter's store.
    ///
    /// Each target of a fallback chain uses its own: a call made from this one for another model
    /// or target ([`with_model`](Call::with_model), [`with_target`](Call::with_target)) does not
    /// keep it.
    ///
    /// ```
    /// # fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use steadfast::quota::{Limiter, Quota, QuotaScope};
    ///
    /// let limiter = Limiter::new(
    ///     QuotaScope::new("openai", "prod-org", "gpt-4o-mini")?,
    ///     Quota::builder().requests_per_minute(500).tokens_per_minute(200_000).build()?,
    /// );
    /// let call = steadfast::llm::call("openai:gpt-4o-mini")?.quota(limiter);
    /// # let _ = call; Ok(()) }
    /// ```
    #[must_use]
    pub fn quota(mut self, limiter: crate::quota::Limiter) -> Self {
        self.settings().quota = Some(limiter);
        self
    }

    /// The quota every attempt is admitted by, if any.
    pub fn limiter(&self) -> Option<&crate::quota::Limiter> {
        self.s.quota.as_ref()
    }

    /// The recorder, if any.
    pub(crate) fn recorder_arc(&self) -> Option<&Arc<dyn crate::telemetry::Recorder>> {
        self.s.recorder.as_ref()
    }

    /// The base URL's host and port (`server.address`, `server.port`).
    pub(crate) fn server(&self) -> Option<&(Arc<str>, u16)> {
        self.s
            .server
            .get_or_init(|| {
                let (host, port) = crate::telemetry::host_port(self.s.client.base_url.as_deref()?)?;
                Some((Arc::from(host), port))
            })
            .as_ref()
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
            attempt: 1,
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
        use futures_util::future::Either;
        use tracing::Instrument as _;
        if self.s.quota.is_some() {
            // Admission lives in the retry loop: run there, as one attempt.
            let one = crate::resilient::admission::one_attempt();
            return Either::Left(self.retry(one).send(prompt));
        }
        let obs = crate::telemetry::Observation::start(self, SEND);
        // Checked now and the provider's (boxed) future made now, so the returned future is a
        // few words however large the request: it is moved around by every caller.
        let sending = self.checked_request(prompt).map(|r| {
            crate::telemetry::record_input(&obs.span, &r);
            self.sending(r)
        });
        Either::Right(async move {
            let result = match sending {
                Ok((future, settings, started)) => complete(
                    future.instrument(obs.span.clone()).await,
                    &settings,
                    started,
                ),
                Err(e) => Err(e),
            };
            match &result {
                Ok(r) => obs.succeeded(r),
                Err(e) => obs.failed(e),
            }
            result
        })
    }

    /// One attempt of a retried send (attempt `attempt` of its policy), inside the operation span
    /// of the retry loop: no span of its own.
    pub(crate) fn send_attempt(
        &self,
        prompt: Prompt,
        attempt: u32,
    ) -> impl Future<Output = Result<Response, Error>> + Send + 'static + use<> {
        let sending = self.checked_request(prompt).map(|mut r| {
            r.attempt = attempt;
            if crate::telemetry::captures_content() {
                crate::telemetry::record_input(&tracing::Span::current(), &r);
            }
            self.sending(r)
        });
        async move {
            let (future, settings, started) = sending?;
            complete(future.await, &settings, started)
        }
    }

    /// Sends `request` through the provider and completes what a provider may leave out (see
    /// [`complete`]).
    pub(crate) fn send_request(
        &self,
        request: ChatRequest,
    ) -> impl Future<Output = Result<Response, Error>> + Send + 'static + use<> {
        let (future, settings, started) = self.sending(request);
        async move { complete(future.await, &settings, started) }
    }

    /// The provider's future for `request`, with what [`complete`] needs: one reference count to
    /// the settings and the start time.
    fn sending(
        &self,
        request: ChatRequest,
    ) -> (
        BoxFuture<Result<Response, Error>>,
        Arc<Settings>,
        tokio::time::Instant,
    ) {
        let started = tokio::time::Instant::now();
        (self.provider.send(request), Arc::clone(&self.s), started)
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

    /// Reads a complete streamed body — a recorded SSE or eventstream answer, say — as this
    /// call's provider reads a stream, for offline tests: the events and the response are what
    /// [`stream`](Call::stream) would give for that body. Nothing is sent.
    ///
    /// ```
    /// # async fn run() -> Result<(), steadfast::Error> {
    /// let call = steadfast::llm::call("openai:gpt-4o-mini")?;
    /// let body = concat!(
    ///     "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n",
    ///     "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
    ///     "data: [DONE]\n\n",
    /// );
    /// let response = call.decode_stream(body).into_response().await?;
    /// assert_eq!(response.text(), "Hi");
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(run()).unwrap();
    /// ```
    ///
    /// The stream fails with [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) for a
    /// provider without an [`HttpCodec`](crate::HttpCodec).
    pub fn decode_stream(&self, body: impl Into<bytes::Bytes>) -> ResponseStream {
        let replay = Replay {
            inner: Arc::clone(&self.provider),
            body: body.into(),
        };
        // The prompt is never sent; it only has to pass the attempt's check for one.
        let request = self.request(Prompt::from("(a replayed answer)"));
        ResponseStream::attempt(AttemptStream::new(Arc::new(replay), request))
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
    pub fn stream(&self, prompt: impl Into<Prompt>) -> ResponseStream {
        if self.s.quota.is_some() {
            // Admission lives in the retry loop: run there, as one attempt.
            return self
                .retry(crate::resilient::admission::one_attempt())
                .stream(prompt);
        }
        let obs = crate::telemetry::Observation::start(self, crate::telemetry::STREAM);
        let attempt = self.attempt_stream(prompt, 1, &obs.span);
        ResponseStream::attempt(attempt.observed(Arc::new(obs), true, (0, 0)))
    }

    /// One streamed attempt for `prompt`, attempt `attempt` of its policy, in the operation
    /// `span` (which notes the messages when content is captured).
    pub(crate) fn attempt_stream(
        &self,
        prompt: impl Into<Prompt>,
        attempt: u32,
        span: &tracing::Span,
    ) -> AttemptStream {
        let mut request = self.request(prompt);
        request.attempt = attempt;
        crate::telemetry::record_input(span, &request);
        AttemptStream::new(Arc::clone(&self.provider), request)
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
        Extract::typed(self.clone(), PromptSource::Fixed(prompt.into()))
    }

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
        Extract::json(
            self.clone(),
            PromptSource::Fixed(prompt.into()),
            name,
            schema,
        )
    }

    // ---- resilience ----

    /// This call, retried with `policy`: see [`Resilient`].
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), steadfast::Error> {
    /// let call = steadfast::llm::call("openai:gpt-4o-mini")?;
    /// let response = call.retry(steadfast::resilient::default_policy()).send("Hello").await?;
    /// # let _ = response; Ok(()) }
    /// ```
    #[must_use = "a resilient call does nothing until it sends"]
    pub fn retry(&self, policy: Retry<Error>) -> Resilient {
        Resilient::new(self.clone(), policy)
    }

    /// This call with a fallback chain (and no retries: one attempt per target). See
    /// [`Resilient::fallback`].
    #[must_use = "a resilient call does nothing until it sends"]
    pub fn fallback(&self, chain: Chain) -> Resilient {
        self.retry(Retry::new().stop(steadfast_retry::stop::after_attempt(1)))
            .fallback(chain)
    }
}

/// A provider whose stream is a recorded body read by another provider's stream decoder.
#[derive(Debug)]
struct Replay {
    inner: Arc<dyn crate::Provider>,
    body: bytes::Bytes,
}

impl crate::Provider for Replay {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn capabilities(&self) -> crate::Capabilities {
        self.inner.capabilities()
    }

    fn client_from_env(&self) -> crate::ClientConfig {
        self.inner.client_from_env()
    }

    fn send(&self, _: ChatRequest) -> crate::provider::BoxFuture<Result<crate::Response, Error>> {
        Box::pin(async {
            Err(Error::new(
                crate::ErrorKind::Unsupported,
                "a replayed body is read as a stream only",
            ))
        })
    }

    fn stream(
        &self,
        request: ChatRequest,
    ) -> crate::provider::BoxFuture<Result<crate::provider::EventStream, Error>> {
        let events = match self.inner.http_codec() {
            Some(codec) => Ok(codec.decode_stream(&request, self.body.clone())),
            None => Err(Error::new(
                crate::ErrorKind::Unsupported,
                format!(
                    "the provider `{}` does not expose its HTTP encoding",
                    self.inner.name()
                ),
            )),
        };
        Box::pin(async move { events })
    }
}
