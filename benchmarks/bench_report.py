"""Benchmark ``xlfuncs generate revenue-report --data`` on large billing exports.

Exports of 10,000 and 100,000 subscriptions are made from the built-in sample's generator
(more customers, same story: plans, upgrades, churn, win-backs over 30 months), then the
command runs as a user would run it, in a process of its own. Reported per size and
edition: wall time, peak PSS of the process tree (proportional set size: shared pages
counted once, so it is what the run really costs the machine), the workbook's size and
formula cells. Targets (issue 9): 10,000 under 5 s; 100,000 under 30 s and 1 GB.

    python benchmarks/bench_report.py            # 10,000 and 100,000, add-in edition
    python benchmarks/bench_report.py --native   # also the native edition
    python benchmarks/bench_report.py --check    # also `xlfuncs recalc --check` on each file
"""

from __future__ import annotations

import argparse
import csv
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from xlfuncs.templates import billing_export as bx  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import run_measured  # noqa: E402


def make_export(path: Path, rows: int) -> Path:
    """A subscriptions CSV of exactly ``rows`` rows (about 1.4 subscriptions a customer)."""
    customers = int(rows / 1.35) + 50
    data = bx.sample_rows(customers=customers, seed=2024)
    while len(data) < rows:  # the generator is random: top up with another seed's customers
        data += bx.sample_rows(customers=customers // 10 + 10, seed=len(data))
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(bx.SAMPLE_COLUMNS)
        out.writerows(data[:rows])
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="subscription counts, comma separated")
    parser.add_argument("--native", action="store_true", help="also the native edition")
    parser.add_argument("--check", action="store_true", help="also run `xlfuncs recalc --check` on each file")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(
            f"{'subscriptions':>13} {'edition':>8} {'wall s':>8} {'CPU s':>7} {'peak PSS MB':>12} {'file MB':>8} {'formula cells':>14}"
        )
        for size in sizes:
            data = make_export(folder / f"subs-{size}.csv", size)
            for native in (False, True) if args.native else (False,):
                out = folder / f"report-{size}-{'native' if native else 'udf'}.xlsx"
                cmd = [
                    sys.executable,
                    "-m",
                    "xlfuncs",
                    "generate",
                    "revenue-report",
                    "-o",
                    str(out),
                    "--data",
                    str(data),
                ]
                if native:
                    cmd.append("--native")
                elapsed, cpu, peak, said = run_measured(cmd)
                cells = re.search(r"(\d+) formula cells", said)
                edition = "native" if native else "add-in"
                print(
                    f"{size:>13,} {edition:>8} {elapsed:>8.2f} {cpu:>7.2f} {peak:>12.0f} "
                    f"{out.stat().st_size / 1024**2:>8.1f} "
                    f"{int(cells.group(1)) if cells else 0:>14,}",
                    flush=True,
                )
                if args.check:
                    started = time.perf_counter()
                    check = subprocess.run(
                        [sys.executable, "-m", "xlfuncs", "recalc", "--check", str(out)], capture_output=True, text=True
                    )
                    last = (check.stderr.strip().splitlines() or [""])[-1]
                    print(
                        f"{'':>13} recalc --check: exit {check.returncode} in {time.perf_counter() - started:.1f} s: {last}"
                    )


if __name__ == "__main__":
    main()
