"""``xlfuncs recalc``: recompute every formula of xlsx/xlsm workbooks without Excel.

LibreOffice (headless, one process per batch) evaluates the built-in functions, and
xlfuncs' functions run inside it as a Calc add-in (:mod:`xlfuncs.recalc.addin`), so both
live in one dependency graph. Only the cached values of formula cells are written back into
the original file (:mod:`xlfuncs.xlsx`); every other byte of it stays as it was.

From Python, :func:`run` does what the command does and returns one
:class:`FileResult` per file (see :mod:`xlfuncs.recalc.batch` for an example)::

    from xlfuncs import recalc

    for result in recalc.run(["model.xlsx"], check=True):
        print(result.path, result.status, result.changes)

The rooms: :mod:`~xlfuncs.recalc.batch` (:func:`run`), :mod:`~xlfuncs.recalc.cli` (the
command over it), :mod:`~xlfuncs.recalc.reports` (terminal, GitHub, JUnit output),
:mod:`~xlfuncs.recalc.engine` (one file, and batches over LibreOffice processes),
:mod:`~xlfuncs.recalc.changes` (the changed cells' lines, made when read),
:mod:`~xlfuncs.recalc.workbook` (LibreOffice's copy of a workbook),
:mod:`~xlfuncs.recalc.formula` (our calls spelt for Calc), :mod:`~xlfuncs.recalc.vectorise`
(column groups as array formulas), :mod:`~xlfuncs.recalc.office` (driving soffice),
:mod:`~xlfuncs.recalc.server` (a LibreOffice kept running: ``xlfuncs office start``),
:mod:`~xlfuncs.recalc.extension` (the add-in's profile), :mod:`~xlfuncs.recalc.addin` (runs
inside soffice), :mod:`~xlfuncs.recalc.lonames` (LibreOffice's names and codes),
:mod:`~xlfuncs.recalc.fidelity` (where LibreOffice and Excel differ).
"""

from __future__ import annotations

__all__ = ["CHANGED", "CHECK_FAILED", "FAILED", "MISSING", "UNCHANGED", "FileResult", "UsageError", "run"]


def __getattr__(name: str):
    # Lazy: the add-in module, loaded inside soffice, imports this package too and needs
    # none of the driver.
    if name in __all__:
        from . import batch  # noqa: PLC0415

        return getattr(batch, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
