"""A tiny formula language: one expression, two renderings, one evaluation.

Template code never writes formula text by hand. It builds an :class:`Expr` tree
(``XL("CLV", arpu, churn, ...)``, ``price * licenses``, ``IF(a >= 3, "PASS", "FAIL")``) and
the tree

* renders itself as the formula of the UDF edition (``CLV(B5, B6)``) or of the native twin,
  where every xlfuncs call becomes the registry's formula of Excel built-ins
  (:func:`xlfuncs.registry.native_formula`), so no metric is written twice;
* evaluates itself in Python, with :func:`xlfuncs.adapter.call` for our functions and a
  handful of Excel built-ins implemented here with Excel's semantics (errors propagate,
  blanks are 0, ``IF`` picks a branch). These are the cached values the generator writes
  into the file, and the numbers the LibreOffice oracle test checks the native twin against.

Only the built-ins the templates use are implemented: adding one to a template means adding
it to :data:`BUILTINS`, which keeps the evaluator honest about what it can compute.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from .. import adapter, registry
from ..errors import ExcelError
from ..numtext import number_text

Value = float | str | bool | None | ExcelError
Grid = list  # a 2-D list of Value


class Context(Protocol):
    """What an expression needs from the workbook it lives in."""

    native: bool
    sheet: str  # title of the sheet the formula is written on

    def cell_value(self, sheet: str, coord: str) -> Value: ...

    def range_values(self, sheet: str, ref: str) -> Grid: ...

    def name_value(self, name: str) -> Value: ...


class _ExcelErrorRaised(Exception):
    """Carries an error value out of nested arithmetic (cheaper than checking everywhere)."""

    def __init__(self, error: ExcelError):
        super().__init__(error.value)
        self.error = error


def quote_sheet(title: str) -> str:
    """``'Sheet name'`` as a formula writes it (quotes doubled, always quoted)."""
    return "'" + title.replace("'", "''") + "'"


class Expr:
    """A formula expression. Operators build bigger expressions."""

    # Atoms (a cell, a name, a call) never need parentheses around them as operands.
    atomic = True

    def is_atomic(self, ctx: Context) -> bool:
        return self.atomic

    def render(self, ctx: Context) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def evaluate(self, ctx: Context) -> Value:  # pragma: no cover - abstract
        raise NotImplementedError

    # Arithmetic -------------------------------------------------------------
    def __add__(self, other):
        return Op("+", self, lift(other))

    def __radd__(self, other):
        return Op("+", lift(other), self)

    def __sub__(self, other):
        return Op("-", self, lift(other))

    def __rsub__(self, other):
        return Op("-", lift(other), self)

    def __mul__(self, other):
        return Op("*", self, lift(other))

    def __rmul__(self, other):
        return Op("*", lift(other), self)

    def __truediv__(self, other):
        return Op("/", self, lift(other))

    def __rtruediv__(self, other):
        return Op("/", lift(other), self)

    def __pow__(self, other):
        return Op("^", self, lift(other))

    def __neg__(self):
        return Neg(self)

    # Comparisons are methods: overloading == would break hashing and `in`.
    def ge(self, other):
        return Op(">=", self, lift(other))

    def gt(self, other):
        return Op(">", self, lift(other))

    def le(self, other):
        return Op("<=", self, lift(other))

    def lt(self, other):
        return Op("<", self, lift(other))

    def eq(self, other):
        return Op("=", self, lift(other))


def lift(value) -> Expr:
    """A Python constant as an expression (numbers and text); expressions pass through."""
    if isinstance(value, Expr):
        return value
    if isinstance(value, bool):
        raise TypeError("logicals are not used in templates")
    if isinstance(value, (int, float)):
        return Num(value)
    if isinstance(value, str):
        return Text(value)
    raise TypeError(f"cannot use {value!r} in a formula")


@dataclass(frozen=True, eq=False)
class Num(Expr):
    value: float

    def render(self, ctx):
        v = float(self.value)
        text = number_text(v)
        return text if v >= 0 else f"({text})"

    def evaluate(self, ctx):
        return float(self.value)


@dataclass(frozen=True, eq=False)
class Text(Expr):
    value: str

    def render(self, ctx):
        return '"' + self.value.replace('"', '""') + '"'

    def evaluate(self, ctx):
        return self.value


@dataclass(frozen=True, eq=False)
class Ref(Expr):
    """One cell, e.g. ``Ref("Inputs", "$C$5")``; the sheet is left out on its own sheet."""

    sheet: str
    coord: str

    def render(self, ctx):
        if self.sheet == ctx.sheet:
            return self.coord
        return f"{quote_sheet(self.sheet)}!{self.coord}"

    def evaluate(self, ctx):
        return ctx.cell_value(self.sheet, self.coord.replace("$", ""))


@dataclass(frozen=True, eq=False)
class Range(Expr):
    """A block of cells, e.g. ``Range("Health", "D9:H9")``; evaluates to a 2-D list."""

    sheet: str
    ref: str

    def render(self, ctx):
        if self.sheet == ctx.sheet:
            return self.ref
        return f"{quote_sheet(self.sheet)}!{self.ref}"

    def evaluate(self, ctx):
        return ctx.range_values(self.sheet, self.ref.replace("$", ""))


@dataclass(frozen=True, eq=False)
class Name(Expr):
    """A workbook-level defined name (every input is one)."""

    name: str

    def render(self, ctx):
        return self.name

    def evaluate(self, ctx):
        return ctx.name_value(self.name)


@dataclass(frozen=True, eq=False)
class Neg(Expr):
    operand: Expr
    atomic = False

    def render(self, ctx):
        return "-" + _wrap(self.operand, ctx)

    def evaluate(self, ctx):
        return _guard(lambda: -_number(self.operand.evaluate(ctx)))


def _wrap(expr: Expr, ctx: Context) -> str:
    """Render an operand, in parentheses unless it is an atom (no precedence puzzles)."""
    text = expr.render(ctx)
    return text if expr.is_atomic(ctx) else f"({text})"


_ARITHMETIC: dict[str, Callable[[float, float], float]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
}
_COMPARE: dict[str, Callable] = {
    "=": operator.eq,
    "<>": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


@dataclass(frozen=True, eq=False)
class Op(Expr):
    """A binary operator: arithmetic, ``^``, ``&`` or a comparison."""

    op: str
    left: Expr
    right: Expr
    atomic = False

    def render(self, ctx):
        return f"{_wrap(self.left, ctx)}{self.op}{_wrap(self.right, ctx)}"

    def evaluate(self, ctx):
        a = self.left.evaluate(ctx)
        b = self.right.evaluate(ctx)
        for v in (a, b):
            if isinstance(v, ExcelError):
                return v
        return _guard(lambda: _binary(self.op, a, b))


def _binary(op: str, a: Value, b: Value) -> Value:
    if op in _COMPARE:
        return _compare(op, a, b)
    if op == "&":
        return _text(a) + _text(b)
    x, y = _number(a), _number(b)
    if op in _ARITHMETIC:
        return _finite(_ARITHMETIC[op](x, y))
    if op == "/":
        if y == 0:
            raise _ExcelErrorRaised(ExcelError.DIV0)
        return _finite(x / y)
    if op == "^":
        if x == 0 and y < 0:
            raise _ExcelErrorRaised(ExcelError.DIV0)
        if (x == 0 and y == 0) or (x < 0 and not float(y).is_integer()):
            raise _ExcelErrorRaised(ExcelError.NUM)
        try:
            return _finite(x**y)
        except OverflowError:
            raise _ExcelErrorRaised(ExcelError.NUM) from None
    raise ValueError(f"operator {op!r} is not supported")


def _compare(op: str, a: Value, b: Value) -> bool:
    # Excel orders numbers < text < logicals; a blank compares as 0 or "" as the other side.
    def key(v, other):
        if v is None:
            v = "" if isinstance(other, str) else (False if isinstance(other, bool) else 0.0)
        if isinstance(v, bool):
            return (2, v)
        if isinstance(v, str):
            return (1, v.casefold())
        return (0, float(v))

    return _COMPARE[op](key(a, b), key(b, a))


def _number(v: Value) -> float:
    """A value as Excel arithmetic reads it (blank 0, TRUE 1, numeric text parsed)."""
    if isinstance(v, ExcelError):
        raise _ExcelErrorRaised(v)
    if v is None:
        return 0.0
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, (int, float)):
        return float(v)
    try:
        return float(str(v).strip())
    except ValueError:
        raise _ExcelErrorRaised(ExcelError.VALUE) from None


def _text(v: Value) -> str:
    if isinstance(v, ExcelError):
        raise _ExcelErrorRaised(v)
    if v is None:
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float):
        return number_text(v)
    return str(v)


def _finite(x: float) -> float:
    if math.isnan(x) or math.isinf(x):
        raise _ExcelErrorRaised(ExcelError.NUM)
    return x


def _truth(v: Value) -> bool:
    if isinstance(v, ExcelError):
        raise _ExcelErrorRaised(v)
    if isinstance(v, str):
        raise _ExcelErrorRaised(ExcelError.VALUE)
    return bool(v)


def _guard(compute: Callable[[], Value]) -> Value:
    try:
        return compute()
    except _ExcelErrorRaised as raised:
        return raised.error


# Built-ins --------------------------------------------------------------------------
# Each takes the *unevaluated* arguments and the context, so IF/IFERROR can be lazy
# exactly like Excel (an error in the branch not taken does not matter).


def _if(args, ctx):
    cond = args[0].evaluate(ctx)
    if isinstance(cond, ExcelError):
        return cond
    if _truth(cond):
        return args[1].evaluate(ctx)
    return args[2].evaluate(ctx) if len(args) > 2 else False


def _iferror(args, ctx):
    value = args[0].evaluate(ctx)
    return args[1].evaluate(ctx) if isinstance(value, ExcelError) else value


def _isna(args, ctx):
    return args[0].evaluate(ctx) is ExcelError.NA


def _na(args, ctx):
    return ExcelError.NA


def _isnumber(args, ctx):
    value = args[0].evaluate(ctx)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _iserror(args, ctx):
    return isinstance(args[0].evaluate(ctx), ExcelError)


def _error_type(args, ctx):
    value = args[0].evaluate(ctx)
    if isinstance(value, ExcelError):
        return float(value.code)  # the same numbers in Excel, LibreOffice and Google Sheets
    return ExcelError.NA  # not an error: ERROR.TYPE answers #N/A


def _minmax(pick):
    def run(args, ctx):
        values = []
        for arg in args:
            value = arg.evaluate(ctx)
            if isinstance(value, list):  # a range: its numbers, like SUM; an error is the result
                for cell in _cells(value):
                    if isinstance(cell, ExcelError):
                        raise _ExcelErrorRaised(cell)
                    if isinstance(cell, (int, float)) and not isinstance(cell, bool):
                        values.append(float(cell))
            else:
                values.append(_number(value))
        return pick(values) if values else 0.0

    return run


def _cells(value) -> list:
    """A range's cells in row order (a single value is one cell)."""
    if isinstance(value, list):
        return [cell for row in value for cell in row]
    return [value]


def _sum(args, ctx):
    # Like SUM: numbers in ranges count, blanks, text and logicals in ranges do not; an
    # error anywhere is the result. Summed exactly (math.fsum): LibreOffice sums with
    # compensation, and a naive sum of a few hundred amounts drifts in the last digit.
    terms = []
    for arg in args:
        value = arg.evaluate(ctx)
        if isinstance(value, list):
            for cell in _cells(value):
                if isinstance(cell, ExcelError):
                    return cell
                if isinstance(cell, (int, float)) and not isinstance(cell, bool):
                    terms.append(cell)
        else:
            terms.append(_number(value))
    return _finite(math.fsum(terms))


def _criterion(criteria: Value) -> Callable[[Value], bool]:
    """A numeric COUNTIF/SUMIF criterion: a number, or text such as ">0" or "<=3"."""
    if isinstance(criteria, str):
        for op in (">=", "<=", "<>", ">", "<", "="):
            if criteria.startswith(op):
                target = float(criteria[len(op) :])
                compare = _COMPARE[op]
                break
        else:
            target, compare = float(criteria), operator.eq
    else:
        target, compare = _number(criteria), operator.eq
    return lambda cell: isinstance(cell, (int, float)) and not isinstance(cell, bool) and compare(float(cell), target)


def _countif(args, ctx):
    test = _criterion(args[1].evaluate(ctx))
    return float(sum(1 for cell in _cells(args[0].evaluate(ctx)) if test(cell)))


def _sumif(args, ctx):
    test = _criterion(args[1].evaluate(ctx))
    cells = _cells(args[0].evaluate(ctx))
    summed = _cells(args[2].evaluate(ctx)) if len(args) > 2 else cells
    terms = []
    for cell, value in zip(cells, summed):
        if test(cell):
            if isinstance(value, ExcelError):
                return value
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                terms.append(value)
    return _finite(math.fsum(terms))


BUILTINS: dict[str, Callable[[Sequence[Expr], Context], Value]] = {
    "SUM": _sum,
    "SUMIF": _sumif,
    "COUNTIF": _countif,
    "IF": _if,
    "IFERROR": _iferror,
    "ISNA": _isna,
    "NA": _na,
    "ISNUMBER": _isnumber,
    "ISERROR": _iserror,
    "ERROR.TYPE": _error_type,
    "MIN": _minmax(min),
    "MAX": _minmax(max),
}


@dataclass(frozen=True, eq=False)
class Call(Expr):
    """A call of an Excel built-in (one of :data:`BUILTINS`)."""

    name: str
    args: tuple[Expr, ...]

    def __post_init__(self):
        if self.name not in BUILTINS:
            raise ValueError(f"built-in {self.name} is not implemented by the evaluator")

    def render(self, ctx):
        return f"{self.name}({','.join(a.render(ctx) for a in self.args)})"

    def evaluate(self, ctx):
        return _guard(lambda: BUILTINS[self.name](self.args, ctx))


@dataclass(frozen=True, eq=False)
class XL(Expr):
    """A call of an xlfuncs function: ``CLV(...)`` or, in the native twin, its built-in twin."""

    name: str
    args: tuple[Expr, ...]

    def __post_init__(self):
        registry.get(self.name)  # KeyError for a name that is no xlfuncs function

    def is_atomic(self, ctx: Context) -> bool:
        # The native twin is an arbitrary expression ("(a)/(b)"): parenthesise it inside
        # bigger formulas. The UDF call is a function call, an atom.
        return not ctx.native

    def render(self, ctx):
        rendered = [a.render(ctx) for a in self.args]
        if ctx.native:
            return registry.native_formula(self.name, *rendered)
        return f"{self.name}({','.join(rendered)})"

    def evaluate(self, ctx):
        # A range argument evaluates to a 2-D list, a single cell to its value: exactly
        # what the adapter takes from a spreadsheet.
        return adapter.call(self.name, *(a.evaluate(ctx) for a in self.args))


def IF(cond, then, otherwise) -> Call:  # noqa: N802 - reads like the spreadsheet
    return Call("IF", (lift(cond), lift(then), lift(otherwise)))


def IFERROR(value, fallback) -> Call:  # noqa: N802
    return Call("IFERROR", (lift(value), lift(fallback)))


def ISNA(value) -> Call:  # noqa: N802
    return Call("ISNA", (lift(value),))


def NA() -> Call:  # noqa: N802
    return Call("NA", ())


def ISNUMBER(value) -> Call:  # noqa: N802
    return Call("ISNUMBER", (lift(value),))


def ISERROR(value) -> Call:  # noqa: N802
    return Call("ISERROR", (lift(value),))


def ERROR_TYPE(value) -> Call:  # noqa: N802
    return Call("ERROR.TYPE", (lift(value),))


def fn(name: str, *args) -> XL:
    """An xlfuncs call, e.g. ``fn("CLV", arpu, churn, margin)``."""
    return XL(name.upper(), tuple(lift(a) for a in args))
