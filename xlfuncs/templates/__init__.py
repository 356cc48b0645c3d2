"""Workbook templates: ``xlfuncs generate``.

Template code writes formulas as expressions (:mod:`.expr`) so the same workbook comes out
as the UDF edition (``=CLV(...)``) or as its native twin (built-in formulas from the
registry), with cached values computed by xlfuncs. Scenario files (:mod:`.scenario`) fill
the inputs; :mod:`.i18n` holds the English and Spanish words.

This package imports the core (registry, adapter) and the recalc engine's xlsx patcher,
never the xlwings UDFs or the CLI.
"""

import importlib

# Loaded on first use: openpyxl and the templates take 0.15 s to import, which every other
# command (recalc above all, while its LibreOffice starts) would pay for ``generate``.
_EXPORTS = {
    "TEMPLATES": ".generate",
    "Generated": ".generate",
    "GenerateError": ".generate",
    "generate": ".generate",
    "ScenarioError": ".scenario",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    # All at once: importing .generate sets this package's ``generate`` to the module,
    # which must be replaced by the function before anyone reads it.
    for export, module in _EXPORTS.items():
        globals()[export] = getattr(importlib.import_module(module, __name__), export)
    return globals()[name]
