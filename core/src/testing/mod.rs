//! Harnesses shared by the fuzz targets, the property tests and the corpus replay tests.
//!
//! Each harness turns an arbitrary byte string into a bounded sequence of operations on a real
//! state machine, checks the machine's invariants after every step, and reports the first
//! violation. Because the input is plain bytes, cargo-fuzz, proptest and the replay of committed
//! corpora all drive the same code. Compiled only with the `testing` feature.

/// Returns a `Violation` naming the broken invariant when `$cond` is false.
macro_rules! ensure {
    ($cond:expr, $($why:tt)+) => {
        if !$cond {
            return Err($crate::testing::session_ops::Violation(format!($($why)+)));
        }
    };
}

pub mod bridge_ops;
pub mod bytes;
pub mod decode_frame;
pub mod http_head;
pub mod reconnect_ops;
pub mod session_ops;
pub mod sse_stream;
pub mod streamable_route;
