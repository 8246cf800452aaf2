//! Learning-rate schedules: the rate for step `t` as a function of `t`, in
//! the closed forms of PyTorch's `torch.optim.lr_scheduler`.
//!
//! A [`Schedule`] is a plain value; nothing about it changes as training
//! goes on, so a run resumes at any step by asking for that step's rate.
//! `learning_rate(t)` is the rate PyTorch's optimizer holds after `t`
//! calls of `scheduler.step()`: the rate of the `(t + 1)`-th epoch (or
//! update, if the scheduler steps after every update). Feed it to the
//! optimizer with [`Optimizer::set_learning_rate`](crate::Optimizer::set_learning_rate):
//!
//! ```
//! use backprop::schedule::{Cosine, Schedule, WarmUp};
//! use backprop::{Adam, Network, Optimizer};
//!
//! backprop::network! {
//!     /// A small regressor.
//!     Net = 2 -> tanh(8) -> linear(1); loss = mse
//! }
//!
//! let schedule = WarmUp { steps: 5, start_factor: 0.1, then: Cosine { base: 1e-2, eta_min: 1e-4, t_max: 45 } };
//! let mut net = Net::seeded(1);
//! let mut adam = Adam::new(schedule.learning_rate(0));
//! let (x, y) = ([[0.0, 1.0], [1.0, 0.0]], [[1.0], [-1.0]]);
//! for epoch in 0..50 {
//!     adam.set_learning_rate(schedule.learning_rate(epoch));
//!     net.train_step(&x, &y, &mut adam);
//! }
//! assert_eq!(adam.learning_rate(), schedule.learning_rate(49));
//! assert!(net.loss(&x, &y) < 0.1);
//! ```
//!
//! PyTorch's schedulers compute each step recursively, from the rate the
//! optimizer held before (`get_lr`); each of these also has a closed form
//! (`_get_closed_form_lr`, what `scheduler.step(epoch)` uses), the same
//! sequence up to rounding, and that is what is computed here, so a rate
//! does not depend on the steps before it. `tests/schedules.rs` replays
//! both sequences recorded from PyTorch and matches each to 10⁻¹²
//! relative (the recursive steps drift from the closed form by at most
//! 2·10⁻¹⁴ over 50 steps of a warm-up and a cosine).

use core::f64::consts::PI;

/// A learning rate for every step, counted from 0.
///
/// ```
/// use backprop::schedule::{Schedule, Step};
///
/// /// The reciprocal decay 1/(1 + t/100), which PyTorch writes with `LambdaLR`.
/// struct Reciprocal(f64);
///
/// impl Schedule for Reciprocal {
///     fn learning_rate(&self, step: usize) -> f64 {
///         self.0 / (1.0 + step as f64 / 100.0)
///     }
/// }
///
/// assert_eq!(Reciprocal(0.1).learning_rate(100), 0.05);
/// assert_eq!(Step { base: 0.1, step_size: 10, gamma: 0.5 }.learning_rate(10), 0.05);
/// ```
pub trait Schedule {
    /// The learning rate after `step` steps of the schedule.
    fn learning_rate(&self, step: usize) -> f64;
}

impl<S: Schedule + ?Sized> Schedule for &S {
    fn learning_rate(&self, step: usize) -> f64 {
        (**self).learning_rate(step)
    }
}

/// A schedule chosen at run time, such as one read from a configuration:
///
/// ```
/// use backprop::schedule::{Cosine, Linear, Schedule};
///
/// let anneal = true;
/// let schedule: Box<dyn Schedule> = if anneal {
///     Box::new(Linear { base: 2.5e-4, start_factor: 1.0, end_factor: 0.0, total_iters: 100 })
/// } else {
///     Box::new(Cosine { base: 2.5e-4, eta_min: 0.0, t_max: 100 })
/// };
/// assert_eq!(schedule.learning_rate(100), 0.0);
/// ```
#[cfg(feature = "alloc")]
impl<S: Schedule + ?Sized> Schedule for alloc::boxed::Box<S> {
    fn learning_rate(&self, step: usize) -> f64 {
        (**self).learning_rate(step)
    }
}

/// `StepLR`: the base rate decayed by `gamma` every `step_size` steps,
/// `base·γ^⌊t / step_size⌋`.
///
/// ```
/// use backprop::schedule::{Schedule, Step};
///
/// let schedule = Step { base: 0.1, step_size: 30, gamma: 0.1 };
/// assert_eq!(schedule.learning_rate(29), 0.1);
/// assert!((schedule.learning_rate(30) - 0.01).abs() < 1e-17);
/// assert!((schedule.learning_rate(60) - 0.001).abs() < 1e-18);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Step {
    /// The rate of the first `step_size` steps (PyTorch's `lr`).
    pub base: f64,
    /// How many steps each rate lasts; at least 1.
    pub step_size: usize,
    /// The factor applied every `step_size` steps; PyTorch's default is 0.1.
    pub gamma: f64,
}

impl Schedule for Step {
    /// # Panics
    ///
    /// If `step_size` is 0.
    fn learning_rate(&self, step: usize) -> f64 {
        assert!(self.step_size > 0, "Step's step_size must be at least 1");
        // `base_lr * gamma ** (last_epoch // step_size)`.
        self.base * libm::pow(self.gamma, (step / self.step_size) as f64)
    }
}

/// `LinearLR`: the base rate times a factor that moves linearly from
/// `start_factor` to `end_factor` over `total_iters` steps, then stays at
/// `end_factor`: `base·(s + (e − s)·min(t, T) / T)`.
///
/// As a warm-up, `Linear { base, start_factor: 0.1, end_factor: 1.0, total_iters }`
/// (but see [`WarmUp`] to continue with another schedule); as the linear
/// annealing to zero that PPO implementations use,
/// `start_factor: 1.0, end_factor: 0.0` with `total_iters` the number of
/// updates.
///
/// ```
/// use backprop::schedule::{Linear, Schedule};
///
/// let anneal = Linear { base: 3e-4, start_factor: 1.0, end_factor: 0.0, total_iters: 100 };
/// assert_eq!(anneal.learning_rate(0), 3e-4);
/// assert!((anneal.learning_rate(50) - 1.5e-4).abs() < 1e-18);
/// assert_eq!(anneal.learning_rate(100), 0.0);
/// assert_eq!(anneal.learning_rate(1000), 0.0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Linear {
    /// The rate the factors multiply (PyTorch's `lr`).
    pub base: f64,
    /// The factor at step 0; PyTorch's default is 1/3.
    pub start_factor: f64,
    /// The factor from step `total_iters` on; PyTorch's default is 1.
    /// (PyTorch requires `0 < start_factor ≤ 1` and `0 ≤ end_factor ≤ 1`,
    /// which its recursive form needs; the closed form here takes any
    /// factors, a warm-up from 0 included.)
    pub end_factor: f64,
    /// The number of steps from one factor to the other; at least 1
    /// (PyTorch's default is 5).
    pub total_iters: usize,
}

impl Schedule for Linear {
    /// # Panics
    ///
    /// If `total_iters` is 0.
    fn learning_rate(&self, step: usize) -> f64 {
        assert!(
            self.total_iters > 0,
            "Linear's total_iters must be at least 1"
        );
        let progress = step.min(self.total_iters) as f64;
        // In PyTorch's order: `start + (end - start) * min(T, t) / T`.
        self.base
            * (self.start_factor
                + (self.end_factor - self.start_factor) * progress / self.total_iters as f64)
    }
}

/// `CosineAnnealingLR`: from the base rate down to `eta_min` along half a
/// cosine over `t_max` steps,
/// `η_min + (base − η_min)·(1 + cos(π·t / T_max)) / 2`.
///
/// Past `t_max` this is PyTorch's formula still: the cosine goes on, so the
/// rate climbs back to `base` at `2·t_max` and repeats with period
/// `2·t_max` (PyTorch's recursive steps follow the same curve). To hold
/// the rate at `eta_min` after `t_max` steps, stop stepping, or ask for
/// `learning_rate(step.min(t_max))`.
///
/// ```
/// use backprop::schedule::{Cosine, Schedule};
///
/// let cosine = Cosine { base: 0.1, eta_min: 0.001, t_max: 100 };
/// assert_eq!(cosine.learning_rate(0), 0.1);
/// assert!((cosine.learning_rate(50) - 0.0505).abs() < 1e-15);
/// assert!((cosine.learning_rate(100) - 0.001).abs() < 1e-15);
/// assert!((cosine.learning_rate(200) - 0.1).abs() < 1e-15);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cosine {
    /// The rate at step 0 (PyTorch's `lr`).
    pub base: f64,
    /// The lowest rate, reached at step `t_max`; PyTorch's default is 0.
    pub eta_min: f64,
    /// The number of steps from `base` down to `eta_min`; at least 1.
    pub t_max: usize,
}

impl Schedule for Cosine {
    /// # Panics
    ///
    /// If `t_max` is 0.
    fn learning_rate(&self, step: usize) -> f64 {
        assert!(self.t_max > 0, "Cosine's t_max must be at least 1");
        // In PyTorch's order: `math.cos(math.pi * last_epoch / T_max)`.
        let cosine = libm::cos(PI * step as f64 / self.t_max as f64);
        self.eta_min + (self.base - self.eta_min) * (1.0 + cosine) / 2.0
    }
}

/// A linear warm-up, then another schedule counted from the end of the
/// warm-up: PyTorch's
/// `SequentialLR([LinearLR(start_factor, 1.0, total_iters=steps), then], milestones=[steps])`.
///
/// For `t < steps` the rate is `r₀·(s + (1 − s)·t / steps)`, where
/// `r₀ = then.learning_rate(0)` is where the schedule after the warm-up
/// starts; from `t = steps` on it is `then.learning_rate(t − steps)`.
/// PyTorch ramps up to the optimizer's initial rate instead, which is
/// `r₀` for [`Step`], [`Cosine`] and [`Linear`] with `start_factor = 1`;
/// only for a `Linear` that starts below 1 does PyTorch's rate drop at the
/// milestone, from the base rate to `start_factor` times it, where this one
/// stays continuous.
///
/// ```
/// use backprop::schedule::{Cosine, Schedule, WarmUp};
///
/// let schedule = WarmUp { steps: 10, start_factor: 0.01, then: Cosine { base: 3e-4, eta_min: 0.0, t_max: 90 } };
/// assert!((schedule.learning_rate(0) - 3e-6).abs() < 1e-18);
/// assert!(schedule.learning_rate(5) < schedule.learning_rate(9));
/// assert_eq!(schedule.learning_rate(10), 3e-4);
/// assert!(schedule.learning_rate(100).abs() < 1e-18);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WarmUp<S> {
    /// The length of the warm-up, `steps` in PyTorch's `milestones`; 0 for
    /// no warm-up at all.
    pub steps: usize,
    /// The factor of the first step (PyTorch's `LinearLR(start_factor=…)`,
    /// whose default is 1/3, and which PyTorch requires to lie in `(0, 1]`;
    /// here 0 is fine too).
    pub start_factor: f64,
    /// The schedule after the warm-up, which sees its step 0 at step `steps`.
    pub then: S,
}

impl<S: Schedule> Schedule for WarmUp<S> {
    fn learning_rate(&self, step: usize) -> f64 {
        if step >= self.steps {
            return self.then.learning_rate(step - self.steps);
        }
        let warm = Linear {
            base: self.then.learning_rate(0),
            start_factor: self.start_factor,
            end_factor: 1.0,
            total_iters: self.steps,
        };
        warm.learning_rate(step)
    }
}
