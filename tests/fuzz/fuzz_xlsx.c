/*
 * fuzz_xlsx.c - fuzzes the XLSX reader (src/xlsx.c) on an in-memory archive.
 *
 * Two input shapes:
 *  - an input starting with "PK" is a whole .xlsx file, given as is (mutations mostly
 *    exercise libzip and the damaged-archive paths, since CRCs catch most changes);
 *  - anything else is a list of XML parts separated by 0xFF bytes (a byte that valid
 *    UTF-8 never has): the sheet, then optionally sharedStrings.xml, styles.xml,
 *    workbook.xml and workbook.xml.rels. The fuzzer wraps them in a stored ZIP with
 *    correct CRCs, with a default workbook naming the sheet twice ("S" and "Deals"), so
 *    that mutations reach the XML handlers directly.
 * Opening may fail, but only with a recorded message; when it opens, every row is read
 * and checked: cells NUL-terminated at their length and within the field cap, bad_col
 * inside the row when flagged, and the read ends with RI_ERR_NOTFOUND or a recorded
 * error. Each input is read twice: the first sheet with the default cap, then "Deals"
 * with an 8-byte cap so that sheet choice and cutting run too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ri_internal.h"

#define FCHECK(cond)                                                                               \
 do {                                                                                              \
  if (!(cond)) {                                                                                   \
   fprintf(stderr, "fuzz_xlsx: %s:%d: %s\n", __FILE__, __LINE__, #cond);                           \
   abort();                                                                                        \
  }                                                                                                \
 } while (0)

static const char default_workbook[] =
    "<workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" "
    "xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\">"
    "<sheets><sheet name=\"S\" sheetId=\"1\" r:id=\"rId1\"/>"
    "<sheet name=\"Deals\" sheetId=\"2\" r:id=\"rId2\"/></sheets></workbook>";
static const char default_rels[] =
    "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
    "<Relationship Id=\"rId1\" Type=\"http://x/worksheet\" Target=\"worksheets/sheet1.xml\"/>"
    "<Relationship Id=\"rId2\" Type=\"http://x/worksheet\" Target=\"/xl/worksheets/sheet1.xml\"/>"
    "<Relationship Id=\"rId3\" Type=\"http://x/sharedStrings\" Target=\"sharedStrings.xml\"/>"
    "<Relationship Id=\"rId4\" Type=\"http://x/styles\" Target=\"styles.xml\"/>"
    "</Relationships>";

static uint32_t crc32_of(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return ~c;
}

struct zbuf {
    uint8_t *p;
    size_t len;
};

static void put(struct zbuf *z, const void *data, size_t n)
{
    if (n)
        memcpy(z->p + z->len, data, n);
    z->len += n;
}

static void put16(struct zbuf *z, uint32_t v)
{
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    put(z, b, 2);
}

static void put32(struct zbuf *z, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(z, b, 4);
}

struct part {
    const char *name;
    const uint8_t *data;
    size_t len;
};

/* A stored (uncompressed) ZIP of the parts. The caller frees z->p. */
static void zip_stored(const struct part *parts, size_t n, struct zbuf *z)
{
    uint32_t offs[8], crcs[8];
    size_t total = 22, cd_start;
    for (size_t i = 0; i < n; i++)
        total += 30 + 46 + 2 * strlen(parts[i].name) + parts[i].len;
    z->p = malloc(total);
    z->len = 0;
    FCHECK(z->p != NULL);
    for (size_t i = 0; i < n; i++) {
        size_t nl = strlen(parts[i].name);
        offs[i] = (uint32_t)z->len;
        crcs[i] = crc32_of(parts[i].data, parts[i].len);
        put32(z, 0x04034b50u);
        put16(z, 20);
        put16(z, 0);
        put16(z, 0); /* stored */
        put16(z, 0);
        put16(z, 0x21); /* 1980-01-01 */
        put32(z, crcs[i]);
        put32(z, (uint32_t)parts[i].len);
        put32(z, (uint32_t)parts[i].len);
        put16(z, (uint32_t)nl);
        put16(z, 0);
        put(z, parts[i].name, nl);
        put(z, parts[i].data, parts[i].len);
    }
    cd_start = z->len;
    for (size_t i = 0; i < n; i++) {
        size_t nl = strlen(parts[i].name);
        put32(z, 0x02014b50u);
        put16(z, 20);
        put16(z, 20);
        put16(z, 0);
        put16(z, 0);
        put16(z, 0);
        put16(z, 0x21);
        put32(z, crcs[i]);
        put32(z, (uint32_t)parts[i].len);
        put32(z, (uint32_t)parts[i].len);
        put16(z, (uint32_t)nl);
        put16(z, 0);
        put16(z, 0);
        put16(z, 0);
        put16(z, 0);
        put32(z, 0);
        put32(z, offs[i]);
        put(z, parts[i].name, nl);
    }
    put32(z, 0x06054b50u);
    put16(z, 0);
    put16(z, 0);
    put16(z, (uint32_t)n);
    put16(z, (uint32_t)n);
    put32(z, (uint32_t)(z->len - cd_start));
    put32(z, (uint32_t)cd_start);
    put16(z, 0);
}

static void read_all(struct ri_ctx *ctx, const uint8_t *data, size_t size,
                     const struct ri_reader_opts *opts)
{
    size_t cap = opts->max_field ? opts->max_field : 1024 * 1024;
    struct ri_reader *r = NULL;
    struct ri_row row;
    ri_err rc;

    rc = ri_xlsx_open_mem(ctx, (const char *)data, size, opts, &r);
    if (rc) {
        FCHECK(r == NULL);
        FCHECK(ri_errmsg(ctx)[0] != '\0');
        return;
    }
    while ((rc = ri_reader_next(r, &row)) == RI_OK) {
        FCHECK(row.line >= 1);
        FCHECK(row.n >= 1);
        for (size_t i = 0; i < row.n; i++) {
            FCHECK(row.cells[i][row.lens[i]] == '\0');
            FCHECK(row.lens[i] <= cap);
        }
        if (row.flags & (RI_ROW_TOO_LONG | RI_ROW_BAD_UTF8))
            FCHECK(row.bad_col < row.n);
    }
    FCHECK(rc == RI_ERR_NOTFOUND || ri_errmsg(ctx)[0] != '\0');
    ri_reader_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"xl/worksheets/sheet1.xml", "xl/sharedStrings.xml",
                                         "xl/styles.xml", "xl/workbook.xml",
                                         "xl/_rels/workbook.xml.rels"};
    struct ri_ctx *ctx = ri_ctx_new();
    struct ri_reader_opts first = {0, NULL, 0}, deals = {0, "Deals", 8};
    struct part parts[5];
    struct zbuf z = {NULL, 0};
    size_t n = 0;

    if (size >= 2 && data[0] == 'P' && data[1] == 'K') {
        read_all(ctx, data, size, &first);
        read_all(ctx, data, size, &deals);
        ri_ctx_free(ctx);
        return 0;
    }
    /* split into parts at 0xFF; missing workbook and rels get the defaults */
    while (n < 5) {
        const uint8_t *sep = memchr(data, 0xFF, size);
        size_t len = sep ? (size_t)(sep - data) : size;
        parts[n].name = names[n];
        parts[n].data = data;
        parts[n].len = len;
        n++;
        if (!sep)
            break;
        data = sep + 1;
        size -= len + 1;
    }
    if (n < 4) {
        parts[n].name = names[3];
        parts[n].data = (const uint8_t *)default_workbook;
        parts[n].len = sizeof(default_workbook) - 1;
        n++;
    }
    if (n < 5) {
        parts[n].name = names[4];
        parts[n].data = (const uint8_t *)default_rels;
        parts[n].len = sizeof(default_rels) - 1;
        n++;
    }
    zip_stored(parts, n, &z);
    read_all(ctx, z.p, z.len, &first);
    read_all(ctx, z.p, z.len, &deals);
    free(z.p);
    ri_ctx_free(ctx);
    return 0;
}
