///The prompt function [`stream_book`] bound to a call: `stream_book::with(call).run(..)` sends through `call` (its provider, model and client settings), with the attribute's parameters and tools applied on top.
#[allow(non_camel_case_types)]
#[derive(Debug, Clone)]
struct stream_book {
    call: ::steadfast::Call,
}
#[allow(dead_code, clippy::needless_question_mark)]
impl stream_book {
    /// The target the attribute names.
    const TARGET: &'static str = "openai:gpt-4o-mini";
    /// `call` with the attribute's parameters and tools applied.
    fn configure(call: ::steadfast::Call) -> ::steadfast::Call {
        call.max_tokens(50)
    }
    /// The call the attribute describes: `steadfast::llm::call(TARGET)`, configured.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](::steadfast::ErrorKind::Config) when the provider is not
    /// registered (or its cargo feature is off).
    fn call() -> ::steadfast::Result<::steadfast::Call> {
        ::core::result::Result::Ok(
            Self::configure(::steadfast::llm::call(Self::TARGET)?),
        )
    }
    /// This prompt function sending through `call` instead of the attribute's target.
    fn with(call: ::steadfast::Call) -> Self {
        stream_book {
            call: Self::configure(call),
        }
    }
    /// The prompt this function sends: its body, converted into a
    /// [`Prompt`](::steadfast::Prompt).
    fn prompt(genre: &str) -> ::steadfast::Result<::steadfast::Prompt> {
        #[allow(
            unused_mut,
            reason = "the parameters as the prompt function declares them"
        )]
        fn __body(genre: &str) -> impl ::core::convert::Into<::steadfast::Prompt> {
            [
                steadfast::Message::system("Be terse."),
                steadfast::Message::user(format!("Recommend a {genre} book")),
            ]
        }
        ::core::result::Result::Ok(
            ::core::convert::Into::<::steadfast::Prompt>::into(__body(genre)),
        )
    }
    /// Sends the prompt through the bound call.
    async fn run(&self, genre: &str) -> steadfast::Result<steadfast::ResponseStream> {
        let __prompt = Self::prompt(genre)?;
        ::core::result::Result::Ok(self.call.stream(__prompt))
    }
}
async fn stream_book(genre: &str) -> steadfast::Result<steadfast::ResponseStream> {
    stream_book {
        call: stream_book::call()?,
    }
        .run(genre)
        .await
}
