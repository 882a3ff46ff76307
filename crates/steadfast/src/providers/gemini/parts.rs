//! Reading the parts and the citations of a Gemini candidate, for unary answers and streams alike.
//!
//! A part is read from its JSON as received, so that whatever Steadfast has no form for is kept
//! whole ([`Part::Other`](crate::Part::Other), `raw` = the part) and goes back to Gemini
//! unchanged. Nothing in a part is an error: a member of an unexpected type makes the part an
//! `Other` part, a part of no known kind likewise.
//!
//! # Thought signatures of text parts
//!
//! Gemini signs its thinking with a `thoughtSignature` that must go back on the part it came on.
//! A function call keeps it in [`ToolCall::signature`](crate::ToolCall::signature) and a thought
//! part (`thought: true`) in its [`Reasoning::signature`](crate::Reasoning). A text part has no
//! field for it, so its signature is kept as a *signature-only reasoning* — provider `gemini`,
//! empty text, the signature — placed right after that text in the answer
//! ([`Response::parts`](crate::Response::parts)). The request converter reads such a reasoning
//! that directly follows a text part as that text's signature and puts it back on the part.
//!
//! Two shapes would read back wrongly that way, and are kept as `Other` parts instead (sent back
//! raw): a text part whose signature does not follow any text (an empty text part right after a
//! function call or a thought: `kind` `"text"`), and a thought part with no text whose signature
//! directly follows text (`kind` `"thought"`).
//!
//! Text parts next to each other are joined ([`Response::text`](crate::Response::text)); a
//! signature goes back on the joined text — as a stream delivers it, where the signature often
//! comes on a final, empty text part.
//!
//! # Citations
//!
//! - `citationMetadata.citationSources` (Developer API) and `citationMetadata.citations` (Vertex
//!   AI): one [`Citation`] each, of kind `"citationSource"` / `"citation"`, with its `uri` and
//!   `title`; the indices and the licence are in `raw`.
//! - `groundingMetadata.groundingChunks`: one citation per chunk, in order (so a support's
//!   `groundingChunkIndices` count them), of kind the chunk's member (`"web"`, `"maps"`,
//!   `"retrievedContext"`, …; `"groundingChunk"` when it has none) with that member's `uri`,
//!   `title` and `text`; `raw` is the chunk.
//! - `groundingMetadata.groundingSupports`: one citation per support, of kind
//!   `"groundingSupport"`, the supported text (`segment.text`) as `cited_text` and the `uri` and
//!   `title` of the first chunk it names that has them; `raw` is the support.
//!
//! The rest of the grounding metadata (`webSearchQueries`, `searchEntryPoint`,
//! `retrievalMetadata`) and `urlContextMetadata` are not citations: a unary answer keeps them in
//! [`Response::raw`](crate::Response::raw).

use serde_json::{Map, Value};

use crate::response::Citation;

/// The provider name parts are kept for.
pub(crate) const GEMINI: &str = "gemini";

/// Part members that qualify a part rather than say what it is.
const MODIFIERS: &[&str] = &[
    "thought",
    "thoughtSignature",
    "partMetadata",
    "videoMetadata",
    "mediaResolution",
];

/// What one answer part is.
#[derive(Debug, PartialEq)]
pub(crate) enum Piece<'a> {
    /// `{}`: nothing.
    Empty,
    /// Answer text, with the signature Gemini put on it.
    Text {
        text: &'a str,
        signature: Option<&'a str>,
    },
    /// A thought (`thought: true`): its text (possibly empty) and signature.
    Thought {
        text: &'a str,
        signature: Option<&'a str>,
    },
    /// A function call.
    Call {
        id: Option<&'a str>,
        name: &'a str,
        args: Option<&'a Value>,
        signature: Option<&'a str>,
    },
    /// Anything else, kept whole: `kind` is its member (`executableCode`, `inlineData`, …).
    Other { kind: &'a str },
}

fn str_of<'a>(o: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    o.get(key).and_then(Value::as_str)
}

/// Reads one part.
pub(crate) fn piece(part: &Value) -> Piece<'_> {
    let Some(o) = part.as_object() else {
        return Piece::Other { kind: "part" };
    };
    if o.is_empty() {
        return Piece::Empty;
    }
    let signature = str_of(o, "thoughtSignature");
    let thought = o.get("thought") == Some(&Value::Bool(true));
    // Text and function calls first: a part that holds one is read as one, whatever else it
    // holds.
    let data = ["text", "functionCall"]
        .into_iter()
        .find(|k| o.contains_key(*k))
        .or_else(|| {
            o.keys()
                .map(String::as_str)
                .find(|k| !MODIFIERS.contains(k))
        });
    match data {
        Some("text") => match str_of(o, "text") {
            Some(text) if thought => Piece::Thought { text, signature },
            Some(text) => Piece::Text { text, signature },
            None => Piece::Other { kind: "text" },
        },
        Some("functionCall") => {
            let call = o.get("functionCall").and_then(Value::as_object);
            match call.map(|c| (c, c.get("name").map(Value::as_str))) {
                Some((c, None | Some(Some(_)))) => Piece::Call {
                    id: str_of(c, "id"),
                    name: str_of(c, "name").unwrap_or_default(),
                    args: c.get("args"),
                    signature,
                },
                _ => Piece::Other {
                    kind: "functionCall",
                },
            }
        }
        // A thought with no data member: reasoning with no text (a signature, say).
        None if thought => Piece::Thought {
            text: "",
            signature,
        },
        Some(kind) => Piece::Other { kind },
        // Only qualifiers (a lone `thoughtSignature`, say): kept as they are.
        None => Piece::Other {
            kind: o.keys().next().map_or("part", String::as_str),
        },
    }
}

fn get_str<'a>(v: &'a Value, keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|k| v.get(*k).and_then(Value::as_str))
}

fn citation(
    kind: &str,
    url: Option<&str>,
    title: Option<&str>,
    text: Option<&str>,
    raw: &Value,
) -> Citation {
    Citation {
        kind: kind.to_string(),
        url: url.map(str::to_string),
        title: title.map(str::to_string),
        cited_text: text.map(str::to_string),
        raw: raw.clone(),
    }
}

/// The citations of a candidate, in the order described in the [module docs](self).
pub(crate) fn citations(
    citation_metadata: Option<&Value>,
    grounding: Option<&Value>,
) -> Vec<Citation> {
    let mut out = Vec::new();
    if let Some(m) = citation_metadata {
        for (member, kind) in [
            ("citationSources", "citationSource"),
            ("citations", "citation"),
        ] {
            for c in m
                .get(member)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                out.push(Citation::from_raw(kind, c.clone()));
            }
        }
    }
    let Some(g) = grounding else {
        return out;
    };
    let chunks: &[Value] = g
        .get("groundingChunks")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    // A chunk's kind and the object under it (`{"web": {"uri", "title"}}`).
    let source = |chunk: &Value| -> (String, Value) {
        match chunk.as_object().and_then(|o| o.iter().next()) {
            Some((k, v)) => (k.clone(), v.clone()),
            None => ("groundingChunk".to_string(), Value::Null),
        }
    };
    for chunk in chunks {
        let (kind, inner) = source(chunk);
        out.push(citation(
            &kind,
            get_str(&inner, &["uri", "url"]),
            get_str(&inner, &["title"]),
            get_str(&inner, &["text"]),
            chunk,
        ));
    }
    let supports = g.get("groundingSupports").and_then(Value::as_array);
    for support in supports.into_iter().flatten() {
        let named = support
            .get("groundingChunkIndices")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_u64)
            .filter_map(|i| chunks.get(usize::try_from(i).ok()?))
            .map(|c| source(c).1)
            .find(|inner| get_str(inner, &["uri", "url"]).is_some());
        let inner = named.unwrap_or(Value::Null);
        out.push(citation(
            "groundingSupport",
            get_str(&inner, &["uri", "url"]),
            get_str(&inner, &["title"]),
            support.get("segment").and_then(|s| get_str(s, &["text"])),
            support,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use serde_json::json;

    use super::*;

    #[test]
    fn every_part_is_read_as_something() {
        let cases = [
            (json!({}), Piece::Empty),
            (
                json!({"text": "a"}),
                Piece::Text {
                    text: "a",
                    signature: None,
                },
            ),
            (
                json!({"text": "a", "thoughtSignature": "s"}),
                Piece::Text {
                    text: "a",
                    signature: Some("s"),
                },
            ),
            (
                json!({"text": "t", "thought": true, "thoughtSignature": "s"}),
                Piece::Thought {
                    text: "t",
                    signature: Some("s"),
                },
            ),
            (
                json!({"thought": true, "thoughtSignature": "s"}),
                Piece::Thought {
                    text: "",
                    signature: Some("s"),
                },
            ),
            (
                json!({"functionCall": {"name": "f", "args": {"a": 1}}, "thoughtSignature": "s"}),
                Piece::Call {
                    id: None,
                    name: "f",
                    args: Some(&json!({"a": 1})),
                    signature: Some("s"),
                },
            ),
            (json!({"text": 5}), Piece::Other { kind: "text" }),
            (
                json!({"functionCall": "f"}),
                Piece::Other {
                    kind: "functionCall",
                },
            ),
            (
                json!({"functionCall": {"name": 3}}),
                Piece::Other {
                    kind: "functionCall",
                },
            ),
            (
                json!({"executableCode": {"code": "print(1)"}}),
                Piece::Other {
                    kind: "executableCode",
                },
            ),
            (
                json!({"inlineData": {"mimeType": "image/png", "data": "AA=="}, "thought": true}),
                Piece::Other { kind: "inlineData" },
            ),
            (
                json!({"somethingNew": {}}),
                Piece::Other {
                    kind: "somethingNew",
                },
            ),
            (
                json!({"thoughtSignature": "s"}),
                Piece::Other {
                    kind: "thoughtSignature",
                },
            ),
            (json!("text"), Piece::Other { kind: "part" }),
        ];
        for (part, want) in &cases {
            assert_eq!(&piece(part), want, "{part}");
        }
    }

    #[test]
    fn grounding_supports_point_at_their_chunks() {
        let g = json!({
            "groundingChunks": [{}, {"web": {"uri": "https://a.example", "title": "A"}}],
            "groundingSupports": [
                {"segment": {"text": "both"}, "groundingChunkIndices": [0, 1, 9]},
                {"segment": {"text": "none"}, "groundingChunkIndices": [0]},
            ],
            "webSearchQueries": ["q"],
        });
        let c = citations(None, Some(&g));
        let kinds: Vec<&str> = c.iter().map(|c| c.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "groundingChunk",
                "web",
                "groundingSupport",
                "groundingSupport"
            ]
        );
        assert_eq!(c[1].url.as_deref(), Some("https://a.example"));
        assert_eq!(c[1].raw, g["groundingChunks"][1]);
        assert_eq!(c[2].url.as_deref(), Some("https://a.example"));
        assert_eq!(c[2].title.as_deref(), Some("A"));
        assert_eq!(c[2].cited_text.as_deref(), Some("both"));
        assert_eq!(c[3].url, None);
        assert_eq!(c[3].raw, g["groundingSupports"][1]);
        // Members of the wrong type are no citations, and no error.
        let odd = json!({"groundingChunks": 3, "groundingSupports": [{"segment": 1}]});
        assert_eq!(
            citations(Some(&json!({"citations": "x"})), Some(&odd)).len(),
            1
        );
    }
}
