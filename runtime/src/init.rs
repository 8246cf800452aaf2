//! Random initialisation of weights.

use rand_core::{Rng, SeedableRng};

use crate::Float;

/// The generator behind `seeded(seed)`: xoshiro256++, small, fast, and the
/// same sequence on every platform.
pub type SeededRng = rand_xoshiro::Xoshiro256PlusPlus;

/// The generator a network's `seeded(seed)` uses.
///
/// ```
/// use backprop_runtime::init::seeded_rng;
/// use rand_core::Rng;
///
/// assert_eq!(seeded_rng(7).next_u64(), seeded_rng(7).next_u64());
/// ```
#[must_use]
pub fn seeded_rng(seed: u64) -> SeededRng {
    SeededRng::seed_from_u64(seed)
}

/// How a layer's weights are drawn; biases start at zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Init {
    /// Glorot (Xavier) uniform, `U(−a, a)` with `a = √(6 / (fan_in + fan_out))`:
    /// the default for `linear`, `sigmoid` and `tanh` layers.
    GlorotUniform,
    /// He (Kaiming) uniform, `U(−a, a)` with `a = √(6 / fan_in)`: the default
    /// for `relu` layers.
    HeUniform,
}

impl Init {
    /// The half-width `a` of the uniform range for a layer of these fans.
    #[must_use]
    pub fn bound(self, fan_in: usize, fan_out: usize) -> f64 {
        let fan = match self {
            Self::GlorotUniform => fan_in + fan_out,
            Self::HeUniform => fan_in,
        };
        libm::sqrt(6.0 / fan as f64)
    }

    /// Fills `weights` with independent draws for a layer with `fan_in`
    /// inputs and `fan_out` outputs.
    ///
    /// ```
    /// use backprop_runtime::init::{seeded_rng, Init};
    ///
    /// let mut w = [0.0_f32; 6];
    /// Init::GlorotUniform.fill(&mut seeded_rng(1), 2, 3, &mut w);
    /// assert!(w.iter().all(|v| v.abs() <= Init::GlorotUniform.bound(2, 3) as f32));
    /// ```
    pub fn fill<T: Float, R: Rng + ?Sized>(
        self,
        rng: &mut R,
        fan_in: usize,
        fan_out: usize,
        weights: &mut [T],
    ) {
        let bound = self.bound(fan_in, fan_out);
        for w in weights {
            *w = T::from_f64((2.0 * unit_interval(rng) - 1.0) * bound);
        }
    }
}

/// A uniform draw from `[0, 1)` with 53 random bits.
fn unit_interval<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    const SCALE: f64 = 1.0 / (1_u64 << 53) as f64;
    (rng.next_u64() >> 11) as f64 * SCALE
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;

    #[test]
    fn draws_cover_the_range_with_mean_near_zero() {
        let mut w = std::vec![0.0_f64; 10_000];
        Init::HeUniform.fill(&mut seeded_rng(3), 24, 8, &mut w);
        let bound = Init::HeUniform.bound(24, 8);
        assert!((bound - 0.5).abs() < 1e-12);
        assert!(w.iter().all(|v| v.abs() < bound));
        let mean = w.iter().sum::<f64>() / w.len() as f64;
        assert!(mean.abs() < 0.02, "mean {mean}");
        let max = w.iter().copied().fold(f64::MIN, f64::max);
        assert!(max > 0.99 * bound, "max {max}");
    }
}
