//! `torch.nn.LSTM` and `torch.nn.GRU` as outside oracles: outputs, final
//! states and the gradients of every parameter, input step and initial
//! state, recorded by `tools/recurrent_fixtures.py` (one and two layers,
//! `batch_first=True`, loss `Σ weights ⊙ output`), replayed here through
//! the runtime's sequence passes without Python.

use approx::assert_relative_eq;
use backprop::recurrent::{
    GruCache, GruParams, GruParamsMut, GruState, LstmCache, LstmParams, LstmParamsMut, LstmState,
    SequenceError, gru, gru_params, lstm, lstm_params, weight_from_pytorch, weight_to_pytorch,
};
use serde::Deserialize;

/// The fixtures' sizes: 3 inputs, 4 hidden units, 2 streams.
const I: usize = 3;
const H: usize = 4;
const B: usize = 2;

type Tensor3 = Vec<Vec<Vec<f64>>>;

/// One fixture file, every tensor in PyTorch's shape: `x` `[B, T, I]`,
/// `output` and `weights` `[B, T, H]`, states `[layers, B, H]`.
#[derive(Deserialize)]
struct Fixture {
    layers: usize,
    params: Vec<f64>,
    x: Tensor3,
    h0: Tensor3,
    c0: Option<Tensor3>,
    weights: Tensor3,
    output: Tensor3,
    h_n: Tensor3,
    c_n: Option<Tensor3>,
    grad_params: Vec<f64>,
    grad_x: Tensor3,
    grad_h0: Tensor3,
    grad_c0: Option<Tensor3>,
}

fn load(name: &str) -> Fixture {
    let path = format!(
        "{}/tests/fixtures/pytorch/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// What the replay needs of a layer: its passes on flat parameters, and
/// its state as `h` and (for the LSTM) `c`.
trait Layer<const N: usize> {
    type State: Copy;
    type Cache: Copy;
    const ZERO: Self::Cache;
    const ZERO_STATE: Self::State;
    const GATES: usize;
    fn len() -> usize;
    fn state(h: [f64; H], c: Option<[f64; H]>) -> Self::State;
    fn parts(state: &Self::State) -> ([f64; H], Option<[f64; H]>);
    fn forward(
        flat: &[f64],
        states: &mut [Self::State; B],
        xs: &[[[f64; N]; B]],
        hs: &mut [[[f64; H]; B]],
        tape: &mut [[Self::Cache; B]],
    ) -> Result<(), SequenceError>;
    fn backward(
        flat: &[f64],
        xs: &[[[f64; N]; B]],
        tape: &[[Self::Cache; B]],
        grad_hs: &[[[f64; H]; B]],
        grad_state: &mut [Self::State; B],
        grad_flat: &mut [f64],
        grad_xs: &mut [[[f64; N]; B]],
    ) -> Result<(), SequenceError>;
}

struct Lstm;
struct Gru;

impl<const N: usize> Layer<N> for Lstm {
    type State = LstmState<f64, H>;
    type Cache = LstmCache<f64, H>;
    const ZERO: Self::Cache = LstmCache::ZERO;
    const ZERO_STATE: Self::State = LstmState::ZERO;
    const GATES: usize = 4;
    fn len() -> usize {
        lstm_params(N, H)
    }
    fn state(h: [f64; H], c: Option<[f64; H]>) -> Self::State {
        LstmState {
            h,
            c: c.expect("an LSTM fixture has c"),
        }
    }
    fn parts(state: &Self::State) -> ([f64; H], Option<[f64; H]>) {
        (state.h, Some(state.c))
    }
    fn forward(
        flat: &[f64],
        states: &mut [Self::State; B],
        xs: &[[[f64; N]; B]],
        hs: &mut [[[f64; H]; B]],
        tape: &mut [[Self::Cache; B]],
    ) -> Result<(), SequenceError> {
        lstm::forward(&LstmParams::from_flat(flat), states, xs, hs, tape)
    }
    fn backward(
        flat: &[f64],
        xs: &[[[f64; N]; B]],
        tape: &[[Self::Cache; B]],
        grad_hs: &[[[f64; H]; B]],
        grad_state: &mut [Self::State; B],
        grad_flat: &mut [f64],
        grad_xs: &mut [[[f64; N]; B]],
    ) -> Result<(), SequenceError> {
        let params = LstmParams::from_flat(flat);
        let mut grads = LstmParamsMut::from_flat(grad_flat);
        lstm::backward(
            &params,
            xs,
            tape,
            grad_hs,
            grad_state,
            &mut grads,
            Some(grad_xs),
        )
    }
}

impl<const N: usize> Layer<N> for Gru {
    type State = GruState<f64, H>;
    type Cache = GruCache<f64, H>;
    const ZERO: Self::Cache = GruCache::ZERO;
    const ZERO_STATE: Self::State = GruState::ZERO;
    const GATES: usize = 3;
    fn len() -> usize {
        gru_params(N, H)
    }
    fn state(h: [f64; H], _: Option<[f64; H]>) -> Self::State {
        GruState { h }
    }
    fn parts(state: &Self::State) -> ([f64; H], Option<[f64; H]>) {
        (state.h, None)
    }
    fn forward(
        flat: &[f64],
        states: &mut [Self::State; B],
        xs: &[[[f64; N]; B]],
        hs: &mut [[[f64; H]; B]],
        tape: &mut [[Self::Cache; B]],
    ) -> Result<(), SequenceError> {
        gru::forward(&GruParams::from_flat(flat), states, xs, hs, tape)
    }
    fn backward(
        flat: &[f64],
        xs: &[[[f64; N]; B]],
        tape: &[[Self::Cache; B]],
        grad_hs: &[[[f64; H]; B]],
        grad_state: &mut [Self::State; B],
        grad_flat: &mut [f64],
        grad_xs: &mut [[[f64; N]; B]],
    ) -> Result<(), SequenceError> {
        let params = GruParams::from_flat(flat);
        let mut grads = GruParamsMut::from_flat(grad_flat);
        gru::backward(
            &params,
            xs,
            tape,
            grad_hs,
            grad_state,
            &mut grads,
            Some(grad_xs),
        )
    }
}

/// `[B, T, N]` as time-major steps `[T][B][N]`.
fn time_major<const N: usize>(batch_first: &[Vec<Vec<f64>>]) -> Vec<[[f64; N]; B]> {
    (0..batch_first[0].len())
        .map(|t| core::array::from_fn(|b| batch_first[b][t].as_slice().try_into().unwrap()))
        .collect()
}

/// Time-major steps back in `[B, T, N]` order, flattened.
fn batch_first<const N: usize>(steps: &[[[f64; N]; B]]) -> Vec<f64> {
    (0..B)
        .flat_map(|b| steps.iter().flat_map(move |step| step[b]))
        .collect()
}

fn row(values: &[f64]) -> [f64; H] {
    values.try_into().unwrap()
}

/// Layer `layer`'s states `[B, H]` of a `[layers, B, H]` tensor.
fn start<L: Layer<N>, const N: usize>(
    h: &Tensor3,
    c: Option<&Tensor3>,
    layer: usize,
) -> [L::State; B] {
    core::array::from_fn(|b| L::state(row(&h[layer][b]), c.map(|c| row(&c[layer][b]))))
}

/// `(h, c)` of every state, in `[layers, B, H]` order, flattened.
fn flatten_states<L: Layer<N>, const N: usize>(states: &[[L::State; B]]) -> (Vec<f64>, Vec<f64>) {
    let (mut h, mut c) = (Vec::new(), Vec::new());
    for state in states.iter().flatten() {
        let (state_h, state_c) = L::parts(state);
        h.extend(state_h);
        c.extend(state_c.into_iter().flatten());
    }
    (h, c)
}

fn assert_matches(name: &str, what: &str, ours: &[f64], theirs: &[f64]) {
    assert_eq!(ours.len(), theirs.len(), "{name}: {what} length");
    for (a, b) in ours.iter().zip(theirs) {
        assert!(a.is_finite(), "{name}: {what} has {a}");
        assert_relative_eq!(*a, *b, epsilon = 1e-12, max_relative = 1e-9);
    }
}

fn flat3(values: &[Vec<Vec<f64>>]) -> Vec<f64> {
    values.iter().flatten().flatten().copied().collect()
}

/// A layer's parameters in PyTorch's order (`weight_ih` `[G·H, inputs]`,
/// `weight_hh` `[G·H, H]`, the biases) in the runtime's layout, the two
/// weights transposed, or back (`to_pytorch`).
fn convert(values: &[f64], gates: usize, inputs: usize, to_pytorch: bool) -> Vec<f64> {
    let gh = gates * H;
    let mut out = values.to_vec();
    let mut start = 0;
    for k in [inputs, H] {
        let (from, to) = (&values[start..][..gh * k], &mut out[start..][..gh * k]);
        if to_pytorch {
            weight_to_pytorch(from, to, gh, k);
        } else {
            weight_from_pytorch(from, to, gh, k);
        }
        start += gh * k;
    }
    out
}

/// Every layer's parameters of a fixture, converted as [`convert`] does.
fn convert_layers<L: Layer<I> + Layer<H>>(
    values: &[f64],
    layers: usize,
    to_pytorch: bool,
) -> Vec<f64> {
    let gates = <L as Layer<I>>::GATES;
    let (first, second) = values.split_at(<L as Layer<I>>::len());
    let mut out = convert(first, gates, I, to_pytorch);
    if layers == 2 {
        out.extend(convert(second, gates, H, to_pytorch));
    }
    out
}

/// Runs every pass of one or two layers of `L` on the fixture `name` and
/// compares each tensor with PyTorch's.
fn matches_pytorch<L: Layer<I> + Layer<H>>(name: &str) {
    let f = load(name);
    let first_len = <L as Layer<I>>::len();
    let params = convert_layers::<L>(&f.params, f.layers, false);
    let (first, second) = params.split_at(first_len);
    assert_eq!(
        second.len(),
        (f.layers - 1) * <L as Layer<H>>::len(),
        "{name}: parameter count"
    );
    let xs: Vec<[[f64; I]; B]> = time_major(&f.x);
    let steps = xs.len();

    // Forward: layer one over the inputs, layer two over its outputs.
    let mut states1 = start::<L, I>(&f.h0, f.c0.as_ref(), 0);
    let mut hs1 = vec![[[0.0; H]; B]; steps];
    let mut tape1 = vec![[<L as Layer<I>>::ZERO; B]; steps];
    <L as Layer<I>>::forward(first, &mut states1, &xs, &mut hs1, &mut tape1).unwrap();
    let mut states2 = start::<L, H>(&f.h0, f.c0.as_ref(), f.layers - 1);
    let mut hs2 = vec![[[0.0; H]; B]; steps];
    let mut tape2 = vec![[<L as Layer<H>>::ZERO; B]; steps];
    if f.layers == 2 {
        <L as Layer<H>>::forward(second, &mut states2, &hs1, &mut hs2, &mut tape2).unwrap();
    }
    let output = if f.layers == 2 { &hs2 } else { &hs1 };
    assert_matches(name, "output", &batch_first(output), &flat3(&f.output));
    let (mut h_n, mut c_n) = flatten_states::<L, I>(&[states1]);
    if f.layers == 2 {
        let (h, c) = flatten_states::<L, H>(&[states2]);
        h_n.extend(h);
        c_n.extend(c);
    }
    assert_matches(name, "h_n", &h_n, &flat3(&f.h_n));
    if let Some(theirs) = &f.c_n {
        assert_matches(name, "c_n", &c_n, &flat3(theirs));
    }

    // Backward from ∂L/∂output = weights, the last layer first; the second
    // layer's ∂L/∂x is the first one's ∂L/∂h.
    let weights: Vec<[[f64; H]; B]> = time_major(&f.weights);
    let mut grad_params = vec![0.0; f.params.len()];
    let (grad_first, grad_second) = grad_params.split_at_mut(first_len);
    let mut grad_start2 = [<L as Layer<H>>::ZERO_STATE; B];
    let grad_hs1 = if f.layers == 2 {
        let mut grad_hs1 = vec![[[0.0; H]; B]; steps];
        <L as Layer<H>>::backward(
            second,
            &hs1,
            &tape2,
            &weights,
            &mut grad_start2,
            grad_second,
            &mut grad_hs1,
        )
        .unwrap();
        grad_hs1
    } else {
        weights
    };
    let mut grad_start1 = [<L as Layer<I>>::ZERO_STATE; B];
    let mut grad_xs = vec![[[0.0; I]; B]; steps];
    <L as Layer<I>>::backward(
        first,
        &xs,
        &tape1,
        &grad_hs1,
        &mut grad_start1,
        grad_first,
        &mut grad_xs,
    )
    .unwrap();

    let grad_params = convert_layers::<L>(&grad_params, f.layers, true);
    assert_matches(name, "parameter gradient", &grad_params, &f.grad_params);
    assert_matches(
        name,
        "input gradient",
        &batch_first(&grad_xs),
        &flat3(&f.grad_x),
    );
    let (mut grad_h0, mut grad_c0) = flatten_states::<L, I>(&[grad_start1]);
    if f.layers == 2 {
        let (h, c) = flatten_states::<L, H>(&[grad_start2]);
        grad_h0.extend(h);
        grad_c0.extend(c);
    }
    assert_matches(name, "h0 gradient", &grad_h0, &flat3(&f.grad_h0));
    if let Some(theirs) = &f.grad_c0 {
        assert_matches(name, "c0 gradient", &grad_c0, &flat3(theirs));
    }
}

#[test]
fn lstm_one_layer_matches_pytorch() {
    matches_pytorch::<Lstm>("recurrent_lstm_one_layer");
}

#[test]
fn lstm_two_layers_match_pytorch() {
    matches_pytorch::<Lstm>("recurrent_lstm_two_layers");
}

#[test]
fn gru_one_layer_matches_pytorch() {
    matches_pytorch::<Gru>("recurrent_gru_one_layer");
}

#[test]
fn gru_two_layers_match_pytorch() {
    matches_pytorch::<Gru>("recurrent_gru_two_layers");
}
