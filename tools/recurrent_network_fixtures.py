#!/usr/bin/env python3
"""Writes tests/fixtures/pytorch/recurrent_network_*.{safetensors,json}:
whole recurrent models built in PyTorch (recurrent modules, then
nn.Linear and activation modules, numbered as one nn.Sequential would
number them), their state dicts saved by safetensors.torch, and for fixed
inputs their outputs, MSE loss and the loss's gradient of every tensor:
the outside oracle of tests/recurrent_weights.rs.

To regenerate (PyTorch 2.x and safetensors, CPU is enough):

    python3 -m venv .venv && .venv/bin/pip install torch safetensors numpy
    .venv/bin/python tools/recurrent_network_fixtures.py

Inputs are batch_first [B, T, I]; the loss is nn.MSELoss() over every
step's output against `targets` [B, T, O], from the zero state.
"""

import json
import pathlib

import torch
from safetensors.torch import save_file
from torch import nn

torch.set_default_dtype(torch.float64)

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "pytorch"
BATCH, STEPS = 3, 7


class Model(nn.Module):
    """Modules "0", "1", …: recurrent ones run over the sequence, the others per step."""

    def __init__(self, modules):
        super().__init__()
        for index, module in enumerate(modules):
            self.add_module(str(index), module)

    def forward(self, x):
        for module in self.children():
            if isinstance(module, (nn.LSTM, nn.GRU)):
                x, _ = module(x)
            else:
                x = module(x)
        return x


# name: (the network! it loads into, modules)
CASES = {
    "recurrent_network_lstm_two_layers": (
        "1 -> lstm(8) -> lstm(8) -> linear(1); loss = mse; float = f64",
        lambda: [nn.LSTM(1, 8, num_layers=2, batch_first=True), nn.Linear(8, 1), nn.Identity()],
        1,
    ),
    "recurrent_network_gru_lstm_tanh": (
        "2 -> gru(5) -> lstm(4) -> tanh(3) -> linear(2); loss = mse; float = f64",
        lambda: [
            nn.GRU(2, 5, batch_first=True),
            nn.LSTM(5, 4, batch_first=True),
            nn.Linear(4, 3),
            nn.Tanh(),
            nn.Linear(3, 2),
            nn.Identity(),
        ],
        2,
    ),
}


def fixture(name, network, modules, seed):
    torch.manual_seed(seed)
    model = Model(modules())
    inputs = next(m for m in model.children() if isinstance(m, (nn.LSTM, nn.GRU))).input_size
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(BATCH, STEPS, inputs, generator=generator)
    output = model(x)
    targets = torch.randn(output.shape, generator=generator)
    loss = nn.MSELoss()(output, targets)
    loss.backward()
    state = {key: value.detach().contiguous() for key, value in model.state_dict().items()}
    save_file(state, OUT / f"{name}.safetensors")
    record = {
        "network": network,
        "x": x.tolist(),
        "output": output.detach().tolist(),
        "targets": targets.tolist(),
        "loss": loss.item(),
        "gradients": {key: p.grad.flatten().tolist() for key, p in model.named_parameters()},
        "shapes": {key: list(p.shape) for key, p in model.named_parameters()},
    }
    (OUT / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    for name, (network, modules, seed) in CASES.items():
        fixture(name, network, modules, seed)
        print(f"wrote {name}")
