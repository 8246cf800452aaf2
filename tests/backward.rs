//! Backpropagating a gradient the caller supplies (`Network::backward`,
//! `backward_slice`): for a loss the network does not know, every
//! parameter and input gradient equals the central finite difference of
//! that loss in `f64` and what the reference MLP backpropagates from the
//! same `∂L/∂Ŷ`, for every activation as a hidden and as the output layer,
//! at batch sizes 1, 4 and 7.

mod common;

use approx::relative_eq;
use backprop::{Network, gradcheck};
use common::mlp::{self, Activation as A};

/// A loss of the caller's own: `L = Σ c·ŷ + ½ Σ ŷ²` with fixed weights `c`,
/// so `∂L/∂Ŷ = c + Ŷ`.
fn custom_loss<const B: usize, const N: usize>(output: &[[f64; N]; B]) -> f64 {
    let mut loss = 0.0;
    for (i, row) in output.iter().enumerate() {
        for (j, &value) in row.iter().enumerate() {
            loss += weight(i, j) * value + 0.5 * value * value;
        }
    }
    loss
}

fn custom_gradient<const B: usize, const N: usize>(output: &[[f64; N]; B]) -> [[f64; N]; B] {
    let mut grad = [[0.0; N]; B];
    for (i, row) in output.iter().enumerate() {
        for (j, &value) in row.iter().enumerate() {
            grad[i][j] = weight(i, j) + value;
        }
    }
    grad
}

/// Weights that differ from element to element, so that no two outputs'
/// gradients cancel.
fn weight(i: usize, j: usize) -> f64 {
    0.3 * (i as f64 + 1.0) - 0.7 * (j as f64) + 0.11
}

/// Inputs that differ from row to row, away from relu's kink for these seeds.
fn inputs<const B: usize, const N: usize>() -> [[f64; N]; B] {
    let mut x = [[0.0; N]; B];
    for (i, row) in x.iter_mut().enumerate() {
        for (j, value) in row.iter_mut().enumerate() {
            *value = (0.37 * (i * N + j) as f64 + 0.1).sin();
        }
    }
    x
}

/// `backward`, at a batch size fixed at compile time, and `backward_slice`
/// on the same rows, against central differences of `custom_loss ∘
/// forward` (`1e-6` relative, `gradcheck`'s `f64` settings) and against
/// the reference MLP backpropagating the same `∂L/∂Ŷ` (to rounding).
fn check<N, const B: usize, const I: usize, const O: usize>(net: &N, reference: &mlp::Architecture)
where
    N: Network<Float = f64, Input = [f64; I], Output = [f64; O]>,
{
    let x = inputs::<B, I>();
    let output = net.forward(&x);
    let grad_output = custom_gradient(&output);
    let (grad, grad_x) = net.backward(&x, &grad_output);
    let what = format!("{:?}, batch {B}", reference.layers);
    let kink = kink_margin(reference, net.params(), &x);
    assert!(
        kink > 1e-3,
        "{what}: a pre-activation is {kink:e} from a kink"
    );

    let check = gradcheck::check_gradient(net, &grad, |net| custom_loss(&net.forward(&x)));
    assert!(check.worst_relative_error < 1e-6, "{what}: ∂L/∂θ: {check}");
    let check = gradcheck::check_input_gradient(&x, &grad_x, |x| custom_loss(&net.forward(x)));
    assert!(check.worst_relative_error < 1e-6, "{what}: ∂L/∂X: {check}");

    let expected = mlp::backward(
        reference,
        net.params(),
        &common::to_vecs(&x),
        &common::to_vecs(&grad_output),
    );
    assert_rounded(
        output.as_flattened(),
        &expected.outputs.concat(),
        &format!("{what}: Ŷ"),
    );
    assert_rounded(
        grad.params(),
        &expected.param_gradients,
        &format!("{what}: ∂L/∂θ"),
    );
    let expected_x = expected.input_gradients.concat();
    assert_rounded(
        grad_x.as_flattened(),
        &expected_x,
        &format!("{what}: ∂L/∂X"),
    );

    let mut slice_grad = N::zeros();
    let mut slice_grad_x = [[f64::NAN; I]; B];
    net.backward_slice(&x, &grad_output, &mut slice_grad, Some(&mut slice_grad_x))
        .expect("rows match");
    let slice = format!("{what}, backward_slice");
    assert_rounded(
        slice_grad.params(),
        &expected.param_gradients,
        &format!("{slice}: ∂L/∂θ"),
    );
    assert_rounded(
        slice_grad_x.as_flattened(),
        &expected_x,
        &format!("{slice}: ∂L/∂X"),
    );
}

/// The smallest distance of a pre-activation of a `relu`, `leaky_relu`
/// or `elu` layer to its kink at 0, as the reference computes them: finite
/// differences need it far above their step.
fn kink_margin<const B: usize, const I: usize>(
    reference: &mlp::Architecture,
    params: &[f64],
    x: &[[f64; I]; B],
) -> f64 {
    let (z, _) = mlp::forward(reference, params, &common::to_vecs(x));
    reference
        .layers
        .iter()
        .zip(&z)
        .filter(|((activation, _), _)| {
            matches!(activation, A::Relu | A::LeakyRelu { .. } | A::Elu { .. })
        })
        .flat_map(|(_, z)| z.iter().flatten())
        .fold(f64::INFINITY, |margin, z| margin.min(z.abs()))
}

/// Equal to rounding, as two implementations written differently compute
/// it in `f64`: within `10⁻¹¹` relative, or `10⁻¹³` of the largest entry.
#[track_caller]
fn assert_rounded(got: &[f64], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let scale = want.iter().fold(0.0_f64, |m, w| m.max(w.abs()));
    for (index, (&a, &b)) in got.iter().zip(want).enumerate() {
        assert!(
            relative_eq!(a, b, epsilon = 1e-13 * scale, max_relative = 1e-11),
            "{what}[{index}]: {a:e}, reference {b:e}"
        );
    }
}

/// Equal to rounding: within `10⁻¹²` relative, element by element.
fn assert_close(got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len());
    for (a, b) in got.iter().zip(want) {
        assert!((a - b).abs() <= 1e-12 * (1.0 + b.abs()), "{a} vs {b}");
    }
}

/// For each case, a network of these layers and loss (which plays no
/// part) in `f64`, in a module of the case's name, with its layers'
/// activations as the reference MLP names them, and a test that runs
/// [`check`] at batch sizes 1, 4 and 7 (each through `backward` and
/// `backward_slice`). The seed is the first from 7 up whose pre-activations
/// keep away from the kinks in every batch.
macro_rules! supplied_gradient_tests {
    ($(
        $case:ident: $inputs:literal $(-> $activation:ident($($args:tt)*))+; loss = $loss:ident
            => [$($reference:expr),+];
    )+) => {$(
        mod $case {
            use super::*;

            backprop::network! {
                /// The case's network.
                Net = $inputs $(-> $activation($($args)*))+; loss = $loss; float = f64
            }

            #[test]
            fn backward_matches_finite_differences_and_the_reference() {
                const I: usize = Net::INPUTS;
                const O: usize = Net::OUTPUTS;
                let reference = mlp::Architecture {
                    inputs: I,
                    layers: [$($reference),+].into_iter().zip(Net::WIDTHS[1..].iter().copied()).collect(),
                    loss: mlp::Loss::Mse,
                };
                assert_eq!(reference.layers.len(), Net::LAYERS);
                let away_from_kinks = |net: &Net| {
                    let params = net.params();
                    kink_margin(&reference, params, &inputs::<1, I>()) > 1e-3
                        && kink_margin(&reference, params, &inputs::<4, I>()) > 1e-3
                        && kink_margin(&reference, params, &inputs::<7, I>()) > 1e-3
                };
                let net = (7..100)
                    .map(Net::seeded)
                    .find(away_from_kinks)
                    .expect("a seed below 100 keeps away from the kinks");
                check::<Net, 1, I, O>(&net, &reference);
                check::<Net, 4, I, O>(&net, &reference);
                check::<Net, 7, I, O>(&net, &reference);
            }
        }
    )+};
}

// Every activation as a hidden layer and as the output layer (softmax only
// there), the output's own loss fused with it where the DSL allows, and a
// deep network of several kinds and a single layer.
supplied_gradient_tests! {
    hidden_linear: 3 -> linear(5) -> linear(2); loss = mse => [A::Linear, A::Linear];
    hidden_sigmoid: 3 -> sigmoid(5) -> linear(2); loss = mse => [A::Sigmoid, A::Linear];
    hidden_tanh: 3 -> tanh(5) -> linear(2); loss = mse => [A::Tanh, A::Linear];
    hidden_relu: 3 -> relu(5) -> linear(2); loss = mse => [A::Relu, A::Linear];
    hidden_leaky_relu: 3 -> leaky_relu(5, slope = 0.2) -> linear(2); loss = mse
        => [A::LeakyRelu { slope: 0.2 }, A::Linear];
    hidden_elu: 3 -> elu(5, alpha = 0.7) -> linear(2); loss = mse
        => [A::Elu { alpha: 0.7 }, A::Linear];
    hidden_gelu: 3 -> gelu(5) -> linear(2); loss = mse => [A::Gelu, A::Linear];
    hidden_gelu_tanh: 3 -> gelu(5, approximate = tanh) -> linear(2); loss = mse
        => [A::GeluTanh, A::Linear];
    hidden_silu: 3 -> silu(5) -> linear(2); loss = mse => [A::Silu, A::Linear];
    hidden_softplus: 3 -> softplus(5, beta = 2.0) -> linear(2); loss = mse
        => [A::Softplus { beta: 2.0 }, A::Linear];

    output_linear: 3 -> tanh(4) -> linear(3); loss = mae => [A::Tanh, A::Linear];
    output_sigmoid: 3 -> tanh(4) -> sigmoid(3); loss = bce => [A::Tanh, A::Sigmoid];
    output_tanh: 3 -> sigmoid(4) -> tanh(3); loss = mse => [A::Sigmoid, A::Tanh];
    output_relu: 3 -> tanh(4) -> relu(3); loss = mse => [A::Tanh, A::Relu];
    output_leaky_relu: 3 -> tanh(4) -> leaky_relu(3); loss = mse
        => [A::Tanh, A::LeakyRelu { slope: 0.01 }];
    output_elu: 3 -> tanh(4) -> elu(3); loss = mse => [A::Tanh, A::Elu { alpha: 1.0 }];
    output_gelu: 3 -> tanh(4) -> gelu(3); loss = mse => [A::Tanh, A::Gelu];
    output_gelu_tanh: 3 -> tanh(4) -> gelu(3, approximate = tanh); loss = mse
        => [A::Tanh, A::GeluTanh];
    output_silu: 3 -> tanh(4) -> silu(3); loss = mse => [A::Tanh, A::Silu];
    output_softplus: 3 -> tanh(4) -> softplus(3); loss = huber
        => [A::Tanh, A::Softplus { beta: 1.0 }];
    output_softmax: 3 -> relu(6) -> softmax(4); loss = cross_entropy => [A::Relu, A::Softmax];
    output_softmax_without_its_loss: 3 -> tanh(4) -> softmax(3); loss = mse
        => [A::Tanh, A::Softmax];

    deep_mixed: 4 -> elu(5) -> silu(4) -> leaky_relu(3, slope = 0.2) -> softplus(3, beta = 2.0)
        -> tanh(2); loss = huber => [
            A::Elu { alpha: 1.0 },
            A::Silu,
            A::LeakyRelu { slope: 0.2 },
            A::Softplus { beta: 2.0 },
            A::Tanh
        ];
    single_layer: 3 -> gelu(2, approximate = tanh); loss = mae => [A::GeluTanh];
}

backprop::network! {
    /// A linear output.
    Linear = 3 -> tanh(5) -> linear(2); loss = mse; float = f64
}
backprop::network! {
    /// A softmax output, whose own loss would be fused with it.
    Softmax = 3 -> relu(6) -> softmax(4); loss = cross_entropy; float = f64
}
backprop::network! {
    /// Every other activation, on the way and at the output.
    Mixed = 4 -> elu(5) -> silu(4) -> leaky_relu(3, slope = 0.2) -> softplus(3, beta = 2.0)
        -> tanh(2); loss = huber(delta = 0.5); float = f64
}
backprop::network! {
    /// One layer: the input gradient comes straight from `Δ¹`.
    Single = 3 -> gelu(2, approximate = tanh); loss = mae; float = f64
}

/// With `∂L/∂Ŷ` of the network's own loss, `backward` is `gradients`: here
/// mean squared error, `∂L/∂Ŷ = 2(Ŷ − Y) / (B·n)` written out by hand.
#[test]
fn the_own_losss_gradient_gives_what_gradients_gives() {
    let net = Linear::seeded(3);
    let x = inputs::<4, 3>();
    let y = [[0.5, -0.25]; 4];
    let output = net.forward(&x);
    let mut grad_output = [[0.0; 2]; 4];
    for (row, (out, target)) in output.iter().zip(&y).enumerate() {
        for j in 0..2 {
            grad_output[row][j] = 2.0 * (out[j] - target[j]) / 8.0;
        }
    }
    let (grad, grad_x) = net.backward(&x, &grad_output);
    let (_, expected) = net.gradients(&x, &y);
    let (_, expected_x) = net.input_gradients(&x, &y);
    assert_close(grad.params(), expected.params());
    assert_close(grad_x.as_flattened(), expected_x.as_flattened());
}

/// `backward_slice` on 11 rows (a chunk of 8 and one of 3 padded with
/// zero rows) gives what `backward` gives on the same rows at a batch size
/// known at compile time, which is itself checked against finite
/// differences here; for a softmax output, whose Jacobian–vector product
/// of a padded zero row must add nothing.
#[test]
fn backward_slice_matches_backward_across_chunks() {
    let net = Softmax::seeded(5);
    let reference = mlp::Architecture {
        inputs: 3,
        layers: vec![(A::Relu, 6), (A::Softmax, 4)],
        loss: mlp::Loss::Mse,
    };
    check::<Softmax, 11, 3, 4>(&net, &reference);
    let x = inputs::<11, 3>();
    let grad_output = custom_gradient(&net.forward(&x));
    let (expected, expected_x) = net.backward(&x, &grad_output);
    let mut grad = Softmax::zeros();
    let mut grad_x = [[f64::NAN; 3]; 11];
    net.backward_slice(&x, &grad_output, &mut grad, Some(&mut grad_x))
        .expect("rows match");
    assert_close(grad.params(), expected.params());
    assert_close(grad_x.as_flattened(), expected_x.as_flattened());
}

/// `backward_into` adds: two calls sum the two batches' gradients, as
/// PyTorch's `backward` accumulates into `.grad`.
#[test]
fn backward_into_accumulates_gradients() {
    let net = Mixed::seeded(2);
    let (a, b) = (inputs::<4, 4>(), inputs::<7, 4>());
    let (grad_output_a, grad_output_b) = (
        custom_gradient(&net.forward(&a)),
        custom_gradient(&net.forward(&b)),
    );
    let mut sum = Mixed::zeros();
    let mut grad_x = [[0.0; 4]; 7];
    net.backward_into(&a, &grad_output_a, &mut sum, None);
    net.backward_into(&b, &grad_output_b, &mut sum, Some(&mut grad_x));
    let ((grad_a, _), (grad_b, expected_x)) = (
        net.backward(&a, &grad_output_a),
        net.backward(&b, &grad_output_b),
    );
    for ((s, a), b) in sum
        .params()
        .iter()
        .zip(grad_a.params())
        .zip(grad_b.params())
    {
        assert!(
            (s - (a + b)).abs() <= 1e-12 * (1.0 + s.abs()),
            "{s} vs {a} + {b}"
        );
    }
    assert_eq!(
        grad_x, expected_x,
        "grad_x is the last batch's, overwritten"
    );
}

/// A bad run-time batch is an error that leaves the gradient as it was.
#[test]
fn backward_slice_rejects_bad_batches_and_changes_nothing() {
    let net = Linear::seeded(1);
    let x = inputs::<3, 3>();
    let mut grad = Linear::seeded(9);
    let before = grad.clone();
    let mut grad_x = [[0.0; 3]; 2];
    let errors = [
        net.backward_slice(&x, &[[1.0, 0.0]; 2], &mut grad, None),
        net.backward_slice(&x, &[[1.0, 0.0]; 3], &mut grad, Some(&mut grad_x)),
        net.backward_slice(&[], &[], &mut grad, None),
    ];
    assert_eq!(
        errors.map(|error| error.expect_err("a bad batch").to_string()),
        [
            "the batch has 3 input rows but 2 output-gradient rows; give one row per sample",
            "the batch has 3 input rows but 2 input-gradient rows; give one row per sample",
            "the batch has no rows; a loss needs at least one sample",
        ]
    );
    assert_eq!(grad, before);
}

/// A kept forward pass gives `forward`'s outputs, and backpropagating
/// from it gives what `backward` gives (checked against finite
/// differences above), for every kind of output.
#[test]
fn a_trace_backpropagates_as_backward_does() {
    macro_rules! same {
        ($net:ident) => {{
            let net = $net::seeded(4);
            let x = inputs::<5, 3>();
            let trace = net.trace(&x);
            assert_eq!(trace.output(), &net.forward(&x));
            let grad_output = trace.output().map(|row| row.map(|y| 0.5 - y));
            let (expected, expected_x) = net.backward(&x, &grad_output);
            let mut grad = $net::zeros();
            let mut grad_x = [[0.0; 3]; 5];
            trace.backward_into(&grad_output, &mut grad, Some(&mut grad_x));
            assert_eq!(grad.params(), expected.params());
            assert_eq!(grad_x, expected_x);
        }};
    }
    same!(Linear);
    same!(Softmax);
    same!(Single);
}
