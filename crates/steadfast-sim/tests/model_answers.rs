//! The deterministic model: forced tool calls with schema-valid arguments, structured output
//! per provider, scripted replies and refusals; plus Bedrock SigV4 verification end to end.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use common::post;
use serde_json::{Value, json};
use steadfast_sim::{Action, AwsSigningKeys, Dialect, Rule, Scenario, Simulator};

fn book_schema() -> Value {
    json!({"type": "object", "properties": {"title": {"type": "string"}, "author": {"type": "string"},
        "year": {"type": "integer", "minimum": 1900}, "genre": {"enum": ["fantasy", "scifi"]}},
        "required": ["title", "author", "year", "genre"], "additionalProperties": false})
}

fn assert_book(v: &Value) {
    assert!(v["title"].is_string() && v["author"].is_string(), "{v}");
    assert!(v["year"].as_i64().unwrap() >= 1900);
    assert_eq!(v["genre"], "fantasy");
}

#[tokio::test]
async fn forced_tool_calls_get_schema_valid_arguments_everywhere() {
    let sim = Simulator::start(Scenario::new()).await.unwrap();
    let schema = book_schema();
    let msgs = json!([{"role": "user", "content": "store a book"}]);
    // OpenAI: tool_choice names the function; arguments is a JSON string.
    let url = format!("{}/chat/completions", sim.base_url(Dialect::OpenAi));
    let body = json!({"model": "gpt-4o-mini", "messages": msgs, "tools": [{"type": "function", "function": {"name": "save_book", "parameters": schema}}],
        "tool_choice": {"type": "function", "function": {"name": "save_book"}}});
    let v = post(&url, &[("authorization", "Bearer k")], &body)
        .await
        .json();
    assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
    let call = &v["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(call["function"]["name"], "save_book");
    assert!(call["id"].as_str().unwrap().starts_with("call_"));
    assert_book(&serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap());
    // Anthropic: tool_choice any; input is an object.
    let url = format!("{}/v1/messages", sim.base_url(Dialect::Anthropic));
    let body = json!({"model": "claude-3-5-sonnet-latest", "max_tokens": 100, "messages": msgs,
        "tools": [{"name": "save_book", "input_schema": schema}], "tool_choice": {"type": "any"}});
    let v = post(
        &url,
        &[("x-api-key", "k"), ("anthropic-version", "2023-06-01")],
        &body,
    )
    .await
    .json();
    assert_eq!(v["stop_reason"], "tool_use");
    assert_book(&v["content"][0]["input"]);
    // Gemini: mode ANY.
    let url = format!(
        "{}/v1beta/models/gemini-2.0-flash:generateContent",
        sim.base_url(Dialect::Gemini)
    );
    let body = json!({"contents": [{"role": "user", "parts": [{"text": "store"}]}], "tools": [{"functionDeclarations": [{"name": "save_book", "parametersJsonSchema": schema}]}],
        "toolConfig": {"functionCallingConfig": {"mode": "ANY"}}});
    let v = post(&url, &[("x-goog-api-key", "k")], &body).await.json();
    assert_book(&v["candidates"][0]["content"]["parts"][0]["functionCall"]["args"]);
    // Bedrock: toolChoice any.
    let url = format!("{}/model/m/converse", sim.base_url(Dialect::Bedrock));
    let body = json!({"messages": [{"role": "user", "content": [{"text": "store"}]}],
        "toolConfig": {"tools": [{"toolSpec": {"name": "save_book", "inputSchema": {"json": schema}}}], "toolChoice": {"any": {}}}});
    let v = post(&url, &[("authorization", "Bearer k")], &body)
        .await
        .json();
    assert_eq!(v["stopReason"], "tool_use");
    assert_book(&v["output"]["message"]["content"][0]["toolUse"]["input"]);
    // Cohere: REQUIRED.
    let url = format!("{}/v2/chat", sim.base_url(Dialect::Cohere));
    let body = json!({"model": "command-a-03-2025", "messages": msgs, "tools": [{"type": "function", "function": {"name": "save_book", "parameters": schema}}], "tool_choice": "REQUIRED"});
    let v = post(&url, &[("authorization", "Bearer k")], &body)
        .await
        .json();
    assert_eq!(v["finish_reason"], "TOOL_CALL");
    assert_book(
        &serde_json::from_str(
            v["message"]["tool_calls"][0]["function"]["arguments"]
                .as_str()
                .unwrap(),
        )
        .unwrap(),
    );
}

#[tokio::test]
async fn gemini_accepts_snake_case_field_names_like_the_real_api() {
    let sim = Simulator::start(Scenario::new()).await.unwrap();
    let url = format!(
        "{}/v1/models/gemini-2.0-flash:generateContent",
        sim.base_url(Dialect::Gemini)
    );
    let body = json!({"contents": [{"role": "user", "parts": [{"text": "store"}]}],
        "tools": [{"function_declarations": [{"name": "save_book", "parameters_json_schema": book_schema()}]}],
        "tool_config": {"function_calling_config": {"mode": "ANY", "allowed_function_names": ["save_book"]}},
        "generation_config": {"max_output_tokens": 50}});
    let v = post(&url, &[("x-goog-api-key", "k")], &body).await.json();
    assert_book(&v["candidates"][0]["content"]["parts"][0]["functionCall"]["args"]);
}

#[tokio::test]
async fn auto_tool_choice_calls_a_tool_the_user_names_and_answers_tool_results() {
    let sim = Simulator::start(Scenario::new()).await.unwrap();
    let url = format!("{}/chat/completions", sim.base_url(Dialect::OpenAi));
    let tools = json!([{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]);
    let body = json!({"model": "gpt-4o-mini", "tools": tools, "messages": [{"role": "user", "content": "please get_weather for Paris"}]});
    let v = post(&url, &[("authorization", "Bearer k")], &body)
        .await
        .json();
    assert_eq!(
        v["choices"][0]["message"]["tool_calls"][0]["function"]["name"],
        "get_weather"
    );
    let body = json!({"model": "gpt-4o-mini", "tools": tools, "messages": [
        {"role": "user", "content": "please get_weather for Paris"},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "21 degrees"}]});
    let v = post(&url, &[("authorization", "Bearer k")], &body)
        .await
        .json();
    assert_eq!(
        v["choices"][0]["message"]["content"],
        "Tool result: 21 degrees"
    );
}

#[tokio::test]
async fn structured_output_requests_get_schema_valid_json() {
    let sim = Simulator::start(Scenario::new()).await.unwrap();
    let msgs = json!([{"role": "user", "content": "a book"}]);
    let url = format!("{}/chat/completions", sim.base_url(Dialect::OpenAi));
    let body = json!({"model": "gpt-4o-mini", "messages": msgs, "response_format": {"type": "json_schema", "json_schema": {"name": "Book", "strict": true, "schema": book_schema()}}});
    let v = post(&url, &[("authorization", "Bearer k")], &body)
        .await
        .json();
    assert_book(
        &serde_json::from_str(v["choices"][0]["message"]["content"].as_str().unwrap()).unwrap(),
    );
    let url = format!("{}/v1/messages", sim.base_url(Dialect::Anthropic));
    let body = json!({"model": "claude-3-5-sonnet-latest", "max_tokens": 100, "messages": msgs, "output_config": {"format": {"type": "json_schema", "schema": book_schema()}}});
    let v = post(
        &url,
        &[("x-api-key", "k"), ("anthropic-version", "2023-06-01")],
        &body,
    )
    .await
    .json();
    assert_book(&serde_json::from_str(v["content"][0]["text"].as_str().unwrap()).unwrap());
    let url = format!(
        "{}/v1beta/models/gemini-2.0-flash:generateContent",
        sim.base_url(Dialect::Gemini)
    );
    let body = json!({"contents": [{"parts": [{"text": "a book"}]}], "generationConfig": {"responseMimeType": "application/json", "responseJsonSchema": book_schema()}});
    let v = post(&url, &[("x-goog-api-key", "k")], &body).await.json();
    assert_book(
        &serde_json::from_str(
            v["candidates"][0]["content"]["parts"][0]["text"]
                .as_str()
                .unwrap(),
        )
        .unwrap(),
    );
    let url = format!("{}/model/m/converse", sim.base_url(Dialect::Bedrock));
    let body = json!({"messages": [{"role": "user", "content": [{"text": "a book"}]}],
        "outputConfig": {"textFormat": {"type": "json_schema", "structure": {"jsonSchema": {"schema": book_schema().to_string(), "name": "Book"}}}}});
    let v = post(&url, &[("authorization", "Bearer k")], &body)
        .await
        .json();
    assert_book(
        &serde_json::from_str(
            v["output"]["message"]["content"][0]["text"]
                .as_str()
                .unwrap(),
        )
        .unwrap(),
    );
}

#[tokio::test]
async fn scripted_replies_and_refusals() {
    let scenario = Scenario::new()
        .rule(
            Rule::new()
                .requests([1])
                .action(Action::text("exactly this")),
        )
        .rule(
            Rule::new()
                .requests([2])
                .action(Action::refusal("I can't help with that.")),
        )
        .rule(
            Rule::new()
                .requests([3])
                .action(Action::structured_raw("{\"title\": ")),
        )
        .rule(Rule::new().requests([4]).action(Action::structured(
            json!({"title": "T", "author": "patrick rothfuss"}),
        )));
    let sim = Simulator::start(scenario).await.unwrap();
    let url = format!("{}/chat/completions", sim.base_url(Dialect::OpenAi));
    let body = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]});
    let h = [("authorization", "Bearer k")];
    assert_eq!(
        post(&url, &h, &body).await.json()["choices"][0]["message"]["content"],
        "exactly this"
    );
    let v = post(&url, &h, &body).await.json();
    assert_eq!(
        (
            v["choices"][0]["message"]["refusal"].as_str(),
            v["choices"][0]["message"]["content"].clone()
        ),
        (Some("I can't help with that."), Value::Null)
    );
    assert_eq!(
        post(&url, &h, &body).await.json()["choices"][0]["message"]["content"],
        "{\"title\": "
    );
    // Structured output through tool forcing: the value becomes the forced tool's arguments.
    let body = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}],
        "tools": [{"type": "function", "function": {"name": "Book", "parameters": {"type": "object"}}}], "tool_choice": "required"});
    let v = post(&url, &h, &body).await.json();
    let args: Value = serde_json::from_str(
        v["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(args["author"], "patrick rothfuss");

    sim.set_scenario(Scenario::new().rule(Rule::new().action(Action::refusal("No."))));
    let url = format!("{}/v1/messages", sim.base_url(Dialect::Anthropic));
    let body = json!({"model": "claude-3-5-sonnet-latest", "max_tokens": 9, "messages": [{"role": "user", "content": "x"}]});
    let v = post(
        &url,
        &[("x-api-key", "k"), ("anthropic-version", "2023-06-01")],
        &body,
    )
    .await
    .json();
    assert_eq!(v["stop_reason"], "refusal");
}

// ----- SigV4, signed here by an independent implementation -----

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    use hmac::Mac;
    let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    m.update(data.as_bytes());
    m.finalize().into_bytes().to_vec()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn sign(host: &str, path: &str, body: &str, key: &str, secret: &str) -> (String, String) {
    use sha2::Digest;
    let date = "20260101T000000Z";
    let payload = hex(&sha2::Sha256::digest(body.as_bytes()));
    // Non-S3 services sign the wire path encoded once more: `%3A` becomes `%253A`.
    let canonical_path = path.replace('%', "%25");
    let canonical = format!(
        "POST\n{canonical_path}\n\ncontent-type:application/json\nhost:{host}\nx-amz-date:{date}\n\ncontent-type;host;x-amz-date\n{payload}"
    );
    let scope = "20260101/us-east-1/bedrock/aws4_request";
    let sts = format!(
        "AWS4-HMAC-SHA256\n{date}\n{scope}\n{}",
        hex(&sha2::Sha256::digest(canonical.as_bytes()))
    );
    let k = hmac(format!("AWS4{secret}").as_bytes(), "20260101");
    let k = hmac(&hmac(&hmac(&k, "us-east-1"), "bedrock"), "aws4_request");
    let sig = hex(&hmac(&k, &sts));
    (
        format!(
            "AWS4-HMAC-SHA256 Credential={key}/{scope}, SignedHeaders=content-type;host;x-amz-date, Signature={sig}"
        ),
        date.to_owned(),
    )
}

#[tokio::test]
async fn bedrock_sigv4_is_verified_when_credentials_are_configured() {
    let sim = Simulator::start(
        Scenario::new().aws_credentials(AwsSigningKeys::new("AKIDTEST", "secret/KEY")),
    )
    .await
    .unwrap();
    let host = sim.addr().to_string();
    let path = "/bedrock/model/amazon.nova-lite-v1%3A0/converse";
    let body = json!({"messages": [{"role": "user", "content": [{"text": "signed"}]}]}).to_string();
    let send = |auth: String, date: String, body: String| {
        let url = format!("{}{path}", sim.url());
        async move {
            let r = common::client()
                .post(url)
                .header("content-type", "application/json")
                .header("authorization", auth)
                .header("x-amz-date", date)
                .body(body)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let etype = r
                .headers()
                .get("x-amzn-errortype")
                .map(|v| v.to_str().unwrap().to_owned());
            (status, etype)
        }
    };
    let (auth, date) = sign(&host, path, &body, "AKIDTEST", "secret/KEY");
    assert_eq!(
        send(auth.clone(), date.clone(), body.clone()).await,
        (200, None)
    );
    let (status, etype) = send(auth, date.clone(), body.replace("signed", "tampered")).await;
    assert_eq!(status, 403);
    assert!(etype.unwrap().starts_with("InvalidSignatureException"));
    let (auth, date) = sign(&host, path, &body, "AKIDOTHER", "secret/KEY");
    let (status, etype) = send(auth, date, body.clone()).await;
    assert_eq!(status, 403);
    assert!(etype.unwrap().starts_with("UnrecognizedClientException"));
    assert_eq!(
        sim.journal()[0].model.as_deref(),
        Some("amazon.nova-lite-v1:0")
    );
    assert_eq!(
        sim.journal()[0].header("authorization"),
        Some("AWS4-HMAC-SHA256 ***")
    );
}
