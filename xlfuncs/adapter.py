"""The cell rules: spreadsheet values in, one evaluated result out.

:func:`evaluate` is the one place where the contract's rules for cells are applied; every
layer calls it: :func:`call` (the spreadsheet face, used by the xlwings module, the
recalculation engine's add-in and the template generator) and the Python API
(:mod:`xlfuncs.api`), which only adds Python conveniences on top (ISO date text, pandas,
exceptions). The rules:

* a single value or a range (a 2-D list/tuple, or a numpy array);
* numbers (``int``, ``float``, numpy numbers), dates (``datetime``/``date``, pandas
  ``Timestamp``, ``numpy.datetime64`` of any unit, turned into Excel serials), empty cells
  (``None``, ``""``, ``NaN``/``NaT`` - which is what a float conversion makes of an empty
  cell), text, logicals and error values (an :class:`~xlfuncs.errors.ExcelError` or its
  text such as ``"#DIV/0!"``);
* element-wise functions broadcast like Excel's array arithmetic (a single cell pairs with
  every cell, a row against a column gives the table, cells beyond a shorter range are
  ``#N/A``) and an error in one cell of a spill stays in that cell;
* aggregating functions read each range like ``SUM``: blanks, text and logicals inside a
  range are skipped; a text or logical given directly is ``#VALUE!``;
* table functions read their ranges as the registry says (a grid of numbers, the columns
  of a billing export, one cohort per row) and spill a table;
* errors in arguments come out unchanged (the leftmost argument's first error wins).

Nothing here raises for any input: every failure is an Excel error value, with a reason
(argument and row) that the Python API puts into its exception.
"""

from __future__ import annotations

import datetime as _dt
import functools
import itertools
import math
import numbers
import struct
from dataclasses import dataclass

import numpy as np

from . import backend, registry
from .errors import NA, NUM, OK, VALUE, ExcelError, first_error, nonfinite_as_num

__all__ = [
    "call",
    "subscription_table",
    "evaluate",
    "single",
    "Result",
    "Subscriptions",
    "read_subscriptions",
    "MISSING",
    "to_serial",
    "serials",
]


def __getattr__(name: str):
    if name == "log":  # the module's logger, created on first use (logging costs an import)
        import logging  # noqa: PLC0415

        return logging.getLogger(__name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Cell kinds, as classified by _cells().
NUMBER, BLANK, TEXT, LOGICAL, ERROR = range(5)

_EPOCH = _dt.datetime(1899, 12, 30)  # Excel's day 0 in the 1900 date system
_EPOCH64 = np.datetime64("1899-12-30")
_DAY = np.timedelta64(1, "D")
_FAST_TYPES = frozenset({float, int, np.float64, np.float32, np.int64, np.int32})
_INT_FLOAT = frozenset({float, int})


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


def serials(values: np.ndarray) -> np.ndarray:
    """Excel serials of a ``datetime64`` array of any unit (fractions of a day kept, NaT -> NaN).

    Examples
    --------
    >>> serials(np.array(["2024-01-01T12:00"], dtype="datetime64[m]")).tolist()
    [45292.5]
    """
    return (values - _EPOCH64) / _DAY


def _cell(value) -> tuple[float, int, int]:
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
        if value != value:  # pandas' NaT is a datetime that differs from itself
            return np.nan, BLANK, OK
        return to_serial(value), NUMBER, OK
    if isinstance(value, np.datetime64):
        serial = float(serials(value))
        return (np.nan, BLANK, OK) if serial != serial else (serial, NUMBER, OK)
    if isinstance(value, str):
        error = ExcelError.parse(value)
        if error is not None:
            return np.nan, ERROR, error.code
        if value == "":
            return np.nan, BLANK, OK
        return np.nan, TEXT, OK
    if isinstance(value, dict) and value.get("type") == "Error":
        # Office.js hands error cells over as {"type": "Error", "basicValue": "#N/A"}.
        error = ExcelError.parse(value.get("basicValue")) or ExcelError.VALUE
        return np.nan, ERROR, error.code
    if type(value).__name__ == "NAType":  # pandas' missing value, without importing pandas
        return np.nan, BLANK, OK
    return np.nan, TEXT, OK


class _Cells:
    """An argument as three 2-D planes: numbers, cell kinds and error codes."""

    __slots__ = ("values", "kinds", "errors", "is_range", "clean", "raw")

    def __init__(self, values, kinds, errors, is_range, raw=None):
        self.values, self.kinds, self.errors, self.is_range = values, kinds, errors, is_range
        self.clean = False  # every cell is a finite number: no blank, text or error to resolve
        self.raw = raw  # the cells as given (a 2-D object array), kept only where text matters

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


def _from_planes(values: np.ndarray, is_range: bool) -> _Cells:
    """Cells of a float grid: NaN is blank, inf is #NUM!."""
    if np.isfinite(values).all():
        cells = _Cells.numbers(values)
        cells.is_range = is_range
        return cells
    blank = np.isnan(values)
    bad = np.isinf(values)
    kinds = np.where(blank, BLANK, np.where(bad, ERROR, NUMBER)).astype(np.int8)
    errors = np.where(bad, NUM, OK).astype(np.int8)
    return _Cells(np.where(bad, np.nan, values), kinds, errors, is_range)


def _texts(text: np.ndarray) -> _Cells:
    """Cells of a 2-D object array of str: text, "" empty, and the odd error text."""
    kinds = np.where(text == "", BLANK, TEXT).astype(np.int8)
    errors = np.zeros(text.shape, np.int8)
    # Error texts among ids are rare: parse only the cells that start with # (found in C,
    # on the text as a fixed-width array).
    for index in zip(*np.nonzero(np.char.startswith(text.astype(str), "#"))):
        error = ExcelError.parse(text[index])
        if error is not None:
            kinds[index], errors[index] = ERROR, error.code
    return _Cells(np.full(text.shape, np.nan), kinds, errors, True, text)


def _cells(value, keep_raw: bool = False) -> _Cells:
    """An argument's cells; ``keep_raw`` also keeps the values as given (for text ids and
    keywords, whose text matters)."""
    cells = _classify(value)
    if keep_raw and cells.raw is None:
        grid = _grid(value)
        if grid is None:
            single = value[()] if isinstance(value, np.ndarray) else value
            cells.raw = np.empty((1, 1), dtype=object)
            cells.raw[0, 0] = single
        else:
            cells.raw = np.asarray(grid, dtype=object).reshape(cells.shape)
    return cells


def _plain_grid(rows: list, width: int) -> np.ndarray | None:
    """The float grid of rows that hold only Python floats and ints, else None.

    The commonest range (what xlwings hands a UDF) read without a per-cell type scan:
    ``sum(..., 0.0)`` runs in C and raises for text, None, dates and the like; it ends as an
    exact ``float`` only when every cell is a float or an int (or a bool, or a number type
    such as ``Fraction`` whose sum with a float is a float; numpy numbers end as numpy
    floats and take the type scan). Bools, the one kind left that is no number, are 0 or 1
    as numbers: only the rows holding a 0 or a 1 get an exact type check. Wide rows are
    then packed into the array by ``struct`` (the same C conversion as ``float()``, about
    twice as fast as numpy's own reading of nested lists); narrow ones go to numpy, whose
    type discovery leaves anything but Python and numpy numbers as ``object``.
    """
    try:
        # A numpy number among the cells turns the rest of a sum into numpy arithmetic,
        # which warns on overflow (np.True_, then 1e308 + 1e308): only the sum's type matters.
        with np.errstate(all="ignore"):
            if width >= _PACKED_WIDTH:
                for row in rows:
                    if type(sum(row, 0.0)) is not float:
                        return None
                grid = np.empty((len(rows), width))
                memory = memoryview(grid).cast("B")
                pack, step = struct.Struct(f"{width}d").pack_into, 8 * width
                for offset, row in zip(range(0, step * len(rows), step), rows):
                    pack(memory, offset, *row)
            else:
                if type(sum(itertools.chain.from_iterable(rows), 0.0)) is not float:
                    return None
                grid = np.array(rows)
                if grid.ndim != 2 or grid.dtype.kind not in "fi":
                    return None
                grid = grid.astype(float, copy=False)
    except (TypeError, ValueError, OverflowError, struct.error):
        return None
    for r in np.flatnonzero(((grid == 0.0) | (grid == 1.0)).any(axis=1)).tolist():
        if not set(map(type, rows[r])) <= _INT_FLOAT:
            return None
    return grid


_PACKED_WIDTH = 32  # from this many columns on, a row is packed by struct in one call


def _classify(value) -> _Cells:
    grid = _grid(value)
    if grid is None:
        single = value[()] if isinstance(value, np.ndarray) else value
        number, kind, error = _cell(single)
        if kind == NUMBER:
            cells = _Cells.numbers(np.array([[number]]))
            cells.is_range = False
            return cells
        return _Cells(np.array([[number]]), np.array([[kind]], np.int8), np.array([[error]], np.int8), False)
    if isinstance(grid, np.ndarray) and grid.ndim != 2:
        raise _Refuse(VALUE, "a range has at most 2 dimensions")
    if isinstance(grid, np.ndarray) and grid.dtype.kind in "fiu":
        return _from_planes(grid.astype(float, copy=False), True)
    if isinstance(grid, np.ndarray) and grid.dtype.kind == "M":
        return _from_planes(serials(grid), True)
    if isinstance(grid, np.ndarray) and grid.dtype.kind == "U":
        return _texts(grid.astype(object))
    rows = [row if isinstance(row, (list, tuple)) else list(row) for row in grid]
    width = len(rows[0]) if rows else 0
    if width == 0 or any(len(row) != width for row in rows):
        raise _Refuse(VALUE, "a range must be rectangular and not empty")
    shape = (len(rows), width)
    numbers_ = _plain_grid(rows, width)
    if numbers_ is not None:
        return _from_planes(numbers_, True)
    # The usual range is all numbers (or, for customer ids, all text): one type scan, then
    # numpy converts the nested lists in C. (numpy alone would also turn None, True and
    # "12" into numbers.)
    types = set()
    for row in rows:
        types.update(map(type, row))
    if types <= _FAST_TYPES:
        return _from_planes(np.array(rows, dtype=float), True)
    if types == {str}:
        text = np.empty(shape, dtype=object)
        text[...] = rows
        return _texts(text)
    classified = [_cell(cell) for row in rows for cell in row]
    numbers_, kinds, errors = zip(*classified)
    return _Cells(
        np.array(numbers_, dtype=float).reshape(shape),
        np.array(kinds, dtype=np.int8).reshape(shape),
        np.array(errors, dtype=np.int8).reshape(shape),
        True,
    )


class _Refuse(Exception):
    """A whole-call error (a shape that is no range, a bad row), with its reason and, where
    one cell is at fault, its argument and 0-based row."""

    def __init__(self, code: int, reason: str = "", argument: str | None = None, row: int | None = None):
        super().__init__(code, reason)
        self.code, self.reason, self.argument, self.row = code, reason, argument, row


class Result:
    """What one evaluation gave: a 2-D grid of results and its error plane.

    ``values`` holds floats (or label indices for text results), ``errors`` the Excel
    ``ERROR.TYPE`` code of each cell (0 = valid). ``spill`` says whether a spreadsheet
    shows the grid as a spill or as one value; ``reason`` explains a whole-call error
    (which argument, which row) for the Python API's exception.
    """

    __slots__ = ("values", "errors", "spill", "reason", "labels", "argument", "row")

    def __init__(self, values, errors, spill: bool, reason: str = "", labels=None):
        self.values, self.errors, self.spill, self.reason, self.labels = values, errors, spill, reason, labels
        self.argument = self.row = None  # the cell at fault of a whole-call error, where known

    @classmethod
    def error(cls, code: int, reason: str = "", argument: str | None = None, row: int | None = None) -> Result:
        result = cls(np.full((1, 1), np.nan), np.full((1, 1), code, np.int8), False, reason)
        result.argument, result.row = argument, row
        return result

    @property
    def whole_error(self) -> ExcelError | None:
        """The error of a result that is one error value (not a spill), else None."""
        if not self.spill and self.errors.size == 1 and self.errors.reshape(-1)[0]:
            return ExcelError.from_code(int(self.errors.reshape(-1)[0]))
        return None

    def cells(self) -> np.ndarray:
        """The result cells: floats, or an object array with labels and ExcelError values."""
        out = self.values
        if self.labels is not None:
            out = np.array(self.labels, dtype=object)[self.values.astype(np.intp)]
        if self.errors.any():
            out = out.astype(object)
            bad = self.errors != OK
            out[bad] = [ExcelError.from_code(code) for code in self.errors[bad]]
        return out


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


def _elementwise(fn: registry.Function, cells: list[_Cells]) -> Result:
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
    shape = (rows, cols)
    spill = any(c.is_range for c in cells)
    return Result(np.broadcast_to(result, shape), np.broadcast_to(errors, shape), spill, labels=fn.labels)


# ---------------------------------------------------------------- aggregating


def _first_error(cells: _Cells) -> int:
    # Row by row, as Excel's SUM meets the cells of a range.
    codes = cells.errors[cells.kinds == ERROR]
    return int(codes[0]) if codes.size else OK


def _numbers(cells: _Cells, arg: registry.Arg, given: bool) -> np.ndarray:
    """The numbers an aggregating function reads from one argument, like SUM does."""
    blank = cells.shape == (1, 1) and cells.kinds[0, 0] == BLANK
    if arg.optional and (not given or blank):
        return np.array([arg.default])  # omitted, or an empty cell: the default
    if blank:
        # An empty cell adds nothing, as in SUM (a typed-in blank and an empty referenced
        # cell reach xlwings alike, as None, so both read as the empty cell).
        return np.empty(0)
    if not cells.is_range and cells.kinds[0, 0] in (TEXT, LOGICAL):
        raise _Refuse(VALUE, f"{arg.name} is not a number")
    return cells.values[cells.kinds == NUMBER]


def _scalar(value, code) -> Result:
    code = int(nonfinite_as_num(np.asarray(value), np.asarray(code, np.int8)))
    return Result(np.full((1, 1), float(value)), np.full((1, 1), code, np.int8), False)


def _aggregating(fn: registry.Function, cells: list[_Cells], given: list[bool]) -> Result:
    for c, arg in zip(cells, fn.args):
        code = _first_error(c)
        if code:
            return Result.error(code, f"{arg.name} holds an error value")
    if fn.paired:
        scores, weights = cells
        if scores.shape != weights.shape:
            return Result.error(VALUE, "scores and weights differ in shape")
        counted = scores.kinds == NUMBER
        arrays = [scores.values[counted], np.where(weights.kinds == NUMBER, weights.values, 0.0)[counted]]
    else:
        arrays = [_numbers(c, arg, g) for c, arg, g in zip(cells, fn.args, given)]
    return _scalar(*fn.impl(*arrays))


# ---------------------------------------------------------------- tables


def _table_result(table, errors) -> Result:
    """A table function's (table, error) as a Result: a whole-table error or a spill."""
    table = np.asarray(table, dtype=float)
    if np.ndim(errors) == 0:
        if errors:
            return Result.error(int(errors))
        errors = np.zeros(table.shape, np.int8)
    return Result(table, nonfinite_as_num(table, errors), True)


def _number_grid(cells: _Cells, arg: registry.Arg) -> np.ndarray:
    """A customers x periods range: blanks are 0; text or a logical is #VALUE!."""
    code = _first_error(cells)
    if code:
        raise _Refuse(code, f"{arg.name} holds an error value")
    if np.isin(cells.kinds, (TEXT, LOGICAL)).any():
        raise _Refuse(VALUE, f"{arg.name} holds text or a logical")
    return np.where(cells.kinds == BLANK, 0.0, cells.values)


def _keyword(cells: _Cells, arg: registry.Arg) -> str:
    """A text argument such as COHORT_RETENTION's measure (any case; blank: the default)."""
    if cells.is_range and cells.shape != (1, 1):
        raise _Refuse(VALUE, f"{arg.name} is one text")
    kind = cells.kinds[0, 0]
    if kind == ERROR:
        raise _Refuse(int(cells.errors[0, 0]), f"{arg.name} is an error value")
    if kind == BLANK:
        return arg.text_default
    if kind != TEXT:
        raise _Refuse(VALUE, f"{arg.name} must be one of {', '.join(arg.choices)}")
    word = str(cells.raw[0, 0]).strip().casefold()
    if word not in arg.choices:
        raise _Refuse(VALUE, f"{arg.name} must be one of {', '.join(arg.choices)}, not {cells.raw[0, 0]!r}")
    return word


def _grid_table(fn: registry.Function, cells: list[_Cells], given: list[bool]) -> Result:
    grid = _number_grid(cells[0], fn.args[0])
    extra = [_keyword(c, arg) for c, arg in zip(cells[1:], fn.args[1:])]
    return _table_result(*fn.impl(grid, *extra))


def _cohort_rows(fn: registry.Function, cells: list[_Cells], given: list[bool]) -> Result:
    """SBG_FIT's survivors: one cohort per row (a single column is one cohort); trailing
    empty and #N/A cells end a row; an empty or text cell before its last number is
    #VALUE! and an error there comes out."""
    (survivors,) = cells
    kinds, values, errors = survivors.kinds, survivors.values, survivors.errors
    if kinds.shape[1] == 1 and kinds.shape[0] > 1:
        kinds, values, errors = kinds.T, values.T, errors.T
    rows = []
    for r in range(kinds.shape[0]):
        numbers_at = np.flatnonzero(kinds[r] == NUMBER)
        end = int(numbers_at[-1]) + 1 if numbers_at.size else 0
        ignorable = (kinds[r] == BLANK) | ((kinds[r] == ERROR) & (errors[r] == NA))
        bad = np.flatnonzero(np.concatenate([kinds[r, :end] != NUMBER, ~ignorable[end:]]))
        if bad.size:
            position = int(bad[0])
            code = int(errors[r, position]) if kinds[r, position] == ERROR else VALUE
            raise _Refuse(code, f"survivors row {r + 1}, cell {position + 1}: not a number")
        if end:
            rows.append(values[r, :end].astype(float))
    values, code = fn.impl(rows)
    if code:
        return Result.error(int(code), "the sBG model does not fit these survivors")
    return Result(np.asarray(values, dtype=float).reshape(1, -1), np.zeros((1, 2), np.int8), True)


@dataclass(frozen=True)
class Subscriptions:
    """A billing export read by the cell rules: one entry per non-empty row.

    ``codes`` is each subscription's row in the customers x months table and ``labels``
    the customers in that order; dates are Excel serials (``end`` NaN while running);
    ``rows`` are the positions of the non-empty rows in the export.
    """

    codes: np.ndarray
    labels: list
    start: np.ndarray
    end: np.ndarray
    amount: np.ndarray
    interval: np.ndarray
    first_month: float
    months: float
    rows: np.ndarray


def _column(cells: _Cells, arg: registry.Arg) -> _Cells:
    """A range argument of a billing export as one column (a row or a column is fine)."""
    rows, cols = cells.shape
    if rows > 1 and cols > 1:
        raise _Refuse(VALUE, f"{arg.name} must be one column (or one row)")
    flat = _Cells(
        cells.values.reshape(-1, 1),
        cells.kinds.reshape(-1, 1),
        cells.errors.reshape(-1, 1),
        cells.is_range,
        None if cells.raw is None else cells.raw.reshape(-1, 1),
    )
    flat.clean = cells.clean
    return flat


def _single_number(cells: _Cells, arg: registry.Arg, date: bool) -> float:
    if cells.shape != (1, 1):
        raise _Refuse(VALUE, f"{arg.name} is one value")
    kind = cells.kinds[0, 0]
    if kind == ERROR:
        raise _Refuse(int(cells.errors[0, 0]), f"{arg.name} is an error value")
    if kind in (TEXT, LOGICAL):
        raise _Refuse(VALUE, f"{arg.name} is not a {'date' if date else 'number'}")
    return float(cells.values[0, 0])  # NaN for a blank: the default


def read_subscriptions(args: list) -> Subscriptions:
    """The cell rules of ``MRR_FROM_SUBS``'s arguments (raises _Refuse with a reason).

    Columns of one length (``interval`` may be one value); rows whose customer, start, end
    and amount are all empty are skipped; an error value in a cell comes out (the first
    row's, leftmost); then a missing customer or start, or text or a logical where a date
    or number belongs, is #VALUE! naming the argument and row.
    """
    spec = registry.get("MRR_FROM_SUBS").args
    # Only the ids' text matters; any other cell's is looked up when a message quotes it.
    given = [_column(_cells(a, keep_raw=arg.kind == registry.ID), arg) for a, arg in zip(args[:5], spec[:5])]
    n = given[0].shape[0]
    for column, arg in zip(given[1:], spec[1:5]):
        # interval may be one value for all rows; end may be left out: none has ended.
        single = column.shape[0] == 1 and (arg.optional or (not column.is_range and column.kinds[0, 0] == BLANK))
        if column.shape[0] != n and not single:
            raise _Refuse(VALUE, f"{arg.name} has {column.shape[0]} rows where customer has {n}")
    kinds = [np.broadcast_to(c.kinds[:, 0], (n,)) for c in given]
    used = ~np.logical_and.reduce([k == BLANK for k in kinds[:4]])

    def first(masks) -> tuple[int, int] | None:
        """(row, argument) of the first flagged cell of a used row, leftmost argument first."""
        hits = np.flatnonzero(np.stack(masks, axis=1) & used[:, None])
        return divmod(int(hits[0]), len(masks)) if hits.size else None

    def cell(position: int, row: int, plane: str = "raw"):
        column = given[position]
        if plane == "raw" and column.raw is None:
            column = _column(_cells(args[position], keep_raw=True), spec[position])
        cells = getattr(column, plane)
        return cells[row if cells.shape[0] > 1 else 0, 0]

    hit = first([k == ERROR for k in kinds])
    if hit is not None:
        row, position = hit
        name = spec[position].name
        raise _Refuse(int(cell(position, row, "errors")), f"{name}, row {row + 1}: an error value", name, row)
    wrong = [
        (kinds[0] == BLANK) | (kinds[0] == LOGICAL),
        (kinds[1] == BLANK) | (kinds[1] == TEXT) | (kinds[1] == LOGICAL),
    ] + [(k == TEXT) | (k == LOGICAL) for k in kinds[2:]]
    hit = first(wrong)
    if hit is not None:
        row, position = hit
        arg, value = spec[position], cell(position, row)
        belongs = {registry.DATE: "a date", registry.ID: "a customer id"}.get(arg.kind, "a number")
        what = "nothing" if kinds[position][row] == BLANK else repr(value)
        raise _Refuse(VALUE, f"{arg.name}, row {row + 1}: {what} where {belongs} belongs", arg.name, row)
    rows = np.flatnonzero(used)
    ids = given[0]
    if (ids.kinds[rows, 0] == TEXT).all():
        ids = ids.raw[rows, 0].tolist()  # all text (_texts made sure they are str)
    else:
        ids = [float(ids.values[r, 0]) if ids.kinds[r, 0] == NUMBER else str(ids.raw[r, 0]) for r in rows]
    codes, labels = _billing().customer_order(ids)

    def numbers_of(column: _Cells, fill: float) -> np.ndarray:
        values = np.broadcast_to(column.values[:, 0], (n,))[rows]
        return np.where(np.isnan(values), fill, values)

    window = [_cells(a) for a in args[5:7]]
    return Subscriptions(
        codes=codes,
        labels=labels,
        start=numbers_of(given[1], np.nan),
        end=numbers_of(given[2], np.nan),
        amount=numbers_of(given[3], 0.0),
        interval=numbers_of(given[4], 1.0),
        first_month=_single_number(window[0], spec[5], True),
        months=_single_number(window[1], spec[6], False),
        rows=rows,
    )


def _billing():
    from . import billing  # noqa: PLC0415 - the records reader's only numeric helper

    return billing


def subscription_table(args: list) -> tuple[Result, Subscriptions | None]:
    """``MRR_FROM_SUBS`` on spreadsheet values: its result and the export as the cell rules
    read it (None when a cell is at fault), for callers that label the table (xlfuncs.frames)."""
    fn = registry.get("MRR_FROM_SUBS")
    try:
        subs = read_subscriptions(args)
    except _Refuse as refused:
        return Result.error(refused.code, refused.reason, refused.argument, refused.row), None
    table, code = fn.impl(
        subs.codes,
        len(subs.labels),
        subs.start,
        subs.end,
        subs.amount,
        subs.interval,
        subs.first_month,
        subs.months,
    )
    if code:
        return Result.error(int(code), "a subscription or the window is out of range"), subs
    return _table_result(table, 0), subs


_TABLE_READERS = {registry.GRID: _grid_table, registry.COHORT_ROWS: _cohort_rows}


# ---------------------------------------------------------------- entry points


_PLAIN = (float, int, np.float64)


class _Quick:
    """What the quick path needs of one element-wise function, looked up once per function:
    the metric on one cell's floats, and per argument its default (:data:`MISSING` for a
    required one)."""

    __slots__ = ("fn", "metric", "defaults", "rest", "labels")

    def __init__(self, fn: registry.Function):
        self.fn = fn
        # Every element-wise metric of metrics.py and sbg.py has a float backend; one that
        # has not would run its array code on the numbers.
        self.metric = getattr(fn.impl, "on_floats", None) or functools.partial(backend.on_one, fn.impl)
        self.defaults = tuple(float(arg.default) if arg.optional else MISSING for arg in fn.args)
        # rest[k]: the defaults of the arguments after the first k, None if one is required.
        self.rest = [None if MISSING in self.defaults[k:] else list(self.defaults[k:]) for k in range(len(fn.args) + 1)]
        self.labels = fn.labels


_QUICK: dict[int, _Quick] = {}  # by id(fn); each entry keeps its fn alive, so ids stay unique


def _quick(fn: registry.Function) -> _Quick | None:
    """The quick path's data of ``fn`` (None for a function that is not element-wise)."""
    quick = _QUICK.get(id(fn))
    if quick is None or quick.fn is not fn:
        if fn.kind != registry.ELEMENTWISE:
            return None
        quick = _QUICK[id(fn)] = _Quick(fn)
    return quick


def _plain_numbers(quick: _Quick, args) -> list | None:
    """The arguments as floats when each is a finite number or an omitted or empty
    optional one (the default), else None.

    A spreadsheet calls a function once per cell, mostly with single numbers: for those the
    cell rules reduce to "fill in the defaults", and the planes, broadcasting and packaging
    of the general path would cost several times the metric itself.
    """
    numbers = []
    for value, default in zip(args, quick.defaults):
        if type(value) in _PLAIN:
            try:
                number = float(value)
            except OverflowError:  # an int beyond float range: the general path's #VALUE!
                return None
            if not math.isfinite(number):  # NaN (blank) or inf (#NUM!): the general path decides
                return None
            numbers.append(number)
        elif (value is MISSING or value is None) and default is not MISSING:
            numbers.append(default)
        else:
            return None
    rest = quick.rest[len(args)]
    return None if rest is None else numbers + rest


def evaluate(fn: registry.Function, args: tuple | list) -> Result:
    """Apply the cell rules and the metric of ``fn`` to spreadsheet values (never raises).

    ``args`` are in contract order; trailing optional ones may be left out and
    :data:`MISSING` marks an omitted one in the middle; ``None`` is an empty cell.
    """
    if len(args) > len(fn.args):
        return Result.error(VALUE, f"{fn.signature} takes {len(fn.args)} arguments")
    try:
        padded = list(args) + [MISSING] * (len(fn.args) - len(args))
        given = [a is not MISSING for a in padded]
        if fn.kind == registry.TABLE and fn.cells == registry.RECORDS:
            return subscription_table(padded)[0]
        cells = [_cells(a, keep_raw=(arg.kind == registry.KEYWORD)) for a, arg in zip(padded, fn.args)]
        if fn.kind == registry.ELEMENTWISE:
            return _elementwise(fn, cells)
        if fn.kind == registry.AGGREGATING:
            return _aggregating(fn, cells, given)
        return _TABLE_READERS[fn.cells](fn, cells, given)
    except _Refuse as refused:
        return Result.error(refused.code, refused.reason, refused.argument, refused.row)
    except (ValueError, TypeError, OverflowError, MemoryError) as exc:
        # An argument no spreadsheet could hand over (a nested object, a huge integer):
        # Excel's answer to "that is not a value" is #VALUE!, never a crash.
        __getattr__("log").debug("%s: argument rejected", fn.name, exc_info=True)
        return Result.error(VALUE, f"an argument is not a spreadsheet value ({exc})")


def single(fn: registry.Function, args) -> float | str | ExcelError | None:
    """An element-wise function on single plain numbers (omitted optional ones allowed):
    its value or error, or None when the arguments need the general rules.

    A spreadsheet calls a function once per cell, mostly like this: the quick path. The
    metric runs on plain floats (its float backend), for the same bits as on arrays.
    """
    quick = _quick(fn)
    if quick is None or len(args) > len(quick.defaults):
        return None
    numbers = _plain_numbers(quick, args)
    if numbers is None:
        return None
    value, code = quick.metric(*numbers)
    if quick.labels is not None:
        return ExcelError.from_code(code) if code else quick.labels[value]
    if not math.isfinite(value):  # the one kind of value the range's rule below can change
        code = int(nonfinite_as_num(np.float64(value), np.int8(code)))
    return ExcelError.from_code(code) if code else value


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
    if fn.kind == registry.ELEMENTWISE:
        # xlwings hands every argument over as a 2-D range (udfs reads them with ndim=2): a
        # single cell arrives as [[35.0]], which an element-wise function reads just like 35.0.
        args = [
            a[0][0] if type(a) is list and len(a) == 1 and type(a[0]) is list and len(a[0]) == 1 else a for a in args
        ]
    value = single(fn, args)
    if value is not None:
        return value
    result = evaluate(fn, args)
    out = result.cells()
    if not result.spill or out.shape == (1, 1):
        value = out.reshape(-1)[0]
        return float(value) if isinstance(value, (float, np.floating)) else value
    return out.tolist()
