"""xlfuncs: the unit economics of a subscription business as Excel functions.

>>> from xlfuncs import clv, ltv_cac
>>> ltv_cac(clv(35, 0.05), 350)
2.0

The Python API (:mod:`xlfuncs.api`, which needs numpy and the registry) loads on first use
of any of its names, so that ``import xlfuncs`` and the parts that do not compute (the
recalc engine, the command line) start without it.
"""

import importlib
import importlib.util

__version__ = "0.1.0"


def __getattr__(name: str):
    if name.startswith("__") and name != "__all__":
        raise AttributeError(name)
    if importlib.util.find_spec(f"{__name__}.{name}") is not None:
        # A submodule not imported yet: "from . import docs" asks here first, and the
        # import system then loads it (without the API and numpy).
        raise AttributeError(name)
    # import_module, not "from . import api": that would ask this module for "api" first.
    api = importlib.import_module("xlfuncs.api")
    errors = importlib.import_module("xlfuncs.errors")
    exported = {"ExcelError": errors.ExcelError, "ExcelErrorValue": errors.ExcelErrorValue}
    exported.update((n, getattr(api, n)) for n in api.__all__)
    globals().update(exported, __all__=[*api.__all__, "ExcelError", "ExcelErrorValue"])
    try:
        return globals()[name]  # the API, or a submodule that loading it imported
    except KeyError:
        raise AttributeError(f"module 'xlfuncs' has no attribute {name!r}") from None


def __dir__():
    return sorted({*globals(), *__getattr__("__all__")})
