//! Deterministic random streams derived from one seed: every random choice of a run (initial
//! weights, shuffles, augmentation, dropout masks) comes from a generator seeded by the run's
//! seed and the position it is used at, so a run can be repeated, or resumed at any step, and
//! come out the same.

use rand::SeedableRng;
use rand::rngs::StdRng;

/// The generator for position `(stream, index)` of `seed`, mixed through splitmix64 so nearby
/// positions give unrelated streams.
pub fn derived_rng(seed: u64, stream: u64, index: u64) -> StdRng {
    let mut state = seed ^ stream.rotate_left(32) ^ index.rotate_left(17);
    let mut next = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let _ = next();
    StdRng::seed_from_u64(next())
}

/// Streams of a run, so uses of one seed never share a generator.
pub mod stream {
    /// Generator weights.
    pub const GENERATOR_INIT: u64 = 1;
    /// Discriminator weights.
    pub const DISCRIMINATOR_INIT: u64 = 2;
    /// Dropout masks, indexed by training step.
    pub const DROPOUT: u64 = 3;
    /// Augmentation of one sample, indexed by pair; the epoch is added to the stream.
    pub const AUGMENT: u64 = 1 << 20;
    /// Shuffle order, indexed by epoch.
    pub const SHUFFLE: u64 = 4;
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    #[test]
    fn positions_give_different_reproducible_streams() {
        let draw = |stream, index| derived_rng(7, stream, index).random::<u64>();
        assert_eq!(draw(1, 5), draw(1, 5));
        assert_ne!(draw(1, 5), draw(1, 6));
        assert_ne!(draw(1, 5), draw(2, 5));
    }
}
