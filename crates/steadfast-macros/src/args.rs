//! The arguments of `#[steadfast::call(..)]`.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprPath, Ident, LitBool, LitStr, Token, bracketed};

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
    /// `tools = [..]` (or `tools = expr`), added with `with_tools`.
    pub(crate) tools: Option<Tools>,
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

/// The value of `tools = ..`.
pub(crate) enum Tools {
    /// `tools = [a, B, ..]`: each a `steadfast::Tool` expression or a type.
    List(Vec<ToolItem>),
    /// `tools = expr`: any `IntoIterator<Item = steadfast::Tool>`.
    Expr(Expr),
}

/// One element of `tools = [..]`.
pub(crate) enum ToolItem {
    /// A type path (`FormatBook`, `books::FormatBook`): `Tool::of::<FormatBook>(..)`.
    Type(ExprPath),
    /// An expression of type `steadfast::Tool` (`format_book()`, `Tool::of::<T>(..)`).
    Expr(Expr),
}

impl Parse for Tools {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if !input.peek(syn::token::Bracket) {
            return Ok(Tools::Expr(input.parse()?));
        }
        let content;
        bracketed!(content in input);
        let items = Punctuated::<Expr, Token![,]>::parse_terminated(&content)?;
        Ok(Tools::List(
            items
                .into_iter()
                .map(|e| match e {
                    Expr::Path(p) if is_type_path(&p) => ToolItem::Type(p),
                    other => ToolItem::Expr(other),
                })
                .collect(),
        ))
    }
}

/// Whether an element of `tools = [..]` names a type rather than a value: a plain path (no
/// `<T as Trait>::` prefix, no call, no method, no field) whose last segment starts with an
/// uppercase letter, as Rust names types. Anything else is an expression of type `Tool`.
fn is_type_path(p: &ExprPath) -> bool {
    p.qself.is_none()
        && p.attrs.is_empty()
        && p.path
            .segments
            .last()
            .and_then(|s| s.ident.to_string().chars().next())
            .is_some_and(char::is_uppercase)
}

/// `FormatBook` → `format_book`, `HTTPRequest` → `http_request`, `Book2Json` → `book2_json`.
pub(crate) fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.trim_start_matches("r#").chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev = i.checked_sub(1).map(|j| chars[j]);
            let next = chars.get(i + 1);
            let boundary = match prev {
                None | Some('_') => false,
                Some(p) if p.is_lowercase() || p.is_ascii_digit() => true,
                Some(p) => p.is_uppercase() && next.is_some_and(|n| n.is_lowercase()),
            };
            if boundary {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

impl ToolItem {
    /// The `steadfast::Tool` this element stands for.
    fn tokens(&self) -> TokenStream {
        match self {
            ToolItem::Expr(e) => e.to_token_stream(),
            ToolItem::Type(p) => {
                let name = p
                    .path
                    .segments
                    .last()
                    .map(|s| snake_case(&s.ident.to_string()))
                    .unwrap_or_default();
                // Spanned on the type, so a type that is not `JsonSchema + Deserialize` is
                // reported there. The description is the schema's (the type's doc comment).
                let tool = quote_spanned!(p.span()=> ::steadfast::Tool::of::<#p>);
                quote! {{
                    let __tool = #tool(#name, "");
                    match __tool.parameters().get("description").and_then(|d| d.as_str()) {
                        ::core::option::Option::Some(d) => {
                            let d = ::std::string::ToString::to_string(d);
                            #tool(#name, d)
                        }
                        ::core::option::Option::None => __tool,
                    }
                }}
            }
        }
    }
}

impl CallArgs {
    /// The builder calls that apply the attribute's settings to `call`.
    pub(crate) fn configure(&self, call: &Ident) -> TokenStream {
        let setters = self.setters.iter().map(|(k, v)| quote!(.#k(#v)));
        let tools = self
            .tools
            .as_ref()
            .map(|t| match t {
                Tools::Expr(e) => quote!(.with_tools(#e)),
                Tools::List(items) => {
                    let items = items.iter().map(ToolItem::tokens);
                    quote!(.with_tools([#(#items),*]))
                }
            })
            .into_iter();
        quote!(#call #(#setters)* #(#tools)*)
    }

    /// The target string, as written.
    pub(crate) fn target_tokens(&self) -> TokenStream {
        self.target.to_token_stream()
    }
}

#[cfg(test)]
mod tests {
    use super::snake_case;

    #[test]
    fn type_names_become_snake_case_tool_names() {
        for (ty, tool) in [
            ("FormatBook", "format_book"),
            ("GetWeather", "get_weather"),
            ("HTTPRequest", "http_request"),
            ("Book2Json", "book2_json"),
            ("Lookup", "lookup"),
            ("ISBN", "isbn"),
            ("Format_Book", "format_book"),
            ("r#Type", "type"),
        ] {
            assert_eq!(snake_case(ty), tool, "{ty}");
        }
    }
}
