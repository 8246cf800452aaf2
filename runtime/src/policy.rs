//! Policy distributions for reinforcement learning: what turns a network's
//! output row into actions, their log-probabilities and the gradients a
//! policy update backpropagates.
//!
//! - [`Categorical`]: a distribution over `N` discrete actions from a row
//!   of logits (a softmax policy), as `torch.distributions.Categorical`;
//! - [`SquashedGaussian`]: a diagonal Gaussian over `N` pre-tanh values,
//!   squashed into actions in `(−1, 1)` by `tanh`, with the change of
//!   variables Soft Actor-Critic uses.
//!
//! Both are values of fixed size, computed once from the row, and nothing
//! here allocates, so they work without `std`. Sampling takes any
//! [`rand_core::Rng`] and draws as [`init`](crate::init) does (53 bits of
//! one `u64` per uniform, Box–Muller for normals, in `f64` with [`libm`]),
//! so a seed gives the same actions on every platform.
//!
//! The gradients are those of `log π` (and of the entropy, or of the
//! action), with respect to the row. A loss of your own multiplies them by
//! its own factor (the advantage, a ratio, a temperature) and hands the
//! result to [`Trace::backward_into`](crate::Trace::backward_into) as
//! `∂L/∂Ŷ`. A REINFORCE step minimises `L = −A·log π(a)`, so its `∂L/∂logits`
//! is `−A·(onehot(a) − p)`: note the sign.
//!
//! ```
//! use backprop::{Network, Optimizer, Sgd};
//! use backprop_runtime::init::seeded_rng;
//! use backprop_runtime::policy::Categorical;
//!
//! backprop::network! {
//!     /// A policy over three actions, trained from its loss below.
//!     Policy = 4 -> tanh(16) -> linear(3); loss = none
//! }
//!
//! let mut policy = Policy::seeded(1);
//! let mut rng = seeded_rng(2);
//! let states = [[0.1, -0.2, 0.3, 0.0], [0.5, 0.5, -0.5, 0.1]];
//! let advantages = [1.0, -0.5];
//!
//! let trace = policy.trace(&states);
//! let mut actions = [0; 2];
//! let mut grad_output = [[0.0; 3]; 2];
//! for (r, logits) in trace.output().iter().enumerate() {
//!     let pi = Categorical::new(logits);
//!     actions[r] = pi.sample(&mut rng);
//!     // L = −(1/B) Σ_r A_r·log π(a_r | s_r), so ∂L/∂logits_r = −A_r·(onehot(a_r) − p_r) / B.
//!     let scale = -advantages[r] / states.len() as f32;
//!     grad_output[r] = pi.log_prob_gradient(actions[r]).map(|g| scale * g);
//! }
//! let mut grad = Policy::zeros();
//! trace.backward_into(&grad_output, &mut grad, None);
//!
//! let before = Categorical::new(&policy.forward(&states)[0]).log_prob(actions[0]);
//! Sgd::new(0.1).step(policy.params_mut(), grad.params());
//! let after = Categorical::new(&policy.forward(&states)[0]).log_prob(actions[0]);
//! assert!(after > before, "a positive advantage makes its action likelier");
//! ```

use core::ops::{Add, Mul, Sub};

use rand_core::Rng;

use crate::Float;
use crate::init::{draw_normal, unit_interval};

/// `½·ln(2π)`, the constant of the normal log-density.
const HALF_LN_TAU: f64 = 0.918_938_533_204_672_8;

/// A categorical distribution over the actions `0..N`, from a row of
/// logits: `π(a) = softmax(logits)ₐ`, as `torch.distributions.Categorical(logits=…)`.
///
/// [`new`](Categorical::new) computes the log-probabilities once, stably:
/// `log π(a) = zₐ − m − ln Σⱼ e^{zⱼ − m}` with `m` the largest logit, so
/// logits of ±50, or ±10⁴, neither overflow nor lose the small
/// probabilities' logarithms. The exponentials go through the type's `exp`
/// row function, as [`softmax`](crate::activation::softmax) does.
///
/// A logit of `−∞` masks its action: probability 0, never sampled, no
/// share of the entropy. At least one logit must be finite, and none `+∞`
/// or NaN; otherwise every value is NaN (and [`sample`](Self::sample) and
/// [`greedy`](Self::greedy) return action 0).
///
/// ```
/// use backprop_runtime::policy::Categorical;
///
/// let pi = Categorical::new(&[1.0_f64, 1.0, f64::NEG_INFINITY]);
/// assert_eq!(pi.probs(), [0.5, 0.5, 0.0]);
/// assert!((pi.entropy() - 2.0_f64.ln()).abs() < 1e-15);
/// assert_eq!(pi.greedy(), 0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Categorical<T: Float, const N: usize> {
    log_probs: [T; N],
    probs: [T; N],
}

impl<T: Float, const N: usize> Categorical<T, N> {
    /// The distribution `softmax(logits)`.
    ///
    /// A categorical over no actions does not compile.
    ///
    /// ```
    /// use backprop_runtime::policy::Categorical;
    ///
    /// // A softmax that does not shift by the maximum overflows at e^{1000}.
    /// let pi = Categorical::new(&[1000.0_f32, -1000.0]);
    /// assert_eq!(pi.log_probs(), &[0.0, -2000.0]);
    /// ```
    #[must_use]
    pub fn new(logits: &[T; N]) -> Self {
        const {
            assert!(
                N > 0,
                "a categorical distribution needs at least one action"
            );
        }
        let max = logits.iter().copied().fold(logits[0], T::max);
        let shifted = logits.map(|z| z - max);
        let mut probs = shifted;
        T::exp_nonpositive_row_outlined(&mut probs);
        let sum: T = probs.iter().copied().sum();
        let log_sum = sum.ln();
        for p in &mut probs {
            *p /= sum;
        }
        Self {
            log_probs: shifted.map(|s| s - log_sum),
            probs,
        }
    }

    /// `log π(a)` of every action.
    ///
    /// ```
    /// use backprop_runtime::policy::Categorical;
    ///
    /// let pi = Categorical::new(&[0.0_f64; 4]);
    /// assert!(pi.log_probs().iter().all(|&l| (l + 4.0_f64.ln()).abs() < 1e-15));
    /// ```
    #[must_use]
    pub fn log_probs(&self) -> &[T; N] {
        &self.log_probs
    }

    /// `π(a)` of every action, `softmax(logits)`; they sum to 1 (to
    /// rounding).
    ///
    /// ```
    /// use backprop_runtime::policy::Categorical;
    ///
    /// let p = Categorical::new(&[0.0_f64, 2.0_f64.ln()]).probs();
    /// assert!((p[0] - 1.0 / 3.0).abs() < 1e-15 && (p[1] - 2.0 / 3.0).abs() < 1e-15);
    /// ```
    #[must_use]
    pub fn probs(&self) -> [T; N] {
        self.probs
    }

    /// Draws an action by inverting the distribution function with one
    /// uniform draw: `u ∈ [0, 1)` from the top 53 bits of one
    /// `rng.next_u64()` (as [`init`](crate::init) draws), then the first
    /// action `a` with `u·Σⱼpⱼ < p₀ + … + pₐ`, summed in `f64`. Scaling by
    /// the sum keeps rounding from picking past the last likely action, and
    /// an action of probability 0 is never drawn.
    ///
    /// ```
    /// use backprop_runtime::init::seeded_rng;
    /// use backprop_runtime::policy::Categorical;
    ///
    /// let pi = Categorical::new(&[0.0_f32, 1.0, f32::NEG_INFINITY]);
    /// let mut rng = seeded_rng(4);
    /// let draws: Vec<usize> = (0..1000).map(|_| pi.sample(&mut rng)).collect();
    /// assert!(draws.iter().all(|&a| a < 2));
    /// // The same seed, the same actions.
    /// let mut again = seeded_rng(4);
    /// assert!(draws.iter().all(|&a| a == pi.sample(&mut again)));
    /// ```
    pub fn sample<R: Rng + ?Sized>(&self, mut rng: &mut R) -> usize {
        let total: f64 = self.probs.iter().map(|p| p.to_f64()).sum();
        let threshold = unit_interval(&mut rng) * total;
        let mut cumulative = 0.0;
        let mut last_likely = 0;
        for (a, p) in self.probs.iter().enumerate() {
            if *p > T::ZERO {
                cumulative += p.to_f64();
                if threshold < cumulative {
                    return a;
                }
                last_likely = a;
            }
        }
        // Only when `u·Σp` rounds up to `Σp`.
        last_likely
    }

    /// The most likely action, the first of equally likely ones: the
    /// greedy action an agent evaluates with.
    ///
    /// ```
    /// use backprop_runtime::policy::Categorical;
    ///
    /// assert_eq!(Categorical::new(&[0.5_f32, 2.0, 2.0, -1.0]).greedy(), 1);
    /// ```
    #[must_use]
    pub fn greedy(&self) -> usize {
        let mut best = 0;
        for (a, &l) in self.log_probs.iter().enumerate() {
            if l > self.log_probs[best] {
                best = a;
            }
        }
        best
    }

    /// `log π(action)`.
    ///
    /// # Panics
    ///
    /// If `action` is not below `N`, as indexing the logits would.
    ///
    /// ```
    /// use backprop_runtime::policy::Categorical;
    ///
    /// // log π(1) = −100 − ln(1 + e^{−100}), which is −100 in f64.
    /// let pi = Categorical::new(&[50.0_f64, -50.0]);
    /// assert!((pi.log_prob(1) + 100.0).abs() < 1e-12);
    /// ```
    #[must_use]
    #[track_caller]
    pub fn log_prob(&self, action: usize) -> T {
        check_action(action, N);
        self.log_probs[action]
    }

    /// The entropy `H = −Σₐ π(a)·log π(a)`, in nats; actions of probability
    /// 0 add nothing.
    ///
    /// ```
    /// use backprop_runtime::policy::Categorical;
    ///
    /// let uniform = Categorical::new(&[3.0_f64; 8]);
    /// assert!((uniform.entropy() - 8.0_f64.ln()).abs() < 1e-14);
    /// assert_eq!(Categorical::new(&[0.0_f64, -1e4]).entropy(), 0.0);
    /// ```
    #[must_use]
    pub fn entropy(&self) -> T {
        -self
            .probs
            .iter()
            .zip(&self.log_probs)
            .map(|(&p, &l)| if p > T::ZERO { p * l } else { T::ZERO })
            .sum::<T>()
    }

    /// `∂ log π(action) / ∂logits = onehot(action) − p`: the row to scale
    /// by an advantage (with a minus sign, for a loss to minimise) and
    /// backpropagate.
    ///
    /// # Panics
    ///
    /// If `action` is not below `N`.
    ///
    /// ```
    /// use backprop_runtime::policy::Categorical;
    ///
    /// let pi = Categorical::new(&[0.0_f64, 0.0]);
    /// assert_eq!(pi.log_prob_gradient(1), [-0.5, 0.5]);
    ///
    /// // PPO's clipped objective, for one step with ratio r = π(a)/π_old(a):
    /// // L = −min(r·A, clip(r, 1 − ε, 1 + ε)·A), whose gradient is
    /// // −A·r·∂log π(a) where the unclipped term is the smaller, else 0.
    /// let (log_prob_old, advantage, clip) = (-0.8_f64, 2.0, 0.2);
    /// let ratio = (pi.log_prob(1) - log_prob_old).exp();
    /// let clipped = (advantage > 0.0 && ratio > 1.0 + clip) || (advantage < 0.0 && ratio < 1.0 - clip);
    /// let grad_logits = if clipped {
    ///     [0.0; 2]
    /// } else {
    ///     pi.log_prob_gradient(1).map(|g| -advantage * ratio * g)
    /// };
    /// assert!(grad_logits[1] < 0.0, "descending raises the action's logit");
    /// ```
    #[must_use]
    #[track_caller]
    pub fn log_prob_gradient(&self, action: usize) -> [T; N] {
        check_action(action, N);
        let mut gradient = self.probs.map(|p| -p);
        gradient[action] += T::ONE;
        gradient
    }

    /// `∂H / ∂logits = −p ⊙ (log p + H)`: the row of an entropy bonus
    /// (`L = … − β·H`, so add `−β` times this row).
    ///
    /// ```
    /// use backprop_runtime::policy::Categorical;
    ///
    /// // The uniform distribution has the largest entropy: no gradient.
    /// let gradient = Categorical::new(&[0.25_f64; 3]).entropy_gradient();
    /// assert!(gradient.iter().all(|g| g.abs() < 1e-16));
    /// ```
    #[must_use]
    pub fn entropy_gradient(&self) -> [T; N] {
        let entropy = self.entropy();
        let mut gradient = [T::ZERO; N];
        for ((g, &p), &l) in gradient.iter_mut().zip(&self.probs).zip(&self.log_probs) {
            if p > T::ZERO {
                *g = -p * (l + entropy);
            }
        }
        gradient
    }
}

/// Panics unless `action < n`, with the message slice indexing would give
/// in words of actions: out of line, so that each caller's check is one
/// comparison.
#[track_caller]
fn check_action(action: usize, n: usize) {
    #[cold]
    #[inline(never)]
    #[track_caller]
    fn out_of_range(action: usize, n: usize) -> ! {
        panic!("action {action} is out of range for a distribution over {n} actions")
    }
    if action >= n {
        out_of_range(action, n);
    }
}

/// A diagonal Gaussian over pre-tanh values `u` with means `μ` and
/// standard deviations `σ = e^{log σ}`, squashed into actions
/// `a = tanh(u)` in `(−1, 1)ᴺ`: the policy of Soft Actor-Critic.
///
/// The log-density of an action is the Gaussian's minus the logarithm of
/// `tanh`'s derivative (the change of variables),
///
/// ```text
/// log π(a) = Σⱼ [ log 𝒩(uⱼ; μⱼ, σⱼ) − log(1 − tanh²(uⱼ)) ],
/// log(1 − tanh²(u)) = 2·(ln 2 − u − softplus(−2u)),
/// ```
///
/// the second line the stable form (SAC's, and `TanhTransform`'s in
/// PyTorch), exact where `1 − tanh²(u)` rounds to 0. Since `a` loses
/// precision as `|u|` grows, everything is computed from `u`: keep the
/// [`Sample`]'s `pre_tanh`, not only its `action`.
///
/// # Gradients, and which path they follow
///
/// A policy update needs `∂ log π / ∂(μ, log σ)` along one of two paths:
///
/// - **action held fixed** ([`log_prob_gradient`](Self::log_prob_gradient)):
///   `u` is a constant, as in a likelihood-ratio (REINFORCE, PPO) update of
///   actions sampled before;
/// - **reparameterised** ([`reparameterized_log_prob_gradient`](Self::reparameterized_log_prob_gradient)):
///   `u = μ + σ·ε` with the noise `ε` fixed, as in SAC's actor loss
///   `α·log π(ã) − Q(s, ã)`; its `Q` term goes back through the action with
///   [`action_gradient`](Self::action_gradient).
///
/// Each returns a [`GaussianGradient`] with the `μ` and `log σ` halves.
///
/// # Bounds on log σ
///
/// [`new`](Self::new) takes `log σ` as the network gives it: the bounds
/// are the algorithm's choice (`[−20, 2]` in many SAC implementations,
/// `[−5, 2]` in others, or a rescaled `tanh`), so they are not imposed
/// here. [`clamped`](Self::clamped) clamps as `torch.clamp` does, with no
/// gradient through an entry on or outside the bounds.
///
/// ```
/// use backprop_runtime::init::seeded_rng;
/// use backprop_runtime::policy::SquashedGaussian;
///
/// let pi = SquashedGaussian::new(&[0.0_f64, 2.0], &[-1.0, 0.0]);
/// let sample = pi.sample(&mut seeded_rng(3));
/// assert!(sample.action.iter().all(|a| a.abs() < 1.0));
/// assert!(pi.log_prob(&sample.pre_tanh).is_finite());
/// assert_eq!(pi.greedy(), [0.0, 2.0_f64.tanh()]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SquashedGaussian<T: Float, const N: usize> {
    mean: [T; N],
    log_std: [T; N],
    std: [T; N],
    /// Where `log σ` was clamped, so that no gradient reaches it.
    clamped: [bool; N],
}

/// A draw from a [`SquashedGaussian`]: the standard normal noise `ε`, the
/// pre-tanh value `u = μ + σ·ε` and the action `a = tanh(u)`.
///
/// ```
/// use backprop_runtime::policy::SquashedGaussian;
///
/// let sample = SquashedGaussian::new(&[1.0_f64], &[0.0]).reparameterize(&[0.5]);
/// assert_eq!(sample.pre_tanh, [1.5]);
/// assert_eq!(sample.action, [1.5_f64.tanh()]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample<T: Float, const N: usize> {
    /// `ε`, standard normal: what the reparameterised path holds fixed.
    pub noise: [T; N],
    /// `u = μ + σ·ε`, before the squash: what the fixed-action path holds
    /// fixed.
    pub pre_tanh: [T; N],
    /// `a = tanh(u)`, the action to take.
    pub action: [T; N],
}

/// A gradient with respect to a [`SquashedGaussian`]'s parameters: `∂/∂μ`
/// and `∂/∂log σ`. Scale it with `*`, combine with `+` and `−`, and
/// write it into the network's output row with [`write_row`](Self::write_row).
///
/// ```
/// use backprop_runtime::policy::GaussianGradient;
///
/// let g = GaussianGradient { mean: [1.0_f64], log_std: [2.0] };
/// let h = g * 3.0 - g;
/// let mut row = [0.0; 2];
/// h.write_row(&mut row);
/// assert_eq!(row, [2.0, 4.0]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GaussianGradient<T: Float, const N: usize> {
    /// `∂/∂μⱼ`.
    pub mean: [T; N],
    /// `∂/∂log σⱼ`.
    pub log_std: [T; N],
}

// Entry j reads μⱼ, σⱼ, uⱼ, εⱼ, …: an index says so more plainly than a
// zip of four.
#[allow(clippy::needless_range_loop)]
impl<T: Float, const N: usize> SquashedGaussian<T, N> {
    /// The distribution with means `mean` and log standard deviations
    /// `log_std`, taken as they are.
    ///
    /// ```
    /// use backprop_runtime::policy::SquashedGaussian;
    ///
    /// let pi = SquashedGaussian::new(&[0.5_f32, -0.5], &[0.0, 2.0_f32.ln()]);
    /// assert_eq!(pi.std(), &[1.0, 2.0]);
    /// ```
    #[must_use]
    pub fn new(mean: &[T; N], log_std: &[T; N]) -> Self {
        Self {
            mean: *mean,
            log_std: *log_std,
            std: log_std.map(T::exp),
            clamped: [false; N],
        }
    }

    /// The distribution with `log σ` clamped to `[min, max]`, as
    /// `torch.clamp(log_std, min, max)`, gradients included: an entry on or
    /// outside the bounds gets none (every `log_std` gradient of it is 0),
    /// only one strictly inside does. SAC implementations often use
    /// `[−20, 2]`.
    ///
    /// # Panics
    ///
    /// If `min > max` (or either is NaN).
    ///
    /// ```
    /// use backprop_runtime::policy::SquashedGaussian;
    ///
    /// let pi = SquashedGaussian::clamped(&[0.0_f64; 3], &[-30.0, 1.0, 2.0], -20.0, 2.0);
    /// assert_eq!(pi.log_std(), &[-20.0, 1.0, 2.0]);
    /// let gradient = pi.log_prob_gradient(&[0.5; 3]);
    /// assert_eq!((gradient.log_std[0], gradient.log_std[2]), (0.0, 0.0));
    /// assert!(gradient.log_std[1] != 0.0);
    /// ```
    #[must_use]
    #[track_caller]
    pub fn clamped(mean: &[T; N], log_std: &[T; N], min: T, max: T) -> Self {
        assert!(
            min <= max,
            "the bounds of log σ must be ordered: min {min} is not at most max {max}"
        );
        let mut clamped = [false; N];
        let mut inside = *log_std;
        for (value, clamped) in inside.iter_mut().zip(&mut clamped) {
            // `<=`: PyTorch's clamp passes no gradient on a bound either.
            if *value <= min {
                (*value, *clamped) = (min, true);
            } else if *value >= max {
                (*value, *clamped) = (max, true);
            }
        }
        Self {
            clamped,
            ..Self::new(mean, &inside)
        }
    }

    /// The distribution whose means are the first `N` entries of a network's
    /// output row and whose log standard deviations are the next `N`: the
    /// layout [`GaussianGradient::write_row`] writes back.
    ///
    /// # Panics
    ///
    /// If `row` does not hold exactly `2·N` values.
    ///
    /// ```
    /// use backprop_runtime::policy::SquashedGaussian;
    ///
    /// let pi = SquashedGaussian::<f64, 2>::from_row(&[0.1, 0.2, -1.0, -2.0]);
    /// assert_eq!((pi.mean(), pi.log_std()), (&[0.1, 0.2], &[-1.0, -2.0]));
    /// ```
    #[must_use]
    #[track_caller]
    pub fn from_row(row: &[T]) -> Self {
        let (mean, log_std) = split_row(row);
        Self::new(mean, log_std)
    }

    /// The means `μ`.
    ///
    /// ```
    /// use backprop_runtime::policy::SquashedGaussian;
    ///
    /// assert_eq!(SquashedGaussian::new(&[0.3_f32], &[0.0]).mean(), &[0.3]);
    /// ```
    #[must_use]
    pub fn mean(&self) -> &[T; N] {
        &self.mean
    }

    /// The log standard deviations `log σ` (after clamping, for
    /// [`clamped`](Self::clamped)).
    ///
    /// ```
    /// use backprop_runtime::policy::SquashedGaussian;
    ///
    /// assert_eq!(SquashedGaussian::new(&[0.0_f32], &[-1.5]).log_std(), &[-1.5]);
    /// ```
    #[must_use]
    pub fn log_std(&self) -> &[T; N] {
        &self.log_std
    }

    /// The standard deviations `σ = e^{log σ}`.
    ///
    /// ```
    /// use backprop_runtime::policy::SquashedGaussian;
    ///
    /// assert_eq!(SquashedGaussian::new(&[0.0_f64], &[0.0]).std(), &[1.0]);
    /// ```
    #[must_use]
    pub fn std(&self) -> &[T; N] {
        &self.std
    }

    /// The deterministic action `tanh(μ)`, which SAC evaluates with (the
    /// squashed median; not in general the mode of `a`).
    ///
    /// ```
    /// use backprop_runtime::policy::SquashedGaussian;
    ///
    /// assert_eq!(SquashedGaussian::new(&[0.0_f64, 100.0], &[0.0; 2]).greedy(), [0.0, 1.0]);
    /// ```
    #[must_use]
    pub fn greedy(&self) -> [T; N] {
        self.mean.map(T::tanh)
    }

    /// Draws `ε` from the standard normal and returns
    /// [`reparameterize`](Self::reparameterize)`(ε)`. The normals come as
    /// [`init`](crate::init)'s do: Box–Muller on pairs of uniform draws
    /// (each from the top 53 bits of one `rng.next_u64()`), `r·cos θ` then
    /// `r·sin θ`, an odd last one the cosine alone, in `f64` with [`libm`]:
    /// `2·⌈N/2⌉` draws of the generator per sample.
    ///
    /// ```
    /// use backprop_runtime::init::seeded_rng;
    /// use backprop_runtime::policy::SquashedGaussian;
    ///
    /// let pi = SquashedGaussian::new(&[0.0_f32; 3], &[-1.0; 3]);
    /// assert_eq!(pi.sample(&mut seeded_rng(8)), pi.sample(&mut seeded_rng(8)));
    /// ```
    pub fn sample<R: Rng + ?Sized>(&self, mut rng: &mut R) -> Sample<T, N> {
        let mut noise = [T::ZERO; N];
        let mut slots = noise.iter_mut();
        draw_normal(&mut rng, 1.0, N, &mut |value| {
            if let Some(slot) = slots.next() {
                *slot = T::from_f64(value);
            }
        });
        self.reparameterize(&noise)
    }

    /// The sample of noise `ε`: `u = μ + σ·ε`, `a = tanh(u)`. For noise of
    /// your own, or to replay a draw.
    ///
    /// ```
    /// use backprop_runtime::policy::SquashedGaussian;
    ///
    /// let pi = SquashedGaussian::new(&[0.5_f64], &[2.0_f64.ln()]);
    /// assert_eq!(pi.reparameterize(&[-1.0]).pre_tanh, [-1.5]);
    /// ```
    #[must_use]
    pub fn reparameterize(&self, noise: &[T; N]) -> Sample<T, N> {
        let mut pre_tanh = [T::ZERO; N];
        for j in 0..N {
            pre_tanh[j] = self.mean[j] + self.std[j] * noise[j];
        }
        Sample {
            noise: *noise,
            pre_tanh,
            action: pre_tanh.map(T::tanh),
        }
    }

    /// `log π(a)` of the action `a = tanh(u)`, given by its pre-tanh value
    /// `u` (a [`Sample`]'s `pre_tanh`): the density of `a` in `(−1, 1)ᴺ`,
    /// with the change of variables above.
    ///
    /// ```
    /// use backprop_runtime::policy::SquashedGaussian;
    ///
    /// // One dimension at u = μ = 0, σ = 1: log 𝒩(0; 0, 1) − log 1.
    /// let pi = SquashedGaussian::new(&[0.0_f64], &[0.0]);
    /// let expected = -0.5 * (2.0 * std::f64::consts::PI).ln();
    /// assert!((pi.log_prob(&[0.0]) - expected).abs() < 1e-15);
    /// // Far out, where 1 − tanh²(u) rounds to 0, still finite.
    /// assert!(pi.log_prob(&[30.0]).is_finite());
    /// ```
    #[must_use]
    pub fn log_prob(&self, pre_tanh: &[T; N]) -> T {
        let half = T::from_f64(0.5);
        let constant = T::from_f64(HALF_LN_TAU);
        let mut total = T::ZERO;
        for j in 0..N {
            let z = (pre_tanh[j] - self.mean[j]) / self.std[j];
            total += -half * z * z - self.log_std[j] - constant - log_tanh_derivative(pre_tanh[j]);
        }
        total
    }

    /// `∂ log π(a) / ∂(μ, log σ)` with the action held fixed (`u` a
    /// constant): `(u − μ)/σ²` and `((u − μ)/σ)² − 1`, the gradient of a
    /// likelihood-ratio update (REINFORCE, PPO) on actions sampled before.
    /// The squash's correction does not depend on `μ` or `σ` here.
    ///
    /// ```
    /// use backprop::{Network, Optimizer, Sgd};
    /// use backprop_runtime::init::seeded_rng;
    /// use backprop_runtime::policy::SquashedGaussian;
    ///
    /// backprop::network! {
    ///     /// A policy for one action in (−1, 1): outputs μ and log σ.
    ///     Actor = 3 -> tanh(16) -> linear(2); loss = none
    /// }
    ///
    /// let mut actor = Actor::seeded(5);
    /// let states = [[0.2, -0.1, 0.4]];
    /// let (advantage, log_prob_old) = (1.5_f32, -0.9_f32);
    ///
    /// let trace = actor.trace(&states);
    /// let pi = SquashedGaussian::<f32, 1>::from_row(&trace.output()[0]);
    /// let sample = pi.sample(&mut seeded_rng(1));
    /// // PPO's surrogate, unclipped: L = −A·π(a)/π_old(a), so
    /// // ∂L/∂(μ, log σ) = −A·ratio·∂log π(a) with the action fixed.
    /// let ratio = (pi.log_prob(&sample.pre_tanh) - log_prob_old).exp();
    /// let mut grad_output = [[0.0; 2]];
    /// (pi.log_prob_gradient(&sample.pre_tanh) * (-advantage * ratio)).write_row(&mut grad_output[0]);
    /// let mut grad = Actor::zeros();
    /// trace.backward_into(&grad_output, &mut grad, None);
    ///
    /// Sgd::new(0.01).step(actor.params_mut(), grad.params());
    /// let after = SquashedGaussian::<f32, 1>::from_row(&actor.forward(&states)[0]);
    /// assert!(after.log_prob(&sample.pre_tanh) > pi.log_prob(&sample.pre_tanh));
    /// ```
    #[must_use]
    pub fn log_prob_gradient(&self, pre_tanh: &[T; N]) -> GaussianGradient<T, N> {
        let mut gradient = GaussianGradient::zero();
        for j in 0..N {
            let z = (pre_tanh[j] - self.mean[j]) / self.std[j];
            gradient.mean[j] = z / self.std[j];
            gradient.log_std[j] = self.through_log_std(j, z * z - T::ONE);
        }
        gradient
    }

    /// `∂ log π(ã) / ∂(μ, log σ)` along the reparameterised path: `ã` is
    /// `tanh(μ + σ·ε)` with the sample's noise `ε` fixed, so it moves with
    /// the parameters. With `a = tanh(u)`: `2a` and `2a·σ·ε − 1` (the
    /// Gaussian term is `−ε²/2` there, constant; what is left comes from
    /// `log σ` and the squash). This is the entropy term of SAC's actor
    /// loss; `sample` must be this distribution's own (from
    /// [`sample`](Self::sample) or [`reparameterize`](Self::reparameterize)).
    ///
    /// ```
    /// use backprop_runtime::policy::{GaussianGradient, SquashedGaussian};
    ///
    /// let pi = SquashedGaussian::new(&[0.0_f64], &[0.0]);
    /// // At u = 0 the squash is flat: only log σ's own −1 is left.
    /// let gradient = pi.reparameterized_log_prob_gradient(&pi.reparameterize(&[0.0]));
    /// assert_eq!(gradient, GaussianGradient { mean: [0.0], log_std: [-1.0] });
    /// ```
    ///
    /// SAC's actor step, `L = α·log π(ã) − Q(s, ã)`, with the critic's
    /// input gradient for `∂(−Q)/∂ã`:
    ///
    /// ```
    /// use backprop::{Network, Optimizer, Sgd};
    /// use backprop_runtime::init::seeded_rng;
    /// use backprop_runtime::policy::SquashedGaussian;
    ///
    /// backprop::network! {
    ///     /// μ and log σ of one action, from a state of 3.
    ///     Actor = 3 -> relu(16) -> linear(2); loss = none
    /// }
    /// backprop::network! {
    ///     /// Q of a state and an action.
    ///     Critic = 4 -> relu(16) -> linear(1); loss = mse
    /// }
    ///
    /// let (mut actor, critic) = (Actor::seeded(1), Critic::seeded(2));
    /// let (alpha, state) = (0.2_f32, [0.1, 0.2, -0.3]);
    /// let states = [state];
    /// let trace = actor.trace(&states);
    /// let pi = SquashedGaussian::<f32, 1>::from_row(&trace.output()[0]);
    /// let sample = pi.sample(&mut seeded_rng(3));
    ///
    /// let critic_input = [[state[0], state[1], state[2], sample.action[0]]];
    /// let (_, grad_input) = critic.backward(&critic_input, &[[-1.0]]); // ∂(−Q)/∂(s, ã)
    /// let gradient = pi.reparameterized_log_prob_gradient(&sample) * alpha
    ///     + pi.action_gradient(&sample, &[grad_input[0][3]]);
    /// let mut grad_output = [[0.0; 2]];
    /// gradient.write_row(&mut grad_output[0]);
    /// let mut grad = Actor::zeros();
    /// trace.backward_into(&grad_output, &mut grad, None);
    ///
    /// // The same noise through the stepped actor: a lower loss.
    /// let loss = |actor: &Actor| {
    ///     let pi = SquashedGaussian::<f32, 1>::from_row(&actor.forward(&states)[0]);
    ///     let sample = pi.reparameterize(&sample.noise);
    ///     let q = critic.forward(&[[state[0], state[1], state[2], sample.action[0]]])[0][0];
    ///     alpha * pi.log_prob(&sample.pre_tanh) - q
    /// };
    /// let before = loss(&actor);
    /// Sgd::new(0.01).step(actor.params_mut(), grad.params());
    /// assert!(loss(&actor) < before);
    /// ```
    #[must_use]
    pub fn reparameterized_log_prob_gradient(
        &self,
        sample: &Sample<T, N>,
    ) -> GaussianGradient<T, N> {
        let mut gradient = GaussianGradient::zero();
        for j in 0..N {
            let squash = T::TWO * sample.action[j];
            gradient.mean[j] = squash;
            let along_log_std = squash * self.std[j] * sample.noise[j] - T::ONE;
            gradient.log_std[j] = self.through_log_std(j, along_log_std);
        }
        gradient
    }

    /// Backpropagates `grad_action = ∂L/∂ã` through `ã = tanh(μ + σ·ε)`
    /// with the sample's noise fixed: `∂L/∂μ = g ⊙ (1 − ã²)` and
    /// `∂L/∂log σ = g ⊙ (1 − ã²) ⊙ σ ⊙ ε`, with `1 − tanh²(u)` computed
    /// from `u`. In SAC's actor loss `α·log π(ã) − Q(s, ã)`, `grad_action`
    /// is `−∂Q/∂a` (the critic's input gradient); the whole gradient is
    /// this plus `α` times
    /// [`reparameterized_log_prob_gradient`](Self::reparameterized_log_prob_gradient).
    ///
    /// ```
    /// use backprop_runtime::policy::SquashedGaussian;
    ///
    /// let pi = SquashedGaussian::new(&[0.0_f64, 40.0], &[0.0; 2]);
    /// let sample = pi.reparameterize(&[0.5, 0.0]);
    /// let gradient = pi.action_gradient(&sample, &[1.0, 1.0]);
    /// let slope = 1.0 - 0.5_f64.tanh().powi(2);
    /// assert!((gradient.mean[0] - slope).abs() < 1e-15);
    /// assert!((gradient.log_std[0] - slope * 0.5).abs() < 1e-15);
    /// // Saturated: tanh is flat at u = 40, and its slope e^{−78.6} is not lost.
    /// assert!(gradient.mean[1] > 0.0 && gradient.mean[1] < 1e-30);
    /// ```
    #[must_use]
    pub fn action_gradient(
        &self,
        sample: &Sample<T, N>,
        grad_action: &[T; N],
    ) -> GaussianGradient<T, N> {
        let mut gradient = GaussianGradient::zero();
        for j in 0..N {
            let through_tanh = grad_action[j] * log_tanh_derivative(sample.pre_tanh[j]).exp();
            gradient.mean[j] = through_tanh;
            gradient.log_std[j] =
                self.through_log_std(j, through_tanh * self.std[j] * sample.noise[j]);
        }
        gradient
    }

    /// A gradient with respect to the (clamped) `log σⱼ`, as it reaches the
    /// value given: nothing where the clamp held it.
    #[inline]
    fn through_log_std(&self, j: usize, gradient: T) -> T {
        if self.clamped[j] { T::ZERO } else { gradient }
    }
}

impl<T: Float, const N: usize> GaussianGradient<T, N> {
    /// All zeros.
    ///
    /// ```
    /// use backprop_runtime::policy::GaussianGradient;
    ///
    /// assert_eq!(GaussianGradient::<f32, 2>::zero().mean, [0.0; 2]);
    /// ```
    #[must_use]
    pub fn zero() -> Self {
        Self {
            mean: [T::ZERO; N],
            log_std: [T::ZERO; N],
        }
    }

    /// Writes `∂/∂μ` into the first `N` entries of `row` and `∂/∂log σ`
    /// into the next `N`: the layout of [`SquashedGaussian::from_row`], so
    /// `row` can be a row of the `∂L/∂Ŷ` given to
    /// [`Trace::backward_into`](crate::Trace::backward_into).
    ///
    /// # Panics
    ///
    /// If `row` does not hold exactly `2·N` values.
    ///
    /// ```
    /// use backprop_runtime::policy::GaussianGradient;
    ///
    /// let mut row = [9.0_f64; 4];
    /// GaussianGradient { mean: [1.0, 2.0], log_std: [3.0, 4.0] }.write_row(&mut row);
    /// assert_eq!(row, [1.0, 2.0, 3.0, 4.0]);
    /// ```
    #[track_caller]
    pub fn write_row(&self, row: &mut [T]) {
        check_row_len(row.len(), N);
        let (mean, log_std) = row.split_at_mut(N);
        mean.copy_from_slice(&self.mean);
        log_std.copy_from_slice(&self.log_std);
    }

    /// Both halves entry by entry through `f`.
    fn zip_with(self, other: Self, f: impl Fn(T, T) -> T) -> Self {
        let mut out = self;
        for j in 0..N {
            out.mean[j] = f(self.mean[j], other.mean[j]);
            out.log_std[j] = f(self.log_std[j], other.log_std[j]);
        }
        out
    }
}

/// The sum, entry by entry.
///
/// ```
/// use backprop_runtime::policy::GaussianGradient;
///
/// let g = GaussianGradient { mean: [1.0_f32], log_std: [-1.0] };
/// assert_eq!(g + g, GaussianGradient { mean: [2.0], log_std: [-2.0] });
/// ```
impl<T: Float, const N: usize> Add for GaussianGradient<T, N> {
    type Output = Self;

    fn add(self, other: Self) -> Self {
        self.zip_with(other, |a, b| a + b)
    }
}

/// The difference, entry by entry.
///
/// ```
/// use backprop_runtime::policy::GaussianGradient;
///
/// let g = GaussianGradient { mean: [1.0_f32], log_std: [-1.0] };
/// assert_eq!(g - g, GaussianGradient::zero());
/// ```
impl<T: Float, const N: usize> Sub for GaussianGradient<T, N> {
    type Output = Self;

    fn sub(self, other: Self) -> Self {
        self.zip_with(other, |a, b| a - b)
    }
}

/// Every entry times `factor`.
///
/// ```
/// use backprop_runtime::policy::GaussianGradient;
///
/// let g = GaussianGradient { mean: [1.0_f64, 2.0], log_std: [-1.0, 0.5] };
/// assert_eq!(g * -2.0, GaussianGradient { mean: [-2.0, -4.0], log_std: [2.0, -1.0] });
/// ```
impl<T: Float, const N: usize> Mul<T> for GaussianGradient<T, N> {
    type Output = Self;

    fn mul(self, factor: T) -> Self {
        Self {
            mean: self.mean.map(|g| g * factor),
            log_std: self.log_std.map(|g| g * factor),
        }
    }
}

/// `log(1 − tanh²(u)) = 2·(ln 2 − u − softplus(−2u))`: the logarithm of
/// `tanh`'s derivative, finite for every finite `u`.
#[inline]
fn log_tanh_derivative<T: Float>(u: T) -> T {
    let ln_2 = T::from_f64(core::f64::consts::LN_2);
    T::TWO * (ln_2 - u - softplus(-T::TWO * u))
}

/// `ln(1 + eˣ)` without overflow: `max(x, 0) + ln(1 + e^{−|x|})`.
#[inline]
fn softplus<T: Float>(x: T) -> T {
    x.max(T::ZERO) + (-x.abs()).exp().ln_1p()
}

/// The halves of a row of `2·N` values.
#[track_caller]
fn split_row<T, const N: usize>(row: &[T]) -> (&[T; N], &[T; N]) {
    check_row_len(row.len(), N);
    let (chunks, _) = row.as_chunks::<N>();
    (&chunks[0], &chunks[1])
}

/// Panics unless a row of `len` values holds the `N` means and `N` log
/// standard deviations of a squashed Gaussian.
#[track_caller]
fn check_row_len(len: usize, n: usize) {
    #[cold]
    #[inline(never)]
    #[track_caller]
    fn wrong_len(len: usize, n: usize) -> ! {
        panic!(
            "a row of {len} values cannot hold the {n} means and {n} log standard deviations of a squashed Gaussian"
        )
    }
    if len != 2 * n {
        wrong_len(len, n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stable_squash_correction_matches_the_naive_one_where_that_is_accurate() {
        for u in [-3.0_f64, -0.7, 0.0, 0.2, 1.5, 4.0] {
            let naive = (1.0 - libm::tanh(u) * libm::tanh(u)).ln();
            assert!((log_tanh_derivative(u) - naive).abs() < 1e-12, "u = {u}");
        }
        // Far out, log(sech² u) → 2 ln 2 − 2|u|.
        assert!(
            (log_tanh_derivative(-400.0_f64) - (2.0 * core::f64::consts::LN_2 - 800.0)).abs()
                < 1e-9
        );
    }

    #[test]
    // ln(1 + e^{−1000}) adds nothing to 1000, exactly.
    #[allow(clippy::float_cmp)]
    fn softplus_neither_overflows_nor_underflows() {
        assert_eq!(softplus(1000.0_f64), 1000.0);
        assert!(softplus(-1000.0_f64) >= 0.0);
        assert!((softplus(0.0_f32) - core::f32::consts::LN_2).abs() < 1e-7);
    }

    #[test]
    fn the_largest_uniform_draw_picks_the_last_likely_action_not_a_masked_one() {
        // A generator at its largest value: u·Σp is Σp, or rounds to it.
        struct Max;
        impl rand_core::TryRng for Max {
            type Error = core::convert::Infallible;
            fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
                Ok(u32::MAX)
            }
            fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
                Ok(u64::MAX)
            }
            fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
                dst.fill(u8::MAX);
                Ok(())
            }
        }
        let pi = Categorical::new(&[0.0_f64, 1.0, f64::NEG_INFINITY]);
        assert_eq!(pi.sample(&mut Max), 1);
    }
}
