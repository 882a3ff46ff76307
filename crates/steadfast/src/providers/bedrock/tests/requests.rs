//! Request bodies: the mapping, and validation against the Smithy model's shapes.

use serde_json::{Value, json};
use std::sync::Arc;

use super::super::convert::{parse_response, request_body};
use super::super::{build_at, encode_segment};
use super::responses::rich_answer;
use super::{fixture_json, parse_time, request};
use crate::error::ErrorKind;
use crate::message::{Message, OtherPart, Part, Reasoning, Role, ToolCall};
use crate::output::{OutputFormat, OutputMode};
use crate::provider::ChatRequest;
use crate::tool::{Tool, ToolChoice};

const NS: &str = "com.amazonaws.bedrockruntime#";

/// Checks `value` against Smithy shape `id`: required members present, no unknown members,
/// unions with exactly one member, enum values, types, `@length` and `@range`.
struct Smithy {
    shapes: serde_json::Map<String, Value>,
}

impl Smithy {
    fn load() -> Self {
        let model = fixture_json("bedrock-runtime.json");
        Smithy {
            shapes: model["shapes"].as_object().unwrap().clone(),
        }
    }

    fn check(&self, id: &str, value: &Value, path: &str, errors: &mut Vec<String>) {
        let prelude = id.strip_prefix("smithy.api#");
        let shape = self.shapes.get(id);
        let kind = match (prelude, shape) {
            (Some(p), _) => match p {
                "String" => "string",
                "Integer" | "Long" | "Short" => "integer",
                "Float" | "Double" => "float",
                "Boolean" | "PrimitiveBoolean" => "boolean",
                "Blob" => "blob",
                "Document" => "document",
                "Unit" => "structure",
                other => panic!("unhandled prelude shape {other}"),
            },
            (None, Some(s)) => s["type"].as_str().unwrap(),
            (None, None) => panic!("unknown shape {id}"),
        };
        let traits = shape.and_then(|s| s.get("traits"));
        let type_ok = match kind {
            "string" | "blob" | "enum" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "float" => value.is_number(),
            "boolean" => value.is_boolean(),
            "document" => true,
            "list" => value.is_array(),
            "structure" | "union" | "map" => value.is_object(),
            other => panic!("unhandled shape type {other} ({id})"),
        };
        if !type_ok {
            errors.push(format!("{path}: {value} is not a {kind} ({id})"));
            return;
        }
        if let Some(len) = traits.and_then(|t| t.get("smithy.api#length")) {
            let n = match value {
                Value::String(s) => s.chars().count(),
                Value::Array(a) => a.len(),
                Value::Object(o) => o.len(),
                _ => 0,
            } as u64;
            if len
                .get("min")
                .and_then(Value::as_u64)
                .is_some_and(|m| n < m)
                || len
                    .get("max")
                    .and_then(Value::as_u64)
                    .is_some_and(|m| n > m)
            {
                errors.push(format!("{path}: length {n} outside {len} ({id})"));
            }
        }
        if let Some(range) = traits.and_then(|t| t.get("smithy.api#range")) {
            let x = value.as_f64().unwrap_or(0.0);
            if range
                .get("min")
                .and_then(Value::as_f64)
                .is_some_and(|m| x < m)
                || range
                    .get("max")
                    .and_then(Value::as_f64)
                    .is_some_and(|m| x > m)
            {
                errors.push(format!("{path}: {x} outside {range} ({id})"));
            }
        }
        let Some(shape) = shape else { return };
        let members = shape.get("members").and_then(Value::as_object);
        match kind {
            "enum" => {
                let allowed: Vec<&str> = members
                    .unwrap()
                    .values()
                    .filter_map(|m| m["traits"]["smithy.api#enumValue"].as_str())
                    .collect();
                if !allowed.contains(&value.as_str().unwrap()) {
                    errors.push(format!("{path}: {value} not in {allowed:?}"));
                }
            }
            "list" => {
                let target = shape["member"]["target"].as_str().unwrap();
                for (i, v) in value.as_array().unwrap().iter().enumerate() {
                    self.check(target, v, &format!("{path}[{i}]"), errors);
                }
            }
            "map" => {
                let target = shape["value"]["target"].as_str().unwrap();
                for (k, v) in value.as_object().unwrap() {
                    self.check(target, v, &format!("{path}.{k}"), errors);
                }
            }
            "structure" | "union" => {
                let members = members.cloned().unwrap_or_default();
                let obj = value.as_object().unwrap();
                if kind == "union" && obj.len() != 1 {
                    errors.push(format!("{path}: a union needs exactly one member"));
                }
                for (name, m) in &members {
                    let t = &m["traits"];
                    let in_body = t.get("smithy.api#httpLabel").is_none()
                        && t.get("smithy.api#httpHeader").is_none()
                        && t.get("smithy.api#httpQuery").is_none();
                    if in_body && t.get("smithy.api#required").is_some() && !obj.contains_key(name)
                    {
                        errors.push(format!("{path}: required member `{name}` missing ({id})"));
                    }
                }
                for (k, v) in obj {
                    match members.get(k) {
                        Some(m) => self.check(
                            m["target"].as_str().unwrap(),
                            v,
                            &format!("{path}.{k}"),
                            errors,
                        ),
                        None => errors.push(format!("{path}: `{k}` is not a member of {id}")),
                    }
                }
            }
            _ => {}
        }
    }

    fn validate(&self, shape: &str, value: &Value) {
        let mut errors = Vec::new();
        self.check(&format!("{NS}{shape}"), value, "$", &mut errors);
        assert!(errors.is_empty(), "{errors:#?}\nin {value:#}");
    }
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[allow(dead_code, reason = "only its schema is used")]
struct Weather {
    city: String,
}

fn weather() -> Tool {
    Tool::of::<Weather>("get_weather", "Get the weather").strict(true)
}

fn body(req: &ChatRequest) -> Value {
    serde_json::to_value(request_body(req).unwrap()).unwrap()
}

fn conversation() -> Vec<Message> {
    let call = ToolCall::new("tooluse_1", "get_weather", r#"{"city":"Paris"}"#);
    vec![
        Message::system("You are terse."),
        Message::user("Weather in Paris?")
            .with_part(Part::image_base64("image/png", "iVBORw0KGgo=")),
        Message::assistant_tool_calls(Some("Checking.".into()), vec![call.clone()]),
        Message::tool_result(&call, r#"{"temp_c":21}"#, false),
        Message::new(Role::User, vec![Part::text("And Rome?")]),
        Message::assistant("Let me see."),
        Message::tool_result(
            &ToolCall::new("tooluse_2", "get_weather", "{bad"),
            "boom",
            true,
        ),
    ]
}

fn rich_request() -> ChatRequest {
    let mut req = request("anthropic.claude-3-5-sonnet-20240620-v1:0", conversation());
    Arc::make_mut(&mut req.params).max_tokens = Some(512);
    Arc::make_mut(&mut req.params).temperature = Some(0.5);
    Arc::make_mut(&mut req.params).top_p = Some(0.9);
    Arc::make_mut(&mut req.params).stop = vec!["###".into()];
    req.tools = vec![weather()].into();
    req.tool_choice = ToolChoice::Tool("get_weather".into());
    Arc::make_mut(&mut req.extra)
        .insert("additionalModelRequestFields".into(), json!({"top_k": 40}));
    req
}

#[test]
fn the_whole_mapping_in_one_body() {
    let b = body(&rich_request());
    assert_eq!(b["system"], json!([{"text": "You are terse."}]));
    assert_eq!(
        b["inferenceConfig"],
        json!({"maxTokens": 512, "temperature": 0.5, "topP": 0.9, "stopSequences": ["###"]})
    );
    let msgs = b["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 5, "consecutive user turns are merged: {b:#}");
    assert_eq!(
        msgs[0]["content"][1],
        json!({"image": {"format": "png", "source": {"bytes": "iVBORw0KGgo="}}})
    );
    assert_eq!(
        msgs[1]["content"][1],
        json!({"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {"city": "Paris"}}})
    );
    assert_eq!(
        msgs[2]["content"],
        json!([
            {"toolResult": {"toolUseId": "tooluse_1", "content": [{"text": "{\"temp_c\":21}"}]}},
            {"text": "And Rome?"}
        ])
    );
    assert_eq!(
        msgs[3],
        json!({"role": "assistant", "content": [{"text": "Let me see."}]})
    );
    assert_eq!(
        msgs[4]["content"][0],
        json!({"toolResult": {"toolUseId": "tooluse_2", "content": [{"text": "boom"}], "status": "error"}})
    );
    let spec = &b["toolConfig"]["tools"][0]["toolSpec"];
    assert_eq!(spec["name"], "get_weather");
    assert_eq!(spec["description"], "Get the weather");
    assert_eq!(spec["strict"], true);
    assert_eq!(spec["inputSchema"]["json"]["required"], json!(["city"]));
    assert_eq!(
        b["toolConfig"]["toolChoice"],
        json!({"tool": {"name": "get_weather"}})
    );
    assert_eq!(b["additionalModelRequestFields"], json!({"top_k": 40}));
    assert!(b.get("outputConfig").is_none());
}

#[test]
fn invalid_history_arguments_are_kept_in_an_object() {
    let call = ToolCall::new("t", "get_weather", "{bad");
    let mut req = request(
        "m",
        vec![
            Message::user("x"),
            Message::assistant_tool_calls(None, vec![call]),
        ],
    );
    req.tools = vec![weather()].into();
    let b2 = body(&req);
    assert_eq!(
        b2["messages"][1]["content"][0]["toolUse"]["input"],
        json!({"_raw_arguments": "{bad"})
    );
}

#[test]
fn bodies_validate_against_the_smithy_model() {
    let Some(_fixtures) = steadfast_fixtures::require() else {
        return;
    };
    let smithy = Smithy::load();
    let mut cases = vec![
        request("amazon.nova-lite-v1:0", "hi"),
        rich_request(),
        request("m", vec![Message::system(""), Message::user("hi")]),
    ];
    let mut req = request("amazon.nova-lite-v1:0", "a book");
    req.output = Some(OutputFormat::new(
        "Book",
        json!({"type": "object", "properties": {"title": {"type": "string"}}}),
    ));
    cases.push(req.clone());
    if let Some(o) = req.output.as_mut() {
        o.mode = OutputMode::JsonSchema;
    }
    cases.push(req);
    let mut req = request("m", conversation());
    req.tools = vec![weather()].into();
    req.tool_choice = ToolChoice::Required;
    cases.push(req);
    for req in &cases {
        let v = body(req);
        smithy.validate("ConverseRequest", &v);
        smithy.validate("ConverseStreamRequest", &v);
    }
    // The checker does catch a missing required member and a wrong union.
    let mut errors = Vec::new();
    smithy.check(
        &format!("{NS}ConverseRequest"),
        &json!({"messages": [{"role": "user", "content": [{"text": "a", "image": {}}]}], "toolConfig": {}}),
        "$",
        &mut errors,
    );
    let text = errors.join("\n");
    assert!(text.contains("exactly one member"), "{text}");
    assert!(text.contains("required member `tools`"), "{text}");
    assert!(text.contains("required member `format`"), "{text}");
}

#[test]
fn structured_output_modes() {
    let schema = json!({"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]});
    let mut req = request("m", "a book");
    req.output = Some(OutputFormat::new("Book", schema.clone()));
    // Auto forces a tool.
    let b = body(&req);
    assert_eq!(b["toolConfig"]["tools"][0]["toolSpec"]["name"], "Book");
    assert_eq!(
        b["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"]["json"],
        schema
    );
    assert_eq!(
        b["toolConfig"]["toolChoice"],
        json!({"tool": {"name": "Book"}})
    );
    assert!(b.get("outputConfig").is_none());
    // JsonSchema: outputConfig with the schema as a string.
    req.output.as_mut().unwrap().mode = OutputMode::JsonSchema;
    let b = body(&req);
    assert!(b.get("toolConfig").is_none());
    let def = &b["outputConfig"]["textFormat"];
    assert_eq!(def["type"], "json_schema");
    let text = def["structure"]["jsonSchema"]["schema"].as_str().unwrap();
    assert_eq!(serde_json::from_str::<Value>(text).unwrap(), schema);
    assert_eq!(def["structure"]["jsonSchema"]["name"], "Book");
}

#[test]
fn tool_choices() {
    let mut req = request("m", "hi");
    req.tools = vec![weather()].into();
    assert!(
        body(&req)["toolConfig"].get("toolChoice").is_none(),
        "auto is the default"
    );
    req.tool_choice = ToolChoice::Required;
    assert_eq!(body(&req)["toolConfig"]["toolChoice"], json!({"any": {}}));
    req.tool_choice = ToolChoice::None;
    assert!(
        body(&req).get("toolConfig").is_none(),
        "none withholds the tools"
    );
    let mut with_history = request("m", conversation());
    with_history.tools = vec![weather()].into();
    with_history.tool_choice = ToolChoice::None;
    let e = request_body(&with_history).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    req.tool_choice = ToolChoice::Tool("nope".into());
    assert_eq!(request_body(&req).err().unwrap().kind(), ErrorKind::Config);
}

#[test]
fn unsupported_parameters_and_parts_are_errors() {
    let mut req = request("m", "hi");
    Arc::make_mut(&mut req.params).seed = Some(1);
    assert_eq!(
        request_body(&req).err().unwrap().kind(),
        ErrorKind::Unsupported
    );
    let mut req = request("m", "hi");
    Arc::make_mut(&mut req.params).presence_penalty = Some(0.1);
    assert_eq!(
        request_body(&req).err().unwrap().kind(),
        ErrorKind::Unsupported
    );
    let req = request(
        "m",
        Message::user("x").with_part(Part::image_url("https://x/y.png")),
    );
    assert_eq!(
        request_body(&req).err().unwrap().kind(),
        ErrorKind::Unsupported
    );
    let req = request(
        "m",
        Message::user("x").with_part(Part::image_base64("image/tiff", "AA==")),
    );
    assert_eq!(
        request_body(&req).err().unwrap().kind(),
        ErrorKind::Unsupported
    );
    let mut req = request("m", "hi");
    Arc::make_mut(&mut req.extra).insert("inferenceConfig".into(), json!({}));
    assert_eq!(request_body(&req).err().unwrap().kind(), ErrorKind::Config);
    let req = request(
        "m",
        Message::new(
            Role::User,
            vec![Part::ToolCall(ToolCall::new("a", "b", "{}"))],
        ),
    );
    assert_eq!(
        request_body(&req).err().unwrap().kind(),
        ErrorKind::InvalidRequest
    );
}

#[test]
fn image_urls_that_carry_bytes_or_s3_locations() {
    let Some(_fixtures) = steadfast_fixtures::require() else {
        return;
    };
    let req = request(
        "m",
        Message::user("x")
            .with_part(Part::image_url("data:image/jpeg;base64,/9j/4AAQ"))
            .with_part(Part::image_url("s3://bucket/cat.webp")),
    );
    let b = body(&req);
    assert_eq!(
        b["messages"][0]["content"][1],
        json!({"image": {"format": "jpeg", "source": {"bytes": "/9j/4AAQ"}}})
    );
    assert_eq!(
        b["messages"][0]["content"][2],
        json!({"image": {"format": "webp", "source": {"s3Location": {"uri": "s3://bucket/cat.webp"}}}})
    );
    Smithy::load().validate("ConverseRequest", &b);
}

#[test]
fn model_ids_are_percent_encoded_path_segments() {
    assert_eq!(
        encode_segment("anthropic.claude-3-5-sonnet-20240620-v1:0"),
        "anthropic.claude-3-5-sonnet-20240620-v1%3A0"
    );
    assert_eq!(
        encode_segment("arn:aws:bedrock:us-east-1:1:inference-profile/us.x"),
        "arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Ainference-profile%2Fus.x"
    );
    let http = build_at(
        &request("us.anthropic.claude-3-7-sonnet-20250219-v1:0", "hi"),
        true,
        parse_time("2026-01-01T00:00:00Z"),
    )
    .unwrap();
    assert_eq!(
        http.url,
        "https://bedrock-runtime.us-east-1.amazonaws.com/model/us.anthropic.claude-3-7-sonnet-20250219-v1%3A0/converse-stream"
    );
    assert_eq!(http.headers["accept"], "application/vnd.amazon.eventstream");
    assert_eq!(http.headers["content-type"], "application/json");
}

#[test]
fn an_answer_goes_back_to_bedrock_as_it_came() {
    let answer = rich_answer();
    let r = parse_response(&request("m", "hi"), answer.to_string().as_bytes()).unwrap();
    let mut req = request("m", vec![Message::user("q"), r.to_message()]);
    req.tools = vec![weather()].into();
    let b = body(&req);
    let content = &answer["output"]["message"]["content"];
    // Reasoning and kept blocks exactly as received; the cited text as text.
    assert_eq!(
        b["messages"][1]["content"],
        json!([
            content[0],
            content[1],
            {"text": "Paris is the capital. It has 2.1M people."},
            content[4],
            content[5],
            content[6],
            content[7],
            content[9],
        ])
    );
}

#[test]
fn only_bedrock_reasoning_and_blocks_go_to_bedrock() {
    let conversation = vec![
        Message::new(
            Role::System,
            vec![
                Part::text("Be brief."),
                Part::Reasoning(Reasoning::new("anthropic", "x")),
            ],
        ),
        Message::user("q"),
        Message::new(
            Role::Assistant,
            vec![
                Part::Reasoning(Reasoning::new("anthropic", "theirs").with_signature("EqQB")),
                Part::Reasoning(Reasoning::new("gemini", "").with_signature("c2ln")),
                Part::Other(OtherPart::new(
                    "gemini",
                    "executableCode",
                    json!({"executableCode": {"code": "print(1)"}}),
                )),
                Part::Reasoning(Reasoning::new("bedrock", "ours").with_signature("EqoB")),
                Part::Reasoning(Reasoning::redacted("bedrock", "cmVk")),
                Part::Reasoning(Reasoning::new("bedrock", "unsigned")),
                Part::text("Answer."),
            ],
        ),
        Message::user("next"),
    ];
    let req = request("anthropic.claude-3-7-sonnet-20250219-v1:0", conversation);
    let b = body(&req);
    assert_eq!(b["system"], json!([{"text": "Be brief."}]));
    assert_eq!(
        b["messages"][1]["content"],
        json!([
            {"reasoningContent": {"reasoningText": {"text": "ours", "signature": "EqoB"}}},
            {"reasoningContent": {"redactedContent": "cmVk"}},
            {"reasoningContent": {"reasoningText": {"text": "unsigned"}}},
            {"text": "Answer."},
        ])
    );
    let Some(_fixtures) = steadfast_fixtures::require() else {
        return;
    };
    Smithy::load().validate("ConverseRequest", &b);
}
