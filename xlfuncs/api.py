"""The Python API: ``xlfuncs.clv(...)``, ``xlfuncs.payback(...)``, ... built from the registry.

Every function applies the same cell rules as Excel does (:func:`xlfuncs.adapter.evaluate`:
text and logicals are ``#VALUE!``, text inside a range is skipped by aggregating
functions, ``NaN``/``None`` is an empty cell, dates become Excel serials) and adds only
Python conveniences on top: ISO date text (``"2024-01-31"``) for date arguments, pandas
objects, numpy's broadcasting and exceptions.

* A call with only scalar arguments returns a ``float`` (or a ``str`` label) and raises
  :class:`~xlfuncs.errors.ExcelErrorValue` when the cell would show an Excel error; the
  exception's ``.error`` is that :class:`~xlfuncs.errors.ExcelError`.
* A call with an array argument returns an ndarray of the broadcast shape (numpy's rules:
  mismatched shapes raise ``ValueError``, as they are a programming error in Python):
  ``float64`` when every element is valid, otherwise ``object`` with the failing elements
  set to their :class:`~xlfuncs.errors.ExcelError` (one bad element never spoils the
  others).
* Aggregating functions (``arpu``, ``cac``, ``net_mrr``, ...) reduce their array arguments
  like ``SUM`` and return one float.
* Table functions (``mrr_movements``, ``mrr_from_subs``, ``cohort_retention``, ...) return
  the table Excel spills as a 2-D ndarray (``object`` where cells are errors, such as the
  ``#N/A`` corners of a cohort table) and raise ``ExcelErrorValue`` when the whole result
  is an error, naming the argument and row at fault.

Dates may be Excel serials, ``datetime.date``/``datetime``, ``numpy.datetime64`` of any
unit, pandas ``Timestamp`` or ISO text.

The docstrings are generated from the registry too: the examples below each function are
the contract's worked examples, run by the test suite as doctests.
"""

from __future__ import annotations

import datetime as _dt
import inspect

import numpy as np

from . import adapter, registry
from .errors import ExcelError, ExcelErrorValue


def _iso(text: str):
    """ISO date text as an Excel serial; any other text unchanged (the rules decide)."""
    try:
        return adapter.to_serial(_dt.datetime.fromisoformat(text.strip()))
    except ValueError:
        return text


def _dates(value):
    """A date argument with its ISO text turned into serials (a Python convenience)."""
    if isinstance(value, str):
        return _iso(value)
    if isinstance(value, np.ndarray) and value.dtype.kind == "U":
        try:
            return value.astype("datetime64[us]")  # "" becomes NaT: an empty cell
        except ValueError:
            value = value.astype(object)
    if isinstance(value, np.ndarray) and value.dtype.kind == "O":
        return np.frompyfunc(lambda cell: _iso(cell) if isinstance(cell, str) else cell, 1, 1)(value)
    if isinstance(value, (list, tuple)):
        return [_dates(cell) for cell in value]
    return value


def _python_value(value, arg: registry.Arg):
    if hasattr(value, "to_numpy") and not isinstance(value, np.ndarray):
        value = value.to_numpy()  # pandas Series, DataFrame, Index
    return _dates(value) if arg.date else value


def _raise(fn: registry.Function, result: adapter.Result):
    error = result.whole_error
    if error is not None:
        raise ExcelErrorValue(error, fn.name, result.reason, result.argument, result.row)


def _elementwise(fn: registry.Function, values: list):
    shapes = [np.shape(v) for v in values]
    if any(len(shape) > 2 for shape in shapes):
        raise ValueError(f"{fn.python_name}() takes scalars, 1-D or 2-D arrays")
    shape = np.broadcast_shapes(*shapes)  # numpy's rules: a mismatch raises ValueError
    single = adapter.single(fn, values) if shape == () else None
    if single is not None:
        if isinstance(single, ExcelError):
            raise ExcelErrorValue(single, fn.name)
        return single
    result = adapter.evaluate(fn, values)
    _raise(fn, result)
    cells = result.cells()
    if shape == ():
        value = cells.reshape(-1)[0]
        if isinstance(value, ExcelError):
            raise ExcelErrorValue(value, fn.name)
        return value if fn.labels is not None else float(value)
    return cells.reshape(shape)


def _aggregating(fn: registry.Function, values: list):
    result = adapter.evaluate(fn, values)
    _raise(fn, result)
    return float(result.values.reshape(-1)[0])


def _table(fn: registry.Function, values: list):
    result = adapter.evaluate(fn, values)
    _raise(fn, result)
    return result.cells()


_DISPATCH = {
    registry.ELEMENTWISE: _elementwise,
    registry.AGGREGATING: _aggregating,
    registry.TABLE: _table,
}


def _literal(expected) -> str:
    """A contract result as the doctest prints it (error texts as ExcelError values)."""
    if isinstance(expected, list):
        return f"[{', '.join(_literal(e) for e in expected)}]"
    if isinstance(expected, str) and ExcelError.parse(expected) is not None:
        return repr(ExcelError.parse(expected))
    return repr(expected)


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
        return f">>> {call}.tolist()\n{_literal(expected)}"
    return f">>> {call}\n{expected!r}"


def _returns(fn: registry.Function) -> list[str]:
    if fn.kind == registry.ELEMENTWISE:
        what = "str or ndarray of str" if fn.labels else "float or ndarray"
        return [what, "    Element-wise over the broadcast arguments; errors as ExcelError elements."]
    if fn.kind == registry.AGGREGATING:
        return ["float", "    One value over all the cells given."]
    columns = f" Columns: {', '.join(fn.columns)}." if fn.columns else ""
    return ["ndarray", f"    The table Excel spills (object where cells are errors).{columns}"]


def _docstring(fn: registry.Function) -> str:
    lines = [fn.description, "", "Parameters", "----------"]
    for arg in fn.args:
        kind = {registry.DATE: "float, date or array_like", registry.ID: "str, float or array_like"}
        kind = kind.get(arg.kind, "str" if arg.kind == registry.KEYWORD else "float or array_like")
        lines.append(f"{arg.name} : {kind}{', optional' if arg.optional else ''}")
        default = f" Default: {arg.default_doc}." if arg.optional else ""
        lines.append(f"    {arg.doc}{default}")
    lines += ["", "Returns", "-------", *_returns(fn)]
    lines += [
        "",
        "Raises",
        "------",
        "ExcelErrorValue",
        "    When a scalar (or whole) result is an Excel error (``.error`` holds it, the",
        "    message names the argument and row where the cell rules can tell).",
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

    def general(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        # None is an omitted argument: its default, or for a required one an empty cell.
        values = [_python_value(value, arg) for value, arg in zip(bound.arguments.values(), fn.args)]
        return impl(fn, values)

    def function(*args, **kwargs):
        # Plain numbers, given by position: the metric on them straight away (the cell
        # rules' own quick path, adapter.single); anything else, the whole of the rules.
        value = None if kwargs else adapter.single(fn, args)
        if value is None:
            return general(*args, **kwargs)
        if isinstance(value, ExcelError):
            raise ExcelErrorValue(value, fn.name)
        return value

    if fn.kind != registry.ELEMENTWISE:
        function = general
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
