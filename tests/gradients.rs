//! Backpropagation is right: for several architectures and batch sizes, every
//! parameter and input gradient equals the central finite difference of the
//! loss; `f32` networks agree with `f64` twins; the run-time-size (`*_slice`)
//! methods agree with the const-size ones; and the generated code agrees with
//! a plain reference implementation written from the textbook formulas.

// Bit-for-bit equality is what some tests mean to check.
#![allow(clippy::float_cmp)]

mod common;

use backprop::Network;

/// The tests every architecture must pass, for the networks `Net64`
/// (`float = f64`) and `Net32` (its `f32` twin) defined next to the
/// invocation, whose architecture is repeated here for the reference.
///
/// The networks are not defined inside this macro because `network!` fails
/// to compile inside a `macro_rules!` body whose layers come from the
/// macro's arguments (the generated passes take the hygiene of the
/// activation tokens, so `self`, `x`, `y`, … no longer resolve); each module
/// spells its architecture out instead.
macro_rules! gradient_tests {
    ($inputs:tt $(-> $activation:ident($width:tt))+) => {
        const SPEC: Spec = Spec {
            inputs: $inputs,
            layers: &[$((stringify!($activation), $width)),+],
        };

        const NAME: &str = module_path!();

        fn case<const B: usize>() -> (
            Net64,
            [<Net64 as Network>::Input; B],
            [<Net64 as Network>::Output; B],
        ) {
            let (net, x, y) = common::pick_case(SPEC, Net64::seeded);
            let reference = common::reference(
                SPEC,
                net.params(),
                &common::to_vecs(&x),
                &common::to_vecs(&y),
            );
            // Finite differences are valid only away from relu's kink.
            assert!(common::relu_margin(SPEC, &reference) >= common::RELU_MARGIN);
            (net, x, y)
        }

        #[test]
        fn parameter_counts_match_the_architecture() {
            assert_eq!(Net64::PARAMS, SPEC.params());
            assert_eq!(Net32::PARAMS, SPEC.params());
            assert_eq!(Net64::INPUTS, SPEC.inputs);
            assert_eq!(Net64::OUTPUTS, SPEC.layers.last().unwrap().1);
            assert_eq!(Net64::LAYERS, SPEC.layers.len());
            assert_eq!(<Net64 as Network>::PARAMS, Net64::PARAMS);
            assert_eq!(<Net32 as Network>::LAYERS, Net32::LAYERS);
        }

        #[test]
        fn parameter_gradients_match_finite_differences() {
            let (net, x, y) = case::<1>();
            common::check_parameter_gradients(&net, &x, &y, NAME);
            let (net, x, y) = case::<4>();
            common::check_parameter_gradients(&net, &x, &y, NAME);
            let (net, x, y) = case::<7>();
            common::check_parameter_gradients(&net, &x, &y, NAME);
        }

        #[test]
        fn input_gradients_match_finite_differences() {
            let (net, x, y) = case::<1>();
            common::check_input_gradients(&net, &x, &y, NAME);
            let (net, x, y) = case::<4>();
            common::check_input_gradients(&net, &x, &y, NAME);
            let (net, x, y) = case::<7>();
            common::check_input_gradients(&net, &x, &y, NAME);
        }

        #[test]
        fn f32_twin_agrees_with_f64_to_f32_precision() {
            let (net, x, y) = common::pick_case::<Net32, 1>(SPEC, Net32::seeded);
            common::check_f32_twin::<Net64, Net32, 1>(&net, &x, &y, NAME);
            let (net, x, y) = common::pick_case::<Net32, 4>(SPEC, Net32::seeded);
            common::check_f32_twin::<Net64, Net32, 4>(&net, &x, &y, NAME);
            let (net, x, y) = common::pick_case::<Net32, 7>(SPEC, Net32::seeded);
            common::check_f32_twin::<Net64, Net32, 7>(&net, &x, &y, NAME);
        }

        #[test]
        fn slice_methods_match_const_size_methods() {
            // 7 rows: one padded chunk of 8; 8: one chunk; 19: two chunks
            // of 8 and a padded one; 32: one large chunk (training takes
            // chunks of 32 first); 75: two large chunks, one of 8 and a
            // padded one.
            let (net, x, y) = case::<7>();
            common::check_slices_match_const(&net, &x, &y, NAME);
            let (net, x, y) = case::<8>();
            common::check_slices_match_const(&net, &x, &y, NAME);
            let (net, x, y) = case::<19>();
            common::check_slices_match_const(&net, &x, &y, NAME);
            let (net, x, y) = case::<32>();
            common::check_slices_match_const(&net, &x, &y, NAME);
            let (net, x, y) = case::<75>();
            common::check_slices_match_const(&net, &x, &y, NAME);
        }

        #[test]
        fn generated_code_matches_reference_implementation() {
            let (net, x, y) = case::<7>();
            let reference = common::reference(
                SPEC,
                net.params(),
                &common::to_vecs(&x),
                &common::to_vecs(&y),
            );
            let what = format!("{NAME} vs reference");
            common::assert_close(net.loss(&x, &y), reference.loss, 1e-15, 1e-12, &what);
            let outputs = net.forward(&x);
            for (row, (out, expected)) in outputs.iter().zip(&reference.outputs).enumerate() {
                let what = format!("{what}: output row {row}");
                common::assert_all_close(out, expected, 1e-15, 1e-12, what);
            }
            let (_, grad) = net.gradients(&x, &y);
            let expected = &reference.param_gradients;
            let what_grad = format!("{what}: ∂L/∂θ");
            common::assert_all_close(grad.params(), expected, 1e-15, 1e-10, what_grad);
            let (_, grad_x) = net.input_gradients(&x, &y);
            for (row, (g, expected)) in grad_x.iter().zip(&reference.input_gradients).enumerate() {
                let what = format!("{what}: ∂L/∂X row {row}");
                common::assert_all_close(g, expected, 1e-15, 1e-10, what);
            }
        }
    };
}

/// The seed's network.
mod seed_network {
    use backprop::Network;

    use super::common::{self, Spec};

    backprop::network! { pub(crate) Net64 = 2 -> sigmoid(3) -> linear(1); loss = mse; float = f64 }
    backprop::network! { pub(crate) Net32 = 2 -> sigmoid(3) -> linear(1); loss = mse }

    gradient_tests!(2 -> sigmoid(3) -> linear(1));
}

/// Four hidden layers.
mod deep_network {
    use backprop::Network;

    use super::common::{self, Spec};

    backprop::network! {
        pub(crate) Net64 = 3 -> tanh(5) -> sigmoid(6) -> tanh(4) -> sigmoid(5) -> linear(2); loss = mse; float = f64
    }
    backprop::network! {
        pub(crate) Net32 = 3 -> tanh(5) -> sigmoid(6) -> tanh(4) -> sigmoid(5) -> linear(2); loss = mse
    }

    gradient_tests!(3 -> tanh(5) -> sigmoid(6) -> tanh(4) -> sigmoid(5) -> linear(2));
}

/// One wide hidden layer.
mod wide_network {
    use backprop::Network;

    use super::common::{self, Spec};

    backprop::network! { pub(crate) Net64 = 5 -> tanh(64) -> linear(3); loss = mse; float = f64 }
    backprop::network! { pub(crate) Net32 = 5 -> tanh(64) -> linear(3); loss = mse }

    gradient_tests!(5 -> tanh(64) -> linear(3));
}

/// No hidden layer, non-linear output.
mod single_layer_network {
    use backprop::Network;

    use super::common::{self, Spec};

    backprop::network! { pub(crate) Net64 = 4 -> sigmoid(2); loss = mse; float = f64 }
    backprop::network! { pub(crate) Net32 = 4 -> sigmoid(2); loss = mse }

    gradient_tests!(4 -> sigmoid(2));
}

/// Plain linear regression: one linear layer.
mod linear_regression_network {
    use backprop::Network;

    use super::common::{self, Spec};

    backprop::network! { pub(crate) Net64 = 3 -> linear(1); loss = mse; float = f64 }
    backprop::network! { pub(crate) Net32 = 3 -> linear(1); loss = mse }

    gradient_tests!(3 -> linear(1));
}

/// Every activation in the hidden layers and a non-linear output.
mod every_activation_network {
    use backprop::Network;

    use super::common::{self, Spec};

    backprop::network! {
        pub(crate) Net64 = 3 -> linear(4) -> sigmoid(5) -> tanh(6) -> relu(7) -> tanh(2); loss = mse; float = f64
    }
    backprop::network! {
        pub(crate) Net32 = 3 -> linear(4) -> sigmoid(5) -> tanh(6) -> relu(7) -> tanh(2); loss = mse
    }

    gradient_tests!(3 -> linear(4) -> sigmoid(5) -> tanh(6) -> relu(7) -> tanh(2));
}

/// `relu` everywhere, the output included.
mod relu_network {
    use backprop::Network;

    use super::common::{self, Spec};

    backprop::network! {
        pub(crate) Net64 = 6 -> relu(16) -> relu(8) -> relu(2); loss = mse; float = f64
    }
    backprop::network! { pub(crate) Net32 = 6 -> relu(16) -> relu(8) -> relu(2); loss = mse }

    gradient_tests!(6 -> relu(16) -> relu(8) -> relu(2));
}

// ---------------------------------------------------------------------------
// An independent check of the seed network: the textbook formulas, written
// out for 2 → sigmoid(3) → linear(1) over plain `Vec`s.
// ---------------------------------------------------------------------------

backprop::network! {
    Seed = 2 -> sigmoid(3) -> linear(1); loss = mse; float = f64
}

/// The seed network's loss, `∂L/∂θ` (in the library's layout) and `∂L/∂X`,
/// by hand: `z = xW¹ + b¹`, `h = σ(z)`, `ŷ = hW² + b²`, `L = mean (ŷ − y)²`.
fn seed_by_hand(params: &[f64], x: &[Vec<f64>], y: &[f64]) -> (f64, Vec<f64>, Vec<Vec<f64>>) {
    // W¹ is 2×3 row-major: W¹[i][j] = params[3i + j]; then b¹ (3), W² (3×1), b² (1).
    let w1 = |i: usize, j: usize| params[3 * i + j];
    let b1 = |j: usize| params[6 + j];
    let w2 = |j: usize| params[9 + j];
    let b2 = params[12];
    let n = x.len() as f64;

    let mut loss = 0.0;
    let mut grad = vec![0.0; 13];
    let mut grad_x = Vec::new();
    for (xs, &target) in x.iter().zip(y) {
        let z: Vec<f64> = (0..3)
            .map(|j| xs[0] * w1(0, j) + xs[1] * w1(1, j) + b1(j))
            .collect();
        let h: Vec<f64> = z.iter().map(|z| 1.0 / (1.0 + (-z).exp())).collect();
        let out = h[0] * w2(0) + h[1] * w2(1) + h[2] * w2(2) + b2;
        loss += (out - target).powi(2) / n;

        let d_out = 2.0 * (out - target) / n;
        for j in 0..3 {
            grad[9 + j] += d_out * h[j];
        }
        grad[12] += d_out;
        let d_z: Vec<f64> = (0..3)
            .map(|j| d_out * w2(j) * h[j] * (1.0 - h[j]))
            .collect();
        for j in 0..3 {
            grad[j] += xs[0] * d_z[j];
            grad[3 + j] += xs[1] * d_z[j];
            grad[6 + j] += d_z[j];
        }
        grad_x.push(vec![
            (0..3).map(|j| d_z[j] * w1(0, j)).sum(),
            (0..3).map(|j| d_z[j] * w1(1, j)).sum(),
        ]);
    }
    (loss, grad, grad_x)
}

#[test]
fn seed_network_matches_hand_written_backpropagation() {
    let mut net = Seed::seeded(3);
    common::perturb(&mut net, 4, 0.3);
    let x = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.3, -0.7]];
    let y = [[0.0], [1.0], [1.0], [0.0], [0.25]];

    let (loss, grad, grad_x) = seed_by_hand(
        net.params(),
        &x.iter().map(|r| r.to_vec()).collect::<Vec<_>>(),
        &y.iter().map(|r| r[0]).collect::<Vec<_>>(),
    );
    common::assert_close(net.loss(&x, &y), loss, 1e-15, 1e-12, "loss");
    let (library_loss, library_grad) = net.gradients(&x, &y);
    common::assert_close(library_loss, loss, 1e-15, 1e-12, "loss of gradients");
    common::assert_all_close(library_grad.params(), &grad, 1e-15, 1e-12, "∂L/∂θ");
    let (_, library_grad_x) = net.input_gradients(&x, &y);
    for (row, (g, expected)) in library_grad_x.iter().zip(&grad_x).enumerate() {
        common::assert_all_close(g, expected, 1e-15, 1e-12, format_args!("∂L/∂X row {row}"));
    }
    // The typed views of the gradient name the same entries.
    assert_eq!(library_grad.w1()[1][2], library_grad.params()[5]);
    assert_eq!(library_grad.b1()[0], library_grad.params()[6]);
    assert_eq!(library_grad.w2()[2][0], library_grad.params()[11]);
    assert_eq!(library_grad.b2()[0], library_grad.params()[12]);
}

#[test]
fn parameter_layout_is_w1_row_major_then_b1_then_w2_then_b2() {
    let mut net = Seed::zeros();
    let mut next = 0.0;
    for i in 0..2 {
        for j in 0..3 {
            net.w1_mut()[i][j] = next;
            next += 1.0;
        }
    }
    for j in 0..3 {
        net.b1_mut()[j] = next;
        next += 1.0;
    }
    for j in 0..3 {
        net.w2_mut()[j][0] = next;
        next += 1.0;
    }
    net.b2_mut()[0] = next;
    let expected: Vec<f64> = (0..13).map(f64::from).collect();
    assert_eq!(net.params(), expected.as_slice());
    assert_eq!(Network::params(&net), expected.as_slice());

    // w1()[i][j] connects input i to hidden unit j: only input 1 is on, so
    // hidden unit j sees z = W¹[1][j] + b¹[j].
    let mut net = Seed::zeros();
    net.w1_mut()[1][2] = 2.0;
    net.w2_mut()[2][0] = 1.0;
    let out = net.forward(&[[0.0, 1.0]])[0][0];
    let sigmoid = |z: f64| 1.0 / (1.0 + (-z).exp());
    common::assert_close(out, sigmoid(2.0), 1e-15, 1e-12, "forward");
}
