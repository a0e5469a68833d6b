//! The decode round-trip check shared by the `decode_frame` fuzz target, its corpus replay and
//! the codec property tests: whatever decodes must encode and decode back to the same frame, and
//! whatever does not must be classified as the wire binding says.

use crate::codec::{Frame, FrameError, Limits, decode_bytes, encode, encode_batch};
use crate::testing::session_ops::Violation;

/// The limits the fuzz target decodes with: small, so the limits themselves get exercised.
pub const FUZZ_LIMITS: Limits = Limits { max_message_bytes: 64 * 1024, max_depth: 32 };

/// Decodes `data` as a text payload and checks the round trip or the classification.
pub fn check(data: &[u8]) -> Result<(), Violation> {
    match decode_bytes(data, &FUZZ_LIMITS) {
        Ok(Frame::Single(message)) => {
            let text = encode(&message);
            match decode_bytes(text.as_bytes(), &Limits::default()) {
                Ok(Frame::Single(again)) if again == message => Ok(()),
                other => Err(Violation(format!("{text} decoded back as {other:?}"))),
            }
        }
        Ok(Frame::Batch(members)) => {
            let valid: Vec<_> = members.into_iter().filter_map(Result::ok).collect();
            if valid.is_empty() {
                return Ok(());
            }
            let text = encode_batch(&valid);
            match decode_bytes(text.as_bytes(), &Limits::default()) {
                Ok(Frame::Batch(again)) if again.iter().cloned().eq(valid.into_iter().map(Ok)) => {
                    Ok(())
                }
                other => Err(Violation(format!("{text} decoded back as {other:?}"))),
            }
        }
        Err(FrameError::Reply(reply)) => match reply.error.code {
            -32700 | -32600 => Ok(()),
            code => Err(Violation(format!("unexpected reply code {code}"))),
        },
        Err(FrameError::Close(close)) => match close.code.0 {
            1007 | 1009 => Ok(()),
            code => Err(Violation(format!("unexpected close code {code} for a text payload"))),
        },
    }
}
