//! The Mistral decoder (OpenAI-shaped; `content` a string or chunks, `arguments` a string or an
//! object, `{"object":"error"}` in-band errors): whole answers and data-only SSE streams with
//! fuzzer-filled holes (see `grammar.rs`). Must never panic.
#![no_main]

mod grammar;

use grammar::{Grammar, Input, run};
use libfuzzer_sys::fuzz_target;

static GRAMMAR: Grammar = Grammar {
    providers: &["mistral"],
    keys: &[
        grammar::CHAT_COMPLETION_KEYS,
        &["text", "thinking", "detail", "reference_ids"],
    ],
    strings: &[
        "assistant",
        "function",
        "stop",
        "length",
        "model_length",
        "tool_calls",
        "error",
        "text",
        "thinking",
        "reference",
        "image_url",
        "chat.completion.chunk",
        "chat.completion",
        "service_unavailable",
        "{",
        "}",
        "",
    ],
    events: &[
        (
            "",
            r#"{"id":"$S","object":"chat.completion.chunk","model":"$S","choices":[{"index":"$I","delta":{"role":"assistant","content":"$J"},"finish_reason":null}]}"#,
        ),
        (
            "",
            r#"{"id":"c","choices":[{"index":0,"delta":{"content":[{"type":"$S","text":"$S"},{"type":"$S","thinking":"$J"}]}}]}"#,
        ),
        (
            "",
            r#"{"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"id":"$S","index":"$I","type":"$S","function":{"name":"$S","arguments":"$J"}}]}}]}"#,
        ),
        (
            "",
            r#"{"id":"c","choices":[{"index":0,"delta":{"content":""},"finish_reason":"$S"}],"usage":{"prompt_tokens":"$N","completion_tokens":"$N","total_tokens":"$N"}}"#,
        ),
        (
            "",
            r#"{"object":"error","message":"$S","type":"$S","param":null,"code":"$J"}"#,
        ),
        ("", r#"{"choices":"$J","usage":"$J"}"#),
    ],
    bodies: &[
        r#"{"id":"$S","object":"chat.completion","model":"$S","choices":[{"index":"$I","message":{"role":"assistant","content":"$J","tool_calls":[{"id":"$S","type":"$S","function":{"name":"$S","arguments":"$J"}}]},"finish_reason":"$S"}],"usage":{"prompt_tokens":"$N","completion_tokens":"$N"}}"#,
        r#"{"object":"error","message":"$J","type":"$S","code":"$J"}"#,
    ],
    named_events: false,
    eventstream: false,
};

fuzz_target!(|input: Input| run(&GRAMMAR, &input));
