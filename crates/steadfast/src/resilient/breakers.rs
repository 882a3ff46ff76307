//! [`Breakers`]: one circuit breaker per target.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use steadfast_retry::CircuitBreaker;
use steadfast_retry::circuit::{CircuitBreakerBuilder, InvalidCircuit};

use crate::call::Call;

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
#[derive(Clone, Debug)]
pub struct Breakers {
    config: CircuitBreakerBuilder,
    map: Arc<Mutex<HashMap<String, CircuitBreaker>>>,
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
        })
    }

    /// The breaker of `call`'s target.
    pub fn get(&self, call: &Call) -> Option<CircuitBreaker> {
        let key = target_key(call);
        let mut map = self
            .map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(b) = map.get(&key) {
            return Some(b.clone());
        }
        let b = self.config.build().ok()?;
        map.insert(key, b.clone());
        Some(b)
    }

    /// The lookup to hand to [`Fallback::breaker`](steadfast_retry::Fallback::breaker).
    pub fn lookup(&self) -> impl Fn(&Call) -> Option<CircuitBreaker> + Send + Sync + 'static {
        let me = self.clone();
        move |c: &Call| me.get(c)
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
