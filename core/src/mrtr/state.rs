//! The sealed `requestState` of an `input_required` round trip.
//!
//! The state is the server's memory between rounds, held by the client. It is **sealed, not
//! encrypted**: a JSON [`RoundState`] in base64url, a dot, and an HMAC-SHA256 of those bytes
//! under the server's [`StateKey`]. The client can read it but not change it: a state that
//! does not verify, that was made for another method or other params, or whose expiry has
//! passed is refused with -32602 before any handler runs. Every node that shares the key can
//! verify a state another node made, which is what a stateless 2026-07-28 server needs.
//!
//! What it binds: the method, a SHA-256 of the original params (without `_meta`,
//! `inputResponses` and `requestState`, in canonical key order), the keys asked for in the
//! round and their methods, the answers of earlier rounds, the round number and an expiry (Unix
//! seconds; the caller passes the wall clock in). Replaying the same state with the same params
//! before it expires is accepted: the server keeps no record of used states (a stateless
//! design cannot), so a handler must treat a retry as something that may arrive more than once.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::hmac;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The secret a server seals its request states with (HMAC-SHA256).
///
/// Several nodes serving the same clients must share one key; a single process can use a
/// random one (see the driver's `ServerConfig`). The key never leaves the server.
#[derive(Clone)]
pub struct StateKey {
    key: hmac::Key,
}

impl fmt::Debug for StateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StateKey(..)")
    }
}

/// The fewest secret bytes a [`StateKey`] accepts.
pub const MIN_KEY_BYTES: usize = 16;

impl StateKey {
    /// A key from secret bytes (at least [`MIN_KEY_BYTES`]; 32 random bytes is right).
    pub fn new(secret: &[u8]) -> Result<StateKey, StateError> {
        if secret.len() < MIN_KEY_BYTES {
            return Err(StateError::ShortKey { len: secret.len() });
        }
        Ok(StateKey { key: hmac::Key::new(hmac::HMAC_SHA256, secret) })
    }

    /// Seals `state` into the opaque string sent as `requestState`.
    pub fn seal(&self, state: &RoundState) -> String {
        let body = serde_json::to_vec(state).expect("a round state serializes");
        let tag = hmac::sign(&self.key, &body);
        let mut sealed = URL_SAFE_NO_PAD.encode(&body);
        sealed.push('.');
        sealed.push_str(&URL_SAFE_NO_PAD.encode(tag.as_ref()));
        sealed
    }

    /// Opens a `requestState` this server sealed and checks that it belongs to `method` with
    /// params hashing to `params_hash` and has not expired at `now_unix` (seconds).
    pub fn open(
        &self,
        sealed: &str,
        method: &str,
        params_hash: &str,
        now_unix: u64,
    ) -> Result<RoundState, StateError> {
        let (body, tag) = sealed.split_once('.').ok_or(StateError::Forged)?;
        let body = URL_SAFE_NO_PAD.decode(body).map_err(|_| StateError::Forged)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| StateError::Forged)?;
        hmac::verify(&self.key, &body, &tag).map_err(|_| StateError::Forged)?;
        // Verified: the bytes are ours, so a parse failure is a version we no longer read.
        let state: RoundState = serde_json::from_slice(&body).map_err(|_| StateError::Forged)?;
        if state.version != STATE_VERSION {
            return Err(StateError::Forged);
        }
        if state.method != method || state.params_hash != params_hash {
            return Err(StateError::OtherRequest);
        }
        if now_unix >= state.expires {
            return Err(StateError::Expired);
        }
        Ok(state)
    }
}

/// The layout version sealed into every state.
const STATE_VERSION: u32 = 1;

/// What a sealed `requestState` carries (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundState {
    #[serde(rename = "v")]
    version: u32,
    /// The method of the request the state belongs to.
    #[serde(rename = "m")]
    pub method: String,
    /// SHA-256 (hex) of the request's own params; see [`params_hash`].
    #[serde(rename = "h")]
    pub params_hash: String,
    /// The input requests of the round, key → method.
    #[serde(rename = "k")]
    pub asked: BTreeMap<String, String>,
    /// Answers of earlier rounds, key → the client's response.
    #[serde(rename = "a", default)]
    pub answers: BTreeMap<String, Value>,
    /// Which round this state ends (1 for the first `input_required`).
    #[serde(rename = "r")]
    pub round: u32,
    /// Unix time (seconds) from which the state is refused.
    #[serde(rename = "e")]
    pub expires: u64,
}

impl RoundState {
    /// A state for a round of `method` whose params hash to `params_hash`.
    pub fn new(
        method: &str,
        params_hash: String,
        asked: BTreeMap<String, String>,
        answers: BTreeMap<String, Value>,
        round: u32,
        expires: u64,
    ) -> RoundState {
        RoundState {
            version: STATE_VERSION,
            method: method.to_owned(),
            params_hash,
            asked,
            answers,
            round,
            expires,
        }
    }
}

/// Why a `requestState` was refused. Each is answered with -32602 (invalid params).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// Not a state this server sealed: altered, made up, or sealed under another key.
    #[error("requestState does not verify: it was altered or not issued by this server")]
    Forged,
    /// A genuine state, but of another method or for other params.
    #[error("requestState belongs to another request (different method or params)")]
    OtherRequest,
    /// A genuine state whose time is up.
    #[error("requestState has expired; send the request again without it")]
    Expired,
    /// The secret is too short to be a key.
    #[error("a state key needs at least {MIN_KEY_BYTES} bytes (got {len})")]
    ShortKey {
        /// How many bytes were given.
        len: usize,
    },
}

/// Members of a request's params that are not part of what a state binds.
const UNBOUND: [&str; 3] = ["_meta", "inputResponses", "requestState"];

/// SHA-256 (hex) of `params` without `_meta`, `inputResponses` and `requestState`, keys in
/// sorted order (so a client that re-orders members still matches). Absent params hash like
/// `{}`.
pub fn params_hash(params: Option<&Value>) -> String {
    let mut bound = serde_json::Map::new();
    if let Some(Value::Object(map)) = params {
        for (key, value) in map {
            if !UNBOUND.contains(&key.as_str()) {
                bound.insert(key.clone(), value.clone());
            }
        }
    } else if let Some(other) = params {
        bound.insert(String::new(), other.clone());
    }
    // serde_json's map is ordered by key in this workspace (no `preserve_order`), so the
    // text is canonical at every level.
    let text = Value::Object(bound).to_string();
    hex(ring::digest::digest(&ring::digest::SHA256, text.as_bytes()).as_ref())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> StateKey {
        StateKey::new(&[byte; 32]).unwrap()
    }

    fn state(expires: u64) -> RoundState {
        let asked = BTreeMap::from([("roots".to_string(), "roots/list".to_string())]);
        RoundState::new("tools/call", "abc".into(), asked, BTreeMap::new(), 1, expires)
    }

    #[test]
    fn a_sealed_state_opens_for_the_same_request_before_it_expires() {
        let sealed = key(1).seal(&state(100));
        assert_eq!(key(1).open(&sealed, "tools/call", "abc", 99), Ok(state(100)));
    }

    #[test]
    fn a_state_sealed_under_another_key_is_forged() {
        let sealed = key(2).seal(&state(100));
        assert_eq!(key(1).open(&sealed, "tools/call", "abc", 0), Err(StateError::Forged));
    }

    #[test]
    fn an_edited_body_with_the_old_tag_is_forged() {
        let sealed = key(1).seal(&state(100));
        let (_, tag) = sealed.split_once('.').unwrap();
        let mut edited = state(100);
        edited.answers.insert("roots".into(), serde_json::json!({"roots": []}));
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&edited).unwrap());
        let forged = format!("{body}.{tag}");
        assert_eq!(key(1).open(&forged, "tools/call", "abc", 0), Err(StateError::Forged));
        for garbage in ["", ".", "not base64!.x", "eyJ9"] {
            assert_eq!(key(1).open(garbage, "tools/call", "abc", 0), Err(StateError::Forged));
        }
    }

    #[test]
    fn a_genuine_state_replayed_against_other_params_or_method_is_refused() {
        let sealed = key(1).seal(&state(100));
        assert_eq!(key(1).open(&sealed, "tools/call", "abd", 0), Err(StateError::OtherRequest));
        assert_eq!(key(1).open(&sealed, "prompts/get", "abc", 0), Err(StateError::OtherRequest));
    }

    #[test]
    fn a_state_is_refused_from_its_expiry_on() {
        let sealed = key(1).seal(&state(100));
        assert_eq!(key(1).open(&sealed, "tools/call", "abc", 100), Err(StateError::Expired));
    }

    #[test]
    fn the_params_hash_ignores_meta_and_the_retry_members_and_member_order() {
        let first: Value =
            serde_json::from_str(r#"{"name":"a","arguments":{"x":1,"y":2}}"#).unwrap();
        let retry: Value = serde_json::from_str(
            r#"{"arguments":{"y":2,"x":1},"_meta":{"p":1},"requestState":"s","inputResponses":{},"name":"a"}"#,
        )
        .unwrap();
        let other: Value = serde_json::from_str(r#"{"name":"a","arguments":{"x":2}}"#).unwrap();
        assert_eq!(params_hash(Some(&first)), params_hash(Some(&retry)));
        assert_ne!(params_hash(Some(&first)), params_hash(Some(&other)));
        assert_eq!(params_hash(None), params_hash(Some(&serde_json::json!({}))));
    }

    #[test]
    fn a_short_secret_is_not_a_key() {
        assert_eq!(StateKey::new(b"short").unwrap_err(), StateError::ShortKey { len: 5 });
    }
}
