"""``python -m xlfuncs`` and the ``xlfuncs`` console script."""

from __future__ import annotations

import atexit
import os
import sys
import threading

_CLI_EXTRA = ("typer", "rich", "click", "openpyxl", "defusedxml", "tomli")


def _start_office_early(args: list[str]) -> None:
    """``xlfuncs recalc FILE``: start LibreOffice before importing the rest (see
    :func:`xlfuncs.recalc.office.start_early`). Only for one existing file, the case
    where its start-up is the wait; a batch starts its own, one per job."""
    if not args or args[0] != "recalc" or any(a in ("--help", "-h") for a in args):
        return
    taking_values = {"-o", "--output", "--output-format", "--jobs", "-j", "--report", "--shard", "--timeout"}
    files, jobs, rest = [], 0, iter(args[1:])
    for arg in rest:
        if arg in taking_values:
            value = next(rest, "")
            if arg in ("--jobs", "-j"):
                jobs = int(value) if value.isdigit() else 0
        elif arg.startswith("--jobs="):
            jobs = int(arg[7:]) if arg[7:].isdigit() else 0
        elif not arg.startswith("-"):
            files.append(arg)
    if len(files) != 1 or not os.path.isfile(files[0]):
        return
    try:
        from .recalc.office import start_early  # noqa: PLC0415 - light: no numpy, no CLI

        start_early(threaded=(jobs or len(os.sched_getaffinity(0))) > 1)
    except Exception:  # noqa: BLE001 - the batch's own start reports any problem
        return


def main() -> None:
    _start_office_early(sys.argv[1:])
    try:
        from .cli import main as run  # noqa: PLC0415 - the CLI's dependencies are an extra
    except ImportError as exc:
        if (exc.name or "").split(".")[0] not in _CLI_EXTRA:
            raise
        print(
            "xlfuncs: the command line needs its extra: pip install 'xlfuncs[cli]' (scripts/install.sh installs it)",
            file=sys.stderr,
        )
        raise SystemExit(2) from None
    try:
        run()
    except SystemExit as done:
        _leave(done.code)
    _leave(0)


def _leave(code) -> None:
    """End the process once the command is done, without the interpreter's teardown.

    Freeing every module (numpy, typer and the rest) takes about 45 ms after a recalc, of
    a 0.6 s run for a small workbook. What teardown would do that matters is done first:
    the exit handlers (a LibreOffice to stop, temporary folders), then the streams
    flushed. The ordinary exit instead when a thread of ours still runs
    (its work must finish), when the code is not a number (it is printed) or when a
    stream cannot be flushed (reported as usual).
    """
    others = [t for t in threading.enumerate() if t is not threading.current_thread() and not t.daemon]
    if not isinstance(code, int | None) or any(t.is_alive() for t in others):
        raise SystemExit(code)
    # Private, but the one way to run the handlers ahead of os._exit (CPython's own tests
    # call it); should a Python lack it, the ordinary exit.
    run_handlers = getattr(atexit, "_run_exitfuncs", None)
    if run_handlers is None:
        raise SystemExit(code)
    run_handlers()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        raise SystemExit(code) from None
    os._exit(code or 0)


if __name__ == "__main__":
    main()
