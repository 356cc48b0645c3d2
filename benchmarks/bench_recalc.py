"""Benchmark ``xlfuncs recalc`` against LibreOffice alone (and pycel), in one run: issue 10.

Every comparison runs both sides in the same process, interleaved run by run (A B, B A,
A B, ...; one warm-up of each first, not counted, except for ``--jobs`` and ``--million``):
the machine's speed drifts by tens of
percent over minutes (a shared host), which back-to-back blocks would fold into the ratio.
Each side prints the median of ``--runs`` with the min..max spread of wall seconds and CPU
seconds (user + system of the whole process tree), and the peak PSS (max over the runs) of
its whole process tree and, for ``xlfuncs recalc``, of the client alone (the python
process without its LibreOffice children). One sampler (``measure.py``) takes both. PSS
shares a page among every process mapping it, in the tree or not: LibreOffice processes
running elsewhere on the machine lower both sides' figures.

The sides:

* **LibreOffice alone**: ``soffice --headless --convert-to xlsx`` with a warm private
  profile set to recalculate on load (``lo_profile``), of the model whose CLV column is
  written as its native-formula twin (``make_workbook(native=True)``): the same work
  without the add-in;
* **xlfuncs recalc**: ``python -m xlfuncs recalc MODEL -o OUT`` of the model with
  ``=CLV(...)`` calls, writing the patched file;
* **LibreOffice alone, render tests skipped** (information): the first side with the
  start-up setting xlfuncs' own profile has (``ooSetupLastVersion``, see
  ``xlfuncs.recalc.extension``): stock LibreOffice runs its graphics render tests, about
  0.9 s, on every headless start. The targets compare with stock LibreOffice, as users run
  it; this side shows how much of the difference is that one setting.

The workbooks are what a model in git looks like: saved with cached values (primed by one
``xlfuncs recalc``), then an input changed in the XML (``make_stale``: Assumptions!B1) so
that the cached values are stale. After each comparison the two outputs are read back
(Summary, the first 50 customers) to check that both sides recalculated and agree.

Parts and targets (the final table prints PASS/FAIL, or "info" where no target applies):

1. ``--rows N ...`` (default 10000 100000 200000): xlfuncs / LibreOffice alone, wall time,
   <= 1.05 at every size;
2. at the same sizes, memory: whole tree <= 1.15x LibreOffice alone, and the client's
   peak PSS under 100 bytes per formula cell (targets at 100,000 rows and more; info below);
3. ``--million``: a 1,000,000-row light model (one CLV and three built-in formula columns
   per row, ``make_workbook(light=True)``) recalculates (``--timeout 0``), one run, time and
   peak memory printed. Primed (one ``xlfuncs recalc``, minutes) then made stale through
   Assumptions!B3, the margin every CLV call reads; ``--million-fresh`` takes the
   never-calculated file instead (``--million-rows``: another size, to try the path out).
   No LibreOffice-alone run at this size;
4. ``--small``: a 20-row model, xlfuncs / LibreOffice alone <= 1.15 (``--small-runs``,
   default 7);
5. ``--jobs-copies N`` (default 20) stale models of ``--jobs-rows`` (default 10,000), each
   with its own margin so that no workbook reuses another's CLV results: ``--jobs 1`` /
   ``--jobs 2`` >= 1.75 (``--jobs-copies 0``: skipped). Timed without the memory sampler,
   which would take its tenth of a core from the two jobs' work (and from an idle core
   with one job); the memory printed is from one more run of each, sampled;
6. ``--kept``: the small model and ``--kept-rows`` (default 10,000) again, with a LibreOffice
   kept running by ``xlfuncs office start`` (its own cache folder, stopped at the end):
   xlfuncs / LibreOffice alone <= 1.15 for the small model, <= 1.05 for the other. The kept
   LibreOffice is not a child of the run: the tree figure is the client's alone;
7. pycel, unless ``--skip-pycel`` (or not installed): loading the never-calculated model of
   the smallest ``--rows`` with CLV registered as a plugin and evaluating every formula cell
   (one run: it takes minutes), against ``xlfuncs recalc`` of the same file: >= 20x.

``--fresh`` adds, at every ``--rows`` size, the same comparison on the never-calculated
files (openpyxl output, no cached values at all: every cell rewritten), for information.

Generated workbooks live in a temporary folder removed at the end; ``--keep DIR`` keeps
them in DIR instead and reuses what is there (generating and priming 200,000 or 1,000,000
rows takes minutes: generating alone, ~40 s for 200,000 rows and ~130 s for the light
million; delete DIR after changing ``make_workbook``). Outputs always go to the temporary
folder.

Run: ``python benchmarks/bench_recalc.py`` (the issue's sizes), ``--quick`` for
a fast look (2,000 rows, one run, 4 copies, the small file and the kept LibreOffice, no pycel), ``--million --keep
/tmp/xlfuncs-bench-models`` for the 1,000,000-row run.
"""

from __future__ import annotations

import argparse
import compileall
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl

sys.path.insert(0, str(Path(__file__).resolve().parent))
import measure  # noqa: E402
from make_workbook import formula_cells, make_workbook  # noqa: E402

import xlfuncs  # noqa: E402
from xlfuncs.recalc import extension  # noqa: E402

XLFUNCS = [sys.executable, "-m", "xlfuncs", "recalc"]
BIG = 100_000  # the memory targets apply from this many rows on
MILLION = 1_000_000


def make_stale(source: Path, target: Path, cell: str = "B1", value: str = "1.1") -> None:
    """Copy a workbook with cached values, changing one Assumptions input in its XML only.

    Members are streamed (a million-row sheet is hundreds of MB of XML).
    """
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename != "xl/worksheets/sheet2.xml":
                with zin.open(info) as src, zout.open(info, "w") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                continue
            data, n = re.subn(
                rb'(<c r="' + cell.encode() + rb'"[^>]*><v>)[^<]*(</v>)',
                rb"\g<1>" + value.encode() + rb"\g<2>",
                zin.read(info),
            )
            assert n == 1, f"Assumptions!{cell} not found"
            zout.writestr(info, data)


def lo_profile(folder: Path, skip_render_tests: bool = False) -> Path:
    """A warm LibreOffice profile that recalculates xlsx on load (RECALC-NOTES); with
    ``skip_render_tests``, also xlfuncs' setting that skips the graphics render tests."""
    profile = folder / ("lo-profile-tuned" if skip_render_tests else "lo-profile")
    (folder / "lo-tmp").mkdir(exist_ok=True)
    subprocess.run(
        ["soffice", f"-env:UserInstallation={profile.as_uri()}", "--headless", "--terminate_after_init"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, timeout=120,
        env={**os.environ, "TMPDIR": str(folder / "lo-tmp")},  # its lu*.tmp removed with the folder
    )  # fmt: skip
    registry = profile / "user" / "registrymodifications.xcu"
    text = registry.read_text()
    setting = (
        '<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" '
        'oor:op="fuse"><value>0</value></prop></item>\n'
    )
    registry.write_text(text.replace("</oor:items>", setting + "</oor:items>"))
    if skip_render_tests:
        for (path, prop), (kind, value) in extension.SKIP_RENDER_TESTS.items():
            extension.set_option(profile, path, prop, kind, value)
    return profile


# ---------------------------------------------------------------------------- workbooks


class Models:
    """Generated, primed and stale workbooks in one folder, made on first use and reused."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def _name(self, rows: int, native: bool, light: bool, state: str) -> Path:
        kind = ("light_" if light else "") + ("native" if native else "clv")
        return self.folder / f"r{rows}_{kind}_{state}.xlsx"

    def fresh(self, rows: int, native: bool = False, light: bool = False) -> Path:
        """Never calculated: openpyxl's output, no cached values."""
        path = self._name(rows, native, light, "fresh")
        if not path.exists():
            started = time.perf_counter()
            make_workbook(path.with_suffix(".tmp"), rows, clv=True, native=native, light=light)
            path.with_suffix(".tmp").rename(path)
            print(f"  (generated {path.name} in {time.perf_counter() - started:.1f} s)", flush=True)
        return path

    def primed(self, rows: int, native: bool = False, light: bool = False) -> Path:
        """With cached values: one ``xlfuncs recalc`` of the fresh file."""
        path = self._name(rows, native, light, "primed")
        if not path.exists():
            fresh = self.fresh(rows, native, light)
            tmp = path.with_suffix(".tmp.xlsx")
            m = measure.measure([*XLFUNCS, str(fresh), "-o", str(tmp), "--timeout", "0"])
            tmp.rename(path)
            print(f"  (primed {path.name} in {m.wall:.1f} s, tree {m.tree_mb:.0f} MB)", flush=True)
        return path

    def stale(self, rows: int, native: bool = False, light: bool = False) -> Path:
        """Primed, then an input changed: Assumptions!B1 (B3, the margin, for the light model)."""
        path = self._name(rows, native, light, "stale")
        if not path.exists():
            cell, value = ("B3", "0.75") if light else ("B1", "1.1")
            make_stale(self.primed(rows, native, light), path.with_suffix(".tmp"), cell, value)
            path.with_suffix(".tmp").rename(path)
        return path


# ---------------------------------------------------------------------------- measuring


@dataclass
class Side:
    label: str
    cmd: list[str]
    client: bool = False  # report the root process's own PSS (python -m xlfuncs ...)
    env: dict | None = None
    runs: list[measure.Measurement] = field(default_factory=list)
    # False: the counted runs are timed without the memory sampler, and one more run
    # samples memory (its peaks are the side's).
    timed_with_memory: bool = True
    memory_run: measure.Measurement | None = None

    def run(self) -> measure.Measurement:
        return measure.measure(self.cmd, self.env, memory=self.timed_with_memory)

    def sample_memory(self) -> None:
        self.memory_run = measure.measure(self.cmd, self.env)

    @property
    def wall(self) -> float:
        return statistics.median(m.wall for m in self.runs)

    @property
    def cpu(self) -> float:
        return statistics.median(m.cpu for m in self.runs)

    @property
    def _memory_runs(self) -> list[measure.Measurement]:
        return self.runs if self.timed_with_memory else [self.memory_run]

    @property
    def tree_mb(self) -> float:
        return max(m.tree_mb for m in self._memory_runs)

    @property
    def root_mb(self) -> float:
        return max(m.root_mb for m in self._memory_runs)

    def line(self, cells: int | None = None) -> str:
        walls = [m.wall for m in self.runs]
        cpus = [m.cpu for m in self.runs]
        text = (
            f"  {self.label:<44} wall {self.wall:7.2f} s ({min(walls):.2f}..{max(walls):.2f})"
            f"  cpu {self.cpu:7.2f} s ({min(cpus):.2f}..{max(cpus):.2f})  tree {self.tree_mb:6.0f} MB"
        )
        if self.client:
            text += f"  client {self.root_mb:5.0f} MB"
            if cells:
                text += f" ({self.root_mb * 1024**2 / cells:.0f} B/formula cell)"
        return text


def interleaved(sides: list[Side], runs: int, warmup: bool = True) -> None:
    """Run the sides alternately, the order reversed every other round; one uncounted warm-up each."""
    if warmup:
        for side in sides:
            side.run()  # file caches, profile caches
    for i in range(runs):
        for side in sides if i % 2 == 0 else reversed(sides):
            side.runs.append(side.run())


@dataclass
class Check:
    label: str
    value: float
    target: str  # "<= 1.05", or "" for information
    ok: bool | None  # None: information
    fmt: str = "8.2f"


def checks_table(checks: list[Check]) -> None:
    print("\nresults against issue 10's targets:")
    for c in checks:
        verdict = "info" if c.ok is None else ("PASS" if c.ok else "FAIL")
        value = "     n/a" if math.isnan(c.value) else format(c.value, c.fmt)
        print(f"  {c.label:<58} {value}   target {c.target or '-':<8} {verdict}")


# ---------------------------------------------------------------------------- checking outputs


def _read(path: Path, rows: int = 50) -> tuple[list, list]:
    """Cached values of Summary and of the first ``rows`` customers."""
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        summary = [list(r) for r in wb["Summary"].iter_rows(min_row=2, values_only=True)]
        customers = [list(r) for r in wb["Customers"].iter_rows(min_row=2, max_row=rows + 1, values_only=True)]
    finally:
        wb.close()
    return summary, customers


def _same(a, b) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def check_outputs(lo_in: Path, lo_out: Path, ours_in: Path, ours_out: Path) -> str:
    """'ok' when both outputs agree and differ from their inputs' cached values; else what is wrong."""
    lo_vals, ours_vals = _read(lo_out), _read(ours_out)
    problems = []
    for name, left, right in (("Summary", lo_vals[0], ours_vals[0]), ("Customers", lo_vals[1], ours_vals[1])):
        bad = [
            (r, c, a, b)
            for r, (lrow, rrow) in enumerate(zip(left, right))
            for c, (a, b) in enumerate(zip(lrow, rrow))
            if not _same(a, b)
        ]
        if bad or len(left) != len(right):
            problems.append(f"{name} differs in {len(bad)} cells, e.g. {bad[:2]}")
    for label, before, after in (("LibreOffice alone", lo_in, lo_vals), ("xlfuncs", ours_in, ours_vals)):
        if _read(before) == after:
            problems.append(f"{label}'s output has its input's cached values: not recalculated")
    return "ok" if not problems else "; ".join(problems)


# ---------------------------------------------------------------------------- pycel

PYCEL_PLUGIN = """
from xlfuncs import adapter

def clv(*args):
    return adapter.call("CLV", *args)
"""


def pycel_measured(path: Path, folder: Path, rows: int) -> measure.Measurement:
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
    return measure.measure([sys.executable, str(script)])


def have_pycel() -> bool:
    try:
        import pycel  # noqa: F401, PLC0415
    except ImportError:
        return False
    return True


# ---------------------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rows", type=int, nargs="*", help="model sizes (default 10000 100000 200000; none: --rows alone)"
    )
    parser.add_argument("--runs", type=int, help="counted runs of each side (default 3)")
    parser.add_argument("--million", action="store_true", help="add the 1,000,000-row light model (one run)")
    parser.add_argument("--million-fresh", action="store_true", help="... never calculated instead of primed+stale")
    parser.add_argument(
        "--million-rows", type=int, default=MILLION, help="rows of the --million model (fewer: to try the path out)"
    )
    parser.add_argument("--small", action="store_true", help="add the 20-row model")
    parser.add_argument("--small-runs", type=int, help="counted runs of the small model (default 7)")
    parser.add_argument("--jobs-copies", type=int, help="workbooks in the --jobs comparison (default 20; 0: skip)")
    parser.add_argument("--jobs-rows", type=int, help="rows of each of them (default 10000)")
    parser.add_argument("--kept", action="store_true", help="add runs on a LibreOffice kept by xlfuncs office start")
    parser.add_argument(
        "--kept-rows", type=int, nargs="*", help="sizes for --kept besides the small model (default 10000)"
    )
    parser.add_argument("--fresh", action="store_true", help="also compare on the never-calculated files (info)")
    parser.add_argument("--skip-pycel", action="store_true")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep generated workbooks in DIR, reuse them")
    parser.add_argument("--quick", action="store_true", help="a fast look: 2000 rows, 1 run, 4 copies, --small")
    args = parser.parse_args()
    defaults = (
        dict(rows=[2000], runs=1, small_runs=3, jobs_copies=4, jobs_rows=2000, kept_rows=[2000])
        if args.quick
        else dict(
            rows=[10_000, 100_000, 200_000], runs=3, small_runs=7, jobs_copies=20, jobs_rows=10_000, kept_rows=[10_000]
        )
    )
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.quick:
        args.small = args.kept = True
        args.skip_pycel = True
    return args


def main() -> None:
    args = parse_args()
    started = time.perf_counter()
    cpu_started = os.times()
    work = Path(tempfile.mkdtemp(prefix="xlfuncs-bench-"))
    models = Models(args.keep or work / "models")
    checks: list[Check] = []
    try:
        print(f"measuring {Path(xlfuncs.__file__).parent} (python -m xlfuncs with this PYTHONPATH)")
        # Bytecode as ``pip install`` leaves it: a checkout run with PYTHONDONTWRITEBYTECODE
        # set would compile every module of ours on every run (0.1 s, in soffice's Python too).
        compileall.compile_dir(Path(xlfuncs.__file__).parent, quiet=1)
        print(
            f"python {sys.version.split()[0]}, {os.cpu_count()} cores; "
            f"load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )
        profile = lo_profile(work)
        tuned_profile = lo_profile(work, skip_render_tests=True)
        out = work / "out"
        out.mkdir()
        # Our runs keep their profile (and any kept LibreOffice) in a cache folder of their
        # own: a LibreOffice the user keeps running must not serve the plain comparisons.
        ours_env = {**os.environ, "XLFUNCS_CACHE_DIR": str(work / "cache")}

        def lo_side(path: Path, label="LibreOffice alone (native twin)", tuned: bool = False) -> Side:
            cmd = [
                "soffice", f"-env:UserInstallation={(tuned_profile if tuned else profile).as_uri()}", "--headless",
                "--convert-to", "xlsx", "--outdir", str(out / ("lo-tuned" if tuned else "lo")), str(path),
            ]  # fmt: skip
            # Its lu*.tmp files in our folder, removed with it (plain soffice leaves them in /tmp).
            return Side(label, cmd, env={**os.environ, "TMPDIR": str(work / "lo-tmp")})

        def ours_side(path: Path, name: str, extra=(), label="xlfuncs recalc (CLV calls)") -> Side:
            return Side(label, [*XLFUNCS, str(path), "-o", str(out / name), *extra], client=True, env=ours_env)

        def compare(rows: int, fresh: bool = False, runs: int = args.runs, label=None) -> tuple[Side, Side]:
            print()
            get = models.fresh if fresh else models.stale
            native, ours_file = get(rows, native=True), get(rows)
            lo, ours = lo_side(native), ours_side(ours_file, "ours.xlsx", label=label or "xlfuncs recalc (CLV calls)")
            tuned = lo_side(native, "LO alone, render tests skipped (info)", tuned=True)
            interleaved([lo, ours, tuned], runs)
            cells = formula_cells(rows)
            state = "never calculated" if fresh else "stale cached values"
            kept = ", LibreOffice kept by xlfuncs office start" if label else ""
            print(f"{rows} rows, {state}{kept}: {cells} formula cells ({rows} CLV); median of {runs} (min..max):")
            print(lo.line())
            print(ours.line(cells))
            print(tuned.line())
            print(
                f"  ratio xlfuncs / LibreOffice alone: wall {ours.wall / lo.wall:.3f}, cpu {ours.cpu / lo.cpu:.3f},"
                f" tree memory {ours.tree_mb / lo.tree_mb:.3f}; against it with render tests skipped:"
                f" wall {ours.wall / tuned.wall:.3f}"
            )
            checks.append(
                Check(f"  time xlfuncs / LO alone, render tests skipped, {rows} rows", ours.wall / tuned.wall, "", None)
            )
            said = check_outputs(native, out / "lo" / native.name, ours_file, out / "ours.xlsx")
            said_tuned = check_outputs(native, out / "lo-tuned" / native.name, ours_file, out / "ours.xlsx")
            print(f"  outputs read back: {said}; LibreOffice with render tests skipped: {said_tuned}")
            return lo, ours

        # 1 and 2: the model at each size.
        for rows in args.rows:
            lo, ours = compare(rows)
            big = rows >= BIG
            ratio = ours.wall / lo.wall
            checks.append(Check(f"time xlfuncs / LO alone, {rows} rows", ratio, "<= 1.05", ratio <= 1.05))
            checks.append(Check(f"  cpu xlfuncs / LO alone, {rows} rows", ours.cpu / lo.cpu, "", None))
            mem = ours.tree_mb / lo.tree_mb
            checks.append(
                Check(f"tree memory xlfuncs / LO alone, {rows} rows", mem, "<= 1.15", mem <= 1.15 if big else None)
            )
            per_cell = ours.root_mb * 1024**2 / formula_cells(rows)
            ok = per_cell < 100 if big else None
            checks.append(Check(f"client PSS bytes per formula cell, {rows} rows", per_cell, "< 100", ok, "8.1f"))
            if args.fresh:
                lo_f, ours_f = compare(rows, fresh=True)
                checks.append(
                    Check(f"time xlfuncs / LO alone, never calculated, {rows}", ours_f.wall / lo_f.wall, "", None)
                )

        # 4: the small file.
        if args.small:
            lo, ours = compare(20, runs=args.small_runs)
            ratio = ours.wall / lo.wall
            checks.append(Check("time xlfuncs / LO alone, 20 rows", ratio, "<= 1.15", ratio <= 1.15))

        # 5: --jobs 2 against --jobs 1.
        if args.jobs_copies:
            print()
            batch = work / "batch"
            batch.mkdir()
            primed = models.primed(args.jobs_rows)
            for i in range(args.jobs_copies):
                # Each copy with its own margin (Assumptions!B3, an argument of every CLV call),
                # so no workbook reuses another's CLV results.
                make_stale(primed, batch / f"model_{i:02d}.xlsx", "B3", f"{0.7 + i / 100:.2f}")
            # Timed without the memory sampler: its tenth of a core comes from an idle core
            # with one job and from the measured work with two (1.73x against 1.81x, medians
            # of 3 on 2026-11-24). Memory from one more run of each, sampled.
            sides = [
                Side(
                    f"xlfuncs recalc --jobs {j}",
                    [*XLFUNCS, str(batch), "-o", str(work / f"b{j}"), "--jobs", str(j)],
                    env=ours_env,
                    timed_with_memory=False,
                )
                for j in (1, 2)
            ]
            interleaved(sides, args.runs, warmup=False)
            for side in sides:
                side.sample_memory()
            print(
                f"{args.jobs_copies} stale workbooks of {args.jobs_rows} rows; median of {args.runs} (min..max),"
                " timed without the memory sampler; memory from one more run of each:"
            )
            for side in sides:
                print(side.line())
            ratio = sides[0].wall / sides[1].wall
            checks.append(
                Check(
                    f"--jobs 1 / --jobs 2, {args.jobs_copies} x {args.jobs_rows} rows", ratio, ">= 1.75", ratio >= 1.75
                )
            )

        # 6: on a kept LibreOffice.
        if args.kept:
            office = [sys.executable, "-m", "xlfuncs", "office"]
            subprocess.run([*office, "start"], env=ours_env, check=True, stdout=subprocess.DEVNULL)
            try:
                for rows, small, target in [(20, True, 1.15)] + [(r, False, 1.05) for r in args.kept_rows]:
                    lo, ours = compare(
                        rows, runs=args.small_runs if small else args.runs, label="xlfuncs recalc, kept LibreOffice"
                    )
                    ratio = ours.wall / lo.wall
                    checks.append(
                        Check(f"time xlfuncs (kept LO) / LO alone, {rows} rows", ratio, f"<= {target}", ratio <= target)
                    )
            finally:
                subprocess.run([*office, "stop"], env=ours_env, check=False, stdout=subprocess.DEVNULL)

        # 7: pycel.
        if not args.skip_pycel:
            print()
            rows = min(args.rows)
            if not have_pycel():
                print("pycel is not installed (pip install -e .[bench]): skipped")
            else:
                fresh = models.fresh(rows)
                ours = ours_side(fresh, "ours_fresh.xlsx")
                interleaved([ours], args.runs)
                pycel = Side("pycel with CLV registered (one run)", [])
                pycel.runs.append(pycel_measured(fresh, work, rows))
                print(f"{rows} rows, never calculated:")
                print(ours.line(formula_cells(rows)))
                print(pycel.line())
                ratio = pycel.wall / ours.wall
                checks.append(Check(f"pycel / xlfuncs, never calculated, {rows} rows", ratio, ">= 20", ratio >= 20))

        # 3: a million rows (last: the longest).
        if args.million:
            print()
            big = args.million_rows
            cells = formula_cells(big, light=True)
            if args.million_fresh:
                path, state = models.fresh(big, light=True), "never calculated (no cached values)"
            else:
                path = models.stale(big, light=True)
                state = "stale (primed by one xlfuncs recalc, then Assumptions!B3 changed)"
            ours = ours_side(path, "million.xlsx", ["--timeout", "0"], "xlfuncs recalc --timeout 0 (one run)")
            print(f"{big} rows, light model, {state}: {cells} formula cells ({big} CLV)")
            try:
                interleaved([ours], 1, warmup=False)
            except SystemExit as exc:  # measure's failure: report it in the table, not abort
                print(f"  failed: {exc}")
                checks.append(Check(f"{big} rows recalculate", math.nan, "succeeds", False))
            else:
                print(ours.line(cells))
                changed = _read(path) != _read(out / "million.xlsx")
                print(f"  output read back: {'ok' if changed else 'has its input cached values: not recalculated'}")
                checks.append(Check(f"{big} rows recalculate (wall s)", ours.wall, "succeeds", True, "8.1f"))
                checks.append(Check(f"  {big} rows: tree peak PSS (MB)", ours.tree_mb, "", None, "8.0f"))
                checks.append(Check(f"  {big} rows: client peak PSS (MB)", ours.root_mb, "", None, "8.0f"))
                per_cell = ours.root_mb * 1024**2 / cells
                checks.append(
                    Check(f"  {big} rows: client bytes per formula cell", per_cell, "< 100", per_cell < 100, "8.1f")
                )

        checks_table(checks)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        done = os.times()
        cpu = (done.user - cpu_started.user) + (done.system - cpu_started.system)
        cpu += (done.children_user - cpu_started.children_user) + (done.children_system - cpu_started.children_system)
        own = (done.user - cpu_started.user) + (done.system - cpu_started.system)
        print(
            f"\nbenchmark: {time.perf_counter() - started:.0f} s wall, {cpu:.0f} s cpu"
            f" (this process and its children; this process alone, sampler included: {own:.0f} s)"
        )


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
