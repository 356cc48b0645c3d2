"""Runs xlwings' classic (Windows, COM) add-in code against ``xlfuncs.udfs`` on Linux.

Started as a child process by :mod:`test_xlwings_classic`; prints one JSON object. It
needs a process of its own because it puts stand-ins for pywin32 into ``sys.modules`` and
binds the classic decorators to ``xw.func``/``xw.arg`` before ``xlfuncs.udfs`` is imported:
nothing of that may leak into the test session.

What is real and what stands in:

* **Real**: ``xlwings.udfs`` (the classic add-in's Python side) with its decorators
  ``xlfunc``/``xlarg``, ``import_udfs`` and ``generate_vba_wrapper`` (what the add-in's
  *Import Functions* runs), ``call_udf`` (what every worksheet call runs), xlwings'
  conversion pipeline, and the Excel engine's cell cleaning and preparing code
  (``Engine``, ``_clean_value_data_element``, ``cell_errors``, ``is_range_instance``...),
  compiled from the installed ``xlwings/_xlwindows.py`` itself.
* **Stand-ins**, because Linux has no COM: the pywin32 modules ``pythoncom``,
  ``pywintypes``, ``win32com.client`` and ``win32timezone`` (just the names xlwings touches
  on this path); the rest of ``_xlwindows`` (which loads Windows DLLs at import) is replaced
  by a module holding only the definitions above and a ``Range`` without COM behind it; the
  Excel workbook that *Import Functions* works on records what xlwings does to it (the VBA
  module it imports, the ``MacroOptions`` it sets); ``xlwings.com_server`` only provides the
  ``loop`` that ``call_udf`` imports (used for async functions, which xlfuncs has none of).
* On Windows, ``xlwings/__init__.py`` binds ``func = xlwings.udfs.xlfunc`` (and ``arg``,
  ``ret``) when pywin32 is present; here the same binding is made by hand, since on Linux
  xlwings binds do-nothing decorators instead.

Arguments reach ``call_udf`` the way pywin32 hands VBA's ``Array(...)`` over: numbers as
floats, array constants as tuples of tuples, an omitted ``Optional`` argument as the COM
error ``DISP_E_PARAMNOTFOUND`` (-2147352572), error values as their COM codes
(-2146826281 is ``#DIV/0!``), dates as ``pywintypes.TimeType``. A *range* argument is a
COM ``Range`` that ``call_udf`` reads through COM, which cannot happen here: its ``Value``
is the same tuple of tuples, cleaned by the same engine code, so the array-constant calls
stand for it.
"""

from __future__ import annotations

# Constants as pywin32 delivers them.
PARAM_NOT_FOUND = -2147352572  # DISP_E_PARAMNOTFOUND: an omitted Optional Variant
COM_ERRORS = {
    "#DIV/0!": -2146826281,
    "#N/A": -2146826246,
    "#NAME?": -2146826259,
    "#NULL!": -2146826288,
    "#NUM!": -2146826252,
    "#REF!": -2146826265,
    "#VALUE!": -2146826273,
}


def _install_pywin32_stand_ins():
    import datetime as dt
    import sys
    import types

    pythoncom = types.ModuleType("pythoncom")
    pythoncom.CoInitialize = lambda: None  # ThreadPoolExecutor initializer of xlwings.udfs
    pythoncom.IID_IDispatch = "{00020400-0000-0000-C000-000000000046}"

    pywintypes = types.ModuleType("pywintypes")

    class com_error(Exception):  # noqa: N801 - pywin32's name
        pass

    class TimeType(dt.datetime):  # pywin32's datetime for COM dates is a datetime subclass
        pass

    pywintypes.com_error = com_error
    pywintypes.TimeType = TimeType
    pywintypes.IID = str

    def dispatch(*args, **kwargs):
        raise RuntimeError("no COM on this machine: Dispatch() must not be reached")

    win32com = types.ModuleType("win32com")
    win32com.__path__ = []
    client = types.ModuleType("win32com.client")
    client.Dispatch = dispatch
    win32com.client = client

    win32timezone = types.ModuleType("win32timezone")

    class TimeZoneInfo:
        @staticmethod
        def utc():
            return dt.timezone.utc

    win32timezone.TimeZoneInfo = TimeZoneInfo

    for module in (pythoncom, pywintypes, win32com, client, win32timezone):
        sys.modules[module.__name__] = module
    return pywintypes


def _install_excel_engine(pywintypes):
    """``xlwings._xlwindows`` with the real conversion code and no COM behind it."""
    import ast
    import datetime as dt
    import sys
    import types
    from pathlib import Path

    import numpy as np
    import xlwings
    import xlwings.main
    import xlwings.utils

    try:
        import pandas as pd
    except ImportError:
        pd = None

    source_path = Path(xlwings.__file__).with_name("_xlwindows.py")
    tree = ast.parse(source_path.read_text(encoding="utf-8"))
    wanted_defs = {
        "is_range_instance",
        "_com_time_to_datetime",
        "_datetime_to_com_time",
        "_clean_value_data_element",
        "Engine",
    }
    wanted_names = {"cell_errors", "time_types"}
    body = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in wanted_defs:
            body.append(node)
        elif isinstance(node, ast.Assign) and {getattr(t, "id", None) for t in node.targets} & wanted_names:
            body.append(node)
        elif isinstance(node, ast.If) and any(  # `if np: time_types = time_types + (...)`
            isinstance(n, ast.Assign) and {getattr(t, "id", None) for t in n.targets} & wanted_names for n in node.body
        ):
            body.append(node)
    found = {getattr(n, "name", None) for n in body} | {
        t.id for n in ast.walk(ast.Module(body=body, type_ignores=[])) if isinstance(n, ast.Assign) for t in n.targets
    }
    missing = (wanted_defs | wanted_names) - found
    assert not missing, f"not found in {source_path}: {missing}"

    import win32timezone

    module = types.ModuleType("xlwings._xlwindows")
    module.__file__ = str(source_path)
    module.__dict__.update(
        dt=dt,
        np=np,
        pd=pd,
        pywintypes=pywintypes,
        win32timezone=win32timezone,
        np_datetime_to_datetime=xlwings.utils.np_datetime_to_datetime,
        BOOK_CALLER=None,
    )
    exec(compile(ast.Module(body=body, type_ignores=[]), str(source_path), "exec"), module.__dict__)  # noqa: S102

    class Range:
        """The caller cell: ``call_udf`` wraps it, and reads nothing from it for xlfuncs."""

        def __init__(self, xl=None):
            self.xl = xl

    module.Range = Range
    module.engine = module.Engine()
    sys.modules["xlwings._xlwindows"] = module
    xlwings._xlwindows = module
    xlwings.engines.add(xlwings.main.Engine(impl=module.engine))

    com_server = types.ModuleType("xlwings.com_server")
    com_server.loop = None  # only used by async UDFs
    sys.modules["xlwings.com_server"] = com_server


class _Recorder:
    """The add-in workbook, as far as ``import_udfs`` uses it."""

    def __init__(self):
        self.Name = "xlwings.xlam"
        self.vba_modules = []
        self.removed = []
        self.macro_options = []
        recorder = self

        class VBComponents:
            def __call__(self, name):
                return name

            def Remove(self, component):  # noqa: N802 - COM's name
                recorder.removed.append(component)

            def Import(self, path):  # noqa: N802
                with open(path, encoding="utf-8") as f:
                    recorder.vba_modules.append(f.read())

        class VBProject:
            pass

        class Application:
            Version = "16.0"

            def MacroOptions(self, macro, **options):  # noqa: N802
                recorder.macro_options.append({"macro": macro, **options})

        self.VBProject = VBProject()
        self.VBProject.VBComponents = VBComponents()
        self.Application = Application()


def main() -> None:
    import contextlib
    import datetime as dt
    import json
    import os
    import sys

    os.environ.pop("XLWINGS_ON_SERVER", None)
    os.environ.pop("XLWINGS_LICENSE_KEY", None)  # the open-source add-in, no PRO features
    assert "xlwings" not in sys.modules
    pywintypes = _install_pywin32_stand_ins()

    import xlwings
    import xlwings.udfs as classic

    # What xlwings/__init__.py does on Windows when pywin32 is there.
    xlwings.func, xlwings.arg, xlwings.ret = classic.xlfunc, classic.xlarg, classic.xlret
    assert "xlfuncs.udfs" not in sys.modules
    _install_excel_engine(pywintypes)

    out = {"pro": xlwings.__pro__}

    # `Import Functions`. The add-in first looks for embedded code in sheets named *.py
    # of the calling workbook, through COM; a module xlwings has loaded once is served
    # from its cache, so load it once without a workbook.
    classic.get_udf_module("xlfuncs.udfs", None)
    workbook = _Recorder()
    with contextlib.redirect_stdout(sys.stderr):  # it prints "Imported functions from ..."
        classic.import_udfs("xlfuncs.udfs", workbook)
    out["vba_modules"] = workbook.vba_modules
    out["removed"] = workbook.removed
    out["macro_options"] = workbook.macro_options

    import xlfuncs.udfs

    out["xlfunc"] = {
        name: {
            "category": f.__xlfunc__["category"],
            "args": [
                {"name": a["name"], "doc": a["doc"], "options": a["options"], "optional": "optional" in a}
                for a in f.__xlfunc__["args"]
            ],
        }
        for name, f in vars(xlfuncs.udfs).items()
        if hasattr(f, "__xlfunc__")
    }

    # Worksheet calls, through call_udf as the COM server runs them.
    T = pywintypes.TimeType
    calls = {
        "clv": ("CLV", (35.0, 0.05, PARAM_NOT_FOUND, PARAM_NOT_FOUND, PARAM_NOT_FOUND)),
        "clv_periods": ("CLV", (35.0, 0.0, 1.0, 0.0, 12.0)),
        "clv_div0": ("CLV", (35.0, 0.0, PARAM_NOT_FOUND, PARAM_NOT_FOUND, PARAM_NOT_FOUND)),
        "clv_num": ("CLV", (35.0, 1.2, PARAM_NOT_FOUND, PARAM_NOT_FOUND, PARAM_NOT_FOUND)),
        "clv_skip_margin": ("CLV", (100.0, 0.05, PARAM_NOT_FOUND, 0.01, PARAM_NOT_FOUND)),
        "clv_error_in": ("CLV", (COM_ERRORS["#N/A"], 0.05, PARAM_NOT_FOUND, PARAM_NOT_FOUND, PARAM_NOT_FOUND)),
        "clv_spill": ("CLV", (((35.0,), (70.0,), (105.0,)), ((0.05,), (0.0,)), PARAM_NOT_FOUND, PARAM_NOT_FOUND, None)),
        "clv_table": ("CLV", (((35.0,), (70.0,)), ((0.05, 0.1),), PARAM_NOT_FOUND, PARAM_NOT_FOUND, None)),
        "arpu": ("ARPU", (10500.0, ((280.0, 320.0),))),
        "arpu_error_cell": ("ARPU", (((10500.0, COM_ERRORS["#REF!"]),), ((280.0, 320.0),))),
        "payback": ("PAYBACK", (1000.0, 100.0, 1.0, 0.05, 0.01)),
        "net_mrr": ("NET_MRR", (1000.0, 500.0, -200.0, -300.0, 100.0)),
        "mrr_movements": (
            "MRR_MOVEMENTS",
            (((100.0, 150.0, 150.0, 0.0), (0.0, 200.0, 100.0, 100.0), (50.0, 0.0, 0.0, 80.0), (0.0, None, "", 60.0)),),
        ),
        "ttfv_dates": ("TTFV", (T(2026, 1, 1), T(2026, 2, 15, 12))),
        "ttfv_blank": ("TTFV", (46000.0, None)),
        "health_status": ("HEALTH_STATUS", (((40.0,), (60.0,), (75.0,)), PARAM_NOT_FOUND, PARAM_NOT_FOUND)),
        "segment": ("SEGMENT", (100.0, 1000.0, 800.0, 200.0)),
        "text": ("LTV_CAC", ("abc", 500.0)),
        "clv_at_end": ("CLV", (100.0, 0.05, 1.0, 0.01, PARAM_NOT_FOUND, 0.0)),
        "mrr_from_subs": (
            "MRR_FROM_SUBS",
            (
                (("A",), ("B",), ("a",), ("C",)),
                ((T(2024, 1, 1),), (T(2024, 2, 15),), (T(2024, 3, 1),), (T(2024, 1, 20, 9, 30),)),
                ((T(2024, 4, 1),), ("",), (None,), (T(2024, 2, 10),)),
                ((100.0,), (1200.0,), (50.0,), (30.0,)),
                ((1.0,), (12.0,), (1.0,), (1.0,)),
                PARAM_NOT_FOUND,
                5.0,
            ),
        ),
        "cohort_revenue": (
            "COHORT_RETENTION",
            (
                ((100.0, 150.0, 150.0, 0.0), (0.0, 200.0, 100.0, 100.0), (50.0, 0.0, 0.0, 80.0), (0.0, 0.0, 0.0, 60.0)),
                "Revenue",
            ),
        ),
        "sbg_fit": ("SBG_FIT", (((1000.0, 869.0, 743.0, 653.0, 593.0, 551.0, 517.0, 491.0, "#N/A"),),)),
    }
    results = {}
    for key, (name, args) in calls.items():
        value = classic.call_udf("xlfuncs.udfs", name, args)
        results[key] = {"value": value, "types": sorted({type(c).__name__ for row in value for c in row})}
    out["calls"] = results
    json.dump(out, sys.stdout, default=lambda o: o.isoformat() if isinstance(o, dt.datetime) else repr(o))


if __name__ == "__main__":
    main()
