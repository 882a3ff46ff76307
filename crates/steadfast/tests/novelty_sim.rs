//! The simulator's `novelty` fault — unknown fields at every level, unknown stream events, unknown
//! content blocks with their own deltas — never changes what a call returns, for every provider,
//! streaming and not: the same text, tool calls, usage and finish reason as the plain answer, and
//! the unknown blocks kept as other parts.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use common::{TARGETS, Target, call, sim};
use futures_util::StreamExt;
use steadfast::{FinishReason, Response, Tool, Usage};
use steadfast_sim::{Action, Rule, Scenario};

/// What must not change.
#[derive(Debug, PartialEq)]
struct Seen {
    text: String,
    calls: Vec<(String, String)>,
    usage: Option<Usage>,
    finish: FinishReason,
}

fn seen(r: &Response) -> Seen {
    Seen {
        text: r.text().to_string(),
        calls: r
            .tool_calls()
            .iter()
            .map(|c| (c.name.clone(), c.arguments.clone()))
            .collect(),
        usage: r.usage(),
        finish: r.finish_reason(),
    }
}

async fn answer(t: &Target, action: Action, stream: bool) -> Response {
    let sim = sim(Scenario::new().rule(Rule::new().provider(t.sim).action(action))).await;
    let c = call(t, &sim)
        .tool(Tool::from_schema("get_weather", "", serde_json::json!({"type":"object"})).unwrap());
    if stream {
        let mut s = c.stream("one two three");
        while let Some(e) = s.next().await {
            e.unwrap_or_else(|e| panic!("{} stream: {e}", t.name));
        }
        s.into_response().await.unwrap()
    } else {
        c.send("one two three")
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", t.name))
    }
}

#[tokio::test]
async fn novelty_answers_decode_to_the_plain_answer() {
    let actions = [
        ("text", Action::model()),
        (
            "tools",
            Action::tool_call("get_weather", r#"{"city":"Oslo"}"#)
                .and_tool_call("get_weather", r#"{"city":"Bergen"}"#),
        ),
    ];
    for t in TARGETS {
        for (what, action) in &actions {
            for stream in [false, true] {
                let plain = answer(t, action.clone(), stream).await;
                let novel = answer(t, action.clone().novelty(), stream).await;
                assert_eq!(
                    seen(&novel),
                    seen(&plain),
                    "{} {what} stream={stream}",
                    t.name
                );
                assert!(
                    plain.other_parts().next().is_none(),
                    "{} {what} stream={stream}: the plain answer has no other part",
                    t.name
                );
                // Providers with content blocks keep the unknown ones.
                let blocks = novel.other_parts().count();
                if matches!(t.name, "anthropic" | "gemini" | "bedrock" | "cohere") {
                    assert!(
                        blocks > 0,
                        "{} {what} stream={stream}: unknown blocks are kept",
                        t.name
                    );
                    assert!(
                        novel.other_parts().all(|o| o.provider == t.name
                            && o.kind.to_ascii_lowercase().contains("novelty")),
                        "{} {what} stream={stream}: {:?}",
                        t.name,
                        novel.other_parts().collect::<Vec<_>>()
                    );
                }
            }
        }
    }
}
