//! The products as plain loops, whatever the sizes (`kernels = plain` in
//! `network!`). The innermost loop runs along a row of the output, so with
//! constant bounds the compiler unrolls tiny products completely and
//! vectorises the others. They stay generic over the sizes, compiled in
//! the crate that uses them: for a tiny layer, that is where its speed
//! comes from.

use super::{Matrix, Store};
use crate::Float;

/// [`affine`](super::affine) as plain loops.
#[inline]
pub fn affine<T: Float, const B: usize, const I: usize, const O: usize>(
    x: &Matrix<T, B, I>,
    w: &Matrix<T, I, O>,
    b: &[T; O],
    z: &mut Matrix<T, B, O>,
) {
    for (x_row, z_row) in x.iter().zip(z.iter_mut()) {
        *z_row = *b;
        for (&x_value, w_row) in x_row.iter().zip(w) {
            for (z_value, &w_value) in z_row.iter_mut().zip(w_row) {
                *z_value += x_value * w_value;
            }
        }
    }
}

/// [`weight_gradient`](super::weight_gradient) as plain loops.
#[inline]
pub fn weight_gradient<T: Float, const B: usize, const I: usize, const O: usize>(
    a: &Matrix<T, B, I>,
    d: &Matrix<T, B, O>,
    g: &mut Matrix<T, I, O>,
    store: Store,
) {
    // Overwriting, the first row's products are written, not added.
    let rows = match (store, a.split_first(), d.split_first()) {
        (Store::Overwrite, Some((a_row, a_rest)), Some((d_row, d_rest))) => {
            for (&a_value, g_row) in a_row.iter().zip(g.iter_mut()) {
                for (g_value, &d_value) in g_row.iter_mut().zip(d_row) {
                    *g_value = a_value * d_value;
                }
            }
            (a_rest, d_rest)
        }
        (Store::Overwrite, _, _) => {
            *g = [[T::ZERO; O]; I];
            (a.as_slice(), d.as_slice())
        }
        (Store::Add, _, _) => (a.as_slice(), d.as_slice()),
    };
    for (a_row, d_row) in rows.0.iter().zip(rows.1) {
        for (&a_value, g_row) in a_row.iter().zip(g.iter_mut()) {
            for (g_value, &d_value) in g_row.iter_mut().zip(d_row) {
                *g_value += a_value * d_value;
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
    for (d_row, out_row) in d.iter().zip(out.iter_mut()) {
        for (out_value, w_row) in out_row.iter_mut().zip(w) {
            *out_value = dot(d_row, w_row);
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
fn dot<T: Float, const N: usize>(a: &[T; N], b: &[T; N]) -> T {
    let (a_chunks, a_rest) = a.as_chunks::<8>();
    let (b_chunks, b_rest) = b.as_chunks::<8>();
    let rest = a_rest
        .iter()
        .zip(b_rest)
        .map(|(&a_value, &b_value)| a_value * b_value);
    let Some(((a_first, a_chunks), (b_first, b_chunks))) =
        a_chunks.split_first().zip(b_chunks.split_first())
    else {
        return rest
            .reduce(|total, product| total + product)
            .unwrap_or(T::ZERO);
    };
    let mut sums: [T; 8] = core::array::from_fn(|i| a_first[i] * b_first[i]);
    for (a_chunk, b_chunk) in a_chunks.iter().zip(b_chunks) {
        for ((sum, &a_value), &b_value) in sums.iter_mut().zip(a_chunk).zip(b_chunk) {
            *sum += a_value * b_value;
        }
    }
    let total =
        ((sums[0] + sums[4]) + (sums[1] + sums[5])) + ((sums[2] + sums[6]) + (sums[3] + sums[7]));
    rest.fold(total, |total, product| total + product)
}
