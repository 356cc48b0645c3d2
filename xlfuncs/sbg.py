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
Only numpy and the standard library are used, so the module loads in Pyodide.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .errors import NUM, OK, nonfinite_as_num

__all__ = ["sbg_survival", "sbg_clv", "sbg_fit"]


def _invalid(x, low=-np.inf, high=np.inf, *, open_low=False):
    """Where x is NaN, inf or outside [low, high] (or (low, high] with ``open_low``)."""
    inside = np.isfinite(x)
    if low > -np.inf:
        inside &= (x > low) if open_low else (x >= low)
    if high < np.inf:
        inside &= x <= high
    return ~inside


# ---------------------------------------------------------------- log-gamma slopes

# B_2k / (2k (2k - 1)): the coefficients of Stirling's series for ln Gamma(x).
_STIRLING = (1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360)
# Below this, x is shifted up by the recurrence Gamma(x + 1) = x Gamma(x): from 12 on,
# six terms of Stirling's series leave an error under 1e-15.
_STIRLING_FROM = 12


def _lgamma_slope(x, h, shift=_STIRLING_FROM):
    """(ln Gamma(x + h) - ln Gamma(x)) / h, element-wise, for x > 0 and x + h > 0.

    Accurate to a few ulps relative to the larger of the two log-gamma terms divided
    by h, including for tiny h (and digamma(x) at h = 0): every piece of the difference
    is formed in a way that keeps its factor h, so nothing cancels. ``shift`` is how far
    the recurrence Gamma(x + 1) = x Gamma(x) lifts the cells with x < ``shift`` before
    Stirling's series is used (0 when every x is already >= 12).
    """
    # h = 0 becomes a step so small (x 2^-60) that the divided difference is the
    # derivative to the last bit, and no branch is needed below.
    h = np.where(h == 0, x * 2.0**-60, h)
    out = np.zeros(np.broadcast_shapes(np.shape(x), np.shape(h)))
    big = x
    if shift:
        low = np.flatnonzero(x < shift)
        if low.size:
            xl, hl = x[low], h[low]
            # sum_i ln(1 + h/(x+i)) as ln(1 + h/x) + ln(1 + D), with the product
            # prod_(i>=1) (1 + h/(x+i)) = 1 + D built up as D = D (1 + r) + r: one log1p for
            # eleven, and terms of one sign (each 1 + r >= 1 / 13 here), so nothing cancels.
            lifted = np.log1p(hl / xl)
            rest = np.zeros(low.size)
            r = np.empty(low.size)
            for i in range(1, shift):
                np.add(xl, i, out=r)
                np.divide(hl, r, out=r)
                rest += rest * r
                rest += r
            lifted += np.log1p(rest)
            out[low] = -lifted / hl
            big = x + np.where(x < shift, float(shift), 0.0)
    # [(X + h - 1/2) ln(X + h) - (X - 1/2) ln X - h] / h, without the large terms
    out += (big - 0.5) * (np.log1p(h / big) / h) + np.log(big + h) - 1.0
    # Stirling's corrections sum_k c_k [(X + h)^-n - X^-n] / h with n = 2k - 1: each
    # difference is -u v h_(n-1)(u, v), u = 1/X, v = 1/(X + h), h_m the complete
    # homogeneous polynomial (sum of u^i v^(m-i)): positive terms only, for any sign of h.
    u = 1.0 / big
    v = 1.0 / (big + h)
    total = u + v
    product = u * v
    previous, current = np.ones_like(u), total  # h_0, h_1
    corrections = _STIRLING[0] * previous
    for c in _STIRLING[1:]:
        previous, current = current, total * current - product * previous  # h_2, h_4, ...
        previous, current = current, total * current - product * previous
        corrections += c * previous
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


def _lgamma_one_minus_over(eps):
    """ln Gamma(1 - eps) / eps for -1 < eps <= 1/2 (its limit, Euler's gamma, at 0).

    ln Gamma(1 - e) = ln Gamma(3 - e) - ln(1 - e) - ln(2 - e), and ln Gamma(3 - e) - ln 2 is
    a power series of radius 3 (a Horner pass of 34 terms) instead of a log-gamma slope.
    """
    # Only the terms that the largest |eps| needs: the tail sum_(k>n) |a_k| r^k < 1e-18.
    r = float(np.abs(eps).max(initial=0.0))
    n = len(_LGAMMA3)
    while n > 1 and sum(abs(c) * r ** (k + 1) for k, c in enumerate(_LGAMMA3[n - 1 :], n - 1)) < 1e-18:
        n -= 1
    poly = np.full_like(eps, _LGAMMA3[n - 1])
    for coefficient in _LGAMMA3[n - 2 :: -1]:
        poly *= eps
        poly += coefficient
    eps_safe = np.where(eps == 0, 2.0**-60, eps)
    return poly - (np.log1p(-eps_safe) + np.log1p(-0.5 * eps_safe)) / eps_safe


# ---------------------------------------------------------------- survival

# Below this many periods the survival product is summed term by term.
_DIRECT_TERMS = 16


def _log_survival(a, b, n):
    """ln S(n) for valid a, b > 0 and whole n >= 0 (flat arrays)."""
    # The product of the first factors, then one logarithm: a relative error of an ulp or
    # so per factor, whatever a and b are.
    ab = a + b
    product = np.ones_like(a)
    for i in range(_DIRECT_TERMS):
        product *= np.where(i < n, (b + i) / (ab + i), 1.0)
    log_s = np.log(product)
    deep = np.flatnonzero(product < 1e-280)  # the product may have underflowed: sum logs
    if deep.size:
        ad, bd, nd = a[deep], b[deep], n[deep]
        log_s[deep] = sum(np.where(i < nd, np.log((bd + i) / (ad + bd + i)), 0.0) for i in range(_DIRECT_TERMS))
    far = np.flatnonzero(n > _DIRECT_TERMS)
    if far.size:
        af, bf, nf = a[far], b[far], n[far]
        # ln Gamma(b+n) - ln Gamma(a+b+n) - [same at n0] = -a [slope(b+n, a) - slope(b+n0, a)]
        start = bf + _DIRECT_TERMS
        tail = _lgamma_slope(bf + nf, af, shift=0) - _lgamma_slope(start, af, shift=0)
        log_s[far] -= af * tail
    return log_s


def sbg_survival(alpha, beta, t):
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

    For t <= 16 the logarithms of the factors are summed. Beyond, the rest of the product
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
    """
    with np.errstate(all="ignore"):
        shape = np.broadcast_shapes(np.shape(alpha), np.shape(beta), np.shape(t))
        errors = np.zeros(shape, dtype=np.int8)
        bad = _invalid(t, 0) | _invalid(alpha, 0, open_low=True) | _invalid(beta, 0, open_low=True)
        errors[bad] = NUM
        ok = ~bad
        values = np.full(shape, np.nan)
        a = np.broadcast_to(alpha, shape)[ok]
        b = np.broadcast_to(beta, shape)[ok]
        n = np.floor(np.broadcast_to(t, shape)[ok])
        values[ok] = np.exp(_log_survival(a, b, n))
        return values, nonfinite_as_num(values, errors)


# ---------------------------------------------------------------- CLV

# Where C x <= _NEAR_CX and x <= _NEAR_X (x = d / (1 + d), C = alpha + beta + renewals),
# E comes from the 1 - z transformation; elsewhere from Gauss's continued fraction.
_NEAR_CX = 2.0
_NEAR_X = 0.25
_NEAR_TERMS = 64
_NEAR_GROUPS = (0.3, 0.9)  # C x bounds of the groups of the near branch
_NEAR_J = 16  # cells with j = round(alpha - 1) >= _NEAR_J share one group (per C x group)
_CHUNK = 1 << 15


def _expected_near(a, bb, d):
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
    j = np.maximum(np.rint(m), 0.0)
    eps = m - j
    zero = eps == 0
    eps_safe = np.where(zero, 1.0, eps)

    # Terms i < j of (C-1)/m 2F1(1, B; 1-m; x), and x^j (B)_j / (1+eps)_j: masked in place.
    total = np.zeros_like(a)
    pre = np.ones_like(a)
    steps = int(min(j.max(initial=0.0), _NEAR_TERMS))
    if steps:
        term = cm1 / np.where(j > 0, m, 1.0)
        one_minus_m = 1.0 - m
        one_plus_eps = 1.0 + eps
        # The payments route groups the cells by j: usually one j, and no mask is needed.
        uniform = j.min() == j.max()
        mask = True if uniform else np.empty(a.shape, dtype=bool)
        ratio, scratch = np.empty_like(a), np.empty_like(a)
        for i in range(steps):
            if not uniform:
                np.greater(j, i, out=mask)
            np.add(total, term, out=total, where=mask)
            np.add(bb, i, out=ratio)
            ratio *= x  # (B + i) x
            np.add(one_plus_eps, i, out=scratch)
            np.divide(ratio, scratch, out=scratch)
            np.multiply(pre, scratch, out=pre, where=mask)
            if i + 1 < steps:
                np.add(one_minus_m, i, out=scratch)
                ratio /= scratch
                term *= ratio

    bj = bb + j
    log_d = np.log(d)
    # C > 1: T = exp(eps phi) with phi = ln d + lnGamma(1-eps)/eps + (lnGamma(B+j+eps) - lnGamma(B+j))/eps
    phi = log_d + _lgamma_one_minus_over(eps) + _lgamma_slope(bj, eps)
    v = cm1 * np.where(zero, phi, np.expm1(eps * phi) / eps_safe)
    low = cm1 <= 0  # only for j = 0, alpha < 1, alpha + B <= 1: Gamma(C-1) is not positive
    if low.any():
        al, bl, el, cl = a[low], bb[low], eps[low], cm1[low]
        # (C-1) T = Gamma(2-a) Gamma(C) / Gamma(B) d^eps
        log_ct = (1.0 - al) * _lgamma_slope(np.ones_like(al), 1.0 - al) + al * _lgamma_slope(bl, al)
        v[low] = (np.exp(log_ct + el * log_d[low]) - cl) / el

    # sum_k u_k, u_k = w_k H_k, with H_k = (k H_(k-1) + 1) / (k - eps), so that
    # u_k = ((B + j + k - 1) x u_(k-1) + w_k) / (k - eps): positive terms, no cancellation.
    # As many terms as the largest (B + j) x and x need for w_k < 1e-18 (a bound, so no
    # test in the loop), in place: this loop runs over every cell of the near branch.
    top_bx, top_x = float((bj * x).max(initial=0.0)), float(x.max(initial=0.0))
    bound, terms = 1.0, 1
    while terms < _NEAR_TERMS and bound >= 1e-18:
        bound *= (top_bx + (terms - 1) * top_x) / terms
        terms += 1
    w = np.ones_like(a)
    u = np.zeros_like(a)
    series = np.zeros_like(a)
    factor = bj * x - x  # (B + j + k - 1) x, for k = 0
    gap = -eps  # k - eps, for k = 0
    for k in range(1, terms):
        factor += x
        w *= factor
        w *= 1.0 / k
        u *= factor
        u += w
        gap += 1.0
        u /= gap
        series += u

    sign = np.where(j % 2 == 0, -1.0, 1.0)
    pole_part = sign * pre * (np.exp(bj * np.log1p(d)) * v - cm1 * series)
    return total + np.where(j < _NEAR_TERMS, pole_part, 0.0)


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


def _cf_depth(cx, x):
    """Levels of the continued fraction that bring its truncation error under 3e-15."""
    bounds = np.array([low for low, _ in reversed(_CF_DEPTHS)])
    levels = np.array([_CF_DEEPEST] + [depth for _, depth in reversed(_CF_DEPTHS)])
    depth = levels[np.searchsorted(bounds, cx, side="left")]
    return np.where((x > _NEAR_X) & (depth > _CF_FAR_X), _CF_FAR_X, depth)


def _cf_period_fixed_point(a, bb, c, cm1, r0, y, z, i):
    """The tail f(2i+1) if the coefficients stayed at c(2i+1), c(2i+2): the fixed point t of
    f = 1 - p / (1 - q / f), and the slope h = p q / (t - q)^2 of that map at t."""
    one_minus_p = ((cm1 + i) * (r0 + i * y) + i * (c + 2 * i)) / ((cm1 + 2 * i) * (c + 2 * i))
    p = z * (cm1 + i) * (bb + i) / ((cm1 + 2 * i) * (c + 2 * i))
    q = z * (a + i) * (i + 1) / ((c + 2 * i) * (c + 2 * i + 1))
    s = one_minus_p + q
    t = 0.5 * (s + np.sqrt(np.maximum(s * s - 4.0 * q, 0.0)))
    return t, p * q / ((t - q) * (t - q))


def _expected_cf(a, bb, d, depth):
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
    t, h = _cf_period_fixed_point(a, bb, c, cm1, r0, y, z, top)
    t_next, _ = _cf_period_fixed_point(a, bb, c, cm1, r0, y, z, top + 1)
    h = np.minimum(h, 0.9)  # near the parabolic case the correction is only a hint
    f = t + h * (t_next - t) / (1.0 - h)
    e = np.zeros_like(a)
    num, den, tmp = np.empty_like(a), np.empty_like(a), np.empty_like(a)
    for level in range(depth, 1, -1):  # in place: the hot loop of the far branch
        i = level // 2
        if level % 2:
            # one_minus_c = (p (r0 + i y) + i (C + 2i)) / ((C-1+2i)(C+2i)), p = C-1+i
            np.multiply(y, i, out=num)
            num += r0
            np.add(cm1, i, out=tmp)
            num *= tmp
            np.add(c, 2 * i, out=tmp)
            np.add(cm1, 2 * i, out=den)
            den *= tmp
            tmp *= i
            num += tmp
            num /= den
            # f = (one_minus_c - e) / (1 - e)
            num -= e
            np.subtract(1.0, e, out=den)
            np.divide(num, den, out=f)
        else:
            # e = z (a-1+i) i / ((C+2i-2)(C+2i-1) f)
            np.add(c, 2 * i - 2, out=den)
            np.add(c, 2 * i - 1, out=tmp)
            den *= tmp
            den *= f
            np.add(a, i - 1, out=num)
            num *= z
            num *= i
            np.divide(num, den, out=e)
    f = ((a + x * bb) / c - e) / (1.0 - e)
    return 1.0 / f


def _in_chunks(function, out, idx, *args):
    """out[idx] = function(*(arg[idx] for arg in args)), _CHUNK cells at a time."""
    for start in range(0, idx.size, _CHUNK):
        part = idx[start : start + _CHUNK]
        out[part] = function(*(arg[part] for arg in args))


_SCAN = 1 << 16  # cells a pass of the routing takes at a time (small temporaries)
_CF_LEVELS = (_CF_DEEPEST,) + tuple(levels for _, levels in _CF_DEPTHS)
_NEAR_KEYS = (len(_NEAR_GROUPS) + 1) * (_NEAR_J + 1)


def _route_keys(a, bb, d):
    """One uint8 per cell: 0 without discount, 1 + (C x group) (_NEAR_J + 1) + j on the near
    branch, 1 + _NEAR_KEYS + k for the continued fraction of depth _CF_LEVELS[k].

    Formed _SCAN cells at a time, so that no full-size float temporaries are allocated.
    (The key's j, truncated from alpha - 1/2, may differ from round(alpha - 1) at a tie:
    _expected_near checks that its cells share one j before it drops the masks.)
    """
    code_of_depth = np.zeros(_CF_DEEPEST + 1, dtype=np.uint8)
    code_of_depth[list(_CF_LEVELS)] = 1 + _NEAR_KEYS + np.arange(len(_CF_LEVELS))
    keys = np.empty(a.size, dtype=np.uint8)
    for start in range(0, a.size, _SCAN):
        part = slice(start, start + _SCAN)
        ap, dp = a[part], d[part]
        x = dp + 1.0
        np.divide(dp, x, out=x)
        cx = ap + bb[part]
        cx *= x
        key = (cx > _NEAR_GROUPS[0]).astype(np.uint8)
        for bound in _NEAR_GROUPS[1:]:
            key += cx > bound
        key *= np.uint8(_NEAR_J + 1)
        j = ap - 0.5
        np.maximum(j, 0.0, out=j)
        np.minimum(j, _NEAR_J, out=j)
        key += j.astype(np.uint8)
        key += np.uint8(1)
        far = (cx > _NEAR_CX) | (x > _NEAR_X)
        if far.any():
            key[far] = code_of_depth[_cf_depth(cx[far], x[far])]
        key[dp == 0] = 0
        keys[part] = key
    return keys


def _undiscounted(a, bb, d):
    return (a + bb - 1.0) / (a - 1.0)


def _expected_payments(a, bb, d):
    """E for flat arrays of valid a > 0, B = beta + renewals > 0 and d >= 0 (a > 1 where d = 0).

    The cells are grouped over the whole array by route: the near branch's by C x (which
    bounds (B + j) x and so the number of series terms) and by j = round(alpha - 1) (its
    loops then need no masks), the continued fraction's by depth; each group is then
    computed _CHUNK cells at a time, so groups stay large and numpy's per-call cost does
    not weigh on the deep loops. A stable argsort of uint8 keys is a radix sort.
    """
    e = np.empty_like(a)
    keys = _route_keys(a, bb, d)
    order = np.argsort(keys, kind="stable")
    ends = np.cumsum(np.bincount(keys))
    for code, (start, end) in enumerate(zip(np.concatenate([[0], ends[:-1]]), ends)):
        if end == start:
            continue
        if code == 0:
            function = _undiscounted
        elif code <= _NEAR_KEYS:
            function = _expected_near
        else:
            function = functools.partial(_expected_cf, depth=_CF_LEVELS[code - 1 - _NEAR_KEYS])
        _in_chunks(function, e, order[start:end], a, bb, d)
    return e


def sbg_clv(arpu, alpha, beta, margin, discount, renewals):
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
    """
    with np.errstate(all="ignore"):
        args = (arpu, alpha, beta, margin, discount, renewals)
        shape = np.broadcast_shapes(*(np.shape(v) for v in args))
        arpu, alpha, beta, margin, discount, renewals = (np.broadcast_to(v, shape) for v in args)
        bad = (
            _invalid(arpu, 0)
            | _invalid(alpha, 0, open_low=True)
            | _invalid(beta, 0, open_low=True)
            | _invalid(margin, 0, 1)
            | _invalid(discount, 0)
            | _invalid(renewals, 0)
            | ((discount == 0) & ~(alpha > 1))
        )
        if not bad.any():  # the usual case: no gather and scatter of every argument
            a = alpha.ravel().astype(float, copy=False)
            bb = np.floor(renewals.ravel())
            bb += beta.ravel()
            expected = _expected_payments(a, bb, discount.ravel().astype(float, copy=False))
            values = arpu.ravel() * margin.ravel()
            values *= expected
            values = values.reshape(shape)
            return values, np.where(np.isfinite(values), np.int8(OK), np.int8(NUM))
        errors = np.where(bad, NUM, OK).astype(np.int8)
        ok = ~bad
        values = np.full(shape, np.nan)
        a = alpha[ok]
        bb = beta[ok] + np.floor(renewals[ok])
        expected = _expected_payments(a, bb, discount[ok])
        values[ok] = arpu[ok] * margin[ok] * expected
        return values, nonfinite_as_num(values, errors)


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
