//! `backprop::gradcheck`: it reports tiny errors for correct gradients of
//! several networks, in `f64` and in `f32` within the bounds its
//! documentation states, finds a wrong gradient where it is wrong, names
//! entries as the layers do, and leaves the network as it was.

// Exact equality is asserted where the check must reproduce a value bit for bit.
#![allow(clippy::float_cmp)]

use backprop::gradcheck::{self, Entry, FiniteDifferences};
use backprop::{Float, Network};

backprop::network! {
    /// Regression through two hidden layers, with a relu.
    Regressor = 4 -> tanh(6) -> relu(5) -> linear(3); loss = mse; float = f64
}
backprop::network! {
    /// `Regressor` in `f32`.
    Regressor32 = 4 -> tanh(6) -> relu(5) -> linear(3); loss = mse
}
backprop::network! {
    /// A classifier, whose loss is fused with its softmax.
    Classifier = 3 -> gelu(5) -> sigmoid(4) -> softmax(3); loss = cross_entropy; float = f64
}
backprop::network! {
    /// `Classifier` in `f32`.
    Classifier32 = 3 -> gelu(5) -> sigmoid(4) -> softmax(3); loss = cross_entropy
}
backprop::network! {
    /// Binary outputs, whose loss is fused with their sigmoid.
    Binary = 5 -> silu(6) -> elu(4) -> sigmoid(2); loss = bce; float = f64
}
backprop::network! {
    /// `Binary` in `f32`.
    Binary32 = 5 -> silu(6) -> elu(4) -> sigmoid(2); loss = bce
}
backprop::network! {
    /// A robust regression loss and softplus.
    Robust = 2 -> softplus(4, beta = 2.0) -> leaky_relu(3, slope = 0.1) -> linear(2);
        loss = huber(delta = 0.5); float = f64
}

/// Inputs that differ from entry to entry, away from relu's kink for
/// the seeds used here.
fn inputs<const B: usize, const N: usize>() -> [[f64; N]; B] {
    let mut x = [[0.0; N]; B];
    for (i, row) in x.iter_mut().enumerate() {
        for (j, value) in row.iter_mut().enumerate() {
            *value = (0.77 * (i * N + j) as f64 + 0.3).sin();
        }
    }
    x
}

/// One-hot rows, class `i mod N` for sample `i`: targets for every loss.
fn targets<const B: usize, const N: usize>() -> [[f64; N]; B] {
    let mut y = [[0.0; N]; B];
    for (i, row) in y.iter_mut().enumerate() {
        row[i % N] = 1.0;
    }
    y
}

fn to_f32<const B: usize, const N: usize>(rows: &[[f64; N]; B]) -> [[f32; N]; B] {
    rows.map(|row| row.map(f32::from_f64))
}

/// `L = Σ c·ŷ + ½ Σ ŷ²` with weights `c` that differ from entry to entry:
/// `∂L/∂Ŷ = c + Ŷ`.
fn own_loss<const B: usize, const N: usize>(
    output: &[[f64; N]; B],
    grad: &mut [[f64; N]; B],
) -> f64 {
    let mut loss = 0.0;
    for (i, (row, grad)) in output.iter().zip(grad).enumerate() {
        for (j, (&y, g)) in row.iter().zip(grad).enumerate() {
            let c = 0.3 * (i as f64 + 1.0) - 0.7 * j as f64 + 0.11;
            loss += c * y + 0.5 * y * y;
            *g = c + y;
        }
    }
    loss
}

/// The built-in loss and a loss of our own, at batch sizes 1 and 5: below
/// the `1e-6` the module promises for `f64`, over every parameter and
/// input (and, for our own loss, output).
macro_rules! assert_correct_f64 {
    ($net:ident, $inputs:literal, $outputs:literal) => {{
        for seed in [1, 2] {
            let net = $net::seeded(seed);
            let check = gradcheck::check(&net, &inputs::<1, $inputs>(), &targets::<1, $outputs>());
            assert!(
                check.worst_relative_error < 1e-6,
                "{}, seed {seed}: {check}",
                stringify!($net)
            );
            let (x, y) = (inputs::<5, $inputs>(), targets::<5, $outputs>());
            let check = gradcheck::check(&net, &x, &y);
            assert!(
                check.worst_relative_error < 1e-6,
                "{}, seed {seed}: {check}",
                stringify!($net)
            );
            assert_eq!(check.worst.compared, $net::PARAMS + 5 * $inputs);
            assert_eq!(check.output_gradient, None);
            let check = gradcheck::check_own_loss(&net, &x, own_loss);
            assert!(
                check.worst_relative_error < 1e-6,
                "{}, seed {seed}: {check}",
                stringify!($net)
            );
            assert_eq!(
                check.output_gradient.map(|o| o.compared),
                Some(5 * $outputs)
            );
        }
    }};
}

#[test]
fn correct_gradients_in_f64_have_errors_below_one_in_a_million() {
    assert_correct_f64!(Regressor, 4, 3);
    assert_correct_f64!(Classifier, 3, 3);
    assert_correct_f64!(Binary, 5, 2);
    assert_correct_f64!(Robust, 2, 2);
}

/// The same networks in `f32`, with the same parameters and data: below
/// the `2e-2` the module states for `f32`.
#[test]
fn correct_gradients_in_f32_stay_within_the_stated_bound() {
    macro_rules! assert_correct_f32 {
        ($net64:ident, $net32:ident, $inputs:literal, $outputs:literal) => {{
            for seed in [1, 2, 3] {
                let net64 = $net64::seeded(seed);
                let mut net = $net32::zeros();
                for (p, q) in net.params_mut().iter_mut().zip(net64.params()) {
                    *p = f32::from_f64(*q);
                }
                let x = to_f32(&inputs::<8, $inputs>());
                let y = to_f32(&targets::<8, $outputs>());
                let check = gradcheck::check(&net, &x, &y);
                assert!(
                    check.worst_relative_error < 2e-2,
                    "{}, seed {seed}: {check}",
                    stringify!($net32)
                );
            }
        }};
    }
    assert_correct_f32!(Regressor, Regressor32, 4, 3);
    assert_correct_f32!(Classifier, Classifier32, 3, 3);
    assert_correct_f32!(Binary, Binary32, 5, 2);
}

/// `∂L/∂Ŷ` twice too large at one entry: the supplied gradient's check
/// names that entry with relative error `|2g − g| / |2g| = 0.5`, and the
/// network's gradient, backpropagated from it, is far off too.
#[test]
fn a_supplied_gradient_off_by_a_factor_is_named_where_it_is() {
    let net = Regressor::seeded(1);
    let x = inputs::<4, 4>();
    let check = gradcheck::check_own_loss(&net, &x, |output, grad| {
        let loss = own_loss(output, grad);
        grad[2][1] *= 2.0;
        loss
    });
    let output = check.output_gradient.expect("a loss of our own");
    assert_eq!(output.entry, Entry::Output { row: 2, column: 1 });
    assert!((output.relative_error - 0.5).abs() < 1e-6, "{check}");
    assert!(check.worst_relative_error >= 0.5, "{check}");
    assert!(check.worst.relative_error > 1e-2, "{check}");
    assert!(check.to_string().contains("Ŷ [2][1]: analytic"), "{check}");
}

/// The wrong sign at one entry: relative error `|−g − g| / |g| = 2`.
#[test]
fn a_supplied_gradient_of_the_wrong_sign_is_named_where_it_is() {
    let net = Classifier::seeded(2);
    let x = inputs::<3, 3>();
    let check = gradcheck::check_own_loss(&net, &x, |output, grad| {
        let loss = own_loss(output, grad);
        grad[0][2] = -grad[0][2];
        loss
    });
    let output = check.output_gradient.expect("a loss of our own");
    assert_eq!(output.entry, Entry::Output { row: 0, column: 2 });
    assert!((output.relative_error - 2.0).abs() < 1e-6, "{check}");
    assert!(check.worst.relative_error > 1e-2, "{check}");
}

/// A gradient that forgets a term is wrong by that term in every entry:
/// here `½ Σ ŷ²` is dropped, leaving `∂L/∂Ŷ = c`.
#[test]
fn a_supplied_gradient_missing_a_term_is_caught() {
    let net = Binary::seeded(1);
    let x = inputs::<2, 5>();
    let check = gradcheck::check_own_loss(&net, &x, |output, grad| {
        let loss = own_loss(output, grad);
        for (g, y) in grad
            .as_flattened_mut()
            .iter_mut()
            .zip(output.as_flattened())
        {
            *g -= y;
        }
        loss
    });
    assert!(check.worst_relative_error > 0.1, "{check}");
    assert!(check.worst.relative_error > 0.1, "{check}");
}

/// Every parameter and bias in turn: a correct gradient with that one
/// entry changed is reported at that entry, named by its layer, row and
/// column as the network's views `w1()`, `b1()`, … lay them out.
#[test]
fn a_wrong_parameter_entry_is_found_and_named_by_its_layer() {
    let net = Robust::seeded(3);
    let (x, y) = (inputs::<3, 2>(), targets::<3, 2>());
    let (_, grad) = net.gradients(&x, &y);
    let loss = |net: &Robust| net.loss(&x, &y);
    assert!(gradcheck::check_gradient(&net, &grad, loss).worst_relative_error < 1e-6);
    // Where each parameter is, written out from the layer widths.
    let mut expected = Vec::new();
    for (l, pair) in Robust::WIDTHS.windows(2).enumerate() {
        for row in 0..pair[0] {
            for column in 0..pair[1] {
                let parameter = expected.len();
                expected.push(Entry::Weight {
                    parameter,
                    layer: l + 1,
                    row,
                    column,
                });
            }
        }
        for unit in 0..pair[1] {
            let parameter = expected.len();
            expected.push(Entry::Bias {
                parameter,
                layer: l + 1,
                unit,
            });
        }
    }
    assert_eq!(expected.len(), Robust::PARAMS);
    for (index, entry) in expected.into_iter().enumerate() {
        let mut wrong = grad.clone();
        wrong.params_mut()[index] += 1.0;
        let check = gradcheck::check_gradient(&net, &wrong, loss);
        assert_eq!(check.worst.entry, entry, "{check}");
        assert!(check.worst_relative_error > 0.1, "{check}");
        assert_eq!(check.worst.analytic, wrong.params()[index]);
    }
    // The name is the view's: `w2()[1][0]` is reported as `W² [1][0]`.
    let mut wrong = grad.clone();
    wrong.w2_mut()[1][0] += 1.0;
    let check = gradcheck::check_gradient(&net, &wrong, loss);
    assert!(
        check
            .to_string()
            .starts_with("worst of 35 entries: W² [1][0]: analytic"),
        "{check}"
    );
}

/// A NaN in the gradient is the worst entry, wherever it is.
#[test]
fn a_nan_entry_is_the_worst() {
    let net = Regressor::seeded(1);
    let (x, y) = (inputs::<2, 4>(), targets::<2, 3>());
    let (_, mut grad) = net.gradients(&x, &y);
    grad.params_mut()[3] = f64::NAN;
    grad.params_mut()[7] *= 3.0;
    let check = gradcheck::check_gradient(&net, &grad, |net| net.loss(&x, &y));
    assert!(check.worst_relative_error.is_nan(), "{check}");
    assert!(
        matches!(check.worst.entry, Entry::Weight { parameter: 3, .. }),
        "{check}"
    );
}

/// The network is read, never written: its parameters keep their exact
/// bits, `-0.0` and a subnormal included. The copy that the differences
/// perturb is put back entry by entry: the last parameter's difference,
/// taken after every other one's, is the one taken on a fresh copy.
#[test]
fn the_network_keeps_its_exact_bits_and_each_difference_starts_from_them() {
    let mut net = Regressor::seeded(4);
    net.params_mut()[0] = -0.0;
    net.params_mut()[1] = f64::MIN_POSITIVE / 8.0;
    let bits = |net: &Regressor| net.params().iter().map(|p| p.to_bits()).collect::<Vec<_>>();
    let before = bits(&net);
    let (x, y) = (inputs::<3, 4>(), targets::<3, 3>());
    let first = gradcheck::check(&net, &x, &y);
    assert_eq!(bits(&net), before);
    assert_eq!(
        gradcheck::check(&net, &x, &y),
        first,
        "the same report again"
    );

    let (_, mut grad) = net.gradients(&x, &y);
    let last = Regressor::PARAMS - 1;
    grad.params_mut()[last] += 1.0;
    let check = gradcheck::check_gradient(&net, &grad, |net| net.loss(&x, &y));
    assert_eq!(
        check.worst.entry,
        Entry::Bias {
            parameter: last,
            layer: 3,
            unit: 2
        }
    );
    let value = net.params()[last];
    let h = FiniteDifferences::F64.step * value.abs().max(1.0);
    let (mut up, mut down) = (net.clone(), net.clone());
    up.params_mut()[last] = value + h;
    down.params_mut()[last] = value - h;
    let fresh = (up.loss(&x, &y) - down.loss(&x, &y)) / ((value + h) - (value - h));
    assert_eq!(check.worst.numeric, fresh);
    assert_eq!(bits(&net), before);
}

/// The report reads as the module documents it: the entry as `W¹ [0][0]`,
/// six significant digits, the error with one decimal; layers past 9 in
/// superscript digits too.
#[test]
fn the_report_reads_as_documented() {
    backprop::network! {
        /// `ŷ = w·x + b`.
        Line = 1 -> linear(1); loss = mse; float = f64
    }
    let mut line = Line::zeros();
    line.params_mut().copy_from_slice(&[2.0, 0.5]);
    // L = ŷ² at x = 1: ∂L/∂w = ∂L/∂b = 2ŷ = 5; a zero gradient is wrong by
    // all of it, relative error 1 in both entries, and the first is named.
    let check = gradcheck::check_gradient(&line, &Line::zeros(), |line| {
        let [[y]] = line.forward(&[[1.0]]);
        y * y
    });
    assert_eq!(
        check.to_string(),
        "worst of 2 entries: W¹ [0][0]: analytic 0, numeric 5.00000, relative error 1.0e0"
    );
    let entries = [
        Entry::Weight {
            parameter: 9,
            layer: 12,
            row: 3,
            column: 0,
        },
        Entry::Bias {
            parameter: 9,
            layer: 1,
            unit: 4,
        },
        Entry::Input { row: 0, column: 2 },
        Entry::Output { row: 6, column: 1 },
    ];
    assert_eq!(
        entries.map(|entry| entry.to_string()),
        ["W¹² [3][0]", "b¹ [4]", "X [0][2]", "Ŷ [6][1]"]
    );
}

/// Settings: the defaults by float type, and `inputs = false` compares the
/// parameters alone.
#[test]
fn settings_choose_the_step_by_type_and_can_leave_inputs_out() {
    assert_eq!(
        FiniteDifferences::for_float::<f64>(),
        FiniteDifferences::F64
    );
    assert_eq!(
        FiniteDifferences::for_float::<f32>(),
        FiniteDifferences::F32
    );
    let net = Classifier::seeded(1);
    let (x, y) = (inputs::<2, 3>(), targets::<2, 3>());
    let parameters_only = FiniteDifferences {
        inputs: false,
        ..FiniteDifferences::F64
    };
    let check = parameters_only.check(&net, &x, &y);
    assert_eq!(check.worst.compared, Classifier::PARAMS);
    assert!(matches!(
        check.worst.entry,
        Entry::Weight { .. } | Entry::Bias { .. }
    ));
    let check = parameters_only.check_own_loss(&net, &x, own_loss);
    assert_eq!(check.worst.compared, Classifier::PARAMS);
}

/// An input gradient with one entry wrong, from `check_input_gradient`:
/// named by its sample and column.
#[test]
fn a_wrong_input_gradient_entry_is_named_by_its_sample_and_column() {
    let net = Classifier::seeded(4);
    let (x, y) = (inputs::<4, 3>(), targets::<4, 3>());
    let (_, mut grad_x) = net.input_gradients(&x, &y);
    let loss = |x: &[[f64; 3]; 4]| net.loss(x, &y);
    let check = gradcheck::check_input_gradient(&x, &grad_x, loss);
    assert!(check.worst_relative_error < 1e-6, "{check}");
    assert_eq!(check.worst.compared, 12);
    grad_x[3][1] = -grad_x[3][1];
    let check = gradcheck::check_input_gradient(&x, &grad_x, loss);
    assert_eq!(check.worst.entry, Entry::Input { row: 3, column: 1 });
    assert!((check.worst_relative_error - 2.0).abs() < 1e-6, "{check}");
}

/// In `f32` a loss of our own checks within the `f32` bound too, and a
/// factor of 2 in its `∂L/∂Ŷ` still stands out at its entry.
#[test]
fn an_own_loss_in_f32_is_checked_and_a_factor_of_two_stands_out() {
    let net = Regressor32::seeded(2);
    let x = to_f32(&inputs::<4, 4>());
    let squares = |output: &[[f32; 3]; 4], grad: &mut [[f32; 3]; 4]| -> f32 {
        *grad = *output;
        output.as_flattened().iter().map(|y| y * y / 2.0).sum()
    };
    let check = gradcheck::check_own_loss(&net, &x, squares);
    assert!(check.worst_relative_error < 2e-2, "{check}");
    let check = gradcheck::check_own_loss(&net, &x, |output, grad| {
        let loss = squares(output, grad);
        grad[1][0] *= 2.0;
        loss
    });
    let output = check.output_gradient.expect("a loss of our own");
    assert_eq!(output.entry, Entry::Output { row: 1, column: 0 });
    assert!((output.relative_error - 0.5).abs() < 2e-2, "{check}");
}
