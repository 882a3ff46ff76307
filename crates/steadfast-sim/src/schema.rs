//! Generation of a JSON value that is valid for a JSON Schema (the subset LLM providers accept:
//! objects, arrays, strings with enum/const/format/length, numbers and integers with bounds,
//! booleans, null, `anyOf`/`oneOf`/`allOf`, local `$ref` into `$defs`/`definitions`), plus
//! Gemini's OpenAPI-style upper-case types.

use serde_json::{Map, Value, json};

/// Maximum nesting before the generator stops following references (recursive schemas).
const MAX_DEPTH: usize = 12;

/// A value valid for `schema` (deterministic).
pub(crate) fn generate(schema: &Value) -> Value {
    Gen { root: schema }.value(schema, "value", 0)
}

struct Gen<'a> {
    root: &'a Value,
}

impl<'a> Gen<'a> {
    fn resolve(&self, reference: &str) -> Option<&'a Value> {
        let path = reference.strip_prefix('#')?;
        let mut node = self.root;
        for seg in path.split('/').filter(|s| !s.is_empty()) {
            let seg = seg.replace("~1", "/").replace("~0", "~");
            node = node.get(seg.as_str())?;
        }
        Some(node)
    }

    fn value(&self, schema: &'a Value, name: &str, depth: usize) -> Value {
        let Some(obj) = schema.as_object() else {
            // `true` or an unknown shape: anything goes.
            return Value::String(sample_string(name));
        };
        if depth > MAX_DEPTH {
            return Value::Null;
        }
        if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
            if let Some(target) = self.resolve(r) {
                return self.value(target, name, depth + 1);
            }
        }
        if let Some(c) = obj.get("const") {
            return c.clone();
        }
        if let Some(first) = obj
            .get("enum")
            .and_then(Value::as_array)
            .and_then(|e| e.first())
        {
            return first.clone();
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(options) = obj.get(key).and_then(Value::as_array) {
                let pick = options
                    .iter()
                    .find(|o| o.get("type").and_then(Value::as_str) != Some("null"))
                    .or_else(|| options.first());
                if let Some(pick) = pick {
                    return self.value(pick, name, depth + 1);
                }
            }
        }
        if let Some(parts) = obj.get("allOf").and_then(Value::as_array) {
            return self.all_of(obj, parts, name, depth);
        }
        match type_of(obj).as_deref() {
            Some("object") => self.object(obj, depth),
            Some("array") => self.array(obj, name, depth),
            Some("string") => string(obj, name),
            Some("integer") => integer(obj),
            Some("number") => number(obj),
            Some("boolean") => Value::Bool(true),
            Some("null") => Value::Null,
            _ if obj.contains_key("properties") => self.object(obj, depth),
            _ if obj.contains_key("items") => self.array(obj, name, depth),
            _ => Value::String(sample_string(name)),
        }
    }

    fn all_of(
        &self,
        obj: &'a Map<String, Value>,
        parts: &'a [Value],
        name: &str,
        depth: usize,
    ) -> Value {
        let mut merged = Map::new();
        let mut other = None;
        for part in parts {
            match self.value(part, name, depth + 1) {
                Value::Object(m) => merged.extend(m),
                v => other = Some(v),
            }
        }
        if let Value::Object(m) = self.object(obj, depth) {
            merged.extend(m);
        }
        match other {
            Some(v) if merged.is_empty() => v,
            _ => Value::Object(merged),
        }
    }

    fn object(&self, obj: &'a Map<String, Value>, depth: usize) -> Value {
        let mut out = Map::new();
        if let Some(props) = obj.get("properties").and_then(Value::as_object) {
            for (key, sub) in props {
                out.insert(key.clone(), self.value(sub, key, depth + 1));
            }
        }
        // Required names without a property schema still need a value.
        if let Some(required) = obj.get("required").and_then(Value::as_array) {
            for key in required.iter().filter_map(Value::as_str) {
                if !out.contains_key(key) {
                    let sub = obj.get("additionalProperties").filter(|v| v.is_object());
                    let v = sub.map_or_else(
                        || Value::String(sample_string(key)),
                        |s| self.value(s, key, depth + 1),
                    );
                    out.insert(key.to_owned(), v);
                }
            }
        }
        let min = obj
            .get("minProperties")
            .and_then(Value::as_u64)
            .unwrap_or(0) as usize;
        let mut i = 0;
        while out.len() < min {
            i += 1;
            let sub = obj.get("additionalProperties").filter(|v| v.is_object());
            let key = format!("key{i}");
            let v = sub.map_or_else(
                || Value::String(sample_string(&key)),
                |s| self.value(s, &key, depth + 1),
            );
            out.insert(key, v);
        }
        Value::Object(out)
    }

    fn array(&self, obj: &'a Map<String, Value>, name: &str, depth: usize) -> Value {
        let min = obj.get("minItems").and_then(Value::as_u64).unwrap_or(1);
        let max = obj
            .get("maxItems")
            .and_then(Value::as_u64)
            .unwrap_or(u64::MAX);
        let count = min.max(1).min(max) as usize;
        let mut out = Vec::with_capacity(count);
        if let Some(prefix) = obj.get("prefixItems").and_then(Value::as_array) {
            for p in prefix {
                out.push(self.value(p, name, depth + 1));
            }
        }
        let item_schema = obj.get("items").filter(|v| v.is_object());
        let unique = obj
            .get("uniqueItems")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        while out.len() < count {
            let v = match item_schema {
                Some(s) => self.value(s, name, depth + 1),
                None => Value::String(sample_string(name)),
            };
            if unique && out.contains(&v) {
                break;
            }
            out.push(v);
        }
        Value::Array(out)
    }
}

/// The schema's type, lower-cased (Gemini uses `OBJECT`, `STRING`, ...); for a list of types
/// the first non-null one.
fn type_of(obj: &Map<String, Value>) -> Option<String> {
    match obj.get("type")? {
        Value::String(t) => Some(t.to_ascii_lowercase()),
        Value::Array(types) => {
            let names: Vec<&str> = types.iter().filter_map(Value::as_str).collect();
            names
                .iter()
                .find(|t| !t.eq_ignore_ascii_case("null"))
                .or(names.first())
                .map(|t| t.to_ascii_lowercase())
        }
        _ => None,
    }
}

fn sample_string(name: &str) -> String {
    format!("sample {name}")
}

fn string(obj: &Map<String, Value>, name: &str) -> Value {
    let mut s = match obj.get("format").and_then(Value::as_str) {
        Some("date-time") => "2024-01-01T00:00:00Z".to_owned(),
        Some("date") => "2024-01-01".to_owned(),
        Some("time") => "00:00:00Z".to_owned(),
        Some("email") => "user@example.com".to_owned(),
        Some("uri") | Some("url") => "https://example.com/".to_owned(),
        Some("uuid") => "00000000-0000-4000-8000-000000000000".to_owned(),
        Some("ipv4") => "192.0.2.1".to_owned(),
        Some("ipv6") => "2001:db8::1".to_owned(),
        Some("hostname") => "example.com".to_owned(),
        Some("duration") => "PT1S".to_owned(),
        _ => sample_string(name),
    };
    if let Some(max) = obj.get("maxLength").and_then(Value::as_u64) {
        s = s.chars().take(max as usize).collect();
    }
    if let Some(min) = obj.get("minLength").and_then(Value::as_u64) {
        while (s.chars().count() as u64) < min {
            s.push('x');
        }
    }
    Value::String(s)
}

fn bounds(obj: &Map<String, Value>) -> (Option<f64>, Option<f64>) {
    let mut lo = obj.get("minimum").and_then(Value::as_f64);
    let mut hi = obj.get("maximum").and_then(Value::as_f64);
    if let Some(x) = obj.get("exclusiveMinimum").and_then(Value::as_f64) {
        lo = Some(lo.map_or(x, |l| l.max(x)));
    }
    if let Some(x) = obj.get("exclusiveMaximum").and_then(Value::as_f64) {
        hi = Some(hi.map_or(x, |h| h.min(x)));
    }
    (lo, hi)
}

fn integer(obj: &Map<String, Value>) -> Value {
    let (lo, hi) = bounds(obj);
    let excl_lo = obj
        .get("exclusiveMinimum")
        .and_then(Value::as_f64)
        .is_some();
    let excl_hi = obj
        .get("exclusiveMaximum")
        .and_then(Value::as_f64)
        .is_some();
    let lo_i = lo.map(|l| {
        if excl_lo {
            l.floor() as i64 + 1
        } else {
            l.ceil() as i64
        }
    });
    let hi_i = hi.map(|h| {
        if excl_hi {
            h.ceil() as i64 - 1
        } else {
            h.floor() as i64
        }
    });
    let step = obj
        .get("multipleOf")
        .and_then(Value::as_i64)
        .filter(|m| *m > 0)
        .unwrap_or(1);
    let mut v = match (lo_i, hi_i) {
        (Some(l), _) if l > 1 => l,
        (_, Some(h)) if h < 1 => h,
        _ => 1,
    };
    if v % step != 0 {
        v += step - v.rem_euclid(step);
    }
    json!(v)
}

fn number(obj: &Map<String, Value>) -> Value {
    let (lo, hi) = bounds(obj);
    let v = match (lo, hi) {
        (Some(l), Some(h)) => (l + h) / 2.0,
        (Some(l), None) => l + 1.0,
        (None, Some(h)) => h - 1.0,
        (None, None) => 1.5,
    };
    if let Some(step) = obj
        .get("multipleOf")
        .and_then(Value::as_f64)
        .filter(|s| *s > 0.0)
    {
        return json!((v / step).ceil() * step);
    }
    json!(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_valid_values() {
        let schema = json!({
            "type": "object",
            "properties": {
                "title": {"type": "string", "minLength": 20},
                "year": {"type": "integer", "minimum": 1900, "maximum": 2100},
                "score": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
                "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}, "minItems": 2},
                "kind": {"const": "book"},
                "maybe": {"type": ["null", "boolean"]},
                "author": {"$ref": "#/$defs/Author"},
                "alt": {"anyOf": [{"type": "null"}, {"type": "integer"}]}
            },
            "required": ["title", "year"],
            "$defs": {"Author": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}}
        });
        let v = generate(&schema);
        assert!(v["title"].as_str().unwrap().len() >= 20);
        assert_eq!(v["year"], json!(1900));
        let score = v["score"].as_f64().unwrap();
        assert!(score > 0.0 && score <= 1.0);
        assert_eq!(v["tags"], json!(["a", "a"]));
        assert_eq!(v["kind"], json!("book"));
        assert_eq!(v["maybe"], json!(true));
        assert!(v["author"]["name"].is_string());
        assert_eq!(v["alt"], json!(1));
    }

    #[test]
    fn gemini_upper_case_types() {
        let v = generate(&json!({"type": "OBJECT", "properties": {"n": {"type": "INTEGER"}}}));
        assert_eq!(v, json!({"n": 1}));
    }

    #[test]
    fn recursive_schema_terminates() {
        let s = json!({"$ref": "#/$defs/N", "$defs": {"N": {"type": "object", "properties": {"next": {"$ref": "#/$defs/N"}}}}});
        let v = generate(&s);
        assert!(v.is_object());
    }
}
