//! Backpropagating a gradient the caller supplies (`Network::backward`):
//! for a loss the network does not know, every parameter and input
//! gradient equals the central finite difference of that loss, for every
//! kind of output layer, in `f64`, at batch sizes 1, 4 and 7.

use backprop::Network;

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

/// `backward` against central differences of `custom_loss ∘ forward`.
fn check<N, const B: usize, const I: usize, const O: usize>(net: &N)
where
    N: Network<Float = f64, Input = [f64; I], Output = [f64; O]>,
{
    let x = inputs::<B, I>();
    let (grad, grad_x) = net.backward(&x, &custom_gradient(&net.forward(&x)));
    let loss_at = |net: &N, x: &[[f64; I]; B]| custom_loss(&net.forward(x));
    let h = 1e-6;
    for index in 0..N::PARAMS {
        let (mut up, mut down) = (net.clone(), net.clone());
        up.params_mut()[index] += h;
        down.params_mut()[index] -= h;
        let numeric = (loss_at(&up, &x) - loss_at(&down, &x)) / (2.0 * h);
        let analytic = grad.params()[index];
        assert!(
            (numeric - analytic).abs() <= 1e-6 * (1.0 + numeric.abs()),
            "parameter {index}, batch {B}: finite difference {numeric}, backward {analytic}"
        );
    }
    for row in 0..B {
        for column in 0..I {
            let (mut up, mut down) = (x, x);
            up[row][column] += h;
            down[row][column] -= h;
            let numeric = (loss_at(net, &up) - loss_at(net, &down)) / (2.0 * h);
            let analytic = grad_x[row][column];
            assert!(
                (numeric - analytic).abs() <= 1e-6 * (1.0 + numeric.abs()),
                "input {row},{column}, batch {B}: finite difference {numeric}, backward {analytic}"
            );
        }
    }
}

/// Equal to rounding: within `10⁻¹²` relative, element by element.
fn assert_close(got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len());
    for (a, b) in got.iter().zip(want) {
        assert!((a - b).abs() <= 1e-12 * (1.0 + b.abs()), "{a} vs {b}");
    }
}

macro_rules! supplied_gradient_test {
    ($test:ident, $net:ident, $inputs:literal, $outputs:literal) => {
        #[test]
        fn $test() {
            let net = $net::seeded(7);
            check::<$net, 1, $inputs, $outputs>(&net);
            check::<$net, 4, $inputs, $outputs>(&net);
            check::<$net, 7, $inputs, $outputs>(&net);
        }
    };
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
    /// A sigmoid output, whose own loss would be fused with it.
    Sigmoid = 2 -> gelu(4) -> sigmoid(3); loss = bce; float = f64
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

supplied_gradient_test!(linear_output_matches_finite_differences, Linear, 3, 2);
supplied_gradient_test!(softmax_output_matches_finite_differences, Softmax, 3, 4);
supplied_gradient_test!(sigmoid_output_matches_finite_differences, Sigmoid, 2, 3);
supplied_gradient_test!(every_activation_matches_finite_differences, Mixed, 4, 2);
supplied_gradient_test!(a_single_layer_matches_finite_differences, Single, 3, 2);

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
    check::<Softmax, 11, 3, 4>(&net);
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
