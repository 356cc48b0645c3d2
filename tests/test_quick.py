"""The quick paths give the same answers as the general rules, bit for bit.

* the scalar kernels of :func:`xlfuncs.adapter.quick` against the metric they shortcut (the
  numpy path of :func:`xlfuncs.adapter.single` and :func:`xlfuncs.adapter.evaluate`), on
  random numbers in and around each function's range and on the edges;
* the Python API's scalar fast path against :func:`xlfuncs.adapter.call`;
* the plain 2-D list reader against the per-cell rules, for ranges of floats and ints
  mixed with the values that must not pass for numbers (bools, numeric text, None, ...).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import xlfuncs
from xlfuncs import adapter, registry
from xlfuncs.errors import ExcelError, ExcelErrorValue

EDGES = [0.0, -0.0, 1.0, 0.5, 1e-300, 5e-324, 2.0**-1022, 1 - 2.0**-53, 1e300, 1.7e308, -1.0, 36.0, 36.9, 2, 0]
numbers = st.one_of(
    st.sampled_from(EDGES),
    st.floats(min_value=-2, max_value=2),
    st.floats(min_value=0, max_value=1000),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(min_value=-5, max_value=100),
)
KERNEL_FUNCTIONS = sorted(adapter.KERNELS)


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b) or (a != a and b != b)
    return type(a) is type(b) and a == b


def _general(fn, args):
    """The metric's answer: the numpy path for single numbers, then evaluate()."""
    scalars = adapter._plain_numbers(fn, args)
    if scalars is None:
        return None
    return adapter._single(fn, scalars)


@pytest.mark.parametrize("name", KERNEL_FUNCTIONS)
@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_kernel_is_the_metric(name, data):
    fn = registry.get(name)
    count = data.draw(st.integers(len(fn.required), len(fn.args)))
    args = tuple(data.draw(numbers) for _ in range(count))
    general = _general(fn, args)
    value = adapter.quick(fn, args)
    if value is not None:
        assert type(value) is float
        assert _same(value, general), (args, value, general)
    assert _same(adapter.single(fn, args), general)
    evaluated = adapter.evaluate(fn, args).cells().reshape(-1)[0]
    evaluated = evaluated if isinstance(evaluated, ExcelError) else float(evaluated)
    assert _same(adapter.call(name, *args), evaluated)
    # As xlwings hands them over (ndim=2): every single value a 1 x 1 range.
    ranged = [[[a]] for a in args]
    evaluated = adapter.evaluate(fn, ranged).cells().reshape(-1)[0]
    evaluated = evaluated if isinstance(evaluated, ExcelError) else float(evaluated)
    assert _same(adapter.call(name, *ranged), evaluated)


@pytest.mark.parametrize(
    "args",
    [
        (35, 0.05),
        (35, 0),
        (35, 1.2),
        (100, 0.05, 1, 0.01, 36, 0),
        (100, 1.0, 1, 0.01, 36),
        (100, 0.0, 1, 0.0, 36),
        (100, 0.05, None, None, 12),
        (100, 0.05, 1, 1e-200, 1e6),
        (1e308, 0.0, 1, 1e-300),
        (35, 0.05, 1, 0, 12, 0.5),
        (35, np.float64(0.05)),
        (True, 0.05),
        (35, float("nan")),
        (10**400, 0.05),
        (None, 0.05),
    ],
)
def test_clv_edges(args):
    fn = registry.get("CLV")
    general = _general(fn, args)
    value = adapter.quick(fn, args)
    assert value is None or _same(value, general)
    try:
        api = xlfuncs.clv(*args)
    except ExcelErrorValue as exc:
        api = exc.error
    assert _same(api, adapter.call("CLV", *args))


def test_api_fast_path_raises_like_the_rules():
    with pytest.raises(ExcelErrorValue) as info:
        xlfuncs.clv(35, 0)
    assert info.value.error is ExcelError.DIV0
    assert xlfuncs.clv(35, 0.05) == 700.0
    assert xlfuncs.ltv_cac(1500, 500) == 3.0
    assert xlfuncs.clv(35, 0.05, None, None, None, None) == 700.0
    with pytest.raises(TypeError):
        xlfuncs.clv(35, 0.05, 1, 0, 12, 1, 7)
    with pytest.raises(TypeError):
        xlfuncs.clv(35)
    assert xlfuncs.clv(100, churn=0.05, discount=0.01, periods=36) == adapter.call("CLV", 100, 0.05, 1, 0.01, 36)
    assert xlfuncs.clv(arpu=35, churn=0.05) == 700.0
    for wrong in ({"churn": 0.05, "arpu": 35, "nope": 1}, {"arpu": 1}):
        with pytest.raises(TypeError):
            xlfuncs.clv(35, **wrong)
    with pytest.raises(TypeError):
        xlfuncs.clv(35, 0.05, 1, 0, 12, 1, churn=0.05)
    with pytest.raises(TypeError):
        xlfuncs.clv(churn=0.05)


cells = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1, max_value=2),
    st.sampled_from([0.0, 1.0, 0, 1, -0.0]),
    st.integers(min_value=-(10**20), max_value=10**20),
)
odd = st.sampled_from(
    [True, False, np.True_, "12", "1", "", None, "#N/A", Fraction(1, 3), np.float64(2.5), np.int64(3), 10**400]
)


@settings(max_examples=300, deadline=None)
@given(
    grid=st.sampled_from([1, 2, 3, 5, adapter._PACKED_WIDTH, adapter._PACKED_WIDTH + 3]).flatmap(
        lambda cols: st.lists(st.lists(cells, min_size=cols, max_size=cols), min_size=1, max_size=5)
    ),
    spoil=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 40), odd), max_size=2),
)
def test_plain_grid_reads_like_the_cells(grid, spoil):
    for r, c, value in spoil:
        grid[r % len(grid)][c % len(grid[0])] = value
    try:
        flat = [adapter._cell(cell) for row in grid for cell in row]
    except OverflowError:  # an int beyond float range: evaluate() makes it #VALUE!
        with pytest.raises(OverflowError):
            adapter._classify(grid)
        return
    fast = adapter._classify(grid)
    shape = (len(grid), len(grid[0]))
    values = np.array([f[0] for f in flat]).reshape(shape)
    kinds = np.array([f[1] for f in flat]).reshape(shape)
    errors = np.array([f[2] for f in flat]).reshape(shape)
    assert (fast.kinds == kinds).all()
    assert (fast.errors == errors).all()
    assert np.array_equal(fast.values, values, equal_nan=True)
