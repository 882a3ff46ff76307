//! The Gemini decoder: `generateContent` answers and `streamGenerateContent?alt=sse` streams of
//! `GenerateContentResponse` chunks (parts of every kind, finish reasons, usage, prompt
//! feedback, bare `{"error"}` lines) with fuzzer-filled holes (see `grammar.rs`). Must never
//! panic.
#![no_main]

mod grammar;

use grammar::{Grammar, Input, run};
use libfuzzer_sys::fuzz_target;

static GRAMMAR: Grammar = Grammar {
    providers: &["gemini"],
    keys: &[&[
        "candidates",
        "content",
        "parts",
        "role",
        "text",
        "thought",
        "thoughtSignature",
        "functionCall",
        "name",
        "args",
        "id",
        "executableCode",
        "codeExecutionResult",
        "inlineData",
        "mimeType",
        "data",
        "finishReason",
        "finishMessage",
        "index",
        "safetyRatings",
        "citationMetadata",
        "citations",
        "startIndex",
        "endIndex",
        "uri",
        "groundingMetadata",
        "urlContextMetadata",
        "usageMetadata",
        "promptTokenCount",
        "candidatesTokenCount",
        "totalTokenCount",
        "thoughtsTokenCount",
        "toolUsePromptTokenCount",
        "modelVersion",
        "responseId",
        "promptFeedback",
        "blockReason",
        "blockReasonMessage",
        "error",
        "code",
        "message",
        "status",
        "details",
    ]],
    strings: &[
        "model",
        "STOP",
        "MAX_TOKENS",
        "SAFETY",
        "RECITATION",
        "LANGUAGE",
        "OTHER",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "MALFORMED_FUNCTION_CALL",
        "IMAGE_SAFETY",
        "UNEXPECTED_TOOL_CALL",
        "FINISH_REASON_UNSPECIFIED",
        "BLOCKED_REASON_UNSPECIFIED",
        "PYTHON",
        "OUTCOME_OK",
        "INVALID_ARGUMENT",
        "RESOURCE_EXHAUSTED",
        "UNAVAILABLE",
        "CANCELLED",
        "text/plain",
        "{",
        "}",
        "",
    ],
    events: &[
        (
            "",
            r#"{"candidates":[{"content":{"role":"model","parts":[{"text":"$S"}]},"index":"$I"}],"usageMetadata":{"promptTokenCount":"$N","totalTokenCount":"$N"},"modelVersion":"$S","responseId":"$S"}"#,
        ),
        (
            "",
            r#"{"candidates":[{"content":{"role":"model","parts":[{"text":"$S","thought":"$B","thoughtSignature":"$J"},{"functionCall":{"name":"$S","args":"$J","id":"$J"},"thoughtSignature":"$S"}]},"finishReason":"$J"}]}"#,
        ),
        (
            "",
            r#"{"candidates":[{"content":{"parts":[{"executableCode":{"language":"$S","code":"$S"}},{"codeExecutionResult":{"outcome":"$S","output":"$S"}},{"inlineData":{"mimeType":"$S","data":"$S"}},{"$S":"$J"}]}}]}"#,
        ),
        (
            "",
            r#"{"candidates":[{"content":{"role":"model","parts":"$J"},"finishReason":"$S","finishMessage":"$S","citationMetadata":{"citations":[{"startIndex":"$N","endIndex":"$N","uri":"$S"}]},"groundingMetadata":"$J"}],"usageMetadata":{"promptTokenCount":"$N","candidatesTokenCount":"$N","thoughtsTokenCount":"$N","toolUsePromptTokenCount":"$N","totalTokenCount":"$N"}}"#,
        ),
        (
            "",
            r#"{"promptFeedback":{"blockReason":"$S","blockReasonMessage":"$S"},"usageMetadata":"$J"}"#,
        ),
        (
            "",
            r#"{"error":{"code":"$N","message":"$S","status":"$S","details":"$J"}}"#,
        ),
        (
            "",
            r#"{"candidates":"$J","usageMetadata":"$J","responseId":"$J"}"#,
        ),
    ],
    bodies: &[
        r#"{"candidates":[{"content":{"role":"model","parts":[{"text":"$S"},{"text":"$S","thought":"$B"},{"functionCall":{"name":"$S","args":"$J"},"thoughtSignature":"$S"},{"$S":"$J"}]},"finishReason":"$S","index":"$I","citationMetadata":"$J","groundingMetadata":"$J"}],"usageMetadata":{"promptTokenCount":"$N","candidatesTokenCount":"$N","totalTokenCount":"$N"},"modelVersion":"$S","responseId":"$S"}"#,
        r#"{"promptFeedback":{"blockReason":"$S"},"candidates":"$J"}"#,
        r#"{"error":{"code":"$N","message":"$S","status":"$S","details":"$J"}}"#,
    ],
    named_events: false,
    eventstream: false,
};

fuzz_target!(|input: Input| run(&GRAMMAR, &input));
