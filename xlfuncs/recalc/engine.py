"""Recalculate one workbook, and a batch of them over one or more LibreOffice processes."""

from __future__ import annotations

import contextlib
import functools
import gc
import heapq
import itertools
import multiprocessing
import os
import queue as queue_module
import re
import signal
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from .. import registry
from ..errors import ExcelError
from ..xlsx import MAX_TEXT, SPILL, BadWorkbook, Updates, copy_unchanged, same_value, show
from ..xlsx.cells import col_name
from . import fidelity
from . import formula as formulas
from .changes import Changes
from .lonames import CIRCULAR, NO_NAME
from .office import (
    DEFAULT_TIMEOUT,
    Office,
    OfficeError,
    OfficeStartError,
    Values,
    adopt_early,
    die_with_parent,
    stop_early,
)
from .workbook import Workbook

OK, CHANGED, UNCHANGED, FAILED, CHECK_FAILED = "ok", "changed", "unchanged", "failed", "check failed"
#: An input that does not exist, or a folder without workbooks (no LibreOffice involved).
MISSING = "missing"
MAX_LISTED = 50  # cells listed per kind and file on the terminal; all are counted and kept
#: Functions Excel has and LibreOffice lacks that Excel stores without an ``_xlfn.`` prefix.
EXCEL_ONLY = frozenset(
    {"CUBEVALUE", "CUBEMEMBER", "CUBESET", "CUBESETCOUNT", "CUBERANKEDMEMBER", "CUBEKPIMEMBER"}
    | {"CUBEMEMBERPROPERTY", "RTD", "CALL", "REGISTER.ID", "PHONETIC", "DBCS", "ANCHORARRAY"}
)


@dataclass
class FileResult:
    """What happened to one input file.

    Every list holds one line per cell (``Sheet!A1: ...``), all of them; the command line
    decides how many to print.
    """

    path: Path
    status: str = OK
    output: Path | None = None
    message: str = ""  # one line: why the file failed
    changes: Changes = field(default_factory=Changes)  # "Sheet!A1: old -> new": stale cached values
    errors: list[str] = field(default_factory=list)  # "Sheet!A1: #DIV/0!": cells evaluating to an error
    volatile: list[str] = field(default_factory=list)  # "Sheet!A1: old -> new" of volatile cells
    kept: list[str] = field(default_factory=list)  # "Sheet!A1: why": cached values LibreOffice cannot compute
    notes: list[str] = field(default_factory=list)  # other one-line remarks on the file
    change_count: int = 0
    error_count: int = 0
    formula_cells: int = 0
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return self.status in (FAILED, CHECK_FAILED, MISSING)

    @property
    def stable_errors(self) -> list[str]:
        """Error values that are also the cached ones (not stale)."""
        changed = {line.split(": ", 1)[0] for line in self.changes}
        return [line for line in self.errors if line.split(": ", 1)[0] not in changed]


def _qualified(sheet: str, ref: str) -> str:
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", sheet):
        return f"{sheet}!{ref}"
    return "'" + sheet.replace("'", "''") + f"'!{ref}"


def unknown_functions(text: str, known: set[str]) -> list[str]:
    """Names called in ``text`` that neither LibreOffice nor xlfuncs implements."""
    out = []
    for match in formulas.CALL_SITE.finditer(fidelity.STRINGS.sub('""', text)):
        name = match.group("ident").upper()
        qualified = match.group(0).split("(")[0]
        if formulas.our_name(None, name) is not None:
            continue
        if "!" in qualified:
            out.append(qualified)  # another workbook's or add-in's function
            continue
        if fidelity.bare(name) not in known and name not in known:
            out.append(match.group("ident"))
    return out


def recalc_file(office: Office, source: Path, target: Path | None, check: bool) -> FileResult:
    """Recalculate one workbook.

    Parameters
    ----------
    office : Office
        The LibreOffice to use (started by the caller, reused across files).
    source : Path
        The workbook; never modified unless ``target`` is the same path.
    target : Path or None
        Where to write the result (may equal ``source`` for --in-place); None with
        ``check``.
    check : bool
        Compare only: the result fails when a cached value is stale (a volatile cell
        or a cell LibreOffice cannot compute never is); nothing is written.
    """
    started = time.perf_counter()
    result = FileResult(path=source)
    # A workbook makes hundreds of thousands of objects that live until its end (values,
    # changed cells, report lines) and no garbage cycles: the collector would walk them
    # again and again for nothing (a fifth of the scan's time).
    collecting = gc.isenabled()
    gc.disable()
    try:
        _recalc(office, source, target, check, result)
    except BadWorkbook as exc:
        result.status, result.message = FAILED, str(exc)
    except OfficeStartError:
        raise  # no file can be done: the batch stops with one line
    except OfficeError as exc:
        result.status, result.message = FAILED, str(exc)
    finally:
        if collecting:
            gc.enable()
            # A workbook and its sheets refer to each other (a sheet makes its cells through
            # its file): only the collector frees one, so the next file does not wait for it.
            gc.collect(0)
    result.seconds = time.perf_counter() - started
    return result


def _office_version(office: Office) -> str:
    return "LibreOffice"


def _uncomputable(workbook: Workbook, known: set[str], lo: str) -> dict[tuple[str, int, int], str]:
    """Formula cells LibreOffice cannot compute -> why.

    A function LibreOffice lacks (an Excel 365 function, stored with ``_xlfn.``; LAMBDA,
    LET or SEQUENCE inside a defined name) makes the cell's cached value the only one
    there is: the cell keeps it, and LibreOffice computes the cells depending on it from
    that value. A call of a function neither Excel, LibreOffice nor xlfuncs has is left
    to LibreOffice, whose #NAME? fails the file naming the cell.
    """
    names = {name.upper(): text for name, text in workbook.defined_names()}
    lacking = _lacking(workbook, known, lo, names)
    out: dict[tuple[str, int, int], str] = {}
    for sheet in workbook.sheets:
        if not _suspicious(workbook, sheet, known) and not lacking:
            continue
        verdicts: dict[str, str | None] = {}
        for cell in sheet.cells:
            text = sheet.formula_of(cell)
            if not text:
                continue
            if text not in verdicts:
                verdicts[text] = _verdict(text, known, names, lacking, lo)
            reason = verdicts[text]
            if reason:
                out[(sheet.part, cell.row, cell.col)] = reason
    return out


def _suspicious(workbook: Workbook, sheet, known: set[str]) -> bool:
    """Whether a sheet may call a function that neither LibreOffice nor xlfuncs has."""
    calls = {fidelity.bare(n) for n in workbook.called(sheet)}
    return any(c not in known and formulas.our_name(None, c) is None for c in calls)


def _lacking(workbook: Workbook, known: set[str], lo: str, names: dict[str, str]) -> dict[str, str]:
    """Defined names (and sheet names) LibreOffice cannot compute (or resolve) -> why."""
    lacking: dict[str, str] = {}
    for name, text in names.items():
        bad = [f for f in unknown_functions(text, known) if fidelity.bare(f) not in names]
        if bad:
            lacking[name] = f"the defined name {name} uses {fidelity.bare(bad[0])}, which {lo} lacks"
    while True:  # names using names that LibreOffice cannot compute
        grown = False
        for name, text in names.items():
            if name not in lacking:
                for other in lacking:
                    if _mentions(text, other):
                        lacking[name] = lacking[other]
                        grown = True
                        break
        if not grown:
            break
    # A sheet name Excel does not allow either ([]:*?/\ or quotes at the ends): LibreOffice
    # renames the sheet on load, so references to it by name do not resolve there.
    renamed = [n for n in workbook.sheet_order if _FORBIDDEN_NAME.search(n) or not n]
    for name in renamed:
        lacking[_qualified(name, "").upper()] = f"{lo} renames sheet {name!r} (a name Excel does not allow)"
    return lacking


def _can_overlap(workbook: Workbook, known: set[str], lo: str) -> bool:
    """Whether LibreOffice's copy can be made from the raw XML, before any sheet is
    scanned: then LibreOffice loads it while the sheets are scanned (see :func:`_calculate`).

    Every sheet must be one the fast pattern reads whole (no namespace prefix, no array
    formula, so no dynamic array), with formulas somewhere; no cell may need a look of its
    own before the calculation (a function LibreOffice lacks, a shared formula calling
    ours, whose followers hold no text to find).
    """
    formulas_seen = False
    for sheet in workbook.sheets:
        if sheet.prefix or sheet.contains(b't="array"') or sheet.contains(b"t='array'"):
            return False
        if sheet.contains(b"shared") and any(formulas.our_name(None, n) for n in workbook.called(sheet)):
            return False
        if _suspicious(workbook, sheet, known):
            return False
        formulas_seen = formulas_seen or sheet.contains(b"<f>") or sheet.contains(b"<f ")
    names = {name.upper(): text for name, text in workbook.defined_names()}
    return formulas_seen and not _lacking(workbook, known, lo, names)


def _mentions(text: str, name: str) -> bool:
    return (
        re.search(rf"(?<![A-Za-z0-9_.!$\]]){re.escape(name)}(?![A-Za-z0-9_.!])", fidelity.STRINGS.sub('""', text), re.I)
        is not None
    )


def _verdict(text, known, names, lacking, lo) -> str | None:
    for spelling in unknown_functions(text, known):
        name = fidelity.bare(spelling)
        if name in names:
            if name in lacking:
                return lacking[name]
            continue  # a LAMBDA name LibreOffice can compute: never, but not our call
        if spelling.upper().startswith(fidelity.PREFIXES) or name in EXCEL_ONLY:
            return f"{lo} lacks {name}"
        # Anything else (another add-in's function, a typo): LibreOffice's #NAME? decides,
        # and names the cell (see _recalc).
    for name, reason in lacking.items():
        if name.endswith("!"):
            if name in text.upper():
                return reason
        elif _mentions(text, name):
            return reason
    return None


_FORBIDDEN_NAME = re.compile(r"[\[\]:*?/\\]|^'|'$")


_CF_FORMULA = re.compile(rb"<(?:\w+:)?cfRule\b.*?</(?:\w+:)?cfRule>", re.S)
_FORMULA_TEXT = re.compile(rb"<(?:\w+:)?(?:formula|f)\b[^>]*>(.*?)</(?:\w+:)?(?:formula|f)>", re.S)


def _conditional_format_notes(workbook: Workbook, known: set[str], lo: str) -> list[str]:
    """One line per conditional format calling a function LibreOffice lacks.

    Conditional formats hold no cached value, so recalc writes nothing for them; but a
    user should know that LibreOffice does not evaluate them as Excel does.
    """
    notes = []
    for sheet in workbook.sheets:
        if not sheet.contains(b"cfRule"):
            continue
        missing: set[str] = set()
        for rule in _CF_FORMULA.finditer(sheet.data):
            for text in _FORMULA_TEXT.findall(rule.group(0)):
                missing |= {fidelity.bare(f) for f in unknown_functions(_unescape_xml(text), known)}
        if missing:
            notes.append(
                f"{_qualified(sheet.name, '')[:-1]}: a conditional format calls {', '.join(sorted(missing))}, "
                f"which {lo} lacks (it holds no cached value; nothing is written for it)"
            )
    return notes


def _unescape_xml(raw: bytes) -> str:
    import html  # noqa: PLC0415

    return html.unescape(raw.decode("utf-8", "replace"))


def _may_be_volatile(workbook: Workbook) -> bool:
    """Whether any cell may call a volatile function (most workbooks call none: the names
    called on each sheet say so, without a look at any cell)."""
    # A name's last part: RAND( after any qualifier counts, as Excel might read it.
    calls = {name.rsplit(".", 1)[-1].upper() for sheet in workbook.sheets for name in workbook.called(sheet)}
    return bool(calls & fidelity.VOLATILE) or any(fidelity.is_volatile(text) for _, text in workbook.defined_names())


def _volatile_cells(workbook: Workbook, candidates: list[tuple]) -> set[tuple[str, int, int]]:
    """Which of the changed ``(sheet, index)`` pairs are volatile or depend on a volatile
    cell, as ``(sheet part, index)``."""
    if not _may_be_volatile(workbook):
        return set()
    by_name = {sheet.name: sheet for sheet in workbook.sheets}
    index = {sheet.name: {(c.row, c.col): c for c in sheet.cells} for sheet in workbook.sheets}
    memo: dict[tuple[str, int, int], bool] = {}

    def volatile(sheet, cell) -> bool:
        key = (sheet.name, cell.row, cell.col)
        if key in memo:
            return memo[key]
        memo[key] = False  # a cycle: not through this cell
        text = sheet.formula_of(cell)
        answer = fidelity.is_volatile(text)
        if not answer:
            for name, r1, c1, r2, c2 in fidelity.references(text, sheet.name):
                cells = index.get(name)
                if not cells:
                    continue
                if (r2 - r1 + 1) * (c2 - c1 + 1) <= len(cells):
                    found = (cells.get((r, c)) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1))
                    members = [m for m in found if m is not None]
                else:
                    members = [m for (r, c), m in cells.items() if r1 <= r <= r2 and c1 <= c <= c2]
                if any(volatile(by_name[name], m) for m in members):
                    answer = True
                    break
        memo[key] = answer
        return answer

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20_000))
    try:
        return {(s.part, i) for s, i in candidates if volatile(s, s.cell(i))}
    except RecursionError:
        return {(s.part, i) for s, i in candidates if fidelity.is_volatile(s.formula_of(s.cell(i)))}
    finally:
        sys.setrecursionlimit(limit)


def _wanted(workbook: Workbook) -> dict[str, tuple]:
    return {sheet.name: (sheet.table.rows, sheet.table.cols) for sheet in workbook.sheets}


def _recalc(office: Office, source: Path, target: Path | None, check: bool, result: FileResult) -> None:
    workbook = Workbook(source, scan=False, defer_checks=True, stream=True)
    lo = _office_version(office)
    known = office.function_names() | set(registry.FUNCTIONS) | {"ANCHORARRAY"}
    # Overlapping the scan with LibreOffice's load takes a second core: only when the
    # batch has one to spare (one file with --jobs 2 or more, as Calc's threads).
    if not (office.threaded and _can_overlap(workbook, known, lo)):
        workbook.check_and_scan()
        if not any(len(sheet.table) for sheet in workbook.sheets):
            if not check and target is not None and not _same_file(target, source):
                copy_unchanged(source, target)
                result.output = target
            result.status = UNCHANGED
            return
    kept = _uncomputable(workbook, known, lo)
    dynamic = [
        (sheet, cell)
        for sheet in workbook.sheets
        if sheet.dynamic
        for cell in sheet.cells
        if (cell.row, cell.col) in sheet.dynamic and cell.formula and (sheet.part, cell.row, cell.col) not in kept
    ]
    if dynamic:
        _resize_dynamic(office, workbook, dynamic, kept)
    result.notes += _conditional_format_notes(workbook, known, lo)
    calculated = _calculate(office, workbook, kept)
    if calculated is None:  # a column group made a chain circular: cell by cell instead
        workbook.vectorise = False
        calculated = _calculate(office, workbook, kept)
    result.formula_cells = sum(len(sheet.table) for sheet in workbook.sheets)

    # One pass over the results: structural failures first, then what changed.
    circular, no_name = [], []
    updates: dict[str, Updates] = {}
    # Changed cells: straight into the report, unless some may be volatile (known only
    # once all are known): then (sheet, index, line) each, sorted out after the loop.
    pending: list[tuple] = []
    volatile_possible = _may_be_volatile(workbook)
    differing = {s.part for s in workbook.sheets if {fidelity.bare(n) for n in workbook.called(s)} & fidelity.DIFFERING}

    def report(sheet, i: int, line: str) -> None:
        note = fidelity.difference_note(sheet.formula_of(sheet.cell(i))) if sheet.part in differing else ""
        result.changes.append(f"{line} ({note})" if note else line)

    def changed(sheet, i: int, line: str) -> None:
        if volatile_possible:
            pending.append((sheet, i, line))
        else:
            report(sheet, i, line)

    kept_parts = {part for part, _, _ in kept}
    for sheet in workbook.sheets:
        table = sheet.table
        news = calculated.get(sheet.name) or Values.missing(len(table))
        sheet_updates = updates[sheet.part] = Updates()
        # No cell of the sheet needs more than its two values: a number from LibreOffice
        # is then a change or not, without the rules below (most changed cells).
        plain = not (sheet.part in kept_parts or sheet.resized or sheet.blocked)
        look = _differing(table, news) if plain else range(len(table))
        # A cell of a plain sheet that the fast pattern read is compared from its table row
        # and changed by index: no Cell, whose XML a sheet not held would need again.
        indexed = plain and sheet.make_cell is not None
        qualifier = _qualified(sheet.name, "")
        letters: dict[int, str] = {}
        for i in look:
            new = news.value(i)
            if plain and type(new) is float:
                old = table.old(i)
                if same_value(old, new):
                    continue
                col = table.cols[i]
                if not check:
                    sheet_updates.append((i, new))  # by index: no object per changed cell
                if type(old) is float and not volatile_possible and sheet.part not in differing:
                    result.changes.add_number(qualifier, table.rows[i], col, old, new)  # its line when read
                    continue
                if col not in letters:
                    letters[col] = col_name(col)
                line = f"{qualifier}{letters[col]}{table.rows[i] + 1}: {show(old)} -> {show(new)}"
                changed(sheet, i, line)
                continue
            cell = _Indexed.of(table, i) if indexed else sheet.cell(i)
            key = i if indexed else cell
            code = news.code(i)
            where = qualifier + cell.ref
            reason = kept.get((sheet.part, cell.row, cell.col))
            if reason is None and new is None:
                reason = f"{lo} gave no value (sheet name or cell it cannot load)"
            if reason is None and isinstance(new, str) and len(new) > MAX_TEXT:
                reason = f"a text of {len(new)} characters (Excel's limit is {MAX_TEXT})"
            if (
                reason is None
                and code == NO_NAME
                and cell.old is not None
                and cell.old != ExcelError.NAME
                and not unknown_functions(sheet.formula_of(sheet.cell(i)), known)
            ):
                # Excel resolved every name of the formula (it cached a value); LibreOffice did
                # not (a structured reference [Column] inside a table, a name it lacks...).
                reason = f"{lo} cannot resolve a name of the formula (#NAME?) that Excel resolved"
            if reason is not None:
                result.kept.append(f"{where}: kept the cached value {show(cell.old)}: {reason}")
                continue
            resized = (cell.row, cell.col) in sheet.resized
            if (cell.row, cell.col) in sheet.blocked:
                new, code = SPILL, 0
            if code:
                if code == CIRCULAR:
                    circular.append((sheet.name, cell.ref))
                elif code == NO_NAME:
                    no_name.append((sheet, sheet.cell(i)))
                result.error_count += 1
                result.errors.append(f"{where}: {show(new)}")
            if same_value(cell.old, new):
                if resized:  # the value stays, the anchor's range changes
                    sheet_updates.append((key, cell.old))
                continue
            sheet_updates.append((key, new))
            changed(sheet, i, f"{where}: {show(cell.old)} -> {show(new)}")
    # LibreOffice's values are in the updates and the report now: not held through the
    # write, the peak of a run's memory (8 bytes a formula cell and more).
    calculated = news = None
    if circular:
        more = f" (and {len(circular) - 1} more cells)" if len(circular) > 1 else ""
        raise BadWorkbook(f"circular reference at {_qualified(*circular[0])}{more}")
    for sheet, cell in no_name:
        unknown = unknown_functions(sheet.formula_of(cell), known)
        if unknown:
            raise BadWorkbook(
                f"unknown function {unknown[0]} at {_qualified(sheet.name, cell.ref)} "
                "(neither LibreOffice nor xlfuncs implements it)"
            )
    volatile = _volatile_cells(workbook, [(s, i) for s, i, _ in pending]) if pending else set()
    for sheet, i, line in pending:
        if (sheet.part, i) in volatile:
            result.volatile.append(line)
        else:
            report(sheet, i, line)
    result.change_count = len(result.changes)

    if check:
        result.status = CHECK_FAILED if result.change_count else UNCHANGED
        return
    assert target is not None
    changed_parts = workbook.patched(updates)
    if changed_parts:
        workbook.write(target, changed_parts, updates, aside=office.threaded)
        result.output = target
        result.status = CHANGED
    else:
        if not _same_file(target, source):
            copy_unchanged(source, target)
            result.output = target
        result.status = UNCHANGED


class _Indexed(NamedTuple):
    """What the comparison needs of formula cell ``i`` of a table (see :func:`_recalc`)."""

    ref: str
    row: int
    col: int
    old: object

    @classmethod
    def of(cls, table, i: int) -> _Indexed:
        row, col = table.rows[i], table.cols[i]
        return cls(f"{col_name(col)}{row + 1}", row, col, table.old(i))


def _differing(table, news) -> Iterator[int]:
    """The cells whose value may have changed or is not a plain number, in order: every
    other cell holds a number equal to LibreOffice's, which needs no further look (most
    of a workbook, compared here without an object per cell). Found as they are asked
    for: a list of them (an int object each) and its set were 17 MB at 200,000 changes."""
    differing = (i for i, (old, new) in enumerate(zip(table.numbers, news.numbers)) if old != new)
    others = sorted(set(table.others).union(news.others))  # texts, logicals, errors, blanks
    if not others:
        return differing
    return (i for i, _ in itertools.groupby(heapq.merge(differing, others)))


def _resize_dynamic(office: Office, workbook: Workbook, dynamic: list[tuple], kept: dict) -> None:
    """Give every dynamic array (Excel 365) the size its formula now has.

    LibreOffice 7.4 has no dynamic arrays: it computes an array formula over the range
    stored in the file. So ROWS() and COLUMNS() of each formula are computed first, in
    probe cells of LibreOffice's copy, and the arrays whose size changed are resized
    (:meth:`xlfuncs.recalc.workbook.Workbook.resize`) before the real calculation.
    """
    positions = workbook.probe_positions(dynamic)
    wanted: dict[str, tuple[list[int], list[int]]] = {}
    for sheet, row, _ in positions:
        rows, cols = wanted.setdefault(sheet.name, ([], []))
        rows += [row, row]
        cols += [0, 1]
    # Inside LibreOffice's private folder when there is one: its janitor removes it even
    # when xlfuncs is killed.
    with tempfile.TemporaryDirectory(prefix="xlfuncs-recalc-", dir=getattr(office, "work_dir", None)) as folder:
        engine_path = workbook.engine_copy(Path(folder), constants=set(kept), extra=workbook.size_probes(dynamic))
        calculated = office.recalc(engine_path, wanted, workbook.sheet_order)
    taken: dict[str, int] = {}
    for sheet, anchor in dynamic:
        news = calculated.get(sheet.name)
        i = taken.get(sheet.name, 0)
        taken[sheet.name] = i + 2
        rows, cols = (news.value(i), news.value(i + 1)) if news is not None and i + 1 < len(news) else (None, None)
        if type(rows) is float and type(cols) is float and rows.is_integer() and cols.is_integer():
            workbook.resize(sheet, anchor, int(rows), int(cols))


def _calculate(office: Office, workbook: Workbook, kept: dict) -> dict | None:
    """LibreOffice's values of every formula cell; None when only the column groups made
    a reference circular.

    The sheets not checked and scanned yet are while LibreOffice loads its copy: it needs
    a second or more on a large workbook, and so do they, each on its own core. (A sheet
    that declares a DTD never reaches LibreOffice: the part of the check that can find one
    came first; a malformed one fails the file here, and LibreOffice's copy is closed.)
    """
    # Inside LibreOffice's private folder when there is one: its janitor removes it even
    # when xlfuncs is killed.
    with tempfile.TemporaryDirectory(prefix="xlfuncs-recalc-", dir=getattr(office, "work_dir", None)) as folder:
        engine_path = workbook.engine_copy(Path(folder), constants=set(kept))
        loading = office.load(engine_path)
        try:
            # From here on the sheets stream from the file (the scan too): their XML is
            # never held beside what the scan, LibreOffice's values and the changes make.
            workbook.release()
            workbook.check_and_scan()
            workbook.release()  # the sheets scanned before
        except Exception:
            office.discard(loading)
            raise
        calculated = office.values(loading, _wanted(workbook), workbook.sheet_order)
    if workbook.vectorise and workbook.grouped:
        for values in calculated.values():
            if CIRCULAR in values.codes.values():
                return None
    return calculated


def _same_file(a: Path, b: Path) -> bool:
    return a == b or os.path.realpath(a) == os.path.realpath(b)


# ---------------------------------------------------------------------- batches


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised in the main thread so every ``finally`` runs."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _raise_interrupted(signum, frame) -> None:
    # One is enough: cleaning up must not be interrupted by a second one.
    for each in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(each, signal.SIG_IGN)
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Interrupted(signum)


@contextlib.contextmanager
def stop_on_signals():
    """SIGTERM, SIGHUP and SIGINT end the batch through exceptions (LibreOffice is killed
    and temporary files removed on the way out); previous handlers come back after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {each: signal.getsignal(each) for each in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)}
    for each in saved:
        signal.signal(each, _raise_interrupted)
    try:
        yield
    finally:
        for each, handler in saved.items():
            signal.signal(each, handler)


@dataclass
class Task:
    index: int
    source: Path
    target: Path | None


def _run_tasks(
    tasks: Iterable[Task],
    check: bool,
    threaded: bool,
    on_result: Callable[[int, FileResult], None],
    timeout: float | None = DEFAULT_TIMEOUT,
) -> None:
    """Recalculate tasks one after the other on one LibreOffice (a fresh one after a crash
    or a time-out)."""
    office = adopt_early(threaded, timeout) or Office(threaded=threaded, timeout=timeout)
    clean = False
    try:
        office.start()
        office.warm_up()
        for task in tasks:
            on_result(task.index, _guarded(office, task, check))
            if not office.alive():
                office.stop(kill=True)
                office = Office(threaded=threaded, timeout=timeout)
                office.start()
        clean = True
    finally:
        office.stop(kill=not clean)


def _guarded(office: Office, task: Task, check: bool) -> FileResult:
    try:
        return recalc_file(office, task.source, task.target, check)
    except OfficeStartError:
        raise
    except Exception as exc:  # noqa: BLE001 - one bad file must not stop the batch
        detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return FileResult(path=task.source, status=FAILED, message=f"internal error: {detail}")


def _worker(tasks, results, check: bool, timeout: float | None = DEFAULT_TIMEOUT) -> None:
    """A worker process: files from the shared queue until its None, results to the other."""
    die_with_parent(signal.SIGTERM)  # xlfuncs killed: end this worker (and its LibreOffice)
    parent = multiprocessing.parent_process()
    if parent is not None and os.getppid() != parent.pid:
        return  # xlfuncs died before the line above took effect
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which stops us
    signal.signal(signal.SIGTERM, _raise_interrupted)
    try:
        _run_tasks(iter(tasks.get, None), check, False, lambda index, result: results.put((index, result)), timeout)
    except OfficeStartError as exc:
        # Reported, the parent stops the batch and us: its SIGTERM just ends the process.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        results.put((-1, str(exc)))
    except KeyboardInterrupt:
        pass
    except Exception as exc:  # noqa: BLE001 - a worker reports one line, never a traceback
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
        results.put((-1, f"internal error in a worker: {detail}"))
    finally:
        # Done (LibreOffice stopped): a SIGTERM from now on just ends the process. One
        # arriving during this very call is the parent ending the batch: nothing to say.
        with contextlib.suppress(KeyboardInterrupt):
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


@functools.cache  # once per process (forked workers inherit the setting)
def _return_big_buffers() -> None:
    """Have glibc give every large buffer back to the system when it is freed.

    A batch reads its workbooks' sheets whole, tens to hundreds of megabytes each, one after
    the other. glibc raises its threshold for serving such blocks from the heap after the
    first is freed, and heap memory stays with the process: 15 % more resident memory at
    100,000 rows, for nothing (measured when LibreOffice's copy and the patched sheet were
    whole copies too).
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes  # noqa: PLC0415

        ctypes.CDLL("libc.so.6").mallopt(-3, 128 * 1024)  # M_MMAP_THRESHOLD: glibc's default, fixed
    except (OSError, AttributeError):
        pass  # not glibc: its own policy


def run_batch(
    tasks: list[Task],
    check: bool,
    jobs: int,
    on_result: Callable[[int, FileResult], None],
    timeout: float | None = DEFAULT_TIMEOUT,
) -> None:
    """Recalculate ``tasks`` over ``jobs`` LibreOffice processes, reporting each result.

    With one job everything runs in this process; with more, each worker process owns
    one LibreOffice and pulls the next file from a shared queue. ``jobs`` is a budget of
    cores, as ``make -j`` has it: Calc's own calculation threads are used only when there
    are more cores in the budget than files to share them (one file, default ``--jobs``),
    so ``--jobs 1`` keeps to one core and N processes never fight over N cores.
    """
    _return_big_buffers()
    budget = max(1, jobs)
    jobs = max(1, min(budget, len(tasks)))
    if jobs == 1:
        _run_tasks(tasks, check, budget > 1, on_result, timeout)
        return
    # The profile is prepared once, here, not by every worker (and a LibreOffice that
    # cannot start is reported once). Workers start their own LibreOffice.
    stop_early()
    Office.prepare()
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    task_queue = context.Queue()
    result_queue = context.Queue()
    for task in tasks:
        task_queue.put(task)
    for _ in range(jobs):
        task_queue.put(None)
    workers = [context.Process(target=_worker, args=(task_queue, result_queue, check, timeout)) for _ in range(jobs)]
    for worker in workers:
        worker.start()
    pending = {task.index: task for task in tasks}
    clean = False
    try:
        while pending:
            try:
                index, result = result_queue.get(timeout=1.0)
            except queue_module.Empty:
                if not any(w.is_alive() for w in workers):
                    for index, task in sorted(pending.items()):
                        on_result(index, FileResult(path=task.source, status=FAILED, message="worker process died"))
                    pending.clear()
                continue
            if index == -1:
                raise OfficeStartError(result)
            pending.pop(index, None)
            on_result(index, result)
        clean = True
    finally:
        for worker in workers:
            if not clean:
                worker.terminate()  # SIGTERM: it kills its LibreOffice and cleans up
        for worker in workers:
            worker.join(timeout=60 if clean else 30)
            if worker.is_alive():
                worker.kill()
                worker.join()


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def expand_inputs(paths: Iterable[Path], report_unusable: bool = False):
    """Files as given, and the .xlsx/.xlsm files under each folder given (sorted).

    With ``report_unusable``, also ``(path, reason)`` for each folder given that holds no
    workbook or cannot be read: a folder is never silently an empty batch.
    """
    out: list[Path] = []
    unusable: list[tuple[Path, str]] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            try:
                found = sorted(
                    p
                    for p in path.rglob("*")
                    if p.suffix.lower() in (".xlsx", ".xlsm") and not p.name.startswith("~$") and not p.is_dir()
                )
            except OSError as exc:
                unusable.append((path, f"cannot read the folder: {exc.strerror or exc}"))
                continue
            if not found:
                unusable.append((path, "a folder without .xlsx/.xlsm files"))
            out.extend(found)
        else:
            out.append(path)
    return (out, unusable) if report_unusable else out


def shard(paths: list[Path], index: int, count: int) -> list[Path]:
    """The ``index``-th (1-based) of ``count`` deterministic slices of ``paths``.

    Files are sorted by path and dealt round-robin, so every machine of a CI matrix
    computes the same split without talking to the others, and the slices differ in
    size by one file at most.

    Examples
    --------
    >>> [p.name for p in shard([Path(n) for n in "cabde"], 2, 2)]
    ['b', 'd']
    """
    ordered = sorted(paths, key=lambda p: p.as_posix())
    return [p for i, p in enumerate(ordered) if i % count == index - 1]
