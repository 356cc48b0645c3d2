"""The registry: every xlfuncs function described once.

Each :class:`Function` names its pure implementation in :mod:`xlfuncs.metrics` and carries
everything the other layers derive from it: the Excel name and argument order of the
contract, argument docs and defaults, how blanks behave, the one-line description, the
notes with the formula, the contract's worked examples, and the *native twin*: a
formula of Excel built-ins used by ``xlfuncs generate --native``, giving the same values for
valid inputs (error cases may differ from the contract's).

The Python API (:mod:`xlfuncs.api`), the xlwings module (:mod:`xlfuncs.udfs`), the recalc
engine's add-in, the README's function reference and ``xlfuncs functions`` are all built
from :data:`FUNCTIONS`; none of them lists the functions again.
"""

from __future__ import annotations

import functools
import importlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .labels import HEALTH_LABELS, SEGMENT_LABELS
from .numtext import number_text

ELEMENTWISE = "elementwise"
AGGREGATING = "aggregating"
TABLE = "table"

# What an argument holds (the cell rules read each kind its own way).
NUMBER = "number"
DATE = "date"  # a number, or a date/datetime turned into its Excel serial
ID = "id"  # a customer id: text (matched ignoring case) or a number
KEYWORD = "keyword"  # one of a few words, any case (COHORT_RETENTION's measure)

# How a table function reads its ranges.
GRID = "grid"  # a customers x periods range of numbers, blanks 0
RECORDS = "records"  # the columns of a billing export, one row per subscription
COHORT_ROWS = "cohort rows"  # one cohort per row, trailing blanks and #N/A ignored

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
    kind: str = NUMBER
    default_text: str = ""  # how the default reads in docs when it is not a number
    choices: tuple[str, ...] = ()  # a keyword's words, the default first

    @property
    def date(self) -> bool:
        """Whether the argument takes dates (serials, date objects; ISO text in Python)."""
        return self.kind == DATE

    @property
    def text_default(self) -> str:
        return self.choices[0] if self.choices else ""

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
    #: ``module.function`` in xlfuncs: see :attr:`impl`.
    implementation: str
    args: tuple[Arg, ...]
    description: str
    notes: str
    examples: tuple[tuple[str, object], ...] = ()
    labels: tuple[str, ...] | None = None  # text results: impl returns label indices
    columns: tuple[str, ...] | None = None  # table results: column headers
    native_builder: Callable[[Mapping[str, str | None]], str] | None = None
    paired: bool = False  # aggregating over pairs of same-shape ranges (HEALTH_SCORE)
    cells: str = GRID  # how a table function reads its ranges
    native_note: str = ""  # what a native edition does where built-ins cannot express it
    # Where the native twin's result differs from the contract's (quoting the example when
    # one of the function's examples is affected); shown in the README's reference.
    native_differs: str = ""
    # Table functions: the built-in formula of ONE cell of the spill (see native_cell).
    native_cell_builder: Callable[..., str] | None = None

    @functools.cached_property
    def impl(self) -> Callable:
        """The pure implementation, imported on first use: the metrics need numpy, and
        what only describes the functions (recalc's client, the command line) does not
        load it (10 MB of a recalculation's memory)."""
        module, _, name = self.implementation.rpartition(".")
        return getattr(importlib.import_module(f"{__package__}.{module}"), name)

    @property
    def python_name(self) -> str:
        return self.name.lower()

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
        """The native twin: a formula of Excel built-ins (no leading ``=``), same values for valid inputs.

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
        'IF(OR((B2)<0,(B3)<0),(-1)^0.5,(B2)/(B3))'
        """
        if self.native_builder is None:
            raise ValueError(
                f"{self.name} has no single-formula native twin: {self.native_note or 'it spills a table'}"
            )
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
    return number_text(value)


# ------------------------------------------------------------ native twins
#
# A twin reproduces the contract's errors with built-ins that Excel 2019 and LibreOffice
# 7.4 agree on (tests/test_native_twins.py checks every example in stock LibreOffice):
# #DIV/0! comes from the division itself, #N/A from NA(), and #NUM! from (-1)^0.5, the
# square root of -1 as a power. SQRT(-1) or LN(0) would not do: LibreOffice reports them
# as "invalid argument", which it writes to xlsx as #VALUE!.

NUM_ERROR = "(-1)^0.5"

_COMPARE = {
    "<": lambda x, y: x < y,
    "<=": lambda x, y: x <= y,
    ">": lambda x, y: x > y,
    "<>": lambda x, y: x != y,
}


def _literal(expr):
    """The number an argument expression such as ``(1)`` spells, or None for a reference."""
    try:
        return float(expr.strip("()"))
    except (AttributeError, ValueError):
        return None


def _is(left, op, right):
    """``left op right`` as formula text; None when both sides are numbers and it is false
    (so a default such as margin 1 adds no check)."""
    x, y = _literal(left), right if isinstance(right, (int, float)) else _literal(right)
    if x is not None and y is not None and not _COMPARE[op](x, y):
        return None
    return f"{left}{op}{_number(right) if isinstance(right, (int, float)) else right}"


def _outside(expr, low, high=None, low_open=False):
    """The tests that ``expr`` is below ``low`` (or at it, when open) or above ``high``."""
    return [_is(expr, "<=" if low_open else "<", low), None if high is None else _is(expr, ">", high)]


def _not_type(expr):
    """Excel's payment timing flag is 0 or 1."""
    if _literal(expr) in (0.0, 1.0):
        return None
    return f"AND({expr}<>0,{expr}<>1)"


def _num_error_if(tests, value):
    """``value``, or #NUM! when any of ``tests`` (formula texts; None ones left out) holds."""
    tests = [t for t in tests if t]
    if not tests:
        return value
    condition = tests[0] if len(tests) == 1 else f"OR({','.join(tests)})"
    return f"IF({condition},{NUM_ERROR},{value})"


def _q(a):
    """The retention factor q = (1 - churn) / (1 + discount) as formula text."""
    return f"(1-{a['churn']})/(1+{a['discount']})"


def _native_clv(a):
    m = f"{a['arpu']}*{a['margin']}"
    unlimited = f"{m}*(1+{a['discount']})/({a['churn']}+{a['discount']})"
    out_of_range = [
        *_outside(a["arpu"], 0),
        *_outside(a["churn"], 0, 1),
        *_outside(a["margin"], 0, 1),
        *_outside(a["discount"], 0),
        _not_type(a["type"]),
    ]
    if a["periods"] is None:
        return _num_error_if(out_of_range, _at_end(a, unlimited))
    n = f"INT({a['periods']})"
    steady = f"{a['churn']}+{a['discount']}=0"
    limited = f"{m}*(1+{a['discount']})*(1-({_q(a)})^{n})/({a['churn']}+{a['discount']})"
    out_of_range.insert(-1, _is(a["periods"], "<", 1))
    return _num_error_if(out_of_range, _at_end(a, f"IF({steady},{m}*{n},{limited})"))


def _at_end(a, value):
    """Payments at the end of each period (type 0): every one is q times the type-1 one."""
    if _literal(a["type"]) == 1:
        return value
    return f"({value})*IF({a['type']}=0,{_q(a)},1)"


def _native_payback(a):
    m = f"({a['arpu']}*{a['margin']})"
    one_minus_q = f"({a['churn']}+{a['discount']})/(1+{a['discount']})"
    share = f"{a['cac']}*{one_minus_q}/{m}"
    pays_once = f"{a['cac']}<={m}"  # churn = 1: the first payment, at the start, or none
    if _literal(a["type"]) != 1:
        at_end = f"{a['cac']}*({a['churn']}+{a['discount']})/({m}*(1-{a['churn']}))"
        share = f"IF({a['type']}=0,{at_end},{share})"
        pays_once = f"AND({a['type']}=1,{pays_once})"
    steady = f"{a['churn']}+{a['discount']}=0"
    # cac / m is #DIV/0! for m = 0 in every branch, and 0 for cac = 0 with churn = 1.
    once = f"IF(OR({a['cac']}=0,{m}=0,{pays_once}),{a['cac']}/{m},{NUM_ERROR})"
    general = f"IF({share}>=1,{NUM_ERROR},LN(1-{share})/LN({_q(a)}))"
    if _literal(a["churn"]) == 0 and _literal(a["discount"]) == 0:
        value = f"{a['cac']}/{m}"  # q = 1: nothing lost, nothing discounted
    else:
        value = f"IF({steady},{a['cac']}/{m},IF({a['churn']}=1,{once},{general}))"
    out_of_range = [
        *_outside(a["cac"], 0),
        *_outside(a["arpu"], 0),
        *_outside(a["margin"], 0, 1),
        *_outside(a["churn"], 0, 1),
        *_outside(a["discount"], 0),
        _not_type(a["type"]),
    ]
    return _num_error_if(out_of_range, value)


def _any_negative(*exprs):
    """The test that a cell of these ranges is negative (MIN skips blanks and text as SUM
    does); None when every one is a number that is not."""
    ranges = [e for e in exprs if _literal(e) is None or _literal(e) < 0]
    return f"MIN({','.join(ranges)})<0" if ranges else None


def _gains(*exprs):
    return "+".join(f"SUM{e}" for e in exprs)


def _lost(*exprs):
    """Total lost, by magnitude cell by cell (losses may be typed positive or negative)."""
    return "+".join(f"SUMPRODUCT(ABS{e})" for e in exprs)


# ------------------------------------------------------------ native twins end


_MARGIN = Arg("margin", "Gross margin, 0 to 1.", 1.0, True, BLANK_DEFAULT)
_TYPE = Arg(
    "type",
    "When a period's payment comes, as in Excel's PV: 1 at its start, 0 at its end.",
    1.0,
    True,
    BLANK_DEFAULT,
)
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
        implementation="metrics.clv",
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
            _TYPE,
        ),
        description="Customer lifetime value: the discounted margin one customer brings over its life.",
        notes=(
            "With m = arpu * margin and q = (1 - churn) / (1 + discount), CLV = sum over "
            "t = 0 .. periods-1 of m * q^t = m * (1 - q^periods) / (1 - q), and m / (1 - q) "
            "with no limit (m / churn when discount = 0). The first period is counted "
            "undiscounted: the textbook form m(1+d)/(1+d-r) of Blattberg et al. (other "
            "books drop the first period). With type 0 (payments at the end of each period) "
            "every payment comes one period later, is received only if the customer stays "
            "through that period and is discounted once more: m * q * (1 - q^periods) / (1 - q), "
            "and m * q / (1 - q) with no limit (Gupta & Lehmann's m * r / (1 + i - r)). "
            "#DIV/0! when churn = 0 and discount = 0 with no limit; #NUM! for any argument out "
            "of range or a type other than 0 or 1."
        ),
        examples=(
            ("=CLV(35, 0.05)", 700.0),
            ("=CLV(100, 0.02, 0.8)", 4000.0),
            ("=CLV(35, 0, 1, 0, 12)", 420.0),
            ("=CLV(100, 0.05, 1, 0.01)", 1683.3333333333),
            ("=CLV(100, 0.05, 1, 0.01, 36)", 1497.7023532574),
            ("=CLV(100, 0.05, 1, 0.01, , 0)", 1583.3333333333),
            ("=CLV(100, 0.05, 1, 0.01, 36, 0)", 1408.7299362322),
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
        implementation="metrics.ltv_cac",
        args=(
            Arg("ltv", "Lifetime value of a customer (e.g. a CLV), >= 0."),
            Arg("cac", "Cost of acquiring that customer, >= 0."),
        ),
        description="LTV:CAC ratio; a healthy business is at 3 or more (the 3:1 rule).",
        notes="ltv / cac. #DIV/0! when cac = 0; #NUM! when either is negative.",
        examples=(("=LTV_CAC(1500, 500)", 3.0), ("=LTV_CAC(1500, 0)", "#DIV/0!"), ("=LTV_CAC(-1, 5)", "#NUM!")),
        native_builder=lambda a: _num_error_if(
            [_is(a["ltv"], "<", 0), _is(a["cac"], "<", 0)], f"{a['ltv']}/{a['cac']}"
        ),
    )
)

_register(
    Function(
        name="ARPU",
        kind=AGGREGATING,
        implementation="metrics.arpu",
        args=(
            Arg("revenue", "Revenue of the period (a range is summed)."),
            Arg("customers", "Customer counts, e.g. at the start and end of the period (averaged)."),
        ),
        description="Average revenue per customer in a period: SUM(revenue) / AVERAGE(customers).",
        notes="SUM(revenue) / AVERAGE(customers). #DIV/0! when the average is 0; #NUM! for a negative count.",
        examples=(("=ARPU(10500, {280, 320})", 35.0),),
        native_builder=lambda a: _num_error_if(
            [_any_negative(a["customers"])], f"SUM{a['revenue']}/AVERAGE{a['customers']}"
        ),
    )
)

_register(
    Function(
        name="PAYBACK",
        kind=ELEMENTWISE,
        implementation="metrics.payback",
        args=(
            Arg("cac", "Acquisition cost to earn back, >= 0."),
            Arg("arpu", "Revenue per customer per period, >= 0."),
            _MARGIN,
            Arg("churn", "Share of customers lost per period, 0 to 1.", 0.0, True, BLANK_DEFAULT),
            _DISCOUNT,
            _TYPE,
        ),
        description="Periods until the acquisition cost is earned back by retained, discounted margin.",
        notes=(
            "Fractional periods allowed. With m = arpu * margin and q = (1 - churn) / "
            "(1 + discount), payments at the start of each period (type 1): n = cac / m when "
            "q = 1, otherwise n = ln(1 - cac * (1 - q) / m) / ln(q). At the end of each period "
            "(type 0): n = ln(1 - cac * (1 - q) / (m * q)) / ln(q) (still cac / m when q = 1). "
            "When churn = 1 the customer pays once (type 1) or never (type 0): cac / m for type 1 "
            "when cac <= m, 0 when cac = 0, otherwise #NUM!. #NUM! when it is never earned back "
            "or an argument is out of range; #DIV/0! when m = 0."
        ),
        examples=(
            ("=PAYBACK(420, 35)", 12.0),
            ("=PAYBACK(1000, 100, 0.8)", 12.5),
            ("=PAYBACK(1000, 100, 1, 0.05)", 13.5134073340),
            ("=PAYBACK(1000, 100, 1, 0.05, 0.01)", 14.7206904652),
            ("=PAYBACK(1000, 100, 1, 0.05, 0.01, 0)", 16.3042084166),
            ("=PAYBACK(1000, 100, 1, 0.1)", "#NUM!"),
        ),
        native_builder=_native_payback,
    )
)

_register(
    Function(
        name="CAC",
        kind=AGGREGATING,
        implementation="metrics.cac",
        args=(
            Arg("spend", "Sales and marketing spend (a range is summed)."),
            Arg("new_customers", "New customers won with that spend (a range is summed)."),
        ),
        description="Customer acquisition cost: SUM(spend) / SUM(new_customers).",
        notes="SUM(spend) / SUM(new_customers). #DIV/0! when no new customers; #NUM! for a negative count.",
        examples=(("=CAC({3000, 2000}, {6, 4})", 500.0), ("=CAC(5000, 0)", "#DIV/0!")),
        native_builder=lambda a: _num_error_if(
            [_any_negative(a["new_customers"])], f"SUM{a['spend']}/SUM{a['new_customers']}"
        ),
    )
)

_register(
    Function(
        name="RETENTION_COST",
        kind=AGGREGATING,
        implementation="metrics.retention_cost",
        args=(
            Arg("spend", "Customer-success spend (a range is summed)."),
            Arg("customers", "Customers kept with that spend (a range is summed)."),
        ),
        description="Cost of keeping one customer: SUM(spend) / SUM(customers).",
        notes="SUM(spend) / SUM(customers). #DIV/0! when there are no customers; #NUM! for a negative count.",
        examples=(("=RETENTION_COST(12000, 400)", 30.0),),
        native_builder=lambda a: _num_error_if([_any_negative(a["customers"])], f"SUM{a['spend']}/SUM{a['customers']}"),
    )
)

_register(
    Function(
        name="ONBOARDING_ROI",
        kind=ELEMENTWISE,
        implementation="metrics.onboarding_roi",
        args=(
            Arg("value_with", "What a customer is worth with onboarding (e.g. its CLV)."),
            Arg("value_without", "What a customer is worth without onboarding."),
            Arg("cost", "Onboarding cost per customer, > 0."),
        ),
        description="Return on an onboarding team: (value_with - value_without - cost) / cost.",
        notes="(value_with - value_without - cost) / cost. #DIV/0! when cost = 0; #NUM! when cost < 0.",
        examples=(("=ONBOARDING_ROI(1400, 600, 200)", 3.0), ("=ONBOARDING_ROI(1400, 600, 0)", "#DIV/0!")),
        native_builder=lambda a: _num_error_if(
            [_is(a["cost"], "<", 0)], f"({a['value_with']}-{a['value_without']}-{a['cost']})/{a['cost']}"
        ),
    )
)

_register(
    Function(
        name="NET_MRR",
        kind=AGGREGATING,
        implementation="metrics.net_mrr",
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
        implementation="billing.mrr_movements",
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
        implementation="metrics.churn_rate",
        args=(
            Arg("lost", "Customers (or MRR) lost in the period; positive or negative, by magnitude."),
            Arg("at_start", "Customers (or MRR) at the start of the period (a range is summed)."),
            Arg(
                "new",
                "Customers who joined during the period (new and reactivated), added to the denominator as Stripe counts it.",
                0.0,
                True,
                BLANK_DEFAULT,
            ),
        ),
        description="Churn rate: SUM(|lost|) / (SUM(at_start) + SUM(new)), customer or gross revenue churn.",
        notes=(
            "SUM(|lost|) / (SUM(at_start) + SUM(new)): customer churn when given counts, gross "
            "revenue churn when given MRR. Losses by magnitude, so the churned column of "
            "MRR_MOVEMENTS or CUSTOMER_COUNTS goes in as it is. #DIV/0! when the denominator "
            "is 0; #NUM! when any cell of at_start or new is negative."
        ),
        examples=(
            ("=CHURN_RATE(-1, 2)", 0.5),
            ("=CHURN_RATE(4, 80)", 0.05),
            ("=CHURN_RATE(4, 80, 20)", 0.04),
            ("=CHURN_RATE(5, 0)", "#DIV/0!"),
            ("=CHURN_RATE(5, -100)", "#NUM!"),
        ),
        native_builder=lambda a: _num_error_if(
            [_any_negative(a["at_start"], a["new"])], f"{_lost(a['lost'])}/(SUM{a['at_start']}+SUM{a['new']})"
        ),
    )
)

_register(
    Function(
        name="NRR",
        kind=AGGREGATING,
        implementation="metrics.nrr",
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
        native_builder=lambda a: _num_error_if(
            [_any_negative(a["start_mrr"])],
            f"({_gains(a['start_mrr'], a['expansion'], a['reactivation'])}"
            f"-({_lost(a['contraction'], a['churned'])}))/SUM{a['start_mrr']}",
        ),
    )
)

_register(
    Function(
        name="GRR",
        kind=AGGREGATING,
        implementation="metrics.grr",
        args=(
            Arg("start_mrr", "MRR at the start of the period (a range is summed)."),
            _CONTRACTION,
            _CHURNED,
        ),
        description="Gross revenue retention: (start - |contraction| - |churned|) / start.",
        notes="(start - |contraction| - |churned|) / start. #DIV/0! when start is 0; #NUM! for a negative start.",
        examples=(("=GRR(10000, 300, 700)", 0.9),),
        native_builder=lambda a: _num_error_if(
            [_any_negative(a["start_mrr"])],
            f"(SUM{a['start_mrr']}-({_lost(a['contraction'], a['churned'])}))/SUM{a['start_mrr']}",
        ),
    )
)

_register(
    Function(
        name="QUICK_RATIO",
        kind=AGGREGATING,
        implementation="metrics.quick_ratio",
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
        implementation="metrics.ttfv",
        args=(
            Arg("start", "Start date (a date or an Excel date serial).", kind=DATE),
            Arg(
                "first_value",
                "Date the customer first got value; empty while not reached.",
                blank=BLANK_NA,
                kind=DATE,
            ),
        ),
        description="Time to first value in days: first_value - start.",
        notes=(
            "first_value - start, in days (dates or Excel date serials; fractions of a day "
            "kept). #N/A when first_value is empty (not reached yet); #NUM! when it is before start."
        ),
        examples=(("=TTFV(46000, 46045.5)", 45.5), ("=TTFV(46000, )", "#N/A"), ("=TTFV(46000, 45990)", "#NUM!")),
        native_builder=lambda a: (
            f'IF({a["first_value"]}="",NA(),'
            f"{_num_error_if([_is(a['first_value'], '<', a['start'])], a['first_value'] + '-' + a['start'])})"
        ),
    )
)

_register(
    Function(
        name="HEALTH_SCORE",
        kind=AGGREGATING,
        implementation="metrics.health_score",
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
        native_builder=lambda a: _num_error_if(
            [
                f'COUNTIF({a["scores"]},"<0")+COUNTIF({a["scores"]},">100")'
                f"+SUMPRODUCT(ISNUMBER({a['scores']})*({a['weights']}<0))>0"
            ],
            f"SUMPRODUCT({a['scores']},{a['weights']})/SUMPRODUCT(ISNUMBER({a['scores']})*{a['weights']})",
        ),
        paired=True,
    )
)

_register(
    Function(
        name="HEALTH_STATUS",
        kind=ELEMENTWISE,
        implementation="metrics.health_status",
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
        labels=HEALTH_LABELS,
        native_builder=lambda a: _num_error_if(
            [_is(a["red_below"], ">", a["green_from"])],
            f'IF({a["score"]}<{a["red_below"]},"red",IF({a["score"]}>={a["green_from"]},"green","yellow"))',
        ),
    )
)

_register(
    Function(
        name="SEGMENT",
        kind=ELEMENTWISE,
        implementation="metrics.segment",
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
        labels=SEGMENT_LABELS,
        native_builder=lambda a: _num_error_if(
            [_is(a["vip_mrr"], "<", a["core_mrr"])],
            f'IF({a["mrr"]}>={a["vip_mrr"]},"VIP",IF({a["potential_mrr"]}>={a["vip_mrr"]},"potential",'
            f'IF({a["mrr"]}>={a["core_mrr"]},"core","non-core")))',
        ),
    )
)


_MRR_GRID = Arg(
    "mrr",
    "Customers x periods range of MRR (one row per customer, periods left to right, blanks = 0).",
)


def _native_sbg_survival(a):
    t = f"INT({a['t']})"
    b, ab = a["beta"], f"{a['alpha']}+{a['beta']}"
    value = f"EXP(GAMMALN({b}+{t})-GAMMALN({b})+GAMMALN({ab})-GAMMALN({ab}+{t}))"
    out_of_range = [
        *_outside(a["t"], 0),
        *_outside(a["alpha"], 0, low_open=True),
        *_outside(a["beta"], 0, low_open=True),
    ]
    return _num_error_if(out_of_range, value)


# SBG_CLV's native twin sums the series over this many periods (ROW($1:$N) is the only
# counter both Excel 2019 and LibreOffice 7.4 have without volatile functions).
SBG_NATIVE_TERMS = 5000


def _native_sbg_clv(a):
    n = f"INT({a['renewals']})"
    b, ab = f"({a['beta']}+{n})", f"({a['alpha']}+{a['beta']}+{n})"
    t = f"(ROW($1:${SBG_NATIVE_TERMS})-1)"
    series = f"SUMPRODUCT(EXP(GAMMALN({b}+{t})-GAMMALN({b})+GAMMALN({ab})-GAMMALN({ab}+{t})-{t}*LN(1+{a['discount']})))"
    closed = f"({ab}-1)/({a['alpha']}-1)"
    value = f"{a['arpu']}*{a['margin']}*IF({a['discount']}=0,{closed},{series})"
    out_of_range = [
        *_outside(a["arpu"], 0),
        *_outside(a["alpha"], 0, low_open=True),
        *_outside(a["beta"], 0, low_open=True),
        *_outside(a["margin"], 0, 1),
        *_outside(a["discount"], 0),
        *_outside(a["renewals"], 0),
        f"AND({a['discount']}=0,{a['alpha']}<=1)" if _literal(a["discount"]) in (None, 0.0) else None,
    ]
    return _num_error_if(out_of_range, value)


_register(
    Function(
        name="MRR_FROM_SUBS",
        kind=TABLE,
        implementation="billing.mrr_from_subs",
        cells=RECORDS,
        args=(
            Arg("customer", "The customer's id (text or number), one per subscription.", kind=ID),
            Arg("start", "The day the subscription started (a date).", kind=DATE),
            Arg("end", "The day it ended, exclusive (a date); empty = still running.", kind=DATE),
            Arg("amount", "Billed per interval, >= 0."),
            Arg(
                "interval",
                "Months per billing interval: 1 monthly, 3 quarterly, 12 annual, any number > 0; one value or one per row.",
                1.0,
                True,
                BLANK_DEFAULT,
            ),
            Arg(
                "first_month",
                "Any date in the first month of the table.",
                math.nan,
                True,
                BLANK_DEFAULT,
                kind=DATE,
                default_text="the earliest start's month",
            ),
            Arg(
                "months",
                "Number of months, >= 1, decimals truncated.",
                math.nan,
                True,
                BLANK_DEFAULT,
                default_text="up to the month of the latest start or (end - 1 day)",
            ),
        ),
        description="Customers x months MRR table from a billing export, one row per subscription (spills).",
        notes=(
            "A subscription adds amount / interval to month M when it is active on M's last "
            'day (start <= last day of M < end, or end empty; a cell holding "" counts as '
            "empty); a customer's MRR in a month is the sum over its subscriptions; a date's "
            "time of day is dropped. One row per distinct customer: text ids match ignoring "
            "case; a number and the same digits as text are different customers. Order: "
            "numbers ascending, then text ids by their case-folded code points, so "
            '=SORT(UNIQUE(FILTER(A2:A500, A2:A500<>""))) beside the result labels its rows; '
            "customers with no MRR in the window keep their row of zeros. Columns: consecutive "
            "months from first_month. Rows whose customer, start, end and amount are all empty "
            "are skipped. Any bad row makes the whole result an error: an error value passed "
            "in comes out; a missing customer or start, or text where a date or number "
            "belongs, is #VALUE!; a negative amount, interval <= 0, end before start or "
            "months < 1 is #NUM! (and a default last month before first_month); ranges of "
            "different lengths are #VALUE! (interval may be a single value)."
        ),
        examples=(
            (
                '=MRR_FROM_SUBS({"A";"B";"A";"C"}, {45292;45337;45352;45311}, {45383;"";"";45332}, '
                "{100;1200;50;30}, {1;12;1;1})",
                [[100.0, 100.0, 150.0], [0.0, 100.0, 100.0], [30.0, 0.0, 0.0]],
            ),
            (
                '=MRR_FROM_SUBS({"A";"B";"A";"C"}, {45292;45337;45352;45311}, {45383;"";"";45332}, '
                "{100;1200;50;30}, {1;12;1;1}, , 5)",
                [
                    [100.0, 100.0, 150.0, 50.0, 50.0],
                    [0.0, 100.0, 100.0, 100.0, 100.0],
                    [30.0, 0.0, 0.0, 0.0, 0.0],
                ],
            ),
            ('=MRR_FROM_SUBS({"A"}, {45292}, {45200}, {100})', "#NUM!"),
            ('=MRR_FROM_SUBS({"A"}, {"soon"}, , {100})', "#VALUE!"),
        ),
    )
)

_register(
    Function(
        name="CUSTOMER_COUNTS",
        kind=TABLE,
        implementation="billing.customer_counts",
        args=(_MRR_GRID,),
        description="Customer counts per step: at_start, new, reactivated, churned, at_end (spills).",
        notes=(
            "One row per step between consecutive periods, five columns: at_start (customers "
            "with MRR > 0 in the earlier period), new, reactivated, churned (negative: "
            "customers going from > 0 to 0), at_end = at_start + new + reactivated + churned. "
            "New and reactivated as in MRR_MOVEMENTS. #VALUE! for fewer than 2 periods."
        ),
        examples=(
            (
                "=CUSTOMER_COUNTS({100,150,150,0;0,200,100,100;50,0,0,80;0,0,0,60})",
                [[2.0, 1.0, 0.0, -1.0, 2.0], [2.0, 0.0, 0.0, 0.0, 2.0], [2.0, 1.0, 1.0, -1.0, 3.0]],
            ),
            ("=CUSTOMER_COUNTS({100;200})", "#VALUE!"),
        ),
        columns=("at_start", "new", "reactivated", "churned", "at_end"),
    )
)

_register(
    Function(
        name="COHORT_RETENTION",
        kind=TABLE,
        implementation="billing.cohort_retention",
        args=(
            _MRR_GRID,
            Arg(
                "measure",
                '"customers" (share retained), "revenue" (MRR against age 0), "count" or "mrr"; any case.',
                optional=True,
                blank=BLANK_DEFAULT,
                kind=KEYWORD,
                choices=("customers", "revenue", "count", "mrr"),
                default_text='"customers"',
            ),
        ),
        description="Cohort table: one row per starting period, one column per age (spills).",
        notes=(
            "A customer's cohort is its first period with MRR > 0. One row per period (the "
            "cohort that started in it), one column per age 0 .. periods - 1. customers: share "
            "of the cohort's customers with MRR > 0 at that age; revenue: the cohort's MRR at "
            "that age / its MRR at age 0 (can exceed 1); count: number of the cohort's "
            "customers with MRR > 0; mrr: the cohort's MRR. A customer who comes back counts "
            "as retained again. Cells past the last period, and every cell of a period in "
            "which no customer started, are #N/A. Another measure is #VALUE!."
        ),
        examples=(
            (
                "=COHORT_RETENTION({100,150,150,0;0,200,100,100;50,0,0,80;0,0,0,60})",
                [
                    [1.0, 0.5, 0.5, 0.5],
                    [1.0, 1.0, 1.0, "#N/A"],
                    ["#N/A", "#N/A", "#N/A", "#N/A"],
                    [1.0, "#N/A", "#N/A", "#N/A"],
                ],
            ),
            (
                '=COHORT_RETENTION({100,150,150,0;0,200,100,100;50,0,0,80;0,0,0,60}, "Revenue")',
                [
                    [1.0, 1.0, 1.0, 0.5333333333],
                    [1.0, 0.5, 0.5, "#N/A"],
                    ["#N/A", "#N/A", "#N/A", "#N/A"],
                    [1.0, "#N/A", "#N/A", "#N/A"],
                ],
            ),
            ('=COHORT_RETENTION({100,150;0,200}, "share")', "#VALUE!"),
        ),
    )
)

_register(
    Function(
        name="SBG_FIT",
        kind=TABLE,
        implementation="sbg.sbg_fit",
        cells=COHORT_ROWS,
        args=(
            Arg(
                "survivors",
                "A cohort's customers still active at age 0, 1, 2, ... (counts or shares); one cohort per row.",
            ),
        ),
        description="Fits the shifted-beta-geometric churn model: {alpha, beta} (spills 1 x 2).",
        notes=(
            "Every customer has its own constant churn probability, drawn from a beta(alpha, "
            "beta) distribution (Fader & Hardie 2007, How to project customer retention). A "
            "single row or column is one cohort; several rows are fitted jointly (with counts, "
            "larger cohorts weigh more), rows of different lengths allowed; trailing empty and "
            "#N/A cells are ignored and an empty row is skipped, so the rows of a "
            'COHORT_RETENTION "count" table go in as they are. Returns the maximum-likelihood '
            "{alpha, beta}. #VALUE! for an empty or text cell before a row's last number; "
            "#NUM! when a row rises, a value is negative, a first value is not > 0, no row has "
            "3 values, or the likelihood has no interior maximum (as for exactly geometric data)."
        ),
        examples=(("=SBG_FIT({1000, 869, 743, 653, 593, 551, 517, 491})", [[0.668088, 3.806095]]),),
        columns=("alpha", "beta"),
        native_note="no built-in formula fits the model, so the fitted values are stored, with a cell note saying so",
    )
)

_register(
    Function(
        name="SBG_SURVIVAL",
        kind=ELEMENTWISE,
        implementation="sbg.sbg_survival",
        args=(
            Arg("alpha", "sBG alpha, > 0 (e.g. from SBG_FIT)."),
            Arg("beta", "sBG beta, > 0."),
            Arg("t", "Periods after acquisition, >= 0 (decimals truncated)."),
        ),
        description="Share of a cohort still active after t periods under the sBG model.",
        notes="B(alpha, beta + t) / B(alpha, beta). #NUM! for t < 0 (checked first), alpha <= 0 or beta <= 0.",
        examples=(("=SBG_SURVIVAL(2, 3, 1)", 0.6), ("=SBG_SURVIVAL(2, 3, 3)", 0.2857142857)),
        native_builder=_native_sbg_survival,
    )
)

_register(
    Function(
        name="SBG_CLV",
        kind=ELEMENTWISE,
        implementation="sbg.sbg_clv",
        args=(
            Arg("arpu", "Revenue per customer per period, >= 0."),
            Arg("alpha", "sBG alpha, > 0 (e.g. from SBG_FIT)."),
            Arg("beta", "sBG beta, > 0."),
            _MARGIN,
            _DISCOUNT,
            Arg(
                "renewals",
                "Renewals the customer has already made, >= 0 (decimals truncated); 0 = just acquired.",
                0.0,
                True,
                BLANK_DEFAULT,
            ),
        ),
        description="Customer lifetime value when churn differs between customers (sBG model).",
        notes=(
            "arpu * margin * E, with E the expected discounted number of payments of a "
            "customer active now who has already renewed `renewals` times, this period's "
            "payment included and undiscounted: E = sum over t >= 0 of S(renewals + t) / "
            "S(renewals) / (1 + discount)^t = 2F1(1, beta + renewals; alpha + beta + renewals; "
            "1 / (1 + discount)), which is 1 + DERL / (1 + discount) in Fader & Hardie's (2010) "
            "terms. With discount = 0, E = (alpha + beta + renewals - 1) / (alpha - 1), which "
            "needs alpha > 1: #NUM! otherwise, and for any argument out of range."
        ),
        examples=(
            ("=SBG_CLV(100, 2, 3, 0.8)", 320.0),
            ("=SBG_CLV(100, 2, 3, 0.8, 0.05)", 244.948066225),
            ("=SBG_CLV(100, 2, 3, 1, 0.05, 1)", 360.823894868),
        ),
        native_builder=_native_sbg_clv,
        native_note=(
            f"the native twin sums the first {SBG_NATIVE_TERMS} periods, exact to 1e-9 for "
            "discount = 0 or >= 0.5 % per period"
        ),
    )
)

_register(
    Function(
        name="NPS",
        kind=AGGREGATING,
        implementation="metrics.nps",
        args=(Arg("responses", "Answers on 0..10 to 'how likely are you to recommend us?' (blanks, text skipped)."),),
        description="Net promoter score: 100 * (promoters (9-10) - detractors (0-6)) / answers.",
        notes=(
            "100 * (promoters - detractors) / answers, promoters answering 9 or 10 and "
            "detractors 0 to 6. Blanks and text ignored. #NUM! for an answer that is not a "
            "whole number in 0..10; #DIV/0! with no answers."
        ),
        examples=(("=NPS({10, 9, 8, 7, 6, 0, 10, 9, 3, 10})", 20.0), ("=NPS({10, 11})", "#NUM!")),
        native_builder=lambda a: _num_error_if(
            [f"SUMPRODUCT(COUNTIF({a['responses']},{{0,1,2,3,4,5,6,7,8,9,10}}))<COUNT{a['responses']}"],
            f'100*(COUNTIF({a["responses"]},">=9")-COUNTIF({a["responses"]},"<=6"))/COUNT{a["responses"]}',
        ),
    )
)

_register(
    Function(
        name="CSAT",
        kind=AGGREGATING,
        implementation="metrics.csat",
        args=(
            Arg("responses", "Answers on 1..scale (blanks and text skipped)."),
            Arg("scale", "Top of the survey's scale, a whole number >= 2.", 5.0, True, BLANK_DEFAULT),
        ),
        description="Customer satisfaction: share of answers in the top two points of the scale.",
        notes=(
            "Share of answers in the top two points of a 1..scale survey (4 and 5 on the "
            "default scale of 5). Blanks and text ignored. #NUM! for an answer that is not a "
            "whole number in 1..scale, or a scale that is not a whole number >= 2; #DIV/0! "
            "with no answers."
        ),
        examples=(("=CSAT({5, 4, 3, 5, 1})", 0.6), ("=CSAT({5, 4, 3}, 1)", "#NUM!")),
        native_differs=(
            "an answer inside 1..scale that is not a whole number (4.5) is counted, where "
            "CSAT gives #NUM! (no built-in of Excel 2019 tests a range for whole numbers "
            "against a scale given in a cell)"
        ),
        native_builder=lambda a: _num_error_if(
            [
                *_outside(a["scale"], 2),
                _is(a["scale"], "<>", f"INT{a['scale']}") if _literal(a["scale"]) is None else None,
                f'COUNTIF({a["responses"]},"<1")+COUNTIF({a["responses"]},">"&{a["scale"]})>0',
            ],
            f'COUNTIF({a["responses"]},">="&({a["scale"]}-1))/COUNT{a["responses"]}',
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
