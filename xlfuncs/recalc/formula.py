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
from .lonames import CALC_PREFIX, SPILL_SUFFIX

NAMES = frozenset(registry.FUNCTIONS)
_BY_LENGTH = sorted(NAMES, key=len, reverse=True)
_NAME_ALTERNATION = "|".join(re.escape(n) for n in _BY_LENGTH)

#: Cheap pre-filter: could this formula call one of our functions at all?
MAYBE_OURS = re.compile(rf"(?i)(?:{_NAME_ALTERNATION})\s*\(")
# Every identifier followed by "(": a scan with a literal anchor is much faster than
# the case-insensitive alternation over megabytes of formulas.
_IDENT_CALL = re.compile(r"([A-Za-z_][A-Za-z0-9_.]*)\(")


def spellings(texts) -> set[str]:
    """The spellings of our functions' names called in some formula texts.

    Examples
    --------
    >>> sorted(spellings(["SUM(A1)+clv(A1,B1)", "_xldudf_XLFUNCS_CAC(1,2)"]))
    ['_xldudf_XLFUNCS_CAC', 'clv']
    """
    found = set()
    for text in texts:
        if "(" in text:
            found.update(_IDENT_CALL.findall(text))
    return {name for name in found if our_name(None, name) is not None}


# Backwards, every call starts with a literal "(", which the regex engine finds at memchr
# speed; forwards, the scan would try an identifier at every byte (ten times slower).
_REVERSED_CALL = rb"\(\s*([A-Za-z0-9_.]+)"


_PIECE = 1 << 22


def _between_tags(data: bytes, size: int | None = None):
    """(start, end) of consecutive pieces of ``data``, about ``size`` bytes each, cut just
    before a ``<``: no call (a name, white space and ``(``) is cut, and a piece reversed
    is a few megabytes, not a second copy of a sheet (78 MB at 100,000 rows, the
    client's peak)."""
    size = size or _PIECE
    start = 0
    while start < len(data):
        end = start + size
        if end >= len(data):
            end = len(data)
        else:  # the last "<" of the piece, or the first after it when it has none
            cut = data.rfind(b"<", start + 1, end)
            cut = data.find(b"<", end) if cut < 0 else cut
            end = len(data) if cut < 0 else cut
        yield start, end
        start = end


def called_names(data: bytes) -> set[str]:
    """Every identifier followed by ``(`` anywhere in ``data`` (a sheet part's raw XML).

    A superset of the functions its formulas call (text cells count too), found without
    looking at each formula: one backward pass per distinct name, each skipping the names
    found so far, so a sheet of 800,000 formulas calling six functions costs six passes at
    C speed instead of a Python step per formula.

    Examples
    --------
    >>> sorted(called_names(b"<f>ROUND(A1,2)+_xlfn.XLOOKUP (1,B:B,C:C)</f><f>ROUND(A2)</f>"))
    ['ROUND', '_xlfn.XLOOKUP']
    """
    seen: set[bytes] = set()
    pattern = re.compile(_REVERSED_CALL)
    for start, end in _between_tags(data):
        backwards = data[start:end][::-1]
        position = 0
        while (match := pattern.search(backwards, position)) is not None:
            seen.add(match.group(1))
            position = match.start()
            known = b"|".join(re.escape(n) for n in sorted(seen, key=len, reverse=True))
            pattern = re.compile(rb"\(\s*(?!(?:" + known + rb")(?![A-Za-z0-9_.]))([A-Za-z0-9_.]+)")
    # An identifier starts with a letter or "_": "1A.B(" calls A.B, as the forward scan reads it.
    names = {raw[::-1].decode("latin-1").lstrip("0123456789.") for raw in seen}
    return names - {""}


def spelling_filter(names: set[str]) -> re.Pattern:
    """A regex finding any of ``names`` as a call (exact case, as found by :func:`spellings`)."""
    alternation = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?:{alternation})\s*\(")


# A call site: optional qualifier (another workbook or add-in: ``'[1]'!``, ``[1]!``,
# ``xlfuncs.xlam!``), then an identifier, then "(". The one pattern for a function call,
# used here, by the column groups (:mod:`xlfuncs.recalc.vectorise`) and by the engine's
# check for functions LibreOffice lacks.
QUALIFIER = r"""(?:'(?:[^']|'')*'|\[[^\]]*\][^!(),\s]*|[A-Za-z0-9_.\\:~$-]+)!"""
IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_.]*"
CALL_SITE = re.compile(rf"(?P<qual>{QUALIFIER})?(?P<ident>{IDENTIFIER})\s*\(")
_SINGLE_REF = re.compile(
    r"""^(?P<sheet>(?:'(?:[^']|'')*'|[A-Za-z_][A-Za-z0-9_.]*)!)?(?P<cell>\$?[A-Za-z]{1,3}\$?[0-9]{1,7})$"""
)
_NAMESPACE = "XLFUNCS"


def our_name(qualifier: str | None, identifier: str) -> str | None:
    """The registry name a call site stands for, or None when it is not one of ours.

    ``qualifier`` (``[1]!``, ``'C:\\addins\\xlfuncs.xlam'!``) does not change the answer:
    it only says which workbook or add-in provided the function when the file was saved.

    Examples
    --------
    >>> our_name(None, "clv"), our_name("[1]!", "CLV"), our_name(None, "_xll.Payback")
    ('CLV', 'CLV', 'PAYBACK')
    >>> our_name(None, "_xldudf_XLFUNCS_LTV_CAC"), our_name(None, "XLFUNCS.CAC")
    ('LTV_CAC', 'CAC')
    >>> our_name("[2]!", "_xldudf_CLV"), our_name(None, "_xll.XLFUNCS.NRR")
    ('CLV', 'NRR')
    >>> our_name(None, "SUM") is None, our_name(None, "OTHER.CLV") is None
    (True, True)
    """
    upper = identifier.upper()
    if upper in NAMES:
        return upper
    for prefix in ("_XLL.", "_XLDUDF_"):
        if upper.startswith(prefix):
            rest = upper[len(prefix) :]
            break
    else:
        # Typed with our Office.js namespace; another namespace is another add-in's.
        for prefix in (_NAMESPACE + ".", _NAMESPACE + "_"):
            if upper.startswith(prefix) and upper[len(prefix) :] in NAMES:
                return upper[len(prefix) :]
        return None
    if rest in NAMES:
        return rest
    # NAMESPACE_NAME or NAMESPACE.NAME: the longest of our names ending it.
    for name in _BY_LENGTH:
        if rest.endswith(("_" + name, "." + name)):
            return name
    return None


def _quoted_end(text: str, i: int) -> int:
    """Just past the string literal or quoted sheet name opening at ``text[i]`` (a doubled
    quote inside is an escaped one)."""
    quote, n, j = text[i], len(text), i + 1
    while j < n:
        if text[j] == quote:
            if j + 1 < n and text[j + 1] == quote:
                j += 2
                continue
            break
        j += 1
    return min(j + 1, n)


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
            end = _quoted_end(text, i)
            yield i, end, False
            i = start = end
            continue
        i += 1
    if start < n:
        yield start, n, True


def _qualifier_start(text: str, bang: int) -> int:
    """Where the workbook qualifier ending at ``text[bang] == "!"`` starts."""
    if bang > 0 and text[bang - 1] == "'":
        i = bang - 2
        while i >= 0:
            if text[i] == "'":
                if i > 0 and text[i - 1] == "'":
                    i -= 2
                    continue
                return i
            i -= 1
        return bang
    match = re.search(r"[A-Za-z0-9_.\\:~$\[\]-]+$", text[:bang])
    return match.start() if match else bang


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
            i = _quoted_end(text, i)
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


def needs_range(fn: registry.Function, position: int) -> bool:
    """Whether a single-cell reference given for this argument must reach us as a range.

    Calc hands an empty cell given as a plain reference over as 0, which is the
    contract's meaning for a required number, so those stay plain (a range costs Calc a
    matrix per call). Aggregating functions read a reference like SUM (text in it is
    skipped), optional arguments take their default for an empty cell (unless that
    default is 0), and TTFV's first_value is #N/A when empty: those get ranges.
    """
    if fn.kind == registry.AGGREGATING:
        return True
    if position >= len(fn.args):
        return False
    arg = fn.args[position]
    if arg.blank == registry.BLANK_NA:
        return True
    return arg.optional and arg.default != 0


def _as_range(arg: str) -> str:
    stripped = arg.strip()
    match = _SINGLE_REF.match(stripped)
    if not match:
        return arg
    lead = arg[: len(arg) - len(arg.lstrip())]
    trail = arg[len(arg.rstrip()) :]
    return f"{lead}{stripped}:{match.group('cell')}{trail}"


def normalise(text: str, array: bool = False) -> tuple[str, set[str]]:
    """Spell every call of our functions for Calc.

    Parameters
    ----------
    text : str
        Formula text as stored in the file (no leading ``=``, XML entities decoded).
    array : bool
        The formula is an array formula (Excel's dynamic arrays are stored as such):
        call the variants that return the whole spill.

    Returns
    -------
    (str, set of str)
        The rewritten formula and the registry names it calls.

    Examples
    --------
    >>> normalise("IF(A1>0,[1]!CLV(B2,C2,Sheet2!D$2),\\"CLV(x)\\")")[0]
    'IF(A1>0,ORG.XLFUNCS.ADDIN.CLV(B2,C2,Sheet2!D$2:D$2),"CLV(x)")'
    >>> normalise("ARPU(10500, {280, 320})+SUM(A1)")[0]
    'ORG.XLFUNCS.ADDIN.ARPU(10500, {280, 320})+SUM(A1)'
    >>> normalise("SUM(CLV(A1:A3,0.05))")[0]
    'SUM(ORG.XLFUNCS.ADDIN.CLV_SPILL(A1:A3,0.05))'
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
        for match in CALL_SITE.finditer(text, start, end):
            if match.start() < pos:
                continue
            name = our_name(match.group("qual"), match.group("ident"))
            if name is None:
                continue
            found.add(name)
            fn = registry.FUNCTIONS[name]
            call_start = match.start()
            if match.group("qual") is None and call_start > 0 and text[call_start - 1] == "!":
                call_start = _qualifier_start(text, call_start - 1)  # a quoted 'path'!NAME(
            open_paren = match.end() - 1
            close, args = _args_end(text, open_paren)
            inner = text[open_paren + 1 : close]
            pieces = []
            spill = array or fn.kind == registry.TABLE
            for position, (a_start, a_end) in enumerate(args):
                arg_text = text[a_start:a_end]
                if "(" in arg_text:  # arguments may themselves call our functions
                    arg_text, inner_found = normalise(arg_text, array)
                    found |= inner_found
                if fn.kind == registry.ELEMENTWISE and (":" in arg_text or "{" in arg_text):
                    spill = True  # a range in: an array out, as Excel's dynamic arrays do
                arg_text = _as_range(arg_text) if needs_range(fn, position) else arg_text
                if fn.cells == registry.COHORT_ROWS:
                    # Calc refuses to call an add-in on a range or matrix holding an error
                    # (the cell becomes #VALUE!): the #N/A corners of a cohort table that
                    # SBG_FIT ignores reach it as empty cells instead.
                    arg_text = f'IF(ISNA({arg_text}),"",{arg_text})'
                pieces.append(arg_text)
            inner = ",".join(pieces) if args else inner
            out.append(text[pos:call_start])
            out.append(f"{CALC_PREFIX}{name}{SPILL_SUFFIX if spill else ''}({inner})")
            pos = close + 1
    out.append(text[pos:])
    return "".join(out), found


def normalise_xml(escaped: str, array: bool = False) -> tuple[str, set[str]]:
    """:func:`normalise` for formula text as it sits in XML (entities escaped)."""
    if not MAYBE_OURS.search(escaped):
        return escaped, set()
    text, found = normalise(html.unescape(escaped), array)
    if not found:
        return escaped, found
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"), found
