"""Scenario files: the numbers a template is filled with, as documented, validated TOML.

The schema below is the single source of every scenario key: its type, its allowed range,
its default and its documentation. From it come

* the built-in default scenario (:func:`defaults`), so ``xlfuncs generate onboarding-roi``
  needs no file;
* ``xlfuncs/templates/scenarios/onboarding-roi.toml``, the documented copy users start from
  (shipped in the package, printed by ``xlfuncs generate onboarding-roi --print-scenario``;
  :func:`default_toml` writes it, a test keeps the file and the schema in step);
* the validation of a user's file (:func:`load`): a wrong type, a value out of range, an
  unknown key, a stay that contradicts the churn or health weights that are all 0 is a
  :class:`ScenarioError` whose message is one line naming the key;
* the ranges of the Inputs sheet's data validation, so the workbook refuses what the file
  would refuse.

A scenario file may give only some keys: the others keep their defaults.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..numtext import number_text

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser, under its PyPI name
    import tomli as tomllib  # type: ignore[no-redef]

NUMBER, INTEGER, TEXT, DATE, NUMBERS, INTEGERS, ACCOUNTS = (
    "number",
    "integer",
    "text",
    "date",
    "numbers",
    "integers",
    "accounts",
)


class ScenarioError(ValueError):
    """A scenario that cannot be used; ``str()`` is one line naming the key."""


@dataclass(frozen=True)
class Key:
    """One scenario key, e.g. ``inputs.gross_margin``."""

    path: str
    kind: str
    default: object
    doc: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # low < value, rather than low <= value
    length: tuple[int, int] | None = None  # allowed list lengths for list kinds

    @property
    def section(self) -> str:
        return self.path.split(".", 1)[0]

    @property
    def name(self) -> str:
        return self.path.split(".", 1)[1]

    def range_text(self) -> str:
        """The allowed range in words, for messages and docs ("from 0 to 1")."""
        low, high = self.low, self.high
        if low is not None and high is not None:
            if self.low_open:
                return f"above {_fmt(low)} and at most {_fmt(high)}"
            return f"from {_fmt(low)} to {_fmt(high)}"
        if low is not None:
            return f"above {_fmt(low)}" if self.low_open else f"{_fmt(low)} or more"
        if high is not None:
            return f"at most {_fmt(high)}"
        return ""

    def in_range(self, x: float) -> bool:
        if math.isnan(x) or math.isinf(x):
            return False
        if self.low is not None and (x <= self.low if self.low_open else x < self.low):
            return False
        return self.high is None or x <= self.high


def _fmt(x) -> str:
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return number_text(x)
    return str(x)


SIGNALS = 5  # health signals per account (usage, adoption, support, NPS, payments)
STEPS = 6  # onboarding checklist steps


SECTIONS: dict[str, str] = {
    "workbook": "How the workbook is labelled.",
    "inputs": (
        "The Inputs sheet: one customer, without and with onboarding. Money is per customer,\n"
        "in the currency above; rates are fractions (5 % is 0.05); periods are months."
    ),
    "sensitivity": "The Sensitivity sheet's grid: CLV and LTV:CAC with onboarding.",
    "checklist": "The Onboarding checklist sheet: one example customer going through the six steps.",
    "health": "The Health sheet: weighted signals per account -> HEALTH_SCORE, HEALTH_STATUS, SEGMENT.",
}

KEYS: tuple[Key, ...] = (
    Key("workbook.company", TEXT, "Example Co.", "Company name printed in each page header."),
    Key(
        "workbook.currency",
        TEXT,
        "$",
        'Currency of the amounts: an ISO code (USD, EUR, MXN, GBP, ...) or a symbol ("$", "€"); it sets the'
        " symbol and where the number formats put it. `--currency` overrides it.",
        length=(1, 4),
    ),
    Key("inputs.license_price", NUMBER, 50.0, "Price of one license per month.", 0, None, True),
    Key("inputs.licenses_at_start", INTEGER, 1, "Licenses a new customer buys.", 1, 10000),
    Key(
        "inputs.extra_licenses",
        INTEGER,
        3,
        "Extra licenses an onboarded customer buys (no new acquisition cost).",
        0,
        10000,
    ),
    Key("inputs.acquisition_cost", NUMBER, 400.0, "CAC: cost of acquiring one customer.", 0, None, True),
    Key("inputs.gross_margin", NUMBER, 0.8, "Gross margin on license revenue, as a fraction.", 0, 1, True),
    Key(
        "inputs.churn_without",
        NUMBER,
        0.30,
        "Monthly churn without onboarding, as a fraction: the share of customers lost each month.",
        0,
        1,
    ),
    Key(
        "inputs.months_without",
        NUMBER,
        None,
        "Instead of churn_without: the months a customer stays (and pays) without onboarding, within the"
        " horizon; the churn is derived from it. Give one of the two, or both if they agree.",
        1,
        60,
    ),
    Key("inputs.churn_with", NUMBER, 0.03, "Monthly churn with onboarding, as a fraction.", 0, 1),
    Key(
        "inputs.months_with",
        NUMBER,
        None,
        "Instead of churn_with: the months a customer stays with onboarding, within the horizon.",
        1,
        60,
    ),
    Key(
        "inputs.discount_rate",
        NUMBER,
        0.10,
        "Annual discount rate (cost of capital); the workbook converts it to monthly.",
        0,
        1,
    ),
    Key("inputs.onboarding_cost", NUMBER, 250.0, "Onboarding cost per customer.", 0, None, True),
    Key(
        "inputs.horizon_months",
        INTEGER,
        36,
        "Horizon of the lifetime value in months (Steve Blank: a 3 to 5 year life).",
        12,
        60,
    ),
    Key(
        "sensitivity.churn",
        NUMBERS,
        [0.01, 0.02, 0.03, 0.05, 0.08, 0.10, 0.15, 0.20, 0.30],
        "Monthly churn rates down the grid (fractions).",
        0,
        1,
        length=(2, 15),
    ),
    Key(
        "sensitivity.extra_licenses",
        INTEGERS,
        [0, 1, 2, 3, 4, 5, 6],
        "Extra licenses across the grid.",
        0,
        10000,
        length=(2, 10),
    ),
    Key("checklist.customer", TEXT, "Northwind Traders", "The customer being onboarded."),
    Key("checklist.start_date", DATE, dt.date(2025, 3, 3), "Day the onboarding starts (a TOML date)."),
    Key(
        "checklist.ttfv_target_days",
        NUMBER,
        60.0,
        "Target time to first value in days (first value = the success step).",
        0,
        3650,
        True,
    ),
    Key(
        "checklist.target_days",
        NUMBERS,
        [3.0, 7.0, 14.0, 21.0, 45.0, 60.0],
        "Target day (after the start) of each of the six steps.",
        0,
        3650,
        length=(STEPS, STEPS),
    ),
    Key(
        "checklist.done_days",
        NUMBERS,
        [2.0, 6.0, 12.0, 24.0, 44.0, 57.0],
        "Day each step was done, in step order; steps past the end of the list are still open.",
        0,
        3650,
        length=(0, STEPS),
    ),
    Key(
        "health.weights",
        NUMBERS,
        [30.0, 25.0, 15.0, 15.0, 15.0],
        "Weights of the signals: usage, adoption, support, NPS, payments.",
        0,
        None,
        length=(SIGNALS, SIGNALS),
    ),
    Key("health.red_below", NUMBER, 50.0, "Scores below this are red.", 0, 100),
    Key("health.green_from", NUMBER, 75.0, "Scores from this are green (>= red_below).", 0, 100),
    Key("health.vip_mrr", NUMBER, 2000.0, "MRR from which an account is VIP.", 0, None),
    Key("health.core_mrr", NUMBER, 500.0, "MRR from which an account is core (<= vip_mrr).", 0, None),
    Key(
        "health.accounts",
        ACCOUNTS,
        [
            {"name": "Acme Corp", "mrr": 2400.0, "potential_mrr": 3000.0, "scores": [92.0, 85.0, 70.0, 80.0, 100.0]},
            {"name": "Globex", "mrr": 650.0, "potential_mrr": 2500.0, "scores": [75.0, 60.0, 80.0, 70.0, 90.0]},
            {"name": "Initech", "mrr": 900.0, "potential_mrr": 1200.0, "scores": [40.0, 35.0, 50.0, 30.0, 60.0]},
            {"name": "Umbrella", "mrr": 3100.0, "potential_mrr": 3100.0, "scores": [55.0, 70.0, 40.0, 60.0, 100.0]},
            {"name": "Hooli", "mrr": 300.0, "potential_mrr": 400.0, "scores": [88.0, 90.0, 85.0, 75.0, 100.0]},
            {
                "name": "Stark Industries",
                "mrr": 1500.0,
                "potential_mrr": 1800.0,
                "scores": [20.0, 25.0, 45.0, 10.0, 50.0],
            },
        ],
        "Accounts: name, mrr, potential_mrr and five signal scores on 0..100.",
        length=(1, 50),
    ),
)

BY_PATH: dict[str, Key] = {k.path: k for k in KEYS}

_ACCOUNT_FIELDS = ("name", "mrr", "potential_mrr", "scores")


@dataclass
class Scenario:
    """A validated scenario: every key present, with its value (``sc["inputs.cac"]``)."""

    values: dict[str, object] = field(default_factory=dict)
    source: str = "built-in default"

    def __getitem__(self, path: str):
        return self.values[path]


def defaults() -> Scenario:
    """The built-in default scenario (a fresh copy), its months stayed derived from churn."""
    scenario = Scenario({k.path: copy.deepcopy(k.default) for k in KEYS})
    _cross_checks(scenario, set())
    return scenario


def load(path: str | Path | None) -> Scenario:
    """The scenario in ``path`` (TOML) over the defaults, or the defaults for None.

    Raises
    ------
    ScenarioError
        One line naming the file and the key: unreadable file, bad TOML, unknown key,
        wrong type, value out of range.
    """
    if path is None:
        return defaults()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such scenario file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read it ({exc.__class__.__name__}: {exc})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from None
    try:
        return from_mapping(data, source=str(path))
    except ScenarioError as exc:
        raise ScenarioError(f"{path}: {exc}") from None


def from_mapping(data: dict, source: str = "mapping") -> Scenario:
    """Validate a parsed TOML document against the schema (missing keys take defaults)."""
    scenario = defaults()
    scenario.source = source
    given: set[str] = set()
    for section, table in data.items():
        if section not in SECTIONS:
            raise ScenarioError(f"[{section}]: unknown section (known: {', '.join(SECTIONS)})")
        if not isinstance(table, dict):
            raise ScenarioError(f"{section}: must be a table [{section}], got {_describe(table)}")
        for name, value in table.items():
            path = f"{section}.{name}"
            key = BY_PATH.get(path)
            if key is None:
                known = ", ".join(k.name for k in KEYS if k.section == section)
                raise ScenarioError(f"{path}: unknown key (keys of [{section}]: {known})")
            scenario.values[path] = _check(key, value)
            given.add(path)
    _cross_checks(scenario, given)
    return scenario


def _describe(value) -> str:
    if isinstance(value, bool):
        return f"the logical {str(value).lower()}"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, dt.datetime):
        return f"the date-time {value.isoformat()}"
    if isinstance(value, dt.date):
        return f"the date {value.isoformat()}"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "a table"
    return repr(value)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _number(key: Key, value, where: str, integer: bool) -> float | int:
    what = "a whole number" if integer else "a number"
    rng = key.range_text()
    expect = f"{what} {rng}".strip()
    if not _is_number(value):
        raise ScenarioError(f"{where}: must be {expect}, got {_describe(value)}")
    if integer and not float(value).is_integer():
        raise ScenarioError(f"{where}: must be {expect}, got {value!r}")
    if not key.in_range(float(value)):
        raise ScenarioError(f"{where}: must be {expect}, got {value!r}")
    return int(value) if integer else float(value)


def _length(key: Key, value: list, where: str, noun: str) -> None:
    if key.length is None:
        return
    low, high = key.length
    if not low <= len(value) <= high:
        want = f"{low}" if low == high else f"{low} to {high}"
        raise ScenarioError(f"{where}: must have {want} {noun}, got {len(value)}")


def _check(key: Key, value, where: str | None = None):
    where = where or key.path
    if key.kind in (NUMBER, INTEGER):
        return _number(key, value, where, key.kind == INTEGER)
    if key.kind == TEXT:
        if not isinstance(value, str):
            raise ScenarioError(f"{where}: must be text in quotes, got {_describe(value)}")
        if not value.strip():
            raise ScenarioError(f"{where}: must not be empty")
        bad = _XML_ILLEGAL.search(value)
        if bad:
            raise ScenarioError(
                f"{where}: contains the control character U+{ord(bad.group()):04X}, which a workbook cannot hold"
            )
        if key.length and not key.length[0] <= len(value) <= key.length[1]:
            raise ScenarioError(f"{where}: must be {key.length[0]} to {key.length[1]} characters, got {value!r}")
        return value
    if key.kind == DATE:
        if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
            raise ScenarioError(f"{where}: must be a date such as 2025-03-03 (no quotes), got {_describe(value)}")
        return value
    if key.kind in (NUMBERS, INTEGERS):
        if not isinstance(value, list):
            raise ScenarioError(f"{where}: must be a list of numbers such as [1, 2], got {_describe(value)}")
        _length(key, value, where, "numbers")
        integer = key.kind == INTEGERS
        return [_number(key, v, f"{where}[{i}]", integer) for i, v in enumerate(value)]
    if key.kind == ACCOUNTS:
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise ScenarioError(f"{where}: must be a list of [[{where}]] tables, got {_describe(value)}")
        _length(key, value, where, "accounts")
        return [_account(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise AssertionError(key.kind)


# Characters XML 1.0 cannot carry (C0 controls but tab, LF and CR; U+FFFE, U+FFFF; lone surrogates).
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")

_MRR = Key("health.accounts.mrr", NUMBER, 0.0, "", 0, None)
_SCORES = Key("health.accounts.scores", NUMBERS, [], "", 0, 100, length=(SIGNALS, SIGNALS))
_NAME = Key("health.accounts.name", TEXT, "", "")


def _account(table: dict, where: str) -> dict:
    for name in table:
        if name not in _ACCOUNT_FIELDS:
            raise ScenarioError(f"{where}.{name}: unknown key (keys of an account: {', '.join(_ACCOUNT_FIELDS)})")
    for name in _ACCOUNT_FIELDS:
        if name not in table:
            raise ScenarioError(f"{where}.{name}: missing (an account needs {', '.join(_ACCOUNT_FIELDS)})")
    return {
        "name": _check(_NAME, table["name"], f"{where}.name"),
        "mrr": _check(_MRR, table["mrr"], f"{where}.mrr"),
        "potential_mrr": _check(_MRR, table["potential_mrr"], f"{where}.potential_mrr"),
        "scores": _check(_SCORES, table["scores"], f"{where}.scores"),
    }


def months_stayed(churn: float, horizon: int) -> float:
    """Expected months a customer pays within ``horizon`` months at monthly ``churn``.

    A customer pays month 1, is still there in month t+1 with probability (1 - churn)^t:
    sum over t = 0 .. horizon-1 of (1 - churn)^t = (1 - (1 - churn)^horizon) / churn, and the
    whole horizon when nobody churns. The workbook computes the same on its Scenarios sheet.

    >>> months_stayed(0.0, 36), round(months_stayed(0.3, 36), 4), months_stayed(1.0, 36)
    (36.0, 3.3333, 1.0)
    """
    if churn == 0:
        return float(horizon)
    return (1 - (1 - churn) ** horizon) / churn


def churn_for_months(months: float, horizon: int) -> float:
    """The monthly churn at which a customer stays ``months`` of ``horizon`` (1 <= months <= horizon).

    >>> round(churn_for_months(months_stayed(0.3, 36), 36), 12)
    0.3
    """
    if months >= horizon:
        return 0.0
    low, high = 0.0, 1.0  # months_stayed falls from horizon (churn 0) to 1 (churn 1)
    for _ in range(200):
        mid = (low + high) / 2
        if months_stayed(mid, horizon) > months:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def _stay_checks(sc: Scenario, given: set[str]) -> None:
    """One story: months stayed and churn are two views of one number, over the horizon."""
    horizon = int(sc["inputs.horizon_months"])
    for side in ("without", "with"):
        churn_key, months_key = f"inputs.churn_{side}", f"inputs.months_{side}"
        churn = sc[churn_key]
        if months_key not in given:
            sc.values[months_key] = months_stayed(churn, horizon)
            continue
        months = sc[months_key]
        if months > horizon:
            raise ScenarioError(
                f"{months_key}: must be at most inputs.horizon_months ({horizon}), the months counted, got {_fmt(months)}"
            )
        if churn_key in given:
            implied = months_stayed(churn, horizon)
            if abs(implied - months) > max(0.05, 0.01 * months):
                raise ScenarioError(
                    f"{months_key}: {_fmt(months)} months contradicts {churn_key} = {_fmt(churn)}, with which a"
                    f" customer stays {implied:.1f} of the {horizon} months; give one of the two"
                )
        else:
            sc.values[churn_key] = churn_for_months(months, horizon)


def _cross_checks(sc: Scenario, given: set[str]) -> None:
    _stay_checks(sc, given)
    if not any(w > 0 for w in sc["health.weights"]):
        raise ScenarioError(
            "health.weights: at least one weight must be above 0 (with all weights 0 no health score exists)"
        )
    if sc["health.red_below"] > sc["health.green_from"]:
        raise ScenarioError(
            f"health.green_from: must be at least health.red_below ({_fmt(sc['health.red_below'])}), "
            f"got {_fmt(sc['health.green_from'])}"
        )
    if sc["health.core_mrr"] > sc["health.vip_mrr"]:
        raise ScenarioError(
            f"health.core_mrr: must be at most health.vip_mrr ({_fmt(sc['health.vip_mrr'])}), "
            f"got {_fmt(sc['health.core_mrr'])}"
        )


# --------------------------------------------------------------------------- TOML out


def _toml_value(value) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _comment(lines: Iterable[str]) -> list[str]:
    return [f"# {line}".rstrip() for line in lines]


def default_toml() -> str:
    """The documented default scenario, as ``xlfuncs/templates/scenarios/onboarding-roi.toml`` holds it."""
    out = _comment(
        [
            "Default scenario of the onboarding-roi template:",
            "    xlfuncs generate onboarding-roi --print-scenario > my-numbers.toml",
            "    xlfuncs generate onboarding-roi -o onboarding.xlsx --scenario my-numbers.toml",
            "",
            "Copy this file and change the numbers. Every key is optional: a key left out keeps",
            "the value shown here. A wrong type or a value out of range stops `xlfuncs generate`",
            "with one line naming the key, and no workbook is written.",
            "",
            "The story: a customer buys one license. With poor onboarding 30 % of customers leave",
            "each month, so a customer stays 3.3 months on average and the acquisition cost eats",
            "the rest; with good onboarding 3 % leave a month, a customer stays 22.2 of the 36",
            "months counted (the horizon) and buys three more licenses at no new acquisition cost.",
            "Every figure of the workbook (months stayed, revenue, lifetime value, payback, the",
            "profit curve) follows from these churn rates over the horizon. Steve Blank's rule:",
            "lifetime value should be at least 3 times the acquisition cost, over a 3 to 5 year life.",
        ]
    )
    for section, doc in SECTIONS.items():
        out += ["", f"[{section}]"] + _comment(doc.splitlines())
        for key in KEYS:
            if key.section != section or key.kind == ACCOUNTS:
                continue
            rng = key.range_text()
            note = key.doc + (f" Allowed: {rng}." if rng and key.kind != TEXT else "")
            if key.default is None:  # an alternative to another key: its derived value, commented out
                out += _comment([note, f"{key.name} = {round(defaults()[key.path], 2)!r}"])
            else:
                out += _comment([note]) + [f"{key.name} = {_toml_value(key.default)}"]
    accounts = BY_PATH["health.accounts"]
    out += [""] + _comment(
        [
            "One [[health.accounts]] table per account (1 to 50): mrr and potential_mrr are",
            "monthly revenue, 0 or more; scores are the five signals in the order of",
            "health.weights, each from 0 to 100.",
        ]
    )
    for account in accounts.default:
        out += ["[[health.accounts]]"]
        out += [f"{name} = {_toml_value(account[name])}" for name in _ACCOUNT_FIELDS]
        out += [""]
    return "\n".join(out).rstrip() + "\n"
