"""Workbooks written as XML, for the cases openpyxl cannot express (cached values of any
type, dynamic arrays, ``_xHHHH_`` escapes, two sheets of one name...)."""

from __future__ import annotations

import zipfile
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"

METADATA = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<metadata xmlns="{NS}" xmlns:xda="http://schemas.microsoft.com/office/spreadsheetml/2017/dynamicarray">\
<metadataTypes count="1"><metadataType name="XLDAPR" minSupportedVersion="120000" copy="1" pasteAll="1" \
pasteValues="1" merge="1" splitFirst="1" rowColShift="1" clearFormats="1" clearComments="1" assign="1" \
coerce="1" cellMeta="1"/></metadataTypes><futureMetadata name="XLDAPR" count="1"><bk><extLst>\
<ext uri="{{bdbb8cdc-fa1e-496e-a857-3c3f30c029c3}}"><xda:dynamicArrayProperties fDynamic="1" fCollapsed="0"/>\
</ext></extLst></bk></futureMetadata><cellMetadata count="1"><bk><rc t="1" v="0"/></bk></cellMetadata></metadata>"""


def cell(
    ref: str, formula: str | None = None, value=None, t: str | None = None, extra: str = "", f_attrs: str = ""
) -> str:
    """One ``<c>`` element: formula text and cached value written as given (escaped)."""
    attrs = f' r="{ref}"' + (f' t="{t}"' if t else "") + extra
    inner = ""
    if formula is not None:
        inner += f"<f{f_attrs}>{escape(formula)}</f>"
    if value is not None:
        inner += f"<v>{escape(str(value))}</v>" if value != "<v/>" else "<v/>"
    return f"<c{attrs}>{inner}</c>" if inner else f"<c{attrs}/>"


def rows(*cells: str) -> str:
    """``<row>`` elements for cells given in order (their row taken from their reference)."""
    by_row: dict[int, list[str]] = {}
    for c in cells:
        ref = c.split('r="', 1)[1].split('"', 1)[0]
        row = int("".join(ch for ch in ref if ch.isdigit()))
        by_row.setdefault(row, []).append(c)
    return "".join(f'<row r="{r}">{"".join(cs)}</row>' for r, cs in sorted(by_row.items()))


def xlsx(
    path: Path,
    sheets: dict[str, str] | list[tuple[str, str]],
    names: dict[str, str] | None = None,
    dynamic: bool = False,
    styles: str | None = None,
    after: dict[str, str] | None = None,
) -> Path:
    """Write a workbook: sheet name -> sheetData inner XML (see :func:`rows`)."""
    items = list(sheets.items()) if isinstance(sheets, dict) else list(sheets)
    content = [
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>',
        '<Default Extension="xml" ContentType="application/xml"/>',
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>',
    ]
    wb_rels = []
    sheet_tags = []
    parts = {}
    for i, (name, data) in enumerate(items, start=1):
        content.append(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        )
        wb_rels.append(f'<Relationship Id="rId{i}" Type="{REL}/worksheet" Target="worksheets/sheet{i}.xml"/>')
        sheet_tags.append(f'<sheet name={quoteattr(name)} sheetId="{i}" r:id="rId{i}"/>')
        parts[f"xl/worksheets/sheet{i}.xml"] = (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{NS}" xmlns:r="{REL}">'
            f"<sheetData>{data}</sheetData>{(after or {}).get(name, '')}</worksheet>"
        )
    n = len(items)
    if styles is not None:
        content.append(
            '<Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        )
        wb_rels.append(f'<Relationship Id="rId{n + 1}" Type="{REL}/styles" Target="styles.xml"/>')
        parts["xl/styles.xml"] = styles
    if dynamic:
        content.append(
            '<Override PartName="/xl/metadata.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheetMetadata+xml"/>'
        )
        wb_rels.append(f'<Relationship Id="rId{n + 2}" Type="{REL}/sheetMetadata" Target="metadata.xml"/>')
        parts["xl/metadata.xml"] = METADATA
    defined = ""
    if names:
        defined = (
            "<definedNames>"
            + "".join(f"<definedName name={quoteattr(k)}>{escape(v)}</definedName>" for k, v in names.items())
            + "</definedNames>"
        )
    parts["xl/workbook.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{NS}" xmlns:r="{REL}">'
        f"<sheets>{''.join(sheet_tags)}</sheets>{defined}</workbook>"
    )
    parts["xl/_rels/workbook.xml.rels"] = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Relationships xmlns="{PKG}">{"".join(wb_rels)}</Relationships>'
    )
    parts["_rels/.rels"] = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Relationships xmlns="{PKG}"><Relationship Id="rId1" '
        f'Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    )
    types = "http://schemas.openxmlformats.org/package/2006/content-types"
    parts["[Content_Types].xml"] = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Types xmlns="{types}">{"".join(content)}</Types>'
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", parts.pop("[Content_Types].xml"))
        for name, data in parts.items():
            z.writestr(name, data)
    return path


STYLES_TRUE_FORMAT = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="{NS}"><numFmts count="1"><numFmt numFmtId="164" formatCode="&quot;TRUE&quot;;&quot;TRUE&quot;;&quot;FALSE&quot;"/></numFmts>\
<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>\
<fills count="1"><fill><patternFill patternType="none"/></fill></fills>\
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>\
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>\
<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>\
<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>\
</styleSheet>"""


def sheet_xml(path: Path, index: int = 1) -> bytes:
    with zipfile.ZipFile(path) as z:
        return z.read(f"xl/worksheets/sheet{index}.xml")
