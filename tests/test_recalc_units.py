"""Parts of recalc that need no LibreOffice: the add-in's value mapping, formula
spellings, the worksheet scanners and the value patcher."""

from __future__ import annotations

import math
import random
import re
import struct
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from recalc_support import decorated_workbook, mixed_workbook

from xlfuncs import adapter, registry
from xlfuncs.errors import ExcelError
from xlfuncs.numtext import number_text
from xlfuncs.recalc import addin, formula, vectorise
from xlfuncs.recalc.engine import _differing, shard, unknown_functions
from xlfuncs.recalc.office import Values
from xlfuncs.recalc.workbook import Workbook
from xlfuncs.xlsx import same_value
from xlfuncs.xlsx.cells import Table


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


def test_calc_arguments_give_what_the_adapter_gives():
    """Calc's way of passing arguments (omitted ones as None, single cells as 1x1 ranges
    with "" for empty) changes nothing about the result."""
    rng = random.Random(3)
    picks = [0.0, 1.0, 0.5, -1.0, 35.0, 0.05, 100.0, 1e-9, 12.0, 46000.0, 46045.5, "", "x"]
    checked = 0
    for name, fn in registry.FUNCTIONS.items():
        if fn.kind != registry.ELEMENTWISE:
            continue
        for _ in range(300):
            count = rng.randint(len(fn.required), len(fn.args))
            calc_args, cell_values = [], []
            for _ in range(count):
                value = rng.choice(picks + [rng.uniform(-5, 500)])
                if value == "" or rng.random() < 0.5:  # a reference to one cell ("" = empty)
                    calc_args.append(((value,),))
                    cell_values.append(None if value == "" else value)
                else:  # a literal
                    calc_args.append(value)
                    cell_values.append(value)
            calc_args += [None] * (len(fn.args) - count)  # Calc's omitted arguments
            expected = adapter.call(name, *cell_values)
            assert _same(addin.evaluate(name, False, tuple(calc_args)), expected), (name, calc_args)
            checked += 1
    assert checked > 1500


def test_one_cell_ranges_and_blanks_go_through_the_adapter():
    assert addin.evaluate("CLV", False, (((35.0,),), 0.05, None, None, None)) == 700.0
    # An empty margin cell takes the default; an empty first_value is #N/A.
    assert addin.evaluate("CLV", False, (35.0, 0.05, (("",),), None, None)) == 700.0
    assert addin.evaluate("TTFV", False, (46000.0, (("",),))) is ExcelError.NA
    # Aggregating functions read a one-cell range like SUM: text is skipped.
    assert addin.evaluate("NET_MRR", True, ((("x",),), 5.0, 0.0, 0.0, None)) == 5.0


def test_errors_cross_as_lo_error_nans():
    for error, code in addin.LO_ERROR_CODES.items():
        value = addin.to_calc(error)
        assert math.isnan(value)
        assert struct.unpack("<Q", struct.pack("<d", value))[0] & 0xFFFF == code
    assert addin.call("CLV", False, (35.0, 0.0, None, None, None)) is addin.to_calc(ExcelError.DIV0)
    spill = addin.call_spill("MRR_MOVEMENTS", False, (((100.0, 150.0), (0.0, 200.0)),))
    # Customer 1 expands 100 -> 150, customer 2 is new at 200: one step, six columns.
    assert spill == ((200.0, 50.0, 0.0, 0.0, 0.0, 250.0),)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CLV(A1,B1)", "ORG.XLFUNCS.ADDIN.CLV(A1,B1)"),
        ("CLV(A1,B1,C1)", "ORG.XLFUNCS.ADDIN.CLV(A1,B1,C1:C1)"),
        ("TTFV(A1,B1)", "ORG.XLFUNCS.ADDIN.TTFV(A1,B1:B1)"),
        ("NET_MRR(A1,B1,C1,D1)", "ORG.XLFUNCS.ADDIN.NET_MRR(A1:A1,B1:B1,C1:C1,D1:D1)"),
        ('IF(A1="CLV(",1,CLV(1,2))', 'IF(A1="CLV(",1,ORG.XLFUNCS.ADDIN.CLV(1,2))'),
        ("LTV_CAC(CLV(A1,B1),C1)", "ORG.XLFUNCS.ADDIN.LTV_CAC(ORG.XLFUNCS.ADDIN.CLV(A1,B1),C1)"),
        ("SUM(CLV(A1:A9,0.05))", "SUM(ORG.XLFUNCS.ADDIN.CLV_SPILL(A1:A9,0.05))"),
        ("MRR_MOVEMENTS(B2:E5)", "ORG.XLFUNCS.ADDIN.MRR_MOVEMENTS_SPILL(B2:E5)"),
        ("'My Sheet'!A1+[3]!CLV('My Sheet'!B2,C2)", "'My Sheet'!A1+ORG.XLFUNCS.ADDIN.CLV('My Sheet'!B2,C2)"),
        ("SUM(A1:A3)", "SUM(A1:A3)"),
        ("OTHER.CLV(1,2)", "OTHER.CLV(1,2)"),
    ],
)
def test_normalise(text, expected):
    assert formula.normalise(text)[0] == expected


def test_array_formulas_call_the_spill_variant():
    assert formula.normalise("CLV(35,0.05)", array=True)[0] == "ORG.XLFUNCS.ADDIN.CLV_SPILL(35,0.05)"


def test_unknown_functions():
    known = {"SUM", "IF", "STDEV.S"}
    assert unknown_functions("SUM(A1)+FOO(B1)", known) == ["FOO"]
    assert unknown_functions('IF(A1,"BAR(",_xlfn.STDEV.S(A1:A3))', known) == []
    assert unknown_functions("CLV(1,2)+_xldudf_XLFUNCS_CAC(1,2)", known) == []
    assert unknown_functions("[1]!Other(1)", known) == ["[1]!Other"]


def test_shard_is_a_deterministic_partition():
    paths = [Path(f"f{i:02d}.xlsx") for i in range(10)]
    slices = [shard(list(reversed(paths)), i, 3) for i in (1, 2, 3)]
    assert sorted(p for s in slices for p in s) == paths
    assert [len(s) for s in slices] == [4, 3, 3]


def test_number_text_and_comparison():
    assert number_text(700.0) == "700" and number_text(0.1 + 0.2) == "0.30000000000000004"
    assert same_value(1683.3333333333333, 1683.33333333333) and not same_value(1.0, 1.0001)
    assert not same_value(None, 1.0) and not same_value(True, 1.0)


def test_fast_and_general_scanners_agree(tmp_path):
    seen = 0
    for path in (mixed_workbook(tmp_path / "m.xlsx"), decorated_workbook(tmp_path / "d.xlsx")):
        wb = Workbook(path)
        for sheet in wb.sheets:
            fast = [(c.ref, c.start, c.end, c.f_xml, c.old, c.formula) for c in sheet.cells]
            sheet.cells.clear()
            wb._scan_general(sheet)
            general = [(c.ref, c.start, c.end, c.f_xml, c.old, c.formula) for c in sheet.cells]
            if b"array" not in sheet.data:
                assert fast == general
            seen += len(general)
    assert seen > 10


def test_pretty_printed_sheets_keep_every_formula_cell(tmp_path):
    """White space between <c> and <f> (pretty-printed XML) must not hide formula cells."""
    path = mixed_workbook(tmp_path / "m.xlsx")
    plain = {s.name: [(c.ref, c.formula, c.old) for c in s.cells] for s in Workbook(path).sheets}
    with zipfile.ZipFile(path) as zin:
        infos = zin.infolist()
        parts = {i.filename: zin.read(i) for i in infos}
    for name in parts:
        if name.startswith("xl/worksheets/sheet"):
            parts[name] = re.sub(rb"(<c\b[^>]*>)(<f\b)", rb"\1\n      \2", parts[name])
    pretty = tmp_path / "pretty.xlsx"
    with zipfile.ZipFile(pretty, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in infos:
            zout.writestr(info, parts[info.filename])
    found = {s.name: [(c.ref, c.formula, c.old) for c in s.cells] for s in Workbook(pretty).sheets}
    assert found == plain and sum(map(len, found.values())) > 10


def test_patch_touches_only_formula_cells(tmp_path):
    wb = Workbook(mixed_workbook(tmp_path / "m.xlsx"))
    sheet = next(s for s in wb.sheets if s.name == "Model")
    updates = {sheet.name: [(cell, 1.5) for cell in sheet.cells]}
    new = bytes(wb.patched(updates)[sheet.part])
    assert new.count(b"<v>1.5</v>") == len(sheet.cells)
    assert new.replace(b"<v>1.5</v>", b"<v />") == sheet.data.replace(b"<v></v>", b"<v />")


@settings(max_examples=2000)
@given(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(allow_nan=True, allow_infinity=True) | st.floats(-1e-12, 1e-12).map(lambda e: e),
    st.booleans(),
)
def test_same_value_of_numbers_is_the_documented_one(a, noise, near):
    """Equal, alike at Excel's 15 digits, or within NOISE of each other (the shortcut that
    skips formatting two numbers far apart must not change the answer)."""
    from xlfuncs.xlsx.cells import NOISE

    b = a * (1 + noise) if near and noise == noise and abs(noise) < 1 else noise
    spelled = a == b or f"{a:.15g}" == f"{b:.15g}" or abs(a - b) <= NOISE * max(abs(a), abs(b))
    assert same_value(a, b) == spelled


@given(
    offsets=st.lists(st.integers(-3, 3), min_size=1, max_size=3),
    extra=st.sampled_from(["", ",$B$3", ",0.1", ",,12"]),
    row=st.integers(4, vectorise.MAX_ROW - 3),
    other=st.integers(1, vectorise.MAX_ROW),
)
def test_a_column_group_renders_each_row_as_its_cells_are_written(offsets, extra, row, other):
    """The renderer vector_groups compares every cell down a column with: the key's text
    at its own row, the same key at any other row, None where a reference leaves the sheet."""
    refs = [f"{'Data!' if i % 2 else ''}{'FGH'[i]}{row + offset}" for i, offset in enumerate(offsets)]
    text = f"CLV({','.join(refs)}{extra})"
    key, head, tail = vectorise.vector_key(text, row)
    render = vectorise._renderer(key, head, tail)
    assert render(row) == text
    moved = render(other)
    assert (moved is not None) == all(1 <= other + offset <= vectorise.MAX_ROW for offset in offsets)
    if moved is not None:
        assert vectorise.vector_key(moved, other)[0] == key


def test_a_column_group_is_made_without_keeping_its_cells(tmp_path):
    """LibreOffice's copy turns a column of calls into one array formula over the column
    and empty cells below it, and keeps no Cell object of the column once made (at
    100,000 rows they were 45 MB held to the end of the recalculation)."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Model"
    rows = range(2, 42)
    for r in rows:
        sheet[f"A{r}"] = r * 10
        sheet[f"B{r}"] = f"=CLV(A{r},0.05)"
        sheet[f"C{r}"] = f"=B{r}*2"
    path = tmp_path / "column.xlsx"
    book.save(path)
    workbook = Workbook(path)
    copy = workbook.engine_copy(tmp_path)
    scanned = workbook.sheets[0]
    assert workbook.grouped
    assert scanned._cells is None and not scanned._made
    with zipfile.ZipFile(copy) as package:
        xml = package.read("xl/worksheets/sheet1.xml").decode()
    anchor = re.search(r'<c r="B2"><f t="array" ref="B2:B41">([^<]*)</f></c>', xml)
    assert anchor is not None and "CLV" in anchor.group(1)
    assert all(f'<c r="B{r}"/>' in xml for r in rows[1:])
    assert xml.count("<f>") == len(rows)  # column C as it was


@settings(max_examples=300, deadline=None)
@given(
    data=st.lists(
        st.sampled_from([b"<", b"f>", b"(", b" ", b"\n", b"A", b"b", b"_x", b"1", b".", b"CLV", b")"]), max_size=60
    ).map(b"".join),
    piece=st.integers(1, 12),
)
def test_called_names_read_in_pieces_find_every_call(data, piece):
    """Read in pieces cut before a "<" (a few megabytes each, not a reversed copy of the
    sheet), called_names finds what one forward pass over the whole text finds: every name
    followed by "(" (leading digits and dots dropped, as a name starts with a letter)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(formula, "_PIECE", piece)
        forward = {
            m.group(1).decode("latin-1").lstrip("0123456789.") for m in re.finditer(rb"([A-Za-z0-9_.]+)\s*\(", data)
        }
        assert formula.called_names(data) == forward - {""}
        pieces = list(formula._between_tags(data))
        assert b"".join(data[a:b] for a, b in pieces) == data
        assert all(data[b : b + 1] in (b"<", b"") for _, b in pieces)


_CELL_VALUE = st.one_of(st.floats(allow_nan=True), st.sampled_from(["text", True, None, ExcelError.DIV0]))


@given(st.lists(st.tuples(_CELL_VALUE, _CELL_VALUE), max_size=40))
def test_the_cells_to_look_at_are_every_cell_not_a_number_equal_to_libreoffice_s(pairs):
    """_differing finds them as they are asked for (no list of them): each cell once, in
    order, whose old or new value is not a float or whose two floats differ (NaN too)."""
    table = Table()
    for i, (old, _) in enumerate(pairs):
        table.numbers.append(old if type(old) is float else 0.0)
        if type(old) is not float:
            table.others[i] = old
    numbers = [new if type(new) is float else 0.0 for _, new in pairs]
    news = Values(memoryview(struct.pack(f"{len(numbers)}d", *numbers)).cast("d"), {}, {})
    news.others.update((i, new) for i, (_, new) in enumerate(pairs) if type(new) is not float)
    expected = [
        i for i, (old, new) in enumerate(pairs) if type(old) is not float or type(new) is not float or not (old == new)
    ]
    assert list(_differing(table, news)) == expected
