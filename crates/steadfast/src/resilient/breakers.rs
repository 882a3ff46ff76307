//! [`Breakers`]: one circuit breaker per target.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use steadfast_retry::CircuitBreaker;
use steadfast_retry::circuit::{
    CircuitBreakerBuilder, CircuitObserver, CircuitState, InvalidCircuit, Origin, Transition,
};

use crate::call::Call;
#[cfg(feature = "redis")]
use crate::quota::redis::BreakerSharing;
#[cfg(feature = "redis")]
use crate::quota::redis::breakers::{Fleet, FleetObserver};
use crate::telemetry::Recorder;
use crate::telemetry::metrics::BreakerMeasurement;

/// One circuit breaker per target — provider, model, base URL and region — created on first use,
/// so a fallback chain skips targets known to be down:
///
/// ```
/// use steadfast::resilient::{Breakers, TRANSIENT, fallback, kinds};
/// use steadfast::retry::CircuitBreaker;
///
/// let breakers = Breakers::new(CircuitBreaker::builder().window(20).min_calls(5).failure_rate(0.5))?;
/// let chain = fallback(kinds(TRANSIENT)).breaker(breakers.lookup());
/// # let _ = chain;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Clones share the same breakers. [`recorder`](Self::recorder) reports every transition to a
/// metrics [`Recorder`]; with the `redis` feature, `shared` shares the breakers' open/half-open
/// decisions with every process using the same Redis.
#[derive(Clone)]
pub struct Breakers {
    config: CircuitBreakerBuilder,
    map: Arc<Mutex<HashMap<String, Tracked>>>,
    recorder: Option<Arc<dyn Recorder>>,
    #[cfg(feature = "redis")]
    fleet: Option<Arc<Fleet>>,
}

impl fmt::Debug for Breakers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Breakers");
        d.field("config", &self.config)
            .field("recorder", &self.recorder.is_some());
        #[cfg(feature = "redis")]
        d.field("fleet", &self.fleet);
        d.finish_non_exhaustive()
    }
}

impl Breakers {
    /// Breakers configured by `config` (validated now, so every later one builds).
    ///
    /// # Errors
    /// The configuration's error (failure rate outside `(0, 1]`, empty window, …).
    pub fn new(config: CircuitBreakerBuilder) -> Result<Self, InvalidCircuit> {
        config.build()?;
        Ok(Breakers {
            config,
            map: Arc::default(),
            recorder: None,
            #[cfg(feature = "redis")]
            fleet: None,
        })
    }

    /// These breakers, reporting every transition (`from`, `to`, and whether another process
    /// decided it) to `recorder`'s [`breaker`](Recorder::breaker) method — the
    /// `steadfast.client.breaker.state` metric of the `otel` feature's recorder.
    ///
    /// A new set: breakers created before this call are not carried over, so call it before
    /// handing out [`lookup`](Self::lookup)s.
    #[must_use]
    pub fn recorder(self, recorder: Arc<dyn Recorder>) -> Self {
        Breakers {
            map: Arc::default(),
            recorder: Some(recorder),
            ..self
        }
    }

    /// These breakers, sharing their decisions with every process whose breakers share through
    /// the same Redis (feature `redis`): failures are counted locally; an open breaker in one
    /// process is honoured by all within one refresh interval; when the cooldown ends exactly
    /// one process of the fleet sends the probe; its outcome closes or reopens the target for
    /// all. No call waits for Redis: a background task exchanges the decisions, and while Redis
    /// is unreachable the breakers act alone. See [`BreakerSharing`] for the semantics, keys
    /// and defaults.
    ///
    /// A new set, like [`recorder`](Self::recorder); its breakers are built with
    /// [`remote_probe`](CircuitBreakerBuilder::remote_probe).
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) outside a Tokio runtime (the refresher is
    /// a task spawned here), or for a zero refresh interval or probe lease.
    #[cfg(feature = "redis")]
    pub fn shared(self, sharing: BreakerSharing) -> Result<Self, crate::Error> {
        let fleet = sharing.start()?;
        Ok(Breakers {
            map: Arc::default(),
            fleet: Some(fleet),
            ..self
        })
    }

    /// The breaker of `call`'s target.
    pub fn get(&self, call: &Call) -> Option<CircuitBreaker> {
        let key = target_key(call);
        let mut map = self
            .map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(t) = map.get(&key) {
            return Some(t.breaker.clone());
        }
        let target = call.target();
        let server = call.server().map(|(host, _)| host.to_string());
        let b = self.build(call, &target, server.as_deref()).ok()?;
        map.insert(
            key,
            Tracked {
                breaker: b.clone(),
                target,
                server,
            },
        );
        Some(b)
    }

    /// The state of every breaker made so far (a target's breaker is made when a call first
    /// consults it), for a health page or a metrics endpoint: sorted by target, then server.
    /// An open breaker whose cooldown has ended reads as half-open.
    pub fn states(&self) -> Vec<BreakerStatus> {
        let map = self
            .map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out: Vec<BreakerStatus> = map
            .values()
            .map(|t| BreakerStatus {
                target: t.target.clone(),
                server: t.server.clone(),
                state: t.breaker.state(),
            })
            .collect();
        drop(map);
        out.sort_by(|a, b| (&a.target, &a.server).cmp(&(&b.target, &b.server)));
        out
    }

    /// `call`'s breaker, reporting as `target` (`provider:model`) on `server`.
    #[cfg_attr(
        not(feature = "redis"),
        expect(
            unused_variables,
            reason = "`call` names the shared breaker (feature `redis`)"
        )
    )]
    fn build(
        &self,
        call: &Call,
        target: &str,
        server: Option<&str>,
    ) -> Result<CircuitBreaker, InvalidCircuit> {
        let recorder = self
            .recorder
            .as_ref()
            .map(|r| (Arc::clone(r), target.to_owned(), server.map(str::to_owned)));
        #[cfg(feature = "redis")]
        let fleet = self
            .fleet
            .as_ref()
            .map(|f| f.observer(&shared_identity(call)));
        #[cfg(feature = "redis")]
        let shared = fleet.is_some();
        #[cfg(not(feature = "redis"))]
        let shared = false;
        if recorder.is_none() && !shared {
            return self.config.build();
        }
        let observer = Arc::new(TargetObserver {
            recorder,
            #[cfg(feature = "redis")]
            fleet,
        });
        let breaker = self
            .config
            .remote_probe(shared)
            .build_observed(Arc::clone(&observer) as Arc<dyn CircuitObserver>)?;
        #[cfg(feature = "redis")]
        if let (Some(fleet), Some(o)) = (&self.fleet, &observer.fleet) {
            fleet.register(o, &breaker);
        }
        Ok(breaker)
    }

    /// The lookup to hand to [`Fallback::breaker`](steadfast_retry::Fallback::breaker).
    pub fn lookup(&self) -> impl Fn(&Call) -> Option<CircuitBreaker> + Send + Sync + 'static {
        let me = self.clone();
        move |c: &Call| me.get(c)
    }
}

/// One target's breaker, as [`Breakers::states`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BreakerStatus {
    /// The target as `provider:model`.
    pub target: String,
    /// The host of the target's base URL, when it has one (two deployments of one model differ
    /// by it). Never the URL itself, which may hold credentials.
    pub server: Option<String>,
    /// The breaker's state now.
    pub state: CircuitState,
}

/// A target's breaker and the labels it is reported under.
struct Tracked {
    breaker: CircuitBreaker,
    target: String,
    server: Option<String>,
}

/// What one target's breaker reports its transitions to.
struct TargetObserver {
    /// The recorder, the `provider:model` label and the server address.
    recorder: Option<(Arc<dyn Recorder>, String, Option<String>)>,
    #[cfg(feature = "redis")]
    fleet: Option<FleetObserver>,
}

impl CircuitObserver for TargetObserver {
    fn transition(&self, t: &Transition) {
        if let Some((recorder, target, server)) = &self.recorder {
            recorder.breaker(&BreakerMeasurement {
                target,
                server_address: server.as_deref(),
                from: t.from,
                to: t.to,
                remote: t.origin == Origin::Remote,
            });
        }
        #[cfg(feature = "redis")]
        if let Some(fleet) = &self.fleet {
            fleet.transition(t);
        }
    }
}

/// `provider:model@base_url#placement`: what places a target (the provider settings' placement —
/// Bedrock's region — places a call that has no base URL).
fn target_key(call: &Call) -> String {
    format!(
        "{}:{}@{}#{}",
        call.provider_name(),
        call.model(),
        call.client().base_url.as_deref().unwrap_or(""),
        call.placement()
    )
}

/// The target's identity as shared with other processes: [`target_key`] with the base URL's user
/// info, query and fragment removed (they may hold credentials; the key is hashed as well).
#[cfg(any(feature = "redis", all(test, feature = "openai")))]
fn shared_identity(call: &Call) -> String {
    format!(
        "{}:{}@{}#{}",
        call.provider_name(),
        call.model(),
        call.client()
            .base_url
            .as_deref()
            .map_or_else(String::new, without_secrets),
        call.placement()
    )
}

/// `scheme://host[:port]/path` of a URL: no user info, query or fragment.
#[cfg(any(feature = "redis", all(test, feature = "openai")))]
fn without_secrets(url: &str) -> String {
    let url = url.split(['?', '#']).next().unwrap_or_default();
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if scheme.is_empty() {
        format!("{host}{path}")
    } else {
        format!("{scheme}://{host}{path}")
    }
}
#[cfg(all(test, feature = "openai"))]
mod tests {
    use super::*;

    #[test]
    fn one_breaker_per_target() {
        let breakers = Breakers::new(CircuitBreaker::builder()).unwrap();
        let a = crate::llm::call("openai:m")
            .unwrap()
            .base_url("http://a/v1");
        let b = a.clone().base_url("http://b/v1");
        assert_eq!(target_key(&a), target_key(&a.clone()));
        assert_ne!(target_key(&a), target_key(&b));
        assert!(breakers.get(&a).is_some());
    }

    #[test]
    fn the_shared_identity_leaves_credentials_out() {
        let call = crate::llm::call("openai:m")
            .unwrap()
            .base_url("https://user:hunter2@proxy.example:8443/v1?api-key=k-secret#frag");
        let id = shared_identity(&call);
        assert_eq!(id, "openai:m@https://proxy.example:8443/v1#");
        assert_eq!(
            without_secrets("proxy.example/v1?key=k"),
            "proxy.example/v1"
        );
        assert_eq!(without_secrets("http://h"), "http://h");
    }

    #[cfg(feature = "bedrock")]
    #[test]
    fn two_bedrock_regions_are_two_targets() {
        use crate::providers::bedrock::BedrockCallExt;
        let base = crate::llm::call("bedrock:amazon.nova-lite-v1:0").unwrap();
        let (east, west) = (
            base.clone().aws_region("us-east-1"),
            base.aws_region("eu-west-1"),
        );
        assert_ne!(target_key(&east), target_key(&west));
        assert!(
            target_key(&east).ends_with("#us-east-1"),
            "{}",
            target_key(&east)
        );
        assert!(!east.same_request_target(&west));
        assert!(east.same_request_target(&east.clone()));
    }
}
