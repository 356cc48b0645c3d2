"""The Excel adapter's cell rules: blanks, ranges, broadcasting, spills and error values."""

from __future__ import annotations

import datetime as dt

import numpy as np
import numpy_financial as npf
import pytest

from xlfuncs import adapter
from xlfuncs.errors import ExcelError

DIV0, NA, NUM, VALUE, NAME = (ExcelError.DIV0, ExcelError.NA, ExcelError.NUM, ExcelError.VALUE, ExcelError.NAME)


# ---------------------------------------------------------------- blanks and omitted arguments


def test_blank_optional_argument_takes_its_default():
    assert adapter.call("CLV", 100, 0.02, None) == adapter.call("CLV", 100, 0.02) == 5000
    assert adapter.call("CLV", 100, 0.02, "", "", "") == 5000
    assert adapter.call("CLV", 100, 0.02, adapter.MISSING, 0.01) == adapter.call("CLV", 100, 0.02, 1, 0.01)


def test_blank_required_argument_counts_as_zero():
    assert adapter.call("LTV_CAC", None, 500) == 0.0
    assert adapter.call("LTV_CAC", 1500, None) is DIV0  # cac 0
    assert adapter.call("CLV", None, 0.05) == 0.0


def test_blank_first_value_is_not_available_yet():
    assert adapter.call("TTFV", 46000, None) is NA
    assert adapter.call("TTFV", [[46000], [46000]], [[46010], [None]]) == [[10.0], [NA]]


def test_blank_cells_inside_an_optional_range_take_the_default():
    assert adapter.call("CLV", 100, 0.02, [[0.5, None]]) == [[2500.0, 5000.0]]


# ---------------------------------------------------------------- text, logicals, errors


@pytest.mark.parametrize("bad", ["abc", True, False, "12"])
def test_text_and_logicals_are_value_errors(bad):
    assert adapter.call("CLV", bad, 0.05) is VALUE
    assert adapter.call("ARPU", bad, 10) is VALUE  # given directly, not inside a range


@pytest.mark.parametrize("error", list(ExcelError)[:7])
def test_error_in_comes_out_unchanged(error):
    assert adapter.call("CLV", error, 0.05) is error
    assert adapter.call("CLV", 35, error.value) is error  # its text, as xlwings hands it over
    assert adapter.call("ARPU", [[1, error]], 2) is error
    assert adapter.call("MRR_MOVEMENTS", [[1, error]]) is error


def test_leftmost_error_wins():
    assert adapter.call("CLV", "#N/A", "#DIV/0!") is NA
    assert adapter.call("CLV", "#N/A", 2) is NA  # the input error beats the #NUM! of churn 2


def test_office_js_error_cells_are_understood():
    assert adapter.call("CLV", {"type": "Error", "basicValue": "#N/A", "errorType": "NotAvailable"}, 0.05) is NA


def test_unknown_function_is_name_error_and_too_many_arguments_value_error():
    assert adapter.call("NOPE", 1) is NAME
    assert adapter.call("LTV_CAC", 1, 2, 3) is VALUE


# ---------------------------------------------------------------- spills and broadcasting


def test_a_single_cell_pairs_with_every_cell_of_a_range():
    assert adapter.call("CLV", [[35, 70, 105]], 0.05) == [[700.0, 1400.0, 2100.0]]


def test_row_against_column_gives_the_full_table():
    table = adapter.call("CLV", [[100, 200]], [[0.05], [0.1], [0.2]])
    assert np.allclose(np.array(table, dtype=float), [[2000, 4000], [1000, 2000], [500, 1000]])


def test_cells_beyond_a_shorter_range_are_na():
    assert adapter.call("LTV_CAC", [[1], [2], [3]], [[1], [2]]) == [[1.0], [1.0], [NA]]
    assert adapter.call("LTV_CAC", [[1, 2], [3, 4]], [[1, 1, 1]]) == [[1.0, 2.0, NA], [3.0, 4.0, NA]]


def test_an_error_in_one_cell_does_not_spoil_the_spill():
    assert adapter.call("LTV_CAC", [[1500, 1500, "x", -1]], [[500, 0, 5, 5]]) == [[3.0, DIV0, VALUE, NUM]]


def test_text_results_spill_as_labels():
    assert adapter.call("HEALTH_STATUS", [[10], [60], [90], ["#N/A"]]) == [["red"], ["yellow"], ["green"], [NA]]
    assert adapter.call("SEGMENT", [[900, 100, 300, 50]], 0, 800, 200) == [["VIP", "non-core", "core", "non-core"]]


def test_one_by_one_range_gives_a_single_value():
    assert adapter.call("CLV", [[35]], [[0.05]]) == 700.0


def test_numpy_arrays_are_ranges_and_nan_is_blank():
    arpu = np.array([[35.0, np.nan]])
    assert adapter.call("CLV", arpu, 0.05) == [[700.0, 0.0]]
    assert adapter.call("CLV", np.array([35.0, 70.0]), 0.05) == [[700.0, 1400.0]]
    assert adapter.call("CLV", np.array([[np.inf]]), 0.05) is NUM


def test_ragged_or_deep_ranges_are_value_errors():
    assert adapter.call("CLV", [[1, 2], [3]], 0.05) is VALUE
    assert adapter.call("CLV", np.zeros((2, 2, 2)), 0.05) is VALUE
    assert adapter.call("CLV", [[object()]], 0.05) is VALUE


# ---------------------------------------------------------------- aggregating functions


def test_aggregating_ranges_skip_blanks_text_and_logicals_like_sum():
    assert adapter.call("ARPU", [[10500, None, "note", True]], [[280, 320, ""]]) == 35.0
    assert adapter.call("CAC", [[3000], [2000], ["n/a"]], [[6], [4], [None]]) == 500.0


def test_average_of_no_numbers_is_div0():
    assert adapter.call("ARPU", 100, [["x", None]]) is DIV0


def test_losses_count_by_magnitude_cell_by_cell():
    assert adapter.call("NET_MRR", 1000, 500, [[200, -100]], [[-300, 50]]) == 850.0
    assert adapter.call("GRR", 10000, [[300, -200]], 500) == 0.9
    assert adapter.call("NRR", [[6000, 4000]], 1500, -300, 700, 500) == 1.1


def test_health_score_drops_blank_scores_with_their_weights():
    assert adapter.call("HEALTH_SCORE", [[80, None, 40]], [[3, 100, 1]]) == 70.0
    assert adapter.call("HEALTH_SCORE", [[80, "n/a"]], [[1, 5]]) == 80.0
    assert adapter.call("HEALTH_SCORE", [[None, None]], [[1, 1]]) is DIV0


def test_mrr_movements_blanks_are_zero_text_is_value_negative_is_num():
    assert adapter.call("MRR_MOVEMENTS", [[100, None], [None, 50]]) == [[50.0, 0.0, 0.0, 0.0, -100.0, -50.0]]
    assert adapter.call("MRR_MOVEMENTS", [[100, "x"]]) is VALUE
    assert adapter.call("MRR_MOVEMENTS", [[100, -5]]) is NUM
    assert adapter.call("MRR_MOVEMENTS", 100) is VALUE


# ---------------------------------------------------------------- dates


def test_dates_become_serials_and_fractions_of_a_day_are_kept():
    start = dt.datetime(2026, 1, 1)
    assert adapter.call("TTFV", start, dt.datetime(2026, 2, 15, 12)) == 45.5
    assert adapter.call("TTFV", dt.date(2026, 1, 1), np.datetime64("2026-01-31T06:00", "m")) == 30.25
    assert adapter.to_serial(dt.date(1900, 3, 1)) == 61.0  # Excel's serial, past its 1900 leap bug


def test_date_text_is_a_value_error_in_excel():
    # In a spreadsheet a date is a serial; text is #VALUE! (the Python API parses ISO text).
    assert adapter.call("TTFV", dt.date(2026, 1, 1), "2026-01-31") is VALUE


@pytest.mark.parametrize("unit", ["D", "h", "m", "s", "ms", "us", "ns"])
def test_datetime64_of_any_unit_counts_days(unit):
    start = np.array(["2024-01-01T00:00"], dtype=f"datetime64[{unit}]")
    end = np.array(["2024-02-15T12:00" if unit != "D" else "2024-02-15"], dtype=f"datetime64[{unit}]")
    expected = 45.0 if unit == "D" else 45.5
    assert adapter.call("TTFV", start, end) == expected  # a 1 x 1 range: one value
    assert adapter.call("TTFV", start[0], end[0]) == expected
    assert adapter.call("TTFV", np.repeat(start, 2), np.concatenate([end, end.astype("datetime64[D]")])) == [
        [expected, 45.0]
    ]
    assert adapter.call("TTFV", start, np.array(["NaT"], dtype=f"datetime64[{unit}]")) is NA  # NaT: empty


# ---------------------------------------------------------------- independent oracles


@pytest.mark.parametrize(("churn", "discount", "periods"), [(0.05, 0.0, 12), (0.05, 0.01, 36), (0.2, 0.1, 5)])
def test_clv_equals_the_present_value_of_an_annuity_due(churn, discount, periods):
    # Retention q = 1 / (1 + r): CLV over n periods is the PV of n payments in advance.
    rate = (churn + discount) / (1 - churn)
    expected = npf.pv(rate, periods, -100 * 0.8, when="begin")
    assert adapter.call("CLV", 100, churn, 0.8, discount, periods) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("churn", "discount"), [(0.05, 0.0), (0.05, 0.01), (0.02, 0.005)])
def test_payback_equals_numpy_financial_nper_where_the_rate_is_positive(churn, discount):
    rate = (churn + discount) / (1 - churn)
    expected = npf.nper(rate, 100, -1000, when="begin")
    assert adapter.call("PAYBACK", 1000, 100, 1, churn, discount) == pytest.approx(float(expected), rel=1e-12)


def test_numpy_financial_nper_is_not_used_because_rate_zero_goes_negative():
    # npf.nper's annuity-due branch returns -12 at rate 0 where the answer is 12 periods,
    # which is why PAYBACK keeps its own q = 1 branch.
    assert npf.nper(0.0, 35, -420, when="begin") == -12
    assert adapter.call("PAYBACK", 420, 35) == 12.0


def test_an_error_is_its_text_in_sets_and_dicts_too():
    # Other engines (pycel) and pandas keep errors as texts in sets and dict keys.
    assert ExcelError.DIV0 in {"#DIV/0!", "#N/A"}
    assert {"#N/A": "missing"}[ExcelError.NA] == "missing"
    assert len({ExcelError.NUM, "#NUM!"}) == 1
