"""Real Excel-saved workbooks (``tests/data/excel_corpus``, origin and licence in its
MANIFEST.md) through recalc: no damaged output, no change but the documented ones, stable.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import defusedxml.ElementTree as SafeET
import openpyxl
import pytest

from xlfuncs.recalc.engine import CHANGED, UNCHANGED, recalc_file
from xlfuncs.recalc.office import Office

CORPUS = Path(__file__).resolve().parent / "data" / "excel_corpus"
FILES = sorted(CORPUS.glob("*.xlsx"))

_XLSXWRITER_ZERO = "XlsxWriter's reference file keeps XlsxWriter's default cached 0, not Excel's value"
#: file -> {cell: why it changes}. Nothing else may change.
EXPECTED_CHANGES = {
    "dynamic_array01.xlsx": {"Sheet1!A1": _XLSXWRITER_ZERO},
    "optimize03.xlsx": {"Sheet1!B8": _XLSXWRITER_ZERO},
    "table35.xlsx": {f"Sheet1!F{r}": _XLSXWRITER_ZERO + " (BASE returns a text)" for r in range(3, 7)},
    "table36.xlsx": {"Sheet1!D14": _XLSXWRITER_ZERO + " (BASE returns a text)"},
}


@pytest.fixture(scope="module")
def office():
    with Office(threaded=False) as instance:
        yield instance


def test_corpus_is_there():
    assert len(FILES) >= 30
    manifest = (CORPUS / "MANIFEST.md").read_text()
    assert "BSD 2-Clause" in manifest
    for path in FILES:
        assert f"`{path.name}`" in manifest, path.name


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def test_excel_files_recalculate_without_damage(office, tmp_path):
    seen_changes: dict[str, set[str]] = {}
    seen_kept: set[str] = set()
    for source in FILES:
        out = tmp_path / source.name
        result = recalc_file(office, source, out, check=False)
        assert result.status in (CHANGED, UNCHANGED), (source.name, result.message)
        assert "\n" not in result.message
        changed = {line.split(": ", 1)[0] for line in result.changes + result.volatile}
        if changed:
            seen_changes[source.name] = changed
        before, after = _parts(source), _parts(out)
        assert list(before) == list(after), source.name
        for name, data in after.items():
            if name.endswith((".xml", ".rels")):
                SafeET.fromstring(data)  # well-formed
            if not name.startswith("xl/worksheets/sheet"):
                assert data == before[name], (source.name, name)
        openpyxl.load_workbook(out)
        again = recalc_file(office, out, tmp_path / f"again_{source.name}", check=False)
        assert again.status == UNCHANGED, (source.name, again.changes)
        # Kept values are Excel's, reported with a reason, and stay in the file.
        for line in result.kept:
            assert ": kept the cached value " in line, line
        if result.kept:
            seen_kept.add(source.name)
    # The files whose cells LibreOffice cannot compute as Excel did (dynamic arrays, table
    # references): without them the loop over kept lines above would check nothing.
    assert seen_kept == {
        "dynamic_array02.xlsx",
        *(f"table{n}.xlsx" for n in ("08", "09", "10", "17", "23", "32", "33", "36")),
    }
    expected = {name: set(cells) for name, cells in EXPECTED_CHANGES.items()}
    assert seen_changes == expected


def test_excel_files_pass_check_but_the_documented_cells(tmp_path):
    from typer.testing import CliRunner

    from xlfuncs.cli import app

    result = CliRunner().invoke(app, ["recalc", "--check", "--jobs", "1", *map(str, FILES)])
    stale = {line.split(": ")[0].rsplit("/", 1)[-1] for line in result.stdout.splitlines() if " -> " in line}
    assert stale == set(EXPECTED_CHANGES), result.output
    assert " 0 failed" in result.output and result.exit_code == 1
