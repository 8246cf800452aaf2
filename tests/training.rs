//! Training works and initialisation is what the documentation promises: the
//! seed network learns XOR with SGD; `seeded` is reproducible; `zeros` is all
//! zero; `new` draws Glorot / He uniform weights and zero biases; a guarded
//! training loop stops at, or skips, the batch whose loss overflows, leaving
//! the parameters of the step before.

// Bit-for-bit equality is what some tests mean to check.
#![allow(clippy::float_cmp)]

mod common;

use std::num::NonZeroUsize;

use backprop::data::{DataSet, DynamicTrainer, OnNonFinite, Trainer};
use backprop::init::seeded_rng;
use backprop::{Adam, Network, Optimizer, Sgd, TrainError};

backprop::network! {
    /// The seed's network, as in `examples/seed.rs`.
    pub Xor = 2 -> sigmoid(3) -> linear(1); loss = mse
}

backprop::network! {
    /// The seed's network in `f64`.
    pub Xor64 = 2 -> sigmoid(3) -> linear(1); loss = mse; float = f64
}

backprop::network! {
    /// One layer of each activation, wide enough for the extremes of the
    /// uniform draws to show.
    pub Mixed = 10 -> relu(40) -> tanh(30) -> sigmoid(25) -> linear(20) -> relu(5); loss = mse
}

const XOR_X: [[f32; 2]; 4] = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
const XOR_Y: [[f32; 1]; 4] = [[0.0], [1.0], [1.0], [0.0]];

#[test]
fn seed_network_learns_xor_with_sgd() {
    let mut net = Xor::seeded(1);
    let mut sgd = Sgd::new(0.5);
    let initial = net.loss(&XOR_X, &XOR_Y);
    for _ in 0..4000 {
        net.train_step(&XOR_X, &XOR_Y, &mut sgd);
    }
    let loss = net.loss(&XOR_X, &XOR_Y);
    assert!(
        loss < 0.01,
        "loss after training {loss} (initially {initial})"
    );
    let out = net.forward(&XOR_X);
    for (row, (o, t)) in out.iter().zip(&XOR_Y).enumerate() {
        assert_eq!(
            o[0] > 0.5,
            t[0] > 0.5,
            "sample {row}: output {} for target {}",
            o[0],
            t[0]
        );
    }
}

#[test]
fn f64_seed_network_learns_xor_with_slice_training() {
    let x: Vec<[f64; 2]> = XOR_X.iter().map(|r| r.map(f64::from)).collect();
    let y: Vec<[f64; 1]> = XOR_Y.iter().map(|r| r.map(f64::from)).collect();
    let mut net = Xor64::seeded(1);
    let mut sgd = Sgd::new(0.5);
    for _ in 0..4000 {
        net.train_step_slice(&x, &y, &mut sgd)
            .expect("a valid batch");
    }
    let loss = net.loss_slice(&x, &y).expect("a valid batch");
    assert!(loss < 0.01, "loss after training {loss}");
    let mut out = vec![[0.0; 1]; 4];
    net.forward_slice(&x, &mut out)
        .expect("one output row per input row");
    for (o, t) in out.iter().zip(&y) {
        assert_eq!(
            o[0] > 0.5,
            t[0] > 0.5,
            "output {} for target {}",
            o[0],
            t[0]
        );
    }
}

#[test]
fn train_step_returns_the_loss_before_the_update_and_applies_sgd() {
    let mut net = Xor64::seeded(5);
    common::perturb(&mut net, 6, 0.3);
    let x = [[0.0, 1.0], [1.0, 1.0], [0.5, -0.5]];
    let y = [[1.0], [0.0], [0.25]];
    let before = net.clone();
    let (loss, grad) = before.gradients(&x, &y);

    let returned = net.train_step(&x, &y, &mut Sgd::new(0.1));
    assert_eq!(returned, loss);
    for (i, ((after, before), g)) in net
        .params()
        .iter()
        .zip(before.params())
        .zip(grad.params())
        .enumerate()
    {
        common::assert_close(
            *after,
            before - 0.1 * g,
            1e-15,
            1e-12,
            format_args!("θ[{i}]"),
        );
    }
    assert!(
        net.loss(&x, &y) < loss,
        "a small step down the gradient lowers the loss"
    );
}

#[test]
fn train_step_works_with_a_custom_optimizer() {
    /// Moves every parameter by a fixed amount against the gradient's sign.
    struct SignDescent(f64);

    impl Optimizer<f64> for SignDescent {
        fn step(&mut self, params: &mut [f64], grads: &[f64]) {
            for (p, g) in params.iter_mut().zip(grads) {
                *p -= self.0 * g.signum();
            }
        }

        fn learning_rate(&self) -> f64 {
            self.0
        }

        fn set_learning_rate(&mut self, rate: f64) {
            self.0 = rate;
        }
    }

    let mut net = Xor64::seeded(2);
    let x = [[0.0, 1.0], [1.0, 0.0]];
    let y = [[1.0], [1.0]];
    let before = net.clone();
    let (_, grad) = before.gradients(&x, &y);
    net.train_step(&x, &y, &mut SignDescent(0.01));
    for ((after, before), g) in net.params().iter().zip(before.params()).zip(grad.params()) {
        common::assert_close(*after, before - 0.01 * g.signum(), 1e-15, 1e-12, "θ");
    }
    // Through `dyn Optimizer` as well.
    let optimizer: &mut dyn Optimizer<f64> = &mut Sgd::new(0.0);
    let loss = net.train_step(&x, &y, optimizer);
    assert_eq!(loss, net.loss(&x, &y));
}

#[test]
fn seeded_is_reproducible_and_seed_dependent() {
    assert_eq!(Xor::seeded(1), Xor::seeded(1));
    assert_eq!(Mixed::seeded(42).params(), Mixed::seeded(42).params());
    assert_ne!(Xor::seeded(1).params(), Xor::seeded(2).params());
    assert_ne!(Mixed::seeded(0).params(), Mixed::seeded(1).params());
    // Every weight differs between two seeds (no shared prefix of draws).
    let (a, b) = (Mixed::seeded(3), Mixed::seeded(4));
    assert!(
        a.w1()
            .as_flattened()
            .iter()
            .zip(b.w1().as_flattened())
            .all(|(a, b)| a != b)
    );
}

#[test]
fn seeded_is_new_with_the_documented_generator() {
    assert_eq!(Xor::seeded(9), Xor::new(&mut seeded_rng(9)));
    assert_eq!(Mixed::seeded(9), Mixed::new(&mut seeded_rng(9)));
    // `new` accepts an unsized generator too.
    let mut rng = seeded_rng(9);
    let rng: &mut dyn backprop::runtime::rand_core::Rng = &mut rng;
    assert_eq!(Xor64::seeded(9), Xor64::new(rng));
}

#[test]
fn f32_and_f64_networks_from_the_same_seed_agree() {
    let (a, b) = (Xor::seeded(11), Xor64::seeded(11));
    for (x, y) in a.params().iter().zip(b.params()) {
        #[allow(clippy::cast_possible_truncation)]
        let rounded = *y as f32;
        assert_eq!(*x, rounded);
    }
}

#[test]
fn zeros_is_all_zero() {
    assert!(Xor::zeros().params().iter().all(|&p| p == 0.0));
    assert!(Mixed::zeros().params().iter().all(|&p| p == 0.0));
    assert!(
        <Xor64 as Network>::zeros()
            .params()
            .iter()
            .all(|&p| p == 0.0)
    );
    assert_eq!(Xor::zeros().params().len(), Xor::PARAMS);
    // A zero network outputs zero for every input.
    assert_eq!(Xor::zeros().forward(&XOR_X), [[0.0]; 4]);
}

/// Checks one layer's weights: inside `±bound`, reaching past 90% of it
/// (so a smaller bound would be caught), and not all of one sign.
fn check_uniform(weights: &[f32], bound: f64, layer: &str) {
    let max = weights
        .iter()
        .fold(0.0_f64, |m, &w| m.max(f64::from(w).abs()));
    assert!(max <= bound, "{layer}: |w| up to {max}, bound {bound}");
    assert!(
        max > 0.9 * bound,
        "{layer}: |w| only up to {max}, bound {bound}"
    );
    assert!(
        weights.iter().any(|&w| w > 0.0) && weights.iter().any(|&w| w < 0.0),
        "{layer}: both signs"
    );
}

#[test]
fn new_draws_glorot_or_he_uniform_weights_and_zero_biases() {
    let glorot = |fan_in: usize, fan_out: usize| (6.0 / (fan_in + fan_out) as f64).sqrt();
    let he = |fan_in: usize| (6.0 / fan_in as f64).sqrt();
    for seed in [0, 1, 77] {
        let net = Mixed::seeded(seed);
        check_uniform(net.w1().as_flattened(), he(10), "relu layer 1");
        check_uniform(net.w2().as_flattened(), glorot(40, 30), "tanh layer 2");
        check_uniform(net.w3().as_flattened(), glorot(30, 25), "sigmoid layer 3");
        check_uniform(net.w4().as_flattened(), glorot(25, 20), "linear layer 4");
        check_uniform(net.w5().as_flattened(), he(20), "relu layer 5");
        for bias in [&net.b1()[..], net.b2(), net.b3(), net.b4(), net.b5()] {
            assert!(bias.iter().all(|&b| b == 0.0), "biases start at zero");
        }
    }
    // The seed network: Glorot for both layers, √(6/5) and √(6/4).
    let net = Xor::seeded(1);
    let max1 = net
        .w1()
        .as_flattened()
        .iter()
        .fold(0.0_f32, |m, w| m.max(w.abs()));
    let max2 = net
        .w2()
        .as_flattened()
        .iter()
        .fold(0.0_f32, |m, w| m.max(w.abs()));
    assert!(f64::from(max1) <= glorot(2, 3) && f64::from(max2) <= glorot(3, 1));
    assert!(net.b1().iter().chain(net.b2()).all(|&b| b == 0.0));
}

backprop::network! {
    /// A regression network in `f32`, for the guarded loops.
    pub Regressor = 2 -> tanh(6) -> linear(1); loss = mse
}

/// Where the overflowing sample sits: its target squared is beyond `f32`.
const BAD: usize = 13;

/// 30 samples of `y = a − b`, sample [`BAD`]'s target `1e30`: finite, as
/// `DataSet::new` requires, but its squared error overflows to infinity.
fn with_an_overflowing_target() -> (Vec<[f32; 2]>, Vec<[f32; 1]>) {
    let x: Vec<[f32; 2]> = (0..30)
        .map(|i| [i as f32 / 15.0 - 1.0, (i % 7) as f32 / 3.5 - 1.0])
        .collect();
    let mut y: Vec<[f32; 1]> = x.iter().map(|[a, b]| [a - b]).collect();
    y[BAD] = [1e30];
    (x, y)
}

/// The batch of epoch `epoch` (seed 2, batches of 8) holding sample [`BAD`].
fn bad_batch(data: &DataSet<'_, [f32; 2], [f32; 1]>, epoch: u64) -> usize {
    data.shuffled::<8>(2, epoch)
        .position(|batch| batch.targets().contains(&[1e30]))
        .expect("every epoch visits every sample")
}

#[test]
fn a_checked_trainer_stops_before_the_step_whose_loss_overflows() {
    let (x, y) = with_an_overflowing_target();
    let data = DataSet::new(&x, &y).unwrap();
    let bad = bad_batch(&data, 0);
    assert!(bad > 0, "the steps before it are part of what is checked");

    // The steps before the offending one, by hand.
    let mut by_hand = Regressor::seeded(1);
    let mut adam = Adam::new(0.01);
    for batch in data.shuffled::<8>(2, 0).take(bad) {
        batch.train_step(&mut by_hand, &mut adam);
    }

    let mut net = Regressor::seeded(1);
    let stopped = Trainer::<8>::new(10)
        .seed(2)
        .run_checked(&mut net, &mut Adam::new(0.01), &data, OnNonFinite::Stop)
        .unwrap_err();
    assert_eq!((stopped.epoch, stopped.batch), (0, bad));
    assert!(
        matches!(stopped.error, TrainError::NonFiniteLoss { loss } if loss == f64::INFINITY),
        "{stopped}"
    );
    assert_eq!(
        stopped.to_string(),
        format!("epoch 0, batch {bad} (from 0): the loss is inf; the update was not applied")
    );
    assert_eq!(net.params(), by_hand.params());

    // The run-time path stops at the same batch, with the same parameters
    // up to rounding.
    let mut dynamic = Regressor::seeded(1);
    let stopped = DynamicTrainer::new(10, NonZeroUsize::new(8).unwrap())
        .seed(2)
        .run_checked(&mut dynamic, &mut Adam::new(0.01), &data, OnNonFinite::Stop)
        .unwrap_err();
    assert_eq!((stopped.epoch, stopped.batch), (0, bad));
    for (a, b) in dynamic.params().iter().zip(by_hand.params()) {
        assert!((a - b).abs() <= 1e-6 * b.abs().max(1.0), "{a} and {b}");
    }
}

#[test]
fn a_skipping_trainer_leaves_out_exactly_the_batches_holding_the_sample() {
    let (x, y) = with_an_overflowing_target();
    let data = DataSet::new(&x, &y).unwrap();
    let epochs = 6;
    let expected: Vec<(u64, usize)> = (0..epochs)
        .map(|epoch| (epoch, bad_batch(&data, epoch)))
        .collect();
    // Different epochs meet it in different batches: the test sees the epoch.
    assert!(expected.iter().any(|&(_, batch)| batch != expected[0].1));

    // The same loop by hand, leaving those batches out.
    let mut by_hand = Regressor::seeded(1);
    let mut adam = Adam::new(0.01);
    let mut losses = Vec::new();
    for &(epoch, bad) in &expected {
        let (mut total, mut samples) = (0.0, 0);
        for (index, batch) in data.shuffled::<8>(2, epoch).enumerate() {
            if index != bad {
                total += batch.train_step(&mut by_hand, &mut adam) * batch.rows() as f32;
                samples += batch.rows();
            }
        }
        assert_eq!(samples, 22, "the others' samples (batches of 8, 8, 8, 6)");
        losses.push(total / samples as f32);
    }

    let mut net = Regressor::seeded(1);
    let training = Trainer::<8>::new(epochs)
        .seed(2)
        .run_checked(&mut net, &mut Adam::new(0.01), &data, OnNonFinite::Skip)
        .unwrap();
    let skipped: Vec<(u64, usize)> = training
        .skipped
        .iter()
        .map(|s| (s.epoch, s.batch))
        .collect();
    assert_eq!(skipped, expected);
    assert!(
        training
            .skipped
            .iter()
            .all(|s| matches!(s.error, TrainError::NonFiniteLoss { .. }))
    );
    assert_eq!(training.losses, losses);
    assert_eq!(net.params(), by_hand.params());
    assert!(training.losses.iter().all(|loss| loss.is_finite()));

    let mut dynamic = Regressor::seeded(1);
    let training = DynamicTrainer::new(epochs, NonZeroUsize::new(8).unwrap())
        .seed(2)
        .run_checked(&mut dynamic, &mut Adam::new(0.01), &data, OnNonFinite::Skip)
        .unwrap();
    let skipped: Vec<(u64, usize)> = training
        .skipped
        .iter()
        .map(|s| (s.epoch, s.batch))
        .collect();
    assert_eq!(skipped, expected);
    for (a, b) in dynamic.params().iter().zip(by_hand.params()) {
        assert!((a - b).abs() <= 1e-6 * b.abs().max(1.0), "{a} and {b}");
    }
}

#[test]
fn a_checked_trainer_without_bad_samples_is_the_unchecked_one() {
    let (x, mut y) = with_an_overflowing_target();
    y[BAD] = [0.5];
    let data = DataSet::new(&x, &y).unwrap();
    let mut unchecked = Regressor::seeded(1);
    let losses = Trainer::<8>::new(4)
        .seed(2)
        .run(&mut unchecked, &mut Adam::new(0.01), &data);
    let mut checked = Regressor::seeded(1);
    let training = Trainer::<8>::new(4)
        .seed(2)
        .run_checked(&mut checked, &mut Adam::new(0.01), &data, OnNonFinite::Stop)
        .unwrap();
    assert_eq!(training.losses, losses);
    assert!(training.skipped.is_empty());
    assert_eq!(checked.params(), unchecked.params());
}
