//! The novelty fault: for every provider, streaming and not, the answer carries an unknown field
//! in every JSON object, unknown events and unknown content blocks — and the known content
//! (text, tool calls, finish reason, usage) is exactly the one sent without novelty.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use std::collections::BTreeMap;

use common::{Resp, chat, decode_frames, post, sse};
use serde_json::{Value, json};
use steadfast_sim::{Action, Dialect, FaultKind, Rule, Scenario, Simulator};

const NOTE: &str = r#"{"note":"novelty"}"#;

fn note() -> Value {
    serde_json::from_str(NOTE).unwrap()
}

fn model_of(p: Dialect) -> &'static str {
    match p {
        Dialect::Anthropic => "claude-3-5-sonnet-latest",
        Dialect::Gemini => "gemini-2.0-flash",
        Dialect::Bedrock => "amazon.nova-lite-v1:0",
        Dialect::Cohere => "command-a-03-2025",
        Dialect::Mistral => "mistral-large-latest",
        Dialect::AzureOpenAi => "my-deployment",
        _ => "gpt-4o-mini",
    }
}

fn openai_family(p: Dialect) -> bool {
    !matches!(
        p,
        Dialect::Anthropic | Dialect::Gemini | Dialect::Cohere | Dialect::Bedrock
    )
}

/// The unknown field's name in `p`'s JSON.
fn field(p: Dialect) -> &'static str {
    match p {
        Dialect::Gemini | Dialect::Bedrock => "xNovelty",
        _ => "x_novelty",
    }
}

/// The two answers every check runs on: the model's echo, and a scripted text plus two
/// parallel tool calls.
fn actions() -> [Action; 2] {
    let calls: Action =
        serde_json::from_value(json!({"type": "tool_call", "text": "Checking the weather.",
        "tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris", "days": 2}},
                       {"name": "get_time", "arguments": {"zone": "CET"}}]}))
        .unwrap();
    [Action::model(), calls]
}

async fn request(sim: &Simulator, p: Dialect, stream: bool) -> Resp {
    let (url, headers, mut body) = chat(sim, p, model_of(p), "hello there world", stream);
    if stream && openai_family(p) && p != Dialect::Mistral {
        body["stream_options"] = json!({"include_usage": true});
    }
    let r = post(&url, &headers, &body).await;
    assert_eq!(r.status, 200, "{p}: {}", r.text());
    r
}

/// The same request answered without and with novelty (request number 1 both times, so ids
/// are the same).
async fn pair(sim: &Simulator, p: Dialect, action: &Action, stream: bool) -> (Resp, Resp) {
    let mut out = Vec::new();
    for a in [action.clone(), action.clone().novelty()] {
        sim.set_scenario(Scenario::new().rule(Rule::new().action(a)));
        sim.reset();
        out.push(request(sim, p, stream).await);
    }
    let novel = out.pop().unwrap();
    let plain = out.pop().unwrap();
    assert!(!plain.text().contains("ovelty"), "{p}: {}", plain.text());
    (plain, novel)
}

// ----- removing the novelty again ------------------------------------------------------------

fn is_novel_item(v: &Value) -> bool {
    v.get("type").and_then(Value::as_str) == Some("x_novelty_block")
        || v.get("xNoveltyPart").is_some()
        || v.get("xNoveltyBlock").is_some()
}

/// `v` without the unknown fields and unknown blocks (an array that held only unknown blocks is
/// dropped with its key).
fn strip(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| *k != "x_novelty" && *k != "xNovelty")
                .filter(|(_, c)| {
                    !matches!(c, Value::Array(a) if !a.is_empty() && a.iter().all(is_novel_item))
                })
                .map(|(k, c)| (k.clone(), strip(c)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().filter(|x| !is_novel_item(x)).map(strip).collect()),
        other => other.clone(),
    }
}

fn without_created(mut v: Value) -> Value {
    if let Some(m) = v.as_object_mut() {
        m.remove("created");
    }
    v
}

/// Paths of the objects in `v` that lack the unknown field. Exempt: tool arguments (Anthropic
/// and Bedrock `input`, Gemini `args`) and Bedrock's tagged unions, which must not have it.
fn unmarked(p: Dialect, v: &Value) -> Vec<String> {
    fn walk(p: Dialect, v: &Value, path: &str, union: bool, out: &mut Vec<String>) {
        let opaque: &[&str] = match p {
            Dialect::Anthropic | Dialect::Bedrock => &["input"],
            Dialect::Gemini => &["args"],
            _ => &[],
        };
        let unions: &[&str] = match p {
            Dialect::Bedrock => &["output", "content", "delta", "start"],
            _ => &[],
        };
        match v {
            Value::Object(m) => {
                if !union && m.get(field(p)) != Some(&note()) {
                    out.push(path.to_owned());
                }
                if union && m.contains_key(field(p)) {
                    out.push(format!("{path} (a union with the field)"));
                }
                for (k, c) in m {
                    if opaque.contains(&k.as_str()) || k == field(p) {
                        continue;
                    }
                    walk(
                        p,
                        c,
                        &format!("{path}/{k}"),
                        unions.contains(&k.as_str()),
                        out,
                    );
                }
            }
            Value::Array(a) => {
                for (i, c) in a.iter().enumerate() {
                    walk(p, c, &format!("{path}/{i}"), union, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(p, v, "", false, &mut out);
    out
}

// ----- naive extraction of the known content ------------------------------------------------

fn s(v: &Value) -> String {
    v.as_str().unwrap_or("").to_owned()
}

/// Text, tool calls (name, arguments), finish reason and usage of a non-streaming body.
fn known_body(p: Dialect, v: &Value) -> Value {
    let (text, calls, finish, usage) = match p {
        Dialect::Anthropic => {
            let blocks = v["content"].as_array().unwrap();
            let text: String = blocks
                .iter()
                .filter(|b| b["type"] == "text")
                .map(|b| s(&b["text"]))
                .collect();
            let calls: Vec<Value> = blocks
                .iter()
                .filter(|b| b["type"] == "tool_use")
                .map(|b| json!([b["name"], b["input"].to_string()]))
                .collect();
            (text, calls, v["stop_reason"].clone(), v["usage"].clone())
        }
        Dialect::Gemini => {
            let parts = v["candidates"][0]["content"]["parts"].as_array().unwrap();
            let text: String = parts.iter().map(|p| s(&p["text"])).collect();
            let calls: Vec<Value> = parts
                .iter()
                .filter(|p| p.get("functionCall").is_some())
                .map(|p| {
                    json!([
                        p["functionCall"]["name"],
                        p["functionCall"]["args"].to_string()
                    ])
                })
                .collect();
            let finish = v["candidates"][0]["finishReason"].clone();
            (text, calls, finish, v["usageMetadata"].clone())
        }
        Dialect::Cohere => {
            let m = &v["message"];
            let mut text: String = m["content"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|c| c["type"] == "text")
                .map(|c| s(&c["text"]))
                .collect();
            text.push_str(&s(&m["tool_plan"]));
            let calls: Vec<Value> = m["tool_calls"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| json!([c["function"]["name"], c["function"]["arguments"]]))
                .collect();
            (text, calls, v["finish_reason"].clone(), v["usage"].clone())
        }
        Dialect::Bedrock => {
            let blocks = v["output"]["message"]["content"].as_array().unwrap();
            let text: String = blocks.iter().map(|b| s(&b["text"])).collect();
            let calls: Vec<Value> = blocks
                .iter()
                .filter(|b| b.get("toolUse").is_some())
                .map(|b| json!([b["toolUse"]["name"], b["toolUse"]["input"].to_string()]))
                .collect();
            (text, calls, v["stopReason"].clone(), v["usage"].clone())
        }
        _ => {
            let m = &v["choices"][0]["message"];
            let calls: Vec<Value> = m["tool_calls"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| json!([c["function"]["name"], c["function"]["arguments"]]))
                .collect();
            let finish = v["choices"][0]["finish_reason"].clone();
            (s(&m["content"]), calls, finish, v["usage"].clone())
        }
    };
    json!({"text": text, "calls": calls, "finish": finish, "usage": strip(&usage)})
}

/// The events of a stream: (event name or Bedrock `:event-type`, JSON payload).
fn events(p: Dialect, r: &Resp) -> Vec<(Option<String>, Value)> {
    if p == Dialect::Bedrock {
        return decode_frames(&r.body)
            .unwrap()
            .into_iter()
            .map(|f| {
                let name = f.header(":event-type").map(str::to_owned);
                (name, serde_json::from_slice(&f.payload).unwrap())
            })
            .collect();
    }
    sse(&r.text())
        .into_iter()
        .filter(|(_, d)| d != "[DONE]")
        .map(|(e, d)| {
            (
                e,
                serde_json::from_str(&d).unwrap_or_else(|e| panic!("{e}: {d}")),
            )
        })
        .collect()
}

#[derive(Default)]
struct Acc {
    text: String,
    calls: BTreeMap<u64, (String, String)>,
    finish: Value,
    usage: Value,
}

impl Acc {
    fn call(&mut self, i: &Value, name: &Value, args: &Value) {
        let e = self.calls.entry(i.as_u64().unwrap()).or_default();
        e.0.push_str(name.as_str().unwrap_or(""));
        e.1.push_str(args.as_str().unwrap_or(""));
    }

    fn done(self) -> Value {
        let calls: Vec<Value> = self
            .calls
            .into_values()
            .map(|(n, a)| json!([n, a]))
            .collect();
        json!({"text": self.text, "calls": calls, "finish": self.finish, "usage": strip(&self.usage)})
    }
}

/// Text, tool calls, finish reason and usage accumulated from a stream's events, reading only
/// the known event and block types.
fn known_stream(p: Dialect, evs: &[(Option<String>, Value)]) -> Value {
    let mut acc = Acc::default();
    let mut types: BTreeMap<u64, String> = BTreeMap::new();
    for (name, v) in evs {
        let idx = |k: &str| v[k].as_u64().unwrap_or(u64::MAX);
        match p {
            Dialect::Anthropic => match v["type"].as_str().unwrap_or("") {
                "content_block_start" => {
                    let b = &v["content_block"];
                    types.insert(idx("index"), s(&b["type"]));
                    if b["type"] == "tool_use" {
                        acc.call(&v["index"], &b["name"], &json!(""));
                    }
                }
                "content_block_delta" => match v["delta"]["type"].as_str().unwrap_or("") {
                    "text_delta" => acc.text.push_str(&s(&v["delta"]["text"])),
                    "input_json_delta" => {
                        acc.call(&v["index"], &json!(""), &v["delta"]["partial_json"])
                    }
                    _ => {}
                },
                "message_delta" => {
                    acc.finish = v["delta"]["stop_reason"].clone();
                    acc.usage = v["usage"].clone();
                }
                _ => {}
            },
            Dialect::Gemini => {
                let c = &v["candidates"][0];
                for part in c["content"]["parts"].as_array().into_iter().flatten() {
                    acc.text.push_str(&s(&part["text"]));
                    if let Some(f) = part.get("functionCall") {
                        let n = acc.calls.len() as u64;
                        acc.call(&json!(n), &f["name"], &json!(f["args"].to_string()));
                    }
                }
                if c.get("finishReason").is_some() {
                    acc.finish = c["finishReason"].clone();
                }
                if v.get("usageMetadata").is_some() {
                    acc.usage = v["usageMetadata"].clone();
                }
            }
            Dialect::Cohere => {
                let m = &v["delta"]["message"];
                match v["type"].as_str().unwrap_or("") {
                    "content-start" => {
                        types.insert(idx("index"), s(&m["content"]["type"]));
                    }
                    "content-delta"
                        if types.get(&idx("index")).map(String::as_str) == Some("text") =>
                    {
                        acc.text.push_str(&s(&m["content"]["text"]))
                    }
                    "tool-plan-delta" => acc.text.push_str(&s(&m["tool_plan"])),
                    "tool-call-start" | "tool-call-delta" => acc.call(
                        &v["index"],
                        &m["tool_calls"]["function"]["name"],
                        &m["tool_calls"]["function"]["arguments"],
                    ),
                    "message-end" => {
                        acc.finish = v["delta"]["finish_reason"].clone();
                        acc.usage = v["delta"]["usage"].clone();
                    }
                    _ => {}
                }
            }
            Dialect::Bedrock => match name.as_deref().unwrap_or("") {
                "contentBlockStart" => {
                    if let Some(t) = v["start"].get("toolUse") {
                        acc.call(&v["contentBlockIndex"], &t["name"], &json!(""));
                    }
                }
                "contentBlockDelta" => {
                    let d = &v["delta"];
                    acc.text.push_str(&s(&d["text"]));
                    if let Some(t) = d.get("toolUse") {
                        acc.call(&v["contentBlockIndex"], &json!(""), &t["input"]);
                    }
                }
                "messageStop" => acc.finish = v["stopReason"].clone(),
                "metadata" => acc.usage = v["usage"].clone(),
                _ => {}
            },
            _ => {
                for c in v["choices"].as_array().into_iter().flatten() {
                    let d = &c["delta"];
                    acc.text.push_str(&s(&d["content"]));
                    for tc in d["tool_calls"].as_array().into_iter().flatten() {
                        acc.call(
                            &tc["index"],
                            &tc["function"]["name"],
                            &tc["function"]["arguments"],
                        );
                    }
                    if !c["finish_reason"].is_null() {
                        acc.finish = c["finish_reason"].clone();
                    }
                }
                if v["usage"].is_object() {
                    acc.usage = v["usage"].clone();
                }
            }
        }
    }
    acc.done()
}

// ----- the tests -----------------------------------------------------------------------------

#[tokio::test]
async fn non_streaming_answers_carry_novelty_and_the_same_content() {
    let sim = Simulator::start(Scenario::new()).await.unwrap();
    for p in Dialect::ALL {
        for action in actions() {
            let (plain, novel) = pair(&sim, p, &action, false).await;
            let (plain, novel) = (plain.json(), novel.json());
            let label = format!("{p} {}", action.label());
            assert_eq!(known_body(p, &novel), known_body(p, &plain), "{label}");
            assert!(known_body(p, &plain)["text"] != "", "{label}");
            assert_eq!(
                without_created(strip(&novel)),
                without_created(plain.clone()),
                "{label}: without its additions the novelty body is the plain one"
            );
            assert_eq!(
                unmarked(p, &novel),
                Vec::<String>::new(),
                "{label}: {novel}"
            );
            // Unknown blocks before, between and after the known ones.
            let (blocks, known) = match p {
                Dialect::Anthropic => (
                    &novel["content"],
                    plain["content"].as_array().unwrap().len(),
                ),
                Dialect::Gemini => (
                    &novel["candidates"][0]["content"]["parts"],
                    plain["candidates"][0]["content"]["parts"]
                        .as_array()
                        .unwrap()
                        .len(),
                ),
                Dialect::Bedrock => (
                    &novel["output"]["message"]["content"],
                    plain["output"]["message"]["content"]
                        .as_array()
                        .unwrap()
                        .len(),
                ),
                Dialect::Cohere => (
                    &novel["message"]["content"],
                    plain["message"]["content"].as_array().map_or(0, Vec::len),
                ),
                _ => continue,
            };
            let blocks = blocks.as_array().unwrap();
            assert_eq!(blocks.len(), 2 * known + 1, "{label}: {novel}");
            for (i, b) in blocks.iter().enumerate() {
                assert_eq!(is_novel_item(b), i % 2 == 0, "{label}: block {i} {b}");
            }
            match p {
                Dialect::Anthropic | Dialect::Cohere => assert_eq!(
                    blocks[0],
                    json!({"type": "x_novelty_block", "x_novelty": note()})
                ),
                Dialect::Gemini => assert_eq!(
                    blocks[0],
                    json!({"xNoveltyPart": {"xNovelty": note()}, "xNovelty": note()})
                ),
                _ => assert_eq!(blocks[0], json!({"xNoveltyBlock": {"xNovelty": note()}})),
            }
        }
    }
}

#[tokio::test]
async fn streams_carry_unknown_events_and_blocks_and_the_same_content() {
    let sim = Simulator::start(Scenario::new()).await.unwrap();
    for p in Dialect::ALL {
        for action in actions() {
            let label = format!("{p} {}", action.label());
            let (plain, novel) = pair(&sim, p, &action, true).await;
            let (plain, novel) = (events(p, &plain), events(p, &novel));
            let known = known_stream(p, &plain);
            assert_eq!(known_stream(p, &novel), known, "{label}");
            assert!(
                known["text"] != "" && !known["finish"].is_null(),
                "{label}: {known}"
            );
            assert!(!known["usage"].is_null(), "{label}: {known}");
            for (name, v) in &novel {
                assert_eq!(
                    unmarked(p, v),
                    Vec::<String>::new(),
                    "{label}: {name:?} {v}"
                );
            }
            check_stream_novelty(p, &plain, &novel, &label);
        }
    }
}

fn named<'a>(
    evs: &'a [(Option<String>, Value)],
    name: &'a str,
) -> impl Iterator<Item = &'a Value> + 'a {
    evs.iter()
        .filter(move |(n, _)| n.as_deref() == Some(name))
        .map(|(_, v)| v)
}

/// The block indices (field `key`) of the `start` events of unknown (`true`) and known blocks.
fn block_indices(starts: Vec<(bool, u64)>) -> (Vec<u64>, Vec<u64>) {
    let novel = starts.iter().filter(|(n, _)| *n).map(|(_, i)| *i).collect();
    let known = starts
        .iter()
        .filter(|(n, _)| !*n)
        .map(|(_, i)| *i)
        .collect();
    (novel, known)
}

fn check_stream_novelty(
    p: Dialect,
    plain: &[(Option<String>, Value)],
    novel: &[(Option<String>, Value)],
    label: &str,
) {
    match p {
        Dialect::Anthropic => {
            let unknown: Vec<_> = named(novel, "x_novelty_event").collect();
            assert_eq!(unknown.len(), 2, "{label}");
            assert!(unknown.iter().all(|v| v["type"] == "x_novelty_event"));
            assert_eq!(novel[1].0.as_deref(), Some("x_novelty_event"), "{label}");
            let starts = named(novel, "content_block_start")
                .map(|v| {
                    (
                        v["content_block"]["type"] == "x_novelty_block",
                        v["index"].as_u64().unwrap(),
                    )
                })
                .collect();
            let (unknown, known) = block_indices(starts);
            let n = named(plain, "content_block_start").count() as u64;
            assert_eq!(
                unknown,
                (0..=n).map(|i| 2 * i).collect::<Vec<_>>(),
                "{label}"
            );
            assert_eq!(
                known,
                (0..n).map(|i| 2 * i + 1).collect::<Vec<_>>(),
                "{label}"
            );
            let deltas: Vec<u64> = named(novel, "content_block_delta")
                .filter(|v| v["delta"]["type"] == "x_novelty_delta")
                .map(|v| v["index"].as_u64().unwrap())
                .collect();
            assert_eq!(deltas, unknown, "{label}");
            let stops: Vec<u64> = named(novel, "content_block_stop")
                .map(|v| v["index"].as_u64().unwrap())
                .collect();
            assert_eq!(stops, (0..=2 * n).collect::<Vec<_>>(), "{label}");
        }
        Dialect::Gemini => {
            let part_only = novel
                .iter()
                .filter(|(_, v)| {
                    v["candidates"][0]["content"]["parts"]
                        == json!([{"xNoveltyPart": {"xNovelty": note()}, "xNovelty": note()}])
                })
                .count();
            let field_only = novel
                .iter()
                .filter(|(_, v)| v.get("candidates").is_none() && v["xNovelty"] == note())
                .count();
            assert_eq!((part_only, field_only), (1, 1), "{label}");
            assert_eq!(novel.len(), plain.len() + 2, "{label}");
            for (_, v) in novel {
                let Some(parts) = v["candidates"][0]["content"]["parts"].as_array() else {
                    continue;
                };
                for (i, part) in parts.iter().enumerate() {
                    assert_eq!(
                        part.get("xNoveltyPart").is_some(),
                        i % 2 == 0,
                        "{label}: {v}"
                    );
                }
            }
        }
        Dialect::Cohere => {
            let unknown: Vec<_> = named(novel, "x-novelty-event").collect();
            assert_eq!(unknown.len(), 2, "{label}");
            assert!(unknown.iter().all(|v| v["type"] == "x-novelty-event"));
            assert_eq!(novel[1].0.as_deref(), Some("x-novelty-event"), "{label}");
            let starts = named(novel, "content-start")
                .map(|v| {
                    let t = &v["delta"]["message"]["content"]["type"];
                    (t == "x_novelty_block", v["index"].as_u64().unwrap())
                })
                .collect();
            let (unknown, known) = block_indices(starts);
            if named(plain, "content-start").count() == 1 {
                assert_eq!((unknown, known), (vec![0, 2], vec![1]), "{label}");
            } else {
                assert_eq!((unknown, known), (vec![0], vec![]), "{label}");
            }
            assert!(
                named(novel, "content-delta")
                    .any(|v| v["delta"]["message"]["content"]["x_novelty"] == note())
            );
        }
        Dialect::Bedrock => {
            let unknown: Vec<_> = named(novel, "xNoveltyEvent").collect();
            assert_eq!(unknown.len(), 2, "{label}");
            assert_eq!(novel[1].0.as_deref(), Some("xNoveltyEvent"), "{label}");
            let starts = named(novel, "contentBlockStart")
                .map(|v| {
                    (
                        v["start"].get("xNoveltyBlock").is_some(),
                        v["contentBlockIndex"].as_u64().unwrap(),
                    )
                })
                .collect();
            let (unknown, _) = block_indices(starts);
            let n = named(plain, "contentBlockStop").count() as u64;
            let known: Vec<u64> = (0..n).map(|i| 2 * i + 1).collect();
            assert_eq!(
                unknown,
                (0..=n).map(|i| 2 * i).collect::<Vec<_>>(),
                "{label}"
            );
            let novel_deltas: Vec<u64> = named(novel, "contentBlockDelta")
                .filter(|v| v["delta"]["xNoveltyDelta"]["xNovelty"] == note())
                .map(|v| v["contentBlockIndex"].as_u64().unwrap())
                .collect();
            assert_eq!(novel_deltas, unknown, "{label}");
            let known_deltas: Vec<u64> = named(novel, "contentBlockDelta")
                .filter(|v| v["delta"].get("xNoveltyDelta").is_none())
                .map(|v| v["contentBlockIndex"].as_u64().unwrap())
                .collect();
            assert!(known_deltas.iter().all(|i| known.contains(i)), "{label}");
            let stops: Vec<u64> = named(novel, "contentBlockStop")
                .map(|v| v["contentBlockIndex"].as_u64().unwrap())
                .collect();
            assert_eq!(stops, (0..=2 * n).collect::<Vec<_>>(), "{label}");
        }
        _ => {
            // Data-only SSE: no named events; two chunks without choices carrying the field.
            assert!(novel.iter().all(|(n, _)| n.is_none()), "{label}");
            let unknown: Vec<usize> = novel
                .iter()
                .enumerate()
                .filter(|(_, (_, v))| {
                    v["choices"] == json!([])
                        && !v["usage"].is_object()
                        && v.get("prompt_filter_results").is_none()
                })
                .map(|(i, _)| i)
                .collect();
            assert_eq!(unknown, vec![1, novel.len() - 2], "{label}");
            assert_eq!(novel.len(), plain.len() + 2, "{label}");
        }
    }
}

#[tokio::test]
async fn gemini_json_array_streams_stay_one_valid_array() {
    let sim = Simulator::start(Scenario::new().rule(Rule::new().action(Action::model().novelty())))
        .await
        .unwrap();
    let (url, headers, body) = chat(&sim, Dialect::Gemini, "gemini-2.0-flash", "one two", true);
    let url = url.replace("?alt=sse", "");
    let r = post(&url, &headers, &body).await;
    let chunks: Vec<Value> = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(chunks.len(), 3 + 2);
    assert!(chunks.iter().any(|c| c.get("candidates").is_none()));
    let events: Vec<_> = chunks.into_iter().map(|c| (None, c)).collect();
    assert_eq!(
        known_stream(Dialect::Gemini, &events)["text"],
        "Echo: one two"
    );
}

#[tokio::test]
async fn novelty_combines_with_stream_faults() {
    let one = |a: Action| Scenario::new().rule(Rule::new().action(a));
    let sim = Simulator::start(one(Action::model().novelty().cut_after(3)))
        .await
        .unwrap();
    // The fault's N counts the unknown events too.
    let r = request(&sim, Dialect::Anthropic, true).await;
    let ev = events(Dialect::Anthropic, &r);
    let names: Vec<_> = ev.iter().map(|(n, _)| n.as_deref().unwrap()).collect();
    assert_eq!(
        names,
        ["message_start", "x_novelty_event", "content_block_start"]
    );
    assert_eq!(ev[2].1["content_block"]["type"], "x_novelty_block");

    sim.set_scenario(one(Action::text("a b").novelty().malformed_after(2)));
    let r = request(&sim, Dialect::OpenAi, true).await;
    let blocks = sse(&r.text());
    assert!(blocks[1].1.contains("\"choices\":[]"), "{}", blocks[1].1);
    assert!(serde_json::from_str::<Value>(&blocks[2].1).is_err());
    assert_eq!(blocks.last().unwrap().1, "[DONE]");

    sim.set_scenario(one(Action::model()
        .novelty()
        .error_after(2, FaultKind::Overloaded)));
    let r = request(&sim, Dialect::Bedrock, true).await;
    let frames = decode_frames(&r.body).unwrap();
    assert_eq!(frames[1].header(":event-type"), Some("xNoveltyEvent"));
    assert_eq!(
        frames[2].header(":exception-type"),
        Some("serviceUnavailableException")
    );
    // Non-streaming: the in-band error is the HTTP error, a cut is a truncated novelty body.
    let (url, headers, body) = chat(
        &sim,
        Dialect::Anthropic,
        "claude-3-5-sonnet-latest",
        "hi",
        false,
    );
    assert_eq!(post(&url, &headers, &body).await.status, 529);
    sim.set_scenario(one(Action::model().novelty().cut_after(1)));
    let r = post(&url, &headers, &body).await;
    assert!(serde_json::from_slice::<Value>(&r.body).is_err());
    assert!(r.text().contains("x_novelty"), "{}", r.text());
}

#[test]
fn scenario_files_round_trip_and_reject_novelty_on_errors() {
    let scenario = Scenario::new()
        .rule(Rule::new().action(Action::model().novelty().cut_after(4)))
        .rule(Rule::new().action(Action::tool_call("f", "{}").novelty()))
        .rule(Rule::new().action(Action::text("plain")));
    let text = scenario.to_toml_string().unwrap();
    assert_eq!(text.matches("novelty = true").count(), 2, "{text}");
    assert_eq!(Scenario::from_toml_str(&text).unwrap(), scenario);

    let json = r#"{"rules": [{"action": {"type": "refusal", "text": "no", "novelty": true}}]}"#;
    let from_json = Scenario::from_json_str(json).unwrap();
    let expected = Scenario::new().rule(Rule::new().action(Action::refusal("no").novelty()));
    assert_eq!(from_json, expected);
    assert_ne!(
        expected,
        Scenario::new().rule(Rule::new().action(Action::refusal("no")))
    );

    for kind in ["rate_limit", "gateway", "reset"] {
        let toml = format!("[[rules]]\naction = {{ type = \"{kind}\", novelty = true }}\n");
        let err = Scenario::from_toml_str(&toml).unwrap_err().to_string();
        assert!(
            err.contains("`novelty` applies to replies"),
            "{kind}: {err}"
        );
    }
    // The builder ignores it on non-replies, so what it builds always saves and loads.
    assert_eq!(Action::rate_limit().novelty(), Action::rate_limit());
    assert_eq!(Action::reset().novelty(), Action::reset());
}
