//! Lenient building blocks for decoding request bodies with typed serde visitors instead of a
//! [`serde_json::Value`] tree.
//!
//! A protocol's decoder reads the body's object key by key and each value into one of these
//! types, which accept any JSON (never a type error from serde): a wrong type is kept as such
//! and turned into the protocol's own 400, with its own message, after the whole body has been
//! read — so the checks, their order and their messages stay those of the protocol module, and
//! only a body that is not JSON at all is serde's error. Strings borrow from the body when
//! they hold no escapes. Every value is read through `deserialize_any`, so nesting is bounded
//! by serde_json's recursion limit exactly as when the body was read into a `Value`.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// The `visit_*` methods of a visitor that takes every scalar (null, a boolean, a number, a
/// string) as `$other`: a decoder's "anything else" for a value that must be an object or an
/// array, turned into the protocol's own 400 afterwards.
macro_rules! scalars_are {
    ($other:expr) => {
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($other)
        }
    };
}
pub(crate) use scalars_are;

/// What is wrong with a key of a request object (the body's, or a message's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BadKey {
    /// A known field the gateway cannot honour.
    Unsupported,
    /// Not a field of the API.
    Unknown,
}

/// A request body: an object (its fields read into `B`), or anything else.
pub(crate) enum Parsed<B> {
    Object(Box<B>),
    NotObject,
}

/// A value that must be an array of `T`: the array, or anything else (read through).
pub(crate) enum ArrayOr<T> {
    Array(Vec<T>),
    Other,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ArrayOr<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = ArrayOr<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array")
            }
            scalars_are!(ArrayOr::Other);
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<Skip, Skip>()?.is_some() {}
                Ok(ArrayOr::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(4));
                while let Some(m) = seq.next_element()? {
                    out.push(m);
                }
                Ok(ArrayOr::Array(out))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// A string, borrowed from the body when it has no escapes.
pub(crate) struct Str<'a>(pub(crate) Cow<'a, str>);

impl<'de> Deserialize<'de> for Str<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// Any JSON value, skipped (arrays and objects are read through and dropped).
pub(crate) struct Skip;

impl<'de> Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(AnyVisitor).map(|_| Skip)
    }
}

/// A scalar as it was sent; arrays and objects are read through and kept only as their kind.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Any<'a> {
    Null,
    Bool(bool),
    /// A non-negative integer (`Value::as_u64` would give it).
    U64(u64),
    /// A negative integer.
    I64(i64),
    F64(f64),
    Str(Cow<'a, str>),
    Array,
    Object,
}

impl<'a> Any<'a> {
    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Any::Null)
    }

    /// As `Value::as_str`.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Any::Str(s) => Some(s),
            _ => None,
        }
    }

    /// As `Value::as_u64`.
    pub(crate) fn as_u64(&self) -> Option<u64> {
        match self {
            Any::U64(n) => Some(*n),
            _ => None,
        }
    }

    /// As `Value::as_i64`.
    pub(crate) fn as_i64(&self) -> Option<i64> {
        match self {
            Any::U64(n) => i64::try_from(*n).ok(),
            Any::I64(n) => Some(*n),
            _ => None,
        }
    }

    /// As `Value::as_f64`.
    #[allow(clippy::cast_precision_loss)]
    pub(crate) fn as_f64(&self) -> Option<f64> {
        match self {
            Any::U64(n) => Some(*n as f64),
            Any::I64(n) => Some(*n as f64),
            Any::F64(n) => Some(*n),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Any<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(AnyVisitor)
    }
}

/// Reads any value; arrays and objects are consumed element by element (each through
/// `deserialize_any`, so serde_json's recursion limit applies as it does for a `Value`).
struct AnyVisitor;

impl<'de> Visitor<'de> for AnyVisitor {
    type Value = Any<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Any::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Any::Null)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Any::Bool(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Any::U64(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        // serde_json gives non-negative integers as u64; kept as `Value` would keep them.
        match u64::try_from(v) {
            Ok(n) => Ok(Any::U64(n)),
            Err(_) => Ok(Any::I64(v)),
        }
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Any::F64(v))
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Any::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Any::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Any::Str(Cow::Owned(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(Any::Array)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<Skip, Skip>()?.is_some() {}
        Ok(Any::Object)
    }
}

/// The offending key to report among several: the first in the order a `serde_json::Map`
/// iterates its keys (sorted), which is the order the checks walked the keys in when the
/// body was read into a `Value`. A later duplicate of a key replaces the earlier one, as in a
/// `Map`.
pub(crate) struct Offending<'a, K> {
    found: Vec<(Cow<'a, str>, K)>,
}

impl<'a, K> Default for Offending<'a, K> {
    fn default() -> Self {
        Offending { found: Vec::new() }
    }
}

impl<'a, K> Offending<'a, K> {
    /// Notes `key` with what is wrong with it (`None`: nothing, this time).
    pub(crate) fn note(&mut self, key: Cow<'a, str>, what: Option<K>) {
        if let Some(i) = self.found.iter().position(|(k, _)| *k == key) {
            self.found.swap_remove(i);
        }
        if let Some(w) = what {
            self.found.push((key, w));
        }
    }

    /// The first offending key in a `Map`'s order, with what is wrong with it.
    pub(crate) fn first(&self) -> Option<(&str, &K)> {
        self.found
            .iter()
            .min_by(|a, b| a.0.cmp(&b.0))
            .map(|(k, w)| (k.as_ref(), w))
    }
}

/// A message's `content`: null, a string, an array of parts (or blocks), or anything else.
pub(crate) enum Content<'a> {
    Null,
    Str(Cow<'a, str>),
    Parts(Vec<Value>),
    Other,
}

impl<'de> Deserialize<'de> for Content<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Content<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("message content")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Content::Null)
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Content::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Content::Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Content::Str(Cow::Owned(v)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(2));
                while let Some(p) = seq.next_element()? {
                    out.push(p);
                }
                Ok(Content::Parts(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<Skip, Skip>()?.is_some() {}
                Ok(Content::Other)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Content::Other)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Content::Other)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Content::Other)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Content::Other)
            }
        }
        d.deserialize_any(V)
    }
}

/// `value` as JSON bytes, into one buffer sized for a typical answer (`serde_json::to_vec`
/// grows from 128 bytes); `{}` if it cannot be serialised (a map with non-string keys: none of
/// the gateway's types).
pub(crate) fn to_bytes(value: &impl serde::Serialize) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    if serde_json::to_writer(&mut out, value).is_err() {
        return b"{}".to_vec();
    }
    out
}
