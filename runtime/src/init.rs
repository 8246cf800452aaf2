//! Random initialisation of weights: Glorot (Xavier) and He (Kaiming),
//! uniform or normal, PyTorch's `nn.Linear` default, and orthogonal
//! matrices (`orthogonal`, with the `alloc` feature).
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

use crate::sequence::{CellKind, Recurrent};
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
        mut rng: &mut R,
        fan_in: usize,
        fan_out: usize,
        weights: &mut [T],
    ) {
        self.draw(
            &mut rng,
            fan_in,
            fan_out,
            weights.len(),
            &mut writer(weights),
        );
    }

    /// Draws `count` weights for a layer, in order, and gives each to
    /// `put`. Neither generic nor inlined, so that it is compiled once, in
    /// this crate, and not again for every network that is initialised.
    fn draw(
        self,
        rng: &mut dyn Rng,
        fan_in: usize,
        fan_out: usize,
        count: usize,
        put: &mut dyn FnMut(f64),
    ) {
        match self.bound(fan_in, fan_out) {
            Some(bound) => draw_uniform(rng, bound, count, put),
            None => draw_normal(rng, self.std_dev(fan_in, fan_out), count, put),
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
            Some(bound) if self.draws_biases() => {
                draw_uniform(&mut &mut *rng, bound, bias.len(), &mut writer(bias));
            }
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
pub fn initialize_default<N: Network, R: Rng + ?Sized>(network: &mut N, mut rng: &mut R) {
    let put = &mut writer(network.params_mut());
    draw_network(N::WIDTHS, &mut default_scheme::<N>, &mut rng, put);
}

/// [`initialize_default`] with the generator [`seeded_rng`]`(seed)`: what a
/// generated network's `seeded(seed)` does.
///
/// ```
/// use backprop::init::{self, seeded_rng};
/// use backprop::Network;
///
/// backprop::network! {
///     /// A small classifier.
///     Net = 3 -> relu(4) -> softmax(2); loss = cross_entropy
/// }
///
/// let (mut net, mut other) = (Net::zeros(), Net::zeros());
/// init::initialize_seeded(&mut net, 4);
/// init::initialize_default(&mut other, &mut seeded_rng(4));
/// assert_eq!(net, other);
/// ```
pub fn initialize_seeded<N: Network>(network: &mut N, seed: u64) {
    let put = &mut writer(network.params_mut());
    draw_seeded(N::WIDTHS, N::ACTIVATIONS, N::INIT, seed, put);
}

/// A network drawn as [`initialize_default`] draws it: what a generated
/// network's `new(rng)` returns.
pub fn default_network<N: Network, R: Rng + ?Sized>(rng: &mut R) -> N {
    let mut network = N::zeros();
    initialize_default(&mut network, rng);
    network
}

/// A network drawn as [`initialize_seeded`] draws it: what a generated
/// network's `seeded(seed)` returns.
///
/// ```
/// use backprop::Network;
///
/// backprop::network! {
///     /// The seed's network.
///     Xor = 2 -> sigmoid(3) -> linear(1); loss = mse
/// }
/// assert_eq!(backprop::init::seeded_network::<Xor>(5), Xor::seeded(5));
/// ```
#[must_use]
pub fn seeded_network<N: Network>(seed: u64) -> N {
    let mut network = N::zeros();
    initialize_seeded(&mut network, seed);
    network
}

/// The scheme [`initialize_default`] draws layer `l` with.
/// A recurrent network drawn as `new(rng)` draws it: every recurrent
/// layer's four tensors from `U(−1/√H, 1/√H)`, as PyTorch's `nn.LSTM` and
/// `nn.GRU` do, then the dense layers as [`initialize_default`] draws a
/// network's (by `init = …`, else by their activations).
pub fn default_recurrent<N: Recurrent, R: Rng + ?Sized>(rng: &mut R, init: Option<Init>) -> N {
    let mut network = N::zeros();
    draw_recurrent(
        N::CELLS,
        N::WIDTHS,
        N::ACTIVATIONS,
        init,
        &mut &mut *rng,
        &mut writer(network.params_mut()),
    );
    network
}

/// [`default_recurrent`] with the generator [`seeded_rng`]`(seed)`: what a
/// generated recurrent network's `seeded(seed)` returns.
#[must_use]
pub fn seeded_recurrent<N: Recurrent>(seed: u64, init: Option<Init>) -> N {
    default_recurrent(&mut seeded_rng(seed), init)
}

/// The draws of [`default_recurrent`], compiled once, here.
fn draw_recurrent(
    cells: &[CellKind],
    widths: &[usize],
    activations: &[ActivationKind],
    init: Option<Init>,
    rng: &mut dyn Rng,
    put: &mut dyn FnMut(f64),
) {
    for (cell, fans) in cells.iter().zip(widths.windows(2)) {
        let (fan_in, hidden) = (fans[0], fans[1]);
        let bound = 1.0 / libm::sqrt(hidden as f64);
        draw_uniform(rng, bound, cell.params(fan_in, hidden), put);
    }
    let mut scheme = |l: usize| init.unwrap_or(Init::for_activation(activations[l - 1]));
    draw_network(&widths[cells.len()..], &mut scheme, rng, put);
}

fn default_scheme<N: Network>(l: usize) -> Init {
    N::INIT.unwrap_or(Init::for_activation(N::ACTIVATIONS[l - 1]))
}

/// [`initialize_seeded`]'s draws, made here, where this function and the
/// generator's vtable are compiled once, rather than in every crate that
/// seeds a network.
fn draw_seeded(
    widths: &[usize],
    activations: &[ActivationKind],
    init: Option<Init>,
    seed: u64,
    put: &mut dyn FnMut(f64),
) {
    let mut scheme = |l: usize| init.unwrap_or(Init::for_activation(activations[l - 1]));
    draw_network(widths, &mut scheme, &mut seeded_rng(seed), put);
}

/// Every layer's weights and then biases for layers of these `widths`, in
/// the order of [`Network::params`], each value given to `put`: weights by
/// `scheme(l)`, biases drawn too where the scheme draws them, else zero.
fn draw_network(
    widths: &[usize],
    scheme: &mut dyn FnMut(usize) -> Init,
    rng: &mut dyn Rng,
    put: &mut dyn FnMut(f64),
) {
    for (l, fans) in widths.windows(2).enumerate() {
        let (fan_in, fan_out) = (fans[0], fans[1]);
        let scheme = scheme(l + 1);
        scheme.draw(rng, fan_in, fan_out, fan_in * fan_out, put);
        match scheme.bound(fan_in, fan_out) {
            Some(bound) if scheme.draws_biases() => draw_uniform(rng, bound, fan_out, put),
            _ => (0..fan_out).for_each(|_| put(0.0)),
        }
    }
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
    mut rng: &mut R,
) {
    let put = &mut writer(network.params_mut());
    draw_network(N::WIDTHS, &mut scheme, &mut rng, put);
}

/// Redraws every weight matrix of `network` as `torch.nn.init.orthogonal_`
/// draws it, scaled by that layer's gain, and sets every bias to zero: the
/// initialisation of PPO, A2C and DQN implementations (`CleanRL`'s
/// `layer_init`, Stable-Baselines3's `ortho_init`), typically with gain
/// `√2` for hidden layers, `0.01` for a policy's output and `1` for a
/// value head.
///
/// For each layer, in PyTorch's `[out, in]` orientation as
/// `orthogonal_` works: a matrix of standard normal draws (row by row, from
/// `rng`, as [`Init::HeNormal`] draws), transposed if it has fewer rows
/// than columns; its QR decomposition by Householder reflections in `f64`;
/// `Q` with each column multiplied by the sign of `R`'s diagonal element,
/// which makes it the unique one and uniformly distributed; transposed
/// back; times the gain. So a layer with `fan_out ≥ fan_in` has
/// orthonormal rows in backprop's `fan_in × fan_out` layout (`W·Wᵀ =
/// gain²·I`), a narrower one orthonormal columns (`Wᵀ·W = gain²·I`). The
/// values are not PyTorch's, whose generator differs; a seed gives the
/// same weights on every platform.
///
/// The biases are zero, as RL code follows `orthogonal_(weight, gain)` with
/// `constant_(bias, 0)`.
///
/// ```
/// use backprop::init::{orthogonal, seeded_rng};
/// use backprop::Network;
///
/// backprop::network! {
///     /// A PPO policy: 4 observations in, the logits of 2 actions out.
///     Policy = 4 -> tanh(16) -> tanh(16) -> linear(2); loss = none; float = f64
/// }
///
/// let mut policy = Policy::zeros();
/// let sqrt2 = 2f64.sqrt();
/// orthogonal(&mut policy, &[sqrt2, sqrt2, 0.01], &mut seeded_rng(1));
/// assert!(policy.b1().iter().all(|&b| b == 0.0));
/// // W¹ is 4 × 16: its rows are orthogonal, each of length √2.
/// let w1 = policy.w1();
/// let dot = |a: &[f64; 16], b: &[f64; 16]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
/// assert!((dot(&w1[0], &w1[0]) - 2.0).abs() < 1e-12);
/// assert!(dot(&w1[0], &w1[1]).abs() < 1e-12);
/// ```
///
/// Needs the `alloc` feature: the decomposition works on an `f64` copy of
/// each layer, whose size the network's widths give only at run time. One
/// buffer, for the largest layer, is allocated per call.
///
/// # Panics
///
/// Unless `gains` holds one finite gain per layer ([`Network::LAYERS`]),
/// before any parameter changes.
#[cfg(feature = "alloc")]
pub fn orthogonal<N: Network, R: Rng + ?Sized>(network: &mut N, gains: &[f64], mut rng: &mut R) {
    check_gains(N::LAYERS, gains);
    let put = &mut writer(network.params_mut());
    draw_orthogonal(N::WIDTHS, gains, &mut rng, put);
}

/// [`orthogonal`]'s check of its gains.
#[cfg(feature = "alloc")]
fn check_gains(layers: usize, gains: &[f64]) {
    assert!(
        gains.len() == layers,
        "orthogonal needs one gain per layer: the network has {layers} layers, \
         but {} gains were given",
        gains.len()
    );
    if let Some(l) = gains.iter().position(|gain| !gain.is_finite()) {
        panic!(
            "orthogonal's gains must be finite; layer {}'s is {}",
            l + 1,
            gains[l]
        );
    }
}

/// [`orthogonal`]'s draws for layers of these `widths`, each value given
/// to `put` in the order of [`Network::params`]; compiled once, here.
#[cfg(feature = "alloc")]
fn draw_orthogonal(widths: &[usize], gains: &[f64], rng: &mut dyn Rng, put: &mut dyn FnMut(f64)) {
    let largest = widths.windows(2).map(|w| w[0] * w[1]).max().unwrap_or(0);
    let widest = widths.iter().copied().max().unwrap_or(0);
    let mut scratch = alloc::vec![0.0; 2 * largest + widest];
    for (fans, &gain) in widths.windows(2).zip(gains) {
        let (fan_in, fan_out) = (fans[0], fans[1]);
        // PyTorch's weight is `rows × cols` = `fan_out × fan_in`; the QR
        // is of the taller of it and its transpose, `m × n` with `m ≥ n`.
        let (rows, cols) = (fan_out, fan_in);
        let transposed = rows < cols;
        let (m, n) = if transposed {
            (cols, rows)
        } else {
            (rows, cols)
        };
        let (a, rest) = scratch.split_at_mut(m * n);
        let (q, rest) = rest.split_at_mut(m * n);
        let diagonal = &mut rest[..n];
        let mut next = 0;
        draw_normal(rng, 1.0, rows * cols, &mut |value| {
            let (r, c) = (next / cols, next % cols);
            a[if transposed { c * n + r } else { r * n + c }] = value;
            next += 1;
        });
        orthonormal_factor(a, m, n, q, diagonal);
        // backprop's `W[i][o]` is PyTorch's `weight[o][i]`: `Q[o][i]`, or
        // `Q[i][o]` where the QR was of the transpose.
        for i in 0..fan_in {
            for o in 0..fan_out {
                let entry = if transposed {
                    q[i * n + o]
                } else {
                    q[o * n + i]
                };
                put(gain * entry);
            }
        }
        (0..fan_out).for_each(|_| put(0.0));
    }
}

/// The `m × n` factor `Q` (`m ≥ n`, orthonormal columns) of the QR
/// decomposition of the row-major `a`, by Householder reflections, with
/// each column `k` multiplied by the sign of `R`'s `k`-th diagonal element,
/// as `orthogonal_` multiplies by `sign(diag(R))`, so that `R`'s diagonal
/// is positive and `Q` does not depend on the reflections' signs. `a` is
/// overwritten with the reflections, `diagonal` with `R`'s diagonal.
#[cfg(feature = "alloc")]
fn orthonormal_factor(a: &mut [f64], m: usize, n: usize, q: &mut [f64], diagonal: &mut [f64]) {
    // H_k = I − 2·v·vᵀ / (vᵀ·v), with v in column k of `a`, rows k..m.
    let squared_length =
        |a: &[f64], k: usize| (k..m).map(|i| a[i * n + k] * a[i * n + k]).sum::<f64>();
    for k in 0..n {
        let norm = libm::sqrt(squared_length(a, k));
        // The sign opposite to the pivot's, so that v loses no digits.
        let alpha = if a[k * n + k] >= 0.0 { -norm } else { norm };
        diagonal[k] = alpha;
        a[k * n + k] -= alpha;
        let vv = squared_length(a, k);
        if vv == 0.0 {
            continue;
        }
        for j in k + 1..n {
            let dot: f64 = (k..m).map(|i| a[i * n + k] * a[i * n + j]).sum();
            let factor = 2.0 * dot / vv;
            for i in k..m {
                a[i * n + j] -= factor * a[i * n + k];
            }
        }
    }
    // Q = H₀·H₁·…·H_{n−1}·[I; 0], applying the last reflection first: H_k
    // changes only rows k.. and, at that point, columns k..
    q.fill(0.0);
    for k in 0..n {
        q[k * n + k] = 1.0;
    }
    for k in (0..n).rev() {
        let vv = squared_length(a, k);
        if vv == 0.0 {
            continue;
        }
        for j in k..n {
            let dot: f64 = (k..m).map(|i| a[i * n + k] * q[i * n + j]).sum();
            let factor = 2.0 * dot / vv;
            for i in k..m {
                q[i * n + j] -= factor * a[i * n + k];
            }
        }
    }
    for (k, &r) in diagonal.iter().enumerate() {
        if r < 0.0 {
            for i in 0..m {
                q[i * n + k] = -q[i * n + k];
            }
        }
    }
}

/// A `put` for the draws below that writes them into `values`, in order.
fn writer<T: Float>(values: &mut [T]) -> impl FnMut(f64) + '_ {
    let mut slots = values.iter_mut();
    move |value| {
        if let Some(slot) = slots.next() {
            *slot = T::from_f64(value);
        }
    }
}

/// `count` draws from `U(−bound, bound)`, each given to `put`.
fn draw_uniform(rng: &mut dyn Rng, bound: f64, count: usize, put: &mut dyn FnMut(f64)) {
    for _ in 0..count {
        put((2.0 * unit_interval(rng) - 1.0) * bound);
    }
}

/// `count` draws from `N(0, std_dev²)` by the Box–Muller transform, each
/// given to `put`: each pair of uniform draws gives two values, `r·cos θ`
/// and `r·sin θ` (an odd last value uses the cosine alone). Everything is
/// computed in `f64` with [`libm`], so the values are the same on every
/// platform.
pub(crate) fn draw_normal(rng: &mut dyn Rng, std_dev: f64, count: usize, put: &mut dyn FnMut(f64)) {
    for first in (0..count).step_by(2) {
        // 1 − u lies in (0, 1], so the logarithm is finite.
        let radius = std_dev * libm::sqrt(-2.0 * libm::log(1.0 - unit_interval(rng)));
        let angle = core::f64::consts::TAU * unit_interval(rng);
        put(radius * libm::cos(angle));
        if first + 1 < count {
            put(radius * libm::sin(angle));
        }
    }
}

/// A uniform draw from `[0, 1)` with 53 random bits.
pub(crate) fn unit_interval(rng: &mut dyn Rng) -> f64 {
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
