"""The changed cells' lines (``FileResult.changes``), made when read: the same lines, in
the same order, as made one by one (issue 10: time and memory of many changed cells)."""

from __future__ import annotations

import pickle

from hypothesis import given
from hypothesis import strategies as st

from xlfuncs.recalc.changes import Changes
from xlfuncs.xlsx.cells import col_name, show

numbers = st.floats(allow_nan=False) | st.integers(-(10**6), 10**6).map(float)
entries = st.lists(
    st.one_of(
        st.text(max_size=20).map(lambda text: ("line", text)),
        st.tuples(
            st.sampled_from(["S!", "'My sheet'!", "Other!"]),
            st.integers(0, 1_048_575),
            st.integers(0, 16_383),
            numbers,
            numbers,
        ),
    ),
    max_size=30,
)


@given(entries)
def test_lines_made_when_read_are_the_lines_made_at_once(made):
    changes, lines = Changes(), []
    for entry in made:
        if entry[0] == "line":
            changes.append(entry[1])
            lines.append(entry[1])
        else:
            qualifier, row, col, old, new = entry
            changes.add_number(qualifier, row, col, old, new)
            lines.append(f"{qualifier}{col_name(col)}{row + 1}: {show(old)} -> {show(new)}")
    assert list(changes) == lines and changes == lines and len(changes) == len(lines)
    assert [changes[i] for i in range(len(lines))] == lines and changes[-3:] == lines[-3:]
    assert changes + ["x"] == [*lines, "x"] and ["x"] + changes == ["x", *lines]
    assert pickle.loads(pickle.dumps(changes)) == lines  # --jobs workers send results pickled
    assert bool(changes) == bool(lines)
