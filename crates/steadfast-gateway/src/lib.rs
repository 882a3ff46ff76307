//! `steadfast-gateway`: the steadfast resilience engine behind the OpenAI Chat Completions and
//! Anthropic Messages wire protocols, so that any language's official SDK gets the library's
//! retries, fallbacks and commit-point streaming.
//!
//! A request in either protocol is decoded into the library's provider-independent request
//! ([`inbound`]), routed by its model name ([`routes`]) to any provider the library supports,
//! sent with [`steadfast::Resilient`] (one retry policy owns every retry), and answered in the
//! caller's protocol. Streams retry and fall back invisibly until their commit point (the first
//! content); after it, an upstream failure ends the client's stream with the protocol's own error
//! event. Every response carries `x-steadfast-attempts`, `x-steadfast-target` and a request id
//! (`x-request-id` for OpenAI, `request-id` for Anthropic).
//!
//! Structured output (OpenAI `response_format`, Anthropic `output_config.format`) is validated
//! against its schema and retried when it fails. Asked for with `stream: true`, it is still
//! validated whole first: **such a stream starts only once the validated answer is complete**,
//! and then carries it as the protocol's ordinary stream (the JSON as one text delta, the
//! finish, the usage), so the client never sees output that failed validation; a failure is
//! the ordinary error response.
//!
//! The [`config`] adds per-alias retry budgets (shared across replicas through Redis with
//! [`Config::share_budgets`]) and opt-in content logging ([`Gateway::log_content`]): the access
//! log (target `steadfast_gateway::access`) never holds a key, and holds prompts and answers
//! only when asked to.
//!
//! ```no_run
//! use steadfast_gateway::{Gateway, ProviderTargets};
//!
//! # async fn run() -> std::io::Result<()> {
//! let gateway = Gateway::new(ProviderTargets::new().base_url("openai", "http://127.0.0.1:9/v1"));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! println!("http://{}", listener.local_addr()?);
//! gateway.serve(listener, std::future::pending()).await
//! # }
//! ```

pub mod config;
pub mod errors;
pub mod inbound;
mod keys;
pub mod metrics;
pub mod routes;
mod server;

pub use config::{Config, ConfigError};
pub use inbound::{ApiError, InboundRequest, Protocol};
pub use keys::{InboundKeys, KeyLimits};
pub use routes::{ProviderTargets, Resolve, Route};
pub use server::Gateway;
