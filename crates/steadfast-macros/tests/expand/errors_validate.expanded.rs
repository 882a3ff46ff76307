///The prompt function [`extract_book`] bound to a call: `extract_book::with(call).run(..)` sends through `call` (its provider, model and client settings), with the attribute's parameters and tools applied on top.
#[allow(non_camel_case_types)]
#[derive(Debug, Clone)]
struct extract_book {
    call: ::steadfast::Call,
}
#[allow(dead_code, clippy::needless_question_mark)]
impl extract_book {
    /// The target the attribute names.
    const TARGET: &'static str = "openai:gpt-4o-mini";
    /// `call` with the attribute's parameters and tools applied.
    fn configure(call: ::steadfast::Call) -> ::steadfast::Call {
        call
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
        extract_book {
            call: Self::configure(call),
        }
    }
    /// The prompt this function sends: its body, converted into a
    /// [`Prompt`](::steadfast::Prompt).
    fn prompt(
        text: &str,
        earlier: &[steadfast::Error],
    ) -> ::steadfast::Result<::steadfast::Prompt> {
        #[allow(
            unused_mut,
            reason = "the parameters as the prompt function declares them"
        )]
        fn __body(
            text: &str,
            earlier: &[steadfast::Error],
        ) -> impl ::core::convert::Into<::steadfast::Prompt> {
            let mut prompt = format!("Extract the book: {text}");
            for e in earlier {
                prompt.push_str(&format!("\nPreviously: {e}"));
            }
            prompt
        }
        ::core::result::Result::Ok(
            ::core::convert::Into::<::steadfast::Prompt>::into(__body(text, earlier)),
        )
    }
    /// The retry policy the `#[steadfast::retry]` attribute describes.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](::steadfast::ErrorKind::Config) for a wait that
    /// cannot work (a minimum above the maximum, say).
    fn policy() -> ::steadfast::Result<::steadfast::retry::Retry<::steadfast::Error>> {
        ::core::result::Result::Ok(
            ::steadfast::resilient::default_policy()
                .stop(::steadfast::retry::stop::after_attempt(3))
                .wait(
                    (::core::result::Result::<
                        _,
                        ::steadfast::retry::wait::InvalidWait,
                    >::Ok(::steadfast::retry::wait::none()))
                        .map_err(|e| ::steadfast::Error::new(
                            ::steadfast::ErrorKind::Config,
                            ::std::string::ToString::to_string(&e),
                        ))?,
                )
                .retry_if(
                    ::steadfast::resilient::kinds([::steadfast::ErrorKind::Validation]),
                )
                .collect_errors(::steadfast::resilient::validation()),
        )
    }
    /// The bound call with the attribute's retry policy.
    ///
    /// # Errors
    /// As [`policy`](Self::policy).
    fn resilient(&self) -> ::steadfast::Result<::steadfast::Resilient> {
        ::core::result::Result::Ok(self.call.retry(Self::policy()?))
    }
    /// Sends the prompt through the bound call.
    async fn run(&self, text: &str) -> steadfast::Result<Book> {
        let __owned_text = <str as ::std::borrow::ToOwned>::to_owned(text);
        let __prompt = move |__errors: &[::steadfast::Error]| Self::prompt(
            ::core::borrow::Borrow::<str>::borrow(&__owned_text),
            __errors,
        );
        let __resilient = self.resilient()?;
        ::core::result::Result::Ok(
            __resilient
                .extract_with::<Book, _>(__prompt)
                .validate(uppercase_author)
                .await?,
        )
    }
}
async fn extract_book(text: &str) -> steadfast::Result<Book> {
    extract_book {
        call: extract_book::call()?,
    }
        .run(text)
        .await
}
