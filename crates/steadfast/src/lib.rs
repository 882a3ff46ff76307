#![doc = include_str!("../README.md")]

pub mod call;
pub mod client;
pub mod codec;
pub mod error;
pub mod llm;
pub mod message;
pub mod output;
pub mod prompt;
pub mod provider;
pub mod providers;
pub mod resilience;
pub mod resilient;
pub mod response;
pub mod stream;
pub mod tool;
mod transport;

pub use call::{Call, Extract};
pub use client::{ApiKey, ClientConfig, Timeouts};
pub use error::{Error, ErrorKind, PartialOutput, Result, ValidationFailure};
pub use message::{ImageSource, Message, Part, Role, ToolCall, ToolResult};
pub use output::{OutputFormat, OutputMode};
pub use prompt::{Prompt, Template, Vars};
pub use provider::{
    Capabilities, ChatRequest, EncodedRequest, HttpCodec, Params, Provider, StreamEvent,
};
pub use resilience::RetryExt;
pub use resilient::{Resilient, ResilientExtract};
pub use response::{AttemptSummary, FinishReason, Response, Usage};
pub use stream::Stream;
pub use tool::{Tool, ToolChoice, ToolUse};

/// Generic resilience (retry policies, fallback chains, budgets, circuit breakers): the
/// `steadfast-retry` crate.
pub use steadfast_retry as retry;
