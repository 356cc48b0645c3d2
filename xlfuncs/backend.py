"""Two backends for the element-wise metrics: numpy arrays and plain Python floats.

An element-wise metric is written once, as ``kernel(xp, *args)``: plain arithmetic and
comparisons (which mean the same on arrays and on floats), conditions combined with ``|``
and ``&``, and everything else through the namespace ``xp`` (``xp.where``, ``xp.log1p``,
``xp.not_``, ``xp.errors`` ...). :func:`elementwise` turns the kernel into

* the array metric, ``kernel(ARRAYS, ...)`` under ``np.errstate(all="ignore")``: numpy's
  ufuncs over whole arrays, what every range goes through;
* its ``.on_floats``, ``kernel(FLOATS, ...)``: the same code on single Python floats, with
  ``math`` where it is exact and no array in sight. A spreadsheet calls a function once
  per cell, and numpy's fixed cost per operation (a microsecond or so) would be most of
  the call.

Both must give the same bits. Arithmetic and comparisons are IEEE operations on doubles
either way. Where the two differ, the float backend raises an :class:`ArithmeticError`
instead of answering and ``.on_floats`` reruns the array metric on the numbers:

* Python raises ``ZeroDivisionError`` for ``x / 0`` where numpy gives inf or NaN. Where
  a zero denominator comes with ordinary inputs (no churn and no discount, a cost of 0,
  a churn of 1), a kernel divides with ``xp.divide``, which gives IEEE's answer on floats
  too; elsewhere (a discount of -1) it writes ``/``;
* the transcendental functions are numpy's own ufuncs (``math.log1p`` may round the last
  bit differently from the loop numpy dispatches to, e.g. SIMD code on AVX-512), called
  only inside the interval where they neither overflow nor leave their domain, and at
  its ends only where IEEE defines the value (``log1p(-1) = -inf``, ``exp(-inf) = 0``:
  a churn of 1 takes them). Elsewhere outside it numpy would warn (there is no
  ``errstate`` here: it costs more than the metric) where the array backend silently
  gives inf or NaN. (Underflow numpy ignores unless told otherwise;
  ``np.seterr(under="raise")`` makes it a ``FloatingPointError``, an ArithmeticError
  too.)

So a fallback costs one exception and one run of the array metric, and happens only on
degenerate inputs (a share of the margin >= 1 that is never earned back, a churn of 1
over 0 periods, arguments out of their range).

Longer kernels (the sBG model's series and continued fractions) need a little more, each
written so that the two backends agree:

* loops whose length depends on the data run to what the cells need: ``xp.largest(x)``
  (``xp.smallest``) is the largest (smallest) cell as a Python float, the float itself on
  the float backend;
* in-place updates are augmented assignments (``total += term``): in place on arrays,
  a new float on floats, the same IEEE operation either way;
* ``xp.by_key(key, kernel_of, *operands)`` evaluates cells in groups: ``key(xp, ...)``
  gives each cell a small whole number, and ``kernel_of(k)(xp, ...)`` computes the cells
  of key k. On arrays the cells are sorted by key and each group computed a chunk at a
  time; on floats the one cell's kernel is simply called.
"""

from __future__ import annotations

import bisect
import functools
import inspect
import math
import operator

import numpy as np

from .errors import OK

__all__ = ["ARRAYS", "FLOATS", "elementwise", "on_one"]


class _ErrorPlane:
    """An error plane filled in check order: the first failed check of a cell wins."""

    __slots__ = ("plane",)

    def __init__(self, *operands):
        # The operands may be views broadcast from single cells: the plane takes their
        # common shape.
        self.plane = np.zeros(np.broadcast_shapes(*(np.shape(x) for x in operands)), dtype=np.int8)

    def where(self, condition, code: int) -> None:
        np.copyto(self.plane, np.int8(code), where=(self.plane == OK) & condition)


class _ErrorCode:
    """The error plane of one cell: one code, the first failed check's."""

    __slots__ = ("plane",)

    def __init__(self, *operands):
        self.plane = OK

    def where(self, condition, code: int) -> None:
        if condition and self.plane == OK:
            self.plane = code


def _take(mask, *operands):
    return [operand[mask] for operand in operands]


def _put(values, mask, new):
    values[mask] = new
    return values


class ARRAYS:
    """numpy: each operation one pass over whole arrays."""

    errors = _ErrorPlane
    where = staticmethod(np.where)
    select = staticmethod(np.select)
    not_ = staticmethod(operator.invert)  # ~: logical not on bool arrays and numpy bools
    divide = staticmethod(np.divide)
    any = staticmethod(np.any)
    all = staticmethod(np.all)
    floor = staticmethod(np.floor)
    rint = staticmethod(np.rint)
    isinf = staticmethod(np.isinf)
    isfinite = staticmethod(np.isfinite)
    sqrt = staticmethod(np.sqrt)
    log = staticmethod(np.log)
    log1p = staticmethod(np.log1p)
    exp = staticmethod(np.exp)
    expm1 = staticmethod(np.expm1)
    searchsorted = staticmethod(np.searchsorted)  # side="left"
    zeros_like = staticmethod(np.zeros_like)
    ones_like = staticmethod(np.ones_like)
    full_like = staticmethod(np.full_like)
    broadcast = staticmethod(np.broadcast_arrays)

    @staticmethod
    def flat(*operands):
        """Each operand's cells as one flat array (a copy where it is a broadcast view)."""
        return [np.ravel(operand) for operand in operands]

    @staticmethod
    def shaped(values, like):
        """Flat values in the shape of ``like``."""
        return np.reshape(values, np.shape(like))

    # 0-d results become arrays, so that take and put can index them.
    asarray = staticmethod(np.asarray)
    #: ``take(mask, *operands)``: the operands' cells where mask holds (all of one shape),
    #: for a fix-up computed on those cells only ...
    take = staticmethod(_take)
    #: ... and ``put(values, mask, new)``: values with those cells replaced (in place).
    put = staticmethod(_put)

    @staticmethod
    def index(x):
        """Label indices as the int8 array the adapter looks labels up with."""
        return np.asarray(x).astype(np.int8)

    @staticmethod
    def largest(x) -> float:
        return float(np.max(x, initial=-np.inf))

    @staticmethod
    def smallest(x) -> float:
        return float(np.min(x, initial=np.inf))

    @staticmethod
    def lookup(table, index):
        """``table[index]`` for a tuple ``table`` and an array of indices."""
        return np.asarray(table)[index]

    @staticmethod
    def by_key(key, kernel_of, *operands, scan: int = 1 << 16, chunk: int = 1 << 15):
        """``kernel_of(k)(ARRAYS, *operands)`` on the cells of key k, for every k.

        The operands are flat arrays of one size. The keys (uint8) are formed ``scan`` cells
        at a time (small temporaries), the cells grouped over the whole array by key (a
        stable argsort of uint8 keys is a radix sort) and each group computed ``chunk``
        cells at a time, so that groups stay large and numpy's per-call cost does not
        weigh on deep loops, while the temporaries stay in cache.
        """
        size = np.size(operands[0])
        keys = np.empty(size, dtype=np.uint8)
        for start in range(0, size, scan):
            part = slice(start, start + scan)
            keys[part] = key(ARRAYS, *(operand[part] for operand in operands))
        out = np.empty(size)
        order = np.argsort(keys, kind="stable")
        ends = np.cumsum(np.bincount(keys))
        for code, (begin, end) in enumerate(zip(np.concatenate([[0], ends[:-1]]), ends)):
            kernel = kernel_of(code) if end > begin else None
            for first in range(begin, end, chunk):
                cells = order[first : min(first + chunk, end)]
                out[cells] = kernel(ARRAYS, *(operand[cells] for operand in operands))
        return out


class _Fallback(ArithmeticError):
    """The float backend cannot promise numpy's answer here: run the array metric."""


def _guarded(ufunc, low: float, high: float, exact: dict[float, float]):
    """``ufunc`` on one float, inside the open interval (low, high) where it neither
    overflows nor leaves its domain (numpy would warn); at the arguments of ``exact``, the
    value IEEE defines there (numpy's too, with a warning its array metric ignores);
    elsewhere (and for NaN), :class:`_Fallback`."""

    def on_float(x: float) -> float:
        if low < x < high:
            return float(ufunc(x))
        if x in exact:  # -0.0 finds the key 0.0; NaN finds nothing
            return exact[x]
        raise _Fallback(ufunc.__name__)

    on_float.__name__ = ufunc.__name__
    return on_float


def _floor(x: float) -> float:
    # math.floor gives an int, and nothing for inf or NaN; np.floor keeps the sign of -0.0.
    return x if x == 0.0 or not math.isfinite(x) else float(math.floor(x))


def _rint(x: float) -> float:
    # round() rounds half to even, as np.rint does in the default rounding mode.
    if math.isfinite(x):
        return float(round(x))
    raise _Fallback("rint")


def _sqrt(x: float) -> float:
    # Correctly rounded in math and in numpy alike (IEEE); -0.0 stays -0.0 in both.
    if x >= 0.0:
        return math.sqrt(x)
    raise _Fallback("sqrt")


def _same(x):
    return x


def _select(conditions, choices, default):
    for condition, choice in zip(conditions, choices):
        if condition:
            return choice
    return default


class FLOATS:
    """Plain Python floats (and bools for conditions): one cell, no array.

    ``take`` and ``put`` are only reached where ``any(mask)`` holds, i.e. mask is True.
    """

    errors = _ErrorCode
    not_ = staticmethod(operator.not_)
    any = all = staticmethod(bool)
    floor = staticmethod(_floor)
    rint = staticmethod(_rint)
    isinf = staticmethod(math.isinf)
    isfinite = staticmethod(math.isfinite)
    sqrt = staticmethod(_sqrt)
    # The poles and infinities are answered too: a churn of 1 takes log1p(-1) = -inf, and
    # a period's factor exp(-inf) = 0, in an ordinary cell.
    log = staticmethod(_guarded(np.log, 0.0, math.inf, {0.0: -math.inf, math.inf: math.inf}))
    log1p = staticmethod(_guarded(np.log1p, -1.0, math.inf, {-1.0: -math.inf, math.inf: math.inf}))
    # exp and expm1 overflow from ln(DBL_MAX) = 709.78...; a little below is just as good
    # a bound. (exp's underflow numpy ignores, as said above.)
    exp = staticmethod(_guarded(np.exp, -math.inf, 709.0, {-math.inf: 0.0, math.inf: math.inf}))
    expm1 = staticmethod(_guarded(np.expm1, -math.inf, 709.0, {-math.inf: -1.0, math.inf: math.inf}))
    searchsorted = staticmethod(bisect.bisect_left)
    select = staticmethod(_select)
    largest = smallest = staticmethod(_same)

    @staticmethod
    def zeros_like(x):
        return 0.0

    @staticmethod
    def ones_like(x):
        return 1.0

    @staticmethod
    def full_like(x, value, dtype=float):
        return float(value)

    @staticmethod
    def lookup(table, index):
        return table[index]

    @staticmethod
    def by_key(key, kernel_of, *operands, scan: int = 0, chunk: int = 0):
        return kernel_of(key(FLOATS, *operands))(FLOATS, *operands)

    @staticmethod
    def where(condition, x, y):
        return x if condition else y

    @staticmethod
    def divide(x, y):
        """x / y, and for y = 0 IEEE's (and numpy's) answer where Python raises: inf of
        the quotient's sign, NaN for 0 / 0 and NaN / 0."""
        if y:  # NaN too: x / NaN is NaN
            return x / y
        if x != x or x == 0:
            return math.nan
        return math.copysign(math.inf, x) * math.copysign(1.0, y)

    @staticmethod
    def broadcast(*operands):
        return operands

    flat = broadcast

    @staticmethod
    def shaped(values, like):
        return values

    @staticmethod
    def asarray(x):
        return x

    @staticmethod
    def take(mask, *operands):
        return operands

    @staticmethod
    def put(values, mask, new):
        return new

    @staticmethod
    def index(x):
        return x


def on_one(metric, *numbers):
    """The array ``metric`` on single numbers: (value, error code) of the one cell."""
    values, errors = metric(*map(np.float64, numbers))
    return np.reshape(values, -1)[0].item(), int(np.reshape(errors, -1)[0])


def elementwise(kernel):
    """The array metric of ``kernel(xp, *args)``, with ``.on_floats(*floats)`` for one cell.

    ``.on_floats`` returns (value, error code) exactly as the array metric would for that
    cell: the kernel on floats, or, where the float backend gives up, the array metric.
    """

    @functools.wraps(kernel)
    def on_arrays(*args):
        with np.errstate(all="ignore"):
            return kernel(ARRAYS, *args)

    def on_floats(*numbers):
        try:
            return kernel(FLOATS, *numbers)
        except ArithmeticError:
            pass
        # Outside the except block: the array metric measured slower inside it (75 against
        # 61 us for one CLV cell; the cause was not pinned down).
        return on_one(on_arrays, *numbers)

    parameters = list(inspect.signature(kernel).parameters.values())[1:]  # without xp
    on_arrays.__signature__ = inspect.Signature(parameters)
    on_arrays.on_floats = on_floats
    return on_arrays
