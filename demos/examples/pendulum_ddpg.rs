//! Deep deterministic policy gradient (DDPG) swings a pendulum up and
//! balances it (Gymnasium's `Pendulum-v1`).
//!
//! The critic `Q(s, a)` learns the return of taking torque `a` in state
//! `s`, from replayed transitions and slowly following target networks.
//! The actor `μ(s)` is trained to pick the torque the critic values most:
//! its loss is `−mean Q(s, μ(s))`, whose gradient with respect to the
//! actor's output is `−∂Q/∂a / B`. The critic provides `∂Q/∂a` as part of
//! its input gradient: `critic.backward(&[s, a], &ones)` backpropagates
//! `∂L/∂Q = 1` down to `∂Q/∂[s, a]`, whose last column is `∂Q/∂a`. Negated,
//! averaged and multiplied by the torque scale, it is the gradient
//! supplied to the actor's own backward pass, `actor.trace(&s)` then
//! `backward_into`. Neither network's built-in loss is used for this.
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
use backprop::{Adam, Network, Optimizer};

mod rl {
    pub(crate) mod pendulum;
}

use pending::{Curve, Replay, Transition, soft_update};
use rl::pendulum::{EPISODE_STEPS, MAX_TORQUE, Observation, Pendulum, standard_normal, uniform};

backprop::network! {
    /// The policy: the state `(cos θ, sin θ, θ̇)` in, the torque as a
    /// fraction of the largest out.
    pub Actor = 3 -> relu(64) -> relu(64) -> tanh(1); loss = mse
}

backprop::network! {
    /// The critic: the state and the torque in, the expected discounted
    /// return out.
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
        Ok(seed) => seed.parse().map_err(|_| format!("SEED={seed} is not a u64"))?,
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
                MAX_TORQUE * (2.0 * uniform(&mut rng) as f32 - 1.0)
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

    /// The actor's torque for `state` plus Gaussian noise, clipped.
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
            let bootstrap = if batch[i].terminal { 0.0 } else { GAMMA * next_values[i][0] };
            [batch[i].reward + bootstrap]
        });
        let actions = batch.map(|t| [t.action / MAX_TORQUE]);
        self.critic
            .train_step(&join(&states, &actions), &targets, &mut self.critic_optimizer);

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

/// Stand-ins for what is still to come into the library and the shared
/// reinforcement-learning code.
mod pending {
    use std::error::Error;
    use std::fmt::Display;
    use std::path::{Path, PathBuf};
    use std::process::ExitCode;
    use std::time::Instant;

    use backprop::runtime::rand_core::Rng;
    use backprop::{Float, Network};
    use plotters::prelude::*;
    use plotters::style::{FontStyle, register_font};

    /// `θ' ← τθ + (1−τ)θ'`, as `backprop::update::soft_update`.
    pub(crate) fn soft_update<N: Network>(target: &mut N, online: &N, tau: f64) {
        for (target, online) in target.params_mut().iter_mut().zip(online.params()) {
            *target = N::Float::from_f64(tau * online.to_f64() + (1.0 - tau) * target.to_f64());
        }
    }

    /// One step of experience.
    #[derive(Clone, Copy, Debug)]
    pub(crate) struct Transition<S, A> {
        pub(crate) state: S,
        pub(crate) action: A,
        pub(crate) reward: f32,
        pub(crate) next_state: S,
        pub(crate) terminal: bool,
    }

    /// A fixed-capacity ring of transitions.
    pub(crate) struct Replay<S, A> {
        transitions: Vec<Transition<S, A>>,
        capacity: usize,
        oldest: usize,
    }

    impl<S, A> Replay<S, A> {
        pub(crate) fn new(capacity: usize) -> Self {
            Self {
                transitions: Vec::with_capacity(capacity),
                capacity,
                oldest: 0,
            }
        }

        pub(crate) fn push(&mut self, transition: Transition<S, A>) {
            if self.transitions.len() < self.capacity {
                self.transitions.push(transition);
            } else {
                self.transitions[self.oldest] = transition;
                self.oldest = (self.oldest + 1) % self.capacity;
            }
        }

        pub(crate) fn sample<const B: usize, R: Rng + ?Sized>(&self, rng: &mut R) -> [usize; B] {
            let n = self.transitions.len();
            std::array::from_fn(|_| {
                ((super::uniform(rng) * n as f64) as usize).min(n - 1)
            })
        }

        pub(crate) fn get(&self, index: usize) -> &Transition<S, A> {
            &self.transitions[index]
        }
    }

    /// Episode returns of one run, a progress line, a chart, the last line.
    pub(crate) struct Curve {
        name: String,
        directory: PathBuf,
        returns: Vec<f64>,
        steps: usize,
        started: Instant,
        report_every: usize,
        window: usize,
        goal: Option<f64>,
    }

    impl Curve {
        pub(crate) fn new(name: &str) -> Self {
            let directory = std::env::args_os()
                .nth(1)
                .map_or_else(|| PathBuf::from("target").join(name), PathBuf::from);
            Self {
                name: name.to_owned(),
                directory,
                returns: Vec::new(),
                steps: 0,
                started: Instant::now(),
                report_every: 20,
                window: 100,
                goal: None,
            }
        }

        pub(crate) fn window(self, window: usize) -> Self {
            Self { window, ..self }
        }

        pub(crate) fn goal(self, goal: f64) -> Self {
            Self {
                goal: Some(goal),
                ..self
            }
        }

        pub(crate) fn report_every(self, episodes: usize) -> Self {
            Self {
                report_every: episodes.max(1),
                ..self
            }
        }

        pub(crate) fn record(&mut self, episode_return: f64, steps: usize, detail: impl Display) -> f64 {
            self.returns.push(episode_return);
            self.steps += steps;
            let mean = self.recent_mean();
            if self.returns.len() % self.report_every == 0 {
                println!(
                    "episode {:>4}  steps {:>6}  {:>6.0} steps/s  return {episode_return:>7.1}  mean of last {} {mean:>7.1}  {detail}",
                    self.returns.len(),
                    self.steps,
                    self.steps_per_second(),
                    self.returns.len().min(self.window),
                );
            }
            mean
        }

        fn mean_before(&self, end: usize) -> f64 {
            let recent = &self.returns[end.saturating_sub(self.window)..end];
            recent.iter().sum::<f64>() / recent.len().max(1) as f64
        }

        pub(crate) fn recent_mean(&self) -> f64 {
            self.mean_before(self.returns.len())
        }

        pub(crate) fn episodes(&self) -> usize {
            self.returns.len()
        }

        pub(crate) fn reached(&self, goal: f64) -> bool {
            self.returns.len() >= self.window && self.recent_mean() >= goal
        }

        fn steps_per_second(&self) -> f64 {
            self.steps as f64 / self.started.elapsed().as_secs_f64()
        }

        pub(crate) fn finish(self, solved: bool) -> Result<ExitCode, Box<dyn Error>> {
            let seconds = self.started.elapsed().as_secs_f64();
            std::fs::create_dir_all(&self.directory)?;
            let path = self.directory.join(format!("{}-returns.png", self.name));
            self.plot(&path)?;
            println!("wrote {} ({} bytes)", path.display(), std::fs::metadata(&path)?.len());
            let summary = format!(
                "mean return {:.1} over the last {} of {} episodes ({} steps, {:.0} steps/s) in {seconds:.1} s",
                self.recent_mean(),
                self.returns.len().min(self.window),
                self.returns.len(),
                self.steps,
                self.steps_per_second(),
            );
            if solved {
                println!("solved: {summary}");
                Ok(ExitCode::SUCCESS)
            } else {
                println!("not solved: {summary}");
                Ok(ExitCode::FAILURE)
            }
        }

        fn plot(&self, path: &Path) -> Result<(), Box<dyn Error>> {
            register_font(
                "sans-serif",
                FontStyle::Normal,
                epaint_default_fonts::UBUNTU_LIGHT,
            )
            .map_err(|_| "the bundled font is not a valid TrueType font")?;
            let episodes = self.returns.len().max(2);
            let (low, high) = self
                .returns
                .iter()
                .chain(&self.goal)
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &r| (l.min(r), h.max(r)));
            let margin = 0.05 * (high - low).max(1.0);
            let root = BitMapBackend::new(path, (800, 500)).into_drawing_area();
            root.fill(&WHITE)?;
            let mut chart = ChartBuilder::on(&root)
                .caption(format!("{}: return per episode", self.name), ("sans-serif", 22))
                .margin(15)
                .x_label_area_size(40)
                .y_label_area_size(60)
                .build_cartesian_2d(1..episodes, low - margin..high + margin)?;
            chart
                .configure_mesh()
                .x_desc("episode")
                .y_desc("return")
                .label_style(("sans-serif", 16))
                .draw()?;
            let light = BLUE.mix(0.35);
            chart
                .draw_series(LineSeries::new((1..).zip(self.returns.iter().copied()), light))?
                .label("episode return")
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], light));
            let means = (1..=self.returns.len()).map(|end| (end, self.mean_before(end)));
            chart
                .draw_series(LineSeries::new(means, RED.stroke_width(3)))?
                .label(format!("mean of the last {}", self.window))
                .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], RED.stroke_width(3)));
            if let Some(goal) = self.goal {
                chart
                    .draw_series(LineSeries::new([(1, goal), (episodes, goal)], BLACK))?
                    .label(format!("solved at {goal}"))
                    .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK));
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::LowerRight)
                .background_style(WHITE.mix(0.9))
                .border_style(BLACK)
                .label_font(("sans-serif", 16))
                .draw()?;
            root.present()?;
            Ok(())
        }
    }
}
