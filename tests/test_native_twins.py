"""The native twins against a stock LibreOffice (no xlfuncs add-in): the oracle for
``--native`` workbooks.

Every registry example, errors included, and sweeps of arguments (in range and out of
it) are written as native twins over argument cells (a range for an array argument, as
COUNTIF needs a reference; an empty cell for an empty required argument); LibreOffice
recalculates the file on load and its values must equal xlfuncs' own to 1e-9 relative,
its errors the contract's errors. Where a twin cannot match, the function's
``native_differs`` says so, quoting the example.
"""

from __future__ import annotations

import itertools
import math

import openpyxl
import pytest
from generate_office import convert, make_profile
from openpyxl.utils import get_column_letter

from xlfuncs import adapter, registry

# Argument sweeps for the functions whose twins are new or changed: (name, args).
SWEEPS = [
    *(
        ("SBG_CLV", (100, alpha, beta, 0.8, discount, renewals))
        for alpha, beta, discount, renewals in itertools.product((0.7, 2, 5.5), (0.5, 3), (0, 0.01, 0.05, 0.3), (0, 4))
        if not (discount == 0 and alpha <= 1)
    ),
    *(
        ("SBG_SURVIVAL", (alpha, beta, t))
        for alpha, beta, t in itertools.product((0.3, 2), (0.8, 30), (0, 1, 7.9, 120))
    ),
    *(
        ("CLV", (100, churn, 0.8, 0.01, periods, 0))
        for churn, periods in itertools.product((0.02, 0.3, 1), (None, 1, 24))
    ),
    *(("PAYBACK", (cac, 100, 0.8, 0.05, 0.01, 0)) for cac in (0, 50, 500)),
    # The contract's errors and edges, beyond the registry's examples.
    *(
        ("PAYBACK", (cac, arpu, 1, churn, 0, type_))
        for cac, arpu, churn, type_ in itertools.product((0, 50, 150), (0, 100), (0, 0.5, 1), (0, 1))
    ),
    ("PAYBACK", (1000, 100, 1, 0.05, 0.01, 2)),
    ("PAYBACK", (-1, 100)),
    ("PAYBACK", (1000, 100, 1.5)),
    ("PAYBACK", (1000, 100, 1, 0.05, -0.01)),
    ("CLV", (35, 0.05, 1, 0, None, 2)),
    ("CLV", (-35, 0.05)),
    ("CLV", (35, 0.05, 1.1)),
    ("CLV", (35, 0.05, 1, -0.01)),
    ("CLV", (35, 0.05, 1, 0.01, 0.5)),
    ("CLV", (0, 0)),
    ("ARPU", (100, [[-1, 3]])),
    ("CAC", (100, [[-1, 3]])),
    ("RETENTION_COST", (100, [[-1, 3]])),
    ("RETENTION_COST", (100, 0)),
    ("ONBOARDING_ROI", (1000, 400, -5)),
    ("CHURN_RATE", (5, 100, -1)),
    ("NRR", ([[-10000, 5]], 1500, 300, 700)),
    ("NRR", (0, 1500, 300, 700)),
    ("GRR", ([[-10000, 5]], 300, 700)),
    ("GRR", (0, 300, 700)),
    ("TTFV", (46000, 46000)),
    ("HEALTH_SCORE", ([[80, 40]], [[1, -1]])),
    ("HEALTH_SCORE", ([[80, None]], [[1, -1]])),
    ("HEALTH_SCORE", ([[-1, 40]], [[1, 1]])),
    ("HEALTH_SCORE", ([[80, 40]], [[0, 0]])),
    ("HEALTH_STATUS", (70, 60, 60)),
    ("SEGMENT", (100, 0, 100, 100)),
    ("SBG_SURVIVAL", (2, 3, -1)),
    ("SBG_SURVIVAL", (0, 3, 1)),
    ("SBG_SURVIVAL", (2, -3, 1)),
    ("SBG_CLV", (100, 0.5, 3)),
    ("SBG_CLV", (100, 2, 3, 1.2)),
    ("SBG_CLV", (-100, 2, 3)),
    ("SBG_CLV", (100, 2, 3, 1, 0.05, -1)),
    ("NPS", ([[10, 9.5]],)),
    ("NPS", ([[-1, 9]],)),
    ("NPS", ([[None, "n/a"]],)),
    ("CSAT", ([[5, 6]],)),
    ("CSAT", ([[0, 5]],)),
    ("CSAT", ([[5, 4]], 2.5)),
    ("CSAT", ([[None]],)),
    ("CHURN_RATE", ([[-3, 1]], [[40, 40]], [[10, 10]])),
    ("NPS", ([[10, 9, 8, 7, 6, 0, 10, 9, 3, 10, None, "n/a"]],)),
    ("CSAT", ([[7, 6, 5, 7, 1, 2, None]], 7)),
]


def _example_cases():
    for fn in registry.FUNCTIONS.values():
        if not fn.has_native:
            continue
        for formula, _ in fn.examples:
            _, tokens = registry.split_example(formula)
            args = tuple(eval(registry.python_literal(t)) for t in tokens)  # noqa: S307 - our own literals
            yield fn.name, args, formula


def _write_args(ws, row: int, fn: registry.Function, args) -> list[str | None]:
    """Each argument in cells of ``row`` (a list of lists is a row range); their references.

    An empty optional argument takes its default (None); an empty required one is a
    reference to an empty cell, as a reader's sheet would give it.
    """
    refs, col = [], 1
    for arg, value in zip(fn.args, args):
        if value is None and arg.optional:
            refs.append(None)
            continue
        if not isinstance(value, list):
            cells = [value]
        else:  # {1, 2} comes as [1, 2], a range as [[1, 2]]: one row either way
            cells = value[0] if isinstance(value[0], list) else value
        for offset, cell in enumerate(cells):
            ws.cell(row, col + offset, cell)
        first, last = get_column_letter(col), get_column_letter(col + len(cells) - 1)
        refs.append(f"${first}${row}:${last}${row}" if isinstance(value, list) else f"${first}${row}")
        col += len(cells) + 1
    return refs


def _same(got, want) -> bool:
    if isinstance(want, float):
        return isinstance(got, (int, float)) and math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12)
    return got == str(want)


def test_native_twins_compute_what_xlfuncs_computes(tmp_path):
    """Every example (errors included) and every sweep: LibreOffice's twin equals xlfuncs'
    own result, or the function's ``native_differs`` quotes the example it differs on."""
    cases = list(_example_cases()) + [(name, args, None) for name, args in SWEEPS]
    wb = openpyxl.Workbook()
    args_sheet, twins = wb.active, wb.create_sheet("Twins")
    args_sheet.title = "Args"
    expected = {}
    for row, (name, args, formula) in enumerate(cases, start=1):
        fn = registry.get(name)
        refs = _write_args(args_sheet, row, fn, args)
        twin = fn.native(*(f"Args!{r}" if r else None for r in refs))
        twins.cell(row, 1, f"={twin}")
        expected[row] = (name, args, formula, adapter.call(name, *args))
    source = tmp_path / "twins.xlsx"
    wb.save(source)
    (out,) = convert([source], "xlsx", tmp_path / "out", make_profile(tmp_path / "profile"))
    got = openpyxl.load_workbook(out, data_only=True)["Twins"]
    wrong, documented = [], set()
    for row, (name, args, formula, want) in expected.items():
        value = got.cell(row, 1).value
        if _same(value, want):
            continue
        differs = registry.get(name).native_differs
        if formula is not None and formula in differs:
            documented.add(formula)
            continue
        wrong.append((name, args, str(want), value))
    assert not wrong, wrong
    errors = [row for row, case in expected.items() if isinstance(case[3], str) and case[3].startswith("#")]
    assert len(expected) > 150 and len(errors) > 50
    # A documented difference that no longer occurs is stale: the docs must say what is.
    quoted = {f for fn in registry.FUNCTIONS.values() for f, _ in fn.examples if f in fn.native_differs}
    assert quoted == documented


def test_every_example_of_a_function_with_a_twin_is_checked():
    names = {name for name, _, _ in _example_cases()}
    assert names == {n for n, fn in registry.FUNCTIONS.items() if fn.has_native}
    assert sum(len(registry.get(n).examples) for n in names) == len(list(_example_cases()))


@pytest.mark.parametrize("name", [n for n, fn in registry.FUNCTIONS.items() if fn.kind == registry.ELEMENTWISE])
def test_every_element_wise_function_has_a_twin(name):
    assert registry.get(name).has_native
