#!/usr/bin/env python3
"""Writes tests/fixtures/pytorch/*.json: PyTorch's outputs, losses and
gradients for fixed weights and inputs, the outside oracle of
tests/pytorch.rs.

Each network here is also declared with `backprop::network!` in
tests/pytorch.rs under the same name. The tests read these files and need no
Python. To regenerate (PyTorch 2.x, CPU is enough):

    python3 -m venv .venv && .venv/bin/pip install torch
    .venv/bin/python tools/pytorch_fixtures.py

Conventions: backprop stores W as n_in × n_out (rows are samples, Z = H·W + b);
PyTorch's nn.Linear stores its transpose, so `params` holds weight.T row by row,
then the bias, layer by layer.
"""

import json
import pathlib

import torch
from torch import nn

torch.set_default_dtype(torch.float64)

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "pytorch"

# name: (input width, [(activation module or None, width)], loss, batch, input scale)
# An activation of "softmax" or "sigmoid" before a fused loss is applied by the loss.
NETWORKS = {
    "seed_mse": (2, [(nn.Sigmoid(), 3), (None, 1)], "mse", 4, 1.0),
    "tanh_relu_softmax_cross_entropy": (4, [(nn.Tanh(), 6), (nn.ReLU(), 5), ("softmax", 3)], "cross_entropy", 5, 1.0),
    "leaky_elu_sigmoid_bce": (3, [(nn.LeakyReLU(0.2), 5), (nn.ELU(0.7), 4), ("sigmoid", 2)], "bce", 6, 1.5),
    "gelu_gelu_tanh_linear_huber": (5, [(nn.GELU(), 6), (nn.GELU(approximate="tanh"), 4), (None, 3)], "huber", 5, 1.0),
    "silu_softplus_tanh_mae": (3, [(nn.SiLU(), 7), (nn.Softplus(beta=2.0), 5), (nn.Tanh(), 2)], "mae", 7, 1.0),
    "relu_softmax_mse": (6, [(nn.ReLU(), 8), (nn.Softmax(dim=1), 4)], "mse", 3, 1.0),
    "softplus_threshold_linear_mse": (4, [(nn.Softplus(), 3), (None, 2)], "mse", 4, 30.0),
    "deep_five_layers_mse": (3, [(nn.Tanh(), 4), (nn.Sigmoid(), 5), (nn.ReLU(), 4), (nn.SiLU(), 3), (None, 2)], "mse", 2, 1.0),
    "large_logits_cross_entropy": (3, [(None, 4), ("softmax", 4)], "cross_entropy", 3, 300.0),
    "large_logits_bce": (3, [(None, 4), ("sigmoid", 4)], "bce", 3, 300.0),
}


def targets(loss, batch, width, generator):
    if loss == "cross_entropy":
        raw = torch.rand(batch, width, generator=generator)
        probabilities = raw / raw.sum(dim=1, keepdim=True)
        probabilities[0] = torch.nn.functional.one_hot(torch.tensor(width - 1), width).double()
        return probabilities
    if loss == "bce":
        return torch.rand(batch, width, generator=generator)
    return torch.randn(batch, width, generator=generator)


def loss_value(loss, logits, output, y):
    if loss == "mse":
        return nn.MSELoss()(output, y)
    if loss == "mae":
        return nn.L1Loss()(output, y)
    if loss == "huber":
        return nn.HuberLoss(delta=0.5)(output, y)
    if loss == "cross_entropy":
        return nn.CrossEntropyLoss()(logits, y)
    if loss == "bce":
        return nn.BCEWithLogitsLoss()(logits, y)
    raise ValueError(loss)


def fixture(name, spec, seed):
    inputs, layers, loss, batch, scale = spec
    generator = torch.Generator().manual_seed(seed)
    linears, activations = [], []
    width_in = inputs
    for activation, width in layers:
        linear = nn.Linear(width_in, width)
        with torch.no_grad():
            linear.weight.copy_(torch.randn(width, width_in, generator=generator) / width_in**0.5)
            linear.bias.copy_(0.1 * torch.randn(width, generator=generator))
        linears.append(linear)
        activations.append(activation)
        width_in = width
    x = (scale * torch.randn(batch, inputs, generator=generator)).requires_grad_(True)
    y = targets(loss, batch, width_in, generator)

    h = x
    for linear, activation in zip(linears, activations):
        z = linear(h)
        if activation == "softmax":
            logits, h = z, torch.softmax(z, dim=1)
        elif activation == "sigmoid":
            logits, h = z, torch.sigmoid(z)
        elif activation is None:
            logits, h = z, z
        else:
            logits, h = z, activation(z)
    value = loss_value(loss, logits, h, y)
    value.backward()

    params, grads = [], []
    for linear in linears:
        params += linear.weight.detach().T.flatten().tolist() + linear.bias.detach().tolist()
        grads += linear.weight.grad.T.flatten().tolist() + linear.bias.grad.tolist()
    return {
        "name": name,
        "torch": torch.__version__,
        "params": params,
        "x": x.detach().tolist(),
        "y": y.tolist(),
        "output": h.detach().tolist(),
        "loss": value.item(),
        "grad_params": grads,
        "grad_x": x.grad.tolist(),
    }


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for seed, (name, spec) in enumerate(NETWORKS.items()):
        data = fixture(name, spec, seed)
        (OUT / f"{name}.json").write_text(json.dumps(data, indent=1) + "\n")
        print(f"{name}: loss {data['loss']:.6g}")


if __name__ == "__main__":
    main()
