"""CLV over 1,000,000 cells: the adapter against the bare numpy expression and a per-cell loop.

Run: ``python benchmarks/bench_array.py [--cells N] [--repeat R]``. Prints the median time
of each side, measured in the same run on the same data, and the ratios. Sides:

* ``numpy``: the bare expression ``arpu * margin * (1 + d) / (churn + d)`` on float arrays;
* ``adapter(ndarray)``: ``xlfuncs.adapter.call("CLV", ...)`` on float arrays (the xlwings
  ``np.array`` converter's shape), validation, error planes and spill included;
* ``adapter(lists)``: the same on 2-D Python lists, which is how xlwings hands ranges over
  by default, conversion of every cell and back included;
* ``python loop``: the bare formula computed cell by cell in a Python loop (no checks);
* ``scalar API per cell``: ``xlfuncs.clv`` called once per cell, which is what a per-cell
  UDF costs (timed on the first 10,000 cells and scaled to the full count: at about
  0.1 ms a call the whole range would take minutes).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import xlfuncs
from xlfuncs import adapter


def _time(function, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()

    rng = np.random.default_rng(7)
    rows = options.cells // 1000
    arpu = rng.uniform(10, 500, (rows, 1000))
    churn = rng.uniform(0.01, 0.2, (rows, 1000))
    margin, discount = 0.8, 0.01
    arpu_list, churn_list = arpu.tolist(), churn.tolist()
    sample_rows = min(rows, 10)

    def bare():
        return arpu * margin * (1 + discount) / (churn + discount)

    def through_adapter_arrays():
        return adapter.call("CLV", arpu, churn, margin, discount)

    def through_adapter_lists():
        return adapter.call("CLV", arpu_list, churn_list, margin, discount)

    def python_loop():
        return [
            [a * margin * (1 + discount) / (c + discount) for a, c in zip(arow, crow)]
            for arow, crow in zip(arpu_list, churn_list)
        ]

    def scalar_api_per_cell():
        return [
            [xlfuncs.clv(a, c, margin, discount) for a, c in zip(arow, crow)]
            for arow, crow in zip(arpu_list[:sample_rows], churn_list[:sample_rows])
        ]

    reference = bare()
    for side in (through_adapter_arrays, through_adapter_lists, python_loop):
        assert np.allclose(np.array(side(), dtype=float), reference, rtol=1e-12), side.__name__

    sides = {
        "numpy (bare expression)": bare,
        "adapter(ndarray)": through_adapter_arrays,
        "adapter(lists)": through_adapter_lists,
        "python loop per cell": python_loop,
    }
    timings = {name: _time(function, options.repeat) for name, function in sides.items()}
    timings["scalar API per cell"] = _time(scalar_api_per_cell, 1) * rows / sample_rows
    base = timings["numpy (bare expression)"]
    print(f"CLV over {rows * 1000:,} cells, median of {options.repeat} runs")
    print(f"{'side':<26}{'seconds':>10}{'x numpy':>10}")
    for name, seconds in timings.items():
        print(f"{name:<26}{seconds:>10.4f}{seconds / base:>10.1f}")
    loop = timings["python loop per cell"]
    print(f"adapter(ndarray) is {loop / timings['adapter(ndarray)']:.1f}x faster than the per-cell loop")
    print(f"adapter(lists) is {loop / timings['adapter(lists)']:.1f}x faster than the per-cell loop")
    per_cell = timings["scalar API per cell"]
    for name in ("adapter(ndarray)", "adapter(lists)"):
        print(f"{name} is {per_cell / timings[name]:.0f}x faster than calling the scalar API per cell")


if __name__ == "__main__":
    main()
