"""xlfuncs through xlwings' own Office.js custom-function path (xlwings Server and Lite).

Nothing of xlwings is mocked. ``xlfuncs.udfs`` is decorated by the real Office.js
decorators, ``xlwings.server.custom_functions_meta`` builds the function metadata Excel
registers, and ``xlwings.server.custom_functions_call`` runs every call from a payload shaped
exactly like the one the Office.js client sends.

Why a child process: xlwings picks the decorators behind ``xw.func`` when it is first
imported (``XLWINGS_ON_SERVER=true`` -> Office.js, otherwise on Linux a do-nothing stand-in),
and pytest's ``--doctest-modules`` has already imported ``xlfuncs.udfs``, and with it
xlwings, by the time this module runs. Setting the variable here would change nothing, and
re-importing xlwings in this process would leave two copies of it. So the calls run in
``xlwings_server_worker.py``, started with the two variables in its environment; it checks
that xlwings was not imported before they were set, and this module checks that ``xw.func``
there is ``xlwings.server.func``. Requests and answers cross as JSON, as they do between
Excel and xlwings Server.

The payloads mirror the Office.js client (``custom-functions-code.js`` of xlwings Server:
``client``, ``func_name``, ``args``, ``caller_address``, ``session_id``,
``culture_info_name``, ``date_format``, ``version``, ``runtime``):

* every argument of a ``matrix``/``any`` parameter is a 2-D array, a typed-in ``35`` too;
* an omitted argument (trailing, or ``=CLV(100, 0.02, , 0.01)``) is ``null``;
* an empty cell is ``""`` (or ``null`` inside an array, as newer hosts and Pyodide's
  ``JsNull`` have it): both are covered;
* an error cell is an ``ErrorCellValue`` object, ``{"type": "Error", "basicType": "Error",
  "basicValue": "#N/A", "errorType": "NotAvailable"}`` (the metadata sets
  ``allowErrorForDataTypeAny``, so Excel hands errors to the function);
* results go back as 2-D arrays; with runtime 1.4 an error is ``{"type": "Error",
  "errorType": "Div0"}``, which Excel shows as a real ``#DIV/0!``; before 1.4 it is the
  text ``"#DIV/0!"``.

The contract's examples are written here by hand from the contract, not read from the
registry.
"""

from __future__ import annotations

import importlib.metadata
import math

import pytest
from contract_cases import CONTRACT, MOVEMENTS_IN, MOVEMENTS_OUT, SIGNATURES
from xlwings_server_worker import Worker

# ---------------------------------------------------------------- the contract, by hand


OMIT = object()  # an argument left out of the formula: Office.js sends null

# Every example of the contract, errors included, goes through the Office.js path.
WORKED_EXAMPLES = CONTRACT

# The functions the contract gives no worked example for, computed by hand from their
# definitions there, so that every function goes through the Office.js path.
DEFINITION_EXAMPLES = [
    ("ARPU", (10500, [[0, 0]]), "#DIV/0!"),  # average 0
    ("ARPU", (10500, [[-280, 320]]), "#NUM!"),  # negative count
    ("CAC", ([[3000, 2000]], [[6, 4]]), 500),  # 5000 / 10
    ("RETENTION_COST", (12000, 400), 30),
    ("ONBOARDING_ROI", (1400, 600, 200), 3),  # (1400 - 600 - 200) / 200
    ("ONBOARDING_ROI", (1400, 600, 0), "#DIV/0!"),
    ("ONBOARDING_ROI", (1400, 600, -5), "#NUM!"),
    ("CHURN_RATE", ([[3, 2]], [[60, 40]]), 0.05),  # 5 / 100
    ("NRR", (10000, 1500, -300, 700), 1.05),  # (10000 + 1500 - 300 - 700) / 10000
    ("NRR", (10000, 1500, 300, -700, 200), 1.07),
    ("GRR", (10000, 300, -700), 0.9),
    ("QUICK_RATIO", (1000, 500, 200, 300), 3),  # 1500 / 500
    ("QUICK_RATIO", (1000, 500, -200, -300, 100), 3.2),
    ("TTFV", (46000, 46045.5), 45.5),
    ("TTFV", (46000, OMIT), "#N/A"),  # not reached yet
    ("TTFV", (46000, 45990), "#NUM!"),  # before start
    ("HEALTH_SCORE", ([[80, 40]], [[3, 1]]), 70),  # (240 + 40) / 4
    ("HEALTH_SCORE", ([[80, 140]], [[3, 1]]), "#NUM!"),
    ("HEALTH_SCORE", ([[80, 40]], [[1], [1]]), "#VALUE!"),  # shapes differ
    ("HEALTH_SCORE", ([[80, 40]], [[0, 0]]), "#DIV/0!"),
    ("HEALTH_STATUS", (40,), "red"),
    ("HEALTH_STATUS", (60,), "yellow"),
    ("HEALTH_STATUS", (75,), "green"),
    ("HEALTH_STATUS", (60, 80, 70), "#NUM!"),  # red_below > green_from
    ("SEGMENT", (900, 0, 800, 200), "VIP"),
    ("SEGMENT", (100, 1000, 800, 200), "potential"),
    ("SEGMENT", (300, 0, 800, 200), "core"),
    ("SEGMENT", (50, 0, 800, 200), "non-core"),
    ("SEGMENT", (50, 0, 100, 200), "#NUM!"),  # vip_mrr < core_mrr
]

# Excel's error values and the errorType of Office.js's ErrorCellValue for each.
ERROR_TYPES = {
    "#DIV/0!": "Div0",
    "#N/A": "NotAvailable",
    "#NAME?": "Name",
    "#NULL!": "Null",
    "#NUM!": "Num",
    "#REF!": "Ref",
    "#VALUE!": "Value",
}


# ---------------------------------------------------------------- Office.js, as it sends and receives

XLWINGS_VERSION = importlib.metadata.version("xlwings")


def cell_error(text: str) -> dict:
    """An error cell as Office.js hands it to a custom function (an ErrorCellValue)."""
    return {"type": "Error", "basicType": "Error", "basicValue": text, "errorType": ERROR_TYPES[text]}


def officejs_arg(value):
    """One argument as Office.js passes it to a ``matrix`` parameter."""
    if value is OMIT:
        return None
    if isinstance(value, list):
        return value
    return [[value]]


def payload(name: str, *args, runtime: str = "1.4") -> dict:
    """The body the Office.js client posts for ``=NAME(args...)``."""
    return {
        "client": "Office.js",
        "func_name": name,
        "args": [officejs_arg(a) for a in args],
        "caller_address": "[Book1.xlsx]Sheet1!B2",
        "session_id": "3f1c9a52-6a0e-4e55-9d0b-5b3c1e0f7a11",
        "culture_info_name": "en-US",
        "date_format": "M/d/yyyy",
        "version": XLWINGS_VERSION,
        "runtime": runtime,
    }


def expected_cell(value, runtime: str = "1.4"):
    """What a cell of the result looks like on the wire."""
    if isinstance(value, str) and value.startswith("#"):
        if runtime == "1.4":
            return {"type": "Error", "errorType": ERROR_TYPES[value]}
        return value
    return value


def assert_result(got, expected, runtime: str = "1.4"):
    """``got`` is the 2-D answer; ``expected`` a single value or a 2-D table."""
    table = expected if isinstance(expected, list) else [[expected]]
    assert isinstance(got, list) and all(isinstance(row, list) for row in got), got
    assert [len(row) for row in got] == [len(row) for row in table], (got, table)
    for got_row, want_row in zip(got, table):
        for got_cell, want_cell in zip(got_row, want_row):
            want = expected_cell(want_cell, runtime)
            if isinstance(want, (int, float)) and not isinstance(want, bool):
                assert isinstance(got_cell, float), (got, table)
                rel = getattr(want_cell, "rel", 1e-9)  # contract_cases.About: given to fewer digits
                assert math.isclose(got_cell, want, rel_tol=rel, abs_tol=1e-9), (got, table)
            else:
                assert got_cell == want, (got, table)


@pytest.fixture(scope="module")
def server():
    worker = Worker.start()
    yield worker
    worker.close()


def call(server, name, *args, runtime="1.4"):
    return server.ask(op="call", payload=payload(name, *args, runtime=runtime))


# ---------------------------------------------------------------- the runtime really is Office.js


def test_xw_func_is_the_office_js_decorator(server):
    env = server.ask(op="env")
    assert env["is_server_func"] is True
    assert env["func_module"] == "xlwings.pro.udfs_officejs"
    assert env["xlwings_version"] == XLWINGS_VERSION


# ---------------------------------------------------------------- metadata


@pytest.fixture(scope="module")
def meta(server):
    return server.ask(op="meta")


def test_meta_lists_the_contract_functions(meta):
    names = [f["name"] for f in meta["functions"]]
    assert sorted(names) == sorted(SIGNATURES)
    assert len(names) == len(SIGNATURES)
    assert [f["id"] for f in meta["functions"]] == names  # Excel names are the ids


@pytest.mark.parametrize("name", sorted(SIGNATURES))
def test_meta_arguments_in_contract_order_with_docs(meta, name):
    from xlfuncs import registry

    (function,) = [f for f in meta["functions"] if f["name"] == name]
    params = function["parameters"]
    assert [(p["name"], p.get("optional", False)) for p in params] == SIGNATURES[name]
    for param, arg in zip(params, registry.FUNCTIONS[name].args):
        # The registry's argument doc, not xlwings' "Positional argument 1".
        assert param["description"].startswith(arg.doc), param
        assert ("Optional, default" in param["description"]) == param.get("optional", False), param
        assert (param["dimensionality"], param["type"]) == ("matrix", "any")
    assert function["description"] == registry.FUNCTIONS[name].description
    assert function["result"] == {"dimensionality": "matrix", "type": "any"}


def test_meta_lets_error_cells_reach_the_functions(meta):
    assert meta["allowErrorForDataTypeAny"] is True


# ---------------------------------------------------------------- every example of the contract


@pytest.mark.parametrize(("name", "args", "expected"), WORKED_EXAMPLES, ids=lambda v: repr(v)[:40])
def test_worked_examples_of_the_contract(server, name, args, expected):
    assert_result(call(server, name, *args), expected)


@pytest.mark.parametrize(("name", "args", "expected"), DEFINITION_EXAMPLES, ids=lambda v: repr(v)[:40])
def test_examples_from_the_definitions(server, name, args, expected):
    assert_result(call(server, name, *args), expected)


def test_every_function_is_exercised():
    assert {name for name, _, _ in WORKED_EXAMPLES + DEFINITION_EXAMPLES} == set(SIGNATURES)


def test_errors_are_real_office_js_errors(server):
    assert call(server, "CLV", 35, 0) == [[{"type": "Error", "errorType": "Div0"}]]
    assert call(server, "CLV", 35, 1.2) == [[{"type": "Error", "errorType": "Num"}]]
    assert call(server, "CLV", "abc", 0.05) == [[{"type": "Error", "errorType": "Value"}]]
    assert call(server, "TTFV", 46000, OMIT) == [[{"type": "Error", "errorType": "NotAvailable"}]]


# ---------------------------------------------------------------- spills


def test_mrr_movements_spills_its_3_by_6_table(server):
    got = call(server, "MRR_MOVEMENTS", MOVEMENTS_IN)
    assert len(got) == 3 and all(len(row) == 6 for row in got)
    assert_result(got, MOVEMENTS_OUT)


def test_mrr_movements_blank_cells_count_as_zero(server):
    blanks = [[100, 150, 150, ""], ["", 200, 100, 100], [50, None, "", 80], ["", "", "", 60]]
    assert_result(call(server, "MRR_MOVEMENTS", blanks), MOVEMENTS_OUT)


def test_a_column_against_a_row_spills_the_full_table(server):
    got = call(server, "CLV", [[35], [70]], [[0.05, 0.1]])
    assert_result(got, [[700, 350], [1400, 700]])


def test_a_single_cell_pairs_with_every_cell_of_a_range(server):
    assert_result(call(server, "CLV", [[35, 70, 105]], 0.05), [[700, 1400, 2100]])
    assert_result(call(server, "LTV_CAC", 1500, [[500], [300]]), [[3], [5]])


def test_cells_beyond_a_shorter_range_are_na(server):
    got = call(server, "CLV", [[35], [70], [105]], [[0.05], [0.1]])
    assert_result(got, [[700], [700], ["#N/A"]])


def test_one_bad_cell_does_not_spoil_the_spill(server):
    got = call(server, "CLV", [[35], [70], [105], [140]], [[0.05], [0], [1.2], ["x"]])
    assert_result(got, [[700], ["#DIV/0!"], ["#NUM!"], ["#VALUE!"]])
    got = call(server, "PAYBACK", [[420, 1000]], [[35, 100]], 1, [[0, 0.1]])
    assert_result(got, [[12, "#NUM!"]])


def test_text_results_spill_too(server):
    got = call(server, "HEALTH_STATUS", [[40], [60], [75], [cell_error("#N/A")]])
    assert_result(got, [["red"], ["yellow"], ["green"], ["#N/A"]])
    got = call(server, "SEGMENT", [[900, 100, 300, 50]], [[0, 1000, 0, 0]], 800, 200)
    assert_result(got, [["VIP", "potential", "core", "non-core"]])


# ---------------------------------------------------------------- error cells coming in


@pytest.mark.parametrize("error", sorted(ERROR_TYPES))
def test_an_error_cell_comes_out_unchanged(server, error):
    assert_result(call(server, "CLV", cell_error(error), 0.05), error)
    assert_result(call(server, "CLV", [[cell_error(error)]], [[0.05]]), error)
    assert_result(call(server, "ARPU", [[10500, cell_error(error)]], [[280, 320]]), error)
    assert_result(call(server, "NET_MRR", 1000, 500, 200, 300, cell_error(error)), error)  # optional
    assert_result(call(server, "MRR_MOVEMENTS", [[100, cell_error(error)], [0, 200]]), error)


def test_an_error_cell_stays_in_its_cell_of_a_spill(server):
    got = call(server, "CLV", [[35], [cell_error("#REF!")], [105]], 0.05)
    assert_result(got, [[700], ["#REF!"], [2100]])
    got = call(server, "TTFV", [[46000], [46000]], [[46010], [cell_error("#N/A")]])
    assert_result(got, [[10], ["#N/A"]])


def test_the_leftmost_error_wins(server):
    assert_result(call(server, "LTV_CAC", cell_error("#REF!"), cell_error("#N/A")), "#REF!")


# ---------------------------------------------------------------- blanks


@pytest.mark.parametrize("blank", ["", None], ids=["empty-string", "null"])
def test_a_blank_cell_for_an_optional_argument_takes_the_default(server, blank):
    # =CLV(100, 0.02, C1, D1, E1) with C1:E1 empty is =CLV(100, 0.02)
    assert_result(call(server, "CLV", 100, 0.02, [[blank]], [[blank]], [[blank]]), 5000)
    assert_result(call(server, "HEALTH_STATUS", 60, [[blank]], [[blank]]), "yellow")
    assert_result(call(server, "NET_MRR", 1000, 500, 200, 300, [[blank]]), 1000)


def test_an_omitted_argument_takes_the_default(server):
    # =CLV(100, 0.05, , 0.01): Office.js sends null for the skipped margin
    assert_result(call(server, "CLV", 100, 0.05, OMIT, 0.01), 1683.3333333333)
    assert_result(call(server, "CLV", 100, 0.05, OMIT, OMIT, OMIT), 2000)
    assert_result(call(server, "PAYBACK", 1000, 100, OMIT, 0.05), 13.5134073340)


@pytest.mark.parametrize("blank", ["", None], ids=["empty-string", "null"])
def test_a_blank_cell_for_a_required_argument_counts_as_zero(server, blank):
    assert_result(call(server, "CLV", [[blank]], 0.05), 0)  # arpu 0
    assert_result(call(server, "CLV", 35, [[blank]]), "#DIV/0!")  # churn 0, no discount, no limit
    assert_result(call(server, "LTV_CAC", 1500, [[blank]]), "#DIV/0!")
    assert_result(call(server, "NET_MRR", 1000, [[blank]], 200, 300), 500)


@pytest.mark.parametrize("blank", ["", None], ids=["empty-string", "null"])
def test_blanks_inside_ranges(server, blank):
    # element-wise: a blank cell of a required range is 0, of an optional range the default
    assert_result(call(server, "CLV", [[35], [blank]], 0.05), [[700], [0]])
    assert_result(call(server, "CLV", 100, 0.02, [[0.5], [blank]]), [[2500], [5000]])
    # aggregating: skipped like SUM skips them; HEALTH_SCORE drops the weight with its score
    assert_result(call(server, "ARPU", [[10500, blank]], [[280, blank, 320]]), 35)
    assert_result(call(server, "HEALTH_SCORE", [[80, blank, 40]], [[3, 5, 1]]), 70)
    # TTFV: an empty first_value is not reached yet
    assert_result(call(server, "TTFV", [[46000], [46000]], [[46010], [blank]]), [[10], ["#N/A"]])


def test_text_and_logicals_are_value_errors(server):
    assert_result(call(server, "CLV", "thirty-five", 0.05), "#VALUE!")
    assert_result(call(server, "CLV", True, 0.05), "#VALUE!")
    assert_result(call(server, "ONBOARDING_ROI", 1400, 600, [["n/a"], [200]]), [["#VALUE!"], [3]])
    # An aggregating function skips text and logicals inside a range, as SUM does. (Office.js
    # sends every argument as a range, a typed-in "5000" too, so xlwings cannot tell that
    # from a cell holding the text: both are skipped.)
    assert_result(call(server, "CAC", [[3000, "n/a", True, 2000]], [[6, 4]]), 500)


# ---------------------------------------------------------------- older runtimes


def test_runtime_1_3_returns_errors_as_text(server):
    assert call(server, "CLV", 35, 0, runtime="1.3") == [["#DIV/0!"]]
    assert call(server, "CLV", 35, 0.05, runtime="1.3") == [[700.0]]
    got = call(server, "CLV", [[35], [70], [105]], [[0.05], [0]], runtime="1.3")
    assert got == [[700.0], ["#DIV/0!"], ["#N/A"]]
    got = call(server, "CLV", cell_error("#REF!"), 0.05, runtime="1.3")
    assert got == [["#REF!"]]


@pytest.mark.parametrize(("name", "args", "expected"), WORKED_EXAMPLES[:8])
def test_runtime_1_3_worked_examples(server, name, args, expected):
    assert_result(call(server, name, *args, runtime="1.3"), expected, runtime="1.3")
