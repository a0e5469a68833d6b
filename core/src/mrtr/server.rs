//! One request's `input_required` round on the server.
//!
//! [`InputRound::begin`] reads what a 2026-07-28 request carries for the round (its
//! `inputResponses` and `requestState`), verifies the state and checks every response against
//! what was asked, so a handler only ever sees answers to questions this server asked, for this
//! very request. While the handler runs, each thing it needs is looked up by its key
//! ([`InputRound::answer_or_ask`]): answered ones come back, the others are recorded. When the
//! handler ends, [`InputRound::finish`] turns what it asked for and did not get into the
//! `input_required` result (with a new sealed state carrying every answer so far), or returns
//! `None` when nothing is missing and the handler's own answer stands.
//!
//! Keys are derived from what is asked ([`input_key`]): the same question gets the same key in
//! every run of the handler, whatever order it asks in, and asking the same question twice is
//! asking it once.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::state::{RoundState, StateKey, hex, params_hash};
use crate::mcp::methods;
use crate::mcp::{
    CreateMessageResult, ElicitResult, InputRequest, InputRequests, InputRequiredResult,
    ListRootsResult,
};
use crate::message::{ErrorCode, ErrorObject};
use crate::raw::RawJson;

/// The most rounds one request may take before the server stops asking (the handler's run
/// that would open one more ends with -32603 instead).
pub const MAX_ROUNDS: u32 = 16;

/// The most input requests one round may carry.
pub const MAX_INPUT_REQUESTS: usize = 32;

/// The longest key a handler may choose for an input request ([`InputRound::answer_or_ask_as`]).
pub const MAX_INPUT_KEY_LEN: usize = 128;

/// Whether `key` may name an input request: 1 to [`MAX_INPUT_KEY_LEN`] bytes, no control
/// characters.
pub fn is_valid_input_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= MAX_INPUT_KEY_LEN && !key.chars().any(char::is_control)
}

/// The key an input request travels under: a short name for the method and, when it has
/// params, the first 16 hex digits of a SHA-256 of the method and its params (canonical JSON).
pub fn input_key(request: &InputRequest) -> String {
    let prefix = match request.method.as_str() {
        methods::ROOTS_LIST => "roots",
        methods::ELICITATION_CREATE => "elicit",
        methods::SAMPLING_CREATE_MESSAGE => "sample",
        _ => "input",
    };
    match &request.params {
        None | Some(Value::Null) => prefix.to_owned(),
        Some(params) => {
            let text = format!("{}\n{}", request.method, params);
            let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
            format!("{prefix}-{}", &hex(digest.as_ref())[..16])
        }
    }
}

/// The retry members of a request's params.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RetryMembers {
    #[serde(default)]
    input_responses: Option<Value>,
    #[serde(default)]
    request_state: Option<Value>,
}

/// One request's round (see the module docs).
#[derive(Debug, Clone)]
pub struct InputRound {
    method: String,
    params: Option<RawJson>,
    answers: BTreeMap<String, Value>,
    /// Answers a client gave without a `requestState` (nothing it carries says what was
    /// asked): each counts only if the handler asks under its key and it has that question's
    /// shape.
    unverified: BTreeMap<String, Value>,
    /// The round the verified state ended (0 on a first request).
    round: u32,
    asked: InputRequests,
}

fn invalid(message: impl Into<String>) -> ErrorObject {
    ErrorObject::new(ErrorCode::InvalidParams, message)
}

impl InputRound {
    /// Reads and verifies the round a request of `method` with `params` carries, at wall-clock
    /// `now_unix` (seconds). Refused with -32602: a `requestState` that does not verify, is of
    /// another request or has expired; `inputResponses` that are not an object, or an answer of
    /// the wrong shape for what the state says was asked under its key. Ignored, as SEP-2322
    /// recommends (the handler then asks again for what it still lacks): answers under keys the
    /// state says were not asked. `inputResponses` without a state (the state is optional in
    /// SEP-2322) are held unverified: one counts when the handler asks under its key and it has
    /// that question's shape, else the handler asks again.
    pub fn begin(
        key: &StateKey,
        method: &str,
        params: Option<&RawJson>,
        now_unix: u64,
    ) -> Result<InputRound, ErrorObject> {
        let mut round = InputRound {
            method: method.to_owned(),
            params: params.cloned(),
            answers: BTreeMap::new(),
            unverified: BTreeMap::new(),
            round: 0,
            asked: InputRequests::new(),
        };
        // Most requests carry neither member: skip the parse.
        let Some(raw) = params.filter(|raw| {
            let text = raw.get();
            text.contains("inputResponses") || text.contains("requestState")
        }) else {
            return Ok(round);
        };
        let members: RetryMembers = raw.parse().unwrap_or_default();
        let responses = match members.input_responses {
            None | Some(Value::Null) => serde_json::Map::new(),
            Some(Value::Object(map)) => map,
            Some(_) => return Err(invalid("inputResponses must be an object")),
        };
        let sealed = match members.request_state {
            None | Some(Value::Null) => {
                round.unverified = responses.into_iter().collect();
                return Ok(round);
            }
            Some(Value::String(sealed)) => sealed,
            Some(_) => return Err(invalid("requestState must be a string")),
        };
        let whole: Value = raw.parse().map_err(|e| invalid(format!("invalid params: {e}")))?;
        let hash = params_hash(Some(&whole));
        let state =
            key.open(&sealed, method, &hash, now_unix).map_err(|e| invalid(e.to_string()))?;
        let mut answered = Vec::with_capacity(responses.len());
        for (name, response) in responses {
            // An answer to nothing asked is dropped, never seen by the handler.
            let Some(asked) = state.asked.get(&name) else { continue };
            check_shape(asked, &response).map_err(|e| {
                invalid(format!("inputResponses.{name} is not a {asked} result: {e}"))
            })?;
            answered.push((name, response));
        }
        round.round = state.round;
        round.answers = state.answers;
        round.answers.extend(answered);
        Ok(round)
    }

    /// The answer to `request` when the client gave one (in this retry or an earlier one);
    /// otherwise records the request for the `input_required` result and gives its key back.
    pub fn answer_or_ask(&mut self, request: InputRequest) -> Result<Value, String> {
        let key = input_key(&request);
        self.answer_or_ask_as(&key, request)
    }

    /// As [`InputRound::answer_or_ask`], under a key the handler chose (such as `user_name`)
    /// instead of one derived from the request: the client answers under that key, and the
    /// handler finds the answer under it in every later round. The caller checks the key with
    /// [`is_valid_input_key`]. Asking under a key again replaces what was asked under it.
    pub fn answer_or_ask_as(&mut self, key: &str, request: InputRequest) -> Result<Value, String> {
        if let Some(answer) = self.answers.get(key) {
            return Ok(answer.clone());
        }
        let unverified = self.unverified.remove(key);
        match unverified.filter(|answer| check_shape(&request.method, answer).is_ok()) {
            Some(answer) => {
                self.answers.insert(key.to_owned(), answer.clone());
                Ok(answer)
            }
            None => {
                self.asked.insert(key.to_owned(), request);
                Err(key.to_owned())
            }
        }
    }

    /// Whether the handler asked for something it did not get.
    pub fn is_missing_input(&self) -> bool {
        !self.asked.is_empty()
    }

    /// The round's end: `None` when nothing is missing (the handler's answer stands), else
    /// the `input_required` result, its state sealed with `key` to expire at `expires_unix`.
    /// -32603 when the request has already taken [`MAX_ROUNDS`] rounds or asks for more than
    /// [`MAX_INPUT_REQUESTS`] things at once.
    pub fn finish(
        self,
        key: &StateKey,
        expires_unix: u64,
    ) -> Result<Option<InputRequiredResult>, ErrorObject> {
        if self.asked.is_empty() {
            return Ok(None);
        }
        if self.round >= MAX_ROUNDS {
            return Err(ErrorObject::new(
                ErrorCode::InternalError,
                format!("the request still needs input after {MAX_ROUNDS} rounds"),
            ));
        }
        if self.asked.len() > MAX_INPUT_REQUESTS {
            return Err(ErrorObject::new(
                ErrorCode::InternalError,
                format!(
                    "the handler asked for {} inputs at once (at most {MAX_INPUT_REQUESTS})",
                    self.asked.len()
                ),
            ));
        }
        let whole: Option<Value> = self.params.as_ref().and_then(|raw| raw.parse().ok());
        let asked_methods =
            self.asked.iter().map(|(name, request)| (name.clone(), request.method.clone()));
        let state = RoundState::new(
            &self.method,
            params_hash(whole.as_ref()),
            asked_methods.collect(),
            self.answers,
            self.round + 1,
            expires_unix,
        );
        Ok(Some(InputRequiredResult {
            input_requests: Some(self.asked),
            request_state: Some(key.seal(&state)),
            ..InputRequiredResult::new()
        }))
    }
}

/// Checks that `response` has the shape of a result of `method`.
fn check_shape(method: &str, response: &Value) -> Result<(), serde_json::Error> {
    match method {
        methods::ROOTS_LIST => ListRootsResult::deserialize(response).map(drop),
        methods::ELICITATION_CREATE => ElicitResult::deserialize(response).map(drop),
        methods::SAMPLING_CREATE_MESSAGE => CreateMessageResult::deserialize(response).map(drop),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::mcp::ElicitParams;

    fn key() -> StateKey {
        StateKey::new(&[7; 32]).unwrap()
    }

    fn raw(value: Value) -> RawJson {
        RawJson::from_serialize(&value).unwrap()
    }

    fn confirm() -> InputRequest {
        InputRequest::elicit(&ElicitParams { message: "sure?".into(), ..Default::default() })
            .unwrap()
    }

    /// Runs the first round of a handler asking for roots and a confirmation; returns the
    /// `input_required` result.
    fn first_round(params: &Value) -> InputRequiredResult {
        let mut round = InputRound::begin(&key(), "tools/call", Some(&raw(params.clone())), 10)
            .expect("a first request");
        assert!(round.answer_or_ask(InputRequest::list_roots()).is_err());
        assert!(round.answer_or_ask(confirm()).is_err());
        round.finish(&key(), 100).unwrap().expect("input is missing")
    }

    fn retry(params: &Value, asked: &InputRequiredResult, responses: Value) -> Value {
        let mut retry = params.clone();
        retry["inputResponses"] = responses;
        retry["requestState"] = json!(asked.request_state.clone().unwrap());
        retry
    }

    #[test]
    fn a_retry_with_every_answer_lets_the_handler_finish() {
        let params = json!({"name": "confirm", "arguments": {"q": "x"}});
        let asked = first_round(&params);
        let requests = asked.input_requests.as_ref().unwrap();
        assert_eq!(requests.len(), 2);
        assert!(requests.contains_key("roots"));
        let elicit_key = input_key(&confirm());
        let responses = json!({"roots": {"roots": []}, elicit_key.clone(): {"action": "accept"}});
        let retry = retry(&params, &asked, responses);
        let mut round =
            InputRound::begin(&key(), "tools/call", Some(&raw(retry)), 20).expect("verified");
        assert_eq!(round.answer_or_ask(InputRequest::list_roots()), Ok(json!({"roots": []})));
        assert!(round.answer_or_ask(confirm()).is_ok());
        assert_eq!(round.finish(&key(), 100).unwrap(), None);
    }

    #[test]
    fn a_missing_answer_is_asked_again_and_earlier_answers_are_kept() {
        let params = json!({"name": "t"});
        let asked = first_round(&params);
        let retry1 = retry(&params, &asked, json!({"roots": {"roots": []}}));
        let mut round = InputRound::begin(&key(), "tools/call", Some(&raw(retry1)), 20).unwrap();
        assert!(round.answer_or_ask(InputRequest::list_roots()).is_ok());
        assert!(round.answer_or_ask(confirm()).is_err());
        let again = round.finish(&key(), 100).unwrap().expect("still missing");
        assert_eq!(again.input_requests.as_ref().unwrap().len(), 1);
        // The next retry answers only the confirmation; the roots come from the state.
        let retry2 = retry(&params, &again, json!({input_key(&confirm()): {"action": "decline"}}));
        let mut round = InputRound::begin(&key(), "tools/call", Some(&raw(retry2)), 20).unwrap();
        assert!(round.answer_or_ask(InputRequest::list_roots()).is_ok());
        assert_eq!(round.answer_or_ask(confirm()), Ok(json!({"action": "decline"})));
    }

    #[test]
    fn responses_to_unasked_keys_are_ignored_and_asked_again() {
        let params = json!({"name": "t"});
        let asked = first_round(&params);
        let roots_key = input_key(&InputRequest::list_roots());
        let cases = [
            retry(&params, &asked, json!({"made-up": {"roots": []}})),
            // Without a state: under another key, and under the key but of the wrong shape.
            json!({"name": "t", "inputResponses": {"made-up": {"roots": []}}}),
            json!({"name": "t", "inputResponses": {roots_key.clone(): {"action": "accept"}}}),
        ];
        for case in cases {
            let mut round = InputRound::begin(&key(), "tools/call", Some(&raw(case.clone())), 20)
                .unwrap_or_else(|e| panic!("{case}: {e:?}"));
            assert_eq!(round.answer_or_ask(InputRequest::list_roots()), Err(roots_key.clone()));
            assert!(round.is_missing_input(), "{case}: asked again");
        }
        // Beside a real answer, an unasked key is dropped and the answer stands.
        let mut both = retry(&params, &asked, json!({roots_key.clone(): {"roots": []}}));
        both["inputResponses"]["made-up"] = json!({"roots": [{"uri": "file:///x"}]});
        let mut round = InputRound::begin(&key(), "tools/call", Some(&raw(both)), 20).unwrap();
        assert_eq!(round.answer_or_ask(InputRequest::list_roots()), Ok(json!({"roots": []})));
        assert!(!round.is_missing_input());
    }

    #[test]
    fn responses_without_state_count_when_asked_under_their_key_with_the_right_shape() {
        let roots_key = input_key(&InputRequest::list_roots());
        let params = json!({"name": "t", "inputResponses": {
            roots_key.clone(): {"roots": []},
            "extra": {"action": "accept"},
        }});
        let mut round = InputRound::begin(&key(), "tools/call", Some(&raw(params)), 20).unwrap();
        assert_eq!(round.answer_or_ask(InputRequest::list_roots()), Ok(json!({"roots": []})));
        assert_eq!(round.answer_or_ask(InputRequest::list_roots()), Ok(json!({"roots": []})));
        assert!(!round.is_missing_input());
    }

    #[test]
    fn responses_of_the_wrong_shape_or_not_an_object_are_refused() {
        let params = json!({"name": "t"});
        let asked = first_round(&params);
        let roots_key = input_key(&InputRequest::list_roots());
        let cases = [
            retry(&params, &asked, json!({roots_key: {"action": "accept"}})),
            retry(&params, &asked, json!([1])),
        ];
        for case in cases {
            let error = InputRound::begin(&key(), "tools/call", Some(&raw(case.clone())), 20)
                .expect_err(&case.to_string());
            assert_eq!(error.code, ErrorCode::InvalidParams.code(), "{case}");
        }
    }

    #[test]
    fn a_forged_expired_or_replayed_state_is_refused_with_invalid_params() {
        let params = json!({"name": "t", "arguments": {"path": "/a"}});
        let asked = first_round(&params);
        let responses = json!({"roots": {"roots": []}});
        let mut forged = retry(&params, &asked, responses.clone());
        forged["requestState"] = json!("eyJ2IjoxfQ.AAAA");
        let expired = retry(&params, &asked, responses.clone());
        let mut other_params = retry(&params, &asked, responses.clone());
        other_params["arguments"]["path"] = json!("/etc");
        for (case, now, expected) in [
            (forged, 20, "does not verify"),
            (expired, 100, "expired"),
            (other_params, 20, "another request"),
        ] {
            let error = InputRound::begin(&key(), "tools/call", Some(&raw(case)), now).unwrap_err();
            assert_eq!(error.code, ErrorCode::InvalidParams.code());
            assert!(error.message.contains(expected), "{}", error.message);
        }
        let genuine = retry(&params, &asked, responses);
        let other_method = InputRound::begin(&key(), "prompts/get", Some(&raw(genuine)), 20);
        assert!(other_method.unwrap_err().message.contains("another request"));
    }

    #[test]
    fn a_request_that_keeps_asking_ends_after_the_round_limit() {
        let params = json!({"name": "t"});
        let mut sealed = None::<String>;
        for round in 1..=MAX_ROUNDS + 1 {
            let mut request = params.clone();
            if let Some(state) = &sealed {
                request["requestState"] = json!(state);
            }
            let mut run = InputRound::begin(&key(), "tools/call", Some(&raw(request)), 1).unwrap();
            let question = InputRequest::elicit(&ElicitParams {
                message: format!("question {round}"),
                ..Default::default()
            })
            .unwrap();
            assert!(run.answer_or_ask(question).is_err());
            match run.finish(&key(), 100) {
                Ok(Some(asked)) => sealed = asked.request_state,
                Ok(None) => panic!("nothing missing"),
                Err(error) => {
                    assert_eq!(round, MAX_ROUNDS + 1);
                    assert_eq!(error.code, ErrorCode::InternalError.code());
                    return;
                }
            }
        }
        panic!("the round limit never applied");
    }

    #[test]
    fn a_handler_chosen_key_travels_as_is_and_its_answer_comes_back_under_it() {
        let params = json!({"name": "greet"});
        let mut round =
            InputRound::begin(&key(), "tools/call", Some(&raw(params.clone())), 10).unwrap();
        assert_eq!(round.answer_or_ask_as("user_name", confirm()), Err("user_name".into()));
        let asked = round.finish(&key(), 100).unwrap().expect("input is missing");
        let requests = asked.input_requests.as_ref().unwrap();
        assert_eq!(requests.keys().collect::<Vec<_>>(), ["user_name"]);
        assert_eq!(requests["user_name"].method, "elicitation/create");
        // The answer under the chosen key is checked against what was asked, and found.
        let wrong = retry(&params, &asked, json!({"user_name": {"roots": "no"}}));
        assert!(InputRound::begin(&key(), "tools/call", Some(&raw(wrong)), 20).is_err());
        let answer = json!({"action": "accept", "content": {"name": "Alice"}});
        let right = retry(&params, &asked, json!({"user_name": answer.clone()}));
        let mut round = InputRound::begin(&key(), "tools/call", Some(&raw(right)), 20).unwrap();
        assert_eq!(round.answer_or_ask_as("user_name", confirm()), Ok(answer));
        assert_eq!(round.finish(&key(), 100).unwrap(), None);
        assert!(is_valid_input_key("user_name"));
        for bad in ["", "a\nb", &"k".repeat(MAX_INPUT_KEY_LEN + 1)] {
            assert!(!is_valid_input_key(bad), "{bad:?}");
        }
    }

    #[test]
    fn keys_depend_on_what_is_asked_not_on_order() {
        assert_eq!(input_key(&InputRequest::list_roots()), "roots");
        assert_eq!(input_key(&confirm()), input_key(&confirm()));
        let other =
            InputRequest::elicit(&ElicitParams { message: "other".into(), ..Default::default() })
                .unwrap();
        assert_ne!(input_key(&confirm()), input_key(&other));
        assert!(input_key(&confirm()).starts_with("elicit-"));
    }
}
