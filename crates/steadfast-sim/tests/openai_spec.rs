//! OpenAI responses validated against the official OpenAPI spec
//! (`CreateChatCompletionResponse`, `CreateChatCompletionStreamResponse`) with a small JSON
//! Schema validator (the 2020-12 subset the spec uses).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use common::{post, sse};
use serde_json::{Value, json};
use steadfast_sim::{Action, Dialect, FaultKind, Rule, Scenario, Simulator};

struct Validator {
    spec: Value,
}

impl Validator {
    fn load() -> Self {
        Validator {
            spec: serde_json::from_str(
                &std::fs::read_to_string(
                    steadfast_fixtures::location().join("openai/openapi.json"),
                )
                .unwrap(),
            )
            .unwrap(),
        }
    }

    fn schema(&self, name: &str) -> &Value {
        &self.spec["components"]["schemas"][name]
    }

    fn check(&self, schema: &Value, v: &Value, path: &str, errors: &mut Vec<String>) {
        // The spec still marks some fields with OpenAPI 3.0's `nullable`.
        if v.is_null() && schema.get("nullable") == Some(&Value::Bool(true)) {
            return;
        }
        if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            let name = r.trim_start_matches("#/components/schemas/");
            return self.check(self.schema(name), v, path, errors);
        }
        if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
            for s in all {
                self.check(s, v, path, errors);
            }
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(options) = schema.get(key).and_then(Value::as_array) {
                let ok = options
                    .iter()
                    .filter(|s| self.errors(s, v, path).is_empty())
                    .count();
                if ok == 0 || (key == "oneOf" && ok > 1) {
                    errors.push(format!("{path}: {ok} of the {key} options match {v}"));
                }
            }
        }
        if let Some(e) = schema.get("enum").and_then(Value::as_array) {
            if !e.contains(v) {
                errors.push(format!("{path}: {v} not in enum {e:?}"));
            }
        }
        if let Some(c) = schema.get("const") {
            if c != v {
                errors.push(format!("{path}: {v} is not the const {c}"));
            }
        }
        if let Some(t) = schema.get("type") {
            let types: Vec<&str> = match t {
                Value::String(s) => vec![s.as_str()],
                Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            let matches = |t: &str| match t {
                "string" => v.is_string(),
                "integer" => v.is_i64() || v.is_u64(),
                "number" => v.is_number(),
                "boolean" => v.is_boolean(),
                "object" => v.is_object(),
                "array" => v.is_array(),
                "null" => v.is_null(),
                _ => true,
            };
            if !types.iter().any(|t| matches(t)) {
                errors.push(format!("{path}: {v} is not {types:?}"));
                return;
            }
        }
        if let Some(obj) = v.as_object() {
            for req in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let key = req.as_str().unwrap();
                if !obj.contains_key(key) {
                    errors.push(format!("{path}: missing required `{key}`"));
                }
            }
            let props = schema.get("properties").and_then(Value::as_object);
            for (k, sub) in obj {
                match props.and_then(|p| p.get(k)) {
                    Some(s) => self.check(s, sub, &format!("{path}.{k}"), errors),
                    None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                        errors.push(format!("{path}: unexpected property `{k}`"));
                    }
                    None => {}
                }
            }
        }
        if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
            for (i, item) in arr.iter().enumerate() {
                self.check(items, item, &format!("{path}[{i}]"), errors);
            }
        }
    }

    fn errors(&self, schema: &Value, v: &Value, path: &str) -> Vec<String> {
        let mut e = Vec::new();
        self.check(schema, v, path, &mut e);
        e
    }

    fn assert_valid(&self, name: &str, v: &Value) {
        let e = self.errors(self.schema(name), v, "$");
        assert!(e.is_empty(), "{name} invalid:\n{}\n{v}", e.join("\n"));
    }
}

#[test]
fn the_validator_rejects_what_it_should() {
    let Some(_fixtures) = steadfast_fixtures::require() else {
        return;
    };
    let val = Validator::load();
    let bad = json!({"id": "x", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": 3}, "finish_reason": "done", "logprobs": null}]});
    let e = val.errors(val.schema("CreateChatCompletionResponse"), &bad, "$");
    assert!(e.iter().any(|e| e.contains("finish_reason")), "{e:?}");
    assert!(e.iter().any(|e| e.contains("content")), "{e:?}");
}

#[tokio::test]
async fn responses_and_chunks_follow_the_official_spec() {
    let Some(_fixtures) = steadfast_fixtures::require() else {
        return;
    };
    let val = Validator::load();
    let scenario = Scenario::new()
        .rule(
            Rule::new().requests([2]).action(
                Action::tool_call("get_weather", r#"{"city": "Paris"}"#)
                    .and_tool_call("get_time", "{}"),
            ),
        )
        .rule(
            Rule::new()
                .requests([3])
                .action(Action::refusal("I can't help with that.")),
        )
        .rule(
            Rule::new()
                .requests([4])
                .action(Action::error(FaultKind::RateLimit)),
        );
    let sim = Simulator::start(scenario).await.unwrap();
    let url = format!("{}/chat/completions", sim.base_url(Dialect::OpenAi));
    let h = [("authorization", "Bearer k")];
    for stream in [false, true] {
        sim.reset();
        for n in 1..=3 {
            let body = json!({"model": "gpt-4o-mini", "stream": stream, "stream_options": if stream { json!({"include_usage": true}) } else { Value::Null },
                "max_completion_tokens": if n == 1 { json!(2) } else { Value::Null },
                "messages": [{"role": "user", "content": "one two three"}]});
            let r = post(&url, &h, &body).await;
            if stream {
                for (_, data) in sse(&r.text()) {
                    if data != "[DONE]" {
                        val.assert_valid(
                            "CreateChatCompletionStreamResponse",
                            &serde_json::from_str(&data).unwrap(),
                        );
                    }
                }
            } else {
                val.assert_valid("CreateChatCompletionResponse", &r.json());
            }
        }
        if !stream {
            let r = post(
                &url,
                &h,
                &json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]}),
            )
            .await;
            assert_eq!(r.status, 429);
            val.assert_valid("ErrorResponse", &r.json());
        }
    }
}
