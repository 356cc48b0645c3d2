"""The ``revenue-report`` template: the board's revenue workbook from a billing export.

One row per subscription in (:mod:`.billing_export`), the workbook a customer-success lead
shows the board out:

* Summary: last month's MRR, ARR, net new MRR, NRR, GRR, churn, quick ratio, ARPU, LTV:CAC
  against 3:1 and payback, with the MRR trend and the MRR bridge charts.
* Subscriptions: the export as an Excel table.
* MRR: customers x months, ``MRR_FROM_SUBS`` over the Subscriptions table.
* Bridge: ``MRR_MOVEMENTS`` and ``CUSTOMER_COUNTS`` month by month, with the ratios.
* Cohorts: ``COHORT_RETENTION`` customer and revenue triangles as heat maps, and the counts.
* Lifetime value: CAC from the spend inputs, CLV from trailing 6-month churn and from the
  fitted shifted-beta-geometric model (``SBG_FIT``), LTV:CAC, payback, survival chart.
* Customers: one row per customer, ``SEGMENT``, ``HEALTH_SCORE``/``HEALTH_STATUS`` inputs.

Spilling functions are written with :meth:`~xlfuncs.templates.book.Page.spill`: a dynamic
array in the add-in edition, one built-in formula per cell (the registry's
``native_cell``) in the native edition.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.comments import Comment
from openpyxl.formatting.rule import ColorScaleRule, FormulaRule
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter as col_letter
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.table import Table, TableColumn, TableStyleInfo

from .. import adapter, registry
from ..errors import ExcelError
from ..labels import HEALTH_LABELS, SEGMENT_LABELS
from . import billing_export, i18n
from . import book as B
from .book import Book, Page
from .expr import IF, IFERROR, Call, Expr, Range, Ref, Value, fn, lift
from .onboarding_roi import GREEN, RED, YELLOW, Formats, _axis_text, _cache_chart, _red_to_green, _rich, _text_fill
from .report_words import WORDS

NAME = "revenue-report"
DESCRIPTION = "The board's revenue workbook from a billing export: MRR bridge, churn, NRR, cohorts, LTV:CAC."

TRAILING_CHURN_MONTHS = 6  # ChartMogul's convention for the churn behind LTV
SPEND_MONTHS = 12
SIGNALS = 4


@dataclass(frozen=True)
class ReportOptions:
    """What ``generate revenue-report`` reads: the export and how to read it."""

    data: Path | None = None
    mapping: tuple[tuple[str, str], ...] = ()
    date_format: str | None = None
    cac_spend: Path | None = None
    currency: str | None = None
    company: str | None = None
    progress: bool | None = False


@dataclass
class ReportInputs:
    subs: billing_export.Subscriptions
    first_month: dt.date
    months: int
    spend: list[float | None]
    currency: str
    company: str
    sample: bool
    customers: list[str | float] = field(default_factory=list)


def _month_index(day: dt.date, first: dt.date) -> int:
    return (day.year - first.year) * 12 + day.month - first.month


def _add_months(day: dt.date, months: int) -> dt.date:
    y, m = divmod(day.month - 1 + months, 12)
    return dt.date(day.year + y, m + 1, 1)


def _key(customer):
    return (1, customer.casefold()) if isinstance(customer, str) else (0, float(customer))


def prepare(options: ReportOptions) -> ReportInputs:
    """Read and check everything before any workbook work (ExportError when unusable)."""
    if options.currency is not None and not (1 <= len(options.currency) <= 4):
        raise billing_export.ExportError(
            [f"--currency {options.currency!r}: give a symbol or code of 1 to 4 characters"]
        )
    if options.data is None:
        if options.mapping or options.date_format:
            raise billing_export.ExportError(["--map and --date-format need --data FILE"])
        subs = billing_export.sample()
    else:
        subs = billing_export.load(options.data, dict(options.mapping), options.date_format, progress=options.progress)
    first = min(subs.start).replace(day=1)
    last = max(max(subs.start), max((e - dt.timedelta(days=1) for e in subs.end if e is not None), default=first))
    months = _month_index(last, first) + 1
    if months < 2:
        raise billing_export.ExportError([f"{subs.source}: the export covers one month; a report needs two or more"])
    if options.cac_spend is not None:
        by_month = billing_export.read_spend(options.cac_spend, options.date_format)
        spend: list[float | None] = [by_month.get(((m := _add_months(first, k)).year, m.month)) for k in range(months)]
    elif options.data is None:
        spend = list(billing_export.sample_spend(subs, first, months))
    else:
        spend = [None] * months
    labels: dict[tuple, str | float] = {}
    for customer in subs.customer:
        labels.setdefault(_key(customer), customer)
    return ReportInputs(
        subs=subs,
        first_month=first,
        months=months,
        spend=spend,
        currency=options.currency or "$",
        company=options.company or "",
        sample=options.data is None,
        customers=[labels[k] for k in sorted(labels)],
    )


class Fixed(Expr):
    """A formula whose text and value the template already knows (a per-cell native twin)."""

    def __init__(self, text: str, value: Value):
        self.text, self.value = text, value

    def render(self, ctx):
        return self.text

    def evaluate(self, ctx):
        return self.value


class Relabel(Expr):
    """A function's text result shown in the reader's language (``"red"`` -> ``"rojo"``)."""

    def __init__(self, inner: Expr, words: dict[str, str]):
        self.inner, self.words = inner, words

    def render(self, ctx):
        keys = ",".join('"' + k + '"' for k in self.words)
        shown = ",".join('"' + v + '"' for v in self.words.values())
        return f"CHOOSE(MATCH({self.inner.render(ctx)},{{{keys}}},0),{shown})"

    def evaluate(self, ctx):
        value = self.inner.evaluate(ctx)
        if isinstance(value, ExcelError):
            return value
        return self.words.get(value, ExcelError.NA)


class NaBlank(Expr):
    """``IF(ISNA(x),"",x)`` over a whole spill: cells not reached yet print empty, and stay
    out of the colour scales."""

    def __init__(self, inner: Expr):
        self.inner = inner

    def render(self, ctx):
        text = self.inner.render(ctx)
        return f'IF(ISNA({text}),"",{text})'

    def evaluate(self, ctx):
        value = self.inner.evaluate(ctx)
        if isinstance(value, list):
            return [["" if v is ExcelError.NA else v for v in row] for row in value]
        return "" if value is ExcelError.NA else value

    @staticmethod
    def cell(text: str) -> str:
        return '""' if text == "NA()" else f'IF(ISNA({text}),"",{text})'


class _Ctx:
    def __init__(self, book: Book, inputs: ReportInputs, t: dict[str, str], lang: str):
        self.book, self.inputs, self.lang = book, inputs, lang
        self.t = {**t, **WORDS[lang]}
        self.money = i18n.money_for(inputs.currency, lang)
        self.cur = self.money.symbol
        self.f = Formats(self.money)
        # Month names in the reader's language whatever the machine's locale ([$-C0A]: es-ES).
        self.month_fmt = "[$-C0A]mmm yyyy" if lang == "es" else "[$-409]mmm yyyy"

    def s(self, key: str, **kw) -> str:
        text = self.t[key]
        return text.format(**kw) if kw else text

    def setup(self, page: Page, title_rows: str | None, tab: str = B.NAVY) -> None:
        page.setup(
            title_rows=title_rows,
            company=self.inputs.company or self.s("rr.doc.title"),
            page_text=self.t["page"],
            tab=tab,
            paper_a4=self.lang != "en",
        )


def _calc(p: Page, coord: str, expr: Expr, look: B.Look, fmt: str | None, ctx: _Ctx) -> Ref:
    """A formula; in the native edition, a function without a built-in twin is stored as its
    value with a note saying so."""
    if p.native:
        try:
            expr.render(p)
        except ValueError:
            value = expr.evaluate(p)
            ref = p.put(coord, value, look, fmt)
            p.ws[coord].comment = Comment(ctx.s("rr.note.value"), "xlfuncs")
            return ref
    return p.formula(coord, expr, look, fmt)


def _header(p: Page, row: int, texts: list[str], first_col: int = 1) -> None:
    for k, text in enumerate(texts):
        p.put(f"{col_letter(first_col + k)}{row}", text, B.HEADER_LEFT if k == 0 and first_col == 1 else B.HEADER)


# ------------------------------------------------------------------------ Subscriptions


def _subscriptions(ctx: _Ctx) -> dict:
    subs = ctx.inputs.subs
    p = ctx.book.page(ctx.s("rr.sheet.subs"))
    f = ctx.f
    p.widths(A=22, B=12, C=12, D=13, E=11, F=14, G=14)
    p.put("A1", ctx.s("rr.subs.title"), B.TITLE)
    source = ctx.s("rr.sample") if ctx.inputs.sample else subs.source
    p.put("A2", ctx.s("rr.subs.subtitle", source=source, n=len(subs)), B.SUBTITLE)
    head = 4
    heads = [ctx.s(f"rr.subs.h.{k}") for k in ("customer", "start", "end", "amount", "interval", "plan", "segment")]
    _header(p, head, heads)
    p.ws.row_dimensions[head].height = 30
    first = head + 1
    ws = p.ws
    # The export is data, not a calculation: one look per column.
    looks = [(B.INPUT_TEXT, None), (B.INPUT, f.date), (B.INPUT, f.date), (B.INPUT, f.money2), (B.INPUT, f.int)]
    looks += [(B.INPUT_TEXT, None), (B.INPUT_TEXT, None)]
    columns = (subs.customer, subs.start, subs.end, subs.amount, subs.interval, subs.plan, subs.segment)
    p.put_grid(f"A{first}", list(columns), looks)
    last = first + len(subs) - 1
    table = Table(displayName=ctx.s("rr.subs.table"), ref=f"A{head}:G{last}")
    # Named here: openpyxl would read the names from header cells the direct mode does not keep.
    table.tableColumns = [TableColumn(id=k + 1, name=text) for k, text in enumerate(heads)]
    table.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
    ws.add_table(table)
    ws.freeze_panes = f"A{first}"
    ctx.setup(p, f"{head}:{head}", tab="A6A6A6")
    return {
        name: Range(p.sheet, f"${col}${first}:${col}${last}")
        for name, col in zip(("customer", "start", "end", "amount", "interval"), "ABCDE")
    }


# --------------------------------------------------------------------------------- MRR


def _mrr(ctx: _Ctx, data: dict) -> dict:
    inp = ctx.inputs
    p = ctx.book.page(ctx.s("rr.sheet.mrr"))
    f = ctx.f
    n, m = len(inp.customers), inp.months
    p.widths(A=22, **{col_letter(2 + j): 10 for j in range(m)})
    p.put("A1", ctx.s("rr.mrr.title"), B.TITLE)
    p.put("A2", ctx.s("rr.mrr.subtitle"), B.SUBTITLE)
    p.put("A3", ctx.s("rr.mrr.first"), B.LABEL)
    first_cell = p.put("B3", inp.first_month, B.INPUT, ctx.month_fmt)
    p.put("C3", ctx.s("rr.mrr.months"), B.LABEL)
    months_cell = p.put("D3", m, B.INPUT, f.int)
    head = 5
    p.put(f"A{head}", ctx.s("rr.mrr.customer"), B.HEADER_LEFT)
    month_refs = []
    for j in range(m):
        month_refs.append(p.put(f"{col_letter(2 + j)}{head}", _add_months(inp.first_month, j), B.HEADER, ctx.month_fmt))
    first = head + 1
    last = first + n - 1
    for i, customer in enumerate(inp.customers):
        p.put(f"A{first + i}", customer, B.LABEL)
    expr = fn(
        "MRR_FROM_SUBS",
        data["customer"],
        data["start"],
        data["end"],
        data["amount"],
        data["interval"],
        first_cell,
        months_cell,
    )
    twin = registry.get("MRR_FROM_SUBS")
    rendered = {k: v.render(p) for k, v in data.items()}

    def cell(i, j):
        return twin.native_cell(i, j, **rendered, label=f"$A{first + i}", month=f"{col_letter(2 + j)}${head}")

    grid = p.spill(f"B{first}", expr, n, m, B.CALC, f.money, native_cell=cell)
    last_col = col_letter(1 + m)
    total = last + 1
    p.put(f"A{total}", ctx.s("rr.mrr.total"), B.LABEL_KEY)
    totals = []
    for j in range(m):
        col = col_letter(2 + j)
        totals.append(
            p.formula(f"{col}{total}", Call("SUM", (Range(p.sheet, f"{col}{first}:{col}{last}"),)), B.CALC_KEY, f.money)
        )
    columns = [f"{quote(p.sheet)}!${col_letter(2 + j)}${first}:${col_letter(2 + j)}${last}" for j in range(m)]
    helper = None
    if ctx.book.native:
        # The first month with MRR > 0 of each customer: what the per-cell twins of the
        # bridge and cohort tables count with.
        hc = col_letter(3 + m)
        p.widths(**{hc: 12})
        p.put(f"{hc}{head}", ctx.s("rr.mrr.first_active"), B.HEADER)
        for i in range(n):
            row = grid[i]
            index = next((k + 1 for k, v in enumerate(row) if isinstance(v, float) and v > 0), 0)
            text = registry.first_active_native(f"B{first + i}:{last_col}{first + i}")
            p.formula(f"{hc}{first + i}", Fixed(text, float(index)), B.CALC_CENTER, f.int)
        helper = f"{quote(p.sheet)}!${hc}${first}:${hc}${last}"
    p.ws.freeze_panes = f"B{first}"
    ctx.setup(p, f"{head}:{head}")
    p.ws.print_title_cols = "A:A"
    return {
        "page": p,
        "range": Range(p.sheet, f"$B${first}:${last_col}${last}"),
        "columns": columns,
        "helper": helper,
        "totals": totals,
        "months": month_refs,
        "first": first,
        "last": last,
        "grid": grid,
    }


def quote(sheet: str) -> str:
    return "'" + sheet.replace("'", "''") + "'"


def _table_cell(name: str, mrr: dict, **extra):
    twin = registry.get(name)

    def cell(i, j):
        return twin.native_cell(i, j, columns=mrr["columns"], first=mrr["helper"], **extra)

    return cell


# ------------------------------------------------------------------------------ Bridge

_BRIDGE = ("month", "start", "new", "expansion", "reactivation", "contraction", "churned", "net", "end")
_RATIOS = ("quick", "nrr", "grr")
_COUNTS = ("c_start", "c_new", "c_react", "c_churned", "c_end")
_RATES = ("logo_churn", "revenue_churn", "arpu")


def _bridge(ctx: _Ctx, mrr: dict) -> dict:
    inp = ctx.inputs
    p = ctx.book.page(ctx.s("rr.sheet.bridge"))
    f = ctx.f
    steps = inp.months - 1
    keys = _BRIDGE + _RATIOS + _COUNTS + _RATES
    cols = {k: col_letter(1 + i) for i, k in enumerate(keys)}
    p.widths(A=11, **{col_letter(2 + i): 11.5 for i in range(len(keys) - 1)})
    p.put("A1", ctx.s("rr.bridge.title"), B.TITLE)
    p.put("A2", ctx.s("rr.bridge.subtitle"), B.SUBTITLE)
    group = 4
    head = 5
    p.put(f"B{group}", ctx.s("rr.bridge.g.mrr"), B.GROUP)
    for k in keys[2 : len(_BRIDGE) + len(_RATIOS)]:
        p.style(f"{cols[k]}{group}", B.GROUP)
    p.put(f"{cols['c_start']}{group}", ctx.s("rr.bridge.g.customers"), B.GROUP)
    for k in keys[len(_BRIDGE) + len(_RATIOS) + 1 :]:
        p.style(f"{cols[k]}{group}", B.GROUP)
    _header(p, head, [ctx.s(f"rr.bridge.h.{k}") for k in keys])
    p.ws.row_dimensions[head].height = 42
    first = head + 1
    last = first + steps - 1
    for i in range(steps):
        r = first + i
        p.put(f"A{r}", _add_months(inp.first_month, i + 1), B.AXIS, ctx.month_fmt)
        p.formula(f"{cols['start']}{r}", mrr["totals"][i], B.CALC, f.money)
    p.spill(
        f"{cols['new']}{first}",
        fn("MRR_MOVEMENTS", mrr["range"]),
        steps,
        6,
        B.CALC,
        f.money,
        native_cell=_table_cell("MRR_MOVEMENTS", mrr),
    )
    p.spill(
        f"{cols['c_start']}{first}",
        fn("CUSTOMER_COUNTS", mrr["range"]),
        steps,
        5,
        B.CALC,
        f.int,
        native_cell=_table_cell("CUSTOMER_COUNTS", mrr),
    )
    dash = ctx.s("rr.dash")
    for i in range(steps):
        r = first + i

        def ref(key, r=r):
            return p.ref(f"{cols[key]}{r}")

        p.formula(f"{cols['end']}{r}", mrr["totals"][i + 1], B.CALC_KEY, f.money)
        p.formula(
            f"{cols['quick']}{r}",
            IFERROR(
                fn(
                    "QUICK_RATIO", ref("new"), ref("expansion"), ref("contraction"), ref("churned"), ref("reactivation")
                ),
                dash,
            ),
            B.CALC_CENTER,
            f.ratio,
        )
        p.formula(
            f"{cols['nrr']}{r}",
            IFERROR(fn("NRR", ref("start"), ref("expansion"), ref("contraction"), ref("churned")), dash),
            B.CALC_CENTER,
            f.pct,
        )
        p.formula(
            f"{cols['grr']}{r}",
            IFERROR(fn("GRR", ref("start"), ref("contraction"), ref("churned")), dash),
            B.CALC_CENTER,
            f.pct,
        )
        p.formula(
            f"{cols['logo_churn']}{r}",
            IFERROR(fn("CHURN_RATE", ref("c_churned"), ref("c_start")), dash),
            B.CALC_CENTER,
            f.pct,
        )
        lost = Range(p.sheet, f"{cols['contraction']}{r}:{cols['churned']}{r}")
        p.formula(
            f"{cols['revenue_churn']}{r}",
            IFERROR(fn("CHURN_RATE", lost, ref("start")), dash),
            B.CALC_CENTER,
            f.pct,
        )
        p.formula(f"{cols['arpu']}{r}", IFERROR(fn("ARPU", ref("end"), ref("c_end")), dash), B.CALC, f.money2)
    # Losses in red, the ending MRR as the key column.
    p.ws.conditional_formatting.add(
        f"{cols['contraction']}{first}:{cols['churned']}{last}",
        FormulaRule(formula=[f"{cols['contraction']}{first}<0"], font=Font(color=RED[1])),
    )
    p.ws.freeze_panes = f"B{first}"
    ctx.setup(p, f"{group}:{head}")
    p.ws.print_title_cols = "A:A"
    chart = _bridge_chart(ctx, p, cols, head, first, last)
    row = last + 2
    p.put(f"A{row}", ctx.s("rr.bridge.chart.section"), B.GROUP)
    p.ws.add_chart(chart, f"B{row + 1}")
    return {"page": p, "cols": cols, "first": first, "last": last}


def _bridge_chart(
    ctx: _Ctx, p: Page, cols: dict, head: int, first: int, last: int, width: float = 30, height: float = 9.5
):
    bars = BarChart()
    bars.type = "col"
    bars.grouping = "stacked"
    bars.overlap = 100
    bars.gapWidth = 40
    bars.title = _rich(ctx.s("rr.chart.bridge"), 1200)
    bars.height, bars.width = height, width
    colours = {
        "new": "2E75B6",
        "expansion": "70AD47",
        "reactivation": "A9D18E",
        "contraction": "F4B183",
        "churned": "C00000",
    }
    for key, colour in colours.items():
        c = list(cols).index(key) + 1
        bars.add_data(Reference(p.ws, min_col=c, min_row=head, max_row=last), titles_from_data=True)
        series = bars.series[-1]
        series.graphicalProperties.solidFill = colour
        series.graphicalProperties.line.solidFill = colour
    bars.set_categories(Reference(p.ws, min_col=1, min_row=first, max_row=last))
    bars.y_axis.number_format = "#,##0"
    bars.y_axis.txPr = _axis_text()
    bars.x_axis.txPr = _axis_text()
    bars.x_axis.number_format = ctx.month_fmt.replace("yyyy", "yy")
    bars.x_axis.delete = False
    bars.y_axis.delete = False
    bars.x_axis.tickLblPos = "low"
    bars.legend.position = "b"
    net = LineChart()
    c = list(cols).index("net") + 1
    net.add_data(Reference(p.ws, min_col=c, min_row=head, max_row=last), titles_from_data=True)
    net.series[0].graphicalProperties.line.solidFill = "000000"
    net.series[0].graphicalProperties.line.width = 22225
    net.series[0].smooth = False
    bars += net
    _cache_chart(bars, ctx.book)
    _cache_chart(net, ctx.book)
    return bars


# ----------------------------------------------------------------------------- Cohorts


def _hide_na(p, block: str, first: int) -> None:
    """Past the last month there is nothing to show: #N/A in white, an empty triangle (the
    first rule, so that no colour scale paints it)."""
    p.ws.conditional_formatting.add(
        block,
        FormulaRule(
            formula=[f"ISNA(B{first})"],
            font=Font(color="FFFFFF"),
            fill=PatternFill("solid", start_color="FFFFFF", end_color="FFFFFF"),
            stopIfTrue=True,
        ),
    )


def _triangle_frame(ctx: _Ctx, p, row: int, title: str) -> int:
    """A cohort triangle's title row, its header of ages and its axis of starting months;
    the row of its first cohort."""
    m = ctx.inputs.months
    p.put(f"A{row}", ctx.s(title), B.GROUP)
    for j in range(m):
        p.style(f"{col_letter(2 + j)}{row}", B.GROUP)
    head = row + 1
    p.put(f"A{head}", ctx.s("rr.cohorts.corner"), B.HEADER_LEFT)
    for j in range(m):
        p.put(f"{col_letter(2 + j)}{head}", j, B.HEADER, ctx.f.int)
    first = head + 1
    for i in range(m):
        p.put(f"A{first + i}", _add_months(ctx.inputs.first_month, i), B.AXIS, ctx.month_fmt)
    return first


def _cohorts(ctx: _Ctx, mrr: dict) -> dict:
    inp = ctx.inputs
    m = inp.months
    p = ctx.book.page(ctx.s("rr.sheet.cohorts"))
    f = ctx.f
    p.widths(A=19, **{col_letter(2 + j): 6.2 for j in range(m)})
    p.put("A1", ctx.s("rr.cohorts.title"), B.TITLE)
    p.put("A2", ctx.s("rr.cohorts.subtitle"), B.SUBTITLE)
    blocks = {}
    row = 4
    last_col = col_letter(1 + m)
    for measure, fmt in (("customers", f.pct0), ("revenue", f.pct0), ("count", f.int)):
        if measure != "customers":
            p.ws.row_breaks.append(Break(id=row - 1))  # one triangle per page, never split
        first = _triangle_frame(ctx, p, row, f"rr.cohorts.{measure}")
        expr = fn("COHORT_RETENTION", mrr["range"], measure)
        native_cell = _table_cell("COHORT_RETENTION", mrr, measure=measure)
        # Months not reached print empty ("" is also what SBG_FIT skips at a row's end).
        expr, raw_cell = NaBlank(expr), native_cell

        def native_cell(i, j, raw_cell=raw_cell):
            return NaBlank.cell(raw_cell(i, j))

        p.spill(f"B{first}", expr, m, m, B.CALC_CENTER, fmt, native_cell=native_cell)
        block = f"B{first}:{last_col}{first + m - 1}"
        _hide_na(p, block, first)
        if measure == "customers":
            p.ws.conditional_formatting.add(block, _red_to_green(low=0, mid=0.5, high=1))
        elif measure == "revenue":
            p.ws.conditional_formatting.add(block, _red_to_green(low=0, mid=0.6, high=1.2))
        else:
            p.ws.conditional_formatting.add(
                block, ColorScaleRule(start_type="min", start_color="FFFFFF", end_type="max", end_color="9BC2E6")
            )
        blocks[measure] = (first, Range(p.sheet, f"$B${first}:${last_col}${first + m - 1}"))
        row = first + m + 1
    # Survivors for the sBG model: a customer who left and came back is not counted back
    # (the model knows no returns, and SBG_FIT refuses a rising row): the running minimum.
    # Cells not reached stay empty text, like the tables above.
    count_first = blocks["count"][0]
    p.ws.row_breaks.append(Break(id=row - 1))
    first = _triangle_frame(ctx, p, row, "rr.cohorts.survivors")
    for i in range(m):
        low = None
        for j in range(m):
            col = col_letter(2 + j)
            source = p.ref(f"{col}{count_first + i}")
            count = ctx.book.value_of(p.sheet, f"{col}{count_first + i}")
            if not isinstance(count, float):
                value: Value = count
            else:
                low = count if low is None else min(low, count)
                value = low
            expr = IF(
                source.eq(""),
                "",
                Call("MIN", (Range(p.sheet, f"$B{count_first + i}:{col}{count_first + i}"),)),
            )
            p.formula(f"{col}{first + i}", expr, B.CALC_CENTER, f.int, value=value)
    block = f"B{first}:{last_col}{first + m - 1}"
    _hide_na(p, block, first)
    p.ws.conditional_formatting.add(
        block, ColorScaleRule(start_type="min", start_color="FFFFFF", end_type="max", end_color="9BC2E6")
    )
    blocks["survivors"] = (first, Range(p.sheet, f"$B${first}:${last_col}${first + m - 1}"))
    row = first + m + 1
    p.put(f"A{row}", ctx.s("rr.cohorts.note"), B.NOTE_PLAIN)
    ctx.setup(p, None)
    p.ws.print_title_cols = "A:A"
    return {"page": p, "blocks": blocks}


# ---------------------------------------------------------------------- Lifetime value


def _ltv(ctx: _Ctx, mrr: dict, bridge: dict, cohorts: dict) -> dict:
    inp = ctx.inputs
    p = ctx.book.page(ctx.s("rr.sheet.ltv"))
    f = ctx.f
    bp: Page = bridge["page"]
    bc = bridge["cols"]
    blast = bridge["last"]
    m = inp.months
    p.widths(A=40, B=15, C=15, D=13, E=62)
    p.put("A1", ctx.s("rr.ltv.title"), B.TITLE)
    p.put("A2", ctx.s("rr.ltv.subtitle"), B.SUBTITLE)
    p.put("A4", ctx.s("rr.ltv.inputs"), B.GROUP)
    for col in "BCDE":
        p.style(f"{col}4", B.GROUP)
    p.put("A5", ctx.s("rr.ltv.margin"), B.LABEL)
    margin = p.put("B5", 0.8, B.INPUT, f.pct)
    p.put("E5", ctx.s("rr.ltv.margin.help"), B.NOTE)
    p.put("A6", ctx.s("rr.ltv.discount"), B.LABEL)
    yearly = p.put("B6", 0.1, B.INPUT, f.pct)
    p.put("E6", ctx.s("rr.ltv.discount.help"), B.NOTE)
    p.put("A7", ctx.s("rr.ltv.discount_m"), B.LABEL)
    discount = p.formula("B7", (1 + yearly) ** (lift(1) / 12) - 1, B.CALC, f.pct2)
    p.put("E7", ctx.s("rr.ltv.discount_m.help"), B.NOTE)

    # Spend: one input per month, the last 12 months (or all there are), beside the new
    # customers the Bridge counted in that month.
    k = min(SPEND_MONTHS, m - 1)
    top = 9
    p.put(f"A{top}", ctx.s("rr.ltv.spend.group"), B.GROUP)
    for col in "BCDE":
        p.style(f"{col}{top}", B.GROUP)
    p.put(f"A{top + 1}", ctx.s("rr.ltv.month"), B.HEADER_LEFT)
    p.put(f"B{top + 1}", ctx.s("rr.ltv.spend", cur=ctx.cur), B.HEADER)
    p.put(f"C{top + 1}", ctx.s("rr.ltv.new"), B.HEADER)
    p.ws.row_dimensions[top + 1].height = 30
    for q in range(k):
        step = m - 1 - k + q  # bridge row index (0-based) of this month
        r = top + 2 + q
        p.put(f"A{r}", _add_months(inp.first_month, step + 1), B.AXIS, ctx.month_fmt)
        p.put(f"B{r}", inp.spend[step + 1], B.INPUT, f.money)
        p.formula(f"C{r}", bp.ref(f"{bc['c_new']}{bridge['first'] + step}"), B.CALC_CENTER, f.int)
    spend_range = Range(p.sheet, f"B{top + 2}:B{top + 1 + k}")
    new_range = Range(p.sheet, f"C{top + 2}:C{top + 1 + k}")
    p.put(f"E{top + 2}", ctx.s("rr.ltv.spend.help"), B.NOTE_PLAIN)

    row = top + k + 3
    p.put(f"A{row}", ctx.s("rr.ltv.h.metric"), B.HEADER_LEFT)
    p.put(f"B{row}", ctx.s("rr.ltv.h.trailing"), B.HEADER)
    p.put(f"C{row}", ctx.s("rr.ltv.h.sbg"), B.HEADER)
    p.put(f"D{row}", "", B.HEADER)
    p.put(f"E{row}", ctx.s("rr.ltv.h.how"), B.HEADER_LEFT)
    p.ws.row_dimensions[row].height = 30
    dash = ctx.s("rr.dash")
    rows = {}

    def line(key, left, right, fmt, key_row=False):
        nonlocal row
        row += 1
        rows[key] = row
        p.put(f"A{row}", ctx.s(f"rr.ltv.{key}"), B.LABEL_KEY if key_row else B.LABEL)
        look = B.CALC_KEY_CENTER if key_row else B.CALC_CENTER
        refs = []
        for col, expr in (("B", left), ("C", right)):
            if expr is None:
                p.style(f"{col}{row}", look)
                refs.append(None)
            else:
                refs.append(_calc(p, f"{col}{row}", expr, look, fmt, ctx))
        p.style(f"D{row}", look)
        p.put(f"E{row}", ctx.s(f"rr.ltv.{key}.how"), B.NOTE)
        return refs

    cac = line("cac", fn("CAC", spend_range, new_range), None, f.money, key_row=True)[0]
    arpu_ref = bp.ref(f"{bc['arpu']}{blast}")
    arpu = line("arpu", arpu_ref, arpu_ref, f.money2)
    r0 = max(bridge["first"], blast - TRAILING_CHURN_MONTHS + 1)
    churned = Range(bp.sheet, f"{bc['c_churned']}{r0}:{bc['c_churned']}{blast}")
    at_start = Range(bp.sheet, f"{bc['c_start']}{r0}:{bc['c_start']}{blast}")
    churn = line("churn", fn("CHURN_RATE", churned, at_start), None, f.pct2)[0]
    # sBG: alpha and beta from every cohort's counts, fitted jointly.
    row += 1
    rows["sbg"] = row
    p.put(f"A{row}", ctx.s("rr.ltv.sbg"), B.LABEL)
    p.style(f"B{row}", B.CALC_CENTER)
    counts = cohorts["blocks"]["survivors"][1]
    fit_expr = fn("SBG_FIT", counts)
    if p.native:
        fitted = fit_expr.evaluate(p)
        if not isinstance(fitted, list):
            fitted = [[fitted, fitted]]
        for j, col in enumerate("CD"):
            value = fitted[0][j]
            p.put(f"{col}{row}", value, B.CALC_CENTER, "0.0000")
        p.ws[f"C{row}"].comment = Comment(ctx.s("rr.note.sbg_fit"), "xlfuncs")
    else:
        p.spill(f"C{row}", fit_expr, 1, 2, B.CALC_CENTER, "0.0000")
    p.put(f"E{row}", ctx.s("rr.ltv.sbg.how"), B.NOTE)
    alpha, beta = p.ref(f"C{row}"), p.ref(f"D{row}")
    clv = line(
        "clv",
        fn("CLV", arpu[0], churn, margin, discount),
        fn("SBG_CLV", arpu[1], alpha, beta, margin, discount),
        f.money,
        key_row=True,
    )
    ratio = line(
        "ltv_cac",
        IFERROR(fn("LTV_CAC", clv[0], cac), dash),
        IFERROR(fn("LTV_CAC", clv[1], cac), dash),
        f.ratio,
        key_row=True,
    )
    line(
        "rule",
        IF(Call("ISNUMBER", (ratio[0],)), IF(ratio[0].ge(3), ctx.s("pass"), ctx.s("fail")), dash),
        IF(Call("ISNUMBER", (ratio[1],)), IF(ratio[1].ge(3), ctx.s("pass"), ctx.s("fail")), dash),
        None,
        key_row=True,
    )
    cells = f"B{rows['rule']}:C{rows['rule']}"
    _text_fill(p, cells, ctx.s("pass"), GREEN)
    _text_fill(p, cells, ctx.s("fail"), RED)
    payback = line("payback", IFERROR(fn("PAYBACK", cac, arpu[0], margin), ctx.s("never")), None, f.one, key_row=True)[
        0
    ]

    # Survival: observed (all cohorts pooled) against the sBG projection.
    row += 2
    p.ws.row_breaks.append(Break(id=row - 1))  # the survival table and its chart: one page
    p.put(f"A{row}", ctx.s("rr.ltv.survival"), B.GROUP)
    for col in "BCDE":
        p.style(f"{col}{row}", B.GROUP)
    shead = row + 1
    for col, key in zip("ABC", ("age", "observed", "projected")):
        p.put(f"{col}{shead}", ctx.s(f"rr.ltv.s.{key}"), B.HEADER if col != "A" else B.HEADER_LEFT)
    count_first = cohorts["blocks"]["survivors"][0]
    cp: Page = cohorts["page"]
    for t in range(m):
        r = shead + 1 + t
        age = p.put(f"A{r}", t, B.AXIS, f.int)
        col = col_letter(2 + t)
        at_age = Call("SUMIF", (Range(cp.sheet, f"${col}${count_first}:${col}${count_first + m - 1}"), lift(">=0")))
        base = Call(
            "SUMIF",
            (Range(cp.sheet, f"$B${count_first}:$B${count_first + m - 1 - t}"), lift(">=0")),
        )
        p.formula(f"B{r}", IFERROR(at_age / base, dash), B.CALC_CENTER, f.pct)
        _calc(p, f"C{r}", fn("SBG_SURVIVAL", alpha, beta, age), B.CALC_CENTER, f.pct, ctx)
    slast = shead + m
    p.put(f"A{slast + 1}", ctx.s("rr.ltv.s.note"), B.NOTE_PLAIN)
    chart = LineChart()
    chart.title = _rich(ctx.s("rr.chart.survival"), 1200)
    chart.height, chart.width = 9, 16
    chart.add_data(Reference(p.ws, min_col=2, max_col=3, min_row=shead, max_row=slast), titles_from_data=True)
    chart.set_categories(Reference(p.ws, min_col=1, min_row=shead + 1, max_row=slast))
    chart.y_axis.number_format = "0%"
    chart.y_axis.txPr = _axis_text()
    chart.x_axis.txPr = _axis_text()
    chart.x_axis.title = _rich(ctx.s("rr.ltv.s.age"), 900, bold=False)
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.x_axis.tickLblSkip = 3
    chart.y_axis.scaling.min = 0
    for series, colour, dash_style in zip(chart.series, ("2E75B6", "C00000"), (None, "dash")):
        series.graphicalProperties.line.solidFill = colour
        series.graphicalProperties.line.width = 25400
        if dash_style:
            series.graphicalProperties.line.dashStyle = dash_style
        series.smooth = False
    chart.legend.position = "b"
    _cache_chart(chart, ctx.book)
    p.ws.add_chart(chart, f"E{shead}")
    ctx.setup(p, None)
    return {
        "page": p,
        "cac": cac,
        "clv": clv,
        "ratio": ratio,
        "rule_row": rows["rule"],
        "payback": payback,
        "churn": churn,
    }


# --------------------------------------------------------------------------- Customers


def _customers(ctx: _Ctx, mrr: dict) -> None:
    inp = ctx.inputs
    p = ctx.book.page(ctx.s("rr.sheet.customers"))
    f = ctx.f
    m = inp.months
    mp: Page = mrr["page"]
    last_col = col_letter(1 + m)
    p.widths(A=22, B=13, C=13, D=13, E=13, F=12, G=10, **{col_letter(8 + k): 10 for k in range(SIGNALS)}, L=11, M=11)
    p.put("A1", ctx.s("rr.cust.title"), B.TITLE)
    p.put("A2", ctx.s("rr.cust.subtitle"), B.SUBTITLE)
    names = {}
    thresholds = (
        ("vip", 1000.0, f.money),
        ("core", 150.0, f.money),
        ("red_below", 50.0, f.int),
        ("green_from", 75.0, f.int),
    )
    for i, (key, value, fmt) in enumerate(thresholds):
        r = 4 + i
        p.put(f"A{r}", ctx.s(f"rr.cust.{key}"), B.LABEL)
        names[key] = p.put(f"B{r}", value, B.INPUT, fmt)
    head = 9
    heads = [
        ctx.s(f"rr.cust.h.{k}") for k in ("customer", "plan", "data_segment", "mrr", "potential", "segment", "months")
    ]
    heads += [ctx.s(f"rr.cust.sig{k + 1}") for k in range(SIGNALS)]
    heads += [ctx.s("rr.cust.h.score"), ctx.s("rr.cust.h.status")]
    _header(p, head, heads)
    p.ws.row_dimensions[head].height = 30
    wrow = head + 1
    p.put(f"A{wrow}", ctx.s("rr.cust.weights"), B.LABEL_KEY)
    for col in "BCDEFG":
        p.style(f"{col}{wrow}", B.LABEL_KEY)
    sig_cols = [col_letter(8 + k) for k in range(SIGNALS)]
    for k, w in enumerate((3, 2, 1, 2)):
        p.put(f"{sig_cols[k]}{wrow}", w, B.INPUT, f.int)
    p.style(f"L{wrow}", B.LABEL_KEY)
    p.style(f"M{wrow}", B.LABEL_KEY)
    weights = Range(p.sheet, f"${sig_cols[0]}${wrow}:${sig_cols[-1]}${wrow}")
    # Latest plan and segment of each customer, from the export.
    latest: dict[tuple, tuple] = {}
    subs = inp.subs
    for c, start, plan, seg in zip(subs.customer, subs.start, subs.plan, subs.segment):
        key = _key(c)
        if key not in latest or start >= latest[key][0]:
            latest[key] = (start, plan, seg)
    first = wrow + 1
    dash = ctx.s("rr.dash")
    seg_words = {w: ctx.s(f"rr.segment.{w}") for w in SEGMENT_LABELS}
    status_words = {w: ctx.s(f"rr.status.{w}") for w in HEALTH_LABELS}
    rng = np.random.default_rng(3)
    grid = mrr["grid"]
    n = len(inp.customers)
    currents = [row[-1] for row in grid]
    potentials: list[float | None] = [None] * n
    scores: list[list[float | None]] = [[None] * SIGNALS for _ in range(n)]
    if inp.sample:
        for i in range(n):
            now = currents[i] if isinstance(currents[i], float) else 0.0
            potentials[i] = round(now * float(rng.choice((1.0, 1.5, 3.0, 8.0), p=(0.5, 0.25, 0.15, 0.1))), 0)
            base = 35 if now == 0 else 70
            scores[i] = [float(min(100, max(0, round(rng.normal(base, 18))))) for _ in range(SIGNALS)]
    # Each column's function evaluated once over all customers (the cells' cached values).
    value = ctx.book.value_of
    thresholds_of = {k: value(p.sheet, names[k].coord) for k in names}
    segments = adapter.call(
        "SEGMENT", [[c] for c in currents], [[v] for v in potentials], thresholds_of["vip"], thresholds_of["core"]
    )
    segments = [row[0] for row in segments] if isinstance(segments, list) else [segments] * n
    weight_values = [[value(p.sheet, f"{c}{wrow}") for c in sig_cols]]
    # HEALTH_SCORE aggregates one row: the registry's implementation row by row, with the
    # adapter's rule for blanks (a blank score drops out with its weight).
    score_impl = registry.get("HEALTH_SCORE").impl
    weight_array = np.array(weight_values[0], dtype=float)
    score_values: list = []
    for row in scores:
        counted = np.array([v is not None for v in row])
        result, error = score_impl(np.array([v or 0.0 for v in row])[counted], weight_array[counted])
        score_values.append(dash if error or not np.isfinite(result) else float(result))
    numeric = [v for v in score_values if isinstance(v, float)]
    statuses = iter(
        [
            row[0]
            for row in adapter.call(
                "HEALTH_STATUS", [[v] for v in numeric], thresholds_of["red_below"], thresholds_of["green_from"]
            )
        ]
        if len(numeric) > 1
        else [
            adapter.call("HEALTH_STATUS", v, thresholds_of["red_below"], thresholds_of["green_from"]) for v in numeric
        ]
    )
    status_values = []
    for v in score_values:
        if isinstance(v, float):
            label = next(statuses)
            status_values.append(label if ctx.lang == "en" or isinstance(label, ExcelError) else status_words[label])
        else:
            status_values.append(dash)
    for i, customer in enumerate(inp.customers):
        r = first + i
        mr = mrr["first"] + i
        p.put(f"A{r}", customer, B.LABEL)
        _, plan, seg = latest[_key(customer)]
        p.put(f"B{r}", plan or "", B.LABEL)
        p.put(f"C{r}", seg or "", B.LABEL)
        current = p.formula(f"D{r}", mp.ref(f"{last_col}{mr}"), B.CALC, f.money, value=currents[i])
        potential = p.put(f"E{r}", potentials[i], B.INPUT, f.money)
        segment = fn("SEGMENT", current, potential, names["vip"], names["core"])
        seg_value = segments[i] if ctx.lang == "en" or isinstance(segments[i], ExcelError) else seg_words[segments[i]]
        p.formula(f"F{r}", segment if ctx.lang == "en" else Relabel(segment, seg_words), B.CALC_CENTER, value=seg_value)
        active = float(sum(1 for v in grid[i] if isinstance(v, float) and v > 0))
        months_active = Call("COUNTIF", (Range(mp.sheet, f"B{mr}:{last_col}{mr}"), lift(">0")))
        p.formula(f"G{r}", months_active, B.CALC_CENTER, f.int, value=active)
        for k in range(SIGNALS):
            p.put(f"{sig_cols[k]}{r}", scores[i][k], B.INPUT, f.int)
        score_value = score_values[i]
        score = p.formula(
            f"L{r}",
            IFERROR(fn("HEALTH_SCORE", Range(p.sheet, f"{sig_cols[0]}{r}:{sig_cols[-1]}{r}"), weights), dash),
            B.CALC_KEY_CENTER,
            f.one,
            value=score_value,
        )
        status = fn("HEALTH_STATUS", score, names["red_below"], names["green_from"])
        shown = status if ctx.lang == "en" else Relabel(status, status_words)
        status_value = status_values[i]
        p.formula(f"M{r}", IF(Call("ISNUMBER", (score,)), shown, dash), B.CALC_KEY_CENTER, value=status_value)
    last = first + len(inp.customers) - 1
    cells = f"M{first}:M{last}"
    _text_fill(p, cells, status_words["red"], RED)
    _text_fill(p, cells, status_words["yellow"], YELLOW)
    _text_fill(p, cells, status_words["green"], GREEN)
    _text_fill(p, f"F{first}:F{last}", seg_words["VIP"], ("DDEBF7", B.NAVY))
    p.ws.conditional_formatting.add(
        f"{sig_cols[0]}{first}:{sig_cols[-1]}{last}", _red_to_green(low=0, mid=50, high=100)
    )
    p.ws.auto_filter.ref = f"A{head}:M{last}"
    p.ws.freeze_panes = f"B{first}"
    ctx.setup(p, f"{head}:{wrow}")


# ----------------------------------------------------------------------------- Summary


def _summary(ctx: _Ctx, mrr: dict, bridge: dict, ltv: dict) -> None:
    inp = ctx.inputs
    p = ctx.book.page(ctx.s("rr.sheet.summary"))
    f = ctx.f
    bp: Page = bridge["page"]
    bc, blast = bridge["cols"], bridge["last"]
    p.widths(A=34, B=16, C=58)
    p.put("A1", ctx.s("rr.sum.title"), B.TITLE)
    source = ctx.s("rr.sample") if inp.sample else inp.subs.source
    p.put("A2", ctx.s("rr.sum.subtitle", source=source, n=len(inp.subs)), B.SUBTITLE)
    edition = ctx.s("edition.native" if ctx.book.native else "rr.edition.udf")
    p.put("A3", edition, B.NOTE_PLAIN)
    head = 5
    _header(p, head, [ctx.s("rr.sum.h.metric"), ctx.s("rr.sum.h.value"), ctx.s("rr.sum.h.how")])
    row = head

    def line(key, expr, fmt, key_row=False, center=False):
        nonlocal row
        row += 1
        p.put(f"A{row}", ctx.s(f"rr.sum.{key}"), B.LABEL_KEY if key_row else B.LABEL)
        look = (B.CALC_KEY_CENTER if center else B.CALC_KEY) if key_row else (B.CALC_CENTER if center else B.CALC)
        ref = p.formula(f"B{row}", expr, look, fmt)
        p.put(f"C{row}", ctx.s(f"rr.sum.{key}.how"), B.NOTE)
        return ref

    def last(key):
        return bp.ref(f"{bc[key]}{blast}")

    line("month", last("month"), ctx.month_fmt, center=True)
    mrr_ref = line("mrr", last("end"), f.money, key_row=True)
    line("arr", mrr_ref * 12, f.money, key_row=True)
    line("net_new", last("net"), f.money)
    line("nrr", last("nrr"), f.pct, center=True)
    line("grr", last("grr"), f.pct, center=True)
    line("logo_churn", last("logo_churn"), f.pct, center=True)
    line("revenue_churn", last("revenue_churn"), f.pct, center=True)
    line("churn6", ltv["churn"], f.pct2, center=True)
    line("quick", last("quick"), f.ratio, center=True)
    line("arpu", last("arpu"), f.money2)
    line("customers", last("c_end"), f.int, center=True)
    line("cac", ltv["cac"], f.money)
    line("ltv_cac", ltv["ratio"][0], f.ratio, key_row=True, center=True)
    rule_row = row + 1
    line("rule", ltv["page"].ref(f"B{ltv['rule_row']}"), None, key_row=True, center=True)
    _text_fill(p, f"B{rule_row}", ctx.s("pass"), GREEN)
    _text_fill(p, f"B{rule_row}", ctx.s("fail"), RED)
    line("payback", ltv["payback"], f.one, key_row=True, center=True)
    ctx.setup(p, None)

    # Charts on a page of their own: MRR month by month, and the bridge.
    row += 2
    p.ws.row_breaks.append(Break(id=row - 1))
    p.put(f"A{row}", ctx.s("rr.sum.charts"), B.GROUP)
    for col in "BC":
        p.style(f"{col}{row}", B.GROUP)
    end_col = list(bc).index("end") + 1
    trend = BarChart()
    trend.type = "col"
    trend.title = _rich(ctx.s("rr.chart.mrr"), 1200)
    trend.height, trend.width = 7.2, 21
    trend.add_data(Reference(bp.ws, min_col=end_col, min_row=bridge["first"] - 1, max_row=blast), titles_from_data=True)
    trend.set_categories(Reference(bp.ws, min_col=1, min_row=bridge["first"], max_row=blast))
    trend.series[0].graphicalProperties.solidFill = "2E75B6"
    trend.series[0].graphicalProperties.line.solidFill = "2E75B6"
    trend.y_axis.number_format = "#,##0"
    trend.y_axis.txPr = _axis_text()
    trend.x_axis.txPr = _axis_text()
    trend.x_axis.number_format = ctx.month_fmt.replace("yyyy", "yy")
    trend.x_axis.delete = False
    trend.y_axis.delete = False
    trend.legend = None
    trend.gapWidth = 50
    _cache_chart(trend, ctx.book)
    p.ws.add_chart(trend, f"A{row + 1}")
    p.ws.add_chart(
        _bridge_chart(ctx, bp, bc, bridge["first"] - 1, bridge["first"], blast, width=21, height=8), f"A{row + 16}"
    )
    p.ws.print_area = f"A1:C{row + 32}"


# ---------------------------------------------------------------------------- building


def build(inputs: ReportInputs, t: dict[str, str], lang: str, native: bool) -> Book:
    """Build the workbook in memory (values recorded, nothing written yet)."""
    book = Book(native=native, direct=True)
    ctx = _Ctx(book, inputs, t, lang)
    data = _subscriptions(ctx)
    mrr = _mrr(ctx, data)
    bridge = _bridge(ctx, mrr)
    cohorts = _cohorts(ctx, mrr)
    ltv = _ltv(ctx, mrr, bridge, cohorts)
    _customers(ctx, mrr)
    _summary(ctx, mrr, bridge, ltv)
    wb = book.wb
    summary = wb[ctx.s("rr.sheet.summary")]
    wb.move_sheet(summary, offset=-wb.sheetnames.index(summary.title))
    # Reading order: Summary, Bridge, Cohorts, Lifetime value, Customers, then the data.
    order = ["summary", "bridge", "cohorts", "ltv", "customers", "mrr", "subs"]
    wb._sheets = [wb[ctx.s(f"rr.sheet.{k}")] for k in order]
    wb.active = 0
    props = wb.properties
    props.title = ctx.s("rr.doc.title")
    props.subject = ctx.s("rr.doc.subject")
    props.creator = "xlfuncs generate"
    return book
