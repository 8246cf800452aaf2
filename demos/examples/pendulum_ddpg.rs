//! Deep deterministic policy gradient (DDPG) swings a pendulum up and
//! balances it (Gymnasium's `Pendulum-v1`).
//!
//! The critic `Q(s, a)` learns, with its built-in `mse` loss, the
//! discounted return of torque `a` in state `s` from replayed transitions,
//! against slowly following target networks. The actor `μ(s)` learns the
//! torque the critic values most: its loss `L = −mean Q(s, μ(s))` has the
//! gradient `∂L/∂μ = −(1/B)·∂Q/∂a` at its output, and the critic supplies
//! `∂Q/∂a` as part of its input gradient: `critic.backward(&[s, μ(s)],
//! &ones)` backpropagates `∂Q/∂Q = 1` down to `∂Q/∂[s, a]`, whose last
//! column is `∂Q/∂a`. Negated and averaged, that column is the `∂L/∂Ŷ` the
//! actor's own backward pass starts from (`actor.trace(&s)`, then
//! `backward_into`); the actor has no loss of its own (`loss = none`).
//!
//! Run with `cargo run --release --example pendulum_ddpg [OUTPUT_DIRECTORY]`
//! (the seed from the environment variable `SEED`, if set). Prints progress,
//! writes `pendulum_ddpg-returns.png` to the directory, `target/pendulum_ddpg`
//! by default, and ends with `solved: …` once the mean return of the last 10
//! episodes reaches −200, or `not solved: …` and a failing exit code.

use std::error::Error;
use std::process::ExitCode;

use backprop::init::seeded_rng;
use backprop::runtime::rand_core::Rng;
use backprop::update::soft_update;
use backprop::{Adam, Network, Optimizer};

mod rl;

use rl::curve::Curve;
use rl::pendulum::{EPISODE_STEPS, MAX_TORQUE, Observation, Pendulum, random_torque};
use rl::replay::{Replay, Transition};
use rl::uniform;

backprop::network! {
    /// The policy: the state `(cos θ, sin θ, θ̇)` in, the torque as a
    /// fraction of the largest out.
    pub Actor = 3 -> relu(64) -> relu(64) -> tanh(1); loss = none
}

backprop::network! {
    /// The critic: the state and the torque (as a fraction of the largest)
    /// in, the expected discounted return out.
    pub Critic = 4 -> relu(64) -> relu(64) -> linear(1); loss = mse
}

/// The seed of the networks, the environment, the noise and the replays.
const SEED: u64 = 1;
/// The mean return over the last [`WINDOW`] episodes that counts as solved.
const GOAL: f64 = -200.0;
/// Episodes in the mean that decides whether the task is solved.
const WINDOW: usize = 10;
/// Episodes after which the run gives up.
const MAX_EPISODES: usize = 200;
/// Steps of uniformly random torques before the actor takes over and the
/// networks start learning.
const WARM_UP_STEPS: usize = 2000;
/// Transitions replayed per update.
const BATCH: usize = 128;
/// Transitions the replay buffer keeps.
const REPLAY_CAPACITY: usize = 100_000;
/// The discount of future rewards.
const GAMMA: f32 = 0.99;
/// How far the target networks move towards the online ones per update.
const TAU: f64 = 0.005;
/// The standard deviation of the exploration noise, in newton metres.
const NOISE: f64 = 0.1 * MAX_TORQUE as f64;
const ACTOR_LEARNING_RATE: f64 = 1e-3;
const CRITIC_LEARNING_RATE: f64 = 1e-3;

fn main() -> Result<ExitCode, Box<dyn Error>> {
    let seed = match std::env::var("SEED") {
        Ok(seed) => seed
            .parse()
            .map_err(|_| format!("SEED={seed} is not a u64"))?,
        Err(_) => SEED,
    };
    let mut rng = seeded_rng(seed);
    let mut agent = Agent::new(seed);
    let mut replay = Replay::new(REPLAY_CAPACITY);
    let mut curve = Curve::new("pendulum_ddpg")
        .window(WINDOW)
        .goal(GOAL)
        .report_every(10);
    let mut steps = 0;
    while curve.episodes() < MAX_EPISODES && !curve.reached(GOAL) {
        let mut pendulum = Pendulum::reset(&mut rng);
        let mut state = pendulum.observe();
        let mut episode_return = 0.0;
        for _ in 0..EPISODE_STEPS {
            let torque = if steps < WARM_UP_STEPS {
                random_torque(&mut rng)
            } else {
                agent.explore(&state, &mut rng)
            };
            let reward = pendulum.step(torque);
            let next_state = pendulum.observe();
            // The cut-off after 200 steps is not a terminal state: the
            // pendulum would go on, so its value is bootstrapped.
            replay.push(Transition {
                state,
                action: torque,
                reward,
                next_state,
                terminal: false,
            });
            state = next_state;
            episode_return += f64::from(reward);
            steps += 1;
            if steps >= WARM_UP_STEPS {
                agent.learn(&replay, &mut rng);
            }
        }
        curve.record(episode_return, EPISODE_STEPS, "");
    }
    // The actor without noise, on pendulums it has not met.
    let greedy: f64 = (0..WINDOW)
        .map(|_| agent.greedy_return(Pendulum::reset(&mut rng)))
        .sum::<f64>()
        / WINDOW as f64;
    println!(
        "the actor without exploration noise: mean return {greedy:.1} over {WINDOW} new episodes"
    );
    let solved = curve.reached(GOAL);
    curve.finish(solved)
}

/// The actor and the critic, their target networks and their optimizers.
struct Agent {
    actor: Actor,
    critic: Critic,
    target_actor: Actor,
    target_critic: Critic,
    actor_optimizer: Adam<Vec<f32>>,
    critic_optimizer: Adam<Vec<f32>>,
}

impl Agent {
    fn new(seed: u64) -> Self {
        let actor = Actor::seeded(seed);
        let critic = Critic::seeded(seed.wrapping_add(1));
        Self {
            target_actor: actor.clone(),
            target_critic: critic.clone(),
            actor,
            critic,
            actor_optimizer: Adam::new(ACTOR_LEARNING_RATE),
            critic_optimizer: Adam::new(CRITIC_LEARNING_RATE),
        }
    }

    /// The return of an episode from `pendulum` with the actor's torques.
    fn greedy_return(&self, mut pendulum: Pendulum) -> f64 {
        (0..EPISODE_STEPS)
            .map(|_| {
                let [[action]] = self.actor.forward(&[pendulum.observe()]);
                f64::from(pendulum.step(MAX_TORQUE * action))
            })
            .sum()
    }

    /// The actor's torque for `state` plus Gaussian noise, clipped.
    // The noise is drawn in `f64`, as the generator gives it.
    #[allow(clippy::cast_possible_truncation)]
    fn explore<R: Rng + ?Sized>(&self, state: &Observation, rng: &mut R) -> f32 {
        let [[action]] = self.actor.forward(&[*state]);
        let noise = (NOISE * standard_normal(rng)) as f32;
        (MAX_TORQUE * action + noise).clamp(-MAX_TORQUE, MAX_TORQUE)
    }

    /// One update of the critic, the actor and the target networks on a
    /// batch drawn from `replay`.
    fn learn<R: Rng + ?Sized>(&mut self, replay: &Replay<Observation, f32>, rng: &mut R) {
        let batch = replay.sample::<BATCH, _>(rng).map(|i| replay.get(i));
        let states = batch.map(|t| t.state);

        // The critic regresses on the one-step target r + γ·Q'(s', μ'(s')).
        let next_states = batch.map(|t| t.next_state);
        let next_actions = self.target_actor.forward(&next_states);
        let next_values = self
            .target_critic
            .forward(&join(&next_states, &next_actions));
        let targets: [[f32; 1]; BATCH] = std::array::from_fn(|i| {
            let bootstrap = if batch[i].terminal {
                0.0
            } else {
                GAMMA * next_values[i][0]
            };
            [batch[i].reward + bootstrap]
        });
        let actions = batch.map(|t| [t.action / MAX_TORQUE]);
        self.critic.train_step(
            &join(&states, &actions),
            &targets,
            &mut self.critic_optimizer,
        );

        // The actor ascends Q(s, μ(s)): L = −mean Q, so ∂L/∂μ = −∂Q/∂a / B.
        let actor_pass = self.actor.trace(&states);
        let state_actions = join(&states, actor_pass.output());
        let (_, grad_input) = self.critic.backward(&state_actions, &[[1.0]; BATCH]);
        let grad_action = grad_input.map(|[.., dq_da]| [-dq_da / BATCH as f32]);
        let mut grad = Actor::zeros();
        actor_pass.backward_into(&grad_action, &mut grad, None);
        self.actor_optimizer
            .step(self.actor.params_mut(), grad.params());

        soft_update(&mut self.target_critic, &self.critic, TAU);
        soft_update(&mut self.target_actor, &self.actor, TAU);
    }
}

/// Rows of `[s, a]`: the critic's input from a batch of states and actions.
fn join<const B: usize>(states: &[Observation; B], actions: &[[f32; 1]; B]) -> [[f32; 4]; B] {
    std::array::from_fn(|i| {
        let [c, s, w] = states[i];
        [c, s, w, actions[i][0]]
    })
}

/// A draw from the standard normal distribution (Box–Muller).
fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    // `1 − u` lies in `(0, 1]`, so its logarithm is finite.
    let radius = (-2.0 * (1.0 - uniform(rng)).ln()).sqrt();
    radius * (std::f64::consts::TAU * uniform(rng)).cos()
}
