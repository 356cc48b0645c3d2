"""Workbook building blocks: cells that know their value, a house style, page set-up.

:class:`Book` wraps an openpyxl workbook. Every cell a template writes goes through a
:class:`Page` (one per worksheet), which records the cell's value as Excel would see it:
constants as they are (dates as serial numbers), formulas by evaluating their
:class:`~xlfuncs.templates.expr.Expr` at once. Templates write cells in dependency order
(inputs first), so every formula reads cells whose values are already known; reading a
cell that was never written is a programming error and raises, rather than silently
counting as blank.

The recorded values are what :mod:`xlfuncs.templates.generate` writes into the file as
cached values.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Callable, Mapping
from copy import copy
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.formula import ArrayFormula
from openpyxl.worksheet.worksheet import Worksheet

from ..adapter import to_serial
from ..errors import ExcelError
from .expr import Expr, Name, Ref, Value, quote_sheet

# House style: dark blue headers, yellow inputs in blue type (the finance convention for
# "type here"), black calculated figures, light grey key rows.
NAVY = "1F3864"
BLUE_INPUT = "0000CC"
INPUT_FILL = "FFF2CC"
KEY_FILL = "DDEBF7"
BAND_FILL = "F2F2F2"
GREY_TEXT = "595959"
LINE = "BFBFBF"

FORMULA_STARTS = ("=", "+", "-", "@")

_thin = Side(style="thin", color=LINE)
_BOX = Border(left=_thin, right=_thin, top=_thin, bottom=_thin)
_UNDER = Border(bottom=Side(style="medium", color=NAVY))


@dataclass(frozen=True)
class Look:
    """How one cell looks: font, fill, border, alignment and whether it is an input."""

    bold: bool = False
    italic: bool = False
    size: float = 10
    color: str = "000000"
    fill: str | None = None
    border: Border | None = None
    h: str | None = None  # horizontal alignment
    wrap: bool = False
    input: bool = False
    indent: int = 0


TITLE = Look(bold=True, size=16, color=NAVY)
SUBTITLE = Look(italic=True, color=GREY_TEXT)
HEADER = Look(bold=True, color="FFFFFF", fill=NAVY, h="center", wrap=True)
HEADER_LEFT = Look(bold=True, color="FFFFFF", fill=NAVY, wrap=True, indent=1)
GROUP = Look(bold=True, color=NAVY, border=_UNDER)
# Text one indent step off the cell border: tables read less cramped.
LABEL = Look(border=_BOX, indent=1)
LABEL_KEY = Look(bold=True, fill=KEY_FILL, border=_BOX, indent=1)
NOTE = Look(italic=True, color=GREY_TEXT, size=9, wrap=True, border=_BOX, indent=1)
NOTE_PLAIN = Look(italic=True, color=GREY_TEXT, size=9)
CALC = Look(border=_BOX)
CALC_KEY = Look(bold=True, fill=KEY_FILL, border=_BOX)
CALC_CENTER = Look(border=_BOX, h="center")
CALC_KEY_CENTER = Look(bold=True, fill=KEY_FILL, border=_BOX, h="center")
INPUT = Look(color=BLUE_INPUT, fill=INPUT_FILL, border=_BOX, input=True)
INPUT_TEXT = Look(color=BLUE_INPUT, fill=INPUT_FILL, border=_BOX, input=True, h="left", indent=1)
AXIS_INPUT = Look(bold=True, color=BLUE_INPUT, fill=INPUT_FILL, border=_BOX, input=True, h="center")
AXIS = Look(bold=True, fill=BAND_FILL, border=_BOX, h="center")


def _apply(cell, look: Look, fmt: str | None) -> None:
    cell.font = Font(name="Calibri", bold=look.bold, italic=look.italic, size=look.size, color=look.color)
    if look.fill:
        cell.fill = PatternFill("solid", start_color=look.fill, end_color=look.fill)
    if look.border is not None:
        cell.border = look.border
    if look.h or look.wrap or look.indent:
        cell.alignment = Alignment(
            horizontal=look.h or ("left" if look.indent else None),
            vertical="center" if look.wrap else None,
            wrap_text=look.wrap,
            indent=look.indent,
        )
    # Locked is the default of every cell; inputs are the only unlocked ones, so with the
    # sheet protected a reader can change the assumptions but not break a formula.
    cell.protection = Protection(locked=not look.input)
    if fmt:
        cell.number_format = fmt


class Book:
    """An openpyxl workbook plus the value of every cell written through it."""

    def __init__(self, native: bool, direct: bool = False):
        self.wb = Workbook()
        self.wb.remove(self.wb.active)
        self.native = native
        # Direct mode: cells are not openpyxl objects but XML written with their cached
        # values (see finish_direct); what a large workbook needs to be built in seconds.
        self.direct = direct
        self.cells: dict[str, dict[int, dict[int, str]]] = {}
        # (sheet, "B6:AE300") -> the grid of a spill there: a range that is exactly a spill
        # reads the grid instead of every cell.
        self.blocks: dict[tuple[str, str], list] = {}
        # Direct mode: rectangles of cells kept as grids, written as XML only at the end
        # (spill cells, the export's columns): no per-cell objects for millions of cells.
        self.grids: dict[str, list[Grid]] = {}
        self._xf: dict[tuple[int, str | None], int] = {}
        self.values: dict[tuple[str, str], Value] = {}
        self.formulas: dict[tuple[str, str], str] = {}
        self.names: dict[str, tuple[str, str]] = {}
        # Sheet title -> anchor cells of Excel 365 dynamic arrays (see Page.spill).
        self.dynamic_arrays: dict[str, list[str]] = {}
        # (look, number format) -> the style array openpyxl made for it: applying a look
        # costs a few lookups in openpyxl's style lists, copying a made one costs nothing.
        self.styles: dict[tuple[Look, str | None], object] = {}

    def apply(self, cell, look: Look, fmt: str | None) -> None:
        """Give ``cell`` a look and number format (cached per workbook)."""
        key = (look, fmt)
        made = self.styles.get(key)
        if made is None:
            _apply(cell, look, fmt)
            self.styles[key] = copy(cell._style)
        else:
            cell._style = copy(made)

    def xf(self, ws: Worksheet, look: Look, fmt: str | None) -> int:
        """The workbook's cell-format index of a look (direct mode)."""
        key = (id(look), fmt)
        index = self._xf.get(key)
        if index is None:
            from openpyxl.cell import Cell

            scratch = Cell(ws)
            _apply(scratch, look, fmt)
            index = self._xf[key] = self.wb._cell_styles.add(scratch._style)
        return index

    def emit(self, sheet: str, coord: str, xml: str) -> None:
        col, row = _split(coord)
        self.cells.setdefault(sheet, {}).setdefault(row, {})[col] = xml

    def page(self, title: str) -> Page:
        return Page(self, self.wb.create_sheet(title))

    def page_of(self, title: str) -> Page:
        return Page(self, self.wb[title])

    def name_value(self, name: str) -> Value:
        sheet, coord = self.names[name]
        return self.value_of(sheet, coord)

    def value_of(self, sheet: str, coord: str) -> Value:
        try:
            return self.values[(sheet, coord)]
        except KeyError:
            pass
        if sheet in self.grids:
            col, row = _split(coord)
            for grid in self.grids[sheet]:
                if grid.row0 <= row < grid.row0 + grid.rows and grid.col0 <= col < grid.col0 + grid.cols:
                    return grid.values[row - grid.row0][col - grid.col0]
        raise LookupError(f"a formula reads {quote_sheet(sheet)}!{coord} before it is written")

    def all_values(self) -> BookValues:
        """Every cell's value: the per-cell ones and those of the grids."""
        return BookValues(self)

    def all_formulas(self) -> BookFormulas:
        """Every formula cell's text: the per-cell ones and those of formula grids."""
        return BookFormulas(self)


class Page:
    """One worksheet: write constants and formulas, define names, set up printing.

    A Page is also the evaluation context (:class:`~xlfuncs.templates.expr.Context`) of
    the formulas written on it.
    """

    def __init__(self, book: Book, ws: Worksheet):
        self.book = book
        self.ws = ws

    # Context protocol ------------------------------------------------------------
    @property
    def native(self) -> bool:
        return self.book.native

    @property
    def sheet(self) -> str:
        return self.ws.title

    def cell_value(self, sheet: str, coord: str) -> Value:
        return self.book.value_of(sheet, coord)

    def range_values(self, sheet: str, ref: str) -> list:
        block = self.book.blocks.get((sheet, ref))
        if block is not None:
            return block
        min_col, min_row, max_col, max_row = range_boundaries(ref)
        for grid in self.book.grids.get(sheet, ()):
            if (
                grid.row0 <= min_row
                and max_row < grid.row0 + grid.rows
                and grid.col0 <= min_col
                and max_col < grid.col0 + grid.cols
            ):
                c0, c1 = min_col - grid.col0, max_col - grid.col0 + 1
                return [line[c0:c1] for line in grid.values[min_row - grid.row0 : max_row - grid.row0 + 1]]
        return [
            [self.book.value_of(sheet, f"{get_column_letter(c)}{r}") for c in range(min_col, max_col + 1)]
            for r in range(min_row, max_row + 1)
        ]

    def name_value(self, name: str) -> Value:
        return self.book.name_value(name)

    # Writing ---------------------------------------------------------------------
    def ref(self, coord: str, absolute: bool = False) -> Ref:
        """A reference to a cell of this sheet (``$B$5`` when absolute)."""
        if absolute:
            col = coord.rstrip("0123456789")
            coord = f"${col}${coord[len(col) :]}"
        return Ref(self.sheet, coord)

    def put(self, coord: str, value, look: Look = CALC, fmt: str | None = None) -> Ref:
        """Write a constant (number, text, date or None for a deliberately empty cell)."""
        if self.book.direct:
            return self._put_direct(coord, value, look, fmt)
        cell = self.ws[coord]
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            cell.value = value
            stored: Value = to_serial(value)
            fmt = fmt or "yyyy-mm-dd"
        elif isinstance(value, bool):
            raise TypeError("templates write no logicals")
        elif isinstance(value, int):
            cell.value = value
            stored = float(value)
        else:
            cell.value = value
            stored = value
        self.book.apply(cell, look, fmt)
        if isinstance(value, str) and value.startswith(FORMULA_STARTS):
            # Text that Excel would read as a formula when typed ("=HYPERLINK(...)",
            # "+1", "@name") stays text: a string cell, quote-prefixed like Excel's '=.
            cell.data_type = "s"
            cell.quotePrefix = True
        self.book.values[(self.sheet, coord)] = stored
        return Ref(self.sheet, coord)

    def _put_direct(self, coord: str, value, look: Look, fmt: str | None) -> Ref:
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            stored: Value = to_serial(value)
            fmt = fmt or "yyyy-mm-dd"
        elif isinstance(value, bool):
            raise TypeError("templates write no logicals")
        elif isinstance(value, int):
            stored = float(value)
        else:
            stored = value
        s = self.book.xf(self.ws, look, fmt)
        self.book.values[(self.sheet, coord)] = stored
        if stored is None or stored == "":
            xml = f'<c r="{coord}" s="{s}"/>'
        elif isinstance(stored, str):
            xml = f'<c r="{coord}" s="{s}" t="inlineStr"><is><t xml:space="preserve">{_esc(stored)}</t></is></c>'
        else:
            xml = _cell_xml(coord, s, stored, "")
        self.book.emit(self.sheet, coord, xml)
        return Ref(self.sheet, coord)

    def put_grid(self, coord: str, columns: list[list], looks: list[tuple[Look, str | None]]) -> None:
        """Write a block of constants column by column (direct mode: kept as a grid).

        Dates become serial numbers (their look needs a date format); None is an empty
        styled cell.
        """
        col0, row0 = range_boundaries(coord)[:2]
        if not self.book.direct:
            for j, (column, (look, fmt)) in enumerate(zip(columns, looks)):
                letter = get_column_letter(col0 + j)
                for i, value in enumerate(column):
                    self.put(f"{letter}{row0 + i}", value, look, fmt)
            return
        converted = []
        for column in columns:
            converted.append(
                [to_serial(v) if isinstance(v, dt.date) else (float(v) if isinstance(v, int) else v) for v in column]
            )
        rows = [list(line) for line in zip(*converted)]
        styles = [self.book.xf(self.ws, look, fmt) for look, fmt in looks]
        self.book.grids.setdefault(self.sheet, []).append(Grid(row0, col0, rows, styles))

    def formula(
        self, coord: str, expr: Expr, look: Look = CALC, fmt: str | None = None, value: Value | None = None
    ) -> Ref:
        """Write a formula, rendered for this edition, and record its evaluated value.

        ``value``: the value when the template computed it already (a column of one
        function evaluated in one call); direct mode only.
        """
        text = expr.render(self)
        if self.book.direct:
            if value is None:
                value = expr.evaluate(self)
            self.book.formulas[(self.sheet, coord)] = text
            self.book.values[(self.sheet, coord)] = value
            s = self.book.xf(self.ws, look, fmt)
            self.book.emit(self.sheet, coord, _cell_xml(coord, s, value, f"<f>{_esc(text)}</f>"))
            return Ref(self.sheet, coord)
        cell = self.ws[coord]
        cell.value = "=" + text
        self.book.apply(cell, look, fmt)
        self.book.formulas[(self.sheet, coord)] = text
        self.book.values[(self.sheet, coord)] = expr.evaluate(self)
        return Ref(self.sheet, coord)

    def spill(
        self,
        coord: str,
        expr: Expr,
        rows: int,
        cols: int,
        look: Look = CALC,
        fmt: str | None = None,
        native_cell: Callable[[int, int], str] | None = None,
    ) -> list[list[Value]]:
        """Write a spilling function at ``coord`` (its top-left cell); ``rows`` x ``cols`` cells.

        The UDF edition writes an Excel 365 dynamic array: the formula once, as an array
        formula over the spill range whose anchor :func:`mark_dynamic_arrays` later flags
        with ``cm="1"`` (so Excel spills it instead of showing ``{=...}``), and every cell of
        the range gets its cached value. The native edition writes ``native_cell(i, j)`` into
        each cell (one built-in formula per cell). Returns the evaluated grid.
        """
        value = expr.evaluate(self)
        if isinstance(value, list) and len(value) == rows and all(len(r) == cols for r in value):
            grid = value
        else:
            # A whole-call error (or an unexpected shape): every cell shows the error.
            single = value if not isinstance(value, list) else value[0][0]
            grid = [[single] * cols for _ in range(rows)]
        col0, row0 = range_boundaries(coord)[:2]
        last = f"{get_column_letter(col0 + cols - 1)}{row0 + rows - 1}"
        self.book.blocks[(self.sheet, f"{coord}:{last}")] = grid
        sheet = self.sheet
        values = self.book.values
        formulas = self.book.formulas
        if self.book.direct:
            s = self.book.xf(self.ws, look, fmt)
            emit = self.book.emit
            if self.native and native_cell is not None:
                # One formula per cell, rendered when the sheet is written (and when asked
                # for): millions of long SUMPRODUCTs are not kept in memory twice.
                self.book.grids.setdefault(sheet, []).append(Grid(row0, col0, grid, [s] * cols, formula=native_cell))
                return grid
            text = expr.render(self)
            formulas[(sheet, coord)] = text
            anchor = f'<f t="array" ref="{coord}:{last}">{_esc(text)}</f>'
            # The spill's cells are a grid (written at the end); the anchor is a cell.
            self.book.grids.setdefault(sheet, []).append(Grid(row0, col0, grid, [s] * cols, skip_first=True))
            values[(sheet, coord)] = grid[0][0]
            emit(sheet, coord, _cell_xml(coord, s, grid[0][0], anchor, ' cm="1"'))
            self.book.dynamic_arrays.setdefault(sheet, []).append(coord)
            return grid
        first = self.ws[coord]
        self.book.apply(first, look, fmt)
        style = first._style
        if self.native and native_cell is not None:
            for i in range(rows):
                for j in range(cols):
                    ref = f"{get_column_letter(col0 + j)}{row0 + i}"
                    text = native_cell(i, j)
                    cell = self.ws[ref]
                    cell.value = "=" + text
                    cell._style = copy(style)
                    formulas[(sheet, ref)] = text
                    values[(sheet, ref)] = grid[i][j]
            return grid
        text = expr.render(self)
        first.value = ArrayFormula(f"{coord}:{last}", "=" + text)
        formulas[(sheet, coord)] = text
        self.book.dynamic_arrays.setdefault(sheet, []).append(coord)
        ws = self.ws
        for i in range(rows):
            for j in range(cols):
                ref = f"{get_column_letter(col0 + j)}{row0 + i}"
                if i or j:
                    # A placeholder the cached value replaces: a spill cell holds no formula.
                    cell = ws.cell(row=row0 + i, column=col0 + j, value=0)
                    cell._style = copy(style)
                values[(sheet, ref)] = grid[i][j]
        return grid

    def define(self, name: str, coord: str) -> Name:
        """Make ``name`` a workbook-level name of one cell of this sheet."""
        col = coord.rstrip("0123456789")
        target = f"{quote_sheet(self.sheet)}!${col}${coord[len(col) :]}"
        self.book.wb.defined_names[name] = DefinedName(name, attr_text=target)
        self.book.names[name] = (self.sheet, coord)
        return Name(name)

    def style(self, coord: str, look: Look, fmt: str | None = None) -> None:
        """Style a cell without giving it a value (a banded empty cell)."""
        self.book.apply(self.ws[coord], look, fmt)

    def widths(self, **columns: float) -> None:
        for col, width in columns.items():
            self.ws.column_dimensions[col].width = width

    def setup(
        self,
        *,
        title_rows: str | None,
        company: str,
        page_text: str,
        tab: str,
        paper_a4: bool,
        landscape: bool = True,
    ) -> None:
        """Print and view set-up shared by every sheet; protects the sheet."""
        ws = self.ws
        ws.sheet_view.showGridLines = False
        ws.sheet_properties.tabColor = tab
        ws.page_setup.orientation = "landscape" if landscape else "portrait"
        ws.page_setup.paperSize = ws.PAPERSIZE_A4 if paper_a4 else ws.PAPERSIZE_LETTER
        # Fit every column on the page; as many pages down as it takes.
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.print_options.horizontalCentered = True
        ws.page_margins.left = ws.page_margins.right = 0.5
        ws.page_margins.top = ws.page_margins.bottom = 0.75
        ws.page_margins.header = ws.page_margins.footer = 0.3
        if title_rows:
            ws.print_title_rows = title_rows
        ws.oddHeader.left.text = company.replace("&", "&&")  # "&" starts a header code ("&T" is the time)
        ws.oddHeader.left.size = 9
        ws.oddHeader.right.text = "&A"
        ws.oddHeader.right.size = 9
        ws.oddFooter.left.text = "&F"
        ws.oddFooter.left.size = 8
        ws.oddFooter.right.text = page_text
        ws.oddFooter.right.size = 8
        # No password: protection guards against slips, not against people.
        ws.protection.sheet = True
        ws.protection.formatColumns = False
        ws.protection.formatRows = False


# Excel 365 marks a dynamic array (a formula that spills) with cell metadata: the anchor
# cell's cm="1" points at the XLDAPR record of xl/metadata.xml. Without it Excel reads the
# array formula as a legacy Ctrl+Shift+Enter one ({=...}).
_METADATA = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<metadata xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    b'xmlns:xda="http://schemas.microsoft.com/office/spreadsheetml/2017/dynamicarray">'
    b'<metadataTypes count="1"><metadataType name="XLDAPR" minSupportedVersion="120000" copy="1" '
    b'pasteAll="1" pasteValues="1" merge="1" splitFirst="1" rowColShift="1" clearFormats="1" '
    b'clearComments="1" assign="1" coerce="1" cellMeta="1"/></metadataTypes>'
    b'<futureMetadata name="XLDAPR" count="1"><bk><extLst>'
    b'<ext uri="{bdbb8cdc-fa1e-496e-a857-3c3f30c029c3}">'
    b'<xda:dynamicArrayProperties fDynamic="1" fCollapsed="0"/></ext></extLst></bk></futureMetadata>'
    b'<cellMetadata count="1"><bk><rc t="1" v="0"/></bk></cellMetadata></metadata>'
)
_METADATA_TYPE = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheetMetadata+xml"
_METADATA_REL = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships/sheetMetadata"


def mark_dynamic_arrays(path: Path, anchors: dict[str, list[str]], titles: list[str]) -> None:
    """Flag the anchors of an openpyxl-saved file as dynamic arrays, in place.

    ``titles`` are the sheet titles in workbook order (openpyxl saves sheet N as
    ``xl/worksheets/sheetN.xml``).
    """
    path = Path(path)
    parts: dict[str, bytes] = {}
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        for info in infos:
            parts[info.filename] = zf.read(info)
    for title, coords in anchors.items():
        part = f"xl/worksheets/sheet{titles.index(title) + 1}.xml"
        data = parts[part]
        for coord in coords:
            data, n = re.subn(
                rb'<c r="' + coord.encode() + rb'"', b'<c r="' + coord.encode() + b'" cm="1"', data, count=1
            )
            if n != 1:
                raise LookupError(f"{title}!{coord}: no such cell in {part}")
        parts[part] = data
    parts["xl/metadata.xml"] = _METADATA
    types = parts["[Content_Types].xml"]
    parts["[Content_Types].xml"] = types.replace(
        b"</Types>", b'<Override PartName="/xl/metadata.xml" ContentType="' + _METADATA_TYPE + b'"/></Types>'
    )
    rels = parts["xl/_rels/workbook.xml.rels"]
    parts["xl/_rels/workbook.xml.rels"] = rels.replace(
        b"</Relationships>",
        b'<Relationship Id="rIdXlfuncsMeta" Type="' + _METADATA_REL + b'" Target="metadata.xml"/></Relationships>',
    )
    tmp = path.with_name(path.name + ".meta")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out:
        for name, data in parts.items():
            out.writestr(name, data)
    tmp.replace(path)


# ------------------------------------------------------------------ direct mode


class Grid:
    """A rectangle of cells held as rows of values (direct mode), one style per column."""

    __slots__ = ("row0", "col0", "values", "styles", "skip_first", "rows", "cols", "formula")

    def __init__(
        self,
        row0: int,
        col0: int,
        values: list,
        styles: list[int],
        skip_first: bool = False,
        formula: Callable[[int, int], str] | None = None,
    ):
        self.row0, self.col0, self.values, self.styles = row0, col0, values, styles
        self.skip_first = skip_first  # the top-left cell is written elsewhere (a spill's anchor)
        self.formula = formula  # (i, j) -> the cell's formula text, for a grid of formulas
        self.rows, self.cols = len(values), (len(values[0]) if values else 0)

    def row_xml(self, r: int) -> dict[int, str]:
        i = r - self.row0
        line = self.values[i]
        out = {}
        for j, value in enumerate(line):
            if j == 0 and self.skip_first and r == self.row0:
                continue
            col = self.col0 + j
            inner = "" if self.formula is None else f"<f>{_esc(self.formula(i, j))}</f>"
            out[col] = _cell_xml(f"{get_column_letter(col)}{r}", self.styles[j], value, inner)
        return out

    def coords(self):
        """(i, j, coord) of every cell the grid writes."""
        for i in range(self.rows):
            for j in range(self.cols):
                if not (i == 0 and j == 0 and self.skip_first):
                    yield i, j, f"{get_column_letter(self.col0 + j)}{self.row0 + i}"


class BookValues(Mapping):
    """(sheet, coord) -> value for every cell written, per-cell or in a grid."""

    def __init__(self, book: Book):
        self.book = book

    def __getitem__(self, key):
        sheet, coord = key
        try:
            return self.book.value_of(sheet, coord)
        except LookupError:
            raise KeyError(key) from None

    def __iter__(self):
        yield from self.book.values
        for sheet, grids in self.book.grids.items():
            for grid in grids:
                for _, _, coord in grid.coords():
                    yield (sheet, coord)

    def __len__(self):
        return sum(1 for _ in self)


class BookFormulas(Mapping):
    """(sheet, coord) -> formula text of every formula cell, per-cell or in a formula grid."""

    def __init__(self, book: Book):
        self.book = book

    def _grids(self):
        for sheet, grids in self.book.grids.items():
            for grid in grids:
                if grid.formula is not None:
                    yield sheet, grid

    def __getitem__(self, key):
        try:
            return self.book.formulas[key]
        except KeyError:
            pass
        sheet, coord = key
        col, row = _split(coord)
        for name, grid in self._grids():
            if name == sheet and grid.row0 <= row < grid.row0 + grid.rows and grid.col0 <= col < grid.col0 + grid.cols:
                return grid.formula(row - grid.row0, col - grid.col0)
        raise KeyError(key)

    def __iter__(self):
        yield from self.book.formulas
        for sheet, grid in self._grids():
            for _, _, coord in grid.coords():
                yield (sheet, coord)

    def __len__(self):
        return len(self.book.formulas) + sum(grid.rows * grid.cols for _, grid in self._grids())


_COORD = re.compile(r"([A-Z]+)(\d+)$")


def _split(coord: str) -> tuple[int, int]:
    letters, digits = _COORD.match(coord).groups()
    col = 0
    for ch in letters:
        col = col * 26 + ord(ch) - 64
    return col, int(digits)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _number(value: float) -> str:
    """A float as ``<v>`` text: integers without ".0", others round-trip exact."""
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


def _cell_xml(coord: str, s: int, value, inner: str, extra: str = "") -> str:
    """One ``<c>`` with its formula (``inner``, may be empty) and its cached value."""
    if type(value) is float:
        return f'<c r="{coord}" s="{s}"{extra}>{inner}<v>{_number(value)}</v></c>'
    if value is None:
        if not inner:
            return f'<c r="{coord}" s="{s}"{extra}/>'
        return f'<c r="{coord}" s="{s}"{extra}>{inner}<v>0</v></c>'
    if isinstance(value, bool):
        return f'<c r="{coord}" s="{s}" t="b"{extra}>{inner}<v>{int(value)}</v></c>'
    if isinstance(value, ExcelError):
        return f'<c r="{coord}" s="{s}" t="e"{extra}>{inner}<v>{value.value}</v></c>'
    if isinstance(value, str):
        if not inner:
            return f'<c r="{coord}" s="{s}" t="inlineStr"{extra}><is><t xml:space="preserve">{_esc(value)}</t></is></c>'
        return f'<c r="{coord}" s="{s}" t="str"{extra}>{inner}<v>{_esc(value)}</v></c>'
    return f'<c r="{coord}" s="{s}"{extra}>{inner}<v>{_number(float(value))}</v></c>'


_ROW = re.compile(r'<row r="(\d+)"([^>]*?)(?:/>|>(.*?)</row>)', re.S)
_CELL = re.compile(r'<c r="([A-Z]+)\d+"[^>]*?(?:/>|>.*?</c>)', re.S)


def _sheet_rows(openpyxl_data: str, ours: dict[int, dict[int, str]], grids: list[Grid]):
    """The ``<row>`` elements of a sheet, in order: openpyxl's rows (row heights, cells
    carrying notes) merged with the direct cells and the grids (a direct cell wins)."""
    rows: dict[int, tuple[str, dict[int, str]]] = {}
    for match in _ROW.finditer(openpyxl_data):
        cells = {}
        for cell in _CELL.finditer(match.group(3) or ""):
            cells[_split(cell.group(1) + "1")[0]] = cell.group(0)
        rows[int(match.group(1))] = (match.group(2), cells)
    numbers = set(rows) | set(ours)
    for grid in grids:
        numbers.update(range(grid.row0, grid.row0 + grid.rows))
    for r in sorted(numbers):
        attrs, cells = rows.get(r, ("", {}))
        for grid in grids:
            if grid.row0 <= r < grid.row0 + grid.rows:
                cells = {**cells, **grid.row_xml(r)}
        mine = ours.get(r)
        if mine:
            cells = {**cells, **mine}
        yield f'<row r="{r}"{attrs}>' + "".join(cells[c] for c in sorted(cells)) + "</row>"


def finish_direct(path: Path, book: Book) -> None:
    """Put the direct cells, the grids (and the dynamic-array flags) into an openpyxl-saved
    file, in place. The sheets are streamed into the zip row by row."""
    path = Path(path)
    titles = [ws.title for ws in book.wb.worksheets]
    direct = {f"xl/worksheets/sheet{titles.index(t) + 1}.xml": t for t in book.cells.keys() | book.grids.keys()}
    tmp = path.with_name(path.name + ".direct")
    try:
        with zipfile.ZipFile(path) as zf, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out:
            for info in zf.infolist():
                data = zf.read(info)
                name = info.filename
                if name in direct:
                    title = direct[name]
                    xml = data.decode("utf-8")
                    start = xml.find("<sheetData")
                    end_tag = xml.find("</sheetData>")
                    end = end_tag + len("</sheetData>") if end_tag >= 0 else xml.find("/>", start) + 2
                    ours = book.cells.get(title, {})
                    grids = book.grids.get(title, [])
                    last_row = max([*ours.keys(), *(g.row0 + g.rows - 1 for g in grids)])
                    last_col = max(
                        [*(max(cols) for cols in ours.values() if cols), *(g.col0 + g.cols - 1 for g in grids)]
                    )
                    head = re.sub(
                        r'<dimension ref="[^"]*"/>',
                        f'<dimension ref="A1:{get_column_letter(last_col)}{last_row}"/>',
                        xml[:start],
                        count=1,
                    )
                    with out.open(name, "w", force_zip64=True) as sheet:
                        sheet.write(head.encode("utf-8") + b"<sheetData>")
                        chunk = []
                        for row in _sheet_rows(xml[start:end], ours, grids):
                            chunk.append(row)
                            if len(chunk) >= 2000:
                                sheet.write("".join(chunk).encode("utf-8"))
                                chunk = []
                        sheet.write(("".join(chunk) + "</sheetData>" + xml[end:]).encode("utf-8"))
                    continue
                if name == "[Content_Types].xml" and book.dynamic_arrays:
                    data = data.replace(
                        b"</Types>",
                        b'<Override PartName="/xl/metadata.xml" ContentType="' + _METADATA_TYPE + b'"/></Types>',
                    )
                elif name == "xl/_rels/workbook.xml.rels" and book.dynamic_arrays:
                    data = data.replace(
                        b"</Relationships>",
                        b'<Relationship Id="rIdXlfuncsMeta" Type="'
                        + _METADATA_REL
                        + b'" Target="metadata.xml"/></Relationships>',
                    )
                out.writestr(name, data)
            if book.dynamic_arrays:
                out.writestr("xl/metadata.xml", _METADATA)
        with zipfile.ZipFile(tmp) as check:  # every part reads back (CRC checked) before it replaces
            bad = check.testzip()
        if bad is not None:
            raise OSError(f"{tmp}: part {bad} did not read back")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
