//! What a Gemini answer holds beyond text and function calls — thoughts and signatures, code
//! execution and other parts, citations, the finish message — read from the recordings and from
//! hand-written bodies, unary and streamed; and how `to_message()` gives it back to Gemini.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use serde_json::{Value, json};

use super::convert::{parse_response, request_body};
use super::tests::{replay, request};
use crate::error::ErrorKind;
use crate::message::{Message, OtherPart, Part, Reasoning, Role};
use crate::response::{FinishReason, Response};

fn recording(name: &str) -> Vec<u8> {
    let path = steadfast_fixtures::location().join("gemini").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn unary(body: &[u8]) -> Response {
    parse_response(&request(&[]), body).unwrap()
}

/// The recorded first candidate's parts.
fn recorded_parts(body: &[u8]) -> Value {
    let v: Value = serde_json::from_slice(body).unwrap();
    v["candidates"][0]["content"]["parts"].clone()
}

/// The data chunks of a recorded stream.
fn chunks(body: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(body)
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(|d| serde_json::from_str(d.trim()).unwrap())
        .collect()
}

/// The parts of the model turn Gemini receives when `r` is sent back as the next assistant turn.
fn sent_back(r: &Response) -> Value {
    let mut req = request(&[]);
    req.messages = vec![Message::user("q"), r.to_message(), Message::user("next")];
    let body = serde_json::to_value(request_body(&req).unwrap()).unwrap();
    assert_eq!(body["contents"][1]["role"], "model", "{body:#}");
    body["contents"][1]["parts"].clone()
}

/// A hand-written stream of these chunks, each a `data:` event.
fn stream_of(chunks: &[Value]) -> Vec<u8> {
    chunks
        .iter()
        .map(|c| format!("data: {c}\r\n\r\n"))
        .collect::<String>()
        .into_bytes()
}

fn chunk(parts: Value) -> Value {
    json!({"candidates": [{"content": {"role": "model", "parts": parts}, "index": 0}]})
}

fn last_chunk(parts: Value) -> Value {
    json!({"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}]})
}

fn unary_body(parts: &Value) -> Vec<u8> {
    last_chunk(parts.clone()).to_string().into_bytes()
}

#[tokio::test]
async fn thought_summaries_are_reasoning_and_go_back_as_thought_parts() {
    let Some(_fixtures) = steadfast_fixtures::require() else {
        return;
    };
    let body = recording("googleai/unary-success-thinking-reply-thought-summary.json");
    let recorded = recorded_parts(&body);
    let r = unary(&body);
    assert_eq!(r.text(), "Mountain View");
    let reasoning: Vec<&Reasoning> = r.reasoning().collect();
    assert_eq!(reasoning.len(), 1);
    assert_eq!(reasoning[0].provider, "gemini");
    assert_eq!(reasoning[0].text, recorded[0]["text"].as_str().unwrap());
    assert!(
        reasoning[0]
            .text
            .starts_with("**Thinking About Google's Headquarters**")
    );
    assert_eq!(reasoning[0].signature, None);
    assert!(matches!(
        r.parts().as_slice(),
        [Part::Reasoning(_), Part::Text { .. }]
    ));
    assert_eq!(
        sent_back(&r),
        recorded,
        "the model turn goes back as it came"
    );

    // Streamed: the three thought chunks are one reasoning part, before the answer.
    let body = recording("googleai/streaming-success-thinking-reply-thought-summary.txt");
    let thoughts: String = chunks(&body)
        .iter()
        .flat_map(|c| {
            c["candidates"][0]["content"]["parts"]
                .as_array()
                .unwrap()
                .clone()
        })
        .filter(|p| p["thought"] == json!(true))
        .map(|p| p["text"].as_str().unwrap().to_string())
        .collect();
    for size in [3, 64, 100_000] {
        let r = replay(&body, size, &[]).await.unwrap();
        assert_eq!(r.reasoning().count(), 1, "/{size}");
        assert_eq!(r.reasoning_text(), thoughts, "/{size}");
        assert!(r.text().starts_with("The sky is blue"), "/{size}");
        assert_eq!(
            sent_back(&r),
            json!([{"text": thoughts, "thought": true}, {"text": r.text()}]),
            "/{size}"
        );
    }
}

#[tokio::test]
async fn a_signed_call_after_thoughts_goes_back_exactly() {
    let Some(_fixtures) = steadfast_fixtures::require() else {
        return;
    };
    let body =
        recording("googleai/unary-success-thinking-function-call-thought-summary-signature.json");
    let recorded = recorded_parts(&body);
    let r = unary(&body);
    assert_eq!(r.reasoning_text(), recorded[0]["text"].as_str().unwrap());
    assert_eq!(
        r.tool_calls()[0].signature.as_deref(),
        recorded[1]["thoughtSignature"].as_str()
    );
    assert_eq!(sent_back(&r), recorded);

    // The streamed answer goes back as the unary one would: one thought part, then the call.
    let body = recording(
        "googleai/streaming-success-thinking-function-call-thought-summary-signature.txt",
    );
    let parts: Vec<Value> = chunks(&body)
        .iter()
        .flat_map(|c| {
            c["candidates"][0]["content"]["parts"]
                .as_array()
                .unwrap()
                .clone()
        })
        .collect();
    let thoughts: String = parts
        .iter()
        .filter(|p| p["thought"] == json!(true))
        .map(|p| p["text"].as_str().unwrap())
        .collect();
    let call = parts
        .iter()
        .find(|p| p.get("functionCall").is_some())
        .unwrap();
    let r = replay(&body, 17, &["now".to_string()]).await.unwrap();
    assert_eq!(
        sent_back(&r),
        json!([{"text": thoughts, "thought": true}, call])
    );
}

#[tokio::test]
async fn code_execution_parts_are_kept_whole_in_their_place() {
    let Some(_fixtures) = steadfast_fixtures::require() else {
        return;
    };
    let body = recording("googleai/unary-success-code-execution.json");
    let recorded = recorded_parts(&body);
    let r = unary(&body);
    let others: Vec<&OtherPart> = r.other_parts().collect();
    let kinds: Vec<&str> = others.iter().map(|o| o.kind.as_str()).collect();
    assert_eq!(kinds, ["executableCode", "codeExecutionResult"]);
    assert_eq!(others[0].provider, "gemini");
    assert_eq!(others[0].raw, recorded[0]);
    assert_eq!(others[1].raw, recorded[1]);
    assert_eq!(
        others[1].raw["codeExecutionResult"]["output"],
        "sum_of_primes=28\n"
    );
    assert!(r.text().starts_with("The first 5 prime numbers"));
    assert_eq!(sent_back(&r), recorded);

    // Streamed: text, the code, its result, text — in that order.
    let body = recording("googleai/streaming-success-code-execution.txt");
    for size in [5, 100_000] {
        let r = replay(&body, size, &[]).await.unwrap();
        let parts = r.parts();
        let shape: Vec<&str> = parts
            .iter()
            .map(|p| match p {
                Part::Text { .. } => "text",
                Part::Other(o) => o.kind.as_str(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            shape,
            ["text", "executableCode", "codeExecutionResult", "text"],
            "/{size}"
        );
        let sent = sent_back(&r);
        assert_eq!(sent[1]["executableCode"]["language"], "PYTHON");
        assert_eq!(
            sent[3],
            json!({"text": "The sum of the first 5 prime numbers is 28."})
        );
    }
}

#[tokio::test]
async fn citation_sources_are_citations() {
    let Some(_fixtures) = steadfast_fixtures::require() else {
        return;
    };
    let r = unary(&recording("googleai/unary-success-citations.json"));
    let c = r.citations();
    assert_eq!(c.len(), 4);
    assert!(c.iter().all(|c| c.kind == "citationSource"));
    assert_eq!(
        c[0].url.as_deref(),
        Some("https://www.example.com/some-citation-1")
    );
    assert_eq!(c[0].raw["license"], "mit");
    assert_eq!(c[2].url, None);
    assert_eq!(c[3].raw, json!({"startIndex": 2036, "endIndex": 2175}));

    // Vertex AI names them `citations`.
    let r = unary(&recording("vertexai/unary-success-citations.json"));
    let titles: Vec<Option<&str>> = r.citations().iter().map(|c| c.title.as_deref()).collect();
    assert_eq!(titles, [None, Some("some-citation-2"), None]);
    assert!(r.citations().iter().all(|c| c.kind == "citation"));

    // A stream's citations arrive with the chunk that has them, each once.
    let r = replay(
        &recording("googleai/streaming-success-citations.txt"),
        50,
        &[],
    )
    .await
    .unwrap();
    assert_eq!(r.citations().len(), 1);
    assert!(
        r.citations()[0]
            .url
            .as_deref()
            .unwrap()
            .starts_with("https://www.vaia.com/")
    );
    let r = replay(
        &recording("vertexai/streaming-success-citations.txt"),
        50,
        &[],
    )
    .await
    .unwrap();
    let urls: Vec<Option<&str>> = r.citations().iter().map(|c| c.url.as_deref()).collect();
    assert_eq!(urls.len(), 6, "{urls:?}");
    assert_eq!(urls[5], Some("https://www.example.com/some-citation-6"));
}

#[tokio::test]
async fn grounding_chunks_and_supports_are_citations() {
    let Some(_fixtures) = steadfast_fixtures::require() else {
        return;
    };
    let r = unary(&recording(
        "googleai/unary-success-google-search-grounding.json",
    ));
    let c = r.citations();
    let kinds: Vec<&str> = c.iter().map(|c| c.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "web",
            "web",
            "groundingSupport",
            "groundingSupport",
            "groundingSupport"
        ]
    );
    assert_eq!(c[0].title.as_deref(), Some("accuweather.com"));
    assert!(
        c[0].url
            .as_deref()
            .unwrap()
            .starts_with("https://vertexaisearch.cloud.google.com/grounding-api-redirect/")
    );
    assert_eq!(
        c[1].url.as_deref(),
        Some("https://www.google.com/search?q=weather+in+London")
    );
    // A support cites a piece of the answer and names its chunk.
    assert_eq!(
        c[2].cited_text.as_deref(),
        Some("The current weather in London, United Kingdom is cloudy.")
    );
    assert!(r.text().contains(c[2].cited_text.as_deref().unwrap()));
    assert_eq!(c[2].title.as_deref(), Some("accuweather.com"));
    assert_eq!(
        c[3].title.as_deref(),
        Some("Weather information for locality: London")
    );
    assert_eq!(c[4].raw["confidenceScores"], json!([0.85501826]));

    // Chunks without a source are kept (supports count chunks by position).
    let r = unary(&recording(
        "googleai/unary-success-google-search-grounding-empty-grounding-chunks.json",
    ));
    let kinds: Vec<&str> = r.citations().iter().map(|c| c.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["groundingChunk", "groundingChunk", "groundingSupport"]
    );
    assert_eq!(r.citations()[2].url, None);

    let r = unary(&recording(
        "googleai/unary-success-google-maps-grounding.json",
    ));
    assert!(r.citations().iter().any(|c| c.kind == "maps"
        && c.title.as_deref() == Some("Joe’s Pizza")
        && c.raw["maps"]["placeId"] == "places/ChIJqdNaaBVbwokRLTafYrQlZI8"));

    // URL context, unary and streamed (the sources come with the last chunk).
    let r = unary(&recording("googleai/unary-success-url-context.json"));
    assert_eq!(
        r.citations()[0].url.as_deref(),
        Some("https://berkshirehathaway.com")
    );
    assert_eq!(r.citations().len(), 5);
    let r = replay(
        &recording("googleai/streaming-success-url-context.txt"),
        64,
        &[],
    )
    .await
    .unwrap();
    let c = r.citations();
    assert_eq!(c.len(), 4);
    assert_eq!(
        (c[0].kind.as_str(), c[0].url.as_deref()),
        ("web", Some("https://google.com"))
    );
    assert_eq!(c[0].title.as_deref(), Some("Google"));
    assert!(c[1..].iter().all(|c| c.kind == "groundingSupport"
        && c.url.as_deref() == Some("https://google.com")));
}

#[tokio::test]
async fn the_finish_message_is_the_finish_details() {
    let Some(_fixtures) = steadfast_fixtures::require() else {
        return;
    };
    let r = replay(
        &recording("googleai/streaming-success-finish-message.txt"),
        8,
        &[],
    )
    .await
    .unwrap();
    assert_eq!(r.text(), "Hello world!");
    assert_eq!(
        r.finish_details(),
        Some(&json!({"finishMessage": "Finished successfully"}))
    );
    let r = unary(&recording(
        "googleai/unary-failure-with-message-no-content.json",
    ));
    assert_eq!(r.finish_reason(), FinishReason::other("OTHER"));
    assert_eq!(
        r.finish_details().unwrap()["finishMessage"],
        "Model failed to generate content due to internal error."
    );
    // Without a message there are no details.
    let r = unary(&unary_body(&json!([{"text": "x"}])));
    assert_eq!(r.finish_details(), None);
}

#[tokio::test]
async fn text_part_signatures_go_back_on_their_text() {
    let parts = json!([
        {"text": "Planning.", "thought": true, "thoughtSignature": "c2lnLXRob3VnaHQ="},
        {"text": "The answer", "thoughtSignature": "c2lnLXRleHQ="},
        {"text": " is 4."},
    ]);
    let r = unary(&unary_body(&parts));
    assert_eq!(r.text(), "The answer is 4.");
    let reasoning: Vec<(&str, Option<&str>)> = r
        .reasoning()
        .map(|p| (p.text.as_str(), p.signature.as_deref()))
        .collect();
    assert_eq!(
        reasoning,
        [
            ("Planning.", Some("c2lnLXRob3VnaHQ=")),
            ("", Some("c2lnLXRleHQ="))
        ]
    );
    assert_eq!(sent_back(&r), parts, "each signature back on its own part");

    // Streamed, with the signature on a final empty text part (as Gemini streams it): it goes
    // back on the answer's text.
    let body = stream_of(&[
        chunk(json!([{"text": "Plan", "thought": true}])),
        chunk(json!([{"text": "ning.", "thought": true, "thoughtSignature": "c2lnLXRob3VnaHQ="}])),
        chunk(json!([{"text": "The answer"}])),
        chunk(json!([{"text": " is 4."}])),
        last_chunk(json!([{"text": "", "thoughtSignature": "c2lnLXRleHQ="}])),
    ]);
    for size in [1, 9, 10_000] {
        let r = replay(&body, size, &[]).await.unwrap();
        assert_eq!(r.text(), "The answer is 4.", "/{size}");
        assert_eq!(r.reasoning_text(), "Planning.", "/{size}");
        assert_eq!(
            sent_back(&r),
            json!([
                {"text": "Planning.", "thought": true, "thoughtSignature": "c2lnLXRob3VnaHQ="},
                {"text": "The answer is 4.", "thoughtSignature": "c2lnLXRleHQ="},
            ]),
            "/{size}"
        );
    }

    // A second signed thought is a second reasoning part.
    let body = stream_of(&[
        chunk(json!([{"text": "One.", "thought": true, "thoughtSignature": "MQ=="}])),
        chunk(json!([{"text": "Two.", "thought": true, "thoughtSignature": "Mg=="}])),
        last_chunk(json!([{"text": "Done."}])),
    ]);
    let r = replay(&body, 7, &[]).await.unwrap();
    assert_eq!(
        sent_back(&r),
        json!([
            {"text": "One.", "thought": true, "thoughtSignature": "MQ=="},
            {"text": "Two.", "thought": true, "thoughtSignature": "Mg=="},
            {"text": "Done."},
        ])
    );
}

#[tokio::test]
async fn signatures_that_would_read_back_wrongly_are_kept_raw() {
    // An empty signed text part after a call, and an empty signed thought after text: their
    // signature cannot be told from another part's, so they are kept (and sent back) as they came.
    let parts = json!([
        {"functionCall": {"name": "now", "args": {}}},
        {"text": "", "thoughtSignature": "dGV4dA=="},
        {"text": "Hi."},
        {"thought": true, "thoughtSignature": "dGhvdWdodA=="},
        {"thought": true, "thoughtSignature": "bG9uZQ=="},
    ]);
    let check = |r: &Response, label: &str| {
        let kinds: Vec<&str> = r.other_parts().map(|o| o.kind.as_str()).collect();
        assert_eq!(kinds, ["text", "thought"], "{label}");
        // The last thought follows a kept part: reasoning with only a signature.
        let reasoning: Vec<&Reasoning> = r.reasoning().collect();
        assert_eq!(reasoning.len(), 1, "{label}");
        assert_eq!(
            reasoning[0].signature.as_deref(),
            Some("bG9uZQ=="),
            "{label}"
        );
        assert_eq!(
            sent_back(r),
            json!([
                {"functionCall": {"name": "now", "args": {}}},
                {"text": "", "thoughtSignature": "dGV4dA=="},
                {"text": "Hi."},
                {"thought": true, "thoughtSignature": "dGhvdWdodA=="},
                {"text": "", "thought": true, "thoughtSignature": "bG9uZQ=="},
            ]),
            "{label}"
        );
    };
    check(&unary(&unary_body(&parts)), "unary");
    let body = stream_of(&[
        chunk(json!([parts[0], parts[1]])),
        chunk(json!([parts[2]])),
        last_chunk(json!([parts[3], parts[4]])),
    ]);
    let r = replay(&body, 11, &["now".to_string()]).await.unwrap();
    check(&r, "stream");
}

#[tokio::test]
async fn unknown_parts_fields_and_chunks_never_fail() {
    let parts = json!([
        {"text": "Here is the image:"},
        {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}, "thoughtSignature": "aW1n"},
        {"fileData": {"mimeType": "application/pdf", "fileUri": "https://example.com/a.pdf"}},
        {"toolCall": {"id": "t1", "toolType": "GOOGLE_SEARCH_WEB", "args": {"q": "x"}}},
        {"somethingNew": {"a": [1, 2]}},
        {"text": 7},
    ]);
    let mut body = last_chunk(parts.clone());
    body["somethingTopLevel"] = json!({"x": 1});
    body["candidates"][0]["somethingInTheCandidate"] = json!([1]);
    let r = unary(body.to_string().as_bytes());
    let kinds: Vec<&str> = r.other_parts().map(|o| o.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["inlineData", "fileData", "toolCall", "somethingNew", "text"]
    );
    assert_eq!(r.text(), "Here is the image:");
    assert_eq!(r.finish_reason(), FinishReason::Stop);
    assert_eq!(sent_back(&r), parts);

    // Chunks of unknown shapes are skipped; the stream goes on.
    let body = [
        stream_of(&[chunk(json!([{"text": "a"}]))]),
        b"data: {\"somethingNew\": {\"x\": 1}}\r\n\r\ndata: [1, 2]\r\n\r\ndata: \"x\"\r\n\r\n"
            .to_vec(),
        stream_of(&[last_chunk(json!([{"somethingNew": {}}, {"text": "b"}]))]),
    ]
    .concat();
    for size in [1, 13, 10_000] {
        let r = replay(&body, size, &[]).await.unwrap();
        assert_eq!(r.text(), "ab", "/{size}");
        assert_eq!(r.other_parts().count(), 1, "/{size}");
    }
    // Data that is not JSON still is a decode error.
    let body = b"data: {not json\r\n\r\n";
    assert_eq!(
        replay(body, 4, &[]).await.unwrap_err().kind(),
        ErrorKind::Decode
    );
}

#[test]
fn only_gemini_reasoning_and_parts_go_to_gemini() {
    let mut req = request(&[]);
    req.messages = vec![
        Message::new(
            Role::System,
            vec![
                Part::text("Be brief."),
                Part::Reasoning(Reasoning::new("anthropic", "sys")),
            ],
        ),
        Message::user("q"),
        Message::new(
            Role::Assistant,
            vec![
                Part::Reasoning(Reasoning::new("anthropic", "mine").with_signature("EqQB")),
                Part::Reasoning(Reasoning::redacted("bedrock", "cmVkYWN0ZWQ=")),
                Part::Other(OtherPart::new(
                    "anthropic",
                    "server_tool_use",
                    json!({"type": "server_tool_use", "id": "srvtoolu_1"}),
                )),
                Part::Reasoning(Reasoning::new("gemini", "ours").with_signature("b3Vycw==")),
                // A signature-only reasoning that follows no text is a thought part.
                Part::Reasoning(Reasoning::new("gemini", "").with_signature("c2ln")),
                Part::text("Answer."),
                Part::Other(OtherPart::new(
                    "gemini",
                    "executableCode",
                    json!({"executableCode": {"language": "PYTHON", "code": "print(1)"}}),
                )),
            ],
        ),
    ];
    let body = serde_json::to_value(request_body(&req).unwrap()).unwrap();
    assert_eq!(
        body["systemInstruction"],
        json!({"parts": [{"text": "Be brief."}]})
    );
    assert_eq!(
        body["contents"][1]["parts"],
        json!([
            {"text": "ours", "thought": true, "thoughtSignature": "b3Vycw=="},
            {"text": "", "thought": true, "thoughtSignature": "c2ln"},
            {"text": "Answer."},
            {"executableCode": {"language": "PYTHON", "code": "print(1)"}},
        ])
    );

    // Gemini has no redacted reasoning: one marked as Gemini's cannot be sent.
    req.messages = vec![
        Message::user("q"),
        Message::new(
            Role::Assistant,
            vec![Part::Reasoning(Reasoning::redacted("gemini", "eA=="))],
        ),
    ];
    assert_eq!(
        request_body(&req).unwrap_err().kind(),
        ErrorKind::Unsupported
    );
}
