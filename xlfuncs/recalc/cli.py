"""``xlfuncs recalc``: the command line over :func:`xlfuncs.recalc.run`.

Registered by :mod:`xlfuncs.cli` as ``app.command("recalc")(recalc_command)``. It parses
options, shows progress, stops on signals and prints (:mod:`xlfuncs.recalc.reports`);
the recalculation itself is :func:`xlfuncs.recalc.batch.run`.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import typer

from . import engine, reports, server
from .batch import UsageError, run
from .engine import FAILED, MISSING, FileResult
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

    results: list[FileResult] = []
    batch: list[Path] = []
    started = time.perf_counter()
    progress = bar = None

    def on_start(files: list[Path]) -> None:
        nonlocal progress, bar
        batch[:] = files
        if files and sys.stderr.isatty():
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
            bar = progress.add_task("recalc", total=len(files), name="")
            progress.start()

    def on_result(result: FileResult) -> None:
        results.append(result)
        if result.status == MISSING:
            line = reports.github_line("error", result.path, result.message)
            typer.echo(line if github else f"{result.path}: {result.message}", err=not github)
            return
        if progress is not None:
            progress.update(bar, advance=1, name=result.path.name)
        if result.status == FAILED:
            if github:
                typer.echo(reports.github_line("error", result.path, result.message))
            else:
                typer.echo(f"{result.path}: {result.message}", err=True)
        elif verbose:
            line = f"{result.path}: {result.status}, {reports.count(result.formula_cells, 'formula cell')}"
            line += f", {reports.count(result.change_count, 'changed value')}"
            if result.error_count:
                line += f", {reports.count(result.error_count, 'error value')}"
            line += f" ({result.seconds:.1f} s)"
            if progress is not None:
                progress.console.print(line, markup=False, highlight=False)
            else:
                typer.echo(line, err=True)

    try:
        with engine.stop_on_signals():
            done = run(
                files,
                output=output,
                in_place=in_place,
                check=compare,
                jobs=jobs or None,
                timeout=timeout,
                shard=shard,
                on_result=on_result,
                on_start=on_start,
            )
    except UsageError as exc:
        _fail(str(exc))
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
        finished = sum(1 for r in results if r.status != MISSING)
        typer.echo(
            f"xlfuncs recalc: stopped by {signal.Signals(signum).name} "
            f"after {finished} of {reports.count(len(batch), 'file')}",
            err=True,
        )
        raise typer.Exit(128 + signum) from None
    finally:
        if progress is not None:
            progress.stop()
    seconds = time.perf_counter() - started

    for result in done:
        reports.print_result(result, check, diff, fail_on_errors, github)
    report_failed = False
    if report is not None:
        try:
            reports.write_junit(report, done, seconds, fail_on_errors)
        except OSError as exc:
            typer.echo(f"xlfuncs recalc: cannot write the report {report}: {exc.strerror or exc}", err=True)
            report.with_name(f".{report.name}.tmp").unlink(missing_ok=True)
            report_failed = True

    failed = sum(1 for r in done if r.status in (FAILED, MISSING))
    check_failed = sum(1 for r in done if reports.check_failed(r, fail_on_errors) and (check or fail_on_errors))
    typer.echo(reports.summary(done, seconds, compare, fail_on_errors), err=True)
    if failed or check_failed or report_failed:
        raise typer.Exit(1)


office_app = typer.Typer(
    no_args_is_help=True,
    help="Keep a LibreOffice running for xlfuncs recalc (saves its start-up, about 1.2 s a run).",
)


@office_app.command("start")
def office_start(
    idle: float = typer.Option(
        server.DEFAULT_IDLE, "--idle", metavar="SECONDS", help="Stop after this many seconds without a run."
    ),
) -> None:
    """Start a LibreOffice that runs of xlfuncs recalc use while it is free.

    Every run that would start one LibreOffice (one job) uses it instead, and starts its
    own while another run holds it. It stops after --idle seconds without a run, or on
    xlfuncs office stop. Exit status: 0 running, 1 it could not be started.
    """
    if idle <= 0:
        typer.echo("xlfuncs office: --idle must be more than 0 seconds", err=True)
        raise typer.Exit(2)
    try:
        state, started = server.start(idle)
    except (server.ServerError, OfficeError) as exc:
        typer.echo(f"xlfuncs office: cannot start LibreOffice: {exc}", err=True)
        raise typer.Exit(1) from None
    if started:
        typer.echo(
            f"xlfuncs office: LibreOffice running (process {state.pgid}); xlfuncs recalc uses it while it is free;"
            f" it stops after {state.idle:g} s without a run, or on xlfuncs office stop"
        )
    else:
        typer.echo(f"xlfuncs office: already running ({_status_line(state)})")


@office_app.command("stop")
def office_stop() -> None:
    """Stop the kept LibreOffice (a run using it fails its current file). Exit status 0."""
    state = server.stop()
    typer.echo("xlfuncs office: stopped" if state is not None else "xlfuncs office: none was running")


@office_app.command("status")
def office_status() -> None:
    """Say whether a kept LibreOffice is running. Exit status: 0 running, 1 not."""
    state = server.read_state()
    if state is None or not state.alive():
        typer.echo("xlfuncs office: not running")
        raise typer.Exit(1)
    typer.echo(f"xlfuncs office: running ({_status_line(state)})")


def _status_line(state: server.State) -> str:
    return f"process {state.pgid}, idle for {state.idle_for():.0f} s of {state.idle:g}, in {state.folder}"
