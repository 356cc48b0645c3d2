"""`xlfuncs generate revenue-report` against a real LibreOffice.

* the four editions (en/es x add-in/native) open and convert to PDF; the native ones print
  no error values;
* the oracle: the native edition recalculated by a stock LibreOffice (no xlfuncs add-in)
  gives xlfuncs' numbers, relative 1e-9, in every formula cell, for the sample and for a
  small export with the awkward cases (numeric and mixed-case ids, win-backs, quarterly);
* ``xlfuncs recalc --check`` passes on the add-in edition (LibreOffice + the add-in agrees
  with the cached values the generator wrote);
* the native English edition renders to PNG pages (XLFUNCS_RENDER_DIR keeps them).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from generate_office import convert, make_profile

from xlfuncs.adapter import to_serial
from xlfuncs.errors import ExcelError
from xlfuncs.templates import generate
from xlfuncs.templates.generate import write_cached_values
from xlfuncs.templates.report_words import WORDS
from xlfuncs.templates.revenue_report import ReportOptions

SENTINEL = 999999.0
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("revenue-office")


def _same(expected, got) -> bool:
    if isinstance(got, dt.datetime):  # a date-formatted cell reads back as a date
        got = to_serial(got)
    if isinstance(expected, float):
        return (
            isinstance(got, (int, float))
            and not isinstance(got, bool)
            and math.isclose(expected, got, rel_tol=1e-9, abs_tol=1e-9)
        )
    if isinstance(expected, ExcelError):
        return got == expected.value
    if expected == "":
        return got in ("", None)
    return got == expected


def _edge_export(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Customer ID", "Created (UTC)", "Ended At (UTC)", "Amount", "Interval", "Plan", "Segment"])
    d = dt.datetime
    rows = [
        (101, d(2024, 1, 15), None, 1200, "year", "Annual", "Enterprise"),
        ("101", d(2024, 2, 1), d(2024, 5, 1), 30, "month", "Basic", "SMB"),  # text "101": another customer
        ("acme", d(2024, 1, 3), d(2024, 3, 3), 90, "month", "Basic", "SMB"),
        ("ACME", d(2024, 5, 1), None, 120, "month", "Pro", "SMB"),  # win-back, same customer
        ("b", d(2024, 1, 31), d(2024, 2, 29), 300, "quarter", "Pro", "Mid-market"),
        ("c", d(2024, 3, 10, 15, 30), None, 45.5, 1, "Basic", "SMB"),
        ("c", d(2024, 4, 1), d(2024, 6, 1), 20, 1, "Add-on", "SMB"),  # expansion then contraction
        ("d", d(2024, 2, 1), d(2024, 2, 20), 99, 1, "Basic", "SMB"),  # never active on a month end
        ("e", d(2024, 6, 30), None, 10, 1, "Basic", "SMB"),
    ]
    for row in rows:
        ws.append(list(row))
    wb.save(path)
    return path


@pytest.mark.parametrize("case", ["sample-en", "sample-es", "edge-en"])
def test_native_edition_in_libreoffice_matches_xlfuncs(folder, case):
    name, lang = case.split("-")
    work = folder / case
    work.mkdir()
    report = ReportOptions(data=_edge_export(work / "edge.xlsx")) if name == "edge" else None
    udf = generate("revenue-report", work / "udf.xlsx", lang=lang, report=report)
    native = generate("revenue-report", work / "native.xlsx", lang=lang, native=True, report=report)
    poisoned = work / "poisoned.xlsx"
    write_cached_values(native.path, poisoned, {key: SENTINEL for key in native.formulas})
    (recalculated,) = convert([poisoned], "xlsx", work / "lo", make_profile(work / "profile"), timeout=600)
    lo = openpyxl.load_workbook(recalculated, data_only=True)
    mismatches, numbers = [], 0
    for (sheet, coord), text in native.formulas.items():
        # Every cell of a spill of the add-in edition, or the native edition's own helper.
        expected = udf.values.get((sheet, coord), native.values[(sheet, coord)])
        got = lo[sheet][coord].value
        numbers += isinstance(expected, float)
        if not _same(expected, got):
            mismatches.append(f"{sheet}!{coord}: xlfuncs {expected!r}, LibreOffice {got!r}: {text[:200]}")
    assert not mismatches, f"{len(mismatches)} cells differ:\n" + "\n".join(mismatches[:25])
    # The native edition has a formula wherever the add-in edition has a formula or a spill cell.
    spilled = {key for key in udf.values if key not in udf.formulas and key in native.formulas}
    assert len(udf.formulas) + len(spilled) <= len(native.formulas)
    assert numbers > (9000 if name == "sample" else 150)


def test_editions_open_in_libreoffice_and_print_clean(folder):
    files = []
    for lang in ("en", "es"):
        for native in (False, True):
            path = folder / f"report-{lang}-{'native' if native else 'udf'}.xlsx"
            generate(
                "revenue-report",
                path,
                lang=lang,
                native=native,
                report=ReportOptions(currency="EUR" if lang == "es" else None),
            )
            files.append(path)
    profile = folder / "profile-plain"
    (profile / "user").mkdir(parents=True)
    pdfs = convert(files, "pdf", folder / "pdf", profile, timeout=600)
    for pdf in pdfs:
        assert pdf.read_bytes().startswith(b"%PDF")
        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True).stdout.decode()
        lang = "es" if "-es-" in pdf.name else "en"
        words = WORDS[lang]
        assert words["rr.sum.title"] in text and words["rr.bridge.title"] in text
        assert ("66,432" in text) or ("66.432" in text), pdf.name  # the sample's last MRR
        if "native" in pdf.name:
            for error in ("#N/A", "#NAME?", "Err:", "#VALUE!", "#DIV/0!", "#NUM!", "#REF!"):
                assert error not in text, (pdf.name, error)


def test_add_in_edition_passes_recalc_check(folder):
    """LibreOffice with the xlfuncs add-in recomputes every formula and spill: no change, no error."""
    path = folder / "check.xlsx"
    generate("revenue-report", path)
    result = subprocess.run(
        [sys.executable, "-m", "xlfuncs", "recalc", "--check", str(path)],
        capture_output=True,
        text=True,
        timeout=900,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_native_report_renders_to_png(folder):
    path = folder / "render.xlsx"
    generate("revenue-report", path, native=True)
    profile = folder / "profile-render"
    (profile / "user").mkdir(parents=True)
    (pdf,) = convert([path], "pdf", folder / "render", profile, timeout=600)
    subprocess.run(["pdftoppm", "-r", "60", "-png", "-l", "8", str(pdf), str(folder / "render" / "page")], check=True)
    pngs = sorted((folder / "render").glob("page-*.png"))
    assert len(pngs) == 8
    for png in pngs:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5_000
    keep = os.environ.get("XLFUNCS_RENDER_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for png in pngs:
            shutil.copy(png, Path(keep) / f"revenue-{png.name}")
