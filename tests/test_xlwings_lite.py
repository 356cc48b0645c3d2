"""xlfuncs as an xlwings Lite plugin, and fit for Pyodide.

xlwings Lite runs Python in the browser (Pyodide) and installs a workbook's
``requirements.txt`` with micropip. A *plugin* is a package that registers custom functions
just by being listed there. Lite's loader is not open source and its documentation (as
far as it could be read) does not name the hook, so xlfuncs uses Python's standard one: an
entry point in group ``xlwings_lite`` whose value is the module holding the functions,
``xlfuncs.udfs`` (pyproject.toml). A loader finds it in the installed distribution's
metadata, imports the module and registers the functions decorated in it, with the same
``custom_functions_meta``/``custom_functions_call`` as xlwings Server. The tests below do
exactly that in a process where xlwings runs its Office.js decorators
(``xlwings_server_worker.py``).

Independent of the plugin mechanism, ``from xlfuncs.udfs import *`` in the workbook's
``main.py`` registers the functions too: Lite builds a module from ``main.py`` and registers
every member carrying xlwings' ``__xlfunc__``; that path is tested as well.

Pyodide can only load pure-Python wheels plus the compiled packages it ships itself, so the
run-time dependencies, and theirs, are checked: numpy comes with Pyodide, xlwings publishes a
``py3-none-any`` wheel (it is what Lite itself runs on), everything else must be pure
Python. (typer, which only the command line needs, pulls in pydantic; Pyodide ships it.)
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import pytest
from contract_cases import SIGNATURES
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from xlwings_server_worker import SERVER_ENV, Worker

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
GROUP = "xlwings_lite"

CONTRACT_NAMES = set(SIGNATURES)  # the contract, by hand (tests/contract_cases.py)

# Compiled packages that Pyodide loads all the same.
PYODIDE_PROVIDED = {
    "numpy": "part of the Pyodide distribution",
    "xlwings": "publishes a py3-none-any wheel; the runtime of xlwings Lite itself",
    # typer >= 0.2x needs pydantic, whose core is Rust. Pyodide ships pydantic and a
    # matching pydantic_core, which micropip takes from Pyodide's lock file.
    "pydantic-core": "part of the Pyodide distribution",
}

# Environment markers as Pyodide evaluates them (Pyodide 0.27: CPython 3.12 on wasm32).
PYODIDE_ENV = {
    "implementation_name": "cpython",
    "implementation_version": "3.12.7",
    "os_name": "posix",
    "platform_machine": "wasm32",
    "platform_python_implementation": "CPython",
    "platform_release": "3.1.58",
    "platform_system": "Emscripten",
    "platform_version": "#1",
    "python_full_version": "3.12.7",
    "python_version": "3.12",
    "sys_platform": "emscripten",
    "extra": "",
}


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def lite_call(name, *args):
    """A custom-function call as the Office.js client of xlwings Lite sends it."""
    return {
        "client": "Office.js",
        "func_name": name,
        "args": [[[a]] for a in args],
        "caller_address": "[Book1.xlsx]Sheet1!A1",
        "session_id": "lite",
        "culture_info_name": "en-US",
        "date_format": "M/d/yyyy",
        "version": importlib.metadata.version("xlwings"),
        "runtime": "1.4",
    }


@pytest.fixture(scope="module")
def lite():
    worker = Worker.start()
    yield worker
    worker.close()


# ---------------------------------------------------------------- the plugin declaration


def test_pyproject_declares_the_lite_plugin():
    assert pyproject()["project"]["entry-points"][GROUP] == {"xlfuncs": "xlfuncs.udfs"}


def test_installed_metadata_carries_the_entry_point():
    # What micropip leaves in site-packages, and what Lite reads.
    entry_points = importlib.metadata.distribution("xlfuncs").entry_points.select(group=GROUP)
    assert [(ep.name, ep.value) for ep in entry_points] == [("xlfuncs", "xlfuncs.udfs")]


def test_lite_loads_the_plugin_and_registers_every_function(lite):
    loaded = lite.ask(op="plugin", group=GROUP, dist="xlfuncs")
    assert loaded["module"] == "xlfuncs.udfs"
    meta = lite.ask(op="meta", module="plugin")
    assert {f["name"] for f in meta["functions"]} == CONTRACT_NAMES
    assert lite.ask(op="call", module="plugin", payload=lite_call("CLV", 35, 0.05)) == [[700.0]]
    assert lite.ask(op="call", module="plugin", payload=lite_call("CLV", 35, 0)) == [
        [{"type": "Error", "errorType": "Div0"}]
    ]


def test_a_star_import_in_main_py_registers_them_too(lite):
    lite.ask(op="lite_main", code="from xlfuncs.udfs import *  # noqa: F403\n")
    meta = lite.ask(op="meta", module="main")
    assert {f["name"] for f in meta["functions"]} == CONTRACT_NAMES
    assert lite.ask(op="call", module="main", payload=lite_call("LTV_CAC", 1500, 500)) == [[3.0]]


# ---------------------------------------------------------------- loadable by Pyodide


def _requirements(requirements) -> list[Requirement]:
    """The requirements that apply in Pyodide."""
    out = []
    for text in requirements or ():
        requirement = Requirement(text)
        if requirement.marker is None or requirement.marker.evaluate(PYODIDE_ENV):
            out.append(requirement)
    return out


def _is_pure(dist: importlib.metadata.Distribution) -> bool:
    wheel = dist.read_text("WHEEL") or ""
    compiled = any(str(f).endswith((".so", ".pyd", ".dylib")) for f in dist.files or ())
    return "Root-Is-Purelib: true" in wheel and not compiled


def test_runtime_dependencies_are_pure_python_or_pyodides_own():
    # xlfuncs' own list, from pyproject.toml, then everything they pull in.
    direct = _requirements(pyproject()["project"]["dependencies"])
    # numpy only: Pyodide ships it. xlwings is Lite's own (the `xlwings` extra is for desktop
    # Python), and the command line's packages are the `cli` extra.
    assert {canonicalize_name(r.name) for r in direct} <= {"numpy"}, (
        "a new run-time dependency: check that Pyodide can load it, then add it here"
    )
    seen, queue, problems = set(), [canonicalize_name(r.name) for r in direct], []
    while queue:
        name = queue.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            problems.append(f"{name}: not installed here, so not checked")
            continue
        if name not in PYODIDE_PROVIDED and not _is_pure(dist):
            problems.append(f"{name}: has compiled code, which Pyodide cannot load")
        queue.extend(canonicalize_name(r.name) for r in _requirements(dist.requires))
    assert not problems, problems
    assert seen == {"numpy"}


def test_pyodide_markers_are_evaluated():
    # Guards the check above: a Windows-only or Python<3.11 requirement is not followed.
    assert not Marker("sys_platform == 'win32'").evaluate(PYODIDE_ENV)
    assert not Marker("python_version < '3.11'").evaluate(PYODIDE_ENV)
    assert Marker("sys_platform == 'emscripten'").evaluate(PYODIDE_ENV)


def test_importing_the_functions_needs_only_numpy():
    # What Lite imports at start-up: xlfuncs.udfs. Beyond xlwings (and what it imports),
    # that may only bring numpy and numpy-financial: no openpyxl, typer, LibreOffice...
    code = """
import sys
import xlwings
before = set(sys.modules)
import xlfuncs.udfs
new = {m.split(".")[0] for m in set(sys.modules) - before}
print(" ".join(sorted(new - set(sys.stdlib_module_names))))
"""
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, **SERVER_ENV},
    )
    assert done.returncode == 0, done.stderr
    assert set(done.stdout.split()) <= {"xlfuncs", "numpy", "numpy_financial"}, done.stdout
