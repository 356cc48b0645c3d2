"""Generate the recalc benchmark workbook (also usable for tests with fewer rows).

``Customers`` has one row per customer: inputs, then seven formula columns built from
SUM, IF, AVERAGE, ROUND, IFERROR and cross-sheet references to ``Assumptions``; with
``clv=True`` an eighth column calls ``CLV`` on a built-in result (CLV depends on ROUND),
and the ``Summary`` sheet's SUMIF/COUNTIF/SUM figures read that column back (built-ins
depend on CLV). 10,000 rows give 70,000 formula cells (+10,000 CLV). ``light=True`` keeps
three of the seven built-in columns (ROUND, IF, IFERROR; CLV in column I): the
1,000,000-row model. Assumptions!B1 reaches only the full model's eur and per-seat
columns; Assumptions!B3 is an argument of every CLV call.
``native=True`` writes the CLV column as its native-formula twin, what LibreOffice alone
can calculate.

The file is written with openpyxl's streaming (write-only) mode, whatever its size: a
million rows take constant memory. Its only difference from a regular openpyxl save is
that the sheets carry no ``<dimension>`` element.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import openpyxl

from xlfuncs.registry import native_formula

PLANS = ("basic", "pro", "team", "enterprise")

# The built-in formula columns from F on: (header, formula with {r} for the row).
BUILTINS = [
    ("net", "=ROUND(C{r}*(1-D{r}),2)"),
    ("uplift", "=IF(C{r}>100,C{r}*1.1,C{r})"),
    ("rev/churn", "=IFERROR(C{r}/D{r},0)"),
    ("avg", "=AVERAGE(C{r}:E{r})"),
    ("total", "=SUM(C{r},F{r},G{r})"),
    ("eur", "=Assumptions!$B$1*J{r}"),
    ("per seat", "=ROUND(K{r}/Assumptions!$B$2,4)"),
]
LIGHT = 3  # the light model keeps the first three: net, uplift, rev/churn


def _builtins(light: bool) -> list[tuple[str, str]]:
    return BUILTINS[:LIGHT] if light else BUILTINS


def _summary_columns(light: bool, clv: bool) -> list[tuple[str, str | None]]:
    """Summary's figure columns: (header, Customers column the SUMIF adds; None: COUNTIF)."""
    columns = [("customers", None)]
    columns += [("net", "F"), ("uplift", "G")] if light else [("revenue", "J"), ("eur", "K")]
    if clv:
        columns.append(("clv", _column(len(_builtins(light)))))
    return columns


def _column(n_builtins: int) -> str:
    """The letter of the column after the built-in ones (the CLV column)."""
    return chr(ord("F") + n_builtins)


def formula_cells(rows: int, clv: bool = True, light: bool = False) -> int:
    """How many formula cells ``make_workbook`` writes for these arguments."""
    summary = len(PLANS) * len(_summary_columns(light, clv)) + 2
    return rows * (len(_builtins(light)) + clv) + summary


def make_workbook(
    path: Path, rows: int = 10_000, clv: bool = True, seed: int = 7, native: bool = False, light: bool = False
) -> Path:
    """The benchmark model; ``native=True`` writes the CLV column as its native-formula twin
    (what LibreOffice alone can calculate: the same work without the add-in), ``light=True``
    three built-in columns instead of seven."""
    rng = random.Random(seed)
    builtins = _builtins(light)
    wb = openpyxl.Workbook(write_only=True)
    customers = wb.create_sheet("Customers")
    assumptions = wb.create_sheet("Assumptions")
    summary = wb.create_sheet("Summary")
    assumptions.append(["fx", 1.08])
    assumptions.append(["seats", 3])
    assumptions.append(["margin", 0.8])
    customers.append(["id", "plan", "arpu", "churn", "months"] + [h for h, _ in builtins] + (["clv"] if clv else []))
    if clv and native:
        clv_formula = "=" + native_formula("CLV", "F{r}", "D{r}", "Assumptions!$B$3")
    else:
        clv_formula = "=CLV(F{r},D{r},Assumptions!$B$3)"
    formulas = [f for _, f in builtins] + ([clv_formula] if clv else [])
    for i in range(rows):
        r = i + 2
        row = [
            i + 1,
            rng.choice(PLANS),
            round(rng.uniform(10, 400), 2),
            0 if rng.random() < 0.05 else round(rng.uniform(0.005, 0.2), 4),
            rng.randint(1, 60),
        ]
        row += [f.format(r=r) for f in formulas]
        customers.append(row)
    last = rows + 1
    plans = f"Customers!$B$2:$B${last}"
    columns = _summary_columns(light, clv)
    summary.append(["plan"] + [h for h, _ in columns])
    for k, plan in enumerate(PLANS):
        r = k + 2
        line = [plan]
        for header, col in columns:
            if col is None:
                line.append(f"=COUNTIF({plans},A{r})")
            elif header == "clv":
                line.append(f"=IFERROR(SUMIF({plans},A{r},Customers!${col}$2:${col}${last}),0)")
            else:
                line.append(f"=SUMIF({plans},A{r},Customers!${col}$2:${col}${last})")
        summary.append(line)
    summary.append(["total", f"=SUM(B2:B{len(PLANS) + 1})", f"=SUM(C2:C{len(PLANS) + 1})"])
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path", type=Path)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--no-clv", action="store_true")
    parser.add_argument("--native", action="store_true", help="the CLV column as its native-formula twin")
    parser.add_argument("--light", action="store_true", help="three built-in formula columns instead of seven")
    args = parser.parse_args()
    make_workbook(args.path, args.rows, clv=not args.no_clv, native=args.native, light=args.light)
