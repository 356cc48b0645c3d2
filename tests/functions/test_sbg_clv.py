"""SBG_CLV: the contract's rows, mpmath at 50 digits (series and 2F1), #NUM! cases."""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
from contract_checks import contract_tests
from sbg_exact import CLV_GRID, A, clv_random_cells, exact_expected, relative_errors

from xlfuncs.errors import NUM
from xlfuncs.sbg import sbg_clv

test_contract_in_cells, test_contract_in_python = contract_tests("SBG_CLV")


def test_contract_examples_in_the_pure_layer():
    values, errors = sbg_clv(A(100.0), A(2.0), A(3.0), A([0.8, 0.8, 1.0]), A([0.0, 0.05, 0.05]), A([0.0, 0.0, 1.0]))
    assert errors.tolist() == [0, 0, 0]
    assert values == pytest.approx([320.0, 244.948066225, 360.823894868], rel=1e-11)


def test_clv_renewals_and_derl_identity():
    # E(n) = 1 + z (B/C) E(n+1): this period's payment, then the next with S(n+1)/S(n).
    a, b, d = 0.7, 1.3, 0.1
    e0, _ = sbg_clv(A(1.0), A(a), A(b), A(1.0), A(d), A(0.0))
    e1, _ = sbg_clv(A(1.0), A(a), A(b), A(1.0), A(d), A(1.0))
    assert float(e0) == pytest.approx(1 + b / (a + b) / (1 + d) * float(e1), rel=1e-14)


def test_clv_matches_mpmath_over_wide_sweep():
    a, b, n, d = (A(c, dtype=float) for c in zip(*CLV_GRID))
    values, errors = sbg_clv(np.ones_like(a), a, b, np.ones_like(a), d, n)
    exact = [exact_expected(p[0], p[1] + p[2], p[3]) for p in CLV_GRID]
    finite = [(v, e) for v, e, code in zip(values, exact, errors) if e < mp.mpf("1e300")]
    assert all(code == 0 for code, e in zip(errors, exact) if e < mp.mpf("1e300"))
    assert max(relative_errors(*zip(*finite))) <= 1e-12


def test_clv_matches_mpmath_random_cells():
    a, b, n, d = clv_random_cells()
    size = a.size
    values, errors = sbg_clv(np.ones(size), a, b, np.ones(size), d, n)
    assert (errors == 0).all()
    exact = [exact_expected(*p) for p in zip(a, b + n, d)]
    assert max(relative_errors(values, exact)) <= 1e-12


def test_clv_scales_with_arpu_and_margin():
    args = A([0.5, 2.0, 9.0]), A([1.0, 3.0, 40.0]), A(0.02), A(5.0)
    base, _ = sbg_clv(A(1.0), args[0], args[1], A(1.0), args[2], args[3])
    scaled, _ = sbg_clv(A(250.0), args[0], args[1], A(0.4), args[2], args[3])
    assert scaled == pytest.approx(100.0 * base, rel=1e-15)


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
    exact = [exact_expected(*p) for p in zip(a[:60], b[:60], d[:60])]
    assert max(relative_errors(together[:60], exact)) <= 1e-12
