//! Activation functions `f` and their derivatives `f'`.
//!
//! Every activation here can compute its derivative from its own output
//! `H = f(Z)`, so the backward pass needs only the cached outputs
//! (`sigmoid: f' = H(1 − H)`, `tanh: 1 − H²`, `relu: [H > 0]`).

use crate::Float;
use crate::kernels::Matrix;

/// An element-wise activation function.
pub trait Activation {
    /// The name used in the `network!` DSL.
    const NAME: &'static str;

    /// `f(z)`.
    fn apply<T: Float>(z: T) -> T;

    /// `f'(z)`, computed from the output `h = f(z)`.
    fn derivative_from_output<T: Float>(h: T) -> T;
}

/// `f(z) = z`, `f' = 1`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Linear;

/// The logistic function `σ(z) = 1 / (1 + e⁻ᶻ)`, `f' = σ(1 − σ)`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sigmoid;

/// The hyperbolic tangent, `f' = 1 − tanh²`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tanh;

/// The rectifier `max(0, z)`, `f' = [z > 0]`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Relu;

impl Activation for Linear {
    const NAME: &'static str = "linear";

    #[inline]
    fn apply<T: Float>(z: T) -> T {
        z
    }

    #[inline]
    fn derivative_from_output<T: Float>(_h: T) -> T {
        T::ONE
    }
}

impl Activation for Sigmoid {
    const NAME: &'static str = "sigmoid";

    /// Evaluated so that `exp` never overflows: for negative `z` it uses
    /// `eᶻ / (1 + eᶻ)`.
    #[inline]
    fn apply<T: Float>(z: T) -> T {
        if z >= T::ZERO {
            T::ONE / (T::ONE + (-z).exp())
        } else {
            let e = z.exp();
            e / (T::ONE + e)
        }
    }

    #[inline]
    fn derivative_from_output<T: Float>(h: T) -> T {
        h * (T::ONE - h)
    }
}

impl Activation for Tanh {
    const NAME: &'static str = "tanh";

    #[inline]
    fn apply<T: Float>(z: T) -> T {
        z.tanh()
    }

    #[inline]
    fn derivative_from_output<T: Float>(h: T) -> T {
        T::ONE - h * h
    }
}

impl Activation for Relu {
    const NAME: &'static str = "relu";

    #[inline]
    fn apply<T: Float>(z: T) -> T {
        if z > T::ZERO { z } else { T::ZERO }
    }

    #[inline]
    fn derivative_from_output<T: Float>(h: T) -> T {
        if h > T::ZERO { T::ONE } else { T::ZERO }
    }
}

/// Applies `A` in place: `Z` becomes `H = f(Z)`.
///
/// ```
/// use backprop_runtime::activation::{activate, Relu};
///
/// let mut z = [[-1.0, 2.0]];
/// activate::<Relu, _, 1, 2>(&mut z);
/// assert_eq!(z, [[0.0, 2.0]]);
/// ```
#[inline]
pub fn activate<A: Activation, T: Float, const B: usize, const N: usize>(z: &mut Matrix<T, B, N>) {
    for value in z.as_flattened_mut() {
        *value = A::apply(*value);
    }
}

/// Multiplies a gradient with respect to `H` by `f'(Z)`, in place:
/// `Δ = ∂L/∂H ⊙ f'(Z)`, with `f'` computed from the cached output `h`.
///
/// ```
/// use backprop_runtime::activation::{backprop_activation, Sigmoid};
///
/// let h = [[0.5, 0.25]];
/// let mut grad = [[1.0, 2.0]];
/// backprop_activation::<Sigmoid, _, 1, 2>(&h, &mut grad);
/// assert_eq!(grad, [[0.25, 0.375]]);
/// ```
#[inline]
pub fn backprop_activation<A: Activation, T: Float, const B: usize, const N: usize>(
    h: &Matrix<T, B, N>,
    grad: &mut Matrix<T, B, N>,
) {
    for (g, &h) in grad.as_flattened_mut().iter_mut().zip(h.as_flattened()) {
        *g *= A::derivative_from_output(h);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    /// Central difference of `f` at `z`, the reference for every derivative.
    fn numeric_derivative(f: fn(f64) -> f64, z: f64) -> f64 {
        let step = 1e-6;
        (f(z + step) - f(z - step)) / (2.0 * step)
    }

    fn check<A: Activation>(points: &[f64]) {
        for &z in points {
            let h = A::apply(z);
            assert_relative_eq!(
                A::derivative_from_output(h),
                numeric_derivative(A::apply::<f64>, z),
                epsilon = 1e-8,
                max_relative = 1e-6
            );
        }
    }

    #[test]
    fn derivatives_match_central_differences() {
        let points = [-3.0, -0.7, -0.1, 0.2, 0.9, 2.5];
        check::<Linear>(&points);
        check::<Sigmoid>(&points);
        check::<Tanh>(&points);
        check::<Relu>(&points);
    }

    #[test]
    fn sigmoid_is_finite_and_saturates_at_extremes() {
        for z in [-1e4_f32, -100.0, 100.0, 1e4] {
            let h = Sigmoid::apply(z);
            assert!(h.is_finite() && (0.0..=1.0).contains(&h));
        }
        assert_relative_eq!(Sigmoid::apply(-1e4_f64), 0.0);
        assert_relative_eq!(Sigmoid::apply(1e4_f64), 1.0);
        assert_relative_eq!(Sigmoid::apply(0.0_f64), 0.5);
    }
}
