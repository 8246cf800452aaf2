#!/usr/bin/env python3
"""Writes tests/fixtures/schedules/*.json: the learning rates of
torch.optim.lr_scheduler's StepLR, LinearLR, CosineAnnealingLR and a
LinearLR warm-up before them (SequentialLR), the outside oracle of
tests/schedules.rs.

Each case records, for every step t from 0 (before the first
`scheduler.step()`), two sequences:

- `recursive`: the rate in the optimizer's param group after t calls of
  `scheduler.step()`, which PyTorch computes from the rate before
  (`get_lr`);
- `closed_form`: PyTorch's own `_get_closed_form_lr` at `last_epoch = t`
  (what `scheduler.step(epoch)` uses), composed for a warm-up as
  SequentialLR composes its schedulers: the warm-up's until the
  milestone, then the next scheduler's at t − milestone.

backprop computes the closed form. The steps go past `total_iters` and
`T_max`. The tests read these files and need no Python. To regenerate
(PyTorch 2.x, CPU is enough):

    python3 -m venv .venv && .venv/bin/pip install torch
    .venv/bin/python tools/schedule_fixtures.py
"""

import json
import pathlib
import warnings

import torch
from torch.optim import lr_scheduler

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "schedules"

STEPS = 50


# name: (base rate, steps, description). A description is a dict naming the
# schedule as backprop does, with PyTorch's argument names.
CASES = {
    "step": (0.1, STEPS, {"kind": "Step", "step_size": 7, "gamma": 0.5}),
    "step_default_gamma": (1.0, STEPS, {"kind": "Step", "step_size": 10, "gamma": 0.1}),
    "linear_warm_up": (0.1, STEPS, {"kind": "Linear", "start_factor": 0.25, "end_factor": 1.0, "total_iters": 10}),
    # PPO's annealing to zero.
    "linear_anneal": (3e-4, STEPS, {"kind": "Linear", "start_factor": 1.0, "end_factor": 0.0, "total_iters": 30}),
    "linear_defaults": (0.05, STEPS, {"kind": "Linear", "start_factor": 1.0 / 3, "end_factor": 1.0, "total_iters": 5}),
    # Two and a half half-periods: down, up, down.
    "cosine": (0.1, STEPS, {"kind": "Cosine", "eta_min": 0.001, "t_max": 20}),
    "cosine_to_zero": (3e-4, 60, {"kind": "Cosine", "eta_min": 0.0, "t_max": 50}),
    "warm_up_cosine": (
        1e-3,
        STEPS,
        {"kind": "WarmUp", "steps": 5, "start_factor": 0.1, "then": {"kind": "Cosine", "eta_min": 1e-5, "t_max": 30}},
    ),
    "warm_up_step": (
        0.2,
        STEPS,
        {"kind": "WarmUp", "steps": 8, "start_factor": 0.2, "then": {"kind": "Step", "step_size": 5, "gamma": 0.5}},
    ),
    "warm_up_linear": (
        0.01,
        STEPS,
        {
            "kind": "WarmUp",
            "steps": 4,
            "start_factor": 0.5,
            "then": {"kind": "Linear", "start_factor": 1.0, "end_factor": 0.1, "total_iters": 20},
        },
    ),
    # An inner LinearLR that starts below 1: PyTorch warms up to the base
    # rate and drops at the milestone; backprop warms up to where it starts.
    "warm_up_linear_below_one": (
        0.01,
        STEPS,
        {
            "kind": "WarmUp",
            "steps": 4,
            "start_factor": 0.5,
            "then": {"kind": "Linear", "start_factor": 0.5, "end_factor": 1.0, "total_iters": 10},
        },
    ),
}


def scheduler(optimizer, description):
    kind = description["kind"]
    if kind == "Step":
        return lr_scheduler.StepLR(optimizer, step_size=description["step_size"], gamma=description["gamma"])
    if kind == "Linear":
        return lr_scheduler.LinearLR(
            optimizer,
            start_factor=description["start_factor"],
            end_factor=description["end_factor"],
            total_iters=description["total_iters"],
        )
    if kind == "Cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=description["t_max"], eta_min=description["eta_min"])
    if kind == "WarmUp":
        warm = lr_scheduler.LinearLR(
            optimizer, start_factor=description["start_factor"], end_factor=1.0, total_iters=description["steps"]
        )
        then = scheduler(optimizer, description["then"])
        return lr_scheduler.SequentialLR(optimizer, [warm, then], milestones=[description["steps"]])
    raise ValueError(kind)


def closed_form(sched, step):
    """PyTorch's `_get_closed_form_lr` at `last_epoch = step`."""
    if isinstance(sched, lr_scheduler.SequentialLR):
        (milestone,) = sched._milestones
        warm, then = sched._schedulers
        return closed_form(warm, step) if step < milestone else closed_form(then, step - milestone)
    saved = sched.last_epoch
    sched.last_epoch = step
    (rate,) = sched._get_closed_form_lr()
    sched.last_epoch = saved
    return float(rate)


def case(name, base, steps, description):
    param = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([param], lr=base)
    sched = scheduler(optimizer, description)
    recursive, closed = [], []
    for step in range(steps):
        recursive.append(optimizer.param_groups[0]["lr"])
        closed.append(closed_form(sched, step))
        optimizer.step()
        sched.step()
    return {
        "name": name,
        "torch": torch.__version__,
        "base": base,
        "schedule": description,
        "recursive": recursive,
        "closed_form": closed,
    }


def main():
    # SequentialLR passes an epoch to its schedulers' step at a milestone,
    # which PyTorch reports as deprecated.
    warnings.simplefilter("ignore", UserWarning)
    OUT.mkdir(parents=True, exist_ok=True)
    for name, (base, steps, description) in CASES.items():
        data = case(name, base, steps, description)
        (OUT / f"{name}.json").write_text(json.dumps(data, indent=1) + "\n")
        worst = max(
            abs(r - c) / max(abs(c), 1e-300) for r, c in zip(data["recursive"], data["closed_form"])
        )
        print(f"{name}: recursive within {worst:.1e} of the closed form")


if __name__ == "__main__":
    main()
