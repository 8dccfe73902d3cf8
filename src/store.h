/*
 * store.h - the store behind every command: an embedded SQLite file by default.
 *
 * Modules talk to the store through this small statement interface, so that SQLite's
 * API is used from one adapter (store_sqlite.c) only. A statement is prepared once and
 * stepped many times; ri_stmt_step returns RI_OK with a row, RI_ERR_NOTFOUND when done.
 * Errors carry SQLite's message through ri_fail on the context.
 */
#ifndef RI_STORE_H
#define RI_STORE_H

#include "ri_internal.h"

struct ri_store;
struct ri_stmt;

ri_err ri_store_open_file(struct ri_ctx *ctx, const char *path, unsigned flags,
                          struct ri_store **out /* OUT */);
void ri_store_close(struct ri_store *st);
/* Runs one or more statements that return no rows. */
ri_err ri_store_exec(struct ri_ctx *ctx, struct ri_store *st, const char *sql);
ri_err ri_store_begin(struct ri_ctx *ctx, struct ri_store *st);
ri_err ri_store_commit(struct ri_ctx *ctx, struct ri_store *st);
void ri_store_rollback(struct ri_store *st);
int64_t ri_store_last_rowid(struct ri_store *st);
/* The file the store was opened from (for a second, read-only connection). */
const char *ri_store_path(const struct ri_store *st);
int ri_store_version(struct ri_store *st);
/* True if the store can be written now: not opened read-only (nor a read-only file)
 * and not inside a transaction. */
bool ri_store_writable(struct ri_store *st);
/* How long a statement waits for another connection's lock before failing busy
 * (milliseconds; the store opens with 10000). */
void ri_store_busy_timeout(struct ri_store *st, int ms);
/* A time limit for what runs on st from now: a statement still running ms milliseconds
 * later is interrupted and fails (RI_ERR_STORE, "interrupted"); so is one running when
 * ri_interrupted is set. 0 clears the limit. For queries written by users (custom alert
 * rules), on a connection of their own. */
void ri_store_set_deadline(struct ri_store *st, int ms);

ri_err ri_stmt_prepare(struct ri_ctx *ctx, struct ri_store *st, const char *sql,
                       struct ri_stmt **out /* OUT */);
void ri_stmt_free(struct ri_stmt *s);
ri_err ri_stmt_reset(struct ri_stmt *s);
void ri_stmt_bind_i64(struct ri_stmt *s, int idx, int64_t v);
void ri_stmt_bind_f64(struct ri_stmt *s, int idx, double v); /* NAN binds NULL */
/* Binds text without copying it: v must stay valid until the statement is stepped
 * (ri_stmt_run / ri_stmt_step) or reset. NULL binds NULL. */
void ri_stmt_bind_text(struct ri_stmt *s, int idx, const char *v, size_t len);
/* Binds bytes without copying them (as ri_stmt_bind_text); NULL binds NULL. */
void ri_stmt_bind_blob(struct ri_stmt *s, int idx, const void *v, size_t len);
void ri_stmt_bind_time(struct ri_stmt *s, int idx, ri_time t); /* RI_TIME_NONE: NULL */
void ri_stmt_bind_null(struct ri_stmt *s, int idx);
/* RI_OK: a row is ready; RI_ERR_NOTFOUND: done; else a failure recorded on ctx. */
ri_err ri_stmt_step(struct ri_ctx *ctx, struct ri_stmt *s);
/* Steps to completion, expecting no row. */
ri_err ri_stmt_run(struct ri_ctx *ctx, struct ri_stmt *s);
int ri_stmt_is_null(struct ri_stmt *s, int col);
int64_t ri_stmt_i64(struct ri_stmt *s, int col);
double ri_stmt_f64(struct ri_stmt *s, int col); /* NULL gives NAN */
/* The column as a double with no NULL check (NULL reads 0): for columns the query made
 * non-NULL, in loops over millions of rows. */
double ri_stmt_double(struct ri_stmt *s, int col);
ri_time ri_stmt_time(struct ri_stmt *s, int col); /* NULL gives RI_TIME_NONE */
const char *ri_stmt_text(struct ri_stmt *s, int col, size_t *len /* OUT, may be NULL */);

/* The column's bytes (NULL for NULL), valid until the next step. */
const void *ri_stmt_blob(struct ri_stmt *s, int col, size_t *len /* OUT, may be NULL */);
/* Incremental I/O on one blob value, (table, column, rowid), without SQLite making a
 * copy of its own: size, then reads (or, opened for writing, writes) of any part. A
 * blob's size is set when its row is written (zeroblob(N) in SQL). */
struct ri_blob;
ri_err ri_store_blob_open(struct ri_ctx *ctx, struct ri_store *st, const char *table,
                          const char *column, int64_t rowid, bool write,
                          struct ri_blob **out /* OUT */, size_t *size /* OUT */);
ri_err ri_store_blob_read(struct ri_ctx *ctx, struct ri_blob *b, void *buf, size_t n, size_t off);
ri_err ri_store_blob_write(struct ri_ctx *ctx, struct ri_blob *b, const void *buf, size_t n,
                           size_t off);
void ri_store_blob_close(struct ri_blob *b);

/* Convenience: single integer result of a query (e.g. SELECT count(*) ...). */
ri_err ri_store_query_i64(struct ri_ctx *ctx, struct ri_store *st, const char *sql,
                          int64_t *out /* OUT */);

/* The latest date the deals know (the last creation or close), as the start of its day;
 * RI_TIME_NONE for a store without dated deals. */
ri_err ri_store_latest_date(struct ri_ctx *ctx, struct ri_store *st, ri_time *out /* OUT */);

#endif /* RI_STORE_H */
