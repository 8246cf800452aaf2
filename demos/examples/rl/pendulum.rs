//! Pendulum swing-up, as Gymnasium's `Pendulum-v1`: a rod hinged at one
//! end starts at a random angle and must be swung up and balanced upright
//! with a torque too weak to lift it in one push. θ = 0 is upright.
//!
//! Each step costs `θ² + 0.1·θ̇² + 0.001·u²` (θ normalised to `[−π, π)`);
//! the reward is its negative, so a return over an episode of
//! [`EPISODE_STEPS`] lies between about −1,600 (never swung up) and 0. The
//! dynamics, the constants and the integration follow Gymnasium's
//! `pendulum.py`, in `f64`, with `f32` observations.

use std::f64::consts::PI;

use backprop::runtime::rand_core::Rng;

use super::uniform;

/// The largest torque the motor gives, either way.
pub(crate) const MAX_TORQUE: f32 = 2.0;
/// Steps of an episode: it is cut off here, it never ends by itself.
pub(crate) const EPISODE_STEPS: usize = 200;

/// The largest angular speed, rad/s; faster is clipped.
const MAX_SPEED: f64 = 8.0;
/// The time step, s.
const DT: f64 = 0.05;
/// Gravity, m/s².
const GRAVITY: f64 = 10.0;
/// The rod's mass, kg, and length, m.
const MASS: f64 = 1.0;
const LENGTH: f64 = 1.0;

/// What the agent sees: `(cos θ, sin θ, θ̇)`, so the angle has no jump.
pub(crate) type Observation = [f32; 3];

/// The pendulum's angle θ (0 upright) and angular speed θ̇.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pendulum {
    angle: f64,
    speed: f64,
}

impl Pendulum {
    /// A pendulum at an angle drawn uniformly from `[−π, π]` and a speed
    /// from `[−1, 1]`, as Gymnasium's `reset`.
    pub(crate) fn reset<R: Rng + ?Sized>(rng: &mut R) -> Self {
        Self {
            angle: PI * (2.0 * uniform(rng) - 1.0),
            speed: 2.0 * uniform(rng) - 1.0,
        }
    }

    /// What the agent sees of the state.
    // The networks compute in `f32`; the state stays `f64`.
    #[allow(clippy::cast_possible_truncation)]
    pub(crate) fn observe(&self) -> Observation {
        [
            self.angle.cos() as f32,
            self.angle.sin() as f32,
            self.speed as f32,
        ]
    }

    /// Applies the torque `torque` (clipped to ±[`MAX_TORQUE`]) for one
    /// step and returns the reward, which is that of the state before the
    /// step, as in Gymnasium. The speed is updated first and the angle
    /// moves with the new speed (semi-implicit Euler).
    #[allow(clippy::cast_possible_truncation)]
    pub(crate) fn step(&mut self, torque: f32) -> f32 {
        let torque = f64::from(torque.clamp(-MAX_TORQUE, MAX_TORQUE));
        let angle = normalize_angle(self.angle);
        let cost = angle * angle + 0.1 * self.speed * self.speed + 0.001 * torque * torque;
        let acceleration = 3.0 * GRAVITY / (2.0 * LENGTH) * self.angle.sin()
            + 3.0 / (MASS * LENGTH * LENGTH) * torque;
        self.speed = (self.speed + acceleration * DT).clamp(-MAX_SPEED, MAX_SPEED);
        self.angle += self.speed * DT;
        -cost as f32
    }
}

/// A torque drawn uniformly from `[−MAX_TORQUE, MAX_TORQUE]`, as a sample
/// of Gymnasium's action space.
#[allow(clippy::cast_possible_truncation)]
pub(crate) fn random_torque<R: Rng + ?Sized>(rng: &mut R) -> f32 {
    MAX_TORQUE * (2.0 * uniform(rng) - 1.0) as f32
}

/// `angle` moved into `[−π, π)` by whole turns.
fn normalize_angle(angle: f64) -> f64 {
    (angle + PI).rem_euclid(2.0 * PI) - PI
}
