"""MRR_FROM_SUBS, CUSTOMER_COUNTS and COHORT_RETENTION (xlfuncs.billing) against independent oracles.

* the contract's worked examples (the README's function reference), errors included;
* the dbt-labs MRR playbook's SQL run in DuckDB (tests/mrr_playbook.py), on the playbook's
  own seed and on random billing exports: MRR per customer and month, movements and
  customer counts per month;
* identities checked on random exports with plain Python date loops (each month's last
  day tested against each subscription's dates);
* the straightforward pandas groupby version of benchmarks/bench_billing.py.
"""

from __future__ import annotations

import calendar
import datetime as dt
import importlib.util
import math
from pathlib import Path

import duckdb
import mrr_playbook as playbook
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xlfuncs import billing
from xlfuncs.billing import cohort_retention, customer_counts, customer_order, mrr_from_subs
from xlfuncs.errors import NA, NUM, OK, VALUE
from xlfuncs.metrics import mrr_movements

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "tests" / "data" / "mrr_playbook_subscription_periods.csv"
nan = np.nan


def _load_benchmark():
    spec = importlib.util.spec_from_file_location("bench_billing", ROOT / "benchmarks" / "bench_billing.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = _load_benchmark()


def serial(text: str) -> float:
    return float((dt.date.fromisoformat(text) - playbook.EXCEL_EPOCH).days)


def build(rows, first_month=nan, months=nan):
    """mrr_from_subs over rows of (customer, start, end or None, amount, interval)."""
    codes, labels = customer_order([r[0] for r in rows])
    start = np.array([r[1] for r in rows], dtype=float)
    end = np.array([nan if r[2] is None else r[2] for r in rows], dtype=float)
    amount = np.array([r[3] for r in rows], dtype=float)
    interval = np.array([r[4] for r in rows], dtype=float)
    table, error = mrr_from_subs(codes, len(labels), start, end, amount, interval, first_month, months)
    return table, int(error), labels


# ---------------------------------------------------------------- the contract's examples

CONTRACT_SUBS = [
    ("A", serial("2024-01-01"), serial("2024-04-01"), 100.0, 1.0),
    ("B", serial("2024-02-15"), None, 1200.0, 12.0),
    ("A", serial("2024-03-01"), None, 50.0, 1.0),
    ("C", serial("2024-01-20"), serial("2024-02-10"), 30.0, 1.0),
]
MOVEMENTS_EXAMPLE = np.array([[100.0, 150, 150, 0], [0, 200, 100, 100], [50, 0, 0, 80], [0, 0, 0, 60]])


def test_mrr_from_subs_contract_example_defaults():
    table, error, labels = build(CONTRACT_SUBS)
    assert error == OK
    assert labels == ["A", "B", "C"]
    assert table.tolist() == [[100, 100, 150], [0, 100, 100], [30, 0, 0]]


def test_mrr_from_subs_contract_example_five_months():
    table, error, _ = build(CONTRACT_SUBS, months=5.0)
    assert error == OK
    assert table.tolist() == [[100, 100, 150, 50, 50], [0, 100, 100, 100, 100], [30, 0, 0, 0, 0]]


def test_mrr_movements_contract_example():
    table, error = mrr_movements(MOVEMENTS_EXAMPLE)
    assert int(error) == OK
    assert table.tolist() == [[200, 50, 0, 0, -50, 200], [0, 0, 0, -100, 0, -100], [60, 0, 80, 0, -150, -10]]


def test_customer_counts_contract_example():
    counts, error = customer_counts(MOVEMENTS_EXAMPLE)
    assert int(error) == OK
    assert counts.tolist() == [[2, 1, 0, -1, 2], [2, 0, 0, 0, 2], [2, 1, 1, -1, 3]]
    # "the last step's customer churn is =CHURN_RATE(-1, 2), 0.5"
    assert abs(counts[-1, 3]) / counts[-1, 0] == 0.5


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


# ---------------------------------------------------------------- errors and edge cases


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


def test_customer_counts_and_movements_need_two_periods():
    assert int(customer_counts(np.ones((3, 1)))[1]) == VALUE
    assert int(customer_counts(np.ones(3))[1]) == VALUE
    assert int(customer_counts(np.array([[1.0, -1.0]]))[1]) == NUM


def test_cohort_retention_negative_mrr_is_num_and_one_period_is_fine():
    values, errors = cohort_retention(np.array([[1.0, -1.0]]), "count")
    assert errors.shape == (2, 2) and (errors == NUM).all()
    values, errors = cohort_retention(np.array([[5.0], [0.0]]), "revenue")
    assert (values.tolist(), errors.tolist()) == ([[1.0]], [[OK]])


# ---------------------------------------------------------------- customer_order


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


# ---------------------------------------------------------------- the MRR playbook in DuckDB


def _playbook_seed():
    frame = pd.read_csv(SEED)
    for column in ("start_date", "end_date"):
        frame[column] = pd.to_datetime(frame[column]).dt.date
    return frame


def _compare_with_playbook(con, table, labels, first: int, last: int):
    """Our table, movements and counts against the playbook's models over months first .. last."""
    first_day, last_day = playbook.month_day(first), playbook.month_day(last)
    revenue = con.execute(
        "select customer_id, date_month, mrr from customer_revenue_by_month where date_month between ? and ?",
        [first_day, last_day],
    ).fetchall()
    row_of = {playbook.customer_key(label): i for i, label in enumerate(labels)}
    expected = np.zeros_like(table)
    for customer, month, mrr in revenue:
        expected[row_of[customer], playbook.month_number(month) - first] = mrr
    np.testing.assert_allclose(table, expected, rtol=1e-12, atol=1e-9)
    assert ((table > 0) == (expected > 0)).all()
    if last == first:
        return
    by_month = playbook.movements_by_month(con, playbook.month_day(first + 1), last_day)
    ours, error = mrr_movements(table)
    counts, _ = customer_counts(table)
    assert int(error) == OK
    theirs = np.zeros((last - first, 6))
    their_counts = np.zeros((last - first, 3))
    for month, category, amount, customers in by_month.itertuples(index=False):
        step = playbook.month_number(month) - first - 1
        theirs[step, playbook.CATEGORIES.index(category)] = amount
        if category in ("new", "reactivation", "churn"):
            their_counts[step, ("new", "reactivation", "churn").index(category)] = customers
    theirs[:, 5] = theirs[:, :5].sum(axis=1)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(counts[:, 1:4], their_counts * [1, 1, -1])
    active = con.execute(
        "select date_month, count(*) from customer_revenue_by_month where is_active and date_month between ? and ? group by 1",
        [first_day, last_day],
    ).fetchall()
    active_in = np.zeros(last - first + 1)
    for month, customers in active:
        active_in[playbook.month_number(month) - first] = customers
    np.testing.assert_array_equal(counts[:, 0], active_in[:-1])
    np.testing.assert_array_equal(counts[:, 4], active_in[1:])


def test_playbook_seed_in_duckdb():
    seed = _playbook_seed()
    con = duckdb.connect()
    # Customer ids as the keys of tests/mrr_playbook.py (the numbers 1 .. 55).
    playbook.load_periods(con, seed.assign(customer_id=[playbook.customer_key(float(c)) for c in seed.customer_id]))
    # The playbook's own spine: 2018-01-01 up to the current month (its data ends 2020-01).
    playbook.create_models(con, "date '2018-01-01'", "date_trunc('month', current_date)")
    # Its seed as an export for MRR_FROM_SUBS: monthly amounts, first-of-month dates; the
    # table starts where the playbook's spine starts (its seed has three customers of 2017,
    # outside the spine and so rows of zeros here), and runs to the default last month.
    rows = [
        (float(r.customer_id), serial(str(r.start_date)), serial(str(r.end_date)), float(r.monthly_amount), 1.0)
        for r in seed.itertuples()
    ]
    table, error, labels = build(rows, first_month=serial("2018-01-01"))
    assert error == OK
    assert table.shape == (55, 25)  # 55 customers, 2018-01 .. 2020-01
    first = playbook.month_number(dt.date(2018, 1, 1))
    _compare_with_playbook(con, table, labels, first, first + 24)
    # Non-vacuous: the seed has every category of movement.
    movements, _ = mrr_movements(table)
    assert (movements[:, :5] != 0).any(axis=0).all()


CUSTOMERS = st.one_of(st.integers(1, 4).map(float), st.sampled_from(["a", "A", "b", "B", "1", "ab"]))
AMOUNTS = st.one_of(st.sampled_from([0.0, 0.1, 0.2, 0.3, 10.0, 25.5, 99.0, 1200.0]), st.floats(0, 1e4))
INTERVALS = st.sampled_from([1.0, 1.0, 1.0, 3.0, 12.0, 0.5, 2.5])
FIRST_DAY = 44927  # 2023-01-01


@st.composite
def exports(draw):
    """Random billing exports: overlaps, gaps, returns, running subscriptions, times of day."""
    rows = []
    for _ in range(draw(st.integers(1, 14))):
        start = draw(st.integers(FIRST_DAY, FIRST_DAY + 800)) + draw(st.sampled_from([0.0, 0.0, 0.5]))
        length = draw(st.one_of(st.none(), st.integers(0, 400)))
        end = None if length is None else math.floor(start) + length + draw(st.sampled_from([0.0, 0.25]))
        rows.append((draw(CUSTOMERS), start, end, draw(AMOUNTS), draw(INTERVALS)))
    if draw(st.booleans()):
        window = (float(draw(st.integers(FIRST_DAY - 100, FIRST_DAY + 900))), float(draw(st.integers(1, 30))))
    else:
        window = (nan, nan)
    return rows, window


def _window(rows, first_month, months) -> tuple[int, int]:
    """First and last month of the table, computed from the dates (months as month_number)."""
    if math.isnan(first_month):
        first = min(playbook.month_number(playbook.serial_day(r[1])) for r in rows)
    else:
        first = playbook.month_number(playbook.serial_day(first_month))
    if math.isnan(months):
        days = [playbook.serial_day(r[1]) for r in rows]
        days += [playbook.serial_day(r[2]) - dt.timedelta(days=1) for r in rows if r[2] is not None]
        return first, max(playbook.month_number(d) for d in days)
    return first, first + int(months) - 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(exports())
def test_random_exports_against_the_playbook_in_duckdb(export):
    rows, (first_month, months) = export
    first, last = _window(rows, first_month, months)
    table, error, labels = build(rows, first_month, months)
    if last < first:
        assert error == NUM
        return
    assert error == OK and table.shape == (len(labels), last - first + 1)
    con = duckdb.connect()
    playbook.load_periods(con, playbook.playbook_periods(rows, first, last))
    day = playbook.month_day
    playbook.create_models(con, f"date '{day(first)}'", f"date '{day(last + 1)}'")
    _compare_with_playbook(con, table, labels, first, last)


def test_a_larger_random_export_against_the_playbook_in_duckdb():
    # 600 subscriptions of 80 customers (numbers, and texts in two cases), overlapping,
    # with gaps, returns, times of day and plans of 1, 3 and 12 months, over 30 months.
    rng = np.random.default_rng(11)
    pool = [float(i) for i in range(1, 41)] + [f"Cus{i}" for i in range(40)]
    rows = []
    for _ in range(600):
        customer = pool[rng.integers(len(pool))]
        if isinstance(customer, str) and rng.random() < 0.5:
            customer = customer.upper()
        start = FIRST_DAY - 200 + int(rng.integers(0, 1000)) + float(rng.choice([0.0, 0.3]))
        end = None if rng.random() < 0.3 else math.floor(start) + int(rng.integers(0, 500)) + 0.5
        amount = float(rng.choice([0.0, 19.0, 49.0, 99.5, 1188.0]))
        rows.append((customer, start, end, amount, float(rng.choice([1.0, 3.0, 12.0]))))
    first_month, months = FIRST_DAY + 40.0, 30.0  # a window that cuts through subscriptions
    table, error, labels = build(rows, first_month, months)
    assert error == OK and table.shape == (80, 30)
    first, last = _window(rows, first_month, months)
    con = duckdb.connect()
    playbook.load_periods(con, playbook.playbook_periods(rows, first, last))
    playbook.create_models(con, f"date '{playbook.month_day(first)}'", f"date '{playbook.month_day(last + 1)}'")
    _compare_with_playbook(con, table, labels, first, last)
    movements, _ = mrr_movements(table)
    assert (movements[:, :5] != 0).sum(axis=0).min() >= 3  # every kind of movement, several times


def _billed(rows, first: int, last: int) -> dict:
    """MRR per (customer key, month) with a date loop: active on the month's last day."""
    billed = {}
    for customer, start, end, amount, interval in rows:
        start_day = playbook.serial_day(start)
        end_day = None if end is None else playbook.serial_day(end)
        for month in range(first, last + 1):
            year, number = divmod(month, 12)
            last_day = dt.date(year, number + 1, calendar.monthrange(year, number + 1)[1])
            if start_day <= last_day and (end_day is None or last_day < end_day):
                key = (playbook.customer_key(customer), month)
                billed[key] = billed.get(key, 0.0) + amount / interval
    return billed


@settings(max_examples=150, deadline=None)
@given(exports())
def test_random_exports_identities(export):
    rows, (first_month, months) = export
    first, last = _window(rows, first_month, months)
    table, error, labels = build(rows, first_month, months)
    if last < first:
        assert error == NUM
        return
    assert error == OK
    # Column sums are the total billed per month, found by walking the calendar; each
    # customer's row is its own bill.
    billed = _billed(rows, first, last)
    totals = [sum(v for (_, m), v in billed.items() if m == month) for month in range(first, last + 1)]
    np.testing.assert_allclose(table.sum(axis=0), totals, rtol=1e-12, atol=1e-9)
    for i, label in enumerate(labels):
        mine = [billed.get((playbook.customer_key(label), m), 0.0) for m in range(first, last + 1)]
        np.testing.assert_allclose(table[i], mine, rtol=1e-12, atol=1e-9)
        assert ((table[i] > 0) == (np.array(mine) > 0)).all()
    periods = table.shape[1]
    cohort_count, count_errors = cohort_retention(table, "count")
    cohort_mrr, _ = cohort_retention(table, "mrr")
    # Age 0 of the cohort table: customers paying in period 1, then the new ones.
    if periods == 1:
        assert cohort_count[0, 0] == (table[:, 0] > 0).sum() or count_errors[0, 0] == NA
        return
    movements, _ = mrr_movements(table)
    counts, _ = customer_counts(table)
    np.testing.assert_allclose(movements[:, 5], np.diff(table.sum(axis=0)), rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(counts[:-1, 4], counts[1:, 0])
    np.testing.assert_array_equal(counts[:, 4], counts[:, :4].sum(axis=1))
    new = np.concatenate([[(table[:, 0] > 0).sum()], counts[:, 1]])
    np.testing.assert_array_equal(np.where(count_errors[:, 0] == NA, 0, cohort_count[:, 0]), new)
    assert ((count_errors[:, 0] == NA) == (new == 0)).all()
    # Summed over cohorts at each period, the cohort table gives back the period's active
    # customers and MRR.
    for p in range(periods):
        cells = [(c, p - c) for c in range(p + 1) if count_errors[c, p - c] == OK]
        assert sum(cohort_count[c, a] for c, a in cells) == (table[:, p] > 0).sum()
        assert sum(cohort_mrr[c, a] for c, a in cells) == pytest.approx(table[:, p].sum(), rel=1e-12, abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(exports())
def test_mrr_from_subs_in_chunks_gives_the_same_table(export):
    # The sums run in chunks of _CHUNK subscription-months (2 M): with chunks of 5 the
    # chunk boundaries fall inside and between subscriptions.
    rows, (first_month, months) = export
    whole = build(rows, first_month, months)
    saved = billing._CHUNK
    billing._CHUNK = 5
    try:
        chunked = build(rows, first_month, months)
    finally:
        billing._CHUNK = saved
    assert chunked[1:] == whole[1:]
    np.testing.assert_allclose(chunked[0], whole[0], rtol=1e-14, atol=0)
    assert ((chunked[0] > 0) == (whole[0] > 0)).all()


# ---------------------------------------------------------------- the pandas groupby version


def test_pandas_reference_agrees_on_a_generated_export():
    frame = bench.generate(subscriptions=3000, customers=900, months=24, seed=7)
    first, months = bench.WINDOW_FIRST, 24.0
    codes, labels, table = bench.xlfuncs_table(frame, first, months)
    reference = bench.pandas_pipeline(frame, first, months)
    pivot = reference["mrr"]
    assert [str(x) for x in pivot.index] == [str(x) for x in labels]
    np.testing.assert_allclose(table, pivot.to_numpy(), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(mrr_movements(table)[0], reference["movements"], rtol=1e-9, atol=1e-6)
    for measure in ("count", "mrr", "customers", "revenue"):
        values, errors = cohort_retention(table, measure)
        expected = reference["cohorts"][measure]
        assert ((errors == NA) == np.isnan(expected)).all()
        np.testing.assert_allclose(values, expected, rtol=1e-9, atol=1e-9)
