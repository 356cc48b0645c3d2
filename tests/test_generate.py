"""`xlfuncs generate` without LibreOffice: structure, values, scenarios, the command line.

The LibreOffice checks (PDF, the native-twin oracle, rendering) are in
test_generate_office.py.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from xlfuncs import registry
from xlfuncs.cli import app
from xlfuncs.errors import ExcelError
from xlfuncs.templates import TEMPLATES, GenerateError, generate
from xlfuncs.templates import expr as E
from xlfuncs.templates.i18n import LANGUAGES, STRINGS
from xlfuncs.templates.scenario import KEYS, ScenarioError, default_toml, defaults, load, months_stayed

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TOML = ROOT / "xlfuncs" / "templates" / "scenarios" / "onboarding-roi.toml"
# The scenario-driven templates; revenue-report (fed by a billing export) has its own tests
# in test_revenue_report*.py.
SCENARIO_TEMPLATES = [name for name, spec in TEMPLATES.items() if not spec.report]
EDITIONS = [(t, lang, native) for t in SCENARIO_TEMPLATES for lang in LANGUAGES for native in (False, True)]
# months_* are the scenario file's alternative to churn_*: the workbook derives the stay from churn.
INPUT_NAMES = [k.name for k in KEYS if k.section == "inputs" and not k.name.startswith("months_")]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Every template x language x edition, generated once for the module."""
    folder = tmp_path_factory.mktemp("editions")
    out = {}
    for template, lang, native in EDITIONS:
        path = folder / f"{template}-{lang}-{'native' if native else 'udf'}.xlsx"
        out[(template, lang, native)] = generate(template, path, lang=lang, native=native)
    return out


def _sheet(lang: str, key: str) -> str:
    return STRINGS[lang][f"sheet.{key}"]


# ----------------------------------------------------------------------------- builds


@pytest.mark.parametrize("edition", EDITIONS, ids=lambda e: f"{e[0]}-{e[1]}-{'native' if e[2] else 'udf'}")
def test_every_edition_builds_with_a_cached_value_in_every_formula_cell(built, edition):
    made = built[edition]
    assert made.path.exists() and made.formula_cells > 250
    formulas = openpyxl.load_workbook(made.path)
    values = openpyxl.load_workbook(made.path, data_only=True)
    seen = 0
    for ws in formulas.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    seen += 1
                    cached = values[ws.title][cell.coordinate].value
                    # What pandas.read_excel and previews show: a value, never a blank.
                    assert cached is not None, f"{ws.title}!{cell.coordinate} has no cached value"
                    expected = made.values[(ws.title, cell.coordinate)]
                    if isinstance(expected, float):
                        assert cached == pytest.approx(expected, rel=1e-12, abs=1e-12)
                    else:
                        assert str(cached) == str(expected)
    assert seen == made.formula_cells


def test_native_twin_calls_no_xlfuncs_function_and_the_udf_edition_does(built):
    ours = re.compile(r"\b(" + "|".join(registry.FUNCTIONS) + r")\(")
    for lang in LANGUAGES:
        native = built[("onboarding-roi", lang, True)]
        udf = built[("onboarding-roi", lang, False)]
        assert not [t for t in native.formulas.values() if ours.search(t)]
        called = {m for t in udf.formulas.values() for m in ours.findall(t)}
        assert called == {
            "CLV",
            "LTV_CAC",
            "PAYBACK",
            "ONBOARDING_ROI",
            "TTFV",
            "HEALTH_SCORE",
            "HEALTH_STATUS",
            "SEGMENT",
        }
        # Same cells, same values: only the spelling of the formulas differs.
        assert udf.formulas.keys() == native.formulas.keys()
        assert {k: str(udf.values[k]) for k in udf.formulas} == {k: str(native.values[k]) for k in native.formulas}


def test_native_formulas_come_from_the_registry(built):
    made = built[("onboarding-roi", "en", True)]
    scen = _sheet("en", "scenarios")
    clv = registry.native_formula("CLV", "C6", "C7", "gross_margin", "discount_monthly", "horizon_months")
    assert made.formulas[(scen, "C11")] == clv
    health = _sheet("en", "health")
    assert made.formulas[(health, "I11")] == registry.native_formula("HEALTH_SCORE", "D11:H11", "$D$10:$H$10")


def test_inputs_are_named_validated_unlocked_and_formulas_locked(built):
    made = built[("onboarding-roi", "en", False)]
    wb = openpyxl.load_workbook(made.path)
    inputs = wb[_sheet("en", "inputs")]
    sc = defaults()
    validated = set()
    for dv in inputs.data_validations.dataValidation:
        assert dv.showInputMessage and dv.prompt and dv.promptTitle and dv.showErrorMessage
        validated |= {str(r) for r in dv.sqref.ranges}
    for name in INPUT_NAMES:
        dn = wb.defined_names[name]
        ((sheet, coord),) = list(dn.destinations)
        assert sheet == inputs.title
        cell = inputs[coord.replace("$", "")]
        assert cell.value == sc[f"inputs.{name}"]
        assert cell.protection.locked is False
        assert cell.coordinate in validated
        assert cell.fill.start_color.rgb.endswith("FFF2CC")  # visibly an input
    for ws in wb.worksheets:
        assert ws.protection.sheet, ws.title
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    assert cell.protection.locked, f"{ws.title}!{cell.coordinate}"


def test_print_setup(built):
    wb = openpyxl.load_workbook(built[("onboarding-roi", "es", False)].path)
    for ws in wb.worksheets:
        assert ws.page_setup.orientation == "landscape"
        assert ws.page_setup.fitToWidth == 1 and ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws.oddFooter.right.text == "Página &P de &N"
    assert wb[_sheet("es", "scenarios")].print_title_rows == "$4:$4"
    assert len(wb[_sheet("es", "scenarios")]._charts) == 2


def test_spanish_translates_words_not_functions(built):
    en = built[("onboarding-roi", "en", False)]
    es = built[("onboarding-roi", "es", False)]
    wb = openpyxl.load_workbook(es.path)
    assert wb.sheetnames == [
        STRINGS["es"][f"sheet.{k}"] for k in ("inputs", "scenarios", "sensitivity", "checklist", "health", "charts")
    ]
    scen = wb[_sheet("es", "scenarios")]
    assert scen["A11"].value == "Valor de vida del cliente (CLV, descontado)"
    assert scen["B11"].value == "=CLV(B6,B7,gross_margin,discount_monthly,horizon_months)"
    # Same formulas cell by cell once the sheet names are mapped and texts ("PASS") set aside.
    rename = {STRINGS["en"][k]: v for k, v in STRINGS["es"].items() if k.startswith("sheet.")}
    literal = re.compile(r'"(?:[^"]|"")*"')
    health = _sheet("es", "health")
    for (sheet, coord), text in en.formulas.items():
        if sheet == _sheet("en", "health") and coord[0] in "JK":
            continue  # status and segment: mapped to Spanish words, checked below
        translated = text
        for old, new in rename.items():
            translated = translated.replace(f"'{old}'!", f"'{new}'!")
        assert literal.sub('""', es.formulas[(rename[sheet], coord)]) == literal.sub('""', translated)
    assert set(STRINGS["en"]) == set(STRINGS["es"])
    # HEALTH_STATUS and SEGMENT keep their English contract; the Spanish sheet shows words.
    status = es.formulas[(health, "J11")]
    assert status.count("HEALTH_STATUS(") == 4 and '"red","rojo"' in status.replace("=", ",")
    values = openpyxl.load_workbook(es.path, data_only=True)[health]
    assert [values[f"J{r}"].value for r in range(11, 17)] == ["verde", "amarillo", "rojo", "amarillo", "verde", "rojo"]
    assert [values[f"K{r}"].value for r in range(11, 17)] == [
        "VIP",
        "potencial",
        "principal",
        "VIP",
        "secundario",
        "principal",
    ]
    # Natural Spanish: no English "churn" in anything a reader sees.
    assert not [k for k, v in STRINGS["es"].items() if "churn" in v.lower()]


def test_native_edition_says_it_needs_no_add_in(built):
    for lang in LANGUAGES:
        for native in (False, True):
            wb = openpyxl.load_workbook(built[("onboarding-roi", lang, native)].path)
            texts = [c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
            texts = [t for t in texts if not t.startswith("=")]
            add_in = [t for t in texts if "xlfuncs" in t and ("add-in" in t or "complemento" in t or "funcion" in t)]
            no_add_in = [t for t in texts if "needs no add-in" in t or "no necesita ningún complemento" in t]
            if native:
                assert add_in == [] and len(no_add_in) == 2, (lang, add_in, no_add_in)  # Inputs and Scenarios
            else:
                assert add_in and no_add_in == [], (lang, add_in)


# ------------------------------------------------------------------ the default's figures


def test_default_scenario_key_figures_by_hand(built):
    """The default story, computed here from the inputs with plain sums, not the library."""
    made = built[("onboarding-roi", "en", False)]
    wb = openpyxl.load_workbook(made.path, data_only=True)
    scen = wb["Scenarios"]
    col = {"without": "B", "with": "C"}

    d = 1.10 ** (1 / 12) - 1  # 10 % a year, monthly
    margin, horizon = 0.8, 36

    def clv(arpu, churn):
        q = (1 - churn) / (1 + d)  # retained and discounted, payments at the start of a month
        return sum(arpu * margin * q**t for t in range(horizon))

    def stay(churn):  # expected months paid: month t+1 is paid with probability (1 - churn)^t
        return sum((1 - churn) ** t for t in range(horizon))

    hand = {
        "without": {"licenses": 1, "arpu": 50.0, "months": stay(0.30), "upfront": 400.0},
        "with": {"licenses": 4, "arpu": 200.0, "months": stay(0.03), "upfront": 650.0},
    }
    for side, churn in (("without", 0.30), ("with", 0.03)):
        h = hand[side]
        h["revenue"] = h["arpu"] * h["months"]
        h["gross"] = h["revenue"] * margin
        h["clv"] = clv(h["arpu"], churn)
        h["profit"] = h["clv"] - h["upfront"]  # one story: the profit is where the curve ends
    rows = {"licenses": 5, "arpu": 6, "months": 8, "revenue": 9, "gross": 10, "clv": 11, "upfront": 12, "profit": 13}
    for side, figures in hand.items():
        for key, value in figures.items():
            assert scen[f"{col[side]}{rows[key]}"].value == pytest.approx(value, rel=1e-12), (side, key)
    assert hand["without"]["months"] == pytest.approx(3.3333, abs=1e-4)
    assert hand["with"]["months"] == pytest.approx(22.1991, abs=1e-4)
    assert hand["without"]["clv"] == pytest.approx(130.9165, abs=1e-4)
    assert hand["with"]["clv"] == pytest.approx(3181.1670, abs=1e-4)
    # The discounted lifetime value is below the undiscounted gross profit of the same stay.
    assert hand["with"]["clv"] < hand["with"]["gross"]
    # A customer that fails the 3:1 rule here also loses money, and the one that passes earns.
    assert hand["without"]["profit"] < 0 < hand["with"]["profit"]

    ltv_cac_without = hand["without"]["clv"] / 400
    ltv_cac_with = hand["with"]["clv"] / 650
    assert scen["B14"].value == pytest.approx(ltv_cac_without, rel=1e-12)  # 0.33: fails 3:1
    assert scen["C14"].value == pytest.approx(ltv_cac_with, rel=1e-12)  # 4.89: passes
    assert (scen["B15"].value, scen["C15"].value) == ("FAIL", "PASS")

    # Payback: the first month count n where the retained, discounted margin reaches the
    # upfront cost. Without onboarding it never does: the whole infinite stream is worth
    # 40 / (1 - q) = 131.6 < 400.
    q_without = 0.7 / (1 + d)
    assert 40 / (1 - q_without) < 400
    assert scen["B16"].value == "never"
    q = 0.97 / (1 + d)
    m = 160.0
    n = math.log(1 - 650 * (1 - q) / m) / math.log(q)
    assert 4 < n < 5
    cumulative = lambda k: sum(m * q**t for t in range(k))  # noqa: E731
    assert cumulative(4) < 650 < cumulative(5)  # the closed form agrees with the sum
    assert scen["C16"].value == pytest.approx(n, rel=1e-12)

    roi = (hand["with"]["clv"] - hand["without"]["clv"] - 250) / 250
    assert roi == pytest.approx(11.2010, abs=1e-4)
    assert scen["C17"].value == pytest.approx(roi, rel=1e-12)

    check = wb["Onboarding checklist"]
    assert [check[f"G{r}"].value for r in range(9, 15)] == [2, 6, 12, 24, 44, 57]
    assert [check[f"H{r}"].value for r in range(9, 15)] == ["on time"] * 3 + ["late", "on time", "on time"]
    assert check["C16"].value == 57 and check["C18"].value == "within target"

    health = wb["Health"]
    weights = [30, 25, 15, 15, 15]
    acme = [92, 85, 70, 80, 100]
    assert health["I11"].value == pytest.approx(sum(s * w for s, w in zip(acme, weights)) / 100)  # 86.35
    assert [health[f"J{r}"].value for r in range(11, 17)] == ["green", "yellow", "red", "yellow", "green", "red"]
    assert [health[f"K{r}"].value for r in range(11, 17)] == ["VIP", "potential", "core", "VIP", "non-core", "core"]

    data = wb["Chart data"]
    assert data["C5"].value == -650  # month 0: only the upfront cost
    assert data["C6"].value == pytest.approx(-650 + m)  # one payment in
    assert data["C41"].value == pytest.approx(hand["with"]["clv"] - 650)  # month 36
    assert data["C41"].value == pytest.approx(scen["C13"].value)  # the curve ends at the profit row
    assert openpyxl.load_workbook(made.path)["Chart data"].sheet_state == "hidden"  # off the printout
    assert (
        data["A42"].value
        == "Months 0 to 36, the horizon; with a shorter horizon the later months show #N/A (not charted)."
    )
    errors = [c.coordinate for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value == "#N/A"]
    assert errors == []  # a clean workbook: `xlfuncs recalc --check` passes it


# --------------------------------------------------------------------------- scenarios


def test_default_toml_file_is_the_builtin_default():
    assert DEFAULT_TOML.read_text(encoding="utf-8") == default_toml(), (
        "regenerate xlfuncs/templates/scenarios/onboarding-roi.toml from xlfuncs.templates.scenario.default_toml()"
    )
    assert load(DEFAULT_TOML).values == defaults().values


def test_a_scenario_changes_the_workbook(tmp_path):
    toml = tmp_path / "mine.toml"
    toml.write_text(
        '[workbook]\ncurrency = "€"\ncompany = "ACME"\n'
        "[inputs]\nhorizon_months = 60\nchurn_with = 0.0\ndiscount_rate = 0.0\nextra_licenses = 0\n"
        "[checklist]\ndone_days = [1, 2]\nstart_date = 2026-01-05\n"
        '[[health.accounts]]\nname = "Solo"\nmrr = 10\npotential_mrr = 20\nscores = [1, 2, 3, 4, 5]\n'
    )
    made = generate("onboarding-roi", tmp_path / "mine.xlsx", scenario=toml, lang="es")
    wb = openpyxl.load_workbook(made.path, data_only=True)
    scen = wb["Escenarios"]
    # No churn and no discount: CLV is margin x revenue x months, exactly.
    assert scen["C11"].value == pytest.approx(50 * 0.8 * 60)
    assert scen["C8"].value == 60  # no churn: the customer stays the whole horizon
    assert "€" in openpyxl.load_workbook(made.path)["Escenarios"]["C11"].number_format
    check = wb["Lista de onboarding"]
    assert check["C5"].value == dt.datetime(2026, 1, 5)
    assert (check["G9"].value, check["G10"].value, check["G11"].value) == (1, 2, "#N/A")
    assert check["H11"].value == "pendiente" and check["C18"].value == "aún no alcanzado"
    assert wb["Salud"]["A11"].value == "Solo" and wb["Salud"]["A12"].value is None
    assert wb["Datos de gráficos"]["B65"].value != "#N/A"  # month 60 is inside the horizon


BAD_SCENARIOS = [
    ("[inputs]\ngross_margin = 1.5\n", "inputs.gross_margin", "above 0 and at most 1, got 1.5"),
    ('[inputs]\nacquisition_cost = "lots"\n', "inputs.acquisition_cost", "got the text 'lots'"),
    ("[inputs]\nhorizon_months = 36.5\n", "inputs.horizon_months", "whole number"),
    ("[inputs]\nhorizon_months = 120\n", "inputs.horizon_months", "from 12 to 60"),
    ("[inputs]\nchurn_with = true\n", "inputs.churn_with", "got the logical true"),
    ("[inputs]\ncac = 500\n", "inputs.cac", "unknown key"),
    ("[pricing]\nx = 1\n", "[pricing]", "unknown section"),
    ('[checklist]\nstart_date = "March"\n', "checklist.start_date", "must be a date"),
    ("[checklist]\ntarget_days = [1, 2]\n", "checklist.target_days", "must have 6 numbers, got 2"),
    ("[health]\nweights = [1, 2, 3, 4, -5]\n", "health.weights[4]", "0 or more, got -5"),
    ("[health]\nred_below = 80\n", "health.green_from", "at least health.red_below"),
    (
        '[[health.accounts]]\nname = "A"\nmrr = 1\npotential_mrr = 1\nscores = [1, 2, 3, 4, 500]\n',
        "health.accounts[0].scores[4]",
        "from 0 to 100",
    ),
    ('[[health.accounts]]\nname = "A"\nmrr = 1\n', "health.accounts[0].potential_mrr", "missing"),
    ("[inputs\n", "not valid TOML", ""),
    # One story: a stay that contradicts the churn (nobody leaves, yet 3 months) is refused.
    (
        "[inputs]\nchurn_without = 0\nmonths_without = 3\n",
        "inputs.months_without",
        "3 months contradicts inputs.churn_without = 0, with which a customer stays 36.0 of the 36 months",
    ),
    ("[inputs]\nmonths_with = 48\n", "inputs.months_with", "at most inputs.horizon_months (36)"),
    ("[health]\nweights = [0, 0, 0, 0, 0]\n", "health.weights", "at least one weight must be above 0"),
    ('[checklist]\ncustomer = "Bell\\u0007Co"\n', "checklist.customer", "control character U+0007"),
    ('[workbook]\ncompany = "A\\u0000"\n', "workbook.company", "control character U+0000"),
]


@pytest.mark.parametrize("text,key,words", BAD_SCENARIOS, ids=[b[1] for b in BAD_SCENARIOS])
def test_bad_scenario_is_one_line_naming_the_key_and_writes_nothing(tmp_path, text, key, words):
    toml = tmp_path / "bad.toml"
    toml.write_text(text)
    out = tmp_path / "out.xlsx"
    result = CliRunner().invoke(app, ["generate", "onboarding-roi", "-o", str(out), "--scenario", str(toml)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and key in lines[0] and words in lines[0]
    assert "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]  # no output, no temp file


def test_months_stayed_and_churn_are_one_story(tmp_path):
    # Months alone: the churn is derived from them, and the workbook shows that stay.
    toml = tmp_path / "months.toml"
    toml.write_text("[inputs]\nmonths_without = 6\nhorizon_months = 24\n")
    sc = load(toml)
    assert months_stayed(sc["inputs.churn_without"], 24) == pytest.approx(6, rel=1e-9)
    made = generate("onboarding-roi", tmp_path / "m.xlsx", scenario=toml)
    scen = openpyxl.load_workbook(made.path, data_only=True)["Scenarios"]
    assert scen["B8"].value == pytest.approx(6, rel=1e-9) and scen["A8"].value == "Months the customer stays (of 24)"
    # Both, agreeing: accepted; the default's churn gives 3.3 months.
    agree = tmp_path / "agree.toml"
    agree.write_text("[inputs]\nchurn_without = 0.3\nmonths_without = 3.33\n")
    assert load(agree)["inputs.churn_without"] == 0.3
    assert defaults()["inputs.months_with"] == pytest.approx(22.199, abs=1e-3)


def test_scenario_text_is_never_a_formula(tmp_path):
    toml = tmp_path / "inject.toml"
    toml.write_text(
        '[workbook]\ncompany = "=cmd|\' /C calc\'!A0"\n[checklist]\ncustomer = "=HYPERLINK(\\"http://x\\")"\n'
        + "".join(
            f'[[health.accounts]]\nname = "{name}"\nmrr = 1\npotential_mrr = 1\nscores = [1, 2, 3, 4, 5]\n'
            for name in ("+1+1", "-2+3", "@SUM(A1)", "=1+1")
        )
    )
    made = generate("onboarding-roi", tmp_path / "i.xlsx", scenario=toml)
    wb = openpyxl.load_workbook(made.path)
    cells = [wb["Onboarding checklist"]["C4"]] + [wb["Health"][f"A{r}"] for r in range(11, 15)]
    assert [c.value for c in cells] == ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "=1+1"]
    assert all(c.data_type == "s" for c in cells)  # text, not a formula
    assert (made.path.parent / "i.xlsx").exists() and ("Onboarding checklist", "C4") not in made.formulas
    with zipfile.ZipFile(made.path) as z:
        sheets = "".join(z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/sheet"))
    assert "<f>=" not in sheets and "<f>HYPERLINK" not in sheets and "<f>1+1" not in sheets


def test_scenario_errors_from_the_api():
    with pytest.raises(ScenarioError, match=r"^nope\.toml: no such scenario file$"):
        load("nope.toml")


# ------------------------------------------------------------------------- command line


def test_cli_list_generate_refuse_overwrite_force(tmp_path):
    runner = CliRunner()
    listed = runner.invoke(app, ["generate", "--list"])
    assert listed.exit_code == 0 and listed.stdout.startswith("onboarding-roi ")

    out = tmp_path / "onboarding.xlsx"
    first = runner.invoke(app, ["generate", "onboarding-roi", "-o", str(out)])
    assert first.exit_code == 0, first.output
    assert first.stdout.startswith(f"wrote {out} (onboarding-roi, en, xlfuncs add-in edition, ")
    before = out.read_bytes()
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's private 0600

    again = runner.invoke(app, ["generate", "onboarding-roi", "-o", str(out), "--native"])
    assert again.exit_code == 2
    assert again.stderr == f"error: {out}: already exists (use --force to overwrite it)\n"
    assert out.read_bytes() == before

    forced = runner.invoke(app, ["generate", "onboarding-roi", "-o", str(out), "--native", "--force"])
    assert forced.exit_code == 0 and "native edition" in forced.stdout
    assert out.read_bytes() != before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["onboarding.xlsx"]  # no temp files left


@pytest.mark.parametrize(
    "args,message",
    [
        (["generate"], "error: give a TEMPLATE (xlfuncs generate --list shows them)"),
        (["generate", "onboarding-roi"], "error: give the file to write with -o FILE"),
        (
            ["generate", "nope", "-o", "x.xlsx"],
            "error: unknown template 'nope' (available: onboarding-roi, revenue-report)",
        ),
        (
            ["generate", "onboarding-roi", "-o", "x.xlsx", "--lang", "fr"],
            "error: --lang must be one of en, es, got 'fr'",
        ),
        (
            ["generate", "onboarding-roi", "-o", "x.csv"],
            "error: x.csv: the output must be an .xlsx file (or .xlsm, macro-enabled)",
        ),
        (
            ["generate", "onboarding-roi", "-o", "no/such/x.xlsx"],
            "error: no/such/x.xlsx: folder no/such does not exist",
        ),
    ],
)
def test_cli_bad_arguments(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert result.stderr == message + "\n"
    assert list(tmp_path.iterdir()) == []


def test_unwritable_folder_is_one_line(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        probe = locked / "probe"
        try:
            probe.write_text("")  # root writes anywhere: then the folder is not locked
            probe.unlink()
            writable = True
        except PermissionError:
            writable = False
        result = CliRunner().invoke(app, ["generate", "onboarding-roi", "-o", str(locked / "x.xlsx")])
        if writable:
            assert result.exit_code == 0
        else:
            assert result.exit_code == 2 and result.stderr.startswith(f"error: {locked / 'x.xlsx'}: cannot write it")
    finally:
        locked.chmod(0o700)


def test_generate_api_errors(tmp_path):
    with pytest.raises(GenerateError, match="unknown value engine"):
        generate("onboarding-roi", tmp_path / "x.xlsx", values="excel")


# ----------------------------------------------------------------- the expression builder


class _Cells:
    """A minimal evaluation context: a dict of cells on one sheet."""

    def __init__(self, native=False, **cells):
        self.native, self.sheet, self.cells = native, "S", cells

    def cell_value(self, sheet, coord):
        return self.cells.get(coord)

    def range_values(self, sheet, ref):
        raise NotImplementedError

    def name_value(self, name):
        return self.cells[name]


def test_expressions_render_with_parentheses_where_needed():
    a, b = E.Ref("S", "A1"), E.Ref("Other sheet", "$B$2")
    ctx = _Cells()
    assert ((a + b) * 2).render(ctx) == "(A1+'Other sheet'!$B$2)*2"
    assert (-(a - 1)).render(ctx) == "-(A1-1)"
    assert (a ** (E.lift(1) / 12)).render(ctx) == "A1^(1/12)"
    assert E.IF(a.ge(3), "PASS", 'say "no"').render(ctx) == 'IF(A1>=3,"PASS","say ""no""")'
    clv = E.fn("CLV", a, 0.05)
    assert (clv + 1).render(ctx) == "CLV(A1,0.05)+1"
    assert (clv + 1).render(_Cells(native=True)) == "(" + registry.native_formula("CLV", "A1", "0.05") + ")+1"


def test_expressions_evaluate_like_excel():
    a, b = E.Ref("S", "A1"), E.Ref("S", "B1")
    ctx = _Cells(A1=6.0, B1=0.0)
    assert (a / b).evaluate(ctx) is ExcelError.DIV0
    assert ((a / b) + 1).evaluate(ctx) is ExcelError.DIV0  # errors travel
    assert E.IFERROR(a / b, "n/a").evaluate(ctx) == "n/a"
    assert E.IF(b.eq(0), 1, a / b).evaluate(ctx) == 1  # the branch not taken may fail
    assert (a + E.Ref("S", "C9")).evaluate(ctx) == 6  # an empty cell is 0
    assert (a + "x").evaluate(ctx) is ExcelError.VALUE
    assert E.ISNA(E.NA()).evaluate(ctx) is True
    assert (E.lift(-8) ** 0.5).evaluate(ctx) is ExcelError.NUM
    assert E.fn("CLV", 35, 0.05).evaluate(ctx) == pytest.approx(700)
    assert E.fn("CLV", 35, 0).evaluate(ctx) is ExcelError.DIV0
    with pytest.raises(ValueError):
        E.Call("VLOOKUP", ())
