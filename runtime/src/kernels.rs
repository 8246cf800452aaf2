//! The matrix products of batch backpropagation, for sizes known at compile time.
//!
//! Matrices are row-major arrays `[[T; COLS]; ROWS]`; rows are samples. Each
//! product picks its method from its sizes, which are constants, so the
//! choice costs nothing at run time:
//!
//! - fewer than [`BLOCKED_MIN_PRODUCTS`] multiply-adds, or fewer output
//!   columns than a register block holds: plain loops whose innermost loop
//!   runs along a row of the output. With constant bounds the compiler
//!   unrolls them completely for tiny layers and vectorises them otherwise.
//! - larger products: a register-blocked kernel. For each slice of the
//!   shared dimension it copies the right operand's columns into
//!   contiguous panels and a few rows of the left operand into a small
//!   panel, then keeps a block of 6 × 16 (`f32`) outputs in registers while
//!   it runs down the slice, reading both panels as streams. Built with `std` on x86-64, it
//!   also has a copy compiled for AVX2 and FMA, chosen at run time when the
//!   CPU has them (`cargo build --release` targets plain x86-64).
//!
//! Every method is checked against a plain triple loop in the tests below.

use core::any::Any;

use crate::Float;

/// Products of at least this many multiply-adds (`rows · inner · columns`)
/// use the register-blocked kernel; smaller ones are plain loops.
pub const BLOCKED_MIN_PRODUCTS: usize = 8 * 1024;

/// Rows of the output kept in registers by the blocked kernel: 6 × 16
/// `f32` is 12 AVX registers of sums, leaving room for two rows of the
/// right operand and a broadcast value (6 × 8 and 12 SSE registers without AVX).
const BLOCK_ROWS: usize = 6;

/// Length of the slices of the shared dimension the blocked kernel runs
/// down: a 4-row panel of the left operand (2 KiB in `f32`) and the rows of
/// the right operand it meets stay in cache.
const PANEL_DEPTH: usize = 128;

/// Column blocks of the right operand the blocked kernel packs at a time:
/// 64 KiB on the stack with AVX (`PANEL_DEPTH` × 16 `f32` each), the
/// 128 columns of W3's and W4's products in one group.
const PACKED_BLOCKS: usize = 8;

/// Whether a product of these sizes takes the blocked kernel.
const fn use_blocked<T>(rows: usize, inner: usize, cols: usize) -> bool {
    rows * inner * cols >= BLOCKED_MIN_PRODUCTS && cols >= block_cols::<T>(false)
}

/// Columns of a register block: two vector registers' worth per row with
/// AVX (8 `f32` each), two SSE registers' worth otherwise.
const fn block_cols<T>(wide: bool) -> usize {
    let lanes = if wide { 32 } else { 16 } / size_of::<T>();
    2 * lanes
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
#[inline]
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
    let rows = match (store, d.split_first()) {
        (Store::Overwrite, Some((first, rest))) => {
            *g = *first;
            rest
        }
        (Store::Overwrite, None) => {
            *g = [T::ZERO; O];
            d.as_slice()
        }
        (Store::Add, _) => d.as_slice(),
    };
    for d_row in rows {
        for (g_value, &d_value) in g.iter_mut().zip(d_row) {
            *g_value += d_value;
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

/// The products as plain loops, whatever the sizes (`kernels = plain` in
/// `network!`). The innermost loop runs along a row of the output, so with
/// constant bounds the compiler unrolls tiny products completely and
/// vectorises the others.
pub mod plain {
    use super::{Matrix, Store, dot};
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

/// The products through the register-blocked kernel, whatever the sizes
/// (`kernels = blocked` in `network!`).
pub mod blocked {
    use super::{Matrix, Store, register};
    use crate::Float;

    /// [`affine`](super::affine), register-blocked.
    #[inline]
    pub fn affine<T: Float, const B: usize, const I: usize, const O: usize>(
        x: &Matrix<T, B, I>,
        w: &Matrix<T, I, O>,
        b: &[T; O],
        z: &mut Matrix<T, B, O>,
    ) {
        for z_row in z.iter_mut() {
            *z_row = *b;
        }
        register::product(&register::RowMajor(x), w, z, Store::Add);
    }

    /// [`weight_gradient`](super::weight_gradient), register-blocked.
    #[inline]
    pub fn weight_gradient<T: Float, const B: usize, const I: usize, const O: usize>(
        a: &Matrix<T, B, I>,
        d: &Matrix<T, B, O>,
        g: &mut Matrix<T, I, O>,
        store: Store,
    ) {
        register::product(&register::Transposed(a), d, g, store);
    }

    /// [`transposed_product`](super::transposed_product), register-blocked
    /// on a copy of `Wᵀ` made on the stack.
    #[inline]
    pub fn transposed_product<T: Float, const B: usize, const I: usize, const O: usize>(
        d: &Matrix<T, B, O>,
        w: &Matrix<T, I, O>,
        out: &mut Matrix<T, B, I>,
    ) {
        let mut w_t = [[T::ZERO; I]; O];
        for (i, w_row) in w.iter().enumerate() {
            for (w_t_row, &w_value) in w_t.iter_mut().zip(w_row) {
                w_t_row[i] = w_value;
            }
        }
        register::product(&register::RowMajor(d), &w_t, out, Store::Overwrite);
    }
}

/// `H = tanh(Z)`, element by element, in a form the compiler vectorises.
///
/// `f32` uses a rational approximation on the clamped input (Eigen's
/// `ptanh_float`: an odd polynomial of degree 13 over an even one of
/// degree 6), with no calls and no branches, so four or eight values go
/// through at once; it stays within a few units in the last place of
/// `libm`'s `tanhf` (checked below), and `tanh(±∞) = ±1`, `tanh(NaN) = NaN`.
/// `f64` calls `libm`, element by element.
///
/// ```
/// use backprop_runtime::kernels::tanh;
///
/// let mut h = [[0.0_f32; 3]];
/// tanh(&[[0.0, 0.5, -30.0]], &mut h);
/// assert_eq!(h[0][0], 0.0);
/// assert!((h[0][1] - 0.5_f32.tanh()).abs() < 1e-7);
/// assert_eq!(h[0][2], -1.0);
/// ```
#[inline]
pub fn tanh<T: Float, const B: usize, const N: usize>(
    z: &Matrix<T, B, N>,
    h: &mut Matrix<T, B, N>,
) {
    let values = h.as_flattened_mut().iter_mut().zip(z.as_flattened());
    if size_of::<T>() == 4 {
        for (h, &z) in values {
            *h = rational_tanh(z);
        }
    } else {
        for (h, &z) in values {
            *h = z.tanh();
        }
    }
}

/// Eigen's rational approximation of `tanh` for `f32`.
#[inline]
fn rational_tanh<T: Float>(z: T) -> T {
    // Beyond ±7.9 `tanh` rounds to ±1 in `f32`; comparisons keep NaN.
    let clamp = T::from_f64(7.905_311_107_635_498);
    let x = if z > clamp {
        clamp
    } else if z < -clamp {
        -clamp
    } else {
        z
    };
    let x2 = x * x;
    let c = T::from_f64;
    let mut p = x2 * c(-2.760_768_477_423_55e-16) + c(2.000_187_904_824_77e-13);
    p = p * x2 + c(-8.604_671_522_137_35e-11);
    p = p * x2 + c(5.122_297_090_371_14e-8);
    p = p * x2 + c(1.485_722_357_179_79e-5);
    p = p * x2 + c(6.372_619_288_754_36e-4);
    p = p * x2 + c(4.893_524_558_917_86e-3);
    p *= x;
    let mut q = x2 * c(1.198_258_394_667_02e-6) + c(1.185_347_056_866_54e-4);
    q = q * x2 + c(2.268_434_632_439e-3);
    q = q * x2 + c(4.893_525_185_543_85e-3);
    // Near 0, `tanh(x) = x` to `f32` precision and is exact for signed zeros.
    if x2 < c(1.6e-7) { x } else { p / q }
}

/// `H = σ(Z)`, element by element, in a form the compiler vectorises.
///
/// Each value is `n / (1 + e^{−|z|})` with `n = 1` for `z ≥ 0` and
/// `n = e^{−|z|}` below, as [`activation::sigmoid`](crate::activation::sigmoid)
/// computes it. For `f32`, `e^{−|z|}` comes from a polynomial with no calls
/// and no branches, within a few units in the last place of `libm`, down to
/// the subnormal values and 0 where `libm` underflows too; `f64` calls
/// `libm`.
///
/// ```
/// use backprop_runtime::kernels::sigmoid;
///
/// let mut h = [[0.0_f32; 3]];
/// sigmoid(&[[0.0, 2.0, -2.0]], &mut h);
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
) {
    // `T` is `f32` or `f64`; the test is on types, decided at compile time.
    let z_any: &dyn Any = z;
    if let Some(z) = z_any.downcast_ref::<Matrix<f32, B, N>>() {
        let h_any: &mut dyn Any = h;
        if let Some(h) = h_any.downcast_mut::<Matrix<f32, B, N>>() {
            // Four values at a time, the width of the baseline CPU's vector
            // registers; the last few padded to four, so that a layer of 3
            // goes through the polynomial once, not once per value.
            let (z_chunks, z_rest) = z.as_flattened().as_chunks::<4>();
            let (h_chunks, h_rest) = h.as_flattened_mut().as_chunks_mut::<4>();
            for (h, z) in h_chunks.iter_mut().zip(z_chunks) {
                sigmoid_f32x4(z, h);
            }
            if !z_rest.is_empty() {
                let (mut z, mut h) = ([z_rest[0]; 4], [0.0; 4]);
                z[..z_rest.len()].copy_from_slice(z_rest);
                sigmoid_f32x4(&z, &mut h);
                h_rest.copy_from_slice(&h[..h_rest.len()]);
            }
            return;
        }
    }
    for (h, &z) in h.as_flattened_mut().iter_mut().zip(z.as_flattened()) {
        *h = crate::activation::sigmoid(z);
    }
}

/// `eˣ` in place for every entry of `x`, all of which are `≤ 0` (or NaN):
/// in `f32` through [`exp_nonpositive`] four values at a time, the last few
/// padded to four, so that the loop vectorises; in `f64` through `libm`.
#[inline]
pub(crate) fn exp_nonpositive_in_place<T: Float, const B: usize, const N: usize>(
    x: &mut Matrix<T, B, N>,
) {
    let x_any: &mut dyn Any = x;
    if let Some(x) = x_any.downcast_mut::<Matrix<f32, B, N>>() {
        let (chunks, rest) = x.as_flattened_mut().as_chunks_mut::<4>();
        for chunk in chunks {
            for value in chunk {
                *value = exp_nonpositive(*value);
            }
        }
        if !rest.is_empty() {
            let mut padded = [0.0; 4];
            padded[..rest.len()].copy_from_slice(rest);
            for value in &mut padded {
                *value = exp_nonpositive(*value);
            }
            rest.copy_from_slice(&padded[..rest.len()]);
        }
        return;
    }
    for value in x.as_flattened_mut() {
        *value = value.exp();
    }
}

/// `σ(z)` of four `f32` values through [`exp_nonpositive`], with no calls
/// and no branches, in one vector register.
#[inline(always)]
#[allow(clippy::inline_always)]
fn sigmoid_f32x4(z: &[f32; 4], h: &mut [f32; 4]) {
    for (h, &z) in h.iter_mut().zip(z) {
        let e = exp_nonpositive(-f32::from_bits(z.to_bits() & 0x7fff_ffff));
        let numerator = if z >= 0.0 { 1.0 } else { e };
        *h = numerator / (1.0 + e);
    }
}

/// `eˣ` for `x ≤ 0` in `f32`, reduced as Cephes' `expf` does: `x = n·ln 2 + r`
/// with `|r| ≤ ln 2 / 2`, a degree-5 polynomial for `eʳ` (coefficients
/// fitted by `tools/exp_coefficients.py` for the least largest relative
/// error on that interval, 1.05e-7), and `2ⁿ` applied as two normal powers
/// of two built from their bits, one after the other, so that subnormal
/// results round once, as `libm`'s do.
/// Below `−105` the result is 0, as `eˣ` rounds to 0 there. Every step
/// is on the one chain of dependent operations a few values wait for, so
/// the order of the operations keeps it short.
#[inline]
fn exp_nonpositive(x: f32) -> f32 {
    /// 1.5 · 2²³: sums with it have a unit in the last place of 1.
    const ROUND: f32 = 12_582_912.0;
    // `n = round(x / ln 2)` without a float-to-int conversion (Rust's
    // saturates, which keeps the compiler from vectorising a few values at
    // once): adding `ROUND` rounds to an integer, which then sits in the
    // low bits of the sum.
    let rounded = x * core::f32::consts::LOG2_E + ROUND;
    #[allow(clippy::cast_possible_wrap)]
    let n = (rounded.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
    let n_float = rounded - ROUND;
    // `ln 2` in two parts, so that `r` keeps its low bits.
    let r = x - n_float * 0.693_359_4 + n_float * 2.121_944_4e-4;
    // `1 + r + r²·(c₂ + c₃r + (c₄ + c₅r)·r²)`, in pairs of terms (Estrin's
    // scheme) rather than one term after another (Horner's): its chain of
    // dependent operations, which is all the time a few values take, is
    // half as long.
    let r2 = r * r;
    let low = 0.166_671_14 * r + 0.499_992_3;
    let high = 8.312_533e-3 * r + 4.189_013_3e-2;
    let p = low + r2 * high;
    let e_r = p * r2 + (r + 1.0);
    // For `n ≥ −152` each half is at least `2⁻⁷⁶`, a normal number. `eʳ`
    // is scaled by one, then the other, so that only the last product
    // rounds: `2ⁿ` itself is not a number below `2⁻¹⁴⁹`.
    let half = n >> 1;
    #[allow(clippy::cast_sign_loss)]
    let power = |k: i32| f32::from_bits((k.wrapping_add(127) as u32) << 23);
    let e = e_r * power(half) * power(n.wrapping_sub(half));
    // Below −105, where `eˣ` rounds to 0, the steps above make no sense
    // (`r` is far from 0, `n` out of range, and `−∞` gives NaN); the value
    // is replaced at the end rather than the input clamped at the start,
    // which would put one more operation on the chain. The comparison
    // leaves NaN as it is.
    if x < -105.0 { 0.0 } else { e }
}

/// Largest `Wᵀ` that [`transposed_product`] copies to the stack.
const TRANSPOSED_COPY_BYTES: usize = 64 * 1024;

/// The register-blocked product.
///
/// Its functions are `#[inline(always)]` so that they are compiled into
/// the AVX2 and FMA copy too: a function compiled for the baseline CPU would
/// not use them.
#[allow(clippy::inline_always)]
mod register {
    use super::{BLOCK_ROWS, PACKED_BLOCKS, PANEL_DEPTH, Store, block_cols};
    use crate::Float;

    /// The left operand `A` of `C = A·B` or `C += A·B`, read a panel at a time.
    pub(super) trait Left<T, const M: usize, const K: usize> {
        /// `panel[k - k0] = [A[i][k], A[i + 1][k], …]` for `R` rows from `i`.
        fn pack<const R: usize>(&self, i: usize, k0: usize, panel: &mut [[T; R]]);
    }

    /// `A` as it is stored: `M × K`, row-major.
    pub(super) struct RowMajor<'a, T, const M: usize, const K: usize>(pub(super) &'a [[T; K]; M]);

    /// `A = Hᵀ` for an `H` stored `K × M`, row-major.
    pub(super) struct Transposed<'a, T, const M: usize, const K: usize>(pub(super) &'a [[T; M]; K]);

    impl<T: Float, const M: usize, const K: usize> Left<T, M, K> for RowMajor<'_, T, M, K> {
        #[inline(always)]
        fn pack<const R: usize>(&self, i: usize, k0: usize, panel: &mut [[T; R]]) {
            for (r, row) in self.0[i..i + R].iter().enumerate() {
                for (entry, &value) in panel.iter_mut().zip(&row[k0..]) {
                    entry[r] = value;
                }
            }
        }
    }

    impl<T: Float, const M: usize, const K: usize> Left<T, M, K> for Transposed<'_, T, M, K> {
        #[inline(always)]
        fn pack<const R: usize>(&self, i: usize, k0: usize, panel: &mut [[T; R]]) {
            for (entry, row) in panel.iter_mut().zip(&self.0[k0..]) {
                entry.copy_from_slice(&row[i..i + R]);
            }
        }
    }

    /// `C = A·B` or `C += A·B` as `store` says: `A` is `M × K`, `B` is
    /// `K × N`, `C` is `M × N`.
    #[inline]
    pub(super) fn product<
        T: Float,
        L: Left<T, M, K>,
        const M: usize,
        const K: usize,
        const N: usize,
    >(
        a: &L,
        b: &[[T; N]; K],
        c: &mut [[T; N]; M],
        store: Store,
    ) {
        if K == 0 {
            if store == Store::Overwrite {
                *c = [[T::ZERO; N]; M];
            }
            return;
        }
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        if wide::available() {
            wide::product(a, b, c, store);
            return;
        }
        if const { size_of::<T>() == 4 } {
            rows::<
                T,
                L,
                { block_cols::<f32>(false) },
                { block_cols::<f32>(false) / 2 },
                false,
                M,
                K,
                N,
            >(a, b, c, store);
        } else {
            rows::<
                T,
                L,
                { block_cols::<f64>(false) },
                { block_cols::<f64>(false) / 2 },
                false,
                M,
                K,
                N,
            >(a, b, c, store);
        }
    }

    /// Every row of `C`: blocks of [`BLOCK_ROWS`], then smaller ones.
    ///
    /// The depth slices run outermost. In each, the columns of `B` that
    /// fill whole register blocks are first copied, up to
    /// [`PACKED_BLOCKS`] blocks at a time, into contiguous panels on the
    /// stack (`PANEL_DEPTH × NR` each, 8 KiB for `f32` with AVX), as GEMM
    /// libraries do: the kernel then reads `B` as one stream instead of
    /// short pieces of rows a whole row apart, which share a few cache
    /// sets and evict each other. Every block of rows of `C` then meets the
    /// packed panels while they are in cache.
    #[inline(always)]
    pub(super) fn rows<
        T: Float,
        L: Left<T, M, K>,
        const NR: usize,
        const HALF: usize,
        const FMA: bool,
        const M: usize,
        const K: usize,
        const N: usize,
    >(
        a: &L,
        b: &[[T; N]; K],
        c: &mut [[T; N]; M],
        store: Store,
    ) {
        // The buffer of packed blocks no larger than the product needs,
        // since it is zeroed on every call. The conditions are `const`
        // blocks, so only the branch taken is compiled (as for the choice
        // of kernel and of block width elsewhere): compile time goes to the
        // products a network has, not to copies it never runs.
        if const { N / NR >= PACKED_BLOCKS } {
            grouped_rows::<T, L, NR, HALF, FMA, PACKED_BLOCKS, M, K, N>(a, b, c, store);
        } else if const { N / NR >= 4 } {
            grouped_rows::<T, L, NR, HALF, FMA, 4, M, K, N>(a, b, c, store);
        } else if const { N / NR >= 2 } {
            grouped_rows::<T, L, NR, HALF, FMA, 2, M, K, N>(a, b, c, store);
        } else if const { N / NR == 1 } {
            grouped_rows::<T, L, NR, HALF, FMA, 1, M, K, N>(a, b, c, store);
        } else {
            grouped_rows::<T, L, NR, HALF, FMA, 0, M, K, N>(a, b, c, store);
        }
    }

    /// [`rows`] packing up to `G` column blocks at a time.
    #[inline(always)]
    fn grouped_rows<
        T: Float,
        L: Left<T, M, K>,
        const NR: usize,
        const HALF: usize,
        const FMA: bool,
        const G: usize,
        const M: usize,
        const K: usize,
        const N: usize,
    >(
        a: &L,
        b: &[[T; N]; K],
        c: &mut [[T; N]; M],
        store: Store,
    ) {
        let mut packed = [[[T::ZERO; NR]; PANEL_DEPTH]; G];
        let mut half = [[T::ZERO; HALF]; PANEL_DEPTH];
        // Panels of the left operand for each height of row block, made
        // once rather than once per block.
        let mut panel_6 = [[T::ZERO; BLOCK_ROWS]; PANEL_DEPTH];
        let mut panel_4 = [[T::ZERO; 4]; PANEL_DEPTH];
        let mut panel_2 = [[T::ZERO; 2]; PANEL_DEPTH];
        let mut panel_1 = [[T::ZERO; 1]; PANEL_DEPTH];
        let full = N / NR;
        let mut k0 = 0;
        while k0 < K {
            let depth = PANEL_DEPTH.min(K - k0);
            let b_rows = &b[k0..k0 + depth];
            // Groups of packed column blocks; the last group (the only one
            // when `N < NR`) also does the columns after the full blocks.
            let mut first = 0;
            loop {
                let count = G.min(full - first);
                for (block, panel) in packed[..count].iter_mut().enumerate() {
                    for (entry, b_row) in panel.iter_mut().zip(b_rows) {
                        *entry = b_row.as_chunks::<NR>().0[first + block];
                    }
                }
                let rest = first + count == full;
                if rest && N - full * NR >= HALF {
                    for (entry, b_row) in half.iter_mut().zip(b_rows) {
                        *entry = b_row.as_chunks::<HALF>().0[full * NR / HALF];
                    }
                }
                let group = Group {
                    packed: &packed[..count],
                    half: &half,
                    first,
                    rest,
                    // The first slice writes `C` when overwriting; the
                    // others add to it.
                    overwrite: k0 == 0 && store == Store::Overwrite,
                };
                let mut i = 0;
                while i + BLOCK_ROWS <= M {
                    row_block::<T, L, BLOCK_ROWS, NR, HALF, FMA, M, K, N>(
                        a,
                        b,
                        c,
                        i,
                        k0,
                        &group,
                        &mut panel_6,
                    );
                    i += BLOCK_ROWS;
                }
                // The last rows in blocks of 4, 2 and 1, as many as `M`
                // leaves (known at compile time, so the heights not needed
                // are not compiled).
                if const { M % BLOCK_ROWS >= 4 } {
                    row_block::<T, L, 4, NR, HALF, FMA, M, K, N>(
                        a,
                        b,
                        c,
                        i,
                        k0,
                        &group,
                        &mut panel_4,
                    );
                    i += 4;
                }
                if const { M % BLOCK_ROWS % 4 >= 2 } {
                    row_block::<T, L, 2, NR, HALF, FMA, M, K, N>(
                        a,
                        b,
                        c,
                        i,
                        k0,
                        &group,
                        &mut panel_2,
                    );
                    i += 2;
                }
                if const { M % 2 == 1 } {
                    row_block::<T, L, 1, NR, HALF, FMA, M, K, N>(
                        a,
                        b,
                        c,
                        i,
                        k0,
                        &group,
                        &mut panel_1,
                    );
                }
                first += count;
                if group.rest {
                    break;
                }
            }
            k0 += PANEL_DEPTH;
        }
    }

    /// Column blocks of `B` packed for one depth slice: `packed[p]` holds
    /// block `first + p`; `rest` says whether the columns after the last
    /// full block are to be done with them, the first half block of those
    /// from `half`; `overwrite` whether the sums replace `C`'s entries
    /// rather than add to them.
    struct Group<'a, T, const NR: usize, const HALF: usize> {
        packed: &'a [[[T; NR]; PANEL_DEPTH]],
        half: &'a [[T; HALF]; PANEL_DEPTH],
        first: usize,
        rest: bool,
        overwrite: bool,
    }

    /// Rows `i..i + R` of `C`, over the depth slice from `k0`, for the
    /// columns of one group.
    #[inline(always)]
    fn row_block<
        T: Float,
        L: Left<T, M, K>,
        const R: usize,
        const NR: usize,
        const HALF: usize,
        const FMA: bool,
        const M: usize,
        const K: usize,
        const N: usize,
    >(
        a: &L,
        b: &[[T; N]; K],
        c: &mut [[T; N]; M],
        i: usize,
        k0: usize,
        group: &Group<'_, T, NR, HALF>,
        panel: &mut [[T; R]; PANEL_DEPTH],
    ) {
        let c_rows = &mut c[i..i + R];
        let depth = PANEL_DEPTH.min(K - k0);
        let panel = &mut panel[..depth];
        a.pack(i, k0, panel);
        // Column blocks held in registers, then half a block, then the
        // last few columns.
        for (p, b_panel) in group.packed.iter().enumerate() {
            column_block::<T, R, NR, FMA, N>(
                panel,
                &b_panel[..depth],
                c_rows,
                group.first + p,
                group.overwrite,
            );
        }
        if !group.rest {
            return;
        }
        let b_rows = &b[k0..k0 + depth];
        let mut done = N / NR * NR;
        if N - done >= HALF {
            column_block::<T, R, HALF, FMA, N>(
                panel,
                &group.half[..depth],
                c_rows,
                done / HALF,
                group.overwrite,
            );
            done += HALF;
        }
        if done < N {
            if group.overwrite {
                for c_row in c_rows.iter_mut() {
                    c_row[done..].fill(T::ZERO);
                }
            }
            for (a_k, b_row) in panel.iter().zip(b_rows) {
                for (c_row, &a_value) in c_rows.iter_mut().zip(a_k) {
                    for (out, &b_value) in c_row[done..].iter_mut().zip(&b_row[done..]) {
                        *out += a_value * b_value;
                    }
                }
            }
        }
    }

    /// Columns `W·block .. W·(block + 1)` of `R` rows of `C`, over one
    /// depth slice (`b_panel[k]` is row `k` of those columns of `B`), in
    /// `R × W` registers, then written to `C` or added to it.
    #[inline(always)]
    fn column_block<T: Float, const R: usize, const W: usize, const FMA: bool, const N: usize>(
        panel: &[[T; R]],
        b_panel: &[[T; W]],
        c_rows: &mut [[T; N]],
        block: usize,
        overwrite: bool,
    ) {
        let mut acc = [[T::ZERO; W]; R];
        for (a_k, b_k) in panel.iter().zip(b_panel) {
            for (acc_row, &a_value) in acc.iter_mut().zip(a_k) {
                for (sum, &b_value) in acc_row.iter_mut().zip(b_k) {
                    *sum = if FMA {
                        a_value.mul_add(b_value, *sum)
                    } else {
                        *sum + a_value * b_value
                    };
                }
            }
        }
        let j = block * W;
        for (c_row, acc_row) in c_rows.iter_mut().zip(&acc) {
            let out = &mut c_row[j..j + W];
            if overwrite {
                out.copy_from_slice(acc_row);
            } else {
                for (out, &sum) in out.iter_mut().zip(acc_row) {
                    *out += sum;
                }
            }
        }
    }

    /// The kernel compiled for AVX2 and FMA, for CPUs that have them.
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    #[allow(unsafe_code)]
    mod wide {
        use super::{Left, Store, block_cols, rows};
        use crate::Float;

        /// Whether this CPU has AVX2 and FMA (`std` caches the answer).
        #[inline]
        pub(super) fn available() -> bool {
            std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
        }

        /// [`rows`](super::rows) with 8-lane registers and fused multiply-adds.
        #[inline]
        pub(super) fn product<
            T: Float,
            L: Left<T, M, K>,
            const M: usize,
            const K: usize,
            const N: usize,
        >(
            a: &L,
            b: &[[T; N]; K],
            c: &mut [[T; N]; M],
            store: Store,
        ) {
            debug_assert!(available());
            // SAFETY: `product` is called only after `available()` has
            // found AVX2 and FMA on this CPU, the one precondition of calling
            // a function compiled for them. Everything else it does is safe
            // code with checked indexing.
            unsafe { avx2_fma(a, b, c, store) }
        }

        #[target_feature(enable = "avx2,fma")]
        fn avx2_fma<T: Float, L: Left<T, M, K>, const M: usize, const K: usize, const N: usize>(
            a: &L,
            b: &[[T; N]; K],
            c: &mut [[T; N]; M],
            store: Store,
        ) {
            if const { size_of::<T>() == 4 } {
                rows::<
                    T,
                    L,
                    { block_cols::<f32>(true) },
                    { block_cols::<f32>(true) / 2 },
                    true,
                    M,
                    K,
                    N,
                >(a, b, c, store);
            } else {
                rows::<
                    T,
                    L,
                    { block_cols::<f64>(true) },
                    { block_cols::<f64>(true) / 2 },
                    true,
                    M,
                    K,
                    N,
                >(a, b, c, store);
            }
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
    fn vectorised_tanh_is_within_a_few_ulps_of_libm() {
        let mut worst = 0.0_f64;
        let mut z = -9.0_f32;
        while z <= 9.0 {
            let mut h = [[0.0_f32; 1]];
            tanh(&[[z]], &mut h);
            let want = libm::tanhf(z);
            let ulp = f64::from(want.abs().max(f32::MIN_POSITIVE)) * f64::from(f32::EPSILON);
            worst = worst.max(f64::from((h[0][0] - want).abs()) / ulp);
            z += 0.000_37;
        }
        assert!(worst <= 4.0, "{worst} ulps");
        let mut h = [[0.0_f32; 5]];
        tanh(
            &[[f32::INFINITY, f32::NEG_INFINITY, f32::NAN, 1e-30, -0.0]],
            &mut h,
        );
        assert_eq!(&h[0][..2], &[1.0, -1.0]);
        assert!(h[0][2].is_nan());
        assert_eq!(h[0][3].to_bits(), 1e-30_f32.to_bits());
        assert!(h[0][4] == 0.0 && h[0][4].is_sign_negative());
    }

    #[test]
    fn portable_register_kernel_matches_plain_loops() {
        // The copy without AVX2 and FMA, which CPUs that have them never run.
        let x: Box<[[f32; 140]; 9]> = Box::new(filled(0.3));
        let w: Box<[[f32; 22]; 140]> = Box::new(filled(-0.2));
        let mut want = Box::new([[0.0_f32; 22]; 9]);
        plain::affine(&x, &w, &[0.0; 22], &mut want);
        // Over a non-zero start, so that every entry must be written.
        let mut got = Box::new([[7.0_f32; 22]; 9]);
        register::rows::<f32, _, 8, 4, false, 9, 140, 22>(
            &register::RowMajor(&x),
            &w,
            &mut got,
            Store::Overwrite,
        );
        for (&got, &want) in got.as_flattened().iter().zip(want.as_flattened()) {
            assert!(
                (got - want).abs() <= 1e-4 * (1.0 + want.abs()),
                "{got} vs {want}"
            );
        }
    }

    #[test]
    fn vectorised_exp_is_within_a_few_ulps_of_libm() {
        let mut worst = 0.0_f64;
        let mut x = -110.0_f32;
        while x <= 0.0 {
            // Three values: one chunk of four is padded.
            let mut e = [[x, x * 0.5, x * 0.25]];
            exp_nonpositive_in_place(&mut e);
            for (&got, scale) in e[0].iter().zip([1.0_f32, 0.5, 0.25]) {
                let want = (x * scale).exp();
                let ulp = f64::from(want.abs().max(f32::MIN_POSITIVE)) * f64::from(f32::EPSILON);
                worst = worst.max(f64::from((got - want).abs()) / ulp);
            }
            x += 0.001_3;
        }
        assert!(worst <= 4.0, "{worst} ulps");
        // Where `eˣ` is the smallest subnormal, it is not rounded to 0 (nor
        // the other way round) but at the odd tie.
        let mut disagreements = 0;
        let mut x = -104.2_f32;
        while x <= -103.4 {
            let mut e = [[x]];
            exp_nonpositive_in_place(&mut e);
            disagreements += usize::from((e[0][0] == 0.0) != (x.exp() == 0.0));
            x += 1e-5;
        }
        assert!(
            disagreements <= 2,
            "{disagreements} inputs underflow differently"
        );
        let mut e = [[f32::NEG_INFINITY, f32::NAN, -0.0, 0.0, -1e4]];
        exp_nonpositive_in_place(&mut e);
        assert_eq!(e[0][0].to_bits(), 0.0_f32.to_bits());
        assert!(e[0][1].is_nan());
        assert_eq!(e[0][2].to_bits(), 1.0_f32.to_bits());
        assert_eq!(e[0][3].to_bits(), 1.0_f32.to_bits());
        assert_eq!(e[0][4].to_bits(), 0.0_f32.to_bits());
        let mut e64 = [[-1.5_f64]];
        exp_nonpositive_in_place(&mut e64);
        assert_eq!(e64[0][0].to_bits(), (-1.5_f64).exp().to_bits());
    }

    #[test]
    fn vectorised_sigmoid_is_within_a_few_ulps_of_libm() {
        let mut worst = 0.0_f64;
        let mut z = -110.0_f32;
        while z <= 80.0 {
            let mut h = [[0.0_f32; 1]];
            sigmoid(&[[z]], &mut h);
            let want = crate::activation::sigmoid(z);
            // Subnormal values have fewer bits; count their ulps as the
            // smallest normal number's.
            let ulp = f64::from(want.abs().max(f32::MIN_POSITIVE)) * f64::from(f32::EPSILON);
            worst = worst.max(f64::from((h[0][0] - want).abs()) / ulp);
            z += 0.001_3;
        }
        assert!(worst <= 4.0, "{worst} ulps");
        let mut h = [[0.0_f32; 5]];
        sigmoid(
            &[[f32::INFINITY, f32::NEG_INFINITY, f32::NAN, -0.0, -1e4]],
            &mut h,
        );
        assert_eq!(h[0][0].to_bits(), 1.0_f32.to_bits());
        assert_eq!(h[0][1].to_bits(), 0.0_f32.to_bits());
        assert_eq!(h[0][4].to_bits(), 0.0_f32.to_bits());
        assert!(h[0][2].is_nan());
        assert_eq!(h[0][3].to_bits(), 0.5_f32.to_bits());
        let mut h64 = [[0.0_f64; 2]];
        sigmoid(&[[1.5, -1.5]], &mut h64);
        assert_eq!(
            h64[0][0].to_bits(),
            crate::activation::sigmoid(1.5_f64).to_bits()
        );
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
}
