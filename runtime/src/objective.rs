//! A loss over the live rows of a chunk: what the generated `loss_rows`
//! calls. A chunk is `B` rows of a batch; the last chunk of a run-time-size
//! batch is padded to `B` rows, of which only the first `live` count. The
//! losses take rows of any number, so one instance serves both.

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
    let (output, target) = (&output[..live], &target[..live]);
    match grad {
        Some(grad) => loss.value_and_gradient(output, target, batch_rows, &mut grad[..live]),
        None => loss.value(output, target, batch_rows),
    }
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
    let (logits, target) = (&logits[..live], &target[..live]);
    match delta {
        Some(delta) => loss.value_and_delta(logits, target, batch_rows, &mut delta[..live]),
        None => loss.value(logits, target, batch_rows),
    }
}
