"""From billing data to cohorts: MRR_FROM_SUBS, CUSTOMER_COUNTS and COHORT_RETENTION.

Pure, vectorised numpy in the style of :mod:`xlfuncs.metrics`: arrays in, ``(values,
errors)`` out, with Excel ``ERROR.TYPE`` codes from :mod:`xlfuncs.errors`. The adapter turns
cells into the arrays taken here (text and blanks, ``""`` as empty, error values passed
in, ranges of different lengths); these functions check what is left: the ranges of the
numbers.

A billing export of 100,000 subscriptions becomes a customers x months table in a few
array passes: one dict pass and a sort of the distinct ids for the customers (``np.unique``
for numeric ids), datetime64 month arithmetic for the dates, and one weighted
``np.bincount`` over the active subscription-months for the table.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .errors import NA, NUM, OK, VALUE

__all__ = [
    "customer_order",
    "mrr_from_subs",
    "mrr_movements",
    "customer_counts",
    "cohort_retention",
    "MRR_COLUMNS",
    "COUNT_COLUMNS",
    "MEASURES",
]

MRR_COLUMNS = ("new", "expansion", "reactivation", "contraction", "churned", "net")
COUNT_COLUMNS = ("at_start", "new", "reactivated", "churned", "at_end")
MEASURES = ("customers", "revenue", "count", "mrr")

# Excel's 1900 date system: day 0 is 1899-12-30 for every serial from 61 (1900-03-01) on.
_EPOCH = np.datetime64("1899-12-30", "D")
_LAST_SERIAL = 2958465.0  # 9999-12-31, the last day Excel has
# The table spills one column per month and a sheet has 16,384 columns: a longer table has
# no place to go, and would only cost memory on the way to an error.
_MAX_MONTHS = 16384
# Subscription-months summed per bincount: 2 M pairs is about 50 MB of temporary arrays.
_CHUNK = 1 << 21


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
    codes = np.empty(n, dtype=np.intp)
    seen: dict[str, int] = {}  # case-folded id -> its rank in order of first appearance
    rank = seen.setdefault
    try:  # all text, the common case (ids like "cus_N2x..."): no type test per row
        texts_at, texts, labels = None, ids, []
        local = [rank(text.casefold(), len(seen)) for text in ids]
    except AttributeError:  # a number among them: a float has no casefold()
        seen.clear()
        is_text = np.fromiter((isinstance(x, str) for x in ids), dtype=bool, count=n)
        numbers_at, texts_at = np.flatnonzero(~is_text), np.flatnonzero(is_text)
        numbers = np.array([float(ids[i]) for i in numbers_at], dtype=float)
        distinct_numbers, numbers_code = np.unique(numbers, return_inverse=True)
        codes[numbers_at] = numbers_code.reshape(-1)
        labels = distinct_numbers.tolist()
        texts = [ids[i] for i in texts_at]
        local = [rank(text.casefold(), len(seen)) for text in texts]
    if local:
        local = np.array(local, dtype=np.intp)
        # Ranks are handed out in order, so a row shows a new customer where its rank
        # exceeds every rank before it: there is that customer's first spelling.
        firsts = np.flatnonzero(np.r_[True, local[1:] > np.maximum.accumulate(local)[:-1]])
        keys = list(seen)
        order = sorted(range(len(keys)), key=keys.__getitem__)  # code points, as str compares
        row = np.empty(len(keys), dtype=np.intp)
        row[order] = np.arange(len(keys)) + len(labels)
        if texts_at is None:
            codes = row[local]
        else:
            codes[texts_at] = row[local]
        labels.extend(texts[firsts[j]] for j in order)
    return codes, labels


def _month_index(serials: np.ndarray) -> np.ndarray:
    """Months since 1970-01 of the days of Excel serials in 0 .. 9999-12-31 (no NaN).

    Excel's 1900 system counts a 29 February 1900 that never was (serial 60): serials 1 to
    59 fall one day later than the 1899-12-30 epoch says, and serial 0 ("1900-01-00") is in
    January 1900, so both are moved onto the days of the same month before the datetime64
    arithmetic.
    """
    days = np.floor(serials)
    days = np.where(days < 60, np.maximum(days, 1.0) + 1.0, days).astype(np.int64)
    if days.size == 0:
        return days
    # numpy converts datetime64[D] to [M] one element at a time (about 100 ns each): when
    # the days span less than their count, convert each day of the span once and look up.
    low, high = int(days.min()), int(days.max())
    if high - low < max(days.size, 4096):
        months = (_EPOCH + np.arange(low, high + 1)).astype("datetime64[M]").astype(np.int64)
        return months[days - low]
    return (_EPOCH + days).astype("datetime64[M]").astype(np.int64)


def _is_date(serials: np.ndarray) -> np.ndarray:
    return (serials >= 0) & (serials < _LAST_SERIAL + 1)


def table_start(first, first_month: float) -> int:
    """The table's first month, as months since 1970-01: ``first_month``'s month, or by
    default the earliest start's month (``first``: the starts' month indices, or their
    serials when ``first_month`` is given as NaN and the caller has no indices yet).

    Examples
    --------
    >>> table_start(np.array([45337.0, 45292.0]), np.nan)  # 2024-01-01: 54 years in
    648
    """
    first = np.asarray(first)
    if not np.isnan(first_month):
        return int(_month_index(np.array(first_month)))
    if first.dtype.kind == "f":  # serials
        first = _month_index(first)
    return int(first.min())


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
        missing start (NaN) or arrays of different lengths (``interval`` may be one value). The values are then a 1 x 1 NaN.

    Notes
    -----
    A subscription adds ``amount / interval`` to month M when it is active on M's last day,
    ``start <= last day of M < end``: in the months from ``month(start)`` to
    ``month(end) - 1``. Every pair of a subscription and a month of the window in which it
    is active adds its rate to its customer's cell, in one weighted ``np.bincount``: the
    cost is one pass over the active subscription-months (half a million for 100,000
    subscriptions over 36 months), in chunks that bound the memory.

    Each cell is a plain sum of the positive rates active in it. A difference array
    (+rate at the first month, -rate after the last, then a cumulative sum) would be
    O(subscriptions + cells) but subtracts: 0.1 + 0.2 - 0.1 - 0.2 leaves 2.8e-17, which
    ``MRR_MOVEMENTS`` would count as a paying customer, and after 1e16 + 0.5 - 1e16 a
    customer still paying 0.5 would show 0. A sum of non-negative numbers never cancels:
    a cell is 0 exactly when nothing is paid in it, and otherwise correct to n * 1.1e-16
    relative for n subscriptions in it.

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
    start = np.asarray(start, dtype=float).reshape(-1)
    end = np.asarray(end, dtype=float).reshape(-1)
    amount = np.asarray(amount, dtype=float).reshape(-1)
    interval = np.asarray(interval, dtype=float).reshape(-1)
    codes = np.asarray(codes, dtype=np.intp).reshape(-1)
    if not (codes.size == start.size == end.size == amount.size) or interval.size not in (1, start.size):
        return _no_table(VALUE)  # ranges of different lengths (the adapter checks it first)
    interval = np.broadcast_to(interval, start.shape)
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
    window_start = table_start(first, first_month)
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

    # Each subscription covers the months lo .. hi - 1 of the table (clipped to it). Every
    # (subscription, month) pair adds its rate to cell customer * n_months + month: one
    # weighted bincount, in chunks of about _CHUNK pairs to bound the memory.
    lo = np.clip(first - window_start, 0, n_months)
    hi = np.where(running, n_months, np.clip(stop - window_start, 0, n_months))
    live = (lo < hi) & (rate > 0)
    lo, rate = lo[live], rate[live]
    lengths = hi[live] - lo
    cell = codes[live] * n_months + lo  # the cell of each subscription's first month
    ends = np.cumsum(lengths)
    table = np.zeros(n_customers * n_months)
    bounds = np.searchsorted(ends, np.arange(_CHUNK, ends[-1] if ends.size else 0, _CHUNK), side="right")
    for i, j in zip(np.r_[0, bounds], np.r_[bounds, lengths.size]):
        if i == j:
            continue
        span = lengths[i:j]
        offsets = ends[i:j] - span - (ends[i - 1] if i else 0)  # first pair of each one in the chunk
        pairs = np.arange(int(span.sum())) + np.repeat(cell[i:j] - offsets, span)
        table += np.bincount(pairs, weights=np.repeat(rate[i:j], span), minlength=table.size)
    return table.reshape(n_customers, n_months), np.int8(OK)


def _check_mrr(mrr) -> tuple[np.ndarray | None, int]:
    mrr = np.asarray(mrr, dtype=float)
    if mrr.ndim != 2 or mrr.shape[1] < 1:
        return None, VALUE
    with np.errstate(invalid="ignore"):
        if not (mrr >= 0).all():
            return mrr, NUM
    return mrr, OK


def _steps(mrr: np.ndarray, columns: int) -> tuple[np.ndarray | None, np.int8]:
    """A customers x periods grid checked for the step functions: ``(grid, OK)``, or a NaN
    table of ``columns`` columns and the error (#VALUE! under 2 periods, #NUM! below 0)."""
    grid, code = _check_mrr(mrr)
    if code == OK and grid.shape[1] < 2:
        code = VALUE
    if code != OK:
        periods = 2 if grid is None else max(grid.shape[1], 2)
        return np.full((periods - 1, columns), np.nan), np.int8(code)
    return grid, np.int8(OK)


def _starts(active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(new, back): where a customer goes from 0 to > 0 between consecutive periods, split
    by whether it had MRR > 0 in any earlier period (a reactivation) or not (new)."""
    starts = ~active[:, :-1] & active[:, 1:]
    paid_before = np.logical_or.accumulate(active, axis=1)[:, :-1]
    return starts & ~paid_before, starts & paid_before


def mrr_movements(mrr) -> tuple[np.ndarray, np.int8]:
    """MRR movements between consecutive periods.

    Parameters
    ----------
    mrr : ndarray, shape (customers, periods)
        MRR per customer and period, periods in time order, >= 0.

    Returns
    -------
    values : ndarray, shape (periods - 1, 6)
        Per step: new, expansion, reactivation, contraction, churned, net (losses
        negative, net the row sum).
    errors : int8
        ``#VALUE!`` for fewer than 2 periods, ``#NUM!`` for negative MRR.

    Notes
    -----
    A customer going from 0 to > 0 is *reactivation* if it had MRR > 0 in any earlier
    period, otherwise *new*; the same rule splits :func:`customer_counts`.

    Examples
    --------
    >>> import numpy as np
    >>> table, _ = mrr_movements(np.array([[100.0, 150, 0], [0, 200, 100]]))
    >>> table.tolist()
    [[200.0, 50.0, 0.0, 0.0, 0.0, 250.0], [0.0, 0.0, 0.0, -100.0, -150.0, -250.0]]
    """
    mrr, code = _steps(mrr, len(MRR_COLUMNS))
    if code != OK:
        return mrr, code
    before, after = mrr[:, :-1], mrr[:, 1:]
    with np.errstate(invalid="ignore"):  # inf - inf: the caller turns non-finite into #NUM!
        delta = after - before
    new, back = _starts(mrr > 0)
    table = np.column_stack(
        [
            np.where(new, after, 0.0).sum(axis=0),
            np.where((before > 0) & (delta > 0), delta, 0.0).sum(axis=0),
            np.where(back, after, 0.0).sum(axis=0),
            np.where((after > 0) & (delta < 0), delta, 0.0).sum(axis=0),
            np.where((before > 0) & (after == 0), -before, 0.0).sum(axis=0),
        ]
    )
    table = np.column_stack([table, table.sum(axis=1)]) + 0.0
    return table, np.int8(OK)


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
    New and reactivated as in :func:`mrr_movements`: a customer going from
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
    mrr, code = _steps(mrr, len(COUNT_COLUMNS))
    if code != OK:
        return mrr, code
    active = mrr > 0
    before, after = active[:, :-1], active[:, 1:]
    new, back = _starts(active)
    values = np.column_stack(
        [before.sum(axis=0), new.sum(axis=0), back.sum(axis=0), -(before & ~after).sum(axis=0), after.sum(axis=0)]
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
