"""``xlfuncs recalc`` under attack and under faults: hostile files, signals, hangs, caches.

The hostile workbooks are generated here (:mod:`hostile_corpus`), never stored. Tests that
need a real run start ``python -m xlfuncs recalc`` as a subprocess with a private TMPDIR
under ``tmp_path``, so every process of that run (LibreOffice, its janitor, --jobs
workers) names ``tmp_path`` on its command line and can be found and counted.
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import time
import tracemalloc
from array import array
from pathlib import Path

import openpyxl
import pytest
from hostile_corpus import XML_BOMBS, corrupt_deflate, good_workbook, many_zero_parts, utf16_but_harmless
from recalc_support import processes, wait_for
from typer.testing import CliRunner
from xlsx_builder import cell, rows, xlsx

import xlfuncs
from xlfuncs.cli import app
from xlfuncs.recalc import extension
from xlfuncs.recalc.addin import MAX_GAP, fetch_values, value_blocks
from xlfuncs.recalc.office import Office, find_soffice, osl_pipe_files
from xlfuncs.recalc.workbook import Workbook
from xlfuncs.xlsx import BadWorkbook
from xlfuncs.xlsx import package as workbook_module

ROOT = str(Path(xlfuncs.__file__).resolve().parent.parent)
runner = CliRunner()


# ---------------------------------------------------------------------- hostile files


@pytest.mark.parametrize("name", sorted(XML_BOMBS))
def test_xml_bombs_are_refused_whatever_the_part(tmp_path, name):
    good = good_workbook(tmp_path / "good.xlsx")
    path = XML_BOMBS[name](good, tmp_path / f"{name}.xlsx")
    with pytest.raises(BadWorkbook, match="XML bomb refused"):
        Workbook(path)


def test_utf16_parts_and_loose_vml_are_not_bombs(tmp_path):
    path = utf16_but_harmless(good_workbook(tmp_path / "good.xlsx"), tmp_path / "harmless.xlsx")
    book = Workbook(path)
    assert [c.ref for c in book.sheets[0].cells] == ["B1"]
    assert book.parts["docProps/app.xml"].startswith(b"\xff\xfe")  # read on demand, as stored


def test_many_zero_parts_take_bounded_memory(tmp_path):
    path = many_zero_parts(good_workbook(tmp_path / "good.xlsx"), tmp_path / "zeros.xlsx")
    tracemalloc.start()
    try:
        try:
            Workbook(path)
        except BadWorkbook as exc:
            assert "zip bomb" in str(exc)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024**2, f"{peak / 1e6:.0f} MB for 300 parts of 4 MiB"


def test_parts_are_inflated_no_further_than_declared(tmp_path):
    # A local size lie: the central directory says 10 bytes, the data inflates to more.
    good = good_workbook(tmp_path / "good.xlsx")
    path = tmp_path / "liar.xlsx"
    shutil.copy(good, path)
    import zipfile

    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/media/blob.bin", b"x" * 100_000)
    data = bytearray(path.read_bytes())
    # Patch the uncompressed size of the last central directory entry to 10.
    cd = data.rfind(b"PK\x01\x02")
    data[cd + 24 : cd + 28] = (10).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    with pytest.raises(BadWorkbook, match="inflates past its declared size|corrupt zip"):
        Workbook(path)


def test_damaged_compressed_data_is_a_corrupt_zip(tmp_path):
    path = corrupt_deflate(good_workbook(tmp_path / "good.xlsx"), tmp_path / "damaged.xlsx")
    with pytest.raises(BadWorkbook, match="corrupt zip archive"):
        Workbook(path)


class FakeSheet:
    """Counts the cells LibreOffice would materialise for getDataArray."""

    def __init__(self):
        self.fetched = 0

    def getCellRangeByPosition(self, c0, r0, c1, r1):  # noqa: N802 - UNO's spelling
        sheet = self

        class Range:
            def getDataArray(self):  # noqa: N802
                sheet.fetched += (r1 - r0 + 1) * (c1 - c0 + 1)
                return tuple(tuple(float(r * 1000 + c) for c in range(c0, c1 + 1)) for r in range(r0, r1 + 1))

        return Range()


@pytest.mark.parametrize(
    "cells",
    [
        [(0, 0), (49999, 999)],  # A1 and ALL50000
        [(r, 3) for r in range(0, 3000, 7)] + [(5, c) for c in range(0, 500, 3)],
        [(r, c) for r in range(200) for c in range(8)],
    ],
)
def test_values_are_fetched_per_block_not_over_the_bounding_box(cells):
    sheet = FakeSheet()
    values = fetch_values(sheet, cells)
    assert {cell: values[cell] for cell in cells} == {(r, c): float(r * 1000 + c) for r, c in cells}
    assert sheet.fetched <= (MAX_GAP + 1) * len(set(cells))
    assert len(value_blocks([(r, c) for r in range(200) for c in range(8)])) == 8  # a column each


def _peak_memory_of_children(pid: int) -> int:
    """VmHWM (bytes) of the largest direct child of ``pid`` (soffice.bin under oosplash)."""
    peak = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) != pid:
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]) * 1024)
        except (OSError, ValueError, IndexError):
            continue
    return peak


def test_two_distant_formula_cells_cost_little_memory_in_libreoffice(tmp_path):
    book = openpyxl.Workbook()
    book.active["A1"] = "=CLV(35,0.05)"
    book.active["ALL50000"] = "=2+2"
    book.save(tmp_path / "sparse.xlsx")
    with Office() as office:
        from xlfuncs.recalc.engine import recalc_file  # noqa: PLC0415

        result = recalc_file(office, tmp_path / "sparse.xlsx", tmp_path / "out.xlsx", check=False)
        peak = _peak_memory_of_children(office.process.pid)
    assert result.status == "changed", result.message
    sheet = openpyxl.load_workbook(tmp_path / "out.xlsx", data_only=True).active
    assert sheet["A1"].value == 700 and sheet["ALL50000"].value == 4
    assert 0 < peak < 1024**3, f"LibreOffice peaked at {peak / 1e9:.2f} GB"  # 2.5 GB over the bounding box


# ---------------------------------------------------------------------- profile cache


def test_cache_folder_open_to_others_is_emptied_and_closed(tmp_path, monkeypatch):
    root = tmp_path / "cache" / "recalc"
    (root / "planted").mkdir(parents=True)
    (root / "planted" / "ready").write_text("xlfuncs-profile-v2\n")
    os.chmod(root, 0o777)
    monkeypatch.setenv("XLFUNCS_CACHE_DIR", str(tmp_path / "cache"))
    assert extension.cache_root() == root
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert list(root.iterdir()) == []


def test_cache_folder_of_another_user_is_not_used(tmp_path, monkeypatch):
    root = tmp_path / "cache" / "recalc"
    root.mkdir(parents=True, mode=0o700)
    (root / "marker").write_text("theirs")
    other = 65534 if os.getuid() != 65534 else 65533
    try:
        os.chown(root, other, other)
    except PermissionError:
        # Not root: a folder we cannot chown; a symlink to elsewhere is refused the same way.
        shutil.rmtree(root)
        (tmp_path / "elsewhere").mkdir(mode=0o700)
        root.symlink_to(tmp_path / "elsewhere")
    monkeypatch.setenv("XLFUNCS_CACHE_DIR", str(tmp_path / "cache"))
    chosen = extension.cache_root()
    assert chosen != root and not str(chosen).startswith(str(root))
    assert extension.is_private(chosen)


def test_read_only_home_gives_a_private_temporary_cache(tmp_path):
    home = tmp_path / "home-is-a-file"
    home.write_text("")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("XLFUNCS_CACHE_DIR", "XDG_CACHE_HOME")}
    env.update(HOME=str(home), TMPDIR=str(tmp), PYTHONPATH=ROOT)
    code = "from xlfuncs.recalc import extension as e; r = e.cache_root(); print(r, oct(r.stat().st_mode & 0o777))"
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    second = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert first.stdout.split()[1] == "0o700"
    assert first.stdout.split()[0] != second.stdout.split()[0]  # not a predictable shared name
    assert list(tmp.iterdir()) == []  # removed at exit


def test_half_built_profiles_of_killed_runs_are_swept(tmp_path):
    dead = 2**22 + 12345  # above any pid_max: no such process
    for name in (f"build-{dead}-abc", f"0123.discard-{dead}-ff", f"build-{os.getpid()}-mine"):
        (tmp_path / name / "profile").mkdir(parents=True)
    extension._sweep(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"build-{os.getpid()}-mine"]


def test_a_profile_with_missing_files_is_not_ready(tmp_path):
    Office.prepare()
    template = extension.cache_root() / extension.profile_key()
    assert extension.profile_ok(template)
    copy = tmp_path / "copy"
    shutil.copytree(template, copy)
    os.chmod(copy, 0o700)
    assert extension.profile_ok(copy)
    (copy / "addin" / "xlfuncs.idl").unlink()
    assert not extension.profile_ok(copy)


# ---------------------------------------------------------------------- command line, in-process


def test_symlinks_folders_unreadable_and_hostile_files_in_one_batch(tmp_path, monkeypatch):
    real = good_workbook(tmp_path / "real" / "model.xlsx")
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "link.xlsx").symlink_to(real)
    sparse = openpyxl.Workbook()
    sparse.active["A1"] = "=CLV(35,0.05)"
    sparse.active["ALL50000"] = "=2+2"
    sparse.save(batch / "sparse.xlsx")
    good = good_workbook(tmp_path / "good.xlsx")
    for name, build in XML_BOMBS.items():
        build(good, batch / f"bomb_{name}.xlsx")
    bombs = {p: p.read_bytes() for p in batch.glob("bomb_*")}
    empty = tmp_path / "nothing"
    empty.mkdir()
    named_like_a_file = tmp_path / "folder.xlsx"
    named_like_a_file.mkdir()
    secret = good_workbook(tmp_path / "secret.xlsx")
    report_folder = tmp_path / "report.xml"
    report_folder.mkdir()
    real_open = open

    def deny(path, *args, **kwargs):
        if Path(path) == secret:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(workbook_module, "open", deny, raising=False)
    result = runner.invoke(
        app,
        ["recalc", str(batch), str(empty), str(named_like_a_file), str(secret), "--in-place", "--jobs", "1"]
        + ["--report", str(report_folder)],
    )
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()

    def line_for(name):
        found = [line for line in lines if name in line]
        assert len(found) == 1, (name, lines)
        return found[0]

    # The link stays a link; its target has the new values.
    assert (batch / "link.xlsx").is_symlink()
    assert openpyxl.load_workbook(real, data_only=True).active["B1"].value == 700
    # Two cells 50,000 rows and 1,000 columns apart.
    sheet = openpyxl.load_workbook(batch / "sparse.xlsx", data_only=True).active
    assert sheet["A1"].value == 700 and sheet["ALL50000"].value == 4
    for path, before in bombs.items():
        assert "XML bomb refused" in line_for(path.name)
        assert path.read_bytes() == before
    assert "without .xlsx/.xlsm files" in line_for(str(empty))
    assert "without .xlsx/.xlsm files" in line_for(str(named_like_a_file))
    assert "cannot read: Permission denied" in line_for(secret.name)
    assert "cannot write the report" in line_for(str(report_folder))
    assert list(tmp_path.glob(".report.xml*")) == []


@pytest.mark.parametrize(
    ("where", "said"),
    [
        ("D99999999999", "a cell at D99999999999"),  # past a 32-bit number: it overflowed the scan
        ("D1048577", "a cell at D1048577"),
        ("D0", "a cell at D0"),
    ],
)
def test_a_formula_cell_beyond_excel_s_last_row_is_one_line_and_the_batch_goes_on(tmp_path, where, said):
    cells = [cell("A1", None, 35), cell("B1", None, 0.05)]
    cells += [cell(f"C{r}", f"CLV(A1,B{r})", 1) for r in range(1, 4)]
    hostile = xlsx(tmp_path / "hostile.xlsx", {"Model": rows(*cells, cell(where, "CLV(A1,B1)", 1))})
    before = hostile.read_bytes()
    good = good_workbook(tmp_path / "good.xlsx")
    result = runner.invoke(app, ["recalc", str(hostile), str(good), "--in-place", "--jobs", "1"])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    (line,) = [line for line in result.stderr.splitlines() if "hostile.xlsx" in line]
    assert line.endswith(f"Model: {said}, beyond Excel's last row or column"), line
    assert hostile.read_bytes() == before
    assert openpyxl.load_workbook(good, data_only=True).active["B1"].value == 700


# ---------------------------------------------------------------------- subprocess runs


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    tmp = tmp_path / "tmp"
    tmp.mkdir(exist_ok=True)
    env = dict(os.environ)
    env.update(PYTHONPATH=ROOT, TMPDIR=str(tmp), **extra)
    return env


def _start(tmp_path: Path, *args: str, **extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "xlfuncs", "recalc", *args],
        env=_env(tmp_path, **extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stop_first_office(tmp_path: Path, listening: bool = False) -> list[str]:
    """SIGSTOP the first LibreOffice (``soffice.bin``, not its launcher) as soon as it
    appears, or with ``listening`` once it has made its pipes; returns the socket files it
    leaves in /tmp when it is killed."""
    pids = wait_for(lambda: processes(str(tmp_path), b"soffice.bin"))
    sockets = []
    for pid in pids:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
        url = next(a for a in argv if a.startswith("-env:UserInstallation=")).split("=", 1)[1]
        pipe = next(a for a in argv if a.startswith("--accept=")).split("name=", 1)[1].split(";")[0]
        mine = osl_pipe_files(url, pipe)
        if listening:
            wait_for(lambda mine=mine: sum(os.path.exists(p) for p in mine) == 2)
        os.kill(pid, signal.SIGSTOP)
        sockets += mine
    return sockets


def _assert_nothing_left(tmp_path: Path, sockets: list[str] = ()) -> None:
    wait_for(lambda: not processes(str(tmp_path)), 60)
    wait_for(lambda: not list((tmp_path / "tmp").iterdir()), 60)
    wait_for(lambda: not [p for p in sockets if os.path.lexists(p)], 60)


def _workbooks(tmp_path: Path, count: int) -> list[str]:
    return [str(good_workbook(tmp_path / "in" / f"m{i}.xlsx")) for i in range(count)]


@pytest.mark.parametrize(("signum", "jobs"), [(signal.SIGTERM, "1"), (signal.SIGINT, "2")])
def test_a_signal_stops_libreoffice_and_removes_temporary_files(tmp_path, signum, jobs):
    files = _workbooks(tmp_path, 4)
    process = _start(tmp_path, *files, "--check", "--jobs", jobs)
    sockets = _stop_first_office(tmp_path, listening=True)  # a hung LibreOffice: mid-file for sure
    time.sleep(0.5)
    process.send_signal(signum)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 128 + signum, err
    assert f"stopped by {signal.Signals(signum).name}" in err
    assert "Traceback" not in err
    _assert_nothing_left(tmp_path, sockets)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_kill_9_of_xlfuncs_stops_libreoffice_and_removes_its_folder(tmp_path, jobs):
    files = _workbooks(tmp_path, 4)
    process = _start(tmp_path, *files, "--check", "--jobs", jobs)
    sockets = _stop_first_office(tmp_path, listening=True)
    time.sleep(0.5)
    process.kill()
    process.communicate(timeout=60)
    _assert_nothing_left(tmp_path, sockets)


def test_a_stopped_libreoffice_is_caught_by_the_timeout_and_the_batch_goes_on(tmp_path):
    files = _workbooks(tmp_path, 2)
    process = _start(tmp_path, *files, "--check", "--jobs", "1", "--timeout", "20")
    sockets = _stop_first_office(tmp_path)
    out, err = process.communicate(timeout=240)
    assert process.returncode == 1, err
    assert "Traceback" not in err
    timed_out = [line for line in err.splitlines() if line.startswith(files[0])]
    assert len(timed_out) == 1 and "did not finish within 20 s (--timeout)" in timed_out[0], err
    assert f"{files[1]}: Sheet!B1: (none) -> 700" in out  # the next file, on a new LibreOffice
    assert "1 failed" in err
    _assert_nothing_left(tmp_path, sockets)


def test_no_lu_tmp_files_and_a_damaged_cached_profile_is_rebuilt(tmp_path):
    files = _workbooks(tmp_path, 1)
    cache = tmp_path / "cache"
    for round_ in range(2):
        process = _start(tmp_path, *files, "--check", XLFUNCS_CACHE_DIR=str(cache))
        out, err = process.communicate(timeout=240)
        assert process.returncode == 1, err  # --check: a stale value, nothing worse
        assert f"{files[0]}: Sheet!B1: (none) -> 700" in out, (round_, err)
        assert list((tmp_path / "tmp").iterdir()) == [], round_  # no lu*.tmp, no profile copy
        (template,) = (cache / "recalc").iterdir()
        assert extension.profile_ok(template)
        if round_ == 0:
            (template / "addin" / "xlfuncs.idl").unlink()  # LibreOffice crashed on this (139)


def test_a_libreoffice_that_aborts_on_its_first_start_is_started_again(tmp_path):
    """soffice is a shell script: its child's SIGABRT comes back as code 134 (seen once in
    a benchmark run), a crash like a signal of its own, and tried once more. Here the
    first LibreOffice started to serve (not the one that builds the profile) aborts a
    moment after it started, once the batch has taken it."""
    aborted = tmp_path / "aborted-once"
    launcher = tmp_path / "soffice"
    launcher.write_text(
        "#!/bin/sh\n"
        f'case "$*" in *--accept=*) if [ ! -e "{aborted}" ]; then touch "{aborted}"; sleep 1; exit 134; fi;; esac\n'
        f'exec "{find_soffice()}" "$@"\n'
    )
    launcher.chmod(0o755)
    files = _workbooks(tmp_path, 1)
    extra = {"XLFUNCS_SOFFICE": str(launcher), "XLFUNCS_CACHE_DIR": str(tmp_path / "cache")}
    process = _start(tmp_path, *files, "--check", **extra)
    out, err = process.communicate(timeout=240)
    assert aborted.exists()
    assert process.returncode == 1, err  # --check: a stale value, nothing worse
    assert f"{files[0]}: Sheet!B1: (none) -> 700" in out, err
    _assert_nothing_left(tmp_path)


def test_an_unstartable_libreoffice_is_one_line(tmp_path):
    files = _workbooks(tmp_path, 2)
    for cache in (None, tmp_path / "fresh-cache"):  # a ready profile; none (it must be built)
        extra = {"XLFUNCS_SOFFICE": "/bin/false"}
        if cache is not None:
            extra["XLFUNCS_CACHE_DIR"] = str(cache)
        process = _start(tmp_path, *files, "--check", **extra)
        out, err = process.communicate(timeout=120)
        assert process.returncode == 1
        assert len(err.strip().splitlines()) == 1, err
        assert "LibreOffice" in err and "Traceback" not in err
        _assert_nothing_left(tmp_path)


@pytest.mark.parametrize("jobs", [(), ("--jobs", "1"), ("--jobs", "2")])
def test_the_libreoffice_started_early_serves_one_file(tmp_path, jobs):
    """`xlfuncs recalc FILE` starts LibreOffice before its imports; the batch adopts it."""
    (source,) = _workbooks(tmp_path, 1)
    process = _start(tmp_path, source, "--check", *jobs)
    out, err = process.communicate(timeout=240)
    assert process.returncode == 1, err  # --check: a stale value, nothing worse
    assert f"{source}: Sheet!B1: (none) -> 700" in out
    _assert_nothing_left(tmp_path)


def test_the_libreoffice_started_early_is_stopped_when_the_command_fails(tmp_path):
    (source,) = _workbooks(tmp_path, 1)
    process = _start(tmp_path, source, "-o", source)  # refused: -o names the input itself
    _, err = process.communicate(timeout=120)
    assert process.returncode == 2 and "use --in-place" in err, err
    _assert_nothing_left(tmp_path)


class _Addresses:
    def __init__(self, cells):
        self.cells = cells

    def getRangeAddresses(self):  # noqa: N802 - UNO's spelling
        from types import SimpleNamespace

        return [SimpleNamespace(StartRow=r, EndRow=r, StartColumn=c, EndColumn=c) for r, c in self.cells]


class _ValuesSheet:
    """A calculated sheet as read_values meets it: numbers, 0/1 logicals, texts, errors."""

    def __init__(self, values: dict):
        self.values = values  # (row, col) -> value as getDataArray gives it

    def getCellRangeByPosition(self, c0, r0, c1, r1):  # noqa: N802
        values = self.values

        class Range:
            def getDataArray(self):  # noqa: N802
                return tuple(tuple(values.get((r, c), "") for c in range(c0, c1 + 1)) for r in range(r0, r1 + 1))

        return Range()

    def queryFormulaCells(self, kind):  # noqa: N802
        if kind == 4:  # errors
            return _Addresses([cell for cell, v in self.values.items() if v is None])
        return _Addresses([cell for cell, v in self.values.items() if isinstance(v, str)])

    def getUniqueCellFormatRanges(self):  # noqa: N802
        raise RuntimeError("cell by cell, then")

    def getCellByPosition(self, col, row):  # noqa: N802
        from types import SimpleNamespace

        value = self.values.get((row, col))
        return SimpleNamespace(getError=lambda: 503 if value is None else 0, NumberFormat=1 if row % 3 == 0 else 0)


def test_values_read_a_band_at_a_time_are_those_read_at_once(monkeypatch):
    """read_values sorts cells out a band at a time (LibreOffice's memory): bands of 7
    cells give what one band of the whole sheet does."""
    from types import SimpleNamespace

    from xlfuncs.recalc import addin

    values = {}
    for r in range(40):
        for c in range(3):
            values[r, c] = [float(r * 10 + c), 0.0, 1.0, "text", None, ""][(r + c) % 6]
    sheets = SimpleNamespace(
        hasByName=lambda name: name == "S",
        getByName=lambda name: _ValuesSheet(values),
        getCount=lambda: 1,
    )
    formats = SimpleNamespace(getByKey=lambda key: SimpleNamespace(Type=1024 if key == 1 else 0))
    doc = SimpleNamespace(Sheets=sheets, NumberFormats=formats)
    cells = sorted(values)
    wanted = {
        "S": (array("i", [r for r, _ in cells]).tobytes(), array("i", [c for _, c in cells]).tobytes()),
        "Missing": (array("i", [0]).tobytes(), array("i", [0]).tobytes()),
    }
    whole = addin.read_values(doc, wanted)
    monkeypatch.setattr(addin, "_BAND", 7)
    assert addin.read_values(doc, wanted) == whole
    numbers = array("d")
    numbers.frombytes(whole["S"][0])
    others = whole["S"][1]
    assert numbers[cells.index((0, 0))] == 0.0 and others[cells.index((0, 0))] is False  # logical format
    assert others[cells.index((0, 2))] is True  # 1 in a logical format
    assert numbers[cells.index((1, 1))] == 1.0 and cells.index((1, 1)) not in others  # 1, a number
    assert others[cells.index((1, 2))] == "text"
    assert others[cells.index((2, 2))] == (503,)
    assert numbers[cells.index((6, 0))] == 60.0 and cells.index((6, 0)) not in others
    assert whole["Missing"][1] == {0: None}
