"""Formula text: find our functions however a file spells them, and spell them for Calc.

Excel stores a call of an add-in function in several ways, depending on what provided the
function when the file was saved:

* ``CLV(B2,C2)``: a VBA function of the workbook, an xlwings UDF, or a file typed by hand;
* ``[1]!CLV(B2,C2)`` or ``'C:\\addins\\xlfuncs.xlam'!CLV(...)``: a function of another
  workbook or add-in, through an external link;
* ``_xll.CLV(...)``: a function of an XLL add-in;
* ``_xldudf_XLFUNCS_CLV(...)``: an Office.js custom function (namespace, then name);
* ``XLFUNCS.CLV(...)``: an Office.js custom function as typed, with its namespace.

LibreOffice resolves none of these to our add-in from an xlsx file (its OOXML import maps
only the full programmatic name of a UNO add-in function), so the copy that LibreOffice
loads spells every call ``ORG.XLFUNCS.ADDIN.CLV(...)``. The original file is never changed.

The same rewrite turns a single-cell reference given directly as an argument into a
one-cell range (``B2`` -> ``B2:B2``): Calc hands an empty cell given as a plain reference
to an add-in as ``0``, but inside a range as empty, and the contract gives an empty cell
its own meaning (an optional argument's default; ``#N/A`` for ``TTFV``'s first_value).
"""

from __future__ import annotations

import html
import re

from .. import registry
from .addin import CALC_PREFIX

NAMES = frozenset(registry.FUNCTIONS)
_BY_LENGTH = sorted(NAMES, key=len, reverse=True)
_NAME_ALTERNATION = "|".join(re.escape(n) for n in _BY_LENGTH)

#: Cheap pre-filter: could this formula call one of our functions at all?
MAYBE_OURS = re.compile(rf"(?i)(?:{_NAME_ALTERNATION})\s*\(")
MAYBE_OURS_BYTES = re.compile(MAYBE_OURS.pattern.encode())

# A call site: optional qualifier, then an identifier, then "(".
_CALL = re.compile(
    r"""(?P<qual>(?:'(?:[^']|'')*'|\[[^\]]*\][^!(),\s]*|[A-Za-z0-9_.\\:~$-]+)!)?"""
    r"""(?P<ident>[A-Za-z_][A-Za-z0-9_.]*)\s*\(""",
    re.X,
)
_SINGLE_REF = re.compile(
    r"""^(?P<sheet>(?:'(?:[^']|'')*'|[A-Za-z_][A-Za-z0-9_.]*)!)?(?P<cell>\$?[A-Za-z]{1,3}\$?[0-9]{1,7})$"""
)
_NAMESPACE = "XLFUNCS"


def our_name(qualifier: str | None, identifier: str) -> str | None:
    """The registry name a call site stands for, or None when it is not one of ours.

    Examples
    --------
    >>> our_name(None, "clv"), our_name("[1]!", "CLV"), our_name(None, "_xll.Payback")
    ('CLV', 'CLV', 'PAYBACK')
    >>> our_name(None, "_xldudf_XLFUNCS_LTV_CAC"), our_name(None, "XLFUNCS.CAC")
    ('LTV_CAC', 'CAC')
    >>> our_name(None, "SUM") is None
    True
    """
    upper = identifier.upper()
    if upper in NAMES:
        return upper
    if qualifier:
        return None  # a qualified name that is not ours as such: some other workbook's
    for prefix in ("_XLL.", _NAMESPACE + ".", _NAMESPACE + "_"):
        if upper.startswith(prefix) and upper[len(prefix) :] in NAMES:
            return upper[len(prefix) :]
    if upper.startswith("_XLDUDF_"):
        rest = upper[len("_XLDUDF_") :]
        # Office.js stores NAMESPACE_NAME; take the longest of our names ending it.
        for name in _BY_LENGTH:
            if rest == name or rest.endswith(("_" + name, "." + name)):
                return name
    return None


def _code_spans(text: str):
    """Yield (start, end, is_code) chunks: string literals and quoted names are not code."""
    i = 0
    n = len(text)
    start = 0
    while i < n:
        ch = text[i]
        if ch == '"' or ch == "'":
            if i > start:
                yield start, i, True
            j = i + 1
            while j < n:
                if text[j] == ch:
                    if j + 1 < n and text[j + 1] == ch:
                        j += 2
                        continue
                    break
                j += 1
            yield i, min(j + 1, n), False
            i = start = min(j + 1, n)
            continue
        i += 1
    if start < n:
        yield start, n, True


def _args_end(text: str, open_paren: int) -> tuple[int, list[tuple[int, int]]]:
    """Position of the matching ")" and the spans of the top-level arguments."""
    depth = 0
    i = open_paren + 1
    n = len(text)
    arg_start = i
    args = []
    while i < n:
        ch = text[i]
        if ch == '"' or ch == "'":
            j = i + 1
            while j < n:
                if text[j] == ch:
                    if j + 1 < n and text[j + 1] == ch:
                        j += 2
                        continue
                    break
                j += 1
            i = j + 1
            continue
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            if depth == 0 and ch == ")":
                args.append((arg_start, i))
                return i, args
            depth -= 1
        elif ch == "," and depth == 0:
            args.append((arg_start, i))
            arg_start = i + 1
        i += 1
    return n, args


def _as_range(arg: str) -> str:
    stripped = arg.strip()
    match = _SINGLE_REF.match(stripped)
    if not match:
        return arg
    lead = arg[: len(arg) - len(arg.lstrip())]
    trail = arg[len(arg.rstrip()) :]
    return f"{lead}{stripped}:{match.group('cell')}{trail}"


def normalise(text: str) -> tuple[str, set[str]]:
    """Spell every call of our functions for Calc.

    Parameters
    ----------
    text : str
        Formula text as stored in the file (no leading ``=``, XML entities decoded).

    Returns
    -------
    (str, set of str)
        The rewritten formula and the registry names it calls.

    Examples
    --------
    >>> normalise("IF(A1>0,[1]!CLV(B2,Sheet2!C$2),\\"CLV(x)\\")")[0]
    'IF(A1>0,ORG.XLFUNCS.ADDIN.CLV(B2:B2,Sheet2!C$2:C$2),"CLV(x)")'
    >>> normalise("ARPU(10500, {280, 320})+SUM(A1)")[0]
    'ORG.XLFUNCS.ADDIN.ARPU(10500, {280, 320})+SUM(A1)'
    """
    if not MAYBE_OURS.search(text):
        return text, set()
    found: set[str] = set()
    out: list[str] = []
    pos = 0
    for start, end, is_code in list(_code_spans(text)):
        start = max(start, pos)
        if not is_code or start >= end:
            continue
        for match in _CALL.finditer(text, start, end):
            if match.start() < pos:
                continue
            name = our_name(match.group("qual"), match.group("ident"))
            if name is None:
                continue
            found.add(name)
            open_paren = match.end() - 1
            close, args = _args_end(text, open_paren)
            inner = text[open_paren + 1 : close]
            # Arguments may themselves call our functions: rewrite them first.
            pieces = []
            for a_start, a_end in args:
                arg_text, inner_found = normalise(text[a_start:a_end])
                found |= inner_found
                pieces.append(_as_range(arg_text))
            inner = ",".join(pieces) if args else inner
            out.append(text[pos : match.start()])
            out.append(f"{CALC_PREFIX}{name}({inner})")
            pos = close + 1
    out.append(text[pos:])
    return "".join(out), found


def normalise_xml(escaped: str) -> tuple[str, set[str]]:
    """:func:`normalise` for formula text as it sits in XML (entities escaped)."""
    if not MAYBE_OURS.search(escaped):
        return escaped, set()
    text, found = normalise(html.unescape(escaped))
    if not found:
        return escaped, found
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"), found
