"""The changed cells of a recalculated file, as the lines a report prints, made when read.

A recalculation may change hundreds of thousands of cells, and a line of text each
(``Sheet!A1: 3 -> 2``) was most of the time between LibreOffice's values and the patch:
0.5 s and 16 MB at 200,000 changes, for lines that ``--check`` prints ten of. A number
that replaces a number is kept in columns, written out when it is read; any other change
is kept as its line.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence

from ..xlsx.cells import col_name, show


class Changes(Sequence):
    """``Sheet!A1: old -> new`` lines, in the order the cells were found (a sequence of str).

    Examples
    --------
    >>> changes = Changes()
    >>> changes.add_number("S!", 0, 1, 3.0, 2.5)
    >>> changes.append("'My sheet'!C4: \\"a\\" -> 1")
    >>> list(changes), changes[0], len(changes)
    (['S!B1: 3 -> 2.5', '\\'My sheet\\'!C4: "a" -> 1'], 'S!B1: 3 -> 2.5', 2)
    """

    __slots__ = ("_where", "_rows", "_cols", "_old", "_new", "_qualifiers", "_lines")

    def __init__(self, lines: Iterable[str] = ()):
        self._where = array("i")  # per change: its sheet's qualifier, or -1 (a line of text)
        self._rows, self._cols = array("i"), array("i")
        self._old, self._new = array("d"), array("d")
        self._qualifiers: dict[str, int] = {}
        self._lines: dict[int, str] = {}
        for line in lines:
            self.append(line)

    def append(self, line: str) -> None:
        """A change as its line."""
        self._lines[len(self._where)] = line
        self._add(-1, 0, 0, 0.0, 0.0)

    def add_number(self, qualifier: str, row: int, col: int, old: float, new: float) -> None:
        """A number replacing a number at (row, col) (0-based) of the sheet ``qualifier``
        names (``Sheet!`` or ``'My sheet'!``)."""
        where = self._qualifiers.setdefault(qualifier, len(self._qualifiers))
        self._add(where, row, col, old, new)

    def _add(self, where: int, row: int, col: int, old: float, new: float) -> None:
        self._where.append(where)
        self._rows.append(row)
        self._cols.append(col)
        self._old.append(old)
        self._new.append(new)

    def __len__(self) -> int:
        return len(self._where)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        where = self._where[index]  # IndexError past the end
        if where < 0:
            return self._lines[index]
        qualifier = next(q for q, n in self._qualifiers.items() if n == where)
        cell = f"{col_name(self._cols[index])}{self._rows[index] + 1}"
        return f"{qualifier}{cell}: {show(self._old[index])} -> {show(self._new[index])}"

    def __iter__(self):
        names = {n: q for q, n in self._qualifiers.items()}
        letters: dict[int, str] = {}
        for index, where in enumerate(self._where):
            if where < 0:
                yield self._lines[index]
                continue
            col = self._cols[index]
            if col not in letters:
                letters[col] = col_name(col)
            cell = f"{letters[col]}{self._rows[index] + 1}"
            yield f"{names[where]}{cell}: {show(self._old[index])} -> {show(self._new[index])}"

    def __eq__(self, other) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, (str, bytes)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None  # mutable, as a list

    def __add__(self, other) -> list[str]:
        return [*self, *other]

    def __radd__(self, other) -> list[str]:
        return [*other, *self]

    def __repr__(self) -> str:
        return repr(list(self))
