"""Every worked example of the contract (the README's function reference), written here by hand.

These do not read the registry's copy of the examples: they check it (and the code)
against the contract text. Both the Python API and the Excel adapter are exercised.
"""

from __future__ import annotations

import math

import pytest
from contract_cases import CONTRACT, SIGNATURES, About

import xlfuncs
from xlfuncs import adapter, registry
from xlfuncs.errors import ExcelError, ExcelErrorValue


def _same(got, expected) -> bool:
    if isinstance(expected, list):
        return isinstance(got, list) and all(
            _same(g, e) for grow, erow in zip(got, expected, strict=True) for g, e in zip(grow, erow, strict=True)
        )
    if isinstance(expected, str):
        return got == expected
    return isinstance(got, float) and math.isclose(got, expected, rel_tol=getattr(expected, "rel", 1e-10))


@pytest.mark.parametrize(("name", "args", "expected"), CONTRACT, ids=[f"{c[0]}{c[1]}" for c in CONTRACT])
def test_adapter_follows_the_contract(name, args, expected):
    assert _same(adapter.call(name, *args), expected)


@pytest.mark.parametrize(("name", "args", "expected"), CONTRACT, ids=[f"{c[0]}{c[1]}" for c in CONTRACT])
def test_python_api_follows_the_contract(name, args, expected):
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
    assert _same(got, expected)


def test_registry_examples_match_the_contract():
    """The registry's own copy of the examples (which feeds docs and doctests) is right."""
    for fn in registry.FUNCTIONS.values():
        for formula, expected in fn.examples:
            name, tokens = registry.split_example(formula)
            args = [eval(registry.python_literal(t)) for t in tokens]  # noqa: S307 - our own literals
            if name == "SBG_FIT":  # the contract gives the fit to 6 digits ("about")
                expected = [[About(v) for v in row] for row in expected]
            assert _same(adapter.call(name, *args), expected), formula


def test_all_25_functions_of_the_contract_are_registered():
    with open(__file__.replace("tests/test_contract.py", "tests/contract_names.txt")) as names:
        expected = names.read().split()
    assert list(registry.FUNCTIONS) == expected
    assert len(expected) == 25
    for name in expected:
        assert callable(getattr(xlfuncs, name.lower()))


def test_signatures_follow_the_contract():
    assert [fn.signature for fn in registry.FUNCTIONS.values()] == [
        "CLV(arpu, churn, [margin], [discount], [periods], [type])",
        "LTV_CAC(ltv, cac)",
        "ARPU(revenue, customers)",
        "PAYBACK(cac, arpu, [margin], [churn], [discount], [type])",
        "CAC(spend, new_customers)",
        "RETENTION_COST(spend, customers)",
        "ONBOARDING_ROI(value_with, value_without, cost)",
        "NET_MRR(new, expansion, contraction, churned, [reactivation])",
        "MRR_MOVEMENTS(mrr)",
        "CHURN_RATE(lost, at_start, [new])",
        "NRR(start_mrr, expansion, contraction, churned, [reactivation])",
        "GRR(start_mrr, contraction, churned)",
        "QUICK_RATIO(new, expansion, contraction, churned, [reactivation])",
        "TTFV(start, first_value)",
        "HEALTH_SCORE(scores, weights)",
        "HEALTH_STATUS(score, [red_below], [green_from])",
        "SEGMENT(mrr, potential_mrr, vip_mrr, core_mrr)",
        "MRR_FROM_SUBS(customer, start, end, amount, [interval], [first_month], [months])",
        "CUSTOMER_COUNTS(mrr)",
        "COHORT_RETENTION(mrr, [measure])",
        "SBG_FIT(survivors)",
        "SBG_SURVIVAL(alpha, beta, t)",
        "SBG_CLV(arpu, alpha, beta, [margin], [discount], [renewals])",
        "NPS(responses)",
        "CSAT(responses, [scale])",
    ]
    for fn in registry.FUNCTIONS.values():
        assert [(a.name, a.optional) for a in fn.args] == SIGNATURES[fn.name]


def test_error_values_are_excel_errors_not_strings_or_exceptions():
    result = adapter.call("CLV", 35, 0)
    assert isinstance(result, ExcelError)
    assert result is ExcelError.DIV0
    assert result.code == 2  # ERROR.TYPE(#DIV/0!)
