//! The inputs of `forward_compat.rs` — recorded answers from `../shared/fixtures/` and answers
//! captured from the simulator — parsed into events so that they can be mutated, and written back
//! to bytes.

#![allow(dead_code, reason = "shared by the tests of forward_compat.rs")]

pub(crate) mod mutate;

use std::fmt::Write as _;
use std::path::Path;

use bytes::Bytes;
use serde_json::{Value, json};
use steadfast::codec::eventstream::{EventStreamDecoder, Header, HeaderValue, Message};
use steadfast::codec::sse::SseDecoder;
use steadfast::{OutputFormat, Tool, ToolChoice, llm};
use steadfast_sim::{Action, Dialect, Rule, Scenario, Simulator};

/// The wire shape of a decoder family: what the mutations add, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    /// OpenAI chat completions and every provider speaking it: the OpenAI flavors, Azure AI
    /// Inference, Mistral.
    OpenAi,
    Anthropic,
    Gemini,
    Cohere,
    Bedrock,
}

/// The family of a registered provider name.
pub(crate) fn family(provider: &str) -> Family {
    match provider {
        "anthropic" => Family::Anthropic,
        "gemini" => Family::Gemini,
        "cohere" => Family::Cohere,
        "bedrock" => Family::Bedrock,
        _ => Family::OpenAi,
    }
}

/// The `data` of an SSE event or the payload of an eventstream frame.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Data {
    Json(Value),
    /// Not JSON (`[DONE]`): kept as it is.
    Raw(String),
}

impl Data {
    fn parse(text: &str) -> Data {
        match serde_json::from_str::<Value>(text.trim()) {
            Ok(v) if v.is_object() => Data::Json(v),
            _ => Data::Raw(text.to_string()),
        }
    }

    pub(crate) fn json(&self) -> Option<&Value> {
        match self {
            Data::Json(v) => Some(v),
            Data::Raw(_) => None,
        }
    }

    pub(crate) fn json_mut(&mut self) -> Option<&mut Value> {
        match self {
            Data::Json(v) => Some(v),
            Data::Raw(_) => None,
        }
    }

    fn text(&self) -> String {
        match self {
            Data::Json(v) => v.to_string(),
            Data::Raw(s) => s.clone(),
        }
    }
}

/// One SSE event: its `event:` name and its data.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Event {
    pub(crate) name: Option<String>,
    pub(crate) data: Data,
}

impl Event {
    pub(crate) fn json(name: Option<&str>, data: Value) -> Event {
        Event {
            name: name.map(str::to_string),
            data: Data::Json(data),
        }
    }
}

/// One AWS eventstream frame: its headers and its (JSON) payload.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Frame {
    pub(crate) headers: Vec<Header>,
    pub(crate) payload: Data,
}

impl Frame {
    /// An `:message-type event` frame of type `event_type` with a JSON payload.
    pub(crate) fn event(event_type: &str, payload: Value) -> Frame {
        Frame {
            headers: vec![
                Header::new(":event-type", HeaderValue::from(event_type.to_string())),
                Header::new(":content-type", HeaderValue::from("application/json")),
                Header::new(":message-type", HeaderValue::from("event")),
            ],
            payload: Data::Json(payload),
        }
    }

    pub(crate) fn event_type(&self) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name == ":event-type")
            .and_then(|h| h.value.as_str())
    }
}

/// An answer body, parsed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Body {
    /// A whole (non-streamed) JSON answer.
    Json(Value),
    /// An SSE stream.
    Sse(Vec<Event>),
    /// A Bedrock ConverseStream body.
    Frames(Vec<Frame>),
}

impl Body {
    /// Whether this is a streamed answer.
    pub(crate) fn is_stream(&self) -> bool {
        !matches!(self, Body::Json(_))
    }

    /// Parses `bytes`: a stream when `stream`, else a JSON body. `bedrock` streams are
    /// eventstream frames, the others SSE.
    pub(crate) fn parse(bytes: &[u8], stream: bool, bedrock: bool) -> Result<Body, String> {
        if !stream {
            return serde_json::from_slice(bytes)
                .map(Body::Json)
                .map_err(|e| format!("not JSON: {e}"));
        }
        if bedrock {
            let mut decoder = EventStreamDecoder::new();
            decoder.push(bytes);
            let mut frames = Vec::new();
            while let Some(Message { headers, payload }) =
                decoder.next_message().map_err(|e| e.to_string())?
            {
                let text = std::str::from_utf8(&payload).map_err(|e| e.to_string())?;
                frames.push(Frame {
                    headers,
                    payload: Data::parse(text),
                });
            }
            decoder.finish().map_err(|e| e.to_string())?;
            return Ok(Body::Frames(frames));
        }
        let mut decoder = SseDecoder::new();
        decoder.push(bytes);
        let mut events = Vec::new();
        let mut push = |e: steadfast::codec::sse::SseEvent| {
            events.push(Event {
                name: e.event,
                data: Data::parse(&e.data),
            });
        };
        while let Some(e) = decoder.next_event().map_err(|e| e.to_string())? {
            push(e);
        }
        if let Some(e) = decoder.finish().map_err(|e| e.to_string())? {
            push(e);
        }
        Ok(Body::Sse(events))
    }

    /// The body as bytes: compact JSON; SSE events with `\n` line endings; frames with correct
    /// lengths and CRCs.
    pub(crate) fn to_bytes(&self) -> Bytes {
        match self {
            Body::Json(v) => Bytes::from(v.to_string()),
            Body::Sse(events) => {
                let mut out = String::new();
                for e in events {
                    if let Some(name) = &e.name {
                        let _ = writeln!(out, "event: {name}");
                    }
                    for line in e.data.text().split('\n') {
                        let _ = writeln!(out, "data: {line}");
                    }
                    out.push('\n');
                }
                Bytes::from(out)
            }
            Body::Frames(frames) => {
                let mut out = Vec::new();
                for f in frames {
                    let msg = Message::new(f.headers.clone(), f.payload.text().into_bytes());
                    out.extend(msg.encode().expect("a frame of the test fits the format"));
                }
                Bytes::from(out)
            }
        }
    }

    /// Every JSON document of the body (the body, or each event's data / frame's payload).
    pub(crate) fn documents(&self) -> Vec<&Value> {
        match self {
            Body::Json(v) => vec![v],
            Body::Sse(events) => events.iter().filter_map(|e| e.data.json()).collect(),
            Body::Frames(frames) => frames.iter().filter_map(|f| f.payload.json()).collect(),
        }
    }

    /// Every JSON document of the body, mutably, with its event / frame index.
    pub(crate) fn documents_mut(&mut self) -> Vec<(Option<usize>, &mut Value)> {
        match self {
            Body::Json(v) => vec![(None, v)],
            Body::Sse(events) => events
                .iter_mut()
                .enumerate()
                .filter_map(|(i, e)| e.data.json_mut().map(|v| (Some(i), v)))
                .collect(),
            Body::Frames(frames) => frames
                .iter_mut()
                .enumerate()
                .filter_map(|(i, f)| f.payload.json_mut().map(|v| (Some(i), v)))
                .collect(),
        }
    }
}

/// One answer to decode and mutate.
#[derive(Debug, Clone)]
pub(crate) struct Input {
    /// Where it comes from: a fixture path (`fixture anthropic/streaming/x.txt`), or the
    /// simulator dialect and case (`sim openai tools-parallel stream`).
    pub(crate) name: String,
    /// The registered provider whose decoder reads it.
    pub(crate) provider: &'static str,
    pub(crate) model: &'static str,
    pub(crate) family: Family,
    /// The bytes as recorded or received.
    pub(crate) bytes: Bytes,
    pub(crate) body: Body,
}

impl Input {
    pub(crate) fn new(
        name: String,
        provider: &'static str,
        model: &'static str,
        bytes: Bytes,
        stream: bool,
    ) -> Result<Input, String> {
        let body = Body::parse(&bytes, stream, provider == "bedrock")
            .map_err(|e| format!("{name}: {e}"))?;
        Ok(Input {
            name,
            provider,
            model,
            family: family(provider),
            bytes,
            body,
        })
    }
}

// ---- recorded fixtures ----

/// What the fixture scan used and left out, with the reason, for the report.
#[derive(Debug, Default)]
pub(crate) struct FixtureScan {
    pub(crate) inputs: Vec<Input>,
    pub(crate) skipped: Vec<(String, String)>,
}

fn sorted_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

fn rel(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

/// Every recorded success answer of the decoders under `root`:
///
/// - `openai/sse/*.bin`: OpenAI chat-completion streams (read by `openai`);
/// - `anthropic/streaming/*.txt`: Messages streams;
/// - `anthropic/{parse,tool_runner}_snapshots/*.json`: the `200` responses of each recorded
///   exchange (JSON bodies, or SSE text for streamed requests); the `4xx` ones are error bodies;
/// - `gemini/{googleai,vertexai}/unary-*.json` and `streaming-*.txt` that are not error bodies
///   (`google.rpc.Status`, HTML). `*-failure-*` answers that are answer-shaped are kept when
///   their unmutated decode succeeds (the caller drops the others and says so).
///
/// Everything else is listed in `skipped` with the reason.
pub(crate) fn fixtures(root: &Path) -> FixtureScan {
    let mut scan = FixtureScan::default();
    for path in sorted_files(&root.join("openai/sse")) {
        let bytes = Bytes::from(std::fs::read(&path).unwrap());
        let name = format!("fixture {}", rel(root, &path));
        scan.inputs
            .push(Input::new(name, "openai", "gpt-4o", bytes, true).unwrap());
    }
    for f in ["openai/openapi.json", "openai/openapi.yaml"] {
        scan.skipped
            .push((f.into(), "OpenAPI spec, not an answer".into()));
    }
    for path in sorted_files(&root.join("anthropic/streaming")) {
        let bytes = Bytes::from(std::fs::read(&path).unwrap());
        let name = format!("fixture {}", rel(root, &path));
        scan.inputs
            .push(Input::new(name, "anthropic", "claude", bytes, true).unwrap());
    }
    for dir in [
        "anthropic/parse_snapshots",
        "anthropic/tool_runner_snapshots",
    ] {
        for path in sorted_files(&root.join(dir)) {
            let exchanges: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            for (i, exchange) in exchanges.as_array().unwrap().iter().enumerate() {
                let file = format!("{}#{i}", rel(root, &path));
                let response = &exchange["response"];
                let status = response["status_code"].as_u64().unwrap_or(0);
                if status != 200 {
                    scan.skipped
                        .push((file, format!("HTTP {status}, an error body")));
                    continue;
                }
                let name = format!("fixture {file}");
                let (bytes, stream) = match &response["body"] {
                    Value::String(text) => (Bytes::from(text.clone()), true),
                    body => (Bytes::from(body.to_string()), false),
                };
                scan.inputs
                    .push(Input::new(name, "anthropic", "claude", bytes, stream).unwrap());
            }
        }
    }
    for dir in ["gemini/googleai", "gemini/vertexai"] {
        for path in sorted_files(&root.join(dir)) {
            let file = path.file_name().unwrap().to_string_lossy().into_owned();
            let name = rel(root, &path);
            let bytes = Bytes::from(std::fs::read(&path).unwrap());
            let stream = file.starts_with("streaming-");
            if !stream && !file.ends_with(".json") {
                let why = if file.ends_with(".txt") {
                    "an identical copy of the .json twin"
                } else {
                    "an HTML error page"
                };
                scan.skipped.push((name, why.into()));
                continue;
            }
            let text = String::from_utf8_lossy(&bytes);
            let is_error_body = if stream {
                // An error stream holds `{"error": …}`, in a data event or as bare lines.
                text.contains("\"error\"")
            } else {
                serde_json::from_slice::<Value>(&bytes)
                    .ok()
                    .is_some_and(|v| v.get("error").is_some())
            };
            if is_error_body {
                scan.skipped
                    .push((name, "a google.rpc.Status error body".into()));
                continue;
            }
            match Input::new(
                format!("fixture {name}"),
                "gemini",
                "gemini-2.0-flash",
                bytes,
                stream,
            ) {
                Ok(input) => scan.inputs.push(input),
                Err(e) => scan.skipped.push((name, format!("unparsable: {e}"))),
            }
        }
    }
    for f in [
        "gemini/schema/json-schema.json",
        "gemini/schema/open-api-schema.json",
    ] {
        scan.skipped
            .push((f.into(), "a structured-output schema, not an answer".into()));
    }
    scan.skipped.push((
        "bedrock/*".into(),
        "Smithy model, SigV4 and auth vectors, eventstream codec vectors: no Converse answer"
            .into(),
    ));
    scan.skipped.push((
        "cohere/cohere-openapi.yaml, mistral/openapi.yaml".into(),
        "OpenAPI specs, not recorded answers (Cohere's x-fern-examples hold documentation examples of answers; not used)".into(),
    ));
    scan.skipped
        .push(("azure/".into(), "holds only SOURCES.md".into()));
    scan
}

// ---- the simulator ----

/// The providers the simulator serves, with the model asked for.
pub(crate) const SIM_TARGETS: &[(&str, &str, Dialect)] = &[
    ("openai", "gpt-4o-mini", Dialect::OpenAi),
    ("groq", "llama-3.3-70b-versatile", Dialect::Groq),
    ("xai", "grok-3-mini", Dialect::Xai),
    ("litellm", "gpt-4o-mini", Dialect::LiteLlm),
    ("azure", "my-gpt-4o-deployment", Dialect::AzureOpenAi),
    (
        "azure-inference",
        "mistral-large-2411",
        Dialect::AzureInference,
    ),
    ("mistral", "mistral-small-latest", Dialect::Mistral),
    ("anthropic", "claude-3-5-sonnet-latest", Dialect::Anthropic),
    ("gemini", "gemini-2.0-flash", Dialect::Gemini),
    ("cohere", "command-a-03-2025", Dialect::Cohere),
    (
        "bedrock",
        "anthropic.claude-3-5-sonnet-20240620-v1:0",
        Dialect::Bedrock,
    ),
];

const KEY: &str = "sk-forward-compat-0123456789";

/// The cases asked of every dialect: (name, scenario, tools declared, structured output).
fn cases(dialect: Dialect) -> Vec<(&'static str, Scenario, bool, bool)> {
    let parallel = Scenario::from_toml_str(
        r#"
        [[rules]]
        action = { type = "tool_call", text = "Checking both.", tool_calls = [
            { name = "get_weather", arguments = '{"city":"Paris","unit":"c"}' },
            { name = "get_time", arguments = '{"zone":"Europe/Paris"}' },
        ] }
        "#,
    )
    .unwrap();
    let mut out = vec![
        ("text", Scenario::new(), false, false),
        (
            "tool-one",
            Scenario::new()
                .rule(Rule::new().action(Action::tool_call("get_weather", r#"{"city":"Oslo"}"#))),
            true,
            false,
        ),
        ("tools-parallel", parallel, true, false),
        ("structured", Scenario::new(), false, true),
    ];
    // Cohere and Mistral have no refusal of their own: the simulator answers it as text.
    if !matches!(dialect, Dialect::Cohere | Dialect::Mistral) {
        out.push((
            "refusal",
            Scenario::new().rule(Rule::new().action(Action::refusal("I can't help with that."))),
            false,
            false,
        ));
    }
    out
}

fn tools() -> Vec<Tool> {
    vec![
        Tool::from_schema(
            "get_weather",
            "The weather in a city",
            json!({"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string"}}, "required": ["city"]}),
        )
        .unwrap(),
        Tool::from_schema(
            "get_time",
            "The time in a zone",
            json!({"type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]}),
        )
        .unwrap(),
    ]
}

/// The headers that authenticate to the simulator (the library's encoding leaves credentials
/// out; the simulator accepts any non-empty key, and a bearer token for Bedrock when its
/// scenario has no AWS keys).
fn auth(dialect: Dialect) -> Vec<(&'static str, String)> {
    match dialect {
        Dialect::AzureOpenAi | Dialect::AzureInference => vec![("api-key", KEY.into())],
        Dialect::Anthropic => vec![
            ("x-api-key", KEY.into()),
            ("anthropic-version", "2023-06-01".into()),
        ],
        Dialect::Gemini => vec![("x-goog-api-key", KEY.into())],
        _ => vec![("authorization", format!("Bearer {KEY}"))],
    }
}

/// Asks the simulator every case of every dialect, streamed and not, with the exact URL and body
/// the library encodes (`HttpCodec::encode`), and keeps the raw answer bytes.
pub(crate) async fn simulator_answers() -> Vec<Input> {
    let sim = Simulator::start(Scenario::new()).await.unwrap();
    let http = reqwest::Client::new();
    let mut inputs = Vec::new();
    for &(provider, model, dialect) in SIM_TARGETS {
        for (case, scenario, with_tools, structured) in cases(dialect) {
            sim.set_scenario(scenario);
            let mut call = llm::call((provider, model))
                .unwrap()
                .base_url(sim.base_url(dialect))
                .api_key(KEY);
            if with_tools {
                call = call.with_tools(tools()).tool_choice(ToolChoice::Auto);
            }
            let mut request = call.request("What is the weather in Paris, and the time?");
            if structured {
                request.output = Some(OutputFormat::new(
                    "book",
                    json!({"type": "object", "properties": {"title": {"type": "string"}, "author": {"type": "string"}}, "required": ["title", "author"], "additionalProperties": false}),
                ));
            }
            let codec = call.provider().http_codec().unwrap();
            for stream in [false, true] {
                let encoded = codec.encode(&request, stream).unwrap();
                let mut req = http
                    .post(&encoded.url)
                    .header("content-type", "application/json")
                    .body(encoded.body.clone());
                for (name, value) in auth(dialect) {
                    req = req.header(name, value);
                }
                let response = req.send().await.unwrap();
                let status = response.status();
                let bytes = response.bytes().await.unwrap();
                let label = format!(
                    "sim {provider} {case} {}",
                    if stream { "stream" } else { "json" }
                );
                assert_eq!(status, 200, "{label}: {}", String::from_utf8_lossy(&bytes));
                inputs.push(Input::new(label, provider, model, bytes, stream).unwrap());
            }
        }
    }
    sim.shutdown().await;
    inputs
}
