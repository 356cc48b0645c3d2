"""Recalculate workbooks from Python: :func:`run`, what ``xlfuncs recalc`` does, as a call.

Example (needs LibreOffice; not run as a doctest)::

    from xlfuncs import recalc

    results = recalc.run(["models/"], check=True)          # compare only, write nothing
    stale = [r for r in results if r.change_count]
    for r in stale:
        print(r.path, r.changes[:3])                          # ["Sheet!A1: 1 -> 2", ...]

    recalc.run(["model.xlsx"], output="out/model.xlsx")    # or in_place=True

Every input gives one :class:`FileResult`, in the order given (folders expanded to their
.xlsx/.xlsm files, sorted); a file that cannot be recalculated is a result with status
``failed`` (or ``missing``), never an exception. Exceptions are for the call itself:
:class:`UsageError` (a :class:`ValueError`) for contradictory arguments, :class:`OfficeError` when LibreOffice
cannot start at all.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from . import engine
from .engine import CHANGED, CHECK_FAILED, FAILED, MISSING, UNCHANGED, FileResult, Task
from .office import DEFAULT_TIMEOUT, OfficeError

__all__ = [
    "CHANGED",
    "CHECK_FAILED",
    "DEFAULT_TIMEOUT",
    "FAILED",
    "MISSING",
    "UNCHANGED",
    "UsageError",
    "FileResult",
    "OfficeError",
    "run",
]


class UsageError(ValueError):
    """Arguments that contradict each other; ``str()`` is the one-line reason."""


def _targets(inputs: list[Path], output: Path | None, in_place: bool, check: bool) -> list[Path | None]:
    if check:
        return [None] * len(inputs)
    if in_place:
        # Through symlinks to the real file: the link stays a link, its target is updated.
        return [Path(os.path.realpath(p)) for p in inputs]
    assert output is not None
    if len(inputs) == 1 and not output.is_dir() and output.suffix:
        if output.resolve() == inputs[0].resolve():
            raise UsageError("-o names the input itself: use --in-place to rewrite it")
        return [output]
    # A folder: keep the inputs' paths below their common folder, so equal names from
    # different folders do not collide.
    parents = [str(p.resolve().parent) for p in inputs]
    common = Path(os.path.commonpath(parents)) if parents else Path(".")
    targets = [output / p.resolve().relative_to(common) for p in inputs]
    for source, target in zip(inputs, targets):
        if target.resolve() == source.resolve():
            raise UsageError(f"-o {output} would overwrite {source}: use --in-place to rewrite inputs")
    return targets


def run(
    paths: str | os.PathLike | Iterable[str | os.PathLike],
    *,
    output: str | os.PathLike | None = None,
    in_place: bool = False,
    check: bool = False,
    jobs: int | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    shard: tuple[int, int] | None = None,
    on_result: Callable[[FileResult], None] | None = None,
    on_start: Callable[[list[Path]], None] | None = None,
) -> list[FileResult]:
    """Recalculate every formula of workbooks, xlfuncs functions included, without Excel.

    Parameters
    ----------
    paths : path or iterable of paths
        Workbooks (.xlsx/.xlsm), or folders to search for them.
    output : path, optional
        Where results go: a file (one input) or a folder (several inputs; their paths
        below their common folder are kept).
    in_place : bool
        Rewrite the input files instead.
    check : bool
        Write nothing; a file whose cached values are stale gets status ``check failed``
        and lists them in :attr:`FileResult.changes`.
    jobs : int, optional
        A budget of cores, as ``make -j``: up to this many LibreOffice processes, one
        file each at a time (default: every core).
    timeout : float or None
        Seconds LibreOffice may spend on one file (None or 0: no limit); after that the
        file fails and the batch goes on with a fresh LibreOffice.
    shard : (I, N), optional
        Process only slice I (1-based) of N, dealt deterministically (CI matrices).
    on_result : callable, optional
        Called with each file's result as soon as it is known (progress bars, logs),
        missing inputs first.
    on_start : callable, optional
        Called once with the files about to be recalculated, before the first of them.

    Returns
    -------
    list of FileResult
        One per input file, in input order (after ``shard``), missing inputs included
        (status ``missing``).

    Raises
    ------
    UsageError
        A :class:`ValueError`: not exactly one of ``output``, ``in_place`` and ``check``; ``jobs`` below 1, a
        negative ``timeout``, a bad ``shard``; an output that would overwrite an input.
    OfficeError
        LibreOffice cannot start.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    output = Path(output) if output is not None else None
    if sum([output is not None, bool(in_place), bool(check)]) != 1:
        raise UsageError("say where results go: exactly one of output, in_place and check")
    if jobs is not None and jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if timeout is not None and timeout < 0:
        raise UsageError("--timeout must be 0 (no limit) or more seconds")
    if shard is not None and not 1 <= shard[0] <= shard[1]:
        raise UsageError(f"--shard {shard[0]}/{shard[1]}: I must be between 1 and N")
    inputs, unusable = engine.expand_inputs([Path(p) for p in paths], report_unusable=True)
    missing = [p for p in inputs if not p.exists() and not p.is_symlink()]
    reasons = {path: "no such file" for path in missing}
    reasons.update(unusable)
    missing += [path for path, _ in unusable]
    inputs = [p for p in inputs if p.exists() or p.is_symlink()]
    if shard is not None:
        inputs = engine.shard(inputs, *shard)
    if len(inputs) > 1 and output is not None and output.exists() and not output.is_dir():
        raise UsageError(f"-o {output}: several inputs need a folder")
    absent = [FileResult(path=p, status=MISSING, message=reasons.get(p, "no such file")) for p in missing]
    if on_result is not None:
        for result in absent:
            on_result(result)
    targets = _targets(inputs, output, in_place, check)
    tasks = [Task(index=i, source=p, target=t) for i, (p, t) in enumerate(zip(inputs, targets))]
    results: list[FileResult | None] = [None] * len(tasks)

    def done(index: int, result: FileResult) -> None:
        results[index] = result
        if on_result is not None:
            on_result(result)

    if on_start is not None:
        on_start(inputs)
    if tasks:
        engine.run_batch(tasks, check, jobs or engine.default_jobs(), done, timeout or None)
    return absent + [r for r in results if r is not None]
