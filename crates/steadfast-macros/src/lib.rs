//! Prompt-function attributes for [steadfast](https://docs.rs/steadfast): use them through the
//! `steadfast` crate (`#[steadfast::call]`, `#[steadfast::prompt_template]`, its default `macros`
//! feature), whose documentation shows what they expand to.

mod args;
mod expand;
mod template;

use proc_macro::TokenStream;

/// Turns a function whose body returns a prompt into a model call. See `steadfast::call`.
#[proc_macro_attribute]
pub fn call(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::call(attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Gives a body-less function a body that renders a `steadfast::Template`. See
/// `steadfast::prompt_template`.
#[proc_macro_attribute]
pub fn prompt_template(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::prompt_template(attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
