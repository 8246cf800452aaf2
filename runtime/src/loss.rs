//! Loss functions, with PyTorch's definitions so it can serve as an oracle.
//!
//! A [`Loss`] compares the network's output `Ŷ` with the targets `Y` and
//! gives `∂L/∂Ŷ`; the backward pass then multiplies by the output
//! activation's derivative. A [`LogitLoss`] is fused with its output
//! activation (softmax with cross-entropy, sigmoid with binary
//! cross-entropy): it reads the pre-activations `Zᴸ` and gives
//! `Δᴸ = ∂L/∂Zᴸ` directly, in the numerically stable form.
//!
//! Every method sees a chunk of rows out of a batch of `batch_rows` (the
//! rows as a slice, so the chunk's length may be known only at run time)
//! and returns that chunk's share of the mean, so summing over the chunks
//! of a batch gives the loss of the whole batch.
//!
//! A [`Loss`] is a mean over elements of a function of the output and the
//! target: each loss gives that function and its derivative
//! ([`Loss::element`], [`Loss::element_gradient`]), and the loops over a
//! chunk are written once, as the trait's provided methods.

use crate::activation::{row_max, row_sum, sigmoid};
use crate::{BatchError, Float};

mod terms;

pub use terms::{Reduction, Terms, cross_entropy_labels};

/// A loss on the network's output `Ŷ`: the mean over the batch and the
/// outputs of `ℓ(ŷ, y)`, element by element.
pub trait Loss {
    /// `ℓ(ŷ, y)` for one output `ŷ` and its target `y`.
    fn element<T: Float>(&self, output: T, target: T) -> T;

    /// `∂ℓ/∂ŷ`.
    fn element_gradient<T: Float>(&self, output: T, target: T) -> T;

    /// The loss of a whole batch of outputs against its targets, with a
    /// mask, per-sample weights and a [`Reduction`] as `terms` say; writes
    /// `∂L/∂Ŷ` to `grad` (zero where the mask is `false`), ready for
    /// [`Network::backward`](crate::Network::backward). For networks trained
    /// on a loss of your own (`loss = none`); see [`Terms`] for the formula
    /// and an example.
    ///
    /// # Errors
    ///
    /// [`BatchError::Empty`] for no rows, [`BatchError::LossRows`] when the
    /// targets, mask, weights or `grad` have another number of rows, and
    /// [`BatchError::NonFinite`] for a weight that is NaN or infinite;
    /// `grad` is then left as it was.
    fn evaluate<T: Float, const N: usize>(
        &self,
        output: &[[T; N]],
        target: &[[T; N]],
        terms: Terms<'_, T, N>,
        grad: Option<&mut [[T; N]]>,
    ) -> Result<T, BatchError> {
        terms::evaluate(self, output, target, terms, grad)
    }

    /// This chunk's share of the loss.
    ///
    /// # Panics
    ///
    /// In debug builds, if `output` and `target` have different lengths.
    #[inline]
    fn value<T: Float, const N: usize>(
        &self,
        output: &[[T; N]],
        target: &[[T; N]],
        batch_rows: usize,
    ) -> T {
        debug_assert_eq!(output.len(), target.len(), "rows of output and target");
        let (output, target) = (output.as_flattened(), target.as_flattened());
        let mut sum = T::ZERO;
        for k in 0..output.len() {
            sum += self.element(output[k], target[k]);
        }
        sum * element_weight::<T>(batch_rows, N)
    }

    /// This chunk's share of the loss; `grad` is overwritten with `∂L/∂Ŷ`.
    ///
    /// # Panics
    ///
    /// In debug builds, if the three have different lengths.
    #[inline]
    fn value_and_gradient<T: Float, const N: usize>(
        &self,
        output: &[[T; N]],
        target: &[[T; N]],
        batch_rows: usize,
        grad: &mut [[T; N]],
    ) -> T {
        debug_assert!(
            output.len() == target.len() && output.len() == grad.len(),
            "rows of output, target and gradient"
        );
        let scale = element_weight::<T>(batch_rows, N);
        let (output, target) = (output.as_flattened(), target.as_flattened());
        let grad = grad.as_flattened_mut();
        let mut sum = T::ZERO;
        for k in 0..output.len() {
            let (o, t) = (output[k], target[k]);
            grad[k] = self.element_gradient(o, t) * scale;
            sum += self.element(o, t);
        }
        sum * scale
    }
}

/// A loss fused with the output activation, computed from the
/// pre-activations (logits) `Zᴸ`.
pub trait LogitLoss {
    /// This chunk's share of the loss.
    fn value<T: Float, const N: usize>(
        &self,
        logits: &[[T; N]],
        target: &[[T; N]],
        batch_rows: usize,
    ) -> T;

    /// This chunk's share of the loss; `delta` is overwritten with `Δᴸ = ∂L/∂Zᴸ`.
    fn value_and_delta<T: Float, const N: usize>(
        &self,
        logits: &[[T; N]],
        target: &[[T; N]],
        batch_rows: usize,
        delta: &mut [[T; N]],
    ) -> T;
}

/// Mean squared error, `mean((ŷ − y)²)` over the batch and the outputs
/// (PyTorch's `MSELoss`); `∂L/∂Ŷ = 2(Ŷ − Y) / (B·n)`.
///
/// ```
/// use backprop_runtime::{Loss, Mse};
///
/// let output = [[1.0, 2.0], [3.0, 4.0]];
/// let target = [[1.0, 0.0], [3.0, 5.0]];
/// let mut grad = [[0.0; 2]; 2];
/// let loss = Mse.value_and_gradient(&output, &target, 2, &mut grad);
/// assert_eq!(loss, (0.0 + 4.0 + 0.0 + 1.0) / 4.0);
/// assert_eq!(grad, [[0.0, 1.0], [0.0, -0.5]]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Mse;

/// Mean absolute error, `mean|ŷ − y|` (PyTorch's `L1Loss`);
/// `∂L/∂Ŷ = sign(Ŷ − Y) / (B·n)`, with `sign(0) = 0`.
///
/// ```
/// use backprop_runtime::{Loss, Mae};
///
/// let mut grad = [[0.0; 2]];
/// let loss = Mae.value_and_gradient(&[[1.0, 2.0]], &[[3.0, 2.0]], 1, &mut grad);
/// assert_eq!(loss, 1.0);
/// assert_eq!(grad, [[-0.5, 0.0]]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Mae;

/// The Huber loss (PyTorch's `HuberLoss`, default `δ = 1`): `½d²` where
/// `|d| ≤ δ`, `δ(|d| − ½δ)` beyond, with `d = ŷ − y`, averaged;
/// `∂L/∂Ŷ = clamp(d, −δ, δ) / (B·n)`.
///
/// ```
/// use backprop_runtime::{Huber, Loss};
///
/// let huber = Huber { delta: 1.0 };
/// let mut grad = [[0.0; 2]];
/// let loss = huber.value_and_gradient(&[[0.5, 4.0]], &[[0.0, 0.0]], 1, &mut grad);
/// assert_eq!(loss, (0.125 + 3.5) / 2.0);
/// assert_eq!(grad, [[0.25, 0.5]]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Huber {
    /// Where the loss turns from quadratic to linear.
    pub delta: f64,
}

impl Default for Huber {
    fn default() -> Self {
        Self { delta: 1.0 }
    }
}

/// Cross-entropy of softmax outputs (PyTorch's `CrossEntropyLoss` with
/// probability targets): `mean over the batch of −Σⱼ yⱼ log softmax(z)ⱼ`,
/// computed with log-sum-exp; `Δᴸ = (softmax(Zᴸ)·Σⱼyⱼ − Y) / B`, which is
/// `(softmax(Zᴸ) − Y) / B` for one-hot or probability rows.
///
/// ```
/// use backprop_runtime::{LogitLoss, SoftmaxCrossEntropy};
///
/// let mut delta = [[0.0; 2]];
/// let loss = SoftmaxCrossEntropy.value_and_delta(&[[0.0, 0.0]], &[[1.0, 0.0]], 1, &mut delta);
/// assert!((loss - 2.0_f64.ln()).abs() < 1e-12);
/// assert_eq!(delta, [[-0.5, 0.5]]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SoftmaxCrossEntropy;

/// Binary cross-entropy of sigmoid outputs (PyTorch's `BCEWithLogitsLoss`):
/// `mean of max(z, 0) − z·y + ln(1 + e^{−|z|})` over the batch and the
/// outputs; `Δᴸ = (σ(Zᴸ) − Y) / (B·n)`.
///
/// ```
/// use backprop_runtime::{LogitLoss, SigmoidBinaryCrossEntropy};
///
/// let mut delta = [[0.0]];
/// let loss = SigmoidBinaryCrossEntropy.value_and_delta(&[[0.0]], &[[1.0]], 1, &mut delta);
/// assert!((loss - 2.0_f64.ln()).abs() < 1e-12);
/// assert_eq!(delta, [[-0.5]]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SigmoidBinaryCrossEntropy;

/// Binary cross-entropy of `σ(ŷ)` against `y`, where the outputs `ŷ` are
/// logits (a `linear` output layer), in the stable form PyTorch's
/// `BCEWithLogitsLoss` uses: `ℓ = max(ŷ, 0) − ŷ·y + ln(1 + e^{−|ŷ|})`,
/// `∂ℓ/∂ŷ = σ(ŷ) − y`. A [`Loss`], so it takes a mask and weights through
/// [`Loss::evaluate`]; networks that end in `sigmoid` with `loss = bce`
/// have this fused already.
///
/// ```
/// use backprop::loss::{BceWithLogits, Loss, Reduction, Terms};
///
/// let mut grad = [[0.0; 2]];
/// let loss = BceWithLogits.evaluate(&[[0.0, 0.0]], &[[1.0, 0.0]], Terms::new(Reduction::Sum), Some(&mut grad))?;
/// assert!((loss - 2.0 * 2.0_f64.ln()).abs() < 1e-12);
/// assert_eq!(grad, [[-0.5, 0.5]]);
/// # Ok::<(), backprop::BatchError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BceWithLogits;

/// `1 / (batch_rows · n)`: the weight of one element in a mean over the batch and the outputs.
#[inline]
fn element_weight<T: Float>(batch_rows: usize, n: usize) -> T {
    T::ONE / T::from_usize(batch_rows * n)
}

impl Loss for Mse {
    #[inline]
    fn element<T: Float>(&self, output: T, target: T) -> T {
        let d = output - target;
        d * d
    }

    #[inline]
    fn element_gradient<T: Float>(&self, output: T, target: T) -> T {
        T::TWO * (output - target)
    }
}

impl Loss for Mae {
    #[inline]
    fn element<T: Float>(&self, output: T, target: T) -> T {
        (output - target).abs()
    }

    /// `sign(ŷ − y)` with `sign(0) = 0`, as PyTorch's `L1Loss` backward.
    #[inline]
    fn element_gradient<T: Float>(&self, output: T, target: T) -> T {
        let d = output - target;
        if d > T::ZERO {
            T::ONE
        } else if d < T::ZERO {
            -T::ONE
        } else {
            T::ZERO
        }
    }
}

impl Loss for Huber {
    #[inline]
    fn element<T: Float>(&self, output: T, target: T) -> T {
        let (d, delta) = (output - target, T::from_f64(self.delta));
        let half = T::from_f64(0.5);
        if d.abs() <= delta {
            half * d * d
        } else {
            delta * (d.abs() - half * delta)
        }
    }

    /// `clamp(ŷ − y, −δ, δ)`.
    #[inline]
    fn element_gradient<T: Float>(&self, output: T, target: T) -> T {
        let (d, delta) = (output - target, T::from_f64(self.delta));
        if d > delta {
            delta
        } else if d < -delta {
            -delta
        } else {
            d
        }
    }
}

impl LogitLoss for SoftmaxCrossEntropy {
    /// `−Σⱼ yⱼ·log softmax(z)ⱼ` of each row, from the shifted logits
    /// `s = z − max` and their exponentials `e`: `log softmax(z)ⱼ = sⱼ − ln Σₖ eₖ`.
    #[inline]
    fn value<T: Float, const N: usize>(
        &self,
        logits: &[[T; N]],
        target: &[[T; N]],
        batch_rows: usize,
    ) -> T {
        let mut total = T::ZERO;
        for r in 0..logits.len() {
            let max = row_max(&logits[r]);
            let mut shifted = [T::ZERO; N];
            for j in 0..N {
                shifted[j] = logits[r][j] - max;
            }
            let mut e = shifted;
            T::exp_nonpositive_row_outlined(&mut e);
            let log_sum = row_sum(&e).ln();
            let mut loss = T::ZERO;
            for j in 0..N {
                loss -= target[r][j] * (shifted[j] - log_sum);
            }
            total += loss;
        }
        total / T::from_usize(batch_rows)
    }

    #[inline]
    fn value_and_delta<T: Float, const N: usize>(
        &self,
        logits: &[[T; N]],
        target: &[[T; N]],
        batch_rows: usize,
        delta: &mut [[T; N]],
    ) -> T {
        debug_assert!(
            logits.len() == target.len() && logits.len() == delta.len(),
            "rows of logits, target and delta"
        );
        let scale = T::ONE / T::from_usize(batch_rows);
        let mut total = T::ZERO;
        // The exponents `zⱼ − max`, all `≤ 0`, for [`ROW_GROUP`] rows at a
        // time, so that in `f32` they go through a vectorised `exp` (the
        // same as `activation::softmax`'s); kept for the probabilities, so
        // that each takes one `exp`, not two.
        let mut start = 0;
        while start < logits.len() {
            let end = logits.len().min(start + ROW_GROUP);
            let mut maxima = [T::ZERO; ROW_GROUP];
            for r in start..end {
                let max = row_max(&logits[r]);
                maxima[r - start] = max;
                for j in 0..N {
                    delta[r][j] = logits[r][j] - max;
                }
            }
            T::exp_nonpositive_row_outlined(delta[start..end].as_flattened_mut());
            for r in start..end {
                let sum = row_sum(&delta[r]);
                let log_sum = sum.ln();
                let target_mass = row_sum(&target[r]);
                let max = maxima[r - start];
                for j in 0..N {
                    let (z, y) = (logits[r][j], target[r][j]);
                    total -= y * (z - max - log_sum);
                    delta[r][j] = (delta[r][j] / sum * target_mass - y) * scale;
                }
            }
            start = end;
        }
        total * scale
    }
}

/// Rows whose exponentials the fused cross-entropy computes together: the
/// row-chunk size of the networks' run-time batches.
const ROW_GROUP: usize = 8;

/// `max(z, 0) − z·y + ln(1 + e^{−|z|})`: binary cross-entropy of `σ(z)`
/// against `y`, without evaluating `ln σ(z)`, which underflows.
#[inline]
fn binary_cross_entropy_with_logit<T: Float>(z: T, y: T) -> T {
    z.max(T::ZERO) - z * y + (-z.abs()).exp().ln_1p()
}

impl Loss for BceWithLogits {
    #[inline]
    fn element<T: Float>(&self, output: T, target: T) -> T {
        binary_cross_entropy_with_logit(output, target)
    }

    #[inline]
    fn element_gradient<T: Float>(&self, output: T, target: T) -> T {
        sigmoid(output) - target
    }
}

impl LogitLoss for SigmoidBinaryCrossEntropy {
    #[inline]
    fn value<T: Float, const N: usize>(
        &self,
        logits: &[[T; N]],
        target: &[[T; N]],
        batch_rows: usize,
    ) -> T {
        let (logits, target) = (logits.as_flattened(), target.as_flattened());
        let mut sum = T::ZERO;
        for k in 0..logits.len() {
            sum += binary_cross_entropy_with_logit(logits[k], target[k]);
        }
        sum * element_weight::<T>(batch_rows, N)
    }

    #[inline]
    fn value_and_delta<T: Float, const N: usize>(
        &self,
        logits: &[[T; N]],
        target: &[[T; N]],
        batch_rows: usize,
        delta: &mut [[T; N]],
    ) -> T {
        debug_assert!(
            logits.len() == target.len() && logits.len() == delta.len(),
            "rows of logits, target and delta"
        );
        let scale = element_weight::<T>(batch_rows, N);
        let (logits, target) = (logits.as_flattened(), target.as_flattened());
        let delta = delta.as_flattened_mut();
        let mut sum = T::ZERO;
        for k in 0..logits.len() {
            let (z, y) = (logits[k], target[k]);
            delta[k] = (sigmoid(z) - y) * scale;
            sum += binary_cross_entropy_with_logit(z, y);
        }
        sum * scale
    }
}

/// The one-hot row for class `class` of `N`: the target of a
/// `cross_entropy` network for a sample of that class.
///
/// # Panics
///
/// If `class >= N`.
///
/// ```
/// use backprop_runtime::loss::one_hot;
///
/// assert_eq!(one_hot::<f32, 4>(2), [0.0, 0.0, 1.0, 0.0]);
/// ```
#[must_use]
pub fn one_hot<T: Float, const N: usize>(class: usize) -> [T; N] {
    assert!(
        class < N,
        "class {class} is out of range for {N} classes (0 to {})",
        N - 1
    );
    let mut row = [T::ZERO; N];
    row[class] = T::ONE;
    row
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    /// Checks `∂L/∂input` of a chunk against central differences of `value`.
    fn check_gradient<const N: usize>(
        value: impl Fn(&[[f64; N]; 2]) -> f64,
        gradient: impl Fn(&[[f64; N]; 2], &mut [[f64; N]; 2]) -> f64,
        at: [[f64; N]; 2],
    ) {
        let mut grad = [[0.0; N]; 2];
        let loss = gradient(&at, &mut grad);
        assert_relative_eq!(loss, value(&at), epsilon = 1e-12);
        for r in 0..2 {
            for c in 0..N {
                let (mut up, mut down) = (at, at);
                up[r][c] += 1e-6;
                down[r][c] -= 1e-6;
                let numeric = (value(&up) - value(&down)) / 2e-6;
                assert_relative_eq!(grad[r][c], numeric, epsilon = 1e-8, max_relative = 1e-6);
            }
        }
    }

    const TARGET: [[f64; 3]; 2] = [[0.0, 1.0, 0.0], [0.2, 0.3, 0.5]];
    const POINT: [[f64; 3]; 2] = [[0.3, -1.7, 2.2], [-0.4, 0.05, 1.1]];

    #[test]
    fn loss_gradients_match_central_differences() {
        check_gradient(
            |o| Mse.value(o, &TARGET, 2),
            |o, g| Mse.value_and_gradient(o, &TARGET, 2, g),
            POINT,
        );
        check_gradient(
            |o| Mae.value(o, &TARGET, 2),
            |o, g| Mae.value_and_gradient(o, &TARGET, 2, g),
            POINT,
        );
        let huber = Huber { delta: 0.5 };
        check_gradient(
            |o| huber.value(o, &TARGET, 2),
            |o, g| huber.value_and_gradient(o, &TARGET, 2, g),
            POINT,
        );
        let ce = SoftmaxCrossEntropy;
        check_gradient(
            |z| ce.value(z, &TARGET, 2),
            |z, d| ce.value_and_delta(z, &TARGET, 2, d),
            POINT,
        );
        let bce = SigmoidBinaryCrossEntropy;
        check_gradient(
            |z| bce.value(z, &TARGET, 2),
            |z, d| bce.value_and_delta(z, &TARGET, 2, d),
            POINT,
        );
    }

    #[test]
    fn fused_losses_are_finite_for_logits_up_to_1e4() {
        let logits: [[f32; 3]; 2] = [[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]];
        let target = [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]];
        let mut delta = [[0.0; 3]; 2];
        let ce = SoftmaxCrossEntropy.value_and_delta(&logits, &target, 2, &mut delta);
        assert!(ce.is_finite() && delta.as_flattened().iter().all(|d| d.is_finite()));
        assert_relative_eq!(ce, 2e4, max_relative = 1e-6); // each row's loss is 2·10⁴
        let bce = SigmoidBinaryCrossEntropy.value_and_delta(&logits, &target, 2, &mut delta);
        assert!(bce.is_finite() && delta.as_flattened().iter().all(|d| d.is_finite()));
        assert_relative_eq!(
            bce,
            (1e4 + 1e4 + 2f32.ln() + 1e4 + 0.0 + 1e4) / 6.0,
            max_relative = 1e-6
        );
    }

    #[test]
    fn fused_cross_entropy_and_softmax_compute_the_same_probabilities() {
        // With a one-hot target, batch_rows = 1, `Δⱼ = softmax(z)ⱼ` for
        // every other class: the same `exp`, bit for bit, in `f32` too.
        let logits: [[f32; 10]; 3] = core::array::from_fn(|r| {
            core::array::from_fn(|c| ((r * 10 + c) % 7) as f32 * 1.3 - 4.0)
        });
        let mut h = [[0.0; 10]; 3];
        crate::activation::softmax(&logits, &mut h);
        for (z, h) in logits.iter().zip(&h) {
            let mut delta = [[0.0; 10]];
            SoftmaxCrossEntropy.value_and_delta(&[*z], &[one_hot(0)], 1, &mut delta);
            for (d, p) in delta[0][1..].iter().zip(&h[1..]) {
                assert_eq!(d.to_bits(), p.to_bits());
            }
        }
    }
}
