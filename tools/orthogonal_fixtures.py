#!/usr/bin/env python3
"""Writes tests/fixtures/orthogonal/network.json: torch.nn.init.orthogonal_
on the layers of a 5 -> 8 -> 8 -> 3 network (a tall, a square and a wide
weight in PyTorch's [out, in] layout), in float64, with the standard normal
draws it started from, the outside oracle of tests/orthogonal.rs.

backprop cannot draw PyTorch's numbers, so the test hands them to
`init::orthogonal` through a generator that replays them (it inverts the
Box-Muller transform backprop's normal draws use) and compares what comes
out with PyTorch's matrices: the orientation, the transposes, the QR and
the signs of R's diagonal must all be PyTorch's. The tests read this file
and need no Python. To regenerate (PyTorch 2.x, CPU is enough):

    python3 -m venv .venv && .venv/bin/pip install torch
    .venv/bin/python tools/orthogonal_fixtures.py
"""

import json
import math
import pathlib

import torch
from torch import nn

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "orthogonal"

WIDTHS = [5, 8, 8, 3]
GAINS = [math.sqrt(2.0), 1.0, 0.01]
SEED = 3


def main():
    generator = torch.Generator().manual_seed(SEED)
    normals, params = [], []
    for fan_in, fan_out, gain in zip(WIDTHS, WIDTHS[1:], GAINS):
        weight = torch.empty(fan_out, fan_in, dtype=torch.float64)
        # orthogonal_ starts with `new_empty((rows, cols)).normal_(0, 1, generator)`:
        # the same draws, from a copy of the generator's state.
        replica = torch.Generator().set_state(generator.get_state())
        normals += torch.empty(fan_out, fan_in, dtype=torch.float64).normal_(0, 1, generator=replica).flatten().tolist()
        nn.init.orthogonal_(weight, gain=gain, generator=generator)
        assert torch.equal(generator.get_state(), replica.get_state())
        # backprop's layout: W = weight.T row by row, then the (zero) bias.
        params += weight.T.flatten().tolist() + [0.0] * fan_out
    data = {
        "torch": torch.__version__,
        "seed": SEED,
        "widths": WIDTHS,
        "gains": GAINS,
        "normals": normals,
        "params": params,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "network.json").write_text(json.dumps(data, indent=1) + "\n")
    print(f"{len(normals)} draws, {len(params)} parameters")


if __name__ == "__main__":
    main()
