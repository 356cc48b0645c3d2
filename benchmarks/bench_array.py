"""CLV over 1,000,000 cells, one scalar API call and ``import xlfuncs``: issue 10's function side.

Run: ``python benchmarks/bench_array.py [--cells N] [--repeat R] [--imports I]``. Every
comparison is measured in one run on the same data, the sides interleaved (A, B, A, B, ...)
so that a busy machine slows both alike; each line gives the median and the spread (min ..
max) and each ratio is the median of the per-round ratios with their spread.

1. **Ranges** (``--cells``, 1,000 columns): CLV over a range of ``arpu`` and a single
   ``churn`` (margin and discount single values too), the way xlwings hands a UDF its
   arguments (2-D Python lists) and the way its ``np.array`` converter does:

   * ``adapter(lists)``: ``adapter.call("CLV", arpu_lists, churn, margin, discount)``, cell
     rules, conversion of every cell and the 2-D list back included;
   * ``adapter(ndarray)``: the same on a float array (the list comes back all the same);
   * ``loop, clv_formula per cell``: ``[[clv_formula(a, churn) for a in row] for row in
     arpu_lists]``, the plain per-cell Python loop with the formula in a function and no
     checks at all (issue 10's yardstick: the adapter must be at least 2x faster);
   * ``loop, inline expression``: the same loop with the expression written inline;
   * ``numpy (bare expression)``: the formula on float arrays, for scale.

2. **Scalar API**: ``xlfuncs.clv(35, 0.05)`` and the other element-wise functions, each
   with its metric's float backend against its array backend (target: under 10 us); see
   ``bench_scalar.py``, which this section runs.

3. **Import** (``--imports`` fresh interpreters, alternating): ``python -c "import numpy"``
   against ``python -c "import numpy; import xlfuncs"`` and ``... from xlfuncs import clv``
   (``import xlfuncs`` loads the Python API on first use, the second line loads it), wall
   time of the interpreter; the per-pair differences are what xlfuncs adds (numpy is
   required). Measured with bytecode caches as an
   installed package has them, and, with ``--cold``, also with xlfuncs compiled from source
   every time (numpy's bytecode still cached), which is what ``PYTHONDONTWRITEBYTECODE``
   gives an editable install.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import subprocess
import sys
import tempfile
import time

import bench_scalar  # the script's own folder is on the path
import numpy as np

from xlfuncs import adapter


def _interleaved(sides: dict, rounds: int) -> dict[str, list[float]]:
    """Seconds of each side, rounds interleaved (one warm-up round first, not counted)."""
    times: dict[str, list[float]] = {name: [] for name in sides}
    for round_ in range(rounds + 1):
        for name, function in sides.items():
            start = time.perf_counter()
            function()
            if round_:
                times[name].append(time.perf_counter() - start)
    return times


def _spread(values: list[float], scale: float = 1.0, digits: int = 1) -> str:
    low, mid, high = min(values) * scale, statistics.median(values) * scale, max(values) * scale
    return f"{mid:.{digits}f} ({low:.{digits}f} .. {high:.{digits}f})"


def _ratio(times: dict, slow: str, fast: str) -> list[float]:
    return [s / f for s, f in zip(times[slow], times[fast])]


def ranges(cells: int, rounds: int) -> None:
    rng = np.random.default_rng(7)
    rows = max(1, cells // 1000)
    arpu = rng.uniform(10, 500, (rows, 1000))
    churn, margin, discount = 0.05, 0.8, 0.01
    arpu_list = arpu.tolist()

    def clv_formula(a, c):
        return a * margin * (1 + discount) / (c + discount)

    def bare():
        return arpu * margin * (1 + discount) / (churn + discount)

    def adapter_lists():
        return adapter.call("CLV", arpu_list, churn, margin, discount)

    def adapter_arrays():
        return adapter.call("CLV", arpu, churn, margin, discount)

    def loop_function():
        return [[clv_formula(a, churn) for a in row] for row in arpu_list]

    def loop_inline():
        return [[a * margin * (1 + discount) / (churn + discount) for a in row] for row in arpu_list]

    reference = bare()
    for side in (adapter_lists, adapter_arrays, loop_function, loop_inline):
        assert np.allclose(np.array(side(), dtype=float), reference, rtol=1e-12), side.__name__

    sides = {
        "adapter(lists)": adapter_lists,
        "loop, clv_formula per cell": loop_function,
        "loop, inline expression": loop_inline,
        "adapter(ndarray)": adapter_arrays,
        "numpy (bare expression)": bare,
    }
    times = _interleaved(sides, rounds)
    print(f"1. CLV over {rows * 1000:,} cells (arpu a range, churn one value), {rounds} interleaved rounds")
    print(f"   {'side':<28}{'ms: median (min .. max)':>30}")
    for name, seconds in times.items():
        print(f"   {name:<28}{_spread(seconds, 1e3):>30}")
    for slow, fast in (
        ("loop, clv_formula per cell", "adapter(lists)"),
        ("loop, inline expression", "adapter(lists)"),
        ("loop, clv_formula per cell", "adapter(ndarray)"),
    ):
        print(f"   {fast} is {_spread(_ratio(times, slow, fast), digits=2)}x faster than the {slow}")


def scalar(repeat: int) -> None:
    print("2. ", end="")
    bench_scalar.measure(repeat, 20_000)


def _importtime(code: str, env: dict) -> tuple[float, float]:
    """(numpy, everything imported after numpy) in seconds, as ``-X importtime`` reports
    them from inside a fresh interpreter (no process start-up in it)."""
    lines = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], env=env, check=True, capture_output=True, text=True
    ).stderr.splitlines()
    top = []  # (name, cumulative us) of the modules imported at the top level, in order
    for line in lines:
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = line.split("|")
            if cumulative.strip().isdigit() and not name[1:].startswith(" "):
                top.append((name.strip(), int(cumulative)))
    names = [name for name, _ in top]
    after = names.index("numpy")
    return top[after][1] / 1e6, sum(us for _, us in top[after + 1 :]) / 1e6


def _spawn(code: str, env: dict) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    return time.perf_counter() - start


def imports(count: int, cold: bool) -> None:
    modes = [("bytecode cached", False)] + ([("xlfuncs without bytecode", True)] if cold else [])
    for label, no_cache in modes:
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ, PYTHONPYCACHEPREFIX=cache)
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            # Write the bytecode once: numpy's (and, for the cached mode, ours) into the cache.
            _spawn("import numpy" if no_cache else "import numpy; import xlfuncs", env)
            if no_cache:
                env["PYTHONDONTWRITEBYTECODE"] = "1"  # xlfuncs compiled from source every time
            codes = {
                "python -c 'import numpy'": "import numpy",
                "... 'import numpy; import xlfuncs'": "import numpy; import xlfuncs",
                "... 'import numpy; from xlfuncs import clv'": "import numpy; from xlfuncs import clv",
            }
            times = _interleaved({name: functools.partial(_spawn, code, env) for name, code in codes.items()}, count)
            inside = [_importtime("import numpy; from xlfuncs import clv", env) for _ in range(count)]
        numpy_ = times["python -c 'import numpy'"]
        print(f"3. Import, {label}: ms of a fresh interpreter, median (min .. max) of {count}, alternating")
        for name, seconds in times.items():
            print(f"   {name:<46}{_spread(seconds, 1e3):>26}")
        for name, seconds in list(times.items())[1:]:
            added = [b - n for n, b in zip(numpy_, seconds)]
            what = "xlfuncs adds, " + name.split(";")[1].strip(" '")
            print(f"   {what:<46}{_spread(added, 1e3):>26}")
        print("   -X importtime (in the interpreter), 'import numpy; from xlfuncs import clv':")
        print(f"   {'numpy':<46}{_spread([n for n, _ in inside], 1e3):>26}")
        print(f"   {'xlfuncs with its API, above numpy':<46}{_spread([x for _, x in inside], 1e3):>26}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=9, help="rounds of the range sides and of the scalar calls")
    parser.add_argument("--imports", type=int, default=15, help="fresh interpreters per import side")
    parser.add_argument("--cold", action="store_true", help="also time the import without bytecode caches")
    options = parser.parse_args()
    ranges(options.cells, options.repeat)
    scalar(options.repeat)
    imports(options.imports, options.cold)


if __name__ == "__main__":
    main()
