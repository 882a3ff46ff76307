//! Request mapping: the body, URL and headers Steadfast sends to Gemini, and what it refuses.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use serde_json::{Value, json};
use std::sync::Arc;

use super::convert::{merge_extra, parse_response, request_body};
use super::tests::request;
use super::{GeminiWire, url};
use crate::client::ApiKey;
use crate::error::ErrorKind;
use crate::message::{Message, Part, Role, ToolCall, ToolResult};
use crate::output::{OutputFormat, OutputMode};
use crate::provider::ChatRequest;
use crate::response::FinishReason;
use crate::tool::{Tool, ToolChoice};
use crate::transport::Wire;

fn body(req: &ChatRequest) -> Value {
    serde_json::to_value(request_body(req).unwrap()).unwrap()
}

fn weather() -> Tool {
    Tool::from_schema(
        "get_weather",
        "Get the weather",
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
    )
    .unwrap()
}

#[test]
fn a_conversation_with_tools_maps_to_contents() {
    let mut req = request(&[]);
    req.tools = vec![weather()].into();
    let calls = vec![
        ToolCall::new("call_0", "get_weather", r#"{"city":"Paris"}"#),
        ToolCall::new("fc-7", "get_weather", r#"{"city":"Rome"}"#),
    ];
    req.messages = vec![
        Message::system("You are terse."),
        Message::system("Answer in French."),
        Message::user("Weather in Paris and Rome?")
            .with_part(Part::image_base64("image/png", "iVBORw0KGgo="))
            .with_part(Part::image_url("data:image/jpeg;base64,/9j/4AAQ"))
            .with_part(Part::image_url("https://example.com/a/map.WEBP?x=1")),
        Message::assistant_tool_calls(Some("Checking.".into()), calls.clone()),
        Message::tool_result(&calls[0], r#"{"temp_c": 21}"#, false),
        // A result without a name: the name comes from the call with the same id.
        Message::new(
            Role::User,
            vec![Part::ToolResult(ToolResult {
                call_id: "fc-7".into(),
                name: String::new(),
                content: "sunny".into(),
                is_error: false,
            })],
        ),
        Message::assistant("Paris 21°C, Rome sunny."),
    ];
    Arc::make_mut(&mut req.params).temperature = Some(0.2);
    Arc::make_mut(&mut req.params).top_p = Some(0.9);
    Arc::make_mut(&mut req.params).max_tokens = Some(256);
    Arc::make_mut(&mut req.params).stop = vec!["###".into()];
    Arc::make_mut(&mut req.params).seed = Some(7);
    Arc::make_mut(&mut req.params).presence_penalty = Some(0.5);
    Arc::make_mut(&mut req.params).frequency_penalty = Some(-0.5);
    let want = json!({
        "systemInstruction": {"parts": [{"text": "You are terse."}, {"text": "Answer in French."}]},
        "contents": [
            {"role": "user", "parts": [
                {"text": "Weather in Paris and Rome?"},
                {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
                {"inlineData": {"mimeType": "image/jpeg", "data": "/9j/4AAQ"}},
                {"fileData": {"mimeType": "image/webp", "fileUri": "https://example.com/a/map.WEBP?x=1"}},
            ]},
            {"role": "model", "parts": [
                {"text": "Checking."},
                // Steadfast's own `call_<n>` ids are not sent; Gemini's are echoed.
                {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
                {"functionCall": {"id": "fc-7", "name": "get_weather", "args": {"city": "Rome"}}},
            ]},
            // Both results in the one turn after the calls.
            {"role": "user", "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"temp_c": 21}}},
                {"functionResponse": {"id": "fc-7", "name": "get_weather", "response": {"result": "sunny"}}},
            ]},
            {"role": "model", "parts": [{"text": "Paris 21°C, Rome sunny."}]},
        ],
        "tools": [{"functionDeclarations": [{
            "name": "get_weather", "description": "Get the weather",
            "parametersJsonSchema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        }]}],
        "generationConfig": {"temperature": 0.2, "topP": 0.9, "maxOutputTokens": 256,
            "stopSequences": ["###"], "seed": 7, "presencePenalty": 0.5, "frequencyPenalty": -0.5},
    });
    assert_eq!(body(&req), want);
}

#[test]
fn tool_results_are_objects() {
    let call = ToolCall::new("call_3", "f", "{}");
    let cases = [
        (r#"{"a": 1}"#, false, json!({"a": 1})),
        ("42", false, json!({"result": 42})),
        (r#"[1, 2]"#, false, json!({"result": [1, 2]})),
        ("plain text", false, json!({"result": "plain text"})),
        ("boom", true, json!({"error": "boom"})),
        (r#"{"code": 3}"#, true, json!({"error": {"code": 3}})),
    ];
    for (content, is_error, want) in cases {
        let mut req = request(&[]);
        req.messages = vec![
            Message::user("go"),
            Message::assistant_tool_calls(None, vec![call.clone()]),
            Message::tool_result(&call, content, is_error),
        ];
        let b = body(&req);
        assert_eq!(
            b["contents"][2]["parts"][0]["functionResponse"]["response"], want,
            "{content}"
        );
    }
    // Arguments that are not an object (history may hold invalid ones) are still an object.
    let mut req = request(&[]);
    req.messages = vec![
        Message::user("go"),
        Message::assistant_tool_calls(None, vec![ToolCall::new("call_0", "f", "{oops")]),
    ];
    assert_eq!(
        body(&req)["contents"][1]["parts"][0]["functionCall"]["args"],
        json!({"_raw_arguments": "{oops"})
    );
}

#[test]
fn a_result_for_no_known_call_needs_a_name() {
    let mut req = request(&[]);
    req.messages = vec![Message::new(
        Role::User,
        vec![Part::ToolResult(ToolResult {
            call_id: "nowhere".into(),
            name: String::new(),
            content: "1".into(),
            is_error: false,
        })],
    )];
    let e = request_body(&req).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert!(e.message().contains("nowhere"), "{e}");
}

#[test]
fn tool_choice_modes() {
    let cases = [
        (ToolChoice::Auto, None),
        (
            ToolChoice::None,
            Some(json!({"functionCallingConfig": {"mode": "NONE"}})),
        ),
        (
            ToolChoice::Required,
            Some(json!({"functionCallingConfig": {"mode": "ANY"}})),
        ),
        (
            ToolChoice::Tool("get_weather".into()),
            Some(
                json!({"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}}),
            ),
        ),
    ];
    for (choice, want) in cases {
        let mut req = request(&[]);
        req.tools = vec![weather()].into();
        req.tool_choice = choice.clone();
        assert_eq!(body(&req).get("toolConfig").cloned(), want, "{choice:?}");
    }
    let mut req = request(&[]);
    req.tool_choice = ToolChoice::Tool("missing".into());
    assert_eq!(request_body(&req).unwrap_err().kind(), ErrorKind::Config);
}

#[test]
fn structured_output_native_or_by_tool_forcing() {
    let schema = json!({"type": "object", "properties": {"title": {"type": "string"}}});
    let mut req = request(&[]);
    req.output = Some(OutputFormat::new("Book", schema.clone()));
    let b = body(&req);
    assert_eq!(
        b["generationConfig"],
        json!({"responseMimeType": "application/json", "responseJsonSchema": schema})
    );
    assert!(b.get("tools").is_none() && b.get("toolConfig").is_none());

    let mut f = OutputFormat::new("Book", schema.clone());
    f.mode = OutputMode::Tool;
    req.output = Some(f);
    let b = body(&req);
    assert!(b.get("generationConfig").is_none());
    assert_eq!(
        b["tools"][0]["functionDeclarations"][0],
        json!({"name": "Book", "description": "Respond with the structured output.", "parametersJsonSchema": schema})
    );
    assert_eq!(
        b["toolConfig"],
        json!({"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["Book"]}})
    );
}

#[test]
fn what_gemini_cannot_take_is_unsupported() {
    for url in [
        "http://example.com/a.png",
        "gs://bucket/a.png",
        "data:image/png,rawbytes",
    ] {
        let mut req = request(&[]);
        req.messages = vec![Message::user("look").with_part(Part::image_url(url))];
        let e = request_body(&req).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported, "{url}");
    }
    let mut req = request(&[]);
    req.messages = vec![Message::new(
        Role::System,
        vec![Part::image_url("https://example.com/a.png")],
    )];
    assert_eq!(
        request_body(&req).unwrap_err().kind(),
        ErrorKind::Unsupported
    );
    let mut req = request(&[]);
    Arc::make_mut(&mut req.params).seed = Some(i64::from(i32::MAX) + 1);
    assert_eq!(
        request_body(&req).unwrap_err().kind(),
        ErrorKind::Unsupported
    );
}

#[test]
fn extra_fields_merge_into_the_body() {
    let mut req = request(&[]);
    Arc::make_mut(&mut req.params).temperature = Some(0.5);
    let mut v = body(&req);
    let extra = json!({
        "generationConfig": {"thinkingConfig": {"thinkingBudget": 0}},
        "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}],
    });
    merge_extra(&mut v, extra.as_object().unwrap());
    assert_eq!(
        v["generationConfig"],
        json!({"temperature": 0.5, "thinkingConfig": {"thinkingBudget": 0}})
    );
    assert_eq!(v["safetySettings"], extra["safetySettings"]);
}

#[test]
fn urls_and_headers() {
    let base = "https://generativelanguage.googleapis.com/";
    assert_eq!(
        url(base, "v1beta", "gemini-2.0-flash", false),
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent"
    );
    assert_eq!(
        url(base, "v1", "models/gemini-2.5-pro", true),
        "https://generativelanguage.googleapis.com/v1/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
    );
    assert_eq!(
        url(
            "http://127.0.0.1:9/gemini",
            "v1beta",
            "tunedModels/my model",
            false
        ),
        "http://127.0.0.1:9/gemini/v1beta/tunedModels/my%20model:generateContent"
    );

    let mut req = request(&[]);
    Arc::make_mut(&mut req.client).base_url = Some("http://127.0.0.1:9".into());
    let e = GeminiWire.build(&req, false).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.message().contains("GEMINI_API_KEY"), "{e}");

    Arc::make_mut(&mut req.client).api_key = Some(ApiKey::new("AIza-test-key"));
    Arc::make_mut(&mut req.client).api_version = Some("v1".into());
    let http = GeminiWire.build(&req, true).unwrap();
    assert_eq!(
        http.url,
        "http://127.0.0.1:9/v1/models/gemini-2.0-flash:streamGenerateContent?alt=sse"
    );
    let key = http.headers.get("x-goog-api-key").unwrap();
    assert!(key.is_sensitive());
    assert_eq!(key, "AIza-test-key");
    assert!(http.headers.get("authorization").is_none());

    // A bearer token configured as a header stands in for the key.
    Arc::make_mut(&mut req.client).api_key = None;
    Arc::make_mut(&mut req.client).set_header("authorization", "Bearer ya29.token", true);
    assert!(GeminiWire.build(&req, false).is_ok());
}

#[test]
fn unary_responses() {
    let req = request(&[]);
    let body = json!({"candidates": [{"content": {"role": "model", "parts": [
            {"text": "Let me think.", "thought": true},
            {"text": "Calling"},
            {"functionCall": {"name": "sum", "args": {"x": 1}}, "thoughtSignature": "c2ln"},
            {"functionCall": {"id": "given-id", "name": "sum"}},
            {"executableCode": {"language": "PYTHON", "code": "print(1)"}},
        ]}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5, "thoughtsTokenCount": 7, "totalTokenCount": 22},
        "modelVersion": "gemini-2.5-flash", "responseId": "resp-1"});
    let r = parse_response(&req, body.to_string().as_bytes()).unwrap();
    assert_eq!(r.text(), "Calling");
    assert_eq!(r.reasoning_text(), "Let me think.");
    let kinds: Vec<&str> = r.other_parts().map(|o| o.kind.as_str()).collect();
    assert_eq!(kinds, ["executableCode"]);
    assert_eq!(r.finish_reason(), FinishReason::ToolCalls);
    assert_eq!(r.raw_finish_reason(), Some("STOP"));
    let ids: Vec<&str> = r.tool_calls().iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["call_0", "given-id"]);
    assert_eq!(r.tool_calls()[1].arguments, "{}");
    assert_eq!(r.model(), "gemini-2.5-flash");
    assert_eq!(r.id(), Some("resp-1"));
    assert_eq!(r.request_id(), Some("resp-1"), "no header: the response id");
    let u = r.usage().unwrap();
    assert_eq!((u.input_tokens, u.output_tokens), (10, 12));

    for (raw, want) in [
        ("MAX_TOKENS", FinishReason::Length),
        ("SAFETY", FinishReason::ContentFilter),
        ("RECITATION", FinishReason::ContentFilter),
        ("PROHIBITED_CONTENT", FinishReason::ContentFilter),
        ("SPII", FinishReason::ContentFilter),
        ("BLOCKLIST", FinishReason::ContentFilter),
        ("IMAGE_SAFETY", FinishReason::ContentFilter),
        (
            "MALFORMED_FUNCTION_CALL",
            FinishReason::other("MALFORMED_FUNCTION_CALL"),
        ),
        ("LANGUAGE", FinishReason::other("LANGUAGE")),
        ("SOMETHING_NEW", FinishReason::other("SOMETHING_NEW")),
    ] {
        let body =
            json!({"candidates": [{"content": {"parts": [{"text": "x"}]}, "finishReason": raw}]});
        let r = parse_response(&req, body.to_string().as_bytes()).unwrap();
        assert_eq!(r.finish_reason(), want, "{raw}");
    }

    let blocked = json!({"promptFeedback": {"blockReason": "PROHIBITED_CONTENT", "blockReasonMessage": "no"}});
    let e = parse_response(&req, blocked.to_string().as_bytes()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ContentFiltered);
    assert_eq!(e.code(), Some("PROHIBITED_CONTENT"));
    assert!(e.message().contains("no"));
}
