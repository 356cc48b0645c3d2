"""The quick paths give the same answers as the general rules.

* every element-wise metric's float backend (``metric.on_floats``) against the same metric
  on arrays, bit for bit, for any floats (edges, NaN and inf included) and over the
  mpmath sweeps' rows;
* the cell rules' scalar quick path (:func:`xlfuncs.adapter.single`) against the same
  arguments given as one-cell ranges (the general path);
* the Python API's scalar fast path against :func:`xlfuncs.adapter.call`;
* the plain 2-D list reader against the per-cell rules, for ranges of floats and ints
  mixed with the values that must not pass for numbers (bools, numeric text, None, ...).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import retention_exact as exact
import sbg_exact
from hypothesis import given, settings
from hypothesis import strategies as st

import xlfuncs
from xlfuncs import adapter, backend, registry
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


# ---------------------------------------------------------------- the float backend

# Where floats and numpy could part: zeros of both signs, the ends of the domains, the
# bounds of the float backend's guarded ufuncs (expm1 from 709), subnormals, overflow.
FLOAT_EDGES = [
    *(0.0, -0.0, 1.0, -1.0, 0.5, 2.0, 36.0, 36.9, 1 - 2.0**-53, 1 + 2.0**-52, 0.05, 0.01, 0.8),
    *(1e-16, 1e-300, 1e-310, 5e-324, 2.0**-1022, 1e300, 1.7e308, 709.0, 710.0, 1e16, 46000.0),
    *(math.inf, -math.inf, math.nan),
]
floats = st.one_of(
    st.sampled_from(FLOAT_EDGES),
    st.floats(min_value=-2, max_value=2),
    st.floats(min_value=0, max_value=1000),
    st.floats(),
)


def _cell_of_arrays(fn, numbers) -> tuple[float, int]:
    """The array metric on the numbers as one-cell 2-D ranges, as the general path runs it."""
    values, errors = fn.impl(*(np.array([[x]]) for x in numbers))
    return np.broadcast_to(values, (1, 1))[0, 0].item(), int(np.broadcast_to(errors, (1, 1))[0, 0])


def _same_cell(fn, got, want) -> bool:
    """One error code, and the same value bits where it is no error (an error cell's value
    is never shown); a NaN is a NaN whatever its payload."""
    (value, code), (expected, expected_code) = got, want
    if code != expected_code:
        return False
    if code != 0:
        return True
    return _same(value, expected) if fn.labels is None else value == expected


@pytest.mark.parametrize("name", ELEMENTWISE)
@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_float_backend_is_the_array_metric(name, data):
    """Any floats, NaN and inf included (the quick path only passes finite ones, a metric
    must not care): the float backend's cell is the array metric's, bit for bit."""
    fn = registry.get(name)
    numbers = [data.draw(floats, label=a.name) for a in fn.args]
    got = adapter._quick(fn).metric(*numbers)
    assert _same_cell(fn, got, _cell_of_arrays(fn, numbers)), (got, numbers)


def _sweep_rows(name):
    """The mpmath sweeps' rows (ordinary values to subnormal churn, churn one ulp below 1,
    cac / m of 1e-600, inf and 1e308 periods; the sBG model's grids and random cells) as
    the metric's arguments."""
    if name == "CLV":
        return [(m, churn, 1.0, d, n, t) for m, churn, d, n, t in exact.clv_sweep()]
    if name == "SBG_SURVIVAL":
        return sbg_exact.SURVIVAL_GRID
    if name == "SBG_CLV":
        random = zip(*sbg_exact.clv_random_cells())
        return [(100.0, a, b, 0.8, d, n) for a, b, n, d in [*sbg_exact.CLV_GRID, *random]]
    cac, arpu, churn, discount, type_, periods = exact.random_cells(300)
    ordinary = [(k, a, 1.0, c, d, t) for k, a, c, d, t in zip(cac, arpu, churn, discount, type_)]
    return [(k, m, 1.0, c, d, t) for k, m, c, d, t in exact.payback_sweep()] + ordinary


@pytest.mark.parametrize("name", ["CLV", "PAYBACK"])
def test_float_backend_over_the_mpmath_sweeps(name):
    fn = registry.get(name)
    rows = [tuple(map(float, row)) for row in _sweep_rows(name)]
    values, errors = fn.impl(*(np.array(column) for column in zip(*rows)))
    on_floats = fn.impl.on_floats
    for row, value, code in zip(rows, values.tolist(), errors.tolist()):
        assert _same_cell(fn, on_floats(*row), (value, code)), row


@pytest.mark.parametrize("name", ["SBG_SURVIVAL", "SBG_CLV"])
def test_sbg_float_backend_over_the_mpmath_sweeps(name):
    """Against each row as a one-cell range: over a whole range the sBG model's loops run
    as long as the cells of a group need (the series' terms for the largest C x, ...), so a
    cell among others may differ from the cell alone in the last bits (see
    test_clv_does_not_depend_on_the_other_cells); alone, it is the float backend's."""
    fn = registry.get(name)
    for row in _sweep_rows(name):
        numbers = tuple(map(float, row))
        assert _same_cell(fn, fn.impl.on_floats(*numbers), _cell_of_arrays(fn, numbers)), numbers


# The sBG model's edges: alpha whose alpha - 1 rounds half to even (0.5, 1.5, 2.5) or sits
# an ulp off a whole number, the near branch's groups of j (16.5, 17) and its 64 terms,
# discounts at the branches' bounds (x = 1/4 at 1/3), the direct product's 16 terms.
SBG_EDGES = [
    *(0.5, 1.5, 2.5, 1.0, 2.0, 3.0, 1 - 2.0**-53, 1 + 2.0**-52, 2 - 2.0**-52, 16.5, 17.0, 64.0, 65.0, 100.0),
    *(0.05, 0.01, 0.1, 0.25, 1 / 3, 1 / 3 + 2.0**-54, 1 / 3 - 2.0**-54, 15.0, 16.0, 17.0, 36.0, 1000.0),
    *(1e-300, 5e-324, 1e-9, 1e5, 1e9, 1e300, 0.0, -0.0, -1.0, math.inf, -math.inf, math.nan),
]
sbg_floats = st.one_of(
    st.sampled_from(SBG_EDGES),
    st.floats(min_value=0, max_value=3),
    st.floats(min_value=-7, max_value=6).map(lambda e: 10.0**e),
    st.integers(min_value=0, max_value=1000).map(float),
    st.floats(),
)


@pytest.mark.parametrize("name", ["SBG_SURVIVAL", "SBG_CLV"])
@settings(max_examples=1500, deadline=None)
@given(data=st.data())
def test_sbg_float_backend_is_the_array_metric(name, data):
    """The sBG model over its edges, valid or not (#NUM! from a negative, NaN or inf
    argument, no discount with alpha <= 1, an overflow): the float backend's cell is the
    array metric's, bit for bit, its error code too."""
    fn = registry.get(name)
    numbers = [data.draw(sbg_floats, label=a.name) for a in fn.args]
    got = fn.impl.on_floats(*numbers)
    assert _same_cell(fn, got, _cell_of_arrays(fn, numbers)), (got, numbers)


def _log_uniform(low, high):
    return st.floats(min_value=math.log(low), max_value=math.log(high)).map(math.exp)


@pytest.mark.parametrize(
    "name, numbers, expected",
    [
        ("CLV", (35.0, 1.0, 1.0, 0.0, 12.0, 1.0), 35.0),  # one payment, at the start
        ("CLV", (35.0, 1.0, 1.0, 0.05, 12.0, 0.0), 0.0),  # gone before the first, at the end
        ("CLV", (35.0, 1.0, 1.0, 0.05, math.inf, 1.0), 35.0),
        ("PAYBACK", (50.0, 100.0, 1.0, 1.0, 0.05, 1.0), 0.5),  # paid back by the one payment
    ],
)
def test_a_churn_of_one_is_answered_on_floats(name, numbers, expected):
    """A churn of 1 (every customer leaves after one period) is an ordinary cell: the
    kernel answers it on floats (log1p(-1) = -inf, expm1(-inf) = -1 and a division by
    1 - churn = 0 as IEEE has them), with the array metric's bits, and no fallback (the
    array metric on one cell: ten times the time)."""
    fn = registry.get(name)
    got = fn.impl.__wrapped__(backend.FLOATS, *numbers)  # a fallback would raise here
    assert got == (expected, 0)
    assert _same_cell(fn, got, _cell_of_arrays(fn, numbers))


@pytest.mark.parametrize(
    "ufunc, argument, value",
    [
        ("log", 0.0, -math.inf),
        ("log", -0.0, -math.inf),
        ("log", math.inf, math.inf),
        ("log1p", -1.0, -math.inf),
        ("log1p", math.inf, math.inf),
        ("exp", -math.inf, 0.0),
        ("exp", math.inf, math.inf),
        ("expm1", -math.inf, -1.0),
        ("expm1", math.inf, math.inf),
    ],
)
def test_float_backend_answers_the_ends_of_the_domains_as_numpy(ufunc, argument, value):
    """At the ends of their domains the float backend's ufuncs answer what numpy does (it
    warns there; the array metric ignores the warning), and NaN, a point outside the
    domain or an overflow still falls back."""
    on_float = getattr(backend.FLOATS, ufunc)
    with np.errstate(all="ignore"):
        expected = float(getattr(np, ufunc)(argument))
    assert on_float(argument) == value == expected
    outside = {"log": [-2.0], "log1p": [-1.5], "exp": [710.0], "expm1": [710.0]}[ufunc]
    for x in [math.nan, *outside]:
        with pytest.raises(ArithmeticError):
            on_float(x)


@pytest.mark.parametrize("name", ["SBG_SURVIVAL", "SBG_CLV"])
@settings(max_examples=600, deadline=None)
@given(data=st.data())
def test_sbg_float_backend_answers_typical_cells_itself(name, data):
    """For typical arguments (alpha, beta 0.1-100, whole or not, t up to 1000, discount
    0-0.5, renewals up to 1000) the kernel on floats answers without falling back to the
    array metric (what makes a scalar call fast), and with the array metric's bits."""
    fn = registry.get(name)
    shape = st.one_of(_log_uniform(0.1, 100), st.integers(1, 100).map(float))
    alpha, beta = data.draw(shape, label="alpha"), data.draw(shape, label="beta")
    whole = st.integers(0, 1000).map(float)
    if name == "SBG_SURVIVAL":
        numbers = [alpha, beta, data.draw(whole, label="t")]
    else:
        discount = data.draw(st.one_of(st.just(0.0), st.floats(0, 0.5)), label="discount")
        if discount == 0:
            alpha += 1.0  # no discount needs alpha > 1
        numbers = [100.0, alpha, beta, 0.8, discount, data.draw(whole, label="renewals")]
    got = fn.impl.__wrapped__(backend.FLOATS, *numbers)  # no fallback: it would raise here
    assert _same_cell(fn, got, _cell_of_arrays(fn, numbers)), (got, numbers)


@pytest.mark.parametrize("name", ELEMENTWISE)
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_single_is_the_rules_on_one_cell_ranges(name, data):
    """adapter.single (plain numbers, defaults filled in, the float backend) against the
    general path given the same arguments as one-cell ranges."""
    fn = registry.get(name)
    count = data.draw(st.integers(len(fn.required), len(fn.args)), label="arguments")
    args = [data.draw(st.one_of(numbers, st.sampled_from(FLOAT_EDGES)), label=a.name) for a in fn.args[:count]]
    if data.draw(st.booleans(), label="an empty optional cell") and count > len(fn.required):
        args[-1] = None
    quick = adapter.single(fn, args)
    if quick is None:  # NaN, inf or an int beyond floats: the general rules' to decide
        assert not all(isinstance(a, (int, float)) and math.isfinite(a) for a in args if a is not None)
        return
    cell = adapter.evaluate(fn, [[[a]] for a in args]).cells()[0, 0]
    assert _same(quick, cell if isinstance(cell, str) else float(cell)), (args, quick, cell)


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
