//! Incremental decoders for the streaming wire formats the providers use.
//!
//! - [`sse`]: `text/event-stream` (OpenAI, Anthropic, Gemini, Mistral, Cohere, Azure).
//! - [`eventstream`]: AWS `application/vnd.amazon.eventstream` binary frames (Bedrock).
//!
//! Both are push decoders: feed bytes as they arrive from the network, in chunks of any size, and pull
//! complete events out. Neither ever grows without bound: each has a configurable size limit and
//! reports a typed error beyond it.

pub mod eventstream;
pub mod sse;
