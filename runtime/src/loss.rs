//! Loss functions, with PyTorch's definitions so it can serve as an oracle.

use crate::Float;
use crate::kernels::Matrix;

/// A loss `L(Ŷ, Y)` averaged over a batch.
///
/// Both methods see a chunk of `B` rows out of a batch of `batch_rows`, and
/// return that chunk's share of the mean: summing the results over the
/// chunks of a batch gives the loss of the whole batch.
pub trait Loss {
    /// The name used in the `network!` DSL.
    const NAME: &'static str;

    /// This chunk's share of the loss.
    fn value<T: Float, const B: usize, const N: usize>(
        output: &Matrix<T, B, N>,
        target: &Matrix<T, B, N>,
        batch_rows: usize,
    ) -> T;

    /// This chunk's share of the loss; `grad` is overwritten with `∂L/∂Ŷ`.
    fn value_and_gradient<T: Float, const B: usize, const N: usize>(
        output: &Matrix<T, B, N>,
        target: &Matrix<T, B, N>,
        batch_rows: usize,
        grad: &mut Matrix<T, B, N>,
    ) -> T;
}

/// Mean squared error, `mean((ŷ − y)²)` over the batch and the outputs
/// (PyTorch's `MSELoss`), with `∂L/∂Ŷ = 2(Ŷ − Y) / (B·n)`.
///
/// ```
/// use backprop_runtime::{Loss, Mse};
///
/// let output = [[1.0, 2.0], [3.0, 4.0]];
/// let target = [[1.0, 0.0], [3.0, 5.0]];
/// let mut grad = [[0.0; 2]; 2];
/// let loss = Mse::value_and_gradient(&output, &target, 2, &mut grad);
/// assert_eq!(loss, (0.0 + 4.0 + 0.0 + 1.0) / 4.0);
/// assert_eq!(grad, [[0.0, 1.0], [0.0, -0.5]]);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Mse;

impl Loss for Mse {
    const NAME: &'static str = "mse";

    #[inline]
    fn value<T: Float, const B: usize, const N: usize>(
        output: &Matrix<T, B, N>,
        target: &Matrix<T, B, N>,
        batch_rows: usize,
    ) -> T {
        let sum: T = output
            .as_flattened()
            .iter()
            .zip(target.as_flattened())
            .map(|(&o, &t)| (o - t) * (o - t))
            .sum();
        sum / T::from_usize(batch_rows * N)
    }

    #[inline]
    fn value_and_gradient<T: Float, const B: usize, const N: usize>(
        output: &Matrix<T, B, N>,
        target: &Matrix<T, B, N>,
        batch_rows: usize,
        grad: &mut Matrix<T, B, N>,
    ) -> T {
        let scale = T::ONE / T::from_usize(batch_rows * N);
        let mut sum = T::ZERO;
        for ((g, &o), &t) in grad
            .as_flattened_mut()
            .iter_mut()
            .zip(output.as_flattened())
            .zip(target.as_flattened())
        {
            let error = o - t;
            sum += error * error;
            *g = T::TWO * error * scale;
        }
        sum * scale
    }
}
