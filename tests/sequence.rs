//! Generated recurrent networks (`lstm`, `gru`, stacked, with dense layers
//! after them) against central finite differences in `f64`: the gradient
//! of every parameter, of every input step and of the initial state, for
//! a loss on every step and on the last, over windows of several lengths;
//! streaming against the sequence pass; refused windows change nothing.

// Streaming and the sequence pass must agree bit for bit.
#![allow(clippy::float_cmp)]

mod common;

use backprop::sequence::{Recurrent, StepTape, Targets, WindowError};
use backprop::{Adam, Row, Sgd};
use common::Rng;

backprop::network! {
    /// One LSTM layer and a linear read-out.
    Lstm = 2 -> lstm(4) -> linear(2); loss = mse; float = f64
}

backprop::network! {
    /// One GRU layer and two dense layers.
    Gru = 3 -> gru(4) -> tanh(3) -> linear(2); loss = mse; float = f64
}

backprop::network! {
    /// Two stacked LSTM layers, as `nn.LSTM(num_layers = 2)`.
    Stacked = 2 -> lstm(3) -> lstm(3) -> linear(1); loss = huber(delta = 0.5); float = f64
}

backprop::network! {
    /// A GRU under an LSTM, classifying.
    Mixed = 2 -> gru(3) -> lstm(4) -> softmax(3); loss = cross_entropy; float = f64
}

const B: usize = 2;

/// Central differences of `f` at `params`, with step `h`.
fn finite_differences(params: &[f64], mut f: impl FnMut(&[f64]) -> f64) -> Vec<f64> {
    let h = 1e-6;
    let mut values = params.to_vec();
    (0..params.len())
        .map(|i| {
            values[i] = params[i] + h;
            let up = f(&values);
            values[i] = params[i] - h;
            let down = f(&values);
            values[i] = params[i];
            (up - down) / (2.0 * h)
        })
        .collect()
}

fn assert_close(what: &str, analytic: &[f64], numeric: &[f64]) {
    assert_eq!(analytic.len(), numeric.len());
    let scale = numeric.iter().fold(1e-3_f64, |m, v| m.max(v.abs()));
    for (i, (a, n)) in analytic.iter().zip(numeric).enumerate() {
        assert!(
            (a - n).abs() <= 1e-6 * scale + 1e-9,
            "{what}[{i}]: analytic {a}, finite differences {n}"
        );
    }
}

fn rows<R: Row<f64>>(rng: &mut Rng, steps: usize) -> Vec<[R; B]> {
    (0..steps)
        .map(|_| {
            std::array::from_fn(|_| {
                let mut row = R::ZERO;
                for v in row.as_mut() {
                    *v = rng.uniform(-1.0, 1.0);
                }
                row
            })
        })
        .collect()
}

/// One-hot targets, for a softmax output.
fn classes<R: Row<f64>>(rng: &mut Rng, steps: usize) -> Vec<[R; B]> {
    (0..steps)
        .map(|_| {
            std::array::from_fn(|_| {
                let mut row = R::ZERO;
                let n = row.as_ref().len();
                let class = usize::try_from(rng.next_u64() % n as u64).expect("small");
                row.as_mut()[class] = 1.0;
                row
            })
        })
        .collect()
}

/// A state reached by running the network over a few random steps, so
/// that the window starts from a state that is not zero.
fn warm_state<N: Recurrent<Float = f64>>(network: &N, rng: &mut Rng) -> [N::State; B] {
    let mut states = [N::State::default(); B];
    let mut ys = vec![[N::Output::ZERO; B]; 3];
    network
        .forward_sequence(&mut states, &rows::<N::Input>(rng, 3), &mut ys)
        .unwrap();
    states
}

/// ∂L/∂θ of `train_window`'s loss equals finite differences, for a loss
/// on every step and on the last, from a warm state.
fn parameter_gradients_match<N: Recurrent<Float = f64>>(
    seed: u64,
    steps: usize,
    targets_of: fn(&mut Rng, usize) -> Vec<[N::Target; B]>,
) {
    let mut rng = Rng::new(seed);
    let network = N::seeded_for_tests(seed);
    let start = warm_state(&network, &mut rng);
    let xs = rows::<N::Input>(&mut rng, steps);
    let every = targets_of(&mut rng, steps);
    let last = every[steps - 1];
    for targets in [Targets::EveryStep(&every), Targets::LastStep(&last)] {
        let mut tape = vec![StepTape::<N, B>::ZERO; steps + 1];
        let mut grad = N::zeros();
        let mut states = start;
        let loss = network
            .sequence_gradients(&mut states, &xs, targets, &mut tape, &mut grad)
            .unwrap();
        let mut again = start;
        // Summed in the other order of steps.
        let forward_loss = network.sequence_loss(&mut again, &xs, targets).unwrap();
        assert!(
            (forward_loss - loss).abs() <= 1e-14 * loss.abs(),
            "{forward_loss} vs {loss}"
        );
        assert_eq!(again, states, "both leave the state after the window");
        let numeric = finite_differences(network.params(), |params| {
            let mut probe = network.clone();
            probe.params_mut().copy_from_slice(params);
            probe
                .sequence_loss(&mut start.clone(), &xs, targets)
                .unwrap()
        });
        assert_close("∂L/∂θ", grad.params(), &numeric);
    }
}

/// `sequence_backward` with a loss of the caller's, `L = Σₜ cₜ·ŷₜ`: the
/// gradients of θ, of every input and of the initial state equal finite
/// differences; the outputs equal streaming steps bit for bit.
fn supplied_gradients_match<N: Recurrent<Float = f64>>(seed: u64, steps: usize)
where
    N::State: StateValues,
{
    let mut rng = Rng::new(seed);
    let network = N::seeded_for_tests(seed);
    let start = warm_state(&network, &mut rng);
    let xs = rows::<N::Input>(&mut rng, steps);
    let weights = rows::<N::Output>(&mut rng, steps);
    let custom = |network: &N, states: &mut [N::State; B], xs: &[[N::Input; B]]| {
        let mut ys = vec![[N::Output::ZERO; B]; xs.len()];
        network.forward_sequence(states, xs, &mut ys).unwrap();
        dot(&ys, &weights)
    };

    let mut states = start;
    let mut ys = vec![[N::Output::ZERO; B]; steps];
    let mut tape = vec![StepTape::<N, B>::ZERO; steps];
    network
        .sequence_forward(&mut states, &xs, &mut ys, &mut tape)
        .unwrap();
    let mut streamed = start;
    for (x, y) in xs.iter().zip(&ys) {
        for b in 0..B {
            assert_eq!(
                network.step(&mut streamed[b], &x[b]).as_ref(),
                y[b].as_ref()
            );
        }
    }
    assert_eq!(streamed, states);

    let mut grad = N::zeros();
    let mut grad_states = [N::State::default(); B];
    let mut grad_xs = vec![[N::Input::ZERO; B]; steps];
    network
        .sequence_backward(
            &xs,
            &tape,
            &weights,
            &mut grad_states,
            &mut grad,
            Some(&mut grad_xs),
        )
        .unwrap();

    let numeric = finite_differences(network.params(), |params| {
        let mut probe = network.clone();
        probe.params_mut().copy_from_slice(params);
        custom(&probe, &mut start.clone(), &xs)
    });
    assert_close("∂L/∂θ", grad.params(), &numeric);

    let flat_xs: Vec<f64> = xs
        .iter()
        .flatten()
        .flat_map(|x| x.as_ref().to_vec())
        .collect();
    let numeric = finite_differences(&flat_xs, |flat| {
        let xs: Vec<[N::Input; B]> = flat
            .chunks(N::INPUTS * B)
            .map(|step| {
                std::array::from_fn(|b| {
                    let mut x = N::Input::ZERO;
                    x.as_mut()
                        .copy_from_slice(&step[b * N::INPUTS..][..N::INPUTS]);
                    x
                })
            })
            .collect();
        custom(&network, &mut start.clone(), &xs)
    });
    let analytic: Vec<f64> = grad_xs
        .iter()
        .flatten()
        .flat_map(|x| x.as_ref().to_vec())
        .collect();
    assert_close("∂L/∂x", &analytic, &numeric);

    let flat_start: Vec<f64> = start.iter().flat_map(StateValues::values).collect();
    let numeric = finite_differences(&flat_start, |flat| {
        let len = flat.len() / B;
        let mut states: [N::State; B] =
            std::array::from_fn(|b| N::State::from_values(&flat[b * len..][..len]));
        custom(&network, &mut states, &xs)
    });
    let analytic: Vec<f64> = grad_states.iter().flat_map(StateValues::values).collect();
    assert_close("∂L/∂(h₀, c₀)", &analytic, &numeric);
}

fn dot<R: Row<f64>>(a: &[[R; B]], b: &[[R; B]]) -> f64 {
    a.iter()
        .flatten()
        .zip(b.iter().flatten())
        .map(|(a, b)| {
            a.as_ref()
                .iter()
                .zip(b.as_ref())
                .map(|(a, b)| a * b)
                .sum::<f64>()
        })
        .sum()
}

/// A network's state as a list of numbers, for finite differences.
trait StateValues: Sized {
    fn values(&self) -> Vec<f64>;
    fn from_values(values: &[f64]) -> Self;
}

impl StateValues for LstmState {
    fn values(&self) -> Vec<f64> {
        [self.lstm1.h, self.lstm1.c].concat()
    }
    fn from_values(v: &[f64]) -> Self {
        let mut state = Self::default();
        state.lstm1.h.copy_from_slice(&v[..4]);
        state.lstm1.c.copy_from_slice(&v[4..8]);
        state
    }
}

impl StateValues for GruState {
    fn values(&self) -> Vec<f64> {
        self.gru1.h.to_vec()
    }
    fn from_values(v: &[f64]) -> Self {
        let mut state = Self::default();
        state.gru1.h.copy_from_slice(v);
        state
    }
}

impl StateValues for StackedState {
    fn values(&self) -> Vec<f64> {
        [self.lstm1.h, self.lstm1.c, self.lstm2.h, self.lstm2.c].concat()
    }
    fn from_values(v: &[f64]) -> Self {
        let mut state = Self::default();
        state.lstm1.h.copy_from_slice(&v[..3]);
        state.lstm1.c.copy_from_slice(&v[3..6]);
        state.lstm2.h.copy_from_slice(&v[6..9]);
        state.lstm2.c.copy_from_slice(&v[9..12]);
        state
    }
}

impl StateValues for MixedState {
    fn values(&self) -> Vec<f64> {
        [&self.gru1.h[..], &self.lstm2.h, &self.lstm2.c].concat()
    }
    fn from_values(v: &[f64]) -> Self {
        let mut state = Self::default();
        state.gru1.h.copy_from_slice(&v[..3]);
        state.lstm2.h.copy_from_slice(&v[3..7]);
        state.lstm2.c.copy_from_slice(&v[7..11]);
        state
    }
}

/// `seeded`, with the biases drawn too, so that no gradient is zero by
/// symmetry.
trait SeededForTests: Recurrent<Float = f64> {
    fn seeded_for_tests(seed: u64) -> Self;
}

impl<N: Recurrent<Float = f64>> SeededForTests for N {
    fn seeded_for_tests(seed: u64) -> Self {
        let mut rng = Rng::new(seed ^ 0x5eed);
        let mut network = Self::zeros();
        for v in network.params_mut() {
            *v = rng.uniform(-0.6, 0.6);
        }
        network
    }
}

#[test]
fn lstm_gradients_equal_finite_differences() {
    for steps in [1, 2, 5] {
        parameter_gradients_match::<Lstm>(1, steps, rows);
        supplied_gradients_match::<Lstm>(2, steps);
    }
}

#[test]
fn gru_gradients_equal_finite_differences() {
    for steps in [1, 3, 6] {
        parameter_gradients_match::<Gru>(3, steps, rows);
        supplied_gradients_match::<Gru>(4, steps);
    }
}

#[test]
fn stacked_lstm_gradients_equal_finite_differences() {
    for steps in [1, 4] {
        parameter_gradients_match::<Stacked>(5, steps, rows);
        supplied_gradients_match::<Stacked>(6, steps);
    }
}

#[test]
fn gru_under_lstm_classifier_gradients_equal_finite_differences() {
    for steps in [2, 5] {
        parameter_gradients_match::<Mixed>(7, steps, classes);
        supplied_gradients_match::<Mixed>(8, steps);
    }
}

/// Truncated BPTT: the windows of a sequence, each from the state the
/// previous one left, give the states of the whole sequence run at once;
/// each window's gradient is that of its own loss with the starting state
/// held fixed (checked above), and training lowers the loss.
#[test]
fn windows_carry_the_state_and_training_lowers_the_loss() {
    let mut rng = Rng::new(11);
    let xs = rows::<[f64; 2]>(&mut rng, 12);
    let ys: Vec<[[f64; 1]; B]> = (0..12)
        .map(|t| std::array::from_fn(|b| [if t == 0 { 0.0 } else { xs[t - 1][b][0] }]))
        .collect();
    let mut network = Stacked::seeded(3);

    let mut whole = [StackedState::default(); B];
    let mut outputs = vec![[[0.0]; B]; 12];
    network
        .forward_sequence(&mut whole, &xs, &mut outputs)
        .unwrap();
    let mut windowed = [StackedState::default(); B];
    let mut tape = vec![StepTape::<Stacked, B>::ZERO; 4];
    for window in 0..3 {
        let range = window * 4..window * 4 + 4;
        let mut grad = Stacked::zeros();
        network
            .sequence_gradients(
                &mut windowed,
                &xs[range.clone()],
                Targets::EveryStep(&ys[range]),
                &mut tape,
                &mut grad,
            )
            .unwrap();
    }
    assert_eq!(windowed, whole);

    let loss = |network: &Stacked| {
        network
            .sequence_loss(&mut Default::default(), &xs, Targets::EveryStep(&ys))
            .unwrap()
    };
    let before = loss(&network);
    let mut adam = Adam::new(0.01);
    for _ in 0..60 {
        let mut states = [StackedState::default(); B];
        for window in 0..3 {
            let range = window * 4..window * 4 + 4;
            network
                .train_window(
                    &mut states,
                    &xs[range.clone()],
                    Targets::EveryStep(&ys[range]),
                    &mut tape,
                    &mut adam,
                )
                .unwrap();
        }
    }
    assert!(
        loss(&network) < before / 2.0,
        "{before} → {}",
        loss(&network)
    );
}

/// A refused window: its inputs, targets, whether the tape is short, and the error.
type Case<'a> = (
    &'a [[[f64; 2]; B]],
    Targets<'a, [f64; 2], B>,
    bool,
    WindowError,
);

/// Every refused window leaves the network, the optimizer and the states
/// as they were.
#[test]
fn a_refused_window_changes_nothing() {
    let mut rng = Rng::new(13);
    let mut network = Lstm::seeded(1);
    let xs = rows::<[f64; 2]>(&mut rng, 3);
    let ys = rows::<[f64; 2]>(&mut rng, 3);
    let mut tape = vec![StepTape::<Lstm, B>::ZERO; 3];
    let mut sgd = Sgd::new(0.1);
    let states = warm_state(&network, &mut rng);
    let before = network.clone();

    let mut nan_xs = xs.clone();
    nan_xs[1][0][1] = f64::NAN;
    let mut inf_ys = ys.clone();
    inf_ys[2][1][0] = f64::INFINITY;
    let mut short_tape = vec![StepTape::<Lstm, B>::ZERO; 2];
    let cases: [Case<'_>; 5] = [
        (
            &nan_xs,
            Targets::EveryStep(&ys),
            false,
            WindowError::NotFinite {
                what: "input",
                step: 1,
                stream: 0,
            },
        ),
        (
            &xs,
            Targets::EveryStep(&inf_ys),
            false,
            WindowError::NotFinite {
                what: "target",
                step: 2,
                stream: 1,
            },
        ),
        (
            &xs,
            Targets::LastStep(&inf_ys[2]),
            false,
            WindowError::NotFinite {
                what: "target",
                step: 2,
                stream: 1,
            },
        ),
        (
            &xs,
            Targets::EveryStep(&ys[..2]),
            false,
            WindowError::Steps {
                buffer: "targets",
                steps: 3,
                len: 2,
            },
        ),
        (
            &xs,
            Targets::EveryStep(&ys),
            true,
            WindowError::Steps {
                buffer: "tape",
                steps: 3,
                len: 2,
            },
        ),
    ];
    for (xs, targets, short, expected) in cases {
        let mut carried = states;
        let tape = if short { &mut short_tape } else { &mut tape };
        let error = network
            .train_window(&mut carried, xs, targets, tape, &mut sgd)
            .unwrap_err();
        assert_eq!(error, expected);
        assert!(!error.to_string().is_empty());
        assert_eq!(network, before);
        assert_eq!(carried, states);
    }
    let error = network
        .train_window(
            &mut states.clone(),
            &[],
            Targets::EveryStep(&[]),
            &mut tape,
            &mut sgd,
        )
        .unwrap_err();
    assert_eq!(error, WindowError::Empty);
    assert_eq!(network, before);
}

/// A generated network's views and constants say what it is.
#[test]
fn the_type_says_what_it_is() {
    use backprop::sequence::CellKind;
    assert_eq!(Mixed::CELLS, [CellKind::Gru, CellKind::Lstm]);
    assert_eq!(Mixed::WIDTHS, [2, 3, 4, 3]);
    assert_eq!(
        Mixed::PARAMS,
        3 * 3 * (2 + 3 + 2) + 4 * 4 * (3 + 4 + 2) + 4 * 3 + 3
    );
    assert_eq!(Mixed::MACS, 3 * 3 * (2 + 3) + 4 * 4 * (3 + 4) + 4 * 3);
    let network = Mixed::seeded(2);
    assert_eq!(network.params().len(), Mixed::PARAMS);
    assert_eq!(network.gru1().bias_hh.len(), 3);
    assert_eq!(network.lstm2().bias_ih.len(), 4);
    assert_eq!(network.w3().len(), 4);
    // PyTorch's bound for the recurrent layers, 1/√H.
    assert!(
        network
            .gru1()
            .bias_ih
            .iter()
            .flatten()
            .all(|v| v.abs() <= 1.0 / 3.0_f64.sqrt())
    );
    assert!(network.lstm2().bias_ih.iter().flatten().any(|&v| v != 0.0));
    let mut state = MixedState::default();
    let _ = network.step(&mut state, &[0.5, -0.5]);
    assert_ne!(state, MixedState::default());
    state.reset();
    assert_eq!(state, MixedState::default());
}

/// The diagram of a recurrent network names every layer with its shapes,
/// draws each loop and its gradient through time, and Graphviz renders it.
#[test]
fn the_diagram_draws_every_layer_and_loop() {
    use backprop::diagram::RecurrentDiagram;
    let dot = RecurrentDiagram::<Mixed>::new().to_string();
    for expected in [
        "GRU¹, 3 units",
        "gates r, z, n",
        "W¹_ih 2×9, W¹_hh 3×9",
        "LSTM², 4 units",
        "state h²ₜ, c²ₜ",
        "layer2 -> layer2 [label=\"h²ₜ₋₁\"",
        "layer2 -> layer2 [label=\"∂L/∂h²ₜ₋₁\"",
        "softmax(3)\\nW³ 4×3, b³ 3",
        "layer3 -> loss [label=\"ŷₜ\"]",
        "L\\ncross_entropy",
    ] {
        assert!(dot.contains(expected), "{expected} not in\n{dot}");
    }
    if common::graphviz::installed() {
        common::graphviz::render(&dot).expect("dot renders the diagram");
    } else {
        common::graphviz::skipped();
    }
}
