//! The `novelty` fault: what providers add every month, rendered into a normal answer so that a
//! client can be checked for tolerance — an unknown field in every JSON object, unknown stream
//! events between the known ones, unknown content blocks (or parts) around the known ones.
//!
//! The names are clearly novel (`x_novelty…` in the snake_case protocols, `xNovelty…` in the
//! camelCase ones) and everything is deterministic. The known content (text, tool calls, usage,
//! finish reason) is the same as without novelty; only the indices of the known blocks shift.

use serde_json::{Map, Value, json};

/// The unknown field of the snake_case protocols (OpenAI family, Anthropic, Cohere).
pub(crate) const FIELD: &str = "x_novelty";
/// The unknown field of the camelCase protocols (Gemini, Bedrock).
pub(crate) const FIELD_CAMEL: &str = "xNovelty";
/// The type of an unknown content block (Anthropic `content[].type`, Cohere
/// `message.content[].type`).
pub(crate) const BLOCK_TYPE: &str = "x_novelty_block";
/// The type of an unknown content block delta (Anthropic `delta.type`).
pub(crate) const DELTA_TYPE: &str = "x_novelty_delta";
/// The name and `type` of Anthropic's unknown stream event.
pub(crate) const ANTHROPIC_EVENT: &str = "x_novelty_event";
/// The name and `type` of Cohere's unknown stream event.
pub(crate) const COHERE_EVENT: &str = "x-novelty-event";
/// The key of Gemini's unknown part.
pub(crate) const GEMINI_PART: &str = "xNoveltyPart";
/// Bedrock's unknown `ContentBlock` / `ContentBlockStart` union member.
pub(crate) const BEDROCK_BLOCK: &str = "xNoveltyBlock";
/// Bedrock's unknown `ContentBlockDelta` union member.
pub(crate) const BEDROCK_DELTA: &str = "xNoveltyDelta";
/// Bedrock's unknown eventstream `:event-type`.
pub(crate) const BEDROCK_EVENT: &str = "xNoveltyEvent";

/// The value of every unknown field: a small object holding a string (safe for the OpenAI
/// SDK's delta accumulation, which concatenates strings and merges objects).
pub(crate) fn value() -> Value {
    json!({"note": "novelty"})
}

/// How a protocol's JSON is decorated.
#[derive(Debug)]
pub(crate) struct Style {
    /// The unknown field's name.
    pub(crate) field: &'static str,
    /// Keys whose values are user data (tool arguments), left untouched.
    pub(crate) opaque: &'static [&'static str],
    /// Keys whose values are tagged unions (or arrays of them): exactly one member is set by
    /// the protocol, so no field is added at that level (members inside are decorated).
    pub(crate) unions: &'static [&'static str],
}

/// OpenAI Chat Completions and its variants (tool arguments are strings).
pub(crate) const OPENAI: Style = Style {
    field: FIELD,
    opaque: &[],
    unions: &[],
};

/// Anthropic Messages (`tool_use.input` is the tool's arguments).
pub(crate) const ANTHROPIC: Style = Style {
    field: FIELD,
    opaque: &["input"],
    unions: &[],
};

/// Gemini (`functionCall.args` is the tool's arguments).
pub(crate) const GEMINI: Style = Style {
    field: FIELD_CAMEL,
    opaque: &["args"],
    unions: &[],
};

/// Cohere v2 (tool arguments are strings).
pub(crate) const COHERE: Style = Style {
    field: FIELD,
    opaque: &[],
    unions: &[],
};

/// Bedrock Converse: `toolUse.input` is a document; `output` (`ConverseOutput`), the
/// `content` blocks (`ContentBlock`), `delta` (`ContentBlockDelta`) and `start`
/// (`ContentBlockStart`) are tagged unions, which AWS SDKs reject when more than one member
/// is set.
pub(crate) const BEDROCK: Style = Style {
    field: FIELD_CAMEL,
    opaque: &["input"],
    unions: &["output", "content", "delta", "start"],
};

/// Adds the unknown field to every JSON object of `v` (at every level), except tool arguments
/// and tagged unions.
pub(crate) fn mark(v: &mut Value, style: &Style) {
    mark_in(v, style, false);
}

fn mark_in(v: &mut Value, style: &Style, union: bool) {
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                if style.opaque.contains(&k.as_str()) {
                    continue;
                }
                mark_in(child, style, style.unions.contains(&k.as_str()));
            }
            if !union {
                map.insert(style.field.to_owned(), value());
            }
        }
        Value::Array(items) => {
            for item in items {
                mark_in(item, style, union);
            }
        }
        _ => {}
    }
}

/// `novel()` before, between and after the `known` items: `[N, k0, N, k1, N]`.
pub(crate) fn interleave(known: Vec<Value>, novel: impl Fn() -> Value) -> Vec<Value> {
    let mut out = Vec::with_capacity(known.len() * 2 + 1);
    out.push(novel());
    for k in known {
        out.push(k);
        out.push(novel());
    }
    out
}

/// Inserts `first` after the first item and `last` before the last one; with a single item,
/// both go before it.
pub(crate) fn between<T>(items: &mut Vec<T>, first: T, last: T) {
    let n = items.len();
    if n >= 2 {
        items.insert(n - 1, last);
        items.insert(1, first);
    } else {
        items.insert(0, last);
        items.insert(0, first);
    }
}

/// An object holding only the unknown field.
pub(crate) fn only_field(field: &str) -> Value {
    let mut m = Map::new();
    m.insert(field.to_owned(), value());
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_every_object_but_arguments_and_unions() {
        let mut v = json!({"a": {"b": [{"c": 1}, 2]}, "input": {"city": "x"},
            "content": [{"toolUse": {"input": {"k": 1}, "name": "n"}}]});
        mark(&mut v, &BEDROCK);
        assert_eq!(v["xNovelty"], value());
        assert_eq!(v["a"]["xNovelty"], value());
        assert_eq!(v["a"]["b"][0]["xNovelty"], value());
        assert_eq!(v["input"], json!({"city": "x"}));
        assert!(v["content"][0].get("xNovelty").is_none());
        assert_eq!(v["content"][0]["toolUse"]["xNovelty"], value());
        assert_eq!(v["content"][0]["toolUse"]["input"], json!({"k": 1}));
    }

    #[test]
    fn interleaves_and_inserts_between() {
        let n = || json!("n");
        assert_eq!(
            interleave(vec![json!(1), json!(2)], n),
            vec![json!("n"), json!(1), json!("n"), json!(2), json!("n")]
        );
        assert_eq!(interleave(Vec::new(), n), vec![json!("n")]);
        let mut v = vec![1, 2, 3];
        between(&mut v, 10, 20);
        assert_eq!(v, [1, 10, 2, 20, 3]);
        let mut v = vec![1];
        between(&mut v, 10, 20);
        assert_eq!(v, [10, 20, 1]);
    }
}
