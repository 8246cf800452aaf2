//! Gradient checks: a network's analytic gradient against central finite
//! differences of the same loss, entry by entry, reporting the worst.
//!
//! - [`check`]: [`Network::gradients`] and [`Network::input_gradients`]
//!   against differences of [`Network::loss`];
//! - [`check_own_loss`]: a loss of your own, a closure that returns `L`
//!   from the outputs `Ŷ` and writes `∂L/∂Ŷ`; what the network
//!   backpropagates from it against differences of that loss on
//!   [`Network::forward`], and your `∂L/∂Ŷ` against differences of your
//!   loss in `Ŷ`, so that a mistake in it is named where it is;
//! - [`check_gradient`] and [`check_input_gradient`]: any gradient you
//!   computed for a network's parameters or for a batch of inputs (say,
//!   pushed back from a network downstream) against differences of any
//!   loss of them.
//!
//! Each returns a [`GradientCheck`], whose `Display` names the worst entry:
//!
//! ```
//! use backprop::Network;
//!
//! backprop::network! {
//!     Net = 2 -> tanh(4) -> linear(2); loss = mse; float = f64
//! }
//!
//! let net = Net::seeded(1);
//! let x = [[0.5, -1.0], [1.0, 0.25]];
//! // L = Σ ŷ³ / 3, so ∂L/∂Ŷ = Ŷ².
//! let cube = |output: &[[f64; 2]; 2], grad: &mut [[f64; 2]; 2]| {
//!     let mut loss = 0.0;
//!     for (y, g) in output.as_flattened().iter().zip(grad.as_flattened_mut()) {
//!         loss += y * y * y / 3.0;
//!         *g = y * y;
//!     }
//!     loss
//! };
//! let check = backprop::gradcheck::check_own_loss(&net, &x, cube);
//! assert!(check.worst_relative_error < 1e-6, "{check}");
//! println!("{check}");
//! // worst of 26 entries: b² [0]: analytic 0.0155787, numeric 0.0155787, relative error 4.3e-9
//! // worst of the supplied ∂L/∂Ŷ's 4 entries: Ŷ [0][0]: analytic 0.00271074, numeric 0.00271074, relative error 1.2e-8
//! ```
//!
//! # Relative error, step and what to expect
//!
//! The numeric entry is `n = (L(v + h) − L(v − h)) / ((v + h) − (v − h))`,
//! the denominator as the float type rounds it, with
//! `h = step · max(1, |v|)`. Its truncation error grows as `h²` and its
//! rounding error as `ε·|L| / h` (`ε` the type's machine epsilon), so the
//! default steps are near `ε^⅓`. Each entry's relative error is
//!
//! `|a − n| / max(|a|, |n|, f)`, with `f = max(floor · maxₖ |aₖ|, rounding · ε·(|L(v + h)| + |L(v − h)|) / 2h)`,
//!
//! `a` the analytic entry, `maxₖ |aₖ|` the largest of the same
//! gradient (`∂L/∂θ`, `∂L/∂X` or `∂L/∂Ŷ`): an entry far smaller than the
//! largest, or than what rounding the loss lets a difference resolve, is
//! judged by its absolute difference rather than blown up, and zeros are
//! not divided by. A gradient that is zero where the loss moves has error 1.
//! [`FiniteDifferences`] holds the settings; the defaults are
//!
//! | network's float | step | floor | rounding | a correct gradient's worst error |
//! | --- | --- | --- | --- | --- |
//! | `f64` | `1e-5` | `1e-3` | `64` | below `1e-6`, typically `1e-9` to `5e-7` |
//! | `f32` | `3e-3` | `1e-2` | `128` | below `2e-2`, typically `3e-3` to `1e-2` |
//!
//! A wrong gradient gives errors of `0.1` and more (a factor of 2 is 0.5, a
//! wrong sign 2). An `f32` loss is itself rounded to `1e-7` relative, so
//! only entries well above its rounding are compared relatively and only
//! large mistakes stand out: for a strict check, declare the same network
//! with `float = f64` and copy the parameters over. Differences across a
//! kink (`relu`, `leaky_relu` or `elu` at 0, `mae` where `ŷ = y`) are not
//! derivatives: keep pre-activations farther from 0 than the step, or
//! expect one large error there.
//!
//! The network is not changed: the differences perturb a copy, one entry
//! at a time, and put back each entry's exact bits before the next. Nothing
//! is allocated, except by copying (and computing the gradients of) a
//! network whose parameters live on the heap.

use core::fmt;

use crate::network::Row;
use crate::{Float, Network};

/// How the finite differences are taken: the step, the floor of the
/// relative error and whether `∂L/∂X` is compared too. The defaults for
/// each float type are [`FiniteDifferences::F64`] and
/// [`FiniteDifferences::F32`] ([`for_float`](FiniteDifferences::for_float)
/// picks one), which the module's functions use; its methods of the same
/// names take these settings instead.
///
/// ```
/// use backprop::Network;
/// use backprop::gradcheck::FiniteDifferences;
///
/// backprop::network! {
///     Net = 3 -> sigmoid(4) -> linear(1); loss = mse; float = f64
/// }
///
/// let net = Net::seeded(2);
/// let (x, y) = ([[0.1, 0.2, 0.3]], [[1.0]]);
/// let parameters_only = FiniteDifferences { inputs: false, ..FiniteDifferences::F64 };
/// let check = parameters_only.check(&net, &x, &y);
/// assert_eq!(check.worst.compared, Net::PARAMS);
/// assert!(check.worst_relative_error < 1e-6, "{check}");
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FiniteDifferences {
    /// The step `h`, relative to the value it moves: `h = step · max(1, |v|)`.
    pub step: f64,
    /// The smallest denominator of a relative error, as a fraction of the
    /// largest entry of the same gradient.
    pub floor: f64,
    /// The smallest denominator of a relative error, as a multiple of how
    /// far rounding the two losses can move the difference quotient,
    /// `ε·(|L(v + h)| + |L(v − h)|) / 2h`.
    pub rounding: f64,
    /// Whether `∂L/∂X` is compared as well as `∂L/∂θ`.
    pub inputs: bool,
}

impl FiniteDifferences {
    /// For `f64` networks: step `1e-5`, floor `1e-3` of the largest entry
    /// or 64 times the rounding, with `∂L/∂X`.
    pub const F64: Self = Self {
        step: 1e-5,
        floor: 1e-3,
        rounding: 64.0,
        inputs: true,
    };

    /// For `f32` networks: step `3e-3`, floor `1e-2` of the largest entry
    /// or 128 times the rounding, with `∂L/∂X`.
    pub const F32: Self = Self {
        step: 3e-3,
        floor: 1e-2,
        rounding: 128.0,
        inputs: true,
    };

    /// [`F32`](FiniteDifferences::F32) or [`F64`](FiniteDifferences::F64), as `T` is.
    ///
    /// ```
    /// use backprop::gradcheck::FiniteDifferences;
    ///
    /// assert_eq!(FiniteDifferences::for_float::<f32>(), FiniteDifferences::F32);
    /// ```
    #[must_use]
    pub const fn for_float<T: Float>() -> Self {
        if size_of::<T>() == size_of::<f32>() {
            Self::F32
        } else {
            Self::F64
        }
    }

    /// [`check`] with these settings.
    #[must_use]
    pub fn check<N: Network, const B: usize>(
        &self,
        net: &N,
        x: &[N::Input; B],
        y: &[N::Target; B],
    ) -> GradientCheck {
        let (_, grad) = net.gradients(x, y);
        let grad_x = self.inputs.then(|| net.input_gradients(x, y).1);
        self.compare_network(net, x, &grad, grad_x.as_ref(), |net, x| net.loss(x, y))
    }

    /// [`check_own_loss`] with these settings.
    #[must_use]
    pub fn check_own_loss<N, const B: usize, F>(
        &self,
        net: &N,
        x: &[N::Input; B],
        mut loss: F,
    ) -> GradientCheck
    where
        N: Network,
        F: FnMut(&[N::Output; B], &mut [N::Output; B]) -> N::Float,
    {
        let trace = net.trace(x);
        let output = *trace.output();
        let mut grad_output = [N::Output::ZERO; B];
        loss(&output, &mut grad_output);
        let mut grad = N::zeros();
        let mut grad_x = [N::Input::ZERO; B];
        trace.backward_into(&grad_output, &mut grad, Some(&mut grad_x));

        let output_gradient = self.compare_rows(&output, &grad_output, Entry::output, |y| {
            loss(y, &mut [N::Output::ZERO; B])
        });
        let grad_x = self.inputs.then_some(grad_x);
        let mut check = self.compare_network(net, x, &grad, grad_x.as_ref(), |net, x| {
            loss(&net.forward(x), &mut [N::Output::ZERO; B])
        });
        if is_worse(output_gradient.relative_error, check.worst_relative_error) {
            check.worst_relative_error = output_gradient.relative_error;
        }
        check.output_gradient = Some(output_gradient);
        check
    }

    /// [`check_gradient`] with these settings.
    #[must_use]
    pub fn check_gradient<N: Network>(
        &self,
        net: &N,
        grad: &N,
        loss: impl FnMut(&N) -> N::Float,
    ) -> GradientCheck {
        let worst = self.compare_parameters(net, grad, loss);
        GradientCheck {
            worst_relative_error: worst.relative_error,
            worst,
            output_gradient: None,
        }
    }

    /// [`check_input_gradient`] with these settings.
    #[must_use]
    pub fn check_input_gradient<T: Float, R: Row<T>, const B: usize>(
        &self,
        x: &[R; B],
        grad_x: &[R; B],
        loss: impl FnMut(&[R; B]) -> T,
    ) -> GradientCheck {
        let worst = self.compare_rows(x, grad_x, Entry::input, loss);
        GradientCheck {
            worst_relative_error: worst.relative_error,
            worst,
            output_gradient: None,
        }
    }

    /// `grad` (and `grad_x`) against central differences of `loss_at`, in
    /// the parameters (and the inputs).
    fn compare_network<N: Network, const B: usize>(
        &self,
        net: &N,
        x: &[N::Input; B],
        grad: &N,
        grad_x: Option<&[N::Input; B]>,
        mut loss_at: impl FnMut(&N, &[N::Input; B]) -> N::Float,
    ) -> GradientCheck {
        let mut worst = self.compare_parameters(net, grad, |net| loss_at(net, x));
        if let Some(grad_x) = grad_x {
            let inputs = self.compare_rows(x, grad_x, Entry::input, |x| loss_at(net, x));
            let compared = worst.compared + inputs.compared;
            if is_worse(inputs.relative_error, worst.relative_error) {
                worst = inputs;
            }
            worst.compared = compared;
        }
        GradientCheck {
            worst_relative_error: worst.relative_error,
            worst,
            output_gradient: None,
        }
    }

    /// `grad` against central differences of `loss` in each parameter, on
    /// a copy of `net` whose entries are put back bit for bit.
    fn compare_parameters<N: Network>(
        &self,
        net: &N,
        grad: &N,
        mut loss: impl FnMut(&N) -> N::Float,
    ) -> Comparison {
        let mut worst = self.worst(grad.params().iter().copied());
        let mut probe = net.clone();
        for (index, &analytic) in grad.params().iter().enumerate() {
            let original = probe.params()[index];
            let numeric = self.central_difference(original, |value| {
                probe.params_mut()[index] = value;
                loss(&probe)
            });
            probe.params_mut()[index] = original;
            worst.offer(
                Entry::parameter(N::WIDTHS, index),
                analytic.to_f64(),
                &numeric,
            );
        }
        debug_assert!(
            probe
                .params()
                .iter()
                .zip(net.params())
                .all(|(p, q)| p.to_f64().to_bits() == q.to_f64().to_bits()),
            "the probe is restored bit for bit"
        );
        worst.finish(Entry::parameter(N::WIDTHS, 0))
    }

    /// The analytic gradient `grad` of `loss_at` at `rows` against its
    /// central differences, entry by entry, named by `entry(row, column)`.
    fn compare_rows<T: Float, R: Row<T>, const B: usize>(
        &self,
        rows: &[R; B],
        grad: &[R; B],
        entry: fn(usize, usize) -> Entry,
        mut loss_at: impl FnMut(&[R; B]) -> T,
    ) -> Comparison {
        let mut worst = self.worst(grad.iter().flat_map(|row| row.as_ref().iter().copied()));
        let mut probe = *rows;
        for row in 0..B {
            for column in 0..R::LEN {
                let original = probe[row].as_ref()[column];
                let numeric = self.central_difference(original, |value| {
                    probe[row].as_mut()[column] = value;
                    loss_at(&probe)
                });
                probe[row].as_mut()[column] = original;
                worst.offer(
                    entry(row, column),
                    grad[row].as_ref()[column].to_f64(),
                    &numeric,
                );
            }
        }
        worst.finish(entry(0, 0))
    }

    /// The comparisons of a gradient whose analytic entries are `analytic`.
    fn worst<T: Float>(&self, analytic: impl Iterator<Item = T>) -> Worst {
        let largest = analytic.fold(0.0_f64, |m, a| m.max(a.to_f64().abs()));
        Worst {
            floor: (self.floor * largest).max(f64::MIN_POSITIVE),
            rounding: self.rounding,
            so_far: None,
            compared: 0,
        }
    }

    /// `(L(v + h) − L(v − h)) / ((v + h) − (v − h))`, with `loss_at(v)` the
    /// loss where the entry is `v`, and how far rounding the two losses
    /// can move it: `ε·(|L(v + h)| + |L(v − h)|) / ((v + h) − (v − h))`.
    fn central_difference<T: Float>(
        &self,
        value: T,
        mut loss_at: impl FnMut(T) -> T,
    ) -> Difference {
        let v = value.to_f64();
        let h = self.step * v.abs().max(1.0);
        let (up, down) = (T::from_f64(v + h), T::from_f64(v - h));
        let (above, below) = (loss_at(up).to_f64(), loss_at(down).to_f64());
        let run = up.to_f64() - down.to_f64();
        Difference {
            quotient: (above - below) / run,
            rounding: epsilon::<T>() * (above.abs() + below.abs()) / run,
        }
    }
}

/// A central difference and the size of its rounding error.
struct Difference {
    quotient: f64,
    rounding: f64,
}

/// The machine epsilon of `T`.
const fn epsilon<T: Float>() -> f64 {
    if size_of::<T>() == size_of::<f32>() {
        f32::EPSILON as f64
    } else {
        f64::EPSILON
    }
}

/// Whether an error of `error` is worse than `worst`: larger, or NaN
/// where `worst` is not (a NaN entry is the worst of all).
fn is_worse(error: f64, worst: f64) -> bool {
    !worst.is_nan() && (error.is_nan() || error > worst)
}

/// The worst comparison so far of one gradient's entries.
struct Worst {
    /// [`FiniteDifferences::floor`] times the gradient's largest entry.
    floor: f64,
    /// [`FiniteDifferences::rounding`], the floor's multiple of a
    /// difference's rounding.
    rounding: f64,
    so_far: Option<Comparison>,
    compared: usize,
}

impl Worst {
    fn offer(&mut self, entry: Entry, analytic: f64, numeric: &Difference) {
        self.compared += 1;
        let floor = self.floor.max(self.rounding * numeric.rounding);
        let numeric = numeric.quotient;
        let denominator = analytic.abs().max(numeric.abs()).max(floor);
        let relative_error = (analytic - numeric).abs() / denominator;
        let worse = self
            .so_far
            .is_none_or(|worst| is_worse(relative_error, worst.relative_error));
        if worse {
            self.so_far = Some(Comparison {
                entry,
                analytic,
                numeric,
                relative_error,
                compared: 0,
            });
        }
    }

    /// The worst comparison, or, if there were no entries (a batch of no
    /// rows), an error of 0 at `first`.
    fn finish(self, first: Entry) -> Comparison {
        let mut worst = self.so_far.unwrap_or(Comparison {
            entry: first,
            analytic: 0.0,
            numeric: 0.0,
            relative_error: 0.0,
            compared: 0,
        });
        worst.compared = self.compared;
        worst
    }
}

/// What [`check`], [`check_own_loss`], [`check_gradient`] or
/// [`check_input_gradient`] found: the worst relative error and where it
/// is. Its `Display` is a line a reader can act on, and a second for a loss
/// of your own; here for the `∂L/∂Ŷ` of [`check_own_loss`]'s example,
/// twice too large in column 1:
///
/// ```text
/// worst of 24 entries: X [0][1]: analytic -1.88006, numeric -0.886264, relative error 5.3e-1
/// worst of the supplied ∂L/∂Ŷ's 2 entries: Ŷ [0][1]: analytic -2.21427, numeric -1.10713, relative error 5.0e-1
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct GradientCheck {
    /// The largest relative error of every entry compared, `∂L/∂Ŷ`
    /// included (NaN if any entry was NaN).
    pub worst_relative_error: f64,
    /// The worst entry of the network's gradient: `∂L/∂θ`, and `∂L/∂X` if
    /// compared.
    pub worst: Comparison,
    /// For a loss of your own, the worst entry of the `∂L/∂Ŷ` it wrote
    /// against differences of the loss in `Ŷ`: where a mistake in it shows
    /// first. `None` for the network's own loss.
    pub output_gradient: Option<Comparison>,
}

/// One entry's analytic and numeric values and their relative error,
/// and how many entries were compared to find it.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct Comparison {
    /// Which entry.
    pub entry: Entry,
    /// The gradient as computed.
    pub analytic: f64,
    /// The central difference.
    pub numeric: f64,
    /// `|analytic − numeric| / max(|analytic|, |numeric|, f)`, with the
    /// floor `f` of the [module](self)'s documentation.
    pub relative_error: f64,
    /// How many entries were compared (this one is the worst of them).
    pub compared: usize,
}

/// An entry of a gradient: a weight, a bias, an input or an output.
/// Layers count from 1, as in `W¹`; rows and columns from 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Entry {
    /// `∂L/∂Wˡ[row][column]`, the weight from unit `row` of layer `l − 1`
    /// (or input `row`) to unit `column` of layer `l`.
    Weight {
        /// Its index in [`Network::params`].
        parameter: usize,
        /// `l`, from 1.
        layer: usize,
        /// The unit it comes from.
        row: usize,
        /// The unit it goes to.
        column: usize,
    },
    /// `∂L/∂bˡ[unit]`.
    Bias {
        /// Its index in [`Network::params`].
        parameter: usize,
        /// `l`, from 1.
        layer: usize,
        /// The unit.
        unit: usize,
    },
    /// `∂L/∂X[row][column]`: sample `row`, input `column`.
    Input {
        /// The sample.
        row: usize,
        /// The input.
        column: usize,
    },
    /// `∂L/∂Ŷ[row][column]`: sample `row`, output `column`.
    Output {
        /// The sample.
        row: usize,
        /// The output.
        column: usize,
    },
}

impl Entry {
    /// The parameter at `index` of a network of these widths.
    fn parameter(widths: &[usize], index: usize) -> Self {
        let mut start = 0;
        for (layer, pair) in widths.windows(2).enumerate() {
            let (fan_in, fan_out) = (pair[0], pair[1]);
            let biases = start + fan_in * fan_out;
            if index < biases {
                let offset = index - start;
                return Self::Weight {
                    parameter: index,
                    layer: layer + 1,
                    row: offset / fan_out,
                    column: offset % fan_out,
                };
            }
            if index < biases + fan_out {
                return Self::Bias {
                    parameter: index,
                    layer: layer + 1,
                    unit: index - biases,
                };
            }
            start = biases + fan_out;
        }
        panic!("parameter {index} is past the last layer");
    }

    fn input(row: usize, column: usize) -> Self {
        Self::Input { row, column }
    }

    fn output(row: usize, column: usize) -> Self {
        Self::Output { row, column }
    }
}

/// Compares [`Network::gradients`] and [`Network::input_gradients`] with
/// central differences of [`Network::loss`] on the batch `x`, `y`, with the
/// defaults for the network's float type
/// ([`FiniteDifferences::for_float`]); the [module](self) says what to
/// expect.
///
/// ```
/// use backprop::Network;
///
/// backprop::network! {
///     Net = 3 -> tanh(5) -> softmax(2); loss = cross_entropy; float = f64
/// }
///
/// let net = Net::seeded(4);
/// let (x, y) = ([[0.5, -0.5, 1.0], [0.0, 0.3, -0.2]], [[1.0, 0.0], [0.0, 1.0]]);
/// let check = backprop::gradcheck::check(&net, &x, &y);
/// assert!(check.worst_relative_error < 1e-6, "{check}");
/// ```
#[must_use]
pub fn check<N: Network, const B: usize>(
    net: &N,
    x: &[N::Input; B],
    y: &[N::Target; B],
) -> GradientCheck {
    FiniteDifferences::for_float::<N::Float>().check(net, x, y)
}

/// Compares the gradient the network backpropagates from your `∂L/∂Ŷ`
/// ([`Network::trace`], [`Trace::backward_into`](crate::Trace::backward_into))
/// with central differences of your loss on [`Network::forward`], and your
/// `∂L/∂Ŷ` with central differences of your loss in `Ŷ`, with the defaults
/// for the network's float type.
///
/// `loss(output, grad)` returns `L` for the outputs `Ŷ` and writes `∂L/∂Ŷ`
/// into `grad`, which it is handed as zeros; it is called once for the
/// gradient and twice per entry compared, when only its `L` is used.
///
/// A gradient off by a factor of 2 in one output column is caught where it
/// is, in `∂L/∂Ŷ`:
///
/// ```
/// use backprop::Network;
/// use backprop::gradcheck::Entry;
///
/// backprop::network! {
///     Net = 2 -> relu(4) -> linear(2); loss = mse; float = f64
/// }
///
/// let net = Net::seeded(3);
/// let x = [[0.5, -1.0]];
/// // L = ½ Σ ŷ², so ∂L/∂Ŷ = Ŷ; but column 1 is written twice too large.
/// let check = backprop::gradcheck::check_own_loss(&net, &x, |output, grad| {
///     grad[0] = [output[0][0], 2.0 * output[0][1]];
///     0.5 * (output[0][0] * output[0][0] + output[0][1] * output[0][1])
/// });
/// let output_gradient = check.output_gradient.expect("a loss of your own");
/// assert_eq!(output_gradient.entry, Entry::Output { row: 0, column: 1 });
/// assert!((output_gradient.relative_error - 0.5).abs() < 1e-6);
/// println!("{check}");
/// ```
#[must_use]
pub fn check_own_loss<N, const B: usize, F>(net: &N, x: &[N::Input; B], loss: F) -> GradientCheck
where
    N: Network,
    F: FnMut(&[N::Output; B], &mut [N::Output; B]) -> N::Float,
{
    FiniteDifferences::for_float::<N::Float>().check_own_loss(net, x, loss)
}

/// Compares a gradient `grad` you computed for the parameters of `net`
/// with central differences of `loss(net)`, any loss that depends on them,
/// with the defaults for the network's float type: for gradients that
/// reach a network from elsewhere, such as a network downstream.
///
/// An encoder's gradient, pushed back from the loss of a head it feeds:
///
/// ```
/// use backprop::Network;
///
/// backprop::network! {
///     Encoder = 3 -> tanh(4); loss = mse; float = f64
/// }
/// backprop::network! {
///     Head = 4 -> linear(1); loss = mse; float = f64
/// }
///
/// let (encoder, head) = (Encoder::seeded(1), Head::seeded(2));
/// let (x, y) = ([[0.5, -1.0, 0.2], [0.1, 0.3, -0.4]], [[1.0], [0.0]]);
/// let (_, grad_features) = head.input_gradients(&encoder.forward(&x), &y); // ∂L/∂H
/// let (grad, _) = encoder.backward(&x, &grad_features);
/// let check = backprop::gradcheck::check_gradient(&encoder, &grad, |encoder| {
///     head.loss(&encoder.forward(&x), &y)
/// });
/// assert!(check.worst_relative_error < 1e-6, "{check}");
/// ```
#[must_use]
pub fn check_gradient<N: Network>(
    net: &N,
    grad: &N,
    loss: impl FnMut(&N) -> N::Float,
) -> GradientCheck {
    FiniteDifferences::for_float::<N::Float>().check_gradient(net, grad, loss)
}

/// Compares a gradient `grad_x` you computed for a batch `x` with central
/// differences of `loss(x)`, any loss of it, with the defaults for its
/// float type: for the input gradients that link networks, such as a
/// critic's `∂Q/∂a`.
///
/// ```
/// use backprop::Network;
///
/// backprop::network! {
///     Critic = 3 -> tanh(6) -> linear(1); loss = mse; float = f64
/// }
///
/// let critic = Critic::seeded(1);
/// let state_action = [[0.5, -0.2, 0.1], [0.0, 0.4, -0.3]];
/// // L = −Σ Q, so ∂L/∂Q = −1 for every row.
/// let (_, grad_x) = critic.backward(&state_action, &[[-1.0]; 2]);
/// let check = backprop::gradcheck::check_input_gradient(&state_action, &grad_x, |x| {
///     -critic.forward(x).iter().map(|[q]| q).sum::<f64>()
/// });
/// assert!(check.worst_relative_error < 1e-6, "{check}");
/// ```
#[must_use]
pub fn check_input_gradient<T: Float, R: Row<T>, const B: usize>(
    x: &[R; B],
    grad_x: &[R; B],
    loss: impl FnMut(&[R; B]) -> T,
) -> GradientCheck {
    FiniteDifferences::for_float::<T>().check_input_gradient(x, grad_x, loss)
}

impl fmt::Display for GradientCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "worst of {}", self.worst)?;
        if let Some(output_gradient) = &self.output_gradient {
            write!(f, "\nworst of the supplied ∂L/∂Ŷ's {output_gradient}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} entries: {}: analytic {}, numeric {}, relative error {:.1e}",
            self.compared,
            self.entry,
            Readable(self.analytic),
            Readable(self.numeric),
            self.relative_error
        )
    }
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Weight {
                layer, row, column, ..
            } => write!(f, "W{} [{row}][{column}]", Superscript(layer)),
            Self::Bias { layer, unit, .. } => write!(f, "b{} [{unit}]", Superscript(layer)),
            Self::Input { row, column } => write!(f, "X [{row}][{column}]"),
            Self::Output { row, column } => write!(f, "Ŷ [{row}][{column}]"),
        }
    }
}

/// A layer's number as superscript digits: `²`, `¹²`.
struct Superscript(usize);

impl fmt::Display for Superscript {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const DIGITS: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
        if self.0 >= 10 {
            Superscript(self.0 / 10).fmt(f)?;
        }
        fmt::Write::write_char(f, DIGITS[self.0 % 10])
    }
}

/// A value with six significant digits, in plain notation where it is
/// neither tiny nor huge: `0.123412`, `-3.5`, `1.00000e-9`.
struct Readable(f64);

impl fmt::Display for Readable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let magnitude = self.0.abs();
        if self.0 == 0.0 || !self.0.is_finite() {
            write!(f, "{}", self.0)
        } else if (1e-3..1e5).contains(&magnitude) {
            let mut decimals = 5;
            let mut scale = 10.0;
            while magnitude >= scale && decimals > 0 {
                decimals -= 1;
                scale *= 10.0;
            }
            let mut scale = 1.0;
            while magnitude < scale {
                decimals += 1;
                scale /= 10.0;
            }
            write!(f, "{:.*}", decimals, self.0)
        } else {
            write!(f, "{:.5e}", self.0)
        }
    }
}
