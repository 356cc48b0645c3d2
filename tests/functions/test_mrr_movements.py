"""MRR_MOVEMENTS: the contract's rows, its worked example in the pure layer, and the net adding up."""

from __future__ import annotations

import numpy as np
from billing_cases import MOVEMENTS_EXAMPLE
from contract_checks import contract_tests
from hypothesis import given, settings
from hypothesis import strategies as st

from xlfuncs import adapter
from xlfuncs.billing import mrr_movements
from xlfuncs.errors import OK

test_contract_in_cells, test_contract_in_python = contract_tests("MRR_MOVEMENTS")


def test_mrr_movements_contract_example():
    table, error = mrr_movements(MOVEMENTS_EXAMPLE)
    assert int(error) == OK
    assert table.tolist() == [[200, 50, 0, 0, -50, 200], [0, 0, 0, -100, 0, -100], [60, 0, 80, 0, -150, -10]]


@settings(max_examples=60, deadline=None)
@given(
    grid=st.lists(st.lists(st.floats(0, 1e4) | st.just(0.0), min_size=2, max_size=6), min_size=1, max_size=6).filter(
        lambda g: len({len(r) for r in g}) == 1
    )
)
def test_mrr_movements_net_adds_up_to_the_change_in_total_mrr(grid):
    table = np.array(adapter.call("MRR_MOVEMENTS", grid))
    totals = np.array(grid).sum(axis=0)
    assert np.allclose(table[:, 5], np.diff(totals), rtol=1e-9, atol=1e-6)
    assert np.allclose(table[:, :5].sum(axis=1), table[:, 5])
