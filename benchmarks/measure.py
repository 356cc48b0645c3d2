"""Run a command and measure it: wall time, CPU time and peak memory of its process tree.

Shared by the benchmark scripts. Memory is the peak PSS of the whole tree, sampled while the
command runs: LibreOffice forks short-lived probes on load, and summing RSS would count each
fork with a full copy of its parent's shared pages. CPU seconds (user + system of the
finished tree) do not grow when other jobs share the machine; wall seconds do.
"""

from __future__ import annotations

import resource
import subprocess
import threading
import time

import psutil


def run_measured(
    cmd: list[str], env: dict | None = None, ok: tuple[int, ...] = (0,)
) -> tuple[float, float, float, str]:
    """Run ``cmd``: (wall seconds, CPU seconds, peak PSS in MB of its process tree, output).

    Exits with the command's last lines when its status is not in ``ok``.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak = 0.0
    stop = threading.Event()
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def sample():
        nonlocal peak
        try:
            parent = psutil.Process(proc.pid)
        except psutil.NoSuchProcess:
            return
        while not stop.is_set():
            total = 0
            try:
                for p in [parent, *parent.children(recursive=True)]:
                    try:
                        total += p.memory_full_info().pss
                    except (psutil.NoSuchProcess, psutil.AccessDenied):
                        pass
            except psutil.NoSuchProcess:
                break
            peak = max(peak, total / 1024**2)
            stop.wait(0.02)

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
    return elapsed, cpu, peak, out + err
