//! Raw JSON values that are carried, not parsed.
//!
//! Params, results and error data stay as the exact text the peer sent until somebody asks for a
//! typed view, so relaying or routing a message never builds a `serde_json::Value` tree. Two raw
//! values are equal when their text is equal.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

/// A piece of valid JSON kept as text.
#[derive(Clone)]
pub struct RawJson(Box<RawValue>);

impl RawJson {
    /// Wraps JSON text after checking that it is one valid JSON value.
    pub fn from_string(json: String) -> Result<Self, serde_json::Error> {
        RawValue::from_string(json).map(RawJson)
    }

    /// Serializes `value` compactly into raw JSON.
    pub fn from_serialize<T: Serialize + ?Sized>(value: &T) -> Result<Self, serde_json::Error> {
        serde_json::value::to_raw_value(value).map(RawJson)
    }

    /// The empty object `{}`, the result of `ping` and of many notifications' params.
    pub fn empty_object() -> Self {
        RawJson(RawValue::from_string(String::from("{}")).expect("`{}` is valid JSON"))
    }

    pub(crate) fn from_raw_value(value: &RawValue) -> Self {
        RawJson(value.to_owned())
    }

    /// The JSON text, exactly as received or produced.
    pub fn get(&self) -> &str {
        self.0.get()
    }

    /// The underlying serde_json raw value.
    pub fn as_raw_value(&self) -> &RawValue {
        &self.0
    }

    /// Parses the text into a typed view.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.0.get())
    }

    /// Parses the text into a typed view that may borrow from it.
    pub fn parse_borrowed<'a, T: Deserialize<'a>>(&'a self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.0.get())
    }

    /// Whether the value is a JSON object (its first byte is `{`).
    pub fn is_object(&self) -> bool {
        self.get().starts_with('{')
    }
}

impl PartialEq for RawJson {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl Eq for RawJson {}

impl fmt::Debug for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawJson({})", self.get())
    }
}

impl fmt::Display for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.get())
    }
}

impl Serialize for RawJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RawJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Box::<RawValue>::deserialize(deserializer).map(RawJson)
    }
}

impl From<Box<RawValue>> for RawJson {
    fn from(value: Box<RawValue>) -> Self {
        RawJson(value)
    }
}
