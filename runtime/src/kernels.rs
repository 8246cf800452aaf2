//! The matrix products of batch backpropagation, for sizes known at compile time.
//!
//! Matrices are row-major arrays `[[T; COLS]; ROWS]`; rows are samples. Each
//! kernel is written so that its innermost loop runs along a row of the
//! output, which the compiler vectorises once the sizes are constants.

use crate::Float;

/// A `ROWS × COLS` matrix: `ROWS` arrays of `COLS` elements.
pub type Matrix<T, const ROWS: usize, const COLS: usize> = [[T; COLS]; ROWS];

/// The forward product of a dense layer: `Z = X·W + 1·bᵀ`.
///
/// `x` is `B × I` (one sample per row), `w` is `I × O`, `b` has `O` entries;
/// `z` (`B × O`) is overwritten.
///
/// ```
/// use backprop_runtime::kernels::affine;
///
/// let x = [[1.0, 2.0]];
/// let w = [[1.0, 0.0, -1.0], [0.5, 1.0, 0.0]];
/// let b = [0.0, 1.0, 2.0];
/// let mut z = [[0.0; 3]];
/// affine(&x, &w, &b, &mut z);
/// assert_eq!(z, [[2.0, 3.0, 1.0]]);
/// ```
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

/// Adds `Aᵀ·D` to `g`: the weight gradient `∂L/∂W = Hᵀ·Δ`, summed over the batch.
///
/// `a` is `B × I` (the layer's input `H`), `d` is `B × O` (its `Δ`), `g` is `I × O`.
///
/// ```
/// use backprop_runtime::kernels::add_transposed_product;
///
/// let h = [[1.0, 2.0], [3.0, 4.0]];
/// let delta = [[1.0], [-1.0]];
/// let mut grad_w = [[0.0], [0.0]];
/// add_transposed_product(&h, &delta, &mut grad_w);
/// assert_eq!(grad_w, [[-2.0], [-2.0]]);
/// ```
#[inline]
pub fn add_transposed_product<T: Float, const B: usize, const I: usize, const O: usize>(
    a: &Matrix<T, B, I>,
    d: &Matrix<T, B, O>,
    g: &mut Matrix<T, I, O>,
) {
    for (a_row, d_row) in a.iter().zip(d) {
        for (&a_value, g_row) in a_row.iter().zip(g.iter_mut()) {
            for (g_value, &d_value) in g_row.iter_mut().zip(d_row) {
                *g_value += a_value * d_value;
            }
        }
    }
}

/// Adds the column sums `1ᵀ·D` to `g`: the bias gradient `∂L/∂b = 1ᵀ·Δ`.
///
/// ```
/// use backprop_runtime::kernels::add_column_sums;
///
/// let delta = [[1.0, 2.0], [3.0, 4.0]];
/// let mut grad_b = [0.5, 0.0];
/// add_column_sums(&delta, &mut grad_b);
/// assert_eq!(grad_b, [4.5, 6.0]);
/// ```
#[inline]
pub fn add_column_sums<T: Float, const B: usize, const O: usize>(
    d: &Matrix<T, B, O>,
    g: &mut [T; O],
) {
    for d_row in d {
        for (g_value, &d_value) in g.iter_mut().zip(d_row) {
            *g_value += d_value;
        }
    }
}

/// The product with a transposed weight matrix, `D·Wᵀ`: the gradient that
/// flows back into a layer's input, `∂L/∂H = Δ·Wᵀ`.
///
/// `d` is `B × O`, `w` is `I × O`; `out` (`B × I`) is overwritten.
///
/// ```
/// use backprop_runtime::kernels::transposed_product;
///
/// let delta = [[1.0, 2.0]];
/// let w = [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]];
/// let mut grad_h = [[0.0; 3]];
/// transposed_product(&delta, &w, &mut grad_h);
/// assert_eq!(grad_h, [[1.0, 2.0, 3.0]]);
/// ```
#[inline]
pub fn transposed_product<T: Float, const B: usize, const I: usize, const O: usize>(
    d: &Matrix<T, B, O>,
    w: &Matrix<T, I, O>,
    out: &mut Matrix<T, B, I>,
) {
    for (d_row, out_row) in d.iter().zip(out.iter_mut()) {
        for (out_value, w_row) in out_row.iter_mut().zip(w) {
            *out_value = d_row
                .iter()
                .zip(w_row)
                .fold(T::ZERO, |sum, (&d_value, &w_value)| sum + d_value * w_value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plain triple-loop product, indexing by position: the reference the
    /// kernels are checked against.
    fn reference_product(a: &[f64], b: &[f64], rows: usize, inner: usize, cols: usize) -> Vec<f64> {
        let mut out = vec![0.0; rows * cols];
        for r in 0..rows {
            for c in 0..cols {
                for k in 0..inner {
                    out[r * cols + c] += a[r * inner + k] * b[k * cols + c];
                }
            }
        }
        out
    }

    fn transpose(m: &[f64], rows: usize, cols: usize) -> Vec<f64> {
        (0..cols * rows)
            .map(|i| m[(i % rows) * cols + i / rows])
            .collect()
    }

    fn filled<const R: usize, const C: usize>(start: f64) -> [[f64; C]; R] {
        core::array::from_fn(|r| core::array::from_fn(|c| start + (r * C + c) as f64 * 0.37 - 1.3))
    }

    extern crate std;
    use std::vec;
    use std::vec::Vec;

    #[test]
    fn kernels_match_reference_products() {
        let x: [[f64; 5]; 3] = filled(0.1);
        let w: [[f64; 4]; 5] = filled(-0.7);
        let d: [[f64; 4]; 3] = filled(0.4);
        let b = [0.5, -0.25, 1.0, 2.0];

        let mut z = [[0.0; 4]; 3];
        affine(&x, &w, &b, &mut z);
        let expected = reference_product(x.as_flattened(), w.as_flattened(), 3, 5, 4);
        for (r, row) in z.iter().enumerate() {
            for (c, &value) in row.iter().enumerate() {
                approx::assert_relative_eq!(value, expected[r * 4 + c] + b[c], epsilon = 1e-12);
            }
        }

        let mut g = [[1.0; 4]; 5];
        add_transposed_product(&x, &d, &mut g);
        let xt = transpose(x.as_flattened(), 3, 5);
        let expected = reference_product(&xt, d.as_flattened(), 5, 3, 4);
        for (value, want) in g.as_flattened().iter().zip(&expected) {
            approx::assert_relative_eq!(*value, want + 1.0, epsilon = 1e-12);
        }

        let mut h = [[0.0; 5]; 3];
        transposed_product(&d, &w, &mut h);
        let wt = transpose(w.as_flattened(), 5, 4);
        let expected = reference_product(d.as_flattened(), &wt, 3, 4, 5);
        for (value, want) in h.as_flattened().iter().zip(&expected) {
            approx::assert_relative_eq!(*value, *want, epsilon = 1e-12);
        }

        let mut sums = [0.0; 4];
        add_column_sums(&d, &mut sums);
        for (c, &sum) in sums.iter().enumerate() {
            approx::assert_relative_eq!(
                sum,
                d.iter().map(|row| row[c]).sum::<f64>(),
                epsilon = 1e-12
            );
        }
    }
}
