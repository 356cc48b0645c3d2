"""The native twins against a stock LibreOffice (no xlfuncs add-in): the oracle for
``--native`` workbooks.

Every registry example with a valid result, and a sweep of the new functions' arguments,
is written as its native twin over argument cells (a range for an array argument, as
COUNTIF needs a reference); LibreOffice recalculates the file on load and its values must
equal xlfuncs' own to 1e-9 relative.
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
    ("CHURN_RATE", ([[-3, 1]], [[40, 40]], [[10, 10]])),
    ("NPS", ([[10, 9, 8, 7, 6, 0, 10, 9, 3, 10, None, "n/a"]],)),
    ("CSAT", ([[7, 6, 5, 7, 1, 2, None]], 7)),
]


def _example_cases():
    for fn in registry.FUNCTIONS.values():
        if not fn.has_native:
            continue
        for formula, expected in fn.examples:
            if isinstance(expected, str) and expected.startswith("#"):
                continue  # twins skip the range checks (a documented difference)
            _, tokens = registry.split_example(formula)
            args = tuple(eval(registry.python_literal(t)) for t in tokens)  # noqa: S307 - our own literals
            yield fn.name, args


def _write_args(ws, row: int, args) -> list[str | None]:
    """Each argument in cells of ``row`` (a list of lists is a row range); their references."""
    refs, col = [], 1
    for value in args:
        if value is None:
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


def test_native_twins_compute_what_xlfuncs_computes(tmp_path):
    cases = list(_example_cases()) + SWEEPS
    wb = openpyxl.Workbook()
    args_sheet, twins = wb.active, wb.create_sheet("Twins")
    args_sheet.title = "Args"
    expected = {}
    for row, (name, args) in enumerate(cases, start=1):
        refs = _write_args(args_sheet, row, args)
        twin = registry.native_formula(name, *(f"Args!{r}" if r else None for r in refs))
        twins.cell(row, 1, f"={twin}")
        expected[row] = (name, args, adapter.call(name, *args))
    source = tmp_path / "twins.xlsx"
    wb.save(source)
    (out,) = convert([source], "xlsx", tmp_path / "out", make_profile(tmp_path / "profile"))
    got = openpyxl.load_workbook(out, data_only=True)["Twins"]
    wrong = []
    for row, (name, args, want) in expected.items():
        value = got.cell(row, 1).value
        if isinstance(want, float):
            ok = isinstance(value, (int, float)) and math.isclose(value, want, rel_tol=1e-9, abs_tol=1e-12)
        else:
            ok = value == want
        if not ok:
            wrong.append((name, args, want, value))
    assert not wrong, wrong
    assert len(expected) > 60


@pytest.mark.parametrize("name", [n for n, fn in registry.FUNCTIONS.items() if fn.kind == registry.ELEMENTWISE])
def test_every_element_wise_function_has_a_twin(name):
    assert registry.get(name).has_native
