"""A patched part as :class:`~xlfuncs.xlsx.package.Patch`: the original and its new cells,
joined only chunk by chunk as they are written (issue 10: memory)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlfuncs.errors import ExcelError
from xlfuncs.xlsx.cells import Updates
from xlfuncs.xlsx.package import Patch

CELL_END = b"</c>"


@st.composite
def patches(draw):
    """Sheet-like bytes (cells ending in </c>) and non-overlapping replaced spans."""
    cells = draw(st.lists(st.binary(max_size=12).map(lambda b: b.replace(b"<", b"")), max_size=40))
    data = b"".join(b"<c>" + text + CELL_END for text in cells)
    cuts = sorted(draw(st.sets(st.integers(0, len(data)), max_size=12)))
    spans = []
    for start, end in zip(cuts[::2], cuts[1::2]):
        spans.append((start, end, draw(st.binary(max_size=30))))
    draw(st.randoms()).shuffle(spans)  # in any order: a Patch sorts them
    return data, spans


def _spliced(data: bytes, spans) -> bytes:
    out, pos = b"", 0
    for start, end, xml in sorted(spans):
        out += data[pos:start] + xml
        pos = end
    return out + data[pos:]


@settings(max_examples=300, deadline=None)
@given(patches(), st.integers(1, 64))
def test_a_patch_in_chunks_is_the_spliced_bytes(made, size):
    data, spans = made
    patch = Patch(data, spans)
    meant = _spliced(data, spans)
    assert bytes(patch) == meant and len(patch) == len(meant)
    chunks = [bytes(c) for c in patch.chunks(size)]
    assert b"".join(chunks) == meant
    assert all(chunks) and all(len(c) >= size for c in chunks[:-1])


@settings(max_examples=300, deadline=None)
@given(patches(), st.integers(1, 64))
def test_chunks_with_a_boundary_never_cut_inside_a_cell(made, size):
    data, spans = made
    patch = Patch(data, spans)
    # Where each replacement ends in the new bytes: a chunk may end there too.
    ends, shift = set(), 0
    for start, end, xml in patch.spans():
        shift += len(xml) - (end - start)
        ends.add(end + shift)
    chunks = [bytes(c) for c in patch.chunks(size, boundary=CELL_END)]
    assert b"".join(chunks) == bytes(patch)
    at = 0
    for chunk in chunks[:-1]:
        at += len(chunk)
        assert chunk.endswith(CELL_END) or at in ends, (chunk, at, ends)


@pytest.mark.parametrize("spans", [[(2, 5, b"x"), (4, 6, b"y")], [(3, 2, b"")], [(0, 99, b"")]])
def test_overlapping_or_misplaced_spans_are_refused(spans):
    with pytest.raises(ValueError, match="span"):
        Patch(b"0123456789", spans)


_pairs = st.lists(
    st.tuples(
        st.one_of(st.integers(0, 2**40), st.integers(-5, -1), st.text(max_size=3)),
        st.one_of(st.floats(), st.text(max_size=5), st.booleans(), st.none(), st.sampled_from(list(ExcelError))),
    ),
    max_size=40,
)


@given(pairs=_pairs)
def test_updates_give_back_every_pair_in_order(pairs):
    """Updates keep (index, float) pairs in arrays and any other pair as it is: iterated,
    they are the pairs appended, in order, floats bit for bit (NaN payloads and -0.0 too)."""
    updates = Updates(pairs[: len(pairs) // 2])
    for pair in pairs[len(pairs) // 2 :]:
        updates.append(pair)
    got = list(updates)
    assert len(updates) == len(pairs) == len(got)
    for (cell, value), (got_cell, got_value) in zip(pairs, got):
        assert got_cell == cell and type(got_cell) is type(cell) and type(got_value) is type(value)
        if type(value) is float:
            assert struct.pack("<d", got_value) == struct.pack("<d", value)
        else:
            assert got_value is value
    assert bool(updates) == bool(pairs)
