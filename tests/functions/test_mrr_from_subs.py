"""MRR_FROM_SUBS: the contract's rows, bad rows and windows, dates, float residues, the customer order.

The playbook oracle (DuckDB) of the whole billing pipeline is in tests/test_billing.py."""

from __future__ import annotations

import mrr_playbook as playbook
import numpy as np
import pytest
from billing_cases import CONTRACT_SUBS, build, nan, serial
from contract_checks import contract_tests
from hypothesis import given, settings
from hypothesis import strategies as st

from xlfuncs.billing import customer_counts, customer_order, mrr_from_subs
from xlfuncs.errors import NUM, OK, VALUE

test_contract_in_cells, test_contract_in_python = contract_tests("MRR_FROM_SUBS")


def test_mrr_from_subs_contract_example_defaults():
    table, error, labels = build(CONTRACT_SUBS)
    assert error == OK
    assert labels == ["A", "B", "C"]
    assert table.tolist() == [[100, 100, 150], [0, 100, 100], [30, 0, 0]]


def test_mrr_from_subs_contract_example_five_months():
    table, error, _ = build(CONTRACT_SUBS, months=5.0)
    assert error == OK
    assert table.tolist() == [[100, 100, 150, 50, 50], [0, 100, 100, 100, 100], [30, 0, 0, 0, 0]]


@pytest.mark.parametrize(
    "change, code",
    [
        ({"amount": -1.0}, NUM),
        ({"interval": 0.0}, NUM),
        ({"interval": -3.0}, NUM),
        ({"end": serial("2024-01-19")}, NUM),  # before its start, 2024-01-20
        ({"start": nan}, VALUE),
        ({"start": -1.0}, NUM),
        ({"end": 2958466.0}, NUM),  # after 9999-12-31
    ],
)
def test_mrr_from_subs_bad_row_makes_the_whole_result_an_error(change, code):
    row = {"customer": "C", "start": serial("2024-01-20"), "end": serial("2024-02-10"), "amount": 30.0, "interval": 1.0}
    row.update(change)
    rows = [*CONTRACT_SUBS[:3], tuple(row.values())]
    assert build(rows)[1] == code


@pytest.mark.parametrize(
    "first_month, months, code",
    [
        (nan, 0.0, NUM),
        (nan, 0.99, NUM),
        (nan, -2.0, NUM),
        (nan, 16385.0, NUM),
        (serial("2024-04-15"), nan, NUM),  # the default last month (March) is before April
        (serial("2024-03-31"), nan, OK),
        (serial("2024-03-31"), 1.9, OK),
        (-1.0, 3.0, NUM),
    ],
)
def test_mrr_from_subs_window_errors(first_month, months, code):
    assert build(CONTRACT_SUBS, first_month, months)[1] == code


def test_mrr_from_subs_lengths_differ_is_value_and_interval_may_be_one_value():
    codes, labels = customer_order(["A", "B"])
    start, end, amount = np.array([45292.0, 45300]), np.array([nan, nan]), np.array([12.0, 24])
    table, error = mrr_from_subs(codes, 2, start, end, amount, np.array([12.0]), nan, 2.0)
    assert (int(error), table.tolist()) == (OK, [[1, 1], [2, 2]])
    assert int(mrr_from_subs(codes, 2, start, end[:1], amount, np.array([1.0]), nan, nan)[1]) == VALUE
    assert int(mrr_from_subs(codes, 2, start, end, amount, np.array([1.0, 1, 1]), nan, nan)[1]) == VALUE
    assert int(mrr_from_subs(codes, 2, start[:0], end[:0], amount[:0], np.array([1.0]), nan, 3.0)[1]) == VALUE
    assert int(mrr_from_subs(codes[:0], 0, start[:0], end[:0], amount[:0], np.array([1.0]), nan, 3.0)[1]) == NUM


def test_mrr_from_subs_window_months_truncated_and_first_month_any_day():
    table, error, _ = build(CONTRACT_SUBS, serial("2024-02-29"), 2.9)
    assert error == OK
    assert table.tolist() == [[100, 150], [100, 100], [0, 0]]


def test_mrr_from_subs_time_of_day_is_dropped():
    # Ends at 2024-02-01 09:00: the day is 1 February, so January's last day is before it.
    rows = [("x", serial("2024-01-31") + 0.75, serial("2024-02-01") + 0.375, 10.0, 1.0)]
    table, error, _ = build(rows)
    assert (error, table.tolist()) == (OK, [[10.0]])
    # Start and end on the same day: active on no last day of a month, a row of zeros;
    # the default table runs to the later of the start's month (February) and the month
    # of end - 1 day (January).
    rows = [("x", serial("2024-02-01") + 0.2, serial("2024-02-01") + 0.9, 10.0, 1.0)]
    assert build(rows)[0].tolist() == [[0.0]]


def test_mrr_from_subs_no_residue_where_nothing_is_paid():
    # 0.1 + 0.2 - 0.1 - 0.2 is 2.8e-17 in floats: a month with nothing paid must be exactly 0
    # (MRR_MOVEMENTS would count 2.8e-17 as an active customer), and a month where only a
    # free plan runs, too.
    rows = [
        ("x", serial("2024-01-01"), serial("2024-03-01"), 0.1, 1.0),
        ("x", serial("2024-01-01"), serial("2024-03-01"), 0.2, 1.0),
        ("x", serial("2024-03-01"), serial("2024-05-01"), 0.0, 1.0),
        ("x", serial("2024-05-01"), serial("2024-06-01"), 0.3, 1.0),
    ]
    table, error, _ = build(rows)
    assert error == OK
    assert table[0, 2:4].tolist() == [0.0, 0.0] and table[0, 4] == 0.3
    assert customer_counts(table)[0][:, 3].tolist() == [0, -1, 0, 0]


def test_mrr_from_subs_small_rate_beside_a_huge_one_survives():
    # 1e16 + 0.5 - 1e16 is 0 in floats: a customer still paying 0.5 must keep its 0.5.
    rows = [
        ("x", serial("2024-01-01"), serial("2024-02-01"), 1e16, 1.0),
        ("x", serial("2024-01-01"), serial("2024-04-01"), 0.5, 1.0),
        ("y", serial("2024-01-01"), None, 5e-324, 1.0),
    ]
    table, error, _ = build(rows)
    assert error == OK
    assert table.tolist() == [[1e16, 0.5, 0.5], [5e-324, 5e-324, 5e-324]]


@pytest.mark.parametrize(
    "day, month",
    # Excel's 1900 system: serial 0 is "1900-01-00", 31 is 1900-01-31, 32 1900-02-01,
    # 60 the 29 February 1900 that never was, 61 1900-03-01.
    [(0, 0), (31, 0), (32, 1), (59, 1), (60, 1), (61, 2), (91, 2), (92, 3)],
)
def test_mrr_from_subs_months_of_1900(day, month):
    rows = [("x", float(day), None, 1.0, 1.0)]
    table, error, _ = build(rows, first_month=1.0, months=5.0)
    assert error == OK
    assert table[0].tolist() == [0.0] * month + [1.0] * (5 - month)


def test_customer_order_contract_rules():
    ids = ["b", 10.0, "Zed", "A", 2.0, "B", "10", "a", "_x", "é", "É", 2.0, "Straße", "STRASSE"]
    codes, labels = customer_order(ids)
    # Numbers ascending; text by case-folded code points ("10" < "_x" < "a" < "b" < "strasse"
    # < "zed" < "é"), the first spelling seen as label; "10" is not the number 10.
    assert labels == [2.0, 10.0, "10", "_x", "A", "b", "Straße", "Zed", "é"]
    assert [labels[c] for c in codes] == [
        "b",
        10.0,
        "Zed",
        "A",
        2.0,
        "b",
        "10",
        "A",
        "_x",
        "é",
        "é",
        2.0,
        "Straße",
        "Straße",
    ]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.integers(-3, 3).map(float), st.text("aAbBß0 ", min_size=1, max_size=3)), min_size=1))
def test_customer_order_against_sorted_sets(ids):
    codes, labels = customer_order(ids)
    numbers = sorted({x for x in ids if not isinstance(x, str)})
    texts = sorted({x.casefold() for x in ids if isinstance(x, str)})
    assert len(labels) == len(numbers) + len(texts)
    assert labels[: len(numbers)] == numbers
    assert [label.casefold() for label in labels[len(numbers) :]] == texts
    for i, x in enumerate(ids):
        label = labels[codes[i]]
        assert playbook.customer_key(label) == playbook.customer_key(x)
        if isinstance(x, str):  # the label is the first spelling seen
            assert label == next(y for y in ids if isinstance(y, str) and y.casefold() == x.casefold())
