"""Run a command and measure it: wall time, CPU time and peak memory of its process tree.

Shared by the benchmark scripts. Memory is the peak PSS (proportional set size), sampled
while the command runs, of the whole process tree and, from the same samples, of the root
process alone (``python -m xlfuncs ...`` without its LibreOffice children): LibreOffice
forks short-lived probes on load, and summing RSS would count each fork with a full copy of
its parent's shared pages. The two peaks are maxima over the samples, each on its own (they
need not fall on the same sample). Samples are 20 ms apart, or ten times as long as the last
one took (reading PSS walks the page tables: slow for GBs), so that the sampler takes under
a tenth of a core from what it measures. CPU seconds (user + system of the finished tree: every
descendant that was waited for, or, when more, the sum over the tree's processes at their
last sample: a process killed with its parent, as xlfuncs kills LibreOffice's group, is
reaped by init and never reaches the first account) do not grow when other jobs share the
machine; wall seconds do.
"""

from __future__ import annotations

import resource
import subprocess
import threading
import time
from dataclasses import dataclass

import psutil


@dataclass
class Measurement:
    wall: float  # seconds
    cpu: float  # seconds, user + system of the whole tree
    tree_mb: float  # peak PSS of the whole process tree, MB
    root_mb: float  # peak PSS of the root process alone, MB
    output: str  # stdout + stderr


def measure(
    cmd: list[str], env: dict | None = None, ok: tuple[int, ...] = (0,), interval: float = 0.02, memory: bool = True
) -> Measurement:
    """Run ``cmd`` and sample its process tree's PSS every ``interval`` seconds (or 10x a sample's time).

    With ``memory=False`` the samples read CPU times only, every 0.25 s, and the peaks are
    0: for timings where the sampler's tenth of a core would be taken from the measured
    work (two jobs on two cores), not from an idle core.

    Exits with the command's last lines when its status is not in ``ok``.
    """
    if not memory:
        interval = max(interval, 0.25)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    tree_peak = root_peak = 0
    seen_cpu: dict[int, float] = {}  # pid -> CPU seconds at its last sample
    stop = threading.Event()
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def sample():
        nonlocal tree_peak, root_peak
        try:
            parent = psutil.Process(proc.pid)
        except psutil.NoSuchProcess:
            return
        while not stop.is_set():
            began = time.perf_counter()
            try:
                children = parent.children(recursive=True)
            except psutil.NoSuchProcess:
                break
            total = 0
            for p in [parent, *children]:
                try:
                    pss = p.memory_full_info().pss if memory else 0
                    times = p.cpu_times()
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
                seen_cpu[p.pid] = times.user + times.system
                total += pss
                if p is parent:
                    root_peak = max(root_peak, pss)
            tree_peak = max(tree_peak, total)
            # Reading PSS walks every page table: a few ms for a small tree, more for GBs.
            # Waiting 10x as long keeps the sampler under ~10% of a core (2 cores here).
            stop.wait(max(interval, 10 * (time.perf_counter() - began)))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    elapsed = time.perf_counter() - started
    stop.set()
    sampler.join()
    if proc.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {err[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # A process killed with its parent is reaped by init, out of this account: xlfuncs
    # kills LibreOffice's group at the end. The samples saw it until then.
    cpu = max(cpu, sum(seen_cpu.values()))
    return Measurement(elapsed, cpu, tree_peak / 1024**2, root_peak / 1024**2, out + err)


def run_measured(
    cmd: list[str], env: dict | None = None, ok: tuple[int, ...] = (0,)
) -> tuple[float, float, float, str]:
    """Run ``cmd``: (wall seconds, CPU seconds, peak PSS in MB of its process tree, output)."""
    m = measure(cmd, env, ok)
    return m.wall, m.cpu, m.tree_mb, m.output
