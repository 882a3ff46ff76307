//! The Azure AI Inference decoder (the OpenAI shape, with Azure's in-band error objects): whole
//! answers and data-only SSE streams with fuzzer-filled holes (see `grammar.rs`). Must never
//! panic.
#![no_main]

mod grammar;

use grammar::{Grammar, Input, run};
use libfuzzer_sys::fuzz_target;

static GRAMMAR: Grammar = Grammar {
    providers: &["azure-inference"],
    keys: &[
        grammar::CHAT_COMPLETION_KEYS,
        &["innererror", "status", "details"],
    ],
    strings: &[
        "assistant",
        "function",
        "stop",
        "length",
        "tool_calls",
        "content_filter",
        "chat.completion.chunk",
        "chat.completion",
        "Throttling",
        "ModelNotFound",
        "content_filter",
        "Unauthorized",
        "InternalServerError",
        "{",
        "}",
        "",
    ],
    events: &[
        (
            "",
            r#"{"id":"$S","object":"chat.completion.chunk","model":"$S","choices":[{"index":"$I","delta":{"role":"assistant","content":"$S"},"finish_reason":null}]}"#,
        ),
        (
            "",
            r#"{"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":"$I","id":"$S","type":"$S","function":{"name":"$S","arguments":"$S"}}]}}]}"#,
        ),
        (
            "",
            r#"{"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"$S"}],"usage":{"prompt_tokens":"$N","completion_tokens":"$N"}}"#,
        ),
        (
            "",
            r#"{"error":{"code":"$S","message":"$S","status":"$J","innererror":"$J","details":"$J"}}"#,
        ),
        ("", r#"{"choices":"$J","error":"$J"}"#),
    ],
    bodies: &[
        r#"{"id":"$S","object":"chat.completion","model":"$S","choices":[{"index":"$I","message":{"role":"assistant","content":"$S","tool_calls":[{"id":"$S","type":"$S","function":{"name":"$S","arguments":"$S"}}]},"finish_reason":"$S"}],"usage":{"prompt_tokens":"$N","completion_tokens":"$N"}}"#,
        r#"{"error":{"code":"$S","message":"$S","innererror":"$J"}}"#,
    ],
    named_events: false,
    eventstream: false,
};

fuzz_target!(|input: Input| run(&GRAMMAR, &input));
