"""SBG_SURVIVAL: the contract's rows, mpmath at 50 digits, #NUM! cases."""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
from contract_checks import contract_tests
from sbg_exact import SURVIVAL_GRID, A, exact_survival, relative_errors

from xlfuncs.errors import NUM
from xlfuncs.sbg import sbg_clv, sbg_survival

test_contract_in_cells, test_contract_in_python = contract_tests("SBG_SURVIVAL")


def test_contract_examples_in_the_pure_layer():
    values, errors = sbg_survival(A(2.0), A(3.0), A([1.0, 3.0]))
    assert errors.tolist() == [0, 0]
    assert values == pytest.approx([0.6, 0.2857142857], rel=1e-10)


def test_survival_truncates_t_and_handles_read_only_views():
    alpha = np.broadcast_to(A(2.0), (3,))  # read-only broadcast views, as the adapter passes
    values, errors = sbg_survival(alpha, np.broadcast_to(A(3.0), (3,)), A([1.9, 3.99, 0.5]))
    assert errors.tolist() == [0, 0, 0]
    assert values.tolist() == pytest.approx([0.6, 0.2857142857142857, 1.0], rel=1e-15)


def test_survival_matches_mpmath():
    a, b, t = (A(c, dtype=float) for c in zip(*SURVIVAL_GRID))
    values, errors = sbg_survival(a, b, t)
    assert (errors == 0).all()
    exact = [exact_survival(*p) for p in SURVIVAL_GRID]
    checked = [(v, e) for v, e in zip(values, exact) if e > mp.mpf("1e-300")]
    assert len(checked) > 0.9 * len(SURVIVAL_GRID)
    assert max(relative_errors(*zip(*checked))) <= 1e-12
    # Below the smallest float the share is 0, never NaN.
    vanishing = [v for v, e in zip(values, exact) if e < mp.mpf("1e-330")]
    assert vanishing and all(v == 0 for v in vanishing)


def test_survival_num_conditions():
    alpha = A([2.0, 0.0, -1.0, 2.0, 2.0, np.nan, np.inf, 2.0, 0.0])
    beta = A([3.0, 3.0, 3.0, 0.0, -2.0, 3.0, 3.0, 3.0, 3.0])
    t = A([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, np.nan, -1.0])
    values, errors = sbg_survival(alpha, beta, t)
    assert errors.tolist() == [0] + [NUM] * 8
    assert values[0] == pytest.approx(0.6)


def test_survival_and_clv_of_no_cells():
    empty = np.zeros((0, 3))
    values, errors = sbg_survival(empty, empty, empty)
    assert values.shape == errors.shape == (0, 3)
    values, errors = sbg_clv(*[empty] * 6)
    assert values.shape == errors.shape == (0, 3)
