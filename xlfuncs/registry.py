"""The registry: every xlfuncs function described once.

Each :class:`Function` names its pure implementation in :mod:`xlfuncs.metrics` and carries
everything the other layers derive from it: the Excel name and argument order of the
contract, argument docs and defaults, how blanks behave, the one-line description, the
notes with the formula, the contract's worked examples, and the *native twin*: the
equivalent formula of Excel built-ins used by ``xlfuncs generate --native``.

The Python API (:mod:`xlfuncs.api`), the xlwings module (:mod:`xlfuncs.udfs`), the recalc
engine's add-in, the README's function reference and ``xlfuncs functions`` are all built
from :data:`FUNCTIONS`; none of them lists the functions again.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from . import metrics

ELEMENTWISE = "elementwise"
AGGREGATING = "aggregating"
TABLE = "table"

# How an empty cell given for an argument behaves.
BLANK_ZERO = "zero"  # a required number: 0, as in Excel arithmetic
BLANK_DEFAULT = "default"  # an optional argument: its default
BLANK_NA = "na"  # not reached yet: the result is #N/A (TTFV's first_value)


@dataclass(frozen=True)
class Arg:
    """One argument of a function, in contract order."""

    name: str
    doc: str
    default: float | None = None
    optional: bool = False
    blank: str = BLANK_ZERO
    date: bool = False  # accepts dates (datetime objects, ISO date text) as serials
    default_text: str = ""  # how the default reads in docs when it is not a number

    @property
    def default_doc(self) -> str:
        if not self.optional:
            return ""
        return self.default_text or _number(self.default)


@dataclass(frozen=True)
class Function:
    """One function of the contract."""

    name: str
    kind: str
    impl: Callable
    args: tuple[Arg, ...]
    description: str
    notes: str
    examples: tuple[tuple[str, object], ...] = ()
    labels: tuple[str, ...] | None = None  # text results: impl returns label indices
    columns: tuple[str, ...] | None = None  # table results: column headers
    native_builder: Callable[[Mapping[str, str | None]], str] | None = None
    paired: bool = False  # aggregating over pairs of same-shape ranges (HEALTH_SCORE)
    # Table functions: the built-in formula of ONE cell of the spill (see native_cell).
    native_cell_builder: Callable[..., str] | None = None

    @property
    def python_name(self) -> str:
        return self.name.lower()

    @property
    def returns_text(self) -> bool:
        return self.labels is not None

    @property
    def required(self) -> tuple[Arg, ...]:
        return tuple(a for a in self.args if not a.optional)

    @property
    def signature(self) -> str:
        """The Excel signature as the contract writes it: ``CLV(arpu, churn, [margin])``."""
        names = [f"[{a.name}]" if a.optional else a.name for a in self.args]
        return f"{self.name}({', '.join(names)})"

    @property
    def has_native(self) -> bool:
        return self.native_builder is not None

    def native(self, *arg_exprs: str | None) -> str:
        """The equivalent formula of Excel built-ins (no leading ``=``).

        Parameters
        ----------
        *arg_exprs : str or None
            One expression per argument (a cell reference, a defined name, a number), in
            contract order. Trailing optional arguments may be left out, or given as None,
            to take their defaults.

        Returns
        -------
        str
            Formula text that any spreadsheet evaluates without xlfuncs.

        Examples
        --------
        >>> FUNCTIONS["LTV_CAC"].native("B2", "B3")
        '(B2)/(B3)'
        """
        if self.native_builder is None:
            raise ValueError(f"{self.name} has no native twin: it spills a table")
        if len(arg_exprs) < len(self.required) or len(arg_exprs) > len(self.args):
            raise TypeError(f"{self.signature} takes {len(self.args)} arguments")
        exprs: dict[str, str | None] = {}
        for position, arg in enumerate(self.args):
            given = arg_exprs[position] if position < len(arg_exprs) else None
            if given is None and arg.optional:
                given = None if arg.default is None or math.isinf(arg.default) else _number(arg.default)
            # Parenthesised so that "-B2" or "B2+B3" keep their meaning inside the twin.
            exprs[arg.name] = None if given is None else f"({given})"
        return self.native_builder(exprs)

    def native_cell(self, row: int, col: int, **refs) -> str:
        """The built-in formula of one cell of a table function's spill (no leading ``=``).

        A spilling function has no single-formula twin; the native edition writes one formula
        per cell instead. ``row`` and ``col`` are the cell's 0-based place in the spill;
        ``refs`` are the references the builder needs (documented with each builder below,
        under "Per-cell native twins").
        """
        if self.native_cell_builder is None:
            raise ValueError(f"{self.name} has no per-cell native twin")
        return self.native_cell_builder(row, col, **refs)


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _q(a):
    """The retention factor q = (1 - churn) / (1 + discount) as formula text."""
    return f"(1-{a['churn']})/(1+{a['discount']})"


def _native_clv(a):
    m = f"{a['arpu']}*{a['margin']}"
    unlimited = f"{m}*(1+{a['discount']})/({a['churn']}+{a['discount']})"
    if a["periods"] is None:
        return unlimited
    n = f"INT({a['periods']})"
    steady = f"{a['churn']}+{a['discount']}=0"
    limited = f"{m}*(1+{a['discount']})*(1-({_q(a)})^{n})/({a['churn']}+{a['discount']})"
    return f"IF({steady},{m}*{n},{limited})"


def _native_payback(a):
    m = f"({a['arpu']}*{a['margin']})"
    one_minus_q = f"({a['churn']}+{a['discount']})/(1+{a['discount']})"
    steady = f"{a['churn']}+{a['discount']}=0"
    return f"IF({steady},{a['cac']}/{m},LN(1-{a['cac']}*{one_minus_q}/{m})/LN({_q(a)}))"


def _gains(*exprs):
    return "+".join(f"SUM{e}" for e in exprs)


def _lost(*exprs):
    """Total lost, by magnitude cell by cell (losses may be typed positive or negative)."""
    return "+".join(f"SUMPRODUCT(ABS{e})" for e in exprs)


_MARGIN = Arg("margin", "Gross margin, 0 to 1.", 1.0, True, BLANK_DEFAULT)
_DISCOUNT = Arg("discount", "Discount rate per period, >= 0.", 0.0, True, BLANK_DEFAULT)
_REACTIVATION = Arg("reactivation", "MRR won back from former customers (a range is summed).", 0.0, True, BLANK_DEFAULT)
_CONTRACTION = Arg("contraction", "MRR lost to downgrades; positive or negative, by magnitude.")
_CHURNED = Arg("churned", "MRR lost to customers who left; positive or negative, by magnitude.")
_EXPANSION = Arg("expansion", "MRR won from upgrades of existing customers (a range is summed).")


FUNCTIONS: dict[str, Function] = {}


def _register(function: Function) -> None:
    FUNCTIONS[function.name] = function


_register(
    Function(
        name="CLV",
        kind=ELEMENTWISE,
        impl=metrics.clv,
        args=(
            Arg("arpu", "Revenue per customer per period, >= 0."),
            Arg("churn", "Share of customers lost per period, 0 to 1."),
            _MARGIN,
            _DISCOUNT,
            Arg(
                "periods",
                "Horizon in whole periods, >= 1 (decimals truncated); omit for no limit.",
                math.inf,
                True,
                BLANK_DEFAULT,
                default_text="no limit",
            ),
        ),
        description="Customer lifetime value: the discounted margin one customer brings over its life.",
        notes=(
            "With m = arpu * margin and q = (1 - churn) / (1 + discount), CLV = sum over "
            "t = 0 .. periods-1 of m * q^t = m * (1 - q^periods) / (1 - q), and m / (1 - q) "
            "with no limit (m / churn when discount = 0). The first period is counted "
            "undiscounted: the textbook form m(1+d)/(1+d-r) of Blattberg et al. (other "
            "books drop the first period). #DIV/0! when churn = 0 and discount = 0 with no "
            "limit; #NUM! for any argument out of range."
        ),
        examples=(
            ("=CLV(35, 0.05)", 700.0),
            ("=CLV(100, 0.02, 0.8)", 4000.0),
            ("=CLV(35, 0, 1, 0, 12)", 420.0),
            ("=CLV(100, 0.05, 1, 0.01)", 1683.3333333333),
            ("=CLV(100, 0.05, 1, 0.01, 36)", 1497.7023532574),
            ("=CLV(35, 0)", "#DIV/0!"),
            ("=CLV(35, 1.2)", "#NUM!"),
        ),
        native_builder=_native_clv,
    )
)

_register(
    Function(
        name="LTV_CAC",
        kind=ELEMENTWISE,
        impl=metrics.ltv_cac,
        args=(
            Arg("ltv", "Lifetime value of a customer (e.g. a CLV), >= 0."),
            Arg("cac", "Cost of acquiring that customer, >= 0."),
        ),
        description="LTV:CAC ratio; a healthy business is at 3 or more (the 3:1 rule).",
        notes="ltv / cac. #DIV/0! when cac = 0; #NUM! when either is negative.",
        examples=(("=LTV_CAC(1500, 500)", 3.0), ("=LTV_CAC(1500, 0)", "#DIV/0!"), ("=LTV_CAC(-1, 5)", "#NUM!")),
        native_builder=lambda a: f"{a['ltv']}/{a['cac']}",
    )
)

_register(
    Function(
        name="ARPU",
        kind=AGGREGATING,
        impl=metrics.arpu,
        args=(
            Arg("revenue", "Revenue of the period (a range is summed)."),
            Arg("customers", "Customer counts, e.g. at the start and end of the period (averaged)."),
        ),
        description="Average revenue per customer in a period: SUM(revenue) / AVERAGE(customers).",
        notes="SUM(revenue) / AVERAGE(customers). #DIV/0! when the average is 0; #NUM! for a negative count.",
        examples=(("=ARPU(10500, {280, 320})", 35.0),),
        native_builder=lambda a: f"SUM{a['revenue']}/AVERAGE{a['customers']}",
    )
)

_register(
    Function(
        name="PAYBACK",
        kind=ELEMENTWISE,
        impl=metrics.payback,
        args=(
            Arg("cac", "Acquisition cost to earn back, >= 0."),
            Arg("arpu", "Revenue per customer per period, >= 0."),
            _MARGIN,
            Arg("churn", "Share of customers lost per period, 0 to 1.", 0.0, True, BLANK_DEFAULT),
            _DISCOUNT,
        ),
        description="Periods until the acquisition cost is earned back by retained, discounted margin.",
        notes=(
            "Payments at the start of each period, fractional periods allowed. With "
            "m = arpu * margin and q = (1 - churn) / (1 + discount): n = cac / m when q = 1, "
            "otherwise n = ln(1 - cac * (1 - q) / m) / ln(q). #NUM! when it is never earned "
            "back (1 - cac * (1 - q) / m <= 0) or an argument is out of range; #DIV/0! when m = 0."
        ),
        examples=(
            ("=PAYBACK(420, 35)", 12.0),
            ("=PAYBACK(1000, 100, 0.8)", 12.5),
            ("=PAYBACK(1000, 100, 1, 0.05)", 13.5134073340),
            ("=PAYBACK(1000, 100, 1, 0.05, 0.01)", 14.7206904652),
            ("=PAYBACK(1000, 100, 1, 0.1)", "#NUM!"),
        ),
        native_builder=_native_payback,
    )
)

_register(
    Function(
        name="CAC",
        kind=AGGREGATING,
        impl=metrics.cac,
        args=(
            Arg("spend", "Sales and marketing spend (a range is summed)."),
            Arg("new_customers", "New customers won with that spend (a range is summed)."),
        ),
        description="Customer acquisition cost: SUM(spend) / SUM(new_customers).",
        notes="SUM(spend) / SUM(new_customers). #DIV/0! when no new customers; #NUM! for a negative count.",
        examples=(("=CAC({3000, 2000}, {6, 4})", 500.0), ("=CAC(5000, 0)", "#DIV/0!")),
        native_builder=lambda a: f"SUM{a['spend']}/SUM{a['new_customers']}",
    )
)

_register(
    Function(
        name="RETENTION_COST",
        kind=AGGREGATING,
        impl=metrics.retention_cost,
        args=(
            Arg("spend", "Customer-success spend (a range is summed)."),
            Arg("customers", "Customers kept with that spend (a range is summed)."),
        ),
        description="Cost of keeping one customer: SUM(spend) / SUM(customers).",
        notes="SUM(spend) / SUM(customers). #DIV/0! when there are no customers; #NUM! for a negative count.",
        examples=(("=RETENTION_COST(12000, 400)", 30.0),),
        native_builder=lambda a: f"SUM{a['spend']}/SUM{a['customers']}",
    )
)

_register(
    Function(
        name="ONBOARDING_ROI",
        kind=ELEMENTWISE,
        impl=metrics.onboarding_roi,
        args=(
            Arg("value_with", "What a customer is worth with onboarding (e.g. its CLV)."),
            Arg("value_without", "What a customer is worth without onboarding."),
            Arg("cost", "Onboarding cost per customer, > 0."),
        ),
        description="Return on an onboarding team: (value_with - value_without - cost) / cost.",
        notes="(value_with - value_without - cost) / cost. #DIV/0! when cost = 0; #NUM! when cost < 0.",
        examples=(("=ONBOARDING_ROI(1400, 600, 200)", 3.0), ("=ONBOARDING_ROI(1400, 600, 0)", "#DIV/0!")),
        native_builder=lambda a: f"({a['value_with']}-{a['value_without']}-{a['cost']})/{a['cost']}",
    )
)

_register(
    Function(
        name="NET_MRR",
        kind=AGGREGATING,
        impl=metrics.net_mrr,
        args=(
            Arg("new", "MRR from new customers (a range is summed)."),
            _EXPANSION,
            _CONTRACTION,
            _CHURNED,
            _REACTIVATION,
        ),
        description="Net new MRR: new + expansion + reactivation - |contraction| - |churned|.",
        notes=(
            "new + expansion + reactivation - |contraction| - |churned|, each argument a "
            "single amount or a range summed (losses by magnitude, cell by cell)."
        ),
        examples=(("=NET_MRR(1000, 500, 200, 300)", 1000.0), ("=NET_MRR(1000, 500, -200, -300, 100)", 1100.0)),
        native_builder=lambda a: (
            f"{_gains(a['new'], a['expansion'], a['reactivation'])}-({_lost(a['contraction'], a['churned'])})"
        ),
    )
)

_register(
    Function(
        name="MRR_MOVEMENTS",
        kind=TABLE,
        impl=metrics.mrr_movements,
        args=(
            Arg(
                "mrr",
                "Customers x periods range of MRR (one row per customer, periods left to right, blanks = 0).",
            ),
        ),
        description="MRR movements per step: new, expansion, reactivation, contraction, churned, net (spills).",
        notes=(
            "One row per step between consecutive periods (periods - 1 rows), six columns: "
            "new, expansion, reactivation, contraction, churned, net. Losses are negative; net "
            "is the row's sum. A customer going from 0 to > 0 is reactivation if it had MRR > 0 "
            "in any earlier period, otherwise new. #VALUE! for fewer than 2 periods."
        ),
        examples=(
            (
                "=MRR_MOVEMENTS({100,150,150,0;0,200,100,100;50,0,0,80;0,0,0,60})",
                [
                    [200.0, 50.0, 0.0, 0.0, -50.0, 200.0],
                    [0.0, 0.0, 0.0, -100.0, 0.0, -100.0],
                    [60.0, 0.0, 80.0, 0.0, -150.0, -10.0],
                ],
            ),
            ("=MRR_MOVEMENTS({100;200})", "#VALUE!"),
        ),
        columns=("new", "expansion", "reactivation", "contraction", "churned", "net"),
    )
)

_register(
    Function(
        name="CHURN_RATE",
        kind=AGGREGATING,
        impl=metrics.churn_rate,
        args=(
            Arg("lost", "Customers (or MRR) lost in the period (a range is summed)."),
            Arg("at_start", "Customers (or MRR) at the start of the period (a range is summed)."),
        ),
        description="Churn rate: SUM(lost) / SUM(at_start), customer or gross revenue churn.",
        notes="SUM(lost) / SUM(at_start). #DIV/0! when at_start sums to 0; #NUM! for negative values.",
        examples=(("=CHURN_RATE(5, 100)", 0.05), ("=CHURN_RATE(5, 0)", "#DIV/0!"), ("=CHURN_RATE(-5, 100)", "#NUM!")),
        native_builder=lambda a: f"SUM{a['lost']}/SUM{a['at_start']}",
    )
)

_register(
    Function(
        name="NRR",
        kind=AGGREGATING,
        impl=metrics.nrr,
        args=(
            Arg("start_mrr", "MRR at the start of the period (a range is summed)."),
            _EXPANSION,
            _CONTRACTION,
            _CHURNED,
            _REACTIVATION,
        ),
        description="Net revenue retention: (start + expansion + reactivation - |contraction| - |churned|) / start.",
        notes=(
            "(start + expansion + reactivation - |contraction| - |churned|) / start. "
            "#DIV/0! when start is 0; #NUM! for a negative start."
        ),
        examples=(("=NRR(10000, 1500, 300, 700)", 1.05),),
        native_builder=lambda a: (
            f"({_gains(a['start_mrr'], a['expansion'], a['reactivation'])}"
            f"-({_lost(a['contraction'], a['churned'])}))/SUM{a['start_mrr']}"
        ),
    )
)

_register(
    Function(
        name="GRR",
        kind=AGGREGATING,
        impl=metrics.grr,
        args=(
            Arg("start_mrr", "MRR at the start of the period (a range is summed)."),
            _CONTRACTION,
            _CHURNED,
        ),
        description="Gross revenue retention: (start - |contraction| - |churned|) / start.",
        notes="(start - |contraction| - |churned|) / start. #DIV/0! when start is 0; #NUM! for a negative start.",
        examples=(("=GRR(10000, 300, 700)", 0.9),),
        native_builder=lambda a: f"(SUM{a['start_mrr']}-({_lost(a['contraction'], a['churned'])}))/SUM{a['start_mrr']}",
    )
)

_register(
    Function(
        name="QUICK_RATIO",
        kind=AGGREGATING,
        impl=metrics.quick_ratio,
        args=(
            Arg("new", "MRR from new customers (a range is summed)."),
            _EXPANSION,
            _CONTRACTION,
            _CHURNED,
            _REACTIVATION,
        ),
        description="SaaS quick ratio: (new + expansion + reactivation) / (|contraction| + |churned|).",
        notes="(new + expansion + reactivation) / (|contraction| + |churned|). #DIV/0! with no losses.",
        examples=(("=QUICK_RATIO(1000, 500, 200, 300)", 3.0), ("=QUICK_RATIO(1000, 500, 0, 0)", "#DIV/0!")),
        native_builder=lambda a: (
            f"({_gains(a['new'], a['expansion'], a['reactivation'])})/({_lost(a['contraction'], a['churned'])})"
        ),
    )
)

_register(
    Function(
        name="TTFV",
        kind=ELEMENTWISE,
        impl=metrics.ttfv,
        args=(
            Arg("start", "Start date (a date or an Excel date serial).", date=True),
            Arg(
                "first_value",
                "Date the customer first got value; empty while not reached.",
                blank=BLANK_NA,
                date=True,
            ),
        ),
        description="Time to first value in days: first_value - start.",
        notes=(
            "first_value - start, in days (dates or Excel date serials; fractions of a day "
            "kept). #N/A when first_value is empty (not reached yet); #NUM! when it is before start."
        ),
        examples=(("=TTFV(46000, 46045.5)", 45.5), ("=TTFV(46000, )", "#N/A"), ("=TTFV(46000, 45990)", "#NUM!")),
        native_builder=lambda a: f'IF({a["first_value"]}="",NA(),{a["first_value"]}-{a["start"]})',
    )
)

_register(
    Function(
        name="HEALTH_SCORE",
        kind=AGGREGATING,
        impl=metrics.health_score,
        args=(
            Arg("scores", "Signal scores on 0..100; a blank score drops out with its weight."),
            Arg("weights", "Weights of the signals, >= 0, same shape as scores."),
        ),
        description="Weighted health score: SUMPRODUCT(scores, weights) / SUM(weights).",
        notes=(
            "SUMPRODUCT(scores, weights) / SUM(weights) over the counted scores (a blank "
            "score drops out together with its weight). #NUM! for a score outside 0..100 or a "
            "negative weight; #DIV/0! when the counted weights sum to 0; #VALUE! when the "
            "shapes differ."
        ),
        examples=(("=HEALTH_SCORE({80, 40}, {3, 1})", 70.0), ("=HEALTH_SCORE({80, 140}, {3, 1})", "#NUM!")),
        native_builder=lambda a: (
            f"SUMPRODUCT({a['scores']},{a['weights']})/SUMPRODUCT(ISNUMBER({a['scores']})*{a['weights']})"
        ),
        paired=True,
    )
)

_register(
    Function(
        name="HEALTH_STATUS",
        kind=ELEMENTWISE,
        impl=metrics.health_status,
        args=(
            Arg("score", "Health score, e.g. from HEALTH_SCORE."),
            Arg("red_below", "Scores below this are red.", 50.0, True, BLANK_DEFAULT),
            Arg("green_from", "Scores from this are green.", 75.0, True, BLANK_DEFAULT),
        ),
        description='Health band of a score: "red", "yellow" or "green".',
        notes=(
            '"red" when score < red_below (default 50), "green" when score >= green_from '
            '(default 75), otherwise "yellow" (the common scorecard bands). #NUM! when '
            "red_below > green_from."
        ),
        examples=(
            ("=HEALTH_STATUS(40)", "red"),
            ("=HEALTH_STATUS(60)", "yellow"),
            ("=HEALTH_STATUS(75)", "green"),
            ("=HEALTH_STATUS(60, 80, 70)", "#NUM!"),
        ),
        labels=metrics.HEALTH_LABELS,
        native_builder=lambda a: (
            f'IF({a["score"]}<{a["red_below"]},"red",IF({a["score"]}>={a["green_from"]},"green","yellow"))'
        ),
    )
)

_register(
    Function(
        name="SEGMENT",
        kind=ELEMENTWISE,
        impl=metrics.segment,
        args=(
            Arg("mrr", "The customer's MRR today."),
            Arg("potential_mrr", "The MRR the customer could reach."),
            Arg("vip_mrr", "MRR from which a customer is VIP."),
            Arg("core_mrr", "MRR from which a customer is core (<= vip_mrr)."),
        ),
        description='Customer segment: "VIP", "potential", "core" or "non-core".',
        notes=(
            '"VIP" when mrr >= vip_mrr; otherwise "potential" when potential_mrr >= vip_mrr; '
            'otherwise "core" when mrr >= core_mrr; otherwise "non-core". #NUM! when '
            "vip_mrr < core_mrr."
        ),
        examples=(
            ("=SEGMENT(900, 0, 800, 200)", "VIP"),
            ("=SEGMENT(100, 1000, 800, 200)", "potential"),
            ("=SEGMENT(300, 0, 800, 200)", "core"),
            ("=SEGMENT(50, 0, 800, 200)", "non-core"),
            ("=SEGMENT(50, 0, 100, 200)", "#NUM!"),
        ),
        labels=metrics.SEGMENT_LABELS,
        native_builder=lambda a: (
            f'IF({a["mrr"]}>={a["vip_mrr"]},"VIP",IF({a["potential_mrr"]}>={a["vip_mrr"]},"potential",'
            f'IF({a["mrr"]}>={a["core_mrr"]},"core","non-core")))'
        ),
    )
)


# ---------------------------------------------------------------------------------------
# Per-cell native twins of the table functions (used by the revenue-report template).
#
# A table function spills; Excel 2019 and LibreOffice 7.4 have no dynamic arrays, so the
# native edition writes one formula of built-ins per cell of the spill. Only built-ins both
# know are used (SUMPRODUCT, COUNTIF, SUMIF, COUNTIFS, EOMONTH, MATCH/INDEX, NA). The
# customers x periods functions read the MRR table column by column (``columns``: one
# absolute range per period) plus a helper column ``first`` holding each customer's first
# period with MRR > 0 (1-based, 0 for never), written with :func:`first_active_native`.
# SBG_FIT has no twin at all (an iterative fit): the native edition stores its two values
# with a cell note saying so.


def first_active_native(row_range: str) -> str:
    """The helper cell of one customer: 1-based index of its first period with MRR > 0, or 0."""
    return f"IFERROR(MATCH(TRUE,INDEX({row_range}>0,0),0),0)"


def _cell_mrr_from_subs(row, col, *, customer, start, end, amount, label, month, interval=None):
    """refs: the five data ranges, ``label`` the row's customer id cell, ``month`` a date cell
    in the column's month. Text ids compare ignoring case, like Excel's ``=``."""
    last = f"EOMONTH({month},0)"
    per = f'{amount}/({interval}+({interval}=""))' if interval else amount
    return f'SUMPRODUCT(({customer}={label})*(INT({start})<={last})*(({end}="")+(INT({end})>{last}))*{per})'


def _cell_customer_counts(row, col, *, columns, first):
    a, b, k = columns[row], columns[row + 1], row + 2
    return (
        f'COUNTIF({a},">0")',
        f"COUNTIF({first},{k})",
        f"SUMPRODUCT(({a}<=0)*({b}>0)*({first}<{k}))",
        f"-SUMPRODUCT(({a}>0)*({b}<=0))",
        f'COUNTIF({b},">0")',
    )[col]


def _mrr_movement_parts(a, b, k, first):
    return (
        f"SUMIF({first},{k},{b})",
        f"SUMPRODUCT(({a}>0)*({b}>{a})*({b}-{a}))",
        f"SUMPRODUCT(({a}<=0)*({b}>0)*({first}<{k})*{b})",
        f"SUMPRODUCT(({b}>0)*({b}<{a})*({b}-{a}))",
        f"-SUMPRODUCT(({a}>0)*({b}<=0)*{a})",
    )


def _cell_mrr_movements(row, col, *, columns, first):
    parts = _mrr_movement_parts(columns[row], columns[row + 1], row + 2, first)
    return parts[col] if col < 5 else "+".join(f"({p})" for p in parts)


def _cell_cohort_retention(row, col, *, columns, first, measure="customers"):
    """``measure`` is the Python text of the measure ("customers", "revenue", "count", "mrr")."""
    period = row + col
    if period >= len(columns):
        return "NA()"
    k, here = row + 1, columns[period]
    size = f"COUNTIF({first},{k})"
    value = {
        "customers": f'COUNTIFS({first},{k},{here},">0")/{size}',
        "count": f'COUNTIFS({first},{k},{here},">0")',
        "mrr": f"SUMIF({first},{k},{here})",
        "revenue": f"SUMIF({first},{k},{here})/SUMIF({first},{k},{columns[row]})",
    }[measure.lower()]
    return f"IF({size}=0,NA(),{value})"


NATIVE_CELLS: dict[str, Callable[..., str]] = {
    "MRR_FROM_SUBS": _cell_mrr_from_subs,
    "CUSTOMER_COUNTS": _cell_customer_counts,
    "MRR_MOVEMENTS": _cell_mrr_movements,
    "COHORT_RETENTION": _cell_cohort_retention,
}


def _attach_native_cells() -> None:
    from dataclasses import replace

    for name, builder in NATIVE_CELLS.items():
        if name in FUNCTIONS and FUNCTIONS[name].native_cell_builder is None:
            FUNCTIONS[name] = replace(FUNCTIONS[name], native_cell_builder=builder)


_attach_native_cells()
# --------------------------------------------------------------- end of per-cell twins


def split_example(formula: str) -> tuple[str, list[str]]:
    """Split a contract example such as ``=ARPU(10500, {280, 320})`` into its name and
    argument texts (``"10500"``, ``"{280, 320}"``; an empty argument is ``""``)."""
    name, _, body = formula.lstrip("=").partition("(")
    body = body[: body.rindex(")")]
    tokens, depth, current = [], 0, ""
    for char in body:
        depth += {"{": 1, "}": -1}.get(char, 0)
        if char == "," and depth == 0:
            tokens.append(current.strip())
            current = ""
        else:
            current += char
    tokens.append(current.strip())
    return name, tokens


def python_literal(token: str) -> str:
    """An example argument as Python source: ``{1,2;3,4}`` -> ``[[1, 2], [3, 4]]``, ``""`` -> None."""
    if token == "":
        return "None"
    if token.startswith("{"):
        rows = [[cell.strip() for cell in row.split(",")] for row in token[1:-1].split(";")]
        text = [f"[{', '.join(row)}]" for row in rows]
        return text[0] if len(text) == 1 else f"[{', '.join(text)}]"
    return token


def get(name: str) -> Function:
    """The function called ``name`` (any case), or KeyError."""
    return FUNCTIONS[name.upper()]


def native_formula(name: str, *arg_exprs: str | None) -> str:
    """The native twin of ``name(arg_exprs...)``: see :meth:`Function.native`."""
    return get(name).native(*arg_exprs)


__all__ = [
    "Arg",
    "Function",
    "FUNCTIONS",
    "get",
    "native_formula",
    "split_example",
    "python_literal",
    "ELEMENTWISE",
    "AGGREGATING",
    "TABLE",
]
