"""A generator of hostile workbooks: every file is built here, from a good one, in the test.

Each builder takes a good workbook (openpyxl's, with a shared-strings part) and writes a
copy with one part replaced or added. No binary file is kept in the repository.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

from recalc_support import simple

NS = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
LAUGHS_DTD = b"""<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>"""
SHEET_BODY = (
    b"<worksheet " + NS + b'><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol3;</t></is></c>'
    b'<c r="B1"><f>1+1</f></c></row></sheetData></worksheet>'
)
STYLES_BODY = (
    b"<styleSheet " + NS + b'><numFmts count="1"><numFmt numFmtId="164" formatCode="&lol3;"/></numFmts></styleSheet>'
)
SHEET = "xl/worksheets/sheet1.xml"
STYLES = "xl/styles.xml"
STRINGS = "xl/sharedStrings.xml"
PAD = 70 * 1024  # past the 64 KB a prolog check used to look at


def good_workbook(path: Path) -> Path:
    """A small workbook with a formula and a shared string (openpyxl writes the part)."""
    return simple(path, {"A1": 35, "B1": "=CLV(A1,0.05)", "C1": "churn"})


def rewrite(good: Path, target: Path, replace: dict[str, bytes], add: dict[str, bytes] | None = None) -> Path:
    """A copy of ``good`` with parts replaced and parts added (deflated, as Excel does)."""
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, replace.get(info.filename, zin.read(info)))
        for name, data in (add or {}).items():
            zout.writestr(name, data)
    return target


def dtd_after_white_space(good: Path, target: Path) -> Path:
    """The DTD after 70 KB of white space (legal before a DOCTYPE without an XML declaration)."""
    return rewrite(good, target, {STYLES: b" \n" * (PAD // 2) + LAUGHS_DTD + STYLES_BODY})


def dtd_in_utf16(good: Path, target: Path) -> Path:
    """The styles part encoded as UTF-16 with a byte-order mark."""
    text = ('<?xml version="1.0" encoding="UTF-16"?>' + (LAUGHS_DTD + STYLES_BODY).decode()).encode("utf-16")
    return rewrite(good, target, {STYLES: text})


def dtd_in_utf16_without_bom(good: Path, target: Path) -> Path:
    """UTF-16 little-endian, no byte-order mark (expat detects it from ``<\\0?\\0``)."""
    text = ('<?xml version="1.0" encoding="UTF-16"?>' + (LAUGHS_DTD + SHEET_BODY).decode()).encode("utf-16-le")
    return rewrite(good, target, {SHEET: text})


def dtd_in_bin_part(good: Path, target: Path) -> Path:
    """A DTD in a part whose name does not say XML."""
    return rewrite(good, target, {}, {"xl/printerSettings/printerSettings1.bin": LAUGHS_DTD + SHEET_BODY})


def external_entity_in_padded_shared_strings(good: Path, target: Path) -> Path:
    """An external entity (a local file) in the shared strings, behind 70 KB of padding;
    the part is related from the workbook and declared, as Excel writes it."""
    body = (
        b" " * PAD
        + b'<!DOCTYPE sst [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        + b"<sst "
        + NS
        + b' count="1" uniqueCount="1"><si><t>&xxe;</t></si></sst>'
    )
    with zipfile.ZipFile(good) as zin:
        rels = zin.read("xl/_rels/workbook.xml.rels")
        types = zin.read("[Content_Types].xml")
    rels = rels.replace(
        b"</Relationships>",
        b'<Relationship Id="rIdS" Target="sharedStrings.xml" Type="http://schemas.openxmlformats.org/'
        b'officeDocument/2006/relationships/sharedStrings"/></Relationships>',
    )
    types = types.replace(
        b"</Types>",
        b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
        b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
    )
    return rewrite(good, target, {"xl/_rels/workbook.xml.rels": rels, "[Content_Types].xml": types}, {STRINGS: body})


def dtd_in_utf8_bom_rels(good: Path, target: Path) -> Path:
    """A relationships part with a UTF-8 byte-order mark and an external DTD."""
    with zipfile.ZipFile(good) as zin:
        rels = zin.read("_rels/.rels")
    declared = b'\xef\xbb\xbf<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE r SYSTEM "http://x/y.dtd">'
    return rewrite(good, target, {"_rels/.rels": declared + rels})


#: name -> builder of a file that must be refused as an XML bomb.
XML_BOMBS: dict[str, Callable[[Path, Path], Path]] = {
    "dtd_after_white_space": dtd_after_white_space,
    "dtd_in_utf16": dtd_in_utf16,
    "dtd_in_utf16_without_bom": dtd_in_utf16_without_bom,
    "dtd_in_bin_part": dtd_in_bin_part,
    "external_entity_in_padded_shared_strings": external_entity_in_padded_shared_strings,
    "dtd_in_utf8_bom_rels": dtd_in_utf8_bom_rels,
}


def many_zero_parts(good: Path, target: Path, count: int = 300, size: int = 4 * 1024**2) -> Path:
    """``count`` parts of ``size`` zero bytes each (each below any per-part ratio floor)."""
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info))
        zeros = bytes(size)
        for i in range(count):
            zout.writestr(f"xl/media/blob{i}.bin", zeros)
    return target


def utf16_but_harmless(good: Path, target: Path) -> Path:
    """Not hostile: docProps/app.xml re-encoded as UTF-16 with a byte-order mark, and a VML
    part whose body is not well-formed (as Excel's legacy drawings can be)."""
    with zipfile.ZipFile(good) as zin:
        app = zin.read("docProps/app.xml").decode("utf-8")
    app = app.replace('encoding="UTF-8"', 'encoding="UTF-16"').replace("encoding='UTF-8'", "encoding='UTF-16'")
    vml = b'<xml xmlns:v="urn:schemas-microsoft-com:vml"><v:shape><br></v:shape></xml>'
    return rewrite(good, target, {"docProps/app.xml": app.encode("utf-16")}, {"xl/drawings/vmlDrawing9.vml": vml})


def corrupt_deflate(good: Path, target: Path) -> Path:
    """The sheet's compressed bytes damaged in the middle (the CRC and sizes kept)."""
    data = bytearray(good.read_bytes())
    with zipfile.ZipFile(good) as z:
        info = z.getinfo(SHEET)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for i in range(start + 2, start + min(info.compress_size, 40)):
        data[i] ^= 0x5A
    target.write_bytes(bytes(data))
    return target
