/*
 * csv.c - the CSV reader: an adapter over libcsv that yields one row at a time.
 *
 * The input (a file read in 256 KiB chunks, or a buffer in memory) is cut into physical
 * lines with memchr and given to libcsv one line at a time, or in 64 KiB pieces when a
 * line is longer, so that the reader always knows which physical line it is on: a row
 * starts on the line where libcsv leaves its "row not begun" state, and that line
 * number (1-based, header = 1) goes with the row. Rows that libcsv completes are queued
 * with their cells in one reusable arena (no allocation per cell); ri_reader_next pops
 * them, and the arena is compacted when the queue is empty, so a cell stays valid until
 * the next call.
 *
 * Invariants and recovery:
 *  - libcsv runs in strict mode. A malformed quote does not end the read: the row so far
 *    is queued with RI_ROW_BAD_QUOTE, the parser is reset, and parsing resumes at the
 *    next physical line.
 *  - An unterminated quote at end of input: the row that started at line X is queued
 *    with RI_ROW_BAD_QUOTE and reading resumes at line X + 1 (by seeking back to its byte
 *    offset, kept while the row was open), so one stray quote cannot swallow the rest of
 *    the file. Every such resumption moves strictly forward, so the read ends; the
 *    bytes re-read that way are bounded (twice the input plus 16 MiB), past which the
 *    read just ends, so a crafted file cannot make reading quadratic.
 *  - A field is cut to max_field bytes (RI_ROW_TOO_LONG). libcsv's own field buffer is
 *    squeezed between pieces (csv_squeeze), so a 10 MB field needs about max_field plus
 *    one piece of memory, never the field's size.
 *  - Rows are checked for UTF-8 once, on the row's bytes as a whole; only a failing row
 *    is scanned cell by cell to name the column. NUL bytes are data.
 */
/* system and libcsv headers first: <csv.h> pulls in <stdlib.h>, whose inline atoi
 * would collide with banned.h */
#include <csv.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ri_internal.h"
#include "reader.h"

#define CSV_CHUNK        ((size_t)256 * 1024) /* bytes read from a file at a time */
#define CSV_PIECE        ((size_t)64 * 1024)  /* most bytes handed to libcsv in one call */
#define CSV_SNIFF_BYTES  ((size_t)64 * 1024)  /* sample for delimiter and line-end detection */
#define CSV_SNIFF_LINES  20
#define CSV_BLK          ((size_t)16 * 1024) /* libcsv grows its field buffer by this much */
#define CSV_ROW_MIN_CAP  ((size_t)64 * 1024 * 1024)
#define CSV_REREAD_SLACK ((uint64_t)16 * 1024 * 1024) /* rewinds may re-read 2 x size + this */

/* libcsv's parser states (libcsv.c). struct csv_parser is public, and its pstate is
 * what tells us whether the next byte may start a row. */
enum {
    LCSV_ROW_NOT_BEGUN = 0,
    LCSV_FIELD_NOT_BEGUN = 1,
    LCSV_FIELD_BEGUN = 2,
    LCSV_FIELD_MIGHT_HAVE_ENDED = 3,
};

/* A completed row waiting in the queue; its cells are cell_off/cell_len[first..+n). */
struct csv_rowrec {
    size_t first;
    size_t n;
    uint64_t line;
    unsigned flags;
    size_t bad_col;
};

struct csv_reader {
    struct ri_reader base; /* first: reader.c sees only this */
    struct csv_parser p;
    bool p_init;
    char delim;
    char eol;         /* '\n', or '\r' for a file with old Mac line ends */
    size_t max_field; /* field cap in bytes */
    char *name;       /* for messages */

    /* source: a file read into buf, or memory; win[pos..end) is not yet fed */
    int fd; /* -1 for memory */
    char *buf;
    const char *win;
    size_t pos, end;
    uint64_t win_off; /* file offset of win[0] */
    uint64_t size;    /* total bytes, 0 if unknown */
    bool eof;         /* the source has no more bytes past win[end] */
    bool done;        /* libcsv finished; the queue is all that is left */

    /* physical lines */
    uint64_t line;      /* line of the next byte fed, 1-based */
    bool at_line_start; /* the next byte fed starts a line */
    bool skip_line;     /* drop bytes up to the end of this line (after a bad quote) */

    /* the row being built */
    uint64_t row_line;
    bool resume_known; /* resume_off is the offset of line row_line + 1 */
    uint64_t resume_off;
    uint64_t reread;  /* bytes read a second time after rewinds (bounded) */
    size_t row_first; /* index of its first cell */
    unsigned row_flags;
    size_t row_bad;

    /* cells of queued rows and of the row being built */
    struct ri_buf arena;
    size_t *cell_off, *cell_len;
    size_t cells_n, cells_cap;
    struct csv_rowrec *q;
    size_t q_head, q_n, q_cap;
    const char **ptrs;
    size_t ptrs_cap;
    ri_err cb_err; /* a failure inside a libcsv callback */
};

static const char csv_candidates[] = {',', ';', '\t', '|'};

/* ------------------------------------------------------------------ helpers */

/* Grows cell_off and cell_len together to hold need cells. */
static ri_err cells_reserve(struct csv_reader *r, size_t need)
{
    size_t cap = r->cells_cap, cap2;
    ri_err rc = ri_try_grow((void **)&r->cell_off, &cap, need, sizeof(size_t));
    if (rc)
        return rc;
    cap2 = r->cells_cap;
    rc = ri_try_grow((void **)&r->cell_len, &cap2, cap, sizeof(size_t));
    if (rc)
        return rc; /* cell_off is larger than needed, which is harmless */
    r->cells_cap = cap;
    return RI_OK;
}

static void row_flag(struct csv_reader *r, unsigned flag, size_t col)
{
    if (!(r->row_flags & (RI_ROW_TOO_LONG | RI_ROW_BAD_UTF8)) || col < r->row_bad)
        r->row_bad = col;
    r->row_flags |= flag;
}

/* Cut point at or below cap that does not split a UTF-8 sequence. */
static size_t utf8_cut(const unsigned char *s, size_t cap)
{
    size_t k = cap;
    while (k > 0 && cap - k < 3 && (s[k] & 0xC0) == 0x80)
        k--;
    return (s[k] & 0xC0) == 0x80 ? cap : k;
}

/* Adds one cell of the current row to the arena. */
static void cell_add(struct csv_reader *r, const char *s, size_t len)
{
    size_t col = r->cells_n - r->row_first;
    size_t off = r->arena.len;
    ri_err rc;

    if (r->cb_err)
        return;
    if (col >= RI_READER_MAX_CELLS) {
        row_flag(r, RI_ROW_TOO_LONG, RI_READER_MAX_CELLS - 1);
        return;
    }
    if (!s)
        s = "";
    if (len > r->max_field) {
        len = utf8_cut((const unsigned char *)s, r->max_field);
        row_flag(r, RI_ROW_TOO_LONG, col);
    }
    if (r->cells_n == r->cells_cap) {
        rc = cells_reserve(r, r->cells_n + 1);
        if (rc) {
            r->cb_err = rc;
            return;
        }
    }
    if (r->arena.alloc - r->arena.len > len + 1 && r->arena.len + len + 1 <= r->arena.max) {
        /* room already there (the usual case): one copy, the NUL kept by hand */
        memcpy(r->arena.buf + off, s, len);
        r->arena.buf[off + len] = '\0';
        r->arena.len += len + 1;
        r->arena.buf[r->arena.len] = '\0';
        rc = RI_OK;
    } else {
        rc = ri_buf_addn(&r->arena, s, len);
        if (!rc)
            rc = ri_buf_addc(&r->arena, '\0');
    }
    if (rc == RI_ERR_TOOBIG) {
        /* the row passed its byte cap: keep the cell, empty */
        r->arena.len = off;
        r->arena.buf[off] = '\0';
        rc = ri_buf_addc(&r->arena, '\0');
        len = 0;
        row_flag(r, RI_ROW_TOO_LONG, col);
    }
    if (rc) {
        r->cb_err = rc;
        return;
    }
    r->cell_off[r->cells_n] = off;
    r->cell_len[r->cells_n] = len;
    r->cells_n++;
}

/* Queues the row being built, with extra flags, and starts a new one. */
static void row_finish(struct csv_reader *r, unsigned flags)
{
    struct csv_rowrec *rec;
    size_t n = r->cells_n - r->row_first;
    ri_err rc;

    if (r->cb_err)
        return;
    r->row_flags |= flags;
    if (n > 0) {
        size_t from = r->cell_off[r->row_first];
        if (!ri_utf8_valid(r->arena.buf + from, r->arena.len - from)) {
            for (size_t i = 0; i < n; i++) {
                size_t c = r->row_first + i;
                if (!ri_utf8_valid(r->arena.buf + r->cell_off[c], r->cell_len[c])) {
                    row_flag(r, RI_ROW_BAD_UTF8, i);
                    break;
                }
            }
        }
    }
    rc = ri_try_grow((void **)&r->q, &r->q_cap, r->q_head + r->q_n + 1, sizeof(*r->q));
    if (rc) {
        r->cb_err = rc;
        return;
    }
    rec = &r->q[r->q_head + r->q_n++];
    rec->first = r->row_first;
    rec->n = n;
    rec->line = r->row_line;
    rec->flags = r->row_flags;
    rec->bad_col = r->row_bad;
    r->row_first = r->cells_n;
    r->row_flags = 0;
    r->row_bad = 0;
    /* a row that starts later on this same line (after a lone CR) starts here */
    r->row_line = r->line;
    r->resume_known = false;
}

static void on_field(void *s, size_t len, void *ud)
{
    cell_add(ud, s, len);
}

static void on_row(int c, void *ud)
{
    (void)c;
    row_finish(ud, 0);
}

/* ------------------------------------------------------------------ libcsv state */

static void parser_reset(struct csv_parser *p)
{
    p->pstate = LCSV_ROW_NOT_BEGUN;
    p->quoted = 0;
    p->spaces = 0;
    p->entry_pos = 0;
    p->status = 0;
}

/*
 * Bounds libcsv's buffer for the field being parsed. The buffer holds the field's
 * content followed by a "tail" that libcsv may still strip when the field ends: the
 * trailing blanks of an unquoted field, or the closing quote and blanks after it. If the
 * content already passes the cap, keep cap + 1 bytes of it (so the field is reported too
 * long) and a tail of at most two bytes. Otherwise only a long run of blanks is in the
 * way: keep enough of it that, should it turn into content, the field still passes the
 * cap with its first bytes exact. libcsv reads nothing back from the buffer, only
 * entry_pos and spaces, so this is safe between two csv_parse calls.
 */
static void csv_squeeze(struct csv_reader *r)
{
    struct csv_parser *p = &r->p;
    size_t cap = r->max_field;
    size_t quote = p->pstate == LCSV_FIELD_MIGHT_HAVE_ENDED ? 1 : 0;
    size_t tail = 0, content, keep;

    if (p->pstate == LCSV_FIELD_MIGHT_HAVE_ENDED || (p->pstate == LCSV_FIELD_BEGUN && !p->quoted))
        tail = p->spaces + quote;
    if (tail > p->entry_pos)
        return;
    content = p->entry_pos - tail;
    if (content > cap) {
        keep = p->spaces ? 1 : 0;
        if (tail)
            memmove(p->entry_buf + cap + 1, p->entry_buf + p->entry_pos - (quote + keep),
                    quote + keep);
        p->entry_pos = cap + 1 + (tail ? quote + keep : 0);
        p->spaces = tail ? keep : p->spaces;
        return;
    }
    if (quote)
        keep = p->spaces ? 1 : 0; /* blanks after a closing quote never become content */
    else
        keep = p->spaces < cap + 1 - content ? p->spaces : cap + 1 - content;
    p->entry_pos = content + quote + keep;
    p->spaces = keep;
}

/* The partial field left in libcsv's buffer after a quoting error, up to its first line
 * end, becomes the last cell of the bad row (for the quarantine's example value). */
static void add_partial_field(struct csv_reader *r)
{
    const char *s = (const char *)r->p.entry_buf;
    size_t len = r->p.entry_pos;
    const char *nl;
    if (!s || len == 0) {
        /* a bad row always has at least one cell, so it can be shown and counted */
        if (r->cells_n == r->row_first)
            cell_add(r, "", 0);
        return;
    }
    nl = memchr(s, '\n', len);
    if (nl)
        len = (size_t)(nl - s);
    nl = memchr(s, '\r', len);
    if (nl)
        len = (size_t)(nl - s);
    cell_add(r, s, len);
}

/* ------------------------------------------------------------------ source */

static uint64_t cur_off(const struct csv_reader *r)
{
    return r->win_off + r->pos;
}

/* File mode: keep win[pos..end) and read more after it. Sets eof at end of file. */
static ri_err csv_fill(struct csv_reader *r)
{
    size_t keep = r->end - r->pos;
    if (r->fd < 0) {
        r->eof = true;
        return RI_OK;
    }
    if (r->pos > 0) {
        memmove(r->buf, r->buf + r->pos, keep);
        r->win_off += r->pos;
        r->pos = 0;
        r->end = keep;
    }
    while (r->end < CSV_CHUNK) {
        ssize_t got = read(r->fd, r->buf + r->end, CSV_CHUNK - r->end);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return ri_fail(r->base.ctx, RI_ERR_IO, "cannot read '%s': %s", r->name,
                           strerror(errno));
        if (got == 0) {
            r->eof = true;
            break;
        }
        r->end += (size_t)got;
    }
    return RI_OK;
}

static ri_err csv_seek(struct csv_reader *r, uint64_t off)
{
    if (r->fd < 0) {
        r->pos = (size_t)off;
        r->eof = true;
        return RI_OK;
    }
    if (lseek(r->fd, (off_t)off, SEEK_SET) < 0)
        return ri_fail(r->base.ctx, RI_ERR_IO, "cannot seek in '%s': %s", r->name, strerror(errno));
    r->win_off = off;
    r->pos = r->end = 0;
    r->eof = false;
    return csv_fill(r);
}

/* ------------------------------------------------------------------ detection */

/* Picks the delimiter from the first lines of s[0..len): for each candidate, count it
 * outside quotes on each line; the winner is the one whose most common count (which
 * must be > 0) is shared by the most lines, then the one with the larger count, then
 * the earlier in , ; tab |. A single-column file gets ','. */
static char sniff_delimiter(const char *s, size_t len, char eol, bool complete)
{
    size_t counts[RI_ARRAY_SIZE(csv_candidates)][CSV_SNIFF_LINES];
    size_t cur[RI_ARRAY_SIZE(csv_candidates)] = {0};
    size_t nlines = 0, best = 0, best_freq = 0, best_mode = 0;
    bool inq = false, blank = true;

    for (size_t i = 0; i < len && nlines < CSV_SNIFF_LINES; i++) {
        char c = s[i];
        if (c == '"') {
            inq = !inq;
            blank = false;
        } else if (c == eol && !inq) {
            if (!blank) {
                for (size_t k = 0; k < RI_ARRAY_SIZE(csv_candidates); k++)
                    counts[k][nlines] = cur[k];
                nlines++;
            }
            memset(cur, 0, sizeof(cur));
            blank = true;
        } else if (!inq) {
            for (size_t k = 0; k < RI_ARRAY_SIZE(csv_candidates); k++)
                cur[k] += c == csv_candidates[k];
            if (c != ' ' && c != '\r' && c != '\n')
                blank = false;
        }
    }
    /* an unfinished last line counts only when it is all there is, or the input ends */
    if (!blank && nlines < CSV_SNIFF_LINES && (complete || nlines == 0)) {
        for (size_t k = 0; k < RI_ARRAY_SIZE(csv_candidates); k++)
            counts[k][nlines] = cur[k];
        nlines++;
    }
    for (size_t k = 0; k < RI_ARRAY_SIZE(csv_candidates); k++) {
        size_t mode = 0, freq = 0;
        for (size_t i = 0; i < nlines; i++) {
            size_t f = 0;
            for (size_t j = 0; j < nlines; j++)
                f += counts[k][j] == counts[k][i];
            if (f > freq || (f == freq && counts[k][i] > mode)) {
                freq = f;
                mode = counts[k][i];
            }
        }
        if (mode == 0)
            continue;
        if (freq > best_freq || (freq == best_freq && mode > best_mode)) {
            best = k;
            best_freq = freq;
            best_mode = mode;
        }
    }
    if (best_freq == 0)
        return ',';
    return csv_candidates[best];
}

/* ------------------------------------------------------------------ feeding */

/* Records the failure a libcsv callback could not return (out of memory) on the context. */
static ri_err cb_fail(struct csv_reader *r)
{
    return ri_fail(r->base.ctx, r->cb_err, "'%s': line %llu: %s", r->name,
                   (unsigned long long)r->line, ri_strerror(r->cb_err));
}

/* Called at end of input: lets libcsv finish the last row. An unterminated quote makes
 * the open row a bad one and rewinds to the line after the one it started on. */
static ri_err csv_finish(struct csv_reader *r)
{
    uint64_t resume = r->resume_off, bad_line = r->row_line, end = cur_off(r);
    bool can_resume = r->resume_known;

    if (csv_fini(&r->p, on_field, on_row, r) == 0) {
        r->done = true;
        return r->cb_err ? cb_fail(r) : RI_OK;
    }
    add_partial_field(r);
    row_finish(r, RI_ROW_BAD_QUOTE);
    if (r->cb_err)
        return cb_fail(r);
    parser_reset(&r->p);
    /* Rewinds re-read input; a crafted file could make them quadratic, so their total is
     * bounded by twice the input plus CSV_REREAD_SLACK, past which the read just ends. */
    if (can_resume && end > resume)
        r->reread += end - resume;
    if (!can_resume || r->reread > 2 * r->size + CSV_REREAD_SLACK) {
        r->done = true;
        return RI_OK;
    }
    r->line = bad_line + 1;
    r->at_line_start = true;
    r->skip_line = false;
    return csv_seek(r, resume);
}

/* Feeds libcsv one line, or one piece of a long line. */
static ri_err csv_step(struct csv_reader *r)
{
    const char *s, *nl;
    size_t avail, n, used;
    bool line_ends;
    ri_err rc;

    avail = r->end - r->pos;
    if (avail < CSV_PIECE && !r->eof) {
        nl = memchr(r->win + r->pos, r->eol, avail);
        if (!nl) {
            rc = csv_fill(r);
            if (rc)
                return rc;
            avail = r->end - r->pos;
        }
    }
    if (avail == 0)
        return csv_finish(r);

    if (r->at_line_start) {
        if (r->p.pstate == LCSV_ROW_NOT_BEGUN) {
            r->row_line = r->line;
            r->resume_known = false;
        } else if (!r->resume_known && r->line == r->row_line + 1) {
            r->resume_off = cur_off(r);
            r->resume_known = true;
        }
        r->at_line_start = false;
    }

    s = r->win + r->pos;
    n = avail < CSV_PIECE ? avail : CSV_PIECE;
    nl = memchr(s, r->eol, n);
    line_ends = nl != NULL;
    if (nl)
        n = (size_t)(nl - s) + 1;

    if (r->skip_line) {
        used = n;
    } else {
        used = csv_parse(&r->p, s, n, on_field, on_row, r);
        if (r->cb_err)
            return cb_fail(r);
        if (used < n) {
            if (csv_error(&r->p) != CSV_EPARSE)
                return ri_fail(r->base.ctx, RI_ERR_NOMEM, "'%s': line %llu: %s", r->name,
                               (unsigned long long)r->line, csv_strerror(csv_error(&r->p)));
            /* strict quoting error: queue the row so far and drop the rest of the line */
            add_partial_field(r);
            row_finish(r, RI_ROW_BAD_QUOTE);
            if (r->cb_err)
                return cb_fail(r);
            parser_reset(&r->p);
            r->skip_line = true;
            used = n;
        } else if (r->p.entry_pos > r->max_field + CSV_PIECE) {
            csv_squeeze(r);
        }
    }
    r->pos += used;
    if (line_ends) {
        r->line++;
        r->at_line_start = true;
        r->skip_line = false;
    }
    return RI_OK;
}

/* Drops the cells of rows already returned, keeping the row being built. */
static void csv_compact(struct csv_reader *r)
{
    size_t keep = r->cells_n - r->row_first;
    size_t from;
    r->q_head = 0;
    if (r->row_first == 0)
        return;
    from = keep ? r->cell_off[r->row_first] : r->arena.len;
    if (r->arena.alloc) {
        memmove(r->arena.buf, r->arena.buf + from, r->arena.len - from);
        r->arena.len -= from;
        r->arena.buf[r->arena.len] = '\0';
    }
    for (size_t i = 0; i < keep; i++) {
        r->cell_off[i] = r->cell_off[r->row_first + i] - from;
        r->cell_len[i] = r->cell_len[r->row_first + i];
    }
    r->cells_n = keep;
    r->row_first = 0;
}

/* ------------------------------------------------------------------ reader ops */

static ri_err csv_next(struct ri_reader *base, struct ri_row *row)
{
    struct csv_reader *r = (struct csv_reader *)base;
    struct csv_rowrec *rec;
    ri_err rc;

    memset(row, 0, sizeof(*row));
    if (r->q_n == 0) {
        csv_compact(r);
        while (r->q_n == 0 && !r->done) {
            rc = csv_step(r);
            if (rc)
                return rc;
        }
        if (r->q_n == 0)
            return RI_ERR_NOTFOUND;
    }
    rec = &r->q[r->q_head++];
    r->q_n--;
    rc = ri_try_grow((void **)&r->ptrs, &r->ptrs_cap, rec->n, sizeof(*r->ptrs));
    if (rc)
        return ri_fail(base->ctx, rc, "'%s': line %llu: no memory for the row", r->name,
                       (unsigned long long)rec->line);
    for (size_t i = 0; i < rec->n; i++)
        r->ptrs[i] = r->arena.buf + r->cell_off[rec->first + i];
    row->n = rec->n;
    row->cells = r->ptrs;
    row->lens = rec->n ? r->cell_len + rec->first : NULL;
    row->line = rec->line;
    row->flags = rec->flags;
    row->bad_col = rec->bad_col;
    return RI_OK;
}

static char csv_delimiter(const struct ri_reader *base)
{
    return ((const struct csv_reader *)base)->delim;
}

static void csv_progress(const struct ri_reader *base, uint64_t *done, uint64_t *total)
{
    const struct csv_reader *r = (const struct csv_reader *)base;
    *done = r->done ? r->size : cur_off(r);
    *total = r->size;
}

static void csv_free_reader(struct ri_reader *base)
{
    struct csv_reader *r = (struct csv_reader *)base;
    if (r->p_init)
        csv_free(&r->p);
    if (r->fd >= 0)
        close(r->fd);
    ri_buf_release(&r->arena);
    ri_free(r->cell_off);
    ri_free(r->cell_len);
    ri_free(r->q);
    ri_free(r->ptrs);
    ri_free(r->buf);
    ri_free(r->name);
    ri_free(r);
}

static const struct ri_reader_ops csv_ops = {
    "csv", csv_next, csv_delimiter, csv_progress, csv_free_reader,
};

/* ------------------------------------------------------------------ opening */

static ri_err csv_start(struct csv_reader *r, const struct ri_reader_opts *opts)
{
    const char *s = r->win + r->pos;
    size_t n = r->end - r->pos;
    size_t row_cap;

    if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
        r->pos += 3;
        s += 3;
        n -= 3;
    }
    if (n > CSV_SNIFF_BYTES)
        n = CSV_SNIFF_BYTES;
    /* a sample with CRs and no LF at all: a file with old Mac line ends */
    r->eol = (!memchr(s, '\n', n) && memchr(s, '\r', n)) ? '\r' : '\n';
    if (opts && opts->delimiter) {
        if (opts->delimiter == '"' || opts->delimiter == '\n' || opts->delimiter == '\r')
            return ri_fail(r->base.ctx, RI_ERR_INVALID, "'%s': delimiter cannot be %s", r->name,
                           opts->delimiter == '"' ? "a quote" : "a line end");
        r->delim = opts->delimiter;
    } else {
        r->delim = sniff_delimiter(s, n, r->eol, r->eof && n == r->end - r->pos);
    }
    r->max_field = opts && opts->max_field ? opts->max_field : RI_READER_MAX_FIELD;
    if (r->max_field > SIZE_MAX / 8)
        r->max_field = SIZE_MAX / 8;
    row_cap = r->max_field * 4 > CSV_ROW_MIN_CAP ? r->max_field * 4 : CSV_ROW_MIN_CAP;
    ri_buf_init(&r->arena, row_cap + 4 * (size_t)CSV_PIECE);

    if (csv_init(&r->p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0)
        return ri_fail(r->base.ctx, RI_ERR_NOMEM, "'%s': cannot set up the CSV parser", r->name);
    r->p_init = true;
    csv_set_delim(&r->p, (unsigned char)r->delim);
    csv_set_realloc_func(&r->p, ri_try_realloc);
    csv_set_free_func(&r->p, ri_free);
    csv_set_blk_size(&r->p, CSV_BLK);
    r->line = 1;
    r->row_line = 1;
    r->at_line_start = true;
    return RI_OK;
}

static struct csv_reader *csv_alloc(struct ri_ctx *ctx, const char *name)
{
    struct csv_reader *r = ri_calloc(1, sizeof(*r));
    r->base.ops = &csv_ops;
    r->base.ctx = ctx;
    r->fd = -1;
    r->name = ri_strdup(name);
    ri_buf_init(&r->arena, 0);
    return r;
}

ri_err ri_csv_open_fd_take(struct ri_ctx *ctx, int fd, const char *name,
                           const struct ri_reader_opts *opts, struct ri_reader **out)
{
    struct csv_reader *r = csv_alloc(ctx, name);
    struct stat st;
    ri_err rc;

    *out = NULL;
    r->fd = fd;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
        r->size = (uint64_t)st.st_size;
    r->buf = ri_malloc(CSV_CHUNK);
    r->win = r->buf;
    rc = csv_fill(r);
    if (rc)
        goto out;
    rc = csv_start(r, opts);
out:
    if (rc) {
        csv_free_reader(&r->base);
        return rc;
    }
    *out = &r->base;
    return RI_OK;
}

ri_err ri_csv_open_mem(struct ri_ctx *ctx, const char *data, size_t len,
                       const struct ri_reader_opts *opts, struct ri_reader **out)
{
    struct csv_reader *r = csv_alloc(ctx, "(memory)");
    ri_err rc;

    *out = NULL;
    r->win = data ? data : "";
    r->end = data ? len : 0;
    r->size = r->end;
    r->eof = true;
    rc = csv_start(r, opts);
    if (rc) {
        csv_free_reader(&r->base);
        return rc;
    }
    *out = &r->base;
    return RI_OK;
}
