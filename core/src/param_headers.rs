//! Tool parameters mirrored into HTTP headers (2026-07-28, SEP-2243): a tool's `inputSchema`
//! may mark a property with `"x-mcp-header": "Region"`, and a client calling that tool over
//! Streamable HTTP then sends the argument's value as `Mcp-Param-Region`, so an intermediary
//! can route on it without reading the body.
//!
//! This module owns both halves, without any I/O; the client's:
//! - [`ParamHeaders::from_input_schema`] reads and validates a tool's annotations. A tool whose
//!   annotations break the rules (an empty name, one that is not an HTTP token, one on a
//!   property that is not a string, integer or boolean, two names equal but for case, or an
//!   annotation not reachable through `properties` alone) is invalid, and a client must not use
//!   it ([`InvalidParamHeader`] says why).
//! - [`ParamHeaders::headers_for`] gives the headers of one call: one per annotated argument
//!   present and not null; booleans as `true`/`false`, integers in decimal, strings as they
//!   are when they are plain visible ASCII (inner spaces allowed) and otherwise, like a string
//!   that merely looks like the sentinel, as `=?base64?…?=` over their UTF-8 bytes
//!   ([`encode_header_value`]).
//!
//! And the server's: [`ParamHeaders::check`] compares the headers a `tools/call` arrived with
//! against its arguments ([`decode_header_value`] reads either form back).

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use crate::mcp::JsonObject;

/// The schema keyword that marks a property as mirrored into a header.
pub const ANNOTATION: &str = "x-mcp-header";

/// The prefix of every mirrored parameter's header name.
pub const HEADER_PREFIX: &str = "Mcp-Param-";

/// The JSON type of an annotated property (the only three the rules allow).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// `"type": "string"`.
    String,
    /// `"type": "integer"`.
    Integer,
    /// `"type": "boolean"`.
    Boolean,
}

/// One annotated property: where its value sits in the arguments and the header it goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamHeader {
    /// The annotation's value: the header is [`HEADER_PREFIX`] followed by it.
    pub name: String,
    /// The property names leading from the arguments object to the value.
    pub path: Vec<String>,
    /// The property's declared type.
    pub kind: ParamKind,
}

impl ParamHeader {
    /// The full header name, `Mcp-Param-{name}`.
    pub fn header_name(&self) -> String {
        format!("{HEADER_PREFIX}{}", self.name)
    }
}

/// The annotated properties of one tool's `inputSchema`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParamHeaders {
    params: Vec<ParamHeader>,
}

/// Why a tool's `x-mcp-header` annotations make it unusable.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidParamHeader {
    /// The annotation is not a string, or an empty one.
    Empty {
        /// The property path, dot-joined.
        property: String,
    },
    /// The name holds a character an HTTP field name may not (space, colon, non-ASCII, control).
    NotAToken {
        /// The property path, dot-joined.
        property: String,
        /// The offending name.
        name: String,
    },
    /// The property is not a string, integer or boolean.
    NotPrimitive {
        /// The property path, dot-joined.
        property: String,
        /// Its declared type, or `"none"`.
        kind: String,
    },
    /// Two properties name the same header (names compare without case).
    Duplicate {
        /// The second property's name for it.
        name: String,
    },
    /// An annotation sits where only a `properties` chain may lead (under `items`, a
    /// composition, a condition, `$defs`...), so no client can tell which argument it means.
    Unreachable {
        /// The schema keyword it was found under.
        keyword: String,
    },
}

impl fmt::Display for InvalidParamHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty { property } => write!(f, "{property}: x-mcp-header is empty"),
            Self::NotAToken { property, name } => {
                write!(f, "{property}: x-mcp-header {name:?} is not an HTTP field name")
            }
            Self::NotPrimitive { property, kind } => write!(
                f,
                "{property}: x-mcp-header on a {kind} property (only string, integer, boolean)"
            ),
            Self::Duplicate { name } => write!(f, "x-mcp-header {name:?} is declared twice"),
            Self::Unreachable { keyword } => {
                write!(f, "x-mcp-header under {keyword:?}, outside the properties chain")
            }
        }
    }
}

impl std::error::Error for InvalidParamHeader {}

/// Schema keywords whose values are data, not schemas: an `x-mcp-header` key inside them is
/// not an annotation.
const DATA_KEYWORDS: [&str; 5] = ["default", "const", "enum", "examples", "example"];

impl ParamHeaders {
    /// Reads and validates the annotations of a tool's `inputSchema`.
    pub fn from_input_schema(schema: &JsonObject) -> Result<ParamHeaders, InvalidParamHeader> {
        let mut found = ParamHeaders::default();
        found.visit_object_schema(schema, &mut Vec::new())?;
        Ok(found)
    }

    /// Whether the tool mirrors nothing.
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }

    /// The annotated properties, in the order the schema's object lists them.
    pub fn params(&self) -> &[ParamHeader] {
        &self.params
    }

    /// The `Mcp-Param-*` headers of a call with `arguments`: one per annotated argument that is
    /// present, not null and of a primitive JSON type.
    pub fn headers_for(&self, arguments: Option<&Value>) -> Vec<(String, String)> {
        let Some(arguments) = arguments else { return Vec::new() };
        self.params
            .iter()
            .filter_map(|param| {
                let value = param.path.iter().try_fold(arguments, |at, key| at.get(key))?;
                let text = match value {
                    Value::String(text) => encode_header_value(text),
                    Value::Bool(flag) => flag.to_string(),
                    Value::Number(number) => number.to_string(),
                    Value::Null | Value::Array(_) | Value::Object(_) => return None,
                };
                Some((param.header_name(), text))
            })
            .collect()
    }

    /// Checks the `Mcp-Param-*` headers a call arrived with against its `arguments`: each
    /// annotated argument that is a string, number or boolean must arrive mirrored in its
    /// header (literally or as `=?base64?…?=`; surrounding whitespace is not part of a value),
    /// and a header for an argument the body does not carry is a mismatch too. `header` looks a
    /// header up by its full name ([`ParamHeader::header_name`]). The name of the first header
    /// that does not match, if any.
    pub fn check<'h>(
        &self,
        arguments: Option<&Value>,
        header: impl Fn(&str) -> Option<&'h str>,
    ) -> Result<(), String> {
        for param in &self.params {
            let value = arguments
                .and_then(|arguments| param.path.iter().try_fold(arguments, |at, key| at.get(key)));
            let expected = match value {
                None | Some(Value::Null) => None,
                Some(Value::String(text)) => Some(text.clone()),
                Some(Value::Number(number)) => Some(number.to_string()),
                Some(Value::Bool(flag)) => Some(flag.to_string()),
                // Arrays and objects are not mirrored into headers.
                Some(Value::Array(_) | Value::Object(_)) => continue,
            };
            let name = param.header_name();
            let found = header(&name).map(|found| decode_header_value(found.trim()));
            match (expected, found) {
                (None, None) => {}
                (Some(expected), Some(Some(found))) if found == expected => {}
                _ => return Err(name),
            }
        }
        Ok(())
    }

    /// Visits a schema whose `properties` lead to arguments at `path`.
    fn visit_object_schema(
        &mut self,
        schema: &JsonObject,
        path: &mut Vec<String>,
    ) -> Result<(), InvalidParamHeader> {
        for (keyword, value) in schema {
            if keyword == "properties" {
                let Some(properties) = value.as_object() else { continue };
                for (name, property) in properties {
                    let Some(property) = property.as_object() else { continue };
                    path.push(name.clone());
                    self.visit_property(property, path)?;
                    path.pop();
                }
            } else if keyword != ANNOTATION && !DATA_KEYWORDS.contains(&keyword.as_str()) {
                forbid_annotations(keyword, value)?;
            }
        }
        Ok(())
    }

    fn visit_property(
        &mut self,
        property: &JsonObject,
        path: &mut Vec<String>,
    ) -> Result<(), InvalidParamHeader> {
        if let Some(annotation) = property.get(ANNOTATION) {
            let dotted = path.join(".");
            let name = annotation.as_str().unwrap_or_default();
            if name.is_empty() {
                return Err(InvalidParamHeader::Empty { property: dotted });
            }
            if !name.bytes().all(is_token_byte) {
                return Err(InvalidParamHeader::NotAToken {
                    property: dotted,
                    name: name.to_string(),
                });
            }
            let kind = match property.get("type").and_then(Value::as_str) {
                Some("string") => ParamKind::String,
                Some("integer") => ParamKind::Integer,
                Some("boolean") => ParamKind::Boolean,
                other => {
                    return Err(InvalidParamHeader::NotPrimitive {
                        property: dotted,
                        kind: other.unwrap_or("none").to_string(),
                    });
                }
            };
            if self.params.iter().any(|p| p.name.eq_ignore_ascii_case(name)) {
                return Err(InvalidParamHeader::Duplicate { name: name.to_string() });
            }
            self.params.push(ParamHeader { name: name.to_string(), path: path.clone(), kind });
        }
        self.visit_object_schema(property, path)
    }
}

/// Fails when `value` (found under `keyword`, off the `properties` chain) holds an annotation.
fn forbid_annotations(keyword: &str, value: &Value) -> Result<(), InvalidParamHeader> {
    let unreachable = || InvalidParamHeader::Unreachable { keyword: keyword.to_string() };
    match value {
        Value::Object(object) => {
            if object.contains_key(ANNOTATION) {
                return Err(unreachable());
            }
            for (inner, value) in object {
                if !DATA_KEYWORDS.contains(&inner.as_str()) {
                    forbid_annotations(keyword, value)?;
                }
            }
            Ok(())
        }
        Value::Array(items) => items.iter().try_for_each(|item| forbid_annotations(keyword, item)),
        _ => Ok(()),
    }
}

/// An RFC 9110 `tchar`: the characters an HTTP field name is made of.
fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// A header value for `text`: as it is when it is visible ASCII with at most inner spaces,
/// else (non-ASCII, control characters and tabs, leading or trailing whitespace, or text that
/// looks like the sentinel itself) `=?base64?{standard base64 of the UTF-8 bytes}?=`.
pub fn encode_header_value(text: &str) -> String {
    let visible = text.bytes().all(|b| (0x20..=0x7e).contains(&b));
    let padded = text.starts_with(' ') || text.ends_with(' ');
    let looks_encoded = text.starts_with("=?base64?") && text.ends_with("?=");
    let plain = visible && !padded && !looks_encoded;
    if plain { text.to_string() } else { format!("=?base64?{}?=", STANDARD.encode(text)) }
}

/// The text an `Mcp-Param-*` value stands for: the Base64 inside `=?base64?…?=` (canonical
/// padding, the standard alphabet, UTF-8; `None` when it is not), else the value itself.
pub fn decode_header_value(value: &str) -> Option<String> {
    let Some(encoded) = value.strip_prefix("=?base64?").and_then(|v| v.strip_suffix("?=")) else {
        return Some(value.to_owned());
    };
    let bytes = STANDARD.decode(encoded).ok()?;
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema(value: Value) -> JsonObject {
        value.as_object().cloned().expect("an object")
    }

    fn headers(schema_json: Value, arguments: Value) -> Vec<(String, String)> {
        ParamHeaders::from_input_schema(&schema(schema_json))
            .expect("valid")
            .headers_for(Some(&arguments))
    }

    #[test]
    fn annotated_arguments_become_headers_and_others_do_not() {
        let tool = json!({"type": "object", "properties": {
            "region": {"type": "string", "x-mcp-header": "Region"},
            "priority": {"type": "integer", "x-mcp-header": "Priority"},
            "verbose": {"type": "boolean", "x-mcp-header": "Verbose"},
            "method_val": {"type": "string", "x-mcp-header": "Method"},
            "float_val": {"type": "number"},
            "query": {"type": "string"},
        }});
        let arguments = json!({"region": "us-west1", "priority": 42, "verbose": false,
            "method_val": "m", "float_val": 3.5, "query": "SELECT 1"});
        assert_eq!(
            headers(tool, arguments),
            [
                ("Mcp-Param-Method".to_string(), "m".to_string()),
                ("Mcp-Param-Priority".into(), "42".into()),
                ("Mcp-Param-Region".into(), "us-west1".into()),
                ("Mcp-Param-Verbose".into(), "false".into()),
            ]
        );
    }

    #[test]
    fn null_and_absent_arguments_send_no_header() {
        let tool = json!({"type": "object", "properties": {
            "region": {"type": "string", "x-mcp-header": "Region"},
            "verbose": {"type": "boolean", "x-mcp-header": "Verbose"},
        }});
        assert_eq!(headers(tool.clone(), json!({"verbose": null})), []);
        let none = ParamHeaders::from_input_schema(&schema(tool)).unwrap().headers_for(None);
        assert!(none.is_empty());
    }

    #[test]
    fn values_that_are_not_plain_visible_ascii_ride_in_base64() {
        assert_eq!(encode_header_value("us west 1"), "us west 1");
        assert_eq!(encode_header_value(""), "");
        for (text, encoded) in [
            ("Hello, 世界", "=?base64?SGVsbG8sIOS4lueVjA==?="),
            (" padded ", "=?base64?IHBhZGRlZCA=?="),
            ("us-west1 ", "=?base64?dXMtd2VzdDEg?="),
            ("line1\nline2", "=?base64?bGluZTEKbGluZTI=?="),
            ("\tindented", "=?base64?CWluZGVudGVk?="),
            ("=?base64?abc?=", "=?base64?PT9iYXNlNjQ/YWJjPz0=?="),
        ] {
            assert_eq!(encode_header_value(text), encoded, "{text:?}");
        }
    }

    #[test]
    fn nested_properties_are_reachable() {
        let tool = json!({"type": "object", "properties": {"target": {"type": "object",
            "properties": {"zone": {"type": "string", "x-mcp-header": "Zone"}}}}});
        assert_eq!(
            headers(tool, json!({"target": {"zone": "eu"}})),
            [("Mcp-Param-Zone".to_string(), "eu".to_string())]
        );
    }

    #[test]
    fn each_broken_rule_makes_the_tool_invalid() {
        let property = |p: Value| json!({"type": "object", "properties": {"a": p}});
        let cases = [
            (property(json!({"type": "string", "x-mcp-header": ""})), "empty"),
            (property(json!({"type": "object", "x-mcp-header": "A"})), "object"),
            (property(json!({"type": "array", "x-mcp-header": "A"})), "array"),
            (property(json!({"type": "null", "x-mcp-header": "A"})), "null"),
            (property(json!({"type": "number", "x-mcp-header": "A"})), "number"),
            (property(json!({"type": "string", "x-mcp-header": "My Region"})), "space"),
            (property(json!({"type": "string", "x-mcp-header": "Region:Primary"})), "colon"),
            (property(json!({"type": "string", "x-mcp-header": "Région"})), "non-ascii"),
            (property(json!({"type": "string", "x-mcp-header": "Region\t1"})), "control"),
            (
                json!({"type": "object", "properties": {
                    "a": {"type": "string", "x-mcp-header": "MyField"},
                    "b": {"type": "string", "x-mcp-header": "myfield"}}}),
                "duplicate",
            ),
            (
                json!({"type": "object", "properties": {"a": {"type": "array",
                    "items": {"type": "string", "x-mcp-header": "A"}}}}),
                "under items",
            ),
            (
                json!({"type": "object", "anyOf": [{"properties": {"a": {"type": "string",
                    "x-mcp-header": "A"}}}]}),
                "under anyOf",
            ),
        ];
        for (tool, why) in cases {
            let verdict = ParamHeaders::from_input_schema(&schema(tool));
            assert!(verdict.is_err(), "{why}: {verdict:?}");
        }
    }

    #[test]
    fn a_schema_without_annotations_is_valid_and_mirrors_nothing() {
        let tool = json!({"type": "object", "properties": {"a": {"type": "string",
            "default": {"x-mcp-header": "not an annotation"}}}, "$defs": {"b": {"type": "string"}}});
        let found = ParamHeaders::from_input_schema(&schema(tool)).expect("valid");
        assert!(found.is_empty());
    }
}
