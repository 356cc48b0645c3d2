"""COHORT_RETENTION: the contract's rows, every measure, errors."""

from __future__ import annotations

import numpy as np
import pytest
from billing_cases import MOVEMENTS_EXAMPLE, nan
from contract_checks import contract_tests

from xlfuncs.billing import cohort_retention
from xlfuncs.errors import NA, NUM, OK, VALUE

test_contract_in_cells, test_contract_in_python = contract_tests("COHORT_RETENTION")


def test_cohort_retention_contract_example_customers():
    values, errors = cohort_retention(MOVEMENTS_EXAMPLE, "customers")
    assert errors.tolist() == [[OK] * 4, [OK, OK, OK, NA], [NA] * 4, [OK, NA, NA, NA]]
    valid = errors == OK
    expected = np.array([[1, 0.5, 0.5, 0.5], [1, 1, 1, nan], [nan] * 4, [1, nan, nan, nan]])
    assert values[valid].tolist() == expected[valid].tolist()
    assert np.isnan(values[~valid]).all()


def test_cohort_retention_contract_example_revenue():
    values, errors = cohort_retention(MOVEMENTS_EXAMPLE, "revenue")
    assert values[0] == pytest.approx([1, 1, 1, 0.5333333333], rel=1e-10)
    assert values[1, :3].tolist() == [1, 0.5, 0.5]
    assert errors[:2].tolist() == [[OK] * 4, [OK, OK, OK, NA]]


@pytest.mark.parametrize("measure, mrr_measure", [("COUNT", "MRR"), ("Count", "Mrr"), ("count", "mRr")])
def test_cohort_retention_count_and_mrr_any_case(measure, mrr_measure):
    values, errors = cohort_retention(MOVEMENTS_EXAMPLE, measure)
    assert values[0].tolist() == [2, 1, 1, 1] and values[1, :3].tolist() == [1, 1, 1] and values[3, 0] == 1
    mrr, _ = cohort_retention(MOVEMENTS_EXAMPLE, mrr_measure)
    assert mrr[0].tolist() == [150, 150, 150, 80] and mrr[1, :3].tolist() == [200, 100, 100] and mrr[3, 0] == 60


@pytest.mark.parametrize("measure", ["customer", "", "revenues", "mrr ", 3])
def test_cohort_retention_other_measure_is_value(measure):
    values, errors = cohort_retention(MOVEMENTS_EXAMPLE, measure)
    assert errors.shape == (4, 4) and (errors == VALUE).all()


def test_cohort_retention_negative_mrr_is_num_and_one_period_is_fine():
    values, errors = cohort_retention(np.array([[1.0, -1.0]]), "count")
    assert errors.shape == (2, 2) and (errors == NUM).all()
    values, errors = cohort_retention(np.array([[5.0], [0.0]]), "revenue")
    assert (values.tolist(), errors.tolist()) == ([[1.0]], [[OK]])
