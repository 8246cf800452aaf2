#!/usr/bin/env python3
"""Writes tests/fixtures/pytorch/recurrent_*.json: torch.nn.LSTM's and
torch.nn.GRU's outputs, final states and gradients for fixed weights,
inputs and initial states, the outside oracle of tests/recurrent.rs.

To regenerate (PyTorch 2.x, CPU is enough):

    python3 -m venv .venv && .venv/bin/pip install torch
    .venv/bin/python tools/recurrent_fixtures.py

Each case is one module with batch_first=True. `params` is its state dict
flattened in order (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0,
then _l1), which is backprop's layout. The loss is Σ weights ⊙ output, so
∂L/∂output = weights; every tensor is written as nested lists in
PyTorch's shape: x [B, T, I], output and weights [B, T, H], states
[layers, B, H].
"""

import json
import pathlib

import torch
from torch import nn

torch.set_default_dtype(torch.float64)

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "pytorch"

# name: (module, input width, hidden width, layers)
CASES = {
    "recurrent_lstm_one_layer": (nn.LSTM, 3, 4, 1),
    "recurrent_lstm_two_layers": (nn.LSTM, 3, 4, 2),
    "recurrent_gru_one_layer": (nn.GRU, 3, 4, 1),
    "recurrent_gru_two_layers": (nn.GRU, 3, 4, 2),
}
BATCH, STEPS = 2, 5


def fixture(name, spec, seed):
    module_type, inputs, hidden, layers = spec
    generator = torch.Generator().manual_seed(seed)
    module = module_type(inputs, hidden, num_layers=layers, batch_first=True)
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.copy_(0.5 * torch.randn(parameter.shape, generator=generator))
    x = torch.randn(BATCH, STEPS, inputs, generator=generator, requires_grad=True)
    h0 = (0.5 * torch.randn(layers, BATCH, hidden, generator=generator)).requires_grad_()
    c0 = (0.5 * torch.randn(layers, BATCH, hidden, generator=generator)).requires_grad_()
    weights = torch.randn(BATCH, STEPS, hidden, generator=generator)
    lstm = module_type is nn.LSTM
    if lstm:
        output, (h_n, c_n) = module(x, (h0, c0))
    else:
        output, h_n = module(x, h0)
    (weights * output).sum().backward()
    names = [name for name, _ in module.named_parameters()]
    expected = [
        f"{kind}_l{layer}" for layer in range(layers) for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    ]
    assert names == expected, names
    flat = lambda tensors: torch.cat([t.detach().reshape(-1) for t in tensors]).tolist()
    record = {
        "layers": layers,
        "params": flat(module.parameters()),
        "x": x.detach().tolist(),
        "h0": h0.detach().tolist(),
        "weights": weights.tolist(),
        "output": output.detach().tolist(),
        "h_n": h_n.detach().tolist(),
        "grad_params": flat(p.grad for p in module.parameters()),
        "grad_x": x.grad.tolist(),
        "grad_h0": h0.grad.tolist(),
    }
    if lstm:
        record["c0"] = c0.detach().tolist()
        record["c_n"] = c_n.detach().tolist()
        record["grad_c0"] = c0.grad.tolist()
    path = OUT / f"{name}.json"
    path.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {path.relative_to(OUT.parent.parent.parent)}")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for seed, (name, spec) in enumerate(CASES.items()):
        fixture(name, spec, seed)


if __name__ == "__main__":
    main()
