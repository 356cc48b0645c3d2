"""CUSTOMER_COUNTS: the contract's rows and its worked example in the pure layer."""

from __future__ import annotations

import numpy as np
from billing_cases import MOVEMENTS_EXAMPLE
from contract_checks import contract_tests

from xlfuncs.billing import customer_counts
from xlfuncs.errors import NUM, OK, VALUE

test_contract_in_cells, test_contract_in_python = contract_tests("CUSTOMER_COUNTS")


def test_customer_counts_contract_example():
    counts, error = customer_counts(MOVEMENTS_EXAMPLE)
    assert int(error) == OK
    assert counts.tolist() == [[2, 1, 0, -1, 2], [2, 0, 0, 0, 2], [2, 1, 1, -1, 3]]
    # "the last step's customer churn is =CHURN_RATE(-1, 2), 0.5"
    assert abs(counts[-1, 3]) / counts[-1, 0] == 0.5


def test_customer_counts_and_movements_need_two_periods():
    assert int(customer_counts(np.ones((3, 1)))[1]) == VALUE
    assert int(customer_counts(np.ones(3))[1]) == VALUE
    assert int(customer_counts(np.array([[1.0, -1.0]]))[1]) == NUM
