"""pandas faces of the billing-data functions: labelled tables for notebooks.

The numbers are the spreadsheet functions' own (:func:`xlfuncs.mrr_from_subs`,
:func:`xlfuncs.mrr_movements`, :func:`xlfuncs.customer_counts`,
:func:`xlfuncs.cohort_retention`, through the same cell rules); this module only adds the
labels a DataFrame carries: customers as the index, months as a monthly ``PeriodIndex``.
pandas is needed here only (``pip install pandas``); the rest of xlfuncs does without it.

>>> import pandas as pd
>>> export = pd.DataFrame({
...     "customer": ["A", "B", "A", "C"],
...     "start": pd.to_datetime(["2024-01-01", "2024-02-15", "2024-03-01", "2024-01-20"]),
...     "end": pd.to_datetime(["2024-04-01", None, None, "2024-02-10"]),
...     "amount": [100, 1200, 50, 30],
...     "interval": [1, 12, 1, 1],
... })
>>> table = mrr_table(export, interval="interval")
>>> table
month     2024-01  2024-02  2024-03
customer
A           100.0    100.0    150.0
B             0.0    100.0    100.0
C            30.0      0.0      0.0
>>> movements(table)["net"].tolist()
[70.0, 50.0]
"""

from __future__ import annotations

import numpy as np

from . import adapter, api, billing, registry
from .errors import ExcelErrorValue


def _pandas():
    try:
        import pandas  # noqa: PLC0415 - optional: only this module needs it
    except ImportError as missing:  # pragma: no cover - depends on the environment
        raise ImportError("xlfuncs.frames needs pandas: pip install pandas") from missing
    return pandas


def _column(df, name):
    if name is None:
        return None
    if name not in df.columns:
        raise KeyError(f"no column {name!r} in the export (columns: {', '.join(map(str, df.columns))})")
    return df[name]


def mrr_table(
    df,
    customer: str = "customer",
    start: str = "start",
    end: str = "end",
    amount: str = "amount",
    interval: str | float | None = None,
    first_month=None,
    months: int | None = None,
):
    """The customers x months MRR table of a billing export, labelled.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per subscription.
    customer, start, end, amount : str
        The columns holding the customer id, the start date, the end date (exclusive;
        empty while running) and the amount billed per interval.
    interval : str or float, optional
        The column of months per billing interval, or one number for every row; default 1.
    first_month : date-like, optional
        Any date in the first month of the table; default: the earliest start's month.
    months : int, optional
        Number of months; default: up to the latest start or end.

    Returns
    -------
    pandas.DataFrame
        Index ``customer`` (sorted as ``MRR_FROM_SUBS`` sorts its rows), columns a monthly
        ``PeriodIndex`` named ``month``.

    Raises
    ------
    ExcelErrorValue
        For a bad row, naming the export's column and the row's index label.
    """
    pd = _pandas()
    fn = registry.get("MRR_FROM_SUBS")
    columns = {"customer": customer, "start": start, "end": end, "amount": amount}
    given = [_column(df, name) for name in columns.values()]
    given.append(_column(df, interval) if isinstance(interval, str) else interval)
    values = [api._python_value(v, arg) for v, arg in zip([*given, first_month, months], fn.args)]
    result, subs = adapter.subscription_table(values)
    error = result.whole_error
    if error is not None:
        where = result.reason
        if result.row is not None:  # name the export's column and the row's index label
            label = columns.get(result.argument, interval)
            where = f"column {label!r}, row {df.index[result.row]!r}: {result.reason.split(': ', 1)[-1]}"
        raise ExcelErrorValue(error, fn.name, where, result.argument, result.row)
    table = result.values
    first = billing.table_start(subs.start, subs.first_month)  # months since 1970-01
    periods = pd.period_range(
        start=pd.Period(year=1970 + first // 12, month=first % 12 + 1, freq="M"), periods=table.shape[1]
    )
    return pd.DataFrame(
        table,
        index=pd.Index(subs.labels, name="customer"),
        columns=pd.PeriodIndex(periods, name="month"),
    )


def _labelled(values, index, columns):
    pd = _pandas()
    values = np.asarray(values, dtype=object)
    values = np.where([[isinstance(v, float) for v in row] for row in values], values, np.nan).astype(float)
    return pd.DataFrame(values, index=index, columns=columns)


def movements(table):
    """MRR movements of a :func:`mrr_table` (or any customers x months frame), per month.

    One row per month after the first, columns new, expansion, reactivation, contraction,
    churned, net (``MRR_MOVEMENTS``).
    """
    fn = registry.get("MRR_MOVEMENTS")
    return _labelled(api.mrr_movements(table.to_numpy(dtype=float)), table.columns[1:], list(fn.columns))


def customer_counts(table):
    """Customer counts of a :func:`mrr_table` per month after the first (``CUSTOMER_COUNTS``)."""
    fn = registry.get("CUSTOMER_COUNTS")
    return _labelled(api.customer_counts(table.to_numpy(dtype=float)), table.columns[1:], list(fn.columns))


def cohorts(table, measure: str = "customers"):
    """The cohort table of a :func:`mrr_table` (``COHORT_RETENTION``): one row per starting
    month, one column per age in months; ``NaN`` where Excel shows ``#N/A``."""
    pd = _pandas()
    values = api.cohort_retention(table.to_numpy(dtype=float), measure)
    ages = pd.RangeIndex(values.shape[1], name="age")
    return _labelled(values, table.columns.rename("cohort"), ages)


__all__ = ["mrr_table", "movements", "customer_counts", "cohorts"]
