"""PAYBACK: the contract's rows, an mpmath sweep at 60 digits, its numeric edges and properties."""

from __future__ import annotations

import math

import numpy as np
import retention_exact as exact
from contract_checks import contract_tests
from hypothesis import given, settings
from hypothesis import strategies as st

from xlfuncs import adapter, metrics
from xlfuncs.errors import ExcelError

test_contract_in_cells, test_contract_in_python = contract_tests("PAYBACK")


@settings(max_examples=100, deadline=None)
@given(cac=st.floats(1, 1e5), arpu=st.floats(1, 1e4), churn=st.floats(0, 0.5), discount=st.floats(0, 0.1))
def test_payback_is_where_clv_over_the_horizon_reaches_cac(cac, arpu, churn, discount):
    n = adapter.call("PAYBACK", cac, arpu, 1, churn, discount)
    if isinstance(n, ExcelError):
        # Never earned back: even an unlimited life is worth less than the cost.
        assert n is ExcelError.NUM
        assert adapter.call("CLV", arpu, churn, 1, discount) <= cac * (1 + 1e-9)
        return
    # The cumulative discounted margin is CLV over a (fractional) horizon n: compare the
    # whole periods around n.
    before = adapter.call("CLV", arpu, churn, 1, discount, max(math.floor(n), 1))
    after = adapter.call("CLV", arpu, churn, 1, discount, math.floor(n) + 1)
    assert before <= cac * (1 + 1e-9) or math.floor(n) == 0
    assert after >= cac * (1 - 1e-9)


def _payback(rows):
    cac, arpu, churn, discount, type_ = (np.array(column, dtype=float) for column in zip(*rows))
    return metrics.payback(cac, arpu, np.ones_like(arpu), churn, discount, type_)


# Where the cost takes all but 1e-12 of the lifetime margin, PAYBACK is ill-conditioned: a
# rounding of the inputs' last bit moves the answer from astronomic to never.
ILL_CONDITIONED = 1e-12


def test_payback_matches_mpmath_at_60_digits_to_1e_12():
    """Both payment types, over the sweep (ordinary inputs to subnormal churn, churn one
    ulp below 1, cac / m of 1e-600): every result a float can hold is within 1e-12
    relative of the 60-digit value, and the errors are the contract's; the measured
    maximum is 3.2e-14."""
    rows = exact.payback_sweep()
    values, errors = _payback(rows)
    worst, checked = 0.0, 0
    for row, value, error in zip(rows, values, errors):
        want, share = exact.payback(*row)
        if share is not None and abs(1 - share) < ILL_CONDITIONED:
            continue
        if want is None:
            assert error != 0, row
            continue
        assert error == 0, row
        if exact.representable(want):
            worst = max(worst, exact.relative_error(value, want))
            checked += 1
    assert checked > 0.6 * len(rows)
    assert worst <= 1e-12


def test_payback_numeric_edges_of_issue_12():
    # ln q as log1p(-churn) - log1p(discount): with churn one ulp below 1, ln(1 - churn)
    # is -36.7, not -inf (which gave 0).
    want, _ = exact.payback(34.99, 35, 0.9999999999999999, 0, 1)
    assert exact.relative_error(adapter.call("PAYBACK", 34.99, 35, 1, 0.9999999999999999, 0), want) < 1e-14
    want, _ = exact.payback(34.99, 35, 0.9999999999999999, 1, 1)
    assert exact.relative_error(adapter.call("PAYBACK", 34.99, 35, 1, 0.9999999999999999, 1), want) < 1e-14
    # cac / m = 1e-300 and 1 - q = 1e-300: the share, 1e-600, is no float, the answer 1e-300 is.
    assert exact.relative_error(adapter.call("PAYBACK", 1, 1e300, 1, 0, 1e-300, 0), 1e-300) < 1e-14
    # A cost the first payment covers exactly is one period, whatever the churn.
    assert adapter.call("PAYBACK", 1e300, 1e300, 1, 0.9999999999999999, 1e-16) == 1.0


def test_payback_on_ordinary_inputs_is_within_1e_12_where_well_conditioned():
    """3,000 ordinary cells: within 1e-12 of the 60-digit value wherever the condition number
    is at most 100, and within 1e-14 times it everywhere (measured: 6.5e-15 and 5.4e-16)."""
    cac, arpu, churn, discount, type_, _ = exact.random_cells(3000)
    values, errors = metrics.payback(cac, arpu, np.ones_like(cac), churn, discount, type_)
    well, scaled = 0.0, 0.0
    for cells in zip(cac, arpu, churn, discount, type_, values, errors):
        want, share = exact.payback(*cells[:5])
        if want is None:
            assert cells[6] != 0
            continue
        error, condition = exact.relative_error(cells[5], want), exact.payback_condition(share)
        scaled = max(scaled, error / condition)
        if condition <= 100:
            well = max(well, error)
    assert well <= 1e-12
    assert scaled <= 1e-14
