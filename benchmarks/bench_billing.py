"""From a billing export to MRR movements and cohorts: xlfuncs against DuckDB and pandas.

Run: ``python benchmarks/bench_billing.py [--subscriptions N] [--customers C] [--repeat R]``.
The export (100,000 subscriptions of about 30,000 customers by default) comes from a seeded
RNG: monthly, quarterly and annual plans, upgrades and downgrades (a new subscription from
the day the old one ends), churn, returns after a gap, subscriptions still running, times of
day on the dates. The table is the 36 months from January 2023. Each side starts from the
same data in memory and ends with the MRR movements per month and the cohort table:

* ``xlfuncs``: the Python API, ``xlfuncs.mrr_from_subs`` + ``xlfuncs.mrr_movements`` +
  ``xlfuncs.cohort_retention``, cell rules included (the ids as an object array of text,
  the dates as serials), as a notebook user calls them;
* ``duckdb playbook``: the dbt-labs MRR playbook's SQL (tests/mrr_playbook.py) on the
  pandas DataFrame registered in DuckDB: ids matched by ``lower()`` (they are ASCII, where
  it is ``casefold()``), dates truncated to months, clipped to the window and running
  subscriptions closed after it (the mapping explained there; one subscription at a time
  per customer, as the playbook requires, holds by construction of the export), the ``mrr``
  model materialised once, then movements per month and a cohort aggregate (count and MRR
  per cohort and age) over it;
* ``pandas groupby``: the straightforward version: every subscription exploded into its
  active months, a groupby sum and pivot for the table, shifts for the movements, a groupby
  on cohort and age for the cohorts.

The three are checked to agree before timing. Times are medians of interleaved runs, then
the median of each xlfuncs step. Memory: the peak RSS of the whole run (``resource.getrusage``,
``ru_maxrss``); then each side runs again three times in a process of its own, which prints
its peak RSS (VmHWM of /proc/self/status, since ``ru_maxrss`` survives ``exec``; also before
the first run, when the imports and the data are loaded) and its PSS at the end
(``psutil.Process().memory_full_info()``).
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

import xlfuncs
from xlfuncs.billing import cohort_retention, customer_order, mrr_from_subs, mrr_movements

WINDOW_FIRST = 44927.0  # 2023-01-01
MONTHS = 36
_DAY0 = pd.Timestamp("1899-12-30")
_MONTH_DAYS = 30.44


def generate(
    subscriptions: int = 100_000, customers: int = 30_000, months: int = MONTHS, seed: int = 2024
) -> pd.DataFrame:
    """A billing export: customer, start, end (NaN: running), amount, interval; serials."""
    rng = np.random.default_rng(seed)
    per_customer = rng.multinomial(subscriptions - customers, np.full(customers, 1 / customers)) + 1
    owner = np.repeat(np.arange(customers), per_customer)
    last_of_chain = np.r_[owner[1:] != owner[:-1], True]
    # One plan per customer (60 % monthly, 15 % quarterly, 25 % annual), a price level that
    # moves by one step at each change of subscription (upgrade or downgrade).
    interval = rng.choice([1.0, 3.0, 12.0], p=[0.6, 0.15, 0.25], size=customers)[owner]
    prices = np.array([19.0, 29.0, 49.0, 99.0, 199.0, 499.0])
    heads = np.cumsum(per_customer) - per_customer  # each customer's first subscription
    moves = rng.choice([-1, 1, 1], size=subscriptions)
    moves[heads] = rng.integers(0, 4, customers)
    walk = np.cumsum(moves)
    level = np.clip(walk - np.repeat(walk[heads] - moves[heads], per_customer), 0, 5)
    amount = prices[level] * interval * np.where(interval == 12, 0.85, 1.0)
    # Durations: a few renewals of the interval; between subscriptions no gap (a plan
    # change) or, one time in five, a gap of one to ten months (churn and return).
    duration = np.ceil(interval * _MONTH_DAYS * (1 + rng.geometric(0.3, subscriptions)))
    gap = np.where(rng.random(subscriptions) < 0.2, rng.integers(30, 300, subscriptions), 0)
    taken = duration + gap
    offset = np.add.accumulate(taken) - taken
    offset -= np.repeat(offset[heads], per_customer)
    first_day = rng.integers(int(WINDOW_FIRST) - 365, int(WINDOW_FIRST + months * _MONTH_DAYS), customers)
    start = first_day[owner] + offset + rng.random(subscriptions)  # a time of day
    end = start + duration
    # The last subscription of a customer is still running for half of them.
    end[last_of_chain & (rng.random(subscriptions) < 0.5)] = np.nan
    ids = np.char.add("cus_", np.char.zfill(np.arange(customers).astype(str), 6))
    return pd.DataFrame({"customer": ids[owner], "start": start, "end": end, "amount": amount, "interval": interval})


# ---------------------------------------------------------------- xlfuncs


def xlfuncs_table(frame: pd.DataFrame, first_month: float, months: float, ids: list | None = None):
    codes, labels = customer_order(frame["customer"].tolist() if ids is None else ids)
    table, error = mrr_from_subs(
        codes,
        len(labels),
        frame["start"].to_numpy(),
        frame["end"].to_numpy(),
        frame["amount"].to_numpy(),
        frame["interval"].to_numpy(),
        first_month,
        months,
    )
    assert int(error) == 0
    return codes, labels, table


def xlfuncs_pipeline(frame: pd.DataFrame, first_month: float, months: float, ids) -> dict:
    columns = [frame[c].to_numpy() for c in ("start", "end", "amount", "interval")]
    table = xlfuncs.mrr_from_subs(ids, *columns, first_month, months)
    movements = xlfuncs.mrr_movements(table)
    customers = xlfuncs.cohort_retention(table, "customers")
    return {
        "movements": movements,
        "customers": np.where(customers == xlfuncs.ExcelError.NA, np.nan, customers).astype(float),
    }


# ---------------------------------------------------------------- DuckDB: the MRR playbook


@functools.cache
def _playbook():
    spec = importlib.util.spec_from_file_location(
        "mrr_playbook", Path(__file__).resolve().parent.parent / "tests" / "mrr_playbook.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def duckdb_pipeline(con, frame: pd.DataFrame, first_month: float, months: float) -> dict:
    playbook = _playbook()
    first = pd.Timestamp(_DAY0 + pd.Timedelta(days=int(first_month))).to_period("M").to_timestamp().date()
    after = (pd.Timestamp(first) + pd.DateOffset(months=int(months))).date()
    con.register("billing", frame)
    # The export as the playbook's subscription_periods (tests/mrr_playbook.py explains the
    # mapping): months of the days, clipped to the window, running ones closed after it.
    con.execute(
        f"""
        create or replace temp table subscription_periods as
        with periods as (
            select lower(customer) as customer_id,
                   greatest(date_trunc('month', date '1899-12-30' + cast(floor(start) as integer)), date '{first}')::date as start_date,
                   least(coalesce(date_trunc('month', date '1899-12-30' + cast(floor("end") as integer)), date '{after}'), date '{after}')::date as end_date,
                   amount / "interval" as monthly_amount
            from billing
            where amount > 0
        )
        select row_number() over () as subscription_id, * from periods where start_date < end_date
        """
    )
    playbook.create_models(con, f"date '{first}'", f"date '{after}'")
    con.execute("create or replace temp table mrr_result as select * from mrr")
    movements = con.execute(
        f"""
        select date_month, change_category, sum(mrr_change) as amount
        from mrr_result
        where change_category is not null and date_month > date '{first}' and date_month < date '{after}'
        group by all
        """
    ).df()
    cohorts = con.execute(
        f"""
        select first_active_month as cohort, datediff('month', first_active_month, date_month) as age,
               count(*) filter (where is_active) as customers, sum(mrr) as mrr
        from mrr_result
        where date_month < date '{after}' and first_active_month is not null
        group by all
        """
    ).df()
    return {"movements": movements, "cohorts": cohorts}


def duckdb_movements_table(result: dict, first_month: float, months: float) -> np.ndarray:
    playbook = _playbook()
    first = playbook.month_number(pd.Timestamp(_DAY0 + pd.Timedelta(days=int(first_month))).date())
    table = np.zeros((int(months) - 1, 6))
    for month, category, amount in result["movements"].itertuples(index=False):
        table[playbook.month_number(month) - first - 1, playbook.CATEGORIES.index(category)] = amount
    table[:, 5] = table[:, :5].sum(axis=1)
    return table


# ---------------------------------------------------------------- pandas groupby


def pandas_pipeline(frame: pd.DataFrame, first_month: float, months: float) -> dict:
    """The straightforward pandas version: explode, groupby, pivot, shift."""
    n = int(months)
    df = frame.copy()
    df["key"] = df["customer"].str.casefold() if df["customer"].dtype == object else df["customer"]
    first = _DAY0 + pd.to_timedelta(np.floor(first_month), unit="D")
    window_first = first.year * 12 + first.month - 1
    start = _DAY0 + pd.to_timedelta(np.floor(df["start"]), unit="D")
    end = _DAY0 + pd.to_timedelta(np.floor(df["end"]), unit="D")
    df["first"] = (start.dt.year * 12 + start.dt.month - 1).clip(lower=window_first)
    df["stop"] = (end.dt.year * 12 + end.dt.month - 1).fillna(window_first + n).clip(upper=window_first + n)
    df["monthly"] = df["amount"] / df["interval"]
    df["month"] = [list(range(int(a), int(b))) for a, b in zip(df["first"], df["stop"])]
    long = df[["key", "month", "monthly"]].explode("month").dropna(subset=["month"])
    long["month"] = long["month"].astype(int) - window_first
    mrr = long.groupby(["key", "month"])["monthly"].sum().unstack(fill_value=0.0)
    mrr = mrr.reindex(index=sorted(df["key"].unique()), columns=range(n), fill_value=0.0)

    before, after = mrr.shift(1, axis=1).iloc[:, 1:], mrr.iloc[:, 1:]
    paid_before = (mrr > 0).cummax(axis=1).shift(1, axis=1, fill_value=False).iloc[:, 1:]
    delta = after - before
    starts = (before == 0) & (after > 0)
    movements = pd.DataFrame(
        {
            "new": after.where(starts & ~paid_before, 0.0).sum(),
            "expansion": delta.where((before > 0) & (delta > 0), 0.0).sum(),
            "reactivation": after.where(starts & paid_before, 0.0).sum(),
            "contraction": delta.where((after > 0) & (delta < 0), 0.0).sum(),
            "churned": (-before).where((before > 0) & (after == 0), 0.0).sum(),
        }
    )
    movements["net"] = movements.sum(axis=1)

    active = mrr.stack()
    active = active[active > 0].rename("mrr").reset_index()
    active.columns = ["key", "month", "mrr"]
    active["cohort"] = active.groupby("key")["month"].transform("min")
    active["age"] = active["month"] - active["cohort"]
    grouped = active.groupby(["cohort", "age"])["mrr"].agg(["size", "sum"])
    count = grouped["size"].unstack().reindex(index=range(n), columns=range(n)).to_numpy(dtype=float)
    total = grouped["sum"].unstack().reindex(index=range(n), columns=range(n)).to_numpy(dtype=float)
    ages = np.arange(n)
    missing = (ages[:, None] + ages[None, :] >= n) | np.isnan(count[:, :1])
    count = np.where(missing, np.nan, np.nan_to_num(count))
    total = np.where(missing, np.nan, np.nan_to_num(total))
    with np.errstate(all="ignore"):
        cohorts = {"count": count, "mrr": total, "customers": count / count[:, :1], "revenue": total / total[:, :1]}
    return {"mrr": mrr, "movements": movements.to_numpy(), "cohorts": cohorts}


# ---------------------------------------------------------------- main


def _peak_rss_mb() -> float:
    """Peak RSS of this process in MB: ``resource.getrusage`` ``ru_maxrss`` (kB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _high_water_mb() -> float:
    """Peak RSS of this process image in MB: VmHWM of /proc/self/status.

    ``ru_maxrss`` survives ``exec``, so a process started from this one would report this
    one's peak; VmHWM belongs to the address space and starts afresh.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return _peak_rss_mb()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=30_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--side", help="run only this side three times and print its memory")
    args = parser.parse_args()
    if args.side:
        return _side_alone(args.side, args.subscriptions, args.customers)

    import duckdb

    frame = generate(args.subscriptions, args.customers)
    ids = frame["customer"].to_numpy()
    first, months = WINDOW_FIRST, float(MONTHS)
    print(f"{len(frame):,} subscriptions, {frame['customer'].nunique():,} customers, {MONTHS} months")

    ours = xlfuncs_pipeline(frame, first, months, ids)

    con = duckdb.connect()
    theirs = duckdb_pipeline(con, frame, first, months)
    reference = pandas_pipeline(frame, first, months)
    np.testing.assert_allclose(ours["movements"], duckdb_movements_table(theirs, first, months), rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(ours["movements"], reference["movements"], rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(ours["customers"], reference["cohorts"]["customers"], rtol=1e-12)
    print("movements agree across the three; cohort shares agree with pandas")

    sides = {
        "xlfuncs": lambda: xlfuncs_pipeline(frame, first, months, ids),
        "duckdb playbook": lambda: duckdb_pipeline(con, frame, first, months),
        "pandas groupby": lambda: pandas_pipeline(frame, first, months),
    }
    times: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(args.repeat):
        for name, side in sides.items():
            began = time.perf_counter()
            side()
            times[name].append(time.perf_counter() - began)
    median = {name: statistics.median(t) for name, t in times.items()}
    print(f"median of {args.repeat} interleaved runs:")
    for name, value in median.items():
        spread = f"{min(times[name]) * 1e3:.1f} .. {max(times[name]) * 1e3:.1f}"
        print(f"  {name:16s} {value * 1e3:9.1f} ms   (runs {spread} ms)   x{value / median['xlfuncs']:.1f}")

    codes, labels, table = xlfuncs_table(frame, first, months, ids.tolist())
    columns = [frame[c].to_numpy() for c in ("start", "end", "amount", "interval")]
    print("  of which the metrics alone (no cell rules):")
    steps = {
        "customer_order": lambda: customer_order(ids.tolist()),
        "mrr_from_subs": lambda: mrr_from_subs(codes, len(labels), *columns, first, months),
        "mrr_movements": lambda: mrr_movements(table),
        "cohort_retention": lambda: cohort_retention(table, "customers"),
    }
    for name, step in steps.items():
        runs = []
        for _ in range(args.repeat):
            began = time.perf_counter()
            step()
            runs.append(time.perf_counter() - began)
        print(f"    {name:18s} {statistics.median(runs) * 1e3:7.1f} ms")
    print(f"peak RSS of this process (resource.getrusage ru_maxrss): {_peak_rss_mb():.0f} MB, all three sides")
    # Each side alone, in a process of its own: its peak RSS and its PSS at the end.
    for name in sides:
        done = subprocess.run(
            [
                sys.executable,
                __file__,
                "--side",
                name,
                "--subscriptions",
                str(args.subscriptions),
                "--customers",
                str(args.customers),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        print(f"  {name:16s} alone: {done.stdout.strip()}")


def _side_alone(name: str, subscriptions: int, customers: int) -> None:
    import duckdb
    import psutil

    frame = generate(subscriptions, customers)
    ids = frame["customer"].to_numpy()
    first, months = WINDOW_FIRST, float(MONTHS)
    before = _high_water_mb()
    con = duckdb.connect()
    side = {
        "xlfuncs": lambda: xlfuncs_pipeline(frame, first, months, ids),
        "duckdb playbook": lambda: duckdb_pipeline(con, frame, first, months),
        "pandas groupby": lambda: pandas_pipeline(frame, first, months),
    }[name]
    for _ in range(3):
        side()
    pss = psutil.Process().memory_full_info().pss / 2**20
    print(
        f"peak RSS {_high_water_mb():.0f} MB ({before:.0f} MB before the first run: imports and data), PSS at the end {pss:.0f} MB"
    )


if __name__ == "__main__":
    main()
