"""The sBG model at 50 digits (mpmath), from the exact float inputs, and the published data
the sBG functions' homes (tests/functions/test_sbg_*.py) check against."""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np

A = np.array


# Fader & Hardie (2007), table 1: customers still active of 1,000 acquired, years 0-7.
HIGH_END = A([1000.0, 869, 743, 653, 593, 551, 517, 491])


REGULAR = A([1000.0, 631, 468, 382, 326, 289, 262, 241])


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
