#!/usr/bin/env python3
"""Writes tests/fixtures/safetensors/: models saved by PyTorch with
`safetensors.torch.save_file`, and each one's outputs for fixed inputs, which
tests/weights.rs loads and must reproduce. The fixtures are committed; the
tests need no Python. To regenerate (PyTorch 2.x, CPU is enough):

    python3 -m venv .venv && .venv/bin/pip install torch safetensors
    .venv/bin/python tools/safetensors_fixtures.py

The models are `nn.Sequential`s that alternate `nn.Linear` and an activation
module (`nn.Identity()` for a `linear` layer), so layer l's weights are
`{2(l-1)}.weight` (shape [out, in], the transpose of backprop's W) and
`{2(l-1)}.bias`: the layout `backprop::runtime::io` reads and writes.

The other direction, files saved by backprop loaded in PyTorch: the test
`files_for_pytorch_are_exported` saves networks with every parameterised
activation, in f32 and f64, each with inputs and backprop's outputs in a
`.json` beside it, into the directory BACKPROP_SAFETENSORS_EXPORT names
(relative to the repository's root); `verify` loads them. From the root:

    BACKPROP_SAFETENSORS_EXPORT=target/safetensors-export cargo test --test weights files_for_pytorch
    .venv/bin/python tools/safetensors_fixtures.py verify target/safetensors-export

`verify` rebuilds each exported network from the architecture recorded in
the file's metadata, loads the weights with `load_state_dict(strict=True)`
(which refuses missing or unexpected tensors and wrong shapes), and compares
PyTorch's outputs with the ones backprop recorded, to 1e-6.
"""

import json
import pathlib
import re
import sys

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "safetensors"

# name: (dtype, input width, [(activation module, width)], rows of inputs)
FIXTURES = {
    "tanh_linear_f32": (torch.float32, 4, [(nn.Tanh(), 5), (nn.Identity(), 3)], 11),
    "tanh_linear_f64": (torch.float64, 4, [(nn.Tanh(), 5), (nn.Identity(), 3)], 11),
    "relu_sigmoid_linear_f32": (torch.float32, 3, [(nn.ReLU(), 6), (nn.Sigmoid(), 4), (nn.Identity(), 2)], 9),
}


def fixture(name, spec, seed):
    dtype, inputs, layers, rows = spec
    torch.manual_seed(seed)
    modules, width_in = [], inputs
    for activation, width in layers:
        modules += [nn.Linear(width_in, width), activation]
        width_in = width
    model = nn.Sequential(*modules).to(dtype)
    with torch.no_grad():
        for module in model:
            if isinstance(module, nn.Linear):
                # Drawn in the model's dtype, so an f64 model has full-precision
                # weights, and biases away from zero so a swap would show.
                module.weight.copy_(torch.randn_like(module.weight) / module.in_features**0.5)
                module.bias.copy_(0.5 * torch.randn_like(module.bias))
    x = torch.randn(rows, inputs, dtype=dtype)
    with torch.no_grad():
        output = model(x)

    path = OUT / f"{name}.safetensors"
    save_file(model.state_dict(), path, metadata={"format": "pt"})
    path.chmod(0o644)  # save_file writes through a private temporary file

    # backprop's layout: W (n_in x n_out) row by row, then b, layer by layer.
    params = []
    for module in model:
        if isinstance(module, nn.Linear):
            params += module.weight.detach().T.flatten().tolist() + module.bias.detach().tolist()
    return {
        "name": name,
        "torch": torch.__version__,
        "dtype": str(dtype).removeprefix("torch."),
        "tensors": {key: list(value.shape) for key, value in model.state_dict().items()},
        "params": params,
        "x": x.tolist(),
        "output": output.tolist(),
    }


def module(activation):
    """The PyTorch module for one layer of a backprop architecture string."""
    match = re.fullmatch(r"(\w+)\((\d+)(.*)\)", activation.strip())
    if not match:
        raise ValueError(f"cannot read layer {activation!r}")
    name, width, rest = match.group(1), int(match.group(2)), match.group(3)
    options = dict(re.findall(r"(\w+)\s*=\s*([\w.+-]+)", rest))
    modules = {
        "linear": lambda: nn.Identity(),
        "sigmoid": lambda: nn.Sigmoid(),
        "tanh": lambda: nn.Tanh(),
        "relu": lambda: nn.ReLU(),
        "leaky_relu": lambda: nn.LeakyReLU(float(options.get("slope", 0.01))),
        "elu": lambda: nn.ELU(float(options.get("alpha", 1.0))),
        "gelu": lambda: nn.GELU(approximate=options.get("approximate", "none")),
        "silu": lambda: nn.SiLU(),
        "softplus": lambda: nn.Softplus(beta=float(options.get("beta", 1.0))),
        "softmax": lambda: nn.Softmax(dim=-1),
    }
    return modules[name](), width


def verify(directory):
    """Loads every `*.safetensors` backprop exported to `directory` in PyTorch."""
    worst_overall = 0.0
    files = sorted(pathlib.Path(directory).glob("*.safetensors"))
    if not files:
        raise SystemExit(f"no .safetensors files in {directory}")
    for path in files:
        with safe_open(path, framework="pt") as handle:
            metadata = handle.metadata()
        if metadata.get("format") != "pt":
            raise SystemExit(f"{path.name}: metadata {metadata} lacks format = pt")
        spec = metadata["architecture"]
        layers = spec.split(";")[0].split("->")
        dtype = {"f32": torch.float32, "f64": torch.float64}[metadata["float"]]
        modules, width_in = [], int(layers[0])
        for layer in layers[1:]:
            activation, width = module(layer)
            modules += [nn.Linear(width_in, width), activation]
            width_in = width
        model = nn.Sequential(*modules).to(dtype)
        state = load_file(path)
        if any(tensor.dtype != dtype for tensor in state.values()):
            raise SystemExit(f"{path.name}: tensors are not all {dtype}")
        model.load_state_dict(state, strict=True)
        expected = json.loads(path.with_suffix(".json").read_text())
        x = torch.tensor(expected["x"], dtype=dtype)
        with torch.no_grad():
            output = model(x)
        theirs = torch.tensor(expected["output"], dtype=torch.float64)
        worst = (output.double() - theirs).abs().max().item()
        worst_overall = max(worst_overall, worst)
        print(
            f"{path.name}: {spec!r}, tensors {sorted((k, list(v.shape), str(v.dtype)) for k, v in state.items())}; "
            f"largest difference from backprop's outputs {worst:.3g}"
        )
        if worst > 1e-6:
            raise SystemExit(f"{path.name}: PyTorch's outputs differ from backprop's by {worst}")
    print(f"all {len(files)} files load in PyTorch {torch.__version__}; worst difference {worst_overall:.3g}")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "verify":
        verify(sys.argv[2])
        return
    if len(sys.argv) != 1:
        raise SystemExit(__doc__)
    OUT.mkdir(parents=True, exist_ok=True)
    for seed, (name, spec) in enumerate(FIXTURES.items()):
        data = fixture(name, spec, seed)
        (OUT / f"{name}.json").write_text(json.dumps(data, indent=1) + "\n")
        print(f"{name}: {data['dtype']}, tensors {data['tensors']}")


if __name__ == "__main__":
    main()
