//! The same networks with `ndarray`, whose products go to `matrixmultiply`'s
//! packed GEMM: backpropagation written by hand with matrix products, every
//! buffer allocated once for a batch size, as one would write it with a
//! general matrix library.

// Each benchmark and the correctness test use a part of the baselines;
// their signatures follow the generated networks' rather than pedantic taste.
#![allow(dead_code, clippy::needless_pass_by_value)]

use ndarray::linalg::general_mat_mul;
use ndarray::{Array1, Array2, ArrayView2, Zip};

/// An element-wise activation of a hidden layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Activation {
    /// `σ(z)`.
    Sigmoid,
    /// `tanh(z)`.
    Tanh,
    /// `max(z, 0)`.
    Relu,
    /// `z`.
    Linear,
}

impl Activation {
    pub(crate) fn apply(self, z: f32) -> f32 {
        match self {
            Self::Sigmoid => 1.0 / (1.0 + (-z).exp()),
            Self::Tanh => z.tanh(),
            Self::Relu => z.max(0.0),
            Self::Linear => z,
        }
    }

    pub(crate) fn derivative(self, h: f32) -> f32 {
        match self {
            Self::Sigmoid => h * (1.0 - h),
            Self::Tanh => 1.0 - h * h,
            Self::Relu => {
                if h > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Self::Linear => 1.0,
        }
    }
}

/// The loss, fused with the output activation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Loss {
    /// Linear output, mean squared error.
    Mse,
    /// Softmax output, cross-entropy.
    SoftmaxCrossEntropy,
}

struct Layer {
    w: Array2<f32>,
    b: Array1<f32>,
    grad_w: Array2<f32>,
    grad_b: Array1<f32>,
    /// `Hˡ` (`Zᴸ` for the last layer), `B × n_l`.
    h: Array2<f32>,
    /// `Δˡ`, `B × n_l`.
    delta: Array2<f32>,
    activation: Activation,
}

/// A multilayer perceptron with its buffers for batches of `batch` rows.
pub(crate) struct Mlp {
    layers: Vec<Layer>,
    loss: Loss,
}

impl Mlp {
    /// `widths[0]` inputs, then one layer per further width with its
    /// activation (the last layer's comes from `loss`); parameters in the
    /// generated networks' layout.
    pub(crate) fn new(
        widths: &[usize],
        activations: &[Activation],
        loss: Loss,
        params: &[f32],
        batch: usize,
    ) -> Self {
        let mut offset = 0;
        let layers = widths
            .windows(2)
            .zip(activations)
            .map(|(pair, &activation)| {
                let (i, o) = (pair[0], pair[1]);
                let w = Array2::from_shape_vec((i, o), params[offset..offset + i * o].to_vec())
                    .expect("I × O");
                let b = Array1::from(params[offset + i * o..offset + i * o + o].to_vec());
                offset += i * o + o;
                Layer {
                    w,
                    b,
                    grad_w: Array2::zeros((i, o)),
                    grad_b: Array1::zeros(o),
                    h: Array2::zeros((batch, o)),
                    delta: Array2::zeros((batch, o)),
                    activation,
                }
            })
            .collect();
        assert_eq!(offset, params.len(), "parameter count");
        Self { layers, loss }
    }

    /// The gradient in the generated layout.
    pub(crate) fn gradient_params(&self, flat: &mut [f32]) {
        let mut offset = 0;
        for layer in &self.layers {
            for &g in layer.grad_w.iter().chain(&layer.grad_b) {
                flat[offset] = g;
                offset += 1;
            }
        }
    }

    fn forward_logits(&mut self, x: ArrayView2<f32>) {
        let count = self.layers.len();
        for l in 0..count {
            let (before, rest) = self.layers.split_at_mut(l);
            let layer = &mut rest[0];
            let input = before.last().map_or(x, |previous| previous.h.view());
            let dim = layer.h.dim();
            layer
                .h
                .assign(&layer.b.broadcast(dim).expect("one bias per column"));
            general_mat_mul(1.0, &input, &layer.w, 1.0, &mut layer.h);
            if l + 1 < count {
                let activation = layer.activation;
                layer.h.mapv_inplace(|z| activation.apply(z));
            }
        }
    }

    /// The mean loss of the batch `x`, `y`; the gradient is kept for
    /// [`gradient_params`](Self::gradient_params).
    pub(crate) fn gradients(&mut self, x: ArrayView2<f32>, y: ArrayView2<f32>) -> f32 {
        self.forward_logits(x);
        let batch = x.nrows() as f32;
        let last = self.layers.last_mut().expect("a layer");
        let loss = match self.loss {
            Loss::Mse => {
                let n = batch * last.h.ncols() as f32;
                let mut sum = 0.0;
                Zip::from(&mut last.delta)
                    .and(&last.h)
                    .and(y)
                    .for_each(|d, &z, &t| {
                        let error = z - t;
                        sum += error * error;
                        *d = 2.0 * error / n;
                    });
                sum / n
            }
            Loss::SoftmaxCrossEntropy => {
                let mut loss = 0.0;
                for ((z, t), mut d) in last
                    .h
                    .rows()
                    .into_iter()
                    .zip(y.rows())
                    .zip(last.delta.rows_mut())
                {
                    let max = z.fold(f32::NEG_INFINITY, |m, &v| m.max(v));
                    let sum: f32 = z.iter().map(|&v| (v - max).exp()).sum();
                    let log_sum = sum.ln();
                    Zip::from(&mut d).and(&z).and(&t).for_each(|d, &z, &t| {
                        loss -= t * (z - max - log_sum);
                        *d = ((z - max).exp() / sum - t) / batch;
                    });
                }
                loss / batch
            }
        };
        for l in (0..self.layers.len()).rev() {
            let (before, rest) = self.layers.split_at_mut(l);
            let layer = &mut rest[0];
            let input = before.last().map_or(x, |previous| previous.h.view());
            general_mat_mul(1.0, &input.t(), &layer.delta, 0.0, &mut layer.grad_w);
            layer.grad_b.fill(0.0);
            for row in layer.delta.rows() {
                layer.grad_b += &row;
            }
            if let Some(previous) = before.last_mut() {
                general_mat_mul(1.0, &layer.delta, &layer.w.t(), 0.0, &mut previous.delta);
                let activation = previous.activation;
                Zip::from(&mut previous.delta)
                    .and(&previous.h)
                    .for_each(|d, &h| *d *= activation.derivative(h));
            }
        }
        loss
    }

    /// One step of plain SGD; returns the loss before it.
    pub(crate) fn train_step(&mut self, x: ArrayView2<f32>, y: ArrayView2<f32>, lr: f32) -> f32 {
        let loss = self.gradients(x, y);
        for layer in &mut self.layers {
            layer.w.scaled_add(-lr, &layer.grad_w);
            layer.b.scaled_add(-lr, &layer.grad_b);
        }
        loss
    }

    /// The outputs of the batch `x` (softmax applied for cross-entropy).
    pub(crate) fn forward(&mut self, x: ArrayView2<f32>) -> ArrayView2<'_, f32> {
        self.forward_logits(x);
        let loss = self.loss;
        let last = self.layers.last_mut().expect("a layer");
        if loss == Loss::SoftmaxCrossEntropy {
            for mut row in last.h.rows_mut() {
                let max = row.fold(f32::NEG_INFINITY, |m, &v| m.max(v));
                row.mapv_inplace(|v| (v - max).exp());
                let sum = row.sum();
                row /= sum;
            }
        }
        last.h.view()
    }
}
