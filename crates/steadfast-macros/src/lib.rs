//! Prompt-function attributes for [steadfast](https://docs.rs/steadfast): use them through the
//! `steadfast` crate (`#[steadfast::call]`, `#[steadfast::prompt_template]`, `#[steadfast::retry]`,
//! `#[steadfast::fallback]`, its default `macros` feature). Each attribute's documentation shows
//! what it expands to: the expansion snapshots of `tests/expand/*.expanded.rs`, which this crate's
//! tests regenerate and compare (`src/snapshots.rs`), so what is shown is what is generated. The
//! guide `steadfast::guide::prompt_functions` runs them against the simulator.

mod args;
mod expand;
mod resilience;
#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]
mod snapshots;
mod template;

use proc_macro::TokenStream;

/// Turns a function whose body returns a prompt into a model call.
///
/// ```
/// #[steadfast::call("openai:gpt-4o-mini", temperature = 0.7, max_tokens = 100)]
/// pub fn recommend_book(genre: &str) -> steadfast::Result<String> {
///     format!("Recommend a {genre} book")
/// }
///
/// # fn main() -> steadfast::Result<()> {
/// // `recommend_book("fantasy").await?` sends it (with OPENAI_API_KEY) and returns the text;
/// // `recommend_book::with(call).run("fantasy").await?` sends it through another call (the
/// // simulator, a test server). Without sending anything:
/// assert_eq!(recommend_book::TARGET, "openai:gpt-4o-mini");
/// assert_eq!(
///     recommend_book::prompt("fantasy")?,
///     steadfast::Prompt::from("Recommend a fantasy book")
/// );
/// let call = recommend_book::call()?;
/// assert_eq!(call.params().temperature, Some(0.7));
/// assert_eq!(call.params().max_tokens, Some(100));
/// # Ok(())
/// # }
/// ```
///
/// (Run against the simulator in `steadfast::guide::prompt_functions` and in
/// `crates/steadfast/tests/prompt_functions*.rs`; misuses in `crates/steadfast/tests/ui/`.)
///
/// # Arguments
///
/// First the target, `"provider:model"`: the provider must be one of steadfast's built-in ones
/// (a compile error on the string otherwise) unless `custom = true` (a provider registered at
/// run time with `steadfast::llm::register`). Then `key = expression` pairs, each a call to the
/// `steadfast::Call` builder method of that name: `temperature`, `max_tokens`, `top_p`, `stop`,
/// `seed`, `frequency_penalty`, `presence_penalty`, `tool_choice`, `output_mode`, `timeout`,
/// `base_url`; `tools = [..]`, passed to `with_tools` (see *Tools* below); `validate = path::to_fn` (structured output only, with `#[steadfast::retry]`): a
/// `Fn(&T) -> Result<(), E: Display>` added with `Extract::validate`, whose failures are
/// `Validation` attempt failures of the policy. Any other key is a compile error listing these.
///
/// # Tools
///
/// Each element of `tools = [..]` is either a type or an expression of type `steadfast::Tool`:
///
/// - a **type**, `tools = [FormatBook]` or `tools = [books::FormatBook]`, is a tool whose
///   arguments are that type (`FormatBook: Deserialize + JsonSchema`), built with
///   `Tool::of::<FormatBook>(name, description)`: its name is the type's name in snake case
///   (`format_book`; `HTTPRequest` → `http_request`), as Rust names functions and as the
///   builder examples name tools, and its description is the schema's `description` — the
///   type's doc comment, which `schemars` puts there — or empty without one;
/// - anything else is an **expression** (`format_book()`, `Tool::of::<FormatBook>("FormatBook",
///   "..")`, `TOOL.clone()`), used as it is: write one to choose another name or description.
///
/// The rule: an element that is a plain path (no call, method, field or `<T as Trait>::`)
/// whose last segment starts with an uppercase letter is a type, as Rust names types; so a
/// `static` holding a tool is written as an expression, `TOOL.clone()` (it could not be moved
/// out anyway). `tools = expr` without brackets is any `IntoIterator<Item = steadfast::Tool>`
/// (a `Vec<Tool>` built in code).
///
/// ```
/// use schemars::JsonSchema;
/// use serde::Deserialize;
///
/// /// Format a book for the shelf.
/// #[derive(Deserialize, JsonSchema)]
/// struct FormatBook {
///     title: String,
/// }
///
/// fn lookup_tool() -> steadfast::Tool {
///     steadfast::Tool::of::<FormatBook>("lookup", "Look a book up")
/// }
///
/// #[steadfast::call("openai:gpt-4o-mini", tools = [FormatBook, lookup_tool()])]
/// fn shelve_book(title: &str) -> steadfast::Result<steadfast::Response> {
///     format!("Shelve {title}")
/// }
///
/// # fn main() -> steadfast::Result<()> {
/// let call = shelve_book::call()?;
/// let tools: Vec<(&str, &str)> = call.tools().iter().map(|t| (t.name(), t.description())).collect();
/// assert_eq!(tools, [("format_book", "Format a book for the shelf."), ("lookup", "Look a book up")]);
/// # Ok(())
/// # }
/// ```
///
/// <details><summary>What tools as types and expressions expand to
/// (<code>tests/expand/tools.expanded.rs</code>)</summary>
///
/// ```text
#[doc = include_str!("../tests/expand/tools.rs")]
/// // expands to:
#[doc = include_str!("../tests/expand/tools.expanded.rs")]
/// ```
/// </details>
///
/// # Error reinsertion
///
/// A parameter `errors: &[steadfast::Error]` — named `errors`, or with any name and annotated
/// `#[errors]` (`#[errors] earlier: &[steadfast::Error]`); another type is a compile error, and so
/// is a second such parameter — is not an argument of the generated function or of `run`: with `#[steadfast::retry]` (required) it
/// is filled with the errors the policy collected, oldest first, empty on attempt 1. A policy from
/// the retry keys then collects validation errors (`.collect_errors(resilient::validation())`); a
/// `policy = ..` must collect them itself. The prompt is rebuilt for every attempt: `run` copies
/// the arguments into a `'static` closure (`ToOwned` for a `&T` parameter, the value itself
/// otherwise, cloned per attempt) and sends with `Resilient::send_with` / `extract_with`.
///
/// <details><summary>What an errors parameter with <code>validate</code> expands to
/// (<code>tests/expand/errors_validate.expanded.rs</code>)</summary>
///
/// ```text
#[doc = include_str!("../tests/expand/errors_validate.rs")]
/// // expands to:
#[doc = include_str!("../tests/expand/errors_validate.expanded.rs")]
/// ```
/// </details>
///
/// so its parameters must be `ToOwned` (references) or `Clone + Send + Sync + 'static` (values),
/// and the body must be sync (or a `#[steadfast::prompt_template]`, where `{errors:list}` renders
/// them with `Vars::with_errors`); not on a stream.
///
/// The function may be sync or async; its body returns anything `Into<steadfast::Prompt>` (a
/// string, a message, an array or `Vec` of messages, a rendered template), or it has no body and a
/// `#[steadfast::prompt_template("..")]` under this attribute. Parameters are plain names.
///
/// The declared return type `steadfast::Result<R>` (any `Result<R>` or `Result<R, E>` with
/// `E: From<steadfast::Error>`) chooses what is done: `Response` → `Call::send`; `String` → the
/// response's text; `ResponseStream` → `Call::stream`; any other `R` → `Call::extract::<R>`
/// (`R: Deserialize + JsonSchema`). The type is matched by its last path segment.
///
/// # Expansion
///
/// The first example expands to (`tests/expand/call.expanded.rs`, checked by this crate's tests):
///
/// ```text
#[doc = include_str!("../tests/expand/call.expanded.rs")]
/// ```
///
/// `recommend_book` is both a braced struct (the type namespace) and the function (the value
/// namespace), so `recommend_book("fantasy")` and `recommend_book::with(call)` both work.
///
/// <details><summary>A stream from message builders
/// (<code>tests/expand/stream.expanded.rs</code>)</summary>
///
/// ```text
#[doc = include_str!("../tests/expand/stream.rs")]
/// // expands to:
#[doc = include_str!("../tests/expand/stream.expanded.rs")]
/// ```
/// </details>
///
/// Every generated item has the function's visibility. `with(call)` keeps `call`'s provider,
/// model and client settings (base URL, key) and applies the attribute's parameters and tools on
/// top — the call-site override, with no thread-local or global state. For an async function
/// `prompt` is async too.
///
/// `#[steadfast::retry(..)]` and `#[steadfast::fallback(..)]` under this attribute (or above it:
/// they move themselves under it) are read by it and add `policy`, `chain` and `resilient` to the
/// `impl` block; `run` then sends through `self.resilient()?` (a `steadfast::Resilient`) instead
/// of `self.call` — see [`retry`](macro@retry) and [`fallback`](macro@fallback).
#[proc_macro_attribute]
pub fn call(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::call(attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Gives a body-less function a body that renders a `steadfast::Template`.
///
/// ```
/// // Under #[steadfast::call]: the template is the prompt.
/// #[steadfast::call("anthropic:claude-3-5-sonnet-latest", max_tokens = 256)]
/// #[steadfast::prompt_template("SYSTEM: You are a librarian.\nUSER: {previous:list}\nRecommend a {genre} book")]
/// async fn recommend_book(genre: &str, previous: Vec<String>) -> steadfast::Result<steadfast::Response>;
///
/// // On its own: a function returning the rendered prompt.
/// #[steadfast::prompt_template("USER: {previous:list}\nRecommend a {genre} book")]
/// fn book_prompt(genre: &str, previous: Vec<String>) -> steadfast::Result<steadfast::Prompt>;
///
/// # fn main() -> steadfast::Result<()> {
/// let prompt = recommend_book::prompt("fantasy", vec!["Dune".into()])?;
/// assert_eq!(prompt.messages()[0].text(), "You are a librarian.");
/// assert_eq!(prompt.messages()[1].text(), "Dune\nRecommend a fantasy book");
/// assert_eq!(book_prompt("fantasy", vec![])?.messages()[0].text(), "Recommend a fantasy book");
/// # Ok(())
/// # }
/// ```
///
/// The template syntax is `steadfast::Template`'s (`SYSTEM:` / `USER:` / `ASSISTANT:` sections,
/// `{name}`, `{name:list}`, `{name:lists}`, `{{` / `}}`), and its syntax errors are reported at
/// compile time, on the string. Every variable must be a parameter of the function (a compile
/// error naming it and the parameters otherwise); `{x:list}` and `{x:lists}` on a parameter of a
/// text or number type (`&str`, `String`, `i32`, …) are compile errors. Each parameter used goes
/// into the template with `Vars::with`, so its type must be `Into<steadfast::prompt::Value>`.
///
/// Under `#[steadfast::call]` it is read by that attribute; on its own it must come above any
/// other attribute macro, and cannot be above `#[steadfast::call]`.
///
/// # Expansion
///
/// The example expands to (`tests/expand/prompt_template.expanded.rs`, checked by this crate's
/// tests):
///
/// ```text
#[doc = include_str!("../tests/expand/prompt_template.expanded.rs")]
/// ```
///
/// — under `#[steadfast::call]` the rendering is the body of the generated `prompt` function (see
/// [`call`](macro@call)). The template is parsed and rendered by the library at run
/// time, so it renders exactly as `Template` does.
#[proc_macro_attribute]
pub fn prompt_template(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::prompt_template(attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Retries a prompt function: stacked with `#[steadfast::call]`, above or below it.
///
/// ```
/// use std::time::Duration;
///
/// #[steadfast::call("openai:gpt-4o-mini")]
/// #[steadfast::retry(attempts = 3, wait = exponential(multiplier = 1, min = 4, max = 10), on = [RateLimited, Overloaded])]
/// fn recommend_book(genre: &str) -> steadfast::Result<String> {
///     format!("Recommend a {genre} book")
/// }
///
/// // Or a policy built in code:
/// fn my_policy() -> steadfast::retry::Retry<steadfast::Error> {
///     steadfast::resilient::default_policy().stop(steadfast::retry::stop::after_attempt(2))
/// }
///
/// #[steadfast::call("openai:gpt-4o-mini")]
/// #[steadfast::retry(policy = my_policy())]
/// fn recommend_again(genre: &str) -> steadfast::Result<String> {
///     format!("Recommend a {genre} book")
/// }
///
/// # fn main() -> steadfast::Result<()> {
/// // The policy the attribute built: waits of 4, 4, 4, 8, 10 s (tenacity's formula).
/// let waits: Vec<u64> = (1..=5)
///     .map(|n| recommend_book::policy().map(|p| p.wait_strategy().delay(n, 0).as_secs()))
///     .collect::<steadfast::Result<_>>()?;
/// assert_eq!(waits, [4, 4, 4, 8, 10]);
/// assert_eq!(recommend_again::policy()?.wait_strategy().delay(1, 0), my_policy().wait_strategy().delay(1, 0));
/// # let _ = Duration::ZERO;
/// # Ok(())
/// # }
/// ```
///
/// (Run against the simulator in `steadfast::guide::prompt_functions` and
/// `crates/steadfast/tests/prompt_functions*.rs`; misuses in `crates/steadfast/tests/ui/`.)
///
/// # Arguments
///
/// Without arguments the policy is `steadfast::resilient::default_policy()`. Each key replaces one
/// part of it:
///
/// - `attempts = n` → `.stop(retry::stop::after_attempt(n))`;
/// - `wait = ..` → `.wait(..)`: a form named after a `steadfast::retry::wait` function — `none`,
///   `fixed(secs)`, `random(min = secs, max = secs)`, `exponential(multiplier = .., min = secs,
///   max = secs, exp_base = ..)`, `random_exponential(..)` (the same keys) or
///   `exponential_jitter(..)` (the same keys and `jitter = secs`) — where numbers are seconds (any
///   numeric expression, converted with `as f64`) and an invalid wait (a minimum above the
///   maximum) is an `ErrorKind::Config` error when the function runs; or any other expression, a
///   value of type `steadfast::retry::wait::Wait` used as it is (`wait = my_wait()`,
///   `wait = wait::fixed(Duration::from_millis(250))`, `wait = wait::fixed(a) + wait::fixed(b)`;
///   build a fallible builder in a function returning `Wait`). The forms are told apart by their
///   one-word names (`fixed(4)` is the form, `wait::fixed(..)` an expression); a word that is not
///   a form, with `key = value` arguments, is a compile error (a misspelt form);
/// - `on = [Kind, ..]` → `.retry_if(resilient::kinds([ErrorKind::Kind, ..]))`, the kinds by their
///   `steadfast::ErrorKind` variant names (a compile error listing them for an unknown one).
///
/// One `#[steadfast::retry]` per function: a second is a compile error (so is a second
/// `#[steadfast::fallback]`); put every key in one attribute.
///
/// The default policy's server-hint cap (60 s) is kept. `policy = expression` (of type
/// `steadfast::retry::Retry<steadfast::Error>`, evaluated on every run) is the whole policy and
/// cannot be combined with the other keys. Any other key is a compile error listing these.
///
/// # Expansion
///
/// Above `#[steadfast::call]` it moves itself under it; `#[steadfast::call]` then reads it and adds
/// `policy` and `resilient` to the `impl` block it generates (see [`call`](macro@call)), and `run`
/// sends through `self.resilient()?`; so `recommend_book::with(call).run(..)` keeps the policy
/// (only the call is replaced). A stream goes through `Resilient::stream` and structured output
/// through `Resilient::extract`. With `#[steadfast::fallback]` over it
/// (`tests/expand/retry_fallback.expanded.rs`, checked by this crate's tests):
///
/// ```text
#[doc = include_str!("../tests/expand/retry_fallback.rs")]
/// // expands to:
#[doc = include_str!("../tests/expand/retry_fallback.expanded.rs")]
/// ```
#[proc_macro_attribute]
pub fn retry(attr: TokenStream, item: TokenStream) -> TokenStream {
    resilience::stacked("retry", attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Falls back to other targets: stacked with `#[steadfast::call]`, above or below it.
///
/// ```
/// #[steadfast::fallback(on = [RateLimited], to = "anthropic:claude-3-5-sonnet-latest")]
/// #[steadfast::call("openai:gpt-4o-mini")]
/// #[steadfast::retry(attempts = 3)]
/// fn recommend_book(genre: &str) -> steadfast::Result<String> {
///     format!("Recommend a {genre} book")
/// }
///
/// # fn main() -> steadfast::Result<()> {
/// // The bound call with its policy and chain (each backup is `call.with_target(to)`):
/// let bound = recommend_book::with(steadfast::llm::call("openai:gpt-4o")?);
/// let _resilient: steadfast::Resilient = bound.resilient()?;
/// # Ok(())
/// # }
/// ```
///
/// # Arguments
///
/// - `to = "provider:model"`, given several times or as `to = ["..", ".."]`: the backups, in
///   order; each target is checked as `#[steadfast::call]`'s is (`custom = true` lets through a
///   provider registered at run time);
/// - `on = [Kind, ..]`: the `steadfast::ErrorKind`s that move on to the next target (default:
///   `resilient::TRANSIENT`), for the primary and every backup;
/// - or `chain = expression` (of type `steadfast::resilient::Chain`), a chain built in code, alone.
///
/// The semantics are `Resilient::fallback`'s: with `#[steadfast::retry]` (in either order) each
/// target gets the whole retry policy; without it, one attempt per target (`Call::fallback`).
///
/// # Expansion
///
/// Added to the `impl` block `#[steadfast::call]` generates: `chain(call)` and `resilient()`, and
/// `run` sends through `self.resilient()?`. Alone (`tests/expand/fallback.expanded.rs`, checked by
/// this crate's tests):
///
/// ```text
#[doc = include_str!("../tests/expand/fallback.rs")]
/// // expands to:
#[doc = include_str!("../tests/expand/fallback.expanded.rs")]
/// ```
///
/// Over `#[steadfast::retry]`, see the expansion under [`retry`](macro@retry).
///
/// Each backup is `call.with_target(to)` of the bound call, so `with(call)` keeps the chain and
/// the backups keep the call's parameters and tools (and its client when the provider is the
/// same; another provider gets its client from the environment).
#[proc_macro_attribute]
pub fn fallback(attr: TokenStream, item: TokenStream) -> TokenStream {
    resilience::stacked("fallback", attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
