"""Issue 10: the fast paths of recalc give the same files as the plain ones.

A batch with a core to spare scans a workbook while LibreOffice loads it (the copy made
from the raw XML, the rest of the XML check deferred); ``--jobs 1`` does one after the
other. Names called on a sheet are found in one backward pass per name; LibreOffice's
function list is kept beside its profile. Each test compares a fast path with the
plain one, or breaks the fast path's input and expects the plain outcome.
"""

from __future__ import annotations

import gc
import re
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from recalc_support import mixed_workbook
from xlsx_builder import cell, rows, xlsx

from xlfuncs.recalc import engine
from xlfuncs.recalc.engine import CHANGED, FAILED, recalc_file
from xlfuncs.recalc.formula import called_names
from xlfuncs.recalc.office import FUNCTION_LIST, SINGLE_THREADED, Office, Values
from xlfuncs.recalc.workbook import Workbook


@pytest.fixture(scope="module")
def offices():
    with Office(threaded=True) as overlapping, Office(threaded=False) as sequential:
        yield overlapping, sequential


def _column_of_calls(path: Path, count: int = 40, shared: bool = False) -> Path:
    """Inputs in A:B, CLV down C (a column group), built-ins over it in D and E1."""
    cells = []
    for r in range(1, count + 1):
        cells += [cell(f"A{r}", None, 10 + r), cell(f"B{r}", None, 0.05)]
        if shared and r > 1:
            cells.append(cell(f"C{r}", "", 1, f_attrs=' t="shared" si="0"'))
        elif shared:
            cells.append(cell(f"C{r}", "CLV(A1,B1)", 1, f_attrs=f' t="shared" ref="C1:C{count}" si="0"'))
        else:
            cells.append(cell(f"C{r}", f"CLV(A{r},B{r})", 1))
        cells.append(cell(f"D{r}", f"C{r}*2", 1))
    cells.append(cell("E1", f"SUM(C1:C{count})", 1))
    return xlsx(path, {"Model": rows(*cells)})


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


@pytest.mark.parametrize(
    "make",
    [
        lambda p: mixed_workbook(p),
        lambda p: _column_of_calls(p),
        lambda p: _column_of_calls(p, shared=True),  # our calls in a shared formula: scanned first
    ],
    ids=["mixed", "column", "shared-column"],
)
def test_scanning_while_libreoffice_loads_writes_the_same_file(offices, tmp_path, make):
    source = make(tmp_path / "in.xlsx")
    outputs = []
    for office, name in zip(offices, ("overlapping", "sequential")):
        target = tmp_path / f"{name}.xlsx"
        result = recalc_file(office, source, target, check=False)
        assert result.status == CHANGED, result.message
        outputs.append((_parts(target), result.changes, result.errors))
    assert outputs[0] == outputs[1]


def test_only_a_workbook_whose_copy_needs_no_scan_overlaps(tmp_path):
    known = {"SUM", "ROUND", "IF", "VLOOKUP"}
    plain = Workbook(_column_of_calls(tmp_path / "plain.xlsx"), scan=False)
    shared = Workbook(_column_of_calls(tmp_path / "shared.xlsx", shared=True), scan=False)
    lacking = Workbook(
        xlsx(tmp_path / "lacking.xlsx", {"S": rows(cell("A1", "_xlfn.XLOOKUP(1,B1:B2,C1:C2)", 1))}), scan=False
    )
    assert engine._can_overlap(plain, known, "LibreOffice")
    assert not engine._can_overlap(shared, known, "LibreOffice")
    assert not engine._can_overlap(lacking, known, "LibreOffice")
    assert not any(sheet.scanned for book in (plain, shared, lacking) for sheet in book.sheets)


def test_a_sheet_malformed_after_its_root_fails_while_libreoffice_loads(offices, tmp_path):
    good = _column_of_calls(tmp_path / "good.xlsx")
    bad = tmp_path / "bad.xlsx"
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(bad, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"</sheetData>", b"<oops></sheetData>")
            zout.writestr(info, data)
    for i, office in enumerate(offices):
        target = tmp_path / f"out{i}.xlsx"
        result = recalc_file(office, bad, target, check=False)
        assert result.status == FAILED and "corrupt XML in xl/worksheets/sheet1.xml" in result.message
        assert not target.exists()
        # LibreOffice is fine afterwards (its copy of the bad file closed): the next file works.
        assert recalc_file(office, good, target, check=False).status == CHANGED


def test_a_damaged_list_of_libreoffice_functions_is_asked_again(tmp_path):
    source = mixed_workbook(tmp_path / "in.xlsx")
    with Office(threaded=False) as office:
        saved = office._template / FUNCTION_LIST
        before = saved.read_text() if saved.exists() else None
        saved.write_text("SUM\nCLV")  # cut short: VLOOKUP and the rest missing
        try:
            result = recalc_file(office, source, tmp_path / "out.xlsx", check=False)
            assert result.status == CHANGED, result.message
            assert not result.kept  # nothing taken for a function LibreOffice lacks
            assert "VLOOKUP" in saved.read_text().split()  # written again, whole
        finally:
            if before is not None:
                saved.write_text(before)


_FORWARD = re.compile(rb"([A-Za-z_][A-Za-z0-9_.]*)\s*\(")


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.sampled_from([b"A", b"b", b"1", b".", b"_", b"(", b" ", b"<", b"x", b"SUM", b"_xlfn."]), max_size=40)
)
def test_called_names_reads_as_a_forward_scan_would(pieces):
    data = b"".join(pieces)
    assert called_names(data) == {n.decode() for n in _FORWARD.findall(data)}


def _malformed_cell(monkeypatch) -> None:
    from xlfuncs.xlsx import book

    real = book.element_xml
    # Every cell rewritten whole (not only its number's text), with a value that reads
    # back right inside an element that is not closed properly.
    monkeypatch.setattr(book, "_value_text", lambda *a: None)
    monkeypatch.setattr(book, "element_xml", lambda *a: real(*a).replace(b"</v>", b"</v><oops>", 1))


def _markup_in_a_number(monkeypatch) -> None:
    from xlfuncs.xlsx import cells

    real = cells.number_text
    monkeypatch.setattr(cells, "number_text", lambda value: real(value) + "<oops/>")


def _another_input_in_the_chunks(monkeypatch) -> None:
    from xlfuncs.xlsx import package

    real = package.Patch.chunks

    def another_input(self, size=package._CHUNK, boundary=None):
        for chunk in real(self, size, boundary):
            yield chunk.replace(b"<v>11</v>", b"<v>12</v>", 1) if boundary is None else chunk  # A1

    monkeypatch.setattr(package.Patch, "chunks", another_input)


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        (_malformed_cell, "not well-formed"),
        (_markup_in_a_number, "reads back as (none)"),
        (_another_input_in_the_chunks, "not what was meant"),
    ],
    ids=["malformed", "number-text", "chunk-differs"],
)
def test_a_patched_sheet_written_other_than_meant_is_refused(offices, tmp_path, monkeypatch, damage, why):
    """The patched sheet's well-formedness is checked in a child process when there is a
    core to spare, on the parent's bytes otherwise; it is written chunk by chunk
    (``Patch.chunks``) and read back against its definition (``Patch.pieces``), so a chunk
    with another value in a cell that was not to change (still well-formed XML) is caught
    too. Every path refuses, and writes nothing."""
    damage(monkeypatch)
    source = _column_of_calls(tmp_path / "in.xlsx")
    for i, office in enumerate(offices):
        target = tmp_path / f"out{i}.xlsx"
        result = recalc_file(office, source, target, check=False)
        assert result.status == FAILED, result.message
        assert "safety check failed" in result.message and why in result.message, result.message
        assert not target.exists()
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_recalculated_workbook_is_freed_before_the_next(offices, tmp_path):
    """A workbook and its sheets refer to each other; a batch of large files must not
    hold one per file until the collector happens to run."""
    source = _column_of_calls(tmp_path / "in.xlsx")
    for office in offices:
        assert recalc_file(office, source, tmp_path / "out.xlsx", check=False).status == CHANGED
        assert not [o for o in gc.get_objects() if isinstance(o, Workbook)]


def test_libreoffice_s_values_are_not_held_through_the_write(offices, tmp_path, monkeypatch):
    """The write is the peak of a run's memory: the values it needs are in the updates."""
    held = []
    write = Workbook.write

    def looking(self, *args, **kwargs):
        held.append(sum(isinstance(o, Values) for o in gc.get_objects()))
        return write(self, *args, **kwargs)

    monkeypatch.setattr(Workbook, "write", looking)
    source = _column_of_calls(tmp_path / "in.xlsx")
    for office in offices:
        assert recalc_file(office, source, tmp_path / "out.xlsx", check=False).status == CHANGED
    assert held == [0, 0]


def test_a_libreoffice_per_core_runs_its_import_on_one_thread(offices, tmp_path):
    # Threads in each of several LibreOffices only fight over the same cores (--jobs).
    source = _column_of_calls(tmp_path / "in.xlsx")
    for office in offices:
        assert recalc_file(office, source, tmp_path / "out.xlsx", check=False).status == CHANGED
    overlapping, sequential = (office.process for office in offices)
    assert overlapping is not None and sequential is not None  # each runs its own LibreOffice

    def environment(process) -> dict[str, str]:
        raw = Path(f"/proc/{process.pid}/environ").read_bytes()
        return dict(item.split("=", 1) for item in raw.decode("utf-8", "replace").split("\0") if "=" in item)

    assert {k: environment(sequential).get(k) for k in SINGLE_THREADED} == SINGLE_THREADED
    assert not set(SINGLE_THREADED) & set(environment(overlapping))
    settings = {
        office: (office.profile_dir / "profile" / "user" / "registrymodifications.xcu").read_text()
        for office in offices
    }
    threaded_calc = re.compile(r'"UseThreadedCalculationForFormulaGroups" oor:op="fuse"><value[^>]*>false<')
    assert threaded_calc.search(settings[offices[1]]) and not threaded_calc.search(settings[offices[0]])
