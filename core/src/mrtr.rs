//! Multi-round-trip requests (MRTR, 2026-07-28): the protocol logic of `input_required` round
//! trips on both sides, with no clock reads and no I/O.
//!
//! - [`state`]: the sealed `requestState` a server hands out and verifies on the retry
//!   (HMAC-SHA256 under a server key, bound to the method, the params and an expiry).
//! - [`server`]: one request's round on the server: the answers the retry carries, the input
//!   requests a handler makes, and the `input_required` result that ends the round.
//! - [`client`]: the client's round machine: reads each result, says what to answer, builds
//!   the retry, and bounds the number of rounds, ending every call with exactly one outcome.
//!
//! The model is **re-invocation**: a 2026-07-28 server keeps nothing between rounds. A handler
//! that needs input asks for it; the round ends with `input_required` listing everything it
//! asked for; the client answers and retries the original request with `inputResponses` and
//! the `requestState`; the handler runs again from the start and this time finds the answers.
//! Answers of earlier rounds travel inside the sealed state, so a handler that asks in several
//! rounds sees all of them on its last run.

pub mod client;
pub mod server;
pub mod state;

pub use client::{InputRounds, RoundStep, RoundsError};
pub use server::{InputRound, MAX_INPUT_KEY_LEN, input_key, is_valid_input_key};
pub use state::{RoundState, StateError, StateKey};
