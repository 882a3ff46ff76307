//! Keys and prompt content never reach the logs. Alone in its test binary: the subscriber is the
//! thread's default, and `tracing` caches each call site's interest process-wide.

mod support;

use std::sync::{Arc, Mutex};

use serde_json::json;
use steadfast_gateway::InboundKeys;
use steadfast_sim::Scenario;
use support::{KEY, chat, rig};

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn keys_and_content_never_reach_the_logs() {
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let rig = rig(Scenario::new(), InboundKeys::any()).await;
    assert_eq!(rig.openai(chat("openai:gpt-4o-mini")).await.status(), 200);
    let mut req = chat("anthropic:claude-3-5-sonnet-latest");
    req["max_tokens"] = json!(10);
    req["stream"] = json!(true);
    let r = rig.anthropic(req).await;
    assert_eq!(r.status(), 200);
    let _ = r.text().await;
    let log = String::from_utf8(buf.0.lock().expect("lock").clone()).expect("utf8");
    assert!(log.contains("steadfast_gateway::access"), "{log}");
    assert!(
        log.contains("upstream=\"anthropic:claude-3-5-sonnet-latest\""),
        "{log}"
    );
    assert!(!log.contains(KEY));
    assert!(!log.contains("sim-key"));
    assert!(!log.contains("hello there"));
}
