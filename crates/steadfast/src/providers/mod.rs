//! Provider implementations, one module and one cargo feature each.

// Mistral and Azure AI Inference turn on `openai`, so these five cover every built-in provider.
#[cfg(any(
    feature = "openai",
    feature = "anthropic",
    feature = "cohere",
    feature = "gemini",
    feature = "bedrock"
))]
pub(crate) mod common;
#[cfg(any(feature = "openai", feature = "cohere"))]
pub(crate) mod tool_calls;

#[cfg(feature = "anthropic")]
pub mod anthropic;
#[cfg(feature = "azure-inference")]
pub mod azure_inference;
#[cfg(feature = "bedrock")]
pub mod bedrock;
#[cfg(feature = "cohere")]
pub mod cohere;
#[cfg(feature = "gemini")]
pub mod gemini;
#[cfg(feature = "mistral")]
pub mod mistral;
#[cfg(feature = "openai")]
pub mod openai;

#[cfg(all(test, feature = "openai", feature = "anthropic"))]
mod fixture_tests;
