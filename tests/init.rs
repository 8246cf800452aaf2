//! Weight initialisation: every scheme draws from the distribution its
//! theory gives, reproducibly from a seed, through the `Network` trait and
//! through the `init = …` option of `network!`.

// Reproducibility is bit-for-bit: the comparisons are exact on purpose, and
// the recorded values are written as Rust prints them.
#![allow(clippy::float_cmp, clippy::unreadable_literal)]

use backprop::Network;
use backprop::init::{self, seeded_rng};
use backprop::runtime::Init;

/// Mean, variance and the share of draws within one standard deviation.
fn moments(values: &[f64], std_dev: f64) -> (f64, f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let within = values.iter().filter(|v| v.abs() < std_dev).count() as f64 / n;
    (mean, variance, within)
}

/// `P(|X| < σ)`: `erf(1/√2)` for a normal `X`, `1/√3` for a uniform one.
fn share_within_one_std_dev(scheme: Init) -> f64 {
    if scheme.bound(1, 1).is_some() {
        1.0 / 3.0_f64.sqrt()
    } else {
        0.682_689_492_137_085_9
    }
}

#[test]
fn every_scheme_draws_a_large_layer_with_its_theoretical_moments() {
    let (fan_in, fan_out) = (400, 300);
    for scheme in Init::ALL {
        let mut w = vec![0.0_f64; fan_in * fan_out];
        scheme.fill(&mut seeded_rng(11), fan_in, fan_out, &mut w);
        let std_dev = scheme.std_dev(fan_in, fan_out);
        let (mean, variance, within) = moments(&w, std_dev);
        let n = w.len() as f64;
        // Five standard errors of the mean, and 3 % of the variance (about
        // seven standard errors of the sample variance for this many draws).
        assert!(
            mean.abs() < 5.0 * std_dev / n.sqrt(),
            "{scheme:?}: mean {mean}"
        );
        assert!(
            (variance / std_dev.powi(2) - 1.0).abs() < 0.03,
            "{scheme:?}: variance {variance}, expected {}",
            std_dev.powi(2)
        );
        let expected = share_within_one_std_dev(scheme);
        assert!(
            (within - expected).abs() < 0.01,
            "{scheme:?}: {within} of the draws within one σ, expected {expected}"
        );
        if let Some(bound) = scheme.bound(fan_in, fan_out) {
            assert!(
                w.iter().all(|v| v.abs() <= bound),
                "{scheme:?}: beyond ±{bound}"
            );
            let max = w.iter().map(|v| v.abs()).fold(0.0, f64::max);
            assert!(
                max > 0.999 * bound,
                "{scheme:?}: the draws reach only {max} of {bound}"
            );
        } else {
            // A normal draw beyond 4σ has probability 6·10⁻⁵: some of 120 000 should be.
            assert!(
                w.iter().any(|v| v.abs() > 4.0 * std_dev),
                "{scheme:?}: no tails"
            );
        }
    }
}

#[test]
fn schemes_follow_their_formulas() {
    let (fan_in, fan_out) = (12, 4);
    let close = |a: f64, b: f64| (a - b).abs() < 1e-15;
    assert!(close(
        Init::GlorotUniform.bound(fan_in, fan_out).unwrap(),
        (6.0_f64 / 16.0).sqrt()
    ));
    assert!(close(
        Init::GlorotNormal.std_dev(fan_in, fan_out),
        (2.0_f64 / 16.0).sqrt()
    ));
    assert!(close(
        Init::HeUniform.bound(fan_in, fan_out).unwrap(),
        (6.0_f64 / 12.0).sqrt()
    ));
    assert!(close(
        Init::HeNormal.std_dev(fan_in, fan_out),
        (2.0_f64 / 12.0).sqrt()
    ));
    assert!(close(
        Init::PyTorch.bound(fan_in, fan_out).unwrap(),
        1.0 / 12.0_f64.sqrt()
    ));
    // He keeps the variance 2 / fan_in, uniform or normal.
    assert!(close(
        Init::HeUniform.std_dev(fan_in, fan_out),
        Init::HeNormal.std_dev(fan_in, fan_out)
    ));
}

/// Values recorded once from these seeds. The generator, the bit-to-float
/// conversion and the Box–Muller transform are all specified exactly, so
/// any platform must draw these very numbers.
#[test]
fn seeded_draws_are_the_same_on_every_platform() {
    let recorded: [(Init, [f64; 3]); 5] = [
        (Init::GlorotUniform, RECORDED_GLOROT_UNIFORM),
        (Init::GlorotNormal, RECORDED_GLOROT_NORMAL),
        (Init::HeUniform, RECORDED_HE_UNIFORM),
        (Init::HeNormal, RECORDED_HE_NORMAL),
        (Init::PyTorch, RECORDED_PYTORCH),
    ];
    for (scheme, expected) in recorded {
        let mut w = [0.0_f64; 3];
        scheme.fill(&mut seeded_rng(42), 3, 2, &mut w);
        assert_eq!(w, expected, "{scheme:?}");
        // `f32` rounds the same draws.
        let mut w32 = [0.0_f32; 3];
        scheme.fill(&mut seeded_rng(42), 3, 2, &mut w32);
        #[allow(clippy::cast_possible_truncation)]
        let rounded = expected.map(|v| v as f32);
        assert_eq!(w32, rounded, "{scheme:?} in f32");
    }
}

/// `fill(&mut seeded_rng(42), 3, 2, …)` of each scheme, recorded once.
const RECORDED_GLOROT_UNIFORM: [f64; 3] =
    [0.6886080716950103, -0.396943213214212, 1.0601590054240364];
const RECORDED_GLOROT_NORMAL: [f64; 3] =
    [-0.4863539109845656, 1.0537458362372174, -0.5492535449426689];
const RECORDED_HE_UNIFORM: [f64; 3] = [0.888989197912926, -0.512451484722901, 1.368659390779704];
const RECORDED_HE_NORMAL: [f64; 3] = [-0.6278801992020223, 1.360380024960717, -0.709083277469448];
const RECORDED_PYTORCH: [f64; 3] = [
    0.36292832028879285,
    -0.20920744258379279,
    0.5587528565131265,
];

#[test]
fn the_same_seed_draws_the_same_weights_and_another_seed_does_not() {
    for scheme in Init::ALL {
        let draw = |seed| {
            let mut w = [0.0_f64; 32];
            scheme.fill(&mut seeded_rng(seed), 8, 4, &mut w);
            w
        };
        assert_eq!(draw(5), draw(5), "{scheme:?}");
        let (a, b) = (draw(5), draw(6));
        assert!(
            a.iter().zip(&b).all(|(a, b)| a != b),
            "{scheme:?}: seeds 5 and 6 share a value"
        );
    }
}

backprop::network! {
    /// Wide enough for the statistics of its first layers to mean something.
    Mixed = 32 -> relu(24) -> tanh(16) -> linear(4); loss = mse; float = f64
}

/// Layer `l`'s weights and bias, from the flat parameters.
fn layer(net: &Mixed, l: usize) -> (&[f64], &[f64]) {
    let widths = <Mixed as Network>::WIDTHS;
    let start: usize = (1..l).map(|k| (widths[k - 1] + 1) * widths[k]).sum();
    let (fan_in, fan_out) = (widths[l - 1], widths[l]);
    let params = Network::params(net);
    let weights = &params[start..start + fan_in * fan_out];
    (
        weights,
        &params[start + fan_in * fan_out..start + (fan_in + 1) * fan_out],
    )
}

#[test]
fn initialize_draws_each_layer_with_its_own_fans() {
    let mut net = Mixed::zeros();
    for (seed, scheme) in (0..).zip(Init::ALL) {
        // Biases that are not drawn must be reset, not left as they were.
        Network::params_mut(&mut net).fill(7.0);
        init::initialize(&mut net, scheme, &mut seeded_rng(seed));
        for l in 1..=3 {
            let widths = <Mixed as Network>::WIDTHS;
            let (fan_in, fan_out) = (widths[l - 1], widths[l]);
            let (weights, bias) = layer(&net, l);
            let std_dev = scheme.std_dev(fan_in, fan_out);
            let (_, variance, _) = moments(weights, std_dev);
            // 768 and 384 draws in the first layers: within 20 % (four
            // standard errors); the 64 of the last are too few to tell.
            assert!(
                l == 3 || (variance / std_dev.powi(2) - 1.0).abs() < 0.2,
                "{scheme:?}, layer {l}: variance {variance}, expected {}",
                std_dev.powi(2)
            );
            if scheme.draws_biases() {
                let bound = scheme.bound(fan_in, fan_out).unwrap();
                assert!(
                    bias.iter().all(|&b| b != 0.0 && b.abs() <= bound),
                    "{scheme:?}"
                );
            } else {
                assert!(
                    bias.iter().all(|&b| b == 0.0),
                    "{scheme:?}, layer {l}: biases"
                );
            }
        }
    }
}

#[test]
fn initialize_default_is_what_new_does() {
    let mut net = Mixed::zeros();
    init::initialize_default(&mut net, &mut seeded_rng(3));
    assert_eq!(net, Mixed::seeded(3));
    // relu takes He, tanh and linear take Glorot.
    let mut expected = Mixed::zeros();
    init::initialize_layers(
        &mut expected,
        |l| {
            if l == 1 {
                Init::HeUniform
            } else {
                Init::GlorotUniform
            }
        },
        &mut seeded_rng(3),
    );
    assert_eq!(net, expected);
}

backprop::network! {
    /// Every layer drawn He normal, whatever its activation.
    HeNormalNet = 32 -> relu(24) -> tanh(16) -> linear(4); loss = mse; float = f64; init = he_normal
}

backprop::network! {
    /// Weights and biases drawn as PyTorch's `nn.Linear` draws them.
    PyTorchNet = 32 -> relu(24) -> tanh(16) -> linear(4); loss = mse; float = f64; init = pytorch
}

#[test]
fn the_init_option_draws_every_layer_with_the_scheme_it_names() {
    for seed in 0..3 {
        let mut expected = HeNormalNet::zeros();
        init::initialize(&mut expected, Init::HeNormal, &mut seeded_rng(seed));
        assert_eq!(HeNormalNet::seeded(seed), expected);

        let mut expected = PyTorchNet::zeros();
        init::initialize(&mut expected, Init::PyTorch, &mut seeded_rng(seed));
        assert_eq!(PyTorchNet::seeded(seed), expected);
    }
    // Not the per-activation default of the same architecture.
    assert_ne!(
        Network::params(&HeNormalNet::seeded(0)),
        Network::params(&Mixed::seeded(0))
    );
    assert!(PyTorchNet::seeded(0).b1().iter().all(|&b| b != 0.0));

    // The expression form takes the option too.
    let net = backprop::network!(3 -> sigmoid(4) -> linear(2); loss = mse; init = glorot_normal; seed = 8);
    let mut expected = net.clone();
    init::initialize(&mut expected, Init::GlorotNormal, &mut seeded_rng(8));
    assert_eq!(net, expected);
}
