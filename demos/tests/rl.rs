//! The RL examples' shared code: `CartPole` replays episodes recorded from
//! Gymnasium (`tools/cartpole_fixtures.py`), the replay buffer keeps the
//! newest transitions and samples reproducibly, and the learning curve
//! counts a task solved on the mean of the last 100 episodes only.

// Exact comparisons: a reward of exactly 1, the same seed giving the same draws.
#![allow(clippy::float_cmp)]

#[path = "../examples/rl/mod.rs"]
mod rl;

use std::path::Path;

use rl::cartpole::CartPole;
use rl::curve::Curve;
use rl::replay::{Replay, Transition};
use serde_json::Value;

fn fixture() -> Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/cartpole/trajectories.json");
    let text = std::fs::read_to_string(&path).expect("the fixture is checked in");
    serde_json::from_str(&text).expect("the fixture is valid JSON")
}

fn floats(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .expect("an array")
        .iter()
        .map(|v| v.as_f64().expect("a number"))
        .collect()
}

fn bools(value: &Value) -> Vec<bool> {
    value
        .as_array()
        .expect("an array")
        .iter()
        .map(|v| v.as_bool().expect("a boolean"))
        .collect()
}

#[test]
fn cartpole_replays_gymnasium_episodes_step_for_step() {
    let fixture = fixture();
    let episodes = fixture["episodes"].as_array().expect("episodes");
    let (mut terminated_episodes, mut truncated_episodes) = (0, 0);
    for episode in episodes {
        let name = episode["name"].as_str().expect("a name");
        let state = floats(&episode["state"]);
        let mut cartpole = CartPole::from_state([state[0], state[1], state[2], state[3]]);
        let actions = episode["actions"].as_array().expect("actions");
        let observations = episode["observations"].as_array().expect("observations");
        let (terminated, truncated) = (bools(&episode["terminated"]), bools(&episode["truncated"]));
        for (t, action) in actions.iter().enumerate() {
            let action = usize::try_from(action.as_u64().expect("an action")).expect("0 or 1");
            let step = cartpole.step(action);
            let expected = floats(&observations[t]);
            for (k, (&ours, &gymnasium)) in step.observation.iter().zip(&expected).enumerate() {
                // Both are the same f64 computation rounded to f32.
                assert!(
                    (f64::from(ours) - gymnasium).abs() <= 1e-6 * gymnasium.abs().max(1.0),
                    "{name}, step {t}, variable {k}: {ours} here, {gymnasium} in Gymnasium"
                );
            }
            assert_eq!(step.reward, 1.0, "{name}, step {t}");
            assert_eq!(
                step.terminated, terminated[t],
                "{name}, step {t}: terminated"
            );
            assert_eq!(step.truncated, truncated[t], "{name}, step {t}: truncated");
            assert_eq!(
                step.done(),
                t + 1 == actions.len(),
                "{name}, step {t}: the episode ends where Gymnasium's does"
            );
        }
        terminated_episodes += usize::from(terminated[terminated.len() - 1]);
        truncated_episodes += usize::from(truncated[truncated.len() - 1]);
    }
    assert!(
        terminated_episodes > 0 && truncated_episodes > 0,
        "both endings are covered"
    );
}

#[test]
fn cartpole_reset_draws_each_variable_within_five_hundredths() {
    let mut rng = backprop::init::seeded_rng(3);
    for _ in 0..1000 {
        let (_, observation) = CartPole::reset(&mut rng);
        assert!(
            observation.iter().all(|v| (-0.05..0.05).contains(v)),
            "{observation:?}"
        );
    }
    let first = CartPole::reset(&mut backprop::init::seeded_rng(3)).1;
    assert_eq!(
        first,
        CartPole::reset(&mut backprop::init::seeded_rng(3)).1,
        "the same seed, the same start"
    );
}

fn transition(reward: f32) -> Transition<[f32; 1], usize> {
    Transition {
        state: [reward],
        action: 0,
        reward,
        next_state: [reward],
        terminal: false,
    }
}

#[test]
fn replay_buffer_keeps_the_newest_transitions_once_full() {
    let mut replay = Replay::new(3);
    for reward in 0..5 {
        replay.push(transition(reward as f32));
    }
    assert_eq!(replay.len(), 3);
    let mut kept: Vec<f32> = (0..3).map(|i| replay.get(i).reward).collect();
    kept.sort_by(f32::total_cmp);
    assert_eq!(kept, [2.0, 3.0, 4.0]);
}

#[test]
fn replay_buffer_samples_every_stored_index_reproducibly() {
    let mut replay = Replay::new(100);
    for reward in 0..10 {
        replay.push(transition(reward as f32));
    }
    let mut rng = backprop::init::seeded_rng(9);
    let mut seen = [false; 10];
    for _ in 0..20 {
        for index in replay.sample::<64, _>(&mut rng) {
            seen[index] = true;
        }
    }
    assert!(
        seen.iter().all(|&s| s),
        "every stored transition is drawn: {seen:?}"
    );
    let draw = |seed| replay.sample::<64, _>(&mut backprop::init::seeded_rng(seed));
    assert_eq!(draw(4), draw(4));
    assert_ne!(draw(4), draw(5));
}

#[test]
fn curve_is_solved_only_by_the_mean_of_the_last_hundred_episodes() {
    let mut curve = Curve::new("test");
    // 99 perfect episodes are not yet 100.
    for _ in 0..99 {
        curve.record(200.0, 200, "");
    }
    assert!(!curve.reached(195.0));
    assert_eq!(curve.recent_mean(), 200.0);
    // One bad episode: the mean of all 100 is 198.1.
    curve.record(10.0, 10, "");
    assert!((curve.recent_mean() - 198.1).abs() < 1e-9);
    assert!(curve.reached(195.0) && !curve.reached(199.0));
    // 50 more bad ones push the first 50 perfect ones out of the window.
    for _ in 0..50 {
        curve.record(10.0, 10, "");
    }
    assert_eq!(curve.episodes(), 150);
    assert!((curve.recent_mean() - (49.0 * 200.0 + 51.0 * 10.0) / 100.0).abs() < 1e-9);
    assert!(!curve.reached(195.0));
    assert!(
        (curve.best_mean() - 198.1).abs() < 1e-9,
        "the best window is the first"
    );
}
