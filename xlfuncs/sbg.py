"""The shifted-beta-geometric (sBG) model of contractual churn, as vectorised metrics.

Every customer has its own constant churn probability theta per period, drawn from a
beta(alpha, beta) distribution (Fader & Hardie 2007). A cohort then keeps the share

.. math:: S(t) = \\frac{B(\\alpha, \\beta + t)}{B(\\alpha, \\beta)}
          = \\prod_{i=0}^{t-1} \\frac{\\beta + i}{\\alpha + \\beta + i}

after t periods, and the probability that a customer churns in period t is
:math:`P(T = t) = S(t - 1) - S(t)`.

The functions follow :mod:`xlfuncs.metrics`: float arrays in (already broadcast to one
shape, possibly read-only views, possibly NaN or inf from bad cells), a pair
``(values, errors)`` out, with an ``int8`` error plane of Excel ``ERROR.TYPE`` codes.
SBG_SURVIVAL and SBG_CLV are written once, as kernels of the backend ``xp`` (see
:mod:`xlfuncs.backend`): the array metric, and its ``.on_floats`` for one cell's plain
floats, the same bits. Only numpy and the standard library are used, so the module loads
in Pyodide.
"""

from __future__ import annotations

import bisect
import functools
import math

import numpy as np

from .backend import elementwise
from .errors import NUM, OK

__all__ = ["sbg_survival", "sbg_clv", "sbg_fit"]


_INF = math.inf
# The arguments' ranges are checked with comparisons only, on arrays and floats alike: NaN
# fails them all, and x < _INF rules out inf.


# ---------------------------------------------------------------- log-gamma slopes

# B_2k / (2k (2k - 1)): the coefficients of Stirling's series for ln Gamma(x).
_STIRLING = (1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360)
_STIRLING_0, _STIRLING_1, *_STIRLING_REST = _STIRLING
# Below this, x is shifted up by the recurrence Gamma(x + 1) = x Gamma(x): from 12 on,
# six terms of Stirling's series leave an error under 1e-15.
_STIRLING_FROM = 12


def _lgamma_slope(xp, x, h, shift=_STIRLING_FROM):
    """(ln Gamma(x + h) - ln Gamma(x)) / h, element-wise, for x > 0 and x + h > 0.

    Accurate to a few ulps relative to the larger of the two log-gamma terms divided
    by h, including for tiny h (and digamma(x) at h = 0): every piece of the difference
    is formed in a way that keeps its factor h, so nothing cancels. ``shift`` is how far
    the recurrence Gamma(x + 1) = x Gamma(x) lifts the cells with x < ``shift`` before
    Stirling's series is used (0 when every x is already >= 12). x and h have one shape.
    """
    # h = 0 becomes a step so small (x 2^-60) that the divided difference is the
    # derivative to the last bit, and no branch is needed below.
    h = xp.where(h == 0, x * 2.0**-60, h)
    low = x < shift
    lift = shift and xp.any(low)
    big = x + xp.where(low, float(shift), 0.0) if lift else x  # X
    # [(X + h - 1/2) ln(X + h) - (X - 1/2) ln X - h] / h, without the large terms
    out = (big - 0.5) * (xp.log1p(h / big) / h) + xp.log(big + h) - 1.0
    if lift:
        xl, hl, out_low = xp.take(low, x, h, out)
        # sum_i ln(1 + h/(x+i)) as ln(1 + h/x) + ln(1 + D), with the product
        # prod_(i>=1) (1 + h/(x+i)) = 1 + D built up as D = D (1 + r) + r: one log1p for
        # eleven, and terms of one sign (each 1 + r >= 1 / 13 here), so nothing cancels.
        lifted = xp.log1p(hl / xl)
        rest = xp.zeros_like(xl)
        for i in range(1, shift):
            r = hl / (xl + i)
            rest += rest * r
            rest += r
        lifted += xp.log1p(rest)
        out = xp.put(out, low, out_low - lifted / hl)
    # Stirling's corrections sum_k c_k [(X + h)^-n - X^-n] / h with n = 2k - 1: each
    # difference is -u v h_(n-1)(u, v), u = 1/X, v = 1/(X + h), h_m the complete
    # homogeneous polynomial (sum of u^i v^(m-i)): positive terms only, for any sign of h.
    u = 1.0 / big
    v = 1.0 / (big + h)
    total = u + v
    product = u * v
    previous, current = total, total * total - product  # h_1, h_2
    corrections = _STIRLING_0 + _STIRLING_1 * current
    for c in _STIRLING_REST:
        previous, current = current, total * current - product * previous
        previous, current = current, total * current - product * previous  # h_4, h_6, ...
        corrections += c * current
    out -= product * corrections
    return out


def _zeta_tail_coefficients(count=34):
    """a_k with ln Gamma(3 - e) = ln 2 + sum_k a_k e^k: a_1 = gamma - 3/2 and
    a_k = (zeta(k) - 1 - 2^-k) / k, the zeta tails summed from 3 with Euler-Maclaurin."""
    top = 64
    coefficients = [0.5772156649015329 - 1.5]
    for k in range(2, count + 1):
        head = math.fsum(n**-k for n in range(3, top))
        tail = (
            top ** (1 - k) / (k - 1)
            + top**-k / 2
            + k * top ** (-k - 1) / 12
            - k * (k + 1) * (k + 2) * top ** (-k - 3) / 720
        )
        coefficients.append((head + tail) / k)
    return coefficients


_LGAMMA3 = _zeta_tail_coefficients()
_LGAMMA3_DROPPED = 1e-18  # the largest sum of the terms a series may leave out


def _tail(n: int, r: float) -> float:
    """sum_(k>=n) |a_k| r^(k+1), the terms that a series of n terms leaves out, at |eps| <= r."""
    return math.fsum(abs(c) * r ** (k + 1) for k, c in enumerate(_LGAMMA3[n:], n))


@functools.cache
def _lgamma3_bounds() -> tuple[float, ...]:
    """bounds[n - 1]: the smallest |eps| at which n terms leave out more than 1e-18 (the
    tail grows with |eps|): bisected over the floats (ordered as their bits) in [0, 2]."""
    bounds = []
    for n in range(1, len(_LGAMMA3)):
        low, high = 0, 0x4000000000000000  # the bits of 0.0 and 2.0
        while high - low > 1:
            middle = (low + high) // 2
            r = _from_bits(middle)
            if _tail(n, r) > _LGAMMA3_DROPPED:
                high = middle
            else:
                low = middle
        bounds.append(_from_bits(high))
    return tuple(bounds)


def _from_bits(bits: int) -> float:
    return float(np.int64(bits).view(np.float64))


def _lgamma3_terms(r: float) -> int:
    """The terms of the series that |eps| <= r needs: the fewest that leave out <= 1e-18."""
    return bisect.bisect_right(_lgamma3_bounds(), r) + 1


def _lgamma_one_minus_over(xp, eps):
    """ln Gamma(1 - eps) / eps for -1 < eps <= 1/2 (its limit, Euler's gamma, at 0).

    ln Gamma(1 - e) = ln Gamma(3 - e) - ln(1 - e) - ln(2 - e), and ln Gamma(3 - e) - ln 2 is
    a power series of radius 3 (a Horner pass of up to 34 terms) instead of a log-gamma
    slope.
    """
    # Only the terms that the largest |eps| needs.
    n = _lgamma3_terms(max(xp.largest(eps), -xp.smallest(eps), 0.0))
    poly = xp.full_like(eps, _LGAMMA3[n - 1])
    for coefficient in reversed(_LGAMMA3[: n - 1]):
        poly *= eps
        poly += coefficient
    eps_safe = xp.where(eps == 0, 2.0**-60, eps)
    return poly - (xp.log1p(-eps_safe) + xp.log1p(-0.5 * eps_safe)) / eps_safe


# ---------------------------------------------------------------- survival

# Below this many periods the survival product is summed term by term.
_DIRECT_TERMS = 16


def _log_survival(xp, a, b, n):
    """ln S(n) for valid a, b > 0 and whole n >= 0 (flat arrays, or floats)."""
    # The product of the first factors, then one logarithm: a relative error of an ulp or
    # so per factor, whatever a and b are. (Only as many factors as the largest n has:
    # the others are 1.)
    ab = a + b
    product = xp.ones_like(a)
    top = int(min(max(xp.largest(n), 0.0), _DIRECT_TERMS))
    every = int(min(xp.smallest(n), top))  # factors that every cell has: no mask
    for i in range(every):
        product *= (b + i) / (ab + i)
    for i in range(every, top):
        product *= xp.where(i < n, (b + i) / (ab + i), 1.0)
    deep = product < 1e-280  # the product may have underflowed: sum logs
    log_s = xp.log(xp.where(deep, 1.0, product))
    if xp.any(deep):
        ad, bd, nd = xp.take(deep, a, b, n)
        steps = sum(xp.where(i < nd, xp.log((bd + i) / (ad + bd + i)), 0.0) for i in range(_DIRECT_TERMS))
        log_s = xp.put(log_s, deep, steps)
    far = n > _DIRECT_TERMS
    if xp.any(far):
        af, bf, nf, log_f = xp.take(far, a, b, n, log_s)
        # ln Gamma(b+n) - ln Gamma(a+b+n) - [same at n0] = -a [slope(b+n, a) - slope(b+n0, a)]
        start = bf + _DIRECT_TERMS
        tail = _lgamma_slope(xp, bf + nf, af, shift=0) - _lgamma_slope(xp, start, af, shift=0)
        log_s = xp.put(log_s, far, log_f - af * tail)
    return log_s


@elementwise
def sbg_survival(xp, alpha, beta, t):
    """Share of a cohort still active after t periods under the sBG model.

    Parameters
    ----------
    alpha, beta : ndarray
        Parameters of the beta distribution of churn probabilities, > 0.
    t : ndarray
        Periods since the cohort started, >= 0, truncated to whole periods.

    Returns
    -------
    values, errors : ndarray, ndarray of int8
        S(t) and the error plane: ``#NUM!`` for t < 0 (checked first), alpha <= 0,
        beta <= 0 or any non-finite argument.

    Notes
    -----
    .. math:: S(t) = \\frac{B(\\alpha, \\beta + t)}{B(\\alpha, \\beta)}
              = \\prod_{i=0}^{t-1} \\frac{\\beta + i}{\\alpha + \\beta + i}

    For t <= 16 the factors are multiplied (their logarithms summed where the product
    would underflow). Beyond, the rest of the product
    is :math:`\\Gamma(\\beta + t)\\,\\Gamma(\\alpha + \\beta + 16) /
    (\\Gamma(\\alpha + \\beta + t)\\,\\Gamma(\\beta + 16))`, taken as
    :math:`-\\alpha\\,[s(\\beta + t) - s(\\beta + 16)]` with
    :math:`s(x) = (\\ln\\Gamma(x + \\alpha) - \\ln\\Gamma(x)) / \\alpha` from Stirling's
    series written without cancellation, so S(t) keeps 1e-13 relative accuracy up to
    t = 1e6 and beyond, where lgamma differences would lose digits.

    References
    ----------
    .. [1] Fader, P. S. and Hardie, B. G. S. (2007), "How to project customer retention",
       Journal of Interactive Marketing 21(1), 76-90.

    Examples
    --------
    >>> import numpy as np
    >>> values, errors = sbg_survival(np.array(2.0), np.array(3.0), np.array([1.0, 3.0]))
    >>> values.tolist(), errors.tolist()
    ([0.6, 0.2857142857142857], [0, 0])

    One cell, on plain floats (what a scalar call runs):

    >>> sbg_survival.on_floats(2.0, 3.0, 3.0)
    (0.2857142857142857, 0)
    """
    alpha, beta, t = xp.broadcast(alpha, beta, t)
    err = xp.errors(alpha, beta, t)
    ok = (t >= 0) & (t < _INF) & (alpha > 0) & (alpha < _INF) & (beta > 0) & (beta < _INF)
    err.where(xp.not_(ok), NUM)
    if xp.all(ok):  # the usual case: no gather and scatter
        a, b, n = xp.flat(alpha, beta, t)
        values = xp.shaped(xp.exp(_log_survival(xp, a, b, xp.floor(n))), t)
    else:
        values = xp.full_like(t, math.nan, dtype=float)
        if xp.any(ok):
            a, b, n = xp.take(ok, alpha, beta, t)
            values = xp.put(values, ok, xp.exp(_log_survival(xp, a, b, xp.floor(n))))
    err.where(xp.not_(xp.isfinite(values)), NUM)
    return values, err.plane


# ---------------------------------------------------------------- CLV

# Where C x <= _NEAR_CX and x <= _NEAR_X (x = d / (1 + d), C = alpha + beta + renewals),
# E comes from the 1 - z transformation; elsewhere from Gauss's continued fraction.
_NEAR_CX = 2.0
_NEAR_X = 0.25
_NEAR_TERMS = 64
_NEAR_GROUPS = (0.3, 0.9)  # C x bounds of the groups of the near branch
_NEAR_J = 16  # cells with j = round(alpha - 1) >= _NEAR_J share one group (per C x group)
_CHUNK = 1 << 15


def _expected_near(xp, a, bb, d):
    """E = 2F1(1, B; C; 1/(1+d)) for small x = d/(1+d), by the 1 - z transformation.

    With m = a - 1 and C = a + B (DLMF 15.8.4, the second series summed in closed form):

        E = (C-1)/m 2F1(1, B; 1-m; x) + Gamma(C) Gamma(-m) / Gamma(B) x^m (1+d)^(C-1)

    Both parts have poles at whole m = j >= 0 that cancel. The terms i < j of the series
    are kept as they are; the terms i >= j and the closed-form part are combined
    analytically, with eps = m - j in [-1, 1/2], into

        (-1)^(j+1) x^j (B)_j / (1+eps)_j * [(1+d)^(B+j) V - (C-1) sum_k w_k H_k]

    where V = (C-1) (T - 1) / eps, T = Gamma(1-eps) Gamma(B+j+eps) / Gamma(B+j) d^eps,
    w_k = (B+j)_k x^k / k! and H_k = (k! / (1-eps)_k - 1) / eps, each of the divided
    differences computed without cancellation (expm1, log-gamma slopes), so whole and
    nearly whole alpha lose nothing.
    """
    x = d / (1.0 + d)
    m = a - 1.0
    cm1 = m + bb  # C - 1
    rounded = xp.rint(m)
    j = xp.where(rounded < 0.0, 0.0, rounded)
    eps = m - j
    zero = eps == 0
    eps_safe = xp.where(zero, 1.0, eps)

    # Terms i < j of (C-1)/m 2F1(1, B; 1-m; x), and x^j (B)_j / (1+eps)_j: masked.
    total = xp.zeros_like(a)
    pre = xp.ones_like(a)
    steps = int(min(max(xp.largest(j), 0.0), _NEAR_TERMS))
    if steps:
        term = cm1 / xp.where(j > 0, m, 1.0)
        one_minus_m = 1.0 - m
        one_plus_eps = 1.0 + eps
        # The payments route groups the cells by j: usually one j, and no mask is needed.
        uniform = xp.smallest(j) == xp.largest(j)
        for i in range(steps):
            ratio = (bb + i) * x
            scratch = ratio / (one_plus_eps + i)
            if uniform:
                total += term
                pre *= scratch
            else:
                inside = j > i
                total = xp.where(inside, total + term, total)
                pre = xp.where(inside, pre * scratch, pre)
            if i + 1 < steps:
                term *= ratio / (one_minus_m + i)

    bj = bb + j
    log_d = xp.log(d)
    low = cm1 <= 0  # only for j = 0, alpha < 1, alpha + B <= 1: Gamma(C-1) is not positive
    # C > 1: T = exp(eps phi) with phi = ln d + lnGamma(1-eps)/eps + (lnGamma(B+j+eps) - lnGamma(B+j))/eps
    # (where C <= 1, B + j + eps <= 0 is out of the slope's domain: a step of 0 there, and
    # V is replaced below)
    phi = log_d + _lgamma_one_minus_over(xp, eps) + _lgamma_slope(xp, bj, xp.where(low, 0.0, eps))
    v = cm1 * xp.where(zero, phi, xp.expm1(eps * phi) / eps_safe)
    if xp.any(low):
        al, bl, el, cl, log_dl = xp.take(low, a, bb, eps, cm1, log_d)
        # (C-1) T = Gamma(2-a) Gamma(C) / Gamma(B) d^eps
        log_ct = (1.0 - al) * _lgamma_slope(xp, xp.ones_like(al), 1.0 - al) + al * _lgamma_slope(xp, bl, al)
        v = xp.put(v, low, (xp.exp(log_ct + el * log_dl) - cl) / el)

    # sum_k u_k, u_k = w_k H_k, with H_k = (k H_(k-1) + 1) / (k - eps), so that
    # u_k = ((B + j + k - 1) x u_(k-1) + w_k) / (k - eps): positive terms, no cancellation.
    # As many terms as the largest (B + j) x and x need for w_k < 1e-18 (a bound, so no
    # test in the loop), in place: this loop runs over every cell of the near branch.
    top_bx, top_x = max(xp.largest(bj * x), 0.0), max(xp.largest(x), 0.0)
    bound = 1.0  # >= w_(k-1)
    w = xp.ones_like(a)
    u = xp.zeros_like(a)
    series = xp.zeros_like(a)
    factor = bj * x - x  # (B + j + k - 1) x, for k = 0
    gap = -eps  # k - eps, for k = 0
    for k in range(1, _NEAR_TERMS):
        if bound < 1e-18:
            break
        bound *= (top_bx + (k - 1) * top_x) / k
        factor += x
        w *= factor
        w *= 1.0 / k
        u *= factor
        u += w
        gap += 1.0
        u /= gap
        series += u

    sign = xp.where(j % 2 == 0, -1.0, 1.0)
    pole_part = sign * pre * (xp.exp(bj * xp.log1p(d)) * v - cm1 * series)
    return total + xp.where(j < _NEAR_TERMS, pole_part, 0.0)


# Continued-fraction depth by C x: the depth that brought the truncation error under 3e-15
# over 245,000 random cells with C x > 1 or x > 1/4 (alpha 0.02-100, whole for one cell in
# five, beta + renewals 0.01-1e5, d 1e-7-20), against 2,500 levels, for C x above 1.2 times
# the largest C x that still needed more. With x > 1/4, 24 levels always did.
_CF_DEPTHS = (
    (94.0, 8),
    (38.0, 12),
    (22.0, 16),
    (14.5, 20),
    (10.5, 24),
    (7.0, 32),
    (5.2, 40),
    (4.1, 48),
    (3.45, 56),
    (3.0, 64),
    (2.62, 72),
    (2.33, 80),
    (1.95, 96),
    (1.68, 112),
    (1.5, 128),
)
_CF_DEEPEST = 160
_CF_FAR_X = 24  # the depth that suffices wherever x > 1/4
_CF_BOUNDS = tuple(low for low, _ in reversed(_CF_DEPTHS))
_CF_LEVELS_BY_CX = (_CF_DEEPEST,) + tuple(depth for _, depth in reversed(_CF_DEPTHS))


def _cf_depth(xp, cx, x):
    """Levels of the continued fraction that bring its truncation error under 3e-15."""
    depth = xp.lookup(_CF_LEVELS_BY_CX, xp.searchsorted(_CF_BOUNDS, cx))
    return xp.where((x > _NEAR_X) & (depth > _CF_FAR_X), _CF_FAR_X, depth)


def _cf_period_fixed_point(xp, a, bb, c, cm1, r0, y, z, i):
    """The tail f(2i+1) if the coefficients stayed at c(2i+1), c(2i+2): the fixed point t of
    f = 1 - p / (1 - q / f), and the slope h = p q / (t - q)^2 of that map at t."""
    one_minus_p = ((cm1 + i) * (r0 + i * y) + i * (c + 2 * i)) / ((cm1 + 2 * i) * (c + 2 * i))
    p = z * (cm1 + i) * (bb + i) / ((cm1 + 2 * i) * (c + 2 * i))
    q = z * (a + i) * (i + 1) / ((c + 2 * i) * (c + 2 * i + 1))
    s = one_minus_p + q
    square = s * s - 4.0 * q
    t = 0.5 * (s + xp.sqrt(xp.where(square < 0.0, 0.0, square)))
    return t, p * q / ((t - q) * (t - q))


def _expected_cf(xp, a, bb, d, depth):
    """E = 2F1(1, B; C; z) by Gauss's continued fraction, ``depth`` (even) levels, evaluated backward.

    E = 1 / f1 with f(n) = 1 - c(n) / f(n+1), c(1) = z B / C,
    c(2i+1) = z (C-1+i)(B+i) / ((C-1+2i)(C+2i)) and c(2i) = z (a-1+i) i / ((C+2i-2)(C+2i-1)):
    a Stieltjes fraction with positive coefficients that tend to z/4 (slowly, like 1/n,
    and after n ~ C).

    The tail f(depth+1) is a modified approximant: with t(i) the fixed point of one period
    f = 1 - c(2i+1) / (1 - c(2i+2) / f) (the tail if the coefficients froze at level
    2i+1) and h its slope there, f(2i+1) = t(i) + delta with delta = h (t(i+1) - t(i)) /
    (1 - h): the first-order correction for the drift of the coefficients. Against the
    limit (1 + sqrt(1-z)) / 2 it saves a quarter to a half of the levels.

    When z is near 1 and B is large, c(2i+1) is near 1 and f(2i+1) small: 1 - c / f would
    cancel. So the even levels carry e(2i) = c(2i) / f(2i+1), the odd ones are formed as
    f(2i+1) = ((1 - c(2i+1)) - e(2i+2)) / (1 - e(2i+2)), and 1 - c(2i+1) is expanded into
    positive terms: (p (a + i + x (B + i)) + i (C + 2i)) / ((C-1+2i)(C+2i)), p = C-1+i,
    x = 1 - z.
    """
    z = 1.0 / (1.0 + d)
    x = d * z
    c = a + bb
    cm1 = (a - 1.0) + bb
    r0 = a + x * bb
    y = 1.0 + x
    top = depth // 2
    t, h = _cf_period_fixed_point(xp, a, bb, c, cm1, r0, y, z, top)
    t_next, _ = _cf_period_fixed_point(xp, a, bb, c, cm1, r0, y, z, top + 1)
    h = xp.where(h > 0.9, 0.9, h)  # near the parabolic case the correction is only a hint
    f = t + h * (t_next - t) / (1.0 - h)
    e = xp.zeros_like(a)
    for i in range(top, 0, -1):  # the hot loop of the far branch: levels 2i + 1 and 2i
        if i < top:
            # one_minus_c = (p (r0 + i y) + i (C + 2i)) / ((C-1+2i)(C+2i)), p = C-1+i
            num = y * i
            num += r0
            num *= cm1 + i
            tmp = c + 2 * i
            den = cm1 + 2 * i
            den *= tmp
            tmp *= i
            num += tmp
            num /= den
            # f = (one_minus_c - e) / (1 - e)
            num -= e
            f = num / (1.0 - e)
        # e = z (a-1+i) i / ((C+2i-2)(C+2i-1) f)
        den = c + (2 * i - 2)
        den *= c + (2 * i - 1)
        den *= f
        num = a + (i - 1)
        num *= z
        num *= i
        e = num / den
    f = ((a + x * bb) / c - e) / (1.0 - e)
    return 1.0 / f


_CF_LEVELS = (_CF_DEEPEST,) + tuple(levels for _, levels in _CF_DEPTHS)
_NEAR_KEYS = (len(_NEAR_GROUPS) + 1) * (_NEAR_J + 1)


def _route_key(xp, a, bb, d):
    """0 without discount, 1 + (C x group) (_NEAR_J + 1) + j on the near branch,
    1 + _NEAR_KEYS + k for the continued fraction of depth _CF_LEVELS[k].

    (The key's j, truncated from alpha - 1/2, may differ from round(alpha - 1) at a tie:
    _expected_near checks that its cells share one j before it drops the masks.)
    """
    x = d / (d + 1.0)
    cx = (a + bb) * x
    far = (cx > _NEAR_CX) | (x > _NEAR_X)
    if xp.all(far):  # (no discount is never far)
        return xp.lookup(_KEY_OF_DEPTH, _cf_depth(xp, cx, x))
    group = (cx > _NEAR_GROUPS[0]) * 1.0 + (cx > _NEAR_GROUPS[1]) * 1.0
    j = xp.floor(a - 0.5)
    j = xp.where(j < _NEAR_J, xp.where(j > 0.0, j, 0.0), float(_NEAR_J))
    key = group * (_NEAR_J + 1) + j + 1.0
    if xp.any(far):
        cx_far, x_far = xp.take(far, cx, x)
        key = xp.put(key, far, xp.lookup(_KEY_OF_DEPTH, _cf_depth(xp, cx_far, x_far)))
    return xp.where(d == 0, 0, key)


# The key of the continued fraction of each depth in _CF_LEVELS (0 for the other depths).
_KEY_OF_DEPTH = tuple(
    1 + _NEAR_KEYS + _CF_LEVELS.index(depth) if depth in _CF_LEVELS else 0 for depth in range(_CF_DEEPEST + 1)
)


def _undiscounted(xp, a, bb, d):
    return (a + bb - 1.0) / (a - 1.0)


_ROUTES = (
    (_undiscounted,)
    + (_expected_near,) * _NEAR_KEYS
    + tuple(functools.partial(_expected_cf, depth=depth) for depth in _CF_LEVELS)
)


def _route(key):
    """The kernel of the cells of one key."""
    return _ROUTES[int(key)]


def _expected_payments(xp, a, bb, d):
    """E for flat arrays (or floats) of valid a > 0, B = beta + renewals > 0 and d >= 0 (a > 1
    where d = 0).

    The cells are grouped over the whole array by route: the near branch's by C x (which
    bounds (B + j) x and so the number of series terms) and by j = round(alpha - 1) (its
    loops then need no masks), the continued fraction's by depth; each group is then
    computed _CHUNK cells at a time (:meth:`xlfuncs.backend.ARRAYS.by_key`).
    """
    return xp.by_key(_route_key, _route, a, bb, d, chunk=_CHUNK)


@elementwise
def sbg_clv(xp, arpu, alpha, beta, margin, discount, renewals):
    """Customer lifetime value under the sBG model, first payment undiscounted.

    Parameters
    ----------
    arpu : ndarray
        Revenue per customer per period, >= 0.
    alpha, beta : ndarray
        sBG parameters, > 0.
    margin : ndarray
        Gross margin, 0 <= margin <= 1.
    discount : ndarray
        Discount rate per period, >= 0; with discount = 0, alpha must be > 1.
    renewals : ndarray
        Renewals the customer has already made, >= 0, truncated to whole numbers.

    Returns
    -------
    values, errors : ndarray, ndarray of int8
        ``arpu * margin * E`` and the error plane (``#NUM!`` for any argument out of
        range or non-finite, for discount = 0 with alpha <= 1, and for a result too
        large for a float).

    Notes
    -----
    With n renewals, B = beta + n, C = alpha + B and z = 1 / (1 + discount),

    .. math:: E = \\sum_{t \\ge 0} \\frac{S(n + t)}{S(n)} z^t
              = {}_2F_1(1, B; C; z) = (1 + d)\\,\\mathrm{E}\\left[\\frac{1}{\\theta + d}\\right],
              \\quad \\theta \\sim \\mathrm{beta}(\\alpha, B),

    which is 1 + DERL / (1 + d) with Fader and Hardie's (2010) discounted expected
    residual lifetime, and :math:`(C - 1) / (\\alpha - 1)` with no discount. The series
    converges like :math:`z^t t^{-\\alpha}`, far too slowly for small discounts, so:

    * for :math:`C x \\le 2` and :math:`x \\le 1/4` (x = d / (1 + d), small discounts)
      the 1 - z transformation (DLMF 15.8.4): a series in x plus a closed-form term in
      :math:`x^{\\alpha - 1}`, their poles at whole alpha cancelled analytically, so
      alpha = 1, 2, 3 ... are as accurate as any other; cells grouped by C x (the
      series' length) and by round(alpha - 1);
    * elsewhere Gauss's continued fraction, a Stieltjes fraction evaluated backward from a
      modified-approximant tail (the fixed point of the last period of coefficients,
      corrected for their drift), its depth (8 to 160 levels) set per cell from C x and
      z, cells grouped by depth.

    Both hold 1e-12 relative against mpmath over discounts from 1e-300 to 1e6, alpha from
    0.01 to 100 (whole or not) and beta + renewals up to 1e6.

    References
    ----------
    .. [1] Fader, P. S. and Hardie, B. G. S. (2007), "How to project customer retention",
       Journal of Interactive Marketing 21(1), 76-90.
    .. [2] Fader, P. S. and Hardie, B. G. S. (2010), "Customer-base valuation in a
       contractual setting: the perils of ignoring heterogeneity", Marketing Science
       29(1), 85-93.
    .. [3] NIST Digital Library of Mathematical Functions, 15.7.5 (Gauss's continued
       fraction) and 15.8.4 (the 1 - z transformation).

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array
    >>> values, errors = sbg_clv(a(100.0), a(2.0), a(3.0), a(0.8), a([0.0, 0.05]), a(0.0))
    >>> values.tolist(), errors.tolist()
    ([320.0, 244.948066225...], [0, 0])

    One cell, on plain floats (what a scalar call runs):

    >>> sbg_clv.on_floats(100.0, 2.0, 3.0, 0.8, 0.0, 0.0)
    (320.0, 0)
    """
    cells = xp.broadcast(arpu, alpha, beta, margin, discount, renewals)
    arpu, alpha, beta, margin, discount, renewals = cells
    err = xp.errors(*cells)
    bad = xp.not_(
        (arpu >= 0)
        & (arpu < _INF)
        & (alpha > 0)
        & (alpha < _INF)
        & (beta > 0)
        & (beta < _INF)
        & (margin >= 0)
        & (margin <= 1)
        & (discount >= 0)
        & (discount < _INF)
        & (renewals >= 0)
        & (renewals < _INF)
        & ((discount != 0) | (alpha > 1))  # no discount needs alpha > 1
    )
    err.where(bad, NUM)
    values = xp.full_like(arpu, math.nan, dtype=float)
    if xp.all(bad):
        return values, err.plane
    if xp.any(bad):  # only the valid cells
        arpu, alpha, beta, margin, discount, renewals = xp.take(xp.not_(bad), *cells)
    else:  # the usual case: no gather of every argument
        arpu, alpha, beta, margin, discount, renewals = xp.flat(*cells)
    expected = _expected_payments(xp, alpha, beta + xp.floor(renewals), discount)
    values = xp.put(values, xp.not_(bad), arpu * margin * expected)
    err.where(xp.not_(xp.isfinite(values)), NUM)
    return values, err.plane


# ---------------------------------------------------------------- fit


def _fit_failed():
    return np.full((1, 2), np.nan), NUM


def _pooled_counts(cohorts):
    """Deaths and censored survivors per age, pooled over the cohorts.

    Returns (deaths, censored), each of length T (index t-1 for age t), or None when a
    row is invalid.
    """
    longest = max(len(row) for row in cohorts)
    deaths = np.zeros(longest)
    censored = np.zeros(longest)
    for row in cohorts:
        if row.size < 2:
            continue
        deaths[: row.size - 1] += row[:-1] - row[1:]
        censored[row.size - 2] += row[-1]
    return deaths[:-1], censored[:-1]


class _LogLikelihood:
    """sBG log-likelihood of pooled counts, with exact gradient and Hessian.

    ln P(T=t) = ln a + sum_{i<t-1} ln(b+i) - sum_{i<t} ln(a+b+i) and
    ln S(t) = sum_{i<t} [ln(b+i) - ln(a+b+i)], so

        LL = D ln a + sum_i wb_i ln(b+i) - sum_i wab_i ln(a+b+i)

    with D the deaths, wb_i the deaths after age i+1 plus the survivors censored after
    age i, and wab_i everyone still at risk after age i: finite sums of logarithms.
    """

    def __init__(self, deaths, censored):
        self.deaths = deaths.sum()
        at_risk_after = np.cumsum((deaths + censored)[::-1])[::-1]  # t >= i+1
        dead_later = np.concatenate([np.cumsum(deaths[::-1])[::-1][1:], [0.0]])  # t >= i+2
        self.wab = at_risk_after
        self.wb = dead_later + np.cumsum(censored[::-1])[::-1]
        self.i = np.arange(deaths.size, dtype=float)

    def value(self, a, b):
        return self.deaths * math.log(a) + self.wb @ np.log(b + self.i) - self.wab @ np.log(a + b + self.i)

    def derivatives(self, u, v):
        """Value, gradient and Hessian in (u, v) = (ln a, ln b)."""
        a, b = math.exp(u), math.exp(v)
        rb = 1.0 / (b + self.i)
        rab = 1.0 / (a + b + self.i)
        s1, s2 = self.wab @ rab, self.wab @ (rab * rab)
        ga = self.deaths / a - s1
        gb = self.wb @ rb - s1
        haa = -self.deaths / (a * a) + s2
        hbb = -(self.wb @ (rb * rb)) + s2
        hab = s2
        grad = np.array([a * ga, b * gb])
        hess = np.array([[a * a * haa + a * ga, a * b * hab], [a * b * hab, b * b * hbb + b * gb]])
        return self.value(a, b), grad, hess


def _start(deaths, censored):
    """Moment start: alpha, beta matching the pooled churn of the first two periods."""
    at_risk = np.cumsum((deaths + censored)[::-1])[::-1]
    if deaths.size >= 2 and at_risk[1] > 0:
        s1 = 1.0 - deaths[0] / at_risk[0]
        s2 = 1.0 - deaths[1] / at_risk[1]
        if 0 < s1 < s2 < 1:
            b = (1.0 - s2) * s1 / (s2 - s1)
            a = b * (1.0 - s1) / s1
            if 1e-3 < a < 1e3 and 1e-3 < b < 1e3:
                return math.log(a), math.log(b)
    return 0.0, 0.0


# ln alpha or ln beta beyond this: the maximum is not interior (a parameter runs to 0 or
# infinity, e.g. exactly geometric data).
_LOG_BOUND = 25.0


def sbg_fit(cohorts):
    """Maximum-likelihood sBG parameters of one or more cohorts, fitted jointly.

    Parameters
    ----------
    cohorts : list of ndarray
        One 1-D float array per cohort: its customers (or shares) still active at age
        0, 1, 2, ... Trailing empty cells and empty rows are already removed.

    Returns
    -------
    params, error : ndarray of shape (1, 2), int
        ``[[alpha, beta]]`` and 0, or NaNs and ``#NUM!`` when a row rises, a value is
        negative or not finite, a row's first value is not > 0, no row has 3 values, the
        fit does not converge, or the likelihood has no interior maximum.

    Notes
    -----
    A cohort with survivors :math:`n_0 \\ge n_1 \\ge \\dots \\ge n_T` contributes

    .. math:: \\sum_{t=1}^{T} (n_{t-1} - n_t) \\ln P(T = t) + n_T \\ln S(T),

    :math:`P(T=1) = \\alpha / (\\alpha + \\beta)`,
    :math:`P(T=t) = P(T=t-1)(\\beta + t - 2)/(\\alpha + \\beta + t - 1)`. The counts are
    pooled by age, so the log-likelihood is a short sum of logarithms of linear terms in
    (alpha, beta) whose gradient and Hessian are exact finite sums. It is maximised by
    Newton's method in (ln alpha, ln beta) from a moment start, with a backtracking line
    search, falling back to gradient steps where the Hessian is not negative definite.
    Scaling every row by one factor scales the log-likelihood and leaves the estimate
    unchanged, so counts and shares fit alike (with counts, larger cohorts weigh more).

    References
    ----------
    .. [1] Fader, P. S. and Hardie, B. G. S. (2007), "How to project customer retention",
       Journal of Interactive Marketing 21(1), 76-90.

    Examples
    --------
    >>> import numpy as np
    >>> high_end = np.array([1000.0, 869, 743, 653, 593, 551, 517, 491])
    >>> params, error = sbg_fit([high_end])
    >>> params.round(6).tolist(), error
    ([[0.668088, 3.806095]], 0)
    """
    with np.errstate(all="ignore"):
        rows = [np.asarray(row, dtype=float).ravel() for row in cohorts]
        rows = [row for row in rows if row.size]
        if not rows or max(row.size for row in rows) < 3:
            return _fit_failed()
        for row in rows:
            if not np.isfinite(row).all() or (row < 0).any() or not row[0] > 0 or (np.diff(row) > 0).any():
                return _fit_failed()
        deaths, censored = _pooled_counts(rows)
        model = _LogLikelihood(deaths, censored)
        return _maximise(model, *_start(deaths, censored))


def _maximise(model, u, v):
    point = np.array([u, v])
    value, grad, hess = model.derivatives(*point)
    for _ in range(200):
        if not np.isfinite(value) or np.abs(point).max() > _LOG_BOUND:
            return _fit_failed()
        negative_definite = hess[0, 0] < 0 and np.linalg.det(hess) > 0
        if negative_definite:
            step = -np.linalg.solve(hess, grad)
        else:
            # Gradient ascent scaled by the curvature's magnitude.
            step = grad / max(np.abs(hess).max(), 1e-12 * max(np.abs(grad).max(), 1.0), 1e-300)
        length = np.abs(step).max()
        if length > 2.0:  # no jump beyond a factor e^2 in one step
            step *= 2.0 / length
        scale = 1.0
        while True:
            trial = point + scale * step
            if np.abs(trial).max() <= _LOG_BOUND + 5:
                trial_value = model.value(math.exp(trial[0]), math.exp(trial[1]))
                if trial_value >= value - 1e-13 * abs(value):
                    break
            scale *= 0.5
            if scale < 1e-10:
                break
        if scale < 1e-10:
            break
        point = trial
        value, grad, hess = model.derivatives(*point)
        if negative_definite and np.abs(scale * step).max() < 1e-11:
            break
    else:
        return _fit_failed()
    negative_definite = hess[0, 0] < 0 and np.linalg.det(hess) > 0
    # The Newton decrement: the log-likelihood still to gain near the maximum.
    if not negative_definite or np.abs(point).max() > _LOG_BOUND:
        return _fit_failed()
    decrement = -grad @ np.linalg.solve(hess, grad)
    if not decrement <= 1e-9 * max(1.0, abs(value)):
        return _fit_failed()
    return np.exp(point).reshape(1, 2), OK
