/*
 * frame.h - deals as columns with coded segment dimensions (see diagnose.h for the
 * struct ri_frame itself).
 */
#ifndef RI_FRAME_H
#define RI_FRAME_H

#include "colcache.h"
#include "diagnose.h"

/* Loads every deal of the open store, in id order (the as-of engine's order): from the
 * column cache when it is current, else from the tables (then rewriting the cache when
 * the store is writable). */
ri_err ri_frame_load(struct ri_ctx *ctx, struct ri_frame *f /* OUT */);
/* The same with the cache used as mode says; *gen is the data generation the frame was
 * loaded at and *cached whether it came from the cache (both may be NULL). */
ri_err ri_frame_load_mode(struct ri_ctx *ctx, enum ri_cc_mode mode, struct ri_frame *f /* OUT */,
                          int64_t *gen /* OUT */, bool *cached /* OUT */);
/* Writes f to the column cache of st as of generation gen, if st is writable and still
 * at that generation (best effort: nothing is reported). */
void ri_frame_cache_save(struct ri_store *st, const struct ri_frame *f, int64_t gen);
/* The name of the first column in which a and b differ (byte for byte), or NULL. */
const char *ri_frame_diff(const struct ri_frame *a, const struct ri_frame *b);
void ri_frame_release(struct ri_frame *f);
/* Index of the dimension called name, or -1. */
int ri_frame_dim(const struct ri_frame *f, const char *name);

#endif /* RI_FRAME_H */
