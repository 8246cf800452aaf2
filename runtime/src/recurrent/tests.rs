//! Backpropagation through time against central finite differences in
//! `f64`, for every parameter, every input step and the initial state;
//! streaming steps against the sequence pass; truncated BPTT by windows.

// Streaming and windows must give the sequence pass's values bit for bit.
#![allow(clippy::float_cmp)]

extern crate std;
use std::format;
use std::vec;
use std::vec::Vec;

use super::*;

/// What the checks need of a layer, for LSTM and GRU alike.
trait Layer<const I: usize, const H: usize> {
    const LEN: usize;
    type State: Copy + Default + PartialEq + core::fmt::Debug;
    type Cache: Copy + Default;

    fn forward<const B: usize>(
        flat: &[f64],
        states: &mut [Self::State; B],
        xs: &[[[f64; I]; B]],
        hs: &mut [[[f64; H]; B]],
        tape: &mut [[Self::Cache; B]],
    ) -> Result<(), SequenceError>;

    fn backward<const B: usize>(
        flat: &[f64],
        xs: &[[[f64; I]; B]],
        tape: &[[Self::Cache; B]],
        grad_hs: &[[[f64; H]; B]],
        grad_state: &mut [Self::State; B],
        grad_flat: &mut [f64],
        grad_xs: Option<&mut [[[f64; I]; B]]>,
    ) -> Result<(), SequenceError>;

    fn step(flat: &[f64], state: &mut Self::State, x: &[f64; I]) -> [f64; H];
    fn step_batch<const B: usize>(
        flat: &[f64],
        states: &mut [Self::State; B],
        xs: &[[f64; I]; B],
    ) -> [[f64; H]; B];

    /// The state's values in one list (`h`, then `c` for the LSTM).
    fn values(state: &Self::State) -> Vec<f64>;
    fn from_values(values: &[f64]) -> Self::State;
}

struct Lstm;
struct Gru;

impl<const I: usize, const H: usize> Layer<I, H> for Lstm {
    const LEN: usize = lstm_params(I, H);
    type State = LstmState<f64, H>;
    type Cache = LstmCache<f64, H>;

    fn forward<const B: usize>(
        flat: &[f64],
        states: &mut [Self::State; B],
        xs: &[[[f64; I]; B]],
        hs: &mut [[[f64; H]; B]],
        tape: &mut [[Self::Cache; B]],
    ) -> Result<(), SequenceError> {
        lstm::forward(&LstmParams::from_flat(flat), states, xs, hs, tape)
    }

    fn backward<const B: usize>(
        flat: &[f64],
        xs: &[[[f64; I]; B]],
        tape: &[[Self::Cache; B]],
        grad_hs: &[[[f64; H]; B]],
        grad_state: &mut [Self::State; B],
        grad_flat: &mut [f64],
        grad_xs: Option<&mut [[[f64; I]; B]]>,
    ) -> Result<(), SequenceError> {
        let mut grads = LstmParamsMut::from_flat(grad_flat);
        lstm::backward(
            &LstmParams::from_flat(flat),
            xs,
            tape,
            grad_hs,
            grad_state,
            &mut grads,
            grad_xs,
        )
    }

    fn step(flat: &[f64], state: &mut Self::State, x: &[f64; I]) -> [f64; H] {
        lstm::step(&LstmParams::from_flat(flat), state, x)
    }

    fn step_batch<const B: usize>(
        flat: &[f64],
        states: &mut [Self::State; B],
        xs: &[[f64; I]; B],
    ) -> [[f64; H]; B] {
        lstm::step_batch(&LstmParams::from_flat(flat), states, xs)
    }

    fn values(state: &Self::State) -> Vec<f64> {
        [state.h, state.c].concat()
    }

    fn from_values(values: &[f64]) -> Self::State {
        LstmState {
            h: values[..H].try_into().unwrap(),
            c: values[H..].try_into().unwrap(),
        }
    }
}

impl<const I: usize, const H: usize> Layer<I, H> for Gru {
    const LEN: usize = gru_params(I, H);
    type State = GruState<f64, H>;
    type Cache = GruCache<f64, H>;

    fn forward<const B: usize>(
        flat: &[f64],
        states: &mut [Self::State; B],
        xs: &[[[f64; I]; B]],
        hs: &mut [[[f64; H]; B]],
        tape: &mut [[Self::Cache; B]],
    ) -> Result<(), SequenceError> {
        gru::forward(&GruParams::from_flat(flat), states, xs, hs, tape)
    }

    fn backward<const B: usize>(
        flat: &[f64],
        xs: &[[[f64; I]; B]],
        tape: &[[Self::Cache; B]],
        grad_hs: &[[[f64; H]; B]],
        grad_state: &mut [Self::State; B],
        grad_flat: &mut [f64],
        grad_xs: Option<&mut [[[f64; I]; B]]>,
    ) -> Result<(), SequenceError> {
        let mut grads = GruParamsMut::from_flat(grad_flat);
        gru::backward(
            &GruParams::from_flat(flat),
            xs,
            tape,
            grad_hs,
            grad_state,
            &mut grads,
            grad_xs,
        )
    }

    fn step(flat: &[f64], state: &mut Self::State, x: &[f64; I]) -> [f64; H] {
        gru::step(&GruParams::from_flat(flat), state, x)
    }

    fn step_batch<const B: usize>(
        flat: &[f64],
        states: &mut [Self::State; B],
        xs: &[[f64; I]; B],
    ) -> [[f64; H]; B] {
        gru::step_batch(&GruParams::from_flat(flat), states, xs)
    }

    fn values(state: &Self::State) -> Vec<f64> {
        state.h.to_vec()
    }

    fn from_values(values: &[f64]) -> Self::State {
        GruState {
            h: values.try_into().unwrap(),
        }
    }
}

/// A small seeded generator of values in `[-scale, scale)`.
struct Draws(u64);

impl Draws {
    fn next(&mut self, scale: f64) -> f64 {
        // SplitMix64.
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        ((z >> 11) as f64 / (1_u64 << 53) as f64 * 2.0 - 1.0) * scale
    }

    fn vec(&mut self, len: usize, scale: f64) -> Vec<f64> {
        (0..len).map(|_| self.next(scale)).collect()
    }

    fn rows<const N: usize, const B: usize>(
        &mut self,
        steps: usize,
        scale: f64,
    ) -> Vec<[[f64; N]; B]> {
        (0..steps)
            .map(|_| core::array::from_fn(|_| core::array::from_fn(|_| self.next(scale))))
            .collect()
    }
}

/// The loss of the checks: `Σ mₜ·(wₜ·hₜ + ½‖hₜ‖²)` with weights `w` and a
/// mask `m` that keeps every step or the last alone; and its `∂L/∂hₜ`.
struct Objective<const H: usize, const B: usize> {
    weights: Vec<[[f64; H]; B]>,
    last_only: bool,
}

impl<const H: usize, const B: usize> Objective<H, B> {
    fn counts(&self, t: usize) -> bool {
        !self.last_only || t + 1 == self.weights.len()
    }

    fn loss(&self, hs: &[[[f64; H]; B]]) -> f64 {
        let mut total = 0.0;
        for (t, (step, weights)) in hs.iter().zip(&self.weights).enumerate() {
            if self.counts(t) {
                for (h, w) in step.as_flattened().iter().zip(weights.as_flattened()) {
                    total += w * h + 0.5 * h * h;
                }
            }
        }
        total
    }

    fn gradient(&self, hs: &[[[f64; H]; B]]) -> Vec<[[f64; H]; B]> {
        (0..hs.len())
            .map(|t| {
                core::array::from_fn(|b| {
                    core::array::from_fn(|j| {
                        if self.counts(t) {
                            self.weights[t][b][j] + hs[t][b][j]
                        } else {
                            0.0
                        }
                    })
                })
            })
            .collect()
    }
}

/// The outputs, the tape and the final state of a sequence pass.
type Run<L, const I: usize, const H: usize, const B: usize> = (
    Vec<[[f64; H]; B]>,
    Vec<[<L as Layer<I, H>>::Cache; B]>,
    [<L as Layer<I, H>>::State; B],
);

/// The outputs, the tape and the final state of `L` over `xs` from `states`.
fn run<L: Layer<I, H>, const I: usize, const H: usize, const B: usize>(
    flat: &[f64],
    mut states: [L::State; B],
    xs: &[[[f64; I]; B]],
) -> Run<L, I, H, B> {
    let mut hs = vec![[[0.0; H]; B]; xs.len()];
    let mut tape = vec![[L::Cache::default(); B]; xs.len()];
    L::forward(flat, &mut states, xs, &mut hs, &mut tape).unwrap();
    (hs, tape, states)
}

/// `(f(v + ε) − f(v − ε)) / 2ε` for each entry of `v`.
fn central_differences(v: &[f64], mut f: impl FnMut(&[f64]) -> f64) -> Vec<f64> {
    const EPS: f64 = 1e-6;
    let mut v = v.to_vec();
    (0..v.len())
        .map(|k| {
            let value = v[k];
            v[k] = value + EPS;
            let up = f(&v);
            v[k] = value - EPS;
            let down = f(&v);
            v[k] = value;
            (up - down) / (2.0 * EPS)
        })
        .collect()
}

fn assert_close(what: &str, analytic: &[f64], numeric: &[f64]) {
    assert_eq!(analytic.len(), numeric.len(), "{what}: length");
    for (k, (a, n)) in analytic.iter().zip(numeric).enumerate() {
        let tolerance = 1e-7 + 1e-6 * a.abs().max(n.abs());
        assert!(
            (a - n).abs() <= tolerance,
            "{what}[{k}]: backward {a}, finite differences {n}"
        );
    }
}

fn flatten<const N: usize, const B: usize>(rows: &[[[f64; N]; B]]) -> Vec<f64> {
    rows.iter()
        .flat_map(|r| r.as_flattened().to_vec())
        .collect()
}

fn unflatten<const N: usize, const B: usize>(values: &[f64]) -> Vec<[[f64; N]; B]> {
    values
        .chunks(N * B)
        .map(|step| core::array::from_fn(|b| step[b * N..][..N].try_into().unwrap()))
        .collect()
}

/// One layer of `L` from a random initial state: the gradients of every
/// parameter, input step and initial-state value against finite
/// differences.
fn one_layer_matches_finite_differences<
    L: Layer<I, H>,
    const I: usize,
    const H: usize,
    const B: usize,
>(
    seed: u64,
    steps: usize,
    last_only: bool,
) {
    let mut draws = Draws(seed);
    let flat = draws.vec(L::LEN, 0.6);
    let xs = draws.rows::<I, B>(steps, 1.0);
    let initial: [L::State; B] = core::array::from_fn(|_| {
        L::from_values(&draws.vec(L::values(&L::State::default()).len(), 0.5))
    });
    let objective = Objective {
        weights: draws.rows::<H, B>(steps, 1.0),
        last_only,
    };

    let (hs, tape, _) = run::<L, I, H, B>(&flat, initial, &xs);
    let mut grad_state = [L::State::default(); B];
    let mut grad_flat = vec![0.0; L::LEN];
    let mut grad_xs = vec![[[0.0; I]; B]; steps];
    L::backward(
        &flat,
        &xs,
        &tape,
        &objective.gradient(&hs),
        &mut grad_state,
        &mut grad_flat,
        Some(&mut grad_xs),
    )
    .unwrap();

    let loss = |flat: &[f64], initial: [L::State; B], xs: &[[[f64; I]; B]]| {
        objective.loss(&run::<L, I, H, B>(flat, initial, xs).0)
    };
    let what = |part: &str| format!("{part} (seed {seed}, {steps} steps, last only {last_only})");
    assert_close(
        &what("parameters"),
        &grad_flat,
        &central_differences(&flat, |flat| loss(flat, initial, &xs)),
    );
    assert_close(
        &what("inputs"),
        &flatten(&grad_xs),
        &central_differences(&flatten(&xs), |values| {
            loss(&flat, initial, &unflatten(values))
        }),
    );
    for b in 0..B {
        let numeric = central_differences(&L::values(&initial[b]), |values| {
            let mut perturbed = initial;
            perturbed[b] = L::from_values(values);
            loss(&flat, perturbed, &xs)
        });
        assert_close(&what("initial state"), &L::values(&grad_state[b]), &numeric);
    }
}

#[test]
fn lstm_gradients_match_finite_differences() {
    for (seed, steps) in [(1, 1), (2, 2), (3, 5), (4, 9)] {
        for last_only in [false, true] {
            one_layer_matches_finite_differences::<Lstm, 3, 4, 2>(seed, steps, last_only);
        }
    }
    one_layer_matches_finite_differences::<Lstm, 1, 9, 1>(5, 6, false);
}

#[test]
fn gru_gradients_match_finite_differences() {
    for (seed, steps) in [(11, 1), (12, 2), (13, 5), (14, 9)] {
        for last_only in [false, true] {
            one_layer_matches_finite_differences::<Gru, 3, 4, 2>(seed, steps, last_only);
        }
    }
    one_layer_matches_finite_differences::<Gru, 1, 9, 1>(15, 6, false);
}

/// Two stacked layers from zero states: the second's `∂L/∂xₜ` is the
/// first's `∂L/∂hₜ`; every parameter of both and every input against
/// finite differences.
fn two_layers_match_finite_differences<
    L1: Layer<I, H1>,
    L2: Layer<H1, H2>,
    const I: usize,
    const H1: usize,
    const H2: usize,
    const B: usize,
>(
    seed: u64,
    steps: usize,
) {
    let mut draws = Draws(seed);
    let flat = draws.vec(L1::LEN + L2::LEN, 0.6);
    let xs = draws.rows::<I, B>(steps, 1.0);
    let objective = Objective {
        weights: draws.rows::<H2, B>(steps, 1.0),
        last_only: false,
    };
    let forward = |flat: &[f64], xs: &[[[f64; I]; B]]| {
        let (first, second) = flat.split_at(L1::LEN);
        let (hs1, tape1, _) = run::<L1, I, H1, B>(first, [L1::State::default(); B], xs);
        let (hs2, tape2, _) = run::<L2, H1, H2, B>(second, [L2::State::default(); B], &hs1);
        (hs1, tape1, hs2, tape2)
    };

    let (hs1, tape1, hs2, tape2) = forward(&flat, &xs);
    let (first, second) = flat.split_at(L1::LEN);
    let mut grad_flat = vec![0.0; flat.len()];
    let (grad_first, grad_second) = grad_flat.split_at_mut(L1::LEN);
    let mut grad_hs1 = vec![[[0.0; H1]; B]; steps];
    L2::backward(
        second,
        &hs1,
        &tape2,
        &objective.gradient(&hs2),
        &mut [L2::State::default(); B],
        grad_second,
        Some(&mut grad_hs1),
    )
    .unwrap();
    let mut grad_xs = vec![[[0.0; I]; B]; steps];
    L1::backward(
        first,
        &xs,
        &tape1,
        &grad_hs1,
        &mut [L1::State::default(); B],
        grad_first,
        Some(&mut grad_xs),
    )
    .unwrap();

    assert_close(
        "two layers' parameters",
        &grad_flat,
        &central_differences(&flat, |flat| objective.loss(&forward(flat, &xs).2)),
    );
    assert_close(
        "two layers' inputs",
        &flatten(&grad_xs),
        &central_differences(&flatten(&xs), |values| {
            objective.loss(&forward(&flat, &unflatten(values)).2)
        }),
    );
}

#[test]
fn two_stacked_layers_gradients_match_finite_differences() {
    for (seed, steps) in [(21, 1), (22, 4), (23, 7)] {
        two_layers_match_finite_differences::<Lstm, Lstm, 2, 4, 3, 2>(seed, steps);
        two_layers_match_finite_differences::<Gru, Gru, 2, 4, 3, 2>(seed, steps);
        two_layers_match_finite_differences::<Gru, Lstm, 2, 3, 4, 1>(seed, steps);
    }
}

/// Windows of `window` steps over a sequence: the state carried across
/// them gives the full sequence's outputs; handing each window's
/// `∂L/∂h₀` to the window before gives the full gradient; with a zero
/// gradient at each window's end instead (truncated BPTT) the gradient
/// is that of the windows' losses with their starting states held fixed,
/// which finite differences confirm.
fn windows_carry_state_and_gradient<
    L: Layer<I, H>,
    const I: usize,
    const H: usize,
    const B: usize,
>(
    seed: u64,
    steps: usize,
    window: usize,
) {
    let mut draws = Draws(seed);
    let flat = draws.vec(L::LEN, 0.6);
    let xs = draws.rows::<I, B>(steps, 1.0);
    let objective = Objective {
        weights: draws.rows::<H, B>(steps, 1.0),
        last_only: false,
    };
    let start = [L::State::default(); B];

    // The whole sequence at once.
    let (hs, tape, end) = run::<L, I, H, B>(&flat, start, &xs);
    let mut full = vec![0.0; L::LEN];
    L::backward(
        &flat,
        &xs,
        &tape,
        &objective.gradient(&hs),
        &mut [L::State::default(); B],
        &mut full,
        None,
    )
    .unwrap();

    // Windows, the state carried from each to the next.
    let mut state = start;
    let mut starts = Vec::new();
    let mut windows = Vec::new();
    for (k, xs) in xs.chunks(window).enumerate() {
        starts.push(state);
        let (window_hs, window_tape, next) = run::<L, I, H, B>(&flat, state, xs);
        assert!(
            window_hs == hs[k * window..][..xs.len()],
            "window {k}'s outputs"
        );
        windows.push((xs, window_hs, window_tape));
        state = next;
    }
    assert_eq!(state, end, "final state");

    let window_weights = |k: usize, len: usize| Objective {
        weights: objective.weights[k * window..][..len].to_vec(),
        last_only: false,
    };
    // Through all windows, from the last: the full gradient.
    let mut carried = [L::State::default(); B];
    let mut through = vec![0.0; L::LEN];
    for (k, (xs, window_hs, window_tape)) in windows.iter().enumerate().rev() {
        let grad_hs = window_weights(k, xs.len()).gradient(window_hs);
        L::backward(
            &flat,
            xs,
            window_tape,
            &grad_hs,
            &mut carried,
            &mut through,
            None,
        )
        .unwrap();
    }
    assert_close("through windows", &through, &full);

    // Truncated: no gradient crosses a window's boundary.
    let mut truncated = vec![0.0; L::LEN];
    for (k, (xs, window_hs, window_tape)) in windows.iter().enumerate() {
        let grad_hs = window_weights(k, xs.len()).gradient(window_hs);
        let mut boundary = [L::State::default(); B];
        L::backward(
            &flat,
            xs,
            window_tape,
            &grad_hs,
            &mut boundary,
            &mut truncated,
            None,
        )
        .unwrap();
    }
    let numeric = central_differences(&flat, |flat| {
        windows
            .iter()
            .enumerate()
            .map(|(k, (xs, _, _))| {
                window_weights(k, xs.len()).loss(&run::<L, I, H, B>(flat, starts[k], xs).0)
            })
            .sum()
    });
    assert_close("truncated", &truncated, &numeric);
    if steps > window {
        let differs = truncated
            .iter()
            .zip(&full)
            .any(|(a, b)| (a - b).abs() > 1e-9);
        assert!(differs, "truncation changes the gradient");
    }
}

#[test]
fn truncated_bptt_windows_carry_the_state_without_its_gradient() {
    for (steps, window) in [(6, 2), (7, 3), (5, 5), (4, 1)] {
        windows_carry_state_and_gradient::<Lstm, 2, 3, 2>(31, steps, window);
        windows_carry_state_and_gradient::<Gru, 2, 3, 2>(32, steps, window);
    }
}

/// Streaming one sample at a time, alone or `B` streams at once, gives
/// the sequence pass's outputs, bit for bit.
fn streaming_equals_sequence<L: Layer<I, H>, const I: usize, const H: usize, const B: usize>(
    seed: u64,
) {
    let mut draws = Draws(seed);
    let flat = draws.vec(L::LEN, 0.6);
    let xs = draws.rows::<I, B>(7, 1.0);
    let (hs, _, end) = run::<L, I, H, B>(&flat, [L::State::default(); B], &xs);
    let mut alone = [L::State::default(); B];
    let mut together = [L::State::default(); B];
    for (t, x) in xs.iter().enumerate() {
        for b in 0..B {
            assert_eq!(L::step(&flat, &mut alone[b], &x[b]), hs[t][b], "step {t}");
        }
        assert_eq!(L::step_batch(&flat, &mut together, x), hs[t], "step {t}");
    }
    assert_eq!(alone, end);
    assert_eq!(together, end);
}

#[test]
fn streaming_steps_equal_the_sequence_forward() {
    streaming_equals_sequence::<Lstm, 1, 16, 3>(41);
    streaming_equals_sequence::<Lstm, 5, 32, 2>(42);
    streaming_equals_sequence::<Gru, 1, 8, 3>(43);
    streaming_equals_sequence::<Gru, 3, 32, 2>(44);
}

#[test]
fn buffers_of_another_length_are_refused() {
    let flat = [0.1; lstm_params(1, 2)];
    let params = LstmParams::<f64, 1, 2>::from_flat(&flat);
    let xs = [[[1.0]]; 3];
    let mut hs = [[[0.0; 2]]; 2];
    let mut tape = [[LstmCache::ZERO]; 3];
    let error = lstm::forward(&params, &mut [LstmState::ZERO], &xs, &mut hs, &mut tape);
    assert_eq!(
        error,
        Err(SequenceError {
            buffer: "outputs",
            steps: 3,
            len: 2
        })
    );
    assert_eq!(hs, [[[0.0; 2]]; 2], "nothing is computed");
}

#[test]
fn views_are_pytorchs_tensors_with_the_weights_transposed() {
    // weight_ih [I][4H], weight_hh [H][4H], bias_ih [4H], bias_hh [4H].
    let flat: Vec<f64> = (0..lstm_params(2, 3)).map(|v| v as f64).collect();
    let params = LstmParams::<f64, 2, 3>::from_flat(&flat);
    // Row k of weight_ih, from input k, starts at k·4H; gate g at g·H in it.
    assert_eq!(params.weight_ih[1][2], [18.0, 19.0, 20.0]);
    assert_eq!(params.weight_hh[0][0], [24.0, 25.0, 26.0]);
    assert_eq!(params.bias_ih[0][0], 24.0 + 36.0);
    assert_eq!(params.bias_hh[3][2], flat[flat.len() - 1]);
}

#[test]
fn pytorch_weights_convert_to_the_views_and_back() {
    const I: usize = 2;
    const H: usize = 3;
    // PyTorch's weight_ih_l0 of a GRU, [3H, I]: row g·H + j, column k.
    let pytorch: Vec<f64> = (0..3 * H * I).map(|v| v as f64 * 0.5 - 3.0).collect();
    let mut flat = vec![0.0; gru_params(I, H)];
    weight_from_pytorch(&pytorch, &mut flat[..3 * H * I], 3 * H, I);
    let params = GruParams::<f64, I, H>::from_flat(&flat);
    for g in 0..3 {
        for j in 0..H {
            for k in 0..I {
                assert_eq!(params.weight_ih[k][g][j], pytorch[(g * H + j) * I + k]);
            }
        }
    }
    let mut back = vec![0.0; pytorch.len()];
    weight_to_pytorch(&flat[..3 * H * I], &mut back, 3 * H, I);
    assert_eq!(back, pytorch);
}
