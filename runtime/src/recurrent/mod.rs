//! Recurrent layers: [`lstm`] and [`gru`], as `torch.nn.LSTM` and
//! `torch.nn.GRU` define them, streaming one sample at a time or run over
//! sequences and trained by backpropagation through time.
//!
//! # Parameters
//!
//! A layer of `G` gates (4 for the LSTM, 3 for the GRU), `I` inputs and
//! `H` hidden units has PyTorch's four tensors, in PyTorch's order, the
//! two weights transposed as the dense layers store theirs (`inputs ×
//! outputs`):
//!
//! | name | PyTorch shape | here | flat |
//! | --- | --- | --- | --- |
//! | `weight_ih` | `[G·H, I]` | `[[[T; H]; G]; I]` | `[I][G·H]` |
//! | `weight_hh` | `[G·H, H]` | `[[[T; H]; G]; H]` | `[H][G·H]` |
//! | `bias_ih` | `[G·H]` | `[[T; H]; G]` | `[G·H]` |
//! | `bias_hh` | `[G·H]` | `[[T; H]; G]` | `[G·H]` |
//!
//! Row `k` of `weight_ih` holds the weights from input `k` to every
//! gate's every unit, the gates in PyTorch's order: `weight_ih[k][g][j]`
//! is PyTorch's `weight_ih_l0[g·H + j][k]`, so our flat `[I][G·H]` block
//! is the transpose of PyTorch's tensor ([`weight_from_pytorch`] and
//! [`weight_to_pytorch`] convert). A step's gate pre-activations are then
//! `b + Σₖ vₖ·rowₖ`, multiply-adds along contiguous rows of `G·H` values
//! that vectorise, rather than `G·H` dot products of short rows. The four
//! follow each other in one flat run of [`RecurrentParams::LEN`] values
//! (`G·H·(I + H + 2)`: [`lstm_params`], [`gru_params`]), so a layer's
//! parameters sit in a generated network's flat `[T; PARAMS]` array and a
//! PyTorch state dict (`weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`,
//! `bias_hh_l0`, then `…_l1` for a second layer) maps onto it tensor by
//! tensor, the weights transposed;
//! [`RecurrentParams::from_flat`] and [`RecurrentParamsMut::from_flat`]
//! are the views, as [`params`](crate::params) has them for dense layers.
//!
//! # Three ways to run a layer
//!
//! - **Streaming**: [`lstm::step`] and [`gru::step`] take one input row
//!   and the layer's state (`LstmState`, `GruState`; `Default` is the
//!   zero state, PyTorch's default `h₀`, `c₀`), update the state and
//!   return `h`. [`lstm::step_batch`] and [`gru::step_batch`] do the same
//!   for `B` independent streams. No allocation, no panics.
//! - **Sequences, for training**: [`lstm::forward`] and [`gru::forward`]
//!   run a batch of `B` streams over `T` steps (`T` known at run time,
//!   time-major: `xs[t][b]` is stream `b`'s input at step `t`), write every
//!   `hₜ`, leave the final state in the state argument, and keep in a
//!   caller-provided tape (one cache per step and stream) what the backward
//!   pass needs. Buffers are slices of length `T`; nothing is allocated.
//! - **Backpropagation through time**: [`lstm::backward`] and
//!   [`gru::backward`] take `∂L/∂hₜ` for every step (zero where a step has
//!   no loss, so a loss on every step or on the last alone both work) and
//!   add `∂L/∂θ` into a gradient view, write `∂L/∂xₜ` for every step, and
//!   turn the gradient flowing into the final state into `∂L/∂(h₀, c₀)`.
//!
//! # Truncated BPTT and stacking
//!
//! The state after a window is an ordinary value: the next window starts
//! from it, and its backward pass starts from a zero gradient of the final
//! state ([`LstmState::ZERO`](lstm::LstmState::ZERO)), so no gradient
//! crosses the boundary. Handing a window's `∂L/∂(h₀, c₀)` to the
//! previous window's backward pass instead gives the full gradient of
//! both. A second layer runs over the first layer's outputs, and its
//! `∂L/∂xₜ` is the first layer's `∂L/∂hₜ`.
//!
//! ```
//! use backprop_runtime::recurrent::{gru, gru_params, GruParams};
//!
//! const PARAMS: usize = gru_params(1, 8);
//! let flat = [0.1_f32; PARAMS];
//! let params = GruParams::<f32, 1, 8>::from_flat(&flat);
//! let mut state = gru::GruState::default();
//! for x in [0.5, -0.25, 1.0] {
//!     let h = gru::step(&params, &mut state, &[x]);
//!     assert_eq!(h, state.h);
//! }
//! ```

pub mod gru;
pub mod lstm;

use core::fmt;

use crate::Float;
// The gradient of an input is a dot product of its weight row with the
// gates' gradients: the plain kernels' own.
use crate::kernels::plain::dot;

pub use gru::{GruCache, GruState};
pub use lstm::{LstmCache, LstmState};

/// The parameters of a recurrent layer of `G` gates, `I` inputs and `H`
/// hidden units: PyTorch's tensors, the weights transposed (see the
/// [module](self)).
#[derive(Clone, Copy, Debug)]
pub struct RecurrentParams<'a, T, const G: usize, const I: usize, const H: usize> {
    /// `W_ih`, PyTorch's `[G·H, I]` transposed: `weight_ih[k][g][j]` is
    /// the weight from input `k` to gate `g` of unit `j`.
    pub weight_ih: &'a [[[T; H]; G]; I],
    /// `W_hh`, PyTorch's `[G·H, H]` transposed: `weight_hh[k][g][j]` is
    /// the weight from `h[k]` to gate `g` of unit `j`.
    pub weight_hh: &'a [[[T; H]; G]; H],
    /// `b_ih`, PyTorch's `[G·H]`.
    pub bias_ih: &'a [[T; H]; G],
    /// `b_hh`, PyTorch's `[G·H]`.
    pub bias_hh: &'a [[T; H]; G],
}

/// [`RecurrentParams`], mutable: the view of a gradient, or of parameters
/// being set.
#[derive(Debug)]
pub struct RecurrentParamsMut<'a, T, const G: usize, const I: usize, const H: usize> {
    /// `W_ih` (or its gradient).
    pub weight_ih: &'a mut [[[T; H]; G]; I],
    /// `W_hh` (or its gradient).
    pub weight_hh: &'a mut [[[T; H]; G]; H],
    /// `b_ih` (or its gradient).
    pub bias_ih: &'a mut [[T; H]; G],
    /// `b_hh` (or its gradient).
    pub bias_hh: &'a mut [[T; H]; G],
}

/// An LSTM layer's parameters: gates `i, f, g, o`.
pub type LstmParams<'a, T, const I: usize, const H: usize> = RecurrentParams<'a, T, 4, I, H>;
/// An LSTM layer's gradient (or parameters being set).
pub type LstmParamsMut<'a, T, const I: usize, const H: usize> = RecurrentParamsMut<'a, T, 4, I, H>;
/// A GRU layer's parameters: gates `r, z, n`.
pub type GruParams<'a, T, const I: usize, const H: usize> = RecurrentParams<'a, T, 3, I, H>;
/// A GRU layer's gradient (or parameters being set).
pub type GruParamsMut<'a, T, const I: usize, const H: usize> = RecurrentParamsMut<'a, T, 3, I, H>;

/// The number of parameters of a layer of `gates` gates: `G·H·(I + H + 2)`.
#[must_use]
pub const fn recurrent_params(gates: usize, inputs: usize, hidden: usize) -> usize {
    gates * hidden * (inputs + hidden + 2)
}

/// The number of parameters of an LSTM layer, `4·H·(I + H + 2)`:
/// `lstm_params(1, 32)` is 4,480.
#[must_use]
pub const fn lstm_params(inputs: usize, hidden: usize) -> usize {
    recurrent_params(4, inputs, hidden)
}

/// The number of parameters of a GRU layer, `3·H·(I + H + 2)`:
/// `gru_params(1, 8)` is 264.
#[must_use]
pub const fn gru_params(inputs: usize, hidden: usize) -> usize {
    recurrent_params(3, inputs, hidden)
}

impl<'a, T, const G: usize, const I: usize, const H: usize> RecurrentParams<'a, T, G, I, H> {
    /// The number of values of the layer, `G·H·(I + H + 2)`.
    pub const LEN: usize = recurrent_params(G, I, H);

    /// The views of a flat run of exactly [`LEN`](Self::LEN) values:
    /// `weight_ih` (`[I][G·H]`), `weight_hh` (`[H][G·H]`), `bias_ih`,
    /// `bias_hh`, each row-major.
    ///
    /// # Panics
    ///
    /// If `flat.len() != LEN`, or `I` or `H` is 0. The sizes are constants
    /// at every call, so the checks compile away.
    #[inline]
    #[must_use]
    pub fn from_flat(flat: &'a [T]) -> Self {
        if flat.len() != Self::LEN {
            wrong_length();
        }
        let (weight_ih, rest) = flat.split_at(I * G * H);
        let (weight_hh, rest) = rest.split_at(G * H * H);
        let (bias_ih, bias_hh) = rest.split_at(G * H);
        Self {
            weight_ih: cube(weight_ih),
            weight_hh: cube(weight_hh),
            bias_ih: square(bias_ih),
            bias_hh: square(bias_hh),
        }
    }
}

impl<'a, T, const G: usize, const I: usize, const H: usize> RecurrentParamsMut<'a, T, G, I, H> {
    /// The number of values of the layer, `G·H·(I + H + 2)`.
    pub const LEN: usize = recurrent_params(G, I, H);

    /// The mutable views of a flat run of exactly [`LEN`](Self::LEN)
    /// values, as [`RecurrentParams::from_flat`].
    ///
    /// # Panics
    ///
    /// If `flat.len() != LEN`, or `I` or `H` is 0.
    #[inline]
    #[must_use]
    pub fn from_flat(flat: &'a mut [T]) -> Self {
        if flat.len() != Self::LEN {
            wrong_length();
        }
        let (weight_ih, rest) = flat.split_at_mut(I * G * H);
        let (weight_hh, rest) = rest.split_at_mut(G * H * H);
        let (bias_ih, bias_hh) = rest.split_at_mut(G * H);
        Self {
            weight_ih: cube_mut(weight_ih),
            weight_hh: cube_mut(weight_hh),
            bias_ih: square_mut(bias_ih),
            bias_hh: square_mut(bias_hh),
        }
    }

    /// The same values, read-only.
    #[inline]
    #[must_use]
    pub fn as_params(&self) -> RecurrentParams<'_, T, G, I, H> {
        RecurrentParams {
            weight_ih: self.weight_ih,
            weight_hh: self.weight_hh,
            bias_ih: self.bias_ih,
            bias_hh: self.bias_hh,
        }
    }
}

fn square<T, const G: usize, const C: usize>(flat: &[T]) -> &[[T; C]; G] {
    match flat.as_chunks::<C>() {
        (rows, []) => rows.try_into().unwrap_or_else(|_| wrong_length()),
        _ => wrong_length(),
    }
}

fn square_mut<T, const G: usize, const C: usize>(flat: &mut [T]) -> &mut [[T; C]; G] {
    match flat.as_chunks_mut::<C>() {
        (rows, []) => rows.try_into().unwrap_or_else(|_| wrong_length()),
        _ => wrong_length(),
    }
}

fn cube<T, const G: usize, const R: usize, const C: usize>(flat: &[T]) -> &[[[T; C]; R]; G] {
    match flat.as_chunks::<C>() {
        (rows, []) => square(rows),
        _ => wrong_length(),
    }
}

fn cube_mut<T, const G: usize, const R: usize, const C: usize>(
    flat: &mut [T],
) -> &mut [[[T; C]; R]; G] {
    match flat.as_chunks_mut::<C>() {
        (rows, []) => square_mut(rows),
        _ => wrong_length(),
    }
}

#[cold]
#[track_caller]
fn wrong_length() -> ! {
    panic!("a recurrent layer's parameter range holds another number of values than its shape")
}

/// A sequence buffer whose length differs from the number of steps (the
/// length of the inputs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SequenceError {
    /// Which buffer: `"outputs"`, `"tape"`, `"output gradients"` or
    /// `"input gradients"`.
    pub buffer: &'static str,
    /// The number of steps, `xs.len()`.
    pub steps: usize,
    /// The buffer's length.
    pub len: usize,
}

impl fmt::Display for SequenceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the {} hold {} steps, the inputs {}",
            self.buffer, self.len, self.steps
        )
    }
}

impl core::error::Error for SequenceError {}

/// `Ok` if `len == steps`, else the error naming `buffer`.
fn check_steps(buffer: &'static str, steps: usize, len: usize) -> Result<(), SequenceError> {
    if len == steps {
        Ok(())
    } else {
        Err(SequenceError { buffer, steps, len })
    }
}

/// Writes a PyTorch weight, `pytorch` as `[rows_gh, k]` row-major (a
/// recurrent layer's `weight_ih_l0` of `[G·H, I]` or `weight_hh_l0` of
/// `[G·H, H]`), into the layout of [`RecurrentParams`], `ours` as
/// `[k][rows_gh]`: its transpose. [`weight_to_pytorch`] goes back.
///
/// # Panics
///
/// If either slice holds another number of values than `rows_gh · k`.
///
/// ```
/// use backprop_runtime::recurrent::{weight_from_pytorch, weight_to_pytorch};
///
/// // A GRU of one unit (G·H = 3) and two inputs: PyTorch's `[3, 2]`.
/// let pytorch = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
/// let mut ours = [0.0; 6];
/// weight_from_pytorch(&pytorch, &mut ours, 3, 2);
/// assert_eq!(ours, [1.0, 3.0, 5.0, 2.0, 4.0, 6.0]);
/// let mut back = [0.0; 6];
/// weight_to_pytorch(&ours, &mut back, 3, 2);
/// assert_eq!(back, pytorch);
/// ```
pub fn weight_from_pytorch<T: Copy>(pytorch: &[T], ours: &mut [T], rows_gh: usize, k: usize) {
    transpose(pytorch, ours, rows_gh, k);
}

/// Writes a weight in the layout of [`RecurrentParams`], `ours` as
/// `[k][rows_gh]`, as PyTorch's `[rows_gh, k]` row-major (`weight_ih_l0`,
/// `weight_hh_l0`): the inverse of [`weight_from_pytorch`].
///
/// # Panics
///
/// If either slice holds another number of values than `rows_gh · k`.
///
/// ```
/// use backprop_runtime::recurrent::weight_to_pytorch;
///
/// let ours = [1.0, 3.0, 5.0, 2.0, 4.0, 6.0];
/// let mut pytorch = [0.0; 6];
/// weight_to_pytorch(&ours, &mut pytorch, 3, 2);
/// assert_eq!(pytorch, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
/// ```
pub fn weight_to_pytorch<T: Copy>(ours: &[T], pytorch: &mut [T], rows_gh: usize, k: usize) {
    transpose(ours, pytorch, k, rows_gh);
}

/// `to[c][r] = from[r][c]` for `from` of `rows × cols`, row-major.
fn transpose<T: Copy>(from: &[T], to: &mut [T], rows: usize, cols: usize) {
    assert!(
        from.len() == rows * cols && to.len() == rows * cols,
        "a {rows} × {cols} weight is {} values, not {} and {}",
        rows * cols,
        from.len(),
        to.len()
    );
    for (r, row) in from.chunks_exact(cols.max(1)).enumerate().take(rows) {
        for (c, &value) in row.iter().enumerate() {
            to[c * rows + r] = value;
        }
    }
}

/// Columns summed in registers at a time by [`add_products`] on the
/// baseline CPU: 8 SSE registers of `f32`, which leaves registers for the
/// broadcast value and the weights.
const NARROW_BLOCK: usize = 32;

/// The same in the AVX2 and FMA copy: 8 AVX registers of `f32`, enough
/// sums in flight to cover the latency of a fused multiply-add.
const WIDE_BLOCK: usize = 64;

/// `out[c] += Σₖ v[k]·weight[k][first + c]`, the products of each `(v,
/// weight)` pair, for the columns `first..first + out.len()` of the
/// flattened rows of `G·H` (`out` holding the biases on entry): the
/// forward product of a recurrent step in the layout of
/// [`RecurrentParams`].
///
/// The columns go in blocks held in registers while every row is added,
/// the first pair's rows before the second's: blocks of `N`, then one
/// block of the multiple of 8 left (a GRU 8's 24 sums are one block of
/// 24, as many independent chains of multiply-adds as registers of sums),
/// then single columns. Every block's width is a constant, so that its
/// loops unroll into vector instructions whether or not the compiler
/// follows the count of columns. With `FMA`, fused multiply-adds (the
/// AVX2 and FMA copy of [`wide`](crate::kernels::wide)).
#[inline(always)]
#[allow(clippy::inline_always)] // the body must be compiled into the wide copy
fn add_products<
    T: Float,
    const G: usize,
    const H: usize,
    const K1: usize,
    const K2: usize,
    const N: usize,
    const FMA: bool,
>(
    out: &mut [T],
    first: usize,
    pair1: (&[T; K1], &[[[T; H]; G]; K1]),
    pair2: (&[T; K2], &[[[T; H]; G]; K2]),
) {
    let mut start = 0;
    while out.len() - start >= N {
        add_block::<T, G, H, K1, K2, N, FMA>(out, first, &mut start, pair1, pair2);
    }
    // Below `N`: one of these, whose width is less than `N`.
    match (out.len() - start) / 8 {
        0 => {}
        1 => add_block::<T, G, H, K1, K2, 8, FMA>(out, first, &mut start, pair1, pair2),
        2 => add_block::<T, G, H, K1, K2, 16, FMA>(out, first, &mut start, pair1, pair2),
        3 => add_block::<T, G, H, K1, K2, 24, FMA>(out, first, &mut start, pair1, pair2),
        4 => add_block::<T, G, H, K1, K2, 32, FMA>(out, first, &mut start, pair1, pair2),
        5 => add_block::<T, G, H, K1, K2, 40, FMA>(out, first, &mut start, pair1, pair2),
        6 => add_block::<T, G, H, K1, K2, 48, FMA>(out, first, &mut start, pair1, pair2),
        _ => add_block::<T, G, H, K1, K2, 56, FMA>(out, first, &mut start, pair1, pair2),
    }
    while start < out.len() {
        add_block::<T, G, H, K1, K2, 1, FMA>(out, first, &mut start, pair1, pair2);
    }
}

/// [`add_products`] for the `W` columns of `out` from `start`, which it
/// moves past them.
#[inline(always)]
#[allow(clippy::inline_always)]
fn add_block<
    T: Float,
    const G: usize,
    const H: usize,
    const K1: usize,
    const K2: usize,
    const W: usize,
    const FMA: bool,
>(
    out: &mut [T],
    first: usize,
    start: &mut usize,
    (v1, weight1): (&[T; K1], &[[[T; H]; G]; K1]),
    (v2, weight2): (&[T; K2], &[[[T; H]; G]; K2]),
) {
    const WIDTH: &str = "the block's columns are in the row";
    let block: &mut [T; W] = out[*start..].first_chunk_mut().expect(WIDTH);
    let mut acc = *block;
    let from = first + *start;
    for k in 0..K1 {
        let w = weight1[k].as_flattened()[from..]
            .first_chunk()
            .expect(WIDTH);
        multiply_add::<T, W, FMA>(&mut acc, v1[k], w);
    }
    for k in 0..K2 {
        let w = weight2[k].as_flattened()[from..]
            .first_chunk()
            .expect(WIDTH);
        multiply_add::<T, W, FMA>(&mut acc, v2[k], w);
    }
    *block = acc;
    *start += W;
}

/// `acc[c] += v·w[c]`.
#[inline(always)]
#[allow(clippy::inline_always)]
fn multiply_add<T: Float, const N: usize, const FMA: bool>(acc: &mut [T; N], v: T, w: &[T; N]) {
    for (acc, &w) in acc.iter_mut().zip(w) {
        *acc = if FMA {
            v.mul_add(w, *acc)
        } else {
            *acc + v * w
        };
    }
}

/// The gradient of one step's products `bias + Σₖ v[k]·weight[k]` given
/// the gradient `dz` of their outputs: `∂W[k] += v[k]·dz` (a row of the
/// outer product), `∂b += dz`, and `back[k] += weight[k]·dz` (the
/// gradient of `v`).
#[inline]
fn product_gradients<T: Float, const G: usize, const K: usize, const H: usize>(
    weight: &[[[T; H]; G]; K],
    dz: &[[T; H]; G],
    v: &[T; K],
    grad_weight: &mut [[[T; H]; G]; K],
    grad_bias: &mut [[T; H]; G],
    back: &mut [T; K],
) {
    for g in 0..G {
        for j in 0..H {
            grad_bias[g][j] += dz[g][j];
        }
    }
    for k in 0..K {
        let vk = v[k];
        let mut sum = T::ZERO;
        for g in 0..G {
            for j in 0..H {
                grad_weight[k][g][j] += vk * dz[g][j];
            }
            sum += dot(&weight[k][g], &dz[g]);
        }
        back[k] += sum;
    }
}

#[cfg(test)]
mod tests;
