"""How users get xlfuncs: the wheel, its dependencies, and the CI recipes built on it.

* the wheel, built from a copy of the sources offline (``python -m build --no-isolation``,
  the tools `scripts/install.sh --test` installs), holds the templates, the scenario TOML
  that ``--print-scenario`` and the help point to, the LibreOffice add-in and the xlwings
  functions, and works from a fresh venv (installed ``--no-index --no-deps``: the venv sees
  this machine's packages, so no network is needed at test time);
* ``import xlfuncs`` and ``xlfuncs.udfs`` need none of the command line's dependencies;
* the documented GitHub Actions job and the pre-commit hook run as written against a
  generated workbook: they pass it, and fail a stale one.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from xlfuncs.templates import generate
from xlfuncs.templates.generate import write_cached_values

ROOT = Path(__file__).resolve().parent.parent
CLI_MODULES = ("typer", "rich", "click", "openpyxl", "defusedxml", "pydantic", "tomli")


def _env(**extra: str) -> dict[str, str]:
    """This machine's environment without PYTHONPATH: the venv's own xlfuncs must be the one used."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(extra)
    return env


def _run(cmd, cwd: Path, env=None, check=True, timeout=300) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, cwd=cwd, env=env or _env(), capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"{cmd} exit {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built from a copy of the sources (the repository stays untouched)."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "xlfuncs", src / "xlfuncs", ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(src)], cwd=src)
    (built,) = out.glob("xlfuncs-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(tmp_path_factory, wheel) -> Path:
    """A fresh venv with the wheel installed, offline."""
    where = tmp_path_factory.mktemp("venv") / "venv"
    _run([sys.executable, "-m", "venv", "--system-site-packages", str(where)], cwd=where.parent)
    _run([str(where / "bin" / "pip"), "install", "--quiet", "--no-index", "--no-deps", str(wheel)], cwd=where.parent)
    return where


def test_wheel_contains_templates_scenario_addin_and_functions(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        metadata = z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
        entry_points = z.read(next(n for n in names if n.endswith(".dist-info/entry_points.txt"))).decode()
    for needed in (
        "xlfuncs/templates/onboarding_roi.py",
        "xlfuncs/templates/generate.py",
        "xlfuncs/templates/scenarios/onboarding-roi.toml",  # --print-scenario and the help point here
        "xlfuncs/recalc/addin.py",  # the Calc add-in LibreOffice loads
        "xlfuncs/recalc/extension.py",  # ... and what registers it
        "xlfuncs/udfs.py",  # the xlwings functions
        "xlfuncs/registry.py",
    ):
        assert needed in names, needed
    assert any(n.endswith(".dist-info/licenses/LICENSE") or n.endswith(".dist-info/LICENSE") for n in names)
    # Run-time dependencies: numpy only (Pyodide ships it); the rest are extras.
    plain = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:") and "extra ==" not in line]
    assert plain == ["Requires-Dist: numpy>=1.24"]
    assert re.search(r'Requires-Dist: typer>=[\d.]+; extra == "cli"', metadata)
    assert "xlfuncs = xlfuncs.__main__:main" in entry_points


def test_wheel_works_from_a_fresh_venv(venv, tmp_path):
    bin_ = venv / "bin"
    where = _run([str(bin_ / "python"), "-c", "import xlfuncs; print(xlfuncs.__file__)"], cwd=tmp_path)
    assert where.stdout.strip().startswith(str(venv)), where.stdout  # the wheel's copy, not the repository's
    assert _run([str(bin_ / "xlfuncs"), "--version"], cwd=tmp_path).stdout == "xlfuncs 0.1.0\n"
    printed = _run([str(bin_ / "xlfuncs"), "generate", "onboarding-roi", "--print-scenario"], cwd=tmp_path).stdout
    assert printed == (ROOT / "xlfuncs" / "templates" / "scenarios" / "onboarding-roi.toml").read_text()
    (tmp_path / "mine.toml").write_text(printed.replace("churn_with = 0.03", "churn_with = 0.05"))
    made = _run(
        [str(bin_ / "xlfuncs"), "generate", "onboarding-roi", "-o", "roi.xlsx", "--scenario", "mine.toml"], cwd=tmp_path
    )
    assert made.stdout.startswith("wrote roi.xlsx (onboarding-roi, en, xlfuncs add-in edition, ")
    # The add-in inside LibreOffice, from the wheel: the fresh workbook's values hold.
    checked = _run([str(bin_ / "xlfuncs"), "recalc", "roi.xlsx", "--check", "-v"], cwd=tmp_path, timeout=240)
    assert checked.stdout == ""
    lines = checked.stderr.splitlines()
    assert re.fullmatch(r"roi\.xlsx: unchanged, \d+ formula cells, 0 changed values \(\d+\.\d s\)", lines[0]), lines
    assert re.fullmatch(r"xlfuncs recalc: 1 file, \d+ formula cells, 0 with stale values, 0 failed in .*", lines[1])


def test_import_xlfuncs_needs_no_command_line_dependencies(tmp_path):
    """What xlwings Lite loads: the functions, with the CLI's packages impossible to import."""
    code = f"""
import sys
for name in {CLI_MODULES!r}:
    sys.modules[name] = None  # any import of it raises ImportError
import xlfuncs, xlfuncs.udfs
print(xlfuncs.clv(35, 0.05), len(xlfuncs.udfs.__all__))
print(sorted(m for m in sys.modules if m.split(".")[0] in {CLI_MODULES!r} and sys.modules[m] is not None))
"""
    done = _run([sys.executable, "-c", code], cwd=tmp_path, env=_env(PYTHONPATH=str(ROOT)))
    names = (ROOT / "tests" / "contract_names.txt").read_text().split()
    assert done.stdout.splitlines() == [f"700.0 {len(names)}", "[]"]
    # ... and the command line says which extra is missing, rather than a bare ImportError deep inside.
    blocked = _run(
        [sys.executable, "-c", "import sys; sys.modules['typer'] = None; from xlfuncs.__main__ import main; main()"],
        cwd=tmp_path,
        env=_env(PYTHONPATH=str(ROOT)),
        check=False,
    )
    assert blocked.returncode == 2 and blocked.stderr.strip().splitlines()[-1] == (
        "xlfuncs: the command line needs its extra: pip install 'xlfuncs[cli]' (scripts/install.sh installs it)"
    )


_MAIN = """
import atexit, sys, threading, time
atexit.register(lambda: print("exit handler ran", flush=True))
class Mark:
    def __del__(self):
        print("interpreter teardown", flush=True)
mark = Mark()
if sys.argv[1] == "--thread":
    sys.argv.pop(1)
    threading.Thread(target=lambda: (time.sleep(1), print("thread finished", flush=True))).start()
sys.argv[0] = "xlfuncs"
from xlfuncs.__main__ import main
main()
"""


def test_command_line_ends_without_the_interpreter_teardown(tmp_path):
    """``xlfuncs`` skips freeing its modules at exit (__main__._leave: 45 ms of a one-file
    recalc), never what that teardown does that matters: exit handlers, flushed output,
    its exit code, and a thread of ours still running."""
    env = _env(PYTHONPATH=str(ROOT))
    listed = _run([sys.executable, "-c", _MAIN, "functions"], cwd=tmp_path, env=env)
    assert "CLV" in listed.stdout
    assert listed.stdout.endswith("exit handler ran\n") and "interpreter teardown" not in listed.stdout
    missing = _run(
        [sys.executable, "-c", _MAIN, "recalc", "missing.xlsx", "--check"], cwd=tmp_path, env=env, check=False
    )
    assert missing.returncode == 1 and "missing.xlsx: no such file" in missing.stderr, missing
    assert missing.stdout == "exit handler ran\n"
    waited = _run([sys.executable, "-c", _MAIN, "--thread", "functions"], cwd=tmp_path, env=env)
    assert "thread finished" in waited.stdout and "interpreter teardown" in waited.stdout


def test_commands_other_than_generate_do_not_import_the_templates(tmp_path):
    """openpyxl and the templates load with ``generate`` alone (0.15 s a recalc would pay
    while its LibreOffice starts); their names still import from xlfuncs.templates."""
    code = """
import sys
import xlfuncs.cli
print(sorted(m for m in sys.modules if m.split(".")[0] == "openpyxl" or m.startswith("xlfuncs.templates.")))
from xlfuncs.templates import TEMPLATES, GenerateError, ScenarioError, generate
print(callable(generate), "onboarding-roi" in TEMPLATES, issubclass(ScenarioError, Exception))
"""
    done = _run([sys.executable, "-c", code], cwd=tmp_path, env=_env(PYTHONPATH=str(ROOT)))
    assert done.stdout.splitlines() == ["['xlfuncs.templates.cli', 'xlfuncs.templates.i18n']", "True True True"]


def test_recalc_s_client_runs_without_numpy(tmp_path):
    """The metrics (and numpy, 10 MB of the client's memory) load inside LibreOffice, not
    in the command that drives it: ``xlfuncs recalc`` and ``xlfuncs functions`` never
    import numpy; the registry imports a metric on first use."""
    generate("onboarding-roi", tmp_path / "roi.xlsx")
    # Found (LibreOffice's Python is pointed at it), never imported: said as the process exits.
    watched = (
        "import atexit, sys; atexit.register(lambda: print('numpy imported:', 'numpy' in sys.modules)); "
        "from xlfuncs.__main__ import main; main()"
    )
    env = _env(PYTHONPATH=str(ROOT))
    checked = _run([sys.executable, "-c", watched, "recalc", "roi.xlsx", "--check"], cwd=tmp_path, env=env)
    assert "0 with stale values, 0 failed" in checked.stderr, checked
    assert checked.stdout == "numpy imported: False\n"
    listed = _run([sys.executable, "-c", watched, "functions"], cwd=tmp_path, env=env)
    assert "CLV" in listed.stdout and listed.stdout.endswith("numpy imported: False\n")
    code = """
import sys
from xlfuncs import registry
print("numpy" in sys.modules)
from xlfuncs import metrics
print(registry.get("CLV").impl is metrics.clv, registry.get("SBG_CLV").impl.__module__)
"""
    lazily = _run([sys.executable, "-c", code], cwd=tmp_path, env=env)
    assert lazily.stdout.splitlines() == ["False", "True xlfuncs.sbg"]


# ------------------------------------------------------------------------------ CI recipes


@pytest.fixture
def models(tmp_path) -> Path:
    """A repository with a fresh workbook under models/, as the recipes expect."""
    folder = tmp_path / "repo" / "models"
    folder.mkdir(parents=True)
    generate("onboarding-roi", folder / "roi.xlsx")
    return folder.parent


def _make_stale(path: Path) -> None:
    """A workbook whose cached values are out of date, as after an edit without recalculation."""
    made = generate("onboarding-roi", path.with_name("fresh.xlsx"))
    values = dict(made.values)
    key = next(k for k in made.formulas if isinstance(values[k], float))
    values[key] = values[key] + 1000.0
    write_cached_values(made.path, path, values)
    made.path.unlink()


def test_github_actions_job_runs_as_documented(models, wheel):
    job = yaml.safe_load((ROOT / "docs" / "github-actions.yml").read_text())["jobs"]["recalc-check"]
    steps = [step["run"] for step in job["steps"] if "run" in step]
    assert len(steps) == 3 and "xlfuncs recalc models/ --check" in steps[-1]
    script = models / "job.sh"
    script.write_text("set -euo pipefail\n" + "\n".join(steps))
    env = _env(**job["env"])
    env["XLFUNCS_WHEEL"] = str(wheel)
    env["PIP_NO_INDEX"] = "1"  # offline: the venv sees this machine's packages for the dependencies
    passed = _run(["bash", str(script)], cwd=models, env=env, check=False, timeout=400)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "models/roi.xlsx: unchanged" in passed.stderr and (models / "recalc.xml").exists()
    assert 'failures="0" errors="0"' in (models / "recalc.xml").read_text()

    _make_stale(models / "models" / "roi.xlsx")
    failed = _run(["bash", "-c", f"set -euo pipefail\n{steps[-1]}"], cwd=models, env=env, check=False, timeout=240)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "models/roi.xlsx: check failed" in failed.stderr and " -> " in failed.stdout


def test_pre_commit_hook_entry_runs_as_declared(models, venv):
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["language"] == "python" and hook["pass_filenames"] is True
    # What pre-commit installs: this package plus the additional dependencies, i.e. the cli extra.
    extra = re.search(r"^cli = \[(.*)\]$", (ROOT / "pyproject.toml").read_text(), re.M).group(1)
    cli = [d.strip().strip('"') for d in extra.split('",')]
    assert hook["additional_dependencies"] == [d for d in cli if "python_version" not in d]
    staged = ["models/roi.xlsx"]
    assert all(re.search(hook["files"], f) for f in staged) and not re.search(hook["files"], "notes.txt")
    env = _env(PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}")  # the hook's environment
    cmd = shlex.split(hook["entry"]) + staged
    passed = _run(cmd, cwd=models, env=env, check=False, timeout=240)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    _make_stale(models / "models" / "roi.xlsx")
    failed = _run(cmd, cwd=models, env=env, check=False, timeout=240)
    assert failed.returncode == 1 and "models/roi.xlsx: check failed" in failed.stderr


# -------------------------------------------------------------------------- the README


def test_readme_points_only_to_files_in_the_repository():
    readme = (ROOT / "README.md").read_text()
    links = [t for t in re.findall(r"\]\(([^)#]+)\)", readme) if not t.startswith(("http://", "https://"))]
    assert links, "the README links to files of the repository"
    assert [t for t in links if not (ROOT / t).exists()] == []
    assert "FUNCTIONS.md" not in readme  # the generated reference in the README is the contract


def test_readme_promises_no_install_from_an_index():
    readme = (ROOT / "README.md").read_text()
    # `pip install xlfuncs` (from PyPI) would fail: only a clone or a built wheel works.
    assert not re.search(r"pip install (-U )?xlfuncs\b(?![-\w.]*\.whl)", readme)
    assert 'pip install "dist/xlfuncs-0.1.0-py3-none-any.whl[cli]"' in readme


def test_license_matches_pyproject():
    license_text = (ROOT / "LICENSE").read_text()
    assert license_text.startswith("MIT License\n") and "WITHOUT WARRANTY OF ANY KIND" in license_text
    assert 'license = { text = "MIT" }' in (ROOT / "pyproject.toml").read_text()
