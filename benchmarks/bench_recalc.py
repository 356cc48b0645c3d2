"""Benchmark ``xlfuncs recalc`` against plain LibreOffice and pycel, in one run.

What is measured (wall time of a whole command, median of ``--runs``, peak memory (PSS) of its
process tree):

* **plain LibreOffice**: ``soffice --headless --convert-to xlsx`` of the workbook *without*
  the CLV column, with a warm private profile set to recalculate on load (LibreOffice's
  own load + recalculate + write; it cannot evaluate CLV at all);
* **xlfuncs recalc**: ``python -m xlfuncs recalc`` of the same workbook *with* a CLV
  column (10,000 CLV calls inside LibreOffice's calculation), writing the patched file;
* **pycel**: loading the workbook with CLV registered as a plugin and evaluating every
  formula cell (one run: it takes minutes);
* **--jobs**: 20 such workbooks with ``--jobs 1`` and ``--jobs 2``.

The workbooks are what a model in git looks like: saved with cached values (primed by one
recalc), then an input changed (Assumptions!B1) so that the cached values are stale. The
same comparison on a never-calculated file (openpyxl output, no cached values at all: every
cell rewritten) is printed too.

Run: ``python benchmarks/bench_recalc.py`` (``--rows 2000 --skip-pycel`` for a quick look).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import measure  # noqa: E402
from make_workbook import make_workbook  # noqa: E402


def run_measured(cmd: list[str], env: dict | None = None) -> tuple[float, float]:
    """Run a command; (wall seconds, peak PSS in MB of its whole process tree).

    Exit status 1 is fine: ``recalc --check`` on a stale workbook says so.
    """
    wall, _, peak, _ = measure.run_measured(cmd, env, ok=(0, 1))
    return wall, peak


def median_runs(cmd, runs, env=None):
    run_measured(cmd, env)  # warm-up: file caches, profile caches
    results = [run_measured(cmd, env) for _ in range(runs)]
    return statistics.median(r[0] for r in results), max(r[1] for r in results)


def make_stale(source: Path, target: Path, cell: str = "B1", value: str = "1.1") -> None:
    """Copy a workbook with cached values, changing one Assumptions input in its XML only."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "xl/worksheets/sheet2.xml":
                data, n = re.subn(
                    rb'(<c r="' + cell.encode() + rb'"[^>]*><v>)[^<]*(</v>)',
                    rb"\g<1>" + value.encode() + rb"\g<2>",
                    data,
                )
                assert n == 1, f"Assumptions!{cell} not found"
            zout.writestr(info, data)


def lo_profile(folder: Path) -> Path:
    """A warm LibreOffice profile that recalculates xlsx on load (RECALC-NOTES)."""
    profile = folder / "lo-profile"
    subprocess.run(
        ["soffice", f"-env:UserInstallation={profile.as_uri()}", "--headless", "--terminate_after_init"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, timeout=120,
    )  # fmt: skip
    registry = profile / "user" / "registrymodifications.xcu"
    text = registry.read_text()
    setting = (
        '<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" '
        'oor:op="fuse"><value>0</value></prop></item>\n'
    )
    registry.write_text(text.replace("</oor:items>", setting + "</oor:items>"))
    return profile


PYCEL_PLUGIN = """
from xlfuncs import adapter

def clv(*args):
    return adapter.call("CLV", *args)
"""


def pycel_seconds(path: Path, folder: Path, rows: int) -> tuple[float, float]:
    """pycel with CLV registered: evaluate every formula cell (in a child process).

    Whole ranges go to ``evaluate`` at once: pycel builds its graph once for them, where a
    call per cell re-measures the whole graph each time (quadratic: 16 s for 1,000 rows,
    55 s for 2,000). ``Summary!E2:E5`` (``IFERROR(SUMIF(..., CLV column), 0)``) is left
    out: pycel's SUMIF raises a TypeError on an error value in its sum range (it sums the
    error text) instead of returning the error for IFERROR to catch.
    """
    (folder / "xlfuncs_pycel_plugin.py").write_text(PYCEL_PLUGIN)
    script = folder / "run_pycel.py"
    script.write_text(
        f"""
import sys
sys.path.insert(0, {str(folder)!r})
from pycel import ExcelCompiler
excel = ExcelCompiler(filename={str(path)!r}, plugins=["xlfuncs_pycel_plugin"])
customers = excel.evaluate("Customers!F2:M{rows + 1}")
summary = excel.evaluate("Summary!B2:D6")
print(len(customers) * len(customers[0]) + 15, summary[-1])
"""
    )
    return run_measured([sys.executable, str(script)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--copies", type=int, default=20, help="workbooks in the --jobs comparison")
    parser.add_argument("--skip-pycel", action="store_true")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="xlfuncs-bench-"))
    try:
        xlfuncs = [sys.executable, "-m", "xlfuncs", "recalc"]
        fresh_clv = make_workbook(folder / "fresh_clv.xlsx", args.rows, clv=True)
        fresh_plain = make_workbook(folder / "fresh_plain.xlsx", args.rows, clv=False)
        # Give both workbooks cached values, as Excel saves them, then make them stale.
        primed = {}
        for name, fresh in (("clv", fresh_clv), ("plain", fresh_plain)):
            primed[name] = folder / f"primed_{name}.xlsx"
            subprocess.run([*xlfuncs, str(fresh), "-o", str(primed[name])], check=True, stderr=subprocess.DEVNULL)
            make_stale(primed[name], folder / f"stale_{name}.xlsx")
        stale_clv, stale_plain = folder / "stale_clv.xlsx", folder / "stale_plain.xlsx"
        profile = lo_profile(folder)
        out = folder / "out"
        out.mkdir()

        def lo_cmd(path):
            return [
                "soffice", f"-env:UserInstallation={profile.as_uri()}", "--headless",
                "--convert-to", "xlsx", "--outdir", str(out), str(path),
            ]  # fmt: skip

        def row(label, seconds, mem):
            print(f"  {label:<58} {seconds:7.2f} s  {mem:6.0f} MB", flush=True)

        print(f"workbook: {args.rows} rows, {7 * args.rows} built-in formula cells + {args.rows} CLV cells")
        print(f"median of {args.runs} runs (wall time of the whole command, peak PSS of its process tree):")
        lo_t, lo_mem = median_runs(lo_cmd(stale_plain), args.runs)
        row("plain LibreOffice, no CLV column (stale cached values)", lo_t, lo_mem)
        ours_t, ours_mem = median_runs([*xlfuncs, str(stale_clv), "-o", str(out / "ours.xlsx")], args.runs)
        row("xlfuncs recalc, with CLV column (stale cached values)", ours_t, ours_mem)
        lo_fresh_t, lo_fresh_mem = median_runs(lo_cmd(fresh_plain), args.runs)
        row("plain LibreOffice, no CLV column (no cached values)", lo_fresh_t, lo_fresh_mem)
        ours_fresh = [*xlfuncs, str(fresh_clv), "-o", str(out / "ours_fresh.xlsx")]
        ours_fresh_t, ours_fresh_mem = median_runs(ours_fresh, args.runs)
        row("xlfuncs recalc, with CLV column (no cached values)", ours_fresh_t, ours_fresh_mem)

        batch = folder / "batch"
        batch.mkdir()
        for i in range(args.copies):
            # Each copy with its own margin (Assumptions!B3, an argument of every CLV call),
            # so no workbook reuses another's CLV results.
            make_stale(primed["clv"], batch / f"model_{i:02d}.xlsx", "B3", f"{0.7 + i / 100:.2f}")
        # Interleaved (1, 2, 1, 2, ...): the machine's speed drifts by tens of percent
        # over minutes (shared host), which back-to-back blocks would fold into the ratio.
        timings: dict[int, list] = {1: [], 2: []}
        for _ in range(args.runs):
            for jobs in (1, 2):
                cmd = [*xlfuncs, str(batch), "-o", str(folder / f"b{jobs}"), "--jobs", str(jobs)]
                timings[jobs].append(run_measured(cmd))
        (jobs1_t, jobs1_mem), (jobs2_t, jobs2_mem) = (
            (statistics.median(t for t, _ in timings[j]), max(m for _, m in timings[j])) for j in (1, 2)
        )
        row(f"xlfuncs recalc --jobs 1, {args.copies} workbooks", jobs1_t, jobs1_mem)
        row(f"xlfuncs recalc --jobs 2, {args.copies} workbooks", jobs2_t, jobs2_mem)

        if not args.skip_pycel:
            pycel_t, pycel_mem = pycel_seconds(fresh_clv, folder, args.rows)
            row("pycel with CLV registered (one run, no cached values)", pycel_t, pycel_mem)

        checks = [
            ("xlfuncs / plain LibreOffice (stale)", ours_t / lo_t, "<= 1.5", ours_t / lo_t <= 1.5),
            ("xlfuncs / plain LibreOffice (no cached values)", ours_fresh_t / lo_fresh_t, "(info)", None),
            (
                "peak memory of xlfuncs recalc (MB)",
                max(ours_mem, ours_fresh_mem),
                "< 500",
                max(ours_mem, ours_fresh_mem) < 500,
            ),
            ("--jobs 1 / --jobs 2", jobs1_t / jobs2_t, ">= 1.6", jobs1_t / jobs2_t >= 1.6),
        ]
        if not args.skip_pycel:
            checks.append(
                ("pycel / xlfuncs (no cached values)", pycel_t / ours_fresh_t, ">= 20", pycel_t / ours_fresh_t >= 20)
            )
        print("ratios:")
        for label, value, target, ok in checks:
            verdict = "" if ok is None else ("PASS" if ok else "FAIL")
            print(f"  {label:<50} {value:8.2f}   target {target:<7} {verdict}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
