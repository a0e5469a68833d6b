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
use mcp_ws_core::mcp::methods;
use mcp_ws_core::mcp::{
    CreateMessageParams, CreateMessageResult, ElicitParams, ElicitResult, InputRequest,
    ListRootsResult,
};
use serde::de::DeserializeOwned;

use crate::error::CallError;
use crate::handle::CallOptions;
use crate::tasks::RequestContext;

impl RequestContext {
    /// Asks the client for its roots (`roots/list`).
    pub async fn list_roots(&self) -> Result<ListRootsResult, CallError> {
        if self.input.is_some() {
            return self.answer_or_ask(InputRequest::list_roots());
        }
        self.connection().call(methods::ROOTS_LIST, None, CallOptions::default()).await
    }

    /// Asks the client's model for a message (`sampling/createMessage`).
    pub async fn create_message(
        &self,
        params: &CreateMessageParams,
    ) -> Result<CreateMessageResult, CallError> {
        if self.input.is_some() {
            return self
                .answer_or_ask(InputRequest::create_message(params).map_err(unserialisable)?);
        }
        let raw = RawJson::from_serialize(params).map_err(unserialisable)?;
        self.connection()
            .call(methods::SAMPLING_CREATE_MESSAGE, Some(raw), CallOptions::default())
            .await
    }

    /// Asks the client's user for input (`elicitation/create`).
    pub async fn elicit(&self, params: &ElicitParams) -> Result<ElicitResult, CallError> {
        if self.input.is_some() {
            return self.answer_or_ask(InputRequest::elicit(params).map_err(unserialisable)?);
        }
        let raw = RawJson::from_serialize(params).map_err(unserialisable)?;
        self.connection().call(methods::ELICITATION_CREATE, Some(raw), CallOptions::default()).await
    }

    /// Whether this request runs in an `input_required` round (2026-07-28): questions to the
    /// client are answered from the retry, not sent as requests.
    pub fn in_input_round(&self) -> bool {
        self.input.is_some()
    }

    fn answer_or_ask<T: DeserializeOwned>(&self, request: InputRequest) -> Result<T, CallError> {
        let round = self.input.as_ref().expect("checked by the caller");
        let method = request.method.clone();
        let answer = round.lock().expect("lock").answer_or_ask(request);
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
