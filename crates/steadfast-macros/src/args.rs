//! The arguments of `#[steadfast::call(..)]`.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::parse::{Parse, ParseStream};
use syn::{Expr, Ident, LitBool, LitStr, Token};

/// The built-in provider names, one a line; the steadfast crate checks them against its registry.
const PROVIDERS: &str = include_str!("providers.txt");

/// The keys that set one parameter of the call: `key = expr` becomes `.key(expr)`.
const SETTERS: &[&str] = &[
    "temperature",
    "max_tokens",
    "top_p",
    "stop",
    "seed",
    "frequency_penalty",
    "presence_penalty",
    "tool_choice",
    "output_mode",
    "timeout",
    "base_url",
];

/// Every key `#[steadfast::call]` takes, for the unknown-key message.
fn valid_keys() -> String {
    let mut keys: Vec<&str> = SETTERS.to_vec();
    keys.extend(["tools", "custom", "validate"]);
    keys.join(", ")
}

/// `"provider:model", key = value, …`.
pub(crate) struct CallArgs {
    pub(crate) target: LitStr,
    /// `.key(value)` calls, in the order written.
    pub(crate) setters: Vec<(Ident, Expr)>,
    /// `tools = [..]`: an expression of `steadfast::Tool`s, added with `with_tools`.
    pub(crate) tools: Option<Expr>,
    /// `validate = path`: a check on structured output, added with `Extract::validate`.
    pub(crate) validate: Option<Expr>,
}

impl Parse for CallArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.is_empty() {
            return Err(syn::Error::new(
                Span::call_site(),
                "#[steadfast::call] needs a target first: #[steadfast::call(\"openai:gpt-4o-mini\")]",
            ));
        }
        let target: LitStr = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "#[steadfast::call] takes a \"provider:model\" string first, e.g. \"openai:gpt-4o-mini\"",
            )
        })?;
        let mut setters: Vec<(Ident, Expr)> = Vec::new();
        let mut tools = None;
        let mut validate = None;
        let mut custom: Option<LitBool> = None;
        let mut seen: Vec<String> = Vec::new();
        while !input.is_empty() {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            let key: Ident = input.parse()?;
            let name = key.to_string();
            if seen.contains(&name) {
                return Err(syn::Error::new(
                    key.span(),
                    format!("`{name}` is given twice"),
                ));
            }
            let is_setter = SETTERS.contains(&name.as_str());
            if !is_setter && name != "tools" && name != "custom" && name != "validate" {
                return Err(syn::Error::new(
                    key.span(),
                    format!(
                        "unknown key `{name}` in #[steadfast::call]; the keys are: {}",
                        valid_keys()
                    ),
                ));
            }
            input.parse::<Token![=]>()?;
            seen.push(name.clone());
            match name.as_str() {
                "custom" => custom = Some(input.parse()?),
                "tools" => tools = Some(input.parse()?),
                "validate" => validate = Some(input.parse()?),
                _ => setters.push((key, input.parse()?)),
            }
        }
        check_target(&target, custom.is_some_and(|c| c.value))?;
        Ok(CallArgs {
            target,
            setters,
            tools,
            validate,
        })
    }
}

/// A target must name a built-in provider and a model, unless `custom = true`.
pub(crate) fn check_target(target: &LitStr, custom: bool) -> syn::Result<()> {
    let value = target.value();
    let Some((provider, model)) = value.split_once(':') else {
        return Err(syn::Error::new(
            target.span(),
            format!(
                "`{value}` does not name a provider: write \"provider:model\", e.g. \"openai:gpt-4o-mini\""
            ),
        ));
    };
    let provider = provider.trim().to_ascii_lowercase();
    if provider.is_empty() || model.trim().is_empty() {
        return Err(syn::Error::new(
            target.span(),
            format!("`{value}` needs both a provider and a model, e.g. \"openai:gpt-4o-mini\""),
        ));
    }
    if !custom && !PROVIDERS.lines().any(|p| p == provider) {
        let known: Vec<&str> = PROVIDERS.lines().collect();
        return Err(syn::Error::new(
            target.span(),
            format!(
                "unknown provider `{provider}`; the built-in providers are: {}\n(for a provider registered at run time with `steadfast::llm::register`, add `custom = true`)",
                known.join(", ")
            ),
        ));
    }
    Ok(())
}

impl CallArgs {
    /// The builder calls that apply the attribute's settings to `call`.
    pub(crate) fn configure(&self, call: &Ident) -> TokenStream {
        let setters = self.setters.iter().map(|(k, v)| quote!(.#k(#v)));
        let tools = self
            .tools
            .as_ref()
            .map(|t| quote!(.with_tools(#t)))
            .into_iter();
        quote!(#call #(#setters)* #(#tools)*)
    }

    /// The target string, as written.
    pub(crate) fn target_tokens(&self) -> TokenStream {
        self.target.to_token_stream()
    }
}
