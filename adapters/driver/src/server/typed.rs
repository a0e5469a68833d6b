//! The typed side of the [`super::Router`]: schemas derived from Rust types with `schemars`,
//! tool outputs ([`ToolOutput`], [`Structured`]), the tool error that takes `?` from any
//! `std::error::Error` ([`ToolError`]), and prompt argument lists derived from a struct.
//!
//! Schemas follow JSON Schema 2020-12 (the dialect MCP 2025-11-25 names as the default) and
//! always have `"type": "object"` at the top, as MCP requires of `inputSchema` and
//! `outputSchema`.

use std::fmt;

use mcp_ws_core::mcp::{CallToolResult, ContentBlock, JsonObject, PromptArgument};
use mcp_ws_core::{ErrorCode, ErrorObject};
use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde::Serialize;
use serde_json::Value;

/// Why a tool call failed.
///
/// Two kinds, answered differently:
/// - a **tool failure** (the usual case): answered as a `tools/call` result with
///   `isError: true` and the message as text, so the model reads it. Any `std::error::Error`
///   converts into one, so `?` works on `io::Error`, `serde_json::Error` and the like; the
///   message is the error's `Display` followed by its `source()` chain. [`ToolError::msg`]
///   makes one from a message.
/// - a **protocol error** ([`ToolError::protocol`]): answered as a JSON-RPC error with that
///   code and message (for a request the tool cannot accept at all).
///
/// `ToolError` does not implement `std::error::Error` itself (like `anyhow::Error`), which is
/// what lets it convert from every type that does.
///
/// ```
/// use mcp_ws_driver::core::{ErrorCode, ErrorObject};
/// use mcp_ws_driver::{Router, ToolError};
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct Path {
///     path: String,
/// }
///
/// let router = Router::new()
///     // `?` on an io::Error: the model reads "No such file or directory (os error 2)".
///     .tool("read", "Reads a file", |p: Path, _| async move {
///         Ok(std::fs::read_to_string(&p.path)?)
///     })
///     .tool("secret", "Refuses every call", |_: Path, _| async move {
///         // A JSON-RPC error instead of a result the model reads.
///         let refused = ErrorObject::new(ErrorCode::InvalidParams, "this tool is closed");
///         Err::<String, _>(ToolError::protocol(refused))
///     });
/// # let _ = router;
/// ```
pub struct ToolError {
    kind: Kind,
}

enum Kind {
    Failed(String),
    Protocol(ErrorObject),
}

impl ToolError {
    /// A tool failure with this message (`isError: true`).
    pub fn msg(message: impl Into<String>) -> Self {
        ToolError { kind: Kind::Failed(message.into()) }
    }

    /// A protocol error: the call is answered with this JSON-RPC error instead of a result.
    pub fn protocol(error: ErrorObject) -> Self {
        ToolError { kind: Kind::Protocol(error) }
    }

    /// The message: the failure's text, or the protocol error's message.
    pub fn message(&self) -> &str {
        match &self.kind {
            Kind::Failed(message) => message,
            Kind::Protocol(error) => &error.message,
        }
    }

    /// The JSON-RPC error, when this is a protocol error.
    pub fn as_protocol(&self) -> Option<&ErrorObject> {
        match &self.kind {
            Kind::Failed(_) => None,
            Kind::Protocol(error) => Some(error),
        }
    }

    /// The answer: a failed result, or the JSON-RPC error.
    /// As a JSON-RPC error (for requests with no `isError` form, such as resource reads): a
    /// failure is -32603 with its message, a protocol error stays as it is.
    pub(crate) fn into_error(self) -> ErrorObject {
        match self.kind {
            Kind::Failed(message) => ErrorObject::new(ErrorCode::InternalError, message),
            Kind::Protocol(error) => error,
        }
    }

    pub(crate) fn into_answer(self) -> Result<CallToolResult, ErrorObject> {
        match self.kind {
            Kind::Failed(message) => Ok(CallToolResult::error(message)),
            Kind::Protocol(error) => Err(error),
        }
    }
}

impl fmt::Debug for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Failed(message) => f.debug_tuple("ToolError::Failed").field(message).finish(),
            Kind::Protocol(error) => f.debug_tuple("ToolError::Protocol").field(error).finish(),
        }
    }
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Failed(message) => f.write_str(message),
            Kind::Protocol(error) => write!(f, "error {}: {}", error.code, error.message),
        }
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for ToolError {
    fn from(error: E) -> Self {
        // A capability the client did not declare is the request's fault, not the tool's:
        // answered with the JSON-RPC error -32021 the specification requires.
        let any: &dyn std::any::Any = &error;
        if let Some(crate::error::CallError::MissingClientCapability(missing)) = any.downcast_ref()
        {
            return ToolError::protocol(missing.clone());
        }
        ToolError::msg(chain(&error))
    }
}

/// `error`'s message followed by those of its sources, `": "` between them.
fn chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        // Some errors repeat their source's message in their own; say it once.
        if !message.ends_with(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

/// What a tool handler may return on success: the `tools/call` result it becomes, and the
/// `outputSchema` it declares (if any).
///
/// Implemented for [`CallToolResult`] (as is), `String` and `&'static str` (one text block),
/// and [`Structured<T>`] (structured content with a derived output schema).
pub trait ToolOutput {
    /// The tool's `outputSchema`, derived from the type; `None` declares none.
    fn output_schema() -> Option<JsonObject> {
        None
    }

    /// The result to answer with.
    fn into_call_result(self) -> Result<CallToolResult, ToolError>;
}

impl ToolOutput for CallToolResult {
    fn into_call_result(self) -> Result<CallToolResult, ToolError> {
        Ok(self)
    }
}

impl ToolOutput for String {
    fn into_call_result(self) -> Result<CallToolResult, ToolError> {
        Ok(CallToolResult::text(self))
    }
}

impl ToolOutput for &'static str {
    fn into_call_result(self) -> Result<CallToolResult, ToolError> {
        Ok(CallToolResult::text(self))
    }
}

/// A typed, structured tool result: `T` becomes the result's `structuredContent` (and, as MCP
/// recommends for older clients, the same JSON as a text block), and the tool declares an
/// `outputSchema` derived from `T`. `T` must serialise as a JSON object (a struct or a map);
/// registering a tool whose `T` does not panics.
///
/// ```
/// use mcp_ws_driver::{Router, Structured};
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct City {
///     name: String,
/// }
///
/// #[derive(serde::Serialize, schemars::JsonSchema)]
/// struct Weather {
///     celsius: f64,
///     sky: String,
/// }
///
/// let router = Router::new().tool("weather", "Today's weather", |city: City, _| async move {
///     let _ = city.name;
///     Ok(Structured(Weather { celsius: 21.5, sky: "clear".into() }))
/// });
/// // The tool declares the output schema derived from `Weather`.
/// let schema = router.tools()[0].output_schema.as_ref().unwrap();
/// assert!(schema["properties"]["celsius"].is_object());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Structured<T>(pub T);

impl<T: Serialize + JsonSchema> ToolOutput for Structured<T> {
    fn output_schema() -> Option<JsonObject> {
        Some(object_schema::<T>("the output of a tool (Structured<T>)"))
    }

    fn into_call_result(self) -> Result<CallToolResult, ToolError> {
        let value = serde_json::to_value(&self.0)?;
        if !value.is_object() {
            return Err(ToolError::msg("the tool's structured output is not a JSON object"));
        }
        Ok(CallToolResult {
            content: vec![ContentBlock::text(value.to_string())],
            structured_content: Some(value),
            ..Default::default()
        })
    }
}

/// The JSON Schema (2020-12) of `T` as an object schema for MCP.
///
/// The schema of "any value" (`serde_json::Value`, say) becomes `{"type": "object"}`. Panics
/// if `T` is not described by an object schema (a `String` or a tuple, say): tool arguments
/// and structured outputs are objects in MCP, so this is a programming error.
pub fn object_schema<T: JsonSchema>(what: &str) -> JsonObject {
    let generator = SchemaSettings::draft2020_12().into_generator();
    let schema = generator.into_root_schema_for::<T>();
    let mut map = match schema.to_value() {
        Value::Object(map) => map,
        Value::Bool(true) => JsonObject::new(),
        other => panic!("{what}: the schema of {} is {other}, not an object", T::schema_name()),
    };
    let constrains = map.keys().any(|key| !matches!(key.as_str(), "$schema" | "title"));
    match map.get("type") {
        Some(Value::String(kind)) if kind == "object" => {}
        None if !constrains => {
            map.insert("type".into(), Value::String("object".into()));
        }
        _ => panic!(
            "{what}: {} is not described by an object schema (use a struct with named fields)",
            T::schema_name()
        ),
    }
    map
}

/// The prompt arguments of `T`: one per property of its object schema, with the property's
/// `description` and `required` when the schema requires it. Required arguments come first
/// (in the order of the schema's `required` list), then the optional ones by name.
pub fn prompt_arguments<T: JsonSchema>() -> Vec<PromptArgument> {
    let schema = object_schema::<T>("the arguments of a prompt");
    crate::arguments::properties_required_first(&schema)
        .into_iter()
        .map(|property| PromptArgument {
            name: property.name.to_string(),
            description: property.description(),
            required: Some(property.required),
            ..Default::default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Greet {
        /// Who to greet.
        name: String,
        times: Option<u32>,
    }

    #[test]
    fn a_struct_gives_an_object_schema_with_its_fields_and_doc_comments() {
        let schema = object_schema::<Greet>("test");
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["properties"]["name"]["description"], "Who to greet.");
        assert_eq!(schema["required"], serde_json::json!(["name"]));
    }

    #[test]
    fn any_value_becomes_an_empty_object_schema() {
        let schema = object_schema::<Value>("test");
        assert_eq!(schema.get("type"), Some(&Value::String("object".into())));
    }

    #[test]
    #[should_panic(expected = "not described by an object schema")]
    fn a_string_is_refused_as_tool_arguments() {
        object_schema::<String>("test");
    }

    #[test]
    fn prompt_arguments_follow_the_struct() {
        let arguments = prompt_arguments::<Greet>();
        let names: Vec<(&str, Option<bool>)> =
            arguments.iter().map(|a| (a.name.as_str(), a.required)).collect();
        assert_eq!(names, [("name", Some(true)), ("times", Some(false))]);
        assert_eq!(arguments[0].description.as_deref(), Some("Who to greet."));
    }

    #[test]
    fn an_io_error_converts_with_its_message() {
        fn read() -> Result<(), ToolError> {
            Err(std::io::Error::new(std::io::ErrorKind::NotFound, "no such file: a.txt"))?;
            Ok(())
        }
        let error = read().unwrap_err();
        assert_eq!(error.message(), "no such file: a.txt");
        assert!(error.as_protocol().is_none());
    }
}
