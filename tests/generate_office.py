"""Plain LibreOffice for the generate tests: convert workbooks, forcing recalculation on load.

Deliberately *without* the xlfuncs add-in that ``xlfuncs recalc`` installs: the native twin
must compute in a stock LibreOffice, which is what makes it an independent oracle.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")

# OOXMLRecalcMode 0 = "always recalculate": LibreOffice otherwise trusts the cached values
# of an xlsx file (it even ignores fullCalcOnLoad), and the oracle would read our own numbers.
_XCU = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">
 <prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">
 <prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc">
 <prop oor:name="FirstRun" oor:op="fuse"><value>false</value></prop></item>
</oor:items>
"""


def make_profile(folder: Path) -> Path:
    """A private LibreOffice user profile that recalculates every xlsx on load."""
    user = folder / "user"
    user.mkdir(parents=True, exist_ok=True)
    (user / "registrymodifications.xcu").write_text(_XCU)
    return folder


def convert(files: list[Path], fmt: str, outdir: Path, profile: Path, timeout: float = 240) -> list[Path]:
    """Convert ``files`` with one soffice process; returns the converted files.

    Raises
    ------
    AssertionError
        soffice failed, timed out, or did not write every output.
    """
    assert SOFFICE, "LibreOffice (soffice) is not installed"
    outdir.mkdir(parents=True, exist_ok=True)
    cmd = [
        SOFFICE,
        f"-env:UserInstallation={profile.resolve().as_uri()}",
        "--headless",
        "--norestore",
        "--nolockcheck",
        "--convert-to",
        fmt,
        "--outdir",
        str(outdir),
        *map(str, files),
    ]
    env = dict(os.environ, SAL_USE_VCLPLUGIN="svp", HOME=str(profile))
    # Own process group: on a timeout the whole LibreOffice (oosplash + soffice.bin) goes.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise AssertionError(f"soffice timed out after {timeout}s converting {files}") from None
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, f"soffice exit {proc.returncode}: {err.decode(errors='replace')}"
    ext = fmt.split(":")[0]
    results = [outdir / (Path(f).stem + "." + ext) for f in files]
    missing = [r for r in results if not r.exists() or r.stat().st_size == 0]
    assert not missing, f"soffice wrote no {missing}: {out.decode(errors='replace')} {err.decode(errors='replace')}"
    return results
