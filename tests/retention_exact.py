"""CLV and PAYBACK at 60 digits (mpmath), from the exact float inputs, and the sweep of
inputs their homes (tests/functions/test_clv.py, test_payback.py) check the float code on.

The sweep runs from the ordinary (a churn of 5 %) to the edges where floats give way:
churn and discount below the smallest normal float, churn one ulp below 1, horizons of
1e308 periods, margins of 1e-300 and 1e300.
"""

from __future__ import annotations

import itertools

import mpmath as mp
import numpy as np

DIGITS = 60

CHURN = [0, 5e-324, 1e-310, 1e-300, 1e-200, 1e-16, 1e-8, 0.01, 0.05, 0.5, 0.9999999999999999, 1]
DISCOUNT = [0, 5e-324, 1e-310, 1e-300, 1e-16, 1e-8, 0.01, 0.3, 10]
MARGIN = [35.0, 1e-300, 1e300]  # arpu * margin
PERIODS = [1, 2, 12, 1e3, 1e8, 1e15, 1e300, 1e308, np.inf]
CAC = [0.0, 1.0, 34.99, 420.0, 1e6, 1e300]
TYPES = [0, 1]

TINY, HUGE = np.finfo(float).tiny, np.finfo(float).max


def _mp(x):
    return mp.mpf(float(x))


def _ln_q(c, d):
    """ln q, exact at 60 digits even where 1 + d rounds to 1 there (d = 5e-324)."""
    return mp.log1p(-c) - mp.log1p(d) if c < 1 else -mp.inf


def clv(arpu, churn, discount, periods, type_):
    """The contract's CLV (margin 1), or None for its #DIV/0!."""
    with mp.workdps(DIGITS):
        m, c, d = _mp(arpu), _mp(churn), _mp(discount)
        q, one_minus_q = mp.exp(_ln_q(c, d)), (c + d) / (1 + d)
        if np.isinf(periods):
            if one_minus_q == 0:
                return None
            value = m / one_minus_q
        else:
            n = mp.floor(_mp(periods))
            value = m * n if one_minus_q == 0 else m * -mp.expm1(n * _ln_q(c, d)) / one_minus_q
        return value * q if type_ == 0 else value


def payback(cac, arpu, churn, discount, type_):
    """The contract's PAYBACK (margin 1), or None for its #NUM! / #DIV/0!; and the share of
    the lifetime margin the cost takes (near 1 the answer is ill-conditioned)."""
    with mp.workdps(DIGITS):
        k, m, c, d = _mp(cac), _mp(arpu), _mp(churn), _mp(discount)
        if m == 0:
            return None, None
        q, one_minus_q = mp.exp(_ln_q(c, d)), (c + d) / (1 + d)
        if one_minus_q == 0:
            return k / m, mp.mpf(0)
        if c == 1:
            if k == 0:
                return mp.mpf(0), None
            return (k / m if type_ == 1 and k <= m else None), None
        share = k * one_minus_q / m if type_ == 1 else k * one_minus_q / (m * q)
        if share >= 1:
            return None, share
        return mp.log1p(-share) / _ln_q(c, d), share


def clv_sweep():
    return list(itertools.product(MARGIN, CHURN, DISCOUNT, PERIODS, TYPES))


def payback_sweep():
    return list(itertools.product(CAC, MARGIN, CHURN, DISCOUNT, TYPES))


def relative_error(got: float, exact) -> float:
    with mp.workdps(DIGITS):
        return float(abs((mp.mpf(float(got)) - exact) / exact)) if exact != 0 else float(abs(got))


def representable(exact) -> bool:
    """A result a float holds to full precision: 0, or a normal float's magnitude."""
    return exact == 0 or TINY <= abs(exact) <= HUGE


def payback_condition(share) -> float:
    """How much PAYBACK magnifies a relative change of its inputs: share / ((1 - share)
    |ln(1 - share)|), at least 1 (a cost that takes nearly all the lifetime margin is
    ill-conditioned: a last-bit change of the cost moves the answer a lot)."""
    if share is None or share == 0:
        return 1.0
    with mp.workdps(DIGITS):
        return float(max(1, share / ((1 - share) * abs(mp.log1p(-share)))))


def random_cells(size: int, seed: int = 12):
    """Ordinary inputs: cac 0..1000, arpu 10..200, churn 0..0.2, discount 0..0.02, both types."""
    rng = np.random.default_rng(seed)
    return (
        rng.uniform(0, 1000, size),
        rng.uniform(10, 200, size),
        rng.uniform(0, 0.2, size),
        rng.uniform(0, 0.02, size),
        rng.integers(0, 2, size).astype(float),
        rng.integers(1, 120, size).astype(float),
    )
