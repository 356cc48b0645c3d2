"""The contract's rows for one function, checked through both layers.

Every function's home (``tests/functions/test_<name>.py``) runs its rows of
:data:`contract_cases.CONTRACT` with :func:`contract_tests`: once through the spreadsheet
cell rules (:func:`xlfuncs.adapter.call`), once through the Python API.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from contract_cases import CONTRACT

import xlfuncs
from xlfuncs import adapter
from xlfuncs.errors import ExcelErrorValue

# The one list of the contract's function names, in contract order.
NAMES = (Path(__file__).parent / "contract_names.txt").read_text().split()


def same(got, expected) -> bool:
    """``got`` is the contract's ``expected``: the same error text, label or table, numbers to
    1e-10 relative (or to the digits an :class:`contract_cases.About` gives)."""
    if isinstance(expected, list):
        return isinstance(got, list) and all(
            same(g, e) for grow, erow in zip(got, expected, strict=True) for g, e in zip(grow, erow, strict=True)
        )
    if isinstance(expected, str):
        return got == expected
    return isinstance(got, float) and math.isclose(got, expected, rel_tol=getattr(expected, "rel", 1e-10))


def rows(name: str) -> list:
    """The contract rows of ``name`` as pytest params ``(args, expected)``."""
    found = [pytest.param(args, expected, id=f"{args}") for n, args, expected in CONTRACT if n == name]
    assert found, f"the contract has no row for {name}"
    return found


def in_cells(name: str, args, expected) -> None:
    assert same(adapter.call(name, *args), expected)


def in_python(name: str, args, expected) -> None:
    function = getattr(xlfuncs, name.lower())
    if isinstance(expected, str) and expected.startswith("#"):
        with pytest.raises(ExcelErrorValue) as raised:
            function(*args)
        assert raised.value.error == expected
        assert expected in str(raised.value)
        return
    got = function(*args)
    if isinstance(expected, list):
        got = got.tolist()
        if not isinstance(got[0], list):  # a 1-D argument gives a 1-D result in Python
            got = [got]
    assert same(got, expected)


def contract_tests(name: str):
    """The two tests of a function's home that run its contract rows::

    test_contract_in_cells, test_contract_in_python = contract_tests("CLV")
    """

    @pytest.mark.parametrize(("args", "expected"), rows(name))
    def test_contract_in_cells(args, expected):
        in_cells(name, args, expected)

    @pytest.mark.parametrize(("args", "expected"), rows(name))
    def test_contract_in_python(args, expected):
        in_python(name, args, expected)

    return test_contract_in_cells, test_contract_in_python
