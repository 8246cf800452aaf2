#!/usr/bin/env python3
"""Writes tests/fixtures/optimizers/*.json: three steps of torch.optim's SGD,
Adam and AdamW for each option set, in float64, the outside oracle of
tests/optimizers.rs.

Each case starts from the same parameters and feeds the same three
gradients; the file records the options, the parameters, the gradients and
the parameters after every step; Adam and AdamW run with `amsgrad=True`
too. The `*_rates` cases change the learning rate before every step, as
a scheduler does. One more case, `network_seed_adam`, trains the seed network
(2 -> sigmoid(3) -> linear(1), mse) for three Adam steps, so the gradients
there come from the network itself. The tests read these
files and need no Python. To regenerate (PyTorch 2.x, CPU is enough):

    python3 -m venv .venv && .venv/bin/pip install torch
    .venv/bin/python tools/optimizer_fixtures.py

`foreach=False` asks for PyTorch's single-tensor implementations, the ones
backprop follows operation for operation (they are also what PyTorch picks
on the CPU).
"""

import json
import pathlib

import torch
from torch import nn

torch.set_default_dtype(torch.float64)

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "optimizers"

STEPS = 3

# name: (torch.optim class, keyword arguments). Every option not given is
# PyTorch's default, which the Rust tests rely on too.
CASES = {
    "sgd": (torch.optim.SGD, {"lr": 0.1}),
    "sgd_momentum": (torch.optim.SGD, {"lr": 0.1, "momentum": 0.9}),
    "sgd_dampening": (torch.optim.SGD, {"lr": 0.1, "momentum": 0.9, "dampening": 0.3}),
    "sgd_nesterov": (torch.optim.SGD, {"lr": 0.05, "momentum": 0.8, "nesterov": True}),
    "sgd_weight_decay": (torch.optim.SGD, {"lr": 0.1, "weight_decay": 0.01}),
    "sgd_everything": (
        torch.optim.SGD,
        {"lr": 0.05, "momentum": 0.7, "dampening": 0.2, "weight_decay": 0.05},
    ),
    "sgd_nesterov_weight_decay": (
        torch.optim.SGD,
        {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1},
    ),
    "adam": (torch.optim.Adam, {}),
    "adam_lr": (torch.optim.Adam, {"lr": 0.05}),
    "adam_options": (
        torch.optim.Adam,
        {"lr": 0.02, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1},
    ),
    # 1 - beta1 >= 0.5 takes the other branch of PyTorch's lerp.
    "adam_small_beta1": (torch.optim.Adam, {"lr": 0.01, "betas": (0.3, 0.5)}),
    "adamw": (torch.optim.AdamW, {}),
    "adamw_options": (
        torch.optim.AdamW,
        {"lr": 0.03, "betas": (0.85, 0.995), "eps": 1e-7, "weight_decay": 0.2},
    ),
    # A small beta2 lets the second moment fall, so that its maximum matters.
    "adam_amsgrad": (
        torch.optim.Adam,
        {"lr": 0.05, "betas": (0.9, 0.6), "weight_decay": 0.01, "amsgrad": True},
    ),
    "adamw_amsgrad": (torch.optim.AdamW, {"lr": 0.02, "betas": (0.8, 0.5), "amsgrad": True}),
}

# Cases whose learning rate changes between steps, as a scheduler changes
# it (`param_groups[0]["lr"] = rate` before each step); the momentum and
# the moments carry on.
RATE_CASES = {
    "sgd_momentum_rates": (torch.optim.SGD, {"lr": 0.1, "momentum": 0.9}, [0.1, 0.02, 0.05]),
    "adam_rates": (torch.optim.Adam, {"lr": 0.05}, [0.05, 0.01, 0.2]),
    # AdamW's decay uses the rate of its own step, 1 - lr·λ.
    "adamw_rates": (torch.optim.AdamW, {"lr": 0.03, "weight_decay": 0.2}, [0.03, 0.3, 0.001]),
}

# The seed of the network case, apart from the cases' own.
NETWORK_SEED = 13


def options(cls, kwargs):
    """Every option the optimizer ran with, defaults included."""
    optimizer = cls([torch.zeros(1, requires_grad=True)], **kwargs)
    group = optimizer.param_groups[0]
    if cls is torch.optim.SGD:
        keys = ["lr", "momentum", "dampening", "nesterov", "weight_decay"]
    else:
        keys = ["lr", "betas", "eps", "weight_decay", "amsgrad"]
    return {key: group[key] for key in keys}


def parameters():
    # Mixed signs and magnitudes, and a zero.
    return torch.tensor([1.5, -0.75, 0.0, 2.25, -3.0, 0.125, 0.6])


def gradients(generator):
    rows = torch.randn(STEPS, 7, generator=generator)
    rows[:, 2] *= 100.0  # one large gradient
    rows[1, 5] = 0.0  # and a zero one
    rows[2, 1] *= 1e-4  # and a tiny one
    return rows


def case(name, cls, kwargs, seed, rates=None):
    generator = torch.Generator().manual_seed(seed)
    param = parameters().requires_grad_(True)
    initial = param.detach().clone()
    optimizer = cls([param], foreach=False, **kwargs)
    recorded_options = options(cls, kwargs)
    grads = gradients(generator)
    steps = []
    for step, grad in enumerate(grads):
        if rates is not None:
            optimizer.param_groups[0]["lr"] = rates[step]
        param.grad = grad.clone()
        optimizer.step()
        steps.append(param.detach().tolist())
    data = {
        "name": name,
        "torch": torch.__version__,
        "optimizer": cls.__name__,
        "options": recorded_options,
        "params": initial.tolist(),
        "grads": grads.tolist(),
        "steps": steps,
    }
    if rates is not None:
        data["rates"] = rates
    return data


def network_case(seed):
    """Three Adam steps on the seed network, gradients from the network."""
    generator = torch.Generator().manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1))
    with torch.no_grad():
        for module in (model[0], model[2]):
            module.weight.copy_(torch.randn(module.weight.shape, generator=generator))
            module.bias.copy_(0.1 * torch.randn(module.bias.shape, generator=generator))
    x = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = torch.tensor([[0.0], [1.0], [1.0], [0.0]])
    kwargs = {"lr": 0.05}
    optimizer = torch.optim.Adam(model.parameters(), foreach=False, **kwargs)

    def flat():
        values = []
        for module in (model[0], model[2]):
            # backprop's layout: W = weight.T row by row, then b.
            values += module.weight.detach().T.flatten().tolist() + module.bias.detach().tolist()
        return values

    initial, grads, steps, losses = flat(), [], [], []
    for _ in range(STEPS):
        optimizer.zero_grad()
        loss = nn.MSELoss()(model(x), y)
        loss.backward()
        grad = []
        for module in (model[0], model[2]):
            grad += module.weight.grad.T.flatten().tolist() + module.bias.grad.tolist()
        optimizer.step()
        grads.append(grad)
        losses.append(loss.item())
        steps.append(flat())
    return {
        "name": "network_seed_adam",
        "torch": torch.__version__,
        "optimizer": "Adam",
        "options": options(torch.optim.Adam, kwargs),
        "params": initial,
        "grads": grads,
        "steps": steps,
        "x": x.tolist(),
        "y": y.tolist(),
        "losses": losses,
    }


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    fixtures = [case(name, cls, kwargs, seed) for seed, (name, (cls, kwargs)) in enumerate(CASES.items())]
    fixtures.append(network_case(NETWORK_SEED))
    first_seed = len(CASES)
    for seed, (name, (cls, kwargs, rates)) in enumerate(RATE_CASES.items(), start=first_seed):
        fixtures.append(case(name, cls, kwargs, seed, rates))
    for data in fixtures:
        (OUT / f"{data['name']}.json").write_text(json.dumps(data, indent=1) + "\n")
        print(f"{data['name']}: {data['steps'][-1][:3]}")


if __name__ == "__main__":
    main()
