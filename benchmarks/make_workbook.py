"""Generate the recalc benchmark workbook (also usable for tests with fewer rows).

``Customers`` has one row per customer: inputs, then seven formula columns built from
SUM, IF, AVERAGE, ROUND, IFERROR and cross-sheet references to ``Assumptions``; with
``clv=True`` an eighth column calls ``CLV`` on a built-in result (CLV depends on ROUND),
and the ``Summary`` sheet's SUMIF/COUNTIF/SUM figures read that column back (built-ins
depend on CLV). 10,000 rows give 70,000 formula cells (+10,000 CLV).
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import openpyxl

from xlfuncs.registry import native_formula

PLANS = ("basic", "pro", "team", "enterprise")


def make_workbook(path: Path, rows: int = 10_000, clv: bool = True, seed: int = 7, native: bool = False) -> Path:
    """The benchmark model; ``native=True`` writes the CLV column as its native-formula twin
    (what LibreOffice alone can calculate: the same work without the add-in)."""
    rng = random.Random(seed)
    wb = openpyxl.Workbook()
    customers = wb.active
    customers.title = "Customers"
    assumptions = wb.create_sheet("Assumptions")
    summary = wb.create_sheet("Summary")
    assumptions.append(["fx", 1.08])
    assumptions.append(["seats", 3])
    assumptions.append(["margin", 0.8])
    header = ["id", "plan", "arpu", "churn", "months", "net", "uplift", "rev/churn", "avg", "total", "eur", "per seat"]
    if clv:
        header.append("clv")
    customers.append(header)
    for i in range(rows):
        r = i + 2
        row = [
            i + 1,
            rng.choice(PLANS),
            round(rng.uniform(10, 400), 2),
            0 if rng.random() < 0.05 else round(rng.uniform(0.005, 0.2), 4),
            rng.randint(1, 60),
            f"=ROUND(C{r}*(1-D{r}),2)",
            f"=IF(C{r}>100,C{r}*1.1,C{r})",
            f"=IFERROR(C{r}/D{r},0)",
            f"=AVERAGE(C{r}:E{r})",
            f"=SUM(C{r},F{r},G{r})",
            f"=Assumptions!$B$1*J{r}",
            f"=ROUND(K{r}/Assumptions!$B$2,4)",
        ]
        if clv and native:
            row.append("=" + native_formula("CLV", f"F{r}", f"D{r}", "Assumptions!$B$3"))
        elif clv:
            row.append(f"=CLV(F{r},D{r},Assumptions!$B$3)")
        customers.append(row)
    last = rows + 1
    summary.append(["plan", "customers", "revenue", "eur"] + (["clv"] if clv else []))
    for plan in PLANS:
        r = summary.max_row + 1
        line = [
            plan,
            f"=COUNTIF(Customers!$B$2:$B${last},A{r})",
            f"=SUMIF(Customers!$B$2:$B${last},A{r},Customers!$J$2:$J${last})",
            f"=SUMIF(Customers!$B$2:$B${last},A{r},Customers!$K$2:$K${last})",
        ]
        if clv:
            line.append(f"=IFERROR(SUMIF(Customers!$B$2:$B${last},A{r},Customers!$M$2:$M${last}),0)")
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
    args = parser.parse_args()
    make_workbook(args.path, args.rows, clv=not args.no_clv, native=args.native)
