//! What a server handler asks of its client: roots, sampling and elicitation, with one API
//! for both eras.
//!
//! - **Legacy era**: each call is a server-to-client request on the connection, awaited.
//! - **2026-07-28**: servers send no requests. The driver runs the handler inside an
//!   `input_required` round (see [`mcp_ws_core::mrtr`]): a call whose answer the client's retry
//!   carries returns it; a call without one returns [`CallError::InputRequired`] at once, and
//!   when the handler ends (whatever it returns) the driver answers the request with
//!   `resultType: "input_required"` listing **every** input the handler asked for and did not
//!   get, and a sealed `requestState`. The client answers and retries; the handler is **called
//!   again from the start** with the answers available, and runs to its end.
//!
//! What a handler may assume, and must do:
//! - It may run several times for one call (once per round, and again if a client replays a
//!   retry). Everything before its last question must be idempotent; side effects belong after
//!   the answers are in (`?` on each call gets this right).
//! - To ask for several things in one round, start the calls together (`futures::join!`, or
//!   call each before looking at any result): each records its question before the first one
//!   fails, so they reach the client in one `input_required`.
//! - Answers of earlier rounds stay available in later ones (they travel in the sealed state),
//!   and the same question (same method and params) gets the same answer.
//! - A question is keyed by its method and params (`roots`, `elicit-<hash>`,
//!   `sample-<hash>`): asking something that depends on an earlier answer is a new question in
//!   a new round.

use mcp_ws_core::RawJson;
use mcp_ws_core::mcp::{
    CreateMessageParams, CreateMessageResult, ElicitParams, ElicitResult, InputRequest,
    ListRootsResult, MissingCapabilityData,
};
use mcp_ws_core::mrtr::{MAX_INPUT_KEY_LEN, is_valid_input_key};
use serde::de::DeserializeOwned;

use crate::error::CallError;
use crate::tasks::RequestContext;

impl RequestContext {
    /// Asks the client for its roots (`roots/list`).
    pub async fn list_roots(&self) -> Result<ListRootsResult, CallError> {
        self.ask(None, InputRequest::list_roots()).await
    }

    /// As [`RequestContext::list_roots`], under `key` in `inputRequests` (2026-07-28; see
    /// [`RequestContext::elicit_as`]).
    pub async fn list_roots_as(&self, key: &str) -> Result<ListRootsResult, CallError> {
        self.ask(Some(key), InputRequest::list_roots()).await
    }

    /// Asks the client's model for a message (`sampling/createMessage`).
    pub async fn create_message(
        &self,
        params: &CreateMessageParams,
    ) -> Result<CreateMessageResult, CallError> {
        self.ask(None, InputRequest::create_message(params).map_err(unserialisable)?).await
    }

    /// As [`RequestContext::create_message`], under `key` in `inputRequests` (2026-07-28; see
    /// [`RequestContext::elicit_as`]).
    pub async fn create_message_as(
        &self,
        key: &str,
        params: &CreateMessageParams,
    ) -> Result<CreateMessageResult, CallError> {
        self.ask(Some(key), InputRequest::create_message(params).map_err(unserialisable)?).await
    }

    /// Asks the client's user for input (`elicitation/create`).
    pub async fn elicit(&self, params: &ElicitParams) -> Result<ElicitResult, CallError> {
        self.ask(None, InputRequest::elicit(params).map_err(unserialisable)?).await
    }

    /// As [`RequestContext::elicit`], but in 2026-07-28 the question travels under `key` in
    /// `inputRequests` (a name of your choosing, such as `user_name`, 1 to
    /// `mcp_ws_core::mrtr::MAX_INPUT_KEY_LEN` bytes without control
    /// characters) instead of one derived from the question, and the client answers under
    /// it. Use one key per question: asking something else under a key already answered
    /// gets that answer. In the legacy era the key is not used.
    pub async fn elicit_as(
        &self,
        key: &str,
        params: &ElicitParams,
    ) -> Result<ElicitResult, CallError> {
        self.ask(Some(key), InputRequest::elicit(params).map_err(unserialisable)?).await
    }

    /// Whether this request runs in an `input_required` round (2026-07-28): questions to the
    /// client are answered from the retry, not sent as requests.
    pub fn in_input_round(&self) -> bool {
        self.input.is_some()
    }

    /// Asks `request` of the client: from the round's answers (2026-07-28), or as a request on
    /// the connection (legacy era). A 2026-07-28 request whose declared capabilities do not
    /// cover it asks nothing and fails with [`CallError::MissingClientCapability`].
    async fn ask<T: DeserializeOwned>(
        &self,
        key: Option<&str>,
        request: InputRequest,
    ) -> Result<T, CallError> {
        if self.era() == mcp_ws_core::Era::Modern {
            if let Some(declared) = self.client_capabilities() {
                if let Some(missing) = MissingCapabilityData::for_request(&request.method, declared)
                {
                    return Err(CallError::MissingClientCapability(
                        missing.into_error(&request.method),
                    ));
                }
            }
        }
        let Some(round) = self.input.as_ref() else {
            let params = match request.params {
                Some(params) => Some(RawJson::from_serialize(&params).map_err(unserialisable)?),
                None => None,
            };
            // Tagged with this request, so Streamable HTTP asks on its stream.
            return self
                .connection()
                .call_for(self.request_id().clone(), &request.method, params)
                .await;
        };
        let method = request.method.clone();
        let answer = match key {
            Some(key) if !is_valid_input_key(key) => {
                return Err(CallError::InvalidResult(format!(
                    "invalid input key {key:?}: 1 to {MAX_INPUT_KEY_LEN} bytes, no control \
                     characters"
                )));
            }
            Some(key) => round.lock().expect("lock").answer_or_ask_as(key, request),
            None => round.lock().expect("lock").answer_or_ask(request),
        };
        match answer {
            Ok(value) => serde_json::from_value(value)
                .map_err(|e| CallError::InvalidResult(format!("{method}: {e}"))),
            Err(key) => Err(CallError::InputRequired { key }),
        }
    }
}

fn unserialisable(error: serde_json::Error) -> CallError {
    CallError::InvalidResult(format!("unserialisable params: {error}"))
}
