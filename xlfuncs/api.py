"""The Python API: ``xlfuncs.clv(...)``, ``xlfuncs.payback(...)``, ... built from the registry.

Each function takes numbers or array-likes and follows numpy's broadcasting (not Excel's
``#N/A`` padding: in Python, mismatched shapes are a programming error and raise
``ValueError``). ``None`` for an optional argument takes its default.

* A call with only scalar arguments returns a ``float`` (or a ``str`` label) and raises
  :class:`~xlfuncs.errors.ExcelErrorValue` when the cell would show an Excel error; the
  exception's ``.error`` is that :class:`~xlfuncs.errors.ExcelError`.
* A call with an array argument returns an ndarray of the broadcast shape: ``float64``
  when every element is valid, otherwise ``object`` with the failing elements set to their
  :class:`~xlfuncs.errors.ExcelError` (one bad element never spoils the others).
* Aggregating functions (``arpu``, ``cac``, ``net_mrr``, ...) reduce their array arguments
  like ``SUM`` (``NaN`` counts as an empty cell and is skipped) and return one float.
* ``mrr_movements`` returns a ``(periods - 1, 6)`` float ndarray.

The docstrings are generated from the registry too: the examples below each function are
the contract's worked examples, run by the test suite as doctests.
"""

from __future__ import annotations

import inspect

import numpy as np

from . import registry
from .errors import OK, VALUE, ExcelError, ExcelErrorValue, first_error, nonfinite_as_num


def _as_float(value, name: str, fn: registry.Function) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ExcelErrorValue(ExcelError.VALUE, fn.name, f"{name} is not a number") from None
    return array


def _elementwise(fn: registry.Function, values: list):
    arrays = [_as_float(v, a.name, fn) for v, a in zip(values, fn.args)]
    scalar = all(a.ndim == 0 for a in arrays)
    arrays = np.broadcast_arrays(*arrays)
    # NaN is a blank: #N/A for "not reached yet" arguments, otherwise the blank rules.
    blank_errors = []
    filled = []
    for array, arg in zip(arrays, fn.args):
        blank = np.isnan(array)
        if arg.blank == registry.BLANK_NA:
            blank_errors.append(np.where(blank, ExcelError.NA.code, OK).astype(np.int8))
            filled.append(array)
        else:
            fill = arg.default if arg.blank == registry.BLANK_DEFAULT else 0.0
            filled.append(np.where(blank, fill, array))
    result, errors = fn.impl(*filled)
    if fn.labels is None:
        errors = nonfinite_as_num(result, errors)
    errors = first_error(*blank_errors, errors) if blank_errors else errors
    if fn.labels is not None:
        index = result.astype(np.intp)
        result = np.array(fn.labels, dtype=object)[index.reshape(-1)].reshape(index.shape)
    if scalar:
        if errors.reshape(-1)[0]:
            raise ExcelErrorValue(ExcelError.from_code(errors.reshape(-1)[0]), fn.name)
        value = result.reshape(-1)[0]
        return value if fn.labels is not None else float(value)
    if errors.any():
        result = result.astype(object)
        bad = errors != OK
        result[bad] = [ExcelError.from_code(code) for code in errors[bad]]
    return result


def _aggregating(fn: registry.Function, values: list):
    arrays = [_as_float(v, a.name, fn) for v, a in zip(values, fn.args)]
    if fn.paired and arrays[0].shape != arrays[1].shape:
        raise ExcelErrorValue(ExcelError.VALUE, fn.name, "scores and weights differ in shape")
    arrays = [a.reshape(-1) for a in arrays]
    if fn.paired:
        counted = ~np.isnan(arrays[0])
        arrays = [arrays[0][counted], np.nan_to_num(arrays[1])[counted]]
    else:
        arrays = [a[~np.isnan(a)] for a in arrays]
    value, error = fn.impl(*arrays)
    error = nonfinite_as_num(value, error)
    if error:
        raise ExcelErrorValue(ExcelError.from_code(int(error)), fn.name)
    return float(value)


def _table(fn: registry.Function, values: list):
    grid = _as_float(values[0], fn.args[0].name, fn)
    if grid.ndim != 2:
        raise ExcelErrorValue(ExcelError.VALUE, fn.name, "mrr must be a 2-D customers x periods array")
    table, error = fn.impl(np.nan_to_num(grid))
    error = error or nonfinite_as_num(table, np.zeros(table.shape, np.int8)).max()
    if error:
        reason = "needs at least 2 periods" if error == VALUE else "MRR must be >= 0"
        raise ExcelErrorValue(ExcelError.from_code(int(error)), fn.name, reason)
    return table


_DISPATCH = {
    registry.ELEMENTWISE: _elementwise,
    registry.AGGREGATING: _aggregating,
    registry.TABLE: _table,
}


def _doc_example(fn: registry.Function, formula: str, expected) -> str:
    """Turn a contract example (``=CLV(35, 0.05)`` -> 700) into a doctest."""
    _, tokens = registry.split_example(formula)
    call = f"{fn.python_name}({', '.join(registry.python_literal(t) for t in tokens)})"
    if isinstance(expected, str) and expected.startswith("#"):
        return (
            f">>> {call}\nTraceback (most recent call last):\n    ...\n"
            f"xlfuncs.errors.ExcelErrorValue: {fn.name}() -> {expected}..."
        )
    if isinstance(expected, list):
        return f">>> {call}.tolist()\n{expected!r}"
    return f">>> {call}\n{expected!r}"


def _docstring(fn: registry.Function) -> str:
    lines = [fn.description, "", "Parameters", "----------"]
    for arg in fn.args:
        kind = "float or array_like"
        if arg.date:
            kind = "float, date or array_like"
        lines.append(f"{arg.name} : {kind}{', optional' if arg.optional else ''}")
        default = f" Default: {arg.default_doc}." if arg.optional else ""
        lines.append(f"    {arg.doc}{default}")
    lines += ["", "Returns", "-------"]
    if fn.kind == registry.ELEMENTWISE:
        what = "str or ndarray of str" if fn.labels else "float or ndarray"
        lines += [f"{what}", "    Element-wise over the broadcast arguments; errors as ExcelError elements."]
    elif fn.kind == registry.AGGREGATING:
        lines += ["float", "    One value over all the cells given."]
    else:
        lines += ["ndarray, shape (periods - 1, 6)", f"    Columns: {', '.join(fn.columns)}."]
    lines += [
        "",
        "Raises",
        "------",
        "ExcelErrorValue",
        "    When a scalar result is an Excel error (``.error`` holds it).",
        "",
        "Notes",
        "-----",
        f"Excel: ``{fn.signature}``, {fn.kind.replace('elementwise', 'element-wise')}.",
        fn.notes,
        "",
        "Examples",
        "--------",
        f">>> from xlfuncs import {fn.python_name}",
    ]
    lines += [_doc_example(fn, formula, expected) for formula, expected in fn.examples]
    return "\n".join(lines)


def _make(fn: registry.Function):
    impl = _DISPATCH[fn.kind]
    defaults = {a.name: a.default for a in fn.args if a.optional}
    signature = inspect.Signature(
        [
            inspect.Parameter(
                a.name,
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                default=None if a.optional else inspect.Parameter.empty,
            )
            for a in fn.args
        ]
    )

    def function(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        values = []
        for name, value in bound.arguments.items():
            if value is None:
                # None is an omitted argument: the default, or for a required one an
                # empty cell (NaN), to which the blank rules apply.
                value = defaults.get(name, np.nan)
            values.append(value)
        return impl(fn, values)

    function.__signature__ = signature
    function.__name__ = function.__qualname__ = fn.python_name
    function.__doc__ = _docstring(fn)
    function.__module__ = __name__
    return function


__all__ = []
for _fn in registry.FUNCTIONS.values():
    globals()[_fn.python_name] = _make(_fn)
    __all__.append(_fn.python_name)
del _fn
