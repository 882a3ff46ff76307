//! The examples that check their own outcomes, run as tests: `examples/prompt_functions.rs` (the
//! six reference scenarios as prompt functions, in the four prompt styles) returns an error for a
//! wrong outcome, which fails this test as it makes `cargo run --example` exit non-zero.

#![cfg(feature = "macros")]

#[path = "../examples/prompt_functions.rs"]
#[allow(
    dead_code,
    reason = "its `main` is the example's entry point; the test calls `run`"
)]
mod prompt_functions_example;

#[tokio::test]
async fn the_prompt_functions_example_gets_the_expected_outcomes() {
    if let Err(e) = prompt_functions_example::run().await {
        panic!("examples/prompt_functions.rs: {e}");
    }
}
