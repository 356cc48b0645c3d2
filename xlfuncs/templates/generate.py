"""``generate``: template + scenario + language + edition -> a finished xlsx file.

Steps: validate everything the caller gave (template, language, output path, scenario)
before any work, so bad input writes nothing; build the workbook in memory (every cell's
value is computed while it is written, see :mod:`xlfuncs.templates.book`); save it next to
the target under a temporary name; put the cached values into the formula cells; move the
finished file into place in one step (refusing to replace an existing file unless asked).

Cached values come from xlfuncs itself (``values="xlfuncs"``, the default: no LibreOffice
needed, a fraction of a second) or from LibreOffice through ``xlfuncs recalc``
(``values="libreoffice"``), which recomputes the whole workbook with the xlfuncs add-in.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import ExcelError
from . import i18n, onboarding_roi, revenue_report
from .billing_export import ExportError
from .book import Book, finish_direct, mark_dynamic_arrays
from .scenario import Scenario, ScenarioError, load

VALUES_XLFUNCS = "xlfuncs"
VALUES_LIBREOFFICE = "libreoffice"


class GenerateError(Exception):
    """Why nothing was generated; ``str()`` is one line for the user."""


@dataclass(frozen=True)
class Template:
    """A workbook template: a name, one line of description and its builder."""

    name: str
    description: str
    build: Callable[[Scenario, dict[str, str], str, bool], Book]
    default_scenario: str | None  # file name under xlfuncs/templates/scenarios/ (package data)
    # Templates fed by a billing export (revenue-report) take ReportOptions, not a scenario.
    report: bool = False


TEMPLATES: dict[str, Template] = {
    onboarding_roi.NAME: Template(
        onboarding_roi.NAME, onboarding_roi.DESCRIPTION, onboarding_roi.build, "onboarding-roi.toml"
    ),
    revenue_report.NAME: Template(
        revenue_report.NAME, revenue_report.DESCRIPTION, revenue_report.build, None, report=True
    ),
}


SCENARIOS = Path(__file__).resolve().parent / "scenarios"


def default_scenario_text(template: str) -> str:
    """The documented default scenario of ``template``, the TOML file users start from."""
    spec = TEMPLATES.get(template)
    if spec is None:
        raise GenerateError(f"unknown template {template!r} (available: {', '.join(TEMPLATES)})")
    if spec.default_scenario is None:
        raise GenerateError(f"{template} has no scenario: it reads a billing export (--data FILE)")
    return (SCENARIOS / spec.default_scenario).read_text(encoding="utf-8")


@dataclass
class Generated:
    """What :func:`generate` made."""

    path: Path
    template: str
    lang: str
    native: bool
    formula_cells: int
    build_seconds: float
    total_seconds: float
    # (sheet, coord) -> value / formula text (read-only mappings for direct-mode templates).
    values: Mapping[tuple[str, str], object] = field(repr=False, default_factory=dict)
    formulas: Mapping[tuple[str, str], str] = field(repr=False, default_factory=dict)


SUFFIXES = (".xlsx", ".xlsm")

# The main part's content type decides what Excel takes the file for: an .xlsm file must
# say "macro-enabled" or Excel refuses to open it ("file format or extension not valid").
_XLSX_TYPE = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
_XLSM_TYPE = b"application/vnd.ms-excel.sheet.macroEnabled.main+xml"


def _check_output(output: Path, force: bool) -> Path:
    if output.suffix.lower() not in SUFFIXES:
        raise GenerateError(f"{output}: the output must be an .xlsx file (or .xlsm, macro-enabled)")
    if output.is_dir():
        raise GenerateError(f"{output}: is a directory")
    parent = output.parent if str(output.parent) else Path(".")
    if not parent.is_dir():
        raise GenerateError(f"{output}: folder {parent} does not exist")
    if output.exists() and not force:
        raise GenerateError(f"{output}: already exists (use --force to overwrite it)")
    return output


def generate(
    template: str,
    output: str | os.PathLike,
    scenario: str | os.PathLike | None = None,
    lang: str = "en",
    native: bool = False,
    force: bool = False,
    values: str = VALUES_XLFUNCS,
    currency: str | None = None,
    report: revenue_report.ReportOptions | None = None,
) -> Generated:
    """Generate one workbook.

    Parameters
    ----------
    template : str
        A name from :data:`TEMPLATES` (``"onboarding-roi"``).
    output : path
        The .xlsx file to write. It appears complete or not at all.
    scenario : path, optional
        A scenario TOML file; the template's built-in default when None.
    lang : {"en", "es"}
        Language of sheet names, labels and help texts (function names never change).
    native : bool
        Write the native twin: every xlfuncs call replaced by built-in formulas.
    force : bool
        Replace ``output`` if it exists (otherwise that is an error).
    values : {"xlfuncs", "libreoffice"}
        Who computes the cached values written into the file.
    currency : str, optional
        ISO code (``"EUR"``, ``"MXN"``...) or symbol, over the scenario's ``workbook.currency``.
    report : ReportOptions, optional
        For ``revenue-report``: the billing export, column map, date format, spend file
        (the built-in sample export when None).

    Returns
    -------
    Generated

    Raises
    ------
    GenerateError
        Bad template, language, output path or scenario; nothing is written then.
    """
    started = time.perf_counter()
    spec = TEMPLATES.get(template)
    if spec is None:
        raise GenerateError(f"unknown template {template!r} (available: {', '.join(TEMPLATES)})")
    if lang not in i18n.LANGUAGES:
        raise GenerateError(f"unknown language {lang!r} (available: {', '.join(i18n.LANGUAGES)})")
    if values not in (VALUES_XLFUNCS, VALUES_LIBREOFFICE):
        raise GenerateError(f"unknown value engine {values!r}")
    output = _check_output(Path(output), force)
    if currency is not None:
        try:
            currency = i18n.check_currency(currency)
        except ValueError as exc:
            raise GenerateError(str(exc)) from None
    if spec.report:
        if scenario is not None:
            raise GenerateError(f"{template} takes no --scenario (it reads a billing export: --data FILE)")
        options = report or revenue_report.ReportOptions()
        if currency is not None:
            options = replace(options, currency=currency)
        try:
            inputs = revenue_report.prepare(options)
        except ExportError as exc:
            raise GenerateError(str(exc)) from None
    else:
        if report is not None and report != revenue_report.ReportOptions():
            raise GenerateError(f"{template} takes no --data, --map, --date-format or --cac-spend")
        try:
            inputs = load(scenario)
        except ScenarioError as exc:
            raise GenerateError(f"scenario {exc}") from None
        if currency is not None:
            inputs.values["workbook.currency"] = currency

    book = spec.build(inputs, i18n.strings(lang), lang, native)
    built = time.perf_counter()

    folder = output.parent if str(output.parent) else Path(".")
    fd, raw_name = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".raw.xlsx", dir=folder)
    os.close(fd)
    raw = Path(raw_name)
    done = raw.with_name(raw.name.replace(".raw.xlsx", ".done.xlsx"))
    try:
        book.wb.save(raw)
        if book.direct:
            # The cells went in as XML with their cached values already.
            finish_direct(raw, book)
        elif book.dynamic_arrays:
            mark_dynamic_arrays(raw, book.dynamic_arrays, [ws.title for ws in book.wb.worksheets])
        if book.direct and values == VALUES_XLFUNCS:
            os.replace(raw, done)
        elif values == VALUES_XLFUNCS:
            write_cached_values(raw, done, book.values)
        else:
            recalc_with_libreoffice(raw, done)
        if output.suffix.lower() == ".xlsm":
            _macro_enabled(done)
        _place(done, output, force)
    finally:
        raw.unlink(missing_ok=True)
        done.unlink(missing_ok=True)
    finished = time.perf_counter()
    return Generated(
        path=output,
        template=template,
        lang=lang,
        native=native,
        formula_cells=len(book.all_formulas()) if book.direct else len(book.formulas),
        build_seconds=built - started,
        total_seconds=finished - started,
        values=book.all_values() if book.direct else dict(book.values),
        formulas=book.all_formulas() if book.direct else dict(book.formulas),
    )


def _place(done: Path, output: Path, force: bool) -> None:
    """Move the finished file into place in one step.

    Without ``force`` a hard link is the no-clobber move: it fails if the name appeared
    since we checked, where a rename would silently replace it.
    """
    # mkstemp makes the file private (0600); a workbook gets the mode any new file would
    # get (or keeps the one of the file it replaces).
    try:
        mode = output.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    os.chmod(done, mode)
    if force:
        os.replace(done, output)
        return
    try:
        os.link(done, output)
    except FileExistsError:
        raise GenerateError(f"{output}: already exists (use --force to overwrite it)") from None
    except OSError:
        # A file system without hard links: check-then-rename is the best it offers.
        if output.exists():
            raise GenerateError(f"{output}: already exists (use --force to overwrite it)") from None
        os.replace(done, output)


def _macro_enabled(path: Path) -> None:
    """Declare the workbook macro-enabled, as Excel requires of an .xlsm file.

    The file holds no macros yet: the classic xlwings add-in's *Import Functions* writes
    its VBA module into it, and an .xlsm keeps that module when saved.
    """
    import zipfile

    tmp = path.with_name(path.name + ".xlsm")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "[Content_Types].xml":
                if _XLSX_TYPE not in data:
                    raise AssertionError("no workbook content type to change")
                data = data.replace(_XLSX_TYPE, _XLSM_TYPE)
            dst.writestr(info, data)
    os.replace(tmp, path)


def write_cached_values(source: Path, target: Path, values: dict[tuple[str, str], object]) -> int:
    """Copy ``source`` to ``target`` with the cached value of every formula cell set.

    Uses the byte-level patcher of :mod:`xlfuncs.xlsx`, so every part other than the
    sheets' cell values is copied unchanged. Returns the number of cells given a value.

    Raises
    ------
    LookupError
        A formula cell of the file has no value in ``values`` (a builder bug).
    """
    from ..xlsx import XlsxFile  # noqa: PLC0415 - the zip machinery only when writing

    xlsx = XlsxFile(source)
    updates = {}
    count = 0
    for sheet in xlsx.sheets:
        cells = []
        for cell in sheet.cells:
            key = (sheet.name, cell.ref)
            if key not in values:
                raise LookupError(f"no value computed for {sheet.name}!{cell.ref}")
            value = values[key]
            if value is None:
                value = 0.0  # a formula that reads an empty cell shows 0, as in Excel
            if not isinstance(value, (float, int, str, bool, ExcelError)):
                raise TypeError(f"{sheet.name}!{cell.ref}: cannot cache {value!r}")
            cells.append((cell, value))
            count += 1
        updates[sheet.name] = cells
    xlsx.write(target, xlsx.patched(updates), updates)
    return count


def recalc_with_libreoffice(source: Path, target: Path) -> None:
    """Fill the cached values by recalculating in LibreOffice (``xlfuncs recalc``)."""
    from ..recalc import run  # noqa: PLC0415 - LibreOffice only when asked for

    [result] = run([source], output=target)
    if result.failed:
        raise GenerateError(f"recalculation failed: {result.message}")
