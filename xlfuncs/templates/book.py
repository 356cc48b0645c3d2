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
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.worksheet import Worksheet

from ..adapter import to_serial
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

    def __init__(self, native: bool):
        self.wb = Workbook()
        self.wb.remove(self.wb.active)
        self.native = native
        self.values: dict[tuple[str, str], Value] = {}
        self.formulas: dict[tuple[str, str], str] = {}
        self.names: dict[str, tuple[str, str]] = {}

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
            raise LookupError(f"a formula reads {quote_sheet(sheet)}!{coord} before it is written") from None


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
        min_col, min_row, max_col, max_row = range_boundaries(ref)
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
            if isinstance(value, str) and value.startswith(FORMULA_STARTS):
                # Text that Excel would read as a formula when typed ("=HYPERLINK(...)",
                # "+1", "@name") stays text: a string cell, quote-prefixed like Excel's '=.
                cell.data_type = "s"
                cell.quotePrefix = True
        _apply(cell, look, fmt)
        self.book.values[(self.sheet, coord)] = stored
        return Ref(self.sheet, coord)

    def formula(self, coord: str, expr: Expr, look: Look = CALC, fmt: str | None = None) -> Ref:
        """Write a formula, rendered for this edition, and record its evaluated value."""
        text = expr.render(self)
        cell = self.ws[coord]
        cell.value = "=" + text
        _apply(cell, look, fmt)
        self.book.formulas[(self.sheet, coord)] = text
        self.book.values[(self.sheet, coord)] = expr.evaluate(self)
        return Ref(self.sheet, coord)

    def define(self, name: str, coord: str) -> Name:
        """Make ``name`` a workbook-level name of one cell of this sheet."""
        col = coord.rstrip("0123456789")
        target = f"{quote_sheet(self.sheet)}!${col}${coord[len(col) :]}"
        self.book.wb.defined_names[name] = DefinedName(name, attr_text=target)
        self.book.names[name] = (self.sheet, coord)
        return Name(name)

    def style(self, coord: str, look: Look, fmt: str | None = None) -> None:
        """Style a cell without giving it a value (a banded empty cell)."""
        _apply(self.ws[coord], look, fmt)

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
