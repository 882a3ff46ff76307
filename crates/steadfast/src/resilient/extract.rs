//! [`Extract`]: a pending structured-output call, with or without a retry policy.

use std::fmt;
use std::future::IntoFuture;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use steadfast_retry::Retry;

use super::{Chain, PromptSource, drive, prompt_for, with_fallback};
use crate::call::Call;
use crate::error::Error;
use crate::output::{OutputFormat, parse_output};
use crate::provider::BoxFuture;
use crate::response::Response;
use crate::tool::{schema_check, schema_of};

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
///
/// Made by [`Call::extract`] (one attempt) and [`Resilient::extract`](super::Resilient::extract)
/// (attempts under the retry policy and fallback chain, where a
/// [`Validation`](crate::ErrorKind::Validation) failure is an attempt failure).
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Extract<T> {
    call: Call,
    /// The policy and chain, when attempts are retried.
    resilience: Option<(Retry<Error>, Option<Chain>)>,
    prompt: PromptSource,
    format: OutputFormat,
    validator: Option<Validator<T>>,
}

impl<T> fmt::Debug for Extract<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Extract")
            .field("call", &self.call)
            .field("prompt", &self.prompt)
            .field("retried", &self.resilience.is_some())
            .field("validated", &self.validator.is_some())
            .finish_non_exhaustive()
    }
}

impl<T> Extract<T> {
    /// Output of the Rust type `T`, in the call's output mode.
    pub(crate) fn typed(call: Call, prompt: PromptSource) -> Self
    where
        T: schemars::JsonSchema,
    {
        let mut format = OutputFormat::new(&T::schema_name(), schema_of::<T>());
        format.mode = call.output_mode_setting();
        Extract {
            call,
            resilience: None,
            prompt,
            format,
            validator: None,
        }
    }

    /// Attempts under `policy`, along `chain` when there is one.
    pub(crate) fn with_policy(mut self, policy: Retry<Error>, chain: Option<Chain>) -> Self {
        self.resilience = Some((policy, chain));
        self
    }
}

impl Extract<serde_json::Value> {
    /// Output matching `schema`, checked against it.
    pub(crate) fn json(
        call: Call,
        prompt: PromptSource,
        name: &str,
        schema: serde_json::Value,
    ) -> Result<Self, Error> {
        let check = schema_check(&schema)?;
        let mut format = OutputFormat::new(name, schema);
        format.mode = call.output_mode_setting();
        Ok(Extract {
            call,
            resilience: None,
            prompt,
            format,
            validator: Some(Arc::new(check)),
        })
    }
}

impl<T> Extract<T>
where
    T: DeserializeOwned + Send + 'static,
{
    /// Adds a validator: its `Err` message becomes a [`Validation`](crate::ErrorKind::Validation)
    /// error carrying the raw output (an attempt failure under a policy, collected for reinsertion
    /// when the policy says so).
    pub fn validate<F, E>(mut self, f: F) -> Self
    where
        F: Fn(&T) -> Result<(), E> + Send + Sync + 'static,
        E: fmt::Display,
    {
        self.validator = Some(chain_validator(self.validator.take(), f));
        self
    }

    /// Sends the request (under the policy, when there is one) and returns the value together
    /// with the response it came from.
    ///
    /// # Errors
    /// Any error of [`Call::send`], or [`ErrorKind::Validation`](crate::ErrorKind::Validation)
    /// when the output is a refusal, is not valid JSON for `T`, or fails the validator; under a
    /// policy, the last such error with every attempt (as [`Resilient::send`](super::Resilient::send)).
    pub async fn with_response(self) -> Result<(T, Response), Error> {
        let Extract {
            call,
            resilience,
            prompt,
            format,
            validator,
        } = self;
        // With a quota, admission lives in the retry loop: run there, as one attempt.
        let resilience = resilience.or_else(|| {
            call.limiter()
                .map(|_| (super::admission::one_attempt(), None))
        });
        let Some((policy, chain)) = resilience else {
            let prompt = prompt_for(&prompt, &[])?;
            return once(&call, prompt, &format, validator.as_deref()).await;
        };
        let op = move |call: Call| {
            let (policy, prompt, format, validator) = (
                policy.clone(),
                prompt.clone(),
                format.clone(),
                validator.clone(),
            );
            async move {
                drive(&policy, &call, &prompt, EXTRACT, |call, prompt, attempt| {
                    let mut request = call.request(prompt);
                    request.output = Some(format.clone());
                    request.attempt = attempt;
                    if crate::telemetry::captures_content() {
                        crate::telemetry::record_input(&tracing::Span::current(), &request);
                    }
                    let checked = crate::prompt::validate_messages(&request.messages)
                        .map(|()| call.send_request(request));
                    let validator = validator.clone();
                    let name = format.name.clone();
                    async move {
                        let response = checked?.await?;
                        let value = parse_output::<T>(&response, &name, validator.as_deref())?;
                        Ok((value, response))
                    }
                })
                .await
            }
        };
        with_fallback(chain, call, op).await
    }
}

/// One attempt, its errors naming the call's provider and model.
async fn once<T: DeserializeOwned>(
    call: &Call,
    prompt: crate::Prompt,
    format: &OutputFormat,
    validator: Option<&ValidatorFn<T>>,
) -> Result<(T, Response), Error> {
    use tracing::Instrument as _;
    let obs = crate::telemetry::Observation::start(call, EXTRACT);
    let result = async {
        let in_context = |e: Error| e.in_context(call.provider_name_arc(), call.model_arc());
        let mut request = call.request(prompt);
        request.output = Some(format.clone());
        crate::prompt::validate_messages(&request.messages).map_err(in_context)?;
        if crate::telemetry::captures_content() {
            crate::telemetry::record_input(&tracing::Span::current(), &request);
        }
        let response = call.send_request(request).await?;
        let value = parse_output::<T>(&response, &format.name, validator).map_err(in_context)?;
        Ok((value, response))
    }
    .instrument(obs.span.clone())
    .await;
    match &result {
        Ok((_, r)) => obs.succeeded(r),
        Err(e) => obs.failed(e),
    }
    result
}

/// Structured output's telemetry operation.
const EXTRACT: crate::telemetry::Operation = crate::telemetry::Operation {
    stream: false,
    json: true,
};

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
