"""xlfuncs through xlwings' classic Windows add-in, as far as Linux allows.

The classic add-in needs Excel and COM (pywin32), so the test runs xlwings' real classic
code in a child process (``xlwings_classic_probe.py``) with stand-ins for pywin32 and a
recording stand-in for the add-in workbook; the probe's docstring lists what is real and
what stands in. The child process keeps the stand-ins and the classic decorators out of
this session, where ``xlfuncs.udfs`` is already imported with xlwings' Linux defaults.

Checked here:

* *Import Functions* (``xlwings.udfs.import_udfs`` -> ``generate_vba_wrapper``) writes
  one VBA ``Function`` per registry function, named as the contract names it, with the
  arguments in contract order, ``Optional`` for the optional ones, no VBA keyword as a
  parameter name (``new`` becomes ``new_mrr`` there), and calls back into ``xlfuncs.udfs``;
  then sets category ``xlfuncs``, the description and the argument descriptions of
  each function in Excel's function wizard (``Application.MacroOptions``).
* Worksheet calls through ``xlwings.udfs.call_udf`` and xlwings' conversion for the Excel
  engine: numbers, array constants (which is also what a range's ``Value`` is), omitted
  ``Optional`` arguments, COM error codes in, dates, blanks, spills. Errors come back as
  the *text* ``"#DIV/0!"``: a classic UDF has no way to return a real error value.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from contract_cases import SIGNATURES

from xlfuncs import registry

PROBE = Path(__file__).with_name("xlwings_classic_probe.py")

# The contract's argument names VBA reserves, and what the classic add-in calls them.
VBA_NAMES = {"new": "new_mrr", "type": "pay_type", "end": "end_date", "scale": "scale_max"}

# VBA's reserved identifiers (MS-VBAL 3.3.5.2: statement, marker and operator keywords,
# reserved names, special forms, type and literal identifiers, future-reserved).
VBA_RESERVED = {
    w.lower()
    for w in """
    Call Case Close Const Declare DefBool DefByte DefCur DefDate DefDbl DefInt DefLng DefLngLng
    DefLngPtr DefObj DefSng DefStr DefVar Dim Do Else ElseIf End EndIf Enum Erase Event Exit For
    Friend Function Get Global GoSub GoTo If Implements Input Let Lock Loop LSet Next On Open
    Option Print Private Public Put RaiseEvent ReDim Resume Return RSet Seek Select Set Static
    Stop Sub Type Unlock Wend While With Write Rem Any As ByRef ByVal Each In New Shared Until
    WithEvents Optional ParamArray Preserve Spc Tab Then To AddressOf And Eqv Imp Is Like Mod Not
    Or TypeOf Xor Abs CBool CByte CCur CDate CDbl CDec CInt CLng CLngLng CLngPtr CSng CStr CVar
    CVErr Date Debug DoEvents Fix Int Len LenB Me PSet Scale Sgn String Array Circle InputB LBound
    UBound Boolean Byte Currency Double Integer Long LongLong LongPtr Single Variant True False
    Nothing Empty Null Attribute CDecl Decimal DefDec
    """.split()
}


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    # A fresh HOME: no ~/.xlwings/xlwings.conf (a license key there would switch on PRO
    # features that read the workbook through COM).
    env = {k: v for k, v in os.environ.items() if not k.startswith("XLWINGS_")}
    env["HOME"] = str(tmp_path_factory.mktemp("home"))
    done = subprocess.run(
        [sys.executable, str(PROBE)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=PROBE.parent.parent,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def vba(probe):
    (module,) = probe["vba_modules"]  # one module, imported once
    return module


def vba_functions(vba: str) -> dict[str, list[str]]:
    """Function name -> its parameter list as written, from the generated VBA."""
    return {
        m.group(1): [p.strip() for p in m.group(2).split(",")]
        for m in re.finditer(r"^Function (\w+)\((.*)\)$", vba, re.M)
    }


# ---------------------------------------------------------------- Import Functions


def test_the_open_source_add_in_is_what_runs(probe):
    assert probe["pro"] is False  # no license key: no embedded code, no config sheet
    assert probe["removed"] == ["xlwings_udfs"]  # the old module is replaced


def test_one_vba_function_per_registry_function(vba):
    functions = vba_functions(vba)
    assert sorted(functions) == sorted(registry.FUNCTIONS) == sorted(SIGNATURES)
    assert vba.count("\nEnd Function") == len(SIGNATURES)
    assert vba.startswith('Attribute VB_Name = "xlwings_udfs"')


@pytest.mark.parametrize("name", sorted(SIGNATURES))
def test_vba_signature_follows_the_contract(vba, name):
    params = vba_functions(vba)[name]
    want = [("Optional " if optional else "") + VBA_NAMES.get(arg, arg) for arg, optional in SIGNATURES[name]]
    assert params == want
    names = [p.removeprefix("Optional ") for p in params]
    assert not {n.lower() for n in names} & VBA_RESERVED, names
    assert name.lower() not in {n.lower() for n in names}  # a parameter may not shadow its function
    # The wrapper calls back into xlfuncs.udfs with every argument, in order.
    call = f'{name} = XLPy.CallUDF("xlfuncs.udfs", "{name}", Array({", ".join(names)})'
    assert call in vba


def test_vba_functions_return_err_description_on_failure(vba):
    # If Python raises, the cell shows the error's text (xlfuncs' adapter never raises).
    for name in SIGNATURES:
        assert f"    {name} = Err.Description\n" in vba


@pytest.mark.parametrize("name", sorted(SIGNATURES))
def test_function_wizard_category_description_and_argument_docs(probe, name):
    (options,) = [o for o in probe["macro_options"] if o["macro"] == f"'xlwings.xlam'!{name}"]
    function = registry.FUNCTIONS[name]
    assert options["Category"] == "xlfuncs"
    assert options["Description"] == function.description
    docs = options["ArgumentDescriptions"]
    assert len(docs) == len(function.args)
    for doc, arg in zip(docs, function.args):
        assert doc.startswith(arg.doc)
        assert len(doc) <= 255  # Excel's limit, which xlwings cuts at
        assert ("Optional, default" in doc) == arg.optional


def test_every_function_is_registered_with_the_classic_decorators(probe):
    assert sorted(probe["xlfunc"]) == sorted(SIGNATURES)
    for name, info in probe["xlfunc"].items():
        assert info["category"] == "xlfuncs"
        for arg in info["args"]:
            assert arg["options"] == {"ndim": 2, "err_to_str": True}, (name, arg)


# ---------------------------------------------------------------- worksheet calls (call_udf)


def value(probe, key):
    return probe["calls"][key]["value"]


def test_numbers_come_back_as_a_1_by_1_array(probe):
    assert value(probe, "clv") == [[700.0]]
    assert value(probe, "clv_periods") == [[420.0]]
    assert value(probe, "arpu") == [[35.0]]
    assert value(probe, "net_mrr") == [[1100.0]]
    assert math.isclose(value(probe, "payback")[0][0], 14.7206904652, rel_tol=1e-10)


def test_omitted_optional_arguments_take_their_defaults(probe):
    # =CLV(100, 0.05, , 0.01): VBA passes the missing margin as DISP_E_PARAMNOTFOUND
    assert math.isclose(value(probe, "clv_skip_margin")[0][0], 1683.3333333333, rel_tol=1e-10)


def test_errors_come_back_as_text(probe):
    # A classic UDF cannot return an Excel error value: the cell shows the text.
    assert value(probe, "clv_div0") == [["#DIV/0!"]]
    assert value(probe, "clv_num") == [["#NUM!"]]
    assert value(probe, "text") == [["#VALUE!"]]
    assert value(probe, "ttfv_blank") == [["#N/A"]]
    # ExcelError is a str: pywin32 hands it to VBA as a String
    assert probe["calls"]["clv_div0"]["types"] == ["ExcelError"]


def test_com_error_codes_in_come_out_unchanged(probe):
    assert value(probe, "clv_error_in") == [["#N/A"]]  # -2146826246
    assert value(probe, "arpu_error_cell") == [["#REF!"]]  # inside an array


def test_array_constants_spill(probe):
    assert value(probe, "clv_spill") == [[700.0], ["#DIV/0!"], ["#N/A"]]
    assert value(probe, "clv_table") == [[700.0, 350.0], [1400.0, 700.0]]
    assert value(probe, "mrr_movements") == [
        [200.0, 50.0, 0.0, 0.0, -50.0, 200.0],
        [0.0, 0.0, 0.0, -100.0, 0.0, -100.0],
        [60.0, 0.0, 80.0, 0.0, -150.0, -10.0],
    ]
    assert value(probe, "health_status") == [["red"], ["yellow"], ["green"]]
    assert value(probe, "segment") == [["potential"]]


def test_billing_tables_spill_from_com_values(probe):
    # COM hands dates over as pywintypes times (the time of day is dropped), text ids as str.
    assert value(probe, "mrr_from_subs") == [
        [100.0, 100.0, 150.0, 50.0, 50.0],  # A and a are one customer
        [0.0, 100.0, 100.0, 100.0, 100.0],
        [30.0, 0.0, 0.0, 0.0, 0.0],
    ]
    assert value(probe, "cohort_revenue")[:2] == [[1.0, 1.0, 1.0, 0.5333333333333333], [1.0, 0.5, 0.5, "#N/A"]]
    alpha, beta = value(probe, "sbg_fit")[0]
    assert math.isclose(alpha, 0.668088, rel_tol=1e-6) and math.isclose(beta, 3.806095, rel_tol=1e-6)
    assert math.isclose(value(probe, "clv_at_end")[0][0], 1583.3333333333, rel_tol=1e-10)


def test_com_dates_are_excel_serials(probe):
    # 2026-01-01 to 2026-02-15 12:00 as pywintypes dates
    assert value(probe, "ttfv_dates") == [[45.5]]
