//! The policy distributions against outside oracles: values and gradients
//! recorded from `torch.distributions` by `tools/policy_fixtures.py` (f64,
//! committed, no Python at test time), central finite differences in f64,
//! and the sampling checked statistically and against the draw the docs
//! describe, written out here from the generator's raw output.

// Seeded draws are compared exactly, on purpose.
#![allow(clippy::float_cmp)]

use backprop::init::seeded_rng;
use backprop::policy::{Categorical, GaussianGradient, SquashedGaussian};
use backprop::runtime::rand_core::Rng;
use serde::Deserialize;

fn load<T: for<'de> Deserialize<'de>>(stem: &str) -> T {
    let path = format!(
        "{}/tests/fixtures/policy/{stem}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[derive(Deserialize)]
struct Cases<C> {
    cases: Vec<C>,
}

/// `torch.distributions.Categorical(logits=…)` on one row.
#[derive(Deserialize)]
struct CategoricalCase {
    name: String,
    logits: Vec<f64>,
    probs: Vec<f64>,
    log_probs: Vec<f64>,
    log_prob: Vec<f64>,
    log_prob_gradients: Vec<Vec<f64>>,
    entropy: f64,
    entropy_gradient: Vec<f64>,
}

/// A `(∂/∂μ, ∂/∂log σ)` pair as PyTorch's autograd gave it.
#[derive(Deserialize)]
struct Gradient {
    mean: Vec<f64>,
    log_std: Vec<f64>,
}

/// A squashed Gaussian from `TransformedDistribution(Normal, TanhTransform)`.
#[derive(Deserialize)]
struct GaussianCase {
    name: String,
    mean: Vec<f64>,
    log_std: Vec<f64>,
    bounds: Option<(f64, f64)>,
    noise: Vec<f64>,
    pre_tanh: Vec<f64>,
    action: Vec<f64>,
    log_prob: f64,
    sac_log_prob: f64,
    reparameterized_gradient: Gradient,
    fixed_action_gradient: Gradient,
    grad_action: Vec<f64>,
    action_gradient: Gradient,
}

/// `values` as an array of `N`, in `T`.
fn array<T: backprop::Float, const N: usize>(values: &[f64]) -> [T; N] {
    let mut out = [T::ZERO; N];
    assert_eq!(values.len(), N, "fixture row length");
    for (out, &v) in out.iter_mut().zip(values) {
        *out = T::from_f64(v);
    }
    out
}

/// Fails unless `|ours − theirs| ≤ relative·|theirs| + absolute` entry by entry.
#[track_caller]
fn assert_close<T: backprop::Float>(
    what: &str,
    ours: &[T],
    theirs: &[f64],
    relative: f64,
    absolute: f64,
) {
    assert_eq!(ours.len(), theirs.len(), "{what}: lengths");
    for (j, (&a, &b)) in ours.iter().zip(theirs).enumerate() {
        let a = a.to_f64();
        let close = if b.is_infinite() {
            a == b
        } else {
            (a - b).abs() <= relative * b.abs() + absolute
        };
        assert!(close, "{what}[{j}]: ours {a:e}, PyTorch's {b:e}");
    }
}

/// Calls `$check::<T, N>($case)` with `N` the length of `$row`.
macro_rules! dispatch {
    ($check:ident::<$t:ty>($case:expr, $row:expr $(, $arg:expr)*)) => {
        match $row.len() {
            1 => $check::<$t, 1>($case $(, $arg)*),
            2 => $check::<$t, 2>($case $(, $arg)*),
            3 => $check::<$t, 3>($case $(, $arg)*),
            4 => $check::<$t, 4>($case $(, $arg)*),
            5 => $check::<$t, 5>($case $(, $arg)*),
            6 => $check::<$t, 6>($case $(, $arg)*),
            n => panic!("no check for {n} entries"),
        }
    };
}

/// Every value and gradient of one recorded categorical, to `relative` and
/// `absolute`.
fn check_categorical<T: backprop::Float, const N: usize>(
    case: &CategoricalCase,
    relative: f64,
    absolute: f64,
) {
    let name = &case.name;
    let pi = Categorical::<T, N>::new(&array(&case.logits));
    assert_close(
        &format!("{name} probs"),
        &pi.probs(),
        &case.probs,
        relative,
        absolute,
    );
    assert_close(
        &format!("{name} log_probs"),
        pi.log_probs(),
        &case.log_probs,
        relative,
        absolute,
    );
    for a in 0..N {
        assert_close(
            &format!("{name} log_prob({a})"),
            &[pi.log_prob(a)],
            &case.log_prob[a..=a],
            relative,
            absolute,
        );
        assert_close(
            &format!("{name} log_prob_gradient({a})"),
            &pi.log_prob_gradient(a),
            &case.log_prob_gradients[a],
            relative,
            absolute,
        );
    }
    assert_close(
        &format!("{name} entropy"),
        &[pi.entropy()],
        &[case.entropy],
        relative,
        absolute,
    );
    // −pⱼ·(log pⱼ + H) cancels where pⱼ ≈ 1: there either side may be off
    // by rounding of the size of pⱼ·(1 + |log pⱼ| + H), not relative to the
    // (tiny) result, as in `near_deterministic`.
    for (j, g) in pi.entropy_gradient().iter().enumerate() {
        let (p, l) = (case.probs[j], case.log_probs[j]);
        let cancellation = 1e-15 * p * (1.0 + l.abs() + case.entropy);
        assert_close(
            &format!("{name} entropy_gradient[{j}]"),
            &[*g],
            &case.entropy_gradient[j..=j],
            relative,
            absolute + cancellation,
        );
    }
}

#[test]
fn categorical_matches_pytorch_values_and_autograd_gradients_including_extreme_logits() {
    let fixtures: Cases<CategoricalCase> = load("categorical");
    assert!(fixtures.cases.iter().any(|c| c.logits.contains(&-1000.0)));
    for case in &fixtures.cases {
        // Relative only: e^{−100}-sized entries must be right too.
        dispatch!(check_categorical::<f64>(case, case.logits, 1e-12, 1e-300));
    }
}

#[test]
fn categorical_in_f32_matches_pytorch_to_single_precision() {
    let fixtures: Cases<CategoricalCase> = load("categorical");
    for case in &fixtures.cases {
        // The fast f32 `exp`, within 4 ulps; probabilities below 1e-6 count as 0.
        dispatch!(check_categorical::<f32>(case, case.logits, 1e-5, 1e-6));
    }
}

/// `(f(x + h·eⱼ) − f(x − h·eⱼ)) / 2h` for every `j`.
fn central_differences<const N: usize>(x: &[f64; N], f: impl Fn(&[f64; N]) -> f64) -> [f64; N] {
    const H: f64 = 1e-6;
    std::array::from_fn(|j| {
        let (mut up, mut down) = (*x, *x);
        up[j] += H;
        down[j] -= H;
        (f(&up) - f(&down)) / (2.0 * H)
    })
}

#[track_caller]
fn assert_matches_differences<const N: usize>(what: &str, ours: &[f64; N], differences: &[f64; N]) {
    for j in 0..N {
        let (a, b) = (ours[j], differences[j]);
        assert!(
            (a - b).abs() <= 1e-6 * b.abs().max(1.0),
            "{what}[{j}]: ours {a:e}, differences {b:e}"
        );
    }
}

#[test]
fn categorical_gradients_match_central_finite_differences() {
    let rows: [[f64; 5]; 3] = [
        [0.3, -1.7, 2.2, 0.0, 0.9],
        [50.0, -50.0, 0.0, 49.0, -50.0],
        [-3.0, -3.0, -3.0, -3.0, 4.0],
    ];
    for logits in &rows {
        let pi = Categorical::new(logits);
        for a in 0..5 {
            let differences = central_differences(logits, |z| Categorical::new(z).log_prob(a));
            assert_matches_differences(
                &format!("{logits:?} log π({a})"),
                &pi.log_prob_gradient(a),
                &differences,
            );
        }
        let differences = central_differences(logits, |z| Categorical::new(z).entropy());
        assert_matches_differences(
            &format!("{logits:?} entropy"),
            &pi.entropy_gradient(),
            &differences,
        );
    }
}

#[test]
fn a_masked_action_has_probability_zero_and_no_share_of_the_entropy() {
    let masked = Categorical::new(&[0.5_f64, f64::NEG_INFINITY, -0.25]);
    let rest = Categorical::new(&[0.5_f64, -0.25]);
    assert_eq!(masked.probs()[1], 0.0);
    assert_eq!(masked.log_prob(1), f64::NEG_INFINITY);
    assert!((masked.entropy() - rest.entropy()).abs() < 1e-15);
    assert_eq!(masked.entropy_gradient()[1], 0.0);
    assert!((masked.entropy_gradient()[2] - rest.entropy_gradient()[1]).abs() < 1e-15);
    let mut rng = seeded_rng(11);
    assert!((0..10_000).all(|_| masked.sample(&mut rng) != 1));
}

#[test]
fn greedy_takes_the_first_of_tied_largest_logits() {
    assert_eq!(Categorical::new(&[1.0_f32, 3.0, 3.0, -2.0]).greedy(), 1);
    assert_eq!(Categorical::new(&[7.0_f64; 4]).greedy(), 0);
    assert_eq!(Categorical::new(&[-50.0_f64, 50.0, 49.999]).greedy(), 1);
}

#[test]
#[should_panic(expected = "action 3 is out of range for a distribution over 3 actions")]
fn an_action_past_the_last_panics_with_its_number() {
    let _ = Categorical::new(&[0.0_f64; 3]).log_prob(3);
}

#[test]
#[should_panic(expected = "action 7 is out of range")]
fn the_gradient_of_an_action_past_the_last_panics_too() {
    let _ = Categorical::new(&[0.0_f32; 2]).log_prob_gradient(7);
}

/// Chi-square statistic `Σ (observed − expected)² / expected` over the
/// actions of positive probability, and their number.
fn chi_square<T: backprop::Float, const N: usize>(
    pi: &Categorical<T, N>,
    draws: usize,
    seed: u64,
) -> (f64, usize) {
    let mut counts = [0_usize; N];
    let mut rng = seeded_rng(seed);
    for _ in 0..draws {
        counts[pi.sample(&mut rng)] += 1;
    }
    let mut statistic = 0.0;
    let mut cells = 0;
    for (count, p) in counts.iter().zip(pi.probs()) {
        let expected = p.to_f64() * draws as f64;
        if expected > 0.0 {
            statistic += (*count as f64 - expected).powi(2) / expected;
            cells += 1;
        } else {
            assert_eq!(*count, 0, "an action of probability 0 was drawn");
        }
    }
    (statistic, cells)
}

#[test]
fn sample_frequencies_of_100k_draws_pass_a_chi_square_test() {
    // The 0.999 quantiles of χ² with 3 and 5 degrees of freedom.
    let (statistic, cells) = chi_square(
        &Categorical::new(&[0.2_f64, 1.5, -1.0, f64::NEG_INFINITY, 0.7]),
        100_000,
        1,
    );
    assert_eq!(cells, 4);
    eprintln!("f64: χ² = {statistic:.2}, 3 degrees of freedom");
    assert!(
        statistic < 16.27,
        "χ² = {statistic} with 3 degrees of freedom"
    );
    let (statistic, cells) = chi_square(
        &Categorical::new(&[0.0_f32, -2.0, 1.0, 3.0, 0.5, -0.5]),
        100_000,
        2,
    );
    assert_eq!(cells, 6);
    eprintln!("f32: χ² = {statistic:.2}, 5 degrees of freedom");
    assert!(
        statistic < 20.52,
        "χ² = {statistic} with 5 degrees of freedom"
    );
}

/// A uniform in `[0, 1)` from the top 53 bits of one `next_u64`, as the
/// docs of `Categorical::sample` describe, written out here.
fn documented_uniform(rng: &mut impl Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1_u64 << 53) as f64
}

#[test]
fn categorical_samples_are_the_documented_inverse_cdf_of_one_draw() {
    let probs = [0.1, 0.25, 0.05, 0.4, 0.2];
    let logits = probs.map(f64::ln);
    let pi = Categorical::new(&logits);
    let (mut ours, mut reference) = (seeded_rng(21), seeded_rng(21));
    for _ in 0..2000 {
        let u = documented_uniform(&mut reference);
        let mut cumulative = 0.0;
        let expected = probs
            .iter()
            .position(|p| {
                cumulative += p;
                u < cumulative
            })
            .unwrap_or(4);
        let drawn = pi.sample(&mut ours);
        // Only a draw within rounding of a boundary could differ.
        let boundaries: Vec<f64> = probs
            .iter()
            .scan(0.0, |c, p| {
                *c += p;
                Some(*c)
            })
            .collect();
        if boundaries.iter().all(|b| (u - b).abs() > 1e-12) {
            assert_eq!(drawn, expected, "u = {u}");
        }
    }
    // One draw per sample: both generators are at the same place.
    assert_eq!(ours.next_u64(), reference.next_u64());
}

#[test]
fn the_same_seed_gives_the_same_actions_and_another_seed_others() {
    let pi = Categorical::new(&[0.0_f32, 0.3, -0.2, 0.1]);
    let draws = |seed| {
        let mut rng = seeded_rng(seed);
        (0..64).map(|_| pi.sample(&mut rng)).collect::<Vec<_>>()
    };
    assert_eq!(draws(5), draws(5));
    assert_ne!(draws(5), draws(6));
}

/// The recorded squashed Gaussian of `case` in `T`.
fn squashed<T: backprop::Float, const N: usize>(case: &GaussianCase) -> SquashedGaussian<T, N> {
    let (mean, log_std) = (array(&case.mean), array(&case.log_std));
    match case.bounds {
        Some((min, max)) => {
            SquashedGaussian::clamped(&mean, &log_std, T::from_f64(min), T::from_f64(max))
        }
        None => SquashedGaussian::new(&mean, &log_std),
    }
}

#[track_caller]
fn assert_gradient_close<T: backprop::Float, const N: usize>(
    what: &str,
    ours: &GaussianGradient<T, N>,
    theirs: &Gradient,
    relative: f64,
    absolute: f64,
) {
    assert_close(
        &format!("{what} ∂/∂μ"),
        &ours.mean,
        &theirs.mean,
        relative,
        absolute,
    );
    assert_close(
        &format!("{what} ∂/∂log σ"),
        &ours.log_std,
        &theirs.log_std,
        relative,
        absolute,
    );
}

fn check_gaussian<T: backprop::Float, const N: usize>(
    case: &GaussianCase,
    relative: f64,
    absolute: f64,
) {
    let name = &case.name;
    let pi = squashed::<T, N>(case);
    let sample = pi.reparameterize(&array(&case.noise));
    assert_close(
        &format!("{name} u"),
        &sample.pre_tanh,
        &case.pre_tanh,
        relative,
        absolute,
    );
    assert_close(
        &format!("{name} a"),
        &sample.action,
        &case.action,
        relative,
        absolute,
    );
    let log_prob = pi.log_prob(&sample.pre_tanh);
    assert_close(
        &format!("{name} log π, TanhTransform"),
        &[log_prob],
        &[case.log_prob],
        relative,
        absolute,
    );
    assert_close(
        &format!("{name} log π, SAC's formula"),
        &[log_prob],
        &[case.sac_log_prob],
        relative,
        absolute,
    );
    assert_gradient_close(
        &format!("{name} reparameterised"),
        &pi.reparameterized_log_prob_gradient(&sample),
        &case.reparameterized_gradient,
        relative,
        absolute,
    );
    assert_gradient_close(
        &format!("{name} action fixed"),
        &pi.log_prob_gradient(&sample.pre_tanh),
        &case.fixed_action_gradient,
        relative,
        absolute,
    );
    assert_gradient_close(
        &format!("{name} through the action"),
        &pi.action_gradient(&sample, &array(&case.grad_action)),
        &case.action_gradient,
        relative,
        absolute,
    );
}

#[test]
fn squashed_gaussian_matches_pytorch_log_probs_and_gradients_along_both_paths() {
    let fixtures: Cases<GaussianCase> = load("squashed_gaussian");
    assert!(fixtures.cases.iter().any(|c| c.bounds.is_some()));
    for case in &fixtures.cases {
        // The absolute 1e-12: through a saturated tanh PyTorch multiplies by
        // 1 − a² with a rounded to ±1 (0, or a few ulps of 1), where the
        // stable form gives e.g. 4e^{−50}. And 1e-15/σ: PyTorch's
        // reparameterised ∂/∂μ sums Gaussian terms of size |ε|/σ that cancel
        // exactly only in exact arithmetic (ours is 2·tanh(u) directly).
        let smallest_std = case
            .log_std
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min)
            .exp();
        let absolute = 1e-12 + 1e-15 / smallest_std;
        dispatch!(check_gaussian::<f64>(case, case.mean, 1e-12, absolute));
    }
}

#[test]
fn squashed_gaussian_in_f32_matches_pytorch_where_single_precision_can() {
    let fixtures: Cases<GaussianCase> = load("squashed_gaussian");
    // Not the cases with σ ≤ e^{−8}: there (u − μ)/σ cancels in f32.
    let cases = fixtures
        .cases
        .iter()
        .filter(|c| c.log_std.iter().all(|&l| l > -4.0));
    let mut checked = 0;
    for case in cases {
        dispatch!(check_gaussian::<f32>(case, case.mean, 1e-4, 1e-4));
        checked += 1;
    }
    assert_eq!(checked, 3);
}

#[test]
fn squashed_gaussian_gradients_match_central_finite_differences_along_both_paths() {
    let mean = [0.4, -1.1, 2.5];
    let log_std = [-0.3, 0.4, -1.2];
    let noise = [0.7, -1.3, 0.2];
    let grad_action = [0.9, -0.4, 1.6];
    let pi = SquashedGaussian::new(&mean, &log_std);
    let sample = pi.reparameterize(&noise);
    let u = sample.pre_tanh;

    let fixed = pi.log_prob_gradient(&u);
    let by_mean = central_differences(&mean, |m| SquashedGaussian::new(m, &log_std).log_prob(&u));
    let by_log_std =
        central_differences(&log_std, |l| SquashedGaussian::new(&mean, l).log_prob(&u));
    assert_matches_differences("action fixed ∂/∂μ", &fixed.mean, &by_mean);
    assert_matches_differences("action fixed ∂/∂log σ", &fixed.log_std, &by_log_std);

    let along = |m: &[f64; 3], l: &[f64; 3]| {
        let pi = SquashedGaussian::new(m, l);
        pi.log_prob(&pi.reparameterize(&noise).pre_tanh)
    };
    let reparameterized = pi.reparameterized_log_prob_gradient(&sample);
    assert_matches_differences(
        "reparameterised ∂/∂μ",
        &reparameterized.mean,
        &central_differences(&mean, |m| along(m, &log_std)),
    );
    assert_matches_differences(
        "reparameterised ∂/∂log σ",
        &reparameterized.log_std,
        &central_differences(&log_std, |l| along(&mean, l)),
    );

    let projected = |m: &[f64; 3], l: &[f64; 3]| {
        let action = SquashedGaussian::new(m, l).reparameterize(&noise).action;
        action
            .iter()
            .zip(&grad_action)
            .map(|(a, g)| a * g)
            .sum::<f64>()
    };
    let through_action = pi.action_gradient(&sample, &grad_action);
    assert_matches_differences(
        "through the action ∂/∂μ",
        &through_action.mean,
        &central_differences(&mean, |m| projected(m, &log_std)),
    );
    assert_matches_differences(
        "through the action ∂/∂log σ",
        &through_action.log_std,
        &central_differences(&log_std, |l| projected(&mean, l)),
    );
}

#[test]
fn clamped_log_std_passes_no_gradient_outside_its_bounds_and_all_of_it_inside() {
    let mean = [0.1, 0.2, -0.3];
    let raw = [-23.0, 0.5, 2.7];
    let noise = [0.4, -0.6, 1.1];
    let clamp = |l: &[f64; 3]| SquashedGaussian::clamped(&mean, l, -20.0, 2.0);
    let pi = clamp(&raw);
    assert_eq!(pi.log_std(), &[-20.0, 0.5, 2.0]);
    let sample = pi.reparameterize(&noise);
    let u = sample.pre_tanh;
    let unclamped = SquashedGaussian::new(&mean, &raw).log_prob_gradient(&u);
    for (gradient, differences) in [
        (
            pi.log_prob_gradient(&u),
            central_differences(&raw, |l| clamp(l).log_prob(&u)),
        ),
        (
            pi.reparameterized_log_prob_gradient(&sample),
            central_differences(&raw, |l| {
                let pi = clamp(l);
                pi.log_prob(&pi.reparameterize(&noise).pre_tanh)
            }),
        ),
    ] {
        assert_eq!((gradient.log_std[0], gradient.log_std[2]), (0.0, 0.0));
        assert_eq!((differences[0], differences[2]), (0.0, 0.0));
        assert!(gradient.log_std[1] != 0.0);
        assert_matches_differences("clamped ∂/∂log σ", &gradient.log_std, &differences);
    }
    assert_eq!(pi.log_prob_gradient(&u).log_std[1], unclamped.log_std[1]);
    let through_action = pi.action_gradient(&sample, &[1.0; 3]);
    assert_eq!(
        (through_action.log_std[0], through_action.log_std[2]),
        (0.0, 0.0)
    );
}

#[test]
#[should_panic(expected = "min 2 is not at most max -20")]
fn clamping_to_reversed_bounds_panics() {
    let _ = SquashedGaussian::clamped(&[0.0_f64], &[0.0], 2.0, -20.0);
}

#[test]
fn from_row_and_write_row_share_the_layout_means_then_log_std() {
    let row = [0.5_f32, -0.5, -1.0, -2.0];
    let pi = SquashedGaussian::<f32, 2>::from_row(&row);
    assert_eq!((pi.mean(), pi.log_std()), (&[0.5, -0.5], &[-1.0, -2.0]));
    let mut out = [0.0; 4];
    GaussianGradient {
        mean: *pi.mean(),
        log_std: *pi.log_std(),
    }
    .write_row(&mut out);
    assert_eq!(out, row);
}

#[test]
#[should_panic(
    expected = "a row of 3 values cannot hold the 2 means and 2 log standard deviations"
)]
fn a_row_of_the_wrong_length_panics_with_both_lengths() {
    let _ = SquashedGaussian::<f64, 2>::from_row(&[0.0; 3]);
}

#[test]
fn gaussian_samples_have_the_mean_and_variance_of_their_normal() {
    const DRAWS: usize = 100_000;
    let (mean, std) = ([0.5, -1.0, 2.0], [0.3, 1.0, 2.5]);
    let pi = SquashedGaussian::new(&mean, &std.map(f64::ln));
    let mut rng = seeded_rng(17);
    let (mut sum, mut squares, mut cross) = ([0.0; 3], [0.0; 3], 0.0);
    for _ in 0..DRAWS {
        let sample = pi.sample(&mut rng);
        for j in 0..3 {
            sum[j] += sample.pre_tanh[j];
            squares[j] += sample.pre_tanh[j] * sample.pre_tanh[j];
            // libm's tanh, which may differ from std's in the last place.
            assert!((sample.action[j] - sample.pre_tanh[j].tanh()).abs() < 1e-15);
        }
        // ε₀ and ε₁ are the cosine and sine of one Box–Muller pair.
        cross += sample.noise[0] * sample.noise[1];
    }
    let n = DRAWS as f64;
    for j in 0..3 {
        let sample_mean = sum[j] / n;
        let variance = squares[j] / n - sample_mean * sample_mean;
        // Four standard errors: of the mean σ/√n, of the variance σ²·√(2/n).
        assert!(
            (sample_mean - mean[j]).abs() < 4.0 * std[j] / n.sqrt(),
            "mean {j}: {sample_mean}"
        );
        let expected = std[j] * std[j];
        assert!(
            (variance - expected).abs() < 4.0 * expected * (2.0 / n).sqrt(),
            "variance {j}: {variance}"
        );
    }
    assert!(
        (cross / n).abs() < 4.0 / n.sqrt(),
        "paired normals correlate: {}",
        cross / n
    );
}

#[test]
fn gaussian_noise_is_the_documented_box_muller_of_the_generator() {
    let pi = SquashedGaussian::new(&[0.0_f64; 3], &[0.0; 3]);
    let (mut ours, mut reference) = (seeded_rng(23), seeded_rng(23));
    for _ in 0..100 {
        let noise = pi.sample(&mut ours).noise;
        let mut expected = [0.0; 3];
        for pair in [0, 2] {
            let radius = (-2.0 * (1.0 - documented_uniform(&mut reference)).ln()).sqrt();
            let angle = std::f64::consts::TAU * documented_uniform(&mut reference);
            expected[pair] = radius * angle.cos();
            if pair + 1 < 3 {
                expected[pair + 1] = radius * angle.sin();
            }
        }
        // std's and libm's ln, cos and sin may differ in the last place.
        for j in 0..3 {
            assert!((noise[j] - expected[j]).abs() <= 1e-14 * expected[j].abs().max(1.0));
        }
    }
    assert_eq!(
        ours.next_u64(),
        reference.next_u64(),
        "four uniforms per sample of three"
    );
}

#[test]
fn the_same_seed_gives_the_same_gaussian_samples() {
    let pi = SquashedGaussian::new(&[0.2_f32, -0.4], &[-1.0, 0.5]);
    let (mut first, mut second, mut other) = (seeded_rng(9), seeded_rng(9), seeded_rng(10));
    for _ in 0..32 {
        let sample = pi.sample(&mut first);
        assert_eq!(sample, pi.sample(&mut second));
        assert_ne!(sample, pi.sample(&mut other));
    }
}
