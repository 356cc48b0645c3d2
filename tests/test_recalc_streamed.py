"""Issue 10: a large sheet is not held in memory, it streams from the workbook at each pass.

Its XML (about 100 bytes a formula cell) was most of the client's peak. A sheet of at
least ``xlfuncs.xlsx.book.STREAM_FROM`` bytes is read once for its checks and what the
recalculation needs to know of it, then streams from the still-open file into LibreOffice's
copy, the scan, the patch, the write and the read-back. Here the threshold is lowered so
that small workbooks stream, and every outcome is compared with the held sheet's.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from recalc_support import mixed_workbook
from xlsx_builder import cell, rows, xlsx

from xlfuncs.recalc.engine import CHANGED, FAILED, recalc_file
from xlfuncs.recalc.office import Office
from xlfuncs.xlsx import BadWorkbook, XlsxFile, book
from xlfuncs.xlsx.book import _Cutter
from xlfuncs.xlsx.package import Streamed


@pytest.fixture(scope="module")
def offices():
    with Office(threaded=True) as overlapping, Office(threaded=False) as sequential:
        yield overlapping, sequential


def _column_of_calls(path: Path, count: int = 60, shared: bool = False, errors: bool = True) -> Path:
    """Inputs in A:B, CLV down C (a column group; a churn of 0 every 7th row: #DIV/0!),
    built-ins over it in D and E1."""
    cells = []
    for r in range(1, count + 1):
        churn = 0 if errors and r % 7 == 0 else 0.05
        cells += [cell(f"A{r}", None, 10 + r), cell(f"B{r}", None, churn)]
        if shared and r > 1:
            cells.append(cell(f"C{r}", "", 1, f_attrs=' t="shared" si="0"'))
        elif shared:
            cells.append(cell(f"C{r}", "CLV(A1,B1)", 1, f_attrs=f' t="shared" ref="C1:C{count}" si="0"'))
        else:
            cells.append(cell(f"C{r}", f"CLV(A{r},B{r})", 1))
        cells.append(cell(f"D{r}", f"C{r}*2", 1))
    cells.append(cell("E1", f"IFERROR(SUM(C1:C{count}),-1)", 1))
    return xlsx(path, {"Model": rows(*cells)})


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


def _outcome(result) -> tuple:
    return (result.status, list(result.changes), result.errors, result.kept, result.volatile, result.formula_cells)


@pytest.mark.parametrize(
    "make",
    [
        lambda p: _column_of_calls(p),
        lambda p: _column_of_calls(p, shared=True),
        lambda p: mixed_workbook(p),
    ],
    ids=["column of calls", "shared formula", "mixed workbook"],
)
def test_a_streamed_sheet_gives_the_same_file_and_report(offices, tmp_path, monkeypatch, make):
    source = make(tmp_path / "in.xlsx")
    for office in offices:
        outcomes, files = [], []
        for stream_from in (1 << 40, 0):  # held, then streamed
            monkeypatch.setattr(book, "STREAM_FROM", stream_from)
            target = tmp_path / f"out-{stream_from}.xlsx"
            result = recalc_file(office, source, target, check=False)
            outcomes.append(_outcome(result))
            files.append(_parts(target))
        assert outcomes[0][0] == CHANGED
        assert outcomes[0] == outcomes[1]
        assert files[0] == files[1]


def test_a_streamed_sheet_is_never_read_whole(offices, tmp_path, monkeypatch):
    """Not by the copy, the scan, the comparison (error values included) or the write."""
    monkeypatch.setattr(book, "STREAM_FROM", 0)
    whole = []
    monkeypatch.setattr(Streamed, "read", lambda self: whole.append(self.name) or b"")
    source = _column_of_calls(tmp_path / "in.xlsx")
    for office in offices:
        result = recalc_file(office, source, tmp_path / "out.xlsx", check=False)
        assert result.status == CHANGED, result.message
        assert any("#DIV/0!" in line for line in result.errors)
    assert whole == []


def test_a_streamed_sheet_s_values_and_table_go_once_they_are_not_needed(offices, tmp_path, monkeypatch):
    """Its old values go once compared (its patch is made in their place), the rest of
    its table once the patch is checked (before the write): held to the end they were 28
    bytes a formula cell at the top of the client's memory. A held sheet keeps both."""
    made, written = [], []
    new_xml, write, write_package = XlsxFile._new_xml, XlsxFile.write, book.write_package
    files = []

    def making(self, sheet, *args):
        made.append(len(sheet.table.numbers))
        return new_xml(self, sheet, *args)

    def writing(*args, **kwargs):
        written.append([len(sheet.table) for sheet in files[-1].sheets])
        return write_package(*args, **kwargs)

    monkeypatch.setattr(XlsxFile, "_new_xml", making)
    monkeypatch.setattr(XlsxFile, "write", lambda self, *a, **k: files.append(self) or write(self, *a, **k))
    monkeypatch.setattr(book, "write_package", writing)
    source = _column_of_calls(tmp_path / "in.xlsx")
    for stream_from, table in ((1 << 40, 121), (0, 0)):  # held, then streamed
        monkeypatch.setattr(book, "STREAM_FROM", stream_from)
        made.clear()
        result = recalc_file(offices[0], source, tmp_path / "out.xlsx", check=False)
        assert result.status == CHANGED, result.message
        assert set(made) == {table}
        assert written.pop() == [table]


def _flip_a_byte_of(path: Path, member: str) -> None:
    """Change ``member``'s compressed bytes in place (the same file, as an editor saving
    over it would)."""
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(member)
    with open(path, "r+b") as handle:
        handle.seek(info.header_offset + 26)
        name, extra = (int.from_bytes(handle.read(2), "little") for _ in range(2))
        at = info.header_offset + 30 + name + extra + info.compress_size // 2
        handle.seek(at)
        byte = handle.read(1)
        handle.seek(at)
        handle.write(bytes([byte[0] ^ 0x55]))


def test_a_workbook_changed_on_disk_while_it_is_recalculated_is_not_written(offices, tmp_path, monkeypatch):
    monkeypatch.setattr(book, "STREAM_FROM", 0)
    for office in offices:
        source = _column_of_calls(tmp_path / "in.xlsx")
        values = office.values

        def changing(*args, source=source, values=values):
            _flip_a_byte_of(source, "xl/worksheets/sheet1.xml")  # while LibreOffice calculates
            return values(*args)

        monkeypatch.setattr(office, "values", changing)
        target = tmp_path / "out.xlsx"
        result = recalc_file(office, source, target, check=False)
        monkeypatch.undo()
        monkeypatch.setattr(book, "STREAM_FROM", 0)
        assert result.status == FAILED
        assert "xl/worksheets/sheet1.xml" in result.message, result.message
        assert not target.exists()
        assert [p.name for p in tmp_path.iterdir()] == ["in.xlsx"]  # no temporary file left


def test_a_malformed_streamed_sheet_fails_its_check_while_it_is_scanned(tmp_path, monkeypatch):
    monkeypatch.setattr(book, "STREAM_FROM", 0)
    source = _column_of_calls(tmp_path / "in.xlsx", count=15_000)  # past the first chunk read
    parts = _parts(source)
    sheet = parts["xl/worksheets/sheet1.xml"]
    assert len(sheet) > 2 * 1024**2
    at = sheet.rfind(b"</row>", 0, sheet.rfind(b"</row>"))  # in the last megabyte
    parts["xl/worksheets/sheet1.xml"] = sheet[:at] + b"</rows>" + sheet[at + 6 :]
    with zipfile.ZipFile(source, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    workbook = XlsxFile(source, scan=False, defer_checks=True, stream=True)
    assert all(s.released for s in workbook.sheets if s.part.endswith("sheet1.xml"))
    with pytest.raises(BadWorkbook, match="corrupt XML in xl/worksheets/sheet1.xml"):
        workbook.check_and_scan()


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_a_streamed_entry_is_the_entry_and_checked_at_each_pass(tmp_path, method):
    path = tmp_path / "a.zip"
    payload = os.urandom(100_000) + b"<c>1</c>" * 300_000
    with zipfile.ZipFile(path, "w", method) as z:
        z.writestr("big.xml", payload)
    with zipfile.ZipFile(path) as z:
        streamed = Streamed.of(z, z.getinfo("big.xml"))
        assert streamed is not None and len(streamed) == len(payload)
        assert b"".join(streamed.chunks(size=65536)) == payload
        assert streamed.read() == payload
        _flip_a_byte_of(path, "big.xml")
        with pytest.raises(BadWorkbook, match="big.xml"):
            streamed.read()


@given(
    cells=st.lists(
        st.sampled_from([b"<c r='A1'><f>1</f></c>", b"<row>", b"</row>", b"<c r='B2'/>", b"x" * 70]), max_size=60
    ),
    cuts=st.lists(st.integers(min_value=1, max_value=97), max_size=30),
)
def test_the_pieces_of_a_stream_cut_no_cell(cells, cuts):
    data = b"".join(cells)
    chunks, at = [], 0
    for size in cuts:
        chunks.append(data[at : at + size])
        at += size
    chunks.append(data[at:])
    cutter = _Cutter()
    pieces = [p for chunk in chunks for p in cutter.feed(chunk)] + list(cutter.end())
    assert b"".join(window for _, window in pieces) == data
    assert [base for base, _ in pieces] == [sum(len(w) for _, w in pieces[:i]) for i in range(len(pieces))]
    assert all(window.endswith(b"</c>") for _, window in pieces[:-1])
    formula_cell = b"<c r='A1'><f>1</f></c>"
    at = data.find(formula_cell)
    while at >= 0:  # each one whole in a piece
        assert any(base <= at and at + len(formula_cell) <= base + len(w) for base, w in pieces)
        at = data.find(formula_cell, at + 1)
