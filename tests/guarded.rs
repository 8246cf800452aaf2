//! Guarded training: a batch that makes the loss or a gradient NaN or
//! infinite is refused, and the trained weights are kept.

use backprop::{Network, Optimizer, Sgd, TrainError};

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

#[test]
fn a_nan_batch_is_refused_and_the_weights_are_kept() {
    let mut net = trained();
    let before = net.clone();
    let error = net
        .train_step_checked(&[[f32::NAN]], &[[1.0]], &mut Sgd::new(0.1))
        .unwrap_err();
    assert!(
        matches!(error, TrainError::NonFiniteLoss { loss } if loss.is_nan()),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "the loss is NaN; the update was not applied"
    );
    assert_eq!(net, before);

    // Unguarded, the same batch destroys the weights.
    net.train_step(&[[f32::NAN]], &[[1.0]], &mut Sgd::new(0.1));
    assert!(net.params().iter().any(|p| p.is_nan()));
}

#[test]
fn a_non_finite_gradient_with_a_finite_loss_is_refused() {
    // z¹ = −∞, so h¹ = 0 and the loss is finite, but ∂L/∂W¹ = x·Δ¹ = ∞·0 = NaN.
    let mut net = trained();
    let before = net.clone();
    let x = [[f32::INFINITY]];
    let y = [[1.0]];
    assert!(net.loss(&x, &y).is_finite());
    let error = net
        .train_step_checked(&x, &y, &mut Sgd::new(0.1))
        .unwrap_err();
    assert!(
        matches!(error, TrainError::NonFiniteGradient { index: 0, value } if value.is_nan()),
        "{error:?}"
    );
    assert_eq!(net, before);

    let error = net
        .train_step_slice_checked(&x, &y, &mut Sgd::new(0.1))
        .unwrap_err();
    assert!(
        matches!(error, TrainError::NonFiniteGradient { index: 0, .. }),
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
