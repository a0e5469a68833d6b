//! Typed views of MCP payloads, one struct set for every released protocol version.
//!
//! The JSON-RPC envelope ([`crate::message`]) keeps params and results as raw JSON; the types here
//! give those payloads a shape. They are views, not validators: a field that only some versions
//! define is an `Option`, every struct keeps the members it does not know in an `extra` map and
//! writes them back unchanged, and enums over a `type` tag or a string value keep an unknown
//! variant instead of failing. Deep JSON that MCP itself does not interpret (tool input schemas,
//! tool arguments, structured content, log data) stays [`serde_json::Value`] or a JSON object.
//!
//! Parse a payload with [`crate::RawJson::parse`] and build one with
//! [`crate::RawJson::from_serialize`].
//!
//! | module | what it holds |
//! |---|---|
//! | [`methods`] | method names of every request and notification |
//! | [`meta`] | `_meta` keys and helpers (2026-07-28 per-request metadata, progress tokens) |
//! | [`common`] | shapes shared by many methods: bare params, empty results, pagination, roles, `resultType` |
//! | [`lifecycle`] | `initialize`, `initialized`, `ping`, implementation identity |
//! | [`capabilities`] | client and server capabilities |
//! | [`content`] | content blocks, annotations, icons, resource contents |
//! | [`tool_definition`] | a tool as listed: name, schemas, annotations |
//! | [`tools`] | `tools/list`, `tools/call` |
//! | [`resources`] | `resources/*` |
//! | [`prompts`] | `prompts/*` |
//! | [`completion`] | `completion/complete` |
//! | [`logging`] | `logging/setLevel`, `notifications/message` |
//! | [`notifications`] | progress, cancellation, list changes, resource updates |
//! | [`client_requests`] | requests a server makes of a client: roots, sampling, elicitation |
//! | [`discover`] | `server/discover` (2026-07-28) |
//! | [`result_type`] | input-required results, input requests and responses (2026-07-28) |
//! | [`subscriptions`] | `subscriptions/listen` (2026-07-28) |
//! | [`errors`] | structured `data` of MCP-defined errors |
//!
//! The modules form layers without cycles: the leaves (`common`, `methods`, `capabilities`,
//! `content`, `tool_definition`) come first, the requests a server makes of a client
//! (`client_requests`) build on them, the input-required flow (`result_type`) on those, and the
//! method modules (`tools`, `resources`, `prompts`, ...) on all of them. `core/tests/module_layers.rs`
//! fails on an import that closes a cycle.

#[macro_use]
mod macros;
pub mod capabilities;
pub mod client_requests;
pub mod common;
pub mod completion;
pub mod content;
pub mod discover;
pub mod errors;
pub mod lifecycle;
pub mod logging;
pub mod meta;
pub mod methods;
pub mod notifications;
mod num;
pub mod prompts;
pub mod resources;
pub mod result_type;
pub mod subscriptions;
pub mod tool_definition;
pub mod tools;

pub use capabilities::{
    ClientCapabilities, ElicitationCapability, PromptsCapability, ResourcesCapability,
    RootsCapability, SamplingCapability, ServerCapabilities, ToolsCapability,
};
pub use client_requests::{
    CreateMessageParams, CreateMessageResult, ElicitAction, ElicitParams, ElicitResult,
    ElicitationCompleteParams, EnumOption, IncludeContext, ListRootsResult, ModelHint,
    ModelPreferences, PrimitiveSchema, RequestedSchema, Root, SamplingContent, SamplingMessage,
    ToolChoice,
};
pub use common::{
    CacheScope, EmptyResult, JsonObject, NotificationParams, PaginatedParams, RequestParams,
    ResultType, Role,
};
pub use completion::{
    CompleteParams, CompleteResult, Completion, CompletionArgument, CompletionContext,
    CompletionReference, PromptReference, ResourceTemplateReference,
};
pub use content::{
    Annotations, AudioContent, BlobResourceContents, ContentBlock, EmbeddedResource, Icon,
    IconTheme, ImageContent, ResourceContents, ResourceLink, TextContent, TextResourceContents,
    ToolResultContent, ToolUseContent,
};
pub use discover::DiscoverResult;
pub use errors::{MissingCapabilityData, UnsupportedVersionData};
pub use lifecycle::{Implementation, InitializeParams, InitializeResult};
pub use logging::{LoggingLevel, LoggingMessageParams, SetLevelParams, log_allowed};
pub use meta::{NotificationMeta, RequestMeta, ResultMeta};
pub use notifications::{
    CancelledNotificationParams, ProgressNotificationParams, ProgressToken,
    ResourceUpdatedNotificationParams,
};
pub use prompts::{
    GetPromptParams, GetPromptResult, ListPromptsResult, Prompt, PromptArgument, PromptMessage,
};
pub use resources::{
    ListResourceTemplatesResult, ListResourcesResult, ReadResourceParams, ReadResourceResult,
    Resource, ResourceTemplate, SubscribeParams,
};
pub use result_type::{
    InputRequest, InputRequests, InputRequiredResult, InputResponse, InputResponses,
};
pub use subscriptions::{
    SubscriptionFilter, SubscriptionsAcknowledgedParams, SubscriptionsListenParams,
    SubscriptionsListenResult,
};
pub use tool_definition::{Tool, ToolAnnotations, ToolExecution};
pub use tools::{CallToolParams, CallToolResult, ListToolsResult};
