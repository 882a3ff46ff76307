//! Helpers shared by the integration tests: a tiny client for the simulator.
#![allow(
    dead_code,
    reason = "each test file uses a different subset of the helpers"
)]

use serde_json::Value;
use steadfast_sim::{Dialect, Simulator};

/// A response reduced to what the tests assert on.
#[derive(Debug)]
pub(crate) struct Resp {
    pub(crate) status: u16,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Resp {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// POSTs `body` to `url` with `headers`, reading the whole body.
pub(crate) async fn post(url: &str, headers: &[(&str, &str)], body: &Value) -> Resp {
    let mut rb = client()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string());
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    let resp = rb.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.bytes().await.unwrap().to_vec();
    Resp {
        status,
        headers,
        body,
    }
}

/// The chat URL and auth headers of a provider, plus a minimal request body for `text`.
pub(crate) fn chat(
    sim: &Simulator,
    provider: Dialect,
    model: &str,
    text: &str,
    stream: bool,
) -> (String, Vec<(&'static str, &'static str)>, Value) {
    let base = sim.base_url(provider);
    let msg = serde_json::json!([{"role": "user", "content": text}]);
    match provider {
        Dialect::Anthropic => (
            format!("{base}/v1/messages"),
            vec![
                ("x-api-key", "sk-ant-test"),
                ("anthropic-version", "2023-06-01"),
            ],
            serde_json::json!({"model": model, "max_tokens": 256, "messages": msg, "stream": stream}),
        ),
        Dialect::Gemini => {
            let method = if stream {
                "streamGenerateContent?alt=sse"
            } else {
                "generateContent"
            };
            (
                format!("{base}/v1beta/models/{model}:{method}"),
                vec![("x-goog-api-key", "AIza-test")],
                serde_json::json!({"contents": [{"role": "user", "parts": [{"text": text}]}]}),
            )
        }
        Dialect::Cohere => (
            format!("{base}/v2/chat"),
            vec![("authorization", "Bearer co-test")],
            serde_json::json!({"model": model, "messages": msg, "stream": stream}),
        ),
        Dialect::Bedrock => {
            let op = if stream {
                "converse-stream"
            } else {
                "converse"
            };
            (
                format!("{base}/model/{}/{op}", model.replace(':', "%3A")),
                vec![("authorization", "Bearer bedrock-test")],
                serde_json::json!({"messages": [{"role": "user", "content": [{"text": text}]}]}),
            )
        }
        Dialect::AzureOpenAi => (
            format!("{base}/openai/deployments/{model}/chat/completions?api-version=2024-10-21"),
            vec![("api-key", "azure-test")],
            serde_json::json!({"messages": msg, "stream": stream}),
        ),
        Dialect::AzureInference => (
            format!("{base}/models/chat/completions?api-version=2024-05-01-preview"),
            vec![("api-key", "azure-test")],
            serde_json::json!({"model": model, "messages": msg, "stream": stream}),
        ),
        Dialect::Mistral => (
            format!("{base}/v1/chat/completions"),
            vec![("authorization", "Bearer mistral-test")],
            serde_json::json!({"model": model, "messages": msg, "stream": stream}),
        ),
        _ => (
            format!("{base}/chat/completions"),
            vec![("authorization", "Bearer sk-test")],
            serde_json::json!({"model": model, "messages": msg, "stream": stream}),
        ),
    }
}

/// Sends a minimal chat request to `provider`.
pub(crate) async fn send(
    sim: &Simulator,
    provider: Dialect,
    model: &str,
    text: &str,
    stream: bool,
) -> Resp {
    let (url, headers, body) = chat(sim, provider, model, text, stream);
    post(&url, &headers, &body).await
}

/// Splits an SSE body into (event name, data) pairs (LF or CRLF separators).
pub(crate) fn sse(body: &str) -> Vec<(Option<String>, String)> {
    let normalized = body.replace("\r\n", "\n");
    normalized
        .split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .map(|block| {
            let mut event = None;
            let mut data = Vec::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event: ") {
                    event = Some(v.to_owned());
                } else if let Some(v) = line.strip_prefix("data: ") {
                    data.push(v);
                } else if !line.starts_with(':') {
                    data.push(line);
                }
            }
            (event, data.join("\n"))
        })
        .collect()
}

/// One decoded eventstream frame: string headers and payload.
#[derive(Debug)]
pub(crate) struct Frame {
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) payload: Vec<u8>,
}

impl Frame {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An independent eventstream decoder (checks both CRCs and every header type), written from
/// the framing rules, validated against the smithy-rs test vectors in `eventstream.rs`.
pub(crate) fn decode_frames(mut data: &[u8]) -> Result<Vec<Frame>, String> {
    let mut frames = Vec::new();
    while !data.is_empty() {
        if data.len() < 16 {
            return Err("truncated prelude".into());
        }
        let total = u32::from_be_bytes(data[0..4].try_into().unwrap()) as usize;
        let hlen = u32::from_be_bytes(data[4..8].try_into().unwrap()) as usize;
        let pcrc = u32::from_be_bytes(data[8..12].try_into().unwrap());
        if crc32fast::hash(&data[0..8]) != pcrc {
            return Err("prelude checksum".into());
        }
        if total < 16 || data.len() < total || hlen > total - 16 {
            return Err("bad lengths".into());
        }
        let mcrc = u32::from_be_bytes(data[total - 4..total].try_into().unwrap());
        if crc32fast::hash(&data[0..total - 4]) != mcrc {
            return Err("message checksum".into());
        }
        let mut h = &data[12..12 + hlen];
        let mut headers = Vec::new();
        while !h.is_empty() {
            let nlen = h[0] as usize;
            if nlen == 0 || h.len() < 1 + nlen + 1 {
                return Err("header name length".into());
            }
            let name =
                String::from_utf8(h[1..1 + nlen].to_vec()).map_err(|_| "header name utf8")?;
            let ty = h[1 + nlen];
            h = &h[2 + nlen..];
            let fixed = |n: usize, h: &mut &[u8]| -> Result<String, String> {
                if h.len() < n {
                    return Err("header value cut off".into());
                }
                let v = format!("{:?}", &h[..n]);
                *h = &h[n..];
                Ok(v)
            };
            let value = match ty {
                0 => "true".to_owned(),
                1 => "false".to_owned(),
                2 => fixed(1, &mut h)?,
                3 => fixed(2, &mut h)?,
                4 => fixed(4, &mut h)?,
                5 | 8 => fixed(8, &mut h)?,
                9 => fixed(16, &mut h)?,
                6 | 7 => {
                    if h.len() < 2 {
                        return Err("string length cut off".into());
                    }
                    let len = u16::from_be_bytes([h[0], h[1]]) as usize;
                    if h.len() < 2 + len {
                        return Err("string value length".into());
                    }
                    let v = String::from_utf8_lossy(&h[2..2 + len]).into_owned();
                    h = &h[2 + len..];
                    v
                }
                _ => return Err("header value type".into()),
            };
            headers.push((name, value));
        }
        frames.push(Frame {
            headers,
            payload: data[12 + hlen..total - 4].to_vec(),
        });
        data = &data[total..];
    }
    Ok(frames)
}
