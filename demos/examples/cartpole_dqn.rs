//! Deep Q-learning (DQN, Mnih et al. 2015) on `CartPole`: a network learns
//! `Q(s, a)`, the discounted return expected after pushing the cart in
//! direction `a` from state `s`, and the agent pushes where `Q` is largest,
//! or at random with a probability `ε` that falls from 1 to 0.01.
//!
//! Every step goes into a replay buffer; every fourth step the network is
//! fitted on a random batch of 64 stored transitions to the targets
//! `r + γ·maxₐ' Q'(s', a')` (`r` alone where the pole fell), with the
//! Huber loss on the action taken only: the loss's mask keeps the other
//! action's output out of the loss and its gradient. `Q'` is a target
//! network, a copy of the online network made every 500 steps, so that
//! the targets stay put between copies. Adam takes the steps, with a
//! learning rate that falls from 1e-3 to 1e-4 over the first 50 000 steps.
//! The network sees the observation scaled to about `[−1, 1]` and learns
//! from rewards scaled by 0.1, so that `Q` (at most 10) stays within a few
//! widths of the Huber loss's quadratic part.
//!
//! `CartPole` counts as solved when the mean return of 100 consecutive
//! episodes is 195 or more (of at most 200); the run fails with a non-zero
//! exit code if that takes more than 1000 episodes.
//!
//! Run with `cargo run --release --example cartpole_dqn [OUTPUT_DIRECTORY]`
//! (`SEED=n` for another seed). Writes `cartpole_dqn-returns.png`, the
//! learning curve, to the directory, `target/cartpole_dqn` by default.

use std::error::Error;
use std::process::ExitCode;

use backprop::init::seeded_rng;
use backprop::loss::{Huber, Loss, Reduction, Terms};
use backprop::runtime::rand_core::Rng;
use backprop::schedule::{Linear, Schedule};
use backprop::update::hard_update;
use backprop::{Adam, Network, Optimizer};

mod rl;

use rl::cartpole::{ACTIONS, CartPole, Observation};
use rl::curve::Curve;
use rl::replay::{Replay, Transition};

backprop::network! {
    /// The scaled observation in, `Q(s, a)` for each of the two pushes out.
    /// The loss is computed outside the network, on the taken action only.
    pub Q = 4 -> relu(64) -> relu(64) -> linear(2); loss = none
}

/// The seed of the initial weights, the environment, the exploration and
/// the batches, unless the `SEED` environment variable gives another.
const SEED: u64 = 1;
/// The discount factor `γ`.
const GAMMA: f32 = 0.99;
/// Rewards are multiplied by this before the agent learns from them.
const REWARD_SCALE: f32 = 0.1;
const BATCH: usize = 64;
const REPLAY_CAPACITY: usize = 50_000;
/// Random steps stored before learning starts.
const WARMUP_STEPS: usize = 1_000;
/// Steps between two updates of the online network.
const LEARN_EVERY: usize = 4;
/// Steps between two copies of the online network into the target network.
const TARGET_EVERY: usize = 500;
/// `ε` falls linearly from 1 to `EPSILON_END` over this many steps.
const EPSILON_STEPS: usize = 10_000;
const EPSILON_END: f64 = 0.01;
/// Adam's learning rate falls linearly from 1e-3 to 1e-4 over the first
/// 50 000 steps, then stays (PyTorch's `LinearLR`).
const LEARNING_RATE: Linear = Linear {
    base: 1e-3,
    start_factor: 1.0,
    end_factor: 0.1,
    total_iters: 50_000,
};
/// Solved: a mean return of at least this over 100 consecutive episodes.
const GOAL: f64 = 195.0;
/// The run gives up after this many episodes.
const MAX_EPISODES: usize = 1000;

fn main() -> Result<ExitCode, Box<dyn Error>> {
    let seed = rl::seed(SEED)?;
    println!("DQN on CartPole, seed {seed}: {} parameters", Q::PARAMS);
    let mut rng = seeded_rng(seed);
    let mut online = Q::seeded(seed);
    let mut target = online.clone();
    let mut adam = Adam::new(LEARNING_RATE.learning_rate(0));
    let mut replay = Replay::<Observation, usize>::new(REPLAY_CAPACITY);
    let mut curve = Curve::new("cartpole_dqn").goal(GOAL);

    let mut total_steps = 0;
    let mut loss = None;
    while curve.episodes() < MAX_EPISODES && !curve.reached(GOAL) {
        let (mut cartpole, observation) = CartPole::reset(&mut rng);
        let mut state = scaled(observation);
        let (mut episode_return, mut steps) = (0.0, 0);
        loop {
            let action = if rl::uniform(&mut rng) < epsilon(total_steps) {
                rl::below(&mut rng, ACTIONS)
            } else {
                greedy(online.forward(&[state])[0])
            };
            let step = cartpole.step(action);
            let next_state = scaled(step.observation);
            replay.push(Transition {
                state,
                action,
                reward: REWARD_SCALE * step.reward,
                next_state,
                terminal: step.terminated,
            });
            state = next_state;
            episode_return += f64::from(step.reward);
            steps += 1;
            total_steps += 1;

            if replay.len() >= WARMUP_STEPS && total_steps.is_multiple_of(LEARN_EVERY) {
                adam.set_learning_rate(LEARNING_RATE.learning_rate(total_steps));
                loss = Some(learn(&mut online, &target, &mut adam, &replay, &mut rng)?);
            }
            if total_steps.is_multiple_of(TARGET_EVERY) {
                hard_update(&mut target, &online);
            }
            if step.done() {
                break;
            }
        }
        curve.record(
            episode_return,
            steps,
            format_args!(
                "ε {:.3}  loss {}",
                epsilon(total_steps),
                loss.map_or_else(|| "-".to_owned(), |l: f32| format!("{l:.5}"))
            ),
        );
    }
    let solved = curve.reached(GOAL);
    curve.finish(solved)
}

/// The observation divided by about the largest values it takes before an
/// episode ends: the cart's track (±2.4 m), the pole's angle (±12°, 0.21
/// rad) and 3 for the velocities.
fn scaled([x, x_dot, theta, theta_dot]: Observation) -> Observation {
    [x / 2.4, x_dot / 3.0, theta / 0.21, theta_dot / 3.0]
}

/// `ε` after `steps` steps.
fn epsilon(steps: usize) -> f64 {
    let progress = (steps as f64 / EPSILON_STEPS as f64).min(1.0);
    1.0 + progress * (EPSILON_END - 1.0)
}

/// The action with the largest `Q` (the first, on ties).
fn greedy(q: [f32; ACTIONS]) -> usize {
    (0..ACTIONS).fold(0, |best, a| if q[a] > q[best] { a } else { best })
}

/// One update of the online network on a batch drawn from the replay
/// buffer; returns the Huber loss before it.
fn learn<R: Rng>(
    online: &mut Q,
    target: &Q,
    adam: &mut Adam<Vec<f32>>,
    replay: &Replay<Observation, usize>,
    rng: &mut R,
) -> Result<f32, Box<dyn Error>> {
    let batch = replay.sample::<BATCH, _>(rng).map(|i| *replay.get(i));
    let states = batch.map(|t| t.state);
    let next_q = target.forward(&batch.map(|t| t.next_state));

    // The target of the taken action; the other entry is masked out.
    let mut targets = [[0.0; ACTIONS]; BATCH];
    let mut mask = [[false; ACTIONS]; BATCH];
    for (i, t) in batch.iter().enumerate() {
        let future = if t.terminal {
            0.0
        } else {
            next_q[i][greedy(next_q[i])]
        };
        targets[i][t.action] = t.reward + GAMMA * future;
        mask[i][t.action] = true;
    }

    let mut grad = Q::zeros();
    let trace = online.trace(&states);
    let mut grad_q = [[0.0; ACTIONS]; BATCH];
    let terms = Terms::new(Reduction::Mean).mask(&mask);
    let loss = Huber::default().evaluate(trace.output(), &targets, terms, Some(&mut grad_q[..]))?;
    trace.backward_into(&grad_q, &mut grad, None);
    adam.step(online.params_mut(), grad.params());
    Ok(loss)
}
