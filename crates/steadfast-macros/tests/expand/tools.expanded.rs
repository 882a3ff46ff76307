///The prompt function [`shelve_book`] bound to a call: `shelve_book::with(call).run(..)` sends through `call` (its provider, model and client settings), with the attribute's parameters and tools applied on top.
#[allow(non_camel_case_types)]
#[derive(Debug, Clone)]
struct shelve_book {
    call: ::steadfast::Call,
}
#[allow(dead_code, clippy::needless_question_mark)]
impl shelve_book {
    /// The target the attribute names.
    const TARGET: &'static str = "openai:gpt-4o-mini";
    /// `call` with the attribute's parameters and tools applied.
    fn configure(call: ::steadfast::Call) -> ::steadfast::Call {
        call.tool_choice(steadfast::ToolChoice::Required)
            .with_tools([
                {
                    let __tool = ::steadfast::Tool::of::<FormatBook>("format_book", "");
                    match __tool.parameters().get("description").and_then(|d| d.as_str())
                    {
                        ::core::option::Option::Some(d) => {
                            let d = ::std::string::ToString::to_string(d);
                            ::steadfast::Tool::of::<FormatBook>("format_book", d)
                        }
                        ::core::option::Option::None => __tool,
                    }
                },
                lookup_tool(),
            ])
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
        shelve_book {
            call: Self::configure(call),
        }
    }
    /// The prompt this function sends: its body, converted into a
    /// [`Prompt`](::steadfast::Prompt).
    fn prompt(title: &str) -> ::steadfast::Result<::steadfast::Prompt> {
        #[allow(
            unused_mut,
            reason = "the parameters as the prompt function declares them"
        )]
        fn __body(title: &str) -> impl ::core::convert::Into<::steadfast::Prompt> {
            format!("Shelve {title}")
        }
        ::core::result::Result::Ok(
            ::core::convert::Into::<::steadfast::Prompt>::into(__body(title)),
        )
    }
    /// Sends the prompt through the bound call.
    async fn run(&self, title: &str) -> steadfast::Result<steadfast::Response> {
        let __prompt = Self::prompt(title)?;
        ::core::result::Result::Ok(self.call.send(__prompt).await?)
    }
}
async fn shelve_book(title: &str) -> steadfast::Result<steadfast::Response> {
    shelve_book {
        call: shelve_book::call()?,
    }
        .run(title)
        .await
}
