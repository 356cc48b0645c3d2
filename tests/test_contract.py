"""The contract as a whole: its names, signatures, the registry's copy of its examples.

The table of the contract's rows (tests/contract_cases.py) is run per function, through the
Excel adapter and the Python API, in each function's home, tests/functions/test_<name>.py.
These tests do not read the registry's copy of the examples: they check it (and the code)
against the contract text.
"""

from __future__ import annotations

from pathlib import Path

from contract_cases import CONTRACT, SIGNATURES, About
from contract_checks import NAMES, same

import xlfuncs
from xlfuncs import adapter, registry
from xlfuncs.errors import ExcelError


def test_every_function_has_one_home_holding_its_contract_rows():
    """tests/functions/test_<name>.py runs the function's rows of the table through the
    cell rules and the Python API; a row for an unknown function would run nowhere."""
    homes = sorted(p.stem for p in (Path(__file__).parent / "functions").glob("test_*.py"))
    assert homes == sorted(f"test_{name.lower()}" for name in NAMES)
    assert {name for name, _, _ in CONTRACT} == set(NAMES)
    for name in NAMES:
        home = (Path(__file__).parent / "functions" / f"test_{name.lower()}.py").read_text()
        assert f'contract_tests("{name}")' in home


def test_registry_examples_match_the_contract():
    """The registry's own copy of the examples (which feeds docs and doctests) is right."""
    for fn in registry.FUNCTIONS.values():
        for formula, expected in fn.examples:
            name, tokens = registry.split_example(formula)
            args = [eval(registry.python_literal(t)) for t in tokens]  # noqa: S307 - our own literals
            if name == "SBG_FIT":  # the contract gives the fit to 6 digits ("about")
                expected = [[About(v) for v in row] for row in expected]
            assert same(adapter.call(name, *args), expected), formula


def test_all_25_functions_of_the_contract_are_registered():
    assert list(registry.FUNCTIONS) == NAMES
    assert len(NAMES) == 25
    for name in NAMES:
        assert callable(getattr(xlfuncs, name.lower()))


def test_signatures_follow_the_contract():
    assert list(SIGNATURES) == NAMES
    for fn in registry.FUNCTIONS.values():
        assert [(a.name, a.optional) for a in fn.args] == SIGNATURES[fn.name]
        names = [f"[{a}]" if optional else a for a, optional in SIGNATURES[fn.name]]
        assert fn.signature == f"{fn.name}({', '.join(names)})"
    assert registry.get("CLV").signature == "CLV(arpu, churn, [margin], [discount], [periods], [type])"


def test_error_values_are_excel_errors_not_strings_or_exceptions():
    result = adapter.call("CLV", 35, 0)
    assert isinstance(result, ExcelError)
    assert result is ExcelError.DIV0
    assert result.code == 2  # ERROR.TYPE(#DIV/0!)
