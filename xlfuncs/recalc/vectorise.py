"""Column groups: runs of element-wise calls handed to Calc as one array formula.

A column of cells that all call one element-wise function of ours on cells of their own
row (``M2 = CLV(F2, D2, $B$3)``, ``M3 = CLV(F3, D3, $B$3)``, ...) is handed to Calc as ONE
array formula over the column, ``CLV_SPILL(F2:F10001, D2:D10001, $B$3)``: one add-in call
that evaluates the whole column with numpy, instead of one Python call per cell. It is
the same computation (element-wise means exactly "cell by cell") in the same dependency
graph: the array depends on the argument columns, and every formula that reads a cell
of the column depends on the array.

Calc refuses to call an add-in at all when a range argument holds an error cell (the
whole call becomes Err:504), and ERROR.TYPE does not work element by element on the
cells of an array formula. So the error cells of each argument column go in as empty
text and the array formula puts the argument's own error back in those rows
(``IF(ISERROR(F2:F10001), F2:F10001, ...)``): cell by cell, that row's result would
be that error too.
"""

from __future__ import annotations

import bisect
import re
from array import array
from collections import Counter
from collections.abc import Iterator

from .. import registry
from ..xlsx.book import windows
from ..xlsx.cells import MAX_ROW, NO_SPAN, Cell, Sheet, col_name, escape_xml
from .formula import IDENTIFIER, QUALIFIER, needs_range, our_name
from .lonames import CALC_PREFIX, SPILL_SUFFIX

MIN_GROUP = 16  # shorter runs stay ordinary formulas

_VEC_FORMULA = re.compile(rf"""^\s*(?P<qual>{QUALIFIER})?(?P<ident>{IDENTIFIER})\((?P<args>[^()"{{}}']*)\)\s*$""")
_VEC_REF = re.compile(
    r"^(?:(?P<sheet>[A-Za-z_][A-Za-z0-9_.]*)!)?(?P<cabs>\$?)(?P<col>[A-Za-z]{1,3})(?P<rabs>\$?)(?P<row>[0-9]{1,7})$"
)
_NUMBER = re.compile(r"^[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$")


def vector_key(text: str, row: int) -> tuple[tuple, str, str] | None:
    """What makes formulas of one column vectorisable together, or None: ``(key, head,
    tail)``, with the text before and after the arguments (see :func:`_renderer`).

    ``row`` is the cell's 1-based row. The key holds the function and, per argument, a
    number, an omission, or a reference with its row made relative to the cell's own row
    (unless the row is absolute): two cells with equal keys compute the same thing on
    their own rows.

    Examples
    --------
    >>> vector_key("CLV(F2,D2,Assumptions!$B$3)", 2)[0] == vector_key("CLV(F3,D3,Assumptions!$B$3)", 3)[0]
    True
    >>> vector_key("CLV(F2,D2)+1", 2) is None, vector_key("ARPU(A2,B2)", 2) is None
    (True, True)
    """
    match = _VEC_FORMULA.match(text)
    if not match:
        return None
    name = our_name(match.group("qual"), match.group("ident"))
    if name is None or registry.FUNCTIONS[name].kind != registry.ELEMENTWISE:
        return None
    parts = [a.strip() for a in match.group("args").split(",")]
    if len(parts) > len(registry.FUNCTIONS[name].args):
        return None
    args = []
    relative = False
    for part in parts:
        if part == "":
            args.append(("omitted",))
        elif _NUMBER.match(part):
            args.append(("number", part))
        else:
            ref = _VEC_REF.match(part)
            if not ref:
                return None
            sheet, col = ref.group("sheet"), ref.group("cabs") + ref.group("col").upper()
            if ref.group("rabs"):
                args.append(("fixed", sheet, col, "$" + ref.group("row")))
            else:
                args.append(("row", sheet, col, int(ref.group("row")) - row))
                relative = True
    if not relative:
        return None
    return (name, tuple(args)), text[: match.start("args")], text[match.end("args") :]


def _renderer(key: tuple, head: str, tail: str):
    """The formula text a cell has when its key is ``key`` and its text around the
    arguments is ``head``/``tail``, arguments written without spaces, as a function of its
    1-based row; the function gives None when a reference would leave the sheet.

    A cell whose text is this has this key (:func:`vector_key` of the text gives it back),
    so a column of 100,000 such cells is parsed once and compared 99,999 times: the text
    is made once as a format string, and each row only fills in its references' rows.

    Examples
    --------
    >>> key, head, tail = vector_key("CLV(F2,D2,Assumptions!$B$3)", 2)
    >>> render = _renderer(key, head, tail)
    >>> render(3), render(1_048_577)
    ('CLV(F3,D3,Assumptions!$B$3)', None)
    """

    def literal(text: str) -> str:
        return text.replace("{", "{{").replace("}", "}}")

    offsets = [arg[3] for arg in key[1] if arg[0] == "row"]  # vector_key: at least one
    pieces = [
        literal(f"{arg[1]}!{arg[2]}" if arg[1] else arg[2]) + "{}" if arg[0] == "row" else literal(_argument(arg, 0, 0))
        for arg in key[1]
    ]
    fill = (literal(head) + ",".join(pieces) + literal(tail)).format
    lowest, highest = 1 - min(offsets), MAX_ROW - max(offsets)

    def render(row: int) -> str | None:
        return fill(*[row + offset for offset in offsets]) if lowest <= row <= highest else None

    return render


def _argument(arg: tuple, first: int, last: int) -> str:
    """One argument of a key as formula text, for 1-based rows ``first``..``last``: a
    row-relative reference becomes a range (one cell when ``first == last``)."""
    if arg[0] == "omitted":
        return ""
    if arg[0] == "number":
        return arg[1]
    sheet = f"{arg[1]}!" if arg[1] else ""
    if arg[0] == "fixed":
        return f"{sheet}{arg[2]}{arg[3]}"
    top, bottom = first + arg[3], last + arg[3]
    return f"{sheet}{arg[2]}{top}" if first == last else f"{sheet}{arg[2]}{top}:{arg[2]}{bottom}"


def vector_formula(key: tuple, first: int, last: int) -> str:
    """The array formula of a column group spanning 1-based rows ``first``..``last``."""
    name, args = key
    fn = registry.FUNCTIONS[name]
    texts = []
    for position, arg in enumerate(args):
        text = _argument(arg, first, last)
        if arg[0] == "fixed" and needs_range(fn, position):
            text = f"{text}:{arg[2]}{arg[3]}"
        texts.append(text)
    ranges = [t for t in texts if ":" in t]
    call = ",".join(f'IF(ISERROR({t}),"",{t})' if ":" in t else t for t in texts)
    formula = f"{CALC_PREFIX}{name}{SPILL_SUFFIX}({call})"
    # An error cell in an argument column is that row's result, as cell by cell; the
    # leftmost argument's error wins (the adapter's rule).
    for ref in reversed(ranges):
        formula = f"IF(ISERROR({ref}),{ref},{formula})"
    return formula


def overlaps(key: tuple, sheet: str, col: str, first: int, last: int) -> bool:
    """Whether a group's own cells are among its arguments (a circular reference)."""
    for arg in key[1]:
        if arg[0] not in ("row", "fixed") or (arg[1] and arg[1] != sheet):
            continue
        if arg[2].lstrip("$").upper() != col:
            continue
        if arg[0] == "row" and first + arg[3] <= last and last + arg[3] >= first:
            return True
        if arg[0] == "fixed" and first <= int(arg[3].lstrip("$")) <= last:
            return True
    return False


def _calling(sheet: Sheet, hit: re.Pattern) -> Iterator[Cell]:
    """The formula cells that may call one of ``hit``'s names, in document order: found
    from the matches in the raw XML, so the other cells (most of a workbook) are never
    looked at one by one. A shared formula's followers hold no text: they count when
    their master's text matches. A sheet not scanned yet must be one the fast pattern
    reads whole (see :func:`xlfuncs.recalc.engine._can_overlap`): a match's cell is the
    ``<c>`` it lies in. The cells are made as they are asked for and not kept
    (:meth:`~xlfuncs.xlsx.cells.Sheet.cell` with ``keep`` False)."""
    pattern = re.compile(hit.pattern.encode("utf-8"))
    if not sheet.scanned:
        assert sheet.cell_at is not None
        # The matches come in document order, so a cell's are one after the other. A
        # sheet not held streams by pieces that cut no cell (see xlfuncs.xlsx.book.windows).
        for base, data in windows(sheet):
            last = -1
            for match in pattern.finditer(data):
                start = data.rfind(b"<c ", 0, match.start())
                if start >= 0 and start != last:
                    cell = sheet.cell_at(start + base, data, base)
                    if cell is not None and match.start() + base < cell.end:
                        last = start
                        yield cell
        return
    table = sheet.table
    starts, ends = table.starts, table.ends
    real = starts.index(NO_SPAN) if NO_SPAN in starts else len(starts)  # array members last
    indices = set()
    for base, data in windows(sheet):
        for match in pattern.finditer(data):
            at = match.start() + base
            i = bisect.bisect_right(starts, at, 0, real) - 1
            if i >= 0 and at < ends[i]:
                indices.add(i)
    masters = {table.shared_ids[si] for si, text in sheet.shared_masters.items() if hit.search(text)}
    if masters:
        indices.update(i for i, si in table.shared.items() if si in masters)
    if not sheet.released:
        for i in sorted(indices):
            yield sheet.cell(i, keep=False)
        return
    # A sheet not held: its cells from a second pass (a shared formula's followers may
    # come before their master).
    wanted = iter(sorted(indices))
    i = next(wanted, None)
    for base, data in windows(sheet):
        while i is not None and ends[i] <= base + len(data):
            yield sheet.cell_at(starts[i], data, base)
            i = next(wanted, None)


class _Found:
    """The cells that may join a column group, as columns: an object, or even a tuple, per
    cell cost about 190 bytes, and a group may hold a million cells (the peak of making
    LibreOffice's copy was these and their replacements, 36 MB at 100,000 rows)."""

    __slots__ = ("cols", "rows", "starts", "ends", "key_of", "keys", "_numbers", "shared")

    def __init__(self):
        self.cols, self.rows = array("i"), array("i")
        self.starts, self.ends = array("i"), array("i")  # the byte span of the <c> element
        self.key_of = array("i")  # its formula's vector_key, as a number in keys
        self.keys: list[tuple] = []
        self._numbers: dict[tuple, int] = {}
        self.shared: dict[int, str] = {}  # cell number -> shared_index, for those that have one

    def add(self, cell: Cell, key: tuple) -> None:
        number = self._numbers.get(key)
        if number is None:
            number = self._numbers[key] = len(self.keys)
            self.keys.append(key)
        self.key_of.append(number)
        if cell.shared_index is not None:
            self.shared[len(self.cols)] = cell.shared_index
        self.cols.append(cell.col)
        self.rows.append(cell.row)
        self.starts.append(cell.start)
        self.ends.append(cell.end)


def vector_groups(sheet: Sheet, hit: re.Pattern) -> tuple[_Found, list[tuple[tuple, array]]]:
    """Runs of cells down a column that one vectorised array formula can compute: the
    cells found, and per run its key and its cells' numbers among them (top to bottom).

    See :func:`vector_key`. A shared formula joins a run only
    with every cell that shares it; array formulas never do.
    """
    found = _Found()
    # Per column, the last key and its renderer: the next cell down is mostly the same
    # formula one row further (see _renderer).
    last: dict[int, tuple] = {}
    for cell in _calling(sheet, hit):
        if b"array" in cell.f_xml or not cell.f_xml:
            continue
        if cell.shared_index is None:
            text, row = cell.formula, cell.row
        else:
            origin = sheet.shared_origins.get(cell.shared_index)
            if origin is None or origin[1] != cell.col:
                continue
            text, row = sheet.shared_masters[cell.shared_index], origin[0]
        if not text or not hit.search(text):
            continue
        before = last.get(cell.col)
        if before is not None and before[1](row + 1) == text:
            key = before[0]
        else:
            parsed = vector_key(text, row + 1)
            if parsed is None:
                continue
            key = parsed[0]
            last[cell.col] = (key, _renderer(*parsed))
        found.add(cell, key)
    by_shared = Counter(sheet.table.shared.values()) if found.shared else {}
    cols, rows, key_of = found.cols, found.rows, found.key_of
    # Down each column: the cells come in document order (row by row), so a sheet with one
    # such column is in that order already, and needs no list to sort.
    order = array("i", range(len(cols)))
    if any(cols[i] > cols[i + 1] or (cols[i] == cols[i + 1] and rows[i] >= rows[i + 1]) for i in range(len(cols) - 1)):
        order = array("i", sorted(order, key=lambda i: (cols[i], rows[i])))
    groups = []

    def close(run: array) -> None:
        if len(run) < MIN_GROUP:
            return
        key = found.keys[key_of[run[0]]]
        first, last = rows[run[0]] + 1, rows[run[-1]] + 1
        if overlaps(key, sheet.name, col_name(cols[run[0]]), first, last):
            return
        shared: dict[str, int] = {}
        for i in run if found.shared else ():
            si = found.shared.get(i)
            if si is not None:
                shared[si] = shared.get(si, 0) + 1
        if any(by_shared[sheet.table.shared_ids[si]] != count for si, count in shared.items()):
            return
        groups.append((key, run))

    run = array("i")
    for i in order:
        if run and (cols[i] != cols[run[-1]] or rows[i] != rows[run[-1]] + 1 or key_of[i] != key_of[run[-1]]):
            close(run)
            run = array("i")
        run.append(i)
    close(run)
    return found, groups


def group_replacements(sheet: Sheet, hit: re.Pattern, constants) -> list[Iterator[tuple[int, int, bytes]]]:
    """Every column group of the sheet as one array formula: per group, (start, end, new
    XML) of each of its cells' ``<c>`` elements, top to bottom (so in document order),
    made as they are read (a replacement a cell would be a tuple and its bytes each).

    Groups holding a cell of ``constants`` ((part, row, col) kept as constants) are left out.
    """
    found, groups = vector_groups(sheet, hit)
    cols, rows = found.cols, found.rows
    return [
        _group_spans(sheet.prefix, found, key, run)
        for key, run in groups
        if not constants or not any((sheet.part, rows[i], cols[i]) in constants for i in run)
    ]


def _group_spans(p: bytes, found: _Found, key: tuple, run: array) -> Iterator[tuple[int, int, bytes]]:
    starts, ends, rows = found.starts, found.ends, found.rows
    first, last = run[0], run[-1]
    column = col_name(found.cols[first])
    top = f"{column}{rows[first] + 1}".encode()
    ref = top + f":{column}{rows[last] + 1}".encode()
    text = escape_xml(vector_formula(key, rows[first] + 1, rows[last] + 1))
    anchor = b"<" + p + b'c r="' + top + b'"><' + p + b'f t="array" ref="' + ref + b'">'
    yield starts[first], ends[first], anchor + text + b"</" + p + b"f></" + p + b"c>"
    empty = b"<" + p + b'c r="' + column.encode()
    for i in run[1:]:
        yield starts[i], ends[i], b'%s%d"/>' % (empty, rows[i] + 1)
