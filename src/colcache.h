/*
 * colcache.h - a persisted columnar cache of what the loads of the store read.
 *
 * The as-of engine (history.c) and the deal frame (frame.c) are built from millions of
 * rows; running that SQL again on every diagnose costs more than the diagnosis itself.
 * So a load that had to run its SQL serialises its columns into one blob of the store's
 * col_cache table, tagged with the store's data generation (meta 'data_generation',
 * bumped by every ingest inside its transaction; a missing key reads 0). A later load
 * whose generation still matches decodes the blob instead. A blob that is missing,
 * stale, of another format version, truncated or corrupt (checksum, sizes, codes out of
 * range) is ignored: the load falls back to SQL, and rewrites the blob when the store is
 * writable and not inside a transaction. A read-only store is never written.
 *
 * Blob layout: a 40-byte header (magic "RICC", format version, what it holds, data
 * generation, payload length, payload checksum), then a sequence of records in the
 * order the owner module wrote them: scalars, columns and string tables. A column is
 * kept exactly (decoding gives back the same bytes) but compactly: integers and
 * integral doubles by frame of reference (base + code * step, codes of 0, 1, 2, 4 or 8
 * bytes, code 0 reserved for the 'none' value where there is one), doubles of at most
 * 256 distinct bit patterns by dictionary, anything else raw.
 *
 * RI_CC_VERSION must be raised whenever history.c or frame.c change what they derive
 * from the rows (or the layout of their records): old blobs then read as stale.
 */
#ifndef RI_COLCACHE_H
#define RI_COLCACHE_H

#include "strmap.h"

#define RI_CC_VERSION 1

struct ri_store;

/* How a load uses the column cache. */
enum ri_cc_mode {
    RI_CC_USE = 0, /* read it when current; after an SQL load, rewrite it when writable */
    RI_CC_READ,    /* read it when current; never write */
    RI_CC_OFF      /* SQL only */
};

/* What a blob holds (checked on decode). */
enum ri_cc_what { RI_CC_HISTORY = 0x54534948u, RI_CC_FRAME = 0x4d415246u };

/* Memory for a large column that is about to be written whole (fails as ri_try_alloc,
 * NULL): from 1 MiB on, a mapping of its own backed by huge pages where the system
 * offers them, which takes one page fault per 2 MiB instead of 512 (the faults were the
 * dearest part of loading and replaying). Free with ri_cc_free only; ri_cc_calloc's
 * block is zeroed. The large ones do not count for RI_FAULT_ALLOC. */
void *ri_cc_alloc(size_t n);
void *ri_cc_calloc(size_t n);
/* ri_cc_alloc that aborts on failure, as ri_malloc: for sizes the program chose. */
void *ri_cc_xalloc(size_t n);
void ri_cc_free(void *p);

/* ------------------------------------------------------------------ encoding */

/* A blob being built. Failures (out of memory) are sticky: check ri_cc_enc_finish. */
struct ri_cc_enc {
    uint8_t *p;
    size_t len, cap;
    ri_err rc;
};

void ri_cc_enc_init(struct ri_cc_enc *e, enum ri_cc_what what, int64_t generation);
void ri_cc_enc_release(struct ri_cc_enc *e);
/* Makes room for a blob of bytes in all (a bound known in advance saves regrowing). */
void ri_cc_enc_reserve(struct ri_cc_enc *e, size_t bytes);
void ri_cc_put_u64(struct ri_cc_enc *e, uint64_t v);
/* Columns. i64 columns keep INT64_MIN (RI_TIME_NONE) as their 'none'; f64 columns NAN. */
void ri_cc_put_i64s(struct ri_cc_enc *e, const int64_t *v, size_t n);
void ri_cc_put_i32s(struct ri_cc_enc *e, const int32_t *v, size_t n);
void ri_cc_put_sizes(struct ri_cc_enc *e, const size_t *v, size_t n);
void ri_cc_put_f64s(struct ri_cc_enc *e, const double *v, size_t n);
void ri_cc_put_u8s(struct ri_cc_enc *e, const uint8_t *v, size_t n);
/* The strings of an interner, in id order (each with its exact length). */
void ri_cc_put_intern(struct ri_cc_enc *e, const struct ri_intern *in);
/* Completes the header (length, checksum). RI_OK, or the first failure. */
ri_err ri_cc_enc_finish(struct ri_cc_enc *e);

/* ------------------------------------------------------------------ decoding */

/* A blob being read. Any mismatch (a count other than the one asked for, a record past
 * the end, a code out of range) sets bad, after which every get reads zeros. */
struct ri_cc_dec {
    const uint8_t *p;
    size_t len, off;
    int bad;
};

/* Checks the header (magic, version, what, generation, length, checksum); false if the
 * blob is not a current one of that kind. */
bool ri_cc_dec_init(struct ri_cc_dec *d, const void *data, size_t len, enum ri_cc_what what,
                    int64_t generation);
uint64_t ri_cc_get_u64(struct ri_cc_dec *d);
/* The next record must be a column of exactly n values; decoded into dst[0..n). */
void ri_cc_get_i64s(struct ri_cc_dec *d, int64_t *dst, size_t n);
void ri_cc_get_i32s(struct ri_cc_dec *d, int32_t *dst, size_t n);
void ri_cc_get_sizes(struct ri_cc_dec *d, size_t *dst, size_t n);
void ri_cc_get_f64s(struct ri_cc_dec *d, double *dst, size_t n);
void ri_cc_get_u8s(struct ri_cc_dec *d, uint8_t *dst, size_t n);
/* The next u8 column of n values in place (valid while the blob is), or NULL. */
const uint8_t *ri_cc_get_bytes(struct ri_cc_dec *d, size_t n);
/* Fills the empty interner in with the next string table (ids as written). */
void ri_cc_get_intern(struct ri_cc_dec *d, struct ri_intern *in);
/* Marks the blob bad unless every v[i] is in [lo, hi). */
void ri_cc_check_range(struct ri_cc_dec *d, const int32_t *v, size_t n, int64_t lo, int64_t hi);
/* True if nothing went wrong and the whole blob was read. */
bool ri_cc_dec_ok(const struct ri_cc_dec *d);

/* ------------------------------------------------------------------ the store's cache */

/* The store's data generation (0 when no ingest has set it). */
ri_err ri_colcache_generation(struct ri_ctx *ctx, struct ri_store *st, int64_t *out /* OUT */);
/* Bumps the data generation: every write of what the loads read calls this inside its
 * transaction, which makes every cached blob stale. */
ri_err ri_colcache_bump(struct ri_ctx *ctx, struct ri_store *st);
/* Decodes the blob called name, if present and of generation gen, with decode (which
 * returns false on any inconsistency and then leaves nothing allocated). RI_OK when
 * decoded; RI_ERR_NOTFOUND when absent, stale or bad (nothing recorded on ctx); other
 * codes are failures of the store. */
ri_err ri_colcache_read(struct ri_ctx *ctx, struct ri_store *st, const char *name,
                        enum ri_cc_what what, int64_t gen,
                        bool (*decode)(void *ud, struct ri_cc_dec *d), void *ud);
/* Writes the finished blob e as name, in a transaction of its own, if the store is
 * writable, outside any transaction, and still at generation gen (otherwise RI_OK and
 * nothing written). Best effort for the caller: a failure is logged, never returned. */
void ri_colcache_write(struct ri_store *st, const char *name, int64_t gen,
                       const struct ri_cc_enc *e);
/* Encodes obj with encode into a blob of kind what and writes it as ri_colcache_write
 * does (nothing when the store is read-only): the writing side of ri_colcache_read. */
void ri_colcache_save(struct ri_store *st, const char *name, enum ri_cc_what what, int64_t gen,
                      void (*encode)(const void *obj, struct ri_cc_enc *e), const void *obj);

/* ------------------------------------------------------------------ the cached loads */

/* ri_history_load with the cache used as mode says (ri_history_load is RI_CC_USE). */
ri_err ri_history_load_mode(struct ri_ctx *ctx, enum ri_cc_mode mode,
                            struct ri_history **out /* OUT */);
/* The same, also telling the data generation it loaded at (*gen) and whether it came
 * from the cache (*cached); both may be NULL. */
ri_err ri_history_load_cached(struct ri_ctx *ctx, enum ri_cc_mode mode,
                              struct ri_history **out /* OUT */, int64_t *gen /* OUT */,
                              bool *cached /* OUT */);
/* Writes h to the column cache of st as of generation gen, if st is writable and still
 * at that generation (best effort: nothing is reported). */
void ri_history_cache_save(struct ri_store *st, const struct ri_history *h, int64_t gen);
/* The name of the first column in which a and b differ (byte for byte), or NULL. */
const char *ri_history_diff(const struct ri_history *a, const struct ri_history *b);

#endif /* RI_COLCACHE_H */
