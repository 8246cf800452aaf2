//! The same networks written plainly with run-time shapes: row-major
//! `Vec<f32>` matrices, straightforward loops, backpropagation by hand and
//! plain SGD, every buffer allocated once for a batch size. This is what
//! one writes without a matrix library or compile-time sizes.

// Each benchmark and the correctness test use a part of the baselines.
#![allow(dead_code)]

pub(crate) use super::ndarray_gemm::{Activation, Loss};

struct Layer {
    inputs: usize,
    outputs: usize,
    /// `Wˡ`, `inputs × outputs`, row-major.
    w: Vec<f32>,
    b: Vec<f32>,
    grad_w: Vec<f32>,
    grad_b: Vec<f32>,
    /// `Hˡ` (`Zᴸ` for the last layer), `batch × outputs`.
    h: Vec<f32>,
    /// `Δˡ`, `batch × outputs`.
    delta: Vec<f32>,
    activation: Activation,
}

/// A multilayer perceptron with its buffers for batches of `batch` rows.
pub(crate) struct Mlp {
    layers: Vec<Layer>,
    loss: Loss,
    batch: usize,
}

/// `out = a · b` for `a` (`rows × depth`) and `b` (`depth × cols`), added
/// to what `out` holds: the i-k-j order, so the inner loop runs along rows
/// of `b` and `out`.
fn add_product(a: &[f32], b: &[f32], out: &mut [f32], rows: usize, depth: usize, cols: usize) {
    for i in 0..rows {
        let out_row = &mut out[i * cols..(i + 1) * cols];
        for k in 0..depth {
            let a_ik = a[i * depth + k];
            let b_row = &b[k * cols..(k + 1) * cols];
            for (o, &b_kj) in out_row.iter_mut().zip(b_row) {
                *o += a_ik * b_kj;
            }
        }
    }
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
                let w = params[offset..offset + i * o].to_vec();
                let b = params[offset + i * o..offset + i * o + o].to_vec();
                offset += i * o + o;
                Layer {
                    inputs: i,
                    outputs: o,
                    w,
                    b,
                    grad_w: vec![0.0; i * o],
                    grad_b: vec![0.0; o],
                    h: vec![0.0; batch * o],
                    delta: vec![0.0; batch * o],
                    activation,
                }
            })
            .collect();
        assert_eq!(offset, params.len(), "parameter count");
        Self {
            layers,
            loss,
            batch,
        }
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

    fn forward_logits(&mut self, x: &[f32]) {
        assert_eq!(
            x.len(),
            self.batch * self.layers[0].inputs,
            "batch × inputs"
        );
        let count = self.layers.len();
        for l in 0..count {
            let (before, rest) = self.layers.split_at_mut(l);
            let layer = &mut rest[0];
            let input = before.last().map_or(x, |previous| &previous.h);
            for row in layer.h.chunks_exact_mut(layer.outputs) {
                row.copy_from_slice(&layer.b);
            }
            add_product(
                input,
                &layer.w,
                &mut layer.h,
                self.batch,
                layer.inputs,
                layer.outputs,
            );
            if l + 1 < count {
                let activation = layer.activation;
                for h in &mut layer.h {
                    *h = activation.apply(*h);
                }
            }
        }
    }

    /// The mean loss of the batch `x`, `y` (rows one after the other); the
    /// gradient is kept for [`gradient_params`](Self::gradient_params).
    pub(crate) fn gradients(&mut self, x: &[f32], y: &[f32]) -> f32 {
        self.forward_logits(x);
        let batch = self.batch as f32;
        let last = self.layers.last_mut().expect("a layer");
        let loss = match self.loss {
            Loss::Mse => {
                let n = batch * last.outputs as f32;
                let mut sum = 0.0;
                for ((d, &z), &t) in last.delta.iter_mut().zip(&last.h).zip(y) {
                    let error = z - t;
                    sum += error * error;
                    *d = 2.0 * error / n;
                }
                sum / n
            }
            Loss::SoftmaxCrossEntropy => {
                let width = last.outputs;
                let mut loss = 0.0;
                for ((z, t), d) in last
                    .h
                    .chunks_exact(width)
                    .zip(y.chunks_exact(width))
                    .zip(last.delta.chunks_exact_mut(width))
                {
                    let max = z.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
                    let sum: f32 = z.iter().map(|&v| (v - max).exp()).sum();
                    let log_sum = sum.ln();
                    for ((d, &z), &t) in d.iter_mut().zip(z).zip(t) {
                        loss -= t * (z - max - log_sum);
                        *d = ((z - max).exp() / sum - t) / batch;
                    }
                }
                loss / batch
            }
        };
        for l in (0..self.layers.len()).rev() {
            let (before, rest) = self.layers.split_at_mut(l);
            let layer = &mut rest[0];
            let input = before.last().map_or(x, |previous| &previous.h);
            let (n_in, n_out) = (layer.inputs, layer.outputs);
            // ∂W = Xᵀ·Δ: for each sample, the outer product of its input
            // row and its delta row.
            layer.grad_w.fill(0.0);
            layer.grad_b.fill(0.0);
            for r in 0..self.batch {
                let x_row = &input[r * n_in..(r + 1) * n_in];
                let d_row = &layer.delta[r * n_out..(r + 1) * n_out];
                for (i, &x_ri) in x_row.iter().enumerate() {
                    let g_row = &mut layer.grad_w[i * n_out..(i + 1) * n_out];
                    for (g, &d) in g_row.iter_mut().zip(d_row) {
                        *g += x_ri * d;
                    }
                }
                for (g, &d) in layer.grad_b.iter_mut().zip(d_row) {
                    *g += d;
                }
            }
            // Δˡ⁻¹ = (Δˡ·Wˡᵀ) ⊙ f′(Hˡ⁻¹), only where a layer below needs it.
            if let Some(previous) = before.last_mut() {
                let activation = previous.activation;
                for r in 0..self.batch {
                    let d_row = &layer.delta[r * n_out..(r + 1) * n_out];
                    for i in 0..n_in {
                        let w_row = &layer.w[i * n_out..(i + 1) * n_out];
                        let dot: f32 = w_row.iter().zip(d_row).map(|(&w, &d)| w * d).sum();
                        let at = r * n_in + i;
                        previous.delta[at] = dot * activation.derivative(previous.h[at]);
                    }
                }
            }
        }
        loss
    }

    /// One step of plain SGD; returns the loss before it.
    pub(crate) fn train_step(&mut self, x: &[f32], y: &[f32], lr: f32) -> f32 {
        let loss = self.gradients(x, y);
        for layer in &mut self.layers {
            for (w, &g) in layer.w.iter_mut().zip(&layer.grad_w) {
                *w -= lr * g;
            }
            for (b, &g) in layer.b.iter_mut().zip(&layer.grad_b) {
                *b -= lr * g;
            }
        }
        loss
    }

    /// The outputs of the batch `x` (softmax applied for cross-entropy).
    pub(crate) fn forward(&mut self, x: &[f32]) -> &[f32] {
        self.forward_logits(x);
        let loss = self.loss;
        let last = self.layers.last_mut().expect("a layer");
        if loss == Loss::SoftmaxCrossEntropy {
            for row in last.h.chunks_exact_mut(last.outputs) {
                let max = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
                for v in row.iter_mut() {
                    *v = (*v - max).exp();
                }
                let sum: f32 = row.iter().sum();
                for v in row.iter_mut() {
                    *v /= sum;
                }
            }
        }
        &last.h
    }
}
