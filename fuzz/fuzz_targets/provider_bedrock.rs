//! The Bedrock Converse / ConverseStream decoder: whole answers and AWS eventstream frames (valid
//! lengths and CRCs) of every event type — and exception / error frames — whose JSON payloads
//! are Converse shapes with fuzzer-filled holes (see `grammar.rs`). Must never panic.
#![no_main]

mod grammar;

use grammar::{Grammar, Input, run};
use libfuzzer_sys::fuzz_target;

static GRAMMAR: Grammar = Grammar {
    providers: &["bedrock"],
    keys: &[&[
        "role",
        "contentBlockIndex",
        "start",
        "delta",
        "toolUse",
        "toolUseId",
        "name",
        "input",
        "text",
        "reasoningContent",
        "reasoningText",
        "signature",
        "redactedContent",
        "citation",
        "citationsContent",
        "stopReason",
        "additionalModelResponseFields",
        "usage",
        "inputTokens",
        "outputTokens",
        "totalTokens",
        "cacheReadInputTokens",
        "metrics",
        "latencyMs",
        "trace",
        "output",
        "message",
        "content",
        "p",
        "guardContent",
        "toolResult",
        "image",
    ]],
    strings: &[
        "messageStart",
        "contentBlockStart",
        "contentBlockDelta",
        "contentBlockStop",
        "messageStop",
        "metadata",
        "throttlingException",
        "validationException",
        "modelStreamErrorException",
        "internalServerException",
        "serviceUnavailableException",
        "assistant",
        "end_turn",
        "tool_use",
        "max_tokens",
        "stop_sequence",
        "guardrail_intervened",
        "content_filtered",
        "model_context_window_exceeded",
        "{",
        "}",
        "",
    ],
    events: &[
        ("messageStart", r#"{"role":"$S","p":"abc"}"#),
        (
            "contentBlockStart",
            r#"{"contentBlockIndex":"$I","start":{"toolUse":{"toolUseId":"$S","name":"$S"}},"p":"abc"}"#,
        ),
        (
            "contentBlockStart",
            r#"{"contentBlockIndex":"$I","start":{"$S":"$J"}}"#,
        ),
        (
            "contentBlockDelta",
            r#"{"contentBlockIndex":"$I","delta":{"text":"$S"},"p":"abc"}"#,
        ),
        (
            "contentBlockDelta",
            r#"{"contentBlockIndex":"$I","delta":{"toolUse":{"input":"$S"}}}"#,
        ),
        (
            "contentBlockDelta",
            r#"{"contentBlockIndex":"$I","delta":{"reasoningContent":{"text":"$S","signature":"$S","redactedContent":"$J"}}}"#,
        ),
        (
            "contentBlockDelta",
            r#"{"contentBlockIndex":"$I","delta":{"citation":"$J","$S":"$J"}}"#,
        ),
        (
            "contentBlockStop",
            r#"{"contentBlockIndex":"$I","p":"abc"}"#,
        ),
        (
            "messageStop",
            r#"{"stopReason":"$S","additionalModelResponseFields":"$J"}"#,
        ),
        (
            "metadata",
            r#"{"usage":{"inputTokens":"$N","outputTokens":"$N","totalTokens":"$N"},"metrics":{"latencyMs":"$N"},"trace":"$J"}"#,
        ),
        ("throttlingException", r#"{"message":"$S"}"#),
    ],
    bodies: &[
        r#"{"output":{"message":{"role":"assistant","content":[{"text":"$S"},{"toolUse":{"toolUseId":"$S","name":"$S","input":"$J"}},{"reasoningContent":{"reasoningText":{"text":"$S","signature":"$S"}}},{"$S":"$J"}]}},"stopReason":"$S","usage":{"inputTokens":"$N","outputTokens":"$N","totalTokens":"$N"},"metrics":{"latencyMs":"$N"}}"#,
        r#"{"output":"$J","stopReason":"$J","usage":"$J"}"#,
        r#"{"message":"$S","__type":"$S"}"#,
    ],
    named_events: false,
    eventstream: true,
};

fuzz_target!(|input: Input| run(&GRAMMAR, &input));
