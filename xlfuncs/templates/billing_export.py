"""Billing exports in: one row per subscription, from a CSV or xlsx file, or a built-in sample.

:func:`load` reads a subscriptions export of a billing system (Stripe, Chargebee, Recurly
and the like): it finds the columns by their usual names (any case; ``--map`` names them
when the export is unusual), parses dates (ISO, or a ``--date-format``), amounts (thousands
separators, currency signs) and intervals (1/3/12 or month/quarter/year), and checks every
row. A bad row is one line naming the file, the row and the column; any bad row fails the
whole load (:class:`ExportError` carries every line), so nothing is written from half a file.

:func:`sample` makes the built-in export: a few hundred customers over 30 months with
monthly, quarterly and annual plans, upgrades, downgrades, churn and win-backs, seeded so
the same workbook comes out every time.

This module reads files with :mod:`csv` and openpyxl only; it knows nothing of workbooks
being generated.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

FIELDS = ("customer", "start", "end", "amount", "interval", "interval_count", "plan", "segment")
REQUIRED = ("customer", "start", "amount")

# The spellings of each field in common billing exports, best first, after normalising
# (case folded, "_[].-" as spaces, "(UTC)" and other bracketed notes dropped).
ALIASES: dict[str, tuple[str, ...]] = {
    "customer": (
        "customer",
        "customer id",
        "customer ids",
        "customerid",
        "subscription customer id",
        "account",
        "account code",
        "account id",
        "client",
        "client id",
        "cliente",
        "id cliente",
    ),
    "start": (
        "start",
        "start date",
        "started at",
        "start at",
        "created",
        "created at",
        "activated at",
        "subscription started at",
        "subscription created at",
        "current term start",
        "inicio",
        "fecha inicio",
    ),
    "end": (
        "end",
        "end date",
        "ended at",
        "ends at",
        "ended",
        "expires at",
        "expired at",
        "canceled at",
        "cancelled at",
        "canceled",
        "cancelled",
        "cancel date",
        "subscription ended at",
        "subscription cancelled at",
        "fin",
        "fecha fin",
    ),
    "amount": (
        "amount",
        "price",
        "plan amount",
        "plan price",
        "unit amount",
        "unit price",
        "subscription amount",
        "plan unit price",
        "total",
        "importe",
        "precio",
    ),
    "interval": (
        "interval",
        "plan interval",
        "billing interval",
        "billing period unit",
        "plan interval unit",
        "interval unit",
        "billing frequency",
        "billing cycle",
        "frequency",
        "intervalo",
        "periodicidad",
    ),
    "interval_count": (
        "interval count",
        "plan interval count",
        "billing period",
        "plan interval length",
        "interval length",
    ),
    "plan": ("plan", "plan name", "plan id", "plan code", "product", "product name", "price id", "producto"),
    "segment": ("segment", "customer segment", "customer type", "tier", "segmento"),
}

_INTERVAL_WORDS = {
    "month": 1.0,
    "months": 1.0,
    "monthly": 1.0,
    "mo": 1.0,
    "mensual": 1.0,
    "mes": 1.0,
    "quarter": 3.0,
    "quarters": 3.0,
    "quarterly": 3.0,
    "trimestral": 3.0,
    "trimestre": 3.0,
    "year": 12.0,
    "years": 12.0,
    "yearly": 12.0,
    "annual": 12.0,
    "annually": 12.0,
    "yr": 12.0,
    "anual": 12.0,
    "año": 12.0,
}
_CURRENCY = re.compile(r"[$€£¥₹₩₽¤]|\b(?:USD|EUR|GBP|JPY|CAD|AUD|CHF|MXN|BRL|INR|US\$)\b", re.I)
_SPACES = re.compile(r"[\s\u00a0\u202f']+")  # also the apostrophe of 1'000 and thin spaces
_ISO_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ].*$")


class ExportError(Exception):
    """A billing export that cannot be used. ``lines``: one line per problem (per bad row)."""

    def __init__(self, lines: list[str]):
        super().__init__("\n".join(lines))
        self.lines = lines


@dataclass
class Subscriptions:
    """One row per subscription, parsed. Dates are :class:`datetime.date`; end None = running."""

    source: str
    customer: list[str | float] = field(default_factory=list)
    start: list[dt.date] = field(default_factory=list)
    end: list[dt.date | None] = field(default_factory=list)
    amount: list[float] = field(default_factory=list)
    interval: list[float] = field(default_factory=list)
    plan: list[str | None] = field(default_factory=list)
    segment: list[str | None] = field(default_factory=list)
    has_plan: bool = False
    has_segment: bool = False

    def __len__(self) -> int:
        return len(self.customer)


# ------------------------------------------------------------------------------ headers


def normalise(header: object) -> str:
    """A column name as matched: ``"Ended At (UTC)"`` -> ``"ended at"``."""
    text = "" if header is None else str(header)
    text = re.sub(r"\([^)]*\)", " ", text.casefold())
    text = re.sub(r"[_\[\].\-/:]+", " ", text)
    return " ".join(text.split())


def parse_map(specs: Iterable[str]) -> dict[str, str]:
    """``customer="Customer ID",start=Created`` (one or several options) -> {field: column}.

    Raises
    ------
    ExportError
        An unknown field or a piece without ``=``.
    """
    mapping: dict[str, str] = {}
    for spec in specs:
        for piece in re.split(r",(?=\s*[A-Za-z_]+\s*=)", spec):
            if not piece.strip():
                continue
            key, eq, column = piece.partition("=")
            key = key.strip().lower()
            column = column.strip().strip('"').strip("'")
            if not eq or not column:
                raise ExportError([f'--map {piece.strip()!r}: write field=column, e.g. customer="Customer ID"'])
            if key not in FIELDS:
                raise ExportError([f"--map {key!r}: unknown field (fields: {', '.join(FIELDS)})"])
            mapping[key] = column
    return mapping


def _columns(headers: list[object], mapping: dict[str, str], source: str) -> dict[str, int]:
    """Column index of each field found."""
    normal = [normalise(h) for h in headers]
    found: dict[str, int] = {}
    problems = []
    for name, column in mapping.items():
        wanted = normalise(column)
        if wanted in normal:
            found[name] = normal.index(wanted)
        else:
            shown = ", ".join(repr(str(h)) for h in headers if h not in (None, ""))
            problems.append(f"{source}: --map {name}={column!r}: no such column (columns: {shown})")
    for name in FIELDS:
        if name in found or name in mapping:
            continue
        for alias in ALIASES[name]:
            if alias in normal and normal.index(alias) not in found.values():
                found[name] = normal.index(alias)
                break
    for name in REQUIRED:
        if name not in found and name not in mapping:
            problems.append(
                f"{source}: no {name} column (looked for {', '.join(repr(a) for a in ALIASES[name][:4])}, ...); "
                f'name it with --map {name}="Column name"'
            )
    if problems:
        raise ExportError(problems)
    return found


# ------------------------------------------------------------------------------ values


class _Bad(ValueError):
    pass


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _date(value: object, date_format: str | None) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # A date cell of an xlsx file that lost its date format: an Excel serial.
        if 1 <= value < 2958466:
            return dt.date(1899, 12, 30) + dt.timedelta(days=int(value))
        raise _Bad(f"{value!r} is not a date")
    text = str(value).strip()
    if date_format:
        try:
            return dt.datetime.strptime(text, date_format).date()
        except ValueError:
            raise _Bad(f"{text!r} does not match --date-format {date_format!r}") from None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        pass
    match = _ISO_TIME.match(text)
    if match:
        try:
            return dt.date.fromisoformat(match.group(1))
        except ValueError:
            pass
    raise _Bad(f"{text!r} is not an ISO date (yyyy-mm-dd); give --date-format, e.g. %d/%m/%Y")


def parse_amount(value: object) -> float:
    """``"$1,234.50"``, ``"1.234,50 €"``, ``"1 234"``, ``1234.5`` -> a number >= 0."""
    if isinstance(value, bool):
        raise _Bad(f"{value!r} is not an amount")
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        text = _SPACES.sub("", _CURRENCY.sub("", str(value)))
        if not re.fullmatch(r"[-+]?[0-9.,]*[0-9][0-9.,]*", text):
            raise _Bad(f"{str(value).strip()!r} is not an amount")
        comma, dot = text.rfind(","), text.rfind(".")
        if comma >= 0 and dot >= 0:  # the last separator is the decimal one
            thousands, decimal = (".", ",") if comma > dot else (",", ".")
            text = text.replace(thousands, "").replace(decimal, ".")
        elif comma >= 0:
            groups = text.lstrip("+-").split(",")
            if len(groups) > 2 or (len(groups[-1]) == 3 and groups[0] not in ("", "0")):
                text = text.replace(",", "")  # 1,234 and 1,234,567: thousands
            else:
                text = text.replace(",", ".")  # 12,5: a decimal comma
        elif text.count(".") > 1:
            text = text.replace(".", "")  # 1.234.567: thousands
        number = float(text)
    if not np.isfinite(number):
        raise _Bad(f"{value!r} is not an amount")
    if number < 0:
        raise _Bad(f"{value!r} is negative")
    return number


def _interval(value: object) -> float:
    if _blank(value):
        return 1.0
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    else:
        text = str(value).strip().casefold()
        if text in _INTERVAL_WORDS:
            return _INTERVAL_WORDS[text]
        try:
            number = float(text)
        except ValueError:
            raise _Bad(f"{str(value).strip()!r} is not an interval (1, 3, 12 or month, quarter, year)") from None
    if not np.isfinite(number) or number <= 0:
        raise _Bad(f"{value!r} is not an interval (months > 0)")
    return number


def _count(value: object) -> float:
    if _blank(value):
        return 1.0
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise _Bad(f"{value!r} is not an interval count") from None
    if not np.isfinite(number) or number <= 0:
        raise _Bad(f"{value!r} is not an interval count (> 0)")
    return number


def _customer(value: object) -> str | float:
    if isinstance(value, bool):
        raise _Bad(f"{value!r} is not a customer id")
    if isinstance(value, float) and value.is_integer():
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    return str(value).strip()


def _label(value: object) -> str | None:
    if _blank(value):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


# ------------------------------------------------------------------------------ reading


def _csv_rows(path: Path) -> tuple[list[object], Iterator[tuple[int, list[object]]], int]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    if "\x00" in text:
        raise ExportError([f"{path}: not a text file (a CSV or an .xlsx export is needed)"])
    sample = text[:65536]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        headers = next(reader)
    except StopIteration:
        raise ExportError([f"{path}: the file is empty"]) from None
    total = max(text.count("\n") - 1, 1)

    def rows():
        for record in reader:
            yield reader.line_num, record

    return list(headers), rows(), total


def _xlsx_rows(path: Path) -> tuple[list[object], Iterator[tuple[int, list[object]]], int]:
    import zipfile

    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise ExportError([f"{path}: not a readable xlsx file ({exc})"]) from None
    ws = wb.worksheets[0]
    rows = ws.iter_rows(values_only=True)
    try:
        headers = list(next(rows))
    except StopIteration:
        raise ExportError([f"{path}: the first sheet is empty"]) from None
    total = max((ws.max_row or 2) - 1, 1)

    def numbered():
        for number, record in enumerate(rows, start=2):
            yield number, list(record)
        wb.close()

    return headers, numbered(), total


def load(
    path: str | Path,
    mapping: dict[str, str] | None = None,
    date_format: str | None = None,
    progress: bool | None = None,
    max_lines: int = 20,
) -> Subscriptions:
    """Read a subscriptions export (CSV or xlsx).

    Parameters
    ----------
    path : path
        The export: ``.csv`` (comma, semicolon, tab or bar separated; UTF-8 or Windows-1252)
        or ``.xlsx`` (its first sheet), with a header row.
    mapping : dict, optional
        Field -> column name, for columns the usual spellings miss (see :func:`parse_map`).
    date_format : str, optional
        ``strptime`` format of the dates (``"%d/%m/%Y"``); ISO dates when omitted.
    progress : bool, optional
        Show a progress bar on stderr; by default only when stderr is a terminal.
    max_lines : int
        At most this many bad rows are listed (the count of the others follows).

    Raises
    ------
    ExportError
        Missing file or column, or bad rows: ``lines`` has one line per problem.
    """
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise ExportError([f"{source}: no such file"])
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        headers, rows, total = _xlsx_rows(path)
    elif suffix in (".csv", ".txt", ".tsv"):
        headers, rows, total = _csv_rows(path)
    else:
        raise ExportError([f"{source}: give a .csv or .xlsx export"])
    cols = _columns(headers, dict(mapping or {}), source)
    names = {index: str(headers[index]) for index in cols.values()}
    subs = Subscriptions(source=source, has_plan="plan" in cols, has_segment="segment" in cols)
    problems: list[str] = []
    bad_rows = 0
    parsers: list[tuple[str, int, Callable[[object], object]]] = [
        ("customer", cols["customer"], _customer),
        ("start", cols["start"], lambda v: _date(v, date_format)),
        ("amount", cols["amount"], parse_amount),
    ]
    if "end" in cols:
        parsers.append(("end", cols["end"], lambda v: _date(v, date_format)))
    if "interval" in cols:
        parsers.append(("interval", cols["interval"], _interval))
    if "interval_count" in cols:
        parsers.append(("interval_count", cols["interval_count"], _count))
    used = [index for _, index, _ in parsers]
    plan_col, segment_col = cols.get("plan"), cols.get("segment")

    bar = _progress(progress, total, path.name)
    try:
        for count, (number, record) in enumerate(rows):
            if bar is not None and count % 2000 == 0:
                bar.update(count)
            cells = {index: (record[index] if index < len(record) else None) for index in used}
            if all(_blank(v) for v in cells.values()):
                continue  # an empty row (a trailing line, a spacer)
            parsed: dict[str, object] = {}
            error = None
            for name, index, parse in parsers:
                value = cells[index]
                if _blank(value):
                    if name in REQUIRED:
                        error = (index, "is empty")
                        break
                    continue
                try:
                    parsed[name] = parse(value)
                except _Bad as bad:
                    error = (index, str(bad))
                    break
            if error is None and "end" in parsed and parsed["end"] < parsed["start"]:  # type: ignore[operator]
                error = (cols["end"], f"{parsed['end']} is before the start {parsed['start']}")
            if error is not None:
                bad_rows += 1
                if len(problems) < max_lines:
                    index, why = error
                    problems.append(f"{source}: row {number}, column {names[index]!r}: {why}")
                continue
            subs.customer.append(parsed["customer"])  # type: ignore[arg-type]
            subs.start.append(parsed["start"])  # type: ignore[arg-type]
            subs.end.append(parsed.get("end"))  # type: ignore[arg-type]
            subs.amount.append(parsed["amount"])  # type: ignore[arg-type]
            subs.interval.append(parsed.get("interval", 1.0) * parsed.get("interval_count", 1.0))  # type: ignore[operator]
            subs.plan.append(_label(record[plan_col]) if plan_col is not None and plan_col < len(record) else None)
            subs.segment.append(
                _label(record[segment_col]) if segment_col is not None and segment_col < len(record) else None
            )
    finally:
        if bar is not None:
            bar.close()
    if bad_rows > len(problems):
        problems.append(f"{source}: ... and {bad_rows - len(problems)} more bad rows")
    if problems:
        raise ExportError(problems)
    if not subs.customer:
        raise ExportError([f"{source}: no subscriptions (only a header row)"])
    return subs


class _Bar:
    def __init__(self, total: int, name: str):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn(f"reading {name}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            transient=True,
        )
        self.progress.start()
        self.task = self.progress.add_task("rows", total=total)

    def update(self, done: int) -> None:
        self.progress.update(self.task, completed=done)

    def close(self) -> None:
        self.progress.stop()


def _progress(progress: bool | None, total: int, name: str) -> _Bar | None:
    if progress is None:
        progress = sys.stderr.isatty()
    return _Bar(total, name) if progress else None


# ------------------------------------------------------------------------------ sample

SAMPLE_FIRST_MONTH = dt.date(2024, 1, 1)
SAMPLE_MONTHS = 30
# Plan: (name, list price per month, segment); quarterly and annual pay ahead at a discount.
SAMPLE_PLANS = (("Starter", 49.0, "SMB"), ("Growth", 199.0, "Mid-market"), ("Business", 599.0, "Enterprise"))
_PAY_AHEAD = {1: 1.0, 3: 0.95, 12: 0.85}
SAMPLE_COLUMNS = (
    "Subscription ID",
    "Customer ID",
    "Plan",
    "Segment",
    "Amount",
    "Interval",
    "Created (UTC)",
    "Ended At (UTC)",
)
_INTERVAL_NAMES = {1: "month", 3: "quarter", 12: "year"}


def _add_months(day: dt.date, months: int) -> dt.date:
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    last = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last))


def sample_rows(customers: int = 320, months: int = SAMPLE_MONTHS, seed: int = 7) -> list[tuple]:
    """The built-in export as rows of :data:`SAMPLE_COLUMNS` (text cells, as a CSV has them).

    Customers arrive at a growing rate; each has its own monthly churn probability (a beta
    distribution, the shifted-beta-geometric story); on the way some upgrade or downgrade
    (the subscription ends and a new one starts the same day), and some who left come back
    months later (win-backs). Annual and quarterly plans can only end at a renewal.
    """
    rng = np.random.default_rng(seed)
    first = SAMPLE_FIRST_MONTH
    horizon = _add_months(first, months)  # the export is taken at the end of the last month
    rows: list[tuple] = []
    # Arrival months: more each month (growth), all within the window.
    weights = np.linspace(1.0, 2.5, months)
    arrival = np.sort(rng.choice(months, size=customers, p=weights / weights.sum()))
    sub_id = 0
    for k in range(customers):
        cid = "cus_" + "".join(rng.choice(list("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"), 10))
        tier = int(rng.choice(3, p=(0.6, 0.3, 0.1)))
        interval = int(rng.choice((1, 3, 12), p=(0.7, 0.15, 0.15)))
        churn_p = float(rng.beta(0.9, 14.0))
        day = _add_months(first, int(arrival[k])) + dt.timedelta(days=int(rng.integers(0, 28)))
        comebacks = 1 if rng.random() < 0.12 else 0
        while day < horizon:
            sub_id += 1
            # How long this subscription runs: renew term by term until a change or churn.
            start, terms, change = day, 0, None
            while True:
                terms += 1
                end = _add_months(start, terms * interval)
                if end >= horizon:
                    end = None
                    break
                if rng.random() < 1 - (1 - churn_p) ** interval:
                    change = "churn"
                    break
                roll = rng.random()
                if roll < 0.05 * interval and tier < 2:
                    change = "up"
                    break
                if roll > 1 - 0.02 * interval and tier > 0:
                    change = "down"
                    break
            name, price, segment = SAMPLE_PLANS[tier]
            seats = 1 + int(rng.poisson(0.6)) if tier else 1
            amount = round(price * seats * interval * _PAY_AHEAD[interval], 2)
            rows.append(
                (
                    f"sub_{sub_id:05d}",
                    cid,
                    name,
                    segment,
                    f"{amount:,.2f}",
                    _INTERVAL_NAMES[interval],
                    f"{start.isoformat()} {int(rng.integers(8, 20)):02d}:{int(rng.integers(0, 60)):02d}",
                    "" if end is None else f"{end.isoformat()} 00:00",
                )
            )
            if end is None:
                break
            if change == "up":
                tier += 1
                day = end
            elif change == "down":
                tier -= 1
                day = end
            elif comebacks:
                comebacks -= 1
                day = _add_months(end, int(rng.integers(2, 9)))
                churn_p = min(churn_p * 1.5, 0.5)
            else:
                break
    return rows


def write_sample_csv(path: str | Path, customers: int = 320, months: int = SAMPLE_MONTHS, seed: int = 7) -> Path:
    """Write the sample export as a CSV (what a Stripe export looks like)."""
    path = Path(path)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(SAMPLE_COLUMNS)
        writer.writerows(sample_rows(customers, months, seed))
    return path


def sample(customers: int = 320, months: int = SAMPLE_MONTHS, seed: int = 7) -> Subscriptions:
    """The built-in sample export, parsed like a file would be."""
    subs = Subscriptions(source="built-in sample", has_plan=True, has_segment=True)
    for _, cid, plan, segment, amount, interval, created, ended in sample_rows(customers, months, seed):
        subs.customer.append(cid)
        subs.start.append(_date(created, None))
        subs.end.append(_date(ended, None) if ended else None)
        subs.amount.append(parse_amount(amount))
        subs.interval.append(_interval(interval))
        subs.plan.append(plan)
        subs.segment.append(segment)
    return subs


def sample_spend(subs: Subscriptions, first_month: dt.date, months: int, seed: int = 11) -> list[float]:
    """Sales and marketing spend per month for the sample: about 1,400 per new customer."""
    rng = np.random.default_rng(seed)
    firsts: dict[object, dt.date] = {}
    for cid, start in zip(subs.customer, subs.start):
        key = cid.casefold() if isinstance(cid, str) else cid
        firsts[key] = min(firsts.get(key, start), start)
    per_month = [0] * months
    for day in firsts.values():
        index = (day.year - first_month.year) * 12 + day.month - first_month.month
        if 0 <= index < months:
            per_month[index] += 1
    return [round(max(n, 1) * 1400 * float(rng.uniform(0.8, 1.2)), -2) for n in per_month]


def read_spend(path: str | Path, date_format: str | None = None) -> dict[tuple[int, int], float]:
    """A spend file: rows of month (a date in the month, or yyyy-mm) and amount.

    Raises
    ------
    ExportError
        One line per bad row, naming the file, row and column.
    """
    path = Path(path)
    if not path.is_file():
        raise ExportError([f"{path}: no such file"])
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        headers, rows, _ = _xlsx_rows(path)
    else:
        headers, rows, _ = _csv_rows(path)
    normal = [normalise(h) for h in headers]
    month_col = next((normal.index(a) for a in ("month", "date", "period", "mes", "fecha") if a in normal), None)
    spend_col = next(
        (normal.index(a) for a in ("spend", "amount", "cost", "s&m spend", "gasto", "importe") if a in normal), None
    )
    if month_col is None or spend_col is None:
        raise ExportError([f"{path}: needs a 'month' column and a 'spend' column"])
    spend: dict[tuple[int, int], float] = {}
    problems = []
    for number, record in rows:
        month = record[month_col] if month_col < len(record) else None
        value = record[spend_col] if spend_col < len(record) else None
        if _blank(month) and _blank(value):
            continue
        try:
            if isinstance(month, str) and re.fullmatch(r"\s*\d{4}-\d{2}\s*", month):
                month = month.strip() + "-01"
            try:
                day = _date(month, date_format)
            except _Bad as bad:
                raise _Bad(str(bad)) from None
        except _Bad as bad:
            problems.append(f"{path}: row {number}, column {headers[month_col]!r}: {bad}")
            continue
        try:
            amount = parse_amount(value)
        except _Bad as bad:
            problems.append(f"{path}: row {number}, column {headers[spend_col]!r}: {bad}")
            continue
        key = (day.year, day.month)
        spend[key] = spend.get(key, 0.0) + amount
    if problems:
        raise ExportError(problems)
    return spend
