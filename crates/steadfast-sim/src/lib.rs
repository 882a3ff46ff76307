//! `steadfast-sim`: a fault-injecting simulator of LLM provider wire protocols.
//!
//! A real HTTP server on loopback that speaks OpenAI Chat Completions (and Groq, xAI, LiteLLM,
//! Azure OpenAI, Azure AI Inference, Mistral), Anthropic Messages, Google Gemini, Cohere v2 and
//! AWS Bedrock Converse — same paths, headers, JSON, SSE events and eventstream frames as the
//! real services — with a deterministic model and scripted faults. Tests embed it with
//! [`Simulator::start`]; other languages use the `steadfast-sim` binary and its `/__sim/*`
//! control plane. The scenario file format is documented in the crate README.
//!
//! ```no_run
//! use steadfast_sim::{Action, Dialect, Rule, Scenario, Simulator};
//! # async fn demo() -> Result<(), steadfast_sim::SimError> {
//! let scenario = Scenario::new().rule(
//!     Rule::new()
//!         .provider(Dialect::OpenAi)
//!         .requests([1, 2])
//!         .action(Action::rate_limit().retry_after_secs(1)),
//! );
//! let sim = Simulator::start(scenario).await?;
//! let base_url = sim.base_url(Dialect::OpenAi); // http://127.0.0.1:PORT/openai/v1
//! // ... point a client at base_url; the first two requests get a 429, the third succeeds ...
//! assert_eq!(sim.requests_for(Dialect::OpenAi), 0);
//! # let _ = base_url; Ok(()) }
//! ```
//!
//! The deterministic model answers `Echo: <last user message>` (streamed word by word),
//! honours `max_tokens` (whitespace words count as tokens; finish reason `length`), calls a
//! tool when `tool_choice` forces one (arguments generated from the tool's JSON Schema) or when
//! the last user message names a declared tool, and answers structured-output requests with a
//! JSON value generated from the schema.

mod action;
mod banner;
mod control;
mod dispatch;
mod engine;
mod error;
mod eventstream;
mod journal;
mod model;
mod provider;
mod providers;
mod quota;
mod scenario;
mod schema;
mod server;
mod sigv4;

pub use action::{Action, FaultKind, ToolCallScript};
pub use banner::{DEFAULT_KEY, describe, exports};
pub use error::SimError;
pub use journal::JournalEntry;
pub use provider::{Dialect, EnvVars, UnknownDialect};
pub use quota::ProviderQuota;
pub use scenario::{AwsSigningKeys, RequestSet, Rule, Scenario};
pub use server::Simulator;
