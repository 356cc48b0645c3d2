"""LibreOffice's names for xlfuncs: UNO service names, how Calc spells our functions, error codes.

Shared by the add-in that runs inside soffice (:mod:`xlfuncs.recalc.addin`), the
extension files (:mod:`xlfuncs.recalc.extension`), the formula rewriting
(:mod:`xlfuncs.recalc.formula`) and the driver (:mod:`xlfuncs.recalc.office`), without
importing any of them.
"""

from __future__ import annotations

from ..errors import ExcelError

#: The UNO names of the add-in and of the in-process reader (IDL, components file).
SERVICE_NAME = "org.xlfuncs.AddIn"
IMPLEMENTATION_NAME = "org.xlfuncs.AddInImpl"
#: The in-process reader: loads a workbook in soffice and returns its values (marshal).
JOB_SERVICE_NAME = "org.xlfuncs.RecalcJob"
JOB_IMPLEMENTATION_NAME = "org.xlfuncs.RecalcJobImpl"
#: The start-up job that imports the add-in while LibreOffice is still starting.
WARM_UP_SERVICE_NAME = "org.xlfuncs.WarmUp"
WARM_UP_IMPLEMENTATION_NAME = "org.xlfuncs.WarmUpImpl"
INTERFACE_NAME = "org.xlfuncs.XFunctions"
#: How Calc spells an add-in function it knows only by its full programmatic name. The
#: normalised copy that LibreOffice loads calls our functions by this name.
CALC_PREFIX = SERVICE_NAME.upper() + "."
#: Suffix of the array variant of each function (``CLV_SPILL``): Calc's array formulas
#: need a ``sequence<sequence<any>>`` result, and building one for every ordinary cell
#: costs time, so ordinary cells call the scalar variant, declared ``any``.
SPILL_SUFFIX = "_SPILL"

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

# LibreOffice FormulaError -> the Excel error its xlsx export writes (XclTools::GetXclErrorCode).
LO_TO_EXCEL = {
    501: ExcelError.VALUE,  # IllegalChar
    502: ExcelError.NUM,  # IllegalArgument
    503: ExcelError.NUM,  # IllegalFPOperation
    504: ExcelError.VALUE,  # IllegalParameter
    507: ExcelError.VALUE,  # PairExpected
    508: ExcelError.VALUE,  # OperatorExpected
    509: ExcelError.VALUE,  # VariableExpected
    510: ExcelError.VALUE,  # ParameterExpected
    511: ExcelError.VALUE,  # MissingVariable
    512: ExcelError.VALUE,  # StringOverflow
    513: ExcelError.VALUE,  # StringOverflow
    519: ExcelError.VALUE,  # NoValue
    521: ExcelError.NULL,  # NoCode
    522: ExcelError.VALUE,  # CircularReference
    523: ExcelError.NUM,  # NoConvergence
    524: ExcelError.REF,  # NoRef
    525: ExcelError.NAME,  # NoName
    532: ExcelError.DIV0,  # DivisionByZero
    32767: ExcelError.NA,  # NotAvailable
}
#: Codes the driver tells apart: a circular reference, a name Calc does not know.
CIRCULAR = 522
NO_NAME = 525


def excel_error(code: int) -> ExcelError:
    """The Excel error LibreOffice's xlsx export writes for a FormulaError code."""
    return LO_TO_EXCEL.get(int(code), ExcelError.VALUE)
