"""An xlsx/xlsm file opened to read and patch its formula cells' cached values.

A workbook is a zip of XML parts (:mod:`xlfuncs.xlsx.package` reads it safely). This
module finds the formula cells of every worksheet (:meth:`XlsxFile.sheets`) and writes a
copy with new cached values: only the ``<v>`` and ``t`` of the cells given change, every
other zip entry keeps its content, name, time stamp and attributes, and every output is
read back before it replaces anything (:meth:`XlsxFile.write`, :meth:`XlsxFile.verify`):
same zip entries, every part but the patched sheets byte-identical, the patched sheets
well-formed, every cached value the one meant.
"""

from __future__ import annotations

import functools
import itertools
import os
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

from ..errors import ExcelError
from .cells import (
    FAST_CELL,
    MARKERS,
    MAX_COL,
    MAX_ROW,
    NO_SPAN,
    T_ATTR,
    X_ESCAPE,
    Cell,
    OtherError,
    Sheet,
    Table,
    Value,
    attr_map,
    cell_xml,
    col_name,
    decode_text,
    element_xml,
    empty_cell_xml,
    ext_list,
    identical,
    insert_cells,
    number_xml,
    parse_range,
    parse_ref,
    show,
    unescape_xml,
)
from .package import (
    NS_MAIN,
    NS_REL,
    REL_OFFICE_DOC,
    REL_SHARED_STRINGS,
    REL_WORKSHEET,
    BadWorkbook,
    Patch,
    XmlCheck,
    XmlCheckAside,
    parse_xml,
    read_back,
    read_package,
    refuse,
    rels,
    write_package,
)

#: A scanned sheet of at least this many bytes of XML is not held once its cells are known
#: (:meth:`XlsxFile.release`): below it, passes over the file again cost more than the
#: memory they save.
STREAM_FROM = 16 * 1024**2


_BEYOND = "beyond Excel's last row or column"


class _Cutter:
    """Chunks of a sheet's XML in, (offset, bytes) pieces out, each ending right after a
    ``</c>`` (the last at the end): no formula cell the fast pattern reads is cut (its
    match ends at the first ``</c>`` after its start, and ``<`` stands in no attribute or
    formula text), and neither is any element inside a cell."""

    __slots__ = ("base", "carry")

    def __init__(self):
        self.base, self.carry = 0, b""

    def feed(self, chunk: bytes):
        cut = chunk.rfind(b"</c>")
        if cut < 0:
            self.carry += chunk
            return
        cut += 4
        # One copy of the chunk at most: the carry is a cell's worth of bytes.
        window = self.carry + chunk[:cut] if self.carry else chunk if cut == len(chunk) else chunk[:cut]
        yield self.base, window
        self.base += len(window)
        self.carry = chunk[cut:]

    def end(self):
        if self.carry:
            yield self.base, self.carry
            self.base += len(self.carry)
            self.carry = b""


def windows(sheet: Sheet):
    """(offset, bytes) of a sheet's XML in pieces cut as :class:`_Cutter` cuts them: one
    piece for a held sheet; a released one streams."""
    if not sheet.released:
        yield 0, sheet.data
        return
    cutter = _Cutter()
    for chunk in sheet.streamed.chunks():
        yield from cutter.feed(chunk)
    yield from cutter.end()


def _by_window(sheet: Sheet, items, bounds):
    """(item, piece, its offset) for each of ``items`` (in the sheet's order: ValueError
    otherwise), the piece of :func:`windows` that holds the cell ``bounds(item)`` gives
    the span of. The whole sheet streams past, so that its checks run."""
    items = iter(items)
    item, last = next(items, None), -1
    for base, data in windows(sheet):
        top = base + len(data)
        while item is not None:
            start, end = bounds(item)
            if start < max(last, base):
                raise ValueError("cells not in the sheet's order")
            if end > top:
                break
            yield item, data, base
            last = start
            item = next(items, None)
    if item is not None:
        raise ValueError("a cell past the end of the sheet")


class _Survey:
    """What the recalculation needs to know of a sheet that is not held, noted as it is
    read: its first 64 KB (the root element), which :data:`MARKERS` it holds, and each
    piece handed to ``look`` (offset, bytes)."""

    def __init__(self, look: Callable[[int, bytes], None]):
        self.head = b""
        self.marks: set[bytes] = set()
        self._look = look
        self._cutter = _Cutter()

    def __call__(self, chunk: bytes) -> None:
        if len(self.head) < 65536:
            self.head += chunk[: 65536 - len(self.head)]
        for base, window in self._cutter.feed(chunk):
            self._note(base, window)

    def close(self) -> None:
        for base, window in self._cutter.end():
            self._note(base, window)

    def _note(self, base: int, window: bytes) -> None:
        self.marks.update(m for m in MARKERS if m not in self.marks and m in window)
        self._look(base, window)


@functools.lru_cache(maxsize=4096)
def _column(letters: bytes) -> int:
    """0-based column of a reference's letters (``b"AB"`` -> 27); few distinct, many calls."""
    return parse_ref(letters + b"1")[1]


def _cell_type(attrs: bytes) -> str:
    """A cell's ``t`` (the type of its cached value), ``n`` when absent."""
    if b"t=" not in attrs:
        return "n"
    match = T_ATTR.search(attrs)
    return match.group(1).decode() if match else "n"


class XlsxFile:
    """An xlsx/xlsm file: its checked parts and the formula cells of its worksheets.

    Parameters
    ----------
    path : Path
        The workbook. It is read once, fully, and never written by this class except
        through :meth:`write` to a path of the caller's choice.
    """

    def __init__(self, path: Path, scan: bool = True, defer_checks: bool = False, stream: bool = False):
        self.path = Path(path)
        self.parts: dict[str, bytes] = {}
        self.infos: list[zipfile.ZipInfo] = []
        self.sheets: list[Sheet] = []
        self.workbook_part = ""
        #: Every sheet name (chart sheets included) in the workbook's order.
        self.sheet_order: list[str] = []
        self._shared_strings: list[str] | None = None
        self._shared_part: str | None = None
        #: Worksheets whose well-formedness is still to be checked (``defer_checks``).
        self._unchecked: dict[str, XmlCheck] = {}
        #: Large worksheets not held (``stream`` with ``defer_checks``): part -> its survey.
        self._surveys: dict[str, _Survey] = {}
        self.parts, self.infos = read_package(
            self.path, self, self._unchecked if defer_checks else None, self._survey if stream else None
        )
        for survey in self._surveys.values():
            survey.close()
        self._read_structure()
        if scan:
            self.scan()

    def _survey(self, info: zipfile.ZipInfo) -> _Survey | None:
        """The survey of a worksheet read without being held, or None to hold it."""
        if info.file_size < STREAM_FROM:
            return None
        part = info.filename
        survey = self._surveys[part] = _Survey(lambda base, window: self._look(part, base, window))
        return survey

    def _look(self, part: str, base: int, window: bytes) -> None:
        """A piece of a streamed worksheet as it is read (see :class:`_Survey`): what a
        subclass needs to note of every sheet before it is scanned."""

    def check(self) -> None:
        """Finish the XML check of the worksheets ``defer_checks`` left (BadWorkbook)."""
        released = {sheet.part: sheet.streamed for sheet in self.sheets if sheet.released}
        while self._unchecked:
            name, check = self._unchecked.popitem()
            check.finish(released[name] if name in released else self.parts[name])

    def check_and_scan(self) -> None:
        """:meth:`check` and :meth:`scan`, a sheet not held checked as it is scanned: one
        pass over it, not two."""
        for sheet in self.sheets:
            if sheet.released and not sheet.scanned and sheet.part in self._unchecked:
                self._fill(sheet, self._unchecked.pop(sheet.part))
        self.check()
        self.scan()

    def scan(self) -> None:
        """Find the formula cells of every sheet not scanned yet (see ``scan=False``)."""
        for sheet in self.sheets:
            if not sheet.scanned:
                self._fill(sheet)

    def release(self) -> None:
        """Stop holding the XML of every large sheet the fast pattern reads (or read).

        A sheet's XML is about 100 bytes a formula cell, more than everything else a
        recalculation keeps of it. The passes that still need it (the rest of the XML
        check, the scan, the patch, the write, the read-back) stream it from the
        still-open file (:class:`~xlfuncs.xlsx.package.Streamed`, checked at each pass);
        anything else asking for :attr:`Sheet.data` reads it whole again.
        """
        for sheet in self.sheets:
            if sheet.released or sheet.prefix or sheet.cleared or len(sheet.data) < STREAM_FROM:
                continue
            if sheet.scanned and sheet.make_cell is None:
                continue  # the general scanner's: its cells are objects reading the XML
            if not sheet.scanned and (b't="array"' in sheet.data or b"t='array'" in sheet.data):
                continue  # the general scanner's to come
            streamed = self.parts.streamed(sheet.part)
            if streamed is not None:
                sheet.release(streamed)
                dict.pop(self.parts, sheet.part, None)  # read again on demand, if ever

    # ------------------------------------------------------------------ reading

    def _read_structure(self) -> None:
        root_rels = rels(self.parts, "")
        office = [target for kind, target in root_rels.values() if kind.endswith(REL_OFFICE_DOC)]
        if not office or office[0] not in self.parts:
            raise BadWorkbook("not an xlsx/xlsm file (no workbook part)")
        self.workbook_part = office[0]
        workbook = parse_xml(self.workbook_part, self.parts[self.workbook_part])
        book_rels = rels(self.parts, self.workbook_part)
        for kind, target in book_rels.values():
            if kind.endswith(REL_SHARED_STRINGS):
                self._shared_part = target
        sheets = workbook.find(f"{{{NS_MAIN}}}sheets")
        if sheets is None:
            raise BadWorkbook("corrupt workbook: no sheets")
        seen: dict[str, str] = {}
        self.sheet_order = [sheet.get("name", "") for sheet in sheets]
        for sheet in sheets:
            name = sheet.get("name", "")
            if name.casefold() in seen:
                raise BadWorkbook(f"two sheets are named {name!r} (Excel cannot open such a file; rename one)")
            seen[name.casefold()] = name
        for sheet in sheets:
            rid = sheet.get(f"{{{NS_REL}}}id")
            kind, target = book_rels.get(rid or "", ("", ""))
            if not kind.endswith(REL_WORKSHEET):
                continue  # chart sheets and dialog sheets hold no cells
            if target not in self.parts:
                raise BadWorkbook(f"corrupt workbook: sheet {sheet.get('name')!r} has no part {target}")
            survey = self._surveys.get(target)
            streamed = self.parts.streamed(target) if survey is not None else None
            if streamed is None:
                self.sheets.append(self._sheet(sheet.get("name", ""), target, self.parts[target]))
                continue
            made = self._sheet(sheet.get("name", ""), target, survey.head)
            made.release(streamed)
            made.marks = frozenset(survey.marks)
            self.sheets.append(made)

    def shared_string(self, index: int) -> str:
        if self._shared_strings is None:
            self._shared_strings = []
            if self._shared_part and self._shared_part in self.parts:
                root = parse_xml(self._shared_part, self.parts[self._shared_part])
                t_tag, r_tag = f"{{{NS_MAIN}}}t", f"{{{NS_MAIN}}}r"
                for si in root:
                    # <t> directly, or in rich-text runs <r>; never the phonetic <rPh> runs.
                    texts = [t.text or "" for t in si if t.tag == t_tag]
                    texts += [t.text or "" for r in si if r.tag == r_tag for t in r if t.tag == t_tag]
                    text = "".join(texts)
                    if "_x" in text:
                        text = X_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
                    self._shared_strings.append(text)
        try:
            return self._shared_strings[index]
        except IndexError:
            return ""

    def _sheet(self, name: str, part: str, data: bytes) -> Sheet:
        """A worksheet part, not scanned yet."""
        root = re.search(rb"<(\w+:)?worksheet\b", data[:65536])
        if not root:
            raise BadWorkbook(f"corrupt worksheet {part}: no <worksheet> element")
        sheet = Sheet(name=name, part=part, data=data, prefix=root.group(1) or b"")
        sheet.cell_at = lambda start, data=None, base=0: self._cell_at(sheet, start, None, data, base)
        return sheet

    def _scan(self, name: str, part: str, data: bytes) -> Sheet:
        sheet = self._sheet(name, part, data)
        self._fill(sheet)
        return sheet

    def _fill(self, sheet: Sheet, check: XmlCheck | None = None) -> None:
        """Scan a sheet: its :attr:`~Sheet.table` (and its cells, when the general scanner
        runs); ``check`` (its deferred XML check) is finished on the way."""
        prefix, part = sheet.prefix, sheet.part
        sheet.scanned = True
        try:
            # The common case in one C-level regex pass over formula cells only; anything
            # unusual (namespace prefixes, array formulas, cells without a reference)
            # takes the general scanner, which visits every row and cell.
            fast = not prefix and self._scan_fast(sheet, check)
            if check is not None:
                check.finish(sheet.streamed if sheet.released else sheet.data)  # what the scan left
            if not fast:
                sheet.cells = []
                sheet.shared_masters.clear()
                sheet.shared_origins.clear()
                self._scan_general(sheet)
                sheet.retable()
        except (ValueError, UnicodeDecodeError, IndexError) as exc:
            raise BadWorkbook(f"corrupt worksheet {part}: {exc}") from None

    def _scan_fast(self, sheet: Sheet, check: XmlCheck | None = None) -> bool:
        """The table of an unprefixed sheet without array formulas; False to give up.
        ``check`` is fed the XML as it goes (see :meth:`check_and_scan`).

        The loop body runs once per formula cell (800,000 in a 100,000-row model), so it
        keeps only where each cell is and its cached value, in flat columns
        (:class:`~xlfuncs.xlsx.cells.Table`); the rest of a cell is read again from its XML
        when a :class:`Cell` is asked for (:meth:`_fast_cell`). A cell laid out otherwise
        (white space before its ``<f>``, ``r`` not first) is missed by the pattern, which
        the count of ``<f>`` elements at the end detects.
        """
        i = elements = 0
        for base, data in windows(sheet):
            if check is not None:
                check.feed_at(base, data)
            if b't="array"' in data or b"t='array'" in data:
                return False  # array formulas: the general scanner's sheet
            elements += data.count(b"<f>") + data.count(b"<f ") + data.count(b"<f/>")
            i = self._scan_window(sheet, data, base, i)
        sheet.make_cell = lambda index: self._fast_cell(sheet, index)
        # Every <f> must have been seen: a cell the fast pattern cannot read would otherwise
        # be silently skipped.
        return i == elements

    def _scan_window(self, sheet: Sheet, data: bytes, base: int, i: int) -> int:
        """:meth:`_scan_fast` of the sheet's XML ``data`` found at offset ``base``, whose
        first formula cell is number ``i``; returns the number after its last one."""
        table = sheet.table
        rows, cols, starts, ends, numbers = table.rows, table.cols, table.starts, table.ends, table.numbers
        others, shared = table.others, table.shared
        cached = self._cached
        masters, origins = sheet.shared_masters, sheet.shared_origins
        for match in FAST_CELL.finditer(data):
            attrs, letters, digits, _, f_attrs, f_text, rest = match.groups()
            col = _column(letters)
            start, end = match.span()
            start += base
            end += base
            row = int(digits) - 1
            if row >= MAX_ROW or row < 0 or col >= MAX_COL:
                raise BadWorkbook(f"{sheet.name}: a cell at {(letters + digits).decode()}, {_BEYOND}")
            rows.append(row)
            cols.append(col)
            starts.append(start)
            ends.append(end)
            if (
                rest[:3] == b"<v>"
                and b"t=" not in attrs
                and (close := rest.find(b"</v>")) > 0
                and (text := rest[3:close].strip())
            ):
                numbers.append(float(text))
            else:
                numbers.append(0.0)
                others[i] = cached(_cell_type(attrs), rest, b"") if rest else None
                if type(others[i]) is float:
                    numbers[i] = others.pop(i)
            if f_attrs and b"shared" in f_attrs and (f_attr_map := attr_map(f_attrs)).get(b"t") == b"shared":
                si = f_attr_map.get(b"si", b"").decode()
                shared[i] = table.shared_id(si)
                if f_text:
                    masters[si] = unescape_xml(f_text) if b"&" in f_text else f_text.decode("utf-8")
                    origins[si] = (row, col)
            i += 1
        return i

    def _fast_cell(self, sheet: Sheet, index: int) -> Cell:
        """Cell ``index`` of a sheet :meth:`_scan_fast` read, from its XML."""
        table = sheet.table
        cell = self._cell_at(sheet, table.starts[index], (table.rows[index], table.cols[index], table.old(index)))
        assert cell is not None
        cell.index = index
        return cell

    def _cell_at(
        self, sheet: Sheet, start: int, known: tuple | None = None, data: bytes | None = None, base: int = 0
    ) -> Cell | None:
        """The formula cell whose ``<c>`` starts at byte ``start`` of an unprefixed sheet,
        read as :meth:`_scan_fast` reads it; None when the fast pattern does not match there.
        ``known`` is its (row, col, cached value) when the scan has read them already;
        ``data`` is the sheet's XML from offset ``base`` on (by default all of it)."""
        match = FAST_CELL.match(sheet.data if data is None else data, start - base)
        if match is None:
            return None
        attrs, letters, digits, f_xml, f_attrs, f_text, rest = match.groups()
        t = _cell_type(attrs)
        if known is None:
            known = (int(digits) - 1, _column(letters), self._cached(t, rest, b"") if rest else None)
        cell = Cell(
            (letters + digits).decode(),
            known[0],
            known[1],
            match.start() + base,
            match.end() + base,
            attrs,
            f_xml,
            ext_list(rest, b"") if b"extLst" in rest else b"",
            t,
            known[2],
        )
        if f_text:
            cell.formula = unescape_xml(f_text) if b"&" in f_text else f_text.decode("utf-8")
        if f_attrs and b"shared" in f_attrs:
            f_attr_map = attr_map(f_attrs)
            if f_attr_map.get(b"t") == b"shared":
                cell.shared_index = f_attr_map.get(b"si", b"").decode()
        return cell

    def _scan_general(self, sheet: Sheet) -> None:
        """Every row and cell: handles prefixes, array ranges and cells without ``r``."""
        data, prefix = sheet.data, sheet.prefix
        p = re.escape(prefix)
        scanner = re.compile(rb"<" + p + rb"row\b([^>]*)>|<" + p + rb"c\b([^>]*?)(/>|>(.*?)</" + p + rb"c>)", re.S)
        f_re = re.compile(rb"<" + p + rb"f\b([^>]*?)(?:/>|>(.*?)</" + p + rb"f>)", re.S)
        f_open = b"<" + prefix + b"f"
        arrays: list[tuple[int, int, int, int]] = []
        dynamic = b" cm=" in data
        row = -1
        col = -1
        for match in scanner.finditer(data):
            row_attrs = match.group(1)
            if row_attrs is not None:
                r = attr_map(row_attrs).get(b"r")
                row = int(r) - 1 if r else row + 1
                col = -1
                continue
            attrs_text = match.group(2)
            children = match.group(4)
            is_formula = children is not None and f_open in children
            r_match = re.search(rb'\br\s*=\s*["\']([A-Za-z$]+[0-9$]+)["\']', attrs_text)
            if r_match:
                row, col = parse_ref(r_match.group(1))
            else:
                col += 1
            if dynamic and children:
                sheet.occupied.add((row, col))
            if not is_formula:
                if not arrays or not any(a <= row <= c and b <= col <= d for a, b, c, d in arrays):
                    continue
            if not (0 <= row < MAX_ROW and 0 <= col < MAX_COL):
                # Not a cell Excel can have (its columns of 32-bit numbers would overflow).
                where = r_match.group(1).decode() if r_match else f"row {row + 1}, column {col + 1}"
                raise BadWorkbook(f"{sheet.name}: a cell at {where}, {_BEYOND}")
            attrs = attr_map(attrs_text)
            t = attrs.get(b"t", b"n").decode()
            f_match = f_re.search(children) if is_formula else None
            children = children or b""
            cell = Cell(
                ref=f"{col_name(col)}{row + 1}",
                row=row,
                col=col,
                start=match.start(),
                end=match.end(),
                attrs=attrs_text,
                f_xml=f_match.group(0) if f_match else b"",
                ext_xml=ext_list(children, prefix),
                t=t,
                old=self._cached(t, children, prefix),
            )
            if f_match:
                f_attrs = attr_map(f_match.group(1))
                text = unescape_xml(f_match.group(2)) if f_match.group(2) else ""
                cell.formula = text or None
                kind = f_attrs.get(b"t")
                if kind == b"shared":
                    si = f_attrs.get(b"si", b"").decode()
                    cell.shared_index = si
                    if text:
                        sheet.shared_masters[si] = text
                        sheet.shared_origins[si] = (row, col)
                elif kind == b"array" and f_attrs.get(b"ref"):
                    area = parse_range(f_attrs[b"ref"])
                    area = (row, col, max(area[2], row), max(area[3], col))  # anchored at the cell
                    arrays.append(area)
                    sheet.arrays[(row, col)] = area
                    if dynamic and attrs.get(b"cm") and self._dynamic_arrays():
                        sheet.dynamic.add((row, col))
            sheet.cells.append(cell)
        self._add_missing_members(sheet)

    def _dynamic_arrays(self) -> bool:
        """Whether the workbook's cell metadata marks dynamic arrays (Excel 365)."""
        return any(b"XLDAPR" in self.parts[name] for name in list(self.parts) if name.lower().endswith("metadata.xml"))

    @staticmethod
    def _add_missing_members(sheet: Sheet) -> None:
        """Cells of array ranges that the XML leaves out (openpyxl writes the anchor only)."""
        if not sheet.arrays:
            return
        present = {(c.row, c.col) for c in sheet.cells}
        for r1, c1, r2, c2 in sheet.arrays.values():
            if (r2 - r1 + 1) * (c2 - c1 + 1) > 1_000_000:
                raise BadWorkbook(f"array formula range of {(r2 - r1 + 1) * (c2 - c1 + 1)} cells in {sheet.part}")
            for r in range(r1, r2 + 1):
                for c in range(c1, c2 + 1):
                    if (r, c) not in present:
                        present.add((r, c))
                        ref = f"{col_name(c)}{r + 1}"
                        sheet.cells.append(
                            Cell(ref, r, c, NO_SPAN, NO_SPAN, b' r="' + ref.encode() + b'"', b"", b"", "n", None,
                                 virtual=True)
                        )  # fmt: skip

    def _cached(self, t: str, children: bytes, prefix: bytes) -> Value | None:
        """The cached value in a cell's children (after its <f>), or None."""
        if not children:
            return None
        if children in (b"<v/>", b"<v />", b"<v></v>"):
            # Excel stores a formula's empty-text result so; openpyxl a value not computed.
            return "" if t == "str" else None
        if not prefix and t == "n" and children.startswith(b"<v>"):
            end = children.find(b"</v>")
            if end > 0:  # the common case, without a regex
                text = children[3:end].strip()
                return float(text) if text else None
        if t == "inlineStr":
            p = re.escape(prefix)
            texts = re.findall(rb"<" + p + rb"t\b[^>]*>(.*?)</" + p + rb"t>", children, re.S)
            return decode_text(b"".join(texts)) if texts else None
        v_match = re.search(
            rb"<" + re.escape(prefix) + rb"v\b[^>]*?(?:/>|>(.*?)</" + re.escape(prefix) + rb"v>)", children, re.S
        )
        if not v_match:
            return None
        raw = v_match.group(1)
        if raw is None:
            return "" if t == "str" else None
        if t == "n":
            text = raw.strip()
            return float(text) if text else None
        if t == "str":
            return decode_text(raw)
        if t == "d":
            return unescape_xml(raw)
        if t == "s":
            return self.shared_string(int(raw))
        if t == "b":
            return raw.strip() in (b"1", b"true")
        if t == "e":
            text = unescape_xml(raw).strip()
            return ExcelError.parse(text) or OtherError(text.upper())
        return None

    # ------------------------------------------------------------------ LibreOffice's copy

    def defined_names(self) -> list[tuple[str, str]]:
        """(name, formula text) of every defined name of the workbook."""
        wb = self.parts[self.workbook_part]
        if b"definedName" not in wb:
            return []
        out = []
        for attrs, text in re.findall(rb"<(?:\w+:)?definedName\b([^>]*)>(.*?)</(?:\w+:)?definedName>", wb, re.S):
            name = attr_map(attrs).get(b"name", b"")
            out.append((unescape_xml(name), unescape_xml(text)))
        return out

    def _styles_part(self) -> str | None:
        for kind, target in rels(self.parts, self.workbook_part).values():
            if kind.endswith("/styles") and target in self.parts:
                return target
        return None

    # ------------------------------------------------------------------ writing

    def patched(self, updates: dict[str, list[tuple[Cell | int, Value]]]) -> dict[str, bytes | Patch]:
        """New bytes of every worksheet part with changed formula values: a :class:`Patch`
        (the original and the new cells, joined only as they are written), or the bytes.

        Parameters
        ----------
        updates : dict
            Sheet part (or sheet name) -> [(cell, new value)]; a cell is a :class:`Cell`
            or its index in the sheet's table (no object needed: a million changed cells
            kept as :class:`~xlfuncs.xlsx.cells.Updates` cost 16 bytes each). Cells of an
            array range missing from the XML are created, in row and column order.
        """
        out: dict[str, bytes] = {}
        for sheet in self.sheets:
            sheet_updates = updates.get(sheet.part, updates.get(sheet.name))
            if not sheet_updates and not sheet.cleared:
                continue
            sheet_updates = sheet_updates or []
            if sheet.make_cell is None:  # the general scanner's sheet: its cells exist (some virtual)
                sheet_updates = [(sheet.cell(c) if type(c) is int else c, v) for c, v in sheet_updates]
            data = self._patch(sheet, sheet_updates)
            virtual = {
                (c.row, c.col): cell_xml(sheet.prefix, c, v)
                for c, v in sheet_updates
                if type(c) is not int and c.virtual
            }
            if virtual:
                data = insert_cells(bytes(data), sheet.prefix, virtual)
            out[sheet.part] = data
        return out

    def _patch(self, sheet: Sheet, sheet_updates) -> Patch:
        """The sheet with its changed cells rewritten (and cleared cells emptied)."""
        if sheet.released and not sheet.cleared and not sheet.prefix and sheet.make_cell is not None:
            try:
                return self._streamed_patch(sheet, sheet_updates)
            except ValueError:
                pass  # changes out of the sheet's order: the whole sheet again, below
        real = ((cell, new) for cell, new in sheet_updates if type(cell) is int or not cell.virtual)
        patch = Patch(sheet.data)
        if not sheet.cleared:
            try:  # changes in the sheet's order, as a recalculation makes them: no list
                patch.extend(self._new_xml(sheet, cell, new) for cell, new in real)
                return patch
            except ValueError:
                real = ((cell, new) for cell, new in sheet_updates if type(cell) is int or not cell.virtual)
        spans = [self._new_xml(sheet, cell, new) for cell, new in real]
        spans += [(cell.start, cell.end, empty_cell_xml(sheet.prefix, cell)) for cell in sheet.cleared]
        return Patch(sheet.data, spans)

    def _streamed_patch(self, sheet: Sheet, sheet_updates) -> Patch:
        """:meth:`_patch` of a released sheet, in one pass over its XML as it streams past
        (ValueError: the changes are not in the sheet's order). Each new cell is checked
        as it is made, as :meth:`_patch_as_meant` checks them (so the patch is marked
        ``checked``): no pass over the sheet is needed for that."""
        table = sheet.table
        # The old values were compared; nothing of this sheet reads them again (the check
        # of such a sheet's patch never compares other cells with them: see
        # _spliced_as_meant), and the patch is made in the memory they held.
        table.forget_values()

        def spans():
            for (cell, value), data, base in _by_window(sheet, sheet_updates, lambda pair: _bounds(table, pair[0])):
                span = self._new_xml(sheet, cell, value, data, base)
                self._check_span(sheet, data, base, cell, value, span)
                yield span

        patch = Patch(sheet.streamed)
        patch.extend(spans())
        patch.checked = sheet_updates
        return patch

    def _new_xml(
        self, sheet: Sheet, cell: Cell | int, value: Value, data: bytes | None = None, base: int = 0
    ) -> tuple[int, int, bytes]:
        """(start, end, new XML) of a formula cell given a new value (see :meth:`patched`);
        ``data`` is the sheet's XML from offset ``base`` on (by default all of it)."""
        if type(cell) is not int:
            return cell.start, cell.end, cell_xml(sheet.prefix, cell, value)
        data = sheet.data if data is None else data
        if type(value) is float:
            inside = _value_text(data, sheet.table.starts[cell] - base, sheet.table.ends[cell] - base)
            if inside is not None:  # a number replacing a number: only the text of its <v>
                return inside[0] + base, inside[1] + base, number_xml(value)
        match = FAST_CELL.match(data, sheet.table.starts[cell] - base)
        attrs, f_xml, rest = match.group(1), match.group(4), match.group(7)
        ext = ext_list(rest, b"") if b"extLst" in rest else b""
        return match.start() + base, match.end() + base, element_xml(b"", attrs, f_xml, ext, value)

    def write(self, target: Path, changed: dict[str, bytes], updates: dict | None = None, aside: bool = False) -> None:
        """Write this workbook with ``changed`` parts to ``target``, atomically and checked.

        Every entry keeps its name, order, time stamp, attributes and compression; the
        content of every entry not in ``changed`` is byte-identical. Before the file
        appears under ``target`` it is read back (black's "equivalent and stable" check):
        the zip and every part other than the patched sheets must be identical, the
        patched sheets well-formed, and their cached values the ones intended (``updates``,
        sheet part -> [(cell, value)]); otherwise :class:`BadWorkbook` and ``target`` is
        not touched. The file appears only when complete (temporary file, fsync, rename).

        The values are checked on ``changed`` first, in memory; the zip read back must then
        hold those very bytes. A :class:`Patch` is written and read back a megabyte at a
        time from the original it keeps: no second copy of a sheet exists. A part given as
        bytes lets the sheet's original go before the write: it is held twice at most.

        With ``aside`` (a core to spare) the XML check of the patched sheets runs in a child
        process while this one writes and reads back the zip (:class:`XmlCheckAside`).
        """
        self.check_values(changed, updates)
        self._release(changed)
        checking = XmlCheckAside(changed) if aside and changed and hasattr(os, "fork") else None

        def check(tmp: Path) -> None:
            read_back(tmp, self.infos, self.parts, changed, xml_checked=checking is not None)
            if checking is not None:
                checking.result()

        try:
            write_package(target, self.infos, self.parts, changed, check, mode_of=self.path)
        finally:
            if checking is not None:
                checking.cancel()

    def _release(self, changed: dict[str, bytes]) -> None:
        """Forget the original bytes of the patched sheets (re-read from the file if asked),
        and the formula table of a sheet whose patch was checked as it was made: nothing
        of it is read again (28 bytes a formula cell, the most of what a write held)."""
        for sheet in self.sheets:
            if sheet.part not in changed:
                continue
            if dict.__contains__(self.parts, sheet.part):
                dict.__delitem__(self.parts, sheet.part)  # read_package deferred every entry
                sheet.data = b""
            part = changed[sheet.part]
            if isinstance(part, Patch) and part.checked is not None:
                sheet.table = Table()

    def check_values(self, changed: dict[str, bytes], updates: dict | None) -> None:
        """:class:`BadWorkbook` unless the patched sheets in ``changed`` hold the values meant
        (``updates``, sheet part or name -> [(cell, value)]) and every other cell its own."""
        if updates is None:
            return
        by_part = {sheet.part: sheet for sheet in self.sheets}
        for name in changed:
            sheet = by_part.get(name)
            if sheet is None:
                continue
            meant = updates.get(name, updates.get(sheet.name, ()))
            try:
                if self._spliced_as_meant(sheet, changed[name], meant):
                    continue
                again = self._scan(sheet.name, name, bytes(changed[name]))
            except (ValueError, UnicodeDecodeError, IndexError) as exc:
                refuse(f"{name} does not read back ({exc})")
            except BadWorkbook as exc:
                if str(exc).startswith("safety check failed"):
                    raise
                refuse(f"{name} does not read back ({exc})")
            if not _same_cells(sheet, again, meant):
                _compare_cell_by_cell(sheet, again, meant)

    def _spliced_as_meant(self, sheet: Sheet, written: bytes | Patch, meant) -> bool:
        """Whether ``written`` is the sheet with exactly the ``meant`` cells replaced, each
        reading back as its value; False when the sheet is not one this can tell (arrays
        filled in or resized, prefixes): the caller scans it whole then. Refuses otherwise.

        Every byte outside the replaced cells must be the original's, so every other cell
        keeps the value it was read with; the replaced cells are read again with the
        scanner's own pattern. The cost is that of the changed cells, not of the sheet.
        A :class:`Patch` of the sheet is checked without joining it: its spans must be
        the cells meant and each replacement must read back as its value; that the file
        written holds the original between them is :func:`read_back`'s to prove.
        """
        if sheet.prefix or sheet.make_cell is None or sheet.cleared:
            return False
        if isinstance(written, Patch):
            if written.checked is not None:
                return written.checked is meant
            return written.data is sheet.data and self._patch_as_meant(sheet, written, meant)
        if any(type(c) is not int and c.virtual for c, _ in meant):
            return False
        data = sheet.data
        spans = sorted((_span_of(sheet, cell, value) for cell, value in meant), key=lambda span: span[0])
        old_pos = new_pos = 0
        for start, end, ref, value in spans:
            gap = start - old_pos
            if gap < 0 or not written.startswith(data[old_pos:start], new_pos):
                refuse(f"{sheet.name}: the bytes before {ref} are not the original's")
            new_pos = self._read_back_cell(sheet, written, new_pos + gap, ref, value)
            old_pos = end
        if len(written) - new_pos != len(data) - old_pos or not written.startswith(data[old_pos:], new_pos):
            refuse(f"{sheet.name}: the bytes after the last changed cell are not the original's")
        return True

    def _patch_as_meant(self, sheet: Sheet, patch: Patch, meant) -> bool:
        """:meth:`_spliced_as_meant` of a :class:`Patch`: its spans are the cells meant,
        each replacement one cell reading back as its value."""
        if len(meant) != len(patch.starts):
            refuse(f"{sheet.name}: {len(patch.starts)} cells replaced, {len(meant)} meant")
        table = sheet.table
        spans = ((*_bounds(table, cell), cell, value) for cell, value in meant)
        # Changes come in the sheet's order: then no list of them is made (a million).
        starts = (table.starts[cell] if type(cell) is int else cell.start for cell, _ in meant)
        if not all(a <= b for a, b in itertools.pairwise(starts)):
            spans = sorted(spans, key=lambda span: span[0])
        data = sheet.data
        for (_, _, cell, value), span in zip(spans, patch.spans()):
            self._check_span(sheet, data, 0, cell, value, span)
        return True

    def _check_span(self, sheet: Sheet, data: bytes, base: int, cell, value, span) -> None:
        """Refuses unless ``span`` (start, end, XML) rewrites ``cell`` to ``value``: the
        whole cell, reading back as it, or the text of its ``<v>`` only, a number that is
        it. ``data`` is the sheet's XML from offset ``base`` on."""
        at, to, xml = span
        start, end = _bounds(sheet.table, cell)
        if (at, to) == (start, end):  # the whole cell rewritten
            ref = _ref(sheet.table, cell)
            if self._read_back_cell(sheet, xml, 0, ref, value) != len(xml):
                refuse(f"{sheet.name}!{ref} is not where it was written")
            return
        inside = _value_text(data, start - base, end - base)  # else: the text of its number only
        if inside is None or (inside[0] + base, inside[1] + base) != (at, to):
            refuse(f"{sheet.name}!{_ref(sheet.table, cell)} is not where it was written")
        got = float(xml) if _NUMBER.fullmatch(xml) else None
        if not identical(got, value):
            refuse(f"{sheet.name}!{_ref(sheet.table, cell)} reads back as {show(got)}, not {show(value)}")

    def _read_back_cell(self, sheet: Sheet, written: bytes, at: int, ref: str, value) -> int:
        """Read the cell written at ``at`` with the scanner's own pattern: refuses unless it
        is ``ref`` holding ``value``; returns where it ends."""
        match = FAST_CELL.match(written, at)
        if match is None or (match.group(2) + match.group(3)).decode() != ref:
            refuse(f"{sheet.name}!{ref} is not where it was written")
        attrs, rest = match.group(1), match.group(7)
        got = self._cached(_cell_type(attrs), rest, b"") if rest else None
        if not identical(got, value):
            refuse(f"{sheet.name}!{ref} reads back as {show(got)}, not {show(value)}")
        return match.end()


def _value_text(data: bytes, start: int, end: int) -> tuple[int, int] | None:
    """Where the text of the ``<v>`` of the number cell ``data[start:end]`` lies (a cell
    as the fast scanner reads it: ``<c ...><f ...>...</f><v>...</v>...</c>``), or None:
    a cell with a type (``t=``), or whose ``<v>`` has attributes or does not follow its
    formula at once."""
    tag = data.find(b">", start, end)
    if tag < 0 or data[tag - 1] == 0x2F or T_ATTR.search(data, start, tag) is not None:
        return None
    if not data.startswith(b"<f", tag + 1):
        return None
    v = data.find(b"<v>", tag, end)  # the first: "<" cannot stand in a formula or an attribute
    if v < 0 or not (data.startswith(b"</f>", v - 4) or data.startswith(b"/>", v - 2)):
        return None
    close = data.find(b"</v>", v + 3, end)
    if close < 0 or data.find(b"<", v + 3, close) >= 0:
        return None
    return v + 3, close


#: The text of a number as :func:`xlfuncs.numtext.number_text` writes it.
_NUMBER = re.compile(rb"-?[0-9]+(?:\.[0-9]+)?(?:[Ee][+-]?[0-9]+)?")


def _bounds(table, cell: Cell | int) -> tuple[int, int]:
    """Where a formula cell (an index in ``table`` or a :class:`Cell`) starts and ends."""
    return (table.starts[cell], table.ends[cell]) if type(cell) is int else (cell.start, cell.end)


def _ref(table, cell: Cell | int) -> str:
    """A formula cell's reference (``B7``)."""
    if type(cell) is int:
        return f"{col_name(table.cols[cell])}{table.rows[cell] + 1}"
    return f"{col_name(cell.col)}{cell.row + 1}"


def _span_of(sheet: Sheet, cell: Cell | int, value) -> tuple[int, int, str, object]:
    """(start, end, reference, value) of a changed cell."""
    return *_bounds(sheet.table, cell), _ref(sheet.table, cell), value


def _same_cells(sheet: Sheet, again: Sheet, meant) -> bool:
    """Whether a sheet read back holds the intended values, compared column by column;
    False when its cells are not the original's one for one (arrays resized or filled in):
    :func:`_compare_cell_by_cell` decides then. Refuses a value that differs."""
    table, read = sheet.table, again.table
    if sheet.cleared or read.rows != table.rows or read.cols != table.cols or NO_SPAN in table.starts:
        return False
    intended = {cell if type(cell) is int else cell.index: value for cell, value in meant}
    if -1 in intended:
        return False
    look = {i for i, (a, b) in enumerate(zip(table.numbers, read.numbers)) if a != b}
    look.update(table.others, read.others, intended)
    for i in sorted(look):
        value = intended[i] if i in intended else table.old(i)
        got = read.old(i)
        if not identical(got, value):
            refuse(
                f"{sheet.name}!{col_name(table.cols[i])}{table.rows[i] + 1} reads back as {show(got)}, not {show(value)}"
            )
    return True


def _compare_cell_by_cell(sheet: Sheet, again: Sheet, meant) -> None:
    got = {(c.row, c.col): c.old for c in again.cells}
    intended = {(c.row, c.col): c.old for c in sheet.cells if not c.virtual}
    table = sheet.table
    intended.update({(table.rows[c], table.cols[c]) if type(c) is int else (c.row, c.col): v for c, v in meant})
    for (row, col), value in intended.items():
        if (row, col) not in got or not identical(got[(row, col)], value):
            where = f"{sheet.name}!{col_name(col)}{row + 1}"
            refuse(f"{where} reads back as {show(got.get((row, col)))}, not {show(value)}")
