"""A LibreOffice kept running between runs: ``xlfuncs office start``.

Starting LibreOffice is about half of a small recalculation: 0.2 s before it listens,
then its Python, our add-in and a first workbook to set Calc up, against hundredths of a
second to load and calculate a small workbook in a warm one (measured in
``benchmarks/bench_recalc.py``).
``xlfuncs office start`` starts one and leaves it running. Every run that would start a
single LibreOffice of its own (one job: ``xlfuncs recalc FILE``, a pre-commit hook,
:func:`xlfuncs.recalc.run`) uses the kept one instead while it is free, and starts its own
while another run holds it. It stops after ``idle`` seconds without a run, or on
``xlfuncs office stop``.

Its folder sits in the user's private cache folder (:func:`extension.cache_root`, mode
0700) under a name made of the prepared profile's key and this Python environment: a
different xlfuncs, LibreOffice or venv never uses it. The folder holds

* ``profile/`` and ``tmp/``: LibreOffice's user folder and TMPDIR;
* ``state``: JSON, LibreOffice's process group, pipe, prepared profile and idle limit;
* ``lock``: the run using it holds an exclusive ``flock`` on it; its time of last
  modification is the end of the last run;
* ``runs/``: one scratch folder per run, for the copies LibreOffice loads.

LibreOffice is the child of a warden (a small ``python -S`` process of its own session,
importing nothing of ours), which stops it when it has been idle and free long enough,
and removes the folder and LibreOffice's sockets once it has ended, however it ended.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

from . import extension

#: Seconds without a run after which a kept LibreOffice stops (``--idle``).
DEFAULT_IDLE = 900.0

_STATE = "state"
_LOCK = "lock"
_RUNS = "runs"

# The warden: starts soffice as its child (so it is the one to reap it), prints its pid,
# and waits. It ends LibreOffice when the lock has not been touched for ``idle`` seconds
# and no run holds it (taking the lock itself, so no run starts meanwhile), then removes
# the folder and the sockets a killed LibreOffice leaves. ``xlfuncs office stop`` ends
# LibreOffice; the warden then cleans up as after any other end.
_WARDEN = r"""
import fcntl, os, shutil, signal, stat, subprocess, sys, time
folder, idle, sockets, command = sys.argv[1], float(sys.argv[2]), sys.argv[3].split("\n"), sys.argv[4:]
for each in (signal.SIGINT, signal.SIGHUP):
    signal.signal(each, signal.SIG_IGN)
os.umask(0o077)  # its pipe's socket too: no other user may connect to it
office = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, start_new_session=True)
print(office.pid, flush=True)
sys.stdout.close()
lock = os.path.join(folder, "lock")
while True:
    try:
        office.wait(timeout=1)
        break
    except subprocess.TimeoutExpired:
        pass
    try:
        if time.time() - os.stat(lock).st_mtime < idle:
            continue
        held = os.open(lock, os.O_RDWR | os.O_NOFOLLOW)
    except OSError:
        break  # the folder is gone
    try:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        break  # idle and free: ours until the folder is gone
    except OSError:
        os.close(held)  # a run is using it
for each, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 30)):
    if office.poll() is not None:
        break
    try:
        os.killpg(office.pid, each)
        office.wait(timeout=wait)
    except (OSError, subprocess.TimeoutExpired):
        pass
try:
    os.killpg(office.pid, signal.SIGKILL)  # whatever of its group is left
except OSError:
    pass
"""


class ServerError(RuntimeError):
    """The kept LibreOffice cannot be started or reached; ``str()`` is one line."""


# Not a dataclass: inspect, which dataclasses imports, costs a recalc 8 ms before soffice starts.
class State(NamedTuple):
    """What ``state`` says of a kept LibreOffice."""

    folder: Path
    pgid: int
    warden: int
    pipe: str
    template: Path
    idle: float

    def alive(self) -> bool:
        return extension.pid_alive(self.pgid, group=True)

    def idle_for(self) -> float:
        """Seconds since the last run ended (or since the start)."""
        try:
            return max(0.0, time.time() - os.stat(self.folder / _LOCK).st_mtime)
        except OSError:
            return 0.0


class Claim:
    """A kept LibreOffice held by this run (see :func:`claim`); :meth:`release` lets go."""

    def __init__(self, state: State, lock: int, scratch: Path):
        self.state, self._lock, self.scratch = state, lock, scratch
        self.pgid, self.pipe, self.template = state.pgid, state.pipe, state.template

    def alive(self) -> bool:
        return self.state.alive()

    def release(self) -> None:
        """Let the next run have it; the idle time starts now."""
        if self._lock < 0:
            return
        shutil.rmtree(self.scratch, ignore_errors=True)
        try:
            os.utime(self._lock)
        except OSError:
            pass
        os.close(self._lock)  # and with it the flock
        self._lock = -1


def folder() -> Path:
    """The kept LibreOffice's folder for this xlfuncs, LibreOffice and Python environment
    (not the user's PYTHONPATH: the add-in imports xlfuncs and numpy, found first), and
    for this very code of xlfuncs: a kept LibreOffice has imported the add-in and the
    metrics once, so after an upgrade or an edit its requests and answers could be in
    another form, or its numbers another version's."""
    from .office import addin_paths  # noqa: PLC0415 - office imports this module

    digest = hashlib.sha256()
    for part in (extension.profile_key(), sys.prefix, *addin_paths(), _code_key()):
        digest.update(part.encode() + b"\0")
    return extension.cache_root() / f"kept-{digest.hexdigest()[:16]}"


@functools.cache  # the code does not change under a running process
def _code_key() -> str:
    """A hash of every module of the xlfuncs package (1.7 ms)."""
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for source in sorted(package.rglob("*.py")):
        digest.update(str(source.relative_to(package)).encode() + b"\0")
        try:
            digest.update(source.read_bytes())
        except OSError:
            digest.update(b"unreadable")
    return digest.hexdigest()


def read_state(where: Path | None = None) -> State | None:
    """The kept LibreOffice's state, if its folder is sound and says one was started.

    The folder is the user's own, closed to others, and ``state`` a small JSON object of
    the expected types: anything else (a damaged or planted file) is no server.
    """
    where = folder() if where is None else where
    if not extension.is_private(where):
        return None
    try:
        with open(where / _STATE, "rb", opener=lambda path, flags: os.open(path, flags | os.O_NOFOLLOW)) as file:
            data = json.loads(file.read(4096))
        state = State(
            where,
            int(data["pgid"]),
            int(data["warden"]),
            str(data["pipe"]),
            Path(data["template"]),
            float(data["idle"]),
        )
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if min(state.pgid, state.warden) <= 1 or not state.pipe.isprintable() or "," in state.pipe or ";" in state.pipe:
        return None
    return state


def claim() -> Claim | None:
    """Hold the kept LibreOffice for this run, if there is one and no other run has it."""
    try:
        where = folder()
    except (OSError, extension.ProfileError):
        return None
    state = read_state(where)
    if state is None or not state.alive():
        return None
    try:
        lock = os.open(where / _LOCK, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        # Held now: it may have stopped between the first look and the lock.
        state = read_state(where)
        if state is None or not state.alive():
            raise OSError("stopped meanwhile")
        os.utime(lock)
        scratch = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=where / _RUNS))
    except OSError:
        os.close(lock)  # busy (another run), or gone
        return None
    return Claim(state, lock, scratch)


def start(idle: float = DEFAULT_IDLE, timeout: float = 120.0) -> tuple[State, bool]:
    """Start the kept LibreOffice, or find the running one.

    Returns its state and whether this call started it. It is ready when this returns:
    listening, with its Python and the add-in loaded and its function names known.

    Raises
    ------
    ServerError
        LibreOffice could not be started, or did not answer within ``timeout`` seconds.
    """
    from .office import (  # noqa: PLC0415 - office imports this module
        CLEAN_UP,
        Office,
        OfficeError,
        find_soffice,
        office_env,
        osl_pipe_files,
        prepare_folder,
        soffice_command,
    )

    where = folder()
    state = read_state(where)
    if state is not None and state.alive():
        return state, False
    # One starter at a time: a lock beside the folder (the folder itself may be stale).
    with open(where.with_name(where.name + ".starting"), "a+b") as starting:
        fcntl.flock(starting, fcntl.LOCK_EX)
        state = read_state(where)
        if state is not None and state.alive():
            return state, False
        extension.drop(where)
        where.mkdir(mode=0o700)
        (where / _RUNS).mkdir()
        (where / _LOCK).touch()
        try:
            soffice, env = find_soffice(), office_env()
            template = extension.profile_template(soffice, env, timeout)
            env = prepare_folder(template, where, env, threaded=True)
            pipe = f"xlfuncs-kept-{where.name.removeprefix('kept-')}"
            sockets = osl_pipe_files((where / "profile").as_uri(), pipe)
            warden = subprocess.Popen(
                [sys.executable, "-S", "-c", _WARDEN + CLEAN_UP, str(where), repr(float(idle)), "\n".join(sockets),
                 *soffice_command(soffice, where, pipe)],
                env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
            line = warden.stdout.readline()
            warden.stdout.close()
            if not line.strip().isdigit():
                raise ServerError("LibreOffice could not be started by its warden")
            data = {"pgid": int(line), "warden": warden.pid, "pipe": pipe, "template": str(template), "idle": idle}
            extension.write_atomically(where / _STATE, json.dumps(data))
        except (OSError, ValueError, OfficeError, extension.ProfileError) as exc:
            extension.drop(where)
            raise ServerError(str(exc)) from None
    state = read_state(where)
    if state is None:
        stop()
        raise ServerError(f"cannot write the kept LibreOffice's state in {where}")
    # Warm it up through the path every run takes: connect, start its Python and the
    # add-in, learn its function names.
    office = Office(start_timeout=timeout, timeout=timeout)
    try:
        office.start()
        if not office.kept:
            raise ServerError("the kept LibreOffice was taken by another run before it was ready")
        office.warm_up(calc=True)  # a kept LibreOffice is warmed once, here
        office.function_names()
        office.ready()
        if not office.kept:
            raise ServerError("the kept LibreOffice died while starting")
    except (OfficeError, ServerError) as exc:
        office.stop()
        stop()
        raise ServerError(str(exc)) from None
    office.stop()
    return state, True


def stop(timeout: float = 30.0) -> State | None:
    """Stop the kept LibreOffice (even in the middle of a run); its state, or None if
    none was running. Returns when its folder is gone (the warden removes it)."""
    where = folder()
    state = read_state(where)
    if state is None:
        extension.drop(where)  # a half-written or foreign folder: nothing runs from it
        return None
    for each, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, timeout)):
        try:
            os.killpg(state.pgid, each)
        except OSError:
            break
        end = time.monotonic() + wait
        while state.alive() and time.monotonic() < end:
            time.sleep(0.05)
        if not state.alive():
            break
    end = time.monotonic() + timeout
    while where.exists() and extension.pid_alive(state.warden) and time.monotonic() < end:  # its clean-up
        time.sleep(0.05)
    extension.drop(where)
    return state
