"""`xlfuncs functions`, the generated README reference and the native twins' text."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from xlfuncs import docs, registry
from xlfuncs.cli import app

ROOT = Path(__file__).resolve().parent.parent
NAMES = (ROOT / "tests" / "contract_names.txt").read_text().split()


def test_functions_lists_every_function_with_signature_and_description():
    result = CliRunner().invoke(app, ["functions"])
    assert result.exit_code == 0
    lines = result.output.strip().splitlines()
    assert len(lines) == len(NAMES) == 25
    assert lines[0].startswith("CLV(arpu, churn, [margin], [discount], [periods], [type])")
    assert "lifetime value" in lines[0]


def test_functions_json_is_machine_readable():
    result = CliRunner().invoke(app, ["functions", "--json"])
    rows = json.loads(result.output)
    assert [row["name"] for row in rows] == NAMES
    clv = rows[0]
    assert clv["signature"] == "CLV(arpu, churn, [margin], [discount], [periods], [type])"
    assert [a["name"] for a in clv["arguments"]] == ["arpu", "churn", "margin", "discount", "periods", "type"]
    assert clv["arguments"][4] == {
        "name": "periods",
        "doc": registry.FUNCTIONS["CLV"].args[4].doc,
        "optional": True,
        "default": "no limit",
    }


def test_the_console_script_runs():
    out = subprocess.run(
        [sys.executable, "-m", "xlfuncs", "functions"], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.count("\n") == len(NAMES)


def test_readme_reference_is_up_to_date():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert docs.render_reference() in readme, "README is stale: run python -m xlfuncs.docs README.md"


def test_readme_reference_documents_every_function():
    reference = docs.render_reference()
    for name in NAMES:
        assert f"### {name}\n" in reference


def test_native_twins_substitute_defaults_and_keep_arguments_grouped():
    # Defaults (margin 1, discount 0) need no range check; the given arguments do.
    assert registry.native_formula("CLV", "B2", "B3") == (
        "IF(OR((B2)<0,(B3)<0,(B3)>1),(-1)^0.5,(B2)*(1)*(1+(0))/((B3)+(0)))"
    )
    assert "INT((B6))" in registry.native_formula("CLV", "B2", "B3", "B4", "B5", "B6")
    assert registry.native_formula("LTV_CAC", "-B2", "B3+B4") == "IF(OR((-B2)<0,(B3+B4)<0),(-1)^0.5,(-B2)/(B3+B4))"
    assert registry.native_formula("HEALTH_STATUS", "A1") == 'IF((A1)<(50),"red",IF((A1)>=(75),"green","yellow"))'
    assert registry.FUNCTIONS["MRR_MOVEMENTS"].has_native is False
