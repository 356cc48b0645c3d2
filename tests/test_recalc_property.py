"""Property: recalc of any small workbook is well-formed every time and stable the second time.

Random workbooks (openpyxl; numbers, texts, logicals and formulas over them: arithmetic,
text with control characters, errors, logicals, xlfuncs calls, array formulas) go through
recalc twice: every output parses as XML, and recalculating the output changes nothing,
byte for byte (black's "stable").
"""

from __future__ import annotations

import zipfile

import defusedxml.ElementTree as SafeET
import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.worksheet.formula import ArrayFormula

from xlfuncs.recalc.engine import CHANGED, UNCHANGED, recalc_file
from xlfuncs.recalc.office import Office


@pytest.fixture(scope="module")
def office():
    with Office(threaded=False) as instance:
        yield instance


REFS = [f"{c}{r}" for c in "AB" for r in (1, 2, 3)]
ref = st.sampled_from(REFS)
number = st.one_of(st.integers(-5, 5), st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: round(x, 6)))
constant = st.one_of(
    number,
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=6),
    st.booleans(),
    st.none(),
)
formula = st.one_of(
    st.builds(lambda a, b, op: f"={a}{op}{b}", ref, ref, st.sampled_from(["+", "-", "*", "/", "&", "=", ">"])),
    st.builds(lambda a, n: f'=CHAR({n})&{a}&" "', ref, st.sampled_from([1, 9, 10, 11, 13, 31, 65, 95])),
    st.builds(lambda a: f"=IFERROR(1/{a},NA())", ref),
    st.builds(lambda a: f"=ISNUMBER({a})", ref),
    st.builds(lambda a: f"=CLV({a},0.05)", ref),
    st.builds(lambda a: f'=IF({a}>0,"_x0041_ "&{a},{a})', ref),
    st.just('=""'),
    st.just('=" lead"'),
    st.just("=SUM(A1:B3)/3"),
)


@st.composite
def workbooks(draw):
    cells = {r: draw(constant) for r in REFS}
    formulas = draw(
        st.dictionaries(st.sampled_from([f"{c}{r}" for c in "CDE" for r in (1, 2, 3)]), formula, max_size=6)
    )
    array = draw(st.booleans())
    return cells, formulas, array


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(book=workbooks())
def test_recalc_twice_is_well_formed_and_stable(office, tmp_path_factory, book):
    cells, formulas, array = book
    folder = tmp_path_factory.mktemp("prop")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "P"
    for where, value in cells.items():
        ws[where] = value
    for where, text in formulas.items():
        ws[where] = text
    if array:
        ws["G1"] = ArrayFormula("G1:G3", "=A1:A3&B1:B3")
    source = folder / "p.xlsx"
    wb.save(source)
    first, second = folder / "first.xlsx", folder / "second.xlsx"
    result = recalc_file(office, source, first, check=False)
    assert result.status in (CHANGED, UNCHANGED), result.message
    with zipfile.ZipFile(first) as z:
        for name in z.namelist():
            if name.endswith((".xml", ".rels")):
                SafeET.fromstring(z.read(name))
    openpyxl.load_workbook(first)  # opens
    again = recalc_file(office, first, second, check=False)
    assert again.status == UNCHANGED, (again.message, again.changes, again.volatile)
    assert second.read_bytes() == first.read_bytes()
