//! Helpers shared by the integration tests: deterministic data, the plain
//! `Vec`-based reference MLP (`mlp.rs`, which uses nothing of the library),
//! and generic checks over `backprop::Network`.

// Each test crate uses a different part of this module.
#![allow(dead_code)]

pub(crate) mod graphviz;
pub(crate) mod mlp;
pub(crate) mod temp_dir;

use std::fmt::Display;

use approx::relative_eq;
use backprop::runtime::Row;
use backprop::{Float, Network};

/// `SplitMix64`: a tiny deterministic generator, so test data needs no
/// dependency and is the same on every platform.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A draw from `[lo, hi)`, rounded to the nearest `f32` so that the same
    /// value is exact in both element types.
    #[allow(clippy::cast_possible_truncation)]
    pub(crate) fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        let unit = (self.next_u64() >> 11) as f64 / (1_u64 << 53) as f64;
        f64::from((lo + (hi - lo) * unit) as f32)
    }
}

/// Fills every value of `rows` with draws from `[lo, hi)`.
pub(crate) fn fill_rows<T: Float, R: Row<T>>(rows: &mut [R], rng: &mut Rng, lo: f64, hi: f64) {
    for row in rows {
        for value in row.as_mut() {
            *value = T::from_f64(rng.uniform(lo, hi));
        }
    }
}

/// A batch of `B` inputs in `[-1, 1)` and targets in `[-1, 1)`.
pub(crate) fn batch<N: Network, const B: usize>(seed: u64) -> ([N::Input; B], [N::Target; B]) {
    let mut rng = Rng::new(seed);
    let mut x = [N::Input::ZERO; B];
    let mut y = [N::Target::ZERO; B];
    fill_rows(&mut x, &mut rng, -1.0, 1.0);
    fill_rows(&mut y, &mut rng, -1.0, 1.0);
    (x, y)
}

/// `rows` as plain `f64` vectors.
pub(crate) fn to_vecs<T: Float, R: Row<T>>(rows: &[R]) -> Vec<Vec<f64>> {
    rows.iter()
        .map(|row| row.as_ref().iter().map(|v| v.to_f64()).collect())
        .collect()
}

/// Adds a draw from `[-scale, scale)` to every parameter (so biases are not
/// all zero and every parameter's gradient is exercised).
pub(crate) fn perturb<N: Network>(net: &mut N, seed: u64, scale: f64) {
    let mut rng = Rng::new(seed);
    for p in net.params_mut() {
        *p += N::Float::from_f64(rng.uniform(-scale, scale));
    }
}

/// Copies `from`'s parameters into `to`, converting the element type.
pub(crate) fn copy_params<A: Network, B: Network>(from: &A, to: &mut B) {
    assert_eq!(
        A::PARAMS,
        B::PARAMS,
        "twin networks have as many parameters"
    );
    for (t, f) in to.params_mut().iter_mut().zip(from.params()) {
        *t = B::Float::from_f64(f.to_f64());
    }
}

/// Converts a batch between element types (exact for `f32`-representable values).
pub(crate) fn convert_rows<T: Float, U: Float, R: Row<T>, S: Row<U>, const B: usize>(
    rows: &[R; B],
) -> [S; B] {
    let mut out = [S::ZERO; B];
    for (o, r) in out.iter_mut().zip(rows) {
        for (o, r) in o.as_mut().iter_mut().zip(r.as_ref()) {
            *o = U::from_f64(r.to_f64());
        }
    }
    out
}

// ---------------------------------------------------------------------------
// The reference MLP (`mlp.rs`) for networks named as in the DSL.
// ---------------------------------------------------------------------------

/// An architecture as the tests write it: input width, then each layer's
/// activation name (as written in the DSL) and width; the loss is `mse`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Spec {
    pub(crate) inputs: usize,
    pub(crate) layers: &'static [(&'static str, usize)],
}

impl Spec {
    pub(crate) fn params(&self) -> usize {
        self.architecture().params()
    }

    /// The same network as the reference MLP describes it.
    pub(crate) fn architecture(&self) -> mlp::Architecture {
        let activation = |name: &str| match name {
            "linear" => mlp::Activation::Linear,
            "sigmoid" => mlp::Activation::Sigmoid,
            "tanh" => mlp::Activation::Tanh,
            "relu" => mlp::Activation::Relu,
            other => panic!("`Spec` knows no activation `{other}`"),
        };
        mlp::Architecture {
            inputs: self.inputs,
            layers: self
                .layers
                .iter()
                .map(|&(name, width)| (activation(name), width))
                .collect(),
            loss: mlp::Loss::Mse,
        }
    }
}

/// What the reference computes for one batch.
pub(crate) type Reference = mlp::Evaluation;

/// The reference MLP's forward pass, mean squared error and
/// backpropagation for `spec`.
pub(crate) fn reference(spec: Spec, params: &[f64], x: &mlp::Matrix, y: &mlp::Matrix) -> Reference {
    mlp::evaluate(&spec.architecture(), params, x, y)
}

/// The smallest `|z|` over the `relu` layers' pre-activations (`+∞` if none).
pub(crate) fn relu_margin(spec: Spec, reference: &Reference) -> f64 {
    spec.layers
        .iter()
        .zip(&reference.z)
        .filter(|((activation, _), _)| *activation == "relu")
        .flat_map(|(_, samples)| samples.iter().flatten())
        .fold(f64::INFINITY, |margin, z| margin.min(z.abs()))
}

// ---------------------------------------------------------------------------
// Generic checks.
// ---------------------------------------------------------------------------

/// A network from `make(seed)` with every parameter moved a little, and a
/// batch of `B` samples, such that no `relu` pre-activation is within
/// [`RELU_MARGIN`] of its kink; seeds are tried in turn until one qualifies.
pub(crate) fn pick_case<N: Network, const B: usize>(
    spec: Spec,
    make: impl Fn(u64) -> N,
) -> (N, [N::Input; B], [N::Target; B]) {
    for attempt in 0..100 {
        let mut net = make(attempt);
        perturb(&mut net, attempt + 1_000, 0.2);
        let (x, y) = batch::<N, B>(attempt + 2_000 + 1_000_000 * B as u64);
        let params: Vec<f64> = net.params().iter().map(|p| p.to_f64()).collect();
        let reference = reference(spec, &params, &to_vecs(&x), &to_vecs(&y));
        if relu_margin(spec, &reference) >= RELU_MARGIN {
            return (net, x, y);
        }
    }
    panic!("no seed below 100 keeps every relu pre-activation {RELU_MARGIN} away from 0");
}

/// Step of the central differences.
pub(crate) const STEP: f64 = 1e-6;
/// Smallest `|z|` of a `relu` pre-activation for finite differences to be
/// valid: far above how far a step of [`STEP`] can move a pre-activation.
pub(crate) const RELU_MARGIN: f64 = 1e-3;

/// Asserts `actual ≈ expected` with `approx`'s `relative_eq!`, naming the entry.
#[track_caller]
pub(crate) fn assert_close(
    actual: f64,
    expected: f64,
    epsilon: f64,
    max_relative: f64,
    what: impl Display,
) {
    assert!(
        relative_eq!(
            actual,
            expected,
            epsilon = epsilon,
            max_relative = max_relative
        ),
        "{what}: got {actual:e}, expected {expected:e} (difference {:e})",
        actual - expected
    );
}

/// Asserts two equal-length slices agree entry by entry.
#[track_caller]
pub(crate) fn assert_all_close(
    actual: &[f64],
    expected: &[f64],
    epsilon: f64,
    max_relative: f64,
    what: impl Display,
) {
    assert_eq!(actual.len(), expected.len(), "{what}: lengths differ");
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        assert_close(a, e, epsilon, max_relative, format_args!("{what}[{i}]"));
    }
}

/// `(L(v + h) − L(v − h)) / ((v + h) − (v − h))`: the central difference of
/// `loss` as the value behind `slot` moves.
fn central_difference(value: f64, mut loss_at: impl FnMut(f64) -> f64) -> f64 {
    let (up, down) = (value + STEP, value - STEP);
    let difference = loss_at(up) - loss_at(down);
    loss_at(value);
    difference / (up - down)
}

/// Every `∂L/∂θᵢ` from `gradients` equals the central difference of `loss`.
pub(crate) fn check_parameter_gradients<N: Network<Float = f64>, const B: usize>(
    net: &N,
    x: &[N::Input; B],
    y: &[N::Target; B],
    what: &str,
) {
    let (loss, grad) = net.gradients(x, y);
    assert_close(
        loss,
        net.loss(x, y),
        0.0,
        1e-12,
        format_args!("{what}: loss of gradients"),
    );
    assert_eq!(grad.params().len(), N::PARAMS);
    let mut probe = net.clone();
    for i in 0..N::PARAMS {
        let value = probe.params()[i];
        let numeric = central_difference(value, |v| {
            probe.params_mut()[i] = v;
            probe.loss(x, y)
        });
        assert_close(
            grad.params()[i],
            numeric,
            1e-9,
            1e-6,
            format_args!("{what}, batch {B}: ∂L/∂θ[{i}]"),
        );
    }
    assert_eq!(probe.params(), net.params(), "the probe is restored");
}

/// Every `∂L/∂X` from `input_gradients` equals the central difference of `loss`.
pub(crate) fn check_input_gradients<N: Network<Float = f64>, const B: usize>(
    net: &N,
    x: &[N::Input; B],
    y: &[N::Target; B],
    what: &str,
) {
    let (loss, grad_x) = net.input_gradients(x, y);
    assert_close(
        loss,
        net.loss(x, y),
        0.0,
        1e-12,
        format_args!("{what}: loss of input_gradients"),
    );
    let mut probe = *x;
    for row in 0..B {
        for i in 0..N::INPUTS {
            let value = probe[row].as_ref()[i];
            let numeric = central_difference(value, |v| {
                probe[row].as_mut()[i] = v;
                net.loss(&probe, y)
            });
            assert_close(
                grad_x[row].as_ref()[i],
                numeric,
                1e-9,
                1e-6,
                format_args!("{what}, batch {B}: ∂L/∂X[{row}][{i}]"),
            );
        }
    }
}

/// The slice versions agree with the const-size versions (up to the order of
/// summation across chunks) and overwrite what `grad` and `grad_x` held.
pub(crate) fn check_slices_match_const<N: Network<Float = f64>, const B: usize>(
    net: &N,
    x: &[N::Input; B],
    y: &[N::Target; B],
    what: &str,
) {
    let what = format!("{what}, batch {B}");
    let (loss, grad) = net.gradients(x, y);
    let (input_loss, grad_x) = net.input_gradients(x, y);

    // Stale values in the outputs must not leak into the results.
    let mut slice_grad = net.clone();
    slice_grad.params_mut().fill(123.0);
    let slice_loss = net
        .gradients_slice(x, y, &mut slice_grad)
        .expect("a valid batch");
    assert_close(
        slice_loss,
        loss,
        1e-15,
        1e-12,
        format_args!("{what}: gradients_slice loss"),
    );
    assert_all_close(
        slice_grad.params(),
        grad.params(),
        1e-15,
        1e-12,
        format_args!("{what}: gradients_slice"),
    );

    let mut slice_grad_x = [N::Input::ZERO; B];
    for row in &mut slice_grad_x {
        row.as_mut().fill(-7.0);
    }
    let slice_input_loss = net
        .input_gradients_slice(x, y, &mut slice_grad_x)
        .expect("a valid batch");
    assert_close(
        slice_input_loss,
        input_loss,
        1e-15,
        1e-12,
        format_args!("{what}: input_gradients_slice loss"),
    );
    for (row, (s, c)) in slice_grad_x.iter().zip(&grad_x).enumerate() {
        assert_all_close(
            s.as_ref(),
            c.as_ref(),
            1e-15,
            1e-12,
            format_args!("{what}: input_gradients_slice row {row}"),
        );
    }

    let slice_only_loss = net.loss_slice(x, y).expect("a valid batch");
    assert_close(
        slice_only_loss,
        net.loss(x, y),
        1e-15,
        1e-12,
        format_args!("{what}: loss_slice"),
    );
}

/// An `f32` twin with the same parameters (`f64` → `f32` exactly, since the
/// `f64` network's parameters are copied from the `f32` one) gives the same
/// loss, parameter gradients and input gradients to `f32` precision.
pub(crate) fn check_f32_twin<N64, N32, const B: usize>(
    net32: &N32,
    x32: &[N32::Input; B],
    y32: &[N32::Target; B],
    what: &str,
) where
    N64: Network<Float = f64>,
    N32: Network<Float = f32>,
{
    let mut net64 = N64::zeros();
    copy_params(net32, &mut net64);
    let x64: [N64::Input; B] = convert_rows(x32);
    let y64: [N64::Target; B] = convert_rows(y32);
    let what = format!("{what}, batch {B}, f32 vs f64");

    let (loss64, grad64) = net64.gradients(&x64, &y64);
    let (loss32, grad32) = net32.gradients(x32, y32);
    assert_close(
        f64::from(loss32),
        loss64,
        1e-7,
        1e-4,
        format_args!("{what}: loss"),
    );
    assert_close(
        f64::from(net32.loss(x32, y32)),
        net64.loss(&x64, &y64),
        1e-7,
        1e-4,
        format_args!("{what}: loss()"),
    );
    // Entries that cancel to near zero carry an absolute error of a few `f32`
    // ulps of the gradient's scale, so the absolute tolerance follows it.
    let scale = grad64.params().iter().fold(0.0_f64, |m, g| m.max(g.abs()));
    let grad32: Vec<f64> = grad32.params().iter().map(|&g| f64::from(g)).collect();
    assert_all_close(
        &grad32,
        grad64.params(),
        1e-5 * scale,
        1e-4,
        format_args!("{what}: ∂L/∂θ"),
    );

    let (_, gx64) = net64.input_gradients(&x64, &y64);
    let (_, gx32) = net32.input_gradients(x32, y32);
    let gx64 = to_vecs(&gx64);
    let gx32 = to_vecs(&gx32);
    let scale = gx64.iter().flatten().fold(0.0_f64, |m, g| m.max(g.abs()));
    for (row, (a, e)) in gx32.iter().zip(&gx64).enumerate() {
        assert_all_close(
            a,
            e,
            1e-5 * scale,
            1e-4,
            format_args!("{what}: ∂L/∂X row {row}"),
        );
    }

    let out64 = to_vecs(&net64.forward(&x64));
    let out32 = to_vecs(&net32.forward(x32));
    for (row, (a, e)) in out32.iter().zip(&out64).enumerate() {
        assert_all_close(a, e, 1e-6, 1e-4, format_args!("{what}: forward row {row}"));
    }
}
