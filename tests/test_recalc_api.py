"""``xlfuncs.recalc.run``: the library call under ``xlfuncs recalc``."""

from __future__ import annotations

import pytest
from xlsx_builder import cell, rows, xlsx

from xlfuncs import recalc
from xlfuncs.recalc import CHANGED, CHECK_FAILED, MISSING, UNCHANGED, FileResult, UsageError


def test_usage_errors_are_raised_before_anything_runs(tmp_path):
    book = xlsx(tmp_path / "a.xlsx", {"S": rows(cell("A1", "1+1", 2))})
    with pytest.raises(UsageError, match="exactly one"):
        recalc.run([book])
    with pytest.raises(UsageError, match="exactly one"):
        recalc.run([book], check=True, in_place=True)
    with pytest.raises(UsageError, match="the input itself"):
        recalc.run(book, output=book)
    with pytest.raises(ValueError, match="--jobs"):
        recalc.run([book], check=True, jobs=0)
    with pytest.raises(ValueError, match="--shard"):
        recalc.run([book], check=True, shard=(3, 2))


def test_missing_inputs_are_results_not_exceptions(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    seen: list[FileResult] = []
    results = recalc.run([tmp_path / "gone.xlsx", empty], check=True, on_result=seen.append)
    assert [r.status for r in results] == [MISSING, MISSING] and seen == results
    assert results[0].message == "no such file" and "without .xlsx" in results[1].message
    assert all(r.failed for r in results)


def test_check_then_write(tmp_path):
    """One call compares, one writes: the statuses, cell lists and outputs the CLI prints."""
    stale = xlsx(tmp_path / "in" / "stale.xlsx", {"S": rows(cell("A1", "1+1", 3))})
    fresh = xlsx(tmp_path / "in" / "fresh.xlsx", {"S": rows(cell("A1", "1+1", 2))})
    before = stale.read_bytes()
    started: list = []
    checked = recalc.run([tmp_path / "in"], check=True, jobs=1, on_start=started.append)
    assert started == [[fresh, stale]]  # a folder: its workbooks, sorted
    assert [(r.path.name, r.status) for r in checked] == [("fresh.xlsx", UNCHANGED), ("stale.xlsx", CHECK_FAILED)]
    assert checked[1].changes == ["S!A1: 3 -> 2"] and stale.read_bytes() == before
    written = recalc.run([stale], output=tmp_path / "out.xlsx", jobs=1)
    assert [(r.status, r.output) for r in written] == [(CHANGED, tmp_path / "out.xlsx")]
    again = recalc.run(tmp_path / "out.xlsx", check=True, jobs=1)
    assert again[0].status == UNCHANGED and not again[0].changes
