//! The LSTM layer of `torch.nn.LSTM`, one step at a time or over
//! sequences, with backpropagation through time.
//!
//! # Forward, one step
//!
//! For an input `x` (`I` values) and the state `(h, c)` (`H` values each),
//! with the parameters of [`LstmParams`] (gates in PyTorch's order
//! `i, f, g, o`; `W_ih[k]` is gate `k`'s `H × I` block of PyTorch's
//! `weight_ih`, which [`LstmParams`] stores transposed, and `W_hh[k]`
//! its `H × H` block of `weight_hh`):
//!
//! ```text
//! aₖ = W_ih[k]·x + b_ih[k] + W_hh[k]·h + b_hh[k]    k ∈ {i, f, g, o}
//! i = σ(a_i)   f = σ(a_f)   g = tanh(a_g)   o = σ(a_o)
//! c' = f ⊙ c + i ⊙ g
//! h' = o ⊙ tanh(c')
//! ```
//!
//! # Backward through time
//!
//! Going from the last step to the first with `δh`, the gradient of the
//! step's output (the loss's `∂L/∂hₜ` plus what the next step sends
//! back) and `δc` (what the next step sends back to its cell):
//!
//! ```text
//! δo = δh ⊙ tanh(c')               δc ← δc + δh ⊙ o ⊙ (1 − tanh²(c'))
//! δi = δc ⊙ g    δf = δc ⊙ c    δg = δc ⊙ i
//! δa_i = δi ⊙ i(1 − i)   δa_f = δf ⊙ f(1 − f)   δa_g = δg ⊙ (1 − g²)   δa_o = δo ⊙ o(1 − o)
//! ∂W_ih[k] += δaₖ·xᵀ   ∂W_hh[k] += δaₖ·hᵀ   ∂b_ih[k] += δaₖ   ∂b_hh[k] += δaₖ
//! ∂x = Σₖ W_ih[k]ᵀ·δaₖ
//! δh ← Σₖ W_hh[k]ᵀ·δaₖ (+ the previous step's ∂L/∂h)    δc ← δc ⊙ f
//! ```
//!
//! What is left in `(δh, δc)` after the first step is `∂L/∂(h₀, c₀)`.
//!
//! ```
//! use backprop_runtime::recurrent::{lstm, lstm_params, LstmParams, LstmState};
//!
//! const PARAMS: usize = lstm_params(2, 4);
//! let flat = [0.05_f64; PARAMS];
//! let params = LstmParams::<f64, 2, 4>::from_flat(&flat);
//! let mut state = LstmState::default();
//! let h = lstm::step(&params, &mut state, &[1.0, -1.0]);
//! assert_eq!(h, state.h);
//! assert!(h.iter().all(|&v| v > 0.0 && v < 1.0));
//! ```

use super::{
    LstmParams, LstmParamsMut, NARROW_BLOCK, SequenceError, WIDE_BLOCK, add_products, check_steps,
    product_gradients,
};
use crate::Float;
use crate::kernels::wide::{self, Kernel};

/// The state of an LSTM layer for one stream: `h` and the cell `c`.
/// `Default` is the zero state, PyTorch's default `h₀` and `c₀`.
///
/// In [`backward`] the same type holds the gradient of a state,
/// `∂L/∂h` and `∂L/∂c`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LstmState<T, const H: usize> {
    /// The hidden state, the layer's output.
    pub h: [T; H],
    /// The cell state.
    pub c: [T; H],
}

impl<T: Float, const H: usize> LstmState<T, H> {
    /// The zero state.
    pub const ZERO: Self = Self {
        h: [T::ZERO; H],
        c: [T::ZERO; H],
    };
}

impl<T: Float, const H: usize> Default for LstmState<T, H> {
    fn default() -> Self {
        Self::ZERO
    }
}

/// What [`backward`] needs of one step of one stream, which [`forward`]
/// keeps: the state before the step, the four gates after their
/// activations, and `tanh(c')`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LstmCache<T, const H: usize> {
    /// The state before the step.
    pub previous: LstmState<T, H>,
    /// `i, f, g, o` after `σ`, `σ`, `tanh`, `σ`.
    pub gates: [[T; H]; 4],
    /// `tanh(c')`.
    pub tanh_c: [T; H],
}

impl<T: Float, const H: usize> LstmCache<T, H> {
    /// A cache of zeros, to fill a tape with.
    pub const ZERO: Self = Self {
        previous: LstmState::ZERO,
        gates: [[T::ZERO; H]; 4],
        tanh_c: [T::ZERO; H],
    };
}

impl<T: Float, const H: usize> Default for LstmCache<T, H> {
    fn default() -> Self {
        Self::ZERO
    }
}

/// One step of one stream into `state`, keeping the gates and `tanh(c')`,
/// in the AVX2 and FMA copy where the CPU has them.
#[inline]
fn cell<T: Float, const I: usize, const H: usize>(
    params: &LstmParams<'_, T, I, H>,
    state: &mut LstmState<T, H>,
    x: &[T; I],
    gates: &mut [[T; H]; 4],
    tanh_c: &mut [T; H],
) {
    wide::run(Cell {
        params,
        state,
        x,
        gates,
        tanh_c,
    });
}

/// The arguments of [`cell`].
struct Cell<'a, 'p, T, const I: usize, const H: usize> {
    params: &'a LstmParams<'p, T, I, H>,
    state: &'a mut LstmState<T, H>,
    x: &'a [T; I],
    gates: &'a mut [[T; H]; 4],
    tanh_c: &'a mut [T; H],
}

impl<T: Float, const I: usize, const H: usize> Kernel for Cell<'_, '_, T, I, H> {
    type Output = ();

    // Always: the wide copy exists only if this body is inlined into it.
    #[inline(always)]
    #[allow(clippy::inline_always)]
    fn run<const WIDE: bool>(self) {
        if WIDE {
            cell_in_blocks::<T, I, H, WIDE_BLOCK, true>(self);
        } else {
            cell_in_blocks::<T, I, H, NARROW_BLOCK, false>(self);
        }
    }
}

/// The step: all four gates' `b_ih + b_hh + W_ih·x + W_hh·h` in one run
/// of multiply-adds over `4·H` sums, `N` at a time (fused with `FMA`),
/// then the activations along rows.
#[inline(always)]
#[allow(clippy::inline_always)]
fn cell_in_blocks<T: Float, const I: usize, const H: usize, const N: usize, const FMA: bool>(
    Cell {
        params,
        state,
        x,
        gates,
        tanh_c,
    }: Cell<'_, '_, T, I, H>,
) {
    let mut a: [[T; H]; 4] = core::array::from_fn(|k| {
        core::array::from_fn(|j| params.bias_ih[k][j] + params.bias_hh[k][j])
    });
    add_products::<T, 4, H, I, H, N, FMA>(
        a.as_flattened_mut(),
        0,
        (x, params.weight_ih),
        (&state.h, params.weight_hh),
    );
    // `i` and `f` are next to each other: one row of 2·H sigmoids.
    T::sigmoid_row::<FMA>(a[..2].as_flattened(), gates[..2].as_flattened_mut());
    T::tanh_row::<FMA>(&a[2], &mut gates[2]);
    T::sigmoid_row::<FMA>(&a[3], &mut gates[3]);
    let [i, f, g, o] = &*gates;
    for j in 0..H {
        state.c[j] = f[j] * state.c[j] + i[j] * g[j];
    }
    T::tanh_row::<FMA>(&state.c, tanh_c);
    for j in 0..H {
        state.h[j] = o[j] * tanh_c[j];
    }
}

/// One step of one stream: updates `state` to `(h', c')` and returns `h'`.
#[inline]
pub fn step<T: Float, const I: usize, const H: usize>(
    params: &LstmParams<'_, T, I, H>,
    state: &mut LstmState<T, H>,
    x: &[T; I],
) -> [T; H] {
    let mut gates = [[T::ZERO; H]; 4];
    let mut tanh_c = [T::ZERO; H];
    cell(params, state, x, &mut gates, &mut tanh_c);
    state.h
}

/// One step of `B` independent streams, `xs[b]` with `states[b]`: returns
/// each stream's `h'`.
#[inline]
pub fn step_batch<T: Float, const I: usize, const H: usize, const B: usize>(
    params: &LstmParams<'_, T, I, H>,
    states: &mut [LstmState<T, H>; B],
    xs: &[[T; I]; B],
) -> [[T; H]; B] {
    let mut hs = [[T::ZERO; H]; B];
    for b in 0..B {
        hs[b] = step(params, &mut states[b], &xs[b]);
    }
    hs
}

/// One step of one stream, as [`step`], keeping in `cache` what
/// [`step_backward`] needs: the step of [`forward`] for one stream, for
/// code that runs a stack of layers step by step.
#[inline]
pub fn step_cached<T: Float, const I: usize, const H: usize>(
    params: &LstmParams<'_, T, I, H>,
    state: &mut LstmState<T, H>,
    x: &[T; I],
    cache: &mut LstmCache<T, H>,
) -> [T; H] {
    cache.previous = *state;
    cell(params, state, x, &mut cache.gates, &mut cache.tanh_c);
    state.h
}

/// The forward pass over a sequence of `T = xs.len()` steps of `B`
/// streams (`xs[t][b]`), from `states` (the initial state, left holding
/// the final one): writes `hs[t][b] = hₜ` and, for [`backward`],
/// `tape[t][b]`.
///
/// # Errors
///
/// If `hs` or `tape` does not hold `T` steps; nothing is computed then.
pub fn forward<T: Float, const I: usize, const H: usize, const B: usize>(
    params: &LstmParams<'_, T, I, H>,
    states: &mut [LstmState<T, H>; B],
    xs: &[[[T; I]; B]],
    hs: &mut [[[T; H]; B]],
    tape: &mut [[LstmCache<T, H>; B]],
) -> Result<(), SequenceError> {
    check_steps("outputs", xs.len(), hs.len())?;
    check_steps("tape", xs.len(), tape.len())?;
    for t in 0..xs.len() {
        for b in 0..B {
            hs[t][b] = step_cached(params, &mut states[b], &xs[t][b], &mut tape[t][b]);
        }
    }
    Ok(())
}

/// Backpropagation through the `T = xs.len()` steps that [`forward`]
/// recorded in `tape`, given `grad_hs[t][b] = ∂L/∂hₜ` (the loss's own,
/// zero for a step without one).
///
/// `grad_state` holds, on entry, the gradient flowing into the final
/// state from after the sequence (`LstmState::ZERO` for a loss inside the
/// sequence alone, or for truncated BPTT), and on return `∂L/∂(h₀, c₀)`.
/// The parameter gradient is **added** to `grads` (as PyTorch accumulates
/// `.grad`), so windows and layers can share one; `grad_xs[t][b]`, if
/// given, is overwritten with `∂L/∂xₜ`.
///
/// # Errors
///
/// If `tape`, `grad_hs` or `grad_xs` does not hold `T` steps; nothing is
/// computed then.
pub fn backward<T: Float, const I: usize, const H: usize, const B: usize>(
    params: &LstmParams<'_, T, I, H>,
    xs: &[[[T; I]; B]],
    tape: &[[LstmCache<T, H>; B]],
    grad_hs: &[[[T; H]; B]],
    grad_state: &mut [LstmState<T, H>; B],
    grads: &mut LstmParamsMut<'_, T, I, H>,
    mut grad_xs: Option<&mut [[[T; I]; B]]>,
) -> Result<(), SequenceError> {
    let steps = xs.len();
    check_steps("tape", steps, tape.len())?;
    check_steps("output gradients", steps, grad_hs.len())?;
    if let Some(grad_xs) = grad_xs.as_deref() {
        check_steps("input gradients", steps, grad_xs.len())?;
    }
    for t in (0..steps).rev() {
        for b in 0..B {
            let cache = &tape[t][b];
            let carried = &mut grad_state[b];
            let mut grad_x = [T::ZERO; I];
            step_backward(
                params,
                &xs[t][b],
                cache,
                &grad_hs[t][b],
                carried,
                grads,
                &mut grad_x,
            );
            if let Some(grad_xs) = grad_xs.as_deref_mut() {
                grad_xs[t][b] = grad_x;
            }
        }
    }
    Ok(())
}

/// One step of one stream backwards, from the `cache` of [`step_cached`]
/// (the step of [`backward`] for one stream): `carried` goes from the gradient of
/// the step's output state (less the loss's `grad_h`) to that of its
/// input state.
#[inline]
pub fn step_backward<T: Float, const I: usize, const H: usize>(
    params: &LstmParams<'_, T, I, H>,
    x: &[T; I],
    cache: &LstmCache<T, H>,
    grad_h: &[T; H],
    carried: &mut LstmState<T, H>,
    grads: &mut LstmParamsMut<'_, T, I, H>,
    grad_x: &mut [T; I],
) {
    let [i, f, g, o] = &cache.gates;
    let c_prev = &cache.previous.c;
    let mut da = [[T::ZERO; H]; 4];
    for j in 0..H {
        let dh = grad_h[j] + carried.h[j];
        let tanh_c = cache.tanh_c[j];
        let dc = carried.c[j] + dh * o[j] * (T::ONE - tanh_c * tanh_c);
        da[0][j] = dc * g[j] * i[j] * (T::ONE - i[j]);
        da[1][j] = dc * c_prev[j] * f[j] * (T::ONE - f[j]);
        da[2][j] = dc * i[j] * (T::ONE - g[j] * g[j]);
        da[3][j] = dh * tanh_c * o[j] * (T::ONE - o[j]);
        carried.c[j] = dc * f[j];
    }
    let mut grad_h_prev = [T::ZERO; H];
    product_gradients(
        params.weight_ih,
        &da,
        x,
        grads.weight_ih,
        grads.bias_ih,
        grad_x,
    );
    product_gradients(
        params.weight_hh,
        &da,
        &cache.previous.h,
        grads.weight_hh,
        grads.bias_hh,
        &mut grad_h_prev,
    );
    carried.h = grad_h_prev;
}
