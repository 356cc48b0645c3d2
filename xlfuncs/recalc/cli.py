"""``xlfuncs recalc``: the command line of the recalculation engine.

Registered by :mod:`xlfuncs.cli` as ``app.command("recalc")(recalc_command)``.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import typer

from . import engine
from .engine import CHANGED, CHECK_FAILED, FAILED, FileResult, Task
from .office import DEFAULT_TIMEOUT, OfficeError


def _fail(message: str) -> None:
    typer.echo(f"xlfuncs recalc: {message}", err=True)
    raise typer.Exit(2)


def _parse_shard(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        _fail(f"--shard wants I/N (e.g. 2/4), got {text!r}")
    if not 1 <= index <= count:
        _fail(f"--shard {text}: I must be between 1 and N")
    return index, count


def _targets(inputs: list[Path], output: Path | None, in_place: bool, check: bool) -> list[Path | None]:
    if check:
        return [None] * len(inputs)
    if in_place:
        # Through symlinks to the real file: the link stays a link, its target is updated.
        return [Path(os.path.realpath(p)) for p in inputs]
    assert output is not None
    if len(inputs) == 1 and not output.is_dir() and output.suffix:
        if output.resolve() == inputs[0].resolve():
            _fail("-o names the input itself: use --in-place to rewrite it")
        return [output]
    # A folder: keep the inputs' paths below their common folder, so equal names from
    # different folders do not collide.
    parents = [str(p.resolve().parent) for p in inputs]
    common = Path(os.path.commonpath(parents)) if parents else Path(".")
    targets = [output / p.resolve().relative_to(common) for p in inputs]
    for source, target in zip(inputs, targets):
        if target.resolve() == source.resolve():
            _fail(f"-o {output} would overwrite {source}: use --in-place to rewrite inputs")
    return targets


def write_junit(path: Path, results: list[FileResult], seconds: float) -> None:
    """A JUnit XML report: one test case per workbook."""
    failures = sum(1 for r in results if r.status == CHECK_FAILED)
    errors = sum(1 for r in results if r.status == FAILED)
    suite = ET.Element(
        "testsuite",
        name="xlfuncs recalc",
        tests=str(len(results)),
        failures=str(failures),
        errors=str(errors),
        skipped="0",
        time=f"{seconds:.3f}",
    )
    for result in results:
        case = ET.SubElement(
            suite, "testcase", classname="xlfuncs.recalc", name=str(result.path), time=f"{result.seconds:.3f}"
        )
        if result.status == FAILED:
            node = ET.SubElement(case, "error", message=result.message, type="BadWorkbook")
            node.text = result.message
        elif result.status == CHECK_FAILED:
            lines = result.changes + [f"error value {e}" for e in result.errors]
            node = ET.SubElement(
                case,
                "failure",
                message=f"{result.change_count} changed values, {result.error_count} error values",
                type="RecalcCheck",
            )
            node.text = "\n".join(lines)
        else:
            out = ET.SubElement(case, "system-out")
            out.text = f"{result.status}: {result.formula_cells} formula cells, {result.change_count} changed"
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    ET.ElementTree(root).write(tmp, encoding="utf-8", xml_declaration=True)
    os.replace(tmp, path)


def recalc_command(
    files: list[Path] = typer.Argument(  # noqa: B008 - typer's declaration style
        ..., help="Workbooks (.xlsx/.xlsm), or folders to search for them.", show_default=False
    ),
    output: Path | None = typer.Option(  # noqa: B008
        None, "-o", "--output", help="Output file (one input) or folder (several inputs)."
    ),
    in_place: bool = typer.Option(False, "--in-place", help="Rewrite the input files."),
    check: bool = typer.Option(
        False, "--check", help="Write nothing; exit 1 if a cached value changed or a formula evaluates to an error."
    ),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Parallel LibreOffice processes (default: number of cores)."),
    report: Path | None = typer.Option(None, "--report", help="Write a JUnit XML report here."),  # noqa: B008
    shard_spec: str | None = typer.Option(
        None, "--shard", metavar="I/N", help="Process only slice I of N (deterministic, for CI matrices)."
    ),
    timeout: float = typer.Option(
        DEFAULT_TIMEOUT,
        "--timeout",
        metavar="SECONDS",
        help="Seconds LibreOffice may spend on one file; after that it is killed and restarted, the file "
        "fails and the batch goes on (0: no limit).",
    ),
) -> None:
    """Recalculate every formula of workbooks, xlfuncs functions included, without Excel.

    Only the cached values of formula cells change; every other part of the file stays
    byte-identical. Exit status: 0 success, 1 a file failed or --check found changes or
    errors (or LibreOffice cannot start), 2 usage error, 128+N stopped by signal N.
    """
    modes = sum([output is not None, in_place, check])
    if modes == 0:
        _fail("say where results go: -o OUT, --in-place, or --check (compare only)")
    if modes > 1:
        _fail("-o, --in-place and --check exclude each other")
    if jobs < 0:
        _fail("--jobs must be at least 1")
    if timeout < 0:
        _fail("--timeout must be 0 (no limit) or more seconds")
    shard = _parse_shard(shard_spec)
    inputs, unusable = engine.expand_inputs(files, report_unusable=True)
    missing = [p for p in inputs if not p.exists() and not p.is_symlink()]
    for path in missing:
        typer.echo(f"{path}: no such file", err=True)
    for path, why in unusable:
        typer.echo(f"{path}: {why}", err=True)
    missing += [path for path, _ in unusable]
    inputs = [p for p in inputs if p.exists() or p.is_symlink()]
    if shard is not None:
        inputs = engine.shard(inputs, *shard)
    if len(inputs) > 1 and output is not None and output.exists() and not output.is_dir():
        _fail(f"-o {output}: several inputs need a folder")
    targets = _targets(inputs, output, in_place, check)
    tasks = [Task(index=i, source=p, target=t) for i, (p, t) in enumerate(zip(inputs, targets))]

    results: list[FileResult | None] = [None] * len(tasks)
    started = time.perf_counter()
    progress = None
    if tasks and sys.stderr.isatty():
        from rich.console import Console  # noqa: PLC0415 - only for terminals
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        progress = Progress(
            TextColumn("recalc"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[name]}"),
            console=Console(stderr=True),
            transient=True,
        )
        bar = progress.add_task("recalc", total=len(tasks), name="")
        progress.start()

    def on_result(index: int, result: FileResult) -> None:
        results[index] = result
        if progress is not None:
            progress.update(bar, advance=1, name=result.path.name)
        if result.status == FAILED:
            typer.echo(f"{result.path}: {result.message}", err=True)

    try:
        if tasks:
            with engine.stop_on_signals():
                engine.run_batch(tasks, check, jobs or engine.default_jobs(), on_result, timeout or None)
    except OfficeError as exc:
        # LibreOffice cannot start at all: one line for the whole batch.
        if progress is not None:
            progress.stop()
            progress = None
        typer.echo(f"xlfuncs recalc: {exc}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt as exc:
        if progress is not None:
            progress.stop()
            progress = None
        signum = getattr(exc, "signum", signal.SIGINT)
        typer.echo(
            f"xlfuncs recalc: stopped by {signal.Signals(signum).name} "
            f"after {sum(r is not None for r in results)} of {len(tasks)} files",
            err=True,
        )
        raise typer.Exit(128 + signum) from None
    finally:
        if progress is not None:
            progress.stop()
    done = [r for r in results if r is not None]
    seconds = time.perf_counter() - started

    if check:
        for result in done:
            if result.status != CHECK_FAILED:
                continue
            lines = result.changes + [f"{e} (error value)" for e in result.errors if not _listed(e, result.changes)]
            for line in lines:
                typer.echo(f"{result.path}: {line}")
            hidden = result.change_count - len(result.changes) + result.error_count - len(result.errors)
            if hidden > 0:
                typer.echo(
                    f"{result.path}: ... {result.change_count} changed and {result.error_count} error values in all"
                )
    report_failed = False
    if report is not None:
        try:
            write_junit(report, done, seconds)
        except OSError as exc:
            typer.echo(f"xlfuncs recalc: cannot write the report {report}: {exc.strerror or exc}", err=True)
            report.with_name(f".{report.name}.tmp").unlink(missing_ok=True)
            report_failed = True

    failed = sum(1 for r in done if r.status == FAILED)
    check_failed = sum(1 for r in done if r.status == CHECK_FAILED)
    changed = sum(1 for r in done if r.status == CHANGED)
    cells = sum(r.formula_cells for r in done)
    parts = [f"{len(done)} files", f"{cells} formula cells"]
    if check:
        parts.append(f"{check_failed} with changes or errors")
    else:
        parts.append(f"{changed} updated")
    parts.append(f"{failed} failed")
    if missing:
        parts.append(f"{len(missing)} missing")
    typer.echo(f"xlfuncs recalc: {', '.join(parts)} in {seconds:.1f} s", err=True)
    if failed or check_failed or missing or report_failed:
        raise typer.Exit(1)


def _listed(error_line: str, changes: list[str]) -> bool:
    where = error_line.split(": ", 1)[0]
    return any(change.startswith(where + ":") for change in changes)
