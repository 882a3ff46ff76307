//! The arguments of `#[steadfast::retry(..)]` and `#[steadfast::fallback(..)]`, and the code that
//! builds the retry policy and the fallback chain from them.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, Ident, LitBool, LitStr, Token, bracketed, parenthesized};

use crate::args::check_target;

/// The `ErrorKind` variant names, one a line; the steadfast crate checks them against the enum.
const KINDS: &str = include_str!("kinds.txt");

const RETRY_KEYS: &str = "attempts, wait, on, policy";
const WAITS: &str = "none, fixed(secs), random(min = secs, max = secs), exponential(multiplier = .., min = secs, max = secs, exp_base = ..), random_exponential(..same keys..), exponential_jitter(..same keys.., jitter = secs)";
const FALLBACK_KEYS: &str = "on, to, chain, custom";

/// `[Kind, ..]`: checked `ErrorKind` variant names.
fn parse_kinds(input: ParseStream<'_>) -> syn::Result<Vec<Ident>> {
    let content;
    bracketed!(content in input);
    let names = Punctuated::<Ident, Token![,]>::parse_terminated(&content)?;
    let mut out = Vec::new();
    for name in names {
        let s = name.to_string();
        if !KINDS.lines().any(|k| k == s) {
            let valid: Vec<&str> = KINDS.lines().collect();
            return Err(syn::Error::new(
                name.span(),
                format!(
                    "unknown error kind `{s}`; the kinds are the `steadfast::ErrorKind` variants: {}",
                    valid.join(", ")
                ),
            ));
        }
        out.push(name);
    }
    Ok(out)
}

fn kinds_predicate(kinds: &[Ident]) -> TokenStream {
    quote!(::steadfast::resilient::kinds([#(::steadfast::ErrorKind::#kinds),*]))
}

/// Seconds, as a `Duration`, inside the generated `policy()`: through its `SECS` helper, which
/// returns `ErrorKind::Config` for a value that is negative, NaN, infinite or past 2^64 s (as a
/// wait that cannot work does) instead of panicking in `Duration::from_secs_f64`.
fn secs(e: &Expr) -> TokenStream {
    quote!(__steadfast_secs((#e) as f64)?)
}

/// The helper [`secs`] calls, defined in `policy()` when its wait uses seconds.
fn secs_helper() -> TokenStream {
    quote! {
        fn __steadfast_secs(secs: f64) -> ::steadfast::Result<::core::time::Duration> {
            ::core::time::Duration::try_from_secs_f64(secs).map_err(|_| {
                ::steadfast::Error::new(
                    ::steadfast::ErrorKind::Config,
                    ::std::format!(
                        "invalid wait: {secs} is not a number of seconds (finite, >= 0, below 2^64)"
                    ),
                )
            })
        }
    }
}

/// A wait function: `none`, `fixed(4)`, `exponential(multiplier = 1, min = 4, max = 10)`, ….
struct WaitSpec {
    /// Builds a `Result<Wait, InvalidWait>`.
    build: TokenStream,
    /// Whether `build` converts seconds (and so needs [`secs_helper`]).
    secs: bool,
}

/// The one-word forms of `wait = ..`; anything else is an expression of type `Wait`.
const WAIT_FORMS: &[&str] = &[
    "none",
    "fixed",
    "random",
    "exponential",
    "random_exponential",
    "exponential_jitter",
];

impl Parse for WaitSpec {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let wait = quote!(::steadfast::retry::wait);
        let ok = |w: TokenStream| quote!(::core::result::Result::<_, ::steadfast::retry::wait::InvalidWait>::Ok(#w));
        // A form is one word, `none` alone or a known name before `(`; a word before `(` with
        // `key = value` inside is a misspelt form. Everything else is a `Wait` expression.
        let fork = input.fork();
        let form = match fork.parse::<Ident>() {
            Ok(name) => {
                let s = name.to_string();
                let ends = fork.is_empty() || fork.peek(Token![,]);
                if s == "none" && ends {
                    Some(name)
                } else if fork.peek(syn::token::Paren) {
                    let content;
                    parenthesized!(content in fork);
                    let looks_like_form = content.peek(Ident) && content.peek2(Token![=]);
                    let after = fork.is_empty() || fork.peek(Token![,]);
                    if after && (WAIT_FORMS.contains(&s.as_str()) && s != "none") {
                        Some(name)
                    } else if after && looks_like_form {
                        return Err(syn::Error::new(
                            name.span(),
                            format!(
                                "unknown wait `{s}`; the waits are: {WAITS}, or an expression of type `steadfast::retry::wait::Wait`"
                            ),
                        ));
                    } else {
                        None
                    }
                } else {
                    None
                }
            }
            Err(_) => None,
        };
        let Some(name) = form else {
            // Checked on the expression itself, so a value of another type is reported there.
            let e: Expr = input.parse()?;
            let ty = quote_spanned!(e.span()=> ::steadfast::retry::wait::Wait);
            let typed = quote!({
                let wait: #ty = #e;
                wait
            });
            return Ok(WaitSpec {
                build: ok(typed),
                secs: false,
            });
        };
        input.parse::<Ident>()?;
        let s = name.to_string();
        if s == "none" {
            return Ok(WaitSpec {
                build: ok(quote!(#wait::none())),
                secs: false,
            });
        }
        let content;
        parenthesized!(content in input);
        let mut uses_secs = false;
        let build = match s.as_str() {
            "fixed" => {
                let e: Expr = content.parse()?;
                uses_secs = true;
                let d = secs(&e);
                ok(quote!(#wait::fixed(#d)))
            }
            "random" | "exponential" | "random_exponential" | "exponential_jitter" => {
                let allowed: &[&str] = match s.as_str() {
                    "random" => &["min", "max"],
                    "exponential_jitter" => &["multiplier", "min", "max", "exp_base", "jitter"],
                    _ => &["multiplier", "min", "max", "exp_base"],
                };
                let pairs = Punctuated::<KeyValue, Token![,]>::parse_terminated(&content)?;
                let mut seen: Vec<String> = Vec::new();
                let mut calls = Vec::new();
                let (mut min, mut max) = (None, None);
                for KeyValue { key, value } in pairs {
                    let k = key.to_string();
                    if !allowed.contains(&k.as_str()) {
                        return Err(syn::Error::new(
                            key.span(),
                            format!(
                                "unknown key `{k}` in `{s}(..)`; the keys are: {}",
                                allowed.join(", ")
                            ),
                        ));
                    }
                    if seen.contains(&k) {
                        return Err(syn::Error::new(key.span(), format!("`{k}` is given twice")));
                    }
                    seen.push(k.clone());
                    uses_secs |= matches!(k.as_str(), "jitter" | "min" | "max");
                    match k.as_str() {
                        "jitter" => {
                            let d = secs(&value);
                            calls.push(quote!(.#key(#d)));
                        }
                        "min" | "max" => {
                            let d = secs(&value);
                            if k == "min" {
                                min = Some(d.clone());
                            } else {
                                max = Some(d.clone());
                            }
                            calls.push(quote!(.#key(#d)));
                        }
                        _ => calls.push(quote!(.#key((#value) as f64))),
                    }
                }
                if s == "random" {
                    let (Some(min), Some(max)) = (min, max) else {
                        return Err(syn::Error::new(
                            name.span(),
                            "`random(..)` needs both `min` and `max` (seconds)",
                        ));
                    };
                    quote!(#wait::random(#min, #max))
                } else {
                    let f = Ident::new(&s, name.span());
                    quote!(#wait::#f() #(#calls)* .build())
                }
            }
            _ => {
                return Err(syn::Error::new(
                    name.span(),
                    format!("unknown wait `{s}`; the waits are: {WAITS}"),
                ));
            }
        };
        Ok(WaitSpec {
            build,
            secs: uses_secs,
        })
    }
}

struct KeyValue {
    key: Ident,
    value: Expr,
}

impl Parse for KeyValue {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let key: Ident = input.parse()?;
        input.parse::<Token![=]>()?;
        Ok(KeyValue {
            key,
            value: input.parse()?,
        })
    }
}

/// `attempts = n, wait = .., on = [..]`, or `policy = expr`.
pub(crate) struct RetryArgs {
    policy: Option<Expr>,
    attempts: Option<Expr>,
    wait: Option<WaitSpec>,
    on: Option<Vec<Ident>>,
}

impl Parse for RetryArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = RetryArgs {
            policy: None,
            attempts: None,
            wait: None,
            on: None,
        };
        let mut seen: Vec<String> = Vec::new();
        while !input.is_empty() {
            let key: Ident = input.parse()?;
            let name = key.to_string();
            if seen.contains(&name) {
                return Err(syn::Error::new(
                    key.span(),
                    format!("`{name}` is given twice"),
                ));
            }
            input.parse::<Token![=]>().map_err(|e| {
                if RETRY_KEYS.split(", ").any(|k| k == name) {
                    e
                } else {
                    unknown_retry_key(&key)
                }
            })?;
            match name.as_str() {
                "policy" => args.policy = Some(input.parse()?),
                "attempts" => args.attempts = Some(input.parse()?),
                "wait" => args.wait = Some(input.parse()?),
                "on" => args.on = Some(parse_kinds(input)?),
                _ => return Err(unknown_retry_key(&key)),
            }
            if (name == "policy" && !seen.is_empty())
                || (name != "policy" && seen.iter().any(|k| k == "policy"))
            {
                return Err(syn::Error::new(
                    key.span(),
                    "`policy = ..` is a whole policy: give it alone, or use `attempts`, `wait` and `on` without it",
                ));
            }
            seen.push(name);
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(args)
    }
}

fn unknown_retry_key(key: &Ident) -> syn::Error {
    syn::Error::new(
        key.span(),
        format!("unknown key `{key}` in #[steadfast::retry]; the keys are: {RETRY_KEYS}"),
    )
}

impl RetryArgs {
    /// The body of a function returning `steadfast::Result<steadfast::retry::Retry<steadfast::Error>>`.
    ///
    /// With `collect` (the function has an `errors` parameter) a policy built from the keys
    /// collects validation errors for reinsertion.
    pub(crate) fn policy(&self, collect: bool) -> TokenStream {
        if let Some(p) = &self.policy {
            return quote!(::core::result::Result::Ok(#p));
        }
        let stop = self
            .attempts
            .iter()
            .map(|n| quote!(.stop(::steadfast::retry::stop::after_attempt(#n))));
        let on = self.on.iter().map(|k| {
            let p = kinds_predicate(k);
            quote!(.retry_if(#p))
        });
        let wait = self.wait.iter().map(|w| {
            let b = &w.build;
            quote!(.wait((#b).map_err(|e| ::steadfast::Error::new(::steadfast::ErrorKind::Config, ::std::string::ToString::to_string(&e)))?))
        });
        let collect = collect
            .then(|| quote!(.collect_errors(::steadfast::resilient::validation())))
            .into_iter();
        let helper = self
            .wait
            .as_ref()
            .filter(|w| w.secs)
            .map(|_| secs_helper())
            .into_iter();
        quote! {
            #(#helper)*
            ::core::result::Result::Ok(
                ::steadfast::resilient::default_policy() #(#stop)* #(#wait)* #(#on)* #(#collect)*
            )
        }
    }
}

/// `on = [..], to = "provider:model", to = ..`, or `chain = expr`.
pub(crate) struct FallbackArgs {
    chain: Option<Expr>,
    on: Option<Vec<Ident>>,
    to: Vec<LitStr>,
}

impl Parse for FallbackArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut chain = None;
        let mut on = None;
        let mut to: Vec<LitStr> = Vec::new();
        let mut custom = false;
        let mut seen: Vec<String> = Vec::new();
        while !input.is_empty() {
            let key: Ident = input.parse()?;
            let name = key.to_string();
            if name != "to" && seen.contains(&name) {
                return Err(syn::Error::new(
                    key.span(),
                    format!("`{name}` is given twice"),
                ));
            }
            if !FALLBACK_KEYS.split(", ").any(|k| k == name) {
                return Err(syn::Error::new(
                    key.span(),
                    format!(
                        "unknown key `{name}` in #[steadfast::fallback]; the keys are: {FALLBACK_KEYS}"
                    ),
                ));
            }
            input.parse::<Token![=]>()?;
            match name.as_str() {
                "chain" => chain = Some(input.parse::<Expr>()?),
                "on" => on = Some(parse_kinds(input)?),
                "custom" => custom = input.parse::<LitBool>()?.value,
                _ => {
                    if input.peek(syn::token::Bracket) {
                        let content;
                        bracketed!(content in input);
                        to.extend(Punctuated::<LitStr, Token![,]>::parse_terminated(&content)?);
                    } else {
                        to.push(input.parse()?);
                    }
                }
            }
            seen.push(name);
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        if chain.is_some() && (on.is_some() || !to.is_empty()) {
            return Err(syn::Error::new(
                Span::call_site(),
                "`chain = ..` is a whole fallback chain: give it alone, or use `on` and `to` without it",
            ));
        }
        if chain.is_none() && to.is_empty() {
            return Err(syn::Error::new(
                Span::call_site(),
                "#[steadfast::fallback] needs a target to fall back to (`to = \"provider:model\"`) or `chain = ..`",
            ));
        }
        for t in &to {
            check_target(t, custom)?;
        }
        Ok(FallbackArgs { chain, on, to })
    }
}

impl FallbackArgs {
    /// The body of a function returning `steadfast::Result<steadfast::resilient::Chain>` over `call` (the
    /// bound call: each `to` is `call.with_target(to)`, so it keeps its parameters and tools).
    pub(crate) fn chain(&self, call: &Ident) -> TokenStream {
        if let Some(c) = &self.chain {
            return quote!(::core::result::Result::Ok(#c));
        }
        let on = match &self.on {
            Some(k) => kinds_predicate(k),
            None => quote!(::steadfast::resilient::kinds(
                ::steadfast::resilient::TRANSIENT
            )),
        };
        let to = &self.to;
        quote! {
            ::core::result::Result::Ok(
                ::steadfast::resilient::fallback(#on)
                    #(.backup(#call.with_target(#to)?, #on))*
            )
        }
    }
}

/// `#[steadfast::retry]` / `#[steadfast::fallback]` above `#[steadfast::call]`: moves itself under
/// it, where `#[steadfast::call]` reads it.
pub(crate) fn stacked(
    name: &str,
    attr: TokenStream,
    item: TokenStream,
) -> syn::Result<TokenStream> {
    struct Item {
        attrs: Vec<syn::Attribute>,
        rest: TokenStream,
    }
    impl Parse for Item {
        fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
            Ok(Item {
                attrs: input.call(syn::Attribute::parse_outer)?,
                rest: input.parse()?,
            })
        }
    }
    let Item { mut attrs, rest } = syn::parse2(item)?;
    let Some(i) = attrs
        .iter()
        .position(|a| a.path().segments.last().is_some_and(|s| s.ident == "call"))
    else {
        return Err(alone(name));
    };
    let ident = Ident::new(name, Span::call_site());
    attrs.insert(i + 1, syn::parse_quote!(#[::steadfast::#ident(#attr)]));
    Ok(quote!(#(#attrs)* #rest))
}

fn alone(name: &str) -> syn::Error {
    syn::Error::new(
        Span::call_site(),
        format!("#[steadfast::{name}] goes with #[steadfast::call] on a prompt function"),
    )
}
