//! Content blocks and the small types they share: annotations, icons and the contents of a
//! resource (embedded in a block, or read with `resources/read`).
//!
//! A [`ContentBlock`] is one piece of a tool result, prompt message or sampling message,
//! selected by its `type` member. Versions add block types over time (`audio` in 2025-03-26,
//! `resource_link` in 2025-06-18, `tool_use`/`tool_result` for sampling in 2025-11-25); a block
//! with a type this crate does not know reads as [`ContentBlock::Unknown`] and is written back
//! unchanged.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::mcp::common::{JsonObject, Role};
use crate::mcp::num;

/// One piece of content, tagged by `type`.
#[derive(Debug, Clone, PartialEq)]
pub enum ContentBlock {
    /// `"text"`.
    Text(TextContent),
    /// `"image"`.
    Image(ImageContent),
    /// `"audio"` (2025-03-26 onwards).
    Audio(AudioContent),
    /// `"resource_link"` (2025-06-18 onwards).
    ResourceLink(ResourceLink),
    /// `"resource"`: a resource's contents inline.
    Resource(EmbeddedResource),
    /// `"tool_use"`: a model's tool call inside sampling (2025-11-25 onwards).
    ToolUse(ToolUseContent),
    /// `"tool_result"`: a tool's answer inside sampling (2025-11-25 onwards).
    ToolResult(ToolResultContent),
    /// A block whose `type` this crate does not know (or that has none), kept verbatim.
    Unknown(JsonObject),
}

impl ContentBlock {
    /// A text block with no annotations.
    pub fn text(text: impl Into<String>) -> Self {
        ContentBlock::Text(TextContent { text: text.into(), ..Default::default() })
    }

    /// The wire `type` of this block, when it has one.
    pub fn type_name(&self) -> Option<&str> {
        Some(match self {
            ContentBlock::Text(_) => "text",
            ContentBlock::Image(_) => "image",
            ContentBlock::Audio(_) => "audio",
            ContentBlock::ResourceLink(_) => "resource_link",
            ContentBlock::Resource(_) => "resource",
            ContentBlock::ToolUse(_) => "tool_use",
            ContentBlock::ToolResult(_) => "tool_result",
            ContentBlock::Unknown(map) => return map.get("type").and_then(Value::as_str),
        })
    }
}

/// Serializes `inner` with a `type` member in front.
#[derive(Serialize)]
struct Tagged<'a, T> {
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(flatten)]
    inner: &'a T,
}

impl Serialize for ContentBlock {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        fn tagged<S: Serializer, T: Serialize>(
            s: S,
            kind: &str,
            inner: &T,
        ) -> Result<S::Ok, S::Error> {
            Tagged { kind, inner }.serialize(s)
        }
        match self {
            ContentBlock::Text(c) => tagged(serializer, "text", c),
            ContentBlock::Image(c) => tagged(serializer, "image", c),
            ContentBlock::Audio(c) => tagged(serializer, "audio", c),
            ContentBlock::ResourceLink(c) => tagged(serializer, "resource_link", c),
            ContentBlock::Resource(c) => tagged(serializer, "resource", c),
            ContentBlock::ToolUse(c) => tagged(serializer, "tool_use", c),
            ContentBlock::ToolResult(c) => tagged(serializer, "tool_result", c),
            ContentBlock::Unknown(map) => map.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for ContentBlock {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut map = JsonObject::deserialize(deserializer)?;
        let kind = match map.get("type") {
            Some(Value::String(kind)) => kind.clone(),
            _ => return Ok(ContentBlock::Unknown(map)),
        };
        fn body<T: serde::de::DeserializeOwned, E: serde::de::Error>(
            map: JsonObject,
        ) -> Result<T, E> {
            T::deserialize(Value::Object(map)).map_err(E::custom)
        }
        let known = matches!(
            kind.as_str(),
            "text" | "image" | "audio" | "resource_link" | "resource" | "tool_use" | "tool_result"
        );
        if !known {
            return Ok(ContentBlock::Unknown(map));
        }
        map.remove("type");
        Ok(match kind.as_str() {
            "text" => ContentBlock::Text(body(map)?),
            "image" => ContentBlock::Image(body(map)?),
            "audio" => ContentBlock::Audio(body(map)?),
            "resource_link" => ContentBlock::ResourceLink(body(map)?),
            "resource" => ContentBlock::Resource(body(map)?),
            "tool_use" => ContentBlock::ToolUse(body(map)?),
            "tool_result" => ContentBlock::ToolResult(body(map)?),
            other => return Err(D::Error::custom(format_args!("unhandled content type {other}"))),
        })
    }
}

/// A `text` block.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TextContent {
    /// The text.
    pub text: String,
    /// Hints on audience and importance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Annotations>,
    /// Block metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<JsonObject>,
    /// Members this crate does not know, kept for forwarding.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// An `image` block.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageContent {
    /// The image bytes, base64-encoded.
    pub data: String,
    /// The image's MIME type.
    pub mime_type: String,
    /// Hints on audience and importance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Annotations>,
    /// Block metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<JsonObject>,
    /// Members this crate does not know, kept for forwarding.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// An `audio` block (2025-03-26 onwards).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AudioContent {
    /// The audio bytes, base64-encoded.
    pub data: String,
    /// The audio's MIME type.
    pub mime_type: String,
    /// Hints on audience and importance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Annotations>,
    /// Block metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<JsonObject>,
    /// Members this crate does not know, kept for forwarding.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// A `resource_link` block: a pointer to a resource rather than its contents (2025-06-18
/// onwards).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceLink {
    /// The resource's URI.
    pub uri: String,
    /// Machine-readable name.
    pub name: String,
    /// Human-readable display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What the resource is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The resource's MIME type, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Size in bytes, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Hints on audience and importance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Annotations>,
    /// Icons a user interface may show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icons: Option<Vec<Icon>>,
    /// Block metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<JsonObject>,
    /// Members this crate does not know, kept for forwarding.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// A `resource` block: a resource's contents embedded inline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmbeddedResource {
    /// The contents, as text or as a base64 blob.
    pub resource: ResourceContents,
    /// Hints on audience and importance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Annotations>,
    /// Block metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<JsonObject>,
    /// Members this crate does not know, kept for forwarding.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// A `tool_use` block: the model asks for a tool to be run, inside sampling (2025-11-25
/// onwards).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolUseContent {
    /// Identifies this call, so a `tool_result` can answer it.
    pub id: String,
    /// The tool to run.
    pub name: String,
    /// The tool's arguments, uninterpreted.
    pub input: JsonObject,
    /// Block metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<JsonObject>,
    /// Members this crate does not know, kept for forwarding.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// A `tool_result` block: the outcome of a `tool_use`, inside sampling (2025-11-25 onwards).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolResultContent {
    /// The `id` of the `tool_use` this answers.
    pub tool_use_id: String,
    /// What the tool returned.
    pub content: Vec<ContentBlock>,
    /// Machine-readable output, uninterpreted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub structured_content: Option<Value>,
    /// Whether the tool failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_error: Option<bool>,
    /// Block metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<JsonObject>,
    /// Members this crate does not know, kept for forwarding.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// Hints for clients on who content is for and how much it matters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Annotations {
    /// Who the content is meant for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<Vec<Role>>,
    /// Importance from 0 (least) to 1 (most).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "num::opt_f64_compact"
    )]
    pub priority: Option<f64>,
    /// When the content last changed, as an ISO 8601 timestamp (2025-06-18 onwards).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    /// Members this crate does not know, kept for forwarding.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// An image a user interface may show for a server, tool, resource or prompt (2025-11-25
/// onwards).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Icon {
    /// Where the image is: an `https:` or `data:` URI.
    pub src: String,
    /// The image's MIME type, when the source does not make it clear.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Sizes the image suits, such as `"48x48"` or `"any"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sizes: Option<Vec<String>>,
    /// The colour theme the icon is drawn for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theme: Option<IconTheme>,
    /// Members this crate does not know, kept for forwarding.
    #[serde(flatten)]
    pub extra: JsonObject,
}

string_enum! {
    /// The theme an [`Icon`] is drawn for.
    pub enum IconTheme {
        /// For light backgrounds.
        Light = "light",
        /// For dark backgrounds.
        Dark = "dark",
    }
}

/// The contents of one resource: text or a base64 blob.
///
/// The wire form has no tag; `text` or `blob` decides. An object with neither is kept as
/// [`ResourceContents::Other`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ResourceContents {
    /// Text contents.
    Text(TextResourceContents),
    /// Binary contents.
    Blob(BlobResourceContents),
    /// A shape this crate does not recognise, kept verbatim.
    Other(JsonObject),
}

/// Text contents of a resource.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TextResourceContents {
    /// The resource's URI.
    pub uri: String,
    /// The contents' MIME type, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// The text.
    pub text: String,
    /// Contents metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<JsonObject>,
    /// Members this crate does not know, kept for forwarding.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// Binary contents of a resource.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlobResourceContents {
    /// The resource's URI.
    pub uri: String,
    /// The contents' MIME type, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// The bytes, base64-encoded.
    pub blob: String,
    /// Contents metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<JsonObject>,
    /// Members this crate does not know, kept for forwarding.
    #[serde(flatten)]
    pub extra: JsonObject,
}
