"""Recalculate one workbook, and a batch of them over one or more LibreOffice processes."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue as queue_module
import re
import signal
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .. import registry
from . import formula as formulas
from .office import CIRCULAR, DEFAULT_TIMEOUT, NO_NAME, Office, OfficeError, OfficeStartError, die_with_parent
from .workbook import BadWorkbook, Workbook, copy_unchanged, same_value, show

_CALLED = re.compile(
    r"""(?:'(?:[^']|'')*'!|\[[^\]]*\][^!(),\s]*!|[A-Za-z0-9_.\\:~$-]+!)?([A-Za-z_][A-Za-z0-9_.]*)\s*\("""
)
_STRINGS = re.compile(r'"(?:[^"]|"")*"')
# Excel-only spellings LibreOffice understands under another name.
_PREFIXES = ("_XLFN._XLWS.", "_XLFN.", "_XLWS.", "_XLETA.")

OK, CHANGED, UNCHANGED, FAILED, CHECK_FAILED = "ok", "changed", "unchanged", "failed", "check failed"
MAX_LISTED = 50  # changed and error cells listed per file; all are counted


@dataclass
class FileResult:
    """What happened to one input file."""

    path: Path
    status: str = OK
    output: Path | None = None
    message: str = ""  # one line: why the file failed
    changes: list[str] = field(default_factory=list)  # "Sheet!A1: old -> new", the first ones
    errors: list[str] = field(default_factory=list)  # "Sheet!A1: #DIV/0!", the first ones
    change_count: int = 0
    error_count: int = 0
    formula_cells: int = 0
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return self.status in (FAILED, CHECK_FAILED)


def _qualified(sheet: str, ref: str) -> str:
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", sheet):
        return f"{sheet}!{ref}"
    return "'" + sheet.replace("'", "''") + f"'!{ref}"


def unknown_functions(text: str, known: set[str]) -> list[str]:
    """Names called in ``text`` that neither LibreOffice nor xlfuncs implements."""
    out = []
    for match in _CALLED.finditer(_STRINGS.sub('""', text)):
        name = match.group(1).upper()
        qualified = match.group(0).split("(")[0]
        if formulas.our_name(None, name) is not None:
            continue
        if "!" in qualified:
            out.append(qualified)  # another workbook's or add-in's function
            continue
        bare = name
        for prefix in _PREFIXES:
            if bare.startswith(prefix):
                bare = bare[len(prefix) :]
                break
        if bare not in known and name not in known:
            out.append(match.group(1))
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
        Compare only: the result fails when a cached value changed or a formula cell
        evaluates to an error; nothing is written.
    """
    started = time.perf_counter()
    result = FileResult(path=source)
    try:
        _recalc(office, source, target, check, result)
    except BadWorkbook as exc:
        result.status, result.message = FAILED, str(exc)
    except OfficeStartError:
        raise  # no file can be done: the batch stops with one line
    except OfficeError as exc:
        result.status, result.message = FAILED, str(exc)
    result.seconds = time.perf_counter() - started
    return result


def _recalc(office: Office, source: Path, target: Path | None, check: bool, result: FileResult) -> None:
    workbook = Workbook(source)
    wanted = {}
    for sheet in workbook.sheets:
        wanted[sheet.name] = [(cell.row, cell.col) for cell in sheet.cells]
        result.formula_cells += len(sheet.cells)
    if result.formula_cells == 0:
        if not check and target is not None and not _same_file(target, source):
            copy_unchanged(source, target)
            result.output = target
        result.status = UNCHANGED
        return
    # Inside LibreOffice's private folder when there is one: its janitor removes it even
    # when xlfuncs is killed.
    with tempfile.TemporaryDirectory(prefix="xlfuncs-recalc-", dir=getattr(office, "work_dir", None)) as folder:
        engine_path = workbook.engine_copy(Path(folder))
        calculated = office.recalc(engine_path, wanted)

    # One pass over the results: structural failures first, then what changed.
    circular, no_name = [], []
    updates: dict[str, list] = {}
    for sheet in workbook.sheets:
        news, codes = calculated.get(sheet.name, ([], []))
        sheet_updates = updates[sheet.name] = []
        for cell, new, code in zip(sheet.cells, news, codes):
            if code:
                if code == CIRCULAR:
                    circular.append((sheet.name, cell.ref))
                elif code == NO_NAME:
                    no_name.append((sheet, cell))
                result.error_count += 1
                if len(result.errors) < MAX_LISTED:
                    result.errors.append(f"{_qualified(sheet.name, cell.ref)}: {new.value}")
            if new is None or same_value(cell.old, new):
                continue
            sheet_updates.append((cell, new))
            result.change_count += 1
            if len(result.changes) < MAX_LISTED:
                result.changes.append(f"{_qualified(sheet.name, cell.ref)}: {show(cell.old)} -> {show(new)}")
    if circular:
        more = f" (and {len(circular) - 1} more cells)" if len(circular) > 1 else ""
        raise BadWorkbook(f"circular reference at {_qualified(*circular[0])}{more}")
    for sheet, cell in no_name:
        unknown = unknown_functions(sheet.formula_of(cell), office.function_names() | set(registry.FUNCTIONS))
        if unknown:
            raise BadWorkbook(
                f"unknown function {unknown[0]} at {_qualified(sheet.name, cell.ref)} "
                "(neither LibreOffice nor xlfuncs implements it)"
            )

    if check:
        result.status = CHECK_FAILED if (result.change_count or result.error_count) else UNCHANGED
        return
    assert target is not None
    changed_parts = workbook.patched(updates)
    if changed_parts:
        workbook.write(target, changed_parts)
        result.output = target
        result.status = CHANGED
    else:
        if not _same_file(target, source):
            copy_unchanged(source, target)
            result.output = target
        result.status = UNCHANGED


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
    office = Office(threaded=threaded, timeout=timeout)
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
        results.put((-1, str(exc)))
    except KeyboardInterrupt:
        pass
    finally:
        # Done (LibreOffice stopped): a SIGTERM from now on just ends the process.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


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
    budget = max(1, jobs)
    jobs = max(1, min(budget, len(tasks)))
    if jobs == 1:
        _run_tasks(tasks, check, budget > 1, on_result, timeout)
        return
    # The profile is prepared once, here, not by every worker (and a LibreOffice that
    # cannot start is reported once).
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
