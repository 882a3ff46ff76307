//! The guide: how to use steadfast, chapter by chapter, with examples that run against the
//! simulator (`steadfast-sim`) as this crate's doctests.
//!
//! - [`scenarios`]: the six reference scenarios — calls, streams, tools, error reinsertion,
//!   fallback, fallback with retries — each with its success and its failure path.
//! - [`streams`]: when a stream sends its request, the commit point, and opt-in restarts.
//! - [`reinsertion`]: handing the errors of earlier attempts to the next prompt.
//! - [`fallback`]: chains of targets, circuit breakers and a shared budget.
//! - [`providers`]: picking a provider, its environment variables, and writing your own.
//! - [`prompt_functions`]: prompts as functions, with `#[steadfast::call]`,
//!   `#[steadfast::prompt_template]`, `#[steadfast::retry]` and `#[steadfast::fallback]` (the
//!   default `macros` feature).
//!
//! The examples point a [`Call`](crate::Call) at the simulator with
//! [`base_url`](crate::Call::base_url) and [`api_key`](crate::Call::api_key); against a real
//! provider, leave those two lines out and set the provider's key in the environment.
//! This module has no items: it is documentation only.

pub mod scenarios {
    #![doc = include_str!("scenarios.md")]
}

pub mod streams {
    #![doc = include_str!("streams.md")]
}

pub mod reinsertion {
    #![doc = include_str!("reinsertion.md")]
}

pub mod fallback {
    #![doc = include_str!("fallback.md")]
}

pub mod providers {
    #![doc = include_str!("providers.md")]
}

#[cfg(feature = "macros")]
pub mod prompt_functions {
    #![doc = include_str!("prompt_functions.md")]
}
