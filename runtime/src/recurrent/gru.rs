//! The GRU layer of `torch.nn.GRU`, one step at a time or over
//! sequences, with backpropagation through time.
//!
//! # Forward, one step
//!
//! For an input `x` (`I` values) and the state `h` (`H` values), with the
//! parameters of [`GruParams`] (gates in PyTorch's order `r, z, n`;
//! `W_ih[k]` is gate `k`'s `H × I` block of PyTorch's `weight_ih`, which
//! [`GruParams`] stores transposed, and `W_hh[k]` its `H × H` block of
//! `weight_hh`):
//!
//! ```text
//! r = σ(W_ih[r]·x + b_ih[r] + W_hh[r]·h + b_hh[r])
//! z = σ(W_ih[z]·x + b_ih[z] + W_hh[z]·h + b_hh[z])
//! n = tanh(W_ih[n]·x + b_ih[n] + r ⊙ (W_hh[n]·h + b_hh[n]))
//! h' = (1 − z) ⊙ n + z ⊙ h        (computed as n + z ⊙ (h − n), as PyTorch does)
//! ```
//!
//! # Backward through time
//!
//! Going from the last step to the first with `δh`, the gradient of the
//! step's output (the loss's `∂L/∂hₜ` plus what the next step sends
//! back), and `u = W_hh[n]·h + b_hh[n]`:
//!
//! ```text
//! δa_n = δh ⊙ (1 − z) ⊙ (1 − n²)
//! δa_z = δh ⊙ (h − n) ⊙ z(1 − z)
//! δa_r = δa_n ⊙ u ⊙ r(1 − r)
//! input side:   δ_ih = (δa_r, δa_z, δa_n)        hidden side: δ_hh = (δa_r, δa_z, r ⊙ δa_n)
//! ∂W_ih[k] += δ_ih[k]·xᵀ   ∂b_ih[k] += δ_ih[k]   ∂W_hh[k] += δ_hh[k]·hᵀ   ∂b_hh[k] += δ_hh[k]
//! ∂x = Σₖ W_ih[k]ᵀ·δ_ih[k]
//! δh ← δh ⊙ z + Σₖ W_hh[k]ᵀ·δ_hh[k] (+ the previous step's ∂L/∂h)
//! ```
//!
//! What is left in `δh` after the first step is `∂L/∂h₀`.
//!
//! ```
//! use backprop_runtime::recurrent::{gru, gru_params, GruParams, GruState};
//!
//! const PARAMS: usize = gru_params(1, 4);
//! let flat = [0.1_f64; PARAMS];
//! let params = GruParams::<f64, 1, 4>::from_flat(&flat);
//! let mut states = [GruState::default(); 2];
//! let hs = gru::step_batch(&params, &mut states, &[[1.0], [-1.0]]);
//! assert_eq!(hs[0], states[0].h);
//! assert!(hs[0][0] > hs[1][0]);
//! ```

use super::{
    GruParams, GruParamsMut, NARROW_BLOCK, SequenceError, WIDE_BLOCK, add_products, check_steps,
    product_gradients,
};
use crate::Float;
use crate::kernels::wide::{self, Kernel};

/// The state of a GRU layer for one stream, `h`. `Default` is the zero
/// state, PyTorch's default `h₀`.
///
/// In [`backward`] the same type holds the gradient of a state, `∂L/∂h`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GruState<T, const H: usize> {
    /// The hidden state, the layer's output.
    pub h: [T; H],
}

impl<T: Float, const H: usize> GruState<T, H> {
    /// The zero state.
    pub const ZERO: Self = Self { h: [T::ZERO; H] };
}

impl<T: Float, const H: usize> Default for GruState<T, H> {
    fn default() -> Self {
        Self::ZERO
    }
}

/// What [`backward`] needs of one step of one stream, which [`forward`]
/// keeps: the state before the step, the gates after their activations,
/// and `W_hh[n]·h + b_hh[n]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GruCache<T, const H: usize> {
    /// `h` before the step.
    pub previous: [T; H],
    /// `r, z, n` after `σ`, `σ`, `tanh`.
    pub gates: [[T; H]; 3],
    /// `W_hh[n]·h + b_hh[n]`, which `r` multiplies.
    pub hidden_n: [T; H],
}

impl<T: Float, const H: usize> GruCache<T, H> {
    /// A cache of zeros, to fill a tape with.
    pub const ZERO: Self = Self {
        previous: [T::ZERO; H],
        gates: [[T::ZERO; H]; 3],
        hidden_n: [T::ZERO; H],
    };
}

impl<T: Float, const H: usize> Default for GruCache<T, H> {
    fn default() -> Self {
        Self::ZERO
    }
}

/// One step of one stream into `state`, keeping the gates and `u`, in
/// the AVX2 and FMA copy where the CPU has them.
#[inline]
fn cell<T: Float, const I: usize, const H: usize>(
    params: &GruParams<'_, T, I, H>,
    state: &mut GruState<T, H>,
    x: &[T; I],
    gates: &mut [[T; H]; 3],
    hidden_n: &mut [T; H],
) {
    wide::run(Cell {
        params,
        state,
        x,
        gates,
        hidden_n,
    });
}

/// The arguments of [`cell`].
struct Cell<'a, 'p, T, const I: usize, const H: usize> {
    params: &'a GruParams<'p, T, I, H>,
    state: &'a mut GruState<T, H>,
    x: &'a [T; I],
    gates: &'a mut [[T; H]; 3],
    hidden_n: &'a mut [T; H],
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

/// The step: `W_hh·h` over all three gates in one run of multiply-adds
/// over `3·H` sums, `N` at a time (fused with `FMA`), onto `b_ih + b_hh`
/// for `r` and `z` and onto `b_hh` alone for `n`, whose hidden part `r`
/// multiplies; then `W_ih·x` onto `r` and `z`, and onto `b_ih` for `n`.
#[inline(always)]
#[allow(clippy::inline_always)]
fn cell_in_blocks<T: Float, const I: usize, const H: usize, const N: usize, const FMA: bool>(
    Cell {
        params,
        state,
        x,
        gates,
        hidden_n,
    }: Cell<'_, '_, T, I, H>,
) {
    let none: (&[T; 0], &[[[T; H]; 3]; 0]) = (&[], &[]);
    let mut a: [[T; H]; 3] = core::array::from_fn(|k| {
        core::array::from_fn(|j| {
            if k < 2 {
                params.bias_ih[k][j] + params.bias_hh[k][j]
            } else {
                params.bias_hh[k][j]
            }
        })
    });
    add_products::<T, 3, H, H, 0, N, FMA>(
        a.as_flattened_mut(),
        0,
        (&state.h, params.weight_hh),
        none,
    );
    add_products::<T, 3, H, I, 0, N, FMA>(
        a[..2].as_flattened_mut(),
        0,
        (x, params.weight_ih),
        none,
    );
    let mut input_n = params.bias_ih[2];
    add_products::<T, 3, H, I, 0, N, FMA>(&mut input_n, 2 * H, (x, params.weight_ih), none);
    // `r` and `z` are next to each other: one row of 2·H sigmoids.
    T::sigmoid_row::<FMA>(a[..2].as_flattened(), gates[..2].as_flattened_mut());
    let r = &gates[0];
    let a_n: [T; H] = core::array::from_fn(|j| input_n[j] + r[j] * a[2][j]);
    T::tanh_row::<FMA>(&a_n, &mut gates[2]);
    let [_, z, n] = &*gates;
    for j in 0..H {
        state.h[j] = n[j] + z[j] * (state.h[j] - n[j]);
    }
    *hidden_n = a[2];
}

/// One step of one stream: updates `state` to `h'` and returns it.
#[inline]
pub fn step<T: Float, const I: usize, const H: usize>(
    params: &GruParams<'_, T, I, H>,
    state: &mut GruState<T, H>,
    x: &[T; I],
) -> [T; H] {
    let mut gates = [[T::ZERO; H]; 3];
    let mut hidden_n = [T::ZERO; H];
    cell(params, state, x, &mut gates, &mut hidden_n);
    state.h
}

/// One step of `B` independent streams, `xs[b]` with `states[b]`: returns
/// each stream's `h'`.
#[inline]
pub fn step_batch<T: Float, const I: usize, const H: usize, const B: usize>(
    params: &GruParams<'_, T, I, H>,
    states: &mut [GruState<T, H>; B],
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
    params: &GruParams<'_, T, I, H>,
    state: &mut GruState<T, H>,
    x: &[T; I],
    cache: &mut GruCache<T, H>,
) -> [T; H] {
    cache.previous = state.h;
    cell(params, state, x, &mut cache.gates, &mut cache.hidden_n);
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
    params: &GruParams<'_, T, I, H>,
    states: &mut [GruState<T, H>; B],
    xs: &[[[T; I]; B]],
    hs: &mut [[[T; H]; B]],
    tape: &mut [[GruCache<T, H>; B]],
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
/// state from after the sequence (`GruState::ZERO` for a loss inside the
/// sequence alone, or for truncated BPTT), and on return `∂L/∂h₀`. The
/// parameter gradient is **added** to `grads` (as PyTorch accumulates
/// `.grad`); `grad_xs[t][b]`, if given, is overwritten with `∂L/∂xₜ`.
///
/// # Errors
///
/// If `tape`, `grad_hs` or `grad_xs` does not hold `T` steps; nothing is
/// computed then.
pub fn backward<T: Float, const I: usize, const H: usize, const B: usize>(
    params: &GruParams<'_, T, I, H>,
    xs: &[[[T; I]; B]],
    tape: &[[GruCache<T, H>; B]],
    grad_hs: &[[[T; H]; B]],
    grad_state: &mut [GruState<T, H>; B],
    grads: &mut GruParamsMut<'_, T, I, H>,
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
            let mut grad_x = [T::ZERO; I];
            step_backward(
                params,
                &xs[t][b],
                &tape[t][b],
                &grad_hs[t][b],
                &mut grad_state[b],
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
/// the step's output (less the loss's `grad_h`) to that of its input
/// state.
#[inline]
pub fn step_backward<T: Float, const I: usize, const H: usize>(
    params: &GruParams<'_, T, I, H>,
    x: &[T; I],
    cache: &GruCache<T, H>,
    grad_h: &[T; H],
    carried: &mut GruState<T, H>,
    grads: &mut GruParamsMut<'_, T, I, H>,
    grad_x: &mut [T; I],
) {
    let [r, z, n] = &cache.gates;
    let h_prev = &cache.previous;
    let mut from_input = [[T::ZERO; H]; 3];
    let mut from_hidden = [[T::ZERO; H]; 3];
    let mut grad_h_prev = [T::ZERO; H];
    for j in 0..H {
        let dh = grad_h[j] + carried.h[j];
        let da_n = dh * (T::ONE - z[j]) * (T::ONE - n[j] * n[j]);
        let da_z = dh * (h_prev[j] - n[j]) * z[j] * (T::ONE - z[j]);
        let da_r = da_n * cache.hidden_n[j] * r[j] * (T::ONE - r[j]);
        from_input[0][j] = da_r;
        from_input[1][j] = da_z;
        from_input[2][j] = da_n;
        from_hidden[0][j] = da_r;
        from_hidden[1][j] = da_z;
        from_hidden[2][j] = da_n * r[j];
        grad_h_prev[j] = dh * z[j];
    }
    product_gradients(
        params.weight_ih,
        &from_input,
        x,
        grads.weight_ih,
        grads.bias_ih,
        grad_x,
    );
    product_gradients(
        params.weight_hh,
        &from_hidden,
        h_prev,
        grads.weight_hh,
        grads.bias_hh,
        &mut grad_h_prev,
    );
    carried.h = grad_h_prev;
}
