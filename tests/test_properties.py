"""Property tests: whatever a spreadsheet hands over, the adapter answers with a value.

For every registry function: random numbers, blanks, text, logicals, error values, dates
and range shapes go in; out comes a finite number, a label or an Excel error (or a 2-D
spill of those), never a Python exception.
"""

from __future__ import annotations

import datetime as dt
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xlfuncs import adapter, registry
from xlfuncs.errors import ExcelError

cells = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.floats(min_value=0, max_value=1),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.none(),
    st.just(""),
    st.text(max_size=5),
    st.booleans(),
    st.sampled_from(list(ExcelError)),
    st.sampled_from([e.value for e in ExcelError]),
    st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(2100, 1, 1)),
)


@st.composite
def ranges(draw):
    rows = draw(st.integers(1, 4))
    cols = draw(st.integers(1, 4))
    return [[draw(cells) for _ in range(cols)] for _ in range(rows)]


arguments = st.one_of(cells, ranges(), st.just(adapter.MISSING))


def _valid(value, labels) -> bool:
    if isinstance(value, ExcelError):
        return True
    if isinstance(value, str):
        return labels is not None and value in labels
    return isinstance(value, float) and math.isfinite(value)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_function_answers_every_input_with_a_value_or_an_excel_error(data):
    for fn in registry.FUNCTIONS.values():
        count = data.draw(st.integers(0, len(fn.args)), label=f"{fn.name} argument count")
        args = [data.draw(arguments, label=f"{fn.name}.{a.name}") for a in fn.args[:count]]
        result = adapter.call(fn.name, *args)
        if isinstance(result, list):
            assert result and all(isinstance(row, list) and len(row) == len(result[0]) for row in result)
            assert all(_valid(cell, fn.labels) for row in result for cell in row), (fn.name, args, result)
        else:
            assert _valid(result, fn.labels), (fn.name, args, result)


@st.composite
def columns(draw):
    """Ranges of one length, as a billing export's columns are (or a single cell)."""
    rows = draw(st.integers(1, 6))
    column = st.lists(cells, min_size=rows, max_size=rows).map(lambda c: [[v] for v in c])
    return draw(st.one_of(column, cells))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_table_functions_answer_column_and_cohort_inputs_with_a_value_or_an_error(data):
    # The general test above mostly draws ranges of different shapes, which the billing
    # and cohort readers refuse early; these reach their cell-by-cell rules.
    args = [data.draw(columns(), label=a.name) for a in registry.get("MRR_FROM_SUBS").args]
    outcomes = [adapter.call("MRR_FROM_SUBS", *args)]
    survivors = data.draw(ranges(), label="survivors")
    outcomes.append(adapter.call("SBG_FIT", survivors))
    outcomes.append(adapter.call("COHORT_RETENTION", survivors, data.draw(cells, label="measure")))
    for result in outcomes:
        if isinstance(result, list):
            assert all(_valid(cell, None) for row in result for cell in row), result
        else:
            assert _valid(result, None), result
