"""The quick paths give the same answers as the general rules.

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


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b) or (a != a and b != b)
    return type(a) is type(b) and a == b


ELEMENTWISE = [name for name, fn in registry.FUNCTIONS.items() if fn.kind == registry.ELEMENTWISE]


@pytest.mark.parametrize("name", ELEMENTWISE)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_api_fast_path_is_the_rules(name, data):
    fn = registry.get(name)
    count = data.draw(st.integers(len(fn.required), len(fn.args)), label="arguments")
    args = [data.draw(numbers, label=a.name) for a in fn.args[:count]]
    try:
        api = getattr(xlfuncs, fn.python_name)(*args)
    except ExcelErrorValue as exc:
        api = exc.error
    assert _same(api, adapter.call(name, *args))


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
