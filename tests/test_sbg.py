"""The sBG functions (xlfuncs.sbg): contract examples, published fits, mpmath sweeps, #NUM! cases."""

from __future__ import annotations

import itertools
import math

import mpmath as mp
import numpy as np
import pytest

from xlfuncs.errors import NUM
from xlfuncs.sbg import sbg_clv, sbg_fit, sbg_survival

A = np.array

# Fader & Hardie (2007), table 1: customers still active of 1,000 acquired, years 0-7.
HIGH_END = A([1000.0, 869, 743, 653, 593, 551, 517, 491])
REGULAR = A([1000.0, 631, 468, 382, 326, 289, 262, 241])


def _exact_expected(a, b, d):
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


def _exact_survival(a, b, t):
    with mp.workdps(50):
        a, b = mp.mpf(a), mp.mpf(b)
        return mp.exp(mp.loggamma(b + t) + mp.loggamma(a + b) - mp.loggamma(b) - mp.loggamma(a + b + t))


def _relative_errors(values, exact):
    return [abs(float(v / e - 1)) for v, e in zip(values, exact)]


# ---------------------------------------------------------------- contract examples


def test_contract_examples():
    values, errors = sbg_survival(A(2.0), A(3.0), A([1.0, 3.0]))
    assert errors.tolist() == [0, 0]
    assert values == pytest.approx([0.6, 0.2857142857], rel=1e-10)
    values, errors = sbg_clv(A(100.0), A(2.0), A(3.0), A([0.8, 0.8, 1.0]), A([0.0, 0.05, 0.05]), A([0.0, 0.0, 1.0]))
    assert errors.tolist() == [0, 0, 0]
    assert values == pytest.approx([320.0, 244.948066225, 360.823894868], rel=1e-11)
    params, error = sbg_fit([HIGH_END])
    assert error == 0 and params.shape == (1, 2)
    assert params[0] == pytest.approx([0.668088, 3.806095], rel=1e-6)


def test_survival_truncates_t_and_handles_read_only_views():
    alpha = np.broadcast_to(A(2.0), (3,))  # read-only broadcast views, as the adapter passes
    values, errors = sbg_survival(alpha, np.broadcast_to(A(3.0), (3,)), A([1.9, 3.99, 0.5]))
    assert errors.tolist() == [0, 0, 0]
    assert values.tolist() == pytest.approx([0.6, 0.2857142857142857, 1.0], rel=1e-15)


def test_clv_renewals_and_derl_identity():
    # E(n) = 1 + z (B/C) E(n+1): this period's payment, then the next with S(n+1)/S(n).
    a, b, d = 0.7, 1.3, 0.1
    e0, _ = sbg_clv(A(1.0), A(a), A(b), A(1.0), A(d), A(0.0))
    e1, _ = sbg_clv(A(1.0), A(a), A(b), A(1.0), A(d), A(1.0))
    assert float(e0) == pytest.approx(1 + b / (a + b) / (1 + d) * float(e1), rel=1e-14)


# ---------------------------------------------------------------- published fits


def test_published_fits_fader_hardie_2007():
    """Fader & Hardie (2007) report alpha = 0.668, beta = 3.806 (High End) and
    alpha = 0.704, beta = 1.182 (Regular), to three decimals."""
    for row, published in ((HIGH_END, (0.668, 3.806)), (REGULAR, (0.704, 1.182))):
        params, error = sbg_fit([row])
        assert error == 0
        assert np.abs(params[0] - published).max() < 5e-4


def _mle_by_mpmath(rows):
    """The maximum of the log-likelihood at 30 digits: the root of its gradient."""
    with mp.workdps(30):

        def loglik(a, b):
            total = mp.mpf(0)
            for row in rows:
                survive, p = mp.mpf(1), a / (a + b)
                for t in range(1, len(row)):
                    total += (mp.mpf(row[t - 1]) - mp.mpf(row[t])) * mp.log(p)
                    survive *= (b + t - 1) / (a + b + t - 1)
                    p *= (b + t - 1) / (a + b + t)
                total += mp.mpf(row[-1]) * mp.log(survive)
            return total

        def gradient(a, b):
            return [mp.diff(lambda s: loglik(s, b), a), mp.diff(lambda s: loglik(a, s), b)]

        params, _ = sbg_fit([A(r, dtype=float) for r in rows])
        root = mp.findroot(gradient, (mp.mpf(params[0, 0]), mp.mpf(params[0, 1])))
        return [float(root[0]), float(root[1])]


def test_fit_matches_high_precision_maximum():
    for rows in ([HIGH_END], [REGULAR], [HIGH_END, REGULAR[:5], [300.0, 200, 150]]):
        params, error = sbg_fit([A(r, dtype=float) for r in rows])
        assert error == 0
        assert params[0] == pytest.approx(_mle_by_mpmath(rows), rel=1e-9)


def test_fit_counts_or_shares_scale_invariant():
    counts, _ = sbg_fit([HIGH_END, REGULAR[:6]])
    shares, _ = sbg_fit([HIGH_END / 1000, REGULAR[:6] / 1000])
    assert shares[0] == pytest.approx(counts[0], rel=1e-9)


def test_fit_joint_rows_weigh_by_size():
    # Two cohorts fitted jointly sit between their own fits; a tenfold larger cohort pulls
    # the joint fit towards itself, and pooling a row with itself changes nothing.
    high, _ = sbg_fit([HIGH_END])
    regular, _ = sbg_fit([REGULAR])
    joint, error = sbg_fit([HIGH_END, REGULAR])
    assert error == 0
    assert regular[0, 1] < joint[0, 1] < high[0, 1]
    heavy_high, _ = sbg_fit([HIGH_END * 10, REGULAR])
    assert abs(heavy_high[0, 1] - high[0, 1]) < abs(joint[0, 1] - high[0, 1])
    doubled, _ = sbg_fit([HIGH_END, HIGH_END])
    assert doubled[0] == pytest.approx(high[0], rel=1e-9)


def test_fit_accepts_rows_of_a_cohort_table():
    # The rows of a COHORT_RETENTION "count" table: decreasing lengths down to one value.
    rows = [HIGH_END[: 8 - k] for k in range(8)]
    params, error = sbg_fit(rows)
    assert error == 0 and np.isfinite(params).all()
    assert params[0] == pytest.approx(_mle_by_mpmath([r.tolist() for r in rows if r.size >= 2]), rel=1e-9)


def test_fit_recovers_simulated_parameters():
    rng = np.random.default_rng(2024)
    for alpha, beta in ((0.7, 2.5), (3.0, 12.0), (0.3, 0.8)):
        rows = []
        for k in range(24):
            churn = rng.beta(alpha, beta, 20_000)
            lifetimes = rng.geometric(churn)
            rows.append((lifetimes[None, :] > np.arange(24 - k)[:, None]).sum(axis=1).astype(float))
        params, error = sbg_fit(rows)
        assert error == 0
        # 480,000 customers: the estimates sit within a few percent of the truth.
        assert params[0] == pytest.approx([alpha, beta], rel=0.08)


@pytest.mark.parametrize(
    "rows",
    [
        [A([100.0, 90, 95, 80])],  # a row rises
        [A([100.0, 90, 80]), A([50.0, -1, -2])],  # a negative value
        [A([0.0, 0, 0])],  # first value not > 0
        [A([-5.0, -6, -7])],
        [A([100.0, 90]), A([80.0, 70]), A([60.0])],  # no row has 3 values
        [],
        [A([100.0, np.nan, 80])],
        [A([1000.0, 900, 810, 729, 656.1, 590.49])],  # exactly geometric: beta, alpha -> infinity
        [A([100.0, 100, 100, 100])],  # nobody churns: alpha -> 0
        [A([100.0, 0, 0, 0])],  # everyone churns at once: beta -> 0
        [A([100.0, 50, 25.0]), A([100.0, 50, 25.0])],  # geometric again, jointly
        [A([100.0, 90, 60, 20])],  # churn rising with age: no interior maximum
    ],
)
def test_fit_num_conditions(rows):
    params, error = sbg_fit(rows)
    assert error == NUM
    assert params.shape == (1, 2) and np.isnan(params).all()


def test_fit_36_period_table_is_fast():
    import time

    rows = []
    rng = np.random.default_rng(5)
    for k in range(36):
        lifetimes = rng.geometric(rng.beta(0.7, 2.5, 3000))
        rows.append((lifetimes[None, :] > np.arange(36 - k)[:, None]).sum(axis=1).astype(float))
    best = min(_timed(sbg_fit, rows, time) for _ in range(5))
    assert best < 0.05


def _timed(function, rows, time):
    start = time.perf_counter()
    params, error = function(rows)
    assert error == 0
    return time.perf_counter() - start


# ---------------------------------------------------------------- mpmath sweeps

SURVIVAL_GRID = list(
    itertools.product(
        [0.01, 0.5, 1.0, 2.0, 7.3, 100.0],
        [0.01, 0.9, 3.0, 250.0, 1e5],
        [0, 1, 2, 15, 16, 17, 40, 1000, 123456, 1_000_000, 10**9],
    )
)


def test_survival_matches_mpmath():
    a, b, t = (A(c, dtype=float) for c in zip(*SURVIVAL_GRID))
    values, errors = sbg_survival(a, b, t)
    assert (errors == 0).all()
    exact = [_exact_survival(*p) for p in SURVIVAL_GRID]
    checked = [(v, e) for v, e in zip(values, exact) if e > mp.mpf("1e-300")]
    assert len(checked) > 0.9 * len(SURVIVAL_GRID)
    assert max(_relative_errors(*zip(*checked))) <= 1e-12
    # Below the smallest float the share is 0, never NaN.
    assert all(v == 0 for v, e in zip(values, exact) if e < mp.mpf("1e-330"))


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


def test_clv_matches_mpmath_over_wide_sweep():
    a, b, n, d = (A(c, dtype=float) for c in zip(*CLV_GRID))
    values, errors = sbg_clv(np.ones_like(a), a, b, np.ones_like(a), d, n)
    exact = [_exact_expected(p[0], p[1] + p[2], p[3]) for p in CLV_GRID]
    finite = [(v, e) for v, e, code in zip(values, exact, errors) if e < mp.mpf("1e300")]
    assert all(code == 0 for code, e in zip(errors, exact) if e < mp.mpf("1e300"))
    assert max(_relative_errors(*zip(*finite))) <= 1e-12


def test_clv_matches_mpmath_random_cells():
    rng = np.random.default_rng(99)
    size = 300
    a = np.exp(rng.uniform(np.log(0.02), np.log(50), size))
    a[::5] = np.round(a[::5]) + 1.0  # whole alpha
    b = np.exp(rng.uniform(np.log(0.02), np.log(1e4), size))
    n = np.floor(rng.uniform(0, 100, size))
    d = np.exp(rng.uniform(np.log(1e-8), np.log(10), size))
    values, errors = sbg_clv(np.ones(size), a, b, np.ones(size), d, n)
    assert (errors == 0).all()
    exact = [_exact_expected(*p) for p in zip(a, b + n, d)]
    assert max(_relative_errors(values, exact)) <= 1e-12


def test_clv_scales_with_arpu_and_margin():
    args = A([0.5, 2.0, 9.0]), A([1.0, 3.0, 40.0]), A(0.02), A(5.0)
    base, _ = sbg_clv(A(1.0), args[0], args[1], A(1.0), args[2], args[3])
    scaled, _ = sbg_clv(A(250.0), args[0], args[1], A(0.4), args[2], args[3])
    assert scaled == pytest.approx(100.0 * base, rel=1e-15)


# ---------------------------------------------------------------- #NUM!


def test_survival_num_conditions():
    alpha = A([2.0, 0.0, -1.0, 2.0, 2.0, np.nan, np.inf, 2.0, 0.0])
    beta = A([3.0, 3.0, 3.0, 0.0, -2.0, 3.0, 3.0, 3.0, 3.0])
    t = A([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, np.nan, -1.0])
    values, errors = sbg_survival(alpha, beta, t)
    assert errors.tolist() == [0] + [NUM] * 8
    assert values[0] == pytest.approx(0.6)


def test_clv_num_conditions():
    cases = [
        # arpu, alpha, beta, margin, discount, renewals
        (-1.0, 2.0, 3.0, 1.0, 0.05, 0.0),
        (100.0, 0.0, 3.0, 1.0, 0.05, 0.0),
        (100.0, 2.0, -3.0, 1.0, 0.05, 0.0),
        (100.0, 2.0, 3.0, 1.5, 0.05, 0.0),
        (100.0, 2.0, 3.0, -0.1, 0.05, 0.0),
        (100.0, 2.0, 3.0, 1.0, -0.05, 0.0),
        (100.0, 2.0, 3.0, 1.0, 0.05, -1.0),
        (100.0, 1.0, 3.0, 1.0, 0.0, 0.0),  # no discount needs alpha > 1
        (100.0, 0.5, 3.0, 1.0, 0.0, 5.0),
        (np.nan, 2.0, 3.0, 1.0, 0.05, 0.0),
        (100.0, 2.0, 3.0, 1.0, np.inf, 0.0),
        (1e308, 2.0, 3.0, 1.0, 0.0, 0.0),  # overflows
    ]
    columns = [A(c) for c in zip(*cases)]
    values, errors = sbg_clv(*columns)
    assert errors.tolist() == [NUM] * len(cases)
    ok, ok_errors = sbg_clv(A(100.0), A(1.0), A(3.0), A(1.0), A(1e-9), A(0.0))
    assert int(ok_errors) == 0 and np.isfinite(ok)


def test_clv_does_not_depend_on_the_other_cells():
    # The cells are grouped by route, depth, C x and j = round(alpha - 1), and groups of
    # one j drop the masks of their loops: a cell computed alone, or among others, is the
    # same to the last bits.
    rng = np.random.default_rng(17)
    size = 400
    a = np.exp(rng.uniform(np.log(0.02), np.log(40), size))
    a[::4] = np.round(a[::4]) + 0.5  # ties of alpha - 1/2 between two j
    a[1::4] = np.round(a[1::4]) + 1.0  # whole alpha
    b = np.exp(rng.uniform(np.log(0.02), np.log(1e4), size))
    d = np.exp(rng.uniform(np.log(1e-6), np.log(10), size))
    together, errors = sbg_clv(np.ones(size), a, b, np.ones(size), d, np.zeros(size))
    assert (errors == 0).all()
    alone = [float(sbg_clv(A(1.0), A(p), A(q), A(1.0), A(r), A(0.0))[0]) for p, q, r in zip(a, b, d)]
    assert together == pytest.approx(alone, rel=1e-15)
    exact = [_exact_expected(*p) for p in zip(a[:60], b[:60], d[:60])]
    assert max(_relative_errors(together[:60], exact)) <= 1e-12
