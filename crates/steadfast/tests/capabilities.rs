//! The README's capability table is the code's: every registered provider, every column. And what a
//! provider says it cannot do is refused before anything is sent.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use common::{TARGETS, call, sim};
use steadfast::{ErrorKind, llm};
use steadfast_sim::Scenario;

fn readme_table() -> Vec<Vec<String>> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let start = readme
        .find("<!-- capabilities:start -->")
        .expect("start marker");
    let end = readme
        .find("<!-- capabilities:end -->")
        .expect("end marker");
    readme[start..end]
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().trim_matches('`').to_string())
                .collect()
        })
        .collect()
}

#[test]
fn the_readme_table_matches_the_registry() {
    let rows = readme_table();
    let names: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        names,
        llm::names(),
        "one row per registered provider, sorted"
    );
    let yes = |b: bool| if b { "yes" } else { "no" };
    for row in &rows {
        let c = llm::provider(&row[0]).unwrap().capabilities();
        let expected = [
            c.tools,
            c.streaming_tools,
            c.json_schema_output,
            c.images,
            c.seed,
            c.penalties,
        ]
        .map(yes);
        assert_eq!(&row[1..], expected.as_slice(), "README row for {}", row[0]);
    }
}

#[tokio::test]
async fn what_a_provider_cannot_do_is_refused_before_sending() {
    let sim = sim(Scenario::new()).await;
    for t in TARGETS {
        let caps = llm::provider(t.name).unwrap().capabilities();
        if !caps.seed {
            let e = call(t, &sim).seed(7).send("hi").await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Unsupported, "{}: {e}", t.name);
        }
        if !caps.penalties {
            let e = call(t, &sim)
                .presence_penalty(0.5)
                .send("hi")
                .await
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Unsupported, "{}: {e}", t.name);
        }
    }
    assert!(sim.journal().is_empty(), "nothing was sent");
}
