//! The entry point: `llm::call("openai:gpt-4o-mini")`, and the provider registry.
//!
//! Provider identity is always explicit — `"provider:model"` or `("provider", "model")`. Steadfast
//! never guesses a provider from a model name and never falls back to a default provider.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock, RwLock};

use crate::call::Call;
use crate::error::Error;
use crate::provider::Provider;

/// Something that names a provider and a model.
pub trait IntoTarget {
    /// Splits into `(provider, model)`.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) when malformed.
    fn into_target(self) -> Result<(String, String), Error>;
}

impl IntoTarget for &str {
    /// `"provider:model"`; the model may itself contain `:` (only the first one splits).
    fn into_target(self) -> Result<(String, String), Error> {
        let (p, m) = self.split_once(':').ok_or_else(|| {
            Error::config(format!(
                "`{self}` does not name a provider: write PROVIDER:MODEL, e.g. openai:gpt-4o-mini (providers: {})",
                names().join(", ")
            ))
        })?;
        (p, m).into_target()
    }
}

impl IntoTarget for String {
    fn into_target(self) -> Result<(String, String), Error> {
        self.as_str().into_target()
    }
}

impl IntoTarget for &String {
    fn into_target(self) -> Result<(String, String), Error> {
        self.as_str().into_target()
    }
}

impl IntoTarget for (&str, &str) {
    fn into_target(self) -> Result<(String, String), Error> {
        let (p, m) = (self.0.trim(), self.1.trim());
        if p.is_empty() || m.is_empty() {
            return Err(Error::config(format!(
                "a target needs both a provider and a model, got `{}:{}`",
                self.0, self.1
            )));
        }
        Ok((p.to_ascii_lowercase(), m.to_string()))
    }
}

fn registry() -> &'static RwLock<BTreeMap<String, Arc<dyn Provider>>> {
    static REGISTRY: OnceLock<RwLock<BTreeMap<String, Arc<dyn Provider>>>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut map = crate::providers::Registry::new();
        crate::providers::register_builtin(&mut map);
        RwLock::new(map)
    })
}

/// The names of every registered provider, sorted.
pub fn names() -> Vec<String> {
    registry()
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .keys()
        .cloned()
        .collect()
}

/// The provider registered under `name`.
///
/// # Errors
/// [`ErrorKind::Config`](crate::ErrorKind::Config) naming the supported providers when there is
/// none.
pub fn provider(name: &str) -> Result<Arc<dyn Provider>, Error> {
    let key = name.trim().to_ascii_lowercase();
    registry()
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(&key)
        .cloned()
        .ok_or_else(|| {
            Error::config(format!(
                "unknown provider `{name}` (supported: {})",
                names().join(", ")
            ))
        })
}

/// Registers (or replaces) a provider under its [`Provider::name`].
pub fn register(provider: Arc<dyn Provider>) {
    registry()
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(provider.name().to_ascii_lowercase(), provider);
}

/// A call to `target`: `"provider:model"` or `("provider", "model")`.
///
/// Client settings (API key, base URL) come from the provider's conventional environment variables
/// and can be overridden on the returned [`Call`]. A missing key is reported when sending.
///
/// # Errors
/// [`ErrorKind::Config`](crate::ErrorKind::Config) for a malformed target or an unknown provider
/// (the message lists the supported ones).
pub fn call(target: impl IntoTarget) -> Result<Call, Error> {
    let (p, model) = target.into_target()?;
    Ok(Call::new(provider(&p)?, model))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn targets_parse() {
        assert_eq!(
            "openai:gpt-4o-mini".into_target().unwrap(),
            ("openai".into(), "gpt-4o-mini".into())
        );
        assert_eq!(
            "bedrock:anthropic.claude-v2:1".into_target().unwrap(),
            ("bedrock".into(), "anthropic.claude-v2:1".into())
        );
        assert_eq!(
            ("Anthropic", "claude").into_target().unwrap(),
            ("anthropic".into(), "claude".into())
        );
        assert_eq!(
            "gpt-4o".into_target().unwrap_err().kind(),
            ErrorKind::Config
        );
        assert_eq!(
            "openai:".into_target().unwrap_err().kind(),
            ErrorKind::Config
        );
    }

    #[test]
    fn unknown_provider_lists_supported_ones() {
        let e = call("nope:model").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(e.to_string().contains("openai"), "{e}");
        assert!(e.to_string().contains("anthropic"), "{e}");
    }

    #[test]
    fn never_guesses_a_provider() {
        assert!(call("gpt-4o-mini").is_err());
    }
}
