//! Prompt-function attributes for [steadfast](https://docs.rs/steadfast): use them through the
//! `steadfast` crate (`#[steadfast::call]`, `#[steadfast::prompt_template]`, its default `macros`
//! feature), whose documentation shows what they expand to.

mod args;
mod expand;
mod template;

use proc_macro::TokenStream;

/// Turns a function whose body returns a prompt into a model call.
///
/// ```ignore
/// #[steadfast::call("openai:gpt-4o-mini", temperature = 0.7, max_tokens = 100)]
/// fn recommend_book(genre: &str) -> steadfast::Result<String> {
///     format!("Recommend a {genre} book")
/// }
/// // recommend_book("fantasy").await? — or, pointed elsewhere (the simulator, a test server):
/// // recommend_book::with(call).run("fantasy").await?
/// ```
///
/// (Tested in `crates/steadfast/tests/prompt_functions.rs`; misuses in `tests/ui/`.)
///
/// # Arguments
///
/// First the target, `"provider:model"`: the provider must be one of steadfast's built-in ones
/// (a compile error on the string otherwise) unless `custom = true` (a provider registered at
/// run time with `steadfast::llm::register`). Then `key = expression` pairs, each a call to the
/// `steadfast::Call` builder method of that name: `temperature`, `max_tokens`, `top_p`, `stop`,
/// `seed`, `frequency_penalty`, `presence_penalty`, `tool_choice`, `output_mode`, `timeout`,
/// `base_url`; and `tools = [tool, ..]`, expressions of type `steadfast::Tool` passed to
/// `with_tools`. Any other key is a compile error listing these.
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
/// The example expands to (paths shortened):
///
/// ```text
/// /// The prompt function [`recommend_book`] bound to a call: ...
/// #[allow(non_camel_case_types)]
/// #[derive(Debug, Clone)]
/// struct recommend_book { call: Call }        // a braced struct: the type namespace only
///
/// impl recommend_book {
///     const TARGET: &'static str = "openai:gpt-4o-mini";
///     fn configure(call: Call) -> Call { call.temperature(0.7).max_tokens(100) }
///     fn call() -> Result<Call> { Ok(Self::configure(llm::call(Self::TARGET)?)) }
///     fn with(call: Call) -> Self { recommend_book { call: Self::configure(call) } }
///     fn prompt(genre: &str) -> Result<Prompt> {
///         fn __body(genre: &str) -> impl Into<Prompt> { format!("Recommend a {genre} book") }
///         Ok(Into::<Prompt>::into(__body(genre)))
///     }
///     async fn run(&self, genre: &str) -> steadfast::Result<String> {
///         let __prompt = Self::prompt(genre)?;
///         Ok(ToString::to_string(self.call.send(__prompt).await?.text()))
///     }
/// }
///
/// async fn recommend_book(genre: &str) -> steadfast::Result<String> {
///     recommend_book { call: recommend_book::call()? }.run(genre).await
/// }
/// ```
///
/// Every generated item has the function's visibility. `with(call)` keeps `call`'s provider,
/// model and client settings (base URL, key) and applies the attribute's parameters and tools on
/// top — the call-site override, with no thread-local or global state. For an async function
/// `prompt` is async too.
#[proc_macro_attribute]
pub fn call(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::call(attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Gives a body-less function a body that renders a `steadfast::Template`.
///
/// ```ignore
/// #[steadfast::call("openai:gpt-4o-mini")]
/// #[steadfast::prompt_template("SYSTEM: You are a librarian.\nUSER: Recommend a {genre} book")]
/// async fn recommend_book(genre: &str) -> steadfast::Result<String>;
///
/// // On its own: a function returning the rendered prompt.
/// #[steadfast::prompt_template("USER: {previous:list}\nRecommend a {genre} book")]
/// fn book_prompt(genre: &str, previous: Vec<String>) -> steadfast::Result<steadfast::Prompt>;
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
/// The second example expands to:
///
/// ```text
/// #[allow(clippy::needless_question_mark)]
/// fn book_prompt(genre: &str, previous: Vec<String>) -> steadfast::Result<steadfast::Prompt> {
///     Ok(steadfast::Template::new("USER: {previous:list}\nRecommend a {genre} book")?
///         .render(&steadfast::Vars::new().with("previous", previous).with("genre", genre))?)
/// }
/// ```
///
/// and under `#[steadfast::call]` the same rendering is the body of the generated `prompt`
/// function (see [`call`](macro@call)). The template is parsed and rendered by the library at run
/// time, so it renders exactly as `Template` does.
#[proc_macro_attribute]
pub fn prompt_template(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::prompt_template(attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
