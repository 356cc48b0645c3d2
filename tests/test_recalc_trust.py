"""Issue 13: recalc as a CI gate one can trust.

Honest ``--check`` (stale values only, at Excel's precision; volatile cells and stable
error values listed, not failed), ``--diff``, GitHub annotations, JUnit for every input;
complete spills; a read-back safety check before every write; values read and written as
Excel does. Each test here failed on the code before the issue was worked on.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import defusedxml.ElementTree as SafeET
import openpyxl
import pytest
from openpyxl.worksheet.formula import ArrayFormula
from typer.testing import CliRunner
from xlsx_builder import STYLES_TRUE_FORMAT, cell, rows, sheet_xml, xlsx

from xlfuncs.cli import app
from xlfuncs.recalc.engine import CHANGED, FAILED, UNCHANGED, recalc_file
from xlfuncs.recalc.office import Office
from xlfuncs.recalc.workbook import Workbook
from xlfuncs.xlsx import cells as wbmod
from xlfuncs.xlsx import package as pkgmod

runner = CliRunner()


@pytest.fixture(scope="module")
def office():
    with Office(threaded=False) as instance:
        yield instance


def cli(*args: str):
    return runner.invoke(app, ["recalc", "--jobs", "1", *args])


def cached(path: Path, index: int = 0) -> dict:
    """Cached values as recalc's own reader sees them, after an XML well-formedness check."""
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.endswith((".xml", ".rels")):
                SafeET.fromstring(z.read(name))  # raises on ill-formed XML
    sheet = Workbook(path).sheets[index]
    return {c.ref: c.old for c in sheet.cells}


def values(path: Path, sheet: str | None = None) -> dict:
    wb = openpyxl.load_workbook(path, data_only=True)
    ws = wb[sheet] if sheet else wb.worksheets[0]
    return {c.coordinate: c.value for row in ws.iter_rows() for c in row if c.value is not None}


# ---------------------------------------------------------------------- --check


def test_generated_workbooks_pass_check(tmp_path):
    """Every template in every edition: English, Spanish, with the add-in and native."""
    from xlfuncs.templates import TEMPLATES

    paths = []
    for template in TEMPLATES:
        for name, flags in [
            ("en", []),
            ("native", ["--native"]),
            ("es", ["--lang", "es"]),
            ("esn", ["--native", "--lang", "es"]),
        ]:
            path = tmp_path / f"{template}-{name}.xlsx"
            result = runner.invoke(app, ["generate", template, "-o", str(path), *flags])
            assert result.exit_code == 0, result.output
            paths.append(str(path))
    assert len(paths) >= 8
    result = cli("--check", *paths)
    assert result.exit_code == 0, result.output
    assert "0 with stale values" in result.output


def test_last_digit_noise_and_line_ends_are_not_changes():
    same = wbmod.same_value
    assert same(3050.25057680024, 3050.25057680025)
    assert same(-45.26697306200833, -45.26697306200754)  # cancellation noise, 14th digit
    assert not same(3050.2505768, 3050.2505769)
    assert not same(1e-13, 0.0)
    assert same("a\r\nb", "a\nb")
    assert not same("a b", "a  b")


def test_check_stale_values_errors_and_volatile_cells(tmp_path):
    stable = xlsx(
        tmp_path / "stable.xlsx",
        {"S": rows(cell("A1", "NA()", "#N/A", t="e"), cell("B1", "1/0", "#DIV/0!", t="e"), cell("C1", "1+1", 2))},
    )
    volatile = xlsx(
        tmp_path / "volatile.xlsx",
        {
            "S": rows(
                cell("A1", "RAND()", 2.5),
                cell("B1", "A1*0+NOW()*0+A1", 2.5),  # depends on a volatile cell
                cell("C1", "TODAY()", 1),
                cell("D1", "1+1", 2),
            )
        },
    )
    stale = xlsx(tmp_path / "stale.xlsx", {"S": rows(cell("A1", "1+1", 3))})
    result = cli("--check", str(stable), str(volatile))
    assert result.exit_code == 0, result.output
    assert "2 error values" in result.output and "S!A1, S!B1" in result.output
    assert "volatile" in result.output and "S!A1" in result.output
    result = cli("--check", "--fail-on-errors", str(stable))
    assert result.exit_code == 1
    assert "S!A1: #N/A (error value)" in result.output
    result = cli("--check", str(stale))
    assert result.exit_code == 1
    assert "stale.xlsx: S!A1: 3 -> 2" in result.output


def test_diff_github_and_junit(tmp_path):
    stale = xlsx(tmp_path / "stale.xlsx", {"S": rows(cell("A1", "1+1", 3), cell("B1", "NA()", "#N/A", t="e"))})
    odd = xlsx(tmp_path / "odd\x01name & <x>.xlsx", {"S": rows(cell("A1", "1+1", 2))})
    before = stale.read_bytes()
    result = cli("--diff", str(stale))
    assert result.exit_code == 0, result.output
    assert f"--- {stale}" in result.stdout and "\nS!A1: 3 -> 2\n" in result.stdout
    assert stale.read_bytes() == before
    assert cli("--diff", "--check", str(stale)).exit_code == 1
    result = cli("--check", "--output-format", "github", str(stale))
    assert result.exit_code == 1
    assert f"::error file={stale},title=xlfuncs recalc::S!A1: 3 -> 2" in result.stdout
    report = tmp_path / "junit.xml"
    missing = tmp_path / "gone.xlsx"
    result = cli("--check", "--report", str(report), str(stale), str(odd), str(missing))
    assert result.exit_code == 1
    suite = SafeET.parse(report).getroot().find("testsuite")
    names = [c.get("name") for c in suite.iter("testcase")]
    assert len(names) == 3 and str(missing) in names and any("odd" in n for n in names)
    assert suite.get("tests") == "3" and suite.get("failures") == "1" and suite.get("errors") == "1"


# ---------------------------------------------------------------------- spills


def test_array_formula_written_as_anchor_only_fills_its_range(office, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "S"
    for r, v in enumerate([1, 2, 3], start=2):
        ws[f"A{r}"] = v
    ws["E2"] = ArrayFormula("E2:E4", "=A2:A4*2")  # openpyxl writes the anchor only
    ws["G3"] = ArrayFormula("G3:H3", "=CLV(A2:A3,0.05)*0+{5,6}")  # a row with a cell after it
    ws["I3"] = "after"
    ws["B7"] = "below"
    ws["B6"] = ArrayFormula("B6:C6", "={7,8}")  # a row that does not exist
    source = tmp_path / "spill.xlsx"
    wb.save(source)
    out = tmp_path / "out.xlsx"
    result = recalc_file(office, source, out, check=False)
    assert result.status == CHANGED, result.message
    got = values(out, "S")
    assert [got.get(f"E{r}") for r in (2, 3, 4)] == [2, 4, 6]
    assert (got.get("G3"), got.get("H3"), got.get("I3")) == (5, 6, "after")
    assert (got.get("B6"), got.get("C6"), got.get("B7")) == (7, 8, "below")
    sheet = sheet_xml(out).decode()
    refs = re.findall(r'<c r="([A-Z]+)3"', sheet)
    assert refs == sorted(refs, key=lambda r: (len(r), r))  # cells in column order
    assert recalc_file(office, out, tmp_path / "again.xlsx", check=False).status == UNCHANGED


def test_spill_reference_resolves_to_the_spill(office, tmp_path):
    source = xlsx(
        tmp_path / "anchor.xlsx",
        {
            "S": rows(
                cell("A1", None, 1),
                cell("A2", None, 2),
                cell("A3", None, 3),
                cell("C1", "A1:A3*10", 10, f_attrs=' t="array" ref="C1:C3"'),
                cell("C2", None, 20),
                cell("C3", None, 30),
                cell("E1", "SUM(_xlfn.ANCHORARRAY(C1))", 0),
            )
        },
    )
    out = tmp_path / "out.xlsx"
    result = recalc_file(office, source, out, check=False)
    assert result.status == CHANGED, result.message
    assert cached(out)["E1"] == 60


# ---------------------------------------------------------------------- safety


def test_control_characters_are_written_escaped(office, tmp_path):
    source = xlsx(tmp_path / "ctl.xlsx", {"S": rows(cell("A1", 'CHAR(1)&"x"'), cell("B1", 'CHAR(11)&"_x0041_"'))})
    out = tmp_path / "out.xlsx"
    result = recalc_file(office, source, out, check=False)
    assert result.status == CHANGED, result.message
    data = sheet_xml(out)
    assert b"\x01" not in data and b"\x0b" not in data
    assert b"<v>_x0001_x</v>" in data and b"_x005F_x0041_" in data
    assert cached(out) == {"A1": "\x01x", "B1": "\x0b_x0041_"}


def test_safety_check_keeps_the_original(office, tmp_path, monkeypatch):
    source = xlsx(tmp_path / "s.xlsx", {"S": rows(cell("A1", "1+1", 3))})
    target = tmp_path / "t.xlsx"
    target.write_bytes(b"previous")
    monkeypatch.setattr(wbmod, "number_text", lambda value: "<oops")
    result = recalc_file(office, source, target, check=False)
    assert result.status == FAILED and "safety check failed" in result.message
    assert target.read_bytes() == b"previous"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_values_libreoffice_cannot_compute_keep_their_cached_value(office, tmp_path):
    source = xlsx(
        tmp_path / "lacks.xlsx",
        {
            "S": rows(
                cell("A1", None, 1),
                cell("B1", None, 42),
                cell("C1", "IFERROR(_xlfn.XLOOKUP(1,A1:A1,B1:B1),0)", 42),
                cell("D1", "C1*2", 0),  # stale, computed from the kept value
                cell("E1", "Double(21)", 42),  # a LAMBDA in a defined name
                cell("F1", "Seq", 7),
                cell("G1", "1+1", 2),
                cell("H1", "Tripled+1", 7),  # LET in a defined name
            )
        },
        names={
            "Double": "_xlfn.LAMBDA(_xlpm.x,_xlpm.x*2)",
            "Seq": "SUM(_xlfn.SEQUENCE(3))+1",
            "Tripled": "_xlfn.LET(_xlpm.a,2,_xlpm.a*3)",
        },
    )
    out = tmp_path / "out.xlsx"
    result = recalc_file(office, source, out, check=False)
    assert result.status == CHANGED, result.message
    got = cached(out)
    assert (got["C1"], got["D1"], got["E1"], got["F1"], got["G1"], got["H1"]) == (42, 84, 42, 7, 2, 7)
    kept = "\n".join(result.kept)
    assert (
        "S!C1" in kept
        and "XLOOKUP" in kept
        and "S!E1" in kept
        and "S!F1" in kept
        and "SEQUENCE" in kept
        and "LET" in kept
    )


def test_conditional_format_with_a_missing_function_is_reported(tmp_path):
    rule = (
        '<conditionalFormatting sqref="A1"><cfRule type="expression" priority="1">'
        "<formula>_xlfn.XLOOKUP(1,A1:A2,B1:B2)=1</formula></cfRule></conditionalFormatting>"
    )
    source = xlsx(tmp_path / "cf.xlsx", {"S": rows(cell("A1", "1+1", 2))}, after={"S": rule})
    result = cli("--check", str(source))
    assert result.exit_code == 0, result.output
    assert "S: a conditional format calls XLOOKUP, which LibreOffice lacks" in result.output


def test_two_sheets_of_one_name_are_refused(office, tmp_path):
    source = xlsx(tmp_path / "dup.xlsx", [("S", rows(cell("A1", "1+1", 3))), ("s", rows(cell("A1", "2+2", 3)))])
    result = recalc_file(office, source, tmp_path / "out.xlsx", check=False)
    assert result.status == FAILED and "two sheets are named" in result.message
    assert not (tmp_path / "out.xlsx").exists()


# ---------------------------------------------------------------------- Excel fidelity


def test_excel_string_escapes_and_empty_text(tmp_path):
    source = xlsx(
        tmp_path / "strings.xlsx",
        {
            "S": rows(
                cell("A1", '"a"&CHAR(1)', "a_x0001_", t="str"),
                cell("B1", '""', "<v/>", t="str"),
                cell("C1", "1+1", "<v/>"),  # openpyxl's "no value"
            )
        },
    )
    got = cached(source)
    assert got == {"A1": "a\x01", "B1": "", "C1": None}


def test_excel_fidelity_through_libreoffice(office, tmp_path):
    long = 'REPT("x",20000)&REPT("y",20000)'
    source = xlsx(
        tmp_path / "fidelity.xlsx",
        {
            "S": rows(
                cell("A1", '""', "<v/>", t="str"),  # an empty text, cached as Excel does
                cell("B1", '" padded "'),
                cell("C1", "2-1", extra=' s="1"'),  # shown as "TRUE" by its format: a number
                cell("D1", "1=1"),
                cell("E1", long, "kept", t="str"),
                cell("F1", 'CHAR(13)&CHAR(10)&"x"', "\r\nx", t="str"),
            )
        },
        styles=STYLES_TRUE_FORMAT,
    )
    out = tmp_path / "out.xlsx"
    result = recalc_file(office, source, out, check=False)
    assert result.status == CHANGED, result.message
    assert not any("A1" in line or "F1" in line for line in result.changes)
    data = sheet_xml(out)
    assert b'<v xml:space="preserve"> padded </v>' in data
    assert re.search(rb'<c r="C1" s="1"><f>2-1</f><v>1</v></c>', data)
    assert re.search(rb'<c r="D1" t="b"><f>1=1</f><v>1</v></c>', data)
    got = cached(out)
    assert got["E1"] == "kept" and any("S!E1" in line and "32767" in line for line in result.kept)


def test_vectorised_column_chain_is_not_circular(office, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "S"
    ws["D2"] = 50
    for r in range(2, 40):
        ws[f"C{r}"] = f"=CLV(D{r},0.05)"
        if r > 2:
            ws[f"D{r}"] = f"=C{r - 1}/1000+1"
    source = tmp_path / "chain.xlsx"
    wb.save(source)
    out = tmp_path / "out.xlsx"
    result = recalc_file(office, source, out, check=False)
    assert result.status == CHANGED, result.message
    got = values(out, "S")
    assert got["C2"] == pytest.approx(1000) and got["D3"] == pytest.approx(2)
    assert got["C3"] == pytest.approx(40)


def test_known_differences_are_labelled(tmp_path):
    source = xlsx(
        tmp_path / "countif.xlsx",
        {"S": rows(cell("A1", None, 23), cell("A2", None, "23", t="str"), cell("B1", 'COUNTIF(A1:A2,"23")', 99))},
    )
    result = cli("--check", str(source))
    assert result.exit_code == 1
    assert "LibreOffice differs from Excel for COUNTIF" in result.output


def test_known_differences_table_matches_readme():
    from xlfuncs.recalc.fidelity import KNOWN_DIFFERENCES

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert KNOWN_DIFFERENCES
    for difference in KNOWN_DIFFERENCES:
        assert f"| `{difference.function}` | {difference.case} |" in readme, difference.function


MRR = [[100, 150, 150, 0], [0, 200, 100, 100], [50, 0, 0, 80], [0, 0, 0, 60]]
TABLE = [[200, 50, 0, 0, -50, 200], [0, 0, 0, -100, 0, -100], [60, 0, 80, 0, -150, -10]]


def _dynamic_book(path: Path, periods: int, stored_rows: int, blocker: str | None = None) -> Path:
    """MRR_MOVEMENTS over ``periods`` periods as an Excel 365 dynamic array stored with
    ``stored_rows`` rows (so the stored spill is stale)."""
    last = "ABCD"[periods - 1]
    data = [cell(f"{'ABCD'[c]}{r + 1}", None, MRR[r][c]) for r in range(4) for c in range(periods)]
    spill = []
    for r in range(stored_rows):
        for c, letter in enumerate("FGHIJK"):
            ref = f"{letter}{r + 1}"
            if r == c == 0:
                spill.append(
                    cell(
                        ref,
                        f"MRR_MOVEMENTS(A1:{last}4)",
                        0,
                        extra=' cm="1"',
                        f_attrs=f' t="array" ref="F1:K{stored_rows}"',
                    )
                )
            else:
                spill.append(cell(ref, None, 0))
    if blocker:
        spill.append(cell(blocker, None, "in the way", t="str"))
    cells = sorted(data + spill, key=lambda c: (int(re.search(r'r="[A-Z]+(\d+)"', c).group(1)), c.split('r="')[1]))
    return xlsx(path, {"S": rows(*cells)}, dynamic=True)


def test_dynamic_array_grows_and_pandas_sees_the_table(office, tmp_path):
    import pandas as pd

    source = _dynamic_book(tmp_path / "grow.xlsx", periods=4, stored_rows=2)
    out = tmp_path / "out.xlsx"
    result = recalc_file(office, source, out, check=False)
    assert result.status == CHANGED, result.message
    assert b'ref="F1:K3"' in sheet_xml(out)
    frame = pd.read_excel(out, header=None, usecols="F:K").dropna(how="all")
    assert frame.values.tolist() == TABLE
    assert recalc_file(office, out, tmp_path / "again.xlsx", check=False).status == UNCHANGED


def test_dynamic_array_shrinks_and_clears_what_it_left(office, tmp_path):
    source = _dynamic_book(tmp_path / "shrink.xlsx", periods=3, stored_rows=4)
    out = tmp_path / "out.xlsx"
    result = recalc_file(office, source, out, check=False)
    assert result.status == CHANGED, result.message
    data = sheet_xml(out)
    assert b'ref="F1:K2"' in data and b'<c r="F3"/>' in data and b'<c r="K4"/>' in data
    got = values(out)
    assert not any(k[0] in "FGHIJK" and int(k[1:]) > 2 for k in got)
    assert [got[f"{c}1"] for c in "FGHIJK"] == TABLE[0]


def test_blocked_dynamic_array_is_spill_error(office, tmp_path):
    source = _dynamic_book(tmp_path / "blocked.xlsx", periods=4, stored_rows=2, blocker="H3")
    out = tmp_path / "out.xlsx"
    result = recalc_file(office, source, out, check=False)
    assert result.status == CHANGED, result.message
    data = sheet_xml(out)
    assert re.search(rb'<c r="F1" cm="1" t="e"><f t="array" ref="F1">[^<]*</f><v>#SPILL!</v></c>', data), data
    got = values(out)
    assert got["H3"] == "in the way" and "G1" not in got and "F2" not in got


def test_sheet_names_libreoffice_renames_are_not_left_stale(office, tmp_path):
    source = xlsx(
        tmp_path / "names.xlsx",
        [
            ("a:b", rows(cell("A1", None, 5), cell("B1", "A1*3", 0))),
            ("Main", rows(cell("A1", "'a:b'!A1*2", 0), cell("B1", "'a:b'!B1+1", 0))),
        ],
    )
    out = tmp_path / "out.xlsx"
    result = recalc_file(office, source, out, check=False)
    assert result.status == CHANGED, result.message
    assert cached(out, 0)["B1"] == 15  # the sheet itself: found by its position
    # References to it by name do not resolve in LibreOffice: kept and reported, not #NAME?.
    assert cached(out, 1) == {"A1": 0, "B1": 0}
    assert len(result.kept) == 2 and "renames sheet 'a:b'" in result.kept[0]


def test_logicals_whatever_the_locale(tmp_path, monkeypatch):
    """Under a German locale LibreOffice shows WAHR/FALSCH: logicals must still be logicals."""
    monkeypatch.setenv("LANG", "de_DE.UTF-8")
    monkeypatch.setenv("LC_ALL", "de_DE.UTF-8")
    monkeypatch.setenv("LANGUAGE", "de")
    source = xlsx(tmp_path / "de.xlsx", {"S": rows(cell("A1", "1=1"), cell("B1", "ISERROR(1)"), cell("C1", "2-1"))})
    out = tmp_path / "out.xlsx"
    with Office(threaded=False) as german:
        result = recalc_file(german, source, out, check=False)
    assert result.status == CHANGED, result.message
    assert cached(out) == {"A1": True, "B1": False, "C1": 1.0}
    assert type(cached(out)["C1"]) is float


def test_cells_are_inserted_in_order():
    data = (
        b'<worksheet><sheetData><row r="2"><c r="B2"><v>1</v></c><c r="D2"><v>2</v></c></row>'
        b'<row r="4" spans="1:3"/><row r="6"><c r="A6"/></row></sheetData></worksheet>'
    )
    new = {(1, 0): b'<c r="A2"/>', (1, 2): b'<c r="C2"/>', (1, 5): b'<c r="F2"/>', (2, 1): b'<c r="B3"/>'}
    new |= {(3, 0): b'<c r="A4"/>', (7, 0): b'<c r="A8"/>'}
    out = wbmod.insert_cells(data, b"", new)
    assert out == (
        b'<worksheet><sheetData><row r="2"><c r="A2"/><c r="B2"><v>1</v></c><c r="C2"/><c r="D2"><v>2</v></c>'
        b'<c r="F2"/></row><row r="3"><c r="B3"/></row><row r="4" spans="1:3"><c r="A4"/></row>'
        b'<row r="6"><c r="A6"/></row><row r="8"><c r="A8"/></row></sheetData></worksheet>'
    )
    pkgmod.well_formed("x", out)
