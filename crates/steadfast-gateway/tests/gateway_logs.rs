//! Keys and prompt content never reach the logs (content logging is off by default). Alone in its test binary: the subscriber is the
//! thread's default, and `tracing` caches each call site's interest process-wide.

mod support;

use serde_json::json;
use steadfast_gateway::InboundKeys;
use steadfast_sim::Scenario;
use support::{KEY, Logs, chat, rig};

#[tokio::test]
async fn keys_and_content_never_reach_the_logs() {
    let (logs, _guard) = Logs::capture();
    let rig = rig(Scenario::new(), InboundKeys::any()).await;
    assert_eq!(rig.openai(chat("openai:gpt-4o-mini")).await.status(), 200);
    let mut req = chat("anthropic:claude-3-5-sonnet-latest");
    req["max_tokens"] = json!(10);
    req["stream"] = json!(true);
    let r = rig.anthropic(req).await;
    assert_eq!(r.status(), 200);
    let _ = r.text().await;
    let log = logs.text();
    assert!(log.contains("steadfast_gateway::access"), "{log}");
    assert!(
        log.contains("upstream=\"anthropic:claude-3-5-sonnet-latest\""),
        "{log}"
    );
    assert!(!log.contains(KEY));
    assert!(!log.contains("sim-key"));
    assert!(!log.contains("hello there"));
    assert!(!log.contains("Echo:"), "no answer either: {log}");
    assert!(!log.contains("gen_ai.input.messages"), "{log}");
    assert!(!log.contains("gen_ai.output.messages"), "{log}");
}
