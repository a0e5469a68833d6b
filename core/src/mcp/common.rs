//! Shapes many methods share: params that carry nothing but `_meta`, the empty result,
//! pagination, conversation roles and the 2026-07-28 cache scope.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A JSON object, as used for `_meta`, `extra` and opaque capability objects.
pub type JsonObject = Map<String, Value>;

/// Params of a request that takes no arguments of its own (`ping`, `server/discover`,
/// `roots/list`, ...): only `_meta`, plus whatever a peer added.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestParams {
    /// Request metadata: progress token and, from 2026-07-28, the client's version,
    /// capabilities and identity (see [`crate::mcp::meta`]).
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<JsonObject>,
    /// Members this crate does not know, kept for forwarding.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// Params of a notification that carries no data of its own (`notifications/initialized`, the
/// `list_changed` notifications).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationParams {
    /// Notification metadata, such as the 2026-07-28 subscription id.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<JsonObject>,
    /// Members this crate does not know, kept for forwarding.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// A result with no content of its own, such as the answer to `ping` or `logging/setLevel`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmptyResult {
    /// `"complete"` in 2026-07-28; absent before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_type: Option<ResultType>,
    /// Result metadata, such as the 2026-07-28 server identity.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<JsonObject>,
    /// Members this crate does not know, kept for forwarding.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// Params of a paginated list request (`tools/list`, `resources/list`, `prompts/list`, ...).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaginatedParams {
    /// The opaque cursor from a previous page's `nextCursor`; absent for the first page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Request metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<JsonObject>,
    /// Members this crate does not know, kept for forwarding.
    #[serde(flatten)]
    pub extra: JsonObject,
}

string_enum! {
    /// Who a message or piece of content is from or meant for.
    pub enum Role {
        /// The human side of the conversation.
        User = "user",
        /// The model side of the conversation.
        Assistant = "assistant",
    }
}

string_enum! {
    /// Who may cache a 2026-07-28 result (`cacheScope`).
    pub enum CacheScope {
        /// Only the requesting client may reuse the result.
        Private = "private",
        /// Any client of the server may reuse the result.
        Public = "public",
    }
}

string_enum! {
    /// The kind of a 2026-07-28 result (`resultType`). An absent value means complete.
    pub enum ResultType {
        /// The request is answered.
        Complete = "complete",
        /// The server needs input from the client first; see [`crate::mcp::InputRequiredResult`].
        InputRequired = "input_required",
    }
}

impl ResultType {
    /// Whether a result with this `resultType` (absent counts as complete) is final.
    pub fn is_complete(value: Option<&ResultType>) -> bool {
        matches!(value, None | Some(ResultType::Complete))
    }
}
