//! Losses on a whole batch for a loss of your own making: which elements
//! count (a mask), how much each sample weighs, whether they are averaged or
//! summed (PyTorch's `reduction`), and cross-entropy against class indices
//! with label smoothing. Each gives `L` and writes `∂L/∂Ŷ`, ready for
//! [`Network::backward`](crate::Network::backward) or a
//! [`Trace`](crate::Trace).

use crate::{BatchError, Float};

use super::{Loss, row_max, row_sum};

/// How the per-element losses of a batch become one number, as PyTorch's
/// `reduction` argument.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Reduction {
    /// The weighted sum divided by the number of elements that count (all
    /// of them without a mask), as PyTorch's `reduction="mean"`.
    #[default]
    Mean,
    /// The weighted sum, as `reduction="sum"`.
    Sum,
}

/// Which elements of a batch of `N`-wide rows count toward a loss and how
/// much: `L = Σᵢⱼ mᵢⱼ·wᵢ·ℓ(ŷᵢⱼ, yᵢⱼ) / D`, with the mask `m` (1 where not
/// given), the per-sample weights `w` (1 where not given) and `D = Σᵢⱼ mᵢⱼ`
/// for [`Reduction::Mean`], `D = 1` for [`Reduction::Sum`].
///
/// In PyTorch that is `(w[:, None] * l * m).sum() / m.sum()` on the
/// elementwise losses `l` (`reduction="none"`); with a one-hot mask of the
/// action taken in each row, as DQN trains, it is
/// `(w * l.gather(1, a)).mean()`. A mask that selects nothing gives
/// `L = 0` and a zero gradient, where PyTorch would divide 0 by 0.
///
/// ```
/// use backprop::loss::{Huber, Loss, Reduction, Terms};
///
/// // Q-values of two actions for three states; only the taken action's
/// // value is compared with its target.
/// let q = [[1.0_f64, 2.0], [0.5, -1.0], [3.0, 0.0]];
/// let target = [[0.0, 2.5], [1.5, 0.0], [0.0, 0.0]];
/// let taken = [[false, true], [true, false], [false, true]];
/// let mut grad = [[0.0; 2]; 3];
/// let terms = Terms::new(Reduction::Mean).mask(&taken);
/// let loss = Huber::default().evaluate(&q, &target, terms, Some(&mut grad))?;
/// // ½·0.5², ½·1², ½·0² averaged over the three taken actions.
/// assert!((loss - (0.125 + 0.5 + 0.0) / 3.0).abs() < 1e-15);
/// assert_eq!(grad, [[0.0, -0.5 / 3.0], [-1.0 / 3.0, 0.0], [0.0, 0.0]]);
/// # Ok::<(), backprop::BatchError>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Terms<'a, T, const N: usize> {
    reduction: Reduction,
    mask: Option<&'a [[bool; N]]>,
    weights: Option<&'a [T]>,
}

impl<'a, T: Float, const N: usize> Terms<'a, T, N> {
    /// Every element counts once, reduced by `reduction`.
    #[must_use]
    pub fn new(reduction: Reduction) -> Self {
        Self {
            reduction,
            mask: None,
            weights: None,
        }
    }

    /// Only the elements where `mask` is `true` count (one row per sample):
    /// the taken action, the rows that are not padding.
    #[must_use]
    pub fn mask(self, mask: &'a [[bool; N]]) -> Self {
        Self {
            mask: Some(mask),
            ..self
        }
    }

    /// Sample `i`'s terms are multiplied by `weights[i]`: importance-sampling
    /// weights of prioritised replay, per-sample costs.
    #[must_use]
    pub fn weights(self, weights: &'a [T]) -> Self {
        Self {
            weights: Some(weights),
            ..self
        }
    }

    /// Checks the mask and the weights against a batch of `rows` samples.
    fn check(&self, rows: usize) -> Result<(), BatchError> {
        if rows == 0 {
            return Err(BatchError::Empty);
        }
        if let Some(mask) = self.mask {
            check_loss_rows("mask", rows, mask.len())?;
        }
        if let Some(weights) = self.weights {
            check_loss_rows("weights", rows, weights.len())?;
            if let Some(row) = weights.iter().position(|w| !w.is_finite()) {
                return Err(BatchError::NonFinite {
                    what: "weights",
                    row,
                    column: 0,
                });
            }
        }
        Ok(())
    }

    /// `D`: what the weighted sum is divided by.
    fn denominator(&self, rows: usize) -> T {
        match (self.reduction, self.mask) {
            (Reduction::Sum, _) => T::ONE,
            (Reduction::Mean, None) => T::from_usize(rows * N),
            (Reduction::Mean, Some(mask)) => {
                T::from_usize(mask.as_flattened().iter().filter(|&&m| m).count())
            }
        }
    }

    /// `mᵢⱼ·wᵢ / D` for row `i`, column `j`, given `1 / D`.
    fn factor(&self, row: usize, column: usize, per_term: T) -> T {
        if self.mask.is_some_and(|mask| !mask[row][column]) {
            return T::ZERO;
        }
        match self.weights {
            Some(weights) => weights[row] * per_term,
            None => per_term,
        }
    }

    /// `1 / D`, or zero when nothing counts (so the loss and gradient are 0).
    fn per_term(&self, rows: usize) -> T {
        let denominator = self.denominator(rows);
        if denominator == T::ZERO {
            T::ZERO
        } else {
            T::ONE / denominator
        }
    }
}

fn check_loss_rows(what: &'static str, outputs: usize, rows: usize) -> Result<(), BatchError> {
    if outputs == rows {
        Ok(())
    } else {
        Err(BatchError::LossRows {
            what,
            outputs,
            rows,
        })
    }
}

/// [`Loss::evaluate`]: the loss of the whole batch with `terms`.
pub(super) fn evaluate<L: Loss + ?Sized, T: Float, const N: usize>(
    loss: &L,
    output: &[[T; N]],
    target: &[[T; N]],
    terms: Terms<'_, T, N>,
    mut grad: Option<&mut [[T; N]]>,
) -> Result<T, BatchError> {
    let rows = output.len();
    check_loss_rows("targets", rows, target.len())?;
    terms.check(rows)?;
    if let Some(grad) = &grad {
        check_loss_rows("gradient", rows, grad.len())?;
    }
    let per_term = terms.per_term(rows);
    let mut total = T::ZERO;
    for r in 0..rows {
        for j in 0..N {
            let factor = terms.factor(r, j, per_term);
            let (o, t) = (output[r][j], target[r][j]);
            // Masked-out elements contribute nothing, even a NaN.
            let counts = factor != T::ZERO;
            if counts {
                total += factor * loss.element(o, t);
            }
            if let Some(grad) = grad.as_deref_mut() {
                grad[r][j] = if counts {
                    factor * loss.element_gradient(o, t)
                } else {
                    T::ZERO
                };
            }
        }
    }
    Ok(total)
}

/// Cross-entropy of the softmax of `logits` against class indices, as
/// PyTorch's `nn.CrossEntropyLoss` with integer targets: for row `i` with
/// label `yᵢ` and `N` classes, `ℓᵢ = −Σⱼ qᵢⱼ·log softmax(zᵢ)ⱼ` with the
/// smoothed target `qᵢ = (1 − ε)·onehot(yᵢ) + ε/N` (`label_smoothing = ε`,
/// PyTorch's `label_smoothing`); then reduced over rows by `terms`, whose
/// mask and weights have one entry per row (`Terms<'_, T, 1>`: a masked-out
/// row is PyTorch's `ignore_index`). Writes `∂L/∂Z = factorᵢ·(softmax(zᵢ) − qᵢ)`
/// to `grad`. The logits are a `linear` output layer's (a network declared
/// with `loss = none`), computed with log-sum-exp, so no logit overflows.
///
/// # Errors
///
/// [`BatchError::Empty`] for no rows, [`BatchError::LossRows`] when labels,
/// mask, weights or `grad` have another number of rows, and
/// [`BatchError::Label`] for a label that is not one of the `N` classes; the
/// gradient is then left as it was.
///
/// # Panics
///
/// If `label_smoothing` is not in `[0, 1]`, as PyTorch refuses it.
///
/// ```
/// use backprop::loss::{Reduction, Terms, cross_entropy_labels};
///
/// let logits = [[2.0_f64, 0.0, -1.0], [0.0, 0.0, 0.0]];
/// let mut grad = [[0.0; 3]; 2];
/// let loss = cross_entropy_labels(&logits, &[0, 2], 0.0, Terms::new(Reduction::Mean), Some(&mut grad))?;
/// let row0 = -(2.0 - (2f64.exp() + 1.0 + (-1f64).exp()).ln());
/// let row2 = 3f64.ln();
/// assert!((loss - (row0 + row2) / 2.0).abs() < 1e-12);
/// // Each row's gradient is (softmax − one-hot) / 2 and sums to zero.
/// assert!(grad.iter().all(|row| row.iter().sum::<f64>().abs() < 1e-15));
/// # Ok::<(), backprop::BatchError>(())
/// ```
pub fn cross_entropy_labels<T: Float, const N: usize>(
    logits: &[[T; N]],
    labels: &[usize],
    label_smoothing: f64,
    terms: Terms<'_, T, 1>,
    mut grad: Option<&mut [[T; N]]>,
) -> Result<T, BatchError> {
    assert!(
        (0.0..=1.0).contains(&label_smoothing),
        "label_smoothing must be between 0 and 1, not {label_smoothing}"
    );
    let rows = logits.len();
    check_loss_rows("labels", rows, labels.len())?;
    terms.check(rows)?;
    if let Some((row, &label)) = labels.iter().enumerate().find(|&(_, &l)| l >= N) {
        return Err(BatchError::Label {
            row,
            label,
            classes: N,
        });
    }
    if let Some(grad) = &grad {
        check_loss_rows("gradient", rows, grad.len())?;
    }
    let smoothing = T::from_f64(label_smoothing);
    let (uniform, on_label) = (
        smoothing / T::from_usize(N),
        T::ONE - smoothing + smoothing / T::from_usize(N),
    );
    let per_term = terms.per_term(rows);
    let mut total = T::ZERO;
    for (r, row) in logits.iter().enumerate() {
        let factor = terms.factor(r, 0, per_term);
        if factor == T::ZERO {
            if let Some(grad) = grad.as_deref_mut() {
                grad[r] = [T::ZERO; N];
            }
            continue;
        }
        let max = row_max(row);
        let mut exp = [T::ZERO; N];
        for j in 0..N {
            exp[j] = (row[j] - max).exp();
        }
        let sum = row_sum(&exp);
        let log_sum = sum.ln();
        let mut loss = T::ZERO;
        for (j, &z) in row.iter().enumerate() {
            let q = if j == labels[r] { on_label } else { uniform };
            loss -= q * (z - max - log_sum);
        }
        total += factor * loss;
        if let Some(grad) = grad.as_deref_mut() {
            for j in 0..N {
                let q = if j == labels[r] { on_label } else { uniform };
                grad[r][j] = factor * (exp[j] / sum - q);
            }
        }
    }
    Ok(total)
}
