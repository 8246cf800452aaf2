//! Proximal policy optimisation (PPO, Schulman et al. 2017) on `CartPole`: a
//! policy network gives the logits of a categorical distribution over the
//! two pushes, and a value network estimates the return from a state.
//!
//! The agent plays 1024 steps with its current policy, then computes
//! each step's advantage `Â` with generalised advantage estimation (GAE,
//! `γ = 0.99`, `λ = 0.95`) from the value network, and for 10 passes
//! over the rollout in shuffled batches of 64 ascends the clipped surrogate
//! `min(ρ·Â, clip(ρ, 1 − ε, 1 + ε)·Â)`, `ρ = π(a|s) / π_old(a|s)`, plus an
//! entropy bonus. Its gradient with respect to the logits is computed here,
//! from the policy's `∂ log π(a)/∂logits` and `∂H/∂logits`, and handed to
//! the network's backward pass; the value network is fitted to the
//! returns `Â + V(s)` with its own mean squared error. Adam steps both.
//!
//! `CartPole` counts as solved when the mean return of 100 consecutive
//! episodes is 195 or more (of at most 200); the run fails with a non-zero
//! exit code if that takes more than 1000 episodes.
//!
//! Run with `cargo run --release --example cartpole_ppo [OUTPUT_DIRECTORY]`
//! (`SEED=n` for another seed). Writes `cartpole_ppo-returns.png`, the
//! learning curve, to the directory, `target/cartpole_ppo` by default.

use std::error::Error;
use std::process::ExitCode;

use backprop::data::shuffle;
use backprop::init::seeded_rng;
use backprop::policy::Categorical;
use backprop::{Adam, Network, Optimizer};

mod rl;

use rl::cartpole::{ACTIONS, CartPole, Observation};
use rl::curve::Curve;

backprop::network! {
    /// The observation in, the logits of the two pushes out. Its loss is
    /// computed outside the network, from the sampled actions.
    pub Policy = 4 -> tanh(64) -> tanh(64) -> linear(2); loss = none
}

backprop::network! {
    /// The observation in, the estimated return from it out.
    pub Value = 4 -> tanh(64) -> tanh(64) -> linear(1); loss = mse
}

/// The seed of the initial weights, the environment, the actions and the
/// shuffles, unless the `SEED` environment variable gives another.
const SEED: u64 = 1;
/// Steps played with one policy before it is updated.
const ROLLOUT: usize = 1024;
/// Passes over a rollout.
const EPOCHS: u64 = 10;
const BATCH: usize = 64;
/// The discount factor `γ`.
const GAMMA: f32 = 0.99;
/// GAE's `λ`: how far advantages look ahead before trusting the value network.
const LAMBDA: f32 = 0.95;
/// The ratio `ρ` is clipped to `[1 − CLIP, 1 + CLIP]`.
const CLIP: f32 = 0.2;
/// The weight of the entropy bonus.
const ENTROPY: f32 = 0.01;
const POLICY_LEARNING_RATE: f64 = 3e-4;
const VALUE_LEARNING_RATE: f64 = 1e-3;
/// Solved: a mean return of at least this over 100 consecutive episodes.
const GOAL: f64 = 195.0;
/// The run gives up after this many episodes.
const MAX_EPISODES: usize = 1000;

/// One step of a rollout.
#[derive(Clone, Copy, Debug)]
struct Experience {
    state: Observation,
    action: usize,
    log_prob: f32,
    /// The reward; at a cut-off at the step limit, plus the discounted
    /// value of the state cut off, which has a future.
    reward: f32,
    /// The episode ended after this step.
    done: bool,
}

fn main() -> Result<ExitCode, Box<dyn Error>> {
    let seed = rl::seed(SEED)?;
    println!(
        "PPO on CartPole, seed {seed}: {} policy and {} value parameters",
        Policy::PARAMS,
        Value::PARAMS
    );
    let mut rng = seeded_rng(seed);
    let mut policy = Policy::seeded(seed);
    let mut value = Value::seeded(seed.wrapping_add(1));
    let mut policy_adam = Adam::new(POLICY_LEARNING_RATE);
    let mut value_adam = Adam::new(VALUE_LEARNING_RATE);
    let mut curve = Curve::new("cartpole_ppo").goal(GOAL);

    let (mut cartpole, mut state) = CartPole::reset(&mut rng);
    let (mut episode_return, mut episode_steps) = (0.0, 0);
    let mut rollout = Vec::with_capacity(ROLLOUT);
    let mut updates = 0_u64;
    let mut entropy = None;
    'training: loop {
        rollout.clear();
        while rollout.len() < ROLLOUT {
            let logits = policy.forward(&[state])[0];
            let distribution = Categorical::new(&logits);
            let action = distribution.sample(&mut rng);
            let step = cartpole.step(action);
            let mut reward = step.reward;
            if step.truncated {
                reward += GAMMA * value.forward(&[step.observation])[0][0];
            }
            rollout.push(Experience {
                state,
                action,
                log_prob: distribution.log_prob(action),
                reward,
                done: step.done(),
            });
            episode_return += f64::from(step.reward);
            episode_steps += 1;
            state = step.observation;
            if step.done() {
                curve.record(
                    episode_return,
                    episode_steps,
                    format_args!(
                        "updates {updates}  entropy {}",
                        entropy.map_or_else(|| "-".to_owned(), |h: f32| format!("{h:.3}"))
                    ),
                );
                if curve.reached(GOAL) || curve.episodes() >= MAX_EPISODES {
                    break 'training;
                }
                (cartpole, state) = CartPole::reset(&mut rng);
                (episode_return, episode_steps) = (0.0, 0);
            }
        }
        let targets = Targets::new(&value, &rollout, state)?;
        entropy = Some(update(
            &mut policy,
            &mut value,
            (&mut policy_adam, &mut value_adam),
            &rollout,
            &targets,
            (seed, updates),
        ));
        updates += 1;
    }
    let solved = curve.reached(GOAL);
    curve.finish(solved)
}

/// What a rollout's steps are fitted to.
struct Targets {
    /// Each step's advantage by GAE, normalised to mean 0 and standard
    /// deviation 1 over the rollout.
    advantages: Vec<f32>,
    /// The return the value network is fitted to, `Â + V(s)` before
    /// normalisation.
    returns: Vec<[f32; 1]>,
}

impl Targets {
    /// The targets of a rollout by the current value network; `last` is the
    /// state the rollout stopped in.
    fn new(
        value: &Value,
        rollout: &[Experience],
        last: Observation,
    ) -> Result<Self, Box<dyn Error>> {
        let states: Vec<Observation> = rollout.iter().map(|e| e.state).collect();
        let mut values = vec![[0.0]; rollout.len()];
        value.forward_slice(&states, &mut values)?;
        let mut next_value = value.forward(&[last])[0][0];
        let mut advantages = vec![0.0; rollout.len()];
        let mut running = 0.0;
        for t in (0..rollout.len()).rev() {
            let step = &rollout[t];
            let (future, carried) = if step.done {
                (0.0, 0.0)
            } else {
                (next_value, running)
            };
            let delta = step.reward + GAMMA * future - values[t][0];
            running = delta + GAMMA * LAMBDA * carried;
            advantages[t] = running;
            next_value = values[t][0];
        }
        let returns = advantages
            .iter()
            .zip(&values)
            .map(|(a, [v])| [a + v])
            .collect();
        let count = advantages.len() as f32;
        let mean = advantages.iter().sum::<f32>() / count;
        let spread = (advantages
            .iter()
            .map(|a| (a - mean) * (a - mean))
            .sum::<f32>()
            / count)
            .sqrt();
        for advantage in &mut advantages {
            *advantage = (*advantage - mean) / (spread + 1e-8);
        }
        Ok(Self {
            advantages,
            returns,
        })
    }
}

/// `EPOCHS` passes of shuffled batches over the rollout, each a step of
/// the clipped surrogate for the policy and one of the mean squared error
/// for the value network; returns the mean entropy of the policy over the
/// last pass.
fn update(
    policy: &mut Policy,
    value: &mut Value,
    (policy_adam, value_adam): (&mut Adam<Vec<f32>>, &mut Adam<Vec<f32>>),
    rollout: &[Experience],
    targets: &Targets,
    (seed, round): (u64, u64),
) -> f32 {
    let mut order: Vec<usize> = (0..rollout.len()).collect();
    let mut entropy = 0.0;
    for epoch in 0..EPOCHS {
        shuffle(&mut order, seed, round * EPOCHS + epoch);
        entropy = 0.0;
        for batch in order.chunks_exact(BATCH) {
            let states: [Observation; BATCH] = std::array::from_fn(|i| rollout[batch[i]].state);
            let returns: [[f32; 1]; BATCH] = std::array::from_fn(|i| targets.returns[batch[i]]);

            let mut grad = Policy::zeros();
            let trace = policy.trace(&states);
            let mut grad_logits = [[0.0; ACTIONS]; BATCH];
            for (i, &k) in batch.iter().enumerate() {
                let step = &rollout[k];
                let distribution = Categorical::new(&trace.output()[i]);
                let ratio = (distribution.log_prob(step.action) - step.log_prob).exp();
                let advantage = targets.advantages[k];
                // The loss is −min(ρÂ, clip(ρ)Â) − c·H, averaged over the
                // batch; where the clipped term is the smaller, it does not
                // depend on ρ.
                let clipped = ratio.clamp(1.0 - CLIP, 1.0 + CLIP) * advantage;
                let dloss_dlog_prob = if ratio * advantage <= clipped {
                    -ratio * advantage
                } else {
                    0.0
                };
                let log_prob_gradient = distribution.log_prob_gradient(step.action);
                let entropy_gradient = distribution.entropy_gradient();
                for a in 0..ACTIONS {
                    grad_logits[i][a] = (dloss_dlog_prob * log_prob_gradient[a]
                        - ENTROPY * entropy_gradient[a])
                        / BATCH as f32;
                }
                entropy += distribution.entropy();
            }
            trace.backward_into(&grad_logits, &mut grad, None);
            policy_adam.step(policy.params_mut(), grad.params());
            value.train_step(&states, &returns, value_adam);
        }
    }
    entropy / (rollout.len() / BATCH * BATCH) as f32
}
