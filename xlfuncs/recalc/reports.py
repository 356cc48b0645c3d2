"""What ``xlfuncs recalc`` says about its results: terminal lines, GitHub annotations, JUnit XML.

Everything here reads :class:`~xlfuncs.recalc.engine.FileResult` values and recalculates
nothing; :mod:`xlfuncs.recalc.cli` decides which of them to print.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import typer

from .engine import CHANGED, CHECK_FAILED, FAILED, MAX_LISTED, MISSING, FileResult

_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: object) -> str:
    """Any text (a file name with control characters or undecodable bytes included) as XML
    can hold it: the characters it cannot are shown as ``\\xNN`` escapes."""
    return _XML_ILLEGAL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", str(text))


def write_junit(path: Path, results: list[FileResult], seconds: float, fail_on_errors: bool = False) -> None:
    """A JUnit XML report: one test case per input file, missing ones included."""
    failures = sum(1 for r in results if check_failed(r, fail_on_errors))
    errors = sum(1 for r in results if r.status in (FAILED, MISSING))
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
        if result.status in (FAILED, MISSING):
            node = ET.SubElement(case, "error", message=xml_safe(result.message), type="BadWorkbook")
            node.text = xml_safe(result.message)
        elif check_failed(result, fail_on_errors):
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


def check_failed(result: FileResult, fail_on_errors: bool) -> bool:
    """Whether a file fails the gate: stale values, or error values under --fail-on-errors."""
    return result.status == CHECK_FAILED or (
        fail_on_errors and result.status not in (FAILED, MISSING) and result.error_count > 0
    )


def github_line(level: str, path: Path, message: str) -> str:
    """A GitHub Actions workflow command (what ruff's ``--output-format github`` prints)."""

    def data(text: str) -> str:
        return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")

    def prop(text: str) -> str:
        return data(text).replace(":", "%3A").replace(",", "%2C")

    return f"::{level} file={prop(str(path))},title=xlfuncs recalc::{data(message)}"


def count(n: int, noun: str) -> str:
    """``1 file``, ``2 files``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def print_result(result: FileResult, check: bool, diff: bool, fail_on_errors: bool, github: bool) -> None:
    """What a file's cells say: stale values, error values, volatile cells, kept values."""
    if result.status in (FAILED, MISSING):
        return
    path = result.path

    def say(level: str, lines: list[str], limit: int | None) -> None:
        shown = lines if limit is None else lines[:limit]
        for line in shown:
            typer.echo(github_line(level, path, line) if github else f"{path}: {line}")
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
        say("error" if check else "notice", result.changes, None if diff else MAX_LISTED)
    errors = result.stable_errors
    if errors and fail_on_errors:
        say("error", [f"{e} (error value)" for e in errors], None if diff else MAX_LISTED)
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
        typer.echo(github_line("notice", path, note) if github else f"{path}: {note}", err=not github)
    if result.kept:
        if github:
            say("warning", result.kept, None)
        else:
            for line in result.kept[: None if diff else MAX_LISTED]:
                typer.echo(f"{path}: {line}", err=True)


def summary(results: list[FileResult], seconds: float, compare: bool, fail_on_errors: bool) -> str:
    """The closing line: ``xlfuncs recalc: 3 files, 120 formula cells, 1 updated, 0 failed in 4.2 s``."""
    done = [r for r in results if r.status != MISSING]
    missing = len(results) - len(done)
    failed = sum(1 for r in done if r.status == FAILED)
    parts = [count(len(done), "file"), count(sum(r.formula_cells for r in done), "formula cell")]
    if compare:
        parts.append(f"{sum(1 for r in done if r.change_count)} with stale values")
    else:
        parts.append(f"{sum(1 for r in done if r.status == CHANGED)} updated")
    if fail_on_errors:
        parts.append(f"{sum(1 for r in done if r.error_count)} with error values")
    parts.append(f"{failed} failed")
    if missing:
        parts.append(f"{missing} missing")
    return f"xlfuncs recalc: {', '.join(parts)} in {seconds:.1f} s"
