//! PyTorch as an outside oracle: outputs, losses and gradients recorded by
//! `tools/pytorch_fixtures.py` for fixed weights and inputs, which the
//! generated networks must reproduce. The fixtures are committed; these
//! tests need no Python.

use approx::assert_relative_eq;
use backprop::{Network, Row};
use serde::Deserialize;

/// One fixture file: PyTorch's numbers for one network, in backprop's
/// parameter layout (`W` as `n_in × n_out`, row by row, then `b`, per layer).
#[derive(Deserialize)]
struct Fixture {
    params: Vec<f64>,
    x: Vec<Vec<f64>>,
    y: Vec<Vec<f64>>,
    output: Vec<Vec<f64>>,
    loss: f64,
    grad_params: Vec<f64>,
    grad_x: Vec<Vec<f64>>,
}

fn load(name: &str) -> Fixture {
    let path = format!(
        "{}/tests/fixtures/pytorch/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn rows<R: Row<f64>>(values: &[Vec<f64>]) -> Vec<R> {
    values
        .iter()
        .map(|values| {
            let mut row = R::ZERO;
            row.as_mut().copy_from_slice(values);
            row
        })
        .collect()
}

/// Largest relative difference between `ours` and `theirs`, entries below
/// `1e-12` in both counting as equal.
fn worst_relative_error(ours: &[f64], theirs: &[f64]) -> f64 {
    ours.iter()
        .zip(theirs)
        .map(|(a, b)| {
            let scale = a.abs().max(b.abs());
            if scale < 1e-12 {
                0.0
            } else {
                (a - b).abs() / scale
            }
        })
        .fold(0.0, f64::max)
}

/// Runs every pass of `N` on the fixture `name` and compares with PyTorch to
/// 1e-6 relative; returns the worst relative error.
fn matches_pytorch<N: Network<Float = f64>>(name: &str) -> f64 {
    let fixture = load(name);
    assert_eq!(fixture.params.len(), N::PARAMS, "{name}: parameter count");
    let mut network = N::zeros();
    network.params_mut().copy_from_slice(&fixture.params);
    let x: Vec<N::Input> = rows(&fixture.x);
    let y: Vec<N::Target> = rows(&fixture.y);

    let mut output = vec![N::Output::ZERO; x.len()];
    network.forward_slice(&x, &mut output).unwrap();
    let loss = network.loss_slice(&x, &y).unwrap();
    let mut grad = N::zeros();
    let grad_loss = network.gradients_slice(&x, &y, &mut grad).unwrap();
    let mut grad_x = vec![N::Input::ZERO; x.len()];
    network.input_gradients_slice(&x, &y, &mut grad_x).unwrap();

    let flat = |rows: &[Vec<f64>]| rows.concat();
    let ours_output: Vec<f64> = output.iter().flat_map(|r| r.as_ref().to_vec()).collect();
    let ours_grad_x: Vec<f64> = grad_x.iter().flat_map(|r| r.as_ref().to_vec()).collect();
    let comparisons = [
        ("output", ours_output, flat(&fixture.output)),
        (
            "loss",
            vec![loss, grad_loss],
            vec![fixture.loss, fixture.loss],
        ),
        (
            "parameter gradient",
            grad.params().to_vec(),
            fixture.grad_params.clone(),
        ),
        ("input gradient", ours_grad_x, flat(&fixture.grad_x)),
    ];
    let mut worst: f64 = 0.0;
    for (what, ours, theirs) in &comparisons {
        assert_eq!(ours.len(), theirs.len(), "{name}: {what} length");
        for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
            assert!(a.is_finite(), "{name}: {what}[{i}] is {a}");
            assert_relative_eq!(*a, *b, epsilon = 1e-12, max_relative = 1e-6);
        }
        worst = worst.max(worst_relative_error(ours, theirs));
    }
    eprintln!("{name}: worst relative error against PyTorch {worst:.2e}");
    worst
}

macro_rules! pytorch_fixtures {
    ($($name:ident: { $($spec:tt)* })*) => {
        $(
            #[test]
            fn $name() {
                backprop::network! { Net = $($spec)* ; float = f64 }
                matches_pytorch::<Net>(stringify!($name));
            }
        )*
    };
}

pytorch_fixtures! {
    seed_mse: { 2 -> sigmoid(3) -> linear(1); loss = mse }
    tanh_relu_softmax_cross_entropy: { 4 -> tanh(6) -> relu(5) -> softmax(3); loss = cross_entropy }
    leaky_elu_sigmoid_bce: {
        3 -> leaky_relu(5, slope = 0.2) -> elu(4, alpha = 0.7) -> sigmoid(2); loss = bce
    }
    gelu_gelu_tanh_linear_huber: {
        5 -> gelu(6) -> gelu(4, approximate = tanh) -> linear(3); loss = huber(delta = 0.5)
    }
    silu_softplus_tanh_mae: { 3 -> silu(7) -> softplus(5, beta = 2.0) -> tanh(2); loss = mae }
    relu_softmax_mse: { 6 -> relu(8) -> softmax(4); loss = mse }
    softplus_threshold_linear_mse: { 4 -> softplus(3) -> linear(2); loss = mse }
    deep_five_layers_mse: {
        3 -> tanh(4) -> sigmoid(5) -> relu(4) -> silu(3) -> linear(2); loss = mse
    }
    large_logits_cross_entropy: { 3 -> linear(4) -> softmax(4); loss = cross_entropy }
    large_logits_bce: { 3 -> linear(4) -> sigmoid(4); loss = bce }
}
