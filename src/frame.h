/*
 * frame.h - deals as columns with coded segment dimensions (see diagnose.h for the
 * struct ri_frame itself).
 */
#ifndef RI_FRAME_H
#define RI_FRAME_H

#include "diagnose.h"

/* Loads every deal of the open store, in id order (the as-of engine's order). */
ri_err ri_frame_load(struct ri_ctx *ctx, struct ri_frame *f /* OUT */);
void ri_frame_release(struct ri_frame *f);
/* Index of the dimension called name, or -1. */
int ri_frame_dim(const struct ri_frame *f, const char *name);

#endif /* RI_FRAME_H */
