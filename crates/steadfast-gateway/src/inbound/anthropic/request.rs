//! The Messages request body as read by serde, field by field, before the checks of
//! [`super::decode`]: every field lenient (see [`crate::inbound::json`]), the messages typed and
//! their string content borrowed from the body; the structured fields (`tools`, `tool_choice`,
//! `output_config`, `system`, `stop_sequences`, `thinking`, content blocks) kept as
//! `serde_json::Value`s for the checks that read them.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

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
    pub(super) max_tokens: Option<Any<'a>>,
    pub(super) messages: Option<Messages<'a>>,
    pub(super) system: Option<Value>,
    pub(super) stop_sequences: Option<Value>,
    pub(super) temperature: Option<Any<'a>>,
    pub(super) top_p: Option<Any<'a>>,
    pub(super) tools: Option<Value>,
    pub(super) tool_choice: Option<Value>,
    pub(super) stream: Option<Any<'a>>,
    pub(super) output_config: Option<Value>,
}

/// Accepts every non-object value as `$other` (arrays read through).
macro_rules! non_objects_are {
    ($other:expr) => {
        scalars_are!($other);
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<Skip>()?.is_some() {}
            Ok($other)
        }
    };
}

impl<'de> Deserialize<'de> for Parsed<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Parsed<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            non_objects_are!(Parsed::NotObject);
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut b = Body::default();
                while let Some(Str(key)) = map.next_key::<Str<'de>>()? {
                    match key.as_ref() {
                        "model" => b.model = Some(map.next_value()?),
                        "max_tokens" => b.max_tokens = Some(map.next_value()?),
                        "messages" => b.messages = Some(map.next_value()?),
                        "system" => b.system = Some(map.next_value()?),
                        "stop_sequences" => b.stop_sequences = Some(map.next_value()?),
                        "temperature" => b.temperature = Some(map.next_value()?),
                        "top_p" => b.top_p = Some(map.next_value()?),
                        "tools" => b.tools = Some(map.next_value()?),
                        "tool_choice" => b.tool_choice = Some(map.next_value()?),
                        "stream" => b.stream = Some(map.next_value()?),
                        "output_config" => b.output_config = Some(map.next_value()?),
                        "metadata" | "service_tier" | "cache_control" => {
                            map.next_value::<Skip>()?;
                        }
                        "thinking" => {
                            let v = map.next_value::<Value>()?;
                            let disabled =
                                v.get("type").and_then(Value::as_str) == Some("disabled");
                            b.bad.note(key, (!disabled).then_some(BadKey::Unsupported));
                        }
                        "top_k" | "container" | "mcp_servers" | "context_management"
                        | "output_format" | "inference_geo" | "speed" | "diagnostics" => {
                            map.next_value::<Skip>()?;
                            b.bad.note(key, Some(BadKey::Unsupported));
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
        d.deserialize_any(V)
    }
}

/// `messages`: an array, or anything else.
pub(super) type Messages<'a> = ArrayOr<Msg<'a>>;

/// One element of `messages` (`None` fields: absent, or the element is not an object — both
/// fail the role check first, as before).
#[derive(Default)]
pub(super) struct Msg<'a> {
    /// Keys other than `role` and `content`.
    pub(super) extra: Offending<'a, ()>,
    pub(super) role: Option<Any<'a>>,
    pub(super) content: Option<Content<'a>>,
}

impl<'de> Deserialize<'de> for Msg<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Msg<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a message")
            }
            non_objects_are!(Msg::default());
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut m = Msg::default();
                while let Some(Str(key)) = map.next_key::<Str<'de>>()? {
                    match key.as_ref() {
                        "role" => m.role = Some(map.next_value()?),
                        "content" => m.content = Some(map.next_value()?),
                        _ => {
                            map.next_value::<Skip>()?;
                            m.extra.note(key, Some(()));
                        }
                    }
                }
                Ok(m)
            }
        }
        d.deserialize_any(V)
    }
}
