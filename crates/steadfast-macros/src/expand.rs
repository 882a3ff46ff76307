//! The expansions of `#[steadfast::call]` and `#[steadfast::prompt_template]`.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{
    Attribute, Block, FnArg, GenericArgument, Ident, LitStr, Pat, PathArguments, ReturnType,
    Signature, Token, Type, Visibility,
};

use crate::args::CallArgs;
use crate::resilience::{FallbackArgs, RetryArgs};
use crate::template::{self, Spec};

/// A function item whose body may be missing (`fn f(..) -> R;`), as `#[prompt_template]` wants.
struct FnItem {
    attrs: Vec<Attribute>,
    vis: Visibility,
    sig: Signature,
    body: Option<Box<Block>>,
}

impl Parse for FnItem {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        let sig: Signature = input.parse()?;
        let body = if input.peek(Token![;]) {
            input.parse::<Token![;]>()?;
            None
        } else {
            Some(Box::new(input.parse()?))
        };
        Ok(FnItem {
            attrs,
            vis,
            sig,
            body,
        })
    }
}

/// What the declared return type `Result<R>` asks for.
enum Output {
    /// `Result<Response>`: the response.
    Response,
    /// `Result<String>`: its text.
    Text,
    /// `Result<ResponseStream>`: the stream.
    Stream,
    /// `Result<T>`: structured output of type `T`.
    Extract(Box<Type>),
}

const RETURN_TYPES: &str = "a prompt function returns `steadfast::Result<R>` where `R` is `steadfast::Response`, `String` (the text), `steadfast::ResponseStream` (a stream) or a `Deserialize + JsonSchema` type (structured output)";

fn output(ret: &ReturnType) -> syn::Result<Output> {
    let ty = match ret {
        ReturnType::Default => {
            return Err(syn::Error::new(
                ret.span(),
                format!("missing return type: {RETURN_TYPES}"),
            ));
        }
        ReturnType::Type(_, ty) => ty,
    };
    let unsupported = || {
        syn::Error::new(
            ty.span(),
            format!("unsupported return type: {RETURN_TYPES}"),
        )
    };
    let Type::Path(path) = &**ty else {
        return Err(unsupported());
    };
    let last = path.path.segments.last().ok_or_else(unsupported)?;
    if last.ident != "Result" {
        return Err(unsupported());
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return Err(unsupported());
    };
    let Some(GenericArgument::Type(inner)) = args.args.first() else {
        return Err(unsupported());
    };
    if args.args.len() > 2 {
        return Err(unsupported());
    }
    let name = match inner {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    };
    Ok(match name.as_deref() {
        Some("Response") => Output::Response,
        Some("String") => Output::Text,
        Some("ResponseStream") => Output::Stream,
        _ => Output::Extract(Box::new(inner.clone())),
    })
}

/// A parameter: its name and type.
struct Param {
    name: Ident,
    ty: Type,
    /// `errors: &[steadfast::Error]`: filled by the retry policy, not an argument of `run`.
    errors: bool,
}

const ERRORS_TYPE: &str = "filled by #[steadfast::retry] with the errors collected so far: its type must be `&[steadfast::Error]`";

/// Whether the parameter is the errors parameter: named `errors`, or annotated `#[errors]` (with
/// any name). Either of another type than a shared slice reference is a compile error.
fn is_errors(name: &Ident, ty: &Type, annotated: bool) -> syn::Result<bool> {
    if name != "errors" && !annotated {
        return Ok(false);
    }
    match ty {
        Type::Reference(r) if r.mutability.is_none() && matches!(*r.elem, Type::Slice(_)) => {
            Ok(true)
        }
        other => Err(syn::Error::new(
            other.span(),
            if annotated {
                format!("the `#[errors]` parameter `{name}` is {ERRORS_TYPE}")
            } else {
                format!("`errors` is {ERRORS_TYPE}")
            },
        )),
    }
}

/// Whether `a` is `#[errors]`.
fn is_errors_attr(a: &Attribute) -> bool {
    a.path().is_ident("errors")
}

/// Removes the `#[errors]` annotations from the signature (they are this macro's, not the
/// compiler's), returning the parameters' names that had one.
fn strip_errors_attrs(sig: &mut Signature) -> syn::Result<Vec<Ident>> {
    let mut annotated = Vec::new();
    for arg in &mut sig.inputs {
        if let FnArg::Typed(t) = arg {
            if let Some(a) = t.attrs.iter().find(|a| is_errors_attr(a)) {
                if !matches!(a.meta, syn::Meta::Path(_)) {
                    return Err(syn::Error::new_spanned(a, "`#[errors]` takes no arguments"));
                }
                if let Pat::Ident(p) = &*t.pat {
                    annotated.push(p.ident.clone());
                }
            }
            t.attrs.retain(|a| !is_errors_attr(a));
        }
    }
    Ok(annotated)
}

/// The parameters of `sig`, after [`strip_errors_attrs`] (whose result is `annotated`).
fn params(sig: &Signature, annotated: &[Ident]) -> syn::Result<Vec<Param>> {
    let params: Vec<Param> = sig
        .inputs
        .iter()
        .map(|arg| match arg {
            FnArg::Receiver(r) => Err(syn::Error::new_spanned(
                r,
                "a prompt function is a free function: it cannot take `self`",
            )),
            FnArg::Typed(t) => match &*t.pat {
                Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() => Ok(Param {
                    name: p.ident.clone(),
                    ty: (*t.ty).clone(),
                    errors: is_errors(&p.ident, &t.ty, annotated.contains(&p.ident))?,
                }),
                other => Err(syn::Error::new(
                    other.span(),
                    "a prompt function's parameters must be plain names (`genre: &str`)",
                )),
            },
        })
        .collect::<syn::Result<_>>()?;
    let mut errors = params.iter().filter(|p| p.errors);
    if let (Some(first), Some(second)) = (errors.next(), errors.next()) {
        return Err(syn::Error::new(
            second.name.span(),
            format!(
                "only one parameter receives the collected errors, and `{}` already does: remove `#[errors]` from one of them (or rename the one called `errors`)",
                first.name
            ),
        ));
    }
    Ok(params)
}

/// The attribute `name` among `attrs` (by its last path segment), removed from them.
fn take_attr(attrs: &mut Vec<Attribute>, name: &str) -> Option<Attribute> {
    let i = attrs
        .iter()
        .position(|a| a.path().segments.last().is_some_and(|s| s.ident == name))?;
    Some(attrs.remove(i))
}

/// The arguments of `#[name(..)]` (none for `#[name]`).
fn attr_args(attr: &Attribute, name: &str) -> syn::Result<TokenStream> {
    match &attr.meta {
        syn::Meta::Path(_) => Ok(TokenStream::new()),
        syn::Meta::List(l) => Ok(l.tokens.clone()),
        syn::Meta::NameValue(_) => Err(syn::Error::new_spanned(
            attr,
            format!("write #[steadfast::{name}(key = value, ..)]"),
        )),
    }
}

/// Whether `ty` is plainly text or a number (`&str`, `String`, `i32`, …): a value that is not a
/// list.
fn is_scalar(ty: &Type) -> bool {
    let ty = match ty {
        Type::Reference(r) => &*r.elem,
        other => other,
    };
    let Type::Path(p) = ty else {
        return false;
    };
    p.path.segments.last().is_some_and(|s| {
        matches!(
            s.ident.to_string().as_str(),
            "str"
                | "String"
                | "i32"
                | "i64"
                | "u32"
                | "u64"
                | "usize"
                | "f32"
                | "f64"
                | "bool"
                | "char"
        )
    })
}

/// The checked template of `#[prompt_template("..")]`, and the code that renders it from the
/// parameters.
fn template_body(attr: TokenStream, params: &[Param]) -> syn::Result<TokenStream> {
    let source: LitStr = syn::parse2(attr).map_err(|e| {
        syn::Error::new(
            e.span(),
            "#[steadfast::prompt_template] takes one string: #[steadfast::prompt_template(\"Recommend a {genre} book\")]",
        )
    })?;
    let vars = template::variables(&source.value())
        .map_err(|message| syn::Error::new(source.span(), message))?;
    let mut sets = Vec::new();
    for (name, specs) in &vars {
        let Some(param) = params.iter().find(|p| p.name == name) else {
            let names: Vec<String> = params.iter().map(|p| format!("`{}`", p.name)).collect();
            let names = if names.is_empty() {
                "the function has none".to_string()
            } else {
                format!("the parameters are {}", names.join(", "))
            };
            return Err(syn::Error::new(
                source.span(),
                format!("template variable `{name}` is not a parameter of the function ({names})"),
            ));
        };
        for spec in specs {
            let form = match spec {
                Spec::Plain => continue,
                Spec::List => "list",
                Spec::Lists => "lists",
            };
            if is_scalar(&param.ty) {
                let ty = &param.ty;
                return Err(syn::Error::new(
                    source.span(),
                    format!(
                        "`{{{name}:{form}}}` needs a list, but `{name}` is `{}`",
                        quote!(#ty).to_string().replace(" ", "")
                    ),
                ));
            }
        }
        let ident = &param.name;
        if param.errors {
            sets.push(quote!(.with_errors(#name, #ident)));
        } else {
            sets.push(quote!(.with(#name, #ident)));
        }
    }
    Ok(quote! {
        ::steadfast::Template::new(#source)?.render(&::steadfast::Vars::new() #(#sets)*)
    })
}

/// `#[steadfast::call(..)]`.
pub(crate) fn call(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let args: CallArgs = syn::parse2(attr)?;
    let mut f: FnItem = syn::parse2(item)?;
    let template = take_attr(&mut f.attrs, "prompt_template");
    let retry: Option<RetryArgs> = take_attr(&mut f.attrs, "retry")
        .map(|a| syn::parse2(attr_args(&a, "retry")?))
        .transpose()?;
    let fallback: Option<FallbackArgs> = take_attr(&mut f.attrs, "fallback")
        .map(|a| syn::parse2(attr_args(&a, "fallback")?))
        .transpose()?;
    for again in ["retry", "fallback"] {
        if let Some(a) = f
            .attrs
            .iter()
            .find(|a| a.path().segments.last().is_some_and(|s| s.ident == again))
        {
            return Err(syn::Error::new_spanned(
                a,
                format!(
                    "#[steadfast::{again}] is given twice on `{}`: a prompt function has one {}; put every key in one attribute (or build it in code: `{}`)",
                    f.sig.ident,
                    if again == "retry" {
                        "retry policy"
                    } else {
                        "fallback chain"
                    },
                    if again == "retry" {
                        "policy = my_policy()"
                    } else {
                        "chain = my_chain()"
                    },
                ),
            ));
        }
    }
    let out = output(&f.sig.output)?;
    let annotated = strip_errors_attrs(&mut f.sig)?;
    let params = params(&f.sig, &annotated)?;

    let FnItem {
        attrs,
        vis,
        sig,
        body,
    } = f;
    let name = &sig.ident;
    let ret = &sig.output;
    let (impl_generics, _, where_clause) = sig.generics.split_for_impl();
    let generics = &sig.generics;
    let inputs = &sig.inputs;
    let arg_names: Vec<&Ident> = params.iter().map(|p| &p.name).collect();
    let errors_param = params.iter().find(|p| p.errors);
    // The arguments of `run` and of the generated function: all but `errors`.
    let run_names: Vec<&Ident> = params
        .iter()
        .filter(|p| !p.errors)
        .map(|p| &p.name)
        .collect();
    if let Some(e) = errors_param {
        if retry.is_none() {
            return Err(syn::Error::new(
                e.name.span(),
                format!(
                    "`{}` is filled by the retry policy: add #[steadfast::retry(..)]",
                    e.name
                ),
            ));
        }
        if matches!(out, Output::Stream) {
            return Err(syn::Error::new(
                e.name.span(),
                format!(
                    "`{}` (the collected errors) is not supported on a stream: a stream is not re-prompted with its errors",
                    e.name
                ),
            ));
        }
        if sig.asyncness.is_some() && template.is_none() {
            return Err(syn::Error::new(
                e.name.span(),
                format!(
                    "a prompt function with an errors parameter (`{}`) must be sync (its prompt is rebuilt for every attempt), or use #[steadfast::prompt_template]",
                    e.name
                ),
            ));
        }
    }
    if let Some(v) = &args.validate {
        if !matches!(out, Output::Extract(_)) {
            return Err(syn::Error::new(
                v.span(),
                "`validate` checks structured output: the return type must be `Result<T>` with `T: Deserialize + JsonSchema`",
            ));
        }
        if retry.is_none() {
            return Err(syn::Error::new(
                v.span(),
                "`validate` failures are attempt failures of the retry policy: add #[steadfast::retry(..)]",
            ));
        }
    }
    let is_async = sig.asyncness.is_some();

    // The prompt: the rendered template, or the body converted into a prompt.
    let (prompt_fn, prompt_await) = match (template, body) {
        (Some(t), None) => {
            let args = match &t.meta {
                syn::Meta::List(l) => l.tokens.clone(),
                other => {
                    return Err(syn::Error::new(
                        other.span(),
                        "#[steadfast::prompt_template] takes one string: #[steadfast::prompt_template(\"..\")]",
                    ));
                }
            };
            let render = template_body(args, &params)?;
            let clean: Vec<TokenStream> = params
                .iter()
                .map(|p| {
                    let (n, t) = (&p.name, &p.ty);
                    quote!(#n: #t)
                })
                .collect();
            (
                quote! {
                    /// The prompt this function sends, rendered from its template.
                    #vis fn prompt #impl_generics (#(#clean),*) -> ::steadfast::Result<::steadfast::Prompt> #where_clause {
                        #render
                    }
                },
                quote!(),
            )
        }
        (Some(t), Some(b)) => {
            let _ = b;
            return Err(syn::Error::new_spanned(
                t,
                "a function with #[steadfast::prompt_template] has no body: end it with `;`",
            ));
        }
        (None, Some(b)) => {
            let asyncness = &sig.asyncness;
            let clean: Vec<TokenStream> = params
                .iter()
                .map(|p| {
                    let (n, t) = (&p.name, &p.ty);
                    quote!(#n: #t)
                })
                .collect();
            // A body that is not a prompt is reported on its value.
            let span = match b.stmts.last() {
                Some(syn::Stmt::Expr(e, None)) => e.span(),
                _ => b.span(),
            };
            let into = quote_spanned!(span=> ::core::convert::Into::<::steadfast::Prompt>::into);
            let body_ret = quote_spanned!(span=> impl ::core::convert::Into<::steadfast::Prompt>);
            let awaited = if is_async { quote!(.await) } else { quote!() };
            (
                quote! {
                    /// The prompt this function sends: its body, converted into a
                    /// [`Prompt`](::steadfast::Prompt).
                    #vis #asyncness fn prompt #impl_generics (#(#clean),*) -> ::steadfast::Result<::steadfast::Prompt> #where_clause {
                        #[allow(unused_mut, reason = "the parameters as the prompt function declares them")]
                        #asyncness fn __body #generics (#inputs) -> #body_ret #where_clause #b
                        ::core::result::Result::Ok(#into(__body(#(#arg_names),*)#awaited))
                    }
                },
                awaited,
            )
        }
        (None, None) => {
            return Err(syn::Error::new(
                sig.span(),
                "a prompt function needs a body that returns a prompt, or a #[steadfast::prompt_template(\"..\")] under #[steadfast::call]",
            ));
        }
    };

    let prompt = format_ident!("__prompt", span = Span::mixed_site());
    let call_ident = Ident::new("call", Span::mixed_site());
    // Through `Call` itself, or through a `Resilient` when the function has a policy or a chain.
    let (sender, resilience) = match (&retry, &fallback) {
        (None, None) => (quote!(self.call), quote!()),
        (retry, fallback) => {
            let policy_fn = retry.as_ref().map(|r| {
                let body = r.policy(errors_param.is_some());
                quote! {
                    /// The retry policy the `#[steadfast::retry]` attribute describes.
                    ///
                    /// # Errors
                    /// [`ErrorKind::Config`](::steadfast::ErrorKind::Config) for a wait that
                    /// cannot work (a minimum above the maximum, say).
                    #vis fn policy() -> ::steadfast::Result<::steadfast::retry::Retry<::steadfast::Error>> {
                        #body
                    }
                }
            });
            let chain_fn = fallback.as_ref().map(|f| {
                let body = f.chain(&call_ident);
                quote! {
                    /// The fallback chain the `#[steadfast::fallback]` attribute describes, over
                    /// `call` (the bound call: each backup is `call.with_target(to)`).
                    ///
                    /// # Errors
                    /// [`ErrorKind::Config`](::steadfast::ErrorKind::Config) when a backup's
                    /// provider is not registered.
                    #[allow(unused_variables)]
                    #vis fn chain(#call_ident: &::steadfast::Call) -> ::steadfast::Result<::steadfast::resilient::Chain> {
                        #body
                    }
                }
            });
            let resilient = format_ident!("__resilient", span = Span::mixed_site());
            // Links only to the functions that exist (a broken link is a rustdoc warning in the
            // user's crate).
            let resilient_doc = match (retry, fallback) {
                (Some(_), Some(_)) => {
                    "The bound call with the attributes' retry policy and fallback chain.\n\n# Errors\nAs [`policy`](Self::policy) and [`chain`](Self::chain)."
                }
                (Some(_), None) => {
                    "The bound call with the attribute's retry policy.\n\n# Errors\nAs [`policy`](Self::policy)."
                }
                _ => {
                    "The bound call with the attribute's fallback chain.\n\n# Errors\nAs [`chain`](Self::chain)."
                }
            };
            let resilient_doc: Vec<String> = resilient_doc
                .split('\n')
                .map(|line| format!(" {line}"))
                .collect();
            let base = match retry {
                Some(_) => quote!(self.call.retry(Self::policy()?)),
                None => quote!(self.call.fallback(Self::chain(&self.call)?)),
            };
            let chained = match (retry, fallback) {
                (Some(_), Some(_)) => quote!(.fallback(Self::chain(&self.call)?)),
                _ => quote!(),
            };
            (
                quote!(#resilient),
                quote! {
                    #policy_fn
                    #chain_fn
                    #(#[doc = #resilient_doc])*
                    #vis fn resilient(&self) -> ::steadfast::Result<::steadfast::Resilient> {
                        ::core::result::Result::Ok(#base #chained)
                    }
                },
            )
        }
    };
    let bind = if resilience.is_empty() {
        quote!()
    } else {
        let r = &sender;
        quote!(let #r = self.resilient()?;)
    };
    let validate = args.validate.iter().map(|v| quote!(.validate(#v)));
    let send = match (&out, errors_param.is_some()) {
        (Output::Response, false) => {
            quote!(::core::result::Result::Ok(#sender.send(#prompt).await?))
        }
        (Output::Response, true) => {
            quote!(::core::result::Result::Ok(#sender.send_with(#prompt).await?))
        }
        (Output::Text, false) => quote!(::core::result::Result::Ok(
            ::std::string::ToString::to_string(#sender.send(#prompt).await?.text())
        )),
        (Output::Text, true) => quote!(::core::result::Result::Ok(
            ::std::string::ToString::to_string(#sender.send_with(#prompt).await?.text())
        )),
        (Output::Stream, _) => quote!(::core::result::Result::Ok(#sender.stream(#prompt))),
        (Output::Extract(t), false) => {
            quote!(::core::result::Result::Ok(#sender.extract::<#t>(#prompt) #(#validate)* .await?))
        }
        (Output::Extract(t), true) => {
            quote!(::core::result::Result::Ok(#sender.extract_with::<#t, _>(#prompt) #(#validate)* .await?))
        }
    };
    // The prompt: rendered once, or (with `errors`) a `'static` closure over owned copies of the
    // arguments that renders it for every attempt.
    let make_prompt = if errors_param.is_some() {
        let mut owned = Vec::new();
        let mut passed = Vec::new();
        for p in &params {
            let n = &p.name;
            let o = format_ident!("__owned_{}", n, span = Span::mixed_site());
            if p.errors {
                passed.push(quote!(__errors));
                continue;
            }
            match &p.ty {
                Type::Reference(r) => {
                    let elem = &r.elem;
                    owned.push(quote!(let #o = <#elem as ::std::borrow::ToOwned>::to_owned(#n);));
                    passed.push(quote!(::core::borrow::Borrow::<#elem>::borrow(&#o)));
                }
                _ => {
                    owned.push(quote!(let #o = #n;));
                    passed.push(quote!(::core::clone::Clone::clone(&#o)));
                }
            }
        }
        quote! {
            #(#owned)*
            let #prompt = move |__errors: &[::steadfast::Error]| Self::prompt(#(#passed),*);
        }
    } else {
        quote!(let #prompt = Self::prompt(#(#arg_names),*)#prompt_await?;)
    };
    let configure = args.configure(&call_ident);
    let target = args.target_tokens();
    let clean_inputs: Vec<TokenStream> = params
        .iter()
        .filter(|p| !p.errors)
        .map(|p| {
            let (n, t) = (&p.name, &p.ty);
            quote!(#n: #t)
        })
        .collect();
    let doc_with = format!(
        "The prompt function [`{name}`] bound to a call: `{name}::with(call).run(..)` sends \
         through `call` (its provider, model and client settings), with the attribute's \
         parameters and tools applied on top."
    );

    Ok(quote! {
        #[doc = #doc_with]
        #[allow(non_camel_case_types)]
        #[derive(Debug, Clone)]
        #vis struct #name {
            call: ::steadfast::Call,
        }

        #[allow(dead_code, clippy::needless_question_mark)]
        impl #name {
            /// The target the attribute names.
            #vis const TARGET: &'static str = #target;

            /// `call` with the attribute's parameters and tools applied.
            #vis fn configure(#call_ident: ::steadfast::Call) -> ::steadfast::Call {
                #configure
            }

            /// The call the attribute describes: `steadfast::llm::call(TARGET)`, configured.
            ///
            /// # Errors
            /// [`ErrorKind::Config`](::steadfast::ErrorKind::Config) when the provider is not
            /// registered (or its cargo feature is off).
            #vis fn call() -> ::steadfast::Result<::steadfast::Call> {
                ::core::result::Result::Ok(Self::configure(::steadfast::llm::call(Self::TARGET)?))
            }

            /// This prompt function sending through `call` instead of the attribute's target.
            #vis fn with(#call_ident: ::steadfast::Call) -> Self {
                #name { call: Self::configure(#call_ident) }
            }

            #prompt_fn

            #resilience

            /// Sends the prompt through the bound call.
            #vis async fn run #impl_generics (&self, #(#clean_inputs),*) #ret #where_clause {
                #make_prompt
                #bind
                #send
            }
        }

        #(#attrs)*
        #vis async fn #name #impl_generics (#(#clean_inputs),*) #ret #where_clause {
            #name { call: #name::call()? }.run(#(#run_names),*).await
        }
    })
}

/// `#[steadfast::prompt_template(..)]` on its own: a body-less function returning
/// `Result<Prompt>` gets a body rendering the template.
pub(crate) fn prompt_template(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let mut f: FnItem = syn::parse2(item)?;
    if let Some(a) = f
        .attrs
        .iter()
        .find(|a| a.path().segments.last().is_some_and(|s| s.ident == "call"))
    {
        return Err(syn::Error::new(
            a.span(),
            "put #[steadfast::prompt_template] under #[steadfast::call], not above it",
        ));
    }
    if let Some(b) = &f.body {
        return Err(syn::Error::new_spanned(
            b,
            "a function with #[steadfast::prompt_template] has no body: end it with `;`",
        ));
    }
    let annotated = strip_errors_attrs(&mut f.sig)?;
    let params = params(&f.sig, &annotated)?;
    let render = template_body(attr, &params)?;
    let FnItem {
        attrs, vis, sig, ..
    } = f;
    Ok(quote! {
        #(#attrs)*
        #[allow(clippy::needless_question_mark)]
        #vis #sig {
            ::core::result::Result::Ok(#render?)
        }
    })
}
