/*
 * segment.c - segments of the deal frame as cells for a search (see segment.h).
 *
 * Cells are numbered: 0 for all deals, then each single dimension's values in a block,
 * then each pair's values (a x b, row-major) in a block.
 */
#include "segment.h"
#include <stdio.h>
#include <string.h>

void ri_segcells_init(const struct ri_frame *f, struct ri_segcells *L)
{
    memset(L, 0, sizeof(*L));
    L->n_cells = 1;
    for (size_t d = 0; d < f->n_dims && d < RI_DIAG_MAX_DIMS; d++) {
        size_t nv = f->dims[d].values.n;
        if (nv < 2 || nv > RI_SEG_SINGLE_MAX)
            continue;
        L->single[L->n_single] = (int)d;
        L->off_single[L->n_single++] = L->n_cells;
        L->n_cells += nv;
    }
    for (size_t a = 0; a < L->n_single; a++)
        for (size_t b = a + 1; b < L->n_single; b++) {
            size_t na = f->dims[L->single[a]].values.n, nb = f->dims[L->single[b]].values.n;
            if (na > RI_SEG_PAIR_MAX || nb > RI_SEG_PAIR_MAX)
                continue;
            L->pa[L->n_pair] = L->single[a];
            L->pb[L->n_pair] = L->single[b];
            L->off_pair[L->n_pair++] = L->n_cells;
            L->n_cells += na * nb;
        }
    L->max_of = 1 + L->n_single + L->n_pair;
}

size_t ri_segcells_of(const struct ri_segcells *L, const struct ri_frame *f, size_t i, size_t *out)
{
    size_t k = 0;
    out[k++] = 0;
    for (size_t s = 0; s < L->n_single; s++) {
        int32_t c = f->dims[L->single[s]].code[i];
        if (c >= 0)
            out[k++] = L->off_single[s] + (size_t)c;
    }
    for (size_t p = 0; p < L->n_pair; p++) {
        int32_t ca = f->dims[L->pa[p]].code[i], cb = f->dims[L->pb[p]].code[i];
        if (ca >= 0 && cb >= 0)
            out[k++] = L->off_pair[p] + (size_t)ca * f->dims[L->pb[p]].values.n + (size_t)cb;
    }
    return k;
}

void ri_segcells_key(const struct ri_segcells *L, const struct ri_frame *f, size_t cell,
                     struct ri_segkey *k)
{
    k->dim_a = k->dim_b = -1;
    k->code_a = k->code_b = -1;
    for (size_t s = 0; s < L->n_single; s++) {
        size_t nv = f->dims[L->single[s]].values.n;
        if (cell >= L->off_single[s] && cell < L->off_single[s] + nv) {
            k->dim_a = L->single[s];
            k->code_a = (int32_t)(cell - L->off_single[s]);
            return;
        }
    }
    for (size_t p = 0; p < L->n_pair; p++) {
        size_t nb = f->dims[L->pb[p]].values.n, nv = f->dims[L->pa[p]].values.n * nb;
        if (cell >= L->off_pair[p] && cell < L->off_pair[p] + nv) {
            k->dim_a = L->pa[p];
            k->dim_b = L->pb[p];
            k->code_a = (int32_t)((cell - L->off_pair[p]) / nb);
            k->code_b = (int32_t)((cell - L->off_pair[p]) % nb);
            return;
        }
    }
}

int ri_segkey_has(const struct ri_frame *f, const struct ri_segkey *k, size_t i)
{
    if (k->dim_a < 0)
        return 1;
    if (f->dims[k->dim_a].code[i] != k->code_a)
        return 0;
    return k->dim_b < 0 || f->dims[k->dim_b].code[i] == k->code_b;
}

void ri_segkey_label(const struct ri_frame *f, const struct ri_segkey *k, char *out, size_t size)
{
    if (k->dim_a < 0)
        snprintf(out, size, "all deals");
    else if (k->dim_b < 0)
        snprintf(out, size, "%s=%s", f->dims[k->dim_a].name,
                 ri_intern_str(&f->dims[k->dim_a].values, k->code_a));
    else
        snprintf(out, size, "%s=%s x %s=%s", f->dims[k->dim_a].name,
                 ri_intern_str(&f->dims[k->dim_a].values, k->code_a), f->dims[k->dim_b].name,
                 ri_intern_str(&f->dims[k->dim_b].values, k->code_b));
}
