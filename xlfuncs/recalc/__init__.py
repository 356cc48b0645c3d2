"""``xlfuncs recalc``: recompute every formula of xlsx/xlsm workbooks without Excel.

LibreOffice (headless, one process per batch) evaluates the built-in functions, and
xlfuncs' functions run inside it as a Calc add-in (:mod:`xlfuncs.recalc.addin`), so both
live in one dependency graph. Only the cached values of formula cells are written back into
the original file (:mod:`xlfuncs.recalc.workbook`); every other byte of it stays as it was.
"""
