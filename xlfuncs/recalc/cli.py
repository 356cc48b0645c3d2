"""``xlfuncs recalc``: the command line of the recalculation engine.

Registered by :mod:`xlfuncs.cli` as ``app.command("recalc")(recalc_command)``.
"""

from __future__ import annotations

import os
import re
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


_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: object) -> str:
    """Any text (a file name with control characters or undecodable bytes included) as XML
    can hold it: the characters it cannot are shown as ``\\xNN`` escapes."""
    return _XML_ILLEGAL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", str(text))


def write_junit(path: Path, results: list[FileResult], seconds: float, fail_on_errors: bool = False) -> None:
    """A JUnit XML report: one test case per input file, missing ones included."""
    failures = sum(1 for r in results if _check_failed(r, fail_on_errors))
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
            suite, "testcase", classname="xlfuncs.recalc", name=xml_safe(result.path), time=f"{result.seconds:.3f}"
        )
        if result.status == FAILED:
            node = ET.SubElement(case, "error", message=xml_safe(result.message), type="BadWorkbook")
            node.text = xml_safe(result.message)
        elif _check_failed(result, fail_on_errors):
            lines = result.changes + ([f"{e} (error value)" for e in result.stable_errors] if fail_on_errors else [])
            node = ET.SubElement(
                case,
                "failure",
                message=f"{result.change_count} stale values, {result.error_count} error values",
                type="RecalcCheck",
            )
            node.text = xml_safe("\n".join(lines))
        else:
            out = ET.SubElement(case, "system-out")
            lines = [f"{result.status}: {result.formula_cells} formula cells, {result.change_count} changed"]
            lines += [f"{e} (error value)" for e in result.stable_errors]
            lines += [f"{v} (volatile)" for v in result.volatile]
            lines += result.kept
            out.text = xml_safe("\n".join(lines))
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    ET.ElementTree(root).write(tmp, encoding="utf-8", xml_declaration=True)
    os.replace(tmp, path)


def _check_failed(result: FileResult, fail_on_errors: bool) -> bool:
    """Whether a file fails the gate: stale values, or error values under --fail-on-errors."""
    return result.status == CHECK_FAILED or (fail_on_errors and result.status != FAILED and result.error_count > 0)


def _github(level: str, path: Path, message: str) -> str:
    """A GitHub Actions workflow command (what ruff's ``--output-format github`` prints)."""

    def data(text: str) -> str:
        return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")

    def prop(text: str) -> str:
        return data(text).replace(":", "%3A").replace(",", "%2C")

    return f"::{level} file={prop(str(path))},title=xlfuncs recalc::{data(message)}"


def recalc_command(
    files: list[Path] = typer.Argument(  # noqa: B008 - typer's declaration style
        ..., metavar="FILE...", help="Workbooks (.xlsx/.xlsm), or folders to search for them.", show_default=False
    ),
    output: Path | None = typer.Option(  # noqa: B008
        None, "-o", "--output", metavar="OUT", help="Output file (one input) or folder (several inputs)."
    ),
    in_place: bool = typer.Option(False, "--in-place", help="Rewrite the input files."),
    check: bool = typer.Option(
        False,
        "--check",
        help="Write nothing; exit 1 if a cached value is stale (would change at Excel's 15 digits). "
        "Volatile cells and stable error values are listed, not failed.",
    ),
    diff: bool = typer.Option(
        False,
        "--diff",
        help="Write nothing; print every changed cell as Sheet!A1: old -> new (with --check: and fail).",
    ),
    fail_on_errors: bool = typer.Option(
        False, "--fail-on-errors", help="Also fail when a formula evaluates to an error value (#N/A, #DIV/0!...)."
    ),
    output_format: str = typer.Option(
        "text", "--output-format", metavar="text|github", help="github: GitHub Actions annotations (::error file=...)."
    ),
    jobs: int = typer.Option(
        0,
        "--jobs",
        "-j",
        metavar="N",
        help="A budget of N cores, as make -j: up to N LibreOffice processes, one file each at a time"
        " (default: all cores).",
        show_default=False,
    ),
    report: Path | None = typer.Option(  # noqa: B008
        None, "--report", metavar="FILE.xml", help="Write a JUnit XML report here (one test case per file)."
    ),
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="One summary line per file on stderr, also when not on a terminal (CI logs)."
    ),
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
    byte-identical, and every output is read back and checked before it replaces
    anything. Exit status: 0 success, 1 a file failed, --check found stale values (or
    error values, with --fail-on-errors), an input is missing or LibreOffice cannot start,
    2 usage error, 128+N stopped by signal N.
    """
    compare = check or diff
    modes = sum([output is not None, in_place, compare])
    if modes == 0:
        _fail("say where results go: -o OUT, --in-place, or --check/--diff (compare only)")
    if modes > 1:
        _fail("-o, --in-place and --check/--diff exclude each other")
    if jobs < 0:
        _fail("--jobs must be at least 1")
    if output_format not in ("text", "github"):
        _fail(f"--output-format {output_format}: text or github")
    github = output_format == "github"
    if timeout < 0:
        _fail("--timeout must be 0 (no limit) or more seconds")
    shard = _parse_shard(shard_spec)
    inputs, unusable = engine.expand_inputs(files, report_unusable=True)
    missing = [p for p in inputs if not p.exists() and not p.is_symlink()]
    reasons = {path: "no such file" for path in missing}
    reasons.update(unusable)
    missing += [path for path, _ in unusable]
    inputs = [p for p in inputs if p.exists() or p.is_symlink()]
    if shard is not None:
        inputs = engine.shard(inputs, *shard)
    if len(inputs) > 1 and output is not None and output.exists() and not output.is_dir():
        _fail(f"-o {output}: several inputs need a folder")
    for path in missing:
        why = reasons.get(path, "no such file")
        typer.echo(_github("error", path, why) if github else f"{path}: {why}", err=not github)
    targets = _targets(inputs, output, in_place, compare)
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
            if github:
                typer.echo(_github("error", result.path, result.message))
            else:
                typer.echo(f"{result.path}: {result.message}", err=True)
        elif verbose:
            line = f"{result.path}: {result.status}, {_count(result.formula_cells, 'formula cell')}"
            line += f", {_count(result.change_count, 'changed value')}"
            if result.error_count:
                line += f", {_count(result.error_count, 'error value')}"
            line += f" ({result.seconds:.1f} s)"
            if progress is not None:
                progress.console.print(line, markup=False, highlight=False)
            else:
                typer.echo(line, err=True)

    try:
        if tasks:
            with engine.stop_on_signals():
                engine.run_batch(tasks, compare, jobs or engine.default_jobs(), on_result, timeout or None)
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
            f"after {sum(r is not None for r in results)} of {_count(len(tasks), 'file')}",
            err=True,
        )
        raise typer.Exit(128 + signum) from None
    finally:
        if progress is not None:
            progress.stop()
    done = [r for r in results if r is not None]
    seconds = time.perf_counter() - started

    for result in done:
        _print_result(result, check, diff, fail_on_errors, github)
    report_failed = False
    if report is not None:
        placeholders = [FileResult(path=p, status=FAILED, message=reasons.get(p, "no such file")) for p in missing]
        try:
            write_junit(report, placeholders + done, seconds, fail_on_errors)
        except OSError as exc:
            typer.echo(f"xlfuncs recalc: cannot write the report {report}: {exc.strerror or exc}", err=True)
            report.with_name(f".{report.name}.tmp").unlink(missing_ok=True)
            report_failed = True

    failed = sum(1 for r in done if r.status == FAILED)
    check_failed = sum(1 for r in done if _check_failed(r, fail_on_errors) and (check or fail_on_errors))
    changed = sum(1 for r in done if r.status == CHANGED)
    cells = sum(r.formula_cells for r in done)
    parts = [_count(len(done), "file"), _count(cells, "formula cell")]
    if compare:
        stale = sum(1 for r in done if r.change_count)
        parts.append(f"{stale} with stale values")
    else:
        parts.append(f"{changed} updated")
    if fail_on_errors:
        parts.append(f"{sum(1 for r in done if r.error_count)} with error values")
    parts.append(f"{failed} failed")
    if missing:
        parts.append(f"{len(missing)} missing")
    typer.echo(f"xlfuncs recalc: {', '.join(parts)} in {seconds:.1f} s", err=True)
    if failed or check_failed or missing or report_failed:
        raise typer.Exit(1)


def _count(n: int, noun: str) -> str:
    """``1 file``, ``2 files``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _print_result(result: FileResult, check: bool, diff: bool, fail_on_errors: bool, github: bool) -> None:
    """What a file's cells say: stale values, error values, volatile cells, kept values."""
    if result.status == FAILED:
        return
    path = result.path

    def say(level: str, lines: list[str], limit: int | None) -> None:
        shown = lines if limit is None else lines[:limit]
        for line in shown:
            typer.echo(_github(level, path, line) if github else f"{path}: {line}")
        if len(shown) < len(lines):
            typer.echo(f"{path}: ... {len(lines)} in all (--diff lists every one)")

    if diff and not github and (result.changes or result.volatile):
        typer.echo(f"--- {path}\t(cached)")
        typer.echo(f"+++ {path}\t(recalculated)")
        for line in result.changes:
            typer.echo(line)
        for line in result.volatile:
            typer.echo(f"{line} (volatile)")
    elif check or github:
        say("error" if check else "notice", result.changes, None if diff else engine.MAX_LISTED)
    errors = result.stable_errors
    if errors and fail_on_errors:
        say("error", [f"{e} (error value)" for e in errors], None if diff else engine.MAX_LISTED)
    elif errors and (check or diff):
        first = ", ".join(e.split(": ", 1)[0] for e in errors[:5])
        more = ", ..." if len(errors) > 5 else ""
        line = f"{len(errors)} error values, also cached so (not stale; --fail-on-errors fails them): {first}{more}"
        say("notice", [line], None)
    if result.volatile and (check or github) and not (diff and not github):
        first = ", ".join(v.split(": ", 1)[0] for v in result.volatile[:5])
        more = ", ..." if len(result.volatile) > 5 else ""
        line = f"{len(result.volatile)} volatile cells changed (RAND, NOW, OFFSET... recalculate on every open): {first}{more}"
        say("notice", [line], None)
    for note in result.notes:
        typer.echo(_github("notice", path, note) if github else f"{path}: {note}", err=not github)
    if result.kept:
        if github:
            say("warning", result.kept, None)
        else:
            for line in result.kept[: None if diff else engine.MAX_LISTED]:
                typer.echo(f"{path}: {line}", err=True)
