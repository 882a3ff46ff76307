//! Shared helpers for the simulator-backed integration tests.

#![allow(dead_code, reason = "each test binary uses a different subset")]

use steadfast::{Call, llm};
use steadfast_sim::{Provider as SimProvider, Scenario, Simulator};

/// A provider as the conformance suite sees it: Steadfast's name, a model, and the simulator
/// protocol that serves it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target {
    pub(crate) name: &'static str,
    pub(crate) model: &'static str,
    pub(crate) sim: SimProvider,
}

/// Every provider the conformance suite runs against.
pub(crate) const TARGETS: &[Target] = &[
    Target {
        name: "openai",
        model: "gpt-4o-mini",
        sim: SimProvider::OpenAi,
    },
    Target {
        name: "anthropic",
        model: "claude-3-5-sonnet-latest",
        sim: SimProvider::Anthropic,
    },
    Target {
        name: "groq",
        model: "llama-3.3-70b-versatile",
        sim: SimProvider::Groq,
    },
    Target {
        name: "xai",
        model: "grok-3-mini",
        sim: SimProvider::Xai,
    },
    Target {
        name: "litellm",
        model: "gpt-4o-mini",
        sim: SimProvider::LiteLlm,
    },
    Target {
        name: "azure",
        model: "my-gpt-4o-deployment",
        sim: SimProvider::AzureOpenAi,
    },
    Target {
        name: "cohere",
        model: "command-a-03-2025",
        sim: SimProvider::Cohere,
    },
    Target {
        name: "azure-inference",
        model: "mistral-large-2411",
        sim: SimProvider::AzureInference,
    },
    Target {
        name: "mistral",
        model: "mistral-small-latest",
        sim: SimProvider::Mistral,
    },
    Target {
        name: "gemini",
        model: "gemini-2.0-flash",
        sim: SimProvider::Gemini,
    },
    Target {
        name: "bedrock",
        model: "anthropic.claude-3-5-sonnet-20240620-v1:0",
        sim: SimProvider::Bedrock,
    },
];

/// Providers whose non-streaming responses carry no documented request-id header.
pub(crate) const NO_REQUEST_ID: &[&str] = &["mistral"];

pub(crate) const TEST_KEY: &str = "sk-test-0123456789abcdef";

pub(crate) async fn sim(scenario: Scenario) -> Simulator {
    Simulator::start(scenario).await.expect("simulator starts")
}

/// A call for `t` pointed at `sim`.
pub(crate) fn call(t: &Target, sim: &Simulator) -> Call {
    llm::call((t.name, t.model))
        .unwrap()
        .base_url(sim.base_url(t.sim))
        .api_key(TEST_KEY)
}
