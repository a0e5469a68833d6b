//! JSON-RPC request ids, kept exactly as the peer wrote them.
//!
//! A request id is a string or an integer. Strings are kept verbatim (after JSON unescaping) and
//! integers anywhere in the union of the `i64` and `u64` ranges are kept as integers, so an id is
//! always echoed back in the form the peer chose. Fractional numbers, `null`, booleans, objects and
//! arrays are not ids; the frame decoder rejects them.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// The id of a JSON-RPC request, as sent by whoever issued the request.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RequestId {
    /// An integer id.
    Number(IntegerId),
    /// A string id, such as `"abc-1"`.
    String(String),
}

/// An integer request id anywhere in `i64::MIN..=u64::MAX`.
///
/// The range is the union of what JSON parsers commonly read without loss; an id outside it
/// cannot be built, so every `IntegerId` encodes back to the digits it was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IntegerId(i128);

impl IntegerId {
    /// The id as an `i64`, when it fits.
    pub fn as_i64(self) -> Option<i64> {
        i64::try_from(self.0).ok()
    }

    /// The id as a `u64`, when it fits.
    pub fn as_u64(self) -> Option<u64> {
        u64::try_from(self.0).ok()
    }

    /// The id widened to `i128`, which always fits.
    pub fn get(self) -> i128 {
        self.0
    }
}

impl From<i64> for IntegerId {
    fn from(value: i64) -> Self {
        IntegerId(value.into())
    }
}

impl From<u64> for IntegerId {
    fn from(value: u64) -> Self {
        IntegerId(value.into())
    }
}

impl From<i64> for RequestId {
    fn from(value: i64) -> Self {
        RequestId::Number(value.into())
    }
}

impl From<u64> for RequestId {
    fn from(value: u64) -> Self {
        RequestId::Number(value.into())
    }
}

impl From<&str> for RequestId {
    fn from(value: &str) -> Self {
        RequestId::String(value.to_owned())
    }
}

impl From<String> for RequestId {
    fn from(value: String) -> Self {
        RequestId::String(value)
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestId::Number(n) => write!(f, "{}", n.0),
            RequestId::String(s) => write!(f, "{s:?}"),
        }
    }
}

impl Serialize for RequestId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            RequestId::Number(n) => match n.as_i64() {
                Some(i) => serializer.serialize_i64(i),
                // Within the invariant range, an id that is not an i64 is a u64 above i64::MAX.
                None => serializer.serialize_i128(n.0),
            },
            RequestId::String(s) => serializer.serialize_str(s),
        }
    }
}

impl<'de> Deserialize<'de> for RequestId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdVisitor;
        impl Visitor<'_> for IdVisitor {
            type Value = RequestId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an integer request id")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RequestId, E> {
                Ok(v.into())
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RequestId, E> {
                Ok(v.into())
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RequestId, E> {
                Ok(v.into())
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<RequestId, E> {
                Ok(v.into())
            }
        }
        deserializer.deserialize_any(IdVisitor)
    }
}
