///The prompt function [`recommend_book`] bound to a call: `recommend_book::with(call).run(..)` sends through `call` (its provider, model and client settings), with the attribute's parameters and tools applied on top.
#[allow(non_camel_case_types)]
#[derive(Debug, Clone)]
struct recommend_book {
    call: ::steadfast::Call,
}
#[allow(dead_code, clippy::needless_question_mark)]
impl recommend_book {
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
        recommend_book {
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
            format!("Recommend a {genre} book")
        }
        ::core::result::Result::Ok(
            ::core::convert::Into::<::steadfast::Prompt>::into(__body(genre)),
        )
    }
    /// The retry policy the `#[steadfast::retry]` attribute describes.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](::steadfast::ErrorKind::Config) for a wait that
    /// cannot work (a minimum above the maximum, say).
    fn policy() -> ::steadfast::Result<::steadfast::retry::Retry<::steadfast::Error>> {
        fn __steadfast_secs(secs: f64) -> ::steadfast::Result<::core::time::Duration> {
            ::core::time::Duration::try_from_secs_f64(secs)
                .map_err(|_| {
                    ::steadfast::Error::new(
                        ::steadfast::ErrorKind::Config,
                        ::std::format!(
                            "invalid wait: {secs} is not a number of seconds (finite, >= 0, below 2^64)"
                        ),
                    )
                })
        }
        ::core::result::Result::Ok(
            ::steadfast::resilient::default_policy()
                .stop(::steadfast::retry::stop::after_attempt(3))
                .wait(
                    (::steadfast::retry::wait::exponential()
                        .multiplier((1) as f64)
                        .min(__steadfast_secs((4) as f64)?)
                        .max(__steadfast_secs((10) as f64)?)
                        .build())
                        .map_err(|e| ::steadfast::Error::new(
                            ::steadfast::ErrorKind::Config,
                            ::std::string::ToString::to_string(&e),
                        ))?,
                )
                .retry_if(
                    ::steadfast::resilient::kinds([
                        ::steadfast::ErrorKind::RateLimited,
                        ::steadfast::ErrorKind::Overloaded,
                    ]),
                ),
        )
    }
    /// The fallback chain the `#[steadfast::fallback]` attribute describes, over
    /// `call` (the bound call: each backup is `call.with_target(to)`).
    ///
    /// # Errors
    /// [`ErrorKind::Config`](::steadfast::ErrorKind::Config) when a backup's
    /// provider is not registered.
    #[allow(unused_variables)]
    fn chain(
        call: &::steadfast::Call,
    ) -> ::steadfast::Result<::steadfast::resilient::Chain> {
        ::core::result::Result::Ok(
            ::steadfast::resilient::fallback(
                    ::steadfast::resilient::kinds([::steadfast::ErrorKind::RateLimited]),
                )
                .backup(
                    call.with_target("anthropic:claude-3-5-sonnet-latest")?,
                    ::steadfast::resilient::kinds([::steadfast::ErrorKind::RateLimited]),
                ),
        )
    }
    /// The bound call with the attributes' retry policy and fallback chain.
    ///
    /// # Errors
    /// As [`policy`](Self::policy) and [`chain`](Self::chain).
    fn resilient(&self) -> ::steadfast::Result<::steadfast::Resilient> {
        ::core::result::Result::Ok(
            self.call.retry(Self::policy()?).fallback(Self::chain(&self.call)?),
        )
    }
    /// Sends the prompt through the bound call.
    async fn run(&self, genre: &str) -> steadfast::Result<String> {
        let __prompt = Self::prompt(genre)?;
        let __resilient = self.resilient()?;
        ::core::result::Result::Ok(
            ::std::string::ToString::to_string(__resilient.send(__prompt).await?.text()),
        )
    }
}
async fn recommend_book(genre: &str) -> steadfast::Result<String> {
    recommend_book {
        call: recommend_book::call()?,
    }
        .run(genre)
        .await
}
