//! Property tests of `input_required` round trips: for any sequence of input requests a
//! handler makes, the client's round machine, answering everything and retrying with the
//! server's state, ends each call with exactly one outcome, and it is the one a small model
//! predicts (complete, too many rounds for the client, or the server's own bound).

use std::collections::{BTreeMap, BTreeSet};

use mcp_ws_core::mcp::{ElicitParams, InputRequest, methods};
use mcp_ws_core::mrtr::server::{MAX_INPUT_REQUESTS, MAX_ROUNDS};
use mcp_ws_core::mrtr::{InputRound, InputRounds, RoundStep, RoundsError, StateKey, input_key};
use mcp_ws_core::{ErrorObject, RawJson};
use proptest::prelude::*;
use serde_json::{Value, json};

/// One thing a handler asks: roots, or an elicitation with one of a few messages (so the same
/// question comes back across rounds).
#[derive(Debug, Clone)]
enum Ask {
    Roots,
    Elicit(u8),
}

impl Ask {
    fn request(&self) -> InputRequest {
        match self {
            Ask::Roots => InputRequest::list_roots(),
            Ask::Elicit(n) => InputRequest::elicit(&ElicitParams {
                message: format!("question {n}"),
                ..Default::default()
            })
            .unwrap(),
        }
    }
}

fn ask() -> impl Strategy<Value = Ask> {
    prop_oneof![Just(Ask::Roots), (0u8..48).prop_map(Ask::Elicit)]
}

/// What a call ended with.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Complete,
    ClientRounds,
    ServerError,
}

/// The handler: asks the script's groups in order, stopping after the first group with a
/// missing answer (each group is asked together, as with `join!`).
fn run_handler(round: &mut InputRound, script: &[Vec<Ask>]) {
    for group in script {
        let mut missing = false;
        for ask in group {
            missing |= round.answer_or_ask(ask.request()).is_err();
        }
        if missing {
            return;
        }
    }
}

/// The server's side of one request: verify the round, run the handler, answer.
fn serve(key: &StateKey, params: &RawJson, script: &[Vec<Ask>]) -> Result<RawJson, ErrorObject> {
    let mut round = InputRound::begin(key, methods::TOOLS_CALL, Some(params), 1_000)?;
    run_handler(&mut round, script);
    match round.finish(key, 2_000)? {
        Some(asked) => Ok(RawJson::from_serialize(&asked).unwrap()),
        None => {
            Ok(RawJson::from_serialize(&json!({"content": [], "resultType": "complete"})).unwrap())
        }
    }
}

fn answer(request: &InputRequest) -> Value {
    match request.method.as_str() {
        methods::ROOTS_LIST => json!({"roots": [{"uri": "file:///srv"}]}),
        _ => json!({"action": "accept", "content": {}}),
    }
}

/// Drives one call through the client's machine; every outcome it reaches is recorded.
fn call(script: &[Vec<Ask>], limit: u32) -> Vec<Outcome> {
    let key = StateKey::new(&[3; 32]).unwrap();
    let original = RawJson::from_serialize(&json!({"name": "t"})).unwrap();
    let mut rounds = InputRounds::new(limit);
    let mut outcomes = Vec::new();
    let mut params = original.clone();
    // Bounded: one more than the most rounds either side allows.
    for _ in 0..=(limit.max(MAX_ROUNDS) + 1) {
        let result = match serve(&key, &params, script) {
            Ok(result) => result,
            Err(_) => {
                rounds.end();
                outcomes.push(Outcome::ServerError);
                break;
            }
        };
        match rounds.on_result(result) {
            Ok(RoundStep::Complete(_)) => {
                outcomes.push(Outcome::Complete);
                break;
            }
            Ok(RoundStep::Answer(requests)) => {
                let responses: BTreeMap<String, Value> =
                    requests.iter().map(|(k, r)| (k.clone(), answer(r))).collect();
                params = rounds.retry_params(Some(&original), responses).unwrap();
            }
            Err(RoundsError::TooManyRounds { .. }) => {
                outcomes.push(Outcome::ClientRounds);
                break;
            }
            Err(other) => panic!("unexpected {other}"),
        }
    }
    // Nothing more is accepted once the call has ended.
    if !outcomes.is_empty() && !matches!(outcomes[0], Outcome::ServerError) {
        let late = RawJson::from_serialize(&json!({"content": []})).unwrap();
        assert_eq!(rounds.on_result(late), Err(RoundsError::Finished));
    }
    outcomes
}

/// The model: one round per group that brings a new question, checked against the server's
/// bounds first, then the client's.
fn expected(script: &[Vec<Ask>], limit: u32) -> Outcome {
    let mut answered = BTreeSet::new();
    let mut trips = 0u32;
    for group in script {
        let keys: BTreeSet<String> = group.iter().map(|a| input_key(&a.request())).collect();
        let new: Vec<&String> = keys.iter().filter(|k| !answered.contains(*k)).collect();
        if new.is_empty() {
            continue;
        }
        trips += 1;
        if trips > MAX_ROUNDS || new.len() > MAX_INPUT_REQUESTS {
            return Outcome::ServerError;
        }
        if trips > limit {
            return Outcome::ClientRounds;
        }
        answered.extend(keys);
    }
    Outcome::Complete
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn every_call_ends_with_exactly_the_one_outcome_the_model_predicts(
        script in proptest::collection::vec(proptest::collection::vec(ask(), 0..40), 0..20),
        limit in 0u32..20,
    ) {
        let outcomes = call(&script, limit);
        prop_assert_eq!(outcomes.len(), 1, "outcomes {:?}", outcomes);
        prop_assert_eq!(&outcomes[0], &expected(&script, limit));
    }
}
