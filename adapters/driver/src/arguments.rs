//! Tool arguments checked against the tool's input schema, on both sides of a call: the
//! server's [`Router`](crate::Router) refuses arguments its tool's schema does not accept
//! before the handler runs, and a client (the `mcp-ws call` command) checks them against the
//! listed schema before sending.
//!
//! An [`ArgumentSchema`] is an `inputSchema` (JSON Schema, 2020-12 unless it names another
//! `$schema`) compiled once; [`ArgumentSchema::check`] then costs one pass over the arguments,
//! and a refusal ([`InvalidArguments`]) names each field that is missing, unknown or of the
//! wrong type, and says what the tool takes ([`ArgumentSpec`]).
//!
//! Schemas derived from a Rust type refuse unknown fields by default
//! ([`deny_unknown_arguments`]): a misspelled argument is an error, not a silently applied
//! default.

use std::fmt;

use mcp_ws_core::mcp::JsonObject;
use serde_json::Value;

/// The most problems one refusal lists (the rest are counted).
pub const MAX_PROBLEMS: usize = 8;

/// The most characters of an offending value quoted in a message.
const MAX_QUOTED: usize = 40;

/// A tool's input schema, compiled.
pub struct ArgumentSchema {
    validator: jsonschema::Validator,
    expected: Vec<ArgumentSpec>,
}

impl fmt::Debug for ArgumentSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArgumentSchema").field("expected", &self.expected).finish_non_exhaustive()
    }
}

/// A schema that cannot be compiled (not valid JSON Schema, or a `$ref` that cannot be
/// resolved without the network).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the input schema cannot be used: {0}")]
pub struct SchemaError(String);

impl ArgumentSchema {
    /// Compiles `schema`.
    pub fn compile(schema: &JsonObject) -> Result<Self, SchemaError> {
        let value = Value::Object(schema.clone());
        let validator =
            jsonschema::validator_for(&value).map_err(|e| SchemaError(e.to_string()))?;
        Ok(ArgumentSchema { validator, expected: describe(schema) })
    }

    /// The arguments the schema describes (its top-level properties).
    pub fn expected(&self) -> &[ArgumentSpec] {
        &self.expected
    }

    /// Checks `arguments` (a call's `arguments`, `{}` when absent).
    pub fn check(&self, arguments: &Value) -> Result<(), InvalidArguments> {
        if self.validator.is_valid(arguments) {
            return Ok(());
        }
        let mut problems = Vec::new();
        let mut more = 0;
        for error in self.validator.iter_errors(arguments) {
            for problem in Problem::from_error(&error) {
                if problems.len() < MAX_PROBLEMS {
                    problems.push(problem);
                } else {
                    more += 1;
                }
            }
        }
        if problems.is_empty() {
            // `is_valid` and `iter_errors` disagree only if the validator does; say something.
            problems.push(Problem { field: None, message: "the arguments are invalid".into() });
        }
        Err(InvalidArguments { problems, more, expected: self.expected.clone() })
    }
}

/// One argument a tool takes, as its schema describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ArgumentSpec {
    /// The property's name.
    pub name: String,
    /// Its type in words: `string`, `integer`, `array of string`, `"a" | "b"`, `any`.
    pub kind: String,
    /// Whether the schema requires it.
    pub required: bool,
    /// Its `description`, if any.
    pub description: Option<String>,
    /// Its `default`, if any (compact JSON).
    pub default: Option<String>,
}

impl fmt::Display for ArgumentSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, self.kind)?;
        if self.required {
            f.write_str(" (required)")?;
        } else if let Some(default) = &self.default {
            write!(f, " (default {default})")?;
        }
        Ok(())
    }
}

/// The arguments a tool's `inputSchema` describes: one per top-level property, required ones
/// first (in the order of `required`), then the others by name.
pub fn describe(schema: &JsonObject) -> Vec<ArgumentSpec> {
    properties_required_first(schema)
        .into_iter()
        .map(|property| ArgumentSpec {
            name: property.name.to_string(),
            kind: kind_of(property.schema, schema, 0),
            required: property.required,
            description: property.description(),
            default: property.schema.get("default").filter(|d| !d.is_null()).map(Value::to_string),
        })
        .collect()
}

/// One top-level property of an object schema, as [`properties_required_first`] lists it.
pub(crate) struct SchemaProperty<'a> {
    /// The property's name.
    pub(crate) name: &'a str,
    /// Its schema.
    pub(crate) schema: &'a Value,
    /// Whether the object schema's `required` names it.
    pub(crate) required: bool,
}

impl SchemaProperty<'_> {
    /// The property's `description`, if it has a string one.
    pub(crate) fn description(&self) -> Option<String> {
        self.schema.get("description").and_then(Value::as_str).map(str::to_string)
    }
}

/// The top-level properties of an object schema: the required ones first, in the order of its
/// `required` list, then the optional ones by name. Shared by tool argument listings and the
/// prompt arguments derived from a type, so both order arguments the same way.
pub(crate) fn properties_required_first(schema: &JsonObject) -> Vec<SchemaProperty<'_>> {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(Value::Object(properties)) = schema.get("properties") else {
        return Vec::new();
    };
    let mut listed: Vec<(Option<usize>, SchemaProperty<'_>)> = properties
        .iter()
        .map(|(name, property)| {
            let position = required.iter().position(|r| r == name);
            let required = position.is_some();
            (position, SchemaProperty { name, schema: property, required })
        })
        .collect();
    // `None` (optional) sorts before `Some`, so key on "optional" first.
    listed.sort_by_key(|(position, property)| (position.is_none(), *position, property.name));
    listed.into_iter().map(|(_, property)| property).collect()
}

/// A property schema's type in words; `root` resolves local `$ref`s (`#/$defs/..`).
fn kind_of(property: &Value, root: &JsonObject, depth: usize) -> String {
    const ANY: &str = "any";
    if depth > 4 {
        return ANY.into();
    }
    let Some(schema) = property.as_object() else {
        return ANY.into();
    };
    if let Some(Value::String(reference)) = schema.get("$ref") {
        let target = reference
            .strip_prefix("#/")
            .map(|path| path.split('/').try_fold(root, |node, key| node.get(key)?.as_object()));
        return match target {
            Some(Some(target)) => kind_of(&Value::Object(target.clone()), root, depth + 1),
            _ => "object".into(),
        };
    }
    if let Some(Value::Array(options)) = schema.get("enum") {
        let options: Vec<String> = options.iter().map(Value::to_string).collect();
        return options.join(" | ");
    }
    if let Some(constant) = schema.get("const") {
        return constant.to_string();
    }
    match schema.get("type") {
        Some(Value::String(kind)) if kind == "array" => match schema.get("items") {
            Some(items) => format!("array of {}", kind_of(items, root, depth + 1)),
            None => "array".into(),
        },
        Some(Value::String(kind)) => kind.clone(),
        Some(Value::Array(kinds)) => {
            // `Option<T>` derives `["T", "null"]`: the null says "may be omitted".
            let kinds: Vec<&str> =
                kinds.iter().filter_map(Value::as_str).filter(|k| *k != "null").collect();
            if kinds.is_empty() { "null".into() } else { kinds.join(" | ") }
        }
        _ => {
            for key in ["anyOf", "oneOf"] {
                if let Some(Value::Array(options)) = schema.get(key) {
                    let mut kinds: Vec<String> = options
                        .iter()
                        .map(|option| kind_of(option, root, depth + 1))
                        .filter(|kind| kind != "null")
                        .collect();
                    kinds.dedup();
                    if !kinds.is_empty() {
                        return kinds.join(" | ");
                    }
                }
            }
            ANY.into()
        }
    }
}

/// Makes an object schema refuse properties it does not list (`additionalProperties: false`),
/// unless it already says what to do with them or combines subschemas (`allOf`, `anyOf`,
/// `oneOf`, `$ref`, `if`, `unevaluatedProperties`: there a local `false` would refuse the
/// other branches' properties). A schema without `properties` (any object) is left alone.
/// Returns whether it changed the schema.
///
/// ```
/// use mcp_ws_driver::arguments::deny_unknown_arguments;
/// use serde_json::json;
///
/// let mut schema = json!({"type": "object", "properties": {"a": {"type": "number"}}});
/// assert!(deny_unknown_arguments(schema.as_object_mut().unwrap()));
/// assert_eq!(schema["additionalProperties"], false);
/// ```
pub fn deny_unknown_arguments(schema: &mut JsonObject) -> bool {
    const OPEN: [&str; 8] = [
        "additionalProperties",
        "unevaluatedProperties",
        "patternProperties",
        "allOf",
        "anyOf",
        "oneOf",
        "$ref",
        "if",
    ];
    if !schema.contains_key("properties") || OPEN.iter().any(|key| schema.contains_key(*key)) {
        return false;
    }
    schema.insert("additionalProperties".into(), Value::Bool(false));
    true
}

/// What is wrong with one field of the arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Problem {
    /// The field (`a`, or `a.b.0` for a nested one); `None` for the arguments as a whole.
    pub field: Option<String>,
    /// What is wrong with it.
    pub message: String,
}

impl Problem {
    fn from_error(error: &jsonschema::ValidationError<'_>) -> Vec<Problem> {
        use jsonschema::error::ValidationErrorKind as Kind;
        let path = field_path(error.instance_path().as_str());
        let at = |field: Option<String>, message: String| Problem { field, message };
        match error.kind() {
            Kind::Required { property } => {
                let name = property.as_str().map_or_else(|| property.to_string(), str::to_string);
                let field = Some(join(&path, &name));
                vec![at(field, "missing (required)".into())]
            }
            Kind::AdditionalProperties { unexpected }
            | Kind::UnevaluatedProperties { unexpected } => unexpected
                .iter()
                .map(|name| at(Some(join(&path, name)), "unknown argument".into()))
                .collect(),
            Kind::Type { .. } => {
                let expected = match error.kind() {
                    Kind::Type { kind: jsonschema::error::TypeKind::Single(kind) } => {
                        kind.to_string()
                    }
                    Kind::Type { kind: jsonschema::error::TypeKind::Multiple(kinds) } => {
                        kinds.iter().map(|k| k.to_string()).collect::<Vec<_>>().join(" | ")
                    }
                    _ => unreachable!("matched above"),
                };
                let message = format!("expected {expected}, got {}", quote(error.instance()));
                vec![at(path, message)]
            }
            _ => vec![at(path, error.to_string())],
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.field, self.message.as_str()) {
            (Some(field), "unknown argument") => write!(f, "unknown argument \"{field}\""),
            (Some(field), "missing (required)") => {
                write!(f, "missing required argument \"{field}\"")
            }
            (Some(field), message) => write!(f, "argument \"{field}\": {message}"),
            (None, message) => f.write_str(message),
        }
    }
}

/// Arguments the tool's input schema does not accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidArguments {
    problems: Vec<Problem>,
    more: usize,
    expected: Vec<ArgumentSpec>,
}

impl InvalidArguments {
    /// What is wrong, at most [`MAX_PROBLEMS`] of them.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// What the tool takes.
    pub fn expected(&self) -> &[ArgumentSpec] {
        &self.expected
    }
}

impl fmt::Display for InvalidArguments {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{problem}")?;
        }
        if self.more > 0 {
            write!(f, "; and {} more", self.more)?;
        }
        // A name that is unknown or missing is best fixed knowing what the tool takes.
        let names = self.problems.iter().any(|p| {
            p.field.as_deref().is_some_and(|field| !field.contains('.'))
                && matches!(p.message.as_str(), "unknown argument" | "missing (required)")
        });
        if names {
            if self.expected.is_empty() {
                f.write_str(" (the tool takes no arguments)")?;
            } else {
                let expected: Vec<String> = self.expected.iter().map(|a| a.to_string()).collect();
                write!(f, " (the tool takes: {})", expected.join(", "))?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for InvalidArguments {}

/// `/a/b~1c/0` as `a.b/c.0`; `None` for the root.
fn field_path(pointer: &str) -> Option<String> {
    if pointer.is_empty() {
        return None;
    }
    let segments: Vec<String> = pointer
        .trim_start_matches('/')
        .split('/')
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect();
    Some(segments.join("."))
}

fn join(path: &Option<String>, name: &str) -> String {
    match path {
        Some(path) => format!("{path}.{name}"),
        None => name.to_string(),
    }
}

/// A value as compact JSON, cut after [`MAX_QUOTED`] characters.
fn quote(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(MAX_QUOTED) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema(value: Value) -> ArgumentSchema {
        let Value::Object(map) = value else { panic!("an object") };
        ArgumentSchema::compile(&map).expect("compiles")
    }

    fn count_schema() -> ArgumentSchema {
        schema(json!({
            "type": "object",
            "properties": {
                "steps": { "type": "integer", "minimum": 1, "default": 5 },
                "interval_ms": { "type": "integer", "minimum": 0, "default": 500 }
            },
            "additionalProperties": false
        }))
    }

    #[test]
    fn valid_arguments_pass() {
        assert_eq!(count_schema().check(&json!({"steps": 3})), Ok(()));
        assert_eq!(count_schema().check(&json!({})), Ok(()));
    }

    #[test]
    fn an_unknown_argument_is_named_with_what_the_tool_takes() {
        let error = count_schema().check(&json!({"n": 3})).unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown argument \"n\" (the tool takes: interval_ms: integer (default 500), \
             steps: integer (default 5))"
        );
    }

    #[test]
    fn a_missing_argument_and_a_wrong_type_are_named() {
        let add = schema(json!({
            "type": "object",
            "properties": { "a": { "type": "number" }, "b": { "type": "number" } },
            "required": ["a", "b"]
        }));
        let error = add.check(&json!({"a": "two"})).unwrap_err();
        let text = error.to_string();
        assert!(text.contains("argument \"a\": expected number, got \"two\""), "{text}");
        assert!(text.contains("missing required argument \"b\""), "{text}");
        assert!(text.ends_with("(the tool takes: a: number (required), b: number (required))"));
    }

    #[test]
    fn a_nested_field_and_a_bound_are_named() {
        let nested = schema(json!({
            "type": "object",
            "properties": { "point": {
                "type": "object",
                "properties": { "x": { "type": "integer", "minimum": 0 } }
            } }
        }));
        let error = nested.check(&json!({"point": {"x": -1}})).unwrap_err();
        assert_eq!(error.problems()[0].field.as_deref(), Some("point.x"));
        assert!(error.to_string().starts_with("argument \"point.x\": -1 is less than"), "{error}");
    }

    #[test]
    fn a_flood_of_unknown_arguments_is_listed_up_to_the_bound() {
        let many: serde_json::Map<String, Value> =
            (0..100).map(|i| (format!("x{i}"), json!(i))).collect();
        let error = count_schema().check(&Value::Object(many)).unwrap_err();
        assert_eq!(error.problems().len(), MAX_PROBLEMS);
        assert!(error.to_string().contains("and 92 more"), "{error}");
    }

    #[test]
    fn derived_style_schemas_refuse_unknown_fields_unless_they_say_otherwise() {
        let mut plain = json!({"type": "object", "properties": {"a": {}}});
        assert!(deny_unknown_arguments(plain.as_object_mut().unwrap()));
        for open in [
            json!({"type": "object"}),
            json!({"type": "object", "properties": {}, "additionalProperties": true}),
            json!({"type": "object", "properties": {"a": {}}, "oneOf": [{}, {}]}),
        ] {
            let mut changed = open.clone();
            assert!(!deny_unknown_arguments(changed.as_object_mut().unwrap()), "{open}");
            assert_eq!(changed, open);
        }
    }

    #[test]
    fn describe_lists_required_first_with_types_in_words() {
        let Value::Object(map) = json!({
            "type": "object",
            "properties": {
                "tags": { "type": "array", "items": { "type": "string" } },
                "mode": { "enum": ["fast", "slow"] },
                "note": { "type": ["string", "null"], "description": "A note." },
                "name": { "type": "string" }
            },
            "required": ["name"]
        }) else {
            unreachable!()
        };
        let specs: Vec<String> = describe(&map).iter().map(ToString::to_string).collect();
        assert_eq!(
            specs,
            [
                "name: string (required)",
                "mode: \"fast\" | \"slow\"",
                "note: string",
                "tags: array of string"
            ]
        );
    }

    #[test]
    fn a_schema_that_is_not_json_schema_is_an_error_not_a_panic() {
        let Value::Object(map) = json!({"type": 7}) else { unreachable!() };
        assert!(ArgumentSchema::compile(&map).is_err());
    }
}

/// What a check costs: `cargo test --release -p mcp-ws-driver --lib arguments::cost --
/// --ignored --nocapture` prints nanoseconds per call for a small schema (the demo's `echo`),
/// beside the `serde_json::from_value` every call did before the check existed.
#[cfg(test)]
mod cost {
    use std::time::Instant;

    use serde_json::json;

    use super::*;

    #[test]
    #[ignore = "a measurement, not a check: run it in release"]
    fn a_check_of_a_small_schema_costs_little_beside_the_parse() {
        let Value::Object(map) = json!({
            "type": "object",
            "properties": { "text": { "type": "string" } },
            "required": ["text"],
            "additionalProperties": false
        }) else {
            unreachable!()
        };
        let schema = ArgumentSchema::compile(&map).unwrap();
        let arguments = json!({ "text": "x".repeat(64) });
        #[derive(serde::Deserialize)]
        #[allow(dead_code)]
        struct Echo {
            text: String,
        }
        const N: u32 = 200_000;
        let started = Instant::now();
        for _ in 0..N {
            assert!(schema.check(std::hint::black_box(&arguments)).is_ok());
        }
        let check = started.elapsed() / N;
        let started = Instant::now();
        for _ in 0..N {
            let echo: Echo =
                serde_json::from_value(std::hint::black_box(arguments.clone())).unwrap();
            std::hint::black_box(echo);
        }
        let parse = started.elapsed() / N;
        println!("check: {check:?} per call; clone + from_value: {parse:?} per call");
    }
}
