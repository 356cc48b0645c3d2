"""The Excel adapter: spreadsheet cells in, spreadsheet cells out.

:func:`call` is the one entry point every spreadsheet-facing layer uses (the xlwings
module, the recalculation engine's add-in, the template generator). It takes arguments the
way a spreadsheet hands them over and applies the contract's rules for cells:

* a single value or a range (a 2-D list/tuple, or a numpy array);
* numbers (``int``, ``float``, numpy numbers), dates (``datetime``/``date``, turned into
  Excel serials), empty cells (``None``, ``""``, and ``NaN`` - which is what a float
  conversion makes of an empty cell), text, logicals and error values (an
  :class:`~xlfuncs.errors.ExcelError` or its text such as ``"#DIV/0!"``);
* element-wise functions broadcast like Excel's array arithmetic (a single cell pairs with
  every cell, a row against a column gives the table, cells beyond a shorter range are
  ``#N/A``) and an error in one cell of a spill stays in that cell;
* aggregating functions read each range like ``SUM``: blanks, text and logicals inside a
  range are skipped; a text or logical given directly is ``#VALUE!``;
* errors in arguments come out unchanged (the leftmost argument's first error wins).

It never raises for any input: every failure is an Excel error value.
"""

from __future__ import annotations

import datetime as _dt
import logging
import math
import numbers

import numpy as np

from . import registry
from .errors import NA, NUM, OK, VALUE, ExcelError, first_error, nonfinite_as_num

__all__ = ["call", "MISSING", "to_serial"]

log = logging.getLogger(__name__)

# Cell kinds, as classified by _cells().
NUMBER, BLANK, TEXT, LOGICAL, ERROR = range(5)

_EPOCH = _dt.datetime(1899, 12, 30)  # Excel's day 0 in the 1900 date system
_FAST_TYPES = frozenset({float, int, np.float64, np.float32, np.int64, np.int32})


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


#: An argument that was not given at all (as opposed to an empty cell).
MISSING = _Missing()


def to_serial(value: _dt.date | _dt.datetime) -> float:
    """Excel serial number of a date or datetime (1900 date system, fractions kept).

    Examples
    --------
    >>> to_serial(_dt.date(2026, 1, 1))
    46023.0
    """
    if not isinstance(value, _dt.datetime):
        value = _dt.datetime(value.year, value.month, value.day)
    if value.tzinfo is not None:
        value = value.replace(tzinfo=None)
    return (value - _EPOCH).total_seconds() / 86400.0


def _parse_date_text(text: str) -> float | None:
    try:
        return to_serial(_dt.datetime.fromisoformat(text.strip()))
    except ValueError:
        return None


def _cell(value, date_text: bool) -> tuple[float, int, int]:
    """Classify one cell: (number, kind, error code)."""
    if value is None or value is MISSING:
        return np.nan, BLANK, OK
    if isinstance(value, (bool, np.bool_)):
        return np.nan, LOGICAL, OK
    if isinstance(value, numbers.Real):
        number = float(value)
        if number != number:  # NaN: how a float conversion spells an empty cell
            return np.nan, BLANK, OK
        if number in (np.inf, -np.inf):
            return np.nan, ERROR, NUM
        return number, NUMBER, OK
    if isinstance(value, (_dt.date, _dt.datetime)):
        return to_serial(value), NUMBER, OK
    if isinstance(value, np.datetime64):
        return to_serial(value.astype("datetime64[us]").item()), NUMBER, OK
    if isinstance(value, str):
        error = ExcelError.parse(value)
        if error is not None:
            return np.nan, ERROR, error.code
        if value == "":
            return np.nan, BLANK, OK
        if date_text:
            serial = _parse_date_text(value)
            if serial is not None:
                return serial, NUMBER, OK
        return np.nan, TEXT, OK
    if isinstance(value, dict) and value.get("type") == "Error":
        # Office.js hands error cells over as {"type": "Error", "basicValue": "#N/A"}.
        error = ExcelError.parse(value.get("basicValue")) or ExcelError.VALUE
        return np.nan, ERROR, error.code
    return np.nan, TEXT, OK


class _Cells:
    """An argument as three 2-D planes: numbers, cell kinds and error codes."""

    __slots__ = ("values", "kinds", "errors", "is_range", "clean")

    def __init__(self, values, kinds, errors, is_range):
        self.values, self.kinds, self.errors, self.is_range = values, kinds, errors, is_range
        self.clean = False  # every cell is a finite number: no blank, text or error to resolve

    @classmethod
    def numbers(cls, values: np.ndarray) -> _Cells:
        cells = cls(values, np.zeros(values.shape, np.int8), np.zeros(values.shape, np.int8), True)
        cells.clean = True
        return cells

    @property
    def shape(self):
        return self.values.shape


def _grid(value) -> list | np.ndarray | None:
    """The 2-D grid of a range argument, or None for a single value."""
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return None
        return value.reshape(1, -1) if value.ndim == 1 else value
    if isinstance(value, (list, tuple)):
        if not value or not isinstance(value[0], (list, tuple, np.ndarray)):
            return [list(value)]  # a flat sequence is one row, like {1, 2, 3}
        return value
    return None


def _cells(value, date_text: bool = False) -> _Cells:
    grid = _grid(value)
    if grid is None:
        number, kind, error = _cell(value.item() if isinstance(value, np.ndarray) else value, date_text)
        if kind == NUMBER:
            cells = _Cells.numbers(np.array([[number]]))
            cells.is_range = False
            return cells
        return _Cells(np.array([[number]]), np.array([[kind]], np.int8), np.array([[error]], np.int8), False)
    if isinstance(grid, np.ndarray) and grid.ndim == 2 and grid.dtype.kind in "fiu":
        values = grid.astype(float, copy=False)
        if np.isfinite(values).all():
            return _Cells.numbers(values)
        blank = np.isnan(values)
        bad = np.isinf(values)
        kinds = np.where(blank, BLANK, np.where(bad, ERROR, NUMBER)).astype(np.int8)
        errors = np.where(bad, NUM, OK).astype(np.int8)
        return _Cells(np.where(bad, np.nan, values), kinds, errors, True)
    if isinstance(grid, np.ndarray) and grid.ndim != 2:
        raise _Refuse(VALUE)
    rows = [row if isinstance(row, (list, tuple)) else list(row) for row in grid]
    width = len(rows[0]) if rows else 0
    if width == 0 or any(len(row) != width for row in rows):
        raise _Refuse(VALUE)  # ragged or empty: not a range
    shape = (len(rows), width)
    # The usual range is all numbers: one type scan, then numpy converts the nested
    # lists in C. (numpy alone would also turn None, True and "12" into numbers.)
    types = set()
    for row in rows:
        types.update(map(type, row))
    if types <= _FAST_TYPES:
        values = np.array(rows, dtype=float)
        if np.isfinite(values).all():
            return _Cells.numbers(values)
    flat = [cell for row in rows for cell in row]
    classified = [_cell(cell, date_text) for cell in flat]
    numbers_, kinds, errors = zip(*classified)
    return _Cells(
        np.array(numbers_, dtype=float).reshape(shape),
        np.array(kinds, dtype=np.int8).reshape(shape),
        np.array(errors, dtype=np.int8).reshape(shape),
        True,
    )


class _Refuse(Exception):
    """A whole-call error (a shape that is no range, a wrong argument count)."""

    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


# ---------------------------------------------------------------- element-wise


def _operand(cells: _Cells, arg: registry.Arg) -> tuple[np.ndarray, np.ndarray | None]:
    """Numbers and error plane (None: no error anywhere) of one element-wise operand,
    blanks resolved."""
    if cells.clean:
        return cells.values, None
    if not cells.is_range and cells.kinds[0, 0] == BLANK and arg.blank != registry.BLANK_NA:
        # An omitted optional argument: the commonest non-number, worth no array work.
        return np.array([[arg.default if arg.blank == registry.BLANK_DEFAULT else 0.0]]), None
    kinds = cells.kinds
    values = cells.values
    errors = np.where(kinds == ERROR, cells.errors, OK)
    errors = np.where((kinds == TEXT) | (kinds == LOGICAL), VALUE, errors).astype(np.int8)
    blank = kinds == BLANK
    if blank.any():
        if arg.blank == registry.BLANK_NA:
            errors = np.where(blank, NA, errors).astype(np.int8)
        else:
            fill = arg.default if arg.blank == registry.BLANK_DEFAULT else 0.0
            values = np.where(blank, fill, values)
    return values, errors


def _stretch(plane: np.ndarray, rows: int, cols: int, pad) -> np.ndarray:
    """Excel's array broadcasting: a 1-wide side repeats, a shorter side pads with ``pad``.

    A side that is 1 wide or full length is left to numpy's broadcasting (no copy), so a
    single cell against a million-cell range costs nothing; only a range that is shorter
    than the longest one is copied into a padded array.
    """
    r, c = plane.shape
    if r in (1, rows) and c in (1, cols):
        return plane
    out = np.full((rows, cols), pad, dtype=plane.dtype)
    filled_rows, filled_cols = (rows if r == 1 else r), (cols if c == 1 else c)
    out[:filled_rows, :filled_cols] = np.broadcast_to(plane, (filled_rows, filled_cols))
    return out


def _elementwise(fn: registry.Function, cells: list[_Cells]):
    operands = [_operand(c, arg) for c, arg in zip(cells, fn.args)]
    rows = max(c.shape[0] for c in cells)
    cols = max(c.shape[1] for c in cells)
    values, errors = [], []
    for v, e in operands:
        stretched = _stretch(v, rows, cols, np.nan)
        if stretched is not v:
            # Padded: the error plane needs the operand's own shape to be padded with #N/A.
            e = np.zeros(v.shape, np.int8) if e is None else e
        values.append(stretched)
        if e is not None:
            errors.append(_stretch(e, rows, cols, NA))
    result, metric_errors = fn.impl(*values)
    if fn.labels is None:
        metric_errors = nonfinite_as_num(result, metric_errors)
    errors = first_error(*errors, metric_errors) if errors else metric_errors
    spill = any(c.is_range for c in cells)
    return _package(fn, result, errors, spill)


def _package(fn: registry.Function, result: np.ndarray, errors: np.ndarray, spill: bool):
    if fn.labels is not None:
        out = np.array(fn.labels, dtype=object)[result.astype(np.intp)]
    else:
        out = result.astype(object) if errors.any() else result
    if errors.any():
        out = out.astype(object)
        bad = errors != OK
        out[bad] = [ExcelError.from_code(code) for code in errors[bad]]
    if not spill or out.shape == (1, 1):
        value = out.reshape(-1)[0]
        return float(value) if isinstance(value, (float, np.floating)) else value
    return out.tolist()


# ---------------------------------------------------------------- aggregating


def _first_error(cells: _Cells) -> int:
    # Row by row, as Excel's SUM meets the cells of a range.
    codes = cells.errors[cells.kinds == ERROR]
    return int(codes[0]) if codes.size else OK


def _numbers(cells: _Cells, arg: registry.Arg, given: bool) -> np.ndarray:
    """The numbers an aggregating function reads from one argument, like SUM does."""
    if not given or (not cells.is_range and cells.kinds[0, 0] == BLANK):
        fill = arg.default if arg.optional else 0.0
        return np.array([fill])
    if not cells.is_range and cells.kinds[0, 0] in (TEXT, LOGICAL):
        raise _Refuse(VALUE)
    return cells.values[cells.kinds == NUMBER]


def _aggregating(fn: registry.Function, cells: list[_Cells], given: list[bool]):
    for c in cells:
        code = _first_error(c)
        if code:
            return ExcelError.from_code(code)
    if fn.paired:
        scores, weights = cells
        if scores.shape != weights.shape:
            return ExcelError.VALUE
        counted = scores.kinds == NUMBER
        arrays = [scores.values[counted], np.where(weights.kinds == NUMBER, weights.values, 0.0)[counted]]
    else:
        arrays = [_numbers(c, arg, g) for c, arg, g in zip(cells, fn.args, given)]
    value, error = fn.impl(*arrays)
    error = nonfinite_as_num(value, error)
    return ExcelError.from_code(int(error)) if error else float(value)


# ---------------------------------------------------------------- table


def _table(fn: registry.Function, cells: list[_Cells]):
    (grid,) = cells
    code = _first_error(grid)
    if code:
        return ExcelError.from_code(code)
    if np.isin(grid.kinds, (TEXT, LOGICAL)).any():
        return ExcelError.VALUE
    table, error = fn.impl(np.where(grid.kinds == BLANK, 0.0, grid.values))
    error = error or nonfinite_as_num(table, np.zeros(table.shape, np.int8)).max()
    return ExcelError.from_code(int(error)) if error else table.tolist()


# ---------------------------------------------------------------- entry point


_PLAIN = (float, int, np.float64)


def _plain_numbers(fn: registry.Function, args: tuple) -> list | None:
    """The arguments as numpy scalars when each is a finite number or an omitted or empty
    optional one (the default), else None.

    A spreadsheet calls a function once per cell, mostly with single numbers: for those the
    cell rules reduce to "fill in the defaults", and the planes, broadcasting and packaging
    of the general path would cost several times the metric itself.
    """
    numbers = []
    for position, arg in enumerate(fn.args):
        value = args[position] if position < len(args) else MISSING
        if type(value) in _PLAIN:
            try:
                number = np.float64(value)
            except OverflowError:  # an int beyond float range: the general path's #VALUE!
                return None
            if not math.isfinite(number):  # NaN (blank) or inf (#NUM!): the general path decides
                return None
            numbers.append(number)
        elif (value is MISSING or value is None) and arg.optional:
            numbers.append(np.float64(arg.default))
        else:
            return None
    return numbers


def _single(fn: registry.Function, numbers: list):
    """An element-wise function on single numbers: one value or one error."""
    result, errors = fn.impl(*numbers)
    result, code = np.reshape(result, -1)[0], int(np.reshape(errors, -1)[0])
    if code:
        return ExcelError.from_code(code)
    if fn.labels is not None:
        return fn.labels[int(result)]
    return float(result) if np.isfinite(result) else ExcelError.NUM


def call(name: str, *args):
    """Evaluate the xlfuncs function ``name`` on spreadsheet values.

    Parameters
    ----------
    name : str
        The contract's name, any case (``"CLV"``, ``"ltv_cac"``).
    *args
        The arguments in contract order: single values or ranges (2-D lists/tuples or
        numpy arrays). Trailing optional arguments may be left out; :data:`MISSING`
        marks an omitted one in the middle. ``None`` is an empty cell.

    Returns
    -------
    float, str, ExcelError or list of lists
        A single value when no argument is a range (and for aggregating functions); a 2-D
        list (the spill) otherwise, each cell a float, a label or an ExcelError.

    Examples
    --------
    >>> call("CLV", 35, 0.05)
    700.0
    >>> call("CLV", [[35, 70]], [[0.05], [0]])
    [[700.0, 1400.0], [<ExcelError.DIV0: '#DIV/0!'>, <ExcelError.DIV0: '#DIV/0!'>]]
    >>> call("ARPU", 10500, [[280, 320]])
    35.0
    """
    try:
        fn = registry.get(name)
    except (KeyError, AttributeError):
        return ExcelError.NAME
    if len(args) > len(fn.args):
        return ExcelError.VALUE
    if fn.kind == registry.ELEMENTWISE:
        scalars = _plain_numbers(fn, args)
        if scalars is not None:
            return _single(fn, scalars)
    try:
        padded = list(args) + [MISSING] * (len(fn.args) - len(args))
        given = [a is not MISSING for a in padded]
        cells = [_cells(a, arg.date) for a, arg in zip(padded, fn.args)]
        if fn.kind == registry.ELEMENTWISE:
            return _elementwise(fn, cells)
        if fn.kind == registry.AGGREGATING:
            return _aggregating(fn, cells, given)
        return _table(fn, cells)
    except _Refuse as refused:
        return ExcelError.from_code(refused.code)
    except (ValueError, TypeError, OverflowError, MemoryError):
        # An argument no spreadsheet could hand over (a nested object, a huge integer):
        # Excel's answer to "that is not a value" is #VALUE!, never a crash.
        log.debug("%s: argument rejected", name, exc_info=True)
        return ExcelError.VALUE
