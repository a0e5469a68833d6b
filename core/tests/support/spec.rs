//! The official MCP JSON Schemas as validators, shared by the core's conformance tests and the
//! workspace tests that check what the real router sends (included there with `#[path]`).
//!
//! A message is checked against the JSON-RPC envelope definition of its kind combined with the
//! definition that names it (for results, the result definition applied to the `result`
//! member). The schemas are unmodified copies in `core/tests/fixtures/spec/<version>/`.

use std::fs;
use std::path::Path;

use serde_json::{Value, json};

/// How a message is checked.
#[derive(Debug, Clone, Copy)]
pub enum Check {
    /// A request: the JSON-RPC request envelope and this request definition.
    Request(&'static str),
    /// A notification: the JSON-RPC notification envelope and this definition.
    Notification(&'static str),
    /// A result response: the envelope, with this definition applied to `result`.
    Result(&'static str),
    /// An error response: the envelope and, when given, this error definition.
    Error(Option<&'static str>),
}

/// One version's schema.
pub struct Spec {
    /// The version, as its directory is named.
    pub version: String,
    root: Value,
}

impl Spec {
    /// Loads `<fixtures>/<version>/schema.json`, where `fixtures` is the core's
    /// `tests/fixtures/spec` directory.
    pub fn load_from(fixtures: &Path, version: &str) -> Spec {
        let path = fixtures.join(version).join("schema.json");
        let text = fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("schema must exist at {}: {e}", path.display()));
        Spec { version: version.to_string(), root: serde_json::from_str(&text).expect("JSON") }
    }

    fn defs_key(&self) -> &'static str {
        if self.root.get("$defs").is_some() { "$defs" } else { "definitions" }
    }

    /// Whether the schema defines `def`.
    pub fn has(&self, def: &str) -> bool {
        self.root[self.defs_key()].get(def).is_some()
    }

    fn reference(&self, def: &str) -> Value {
        assert!(self.has(def), "{} has no definition {def}", self.version);
        json!({ "$ref": format!("#/{}/{def}", self.defs_key()) })
    }

    fn envelope(&self, kind: &str) -> &'static str {
        let modern_names = self.has("JSONRPCResultResponse");
        match (kind, modern_names) {
            ("request", _) => "JSONRPCRequest",
            ("notification", _) => "JSONRPCNotification",
            ("result", true) => "JSONRPCResultResponse",
            ("result", false) => "JSONRPCResponse",
            ("error", true) => "JSONRPCErrorResponse",
            ("error", false) => "JSONRPCError",
            _ => unreachable!(),
        }
    }

    /// The root schema with its own constraints replaced by `all_of`.
    fn validator(&self, check: Check) -> jsonschema::Validator {
        let all_of = match check {
            Check::Request(def) => {
                vec![self.reference(self.envelope("request")), self.reference(def)]
            }
            Check::Notification(def) => {
                vec![self.reference(self.envelope("notification")), self.reference(def)]
            }
            Check::Result(def) => vec![
                self.reference(self.envelope("result")),
                json!({ "properties": { "result": self.reference(def) }, "required": ["result"] }),
            ],
            Check::Error(def) => {
                let mut v = vec![self.reference(self.envelope("error"))];
                v.extend(def.map(|d| self.reference(d)));
                v
            }
        };
        let mut schema = serde_json::Map::new();
        schema.insert("$schema".into(), self.root["$schema"].clone());
        let key = self.defs_key();
        schema.insert(key.into(), self.root[key].clone());
        schema.insert("allOf".into(), Value::Array(all_of));
        jsonschema::validator_for(&Value::Object(schema)).expect("schema compiles")
    }

    /// Validation errors of the JSON message `instance` under `check`, as text.
    pub fn errors_of(&self, instance: &Value, check: Check) -> Vec<String> {
        let validator = self.validator(check);
        validator.iter_errors(instance).map(|e| format!("{e} at {}", e.instance_path())).collect()
    }
}
