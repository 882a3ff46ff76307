//! Provider implementations, one module and one cargo feature each.

pub(crate) mod common;

#[cfg(feature = "anthropic")]
pub mod anthropic;
#[cfg(feature = "bedrock")]
pub mod bedrock;
#[cfg(feature = "openai")]
pub mod openai;

#[cfg(all(test, feature = "openai", feature = "anthropic"))]
mod fixture_tests;
