//! The streaming baseline for W8: one LSTM or GRU step and a dense head of
//! one output, as an expert writes it in plain Rust for fixed sizes. The
//! weights are laid out for the loops that vectorise: each input's row of
//! all gates' weights is contiguous (`[k][gate][j]`), so that the gate
//! sums are multiply-adds along rows, and the two biases of a sum are
//! added once, ahead of time. The activations are the standard library's
//! `exp` and `tanh`.

use backprop::recurrent::{GruParams, LstmParams};

/// The dense head of one output, `y = w·h + b`.
#[derive(Clone)]
pub(crate) struct Head<const H: usize> {
    pub(crate) w: [f32; H],
    pub(crate) b: f32,
}

impl<const H: usize> Head<H> {
    #[inline]
    fn output(&self, h: &[f32; H]) -> f32 {
        self.w.iter().zip(h).fold(self.b, |y, (w, h)| y + w * h)
    }
}

#[inline]
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Adds `x[k]·w[k]` to the gate sums for every `k`.
#[inline]
fn accumulate<const G: usize, const K: usize, const H: usize>(
    sums: &mut [[f32; H]; G],
    w: &[[[f32; H]; G]; K],
    x: &[f32; K],
) {
    for (row, &xk) in w.iter().zip(x) {
        for (sum, gate) in sums.iter_mut().zip(row) {
            for (s, &w) in sum.iter_mut().zip(gate) {
                *s += w * xk;
            }
        }
    }
}

/// One LSTM layer of input 1 and `H` units with its head.
#[derive(Clone)]
pub(crate) struct Lstm<const H: usize> {
    w_ih: [[[f32; H]; 4]; 1],
    w_hh: [[[f32; H]; 4]; H],
    /// `b_ih + b_hh`.
    bias: [[f32; H]; 4],
    head: Head<H>,
    h: [f32; H],
    c: [f32; H],
}

impl<const H: usize> Lstm<H> {
    /// The baseline with `layer`'s weights and `head`, from the zero state.
    pub(crate) fn new(layer: &LstmParams<'_, f32, 1, H>, head: Head<H>) -> Self {
        Self {
            w_ih: *layer.weight_ih,
            w_hh: *layer.weight_hh,
            bias: core::array::from_fn(|g| {
                core::array::from_fn(|j| layer.bias_ih[g][j] + layer.bias_hh[g][j])
            }),
            head,
            h: [0.0; H],
            c: [0.0; H],
        }
    }

    /// One sample in, one out; the state kept for the next.
    #[inline]
    pub(crate) fn step(&mut self, x: f32) -> f32 {
        let mut sums = self.bias;
        accumulate(&mut sums, &self.w_ih, &[x]);
        accumulate(&mut sums, &self.w_hh, &self.h);
        let [i, f, g, o] = &sums;
        for j in 0..H {
            self.c[j] = sigmoid(f[j]) * self.c[j] + sigmoid(i[j]) * g[j].tanh();
            self.h[j] = sigmoid(o[j]) * self.c[j].tanh();
        }
        self.head.output(&self.h)
    }
}

/// One GRU layer of input 1 and `H` units with its head.
#[derive(Clone)]
pub(crate) struct Gru<const H: usize> {
    w_ih: [[[f32; H]; 3]; 1],
    w_hh: [[[f32; H]; 3]; H],
    /// `b_ih + b_hh` for `r` and `z`; `b_in` for `n`.
    bias_x: [[f32; H]; 3],
    /// `b_hn`, which `r` multiplies with `W_hn·h`.
    bias_hn: [f32; H],
    head: Head<H>,
    h: [f32; H],
}

impl<const H: usize> Gru<H> {
    /// The baseline with `layer`'s weights and `head`, from the zero state.
    pub(crate) fn new(layer: &GruParams<'_, f32, 1, H>, head: Head<H>) -> Self {
        Self {
            w_ih: *layer.weight_ih,
            w_hh: *layer.weight_hh,
            bias_x: core::array::from_fn(|g| {
                core::array::from_fn(|j| {
                    layer.bias_ih[g][j] + if g < 2 { layer.bias_hh[g][j] } else { 0.0 }
                })
            }),
            bias_hn: layer.bias_hh[2],
            head,
            h: [0.0; H],
        }
    }

    /// One sample in, one out; the state kept for the next.
    #[inline]
    pub(crate) fn step(&mut self, x: f32) -> f32 {
        let mut from_x = self.bias_x;
        accumulate(&mut from_x, &self.w_ih, &[x]);
        let mut from_h = [[0.0; H], [0.0; H], self.bias_hn];
        accumulate(&mut from_h, &self.w_hh, &self.h);
        for j in 0..H {
            let r = sigmoid(from_x[0][j] + from_h[0][j]);
            let z = sigmoid(from_x[1][j] + from_h[1][j]);
            let n = (from_x[2][j] + r * from_h[2][j]).tanh();
            self.h[j] = (1.0 - z) * n + z * self.h[j];
        }
        self.head.output(&self.h)
    }
}
