"""SBG_FIT: the contract's rows, Fader & Hardie's published fits, the maximum at 50 digits."""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
from contract_checks import contract_tests
from sbg_exact import HIGH_END, REGULAR, A

from xlfuncs.errors import NUM
from xlfuncs.sbg import sbg_fit

test_contract_in_cells, test_contract_in_python = contract_tests("SBG_FIT")


def test_contract_example_in_the_pure_layer():
    params, error = sbg_fit([HIGH_END])
    assert error == 0 and params.shape == (1, 2)
    assert params[0] == pytest.approx([0.668088, 3.806095], rel=1e-6)


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
