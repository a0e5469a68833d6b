//! The client's side of `input_required` round trips: a small machine per call.
//!
//! The caller sends the request, then feeds every result to [`InputRounds::on_result`]:
//! - [`RoundStep::Complete`]: the final result, handed to the application;
//! - [`RoundStep::Answer`]: the server needs input: answer each request (roots, sampling,
//!   elicitation), then send [`InputRounds::retry_params`] as the params of a new request of
//!   the same method, and feed its result here again;
//! - an error ([`RoundsError`]): the call ends with it (too many rounds, a malformed result).
//!
//! After a terminal step (a `Complete` or an error) the machine is finished and refuses more
//! input, so a call ends with exactly one outcome.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::mcp::{InputRequests, InputRequiredResult, ResultType};
use crate::raw::RawJson;

use super::server::MAX_INPUT_REQUESTS;

/// What to do with a result.
#[derive(Debug, Clone, PartialEq)]
pub enum RoundStep {
    /// The request is answered: this is its result.
    Complete(RawJson),
    /// The server needs input: answer these, then retry with [`InputRounds::retry_params`].
    Answer(InputRequests),
}

/// Why a call's rounds ended without a final result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RoundsError {
    /// The server still wanted input after the configured number of rounds.
    #[error("the server still needs input after {limit} rounds")]
    TooManyRounds {
        /// The configured limit.
        limit: u32,
    },
    /// An `input_required` result this client cannot act on.
    #[error("malformed input_required result: {0}")]
    Malformed(String),
    /// The machine already ended (a misuse of the API).
    #[error("the call's rounds are over")]
    Finished,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResultTypeProbe {
    #[serde(default)]
    result_type: Option<ResultType>,
}

/// The rounds of one call (see the module docs).
#[derive(Debug, Clone)]
pub struct InputRounds {
    limit: u32,
    rounds: u32,
    state: Option<String>,
    finished: bool,
}

impl InputRounds {
    /// A call that may take up to `limit` `input_required` rounds (0: none are answered).
    pub fn new(limit: u32) -> InputRounds {
        InputRounds { limit, rounds: 0, state: None, finished: false }
    }

    /// How many `input_required` results were answered so far.
    pub fn rounds(&self) -> u32 {
        self.rounds
    }

    /// Whether the call has ended (a final result or an error was returned).
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Reads one result of the call.
    pub fn on_result(&mut self, result: RawJson) -> Result<RoundStep, RoundsError> {
        if self.finished {
            return Err(RoundsError::Finished);
        }
        let step = self.read(result);
        if !matches!(step, Ok(RoundStep::Answer(_))) {
            self.finished = true;
        }
        step
    }

    /// Ends the call from outside (the request failed): later results are refused.
    pub fn end(&mut self) {
        self.finished = true;
    }

    fn read(&mut self, result: RawJson) -> Result<RoundStep, RoundsError> {
        // Only a result that names the kind needs a parse.
        if !result.get().contains("input_required") {
            return Ok(RoundStep::Complete(result));
        }
        let probe: ResultTypeProbe = match result.parse() {
            Ok(probe) => probe,
            Err(_) => return Ok(RoundStep::Complete(result)),
        };
        if ResultType::is_complete(probe.result_type.as_ref()) {
            return Ok(RoundStep::Complete(result));
        }
        if probe.result_type != Some(ResultType::InputRequired) {
            return Err(RoundsError::Malformed("unknown resultType".into()));
        }
        let asked: InputRequiredResult =
            result.parse().map_err(|e| RoundsError::Malformed(e.to_string()))?;
        let requests = asked.input_requests.unwrap_or_default();
        if requests.is_empty() && asked.request_state.is_none() {
            return Err(RoundsError::Malformed(
                "neither inputRequests nor requestState is present".into(),
            ));
        }
        if requests.len() > MAX_INPUT_REQUESTS {
            return Err(RoundsError::Malformed(format!(
                "{} input requests at once (at most {MAX_INPUT_REQUESTS})",
                requests.len()
            )));
        }
        if self.rounds >= self.limit {
            return Err(RoundsError::TooManyRounds { limit: self.limit });
        }
        self.rounds += 1;
        self.state = asked.request_state;
        Ok(RoundStep::Answer(requests))
    }

    /// The params of the retry: the original `params` with `inputResponses` (the answers, by
    /// key) and the `requestState` of the last `input_required` result, which replace any the
    /// original carried.
    pub fn retry_params(
        &self,
        params: Option<&RawJson>,
        responses: BTreeMap<String, Value>,
    ) -> Result<RawJson, RoundsError> {
        let mut object = match params.map(RawJson::parse::<Value>) {
            None => serde_json::Map::new(),
            Some(Ok(Value::Object(object))) => object,
            Some(_) => return Err(RoundsError::Malformed("the params are not an object".into())),
        };
        object.remove("inputResponses");
        object.remove("requestState");
        if !responses.is_empty() {
            let responses = responses.into_iter().collect();
            object.insert("inputResponses".into(), Value::Object(responses));
        }
        if let Some(state) = &self.state {
            object.insert("requestState".into(), Value::String(state.clone()));
        }
        RawJson::from_serialize(&Value::Object(object))
            .map_err(|e| RoundsError::Malformed(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn raw(value: Value) -> RawJson {
        RawJson::from_serialize(&value).unwrap()
    }

    fn asking(state: &str) -> RawJson {
        raw(json!({
            "resultType": "input_required",
            "inputRequests": {"roots": {"method": "roots/list"}},
            "requestState": state,
        }))
    }

    #[test]
    fn a_complete_result_ends_the_call_at_once() {
        let mut rounds = InputRounds::new(8);
        let done = raw(json!({"resultType": "complete", "content": []}));
        assert_eq!(rounds.on_result(done.clone()), Ok(RoundStep::Complete(done)));
        assert!(rounds.is_finished());
        assert_eq!(rounds.on_result(asking("s")), Err(RoundsError::Finished));
    }

    #[test]
    fn the_retry_carries_the_answers_and_the_latest_state_over_the_original_params() {
        let mut rounds = InputRounds::new(8);
        let Ok(RoundStep::Answer(requests)) = rounds.on_result(asking("s1")) else { panic!() };
        assert!(requests.contains_key("roots"));
        let original = raw(json!({"name": "t", "requestState": "old", "_meta": {"k": 1}}));
        let responses = BTreeMap::from([("roots".to_string(), json!({"roots": []}))]);
        let retry: Value =
            rounds.retry_params(Some(&original), responses).unwrap().parse().unwrap();
        assert_eq!(
            retry,
            json!({"name": "t", "_meta": {"k": 1}, "requestState": "s1",
                   "inputResponses": {"roots": {"roots": []}}})
        );
    }

    #[test]
    fn rounds_beyond_the_limit_end_the_call_with_an_error() {
        let mut rounds = InputRounds::new(2);
        assert!(matches!(rounds.on_result(asking("a")), Ok(RoundStep::Answer(_))));
        assert!(matches!(rounds.on_result(asking("b")), Ok(RoundStep::Answer(_))));
        assert_eq!(rounds.on_result(asking("c")), Err(RoundsError::TooManyRounds { limit: 2 }));
        assert!(rounds.is_finished());
    }

    #[test]
    fn an_input_required_result_with_nothing_to_act_on_is_malformed() {
        let mut rounds = InputRounds::new(8);
        let empty = raw(json!({"resultType": "input_required"}));
        assert!(matches!(rounds.on_result(empty), Err(RoundsError::Malformed(_))));
    }

    #[test]
    fn text_mentioning_input_required_in_a_complete_result_is_not_a_round() {
        let mut rounds = InputRounds::new(8);
        let text = raw(json!({"content": [{"type": "text", "text": "input_required"}]}));
        assert_eq!(rounds.on_result(text.clone()), Ok(RoundStep::Complete(text)));
    }
}
