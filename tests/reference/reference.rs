//! The generated networks against an independent reference.
//!
//! `tests/common/mlp.rs` is a plainly written `f64` multilayer perceptron,
//! shaped at run time, that knows every activation and loss from the math
//! alone. For a battery of architectures that together use every
//! activation in a hidden and in an output position, every loss, depths 1
//! to 5, widths 1 to 64, non-default parameters and both float types,
//! proptest draws weights, inputs and targets, and the loss, the outputs,
//! every parameter gradient and every input gradient of the generated code
//! must equal the reference's to within a small multiple of the unit
//! round-off times the reference's estimate of the rounding error a correct
//! implementation may make (`error_scales`). Compile-time batch sizes 1, 3
//! and 8 and the run-time `*_slice` methods with random batch sizes are
//! compared. Pre-activations up to `|z| = 1e4` must give finite losses and
//! gradients that still equal the reference's, and Graphviz must accept the
//! diagram of every network.
//!
//! `cargo test --test reference -- --nocapture` prints the worst error seen
//! for each network and float type.

#[path = "../common/mod.rs"]
mod common;

use std::cell::Cell;
use std::fmt::Display;
use std::sync::atomic::{AtomicU64, Ordering};

use backprop::diagram::{Detail, Diagram};
use backprop::{Float, Network, Row};
use common::mlp::{self, Activation, Architecture, ErrorScales, Evaluation, Loss, Matrix};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseResult, TestRunner};

// ---------------------------------------------------------------------------
// Tolerances.
// ---------------------------------------------------------------------------

/// Largest error allowed, in units of the round-off `u` of the network's
/// float type times the reference's error scale of the value: `u·M` bounds
/// one rounding of every term behind the value, and the passes round each
/// term a few dozen times at most.
const TOLERANCE_IN_ROUND_OFFS: f64 = 256.0;

/// A case is set aside when a pre-activation lies within this many
/// round-offs (times its error scale) of a point where a derivative jumps
/// (relu at 0, softplus at `βz = 20`, `mae` at `ŷ = y`): there a correct
/// implementation may take either side.
const KINK_IN_ROUND_OFFS: f64 = 1024.0;

/// Cases drawn per architecture.
const CASES: u32 = 48;

/// Rows drawn per case: the const-size batches use the first 1, 3 and 8,
/// the slice methods a random number of them (chunks of 8 and single rows).
const ROWS: usize = 19;

/// The unit round-off of `T`, and its smallest normal number.
fn round_off<T: Float>() -> (f64, f64) {
    match T::NAME {
        "f32" => (f64::from(f32::EPSILON) / 2.0, f64::from(f32::MIN_POSITIVE)),
        "f64" => (f64::EPSILON / 2.0, f64::MIN_POSITIVE),
        other => panic!("no round-off known for {other}"),
    }
}

// ---------------------------------------------------------------------------
// Worst errors seen, per float type.
// ---------------------------------------------------------------------------

/// The worst errors of one comparison or of a whole run.
#[derive(Clone, Copy, Debug, Default)]
struct Worst {
    /// `|actual − expected| / M`, `M` the error scale.
    scaled: f64,
    /// `|actual − expected| / |expected|` over the values whose error scale
    /// is at most ten times their size (the well-conditioned ones).
    relative: f64,
    /// Values compared.
    values: usize,
}

impl Worst {
    fn merge(self, other: Self) -> Self {
        Self {
            scaled: self.scaled.max(other.scaled),
            relative: self.relative.max(other.relative),
            values: self.values + other.values,
        }
    }
}

/// Worst errors over every test of this run, as the bits of non-negative
/// `f64`s (whose order is that of the bits): `[scaled, relative]`.
static WORST_F64: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];
static WORST_F32: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

/// Records `worst` for `T` and prints it with the run's worst so far.
fn report<T: Float>(name: &str, what: &str, worst: Worst) {
    let run = if T::NAME == "f32" {
        &WORST_F32
    } else {
        &WORST_F64
    };
    run[0].fetch_max(worst.scaled.to_bits(), Ordering::Relaxed);
    run[1].fetch_max(worst.relative.to_bits(), Ordering::Relaxed);
    let (u, _) = round_off::<T>();
    println!(
        "{name} ({}), {what}: {} values, worst error {:.2e} of the error scale ({:.1} round-offs), \
         worst relative error {:.2e}; worst of the run so far for {}: {:.2e} of the error scale, \
         {:.2e} relative",
        T::NAME,
        worst.values,
        worst.scaled,
        worst.scaled / u,
        worst.relative,
        T::NAME,
        f64::from_bits(run[0].load(Ordering::Relaxed)),
        f64::from_bits(run[1].load(Ordering::Relaxed)),
    );
}

// ---------------------------------------------------------------------------
// Comparison with the reference.
// ---------------------------------------------------------------------------

/// Compares a network's results for `T` with the reference's, value by
/// value, keeping the worst error.
struct Comparison<'a> {
    name: &'a str,
    /// The tolerance relative to the error scale.
    tolerance: f64,
    /// Below the smallest normal number, gradual underflow makes an
    /// absolute error of up to half the spacing of subnormal numbers,
    /// `u` times the smallest normal number, per operation: this many.
    underflow: f64,
    worst: Worst,
}

impl<'a> Comparison<'a> {
    fn new<T: Float>(name: &'a str) -> Self {
        let (u, smallest_normal) = round_off::<T>();
        Self {
            name,
            tolerance: TOLERANCE_IN_ROUND_OFFS * u,
            underflow: TOLERANCE_IN_ROUND_OFFS * u * smallest_normal,
            worst: Worst::default(),
        }
    }

    /// `actual` equals `expected` to within the tolerance times `scale`
    /// (exactly, where the scale is 0: such a value involves no rounding),
    /// or to within the allowance for underflow.
    fn value(
        &mut self,
        actual: f64,
        expected: f64,
        scale: f64,
        what: impl Display,
    ) -> TestCaseResult {
        let difference = (actual - expected).abs();
        let scaled = if difference <= self.underflow {
            0.0
        } else {
            difference / scale
        };
        prop_assert!(
            scaled <= self.tolerance,
            "{}: {what}: got {actual:e}, the reference gives {expected:e}; the difference {difference:e} \
             is {scaled:.3e} of the error scale {scale:e}, above {:.3e}",
            self.name,
            self.tolerance
        );
        self.worst.scaled = self.worst.scaled.max(scaled);
        if scale <= 10.0 * expected.abs() {
            self.worst.relative = self.worst.relative.max(difference / expected.abs());
        }
        self.worst.values += 1;
        Ok(())
    }

    fn values(
        &mut self,
        actual: &[f64],
        expected: &[f64],
        scales: &[f64],
        what: impl Display,
    ) -> TestCaseResult {
        prop_assert_eq!(
            actual.len(),
            expected.len(),
            "{}: {}: lengths",
            self.name,
            what
        );
        for (i, ((&a, &e), &m)) in actual.iter().zip(expected).zip(scales).enumerate() {
            self.value(a, e, m, format_args!("{what}[{i}]"))?;
        }
        Ok(())
    }

    fn rows(
        &mut self,
        actual: &Matrix,
        expected: &Matrix,
        scales: &Matrix,
        what: impl Display,
    ) -> TestCaseResult {
        prop_assert_eq!(
            actual.len(),
            expected.len(),
            "{}: {}: rows",
            self.name,
            what
        );
        for (row, ((a, e), m)) in actual.iter().zip(expected).zip(scales).enumerate() {
            self.values(a, e, m, format_args!("{what} row {row}"))?;
        }
        Ok(())
    }
}

/// `values` rounded to `T` and back: what a network of `T` holds.
fn rounded<T: Float>(values: &[f64]) -> Vec<f64> {
    values.iter().map(|&v| T::from_f64(v).to_f64()).collect()
}

fn to_rows<T: Float, R: Row<T>>(values: &[Vec<f64>]) -> Vec<R> {
    values
        .iter()
        .map(|values| {
            let mut row = R::ZERO;
            for (r, &v) in row.as_mut().iter_mut().zip(values) {
                *r = T::from_f64(v);
            }
            row
        })
        .collect()
}

fn to_array<R: Copy, const B: usize>(rows: &[R]) -> [R; B] {
    std::array::from_fn(|i| rows[i])
}

fn params_of<N: Network>(net: &N) -> Vec<f64> {
    net.params().iter().map(|p| p.to_f64()).collect()
}

/// A network of type `N` holding `params`.
fn network_with<N: Network>(params: &[f64]) -> N {
    let mut net = N::zeros();
    assert_eq!(
        N::PARAMS,
        params.len(),
        "the architecture's parameter count"
    );
    for (p, &v) in net.params_mut().iter_mut().zip(params) {
        *p = N::Float::from_f64(v);
    }
    net
}

/// The reference's results and error scales for a batch, or `None` if a
/// value lies too close to a kink to be compared (see [`KINK_IN_ROUND_OFFS`]).
fn reference_for<T: Float>(
    arch: &Architecture,
    params: &[f64],
    x: &Matrix,
    y: &Matrix,
) -> Option<(Evaluation, ErrorScales)> {
    let evaluation = mlp::evaluate(arch, params, x, y);
    let scales = mlp::error_scales(arch, params, y, &evaluation);
    (scales.kink_margin > KINK_IN_ROUND_OFFS * round_off::<T>().0).then_some((evaluation, scales))
}

/// Every result of the compile-time-size methods for the first `B` rows.
fn compare_const<N: Network, const B: usize>(
    net: &N,
    arch: &Architecture,
    x: &Matrix,
    y: &Matrix,
    comparison: &mut Comparison<'_>,
) -> TestCaseResult {
    let (x, y) = (&x[..B].to_vec(), &y[..B].to_vec());
    let Some((expected, scales)) = reference_for::<N::Float>(arch, &params_of(net), x, y) else {
        return Err(TestCaseError::reject("a value at a kink"));
    };
    let xs: [N::Input; B] = to_array(&to_rows(x));
    let ys: [N::Target; B] = to_array(&to_rows(y));

    let outputs = common::to_vecs(&net.forward(&xs));
    comparison.rows(
        &outputs,
        &expected.outputs,
        &scales.outputs,
        format_args!("batch {B}: forward"),
    )?;
    let loss = net.loss(&xs, &ys).to_f64();
    comparison.value(
        loss,
        expected.loss,
        scales.loss,
        format_args!("batch {B}: loss"),
    )?;
    let (loss, grad) = net.gradients(&xs, &ys);
    comparison.value(
        loss.to_f64(),
        expected.loss,
        scales.loss,
        format_args!("batch {B}: loss of gradients"),
    )?;
    comparison.values(
        &params_of(&grad),
        &expected.param_gradients,
        &scales.param_gradients,
        format_args!("batch {B}: ∂L/∂θ"),
    )?;
    let (loss, grad_x) = net.input_gradients(&xs, &ys);
    comparison.value(
        loss.to_f64(),
        expected.loss,
        scales.loss,
        format_args!("batch {B}: loss of input_gradients"),
    )?;
    comparison.rows(
        &common::to_vecs(&grad_x),
        &expected.input_gradients,
        &scales.input_gradients,
        format_args!("batch {B}: ∂L/∂X"),
    )
}

/// Every result of the run-time-size methods for the first `rows` rows,
/// writing over stale values.
fn compare_slices<N: Network>(
    net: &N,
    arch: &Architecture,
    x: &Matrix,
    y: &Matrix,
    rows: usize,
    comparison: &mut Comparison<'_>,
) -> TestCaseResult {
    let (x, y) = (&x[..rows].to_vec(), &y[..rows].to_vec());
    let Some((expected, scales)) = reference_for::<N::Float>(arch, &params_of(net), x, y) else {
        return Err(TestCaseError::reject("a value at a kink"));
    };
    let xs: Vec<N::Input> = to_rows(x);
    let ys: Vec<N::Target> = to_rows(y);
    let stale = N::Float::from_f64(123.0);

    let mut stale_output = N::Output::ZERO;
    stale_output.as_mut().fill(stale);
    let mut outputs = vec![stale_output; rows];
    net.forward_slice(&xs, &mut outputs)
        .expect("one output row per input row");
    let what = format!("{rows} rows");
    comparison.rows(
        &common::to_vecs(&outputs),
        &expected.outputs,
        &scales.outputs,
        format_args!("{what}: forward_slice"),
    )?;
    let loss = net.loss_slice(&xs, &ys).expect("a valid batch").to_f64();
    comparison.value(
        loss,
        expected.loss,
        scales.loss,
        format_args!("{what}: loss_slice"),
    )?;
    let mut grad = N::zeros();
    grad.params_mut().fill(stale);
    let loss = net
        .gradients_slice(&xs, &ys, &mut grad)
        .expect("a valid batch");
    comparison.value(
        loss.to_f64(),
        expected.loss,
        scales.loss,
        format_args!("{what}: loss of gradients_slice"),
    )?;
    comparison.values(
        &params_of(&grad),
        &expected.param_gradients,
        &scales.param_gradients,
        format_args!("{what}: gradients_slice"),
    )?;
    let mut stale_input = N::Input::ZERO;
    stale_input.as_mut().fill(stale);
    let mut grad_x = vec![stale_input; rows];
    let loss = net
        .input_gradients_slice(&xs, &ys, &mut grad_x)
        .expect("a valid batch");
    comparison.value(
        loss.to_f64(),
        expected.loss,
        scales.loss,
        format_args!("{what}: loss of input_gradients_slice"),
    )?;
    comparison.rows(
        &common::to_vecs(&grad_x),
        &expected.input_gradients,
        &scales.input_gradients,
        format_args!("{what}: input_gradients_slice"),
    )
}

// ---------------------------------------------------------------------------
// Random cases.
// ---------------------------------------------------------------------------

/// One drawn case: parameters, `ROWS` input and target rows, and how many
/// rows the slice methods see.
#[derive(Clone, Debug)]
struct Case {
    params: Vec<f64>,
    x: Matrix,
    y: Matrix,
    slice_rows: usize,
}

/// Targets valid for the loss: probability rows (some one-hot) for
/// `cross_entropy`, values in `[0, 1]` (some exactly 0 or 1) for `bce`,
/// anything in `[-2, 2]` otherwise.
fn targets(loss: Loss, width: usize) -> BoxedStrategy<Matrix> {
    match loss {
        Loss::CrossEntropy => vec((vec(0.0..1.0_f64, width), any::<bool>()), ROWS)
            .prop_map(|rows| {
                rows.into_iter()
                    .map(|(weights, one_hot)| {
                        // Squared, so that some rows are peaked.
                        let weights: Vec<f64> = weights.iter().map(|w| w * w + 1e-3).collect();
                        if one_hot {
                            let best = (0..weights.len())
                                .max_by(|&a, &b| weights[a].total_cmp(&weights[b]))
                                .expect("a class");
                            (0..weights.len())
                                .map(|k| if k == best { 1.0 } else { 0.0 })
                                .collect()
                        } else {
                            let total: f64 = weights.iter().sum();
                            weights.iter().map(|w| w / total).collect()
                        }
                    })
                    .collect()
            })
            .boxed(),
        Loss::Bce => vec(
            vec((-0.25..1.25_f64).prop_map(|y| y.clamp(0.0, 1.0)), width),
            ROWS,
        )
        .boxed(),
        Loss::Mse | Loss::Mae | Loss::Huber { .. } => vec(vec(-2.0..2.0_f64, width), ROWS).boxed(),
    }
}

/// Parameters uniform in `±gain/√fan_in` (biases `±gain/2`), with a gain
/// from 0.25 to 3 so that the activations are seen from nearly linear to
/// saturated; inputs in `[-2, 2]`.
fn cases(arch: &Architecture) -> impl Strategy<Value = Case> + use<> {
    let slots = arch.slots();
    (
        vec(-1.0..1.0_f64, arch.params()),
        0.25..3.0_f64,
        vec(vec(-2.0..2.0_f64, arch.inputs), ROWS),
        targets(arch.loss, arch.outputs()),
        1..=ROWS,
    )
        .prop_map(move |(mut params, gain, x, y, slice_rows)| {
            for s in &slots {
                let weight_scale = gain / (s.fan_in as f64).sqrt();
                for p in &mut params[s.weights..s.biases] {
                    *p *= weight_scale;
                }
                for p in &mut params[s.biases..s.biases + s.fan_out] {
                    *p *= gain / 2.0;
                }
            }
            Case {
                params,
                x,
                y,
                slice_rows,
            }
        })
}

/// Draws [`CASES`] cases for `N`, whose architecture is `arch`, and compares
/// every result for batches of 1, 3 and 8 rows and for the slice methods
/// with the reference.
fn random_cases_match_reference<N: Network>(name: &str, arch: &Architecture) {
    assert_eq!(N::PARAMS, arch.params(), "{name}: parameter count");
    assert_eq!(N::INPUTS, arch.inputs, "{name}: inputs");
    assert_eq!(N::OUTPUTS, arch.outputs(), "{name}: outputs");
    assert_eq!(N::LAYERS, arch.layers.len(), "{name}: layers");
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    });
    let worst = Cell::new(Worst::default());
    let result = runner.run(&cases(arch), |case| {
        let params = rounded::<N::Float>(&case.params);
        let x: Matrix = case.x.iter().map(|row| rounded::<N::Float>(row)).collect();
        let y: Matrix = case.y.iter().map(|row| rounded::<N::Float>(row)).collect();
        let net: N = network_with(&params);
        let mut comparison = Comparison::new::<N::Float>(name);
        compare_const::<N, 1>(&net, arch, &x, &y, &mut comparison)?;
        compare_const::<N, 3>(&net, arch, &x, &y, &mut comparison)?;
        compare_const::<N, 8>(&net, arch, &x, &y, &mut comparison)?;
        compare_slices(&net, arch, &x, &y, case.slice_rows, &mut comparison)?;
        worst.set(worst.get().merge(comparison.worst));
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{name}: {failure}");
    }
    report::<N::Float>(name, &format!("{CASES} random cases"), worst.get());
}

// ---------------------------------------------------------------------------
// Extreme pre-activations.
// ---------------------------------------------------------------------------

/// The first layer's pre-activations in the extreme cases, in turn: the
/// largest sizes, softplus's threshold region, the kinks themselves, and
/// where `exp` and `erf` of the tails underflow.
const EXTREME_Z: [f64; 16] = [
    1e4, -1e4, 1e3, -1e3, 100.0, -100.0, 30.0, -30.0, 20.5, -9.0, 0.0, -0.0, 1e-3, -40.0, 7e3, -5e3,
];

/// Parameters and inputs such that the first layer's pre-activations are
/// exactly the values of [`EXTREME_Z`] (each unit reads one input with
/// weight 1), and every later layer's are random, scaled so that their
/// largest `|z|` over the batch is `largest`.
fn extreme_case(arch: &Architecture, rows: usize, largest: f64, seed: u64) -> (Vec<f64>, Matrix) {
    let mut rng = common::Rng::new(seed);
    let slots = arch.slots();
    let mut params = vec![0.0; arch.params()];
    let first = slots[0];
    for j in 0..first.fan_out {
        params[first.weights + (j % first.fan_in) * first.fan_out + j] = 1.0;
    }
    let x: Matrix = (0..rows)
        .map(|r| {
            (0..arch.inputs)
                .map(|i| EXTREME_Z[(r * arch.inputs + i) % EXTREME_Z.len()])
                .collect()
        })
        .collect();
    let mut h: Matrix = x
        .iter()
        .map(|row| {
            (0..first.fan_out)
                .map(|j| arch.layers[0].0.value_or_identity(row[j % first.fan_in]))
                .collect()
        })
        .collect();
    for (l, s) in slots.iter().enumerate().skip(1) {
        for p in &mut params[s.weights..s.biases + s.fan_out] {
            *p = rng.uniform(-1.0, 1.0);
        }
        let z: Matrix = h
            .iter()
            .map(|row| {
                (0..s.fan_out)
                    .map(|j| {
                        params[s.biases + j]
                            + (0..s.fan_in)
                                .map(|i| row[i] * params[s.weights + i * s.fan_out + j])
                                .sum::<f64>()
                    })
                    .collect()
            })
            .collect();
        let size = z.iter().flatten().fold(0.0_f64, |m, z| m.max(z.abs()));
        let scale = if size > 0.0 { largest / size } else { 1.0 };
        for p in &mut params[s.weights..s.biases + s.fan_out] {
            *p *= scale;
        }
        h = z
            .iter()
            .map(|row| {
                row.iter()
                    .map(|&z| arch.layers[l].0.value_or_identity(z * scale))
                    .collect()
            })
            .collect();
    }
    (params, x)
}

impl Activation {
    /// `f(z)`, or `z` for softmax (only the output layer's, which no later layer reads).
    fn value_or_identity(self, z: f64) -> f64 {
        if self == Self::Softmax {
            z
        } else {
            self.value(z)
        }
    }
}

/// Targets of the extreme cases: far from the outputs, and away from the
/// values of saturated units (where `mae` has its kink), for the element-wise
/// losses, one-hot and spread rows for `cross_entropy`, 0, 1 and between
/// for `bce`.
fn extreme_targets(loss: Loss, rows: usize, width: usize) -> Matrix {
    (0..rows)
        .map(|r| match loss {
            Loss::CrossEntropy if r % 2 == 0 => (0..width)
                .map(|k| if k == r % width { 1.0 } else { 0.0 })
                .collect(),
            Loss::CrossEntropy => vec![1.0 / width as f64; width],
            Loss::Bce => (0..width).map(|k| [0.0, 1.0, 0.25][(r + k) % 3]).collect(),
            Loss::Mse | Loss::Mae | Loss::Huber { .. } => (0..width)
                .map(|k| [-1e3, 2.5, 0.375][(r + k) % 3])
                .collect(),
        })
        .collect()
}

/// For later layers' largest `|z|` of 1e4, 100 and 1, and two seeds each:
/// the loss, `∂L/∂θ` and `∂L/∂X` of 8 rows are finite, and they and the
/// outputs equal the reference's, from the const-size and the slice methods
/// (unless a value lies on a kink, where only finiteness is checked).
fn extreme_pre_activations_stay_finite<N: Network>(name: &str, arch: &Architecture) {
    const ROWS: usize = 8;
    let mut worst = Worst::default();
    let mut compared = 0;
    for (case, largest) in [1e4, 1e4, 100.0, 100.0, 1.0, 1.0].into_iter().enumerate() {
        let (params, x) = extreme_case(arch, ROWS, largest, case as u64);
        let params = rounded::<N::Float>(&params);
        let y = extreme_targets(arch.loss, ROWS, arch.outputs());
        let net: N = network_with(&params);
        let xs: [N::Input; ROWS] = to_array(&to_rows(&x));
        let ys: [N::Target; ROWS] = to_array(&to_rows(&y));
        let (loss, grad) = net.gradients(&xs, &ys);
        let (input_loss, grad_x) = net.input_gradients(&xs, &ys);
        let what = format!("{name}, later layers' |z| up to {largest:e}, case {case}");
        assert!(
            loss.is_finite() && input_loss.is_finite(),
            "{what}: loss {loss:?}"
        );
        let finite = |values: &[f64]| values.iter().all(|v| v.is_finite());
        assert!(
            finite(&params_of(&grad)),
            "{what}: ∂L/∂θ = {:?}",
            grad.params()
        );
        assert!(
            common::to_vecs(&grad_x).iter().all(|row| finite(row)),
            "{what}: ∂L/∂X = {grad_x:?}"
        );

        let Some((expected, _)) = reference_for::<N::Float>(arch, &params, &x, &y) else {
            continue;
        };
        assert!(
            expected.loss.is_finite() && finite(&expected.param_gradients),
            "{what}: the reference is not finite"
        );
        let mut comparison = Comparison::new::<N::Float>(name);
        let compared_all = compare_const::<N, ROWS>(&net, arch, &x, &y, &mut comparison)
            .and_then(|()| compare_slices(&net, arch, &x, &y, ROWS, &mut comparison));
        if let Err(error) = compared_all {
            panic!("{what}: {error}");
        }
        worst = worst.merge(comparison.worst);
        compared += 1;
    }
    assert!(
        compared >= 3,
        "{name}: only {compared} of 6 extreme cases were away from every kink"
    );
    report::<N::Float>(name, &format!("{compared} extreme cases"), worst);
}

// ---------------------------------------------------------------------------
// The reference against finite differences of itself.
// ---------------------------------------------------------------------------

/// The reference's analytic gradients equal central differences of its own
/// loss (at most 200 parameters and all inputs of a batch of 3 rows), so the
/// battery rests on a reference whose backward pass matches its forward pass.
fn reference_gradients_match_its_finite_differences(name: &str, arch: &Architecture) {
    for seed in 0..20 {
        let mut rng = common::Rng::new(seed);
        let mut draw =
            |n: usize, lo: f64, hi: f64| (0..n).map(|_| rng.uniform(lo, hi)).collect::<Vec<f64>>();
        let params = draw(arch.params(), -1.0, 1.0);
        let x: Matrix = (0..3).map(|_| draw(arch.inputs, -2.0, 2.0)).collect();
        let y: Matrix = match arch.loss {
            Loss::CrossEntropy => (0..3)
                .map(|_| {
                    let w = draw(arch.outputs(), 0.1, 1.0);
                    let total: f64 = w.iter().sum();
                    w.iter().map(|w| w / total).collect()
                })
                .collect(),
            Loss::Bce => (0..3).map(|_| draw(arch.outputs(), 0.0, 1.0)).collect(),
            _ => (0..3).map(|_| draw(arch.outputs(), -2.0, 2.0)).collect(),
        };
        let evaluation = mlp::evaluate(arch, &params, &x, &y);
        if mlp::error_scales(arch, &params, &y, &evaluation).kink_margin < 1e-3 {
            continue;
        }
        let step = 1e-6;
        let stride = arch.params().div_ceil(200);
        for i in (0..arch.params()).step_by(stride) {
            let mut moved = params.clone();
            moved[i] = params[i] + step;
            let up = mlp::evaluate(arch, &moved, &x, &y).loss;
            moved[i] = params[i] - step;
            let down = mlp::evaluate(arch, &moved, &x, &y).loss;
            common::assert_close(
                evaluation.param_gradients[i],
                (up - down) / (2.0 * step),
                1e-8,
                1e-5,
                format_args!("{name}, seed {seed}: reference ∂L/∂θ[{i}]"),
            );
        }
        for b in 0..3 {
            for i in 0..arch.inputs {
                let mut moved = x.clone();
                moved[b][i] = x[b][i] + step;
                let up = mlp::evaluate(arch, &params, &moved, &y).loss;
                moved[b][i] = x[b][i] - step;
                let down = mlp::evaluate(arch, &params, &moved, &y).loss;
                common::assert_close(
                    evaluation.input_gradients[b][i],
                    (up - down) / (2.0 * step),
                    1e-8,
                    1e-5,
                    format_args!("{name}, seed {seed}: reference ∂L/∂X[{b}][{i}]"),
                );
            }
        }
        return;
    }
    panic!("{name}: no seed below 20 keeps every value away from the kinks");
}

// ---------------------------------------------------------------------------
// Diagrams.
// ---------------------------------------------------------------------------

/// `dot -Tsvg` renders `N`'s diagram with automatic detail, with layer
/// detail, and with two samples' paths where units are drawn (skipped, with
/// the reason printed, where Graphviz is not installed).
fn graphviz_accepts_diagrams<N: Network>(name: &str) {
    if !common::graphviz::installed() {
        common::graphviz::skipped();
        return;
    }
    let mut rng = common::Rng::new(7);
    let mut net = N::zeros();
    for p in net.params_mut() {
        *p = N::Float::from_f64(rng.uniform(-1.0, 1.0));
    }
    let samples: Vec<N::Input> = to_rows(&[vec![0.5; N::INPUTS], vec![-1.5; N::INPUTS]]);
    let mut diagrams = vec![
        Diagram::new(&net).to_string(),
        Diagram::new(&net).detail(Detail::Layers).to_string(),
    ];
    if Diagram::new(&net).resolved_detail() == Detail::Units {
        diagrams.push(Diagram::new(&net).samples(&samples).to_string());
    }
    for dot in &diagrams {
        let bytes = common::graphviz::render(dot)
            .unwrap_or_else(|error| panic!("{name}: dot rejected the diagram:\n{error}\n{dot}"));
        assert!(bytes > 500, "{name}: an SVG of {bytes} bytes");
    }
}

// ---------------------------------------------------------------------------
// The battery.
// ---------------------------------------------------------------------------

fn architecture(inputs: usize, layers: &[(Activation, usize)], loss: Loss) -> Architecture {
    Architecture {
        inputs,
        layers: layers.to_vec(),
        loss,
    }
}

use Activation::{
    Elu, Gelu, GeluTanh, LeakyRelu, Linear, Relu, Sigmoid, Silu, Softmax, Softplus, Tanh,
};

/// For each network: its tests, and the architecture it repeats for the
/// reference (the networks are written out below, because `network!`
/// cannot take its layers from a `macro_rules!` argument).
macro_rules! battery {
    ($($module:ident: $net:ident = $arch:expr;)+) => {
        $(
            mod $module {
                use super::*;

                pub(super) fn arch() -> Architecture {
                    $arch
                }

                #[test]
                fn random_cases_match_reference() {
                    super::random_cases_match_reference::<$net>(stringify!($net), &arch());
                }

                #[test]
                fn extreme_pre_activations_stay_finite_and_match_reference() {
                    super::extreme_pre_activations_stay_finite::<$net>(stringify!($net), &arch());
                }

                #[test]
                fn graphviz_accepts_its_diagrams() {
                    super::graphviz_accepts_diagrams::<$net>(stringify!($net));
                }

                #[test]
                fn reference_gradients_match_its_finite_differences() {
                    super::reference_gradients_match_its_finite_differences(stringify!($net), &arch());
                }
            }
        )+

        #[test]
        fn battery_uses_every_activation_in_both_positions_and_every_loss() {
            let architectures = [$($module::arch()),+];
            check_coverage(&architectures, &[$(<<$net as Network>::Float as Float>::NAME),+]);
        }
    };
}

/// The battery's coverage: every element-wise activation (with each
/// non-default parameter) in a hidden and in an output position, softmax
/// as output, every loss, depths 1 to 5, widths 1 to 64, both float types.
// The defaults are compared exactly: they are written, not computed.
#[allow(clippy::float_cmp)]
fn check_coverage(architectures: &[Architecture], floats: &[&str]) {
    assert!(
        floats.contains(&"f32") && floats.contains(&"f64"),
        "float types {floats:?}"
    );
    let hidden: Vec<Activation> = architectures
        .iter()
        .flat_map(|a| a.layers[..a.layers.len() - 1].iter().map(|l| l.0))
        .collect();
    let output: Vec<Activation> = architectures
        .iter()
        .map(|a| a.layers.last().expect("a layer").0)
        .collect();
    let kinds = |list: &[Activation], activation: Activation| {
        list.iter()
            .any(|&a| std::mem::discriminant(&a) == std::mem::discriminant(&activation))
    };
    for activation in [
        Linear,
        Sigmoid,
        Tanh,
        Relu,
        LeakyRelu { slope: 0.0 },
        Elu { alpha: 0.0 },
        Gelu,
        GeluTanh,
        Silu,
        Softplus { beta: 0.0 },
    ] {
        assert!(
            kinds(&hidden, activation),
            "{activation:?} in a hidden layer"
        );
        assert!(kinds(&output, activation), "{activation:?} as output");
    }
    assert!(kinds(&output, Softmax));
    let all: Vec<Activation> = hidden.iter().chain(&output).copied().collect();
    assert!(
        all.iter()
            .any(|a| matches!(a, LeakyRelu { slope } if *slope != 0.01))
    );
    assert!(
        all.iter()
            .any(|a| matches!(a, Elu { alpha } if *alpha != 1.0))
    );
    assert!(
        all.iter()
            .any(|a| matches!(a, Softplus { beta } if *beta != 1.0))
    );
    let losses: Vec<Loss> = architectures.iter().map(|a| a.loss).collect();
    for loss in [Loss::Mse, Loss::Mae, Loss::CrossEntropy, Loss::Bce] {
        assert!(losses.contains(&loss), "{loss:?}");
    }
    assert!(
        losses
            .iter()
            .any(|l| matches!(l, Loss::Huber { delta } if *delta != 1.0))
    );
    assert!(losses.contains(&Loss::Huber { delta: 1.0 }));
    let depths: Vec<usize> = architectures.iter().map(|a| a.layers.len()).collect();
    assert!((1..=5).all(|d| depths.contains(&d)), "depths {depths:?}");
    let widths: Vec<usize> = architectures
        .iter()
        .flat_map(|a| a.layers.iter().map(|l| l.1))
        .collect();
    assert!(
        widths.contains(&1) && widths.contains(&64),
        "widths {widths:?}"
    );
    assert!(architectures.len() >= 15);
}

backprop::network! { pub(crate) Seed64 = 2 -> sigmoid(3) -> linear(1); loss = mse; float = f64 }
backprop::network! { pub(crate) Seed32 = 2 -> sigmoid(3) -> linear(1); loss = mse }
backprop::network! { pub(crate) Regression64 = 3 -> linear(1); loss = mse; float = f64 }
backprop::network! { pub(crate) Softmax64 = 4 -> softmax(3); loss = cross_entropy; float = f64 }
backprop::network! { pub(crate) Logistic32 = 5 -> sigmoid(2); loss = bce; float = f32 }
backprop::network! {
    pub(crate) Deep64 = 3 -> tanh(5) -> relu(6) -> leaky_relu(4, slope = 0.2) -> elu(5, alpha = 0.5) -> tanh(2);
    loss = huber(delta = 0.5); float = f64
}
backprop::network! {
    pub(crate) Wide64 = 6 -> gelu(64) -> silu(16) -> softmax(10); loss = cross_entropy; float = f64
}
backprop::network! {
    pub(crate) Wide32 = 8 -> relu(64) -> softplus(32, beta = 2.0) -> sigmoid(4); loss = bce; float = f32
}
backprop::network! {
    pub(crate) Gelus64 = 4 -> gelu(7, approximate = tanh) -> gelu(5) -> gelu(3, approximate = tanh); loss = mae; float = f64
}
backprop::network! { pub(crate) ReluOut64 = 3 -> softplus(6) -> relu(4); loss = mse; float = f64 }
backprop::network! { pub(crate) LeakyOut32 = 5 -> sigmoid(8) -> leaky_relu(3); loss = mae; float = f32 }
backprop::network! { pub(crate) EluOut64 = 4 -> linear(6) -> elu(2); loss = huber; float = f64 }
backprop::network! { pub(crate) SiluOut32 = 2 -> elu(4) -> silu(3); loss = mse; float = f32 }
backprop::network! {
    pub(crate) SoftplusOut64 = 3 -> leaky_relu(5) -> softplus(2, beta = 0.5); loss = huber(delta = 2.0); float = f64
}
backprop::network! { pub(crate) GeluOut32 = 4 -> tanh(16) -> gelu(2); loss = mse; float = f32 }
backprop::network! { pub(crate) SoftmaxMse64 = 3 -> silu(5) -> softmax(4); loss = mse; float = f64 }
backprop::network! { pub(crate) SoftmaxHuber32 = 3 -> tanh(4) -> softmax(3); loss = huber; float = f32 }
backprop::network! {
    pub(crate) Narrow32 = 2 -> gelu(3, approximate = tanh) -> softplus(4, beta = 3.0) -> silu(1) -> elu(2) -> linear(1);
    loss = mse; float = f32
}
backprop::network! {
    pub(crate) Classifier32 = 10 -> relu(32) -> tanh(32) -> softmax(5); loss = cross_entropy; float = f32
}
backprop::network! { pub(crate) Logistic64 = 4 -> tanh(8) -> sigmoid(8) -> softplus(5) -> sigmoid(3); loss = bce; float = f64 }

battery! {
    seed_f64: Seed64 = architecture(2, &[(Sigmoid, 3), (Linear, 1)], Loss::Mse);
    seed_f32: Seed32 = architecture(2, &[(Sigmoid, 3), (Linear, 1)], Loss::Mse);
    linear_regression_f64: Regression64 = architecture(3, &[(Linear, 1)], Loss::Mse);
    softmax_regression_f64: Softmax64 = architecture(4, &[(Softmax, 3)], Loss::CrossEntropy);
    logistic_regression_f32: Logistic32 = architecture(5, &[(Sigmoid, 2)], Loss::Bce);
    five_layers_f64: Deep64 = architecture(
        3,
        &[(Tanh, 5), (Relu, 6), (LeakyRelu { slope: 0.2 }, 4), (Elu { alpha: 0.5 }, 5), (Tanh, 2)],
        Loss::Huber { delta: 0.5 },
    );
    wide_classifier_f64: Wide64 = architecture(6, &[(Gelu, 64), (Silu, 16), (Softmax, 10)], Loss::CrossEntropy);
    wide_multilabel_f32: Wide32 = architecture(8, &[(Relu, 64), (Softplus { beta: 2.0 }, 32), (Sigmoid, 4)], Loss::Bce);
    gelus_f64: Gelus64 = architecture(4, &[(GeluTanh, 7), (Gelu, 5), (GeluTanh, 3)], Loss::Mae);
    relu_output_f64: ReluOut64 = architecture(3, &[(Softplus { beta: 1.0 }, 6), (Relu, 4)], Loss::Mse);
    leaky_relu_output_f32: LeakyOut32 = architecture(5, &[(Sigmoid, 8), (LeakyRelu { slope: 0.01 }, 3)], Loss::Mae);
    elu_output_f64: EluOut64 = architecture(4, &[(Linear, 6), (Elu { alpha: 1.0 }, 2)], Loss::Huber { delta: 1.0 });
    silu_output_f32: SiluOut32 = architecture(2, &[(Elu { alpha: 1.0 }, 4), (Silu, 3)], Loss::Mse);
    softplus_output_f64: SoftplusOut64 = architecture(
        3,
        &[(LeakyRelu { slope: 0.01 }, 5), (Softplus { beta: 0.5 }, 2)],
        Loss::Huber { delta: 2.0 },
    );
    gelu_output_f32: GeluOut32 = architecture(4, &[(Tanh, 16), (Gelu, 2)], Loss::Mse);
    softmax_mse_f64: SoftmaxMse64 = architecture(3, &[(Silu, 5), (Softmax, 4)], Loss::Mse);
    softmax_huber_f32: SoftmaxHuber32 = architecture(3, &[(Tanh, 4), (Softmax, 3)], Loss::Huber { delta: 1.0 });
    narrow_five_layers_f32: Narrow32 = architecture(
        2,
        &[(GeluTanh, 3), (Softplus { beta: 3.0 }, 4), (Silu, 1), (Elu { alpha: 1.0 }, 2), (Linear, 1)],
        Loss::Mse,
    );
    classifier_f32: Classifier32 = architecture(10, &[(Relu, 32), (Tanh, 32), (Softmax, 5)], Loss::CrossEntropy);
    logistic_f64: Logistic64 = architecture(
        4,
        &[(Tanh, 8), (Sigmoid, 8), (Softplus { beta: 1.0 }, 5), (Sigmoid, 3)],
        Loss::Bce,
    );
}

#[test]
fn reference_erf_matches_tabulated_values() {
    // Abramowitz and Stegun's table 7.1, and erf's symmetry.
    for (x, erf) in [
        (0.0, 0.0),
        (0.5, 0.520_499_877_813_046_5),
        (1.0, 0.842_700_792_949_714_9),
        (2.0, 0.995_322_265_018_952_7),
        (3.0, 0.999_977_909_503_001_4),
    ] {
        common::assert_close(mlp::erf(x), erf, 1e-16, 1e-14, format_args!("erf({x})"));
        common::assert_close(mlp::erf(-x), -erf, 1e-16, 1e-14, format_args!("erf(-{x})"));
    }
    // Φ(−8) = 6.220960574271784e-16, where 1 + erf would cancel.
    common::assert_close(
        mlp::normal_cdf(-8.0),
        6.220_960_574_271_784e-16,
        0.0,
        1e-12,
        "Φ(−8)",
    );
}
