#!/usr/bin/env python3
"""Writes the XLSX fixtures that tests/unit/test_xlsx.c reads.

Run from the repository root: python3 tests/data/make_xlsx.py
Standard library only (zipfile). The output is deterministic (fixed timestamps), so a
re-run leaves git clean.

sample.xlsx, sheet "Pipeline" (the first):
  row 1  id | name | amount | close_date | stage            (shared strings)
  row 2  1 | "Acme Corp" (rich text, phonetic run left out) | 1234.5 | 2024-01-01 (numFmt 14)
         | Prospecting (inline string)
  row 3  2 | formula string "B&Co" | (gap) | 2024-01-31 12:00:00 (custom yyyy-mm-dd hh:mm)
         | TRUE (boolean)
  row 4  absent
  row 5  3 | "x < y & z" | 12 (custom format 0.0 "days": not a date) | 45366 (time-only
         format h:mm: not converted) | cell without r= (goes to E)
  row 6  only a styled empty cell: skipped
  row 7  4 | a cell at column H (gap F..G)
sheet "Deals": serials around the Lotus 1900 leap-year bug and a date-time.
sample_1904.xlsx: one sheet, date1904="1", serial 43830 = 2024-01-01.
many_rows.xlsx: 600 rows of about 1.2 KB each (700 KB of sheet XML, 15 KB zipped), so
  that the streamed sheet crosses many 64 KiB read chunks: row n holds n, a long inline
  string ending in n, and the date serial 45000 + n.
"""
import os
import sys
import zipfile

STAMP = (2024, 1, 1, 0, 0, 0)
NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
NSR = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
<Override PartName="/xl/worksheets/sheet2.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>
<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>
</Types>"""

ROOT_RELS = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/>
</Relationships>"""


def workbook(sheets, date1904=False):
    pr = '<workbookPr date1904="1"/>' if date1904 else '<workbookPr/>'
    items = "".join(f'<sheet name="{n}" sheetId="{i + 1}" r:id="rId{i + 1}"/>'
                    for i, n in enumerate(sheets))
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<workbook {NS} {NSR}>{pr}<sheets>{items}</sheets></workbook>')


def workbook_rels(nsheets):
    rels = "".join(f'<Relationship Id="rId{i + 1}" Type="{REL}/worksheet" '
                   f'Target="worksheets/sheet{i + 1}.xml"/>' for i in range(nsheets))
    n = nsheets
    rels += (f'<Relationship Id="rId{n + 1}" Type="{REL}/sharedStrings" '
             f'Target="sharedStrings.xml"/>'
             f'<Relationship Id="rId{n + 2}" Type="{REL}/styles" Target="/xl/styles.xml"/>')
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'{rels}</Relationships>')


# cellXfs: 0 general, 1 date (14), 2 custom date-time (164), 3 custom "days" (165),
# 4 date-time (22), 5 time only (20)
STYLES = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet {NS}>
<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy\\-mm\\-dd\\ hh:mm"/><numFmt numFmtId="165" formatCode="0.0&quot; days&quot;"/></numFmts>
<fonts count="1"><font><sz val="11"/></font></fonts>
<cellStyleXfs count="1"><xf numFmtId="14"/></cellStyleXfs>
<cellXfs count="6"><xf numFmtId="0" xfId="0"/><xf numFmtId="14" xfId="0" applyNumberFormat="1"/><xf numFmtId="164" xfId="0" applyNumberFormat="1"/><xf numFmtId="165" xfId="0" applyNumberFormat="1"/><xf numFmtId="22" xfId="0" applyNumberFormat="1"/><xf numFmtId="20" xfId="0" applyNumberFormat="1"/></cellXfs>
</styleSheet>"""

SHARED = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<sst {NS} count="9" uniqueCount="9">
<si><t>id</t></si><si><t>name</t></si><si><t>amount</t></si><si><t>close_date</t></si><si><t>stage</t></si>
<si><r><rPr><b/></rPr><t xml:space="preserve">Acme </t></r><r><t>Corp</t></r><rPh sb="0" eb="1"><t>AKUMI</t></rPh></si>
<si><t>x &lt; y &amp; z</t></si>
<si><t>deal</t></si><si><t>closed</t></si>
</sst>"""


def sheet(rows):
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<worksheet {NS} {NSR}><dimension ref="A1:H7"/><sheetData>{rows}</sheetData>'
            '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
            '</worksheet>')


PIPELINE = sheet(
    '<row r="1" spans="1:5">'
    '<c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c>'
    '<c r="D1" t="s"><v>3</v></c><c r="E1" t="s"><v>4</v></c></row>'
    '<row r="2"><c r="A2"><v>1</v></c><c r="B2" t="s"><v>5</v></c><c r="C2"><v>1234.5</v></c>'
    '<c r="D2" s="1"><v>45292</v></c>'
    '<c r="E2" t="inlineStr"><is><t>Prospecting</t></is></c></row>'
    '<row r="3"><c r="A3"><v>2</v></c><c r="B3" t="str"><f>"B"&amp;"&amp;Co"</f><v>B&amp;Co</v></c>'
    '<c r="D3" s="2"><v>45322.5</v></c><c r="E3" t="b"><v>1</v></c></row>'
    '<row r="5"><c r="A5"><v>3</v></c><c r="B5" t="s"><v>6</v></c><c r="C5" s="3"><v>12</v></c>'
    '<c r="D5" s="5"><v>45366</v></c><c t="inlineStr"><is><r><t>Nego</t></r><r><t>tiation</t></r></is></c></row>'
    '<row r="6"><c r="A6" s="1"/></row>'
    '<row r="7"><c r="A7"><v>4</v></c><c r="H7" t="inlineStr"><is><t>far</t></is></c></row>')

DEALS = sheet(
    '<row r="1"><c r="A1" t="s"><v>7</v></c><c r="B1" t="s"><v>8</v></c></row>'
    '<row r="2"><c r="A2" t="inlineStr"><is><t>D-1</t></is></c><c r="B2" s="1"><v>59</v></c></row>'
    '<row r="3"><c r="A3" t="inlineStr"><is><t>D-2</t></is></c><c r="B3" s="1"><v>60</v></c></row>'
    '<row r="4"><c r="A4" t="inlineStr"><is><t>D-3</t></is></c><c r="B4" s="1"><v>61</v></c></row>'
    '<row r="5"><c r="A5" t="inlineStr"><is><t>D-4</t></is></c><c r="B5" s="1"><v>1</v></c></row>'
    '<row r="6"><c r="A6" t="inlineStr"><is><t>D-5</t></is></c><c r="B6" s="4"><v>45658.75</v></c></row>')

SHEET_1904 = sheet(
    '<row r="1"><c r="A1" t="s"><v>8</v></c></row>'
    '<row r="2"><c r="A2" s="1"><v>43830</v></c></row>'
    '<row r="3"><c r="A3" s="1"><v>0</v></c></row>')


PAD = "lorem ipsum " * 90
MANY = sheet("".join(
    f'<row r="{n}"><c r="A{n}"><v>{n}</v></c>'
    f'<c r="B{n}" t="inlineStr"><is><t>{PAD}{n}</t></is></c>'
    f'<c r="C{n}" s="1"><v>{45000 + n}</v></c></row>' for n in range(1, 601)))


def write(path, parts):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in parts:
            info = zipfile.ZipInfo(name, STAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, text)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join("tests", "data")
    write(os.path.join(out, "sample.xlsx"), [
        ("[Content_Types].xml", CONTENT_TYPES),
        ("_rels/.rels", ROOT_RELS),
        ("xl/workbook.xml", workbook(["Pipeline", "Deals"])),
        ("xl/_rels/workbook.xml.rels", workbook_rels(2)),
        ("xl/styles.xml", STYLES),
        ("xl/sharedStrings.xml", SHARED),
        ("xl/worksheets/sheet1.xml", PIPELINE),
        ("xl/worksheets/sheet2.xml", DEALS),
    ])
    write(os.path.join(out, "sample_1904.xlsx"), [
        ("[Content_Types].xml", CONTENT_TYPES),
        ("_rels/.rels", ROOT_RELS),
        ("xl/workbook.xml", workbook(["Dates"], date1904=True)),
        ("xl/_rels/workbook.xml.rels", workbook_rels(1)),
        ("xl/styles.xml", STYLES),
        ("xl/sharedStrings.xml", SHARED),
        ("xl/worksheets/sheet1.xml", SHEET_1904),
    ])

    write(os.path.join(out, "many_rows.xlsx"), [
        ("[Content_Types].xml", CONTENT_TYPES),
        ("_rels/.rels", ROOT_RELS),
        ("xl/workbook.xml", workbook(["Many"])),
        ("xl/_rels/workbook.xml.rels", workbook_rels(1)),
        ("xl/styles.xml", STYLES),
        ("xl/worksheets/sheet1.xml", MANY),
    ])


if __name__ == "__main__":
    main()
