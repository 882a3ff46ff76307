//! The closure-free resilient forms and their vocabulary: [`Resilient`] (a [`Call`] with a retry
//! policy and, optionally, a fallback chain), the structured-output [`Extract`], the predicates
//! ([`kinds`], [`retryable`], [`validation`], [`TRANSIENT`]), [`default_policy`], [`fallback`]
//! and per-target [`Breakers`].
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
//!
//! These are the main API. The closure forms of [`steadfast::retry`](mod@crate::retry)
//! (`policy.run(|attempt| ..)`, `chain.run(&call, |call| ..)`) are the escape hatch for code that
//! must retry more than one call — a wrapper that streams *and* consumes, say; their errors convert
//! into [`Error`] with `?`.

pub(crate) mod admission;
pub(crate) mod attempts;
mod breakers;
mod extract;
mod predicates;

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use steadfast_retry::{Fallback, Retry};
use tokio::time::Instant;
use tracing::Instrument as _;

use crate::call::Call;
use crate::error::Error;
use crate::message::{Message, Part, Role, ToolCall};
use crate::prompt::Prompt;
use crate::provider::BoxFuture;
use crate::response::{AttemptSummary, Response};
use crate::stream::ResponseStream;
use crate::telemetry::Operation;

/// A plain send's telemetry operation.
const SEND: Operation = Operation {
    stream: false,
    json: false,
};

pub(crate) use admission::Admitted;
pub(crate) use attempts::record_failure;
pub use breakers::{BreakerStatus, Breakers};
pub use extract::Extract;
pub(crate) use extract::ValidatorFn;
pub use predicates::{TRANSIENT, default_policy, fallback, kinds, retryable, validation};

/// Builds the prompt of an attempt from the errors collected so far (oldest first).
pub type PromptFn = Arc<dyn Fn(&[Error]) -> Result<Prompt, Error> + Send + Sync>;

#[derive(Clone)]
pub(crate) enum PromptSource {
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

impl Resilient {
    pub(crate) fn new(call: Call, policy: Retry<Error>) -> Self {
        Resilient {
            call,
            policy,
            fallback: None,
            conversational: false,
            restarts: 0,
        }
    }

    /// The call.
    pub fn call(&self) -> &Call {
        &self.call
    }

    /// The retry policy.
    pub fn policy(&self) -> &Retry<Error> {
        &self.policy
    }

    /// Falls back along `chain` (built with [`fallback`]
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
    /// validation errors (`collect_errors(resilient::validation())`).
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
    /// [`ResponseStream::text`] and [`ResponseStream::into_response`] hold the new answer only; the response's
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
                drive(&policy, &call, &prompt, SEND, send_attempt)
                    .await
                    .map(|((), r)| r)
            });
        };
        let prompt = Arc::new(prompt);
        let op = move |call: Call| {
            let (policy, prompt) = (policy.clone(), Arc::clone(&prompt));
            async move { drive(&policy, &call, &prompt, SEND, send_attempt).await }
        };
        Box::pin(async move { with_fallback(Some(chain), call, op).await.map(|((), r)| r) })
    }

    /// Asks for structured output of type `T`, retrying per the policy; `.validate(..)` adds a check
    /// whose failures are attempt failures.
    pub fn extract<T>(&self, prompt: impl Into<Prompt>) -> Extract<T>
    where
        T: serde::de::DeserializeOwned + schemars::JsonSchema + Send + 'static,
    {
        self.extract_source(PromptSource::Fixed(prompt.into()))
    }

    /// Like [`extract`](Resilient::extract) with a prompt built for each attempt from the errors
    /// collected so far — for example a [`Template`](crate::Template) whose `{errors:list}` shows the
    /// model its previous mistakes:
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), steadfast::Error> {
    /// use steadfast::resilient::validation;
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
    pub fn extract_with<T, P>(&self, prompt: P) -> Extract<T>
    where
        T: serde::de::DeserializeOwned + schemars::JsonSchema + Send + 'static,
        P: Fn(&[Error]) -> Result<Prompt, Error> + Send + Sync + 'static,
    {
        self.extract_source(PromptSource::Built(Arc::new(prompt)))
    }

    /// Asks for structured output matching a JSON Schema given as a value, retrying per the
    /// policy: the output is checked against the schema, and a mismatch is a
    /// [`Validation`](crate::ErrorKind::Validation) attempt failure. The arguments come in the
    /// order of [`Call::extract_json`].
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) when `schema` is not a valid JSON Schema.
    pub fn extract_json(
        &self,
        prompt: impl Into<Prompt>,
        name: &str,
        schema: serde_json::Value,
    ) -> Result<Extract<serde_json::Value>, Error> {
        self.extract_json_source(PromptSource::Fixed(prompt.into()), name, schema)
    }

    /// Like [`extract_json`](Resilient::extract_json) with a prompt built for each attempt from the
    /// errors collected so far.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) when `schema` is not a valid JSON Schema.
    pub fn extract_json_with<P>(
        &self,
        prompt: P,
        name: &str,
        schema: serde_json::Value,
    ) -> Result<Extract<serde_json::Value>, Error>
    where
        P: Fn(&[Error]) -> Result<Prompt, Error> + Send + Sync + 'static,
    {
        self.extract_json_source(PromptSource::Built(Arc::new(prompt)), name, schema)
    }

    fn extract_json_source(
        &self,
        prompt: PromptSource,
        name: &str,
        schema: serde_json::Value,
    ) -> Result<Extract<serde_json::Value>, Error> {
        Ok(
            Extract::json(self.call.clone(), self.source(prompt), name, schema)?
                .with_policy(self.policy.clone(), self.fallback.clone()),
        )
    }

    fn extract_source<T>(&self, prompt: PromptSource) -> Extract<T>
    where
        T: serde::de::DeserializeOwned + schemars::JsonSchema + Send + 'static,
    {
        Extract::typed(self.call.clone(), self.source(prompt))
            .with_policy(self.policy.clone(), self.fallback.clone())
    }

    /// Streams the answer, retrying transparently until the first content event arrives (see the
    /// [module docs](self)). No request is sent until the stream is first polled.
    pub fn stream(&self, prompt: impl Into<Prompt>) -> ResponseStream {
        ResponseStream::retrying(
            self.call.clone(),
            self.policy.clone(),
            self.fallback.clone(),
            prompt.into(),
            self.restarts,
        )
    }
}

pub(crate) fn prompt_for(source: &PromptSource, errors: &[Error]) -> Result<Prompt, Error> {
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
                let mut parts = v.model_parts.clone();
                parts.push(Part::ToolCall(call.clone()));
                out.push(Message::new(Role::Assistant, parts));
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
                let mut parts = v.model_parts.clone();
                parts.push(Part::text(v.raw.clone()));
                out.push(Message::new(Role::Assistant, parts));
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
    attempt: u32,
) -> impl Future<Output = Result<((), Response), Error>> + Send + use<> {
    let fut = call.send_attempt(prompt, attempt);
    async move { fut.await.map(|r| ((), r)) }
}

/// Runs `op` on the call, or along the fallback chain when there is one; on success the response
/// lists every HTTP attempt of every target and the errors caught on the way.
pub(crate) async fn with_fallback<T, F, Fut>(
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
    let mut position = 0;
    let winner = chain
        .run(&call, |target: Call| {
            // Called inside the chain's span: each target's outcome is noted on it.
            let chain_span = tracing::Span::current();
            let at = position;
            position += 1;
            let attempt = op(target.clone());
            async move {
                let result = attempt.await;
                let outcome = result.as_ref().map(|_| ());
                crate::telemetry::record_fallback_target(&chain_span, &target, at, outcome);
                result
            }
        })
        .await
        .map_err(Error::from)?;
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
///
/// The whole run is one GenAI operation span (see [`telemetry`](crate::telemetry)).
pub(crate) async fn drive<T, F, Fut>(
    policy: &Retry<Error>,
    call: &Call,
    prompt: &PromptSource,
    op: Operation,
    exec: F,
) -> Result<(T, Response), Error>
where
    F: FnMut(&Call, Prompt, u32) -> Fut,
    Fut: Future<Output = Result<(T, Response), Error>>,
{
    let obs = crate::telemetry::Observation::start(call, op);
    let result = drive_attempts(policy, call, prompt, exec)
        .instrument(obs.span.clone())
        .await;
    match &result {
        Ok((_, r)) => obs.succeeded(r),
        Err(e) => obs.failed(e),
    }
    result
}

async fn drive_attempts<T, F, Fut>(
    policy: &Retry<Error>,
    call: &Call,
    prompt: &PromptSource,
    mut exec: F,
) -> Result<(T, Response), Error>
where
    F: FnMut(&Call, Prompt, u32) -> Fut,
    Fut: Future<Output = Result<(T, Response), Error>>,
{
    let mut state = policy.start();
    let mut summaries: Vec<AttemptSummary> = Vec::new();
    loop {
        let (built, number) = {
            let attempt = state.begin();
            (prompt_for(prompt, attempt.errors()), attempt.number())
        };
        let prompt = match built {
            Ok(p) => p,
            Err(e) => return Err(e.with_attempts(summaries)),
        };
        let admitted = match admission::admit(call, &prompt, &state).await {
            Ok(a) => a,
            Err(e) => return Err(e.with_attempts(summaries)),
        };
        let queued = admitted.as_ref().and_then(|a| a.queued);
        let started = Instant::now();
        let result = exec(call, prompt, number).await;
        if call.limiter().is_some() {
            admission::settle(call, admitted, result.as_ref().map(|(_, r)| r)).await;
        }
        match result {
            Ok((value, mut response)) => {
                if let (Some(q), Some(last)) = (queued, response.attempts.last_mut()) {
                    last.queued = Some(q);
                }
                // The common case, success at once, keeps the response's own list.
                if !summaries.is_empty() {
                    summaries.append(&mut response.attempts);
                    response.attempts = summaries;
                }
                return Ok((value, response));
            }
            Err(e) => {
                let decision =
                    record_failure(&mut state, call, e, started, queued, &mut summaries)?;
                state.sleep(decision.wait).await;
            }
        }
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

    #[test]
    fn conversational_turns_give_the_reasoning_back_before_the_failed_output() {
        let thinking =
            Part::Reasoning(crate::Reasoning::new("anthropic", "Plan.").with_signature("s"));
        let tool = Error::tool_validation(&ToolCall::new("c1", "f", "{}"), "bad")
            .with_model_parts(|| vec![thinking.clone()]);
        let text = Error::validation("bad", "raw").with_model_parts(|| vec![thinking.clone()]);
        let msgs = conversational_messages(&[tool, text]);
        assert_eq!(msgs[0].parts[0], thinking);
        assert!(matches!(&msgs[0].parts[1], Part::ToolCall(c) if c.id == "c1"));
        assert_eq!(msgs[2].parts[0], thinking);
        assert_eq!(msgs[2].parts[1], Part::text("raw"));
    }
}
