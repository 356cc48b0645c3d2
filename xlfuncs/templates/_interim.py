"""TEMPORARY stand-ins for the billing-data functions until they land in the registry on main.

Registers MRR_FROM_SUBS, CUSTOMER_COUNTS, COHORT_RETENTION, SBG_FIT, SBG_SURVIVAL and SBG_CLV
only when the registry does not have them, and routes their ``adapter.call`` here. Deleted
when main's implementations are merged.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np

from .. import adapter, registry
from ..errors import ExcelError

_EPOCH = dt.date(1899, 12, 30)


def _flat(v):
    if isinstance(v, list):
        return [c for row in v for c in row]
    return [v]


def _serial_month(serial: float) -> tuple[int, int]:
    d = _EPOCH + dt.timedelta(days=int(serial))
    return d.year, d.month


def _month_end(year: int, month: int, k: int) -> float:
    y, m = divmod(month - 1 + k + 1, 12)
    first_next = dt.date(year + y, m + 1, 1)
    return float((first_next - _EPOCH).days - 1)


def mrr_from_subs(customer, start, end, amount, interval=None, first_month=None, months=None):
    cust, st, en, am = _flat(customer), _flat(start), _flat(end), _flat(amount)
    iv = _flat(interval) if interval is not None else [1.0]
    if len(iv) == 1:
        iv = iv * len(cust)
    rows = []
    for c, s, e, a, i in zip(cust, st, en, am, iv):
        if all(x in (None, "") for x in (c, s, e, a)):
            continue
        rows.append((c, float(int(s)), None if e in (None, "") else float(int(e)), float(a), float(i or 1.0)))
    keys = {}
    for c, *_ in rows:
        k = (1, c.casefold()) if isinstance(c, str) else (0, float(c))
        keys.setdefault(k, c)
    order = sorted(keys)
    index = {k: n for n, k in enumerate(order)}
    if first_month in (None, ""):
        first_month = min(r[1] for r in rows)
    fy, fm = _serial_month(first_month)
    if months in (None, ""):
        last = max(max(r[1] for r in rows), max((r[2] - 1 for r in rows if r[2] is not None), default=0))
        ly, lm = _serial_month(last)
        months = (ly - fy) * 12 + lm - fm + 1
    months = int(months)
    ends = [_month_end(fy, fm, k) for k in range(months)]
    table = np.zeros((len(order), months))
    for c, s, e, a, i in rows:
        k = (1, c.casefold()) if isinstance(c, str) else (0, float(c))
        for m, last_day in enumerate(ends):
            if s <= last_day and (e is None or last_day < e):
                table[index[k], m] += a / i
    return table.tolist()


def _grid(mrr):
    return np.array([[0.0 if v in (None, "") else float(v) for v in row] for row in mrr])


def customer_counts(mrr):
    g = _grid(mrr)
    before, after = g[:, :-1], g[:, 1:]
    paid_before = np.logical_or.accumulate(g > 0, axis=1)[:, :-1]
    starts = (before == 0) & (after > 0)
    at_start = (before > 0).sum(0)
    new = (starts & ~paid_before).sum(0)
    react = (starts & paid_before).sum(0)
    churned = -((before > 0) & (after == 0)).sum(0)
    at_end = (after > 0).sum(0)
    return np.column_stack([at_start, new, react, churned, at_end]).astype(float).tolist()


def cohort_retention(mrr, measure="customers"):
    measure = "customers" if measure in (None, "") else str(measure).lower()
    g = _grid(mrr)
    n, p = g.shape
    active = g > 0
    first = np.where(active.any(1), active.argmax(1), -1)
    out = []
    for c in range(p):
        members = first == c
        row = []
        for a in range(p):
            if c + a >= p or not members.any():
                row.append(ExcelError.NA)
                continue
            cnt = float(active[members, c + a].sum())
            rev = float(g[members, c + a].sum())
            value = {
                "customers": cnt / members.sum(),
                "revenue": rev / g[members, c].sum(),
                "count": cnt,
                "mrr": rev,
            }[measure]
            row.append(value)
        out.append(row)
    return out


def _sbg_loglik(alpha, beta, counts):
    from scipy.special import betaln

    total = 0.0
    for row in counts:
        n = len(row)
        t = np.arange(1, n)
        lost = row[:-1] - row[1:]
        # P(churn at t) = B(a+1, b+t-1)/B(a,b); S(t) = B(a, b+t)/B(a,b)
        logp = betaln(alpha + 1, beta + t - 1) - betaln(alpha, beta)
        logs = betaln(alpha, beta + n - 1) - betaln(alpha, beta)
        total += float((lost * logp).sum() + row[-1] * logs)
    return total


def sbg_fit(survivors):
    from scipy.optimize import minimize

    rows = []
    for row in survivors:
        vals = [v for v in row if isinstance(v, (int, float))]
        if len(vals) >= 2:
            rows.append(np.array(vals, float))
    if not any(len(r) >= 3 for r in rows):
        return ExcelError.NUM
    res = minimize(
        lambda x: -_sbg_loglik(math.exp(x[0]), math.exp(x[1]), rows),
        [0.0, 1.0],
        method="L-BFGS-B",
        options={"maxiter": 500},
    )
    return [[math.exp(res.x[0]), math.exp(res.x[1])]]


def sbg_survival(alpha, beta, t):
    from scipy.special import betaln

    def one(tt):
        return math.exp(betaln(alpha, beta + int(tt)) - betaln(alpha, beta))

    if isinstance(t, list):
        return [[one(v) for v in row] for row in t]
    return one(t)


def sbg_clv(arpu, alpha, beta, margin=1.0, discount=0.0, renewals=0.0):
    margin = 1.0 if margin in (None, "") else margin
    discount = 0.0 if discount in (None, "") else discount
    r = int(renewals or 0)
    total, term, t = 0.0, 1.0, 0
    while t < 100000:
        total += term
        term *= (beta + r + t) / (alpha + beta + r + t) / (1 + discount)
        t += 1
        if term < 1e-17 * total:
            break
    return arpu * margin * total


_STANDINS = {
    "MRR_FROM_SUBS": (mrr_from_subs, ("customer", "start", "end", "amount", "interval", "first_month", "months")),
    "CUSTOMER_COUNTS": (customer_counts, ("mrr",)),
    "COHORT_RETENTION": (cohort_retention, ("mrr", "measure")),
    "SBG_FIT": (sbg_fit, ("survivors",)),
    "SBG_SURVIVAL": (sbg_survival, ("alpha", "beta", "t")),
    "SBG_CLV": (sbg_clv, ("arpu", "alpha", "beta", "margin", "discount", "renewals")),
}
_ACTIVE: dict = {}


def install() -> None:
    for name, (impl, args) in _STANDINS.items():
        if name in registry.FUNCTIONS:
            continue
        registry.FUNCTIONS[name] = registry.Function(
            name=name,
            kind=registry.TABLE,
            impl=impl,
            args=tuple(registry.Arg(a, a) for a in args),
            description="interim",
            notes="interim",
        )
        _ACTIVE[name] = impl
    registry._attach_native_cells()
    if _ACTIVE and not getattr(adapter.call, "_interim", False):
        original = adapter.call

        def call(name, *args):
            impl = _ACTIVE.get(name.upper())
            if impl is None:
                return original(name, *args)
            args = [None if a is adapter.MISSING else a for a in args]
            return impl(*args)

        call._interim = True  # type: ignore[attr-defined]
        adapter.call = call
