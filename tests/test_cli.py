"""The command line as a user meets it: help (snapshots), --version, one function's
reference, the default scenario, currencies, macro-enabled output.

The help snapshots live in tests/snapshots/; after a deliberate change of the help, rerun
with XLFUNCS_UPDATE_SNAPSHOTS=1 and review the diff.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from xlfuncs.cli import app

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
HELP_COMMANDS = [[], ["functions"], ["generate"], ["recalc"], ["office"], ["office", "start"]]


def _help(args: list[str]) -> str:
    env = dict(os.environ, COLUMNS="100", TERM="dumb", NO_COLOR="1", PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-m", "xlfuncs", *args, "--help"], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    return "\n".join(line.rstrip() for line in done.stdout.splitlines()).strip() + "\n"


@pytest.mark.parametrize("args", HELP_COMMANDS, ids=lambda a: "-".join(a) or "xlfuncs")
def test_help_snapshot(args):
    text = _help(args)
    snapshot = SNAPSHOTS / f"help-{'-'.join(args) or 'xlfuncs'}.txt"
    if os.environ.get("XLFUNCS_UPDATE_SNAPSHOTS"):
        snapshot.parent.mkdir(exist_ok=True)
        snapshot.write_text(text)
    assert text == snapshot.read_text(), f"help changed: XLFUNCS_UPDATE_SNAPSHOTS=1 rewrites {snapshot.name}"
    # No Python in the help: no <bool>, <list[Path]>, {files}..., no type annotations.
    assert not re.search(r"<\w+(\[\w+\])?>|\{\w+\}|list\[|Path\b|\bbool\b|\bstr\b", text), text


def test_jobs_help_says_what_the_readme_says():
    readme = (ROOT / "README.md").read_text()
    assert "`--jobs N` is a budget of cores (default: all)" in readme
    assert "A budget of N cores" in _help(["recalc"]) and "(default: all cores)" in _help(["recalc"])


def test_version():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout == "xlfuncs 0.1.0\n"


def test_functions_name_shows_the_readme_section():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### CLV\n") : readme.index("### LTV_CAC\n")]
    result = CliRunner().invoke(app, ["functions", "clv"])
    assert result.exit_code == 0
    assert result.stdout == section.rstrip("\n") + "\n"
    assert (
        "Native twin of `=CLV(A2, B2, C2, D2, E2, F2)`" in result.stdout
        and "| `=CLV(35, 0.05)` | 700 |" in result.stdout
    )
    one = CliRunner().invoke(app, ["functions", "PAYBACK", "--json"])
    assert one.exit_code == 0 and '"name": "PAYBACK"' in one.stdout and '"name": "CLV"' not in one.stdout
    bad = CliRunner().invoke(app, ["functions", "NPV"])
    assert bad.exit_code == 2 and bad.stderr == "error: no function 'NPV' (xlfuncs functions lists them)\n"


def test_print_scenario_writes_the_packaged_default():
    result = CliRunner().invoke(app, ["generate", "onboarding-roi", "--print-scenario"])
    assert result.exit_code == 0
    assert result.stdout == (ROOT / "xlfuncs" / "templates" / "scenarios" / "onboarding-roi.toml").read_text()
    assert result.stdout.startswith("# Default scenario of the onboarding-roi template:")
    bad = CliRunner().invoke(app, ["generate", "nope", "--print-scenario"])
    assert bad.exit_code == 2 and bad.stderr.startswith("error: unknown template 'nope'")


@pytest.mark.parametrize(
    "lang,currency,money,unit",
    [
        ("es", "EUR", '#,##0 "€"_);(#,##0 "€")', "EUR / mes"),
        ("en", "EUR", '"€"#,##0_);("€"#,##0)', "EUR / month"),
        ("es", "MXN", '"$"#,##0_);("$"#,##0)', "MXN / mes"),
        ("en", "usd", '"$"#,##0_);("$"#,##0)', "USD / month"),
        ("es", "CHF", '#,##0 "CHF"_);(#,##0 "CHF")', "CHF / mes"),
    ],
)
def test_currency_sets_symbol_and_formats(tmp_path, lang, currency, money, unit):
    out = tmp_path / "roi.xlsx"
    result = CliRunner().invoke(
        app, ["generate", "onboarding-roi", "-o", str(out), "--lang", lang, "--currency", currency]
    )
    assert result.exit_code == 0, result.output
    wb = openpyxl.load_workbook(out)
    inputs, scen = wb.worksheets[0], wb.worksheets[1]
    assert scen["C11"].number_format == money  # CLV with onboarding
    assert inputs["C7"].value == unit  # the license price's unit


@pytest.mark.parametrize("currency", ["EURO$", "\x07", '"'], ids=["long", "control", "quote"])
def test_bad_currency_is_one_line(tmp_path, currency):
    result = CliRunner().invoke(
        app, ["generate", "onboarding-roi", "-o", str(tmp_path / "x.xlsx"), "--currency", currency]
    )
    assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("error: --currency must be an ISO code (USD, EUR, MXN")
    assert list(tmp_path.iterdir()) == []


def test_xlsm_output_is_macro_enabled(tmp_path):
    out = tmp_path / "roi.xlsm"
    result = CliRunner().invoke(app, ["generate", "onboarding-roi", "-o", str(out)])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as z:
        types = z.read("[Content_Types].xml").decode()
        assert z.testzip() is None
    assert 'PartName="/xl/workbook.xml" ContentType="application/vnd.ms-excel.sheet.macroEnabled.main+xml"' in types
    assert "spreadsheetml.sheet.main+xml" not in types
    assert openpyxl.load_workbook(out, data_only=True)["Scenarios"]["C11"].value == pytest.approx(3181.167, abs=1e-3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["roi.xlsm"]
