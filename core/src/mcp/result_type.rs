//! 2026-07-28 result kinds and the multi-round-trip request flow (MRTR).
//!
//! Every modern result names its kind in `resultType`. A server that needs something from the
//! client before it can finish (a sampling, an elicitation, the client's roots) answers with an
//! [`InputRequiredResult`] listing [`InputRequests`] under keys of its choosing, plus an opaque
//! `requestState`. The client then re-sends the original request with [`InputResponses`] under
//! the same keys and the `requestState` echoed back.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::mcp::client_requests::{
    CreateMessageParams, CreateMessageResult, ElicitParams, ElicitResult, ListRootsResult,
};
use crate::mcp::common::{JsonObject, ResultType};
use crate::mcp::methods;

/// A result saying the server needs input from the client before it can answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InputRequiredResult {
    /// `"input_required"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_type: Option<ResultType>,
    /// What the server asks for, under keys the client must answer with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_requests: Option<InputRequests>,
    /// Opaque server state the client must send back unchanged on the retry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_state: Option<String>,
    /// Result metadata, such as the server identity.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<JsonObject>,
    /// Members this crate does not know, kept for forwarding.
    #[serde(flatten)]
    pub extra: JsonObject,
}

impl InputRequiredResult {
    /// An input-required result with its `resultType` set and nothing else.
    pub fn new() -> Self {
        InputRequiredResult { result_type: Some(ResultType::InputRequired), ..Default::default() }
    }
}

/// Input requests by the key the server chose for each.
pub type InputRequests = BTreeMap<String, InputRequest>;

/// Input responses by the key of the input request each answers.
pub type InputResponses = BTreeMap<String, InputResponse>;

/// One thing a server asks of the client inside an [`InputRequiredResult`]: a request without
/// a JSON-RPC id (`sampling/createMessage`, `roots/list` or `elicitation/create`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InputRequest {
    /// The method, as in [`crate::mcp::methods`].
    pub method: String,
    /// The params for that method, read with [`InputRequest::create_message`] and friends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Value>,
    /// Members this crate does not know, kept for forwarding.
    #[serde(flatten)]
    pub extra: JsonObject,
}

impl InputRequest {
    /// A request for a sampling.
    pub fn create_message(params: &CreateMessageParams) -> Result<Self, serde_json::Error> {
        Self::with(methods::SAMPLING_CREATE_MESSAGE, params)
    }

    /// A request for user input.
    pub fn elicit(params: &ElicitParams) -> Result<Self, serde_json::Error> {
        Self::with(methods::ELICITATION_CREATE, params)
    }

    /// A request for the client's roots.
    pub fn list_roots() -> Self {
        InputRequest { method: methods::ROOTS_LIST.to_owned(), ..Default::default() }
    }

    fn with<T: Serialize>(method: &str, params: &T) -> Result<Self, serde_json::Error> {
        Ok(InputRequest {
            method: method.to_owned(),
            params: Some(serde_json::to_value(params)?),
            extra: JsonObject::new(),
        })
    }

    /// The params as sampling params, when this is a `sampling/createMessage` request.
    pub fn as_create_message(&self) -> Option<Result<CreateMessageParams, serde_json::Error>> {
        self.params_for(methods::SAMPLING_CREATE_MESSAGE)
    }

    /// The params as elicitation params, when this is an `elicitation/create` request.
    pub fn as_elicit(&self) -> Option<Result<ElicitParams, serde_json::Error>> {
        self.params_for(methods::ELICITATION_CREATE)
    }

    fn params_for<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
    ) -> Option<Result<T, serde_json::Error>> {
        if self.method != method {
            return None;
        }
        let params = self.params.as_ref().unwrap_or(&Value::Null);
        Some(T::deserialize(params))
    }
}

/// The client's answer to one [`InputRequest`].
///
/// The wire form carries no tag, so the shape decides: a sampling result has `model`, a roots
/// result has `roots`, an elicitation result has `action`. Anything else is kept as
/// [`InputResponse::Other`].
// Payload views are short-lived and built once per message; boxing would only cost ergonomics.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum InputResponse {
    /// Answer to `sampling/createMessage`.
    CreateMessage(CreateMessageResult),
    /// Answer to `roots/list`.
    ListRoots(ListRootsResult),
    /// Answer to `elicitation/create`.
    Elicit(ElicitResult),
    /// A shape this crate does not recognise, kept verbatim.
    Other(Value),
}
