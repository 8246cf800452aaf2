//! `CartPole`, the classic control task: push a cart left or right to keep
//! the pole hinged on it upright. The physics are the classic ones (Barto,
//! Sutton and Anderson, 1983) as Gymnasium's `CartPole` integrates them
//! with its default `euler` integrator, in episodes of at most 200 steps
//! (`CartPole-v0`).

use backprop::runtime::rand_core::Rng;

use super::uniform;

const GRAVITY: f64 = 9.8;
const CART_MASS: f64 = 1.0;
const POLE_MASS: f64 = 0.1;
const TOTAL_MASS: f64 = CART_MASS + POLE_MASS;
/// Half the pole's length, in metres.
const HALF_LENGTH: f64 = 0.5;
const POLE_MASS_LENGTH: f64 = POLE_MASS * HALF_LENGTH;
/// The force of a push, in newtons.
const FORCE: f64 = 10.0;
/// Seconds between two steps.
const TAU: f64 = 0.02;
/// The cart leaves the track beyond this distance from the centre, in metres.
const X_LIMIT: f64 = 2.4;
/// The pole has fallen beyond 12° from upright.
const THETA_LIMIT: f64 = 12.0 * 2.0 * std::f64::consts::PI / 360.0;
/// Steps after which an episode is cut short.
pub(crate) const MAX_STEPS: usize = 200;

/// What the agent sees: cart position, cart velocity, pole angle (radians
/// from upright) and pole angular velocity.
pub(crate) type Observation = [f32; 4];

/// Push the cart to the left (`0`) or to the right (`1`).
pub(crate) const ACTIONS: usize = 2;

/// What a step returns.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Step {
    pub(crate) observation: Observation,
    /// 1 for every step, the last one included.
    pub(crate) reward: f32,
    /// The pole fell or the cart left the track: the episode ends, and no
    /// reward follows.
    pub(crate) terminated: bool,
    /// The episode reached [`MAX_STEPS`]: it ends, but the state it ends
    /// in has a future (its value is not zero).
    pub(crate) truncated: bool,
}

impl Step {
    /// The episode is over, either way.
    pub(crate) fn done(&self) -> bool {
        self.terminated || self.truncated
    }
}

/// The cart and the pole.
#[derive(Clone, Debug)]
pub(crate) struct CartPole {
    x: f64,
    x_dot: f64,
    theta: f64,
    theta_dot: f64,
    steps: usize,
}

impl CartPole {
    /// A new episode: every state variable uniform in `[−0.05, 0.05)`.
    pub(crate) fn reset<R: Rng + ?Sized>(rng: &mut R) -> (Self, Observation) {
        let mut draw = || 0.1 * uniform(rng) - 0.05;
        let cartpole = Self {
            x: draw(),
            x_dot: draw(),
            theta: draw(),
            theta_dot: draw(),
            steps: 0,
        };
        let observation = cartpole.observation();
        (cartpole, observation)
    }

    /// An episode from a given state: cart position, cart velocity, pole
    /// angle and pole angular velocity.
    pub(crate) fn from_state([x, x_dot, theta, theta_dot]: [f64; 4]) -> Self {
        Self {
            x,
            x_dot,
            theta,
            theta_dot,
            steps: 0,
        }
    }

    /// One step of `TAU` seconds with the cart pushed by `action`.
    ///
    /// # Panics
    ///
    /// If `action` is not `0` or `1`.
    pub(crate) fn step(&mut self, action: usize) -> Step {
        assert!(
            action < ACTIONS,
            "action {action} is not 0 (left) or 1 (right)"
        );
        let force = if action == 1 { FORCE } else { -FORCE };
        let (sin, cos) = self.theta.sin_cos();
        let temp = (force + POLE_MASS_LENGTH * self.theta_dot * self.theta_dot * sin) / TOTAL_MASS;
        let theta_acc = (GRAVITY * sin - cos * temp)
            / (HALF_LENGTH * (4.0 / 3.0 - POLE_MASS * cos * cos / TOTAL_MASS));
        let x_acc = temp - POLE_MASS_LENGTH * theta_acc * cos / TOTAL_MASS;
        // Euler: positions move with the old velocities.
        self.x += TAU * self.x_dot;
        self.x_dot += TAU * x_acc;
        self.theta += TAU * self.theta_dot;
        self.theta_dot += TAU * theta_acc;
        self.steps += 1;
        let terminated = self.x.abs() > X_LIMIT || self.theta.abs() > THETA_LIMIT;
        Step {
            observation: self.observation(),
            reward: 1.0,
            terminated,
            truncated: !terminated && self.steps >= MAX_STEPS,
        }
    }

    // The networks see `f32`; the physics run in `f64`, as Gymnasium's do.
    #[allow(clippy::cast_possible_truncation)]
    fn observation(&self) -> Observation {
        [self.x, self.x_dot, self.theta, self.theta_dot].map(|value| value as f32)
    }
}
