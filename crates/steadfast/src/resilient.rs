//! [`Resilient`]: a [`Call`] with a retry policy, for users who prefer no closures.
//!
//! `call.retry(policy)` gives a call whose [`send`](Resilient::send),
//! [`extract`](Resilient::extract) and [`stream`](Resilient::stream) apply the policy:
//!
//! - `send` and `extract` retry failed attempts, each a new HTTP request; for `extract` a
//!   [`Validation`](crate::ErrorKind::Validation) failure is an attempt failure too, so a policy
//!   that retries (and [collects](steadfast_retry::Retry::collect_errors)) it gives the model
//!   another chance — with the errors shown to it by [`send_with`](Resilient::send_with) /
//!   [`extract_with`](Resilient::extract_with) (a prompt built from the collected errors) or by
//!   the [conversational](Resilient::conversational) mode;
//! - `stream` retries transparently **before the commit point** (the first content event) and
//!   surfaces [`StreamInterrupted`](crate::ErrorKind::StreamInterrupted) with the partial output
//!   after it — a POST is never replayed behind the caller's back.
//!
//! The response lists every HTTP attempt in [`Response::attempts`] (outcome, status, duration,
//! wait and its reason). When the policy gives up, the last error is returned with the same list
//! in [`Error::attempts`], why it stopped in [`Error::retry_stopped`], and a `Display` that names the
//! attempt count; an error the policy does not retry is returned at once.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::sync::Arc;

use serde::de::DeserializeOwned;
use steadfast_retry::{Fallback, Retry, RetryState, RunError};
use tokio::time::Instant;

use crate::call::{Call, ValidatorFn, parse_output};
use crate::error::Error;
use crate::message::{Message, Part, Role, ToolCall};
use crate::output::OutputFormat;
use crate::prompt::Prompt;
use crate::provider::BoxFuture;
use crate::response::{AttemptSummary, Response};
use crate::stream::Stream;
use crate::tool::schema_of;

/// Builds the prompt of an attempt from the errors collected so far (oldest first).
pub type PromptFn = Arc<dyn Fn(&[Error]) -> Result<Prompt, Error> + Send + Sync>;

#[derive(Clone)]
enum PromptSource {
    Fixed(Prompt),
    Built(PromptFn),
}

impl fmt::Debug for PromptSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PromptSource::Fixed(p) => f.debug_tuple("Fixed").field(&p.messages().len()).finish(),
            PromptSource::Built(_) => f.write_str("Built(..)"),
        }
    }
}

/// A call with a retry policy. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct Resilient {
    call: Call,
    policy: Retry<Error>,
    fallback: Option<Chain>,
    conversational: bool,
    restarts: u32,
}

/// A fallback chain over calls.
pub type Chain = Fallback<Call, Error>;

impl Call {
    /// This call, retried with `policy`. See [`Resilient`].
    pub fn retry(&self, policy: Retry<Error>) -> Resilient {
        Resilient {
            call: self.clone(),
            policy,
            fallback: None,
            conversational: false,
            restarts: 0,
        }
    }

    /// This call with a fallback chain (and no retries: one attempt per target). See
    /// [`Resilient::fallback`].
    pub fn fallback(&self, chain: Chain) -> Resilient {
        self.retry(Retry::new().stop(steadfast_retry::stop::after_attempt(1)))
            .fallback(chain)
    }
}

impl Resilient {
    /// The call.
    pub fn call(&self) -> &Call {
        &self.call
    }

    /// The retry policy.
    pub fn policy(&self) -> &Retry<Error> {
        &self.policy
    }

    /// Falls back along `chain` (built with [`resilience::fallback`](crate::resilience::fallback)
    /// or [`Fallback::new`]): this call is the primary target and each target gets the whole retry
    /// policy. On success [`Response::caught`] lists what was caught on the way; when every target
    /// fails, the last error comes back with the others in [`Error::caught`] (primary first). A
    /// stream falls back only before its commit point.
    #[must_use]
    pub fn fallback(mut self, chain: Chain) -> Self {
        self.fallback = Some(chain);
        self
    }

    /// Conversational error reinsertion: after an attempt fails validation, the next attempt sends
    /// the conversation plus the model's invalid output and the validation message, in the
    /// provider's native shape (for a tool call: the assistant's call and a tool result marked as an
    /// error; for text: the assistant's answer and a user message). The policy must collect the
    /// validation errors (`collect_errors(resilience::validation())`).
    #[must_use]
    pub fn conversational(mut self, on: bool) -> Self {
        self.conversational = on;
        self
    }

    /// Opt-in restarts of streams: when a stream fails **after** its commit point with
    /// [`StreamInterrupted`](crate::ErrorKind::StreamInterrupted) (the connection dropped, the
    /// stream was cut, the provider sent an error mid-answer), start it again from the beginning —
    /// at most `max` times per stream — instead of ending with the error.
    ///
    /// A restart is never silent: the stream yields [`StreamEvent::Restarted`](crate::StreamEvent::Restarted)
    /// first, so a UI can clear what it showed, and then the new answer from its first event.
    /// [`Stream::text`] and [`Stream::collect`] hold the new answer only; the response's
    /// [`attempts`](crate::Response::attempts) list every HTTP attempt, the interrupted ones
    /// included. The retry policy judges each interruption as if the interruptions were its
    /// attempts: its `retry_if` must accept the error, and its wait (or the server's hint) is
    /// waited before the new request; `max`, not the policy's stop, bounds the restarts. Each restart then goes through
    /// the whole policy (and fallback chain) again up to its commit point. Other errors after the
    /// commit point (a tool call that fails validation, say) still end the stream. The default,
    /// 0, never restarts.
    #[must_use]
    pub fn restart_streams(mut self, max: u32) -> Self {
        self.restarts = max;
        self
    }

    fn source(&self, prompt: PromptSource) -> PromptSource {
        if !self.conversational {
            return prompt;
        }
        let f: PromptFn = Arc::new(move |errors: &[Error]| {
            let mut p = match &prompt {
                PromptSource::Fixed(p) => p.clone(),
                PromptSource::Built(f) => f(&[])?,
            };
            for m in conversational_messages(errors) {
                p.push(m);
            }
            Ok(p)
        });
        PromptSource::Built(f)
    }

    /// Sends `prompt`, retrying per the policy.
    ///
    /// # Errors
    /// The last error, with every attempt in [`Error::attempts`], when the policy gives up or does
    /// not retry it.
    pub fn send<P: Into<Prompt>>(&self, prompt: P) -> BoxFuture<Result<Response, Error>> {
        self.send_source(PromptSource::Fixed(prompt.into()))
    }

    /// Sends a prompt built for each attempt from the errors collected so far (error reinsertion).
    ///
    /// # Errors
    /// As [`send`](Resilient::send); an error from `prompt` ends the call at once.
    pub fn send_with<P>(&self, prompt: P) -> BoxFuture<Result<Response, Error>>
    where
        P: Fn(&[Error]) -> Result<Prompt, Error> + Send + Sync + 'static,
    {
        self.send_source(PromptSource::Built(Arc::new(prompt)))
    }

    fn send_source(&self, prompt: PromptSource) -> BoxFuture<Result<Response, Error>> {
        let call = self.call.clone();
        let prompt = self.source(prompt);
        let policy = self.policy.clone();
        // Boxed either way: the future holds the retry (and fallback) state, which would otherwise
        // be copied every time it moves. Without a chain, the fallback machinery is left out of it.
        let Some(chain) = self.fallback.clone() else {
            return Box::pin(async move {
                drive(&policy, &call, &prompt, send_attempt)
                    .await
                    .map(|((), r)| r)
            });
        };
        let prompt = Arc::new(prompt);
        let op = move |call: Call| {
            let (policy, prompt) = (policy.clone(), Arc::clone(&prompt));
            async move { drive(&policy, &call, &prompt, send_attempt).await }
        };
        Box::pin(async move { with_fallback(Some(chain), call, op).await.map(|((), r)| r) })
    }

    /// Asks for structured output of type `T`, retrying per the policy; `.validate(..)` adds a check
    /// whose failures are attempt failures.
    pub fn extract<T>(&self, prompt: impl Into<Prompt>) -> ResilientExtract<T>
    where
        T: DeserializeOwned + schemars::JsonSchema + Send + 'static,
    {
        self.extract_source(PromptSource::Fixed(prompt.into()))
    }

    /// Like [`extract`](Resilient::extract) with a prompt built for each attempt from the errors
    /// collected so far — for example a [`Template`](crate::Template) whose `{errors:list}` shows the
    /// model its previous mistakes:
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), steadfast::Error> {
    /// use steadfast::resilience::validation;
    /// use steadfast::retry::{Retry, stop};
    /// use steadfast::{Template, Vars, llm};
    ///
    /// #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
    /// struct Book { title: String, author: String }
    ///
    /// let template = Template::new("USER:\n{errors:list}\nExtract the book from: {text}")?;
    /// let policy = Retry::new().stop(stop::after_attempt(3)).collect_errors(validation());
    /// let book: Book = llm::call("openai:gpt-4o-mini")?
    ///     .retry(policy)
    ///     .extract_with::<Book, _>(move |errors| {
    ///         template.render(&Vars::new().with("text", "The Name of the Wind by Patrick Rothfuss").with_errors("errors", errors))
    ///     })
    ///     .validate(|b| if b.author == b.author.to_uppercase() { Ok(()) } else { Err("author must be uppercase") })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn extract_with<T, P>(&self, prompt: P) -> ResilientExtract<T>
    where
        T: DeserializeOwned + schemars::JsonSchema + Send + 'static,
        P: Fn(&[Error]) -> Result<Prompt, Error> + Send + Sync + 'static,
    {
        self.extract_source(PromptSource::Built(Arc::new(prompt)))
    }

    /// Like [`extract_with`](Resilient::extract_with) for a JSON Schema given as a value: the output
    /// is checked against the schema, and a mismatch is a [`Validation`](crate::ErrorKind::Validation)
    /// attempt failure.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) when `schema` is not a valid JSON Schema.
    pub fn extract_json_with<P>(
        &self,
        name: &str,
        schema: serde_json::Value,
        prompt: P,
    ) -> Result<ResilientExtract<serde_json::Value>, Error>
    where
        P: Fn(&[Error]) -> Result<Prompt, Error> + Send + Sync + 'static,
    {
        let check = crate::call::schema_check(&schema)?;
        let mut format = OutputFormat::new(name, schema);
        format.mode = self.call.output_mode_setting();
        Ok(ResilientExtract {
            call: self.call.clone(),
            policy: self.policy.clone(),
            fallback: self.fallback.clone(),
            prompt: self.source(PromptSource::Built(Arc::new(prompt))),
            format,
            validator: Some(Arc::new(check)),
        })
    }

    fn extract_source<T>(&self, prompt: PromptSource) -> ResilientExtract<T>
    where
        T: DeserializeOwned + schemars::JsonSchema + Send + 'static,
    {
        let mut format = OutputFormat::new(&T::schema_name(), schema_of::<T>());
        format.mode = self.call.output_mode_setting();
        ResilientExtract {
            call: self.call.clone(),
            policy: self.policy.clone(),
            fallback: self.fallback.clone(),
            prompt: self.source(prompt),
            format,
            validator: None,
        }
    }

    /// Streams the answer, retrying transparently until the first content event arrives (see the
    /// [module docs](self)). No request is sent until the stream is first polled.
    pub fn stream(&self, prompt: impl Into<Prompt>) -> Stream {
        Stream::retrying(
            self.call.clone(),
            self.policy.clone(),
            self.fallback.clone(),
            prompt.into(),
            self.restarts,
        )
    }
}

fn prompt_for(source: &PromptSource, errors: &[Error]) -> Result<Prompt, Error> {
    match source {
        PromptSource::Fixed(p) => Ok(p.clone()),
        PromptSource::Built(f) => f(errors),
    }
}

/// The conversation turns that show the model why its earlier answers failed validation.
pub(crate) fn conversational_messages(errors: &[Error]) -> Vec<Message> {
    let mut out = Vec::new();
    for (i, e) in errors.iter().enumerate() {
        let Some(v) = e.validation_failure() else {
            continue;
        };
        match &v.tool {
            Some(tool) => {
                let mut call = ToolCall::new(
                    v.tool_call_id
                        .clone()
                        .unwrap_or_else(|| format!("call_retry_{}", i + 1)),
                    tool.clone(),
                    v.raw.clone(),
                );
                call.signature = v.tool_call_signature.clone();
                out.push(Message::assistant_tool_calls(None, vec![call.clone()]));
                out.push(Message::tool_result(
                    &call,
                    format!(
                        "Error: {}. Call the tool again with corrected arguments.",
                        v.message
                    ),
                    true,
                ));
            }
            None => {
                out.push(Message::new(
                    Role::Assistant,
                    vec![Part::text(v.raw.clone())],
                ));
                out.push(Message::user(format!(
                    "Your previous answer failed validation: {}. Answer again, correcting it.",
                    v.message
                )));
            }
        }
    }
    out
}

/// One attempt of [`Resilient::send`].
fn send_attempt(
    call: &Call,
    prompt: Prompt,
) -> impl Future<Output = Result<((), Response), Error>> + Send + use<> {
    let fut = call.send(prompt);
    async move { fut.await.map(|r| ((), r)) }
}

/// Runs `op` on the call, or along the fallback chain when there is one; on success the response
/// lists every HTTP attempt of every target and the errors caught on the way.
async fn with_fallback<T, F, Fut>(
    chain: Option<Chain>,
    call: Call,
    mut op: F,
) -> Result<(T, Response), Error>
where
    F: FnMut(Call) -> Fut,
    Fut: Future<Output = Result<(T, Response), Error>>,
{
    let Some(chain) = chain else {
        return op(call).await;
    };
    let winner = chain.run(&call, op).await.map_err(Error::from)?;
    let ((value, mut response), _target, caught) = winner.into_parts();
    if !caught.is_empty() {
        let mut attempts: Vec<AttemptSummary> = caught
            .iter()
            .flat_map(|e| e.attempts().iter().cloned())
            .collect();
        attempts.append(&mut response.attempts);
        response.attempts = attempts;
        response.caught = Arc::from(caught);
    }
    Ok((value, response))
}

/// Runs attempts under `policy` until one succeeds: builds each attempt's prompt from the collected
/// errors, records every attempt, and attaches the history to the final error.
async fn drive<T, F, Fut>(
    policy: &Retry<Error>,
    call: &Call,
    prompt: &PromptSource,
    mut exec: F,
) -> Result<(T, Response), Error>
where
    F: FnMut(&Call, Prompt) -> Fut,
    Fut: Future<Output = Result<(T, Response), Error>>,
{
    let mut state = policy.start();
    let mut summaries: Vec<AttemptSummary> = Vec::new();
    loop {
        let built = {
            let attempt = state.begin();
            prompt_for(prompt, attempt.errors())
        };
        let prompt = match built {
            Ok(p) => p,
            Err(e) => return Err(e.with_attempts(summaries)),
        };
        let started = Instant::now();
        match exec(call, prompt).await {
            Ok((value, mut response)) => {
                // The common case, success at once, keeps the response's own list.
                if !summaries.is_empty() {
                    summaries.append(&mut response.attempts);
                    response.attempts = summaries;
                }
                return Ok((value, response));
            }
            Err(e) => {
                let wait = record_failure(&mut state, call, e, started, &mut summaries)?;
                state.sleep(wait).await;
            }
        }
    }
}

/// Records a failed attempt in `summaries` and asks the policy what next: `Ok(wait)` to sleep
/// before the next attempt, or the error to return (with every attempt attached, and why the
/// retries stopped).
pub(crate) fn record_failure(
    state: &mut RetryState<Error>,
    call: &Call,
    e: Error,
    started: Instant,
    summaries: &mut Vec<AttemptSummary>,
) -> Result<std::time::Duration, Error> {
    let e = e.in_context(call.provider_name_arc(), call.model_arc());
    let mut summary = AttemptSummary::new(
        call.provider_name_arc(),
        call.model_arc(),
        Some(e.kind()),
        e.status(),
        started.elapsed(),
    );
    let hint = e.retry_after();
    match state.fail(e) {
        Ok(wait) => {
            summary.wait = Some(wait);
            summary.wait_reason = Some(if hint == Some(wait) && !wait.is_zero() {
                "server-hint"
            } else {
                "computed"
            });
            summaries.push(summary);
            Ok(wait)
        }
        Err(RunError::Rejected(e)) => {
            summaries.push(summary);
            Err(e.with_attempts(std::mem::take(summaries)))
        }
        Err(RunError::Exhausted(history)) => {
            summaries.push(summary);
            let reason = history.reason().to_string();
            Err(history
                .into_last()
                .with_attempts(std::mem::take(summaries))
                .with_retry_stopped(reason))
        }
    }
}

/// A pending resilient structured-output call: await it for `T`, or use
/// [`with_response`](ResilientExtract::with_response).
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ResilientExtract<T> {
    call: Call,
    policy: Retry<Error>,
    fallback: Option<Chain>,
    prompt: PromptSource,
    format: OutputFormat,
    validator: Option<Arc<ValidatorFn<T>>>,
}

impl<T> fmt::Debug for ResilientExtract<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResilientExtract")
            .field("call", &self.call)
            .field("prompt", &self.prompt)
            .field("validated", &self.validator.is_some())
            .finish_non_exhaustive()
    }
}

impl<T> ResilientExtract<T>
where
    T: DeserializeOwned + Send + 'static,
{
    /// Adds a validator; its `Err` message becomes a [`Validation`](crate::ErrorKind::Validation) error
    /// (an attempt failure, collected for reinsertion when the policy says so).
    pub fn validate<F, E>(mut self, f: F) -> Self
    where
        F: Fn(&T) -> Result<(), E> + Send + Sync + 'static,
        E: fmt::Display,
    {
        self.validator = Some(crate::call::chain_validator(self.validator.take(), f));
        self
    }

    /// Runs the attempts and returns the value with the response it came from.
    ///
    /// # Errors
    /// As [`Resilient::send`].
    pub async fn with_response(self) -> Result<(T, Response), Error> {
        let ResilientExtract {
            call,
            policy,
            fallback,
            prompt,
            format,
            validator,
        } = self;
        let op = move |call: Call| {
            let (policy, prompt, format, validator) = (
                policy.clone(),
                prompt.clone(),
                format.clone(),
                validator.clone(),
            );
            async move {
                drive(&policy, &call, &prompt, |call, prompt| {
                    let mut request = call.request(prompt);
                    request.output = Some(format.clone());
                    let provider = Arc::clone(call.provider());
                    let validator = validator.clone();
                    let name = format.name.clone();
                    async move {
                        crate::prompt::validate_messages(&request.messages)?;
                        let response = provider.send(request).await?;
                        let value = parse_output::<T>(&response, &name, validator.as_deref())?;
                        Ok((value, response))
                    }
                })
                .await
            }
        };
        with_fallback(fallback, call, op).await
    }
}

impl<T> IntoFuture for ResilientExtract<T>
where
    T: DeserializeOwned + Send + 'static,
{
    type Output = Result<T, Error>;
    type IntoFuture = BoxFuture<Result<T, Error>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move { self.with_response().await.map(|(t, _)| t) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn conversational_turns_for_tool_and_text_failures() {
        let tool = Error::tool_validation(
            &ToolCall::new("c1", "get_weather", r#"{"town":1}"#),
            "missing field `city`",
        );
        let text = Error::validation("author must be uppercase", r#"{"author":"x"}"#);
        let other = Error::new(ErrorKind::RateLimited, "slow");
        let msgs = conversational_messages(&[tool, other, text]);
        assert_eq!(msgs.len(), 4, "the rate limit adds nothing");
        assert_eq!(msgs[0].role, Role::Assistant);
        assert!(
            matches!(&msgs[0].parts[0], Part::ToolCall(c) if c.id == "c1" && c.arguments == r#"{"town":1}"#)
        );
        assert!(
            matches!(&msgs[1].parts[0], Part::ToolResult(r) if r.is_error && r.call_id == "c1" && r.content.contains("missing field"))
        );
        assert_eq!(msgs[2].text(), r#"{"author":"x"}"#);
        assert!(msgs[3].text().contains("author must be uppercase"));
    }
}
