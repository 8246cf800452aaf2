//! A training step with plain SGD applies the update during the backward
//! pass (`Network::descend_rows`), without storing the gradient. These tests
//! check it against the stored gradient of `gradients` and the update
//! `θ − η·∂L/∂θ` written out here, and against the path every other
//! optimizer takes, for networks on the stack and on the heap, in `f32` and
//! `f64`, with losses fused with their output activation and not.

mod common;

use backprop::{Adam, Float, Network, Optimizer, Sgd};
use common::{assert_close, perturb};

backprop::network! {
    /// Every kind of backward step: a fused softmax cross-entropy, and
    /// hidden derivatives from `H` (tanh) and from `Z` (gelu).
    pub Deep = 5 -> tanh(7) -> leaky_relu(6) -> gelu(4) -> softmax(3); loss = cross_entropy; float = f64
}

backprop::network! {
    /// A fused sigmoid and binary cross-entropy.
    pub Binary = 4 -> silu(5) -> sigmoid(2); loss = bce; float = f64
}

backprop::network! {
    /// `f32`, a loss not fused with its (linear) output.
    pub Robust = 3 -> elu(8) -> linear(2); loss = huber(delta = 0.5)
}

backprop::network! {
    /// 48.8 KiB of parameters, so on the heap, with products large enough
    /// for the register-blocked kernels.
    pub Large = 300 -> relu(40) -> softmax(10); loss = cross_entropy
}

/// An optimizer that computes plain SGD from a stored gradient, as every
/// optimizer other than plain `Sgd` is used (its `plain_learning_rate` is
/// the default `None`).
struct Stored(f64);

impl<T: Float> Optimizer<T> for Stored {
    fn step(&mut self, params: &mut [T], grads: &[T]) {
        let rate = T::from_f64(self.0);
        for (p, &g) in params.iter_mut().zip(grads) {
            *p -= rate * g;
        }
    }

    fn learning_rate(&self) -> f64 {
        self.0
    }

    fn set_learning_rate(&mut self, rate: f64) {
        self.0 = rate;
    }
}

/// Deterministic rows in `[-1, 1)`.
fn rows<N: Float, const B: usize, const C: usize>(seed: u64) -> [[N; C]; B] {
    let mut rng = common::Rng::new(seed);
    core::array::from_fn(|_| core::array::from_fn(|_| N::from_f64(rng.uniform(-1.0, 1.0))))
}

/// One-hot rows, class `(row · 7) mod C`.
fn classes<N: Float, const B: usize, const C: usize>() -> [[N; C]; B] {
    core::array::from_fn(|r| backprop::one_hot((r * 7) % C))
}

/// `train_step` with plain SGD returns the loss of `gradients` and moves
/// every parameter to `θ − η·∂L/∂θ`; the stored-gradient path agrees.
fn descends<N, const B: usize>(
    network: &N,
    x: &[N::Input; B],
    y: &[N::Target; B],
    (epsilon, max_relative): (f64, f64),
) where
    N: Network + Clone,
{
    let rate = 0.3;
    let (loss, grad) = network.gradients(x, y);
    let expected: Vec<f64> = network
        .params()
        .iter()
        .zip(grad.params())
        .map(|(p, g)| p.to_f64() - rate * g.to_f64())
        .collect();

    let mut descended = network.clone();
    let returned = descended.train_step(x, y, &mut Sgd::new(rate));
    assert_eq!(returned.to_f64().to_bits(), loss.to_f64().to_bits());

    let mut stored = network.clone();
    let stored_loss = stored.train_step(x, y, &mut Stored(rate));
    assert_eq!(stored_loss.to_f64().to_bits(), loss.to_f64().to_bits());

    for (i, ((fused, unfused), want)) in descended
        .params()
        .iter()
        .zip(stored.params())
        .zip(&expected)
        .enumerate()
    {
        assert_close(
            fused.to_f64(),
            *want,
            epsilon,
            max_relative,
            format_args!("θ[{i}]"),
        );
        assert_close(
            unfused.to_f64(),
            *want,
            epsilon,
            max_relative,
            format_args!("stored θ[{i}]"),
        );
    }
    assert_ne!(
        descended.params(),
        network.params(),
        "the step moved nothing"
    );
}

const F64: (f64, f64) = (1e-15, 1e-13);
const F32: (f64, f64) = (1e-6, 1e-5);

#[test]
fn plain_sgd_descends_as_the_stored_gradient_says_in_f64() {
    let mut deep = Deep::seeded(1);
    perturb(&mut deep, 2, 0.2);
    descends(&deep, &rows::<f64, 6, 5>(3), &classes::<f64, 6, 3>(), F64);
    descends(&deep, &rows::<f64, 1, 5>(4), &classes::<f64, 1, 3>(), F64);

    let mut binary = Binary::seeded(5);
    perturb(&mut binary, 6, 0.2);
    let targets = [[1.0, 0.0], [0.0, 0.0], [1.0, 1.0], [0.25, 0.75]];
    descends(&binary, &rows::<f64, 4, 4>(7), &targets, F64);
}

#[test]
fn plain_sgd_descends_as_the_stored_gradient_says_in_f32() {
    let robust = Robust::seeded(8);
    descends(&robust, &rows::<f32, 9, 3>(9), &rows::<f32, 9, 2>(10), F32);
}

#[test]
fn plain_sgd_descends_on_the_heap_through_blocked_kernels() {
    let large = Large::seeded(11);
    descends(
        &large,
        &rows::<f32, 20, 300>(12),
        &classes::<f32, 20, 10>(),
        F32,
    );
    // More rows than one depth slice of the blocked kernel (128).
    descends(
        &large,
        &rows::<f32, 130, 300>(13),
        &classes::<f32, 130, 10>(),
        F32,
    );
}

#[test]
fn only_plain_sgd_descends_without_a_stored_gradient() {
    let rate = |optimizer: &dyn Optimizer<f32>| optimizer.plain_learning_rate();
    assert_eq!(rate(&Sgd::new(0.25)), Some(0.25));
    assert_eq!(rate(&Sgd::new(0.25).momentum(0.9)), None);
    assert_eq!(rate(&Sgd::new(0.25).weight_decay(0.01)), None);
    assert_eq!(rate(&Sgd::new(0.25).momentum(0.9).nesterov(true)), None);
    assert_eq!(rate(&Adam::new(0.25)), None);
    assert_eq!(rate(&Stored(0.25)), None);
}
