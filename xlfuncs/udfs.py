"""xlwings custom functions: every registry function as an Excel function.

One module for the three xlwings runtimes, written against ``import xlwings as xw``:

* **classic Windows add-in**: ``UDF_MODULES = "xlfuncs.udfs"`` in the xlwings add-in
  settings, then *Import Functions*. Excel has no way for a classic UDF to return a real
  error value, so errors show as the *text* ``#DIV/0!``, ``#NUM!`` ... (``ISERROR`` does not
  see them; ``ISTEXT`` does).
* **xlwings Server** (``XLWINGS_ON_SERVER=true``) and **xlwings Lite** (Office.js custom
  functions, runtime 1.4 and later): errors come back as real Excel errors, because the
  Office.js converter turns the ``"#DIV/0!"`` text into an error value.

Every argument is read as a 2-D range (``ndim=2``) so that a row stays a row and a column
a column for Excel's broadcasting, with ``err_to_str=True`` so that an error cell arrives
as its text (``"#N/A"``) rather than as an empty cell. The adapter does the rest.

The functions are generated from :data:`xlfuncs.registry.FUNCTIONS`; the Excel name of
each is the contract's upper-case name (``=CLV()``, ``=LTV_CAC()``).
"""

from __future__ import annotations

import inspect

import xlwings as xw

from . import adapter, registry

CATEGORY = "xlfuncs"

# The classic add-in (``xw.func`` is ``xlwings.udfs.xlfunc``, bound by xlwings on Windows)
# writes a VBA wrapper whose parameters are the argument names, and ``New`` is a VBA
# keyword: ``Function NET_MRR(new, ...)`` would not compile, and with it none of the
# functions of the generated module. There, and only there, such an argument is renamed
# (so are ``type``, ``end`` and ``scale``, reserved in VBA too); Office.js shows the
# contract's names.
_CLASSIC = getattr(xw.func, "__module__", None) == "xlwings.udfs"
_VBA_RENAMES = {"new": "new_mrr", "type": "pay_type", "end": "end_date", "scale": "scale_max"}

__all__ = []


def _param(arg: registry.Arg) -> str:
    return _VBA_RENAMES.get(arg.name, arg.name) if _CLASSIC else arg.name


def _udf(fn: registry.Function):
    def udf(*args):
        # Office.js hands an omitted or blank trailing argument over as None: the adapter
        # treats None as an empty cell, which for an optional argument is its default.
        return adapter.call(fn.name, *args)

    udf.__signature__ = inspect.Signature(
        [
            inspect.Parameter(
                _param(a),
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                default=None if a.optional else inspect.Parameter.empty,
            )
            for a in fn.args
        ]
    )
    # xlwings names the Excel function after __name__ (upper-cased on Office.js) and
    # shows __doc__ as its description in the function wizard.
    udf.__name__ = udf.__qualname__ = fn.name
    udf.__doc__ = fn.description
    udf.__module__ = __name__
    for arg in reversed(fn.args):
        doc = arg.doc + (f" Optional, default {arg.default_doc}." if arg.optional else "")
        udf = xw.arg(_param(arg), ndim=2, err_to_str=True, doc=doc)(udf)
    return xw.func(category=CATEGORY)(udf)


for _fn in registry.FUNCTIONS.values():
    globals()[_fn.name] = _udf(_fn)
    __all__.append(_fn.name)
del _fn
