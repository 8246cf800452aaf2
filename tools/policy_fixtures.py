#!/usr/bin/env python3
"""Writes tests/fixtures/policy/*.json: log-probabilities, entropies and
their autograd gradients from torch.distributions, in float64, the outside
oracle of tests/policy.rs.

- categorical.json: for each row of logits (extreme ones among them, ±50
  and ±1000, where a naive softmax overflows), `Categorical(logits=z)`'s
  probabilities, log-probabilities and entropy, and the gradients of
  `log_prob(a)` (every action a) and of `entropy()` with respect to z.
- squashed_gaussian.json: for each (μ, log σ, ε), the sample
  u = μ + σ·ε, a = tanh(u) and log π(a) from
  `TransformedDistribution(Normal(μ, σ), [TanhTransform(cache_size=1)])`
  (so log_prob(a) takes u from the cache rather than from atanh(a)), also
  recorded by SAC's explicit formula; the gradients of log π with respect to
  μ and log σ along the reparameterised path (ε fixed) and with u held
  fixed; the vector-Jacobian product of a given ∂L/∂a through
  a = tanh(μ + σ·ε); and, for clamped cases, the same with
  log σ = clamp(raw, -20, 2), gradients taken with respect to the raw values.

The tests read these files and need no Python. To regenerate (PyTorch 2.x,
CPU is enough):

    python3 -m venv .venv && .venv/bin/pip install torch
    .venv/bin/python tools/policy_fixtures.py
"""

import json
import math
import pathlib

import torch
import torch.nn.functional as F
from torch.distributions import Categorical, Normal, TransformedDistribution
from torch.distributions.transforms import TanhTransform

torch.set_default_dtype(torch.float64)

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "policy"

SEED = 7

# name: logits. Rows of 1 to 6 actions; the Rust test dispatches on length.
CATEGORICAL = {
    "single_action": [0.3],
    "two_even": [0.0, 0.0],
    "small": [0.5, -1.25, 2.0, 0.0],
    "ties": [1.0, 3.0, 3.0, -2.0, 0.5],
    "extreme_50": [50.0, -50.0, 0.0, 49.0, -50.0],
    "all_large": [1000.0, 999.0, 1001.5],
    "extreme_1000": [1000.0, -1000.0, 0.0, 3.0, -1000.0, 999.0],
    "near_deterministic": [30.0, -30.0, -30.0, -30.0],
    "random_6": None,  # drawn from the generator below
}

# name: (mean, log_std, raw log σ bounds or None). ε comes from the generator.
GAUSSIAN = {
    "one_dimension": ([0.3], [-0.5], None),
    "moderate": ([0.3, -1.2, 0.0, 0.7], [-0.5, 0.2, -1.0, 0.0], None),
    # |u| large: 1 - tanh²(u) underflows to 0 near |u| = 19 in float64.
    "saturated": ([8.0, -15.0, 25.0], [-3.0, 1.0, -2.0], None),
    "tiny_std": ([0.1, -0.4], [-12.0, -8.0], None),
    # Below, above, on both bounds, and inside: torch.clamp passes a gradient
    # only strictly inside.
    "clamped": ([0.2, -0.3, 0.5, 1.0, -0.6], [-25.0, 3.5, -20.0, 2.0, -1.0], (-20.0, 2.0)),
}


def categorical_case(name, logits):
    z = torch.tensor(logits, requires_grad=True)
    dist = Categorical(logits=z)
    log_prob_gradients = []
    log_prob = []
    for a in range(len(logits)):
        # A fresh distribution each time: each graph is backpropagated once.
        value = Categorical(logits=z).log_prob(torch.tensor(a))
        (gradient,) = torch.autograd.grad(value, z)
        log_prob.append(value.item())
        log_prob_gradients.append(gradient.tolist())
    entropy = Categorical(logits=z).entropy()
    (entropy_gradient,) = torch.autograd.grad(entropy, z)
    return {
        "name": name,
        "logits": logits,
        "probs": dist.probs.detach().tolist(),
        "log_probs": dist.logits.detach().tolist(),
        "log_prob": log_prob,
        "log_prob_gradients": log_prob_gradients,
        "entropy": entropy.item(),
        "entropy_gradient": entropy_gradient.tolist(),
    }


def sac_log_prob(mean, log_std, u):
    """SAC's explicit formula (Spinning Up's): Normal.log_prob(u) minus
    2 (log 2 - u - softplus(-2u)), summed over the action's entries."""
    normal = Normal(mean, log_std.exp()).log_prob(u).sum()
    return normal - (2 * (math.log(2) - u - F.softplus(-2 * u))).sum()


def gaussian_case(name, mean, raw_log_std, bounds, generator):
    n = len(mean)
    noise = torch.randn(n, generator=generator)
    grad_action = torch.randn(n, generator=generator)

    def parameters():
        mu = torch.tensor(mean, requires_grad=True)
        raw = torch.tensor(raw_log_std, requires_grad=True)
        log_std = raw.clamp(*bounds) if bounds else raw
        return mu, raw, log_std

    # The reparameterised path: u = μ + σ·ε, ε fixed, gradients through u.
    mu, raw, log_std = parameters()
    tanh = TanhTransform(cache_size=1)
    dist = TransformedDistribution(Normal(mu, log_std.exp()), [tanh])
    u = mu + log_std.exp() * noise
    a = tanh(u)
    log_prob = dist.log_prob(a).sum()
    reparameterized = torch.autograd.grad(log_prob, (mu, raw))

    # SAC's formula on the same u, also through u.
    mu2, raw2, log_std2 = parameters()
    u2 = mu2 + log_std2.exp() * noise
    sac = sac_log_prob(mu2, log_std2, u2)
    sac_reparameterized = torch.autograd.grad(sac, (mu2, raw2))

    # The action held fixed: u a constant.
    mu3, raw3, log_std3 = parameters()
    fixed = sac_log_prob(mu3, log_std3, u.detach())
    fixed_action = torch.autograd.grad(fixed, (mu3, raw3))

    # ∂L/∂a = grad_action backpropagated through a = tanh(μ + σ·ε).
    mu4, raw4, log_std4 = parameters()
    a4 = torch.tanh(mu4 + log_std4.exp() * noise)
    action_vjp = torch.autograd.grad(a4, (mu4, raw4), grad_outputs=grad_action)

    return {
        "name": name,
        "mean": mean,
        "log_std": raw_log_std,
        "bounds": list(bounds) if bounds else None,
        "noise": noise.tolist(),
        "pre_tanh": u.detach().tolist(),
        "action": a.detach().tolist(),
        "log_prob": log_prob.item(),
        "sac_log_prob": sac.item(),
        "reparameterized_gradient": {
            "mean": reparameterized[0].tolist(),
            "log_std": reparameterized[1].tolist(),
        },
        "sac_reparameterized_gradient": {
            "mean": sac_reparameterized[0].tolist(),
            "log_std": sac_reparameterized[1].tolist(),
        },
        "fixed_action_gradient": {
            "mean": fixed_action[0].tolist(),
            "log_std": fixed_action[1].tolist(),
        },
        "grad_action": grad_action.tolist(),
        "action_gradient": {
            "mean": action_vjp[0].tolist(),
            "log_std": action_vjp[1].tolist(),
        },
    }


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    generator = torch.Generator().manual_seed(SEED)
    categorical = []
    for name, logits in CATEGORICAL.items():
        if logits is None:
            logits = (3.0 * torch.randn(6, generator=generator)).tolist()
        categorical.append(categorical_case(name, logits))
    gaussian = [
        gaussian_case(name, mean, log_std, bounds, generator)
        for name, (mean, log_std, bounds) in GAUSSIAN.items()
    ]
    for stem, cases in (("categorical", categorical), ("squashed_gaussian", gaussian)):
        data = {"torch": torch.__version__, "cases": cases}
        (OUT / f"{stem}.json").write_text(json.dumps(data, indent=1) + "\n")
        print(f"{stem}: {len(cases)} cases")
    for case in gaussian:
        gap = abs(case["log_prob"] - case["sac_log_prob"])
        print(f"  {case['name']}: log π = {case['log_prob']:.6g}, SAC formula differs by {gap:.3g}")


if __name__ == "__main__":
    main()
