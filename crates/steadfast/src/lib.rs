#![doc = include_str!("../README.md")]

pub mod call;
pub mod client;
pub mod codec;
pub mod error;
pub mod guide;
pub mod llm;
pub mod message;
pub mod output;
pub mod prompt;
pub mod provider;
pub mod providers;
pub mod quota;
pub mod resilient;
pub mod response;
pub mod stream;
pub mod telemetry;
pub mod tool;
#[cfg(feature = "__http")]
mod transport;

pub use call::Call;
pub use client::{ApiKey, ClientConfig, Timeouts};
pub use error::{Error, ErrorKind, PartialOutput, Result, UnknownErrorKind, ValidationFailure};
pub use message::{ImageSource, Message, OtherPart, Part, Reasoning, Role, ToolCall, ToolResult};
pub use output::{OutputFormat, OutputMode};
pub use prompt::{Prompt, Template, Vars};
pub use provider::{
    Capabilities, ChatRequest, EncodedRequest, HttpCodec, Params, Provider, ProviderEvent,
    StreamEvent,
};
pub use resilient::{Extract, Resilient};
pub use response::{AttemptSummary, Citation, FinishReason, Response, ResponseBuilder, Usage};
pub use stream::ResponseStream;
pub use tool::{Tool, ToolChoice, ToolUse};

/// Generic resilience (retry policies, fallback chains, budgets, circuit breakers): the
/// `steadfast-retry` crate.
pub use steadfast_retry as retry;

/// Prompt functions: `#[steadfast::call("provider:model", ..)]` turns a function whose body
/// returns a prompt into a model call (the return type chooses what comes back), and
/// `#[steadfast::prompt_template("..")]` gives a body-less function a checked template. The
/// attributes' docs show their expansion. (The `macros` feature, on by default.)
#[cfg(feature = "macros")]
pub use steadfast_macros::{call, fallback, prompt_template, retry};
