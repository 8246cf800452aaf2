//! Guarded training: a batch that makes the loss or a gradient NaN or
//! infinite is refused, naming its first non-finite value if it has one,
//! and the trained weights are kept.

use backprop::{BatchError, Network, Optimizer, Sgd, TrainError};

backprop::network! {
    Net = 1 -> relu(1) -> linear(1); loss = mse
}

/// `w¹ = −1` so that a positive input leaves the relu unit dead.
fn trained() -> Net {
    let mut net = Net::zeros();
    net.w1_mut()[0][0] = -1.0;
    net.w2_mut()[0][0] = 1.0;
    net
}

/// `w¹ = 1` and `w² = 0.1`: an input of `1e20` is finite, and so is the
/// loss (`(ŷ − y)² ≈ 1e38`), but `∂L/∂W² = ∂L/∂ŷ·h¹ ≈ 2e19·1e20` overflows
/// (parameter 2, after `W¹` and `b¹`).
fn overflowing() -> Net {
    let mut net = Net::zeros();
    net.w1_mut()[0][0] = 1.0;
    net.w2_mut()[0][0] = 0.1;
    net
}

#[test]
fn a_nan_batch_is_refused_naming_its_row_and_the_weights_are_kept() {
    let mut net = trained();
    let before = net.clone();
    let x = [[0.5], [f32::NAN]];
    let y = [[1.0], [1.0]];
    let error = net
        .train_step_checked(&x, &y, &mut Sgd::new(0.1))
        .unwrap_err();
    assert_eq!(
        error,
        TrainError::Batch(BatchError::NonFinite {
            what: "input",
            row: 1,
            column: 0
        })
    );
    assert_eq!(
        error.to_string(),
        "input row 1, column 0 is NaN or infinite; use finite values"
    );
    assert_eq!(net, before);
    let error = net
        .train_step_slice_checked(&x, &y, &mut Sgd::new(0.1))
        .unwrap_err();
    assert!(
        matches!(
            error,
            TrainError::Batch(BatchError::NonFinite { row: 1, .. })
        ),
        "{error:?}"
    );
    assert_eq!(net, before);

    // A non-finite target is named the same way.
    let error = net
        .train_step_checked(&[[0.5]], &[[f32::NEG_INFINITY]], &mut Sgd::new(0.1))
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "target row 0, column 0 is NaN or infinite; use finite values"
    );
    assert_eq!(net, before);

    // Unguarded, the same batch destroys the weights.
    net.train_step(&x, &y, &mut Sgd::new(0.1));
    assert!(net.params().iter().any(|p| p.is_nan()));
}

#[test]
fn a_loss_that_overflows_on_finite_data_is_refused() {
    let mut net = overflowing();
    net.w2_mut()[0][0] = 1e19;
    let before = net.clone();
    let error = net
        .train_step_checked(&[[1e20]], &[[0.0]], &mut Sgd::new(0.1))
        .unwrap_err();
    assert!(
        matches!(error, TrainError::NonFiniteLoss { loss } if loss == f64::INFINITY),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "the loss is inf; the update was not applied"
    );
    assert_eq!(net, before);
}

#[test]
fn a_non_finite_gradient_with_a_finite_loss_is_refused() {
    let mut net = overflowing();
    let before = net.clone();
    let x = [[1e20]];
    let y = [[0.0]];
    assert!(net.loss(&x, &y).is_finite());
    let error = net
        .train_step_checked(&x, &y, &mut Sgd::new(0.1))
        .unwrap_err();
    assert!(
        matches!(error, TrainError::NonFiniteGradient { index: 2, value } if value == f64::INFINITY),
        "{error:?}"
    );
    assert_eq!(net, before);

    let error = net
        .train_step_slice_checked(&x, &y, &mut Sgd::new(0.1))
        .unwrap_err();
    assert!(
        matches!(error, TrainError::NonFiniteGradient { index: 2, .. }),
        "{error:?}"
    );
    assert_eq!(net, before);
}

#[test]
fn a_finite_batch_trains_as_usual() {
    let mut guarded = Net::seeded(4);
    let mut plain = guarded.clone();
    let (x, y) = ([[0.5], [1.5]], [[1.0], [2.0]]);
    let loss = guarded
        .train_step_checked(&x, &y, &mut Sgd::new(0.1))
        .unwrap();
    // The same arithmetic as the stored gradient and one step of SGD, so
    // the same bits.
    let (plain_loss, grad) = plain.gradients(&x, &y);
    Optimizer::step(&mut Sgd::new(0.1), plain.params_mut(), grad.params());
    assert_eq!(loss.to_bits(), plain_loss.to_bits());
    assert_eq!(guarded, plain);
}

#[test]
fn a_bad_batch_shape_is_a_batch_error() {
    let mut net = trained();
    let error = net
        .train_step_slice_checked(&[[1.0]], &[], &mut Sgd::new(0.1))
        .unwrap_err();
    assert!(matches!(error, TrainError::Batch(_)), "{error:?}");
    assert!(std::error::Error::source(&error).is_some());
    assert_eq!(net, trained());
}
