//! Editing raw JSON objects without building a value tree.
//!
//! The session stamps things into payloads it did not write: `_meta.progressToken` on requests
//! that want progress, the 2026-07-28 client identity on every request, `resultType` and the
//! server identity on modern results. [`stamp`] does that on the raw text: the object's members
//! are read as raw slices, members that are already present win over stamped ones, and the text
//! is written back with only `_meta` ever parsed into a tree.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::raw::RawJson;

/// Members to add to a JSON object when it lacks them.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Stamp<'a> {
    /// Top-level members, as `(key, raw JSON value)`.
    pub top: &'a [(&'a str, &'a RawValue)],
    /// Members of `_meta`, as `(key, raw JSON value)`.
    pub meta: &'a [(&'a str, &'a RawValue)],
}

/// Why an object could not be stamped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StampError {
    /// The payload is not a JSON object.
    NotAnObject,
    /// The payload's `_meta` member is not a JSON object.
    MetaNotAnObject,
}

/// Returns `object` (or `{}` when `None`) with the stamp's members added where absent.
pub(crate) fn stamp(object: Option<&RawJson>, stamp: Stamp<'_>) -> Result<RawJson, StampError> {
    let members = match object {
        Some(raw) => read_members(raw.get()).ok_or(StampError::NotAnObject)?,
        None => Vec::new(),
    };
    let mut out = String::with_capacity(object.map_or(0, |o| o.get().len()) + 128);
    out.push('{');
    let mut first = true;
    let mut push_member = |out: &mut String, key: &str, value: &str| {
        if !first {
            out.push(',');
        }
        first = false;
        push_json_string(out, key);
        out.push(':');
        out.push_str(value);
    };
    let mut saw_meta = false;
    for (key, value) in &members {
        if key == "_meta" && !stamp.meta.is_empty() {
            saw_meta = true;
            let meta = merged_meta(value, stamp.meta)?;
            push_member(&mut out, key, &meta);
        } else {
            push_member(&mut out, key, value.get());
        }
    }
    for (key, value) in stamp.top {
        if !members.iter().any(|(k, _)| k == key) {
            push_member(&mut out, key, value.get());
        }
    }
    if !saw_meta && !stamp.meta.is_empty() {
        let mut meta = String::from("{");
        for (i, (key, value)) in stamp.meta.iter().enumerate() {
            if i > 0 {
                meta.push(',');
            }
            push_json_string(&mut meta, key);
            meta.push(':');
            meta.push_str(value.get());
        }
        meta.push('}');
        push_member(&mut out, "_meta", &meta);
    }
    out.push('}');
    Ok(RawJson::from_string(out).expect("stamping joins valid JSON pieces into valid JSON"))
}

fn merged_meta(existing: &RawValue, add: &[(&str, &RawValue)]) -> Result<String, StampError> {
    let mut meta: Map<String, Value> =
        serde_json::from_str(existing.get()).map_err(|_| StampError::MetaNotAnObject)?;
    for (key, value) in add {
        if !meta.contains_key(*key) {
            let value: Value = serde_json::from_str(value.get()).expect("stamp values are JSON");
            meta.insert((*key).to_owned(), value);
        }
    }
    Ok(serde_json::to_string(&meta).expect("a JSON map always serializes"))
}

fn push_json_string(out: &mut String, text: &str) {
    if text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push('"');
        out.push_str(text);
        out.push('"');
    } else {
        out.push_str(&serde_json::to_string(text).expect("a string always serializes"));
    }
}

/// The members of a JSON object text in order, or `None` when the text is not an object.
pub(crate) fn read_members(text: &str) -> Option<Vec<(Cow<'_, str>, &RawValue)>> {
    struct Members;
    impl<'de> Visitor<'de> for Members {
        type Value = Vec<(Cow<'de, str>, &'de RawValue)>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut members = Vec::new();
            while let Some(key) = map.next_key::<BorrowedKey<'de>>()? {
                members.push((key.0, map.next_value()?));
            }
            Ok(members)
        }
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let members = de.deserialize_map(Members).ok()?;
    de.end().ok()?;
    Some(members)
}

/// An object key that borrows from the input when it has no escapes; the one key reader of
/// the crate (the codec's envelope reader uses it too).
pub(crate) struct BorrowedKey<'a>(pub(crate) Cow<'a, str>);

impl<'de> serde::Deserialize<'de> for BorrowedKey<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = BorrowedKey<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                v: &'de str,
            ) -> Result<Self::Value, E> {
                Ok(BorrowedKey(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(BorrowedKey(Cow::Owned(v.to_owned())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).unwrap()
    }

    #[test]
    fn stamping_nothing_gives_an_empty_object() {
        assert_eq!(stamp(None, Stamp::default()).unwrap().get(), "{}");
    }

    #[test]
    fn meta_is_created_when_absent_and_members_keep_their_order() {
        let token = raw("7");
        let params = RawJson::from_string(r#"{"name":"add","arguments":{"a":1}}"#.into()).unwrap();
        let out = stamp(Some(&params), Stamp { top: &[], meta: &[("progressToken", &token)] });
        assert_eq!(
            out.unwrap().get(),
            r#"{"name":"add","arguments":{"a":1},"_meta":{"progressToken":7}}"#
        );
    }

    #[test]
    fn existing_meta_members_win_over_stamped_ones() {
        let token = raw("7");
        let version = raw(r#""2026-07-28""#);
        let params = RawJson::from_string(r#"{"_meta":{"progressToken":"mine"}}"#.into()).unwrap();
        let meta = [("progressToken", &*token), ("v", &*version)];
        let out = stamp(Some(&params), Stamp { top: &[], meta: &meta }).unwrap();
        assert_eq!(out.get(), r#"{"_meta":{"progressToken":"mine","v":"2026-07-28"}}"#);
    }

    #[test]
    fn top_level_members_are_added_only_when_missing() {
        let complete = raw(r#""complete""#);
        let top = [("resultType", &*complete)];
        let given = RawJson::from_string(r#"{"resultType":"input_required"}"#.into()).unwrap();
        let out = stamp(Some(&given), Stamp { top: &top, meta: &[] }).unwrap();
        assert_eq!(out.get(), r#"{"resultType":"input_required"}"#);
        let bare = RawJson::from_string(r#"{ "x" : [1, 2] }"#.into()).unwrap();
        let out = stamp(Some(&bare), Stamp { top: &top, meta: &[] }).unwrap();
        assert_eq!(out.get(), r#"{"x":[1, 2],"resultType":"complete"}"#);
    }

    #[test]
    fn arrays_and_non_object_meta_are_refused() {
        let token = raw("1");
        let meta = [("progressToken", &*token)];
        let array = RawJson::from_string("[1]".into()).unwrap();
        assert_eq!(
            stamp(Some(&array), Stamp { top: &[], meta: &meta }),
            Err(StampError::NotAnObject)
        );
        let odd = RawJson::from_string(r#"{"_meta":3}"#.into()).unwrap();
        assert_eq!(
            stamp(Some(&odd), Stamp { top: &[], meta: &meta }),
            Err(StampError::MetaNotAnObject)
        );
    }

    #[test]
    fn escaped_keys_are_written_back_escaped() {
        let one = raw("1");
        let given = RawJson::from_string(r#"{"a\"b":0}"#.into()).unwrap();
        let out = stamp(Some(&given), Stamp { top: &[("z", &*one)], meta: &[] }).unwrap();
        assert_eq!(out.get(), r#"{"a\"b":0,"z":1}"#);
    }
}
