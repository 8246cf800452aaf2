//! The matrix products of batch backpropagation, for sizes known at compile time.
//!
//! Matrices are row-major arrays `[[T; COLS]; ROWS]`; rows are samples. Each
//! product picks its method from its sizes, which are constants, so the
//! choice costs nothing at run time:
//!
//! - fewer than [`BLOCKED_MIN_PRODUCTS`] multiply-adds, or fewer output
//!   columns than a register block holds: [`plain`] loops whose innermost
//!   loop runs along a row of the output. With constant bounds the compiler
//!   unrolls them completely for tiny layers and vectorises them otherwise.
//! - larger products: the register-[`blocked`] kernel. For each slice of the
//!   shared dimension it copies the right operand's columns into
//!   contiguous panels and a few rows of the left operand into a small
//!   panel, then keeps a block of 6 × 16 (`f32`) outputs in registers while
//!   it runs down the slice, reading both panels as streams. Built with
//!   `std` on x86-64, it also has a copy compiled for AVX2 and FMA, chosen
//!   at run time when the CPU has them (`cargo build --release` targets
//!   plain x86-64). It takes run-time sizes and is compiled once, in this
//!   crate, for `f32` and for `f64`, so a network's crate compiles only
//!   the calls.
//!
//! The element-wise [`tanh`] and [`sigmoid`] are the type's row functions
//! on [`Float`]: vectorisable approximations in `f32`, `libm` in `f64`.
//!
//! Every method is checked against a plain triple loop in the tests below.

use crate::Float;

pub mod blocked;
pub mod plain;
pub(crate) mod wide;

/// Products of at least this many multiply-adds (`rows · inner · columns`)
/// use the register-blocked kernel; smaller ones are plain loops.
pub const BLOCKED_MIN_PRODUCTS: usize = 8 * 1024;

/// Whether a product of these sizes takes the blocked kernel.
const fn use_blocked<T: Float>(rows: usize, inner: usize, cols: usize) -> bool {
    rows * inner * cols >= BLOCKED_MIN_PRODUCTS && cols >= T::BLOCK_COLS
}

/// A `ROWS × COLS` matrix: `ROWS` arrays of `COLS` elements.
pub type Matrix<T, const ROWS: usize, const COLS: usize> = [[T; COLS]; ROWS];

/// The forward product of a dense layer: `Z = X·W + 1·bᵀ`.
///
/// `x` is `B × I` (one sample per row), `w` is `I × O`, `b` has `O` entries;
/// `z` (`B × O`) is overwritten. [`plain`] or [`blocked`] by the sizes.
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
    if const { use_blocked::<T>(B, I, O) } {
        blocked::affine(x, w, b, z);
    } else {
        plain::affine(x, w, b, z);
    }
}

/// Whether a gradient kernel overwrites its output or adds to it.
///
/// A training step overwrites its gradient buffer: it then needs no zeroing
/// first, and the plain kernels' sums need no addition of zeros (which the
/// compiler must keep, since `0 + (−0) = +0`). Gradients of a batch taken in several
/// chunks add the later chunks to the first, and a step of plain SGD adds
/// the products of `−η·Δ` straight into the parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Store {
    /// `g = …`
    Overwrite,
    /// `g += …`
    Add,
}

/// The weight gradient `∂L/∂W = Aᵀ·D`, summed over the batch, stored in `g`
/// as `store` says. [`plain`] or [`blocked`] by the sizes.
///
/// `a` is `B × I` (the layer's input `H`), `d` is `B × O` (its `Δ`), `g` is `I × O`.
///
/// ```
/// use backprop_runtime::kernels::{Store, weight_gradient};
///
/// let h = [[1.0, 2.0], [3.0, 4.0]];
/// let delta = [[1.0], [-1.0]];
/// let mut grad_w = [[5.0], [5.0]];
/// weight_gradient(&h, &delta, &mut grad_w, Store::Overwrite);
/// assert_eq!(grad_w, [[-2.0], [-2.0]]);
/// weight_gradient(&h, &delta, &mut grad_w, Store::Add);
/// assert_eq!(grad_w, [[-4.0], [-4.0]]);
/// ```
#[inline]
pub fn weight_gradient<T: Float, const B: usize, const I: usize, const O: usize>(
    a: &Matrix<T, B, I>,
    d: &Matrix<T, B, O>,
    g: &mut Matrix<T, I, O>,
    store: Store,
) {
    if const { use_blocked::<T>(I, B, O) } {
        blocked::weight_gradient(a, d, g, store);
    } else {
        plain::weight_gradient(a, d, g, store);
    }
}

/// The bias gradient `∂L/∂b = 1ᵀ·D`, the column sums of `D`, stored in `g`
/// as `store` says.
///
/// ```
/// use backprop_runtime::kernels::{Store, bias_gradient};
///
/// let delta = [[1.0, 2.0], [3.0, 4.0]];
/// let mut grad_b = [0.5, 0.0];
/// bias_gradient(&delta, &mut grad_b, Store::Add);
/// assert_eq!(grad_b, [4.5, 6.0]);
/// bias_gradient(&delta, &mut grad_b, Store::Overwrite);
/// assert_eq!(grad_b, [4.0, 6.0]);
/// ```
#[inline]
pub fn bias_gradient<T: Float, const B: usize, const O: usize>(
    d: &Matrix<T, B, O>,
    g: &mut [T; O],
    store: Store,
) {
    let mut first = 0;
    if store == Store::Overwrite {
        if B == 0 {
            *g = [T::ZERO; O];
        } else {
            *g = d[0];
            first = 1;
        }
    }
    // Indices rather than an iterator over rows: see `plain`.
    #[allow(clippy::needless_range_loop)]
    for r in first..B {
        for o in 0..O {
            g[o] += d[r][o];
        }
    }
}

/// Multiplies every entry of `m` by `factor`. A training step with plain
/// gradient descent scales `Δ` by `−η`, so that [`weight_gradient`] and
/// [`bias_gradient`] adding into the parameters take the step.
///
/// ```
/// use backprop_runtime::kernels::scale;
///
/// let mut delta = [[1.0, -2.0]];
/// scale(&mut delta, -0.5);
/// assert_eq!(delta, [[-0.5, 1.0]]);
/// ```
#[inline]
pub fn scale<T: Float, const B: usize, const N: usize>(m: &mut Matrix<T, B, N>, factor: T) {
    for value in m.as_flattened_mut() {
        *value *= factor;
    }
}

/// The product with a transposed weight matrix, `D·Wᵀ`: the gradient that
/// flows back into a layer's input, `∂L/∂H = Δ·Wᵀ`. [`plain`] or
/// [`blocked`] by the sizes; plain too when `Wᵀ` is larger than the copy
/// the blocked kernel makes of it on the stack (64 KiB), as for a wide first
/// layer, whose `Δ·Wᵀ` only input gradients need.
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
    if const { use_blocked::<T>(B, O, I) && I * O * size_of::<T>() <= TRANSPOSED_COPY_BYTES } {
        blocked::transposed_product(d, w, out);
    } else {
        plain::transposed_product(d, w, out);
    }
}

/// `H = tanh(Z)`, element by element, in a form the compiler vectorises.
///
/// `f32` uses a rational approximation (Eigen's `ptanh_float`: an odd
/// polynomial of degree 13 over an even one of degree 6); `f64`,
/// `sign(z)·(−t)/(2 + t)` with `t = e^{−2|z|} − 1`. Both have no calls and
/// no branches, so several values go through at once; they stay within a
/// few units in the last place of `libm`'s `tanh`, and `tanh(±∞) = ±1`,
/// `tanh(NaN) = NaN`. `fused` is whether the caller is compiled for FMA
/// (the forward pass's AVX2 copy passes `true`, a constant there): the
/// polynomials of both types then take fused multiply-adds.
///
/// ```
/// use backprop_runtime::kernels::tanh;
///
/// let mut h = [[0.0_f32; 3]];
/// tanh(&[[0.0, 0.5, -30.0]], &mut h, false);
/// assert_eq!(h[0][0], 0.0);
/// assert!((h[0][1] - 0.5_f32.tanh()).abs() < 1e-7);
/// assert_eq!(h[0][2], -1.0);
/// ```
// Always: compiled into the forward pass's copy for AVX2 and FMA,
// which a call would leave on the baseline CPU.
#[inline(always)]
#[allow(clippy::inline_always)]
pub fn tanh<T: Float, const B: usize, const N: usize>(
    z: &Matrix<T, B, N>,
    h: &mut Matrix<T, B, N>,
    fused: bool,
) {
    let (z, h) = (z.as_flattened(), h.as_flattened_mut());
    if fused {
        T::tanh_row::<true>(z, h);
    } else {
        T::tanh_row::<false>(z, h);
    }
}

/// `H = σ(Z)`, element by element, in a form the compiler vectorises.
///
/// Each value is `n / (1 + e^{−|z|})` with `n = 1` for `z ≥ 0` and
/// `n = e^{−|z|}` below, as [`activation::sigmoid`](crate::activation::sigmoid)
/// computes it. For `f32`, `e^{−|z|}` comes from a polynomial with no calls
/// and no branches, within a few units in the last place of `libm`, down to
/// the subnormal values and 0 where `libm` underflows too; `f64`, from a
/// Taylor polynomial likewise. `fused` as for [`tanh`].
///
/// ```
/// use backprop_runtime::kernels::sigmoid;
///
/// let mut h = [[0.0_f32; 3]];
/// sigmoid(&[[0.0, 2.0, -2.0]], &mut h, false);
/// assert_eq!(h[0][0], 0.5);
/// assert!((h[0][1] - 0.880_797).abs() < 1e-6 && (h[0][2] - 0.119_203).abs() < 1e-6);
/// ```
// Always: a tiny network's whole step is one chain of operations, and a
// call in it (which the inliner may choose once a step holds both training
// paths) costs more than the sigmoid.
#[inline(always)]
#[allow(clippy::inline_always)]
pub fn sigmoid<T: Float, const B: usize, const N: usize>(
    z: &Matrix<T, B, N>,
    h: &mut Matrix<T, B, N>,
    fused: bool,
) {
    let (z, h) = (z.as_flattened(), h.as_flattened_mut());
    if fused {
        T::sigmoid_row::<true>(z, h);
    } else {
        T::sigmoid_row::<false>(z, h);
    }
}

/// Largest `Wᵀ` that [`transposed_product`] copies to the stack.
const TRANSPOSED_COPY_BYTES: usize = 64 * 1024;

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

    fn filled<T: Float, const R: usize, const C: usize>(start: f64) -> [[T; C]; R] {
        core::array::from_fn(|r| {
            core::array::from_fn(|c| T::from_f64(start + ((r * C + c) % 23) as f64 * 0.37 - 1.3))
        })
    }

    fn flat<T: Float, const R: usize, const C: usize>(m: &[[T; C]; R]) -> Vec<f64> {
        m.as_flattened().iter().map(|v| v.to_f64()).collect()
    }

    extern crate std;
    use std::boxed::Box;
    use std::vec;
    use std::vec::Vec;

    /// Every kernel on `B × I` inputs and `I × O` weights, against the
    /// reference product, to `tolerance` relative to the sum of magnitudes.
    fn check<T: Float, const B: usize, const I: usize, const O: usize>(tolerance: f64) {
        let x: Box<[[T; I]; B]> = Box::new(filled(0.1));
        let w: Box<[[T; O]; I]> = Box::new(filled(-0.7));
        let d: Box<[[T; O]; B]> = Box::new(filled(0.4));
        let b: [T; O] = core::array::from_fn(|c| T::from_f64(c as f64 * 0.25 - 1.0));
        let close = |got: T, want: f64, scale: f64| {
            let got = got.to_f64();
            assert!(
                (got - want).abs() <= tolerance * (1.0 + scale),
                "{B}×{I}×{O} {}: {got} vs {want}",
                T::NAME
            );
        };
        let scale = I as f64 * 4.0;

        let mut z = Box::new([[T::ZERO; O]; B]);
        affine(&x, &w, &b, &mut z);
        let expected = reference_product(&flat(&x), &flat(&w), B, I, O);
        for (r, row) in z.iter().enumerate() {
            for (c, &value) in row.iter().enumerate() {
                close(value, expected[r * O + c] + b[c].to_f64(), scale);
            }
        }

        // Added to ones, then written over them.
        let xt = transpose(&flat(&x), B, I);
        let expected = reference_product(&xt, &flat(&d), I, B, O);
        let mut g = Box::new([[T::ONE; O]; I]);
        weight_gradient(&x, &d, &mut g, Store::Add);
        for (&value, want) in g.as_flattened().iter().zip(&expected) {
            close(value, want + 1.0, B as f64 * 4.0);
        }
        weight_gradient(&x, &d, &mut g, Store::Overwrite);
        for (&value, want) in g.as_flattened().iter().zip(&expected) {
            close(value, *want, B as f64 * 4.0);
        }

        let mut h = Box::new([[T::ONE; I]; B]);
        transposed_product(&d, &w, &mut h);
        let wt = transpose(&flat(&w), I, O);
        let expected = reference_product(&flat(&d), &wt, B, O, I);
        for (&value, want) in h.as_flattened().iter().zip(&expected) {
            close(value, *want, O as f64 * 4.0);
        }

        let column_sum = |c: usize| d.iter().map(|row| row[c].to_f64()).sum::<f64>();
        let mut sums = [T::ONE; O];
        bias_gradient(&d, &mut sums, Store::Add);
        for (c, &sum) in sums.iter().enumerate() {
            close(sum, column_sum(c) + 1.0, B as f64);
        }
        bias_gradient(&d, &mut sums, Store::Overwrite);
        for (c, &sum) in sums.iter().enumerate() {
            close(sum, column_sum(c), B as f64);
        }
    }

    #[test]
    fn plain_kernels_match_reference_products() {
        check::<f64, 3, 5, 4>(1e-12);
        check::<f32, 3, 5, 4>(1e-5);
        // No rows: overwritten gradients are zero.
        check::<f64, 0, 5, 4>(0.0);
    }

    #[test]
    fn blocked_kernels_match_reference_products() {
        // Rows, columns and depth that leave remainders after every block
        // and panel, and a depth of more than one panel.
        assert!(use_blocked::<f64>(13, 150, 21) && use_blocked::<f64>(150, 13, 21));
        assert!(use_blocked::<f64>(13, 21, 150));
        check::<f64, 13, 150, 21>(1e-12);
        check::<f32, 13, 150, 21>(1e-5);
        // `Hᵀ·Δ` over two depth slices: the second adds to what the first wrote.
        check::<f64, 150, 13, 21>(1e-12);
        check::<f32, 66, 300, 35>(1e-5);
        check::<f64, 9, 40, 130>(1e-12);
        // Half a register block and two more columns, as the 10 outputs of a classifier.
        check::<f32, 20, 140, 10>(1e-5);
        // Rows left over after blocks of 6: 4 + 1, and 4 + 1 again as `Hᵀ·Δ`'s 29.
        check::<f32, 5, 29, 64>(1e-5);
    }

    /// `kernels = blocked` and `kernels = plain` force a method whatever the
    /// sizes: the blocked kernel on products smaller than a register block,
    /// and on no depth at all, against the plain loops.
    fn forced<T: Float, const B: usize, const I: usize, const O: usize>() {
        let x: [[T; I]; B] = filled(0.2);
        let w: [[T; O]; I] = filled(-0.4);
        let d: [[T; O]; B] = filled(0.6);
        let b: [T; O] = core::array::from_fn(|c| T::from_f64(c as f64 * 0.5));
        let close = |got: &[T], want: &[T]| {
            for (&got, &want) in got.iter().zip(want) {
                let (got, want) = (got.to_f64(), want.to_f64());
                assert!(
                    (got - want).abs() <= 1e-5 * (1.0 + want.abs()),
                    "{B}×{I}×{O}: {got} vs {want}"
                );
            }
        };
        let (mut z_blocked, mut z_plain) = ([[T::ONE; O]; B], [[T::ZERO; O]; B]);
        blocked::affine(&x, &w, &b, &mut z_blocked);
        plain::affine(&x, &w, &b, &mut z_plain);
        close(z_blocked.as_flattened(), z_plain.as_flattened());
        for store in [Store::Overwrite, Store::Add] {
            let (mut g_blocked, mut g_plain) = ([[T::ONE; O]; I], [[T::ONE; O]; I]);
            blocked::weight_gradient(&x, &d, &mut g_blocked, store);
            plain::weight_gradient(&x, &d, &mut g_plain, store);
            close(g_blocked.as_flattened(), g_plain.as_flattened());
        }
        let (mut h_blocked, mut h_plain) = ([[T::ONE; I]; B], [[T::ZERO; I]; B]);
        blocked::transposed_product(&d, &w, &mut h_blocked);
        plain::transposed_product(&d, &w, &mut h_plain);
        close(h_blocked.as_flattened(), h_plain.as_flattened());
    }

    #[test]
    fn forced_blocked_kernel_matches_plain_loops_at_any_size() {
        forced::<f32, 3, 5, 4>();
        forced::<f64, 3, 5, 4>();
        forced::<f32, 7, 9, 3>();
        forced::<f64, 1, 1, 1>();
        forced::<f32, 8, 0, 6>();
        forced::<f64, 0, 4, 6>();
        forced::<f32, 13, 17, 45>();
        // Shared dimensions on either side of the shallow slices' depth
        // (32) and of the full slices' (128), where a product takes two.
        forced::<f32, 33, 32, 20>();
        forced::<f64, 7, 33, 17>();
        forced::<f32, 130, 129, 18>();
    }
}
