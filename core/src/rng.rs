//! A small seeded generator (SplitMix64) for jitter. Deterministic from its seed, so tests and
//! fuzzers replay exactly; not for anything secret.

/// SplitMix64: a 64-bit state stepped by a constant and mixed.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..=max`, by multiply-and-shift. The bias is below 2^-64 per value, far
    /// below anything jitter could notice.
    pub fn up_to(&mut self, max: u64) -> u64 {
        let span = u128::from(max) + 1;
        ((u128::from(self.next_u64()) * span) >> 64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_seed_gives_a_fixed_sequence() {
        let mut a = SplitMix64::new(42);
        let mut b = SplitMix64::new(42);
        let first: Vec<u64> = (0..4).map(|_| a.next_u64()).collect();
        assert_eq!(first, (0..4).map(|_| b.next_u64()).collect::<Vec<_>>());
        assert_ne!(first[0], first[1]);
        assert_ne!(SplitMix64::new(43).next_u64(), first[0]);
    }

    #[test]
    fn up_to_stays_in_range_and_reaches_both_ends() {
        let mut rng = SplitMix64::new(7);
        let draws: Vec<u64> = (0..10_000).map(|_| rng.up_to(3)).collect();
        assert!(draws.iter().all(|d| *d <= 3));
        assert!(draws.contains(&0) && draws.contains(&3));
        assert_eq!(SplitMix64::new(1).up_to(0), 0);
        // The widest range must not overflow the multiply-and-shift.
        let _ = SplitMix64::new(1).up_to(u64::MAX);
    }
}
