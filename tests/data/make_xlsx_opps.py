#!/usr/bin/env python3
"""Writes tests/golden/ingest/xlsx/opps.xlsx: an opportunities export as XLSX.

Run from the repository root: python3 tests/data/make_xlsx_opps.py (standard library only,
deterministic output). Sheet "Notes" comes first and is not a table of deals; sheet
"Opportunities" has shared strings, inline strings, numbers, date-formatted serial cells
(45292 = 2024-01-01), an empty cell and one bad row (a negative amount).
"""
import zipfile

NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
NSR = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

strings = ["id", "name", "created_date", "stage", "amount", "close_date", "Acme", "Closed Won",
           "Prospecting", "notes"]


def s(ref, text):
    return f'<c r="{ref}" t="s"><v>{strings.index(text)}</v></c>'


def inl(ref, text):
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def num(ref, v, style=None):
    st = f' s="{style}"' if style is not None else ""
    return f'<c r="{ref}"{st}><v>{v}</v></c>'


rows = [
    [s("A1", "id"), s("B1", "name"), s("C1", "created_date"), s("D1", "stage"), s("E1", "amount"),
     s("F1", "close_date")],
    [inl("A2", "X-1"), s("B2", "Acme"), num("C2", 45292, 1), s("D2", "Closed Won"),
     num("E2", 1250.5), num("F2", 45340, 1)],
    [inl("A3", "X-2"), inl("B3", "Beta &amp; Co"), num("C3", 45300, 1), s("D3", "Prospecting"),
     num("E3", 300), ""],
    [inl("A4", "X-3"), inl("B4", "Negative"), num("C4", 45301, 1), s("D4", "Prospecting"),
     num("E4", -5), num("F4", 45400, 1)],
]
sheet2 = "".join(f'<row r="{i + 1}">{"".join(r)}</row>' for i, r in enumerate(rows))
sst = "".join(f"<si><t>{t}</t></si>" for t in strings)
files = {
    "[Content_Types].xml":
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
        'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.'
        'openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
        '"application/xml"/></Types>',
    "_rels/.rels":
        f'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
        f'2006/relationships"><Relationship Id="rId1" Type="{REL}/officeDocument" '
        f'Target="xl/workbook.xml"/></Relationships>',
    "xl/workbook.xml":
        f'<?xml version="1.0"?><workbook {NS} {NSR}><sheets><sheet name="Notes" sheetId="1" '
        f'r:id="rId1"/><sheet name="Opportunities" sheetId="2" r:id="rId2"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels":
        f'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
        f'2006/relationships"><Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/'
        f'sheet1.xml"/><Relationship Id="rId2" Type="{REL}/worksheet" Target="worksheets/'
        f'sheet2.xml"/><Relationship Id="rId3" Type="{REL}/sharedStrings" Target="sharedStrings'
        f'.xml"/><Relationship Id="rId4" Type="{REL}/styles" Target="styles.xml"/>'
        f'</Relationships>',
    "xl/styles.xml":
        f'<?xml version="1.0"?><styleSheet {NS}><cellXfs count="2"><xf numFmtId="0"/>'
        f'<xf numFmtId="14" applyNumberFormat="1"/></cellXfs></styleSheet>',
    "xl/sharedStrings.xml":
        f'<?xml version="1.0"?><sst {NS} count="{len(strings)}" uniqueCount="{len(strings)}">'
        f'{sst}</sst>',
    "xl/worksheets/sheet1.xml":
        f'<?xml version="1.0"?><worksheet {NS}><sheetData><row r="1">{s("A1", "notes")}</row>'
        f'</sheetData></worksheet>',
    "xl/worksheets/sheet2.xml":
        f'<?xml version="1.0"?><worksheet {NS}><sheetData>{sheet2}</sheetData></worksheet>',
}
with zipfile.ZipFile("tests/golden/ingest/xlsx/opps.xlsx", "w", zipfile.ZIP_DEFLATED) as z:
    for name, text in files.items():
        info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(info, text)
