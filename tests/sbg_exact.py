"""The sBG model at 50 digits (mpmath), from the exact float inputs, and the published data
the sBG functions' homes (tests/functions/test_sbg_*.py) check against."""

from __future__ import annotations

import itertools
import math

import mpmath as mp
import numpy as np

A = np.array


# Fader & Hardie (2007), table 1: customers still active of 1,000 acquired, years 0-7.
HIGH_END = A([1000.0, 869, 743, 653, 593, 551, 517, 491])


REGULAR = A([1000.0, 631, 468, 382, 326, 289, 262, 241])


# The sweeps against mpmath (tests/functions/test_sbg_*.py), whose rows the float backend
# is checked on too (tests/test_quick.py): (alpha, beta, t) ...
SURVIVAL_GRID = list(
    itertools.product(
        [0.01, 0.5, 1.0, 2.0, 7.3, 100.0],
        [0.01, 0.9, 3.0, 250.0, 1e5],
        [0, 1, 2, 15, 16, 17, 40, 1000, 123456, 1_000_000, 10**9],
    )
)

# ... and (alpha, beta, renewals, discount).
CLV_GRID = [
    (a, b, n, d)
    for a, b, n, d in itertools.product(
        [0.05, 0.5, 0.999999, 1.0, 1.0000001, 1.5, 2.0, 3.0, 4.7, 30.0],
        [0.02, 1.0, 3.7, 400.0, 2e4],
        [0.0, 36.0],
        [0.0, 1e-300, 1e-9, 1e-4, 0.003, 0.05, 0.3, 1.0, 20.0, 1e5],
    )
    if not (d == 0 and a <= 1)
]


def clv_random_cells(size: int = 300, seed: int = 99):
    """alpha 0.02-50 (whole for a cell in five), beta 0.02-1e4, renewals 0-99, discount 1e-8-10."""
    rng = np.random.default_rng(seed)
    a = np.exp(rng.uniform(np.log(0.02), np.log(50), size))
    a[::5] = np.round(a[::5]) + 1.0  # whole alpha
    b = np.exp(rng.uniform(np.log(0.02), np.log(1e4), size))
    n = np.floor(rng.uniform(0, 100, size))
    d = np.exp(rng.uniform(np.log(1e-8), np.log(10), size))
    return a, b, n, d


def exact_expected(a, b, d):
    """E = 2F1(1, B; a + B; 1/(1+d)) at 50 digits, from the exact float inputs."""
    digits = 50 + max(0, int(-math.log10(d))) if d else 50  # 1/(1+d) must not round to 1
    with mp.workdps(digits):
        a, b, d = mp.mpf(a), mp.mpf(b), mp.mpf(d)
        if d == 0:
            return (a + b - 1) / (a - 1)
        z = 1 / (1 + d)
        if z < mp.mpf("0.99"):  # the defining series, geometric here
            total, term, t = mp.mpf(0), mp.mpf(1), 0
            while term > total * mp.mpf(10) ** -45:
                total += term
                term *= (b + t) / (a + b + t) * z
                t += 1
            return total
        return mp.hyp2f1(1, b, a + b, z)


def exact_survival(a, b, t):
    with mp.workdps(50):
        a, b = mp.mpf(a), mp.mpf(b)
        return mp.exp(mp.loggamma(b + t) + mp.loggamma(a + b) - mp.loggamma(b) - mp.loggamma(a + b + t))


def relative_errors(values, exact):
    return [abs(float(v / e - 1)) for v, e in zip(values, exact)]
