"""What recalc knows about formulas without evaluating them.

* which functions are **volatile** (Excel recalculates them on every open, so their cells
  and the cells depending on them change without anybody editing the file);
* which built-ins LibreOffice computes **differently from Excel** (a changed value in a
  cell calling one of them is labelled, so users see a known difference, not a mystery);
* which functions a formula calls, and which cells it references.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Functions whose value changes on every recalculation, or that Excel treats as such.
VOLATILE = frozenset({"RAND", "RANDBETWEEN", "RANDARRAY", "NOW", "TODAY", "OFFSET", "INDIRECT", "CELL", "INFO"})


@dataclass(frozen=True)
class Difference:
    function: str
    case: str
    example: str


#: Built-ins LibreOffice 7.4 computes differently from Excel in some cases (measured on
#: workbooks saved by Excel, Excel's cached values as the oracle). The README has the same
#: table; ``test_known_differences_table_matches_readme`` keeps them equal.
KNOWN_DIFFERENCES: tuple[Difference, ...] = (
    Difference(
        "COUNTIF", "criteria over mixed text and numbers", 'COUNTIF(A1:A2,"23") over a number 23 and a text "23"'
    ),
    Difference("COUNTIFS", "criteria over mixed text and numbers", "as COUNTIF"),
    Difference("SUMIF", "criteria over mixed text and numbers", "as COUNTIF"),
    Difference("TEXT", "format codes", 'TEXT(A1,"[h]:mm"), TEXT(A1,"0.0E+0") and other codes'),
    Difference("CONVERT", "unit constants", 'CONVERT(1,"lbm","kg") and other units, in the last digits'),
    Difference("ODDFPRICE", "odd first period", "ODDFPRICE over a short or long first coupon"),
    Difference("ODDFYIELD", "odd first period", "as ODDFPRICE"),
    Difference("LINEST", "collinear or constant x", "LINEST(B1:B9,C1:D9) with C and D proportional"),
    Difference("YEARFRAC", "basis 1 (actual/actual) across years", "YEARFRAC(DATE(2019,6,1),DATE(2021,3,1),1)"),
    Difference("NPV", "text in the value range", "NPV(0.1,A1:A3) with a text cell in A1:A3"),
)
_DIFFERENCES = {d.function: d for d in KNOWN_DIFFERENCES}
#: The functions of :data:`KNOWN_DIFFERENCES`.
DIFFERING = frozenset(_DIFFERENCES)

#: A string literal of a formula (its text is no call).
STRINGS = re.compile(r'"(?:[^"]|"")*"')
_CALLED = re.compile(r"([A-Za-z_][A-Za-z0-9_.]*)\s*\(")
#: Excel's storage prefixes of newer functions (``_xlfn.XLOOKUP``).
PREFIXES = ("_XLFN._XLWS.", "_XLFN.", "_XLWS.", "_XLETA.")


def bare(name: str) -> str:
    """A function name without Excel's storage prefixes, upper case."""
    name = name.upper()
    for prefix in PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def called(text: str) -> set[str]:
    """The functions a formula calls, upper case, without ``_xlfn.`` prefixes."""
    if "(" not in text:
        return set()
    return {bare(n) for n in _CALLED.findall(STRINGS.sub('""', text))}


def is_volatile(text: str) -> bool:
    return bool(called(text) & VOLATILE)


def difference_note(text: str) -> str:
    """The label of a changed cell whose formula uses a known difference, or ""."""
    hits = [_DIFFERENCES[n] for n in sorted(called(text)) if n in _DIFFERENCES]
    if not hits:
        return ""
    return "; ".join(f"LibreOffice differs from Excel for {d.function}: {d.case}" for d in hits)


_REF = re.compile(
    r"(?:(?P<sheet>'(?:[^']|'')+'|[A-Za-z_][A-Za-z0-9_.]*)!)?"
    r"(?<![A-Za-z0-9_.])\$?(?P<c1>[A-Za-z]{1,3})\$?(?P<r1>[0-9]{1,7})"
    r"(?::\$?(?P<c2>[A-Za-z]{1,3})\$?(?P<r2>[0-9]{1,7}))?(?![A-Za-z0-9_(])"
)


def _col(letters: str) -> int:
    col = 0
    for ch in letters.upper():
        col = col * 26 + ord(ch) - 64
    return col - 1


def references(text: str, own_sheet: str) -> list[tuple[str, int, int, int, int]]:
    """Cell and range references of a formula: (sheet, row1, col1, row2, col2), 0-based."""
    out = []
    for match in _REF.finditer(STRINGS.sub('""', text)):
        sheet = match.group("sheet")
        if sheet is None:
            sheet = own_sheet
        elif sheet.startswith("'"):
            sheet = sheet[1:-1].replace("''", "'")
        r1, c1 = int(match.group("r1")) - 1, _col(match.group("c1"))
        if match.group("r2"):
            r2, c2 = int(match.group("r2")) - 1, _col(match.group("c2"))
        else:
            r2, c2 = r1, c1
        out.append((sheet, min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)))
    return out
