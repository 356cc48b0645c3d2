"""One scalar call through the Python API: its float backend against its array backend.

Run: ``python benchmarks/bench_scalar.py [--repeat R] [--number N]``. Every call is timed
with the metric's float backend (what ``xlfuncs.clv(35, 0.05)`` runs) and, in the same run,
with the same path handed the metric's array backend (numpy on single values, which is what
a scalar call ran before the float backend); ``math.fsum((1.0,))`` is a plain call of a
built-in, for scale. Rounds are interleaved (float, array, fsum, float, array, ...) so
that a busy machine slows every side alike; each line gives the median per-call time in
microseconds with the spread (min .. max) of the rounds, and the median of the per-round
ratios.
"""

from __future__ import annotations

import argparse
import functools
import math
import statistics
import time

import xlfuncs
from xlfuncs import adapter, backend, registry

CALLS = (
    ("CLV", (35, 0.05)),
    ("CLV", (100, 0.05, 1, 0.01, 36, 0)),
    ("LTV_CAC", (1500, 500)),
    ("PAYBACK", (1000, 100, 1, 0.05)),
    ("PAYBACK", (1000, 100)),  # no churn, no discount: a zero denominator the float backend handles
    ("CLV", (35, 1, 1, 0, 12)),  # a churn of 1: log1p(-1) = -inf and expm1(-inf) = -1 on floats
    ("ONBOARDING_ROI", (1400, 600, 200)),
    ("TTFV", (46000, 46045.5)),
    ("HEALTH_STATUS", (60,)),
    ("SEGMENT", (900, 0, 800, 200)),
    ("SBG_SURVIVAL", (2, 3, 4)),  # t <= 16: the survival product alone
    ("SBG_SURVIVAL", (0.7, 2.5, 36)),  # t > 16: the product and two log-gamma slopes
    ("SBG_CLV", (100, 2, 3, 0.8, 0)),  # no discount: (C - 1) / (alpha - 1)
    ("SBG_CLV", (100, 2, 3, 0.8, 0.05)),  # a small discount: the 1 - z transformation's series
    ("SBG_CLV", (100, 2, 30, 0.8, 0.5)),  # a large discount: the continued fraction, 24 levels
    ("SBG_CLV", (100, 3, 50, 1, 0.05, 36)),  # C x = 4.2: the continued fraction, 48 levels
)


def _per_call(function, args, number: int) -> float:
    """Microseconds per call of ``function(*args)``, over ``number`` calls."""
    start = time.perf_counter()
    for _ in range(number):
        function(*args)
    return (time.perf_counter() - start) / number * 1e6


def _spread(values: list[float], digits: int = 2) -> str:
    low, mid, high = min(values), statistics.median(values), max(values)
    return f"{mid:.{digits}f} ({low:.{digits}f} .. {high:.{digits}f})"


def measure(repeat: int, number: int) -> None:
    print(f"Scalar API, us per call: median (min .. max) of {repeat} interleaved rounds of {number:,} calls")
    print(f"   {'call':<42}{'float backend':>24}{'array backend':>28}{'array / float':>22}")
    reference = []
    for name, args in CALLS:
        fn = registry.get(name)
        function = getattr(xlfuncs, fn.python_name)
        quick = adapter._quick(fn)
        backends = {"float": quick.metric, "array": functools.partial(backend.on_one, fn.impl)}
        numbers = adapter._plain_numbers(quick, args)  # defaults filled in
        assert backends["float"](*numbers) == backends["array"](*numbers)
        times: dict[str, list[float]] = {side: [] for side in backends}
        try:
            for round_ in range(repeat + 1):  # one warm-up round, not counted
                for side, metric in backends.items():
                    quick.metric = metric
                    seconds = _per_call(function, args, number)
                    if round_:
                        times[side].append(seconds)
                if round_:
                    reference.append(_per_call(math.fsum, ((1.0,),), number))
        finally:
            quick.metric = backends["float"]
        ratio = [a / f for f, a in zip(times["float"], times["array"])]
        call = f"xlfuncs.{fn.python_name}({', '.join(map(str, args))})"
        print(f"   {call:<42}{_spread(times['float']):>24}{_spread(times['array']):>28}{_spread(ratio, 1):>21}x")
    print(f"   {'reference: math.fsum((1.0,))':<42}{_spread(reference):>24}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9, help="interleaved rounds per call")
    parser.add_argument("--number", type=int, default=20_000, help="calls per round and side")
    options = parser.parse_args()
    measure(options.repeat, options.number)


if __name__ == "__main__":
    main()
