//! The core's own time type. Adapters map their runtime's clock onto it; the core never reads
//! a clock, so tests and fuzzers control time exactly.
//!
//! An [`Instant`] is a count of nanoseconds since an epoch the driver picks (typically the
//! moment it started). Spans are `std::time::Duration`. Arithmetic saturates instead of
//! overflowing, so no input can make the core panic on time.

use std::ops::Add;
use std::time::Duration;

/// A point in time: nanoseconds since the driver's epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(u64);

impl Instant {
    /// The driver's epoch.
    pub const ZERO: Instant = Instant(0);

    /// The instant `nanos` nanoseconds after the epoch.
    pub const fn from_nanos(nanos: u64) -> Self {
        Instant(nanos)
    }

    /// Nanoseconds since the epoch.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// `self + span`, or `None` past the representable range (about 584 years).
    pub fn checked_add(self, span: Duration) -> Option<Instant> {
        let nanos = u64::try_from(span.as_nanos()).ok()?;
        self.0.checked_add(nanos).map(Instant)
    }

    /// `self + span`, clamped to the latest representable instant.
    pub fn saturating_add(self, span: Duration) -> Instant {
        self.checked_add(span).unwrap_or(Instant(u64::MAX))
    }

    /// The span from `earlier` to `self`, or zero when `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    /// Saturating addition; see [`Instant::saturating_add`].
    fn add(self, span: Duration) -> Instant {
        self.saturating_add(span)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adding_a_span_moves_forward_by_exactly_that_many_nanoseconds() {
        assert_eq!(Instant::ZERO + Duration::from_millis(3), Instant::from_nanos(3_000_000));
    }

    #[test]
    fn addition_saturates_instead_of_overflowing() {
        let late = Instant::from_nanos(u64::MAX - 1);
        assert_eq!(late + Duration::from_secs(1), Instant::from_nanos(u64::MAX));
        assert_eq!(late.checked_add(Duration::from_secs(1)), None);
        assert_eq!(Instant::ZERO + Duration::MAX, Instant::from_nanos(u64::MAX));
    }

    #[test]
    fn duration_since_a_later_instant_is_zero() {
        let a = Instant::from_nanos(10);
        let b = Instant::from_nanos(25);
        assert_eq!(b.saturating_duration_since(a), Duration::from_nanos(15));
        assert_eq!(a.saturating_duration_since(b), Duration::ZERO);
    }
}
