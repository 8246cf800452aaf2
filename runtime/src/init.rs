//! Random initialisation of weights: Glorot (Xavier) and He (Kaiming),
//! uniform or normal, and PyTorch's `nn.Linear` default.
//!
//! A generated network's `new(&mut rng)` draws each layer with the scheme
//! its activation calls for ([`Init::for_activation`]) unless the network
//! names one with the `init = …` option of `network!`. [`initialize`]
//! redraws any network with a scheme chosen at run time:
//!
//! ```
//! use backprop::init::{self, Init, seeded_rng};
//! use backprop::Network;
//!
//! backprop::network! {
//!     /// A small classifier.
//!     Net = 4 -> relu(8) -> softmax(3); loss = cross_entropy
//! }
//!
//! let mut net = Net::seeded(1);
//! init::initialize(&mut net, Init::HeNormal, &mut seeded_rng(2));
//! assert!(net.b1().iter().all(|&b| b == 0.0));
//! ```
//!
//! Draws are reproducible: the generator is [`SeededRng`] (xoshiro256++), a
//! uniform draw takes 53 bits of one `u64`, and a normal draw is a
//! Box–Muller transform computed with [`libm`], so a seed gives the same
//! weights, bit for bit, on every platform, with or without `std`.

use rand_core::{Rng, SeedableRng};

use crate::{ActivationKind, Float, Network};

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

/// How a layer's parameters are drawn, for a layer with `fan_in` inputs and
/// `fan_out` units. Every scheme but [`PyTorch`](Init::PyTorch) starts the
/// biases at zero.
///
/// | scheme | weights | PyTorch equivalent |
/// | --- | --- | --- |
/// | `GlorotUniform` | `U(−a, a)`, `a = √(6 / (fan_in + fan_out))` | `xavier_uniform_` |
/// | `GlorotNormal` | `N(0, σ²)`, `σ = √(2 / (fan_in + fan_out))` | `xavier_normal_` |
/// | `HeUniform` | `U(−a, a)`, `a = √(6 / fan_in)` | `kaiming_uniform_(nonlinearity="relu")` |
/// | `HeNormal` | `N(0, σ²)`, `σ = √(2 / fan_in)` | `kaiming_normal_(nonlinearity="relu")` |
/// | `PyTorch` | `U(−a, a)`, `a = 1/√fan_in`; biases too | `nn.Linear`'s default |
///
/// ```
/// use backprop_runtime::Init;
///
/// assert_eq!(Init::HeUniform.bound(24, 8), Some(0.5));
/// assert_eq!(Init::HeNormal.std_dev(8, 3), 0.5);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Init {
    /// Glorot (Xavier) uniform, `U(−a, a)` with `a = √(6 / (fan_in + fan_out))`:
    /// the default for `linear`, `sigmoid`, `tanh`, `softplus` and `softmax`
    /// layers; `init = glorot_uniform` in `network!`.
    GlorotUniform,
    /// Glorot (Xavier) normal, `N(0, σ²)` with `σ = √(2 / (fan_in + fan_out))`;
    /// `init = glorot_normal`.
    GlorotNormal,
    /// He (Kaiming) uniform, `U(−a, a)` with `a = √(6 / fan_in)`: the default
    /// for the rectifier family (`relu`, `leaky_relu`, `elu`, `gelu`,
    /// `silu`); `init = he_uniform`.
    HeUniform,
    /// He (Kaiming) normal, `N(0, σ²)` with `σ = √(2 / fan_in)`;
    /// `init = he_normal`.
    HeNormal,
    /// PyTorch's default for `nn.Linear`: weights and biases both
    /// `U(−a, a)` with `a = 1/√fan_in`; `init = pytorch`.
    PyTorch,
}

impl Init {
    /// Every scheme, in the order of the table above.
    ///
    /// ```
    /// use backprop_runtime::Init;
    ///
    /// assert_eq!(Init::ALL.len(), 5);
    /// assert!(Init::ALL.iter().all(|scheme| scheme.std_dev(4, 4) > 0.0));
    /// ```
    pub const ALL: [Self; 5] = [
        Self::GlorotUniform,
        Self::GlorotNormal,
        Self::HeUniform,
        Self::HeNormal,
        Self::PyTorch,
    ];

    /// The scheme `new` uses for a layer with this activation: He uniform
    /// for the rectifier family, Glorot uniform for the rest.
    ///
    /// ```
    /// use backprop_runtime::{ActivationKind, Init};
    ///
    /// let gelu = ActivationKind::Gelu { tanh_approximation: true };
    /// assert_eq!(Init::for_activation(gelu), Init::HeUniform);
    /// assert_eq!(Init::for_activation(ActivationKind::Tanh), Init::GlorotUniform);
    /// ```
    #[must_use]
    pub const fn for_activation(activation: ActivationKind) -> Self {
        if activation.is_rectifier() {
            Self::HeUniform
        } else {
            Self::GlorotUniform
        }
    }

    /// The name of the scheme in the `init = …` option of `network!`.
    ///
    /// ```
    /// use backprop_runtime::Init;
    ///
    /// assert_eq!(Init::HeNormal.name(), "he_normal");
    /// ```
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::GlorotUniform => "glorot_uniform",
            Self::GlorotNormal => "glorot_normal",
            Self::HeUniform => "he_uniform",
            Self::HeNormal => "he_normal",
            Self::PyTorch => "pytorch",
        }
    }

    /// The half-width `a` of the uniform range `U(−a, a)` for a layer of
    /// these fans; `None` for the normal schemes, whose draws are unbounded.
    ///
    /// ```
    /// use backprop_runtime::Init;
    ///
    /// assert_eq!(Init::GlorotUniform.bound(2, 1), Some(2.0_f64.sqrt()));
    /// assert_eq!(Init::PyTorch.bound(16, 3), Some(0.25));
    /// assert_eq!(Init::GlorotNormal.bound(2, 1), None);
    /// ```
    #[must_use]
    pub fn bound(self, fan_in: usize, fan_out: usize) -> Option<f64> {
        match self {
            Self::GlorotUniform => Some(libm::sqrt(6.0 / (fan_in + fan_out) as f64)),
            Self::HeUniform => Some(libm::sqrt(6.0 / fan_in as f64)),
            Self::PyTorch => Some(1.0 / libm::sqrt(fan_in as f64)),
            Self::GlorotNormal | Self::HeNormal => None,
        }
    }

    /// The standard deviation of one weight: `σ` for the normal schemes,
    /// `a/√3` for the uniform ones.
    ///
    /// ```
    /// use backprop_runtime::Init;
    ///
    /// // Glorot keeps the variance 2 / (fan_in + fan_out) either way.
    /// let (uniform, normal) = (Init::GlorotUniform.std_dev(3, 5), Init::GlorotNormal.std_dev(3, 5));
    /// assert!((uniform - normal).abs() < 1e-15 && (normal - 0.5).abs() < 1e-15);
    /// ```
    #[must_use]
    pub fn std_dev(self, fan_in: usize, fan_out: usize) -> f64 {
        match self {
            Self::GlorotNormal => libm::sqrt(2.0 / (fan_in + fan_out) as f64),
            Self::HeNormal => libm::sqrt(2.0 / fan_in as f64),
            Self::GlorotUniform | Self::HeUniform | Self::PyTorch => {
                self.bound(fan_in, fan_out).unwrap_or_default() / libm::sqrt(3.0)
            }
        }
    }

    /// Whether the scheme draws the biases too ([`PyTorch`](Init::PyTorch));
    /// the others leave them at zero.
    ///
    /// ```
    /// use backprop_runtime::Init;
    ///
    /// assert!(Init::PyTorch.draws_biases() && !Init::HeNormal.draws_biases());
    /// ```
    #[must_use]
    pub const fn draws_biases(self) -> bool {
        matches!(self, Self::PyTorch)
    }

    /// Fills `weights` with independent draws for a layer with `fan_in`
    /// inputs and `fan_out` outputs.
    ///
    /// ```
    /// use backprop_runtime::init::{seeded_rng, Init};
    ///
    /// let mut w = [0.0_f32; 6];
    /// Init::GlorotUniform.fill(&mut seeded_rng(1), 2, 3, &mut w);
    /// let bound = Init::GlorotUniform.bound(2, 3).unwrap() as f32;
    /// assert!(w.iter().all(|v| v.abs() <= bound));
    /// ```
    pub fn fill<T: Float, R: Rng + ?Sized>(
        self,
        rng: &mut R,
        fan_in: usize,
        fan_out: usize,
        weights: &mut [T],
    ) {
        match self.bound(fan_in, fan_out) {
            Some(bound) => fill_uniform(rng, bound, weights),
            None => fill_normal(rng, self.std_dev(fan_in, fan_out), weights),
        }
    }

    /// Fills a layer's `weights` and `bias`, in that order (the order of
    /// [`Network::params`]): the weights as [`fill`](Init::fill) does, the
    /// bias with zeros, or for [`PyTorch`](Init::PyTorch) with draws from
    /// the same range as the weights.
    ///
    /// ```
    /// use backprop_runtime::init::{seeded_rng, Init};
    ///
    /// let (mut w, mut b) = ([0.0_f64; 8], [1.0_f64; 2]);
    /// Init::HeNormal.fill_layer(&mut seeded_rng(1), 4, 2, &mut w, &mut b);
    /// assert_eq!(b, [0.0; 2]);
    /// Init::PyTorch.fill_layer(&mut seeded_rng(1), 4, 2, &mut w, &mut b);
    /// assert!(b.iter().all(|&b| b != 0.0 && b.abs() <= 0.5));
    /// ```
    pub fn fill_layer<T: Float, R: Rng + ?Sized>(
        self,
        rng: &mut R,
        fan_in: usize,
        fan_out: usize,
        weights: &mut [T],
        bias: &mut [T],
    ) {
        self.fill(rng, fan_in, fan_out, weights);
        match self.bound(fan_in, fan_out) {
            Some(bound) if self.draws_biases() => fill_uniform(rng, bound, bias),
            _ => bias.fill(T::ZERO),
        }
    }
}

/// Redraws every parameter of `network` with `scheme`, layer by layer in
/// the order of [`Network::params`] (`W¹`, `b¹`, `W²`, …).
///
/// ```
/// use backprop::init::{self, Init, seeded_rng};
/// use backprop::Network;
///
/// backprop::network! {
///     /// The seed network.
///     Xor = 2 -> sigmoid(3) -> linear(1); loss = mse
/// }
///
/// let mut xor = Xor::zeros();
/// init::initialize(&mut xor, Init::PyTorch, &mut seeded_rng(5));
/// // PyTorch's bound for the second layer: 1/√3.
/// assert!(xor.b2()[0] != 0.0 && xor.b2()[0].abs() <= 1.0 / 3.0_f32.sqrt());
/// ```
pub fn initialize<N: Network, R: Rng + ?Sized>(network: &mut N, scheme: Init, rng: &mut R) {
    initialize_layers(network, |_| scheme, rng);
}

/// Redraws every layer of `network` as its `new` does: with the scheme
/// `init = …` names ([`Network::INIT`]), or else with the one its
/// activation calls for ([`Init::for_activation`]), so the same
/// generator gives the same network.
///
/// ```
/// use backprop::init::{self, seeded_rng};
/// use backprop::Network;
///
/// backprop::network! {
///     /// A small regressor.
///     Net = 3 -> relu(4) -> tanh(4) -> linear(2); loss = mse
/// }
///
/// let mut net = Net::zeros();
/// init::initialize_default(&mut net, &mut seeded_rng(9));
/// assert_eq!(net, Net::seeded(9));
/// ```
pub fn initialize_default<N: Network, R: Rng + ?Sized>(network: &mut N, rng: &mut R) {
    initialize_layers(
        network,
        |l| N::INIT.unwrap_or(Init::for_activation(N::ACTIVATIONS[l - 1])),
        rng,
    );
}

/// Redraws every layer `l` (counting from 1) of `network` with
/// `scheme(l)`, in the order of [`Network::params`].
///
/// ```
/// use backprop::init::{self, Init, seeded_rng};
/// use backprop::Network;
///
/// backprop::network! {
///     /// A small regressor.
///     Net = 3 -> relu(4) -> linear(2); loss = mse
/// }
///
/// let mut net = Net::zeros();
/// let scheme = |l| if l == 1 { Init::HeNormal } else { Init::PyTorch };
/// init::initialize_layers(&mut net, scheme, &mut seeded_rng(3));
/// assert!(net.b1().iter().all(|&b| b == 0.0) && net.b2().iter().all(|&b| b != 0.0));
/// ```
pub fn initialize_layers<N: Network, R: Rng + ?Sized>(
    network: &mut N,
    mut scheme: impl FnMut(usize) -> Init,
    rng: &mut R,
) {
    let mut rest = network.params_mut();
    for (l, fans) in N::WIDTHS.windows(2).enumerate() {
        let (fan_in, fan_out) = (fans[0], fans[1]);
        let (weights, after) = rest.split_at_mut(fan_in * fan_out);
        let (bias, after) = after.split_at_mut(fan_out);
        scheme(l + 1).fill_layer(rng, fan_in, fan_out, weights, bias);
        rest = after;
    }
}

/// `U(−bound, bound)` into `values`, one `u64` per value.
fn fill_uniform<T: Float, R: Rng + ?Sized>(rng: &mut R, bound: f64, values: &mut [T]) {
    for value in values {
        *value = T::from_f64((2.0 * unit_interval(rng) - 1.0) * bound);
    }
}

/// `N(0, std_dev²)` into `values` by the Box–Muller transform: each pair of
/// uniform draws gives two values, `r·cos θ` and `r·sin θ` (an odd last
/// value uses the cosine alone). Everything is computed in `f64` with
/// [`libm`], so the values are the same on every platform.
fn fill_normal<T: Float, R: Rng + ?Sized>(rng: &mut R, std_dev: f64, values: &mut [T]) {
    for pair in values.chunks_mut(2) {
        // 1 − u lies in (0, 1], so the logarithm is finite.
        let radius = std_dev * libm::sqrt(-2.0 * libm::log(1.0 - unit_interval(rng)));
        let angle = core::f64::consts::TAU * unit_interval(rng);
        pair[0] = T::from_f64(radius * libm::cos(angle));
        if let Some(second) = pair.get_mut(1) {
            *second = T::from_f64(radius * libm::sin(angle));
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
    fn he_uniform_draws_cover_the_range_with_mean_near_zero() {
        let mut w = std::vec![0.0_f64; 10_000];
        Init::HeUniform.fill(&mut seeded_rng(3), 24, 8, &mut w);
        let bound = Init::HeUniform.bound(24, 8).unwrap();
        assert!((bound - 0.5).abs() < 1e-12);
        assert!(w.iter().all(|v| v.abs() < bound));
        let mean = w.iter().sum::<f64>() / w.len() as f64;
        assert!(mean.abs() < 0.02, "mean {mean}");
        let max = w.iter().copied().fold(f64::MIN, f64::max);
        assert!(max > 0.99 * bound, "max {max}");
    }

    #[test]
    // The same draws must give the very same bits.
    #[allow(clippy::float_cmp)]
    fn an_odd_normal_fill_is_the_start_of_an_even_one() {
        let (mut odd, mut even) = ([0.0_f64; 5], [0.0_f64; 6]);
        Init::HeNormal.fill(&mut seeded_rng(4), 2, 2, &mut odd);
        Init::HeNormal.fill(&mut seeded_rng(4), 2, 2, &mut even);
        assert_eq!(odd, even[..5]);
    }
}
