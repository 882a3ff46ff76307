//! Forward compatibility (issue 12): nothing a provider adds to an answer breaks a call.
//!
//! Every recorded success answer in `../shared/fixtures/` and every simulator answer (each
//! dialect; text, one and parallel tool calls, structured output, a refusal where the dialect has
//! one; streamed and not) is decoded through the public API — `Call::decode_response` and
//! `Call::decode_stream(..).into_response()` — unchanged and mutated (see
//! `forward_compat_support/mutate.rs`):
//!
//! - (a) an unknown field in a JSON object, at every object position;
//! - (b) an unknown event between every two events;
//! - (c) an unknown content block before, between and after the known ones, with its own deltas
//!   when streamed;
//! - (d) an unknown finish / stop reason.
//!
//! The mutant must decode without error to the same text, refusal, tool calls (id, name,
//! arguments), usage and finish reason as the unchanged answer — in (d) the finish reason is
//! `FinishReason::Other(<the word>)` with the word as the raw reason (for every provider, also
//! where the reason is otherwise derived, as Gemini's `STOP` with calls = `ToolCalls`; the refusal
//! is not compared in (d), since Anthropic derives it from the stop reason) — and in (c) the
//! added block must be among the response's `other_parts()` for the protocols that have content
//! blocks (Anthropic, Gemini, Bedrock, Cohere). Failures are collected and reported together,
//! per provider and mutation, with one example each.

#![cfg(all(
    feature = "openai",
    feature = "anthropic",
    feature = "gemini",
    feature = "mistral",
    feature = "cohere",
    feature = "azure-inference",
    feature = "bedrock"
))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod forward_compat_support;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Instant;

use bytes::Bytes;
use forward_compat_support::mutate::{Kind, MARKER, Mutant, mutants};
use forward_compat_support::{Input, fixtures, simulator_answers};
use steadfast::{Call, FinishReason, Response, llm};

/// What a decoded answer says, as far as this test compares it.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    text: String,
    refusal: Option<String>,
    /// (id, name, arguments)
    calls: Vec<(String, String, String)>,
    usage: Option<(u64, u64)>,
    finish: FinishReason,
    raw_finish: Option<String>,
    /// Whether a `Part::Other` holds [`MARKER`].
    kept_marker: bool,
}

impl Seen {
    fn of(r: &Response) -> Seen {
        Seen {
            text: r.text().to_string(),
            refusal: r.refusal().map(str::to_string),
            calls: r
                .tool_calls()
                .iter()
                .map(|c| (c.id.clone(), c.name.clone(), c.arguments.clone()))
                .collect(),
            usage: r.usage().map(|u| (u.input_tokens, u.output_tokens)),
            finish: r.finish_reason(),
            raw_finish: r.raw_finish_reason().map(str::to_string),
            kept_marker: r.other_parts().any(|p| p.raw.to_string().contains(MARKER)),
        }
    }
}

fn call_for(input: &Input) -> Call {
    llm::call((input.provider, input.model))
        .unwrap()
        .base_url("http://127.0.0.1:9")
        .api_key("sk-forward-compat-0123456789")
}

async fn decode(call: &Call, bytes: Bytes, stream: bool) -> Result<Seen, String> {
    let response = if stream {
        call.decode_stream(bytes).into_response().await
    } else {
        call.decode_response(&bytes)
    };
    response.as_ref().map(Seen::of).map_err(|e| {
        let mut text = format!("{:?}: {e}", e.kind());
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            let _ = write!(text, ": {s}");
            source = s.source();
        }
        text
    })
}

fn short(s: &str) -> String {
    const MAX: usize = 160;
    if s.chars().count() <= MAX {
        format!("{s:?}")
    } else {
        let head: String = s.chars().take(MAX).collect();
        format!("{head:?}… ({} chars)", s.chars().count())
    }
}

/// The differences between the expected and the decoded answer.
fn differences(expected: &Seen, got: &Seen, compare_refusal: bool) -> Vec<String> {
    let mut out = Vec::new();
    if got.text != expected.text {
        out.push(format!(
            "text: expected {}, got {}",
            short(&expected.text),
            short(&got.text)
        ));
    }
    if compare_refusal && got.refusal != expected.refusal {
        out.push(format!(
            "refusal: expected {:?}, got {:?}",
            expected.refusal, got.refusal
        ));
    }
    if got.calls != expected.calls {
        out.push(format!(
            "tool calls (id, name, arguments): expected {:?}, got {:?}",
            expected.calls, got.calls
        ));
    }
    if got.usage != expected.usage {
        out.push(format!(
            "usage: expected {:?}, got {:?}",
            expected.usage, got.usage
        ));
    }
    if got.finish != expected.finish || got.raw_finish != expected.raw_finish {
        out.push(format!(
            "finish: expected {:?} (raw {:?}), got {:?} (raw {:?})",
            expected.finish, expected.raw_finish, got.finish, got.raw_finish
        ));
    }
    out
}

#[derive(Debug)]
struct Failure {
    input: String,
    position: String,
    detail: String,
}

/// Cases and failures per (provider, check).
#[derive(Debug, Default)]
struct Report {
    cases: BTreeMap<(String, String), usize>,
    failures: BTreeMap<(String, String), Vec<Failure>>,
    notes: Vec<String>,
}

impl Report {
    fn case(&mut self, provider: &str, check: &str) {
        *self
            .cases
            .entry((provider.into(), check.into()))
            .or_default() += 1;
    }

    fn fail(&mut self, provider: &str, check: &str, input: &Input, m: &Mutant, detail: String) {
        self.failures
            .entry((provider.into(), check.into()))
            .or_default()
            .push(Failure {
                input: input.name.clone(),
                position: m.position.clone(),
                detail,
            });
    }

    fn render(&self, title: &str) -> String {
        let mut s = format!("\n==== {title} ====\n");
        for n in &self.notes {
            let _ = writeln!(s, "note: {n}");
        }
        let total: usize = self.cases.values().sum();
        let failed: usize = self.failures.values().map(Vec::len).sum();
        let _ = writeln!(s, "{failed} of {total} cases fail\n");
        let _ = writeln!(
            s,
            "{:<16} {:<22} {:>6} {:>6}",
            "provider", "check", "fail", "cases"
        );
        for ((provider, check), cases) in &self.cases {
            let fails = self
                .failures
                .get(&(provider.clone(), check.clone()))
                .map_or(0, Vec::len);
            let _ = writeln!(s, "{provider:<16} {check:<22} {fails:>6} {cases:>6}");
        }
        for ((provider, check), failures) in &self.failures {
            let mut inputs: Vec<&str> = failures.iter().map(|f| f.input.as_str()).collect();
            inputs.dedup();
            let f = &failures[0];
            let _ = writeln!(
                s,
                "\n-- {provider} / {check}: {} failing case(s) in {} input(s)\n   example: {}\n   mutation: {}\n   {}",
                failures.len(),
                inputs.len(),
                f.input,
                f.position,
                f.detail
            );
            let mut other: Vec<&str> = Vec::new();
            for g in failures {
                if g.detail != f.detail && !other.contains(&g.detail.as_str()) && other.len() < 3 {
                    other.push(&g.detail);
                }
            }
            for o in other {
                let _ = writeln!(s, "   also: {o}");
            }
        }
        s
    }
}

/// Decodes every mutant of every input and checks it against the unchanged input's decode.
async fn run(inputs: &[Input], report: &mut Report) {
    for input in inputs {
        let call = call_for(input);
        let stream = input.body.is_stream();
        let baseline = match decode(&call, input.bytes.clone(), stream).await {
            Ok(seen) => seen,
            Err(e) => {
                report.notes.push(format!(
                    "{}: left out, the unchanged answer does not decode ({e})",
                    input.name
                ));
                continue;
            }
        };
        for m in mutants(input) {
            let check = m.kind.label();
            report.case(input.provider, check);
            let got = match decode(&call, m.body.to_bytes(), stream).await {
                Ok(got) => got,
                Err(e) => {
                    report.fail(input.provider, check, input, &m, format!("error: {e}"));
                    continue;
                }
            };
            let mut expected = baseline.clone();
            if let Some(word) = &m.finish_word {
                expected.finish = FinishReason::Other(word.clone());
                expected.raw_finish = Some(word.clone());
            }
            let diffs = differences(&expected, &got, m.kind != Kind::UnknownFinish);
            if !diffs.is_empty() {
                report.fail(input.provider, check, input, &m, diffs.join("; "));
            }
            if m.expect_kept {
                let kept = "(c) block kept as Other";
                report.case(input.provider, kept);
                if !got.kept_marker {
                    report.fail(
                        input.provider,
                        kept,
                        input,
                        &m,
                        "the unknown block is not among other_parts()".into(),
                    );
                }
            }
        }
    }
}

/// Fails with the report when a case failed; prints it (`--nocapture`) when none did.
fn finish(report: &Report, title: &str) {
    let text = report.render(title);
    assert!(report.failures.is_empty(), "{text}");
    eprintln!("{text}");
}

#[tokio::test]
async fn recorded_answers_survive_what_providers_add() {
    let Some(root) = steadfast_fixtures::require() else {
        return;
    };
    let started = Instant::now();
    let scan = fixtures(&root);
    let mut report = Report::default();
    let mut by_dir: BTreeMap<&str, usize> = BTreeMap::new();
    for input in &scan.inputs {
        let file = input.name.trim_start_matches("fixture ");
        *by_dir
            .entry(file.rsplit_once('/').map_or(file, |(d, _)| d))
            .or_default() += 1;
    }
    report.notes.push(format!(
        "{} recorded answers: {}",
        scan.inputs.len(),
        by_dir
            .iter()
            .map(|(dir, n)| format!("{dir} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let mut by_reason: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (file, why) in &scan.skipped {
        by_reason.entry(why).or_default().push(file);
    }
    for (why, files) in by_reason {
        report
            .notes
            .push(format!("not used ({why}): {}", files.join(", ")));
    }
    run(&scan.inputs, &mut report).await;
    finish(
        &report,
        &format!(
            "recorded answers ({:.1} s)",
            started.elapsed().as_secs_f64()
        ),
    );
}

#[tokio::test]
async fn simulator_answers_survive_what_providers_add() {
    let started = Instant::now();
    let inputs = simulator_answers().await;
    let mut report = Report::default();
    report.notes.push(format!(
        "{} simulator answers (11 dialects; text, tool-one, tools-parallel, structured, refusal; json and stream)",
        inputs.len()
    ));
    run(&inputs, &mut report).await;
    finish(
        &report,
        &format!(
            "simulator answers ({:.1} s)",
            started.elapsed().as_secs_f64()
        ),
    );
}
