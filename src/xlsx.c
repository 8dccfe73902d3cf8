/*
 * xlsx.c - the XLSX reader: an adapter over libzip (the archive) and expat (the XML).
 *
 * Opening reads the small parts whole, each through expat in chunks: xl/workbook.xml
 * (sheet names, their relationship ids, date1904), xl/_rels/workbook.xml.rels (where
 * each sheet, the shared strings and the styles live), xl/sharedStrings.xml (into one
 * arena, rich-text runs joined, phonetic runs left out) and xl/styles.xml (which cell
 * formats are dates). The chosen sheet is then streamed: ri_reader_next feeds expat
 * 64 KiB at a time from zip_fread, and the </row> handler suspends the parser
 * (XML_StopParser, resumable), so exactly one row is built at a time and memory does not
 * depend on the sheet's size.
 *
 * Invariants:
 *  - cells are placed by their reference (r="C5"), gaps filled with empty cells, so the
 *    columns line up with the header; a row's line is its sheet row number (<row r=>);
 *    rows with no non-empty value are skipped, as blank lines are in CSV;
 *  - every part is bounded: uncompressed size (checked on the directory entry and again
 *    while reading, since entries can lie), shared-string count, styles, sheets, columns
 *    (XFD), and field length (cut to max_field with RI_ROW_TOO_LONG);
 *  - nothing in the input can crash the reader: a damaged archive or XML fails with
 *    RI_ERR_PARSE naming the file and the part, a DOCTYPE is refused (OOXML never has
 *    one, and it is the door to entity expansion), and expat allocates through
 *    ri_try_alloc so that its memory follows the project's policy.
 * Dates: a number whose cell format is a date (built-in ids 14-17, 22, 27-36, 50-58, or
 * a custom code with d, y, or m without h/s outside quotes and brackets) becomes
 * "YYYY-MM-DD", with " HH:MM:SS" when it has a time part. The 1900 system copies
 * Lotus's leap-year bug (serial 60 is 1900-02-29, which does not exist, and is left as a
 * number); date1904="1" in workbook.xml selects the 1904 system.
 */
/* system and library headers first: their inline stdlib functions would collide with
 * banned.h */
#include <expat.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <zip.h>

#include "ri_internal.h"
#include "reader.h"

#define XLSX_CHUNK       ((size_t)64 * 1024)
#define XLSX_MAX_PART    (256ull * 1024 * 1024)      /* workbook, rels, styles, strings */
#define XLSX_MAX_SHEET   (4ull * 1024 * 1024 * 1024) /* uncompressed sheet XML */
#define XLSX_MAX_STRINGS ((size_t)8 * 1024 * 1024)   /* shared strings */
#define XLSX_MAX_ITEMS   65536 /* sheets, relationships, cell formats, number formats */
#define XLSX_ROW_MIN_CAP ((size_t)64 * 1024 * 1024)

enum xlsx_type { XT_NUMBER, XT_SHARED, XT_INLINE, XT_STR, XT_BOOL, XT_OTHER };

/* What the part parsers have seen so far. */
struct xlsx_sheet_ref {
    char *name;
    char *rid;
};
struct xlsx_rel {
    char *id;
    char *target; /* resolved: a path inside the archive */
    char *type;
};
struct xlsx_numfmt {
    uint32_t id;
    bool is_date;
};

struct xlsx_reader {
    struct ri_reader base; /* first: reader.c sees only this */
    zip_t *za;
    char *name;       /* file name, for messages */
    const char *part; /* part being parsed, for messages */
    size_t max_field;
    bool date1904;
    ri_err err; /* a failure raised inside an expat handler */

    /* workbook and relationships */
    struct xlsx_sheet_ref *sheets;
    size_t sheets_n, sheets_cap;
    struct xlsx_rel *rels;
    size_t rels_n, rels_cap;

    /* shared strings: sst.buf + sst_off[i], sst_len[i] bytes (NUL-terminated) */
    struct ri_buf sst;
    size_t *sst_off, *sst_len;
    size_t sst_n, sst_cap;
    size_t sst_cur; /* offset of the string being read */
    int in_si, in_rph, in_t;

    /* styles: whether cell format i is a date */
    struct xlsx_numfmt *fmts;
    size_t fmts_n, fmts_cap;
    uint32_t *xf_fmt;
    bool *xf_date;
    size_t xf_n, xf_cap;
    int in_cellxfs;

    /* the sheet being streamed */
    char *sheet_path;
    zip_file_t *zf;
    XML_Parser xp;
    uint64_t sheet_size, sheet_read;
    bool finished;
    int in_sheetdata, in_row, in_c, in_v, in_is;
    enum xlsx_type ctype;
    size_t ccol;
    uint32_t cstyle;
    struct ri_buf val; /* text of the current cell, at most max_field + 1 bytes */
    bool val_cut;

    /* the row being built: cells indexed by column, empty ones point at offset 0 */
    uint64_t row_num, last_row;
    size_t next_col;
    bool row_ready, row_has_value;
    unsigned row_flags;
    size_t row_bad;
    struct ri_buf arena;
    size_t *cell_off, *cell_len;
    size_t cells_n, cells_cap;
    const char **ptrs;
    size_t ptrs_cap;
};

static const XML_Memory_Handling_Suite xlsx_mem = {ri_try_alloc, ri_try_realloc, ri_free};

/* ------------------------------------------------------------------ helpers */

/* Local part of an expat name: with namespace processing on, names come as "uri|local". */
static const char *local_name(const XML_Char *name)
{
    const char *bar = strrchr(name, '|');
    return bar ? bar + 1 : name;
}

/* Value of the attribute whose local name is want (any namespace unless ns_required,
 * which asks for a namespaced one such as r:id); NULL if absent. */
static const char *attr(const XML_Char **atts, const char *want, bool ns_required)
{
    for (size_t i = 0; atts[i]; i += 2) {
        const char *bar = strrchr(atts[i], '|');
        const char *loc = bar ? bar + 1 : atts[i];
        if (strcmp(loc, want) == 0 && (!ns_required || bar))
            return atts[i + 1];
    }
    return NULL;
}

/* Grows two parallel arrays of size_t together to hold need elements. */
static ri_err pair_reserve(size_t **a, size_t **b, size_t *cap, size_t need)
{
    size_t ca = *cap, cb = *cap;
    ri_err rc = ri_try_grow((void **)a, &ca, need, sizeof(size_t));
    if (rc)
        return rc;
    rc = ri_try_grow((void **)b, &cb, ca, sizeof(size_t));
    if (rc)
        return rc; /* a is larger than needed, which is harmless */
    *cap = ca;
    return RI_OK;
}

/* Records a failure inside a handler and stops the parser (not resumable). */
static void fail_in_handler(struct xlsx_reader *r, ri_err code, const char *what)
{
    if (r->err)
        return;
    r->err = ri_fail(r->base.ctx, code, "'%s': %s: %s", r->name, r->part, what);
    XML_StopParser(r->xp, XML_FALSE);
}

static void on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid,
                       int has_internal)
{
    (void)name;
    (void)sysid;
    (void)pubid;
    (void)has_internal;
    fail_in_handler(ud, RI_ERR_PARSE, "a DOCTYPE is not allowed");
}

static ri_err parser_new(struct xlsx_reader *r, XML_StartElementHandler se,
                         XML_EndElementHandler ee, XML_CharacterDataHandler cd)
{
    r->xp = XML_ParserCreate_MM(NULL, &xlsx_mem, "|");
    if (!r->xp)
        return ri_fail(r->base.ctx, RI_ERR_NOMEM, "'%s': %s: cannot create an XML parser", r->name,
                       r->part);
    XML_SetUserData(r->xp, r);
    XML_SetElementHandler(r->xp, se, ee);
    XML_SetCharacterDataHandler(r->xp, cd);
    XML_SetStartDoctypeDeclHandler(r->xp, on_doctype);
    return RI_OK;
}

static ri_err xml_error(struct xlsx_reader *r)
{
    if (r->err)
        return r->err;
    return ri_fail(r->base.ctx, RI_ERR_PARSE, "'%s': %s: line %lu: %s", r->name, r->part,
                   (unsigned long)XML_GetCurrentLineNumber(r->xp),
                   XML_ErrorString(XML_GetErrorCode(r->xp)));
}

static ri_err zip_err(struct xlsx_reader *r, const char *what, zip_error_t *ze)
{
    return ri_fail(r->base.ctx, RI_ERR_PARSE, "'%s': %s: %s: %s", r->name, r->part, what,
                   zip_error_strerror(ze));
}

/* Opens a part by name (case-insensitive, as some writers vary it) after checking its
 * size. RI_ERR_NOTFOUND, with nothing recorded, if the archive has no such part. */
static ri_err part_open(struct xlsx_reader *r, const char *path, uint64_t max,
                        zip_file_t **zf /* OUT */, uint64_t *size /* OUT */)
{
    zip_int64_t idx = zip_name_locate(r->za, path, ZIP_FL_NOCASE);
    zip_stat_t st;

    *zf = NULL;
    *size = 0;
    r->part = path;
    if (idx < 0)
        return RI_ERR_NOTFOUND;
    zip_stat_init(&st);
    if (zip_stat_index(r->za, (zip_uint64_t)idx, 0, &st) != 0)
        return zip_err(r, "cannot read the entry", zip_get_error(r->za));
    if ((st.valid & ZIP_STAT_SIZE) && st.size > max)
        return ri_fail(r->base.ctx, RI_ERR_TOOBIG, "'%s': %s: %llu bytes uncompressed, limit %llu",
                       r->name, path, (unsigned long long)st.size, (unsigned long long)max);
    *size = (st.valid & ZIP_STAT_SIZE) ? st.size : 0;
    *zf = zip_fopen_index(r->za, (zip_uint64_t)idx, 0);
    if (!*zf)
        return zip_err(r, "cannot open", zip_get_error(r->za));
    return RI_OK;
}

/* Feeds one chunk of zf to the current parser. *final is set at the end of the part. */
static ri_err part_feed(struct xlsx_reader *r, zip_file_t *zf, uint64_t max, uint64_t *read_so_far,
                        enum XML_Status *st /* OUT */)
{
    void *buf = XML_GetBuffer(r->xp, XLSX_CHUNK);
    zip_int64_t n;
    *st = XML_STATUS_ERROR;
    if (!buf)
        return xml_error(r);
    n = zip_fread(zf, buf, XLSX_CHUNK);
    if (n < 0)
        return zip_err(r, "cannot read", zip_file_get_error(zf));
    *read_so_far += (uint64_t)n;
    if (*read_so_far > max)
        return ri_fail(r->base.ctx, RI_ERR_TOOBIG, "'%s': %s: more than %llu bytes uncompressed",
                       r->name, r->part, (unsigned long long)max);
    *st = XML_ParseBuffer(r->xp, (int)n, n == 0);
    if (*st == XML_STATUS_ERROR)
        return xml_error(r);
    return RI_OK;
}

/* Parses a whole small part with the given handlers. A missing part is RI_ERR_NOTFOUND
 * (nothing recorded) unless required. */
static ri_err part_parse(struct xlsx_reader *r, const char *path, bool required,
                         XML_StartElementHandler se, XML_EndElementHandler ee,
                         XML_CharacterDataHandler cd)
{
    zip_file_t *zf = NULL;
    uint64_t size = 0, got = 0;
    XML_ParsingStatus ps;
    enum XML_Status st;
    ri_err rc;

    rc = part_open(r, path, XLSX_MAX_PART, &zf, &size);
    if (rc == RI_ERR_NOTFOUND && required)
        rc =
            ri_fail(r->base.ctx, RI_ERR_PARSE, "'%s': not an XLSX workbook (no %s)", r->name, path);
    if (rc)
        goto out;
    rc = parser_new(r, se, ee, cd);
    if (rc)
        goto out;
    do {
        rc = part_feed(r, zf, XLSX_MAX_PART, &got, &st);
        if (rc)
            goto out;
        XML_GetParsingStatus(r->xp, &ps);
    } while (ps.parsing != XML_FINISHED);
out:
    if (r->xp)
        XML_ParserFree(r->xp);
    r->xp = NULL;
    if (zf)
        zip_fclose(zf);
    return rc;
}

/* Joins a relationship target to the folder of the part that holds it ("xl/"), and
 * removes "." and ".." segments. A target starting with '/' is from the archive root. */
static char *resolve_target(const char *base_dir, const char *target)
{
    struct ri_buf b = RI_BUF_INIT;
    const char *s;
    if (target[0] == '/')
        s = target + 1;
    else {
        ri_buf_adds(&b, base_dir);
        s = target;
    }
    while (*s) {
        const char *slash = strchr(s, '/');
        size_t n = slash ? (size_t)(slash - s) : strlen(s);
        if (n == 2 && s[0] == '.' && s[1] == '.') {
            char *cut;
            if (b.len) {
                b.buf[--b.len] = '\0'; /* the trailing '/' */
                cut = strrchr(b.buf, '/');
                b.len = cut ? (size_t)(cut - b.buf) + 1 : 0;
                b.buf[b.len] = '\0';
            }
        } else if (n > 0 && !(n == 1 && s[0] == '.')) {
            ri_buf_addn(&b, s, n);
            if (slash)
                ri_buf_addc(&b, '/');
        }
        s += n + (slash ? 1 : 0);
    }
    return ri_buf_detach(&b, NULL);
}

/* ------------------------------------------------------------------ workbook.xml */

static void wb_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    struct xlsx_reader *r = ud;
    const char *loc = local_name(name);
    if (r->err)
        return;
    if (strcmp(loc, "workbookPr") == 0) {
        const char *v = attr(atts, "date1904", false);
        r->date1904 = v && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
    } else if (strcmp(loc, "sheet") == 0) {
        const char *nm = attr(atts, "name", false), *rid = attr(atts, "id", true);
        if (r->sheets_n >= XLSX_MAX_ITEMS) {
            fail_in_handler(r, RI_ERR_TOOBIG, "too many sheets");
            return;
        }
        if (ri_try_grow((void **)&r->sheets, &r->sheets_cap, r->sheets_n + 1, sizeof(*r->sheets))) {
            fail_in_handler(r, RI_ERR_NOMEM, "out of memory");
            return;
        }
        r->sheets[r->sheets_n].name = ri_strdup(nm ? nm : "");
        r->sheets[r->sheets_n].rid = ri_strdup(rid ? rid : "");
        r->sheets_n++;
    }
}

static void wb_end(void *ud, const XML_Char *name)
{
    (void)ud;
    (void)name;
}

static void no_text(void *ud, const XML_Char *s, int len)
{
    (void)ud;
    (void)s;
    (void)len;
}

/* ------------------------------------------------------------------ workbook.xml.rels */

static void rels_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    struct xlsx_reader *r = ud;
    const char *id, *target, *type;
    if (r->err || strcmp(local_name(name), "Relationship") != 0)
        return;
    id = attr(atts, "Id", false);
    target = attr(atts, "Target", false);
    type = attr(atts, "Type", false);
    if (!id || !target)
        return;
    if (r->rels_n >= XLSX_MAX_ITEMS) {
        fail_in_handler(r, RI_ERR_TOOBIG, "too many relationships");
        return;
    }
    if (ri_try_grow((void **)&r->rels, &r->rels_cap, r->rels_n + 1, sizeof(*r->rels))) {
        fail_in_handler(r, RI_ERR_NOMEM, "out of memory");
        return;
    }
    r->rels[r->rels_n].id = ri_strdup(id);
    r->rels[r->rels_n].target = resolve_target("xl/", target);
    r->rels[r->rels_n].type = ri_strdup(type ? type : "");
    r->rels_n++;
}

/* Target of the relationship whose Type ends with suffix, or dflt. */
static const char *rel_by_type(const struct xlsx_reader *r, const char *suffix, const char *dflt)
{
    size_t sl = strlen(suffix);
    for (size_t i = 0; i < r->rels_n; i++) {
        size_t tl = strlen(r->rels[i].type);
        if (tl >= sl && strcmp(r->rels[i].type + tl - sl, suffix) == 0)
            return r->rels[i].target;
    }
    return dflt;
}

/* ------------------------------------------------------------------ sharedStrings.xml */

static void sst_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    struct xlsx_reader *r = ud;
    const char *loc = local_name(name);
    (void)atts;
    if (r->err)
        return;
    if (strcmp(loc, "si") == 0) {
        r->in_si = 1;
        r->in_rph = 0;
        r->in_t = 0;
        r->sst_cur = r->sst.len;
    } else if (r->in_si && strcmp(loc, "rPh") == 0) {
        r->in_rph = 1;
    } else if (r->in_si && strcmp(loc, "t") == 0) {
        r->in_t = 1;
    }
}

static void sst_end(void *ud, const XML_Char *name)
{
    struct xlsx_reader *r = ud;
    const char *loc = local_name(name);
    if (r->err)
        return;
    if (strcmp(loc, "t") == 0) {
        r->in_t = 0;
    } else if (strcmp(loc, "rPh") == 0) {
        r->in_rph = 0;
    } else if (strcmp(loc, "si") == 0 && r->in_si) {
        size_t len = r->sst.len - r->sst_cur;
        r->in_si = 0;
        if (r->sst_n >= XLSX_MAX_STRINGS) {
            fail_in_handler(r, RI_ERR_TOOBIG, "too many shared strings");
            return;
        }
        if (pair_reserve(&r->sst_off, &r->sst_len, &r->sst_cap, r->sst_n + 1) ||
            ri_buf_addc(&r->sst, '\0')) {
            fail_in_handler(r, RI_ERR_NOMEM, "out of memory");
            return;
        }
        r->sst_off[r->sst_n] = r->sst_cur;
        r->sst_len[r->sst_n] = len;
        r->sst_n++;
    }
}

static void sst_text(void *ud, const XML_Char *s, int len)
{
    struct xlsx_reader *r = ud;
    size_t have, room, n = (size_t)len;
    if (r->err || !r->in_si || !r->in_t || r->in_rph)
        return;
    /* keep max_field + 1 bytes at most: enough for the cell to be flagged too long */
    have = r->sst.len - r->sst_cur;
    room = have > r->max_field ? 0 : r->max_field + 1 - have;
    if (n > room)
        n = room;
    if (n && ri_buf_addn(&r->sst, s, n))
        fail_in_handler(r, RI_ERR_TOOBIG, "shared strings too large");
}

/* ------------------------------------------------------------------ styles.xml */

/* A custom number format is a date if, outside quoted text, [brackets] and escapes, it
 * has d or y, or has m (month) without h or s (which would make m minutes). */
static bool fmt_code_is_date(const char *code)
{
    bool dy = false, m = false, hs = false;
    for (const char *p = code; *p; p++) {
        char c = *p;
        if (c == '"') {
            const char *q = strchr(p + 1, '"');
            if (!q)
                break;
            p = q;
        } else if (c == '[') {
            const char *q = strchr(p + 1, ']');
            if (!q)
                break;
            p = q;
        } else if (c == '\\' || c == '_' || c == '*') {
            if (!p[1])
                break;
            p++;
        } else {
            c = (char)(c | 0x20);
            dy = dy || c == 'd' || c == 'y';
            m = m || c == 'm';
            hs = hs || c == 'h' || c == 's';
        }
    }
    return dy || (m && !hs);
}

static bool builtin_is_date(uint32_t id)
{
    return (id >= 14 && id <= 17) || id == 22 || (id >= 27 && id <= 36) || (id >= 50 && id <= 58);
}

static uint32_t parse_u32(const char *s, uint32_t dflt)
{
    int64_t v;
    if (!s || ri_parse_i64(s, strlen(s), &v) != RI_OK || v < 0 || v > UINT32_MAX)
        return dflt;
    return (uint32_t)v;
}

static void styles_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    struct xlsx_reader *r = ud;
    const char *loc = local_name(name);
    if (r->err)
        return;
    if (strcmp(loc, "numFmt") == 0) {
        const char *code = attr(atts, "formatCode", false);
        if (r->fmts_n >= XLSX_MAX_ITEMS) {
            fail_in_handler(r, RI_ERR_TOOBIG, "too many number formats");
            return;
        }
        if (ri_try_grow((void **)&r->fmts, &r->fmts_cap, r->fmts_n + 1, sizeof(*r->fmts))) {
            fail_in_handler(r, RI_ERR_NOMEM, "out of memory");
            return;
        }
        r->fmts[r->fmts_n].id = parse_u32(attr(atts, "numFmtId", false), UINT32_MAX);
        r->fmts[r->fmts_n].is_date = code && fmt_code_is_date(code);
        r->fmts_n++;
    } else if (strcmp(loc, "cellXfs") == 0) {
        r->in_cellxfs = 1;
    } else if (r->in_cellxfs && strcmp(loc, "xf") == 0) {
        if (r->xf_n >= XLSX_MAX_ITEMS) {
            fail_in_handler(r, RI_ERR_TOOBIG, "too many cell formats");
            return;
        }
        if (ri_try_grow((void **)&r->xf_fmt, &r->xf_cap, r->xf_n + 1, sizeof(*r->xf_fmt))) {
            fail_in_handler(r, RI_ERR_NOMEM, "out of memory");
            return;
        }
        r->xf_fmt[r->xf_n++] = parse_u32(attr(atts, "numFmtId", false), 0);
    }
}

static void styles_end(void *ud, const XML_Char *name)
{
    struct xlsx_reader *r = ud;
    if (strcmp(local_name(name), "cellXfs") == 0)
        r->in_cellxfs = 0;
}

/* Resolves each cell format to "is a date", custom formats overriding built-in ids. */
static void styles_resolve(struct xlsx_reader *r)
{
    r->xf_date = ri_calloc(r->xf_n ? r->xf_n : 1, sizeof(bool));
    for (size_t i = 0; i < r->xf_n; i++) {
        bool custom = false;
        for (size_t k = 0; k < r->fmts_n; k++) {
            if (r->fmts[k].id == r->xf_fmt[i]) {
                r->xf_date[i] = r->fmts[k].is_date;
                custom = true;
                break;
            }
        }
        if (!custom)
            r->xf_date[i] = builtin_is_date(r->xf_fmt[i]);
    }
}

/* ------------------------------------------------------------------ dates */

/* Writes the ISO form of an Excel serial date into out; false if the serial is out of
 * range or names no real day (0 and the Lotus 1900-02-29), so it stays a number. */
static bool serial_to_iso(double v, bool d1904, char *out, size_t size)
{
    double day;
    int64_t days, z, y;
    long secs;
    unsigned m, d;

    if (!(v >= 0.0 && v < 2958466.0)) /* 9999-12-31, and not NaN */
        return false;
    day = floor(v);
    days = (int64_t)day;
    secs = lround((v - day) * 86400.0);
    if (secs >= 86400) {
        days++;
        secs -= 86400;
    }
    if (d1904) {
        z = ri_days_from_civil(1904, 1, 1) + days;
    } else {
        if (days == 0 || days == 60)
            return false;
        z = ri_days_from_civil(1899, 12, days < 60 ? 31 : 30) + days;
    }
    ri_civil_from_days(z, &y, &m, &d);
    if (secs == 0)
        snprintf(out, size, "%04lld-%02u-%02u", (long long)y, m, d);
    else
        snprintf(out, size, "%04lld-%02u-%02u %02ld:%02ld:%02ld", (long long)y, m, d, secs / 3600,
                 secs / 60 % 60, secs % 60);
    return true;
}

/* ------------------------------------------------------------------ sheet rows */

static size_t utf8_cut(const char *s, size_t cap)
{
    size_t k = cap;
    while (k > 0 && cap - k < 3 && ((unsigned char)s[k] & 0xC0) == 0x80)
        k--;
    return ((unsigned char)s[k] & 0xC0) == 0x80 ? cap : k;
}

static void row_flag(struct xlsx_reader *r, unsigned flag, size_t col)
{
    if (!(r->row_flags & (RI_ROW_TOO_LONG | RI_ROW_BAD_UTF8)) || col < r->row_bad)
        r->row_bad = col;
    r->row_flags |= flag;
}

static void row_reset(struct xlsx_reader *r)
{
    ri_buf_reset(&r->arena);
    ri_buf_addc(&r->arena, '\0'); /* offset 0: the empty cell (fits: cap > 0) */
    r->cells_n = 0;
    r->next_col = 0;
    r->row_flags = 0;
    r->row_bad = 0;
    r->row_ready = false;
    r->row_has_value = false;
}

/* Puts s[0..n) in column col of the row, filling any gap before it with empty cells. */
static void cell_put(struct xlsx_reader *r, size_t col, const char *s, size_t n, bool cut)
{
    size_t off;
    ri_err rc;
    if (col >= RI_READER_MAX_CELLS) {
        row_flag(r, RI_ROW_TOO_LONG, RI_READER_MAX_CELLS - 1);
        return;
    }
    if (n > r->max_field) {
        n = utf8_cut(s, r->max_field);
        cut = true;
    }
    if (cut)
        row_flag(r, RI_ROW_TOO_LONG, col);
    rc = pair_reserve(&r->cell_off, &r->cell_len, &r->cells_cap, col + 1);
    if (rc) {
        fail_in_handler(r, rc, "out of memory for a row");
        return;
    }
    while (r->cells_n <= col) {
        r->cell_off[r->cells_n] = 0;
        r->cell_len[r->cells_n] = 0;
        r->cells_n++;
    }
    r->cell_off[col] = 0;
    r->cell_len[col] = 0;
    if (n == 0)
        return;
    off = r->arena.len;
    rc = ri_buf_addn(&r->arena, s, n);
    if (!rc)
        rc = ri_buf_addc(&r->arena, '\0');
    if (rc == RI_ERR_TOOBIG) {
        r->arena.len = off;
        r->arena.buf[off] = '\0';
        row_flag(r, RI_ROW_TOO_LONG, col);
        return;
    }
    if (rc) {
        fail_in_handler(r, rc, "out of memory for a row");
        return;
    }
    r->cell_off[col] = off;
    r->cell_len[col] = n;
    r->row_has_value = true;
}

/* Column of a cell reference such as "C5" (0-based); false if it is not one. */
static bool ref_col(const char *ref, size_t *col)
{
    size_t c = 0, k = 0;
    for (; ref[k]; k++) {
        char ch = (char)(ref[k] & ~0x20);
        if (ch < 'A' || ch > 'Z')
            break;
        c = c * 26 + (size_t)(ch - 'A' + 1);
        if (c > RI_READER_MAX_CELLS)
            return false;
    }
    if (k == 0)
        return false;
    *col = c - 1;
    return true;
}

static void cell_finish(struct xlsx_reader *r)
{
    const char *s = r->val.buf;
    size_t n = r->val.len;
    bool cut = r->val_cut;
    char date[80];
    int64_t idx;
    double v;

    switch (r->ctype) {
    case XT_SHARED:
        if (ri_parse_i64(s, n, &idx) == RI_OK && idx >= 0 && (uint64_t)idx < r->sst_n) {
            s = r->sst.buf + r->sst_off[idx];
            n = r->sst_len[idx];
        } else {
            s = "";
            n = 0;
        }
        break;
    case XT_BOOL:
        if (n == 1 && (s[0] == '0' || s[0] == '1')) {
            s = s[0] == '1' ? "TRUE" : "FALSE";
            n = strlen(s);
        }
        break;
    case XT_NUMBER:
        if (r->cstyle < r->xf_n && r->xf_date[r->cstyle] && ri_parse_f64(s, n, &v) == RI_OK &&
            serial_to_iso(v, r->date1904, date, sizeof(date))) {
            s = date;
            n = strlen(date);
        }
        break;
    case XT_INLINE:
    case XT_STR:
    case XT_OTHER:
        break;
    }
    cell_put(r, r->ccol, s, n, cut);
}

static void sheet_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    struct xlsx_reader *r = ud;
    const char *loc = local_name(name);
    if (r->err)
        return;
    if (!r->in_sheetdata) {
        if (strcmp(loc, "sheetData") == 0)
            r->in_sheetdata = 1;
        return;
    }
    if (strcmp(loc, "row") == 0) {
        uint32_t n = parse_u32(attr(atts, "r", false), 0);
        r->row_num = n ? n : r->last_row + 1;
        r->last_row = r->row_num;
        r->in_row = 1;
        r->next_col = 0;
    } else if (r->in_row && strcmp(loc, "c") == 0) {
        const char *ref = attr(atts, "r", false), *t = attr(atts, "t", false);
        if (!ref || !ref_col(ref, &r->ccol))
            r->ccol = r->next_col;
        r->next_col = r->ccol + 1;
        r->cstyle = parse_u32(attr(atts, "s", false), 0);
        r->ctype = XT_NUMBER;
        if (t && strcmp(t, "s") == 0)
            r->ctype = XT_SHARED;
        else if (t && strcmp(t, "inlineStr") == 0)
            r->ctype = XT_INLINE;
        else if (t && strcmp(t, "str") == 0)
            r->ctype = XT_STR;
        else if (t && strcmp(t, "b") == 0)
            r->ctype = XT_BOOL;
        else if (t && strcmp(t, "n") != 0)
            r->ctype = XT_OTHER;
        ri_buf_reset(&r->val);
        r->val_cut = false;
        r->in_c = 1;
        r->in_v = r->in_is = r->in_t = r->in_rph = 0;
    } else if (r->in_c) {
        if (strcmp(loc, "v") == 0)
            r->in_v = 1;
        else if (strcmp(loc, "is") == 0)
            r->in_is = 1;
        else if (r->in_is && strcmp(loc, "t") == 0)
            r->in_t = 1;
        else if (r->in_is && strcmp(loc, "rPh") == 0)
            r->in_rph = 1;
    }
}

static void sheet_end(void *ud, const XML_Char *name)
{
    struct xlsx_reader *r = ud;
    const char *loc = local_name(name);
    if (r->err || !r->in_sheetdata)
        return;
    if (strcmp(loc, "sheetData") == 0) {
        r->in_sheetdata = 0;
    } else if (strcmp(loc, "row") == 0 && r->in_row) {
        r->in_row = 0;
        if (r->row_has_value) {
            r->row_ready = true;
            XML_StopParser(r->xp, XML_TRUE);
        } else {
            row_reset(r);
        }
    } else if (strcmp(loc, "c") == 0 && r->in_c) {
        r->in_c = 0;
        cell_finish(r);
    } else if (strcmp(loc, "v") == 0) {
        r->in_v = 0;
    } else if (strcmp(loc, "is") == 0) {
        r->in_is = 0;
    } else if (strcmp(loc, "t") == 0) {
        r->in_t = 0;
    } else if (strcmp(loc, "rPh") == 0) {
        r->in_rph = 0;
    }
}

static void sheet_text(void *ud, const XML_Char *s, int len)
{
    struct xlsx_reader *r = ud;
    size_t room, n = (size_t)len;
    if (r->err || !r->in_c)
        return;
    if (!(r->in_v || (r->in_is && r->in_t && !r->in_rph)))
        return;
    room = r->val.len > r->max_field ? 0 : r->max_field + 1 - r->val.len;
    if (n > room) {
        n = room;
        r->val_cut = true;
    }
    if (n && ri_buf_addn(&r->val, s, n))
        fail_in_handler(r, RI_ERR_NOMEM, "out of memory for a cell");
}

/* ------------------------------------------------------------------ reader ops */

static ri_err xlsx_next(struct ri_reader *base, struct ri_row *row)
{
    struct xlsx_reader *r = (struct xlsx_reader *)base;
    XML_ParsingStatus ps;
    enum XML_Status st;
    ri_err rc;

    memset(row, 0, sizeof(*row));
    if (r->err)
        return r->err;
    row_reset(r);
    r->part = r->sheet_path;
    while (!r->row_ready) {
        if (r->finished)
            return RI_ERR_NOTFOUND;
        XML_GetParsingStatus(r->xp, &ps);
        if (ps.parsing == XML_FINISHED) {
            r->finished = true;
            continue;
        }
        if (ps.parsing == XML_SUSPENDED) {
            st = XML_ResumeParser(r->xp);
            if (st == XML_STATUS_ERROR) {
                r->err = xml_error(r);
                return r->err;
            }
        } else {
            rc = part_feed(r, r->zf, XLSX_MAX_SHEET, &r->sheet_read, &st);
            if (rc) {
                r->err = rc;
                return rc;
            }
        }
    }
    rc = ri_try_grow((void **)&r->ptrs, &r->ptrs_cap, r->cells_n, sizeof(*r->ptrs));
    if (rc)
        return ri_fail(base->ctx, rc, "'%s': %s: row %llu: out of memory", r->name, r->sheet_path,
                       (unsigned long long)r->row_num);
    for (size_t i = 0; i < r->cells_n; i++)
        r->ptrs[i] = r->arena.buf + r->cell_off[i];
    row->n = r->cells_n;
    row->cells = r->ptrs;
    row->lens = r->cell_len;
    row->line = r->row_num;
    row->flags = r->row_flags;
    row->bad_col = r->row_bad;
    return RI_OK;
}

static char xlsx_delimiter(const struct ri_reader *base)
{
    (void)base;
    return 0;
}

static void xlsx_progress(const struct ri_reader *base, uint64_t *done, uint64_t *total)
{
    const struct xlsx_reader *r = (const struct xlsx_reader *)base;
    *done = r->sheet_read;
    *total = r->sheet_size > r->sheet_read ? r->sheet_size : r->sheet_read;
}

static void xlsx_free_reader(struct ri_reader *base)
{
    struct xlsx_reader *r = (struct xlsx_reader *)base;
    if (r->xp)
        XML_ParserFree(r->xp);
    if (r->zf)
        zip_fclose(r->zf);
    if (r->za)
        zip_discard(r->za);
    for (size_t i = 0; i < r->sheets_n; i++) {
        ri_free(r->sheets[i].name);
        ri_free(r->sheets[i].rid);
    }
    for (size_t i = 0; i < r->rels_n; i++) {
        ri_free(r->rels[i].id);
        ri_free(r->rels[i].target);
        ri_free(r->rels[i].type);
    }
    ri_free(r->sheets);
    ri_free(r->rels);
    ri_buf_release(&r->sst);
    ri_free(r->sst_off);
    ri_free(r->sst_len);
    ri_free(r->fmts);
    ri_free(r->xf_fmt);
    ri_free(r->xf_date);
    ri_free(r->sheet_path);
    ri_buf_release(&r->val);
    ri_buf_release(&r->arena);
    ri_free(r->cell_off);
    ri_free(r->cell_len);
    ri_free(r->ptrs);
    ri_free(r->name);
    ri_free(r);
}

static const struct ri_reader_ops xlsx_ops = {
    "xlsx", xlsx_next, xlsx_delimiter, xlsx_progress, xlsx_free_reader,
};

/* ------------------------------------------------------------------ opening */

/* Picks the sheet (by name, else the first) and finds its part. */
static ri_err choose_sheet(struct xlsx_reader *r, const char *want)
{
    const struct xlsx_sheet_ref *sh = NULL;
    size_t pos = 0;
    char fallback[64];

    if (r->sheets_n == 0)
        return ri_fail(r->base.ctx, RI_ERR_PARSE,
                       "'%s': xl/workbook.xml: the workbook has no sheet", r->name);
    for (size_t i = 0; i < r->sheets_n && !sh; i++) {
        if (!want || strcmp(r->sheets[i].name, want) == 0) {
            sh = &r->sheets[i];
            pos = i;
        }
    }
    if (!sh)
        return ri_fail(r->base.ctx, RI_ERR_NOTFOUND, "'%s': no sheet named '%s'", r->name, want);
    for (size_t i = 0; i < r->rels_n; i++) {
        if (strcmp(r->rels[i].id, sh->rid) == 0) {
            r->sheet_path = ri_strdup(r->rels[i].target);
            return RI_OK;
        }
    }
    /* no relationship for it: the conventional name of the nth sheet */
    snprintf(fallback, sizeof(fallback), "xl/worksheets/sheet%zu.xml", pos + 1);
    r->sheet_path = ri_strdup(fallback);
    return RI_OK;
}

static ri_err xlsx_start(struct xlsx_reader *r, const struct ri_reader_opts *opts)
{
    ri_err rc;
    size_t row_cap;

    rc = part_parse(r, "xl/workbook.xml", true, wb_start, wb_end, no_text);
    if (rc)
        return rc;
    rc = part_parse(r, "xl/_rels/workbook.xml.rels", false, rels_start, wb_end, no_text);
    if (rc && rc != RI_ERR_NOTFOUND)
        return rc;
    rc = choose_sheet(r, opts ? opts->sheet : NULL);
    if (rc)
        return rc;
    rc = part_parse(r, rel_by_type(r, "/sharedStrings", "xl/sharedStrings.xml"), false, sst_start,
                    sst_end, sst_text);
    if (rc && rc != RI_ERR_NOTFOUND)
        return rc;
    rc = part_parse(r, rel_by_type(r, "/styles", "xl/styles.xml"), false, styles_start, styles_end,
                    no_text);
    if (rc && rc != RI_ERR_NOTFOUND)
        return rc;
    styles_resolve(r);

    row_cap = r->max_field * 4 > XLSX_ROW_MIN_CAP ? r->max_field * 4 : XLSX_ROW_MIN_CAP;
    ri_buf_init(&r->arena, row_cap);
    rc = part_open(r, r->sheet_path, XLSX_MAX_SHEET, &r->zf, &r->sheet_size);
    if (rc == RI_ERR_NOTFOUND)
        rc = ri_fail(r->base.ctx, RI_ERR_PARSE, "'%s': the sheet's part %s is missing", r->name,
                     r->sheet_path);
    if (rc)
        return rc;
    r->part = r->sheet_path;
    return parser_new(r, sheet_start, sheet_end, sheet_text);
}

/* Takes over za (discarded on failure). */
static ri_err xlsx_open_take(struct ri_ctx *ctx, zip_t *za, const char *name,
                             const struct ri_reader_opts *opts, struct ri_reader **out)
{
    struct xlsx_reader *r = ri_calloc(1, sizeof(*r));
    ri_err rc;

    r->base.ops = &xlsx_ops;
    r->base.ctx = ctx;
    r->za = za;
    r->name = ri_strdup(name);
    r->part = "";
    r->max_field = opts && opts->max_field ? opts->max_field : RI_READER_MAX_FIELD;
    if (r->max_field > SIZE_MAX / 8)
        r->max_field = SIZE_MAX / 8;
    ri_buf_init(&r->sst, 2 * XLSX_MAX_PART);
    ri_buf_init(&r->val, 0);
    ri_buf_init(&r->arena, XLSX_ROW_MIN_CAP);
    rc = xlsx_start(r, opts);
    if (rc) {
        xlsx_free_reader(&r->base);
        return rc;
    }
    *out = &r->base;
    return RI_OK;
}

ri_err ri_xlsx_open(struct ri_ctx *ctx, const char *path, const struct ri_reader_opts *opts,
                    struct ri_reader **out)
{
    int zerr = 0;
    zip_t *za;
    zip_error_t ze;
    ri_err rc;

    *out = NULL;
    za = zip_open(path, ZIP_RDONLY, &zerr);
    if (!za) {
        zip_error_init_with_code(&ze, zerr);
        rc = ri_fail(ctx, zerr == ZIP_ER_OPEN || zerr == ZIP_ER_READ ? RI_ERR_IO : RI_ERR_PARSE,
                     "cannot open '%s' as XLSX: %s", path, zip_error_strerror(&ze));
        zip_error_fini(&ze);
        return rc;
    }
    return xlsx_open_take(ctx, za, path, opts, out);
}

ri_err ri_xlsx_open_mem(struct ri_ctx *ctx, const char *data, size_t len,
                        const struct ri_reader_opts *opts, struct ri_reader **out)
{
    zip_error_t ze;
    zip_source_t *src;
    zip_t *za;
    ri_err rc;

    *out = NULL;
    zip_error_init(&ze);
    src = zip_source_buffer_create(len ? data : NULL, len, 0, &ze);
    if (!src) {
        rc = ri_fail(ctx, RI_ERR_NOMEM, "'(memory)': %s", zip_error_strerror(&ze));
        zip_error_fini(&ze);
        return rc;
    }
    za = zip_open_from_source(src, ZIP_RDONLY, &ze);
    if (!za) {
        zip_source_free(src);
        rc = ri_fail(ctx, RI_ERR_PARSE, "cannot open '(memory)' as XLSX: %s",
                     zip_error_strerror(&ze));
        zip_error_fini(&ze);
        return rc;
    }
    zip_error_fini(&ze);
    return xlsx_open_take(ctx, za, "(memory)", opts, out);
}
