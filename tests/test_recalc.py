"""``xlfuncs recalc`` against a real LibreOffice: values, byte-identity, --check, bad inputs.

One LibreOffice (the ``office`` fixture) serves the tests that call the engine directly;
the command-line tests start their own, as the command does, in few, batched runs.
"""

from __future__ import annotations

import math
import re
import zipfile
from pathlib import Path

import defusedxml.ElementTree as SafeET
import openpyxl
import pytest
from openpyxl.worksheet.formula import ArrayFormula
from recalc_support import (
    MIXED_EXPECTED,
    decorated_workbook,
    encrypted,
    mixed_workbook,
    non_xlsx_zip,
    set_formula_text,
    sheet_without_values,
    simple,
    with_vba,
    xml_bomb,
    zip_bomb,
)
from typer.testing import CliRunner

from xlfuncs import registry
from xlfuncs.cli import app
from xlfuncs.recalc.engine import CHANGED, FAILED, UNCHANGED, recalc_file
from xlfuncs.recalc.office import Office

runner = CliRunner()


@pytest.fixture(scope="module")
def office():
    with Office() as instance:
        yield instance


def test_office_imports_the_add_in_while_it_starts(office):
    """The start-up job (recalc.warmup) ran in every LibreOffice we start: the add-in and
    numpy were imported on LibreOffice's spare core before the first request."""
    assert office._job({"op": "ping"})["warmed_up"] is True


def test_office_skips_the_graphics_render_tests():
    """LibreOffice starts without running its graphics render tests (0.87 s of a 1.05 s
    start): it writes their log into the profile before it listens, so a LibreOffice that
    answers without that log never ran them."""
    own = Office()
    own.shared = False  # a LibreOffice of its own, whose profile folder we can look into
    with own:
        own.ready()
        assert own._job({"op": "ping"})["python"]
        user = own.profile_dir / "profile" / "user"
        assert (user / "registrymodifications.xcu").exists()
        assert not (user / "GraphicsRenderTests.log").exists()


def test_office_warms_calc_up_with_a_workbook_it_loads_and_calculates(tmp_path):
    """The warm-up's tiny workbook (office._warm_workbook) is one LibreOffice loads and
    calculates; a warm-up that loads it leaves LibreOffice answering, nothing open."""
    from xlfuncs.recalc.office import _warm_workbook

    own = Office()
    own.shared = False
    with own:
        own.warm_up(calc=True)
        own.ready()  # the warm-up, tiny workbook included, is over
        assert (Path(own.work_dir) / "xlfuncs-warm-up.xlsx").exists()
        got = own.recalc(_warm_workbook(tmp_path), {"Sheet1": ([0], [1])})
        assert got["Sheet1"].value(0) == 4.0  # SUM(A1)*2, A1 = 2: calculated, not the cached 0


def values(path: Path, sheet: str | None = None) -> dict[str, object]:
    wb = openpyxl.load_workbook(path, data_only=True)
    ws = wb[sheet] if sheet else wb.worksheets[0]
    return {c.coordinate: c.value for row in ws.iter_rows() for c in row if c.value is not None}


def assert_close(actual, expected, where=""):
    if isinstance(expected, float) and isinstance(actual, (int, float)) and not isinstance(actual, bool):
        rel = 1e-6 if "SBG_FIT(" in where else 1e-9  # the contract gives the fit to 6 digits
        assert math.isclose(actual, expected, rel_tol=rel, abs_tol=1e-9), (where, actual, expected)
    else:
        assert actual == expected, (where, actual, expected)


def cli(*args: str):
    return runner.invoke(app, ["recalc", *args])


# ---------------------------------------------------------------------- values


def test_contract_examples_through_recalc(office, tmp_path):
    """Every worked example of the registry, evaluated inside LibreOffice by recalc."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Examples"
    expected = {}
    row = 1
    for fn in registry.FUNCTIONS.values():
        for formula, result in fn.examples:
            if isinstance(result, list):  # a spilled table: an array formula of its shape
                ref = f"A{row}:{openpyxl.utils.get_column_letter(len(result[0]))}{row + len(result) - 1}"
                for r, line in enumerate(result):
                    for c, value in enumerate(line):
                        # Excel writes every cell of an array formula's range; so do we.
                        ws[f"{openpyxl.utils.get_column_letter(c + 1)}{row + r}"] = 0
                        expected[f"{openpyxl.utils.get_column_letter(c + 1)}{row + r}"] = (formula, value)
                ws[f"A{row}"] = ArrayFormula(ref, formula)
                row += len(result)
            else:
                ws[f"A{row}"] = formula
                expected[f"A{row}"] = (formula, result)
                row += 1
    source = wb_path = tmp_path / "examples.xlsx"
    wb.save(wb_path)
    result = recalc_file(office, source, tmp_path / "out.xlsx", check=False)
    assert result.status == CHANGED, result.message
    got = values(tmp_path / "out.xlsx")
    for ref, (formula, value) in expected.items():
        assert_close(got.get(ref), value, f"{ref} {formula}")


def test_billing_chain_inside_calc(office, tmp_path):
    """A billing export -> MRR_FROM_SUBS -> COHORT_RETENTION counts -> SBG_FIT, each a
    spill feeding the next inside Calc, equals the same chain through the adapter."""
    import numpy as np

    from xlfuncs import adapter

    rng = np.random.default_rng(5)
    n = 600
    ids = [f"cus_{i}" for i in range(n)]
    starts = 45292 + rng.integers(0, 240, n)  # 2024-01-01 + up to 8 months
    months = rng.geometric(rng.beta(1.0, 3.0, n))  # each customer churns at its own rate
    ends = [float(s + 30.5 * m) if m < 24 else None for s, m in zip(starts, months)]
    amounts = rng.choice([29.0, 99.0, 299.0], n)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Subs"
    for row, subscription in enumerate(zip(ids, starts.tolist(), ends, amounts.tolist()), start=1):
        for col, value in enumerate(subscription, start=1):
            ws.cell(row, col, value)
    spill = adapter.call("MRR_FROM_SUBS", *([[v] for v in column] for column in (ids, starts.tolist(), ends, amounts)))
    fit = adapter.call("SBG_FIT", adapter.call("COHORT_RETENTION", spill, "count"))
    out = wb.create_sheet("Model")
    out["A1"] = ArrayFormula(
        "A1:B1",
        f'=SBG_FIT(COHORT_RETENTION(MRR_FROM_SUBS(Subs!A1:A{n},Subs!B1:B{n},Subs!C1:C{n},Subs!D1:D{n}),"count"))',
    )
    out["B1"] = 0
    source = tmp_path / "chain.xlsx"
    wb.save(source)
    result = recalc_file(office, source, tmp_path / "out.xlsx", check=False)
    assert result.status == CHANGED, result.message
    got = values(tmp_path / "out.xlsx", "Model")
    assert isinstance(fit, list), fit
    assert [got["A1"], got["B1"]] == pytest.approx(fit[0], rel=1e-9), (got, fit)


def test_builtins_and_ours_depend_on_each_other(office, tmp_path):
    source = mixed_workbook(tmp_path / "mixed.xlsx")
    result = recalc_file(office, source, tmp_path / "out.xlsx", check=False)
    assert result.status == CHANGED, result.message
    got = values(tmp_path / "out.xlsx", "Model")
    for ref, value in MIXED_EXPECTED.items():
        assert_close(got[ref], value, ref)
    # The value types as Excel writes them: number, str, b (logical), e (error).
    sheet = zipfile.ZipFile(tmp_path / "out.xlsx").read("xl/worksheets/sheet1.xml")
    assert re.search(rb'<c r="I1" t="b"><f>[^<]*</f><v>1</v></c>', sheet)
    assert re.search(rb'<c r="J1" t="e"><f>[^<]*</f><v>#DIV/0!</v></c>', sheet)
    assert re.search(rb'<c r="F1" t="str"><f>[^<]*</f><v>yellow</v></c>', sheet)


def test_every_spelling_excel_stores(office, tmp_path):
    """Plain, external-link, XLL, Office.js (namespace and _xldudf_) and path-qualified calls."""
    spellings = [
        "CLV(35,0.05)",
        "[1]!CLV(35,0.05)",
        "_xll.CLV(35,0.05)",
        "_xldudf_XLFUNCS_CLV(35,0.05)",
        "[2]!_xldudf_CLV(35,0.05)",
        "XLFUNCS.CLV(35,0.05)",
        "'C:\\addins\\xlfuncs.xlam'!CLV(35,0.05)",
        "xlfuncs.xlam!CLV(35,0.05)+0",
        "SUM(clv(35,0.05),_xll.Clv(35,0.05))/2",
    ]
    path = simple(tmp_path / "spellings.xlsx", {f"A{i}": "=1" for i in range(1, len(spellings) + 1)})
    for i, text in enumerate(spellings, start=1):
        set_formula_text(path, f"A{i}", text)
    result = recalc_file(office, path, tmp_path / "out.xlsx", check=False)
    assert result.status == CHANGED, result.message
    got = values(tmp_path / "out.xlsx")
    for i, text in enumerate(spellings, start=1):
        assert got[f"A{i}"] == 700, text
    # The original spelling stays in the file: only the value changed.
    sheet = zipfile.ZipFile(tmp_path / "out.xlsx").read("xl/worksheets/sheet1.xml").decode()
    assert "[1]!CLV(35,0.05)" in sheet and "_xldudf_XLFUNCS_CLV" in sheet


def test_empty_cells_keep_their_contract_meaning(office, tmp_path):
    path = simple(
        tmp_path / "blanks.xlsx",
        {
            "A1": 35,
            "B1": 0.05,
            "D1": 46000,
            "F1": "=CLV(A1,B1,C1)",  # empty margin: default 1, not 0
            "F2": "=TTFV(D1,E1)",  # empty first_value: not reached yet
            "F3": "=CLV(A1,C1)",  # empty required churn: 0 -> #DIV/0!
            "F4": "=NET_MRR(A1,C1,C1,C1,C1)",
            "F5": "=CLV(A1:A2,B1)",  # a range in: an array out (first cell in a plain cell)
        },
    )
    recalc_file(office, path, tmp_path / "out.xlsx", check=False)
    got = values(tmp_path / "out.xlsx")
    assert got["F1"] == 700
    assert got["F2"] == "#N/A"
    assert got["F3"] == "#DIV/0!"
    assert got["F4"] == 35
    assert got["F5"] == 700


# ---------------------------------------------------------------------- only values change


def _zip(path: Path) -> tuple[list[zipfile.ZipInfo], dict[str, bytes]]:
    with zipfile.ZipFile(path) as z:
        return z.infolist(), {i.filename: z.read(i) for i in z.infolist()}


def assert_only_values_changed(before: Path, after: Path) -> None:
    infos_before, parts_before = _zip(before)
    infos_after, parts_after = _zip(after)
    assert [i.filename for i in infos_before] == [i.filename for i in infos_after]
    for old, new in zip(infos_before, infos_after):
        assert (old.date_time, old.compress_type, old.external_attr) == (
            new.date_time,
            new.compress_type,
            new.external_attr,
        )
    for name, data in parts_before.items():
        if name.startswith("xl/worksheets/sheet"):
            assert sheet_without_values(parts_after[name]) == sheet_without_values(data), name
        else:
            assert parts_after[name] == data, name
    # Constants and formulas as openpyxl reads them: equal.
    wb_before, wb_after = openpyxl.load_workbook(before), openpyxl.load_workbook(after)
    for ws in wb_before:
        members = set()  # cells of array formulas' ranges: values of formula cells
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, ArrayFormula):
                    members |= {c.coordinate for line in ws[cell.value.ref] for c in line} - {cell.coordinate}
        for row in ws.iter_rows():
            for cell in row:
                if cell.coordinate in members:
                    continue
                other = wb_after[ws.title][cell.coordinate].value
                if isinstance(cell.value, ArrayFormula):
                    assert (cell.value.ref, cell.value.text) == (other.ref, other.text)
                else:
                    assert other == cell.value, cell.coordinate


def test_only_cached_values_change(office, tmp_path):
    source = decorated_workbook(tmp_path / "decorated.xlsx")
    original = source.read_bytes()
    result = recalc_file(office, source, tmp_path / "out.xlsx", check=False)
    assert result.status == CHANGED, result.message
    assert source.read_bytes() == original  # the input is never touched
    names = [i.filename for i in zipfile.ZipFile(source).infolist()]
    assert any("chart" in n for n in names) and any("comments" in n for n in names)
    assert_only_values_changed(source, tmp_path / "out.xlsx")
    got = values(tmp_path / "out.xlsx")
    assert got["C2"] == 700 and got["E1"] == pytest.approx(700 + 5000 + 500 + 2000)
    assert got["E2"] == pytest.approx(8.2)
    assert [got[f"{c}20"] for c in "HIJKLM"] == [200, 50, 0, 0, -50, 200]
    assert [got[f"{c}22"] for c in "HIJKLM"] == [60, 0, 80, 0, -150, -10]
    wb = openpyxl.load_workbook(tmp_path / "out.xlsx")
    assert "TotalCAC" in wb.defined_names
    assert wb["Data"].data_validations.dataValidation[0].sqref is not None
    assert wb["Data"]["A1"].comment.text == "revenue per customer per period"


def test_xlsm_keeps_its_vba_project(office, tmp_path):
    base = simple(tmp_path / "base.xlsx", {"A1": 35, "B1": "=CLV(A1,0.05)"})
    payload = bytes(range(256)) * 64
    source = with_vba(base, tmp_path / "macro.xlsm", payload)
    result = recalc_file(office, source, tmp_path / "out.xlsm", check=False)
    assert result.status == CHANGED, result.message
    assert zipfile.ZipFile(tmp_path / "out.xlsm").read("xl/vbaProject.bin") == payload
    assert_only_values_changed(source, tmp_path / "out.xlsm")
    assert values(tmp_path / "out.xlsm")["B1"] == 700


def test_recalc_is_idempotent(office, tmp_path):
    source = mixed_workbook(tmp_path / "mixed.xlsx")
    first = tmp_path / "first.xlsx"
    second = tmp_path / "second.xlsx"
    assert recalc_file(office, source, first, check=False).status == CHANGED
    result = recalc_file(office, first, second, check=False)
    assert result.status == UNCHANGED and result.change_count == 0
    assert second.read_bytes() == first.read_bytes()


# ---------------------------------------------------------------------- command line


def test_check_exit_codes_and_listing(tmp_path):
    stale = simple(tmp_path / "stale.xlsx", {"A1": 35, "B1": "=CLV(A1,0.05)"})
    clean = tmp_path / "clean.xlsx"
    result = cli(str(stale), "-o", str(clean))
    assert result.exit_code == 0, result.output
    errors = simple(tmp_path / "errors.xlsx", {"A1": "=CLV(35,0)"})
    before = {p: p.read_bytes() for p in (stale, clean, errors)}

    result = cli("--check", str(clean))
    assert result.exit_code == 0, result.output
    result = cli("--check", str(stale), str(clean), str(errors))
    assert result.exit_code == 1
    assert "stale.xlsx: Sheet!B1: (none) -> 700" in result.output
    assert "errors.xlsx: Sheet!A1: (none) -> #DIV/0!" in result.output
    assert "clean.xlsx" not in result.stdout
    assert {p: p.read_bytes() for p in before} == before  # --check writes nothing
    assert "3 files" in result.output


def test_usage_errors():
    assert cli("x.xlsx").exit_code == 2  # no -o, --in-place or --check
    assert cli("x.xlsx", "--check", "--in-place").exit_code == 2
    assert cli("x.xlsx", "--check", "--shard", "3/2").exit_code == 2


def test_bad_inputs_fail_alone_and_name_the_file(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    good = simple(inputs / "a_good.xlsx", {"A1": 35, "B1": "=CLV(A1,0.05)"})
    (inputs / "b_corrupt.xlsx").write_bytes(b"PK\x03\x04 this is not really a zip")
    (inputs / "c_text.xlsx").write_text("plain text, not a workbook")
    non_xlsx_zip(inputs / "d_other.xlsx")
    encrypted(inputs / "e_encrypted.xlsx")
    zip_bomb(inputs / "f_zipbomb.xlsx")
    xml_bomb(good, inputs / "g_xmlbomb.xlsx")
    simple(inputs / "h_circular.xlsx", {"A1": "=B1+1", "B1": "=A1*2", "C1": "=CLV(35,0.05)"})
    simple(inputs / "i_unknown.xlsx", {"A1": 1, "B2": "=FOOBAR(A1)+1"})
    before = {p: p.read_bytes() for p in inputs.iterdir()}
    out = tmp_path / "out"
    result = cli(str(inputs), "-o", str(out), "--jobs", "1")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()

    def line_for(name):
        found = [line for line in lines if name in line]
        assert len(found) == 1, (name, lines)
        return found[0]

    assert "corrupt zip" in line_for("b_corrupt.xlsx") or "not an xlsx" in line_for("b_corrupt.xlsx")
    assert "not an xlsx/xlsm file" in line_for("c_text.xlsx")
    assert "not an xlsx/xlsm file" in line_for("d_other.xlsx")
    assert "encrypted" in line_for("e_encrypted.xlsx")
    assert "zip bomb" in line_for("f_zipbomb.xlsx")
    assert "XML bomb" in line_for("g_xmlbomb.xlsx")
    assert re.search(r"circular reference at Sheet!(A1|B1)", line_for("h_circular.xlsx"))
    assert "unknown function FOOBAR at Sheet!B2" in line_for("i_unknown.xlsx")
    assert "8 failed" in result.stderr
    # The good file went through; nothing was written for the bad ones; inputs untouched.
    assert [p.name for p in out.iterdir()] == ["a_good.xlsx"]
    assert values(out / "a_good.xlsx")["B1"] == 700
    assert {p: p.read_bytes() for p in inputs.iterdir()} == before


def test_in_place_jobs_shard_and_report(tmp_path):
    files = [simple(tmp_path / f"m{i}.xlsx", {"A1": 10 * (i + 1), "B1": "=CLV(A1,0.05)"}) for i in range(3)]
    report = tmp_path / "junit.xml"
    # Shard 1/2 of three files: the first and the third, in path order.
    result = cli(*map(str, files), "--in-place", "--jobs", "2", "--shard", "1/2", "--report", str(report))
    assert result.exit_code == 0, result.output
    assert values(files[0])["B1"] == 200 and values(files[2])["B1"] == 600
    assert "B1" not in values(files[1])  # not in this shard: untouched
    suite = SafeET.parse(report).getroot().find("testsuite")
    assert suite.get("tests") == "2" and suite.get("failures") == "0" and suite.get("errors") == "0"
    assert sorted(Path(c.get("name")).name for c in suite.iter("testcase")) == ["m0.xlsx", "m2.xlsx"]
    result = cli(str(files[1]), "--check", "--report", str(report))
    assert result.exit_code == 1
    failure = SafeET.parse(report).getroot().find("testsuite/testcase/failure")
    assert failure is not None and "Sheet!B1" in failure.text


def test_bad_file_through_the_engine_names_the_cell(office, tmp_path):
    path = simple(tmp_path / "circ.xlsx", {"A1": "=CLV(B1,0.05)", "B1": "=A1"})
    result = recalc_file(office, path, tmp_path / "out.xlsx", check=False)
    assert result.status == FAILED
    assert result.message.startswith("circular reference at Sheet!")
    assert not (tmp_path / "out.xlsx").exists()


def test_column_groups_compute_what_single_cells_compute(office, tmp_path, monkeypatch):
    """A column of one element-wise call goes to Calc as one array formula: same values."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Cohort"
    rows = 40
    for r in range(2, rows + 2):
        ws[f"A{r}"] = 10 + r
        ws[f"B{r}"] = 0.01 * (r % 7)  # churn 0 every 7th row: #DIV/0!
        if r % 5:
            ws[f"C{r}"] = 0.5 + r / 100  # margin; empty every 5th row: the default 1
        ws[f"D{r}"] = f"=CLV(A{r},B{r},C{r})"
        ws[f"E{r}"] = f"=LTV_CAC(D{r},$H$1)"  # a group on a group
        ws[f"F{r}"] = f"=TTFV(A{r},G{r})"  # empty first_value: #N/A
    ws["A9"] = "text"  # #VALUE! in one row only
    ws["B12"] = "=1/0"  # an error argument passes through, in its row only
    ws["H1"] = 50
    ws["H2"] = f"=IFERROR(SUM(D2:D{rows + 1}),-1)"
    ws["H3"] = f"=SUMPRODUCT(ISERROR(D2:D{rows + 1})*1)"
    source = save_to(wb, tmp_path / "groups.xlsx")
    grouped, single = tmp_path / "grouped.xlsx", tmp_path / "single.xlsx"
    assert recalc_file(office, source, grouped, check=False).status == CHANGED
    monkeypatch.setenv("XLFUNCS_RECALC_VECTORISE", "0")
    assert recalc_file(office, source, single, check=False).status == CHANGED
    got, expected = values(grouped), values(single)
    assert got == expected
    assert got["D9"] == "#VALUE!" and got["D12"] == "#DIV/0!" and got["D7"] == "#DIV/0!"
    assert got["D5"] == pytest.approx(15 * 1 / 0.05)  # empty margin: 1
    assert got["F2"] == "#N/A" and got["H3"] == sum(1 for r in range(2, rows + 2) if r % 7 == 0 or r in (9, 12))


def save_to(wb, path):
    wb.save(path)
    return path
