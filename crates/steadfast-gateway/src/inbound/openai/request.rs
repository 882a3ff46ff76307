//! The Chat Completions request body as read by serde, field by field, before the checks of
//! [`super::decode`]: every field lenient (see [`crate::inbound::json`]), the messages typed and
//! their strings borrowed from the body; the rarely sent structured fields (`tools`,
//! `tool_choice`, `response_format`, `stream_options`, `stop`, content parts, assistant
//! `tool_calls`) kept as `serde_json::Value`s for the checks that read them.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::{IGNORED, UNSUPPORTED};
use crate::inbound::json::{
    self, Any, ArrayOr, BadKey, Content, Offending, Skip, Str, scalars_are,
};

/// The request body: an object, or anything else.
pub(super) type Parsed<'a> = json::Parsed<Body<'a>>;

/// The request object's fields, as sent (`None`: absent).
#[derive(Default)]
pub(super) struct Body<'a> {
    pub(super) bad: Offending<'a, BadKey>,
    pub(super) model: Option<Any<'a>>,
    pub(super) messages: Option<Messages<'a>>,
    pub(super) max_tokens: Option<Any<'a>>,
    pub(super) max_completion_tokens: Option<Any<'a>>,
    pub(super) temperature: Option<Any<'a>>,
    pub(super) top_p: Option<Any<'a>>,
    pub(super) stop: Option<Value>,
    pub(super) seed: Option<Any<'a>>,
    pub(super) frequency_penalty: Option<Any<'a>>,
    pub(super) presence_penalty: Option<Any<'a>>,
    pub(super) tools: Option<Value>,
    pub(super) tool_choice: Option<Value>,
    pub(super) response_format: Option<Value>,
    pub(super) stream: Option<Any<'a>>,
    pub(super) stream_options: Option<Value>,
    pub(super) n: Option<Any<'a>>,
    pub(super) logprobs: Option<Any<'a>>,
    pub(super) parallel_tool_calls: Option<Any<'a>>,
}

impl<'de> Deserialize<'de> for Parsed<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ParsedVisitor)
    }
}

struct ParsedVisitor;

impl<'de> Visitor<'de> for ParsedVisitor {
    type Value = Parsed<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    scalars_are!(Parsed::NotObject);
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(Parsed::NotObject)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut b = Body::default();
        while let Some(Str(key)) = map.next_key::<Str<'de>>()? {
            match key.as_ref() {
                "model" => b.model = Some(map.next_value()?),
                "messages" => b.messages = Some(map.next_value()?),
                "max_tokens" => b.max_tokens = Some(map.next_value()?),
                "max_completion_tokens" => b.max_completion_tokens = Some(map.next_value()?),
                "temperature" => b.temperature = Some(map.next_value()?),
                "top_p" => b.top_p = Some(map.next_value()?),
                "stop" => b.stop = Some(map.next_value()?),
                "seed" => b.seed = Some(map.next_value()?),
                "frequency_penalty" => b.frequency_penalty = Some(map.next_value()?),
                "presence_penalty" => b.presence_penalty = Some(map.next_value()?),
                "tools" => b.tools = Some(map.next_value()?),
                "tool_choice" => b.tool_choice = Some(map.next_value()?),
                "response_format" => b.response_format = Some(map.next_value()?),
                "stream" => b.stream = Some(map.next_value()?),
                "stream_options" => b.stream_options = Some(map.next_value()?),
                "n" => b.n = Some(map.next_value()?),
                "logprobs" => b.logprobs = Some(map.next_value()?),
                "parallel_tool_calls" => b.parallel_tool_calls = Some(map.next_value()?),
                k if IGNORED.contains(&k) => {
                    map.next_value::<Skip>()?;
                }
                k if UNSUPPORTED.contains(&k) => {
                    let v = map.next_value::<Any<'de>>()?;
                    b.bad
                        .note(key, (!v.is_null()).then_some(BadKey::Unsupported));
                }
                _ => {
                    map.next_value::<Skip>()?;
                    b.bad.note(key, Some(BadKey::Unknown));
                }
            }
        }
        Ok(Parsed::Object(Box::new(b)))
    }
}

/// `messages`: an array, or anything else.
pub(super) type Messages<'a> = ArrayOr<RawMessage<'a>>;

/// One element of `messages`: an object, or anything else.
pub(super) enum RawMessage<'a> {
    Object(Msg<'a>),
    NotObject,
}

/// A message's fields, as sent (`None`: absent; `name` and `refusal` are read and dropped).
#[derive(Default)]
pub(super) struct Msg<'a> {
    pub(super) bad: Offending<'a, BadKey>,
    pub(super) role: Option<Any<'a>>,
    pub(super) content: Option<Content<'a>>,
    pub(super) tool_calls: Option<Value>,
    pub(super) tool_call_id: Option<Any<'a>>,
}

impl<'de> Deserialize<'de> for RawMessage<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawMessage<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a message")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut m = Msg::default();
                while let Some(Str(key)) = map.next_key::<Str<'de>>()? {
                    match key.as_ref() {
                        "role" => m.role = Some(map.next_value()?),
                        "content" => m.content = Some(map.next_value()?),
                        "tool_calls" => m.tool_calls = Some(map.next_value()?),
                        "tool_call_id" => m.tool_call_id = Some(map.next_value()?),
                        "name" | "refusal" => {
                            map.next_value::<Skip>()?;
                        }
                        "audio" | "function_call" => {
                            map.next_value::<Skip>()?;
                            m.bad.note(key, Some(BadKey::Unsupported));
                        }
                        _ => {
                            map.next_value::<Skip>()?;
                            m.bad.note(key, Some(BadKey::Unknown));
                        }
                    }
                }
                Ok(RawMessage::Object(m))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<Skip>()?.is_some() {}
                Ok(RawMessage::NotObject)
            }
            scalars_are!(RawMessage::NotObject);
        }
        d.deserialize_any(V)
    }
}
