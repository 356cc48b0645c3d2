"""Cells of a worksheet part: references, values, texts, and the XML of one ``<c>``.

A worksheet is never re-serialised: a cell's ``<c>`` element is found by its byte offsets
(:class:`Cell` ``start``/``end``) and a new element is spliced in its place
(:class:`~xlfuncs.xlsx.package.Patch`, :func:`insert_cells`). Texts are read and written as Excel does
(:func:`decode_text`, :func:`encode_text`); numbers as :func:`xlfuncs.numtext.number_text`.
"""

from __future__ import annotations

import html
import re
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import ExcelError
from ..numtext import number_text
from .package import BadWorkbook, Streamed

Value = float | str | bool | ExcelError  # or OtherError, a str
#: Byte strings whose presence in a streamed sheet is noted as it is read (Sheet.marks).
MARKERS = (b't="array"', b"t='array'", b"shared", b"<f>", b"<f ", b"cfRule")
_MARKED = frozenset(MARKERS)


@dataclass(slots=True)
class Cell:
    """One formula cell (or one cell of an array formula's range) of a worksheet."""

    ref: str
    row: int  # 0-based
    col: int  # 0-based
    start: int  # byte span of the whole <c> element in the sheet part
    end: int
    attrs: bytes  # the start tag's attribute text
    f_xml: bytes  # the <f> element, verbatim (empty for array members)
    ext_xml: bytes  # an <extLst> child, verbatim (usually empty)
    t: str
    old: Value | None  # the cached value, None when there is none
    formula: str | None = None  # the formula text (unescaped); None for followers/members
    shared_index: str | None = None
    virtual: bool = False  # a cell of an array formula's range missing from the XML
    index: int = -1  # its position in the sheet's :class:`Table`


NO_SPAN = -1

#: Excel's last row and last column (XFD): a sheet's cells lie within them.
MAX_ROW, MAX_COL = 1_048_576, 16_384


@dataclass
class Table:
    """The formula cells of a sheet as columns: what a workbook of a million formulas needs
    of each (where it is, and its cached value) without an object per cell.

    Row ``i`` of every column is the sheet's ``i``-th formula cell in document order (cells
    of array ranges that the XML leaves out come last); :meth:`Sheet.cell` gives the whole
    :class:`Cell` when one is needed.
    """

    # 32-bit columns: Excel's rows and columns fit, and so does a byte offset in a part
    # (at most 1 GB, xlfuncs.xlsx.package.MAX_PART_BYTES): 32 bytes a cell, not 56.
    rows: array = field(default_factory=lambda: array("i"))  # 0-based
    cols: array = field(default_factory=lambda: array("i"))  # 0-based
    starts: array = field(default_factory=lambda: array("i"))  # byte span of the <c> element
    ends: array = field(default_factory=lambda: array("i"))
    #: The cached value where it is a number (0 where :attr:`others` holds it).
    numbers: array = field(default_factory=lambda: array("d"))
    #: Index -> the cached value that is not a number (text, logical, error) or None (none).
    others: dict[int, Value | None] = field(default_factory=dict)
    #: Index -> its shared formula, as a number of :attr:`shared_ids`, for the cells that
    #: have one (most sheets have none: no column for them).
    shared: dict[int, int] = field(default_factory=dict)
    #: A shared formula's ``si`` -> its number in :attr:`shared`.
    shared_ids: dict[str, int] = field(default_factory=dict)

    def shared_id(self, si: str) -> int:
        ids = self.shared_ids
        if si not in ids:
            ids[si] = len(ids)
        return ids[si]

    def __len__(self) -> int:
        return len(self.rows)

    def forget_values(self) -> None:
        """Let the cached values go (8 bytes a cell and more): what a patch made as the
        sheet streams past needs of the table is where its cells are."""
        self.numbers, self.others = array("d"), {}

    def old(self, i: int) -> Value | None:
        """The cached value of cell ``i``."""
        others = self.others
        return others[i] if i in others else self.numbers[i]

    @classmethod
    def of(cls, cells: list[Cell]) -> Table:
        """The table of cells already made (the general scanner's, resized arrays)."""
        table = cls()
        for i, cell in enumerate(cells):
            cell.index = i
            table.rows.append(cell.row)
            table.cols.append(cell.col)
            table.starts.append(cell.start)
            table.ends.append(cell.end)
            if cell.shared_index is not None:
                table.shared[i] = table.shared_id(cell.shared_index)
            if type(cell.old) is float:
                table.numbers.append(cell.old)
            else:
                table.numbers.append(0.0)
                table.others[i] = cell.old
        return table


class Updates:
    """The new values of a sheet's formula cells: (cell, value) pairs, in the order added.

    A list of them, except that a pair of a table index and a float (most changed cells)
    is kept as two array items, 16 bytes, instead of a tuple and a float object (about 90
    bytes): a recalculation may change a million cells, and the pairs live until the
    patched file is checked. Iterating gives the pairs back, the floats bit for bit.

    Examples
    --------
    >>> updates = Updates([(3, 1.5), (4, "text")])
    >>> updates.append((7, -0.0))
    >>> list(updates), len(updates)
    ([(3, 1.5), (4, 'text'), (7, -0.0)], 3)
    """

    __slots__ = ("_keys", "_numbers", "_others")

    def __init__(self, pairs=()):
        #: Per pair, its table index, or -1 - its place in _others for any other pair.
        self._keys = array("q")
        self._numbers = array("d")
        self._others: list[tuple] = []
        for pair in pairs:
            self.append(pair)

    def append(self, pair: tuple) -> None:
        cell, value = pair
        if type(cell) is int and cell >= 0 and type(value) is float:
            self._keys.append(cell)
            self._numbers.append(value)
        else:
            self._keys.append(-1 - len(self._others))
            self._numbers.append(0.0)
            self._others.append(pair)

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self):
        if not self._others:  # pairs made at C speed: this runs over every changed cell
            return zip(self._keys, self._numbers)
        return self._mixed()

    def _mixed(self):
        others = self._others
        for key, number in zip(self._keys, self._numbers):
            yield (key, number) if key >= 0 else others[-1 - key]


@dataclass
class Sheet:
    name: str
    part: str
    data: bytes
    prefix: bytes
    #: The formula cells, as columns (see :meth:`cell` and :attr:`cells` for objects).
    table: Table = field(default_factory=Table)
    #: Makes cell ``i`` from the XML (set by a scanner that builds only the table).
    make_cell: Callable[[int], Cell] | None = None
    #: The formula cell whose ``<c>`` starts at a byte offset (None: not one the fast
    #: pattern reads), usable before the sheet is scanned.
    cell_at: Callable[[int], Cell | None] | None = None
    #: Whether the :attr:`table` has been made (see :class:`xlfuncs.xlsx.XlsxFile` ``scan``).
    scanned: bool = False
    _cells: list[Cell] | None = None
    _made: dict[int, Cell] = field(default_factory=dict)
    shared_masters: dict[str, str] = field(default_factory=dict)
    shared_origins: dict[str, tuple[int, int]] = field(default_factory=dict)  # si -> (row, col)
    #: Array formulas: anchor (row, col) -> (row1, col1, row2, col2) of their range.
    arrays: dict[tuple[int, int], tuple[int, int, int, int]] = field(default_factory=dict)
    #: Anchors of Excel 365 dynamic arrays (``cm`` pointing at XLDAPR metadata).
    dynamic: set[tuple[int, int]] = field(default_factory=set)
    #: Cells holding something (a value or a formula), when the sheet has dynamic arrays.
    occupied: set[tuple[int, int]] = field(default_factory=set)
    #: Resized dynamic arrays: anchor -> (old <f> XML, new <f> XML).
    resized: dict[tuple[int, int], tuple[bytes, bytes]] = field(default_factory=dict)
    #: Cells a resized dynamic array no longer covers (their values go).
    cleared: list[Cell] = field(default_factory=list)
    #: Anchors of dynamic arrays blocked by a cell in their way (``#SPILL!``).
    blocked: set[tuple[int, int]] = field(default_factory=set)
    #: Where :attr:`data` comes from once :meth:`release` let it go (None: held).
    streamed: Streamed | None = None
    #: Which of :data:`MARKERS` a sheet read without being held holds.
    marks: frozenset[bytes] | None = None

    def contains(self, marker: bytes) -> bool:
        """Whether ``marker`` is in the XML (a noted marker: without reading it again)."""
        if self.marks is not None and self.released and marker in _MARKED:
            return marker in self.marks
        return marker in self.data

    def release(self, streamed: Streamed) -> None:
        """Stop holding the sheet's XML: a pass over it streams it from ``streamed``, and
        :attr:`data`, if still asked for, reads it whole again."""
        self.streamed = streamed
        self._held = None

    @property
    def released(self) -> bool:
        return self._held is None

    @property
    def cells(self) -> list[Cell]:
        """Every formula cell as a :class:`Cell` (made on first use: a scanner builds the
        :attr:`table`; code that walks every cell pays for the objects)."""
        if self._cells is None:
            self._cells = [self.cell(i) for i in range(len(self.table))]
            self._made.clear()
        return self._cells

    @cells.setter
    def cells(self, cells: list[Cell]) -> None:
        self._cells = cells
        self._made.clear()

    def cell(self, i: int, keep: bool = True) -> Cell:
        """Formula cell ``i`` of the :attr:`table`; with ``keep`` False one that has to be
        made is not kept: for a pass over many cells that needs each only for a moment
        (a column of 100,000 calls kept as objects was 45 MB for the rest of a
        recalculation)."""
        if self._cells is not None:
            return self._cells[i]
        made = self._made.get(i)
        if made is None:
            assert self.make_cell is not None
            made = self.make_cell(i)
            if keep:
                self._made[i] = made
        return made

    def retable(self) -> None:
        """Rebuild the :attr:`table` from :attr:`cells` (after a scanner or a resize made them)."""
        self.table = Table.of(self.cells)

    def formula_of(self, cell: Cell) -> str:
        """The formula text of a cell (a shared formula's master text for its followers)."""
        if cell.formula:
            return cell.formula
        if cell.shared_index is not None:
            return self.shared_masters.get(cell.shared_index, "")
        return ""


def _sheet_data(sheet: Sheet) -> bytes:
    if sheet._held is None:
        sheet._held = sheet.streamed.read()
    return sheet._held


def _hold_data(sheet: Sheet, data: bytes) -> None:
    sheet._held = data


# A property set on the class once the dataclass is made: its __init__ stores ``data``
# through the setter, and code reading ``sheet.data`` needs no idea of release().
Sheet.data = property(_sheet_data, _hold_data, doc="The worksheet part's XML (read again after release()).")


def col_name(col: int) -> str:
    """0-based column index -> letters (0 -> "A", 26 -> "AA")."""
    name = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        name = chr(65 + rem) + name
    return name


_REF = re.compile(rb"([A-Za-z]{1,3})([0-9]+)")


def parse_ref(ref: bytes) -> tuple[int, int]:
    match = _REF.fullmatch(ref.replace(b"$", b""))
    if not match:
        raise ValueError(ref)
    letters, digits = match.groups()
    col = 0
    for ch in letters.upper():
        col = col * 26 + (ch - 64)
    return int(digits) - 1, col - 1


def parse_range(ref: bytes) -> tuple[int, int, int, int]:
    first, _, last = ref.partition(b":")
    r1, c1 = parse_ref(first)
    r2, c2 = parse_ref(last) if last else (r1, c1)
    return min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)


_ATTR = re.compile(rb"""([A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?)\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def attr_map(text: bytes) -> dict[bytes, bytes]:
    return {m.group(1): (m.group(2) if m.group(2) is not None else m.group(3)) for m in _ATTR.finditer(text)}


FAST_CELL = re.compile(rb'<c( r="([A-Z]{1,3})([0-9]{1,7})"[^>]*)>(<f\b([^>]*?)(?:/>|>([^<]*)</f>))(.*?)</c>', re.S)
T_ATTR_WITH_SPACE = re.compile(rb"""\s+t\s*=\s*(?:"[^"]*"|'[^']*')""")
T_ATTR = re.compile(rb"""\bt\s*=\s*["']([A-Za-z]+)["']""")


def ext_list(children: bytes, prefix: bytes) -> bytes:
    if b"extLst" not in children:
        return b""
    p = re.escape(prefix)
    match = re.search(rb"<" + p + rb"extLst\b.*?</" + p + rb"extLst>", children, re.S)
    return match.group(0) if match else b""


def unescape_xml(raw: bytes) -> str:
    return html.unescape(raw.decode("utf-8"))


def escape_xml(text: str) -> bytes:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").encode("utf-8")


# Excel's escapes for characters XML cannot hold (ST_Xstring): ``_x0001_`` is U+0001, and a
# literal "_x0041_" in a text is stored as "_x005F_x0041_" (the underscore escaped).
X_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_X_NEEDS = re.compile(r"[\x00-\x08\x0b-\x1f\ufffe\uffff]|_(?=x[0-9A-Fa-f]{4}_)")
#: The longest text a cell can hold in Excel.
MAX_TEXT = 32_767


def decode_text(raw: bytes) -> str:
    """A string value as stored in sheet or shared-strings XML, as Excel reads it."""
    text = unescape_xml(raw)
    if "_x" in text:
        text = X_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    return text


def encode_text(text: str) -> bytes:
    """A string value as Excel writes it: XML-escaped, control characters as ``_xHHHH_``."""
    text = _X_NEEDS.sub(lambda m: f"_x{ord(m.group(0)):04X}_", text)
    return escape_xml(text)


class OtherError(str):
    """An error value outside :class:`ExcelError` (``#SPILL!``, ``#CALC!``...), as its text."""

    __slots__ = ()


SPILL = OtherError("#SPILL!")


#: Two engines summing in another order disagree in the last digits Excel keeps (15
#: significant ones); a difference below this relative size is such noise, not a change.
NOISE = 5e-14


def same_value(old: Value | None, new: Value) -> bool:
    """Whether a cached value already holds the recalculated one, as Excel would see it.

    Numbers are equal when they agree to Excel's precision (15 significant digits, with
    the noise of another summation order, :data:`NOISE`, forgiven); texts are equal when
    they differ only in CR LF against LF line ends.
    """
    if type(old) is float and type(new) is float:  # most cells: first, without the checks below
        if old == new:
            return True
        diff = abs(old - new)
        if diff <= NOISE * max(abs(old), abs(new)):
            return True
        # Two finite numbers alike at 15 digits differ by 1e-14 of their size at most, well
        # within NOISE: only NaN and infinities are left to compare as Excel shows them.
        return diff - diff != 0.0 and f"{old:.15g}" == f"{new:.15g}"
    if old is None:
        return False
    if isinstance(old, bool) or isinstance(new, bool):
        return isinstance(old, bool) and isinstance(new, bool) and old == new
    if isinstance(old, (ExcelError, OtherError)) or isinstance(new, (ExcelError, OtherError)):
        return isinstance(old, (ExcelError, OtherError)) and isinstance(new, (ExcelError, OtherError)) and old == new
    if isinstance(old, float) and isinstance(new, float):
        if old == new or f"{old:.15g}" == f"{new:.15g}":
            return True
        return abs(old - new) <= NOISE * max(abs(old), abs(new))
    if isinstance(old, str) and isinstance(new, str):
        return old == new or old.replace("\r\n", "\n") == new.replace("\r\n", "\n")
    return False


def show(value: Value | None) -> str:
    """A value as the --check report prints it."""
    if type(value) is float:
        return f"{value:.15g}"
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, ExcelError):
        return value.value
    if isinstance(value, OtherError):
        return str.__str__(value)
    if isinstance(value, float):
        return f"{value:.15g}"
    if len(value) > 80:
        return repr(value[:77]) + "..."
    return repr(value)


def empty_cell_xml(prefix: bytes, cell: Cell) -> bytes:
    """A cell without value or formula, keeping its reference and style."""
    attrs = attr_map(cell.attrs)
    keep = b"".join(b" " + k + b'="' + attrs[k] + b'"' for k in (b"r", b"s") if k in attrs)
    return b"<" + prefix + b"c" + keep + b"/>"


def identical(read: Value | None, meant: Value | None) -> bool:
    """A value read back from what was written is the one meant (numbers as written)."""
    if type(meant) is float and type(read) is float and read == meant:
        return True  # equal floats are written alike (and -0.0 as 0, like 0.0)
    if isinstance(meant, (int, float)) and not isinstance(meant, bool) and isinstance(read, float):
        return number_text(float(meant)) == number_text(read)
    if type(meant) is not type(read) and not (isinstance(meant, str) and isinstance(read, str)):
        return False
    return read == meant


_ROW_TAG = re.compile(rb"<(\w+:)?row\b([^>]*?)(/?)>")
_SHEET_DATA_END = re.compile(rb"</(\w+:)?sheetData>|<(\w+:)?sheetData\s*/>")
_CELL_REF = re.compile(rb"<(?:\w+:)?c\b[^>]*?\br\s*=\s*[\"']([A-Za-z]{1,3})[0-9]+[\"']")


def insert_cells(data: bytes, prefix: bytes, cells: dict[tuple[int, int], bytes]) -> bytes:
    """``data`` (a sheet part) with new ``<c>`` elements inserted at their row and column.

    Rows that do not exist are created in order; existing cells are not touched.
    """
    by_row: dict[int, list[tuple[int, bytes]]] = {}
    for (row, col), xml in cells.items():
        by_row.setdefault(row, []).append((col, xml))
    pending = sorted(by_row)
    pieces: list[bytes] = []
    pos = 0

    def new_row(row: int) -> bytes:
        inner = b"".join(xml for _, xml in sorted(by_row[row]))
        return b"<" + prefix + b'row r="' + str(row + 1).encode() + b'">' + inner + b"</" + prefix + b"row>"

    row = -1
    for match in _ROW_TAG.finditer(data):
        r = attr_map(match.group(2)).get(b"r")
        row = int(r) - 1 if r else row + 1
        while pending and pending[0] < row:
            pieces += [data[pos : match.start()], new_row(pending.pop(0))]
            pos = match.start()
        if not pending or pending[0] != row:
            continue
        pending.pop(0)
        new = sorted(by_row[row])
        if match.group(3):  # <row .../>: becomes <row ...>cells</row>
            open_tag = data[match.start() : match.end()][:-2].rstrip() + b">"
            inner = b"".join(xml for _, xml in new)
            pieces += [data[pos : match.start()], open_tag, inner, b"</" + prefix + b"row>"]
            pos = match.end()
            continue
        end = data.find(b"</" + prefix + b"row>", match.end())
        body = data[match.end() : end]
        out, last = [], 0
        for cell in re.finditer(rb"<(?:\w+:)?c\b[^>]*?(?:/>|>.*?</(?:\w+:)?c>)", body, re.S):
            ref = _CELL_REF.match(cell.group(0))
            col = parse_ref(ref.group(1) + b"1")[1] if ref else -1
            while new and new[0][0] < col:
                out += [body[last : cell.start()], new.pop(0)[1]]
                last = cell.start()
        out.append(body[last:])
        out += [xml for _, xml in new]
        pieces += [data[pos : match.end()], b"".join(out)]
        pos = end
    if pending:
        tail = _SHEET_DATA_END.search(data, pos)
        if tail is None:
            raise BadWorkbook("corrupt worksheet: no sheetData")
        rows = b"".join(new_row(r) for r in pending)
        if tail.group(0).endswith(b"/>"):
            sd = b"<" + prefix + b"sheetData>" + rows + b"</" + prefix + b"sheetData>"
            pieces += [data[pos : tail.start()], sd]
            pos = tail.end()
        else:
            pieces += [data[pos : tail.start()], rows]
            pos = tail.start()
    pieces.append(data[pos:])
    return b"".join(pieces)


def cell_xml(prefix: bytes, cell: Cell, value: Value) -> bytes:
    """A formula cell's new XML holding ``value``: its ``<f>`` and ``<extLst>`` as they were."""
    return element_xml(prefix, cell.attrs, cell.f_xml, cell.ext_xml, value)


def number_xml(value: float) -> bytes:
    """The text of a number's ``<v>`` (Excel's 17 significant digits at most)."""
    return number_text(value).encode()


def element_xml(prefix: bytes, attrs: bytes, f_xml: bytes, ext_xml: bytes, value: Value) -> bytes:
    """:func:`cell_xml` from the parts of the element: its start tag's attributes, its
    ``<f>`` and its ``<extLst>``, verbatim."""
    v_open = b"v>"
    if isinstance(value, bool):
        t, text = b"b", (b"1" if value else b"0")
    elif isinstance(value, ExcelError):
        t, text = b"e", value.value.encode()
    elif isinstance(value, OtherError):
        t, text = b"e", escape_xml(str.__str__(value))
    elif isinstance(value, str):
        t, text = b"str", encode_text(value)
        if value[:1].isspace() or value[-1:].isspace():
            v_open = b'v xml:space="preserve">'
    else:
        t, text = None, number_xml(value)
    if b"t=" in attrs:
        attrs = T_ATTR_WITH_SPACE.sub(b"", attrs)
    attrs = attrs.rstrip()
    if attrs.endswith(b"/"):
        attrs = attrs[:-1].rstrip()
    if t is not None:
        attrs += b' t="' + t + b'"'
    # Keep <f> and <extLst> as they are; the old <v> or inline <is> goes.
    return b"".join(
        (b"<", prefix, b"c", attrs, b">", f_xml, b"<", prefix, v_open, text, b"</", prefix, b"v>",
         ext_xml, b"</", prefix, b"c>")
    )  # fmt: skip


def constant_xml(prefix: bytes, cell: Cell) -> bytes:
    """A formula cell as a constant holding its cached value (no ``<f>``)."""
    attrs = attr_map(cell.attrs)
    keep = b"".join(b" " + k + b'="' + attrs[k] + b'"' for k in (b"r", b"s") if k in attrs)
    value = cell.old
    if value is None:
        return b"<" + prefix + b"c" + keep + b"/>"
    if isinstance(value, bool):
        t, body = b' t="b"', b"<" + prefix + b"v>" + (b"1" if value else b"0") + b"</" + prefix + b"v>"
    elif isinstance(value, (ExcelError, OtherError)):
        t, body = b' t="e"', b"<" + prefix + b"v>" + escape_xml(str.__str__(value)) + b"</" + prefix + b"v>"
    elif isinstance(value, str):
        text = b"<" + prefix + b't xml:space="preserve">' + encode_text(value) + b"</" + prefix + b"t>"
        t, body = b' t="inlineStr"', b"<" + prefix + b"is>" + text + b"</" + prefix + b"is>"
    else:
        t, body = b"", b"<" + prefix + b"v>" + number_text(value).encode() + b"</" + prefix + b"v>"
    return b"<" + prefix + b"c" + keep + t + b">" + body + b"</" + prefix + b"c>"
