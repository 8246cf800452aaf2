//! Updates around the optimizer step that reinforcement learning reaches
//! for: target networks ([`soft_update`], [`hard_update`]) and gradient
//! clipping ([`clip_grad_norm`], [`clip_grad_norm_inf`], [`clip_grad_value`]),
//! as PyTorch code writes them.
//!
//! They work on a network's flat parameters, or on a gradient's
//! (`grad.params_mut()`), in the network's own float, without allocating:
//!
//! ```
//! use backprop::{Adam, Network, Optimizer};
//! use backprop::update::{clip_grad_norm, soft_update};
//!
//! backprop::network! {
//!     /// A critic: state and action in, a value out.
//!     Critic = 4 -> relu(16) -> linear(1); loss = mse
//! }
//!
//! let mut critic = Critic::seeded(1);
//! let mut target = critic.clone();
//! let mut adam = Adam::new(1e-3);
//! let (x, y) = ([[0.1, -0.2, 0.3, 1.0]], [[0.5]]);
//! for _ in 0..10 {
//!     let (_, mut grad) = critic.gradients(&x, &y);
//!     clip_grad_norm(grad.params_mut(), 10.0);
//!     adam.step(critic.params_mut(), grad.params());
//!     soft_update(&mut target, &critic, 0.005);
//! }
//! assert_ne!(target, critic);
//! ```

use crate::{Float, Network};

/// The Polyak (exponential moving average) update of a target network,
/// as DDPG, TD3 and SAC apply it after every step:
/// `θ' ← τ·θ + (1 − τ)·θ'` for every parameter, `θ` from `online`, `θ'` in
/// `target`; typically `τ = 0.005`.
///
/// Computed in the network's float as Stable-Baselines3's `polyak_update`
/// does, `θ'·(1 − τ) + τ·θ`, with `τ` and `1 − τ` rounded to it once.
///
/// ```
/// use backprop::Network;
/// use backprop::update::soft_update;
///
/// backprop::network! {
///     /// An actor, as in DDPG: a state in, an action in (−1, 1) out.
///     Actor = 3 -> relu(8) -> tanh(1); loss = mse; float = f64
/// }
///
/// let online = Actor::seeded(1);
/// let mut target = Actor::seeded(2);
/// let before = target.clone();
/// soft_update(&mut target, &online, 0.005);
/// let (t, o, b) = (target.params()[0], online.params()[0], before.params()[0]);
/// assert!((t - (0.005 * o + 0.995 * b)).abs() < 1e-15);
///
/// // τ = 1 copies, τ = 0 leaves the target as it was.
/// soft_update(&mut target, &before, 0.0);
/// assert_ne!(target, before);
/// soft_update(&mut target, &online, 1.0);
/// assert_eq!(target, online);
/// ```
///
/// # Panics
///
/// Unless `0 ≤ τ ≤ 1` (a NaN too), before any parameter changes.
pub fn soft_update<N: Network>(target: &mut N, online: &N, tau: f64) {
    assert!(
        (0.0..=1.0).contains(&tau),
        "soft_update's tau must lie in [0, 1], got {tau}"
    );
    let (keep, take) = (N::Float::from_f64(1.0 - tau), N::Float::from_f64(tau));
    for (t, &p) in target.params_mut().iter_mut().zip(online.params()) {
        *t = *t * keep + take * p;
    }
}

/// Copies every parameter of `online` into `target`, `θ' ← θ`: DQN's
/// target network every few thousand steps
/// (`target.load_state_dict(online.state_dict())`). Never allocates, even
/// for networks whose parameters live on the heap.
///
/// ```
/// use backprop::Network;
/// use backprop::update::hard_update;
///
/// backprop::network! {
///     /// A Q-network: a state in, one value per action out.
///     QNet = 4 -> relu(16) -> linear(2); loss = huber
/// }
///
/// let online = QNet::seeded(1);
/// let mut target = QNet::zeros();
/// hard_update(&mut target, &online);
/// assert_eq!(target, online);
/// ```
pub fn hard_update<N: Network>(target: &mut N, online: &N) {
    target.params_mut().copy_from_slice(online.params());
}

/// What `torch.nn.utils.clip_grad_norm_` adds to the norm before dividing.
const CLIP_EPSILON: f64 = 1e-6;

/// Scales `grads` so that their Euclidean norm is at most `max_norm`, as
/// `torch.nn.utils.clip_grad_norm_(params, max_norm)` does with its default
/// 2-norm, and returns the norm before clipping.
///
/// The norm `‖g‖ = √(Σ gᵢ²)` is taken over all entries together (PyTorch's
/// total norm over every parameter tensor); the gradient is multiplied by
/// `max_norm / (‖g‖ + 10⁻⁶)` when that is below 1 and left alone otherwise
/// (PyTorch clamps the coefficient to 1). The sum is accumulated in `f64`,
/// and rescaled by the largest entry should the squares overflow, so a
/// finite gradient is always clipped (PyTorch's `f64` norm would be
/// infinite past about 10¹⁵⁴, and the gradient zeroed); only an `f32`
/// norm beyond `f32::MAX` is returned as infinity, after clipping.
///
/// A non-finite norm (a NaN or an infinite entry) is returned and the
/// gradient left as it is: PyTorch's default `error_if_nonfinite=False`
/// scales anyway, which turns every entry into NaN or zero. Check the
/// returned norm to skip such a step, as `torch.amp`'s gradient scaler
/// does, with nothing lost.
///
/// ```
/// use backprop::update::clip_grad_norm;
///
/// let mut grad = [3.0_f64, 4.0];
/// let norm = clip_grad_norm(&mut grad, 1.0);
/// assert_eq!(norm, 5.0);
/// assert!((grad[0] - 0.6).abs() < 1e-6 && (grad[1] - 0.8).abs() < 1e-6);
///
/// // Below the limit: untouched.
/// let mut small = [0.3_f32, 0.4];
/// assert_eq!(clip_grad_norm(&mut small, 1.0), 0.5);
/// assert_eq!(small, [0.3, 0.4]);
///
/// // A NaN: reported, and the gradient is kept as it was.
/// let mut bad = [1.0_f32, f32::NAN];
/// assert!(clip_grad_norm(&mut bad, 1.0).is_nan());
/// assert_eq!(bad[0], 1.0);
/// ```
///
/// # Panics
///
/// If `max_norm` is negative or NaN, before the gradient changes.
pub fn clip_grad_norm<T: Float>(grads: &mut [T], max_norm: f64) -> T {
    check_limit("clip_grad_norm's max_norm", max_norm);
    let norm = euclidean_norm(grads);
    scale_to(grads, norm, max_norm);
    T::from_f64(norm)
}

/// [`clip_grad_norm`] with the maximum norm `‖g‖∞ = maxᵢ |gᵢ|`, as
/// `clip_grad_norm_(params, max_norm, norm_type=inf)`: the same coefficient
/// `max_norm / (‖g‖∞ + 10⁻⁶)`, applied when below 1; returns the norm
/// before clipping, and leaves the gradient alone when it is NaN or
/// infinite.
///
/// ```
/// use backprop::update::clip_grad_norm_inf;
///
/// let mut grad = [0.5_f64, -4.0, 2.0];
/// assert_eq!(clip_grad_norm_inf(&mut grad, 2.0), 4.0);
/// assert!((grad[1] + 2.0).abs() < 1e-6 && (grad[0] - 0.25).abs() < 1e-6);
/// ```
///
/// # Panics
///
/// If `max_norm` is negative or NaN, before the gradient changes.
pub fn clip_grad_norm_inf<T: Float>(grads: &mut [T], max_norm: f64) -> T {
    check_limit("clip_grad_norm_inf's max_norm", max_norm);
    // `Float::max` keeps a NaN, as `torch.linalg.vector_norm` does.
    let norm = grads.iter().fold(T::ZERO, |max, g| g.abs().max(max));
    scale_to(grads, norm.to_f64(), max_norm);
    norm
}

/// Clamps every entry of `grads` to `[−clip, clip]`, as
/// `torch.nn.utils.clip_grad_value_(params, clip)`; a NaN entry stays NaN,
/// as `torch.clamp` keeps it.
///
/// ```
/// use backprop::update::clip_grad_value;
///
/// let mut grad = [0.5_f32, -3.0, 2.0, f32::NAN];
/// clip_grad_value(&mut grad, 1.0);
/// assert_eq!(grad[..3], [0.5, -1.0, 1.0]);
/// assert!(grad[3].is_nan());
/// ```
///
/// # Panics
///
/// If `clip` is negative or NaN, before the gradient changes.
pub fn clip_grad_value<T: Float>(grads: &mut [T], clip: f64) {
    check_limit("clip_grad_value's clip", clip);
    let (low, high) = (T::from_f64(-clip), T::from_f64(clip));
    for g in grads {
        if *g > high {
            *g = high;
        } else if *g < low {
            *g = low;
        }
    }
}

fn check_limit(what: &str, limit: f64) {
    assert!(limit >= 0.0, "{what} must be zero or positive, got {limit}");
}

/// `√(Σ gᵢ²)` in `f64`; if the squares overflow although every entry is
/// finite, again with every entry divided by the largest magnitude first.
fn euclidean_norm<T: Float>(grads: &[T]) -> f64 {
    let sum: f64 = grads.iter().map(|g| g.to_f64() * g.to_f64()).sum();
    if sum.is_finite() || !grads.iter().all(|g| g.is_finite()) {
        return libm::sqrt(sum);
    }
    let largest = grads
        .iter()
        .fold(0.0_f64, |max, g| max.max(g.to_f64().abs()));
    let scaled: f64 = grads
        .iter()
        .map(|g| {
            let g = g.to_f64() / largest;
            g * g
        })
        .sum();
    largest * libm::sqrt(scaled)
}

/// Multiplies `grads` by `max_norm / (norm + 10⁻⁶)` when that is below 1
/// and `norm` is finite.
fn scale_to<T: Float>(grads: &mut [T], norm: f64, max_norm: f64) {
    if !norm.is_finite() {
        return;
    }
    let coefficient = max_norm / (norm + CLIP_EPSILON);
    if coefficient < 1.0 {
        let coefficient = T::from_f64(coefficient);
        for g in grads {
            *g *= coefficient;
        }
    }
}
