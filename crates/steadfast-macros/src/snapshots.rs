//! Expansion snapshots: every `tests/expand/NAME.rs` is expanded the way the compiler would
//! (outermost attribute first, each expansion's output expanded again) by this crate's own
//! expansion functions on `proc_macro2` tokens, formatted with `prettyplease`, and compared with
//! `tests/expand/NAME.expanded.rs`. A change in what the attributes generate fails here; after a
//! deliberate one, rewrite the snapshots with `STEADFAST_BLESS=1 cargo test -p steadfast-macros`
//! and review the diff. (`macrotest` would need `cargo expand` and a nightly compiler.)

use std::path::{Path, PathBuf};

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Item};

/// An item split into its outer attributes and the rest.
struct Split {
    attrs: Vec<Attribute>,
    rest: TokenStream,
}

impl Parse for Split {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        Ok(Split {
            attrs: input.call(Attribute::parse_outer)?,
            rest: input.parse()?,
        })
    }
}

/// The items `tokens` (a sequence of items) expands to.
fn expand(tokens: TokenStream) -> Result<Vec<Item>, String> {
    let file: syn::File = syn::parse2(tokens).map_err(|e| format!("not items: {e}"))?;
    let mut out = Vec::new();
    for item in file.items {
        out.extend(expand_item(item.into_token_stream())?);
    }
    Ok(out)
}

/// One item: its first attribute of this crate's (by its last path segment, as the expansions
/// find each other) is expanded, then the result again, until none is left.
fn expand_item(tokens: TokenStream) -> Result<Vec<Item>, String> {
    let Split { mut attrs, rest } = syn::parse2(tokens).map_err(|e| e.to_string())?;
    let ours = ["call", "prompt_template", "retry", "fallback"];
    let Some(i) = attrs.iter().position(|a| {
        a.path()
            .segments
            .last()
            .is_some_and(|s| ours.iter().any(|o| s.ident == o))
    }) else {
        let tokens = quote::quote!(#(#attrs)* #rest);
        return syn::parse2::<syn::File>(tokens)
            .map(|f| f.items)
            .map_err(|e| e.to_string());
    };
    let attr = attrs.remove(i);
    let args = match &attr.meta {
        syn::Meta::List(l) => l.tokens.clone(),
        _ => TokenStream::new(),
    };
    let item = quote::quote!(#(#attrs)* #rest);
    let name = attr
        .path()
        .segments
        .last()
        .map(|s| s.ident.to_string())
        .unwrap_or_default();
    let expanded = match name.as_str() {
        "call" => crate::expand::call(args, item),
        "prompt_template" => crate::expand::prompt_template(args, item),
        other => crate::resilience::stacked(other, args, item),
    }
    .map_err(|e| format!("#[{name}]: {e}"))?;
    expand(expanded)
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/expand")
}

#[test]
fn expansions_match_their_snapshots() {
    let bless = std::env::var_os("STEADFAST_BLESS").is_some_and(|v| v == "1");
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(dir())
        .unwrap_or_else(|e| panic!("{}: {e}", dir().display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|x| x == "rs")
                && !p.to_string_lossy().ends_with(".expanded.rs")
        })
        .collect();
    inputs.sort();
    assert!(inputs.len() >= 5, "the snapshot inputs are missing");
    let mut failed = Vec::new();
    for input in &inputs {
        let source = std::fs::read_to_string(input).unwrap_or_else(|e| panic!("{e}"));
        let tokens: TokenStream = source
            .parse()
            .unwrap_or_else(|e| panic!("{}: {e}", input.display()));
        let items = expand(tokens).unwrap_or_else(|e| panic!("{}: {e}", input.display()));
        let expanded = prettyplease::unparse(&syn::File {
            shebang: None,
            attrs: Vec::new(),
            items,
        });
        // Every `(Self::name)` doc link names a function the expansion has (a broken link is a
        // rustdoc warning in the user's crate).
        for link in expanded.split("(Self::").skip(1) {
            let name: String = link
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            assert!(
                expanded.contains(&format!("fn {name}("))
                    || expanded.contains(&format!("const {name}:")),
                "{}: a doc link to Self::{name}, which is not generated",
                input.display()
            );
        }
        let snapshot = input.with_extension("expanded.rs");
        let expected = std::fs::read_to_string(&snapshot).unwrap_or_default();
        if expanded != expected {
            if bless {
                std::fs::write(&snapshot, &expanded).unwrap_or_else(|e| panic!("{e}"));
            } else {
                failed.push(format!(
                    "{} changed; expanded now:\n{expanded}",
                    snapshot.display()
                ));
            }
        }
    }
    assert!(
        failed.is_empty(),
        "{}\n(after a deliberate change: STEADFAST_BLESS=1 cargo test -p steadfast-macros, and review the diff)",
        failed.join("\n")
    );
}
