"""Workbook templates: ``xlfuncs generate``.

Template code writes formulas as expressions (:mod:`.expr`) so the same workbook comes out
as the UDF edition (``=CLV(...)``) or as its native twin (built-in formulas from the
registry), with cached values computed by xlfuncs. Scenario files (:mod:`.scenario`) fill
the inputs; :mod:`.i18n` holds the English and Spanish words.

This package imports the core (registry, adapter) and the recalc engine's xlsx patcher,
never the xlwings UDFs or the CLI.
"""

from .generate import TEMPLATES, Generated, GenerateError, generate
from .scenario import ScenarioError

__all__ = ["TEMPLATES", "Generated", "GenerateError", "ScenarioError", "generate"]
