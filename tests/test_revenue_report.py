"""`xlfuncs generate revenue-report` without LibreOffice: reconciliation, inputs, structure.

The reconciliation recomputes the report from the export with pandas, written here from
the definitions (active on the month's last day, new / expansion / reactivation /
contraction / churned, cohorts by first month with MRR), without calling xlfuncs.
The LibreOffice checks (PDF, the native oracle) are in test_revenue_report_office.py.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
import time
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from xlfuncs import registry
from xlfuncs.cli import app
from xlfuncs.templates import GenerateError, generate
from xlfuncs.templates import billing_export as bx
from xlfuncs.templates.report_words import WORDS
from xlfuncs.templates.revenue_report import ReportOptions

runner = CliRunner()


# ------------------------------------------------------------------ the pandas reference


def reference(frame: pd.DataFrame) -> dict:
    """The report's numbers from a frame of customer, start, end, amount, interval (months)."""
    df = frame.copy()
    df["key"] = df["customer"].map(lambda c: c.casefold() if isinstance(c, str) else c)
    df["start"] = pd.to_datetime(df["start"]).dt.normalize()
    df["end"] = pd.to_datetime(df["end"]).dt.normalize()
    df["mrr"] = df["amount"] / df["interval"]
    first = df["start"].min().to_period("M")
    last_day = max(df["start"].max(), (df["end"] - pd.Timedelta(days=1)).max())
    periods = pd.period_range(first, last_day.to_period("M"), freq="M")
    rows = []
    for period in periods:
        end_of_month = period.to_timestamp(how="end").normalize()
        active = (df["start"] <= end_of_month) & (df["end"].isna() | (df["end"] > end_of_month))
        rows.append(df[active].groupby("key")["mrr"].sum().rename(str(period)))
    table = pd.concat(rows, axis=1).reindex(df["key"].unique()).fillna(0.0)
    table = table.loc[sorted(table.index, key=lambda k: (isinstance(k, str), k))]
    mrr = table.to_numpy()
    steps = []
    for k in range(mrr.shape[1] - 1):
        a, b = mrr[:, k], mrr[:, k + 1]
        ever = (mrr[:, : k + 1] > 0).any(axis=1)
        start = (a == 0) & (b > 0)
        steps.append(
            {
                "start": a.sum(),
                "new": b[start & ~ever].sum(),
                "expansion": (b - a)[(a > 0) & (b > a)].sum(),
                "reactivation": b[start & ever].sum(),
                "contraction": (b - a)[(b > 0) & (b < a)].sum(),
                "churned": -a[(a > 0) & (b == 0)].sum(),
                "end": b.sum(),
                "c_start": float((a > 0).sum()),
                "c_new": float((start & ~ever).sum()),
                "c_react": float((start & ever).sum()),
                "c_churned": -float(((a > 0) & (b == 0)).sum()),
                "c_end": float((b > 0).sum()),
            }
        )
    bridge = pd.DataFrame(steps)
    bridge["net"] = bridge[["new", "expansion", "reactivation", "contraction", "churned"]].sum(axis=1)
    bridge["nrr"] = (bridge["start"] + bridge["expansion"] + bridge["contraction"] + bridge["churned"]) / bridge[
        "start"
    ]
    bridge["grr"] = (bridge["start"] + bridge["contraction"] + bridge["churned"]) / bridge["start"]
    bridge["logo_churn"] = -bridge["c_churned"] / bridge["c_start"]
    bridge["revenue_churn"] = -(bridge["contraction"] + bridge["churned"]) / bridge["start"]
    bridge["arpu"] = bridge["end"] / bridge["c_end"]
    active = mrr > 0
    cohort_of = np.where(active.any(axis=1), active.argmax(axis=1), -1)
    n = mrr.shape[1]
    customers = np.full((n, n), np.nan)
    revenue = np.full((n, n), np.nan)
    for c in range(n):
        members = cohort_of == c
        if not members.any():
            continue
        for age in range(n - c):
            customers[c, age] = active[members, c + age].sum() / members.sum()
            revenue[c, age] = mrr[members, c + age].sum() / mrr[members, c].sum()
    return {"table": table, "bridge": bridge, "customers": customers, "revenue": revenue, "months": n}


def frame_of(subs: bx.Subscriptions) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer": subs.customer,
            "start": subs.start,
            "end": [pd.NaT if e is None else e for e in subs.end],
            "amount": subs.amount,
            "interval": subs.interval,
        }
    )


# ------------------------------------------------------------------ reading the workbook


def sheet(wb, lang: str, key: str):
    return wb[WORDS[lang][f"rr.sheet.{key}"]]


BRIDGE_KEYS = (
    "month start new expansion reactivation contraction churned net end quick nrr grr "
    "c_start c_new c_react c_churned c_end logo_churn revenue_churn arpu"
).split()


def bridge_of(wb, lang: str) -> pd.DataFrame:
    ws = sheet(wb, lang, "bridge")
    heads = [WORDS[lang][f"rr.bridge.h.{k}"] for k in BRIDGE_KEYS]
    assert [c.value for c in ws[5][: len(heads)]] == heads
    rows = []
    r = 6
    while isinstance(ws.cell(r, 1).value, dt.datetime):
        rows.append([ws.cell(r, c + 1).value for c in range(len(BRIDGE_KEYS))])
        r += 1
    return pd.DataFrame(rows, columns=BRIDGE_KEYS)


def triangle(wb, lang: str, measure: str, months: int) -> np.ndarray:
    ws = sheet(wb, lang, "cohorts")
    title = WORDS[lang][f"rr.cohorts.{measure}"]
    (top,) = [c.row for c in ws["A"] if c.value == title]
    out = np.full((months, months), np.nan)
    for i in range(months):
        for j in range(months):
            value = ws.cell(top + 2 + i, 2 + j).value
            if value not in ("#N/A", "", None):
                out[i, j] = value
    return out


def close(a, b) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


@pytest.fixture(scope="module")
def sample_en(tmp_path_factory):
    path = tmp_path_factory.mktemp("rr") / "report.xlsx"
    made = generate("revenue-report", path)
    return made, openpyxl.load_workbook(path, data_only=True), openpyxl.load_workbook(path)


def check_reconciles(wb, lang: str, ref: dict) -> None:
    got = bridge_of(wb, lang)
    want = ref["bridge"]
    assert len(got) == len(want) == ref["months"] - 1
    for key in ("start", "new", "expansion", "reactivation", "contraction", "churned", "net", "end"):
        for k in range(len(want)):
            assert close(got[key][k], want[key][k]), (key, k, got[key][k], want[key][k])
    for key in (
        "c_start",
        "c_new",
        "c_react",
        "c_churned",
        "c_end",
        "nrr",
        "grr",
        "logo_churn",
        "revenue_churn",
        "arpu",
    ):
        for k in range(len(want)):
            assert close(got[key][k], want[key][k]), (key, k, got[key][k], want[key][k])
    for measure in ("customers", "revenue"):
        tri = triangle(wb, lang, measure, ref["months"])
        assert np.array_equal(np.isnan(tri), np.isnan(ref[measure])), measure
        mask = ~np.isnan(tri)
        assert np.allclose(tri[mask], ref[measure][mask], rtol=1e-9, atol=1e-12), measure
    # The MRR sheet: one row per customer in the contract's order, the right numbers.
    ws = sheet(wb, lang, "mrr")
    table = ref["table"]
    for i, key in enumerate(table.index[:50]):
        label = ws.cell(6 + i, 1).value
        assert (label.casefold() if isinstance(label, str) else label) == key
        for j in range(ref["months"]):
            assert close(ws.cell(6 + i, 2 + j).value, table.iloc[i, j])


def test_sample_reconciles_with_pandas(sample_en):
    made, wb, _ = sample_en
    ref = reference(frame_of(bx.sample()))
    check_reconciles(wb, "en", ref)
    summary = sheet(wb, "en", "summary")
    values = {row[0].value: row[1].value for row in summary.iter_rows(min_row=6, max_row=22, max_col=2)}
    last = ref["bridge"].iloc[-1]
    assert close(values["MRR"], last["end"]) and close(values["ARR"], 12 * last["end"])
    assert close(values["Net new MRR"], last["net"])
    assert close(values["Net revenue retention (month)"], last["nrr"])
    assert close(values["Logo churn (month)"], last["logo_churn"])
    churn6 = -ref["bridge"]["c_churned"][-6:].sum() / ref["bridge"]["c_start"][-6:].sum()
    assert close(values["Logo churn, trailing 6 months"], churn6)
    # The sample tells the story it should: growth, churn, expansion and win-backs happen.
    bridge = ref["bridge"]
    assert (bridge["reactivation"] > 0).sum() >= 3 and (bridge["contraction"] < 0).sum() >= 3
    assert bridge["end"].iloc[-1] > 10 * bridge["start"].iloc[0]
    assert 250 <= len(ref["table"]) <= 400 and ref["months"] == 30


def test_bridge_adds_up_every_month(sample_en):
    _, wb, _ = sample_en
    got = bridge_of(wb, "en")
    for k in range(len(got)):
        assert close(got["start"][k] + got["net"][k], got["end"][k])
        assert got["c_start"][k] + got["c_new"][k] + got["c_react"][k] + got["c_churned"][k] == got["c_end"][k]
        if k:
            assert close(got["start"][k], got["end"][k - 1])


def test_every_spill_is_a_dynamic_array_with_every_cell_cached(sample_en):
    made, values, formulas = sample_en
    with zipfile.ZipFile(made.path) as zf:
        names = zf.namelist()
        assert "xl/metadata.xml" in names
        assert b"XLDAPR" in zf.read("xl/metadata.xml")
        assert b"sheetMetadata" in zf.read("xl/_rels/workbook.xml.rels")
        anchors = 0
        for name in names:
            if name.startswith("xl/worksheets/sheet"):
                xml = zf.read(name).decode()
                arrays = re.findall(r'<c r="([A-Z]+\d+)"([^>]*)><f t="array" ref="([A-Z0-9:]+)"', xml)
                for anchor, attrs, _ in arrays:
                    assert 'cm="1"' in attrs, (name, anchor)
                    anchors += 1
    assert anchors == 1 + 2 + 3 + 1  # MRR_FROM_SUBS, MRR_MOVEMENTS + CUSTOMER_COUNTS, 3 cohort tables, SBG_FIT
    for ws in formulas.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, openpyxl.worksheet.formula.ArrayFormula):
                    text = cell.value.text
                    assert "{" not in text and "@" not in text
                    for line in values[ws.title][cell.value.ref]:
                        for member in line:
                            key = (ws.title, member.coordinate)
                            assert key in made.values
                            assert member.value is not None or made.values[key] == "", key


def test_every_formula_cell_has_a_cached_value_and_formulas_not_numbers(sample_en):
    made, values, formulas = sample_en
    seen = 0
    for ws in formulas.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                v = cell.value
                if isinstance(v, openpyxl.worksheet.formula.ArrayFormula) or (isinstance(v, str) and v.startswith("=")):
                    seen += 1
                    # Empty text ("" for months not reached) reads back as None, as from Excel.
                    cached = values[ws.title][cell.coordinate].value
                    assert cached is not None or made.values[(ws.title, cell.coordinate)] == ""
    assert seen == made.formula_cells > 1500
    texts = " ".join(made.formulas.values())
    for name in ("MRR_FROM_SUBS", "MRR_MOVEMENTS", "CUSTOMER_COUNTS", "COHORT_RETENTION", "SBG_FIT", "SBG_CLV"):
        assert name + "(" in texts
    for name in ("SEGMENT", "HEALTH_SCORE", "HEALTH_STATUS", "CAC", "LTV_CAC", "PAYBACK", "NRR", "GRR"):
        assert name + "(" in texts


def test_native_edition_uses_built_ins_only(tmp_path):
    made = generate("revenue-report", tmp_path / "native.xlsx", native=True)
    ours = re.compile(r"\b(" + "|".join(registry.FUNCTIONS) + r")\(")
    assert not [t for t in made.formulas.values() if ours.search(t)]
    wb = openpyxl.load_workbook(made.path)
    ws = wb[WORDS["en"]["rr.sheet.ltv"]]
    notes = [c for row in ws.iter_rows() for c in row if c.comment is not None]
    assert any("SBG_FIT" in c.comment.text for c in notes)
    mrr = wb[WORDS["en"]["rr.sheet.mrr"]]
    assert mrr["B6"].value.startswith("=SUMPRODUCT(")
    assert made.formula_cells > 10000


def test_spanish_edition_and_currency(tmp_path):
    made = generate("revenue-report", tmp_path / "es.xlsx", lang="es", report=ReportOptions(currency="€"))
    wb = openpyxl.load_workbook(made.path, data_only=True)
    assert wb.sheetnames[:2] == ["Resumen", "Puente MRR"]
    ws = wb["Clientes"]
    statuses = {ws.cell(r, 13).value for r in range(11, ws.max_row + 1)}
    assert statuses <= {"rojo", "amarillo", "verde", "–"} and len(statuses & {"rojo", "verde"}) == 2
    segments = {ws.cell(r, 6).value for r in range(11, ws.max_row + 1)}
    assert segments <= {"VIP", "potencial", "principal", "secundario"} and len(segments) >= 3
    formats = {c.number_format for row in wb["Resumen"].iter_rows() for c in row}
    assert any('"€"' in f for f in formats)
    assert WORDS["en"].keys() == WORDS["es"].keys()
    ref = reference(frame_of(bx.sample()))
    check_reconciles(wb, "es", ref)


# ------------------------------------------------------------------ --data


def _variant_csv(path: Path) -> Path:
    """The sample written like another billing system: other names, ; separated, d/m/Y dates,
    amounts with a currency sign and a decimal comma, intervals as numbers."""
    rows = bx.sample_rows(customers=120, seed=3)
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle, delimiter=";")
        out.writerow(["customer_id", "plan_id", "Started At", "Cancelled At", "Plan Amount", "billing_period_unit"])
        for _, cid, plan, _, amount, interval, created, ended in rows:
            d = dt.date.fromisoformat(created[:10])
            e = "" if not ended else dt.date.fromisoformat(ended[:10]).strftime("%d/%m/%Y")
            value = float(amount.replace(",", ""))
            euro = f"{value:,.2f} €".replace(",", "X").replace(".", ",").replace("X", ".")
            out.writerow([cid.upper() if len(cid) % 2 else cid, plan, d.strftime("%d/%m/%Y"), e, euro, interval])
    return path


def test_data_path_reconciles_with_pandas(tmp_path):
    data = _variant_csv(tmp_path / "chargebee.csv")
    result = runner.invoke(
        app,
        [
            "generate",
            "revenue-report",
            "-o",
            str(tmp_path / "r.xlsx"),
            "--data",
            str(data),
            "--date-format",
            "%d/%m/%Y",
        ],
    )
    assert result.exit_code == 0, result.output
    subs = bx.load(data, date_format="%d/%m/%Y")
    assert len(subs) > 150 and max(subs.amount) > 1000  # thousands separators were read
    wb = openpyxl.load_workbook(tmp_path / "r.xlsx", data_only=True)
    check_reconciles(wb, "en", reference(frame_of(subs)))


def test_data_from_xlsx_with_map(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Cliente", "Alta", "Baja", "Cuota", "Meses"])
    ws.append([101, dt.datetime(2024, 1, 15), None, 1200, 12])
    ws.append(["b-7", dt.datetime(2024, 1, 3), dt.datetime(2024, 3, 3), 90, 1])
    ws.append(["B-7", dt.datetime(2024, 4, 1), None, 120, 1])
    ws.append([None, None, None, None, None])
    ws.append(["c", dt.datetime(2024, 2, 10), None, 300, 3])
    wb.save(tmp_path / "subs.xlsx")
    out = tmp_path / "r.xlsx"
    made = generate(
        "revenue-report",
        out,
        report=ReportOptions(
            data=tmp_path / "subs.xlsx",
            mapping=(("start", "Alta"), ("end", "Baja"), ("amount", "Cuota"), ("interval", "Meses")),
        ),
    )
    values = openpyxl.load_workbook(made.path, data_only=True)
    mrr = values["MRR"]
    assert [mrr.cell(r, 1).value for r in (6, 7, 8)] == [101, "b-7", "c"]
    assert [mrr.cell(6, c).value for c in (2, 3, 4, 5)] == [100, 100, 100, 100]
    assert [mrr.cell(7, c).value for c in (2, 3, 4, 5)] == [90, 90, 0, 120]
    assert [mrr.cell(8, c).value for c in (2, 3, 4, 5)] == [0, 100, 100, 100]
    bridge = bridge_of(values, "en")
    assert list(bridge["reactivation"]) == [0, 0, 120] and list(bridge["churned"]) == [0, -90, 0]


BAD = [
    ("Customer ID,Created (UTC),Amount\nA,2024-01-05,100\nB,2024-13-01,50\n", ["row 3, column 'Created (UTC)'"]),
    ("Customer ID,Created (UTC),Amount\nA,2024-01-05,-100\n", ["row 2, column 'Amount'", "negative"]),
    ("Customer ID,Created (UTC),Amount\nA,2024-01-05,12abc\n", ["row 2, column 'Amount'", "not an amount"]),
    (
        "Customer ID,Created (UTC),Ended At (UTC),Amount\nA,2024-03-05,2024-01-01,10\n",
        ["row 2, column 'Ended At (UTC)'", "before"],
    ),
    ("Customer ID,Created (UTC),Amount,Interval\nA,2024-01-05,10,fortnight\n", ["row 2, column 'Interval'"]),
    ("Customer ID,Created (UTC),Amount,Interval\nA,2024-01-05,10,0\n", ["row 2, column 'Interval'"]),
    ("Customer ID,Created (UTC),Amount\n,2024-01-05,10\n", ["row 2, column 'Customer ID'", "empty"]),
    ("Customer ID,Created (UTC),Amount\nA,,10\n", ["row 2, column 'Created (UTC)'", "empty"]),
    ("Customer,When,Amount\nA,2024-01-05,10\n", ["no start column", "--map start="]),
    ("Customer ID,Created (UTC),Amount\n", ["no subscriptions"]),
    ("", ["empty"]),
    ("Customer ID,Created (UTC),Amount\nA,2024-01-05,10\n", ["one month"]),
]


@pytest.mark.parametrize("text,words", BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_bad_export_is_one_line_per_row_and_writes_nothing(tmp_path, text, words):
    data = tmp_path / "subs.csv"
    data.write_text(text)
    out = tmp_path / "r.xlsx"
    result = runner.invoke(app, ["generate", "revenue-report", "-o", str(out), "--data", str(data)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: ") and str(data) in lines[0]
    for word in words:
        assert word in lines[0], lines[0]
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == [data]


def test_every_bad_row_gets_its_line(tmp_path):
    data = tmp_path / "subs.csv"
    data.write_text(
        "Customer ID,Created (UTC),Amount\nA,2024-01-05,1\nB,x,1\nC,2024-01-05,y\nD,2024-02-30,1\nE,2024-02-01,2\n"
    )
    result = runner.invoke(app, ["generate", "revenue-report", "-o", str(tmp_path / "r.xlsx"), "--data", str(data)])
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 3
    assert [re.search(r"row (\d+)", line).group(1) for line in lines] == ["3", "4", "5"]
    assert not (tmp_path / "r.xlsx").exists()


@pytest.mark.parametrize(
    "args,words",
    [
        (["--map", "customer"], "write field=column"),
        (["--map", "colour=Red"], "unknown field"),
        (["--map", 'customer="Client No"'], "no such column"),
        (["--data", "missing.csv"], "no such file"),
        (["--data", "subs.txt.gz"], "give a .csv or .xlsx"),
        (["--data", "fake.xlsx"], "not a readable xlsx"),
        (["--currency", "EUROS"], "--currency"),
        (["--cac-spend", "spend.csv"], "row 3, column 'spend'"),
    ],
)
def test_bad_options(tmp_path, monkeypatch, args, words):
    monkeypatch.chdir(tmp_path)
    bx.write_sample_csv(tmp_path / "subs.csv", customers=30)
    (tmp_path / "subs.txt.gz").write_bytes(b"\x1f\x8b")
    (tmp_path / "fake.xlsx").write_text("not a zip")
    (tmp_path / "spend.csv").write_text("month,spend\n2024-01,1000\n2024-02,lots\n")
    if "--data" not in args:
        args = ["--data", "subs.csv", *args]
    result = runner.invoke(app, ["generate", "revenue-report", "-o", "r.xlsx", *args])
    assert result.exit_code == 2, result.output
    assert words in result.output and "Traceback" not in result.output
    assert not (tmp_path / "r.xlsx").exists()


def test_cac_spend_file_feeds_the_spend_row(tmp_path):
    bx.write_sample_csv(tmp_path / "subs.csv", customers=60)
    spend = tmp_path / "spend.csv"
    spend.write_text("Month,Spend\n" + "".join(f'2025-{m:02d},"$10,{m:03d}"\n' for m in range(1, 13)))
    made = generate(
        "revenue-report", tmp_path / "r.xlsx", report=ReportOptions(data=tmp_path / "subs.csv", cac_spend=spend)
    )
    wb = openpyxl.load_workbook(made.path, data_only=True)
    ws = wb["Lifetime value"]
    heads = [ws.cell(r, 1).value for r in range(11, 23)]
    row = [ws.cell(r, 2).value for r in range(11, 23)]
    assert all(isinstance(h, dt.datetime) for h in heads)
    for head, value in zip(heads, row):
        if head.year == 2025:
            assert value == 10000 + head.month
        else:
            assert value is None


def test_template_options_are_checked(tmp_path):
    with pytest.raises(GenerateError, match="takes no --data"):
        generate("onboarding-roi", tmp_path / "a.xlsx", report=ReportOptions(data=tmp_path / "x.csv"))
    with pytest.raises(GenerateError, match="takes no --scenario"):
        generate("revenue-report", tmp_path / "a.xlsx", scenario=tmp_path / "x.toml")
    assert not list(tmp_path.iterdir())


def test_amounts_dates_and_headers():
    assert bx.parse_amount("$1,234.50") == 1234.5
    assert bx.parse_amount("1.234,50 €") == 1234.5
    assert bx.parse_amount("1 234") == 1234
    assert bx.parse_amount("12,5") == 12.5
    assert bx.parse_amount("EUR 99") == 99
    assert bx.parse_amount("1,234,567") == 1234567
    assert bx.normalise("Ended At (UTC)") == "ended at"
    assert bx.normalise("subscription[customer_id]") == "subscription customer id"
    assert bx.parse_map(['customer="Customer ID",start=Created (UTC)', "end=Ends"]) == {
        "customer": "Customer ID",
        "start": "Created (UTC)",
        "end": "Ends",
    }


def test_stripe_export_names_prefer_ended_at(tmp_path):
    data = tmp_path / "stripe.csv"
    data.write_text(
        "id,Customer ID,Created (UTC),Canceled At (UTC),Ended At (UTC),Amount,Interval,Interval Count\n"
        "sub_1,cus_A,2024-01-05 10:00:00,2024-02-01 00:00:00,,20.00,month,1\n"
        "sub_2,cus_B,2024-01-05T10:00:00Z,2024-02-01,2024-03-05,600.00,month,6\n"
    )
    subs = bx.load(data)
    assert subs.end == [None, dt.date(2024, 3, 5)]
    assert subs.interval == [1.0, 6.0]
    assert subs.start == [dt.date(2024, 1, 5)] * 2


def test_hundred_thousand_rows_load_in_seconds(tmp_path):
    data = tmp_path / "big.csv"
    rows = bx.sample_rows(customers=320)
    with data.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(bx.SAMPLE_COLUMNS)
        for k in range(100_000):
            row = list(rows[k % len(rows)])
            row[1] = f"{row[1]}-{k // len(rows)}"
            out.writerow(row)
    started = time.perf_counter()
    subs = bx.load(data)
    assert len(subs) == 100_000
    assert time.perf_counter() - started < 10
