//! The products as plain loops, whatever the sizes (`kernels = plain` in
//! `network!`). The innermost loop runs along a row of the output, so with
//! constant bounds the compiler unrolls tiny products completely and
//! vectorises the others. They stay generic over the sizes, compiled in
//! the crate that uses them: for a tiny layer, that is where its speed
//! comes from. They index rather than zip iterators: an iterator adapter
//! over rows of one width is a type of its own, compiled again for each
//! layer's shape, while a range of indices is one type for all.

use super::{Matrix, Store};
use crate::Float;

/// [`affine`](super::affine) as plain loops.
// Always: compiled into the forward pass's copy for AVX2 and FMA,
// which a call would leave on the baseline CPU.
#[inline(always)]
#[allow(clippy::inline_always)]
pub fn affine<T: Float, const B: usize, const I: usize, const O: usize>(
    x: &Matrix<T, B, I>,
    w: &Matrix<T, I, O>,
    b: &[T; O],
    z: &mut Matrix<T, B, O>,
) {
    if I < SPLIT_SUMS_MIN_INNER || O * size_of::<T>() > SPLIT_SUMS_MAX_ROW_BYTES {
        for r in 0..B {
            z[r] = *b;
            for i in 0..I {
                let x_value = x[r][i];
                for o in 0..O {
                    z[r][o] += x_value * w[i][o];
                }
            }
        }
        return;
    }
    // Two sums, of the even and of the odd inputs, added at the end: one
    // sum is a chain of `I` dependent additions, which is all the time a
    // sample takes when there are few rows to overlap.
    for r in 0..B {
        let mut odd = [T::ZERO; O];
        z[r] = *b;
        for pair in 0..I / 2 {
            let (even_value, odd_value) = (x[r][2 * pair], x[r][2 * pair + 1]);
            for o in 0..O {
                z[r][o] += even_value * w[2 * pair][o];
                odd[o] += odd_value * w[2 * pair + 1][o];
            }
        }
        if I % 2 == 1 {
            let x_value = x[r][I - 1];
            for o in 0..O {
                z[r][o] += x_value * w[I - 1][o];
            }
        }
        for o in 0..O {
            z[r][o] += odd[o];
        }
    }
}

/// Layers with at least this many inputs sum their products in two
/// chains ([`affine`])...
const SPLIT_SUMS_MIN_INNER: usize = 16;

/// ...if a row of outputs takes at most four AVX registers: two rows of
/// sums must stay in registers (32 `f64` outputs in two chains spilled, and
/// the `f64` network of 32 took a fifth longer).
const SPLIT_SUMS_MAX_ROW_BYTES: usize = 128;

/// [`weight_gradient`](super::weight_gradient) as plain loops.
#[inline]
pub fn weight_gradient<T: Float, const B: usize, const I: usize, const O: usize>(
    a: &Matrix<T, B, I>,
    d: &Matrix<T, B, O>,
    g: &mut Matrix<T, I, O>,
    store: Store,
) {
    // Overwriting, the first row's products are written, not added.
    let mut first = 0;
    if store == Store::Overwrite {
        if B == 0 {
            *g = [[T::ZERO; O]; I];
        } else {
            for i in 0..I {
                for o in 0..O {
                    g[i][o] = a[0][i] * d[0][o];
                }
            }
            first = 1;
        }
    }
    for r in first..B {
        for i in 0..I {
            let a_value = a[r][i];
            for o in 0..O {
                g[i][o] += a_value * d[r][o];
            }
        }
    }
}

/// [`transposed_product`](super::transposed_product) as plain loops:
/// one dot product per output.
#[inline]
pub fn transposed_product<T: Float, const B: usize, const I: usize, const O: usize>(
    d: &Matrix<T, B, O>,
    w: &Matrix<T, I, O>,
    out: &mut Matrix<T, B, I>,
) {
    for r in 0..B {
        for i in 0..I {
            out[r][i] = dot(&d[r], &w[i]);
        }
    }
}

/// `Σ aᵢ·bᵢ` in eight running sums, so that the compiler can keep them in a
/// vector register: one running sum would make every addition wait for
/// the one before it, since reordering floating-point additions is not
/// its choice to make. The sums start from the first products rather than
/// from zero, which would cost an addition the compiler must keep
/// (`0 + (−0) = +0`).
#[inline]
pub(crate) fn dot<T: Float, const N: usize>(a: &[T; N], b: &[T; N]) -> T {
    if N == 0 {
        return T::ZERO;
    }
    let full = N / 8 * 8;
    let (mut total, rest) = if full == 0 {
        (a[0] * b[0], 1)
    } else {
        let mut sums = [T::ZERO; 8];
        for k in 0..8 {
            sums[k] = a[k] * b[k];
        }
        for start in (8..full).step_by(8) {
            for k in 0..8 {
                sums[k] += a[start + k] * b[start + k];
            }
        }
        let total = ((sums[0] + sums[4]) + (sums[1] + sums[5]))
            + ((sums[2] + sums[6]) + (sums[3] + sums[7]));
        (total, full)
    };
    for k in rest..N {
        total += a[k] * b[k];
    }
    total
}
