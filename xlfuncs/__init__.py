"""xlfuncs: the unit economics of a subscription business as Excel functions.

>>> from xlfuncs import clv, ltv_cac
>>> ltv_cac(clv(35, 0.05), 350)
2.0
"""

from .api import *  # noqa: F401,F403 - the API is generated from the registry
from .api import __all__ as _api_all
from .errors import ExcelError, ExcelErrorValue

__version__ = "0.1.0"
__all__ = [*_api_all, "ExcelError", "ExcelErrorValue"]
