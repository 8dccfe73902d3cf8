/*
 * ri_internal.h - declarations shared by the modules of librevintel.
 *
 * Foundations every module uses: allocation (C6), growable string buffers with a cap
 * (C8), parsing of integers and floats that returns ri_err, the BUG macro, and the
 * row reader interface behind which CSV and XLSX sit. Module-specific internals live
 * in src/<module>.h. This header includes banned.h, so unsafe libc calls do not compile.
 */
#ifndef RI_INTERNAL_H
#define RI_INTERNAL_H

#include "revintel.h"

/* System headers come before banned.h, so that their own inline uses of banned names
 * (atoi in stdlib.h) still compile; what follows banned.h cannot use them. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------------ allocation */

/* Small fixed-size allocations: abort with a message on failure (as git's xmalloc). */
void *ri_malloc(size_t n);
void *ri_calloc(size_t n, size_t size);
void *ri_realloc(void *p, size_t n);
char *ri_strdup(const char *s);
char *ri_strndup(const char *s, size_t n);
void ri_free(void *p);
/* Allocation whose size comes from input: NULL on failure instead of aborting. In debug
 * builds RI_FAULT_ALLOC=N in the environment makes the Nth call fail. */
void *ri_try_alloc(size_t n);
void *ri_try_realloc(void *p, size_t n);

/* Aborts with file:line for impossible states (git's BUG()). */
#define RI_BUG(...) ri_bug_fl(__FILE__, __LINE__, __VA_ARGS__)
_Noreturn void ri_bug_fl(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define RI_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* NAN is a float; this is the double that statistics code means (no promotion warning). */
#define RI_NAN ((double)NAN)

/* Grows *arr (element size elsz) to hold at least need elements, doubling; for sizes
 * that come from input: RI_ERR_TOOBIG on overflow, RI_ERR_NOMEM if realloc fails, and
 * *arr and *cap unchanged on failure. */
ri_err ri_try_grow(void **arr, size_t *cap, size_t need, size_t elsz);
/* Grows *arr (element size elsz) so that it holds at least need elements. */
void ri_grow(void **arr, size_t *cap, size_t need, size_t elsz);
#define RI_GROW(arr, cap, need) ri_grow((void **)&(arr), &(cap), (need), sizeof(*(arr)))

/* ------------------------------------------------------------------ buffers */

/* A growable, always NUL-terminated byte string (git's strbuf) with an optional cap
 * (curl's). buf is never NULL. A buffer that would pass max stays as it was and the
 * add function returns RI_ERR_TOOBIG. max == 0 means no cap. */
struct ri_buf {
    char *buf;
    size_t len;
    size_t alloc;
    size_t max;
};
extern char ri_buf_empty[];
#define RI_BUF_INIT                                                                                \
 {                                                                                                 \
  ri_buf_empty, 0, 0, 0                                                                            \
 }

void ri_buf_init(struct ri_buf *b, size_t max_bytes);
void ri_buf_release(struct ri_buf *b);
void ri_buf_reset(struct ri_buf *b); /* len = 0, keeps memory */
ri_err ri_buf_addn(struct ri_buf *b, const void *data, size_t n);
ri_err ri_buf_adds(struct ri_buf *b, const char *s);
ri_err ri_buf_addc(struct ri_buf *b, char c);
ri_err ri_buf_addf(struct ri_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
ri_err ri_buf_vaddf(struct ri_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Appends s as a JSON string literal, quotes included. */
ri_err ri_buf_add_json_str(struct ri_buf *b, const char *s, size_t n);
/* Returns the string and leaves b empty; caller frees with ri_free. */
char *ri_buf_detach(struct ri_buf *b, size_t *len /* OUT, may be NULL */);

/* A buffer that remembers its first failure, so that a writer appends freely and checks
 * rc once at the end. */
struct ri_wbuf {
    struct ri_buf b;
    ri_err rc;
};
void ri_wbuf_init(struct ri_wbuf *w, size_t max_bytes);
void ri_wbuf_reset(struct ri_wbuf *w); /* empty again, rc cleared, memory kept */
void ri_wbuf_addn(struct ri_wbuf *w, const char *s, size_t n);
void ri_wbuf_adds(struct ri_wbuf *w, const char *s);
void ri_wbuf_addc(struct ri_wbuf *w, char c);
void ri_wbuf_addf(struct ri_wbuf *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s as HTML text or attribute value: & < > " ' escaped; a newline kept as it is
 * (RI_HTML_NL_KEEP), made a space (RI_HTML_NL_SPACE) or a line break (RI_HTML_NL_BR). NULL
 * writes nothing. */
enum ri_html_nl { RI_HTML_NL_KEEP = 0, RI_HTML_NL_SPACE, RI_HTML_NL_BR };
void ri_wbuf_add_html(struct ri_wbuf *w, const char *s, enum ri_html_nl nl);

/* ------------------------------------------------------------------ parsing */

/* Whole-string integer and float parsing (strtoll/strtod based). Leading and trailing
 * blanks allowed; anything else is RI_ERR_PARSE; out of range RI_ERR_NUMERIC. */
ri_err ri_parse_i64(const char *s, size_t len, int64_t *out /* OUT */);
ri_err ri_parse_f64(const char *s, size_t len, double *out /* OUT */);
/* True if s[0..len) is valid UTF-8 (no overlongs, no surrogates). */
bool ri_utf8_valid(const char *s, size_t len);
/* Trims ASCII blanks on both sides in place (pointer and length). */
void ri_trim(const char **s, size_t *len);
/* Civil date <-> days since epoch (Howard Hinnant's algorithms). */
int64_t ri_days_from_civil(int64_t y, unsigned m, unsigned d);
void ri_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);
/* Detects a date style from a sample of values: the style under which all parse and
 * which removes ambiguity (a day > 12 in the first or second position). */
enum ri_date_style ri_date_detect(const char *const *vals, const size_t *lens, size_t n);

/* ------------------------------------------------------------------ rows */

/* A reader yields the rows of one table file, CSV or XLSX, one at a time. Cells of the
 * current row are valid until the next call to ri_reader_next. */
struct ri_reader;

enum ri_row_flags {
    RI_ROW_BAD_QUOTE = 1 << 0, /* malformed or unterminated quoting; cells unreliable */
    RI_ROW_TOO_LONG = 1 << 1,  /* a field passed the field cap; it was truncated */
    RI_ROW_BAD_UTF8 = 1 << 2,  /* a field is not valid UTF-8 (bad_col says which) */
};

struct ri_row {
    size_t n;                 /* number of cells */
    const char *const *cells; /* NUL-terminated */
    const size_t *lens;
    uint64_t line;  /* 1-based line (CSV) or sheet row (XLSX) where the row starts */
    unsigned flags; /* enum ri_row_flags */
    size_t bad_col; /* first offending cell for TOO_LONG / BAD_UTF8 */
};

struct ri_reader_opts {
    char delimiter;    /* 0: detect among , ; \t | from the first lines */
    const char *sheet; /* XLSX: sheet name; NULL: first sheet */
    size_t max_field;  /* field cap in bytes; 0: 1 MiB */
};

/* Opens path, CSV or XLSX by content (a ZIP signature means XLSX). Fails with
 * RI_ERR_IO (cannot open, message names the file) or RI_ERR_PARSE (not a table). */
ri_err ri_reader_open(struct ri_ctx *ctx, const char *path, const struct ri_reader_opts *opts,
                      struct ri_reader **out /* OUT */);
/* Opens an in-memory CSV (used by tests and fuzzers). data must outlive the reader. */
ri_err ri_reader_open_mem(struct ri_ctx *ctx, const char *data, size_t len,
                          const struct ri_reader_opts *opts, struct ri_reader **out /* OUT */);
/* Next row into *row. RI_ERR_NOTFOUND at the end; RI_ERR_IO on a read error. Malformed
 * rows are returned with flags set, never skipped. */
ri_err ri_reader_next(struct ri_reader *r, struct ri_row *row /* OUT */);
const char *ri_reader_format(const struct ri_reader *r); /* "csv" or "xlsx" */
char ri_reader_delimiter(const struct ri_reader *r);     /* 0 for xlsx */
/* Bytes consumed so far and total size (for progress); total 0 if unknown. */
void ri_reader_progress(const struct ri_reader *r, uint64_t *done, uint64_t *total);
void ri_reader_free(struct ri_reader *r);

/* XLSX in memory (fuzzing). */
ri_err ri_xlsx_open_mem(struct ri_ctx *ctx, const char *data, size_t len,
                        const struct ri_reader_opts *opts, struct ri_reader **out /* OUT */);

/* ------------------------------------------------------------------ JSON input */

/* Calls fn for each string member of the JSON object text[0..len) (deals.attrs).
 * Returns -1 if the text is not a JSON object. */
int ri_json_object_strings(const char *text, size_t len,
                           void (*fn)(void *ud, const char *key, const char *val, size_t vlen),
                           void *ud);

/* ------------------------------------------------------------------ context internals */

struct ri_store;
struct ri_store *ri_ctx_store(struct ri_ctx *ctx);
void ri_ctx_set_store(struct ri_ctx *ctx, struct ri_store *st);
void ri_progress(struct ri_ctx *ctx, const char *what, uint64_t done, uint64_t total);
/* Set from a signal handler: long loops poll it and return RI_ERR_INTERRUPTED. */
extern volatile int ri_interrupted;

#include "banned.h"

#endif /* RI_INTERNAL_H */
