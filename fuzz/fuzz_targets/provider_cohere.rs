//! The Cohere v2 chat decoder: whole answers and named-event SSE streams (`message-start`,
//! `content-*`, `tool-plan-delta`, `tool-call-*`, `citation-*`, `message-end`, …) with
//! fuzzer-filled holes (see `grammar.rs`). Must never panic.
#![no_main]

mod grammar;

use grammar::{Grammar, Input, run};
use libfuzzer_sys::fuzz_target;

static GRAMMAR: Grammar = Grammar {
    providers: &["cohere"],
    keys: &[&[
        "id",
        "type",
        "index",
        "delta",
        "message",
        "role",
        "content",
        "text",
        "thinking",
        "tool_plan",
        "tool_calls",
        "function",
        "name",
        "arguments",
        "citations",
        "start",
        "end",
        "sources",
        "finish_reason",
        "usage",
        "billed_units",
        "tokens",
        "input_tokens",
        "output_tokens",
        "error",
        "logprobs",
    ]],
    strings: &[
        "message-start",
        "content-start",
        "content-delta",
        "content-end",
        "tool-plan-delta",
        "tool-call-start",
        "tool-call-delta",
        "tool-call-end",
        "citation-start",
        "citation-end",
        "message-end",
        "debug",
        "text",
        "thinking",
        "function",
        "assistant",
        "COMPLETE",
        "STOP_SEQUENCE",
        "MAX_TOKENS",
        "TOOL_CALL",
        "ERROR",
        "TIMEOUT",
        "{",
        "}",
        "",
    ],
    events: &[
        (
            "",
            r#"{"id":"$S","type":"message-start","delta":{"message":{"role":"assistant","content":"$J"}}}"#,
        ),
        (
            "",
            r#"{"type":"content-start","index":"$I","delta":{"message":{"content":{"type":"$S","text":"$S","thinking":"$S"}}}}"#,
        ),
        (
            "",
            r#"{"type":"content-delta","index":"$I","delta":{"message":{"content":{"text":"$S","$S":"$J"}}}}"#,
        ),
        ("", r#"{"type":"content-end","index":"$I"}"#),
        (
            "",
            r#"{"type":"tool-plan-delta","delta":{"message":{"tool_plan":"$S"}}}"#,
        ),
        (
            "",
            r#"{"type":"tool-call-start","index":"$I","delta":{"message":{"tool_calls":{"id":"$S","type":"$S","function":{"name":"$S","arguments":"$J"}}}}}"#,
        ),
        (
            "",
            r#"{"type":"tool-call-delta","index":"$J","delta":{"message":{"tool_calls":{"function":{"arguments":"$J"}}}}}"#,
        ),
        ("", r#"{"type":"tool-call-end","index":"$J"}"#),
        (
            "",
            r#"{"type":"citation-start","index":"$I","delta":{"message":{"citations":{"start":"$N","end":"$N","text":"$S","sources":"$J"}}}}"#,
        ),
        (
            "",
            r#"{"type":"message-end","delta":{"finish_reason":"$S","error":"$J","usage":{"billed_units":{"input_tokens":"$J","output_tokens":"$J"},"tokens":{"input_tokens":"$J","output_tokens":"$J"}}}}"#,
        ),
        ("", r#"{"type":"$S","index":"$J","delta":"$J"}"#),
    ],
    bodies: &[
        r#"{"id":"$S","finish_reason":"$S","message":{"role":"assistant","content":[{"type":"text","text":"$S"},{"type":"$S","$S":"$J"}],"tool_plan":"$S","tool_calls":[{"id":"$S","type":"function","function":{"name":"$S","arguments":"$J"}}],"citations":"$J"},"usage":{"billed_units":{"input_tokens":"$J","output_tokens":"$J"},"tokens":{"input_tokens":"$J","output_tokens":"$J"}}}"#,
        r#"{"finish_reason":"$J","message":"$J","usage":"$J"}"#,
    ],
    named_events: true,
    eventstream: false,
};

fuzz_target!(|input: Input| run(&GRAMMAR, &input));
