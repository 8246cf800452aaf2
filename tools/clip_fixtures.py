#!/usr/bin/env python3
"""Writes tests/fixtures/clipping/cases.json: torch.nn.utils.clip_grad_norm_ and
clip_grad_value_ on a few gradients, in float64 and float32, the outside
oracle of the clipping tests in tests/toolkit.rs.

Each gradient is a list of tensors, as a network's parameters are (a
weight matrix and a bias per layer); backprop clips the same values as one
flat slice. Each case records the gradient, the limit, what PyTorch returns
(the total norm before clipping) and the gradient after clipping, with
limits above and below the norm, the infinity norm, and an all-zero
gradient. The tests read these files and need no Python. To regenerate
(PyTorch 2.x, CPU is enough):

    python3 -m venv .venv && .venv/bin/pip install torch
    .venv/bin/python tools/clip_fixtures.py
"""

import json
import math
import pathlib

import torch

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "clipping"

SEED = 7


def gradients(generator):
    """name: list of shapes and a scale, drawn from N(0, scale²)."""
    def draw(shapes, scale):
        return [scale * torch.randn(shape, generator=generator, dtype=torch.float64) for shape in shapes]

    mixed = draw([(3, 2), (3,), (1, 3), (1,)], 1.0)
    mixed[0][1, 1] = 40.0  # one large entry, which dominates the 2-norm
    mixed[1][2] = 0.0
    return {
        # The seed network's shapes: W¹ (3×2 in PyTorch's layout), b¹, W², b².
        "seed_network": draw([(3, 2), (3,), (1, 3), (1,)], 1.0),
        "mixed": mixed,
        "tiny": draw([(4, 4), (4,)], 1e-4),
        "large": draw([(8, 8), (8,), (2, 8), (2,)], 50.0),
        "zeros": [torch.zeros((2, 3), dtype=torch.float64), torch.zeros((2,), dtype=torch.float64)],
    }


def flat(tensors):
    # backprop's layout is W = weight.T row by row, but clipping treats
    # every entry alike, so any fixed order of the same values will do.
    return [value for tensor in tensors for value in tensor.flatten().tolist()]


def norm_case(name, grads, dtype, max_norm, norm_type):
    params = [torch.zeros_like(g, dtype=dtype, requires_grad=True) for g in grads]
    for param, grad in zip(params, grads):
        param.grad = grad.to(dtype).clone()
    before = flat([p.grad for p in params])
    total = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type=norm_type)
    return {
        "name": name,
        "function": "clip_grad_norm_",
        "dtype": str(dtype).removeprefix("torch."),
        "max_norm": max_norm,
        "norm_type": "inf" if math.isinf(norm_type) else "2",
        "grads": before,
        "norm": total.item(),
        "clipped": flat([p.grad for p in params]),
    }


def value_case(name, grads, dtype, clip):
    params = [torch.zeros_like(g, dtype=dtype, requires_grad=True) for g in grads]
    for param, grad in zip(params, grads):
        param.grad = grad.to(dtype).clone()
    before = flat([p.grad for p in params])
    torch.nn.utils.clip_grad_value_(params, clip)
    return {
        "name": name,
        "function": "clip_grad_value_",
        "dtype": str(dtype).removeprefix("torch."),
        "clip": clip,
        "grads": before,
        "clipped": flat([p.grad for p in params]),
    }


def main():
    generator = torch.Generator().manual_seed(SEED)
    cases = []
    header = {"torch": torch.__version__, "seed": SEED}
    for grad_name, grads in gradients(generator).items():
        norm = math.sqrt(sum(float((g * g).sum()) for g in grads))
        largest = max(float(g.abs().max()) for g in grads)
        for dtype in (torch.float64, torch.float32):
            short = "f64" if dtype == torch.float64 else "f32"
            # Limits below the norm (clipped), at twice it (untouched) and 1.0.
            for label, max_norm in (("half", norm / 2), ("double", 2 * norm + 1.0), ("one", 1.0)):
                cases.append(norm_case(f"norm_{grad_name}_{label}_{short}", grads, dtype, max_norm, 2.0))
            cases.append(norm_case(f"norm_inf_{grad_name}_{short}", grads, dtype, largest / 4 + 1e-3, math.inf))
            cases.append(value_case(f"value_{grad_name}_{short}", grads, dtype, largest / 3 + 1e-3))
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "cases.json").write_text(json.dumps({**header, "cases": cases}, indent=1) + "\n")
    print(f"{len(cases)} cases in {OUT / 'cases.json'}")


if __name__ == "__main__":
    main()
