//! Orthogonal initialisation: `init::orthogonal` against
//! `torch.nn.init.orthogonal_` given PyTorch's own normal draws (recorded
//! by `tools/orthogonal_fixtures.py` in `tests/fixtures/orthogonal/`), and
//! the properties any seed must have: `WᵀW` or `WWᵀ` is `gain²·I` for
//! square, tall and wide layers, biases are zero, the same seed gives the
//! same weights.

// Reproducibility is bit-for-bit: the comparisons are exact on purpose, and
// the recorded values are written as Rust prints them.
#![allow(clippy::float_cmp, clippy::unreadable_literal)]

use std::collections::VecDeque;
use std::convert::Infallible;
use std::panic::{AssertUnwindSafe, catch_unwind};

use backprop::init::{orthogonal, seeded_rng};
use backprop::runtime::Init;
use backprop::runtime::rand_core::TryRng;
use backprop::{Float, Network};
use serde::Deserialize;

backprop::network! {
    /// The fixture's network: a tall, a square and a wide PyTorch weight.
    Fixture = 5 -> tanh(8) -> tanh(8) -> linear(3); loss = none; float = f64
}

backprop::network! {
    /// A square, a wide (in backprop's layout) and a tall layer, in f64.
    Shapes64 = 6 -> tanh(6) -> relu(10) -> linear(3); loss = mse; float = f64
}

backprop::network! {
    /// The same shapes in f32.
    Shapes32 = 6 -> tanh(6) -> relu(10) -> linear(3); loss = mse
}

backprop::network! {
    /// A PPO-sized policy, in f32.
    Policy = 8 -> tanh(64) -> tanh(64) -> linear(4); loss = none
}

backprop::network! {
    /// Three layers of one shape.
    Cube = 4 -> tanh(4) -> tanh(4) -> linear(4); loss = mse; float = f64
}

/// Each layer's weights `W` (`fan_in × fan_out`, row by row) and bias.
fn layers<T: Float>(widths: &[usize], params: &[T]) -> Vec<(Vec<f64>, Vec<f64>)> {
    let mut rest = params;
    widths
        .windows(2)
        .map(|fans| {
            let (w, tail) = rest.split_at(fans[0] * fans[1]);
            let (b, tail) = tail.split_at(fans[1]);
            rest = tail;
            let f64s = |values: &[T]| values.iter().map(|v| v.to_f64()).collect();
            (f64s(w), f64s(b))
        })
        .collect()
}

/// The largest entry of `|G − gain²·I|`, where `G` is the Gram matrix of
/// the shorter side of the `rows × cols` matrix `w`: `W·Wᵀ` if it has no
/// more rows than columns, else `Wᵀ·W`.
fn gram_error(w: &[f64], rows: usize, cols: usize, gain: f64) -> f64 {
    let (size, entry): (usize, Box<dyn Fn(usize, usize) -> f64>) = if rows <= cols {
        (
            rows,
            Box::new(|i, j| (0..cols).map(|k| w[i * cols + k] * w[j * cols + k]).sum()),
        )
    } else {
        (
            cols,
            Box::new(|i, j| (0..rows).map(|k| w[k * cols + i] * w[k * cols + j]).sum()),
        )
    };
    let mut worst = 0.0_f64;
    for i in 0..size {
        for j in 0..size {
            let identity = if i == j { gain * gain } else { 0.0 };
            worst = worst.max((entry(i, j) - identity).abs());
        }
    }
    worst
}

/// Asserts that every layer of `network` is `gain` times a matrix with
/// orthonormal rows or columns, to `tolerance` relative to `gain²`, and has
/// a zero bias.
fn assert_orthogonal<N: Network>(network: &N, gains: &[f64], tolerance: f64) {
    for (l, ((w, b), &gain)) in layers(N::WIDTHS, network.params())
        .iter()
        .zip(gains)
        .enumerate()
    {
        let (rows, cols) = (N::WIDTHS[l], N::WIDTHS[l + 1]);
        let error = gram_error(w, rows, cols, gain) / (gain * gain);
        println!(
            "layer {} ({rows} × {cols}): Gram matrix within {error:.1e} of gain²·I",
            l + 1
        );
        assert!(error <= tolerance, "layer {}: {error:e}", l + 1);
        assert!(b.iter().all(|&b| b == 0.0), "layer {}: bias {b:?}", l + 1);
    }
}

#[test]
fn square_wide_and_tall_layers_are_orthogonal_in_f64() {
    let gains = [2.0_f64.sqrt(), 1.0, 0.01];
    let mut net = Shapes64::seeded(1);
    orthogonal(&mut net, &gains, &mut seeded_rng(5));
    assert_orthogonal(&net, &gains, 1e-12);
}

#[test]
fn square_wide_and_tall_layers_are_orthogonal_in_f32() {
    let gains = [2.0_f64.sqrt(), 1.0, 0.01];
    let mut net = Shapes32::seeded(1);
    orthogonal(&mut net, &gains, &mut seeded_rng(5));
    assert_orthogonal(&net, &gains, 1e-5);

    let gains = [2.0_f64.sqrt(), 2.0_f64.sqrt(), 0.01];
    let mut policy = Policy::zeros();
    orthogonal(&mut policy, &gains, &mut seeded_rng(6));
    assert_orthogonal(&policy, &gains, 1e-5);
}

#[test]
fn the_f32_network_holds_the_f64_weights_rounded() {
    let gains = [1.5, 1.0, 0.5];
    let (mut wide, mut narrow) = (Shapes64::zeros(), Shapes32::zeros());
    orthogonal(&mut wide, &gains, &mut seeded_rng(8));
    orthogonal(&mut narrow, &gains, &mut seeded_rng(8));
    for (w, n) in wide.params().iter().zip(narrow.params()) {
        #[allow(clippy::cast_possible_truncation)]
        let rounded = *w as f32;
        assert_eq!(rounded, *n);
    }
}

#[test]
fn the_same_seed_gives_the_same_weights_and_another_seed_others() {
    let gains = [1.0, 1.0, 1.0];
    let (mut first, mut again, mut other) =
        (Shapes64::zeros(), Shapes64::zeros(), Shapes64::zeros());
    orthogonal(&mut first, &gains, &mut seeded_rng(3));
    orthogonal(&mut again, &gains, &mut seeded_rng(3));
    orthogonal(&mut other, &gains, &mut seeded_rng(4));
    assert_eq!(first, again);
    assert!(
        first
            .params()
            .iter()
            .zip(other.params())
            .all(|(a, b)| a != b || *a == 0.0)
    );
}

#[test]
fn the_gains_scale_the_same_draws() {
    let (mut unit, mut scaled) = (Shapes64::zeros(), Shapes64::zeros());
    orthogonal(&mut unit, &[1.0, 1.0, 1.0], &mut seeded_rng(9));
    orthogonal(&mut scaled, &[3.0, -0.5, 0.01], &mut seeded_rng(9));
    let unit_layers = layers(Shapes64::WIDTHS, unit.params());
    let scaled_layers = layers(Shapes64::WIDTHS, scaled.params());
    for ((gain, (u, _)), (s, _)) in [3.0, -0.5, 0.01]
        .iter()
        .zip(&unit_layers)
        .zip(&scaled_layers)
    {
        for (u, s) in u.iter().zip(s) {
            assert!(
                (gain * u - s).abs() <= 1e-15 * s.abs().max(1e-300),
                "{gain}·{u} vs {s}"
            );
        }
    }
}

#[test]
fn layers_of_one_shape_get_independent_matrices() {
    let mut cube = Cube::zeros();
    orthogonal(&mut cube, &[1.0; 3], &mut seeded_rng(2));
    let layers = layers(Cube::WIDTHS, cube.params());
    for (a, b) in [(0, 1), (0, 2), (1, 2)] {
        let (wa, wb) = (&layers[a].0, &layers[b].0);
        // Not the same matrix, nor the same up to the sign of any column.
        for column in 0..4 {
            let same = (0..4)
                .all(|row| (wa[row * 4 + column].abs() - wb[row * 4 + column].abs()).abs() < 1e-9);
            assert!(
                !same,
                "layers {} and {} share column {column}",
                a + 1,
                b + 1
            );
        }
    }
}

#[test]
fn the_sign_correction_makes_the_first_entry_as_often_positive_as_negative() {
    // Householder's Q alone has a first column of one sign; times
    // sign(diag R) its entries are symmetric about zero.
    let positive = (0..200)
        .filter(|&seed| {
            let mut cube = Cube::zeros();
            orthogonal(&mut cube, &[1.0; 3], &mut seeded_rng(seed));
            cube.params()[0] > 0.0
        })
        .count();
    // Binomial(200, ½): 100 ± 5σ.
    assert!((65..=135).contains(&positive), "{positive} of 200 positive");
}

#[test]
fn the_biases_are_set_to_zero() {
    let mut net = Shapes64::zeros();
    net.params_mut().fill(7.0);
    orthogonal(&mut net, &[1.0; 3], &mut seeded_rng(1));
    assert!(
        net.b1()
            .iter()
            .chain(net.b2())
            .chain(net.b3())
            .all(|&b| b == 0.0)
    );
}

#[test]
fn the_wrong_number_of_gains_panics_and_changes_nothing() {
    let before = Shapes64::seeded(1);
    let mut net = before.clone();
    let result = catch_unwind(AssertUnwindSafe(|| {
        orthogonal(&mut net, &[1.0, 1.0], &mut seeded_rng(1));
    }));
    let message = *result
        .expect_err("two gains for three layers")
        .downcast::<String>()
        .unwrap();
    assert_eq!(
        message,
        "orthogonal needs one gain per layer: the network has 3 layers, but 2 gains were given"
    );
    assert_eq!(net, before);

    let result = catch_unwind(AssertUnwindSafe(|| {
        orthogonal(&mut net, &[1.0, f64::NAN, 1.0], &mut seeded_rng(1));
    }));
    let message = *result
        .expect_err("a NaN gain")
        .downcast::<String>()
        .unwrap();
    assert_eq!(
        message,
        "orthogonal's gains must be finite; layer 2's is NaN"
    );
    assert_eq!(net, before);
}

/// Values recorded once from this seed: a change to the draws, their
/// order or the decomposition shows here.
#[test]
fn seeded_weights_are_the_recorded_ones() {
    let mut net = Shapes64::zeros();
    orthogonal(&mut net, &[1.0, 1.0, 1.0], &mut seeded_rng(42));
    let [w1, w2, w3] = [&net.w1()[0][..3], &net.w2()[5][7..], &net.w3()[9][..]];
    assert_eq!(w1, RECORDED_W1);
    assert_eq!(w2, RECORDED_W2);
    assert_eq!(w3, RECORDED_W3);
}

const RECORDED_W1: [f64; 3] = [-0.3229997524935764, -0.1716696546062527, 0.5745256673369799];
const RECORDED_W2: [f64; 3] = [0.14176469086397048, -0.1813289638146386, 0.3063116118694094];
const RECORDED_W3: [f64; 3] = [0.7900896637610305, 0.12390999211717885, -0.3103694023193413];

/// A generator whose words make backprop's Box–Muller transform give back
/// chosen normal values: for a pair `(z₁, z₂)`, `u₁ = 1 − e^{−r²/2}` and
/// `u₂ = θ / 2π`, with `r` and `θ` the pair's polar coordinates, each
/// rounded to the 53 bits a draw uses, so the values come back to within
/// a few ulps.
struct Replay(VecDeque<u64>);

impl Replay {
    fn new(normals: &[f64]) -> Self {
        assert!(normals.len().is_multiple_of(2), "whole pairs");
        let word = |unit: f64| {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let bits = (unit * (1_u64 << 53) as f64).round() as u64;
            bits.min((1 << 53) - 1) << 11
        };
        let words = normals
            .chunks(2)
            .flat_map(|pair| {
                let (x, y) = (pair[0], pair[1]);
                let radius_squared = x * x + y * y;
                let angle = y.atan2(x).rem_euclid(std::f64::consts::TAU);
                [
                    word(-(-radius_squared / 2.0).exp_m1()),
                    word(angle / std::f64::consts::TAU),
                ]
            })
            .collect();
        Self(words)
    }
}

impl TryRng for Replay {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        unreachable!("backprop's draws take 64 bits")
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.0.pop_front().expect("no more draws recorded"))
    }

    fn try_fill_bytes(&mut self, _: &mut [u8]) -> Result<(), Infallible> {
        unreachable!("backprop's draws take 64 bits")
    }
}

/// `tests/fixtures/orthogonal/network.json`.
#[derive(Deserialize)]
struct Recorded {
    widths: Vec<usize>,
    gains: Vec<f64>,
    normals: Vec<f64>,
    params: Vec<f64>,
}

fn recorded() -> Recorded {
    let path = format!(
        "{}/tests/fixtures/orthogonal/network.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn the_replaying_generator_gives_back_pytorchs_normal_draws() {
    let recorded = recorded();
    let mut draws = vec![0.0_f64; recorded.normals.len()];
    // He normal with fan_in 2 draws N(0, 1).
    Init::HeNormal.fill(&mut Replay::new(&recorded.normals), 2, 1, &mut draws);
    let worst = draws
        .iter()
        .zip(&recorded.normals)
        .map(|(ours, theirs)| (ours - theirs).abs())
        .fold(0.0, f64::max);
    println!("replayed draws within {worst:.1e}");
    assert!(worst < 1e-12, "{worst:e}");
}

#[test]
fn orthogonal_is_pytorchs_given_its_draws() {
    let recorded = recorded();
    assert_eq!(recorded.widths, Fixture::WIDTHS);
    let mut net = Fixture::zeros();
    orthogonal(
        &mut net,
        &recorded.gains,
        &mut Replay::new(&recorded.normals),
    );
    let worst = net
        .params()
        .iter()
        .zip(&recorded.params)
        .map(|(ours, theirs)| (ours - theirs).abs())
        .fold(0.0, f64::max);
    println!("orthogonal within {worst:.1e} of PyTorch's");
    assert!(worst < 1e-12, "{worst:e}");
}
