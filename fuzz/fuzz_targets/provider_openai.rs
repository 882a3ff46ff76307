//! The OpenAI chat-completions decoders (`openai`, `groq`, `xai`, `litellm`, `azure`, `ollama`,
//! `vllm`: one decoder, chosen by name): whole answers and data-only SSE streams built from
//! chat-completion shapes with fuzzer-filled holes (see `grammar.rs`). Must never panic.
#![no_main]

mod grammar;

use grammar::{Grammar, Input, run};
use libfuzzer_sys::fuzz_target;

static GRAMMAR: Grammar = Grammar {
    providers: &[
        "openai", "groq", "xai", "litellm", "azure", "ollama", "vllm",
    ],
    keys: &[grammar::CHAT_COMPLETION_KEYS],
    strings: &[
        "assistant",
        "function",
        "custom",
        "stop",
        "length",
        "tool_calls",
        "content_filter",
        "function_call",
        "model_length",
        "chat.completion.chunk",
        "chat.completion",
        "server_error",
        "rate_limit_exceeded",
        "invalid_request_error",
        "[DONE]",
        "{",
        "}",
        "{\"a\":",
        "1}",
        "",
    ],
    events: &[
        (
            "",
            r#"{"id":"$S","object":"chat.completion.chunk","created":1,"model":"$S","choices":[{"index":"$I","delta":{"role":"assistant","content":"$S","refusal":null},"finish_reason":null}]}"#,
        ),
        (
            "",
            r#"{"id":"c","choices":[{"index":0,"delta":{"content":"$S"},"finish_reason":"$J"}],"usage":"$J"}"#,
        ),
        (
            "",
            r#"{"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":"$I","id":"$S","type":"$S","function":{"name":"$S","arguments":"$S"}}]},"finish_reason":null}]}"#,
        ),
        (
            "",
            r#"{"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":"$I","function":{"arguments":"$S"}},{"index":"$I","$S":"$J"}]}}]}"#,
        ),
        (
            "",
            r#"{"id":"c","choices":[{"index":0,"delta":{"refusal":"$S"}}]}"#,
        ),
        (
            "",
            r#"{"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"$S"}]}"#,
        ),
        (
            "",
            r#"{"id":"c","choices":[],"usage":{"prompt_tokens":"$N","completion_tokens":"$N","total_tokens":"$N"}}"#,
        ),
        (
            "",
            r#"{"id":"c","choices":[],"x_groq":{"usage":{"prompt_tokens":"$N","completion_tokens":"$N"}}}"#,
        ),
        (
            "",
            r#"{"error":{"message":"$S","type":"$S","param":null,"code":"$J"}}"#,
        ),
        ("", r#"{"choices":"$J","usage":"$J","error":"$J"}"#),
    ],
    bodies: &[
        r#"{"id":"$S","object":"chat.completion","model":"$S","choices":[{"index":"$I","message":{"role":"assistant","content":"$S","refusal":"$J","tool_calls":[{"id":"$S","type":"function","function":{"name":"$S","arguments":"$S"}},{"id":"$S","type":"$S","$S":"$J"}]},"finish_reason":"$S"}],"usage":{"prompt_tokens":"$N","completion_tokens":"$N"}}"#,
        r#"{"choices":[{"index":0,"message":"$J","finish_reason":"$J"}],"usage":"$J"}"#,
        r#"{"error":{"message":"$S","type":"$S","code":"$J"}}"#,
    ],
    named_events: false,
    eventstream: false,
};

fuzz_target!(|input: Input| run(&GRAMMAR, &input));
