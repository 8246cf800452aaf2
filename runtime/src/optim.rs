//! Optimizers: rules that turn a gradient into a parameter update.

use crate::Float;

/// An update rule over a network's flat parameters, so one optimizer serves
/// every generated network.
pub trait Optimizer<T: Float> {
    /// Updates `params` given the gradient `grads` (`grads[i] = ∂L/∂params[i]`).
    ///
    /// # Panics
    ///
    /// If `params` and `grads` differ in length.
    fn step(&mut self, params: &mut [T], grads: &[T]);
}

/// Plain stochastic gradient descent: `θ ← θ − η·∂L/∂θ`.
///
/// ```
/// use backprop_runtime::{Optimizer, Sgd};
///
/// let mut params = [1.0_f32, -2.0];
/// Sgd::new(0.5).step(&mut params, &[2.0, -2.0]);
/// assert_eq!(params, [0.0, -1.0]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sgd {
    /// The learning rate `η`.
    pub learning_rate: f64,
}

impl Sgd {
    /// SGD with learning rate `learning_rate`.
    #[must_use]
    pub const fn new(learning_rate: f64) -> Self {
        Self { learning_rate }
    }
}

impl<T: Float> Optimizer<T> for Sgd {
    #[inline]
    fn step(&mut self, params: &mut [T], grads: &[T]) {
        assert_eq!(params.len(), grads.len(), "one gradient per parameter");
        let rate = T::from_f64(self.learning_rate);
        for (p, &g) in params.iter_mut().zip(grads) {
            *p -= rate * g;
        }
    }
}
