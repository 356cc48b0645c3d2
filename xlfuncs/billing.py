"""From billing data to cohorts: MRR_FROM_SUBS, CUSTOMER_COUNTS and COHORT_RETENTION.

Pure, vectorised numpy in the style of :mod:`xlfuncs.metrics`: arrays in, ``(values,
errors)`` out, with Excel ``ERROR.TYPE`` codes from :mod:`xlfuncs.errors`. The adapter turns
cells into the arrays taken here (text and blanks, ``""`` as empty, error values passed
in, ranges of different lengths); these functions check what is left: the ranges of the
numbers.

A billing export of 100,000 subscriptions becomes a customers x months table in a few
array passes: one ``np.unique`` for the customers, datetime64 month arithmetic for the
dates, a difference array (``np.bincount``) and a cumulative sum for the table.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .errors import NA, NUM, OK, VALUE

__all__ = ["customer_order", "mrr_from_subs", "customer_counts", "cohort_retention", "COUNT_COLUMNS", "MEASURES"]

COUNT_COLUMNS = ("at_start", "new", "reactivated", "churned", "at_end")
MEASURES = ("customers", "revenue", "count", "mrr")

# Excel's 1900 date system: day 0 is 1899-12-30 for every serial from 61 (1900-03-01) on.
_EPOCH = np.datetime64("1899-12-30", "D")
_LAST_SERIAL = 2958465.0  # 9999-12-31, the last day Excel has
# The table spills one column per month and a sheet has 16,384 columns: a longer table has
# no place to go, and would only cost memory on the way to an error.
_MAX_MONTHS = 16384


def customer_order(ids: Sequence[float | str]) -> tuple[np.ndarray, list]:
    """The rows of the customer table: one per distinct customer, in the contract's order.

    Parameters
    ----------
    ids : sequence of float or str
        One customer id per subscription row: a number (a float) or a text (a str),
        never empty.

    Returns
    -------
    codes : ndarray of intp
        For each subscription, the row of its customer in the output table.
    labels : list
        One label per output row: the number, or the first spelling of the text seen.

    Notes
    -----
    Text ids match ignoring case, compared by ``str.casefold()`` (as Excel's ``UNIQUE``
    does); a number and the same digits as text are different customers. Numbers come
    first, ascending, then text ids in the order of their case-folded code points, which is
    Excel's ``SORT`` order for ids of letters and digits. Numbers are sorted by
    ``np.unique``; text ids go once through a dict (the first spelling seen becomes the
    label) and only the distinct ones are sorted, by Python's code-point string order.

    Examples
    --------
    >>> codes, labels = customer_order(["b", 7.0, "A", "B", 3.0, "7"])
    >>> codes.tolist(), labels
    ([4, 1, 3, 4, 0, 2], [3.0, 7.0, '7', 'A', 'b'])
    """
    n = len(ids)
    is_text = np.fromiter((isinstance(x, str) for x in ids), dtype=bool, count=n)
    codes = np.empty(n, dtype=np.intp)
    numbers_at = np.flatnonzero(~is_text)
    numbers = np.array([float(ids[i]) for i in numbers_at], dtype=float)
    distinct_numbers, numbers_code = np.unique(numbers, return_inverse=True)
    codes[numbers_at] = numbers_code.reshape(-1)
    labels: list = distinct_numbers.tolist()

    texts_at = np.flatnonzero(is_text)
    if texts_at.size:
        first: dict[str, int] = {}  # case-folded id -> its first position among the distinct ones
        spelling: list[str] = []
        text_code = np.empty(texts_at.size, dtype=np.intp)
        for k, i in enumerate(texts_at.tolist()):
            text = ids[i]
            key = text.casefold()
            code = first.get(key)
            if code is None:
                code = first[key] = len(spelling)
                spelling.append(text)
            text_code[k] = code
        keys = list(first)
        order = sorted(range(len(keys)), key=keys.__getitem__)
        rank = np.empty(len(keys), dtype=np.intp)
        rank[order] = np.arange(len(keys)) + len(labels)
        codes[texts_at] = rank[text_code]
        labels.extend(spelling[j] for j in order)
    return codes, labels


def _month_index(serials: np.ndarray) -> np.ndarray:
    """Months since 1970-01 of the days of Excel serials in 0 .. 9999-12-31 (no NaN).

    Excel's 1900 system counts a 29 February 1900 that never was (serial 60): serials 1 to
    59 fall one day later than the 1899-12-30 epoch says, and serial 0 ("1900-01-00") is in
    January 1900, so both are moved onto the days of the same month before the datetime64
    arithmetic.
    """
    days = np.floor(serials)
    days = np.where(days < 60, np.maximum(days, 1.0) + 1.0, days)
    return (_EPOCH + days.astype(np.int64)).astype("datetime64[M]").astype(np.int64)


def _is_date(serials: np.ndarray) -> np.ndarray:
    return (serials >= 0) & (serials < _LAST_SERIAL + 1)


def _no_table(code: int) -> tuple[np.ndarray, np.int8]:
    return np.full((1, 1), np.nan), np.int8(code)


def mrr_from_subs(codes, n_customers, start, end, amount, interval, first_month, months) -> tuple[np.ndarray, np.int8]:
    """The customers x months MRR table of a billing export (one row per subscription).

    Parameters
    ----------
    codes : ndarray of intp
        The customer row of each subscription (see :func:`customer_order`).
    n_customers : int
        Number of rows of the table.
    start, end : ndarray
        Excel serials (1900 date system) of the day each subscription started and ended
        (exclusive); a time of day is dropped. ``end`` NaN: still running.
    amount : ndarray
        Billed per interval, >= 0.
    interval : ndarray
        Months per billing interval, > 0 (blanks already 1, one value already broadcast).
    first_month : float
        A serial in the first month of the table; NaN: the earliest start's month.
    months : float
        Number of months, >= 1, truncated; NaN: up to the month of the latest of every start
        and every (end - 1 day).

    Returns
    -------
    values : ndarray, shape (n_customers, months)
        MRR per customer and month.
    errors : int8
        ``#NUM!`` for a negative amount, an interval <= 0, an end before its start, a date
        outside Excel's calendar, months < 1 (or more than a sheet's 16,384 columns), a
        default last month before first_month, or no subscription at all; ``#VALUE!`` for a
        missing start. The values are then a 1 x 1 NaN.

    Notes
    -----
    A subscription adds ``amount / interval`` to month M when it is active on M's last day,
    ``start <= last day of M < end``: in the months from ``month(start)`` to
    ``month(end) - 1``. Each one adds its rate at its first month of the window and takes it
    off after its last (a difference array summed by ``np.bincount``); a cumulative sum
    along the months gives the table. A month in which a customer has no subscription of a
    positive rate is set to exactly 0 (a count kept alongside the sums), so the rounding of
    additions and subtractions never leaves a 1e-17 of MRR that would read as an active
    customer. Otherwise the values are the sums over the subscriptions to 1e-15 relative.

    Examples
    --------
    The contract's example (A: 100 monthly from 2024-01-01 to 2024-04-01; B: 1200 a year
    from 2024-02-15; A: 50 monthly from 2024-03-01; C: 30 from 2024-01-20 to 2024-02-10):

    >>> import numpy as np
    >>> nan = np.nan
    >>> codes, labels = customer_order(["A", "B", "A", "C"])
    >>> start = np.array([45292.0, 45337, 45352, 45311])
    >>> end = np.array([45383.0, nan, nan, 45332])
    >>> amount, interval = np.array([100.0, 1200, 50, 30]), np.array([1.0, 12, 1, 1])
    >>> table, error = mrr_from_subs(codes, len(labels), start, end, amount, interval, nan, nan)
    >>> table.tolist(), int(error)
    ([[100.0, 100.0, 150.0], [0.0, 100.0, 100.0], [30.0, 0.0, 0.0]], 0)
    """
    start = np.asarray(start, dtype=float)
    end = np.asarray(end, dtype=float)
    amount = np.asarray(amount, dtype=float)
    interval = np.broadcast_to(np.asarray(interval, dtype=float), start.shape)
    codes = np.asarray(codes, dtype=np.intp)
    first_month, months = float(first_month), float(months)
    with np.errstate(all="ignore"):
        if np.isnan(start).any():
            return _no_table(VALUE)
        running = np.isnan(end)
        bad = (
            ~(amount >= 0)
            | ~np.isfinite(amount)
            | ~(interval > 0)
            | ~np.isfinite(interval)
            | ~_is_date(start)
            | ~(running | _is_date(end))
            | (np.floor(end) < np.floor(start))
        )
        if bad.any() or start.size == 0 or n_customers < 1:
            return _no_table(NUM)
        if not np.isnan(first_month) and not _is_date(first_month):
            return _no_table(NUM)
        if not np.isnan(months) and not 1 <= months < _MAX_MONTHS + 1:
            return _no_table(NUM)
        rate = amount / interval
    first = _month_index(start)  # first month active
    stop = _month_index(np.where(running, 0.0, end))  # first month no longer active
    window_start = int(first.min()) if np.isnan(first_month) else int(_month_index(np.array(first_month)))
    if np.isnan(months):
        last = first.max()
        if not running.all():
            # end - 1 day: the last day the subscription is active (an end on its start
            # day gives the day before, as the contract's formula says).
            last = max(last, int(_month_index(np.floor(end[~running]) - 1.0).max()))
        n_months = int(last) - window_start + 1
        if n_months < 1 or n_months > _MAX_MONTHS:
            return _no_table(NUM)
    else:
        n_months = int(months)

    # Difference array over months 0 .. n_months (the extra column catches the ends after
    # the window): +rate at the first active month, -rate at the first inactive one.
    width = n_months + 1
    lo = np.clip(first - window_start, 0, n_months)
    hi = np.where(running, n_months, np.clip(stop - window_start, 0, n_months))
    live = lo < hi
    base = codes[live] * width
    rate, lo, hi = rate[live], lo[live], hi[live]
    size = n_customers * width
    deltas = np.bincount(base + lo, weights=rate, minlength=size) - np.bincount(base + hi, weights=rate, minlength=size)
    paying = rate > 0
    counts = np.bincount(base[paying] + lo[paying], minlength=size) - np.bincount(
        base[paying] + hi[paying], minlength=size
    )
    table = np.cumsum(deltas.reshape(n_customers, width), axis=1)[:, :n_months]
    active = np.cumsum(counts.reshape(n_customers, width), axis=1)[:, :n_months] > 0
    # Where a paying subscription runs the sum is at least its rate: floor at 0 anyway so
    # that rates 1e16 apart cannot leave a negative rounding residue.
    table = np.where(active, np.maximum(table, 0.0), 0.0)
    return table, np.int8(OK)


def _check_mrr(mrr) -> tuple[np.ndarray | None, int]:
    mrr = np.asarray(mrr, dtype=float)
    if mrr.ndim != 2 or mrr.shape[1] < 1:
        return None, VALUE
    with np.errstate(invalid="ignore"):
        if not (mrr >= 0).all():
            return None, NUM
    return mrr, OK


def customer_counts(mrr) -> tuple[np.ndarray, np.int8]:
    """Customer counts between consecutive periods.

    Parameters
    ----------
    mrr : ndarray, shape (customers, periods)
        MRR per customer and period, periods in time order, >= 0.

    Returns
    -------
    values : ndarray, shape (periods - 1, 5)
        Per step: at_start (customers with MRR > 0 in the earlier period), new,
        reactivated, churned (negative: from > 0 to 0) and at_end, with
        at_end = at_start + new + reactivated + churned.
    errors : int8
        ``#VALUE!`` for fewer than 2 periods, ``#NUM!`` for a negative MRR.

    Notes
    -----
    New and reactivated as in :func:`xlfuncs.metrics.mrr_movements`: a customer going from
    0 to > 0 is reactivated if it had MRR > 0 in any earlier period, otherwise new.

    Examples
    --------
    The contract's ``MRR_MOVEMENTS`` example table:

    >>> import numpy as np
    >>> mrr = np.array([[100.0, 150, 150, 0], [0, 200, 100, 100], [50, 0, 0, 80], [0, 0, 0, 60]])
    >>> counts, error = customer_counts(mrr)
    >>> counts.tolist()
    [[2.0, 1.0, 0.0, -1.0, 2.0], [2.0, 0.0, 0.0, 0.0, 2.0], [2.0, 1.0, 1.0, -1.0, 3.0]]
    """
    mrr, code = _check_mrr(mrr)
    if code == OK and mrr.shape[1] < 2:
        code = VALUE
    if code != OK:
        periods = 2 if mrr is None else max(mrr.shape[1], 2)
        return np.full((periods - 1, len(COUNT_COLUMNS)), np.nan), np.int8(code)
    active = mrr > 0
    before, after = active[:, :-1], active[:, 1:]
    paid_before = np.logical_or.accumulate(active, axis=1)[:, :-1]
    starts = ~before & after
    values = np.column_stack(
        [
            before.sum(axis=0),
            (starts & ~paid_before).sum(axis=0),
            (starts & paid_before).sum(axis=0),
            -(before & ~after).sum(axis=0),
            after.sum(axis=0),
        ]
    ).astype(float)
    return values, np.int8(OK)


def cohort_retention(mrr, measure: str) -> tuple[np.ndarray, np.ndarray]:
    """Cohort table: one row per period's cohort, one column per age.

    Parameters
    ----------
    mrr : ndarray, shape (customers, periods)
        MRR per customer and period, periods in time order, >= 0.
    measure : str
        ``"customers"``, ``"revenue"``, ``"count"`` or ``"mrr"``, in any case.

    Returns
    -------
    values : ndarray, shape (periods, periods)
        Row c, column a: the measure for the customers whose first period with MRR > 0 is
        c, at age a (period c + a). ``"count"``: customers with MRR > 0; ``"mrr"``: their
        MRR; ``"customers"``: count / count at age 0; ``"revenue"``: MRR / MRR at age 0.
    errors : ndarray of int8, shape (periods, periods)
        ``#N/A`` past the last period and on every cell of a period in which no customer
        started; the whole table ``#VALUE!`` for another measure (or no periods) and
        ``#NUM!`` for a negative MRR.

    Notes
    -----
    A customer who comes back counts as retained again at that age. Each cell with MRR > 0
    is counted once, at its cohort and age, by one ``np.bincount`` over the nonzero cells.

    Examples
    --------
    The contract's ``MRR_MOVEMENTS`` example table, measure ``"revenue"``:

    >>> import numpy as np
    >>> mrr = np.array([[100.0, 150, 150, 0], [0, 200, 100, 100], [50, 0, 0, 80], [0, 0, 0, 60]])
    >>> values, errors = cohort_retention(mrr, "Revenue")
    >>> values[:2].round(10).tolist()
    [[1.0, 1.0, 1.0, 0.5333333333], [1.0, 0.5, 0.5, nan]]
    >>> errors.tolist()
    [[0, 0, 0, 0], [0, 0, 0, 7], [7, 7, 7, 7], [0, 7, 7, 7]]
    """
    kind = measure.casefold() if isinstance(measure, str) else None
    mrr, code = _check_mrr(mrr)
    if code == OK and kind not in MEASURES:
        code = VALUE
    if code != OK:
        periods = 1 if mrr is None else mrr.shape[1]
        return np.full((periods, periods), np.nan), np.full((periods, periods), code, dtype=np.int8)
    periods = mrr.shape[1]
    rows, cols = np.nonzero(mrr > 0)  # row-major: each customer's first nonzero comes first
    first_of_row = np.ones(rows.size, dtype=bool)
    first_of_row[1:] = rows[1:] != rows[:-1]
    cohort_of = np.zeros(mrr.shape[0], dtype=np.intp)
    cohort_of[rows[first_of_row]] = cols[first_of_row]
    cohort = cohort_of[rows]
    cell = cohort * periods + (cols - cohort)
    count = np.bincount(cell, minlength=periods * periods).reshape(periods, periods).astype(float)
    if kind in ("count", "customers"):
        values = count
    else:
        values = np.bincount(cell, weights=mrr[rows, cols], minlength=periods * periods).reshape(periods, periods)
    if kind in ("customers", "revenue"):
        with np.errstate(all="ignore"):
            values = values / values[:, :1]
    age = np.arange(periods)
    missing = (age[:, None] + age[None, :] >= periods) | (count[:, :1] == 0)
    values = np.where(missing, np.nan, values)
    return values, np.where(missing, NA, OK).astype(np.int8)
