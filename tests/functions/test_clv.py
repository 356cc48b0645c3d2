"""CLV: the contract's rows, an mpmath sweep at 60 digits, its numeric edges and properties."""

from __future__ import annotations

import math

import numpy as np
import retention_exact as exact
from contract_checks import contract_tests
from hypothesis import given, settings
from hypothesis import strategies as st

from xlfuncs import adapter, metrics
from xlfuncs.errors import DIV0, ExcelError

test_contract_in_cells, test_contract_in_python = contract_tests("CLV")


@settings(max_examples=100, deadline=None)
@given(
    arpu=st.floats(0, 1e6),
    churn=st.floats(0.001, 1),
    margin=st.floats(0, 1),
    discount=st.floats(0, 0.5),
    periods=st.integers(1, 600),
)
def test_clv_over_a_horizon_never_exceeds_clv_without_limit(arpu, churn, margin, discount, periods):
    limited = adapter.call("CLV", arpu, churn, margin, discount, periods)
    unlimited = adapter.call("CLV", arpu, churn, margin, discount)
    assert 0 <= limited <= unlimited * (1 + 1e-12)


def _clv(rows):
    arpu, churn, discount, periods, type_ = (np.array(column, dtype=float) for column in zip(*rows))
    return metrics.clv(arpu, churn, np.ones_like(arpu), discount, periods, type_)


def test_clv_matches_mpmath_at_60_digits_to_1e_12():
    """Over the sweep (ordinary inputs to subnormal churn and astronomic horizons) every
    result a float can hold is within 1e-12 relative of the 60-digit value; the measured
    maximum is 4e-16."""
    rows = exact.clv_sweep()
    values, errors = _clv(rows)
    worst, checked = 0.0, 0
    for row, value, error in zip(rows, values, errors):
        want = exact.clv(*row)
        if want is None:
            assert error == DIV0, row
            continue
        assert error == 0, row
        if exact.representable(want):
            worst = max(worst, exact.relative_error(value, want))
            checked += 1
        else:  # beyond the largest float: inf, which the cell rules turn into #NUM!
            assert value == math.inf or abs(want) < exact.TINY, row
    assert checked > 0.9 * len(rows)
    assert worst <= 1e-12


def test_clv_numeric_edges_of_issue_12():
    # Multiply before divide underflowed: 35 * 1e-300 / 2e-300 is 17.5 per period.
    assert adapter.call("CLV", 35, 0, 1e-300, 1e-300, 1) == 3.5e-299
    assert math.isclose(adapter.call("CLV", 35, 1e-300, 1e-300, 1e-300, 3), 1.05e-298, rel_tol=1e-15)
    # 1 - q below the smallest normal float is no q = 1: over 1e308 periods a churn of
    # 1e-310 keeps (1 - e^-0.01) / 1e-310, not 1e308 periods' worth.
    want = exact.clv(1, 1e-310, 0, 1e308, 1)
    assert exact.relative_error(adapter.call("CLV", 1, 1e-310, 1, 0, 1e308), want) < 1e-14
    assert adapter.call("CLV", 35, 0, 1, 0) is ExcelError.DIV0


def test_clv_on_ordinary_inputs_is_within_1e_12():
    """3,000 ordinary cells, with and without a horizon (measured: 4.6e-16)."""
    _, arpu, churn, discount, type_, periods = exact.random_cells(3000)
    periods[::2] = np.inf
    rows = list(zip(arpu, churn, discount, periods, type_))
    values, errors = _clv(rows)
    assert not errors.any()
    assert max(exact.relative_error(v, exact.clv(*row)) for v, row in zip(values, rows)) <= 1e-12
