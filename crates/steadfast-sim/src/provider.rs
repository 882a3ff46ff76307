//! The providers the simulator speaks, their URL prefixes and environment variables.

use std::fmt;
use std::str::FromStr;

/// A provider (or provider variant) whose wire protocol the simulator serves.
///
/// Each provider is served under its own URL prefix (see [`Dialect::prefix`]) because several
/// of them share the same path (`/v1/chat/completions`). The un-prefixed canonical paths are
/// served too, attributed to the protocol that owns them (for example `/v1/chat/completions` is
/// OpenAI and `/v1/messages` is Anthropic), so an SDK's default path layout works.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Dialect {
    /// OpenAI Chat Completions.
    OpenAi,
    /// Groq (OpenAI-compatible, under `/openai/v1`).
    Groq,
    /// xAI (OpenAI-compatible; an invalid key is a 400).
    Xai,
    /// A LiteLLM proxy (OpenAI-compatible; error `code` is the status as a string).
    LiteLlm,
    /// Azure OpenAI (deployment URLs, `api-version`, `api-key`).
    AzureOpenAi,
    /// Azure AI Inference (`/models/chat/completions?api-version=`).
    AzureInference,
    /// Anthropic Messages.
    Anthropic,
    /// Google Gemini (Developer API, API-key form).
    Gemini,
    /// Mistral chat completions (strict about unknown fields).
    Mistral,
    /// Cohere v2 chat.
    Cohere,
    /// AWS Bedrock Runtime Converse / ConverseStream.
    Bedrock,
}

/// The environment variables an application reads for one provider's base URL and key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EnvVars {
    /// Variable holding the base URL (in the official SDK's convention).
    pub base_url: &'static str,
    /// Variable holding the API key.
    pub api_key: &'static str,
}

impl Dialect {
    /// Every provider, in a stable order.
    pub const ALL: [Dialect; 11] = [
        Dialect::OpenAi,
        Dialect::Groq,
        Dialect::Xai,
        Dialect::LiteLlm,
        Dialect::AzureOpenAi,
        Dialect::AzureInference,
        Dialect::Anthropic,
        Dialect::Gemini,
        Dialect::Mistral,
        Dialect::Cohere,
        Dialect::Bedrock,
    ];

    /// The provider's short name, as used in scenario files and `provider:model` strings.
    pub const fn name(self) -> &'static str {
        match self {
            Dialect::OpenAi => "openai",
            Dialect::Groq => "groq",
            Dialect::Xai => "xai",
            Dialect::LiteLlm => "litellm",
            Dialect::AzureOpenAi => "azure",
            Dialect::AzureInference => "azure-inference",
            Dialect::Anthropic => "anthropic",
            Dialect::Gemini => "gemini",
            Dialect::Mistral => "mistral",
            Dialect::Cohere => "cohere",
            Dialect::Bedrock => "bedrock",
        }
    }

    /// The URL path prefix this provider is served under (no trailing slash).
    pub const fn prefix(self) -> &'static str {
        match self {
            Dialect::OpenAi => "/openai",
            Dialect::Groq => "/groq",
            Dialect::Xai => "/xai",
            Dialect::LiteLlm => "/litellm",
            Dialect::AzureOpenAi => "/azure",
            Dialect::AzureInference => "/azure-inference",
            Dialect::Anthropic => "/anthropic",
            Dialect::Gemini => "/gemini",
            Dialect::Mistral => "/mistral",
            Dialect::Cohere => "/cohere",
            Dialect::Bedrock => "/bedrock",
        }
    }

    /// The path to append to the simulator's root URL to get the base URL in the official
    /// SDK's convention: OpenAI-family bases include `/v1`; Anthropic, Gemini, Mistral, Cohere,
    /// Azure and Bedrock bases do not include a version.
    pub const fn base_path(self) -> &'static str {
        match self {
            Dialect::OpenAi => "/openai/v1",
            Dialect::Groq => "/groq/openai/v1",
            Dialect::Xai => "/xai/v1",
            Dialect::LiteLlm => "/litellm/v1",
            other => other.prefix(),
        }
    }

    /// The environment variables for this provider's base URL and API key.
    pub const fn env_vars(self) -> EnvVars {
        let (base_url, api_key) = match self {
            Dialect::OpenAi => ("OPENAI_BASE_URL", "OPENAI_API_KEY"),
            Dialect::Groq => ("GROQ_BASE_URL", "GROQ_API_KEY"),
            Dialect::Xai => ("XAI_BASE_URL", "XAI_API_KEY"),
            Dialect::LiteLlm => ("LITELLM_BASE_URL", "LITELLM_API_KEY"),
            Dialect::AzureOpenAi => ("AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY"),
            Dialect::AzureInference => {
                ("AZURE_AI_INFERENCE_ENDPOINT", "AZURE_AI_INFERENCE_API_KEY")
            }
            Dialect::Anthropic => ("ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY"),
            Dialect::Gemini => ("GOOGLE_GEMINI_BASE_URL", "GEMINI_API_KEY"),
            Dialect::Mistral => ("MISTRAL_BASE_URL", "MISTRAL_API_KEY"),
            Dialect::Cohere => ("CO_API_URL", "CO_API_KEY"),
            Dialect::Bedrock => (
                "AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
                "AWS_BEARER_TOKEN_BEDROCK",
            ),
        };
        EnvVars { base_url, api_key }
    }

    pub(crate) const fn index(self) -> usize {
        match self {
            Dialect::OpenAi => 0,
            Dialect::Groq => 1,
            Dialect::Xai => 2,
            Dialect::LiteLlm => 3,
            Dialect::AzureOpenAi => 4,
            Dialect::AzureInference => 5,
            Dialect::Anthropic => 6,
            Dialect::Gemini => 7,
            Dialect::Mistral => 8,
            Dialect::Cohere => 9,
            Dialect::Bedrock => 10,
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error returned when parsing an unknown provider name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown provider `{name}` (supported: openai, groq, xai, litellm, azure, azure-inference, anthropic, gemini, mistral, cohere, bedrock)"
)]
pub struct UnknownDialect {
    name: String,
}

impl UnknownDialect {
    /// The name that was not recognised.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl FromStr for Dialect {
    type Err = UnknownDialect;

    /// Parses a provider name as returned by [`Dialect::name`] (case-insensitive; `azure-openai`
    /// and `azure_inference` are accepted aliases).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        let found = match lower.as_str() {
            "azure-openai" | "azure_openai" => Some(Dialect::AzureOpenAi),
            "azure_inference" | "azure-ai-inference" => Some(Dialect::AzureInference),
            name => Dialect::ALL.into_iter().find(|p| p.name() == name),
        };
        found.ok_or(UnknownDialect { name: s.to_owned() })
    }
}

impl serde::Serialize for Dialect {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Dialect {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in Dialect::ALL {
            assert_eq!(p.name().parse::<Dialect>(), Ok(p));
            assert_eq!(Dialect::ALL[p.index()], p);
        }
        assert!("openia".parse::<Dialect>().is_err());
    }
}
