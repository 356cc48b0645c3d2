"""The xlsx package as a zip of XML parts: read it safely, write it atomically and checked.

Safety, before anything reaches LibreOffice or an XML parser:

* not a zip, or an OLE compound file (what Office writes for a password-protected
  workbook) -> :class:`BadWorkbook` with a one-line reason;
* a zip bomb: too many entries, too much declared data, an implausible compression ratio
  (per entry, and over the whole archive), or an entry that inflates past (or short of)
  its declared size. Entries are inflated in chunks; only the parts that are parsed are
  kept in memory, the others are read again on demand (:class:`Parts`);
* an XML bomb: every entry, whatever its name, padding or encoding, is fed whole to
  defusedxml's parser, which refuses a document type declaration (the carrier of entity
  expansion and external entities) wherever it appears; parts named ``.xml``/``.rels``
  must be well-formed (:class:`XmlCheck`).

And after: :func:`write_package` writes every entry with its original name, order, time
stamp and attributes, and lets the caller read the result back before it replaces
anything (temporary file, fsync, rename).
"""

from __future__ import annotations

import io
import itertools
import os
import shutil
import signal
import stat
import struct
import tempfile
import weakref
import zipfile
import zlib
from array import array
from collections.abc import Callable
from pathlib import Path, PurePosixPath

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

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
NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
REL_OFFICE_DOC = "/officeDocument"
REL_WORKSHEET = "/worksheet"
REL_SHARED_STRINGS = "/sharedStrings"


class BadWorkbook(Exception):
    """A workbook recalc refuses; ``str()`` is the one-line reason (without the file name)."""


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


def read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, sink=None, keep: bool = True) -> bytes:
    """An entry's content, inflated in chunks, never past its declared size.

    ``sink`` sees every chunk (the XML check); with ``keep`` False nothing is held.
    """
    # Into one growing buffer, whose bytes getvalue() hands over without a copy: a list of
    # chunks joined at the end held a sheet twice for a moment (150 MB at 100,000 rows, the
    # client's peak). The buffer grows by realloc, which moves large blocks without copying.
    kept = io.BytesIO() if keep else None
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
                if kept is not None:
                    kept.write(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        raise BadWorkbook(f"corrupt zip archive: {info.filename}: {exc}") from None
    if seen != info.file_size:
        raise BadWorkbook(f"corrupt zip archive: {info.filename} holds {seen} bytes, not the {info.file_size} declared")
    return kept.getvalue() if kept is not None else b""


class XmlCheck:
    """Feeds one part, chunk by chunk, to a DTD-refusing parser (defusedxml over expat).

    Every part goes through it, whatever its name or encoding: expat reads UTF-8 and
    UTF-16 (with or without a byte-order mark) and skips any amount of white space before
    a DOCTYPE, so a declaration is found wherever a parser would find it. A part that is
    not XML (an image, a VBA project) fails on its first bytes and costs nothing more. A
    part whose name says XML must be well-formed; a malformed other part (Excel's legacy
    VML is not always well-formed) is left to whatever reads it.
    """

    __slots__ = ("name", "parser", "error", "must", "defer", "rooted", "fed")

    def __init__(self, name: str, defer: bool = False):
        self.name = name
        self.parser = _xml_parser()
        self.error: Exception | None = None
        self.must = _must_be_xml(name)
        #: Stop feeding once the root element has begun (see :meth:`finish`).
        self.defer = defer
        self.rooted = False
        self.fed = 0  # bytes fed so far
        if defer:
            self.parser.parser.StartElementHandler = self._root

    def _root(self, *_args) -> None:
        # No DTD can come after the root element's start tag: what is left can only be
        # malformed, not dangerous, and may be checked later (finish).
        self.rooted = True
        self.parser.parser.StartElementHandler = None

    def __call__(self, chunk: bytes) -> None:
        if self.parser is None or self.rooted:
            return
        self.fed += len(chunk)
        try:
            self.parser.feed(chunk)
        except DefusedXmlException as exc:
            raise BadWorkbook(f"XML bomb refused: {self.name} declares a DTD/entities ({type(exc).__name__})") from None
        except SafeET.ParseError as exc:
            self.parser = None
            if self.must:
                raise BadWorkbook(f"corrupt XML in {self.name}: {exc}") from None
            self.error = exc

    def feed_at(self, base: int, data: bytes) -> None:
        """Feed ``data``, found at offset ``base`` of the part, from where feeding stopped."""
        if self.parser is None:
            return
        self.rooted = False
        skip = self.fed - base
        if skip < 0:
            raise ValueError(f"{self.name}: a gap in the XML fed to the check")
        if skip < len(data):
            self(data[skip:] if skip else data)

    def finish(self, data: bytes | Streamed) -> None:
        """Feed the rest of a deferred part (``data`` is the whole part), then :meth:`close`."""
        if self.parser is not None:
            self.rooted = False
            if isinstance(data, Streamed):
                for piece in Forward(data.chunks()).take(self.fed, len(data)):
                    self(bytes(piece))
            else:
                for start in range(self.fed, len(data), _CHUNK):
                    self(data[start : start + _CHUNK])
        self.close()

    def close(self) -> None:
        if self.parser is None or self.rooted:
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


def parse_xml(part: str, data: bytes):
    try:
        return SafeET.fromstring(data, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise BadWorkbook(f"XML bomb refused: {part} declares a DTD/entities ({type(exc).__name__})") from None
    except SafeET.ParseError as exc:
        raise BadWorkbook(f"corrupt XML in {part}: {exc}") from None


def structure_parts(parts) -> set[str]:
    """The parts recalc reads (workbook, worksheets, shared strings), found before the
    checking pass so that it keeps them in memory; empty when the structure is broken
    (reported by the structure pass)."""
    try:
        office = [t for kind, t in rels(parts, "").values() if kind.endswith(REL_OFFICE_DOC)]
        if not office or office[0] not in parts:
            return set()
        out = {office[0]}
        for kind, target in rels(parts, office[0]).values():
            if kind.endswith((REL_WORKSHEET, REL_SHARED_STRINGS)):
                out.add(target)
        return out
    except BadWorkbook:
        return set()


class Parts(dict):
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

    def defer(self, info: zipfile.ZipInfo) -> None:
        self._lazy[info.filename] = info

    def __missing__(self, name: str) -> bytes:
        info = self._lazy.get(name)
        if info is None:
            raise KeyError(name)
        return read_member(self._zf, info)

    def streamed(self, name: str) -> Streamed | None:
        """The entry ``name`` as a :class:`Streamed` (None where it cannot be one)."""
        info = self._lazy.get(name)
        return Streamed.of(self._zf, info) if info is not None else None

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


class Streamed:
    """An entry of the still-open workbook, inflated again for each pass over it instead
    of held in memory (a sheet's XML is 100 bytes a formula cell: at 100,000 rows it was
    half of the client's peak while only LibreOffice worked).

    Every pass reads the compressed bytes with ``pread`` (no shared file offset: a forked
    child can read too) and checks what it inflated: never past the size declared, and
    at its end exactly that size and CRC. A workbook changed on disk since it was read
    fails the pass (:class:`BadWorkbook`), so nothing built from it is written.
    """

    __slots__ = ("name", "_handle", "_offset", "_packed", "_size", "_crc", "_deflated")

    def __init__(self, name: str, handle, offset: int, info: zipfile.ZipInfo):
        self.name, self._handle, self._offset = name, handle, offset
        self._packed, self._size, self._crc = info.compress_size, info.file_size, info.CRC
        self._deflated = info.compress_type == zipfile.ZIP_DEFLATED

    @classmethod
    def of(cls, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> Streamed | None:
        """``info``'s entry of ``zf``, or None: encrypted, compressed otherwise than
        stored or deflated, no ``pread`` (Windows), or a local header that does not
        read."""
        methods = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
        if not hasattr(os, "pread") or info.flag_bits & 1 or info.compress_type not in methods:
            return None
        try:
            header = os.pread(zf.fp.fileno(), 30, info.header_offset)
        except (OSError, ValueError, AttributeError):
            return None
        if len(header) != 30 or header[:4] != b"PK\x03\x04":
            return None
        name_size, extra_size = struct.unpack("<HH", header[26:30])
        return cls(info.filename, zf.fp, info.header_offset + 30 + name_size + extra_size, info)

    def __len__(self) -> int:
        return self._size

    def chunks(self, size: int = _CHUNK):
        """The entry's bytes, at most ``size`` at a time; checked (see the class)."""
        seen = crc = 0
        inflate = zlib.decompressobj(-zlib.MAX_WBITS) if self._deflated else None
        try:
            fd, pos, left = self._handle.fileno(), self._offset, self._packed
            while left > 0:
                raw = os.pread(fd, min(size, left), pos)
                if not raw:
                    break  # the file is shorter now: the size check below says so
                pos += len(raw)
                left -= len(raw)
                while raw:
                    if inflate is None:
                        out, raw = raw, b""
                    else:  # never more than size at once, whatever the input (a bomb)
                        out = inflate.decompress(raw, size)
                        raw = inflate.unconsumed_tail
                    if not out:
                        break
                    seen += len(out)
                    if seen > self._size:
                        raise BadWorkbook(f"{self.name} changed on disk while it was recalculated")
                    crc = zlib.crc32(out, crc)
                    yield out
            if inflate is not None and (out := inflate.flush()):
                seen += len(out)
                if seen <= self._size:
                    crc = zlib.crc32(out, crc)
                    yield out
        except (OSError, ValueError, zlib.error) as exc:
            raise BadWorkbook(f"{self.name} no longer reads as it did ({exc})") from None
        if seen != self._size or crc != self._crc:
            raise BadWorkbook(f"{self.name} changed on disk while it was recalculated")

    def read(self) -> bytes:
        """The whole entry (checked), for a pass that needs it all at once."""
        whole = io.BytesIO()
        for chunk in self.chunks():
            whole.write(chunk)
        return whole.getvalue()


class Forward:
    """The bytes of a :class:`Streamed` entry at offsets that never go back, holding one
    chunk at a time.

    Examples
    --------
    >>> ahead = Forward([b"<a>1</a>", b"<b>2</b>"])
    >>> ahead.bytes(3, 4), ahead.bytes(6, 11), [bytes(m) for m in ahead.take(14, 16)]
    (b'1', b'a><b>', [b'b>'])
    """

    __slots__ = ("_chunks", "_current", "_base")

    def __init__(self, chunks):
        self._chunks = iter(chunks)
        self._current = b""
        self._base = 0  # the offset of _current's first byte

    def take(self, start: int, end: int):
        """``[start, end)`` as views of the chunks it lies in (ValueError going back or
        past the end)."""
        if start < self._base:
            raise ValueError(f"offset {start} is behind the stream")
        while start < end:
            top = self._base + len(self._current)
            if start >= top:
                following = next(self._chunks, None)
                if following is None:
                    raise ValueError(f"offset {start} is past the end of the part")
                self._base, self._current = top, following
                continue
            stop = min(end, top)
            yield memoryview(self._current)[start - self._base : stop - self._base]
            start = stop

    def bytes(self, start: int, end: int) -> bytes:
        return b"".join(self.take(start, end))

    def finish(self) -> None:
        """Read to the end: the source's own checks run there."""
        for _ in self._chunks:
            pass


def rels(zf_parts: dict[str, bytes], part: str) -> dict[str, tuple[str, str]]:
    """Relationship id -> (type, target part path) of a part."""
    path = PurePosixPath(part)
    rels_part = str(path.parent / "_rels" / (path.name + ".rels")).lstrip("/")
    if rels_part.startswith("./"):
        rels_part = rels_part[2:]
    data = zf_parts.get(rels_part)
    if data is None:
        return {}
    out = {}
    for rel in parse_xml(rels_part, data):
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


def read_package(
    path: Path,
    owner: object,
    deferred: dict[str, XmlCheck] | None = None,
    stream: Callable[[zipfile.ZipInfo], Callable[[bytes], None] | None] | None = None,
) -> tuple[Parts, list[zipfile.ZipInfo]]:
    """The checked parts and zip entries of an xlsx/xlsm file; :class:`BadWorkbook` if unsafe.

    The file stays open for the parts read on demand (:class:`Parts`) and closes when
    ``owner`` (the object holding the parts) is garbage-collected. With ``deferred`` (a
    dict to fill), the worksheets are checked only up to their root element (so no DTD
    and no entity can be in them) and the check of the rest, well-formedness, is left in
    the dict (part name -> :class:`XmlCheck`, :meth:`XmlCheck.finish`), to be done while
    LibreOffice loads them. ``stream`` may take such a worksheet over: given its entry, it
    returns a sink that sees every chunk of it, and the worksheet is not held (read it
    again with :meth:`Parts.streamed`), or None.
    """
    try:
        handle = open(path, "rb")  # noqa: SIM115 - kept open: parts are read on demand
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
        _check_sizes(infos)
        parts = Parts(zf, [i.filename for i in infos if not i.is_dir()])
        for info in infos:
            if not info.is_dir():
                parts.defer(info)
        needed = structure_parts(parts)
        for info in infos:
            if info.is_dir():
                continue
            keep = info.filename in needed or (_must_be_xml(info.filename) and info.file_size <= KEEP_BYTES)
            later = deferred is not None and info.filename in needed and "worksheets/" in info.filename
            check = XmlCheck(info.filename, defer=later)
            sink = stream(info) if later and stream is not None else None
            if sink is not None:
                keep = False
                data = read_member(zf, info, lambda chunk, check=check, sink=sink: (check(chunk), sink(chunk)), keep)
            else:
                data = read_member(zf, info, check, keep)
            check.close()
            if later and check.rooted:
                deferred[info.filename] = check
            if keep:
                dict.__setitem__(parts, info.filename, data)
        # Parts are read on demand from this handle; it closes with its owner.
        weakref.finalize(owner, handle.close)
    except BadWorkbook:
        handle.close()
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, NotImplementedError, ValueError) as exc:
        handle.close()
        raise BadWorkbook(f"corrupt zip archive: {exc}") from None
    if "[Content_Types].xml" not in parts:
        raise BadWorkbook("not an xlsx/xlsm file (no [Content_Types].xml)")
    return parts, infos


def write_package(
    target: Path,
    infos: list[zipfile.ZipInfo],
    parts: dict[str, bytes],
    changed: dict[str, bytes | Patch],
    check: Callable[[Path], None],
    mode_of: Path,
) -> None:
    """Write a package with ``changed`` parts to ``target``, atomically and checked.

    Every entry keeps its name, order, time stamp, attributes and compression; the
    content of every entry not in ``changed`` is the one of ``parts``. ``check`` reads the
    written temporary file back (raising :class:`BadWorkbook` leaves ``target`` untouched);
    the file appears under ``target`` only when complete (temporary file, fsync, rename),
    with the mode of ``target`` if it exists, else of ``mode_of``.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            with zipfile.ZipFile(handle, "w") as out:
                for info in infos:
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
                        out.writestr(clone, parts[info.filename])
                        continue
                    # A rewritten sheet can be megabytes: deflate level 1 is three times
                    # faster than the default and any zip reader inflates it.
                    level = 1 if len(data) > 1024**2 and clone.compress_type == zipfile.ZIP_DEFLATED else None
                    if not isinstance(data, Patch):
                        out.writestr(clone, data, compresslevel=level)
                        continue
                    clone.file_size = len(data)  # known: Zip64 sizes only where needed, as writestr
                    _compresslevel(clone, level)
                    with out.open(clone, "w") as entry:
                        for chunk in data.chunks():
                            entry.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        check(tmp)
        try:
            mode = stat.S_IMODE(os.stat(target if target.exists() else mode_of).st_mode)
            os.chmod(tmp, mode)
        except OSError:
            pass
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def refuse(why: str) -> None:
    """The read-back check failed: :class:`BadWorkbook`, nothing written."""
    raise BadWorkbook(f"safety check failed, nothing written: {why}")


class Patch:
    """A part's new bytes: ``data`` with byte spans replaced, made in chunks, never whole.

    A patched sheet is written, read back and checked chunk by chunk from the original
    and the replacements: at no time is a second copy of a sheet of hundreds of
    megabytes held (it was the peak of a recalculation's memory). The spans are kept
    flat (two arrays of offsets, the replacements end to end in one buffer): a tuple and
    a bytes object per changed cell cost about 150 bytes each, and a forked child
    reading them (:class:`XmlCheckAside`) copied every page their reference counts are on.

    Parameters
    ----------
    data : bytes or Streamed
        The original part; a :class:`Streamed` one is inflated again at each pass.
    spans : iterable of (start, end, bytes)
        Byte spans of ``data`` and their replacements, in any order; they must not
        overlap. More can be added, in order, with :meth:`extend`.

    Examples
    --------
    >>> patch = Patch(b"<a>1</a><b>2</b>", [(11, 12, b"22"), (3, 4, b"")])
    >>> bytes(patch), len(patch), len(patch.starts)
    (b'<a></a><b>22</b>', 16, 2)
    """

    __slots__ = ("data", "starts", "ends", "blob", "offsets", "checked")

    def __init__(self, data: bytes | Streamed, spans=()):
        self.data = data
        #: The new values the spans were checked against as they were made, if they were.
        self.checked = None
        self.starts, self.ends, self.offsets = array("q"), array("q"), array("q", [0])
        self.blob = bytearray()
        self.extend(sorted(spans, key=lambda span: (span[0], span[1])))

    def extend(self, spans) -> None:
        """Replace ``data[start:end]`` by ``xml`` for each ``(start, end, xml)``, in order,
        after every span added before them."""
        starts, ends, offsets, blob, size = self.starts, self.ends, self.offsets, self.blob, len(self.data)
        last = ends[-1] if ends else 0
        for start, end, xml in spans:
            if start < last or end < start or end > size:
                raise ValueError(f"overlapping or misplaced span {start}..{end}")
            starts.append(start)
            ends.append(end)
            blob += xml
            offsets.append(len(blob))
            last = end

    def __len__(self) -> int:
        return len(self.data) + len(self.blob) - sum(self.ends) + sum(self.starts)

    def __bytes__(self) -> bytes:
        return b"".join(self.pieces())

    def spans(self):
        """(start, end, replacement) of each span, in order."""
        blob, offsets = memoryview(self.blob), self.offsets
        for i, (start, end) in enumerate(zip(self.starts, self.ends)):
            yield start, end, blob[offsets[i] : offsets[i + 1]]

    def pieces(self):
        """What the new bytes are, piece by piece: the original between the spans, and
        each span's replacement. The read-back check compares the written part with
        these (not with :meth:`chunks`, which it checks)."""
        if isinstance(self.data, Streamed):
            yield from self._streamed_pieces()
            return
        view, pos = memoryview(self.data), 0
        for start, end, xml in self.spans():
            yield view[pos:start]
            yield xml
            pos = end
        yield view[pos:]

    def _streamed_pieces(self):
        # Forward.take's work, inline: this runs twice or three times per changed cell.
        chunks = self.data.chunks()
        view, base, top, pos = memoryview(b""), 0, 0, 0
        for start, end, xml in itertools.chain(self.spans(), [(len(self.data), len(self.data), b"")]):
            while pos < start:
                if pos >= top:
                    chunk = next(chunks, None)
                    if chunk is None:
                        raise BadWorkbook(f"{self.data.name} ends before its changed cells")
                    view, base, top = memoryview(chunk), top, top + len(chunk)
                    continue
                stop = start if start < top else top
                yield view[pos - base : stop - base]
                pos = stop
            if xml:
                yield xml
            pos = end
        for _ in chunks:  # the source's checks run at its end
            pass

    def chunks(self, size: int = _CHUNK, boundary: bytes | None = None):
        """The new bytes in chunks of about ``size`` bytes; with ``boundary`` (``</c>``) a
        chunk ends only right after one, or where a replacement ends: no element inside
        a cell is cut, so each chunk can be rewritten on its own."""
        if isinstance(self.data, Streamed):
            if boundary is None:
                yield from _coalesced(self._streamed_pieces(), size)
                return
            out = bytearray()
            for piece in self._streamed_pieces():
                out += piece
                if len(out) >= size and (cut := out.rfind(boundary)) >= 0:
                    cut += len(boundary)
                    yield bytes(out[:cut])
                    del out[:cut]
            if out:
                yield bytes(out)
            return
        data, view = self.data, memoryview(self.data)
        out = bytearray()
        pos = 0
        for start, end, xml in itertools.chain(self.spans(), [(len(data), len(data), b"")]):
            while start - pos > size - len(out):
                cut = pos + max(size - len(out), 0)
                if boundary is not None:
                    found = data.find(boundary, cut, start)
                    if found < 0:
                        break
                    cut = found + len(boundary)
                out += view[pos:cut]
                pos = cut
                yield out
                out = bytearray()
            out += view[pos:start]
            out += xml
            pos = end
            if len(out) >= size:
                yield out
                out = bytearray()
        if out:
            yield out


def _chunks(part: bytes | Patch, meant: bool = False):
    """A part's bytes in chunks of about :data:`_CHUNK` (views of ``part`` itself if bytes;
    with ``meant``, a :class:`Patch` by its definition, :meth:`Patch.pieces`)."""
    if isinstance(part, Patch):
        yield from _coalesced(part.pieces()) if meant else part.chunks()
        return
    view = memoryview(part)
    for pos in range(0, len(part), _CHUNK):
        yield view[pos : pos + _CHUNK]


def _coalesced(pieces, size: int = _CHUNK):
    """Pieces joined into chunks of about ``size`` bytes (one comparison a chunk, not a
    piece: a million changed cells are two million pieces)."""
    out = bytearray()
    for piece in pieces:
        out += piece
        if len(out) >= size:
            yield out
            out = bytearray()
    if out:
        yield out


def _compresslevel(info: zipfile.ZipInfo, level: int | None) -> None:
    """Set the deflate level of an entry written through ``ZipFile.open(info, "w")``."""
    if hasattr(info, "compress_level"):  # Python 3.13+
        info.compress_level = level
    else:
        info._compresslevel = level


def read_back(
    path: Path,
    infos: list[zipfile.ZipInfo],
    parts: dict[str, bytes],
    changed: dict[str, bytes | Patch],
    xml_checked: bool = False,
) -> None:
    """Check a written package: :class:`BadWorkbook` unless the zip holds the same entries
    as ``infos``, every part byte-identical to the one meant (``changed``, else ``parts``),
    every changed part well-formed XML without a DTD (unless ``xml_checked``: the caller
    checks ``changed`` itself, see :class:`XmlCheckAside`; the written bytes are those).

    Each entry is inflated in chunks and compared as it comes: no second copy of a large
    sheet is held, whatever its size.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            got = zf.infolist()
            if [i.filename for i in got] != [i.filename for i in infos]:
                refuse("the zip entries differ")
            for info in got:
                if info.is_dir():
                    continue
                meant = changed.get(info.filename)
                parser = _well_formed_parser(info.filename) if meant is not None and not xml_checked else None
                if meant is None:
                    meant = parts.get(info.filename)
                if meant is None:
                    refuse(f"{info.filename} is not what was meant to be written")
                expected = _chunks(meant, meant=True)
                pending = memoryview(b"")
                with zf.open(info) as member:
                    while chunk := member.read(_CHUNK):
                        at = 0
                        while at < len(chunk):
                            while not pending:
                                more = next(expected, None)
                                if more is None:
                                    refuse(f"{info.filename} is not what was meant to be written")
                                pending = memoryview(more)
                            n = min(len(chunk) - at, len(pending))
                            if not chunk.startswith(pending[:n], at):
                                refuse(f"{info.filename} is not what was meant to be written")
                            at += n
                            pending = pending[n:]
                        if parser is not None:
                            _parse(parser, info.filename, chunk, False)
                if pending or any(len(more) for more in expected):
                    refuse(f"{info.filename} is not what was meant to be written")
                if parser is not None:
                    _parse(parser, info.filename, b"", True)
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
        refuse(f"the output is not a readable zip ({exc})")


class XmlCheckAside:
    """:func:`well_formed` of some parts in a forked child process, on the second core,
    while this one writes and reads back the zip; :meth:`result` waits for its verdict.

    The child reads the parts from its copy of this process's memory (nothing is copied
    up front), parses them and writes the first failure to a pipe, then ends without
    running any of this process's exit handlers.
    """

    def __init__(self, parts: dict[str, bytes | Patch]):
        self._read, write = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # the child
            message = b""
            try:
                os.close(self._read)
                for each in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                    signal.signal(each, signal.SIG_DFL)
                for name, data in parts.items():
                    well_formed(name, data)
            except BadWorkbook as exc:
                message = str(exc).encode("utf-8", "replace")
            except BaseException as exc:  # noqa: BLE001 - anything else: a failure too
                message = f"safety check failed, nothing written: XML check: {exc!r}".encode("utf-8", "replace")
            finally:
                try:
                    os.write(write, message or b"ok")
                finally:
                    os._exit(0)
        os.close(write)

    def result(self) -> None:
        """:class:`BadWorkbook` unless every part was well-formed."""
        chunks = []
        try:
            while chunk := os.read(self._read, 65536):
                chunks.append(chunk)
        finally:
            self.cancel()
        message = b"".join(chunks)
        if message != b"ok":
            raise BadWorkbook(
                message.decode("utf-8", "replace") or "safety check failed, nothing written: XML check died"
            )

    def cancel(self) -> None:
        """End the child (if still running) and release it."""
        if not self.pid:
            return
        pid, self.pid = self.pid, 0
        try:
            if os.waitpid(pid, os.WNOHANG) == (0, 0):  # still parsing: not wanted any more
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
        except ChildProcessError:
            pass  # reaped already
        os.close(self._read)


def _well_formed_parser(name: str):
    """An expat parser that refuses a DTD (see :func:`well_formed`)."""
    from xml.parsers import expat  # noqa: PLC0415

    parser = expat.ParserCreate()

    def no_dtd(*_args):
        raise BadWorkbook(f"safety check failed, nothing written: {name} declares a DTD")

    parser.StartDoctypeDeclHandler = no_dtd
    parser.EntityDeclHandler = no_dtd
    return parser


def _parse(parser, name: str, data: bytes, final: bool) -> None:
    from xml.parsers import expat  # noqa: PLC0415

    try:
        parser.Parse(data, final)
    except expat.ExpatError as exc:
        raise BadWorkbook(f"safety check failed, nothing written: {name} is not well-formed XML ({exc})") from None


def well_formed(name: str, data: bytes | Patch) -> None:
    """:class:`BadWorkbook` unless ``data`` is well-formed XML without a DTD (expat, fast),
    parsed a megabyte at a time (a :class:`Patch` is never joined)."""
    parser = _well_formed_parser(name)
    for chunk in _chunks(data):
        _parse(parser, name, chunk, False)
    _parse(parser, name, b"", True)


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
