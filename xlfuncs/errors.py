"""Excel error values: the one representation every layer of xlfuncs shares.

An :class:`ExcelError` *is* its Excel text (``ExcelError.DIV0 == "#DIV/0!"``), so it can be
handed to xlwings, openpyxl or a cell writer unchanged, while its :attr:`ExcelError.code`
(Excel's ``ERROR.TYPE`` number) is what the vectorised code carries in its ``int8`` error
planes. Code ``0`` means "no error".
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


class ExcelError(str, enum.Enum):
    """An Excel error value, numbered as Excel's ``ERROR.TYPE`` numbers it."""

    NULL = "#NULL!"
    DIV0 = "#DIV/0!"
    VALUE = "#VALUE!"
    REF = "#REF!"
    NAME = "#NAME?"
    NUM = "#NUM!"
    NA = "#N/A"
    GETTING_DATA = "#GETTING_DATA"

    @property
    def code(self) -> int:
        """Excel's ``ERROR.TYPE`` number (1 for ``#NULL!`` ... 7 for ``#N/A``)."""
        return _CODES[self]

    @classmethod
    def from_code(cls, code: int) -> ExcelError:
        return _BY_CODE[int(code)]

    @classmethod
    def parse(cls, text: object) -> ExcelError | None:
        """The error a cell text stands for (``"#div/0!"`` -> DIV0), or None."""
        if isinstance(text, ExcelError):
            return text
        if isinstance(text, str) and text[:1] == "#":
            return _BY_TEXT.get(text.strip().upper())
        return None

    def __str__(self) -> str:  # show "#DIV/0!", not "ExcelError.DIV0"
        return self.value

    # Equal to its text, so it must hash like it (Enum hashes the member name): sets and
    # dicts of error texts, as other engines and pandas keep them, then find it.
    def __hash__(self) -> int:
        return str.__hash__(self)


_CODES = {e: i for i, e in enumerate(ExcelError, start=1)}
_BY_CODE = {i: e for e, i in _CODES.items()}
_BY_TEXT = {e.value: e for e in ExcelError}

# Error codes as stored in the int8 error planes of the vectorised code.
OK = 0
NULL = ExcelError.NULL.code
DIV0 = ExcelError.DIV0.code
VALUE = ExcelError.VALUE.code
REF = ExcelError.REF.code
NAME = ExcelError.NAME.code
NUM = ExcelError.NUM.code
NA = ExcelError.NA.code


class ExcelErrorValue(ValueError):
    """Raised by the scalar Python API: carries the Excel error a cell would show."""

    def __init__(
        self, error: ExcelError, function: str, reason: str = "", argument: str | None = None, row: int | None = None
    ):
        self.error = error
        self.function = function
        self.reason = reason
        self.argument = argument  # the argument at fault, where one cell is
        self.row = row  # its 0-based row
        detail = f": {reason}" if reason else ""
        super().__init__(f"{function}() -> {error.value}{detail}")


def first_error(*planes: np.ndarray) -> np.ndarray:
    """Combine error planes left to right: the first non-zero code wins, as in Excel."""
    import numpy as np  # noqa: PLC0415 - the error values themselves need no numpy (recalc starts without it)

    out = np.zeros(np.broadcast_shapes(*(np.shape(p) for p in planes)), dtype=np.int8)
    for plane in planes:
        out = np.where(out == OK, plane, out)
    return out


def nonfinite_as_num(values: np.ndarray, errors: np.ndarray) -> np.ndarray:
    """The error plane with #NUM! wherever a valid cell's number is inf or NaN.

    Overflow (a CLV of 1e308) or an unforeseen 0/0 must never reach a cell as a number.
    """
    import numpy as np  # noqa: PLC0415

    return np.where((errors == OK) & ~np.isfinite(values), NUM, errors).astype(np.int8)
