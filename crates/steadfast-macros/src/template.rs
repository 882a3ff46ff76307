//! The compile-time side of `steadfast::Template`: the variables a template names and the same
//! syntax errors `Template::new` reports. Rendering is left to the library at run time, so a
//! prompt function renders exactly as `Template` does.

/// How a variable is formatted: `{name}`, `{name:list}` or `{name:lists}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Spec {
    Plain,
    List,
    Lists,
}

/// The variables of `source` in order of first use, each with the specs it is used with, or the
/// message `Template::new` would fail with.
pub(crate) fn variables(source: &str) -> Result<Vec<(String, Vec<Spec>)>, String> {
    let mut out: Vec<(String, Vec<Spec>)> = Vec::new();
    let mut chars = source.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '{' if matches!(chars.peek(), Some((_, '{'))) => {
                chars.next();
            }
            '}' if matches!(chars.peek(), Some((_, '}'))) => {
                chars.next();
            }
            '{' => {
                let rest = &source[i + 1..];
                let end = rest
                    .find('}')
                    .ok_or_else(|| "template has an unclosed `{`".to_string())?;
                let inner = &rest[..end];
                for _ in 0..inner.chars().count() + 1 {
                    chars.next();
                }
                let (name, spec) = match inner.split_once(':') {
                    None => (inner.trim(), Spec::Plain),
                    Some((n, "list")) => (n.trim(), Spec::List),
                    Some((n, "lists")) => (n.trim(), Spec::Lists),
                    Some((n, other)) => {
                        return Err(format!(
                            "template variable `{n}` has unknown format `{other}` (expected `list` or `lists`)"
                        ));
                    }
                };
                if name.is_empty()
                    || !name
                        .chars()
                        .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
                {
                    return Err(format!(
                        "template has an invalid variable name `{{{inner}}}`"
                    ));
                }
                match out.iter_mut().find(|(n, _)| n == name) {
                    Some((_, specs)) => specs.push(spec),
                    None => out.push((name.to_string(), vec![spec])),
                }
            }
            '}' => {
                return Err("template has a lone `}` (write `}}` for a literal brace)".to_string());
            }
            _ => {}
        }
    }
    Ok(out)
}
