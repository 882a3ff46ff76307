///The prompt function [`recommend_book`] bound to a call: `recommend_book::with(call).run(..)` sends through `call` (its provider, model and client settings), with the attribute's parameters and tools applied on top.
#[allow(non_camel_case_types)]
#[derive(Debug, Clone)]
struct recommend_book {
    call: ::steadfast::Call,
}
#[allow(dead_code, clippy::needless_question_mark)]
impl recommend_book {
    /// The target the attribute names.
    const TARGET: &'static str = "anthropic:claude-3-5-sonnet-latest";
    /// `call` with the attribute's parameters and tools applied.
    fn configure(call: ::steadfast::Call) -> ::steadfast::Call {
        call.max_tokens(256)
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
        recommend_book {
            call: Self::configure(call),
        }
    }
    /// The prompt this function sends, rendered from its template.
    fn prompt(
        genre: &str,
        previous: Vec<String>,
    ) -> ::steadfast::Result<::steadfast::Prompt> {
        ::steadfast::Template::new(
                "SYSTEM: You are a librarian.\nUSER: {previous:list}\nRecommend a {genre} book",
            )?
            .render(
                &::steadfast::Vars::new().with("previous", previous).with("genre", genre),
            )
    }
    /// Sends the prompt through the bound call.
    async fn run(
        &self,
        genre: &str,
        previous: Vec<String>,
    ) -> steadfast::Result<steadfast::Response> {
        let __prompt = Self::prompt(genre, previous)?;
        ::core::result::Result::Ok(self.call.send(__prompt).await?)
    }
}
async fn recommend_book(
    genre: &str,
    previous: Vec<String>,
) -> steadfast::Result<steadfast::Response> {
    recommend_book {
        call: recommend_book::call()?,
    }
        .run(genre, previous)
        .await
}
#[allow(clippy::needless_question_mark)]
fn book_prompt(
    genre: &str,
    previous: Vec<String>,
) -> steadfast::Result<steadfast::Prompt> {
    ::core::result::Result::Ok(
        ::steadfast::Template::new("USER: {previous:list}\nRecommend a {genre} book")?
            .render(
                &::steadfast::Vars::new().with("previous", previous).with("genre", genre),
            )?,
    )
}
