"""The Python API: the same cell rules as Excel, plus dates, pandas and exceptions.

The rules themselves are the adapter's (one copy); these tests pin what a Python user sees:
scalars raise, arrays keep their errors per element, dates in every form, ISO text, pandas
objects, and a bad row of a large export named in the exception.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import xlfuncs
from xlfuncs import ExcelError, ExcelErrorValue

# ---------------------------------------------------------------- the cell rules, as in Excel


@pytest.mark.parametrize("bad", [True, "35", "abc"])
def test_text_and_logicals_are_value_errors_as_in_excel(bad):
    with pytest.raises(ExcelErrorValue) as raised:
        xlfuncs.clv(bad, 0.05)
    assert raised.value.error is ExcelError.VALUE


def test_text_inside_a_range_is_skipped_by_aggregating_functions():
    assert xlfuncs.cac([500, "n/a"], 1) == 500.0
    assert xlfuncs.nps([10, 9, None, "skip", 0, np.nan]) == pytest.approx(100 / 3)


def test_an_int_too_large_for_a_float_is_a_value_error_not_an_overflow():
    with pytest.raises(ExcelErrorValue) as raised:
        xlfuncs.clv(10**400, 0.05)
    assert raised.value.error is ExcelError.VALUE


def test_arrays_keep_errors_per_element_and_numpy_shapes():
    out = xlfuncs.clv(np.array([35.0, 70, 35]), np.array([0.05, 0, 1.5]))
    assert out.dtype == object and out.shape == (3,)
    assert out.tolist() == [700.0, ExcelError.DIV0, ExcelError.NUM]
    clean = xlfuncs.clv(np.array([[35.0], [70.0]]), np.array([0.05, 0.1]))
    assert clean.dtype == float and clean.shape == (2, 2)
    with pytest.raises(ValueError):
        xlfuncs.clv(np.zeros(3), np.zeros(2))  # numpy's broadcasting rules in Python


def test_error_values_in_arrays_come_out_in_their_element():
    out = xlfuncs.ltv_cac([1500, ExcelError.NA, "#DIV/0!"], 500)
    assert out.tolist() == [3.0, ExcelError.NA, ExcelError.DIV0]


# ---------------------------------------------------------------- dates in every form

START, END = dt.date(2024, 1, 1), dt.date(2024, 2, 15)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (START, END),
        (dt.datetime(2024, 1, 1), dt.datetime(2024, 2, 15)),
        (pd.Timestamp("2024-01-01"), pd.Timestamp("2024-02-15")),
        (np.datetime64("2024-01-01"), np.datetime64("2024-02-15")),
        (np.datetime64("2024-01-01T00:00", "m"), np.datetime64("2024-02-15T00:00", "m")),
        (np.datetime64("2024-01-01T00:00:00", "ns"), np.datetime64("2024-02-15T00:00:00", "ns")),
        ("2024-01-01", "2024-02-15"),
        (45292, 45337),
    ],
    ids=["date", "datetime", "Timestamp", "datetime64[D]", "datetime64[m]", "datetime64[ns]", "iso", "serial"],
)
def test_ttfv_takes_dates_in_every_form(start, end):
    assert xlfuncs.ttfv(start, end) == 45.0


def test_date_arrays_from_numpy_and_pandas():
    starts = pd.Series(pd.to_datetime(["2024-01-01", "2024-03-01"]))
    ends = np.array(["2024-02-15", ""])  # "" is an empty cell: not reached yet
    assert xlfuncs.ttfv(starts, ends).tolist() == [45.0, ExcelError.NA]
    assert xlfuncs.ttfv(starts.to_numpy().astype("datetime64[m]"), "2024-03-02").tolist() == [61.0, 1.0]


def test_unparseable_date_text_is_a_value_error():
    with pytest.raises(ExcelErrorValue) as raised:
        xlfuncs.ttfv("2024-01-01", "31/01/2024")
    assert raised.value.error is ExcelError.VALUE


# ---------------------------------------------------------------- tables and exports


def test_mrr_from_subs_names_the_bad_row_of_a_large_export():
    n = 100_000
    rng = np.random.default_rng(7)
    starts = np.datetime64("2022-01-01") + rng.integers(0, 900, n).astype("timedelta64[D]")
    start_text = np.datetime_as_string(starts).astype(object)
    start_text[73_211] = "2023-02-30"  # no such day
    with pytest.raises(ExcelErrorValue) as raised:
        xlfuncs.mrr_from_subs(rng.integers(0, 30_000, n), start_text, None, np.full(n, 50.0))
    error = raised.value
    assert error.error is ExcelError.VALUE
    assert (error.argument, error.row) == ("start", 73_211)
    assert "start, row 73212" in str(error) and "2023-02-30" in str(error)


def test_whole_table_errors_raise_and_tables_with_na_cells_come_back_as_objects():
    with pytest.raises(ExcelErrorValue) as raised:
        xlfuncs.mrr_movements([[100.0], [200.0]])
    assert raised.value.error is ExcelError.VALUE
    table = xlfuncs.cohort_retention([[100, 0], [0, 50]])
    assert table.tolist() == [[1.0, 0.0], [1.0, ExcelError.NA]]


def test_sbg_fit_takes_cohort_retention_counts_as_they_spill():
    # Customers of three monthly cohorts, each with its own churn probability drawn from
    # beta(0.7, 3.8); the count table's #N/A corners and the empty cohort rows go into
    # SBG_FIT as they are, through the same adapter a spreadsheet uses.
    rng = np.random.default_rng(11)
    months, per_cohort = 12, 4000
    rows = []
    for cohort in range(3):
        churn = rng.beta(0.7, 3.8, per_cohort)
        lifetime = rng.geometric(churn)  # periods paid, >= 1
        for life in lifetime:
            row = np.zeros(months)
            row[cohort : min(months, cohort + life)] = 100.0
            rows.append(row)
    grid = np.array(rows)
    counts = xlfuncs.cohort_retention(grid, "count")
    assert counts[3, 0] == ExcelError.NA  # no cohort started in period 4: a row of #N/A
    from xlfuncs import adapter

    alpha, beta = adapter.call("SBG_FIT", counts.tolist())[0]
    assert alpha == pytest.approx(0.7, rel=0.2) and beta == pytest.approx(3.8, rel=0.2)
    assert xlfuncs.sbg_fit(counts).tolist() == [[alpha, beta]]
