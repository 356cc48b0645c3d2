"""The contract's billing export and MRR grid, and helpers, for the billing functions' homes
(tests/functions/test_mrr_from_subs.py and the others) and tests/test_billing.py."""

from __future__ import annotations

import datetime as dt

import mrr_playbook as playbook
import numpy as np

from xlfuncs.billing import customer_order, mrr_from_subs

nan = np.nan


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


CONTRACT_SUBS = [
    ("A", serial("2024-01-01"), serial("2024-04-01"), 100.0, 1.0),
    ("B", serial("2024-02-15"), None, 1200.0, 12.0),
    ("A", serial("2024-03-01"), None, 50.0, 1.0),
    ("C", serial("2024-01-20"), serial("2024-02-10"), 30.0, 1.0),
]


MOVEMENTS_EXAMPLE = np.array([[100.0, 150, 150, 0], [0, 200, 100, 100], [50, 0, 0, 80], [0, 0, 0, 60]])
