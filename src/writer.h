/*
 * writer.h - a write-behind queue: prepared statements run on a second thread.
 *
 * An ingest spends about half its time inside SQLite. The writer lets the reading thread
 * parse and validate the next rows while another thread executes the writes of the
 * previous ones. A write is a prepared statement plus its parameters, copied into a
 * chunk; full chunks are handed to the writer thread, which binds and runs them in
 * order. While a writer runs, the owning thread must not use the store itself; after
 * ri_writer_finish it may again. The first failing write stops the writer, and every
 * later call reports that failure, so nothing runs after an error.
 */
#ifndef RI_WRITER_H
#define RI_WRITER_H

#include "store.h"

struct ri_writer;

/* Starts the writer thread (or, with threads == 0, a writer that runs each write at
 * once on the calling thread, for tests and single-core machines). */
ri_err ri_writer_start(struct ri_ctx *ctx, int threads, struct ri_writer **out /* OUT */);

/* Queues one execution of stmt. Parameters follow with the _i64/_f64/_text/_null/_time
 * calls (1-based indices, text copied), closed by ri_writer_end, which returns the
 * first failure of any earlier write, recorded on the context. */
void ri_writer_begin(struct ri_writer *w, struct ri_stmt *stmt);
void ri_writer_i64(struct ri_writer *w, int idx, int64_t v);
void ri_writer_f64(struct ri_writer *w, int idx, double v);                   /* NAN: NULL */
void ri_writer_text(struct ri_writer *w, int idx, const char *s, size_t len); /* NULL: NULL */
void ri_writer_time(struct ri_writer *w, int idx, ri_time t); /* RI_TIME_NONE: NULL */
void ri_writer_null(struct ri_writer *w, int idx);
ri_err ri_writer_end(struct ri_writer *w);

/* Runs what is queued, stops the thread and frees the writer; returns the first failure.
 * Accepts NULL (RI_OK). */
ri_err ri_writer_finish(struct ri_writer *w);

#endif /* RI_WRITER_H */
