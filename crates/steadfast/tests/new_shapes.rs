//! What providers added lately, read through the public decoders (`Call::decode_response`,
//! `Call::decode_stream`): Anthropic server tools, thinking, citations, refusals with
//! `stop_details` and `pause_turn`; OpenAI-family undeclared tool calls, reasoning fields,
//! annotations and custom tool calls; Mistral and Cohere thinking and unknown content; and how
//! reasoning goes back to the provider that produced it (and to no other).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use serde_json::{Value, json};
use steadfast::{Call, ErrorKind, FinishReason, Message, Part, Prompt, Response, StreamEvent};

fn call(target: &str) -> Call {
    steadfast::llm::call(target)
        .unwrap()
        .api_key("test-key")
        .base_url("http://127.0.0.1:9/v1")
}

/// SSE text from `(event name, data)` pairs; `None` names a data-only event.
fn sse(events: &[(Option<&str>, Value)]) -> String {
    let mut out = String::new();
    for (name, data) in events {
        if let Some(n) = name {
            out.push_str(&format!("event: {n}\n"));
        }
        out.push_str(&format!("data: {data}\n\n"));
    }
    out
}

async fn stream(call: &Call, body: String) -> (Vec<StreamEvent>, Response) {
    use futures_util::StreamExt;
    let mut s = call.decode_stream(body);
    let mut events = Vec::new();
    while let Some(e) = s.next().await {
        events.push(e.unwrap());
    }
    (events, s.into_response().await.unwrap())
}

/// An Anthropic SSE body: each event named by its `type` (`novel` for a type not listed).
fn anthropic_sse(events: impl IntoIterator<Item = Value>) -> String {
    sse(&events.into_iter().map(anthropic_event).collect::<Vec<_>>())
}

fn anthropic_event(data: Value) -> (Option<&'static str>, Value) {
    let name = match data["type"].as_str().unwrap() {
        "message_start" => "message_start",
        "content_block_start" => "content_block_start",
        "content_block_delta" => "content_block_delta",
        "content_block_stop" => "content_block_stop",
        "message_delta" => "message_delta",
        "message_stop" => "message_stop",
        _ => "novel",
    };
    (Some(name), data)
}

/// The case of the issue: a server tool first, its input in fragments, its result, cited text,
/// and a refusal with `stop_details`.
fn server_tool_refusal_stream() -> String {
    anthropic_sse([
        json!({"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","content":[],"usage":{"input_tokens":12,"output_tokens":1}}}),
        json!({"type":"content_block_start","index":0,"content_block":{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{}}}),
        json!({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"query\": \"rust"}}),
        json!({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":" resilience\"}"}}),
        json!({"type":"content_block_stop","index":0}),
        json!({"type":"content_block_start","index":1,"content_block":{"type":"web_search_tool_result","tool_use_id":"srvtoolu_1","content":[{"type":"web_search_result","url":"https://example.com/r","title":"R","encrypted_content":"abc"}]}}),
        json!({"type":"content_block_stop","index":1}),
        json!({"type":"content_block_start","index":2,"content_block":{"type":"text","text":""}}),
        json!({"type":"content_block_delta","index":2,"delta":{"type":"text_delta","text":"Partly "}}),
        json!({"type":"content_block_delta","index":2,"delta":{"type":"citations_delta","citation":{"type":"web_search_result_location","url":"https://example.com/r","title":"R","cited_text":"resilience","encrypted_index":"x"}}}),
        json!({"type":"content_block_delta","index":2,"delta":{"type":"text_delta","text":"answered."}}),
        json!({"type":"content_block_stop","index":2}),
        json!({"type":"message_delta","delta":{"stop_reason":"refusal","stop_sequence":null,"stop_details":{"type":"refusal","category":"cyber","explanation":"This could enable harm."}},"usage":{"output_tokens":30,"server_tool_use":{"web_search_requests":1}}}),
        json!({"type":"message_stop"}),
    ])
}

#[tokio::test]
async fn an_anthropic_server_tool_stream_keeps_its_blocks_and_reports_the_refusal() {
    let (events, r) = stream(&call("anthropic:claude-x"), server_tool_refusal_stream()).await;
    assert_eq!(r.text(), "Partly answered.");
    assert!(
        r.tool_calls().is_empty(),
        "server tools are not client tool calls"
    );
    let kinds: Vec<_> = r.other_parts().map(|o| o.kind.as_str()).collect();
    assert_eq!(kinds, ["server_tool_use", "web_search_tool_result"]);
    let search = r.other_parts().next().unwrap();
    assert_eq!(search.raw["input"], json!({"query": "rust resilience"}));
    assert_eq!(search.raw["name"], "web_search");
    assert_eq!(r.finish_reason(), FinishReason::Refusal);
    assert_eq!(r.refusal(), Some("This could enable harm."));
    assert_eq!(r.finish_details().unwrap()["category"], "cyber");
    assert_eq!(r.citations().len(), 1);
    assert_eq!(
        r.citations()[0].url.as_deref(),
        Some("https://example.com/r")
    );
    assert_eq!(r.citations()[0].cited_text.as_deref(), Some("resilience"));
    assert_eq!(r.usage().unwrap().output_tokens, 30);
    // The caller saw the blocks as parts, the citation, and the refusal.
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, StreamEvent::Part(Part::Other(_))))
            .count(),
        2
    );
    assert!(events.iter().any(|e| matches!(e, StreamEvent::Citation(_))));
    assert!(events.contains(&StreamEvent::Refusal("This could enable harm.".into())));
    // In order: the server tool blocks came before the text.
    let parts = r.parts();
    assert!(matches!(&parts[0], Part::Other(o) if o.kind == "server_tool_use"));
    assert!(matches!(&parts[2], Part::Text { text } if text == "Partly answered."));
}

fn thinking_then_tool_stream() -> String {
    anthropic_sse([
        json!({"type":"message_start","message":{"id":"msg_2","model":"claude-x","usage":{"input_tokens":5}}}),
        json!({"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}),
        json!({"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"The user wants "}}),
        json!({"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"the weather."}}),
        json!({"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"sig-A=="}}),
        json!({"type":"content_block_stop","index":0}),
        json!({"type":"content_block_start","index":1,"content_block":{"type":"redacted_thinking","data":"ENCRYPTED"}}),
        json!({"type":"content_block_stop","index":1}),
        json!({"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_1","name":"weather","input":{}}}),
        json!({"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"city\":\"Oslo\"}"}}),
        json!({"type":"content_block_stop","index":2}),
        json!({"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":9}}),
        json!({"type":"message_stop"}),
    ])
}

#[tokio::test]
async fn anthropic_thinking_is_kept_with_its_signature_and_goes_back_unchanged() {
    let c = call("anthropic:claude-x");
    let (events, r) = stream(&c, thinking_then_tool_stream()).await;
    assert_eq!(r.reasoning_text(), "The user wants the weather.");
    let reasoning: Vec<_> = r.reasoning().collect();
    assert_eq!(reasoning.len(), 2);
    assert_eq!(reasoning[0].signature.as_deref(), Some("sig-A=="));
    assert_eq!(reasoning[1].redacted.as_deref(), Some("ENCRYPTED"));
    assert_eq!(r.tool_calls()[0].name, "weather", "undeclared, kept raw");
    assert_eq!(r.finish_reason(), FinishReason::ToolCalls);
    assert!(events.contains(&StreamEvent::Reasoning("The user wants ".into())));

    // The next turn sends the thinking back first, exactly as received.
    let mut convo = vec![Message::user("Weather in Oslo?"), r.to_message()];
    convo.push(Message::tool_result(&r.tool_calls()[0], "sunny", false));
    let body: Value =
        serde_json::from_slice(&c.preview(Prompt::from(convo.clone())).unwrap().body).unwrap();
    let blocks = &body["messages"][1]["content"];
    assert_eq!(
        blocks[0],
        json!({"type":"thinking","thinking":"The user wants the weather.","signature":"sig-A=="})
    );
    assert_eq!(
        blocks[1],
        json!({"type":"redacted_thinking","data":"ENCRYPTED"})
    );
    assert_eq!(blocks[2]["type"], "tool_use");
    assert_eq!(blocks[2]["input"], json!({"city": "Oslo"}));

    // Another provider cannot verify Anthropic's thinking: it is left out there.
    let body: Value = serde_json::from_slice(
        &call("openai:gpt-4o-mini")
            .preview(Prompt::from(convo))
            .unwrap()
            .body,
    )
    .unwrap();
    let assistant = &body["messages"][1];
    assert_eq!(assistant["role"], "assistant");
    assert!(!assistant.to_string().contains("sig-A=="), "{assistant}");
    assert_eq!(assistant["tool_calls"][0]["function"]["name"], "weather");
}

#[tokio::test]
async fn conversational_reinsertion_gives_the_thinking_back_with_the_failed_call() {
    #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
    #[allow(dead_code, reason = "only validated")]
    struct Weather {
        city: String,
        days: u8,
    }
    let c = call("anthropic:claude-x").tool(steadfast::Tool::of::<Weather>("weather", "w"));
    // A streamed call that fails its tool's schema keeps the thinking that came before it.
    {
        use futures_util::StreamExt;
        let mut s = c.decode_stream(thinking_then_tool_stream());
        let mut failure = None;
        while let Some(e) = s.next().await {
            if let Err(e) = e {
                failure = Some(e);
            }
        }
        let e = failure.expect("`days` is missing");
        let v = e.validation_failure().unwrap();
        assert_eq!(
            v.model_parts.len(),
            2,
            "the thinking and the redacted thinking"
        );
    }
    // The same through a whole response: `tools()` fails (no `days`) and keeps the thinking.
    let body = json!({
        "id":"msg_3","type":"message","role":"assistant","model":"claude-x",
        "content":[
            {"type":"thinking","thinking":"Plan.","signature":"sig-B"},
            {"type":"tool_use","id":"toolu_9","name":"weather","input":{"city":"Oslo"}}
        ],
        "stop_reason":"tool_use","usage":{"input_tokens":1,"output_tokens":2}
    });
    let r = c.decode_response(body.to_string().as_bytes()).unwrap();
    let e = r.tools().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Validation);
    let v = e.validation_failure().unwrap();
    assert_eq!(v.model_parts.len(), 1);
    assert_eq!(
        v.model_parts[0],
        Part::Reasoning(steadfast::Reasoning::new("anthropic", "Plan.").with_signature("sig-B"))
    );
}

#[test]
fn an_anthropic_answer_keeps_every_block_in_order() {
    let body = json!({
        "id":"msg_4","type":"message","role":"assistant","model":"claude-x",
        "content":[
            {"type":"thinking","thinking":"Hmm.","signature":"s1"},
            {"type":"text","text":"Looking. "},
            {"type":"server_tool_use","id":"srv_1","name":"code_execution","input":{"code":"1+1"}},
            {"type":"code_execution_tool_result","tool_use_id":"srv_1","content":{"type":"code_execution_result","stdout":"2"}},
            {"type":"a_block_from_the_future","payload":{"x":1}},
            {"type":"text","text":"It is 2.","citations":[{"type":"char_location","cited_text":"2","document_index":0,"start_char_index":0,"end_char_index":1,"document_title":"Doc"}]}
        ],
        "stop_reason":"pause_turn","usage":{"input_tokens":3,"output_tokens":4}
    });
    let r = call("anthropic:claude-x")
        .decode_response(body.to_string().as_bytes())
        .unwrap();
    assert_eq!(r.text(), "Looking. It is 2.");
    assert_eq!(r.finish_reason(), FinishReason::Paused);
    assert_eq!(r.raw_finish_reason(), Some("pause_turn"));
    assert_eq!(r.citations()[0].title.as_deref(), Some("Doc"));
    let parts = r.parts();
    let kinds: Vec<String> = parts
        .iter()
        .map(|p| match p {
            Part::Text { text } => format!("text:{text}"),
            Part::Reasoning(r) => format!("reasoning:{}", r.text),
            Part::Other(o) => format!("other:{}", o.kind),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "reasoning:Hmm.",
            "text:Looking. ",
            "other:server_tool_use",
            "other:code_execution_tool_result",
            "other:a_block_from_the_future",
            "text:It is 2.",
        ]
    );
    // To continue a paused turn the answer goes back as it came, blocks unchanged.
    let c = call("anthropic:claude-x");
    let body2: Value = serde_json::from_slice(
        &c.preview(Prompt::from(vec![Message::user("go"), r.to_message()]))
            .unwrap()
            .body,
    )
    .unwrap();
    let sent = &body2["messages"][1]["content"];
    assert_eq!(sent[2], body["content"][2]);
    assert_eq!(sent[3], body["content"][3]);
    assert_eq!(sent[4], body["content"][4]);
    assert_eq!(sent.as_array().unwrap().len(), 6);
}

#[tokio::test]
async fn unknown_finish_reasons_keep_the_providers_word() {
    let body = json!({"id":"m","model":"claude-x","content":[{"type":"text","text":"hi"}],"stop_reason":"a_new_reason"});
    let r = call("anthropic:claude-x")
        .decode_response(body.to_string().as_bytes())
        .unwrap();
    assert_eq!(
        r.finish_reason(),
        FinishReason::Other("a_new_reason".into())
    );
    assert_eq!(r.finish_reason().as_str(), "other");

    let body = sse(&[
        (None, json!({"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"hi"}}]})),
        (None, json!({"id":"c","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"novel_reason"}]})),
        (None, json!("[DONE]")),
    ])
    .replace("data: \"[DONE]\"", "data: [DONE]");
    let (_, r) = stream(&call("openai:gpt-4o-mini"), body).await;
    assert_eq!(
        r.finish_reason(),
        FinishReason::Other("novel_reason".into())
    );
}

fn openai_stream(chunks: &[Value]) -> String {
    let mut out = String::new();
    for c in chunks {
        out.push_str(&format!("data: {c}\n\n"));
    }
    out.push_str("data: [DONE]\n\n");
    out
}

#[tokio::test]
async fn openai_parallel_calls_of_undeclared_tools_are_kept_raw() {
    let body = openai_stream(&[
        json!({"id":"c1","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":""}}]}}]}),
        json!({"id":"c1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":\"Oslo\"}"}}]}}]}),
        json!({"id":"c1","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"get_time","arguments":"{\"tz\":"}}]}}]}),
        json!({"id":"c1","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"\"CET\"}"}}]}}]}),
        json!({"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}],"obfuscation":"xyz"}),
    ]);
    for target in [
        "openai:gpt-4o-mini",
        "groq:llama",
        "xai:grok",
        "mistral:mistral-small",
    ] {
        let (events, r) = stream(&call(target), body.clone()).await;
        let names: Vec<_> = r.tool_calls().iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["get_weather", "get_time"], "{target}");
        assert_eq!(r.tool_calls()[1].arguments, r#"{"tz":"CET"}"#, "{target}");
        assert_eq!(
            events
                .iter()
                .filter(|e| matches!(e, StreamEvent::ToolCall(_)))
                .count(),
            2,
            "{target}"
        );
        // Only a typed parse fails.
        assert_eq!(
            r.tools().unwrap_err().kind(),
            ErrorKind::Validation,
            "{target}"
        );
    }
}

#[tokio::test]
async fn openai_compatible_reasoning_refusals_and_annotations_are_kept() {
    let body = openai_stream(&[
        json!({"id":"c2","model":"deepseek-reasoner","choices":[{"index":0,"delta":{"role":"assistant","reasoning_content":"Think "}}]}),
        json!({"id":"c2","choices":[{"index":0,"delta":{"reasoning_content":"more."}}]}),
        json!({"id":"c2","choices":[{"index":0,"delta":{"reasoning":"Also this."}}]}),
        json!({"id":"c2","choices":[{"index":0,"delta":{"content":"Answer."}}]}),
        json!({"id":"c2","choices":[{"index":0,"delta":{"annotations":[{"type":"url_citation","url_citation":{"url":"https://example.com","title":"Ex","start_index":0,"end_index":6}}]}}]}),
        json!({"id":"c2","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":null}}),
    ]);
    let (_, r) = stream(&call("openai:gpt-4o-mini"), body).await;
    assert_eq!(r.reasoning_text(), "Think more.Also this.");
    assert_eq!(
        r.reasoning().count(),
        1,
        "one reasoning part before the text"
    );
    assert_eq!(r.reasoning().next().unwrap().provider, "openai");
    assert_eq!(r.text(), "Answer.");
    assert_eq!(r.citations()[0].url.as_deref(), Some("https://example.com"));
    assert_eq!(r.citations()[0].title.as_deref(), Some("Ex"));
    assert_eq!(r.usage().unwrap().input_tokens, 3);

    let refusal = openai_stream(&[
        json!({"id":"c3","choices":[{"index":0,"delta":{"refusal":"I can't "}}]}),
        json!({"id":"c3","choices":[{"index":0,"delta":{"refusal":"help."}}]}),
        json!({"id":"c3","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}),
    ]);
    let (_, r) = stream(&call("openai:gpt-4o-mini"), refusal).await;
    assert_eq!(r.refusal(), Some("I can't help."));
}

#[test]
fn openai_messages_keep_reasoning_custom_and_unknown_tool_calls() {
    let body = json!({
        "id":"c4","model":"m","object":"chat.completion",
        "choices":[{"index":0,"finish_reason":"tool_calls","message":{
            "role":"assistant","content":null,"reasoning_content":"Because.",
            "annotations":[{"type":"url_citation","url_citation":{"url":"https://a.example","title":"A"}}],
            "tool_calls":[
                {"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}},
                {"id":"call_2","type":"custom","custom":{"name":"grep","input":"fn main"}},
                {"id":"call_3","type":"a_future_kind","a_future_kind":{"x":1}}
            ]}}],
        "usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}
    });
    let r = call("openai:gpt-4o-mini")
        .decode_response(body.to_string().as_bytes())
        .unwrap();
    assert_eq!(r.reasoning_text(), "Because.");
    let calls: Vec<_> = r
        .tool_calls()
        .iter()
        .map(|c| (c.name.as_str(), c.arguments.as_str()))
        .collect();
    assert_eq!(calls, [("f", "{}"), ("grep", "fn main")]);
    let other = r.other_parts().next().unwrap();
    assert_eq!(other.kind, "a_future_kind");
    assert_eq!(other.raw["a_future_kind"]["x"], 1);
    assert_eq!(r.citations()[0].url.as_deref(), Some("https://a.example"));
}

#[tokio::test]
async fn mistral_thinking_and_unknown_chunks_are_kept() {
    let body = json!({
        "id":"m1","model":"magistral","object":"chat.completion",
        "choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":[
            {"type":"thinking","thinking":[{"type":"text","text":"Let me see."}]},
            {"type":"text","text":"Forty-two."},
            {"type":"novel_chunk","data":1}
        ]}}],
        "usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}
    });
    let r = call("mistral:magistral")
        .decode_response(body.to_string().as_bytes())
        .unwrap();
    assert_eq!(r.reasoning_text(), "Let me see.");
    assert_eq!(r.text(), "Forty-two.");
    assert_eq!(r.other_parts().next().unwrap().kind, "novel_chunk");

    let stream_body = openai_stream(&[
        json!({"id":"m2","model":"magistral","choices":[{"index":0,"delta":{"content":[{"type":"thinking","thinking":[{"type":"text","text":"Hmm"}]}]}}]}),
        json!({"id":"m2","choices":[{"index":0,"delta":{"content":"Yes."}}]}),
        json!({"id":"m2","choices":[{"index":0,"delta":{"content":""},"finish_reason":"a_new_one"}]}),
    ]);
    let (_, r) = stream(&call("mistral:magistral"), stream_body).await;
    assert_eq!(r.reasoning_text(), "Hmm");
    assert_eq!(r.text(), "Yes.");
    assert_eq!(r.finish_reason(), FinishReason::Other("a_new_one".into()));
}

#[tokio::test]
async fn cohere_thinking_citations_and_unknown_content_are_kept() {
    let events = [
        (
            "message-start",
            json!({"type":"message-start","id":"co1","delta":{"message":{"role":"assistant"}}}),
        ),
        (
            "content-start",
            json!({"type":"content-start","index":0,"delta":{"message":{"content":{"type":"thinking","thinking":""}}}}),
        ),
        (
            "content-delta",
            json!({"type":"content-delta","index":0,"delta":{"message":{"content":{"thinking":"Reason."}}}}),
        ),
        ("content-end", json!({"type":"content-end","index":0})),
        (
            "content-start",
            json!({"type":"content-start","index":1,"delta":{"message":{"content":{"type":"novel","text":"not the answer"}}}}),
        ),
        (
            "content-delta",
            json!({"type":"content-delta","index":1,"delta":{"message":{"content":{"text":"still not"}}}}),
        ),
        ("content-end", json!({"type":"content-end","index":1})),
        ("novel-event", json!({"type":"novel-event","x":1})),
        (
            "content-start",
            json!({"type":"content-start","index":2,"delta":{"message":{"content":{"type":"text","text":""}}}}),
        ),
        (
            "content-delta",
            json!({"type":"content-delta","index":2,"delta":{"message":{"content":{"text":"Done."}}}}),
        ),
        (
            "citation-start",
            json!({"type":"citation-start","index":0,"delta":{"message":{"citations":{"start":0,"end":4,"text":"Done","sources":[]}}}}),
        ),
        ("content-end", json!({"type":"content-end","index":2})),
        (
            "message-end",
            json!({"type":"message-end","delta":{"finish_reason":"COMPLETE","usage":{"tokens":{"input_tokens":1,"output_tokens":2}}}}),
        ),
    ];
    let body = sse(&events
        .iter()
        .map(|(n, d)| (Some(*n), d.clone()))
        .collect::<Vec<_>>());
    let (_, r) = stream(&call("cohere:command-a"), body).await;
    assert_eq!(r.text(), "Done.");
    assert_eq!(r.reasoning_text(), "Reason.");
    assert_eq!(r.other_parts().next().unwrap().kind, "novel");
    assert_eq!(r.citations()[0].cited_text.as_deref(), Some("Done"));
    assert_eq!(r.finish_reason(), FinishReason::Stop);
}
