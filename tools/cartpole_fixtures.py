#!/usr/bin/env python3
"""Writes tests/fixtures/cartpole/trajectories.json: episodes of Gymnasium's
CartPole-v0 (the classic physics, its default `euler` integrator, episodes
cut at 200 steps), the outside oracle of the RL examples' environment,
demos/examples/rl/cartpole.rs, which demos/tests/cartpole.rs replays.

Each episode starts from a recorded state, set on the environment after its
reset, and records the actions, then every step's observation (float32, as
Gymnasium returns it) and whether the episode terminated (the pole fell or
the cart left the track) or was cut off at the step limit. Actions are
random, always to the right, or from a controller that balances the pole,
so that both endings occur. The tests need no Python. To regenerate:

    python3 -m venv .venv && .venv/bin/pip install gymnasium
    .venv/bin/python tools/cartpole_fixtures.py
"""

import json
import pathlib

import gymnasium as gym
import numpy as np

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "cartpole"


def random_actions(rng):
    return lambda observation: int(rng.integers(2))


def always_right(observation):
    return 1


def balancing(observation):
    # Push towards where the pole is falling, and back towards the centre.
    x, x_dot, theta, theta_dot = observation
    return int(theta + 0.5 * theta_dot + 0.01 * x + 0.05 * x_dot > 0)


def episode(name, state, policy):
    env = gym.make("CartPole-v0")
    env.reset(seed=0)
    env.unwrapped.state = np.array(state, dtype=np.float64)
    observation = np.array(state, dtype=np.float32)
    actions, observations, terminated, truncated = [], [], [], []
    while True:
        action = policy(observation)
        observation, reward, done, cut, _ = env.step(action)
        assert reward == 1.0
        actions.append(action)
        observations.append([float(v) for v in observation])
        terminated.append(bool(done))
        # The examples count a cut-off only where the pole has not fallen.
        truncated.append(bool(cut and not done))
        if done or cut:
            break
    return {
        "name": name,
        "state": [float(v) for v in state],
        "actions": actions,
        "observations": observations,
        "terminated": terminated,
        "truncated": truncated,
    }


def main():
    rng = np.random.default_rng(12)
    episodes = []
    for k in range(4):
        state = rng.uniform(-0.05, 0.05, size=4)
        episodes.append(episode(f"random_{k}", state, random_actions(rng)))
    episodes.append(episode("always_right", rng.uniform(-0.05, 0.05, size=4), always_right))
    # Off the centre and moving: the cart leaves the track.
    episodes.append(episode("off_centre", [2.3, 1.0, 0.0, 0.0], balancing))
    episodes.append(episode("balancing", rng.uniform(-0.05, 0.05, size=4), balancing))
    endings = [(e["name"], len(e["actions"]), e["terminated"][-1]) for e in episodes]
    assert any(not ended for _, _, ended in endings), f"no episode reached the limit: {endings}"
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "trajectories.json"
    path.write_text(json.dumps({"gymnasium": gym.__version__, "episodes": episodes}, indent=1) + "\n")
    print(f"wrote {path}: {endings}")


if __name__ == "__main__":
    main()
