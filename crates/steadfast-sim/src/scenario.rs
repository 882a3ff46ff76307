//! Scenarios: an ordered list of rules, each matching some requests and naming an [`Action`].

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::action::Action;
use crate::error::SimError;
use crate::provider::Dialect;
use crate::quota::ProviderQuota;

/// A script for the simulator: rules tried in order for every request; the first rule that
/// matches decides the action; when none matches the deterministic model answers.
///
/// ```
/// use steadfast_sim::{Action, Dialect, Rule, Scenario};
/// let scenario = Scenario::new()
///     .name("calls")
///     .rule(Rule::new().provider(Dialect::OpenAi).requests([1, 2]).action(Action::rate_limit().retry_after_secs(1)));
/// # let _ = scenario;
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Optional name, shown by the CLI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Optional description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Seed of the probability draws (same seed and request order = same outcomes).
    #[serde(default)]
    pub seed: u64,
    /// When set, only this API key is accepted (others get the provider's auth error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_key: Option<String>,
    /// When set, Bedrock SigV4 signatures are verified with these credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws: Option<AwsSigningKeys>,
    /// The rules, tried in order.
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// Provider quotas enforced before the rules (see [`ProviderQuota`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quotas: Vec<ProviderQuota>,
}

/// AWS credentials the simulator verifies Bedrock SigV4 signatures with.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsSigningKeys {
    /// Access key id (`AKIA…`).
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
}

impl fmt::Debug for AwsSigningKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsSigningKeys")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"***")
            .finish()
    }
}

impl AwsSigningKeys {
    /// Credentials from an access key id and a secret.
    pub fn new(access_key_id: impl Into<String>, secret_access_key: impl Into<String>) -> Self {
        AwsSigningKeys {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
        }
    }
}

impl Scenario {
    /// An empty scenario: every request gets the deterministic model's answer.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the name.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the description.
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets the seed of probability draws.
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Only accept this API key.
    #[must_use]
    pub fn require_key(mut self, key: impl Into<String>) -> Self {
        self.require_key = Some(key.into());
        self
    }

    /// Verify Bedrock SigV4 signatures with these credentials.
    #[must_use]
    pub fn aws_credentials(mut self, credentials: AwsSigningKeys) -> Self {
        self.aws = Some(credentials);
        self
    }

    /// Appends a rule.
    #[must_use]
    pub fn rule(mut self, rule: Rule) -> Self {
        self.rules.push(rule);
        self
    }

    /// Adds a provider quota, enforced before the rules.
    #[must_use]
    pub fn quota(mut self, quota: ProviderQuota) -> Self {
        self.quotas.push(quota);
        self
    }

    /// Parses a TOML scenario.
    ///
    /// # Errors
    /// [`SimError::InvalidScenario`] when the text is not a valid scenario.
    pub fn from_toml_str(text: &str) -> Result<Self, SimError> {
        toml::from_str(text).map_err(|e| SimError::InvalidScenario(e.to_string()))
    }

    /// Parses a JSON scenario.
    ///
    /// # Errors
    /// [`SimError::InvalidScenario`] when the text is not a valid scenario.
    pub fn from_json_str(text: &str) -> Result<Self, SimError> {
        serde_json::from_str(text).map_err(|e| SimError::InvalidScenario(e.to_string()))
    }

    /// Parses a scenario whose format is guessed from its first non-blank character
    /// (`{` = JSON, otherwise TOML).
    ///
    /// # Errors
    /// [`SimError::InvalidScenario`] when the text is not a valid scenario.
    pub fn from_str_any(text: &str) -> Result<Self, SimError> {
        if text.trim_start().starts_with('{') {
            Self::from_json_str(text)
        } else {
            Self::from_toml_str(text)
        }
    }

    /// Loads a scenario file: `.json` is JSON, `.toml` is TOML, anything else is guessed.
    ///
    /// # Errors
    /// [`SimError::Io`] if the file cannot be read, [`SimError::InvalidScenario`] if it is not a
    /// valid scenario.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self, SimError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| SimError::Io {
            context: format!("reading {}", path.display()),
            source,
        })?;
        let parsed = match path.extension().and_then(|e| e.to_str()) {
            Some("json") => Self::from_json_str(&text),
            Some("toml") => Self::from_toml_str(&text),
            _ => Self::from_str_any(&text),
        };
        parsed.map_err(|e| match e {
            SimError::InvalidScenario(m) => {
                SimError::InvalidScenario(format!("{}: {m}", path.display()))
            }
            other => other,
        })
    }

    /// The scenario as TOML.
    ///
    /// # Errors
    /// [`SimError::InvalidScenario`] if a value cannot be expressed in TOML (e.g. a JSON `null`
    /// inside scripted structured output).
    pub fn to_toml_string(&self) -> Result<String, SimError> {
        toml::to_string(self).map_err(|e| SimError::InvalidScenario(e.to_string()))
    }
}

/// One rule: filters (all optional; an absent filter matches everything), the request numbers it
/// applies to among the requests passing its filters, an optional seeded probability, and the
/// action.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Providers this rule applies to (empty = all).
    #[serde(
        default,
        rename = "provider",
        with = "one_or_many",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub providers: Vec<Dialect>,
    /// Models this rule applies to (empty = all). For Azure OpenAI the model is the deployment.
    #[serde(
        default,
        rename = "model",
        with = "one_or_many",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub models: Vec<String>,
    /// Path prefix this rule applies to (e.g. `/groq/`), for matching by route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Only streaming (`true`) or only non-streaming (`false`) requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// The 1-based request numbers, counted among requests passing this rule's filters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<RequestSet>,
    /// Probability (0..=1) that a request passing the other conditions matches, drawn from the
    /// scenario seed, the rule index and the request number (deterministic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// What to do.
    #[serde(default)]
    pub action: Action,
}

impl Rule {
    /// A rule that matches every request and answers with the model (refine it with the
    /// builder methods).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Restricts the rule to a provider (call again to add more).
    #[must_use]
    pub fn provider(mut self, provider: Dialect) -> Self {
        self.providers.push(provider);
        self
    }

    /// Restricts the rule to a model (call again to add more).
    #[must_use]
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.models.push(model.into());
        self
    }

    /// Restricts the rule to request paths starting with this prefix.
    #[must_use]
    pub fn path(mut self, prefix: impl Into<String>) -> Self {
        self.path = Some(prefix.into());
        self
    }

    /// Restricts the rule to streaming (`true`) or non-streaming (`false`) requests.
    #[must_use]
    pub fn stream(mut self, stream: bool) -> Self {
        self.stream = Some(stream);
        self
    }

    /// Applies only to these request numbers (1-based, among requests passing the filters).
    #[must_use]
    pub fn requests(mut self, numbers: impl IntoIterator<Item = u64>) -> Self {
        self.requests = Some(RequestSet::List(numbers.into_iter().collect()));
        self
    }

    /// Applies to request numbers `from..=to`.
    #[must_use]
    pub fn requests_range(mut self, from: u64, to: u64) -> Self {
        self.requests = Some(RequestSet::Range { from, to: Some(to) });
        self
    }

    /// Applies to request numbers `from` and later.
    #[must_use]
    pub fn requests_from(mut self, from: u64) -> Self {
        self.requests = Some(RequestSet::Range { from, to: None });
        self
    }

    /// Matches with this probability (seeded, deterministic).
    #[must_use]
    pub fn probability(mut self, p: f64) -> Self {
        self.probability = Some(p);
        self
    }

    /// Sets the action.
    #[must_use]
    pub fn action(mut self, action: Action) -> Self {
        self.action = action;
        self
    }
}

/// Request numbers a rule applies to. In files: `requests = [1, 2]`, `requests = 3`,
/// `requests = "2..4"` (inclusive), `requests = "3.."` (3 and later).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestSet {
    /// These exact numbers.
    List(Vec<u64>),
    /// `from..=to`, or `from..` when `to` is `None`.
    Range {
        /// First number (inclusive).
        from: u64,
        /// Last number (inclusive), or unbounded.
        to: Option<u64>,
    },
}

impl RequestSet {
    /// Whether request number `n` (1-based) is in the set.
    pub fn contains(&self, n: u64) -> bool {
        match self {
            RequestSet::List(list) => list.contains(&n),
            RequestSet::Range { from, to } => n >= *from && to.is_none_or(|t| n <= t),
        }
    }

    fn parse(s: &str) -> Option<RequestSet> {
        let s = s.trim();
        if let Some((a, b)) = s.split_once("..") {
            let from = a.trim().parse().ok()?;
            let b = b.trim().trim_start_matches('=');
            let to = if b.is_empty() {
                None
            } else {
                Some(b.trim().parse().ok()?)
            };
            Some(RequestSet::Range { from, to })
        } else {
            Some(RequestSet::List(vec![s.parse().ok()?]))
        }
    }
}

impl Serialize for RequestSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            RequestSet::List(list) => list.serialize(s),
            RequestSet::Range { from, to: Some(to) } => s.serialize_str(&format!("{from}..{to}")),
            RequestSet::Range { from, to: None } => s.serialize_str(&format!("{from}..")),
        }
    }
}

impl<'de> Deserialize<'de> for RequestSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            One(u64),
            Many(Vec<u64>),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::One(n) => Ok(RequestSet::List(vec![n])),
            Raw::Many(list) => Ok(RequestSet::List(list)),
            Raw::Text(t) => RequestSet::parse(&t).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "invalid requests `{t}` (use [1, 2], 3, \"2..4\" or \"3..\")"
                ))
            }),
        }
    }
}

pub(crate) mod one_or_many {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(crate) fn serialize<T: Serialize, S: Serializer>(v: &[T], s: S) -> Result<S::Ok, S::Error> {
        match v {
            [one] => one.serialize(s),
            many => many.serialize(s),
        }
    }

    pub(crate) fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<T>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw<T> {
            One(T),
            Many(Vec<T>),
        }
        Ok(match Raw::<T>::deserialize(d)? {
            Raw::One(v) => vec![v],
            Raw::Many(v) => v,
        })
    }
}
