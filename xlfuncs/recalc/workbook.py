"""LibreOffice's copy of a workbook, and what recalc changes in the original.

:class:`Workbook` is an :class:`xlfuncs.xlsx.XlsxFile` (safe read, formula cells, patch,
atomic checked write) with what only recalc needs: the copy that LibreOffice loads
(:meth:`Workbook.engine_copy`: our calls spelt for Calc, column groups as array formulas,
cells LibreOffice cannot compute as constants, spill references as ranges) and the
resizing of Excel 365 dynamic arrays (:meth:`Workbook.resize`).
"""

from __future__ import annotations

import heapq
import os
import re
import zipfile
from operator import itemgetter
from pathlib import Path

from ..xlsx import XlsxFile
from ..xlsx.cells import (
    T_ATTR,
    Cell,
    Sheet,
    col_name,
    constant_xml,
    empty_cell_xml,
    escape_xml,
    insert_cells,
    parse_ref,
    unescape_xml,
)
from ..xlsx.package import Patch
from . import formula as formulas
from .vectorise import group_replacements

#: A sheet copy this long may pass 4 GiB once respelt: its zip entry gets Zip64 sizes.
_ZIP64_FROM = 1 << 30

# A cell format's number format. LibreOffice's copy has every one set to General, so that
# a formula's result takes the format of its type and a logical result can be told apart
# from a number shown as TRUE (see xlfuncs.recalc.addin._is_logical); no value depends on
# a number format (CELL("format") is volatile and listed as such).
_XF_NUMFMT = re.compile(rb'(<(?:\w+:)?xf\b[^>]*?\bnumFmtId\s*=\s*")(?!0")[0-9]+(")')


_ANCHORARRAY = re.compile(
    rb"(?i)_xlfn\.ANCHORARRAY\(\s*((?:'(?:[^']|'')+'|[A-Za-z_][A-Za-z0-9_.]*)!)?(\$?[A-Za-z]{1,3}\$?[0-9]{1,7})\s*\)"
)


def _patch(data, spans) -> Patch:
    """``data`` with ``spans`` (in document order) replaced, none of them held in a list."""
    patch = Patch(data)
    patch.extend(spans)
    return patch


def _spill_range(match: re.Match, own: Sheet | None, anchors: dict) -> bytes:
    """The range a spill reference ``A1#`` stands for: its array formula's range."""
    qualifier, ref = match.group(1), match.group(2)
    sheet = own
    if qualifier:
        name = unescape_xml(qualifier[:-1])
        if name.startswith("'"):
            name = name[1:-1].replace("''", "'")
        sheet = anchors.get(name.casefold())
    try:
        row, col = parse_ref(ref)
    except ValueError:
        return match.group(0)
    area = sheet.arrays.get((row, col)) if sheet is not None else None
    if area is None:
        return (qualifier or b"") + ref
    first = f"{col_name(area[1])}{area[0] + 1}"
    last = f"{col_name(area[3])}{area[2] + 1}"
    return (qualifier or b"") + (first if first == last else f"{first}:{last}").encode()


class Workbook(XlsxFile):
    """An xlsx/xlsm file opened for recalculation (see :class:`xlfuncs.xlsx.XlsxFile`)."""

    def __init__(self, path: Path, scan: bool = True, defer_checks: bool = False, stream: bool = False):
        self._called: dict[str, set[str]] = {}  # filled as streamed sheets are read, too
        super().__init__(path, scan=scan, defer_checks=defer_checks, stream=stream)
        #: Hand column groups of one element-wise call to Calc as one array formula.
        self.vectorise = os.environ.get("XLFUNCS_RECALC_VECTORISE", "1") != "0"
        #: Whether the last :meth:`engine_copy` made column groups.
        self.grouped = False

    def _look(self, part: str, base: int, window: bytes) -> None:
        self._called.setdefault(part, set()).update(formulas.called_names(window))

    def called(self, sheet: Sheet) -> set[str]:
        """Every name called on a sheet (a superset: see :func:`~xlfuncs.recalc.formula.called_names`)."""
        if sheet.part not in self._called:
            self._called[sheet.part] = formulas.called_names(sheet.data)
        return self._called[sheet.part]

    # ------------------------------------------------------------------ LibreOffice's copy

    def engine_copy(
        self,
        folder: Path,
        constants: set[tuple[str, int, int]] | frozenset = frozenset(),
        extra: dict[str, dict[tuple[int, int], bytes]] | None = None,
    ) -> Path:
        """The file LibreOffice should load: this one, or a copy with our calls spelt for Calc.

        Only formula text changes in the copy (see :mod:`xlfuncs.recalc.formula`); the
        original is never touched. ``constants`` holds (part, row, col) of formula cells
        LibreOffice cannot compute: in the copy they are constants holding their cached
        value, so the cells depending on them are computed from what Excel computed.
        Spill references (``A1#``, stored as ``_xlfn.ANCHORARRAY(A1)``) become the range
        of that spill. ``extra`` adds cells (sheet part -> (row, col) -> XML) to the copy.
        """
        # Each sheet's copy is written in pieces as it is made (splice, then our calls
        # spelt for Calc), never whole: at 100,000 rows the whole copy and its respelt
        # twin were 200 MB on top of the original, the peak of the run.
        copies: dict[str, tuple] = {}
        extra = extra or {}
        self.grouped = False
        anchors = {sheet.name.casefold(): sheet for sheet in self.sheets if sheet.arrays}
        for sheet in self.sheets:
            names = {name for name in self.called(sheet) if formulas.our_name(None, name) is not None}
            hit = formulas.spelling_filter(names) if names else None
            replacements = [
                (cell, constant_xml(sheet.prefix, cell))
                for cell in (sheet.cells if any(part == sheet.part for part, _, _ in constants) else ())
                if not cell.virtual and (sheet.part, cell.row, cell.col) in constants
            ]
            replacements += self._resize_replacements(sheet)
            spans = sorted((c.start, c.end, x) for c, x in replacements)
            groups = group_replacements(sheet, hit, constants) if hit is not None and self.vectorise else []
            self.grouped = self.grouped or bool(groups)
            if groups:  # each group's spans come in document order, made as they are written
                spans = heapq.merge(spans, *groups, key=itemgetter(0))
            # A sheet not held streams into the copy (see XlsxFile.release).
            data = original = sheet.streamed if sheet.released else sheet.data
            if extra.get(sheet.part):
                data = sheet.data
                data = insert_cells(bytes(_patch(data, spans)), sheet.prefix, extra[sheet.part])
                spans = []
                hit = formulas.spelling_filter(
                    names | formulas.spellings(unescape_xml(x) for x in extra[sheet.part].values())
                )
            spilling = anchors and _ANCHORARRAY.search(data if isinstance(data, bytes) else sheet.data)
            respell = self._respelling(sheet, hit, anchors if spilling else None)
            if groups or spans or data is not original or respell is not None:
                copies[sheet.part] = (data, spans, respell, b"</" + sheet.prefix + b"c>")
        changed: dict[str, bytes] = {}
        names = formulas.spellings(text for _, text in self.defined_names())
        book = self.parts[self.workbook_part]
        if names:
            new = self._normalised_part(book, rb"(?:\w+:)?", b"definedName", formulas.spelling_filter(names))
            book = new if new is not None else book
        if anchors and _ANCHORARRAY.search(book):
            book = _ANCHORARRAY.sub(lambda m: _spill_range(m, None, anchors), book)
        if book is not self.parts[self.workbook_part]:
            changed[self.workbook_part] = book
        styles = self._styles_part()
        if styles is not None:
            general = _XF_NUMFMT.sub(rb"\g<1>0\g<2>", self.parts[styles])
            if general != self.parts[styles]:
                changed[styles] = general
        if not changed and not copies:
            return self.path
        target = folder / ("engine" + self.path.suffix.lower())
        # Stored, not deflated: LibreOffice reads it once, and compressing costs time.
        with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as out:
            for info in self.infos:
                if info.is_dir():
                    continue
                if info.filename not in copies:
                    out.writestr(info.filename, changed.get(info.filename, self.parts[info.filename]))
                    continue
                data, spans, respell, cell_end = copies.pop(info.filename)
                with out.open(info.filename, "w", force_zip64=len(data) > _ZIP64_FROM) as stream:
                    for chunk in _patch(data, spans).chunks(boundary=cell_end):
                        stream.write(respell(chunk) if respell is not None else chunk)
        return target

    def _respelling(self, sheet: Sheet, hit: re.Pattern | None, anchors: dict | None):
        """What turns a piece of a sheet's XML into LibreOffice's: our calls spelt for
        Calc (when ``hit``), spill references made ranges (when ``anchors``); or None."""
        if hit is None and anchors is None:
            return None

        def respell(piece: bytes) -> bytes:
            if hit is not None:
                new = self._normalised_part(piece, sheet.prefix, b"f", hit)
                piece = new if new is not None else piece
            if anchors is not None:
                piece = _ANCHORARRAY.sub(lambda m: _spill_range(m, sheet, anchors), piece)
            return piece

        return respell

    # ------------------------------------------------------------------ dynamic arrays

    def size_probes(self, anchors: list[tuple[Sheet, Cell]]) -> dict[str, dict[tuple[int, int], bytes]]:
        """Cells computing ``ROWS()`` and ``COLUMNS()`` of each dynamic array's formula.

        They go below everything else on the anchor's sheet, in LibreOffice's copy only
        (:meth:`engine_copy`'s ``extra``); see :meth:`probe_positions`.
        """
        out: dict[str, dict[tuple[int, int], bytes]] = {}
        for (sheet, anchor), (_, row, _) in zip(anchors, self.probe_positions(anchors)):
            p = sheet.prefix
            text = escape_xml(anchor.formula or "")
            cells = out.setdefault(sheet.part, {})
            for c, fn in ((0, b"ROWS"), (1, b"COLUMNS")):
                ref = f"{col_name(c)}{row + 1}".encode()
                cells[(row, c)] = (
                    b"<" + p + b'c r="' + ref + b'"><' + p + b'f t="array" ref="' + ref + b'">' + fn + b"(" + text
                    + b")</" + p + b"f></" + p + b"c>"
                )  # fmt: skip
        return out

    def probe_positions(self, anchors: list[tuple[Sheet, Cell]]) -> list[tuple[Sheet, int, int]]:
        """Where :meth:`size_probes` puts each anchor's probe: (sheet, row, col 0)."""
        next_row: dict[str, int] = {}
        out = []
        for sheet, _ in anchors:
            if sheet.part not in next_row:
                rows = [int(r) for r in re.findall(rb"<(?:\w+:)?row\b[^>]*?\br\s*=\s*[\"']([0-9]+)", sheet.data)]
                last = max(rows + [r + 1 for r in sheet.table.rows] + [a[2] + 1 for a in sheet.arrays.values()])
                next_row[sheet.part] = last + 1  # 0-based: one empty row, then the probes
            out.append((sheet, next_row[sheet.part], 0))
            next_row[sheet.part] += 1
        return out

    def resize(self, sheet: Sheet, anchor: Cell, rows: int, cols: int) -> None:
        """Give a dynamic array the size its formula now has, as Excel does.

        Cells it no longer covers are cleared, cells it newly covers are created; a spill
        onto a cell holding something is blocked: the anchor becomes ``#SPILL!`` and
        covers itself only (:attr:`Sheet.blocked`).
        """
        r1, c1, r2, c2 = sheet.arrays[(anchor.row, anchor.col)]
        new = (anchor.row, anchor.col, anchor.row + rows - 1, anchor.col + cols - 1)
        if new == (r1, c1, r2, c2) or rows < 1 or cols < 1 or new[2] > 1_048_575 or new[3] > 16_383:
            return
        others = [a for k, a in sheet.arrays.items() if k != (anchor.row, anchor.col)]
        blocked = any(
            ((r, c) in sheet.occupied and not (r1 <= r <= r2 and c1 <= c <= c2))
            or any(a[0] <= r <= a[2] and a[1] <= c <= a[3] for a in others)
            for r in range(new[0], new[2] + 1)
            for c in range(new[1], new[3] + 1)
        )
        if blocked:
            sheet.blocked.add((anchor.row, anchor.col))
            new = (anchor.row, anchor.col, anchor.row, anchor.col)
        inside = lambda r, c: new[0] <= r <= new[2] and new[1] <= c <= new[3]  # noqa: E731
        keep = []
        for cell in sheet.cells:
            if r1 <= cell.row <= r2 and c1 <= cell.col <= c2 and cell is not anchor and not inside(cell.row, cell.col):
                if not cell.virtual:
                    sheet.cleared.append(cell)
                continue
            keep.append(cell)
        sheet.cells[:] = keep
        old_f = anchor.f_xml
        ref = f"{col_name(new[1])}{new[0] + 1}"
        if new[2:] != new[:2]:
            ref += f":{col_name(new[3])}{new[2] + 1}"
        anchor.f_xml = re.sub(rb"""\bref\s*=\s*(["'])[^"']*\1""", b'ref="' + ref.encode() + b'"', old_f, count=1)
        sheet.resized[(anchor.row, anchor.col)] = (old_f, anchor.f_xml)
        sheet.arrays[(anchor.row, anchor.col)] = new
        self._add_missing_members(sheet)
        sheet.retable()

    @staticmethod
    def _resize_replacements(sheet: Sheet) -> list[tuple[Cell, bytes]]:
        """LibreOffice's copy of resized arrays: the anchors' new ``ref``, cleared cells empty."""
        if not sheet.resized and not sheet.cleared:
            return []
        out = []
        for cell in sheet.cells:
            change = sheet.resized.get((cell.row, cell.col))
            if change and not cell.virtual:
                out.append((cell, sheet.data[cell.start : cell.end].replace(change[0], change[1], 1)))
        out += [(cell, empty_cell_xml(sheet.prefix, cell)) for cell in sheet.cleared]
        return out

    @staticmethod
    def _normalised_part(data: bytes, prefix: bytes, tag: bytes, hit: re.Pattern) -> bytes | None:
        """``data`` with the text of every <tag> element that calls ours normalised."""
        p = prefix if prefix.startswith(b"(?") else re.escape(prefix)
        # Only elements whose text contains one of the spellings match, so the Python
        # callback runs for the formulas to rewrite and not for every formula.
        element = re.compile(
            rb"(<" + p + tag + rb"\b[^>]*>)([^<]*?(?:" + hit.pattern.encode() + rb")[^<]*)(</" + p + tag + rb">)"
        )

        def fix(match):
            array = b"array" in match.group(1) and T_ATTR.search(match.group(1)).group(1) == b"array"
            new, _ = formulas.normalise_xml(match.group(2).decode("utf-8"), array)
            return match.group(1) + new.encode("utf-8") + match.group(3)

        new = element.sub(fix, data)
        return None if new == data else new

    # ------------------------------------------------------------------ writing
