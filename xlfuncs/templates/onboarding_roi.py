"""The ``onboarding-roi`` template: what an onboarding team is worth, per customer.

The story it tells with the reader's numbers: a customer buys one license; with poor
onboarding it pays for a few months and the acquisition cost eats the rest; with good
onboarding it stays, buys more licenses at no new acquisition cost, and its lifetime value
clears Steve Blank's 3:1 rule. Sheets:

* Inputs: every assumption, a named range each, validated, in yellow; the rest locked.
* Scenarios: without vs with onboarding side by side, computed by xlfuncs functions.
* Charts: cumulative profit per customer (payback where it crosses 0), LTV vs CAC.
* Sensitivity: CLV and LTV:CAC over monthly churn x extra licenses, colour scaled.
* Onboarding checklist: the six steps and the time to first value against its target.
* Health: weighted signals per account -> HEALTH_SCORE, HEALTH_STATUS, SEGMENT.

Every xlfuncs call is written with :func:`~xlfuncs.templates.expr.fn`, so the native twin
gets the registry's built-in formula for it and no metric formula is spelled out here.
"""

from __future__ import annotations

import datetime as dt

from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.chart.data_source import AxDataSource, NumData, NumVal, StrData, StrRef, StrVal
from openpyxl.chart.label import DataLabelList
from openpyxl.chart.text import RichText, Text
from openpyxl.chart.title import Title
from openpyxl.drawing.text import CharacterProperties, Paragraph, ParagraphProperties, RegularTextRun
from openpyxl.formatting.rule import CellIsRule, ColorScaleRule, FormulaRule
from openpyxl.styles import Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from ..numtext import number_text
from . import book as B
from .book import Book, Page
from .expr import IF, ISNA, ISNUMBER, NA, Expr, Name, Range, fn, lift
from .i18n import Money, money_for
from .scenario import BY_PATH, SIGNALS, Key, Scenario

NAME = "onboarding-roi"
DESCRIPTION = "What an onboarding team is worth per customer: CLV, LTV:CAC (3:1 rule), payback, ROI."

# Excel's conditional-format palette (light fill, dark text): what readers already know.
RED = ("FFC7CE", "9C0006")
YELLOW = ("FFEB9C", "9C5700")
GREEN = ("C6EFCE", "006100")
GREY = ("EDEDED", "595959")


class Formats:
    """Number formats for one currency and language."""

    def __init__(self, money: Money):
        cur = '"' + money.symbol.replace('"', "") + '"'
        # "_)" pads the right edge by the width of ")", so figures do not touch the cell
        # border and line up with the bracketed negatives finance readers expect. Where the
        # symbol goes is the currency's and language's convention ($1,200, 1.200 €, $1,200 in
        # Mexico); separators come from the reader's locale, not from the file.
        if money.after:
            self.money = f"#,##0 {cur}_);(#,##0 {cur})"
            self.money2 = f"#,##0.00 {cur}_);(#,##0.00 {cur})"
        else:
            self.money = f"{cur}#,##0_);({cur}#,##0)"
            self.money2 = f"{cur}#,##0.00_);({cur}#,##0.00)"
        self.pct = "0.0%_);(0.0%)"
        self.pct2 = "0.00%_);(0.00%)"
        self.pct0 = "0%_);(0%)"
        self.int = "#,##0_);(#,##0)"
        self.one = "0.0_);(0.0)"
        self.ratio = '0.0"x"_)'
        self.date = "yyyy-mm-dd"
        self.days = "0"


# Inputs in sheet order: (scenario key, unit key, format attribute), grouped.
_INPUT_GROUPS = (
    (
        "inputs.g.customer",
        (("license_price", "unit.money_month", "money2"), ("licenses_at_start", "unit.licenses", "int")),
    ),
    ("inputs.g.without", (("churn_without", "unit.per_month", "pct"),)),
    ("inputs.g.with", (("churn_with", "unit.per_month", "pct"), ("extra_licenses", "unit.licenses", "int"))),
    (
        "inputs.g.costs",
        (
            ("acquisition_cost", "unit.money", "money"),
            ("onboarding_cost", "unit.money", "money"),
            ("gross_margin", "unit.share", "pct"),
        ),
    ),
    ("inputs.g.finance", (("discount_rate", "unit.per_year", "pct"), ("horizon_months", "unit.months", "int"))),
)


class _Ctx:
    """What every sheet builder shares: the book, the words, the formats, the scenario."""

    def __init__(self, book: Book, sc: Scenario, t: dict[str, str], lang: str):
        self.book, self.sc, self.t, self.lang = book, sc, t, lang
        self.money = money_for(sc["workbook.currency"], lang)
        self.cur = self.money.label
        self.f = Formats(self.money)

    def s(self, key: str, **kw) -> str:
        """The words of ``key`` in this language; ``{horizon}`` is always the scenario's horizon."""
        return self.t[key].format(horizon=int(self.sc["inputs.horizon_months"]), **kw)

    def setup(self, page: Page, title_rows: str | None, tab: str) -> None:
        page.setup(
            title_rows=title_rows,
            company=self.sc["workbook.company"],
            page_text=self.t["page"],
            tab=tab,
            paper_a4=self.lang != "en",
        )


_SCALE_RED, _SCALE_YELLOW, _SCALE_GREEN = "F8696B", "FFEB84", "63BE7B"  # Excel's own scale colours


def _red_to_green(low: float | None = None, mid: float | None = None, high: float | None = None) -> ColorScaleRule:
    """Excel's red-yellow-green colour scale: fixed thresholds, or min/median/max when none."""
    if low is None:
        return ColorScaleRule(
            start_type="min", start_color=_SCALE_RED, mid_type="percentile", mid_value=50,
            mid_color=_SCALE_YELLOW, end_type="max", end_color=_SCALE_GREEN,
        )  # fmt: skip
    return ColorScaleRule(
        start_type="num", start_value=low, start_color=_SCALE_RED, mid_type="num", mid_value=mid,
        mid_color=_SCALE_YELLOW, end_type="num", end_value=high, end_color=_SCALE_GREEN,
    )  # fmt: skip


def _range_words(ctx: _Ctx, key: Key) -> str:
    low = None if key.low is None else number_text(key.low)
    high = None if key.high is None else number_text(key.high)
    if low is not None and high is not None:
        return ctx.s("range.above_upto" if key.low_open else "range.between", low=low, high=high)
    if low is not None:
        return ctx.s("range.above" if key.low_open else "range.atleast", low=low)
    return ""


def _validation(ctx: _Ctx, key: Key, coord: str, title: str, help_text: str) -> DataValidation:
    """Data validation with the schema's range, and the help text as the input message."""
    kind = "whole" if key.kind == "integer" else "decimal"
    low = key.low if key.low is not None else None
    if key.low_open and key.high is not None:
        # "Above 0 and at most 1" has no operator of its own: a custom rule says it exactly.
        rule = DataValidation(
            type="custom",
            formula1=f"AND(ISNUMBER({coord}),{coord}>{number_text(low)},{coord}<={number_text(key.high)})",
        )
    elif key.high is not None:
        rule = DataValidation(type=kind, operator="between", formula1=number_text(low), formula2=number_text(key.high))
    elif key.low_open:
        rule = DataValidation(type=kind, operator="greaterThan", formula1=number_text(low))
    else:
        rule = DataValidation(type=kind, operator="greaterThanOrEqual", formula1=number_text(low))
    words = ctx.s("valid.range", range=_range_words(ctx, key))
    rule.allow_blank = False
    rule.showInputMessage = True
    rule.promptTitle = title[:32]  # Excel's limits: 32 characters for titles, 255 for texts
    rule.prompt = f"{help_text} {words}"[:255]
    rule.showErrorMessage = True
    rule.errorStyle = "stop"
    rule.errorTitle = ctx.s("valid.title")[:32]
    rule.error = f"{title}: {words}"[:255]
    rule.add(coord)
    return rule


# ------------------------------------------------------------------------------ Inputs


def _inputs(ctx: _Ctx) -> dict[str, Name]:
    p = ctx.book.page(ctx.s("sheet.inputs"))
    p.widths(A=44, B=13, C=14, D=20, E=62)
    p.put("A1", ctx.s("inputs.title"), B.TITLE)
    p.put("A2", ctx.s("inputs.subtitle"), B.SUBTITLE)
    edition = ctx.s("edition.native" if ctx.book.native else "edition.udf")
    p.put("A3", edition, B.NOTE_PLAIN)
    for col, key in zip("ABCDE", ("input", "value", "unit", "name", "help")):
        p.put(f"{col}5", ctx.s(f"inputs.h.{key}"), B.HEADER if col == "B" else B.HEADER_LEFT)
    names: dict[str, Name] = {}
    row = 6
    for group, items in _INPUT_GROUPS:
        p.put(f"A{row}", ctx.s(group), B.GROUP)
        for col in "BCDE":
            p.style(f"{col}{row}", B.GROUP)
        row += 1
        for key_name, unit, fmt in items:
            key = BY_PATH[f"inputs.{key_name}"]
            label, help_text = ctx.s(f"in.{key_name}"), ctx.s(f"in.{key_name}.help")
            p.put(f"A{row}", label, B.LABEL)
            p.put(f"B{row}", ctx.sc[key.path], B.INPUT, getattr(ctx.f, fmt))
            p.put(f"C{row}", ctx.s(unit, cur=ctx.cur), B.LABEL)
            p.put(f"D{row}", key_name, B.NOTE)
            p.put(f"E{row}", help_text, B.NOTE)
            names[key_name] = p.define(key_name, f"B{row}")
            p.ws.add_data_validation(_validation(ctx, key, f"B{row}", label, help_text))
            row += 1
    # The monthly rate every formula uses, derived once, in view, and named like an input.
    p.put(f"A{row}", ctx.s("in.discount_monthly"), B.LABEL)
    p.formula(f"B{row}", (1 + names["discount_rate"]) ** (lift(1) / 12) - 1, B.CALC, ctx.f.pct2)
    p.put(f"C{row}", ctx.s("unit.per_month"), B.LABEL)
    p.put(f"D{row}", "discount_monthly", B.NOTE)
    p.put(f"E{row}", ctx.s("in.discount_monthly.help"), B.NOTE)
    names["discount_monthly"] = p.define("discount_monthly", f"B{row}")
    p.ws.freeze_panes = "A6"
    ctx.setup(p, "5:5", tab="FFC000")
    return names


# --------------------------------------------------------------------------- Scenarios


def _scenarios(ctx: _Ctx, n: dict[str, Name]) -> dict[str, object]:
    p = ctx.book.page(ctx.s("sheet.scenarios"))
    f = ctx.f
    p.widths(A=48, B=19, C=19, D=16, E=80)
    p.put("A1", ctx.s("sc.title"), B.TITLE)
    p.put("A2", ctx.s("sc.subtitle.native" if ctx.book.native else "sc.subtitle"), B.SUBTITLE)
    heads = ("metric", "without", "with", "diff", "how")
    for col, key in zip("ABCDE", heads):
        p.put(f"{col}4", ctx.s(f"sc.h.{key}"), B.HEADER if col in "BCD" else B.HEADER_LEFT)

    rows: dict[str, int] = {}
    state = {"row": 5}

    def line(key, without, with_, fmt, key_row=False, diff=True, center=False):
        r = state["row"]
        rows[key] = r
        label_look = B.LABEL_KEY if key_row else B.LABEL
        if center:
            look = B.CALC_KEY_CENTER if key_row else B.CALC_CENTER
        else:
            look = B.CALC_KEY if key_row else B.CALC
        p.put(f"A{r}", ctx.s(f"sc.{key}"), label_look)
        for col, expr in (("B", without), ("C", with_)):
            if expr is None:
                p.put(f"{col}{r}", ctx.s("na"), B.CALC_KEY_CENTER if key_row else B.CALC_CENTER)
            else:
                p.formula(f"{col}{r}", expr, look, fmt)
        if diff:
            p.formula(f"D{r}", p.ref(f"C{r}") - p.ref(f"B{r}"), look, fmt)
        else:
            p.style(f"D{r}", look)
        p.put(f"E{r}", ctx.s(f"sc.{key}.how"), B.NOTE)
        state["row"] += 1
        return p.ref(f"B{r}"), p.ref(f"C{r}")

    # One story: churn sets how long a customer stays within the horizon; revenue, lifetime
    # value, payback and the profit curve all follow from it.
    lic = line("licenses", n["licenses_at_start"], n["licenses_at_start"] + n["extra_licenses"], f.int)
    arpu = line("arpu", n["license_price"] * lic[0], n["license_price"] * lic[1], f.money2)
    churn = line("churn", n["churn_without"], n["churn_with"], f.pct)
    horizon = n["horizon_months"]

    def stayed(c: Expr) -> Expr:  # expected months paid within the horizon (scenario.months_stayed)
        return IF(c.eq(0), horizon, (1 - (1 - c) ** horizon) / c)

    months = line("months", stayed(churn[0]), stayed(churn[1]), f.one)
    revenue = line("revenue", arpu[0] * months[0], arpu[1] * months[1], f.money)
    line("gross_profit", revenue[0] * n["gross_margin"], revenue[1] * n["gross_margin"], f.money)
    clv = [fn("CLV", arpu[i], churn[i], n["gross_margin"], n["discount_monthly"], horizon) for i in (0, 1)]
    clv_refs = line("clv", clv[0], clv[1], f.money, key_row=True)
    upfront = line("upfront", n["acquisition_cost"], n["acquisition_cost"] + n["onboarding_cost"], f.money)
    line("profit", clv_refs[0] - upfront[0], clv_refs[1] - upfront[1], f.money, key_row=True)
    ratio = line(
        "ltv_cac",
        fn("LTV_CAC", clv_refs[0], upfront[0]),
        fn("LTV_CAC", clv_refs[1], upfront[1]),
        f.ratio,
        key_row=True,
    )
    line(
        "rule",
        IF(ratio[0].ge(3), ctx.s("pass"), ctx.s("fail")),
        IF(ratio[1].ge(3), ctx.s("pass"), ctx.s("fail")),
        None,
        key_row=True,
        diff=False,
        center=True,
    )
    payback = [
        _never_if_no_payback(
            fn("PAYBACK", upfront[i], arpu[i], n["gross_margin"], churn[i], n["discount_monthly"]),
            fn("CLV", arpu[i], churn[i], n["gross_margin"], n["discount_monthly"]),  # no horizon: the whole life
            upfront[i],
            ctx.s("never"),
        )
        for i in (0, 1)
    ]
    line("payback", payback[0], payback[1], f.one, key_row=True, diff=False, center=True)
    line(
        "roi",
        None,
        fn("ONBOARDING_ROI", clv_refs[1], clv_refs[0], n["onboarding_cost"]),
        f.pct0,
        key_row=True,
        diff=False,
    )
    # Pass/fail in the traffic-light colours, and a never-paid-back payback in red.
    rule_cells = f"B{rows['rule']}:C{rows['rule']}"
    _text_fill(p, rule_cells, ctx.s("pass"), GREEN)
    _text_fill(p, rule_cells, ctx.s("fail"), RED)
    _text_fill(p, f"B{rows['payback']}:C{rows['payback']}", ctx.s("never"), RED)
    p.ws.conditional_formatting.add(
        f"B{rows['profit']}:D{rows['profit']}",
        CellIsRule(operator="lessThan", formula=["0"], font=Font(color=RED[1], bold=True)),
    )
    p.ws.freeze_panes = "B5"
    ctx.setup(p, "4:4", tab=B.NAVY)
    return {"page": p, "arpu": arpu, "churn": churn, "upfront": upfront, "clv": clv_refs, "rows": rows}


def _never_if_no_payback(payback: Expr, lifetime: Expr, upfront: Expr, never: str) -> Expr:
    """``payback``, or "never" when there is no payback; any other error shows as itself.

    No payback (PAYBACK's #NUM!) means the whole discounted lifetime value, with no
    horizon, stays at or below the upfront cost: that is the test, written with CLV, so it
    holds in every edition and every engine (LibreOffice's native twin says Err:502 where
    Excel says #NUM!, and the classic add-in returns the text "#NUM!"). IFERROR would
    turn #NAME? (the add-in missing) into "never" too: a wrong answer that looks right.
    """
    return IF(
        ISNUMBER(payback),
        payback,
        IF(ISNUMBER(lifetime), IF(lifetime.le(upfront), never, payback), payback),
    )


def _text_fill(p: Page, cells: str, text: str, colours: tuple[str, str]) -> None:
    fill, font = colours
    p.ws.conditional_formatting.add(
        cells,
        CellIsRule(
            operator="equal",
            formula=['"' + text.replace('"', '""') + '"'],
            fill=PatternFill("solid", start_color=fill, end_color=fill),
            font=Font(color=font, bold=True),
        ),
    )


# ------------------------------------------------------------------------------ Charts


def _rich(text: str, size: int, bold: bool = True):
    """Chart or axis title text at ``size`` hundredths of a point (openpyxl's default is huge)."""
    props = CharacterProperties(sz=size, b=bold, solidFill="404040")
    para = Paragraph(pPr=ParagraphProperties(defRPr=props), r=[RegularTextRun(rPr=props, t=text)])
    return Title(tx=Text(rich=RichText(p=[para])), overlay=False)


def _axis_text(size: int = 900) -> RichText:
    props = CharacterProperties(sz=size, solidFill="404040")
    return RichText(p=[Paragraph(pPr=ParagraphProperties(defRPr=props), endParaRPr=props)])


def _cells_of(book: Book, ref: str) -> list:
    """The recorded values of a chart reference such as ``'Chart data'!$B$5:$B$41``."""
    sheet, _, cells = ref.rpartition("!")
    sheet = sheet.strip("'").replace("''", "'")
    grid = book.page_of(sheet).range_values(sheet, cells.replace("$", ""))
    return [v for row in grid for v in row]


def _cache_chart(chart, book: Book) -> None:
    """Give every series its cached points, like Excel writes them.

    openpyxl writes chart series as bare references; Excel and LibreOffice re-read the
    cells, but file previews draw only what the chart part caches: without this they show
    empty charts.
    """
    for series in chart.series:
        if series.tx is not None and series.tx.strRef is not None:
            (title,) = _cells_of(book, series.tx.strRef.f)
            series.tx.strRef.strCache = StrData(ptCount=1, pt=[StrVal(idx=0, v=str(title))])
        values = _cells_of(book, series.val.numRef.f)
        points = [NumVal(idx=i, v=v) for i, v in enumerate(values) if isinstance(v, float)]
        series.val.numRef.numCache = NumData(formatCode="General", ptCount=len(values), pt=points)
        cat = series.cat
        if cat is not None and cat.numRef is not None:
            labels = _cells_of(book, cat.numRef.f)
            if all(isinstance(v, float) for v in labels):
                cat.numRef.numCache = NumData(
                    formatCode="General", ptCount=len(labels), pt=[NumVal(idx=i, v=v) for i, v in enumerate(labels)]
                )
            else:  # text categories ("Without onboarding") are a string reference
                series.cat = AxDataSource(
                    strRef=StrRef(
                        f=cat.numRef.f,
                        strCache=StrData(
                            ptCount=len(labels), pt=[StrVal(idx=i, v=str(v)) for i, v in enumerate(labels)]
                        ),
                    )
                )


def _charts(ctx: _Ctx, n: dict[str, Name], sc_sheet: dict) -> None:
    """The chart data sheet, and the two charts on the Scenarios sheet under the table."""
    p = ctx.book.page(ctx.s("sheet.charts"))
    f = ctx.f
    p.widths(A=10, B=20, C=20, D=4, E=22, F=20, G=20)
    p.put("A1", ctx.s("ch.title"), B.TITLE)
    p.put("A2", ctx.s("ch.subtitle"), B.SUBTITLE)
    head = 4
    for col, key in zip("ABC", ("month", "without", "with")):
        p.put(f"{col}{head}", ctx.s(f"ch.{key}"), B.HEADER)
    arpu, churn, upfront = sc_sheet["arpu"], sc_sheet["churn"], sc_sheet["upfront"]
    first = head + 1
    # Rows up to the scenario's horizon, the chart's range: a clean workbook has no error
    # value (`xlfuncs recalc --check` passes it). A shorter horizon typed into the Inputs
    # sheet turns the later months into #N/A, which charts leave out.
    for month in range(int(ctx.sc["inputs.horizon_months"]) + 1):
        r = first + month
        m = p.put(f"A{r}", month, B.AXIS, f.int)
        for i, col in enumerate("BC"):
            # CLV over the first t months is the retained, discounted margin to date, so
            # this curve crosses 0 exactly where PAYBACK says (CLV needs t >= 1).
            to_date = IF(m.eq(0), 0, fn("CLV", arpu[i], churn[i], n["gross_margin"], n["discount_monthly"], m))
            p.formula(f"{col}{r}", IF(m.gt(n["horizon_months"]), NA(), to_date - upfront[i]), B.CALC, f.money)
    last = first + int(ctx.sc["inputs.horizon_months"])
    p.put(f"A{last + 1}", ctx.s("ch.note"), B.NOTE_PLAIN)

    # LTV vs upfront cost: the bars' data, beside the curve's data.
    p.put(f"E{head}", "", B.HEADER)
    for col, key in zip("FG", ("clv", "cac")):
        p.put(f"{col}{head}", ctx.s(f"ch.{key}"), B.HEADER)
    for i, key in enumerate(("without", "with")):
        r = head + 1 + i
        p.put(f"E{r}", ctx.s(f"ch.{key}"), B.LABEL)
        p.formula(f"F{r}", sc_sheet["clv"][i], B.CALC, f.money)
        p.formula(f"G{r}", upfront[i], B.CALC, f.money)
    ctx.setup(p, f"{head}:{head}", tab="A6A6A6")

    line = LineChart()
    line.title = _rich(ctx.s("ch.profit.title"), 1200)
    line.style = 2
    line.height, line.width = 9, 14.5
    line.y_axis.title = _rich(ctx.s("ch.profit.y", cur=ctx.cur), 900, bold=False)
    line.x_axis.title = _rich(ctx.s("ch.profit.x"), 900, bold=False)
    line.y_axis.number_format = "#,##0"
    line.y_axis.txPr = _axis_text()
    line.x_axis.txPr = _axis_text()
    line.x_axis.tickLblSkip = 6
    line.x_axis.tickMarkSkip = 6
    # openpyxl hides axes unless told otherwise (delete=True); readers need them.
    line.x_axis.delete = False
    line.y_axis.delete = False
    line.x_axis.tickLblPos = "low"  # month labels at the bottom, not on the zero line
    end = first + int(ctx.sc["inputs.horizon_months"])
    line.add_data(Reference(p.ws, min_col=2, max_col=3, min_row=head, max_row=end), titles_from_data=True)
    line.set_categories(Reference(p.ws, min_col=1, min_row=first, max_row=end))
    for series, colour in zip(line.series, ("C00000", "2E75B6")):
        series.graphicalProperties.line.solidFill = colour
        series.graphicalProperties.line.width = 28575  # 2.25 pt
        series.smooth = False
    line.legend.position = "b"

    bars = BarChart()
    bars.type = "col"
    bars.title = _rich(ctx.s("ch.ltv.title"), 1200)
    bars.height, bars.width = 9, 13
    bars.y_axis.title = _rich(ctx.s("ch.ltv.y", cur=ctx.cur), 900, bold=False)
    bars.y_axis.number_format = "#,##0"
    bars.y_axis.txPr = _axis_text()
    bars.x_axis.txPr = _axis_text()
    bars.x_axis.delete = False
    bars.y_axis.delete = False
    bars.add_data(Reference(p.ws, min_col=6, max_col=7, min_row=head, max_row=head + 2), titles_from_data=True)
    bars.set_categories(Reference(p.ws, min_col=5, min_row=head + 1, max_row=head + 2))
    for series, colour in zip(bars.series, ("2E75B6", "A6A6A6")):
        series.graphicalProperties.solidFill = colour
        series.graphicalProperties.line.solidFill = colour
    # The value only: LibreOffice adds series and category names unless told not to.
    bars.dataLabels = DataLabelList(
        showVal=True, showSerName=False, showCatName=False, showLegendKey=False, showPercent=False
    )
    bars.dataLabels.numFmt = "#,##0"
    bars.dataLabels.txPr = _axis_text()
    bars.gapWidth = 80
    bars.legend.position = "b"

    for chart in (line, bars):
        _cache_chart(chart, ctx.book)

    sc_page: Page = sc_sheet["page"]
    row = max(sc_sheet["rows"].values()) + 2
    sc_page.put(f"A{row}", ctx.s("ch.section"), B.GROUP)
    for col in "BCDE":
        sc_page.style(f"{col}{row}", B.GROUP)
    sc_page.ws.add_chart(line, f"A{row + 1}")
    sc_page.ws.add_chart(bars, f"D{row + 1}")
    # The charts' data stays off the printout (a page of #N/A past the horizon otherwise):
    # a hidden sheet, which Excel and LibreOffice still chart from.
    p.ws.sheet_state = "hidden"
    sc_page.put(f"A{row + 20}", ctx.s("ch.where", sheet=p.sheet), B.NOTE_PLAIN)


# ------------------------------------------------------------------------- Sensitivity


def _sensitivity(ctx: _Ctx, n: dict[str, Name]) -> None:
    p = ctx.book.page(ctx.s("sheet.sensitivity"))
    f = ctx.f
    churns = ctx.sc["sensitivity.churn"]
    extras = ctx.sc["sensitivity.extra_licenses"]
    p.widths(A=30, **{get_column_letter(2 + j): 13 for j in range(len(extras))})
    p.put("A1", ctx.s("se.title"), B.TITLE)
    p.put("A2", ctx.s("se.subtitle"), B.SUBTITLE)
    last_col = get_column_letter(1 + len(extras))

    # Grid 1: CLV. Its axes are inputs; grid 2 repeats them by reference.
    top = 4
    p.put(f"A{top}", ctx.s("se.clv"), B.GROUP)
    for j in range(len(extras)):
        p.style(f"{get_column_letter(2 + j)}{top}", B.GROUP)
    head = top + 1
    p.put(f"A{head}", ctx.s("se.corner"), B.HEADER_LEFT)
    p.ws.row_dimensions[head].height = 30  # two lines: the header wraps in a narrow column
    cols = []
    for j, x in enumerate(extras):
        col = get_column_letter(2 + j)
        cols.append(p.put(f"{col}{head}", x, B.AXIS_INPUT, f.int))
    churn_refs = []
    clv_cells = {}
    upfront_with = n["acquisition_cost"] + n["onboarding_cost"]
    for i, c in enumerate(churns):
        r = head + 1 + i
        churn_refs.append(p.put(f"A{r}", c, B.AXIS_INPUT, f.pct))
        for j in range(len(extras)):
            col = get_column_letter(2 + j)
            arpu = n["license_price"] * (n["licenses_at_start"] + cols[j])
            clv_cells[(i, j)] = p.formula(
                f"{col}{r}",
                fn("CLV", arpu, churn_refs[i], n["gross_margin"], n["discount_monthly"], n["horizon_months"]),
                B.CALC,
                f.money,
            )
    clv_block = f"B{head + 1}:{last_col}{head + len(churns)}"
    _frame_current(p, clv_block, head)
    p.ws.conditional_formatting.add(
        clv_block,
        _red_to_green(),
    )

    # Grid 2: LTV:CAC with the strict upfront cost, coloured around Blank's 3.
    top2 = head + len(churns) + 2
    p.put(f"A{top2}", ctx.s("se.ltv_cac"), B.GROUP)
    for j in range(len(extras)):
        p.style(f"{get_column_letter(2 + j)}{top2}", B.GROUP)
    head2 = top2 + 1
    p.put(f"A{head2}", ctx.s("se.corner"), B.HEADER_LEFT)
    p.ws.row_dimensions[head2].height = 30
    for j in range(len(extras)):
        col = get_column_letter(2 + j)
        p.formula(f"{col}{head2}", cols[j], B.AXIS, f.int)
    for i in range(len(churns)):
        r = head2 + 1 + i
        p.formula(f"A{r}", churn_refs[i], B.AXIS, f.pct)
        for j in range(len(extras)):
            col = get_column_letter(2 + j)
            p.formula(f"{col}{r}", fn("LTV_CAC", clv_cells[(i, j)], upfront_with), B.CALC, f.ratio)
    ratio_block = f"B{head2 + 1}:{last_col}{head2 + len(churns)}"
    _frame_current(p, ratio_block, head2)
    p.put(f"A{head2 + len(churns) + 2}", ctx.s("se.note"), B.NOTE_PLAIN)
    p.ws.conditional_formatting.add(
        ratio_block,
        _red_to_green(low=1, mid=3, high=6),
    )
    ctx.setup(p, None, tab=B.NAVY)


def _frame_current(p: Page, block: str, axis_row: int) -> None:
    """Frame the grid cell of the scenario on the Inputs sheet, wherever the inputs move it."""
    first = block.split(":")[0]
    row = first.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    col = first[: -len(row)]
    thick = Side(style="medium", color="000000")
    p.ws.conditional_formatting.add(
        block,
        FormulaRule(
            formula=[f"AND($A{row}=churn_with,{col}${axis_row}=extra_licenses)"],
            border=Border(left=thick, right=thick, top=thick, bottom=thick),
            font=Font(bold=True),
        ),
    )


# --------------------------------------------------------------------------- Checklist


def _checklist(ctx: _Ctx) -> None:
    p = ctx.book.page(ctx.s("sheet.checklist"))
    f = ctx.f
    p.widths(A=5, B=40, C=50, D=24, E=11, F=13, G=12, H=14)
    p.put("A1", ctx.s("ck.title"), B.TITLE)
    p.put("A2", ctx.s("ck.subtitle"), B.SUBTITLE)
    p.put("B4", ctx.s("ck.customer"), B.LABEL)
    p.put("C4", ctx.sc["checklist.customer"], B.INPUT_TEXT)
    p.put("B5", ctx.s("ck.start"), B.LABEL)
    start_date: dt.date = ctx.sc["checklist.start_date"]
    start = p.put("C5", start_date, B.INPUT_TEXT, f.date)
    p.put("B6", ctx.s("ck.target"), B.LABEL)
    target = p.put("C6", ctx.sc["checklist.ttfv_target_days"], B.INPUT_TEXT, f.days)
    p.ws.add_data_validation(_date_rule(ctx, "C5", ctx.s("ck.start")))
    heads = ("n", "step", "done_means", "owner", "target", "done", "days", "status")
    for col, key in zip("ABCDEFGH", heads):
        p.put(f"{col}8", ctx.s(f"ck.h.{key}"), B.HEADER)
    p.ws.row_dimensions[8].height = 30  # room for the wrapped headers
    targets = ctx.sc["checklist.target_days"]
    done = ctx.sc["checklist.done_days"]
    first = 9
    for i in range(6):
        r = first + i
        p.put(f"A{r}", i + 1, B.CALC_CENTER, f.int)
        p.put(f"B{r}", ctx.s(f"ck.s{i + 1}"), B.LABEL)
        p.put(f"C{r}", ctx.s(f"ck.s{i + 1}.means"), B.NOTE)
        p.put(f"D{r}", ctx.s(f"ck.s{i + 1}.owner"), B.INPUT_TEXT)
        p.put(f"E{r}", targets[i], B.INPUT, f.days)
        when = start_date + dt.timedelta(days=done[i]) if i < len(done) else None
        done_ref = p.put(f"F{r}", when, B.INPUT, f.date)
        days = p.formula(f"G{r}", fn("TTFV", p.ref("C5", absolute=True), done_ref), B.CALC, f.days)
        status = IF(ISNA(days), ctx.s("ck.open"), IF(days.le(p.ref(f"E{r}")), ctx.s("ck.on_time"), ctx.s("ck.late")))
        p.formula(f"H{r}", status, B.CALC_CENTER)
    steps = f"{first}:{first + 5}"
    lo, hi = steps.split(":")
    p.ws.add_data_validation(_date_rule(ctx, f"F{lo}:F{hi}", ctx.s("ck.h.done")))
    status_cells = f"H{lo}:H{hi}"
    _text_fill(p, status_cells, ctx.s("ck.on_time"), GREEN)
    _text_fill(p, status_cells, ctx.s("ck.late"), RED)
    _text_fill(p, status_cells, ctx.s("ck.open"), GREY)
    # A step not done yet has no duration: show its #N/A faintly, not as an alarm.
    p.ws.conditional_formatting.add(f"G{lo}:G{hi}", FormulaRule(formula=[f"ISNA(G{lo})"], font=Font(color="BFBFBF")))

    r = first + 7
    p.put(f"B{r}", ctx.s("ck.ttfv"), B.LABEL_KEY)
    ttfv = p.formula(f"C{r}", fn("TTFV", start, p.ref(f"F{first + 5}")), B.CALC_KEY_CENTER, f.days)
    p.put(f"D{r}", ctx.s("ck.ttfv.how"), B.NOTE_PLAIN)
    p.put(f"B{r + 1}", ctx.s("ck.target"), B.LABEL)
    p.formula(f"C{r + 1}", target, B.CALC_CENTER, f.days)
    p.put(f"B{r + 2}", ctx.s("ck.verdict"), B.LABEL_KEY)
    verdict = IF(ISNA(ttfv), ctx.s("ck.not_yet"), IF(ttfv.le(target), ctx.s("ck.within"), ctx.s("ck.over")))
    p.formula(f"C{r + 2}", verdict, B.CALC_KEY_CENTER)
    _text_fill(p, f"C{r + 2}", ctx.s("ck.within"), GREEN)
    _text_fill(p, f"C{r + 2}", ctx.s("ck.over"), RED)
    _text_fill(p, f"C{r + 2}", ctx.s("ck.not_yet"), GREY)
    p.ws.conditional_formatting.add(f"C{r}", FormulaRule(formula=[f"ISNA(C{r})"], font=Font(color="BFBFBF")))
    ctx.setup(p, "8:8", tab=B.NAVY)


def _date_rule(ctx: _Ctx, cells: str, title: str) -> DataValidation:
    rule = DataValidation(type="date", operator="greaterThan", formula1="36526")  # after 2000-01-01
    rule.allow_blank = True
    rule.showInputMessage = True
    rule.promptTitle = title[:32]
    rule.prompt = "yyyy-mm-dd"
    rule.showErrorMessage = True
    rule.errorTitle = ctx.s("valid.title")[:32]
    rule.error = f"{title}: yyyy-mm-dd"
    rule.add(cells)
    return rule


# ------------------------------------------------------------------------------ Health


def _health(ctx: _Ctx) -> None:
    p = ctx.book.page(ctx.s("sheet.health"))
    f = ctx.f
    p.widths(A=24, B=12, C=14, D=11, E=11, F=11, G=11, H=11, I=13, J=11, K=13)
    p.put("A1", ctx.s("he.title"), B.TITLE)
    p.put("A2", ctx.s("he.subtitle"), B.SUBTITLE)
    thresholds = (
        ("he.red_below", "health.red_below", "health_red_below", f.int),
        ("he.green_from", "health.green_from", "health_green_from", f.int),
        ("he.vip", "health.vip_mrr", "vip_mrr", f.money),
        ("he.core", "health.core_mrr", "core_mrr", f.money),
    )
    names = {}
    for i, (label, key, name, fmt) in enumerate(thresholds):
        r = 4 + i
        p.put(f"A{r}", ctx.s(label), B.LABEL)
        p.put(f"B{r}", ctx.sc[key], B.INPUT, fmt)
        names[name] = p.define(name, f"B{r}")
        schema = BY_PATH[key]
        p.ws.add_data_validation(_validation(ctx, schema, f"B{r}", ctx.s(label), ctx.s(label)))
    head = 9
    sig_cols = [get_column_letter(4 + k) for k in range(SIGNALS)]
    heads = [ctx.s("he.h.account"), ctx.s("he.h.mrr"), ctx.s("he.h.potential")]
    heads += [ctx.s(f"he.sig{k + 1}") for k in range(SIGNALS)]
    heads += [ctx.s("he.h.score"), ctx.s("he.h.status"), ctx.s("he.h.segment")]
    for k, text in enumerate(heads):
        p.put(f"{get_column_letter(1 + k)}{head}", text, B.HEADER)
    wrow = head + 1
    p.put(f"A{wrow}", ctx.s("he.weights"), B.LABEL_KEY)
    p.style(f"B{wrow}", B.LABEL_KEY)
    p.style(f"C{wrow}", B.LABEL_KEY)
    for k, w in enumerate(ctx.sc["health.weights"]):
        p.put(f"{sig_cols[k]}{wrow}", w, B.INPUT, f.int)
    for col in "IJK":
        p.style(f"{col}{wrow}", B.LABEL_KEY)
    weight_range = f"${sig_cols[0]}${wrow}:${sig_cols[-1]}${wrow}"
    first = wrow + 1
    accounts = ctx.sc["health.accounts"]

    for a, account in enumerate(accounts):
        r = first + a
        p.put(f"A{r}", account["name"], B.INPUT_TEXT)
        mrr = p.put(f"B{r}", account["mrr"], B.INPUT, f.money)
        pot = p.put(f"C{r}", account["potential_mrr"], B.INPUT, f.money)
        for k, s in enumerate(account["scores"]):
            p.put(f"{sig_cols[k]}{r}", s, B.INPUT, f.int)
        scores = Range(p.sheet, f"{sig_cols[0]}{r}:{sig_cols[-1]}{r}")
        score = p.formula(f"I{r}", fn("HEALTH_SCORE", scores, Range(p.sheet, weight_range)), B.CALC_KEY, f.one)
        status = fn("HEALTH_STATUS", score, names["health_red_below"], names["health_green_from"])
        p.formula(f"J{r}", _in_words(ctx, status, STATUS_LABELS), B.CALC_KEY_CENTER)
        segment = fn("SEGMENT", mrr, pot, names["vip_mrr"], names["core_mrr"])
        p.formula(f"K{r}", _in_words(ctx, segment, SEGMENT_LABELS), B.CALC_CENTER)
    last = first + len(accounts) - 1
    status_cells = f"J{first}:J{last}"
    _text_fill(p, status_cells, ctx.s("label.red"), RED)
    _text_fill(p, status_cells, ctx.s("label.yellow"), YELLOW)
    _text_fill(p, status_cells, ctx.s("label.green"), GREEN)
    _text_fill(p, f"K{first}:K{last}", ctx.s("label.VIP"), ("DDEBF7", B.NAVY))
    p.ws.conditional_formatting.add(
        f"{sig_cols[0]}{first}:{sig_cols[-1]}{last}",
        _red_to_green(low=0, mid=50, high=100),
    )
    score_rule = DataValidation(type="decimal", operator="between", formula1="0", formula2="100")
    score_rule.allow_blank = True
    score_rule.showInputMessage = True
    score_rule.promptTitle = ctx.s("he.h.score")[:32]
    score_rule.prompt = ctx.s("valid.range", range=ctx.s("range.between", low="0", high="100"))
    score_rule.showErrorMessage = True
    score_rule.errorTitle = ctx.s("valid.title")[:32]
    score_rule.error = score_rule.prompt
    score_rule.add(f"{sig_cols[0]}{first}:{sig_cols[-1]}{last}")
    p.ws.add_data_validation(score_rule)
    p.ws.freeze_panes = f"B{first}"
    ctx.setup(p, f"{head}:{wrow}", tab=B.NAVY)


STATUS_LABELS = ("red", "yellow", "green")
SEGMENT_LABELS = ("VIP", "potential", "core", "non-core")


def _in_words(ctx: _Ctx, call: Expr, labels: tuple[str, ...]) -> Expr:
    """A label-returning function's answer in the reader's language.

    The function keeps its contract (English labels); the template maps them. A label
    that reads the same in this language needs no mapping, an error passes through.
    """
    mapped = [label for label in labels if ctx.s(f"label.{label}") != label]
    if not mapped:
        return call
    expr: Expr = call
    for label in reversed(mapped):
        expr = IF(call.eq(label), ctx.s(f"label.{label}"), expr)
    return expr


# ---------------------------------------------------------------------------- building


def build(sc: Scenario, t: dict[str, str], lang: str, native: bool) -> Book:
    """Build the workbook in memory (values recorded, nothing written yet)."""
    book = Book(native=native)
    ctx = _Ctx(book, sc, t, lang)
    names = _inputs(ctx)
    scen = _scenarios(ctx, names)
    _charts(ctx, names, scen)
    _sensitivity(ctx, names)
    _checklist(ctx)
    _health(ctx)
    props = book.wb.properties
    props.title = t["doc.title"]
    props.subject = t["doc.subject"]
    props.creator = "xlfuncs generate"
    # The chart data is supporting material: last, after the sheets people read.
    data = book.wb[t["sheet.charts"]]
    book.wb.move_sheet(data, offset=len(book.wb.sheetnames) - 1 - book.wb.sheetnames.index(data.title))
    book.wb.active = 0
    return book
