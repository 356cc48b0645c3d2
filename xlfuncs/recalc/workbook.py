"""The xlsx/xlsm side: read a workbook safely, find its formula cells, patch their values.

A workbook is a zip of XML parts. ``recalc`` changes exactly one thing in it: the cached
value (``<v>``) and the value type (``t``) of formula cells whose value changed. So this
module never re-serialises XML: it finds each formula cell's ``<c>`` element by its byte
offsets and splices a new element in its place, and copies every other zip entry with its
original content, name, time stamp and attributes.

Safety, before anything reaches LibreOffice or an XML parser:

* not a zip, or an OLE compound file (what Office writes for a password-protected
  workbook) -> :class:`BadWorkbook` with a one-line reason;
* a zip bomb: too many entries, too much declared data, an implausible compression ratio
  (per entry, and over the whole archive), or an entry that inflates past (or short of)
  its declared size. Entries are inflated in chunks; only the parts recalc reads are kept
  in memory, the others are read again on demand (:class:`_Parts`);
* an XML bomb: every entry, whatever its name, padding or encoding, is fed whole to
  defusedxml's parser, which refuses a document type declaration (the carrier of entity
  expansion and external entities) wherever it appears; parts named ``.xml``/``.rels``
  must be well-formed (:class:`_XmlCheck`).

And after: every output is read back before it replaces anything (:meth:`Workbook.write`,
:meth:`Workbook.verify`): same zip entries, every part but the patched sheets
byte-identical, the patched sheets well-formed, every cached value the one meant. Texts
are read and written as Excel does (:func:`decode_text`, :func:`encode_text`).
"""

from __future__ import annotations

import html
import os
import re
import shutil
import stat
import tempfile
import weakref
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from ..errors import ExcelError
from . import formula as formulas

# Zip bomb limits: generous for real models (a 1M-row sheet is ~100 MB of XML).
MAX_ENTRIES = 20_000
MAX_TOTAL_BYTES = 2 * 1024**3
MAX_RATIO = 200  # uncompressed / compressed, for entries above RATIO_FLOOR
RATIO_FLOOR = 4 * 1024**2
TOTAL_RATIO_FLOOR = 64 * 1024**2  # the same ratio over all entries, above this total
MAX_PART_BYTES = 1024**3
KEEP_BYTES = 1024**2  # other XML parts up to this size stay in memory once read
_CHUNK = 1024**2

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_REL_OFFICE_DOC = "/officeDocument"
_REL_WORKSHEET = "/worksheet"
_REL_SHARED_STRINGS = "/sharedStrings"

Value = float | str | bool | ExcelError  # or OtherError, a str


class BadWorkbook(Exception):
    """A workbook recalc refuses; ``str()`` is the one-line reason (without the file name)."""


@dataclass(slots=True)
class Cell:
    """One formula cell (or one cell of an array formula's range) of a worksheet."""

    ref: str
    row: int  # 0-based
    col: int  # 0-based
    start: int  # byte span of the whole <c> element in the sheet part
    end: int
    attrs: bytes  # the start tag's attribute text
    f_xml: bytes  # the <f> element, verbatim (empty for array members)
    ext_xml: bytes  # an <extLst> child, verbatim (usually empty)
    t: str
    old: Value | None  # the cached value, None when there is none
    formula: str | None = None  # the formula text (unescaped); None for followers/members
    shared_index: str | None = None
    virtual: bool = False  # a cell of an array formula's range missing from the XML


_NO_SPAN = -1


@dataclass
class Sheet:
    name: str
    part: str
    data: bytes
    prefix: bytes
    cells: list[Cell] = field(default_factory=list)
    shared_masters: dict[str, str] = field(default_factory=dict)
    shared_origins: dict[str, tuple[int, int]] = field(default_factory=dict)  # si -> (row, col)
    #: Array formulas: anchor (row, col) -> (row1, col1, row2, col2) of their range.
    arrays: dict[tuple[int, int], tuple[int, int, int, int]] = field(default_factory=dict)
    #: Anchors of Excel 365 dynamic arrays (``cm`` pointing at XLDAPR metadata).
    dynamic: set[tuple[int, int]] = field(default_factory=set)
    #: Cells holding something (a value or a formula), when the sheet has dynamic arrays.
    occupied: set[tuple[int, int]] = field(default_factory=set)
    #: Resized dynamic arrays: anchor -> (old <f> XML, new <f> XML).
    resized: dict[tuple[int, int], tuple[bytes, bytes]] = field(default_factory=dict)
    #: Cells a resized dynamic array no longer covers (their values go).
    cleared: list[Cell] = field(default_factory=list)
    #: Anchors of dynamic arrays blocked by a cell in their way (``#SPILL!``).
    blocked: set[tuple[int, int]] = field(default_factory=set)

    def formula_of(self, cell: Cell) -> str:
        """The formula text of a cell (a shared formula's master text for its followers)."""
        if cell.formula:
            return cell.formula
        if cell.shared_index is not None:
            return self.shared_masters.get(cell.shared_index, "")
        return ""


class _NoTree:
    """A parser target without callbacks: expat checks the document and builds nothing."""

    def close(self) -> None:
        return None


def _xml_parser(target=None) -> SafeET.DefusedXMLParser:
    # forbid_dtd: any document type declaration (internal subset or external reference) is
    # refused, so neither entity expansion nor external entities can happen.
    parser = SafeET.DefusedXMLParser(target=target if target is not None else _NoTree(), forbid_dtd=True)
    if target is None:
        # ElementTree's Python default handler sees every piece of text (8 million calls
        # for a 100,000-row sheet); without it expat runs at C speed. defusedxml's own
        # handlers (DOCTYPE, entity declarations, external entities) stay in place.
        parser.parser.DefaultHandlerExpand = None
    return parser


def _must_be_xml(part: str) -> bool:
    """Parts whose name says XML: they must parse, start to end."""
    return part.lower().endswith((".xml", ".rels"))


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, sink=None, keep: bool = True) -> bytes:
    """An entry's content, inflated in chunks, never past its declared size.

    ``sink`` sees every chunk (the XML check); with ``keep`` False nothing is held.
    """
    chunks: list[bytes] = []
    seen = 0
    try:
        with zf.open(info) as member:
            while True:
                chunk = member.read(_CHUNK)
                if not chunk:
                    break
                seen += len(chunk)
                if seen > info.file_size:
                    raise BadWorkbook(f"zip bomb refused: {info.filename} inflates past its declared size")
                if sink is not None:
                    sink(chunk)
                if keep:
                    chunks.append(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        raise BadWorkbook(f"corrupt zip archive: {info.filename}: {exc}") from None
    if seen != info.file_size:
        raise BadWorkbook(f"corrupt zip archive: {info.filename} holds {seen} bytes, not the {info.file_size} declared")
    return b"".join(chunks)


class _XmlCheck:
    """Feeds one part, chunk by chunk, to a DTD-refusing parser (defusedxml over expat).

    Every part goes through it, whatever its name or encoding: expat reads UTF-8 and
    UTF-16 (with or without a byte-order mark) and skips any amount of white space before
    a DOCTYPE, so a declaration is found wherever a parser would find it. A part that is
    not XML (an image, a VBA project) fails on its first bytes and costs nothing more. A
    part whose name says XML must be well-formed; a malformed other part (Excel's legacy
    VML is not always well-formed) is left to whatever reads it.
    """

    __slots__ = ("name", "parser", "error", "must")

    def __init__(self, name: str):
        self.name = name
        self.parser = _xml_parser()
        self.error: Exception | None = None
        self.must = _must_be_xml(name)

    def __call__(self, chunk: bytes) -> None:
        if self.parser is None:
            return
        try:
            self.parser.feed(chunk)
        except DefusedXmlException as exc:
            raise BadWorkbook(f"XML bomb refused: {self.name} declares a DTD/entities ({type(exc).__name__})") from None
        except SafeET.ParseError as exc:
            self.parser = None
            if self.must:
                raise BadWorkbook(f"corrupt XML in {self.name}: {exc}") from None
            self.error = exc

    def close(self) -> None:
        if self.parser is None:
            return
        try:
            self.parser.close()
        except DefusedXmlException as exc:
            raise BadWorkbook(f"XML bomb refused: {self.name} declares a DTD/entities ({type(exc).__name__})") from None
        except SafeET.ParseError as exc:
            if self.must:
                raise BadWorkbook(f"corrupt XML in {self.name}: {exc}") from None
        finally:
            self.parser = None


def _check_xml(part: str, data: bytes) -> None:
    """Refuse XML ``data`` holding a DTD (BadWorkbook); see :class:`_XmlCheck`."""
    check = _XmlCheck(part)
    check(data)
    check.close()


def _parse(part: str, data: bytes):
    try:
        return SafeET.fromstring(data, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise BadWorkbook(f"XML bomb refused: {part} declares a DTD/entities ({type(exc).__name__})") from None
    except SafeET.ParseError as exc:
        raise BadWorkbook(f"corrupt XML in {part}: {exc}") from None


def _structure_parts(parts) -> set[str]:
    """The parts recalc reads (workbook, worksheets, shared strings), found before the
    checking pass so that it keeps them in memory; empty when the structure is broken
    (reported by the structure pass)."""
    try:
        office = [t for kind, t in _rels(parts, "").values() if kind.endswith(_REL_OFFICE_DOC)]
        if not office or office[0] not in parts:
            return set()
        out = {office[0]}
        for kind, target in _rels(parts, office[0]).values():
            if kind.endswith((_REL_WORKSHEET, _REL_SHARED_STRINGS)):
                out.add(target)
        return out
    except BadWorkbook:
        return set()


class _Parts(dict):
    """The zip's entries by name: small and XML parts held, the others read on demand.

    Only what recalc parses (XML parts up to :data:`KEEP_BYTES`) stays in memory; any
    other entry (images, embedded objects, VBA projects, large XML) is inflated again from
    the still-open archive when asked for, so memory follows the largest part, not the
    sum of all of them.
    """

    def __init__(self, zf: zipfile.ZipFile, names: list[str]):
        super().__init__()
        self._zf = zf
        self._lazy: dict[str, zipfile.ZipInfo] = {}
        self._names = names

    def _defer(self, info: zipfile.ZipInfo) -> None:
        self._lazy[info.filename] = info

    def __missing__(self, name: str) -> bytes:
        info = self._lazy.get(name)
        if info is None:
            raise KeyError(name)
        return _read_member(self._zf, info)

    def __contains__(self, name) -> bool:
        return dict.__contains__(self, name) or name in self._lazy

    def get(self, name, default=None):
        return self[name] if name in self else default

    def __iter__(self):
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def keys(self):
        return list(self._names)

    def items(self):
        return [(name, self[name]) for name in self._names]

    def values(self):
        return [self[name] for name in self._names]


def _rels(zf_parts: dict[str, bytes], part: str) -> dict[str, tuple[str, str]]:
    """Relationship id -> (type, target part path) of a part."""
    path = PurePosixPath(part)
    rels_part = str(path.parent / "_rels" / (path.name + ".rels")).lstrip("/")
    if rels_part.startswith("./"):
        rels_part = rels_part[2:]
    data = zf_parts.get(rels_part)
    if data is None:
        return {}
    out = {}
    for rel in _parse(rels_part, data):
        target = rel.get("Target", "")
        if rel.get("TargetMode") == "External":
            continue
        if target.startswith("/"):
            resolved = target.lstrip("/")
        else:
            resolved = os.path.normpath(str(path.parent / target)).replace(os.sep, "/")
            resolved = resolved.lstrip("./") if resolved.startswith("./") else resolved
        out[rel.get("Id", "")] = (rel.get("Type", ""), resolved)
    return out


def col_name(col: int) -> str:
    """0-based column index -> letters (0 -> "A", 26 -> "AA")."""
    name = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        name = chr(65 + rem) + name
    return name


_REF = re.compile(rb"([A-Za-z]{1,3})([0-9]+)")


def _parse_ref(ref: bytes) -> tuple[int, int]:
    match = _REF.fullmatch(ref.replace(b"$", b""))
    if not match:
        raise ValueError(ref)
    letters, digits = match.groups()
    col = 0
    for ch in letters.upper():
        col = col * 26 + (ch - 64)
    return int(digits) - 1, col - 1


def _parse_range(ref: bytes) -> tuple[int, int, int, int]:
    first, _, last = ref.partition(b":")
    r1, c1 = _parse_ref(first)
    r2, c2 = _parse_ref(last) if last else (r1, c1)
    return min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)


_ATTR = re.compile(rb"""([A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?)\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def _attrs(text: bytes) -> dict[bytes, bytes]:
    return {m.group(1): (m.group(2) if m.group(2) is not None else m.group(3)) for m in _ATTR.finditer(text)}


_FAST_CELL = re.compile(rb'<c( r="([A-Z]{1,3})([0-9]{1,7})"[^>]*)>(<f\b([^>]*?)(?:/>|>([^<]*)</f>))(.*?)</c>', re.S)
_T_ATTR_WITH_SPACE = re.compile(rb"""\s+t\s*=\s*(?:"[^"]*"|'[^']*')""")
_T_ATTR = re.compile(rb"""\bt\s*=\s*["']([A-Za-z]+)["']""")


def _ext(children: bytes, prefix: bytes) -> bytes:
    if b"extLst" not in children:
        return b""
    p = re.escape(prefix)
    match = re.search(rb"<" + p + rb"extLst\b.*?</" + p + rb"extLst>", children, re.S)
    return match.group(0) if match else b""


def _unescape(raw: bytes) -> str:
    return html.unescape(raw.decode("utf-8"))


def _escape(text: str) -> bytes:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").encode("utf-8")


# Excel's escapes for characters XML cannot hold (ST_Xstring): ``_x0001_`` is U+0001, and a
# literal "_x0041_" in a text is stored as "_x005F_x0041_" (the underscore escaped).
_X_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_X_NEEDS = re.compile(r"[\x00-\x08\x0b-\x1f\ufffe\uffff]|_(?=x[0-9A-Fa-f]{4}_)")
#: The longest text a cell can hold in Excel.
MAX_TEXT = 32_767


def decode_text(raw: bytes) -> str:
    """A string value as stored in sheet or shared-strings XML, as Excel reads it."""
    text = _unescape(raw)
    if "_x" in text:
        text = _X_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    return text


def encode_text(text: str) -> bytes:
    """A string value as Excel writes it: XML-escaped, control characters as ``_xHHHH_``."""
    text = _X_NEEDS.sub(lambda m: f"_x{ord(m.group(0)):04X}_", text)
    return _escape(text)


class OtherError(str):
    """An error value outside :class:`ExcelError` (``#SPILL!``, ``#CALC!``...), as its text."""

    __slots__ = ()


SPILL = OtherError("#SPILL!")


def format_number(value: float) -> str:
    """A float as a cell's ``<v>`` text: integers without ".0", others round-trip exact."""
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


#: Two engines summing in another order disagree in the last digits Excel keeps (15
#: significant ones); a difference below this relative size is such noise, not a change.
NOISE = 5e-14


def same_value(old: Value | None, new: Value) -> bool:
    """Whether a cached value already holds the recalculated one, as Excel would see it.

    Numbers are equal when they agree to Excel's precision (15 significant digits, with
    the noise of another summation order, :data:`NOISE`, forgiven); texts are equal when
    they differ only in CR LF against LF line ends.
    """
    if old is None:
        return False
    if isinstance(old, bool) or isinstance(new, bool):
        return isinstance(old, bool) and isinstance(new, bool) and old == new
    if isinstance(old, (ExcelError, OtherError)) or isinstance(new, (ExcelError, OtherError)):
        return isinstance(old, (ExcelError, OtherError)) and isinstance(new, (ExcelError, OtherError)) and old == new
    if isinstance(old, float) and isinstance(new, float):
        if old == new or f"{old:.15g}" == f"{new:.15g}":
            return True
        return abs(old - new) <= NOISE * max(abs(old), abs(new))
    if isinstance(old, str) and isinstance(new, str):
        return old == new or old.replace("\r\n", "\n") == new.replace("\r\n", "\n")
    return False


def show(value: Value | None) -> str:
    """A value as the --check report prints it."""
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, ExcelError):
        return value.value
    if isinstance(value, OtherError):
        return str.__str__(value)
    if isinstance(value, float):
        return f"{value:.15g}"
    if len(value) > 80:
        return repr(value[:77]) + "..."
    return repr(value)


# A cell format's number format. LibreOffice's copy has every one set to General, so that
# a formula's result takes the format of its type and a logical result can be told apart
# from a number shown as TRUE (see xlfuncs.recalc.addin._is_logical); no value depends on
# a number format (CELL("format") is volatile and listed as such).
_XF_NUMFMT = re.compile(rb'(<(?:\w+:)?xf\b[^>]*?\bnumFmtId\s*=\s*")(?!0")[0-9]+(")')


def _empty_xml(prefix: bytes, cell: Cell) -> bytes:
    """A cell without value or formula, keeping its reference and style."""
    attrs = _attrs(cell.attrs)
    keep = b"".join(b" " + k + b'="' + attrs[k] + b'"' for k in (b"r", b"s") if k in attrs)
    return b"<" + prefix + b"c" + keep + b"/>"


def _splice(data: bytes, replacements: list[tuple[Cell, bytes]]) -> bytes:
    """``data`` with the span of each cell replaced by its new XML."""
    replacements = sorted(replacements, key=lambda item: item[0].start)
    pieces, pos = [], 0
    for cell, xml in replacements:
        pieces.append(data[pos : cell.start])
        pieces.append(xml)
        pos = cell.end
    pieces.append(data[pos:])
    return b"".join(pieces)


_ANCHORARRAY = re.compile(
    rb"(?i)_xlfn\.ANCHORARRAY\(\s*((?:'(?:[^']|'')+'|[A-Za-z_][A-Za-z0-9_.]*)!)?(\$?[A-Za-z]{1,3}\$?[0-9]{1,7})\s*\)"
)


def _spill_range(match: re.Match, own: Sheet | None, anchors: dict) -> bytes:
    """The range a spill reference ``A1#`` stands for: its array formula's range."""
    qualifier, ref = match.group(1), match.group(2)
    sheet = own
    if qualifier:
        name = _unescape(qualifier[:-1])
        if name.startswith("'"):
            name = name[1:-1].replace("''", "'")
        sheet = anchors.get(name.casefold())
    try:
        row, col = _parse_ref(ref)
    except ValueError:
        return match.group(0)
    area = sheet.arrays.get((row, col)) if sheet is not None else None
    if area is None:
        return (qualifier or b"") + ref
    first = f"{col_name(area[1])}{area[0] + 1}"
    last = f"{col_name(area[3])}{area[2] + 1}"
    return (qualifier or b"") + (first if first == last else f"{first}:{last}").encode()


class Workbook:
    """An xlsx/xlsm file opened for recalculation.

    Parameters
    ----------
    path : Path
        The workbook. It is read once, fully, and never written by this class except
        through :meth:`write` to a path of the caller's choice.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.parts: dict[str, bytes] = {}
        self._handle = None
        self.infos: list[zipfile.ZipInfo] = []
        self.sheets: list[Sheet] = []
        self.workbook_part = ""
        #: Every sheet name (chart sheets included) in the workbook's order.
        self.sheet_order: list[str] = []
        self._shared_strings: list[str] | None = None
        #: Hand column groups of one element-wise call to Calc as one array formula.
        self.vectorise = os.environ.get("XLFUNCS_RECALC_VECTORISE", "1") != "0"
        #: Whether the last :meth:`engine_copy` made column groups.
        self.grouped = False
        self._shared_part: str | None = None
        self._read_zip()
        self._read_structure()

    # ------------------------------------------------------------------ reading

    def _read_zip(self) -> None:
        try:
            handle = open(self.path, "rb")  # noqa: SIM115 - kept open: parts are read on demand
        except IsADirectoryError:
            raise BadWorkbook("a folder, not a workbook file") from None
        except OSError as exc:
            raise BadWorkbook(f"cannot read: {exc.strerror or exc}") from None
        try:
            magic = handle.read(8)
            if magic == _OLE_MAGIC:
                raise BadWorkbook(
                    "encrypted or legacy workbook: an OLE compound file, not xlsx/xlsm "
                    "(password-protected workbooks cannot be recalculated; remove the password)"
                )
            if not zipfile.is_zipfile(handle):
                raise BadWorkbook("not an xlsx/xlsm file (not a zip archive)")
            handle.seek(0)
            zf = zipfile.ZipFile(handle)
            infos = zf.infolist()
            self._check_sizes(infos)
            parts = _Parts(zf, [i.filename for i in infos if not i.is_dir()])
            for info in infos:
                if not info.is_dir():
                    parts._defer(info)
            needed = _structure_parts(parts)
            for info in infos:
                if info.is_dir():
                    continue
                keep = info.filename in needed or (_must_be_xml(info.filename) and info.file_size <= KEEP_BYTES)
                check = _XmlCheck(info.filename)
                data = _read_member(zf, info, check, keep)
                check.close()
                if keep:
                    dict.__setitem__(parts, info.filename, data)
            self.parts = parts
            self.infos = infos
            self._handle = handle
            # Parts are read on demand from this handle; it closes with the Workbook.
            weakref.finalize(self, handle.close)
        except BadWorkbook:
            handle.close()
            raise
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, NotImplementedError, ValueError) as exc:
            handle.close()
            raise BadWorkbook(f"corrupt zip archive: {exc}") from None
        if "[Content_Types].xml" not in self.parts:
            raise BadWorkbook("not an xlsx/xlsm file (no [Content_Types].xml)")

    @staticmethod
    def _check_sizes(infos: list[zipfile.ZipInfo]) -> None:
        """Refuse a zip bomb from the central directory, before inflating anything."""
        if len(infos) > MAX_ENTRIES:
            raise BadWorkbook(f"zip bomb refused: {len(infos)} entries")
        total = sum(i.file_size for i in infos)
        packed = sum(i.compress_size for i in infos)
        if total > MAX_TOTAL_BYTES:
            raise BadWorkbook(f"zip bomb refused: {total} bytes uncompressed")
        for info in infos:
            if info.file_size > MAX_PART_BYTES:
                raise BadWorkbook(f"zip bomb refused: {info.filename} declares {info.file_size} bytes")
            if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise BadWorkbook(
                    f"zip bomb refused: {info.filename} inflates {info.compress_size} -> {info.file_size} bytes"
                )
        # Many parts each below the floor add up: the same ratio over the whole archive.
        if total > TOTAL_RATIO_FLOOR and total > MAX_RATIO * max(packed, 1):
            raise BadWorkbook(f"zip bomb refused: {len(infos)} entries inflate {packed} -> {total} bytes")

    def _read_structure(self) -> None:
        root_rels = _rels(self.parts, "")
        office = [target for kind, target in root_rels.values() if kind.endswith(_REL_OFFICE_DOC)]
        if not office or office[0] not in self.parts:
            raise BadWorkbook("not an xlsx/xlsm file (no workbook part)")
        self.workbook_part = office[0]
        workbook = _parse(self.workbook_part, self.parts[self.workbook_part])
        rels = _rels(self.parts, self.workbook_part)
        for kind, target in rels.values():
            if kind.endswith(_REL_SHARED_STRINGS):
                self._shared_part = target
        sheets = workbook.find(f"{{{_NS_MAIN}}}sheets")
        if sheets is None:
            raise BadWorkbook("corrupt workbook: no sheets")
        seen: dict[str, str] = {}
        self.sheet_order = [sheet.get("name", "") for sheet in sheets]
        for sheet in sheets:
            name = sheet.get("name", "")
            if name.casefold() in seen:
                raise BadWorkbook(f"two sheets are named {name!r} (Excel cannot open such a file; rename one)")
            seen[name.casefold()] = name
        for sheet in sheets:
            rid = sheet.get(f"{{{_NS_REL}}}id")
            kind, target = rels.get(rid or "", ("", ""))
            if not kind.endswith(_REL_WORKSHEET):
                continue  # chart sheets and dialog sheets hold no cells
            if target not in self.parts:
                raise BadWorkbook(f"corrupt workbook: sheet {sheet.get('name')!r} has no part {target}")
            self.sheets.append(self._scan(sheet.get("name", ""), target))

    def shared_string(self, index: int) -> str:
        if self._shared_strings is None:
            self._shared_strings = []
            if self._shared_part and self._shared_part in self.parts:
                root = _parse(self._shared_part, self.parts[self._shared_part])
                t_tag, r_tag = f"{{{_NS_MAIN}}}t", f"{{{_NS_MAIN}}}r"
                for si in root:
                    # <t> directly, or in rich-text runs <r>; never the phonetic <rPh> runs.
                    texts = [t.text or "" for t in si if t.tag == t_tag]
                    texts += [t.text or "" for r in si if r.tag == r_tag for t in r if t.tag == t_tag]
                    text = "".join(texts)
                    if "_x" in text:
                        text = _X_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
                    self._shared_strings.append(text)
        try:
            return self._shared_strings[index]
        except IndexError:
            return ""

    def _scan(self, name: str, part: str, data: bytes | None = None) -> Sheet:
        data = self.parts[part] if data is None else data
        root = re.search(rb"<(\w+:)?worksheet\b", data[:65536])
        if not root:
            raise BadWorkbook(f"corrupt worksheet {part}: no <worksheet> element")
        prefix = root.group(1) or b""
        sheet = Sheet(name=name, part=part, data=data, prefix=prefix)
        try:
            # The common case in one C-level regex pass over formula cells only; anything
            # unusual (namespace prefixes, array formulas, cells without a reference)
            # takes the general scanner, which visits every row and cell.
            if prefix or b't="array"' in data or b"t='array'" in data or not self._scan_fast(sheet):
                sheet.cells.clear()
                sheet.shared_masters.clear()
                sheet.shared_origins.clear()
                self._scan_general(sheet)
        except (ValueError, UnicodeDecodeError, IndexError) as exc:
            raise BadWorkbook(f"corrupt worksheet {part}: {exc}") from None
        return sheet

    def _scan_fast(self, sheet: Sheet) -> bool:
        """Formula cells of an unprefixed sheet without array formulas; False to give up.

        The loop body runs once per formula cell (80,000 in a 10,000-row model), so it
        does the common case (``r`` as the first attribute, a number cached in ``<v>``)
        inline; a cell laid out otherwise is missed by the pattern, which the count of
        ``<f>`` elements at the end detects.
        """
        columns: dict[bytes, int] = {}
        cells = sheet.cells
        append = cells.append
        cached = self._cached
        for match in _FAST_CELL.finditer(sheet.data):
            attrs, letters, digits, f_xml, f_attrs, f_text, rest = match.groups()
            col = columns.get(letters)
            if col is None:
                col = columns[letters] = _parse_ref(letters + b"1")[1]
            if b"t=" in attrs:
                t_match = _T_ATTR.search(attrs)
                t = t_match.group(1).decode() if t_match else "n"
            else:
                t = "n"
            old = None
            if t == "n" and rest[:3] == b"<v>" and (end := rest.find(b"</v>")) > 0:
                text = rest[3:end].strip()
                old = float(text) if text else None
            elif rest:
                old = cached(t, rest, b"")
            cell = Cell(
                (letters + digits).decode(),
                int(digits) - 1,
                col,
                match.start(),
                match.end(),
                attrs,
                f_xml,
                _ext(rest, b"") if b"extLst" in rest else b"",
                t,
                old,
            )
            if f_text:
                cell.formula = _unescape(f_text) if b"&" in f_text else f_text.decode("utf-8")
            if f_attrs and b"shared" in f_attrs:
                f_attr_map = _attrs(f_attrs)
                if f_attr_map.get(b"t") == b"shared":
                    si = f_attr_map.get(b"si", b"").decode()
                    cell.shared_index = si
                    if cell.formula:
                        sheet.shared_masters[si] = cell.formula
                        sheet.shared_origins[si] = (cell.row, cell.col)
            append(cell)
        # Every <f> must have been seen: a cell the fast pattern cannot read (white space
        # before its <f>, as pretty-printed XML has, or ``r`` not first) would otherwise be
        # silently skipped.
        data = sheet.data
        return len(cells) == data.count(b"<f>") + data.count(b"<f ") + data.count(b"<f/>")

    def _scan_general(self, sheet: Sheet) -> None:
        """Every row and cell: handles prefixes, array ranges and cells without ``r``."""
        data, prefix = sheet.data, sheet.prefix
        p = re.escape(prefix)
        scanner = re.compile(rb"<" + p + rb"row\b([^>]*)>|<" + p + rb"c\b([^>]*?)(/>|>(.*?)</" + p + rb"c>)", re.S)
        f_re = re.compile(rb"<" + p + rb"f\b([^>]*?)(?:/>|>(.*?)</" + p + rb"f>)", re.S)
        f_open = b"<" + prefix + b"f"
        arrays: list[tuple[int, int, int, int]] = []
        dynamic = b" cm=" in data
        row = -1
        col = -1
        for match in scanner.finditer(data):
            row_attrs = match.group(1)
            if row_attrs is not None:
                r = _attrs(row_attrs).get(b"r")
                row = int(r) - 1 if r else row + 1
                col = -1
                continue
            attrs_text = match.group(2)
            children = match.group(4)
            is_formula = children is not None and f_open in children
            r_match = re.search(rb'\br\s*=\s*["\']([A-Za-z$]+[0-9$]+)["\']', attrs_text)
            if r_match:
                row, col = _parse_ref(r_match.group(1))
            else:
                col += 1
            if dynamic and children:
                sheet.occupied.add((row, col))
            if not is_formula:
                if not arrays or not any(a <= row <= c and b <= col <= d for a, b, c, d in arrays):
                    continue
            attrs = _attrs(attrs_text)
            t = attrs.get(b"t", b"n").decode()
            f_match = f_re.search(children) if is_formula else None
            children = children or b""
            cell = Cell(
                ref=f"{col_name(col)}{row + 1}",
                row=row,
                col=col,
                start=match.start(),
                end=match.end(),
                attrs=attrs_text,
                f_xml=f_match.group(0) if f_match else b"",
                ext_xml=_ext(children, prefix),
                t=t,
                old=self._cached(t, children, prefix),
            )
            if f_match:
                f_attrs = _attrs(f_match.group(1))
                text = _unescape(f_match.group(2)) if f_match.group(2) else ""
                cell.formula = text or None
                kind = f_attrs.get(b"t")
                if kind == b"shared":
                    si = f_attrs.get(b"si", b"").decode()
                    cell.shared_index = si
                    if text:
                        sheet.shared_masters[si] = text
                        sheet.shared_origins[si] = (row, col)
                elif kind == b"array" and f_attrs.get(b"ref"):
                    area = _parse_range(f_attrs[b"ref"])
                    area = (row, col, max(area[2], row), max(area[3], col))  # anchored at the cell
                    arrays.append(area)
                    sheet.arrays[(row, col)] = area
                    if dynamic and attrs.get(b"cm") and self._dynamic_arrays():
                        sheet.dynamic.add((row, col))
            sheet.cells.append(cell)
        self._add_missing_members(sheet)

    def _dynamic_arrays(self) -> bool:
        """Whether the workbook's cell metadata marks dynamic arrays (Excel 365)."""
        return any(b"XLDAPR" in self.parts[name] for name in list(self.parts) if name.lower().endswith("metadata.xml"))

    @staticmethod
    def _add_missing_members(sheet: Sheet) -> None:
        """Cells of array ranges that the XML leaves out (openpyxl writes the anchor only)."""
        if not sheet.arrays:
            return
        present = {(c.row, c.col) for c in sheet.cells}
        for r1, c1, r2, c2 in sheet.arrays.values():
            if (r2 - r1 + 1) * (c2 - c1 + 1) > 1_000_000:
                raise BadWorkbook(f"array formula range of {(r2 - r1 + 1) * (c2 - c1 + 1)} cells in {sheet.part}")
            for r in range(r1, r2 + 1):
                for c in range(c1, c2 + 1):
                    if (r, c) not in present:
                        present.add((r, c))
                        ref = f"{col_name(c)}{r + 1}"
                        sheet.cells.append(
                            Cell(ref, r, c, _NO_SPAN, _NO_SPAN, b' r="' + ref.encode() + b'"', b"", b"", "n", None,
                                 virtual=True)
                        )  # fmt: skip

    def _cached(self, t: str, children: bytes, prefix: bytes) -> Value | None:
        """The cached value in a cell's children (after its <f>), or None."""
        if not children:
            return None
        if children in (b"<v/>", b"<v />", b"<v></v>"):
            # Excel stores a formula's empty-text result so; openpyxl a value not computed.
            return "" if t == "str" else None
        if not prefix and t == "n" and children.startswith(b"<v>"):
            end = children.find(b"</v>")
            if end > 0:  # the common case, without a regex
                text = children[3:end].strip()
                return float(text) if text else None
        if t == "inlineStr":
            p = re.escape(prefix)
            texts = re.findall(rb"<" + p + rb"t\b[^>]*>(.*?)</" + p + rb"t>", children, re.S)
            return decode_text(b"".join(texts)) if texts else None
        v_match = re.search(
            rb"<" + re.escape(prefix) + rb"v\b[^>]*?(?:/>|>(.*?)</" + re.escape(prefix) + rb"v>)", children, re.S
        )
        if not v_match:
            return None
        raw = v_match.group(1)
        if raw is None:
            return "" if t == "str" else None
        if t == "n":
            text = raw.strip()
            return float(text) if text else None
        if t == "str":
            return decode_text(raw)
        if t == "d":
            return _unescape(raw)
        if t == "s":
            return self.shared_string(int(raw))
        if t == "b":
            return raw.strip() in (b"1", b"true")
        if t == "e":
            text = _unescape(raw).strip()
            return ExcelError.parse(text) or OtherError(text.upper())
        return None

    # ------------------------------------------------------------------ LibreOffice's copy

    def calls_ours(self) -> set[str]:
        """The registry functions any formula or defined name of the workbook calls."""
        names = set()
        for sheet in self.sheets:
            names |= formulas.spellings(c.formula for c in sheet.cells if c.formula)
        names |= formulas.spellings(self._defined_names())
        return {formulas.our_name(None, n) for n in names} - {None}

    def _defined_names(self) -> list[str]:
        return [text for _, text in self.defined_names()]

    def defined_names(self) -> list[tuple[str, str]]:
        """(name, formula text) of every defined name of the workbook."""
        wb = self.parts[self.workbook_part]
        if b"definedName" not in wb:
            return []
        out = []
        for attrs, text in re.findall(rb"<(?:\w+:)?definedName\b([^>]*)>(.*?)</(?:\w+:)?definedName>", wb, re.S):
            name = _attrs(attrs).get(b"name", b"")
            out.append((_unescape(name), _unescape(text)))
        return out

    def engine_copy(
        self,
        folder: Path,
        constants: set[tuple[str, int, int]] | frozenset = frozenset(),
        extra: dict[str, dict[tuple[int, int], bytes]] | None = None,
    ) -> Path:
        """The file LibreOffice should load: this one, or a copy with our calls spelt for Calc.

        Only formula text changes in the copy (see :mod:`xlfuncs.recalc.formula`); the
        original is never touched. ``constants`` holds (part, row, col) of formula cells
        LibreOffice cannot compute: in the copy they are constants holding their cached
        value, so the cells depending on them are computed from what Excel computed.
        Spill references (``A1#``, stored as ``_xlfn.ANCHORARRAY(A1)``) become the range
        of that spill. ``extra`` adds cells (sheet part -> (row, col) -> XML) to the copy.
        """
        changed: dict[str, bytes] = {}
        extra = extra or {}
        self.grouped = False
        anchors = {sheet.name.casefold(): sheet for sheet in self.sheets if sheet.arrays}
        for sheet in self.sheets:
            names = formulas.spellings(c.formula for c in sheet.cells if c.formula)
            hit = formulas.spelling_filter(names) if names else None
            replacements = [
                (cell, self._constant_xml(sheet.prefix, cell))
                for cell in sheet.cells
                if not cell.virtual and (sheet.part, cell.row, cell.col) in constants
            ]
            if hit is not None and self.vectorise:
                replacements += self._group_replacements(sheet, hit, constants)
            replacements += self._resize_replacements(sheet)
            data = _splice(sheet.data, replacements) if replacements else sheet.data
            if extra.get(sheet.part):
                data = _insert_cells(data, sheet.prefix, extra[sheet.part])
                hit = formulas.spelling_filter(
                    names | formulas.spellings(_unescape(x) for x in extra[sheet.part].values())
                )
            if hit is not None:
                new = self._normalised_part(data, sheet.prefix, b"f", hit)
                data = new if new is not None else data
            if anchors and _ANCHORARRAY.search(data):
                data = _ANCHORARRAY.sub(lambda m, own=sheet: _spill_range(m, own, anchors), data)
            if data is not sheet.data:
                changed[sheet.part] = data
        names = formulas.spellings(self._defined_names())
        book = self.parts[self.workbook_part]
        if names:
            new = self._normalised_part(book, rb"(?:\w+:)?", b"definedName", formulas.spelling_filter(names))
            book = new if new is not None else book
        if anchors and _ANCHORARRAY.search(book):
            book = _ANCHORARRAY.sub(lambda m: _spill_range(m, None, anchors), book)
        if book is not self.parts[self.workbook_part]:
            changed[self.workbook_part] = book
        styles = self._styles_part()
        if styles is not None:
            general = _XF_NUMFMT.sub(rb"\g<1>0\g<2>", self.parts[styles])
            if general != self.parts[styles]:
                changed[styles] = general
        if not changed:
            return self.path
        target = folder / ("engine" + self.path.suffix.lower())
        # Stored, not deflated: LibreOffice reads it once, and compressing costs time.
        with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as out:
            for info in self.infos:
                if info.is_dir():
                    continue
                out.writestr(info.filename, changed.get(info.filename, self.parts[info.filename]))
        return target

    # ------------------------------------------------------------------ dynamic arrays

    def size_probes(self, anchors: list[tuple[Sheet, Cell]]) -> dict[str, dict[tuple[int, int], bytes]]:
        """Cells computing ``ROWS()`` and ``COLUMNS()`` of each dynamic array's formula.

        They go below everything else on the anchor's sheet, in LibreOffice's copy only
        (:meth:`engine_copy`'s ``extra``); see :meth:`probe_positions`.
        """
        out: dict[str, dict[tuple[int, int], bytes]] = {}
        for (sheet, anchor), (_, row, _) in zip(anchors, self.probe_positions(anchors)):
            p = sheet.prefix
            text = _escape(anchor.formula or "")
            cells = out.setdefault(sheet.part, {})
            for c, fn in ((0, b"ROWS"), (1, b"COLUMNS")):
                ref = f"{col_name(c)}{row + 1}".encode()
                cells[(row, c)] = (
                    b"<" + p + b'c r="' + ref + b'"><' + p + b'f t="array" ref="' + ref + b'">' + fn + b"(" + text
                    + b")</" + p + b"f></" + p + b"c>"
                )  # fmt: skip
        return out

    def probe_positions(self, anchors: list[tuple[Sheet, Cell]]) -> list[tuple[Sheet, int, int]]:
        """Where :meth:`size_probes` puts each anchor's probe: (sheet, row, col 0)."""
        next_row: dict[str, int] = {}
        out = []
        for sheet, _ in anchors:
            if sheet.part not in next_row:
                rows = [int(r) for r in re.findall(rb"<(?:\w+:)?row\b[^>]*?\br\s*=\s*[\"']([0-9]+)", sheet.data)]
                last = max(rows + [c.row + 1 for c in sheet.cells] + [a[2] + 1 for a in sheet.arrays.values()])
                next_row[sheet.part] = last + 1  # 0-based: one empty row, then the probes
            out.append((sheet, next_row[sheet.part], 0))
            next_row[sheet.part] += 1
        return out

    def resize(self, sheet: Sheet, anchor: Cell, rows: int, cols: int) -> None:
        """Give a dynamic array the size its formula now has, as Excel does.

        Cells it no longer covers are cleared, cells it newly covers are created; a spill
        onto a cell holding something is blocked: the anchor becomes ``#SPILL!`` and
        covers itself only (:attr:`Sheet.blocked`).
        """
        r1, c1, r2, c2 = sheet.arrays[(anchor.row, anchor.col)]
        new = (anchor.row, anchor.col, anchor.row + rows - 1, anchor.col + cols - 1)
        if new == (r1, c1, r2, c2) or rows < 1 or cols < 1 or new[2] > 1_048_575 or new[3] > 16_383:
            return
        others = [a for k, a in sheet.arrays.items() if k != (anchor.row, anchor.col)]
        blocked = any(
            ((r, c) in sheet.occupied and not (r1 <= r <= r2 and c1 <= c <= c2))
            or any(a[0] <= r <= a[2] and a[1] <= c <= a[3] for a in others)
            for r in range(new[0], new[2] + 1)
            for c in range(new[1], new[3] + 1)
        )
        if blocked:
            sheet.blocked.add((anchor.row, anchor.col))
            new = (anchor.row, anchor.col, anchor.row, anchor.col)
        inside = lambda r, c: new[0] <= r <= new[2] and new[1] <= c <= new[3]  # noqa: E731
        keep = []
        for cell in sheet.cells:
            if r1 <= cell.row <= r2 and c1 <= cell.col <= c2 and cell is not anchor and not inside(cell.row, cell.col):
                if not cell.virtual:
                    sheet.cleared.append(cell)
                continue
            keep.append(cell)
        sheet.cells[:] = keep
        old_f = anchor.f_xml
        ref = f"{col_name(new[1])}{new[0] + 1}"
        if new[2:] != new[:2]:
            ref += f":{col_name(new[3])}{new[2] + 1}"
        anchor.f_xml = re.sub(rb"""\bref\s*=\s*(["'])[^"']*\1""", b'ref="' + ref.encode() + b'"', old_f, count=1)
        sheet.resized[(anchor.row, anchor.col)] = (old_f, anchor.f_xml)
        sheet.arrays[(anchor.row, anchor.col)] = new
        self._add_missing_members(sheet)

    @staticmethod
    def _resize_replacements(sheet: Sheet) -> list[tuple[Cell, bytes]]:
        """LibreOffice's copy of resized arrays: the anchors' new ``ref``, cleared cells empty."""
        out = []
        for cell in sheet.cells:
            change = sheet.resized.get((cell.row, cell.col))
            if change and not cell.virtual:
                out.append((cell, sheet.data[cell.start : cell.end].replace(change[0], change[1], 1)))
        out += [(cell, _empty_xml(sheet.prefix, cell)) for cell in sheet.cleared]
        return out

    def _styles_part(self) -> str | None:
        for kind, target in _rels(self.parts, self.workbook_part).values():
            if kind.endswith("/styles") and target in self.parts:
                return target
        return None

    @staticmethod
    def _constant_xml(prefix: bytes, cell: Cell) -> bytes:
        """A formula cell as a constant holding its cached value (for LibreOffice's copy)."""
        attrs = _attrs(cell.attrs)
        keep = b"".join(b" " + k + b'="' + attrs[k] + b'"' for k in (b"r", b"s") if k in attrs)
        value = cell.old
        if value is None:
            return b"<" + prefix + b"c" + keep + b"/>"
        if isinstance(value, bool):
            t, body = b' t="b"', b"<" + prefix + b"v>" + (b"1" if value else b"0") + b"</" + prefix + b"v>"
        elif isinstance(value, (ExcelError, OtherError)):
            t, body = b' t="e"', b"<" + prefix + b"v>" + _escape(str.__str__(value)) + b"</" + prefix + b"v>"
        elif isinstance(value, str):
            text = b"<" + prefix + b't xml:space="preserve">' + encode_text(value) + b"</" + prefix + b"t>"
            t, body = b' t="inlineStr"', b"<" + prefix + b"is>" + text + b"</" + prefix + b"is>"
        else:
            t, body = b"", b"<" + prefix + b"v>" + format_number(float(value)).encode() + b"</" + prefix + b"v>"
        return b"<" + prefix + b"c" + keep + t + b">" + body + b"</" + prefix + b"c>"

    def vector_groups(self, sheet: Sheet, hit: re.Pattern) -> list[tuple[tuple, list[Cell]]]:
        """Runs of cells down a column that one vectorised array formula can compute.

        See :func:`xlfuncs.recalc.formula.vector_key`. A shared formula joins a run only
        with every cell that shares it; array formulas never do.
        """
        by_shared: dict[str, int] = {}
        for cell in sheet.cells:
            if cell.shared_index is not None:
                by_shared[cell.shared_index] = by_shared.get(cell.shared_index, 0) + 1
        candidates = []
        for cell in sheet.cells:
            if b"array" in cell.f_xml or not cell.f_xml:
                continue
            if cell.shared_index is None:
                text, row = cell.formula, cell.row
            else:
                origin = sheet.shared_origins.get(cell.shared_index)
                if origin is None or origin[1] != cell.col:
                    continue
                text, row = sheet.shared_masters[cell.shared_index], origin[0]
            if not text or not hit.search(text):
                continue
            key = formulas.vector_key(text, row + 1)
            if key is not None:
                candidates.append((cell.col, cell.row, key, cell))
        candidates.sort(key=lambda c: (c[0], c[1]))
        groups = []
        run: list = []

        def close(run):
            if len(run) < formulas.MIN_GROUP:
                return
            key, cells = run[0][2], [c[3] for c in run]
            first, last = cells[0].row + 1, cells[-1].row + 1
            if formulas.overlaps(key, sheet.name, col_name(cells[0].col), first, last):
                return
            shared: dict[str, int] = {}
            for cell in cells:
                if cell.shared_index is not None:
                    shared[cell.shared_index] = shared.get(cell.shared_index, 0) + 1
            if any(by_shared[si] != count for si, count in shared.items()):
                return
            groups.append((key, cells))

        for candidate in candidates:
            if run and (candidate[0] != run[-1][0] or candidate[1] != run[-1][1] + 1 or candidate[2] != run[-1][2]):
                close(run)
                run = []
            run.append(candidate)
        close(run)
        return groups

    def _group_replacements(self, sheet: Sheet, hit: re.Pattern, constants) -> list[tuple[Cell, bytes]]:
        """Every column group of the sheet as one array formula: (cell, new XML) pairs."""
        groups = self.vector_groups(sheet, hit)
        p = sheet.prefix
        replacements = []
        for key, cells in groups:
            if any((sheet.part, c.row, c.col) in constants for c in cells):
                continue
            self.grouped = True
            first, last = cells[0], cells[-1]
            ref = f"{first.ref}:{last.ref}".encode()
            text = _escape(formulas.vector_formula(key, first.row + 1, last.row + 1))
            anchor = b"<" + p + b'c r="' + first.ref.encode() + b'"><' + p + b'f t="array" ref="' + ref + b'">'
            replacements.append((first, anchor + text + b"</" + p + b"f></" + p + b"c>"))
            for cell in cells[1:]:
                replacements.append((cell, b"<" + p + b'c r="' + cell.ref.encode() + b'"/>'))
        return replacements

    @staticmethod
    def _normalised_part(data: bytes, prefix: bytes, tag: bytes, hit: re.Pattern) -> bytes | None:
        """``data`` with the text of every <tag> element that calls ours normalised."""
        p = prefix if prefix.startswith(b"(?") else re.escape(prefix)
        # Only elements whose text contains one of the spellings match, so the Python
        # callback runs for the formulas to rewrite and not for every formula.
        element = re.compile(
            rb"(<" + p + tag + rb"\b[^>]*>)([^<]*?(?:" + hit.pattern.encode() + rb")[^<]*)(</" + p + tag + rb">)"
        )

        def fix(match):
            array = b"array" in match.group(1) and _T_ATTR.search(match.group(1)).group(1) == b"array"
            new, _ = formulas.normalise_xml(match.group(2).decode("utf-8"), array)
            return match.group(1) + new.encode("utf-8") + match.group(3)

        new = element.sub(fix, data)
        return None if new == data else new

    # ------------------------------------------------------------------ writing

    def patched(self, updates: dict[str, list[tuple[Cell, Value]]]) -> dict[str, bytes]:
        """New bytes of every worksheet part with changed formula values.

        Parameters
        ----------
        updates : dict
            Sheet part (or sheet name) -> [(cell, new value)]. Cells of an array range
            missing from the XML are created, in row and column order.
        """
        out: dict[str, bytes] = {}
        for sheet in self.sheets:
            sheet_updates = updates.get(sheet.part, updates.get(sheet.name))
            if not sheet_updates and not sheet.cleared:
                continue
            sheet_updates = sheet_updates or []
            real = [(cell, self._cell_xml(sheet, cell, new)) for cell, new in sheet_updates if not cell.virtual]
            real += [(cell, _empty_xml(sheet.prefix, cell)) for cell in sheet.cleared]
            data = _splice(sheet.data, real) if real else sheet.data
            virtual = {(c.row, c.col): self._cell_xml(sheet, c, v) for c, v in sheet_updates if c.virtual}
            if virtual:
                data = _insert_cells(data, sheet.prefix, virtual)
            out[sheet.part] = data
        return out

    @staticmethod
    def _cell_xml(sheet: Sheet, cell: Cell, value: Value) -> bytes:
        prefix = sheet.prefix
        v_open = b"v>"
        if isinstance(value, bool):
            t, text = b"b", (b"1" if value else b"0")
        elif isinstance(value, ExcelError):
            t, text = b"e", value.value.encode()
        elif isinstance(value, OtherError):
            t, text = b"e", _escape(str.__str__(value))
        elif isinstance(value, str):
            t, text = b"str", encode_text(value)
            if value[:1].isspace() or value[-1:].isspace():
                v_open = b'v xml:space="preserve">'
        else:
            t, text = None, format_number(float(value)).encode()
        attrs = cell.attrs
        if b"t=" in attrs:
            attrs = _T_ATTR_WITH_SPACE.sub(b"", attrs)
        attrs = attrs.rstrip()
        if attrs.endswith(b"/"):
            attrs = attrs[:-1].rstrip()
        if t is not None:
            attrs += b' t="' + t + b'"'
        # Keep <f> and <extLst> as they are; the old <v> or inline <is> goes.
        return b"".join(
            (b"<", prefix, b"c", attrs, b">", cell.f_xml, b"<", prefix, v_open, text, b"</", prefix, b"v>",
             cell.ext_xml, b"</", prefix, b"c>")
        )  # fmt: skip

    def write(self, target: Path, changed: dict[str, bytes], updates: dict | None = None) -> None:
        """Write this workbook with ``changed`` parts to ``target``, atomically and checked.

        Every entry keeps its name, order, time stamp, attributes and compression; the
        content of every entry not in ``changed`` is byte-identical. Before the file
        appears under ``target`` it is read back (black's "equivalent and stable" check):
        the zip and every part other than the patched sheets must be identical, the
        patched sheets well-formed, and their cached values the ones intended (``updates``,
        sheet part -> [(cell, value)]); otherwise :class:`BadWorkbook` and ``target`` is
        not touched. The file appears only when complete (temporary file, fsync, rename).
        """
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as handle:
                with zipfile.ZipFile(handle, "w") as out:
                    for info in self.infos:
                        clone = zipfile.ZipInfo(info.filename, date_time=info.date_time)
                        clone.compress_type = info.compress_type
                        clone.external_attr = info.external_attr
                        clone.create_system = info.create_system
                        clone.comment = info.comment
                        clone.extra = info.extra
                        if info.is_dir():
                            out.writestr(clone, b"")
                            continue
                        data = changed.get(info.filename)
                        if data is None:
                            out.writestr(clone, self.parts[info.filename])
                        else:
                            # A rewritten sheet can be megabytes: deflate level 1 is three
                            # times faster than the default and any zip reader inflates it.
                            level = 1 if len(data) > 1024**2 and clone.compress_type == zipfile.ZIP_DEFLATED else None
                            out.writestr(clone, data, compresslevel=level)
                handle.flush()
                os.fsync(handle.fileno())
            self.verify(tmp, changed, updates)
            try:
                mode = stat.S_IMODE(os.stat(target if target.exists() else self.path).st_mode)
                os.chmod(tmp, mode)
            except OSError:
                pass
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def verify(self, path: Path, changed: dict[str, bytes], updates: dict | None) -> None:
        """Read a written workbook back; :class:`BadWorkbook` unless it is what was meant.

        ``updates`` (sheet part or name -> [(cell, value)]) are the values meant; without
        them only the zip, the unchanged parts and well-formedness are checked.
        """

        def refuse(why: str) -> None:
            raise BadWorkbook(f"safety check failed, nothing written: {why}")

        written: dict[str, bytes] = {}  # the patched parts; the others compared one by one
        try:
            with zipfile.ZipFile(path) as zf:
                infos = zf.infolist()
                if [i.filename for i in infos] != [i.filename for i in self.infos]:
                    refuse("the zip entries differ")
                for info in infos:
                    if info.is_dir():
                        continue
                    data = zf.read(info)
                    if info.filename in changed:
                        written[info.filename] = data
                    if data != changed.get(info.filename, self.parts.get(info.filename)):
                        refuse(f"{info.filename} is not what was meant to be written")
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            refuse(f"the output is not a readable zip ({exc})")
        by_part = {sheet.part: sheet for sheet in self.sheets}
        for name in changed:
            well_formed(name, written[name])
            sheet = by_part.get(name)
            if sheet is None or updates is None:
                continue
            again = self._scan(sheet.name, name, written[name])
            got = {(c.row, c.col): c.old for c in again.cells}
            intended = {(c.row, c.col): c.old for c in sheet.cells if not c.virtual}
            meant = updates.get(name, updates.get(sheet.name, ()))
            intended.update({(c.row, c.col): v for c, v in meant})
            for (row, col), value in intended.items():
                if (row, col) not in got or not _identical(got[(row, col)], value):
                    where = f"{sheet.name}!{col_name(col)}{row + 1}"
                    refuse(f"{where} reads back as {show(got.get((row, col)))}, not {show(value)}")


def _identical(read: Value | None, meant: Value | None) -> bool:
    """A value read back from what was written is the one meant (numbers as written)."""
    if isinstance(meant, (int, float)) and not isinstance(meant, bool) and isinstance(read, float):
        return format_number(float(meant)) == format_number(read)
    if type(meant) is not type(read) and not (isinstance(meant, str) and isinstance(read, str)):
        return False
    return read == meant


def well_formed(name: str, data: bytes) -> None:
    """:class:`BadWorkbook` unless ``data`` is well-formed XML without a DTD (expat, fast)."""
    from xml.parsers import expat  # noqa: PLC0415

    parser = expat.ParserCreate()

    def no_dtd(*_args):
        raise BadWorkbook(f"safety check failed, nothing written: {name} declares a DTD")

    parser.StartDoctypeDeclHandler = no_dtd
    parser.EntityDeclHandler = no_dtd
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise BadWorkbook(f"safety check failed, nothing written: {name} is not well-formed XML ({exc})") from None


_ROW_TAG = re.compile(rb"<(\w+:)?row\b([^>]*?)(/?)>")
_SHEET_DATA_END = re.compile(rb"</(\w+:)?sheetData>|<(\w+:)?sheetData\s*/>")
_CELL_REF = re.compile(rb"<(?:\w+:)?c\b[^>]*?\br\s*=\s*[\"']([A-Za-z]{1,3})[0-9]+[\"']")


def _insert_cells(data: bytes, prefix: bytes, cells: dict[tuple[int, int], bytes]) -> bytes:
    """``data`` (a sheet part) with new ``<c>`` elements inserted at their row and column.

    Rows that do not exist are created in order; existing cells are not touched.
    """
    by_row: dict[int, list[tuple[int, bytes]]] = {}
    for (row, col), xml in cells.items():
        by_row.setdefault(row, []).append((col, xml))
    pending = sorted(by_row)
    pieces: list[bytes] = []
    pos = 0

    def new_row(row: int) -> bytes:
        inner = b"".join(xml for _, xml in sorted(by_row[row]))
        return b"<" + prefix + b'row r="' + str(row + 1).encode() + b'">' + inner + b"</" + prefix + b"row>"

    row = -1
    for match in _ROW_TAG.finditer(data):
        r = _attrs(match.group(2)).get(b"r")
        row = int(r) - 1 if r else row + 1
        while pending and pending[0] < row:
            pieces += [data[pos : match.start()], new_row(pending.pop(0))]
            pos = match.start()
        if not pending or pending[0] != row:
            continue
        pending.pop(0)
        new = sorted(by_row[row])
        if match.group(3):  # <row .../>: becomes <row ...>cells</row>
            open_tag = data[match.start() : match.end()][:-2].rstrip() + b">"
            inner = b"".join(xml for _, xml in new)
            pieces += [data[pos : match.start()], open_tag, inner, b"</" + prefix + b"row>"]
            pos = match.end()
            continue
        end = data.find(b"</" + prefix + b"row>", match.end())
        body = data[match.end() : end]
        out, last = [], 0
        for cell in re.finditer(rb"<(?:\w+:)?c\b[^>]*?(?:/>|>.*?</(?:\w+:)?c>)", body, re.S):
            ref = _CELL_REF.match(cell.group(0))
            col = _parse_ref(ref.group(1) + b"1")[1] if ref else -1
            while new and new[0][0] < col:
                out += [body[last : cell.start()], new.pop(0)[1]]
                last = cell.start()
        out.append(body[last:])
        out += [xml for _, xml in new]
        pieces += [data[pos : match.end()], b"".join(out)]
        pos = end
    if pending:
        tail = _SHEET_DATA_END.search(data, pos)
        if tail is None:
            raise BadWorkbook("corrupt worksheet: no sheetData")
        rows = b"".join(new_row(r) for r in pending)
        if tail.group(0).endswith(b"/>"):
            sd = b"<" + prefix + b"sheetData>" + rows + b"</" + prefix + b"sheetData>"
            pieces += [data[pos : tail.start()], sd]
            pos = tail.end()
        else:
            pieces += [data[pos : tail.start()], rows]
            pos = tail.start()
    pieces.append(data[pos:])
    return b"".join(pieces)


def copy_unchanged(source: Path, target: Path) -> None:
    """Write an unchanged workbook to ``target`` atomically (byte-identical copy)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        shutil.copyfile(source, tmp_name)
        shutil.copymode(source, tmp_name)
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
