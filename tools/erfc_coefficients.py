#!/usr/bin/env python3
"""Coefficients of the vectorised `f32` erfc of runtime/src/float/fastmath.rs
(`erfc`), in two pieces:

    erfc(x) ≈ 1 − x·P(x²)               for |x| < SPLIT,
    erfc(x) ≈ e^(−x²)·R(t) / x          for SPLIT ≤ x ≤ CLAMP,

with t = 1/x mapped from [1/CLAMP, 1/SPLIT] onto [−1, 1], and
erfc(x) = 2 − erfc(−x) below −SPLIT. Beyond CLAMP erfc rounds to 0 in f32.
P is fitted for the least largest relative error of erf(x) = x·P(x²), R for
that of erfc(x)·x·e^(x²), by Lawson's iteration (iteratively reweighted
least squares) on dense grids. Standard library only. Prints the
coefficients rounded to f32 and the largest relative error of each fit.
"""

import math
import struct

from linear_solve import solve

SPLIT = 0.5
CLAMP = 10.5
P_DEGREE = 4  # in x², so x·P(x²) is odd of degree 9
R_DEGREE = 17


def lawson(grid, basis, target, iterations=200):
    """Coefficients c minimising max |Σ c_k basis_k(x) − target(x)| / |target(x)|."""
    unknowns = len(basis(grid[0]))
    weights = [1.0] * len(grid)
    for _ in range(iterations):
        normal = [[0.0] * unknowns for _ in range(unknowns)]
        rhs = [0.0] * unknowns
        for x, weight in zip(grid, weights):
            t = target(x)
            row = [b / t for b in basis(x)]
            for i in range(unknowns):
                rhs[i] += weight * row[i]
                for j in range(unknowns):
                    normal[i][j] += weight * row[i] * row[j]
        coefficients = solve(normal, rhs)
        errors = [
            (sum(c * b for c, b in zip(coefficients, basis(x))) - target(x)) / target(x)
            for x in grid
        ]
        weights = [w * abs(e) + 1e-300 for w, e in zip(weights, errors)]
        total = sum(weights)
        weights = [w / total for w in weights]
    return coefficients, max(abs(e) for e in errors)


def to_f32(value):
    return struct.unpack("f", struct.pack("f", value))[0]


def to_t(x):
    """1/x mapped from [1/CLAMP, 1/SPLIT] onto [−1, 1]."""
    low, high = 1 / CLAMP, 1 / SPLIT
    return (2 / x - low - high) / (high - low)


def scaled_erfc(x):
    """erfc(x)·x·e^(x²) in double precision, which holds it to the end of
    the grid (CLAMP); beyond 25 `math.erfc` would underflow."""
    if x < 25:
        return math.erfc(x) * x * math.exp(x * x)
    raise ValueError(x)


if __name__ == "__main__":
    p_grid = [SPLIT * (i + 0.5) / 3000 for i in range(3000)]
    p, p_error = lawson(
        p_grid,
        lambda x: [x ** (2 * k + 1) for k in range(P_DEGREE + 1)],
        math.erf,
    )
    # Evenly spaced in 1/x, where R is smooth.
    r_grid = [1 / (1 / CLAMP + (1 / SPLIT - 1 / CLAMP) * i / 3000) for i in range(3001)]
    r, r_error = lawson(
        r_grid,
        lambda x: [to_t(x) ** k for k in range(R_DEGREE + 1)],
        scaled_erfc,
    )
    for k, c in enumerate(p):
        print(f"p{k} = {to_f32(c)!r}")
    for k, c in enumerate(r):
        print(f"r{k} = {to_f32(c)!r}")
    low, high = 1 / CLAMP, 1 / SPLIT
    print(f"t = {to_f32(2 / (high - low))!r} / x {to_f32(-(low + high) / (high - low))!r}")
    print(f"fit of erf on [0, {SPLIT}): largest relative error {p_error:.3g}")
    print(f"fit of erfc·x·exp(x²) on [{SPLIT}, {CLAMP}]: largest relative error {r_error:.3g}")
