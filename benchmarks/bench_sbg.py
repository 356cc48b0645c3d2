"""The sBG functions: SBG_FIT on a 36-period cohort table, SBG_CLV against CLV over 1,000,000 cells.

Run: ``python benchmarks/bench_sbg.py [--cells N] [--repeat R] [--sample S]``. Prints, from one
run on one machine:

* ``SBG_FIT``: median time of ``xlfuncs.sbg.sbg_fit`` on a 36 x 36 "count" cohort table
  (36 cohorts of 1,000 to 5,000 customers, row k holding 36 - k ages, churn simulated from
  the sBG model), and the fitted parameters;
* ``SBG_CLV`` and ``CLV``: median time of ``xlfuncs.sbg.sbg_clv`` and ``xlfuncs.metrics.clv``
  over the same number of cells with varying parameters, and their ratio;
* the largest relative error of ``sbg_clv`` and ``sbg_survival`` against mpmath (50 digits)
  on a random sample of those cells (plus, for survival, t up to 1e6).

``python benchmarks/bench_sbg.py --check N [--workers W] [--cache FILE]`` instead checks
``sbg_clv`` against mpmath on N random cells over the whole domain of tests/test_sbg.py
(alpha 0.01-100, whole or nearly whole for a cell in five, beta 0.01-1e5, renewals 0-100,
discount 1e-300-1e5), in W processes, the exact values cached in FILE (an .npz) so that a
change of the code is re-checked at once. About 10 ms of mpmath per cell.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import xlfuncs
from xlfuncs import metrics, sbg


def _time(function, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cohort_table(periods: int = 36, alpha: float = 0.7, beta: float = 2.5, seed: int = 11) -> list[np.ndarray]:
    """Rows of a COHORT_RETENTION "count" table simulated from the sBG model."""
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(periods):
        size = int(rng.integers(1000, 5000))
        churn = rng.beta(alpha, beta, size)
        lifetimes = rng.geometric(churn)  # periods until the customer churns, >= 1
        ages = np.arange(periods - k)
        rows.append((lifetimes[None, :] > ages[:, None]).sum(axis=1).astype(float))
    return rows


def clv_cells(cells: int, seed: int = 7):
    rng = np.random.default_rng(seed)
    shape = (cells // 1000, 1000)
    arpu = rng.uniform(10, 500, shape)
    alpha = rng.uniform(0.3, 5.0, shape)
    beta = rng.uniform(0.5, 20.0, shape)
    margin = np.full(shape, 0.8)
    discount = rng.uniform(0.0, 0.1, shape)
    renewals = rng.integers(0, 37, shape).astype(float)
    return arpu, alpha, beta, margin, discount, renewals


def max_errors(arpu, alpha, beta, margin, discount, renewals, sample: int, seed: int = 3):
    import mpmath as mp

    mp.mp.dps = 50
    rng = np.random.default_rng(seed)
    pick = rng.choice(arpu.size, sample, replace=False)
    a, b, d, n = (v.ravel()[pick] for v in (alpha, beta, discount, renewals))
    values, errors = sbg.sbg_clv(np.ones(sample), a, b, np.ones(sample), d, n)
    clv_worst = 0.0
    for k in range(sample):
        if errors[k]:
            continue
        ak, bk, dk = mp.mpf(a[k]), mp.mpf(b[k]) + int(n[k]), mp.mpf(d[k])
        exact = (ak + bk - 1) / (ak - 1) if dk == 0 else mp.hyp2f1(1, bk, ak + bk, 1 / (1 + dk))
        clv_worst = max(clv_worst, abs(float(values[k] / exact - 1)))
    t = np.floor(10 ** rng.uniform(0, 6, sample))
    values, _ = sbg.sbg_survival(a, b, t)
    survival_worst = 0.0
    for k in range(sample):
        ak, bk = mp.mpf(a[k]), mp.mpf(b[k])
        exact = mp.exp(mp.loggamma(bk + t[k]) + mp.loggamma(ak + bk) - mp.loggamma(bk) - mp.loggamma(ak + bk + t[k]))
        survival_worst = max(survival_worst, abs(float(values[k] / exact - 1)))
    return clv_worst, survival_worst


def check_cells(cells: int, seed: int = 150):
    """Random (alpha, B, d) over the domain the tests sweep."""
    rng = np.random.default_rng(seed)
    alpha = np.exp(rng.uniform(np.log(0.01), np.log(100.0), cells))
    whole = rng.random(cells)
    alpha = np.where(whole < 0.15, np.round(alpha) + 1.0, alpha)  # whole alpha
    nudge = rng.choice([-1e-7, -1e-10, 1e-10, 1e-7], cells)
    alpha = np.where((whole >= 0.15) & (whole < 0.2), np.round(alpha) + 1.0 + nudge, alpha)  # nearly whole
    beta = np.exp(rng.uniform(np.log(0.01), np.log(1e5), cells))
    renewals = np.floor(rng.uniform(0, 101, cells))
    discount = np.exp(rng.uniform(np.log(1e-10), np.log(1e5), cells))
    tiny = rng.random(cells) < 0.05
    discount[tiny] = 10.0 ** rng.uniform(-300, -10, tiny.sum())
    return alpha, beta, renewals, discount


def _exact_expected(args):
    """E = 2F1(1, B; a + B; 1/(1+d)) at 50 digits (as tests/test_sbg.py), None if mpmath fails."""
    import math

    import mpmath as mp

    a, b, d = args
    digits = 50 + max(0, int(-math.log10(d)))
    with mp.workdps(digits):
        a, b, d = mp.mpf(a), mp.mpf(b), mp.mpf(d)
        z = 1 / (1 + d)
        if z < mp.mpf("0.99"):
            total, term, t = mp.mpf(0), mp.mpf(1), 0
            while term > total * mp.mpf(10) ** -45:
                total += term
                term *= (b + t) / (a + b + t) * z
                t += 1
            return float(total)
        try:
            return float(mp.hyp2f1(1, b, a + b, z))
        except (ValueError, mp.libmp.NoConvergence):
            return math.nan


def mpmath_check(cells: int, workers: int, cache: str | None, check_done: bool = False) -> None:
    import multiprocessing
    import os

    alpha, beta, renewals, discount = check_cells(cells)
    b = beta + renewals
    # The exact values are computed 10,000 cells at a time and cached after each block, so
    # that an interrupted run resumes (and --check-done checks the cells done so far).
    exact = np.full(cells, np.nan)
    done = 0
    if cache and os.path.exists(cache):
        stored = np.load(cache)
        assert stored["exact"].size == cells, "the cache holds another number of cells"
        exact, done = stored["exact"], int(stored["done"])
    if done < cells and not check_done:
        start = time.perf_counter()
        with multiprocessing.Pool(workers) as pool:
            for block in range(done, cells, 10_000):
                part = slice(block, min(block + 10_000, cells))
                exact[part] = pool.map(_exact_expected, zip(alpha[part], b[part], discount[part]), chunksize=64)
                done = part.stop
                if cache:
                    np.savez(cache, exact=exact, done=done)
        print(f"mpmath: {time.perf_counter() - start:.0f} s")
    alpha, beta, renewals, discount, b, exact = (v[:done] for v in (alpha, beta, renewals, discount, b, exact))
    cells = done
    values, errors = sbg.sbg_clv(np.ones(cells), alpha, beta, np.ones(cells), discount, renewals)
    usable = np.isfinite(exact) & (exact < 1e300)  # NaN: mpmath did not converge
    error = np.abs(values[usable] / exact[usable] - 1.0)
    worst = np.argmax(error)
    k = np.flatnonzero(usable)[worst]
    print(
        f"{usable.sum():,} of {cells:,} cells checked ({(~np.isfinite(exact)).sum()} without an mpmath value), "
        f"#NUM! on {int((errors[usable] != 0).sum())}: max relative error {error.max():.2e} "
        f"(alpha {alpha[k]!r}, B {b[k]!r}, d {discount[k]!r}), 99.9% under {np.quantile(error, 0.999):.1e}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sample", type=int, default=2000)
    parser.add_argument("--check", type=int, default=0, help="check SBG_CLV against mpmath on this many cells")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cache", default=None, help=".npz file for the exact values of --check")
    parser.add_argument("--check-done", action="store_true", help="check only the cells already in --cache")
    options = parser.parse_args()
    if options.check:
        mpmath_check(options.check, options.workers, options.cache, options.check_done)
        return

    table = cohort_table()
    fit_time = _time(lambda: sbg.sbg_fit(table), max(options.repeat, 21))
    params, error = sbg.sbg_fit(table)
    print(f"SBG_FIT 36 x 36 table: {fit_time * 1e3:.2f} ms (median), alpha, beta = {params.ravel()}, error {error}")

    arpu, alpha, beta, margin, discount, renewals = clv_cells(options.cells)
    churn = alpha / (alpha + beta)  # a CLV input of the same shape and range
    periods = np.full(arpu.shape, np.inf)
    timing = np.ones(arpu.shape)  # type 1: payments at the start of each period
    # Interleaved, so that both sides see the same load on a shared machine. Two levels:
    # the functions as a user calls them (xlfuncs.sbg_clv / xlfuncs.clv, cell rules
    # included), and the bare metrics (the harshest ratio: CLV's metric is a few passes).
    sides = {
        "xlfuncs.sbg_clv": lambda: xlfuncs.sbg_clv(arpu, alpha, beta, margin, discount, renewals),
        "xlfuncs.clv": lambda: xlfuncs.clv(arpu, churn, margin, discount, None),
        "metric sbg_clv": lambda: sbg.sbg_clv(arpu, alpha, beta, margin, discount, renewals),
        "metric clv": lambda: metrics.clv(arpu, churn, margin, discount, periods, timing),
    }
    times = {name: [] for name in sides}
    for _ in range(options.repeat):
        for name, side in sides.items():
            times[name].append(_time(side, 1))
    median = {name: statistics.median(t) for name, t in times.items()}
    for name, t in times.items():
        print(
            f"{name:16s} over {arpu.size:,} cells: {median[name] * 1e3:7.1f} ms (runs {min(t) * 1e3:.1f} .. {max(t) * 1e3:.1f})"
        )
    print(f"ratio SBG_CLV / CLV as called: {median['xlfuncs.sbg_clv'] / median['xlfuncs.clv']:.1f}x (target <= 20x)")
    print(f"ratio of the bare metrics:     {median['metric sbg_clv'] / median['metric clv']:.1f}x")

    clv_worst, survival_worst = max_errors(arpu, alpha, beta, margin, discount, renewals, options.sample)
    print(
        f"max relative error vs mpmath on {options.sample} random cells: SBG_CLV {clv_worst:.2e}, SBG_SURVIVAL {survival_worst:.2e}"
    )


if __name__ == "__main__":
    main()
