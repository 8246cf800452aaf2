#!/usr/bin/env python3
"""Writes tests/fixtures/losses/cases.json: PyTorch's values and gradients of
the batch losses with masks, per-sample weights, reductions, class-index
targets and label smoothing, the outside oracle of tests/losses.rs.

To regenerate (PyTorch 2.x, CPU is enough):

    python3 -m venv .venv && .venv/bin/pip install torch
    .venv/bin/python tools/loss_fixtures.py

Where PyTorch has the option itself (`reduction`, `label_smoothing`,
`ignore_index`) the case uses it; masks and per-sample weights are written
as PyTorch code writes them, `(w[:, None] * l * m).sum() / m.sum()` on the
losses of `reduction="none"`, and `(w * l).mean()` for weighted rows.
"""

import json
import pathlib

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "losses"

ROWS, COLUMNS = 5, 3


def elementwise(name, delta):
    """PyTorch's loss `name` on outputs and targets, with `reduction`."""
    if name == "mse":
        return lambda o, t, reduction: F.mse_loss(o, t, reduction=reduction)
    if name == "mae":
        return lambda o, t, reduction: F.l1_loss(o, t, reduction=reduction)
    if name == "huber":
        return lambda o, t, reduction: F.huber_loss(o, t, reduction=reduction, delta=delta)
    if name == "bce_logits":
        return lambda o, t, reduction: F.binary_cross_entropy_with_logits(
            o, t, reduction=reduction
        )
    raise ValueError(name)


def element_case(generator, name, delta, reduction, masked, weighted):
    output = (torch.randn(ROWS, COLUMNS, generator=generator) * 2.0).requires_grad_()
    if name == "bce_logits":
        target = torch.rand(ROWS, COLUMNS, generator=generator)
    else:
        target = torch.randn(ROWS, COLUMNS, generator=generator)
    mask = torch.rand(ROWS, COLUMNS, generator=generator) < 0.5 if masked else None
    if masked:
        mask[0, 0] = True  # at least one element counts
    weights = torch.rand(ROWS, generator=generator) * 2.0 if weighted else None
    loss = elementwise(name, delta)
    if mask is None and weights is None:
        value = loss(output, target, reduction)
    else:
        terms = loss(output, target, "none")
        m = mask.double() if mask is not None else torch.ones(ROWS, COLUMNS)
        w = weights[:, None] if weights is not None else torch.ones(ROWS, 1)
        total = (w * terms * m).sum()
        value = total / m.sum() if reduction == "mean" else total
    value.backward()
    return {
        "kind": "element",
        "loss": name,
        "delta": delta,
        "reduction": reduction,
        "output": output.detach().tolist(),
        "target": target.tolist(),
        "mask": mask.tolist() if mask is not None else None,
        "weights": weights.tolist() if weights is not None else None,
        "value": value.item(),
        "grad": output.grad.tolist(),
    }


def label_case(generator, smoothing, reduction, masked, weighted, scale):
    logits = (torch.randn(ROWS, COLUMNS, generator=generator) * scale).requires_grad_()
    labels = torch.randint(0, COLUMNS, (ROWS,), generator=generator)
    mask = torch.rand(ROWS, generator=generator) < 0.6 if masked else None
    if masked:
        mask[0] = True
    weights = torch.rand(ROWS, generator=generator) * 2.0 if weighted else None
    if weights is None:
        # A masked-out row is PyTorch's ignore_index.
        targets = labels.clone()
        if mask is not None:
            targets[~mask] = -100
        value = F.cross_entropy(
            logits, targets, reduction=reduction, label_smoothing=smoothing
        )
    else:
        terms = F.cross_entropy(logits, labels, reduction="none", label_smoothing=smoothing)
        m = mask.double() if mask is not None else torch.ones(ROWS)
        total = (weights * terms * m).sum()
        value = total / m.sum() if reduction == "mean" else total
    value.backward()
    return {
        "kind": "labels",
        "smoothing": smoothing,
        "reduction": reduction,
        "output": logits.detach().tolist(),
        "labels": labels.tolist(),
        "mask": mask.tolist() if mask is not None else None,
        "weights": weights.tolist() if weights is not None else None,
        "value": value.item(),
        "grad": logits.grad.tolist(),
    }


def main():
    generator = torch.Generator().manual_seed(20261202)
    cases = {}
    for name, delta in [("mse", None), ("mae", None), ("huber", 1.0), ("huber", 0.5), ("bce_logits", None)]:
        for reduction in ["mean", "sum"]:
            for masked, weighted in [(False, False), (True, False), (False, True), (True, True)]:
                key = f"{name}{'' if delta is None else delta}_{reduction}"
                key += "_mask" if masked else ""
                key += "_weights" if weighted else ""
                cases[key] = element_case(generator, name, delta, reduction, masked, weighted)
    for smoothing in [0.0, 0.1]:
        for reduction in ["mean", "sum"]:
            for masked, weighted in [(False, False), (True, False), (False, True), (True, True)]:
                key = f"cross_entropy_labels_smoothing{smoothing}_{reduction}"
                key += "_mask" if masked else ""
                key += "_weights" if weighted else ""
                cases[key] = label_case(generator, smoothing, reduction, masked, weighted, 2.0)
    # Logits far beyond exp's range: log-sum-exp must keep them finite.
    cases["cross_entropy_labels_large_logits"] = label_case(
        generator, 0.1, "mean", False, False, 400.0
    )
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "cases.json"
    path.write_text(json.dumps(cases, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(cases)} cases to {path}")


if __name__ == "__main__":
    main()
