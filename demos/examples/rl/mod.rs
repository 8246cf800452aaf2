//! What the reinforcement-learning examples share: the environment, the
//! replay buffer, the learning curve, the seed, and uniform draws from the
//! seeded generator.

// Each example uses part of this module: the CartPole agents the cart,
// the DQN and DDPG agents the replay buffer, the DDPG agent the pendulum.
#![allow(dead_code)]

pub(crate) mod cartpole;
pub(crate) mod curve;
pub(crate) mod pendulum;
pub(crate) mod replay;

use backprop::runtime::rand_core::Rng;

/// The seed the `SEED` environment variable gives, else `default`.
///
/// # Errors
///
/// If `SEED` is set but is not a number from 0 to 2⁶⁴ − 1.
pub(crate) fn seed(default: u64) -> Result<u64, String> {
    match std::env::var("SEED") {
        Ok(text) => text
            .parse()
            .map_err(|error| format!("SEED={text} is not a seed: {error}")),
        Err(std::env::VarError::NotPresent) => Ok(default),
        Err(std::env::VarError::NotUnicode(text)) => Err(format!(
            "SEED={} is not a seed: not Unicode",
            text.to_string_lossy()
        )),
    }
}

/// A uniform draw from `[0, 1)` with 53 random bits, as `init` draws.
pub(crate) fn uniform<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    const SCALE: f64 = 1.0 / (1_u64 << 53) as f64;
    (rng.next_u64() >> 11) as f64 * SCALE
}

/// A uniform draw from `0..n`, for `n > 0`.
// The product lies in `[0, n)`: its integer part is a valid index.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
pub(crate) fn below<R: Rng + ?Sized>(rng: &mut R, n: usize) -> usize {
    // `uniform < 1`, so the product is below `n`; `min` guards the rounding.
    ((uniform(rng) * n as f64) as usize).min(n - 1)
}
