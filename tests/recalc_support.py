"""Workbooks for the recalc tests: built with openpyxl, plus hand-made bad inputs."""

from __future__ import annotations

import io
import os
import re
import time
import zipfile
from pathlib import Path

import openpyxl
from openpyxl.chart import BarChart, Reference
from openpyxl.comments import Comment
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.formula import ArrayFormula


def save(wb: openpyxl.Workbook, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def mixed_workbook(path: Path) -> Path:
    """Built-ins depending on our functions and the other way round, across sheets."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Model"
    inputs = wb.create_sheet("Inputs")
    inputs["A1"], inputs["B1"] = "churn", 0.05
    inputs["A2"], inputs["B2"] = "cac", 350
    ws["A1"] = 3.5
    ws["B1"] = "=CLV(A1*10, Inputs!B1)"  # ours on a built-in expression
    ws["C1"] = "=ROUND(B1/7,0)+SUM(A1:A2)"  # built-in on ours
    ws["D1"] = "=LTV_CAC(B1, Inputs!B2)"  # ours on ours
    ws["E1"] = '=IF(D1>=3,"healthy","not yet")'  # text from a built-in on ours
    ws["F1"] = "=HEALTH_STATUS(D1*25)"  # text from ours
    ws["G1"] = '=IF(F1="yellow",1,0)'
    ws["H1"] = "=IFERROR(CLV(35,0),-1)"  # built-in catches our error
    ws["I1"] = "=ISERROR(CLV(35,1.2))"  # a logical
    ws["J1"] = "=CLV(35,0)"  # an error value
    ws["K1"] = "=ERROR.TYPE(J1)"
    ws["L1"] = "=PAYBACK(Inputs!B2,A1*10)"
    ws["M1"] = "=SUM(B1,D1,L1)"
    return save(wb, path)


MIXED_EXPECTED = {
    "B1": 700.0,
    "C1": 103.5,
    "D1": 2.0,
    "E1": "not yet",
    "F1": "yellow",
    "G1": 1,
    "H1": -1,
    "I1": True,
    "J1": "#DIV/0!",
    "K1": 2,
    "L1": 10.0,
    "M1": 712.0,
}


def decorated_workbook(path: Path) -> Path:
    """A chart, a defined name, data validation, a comment, styles, an array formula."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    ws.append(["arpu", "churn", "clv"])
    for i, (arpu, churn) in enumerate([(35, 0.05), (100, 0.02), (50, 0.1), (80, 0.04)], start=2):
        ws.append([arpu, churn, f"=CLV(A{i},B{i})"])
        ws[f"C{i}"].number_format = "#,##0.00"
    ws["E1"] = "=SUM(C2:C5)"
    ws["E1"].font = openpyxl.styles.Font(bold=True)
    ws["E2"] = "=LTV_CAC(E1, TotalCAC)"
    ws["F1"] = 1000
    wb.defined_names["TotalCAC"] = DefinedName("TotalCAC", attr_text="Data!$F$1")
    validation = DataValidation(type="decimal", operator="between", formula1="0", formula2="1")
    ws.add_data_validation(validation)
    validation.add("B2:B5")
    ws["A1"].comment = Comment("revenue per customer per period", "xlfuncs")
    chart = BarChart()
    chart.add_data(Reference(ws, min_col=3, min_row=1, max_row=5), titles_from_data=True)
    ws.add_chart(chart, "H2")
    for row in ws["H20:M22"]:
        for cell in row:
            cell.value = 0  # Excel writes every cell of an array formula's range
    ws["H20"] = ArrayFormula("H20:M22", "=MRR_MOVEMENTS({100,150,150,0;0,200,100,100;50,0,0,80;0,0,0,60})")
    return save(wb, path)


def with_vba(source: Path, target: Path, payload: bytes) -> Path:
    """An .xlsm: ``source`` plus a vbaProject.bin part, its relationship and content type."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "[Content_Types].xml":
                data = data.replace(
                    b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                    b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
                ).replace(
                    b"</Types>",
                    b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>',
                )
            if info.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(
                    b"</Relationships>",
                    b'<Relationship Id="rIdVba" Type="http://schemas.microsoft.com/office/2006/relationships/'
                    b'vbaProject" Target="vbaProject.bin"/></Relationships>',
                )
            zout.writestr(info, data)
        zout.writestr("xl/vbaProject.bin", payload)
    return target


def set_formula_text(path: Path, cell: str, text: str) -> Path:
    """Put formula text into a cell's <f> exactly as given (spellings openpyxl would not write)."""
    with zipfile.ZipFile(path) as zin:
        parts = {i.filename: zin.read(i) for i in zin.infolist()}
        infos = zin.infolist()
    sheet = parts["xl/worksheets/sheet1.xml"]
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").encode()
    sheet, n = re.subn(
        rb'(<c r="' + cell.encode() + rb'"[^>]*>)<f>[^<]*</f>', lambda m: m.group(1) + b"<f>" + escaped + b"</f>", sheet
    )
    assert n == 1, cell
    parts["xl/worksheets/sheet1.xml"] = sheet
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in infos:
            zout.writestr(info, parts[info.filename])
    return path


def zip_bomb(path: Path) -> Path:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", b"<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * (64 * 1024**2))
    path.write_bytes(buffer.getvalue())
    return path


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>
<row r="1"><c r="A1" t="inlineStr"><is><t>&lol4;</t></is></c></row></sheetData></worksheet>"""


def xml_bomb(good: Path, path: Path) -> Path:
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = BILLION_LAUGHS if info.filename == "xl/worksheets/sheet1.xml" else zin.read(info)
            zout.writestr(info, data)
    return path


def encrypted(path: Path) -> Path:
    # What Office writes for a password-protected workbook: an OLE compound file
    # (EncryptionInfo + EncryptedPackage streams), not a zip.
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504 + "EncryptedPackage".encode("utf-16-le") * 8)
    return path


def non_xlsx_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "not a workbook")
    return path


def simple(path: Path, cells: dict[str, object], title: str = "Sheet") -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    for ref, value in cells.items():
        ws[ref] = value
    return save(wb, path)


def sheet_without_values(data: bytes) -> bytes:
    """A worksheet part with every cached value and value type of a formula cell removed."""

    def strip(match: re.Match) -> bytes:
        element = match.group(0)
        if b"<f" not in element and b"<v" not in element:
            return element
        element = re.sub(rb"<v>[^<]*</v>|<v\s*/>", b"", element)
        return re.sub(rb'^(<c\b[^>]*?)\s+t="[^"]*"', rb"\1", element)

    return re.sub(rb"<c\b[^>]*?(?:/>|>.*?</c>)", strip, data, flags=re.S)


# ---------------------------------------------------------------------- processes


def processes(marker: str, program: bytes | None = None) -> list[int]:
    """Live processes whose command line names ``marker`` (zombies excluded)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state == "Z" or not any(marker.encode() in arg for arg in argv):
            continue
        if program is not None and not argv[0].endswith(program):
            continue
        found.append(int(entry.name))
    return found


def wait_for(predicate, seconds: float = 120.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"not within {seconds} s")
