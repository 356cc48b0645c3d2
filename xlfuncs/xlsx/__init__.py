"""The xlsx/xlsm package: read it safely, find its formula cells, patch their cached values.

Neutral ground below both :mod:`xlfuncs.recalc` and :mod:`xlfuncs.templates`; it knows
nothing of LibreOffice or of the templates.

* :mod:`xlfuncs.xlsx.package`: the zip of XML parts, read safely (zip and XML bombs
  refused) and written atomically with a read-back check;
* :mod:`xlfuncs.xlsx.cells`: cell references, values, texts and the XML of one ``<c>``;
* :mod:`xlfuncs.xlsx.book`: :class:`XlsxFile`, a workbook's formula cells and their
  patching.
"""

from .book import XlsxFile
from .cells import MAX_TEXT, SPILL, Cell, OtherError, Sheet, Updates, Value, same_value, show
from .package import BadWorkbook, copy_unchanged, well_formed

__all__ = [
    "MAX_TEXT",
    "SPILL",
    "BadWorkbook",
    "Cell",
    "OtherError",
    "Sheet",
    "Updates",
    "Value",
    "XlsxFile",
    "copy_unchanged",
    "same_value",
    "show",
    "well_formed",
]
