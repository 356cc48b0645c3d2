"""``xlfuncs office start``: a LibreOffice kept running between runs of ``xlfuncs recalc``.

Every test drives the real commands as subprocesses, with the cache folder (where the kept
LibreOffice lives) and TMPDIR under ``tmp_path``: each process of a test names
``tmp_path`` on its command line, so the test can find and count them.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hostile_corpus import good_workbook
from recalc_support import processes, wait_for

import xlfuncs
from xlfuncs.recalc import server

ROOT = str(Path(xlfuncs.__file__).resolve().parent.parent)


def _env(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "tmp").mkdir(exist_ok=True)
    return {
        **os.environ,
        "PYTHONPATH": ROOT,
        "TMPDIR": str(tmp_path / "tmp"),
        "XLFUNCS_CACHE_DIR": str(tmp_path / "cache"),
    }


def _xlfuncs(tmp_path: Path, *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "xlfuncs", *args],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _soffices(marker: Path) -> list[int]:
    return processes(str(marker), b"soffice.bin")


def _python(tmp_path: Path, code: str) -> str:
    """``code``'s output, run as the commands run (the kept LibreOffice's folder is named
    after the xlfuncs and numpy that process imports, which this one need not share)."""
    done = subprocess.run([sys.executable, "-c", code], env=_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _folder(tmp_path: Path) -> Path:
    return Path(_python(tmp_path, "from xlfuncs.recalc import server; print(server.folder())"))


def _claimable(tmp_path: Path) -> bool:
    return _python(tmp_path, "from xlfuncs.recalc import server; print(server.claim() is not None)") == "True"


class _Holder:
    """Another run holding the kept LibreOffice (a process of its own) until :meth:`release`."""

    def __init__(self, tmp_path: Path):
        code = "from xlfuncs.recalc import server; import sys; c = server.claim(); print(c is not None, flush=True); sys.stdin.read()"
        self.process = subprocess.Popen(
            [sys.executable, "-c", code], env=_env(tmp_path), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout.readline().strip() == "True"

    def release(self) -> None:
        self.process.communicate("", timeout=60)


@pytest.fixture
def kept(tmp_path, monkeypatch):
    """A kept LibreOffice for this test (stopped after it); its state."""
    started = _xlfuncs(tmp_path, "office", "start", "--idle", "600")
    assert started.returncode == 0, started.stderr
    assert "LibreOffice running" in started.stdout
    state = server.read_state(_folder(tmp_path))
    assert state is not None and state.alive()
    yield state
    _xlfuncs(tmp_path, "office", "stop")
    wait_for(lambda: not _soffices(tmp_path), 60)


def _sockets(state: server.State) -> list[str]:
    from xlfuncs.recalc.office import osl_pipe_files  # noqa: PLC0415

    return osl_pipe_files((state.folder / "profile").as_uri(), state.pipe)


def test_runs_use_the_kept_libreoffice_and_write_what_their_own_would(tmp_path, kept):
    source = str(good_workbook(tmp_path / "in" / "model.xlsx"))
    (office,) = _soffices(kept.folder)
    listening = [p for p in _sockets(kept) if os.path.exists(p) and kept.pipe in p]
    assert listening and all(os.stat(p).st_mode & 0o077 == 0 for p in listening)  # no other user connects
    for name in ("a", "b"):
        run = _xlfuncs(tmp_path, "recalc", source, "-o", str(tmp_path / f"{name}.xlsx"))
        assert run.returncode == 0, run.stderr
        assert _soffices(tmp_path) == [office]  # no LibreOffice of its own
    assert list((kept.folder / "runs").iterdir()) == []  # the runs' scratch folders are gone
    assert not list((tmp_path / "tmp").iterdir())
    status = _xlfuncs(tmp_path, "office", "status")
    assert status.returncode == 0 and "running (process" in status.stdout
    again = _xlfuncs(tmp_path, "office", "start")
    assert again.returncode == 0 and "already running" in again.stdout

    stopped = _xlfuncs(tmp_path, "office", "stop")
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    assert not _soffices(tmp_path) and not kept.folder.exists()
    assert not [p for p in _sockets(kept) if os.path.lexists(p)]
    assert _xlfuncs(tmp_path, "office", "status").returncode == 1
    # Without it, a run starts its own LibreOffice: the same bytes come out.
    own = _xlfuncs(tmp_path, "recalc", source, "-o", str(tmp_path / "own.xlsx"))
    assert own.returncode == 0, own.stderr
    assert (tmp_path / "own.xlsx").read_bytes() == (tmp_path / "a.xlsx").read_bytes()
    assert (tmp_path / "b.xlsx").read_bytes() == (tmp_path / "a.xlsx").read_bytes()


def test_a_busy_kept_libreoffice_is_left_to_its_run(tmp_path, kept):
    source = str(good_workbook(tmp_path / "in" / "model.xlsx"))
    held = _Holder(tmp_path)  # another run holds it
    try:
        assert not _claimable(tmp_path)
        touched = os.stat(kept.folder / "lock").st_mtime_ns
        run = _xlfuncs(tmp_path, "recalc", source, "--check")
        assert run.returncode == 1, run.stderr  # --check: a stale value, nothing worse
        assert f"{source}: Sheet!B1: (none) -> 700" in run.stdout
        assert os.stat(kept.folder / "lock").st_mtime_ns == touched  # never claimed
    finally:
        held.release()
    assert kept.alive()
    assert _claimable(tmp_path)  # free again


def test_an_idle_kept_libreoffice_stops_by_itself(tmp_path):
    started = _xlfuncs(tmp_path, "office", "start", "--idle", "2")
    assert started.returncode == 0, started.stderr
    state = server.read_state(_folder(tmp_path))
    held = _Holder(tmp_path)  # in use: never stopped for idleness
    time.sleep(5)
    assert state.alive()
    held.release()
    wait_for(lambda: not _soffices(tmp_path) and not state.folder.exists(), 60)
    assert not [p for p in _sockets(state) if os.path.lexists(p)]
    assert _xlfuncs(tmp_path, "office", "status").returncode == 1


def test_a_killed_kept_libreoffice_is_cleaned_up_and_runs_start_their_own(tmp_path, kept):
    source = str(good_workbook(tmp_path / "in" / "model.xlsx"))
    os.killpg(kept.pgid, signal.SIGKILL)
    run = _xlfuncs(tmp_path, "recalc", source, "--check")
    assert run.returncode == 1, run.stderr
    assert f"{source}: Sheet!B1: (none) -> 700" in run.stdout
    wait_for(lambda: not kept.folder.exists(), 30)  # its warden removed it


def test_a_hung_kept_libreoffice_is_killed_by_the_timeout_and_the_batch_goes_on(tmp_path, kept):
    files = [str(good_workbook(tmp_path / "in" / f"m{i}.xlsx")) for i in range(2)]
    (office,) = _soffices(kept.folder)
    os.kill(office, signal.SIGSTOP)
    run = _xlfuncs(tmp_path, "recalc", *files, "--check", "--timeout", "10", "--jobs", "1")
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    timed_out = [line for line in run.stderr.splitlines() if line.startswith(files[0])]
    assert len(timed_out) == 1 and "did not finish within 10 s (--timeout)" in timed_out[0], run.stderr
    assert f"{files[1]}: Sheet!B1: (none) -> 700" in run.stdout  # on a LibreOffice of its own
    wait_for(lambda: not kept.folder.exists() and not _soffices(tmp_path), 60)


@pytest.mark.parametrize(
    "state",
    [
        b"not json",
        b"[]",
        json.dumps({"pgid": 1, "warden": 1, "pipe": "p", "template": "/t", "idle": 1}).encode(),
        json.dumps({"pgid": os.getpid(), "warden": os.getpid(), "pipe": "p;x", "template": "/t", "idle": 1}).encode(),
        b"{" * 100_000,
    ],
    ids=["garbage", "list", "init", "pipe-with-separator", "deep"],
)
def test_a_damaged_or_planted_state_is_no_server(tmp_path, monkeypatch, state):
    monkeypatch.setenv("XLFUNCS_CACHE_DIR", str(tmp_path / "cache"))
    where = server.folder()
    where.mkdir(mode=0o700)
    (where / "state").write_bytes(state)
    (where / "lock").touch()
    assert server.read_state() is None
    assert server.claim() is None
    assert server.stop() is None and not where.exists()


def test_a_state_in_a_folder_open_to_others_is_no_server(tmp_path, monkeypatch):
    monkeypatch.setenv("XLFUNCS_CACHE_DIR", str(tmp_path / "cache"))
    where = server.folder()
    where.mkdir(mode=0o755)
    data = {"pgid": os.getpid(), "warden": os.getpid(), "pipe": "p", "template": "/t", "idle": 1.0}
    (where / "state").write_text(json.dumps(data))
    (where / "lock").touch()
    assert server.read_state() is None
    os.chmod(where, 0o700)
    assert server.read_state() is not None  # the same state, in a private folder


def test_an_unstartable_libreoffice_is_one_line_and_leaves_nothing(tmp_path):
    env = {**_env(tmp_path), "XLFUNCS_SOFFICE": "/bin/false"}
    done = subprocess.run(
        [sys.executable, "-m", "xlfuncs", "office", "start"], env=env, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "cannot start LibreOffice" in done.stderr, done.stderr
    assert not _folder(tmp_path).exists()
    assert not _claimable(tmp_path)


def test_a_kept_libreoffice_that_never_answers_is_given_up_for_one_of_the_runs_own(tmp_path, monkeypatch):
    """Alive but not listening (here: a process that is no LibreOffice at all): after
    SERVER_CONNECT_TIMEOUT the run kills it and starts its own, on a pipe of its own."""
    from xlfuncs.recalc import extension, office
    from xlfuncs.recalc.engine import CHANGED, recalc_file

    monkeypatch.setenv("XLFUNCS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(office, "SERVER_CONNECT_TIMEOUT", 2.0)
    template = extension.profile_template(office.find_soffice(), office.office_env())
    impostor = subprocess.Popen(["sleep", "300"], start_new_session=True)
    where = server.folder()
    where.mkdir(mode=0o700)
    (where / "runs").mkdir()
    (where / "lock").touch()
    state = {"pgid": impostor.pid, "warden": impostor.pid, "pipe": "xlfuncs-kept-nobody", "template": str(template)}
    (where / "state").write_text(json.dumps({**state, "idle": 600.0}))
    source = good_workbook(tmp_path / "in" / "model.xlsx")
    try:
        with office.Office(threaded=True, timeout=120) as run:
            result = recalc_file(run, source, tmp_path / "out.xlsx", check=False)
            assert not run.kept and run.pipe != "xlfuncs-kept-nobody"
        assert result.status == CHANGED, result.message
        assert impostor.wait(timeout=30) == -signal.SIGKILL  # given up: killed
    finally:
        impostor.kill()
        impostor.wait()


def test_the_kept_folder_is_this_very_code_s(tmp_path):
    """A kept LibreOffice imported the add-in and the metrics when it started: after an
    edit or an upgrade of any module of xlfuncs its requests could be in another form, or
    its numbers another version's, so the new code looks for a kept LibreOffice of its own
    (its folder is named after the modules' text), and the same code finds the same one."""
    copy = tmp_path / "code"
    shutil.copytree(Path(xlfuncs.__file__).parent, copy / "xlfuncs", ignore=shutil.ignore_patterns("__pycache__"))
    # -S: no site-packages, so no editable install's finder: the copy is the xlfuncs found,
    # with the other packages from where this numpy lives.
    packages = Path(importlib.util.find_spec("numpy").origin).parent.parent
    env = {**_env(tmp_path), "PYTHONPATH": os.pathsep.join([str(copy), str(packages)])}
    code = "import xlfuncs; from xlfuncs.recalc import server; print(xlfuncs.__file__, server.folder())"

    def where() -> list[str]:
        done = subprocess.run(
            [sys.executable, "-S", "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.split()

    first = where()
    assert first[0].startswith(str(copy))
    assert where() == first
    module = copy / "xlfuncs" / "metrics.py"
    module.write_text(module.read_text() + "\n# another version\n")
    again = where()
    assert again[0] == first[0] and again[1] != first[1]
