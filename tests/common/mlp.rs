//! A plainly written multilayer perceptron in `f64`, shaped at run time, that
//! serves as the reference for the generated networks.
//!
//! Everything is written here from the math, with `Vec<Vec<f64>>` matrices
//! (rows are samples) and loops: the forward pass, every activation and its
//! derivative (including `erf` for the exact GELU, a stable softmax and
//! log-sum-exp, and binary cross-entropy in its logits form), every loss and
//! its gradient, and backpropagation. Nothing of `backprop`'s runtime is used.
//!
//! Besides the values, [`error_scales`] estimates for every result the scale
//! of the rounding error that a correct implementation in floating point
//! may make (in units of the machine epsilon), so that the comparison can
//! be strict in relative terms and still fair where a value comes out of
//! cancellation or saturation.

use std::f64::consts::PI;

/// Rows of samples.
pub(crate) type Matrix = Vec<Vec<f64>>;

/// An activation function, with PyTorch's parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Activation {
    Linear,
    Sigmoid,
    Tanh,
    Relu,
    LeakyRelu {
        slope: f64,
    },
    Elu {
        alpha: f64,
    },
    /// `z·Φ(z)`, with the exact normal distribution function.
    Gelu,
    /// `½z(1 + tanh(√(2/π)(z + 0.044715z³)))`.
    GeluTanh,
    Silu,
    /// `ln(1 + e^{βz})/β`, and `z` where `βz > 20`.
    Softplus {
        beta: f64,
    },
    /// Row by row; output layer only.
    Softmax,
}

/// A loss, averaged as PyTorch averages it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Loss {
    Mse,
    Mae,
    Huber {
        delta: f64,
    },
    /// On softmax outputs, computed from the logits.
    CrossEntropy,
    /// On sigmoid outputs, computed from the logits.
    Bce,
}

/// Input width, layers `(activation, width)` and loss.
#[derive(Clone, Debug)]
pub(crate) struct Architecture {
    pub(crate) inputs: usize,
    pub(crate) layers: Vec<(Activation, usize)>,
    pub(crate) loss: Loss,
}

/// Where layer `l`'s parameters are in the flat vector.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LayerSlots {
    /// `w[i][j]` is at `weights + i·fan_out + j`.
    pub(crate) weights: usize,
    /// `b[j]` is at `biases + j`.
    pub(crate) biases: usize,
    pub(crate) fan_in: usize,
    pub(crate) fan_out: usize,
}

impl Architecture {
    /// The layers' places in the flat parameters: `W¹` (`n₀ × n₁`, row by
    /// row), `b¹`, `W²`, `b²`, …
    pub(crate) fn slots(&self) -> Vec<LayerSlots> {
        let mut slots = Vec::new();
        let mut offset = 0;
        let mut fan_in = self.inputs;
        for &(_, fan_out) in &self.layers {
            slots.push(LayerSlots {
                weights: offset,
                biases: offset + fan_in * fan_out,
                fan_in,
                fan_out,
            });
            offset += (fan_in + 1) * fan_out;
            fan_in = fan_out;
        }
        slots
    }

    pub(crate) fn params(&self) -> usize {
        self.slots()
            .last()
            .map_or(0, |last| last.biases + last.fan_out)
    }

    pub(crate) fn outputs(&self) -> usize {
        self.layers.last().expect("at least one layer").1
    }
}

// ---------------------------------------------------------------------------
// Scalar functions.
// ---------------------------------------------------------------------------

/// `1 / (1 + e⁻ᶻ)`, never evaluating a large `exp`.
pub(crate) fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// `ln(1 + eˣ)`, written `max(x, 0) + ln(1 + e^{−|x|})` so that it never overflows.
fn log_one_plus_exp(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// `erf(x) = 2/√π · e^{−x²} · Σₙ 2ⁿ x^{2n+1} / (1·3·5⋯(2n+1))`, a series of
/// positive terms (no cancellation) for `x ≥ 0`.
fn erf_series(x: f64) -> f64 {
    let mut term = x;
    let mut sum = x;
    let mut n = 0.0;
    while term > sum * 1e-18 {
        n += 1.0;
        term *= 2.0 * x * x / (2.0 * n + 1.0);
        sum += term;
    }
    2.0 / PI.sqrt() * (-x * x).exp() * sum
}

/// `erfc(x) = 1 − erf(x)` for `x ≥ 0`: from the series near 0, and from the
/// continued fraction `e^{−x²}/√π · 1/(x + ½/(x + 1/(x + (3/2)/(x + …))))`
/// in the tail, where `1 − erf` would cancel.
fn erfc_nonnegative(x: f64) -> f64 {
    debug_assert!(x >= 0.0);
    if x < 2.5 {
        1.0 - erf_series(x)
    } else {
        let mut fraction = x;
        for k in (1..=300).rev() {
            fraction = x + f64::from(k) / 2.0 / fraction;
        }
        (-x * x).exp() / (PI.sqrt() * fraction)
    }
}

/// `erf(x)`.
pub(crate) fn erf(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 - erfc_nonnegative(x)
    } else {
        erfc_nonnegative(-x) - 1.0
    }
}

/// `Φ(z)`, the standard normal distribution function, accurate in both tails.
pub(crate) fn normal_cdf(z: f64) -> f64 {
    let x = z / 2.0_f64.sqrt();
    if x < 0.0 {
        0.5 * erfc_nonnegative(-x)
    } else {
        1.0 - 0.5 * erfc_nonnegative(x)
    }
}

/// `φ(z) = e^{−z²/2} / √(2π)`.
fn normal_pdf(z: f64) -> f64 {
    (-0.5 * z * z).exp() / (2.0 * PI).sqrt()
}

/// The constants of GELU's tanh approximation: `√(2/π)` and the cubic coefficient.
fn gelu_tanh_constants() -> (f64, f64) {
    ((2.0 / PI).sqrt(), 0.044_715)
}

/// Above this `βz`, softplus is `z` (PyTorch's threshold).
const SOFTPLUS_THRESHOLD: f64 = 20.0;

impl Activation {
    /// `f(z)`, for the element-wise activations.
    pub(crate) fn value(self, z: f64) -> f64 {
        match self {
            Self::Linear => z,
            Self::Sigmoid => sigmoid(z),
            Self::Tanh => z.tanh(),
            Self::Relu => {
                if z > 0.0 {
                    z
                } else {
                    0.0
                }
            }
            Self::LeakyRelu { slope } => {
                if z > 0.0 {
                    z
                } else {
                    slope * z
                }
            }
            Self::Elu { alpha } => {
                if z > 0.0 {
                    z
                } else {
                    alpha * z.exp_m1()
                }
            }
            Self::Gelu => z * normal_cdf(z),
            Self::GeluTanh => {
                let (k, c) = gelu_tanh_constants();
                0.5 * z * (1.0 + (k * (z + c * z * z * z)).tanh())
            }
            Self::Silu => z * sigmoid(z),
            Self::Softplus { beta } => {
                if beta * z > SOFTPLUS_THRESHOLD {
                    z
                } else {
                    log_one_plus_exp(beta * z) / beta
                }
            }
            Self::Softmax => panic!("softmax works on whole rows"),
        }
    }

    /// `f'(z)`, from `z`; at a kink, PyTorch's one-sided value.
    pub(crate) fn derivative(self, z: f64) -> f64 {
        match self {
            Self::Linear => 1.0,
            // σ'(z) = σ(z)·σ(−z), accurate in both tails.
            Self::Sigmoid => sigmoid(z) * sigmoid(-z),
            // 1 − tanh² = 1 / cosh².
            Self::Tanh => {
                let c = z.cosh();
                1.0 / (c * c)
            }
            Self::Relu => {
                if z > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Self::LeakyRelu { slope } => {
                if z > 0.0 {
                    1.0
                } else {
                    slope
                }
            }
            Self::Elu { alpha } => {
                if z > 0.0 {
                    1.0
                } else {
                    alpha * z.exp()
                }
            }
            Self::Gelu => normal_cdf(z) + z * normal_pdf(z),
            Self::GeluTanh => {
                let (k, c) = gelu_tanh_constants();
                let t = (k * (z + c * z * z * z)).tanh();
                let sech2 = 1.0 - t * t;
                0.5 * (1.0 + t) + 0.5 * z * sech2 * k * (1.0 + 3.0 * c * z * z)
            }
            // d/dz z·σ(z) = σ(z) + z·σ(z)·σ(−z).
            Self::Silu => sigmoid(z) + z * sigmoid(z) * sigmoid(-z),
            Self::Softplus { beta } => {
                if beta * z > SOFTPLUS_THRESHOLD {
                    1.0
                } else {
                    sigmoid(beta * z)
                }
            }
            Self::Softmax => panic!("softmax's derivative is a Jacobian"),
        }
    }
}

/// `softmax(z)`: `e^{zⱼ − m} / Σₖ e^{zₖ − m}` with `m = max z`.
fn softmax(z: &[f64]) -> Vec<f64> {
    let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = z.iter().map(|&v| (v - m).exp()).collect();
    let sum: f64 = e.iter().sum();
    e.iter().map(|&v| v / sum).collect()
}

/// `(m, ln Σₖ e^{zₖ − m})`: `ln Σ eᶻ = m + that`.
fn log_sum_exp(z: &[f64]) -> (f64, f64) {
    let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let sum: f64 = z.iter().map(|&v| (v - m).exp()).sum();
    (m, sum.ln())
}

// ---------------------------------------------------------------------------
// The network.
// ---------------------------------------------------------------------------

/// What the reference computes for one batch.
#[derive(Clone, Debug)]
pub(crate) struct Evaluation {
    /// `Ŷ`.
    pub(crate) outputs: Matrix,
    pub(crate) loss: f64,
    /// `∂L/∂θ` in the flat layout.
    pub(crate) param_gradients: Vec<f64>,
    /// `∂L/∂X`.
    pub(crate) input_gradients: Matrix,
    /// `Zˡ` of every layer.
    pub(crate) z: Vec<Matrix>,
    /// `H⁰ = X`, `Hˡ = f(Zˡ)`.
    pub(crate) h: Vec<Matrix>,
    /// `Δˡ = ∂L/∂Zˡ` of every layer.
    pub(crate) delta: Vec<Matrix>,
    /// `∂L/∂Ŷ` (empty for the losses fused with their output activation).
    pub(crate) output_gradient: Matrix,
}

fn weight(params: &[f64], slots: LayerSlots, i: usize, j: usize) -> f64 {
    params[slots.weights + i * slots.fan_out + j]
}

/// `Z = H·W + 1·bᵀ` for one layer.
fn affine(params: &[f64], slots: LayerSlots, h: &Matrix) -> Matrix {
    h.iter()
        .map(|row| {
            (0..slots.fan_out)
                .map(|j| {
                    let mut z = params[slots.biases + j];
                    for (i, &hi) in row.iter().enumerate() {
                        z += hi * weight(params, slots, i, j);
                    }
                    z
                })
                .collect()
        })
        .collect()
}

fn activate(activation: Activation, z: &Matrix) -> Matrix {
    z.iter()
        .map(|row| match activation {
            Activation::Softmax => softmax(row),
            _ => row.iter().map(|&v| activation.value(v)).collect(),
        })
        .collect()
}

/// The forward pass: every layer's `Z` and `H` (with `H⁰ = X`).
pub(crate) fn forward(
    arch: &Architecture,
    params: &[f64],
    x: &Matrix,
) -> (Vec<Matrix>, Vec<Matrix>) {
    assert_eq!(params.len(), arch.params(), "parameter count");
    let mut zs = Vec::new();
    let mut hs = vec![x.clone()];
    for (l, (&(activation, _), slots)) in arch.layers.iter().zip(arch.slots()).enumerate() {
        assert!(
            activation != Activation::Softmax || l + 1 == arch.layers.len(),
            "softmax is an output activation"
        );
        let z = affine(params, slots, &hs[l]);
        hs.push(activate(activation, &z));
        zs.push(z);
    }
    (zs, hs)
}

/// `Ŷ`, the loss, `∂L/∂θ` and `∂L/∂X` for a batch.
#[allow(clippy::too_many_lines)]
pub(crate) fn evaluate(arch: &Architecture, params: &[f64], x: &Matrix, y: &Matrix) -> Evaluation {
    let (z, h) = forward(arch, params, x);
    let layers = arch.layers.len();
    let (output_activation, n) = arch.layers[layers - 1];
    let rows = x.len();
    assert!(rows > 0 && y.len() == rows, "one target row per input row");
    let batch = rows as f64;
    let elements = (rows * n) as f64;
    let logits = &z[layers - 1];
    let outputs = h[layers].clone();

    // The loss, and Δᴸ = ∂L/∂Zᴸ.
    let mut loss = 0.0;
    let mut output_gradient = Matrix::new();
    let mut delta_out = vec![vec![0.0; n]; rows];
    match arch.loss {
        Loss::CrossEntropy => {
            assert_eq!(
                output_activation,
                Activation::Softmax,
                "cross_entropy needs softmax"
            );
            // L = (1/B) Σ_b Σ_j −y_j (z_j − ln Σ_k e^{z_k});
            // ∂L/∂z_k = (−y_k + (Σ_j y_j)·softmax(z)_k) / B.
            for b in 0..rows {
                let (m, log_sum) = log_sum_exp(&logits[b]);
                let mass: f64 = y[b].iter().sum();
                for k in 0..n {
                    let log_p = logits[b][k] - m - log_sum;
                    loss -= y[b][k] * log_p / batch;
                    delta_out[b][k] = (-y[b][k] + mass * log_p.exp()) / batch;
                }
            }
        }
        Loss::Bce => {
            assert_eq!(output_activation, Activation::Sigmoid, "bce needs sigmoid");
            // −[y ln σ(z) + (1 − y) ln(1 − σ(z))] = y·ln(1 + e^{−z}) + (1 − y)·ln(1 + e^{z});
            // its derivative is −y·σ(−z) + (1 − y)·σ(z).
            for b in 0..rows {
                for k in 0..n {
                    let (zk, yk) = (logits[b][k], y[b][k]);
                    loss +=
                        (yk * log_one_plus_exp(-zk) + (1.0 - yk) * log_one_plus_exp(zk)) / elements;
                    delta_out[b][k] = (-yk * sigmoid(-zk) + (1.0 - yk) * sigmoid(zk)) / elements;
                }
            }
        }
        Loss::Mse | Loss::Mae | Loss::Huber { .. } => {
            output_gradient = vec![vec![0.0; n]; rows];
            for b in 0..rows {
                for k in 0..n {
                    let d = outputs[b][k] - y[b][k];
                    let (term, slope) = match arch.loss {
                        Loss::Mse => (d * d, 2.0 * d),
                        Loss::Mae => {
                            let sign = if d > 0.0 {
                                1.0
                            } else if d < 0.0 {
                                -1.0
                            } else {
                                0.0
                            };
                            (d.abs(), sign)
                        }
                        Loss::Huber { delta } => {
                            if d.abs() <= delta {
                                (0.5 * d * d, d)
                            } else {
                                (delta * (d.abs() - 0.5 * delta), delta * d.signum())
                            }
                        }
                        Loss::CrossEntropy | Loss::Bce => unreachable!(),
                    };
                    loss += term / elements;
                    output_gradient[b][k] = slope / elements;
                }
            }
            delta_out =
                through_output_activation(output_activation, logits, &outputs, &output_gradient);
        }
    }

    let (param_gradients, input_gradients, deltas) = backpropagate(arch, params, &z, &h, delta_out);

    Evaluation {
        outputs,
        loss,
        param_gradients,
        input_gradients,
        z,
        h,
        delta: deltas,
        output_gradient,
    }
}

/// `Δᴸ = ∂L/∂Zᴸ` from `∂L/∂Ŷ`, through the output activation: its Jacobian
/// for softmax, `∂h_j/∂z_k = h_j(δ_jk − h_k)`, else element by element.
fn through_output_activation(
    activation: Activation,
    logits: &Matrix,
    outputs: &Matrix,
    output_gradient: &Matrix,
) -> Matrix {
    let n = logits.first().map_or(0, Vec::len);
    (0..logits.len())
        .map(|b| {
            (0..n)
                .map(|k| match activation {
                    Activation::Softmax => (0..n)
                        .map(|j| {
                            let kronecker = if j == k { 1.0 } else { 0.0 };
                            output_gradient[b][j] * outputs[b][j] * (kronecker - outputs[b][k])
                        })
                        .sum(),
                    activation => output_gradient[b][k] * activation.derivative(logits[b][k]),
                })
                .collect()
        })
        .collect()
}

/// Backpropagation from `Δᴸ`, from the last layer to the first: `∂L/∂θ`,
/// `∂L/∂X` and every layer's `Δˡ`.
fn backpropagate(
    arch: &Architecture,
    params: &[f64],
    z: &[Matrix],
    h: &[Matrix],
    delta_out: Matrix,
) -> (Vec<f64>, Matrix, Vec<Matrix>) {
    let layers = arch.layers.len();
    let rows = delta_out.len();
    let slots = arch.slots();
    let mut param_gradients = vec![0.0; params.len()];
    let mut deltas = vec![Matrix::new(); layers];
    deltas[layers - 1] = delta_out;
    let mut input_gradients = Matrix::new();
    for l in (0..layers).rev() {
        let s = slots[l];
        let delta = &deltas[l];
        // ∂L/∂w_ij = Σ_b h_bi δ_bj, ∂L/∂b_j = Σ_b δ_bj.
        for i in 0..s.fan_in {
            for j in 0..s.fan_out {
                param_gradients[s.weights + i * s.fan_out + j] =
                    (0..rows).map(|b| h[l][b][i] * delta[b][j]).sum();
            }
        }
        for j in 0..s.fan_out {
            param_gradients[s.biases + j] = (0..rows).map(|b| delta[b][j]).sum();
        }
        // ∂L/∂h_bi = Σ_j δ_bj w_ij.
        let grad_h: Matrix = (0..rows)
            .map(|b| {
                (0..s.fan_in)
                    .map(|i| {
                        (0..s.fan_out)
                            .map(|j| delta[b][j] * weight(params, s, i, j))
                            .sum()
                    })
                    .collect()
            })
            .collect();
        if l == 0 {
            input_gradients = grad_h;
        } else {
            let activation = arch.layers[l - 1].0;
            deltas[l - 1] = grad_h
                .iter()
                .zip(&z[l - 1])
                .map(|(g, z)| {
                    g.iter()
                        .zip(z)
                        .map(|(&g, &z)| g * activation.derivative(z))
                        .collect()
                })
                .collect();
        }
    }
    (param_gradients, input_gradients, deltas)
}

/// What backpropagating a supplied `∂L/∂Ŷ` gives.
#[derive(Clone, Debug)]
pub(crate) struct Backward {
    /// `Ŷ`.
    pub(crate) outputs: Matrix,
    /// `∂L/∂θ` in the flat layout.
    pub(crate) param_gradients: Vec<f64>,
    /// `∂L/∂X`.
    pub(crate) input_gradients: Matrix,
}

/// The forward pass, then backpropagation from a supplied `∂L/∂Ŷ` (of a
/// loss the architecture does not name, whose `loss` plays no part):
/// `Δᴸ = ∂L/∂Ŷ ⊙ f'(Zᴸ)`, or the softmax Jacobian's product with it.
pub(crate) fn backward(
    arch: &Architecture,
    params: &[f64],
    x: &Matrix,
    output_gradient: &Matrix,
) -> Backward {
    let (z, h) = forward(arch, params, x);
    let layers = arch.layers.len();
    assert!(
        !x.is_empty() && output_gradient.len() == x.len(),
        "one row of ∂L/∂Ŷ per input row"
    );
    assert!(
        output_gradient
            .iter()
            .all(|row| row.len() == arch.outputs()),
        "∂L/∂Ŷ has a column per output"
    );
    let delta_out = through_output_activation(
        arch.layers[layers - 1].0,
        &z[layers - 1],
        &h[layers],
        output_gradient,
    );
    let (param_gradients, input_gradients, _) = backpropagate(arch, params, &z, &h, delta_out);
    Backward {
        outputs: h[layers].clone(),
        param_gradients,
        input_gradients,
    }
}

// ---------------------------------------------------------------------------
// Error scales.
// ---------------------------------------------------------------------------

/// For each result, a scale `M` such that a correct floating-point
/// implementation with unit round-off `u` is off by at most a small multiple
/// of `u·M`: sums of absolute values of the terms that make the result,
/// propagated through the passes to first order.
#[derive(Clone, Debug)]
pub(crate) struct ErrorScales {
    pub(crate) outputs: Matrix,
    pub(crate) loss: f64,
    pub(crate) param_gradients: Vec<f64>,
    pub(crate) input_gradients: Matrix,
    /// The smallest distance of a pre-activation (or, for `mae`, of an
    /// output from its target) to a point where a derivative jumps,
    /// relative to its error scale: `relu`, `leaky_relu` and `elu` at 0,
    /// softplus at `βz = 20`, `|ŷ − y|` at 0. `+∞` if there is none.
    pub(crate) kink_margin: f64,
}

impl Activation {
    /// The scale of the rounding error of evaluating `f(z)` itself.
    fn value_scale(self, z: f64, h: f64) -> f64 {
        match self {
            // ½z(1 + erf) and ½z(1 + tanh) cancel for negative z.
            Self::Linear | Self::Gelu | Self::GeluTanh => z.abs(),
            _ => h.abs(),
        }
    }

    /// The scale of the rounding error of evaluating `f'(z)`, as an
    /// implementation may compute it (`σ(1 − σ)` or `1 − tanh²` from `h`,
    /// `Φ + zφ` with `Φ = ½(1 + erf)`): at least `|f'(z)|`.
    fn derivative_scale(self, z: f64) -> f64 {
        let exact = self.derivative(z).abs();
        match self {
            Self::Sigmoid => sigmoid(z),
            Self::Tanh | Self::Gelu | Self::GeluTanh => 1.0 + exact,
            Self::Silu => sigmoid(z) * (1.0 + z.abs()),
            _ => exact,
        }
    }

    /// A bound on `|f''|` near `z`, which turns an error in `z` into one in `f'(z)`.
    fn curvature(self, z: f64) -> f64 {
        match self {
            Self::Linear | Self::Relu | Self::LeakyRelu { .. } => 0.0,
            Self::Elu { alpha } => {
                if z > 0.0 {
                    0.0
                } else {
                    alpha.abs() * z.exp()
                }
            }
            Self::Softplus { beta } => beta.abs() / 4.0,
            _ => 1.0,
        }
    }

    /// Where `f'` jumps, if anywhere.
    fn kink(self) -> Option<f64> {
        match self {
            Self::Relu | Self::LeakyRelu { .. } | Self::Elu { .. } => Some(0.0),
            Self::Softplus { beta } => Some(SOFTPLUS_THRESHOLD / beta),
            _ => None,
        }
    }
}

/// `|a| / scale`, `+∞` when both are 0 (an exact zero has no error).
fn margin(distance: f64, scale: f64) -> f64 {
    if scale == 0.0 {
        f64::INFINITY
    } else {
        distance.abs() / scale
    }
}

/// The error scales of `evaluation`'s results (see [`ErrorScales`]).
#[allow(clippy::too_many_lines)]
pub(crate) fn error_scales(
    arch: &Architecture,
    params: &[f64],
    y: &Matrix,
    evaluation: &Evaluation,
) -> ErrorScales {
    let slots = arch.slots();
    let layers = arch.layers.len();
    let (z, h) = (&evaluation.z, &evaluation.h);
    let rows = y.len();
    let mut kink_margin = f64::INFINITY;

    // Forward: M(z_j) = |b_j| + Σ_i |w_ij|·M(h_i); M(h_j) = V(z_j) + |f'(z_j)|·M(z_j).
    let mut mh: Vec<Matrix> = vec![
        h[0].iter()
            .map(|row| row.iter().map(|v| v.abs()).collect())
            .collect(),
    ];
    let mut mz: Vec<Matrix> = Vec::new();
    for (l, &(activation, _)) in arch.layers.iter().enumerate() {
        let s = slots[l];
        let layer_mz: Matrix = (0..rows)
            .map(|b| {
                (0..s.fan_out)
                    .map(|j| {
                        params[s.biases + j].abs()
                            + (0..s.fan_in)
                                .map(|i| weight(params, s, i, j).abs() * mh[l][b][i])
                                .sum::<f64>()
                    })
                    .collect()
            })
            .collect();
        let layer_mh: Matrix = (0..rows)
            .map(|b| {
                let (zr, hr, mr) = (&z[l][b], &h[l + 1][b], &layer_mz[b]);
                if activation == Activation::Softmax {
                    let m = zr.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let worst = mr.iter().copied().fold(0.0, f64::max);
                    (0..zr.len())
                        .map(|k| hr[k] * (1.0 + (zr[k] - m).abs() + 2.0 * worst))
                        .collect()
                } else {
                    (0..zr.len())
                        .map(|k| {
                            if let Some(kink) = activation.kink() {
                                kink_margin = kink_margin.min(margin(zr[k] - kink, mr[k]));
                            }
                            activation.value_scale(zr[k], hr[k])
                                + activation.derivative(zr[k]).abs() * mr[k]
                        })
                        .collect()
                }
            })
            .collect();
        mz.push(layer_mz);
        mh.push(layer_mh);
    }

    let (output_activation, n) = arch.layers[layers - 1];
    let elements = (rows * n) as f64;
    let batch = rows as f64;
    let (logits, outputs) = (&z[layers - 1], &h[layers]);
    let (m_logits, m_outputs) = (&mz[layers - 1], &mh[layers]);

    // The loss and Δᴸ.
    let mut loss = 0.0;
    let mut m_delta = vec![vec![0.0; n]; rows];
    match arch.loss {
        Loss::CrossEntropy => {
            for b in 0..rows {
                let (m, log_sum) = log_sum_exp(&logits[b]);
                let worst = m_logits[b].iter().copied().fold(0.0, f64::max);
                let mass: f64 = y[b].iter().map(|v| v.abs()).sum();
                for k in 0..n {
                    let log_p_scale =
                        logits[b][k].abs() + m.abs() + log_sum.abs() + m_logits[b][k] + worst;
                    loss += y[b][k].abs() * log_p_scale / batch;
                    let p = (logits[b][k] - m - log_sum).exp();
                    m_delta[b][k] = (mass * p * (1.0 + log_p_scale) + y[b][k].abs()) / batch;
                }
            }
        }
        Loss::Bce => {
            for b in 0..rows {
                for k in 0..n {
                    let (zk, yk, mzk) = (logits[b][k], y[b][k], m_logits[b][k]);
                    let s = sigmoid(zk);
                    loss += ((1.0 + yk.abs()) * (zk.abs() + mzk) + 1.0) / elements;
                    m_delta[b][k] = (s + yk.abs() + s * (1.0 - s) * mzk) / elements;
                }
            }
        }
        Loss::Mse | Loss::Mae | Loss::Huber { .. } => {
            let g = &evaluation.output_gradient;
            let mut m_g = vec![vec![0.0; n]; rows];
            for b in 0..rows {
                for k in 0..n {
                    let d = outputs[b][k] - y[b][k];
                    let md = m_outputs[b][k] + y[b][k].abs();
                    let (term, m_term, m_slope) = match arch.loss {
                        Loss::Mse => (d * d, 2.0 * d.abs() * md, 2.0 * md),
                        Loss::Mae => {
                            kink_margin = kink_margin.min(margin(d, md));
                            (d.abs(), md, 1.0)
                        }
                        Loss::Huber { delta } => {
                            let clamped = d.abs().min(delta);
                            (clamped * d.abs(), clamped * md, md)
                        }
                        Loss::CrossEntropy | Loss::Bce => unreachable!(),
                    };
                    loss += (term + m_term) / elements;
                    m_g[b][k] = m_slope / elements;
                }
                let (zr, hr, mzr, mhr) = (&logits[b], &outputs[b], &m_logits[b], &m_outputs[b]);
                if output_activation == Activation::Softmax {
                    // Δ_k = h_k (g_k − Σ_j g_j h_j).
                    let s: f64 = (0..n).map(|j| g[b][j].abs() * hr[j]).sum();
                    let ms: f64 = (0..n)
                        .map(|j| m_g[b][j] * hr[j] + g[b][j].abs() * mhr[j])
                        .sum();
                    for k in 0..n {
                        m_delta[b][k] = mhr[k] * (g[b][k].abs() + s) + hr[k] * (m_g[b][k] + ms);
                    }
                } else {
                    for k in 0..n {
                        m_delta[b][k] = m_g[b][k] * output_activation.derivative_scale(zr[k])
                            + g[b][k].abs() * output_activation.curvature(zr[k]) * mzr[k];
                    }
                }
            }
        }
    }

    // Backward: M(∂w_ij) = Σ_b M(h_bi)|δ_bj| + |h_bi|M(δ_bj); M(∂h_bi) = Σ_j |w_ij|·M(δ_bj) ;
    // M(δ) = M(∂h)·D(z) + |∂h|·|f''|·M(z).
    let mut param_gradients = vec![0.0; params.len()];
    let mut input_gradients = Matrix::new();
    for l in (0..layers).rev() {
        let s = slots[l];
        let delta = &evaluation.delta[l];
        for i in 0..s.fan_in {
            for j in 0..s.fan_out {
                param_gradients[s.weights + i * s.fan_out + j] = (0..rows)
                    .map(|b| mh[l][b][i] * delta[b][j].abs() + h[l][b][i].abs() * m_delta[b][j])
                    .sum();
            }
        }
        for j in 0..s.fan_out {
            param_gradients[s.biases + j] = (0..rows).map(|b| m_delta[b][j]).sum();
        }
        let m_grad_h: Matrix = (0..rows)
            .map(|b| {
                (0..s.fan_in)
                    .map(|i| {
                        (0..s.fan_out)
                            .map(|j| m_delta[b][j] * weight(params, s, i, j).abs())
                            .sum()
                    })
                    .collect()
            })
            .collect();
        if l == 0 {
            input_gradients = m_grad_h;
        } else {
            let activation = arch.layers[l - 1].0;
            m_delta = (0..rows)
                .map(|b| {
                    (0..s.fan_in)
                        .map(|i| {
                            let grad_h: f64 = (0..s.fan_out)
                                .map(|j| delta[b][j] * weight(params, s, i, j))
                                .sum();
                            let zi = z[l - 1][b][i];
                            m_grad_h[b][i] * activation.derivative_scale(zi)
                                + grad_h.abs() * activation.curvature(zi) * mz[l - 1][b][i]
                        })
                        .collect()
                })
                .collect();
        }
    }

    ErrorScales {
        outputs: mh.pop().expect("an output layer"),
        loss,
        param_gradients,
        input_gradients,
        kink_margin,
    }
}
