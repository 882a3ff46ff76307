//! Where a model name goes: [`Resolve`] turns the name a client asked for into a [`Route`] —
//! ordered targets (library [`Call`]s) and the retry policy that owns every retry.
//!
//! [`ProviderTargets`] is the zero-config resolver: every `provider:model` string is routable
//! (`openai:gpt-4o-mini`, `anthropic:claude-3-5-sonnet-latest`, …), and a comma-separated list
//! (`openai:gpt-4o-mini,anthropic:claude-3-5-haiku-latest`) is a fallback chain, primary first.
//! `steadfast gateway --sim` uses it with every provider's base URL pointed at the embedded
//! simulator.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use steadfast::provider::EventStream;
use steadfast::resilient::{self, TRANSIENT};
use steadfast::retry::{Budget, Predicate, Retry};
use steadfast::{
    ApiKey, Call, Capabilities, ChatRequest, ClientConfig, Error, ErrorKind, HttpCodec, Provider,
    Response, llm,
};

use crate::inbound::ApiError;

/// The targets and policy for one model name.
#[derive(Clone)]
#[non_exhaustive]
pub struct Route {
    /// The targets, primary first (at least one).
    pub targets: Vec<Call>,
    /// The retry policy each target gets (the only place retries happen).
    pub policy: Retry<Error>,
    /// The policy of requests for structured output: by default `policy`'s, retrying output that
    /// fails the schema too (a [`Validation`](ErrorKind::Validation) failure is upstream output
    /// the client would reject).
    pub output_policy: Retry<Error>,
    /// The errors that move on to the next target.
    pub fallback_on: Predicate<Error>,
    /// Load balancing: each target's share of the requests it is primary for (the others stay
    /// in order behind it). `None`, or all zero: the targets in order.
    pub weights: Option<Vec<u32>>,
    /// Per-target circuit breakers: a target whose breaker is open is skipped.
    pub breakers: Option<resilient::Breakers>,
    /// The retry budget: every retry (the policy's attempt 2, 3, …) and every switch to a
    /// backup target takes one unit of it; when none is left, the request ends with the error
    /// it has ([`Budget`]). Shared by every request of the route (and of the routes given a
    /// clone of it).
    pub budget: Option<Budget>,
}

impl fmt::Debug for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let targets: Vec<String> = self.targets.iter().map(Call::target).collect();
        f.debug_struct("Route")
            .field("targets", &targets)
            .finish_non_exhaustive()
    }
}

impl Route {
    /// A route to `targets` (primary first) under `policy`, falling back on the transient kinds.
    /// Structured output is retried on [`resilient::retryable`] errors and validation failures,
    /// with `policy`'s stop and waits.
    pub fn new(targets: Vec<Call>, policy: Retry<Error>) -> Self {
        let output_policy = policy
            .clone()
            .retry_if(resilient::retryable().or(resilient::validation()));
        Route {
            targets,
            policy,
            output_policy,
            fallback_on: resilient::kinds(TRANSIENT),
            weights: None,
            breakers: None,
            budget: None,
        }
    }

    /// The targets' order for one request: with weights, a weighted draw picks the primary and
    /// the others follow in order.
    pub fn order(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.targets.len()).collect();
        let Some(weights) = &self.weights else {
            return order;
        };
        let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
        if total == 0 {
            return order;
        }
        let mut draw = fastrand::u64(0..total);
        let mut pick = 0;
        for (i, w) in weights.iter().enumerate() {
            let w = u64::from(*w);
            if draw < w {
                pick = i;
                break;
            }
            draw -= w;
        }
        if pick < order.len() {
            order.remove(pick);
            order.insert(0, pick);
        }
        order
    }
}

/// Resolves model names to routes.
pub trait Resolve: Send + Sync + fmt::Debug + 'static {
    /// The route for `model`.
    ///
    /// # Errors
    /// A 404 (`model_not_found`) for a name that routes nowhere.
    fn resolve(&self, model: &str) -> Result<Route, ApiError>;

    /// The model names `GET /v1/models` lists.
    fn models(&self) -> Vec<String>;

    /// The retry budgets of the routes, by name, for `GET /metrics` (default: none).
    fn budgets(&self) -> Vec<(String, Budget)> {
        Vec::new()
    }

    /// The circuit breakers of the routes, by model name, for `GET /metrics` (default: none).
    fn breakers(&self) -> Vec<(String, resilient::Breakers)> {
        Vec::new()
    }
}

/// Every `provider:model` string routes to that provider; a comma-separated list is a fallback
/// chain. See the [module docs](self).
#[derive(Clone)]
pub struct ProviderTargets {
    base_urls: BTreeMap<String, String>,
    api_key: Option<ApiKey>,
    policy: Retry<Error>,
    listed: Vec<String>,
}

impl fmt::Debug for ProviderTargets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderTargets")
            .field("base_urls", &self.base_urls)
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("listed", &self.listed)
            .finish_non_exhaustive()
    }
}

impl Default for ProviderTargets {
    fn default() -> Self {
        ProviderTargets::new()
    }
}

impl ProviderTargets {
    /// Every provider the library knows, with its credentials and base URL from its environment
    /// variables, under [`resilient::default_policy`].
    pub fn new() -> Self {
        ProviderTargets {
            base_urls: BTreeMap::new(),
            api_key: None,
            policy: resilient::default_policy(),
            listed: Vec::new(),
        }
    }

    /// Sends `provider`'s requests to `url` (in the official SDK's convention for it).
    #[must_use]
    pub fn base_url(mut self, provider: impl Into<String>, url: impl Into<String>) -> Self {
        self.base_urls.insert(provider.into(), url.into());
        self
    }

    /// Uses `key` upstream for every provider (a simulator's stand-in key, say) instead of the
    /// providers' environment variables.
    #[must_use]
    pub fn api_key(mut self, key: impl Into<ApiKey>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// The retry policy of every target.
    #[must_use]
    pub fn policy(mut self, policy: Retry<Error>) -> Self {
        self.policy = policy;
        self
    }

    /// The names `GET /v1/models` lists (any `provider:model` routes, listed or not).
    #[must_use]
    pub fn list(mut self, models: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.listed = models.into_iter().map(Into::into).collect();
        self
    }

    fn target(&self, name: &str) -> Result<Call, ApiError> {
        let not_found = |why: String| {
            ApiError::new(
                ErrorKind::NotFound,
                format!("The model `{name}` does not exist: {why}"),
            )
            .param("model")
            .code("model_not_found")
        };
        let mut call = llm::call(name.trim()).map_err(|e| not_found(e.message().to_owned()))?;
        if let Some(url) = self.base_urls.get(call.provider_name()) {
            call = call.base_url(url.clone());
        }
        if let Some(key) = &self.api_key {
            call = call.api_key(key.clone());
        }
        Ok(call)
    }
}

impl Resolve for ProviderTargets {
    fn resolve(&self, model: &str) -> Result<Route, ApiError> {
        let targets = model
            .split(',')
            .map(|t| self.target(t))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Route::new(targets, self.policy.clone()))
    }

    fn models(&self) -> Vec<String> {
        self.listed.clone()
    }
}

/// What one inbound request's upstream attempts were: how many, and the last target tried.
#[derive(Debug, Default)]
pub(crate) struct AttemptLog {
    inner: Mutex<(u32, String)>,
}

impl AttemptLog {
    fn note(&self, target: String) {
        let mut g = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        g.0 += 1;
        g.1 = target;
    }

    /// The attempts so far and the last target.
    pub(crate) fn get(&self) -> (u32, String) {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// A provider that notes each request it sends in an [`AttemptLog`] (the stream's attempts are
/// not public before it ends, and the headers go out at its commit point).
#[derive(Debug)]
struct Counted {
    inner: Arc<dyn Provider>,
    log: Arc<AttemptLog>,
}

impl Provider for Counted {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn client_from_env(&self) -> ClientConfig {
        ClientConfig::default()
    }

    fn send(
        &self,
        request: ChatRequest,
    ) -> steadfast::provider::BoxFuture<Result<Response, Error>> {
        self.log
            .note([self.inner.name(), ":", &request.model].concat());
        self.inner.send(request)
    }

    fn stream(
        &self,
        request: ChatRequest,
    ) -> steadfast::provider::BoxFuture<Result<EventStream, Error>> {
        self.log
            .note([self.inner.name(), ":", &request.model].concat());
        self.inner.stream(request)
    }

    fn http_codec(&self) -> Option<&dyn HttpCodec> {
        self.inner.http_codec()
    }
}

/// `call` through a provider that notes its attempts in `log`, every other setting kept (its
/// quota and recorder included).
pub(crate) fn counted(call: &Call, log: &Arc<AttemptLog>) -> Call {
    let provider = Arc::new(Counted {
        inner: Arc::clone(call.provider()),
        log: Arc::clone(log),
    });
    call.clone().with_provider(provider)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(weights: Option<Vec<u32>>) -> Route {
        let targets = ["openai:a", "openai:b", "openai:c"]
            .iter()
            .filter_map(|t| llm::call(*t).ok())
            .collect();
        let mut r = Route::new(targets, resilient::default_policy());
        r.weights = weights;
        r
    }

    #[test]
    fn weights_draw_the_primary_and_keep_the_rest_in_order() {
        assert_eq!(route(None).order(), [0, 1, 2]);
        assert_eq!(route(Some(vec![0, 0, 0])).order(), [0, 1, 2]);
        assert_eq!(route(Some(vec![0, 0, 5])).order(), [2, 0, 1]);
        let r = route(Some(vec![1, 3, 0]));
        let mut firsts = [0u32; 3];
        for _ in 0..1000 {
            let o = r.order();
            firsts[o[0]] += 1;
            let mut rest = o[1..].to_vec();
            rest.sort_unstable();
            assert_eq!(rest, o[1..], "the others stay in order");
        }
        assert!(firsts[0] > 0 && firsts[1] > firsts[0], "{firsts:?}");
        assert_eq!(firsts[2], 0, "weight 0: never the primary");
    }
}
