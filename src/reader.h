/*
 * reader.h - the inside of struct ri_reader: a small vtable that the CSV and XLSX
 * adapters fill in, and their constructors.
 *
 * The public face of the reader (ri_reader_open, ri_reader_next, struct ri_row, ...) is
 * declared in ri_internal.h; reader.c dispatches through the ops below. Each adapter
 * embeds struct ri_reader as its first member, so a struct ri_reader * can be cast to
 * the adapter's own type inside that adapter and nowhere else. libcsv is used from
 * csv.c only, libzip and expat from xlsx.c only (STYLE C11).
 */
#ifndef RI_READER_H
#define RI_READER_H

#include "ri_internal.h"

/* Default cap on one field, when ri_reader_opts.max_field is 0. */
#define RI_READER_MAX_FIELD ((size_t)1024 * 1024)
/* Most cells kept in one row; the row is flagged RI_ROW_TOO_LONG past it. */
#define RI_READER_MAX_CELLS 16384

struct ri_reader_ops {
    const char *format; /* "csv" or "xlsx" */
    /* Next row; RI_ERR_NOTFOUND at the end. Failures are recorded on the context. */
    ri_err (*next)(struct ri_reader *r, struct ri_row *row /* OUT */);
    char (*delimiter)(const struct ri_reader *r);
    void (*progress)(const struct ri_reader *r, uint64_t *done, uint64_t *total);
    /* Frees the adapter; never called with NULL. */
    void (*free)(struct ri_reader *r);
};

struct ri_reader {
    const struct ri_reader_ops *ops;
    struct ri_ctx *ctx; /* borrowed: receives the detail of failures */
};

/* Opens a CSV reader over the open file descriptor fd, which it takes over: fd is
 * closed by ri_reader_free, or before returning if opening fails. name is used in
 * messages only. */
ri_err ri_csv_open_fd_take(struct ri_ctx *ctx, int fd, const char *name,
                           const struct ri_reader_opts *opts, struct ri_reader **out /* OUT */);
/* Opens a CSV reader over data[0..len), which must outlive the reader. */
ri_err ri_csv_open_mem(struct ri_ctx *ctx, const char *data, size_t len,
                       const struct ri_reader_opts *opts, struct ri_reader **out /* OUT */);
/* Opens the XLSX workbook at path. RI_ERR_PARSE for a damaged archive or part,
 * RI_ERR_NOTFOUND for a sheet name that is not in the workbook, RI_ERR_TOOBIG past
 * the size limits of xlsx.c. */
ri_err ri_xlsx_open(struct ri_ctx *ctx, const char *path, const struct ri_reader_opts *opts,
                    struct ri_reader **out /* OUT */);

#endif /* RI_READER_H */
