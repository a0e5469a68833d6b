//! Typed requests a server handler sends to its client in the legacy era: roots, sampling and
//! elicitation. (In 2026-07-28 servers send no requests; these fail with
//! [`CallError::Refused`].)

use mcp_ws_core::RawJson;
use mcp_ws_core::mcp::methods;
use mcp_ws_core::mcp::{
    CreateMessageParams, CreateMessageResult, ElicitParams, ElicitResult, ListRootsResult,
};

use crate::error::CallError;
use crate::handle::CallOptions;
use crate::tasks::RequestContext;

impl RequestContext {
    /// Asks the client for its roots (`roots/list`).
    pub async fn list_roots(&self) -> Result<ListRootsResult, CallError> {
        self.connection().call(methods::ROOTS_LIST, None, CallOptions::default()).await
    }

    /// Asks the client's model for a message (`sampling/createMessage`).
    pub async fn create_message(
        &self,
        params: &CreateMessageParams,
    ) -> Result<CreateMessageResult, CallError> {
        let raw = RawJson::from_serialize(params)
            .map_err(|e| CallError::InvalidResult(format!("unserialisable params: {e}")))?;
        self.connection()
            .call(methods::SAMPLING_CREATE_MESSAGE, Some(raw), CallOptions::default())
            .await
    }

    /// Asks the client's user for input (`elicitation/create`).
    pub async fn elicit(&self, params: &ElicitParams) -> Result<ElicitResult, CallError> {
        let raw = RawJson::from_serialize(params)
            .map_err(|e| CallError::InvalidResult(format!("unserialisable params: {e}")))?;
        self.connection().call(methods::ELICITATION_CREATE, Some(raw), CallOptions::default()).await
    }
}
