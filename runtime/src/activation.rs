//! Activation functions `f` and their derivatives `f'`.
//!
//! Element-wise activations implement [`Activation`]: `apply` gives
//! `h = f(z)` and `derivative` gives `f'(z)` from both `z` and `h`, so each
//! can use whichever is cheaper and more stable (`sigmoid` uses
//! `h(1 − h)`, `gelu` needs `z`). [`softmax`] works on whole rows and can
//! only be the output layer. Formulas and defaults follow PyTorch.
//!
//! Each activation also owns its row functions, [`Activation::apply_row`]
//! and [`Activation::backprop_row`], which [`activate`] and
//! [`backprop_activation`] run over a whole matrix: element by element
//! unless the activation has a faster form (`sigmoid` and `tanh` take the
//! type's vectorised row functions, the approximations of `f32`). Softmax
//! takes its `exp` from the same place as the fused cross-entropy of
//! [`loss`](crate::loss), so both compute the same probabilities.

use crate::Float;

/// An element-wise activation function.
pub trait Activation {
    /// `f(z)`.
    fn apply<T: Float>(&self, z: T) -> T;

    /// `f'(z)`, given `z` and `h = f(z)`.
    fn derivative<T: Float>(&self, z: T, h: T) -> T;

    /// `h = f(z)` along a row (or a flattened matrix): [`apply`](Self::apply)
    /// value by value, unless the activation has a vectorised form.
    /// `FUSED` is whether the caller is compiled for FMA (the forward
    /// pass's AVX2 copy), where the vectorised forms' multiply-adds round
    /// once.
    // Always: compiled into the forward pass's copy for AVX2 and FMA,
    // which a call would leave on the baseline CPU.
    #[inline(always)]
    #[allow(clippy::inline_always)]
    fn apply_row<const FUSED: bool, T: Float>(&self, z: &[T], h: &mut [T]) {
        for k in 0..z.len() {
            h[k] = self.apply(z[k]);
        }
    }

    /// `grad ⊙= f'(z)` along a row (or a flattened matrix), given `z` and
    /// `h = f(z)`: turns `∂L/∂H` into `∂L/∂Z`.
    #[inline]
    fn backprop_row<T: Float>(&self, z: &[T], h: &[T], grad: &mut [T]) {
        for k in 0..grad.len() {
            grad[k] *= self.derivative(z[k], h[k]);
        }
    }
}

/// `f(z) = z`, `f' = 1`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Linear;

/// The logistic function `σ(z) = 1 / (1 + e⁻ᶻ)`, `f' = σ(1 − σ)`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Sigmoid;

/// The hyperbolic tangent, `f' = 1 − tanh²`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Tanh;

/// The rectifier `max(0, z)`, `f' = [z > 0]`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Relu;

/// `z` for `z > 0`, `slope·z` otherwise (PyTorch's `LeakyReLU`, default slope 0.01).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LeakyRelu {
    /// The slope for negative inputs.
    pub slope: f64,
}

/// `z` for `z > 0`, `α(eᶻ − 1)` otherwise (PyTorch's `ELU`, default α = 1).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Elu {
    /// The value approached for large negative inputs is `−α`.
    pub alpha: f64,
}

/// The Gaussian error linear unit `z·Φ(z)` (PyTorch's `GELU`): exact with
/// `erf`, or PyTorch's `approximate='tanh'` form.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Gelu {
    /// Use `0.5·z·(1 + tanh(√(2/π)·(z + 0.044715·z³)))`.
    pub tanh_approximation: bool,
}

/// `z·σ(z)`, also called swish (PyTorch's `SiLU`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Silu;

/// `ln(1 + e^{βz}) / β`, and `z` where `βz > 20` (PyTorch's `Softplus`, default β = 1).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Softplus {
    /// The sharpness `β`.
    pub beta: f64,
}

impl Default for LeakyRelu {
    fn default() -> Self {
        Self { slope: 0.01 }
    }
}

impl Default for Elu {
    fn default() -> Self {
        Self { alpha: 1.0 }
    }
}

impl Default for Softplus {
    fn default() -> Self {
        Self { beta: 1.0 }
    }
}

/// `σ(z)`, evaluated so that `exp` never overflows.
#[inline]
#[must_use]
pub fn sigmoid<T: Float>(z: T) -> T {
    // `1 / (1 + e^{-z})` for `z ≥ 0`, `e^{z} / (1 + e^{z})` below: both are
    // `n / (1 + e^{-|z|})`, one `exp` and a select instead of a branch that
    // mispredicts when signs vary.
    let e = (-z.abs()).exp();
    let numerator = if z >= T::ZERO { T::ONE } else { e };
    numerator / (T::ONE + e)
}

impl Activation for Linear {
    #[inline]
    fn apply<T: Float>(&self, z: T) -> T {
        z
    }

    #[inline]
    fn derivative<T: Float>(&self, _z: T, _h: T) -> T {
        T::ONE
    }
}

impl Activation for Sigmoid {
    #[inline]
    fn apply<T: Float>(&self, z: T) -> T {
        sigmoid(z)
    }

    #[inline]
    fn derivative<T: Float>(&self, _z: T, h: T) -> T {
        h * (T::ONE - h)
    }

    /// The type's vectorised row function, as [`kernels::sigmoid`](crate::kernels::sigmoid).
    #[inline(always)]
    #[allow(clippy::inline_always)]
    fn apply_row<const FUSED: bool, T: Float>(&self, z: &[T], h: &mut [T]) {
        T::sigmoid_row::<FUSED>(z, h);
    }
}

impl Activation for Tanh {
    #[inline]
    fn apply<T: Float>(&self, z: T) -> T {
        z.tanh()
    }

    #[inline]
    fn derivative<T: Float>(&self, _z: T, h: T) -> T {
        T::ONE - h * h
    }

    /// The type's vectorised row function, as [`kernels::tanh`](crate::kernels::tanh).
    // Always: compiled into the forward pass's copy for AVX2 and FMA,
    // which a call would leave on the baseline CPU.
    #[inline(always)]
    #[allow(clippy::inline_always)]
    fn apply_row<const FUSED: bool, T: Float>(&self, z: &[T], h: &mut [T]) {
        T::tanh_row::<FUSED>(z, h);
    }
}

impl Activation for Relu {
    /// Written so that NaN stays NaN, as in PyTorch: a NaN must reach the
    /// loss, not vanish in a dead unit.
    #[inline]
    fn apply<T: Float>(&self, z: T) -> T {
        if z < T::ZERO { T::ZERO } else { z }
    }

    #[inline]
    fn derivative<T: Float>(&self, z: T, _h: T) -> T {
        if z > T::ZERO { T::ONE } else { T::ZERO }
    }
}

impl Activation for LeakyRelu {
    #[inline]
    fn apply<T: Float>(&self, z: T) -> T {
        if z > T::ZERO {
            z
        } else {
            T::from_f64(self.slope) * z
        }
    }

    #[inline]
    fn derivative<T: Float>(&self, z: T, _h: T) -> T {
        if z > T::ZERO {
            T::ONE
        } else {
            T::from_f64(self.slope)
        }
    }
}

impl Activation for Elu {
    #[inline]
    fn apply<T: Float>(&self, z: T) -> T {
        if z > T::ZERO {
            z
        } else {
            T::from_f64(self.alpha) * z.exp_m1()
        }
    }

    #[inline]
    fn derivative<T: Float>(&self, z: T, _h: T) -> T {
        if z > T::ZERO {
            T::ONE
        } else {
            T::from_f64(self.alpha) * z.exp()
        }
    }

    /// `α·(eᶻ − 1)` through the type's vectorised `eˣ − 1` of values `≤ 0`.
    // Always: compiled into the forward pass's copy for AVX2 and FMA,
    // which a call would leave on the baseline CPU.
    #[inline(always)]
    #[allow(clippy::inline_always)]
    fn apply_row<const FUSED: bool, T: Float>(&self, z: &[T], h: &mut [T]) {
        let alpha = T::from_f64(self.alpha);
        through_row(
            z.len(),
            |k| nonpositive(z[k]),
            // Always, as `through_row`: a closure or a function passed on
            // is a call of its own, which the inliner leaves out of line.
            #[inline(always)]
            |values: &mut [T]| T::exp_m1_nonpositive_row::<FUSED>(values),
            |k, e| h[k] = if z[k] > T::ZERO { z[k] } else { alpha * e },
        );
    }

    /// `α·eᶻ` through the type's vectorised `exp` of values `≤ 0`.
    #[inline]
    fn backprop_row<T: Float>(&self, z: &[T], _h: &[T], grad: &mut [T]) {
        let alpha = T::from_f64(self.alpha);
        let nonpositive = |k: usize| nonpositive(z[k]);
        through_row(
            grad.len(),
            nonpositive,
            T::exp_nonpositive_row::<false>,
            |k, e| {
                grad[k] *= if z[k] > T::ZERO { T::ONE } else { alpha * e };
            },
        );
    }
}

/// `√(2/π)`, of the tanh approximation of GELU.
const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;
/// The cubic coefficient of the tanh approximation of GELU.
const GELU_CUBIC: f64 = 0.044_715;

impl Gelu {
    /// `2·√(2/π)·(z + 0.044715·z³)`: the tanh form is `z·σ(this)`, since
    /// `½(1 + tanh u) = σ(2u)`, which has no cancellation where
    /// `tanh u ≈ −1`.
    #[inline]
    fn sigmoid_argument<T: Float>(z: T) -> T {
        T::from_f64(2.0 * SQRT_2_OVER_PI) * (z + T::from_f64(GELU_CUBIC) * z * z * z)
    }

    /// `f'(z)` of the tanh form from `z` and `s = σ(2u)`: with
    /// `½(1 + tanh u) = s` and `½ sech² u = 2s(1 − s)`,
    /// `s + 2z·s(1 − s)·u'`, `u' = √(2/π)·(1 + 3·0.044715·z²)`.
    #[inline]
    fn tanh_form_derivative<T: Float>(z: T, s: T) -> T {
        let inner_derivative =
            T::from_f64(SQRT_2_OVER_PI) * (T::ONE + T::from_f64(3.0 * GELU_CUBIC) * z * z);
        s + T::from_f64(2.0) * z * s * (T::ONE - s) * inner_derivative
    }

    /// `grad ⊙= Φ(z) + z·φ(z)` along a row, `Φ(z) = ½·erfc(−z/√2)` through
    /// the type's `erfc` row and `φ`'s `e^{−z²/2}` through its vectorised
    /// `exp`, [`PIECE`] values at a time.
    #[inline(always)]
    #[allow(clippy::inline_always)]
    fn erf_form_backprop_row<T: Float>(z: &[T], grad: &mut [T]) {
        let half = T::from_f64(0.5);
        // Always: see `with_sigmoids`.
        in_pieces(
            grad.len(),
            #[inline(always)]
            |start, n| {
                let (mut erfc, mut gaussian) = ([T::ZERO; PIECE], [T::ZERO; PIECE]);
                for k in 0..n {
                    let z = z[start + k];
                    erfc[k] = -z * T::from_f64(core::f64::consts::FRAC_1_SQRT_2);
                    gaussian[k] = -half * z * z;
                }
                T::erfc_row::<false>(&mut erfc[..n]);
                T::exp_nonpositive_row::<false>(&mut gaussian[..n]);
                for k in 0..n {
                    let z = z[start + k];
                    let pdf = gaussian[k] * T::from_f64(0.398_942_280_401_432_7);
                    grad[start + k] *= half * erfc[k] + z * pdf;
                }
            },
        );
    }
}

impl Activation for Gelu {
    #[inline]
    fn apply<T: Float>(&self, z: T) -> T {
        if self.tanh_approximation {
            z * sigmoid(Self::sigmoid_argument(z))
        } else {
            // `Φ(z) = ½·erfc(−z/√2)`, which does not cancel as `½(1 + erf)`
            // does for z < 0.
            let half = T::from_f64(0.5);
            half * z * (-z * T::from_f64(core::f64::consts::FRAC_1_SQRT_2)).erfc()
        }
    }

    #[inline]
    fn derivative<T: Float>(&self, z: T, _h: T) -> T {
        if self.tanh_approximation {
            Self::tanh_form_derivative(z, sigmoid(Self::sigmoid_argument(z)))
        } else {
            // Φ(z) + z·φ(z)
            let half = T::from_f64(0.5);
            let cdf = half * (-z * T::from_f64(core::f64::consts::FRAC_1_SQRT_2)).erfc();
            let pdf = (-half * z * z).exp() * T::from_f64(0.398_942_280_401_432_7);
            cdf + z * pdf
        }
    }

    /// The tanh form through the type's vectorised sigmoid.
    // Always: compiled into the forward pass's copy for AVX2 and FMA,
    // which a call would leave on the baseline CPU.
    #[inline(always)]
    #[allow(clippy::inline_always)]
    fn apply_row<const FUSED: bool, T: Float>(&self, z: &[T], h: &mut [T]) {
        if self.tanh_approximation {
            with_sigmoids::<FUSED, T>(
                z.len(),
                |k| Self::sigmoid_argument(z[k]),
                |k, s| h[k] = z[k] * s,
            );
        } else {
            let half = T::from_f64(0.5);
            through_row(
                z.len(),
                |k| -z[k] * T::from_f64(core::f64::consts::FRAC_1_SQRT_2),
                // Always, as `through_row`: see `Elu::apply_row`.
                #[inline(always)]
                |values: &mut [T]| T::erfc_row::<FUSED>(values),
                |k, erfc| h[k] = half * z[k] * erfc,
            );
        }
    }

    #[inline]
    fn backprop_row<T: Float>(&self, z: &[T], _h: &[T], grad: &mut [T]) {
        if self.tanh_approximation {
            with_sigmoids::<false, T>(
                grad.len(),
                |k| Self::sigmoid_argument(z[k]),
                |k, s| grad[k] *= Self::tanh_form_derivative(z[k], s),
            );
        } else {
            Self::erf_form_backprop_row(z, grad);
        }
    }
}

impl Activation for Silu {
    #[inline]
    fn apply<T: Float>(&self, z: T) -> T {
        z * sigmoid(z)
    }

    #[inline]
    fn derivative<T: Float>(&self, z: T, _h: T) -> T {
        let s = sigmoid(z);
        s * (T::ONE + z * (T::ONE - s))
    }

    /// Through the type's vectorised sigmoid.
    // Always: compiled into the forward pass's copy for AVX2 and FMA,
    // which a call would leave on the baseline CPU.
    #[inline(always)]
    #[allow(clippy::inline_always)]
    fn apply_row<const FUSED: bool, T: Float>(&self, z: &[T], h: &mut [T]) {
        T::sigmoid_row::<FUSED>(z, h);
        for k in 0..z.len() {
            h[k] *= z[k];
        }
    }

    #[inline]
    fn backprop_row<T: Float>(&self, z: &[T], _h: &[T], grad: &mut [T]) {
        with_sigmoids::<false, T>(
            grad.len(),
            |k| z[k],
            |k, s| grad[k] *= s * (T::ONE + z[k] * (T::ONE - s)),
        );
    }
}

/// Above this `βz`, softplus is taken to be linear (PyTorch's `threshold`).
const SOFTPLUS_THRESHOLD: f64 = 20.0;

impl Activation for Softplus {
    #[inline]
    fn apply<T: Float>(&self, z: T) -> T {
        let beta = T::from_f64(self.beta);
        let scaled = beta * z;
        if scaled > T::from_f64(SOFTPLUS_THRESHOLD) {
            z
        } else {
            scaled.exp().ln_1p() / beta
        }
    }

    #[inline]
    fn derivative<T: Float>(&self, z: T, _h: T) -> T {
        let scaled = T::from_f64(self.beta) * z;
        if scaled > T::from_f64(SOFTPLUS_THRESHOLD) {
            T::ONE
        } else {
            sigmoid(scaled)
        }
    }

    /// `(max(βz, 0) + ln(1 + e^{−|βz|}))/β`, which equals `ln(1 + e^{βz})/β`
    /// and takes the logarithm only of `[1, 2]`, through the type's
    /// vectorised `exp` and `ln(1 + x)`.
    // Always: compiled into the forward pass's copy for AVX2 and FMA,
    // which a call would leave on the baseline CPU.
    #[inline(always)]
    #[allow(clippy::inline_always)]
    fn apply_row<const FUSED: bool, T: Float>(&self, z: &[T], h: &mut [T]) {
        let beta = T::from_f64(self.beta);
        let threshold = T::from_f64(SOFTPLUS_THRESHOLD);
        through_row(
            z.len(),
            |k| -(beta * z[k]).abs(),
            // Always, as `through_row`: see `Elu::apply_row`.
            #[inline(always)]
            |values| {
                T::exp_nonpositive_row::<FUSED>(values);
                T::ln_1p_unit_row::<FUSED>(values);
            },
            |k, log| {
                let scaled = beta * z[k];
                h[k] = if scaled > threshold {
                    z[k]
                } else {
                    (nonnegative(scaled) + log) / beta
                };
            },
        );
    }

    /// `σ(βz)` through the type's vectorised sigmoid.
    #[inline]
    fn backprop_row<T: Float>(&self, z: &[T], _h: &[T], grad: &mut [T]) {
        let beta = T::from_f64(self.beta);
        let threshold = T::from_f64(SOFTPLUS_THRESHOLD);
        with_sigmoids::<false, T>(
            grad.len(),
            |k| beta * z[k],
            // Linear above the threshold; NaN takes the sigmoid's NaN.
            |k, s| grad[k] *= if beta * z[k] > threshold { T::ONE } else { s },
        );
    }
}

/// `z` where it is `≤ 0` or NaN, else 0.
#[inline]
fn nonpositive<T: Float>(z: T) -> T {
    if z > T::ZERO { T::ZERO } else { z }
}

/// `z` where it is `> 0`, else 0 (also for NaN).
#[inline]
fn nonnegative<T: Float>(z: T) -> T {
    if z > T::ZERO { z } else { T::ZERO }
}

/// Values that the row functions needing an intermediate row take at a
/// time, in buffers on the stack.
const PIECE: usize = 16;

/// Calls `piece(start, n)` for consecutive pieces of `len` values: whole
/// pieces of [`PIECE`], then the rest. Inlined, the whole pieces' `n` is a
/// constant, so that the row functions on them need no loop for a
/// remainder; the rest is a piece of its own only for a `len` that is not
/// a multiple of [`PIECE`].
#[inline(always)]
#[allow(clippy::inline_always)]
fn in_pieces(len: usize, mut piece: impl FnMut(usize, usize)) {
    let whole = len - len % PIECE;
    let mut start = 0;
    while start < whole {
        piece(start, PIECE);
        start += PIECE;
    }
    if start < len {
        piece(start, len - start);
    }
}

/// Calls `each(k, σ(x(k)))` for every `k < len`, the sigmoids from the
/// type's vectorised row function, [`PIECE`] values at a time.
#[inline(always)]
#[allow(clippy::inline_always)]
fn with_sigmoids<const FUSED: bool, T: Float>(
    len: usize,
    x: impl Fn(usize) -> T,
    mut each: impl FnMut(usize, T),
) {
    // Always: a closure is a function of its own, which the inliner may
    // leave out of line.
    in_pieces(
        len,
        #[inline(always)]
        |start, n| {
            let (mut input, mut s) = ([T::ZERO; PIECE], [T::ZERO; PIECE]);
            for (k, value) in input[..n].iter_mut().enumerate() {
                *value = x(start + k);
            }
            T::sigmoid_row::<FUSED>(&input[..n], &mut s[..n]);
            for (k, &s) in s[..n].iter().enumerate() {
                each(start + k, s);
            }
        },
    );
}

/// Calls `each(k, y)` for every `k < len`, where `y` is `x(k)` after `row`
/// (one of the type's vectorised row functions, in place), [`PIECE`]
/// values at a time.
#[inline(always)]
#[allow(clippy::inline_always)]
fn through_row<T: Float>(
    len: usize,
    x: impl Fn(usize) -> T,
    row: impl Fn(&mut [T]),
    mut each: impl FnMut(usize, T),
) {
    // Always: see `with_sigmoids`.
    in_pieces(
        len,
        #[inline(always)]
        |start, n| {
            let mut values = [T::ZERO; PIECE];
            for (k, value) in values[..n].iter_mut().enumerate() {
                *value = x(start + k);
            }
            row(&mut values[..n]);
            for (k, &y) in values[..n].iter().enumerate() {
                each(start + k, y);
            }
        },
    );
}

/// `H = f(Z)`, element by element. `fused` is whether the caller is
/// compiled for FMA ([`Activation::apply_row`]); the forward pass's AVX2
/// copy passes `true`, a constant there, so the choice costs nothing.
///
/// ```
/// use backprop_runtime::activation::{activate, Relu};
///
/// let mut h = [[0.0; 2]];
/// activate(&Relu, &[[-1.0, 2.0]], &mut h, false);
/// assert_eq!(h, [[0.0, 2.0]]);
/// ```
// Always: compiled into the forward pass's copy for AVX2 and FMA,
// which a call would leave on the baseline CPU.
#[inline(always)]
#[allow(clippy::inline_always)]
pub fn activate<A: Activation, T: Float, const B: usize, const N: usize>(
    activation: &A,
    z: &[[T; N]; B],
    h: &mut [[T; N]; B],
    fused: bool,
) {
    let (z, h) = (z.as_flattened(), h.as_flattened_mut());
    if fused {
        activation.apply_row::<true, T>(z, h);
    } else {
        activation.apply_row::<false, T>(z, h);
    }
}

/// Turns `∂L/∂H` into `Δ = ∂L/∂Z = ∂L/∂H ⊙ f'(Z)`, in place.
///
/// ```
/// use backprop_runtime::activation::{backprop_activation, Sigmoid};
///
/// let z = [[0.0, 0.0]];
/// let h = [[0.5, 0.25]];
/// let mut grad = [[1.0, 2.0]];
/// backprop_activation(&Sigmoid, &z, &h, &mut grad);
/// assert_eq!(grad, [[0.25, 0.375]]);
/// ```
#[inline]
pub fn backprop_activation<A: Activation, T: Float, const B: usize, const N: usize>(
    activation: &A,
    z: &[[T; N]; B],
    h: &[[T; N]; B],
    grad: &mut [[T; N]; B],
) {
    activation.backprop_row(z.as_flattened(), h.as_flattened(), grad.as_flattened_mut());
}

/// `softmax` of each row: `hⱼ = e^{zⱼ − m} / Σₖ e^{zₖ − m}` with `m` the
/// row's maximum, so no `exp` overflows. The exponents, all `≤ 0`, go
/// through the type's `exp` row function for the whole matrix at once, as
/// in [`SoftmaxCrossEntropy`](crate::SoftmaxCrossEntropy): vectorised in
/// `f32` (within 4 ulps of `libm`), `libm` in `f64`.
///
/// ```
/// use backprop_runtime::activation::softmax;
///
/// let mut h = [[0.0; 3]];
/// softmax(&[[1e4, 1e4, -1e4]], &mut h);
/// assert_eq!(h, [[0.5, 0.5, 0.0]]);
/// ```
// Always: compiled into the forward pass's copy for AVX2 and FMA,
// which a call would leave on the baseline CPU.
#[inline(always)]
#[allow(clippy::inline_always)]
pub fn softmax<T: Float, const B: usize, const N: usize>(z: &[[T; N]; B], h: &mut [[T; N]; B]) {
    softmax_rows(z, h);
}

/// [`softmax`] of a run-time number of rows.
// Always: its row loops are compiled into the forward pass's copy for AVX2
// and FMA; the exp row between them is compiled once, out of line.
#[inline(always)]
#[allow(clippy::inline_always)]
fn softmax_rows<T: Float, const N: usize>(z: &[[T; N]], h: &mut [[T; N]]) {
    for r in 0..z.len() {
        let max = row_max(&z[r]);
        for j in 0..N {
            h[r][j] = z[r][j] - max;
        }
    }
    T::exp_nonpositive_row_outlined(h.as_flattened_mut());
    for h_row in h {
        let sum = row_sum(h_row);
        for h in h_row {
            *h /= sum;
        }
    }
}

/// The largest entry of a row (NaN if any is).
#[inline]
pub(crate) fn row_max<T: Float, const N: usize>(row: &[T; N]) -> T {
    let mut max = row[0];
    for &value in &row[1..] {
        max = max.max(value);
    }
    max
}

/// The sum of a row's entries, from the first.
#[inline]
pub(crate) fn row_sum<T: Float, const N: usize>(row: &[T; N]) -> T {
    let mut sum = T::ZERO;
    for &value in row {
        sum += value;
    }
    sum
}

/// Turns `∂L/∂H` into `∂L/∂Z` through softmax's Jacobian, row by row:
/// `Δ = H ⊙ (G − (G·H)1ᵀ)`. Losses fused with softmax skip this.
///
/// ```
/// use backprop_runtime::activation::backprop_softmax;
///
/// let h = [[0.5, 0.5]];
/// let mut grad = [[1.0, -1.0]];
/// backprop_softmax(&h, &mut grad);
/// assert_eq!(grad, [[0.5, -0.5]]);
/// ```
#[inline]
pub fn backprop_softmax<T: Float, const B: usize, const N: usize>(
    h: &[[T; N]; B],
    grad: &mut [[T; N]; B],
) {
    for r in 0..B {
        let mut dot = T::ZERO;
        for j in 0..N {
            dot += h[r][j] * grad[r][j];
        }
        for j in 0..N {
            grad[r][j] = h[r][j] * (grad[r][j] - dot);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    /// Central difference of `f` at `z`, the reference for every derivative.
    fn numeric_derivative<A: Activation>(activation: &A, z: f64) -> f64 {
        let step = 1e-6;
        (activation.apply(z + step) - activation.apply(z - step)) / (2.0 * step)
    }

    fn check<A: Activation>(activation: &A) {
        for z in [-3.0, -0.7, -0.1, 0.2, 0.9, 2.5, 25.0] {
            let h = activation.apply(z);
            assert_relative_eq!(
                activation.derivative(z, h),
                numeric_derivative(activation, z),
                epsilon = 1e-8,
                max_relative = 1e-6
            );
        }
    }

    #[test]
    fn derivatives_match_central_differences() {
        check(&Linear);
        check(&Sigmoid);
        check(&Tanh);
        check(&Relu);
        check(&LeakyRelu { slope: 0.2 });
        check(&Elu { alpha: 0.7 });
        check(&Gelu {
            tanh_approximation: false,
        });
        check(&Gelu {
            tanh_approximation: true,
        });
        check(&Silu);
        check(&Softplus { beta: 2.0 });
    }

    fn check_finite<A: Activation>(activation: &A) {
        for z in [-1e4_f32, -100.0, -20.0, 0.0, 20.0, 100.0, 1e4] {
            let h = activation.apply(z);
            let finite = h.is_finite() && activation.derivative(z, h).is_finite();
            assert!(finite, "{} at {z}", core::any::type_name::<A>());
        }
    }

    #[test]
    fn activations_and_derivatives_are_finite_at_extremes() {
        check_finite(&Linear);
        check_finite(&Sigmoid);
        check_finite(&Tanh);
        check_finite(&Relu);
        check_finite(&LeakyRelu::default());
        check_finite(&Elu::default());
        check_finite(&Gelu::default());
        check_finite(&Gelu {
            tanh_approximation: true,
        });
        check_finite(&Silu);
        check_finite(&Softplus::default());
        assert!(
            Relu.apply(f64::NAN).is_nan(),
            "NaN propagates, as in PyTorch"
        );
        assert_relative_eq!(Sigmoid.apply(-1e4_f64), 0.0);
        assert_relative_eq!(Sigmoid.apply(1e4_f64), 1.0);
    }

    /// `2⁻¹⁰⁰`: below it, where `σ(z)` in `z·σ(z)` is subnormal and neither
    /// computation keeps its bits, differences count in its ulps.
    const TINY: f32 = 7.888_609e-31;

    /// The largest differences between `activation`'s `f32` row functions,
    /// forward and derivative, and its `f32` scalar functions (through
    /// `libm`), over `z` from `-110` to `80`, in ulps of the scalar
    /// function's value, floored at [`TINY`]; a derivative's ulps are
    /// floored at those of 1, the size of its terms, which set its rounding
    /// error where it crosses zero (silu's at `z ≈ −1.28`) and where it is
    /// computed from `h` (`1 − h²` of `tanh`).
    fn worst_row_errors<const FUSED: bool, A: Activation>(activation: &A) -> (f64, f64) {
        let ulps = |got: f32, want: f32, floor: f32| {
            let ulp = f64::from(want.abs().max(floor)) * f64::from(f32::EPSILON);
            f64::from((got - want).abs()) / ulp
        };
        let (mut forward, mut backward) = (0.0_f64, 0.0_f64);
        let mut z = -110.0_f32;
        while z <= 80.0 {
            // Nineteen values, so that pieces and chunks of four are padded.
            let zs: [f32; 19] = core::array::from_fn(|k| z + 1e-3 * k as f32);
            let mut h = [0.0_f32; 19];
            activation.apply_row::<FUSED, f32>(&zs, &mut h);
            let mut grad = [1.0_f32; 19];
            activation.backprop_row(&zs, &h, &mut grad);
            for ((&z, &h), &g) in zs.iter().zip(&h).zip(&grad) {
                let want = activation.apply(z);
                forward = forward.max(ulps(h, want, TINY));
                let want = activation.derivative(z, want);
                backward = backward.max(ulps(g, want, 1.0));
            }
            z += 0.0713;
        }
        (forward, backward)
    }

    /// NaN stays NaN, and `±∞` and signed zeros give what the scalar
    /// functions give.
    fn check_special_values<const FUSED: bool, A: Activation>(activation: &A) {
        let zs = [
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            -0.0,
            0.0,
            1e-40,
            -1e-40,
        ];
        let mut h = [0.0_f32; 7];
        activation.apply_row::<FUSED, f32>(&zs, &mut h);
        let mut grad = [1.0_f32; 7];
        activation.backprop_row(&zs, &h, &mut grad);
        for ((&z, &h), &g) in zs.iter().zip(&h).zip(&grad) {
            let want = activation.apply(z);
            let want_grad = activation.derivative(z, want);
            let same = |got: f32, want: f32| {
                (got.is_nan() && want.is_nan()) || got.to_bits() == want.to_bits()
            };
            let name = core::any::type_name::<A>();
            assert!(same(h, want), "{name}({z}) = {h}, not {want}");
            assert!(same(g, want_grad), "{name}'({z}) = {g}, not {want_grad}");
        }
    }

    /// Within 8 ulps of the scalar functions, and equal to them at the
    /// special values, with multiply-adds rounded twice and once.
    fn check_rows<A: Activation>(activation: &A) {
        check_rows_of::<false, A>(activation);
        check_rows_of::<true, A>(activation);
    }

    fn check_rows_of<const FUSED: bool, A: Activation>(activation: &A) {
        let (forward, backward) = worst_row_errors::<FUSED, A>(activation);
        let name = core::any::type_name::<A>();
        assert!(
            forward <= 8.0 && backward <= 8.0,
            "{name} (fused: {FUSED}): {forward} ulps forward, {backward} backward"
        );
        check_special_values::<FUSED, A>(activation);
    }

    #[test]
    fn vectorised_rows_are_within_a_few_ulps_of_libm() {
        check_rows(&Silu);
        check_rows(&Gelu {
            tanh_approximation: true,
        });
        check_rows(&Gelu {
            tanh_approximation: false,
        });
        check_rows(&Softplus { beta: 1.5 });
        check_rows(&Elu { alpha: 0.7 });
        check_rows(&Sigmoid);
        check_rows(&Tanh);
    }

    #[test]
    fn softmax_rows_sum_to_one_and_its_jacobian_matches_finite_differences() {
        let z = [[0.3, -1.2, 2.0, 0.1]];
        let mut h = [[0.0; 4]];
        softmax(&z, &mut h);
        assert_relative_eq!(h[0].iter().sum::<f64>(), 1.0, epsilon = 1e-12);
        // A loss L = Σ cⱼ hⱼ: ∂L/∂H = c; ∂L/∂Z by finite differences.
        let c = [0.5, -1.0, 2.0, 0.25];
        let loss = |z: [[f64; 4]; 1]| {
            let mut h = [[0.0; 4]];
            softmax(&z, &mut h);
            h[0].iter().zip(&c).map(|(h, c)| h * c).sum::<f64>()
        };
        let mut grad = [c];
        backprop_softmax(&h, &mut grad);
        for j in 0..4 {
            let (mut up, mut down) = (z, z);
            up[0][j] += 1e-6;
            down[0][j] -= 1e-6;
            assert_relative_eq!(grad[0][j], (loss(up) - loss(down)) / 2e-6, epsilon = 1e-8);
        }
    }
}
