"""Pure, vectorised metrics: numpy arrays in, ``(values, errors)`` out.

Every function here works on float arrays that the caller has already broadcast to one
shape and whose defaults are filled in. It returns a pair: the float result and an
``int8`` *error plane* of the same shape holding Excel ``ERROR.TYPE`` codes (0 = valid,
see :mod:`xlfuncs.errors`). Domain checks run in a fixed order: ``#NUM!`` (an argument out
of range) before ``#DIV/0!``, so one cell has one deterministic error.

Nothing in this module knows about cells, blanks, text or spreadsheets: that is the job
of :mod:`xlfuncs.adapter`. Each function is one numpy pass over its inputs, so a call over
a million cells costs a handful of array operations, not a Python loop.

The element-wise metrics are written once for two backends (:mod:`xlfuncs.backend`):
``clv(...)`` runs on arrays, ``clv.on_floats(...)`` runs the same lines on the plain
floats of one cell, for the same bits without numpy's cost per operation.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .backend import ARRAYS, elementwise
from .errors import DIV0, NUM, OK
from .labels import HEALTH_LABELS, SEGMENT_LABELS

__all__ = [
    "clv",
    "ltv_cac",
    "payback",
    "onboarding_roi",
    "ttfv",
    "health_status",
    "segment",
    "HEALTH_LABELS",
    "SEGMENT_LABELS",
    "arpu",
    "cac",
    "retention_cost",
    "net_mrr",
    "churn_rate",
    "nrr",
    "grr",
    "quick_ratio",
    "health_score",
    "nps",
    "csat",
]


def _outside(xp, x, low=-math.inf, high=math.inf):
    # NaN compares False everywhere, so test "inside" and negate to catch it too.
    return xp.not_((x >= low) & (x <= high))


_TINY = np.finfo(float).tiny  # the smallest normal float


def _one_minus_q(churn, discount):
    """1 - q, where q = (1 - churn) / (1 + discount) is the share kept and discounted.

    Formed as (churn + discount) / (1 + discount) rather than by subtracting q from 1: that
    keeps ``CLV(35, 0.05)`` at exactly 700 instead of 699.9999999999994, and ln(q) is then
    taken as log1p(-(1 - q)), exact even when q rounds to 1.
    """
    return (churn + discount) / (1.0 + discount)


def _ln_q(xp, churn, discount):
    """ln q as log1p(-churn) - log1p(discount): finite and exact for churn next to 1 (where
    1 - q rounds to 1 and log1p(-(1 - q)) would be -inf) as well as for a tiny 1 - q."""
    return xp.log1p(-churn) - xp.log1p(discount)


def _not_type(xp, type_):
    """Excel's payment timing flag: 0 (end of period) or 1 (start); anything else is out."""
    return xp.not_((type_ == 0) | (type_ == 1))


# ---------------------------------------------------------------- element-wise
#
# Each element-wise metric is written once, as a function of the backend ``xp`` (see
# xlfuncs.backend): @elementwise makes it the array metric, and its ``.on_floats`` runs the
# same lines on the single floats of one cell (the spreadsheet's and the Python API's
# scalar call). xp.divide is a division whose denominator may be 0 for ordinary inputs
# (no churn and no discount, a cost of 0): on floats, "/" would raise there.


@elementwise
def clv(xp, arpu, churn, margin, discount, periods, type_):
    """Customer lifetime value, discounted, first period undiscounted.

    Parameters
    ----------
    arpu : ndarray
        Revenue per customer per period, >= 0.
    churn : ndarray
        Share of customers lost per period, 0 <= churn <= 1.
    margin : ndarray
        Gross margin, 0 <= margin <= 1.
    discount : ndarray
        Discount rate per period, >= 0.
    periods : ndarray
        Horizon in periods, >= 1, truncated to whole periods; ``inf`` for no limit.
    type_ : ndarray
        When a period's payment comes, as in Excel's ``PV``: 1 at the start of the period
        (counted undiscounted), 0 at its end (one period later, received only if the
        customer stays through the period).

    Returns
    -------
    values, errors : ndarray, ndarray of int8
        The CLV and the error plane (``#NUM!`` out of range or a type other than 0 or 1,
        ``#DIV/0!`` for churn = discount = 0 with no limit).

    Notes
    -----
    With :math:`m = arpu \\cdot margin` and :math:`q = (1 - churn) / (1 + discount)`,

    .. math:: CLV = \\sum_{t=0}^{n-1} m q^t = m \\frac{1 - q^n}{1 - q}

    and :math:`m / (1 - q) = m (1 + d) / (c + d)` with no limit: the textbook form
    :math:`m(1+d)/(1+d-r)` of Blattberg, Malthouse and Neslin (2009), where the first
    period is counted undiscounted (some books drop it). With payments at the end of each
    period (type 0) every term is multiplied by q: :math:`m q (1 - q^n)/(1 - q)`, and
    :math:`m q/(1 - q) = m r/(1 + d - r)` with no limit (Gupta and Lehmann, 2003).

    References
    ----------
    .. [1] Blattberg, R. C., Malthouse, E. C. and Neslin, S. A. (2009), "Customer lifetime
       value: empirical generalizations and some conceptual questions", Journal of
       Interactive Marketing 23(2).
    .. [2] Gupta, S. and Lehmann, D. R. (2003), "Customers as assets", Journal of
       Interactive Marketing 17(1).

    Examples
    --------
    >>> import numpy as np
    >>> values, errors = clv(*map(np.array, ([35.0], [0.05], [1.0], [0.0], [np.inf], [1.0])))
    >>> float(values[0]), int(errors[0])
    (700.0, 0)

    One cell, on plain floats (what a scalar call runs):

    >>> clv.on_floats(35.0, 0.05, 1.0, 0.0, float("inf"), 1.0)
    (700.0, 0)
    """
    err = xp.errors(arpu, churn, margin, discount, periods)
    err.where(
        _outside(xp, arpu, 0)
        | _outside(xp, churn, 0, 1)
        | _outside(xp, margin, 0, 1)
        | _outside(xp, discount, 0)
        | _outside(xp, periods, 1)
        | _not_type(xp, type_),
        NUM,
    )
    m = arpu * margin
    one_minus_q = _one_minus_q(churn, discount)
    n = xp.floor(periods)
    unlimited = xp.isinf(n)
    # churn = discount = 0: the customer never leaves. Only exactly: a 1 - q below the
    # smallest normal float (a churn of 1e-310) still tells over an astronomic horizon.
    steady = one_minus_q == 0
    err.where(unlimited & steady, DIV0)
    values = xp.divide(m, one_minus_q)
    if not xp.all(unlimited):  # the horizon branch costs four more passes: only when used
        # 1 - q^n as -expm1(n ln q): exact even when q rounds to 1 (a discount of 1e-200).
        kept_share = -xp.expm1(n * _ln_q(xp, churn, discount))
        # kept_share / one_minus_q first: both may be tiny, their product with m underflows.
        limited = xp.where(steady, m * n, m * xp.divide(kept_share, one_minus_q))
        values = xp.where(unlimited, values, limited)
    if xp.any(type_ == 0):  # payments at the end: one period later, kept with q
        values = xp.where(type_ == 0, values * ((1.0 - churn) / (1.0 + discount)), values)
    return values, err.plane


@elementwise
def ltv_cac(xp, ltv, cac):
    """LTV:CAC ratio, ``ltv / cac``; healthy at 3 or more (the 3:1 rule).

    Returns ``#NUM!`` where either is negative, ``#DIV/0!`` where cac = 0.

    Examples
    --------
    >>> import numpy as np
    >>> float(ltv_cac(np.array(1500.0), np.array(500.0))[0])
    3.0

    One cell on plain floats: (value, error code); a cac of 0 is #DIV/0!, code 2.

    >>> ltv_cac.on_floats(1500.0, 500.0), ltv_cac.on_floats(1500.0, 0.0)
    ((3.0, 0), (inf, 2))
    """
    err = xp.errors(ltv, cac)
    err.where(_outside(xp, ltv, 0) | _outside(xp, cac, 0), NUM)
    err.where(cac == 0, DIV0)
    return xp.divide(ltv, cac), err.plane


@elementwise
def payback(xp, cac, arpu, margin, churn, discount, type_):
    """Periods until the acquisition cost is earned back, fractional.

    Notes
    -----
    With :math:`m = arpu \\cdot margin` and :math:`q = (1 - churn)/(1 + discount)`, payments
    at the start of each period (type 1): :math:`n = cac/m` when :math:`q = 1`, otherwise
    :math:`n = \\ln(1 - cac (1 - q)/m) / \\ln q`. At the end of each period (type 0) the
    cumulative margin after n periods is :math:`m q (1 - q^n)/(1 - q)`, so
    :math:`n = \\ln(1 - cac (1 - q)/(m q)) / \\ln q`. ``#NUM!`` when never earned back
    (the logarithm's argument <= 0), out of range or a type other than 0 or 1,
    ``#DIV/0!`` when m = 0. With churn = 1 the customer pays once (type 1) or never
    (type 0): cac / m when cac <= m for type 1, 0 when cac = 0, otherwise ``#NUM!``.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array
    >>> float(payback(a(1000.0), a(100.0), a(1.0), a(0.05), a(0.0), a(1.0))[0])
    13.5134073340
    """
    cac, arpu, margin, churn, discount, type_ = xp.broadcast(cac, arpu, margin, churn, discount, type_)
    err = xp.errors(cac, arpu, margin, churn, discount, type_)
    err.where(
        _outside(xp, cac, 0)
        | _outside(xp, arpu, 0)
        | _outside(xp, margin, 0, 1)
        | _outside(xp, churn, 0, 1)
        | _outside(xp, discount, 0)
        | _not_type(xp, type_),
        NUM,
    )
    m = arpu * margin
    err.where(m == 0, DIV0)
    one_minus_q = _one_minus_q(churn, discount)
    steady = one_minus_q == 0  # exactly: see clv
    # The share of the discounted lifetime margin the cost takes, (cac / m) * rate: with
    # payments at the end every payment is q times smaller, and (1 - q) / q is
    # (churn + discount) / (1 - churn).
    ratio = xp.asarray(xp.divide(cac, m))  # arrays, 0-d ones included: the fix-ups below index them
    rate = xp.where(type_ == 0, xp.divide(churn + discount, 1.0 - churn), one_minus_q)  # churn 1: once
    lost_share = ratio * rate
    # log1p keeps ln(1 - x) exact for tiny x, and ln q as log1p(-churn) - log1p(discount)
    # is exact even where q rounds to 1 (a discount of 1e-200).
    ln_q = xp.asarray(_ln_q(xp, churn, discount))
    general = xp.asarray(xp.divide(xp.log1p(-lost_share), ln_q))
    earned_back = xp.asarray(lost_share < 1)
    # Near a share of 1, with payments at the start and q < 1/2, what is kept, 1 - share,
    # is (1 - ratio) + ratio * q: there 1 - q is near 1 and has lost q's last digits
    # (all of them for churn 0.9999999999999999), while 1 - ratio is exact.
    near_one = (lost_share > 0.5) & (type_ == 1) & (one_minus_q > 0.5)
    if xp.any(near_one):
        ratios, churns, discounts, ln_qs = xp.take(near_one, ratio, churn, discount, ln_q)
        kept = (1.0 - ratios) + ratios * ((1.0 - churns) / (1.0 + discounts))
        general = xp.put(general, near_one, xp.log(kept) / ln_qs)
        earned_back = xp.put(earned_back, near_one, kept > 0)
    # A share below the smallest normal float has lost its digits (cac / m = 1e-300 and
    # 1 - q = 1e-300 make 1e-600, which is 0): there n = ratio * rate / -ln q, factored
    # so that nothing underflows.
    tiny = lost_share < _TINY
    if xp.any(tiny):
        ratios, rates, ln_qs = xp.take(tiny, ratio, rate, ln_q)
        general = xp.put(general, tiny, ratios * xp.divide(rates, -ln_qs))
    general += 0.0  # no -0.0
    once = churn == 1  # q = 0: one payment at the start, or none
    paid_once = (type_ == 1) & (cac <= m)
    err.where(xp.not_(steady | once | earned_back), NUM)  # never earned back
    err.where(once & (cac != 0) & xp.not_(paid_once), NUM)
    values = xp.where(steady, ratio, xp.where(once, xp.where(cac == 0, 0.0, ratio), general))
    return values, err.plane


@elementwise
def onboarding_roi(xp, value_with, value_without, cost):
    """Return on onboarding: ``(value_with - value_without - cost) / cost``.

    ``#NUM!`` where cost < 0, ``#DIV/0!`` where cost = 0.

    Examples
    --------
    >>> import numpy as np
    >>> float(onboarding_roi(np.array(1400.0), np.array(600.0), np.array(200.0))[0])
    3.0
    """
    err = xp.errors(value_with, value_without, cost)
    err.where(_outside(xp, cost, 0), NUM)
    err.where(cost == 0, DIV0)
    return xp.divide(value_with - value_without - cost, cost), err.plane


@elementwise
def ttfv(xp, start, first_value):
    """Time to first value in days, ``first_value - start`` (Excel date serials).

    ``#NUM!`` where first value comes before the start. (An empty first value, ``#N/A``,
    is a cell-level fact the adapter handles.)

    Examples
    --------
    >>> import numpy as np
    >>> float(ttfv(np.array(46000.0), np.array(46045.5))[0])
    45.5
    """
    err = xp.errors(start, first_value)
    days = first_value - start
    err.where(_outside(xp, days, 0), NUM)
    return days, err.plane


@elementwise
def health_status(xp, score, red_below, green_from):
    """Index into :data:`HEALTH_LABELS`: red below ``red_below``, green from ``green_from``.

    ``#NUM!`` where red_below > green_from.

    Examples
    --------
    >>> import numpy as np
    >>> idx, _ = health_status(np.array([40.0, 60, 80]), np.array(50.0), np.array(75.0))
    >>> [HEALTH_LABELS[i] for i in idx]
    ['red', 'yellow', 'green']
    """
    err = xp.errors(score, red_below, green_from)
    err.where(xp.not_(red_below <= green_from), NUM)
    index = xp.where(score < red_below, 0, xp.where(score >= green_from, 2, 1))
    return xp.index(index), err.plane


@elementwise
def segment(xp, mrr, potential_mrr, vip_mrr, core_mrr):
    """Index into :data:`SEGMENT_LABELS` ("VIP", "potential", "core", "non-core").

    ``#NUM!`` where vip_mrr < core_mrr.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array
    >>> idx, _ = segment(a([900.0, 100, 300, 50]), a([0.0, 1000, 0, 0]), a(800.0), a(200.0))
    >>> [SEGMENT_LABELS[i] for i in idx]
    ['VIP', 'potential', 'core', 'non-core']
    """
    err = xp.errors(mrr, potential_mrr, vip_mrr, core_mrr)
    err.where(xp.not_(vip_mrr >= core_mrr), NUM)
    index = xp.select([mrr >= vip_mrr, potential_mrr >= vip_mrr, mrr >= core_mrr], [0, 1, 2], default=3)
    return xp.index(index), err.plane


# ---------------------------------------------------------------- aggregating
#
# Aggregating metrics receive, for each argument, the 1-D array of the numbers found in
# that range (the adapter has dropped blanks and text, as SUM does) and return a 0-d
# result and a 0-d error plane.


def _quiet(function):
    """Run under np.errstate(all="ignore"): an overflow becomes inf, which the caller
    reports as #NUM!, instead of a warning."""

    @functools.wraps(function)
    def quiet(*args):
        with np.errstate(all="ignore"):
            return function(*args)

    return quiet


def _scalar(value, code=OK):
    return np.float64(value), np.int8(code)


def _ratio(numerator, denominator, negative):
    """numerator / denominator with #NUM! when ``negative`` and #DIV/0! on a zero."""
    if negative:
        return _scalar(np.nan, NUM)
    if denominator == 0:
        return _scalar(np.nan, DIV0)
    return _scalar(numerator / denominator)


@_quiet
def arpu(revenue, customers):
    """Average revenue per customer: ``SUM(revenue) / AVERAGE(customers)``.

    Examples
    --------
    >>> import numpy as np
    >>> float(arpu(np.array([10500.0]), np.array([280.0, 320.0]))[0])
    35.0
    """
    average = customers.mean() if customers.size else 0.0
    return _ratio(revenue.sum(), average, bool((customers < 0).any()))


@_quiet
def cac(spend, new_customers):
    """Customer acquisition cost: ``SUM(spend) / SUM(new_customers)``.

    ``#NUM!`` for a negative customer count, ``#DIV/0!`` with no new customers.

    Examples
    --------
    >>> import numpy as np
    >>> float(cac(np.array([3000.0, 2000.0]), np.array([6.0, 4.0]))[0])
    500.0
    """
    return _ratio(spend.sum(), new_customers.sum(), bool((new_customers < 0).any()))


@_quiet
def retention_cost(spend, customers):
    """Cost of keeping one customer: ``SUM(spend) / SUM(customers)``.

    Examples
    --------
    >>> import numpy as np
    >>> float(retention_cost(np.array([12000.0]), np.array([400.0]))[0])
    30.0
    """
    return _ratio(spend.sum(), customers.sum(), bool((customers < 0).any()))


def _magnitude(losses):
    # Losses may be typed as 50 or -50: both mean 50 lost, cell by cell.
    return np.abs(losses).sum()


@_quiet
def net_mrr(new, expansion, contraction, churned, reactivation):
    """Net new MRR: ``new + expansion + reactivation - |contraction| - |churned|``.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array
    >>> float(net_mrr(a([1000.0]), a([500.0]), a([-200.0]), a([-300.0]), a([100.0]))[0])
    1100.0
    """
    gains = new.sum() + expansion.sum() + reactivation.sum()
    return _scalar(gains - _magnitude(contraction) - _magnitude(churned))


@_quiet
def churn_rate(lost, at_start, new):
    """Churn: ``SUM(|lost|) / (SUM(at_start) + SUM(new))``.

    Losses count by magnitude (the churned column of ``MRR_MOVEMENTS`` goes in as it
    is). ``new``, the customers who joined during the period, widens the denominator as
    Stripe counts it. ``#NUM!`` for a negative cell in ``at_start`` or ``new``, ``#DIV/0!``
    when the denominator is 0.

    References
    ----------
    .. [1] Stripe, "Billing analytics: churn rate" (subscriber churn over customers at the
       start of the period plus those who joined during it).

    Examples
    --------
    >>> import numpy as np
    >>> float(churn_rate(np.array([-4.0]), np.array([80.0]), np.array([20.0]))[0])
    0.04
    """
    negative = bool((at_start < 0).any() or (new < 0).any())
    return _ratio(_magnitude(lost), at_start.sum() + new.sum(), negative)


@_quiet
def nrr(start_mrr, expansion, contraction, churned, reactivation):
    """Net revenue retention.

    Notes
    -----
    :math:`(start + expansion + reactivation - |contraction| - |churned|) / start`.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array
    >>> float(nrr(a([10000.0]), a([1500.0]), a([-300.0]), a([-700.0]), a([0.0]))[0])
    1.05
    """
    start = start_mrr.sum()
    kept = start + expansion.sum() + reactivation.sum()
    kept -= _magnitude(contraction) + _magnitude(churned)
    return _ratio(kept, start, bool((start_mrr < 0).any()))


@_quiet
def grr(start_mrr, contraction, churned):
    """Gross revenue retention: ``(start - |contraction| - |churned|) / start``.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array
    >>> float(grr(a([10000.0]), a([-300.0]), a([-700.0]))[0])
    0.9
    """
    start = start_mrr.sum()
    kept = start - _magnitude(contraction) - _magnitude(churned)
    return _ratio(kept, start, bool((start_mrr < 0).any()))


@_quiet
def quick_ratio(new, expansion, contraction, churned, reactivation):
    """SaaS quick ratio: ``(new + expansion + reactivation) / (|contraction| + |churned|)``.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array
    >>> float(quick_ratio(a([1000.0]), a([500.0]), a([200.0]), a([300.0]), a([0.0]))[0])
    3.0
    """
    gains = new.sum() + expansion.sum() + reactivation.sum()
    return _ratio(gains, _magnitude(contraction) + _magnitude(churned), False)


@_quiet
def health_score(scores, weights):
    """Weighted health score ``SUMPRODUCT(scores, weights) / SUM(weights)``.

    ``scores`` and ``weights`` are paired 1-D arrays of the counted cells (the adapter
    drops a blank score together with its weight). ``#NUM!`` for a score outside 0..100 or
    a negative weight, ``#DIV/0!`` when the weights sum to 0.

    Examples
    --------
    >>> import numpy as np
    >>> float(health_score(np.array([80.0, 40.0]), np.array([3.0, 1.0]))[0])
    70.0
    """
    negative = bool(_outside(ARRAYS, scores, 0, 100).any() or (weights < 0).any())
    return _ratio(float(scores @ weights), weights.sum(), negative)


def _whole(x, low, high):
    return (x == np.floor(x)) & (x >= low) & (x <= high)


@_quiet
def nps(responses):
    """Net promoter score: ``100 * (promoters - detractors) / answers`` on 0..10 answers.

    Promoters answer 9 or 10, detractors 0 to 6. ``#NUM!`` for an answer that is not a
    whole number in 0..10, ``#DIV/0!`` with no answers.

    References
    ----------
    .. [1] Reichheld, F. F. (2003), "The one number you need to grow", Harvard Business
       Review 81(12).

    Examples
    --------
    >>> import numpy as np
    >>> float(nps(np.array([10.0, 9, 8, 7, 6, 0, 10, 9, 3, 10]))[0])
    20.0
    """
    if not _whole(responses, 0, 10).all():
        return _scalar(np.nan, NUM)
    promoters = np.count_nonzero(responses >= 9)
    detractors = np.count_nonzero(responses <= 6)
    return _ratio(100.0 * (promoters - detractors), responses.size, False)


@_quiet
def csat(responses, scale):
    """Customer satisfaction: the share of answers in the top two points of a 1..scale survey.

    ``scale`` is one number (a range's numbers must agree); ``#NUM!`` for an answer that is
    not a whole number in 1..scale or a scale that is not a whole number >= 2, ``#DIV/0!``
    with no answers.

    Examples
    --------
    >>> import numpy as np
    >>> float(csat(np.array([5.0, 4, 3, 5, 1]), np.array([5.0]))[0])
    0.6
    """
    if scale.size != 1 or not _whole(scale, 2, np.inf).all():
        return _scalar(np.nan, NUM)
    top = float(scale[0])
    if not _whole(responses, 1, top).all():
        return _scalar(np.nan, NUM)
    return _ratio(float(np.count_nonzero(responses >= top - 1)), responses.size, False)
