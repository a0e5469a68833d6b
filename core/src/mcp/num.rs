//! Number formatting for `f64` fields.
//!
//! MCP's `number` fields (progress, priorities, temperatures) arrive as integers as often as
//! not. Read into an `f64`, `50` would be written back as `50.0`; these helpers write an integral
//! value that fits an `i64` as an integer so a payload keeps its spelling across a round trip.

use serde::Serializer;

/// Largest magnitude below which every integral `f64` is exactly an `i64` (2^53).
const EXACT: f64 = 9_007_199_254_740_992.0;

/// Writes `value` as an integer when it is integral and exactly representable, else as a float.
pub(crate) fn f64_compact<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    let v = *value;
    if v.is_finite() && v.fract() == 0.0 && v.abs() <= EXACT && !(v == 0.0 && v.is_sign_negative())
    {
        // Exact: |v| <= 2^53 and integral.
        #[allow(clippy::cast_possible_truncation)]
        let int = v as i64;
        serializer.serialize_i64(int)
    } else {
        serializer.serialize_f64(v)
    }
}

/// [`f64_compact`] for optional fields (`None` is skipped by the field attributes).
#[allow(clippy::ref_option)]
pub(crate) fn opt_f64_compact<S: Serializer>(
    value: &Option<f64>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(v) => f64_compact(v, serializer),
        None => serializer.serialize_none(),
    }
}
