/*
 * segment.h - segments of the deal frame as cells for a search: each value of a
 * dimension with 2 to 64 values, each pair of values of two dimensions with 2 to 16
 * values, and all deals (cell 0). The searches for a changed win rate (winshift.c) and for
 * a mis-calibrated segment (segcal.c) test these cells.
 */
#ifndef RI_SEGMENT_H
#define RI_SEGMENT_H

#include "diagnose.h"

#define RI_SEG_SINGLE_MAX 64 /* values a dimension may have to be tested alone */
#define RI_SEG_PAIR_MAX   16 /* ... to be tested in pairs */

/* A segment: dim_a < 0 for all deals; dim_b < 0 for one value of dim_a; else the pair of
 * dim_a = code_a and dim_b = code_b. */
struct ri_segkey {
    int dim_a, dim_b;
    int32_t code_a, code_b;
};

struct ri_segcells {
    int single[RI_DIAG_MAX_DIMS]; /* dims tested alone */
    size_t n_single, off_single[RI_DIAG_MAX_DIMS];
    int pa[RI_DIAG_MAX_DIMS * RI_DIAG_MAX_DIMS / 2], pb[RI_DIAG_MAX_DIMS * RI_DIAG_MAX_DIMS / 2];
    size_t n_pair, off_pair[RI_DIAG_MAX_DIMS * RI_DIAG_MAX_DIMS / 2];
    size_t n_cells;
    size_t max_of; /* the most cells one deal is in: the size ri_segcells_of needs */
};

void ri_segcells_init(const struct ri_frame *f, struct ri_segcells *L /* OUT */);
/* The cells deal i is in (cell 0 first) into out (L->max_of entries); returns how many. */
size_t ri_segcells_of(const struct ri_segcells *L, const struct ri_frame *f, size_t i, size_t *out);
/* The segment of a cell. */
void ri_segcells_key(const struct ri_segcells *L, const struct ri_frame *f, size_t cell,
                     struct ri_segkey *k /* OUT */);
/* 1 if deal i is in the segment. */
int ri_segkey_has(const struct ri_frame *f, const struct ri_segkey *k, size_t i);
/* "all deals", "region=EMEA" or "industry=Healthcare x lead_source=Outbound" into out. */
void ri_segkey_label(const struct ri_frame *f, const struct ri_segkey *k, char *out, size_t size);

#endif
