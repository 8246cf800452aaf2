//! PyTorch as an outside oracle for the optimizers: three steps of
//! `torch.optim.SGD`, `Adam` and `AdamW` for every option set, recorded in
//! f64 by `tools/optimizer_fixtures.py`, which [`Sgd`], [`Adam`] and
//! [`AdamW`] must reproduce to 1e-12 relative. The fixtures are committed;
//! these tests need no Python.
//!
//! `cargo test --test optimizers -- --nocapture` prints the worst relative
//! error of every case.

// Defaults and repeated computations are compared exactly, on purpose.
#![allow(clippy::float_cmp)]

use backprop::{Adam, AdamW, Network, Optimizer, Sgd};
use serde::Deserialize;

/// Largest relative difference allowed between backprop and PyTorch.
const TOLERANCE: f64 = 1e-12;

/// One fixture file: the options, the starting parameters, the gradient of
/// every step and the parameters after every step.
#[derive(Deserialize)]
struct Fixture {
    optimizer: String,
    options: Options,
    params: Vec<f64>,
    grads: Vec<Vec<f64>>,
    steps: Vec<Vec<f64>>,
    /// Only for the fixture trained through a network.
    #[serde(default)]
    x: Vec<Vec<f64>>,
    #[serde(default)]
    y: Vec<Vec<f64>>,
    #[serde(default)]
    losses: Vec<f64>,
    /// The learning rate of every step, for the fixtures that change it.
    #[serde(default)]
    rates: Vec<f64>,
}

/// Every option PyTorch ran with, defaults included.
#[derive(Deserialize)]
struct Options {
    lr: f64,
    #[serde(default)]
    momentum: f64,
    #[serde(default)]
    dampening: f64,
    #[serde(default)]
    nesterov: bool,
    weight_decay: f64,
    betas: Option<(f64, f64)>,
    eps: Option<f64>,
    #[serde(default)]
    amsgrad: bool,
}

/// Every fixture under `tests/fixtures/optimizers`, by family.
const SGD_CASES: [&str; 7] = [
    "sgd",
    "sgd_momentum",
    "sgd_dampening",
    "sgd_nesterov",
    "sgd_weight_decay",
    "sgd_everything",
    "sgd_nesterov_weight_decay",
];
const ADAM_CASES: [&str; 5] = [
    "adam",
    "adam_lr",
    "adam_options",
    "adam_small_beta1",
    "adam_amsgrad",
];
const ADAMW_CASES: [&str; 3] = ["adamw", "adamw_options", "adamw_amsgrad"];
const NETWORK_CASES: [&str; 1] = ["network_seed_adam"];
const RATE_CASES: [&str; 3] = ["sgd_momentum_rates", "adam_rates", "adamw_rates"];

fn fixture_dir() -> String {
    format!("{}/tests/fixtures/optimizers", env!("CARGO_MANIFEST_DIR"))
}

fn load(name: &str) -> Fixture {
    let path = format!("{}/{name}.json", fixture_dir());
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Largest relative difference between `ours` and `theirs`.
fn worst_relative_error(ours: &[f64], theirs: &[f64]) -> f64 {
    assert_eq!(ours.len(), theirs.len());
    ours.iter()
        .zip(theirs)
        .map(|(a, b)| {
            let scale = a.abs().max(b.abs());
            if scale == 0.0 {
                0.0
            } else {
                (a - b).abs() / scale
            }
        })
        .fold(0.0, f64::max)
}

/// The optimizer the fixture describes, built through the public builders.
/// (`fixtures_hold_pytorchs_defaults` checks the defaults themselves.)
fn optimizer(fixture: &Fixture) -> Box<dyn Optimizer<f64>> {
    let o = &fixture.options;
    match fixture.optimizer.as_str() {
        "SGD" => Box::new(
            Sgd::new(o.lr)
                .momentum(o.momentum)
                .dampening(o.dampening)
                .nesterov(o.nesterov)
                .weight_decay(o.weight_decay),
        ),
        "Adam" => {
            let (beta1, beta2) = o.betas.expect("Adam records its betas");
            let adam = Adam::new(o.lr)
                .betas(beta1, beta2)
                .epsilon(o.eps.expect("Adam records eps"))
                .weight_decay(o.weight_decay);
            Box::new(if o.amsgrad {
                adam.amsgrad(Vec::new())
            } else {
                adam
            })
        }
        "AdamW" => {
            let (beta1, beta2) = o.betas.expect("AdamW records its betas");
            let adamw = AdamW::new(o.lr)
                .betas(beta1, beta2)
                .epsilon(o.eps.expect("AdamW records eps"))
                .weight_decay(o.weight_decay);
            Box::new(if o.amsgrad {
                adamw.amsgrad(Vec::new())
            } else {
                adamw
            })
        }
        other => panic!("no optimizer `{other}`"),
    }
}

/// Runs the fixture's steps with `optimizer` and returns the worst relative
/// error of the parameters after any step.
fn replay(name: &str, fixture: &Fixture, optimizer: &mut dyn Optimizer<f64>) -> f64 {
    let mut params = fixture.params.clone();
    let mut worst = 0.0_f64;
    for (step, (grad, expected)) in fixture.grads.iter().zip(&fixture.steps).enumerate() {
        if let Some(&rate) = fixture.rates.get(step) {
            optimizer.set_learning_rate(rate);
            assert_eq!(optimizer.learning_rate(), rate);
        }
        optimizer.step(&mut params, grad);
        let error = worst_relative_error(&params, expected);
        assert!(
            error <= TOLERANCE,
            "{name}, step {}: relative error {error:e}\n  ours:    {params:?}\n  PyTorch: {expected:?}",
            step + 1
        );
        worst = worst.max(error);
    }
    println!("{name}: worst relative error {worst:e}");
    worst
}

fn matches_pytorch(name: &str) -> f64 {
    let fixture = load(name);
    assert_eq!(fixture.steps.len(), 3, "{name}: three steps recorded");
    replay(name, &fixture, optimizer(&fixture).as_mut())
}

#[test]
fn fixtures_hold_pytorchs_defaults() {
    // What `Sgd::new`, `Adam::new` and `AdamW::new` assume beyond the learning rate.
    let sgd = load("sgd").options;
    assert_eq!(
        (sgd.momentum, sgd.dampening, sgd.nesterov, sgd.weight_decay),
        (0.0, 0.0, false, 0.0)
    );
    for (name, weight_decay) in [("adam", 0.0), ("adamw", 1e-2)] {
        let adam = load(name).options;
        assert_eq!(adam.lr, 1e-3, "{name}");
        assert_eq!(adam.betas, Some((0.9, 0.999)), "{name}");
        assert_eq!(adam.eps, Some(1e-8), "{name}");
        assert_eq!(adam.weight_decay, weight_decay, "{name}");
    }
    let adam = Adam::<Vec<f64>>::default();
    let adamw = AdamW::<Vec<f64>>::default();
    for (betas, epsilon, lr) in [
        (adam.betas, adam.epsilon, adam.learning_rate),
        (adamw.betas, adamw.epsilon, adamw.learning_rate),
    ] {
        assert_eq!((betas, epsilon, lr), ((0.9, 0.999), 1e-8, 1e-3));
    }
    assert_eq!((adam.weight_decay, adamw.weight_decay), (0.0, 1e-2));
}

#[test]
fn sgd_matches_pytorch_for_every_option() {
    for name in SGD_CASES {
        matches_pytorch(name);
    }
}

#[test]
fn adam_matches_pytorch_for_every_option() {
    for name in ADAM_CASES {
        matches_pytorch(name);
    }
}

#[test]
fn adamw_matches_pytorch_for_every_option() {
    for name in ADAMW_CASES {
        matches_pytorch(name);
    }
}

/// The `amsgrad` fixtures would not match without the maximum: they test it.
#[test]
fn amsgrad_fixtures_need_the_running_maximum() {
    for name in ["adam_amsgrad", "adamw_amsgrad"] {
        let mut fixture = load(name);
        assert!(fixture.options.amsgrad, "{name}");
        fixture.options.amsgrad = false;
        let mut plain = optimizer(&fixture);
        let mut params = fixture.params.clone();
        let mut worst = 0.0_f64;
        for (grad, expected) in fixture.grads.iter().zip(&fixture.steps) {
            plain.step(&mut params, grad);
            worst = worst.max(worst_relative_error(&params, expected));
        }
        assert!(worst > 1e-6, "{name}: plain Adam is within {worst:e}");
    }
}

#[test]
fn every_fixture_is_checked() {
    let mut found: Vec<String> = std::fs::read_dir(fixture_dir())
        .expect("the fixture directory exists")
        .map(|entry| {
            let path = entry.expect("a readable entry").path();
            path.file_stem().unwrap().to_string_lossy().into_owned()
        })
        .collect();
    found.sort();
    let mut checked: Vec<String> = [
        &SGD_CASES[..],
        &ADAM_CASES,
        &ADAMW_CASES,
        &NETWORK_CASES,
        &RATE_CASES,
    ]
    .concat()
    .into_iter()
    .map(String::from)
    .collect();
    checked.sort();
    assert_eq!(found, checked);
}

/// A rate set between steps takes effect on the next step and keeps the
/// momentum and the moments, as writing `param_groups[0]["lr"]` does.
#[test]
fn changed_learning_rates_match_pytorch() {
    for name in RATE_CASES {
        let fixture = load(name);
        assert_eq!(fixture.rates.len(), 3, "{name}: a rate per step");
        assert_eq!(fixture.rates[0], fixture.options.lr, "{name}");
        matches_pytorch(name);
    }
}

/// Without the changed rates, the rate fixtures would not match: they test them.
#[test]
fn rate_fixtures_need_the_changed_rates() {
    for name in RATE_CASES {
        let mut fixture = load(name);
        fixture.rates.clear();
        let mut params = fixture.params.clone();
        let mut optimizer = optimizer(&fixture);
        let mut worst = 0.0_f64;
        for (grad, expected) in fixture.grads.iter().zip(&fixture.steps) {
            optimizer.step(&mut params, grad);
            worst = worst.max(worst_relative_error(&params, expected));
        }
        assert!(
            worst > 1e-6,
            "{name}: the first rate alone is within {worst:e}"
        );
    }
}

backprop::network! {
    /// The seed network, in f32, for the fused plain-SGD step.
    Seed = 2 -> sigmoid(3) -> linear(1); loss = mse
}

/// `train_step` with plain `Sgd` applies the rate inside the backward pass
/// (`plain_learning_rate`); a rate set afterwards must reach it.
#[test]
fn fused_plain_sgd_follows_a_changed_learning_rate() {
    let (x, y) = ([[0.0, 1.0], [1.0, 1.0]], [[1.0], [0.0]]);
    let mut sgd = Sgd::new(0.5);
    sgd.set_learning_rate(0.125);
    assert_eq!(Optimizer::<f32>::plain_learning_rate(&sgd), Some(0.125));
    let mut net = Seed::seeded(3);
    let (_, grad) = net.gradients(&x, &y);
    let expected: Vec<f32> = net
        .params()
        .iter()
        .zip(grad.params())
        .map(|(p, g)| p - 0.125 * g)
        .collect();
    net.train_step(&x, &y, &mut sgd);
    for (ours, theirs) in net.params().iter().zip(&expected) {
        assert!(
            (ours - theirs).abs() <= 1e-6 * theirs.abs().max(1.0),
            "{ours} vs {theirs}"
        );
    }
    // A momentum turns the fused path off, whatever the rate.
    let sgd = Sgd::<Vec<f32>>::new(0.1).momentum(0.9);
    assert_eq!(Optimizer::<f32>::plain_learning_rate(&sgd), None);
}

#[test]
fn set_learning_rate_refuses_a_negative_or_nan_rate_and_keeps_the_old_one() {
    for rate in [-1e-3, f64::NAN] {
        let mut adam = Adam::<Vec<f64>>::new(1e-3);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            adam.set_learning_rate(rate);
        }));
        assert!(result.is_err(), "{rate} was accepted");
        assert_eq!(Optimizer::<f64>::learning_rate(&adam), 1e-3);
    }
}

/// The same steps with the state in arrays and in a borrowed buffer: every
/// storage must give the very same numbers as `Vec`.
#[test]
fn every_state_storage_gives_the_same_steps() {
    const N: usize = 7;
    let fixture = load("sgd_dampening");
    let o = &fixture.options;
    let mut array = Sgd::with_state(o.lr, [f64::NAN; N])
        .momentum(o.momentum)
        .dampening(o.dampening);
    replay("sgd_dampening in an array", &fixture, &mut array);

    let fixture = load("adam_options");
    let o = &fixture.options;
    let (beta1, beta2) = o.betas.unwrap();
    // Stale values in the storage do not matter: the first step starts from zero.
    let mut buffer = [f64::NAN; 2 * N];
    let (first, second) = buffer.split_at_mut(N);
    let mut borrowed = Adam::with_state(o.lr, first, second)
        .betas(beta1, beta2)
        .epsilon(o.eps.unwrap())
        .weight_decay(o.weight_decay);
    replay("adam_options in a borrowed buffer", &fixture, &mut borrowed);

    let fixture = load("adamw_options");
    let o = &fixture.options;
    let (beta1, beta2) = o.betas.unwrap();
    let mut arrays = AdamW::with_state(o.lr, [1.0; N], [-1.0; N])
        .betas(beta1, beta2)
        .epsilon(o.eps.unwrap())
        .weight_decay(o.weight_decay);
    replay("adamw_options in arrays", &fixture, &mut arrays);
    assert_eq!(arrays.steps(), 3);

    let fixture = load("adam_amsgrad");
    let o = &fixture.options;
    let (beta1, beta2) = o.betas.unwrap();
    let mut amsgrad = Adam::with_state(o.lr, [f64::NAN; N], [f64::NAN; N])
        .betas(beta1, beta2)
        .weight_decay(o.weight_decay)
        .amsgrad([f64::INFINITY; N]);
    replay("adam_amsgrad in arrays", &fixture, &mut amsgrad);
}

backprop::network! {
    /// The seed network in f64, as `tools/optimizer_fixtures.py` builds it.
    SeedF64 = 2 -> sigmoid(3) -> linear(1); loss = mse; float = f64
}

/// Adam trained through the seed network: the loss, the gradient and the
/// parameters of every step match PyTorch's.
#[test]
fn adam_training_the_seed_network_matches_pytorch() {
    let fixture = load("network_seed_adam");
    let mut network = SeedF64::zeros();
    network.params_mut().copy_from_slice(&fixture.params);
    let x: Vec<[f64; 2]> = fixture.x.iter().map(|r| [r[0], r[1]]).collect();
    let y: Vec<[f64; 1]> = fixture.y.iter().map(|r| [r[0]]).collect();
    let x: [[f64; 2]; 4] = x.try_into().unwrap();
    let y: [[f64; 1]; 4] = y.try_into().unwrap();
    let mut adam = optimizer(&fixture);
    let mut worst = 0.0_f64;
    for step in 0..3 {
        let (loss, grad) = Network::gradients(&network, &x, &y);
        worst = worst.max(worst_relative_error(&[loss], &[fixture.losses[step]]));
        worst = worst.max(worst_relative_error(
            Network::params(&grad),
            &fixture.grads[step],
        ));
        let trained = Network::train_step(&mut network, &x, &y, adam.as_mut());
        assert_eq!(trained, loss);
        worst = worst.max(worst_relative_error(
            Network::params(&network),
            &fixture.steps[step],
        ));
        assert!(
            worst <= TOLERANCE,
            "step {}: relative error {worst:e}",
            step + 1
        );
    }
    println!("network_seed_adam: worst relative error {worst:e}");
}

#[test]
#[should_panic(
    expected = "the optimizer's state holds 3 values but there are 4 parameters; \
                give it arrays of the network's `PARAMS` length"
)]
fn state_array_of_the_wrong_length_panics() {
    let mut sgd = Sgd::with_state(0.1, [0.0; 3]).momentum(0.9);
    sgd.step(&mut [0.0; 4], &[1.0; 4]);
}

#[test]
#[should_panic(
    expected = "the optimizer's state holds 5 values but there are 4 parameters; \
                give it a buffer of the network's `PARAMS` length"
)]
fn borrowed_state_of_the_wrong_length_panics() {
    let mut first = [0.0; 5];
    let mut second = [0.0; 5];
    let mut adam = Adam::with_state(0.1, &mut first[..], &mut second[..]);
    adam.step(&mut [0.0; 4], &[1.0; 4]);
}

#[test]
#[should_panic(
    expected = "the optimizer's state was sized for 4 parameters but this step has 3; \
                use one optimizer per network"
)]
fn one_vec_optimizer_for_two_networks_panics() {
    let mut adamw = AdamW::new(0.1);
    adamw.step(&mut [0.0; 4], &[1.0; 4]);
    adamw.step(&mut [0.0; 3], &[1.0; 3]);
}

#[test]
#[should_panic(expected = "one gradient per parameter")]
fn gradient_of_the_wrong_length_panics() {
    Sgd::new(0.1).step(&mut [0.0; 4], &[1.0; 3]);
}

#[test]
#[should_panic(expected = "Nesterov momentum needs a momentum above zero and zero dampening")]
fn nesterov_without_momentum_panics() {
    Sgd::new(0.1).nesterov(true).step(&mut [0.0; 2], &[1.0; 2]);
}

/// The optimizer types README names for a struct field are the ones
/// `new` and `with_state` return.
#[test]
fn optimizer_types_as_readme_names_them() {
    struct Agent {
        adam: backprop::Adam<Vec<f32>>,
        sgd: backprop::Sgd<[f32; 3]>,
        adamw: backprop::AdamW<Vec<f32>>,
    }
    let mut agent = Agent {
        adam: backprop::Adam::new(1e-3),
        sgd: backprop::Sgd::with_state(0.1, [0.0; 3]).momentum(0.9),
        adamw: backprop::AdamW::new(1e-3),
    };
    let mut params = [1.0_f32; 3];
    for optimizer in [
        &mut agent.adam as &mut dyn Optimizer<f32>,
        &mut agent.sgd,
        &mut agent.adamw,
    ] {
        optimizer.step(&mut params, &[1.0, -1.0, 0.5]);
    }
    assert!(params[0] < 1.0 && params[1] > 1.0);
}
