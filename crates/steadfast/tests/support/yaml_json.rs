//! Loads an OpenAPI document written in YAML as a `serde_json::Value`, for tests that check
//! requests and examples against the official specs in `../shared/fixtures/`.
//!
//! Shared by the unit tests of the providers (through `#[path]`) and the integration tests.

#![allow(dead_code, reason = "each test crate uses a different part")]

use serde_json::{Map, Value, json};

/// Reads the YAML file at `path` as JSON.
///
/// Integer literals wider than 64 bits (the Cohere and Mistral specs give a seed's `maximum` as
/// `18446744073709552000`) are read as floats: YAML libraries refuse them as integers.
pub(crate) fn load(path: &str) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let text: String = text
        .lines()
        .map(widen_huge_integer)
        .collect::<Vec<_>>()
        .join("\n");
    let yaml: serde_norway::Value =
        serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    to_json(yaml)
}

/// `key: 123…` with more than 19 digits becomes `key: 123….0`.
fn widen_huge_integer(line: &str) -> String {
    if let Some((key, value)) = line.split_once(": ") {
        let v = value.trim();
        if v.len() > 19 && v.bytes().all(|b| b.is_ascii_digit()) {
            return format!("{key}: {v}.0");
        }
    }
    line.to_string()
}

fn to_json(v: serde_norway::Value) -> Value {
    use serde_norway::Value as Y;
    match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => n
            .as_i64()
            .map(Value::from)
            .or_else(|| n.as_u64().map(Value::from))
            .or_else(|| n.as_f64().map(Value::from))
            .unwrap_or(Value::Null),
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(to_json).collect()),
        Y::Mapping(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let key = match k {
                        Y::String(s) => s,
                        Y::Bool(b) => b.to_string(),
                        Y::Number(n) => n.to_string(),
                        other => panic!("unsupported YAML key {other:?}"),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        Y::Tagged(t) => to_json(t.value),
    }
}

/// Gives OpenAPI's `discriminator` its meaning in plain JSON Schema: a `oneOf` with a
/// `discriminator.mapping` becomes "the property is one of the mapped values, and the branch its
/// value names matches". (A validator ignores `discriminator`, and the `oneOf` alone fails when two
/// branches accept the same document, as Cohere's `ResponseFormatV2` branches do.)
pub(crate) fn resolve_discriminators(v: &mut Value) {
    match v {
        Value::Object(obj) => {
            let mapping = obj
                .get("discriminator")
                .and_then(|d| {
                    Some((
                        d.get("propertyName")?.as_str()?,
                        d.get("mapping")?.as_object()?,
                    ))
                })
                .map(|(p, m)| (p.to_string(), m.clone()));
            if let (Some((prop, mapping)), true) = (mapping, obj.contains_key("oneOf")) {
                obj.remove("oneOf");
                let values: Vec<&String> = mapping.keys().collect();
                let mut all =
                    vec![json!({"properties": {&prop: {"enum": values}}, "required": [&prop]})];
                for (value, target) in &mapping {
                    let mut when = Map::new();
                    when.insert(prop.clone(), json!({"const": value}));
                    all.push(json!({"if": {"properties": when}, "then": {"$ref": target}}));
                }
                obj.insert("allOf".into(), Value::Array(all));
            }
            for child in obj.values_mut() {
                resolve_discriminators(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(resolve_discriminators),
        _ => {}
    }
}
