//! Optimizers: rules that turn a gradient into a parameter update.
//!
//! [`Sgd`], [`Adam`] and [`AdamW`] compute what `torch.optim.SGD`,
//! `torch.optim.Adam` and `torch.optim.AdamW` compute, with the same
//! defaults, operation for operation (the tests compare three steps of each
//! option with values recorded from PyTorch). They work on a network's flat
//! parameters through [`Optimizer`], so one optimizer serves every network.
//!
//! # Where the state lives
//!
//! SGD with momentum keeps one velocity per parameter, Adam and `AdamW` two
//! moments, and a third value with `amsgrad`. The optimizers are generic
//! over where those values live, any [`StateStorage`]:
//!
//! - `Vec<T>` (feature `alloc`, on by default), what [`Sgd::new`],
//!   [`Adam::new`] and [`AdamW::new`] use: sized to the parameter count on
//!   the first step that needs it, the only allocation the optimizer makes.
//! - `[T; N]`, through `with_state`: no allocator at all, for `no_std`
//!   targets. `N` must be the parameter count, such as `Net::PARAMS`.
//! - `&mut [T]`: a buffer that lives elsewhere (a `static`, an arena).
//!
//! A storage type parameter, rather than one fixed choice, keeps the core
//! free of `alloc` without making users of `std` spell out array lengths.
//! No step allocates after the first, and none reads the state before the
//! optimizer has written it: the values a storage holds when handed over
//! do not matter.

#[cfg(feature = "alloc")]
use alloc::vec::Vec;

use crate::Float;

mod resume;

pub use resume::{Resume, StateError};

/// An update rule over a network's flat parameters, so one optimizer serves
/// every generated network.
pub trait Optimizer<T: Float> {
    /// Updates `params` given the gradient `grads` (`grads[i] = ∂L/∂params[i]`).
    ///
    /// # Panics
    ///
    /// If `params` and `grads` differ in length, or if the optimizer keeps
    /// state for a different number of parameters.
    fn step(&mut self, params: &mut [T], grads: &[T]);

    /// `Some(η)` when [`step`](Optimizer::step) is exactly `θ ← θ − η·g`
    /// for every parameter, with no state: a network's
    /// [`train_step`](crate::Network::train_step) then moves each layer's
    /// parameters as soon as their gradient is known, without storing it.
    /// `None`, the default, for every other optimizer.
    fn plain_learning_rate(&self) -> Option<T> {
        None
    }

    /// The learning rate `η` the next step uses (PyTorch's
    /// `param_groups[0]["lr"]`).
    ///
    /// ```
    /// use backprop_runtime::{Adam, Optimizer};
    ///
    /// let adam = Adam::<Vec<f32>>::new(3e-4);
    /// assert_eq!(adam.learning_rate(), 3e-4);
    /// ```
    fn learning_rate(&self) -> f64;

    /// Sets the learning rate of the steps to come, keeping every other
    /// option and all state (momentum, moments, the step count), as a
    /// PyTorch scheduler does when it writes `param_groups[i]["lr"]`. A
    /// [`Schedule`](crate::schedule::Schedule) gives the rate for each
    /// step or epoch:
    ///
    /// ```
    /// use backprop_runtime::schedule::{Schedule, Step};
    /// use backprop_runtime::{Optimizer, Sgd};
    ///
    /// let schedule = Step { base: 0.1, step_size: 2, gamma: 0.5 };
    /// let mut sgd = Sgd::new(schedule.learning_rate(0)).momentum(0.9);
    /// let mut params = [1.0_f64];
    /// for epoch in 0..4 {
    ///     sgd.set_learning_rate(schedule.learning_rate(epoch));
    ///     sgd.step(&mut params, &[1.0]);
    /// }
    /// assert_eq!(sgd.learning_rate(), 0.05);
    /// ```
    ///
    /// # Panics
    ///
    /// If `rate` is negative or NaN, as the constructors do; the
    /// optimizer is left as it was.
    fn set_learning_rate(&mut self, rate: f64);
}

/// The check of every constructor and of [`Optimizer::set_learning_rate`].
const fn check_learning_rate(rate: f64) {
    assert!(rate >= 0.0, "the learning rate must be zero or positive");
}

/// Where an optimizer keeps one value of state per parameter: a momentum
/// buffer, or one of Adam's moments. See [the module docs](self) for the
/// three implementations.
///
/// ```
/// use backprop_runtime::{Adam, Optimizer};
///
/// // Adam on two parameters with its moments in a borrowed buffer.
/// let mut buffer = [0.0_f64; 4];
/// let (first, second) = buffer.split_at_mut(2);
/// let mut adam = Adam::with_state(0.1, first, second);
/// let mut params = [1.0, 1.0];
/// adam.step(&mut params, &[1.0, -1.0]);
/// assert!((params[0] - 0.9).abs() < 1e-6 && (params[1] - 1.1).abs() < 1e-6);
/// ```
pub trait StateStorage<T> {
    /// The state of `len` parameters, one value each, as the previous step
    /// left it. Called on every step that uses state, with the same `len`.
    ///
    /// # Panics
    ///
    /// If the storage cannot hold exactly `len` values, or held another
    /// number of values on an earlier step. An array or a slice of the wrong
    /// length panics with "the optimizer's state holds 3 values but there
    /// are 4 parameters; give it arrays (or a buffer) of the network's
    /// `PARAMS` length"; a `Vec` sized on an earlier step for another
    /// network, with "the optimizer's state was sized for 4 parameters but
    /// this step has 3; use one optimizer per network".
    fn values(&mut self, len: usize) -> &mut [T];
}

impl<T, const N: usize> StateStorage<T> for [T; N] {
    #[inline]
    fn values(&mut self, len: usize) -> &mut [T] {
        assert!(
            N == len,
            "the optimizer's state holds {N} values but there are {len} parameters; \
             give it arrays of the network's `PARAMS` length"
        );
        self
    }
}

impl<T> StateStorage<T> for &mut [T] {
    #[inline]
    fn values(&mut self, len: usize) -> &mut [T] {
        assert!(
            self.len() == len,
            "the optimizer's state holds {} values but there are {len} parameters; \
             give it a buffer of the network's `PARAMS` length",
            self.len()
        );
        self
    }
}

/// Sized on first use, with one allocation of exactly `len` values.
#[cfg(feature = "alloc")]
impl<T: Float> StateStorage<T> for Vec<T> {
    #[inline]
    fn values(&mut self, len: usize) -> &mut [T] {
        if self.is_empty() {
            T::zeroed_state(self, len);
        }
        assert!(
            self.len() == len,
            "the optimizer's state was sized for {} parameters but this step has {len}; \
             use one optimizer per network",
            self.len()
        );
        self
    }
}

/// Stochastic gradient descent, as `torch.optim.SGD`: with weight decay `λ`
/// and momentum `μ` (dampening `τ`), each step computes
///
/// ```text
/// g ← ∂L/∂θ + λ·θ
/// v ← g on the first step, else μ·v + (1 − τ)·g
/// θ ← θ − η·(g + μ·v)   with Nesterov momentum
/// θ ← θ − η·v           otherwise (θ − η·g when μ = 0)
/// ```
///
/// Every option defaults to PyTorch's, which make [`Sgd::new`] plain SGD,
/// `θ ← θ − η·∂L/∂θ`:
///
/// ```
/// use backprop_runtime::{Optimizer, Sgd};
///
/// let mut params = [1.0_f32, -2.0];
/// Sgd::new(0.5).step(&mut params, &[2.0, -2.0]);
/// assert_eq!(params, [0.0, -1.0]);
/// ```
///
/// The options are public fields and builder methods:
///
/// ```
/// use backprop_runtime::Sgd;
///
/// let sgd = Sgd::<Vec<f32>>::new(0.1).momentum(0.9).nesterov(true).weight_decay(1e-4);
/// assert_eq!((sgd.learning_rate, sgd.momentum, sgd.dampening), (0.1, 0.9, 0.0));
/// assert!(sgd.nesterov);
/// ```
///
/// The velocity lives in `S`, a [`StateStorage`]; plain SGD never touches it.
#[derive(Clone, Debug, PartialEq)]
pub struct Sgd<S> {
    /// The learning rate `η`.
    pub learning_rate: f64,
    /// The momentum `μ`; `0` (the default) for none.
    pub momentum: f64,
    /// The dampening `τ` of the gradient's share of the velocity; default `0`.
    pub dampening: f64,
    /// Nesterov momentum (needs `momentum > 0` and zero dampening); default `false`.
    pub nesterov: bool,
    /// The L2 penalty `λ` added to the gradient as `λ·θ`; default `0`.
    pub weight_decay: f64,
    velocity: S,
    velocity_started: bool,
}

#[cfg(feature = "alloc")]
impl<T: Float> Sgd<Vec<T>> {
    /// SGD with learning rate `learning_rate` and PyTorch's defaults for the
    /// rest (no momentum, no weight decay); a momentum buffer, if one is
    /// asked for, is allocated on the first step.
    ///
    /// # Panics
    ///
    /// If `learning_rate` is negative or NaN.
    #[must_use]
    pub const fn new(learning_rate: f64) -> Self {
        Self::with_state(learning_rate, Vec::new())
    }
}

impl<S> Sgd<S> {
    /// SGD that keeps its velocity in `velocity`, which must then hold one
    /// value per parameter (whatever values: the first step overwrites
    /// them). Plain SGD never uses it, so `[]` will do.
    ///
    /// ```
    /// use backprop_runtime::{Optimizer, Sgd};
    ///
    /// // No allocator needed: the velocity of three parameters in an array.
    /// let mut sgd = Sgd::with_state(0.1, [0.0; 3]).momentum(0.5);
    /// let mut params = [0.0_f64; 3];
    /// sgd.step(&mut params, &[1.0, 2.0, 3.0]);
    /// sgd.step(&mut params, &[1.0, 2.0, 3.0]);
    /// // Steps of 0.1·g, then 0.1·(0.5·g + g).
    /// assert!((params[0] + 0.25).abs() < 1e-12);
    ///
    /// // Plain SGD needs no state at all.
    /// let mut plain = Sgd::with_state(0.5, []);
    /// plain.step(&mut params, &[0.5, 0.0, 0.0]);
    /// assert!((params[0] + 0.5).abs() < 1e-12);
    /// ```
    ///
    /// # Panics
    ///
    /// If `learning_rate` is negative or NaN; the first step with momentum
    /// panics if `velocity` does not hold one value per parameter (see
    /// [`StateStorage::values`]).
    #[must_use]
    pub const fn with_state(learning_rate: f64, velocity: S) -> Self {
        check_learning_rate(learning_rate);
        Self {
            learning_rate,
            momentum: 0.0,
            dampening: 0.0,
            nesterov: false,
            weight_decay: 0.0,
            velocity,
            velocity_started: false,
        }
    }

    /// Sets the momentum `μ`: `v ← μ·v + (1 − τ)·g`, `θ ← θ − η·v`.
    ///
    /// ```
    /// use backprop_runtime::{Optimizer, Sgd};
    ///
    /// let mut sgd = Sgd::new(0.1).momentum(0.9);
    /// let mut params = [1.0_f64];
    /// sgd.step(&mut params, &[1.0]); // v = 1
    /// sgd.step(&mut params, &[1.0]); // v = 0.9·1 + 1 = 1.9
    /// assert!((params[0] - (1.0 - 0.1 - 0.19)).abs() < 1e-12);
    /// ```
    ///
    /// # Panics
    ///
    /// If `momentum` is negative or NaN.
    #[must_use]
    pub fn momentum(self, momentum: f64) -> Self {
        assert!(momentum >= 0.0, "the momentum must be zero or positive");
        Self { momentum, ..self }
    }

    /// Sets the dampening `τ`: after the first step the velocity takes in
    /// only `(1 − τ)·g`.
    ///
    /// ```
    /// use backprop_runtime::{Optimizer, Sgd};
    ///
    /// let mut sgd = Sgd::new(0.1).momentum(0.9).dampening(0.5);
    /// let mut params = [1.0_f64];
    /// sgd.step(&mut params, &[1.0]); // v = 1 (the first step is undamped)
    /// sgd.step(&mut params, &[1.0]); // v = 0.9·1 + 0.5·1 = 1.4
    /// assert!((params[0] - (1.0 - 0.1 - 0.14)).abs() < 1e-12);
    /// ```
    #[must_use]
    pub fn dampening(self, dampening: f64) -> Self {
        Self { dampening, ..self }
    }

    /// Turns Nesterov momentum on or off: the step is `η·(g + μ·v)` instead
    /// of `η·v`. Needs a momentum and zero dampening, as in PyTorch; the
    /// next step panics otherwise.
    ///
    /// ```
    /// use backprop_runtime::{Optimizer, Sgd};
    ///
    /// let mut sgd = Sgd::new(0.1).momentum(0.9).nesterov(true);
    /// let mut params = [1.0_f64];
    /// sgd.step(&mut params, &[1.0]); // v = 1, step 0.1·(1 + 0.9·1)
    /// assert!((params[0] - (1.0 - 0.19)).abs() < 1e-12);
    /// ```
    #[must_use]
    pub fn nesterov(self, nesterov: bool) -> Self {
        Self { nesterov, ..self }
    }

    /// Sets the weight decay `λ`, an L2 penalty: `λ·θ` is added to the
    /// gradient before anything else.
    ///
    /// ```
    /// use backprop_runtime::{Optimizer, Sgd};
    ///
    /// let mut params = [2.0_f64];
    /// Sgd::new(0.1).weight_decay(0.5).step(&mut params, &[0.0]);
    /// assert!((params[0] - (2.0 - 0.1 * 0.5 * 2.0)).abs() < 1e-12);
    /// ```
    ///
    /// # Panics
    ///
    /// If `weight_decay` is negative or NaN.
    #[must_use]
    pub fn weight_decay(self, weight_decay: f64) -> Self {
        assert!(
            weight_decay >= 0.0,
            "the weight decay must be zero or positive"
        );
        Self {
            weight_decay,
            ..self
        }
    }
}

impl<T: Float, S: StateStorage<T>> Optimizer<T> for Sgd<S> {
    #[inline]
    fn step(&mut self, params: &mut [T], grads: &[T]) {
        assert_eq!(params.len(), grads.len(), "one gradient per parameter");
        // Plain SGD on its own, small enough to be inlined into a train
        // step, where a call costs as much as a tiny network's update.
        if let Some(rate) = Optimizer::<T>::plain_learning_rate(self) {
            for (p, &g) in params.iter_mut().zip(grads) {
                *p -= rate * g;
            }
            return;
        }
        self.step_with_options(params, grads);
    }

    #[inline]
    fn plain_learning_rate(&self) -> Option<T> {
        self.is_plain().then(|| T::from_f64(self.learning_rate))
    }

    fn learning_rate(&self) -> f64 {
        self.learning_rate
    }

    fn set_learning_rate(&mut self, rate: f64) {
        check_learning_rate(rate);
        self.learning_rate = rate;
    }
}

impl<S> Sgd<S> {
    /// Without momentum, Nesterov momentum or weight decay.
    // PyTorch tests its options with `!= 0` too; exact zero means "off".
    #[allow(clippy::float_cmp)]
    fn is_plain(&self) -> bool {
        self.momentum == 0.0 && self.weight_decay == 0.0 && !self.nesterov
    }

    /// [`Optimizer::step`] with momentum, Nesterov momentum or weight decay.
    #[allow(clippy::float_cmp)]
    fn step_with_options<T: Float>(&mut self, params: &mut [T], grads: &[T])
    where
        S: StateStorage<T>,
    {
        assert!(
            !self.nesterov || (self.momentum > 0.0 && self.dampening == 0.0),
            "Nesterov momentum needs a momentum above zero and zero dampening (as in PyTorch)"
        );
        let step = SgdStep {
            rate: T::from_f64(self.learning_rate),
            decay: T::from_f64(self.weight_decay),
            decays: self.weight_decay != 0.0,
            momentum: T::from_f64(self.momentum),
            undamped: T::from_f64(1.0 - self.dampening),
            first: !self.velocity_started,
            nesterov: self.nesterov,
        };
        if self.momentum == 0.0 {
            T::sgd_step(&step, params, grads, None);
            return;
        }
        // Sized (or found to be of the wrong size) before it counts as started.
        let velocity = self.velocity.values(params.len());
        T::sgd_step(&step, params, grads, Some(velocity));
        self.velocity_started = true;
    }
}

/// The numbers of one SGD step with options that are the same for every
/// parameter. Its loop is compiled once, in this crate, for each float
/// type (through a hidden [`Float`] method), not in every crate that
/// trains a network.
#[doc(hidden)]
pub struct SgdStep<T> {
    rate: T,
    /// `λ`, and whether it is non-zero.
    decay: T,
    decays: bool,
    /// `μ` and `1 − τ`.
    momentum: T,
    undamped: T,
    /// Whether the velocity is still to be started from the gradient.
    first: bool,
    nesterov: bool,
}

impl<T: Float> SgdStep<T> {
    /// The step, on every parameter; `velocity` is `None` without momentum.
    pub(crate) fn apply(&self, params: &mut [T], grads: &[T], velocity: Option<&mut [T]>) {
        let regularised = |g: T, p: T| if self.decays { g + self.decay * p } else { g };
        let Some(velocity) = velocity else {
            for (p, &g) in params.iter_mut().zip(grads) {
                *p -= self.rate * regularised(g, *p);
            }
            return;
        };
        for ((p, &g), v) in params.iter_mut().zip(grads).zip(velocity) {
            let g = regularised(g, *p);
            *v = if self.first {
                g
            } else {
                *v * self.momentum + self.undamped * g
            };
            let update = if self.nesterov {
                g + self.momentum * *v
            } else {
                *v
            };
            *p -= self.rate * update;
        }
    }
}

/// How weight decay enters an Adam step.
#[derive(Clone, Copy)]
enum WeightDecay {
    /// Adam's: `λ·θ` added to the gradient, so it passes through the moments.
    L2(f64),
    /// `AdamW`'s: `θ ← (1 − η·λ)·θ`, apart from the moments.
    Decoupled(f64),
}

/// What [`Adam`] and [`AdamW`] share: the moments, the step count and the
/// update.
#[derive(Clone, Debug, PartialEq)]
struct Moments<S> {
    first: S,
    second: S,
    /// The running maximum of the second moment, with `amsgrad`.
    max_second: Option<S>,
    /// Whether `max_second` still holds what it was handed, not yet zeroed.
    max_second_fresh: bool,
    steps: u64,
}

/// The numbers of one Adam step that are the same for every parameter.
/// Like [`SgdStep`]'s, its loop is compiled once, in this crate.
#[doc(hidden)]
pub struct AdamStep<T> {
    /// `λ` of Adam's L2 penalty, and whether it is non-zero.
    l2: T,
    decays: bool,
    /// `1 − η·λ` of [`AdamW`]'s decoupled decay (`1` for Adam).
    shrink: T,
    /// `1 − β₁`, and whether it is below one half (PyTorch's `lerp` branch).
    weight1: T,
    small_weight1: bool,
    beta2: T,
    weight2: T,
    /// `−η / (1 − β₁ᵗ)`.
    step_size: T,
    /// `√(1 − β₂ᵗ)`.
    bias_correction2_sqrt: T,
    epsilon: T,
}

impl<T: Float> AdamStep<T> {
    /// Decays `p` and updates its moments `m` and `v` from the gradient `g`.
    #[inline]
    fn moments(&self, p: &mut T, g: T, m: &mut T, v: &mut T) {
        let g = if self.decays { g + self.l2 * *p } else { g };
        *p *= self.shrink;
        // PyTorch's `lerp(m, g, w)` is `m + w·(g − m)` for `|w| < 0.5` and
        // `g − (g − m)·(1 − w)` otherwise, to round well at either end; and
        // `v·β₂ + (1 − β₂)·g·g`, as PyTorch writes it.
        if self.small_weight1 {
            *m += self.weight1 * (g - *m);
        } else {
            *m = g - (g - *m) * (T::ONE - self.weight1);
        }
        *v = *v * self.beta2 + self.weight2 * g * g;
    }

    /// Moves `p` by the bias-corrected `m / (√v / √(1 − β₂ᵗ) + ε)`.
    #[inline]
    fn update(&self, p: &mut T, m: T, v: T) {
        let denominator = v.sqrt() / self.bias_correction2_sqrt + self.epsilon;
        *p += self.step_size * m / denominator;
    }
    /// The step, on every parameter, with the moments `[m, v]` and, with
    /// `amsgrad`, the running maximum of `v`.
    pub(crate) fn apply(
        &self,
        params: &mut [T],
        grads: &[T],
        [first, second]: [&mut [T]; 2],
        max_second: Option<&mut [T]>,
    ) {
        let moments = params.iter_mut().zip(grads).zip(first).zip(second);
        match max_second {
            None => {
                for (((p, &g), m), v) in moments {
                    self.moments(p, g, m, v);
                    self.update(p, *m, *v);
                }
            }
            Some(max_second) => {
                for ((((p, &g), m), v), max) in moments.zip(max_second) {
                    self.moments(p, g, m, v);
                    // `torch.maximum`, which keeps a NaN.
                    *max = max.max(*v);
                    self.update(p, *m, *max);
                }
            }
        }
    }
}

impl<S> Moments<S> {
    /// One step of `torch.optim.Adam`'s single-tensor implementation,
    /// operation for operation.
    // The step count is far below 2⁵³, where the cast would round.
    #[allow(clippy::cast_precision_loss, clippy::float_cmp)]
    fn step<T: Float>(
        &mut self,
        params: &mut [T],
        grads: &[T],
        learning_rate: f64,
        (beta1, beta2): (f64, f64),
        epsilon: f64,
        weight_decay: WeightDecay,
    ) where
        S: StateStorage<T>,
    {
        assert_eq!(params.len(), grads.len(), "one gradient per parameter");
        let first = self.first.values(params.len());
        let second = self.second.values(params.len());
        if self.steps == 0 {
            // PyTorch starts both moments at zero.
            first.fill(T::ZERO);
            second.fill(T::ZERO);
        }
        let max_second = match &mut self.max_second {
            Some(storage) => {
                let max_second = storage.values(params.len());
                if self.max_second_fresh {
                    max_second.fill(T::ZERO);
                    self.max_second_fresh = false;
                }
                Some(max_second)
            }
            None => None,
        };
        self.steps += 1;
        let step = self.steps as f64;
        let bias_correction1 = 1.0 - libm::pow(beta1, step);
        let bias_correction2 = 1.0 - libm::pow(beta2, step);
        let (l2, shrink) = match weight_decay {
            WeightDecay::L2(decay) => (decay, 1.0),
            WeightDecay::Decoupled(decay) => (0.0, 1.0 - learning_rate * decay),
        };
        let constants = AdamStep {
            l2: T::from_f64(l2),
            decays: l2 != 0.0,
            shrink: T::from_f64(shrink),
            weight1: T::from_f64(1.0 - beta1),
            small_weight1: 1.0 - beta1 < 0.5,
            beta2: T::from_f64(beta2),
            weight2: T::from_f64(1.0 - beta2),
            step_size: T::from_f64(-(learning_rate / bias_correction1)),
            bias_correction2_sqrt: T::from_f64(libm::sqrt(bias_correction2)),
            epsilon: T::from_f64(epsilon),
        };

        T::adam_step(&constants, params, grads, [first, second], max_second);
    }
}

/// Adam, as `torch.optim.Adam`: with moments `m`, `v`,
/// step count `t` and weight decay `λ`, each step computes
///
/// ```text
/// g ← ∂L/∂θ + λ·θ
/// m ← β₁·m + (1 − β₁)·g
/// v ← β₂·v + (1 − β₂)·g²
/// θ ← θ − η/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)
/// ```
///
/// Defaults are PyTorch's: `η = 10⁻³`, `β = (0.9, 0.999)`, `ε = 10⁻⁸`,
/// `λ = 0`. The first step moves every parameter by about `η` against its
/// gradient's sign:
///
/// ```
/// use backprop_runtime::{Adam, Optimizer};
///
/// let mut adam = Adam::new(0.01);
/// let mut params = [1.0_f64, 1.0];
/// adam.step(&mut params, &[3.0, -0.5]);
/// assert!((params[0] - 0.99).abs() < 1e-8 && (params[1] - 1.01).abs() < 1e-8);
/// assert_eq!(adam.steps(), 1);
/// ```
///
/// The moments live in `S`, a [`StateStorage`]. For decay apart from the
/// gradient, use [`AdamW`].
#[derive(Clone, Debug, PartialEq)]
pub struct Adam<S> {
    /// The learning rate `η`; default `10⁻³`.
    pub learning_rate: f64,
    /// The decay rates `(β₁, β₂)` of the moments; default `(0.9, 0.999)`.
    pub betas: (f64, f64),
    /// The `ε` added to the denominator; default `10⁻⁸`.
    pub epsilon: f64,
    /// The L2 penalty `λ` added to the gradient as `λ·θ`; default `0`.
    pub weight_decay: f64,
    moments: Moments<S>,
}

/// `AdamW`, as `torch.optim.AdamW`: Adam whose weight
/// decay shrinks the parameters directly instead of passing through the
/// moments,
///
/// ```text
/// θ ← (1 − η·λ)·θ
/// m ← β₁·m + (1 − β₁)·∂L/∂θ
/// v ← β₂·v + (1 − β₂)·(∂L/∂θ)²
/// θ ← θ − η/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)
/// ```
///
/// Defaults are PyTorch's: `η = 10⁻³`, `β = (0.9, 0.999)`, `ε = 10⁻⁸`,
/// `λ = 10⁻²`.
///
/// ```
/// use backprop_runtime::{AdamW, Optimizer};
///
/// let mut adamw = AdamW::new(0.01).weight_decay(0.5);
/// let mut params = [2.0_f64];
/// adamw.step(&mut params, &[1.0]);
/// // Shrunk by 1 − 0.01·0.5, then moved by about η.
/// assert!((params[0] - (2.0 * 0.995 - 0.01)).abs() < 1e-8);
/// ```
///
/// The moments live in `S`, a [`StateStorage`].
#[derive(Clone, Debug, PartialEq)]
pub struct AdamW<S> {
    /// The learning rate `η`; default `10⁻³`.
    pub learning_rate: f64,
    /// The decay rates `(β₁, β₂)` of the moments; default `(0.9, 0.999)`.
    pub betas: (f64, f64),
    /// The `ε` added to the denominator; default `10⁻⁸`.
    pub epsilon: f64,
    /// The decoupled weight decay `λ`: each step scales `θ` by `1 − η·λ`;
    /// default `10⁻²`.
    pub weight_decay: f64,
    moments: Moments<S>,
}

// The constructors and builder methods of `Adam` and `AdamW` are the same
// apart from the type's name, the default weight decay (0 and 10⁻²) and the
// example of `weight_decay`: a change to one belongs in the other.

#[cfg(feature = "alloc")]
impl<T: Float> Adam<Vec<T>> {
    /// `Adam` with learning rate `learning_rate` and PyTorch's defaults for the
    /// rest; its moments are allocated on the first step.
    ///
    /// # Panics
    ///
    /// If `learning_rate` is negative or NaN.
    #[must_use]
    pub const fn new(learning_rate: f64) -> Self {
        Self::with_state(learning_rate, Vec::new(), Vec::new())
    }
}

/// PyTorch's defaults, learning rate `10⁻³` included.
///
/// ```
/// use backprop_runtime::Adam;
///
/// let adam = Adam::<Vec<f32>>::default();
/// assert_eq!((adam.learning_rate, adam.weight_decay), (1e-3, 0.0));
/// ```
#[cfg(feature = "alloc")]
impl<T: Float> Default for Adam<Vec<T>> {
    fn default() -> Self {
        Self::new(1e-3)
    }
}

impl<S> Adam<S> {
    /// `Adam` that keeps its first and second moments in `first` and `second`,
    /// which must then hold one value per parameter (whatever values: the first
    /// step zeroes them).
    ///
    /// ```
    /// use backprop_runtime::{Adam, Optimizer};
    ///
    /// // No allocator needed: the moments of three parameters in arrays.
    /// let mut adam = Adam::with_state(0.01, [0.0; 3], [0.0; 3]);
    /// let mut params = [1.0_f32; 3];
    /// adam.step(&mut params, &[1.0, -1.0, 0.0]);
    /// assert!(params[0] < 1.0 && params[1] > 1.0);
    /// ```
    ///
    /// # Panics
    ///
    /// If `learning_rate` is negative or NaN; the first step panics
    /// if `first` or `second` does not hold one value per parameter
    /// (see [`StateStorage::values`]).
    #[must_use]
    pub const fn with_state(learning_rate: f64, first: S, second: S) -> Self {
        check_learning_rate(learning_rate);
        Self {
            learning_rate,
            betas: (0.9, 0.999),
            epsilon: 1e-8,
            weight_decay: 0.0,
            moments: Moments {
                first,
                second,
                max_second: None,
                max_second_fresh: false,
                steps: 0,
            },
        }
    }

    /// Sets the decay rates `(β₁, β₂)` of the first and second moments.
    ///
    /// ```
    /// use backprop_runtime::{Adam, Optimizer};
    ///
    /// let mut adam = Adam::new(0.1).betas(0.5, 0.75).weight_decay(0.0);
    /// let mut params = [0.0_f64];
    /// adam.step(&mut params, &[1.0]);
    /// adam.step(&mut params, &[-1.0]);
    /// // m = 0.5·0.5 − 0.5 = −0.25, m̂ = −0.25 / 0.75; v̂ = 1: a step of +η/3.
    /// assert!((params[0] - (-0.1 + 0.1 / 3.0)).abs() < 1e-8);
    /// ```
    ///
    /// # Panics
    ///
    /// Unless both lie in `[0, 1)`.
    #[must_use]
    pub fn betas(self, beta1: f64, beta2: f64) -> Self {
        assert!(
            (0.0..1.0).contains(&beta1) && (0.0..1.0).contains(&beta2),
            "Adam's betas must lie in [0, 1)"
        );
        Self {
            betas: (beta1, beta2),
            ..self
        }
    }

    /// Sets the `ε` added to the denominator, which bounds the step
    /// where gradients are tiny.
    ///
    /// ```
    /// use backprop_runtime::{Adam, Optimizer};
    ///
    /// let mut adam = Adam::new(0.1).epsilon(1e-3).weight_decay(0.0);
    /// let mut params = [0.0_f64];
    /// adam.step(&mut params, &[1e-3]);
    /// // |m̂| = √v̂ = ε: half the step a larger gradient would get.
    /// assert!((params[0] + 0.05).abs() < 1e-9);
    /// ```
    ///
    /// # Panics
    ///
    /// If `epsilon` is negative or NaN.
    #[must_use]
    pub fn epsilon(self, epsilon: f64) -> Self {
        assert!(epsilon >= 0.0, "epsilon must be zero or positive");
        Self { epsilon, ..self }
    }

    /// Sets the weight decay `λ`, an L2 penalty: `λ·θ` is added to the gradient,
    /// so it passes through the moments.
    ///
    /// ```
    /// use backprop_runtime::{Adam, Optimizer};
    ///
    /// let mut adam = Adam::new(0.1).weight_decay(1.0);
    /// let mut params = [2.0_f64];
    /// // The gradient 0 becomes 0 + 1·2, and Adam's first step is about −η·sign(g).
    /// adam.step(&mut params, &[0.0]);
    /// assert!((params[0] - 1.9).abs() < 1e-8);
    /// ```
    ///
    /// # Panics
    ///
    /// If `weight_decay` is negative or NaN.
    #[must_use]
    pub fn weight_decay(self, weight_decay: f64) -> Self {
        assert!(
            weight_decay >= 0.0,
            "the weight decay must be zero or positive"
        );
        Self {
            weight_decay,
            ..self
        }
    }

    /// Turns on `AMSGrad` (PyTorch's `amsgrad=True`): the step divides
    /// by the largest second moment so far, `v̂ ← max(v̂, v)`, in
    /// place of `v`. The maximum lives in `max_second`, which must
    /// hold one value per parameter (whatever values: the next step
    /// zeroes them); `Vec::new()` allocates it on the next step.
    ///
    /// ```
    /// use backprop_runtime::{Adam, Optimizer};
    ///
    /// let mut adam = Adam::new(0.1).betas(0.5, 0.5).weight_decay(0.0).amsgrad(Vec::new());
    /// assert!(adam.uses_amsgrad());
    /// let mut params = [0.0_f64];
    /// adam.step(&mut params, &[2.0]); // v = 2, v̂ = 2
    /// adam.step(&mut params, &[0.0]); // v = 1, v̂ = 2: m̂ = 2/3 over √(2/0.75)
    /// let second = 0.1 * (0.5 / 0.75) / (2.0_f64.sqrt() / 0.75_f64.sqrt());
    /// assert!((params[0] - (-0.1 - second)).abs() < 1e-8);
    /// ```
    ///
    /// # Panics
    ///
    /// The next step panics if `max_second` does not hold one value
    /// per parameter (see [`StateStorage::values`]).
    #[must_use]
    pub fn amsgrad(self, max_second: S) -> Self {
        Self {
            moments: Moments {
                max_second: Some(max_second),
                max_second_fresh: true,
                ..self.moments
            },
            ..self
        }
    }

    /// Whether `AMSGrad` is on ([`amsgrad`](Self::amsgrad)); off by default.
    ///
    /// ```
    /// use backprop_runtime::Adam;
    ///
    /// assert!(!Adam::<Vec<f32>>::default().uses_amsgrad());
    /// ```
    #[must_use]
    pub const fn uses_amsgrad(&self) -> bool {
        self.moments.max_second.is_some()
    }

    /// The number of steps taken so far, `t` (PyTorch's `state["step"]`).
    #[must_use]
    pub const fn steps(&self) -> u64 {
        self.moments.steps
    }
}

#[cfg(feature = "alloc")]
impl<T: Float> AdamW<Vec<T>> {
    /// `AdamW` with learning rate `learning_rate` and PyTorch's defaults for
    /// the rest; its moments are allocated on the first step.
    ///
    /// # Panics
    ///
    /// If `learning_rate` is negative or NaN.
    #[must_use]
    pub const fn new(learning_rate: f64) -> Self {
        Self::with_state(learning_rate, Vec::new(), Vec::new())
    }
}

/// PyTorch's defaults, learning rate `10⁻³` included.
///
/// ```
/// use backprop_runtime::AdamW;
///
/// let adam = AdamW::<Vec<f32>>::default();
/// assert_eq!((adam.learning_rate, adam.weight_decay), (1e-3, 1e-2));
/// ```
#[cfg(feature = "alloc")]
impl<T: Float> Default for AdamW<Vec<T>> {
    fn default() -> Self {
        Self::new(1e-3)
    }
}

impl<S> AdamW<S> {
    /// `AdamW` that keeps its first and second moments in `first` and `second`,
    /// which must then hold one value per parameter (whatever values: the first
    /// step zeroes them).
    ///
    /// ```
    /// use backprop_runtime::{AdamW, Optimizer};
    ///
    /// // No allocator needed: the moments of three parameters in arrays.
    /// let mut adam = AdamW::with_state(0.01, [0.0; 3], [0.0; 3]);
    /// let mut params = [1.0_f32; 3];
    /// adam.step(&mut params, &[1.0, -1.0, 0.0]);
    /// assert!(params[0] < 1.0 && params[1] > 1.0);
    /// ```
    ///
    /// # Panics
    ///
    /// If `learning_rate` is negative or NaN; the first step panics
    /// if `first` or `second` does not hold one value per parameter
    /// (see [`StateStorage::values`]).
    #[must_use]
    pub const fn with_state(learning_rate: f64, first: S, second: S) -> Self {
        check_learning_rate(learning_rate);
        Self {
            learning_rate,
            betas: (0.9, 0.999),
            epsilon: 1e-8,
            weight_decay: 1e-2,
            moments: Moments {
                first,
                second,
                max_second: None,
                max_second_fresh: false,
                steps: 0,
            },
        }
    }

    /// Sets the decay rates `(β₁, β₂)` of the first and second moments.
    ///
    /// ```
    /// use backprop_runtime::{AdamW, Optimizer};
    ///
    /// let mut adam = AdamW::new(0.1).betas(0.5, 0.75).weight_decay(0.0);
    /// let mut params = [0.0_f64];
    /// adam.step(&mut params, &[1.0]);
    /// adam.step(&mut params, &[-1.0]);
    /// // m = 0.5·0.5 − 0.5 = −0.25, m̂ = −0.25 / 0.75; v̂ = 1: a step of +η/3.
    /// assert!((params[0] - (-0.1 + 0.1 / 3.0)).abs() < 1e-8);
    /// ```
    ///
    /// # Panics
    ///
    /// Unless both lie in `[0, 1)`.
    #[must_use]
    pub fn betas(self, beta1: f64, beta2: f64) -> Self {
        assert!(
            (0.0..1.0).contains(&beta1) && (0.0..1.0).contains(&beta2),
            "Adam's betas must lie in [0, 1)"
        );
        Self {
            betas: (beta1, beta2),
            ..self
        }
    }

    /// Sets the `ε` added to the denominator, which bounds the step
    /// where gradients are tiny.
    ///
    /// ```
    /// use backprop_runtime::{AdamW, Optimizer};
    ///
    /// let mut adam = AdamW::new(0.1).epsilon(1e-3).weight_decay(0.0);
    /// let mut params = [0.0_f64];
    /// adam.step(&mut params, &[1e-3]);
    /// // |m̂| = √v̂ = ε: half the step a larger gradient would get.
    /// assert!((params[0] + 0.05).abs() < 1e-9);
    /// ```
    ///
    /// # Panics
    ///
    /// If `epsilon` is negative or NaN.
    #[must_use]
    pub fn epsilon(self, epsilon: f64) -> Self {
        assert!(epsilon >= 0.0, "epsilon must be zero or positive");
        Self { epsilon, ..self }
    }

    /// Sets the decoupled weight decay `λ`: each step first scales the
    /// parameters by `1 − η·λ`, whatever the gradient.
    ///
    /// ```
    /// use backprop_runtime::{AdamW, Optimizer};
    ///
    /// let mut adamw = AdamW::new(0.1).weight_decay(1.0);
    /// let mut params = [2.0_f64];
    /// // A zero gradient leaves only the decay: 2·(1 − 0.1·1).
    /// adamw.step(&mut params, &[0.0]);
    /// assert!((params[0] - 1.8).abs() < 1e-12);
    /// ```
    ///
    /// # Panics
    ///
    /// If `weight_decay` is negative or NaN.
    #[must_use]
    pub fn weight_decay(self, weight_decay: f64) -> Self {
        assert!(
            weight_decay >= 0.0,
            "the weight decay must be zero or positive"
        );
        Self {
            weight_decay,
            ..self
        }
    }

    /// Turns on `AMSGrad` (PyTorch's `amsgrad=True`): the step divides
    /// by the largest second moment so far, `v̂ ← max(v̂, v)`, in
    /// place of `v`. The maximum lives in `max_second`, which must
    /// hold one value per parameter (whatever values: the next step
    /// zeroes them); `Vec::new()` allocates it on the next step.
    ///
    /// ```
    /// use backprop_runtime::{AdamW, Optimizer};
    ///
    /// let mut adam = AdamW::new(0.1).betas(0.5, 0.5).weight_decay(0.0).amsgrad(Vec::new());
    /// assert!(adam.uses_amsgrad());
    /// let mut params = [0.0_f64];
    /// adam.step(&mut params, &[2.0]); // v = 2, v̂ = 2
    /// adam.step(&mut params, &[0.0]); // v = 1, v̂ = 2: m̂ = 2/3 over √(2/0.75)
    /// let second = 0.1 * (0.5 / 0.75) / (2.0_f64.sqrt() / 0.75_f64.sqrt());
    /// assert!((params[0] - (-0.1 - second)).abs() < 1e-8);
    /// ```
    ///
    /// # Panics
    ///
    /// The next step panics if `max_second` does not hold one value
    /// per parameter (see [`StateStorage::values`]).
    #[must_use]
    pub fn amsgrad(self, max_second: S) -> Self {
        Self {
            moments: Moments {
                max_second: Some(max_second),
                max_second_fresh: true,
                ..self.moments
            },
            ..self
        }
    }

    /// Whether `AMSGrad` is on ([`amsgrad`](Self::amsgrad)); off by default.
    ///
    /// ```
    /// use backprop_runtime::AdamW;
    ///
    /// assert!(!AdamW::<Vec<f32>>::default().uses_amsgrad());
    /// ```
    #[must_use]
    pub const fn uses_amsgrad(&self) -> bool {
        self.moments.max_second.is_some()
    }

    /// The number of steps taken so far, `t` (PyTorch's `state["step"]`).
    #[must_use]
    pub const fn steps(&self) -> u64 {
        self.moments.steps
    }
}

impl<T: Float, S: StateStorage<T>> Optimizer<T> for Adam<S> {
    #[inline]
    fn step(&mut self, params: &mut [T], grads: &[T]) {
        self.moments.step(
            params,
            grads,
            self.learning_rate,
            self.betas,
            self.epsilon,
            WeightDecay::L2(self.weight_decay),
        );
    }

    fn learning_rate(&self) -> f64 {
        self.learning_rate
    }

    fn set_learning_rate(&mut self, rate: f64) {
        check_learning_rate(rate);
        self.learning_rate = rate;
    }
}

impl<T: Float, S: StateStorage<T>> Optimizer<T> for AdamW<S> {
    #[inline]
    fn step(&mut self, params: &mut [T], grads: &[T]) {
        self.moments.step(
            params,
            grads,
            self.learning_rate,
            self.betas,
            self.epsilon,
            WeightDecay::Decoupled(self.weight_decay),
        );
    }

    fn learning_rate(&self) -> f64 {
        self.learning_rate
    }

    fn set_learning_rate(&mut self, rate: f64) {
        check_learning_rate(rate);
        self.learning_rate = rate;
    }
}
