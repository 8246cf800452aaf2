//! Target-network updates against their formulas, and gradient clipping
//! against `torch.nn.utils.clip_grad_norm_` and `clip_grad_value_`,
//! recorded by `tools/clip_fixtures.py` in `tests/fixtures/clipping/`.

// Copies and untouched gradients are compared exactly, on purpose.
#![allow(clippy::float_cmp)]

use std::panic::{AssertUnwindSafe, catch_unwind};

use backprop::update::{
    clip_grad_norm, clip_grad_norm_inf, clip_grad_value, hard_update, soft_update,
};
use backprop::{Float, Network};
use serde::Deserialize;

backprop::network! {
    /// A critic in f64.
    Critic = 5 -> relu(16) -> tanh(8) -> linear(1); loss = mse; float = f64
}

backprop::network! {
    /// An actor in f32.
    Actor = 3 -> relu(8) -> tanh(2); loss = mse
}

#[test]
fn soft_update_is_the_polyak_average_of_every_parameter() {
    let online = Critic::seeded(1);
    let mut target = Critic::seeded(2);
    let before = target.clone();
    soft_update(&mut target, &online, 0.005);
    for ((t, o), b) in target
        .params()
        .iter()
        .zip(online.params())
        .zip(before.params())
    {
        let expected = 0.005 * o + (1.0 - 0.005) * b;
        assert!(
            (t - expected).abs() <= 1e-15 * expected.abs().max(1.0),
            "{t} vs {expected}"
        );
    }

    let online = Actor::seeded(1);
    let mut target = Actor::seeded(2);
    let before = target.clone();
    soft_update(&mut target, &online, 0.1);
    for ((t, o), b) in target
        .params()
        .iter()
        .zip(online.params())
        .zip(before.params())
    {
        let expected = 0.1 * f64::from(*o) + 0.9 * f64::from(*b);
        assert!((f64::from(*t) - expected).abs() <= 1e-6 * expected.abs().max(1.0));
    }
}

#[test]
fn repeated_soft_updates_close_the_gap_geometrically() {
    // After n updates towards a fixed network, θ' − θ = (1 − τ)ⁿ·(θ'₀ − θ).
    let (online, start) = (Critic::seeded(3), Critic::seeded(4));
    let (tau, steps) = (0.05, 100);
    let mut target = start.clone();
    for _ in 0..steps {
        soft_update(&mut target, &online, tau);
    }
    let shrink = (1.0 - tau).powi(steps);
    for ((t, o), s) in target
        .params()
        .iter()
        .zip(online.params())
        .zip(start.params())
    {
        let expected = o + shrink * (s - o);
        assert!((t - expected).abs() < 1e-13, "{t} vs {expected}");
    }
}

#[test]
fn soft_update_at_the_ends_keeps_or_copies() {
    let online = Actor::seeded(5);
    let mut target = Actor::seeded(6);
    let before = target.clone();
    soft_update(&mut target, &online, 0.0);
    assert_eq!(target, before);
    soft_update(&mut target, &online, 1.0);
    assert_eq!(target, online);
}

#[test]
fn soft_update_refuses_a_tau_outside_the_unit_interval_and_changes_nothing() {
    let online = Actor::seeded(5);
    let mut target = Actor::seeded(6);
    let before = target.clone();
    for tau in [-0.1, 1.5, f64::NAN] {
        let result = catch_unwind(AssertUnwindSafe(|| soft_update(&mut target, &online, tau)));
        assert!(result.is_err(), "tau = {tau} was accepted");
        assert_eq!(target, before);
    }
}

#[test]
fn hard_update_copies_every_parameter() {
    let online = Critic::seeded(7);
    let mut target = Critic::zeros();
    hard_update(&mut target, &online);
    assert_eq!(target, online);
    assert_eq!(target.forward(&[[0.1; 5]]), online.forward(&[[0.1; 5]]));
}

/// `tests/fixtures/clipping/cases.json`.
#[derive(Deserialize)]
struct Fixtures {
    cases: Vec<Case>,
}

/// One call of `clip_grad_norm_` or `clip_grad_value_`.
#[derive(Deserialize)]
struct Case {
    name: String,
    function: String,
    dtype: String,
    #[serde(default)]
    max_norm: f64,
    #[serde(default)]
    norm_type: String,
    #[serde(default)]
    clip: f64,
    grads: Vec<f64>,
    #[serde(default)]
    norm: f64,
    clipped: Vec<f64>,
}

fn cases() -> Vec<Case> {
    let path = format!(
        "{}/tests/fixtures/clipping/cases.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let fixtures: Fixtures = serde_json::from_str(&text).expect("valid fixture");
    assert_eq!(fixtures.cases.len(), 50, "every case of the script");
    fixtures.cases
}

/// Replays `case` in `T` and returns the largest relative difference from
/// PyTorch over the norm and the clipped gradient.
fn replay<T: Float>(case: &Case) -> f64 {
    let mut grads: Vec<T> = case.grads.iter().map(|&g| T::from_f64(g)).collect();
    let mut worst: f64 = 0.0;
    let mut compare = |ours: f64, theirs: f64| {
        let error = (ours - theirs).abs() / theirs.abs().max(1e-30);
        if ours != theirs {
            worst = worst.max(error);
        }
    };
    match (case.function.as_str(), case.norm_type.as_str()) {
        ("clip_grad_norm_", "2") => compare(
            clip_grad_norm(&mut grads, case.max_norm).to_f64(),
            case.norm,
        ),
        ("clip_grad_norm_", "inf") => {
            compare(
                clip_grad_norm_inf(&mut grads, case.max_norm).to_f64(),
                case.norm,
            );
        }
        ("clip_grad_value_", _) => clip_grad_value(&mut grads, case.clip),
        other => panic!("{}: unknown case {other:?}", case.name),
    }
    for (ours, theirs) in grads.iter().zip(&case.clipped) {
        compare(ours.to_f64(), *theirs);
    }
    worst
}

#[test]
fn clipping_matches_pytorch() {
    for case in cases() {
        let (worst, tolerance) = match case.dtype.as_str() {
            "float64" => (replay::<f64>(&case), 1e-12),
            // PyTorch sums the squares in f32; backprop in f64.
            "float32" => (replay::<f32>(&case), 5e-7),
            other => panic!("{}: unknown dtype {other}", case.name),
        };
        println!("{:<32} worst relative error {worst:.1e}", case.name);
        assert!(
            worst <= tolerance,
            "{}: {worst:e} above {tolerance:e}",
            case.name
        );
    }
}

#[test]
fn the_fixtures_clip_some_gradients_and_leave_others() {
    // Otherwise the replay above would prove little.
    let cases = cases();
    let changed = |case: &&Case| case.grads != case.clipped;
    assert!(cases.iter().filter(changed).count() >= 20);
    assert!(cases.iter().filter(|case| !changed(case)).count() >= 10);
}

#[test]
fn a_clipped_gradient_has_the_maximum_norm_and_keeps_its_direction() {
    let grad = [3.0_f64, -4.0, 12.0];
    let mut clipped = grad;
    assert_eq!(clip_grad_norm(&mut clipped, 1.3), 13.0);
    let coefficient = 1.3 / (13.0 + 1e-6);
    for (c, g) in clipped.iter().zip(grad) {
        assert!((c - coefficient * g).abs() < 1e-15);
    }
    let norm = clipped.iter().map(|c| c * c).sum::<f64>().sqrt();
    assert!(norm < 1.3 && norm > 1.3 - 1e-6);
}

#[test]
fn a_non_finite_norm_is_returned_and_the_gradient_kept() {
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let grad = [1.0, bad, -2.0];
        let mut kept = grad;
        let norm = clip_grad_norm(&mut kept, 0.5);
        assert!(!norm.is_finite());
        assert_eq!(kept[0], 1.0);
        assert_eq!(kept[2], -2.0);
        assert_eq!(kept[1].to_bits(), bad.to_bits());

        let mut kept = grad;
        assert!(!clip_grad_norm_inf(&mut kept, 0.5).is_finite());
        assert_eq!((kept[0], kept[2]), (1.0, -2.0));
    }
}

#[test]
fn a_finite_gradient_whose_squares_overflow_still_has_its_norm() {
    let mut grad = [3e200_f64, -4e200];
    let norm = clip_grad_norm(&mut grad, 1.0);
    assert!((norm / 5e200 - 1.0).abs() < 1e-15, "{norm}");
    assert!((grad[0] - 0.6).abs() < 1e-15 && (grad[1] + 0.8).abs() < 1e-15);
}

#[test]
fn clipping_refuses_a_negative_or_nan_limit_and_changes_nothing() {
    let grad = [1.0_f32, -2.0];
    for limit in [-1.0, f64::NAN] {
        let mut kept = grad;
        assert!(catch_unwind(AssertUnwindSafe(|| clip_grad_norm(&mut kept, limit))).is_err());
        assert!(catch_unwind(AssertUnwindSafe(|| clip_grad_norm_inf(&mut kept, limit))).is_err());
        assert!(catch_unwind(AssertUnwindSafe(|| clip_grad_value(&mut kept, limit))).is_err());
        assert_eq!(kept, grad);
    }
}

#[test]
fn clipping_a_network_gradient_in_place() {
    let critic = Critic::seeded(8);
    let (_, mut grad) = critic.gradients(&[[1.0, -2.0, 0.5, 3.0, -1.0]], &[[40.0]]);
    let norm = clip_grad_norm(grad.params_mut(), 1.0);
    assert!(norm > 1.0, "the example gradient is large: {norm}");
    let after = grad.params().iter().map(|g| g * g).sum::<f64>().sqrt();
    assert!((after - 1.0).abs() < 1e-6, "{after}");
    clip_grad_value(grad.params_mut(), 0.01);
    assert!(grad.params().iter().all(|g| g.abs() <= 0.01));
}

#[test]
fn an_f32_gradient_whose_norm_exceeds_f32_max_is_clipped_and_reported_infinite() {
    let mut grad = [3e38_f32, -3e38];
    assert_eq!(clip_grad_norm(&mut grad, 2.0), f32::INFINITY);
    // Each entry becomes 2/√2 = √2.
    let sqrt2 = std::f32::consts::SQRT_2;
    assert!((grad[0] - sqrt2).abs() < 1e-6 && (grad[1] + sqrt2).abs() < 1e-6);
}
