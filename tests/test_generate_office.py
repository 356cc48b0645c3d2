"""`xlfuncs generate` against a real LibreOffice.

* every template x language x edition opens and converts to PDF;
* the oracle: the native twin, recalculated by a stock LibreOffice (no xlfuncs add-in),
  gives the numbers xlfuncs computed for the UDF edition, cell by cell (relative 1e-9);
* the UDF edition recalculated through ``xlfuncs recalc`` (LibreOffice + the add-in) gives
  the same numbers as the generator's own evaluation;
* the default workbook renders to PNG pages (set XLFUNCS_RENDER_DIR to keep them and look).
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest
from generate_office import convert, make_profile

from xlfuncs.errors import ExcelError
from xlfuncs.templates import TEMPLATES, generate
from xlfuncs.templates.generate import VALUES_LIBREOFFICE, write_cached_values
from xlfuncs.templates.i18n import LANGUAGES, STRINGS

SENTINEL = 999999.0

# Corners of the formulas: no churn and no discount (the steady branches), churn of 1
# (nothing retained: a one-month stay), an open checklist, zero weights, thresholds that
# coincide, a grid with churn 0 and 1.
EDGE_TOML = """
[inputs]
churn_with = 0.0
discount_rate = 0.0
churn_without = 1.0
extra_licenses = 0
horizon_months = 12
[sensitivity]
churn = [0.0, 0.5, 1.0]
extra_licenses = [0, 10000]
[checklist]
done_days = [0, 3.5]
[health]
weights = [0, 1, 0, 2, 0]
red_below = 60
green_from = 60
vip_mrr = 100
core_mrr = 100
[[health.accounts]]
name = "Edge"
mrr = 100
potential_mrr = 0
scores = [0, 100, 50, 59.999, 100]
[[health.accounts]]
name = "Zero"
mrr = 0
potential_mrr = 100
scores = [0, 0, 0, 60, 0]
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("generate-office")


@pytest.fixture(scope="module")
def recalc_profile(folder):
    """LibreOffice that recalculates every formula on load (the oracle)."""
    return make_profile(folder / "profile-recalc")


@pytest.fixture(scope="module")
def plain_profile(folder):
    """Stock settings: LibreOffice shows the cached values, as a preview would."""
    (folder / "profile-plain" / "user").mkdir(parents=True)
    return folder / "profile-plain"


def _same(expected, got) -> bool:
    if isinstance(expected, float):
        return (
            isinstance(got, (int, float))
            and not isinstance(got, bool)
            and math.isclose(expected, got, rel_tol=1e-9, abs_tol=1e-9)
        )
    if isinstance(expected, ExcelError):
        return got == expected.value
    return got == expected


def test_every_edition_converts_to_pdf(folder, plain_profile):
    files, labels = [], []
    for template in (name for name, spec in TEMPLATES.items() if not spec.report):  # revenue-report: its own tests
        for lang in LANGUAGES:
            for native in (False, True):
                path = folder / f"{template}-{lang}-{'native' if native else 'udf'}.xlsx"
                generate(template, path, lang=lang, native=native)
                files.append(path)
                labels.append(lang)
    pdfs = convert(files, "pdf", folder / "pdf", plain_profile)
    for pdf, lang in zip(pdfs, labels):
        assert pdf.read_bytes().startswith(b"%PDF")
        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True).stdout
        text = text.decode()
        # The cached values are what a reader sees: the verdicts and the CLV with onboarding.
        assert STRINGS[lang]["pass"] in text and STRINGS[lang]["fail"] in text
        assert ("3,181" in text) or ("3.181" in text), pdf.name
        assert "#NAME?" not in text and "Err:" not in text
        # The chart data (a hidden sheet) is not printed: no page of #N/A.
        assert "#N/A" not in text and STRINGS[lang]["ch.title"] not in text, pdf.name
        if lang == "es":
            # Natural Spanish: "churn" only inside the defined names (churn_with), never in prose.
            assert "churn" not in re.sub(r"churn_with(out)?", "", text.lower()), pdf.name
            assert "verde" in text and "rojo" in text and "green" not in text, pdf.name


@pytest.mark.parametrize("case", ["default-en", "default-es", "edge-en"])
def test_native_twin_in_libreoffice_matches_xlfuncs(folder, recalc_profile, case):
    """The oracle: stock LibreOffice computes the native twin, xlfuncs the UDF edition."""
    scenario_name, lang = case.split("-")
    scenario = None
    if scenario_name == "edge":
        scenario = folder / "edge.toml"
        scenario.write_text(EDGE_TOML)
    work = folder / case
    work.mkdir()
    udf = generate("onboarding-roi", work / "udf.xlsx", scenario=scenario, lang=lang)
    native = generate("onboarding-roi", work / "native.xlsx", scenario=scenario, lang=lang, native=True)
    # Overwrite the twin's cached values with a sentinel: every number read back below
    # must have been computed by LibreOffice, not carried over from our file.
    poisoned = work / "poisoned.xlsx"
    write_cached_values(native.path, poisoned, {key: SENTINEL for key in native.formulas})
    (recalculated,) = convert([poisoned], "xlsx", work / "lo", recalc_profile)
    lo = openpyxl.load_workbook(recalculated, data_only=True)

    mismatches, numbers, errors = [], 0, 0
    for sheet, coord in udf.formulas:
        expected = udf.values[(sheet, coord)]
        got = lo[sheet][coord].value
        numbers += isinstance(expected, float)
        errors += isinstance(expected, ExcelError)
        if not _same(expected, got):
            mismatches.append(
                f"{sheet}!{coord}: xlfuncs {expected!r}, LibreOffice {got!r}: {native.formulas[(sheet, coord)]}"
            )
    assert not mismatches, "\n".join(mismatches[:20])
    assert len(udf.formulas) == len(native.formulas)
    if scenario_name == "edge":
        assert numbers > 60 and errors > 0  # #N/A of open steps and past the horizon compared too
    else:
        assert numbers > 200


def test_udf_edition_recalculated_by_xlfuncs_recalc_matches(folder):
    """`xlfuncs recalc` (LibreOffice + the add-in) and the generator agree on every cell."""
    made = generate("onboarding-roi", folder / "via-recalc.xlsx", lang="es", values=VALUES_LIBREOFFICE)
    cached = openpyxl.load_workbook(made.path, data_only=True)
    mismatches = [
        f"{sheet}!{coord}: {made.values[(sheet, coord)]!r} vs {cached[sheet][coord].value!r}"
        for sheet, coord in made.formulas
        if not _same(made.values[(sheet, coord)], cached[sheet][coord].value)
    ]
    assert not mismatches, "\n".join(mismatches[:20])


@pytest.mark.parametrize("lang", LANGUAGES)
def test_default_workbook_renders_to_png(folder, plain_profile, lang):
    """The pages a finance team would print. Set XLFUNCS_RENDER_DIR to keep them and look."""
    render = folder / f"render-{lang}"
    path = folder / f"onboarding-{lang}.xlsx"
    generate("onboarding-roi", path, lang=lang)
    (pdf,) = convert([path], "pdf", render, plain_profile)
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(pdf), str(render / "page")], check=True, timeout=120)
    pngs = sorted(render.glob("page-*.png"))
    # Inputs, Scenarios with its charts (two pages), Sensitivity, Checklist, Health; the
    # chart data sheet is hidden and not printed.
    assert 5 <= len(pngs) <= 7, len(pngs)
    for png in pngs:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5_000
    # The sensitivity grid's corner header is whole: every word printed, in order, also when
    # it wraps onto a second line (a row too low would cut that line off).
    words = _words(pdf)
    corner = STRINGS[lang]["se.corner"].split()
    headers = []
    for page, x0, y0, _, _, text in words:
        if text != corner[0]:
            continue
        # The header cell's words: right of its first word, a line or two deep.
        near = [w for w in words if w[0] == page and x0 - 2 <= w[1] <= x0 + 200 and -1 <= w[2] - y0 <= 16]
        cell = sorted((w for w in near if w[5] in corner), key=lambda w: (round(w[2]), w[1]))
        if " ".join(w[5] for w in cell) == " ".join(corner):  # every word printed, in order
            headers.append((page, x0, y0, cell))
    assert len(headers) == 2, headers  # the two grids' corner headers
    for page, x0, y0, cell in headers:
        # ... and inside its row: below the grid's title line, above the first churn rate. A
        # row too low for the wrapped header prints it over the title instead.
        column = [w for w in words if w[0] == page and w[5] not in corner and x0 - 2 <= w[1] <= x0 + 200]
        above = max((w for w in column if w[2] < y0), key=lambda w: w[2])
        below = min((w for w in column if w[2] > y0), key=lambda w: w[2])
        top, bottom = min(w[2] for w in cell), max(w[4] for w in cell)
        assert above[4] <= top and bottom <= below[2], (above, cell, below)
    keep = os.environ.get("XLFUNCS_RENDER_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for png in pngs:
            shutil.copy(png, Path(keep) / f"{lang}-{png.name}")


def _words(pdf: Path) -> list[tuple[int, float, float, float, float, str]]:
    """Every word of the PDF: (page, xMin, yMin, xMax, yMax, text), from pdftotext -bbox."""
    html = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, check=True).stdout.decode()
    out = []
    for page, body in enumerate(html.split("<page ")[1:]):
        pattern = r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
        out += [(page, float(a), float(b), float(c), float(d), w) for a, b, c, d, w in re.findall(pattern, body)]
    return out


def _strip_cached_values(source: Path, target: Path) -> None:
    """The workbook as if never calculated: every formula cell without its <v> value."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.startswith("xl/worksheets/sheet"):
                data = re.sub(rb"(<f>[^<]*</f>)<v>[^<]*</v>", rb"\1", data)
            dst.writestr(info, data)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_without_the_add_in_payback_shows_the_error_not_never(folder, recalc_profile, lang):
    """IFERROR(PAYBACK(...), "never") would turn #NAME? (no add-in) into "never": only #NUM! may."""
    work = folder / f"no-addin-{lang}"
    work.mkdir()
    made = generate("onboarding-roi", work / "udf.xlsx", lang=lang)
    never = STRINGS[lang]["never"]
    scen = STRINGS[lang]["sheet.scenarios"]
    assert made.values[(scen, "B16")] == never  # with the add-in: no payback without onboarding
    stripped = work / "stripped.xlsx"
    _strip_cached_values(made.path, stripped)
    with zipfile.ZipFile(stripped) as z:
        assert b"<v>" not in z.read("xl/worksheets/sheet2.xml").split(b"<f>", 1)[1]
    (recalculated,) = convert([stripped], "xlsx", work / "lo", recalc_profile)  # a stock LibreOffice
    lo = openpyxl.load_workbook(recalculated, data_only=True)
    texts = [c.value for ws in lo.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert never not in texts
    assert (lo[scen]["B16"].value, lo[scen]["C16"].value) == ("#NAME?", "#NAME?")
    assert lo[scen]["B15"].value != STRINGS[lang]["pass"]  # nor does the 3:1 rule pass on an error


def test_xlsm_opens_in_libreoffice(folder, plain_profile):
    made = generate("onboarding-roi", folder / "classic.xlsm")
    (pdf,) = convert([made.path], "pdf", folder / "xlsm", plain_profile)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True).stdout.decode()
    assert "3,181" in text and "PASS" in text
