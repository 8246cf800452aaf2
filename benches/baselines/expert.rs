//! What an expert writes by hand for a fixed-size MLP in plain Rust: `f32`
//! arrays whose sizes are constants, loops in the order that runs along
//! contiguous rows (so the compiler vectorises them), the activation's
//! derivative from the cached outputs, and `std`'s math functions.
//!
//! Parameters use the generated networks' layout (`W` is `inputs × outputs`,
//! row-major, then `b`), so both can start from the same weights.

// Each benchmark and the correctness test use a part of the baselines;
// their signatures follow the generated networks' rather than pedantic taste.
#![allow(dead_code, clippy::unused_self, clippy::unnecessary_box_returns)]

/// An element-wise activation, with its derivative from the output `h`.
pub(crate) trait Activation {
    /// `f(z)`.
    fn apply(z: f32) -> f32;
    /// `f'(z)`, from `h = f(z)`.
    fn derivative(h: f32) -> f32;
}

/// `σ(z)`.
pub(crate) struct Sigmoid;
/// `tanh(z)`.
pub(crate) struct Tanh;
/// `max(z, 0)`.
pub(crate) struct Relu;

impl Activation for Sigmoid {
    #[inline]
    fn apply(z: f32) -> f32 {
        1.0 / (1.0 + (-z).exp())
    }
    #[inline]
    fn derivative(h: f32) -> f32 {
        h * (1.0 - h)
    }
}

impl Activation for Tanh {
    #[inline]
    fn apply(z: f32) -> f32 {
        z.tanh()
    }
    #[inline]
    fn derivative(h: f32) -> f32 {
        1.0 - h * h
    }
}

impl Activation for Relu {
    #[inline]
    fn apply(z: f32) -> f32 {
        z.max(0.0)
    }
    #[inline]
    fn derivative(h: f32) -> f32 {
        if h > 0.0 { 1.0 } else { 0.0 }
    }
}

/// `H = A(Z)`, in place.
#[inline]
fn activate<A: Activation, const B: usize, const N: usize>(h: &mut [[f32; N]; B]) {
    for v in h.as_flattened_mut() {
        *v = A::apply(*v);
    }
}

/// `Δ ⊙= A'(Z)`, from the layer's output `H`.
#[inline]
fn times_derivative<A: Activation, const B: usize, const N: usize>(
    delta: &mut [[f32; N]; B],
    h: &[[f32; N]; B],
) {
    for (d, &h) in delta.as_flattened_mut().iter_mut().zip(h.as_flattened()) {
        *d *= A::derivative(h);
    }
}

/// A dense layer: `W` (`I × O`) and `b`.
#[derive(Clone)]
pub(crate) struct Dense<const I: usize, const O: usize> {
    /// Weights, row `i` holding input `i`'s.
    pub(crate) w: [[f32; O]; I],
    /// Biases.
    pub(crate) b: [f32; O],
}

impl<const I: usize, const O: usize> Dense<I, O> {
    /// Number of parameters.
    pub(crate) const PARAMS: usize = I * O + O;

    /// All weights and biases zero.
    pub(crate) const ZERO: Self = Self {
        w: [[0.0; O]; I],
        b: [0.0; O],
    };

    /// Copies from the generated layout, `W` row by row then `b`.
    pub(crate) fn load(&mut self, flat: &[f32]) {
        let (w, b) = flat.split_at(I * O);
        self.w.as_flattened_mut().copy_from_slice(w);
        self.b.copy_from_slice(b);
    }

    /// Writes into the generated layout.
    pub(crate) fn store(&self, flat: &mut [f32]) {
        let (w, b) = flat.split_at_mut(I * O);
        w.copy_from_slice(self.w.as_flattened());
        b.copy_from_slice(&self.b);
    }

    /// `Z = X·W + 1·bᵀ`, row by row: each input value scales a row of `W`.
    #[inline]
    pub(crate) fn forward<const B: usize>(&self, x: &[[f32; I]; B], z: &mut [[f32; O]; B]) {
        for (x_row, z_row) in x.iter().zip(z.iter_mut()) {
            *z_row = self.b;
            for (&xi, w_row) in x_row.iter().zip(&self.w) {
                for (zj, &wij) in z_row.iter_mut().zip(w_row) {
                    *zj += xi * wij;
                }
            }
        }
    }

    /// `grad.W = Xᵀ·Δ`, `grad.b = 1ᵀ·Δ` (overwritten).
    #[inline]
    pub(crate) fn gradient<const B: usize>(
        &self,
        x: &[[f32; I]; B],
        delta: &[[f32; O]; B],
        grad: &mut Self,
    ) {
        *grad = Self::ZERO;
        for (x_row, d_row) in x.iter().zip(delta) {
            for (&xi, g_row) in x_row.iter().zip(grad.w.iter_mut()) {
                for (g, &d) in g_row.iter_mut().zip(d_row) {
                    *g += xi * d;
                }
            }
            for (g, &d) in grad.b.iter_mut().zip(d_row) {
                *g += d;
            }
        }
    }

    /// `Δ·Wᵀ`: one dot product of `O` terms per entry.
    #[inline]
    pub(crate) fn back<const B: usize>(&self, delta: &[[f32; O]; B], out: &mut [[f32; I]; B]) {
        for (d_row, out_row) in delta.iter().zip(out.iter_mut()) {
            for (o, w_row) in out_row.iter_mut().zip(&self.w) {
                *o = d_row.iter().zip(w_row).map(|(&d, &w)| d * w).sum();
            }
        }
    }

    /// Plain SGD.
    #[inline]
    pub(crate) fn sgd(&mut self, grad: &Self, lr: f32) {
        for (w, g) in self
            .w
            .as_flattened_mut()
            .iter_mut()
            .zip(grad.w.as_flattened())
        {
            *w -= lr * g;
        }
        for (b, g) in self.b.iter_mut().zip(&grad.b) {
            *b -= lr * g;
        }
    }
}

/// The loss at the output, fused with the output activation.
pub(crate) trait Output<const O: usize> {
    /// `Ŷ` from `Zᴸ`, in place.
    fn activate(z: &mut [f32; O]);
    /// The mean loss of the batch and `Δᴸ = ∂L/∂Zᴸ`.
    fn loss_delta<const B: usize>(
        z: &[[f32; O]; B],
        y: &[[f32; O]; B],
        delta: &mut [[f32; O]; B],
    ) -> f32;
}

/// A linear output with the mean squared error.
pub(crate) struct Mse;
/// A softmax output with the cross-entropy.
pub(crate) struct SoftmaxCrossEntropy;

impl<const O: usize> Output<O> for Mse {
    #[inline]
    fn activate(_z: &mut [f32; O]) {}

    #[inline]
    fn loss_delta<const B: usize>(
        z: &[[f32; O]; B],
        y: &[[f32; O]; B],
        delta: &mut [[f32; O]; B],
    ) -> f32 {
        let scale = 2.0 / (B * O) as f32;
        let mut sum = 0.0;
        for ((z_row, y_row), d_row) in z.iter().zip(y).zip(delta.iter_mut()) {
            for ((&zj, &yj), dj) in z_row.iter().zip(y_row).zip(d_row.iter_mut()) {
                let error = zj - yj;
                sum += error * error;
                *dj = scale * error;
            }
        }
        sum / (B * O) as f32
    }
}

impl<const O: usize> Output<O> for SoftmaxCrossEntropy {
    #[inline]
    fn activate(z: &mut [f32; O]) {
        let max = z.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        let mut sum = 0.0;
        for v in z.iter_mut() {
            *v = (*v - max).exp();
            sum += *v;
        }
        for v in z.iter_mut() {
            *v /= sum;
        }
    }

    #[inline]
    fn loss_delta<const B: usize>(
        z: &[[f32; O]; B],
        y: &[[f32; O]; B],
        delta: &mut [[f32; O]; B],
    ) -> f32 {
        let scale = 1.0 / B as f32;
        let mut loss = 0.0;
        for ((z_row, y_row), d_row) in z.iter().zip(y).zip(delta.iter_mut()) {
            let max = z_row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
            let mut sum = 0.0;
            for (dj, &zj) in d_row.iter_mut().zip(z_row) {
                *dj = (zj - max).exp();
                sum += *dj;
            }
            let log_sum = sum.ln();
            for ((dj, &zj), &yj) in d_row.iter_mut().zip(z_row).zip(y_row) {
                loss -= yj * (zj - max - log_sum);
                *dj = (*dj / sum - yj) * scale;
            }
        }
        loss * scale
    }
}

/// `I → A(H) → output(O)`, with its work buffers for batches of `B`.
pub(crate) struct Mlp2<A, L, const B: usize, const I: usize, const H: usize, const O: usize> {
    /// Layer 1.
    pub(crate) l1: Dense<I, H>,
    /// Layer 2.
    pub(crate) l2: Dense<H, O>,
    /// `∂L/∂θ` of layer 1, after [`gradients`](Self::gradients).
    pub(crate) g1: Dense<I, H>,
    /// `∂L/∂θ` of layer 2.
    pub(crate) g2: Dense<H, O>,
    h1: [[f32; H]; B],
    z2: [[f32; O]; B],
    d2: [[f32; O]; B],
    d1: [[f32; H]; B],
    kinds: core::marker::PhantomData<(A, L)>,
}

impl<A: Activation, L: Output<O>, const B: usize, const I: usize, const H: usize, const O: usize>
    Mlp2<A, L, B, I, H, O>
{
    /// From the generated layout of parameters.
    pub(crate) fn from_params(params: &[f32]) -> Box<Self> {
        let mut net = Box::new(Self {
            l1: Dense::ZERO,
            l2: Dense::ZERO,
            g1: Dense::ZERO,
            g2: Dense::ZERO,
            h1: [[0.0; H]; B],
            z2: [[0.0; O]; B],
            d2: [[0.0; O]; B],
            d1: [[0.0; H]; B],
            kinds: core::marker::PhantomData,
        });
        let (p1, p2) = params.split_at(Dense::<I, H>::PARAMS);
        net.l1.load(p1);
        net.l2.load(p2);
        net
    }

    /// The gradient in the generated layout.
    pub(crate) fn gradient_params(&self, flat: &mut [f32]) {
        let (p1, p2) = flat.split_at_mut(Dense::<I, H>::PARAMS);
        self.g1.store(p1);
        self.g2.store(p2);
    }

    /// `Ŷ` of a batch.
    pub(crate) fn forward(&mut self, x: &[[f32; I]; B], out: &mut [[f32; O]; B]) {
        self.l1.forward(x, &mut self.h1);
        activate::<A, B, _>(&mut self.h1);
        self.l2.forward(&self.h1, out);
        for row in out.iter_mut() {
            L::activate(row);
        }
    }

    /// The loss; the gradient goes to `g1` and `g2`.
    pub(crate) fn gradients(&mut self, x: &[[f32; I]; B], y: &[[f32; O]; B]) -> f32 {
        self.l1.forward(x, &mut self.h1);
        activate::<A, B, _>(&mut self.h1);
        self.l2.forward(&self.h1, &mut self.z2);
        let loss = L::loss_delta(&self.z2, y, &mut self.d2);
        self.l2.gradient(&self.h1, &self.d2, &mut self.g2);
        self.l2.back(&self.d2, &mut self.d1);
        times_derivative::<A, B, _>(&mut self.d1, &self.h1);
        self.l1.gradient(x, &self.d1, &mut self.g1);
        loss
    }

    /// One step of plain SGD; returns the loss before it.
    pub(crate) fn train_step(&mut self, x: &[[f32; I]; B], y: &[[f32; O]; B], lr: f32) -> f32 {
        let loss = self.gradients(x, y);
        self.l1.sgd(&self.g1, lr);
        self.l2.sgd(&self.g2, lr);
        loss
    }
}

/// `I → A(H1) → A(H2) → output(O)`, with its work buffers for batches of `B`.
pub(crate) struct Mlp3<
    A,
    L,
    const B: usize,
    const I: usize,
    const H1: usize,
    const H2: usize,
    const O: usize,
> {
    /// Layer 1.
    pub(crate) l1: Dense<I, H1>,
    /// Layer 2.
    pub(crate) l2: Dense<H1, H2>,
    /// Layer 3.
    pub(crate) l3: Dense<H2, O>,
    g1: Dense<I, H1>,
    g2: Dense<H1, H2>,
    g3: Dense<H2, O>,
    h1: [[f32; H1]; B],
    h2: [[f32; H2]; B],
    z3: [[f32; O]; B],
    d3: [[f32; O]; B],
    d2: [[f32; H2]; B],
    d1: [[f32; H1]; B],
    kinds: core::marker::PhantomData<(A, L)>,
}

impl<
    A: Activation,
    L: Output<O>,
    const B: usize,
    const I: usize,
    const H1: usize,
    const H2: usize,
    const O: usize,
> Mlp3<A, L, B, I, H1, H2, O>
{
    /// From the generated layout of parameters.
    pub(crate) fn from_params(params: &[f32]) -> Box<Self> {
        let mut net = Box::new(Self {
            l1: Dense::ZERO,
            l2: Dense::ZERO,
            l3: Dense::ZERO,
            g1: Dense::ZERO,
            g2: Dense::ZERO,
            g3: Dense::ZERO,
            h1: [[0.0; H1]; B],
            h2: [[0.0; H2]; B],
            z3: [[0.0; O]; B],
            d3: [[0.0; O]; B],
            d2: [[0.0; H2]; B],
            d1: [[0.0; H1]; B],
            kinds: core::marker::PhantomData,
        });
        let (p1, rest) = params.split_at(Dense::<I, H1>::PARAMS);
        let (p2, p3) = rest.split_at(Dense::<H1, H2>::PARAMS);
        net.l1.load(p1);
        net.l2.load(p2);
        net.l3.load(p3);
        net
    }

    /// The gradient in the generated layout.
    pub(crate) fn gradient_params(&self, flat: &mut [f32]) {
        let (p1, rest) = flat.split_at_mut(Dense::<I, H1>::PARAMS);
        let (p2, p3) = rest.split_at_mut(Dense::<H1, H2>::PARAMS);
        self.g1.store(p1);
        self.g2.store(p2);
        self.g3.store(p3);
    }

    /// `Ŷ` of a batch.
    pub(crate) fn forward(&mut self, x: &[[f32; I]; B], out: &mut [[f32; O]; B]) {
        self.l1.forward(x, &mut self.h1);
        activate::<A, B, _>(&mut self.h1);
        self.l2.forward(&self.h1, &mut self.h2);
        activate::<A, B, _>(&mut self.h2);
        self.l3.forward(&self.h2, out);
        for row in out.iter_mut() {
            L::activate(row);
        }
    }

    /// The loss; the gradient goes to the `g` layers.
    pub(crate) fn gradients(&mut self, x: &[[f32; I]; B], y: &[[f32; O]; B]) -> f32 {
        self.l1.forward(x, &mut self.h1);
        activate::<A, B, _>(&mut self.h1);
        self.l2.forward(&self.h1, &mut self.h2);
        activate::<A, B, _>(&mut self.h2);
        self.l3.forward(&self.h2, &mut self.z3);
        let loss = L::loss_delta(&self.z3, y, &mut self.d3);
        self.l3.gradient(&self.h2, &self.d3, &mut self.g3);
        self.l3.back(&self.d3, &mut self.d2);
        times_derivative::<A, B, _>(&mut self.d2, &self.h2);
        self.l2.gradient(&self.h1, &self.d2, &mut self.g2);
        self.l2.back(&self.d2, &mut self.d1);
        times_derivative::<A, B, _>(&mut self.d1, &self.h1);
        self.l1.gradient(x, &self.d1, &mut self.g1);
        loss
    }

    /// One step of plain SGD; returns the loss before it.
    pub(crate) fn train_step(&mut self, x: &[[f32; I]; B], y: &[[f32; O]; B], lr: f32) -> f32 {
        let loss = self.gradients(x, y);
        self.l1.sgd(&self.g1, lr);
        self.l2.sgd(&self.g2, lr);
        self.l3.sgd(&self.g3, lr);
        loss
    }
}
