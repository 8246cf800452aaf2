//! A loss over the live rows of a chunk: what the generated `loss_rows`
//! calls. A chunk is `B` rows of a batch; the last chunk of a run-time-size
//! batch is padded to `B` rows, of which only the first `live` count.

use crate::Float;
use crate::kernels::Matrix;
use crate::loss::{LogitLoss, Loss};

/// The first `live` rows' share of `loss` on the outputs `Ŷ`; writes their
/// `∂L/∂Ŷ` to `grad` (the other rows are left as they are).
#[inline]
pub fn output_loss<L: Loss, T: Float, const B: usize, const N: usize>(
    loss: &L,
    output: &Matrix<T, B, N>,
    target: &Matrix<T, B, N>,
    live: usize,
    batch_rows: usize,
    grad: Option<&mut Matrix<T, B, N>>,
) -> T {
    if live == B {
        return match grad {
            Some(grad) => loss.value_and_gradient(output, target, batch_rows, grad),
            None => loss.value(output, target, batch_rows),
        };
    }
    // The padded last chunk: its live rows one at a time, so that no pass
    // is compiled for another number of rows than the loss itself.
    let mut total = T::ZERO;
    let mut grad = grad;
    for row in 0..live {
        let (output, target) = (
            core::array::from_ref(&output[row]),
            core::array::from_ref(&target[row]),
        );
        total += match grad.as_deref_mut() {
            Some(grad) => loss.value_and_gradient(
                output,
                target,
                batch_rows,
                core::array::from_mut(&mut grad[row]),
            ),
            None => loss.value(output, target, batch_rows),
        };
    }
    total
}

/// [`output_loss`] for a loss fused with the output activation, on the
/// logits `Zᴸ`; writes `Δᴸ = ∂L/∂Zᴸ` to `delta`.
#[inline]
pub fn logit_loss<L: LogitLoss, T: Float, const B: usize, const N: usize>(
    loss: &L,
    logits: &Matrix<T, B, N>,
    target: &Matrix<T, B, N>,
    live: usize,
    batch_rows: usize,
    delta: Option<&mut Matrix<T, B, N>>,
) -> T {
    if live == B {
        return match delta {
            Some(delta) => loss.value_and_delta(logits, target, batch_rows, delta),
            None => loss.value(logits, target, batch_rows),
        };
    }
    let mut total = T::ZERO;
    let mut delta = delta;
    for row in 0..live {
        let (logits, target) = (
            core::array::from_ref(&logits[row]),
            core::array::from_ref(&target[row]),
        );
        total += match delta.as_deref_mut() {
            Some(delta) => loss.value_and_delta(
                logits,
                target,
                batch_rows,
                core::array::from_mut(&mut delta[row]),
            ),
            None => loss.value(logits, target, batch_rows),
        };
    }
    total
}
