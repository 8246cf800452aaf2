#!/usr/bin/env python3
"""Coefficients of the polynomial in the vectorised `f32` exp of
runtime/src/float/fastmath.rs (`exp_nonpositive`):

    e^r ≈ 1 + r + r²·(c₂ + c₃·r + c₄·r² + c₅·r³)   for |r| ≤ ln 2 / 2,

fitted for the least largest relative error by Lawson's iteration
(iteratively reweighted least squares) on a dense grid. Standard library
only. Prints the coefficients and the largest relative error, which is
1.05e-7 (0.88 of a unit in the last place of 1 in f32).
"""

import math

from linear_solve import solve

HALF_LN2 = math.log(2) / 2
GRID = [-HALF_LN2 + 2 * HALF_LN2 * i / 4000 for i in range(4001)]
DEGREE = 5


def relative_error(coefficients, r):
    approximation = 1 + r + sum(c * r ** (2 + k) for k, c in enumerate(coefficients))
    return (approximation - math.exp(r)) / math.exp(r)


def fit(iterations=300):
    unknowns = DEGREE - 1
    weights = [1.0] * len(GRID)
    for _ in range(iterations):
        normal = [[0.0] * unknowns for _ in range(unknowns)]
        rhs = [0.0] * unknowns
        for r, weight in zip(GRID, weights):
            e = math.exp(r)
            row = [r ** (2 + k) / e for k in range(unknowns)]
            target = (e - 1 - r) / e
            for i in range(unknowns):
                rhs[i] += weight * row[i] * target
                for j in range(unknowns):
                    normal[i][j] += weight * row[i] * row[j]
        coefficients = solve(normal, rhs)
        errors = [relative_error(coefficients, r) for r in GRID]
        weights = [w * abs(e) for w, e in zip(weights, errors)]
        total = sum(weights)
        weights = [w / total for w in weights]
    return coefficients, max(abs(e) for e in errors)


if __name__ == "__main__":
    coefficients, worst = fit()
    for k, c in enumerate(coefficients):
        print(f"c{k + 2} = {c:.9g}")
    print(f"largest relative error {worst:.3g} ({worst / 2**-23:.2f} ulp of 1 in f32)")
