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

import math
import os
import struct

from .. import adapter, registry
from ..errors import ExcelError

#: The UNO names, shared with :mod:`xlfuncs.recalc.extension` (IDL, components file).
SERVICE_NAME = "org.xlfuncs.AddIn"
IMPLEMENTATION_NAME = "org.xlfuncs.AddInImpl"
INTERFACE_NAME = "org.xlfuncs.XFunctions"
#: How Calc spells an add-in function it knows only by its full programmatic name. The
#: normalised copy that LibreOffice loads calls our functions by this name.
CALC_PREFIX = SERVICE_NAME.upper() + "."

# LibreOffice FormulaError codes (include/formula/errorcodes.hxx) for the Excel errors.
LO_ERROR_CODES = {
    ExcelError.NULL: 521,  # NoCode -> #NULL!
    ExcelError.DIV0: 532,  # DivisionByZero
    ExcelError.VALUE: 519,  # NoValue
    ExcelError.REF: 524,  # NoRef
    ExcelError.NAME: 525,  # NoName
    ExcelError.NUM: 503,  # IllegalFPOperation
    ExcelError.NA: 32767,  # NotAvailable
}
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


def call(name: str, keep_ranges: bool, args: tuple) -> tuple:
    """Evaluate one registry function on Calc's arguments; never raises."""
    try:
        # Calc passes None only for an omitted argument (empty cells come inside ranges
        # as ""), so None means "not given": the default, never an empty cell.
        values = [adapter.MISSING if a is None else from_calc(a, keep_ranges) for a in args]
        while values and values[-1] is adapter.MISSING:
            values.pop()
        return to_matrix(adapter.call(name, *values))
    except Exception:  # noqa: BLE001 - a crash here would take soffice's calculation down
        return ((_ERROR_NAN[ExcelError.VALUE],),)


def _method(fn: registry.Function):
    name = fn.name
    keep = fn.kind == registry.AGGREGATING

    def method(self, *args):
        return call(name, keep, args)

    method.__name__ = name
    method.__doc__ = fn.description
    return method


def _build():
    """Create the UNO component class (only possible inside soffice)."""
    import unohelper  # noqa: PLC0415 - exists only in LibreOffice's Python
    from com.sun.star.lang import Locale, XLocalizable, XServiceInfo, XServiceName  # noqa: PLC0415
    from com.sun.star.sheet import LocalizedName, XAddIn, XCompatibilityNames  # noqa: PLC0415
    from org.xlfuncs import XFunctions  # noqa: PLC0415 - generated IDL, see extension.py

    class XLFuncsAddIn(
        unohelper.Base, XFunctions, XAddIn, XServiceName, XServiceInfo, XLocalizable, XCompatibilityNames
    ):
        def __init__(self, ctx=None):
            self.ctx = ctx
            self.locale = Locale("en", "US", "")

        # XAddIn: names, descriptions and categories come from the registry.
        def getProgrammaticFuntionName(self, display_name):  # sic: the UNO spelling
            return display_name.upper() if display_name.upper() in registry.FUNCTIONS else ""

        def getDisplayFunctionName(self, name):
            return name

        def getFunctionDescription(self, name):
            fn = registry.FUNCTIONS.get(name)
            return fn.description if fn else ""

        def getDisplayArgumentName(self, name, position):
            fn = registry.FUNCTIONS.get(name)
            if fn is None or not 0 <= position < len(fn.args):
                return ""
            return fn.args[position].name

        def getArgumentDescription(self, name, position):
            fn = registry.FUNCTIONS.get(name)
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
        setattr(XLFuncsAddIn, fn.name, _method(fn))

    helper = unohelper.ImplementationHelper()
    helper.addImplementation(XLFuncsAddIn, IMPLEMENTATION_NAME, ("com.sun.star.sheet.AddIn", SERVICE_NAME))
    return helper


# LibreOffice's Python loader looks this name up in the module's __dict__.
g_ImplementationHelper = _build() if os.environ.get("XLFUNCS_RECALC_ADDIN") else None
