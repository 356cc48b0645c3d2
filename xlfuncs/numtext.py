"""One way to write a number as text, for formulas and for cells' cached values."""

from __future__ import annotations


def number_text(value: float) -> str:
    """A number as formula text or a cell's ``<v>``: exact, and as short as Excel writes it.

    Excel keeps 15 significant digits, so an integer below 1e15 is written as one (``700``,
    not ``700.0``); any other number as the shortest text that reads back as the same
    float (``0.30000000000000004``, ``1e+16``).

    Examples
    --------
    >>> number_text(700.0), number_text(-3), number_text(0.1 + 0.2), number_text(1e16)
    ('700', '-3', '0.30000000000000004', '1e+16')
    """
    value = float(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)
