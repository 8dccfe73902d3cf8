#!/usr/bin/env python3
"""Writes the seed corpora of fuzz_csv and fuzz_xlsx.

Run from the repository root, after tests/data/make_xlsx.py:
    python3 tests/fuzz/make_corpus.py
Standard library only. Seeds are small and deterministic. For fuzz_csv the first byte of
each file is the option byte (see fuzz_csv.c): 0x00 detects the delimiter, 0x01..0x04
force , ; tab |, and the top bit adds a 16-byte field cap. Crashers that the fuzzers
found are kept beside these seeds under their own names (crash-*), and this script
leaves them alone.
"""
import io
import os
import zipfile

CSV_DIR = os.path.join("tests", "fuzz", "corpus", "csv")
XLSX_DIR = os.path.join("tests", "fuzz", "corpus", "xlsx")
SAMPLE = os.path.join("tests", "data", "sample.xlsx")
SAMPLE_1904 = os.path.join("tests", "data", "sample_1904.xlsx")
STAMP = (2024, 1, 1, 0, 0, 0)

CSV_SEEDS = {
    "plain": b"\x00id,name,amount\n1,Acme,100\n2,Beta,200\n",
    "quoted_newline": b"\x00id,text\n1,\"a\nb\"\n2,\"say \"\"hi\"\"\"\n3,x\n",
    "bom_crlf": b"\x00\xef\xbb\xbfa;b;c\r\n1;2;3\r\n4;5;6\r\n",
    "tab": b"\x00a\tb\tc\n1\t2\t3\n",
    "pipe": b"\x00a|b|c\n1|\"x|y\"|3\n",
    "forced_comma": b"\x01a;b,c\n1;2,3\n",
    "forced_semicolon": b"\x02a;b,c\n1;2,3\n",
    "forced_tab": b"\x03a\tb\n1\t2\n",
    "forced_pipe": b"\x04a|b\n1|2\n",
    "bad_quote_mid": b"\x00a,b\n1,x\"y\n2,ok\n3,\"q\"z,more\n4,end\n",
    "unterminated_eof": b"\x00a,b\n1,\"open\n2,x\n3,y\n",
    "unterminated_last": b"\x00a,b\n1,\"open",
    "stray_quotes": b"\x00\"\n\"a\n\"\"\n\"\"\"\n,\"\n",
    "invalid_utf8": b"\x00a,b,c\n1,caf\xc3\xa9,ok\n2,fine,\xff\xfe\n\xc0\x80,\xed\xa0\x80,\xf4\x90\x80\x80\n",
    "nul_bytes": b"\x00a,b\n1,x\x00y\n\x00,\x00\x00\n",
    "empty": b"",
    "option_only": b"\x00",
    "header_only": b"\x00a,b,c\n",
    "no_trailing_newline": b"\x00a,b\n1,2",
    "blank_lines": b"\x00a,b\n\n\r\n   \n1,2\n\n",
    "old_mac": b"\x00a;b\r1;2\r\r3;4\r",
    "lone_cr": b"\x00a,b\n1\r2,3\n4,5\n",
    "spaces": b"\x00 a , b \n \" x \" , y\n\"q\"  ,z\n\"q\"  \"\n",
    "long_field_cap": b"\x80a,b\n1," + b"x" * 300 + b"\n2,\"" + b"y" * 100 + b"\n" + b"z" * 100 + b"\"\n3,ok\n",
    "long_blank_run": b"\x81a" + b" " * 400 + b",b\nc" + b" " * 400 + b"d,e\n",
    "cut_utf8": b"\x81\"abcdefghijklmno\xc3\xa9\",x\n",
    "many_columns": b"\x00" + b",".join(b"c%d" % i for i in range(300)) + b"\n",
    "binary": bytes(range(256)) + bytes(range(255, -1, -1)),
    "semicolon_decimals": b"\x00name;amount;prob\nx;1,5;0,1\ny;2,25;0,9\n",
}


def xlsx_entries(path):
    with zipfile.ZipFile(path) as z:
        return [(i.filename, z.read(i.filename)) for i in z.infolist()]


def xlsx_entries_of(data):
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return [(i.filename, z.read(i.filename)) for i in z.infolist()]


def build(entries, compress=zipfile.ZIP_DEFLATED):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compress) as z:
        for name, data in entries:
            info = zipfile.ZipInfo(name, STAMP)
            info.compress_type = compress
            z.writestr(info, data)
    return out.getvalue()


def replace(entries, name, data):
    return [(n, data if n == name else d) for n, d in entries]


def sheet_xml(rows):
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            f'<sheetData>{rows}</sheetData></worksheet>').encode()


def xlsx_seeds():
    base = xlsx_entries(SAMPLE)
    raw = open(SAMPLE, "rb").read()
    sheet = "xl/worksheets/sheet1.xml"
    seeds = {
        "sample.xlsx": raw,
        "sample_1904.xlsx": open(SAMPLE_1904, "rb").read(),
        # stored, so that mutations reach the XML itself
        "stored.xlsx": build(base, zipfile.ZIP_STORED),
        "truncated_half.xlsx": raw[: len(raw) // 2],
        "truncated_tail.xlsx": raw[:-40],
        "no_workbook.xlsx": build([(n, d) for n, d in base if n != "xl/workbook.xml"]),
        "no_rels.xlsx": build([(n, d) for n, d in base if n != "xl/_rels/workbook.xml.rels"],
                              zipfile.ZIP_STORED),
        "doctype.xlsx": build(replace(base, sheet, (
            '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
            '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><worksheet><sheetData><row r="1">'
            '<c r="A1" t="inlineStr"><is><t>&b;</t></is></c></row></sheetData></worksheet>'
        ).encode()), zipfile.ZIP_STORED),
        "bad_xml.xlsx": build(replace(base, sheet, sheet_xml(
            '<row r="1"><c r="A1"><v>1</v></row></c>')), zipfile.ZIP_STORED),
        "odd_refs.xlsx": build(replace(base, sheet, sheet_xml(
            '<row r="1"><c r="XFD1" t="inlineStr"><is><t>last</t></is></c>'
            '<c r="XFE1"><v>2</v></c><c r="ZZZZZZZZ1"><v>3</v></c><c r="1A"><v>4</v></c>'
            '<c r="b1"><v>5</v></c><c r="A1"><v>6</v></c></row>'
            '<row r="0"><c><v>7</v></c></row><row r="99999999999"><c><v>8</v></c></row>'
            '<row><c t="s"><v>999</v></c><c t="s"><v>-1</v></c><c t="s"><v>x</v></c>'
            '<c t="b"><v>2</v></c><c t="e"><v>#N/A</v></c><c s="999"><v>1</v></c>'
            '<c s="1"><v>-5</v></c><c s="1"><v>1e308</v></c><c s="1"><v>nan</v></c></row>')),
            zipfile.ZIP_STORED),
        "empty.zip.xlsx": build([]),
    }
    # structured seeds (see fuzz_xlsx.c): parts joined with 0xFF, the fuzzer zips them
    parts = dict(base)
    sst, styles = parts["xl/sharedStrings.xml"], parts["xl/styles.xml"]
    seeds["parts_pipeline"] = b"\xff".join([parts[sheet], sst, styles])
    seeds["parts_deals"] = b"\xff".join([parts["xl/worksheets/sheet2.xml"], sst, styles])
    seeds["parts_sheet_only"] = parts[sheet]
    seeds["parts_1904"] = b"\xff".join([
        dict(xlsx_entries(SAMPLE_1904))[sheet], sst, styles,
        dict(xlsx_entries(SAMPLE_1904))["xl/workbook.xml"],
        dict(xlsx_entries(SAMPLE_1904))["xl/_rels/workbook.xml.rels"]])
    seeds["parts_odd_refs"] = b"\xff".join([dict(xlsx_entries_of(seeds["odd_refs.xlsx"]))[sheet],
                                            sst, styles])
    flipped = bytearray(raw)
    for k in range(len(flipped) // 3, len(flipped) // 3 + 24):
        flipped[k] ^= 0x5A
    seeds["flipped.xlsx"] = bytes(flipped)
    return seeds


def main():
    os.makedirs(CSV_DIR, exist_ok=True)
    os.makedirs(XLSX_DIR, exist_ok=True)
    for name, data in CSV_SEEDS.items():
        with open(os.path.join(CSV_DIR, name + ".csv"), "wb") as f:
            f.write(data)
    for name, data in xlsx_seeds().items():
        with open(os.path.join(XLSX_DIR, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
