"""The Calc add-in: xlfuncs' functions as LibreOffice spreadsheet functions.

This module runs **inside** the ``soffice`` process started by :mod:`xlfuncs.recalc.office`,
loaded by LibreOffice's Python component loader through the ``.components`` file that
:mod:`xlfuncs.recalc.extension` writes (``vnd.openoffice.pymodule:xlfuncs.recalc.addin``).
Calc finds it as a ``com.sun.star.sheet.AddIn`` service, introspects the UNO interface
``org.xlfuncs.XFunctions`` (one method per registry function, generated IDL) and calls
those methods while it recalculates, so our functions live in Calc's own dependency graph
next to the built-ins.

How values cross the bridge (measured on LibreOffice 7.4):

* every argument is declared ``any``, which Calc treats as optional: an omitted argument
  arrives as ``None``; a number as ``float``; a text as ``str``; a range as a tuple of row
  tuples, with ``""`` for its empty cells. An error in a single-cell argument never
  reaches us (Calc propagates it itself, as Excel does).
* every method returns ``sequence<sequence<any>>``: a declared ``any`` return cannot carry
  a matrix out of Python, and a 1x1 matrix is what Calc shows in an ordinary cell.
* an Excel error is returned as a quiet NaN whose low payload bits hold LibreOffice's
  ``FormulaError`` code (``CreateDoubleError`` in formula/errorcodes.hxx); Calc turns it
  into the error value, which ``IFERROR``, ``ISERROR`` and ``ERROR.TYPE`` then see.

Nothing here runs in the user's interpreter: the UNO component is only built when
``XLFUNCS_RECALC_ADDIN`` is set, which :mod:`xlfuncs.recalc.office` does for soffice alone.
"""

from __future__ import annotations

import marshal
import math
import os
import struct
import sys
import time
from array import array

from .. import adapter, registry
from ..errors import ExcelError
from .lonames import (
    CALC_PREFIX,  # noqa: F401 - re-exported
    IMPLEMENTATION_NAME,
    JOB_IMPLEMENTATION_NAME,
    JOB_SERVICE_NAME,
    LO_ERROR_CODES,
    SERVICE_NAME,
    SPILL_SUFFIX,
)

_ERROR_NAN = {
    error: struct.unpack("<d", struct.pack("<Q", 0x7FF8000000000000 | code))[0]
    for error, code in LO_ERROR_CODES.items()
}
_ERROR_NAN[ExcelError.GETTING_DATA] = _ERROR_NAN[ExcelError.NA]


def to_calc(value) -> object:
    """One result cell as Calc takes it: float, str or an error NaN."""
    if isinstance(value, ExcelError):
        return _ERROR_NAN[value]
    if isinstance(value, str):
        error = ExcelError.parse(value)
        return _ERROR_NAN[error] if error is not None else value
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if value is None:
        return ""
    number = float(value)
    if math.isnan(number) or math.isinf(number):
        return _ERROR_NAN[ExcelError.NUM]
    return number


def to_matrix(result) -> tuple:
    """An adapter result as a ``sequence<sequence<any>>`` (a 1x1 matrix for one value)."""
    if isinstance(result, list):
        return tuple(tuple(to_calc(cell) for cell in row) for row in result)
    return ((to_calc(result),),)


def _cell(value):
    """A range cell as the adapter takes it (Calc hands empty cells over as "")."""
    return None if value == "" else value


def from_calc(value, keep_range: bool):
    """One argument as the adapter takes it.

    Parameters
    ----------
    value : object
        What Calc passed: None (omitted), float, str, or a tuple of row tuples.
    keep_range : bool
        Keep a 1x1 range as a range. Aggregating functions read a reference like ``SUM``
        does (text in it is skipped), so ``B2:B2`` stays a range for them; element-wise
        functions see its single value, with an empty cell as None, which is why the
        normalised formulas pass single-cell references as ``B2:B2``.
    """
    if isinstance(value, tuple):
        if not keep_range and len(value) == 1 and len(value[0]) == 1:
            return _cell(value[0][0])
        return [[_cell(cell) for cell in row] for row in value]
    return value


_MEMO: dict[tuple, object] = {}
_MEMO_LIMIT = 200_000


def evaluate(name: str, keep_ranges: bool, args: tuple):
    """One registry function on Calc's arguments: the adapter's result (never raises)."""
    try:
        key = (name, args)
        try:
            hit = _MEMO.get(key)
        except TypeError:  # ranges are tuples of tuples, hashable; anything else is not
            hit, key = None, None
        if hit is not None:
            return hit
        # Calc passes None only for an omitted argument (empty cells come inside ranges
        # as ""), so None means "not given": the default, not an empty cell. Plain numbers
        # take the adapter's single-number path, which is what makes per-cell calls cheap.
        values = [adapter.MISSING if a is None else from_calc(a, keep_ranges) for a in args]
        while values and values[-1] is adapter.MISSING:
            values.pop()
        value = adapter.call(name, *values)
        if key is not None and len(_MEMO) < _MEMO_LIMIT and not isinstance(value, list):
            _MEMO[key] = value  # pure functions: equal arguments, equal result
        return value
    except Exception:  # noqa: BLE001 - a crash here would take soffice's calculation down
        return ExcelError.VALUE


def call(name: str, keep_ranges: bool, args: tuple) -> object:
    """The scalar variant (a normal cell): one value; a spill shows its first cell."""
    value = evaluate(name, keep_ranges, args)
    if isinstance(value, list):
        value = value[0][0] if value and value[0] else ExcelError.VALUE
    return to_calc(value)


def call_spill(name: str, keep_ranges: bool, args: tuple) -> tuple:
    """The array variant (an array formula's range): the whole spill as a matrix."""
    return to_matrix(evaluate(name, keep_ranges, args))


def _methods(fn: registry.Function):
    name = fn.name
    keep = fn.kind == registry.AGGREGATING

    def scalar(self, *args):
        return call(name, keep, args)

    def spill(self, *args):
        return call_spill(name, keep, args)

    scalar.__name__, scalar.__doc__ = name, fn.description
    spill.__name__, spill.__doc__ = name + SPILL_SUFFIX, fn.description
    return scalar, spill


# com.sun.star.sheet.FormulaResult
_RESULT_STRING = 2
_RESULT_ERROR = 4


def _cells_of(ranges) -> set[tuple[int, int]]:
    cells = set()
    for address in ranges.getRangeAddresses():
        for row in range(address.StartRow, address.EndRow + 1):
            for col in range(address.StartColumn, address.EndColumn + 1):
                cells.add((row, col))
    return cells


#: Empty cells a block may span between two wanted ones (their values are fetched too).
MAX_GAP = 16
#: Wanted cells fetched and sorted out at a time (see :func:`read_values`).
_BAND = 1 << 16


def value_blocks(cells) -> list[tuple[int, int, int, int]]:
    """Ranges (first row, first col, last row, last col) covering the wanted cells.

    Runs down each column (or along each row, whichever gives fewer ranges) that skip at
    most :data:`MAX_GAP` cells between two wanted ones: one UNO call per range, and never
    more than ``MAX_GAP + 1`` cells fetched per wanted cell. A bounding box would cost
    memory for every cell between the corners (two formulas at A1 and ALL50000: 2.5 GB).

    Examples
    --------
    >>> value_blocks([(0, 0), (1, 0), (2, 0), (49999, 999)])
    [(0, 0, 2, 0), (49999, 999, 49999, 999)]
    """
    unique = sorted(set(map(tuple, cells)))

    def runs(key):
        out = []
        for cell in sorted(unique, key=key):
            line, pos = key(cell)
            if out and out[-1][0] == line and pos - out[-1][2] <= MAX_GAP + 1:
                out[-1][2] = pos
            else:
                out.append([line, pos, pos])
        return out

    by_col = runs(lambda c: (c[1], c[0]))
    by_row = runs(lambda c: (c[0], c[1]))
    if len(by_row) < len(by_col):
        return [(line, first, line, last) for line, first, last in by_row]
    return sorted((first, line, last, line) for line, first, last in by_col)


class _Box:
    """(row, col) -> value over one getDataArray of a bounding box."""

    __slots__ = ("data", "r0", "c0")

    def __init__(self, data, r0: int, c0: int):
        self.data, self.r0, self.c0 = data, r0, c0

    def __getitem__(self, cell):
        return self.data[cell[0] - self.r0][cell[1] - self.c0]

    def pick(self, cells) -> list:
        """The value of each of ``cells``, in order (one comprehension, no call per cell)."""
        data, r0, c0 = self.data, self.r0, self.c0
        return [data[row - r0][col - c0] for row, col in cells]


def fetch_values(sheet, cells):
    """(row, col) -> the value getDataArray gives, for every wanted cell.

    A dense sheet (its bounding box at most ``MAX_GAP + 1`` cells per wanted cell) in one
    call; any other in :func:`value_blocks`.
    """
    if not cells:
        return {}
    rows = [c[0] for c in cells]
    cols = [c[1] for c in cells]
    r0, r1, c0, c1 = min(rows), max(rows), min(cols), max(cols)
    if (r1 - r0 + 1) * (c1 - c0 + 1) <= (MAX_GAP + 1) * len(cells):
        return _Box(sheet.getCellRangeByPosition(c0, r0, c1, r1).getDataArray(), r0, c0)
    out = {}
    for r0, c0, r1, c1 in value_blocks(cells):
        data = sheet.getCellRangeByPosition(c0, r0, c1, r1).getDataArray()
        for i, row in enumerate(data):
            for j, value in enumerate(row):
                out[r0 + i, c0 + j] = value
    return out


_LOGICAL = 1024  # com.sun.star.util.NumberFormat.LOGICAL
_LARGEST = sys.float_info.max


def _is_logical(formats, cell, types: dict) -> bool:
    """Whether a formula cell's 0 or 1 is a logical: by its result type, not its display.

    Calc keeps a logical result as the number 1 or 0 and gives a cell with the General
    format the format of its result's type. The copy LibreOffice loads has every cell
    format set to General (:meth:`xlfuncs.recalc.workbook.Workbook.engine_copy`), so a
    LOGICAL format type here says "logical result", in every locale (WAHR, VRAI...), and a
    number formatted ``"TRUE";"TRUE";"FALSE"`` in the original stays a number.
    ``types`` keeps each format key's answer: a round trip less per cell (a workbook may
    have thousands of zeros, and few formats).
    """
    try:
        return _logical_format(formats, cell.NumberFormat, types)
    except Exception:  # noqa: BLE001 - an unknown format key: a number
        return False


def _logical_format(formats, key: int, types: dict) -> bool:
    """Whether number format ``key`` is of the logical type (remembered in ``types``)."""
    if key not in types:
        types[key] = bool(formats.getByKey(key).Type & _LOGICAL)
    return types[key]


def _logical_cells(sheet, formats, types: dict) -> set | None:
    """The cells of a sheet whose number format is a logical one, found from its ranges of
    one format each: a handful of calls instead of two per cell holding 0 or 1 (a model
    with 10,000 zeros spent 0.8 s on them); None when there are too many ranges.

    A formula cell loaded with the General format gets the format of its result's type
    when calculated (see :func:`_is_logical`), so these are the logical results.
    """
    try:
        ranges = sheet.getUniqueCellFormatRanges()
        if ranges.getCount() > _MAX_FORMAT_RANGES:
            return None
        out: set = set()
        for i in range(ranges.getCount()):
            block = ranges.getByIndex(i)
            if _logical_format(formats, block.NumberFormat, types):
                out |= _cells_of(block)
        return out
    except Exception:  # noqa: BLE001 - cell by cell instead
        return None


_MAX_FORMAT_RANGES = 10_000


def read_values(doc, wanted: dict, order: list | None = None) -> dict:
    """Values of the wanted cells of a loaded document, as plain values (sent back with marshal).

    ``wanted`` maps a sheet name to the rows and the columns of its cells, each as the
    bytes of an ``array("i")``; the answer maps it to ``(numbers, others)``: the bytes of an
    ``array("d")`` holding every cell's number, and ``{index: value}`` for the cells whose
    value is not a number: a string, true/false, ``(code,)`` for an error (LibreOffice's
    FormulaError code), or None for a sheet LibreOffice does not have. Flat arrays cross the
    bridge in one piece; a tuple per cell would cost a Python object each on both sides.
    Calc keeps a logical result as the number 1 or 0, so a 1 or 0 is told apart by its
    format's type (:func:`_is_logical`; few cells, and cheap in-process).
    """
    sheets = doc.Sheets
    formats = doc.NumberFormats
    types: dict = {}
    out = {}
    for name, (row_bytes, col_bytes) in wanted.items():
        rows, cols = array("i"), array("i")
        rows.frombytes(row_bytes)
        cols.frombytes(col_bytes)
        if sheets.hasByName(name):
            sheet = sheets.getByName(name)
        elif order and sheets.getCount() == len(order) and name in order:
            sheet = sheets.getByIndex(order.index(name))  # renamed on load: by position
        else:
            sheet = None
        others: dict = {}
        if sheet is None:
            out[name] = (bytes(8 * len(rows)), dict.fromkeys(range(len(rows))))
            continue
        if not rows:
            out[name] = (b"", {})
            continue
        errors = _cells_of(sheet.queryFormulaCells(_RESULT_ERROR))
        strings = _cells_of(sheet.queryFormulaCells(_RESULT_STRING))
        numbers = array("d", bytes(8 * len(rows)))
        look: list[tuple[int, tuple[int, int], object]] = []  # (index, cell, value)
        # A band of cells at a time: a tuple per cell and a Python float per value for a
        # whole sheet of 800,000 formulas was 150 MB more in LibreOffice, its peak.
        for first in range(0, len(rows), _BAND):
            cells = list(zip(rows[first : first + _BAND], cols[first : first + _BAND]))
            fetched = fetch_values(sheet, cells)
            picked = fetched.pick(cells) if isinstance(fetched, _Box) else [fetched[cell] for cell in cells]
            del fetched
            # Most cells hold a number that is neither 0 nor 1 (which may be logicals):
            # those in two passes at C speed, the rest one by one.
            numbers[first : first + len(cells)] = array("d", [v if type(v) is float else 0.0 for v in picked])
            look += [
                (first + i, cells[i], v)
                for i, v in enumerate(picked)
                if type(v) is not float
                or v == 0.0
                or v == 1.0
                or not -_LARGEST <= v <= _LARGEST
                or (errors and cells[i] in errors)
            ]
        logical = _logical_cells(sheet, formats, types) if look else None
        for i, cell, value in look:
            numbers[i] = 0.0
            row, col = cell
            if cell in errors:
                others[i] = (sheet.getCellByPosition(col, row).getError(),)
                continue
            if isinstance(value, str):
                if value or cell in strings:
                    others[i] = value
                continue  # an empty result that is no text: 0
            if value is None:
                code = sheet.getCellByPosition(col, row).getError()
                if code:
                    others[i] = (code,)
                continue
            number = float(value)
            if math.isnan(number) or math.isinf(number):
                others[i] = (503,)
            elif (number == 0.0 or number == 1.0) and (
                cell in logical
                if logical is not None
                else _is_logical(formats, sheet.getCellByPosition(col, row), types)
            ):
                others[i] = number == 1.0
            else:
                numbers[i] = number
        out[name] = (numbers.tobytes(), others)
    return out


def run_job(ctx, request: dict) -> dict:
    """Serve one request of the client (:class:`xlfuncs.recalc.office.Office`)."""
    import uno  # noqa: PLC0415 - exists only in LibreOffice's Python

    if request.get("op") == "ping":
        # warmed_up: the start-up job (recalc.warmup) ran, and so imported this module.
        return {"python": list(sys.version_info[:2]), "warmed_up": "xlfuncs.recalc.warmup" in sys.modules}
    if request.get("op") == "functions":
        descriptions = ctx.ServiceManager.createInstanceWithContext("com.sun.star.sheet.FunctionDescriptions", ctx)
        names = []
        for i in range(descriptions.getCount()):
            for prop in descriptions.getByIndex(i):
                if prop.Name == "Name":
                    names.append(str(prop.Value))
        return {"functions": names}

    def prop(name, value):
        p = uno.createUnoStruct("com.sun.star.beans.PropertyValue")
        p.Name, p.Value = name, value
        return p

    if request.get("op") in ("read", "close"):
        # The second half of a load: the client read the rest of the workbook meanwhile.
        doc = _LOADED.pop(request.get("token"), None)
        if doc is None:
            return {"error": "no such loaded workbook"}
        return _read_and_close(doc, request)
    if request.get("op") != "load":
        return {"error": f"unknown request {request.get('op')!r}"}
    desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
    props = (
        prop("Hidden", True),
        prop("ReadOnly", True),
        prop("MacroExecutionMode", 0),  # NEVER_EXECUTE
        prop("UpdateDocMode", 0),  # NO_UPDATE: never follow external links
        prop("FilterName", "Calc MS Excel 2007 XML"),
    )
    started = time.perf_counter()
    try:
        doc = desktop.loadComponentFromURL(request["url"], "_blank", 0, props)
    except Exception as exc:  # noqa: BLE001 - reported to the client as text
        return {"error": f"LibreOffice could not load the workbook: {getattr(exc, 'Message', exc)}"}
    if doc is None:
        return {"error": "LibreOffice could not load the workbook"}
    token = len(_LOADED) + 1
    while token in _LOADED:
        token += 1
    _LOADED[token] = doc
    return {"token": token, "load_s": time.perf_counter() - started}


#: Documents loaded by an ``op: load`` request, waiting for their ``read`` (or ``close``).
_LOADED: dict[int, object] = {}


def _read_and_close(doc, request: dict) -> dict:
    try:
        if request.get("op") == "close":
            return {}
        started = time.perf_counter()
        values = read_values(doc, request["sheets"], request.get("order") or [])
        return {"values": values, "read_s": time.perf_counter() - started}
    finally:
        try:
            doc.close(True)
        except Exception:  # noqa: BLE001
            pass


def _function(name: str) -> registry.Function | None:
    name = name.upper()
    if name.endswith(SPILL_SUFFIX) and name not in registry.FUNCTIONS:
        name = name[: -len(SPILL_SUFFIX)]
    return registry.FUNCTIONS.get(name)


def _build():
    """Create the UNO component class (only possible inside soffice)."""
    import uno  # noqa: PLC0415 - exists only in LibreOffice's Python
    import unohelper  # noqa: PLC0415
    from com.sun.star.lang import Locale, XLocalizable, XServiceInfo, XServiceName  # noqa: PLC0415
    from com.sun.star.sheet import LocalizedName, XAddIn, XCompatibilityNames  # noqa: PLC0415
    from com.sun.star.task import XJob  # noqa: PLC0415
    from org.xlfuncs import XFunctions  # noqa: PLC0415 - generated IDL, see extension.py

    class XLFuncsAddIn(
        unohelper.Base, XFunctions, XAddIn, XServiceName, XServiceInfo, XLocalizable, XCompatibilityNames
    ):
        def __init__(self, ctx=None):
            self.ctx = ctx
            self.locale = Locale("en", "US", "")

        # XAddIn: names, descriptions and categories come from the registry.
        def getProgrammaticFuntionName(self, display_name):  # sic: the UNO spelling
            return display_name.upper() if _function(display_name) else ""

        def getDisplayFunctionName(self, name):
            return name

        def getFunctionDescription(self, name):
            fn = _function(name)
            return fn.description if fn else ""

        def getDisplayArgumentName(self, name, position):
            fn = _function(name)
            if fn is None or not 0 <= position < len(fn.args):
                return ""
            return fn.args[position].name

        def getArgumentDescription(self, name, position):
            fn = _function(name)
            if fn is None or not 0 <= position < len(fn.args):
                return ""
            arg = fn.args[position]
            default = f" Default: {arg.default_doc}." if arg.optional else ""
            return arg.doc + default

        def getProgrammaticCategoryName(self, name):
            return "Financial"

        def getDisplayCategoryName(self, name):
            return "Financial"

        # XCompatibilityNames: the names Excel files use.
        def getCompatibilityNames(self, name):
            return (LocalizedName(Locale("en", "US", ""), name),)

        # XLocalizable
        def setLocale(self, locale):
            self.locale = locale

        def getLocale(self):
            return self.locale

        # XServiceName / XServiceInfo
        def getServiceName(self):
            return SERVICE_NAME

        def getImplementationName(self):
            return IMPLEMENTATION_NAME

        def supportsService(self, name):
            return name in self.getSupportedServiceNames()

        def getSupportedServiceNames(self):
            return ("com.sun.star.sheet.AddIn", SERVICE_NAME)

    for fn in registry.FUNCTIONS.values():
        for method in _methods(fn):
            setattr(XLFuncsAddIn, method.__name__, method)

    class RecalcJob(unohelper.Base, XJob, XServiceInfo):
        """In-process reader: one UNO round trip per workbook instead of one per cell."""

        def __init__(self, ctx=None):
            self.ctx = ctx

        def execute(self, arguments):
            # marshal, not JSON: both ends are CPython of one minor version (checked by the
            # client), and 80,000 values go through it in milliseconds.
            params = {a.Name: a.Value for a in arguments}
            try:
                answer = run_job(self.ctx, marshal.loads(params["request"].value))
            except Exception as exc:  # noqa: BLE001 - never let an exception cross the bridge
                answer = {"error": f"{type(exc).__name__}: {exc}"}
            return uno.ByteSequence(marshal.dumps(answer))

        def getImplementationName(self):
            return JOB_IMPLEMENTATION_NAME

        def supportsService(self, name):
            return name == JOB_SERVICE_NAME

        def getSupportedServiceNames(self):
            return (JOB_SERVICE_NAME,)

    helper = unohelper.ImplementationHelper()
    helper.addImplementation(XLFuncsAddIn, IMPLEMENTATION_NAME, ("com.sun.star.sheet.AddIn", SERVICE_NAME))
    helper.addImplementation(RecalcJob, JOB_IMPLEMENTATION_NAME, (JOB_SERVICE_NAME,))
    return helper


# LibreOffice's Python loader looks this name up in the module's __dict__.
g_ImplementationHelper = _build() if os.environ.get("XLFUNCS_RECALC_ADDIN") else None
