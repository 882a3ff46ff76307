///The prompt function [`recommend_book`] bound to a call: `recommend_book::with(call).run(..)` sends through `call` (its provider, model and client settings), with the attribute's parameters and tools applied on top.
#[allow(non_camel_case_types)]
#[derive(Debug, Clone)]
pub struct recommend_book {
    call: ::steadfast::Call,
}
#[allow(dead_code, clippy::needless_question_mark)]
impl recommend_book {
    /// The target the attribute names.
    pub const TARGET: &'static str = "openai:gpt-4o-mini";
    /// `call` with the attribute's parameters and tools applied.
    pub fn configure(call: ::steadfast::Call) -> ::steadfast::Call {
        call.temperature(0.7).max_tokens(100)
    }
    /// The call the attribute describes: `steadfast::llm::call(TARGET)`, configured.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](::steadfast::ErrorKind::Config) when the provider is not
    /// registered (or its cargo feature is off).
    pub fn call() -> ::steadfast::Result<::steadfast::Call> {
        ::core::result::Result::Ok(
            Self::configure(::steadfast::llm::call(Self::TARGET)?),
        )
    }
    /// This prompt function sending through `call` instead of the attribute's target.
    pub fn with(call: ::steadfast::Call) -> Self {
        recommend_book {
            call: Self::configure(call),
        }
    }
    /// The prompt this function sends: its body, converted into a
    /// [`Prompt`](::steadfast::Prompt).
    pub fn prompt(genre: &str) -> ::steadfast::Result<::steadfast::Prompt> {
        #[allow(
            unused_mut,
            reason = "the parameters as the prompt function declares them"
        )]
        fn __body(genre: &str) -> impl ::core::convert::Into<::steadfast::Prompt> {
            format!("Recommend a {genre} book")
        }
        ::core::result::Result::Ok(
            ::core::convert::Into::<::steadfast::Prompt>::into(__body(genre)),
        )
    }
    /// Sends the prompt through the bound call.
    pub async fn run(&self, genre: &str) -> steadfast::Result<String> {
        let __prompt = Self::prompt(genre)?;
        ::core::result::Result::Ok(
            ::std::string::ToString::to_string(self.call.send(__prompt).await?.text()),
        )
    }
}
pub async fn recommend_book(genre: &str) -> steadfast::Result<String> {
    recommend_book {
        call: recommend_book::call()?,
    }
        .run(genre)
        .await
}
