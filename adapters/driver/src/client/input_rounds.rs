//! The client's `input_required` loop (2026-07-28): a call whose result asks for input is
//! answered with the same [`PeerRequests`] that answer legacy server requests, then retried
//! with `inputResponses` and the server's `requestState`, until a final result or the round
//! limit ([`super::ClientConfig::input_rounds`]). The protocol side (reading results, building
//! the retry, bounding the rounds) is the core's [`InputRounds`] machine; this only sends.
//!
//! Each round is a request of its own (a new id) with the call's options: its timeout applies
//! per round, a retryable call is re-issued after a reconnect with the params of the round it
//! was in (the answers and the state it holds), and progress of every round arrives on the
//! call's one progress stream. Input requests of one round are answered concurrently; one
//! that has no handler ends the call with [`CallError::InputRounds`] naming it.
//!
//! A request (or round) refused with -32022 whose `supported` list names the session's own
//! version is sent again once, with a new id ([`retry_version`] decides); a second refusal
//! fails the call with it.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures_util::future::join_all;
use mcp_ws_core::mcp::{InputRequest, InputRequests};
use mcp_ws_core::mrtr::{InputRounds, RoundStep};
use mcp_ws_core::session::IncomingRequest;
use mcp_ws_core::version::retry_version;
use mcp_ws_core::{ErrorObject, RawJson, RequestId};
use serde_json::Value;

use super::{ClientShared, PeerRequests};
use crate::error::CallError;
use crate::handle::{CallOptions, ConnectionHandle, ProgressSender};
use crate::tasks::RequestContext;

/// One call and its rounds.
pub(super) struct RoundTrip {
    pub handle: ConnectionHandle,
    pub peer_requests: PeerRequests,
    pub limit: u32,
    pub method: String,
    pub params: Option<RawJson>,
    pub options: CallOptions,
    pub progress: Option<ProgressSender>,
    /// The client's shared state (the current session's version).
    pub shared: Arc<ClientShared>,
}

impl RoundTrip {
    /// Sends the call and answers its rounds; resolves with the final result.
    pub async fn run(self) -> Result<RawJson, CallError> {
        let send_once = |params: Option<RawJson>| {
            self.handle.start_request(
                self.method.clone(),
                params,
                self.options,
                self.progress.clone(),
                None,
            )
        };
        // A -32022 naming the version this session speaks (2026-07-28): sent again, once.
        let send = |params: Option<RawJson>| async {
            match send_once(params.clone()).await {
                Err(CallError::Rpc(error)) if self.may_send_again(&error) => {
                    send_once(params).await
                }
                other => other,
            }
        };
        let mut rounds = InputRounds::new(self.limit);
        let mut result = send(self.params.clone()).await?;
        loop {
            let requests = match rounds.on_result(result) {
                Ok(RoundStep::Complete(raw)) => return Ok(raw),
                Ok(RoundStep::Answer(requests)) => requests,
                Err(error) => return Err(CallError::InputRounds(error.to_string())),
            };
            let responses = self.answer(requests).await?;
            let retry = rounds
                .retry_params(self.params.as_ref(), responses)
                .map_err(|e| CallError::InputRounds(e.to_string()))?;
            result = send(Some(retry)).await?;
        }
    }

    /// Whether a refusal is a -32022 whose supported versions include the modern version of
    /// the current session ([`retry_version`]; a session speaks one version, so that is the
    /// only one a request can go again with).
    fn may_send_again(&self, error: &ErrorObject) -> bool {
        let session = self.shared.ready.lock().expect("lock").as_ref().map(|info| info.version);
        session.is_some_and(|version| retry_version(error, &[version]) == Some(version))
    }

    /// Answers every input request of a round with the client's handlers.
    async fn answer(&self, requests: InputRequests) -> Result<BTreeMap<String, Value>, CallError> {
        let answers = requests.into_iter().map(|(key, request)| async move {
            let answer = self.answer_one(&key, request).await;
            (key, answer)
        });
        let mut responses = BTreeMap::new();
        for (key, answer) in join_all(answers).await {
            responses.insert(key, answer?);
        }
        Ok(responses)
    }

    async fn answer_one(&self, key: &str, request: InputRequest) -> Result<Value, CallError> {
        let method = request.method.clone();
        let params = match &request.params {
            Some(params) => Some(
                RawJson::from_serialize(params)
                    .map_err(|e| CallError::InputRounds(format!("{key}: {e}")))?,
            ),
            None => None,
        };
        let id = RequestId::from(key.to_string());
        let incoming = IncomingRequest {
            id: id.clone(),
            method: method.clone(),
            params,
            wants_progress: false,
            era: mcp_ws_core::Era::Modern,
            log_level: None,
            client_capabilities: None,
        };
        let context = RequestContext::detached(id, self.handle.clone());
        let answer = self.peer_requests.handle(incoming, context).await.map_err(|error| {
            CallError::InputRounds(format!(
                "the server asked for {method} ({key}) and this client cannot answer: {} {}",
                error.code, error.message
            ))
        })?;
        answer.parse().map_err(|e| CallError::InputRounds(format!("{key}: {e}")))
    }
}
