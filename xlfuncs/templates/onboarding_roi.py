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
from dataclasses import dataclass

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

from ..labels import HEALTH_LABELS, SEGMENT_LABELS
from ..numtext import number_text
from . import book as style
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


class _Context:
    """What every sheet builder shares: the book, the words, the formats, the scenario."""

    def __init__(self, book: Book, scenario: Scenario, texts: dict[str, str], lang: str):
        self.book, self.scenario, self.texts, self.lang = book, scenario, texts, lang
        self.money = money_for(scenario["workbook.currency"], lang)
        self.currency = self.money.label
        self.formats = Formats(self.money)

    def words(self, key: str, **kw) -> str:
        """The words of ``key`` in this language; ``{horizon}`` is always the scenario's horizon."""
        return self.texts[key].format(horizon=int(self.scenario["inputs.horizon_months"]), **kw)

    def setup(self, page: Page, title_rows: str | None, tab: str) -> None:
        page.setup(
            title_rows=title_rows,
            company=self.scenario["workbook.company"],
            page_text=self.texts["page"],
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


def _range_words(ctx: _Context, key: Key) -> str:
    low = None if key.low is None else number_text(key.low)
    high = None if key.high is None else number_text(key.high)
    if low is not None and high is not None:
        return ctx.words("range.above_upto" if key.low_open else "range.between", low=low, high=high)
    if low is not None:
        return ctx.words("range.above" if key.low_open else "range.atleast", low=low)
    return ""


def _validation(ctx: _Context, key: Key, coord: str, title: str, help_text: str) -> DataValidation:
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
    words = ctx.words("valid.range", range=_range_words(ctx, key))
    rule.allow_blank = False
    rule.showInputMessage = True
    rule.promptTitle = title[:32]  # Excel's limits: 32 characters for titles, 255 for texts
    rule.prompt = f"{help_text} {words}"[:255]
    rule.showErrorMessage = True
    rule.errorStyle = "stop"
    rule.errorTitle = ctx.words("valid.title")[:32]
    rule.error = f"{title}: {words}"[:255]
    rule.add(coord)
    return rule


# ------------------------------------------------------------------------------ Inputs


def _inputs(ctx: _Context) -> dict[str, Name]:
    page = ctx.book.page(ctx.words("sheet.inputs"))
    page.widths(A=44, B=13, C=14, D=20, E=62)
    page.put("A1", ctx.words("inputs.title"), style.TITLE)
    page.put("A2", ctx.words("inputs.subtitle"), style.SUBTITLE)
    edition = ctx.words("edition.native" if ctx.book.native else "edition.udf")
    page.put("A3", edition, style.NOTE_PLAIN)
    for col, key in zip("ABCDE", ("input", "value", "unit", "name", "help")):
        page.put(f"{col}5", ctx.words(f"inputs.h.{key}"), style.HEADER if col == "B" else style.HEADER_LEFT)
    names: dict[str, Name] = {}
    row = 6
    for group, items in _INPUT_GROUPS:
        page.put(f"A{row}", ctx.words(group), style.GROUP)
        for col in "BCDE":
            page.style(f"{col}{row}", style.GROUP)
        row += 1
        for key_name, unit, fmt in items:
            key = BY_PATH[f"inputs.{key_name}"]
            label, help_text = ctx.words(f"in.{key_name}"), ctx.words(f"in.{key_name}.help")
            page.put(f"A{row}", label, style.LABEL)
            page.put(f"B{row}", ctx.scenario[key.path], style.INPUT, getattr(ctx.formats, fmt))
            page.put(f"C{row}", ctx.words(unit, cur=ctx.currency), style.LABEL)
            page.put(f"D{row}", key_name, style.NOTE)
            page.put(f"E{row}", help_text, style.NOTE)
            names[key_name] = page.define(key_name, f"B{row}")
            page.ws.add_data_validation(_validation(ctx, key, f"B{row}", label, help_text))
            row += 1
    # The monthly rate every formula uses, derived once, in view, and named like an input.
    page.put(f"A{row}", ctx.words("in.discount_monthly"), style.LABEL)
    page.formula(f"B{row}", (1 + names["discount_rate"]) ** (lift(1) / 12) - 1, style.CALC, ctx.formats.pct2)
    page.put(f"C{row}", ctx.words("unit.per_month"), style.LABEL)
    page.put(f"D{row}", "discount_monthly", style.NOTE)
    page.put(f"E{row}", ctx.words("in.discount_monthly.help"), style.NOTE)
    names["discount_monthly"] = page.define("discount_monthly", f"B{row}")
    page.ws.freeze_panes = "A6"
    ctx.setup(page, "5:5", tab="FFC000")
    return names


# --------------------------------------------------------------------------- Scenarios


@dataclass(frozen=True)
class _Metric:
    """One row of the Scenarios table: a metric without and with onboarding, side by side."""

    key: str  # its words: sc.<key> labels the row, sc.<key>.how says how it is computed
    number_format: str | None  # an attribute of Formats; None for words
    key_figure: bool = False  # in bold: the figures the story is about
    difference: bool = True  # column D shows with minus without
    centered: bool = False


# The Scenarios table, from row 5 down. One story: churn sets how long a customer stays
# within the horizon; revenue, lifetime value, payback and the profit curve follow from it.
SCENARIO_METRICS = (
    _Metric("licenses", "int"),
    _Metric("arpu", "money2"),
    _Metric("churn", "pct"),
    _Metric("months", "one"),
    _Metric("revenue", "money"),
    _Metric("gross_profit", "money"),
    _Metric("clv", "money", key_figure=True),
    _Metric("upfront", "money"),
    _Metric("profit", "money", key_figure=True),
    _Metric("ltv_cac", "ratio", key_figure=True),
    _Metric("rule", None, key_figure=True, difference=False, centered=True),
    _Metric("payback", "one", key_figure=True, difference=False, centered=True),
    _Metric("roi", "pct0", key_figure=True, difference=False),
)
SCENARIO_ROW = {metric.key: 5 + position for position, metric in enumerate(SCENARIO_METRICS)}
WITHOUT, WITH = 0, 1  # the two sides of the table: columns B and C


def _scenarios(ctx: _Context, inputs: dict[str, Name]) -> dict[str, object]:
    page = ctx.book.page(ctx.words("sheet.scenarios"))
    page.widths(A=48, B=19, C=19, D=16, E=80)
    page.put("A1", ctx.words("sc.title"), style.TITLE)
    page.put("A2", ctx.words("sc.subtitle.native" if ctx.book.native else "sc.subtitle"), style.SUBTITLE)
    heads = ("metric", "without", "with", "diff", "how")
    for col, key in zip("ABCDE", heads):
        page.put(f"{col}4", ctx.words(f"sc.h.{key}"), style.HEADER if col in "BCD" else style.HEADER_LEFT)

    def cells(key: str) -> tuple[Expr, Expr]:
        """The without and with cells of a metric's row."""
        return page.ref(f"B{SCENARIO_ROW[key]}"), page.ref(f"C{SCENARIO_ROW[key]}")

    licenses, arpu, churn, months, revenue = (cells(k) for k in ("licenses", "arpu", "churn", "months", "revenue"))
    clv, upfront, ratio = cells("clv"), cells("upfront"), cells("ltv_cac")
    price, margin, discount = inputs["license_price"], inputs["gross_margin"], inputs["discount_monthly"]
    horizon = inputs["horizon_months"]

    def stayed(churn: Expr) -> Expr:  # expected months paid within the horizon (scenario.months_stayed)
        return IF(churn.eq(0), horizon, (1 - (1 - churn) ** horizon) / churn)

    def payback(side: int) -> Expr:
        return _never_if_no_payback(
            fn("PAYBACK", upfront[side], arpu[side], margin, churn[side], discount),
            fn("CLV", arpu[side], churn[side], margin, discount),  # no horizon: the whole life
            upfront[side],
            ctx.words("never"),
        )

    sides = (WITHOUT, WITH)
    without_and_with = {
        "licenses": (inputs["licenses_at_start"], inputs["licenses_at_start"] + inputs["extra_licenses"]),
        "arpu": tuple(price * licenses[side] for side in sides),
        "churn": (inputs["churn_without"], inputs["churn_with"]),
        "months": tuple(stayed(churn[side]) for side in sides),
        "revenue": tuple(arpu[side] * months[side] for side in sides),
        "gross_profit": tuple(revenue[side] * margin for side in sides),
        "clv": tuple(fn("CLV", arpu[side], churn[side], margin, discount, horizon) for side in sides),
        "upfront": (inputs["acquisition_cost"], inputs["acquisition_cost"] + inputs["onboarding_cost"]),
        "profit": tuple(clv[side] - upfront[side] for side in sides),
        "ltv_cac": tuple(fn("LTV_CAC", clv[side], upfront[side]) for side in sides),
        "rule": tuple(IF(ratio[side].ge(3), ctx.words("pass"), ctx.words("fail")) for side in sides),
        "payback": tuple(payback(side) for side in sides),
        "roi": (None, fn("ONBOARDING_ROI", clv[WITH], clv[WITHOUT], inputs["onboarding_cost"])),  # onboarding's own
    }
    for metric in SCENARIO_METRICS:
        _scenario_row(ctx, page, metric, *without_and_with[metric.key])
    # Pass/fail in the traffic-light colours, and a never-paid-back payback in red.
    rule_cells = f"B{SCENARIO_ROW['rule']}:C{SCENARIO_ROW['rule']}"
    _text_fill(page, rule_cells, ctx.words("pass"), GREEN)
    _text_fill(page, rule_cells, ctx.words("fail"), RED)
    _text_fill(page, f"B{SCENARIO_ROW['payback']}:C{SCENARIO_ROW['payback']}", ctx.words("never"), RED)
    page.ws.conditional_formatting.add(
        f"B{SCENARIO_ROW['profit']}:D{SCENARIO_ROW['profit']}",
        CellIsRule(operator="lessThan", formula=["0"], font=Font(color=RED[1], bold=True)),
    )
    page.ws.freeze_panes = "B5"
    ctx.setup(page, "4:4", tab=style.NAVY)
    return {"page": page, "arpu": arpu, "churn": churn, "upfront": upfront, "clv": clv, "rows": SCENARIO_ROW}


def _scenario_row(ctx: _Context, page: Page, metric: _Metric, without: Expr | None, with_: Expr) -> None:
    """A metric's row: its label, without and with onboarding ("n/a" for None), the
    difference, and how it is computed."""
    row = SCENARIO_ROW[metric.key]
    number_format = None if metric.number_format is None else getattr(ctx.formats, metric.number_format)
    if metric.centered:
        look = style.CALC_KEY_CENTER if metric.key_figure else style.CALC_CENTER
    else:
        look = style.CALC_KEY if metric.key_figure else style.CALC
    page.put(f"A{row}", ctx.words(f"sc.{metric.key}"), style.LABEL_KEY if metric.key_figure else style.LABEL)
    for col, expr in (("B", without), ("C", with_)):
        if expr is None:
            page.put(f"{col}{row}", ctx.words("na"), style.CALC_KEY_CENTER if metric.key_figure else style.CALC_CENTER)
        else:
            page.formula(f"{col}{row}", expr, look, number_format)
    if metric.difference:
        page.formula(f"D{row}", page.ref(f"C{row}") - page.ref(f"B{row}"), look, number_format)
    else:
        page.style(f"D{row}", look)
    page.put(f"E{row}", ctx.words(f"sc.{metric.key}.how"), style.NOTE)


def _never_if_no_payback(payback: Expr, lifetime: Expr, upfront: Expr, never: str) -> Expr:
    """``payback``, or "never" when there is no payback; any other error shows as itself.

    No payback (PAYBACK's #NUM!) means the whole discounted lifetime value, with no
    horizon, stays at or below the upfront cost: that is the test, written with CLV, so it
    holds in every edition and every engine (the classic add-in returns the text "#NUM!"
    where the others give the error). IFERROR would
    turn #NAME? (the add-in missing) into "never" too: a wrong answer that looks right.
    """
    return IF(
        ISNUMBER(payback),
        payback,
        IF(ISNUMBER(lifetime), IF(lifetime.le(upfront), never, payback), payback),
    )


def _text_fill(page: Page, cells: str, text: str, colours: tuple[str, str]) -> None:
    fill, font = colours
    page.ws.conditional_formatting.add(
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
    return [value for row in grid for value in row]


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
        points = [NumVal(idx=index, v=value) for index, value in enumerate(values) if isinstance(value, float)]
        series.val.numRef.numCache = NumData(formatCode="General", ptCount=len(values), pt=points)
        cat = series.cat
        if cat is not None and cat.numRef is not None:
            labels = _cells_of(book, cat.numRef.f)
            if all(isinstance(value, float) for value in labels):
                cat.numRef.numCache = NumData(
                    formatCode="General",
                    ptCount=len(labels),
                    pt=[NumVal(idx=index, v=value) for index, value in enumerate(labels)],
                )
            else:  # text categories ("Without onboarding") are a string reference
                series.cat = AxDataSource(
                    strRef=StrRef(
                        f=cat.numRef.f,
                        strCache=StrData(
                            ptCount=len(labels),
                            pt=[StrVal(idx=index, v=str(value)) for index, value in enumerate(labels)],
                        ),
                    )
                )


def _charts(ctx: _Context, inputs: dict[str, Name], scenarios: dict) -> None:
    """The chart data sheet, and the two charts on the Scenarios sheet under the table."""
    page = ctx.book.page(ctx.words("sheet.charts"))
    formats = ctx.formats
    page.widths(A=10, B=20, C=20, D=4, E=22, F=20, G=20)
    page.put("A1", ctx.words("ch.title"), style.TITLE)
    page.put("A2", ctx.words("ch.subtitle"), style.SUBTITLE)
    head = 4
    for col, key in zip("ABC", ("month", "without", "with")):
        page.put(f"{col}{head}", ctx.words(f"ch.{key}"), style.HEADER)
    arpu, churn, upfront = scenarios["arpu"], scenarios["churn"], scenarios["upfront"]
    first = head + 1
    # Rows up to the scenario's horizon, the chart's range: a clean workbook has no error
    # value (`xlfuncs recalc --check` passes it). A shorter horizon typed into the Inputs
    # sheet turns the later months into #N/A, which charts leave out.
    for month in range(int(ctx.scenario["inputs.horizon_months"]) + 1):
        row = first + month
        month_cell = page.put(f"A{row}", month, style.AXIS, formats.int)
        for side, col in enumerate("BC"):
            # CLV over the first t months is the retained, discounted margin to date, so
            # this curve crosses 0 exactly where PAYBACK says (CLV needs t >= 1).
            to_date = IF(
                month_cell.eq(0),
                0,
                fn("CLV", arpu[side], churn[side], inputs["gross_margin"], inputs["discount_monthly"], month_cell),
            )
            page.formula(
                f"{col}{row}",
                IF(month_cell.gt(inputs["horizon_months"]), NA(), to_date - upfront[side]),
                style.CALC,
                formats.money,
            )
    last = first + int(ctx.scenario["inputs.horizon_months"])
    page.put(f"A{last + 1}", ctx.words("ch.note"), style.NOTE_PLAIN)

    # LTV vs upfront cost: the bars' data, beside the curve's data.
    page.put(f"E{head}", "", style.HEADER)
    for col, key in zip("FG", ("clv", "cac")):
        page.put(f"{col}{head}", ctx.words(f"ch.{key}"), style.HEADER)
    for side, key in enumerate(("without", "with")):
        row = head + 1 + side
        page.put(f"E{row}", ctx.words(f"ch.{key}"), style.LABEL)
        page.formula(f"F{row}", scenarios["clv"][side], style.CALC, formats.money)
        page.formula(f"G{row}", upfront[side], style.CALC, formats.money)
    ctx.setup(page, f"{head}:{head}", tab="A6A6A6")

    line = LineChart()
    line.title = _rich(ctx.words("ch.profit.title"), 1200)
    line.style = 2
    line.height, line.width = 9, 14.5
    line.y_axis.title = _rich(ctx.words("ch.profit.y", cur=ctx.currency), 900, bold=False)
    line.x_axis.title = _rich(ctx.words("ch.profit.x"), 900, bold=False)
    line.y_axis.number_format = "#,##0"
    line.y_axis.txPr = _axis_text()
    line.x_axis.txPr = _axis_text()
    line.x_axis.tickLblSkip = 6
    line.x_axis.tickMarkSkip = 6
    # openpyxl hides axes unless told otherwise (delete=True); readers need them.
    line.x_axis.delete = False
    line.y_axis.delete = False
    line.x_axis.tickLblPos = "low"  # month labels at the bottom, not on the zero line
    end = first + int(ctx.scenario["inputs.horizon_months"])
    line.add_data(Reference(page.ws, min_col=2, max_col=3, min_row=head, max_row=end), titles_from_data=True)
    line.set_categories(Reference(page.ws, min_col=1, min_row=first, max_row=end))
    for series, colour in zip(line.series, ("C00000", "2E75B6")):
        series.graphicalProperties.line.solidFill = colour
        series.graphicalProperties.line.width = 28575  # 2.25 pt
        series.smooth = False
    line.legend.position = "b"

    bars = BarChart()
    bars.type = "col"
    bars.title = _rich(ctx.words("ch.ltv.title"), 1200)
    bars.height, bars.width = 9, 13
    bars.y_axis.title = _rich(ctx.words("ch.ltv.y", cur=ctx.currency), 900, bold=False)
    bars.y_axis.number_format = "#,##0"
    bars.y_axis.txPr = _axis_text()
    bars.x_axis.txPr = _axis_text()
    bars.x_axis.delete = False
    bars.y_axis.delete = False
    bars.add_data(Reference(page.ws, min_col=6, max_col=7, min_row=head, max_row=head + 2), titles_from_data=True)
    bars.set_categories(Reference(page.ws, min_col=5, min_row=head + 1, max_row=head + 2))
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

    scenarios_page: Page = scenarios["page"]
    row = max(scenarios["rows"].values()) + 2
    scenarios_page.put(f"A{row}", ctx.words("ch.section"), style.GROUP)
    for col in "BCDE":
        scenarios_page.style(f"{col}{row}", style.GROUP)
    scenarios_page.ws.add_chart(line, f"A{row + 1}")
    scenarios_page.ws.add_chart(bars, f"D{row + 1}")
    # The charts' data stays off the printout (a page of #N/A past the horizon otherwise):
    # a hidden sheet, which Excel and LibreOffice still chart from.
    page.ws.sheet_state = "hidden"
    scenarios_page.put(f"A{row + 20}", ctx.words("ch.where", sheet=page.sheet), style.NOTE_PLAIN)


# ------------------------------------------------------------------------- Sensitivity


def _sensitivity(ctx: _Context, inputs: dict[str, Name]) -> None:
    page = ctx.book.page(ctx.words("sheet.sensitivity"))
    formats = ctx.formats
    churns = ctx.scenario["sensitivity.churn"]
    extras = ctx.scenario["sensitivity.extra_licenses"]
    page.widths(A=30, **{get_column_letter(2 + extra_index): 13 for extra_index in range(len(extras))})
    page.put("A1", ctx.words("se.title"), style.TITLE)
    page.put("A2", ctx.words("se.subtitle"), style.SUBTITLE)
    last_col = get_column_letter(1 + len(extras))

    # Grid 1: CLV. Its axes are inputs; grid 2 repeats them by reference.
    top = 4
    page.put(f"A{top}", ctx.words("se.clv"), style.GROUP)
    for extra_index in range(len(extras)):
        page.style(f"{get_column_letter(2 + extra_index)}{top}", style.GROUP)
    head = top + 1
    page.put(f"A{head}", ctx.words("se.corner"), style.HEADER_LEFT)
    page.ws.row_dimensions[head].height = 30  # two lines: the header wraps in a narrow column
    cols = []
    for extra_index, extra in enumerate(extras):
        col = get_column_letter(2 + extra_index)
        cols.append(page.put(f"{col}{head}", extra, style.AXIS_INPUT, formats.int))
    churn_refs = []
    clv_cells = {}
    upfront_with = inputs["acquisition_cost"] + inputs["onboarding_cost"]
    for churn_index, churn in enumerate(churns):
        row = head + 1 + churn_index
        churn_refs.append(page.put(f"A{row}", churn, style.AXIS_INPUT, formats.pct))
        for extra_index in range(len(extras)):
            col = get_column_letter(2 + extra_index)
            arpu = inputs["license_price"] * (inputs["licenses_at_start"] + cols[extra_index])
            clv_cells[(churn_index, extra_index)] = page.formula(
                f"{col}{row}",
                fn(
                    "CLV",
                    arpu,
                    churn_refs[churn_index],
                    inputs["gross_margin"],
                    inputs["discount_monthly"],
                    inputs["horizon_months"],
                ),
                style.CALC,
                formats.money,
            )
    clv_block = f"B{head + 1}:{last_col}{head + len(churns)}"
    _frame_current(page, clv_block, head)
    page.ws.conditional_formatting.add(
        clv_block,
        _red_to_green(),
    )

    # Grid 2: LTV:CAC with the strict upfront cost, coloured around Blank's 3.
    top2 = head + len(churns) + 2
    page.put(f"A{top2}", ctx.words("se.ltv_cac"), style.GROUP)
    for extra_index in range(len(extras)):
        page.style(f"{get_column_letter(2 + extra_index)}{top2}", style.GROUP)
    head2 = top2 + 1
    page.put(f"A{head2}", ctx.words("se.corner"), style.HEADER_LEFT)
    page.ws.row_dimensions[head2].height = 30
    for extra_index in range(len(extras)):
        col = get_column_letter(2 + extra_index)
        page.formula(f"{col}{head2}", cols[extra_index], style.AXIS, formats.int)
    for churn_index in range(len(churns)):
        row = head2 + 1 + churn_index
        page.formula(f"A{row}", churn_refs[churn_index], style.AXIS, formats.pct)
        for extra_index in range(len(extras)):
            col = get_column_letter(2 + extra_index)
            page.formula(
                f"{col}{row}",
                fn("LTV_CAC", clv_cells[(churn_index, extra_index)], upfront_with),
                style.CALC,
                formats.ratio,
            )
    ratio_block = f"B{head2 + 1}:{last_col}{head2 + len(churns)}"
    _frame_current(page, ratio_block, head2)
    page.put(f"A{head2 + len(churns) + 2}", ctx.words("se.note"), style.NOTE_PLAIN)
    page.ws.conditional_formatting.add(
        ratio_block,
        _red_to_green(low=1, mid=3, high=6),
    )
    ctx.setup(page, None, tab=style.NAVY)


def _frame_current(page: Page, block: str, axis_row: int) -> None:
    """Frame the grid cell of the scenario on the Inputs sheet, wherever the inputs move it."""
    first = block.split(":")[0]
    row = first.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    col = first[: -len(row)]
    thick = Side(style="medium", color="000000")
    page.ws.conditional_formatting.add(
        block,
        FormulaRule(
            formula=[f"AND($A{row}=churn_with,{col}${axis_row}=extra_licenses)"],
            border=Border(left=thick, right=thick, top=thick, bottom=thick),
            font=Font(bold=True),
        ),
    )


# --------------------------------------------------------------------------- Checklist


def _checklist(ctx: _Context) -> None:
    page = ctx.book.page(ctx.words("sheet.checklist"))
    formats = ctx.formats
    page.widths(A=5, B=40, C=50, D=24, E=11, F=13, G=12, H=14)
    page.put("A1", ctx.words("ck.title"), style.TITLE)
    page.put("A2", ctx.words("ck.subtitle"), style.SUBTITLE)
    page.put("B4", ctx.words("ck.customer"), style.LABEL)
    page.put("C4", ctx.scenario["checklist.customer"], style.INPUT_TEXT)
    page.put("B5", ctx.words("ck.start"), style.LABEL)
    start_date: dt.date = ctx.scenario["checklist.start_date"]
    start = page.put("C5", start_date, style.INPUT_TEXT, formats.date)
    page.put("B6", ctx.words("ck.target"), style.LABEL)
    target = page.put("C6", ctx.scenario["checklist.ttfv_target_days"], style.INPUT_TEXT, formats.days)
    page.ws.add_data_validation(_date_rule(ctx, "C5", ctx.words("ck.start")))
    heads = ("n", "step", "done_means", "owner", "target", "done", "days", "status")
    for col, key in zip("ABCDEFGH", heads):
        page.put(f"{col}8", ctx.words(f"ck.h.{key}"), style.HEADER)
    page.ws.row_dimensions[8].height = 30  # room for the wrapped headers
    targets = ctx.scenario["checklist.target_days"]
    done = ctx.scenario["checklist.done_days"]
    first = 9
    for step in range(6):
        row = first + step
        page.put(f"A{row}", step + 1, style.CALC_CENTER, formats.int)
        page.put(f"B{row}", ctx.words(f"ck.s{step + 1}"), style.LABEL)
        page.put(f"C{row}", ctx.words(f"ck.s{step + 1}.means"), style.NOTE)
        page.put(f"D{row}", ctx.words(f"ck.s{step + 1}.owner"), style.INPUT_TEXT)
        page.put(f"E{row}", targets[step], style.INPUT, formats.days)
        when = start_date + dt.timedelta(days=done[step]) if step < len(done) else None
        done_ref = page.put(f"F{row}", when, style.INPUT, formats.date)
        days = page.formula(f"G{row}", fn("TTFV", page.ref("C5", absolute=True), done_ref), style.CALC, formats.days)
        status = IF(
            ISNA(days),
            ctx.words("ck.open"),
            IF(days.le(page.ref(f"E{row}")), ctx.words("ck.on_time"), ctx.words("ck.late")),
        )
        page.formula(f"H{row}", status, style.CALC_CENTER)
    steps = f"{first}:{first + 5}"
    lo, hi = steps.split(":")
    page.ws.add_data_validation(_date_rule(ctx, f"F{lo}:F{hi}", ctx.words("ck.h.done")))
    status_cells = f"H{lo}:H{hi}"
    _text_fill(page, status_cells, ctx.words("ck.on_time"), GREEN)
    _text_fill(page, status_cells, ctx.words("ck.late"), RED)
    _text_fill(page, status_cells, ctx.words("ck.open"), GREY)
    # A step not done yet has no duration: show its #N/A faintly, not as an alarm.
    page.ws.conditional_formatting.add(f"G{lo}:G{hi}", FormulaRule(formula=[f"ISNA(G{lo})"], font=Font(color="BFBFBF")))

    row = first + 7
    page.put(f"B{row}", ctx.words("ck.ttfv"), style.LABEL_KEY)
    ttfv = page.formula(f"C{row}", fn("TTFV", start, page.ref(f"F{first + 5}")), style.CALC_KEY_CENTER, formats.days)
    page.put(f"D{row}", ctx.words("ck.ttfv.how"), style.NOTE_PLAIN)
    page.put(f"B{row + 1}", ctx.words("ck.target"), style.LABEL)
    page.formula(f"C{row + 1}", target, style.CALC_CENTER, formats.days)
    page.put(f"B{row + 2}", ctx.words("ck.verdict"), style.LABEL_KEY)
    verdict = IF(ISNA(ttfv), ctx.words("ck.not_yet"), IF(ttfv.le(target), ctx.words("ck.within"), ctx.words("ck.over")))
    page.formula(f"C{row + 2}", verdict, style.CALC_KEY_CENTER)
    _text_fill(page, f"C{row + 2}", ctx.words("ck.within"), GREEN)
    _text_fill(page, f"C{row + 2}", ctx.words("ck.over"), RED)
    _text_fill(page, f"C{row + 2}", ctx.words("ck.not_yet"), GREY)
    page.ws.conditional_formatting.add(f"C{row}", FormulaRule(formula=[f"ISNA(C{row})"], font=Font(color="BFBFBF")))
    ctx.setup(page, "8:8", tab=style.NAVY)


def _date_rule(ctx: _Context, cells: str, title: str) -> DataValidation:
    rule = DataValidation(type="date", operator="greaterThan", formula1="36526")  # after 2000-01-01
    rule.allow_blank = True
    rule.showInputMessage = True
    rule.promptTitle = title[:32]
    rule.prompt = "yyyy-mm-dd"
    rule.showErrorMessage = True
    rule.errorTitle = ctx.words("valid.title")[:32]
    rule.error = f"{title}: yyyy-mm-dd"
    rule.add(cells)
    return rule


# ------------------------------------------------------------------------------ Health


def _health(ctx: _Context) -> None:
    page = ctx.book.page(ctx.words("sheet.health"))
    formats = ctx.formats
    page.widths(A=24, B=12, C=14, D=11, E=11, F=11, G=11, H=11, I=13, J=11, K=13)
    page.put("A1", ctx.words("he.title"), style.TITLE)
    page.put("A2", ctx.words("he.subtitle"), style.SUBTITLE)
    thresholds = (
        ("he.red_below", "health.red_below", "health_red_below", formats.int),
        ("he.green_from", "health.green_from", "health_green_from", formats.int),
        ("he.vip", "health.vip_mrr", "vip_mrr", formats.money),
        ("he.core", "health.core_mrr", "core_mrr", formats.money),
    )
    names = {}
    for index, (label, key, name, fmt) in enumerate(thresholds):
        row = 4 + index
        page.put(f"A{row}", ctx.words(label), style.LABEL)
        page.put(f"B{row}", ctx.scenario[key], style.INPUT, fmt)
        names[name] = page.define(name, f"B{row}")
        schema = BY_PATH[key]
        page.ws.add_data_validation(_validation(ctx, schema, f"B{row}", ctx.words(label), ctx.words(label)))
    head = 9
    signal_columns = [get_column_letter(4 + signal) for signal in range(SIGNALS)]
    heads = [ctx.words("he.h.account"), ctx.words("he.h.mrr"), ctx.words("he.h.potential")]
    heads += [ctx.words(f"he.sig{signal + 1}") for signal in range(SIGNALS)]
    heads += [ctx.words("he.h.score"), ctx.words("he.h.status"), ctx.words("he.h.segment")]
    for signal, text in enumerate(heads):
        page.put(f"{get_column_letter(1 + signal)}{head}", text, style.HEADER)
    weights_row = head + 1
    page.put(f"A{weights_row}", ctx.words("he.weights"), style.LABEL_KEY)
    page.style(f"B{weights_row}", style.LABEL_KEY)
    page.style(f"C{weights_row}", style.LABEL_KEY)
    for signal, weight in enumerate(ctx.scenario["health.weights"]):
        page.put(f"{signal_columns[signal]}{weights_row}", weight, style.INPUT, formats.int)
    for col in "IJK":
        page.style(f"{col}{weights_row}", style.LABEL_KEY)
    weight_range = f"${signal_columns[0]}${weights_row}:${signal_columns[-1]}${weights_row}"
    first = weights_row + 1
    accounts = ctx.scenario["health.accounts"]

    for number, account in enumerate(accounts):
        row = first + number
        page.put(f"A{row}", account["name"], style.INPUT_TEXT)
        mrr = page.put(f"B{row}", account["mrr"], style.INPUT, formats.money)
        potential = page.put(f"C{row}", account["potential_mrr"], style.INPUT, formats.money)
        for signal, score in enumerate(account["scores"]):
            page.put(f"{signal_columns[signal]}{row}", score, style.INPUT, formats.int)
        scores = Range(page.sheet, f"{signal_columns[0]}{row}:{signal_columns[-1]}{row}")
        score = page.formula(
            f"I{row}", fn("HEALTH_SCORE", scores, Range(page.sheet, weight_range)), style.CALC_KEY, formats.one
        )
        status = fn("HEALTH_STATUS", score, names["health_red_below"], names["health_green_from"])
        page.formula(f"J{row}", _in_words(ctx, status, HEALTH_LABELS), style.CALC_KEY_CENTER)
        segment = fn("SEGMENT", mrr, potential, names["vip_mrr"], names["core_mrr"])
        page.formula(f"K{row}", _in_words(ctx, segment, SEGMENT_LABELS), style.CALC_CENTER)
    last = first + len(accounts) - 1
    status_cells = f"J{first}:J{last}"
    _text_fill(page, status_cells, ctx.words("label.red"), RED)
    _text_fill(page, status_cells, ctx.words("label.yellow"), YELLOW)
    _text_fill(page, status_cells, ctx.words("label.green"), GREEN)
    _text_fill(page, f"K{first}:K{last}", ctx.words("label.VIP"), ("DDEBF7", style.NAVY))
    page.ws.conditional_formatting.add(
        f"{signal_columns[0]}{first}:{signal_columns[-1]}{last}",
        _red_to_green(low=0, mid=50, high=100),
    )
    score_rule = DataValidation(type="decimal", operator="between", formula1="0", formula2="100")
    score_rule.allow_blank = True
    score_rule.showInputMessage = True
    score_rule.promptTitle = ctx.words("he.h.score")[:32]
    score_rule.prompt = ctx.words("valid.range", range=ctx.words("range.between", low="0", high="100"))
    score_rule.showErrorMessage = True
    score_rule.errorTitle = ctx.words("valid.title")[:32]
    score_rule.error = score_rule.prompt
    score_rule.add(f"{signal_columns[0]}{first}:{signal_columns[-1]}{last}")
    page.ws.add_data_validation(score_rule)
    page.ws.freeze_panes = f"B{first}"
    ctx.setup(page, f"{head}:{weights_row}", tab=style.NAVY)


def _in_words(ctx: _Context, call: Expr, labels: tuple[str, ...]) -> Expr:
    """A label-returning function's answer in the reader's language.

    The function keeps its contract (English labels); the template maps them. A label
    that reads the same in this language needs no mapping, an error passes through.
    """
    mapped = [label for label in labels if ctx.words(f"label.{label}") != label]
    if not mapped:
        return call
    expr: Expr = call
    for label in reversed(mapped):
        expr = IF(call.eq(label), ctx.words(f"label.{label}"), expr)
    return expr


# ---------------------------------------------------------------------------- building


def build(scenario: Scenario, texts: dict[str, str], lang: str, native: bool) -> Book:
    """Build the workbook in memory (values recorded, nothing written yet)."""
    book = Book(native=native)
    ctx = _Context(book, scenario, texts, lang)
    inputs = _inputs(ctx)  # every assumption, a defined name each
    scenarios = _scenarios(ctx, inputs)  # without vs with onboarding
    _charts(ctx, inputs, scenarios)  # profit curve and LTV vs CAC, under the scenarios
    _sensitivity(ctx, inputs)  # CLV and LTV:CAC over churn x extra licenses
    _checklist(ctx)  # the onboarding steps and the time to first value
    _health(ctx)  # account health, status and segment
    props = book.wb.properties
    props.title = texts["doc.title"]
    props.subject = texts["doc.subject"]
    props.creator = "xlfuncs generate"
    # The chart data is supporting material: last, after the sheets people read.
    data = book.wb[texts["sheet.charts"]]
    book.wb.move_sheet(data, offset=len(book.wb.sheetnames) - 1 - book.wb.sheetnames.index(data.title))
    book.wb.active = 0
    return book
