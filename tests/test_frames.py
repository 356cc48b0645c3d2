"""xlfuncs.frames: the billing-data functions for notebook users, labelled with pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import xlfuncs
from xlfuncs import ExcelError, ExcelErrorValue, frames


@pytest.fixture
def export():
    # A Stripe-like export: text ids in two spellings, a numeric id, a quarterly plan, a
    # time of day on a start, one running and one cancelled subscription.
    return pd.DataFrame(
        {
            "Customer ID": ["cus_B", "cus_a", 42, "CUS_A", "cus_B"],
            "Created (UTC)": pd.to_datetime(
                ["2024-01-05 10:30", "2024-01-31 00:00", "2024-02-01 00:00", "2024-03-15 00:00", "2024-04-01 00:00"]
            ),
            "Ended At (UTC)": pd.to_datetime(["2024-04-01", None, "2024-03-01", None, None]),
            "Amount": [30.0, 300.0, 12.0, 60.0, 45.0],
            "Interval": [1, 3, 1, 1, 1],
        },
        index=pd.RangeIndex(2, 7, name="line"),
    )


def _table(export, **kwargs):
    return frames.mrr_table(
        export,
        customer="Customer ID",
        start="Created (UTC)",
        end="Ended At (UTC)",
        amount="Amount",
        interval="Interval",
        **kwargs,
    )


def test_mrr_table_is_labelled_by_customer_and_month(export):
    table = _table(export)
    assert table.index.tolist() == [42.0, "cus_a", "cus_B"]  # numbers first, then text ignoring case
    assert table.columns.name == "month" and str(table.columns.freq) in ("<MonthEnd>", "M", "ME")
    assert [str(p) for p in table.columns] == ["2024-01", "2024-02", "2024-03", "2024-04"]
    assert table.loc["cus_a"].tolist() == [100.0, 100.0, 160.0, 160.0]  # 300 a quarter, then + 60 a month
    assert table.loc["cus_B"].tolist() == [30.0, 30.0, 30.0, 45.0]
    assert table.loc[42.0].tolist() == [0.0, 12.0, 0.0, 0.0]


def test_column_sums_are_what_was_billed_per_month(export):
    # An independent pandas computation: for each month end, the rate of every active row.
    table = _table(export)
    for period in table.columns:
        last_day = period.end_time.normalize()
        start = export["Created (UTC)"].dt.normalize()
        end = export["Ended At (UTC)"]
        active = (start <= last_day) & (end.isna() | (end > last_day))
        billed = (export["Amount"] / export["Interval"])[active].sum()
        assert table[period].sum() == pytest.approx(billed, rel=1e-12)


def test_movements_counts_and_cohorts_carry_period_labels(export):
    table = _table(export, months=6)
    movements = frames.movements(table)
    assert [str(p) for p in movements.index] == ["2024-02", "2024-03", "2024-04", "2024-05", "2024-06"]
    assert list(movements.columns) == ["new", "expansion", "reactivation", "contraction", "churned", "net"]
    assert (movements["net"] == table.sum().diff().iloc[1:].to_numpy()).all()
    counts = frames.customer_counts(table)
    assert counts.loc[pd.Period("2024-02", "M"), "new"] == 1  # customer 42
    assert counts.loc[pd.Period("2024-03", "M"), "churned"] == -1
    cohorts = frames.cohorts(table, "count")
    assert cohorts.index.name == "cohort" and cohorts.columns.name == "age"
    assert cohorts.iloc[0, 0] == 2  # cus_B and cus_a started in January
    assert np.isnan(cohorts.iloc[1, 5])  # past the last month: #N/A in Excel, NaN here
    np.testing.assert_array_equal(
        frames.cohorts(table).fillna(-1).to_numpy(),
        np.where(
            xlfuncs.cohort_retention(table.to_numpy()) == ExcelError.NA, -1, xlfuncs.cohort_retention(table.to_numpy())
        ).astype(float),
    )


def test_a_bad_row_is_named_by_its_column_and_index_label(export):
    export.loc[5, "Created (UTC)"] = pd.NaT  # a missing start
    with pytest.raises(ExcelErrorValue) as raised:
        _table(export)
    assert raised.value.error is ExcelError.VALUE
    assert "column 'Created (UTC)', row 5" in str(raised.value)


def test_an_unknown_column_is_a_key_error_listing_the_columns(export):
    with pytest.raises(KeyError, match="Customer ID"):
        frames.mrr_table(export, customer="customer_id")
